/* engine/engine.h: the sharded engine. The signaling layer reaches the engine only through this
 * header.
 *
 * N shard threads (one per online CPU by default). Each owns an io_uring ring, a UDP socket on
 * base port + shard index, a packet pool, a timer wheel and a command queue that one other
 * thread (the signaling thread, or main before signaling starts) feeds.
 *
 * Tick order on a shard: read the clock once, handle completions (budgeted), drain commands
 * (budgeted), run timers, flush the send batch, then one io_uring_enter that submits and waits
 * for the next completion or the next deadline.
 */
#ifndef URTC_ENGINE_ENGINE_H
#define URTC_ENGINE_ENGINE_H

#include "net/net.h"

typedef struct eng eng_t;
typedef struct eng_shard eng_shard_t;

/* Names a peer from any thread: its shard, its slot there and the slot's generation. A
 * stale id (the slot was reused) finds nothing. */
typedef struct eng_peer_id {
    uint16_t shard;
    uint16_t gen;
    uint32_t slot;
} eng_peer_id_t;

/* Why a shard dropped a packet. Names in eng_drop_name() (the /metrics labels). */
enum eng_drop {
    ENG_DROP_RX_NOBUFS = 0, /* the packet pool was empty when a datagram arrived */
    ENG_DROP_RX_TRUNC,      /* a datagram longer than NET_PKT_MAX_LEN */
    ENG_DROP_TX_FULL,       /* the send batch was full */
    ENG_DROP_TX_ERROR,      /* sendmsg failed */
    ENG_DROP_NOT_WEBRTC,    /* first byte outside the RFC 7983 ranges */
    ENG_DROP_UNKNOWN_PEER,  /* well-formed, but no peer owns its 5-tuple or ufrag */
    ENG_DROP__COUNT
};
const char *eng_drop_name(enum eng_drop why);

/* Why a peer's DTLS association failed (rtc/dtls/dtls.h errors). Names in
 * eng_dtls_fail_name() (the /metrics labels). */
enum eng_dtls_fail {
    ENG_DTLS_FAIL_ALERT = 0,   /* a fatal alert or handshake failure (-EPROTO) */
    ENG_DTLS_FAIL_FINGERPRINT, /* the certificate does not match a=fingerprint (-EACCES) */
    ENG_DTLS_FAIL_TIMEOUT,     /* no handshake in time: DTLS's own limit, or the owner gave up
                                  on a peer whose ICE connected and DTLS did not */
    ENG_DTLS_FAIL_SRTP,        /* the handshake ended without SRTP keys (no common profile) */
    ENG_DTLS_FAIL__COUNT
};
const char *eng_dtls_fail_name(enum eng_dtls_fail why);

/* Why a peer's ICE failed. Names in eng_ice_fail_name(). */
enum eng_ice_fail {
    ENG_ICE_FAIL_CHECKS = 0, /* no pair ever worked (RFC 8445 §8.1.2), or the owner gave up on
                                a peer that never connected */
    ENG_ICE_FAIL_CONSENT,    /* consent expired on a working pair (RFC 7675 §5.1), or the
                                owner gave up on a peer that stayed disconnected */
    ENG_ICE_FAIL__COUNT
};
const char *eng_ice_fail_name(enum eng_ice_fail why);

/* Per-shard counters. Written by the shard alone, readable from any thread. */
typedef struct eng_counters {
    uint64_t rx_pkts, rx_bytes;
    uint64_t tx_pkts, tx_bytes;
    uint64_t tx_sendmsgs; /* sendmsg operations (a GSO send of many packets counts once) */
    uint64_t ticks;       /* loop iterations */
    uint64_t drop[ENG_DROP__COUNT];
    /* The shard's peers (SFU members and API peer connections): DTLS handshakes completed
     * (SRTP keys installed), and failures by cause, each peer counted once per failure. */
    uint64_t dtls_handshakes;
    uint64_t dtls_fail[ENG_DTLS_FAIL__COUNT];
    uint64_t ice_fail[ENG_ICE_FAIL__COUNT];
} eng_counters_t;

/* Receives every datagram that arrives on a shard's socket. Takes ownership of @pkt (pkt->addr
 * is the source, pkt->rx_ns the shard's clock for this tick). Runs on the shard thread. */
typedef void (*eng_rx_fn)(eng_shard_t *sh, net_pkt_t *pkt, void *arg);
/* Runs once on each shard thread after its ring and socket exist (on_start) and before they
 * are torn down (on_stop). */
typedef void (*eng_shard_fn)(eng_shard_t *sh, void *arg);

typedef struct eng_cfg {
    uint32_t shards;        /* 0: one per online CPU */
    const char *media_ip;   /* address the UDP sockets bind to; NULL: 127.0.0.1 */
    uint16_t udp_port;      /* shard i binds udp_port + i; 0: the kernel picks each port */
    uint32_t pool_pkts;     /* packet slots per shard; 0: 8192 */
    uint32_t rx_bufs;       /* of which lent to the kernel for receiving; 0: 1024 */
    uint32_t cmd_queue_len; /* commands in flight per shard; 0: 4096 */
    uint32_t max_peers;     /* peers per shard; 0: 4096 */
    /* ICE servers for peers with a socket of their own (clients): a STUN server for a
     * server-reflexive candidate, a TURN server (RFC 8656 over UDP, long-term credentials) for
     * a relayed one. Unset addresses (len 0): none. The strings are copied. */
    net_addr_t stun_server, turn_server;
    const char *turn_user, *turn_pass;
    const char *cert_pem; /* DTLS certificate and key (PEM files); both NULL: a fresh */
    const char *key_pem;  /* ECDSA P-256 certificate for this process */
    bool pin;             /* pin shard i to CPU i modulo the online CPUs */
    bool no_multishot;    /* force the single-shot receive path (tests) */
    bool no_gso;          /* one sendmsg per packet (tests, benchmarks) */
    eng_rx_fn on_rx;      /* NULL: route to the shard's peers, dropping what none owns */
    eng_shard_fn on_start, on_stop;
    void *arg; /* passed to on_rx, on_start, on_stop */
    /* Debugging only, never in production: append every DTLS association's secret to this
     * file in the NSS key log format (Wireshark: -o tls.keylog_file:FILE decrypts the SCTP).
     * NULL: the URTC_KEYLOG environment variable; unset or empty: off (docs/dtls-srtp.md). */
    const char *keylog_path;
} eng_cfg_t;

/* Starts the shards and returns once each has its ring and socket, or NULL (logged) if any
 * failed; then nothing is left running. Blocks SIGINT, SIGTERM and SIGPIPE in the shard
 * threads, so that those signals go to the thread that calls eng_wait_signal(). Main thread. */
eng_t *eng_create(const eng_cfg_t *cfg);
/* Stops every shard, lets each finish what is in flight, frees everything. Accepts NULL.
 * Main thread; no thread may post commands any more. */
void eng_destroy(eng_t *e);

/* Blocks SIGINT and SIGTERM in the calling thread and waits for one of them, or for @timeout_ns
 * (0: forever). Returns the signal number, or 0 on timeout. Use from main, before
 * eng_destroy(): a clean stop on Ctrl-C or `kill`. */
int eng_wait_signal(uint64_t timeout_ns);

uint32_t eng_shard_count(const eng_t *e);
/* The DTLS certificate's fingerprint for SDP, "sha-256 AB:CD:...". Any thread. */
const char *eng_fingerprint(const eng_t *e);
/* The UDP address shard @i listens on. */
void eng_shard_addr(const eng_t *e, uint32_t i, net_addr_t *out);
/* A consistent-per-field snapshot of shard @i's counters. Any thread. */
void eng_counters_get(const eng_t *e, uint32_t i, eng_counters_t *out);

/* Runs @fn(shard, @arg, @u64) on shard @i's thread. A pointer in @arg hands ownership to the
 * shard. One producer thread per engine at a time (the signaling thread; main before that).
 * 0, -EAGAIN when the shard's queue is full (the caller retries or refuses), -EINVAL for a bad
 * shard index. */
typedef void (*eng_cmd_fn)(eng_shard_t *sh, void *arg, uint64_t u64);
WARN_UNUSED int eng_post(eng_t *e, uint32_t i, eng_cmd_fn fn, void *arg, uint64_t u64);

/* ---- Shard thread only ---- */

uint32_t eng_shard_index(const eng_shard_t *sh);
eng_t *eng_shard_engine(eng_shard_t *sh);
/* The clock read at the start of this tick. */
uint64_t eng_shard_now(const eng_shard_t *sh);
net_timers_t *eng_shard_timers(eng_shard_t *sh);
/* A packet from the shard's pool, or NULL (the caller counts the drop). */
net_pkt_t *eng_shard_pkt_alloc(eng_shard_t *sh);
/* Queues @pkt to pkt->addr; it leaves in this tick's batch. Takes ownership, even on error.
 * 0 or -ENOBUFS (dropped and counted). */
int eng_shard_send(eng_shard_t *sh, net_pkt_t *pkt);
void eng_shard_drop(eng_shard_t *sh, enum eng_drop why);

/* ---------------------------------------------------------------------------------------------
 * SFU (engine/sfu.c, docs/sfu.md): rooms whose members are server-side peer connections (ICE
 * lite) on the shards. Every publisher's audio and video reaches every other member.
 *
 * Threads: create and destroy on main; every other eng_sfu_* call comes from one control
 * thread (the signaling thread), which is also the producer of the shards' command queues.
 * Events come back on one SPSC queue per shard (producer: that shard, consumer: the control
 * thread), each with an eventfd to watch.
 */
typedef struct eng_sfu eng_sfu_t;

enum eng_sfu_ev_type {
    ENG_SFU_EV_ANSWER = 1, /* text: the SDP answer to the member's offer */
    ENG_SFU_EV_OFFER,      /* text: a server offer (renegotiation); reply with eng_sfu_answer */
    ENG_SFU_EV_CANDIDATE,  /* text: a local candidate line, NULL: end-of-candidates */
    ENG_SFU_EV_CONNECTED,  /* media flows (ICE and DTLS connected) */
    ENG_SFU_EV_GONE,       /* the member left, failed or timed out; its resources are freed */
    ENG_SFU_EV_ERROR,      /* err: -errno, text: the reason; the member stays (or GONE follows) */
};

typedef struct eng_sfu_ev {
    uint32_t type; /* enum eng_sfu_ev_type */
    int err;
    uint64_t member;
    char *text; /* malloc'd (or NULL): the consumer frees it */
} eng_sfu_ev_t;

typedef struct eng_sfu_cfg {
    uint32_t room_max_per_shard; /* members of one room a shard takes before another helps;
                                    0: 64 */
    uint64_t remb_bps;           /* REMB sent to publishers; 0: 2 Mbit/s */
    uint32_t test_uplink_loss;   /* tests: every Nth video packet of each publisher is dropped on
                                    arrival, as if lost (0: off) */
} eng_sfu_cfg_t;

/* After eng_create(). NULL on failure. Main thread. */
eng_sfu_t *eng_sfu_create(eng_t *e, const eng_sfu_cfg_t *cfg);
/* After eng_destroy() (which closed the peer connections): frees rooms, members and queued
 * events. Accepts NULL. Main thread. */
void eng_sfu_destroy(eng_sfu_t *s);

/* Joins @member (an id the caller picks, unique among live members) to @room. With @offer
 * (an SDP offer, e.g. a browser's or a WHIP client's) the server answers (EV_ANSWER); with
 * NULL the server offers (EV_OFFER; a subscriber, e.g. a WHEP client that wants a server
 * offer). 0, -EEXIST, -EAGAIN (a queue is full), -ENOMEM, -EINVAL. */
WARN_UNUSED int eng_sfu_join(eng_sfu_t *s, uint64_t member, const char *room, const char *offer);
/* The member's answer to a server offer. */
WARN_UNUSED int eng_sfu_answer(eng_sfu_t *s, uint64_t member, const char *sdp);
/* A new offer from the member (renegotiation). On glare the server is the polite peer: it
 * rolls its own offer back, answers, and offers again afterwards. */
WARN_UNUSED int eng_sfu_offer(eng_sfu_t *s, uint64_t member, const char *sdp);
/* A trickled remote candidate ("candidate:..."), NULL or "" for end-of-candidates. */
WARN_UNUSED int eng_sfu_candidate(eng_sfu_t *s, uint64_t member, const char *cand);
/* The member leaves: its peer connection closes; EV_GONE follows. -ENOENT if unknown. */
WARN_UNUSED int eng_sfu_leave(eng_sfu_t *s, uint64_t member);
/* Takes the next event from any shard. true if there was one. */
bool eng_sfu_poll(eng_sfu_t *s, eng_sfu_ev_t *ev);
/* The eventfd of shard @i's event queue (readable when events wait; eng_sfu_poll acks). */
int eng_sfu_event_fd(const eng_sfu_t *s, uint32_t i);

/* Counters summed over shards (approximate while running). */
typedef struct eng_sfu_stats {
    uint64_t rooms, members;      /* rooms: parts of rooms (a room on two shards counts twice) */
    uint64_t fwd_pkts, fwd_bytes; /* RTP forwarded to subscribers */
    uint64_t rtx_sent, nack_rx;   /* retransmissions, NACKed packets received */
    uint64_t pli_tx, pli_rx;      /* PLI/FIR sent to publishers, received from subscribers */
    uint64_t sr_tx, rr_tx, remb_tx;
    uint64_t drop_nobufs, drop_wait_key, drop_not_ready;
    uint64_t xshard_fwd, xshard_drop; /* packets passed by reference to other shards; dropped
                                         because the ring was full */
    uint64_t nack_tx;                 /* sequence numbers NACKed to publishers */
    /* Chat messages held for a member whose channel was not open yet (sent when it opens), and
     * not relayed: held queue full, or the open channel refused it. */
    uint64_t chat_held, chat_dropped;
} eng_sfu_stats_t;
void eng_sfu_stats_get(const eng_sfu_t *s, eng_sfu_stats_t *out);

#endif
