/* engine/engine_priv.h: what the engine's own files share: the shard and engine structs and
 * the peers of a shard. Not for signaling/ (it sees engine/engine.h only). */
#ifndef URTC_ENGINE_ENGINE_PRIV_H
#define URTC_ENGINE_ENGINE_PRIV_H

#include "engine/engine.h"

#include <pthread.h>

#include "rtc/dtls/dtls.h"
#include "rtc/ice/ice.h"
#include "rtc/rtp/rtp.h"
#include "rtc/srtp/srtp.h"
#include "rtc/turn/turn.h"

typedef struct eng_peer eng_peer_t;

/* Remote address -> peer slot, for datagrams that are not STUN (DTLS, RTP, RTCP): open
 * addressing with linear probing, sized at start. */
typedef struct eng_route {
    net_addr_t addr;
    uint32_t slot;
    uint8_t state; /* 0 empty, 1 used, 2 deleted */
} eng_route_t;

#define ENG_ICE_OUT_CAP 16

/* Counters of what a shard's peers dropped, by cause. Shard thread. */
typedef struct eng_peer_drops {
    uint64_t dtls_before_start; /* DTLS before eng_peer_start_dtls() */
    uint64_t srtp_before_keys;  /* RTP/RTCP before the handshake ended */
    uint64_t srtp_rejected;     /* failed authentication, replay, or malformed */
} eng_peer_drops_t;

struct eng_cmd {
    eng_cmd_fn fn;
    void *arg;
    uint64_t u64;
};

struct eng_shard {
    eng_t *e;
    uint32_t idx;
    pthread_t thread;
    bool thread_started;

    /* Everything below belongs to the shard thread. */
    net_ring_t *ring;
    net_pool_t *pool;
    net_udp_t *udp;
    net_timers_t timers;
    uint64_t now_ns;
    bool stop;
    net_op_t wake_op;
    uint64_t wake_buf;
    bool wake_armed;
    uint64_t ticks;
    uint64_t drop[ENG_DROP__COUNT]; /* drops the engine counts itself (not the socket's) */

    /* Written by the shard (atomic stores), read by anyone. */
    eng_counters_t pub;
    net_addr_t addr; /* written before the shard reports ready */

    /* Feeds the shard: one producer, the shard consumes. */
    net_queue_t *cmdq;

    /* Peers (engine/peer.c): a slab sized at start, a free list, the routes, the peers closed
     * during this tick (freed at its end), and scratch output for the ICE agents. */
    eng_peer_t *peers;
    uint32_t peer_cap, peer_cnt;
    uint32_t *peer_free;
    uint32_t peer_free_cnt;
    eng_route_t *routes;
    uint32_t route_mask;
    net_list_t reap;
    rtc_ice_dgram_t ice_out[ENG_ICE_OUT_CAP];
    rtc_dtls_out_t dtls_out;
    eng_peer_drops_t peer_drops;
    /* Handshakes and failures of the peers (engine/peer.c), published as eng_counters_t. */
    struct {
        uint64_t dtls_handshakes;
        uint64_t dtls_fail[ENG_DTLS_FAIL__COUNT];
        uint64_t ice_fail[ENG_ICE_FAIL__COUNT];
    } conn;
    /* Data channels (engine/dc.c): the shard's connections with SCTP, and the flag another
     * thread's usrsctp timer sets to have them polled. */
    net_list_t dc_list;
    int dc_wake;
    /* Peers with a socket of their own: flushed every tick. */
    net_list_t sock_list;
    rtc_turn_msg_t turn_out[4]; /* scratch output of the peers' TURN clients */
    /* The SFU's state for this shard (engine/sfu.c), set on the shard by its attach command. */
    struct sfu_shard *sfu;
};

/* engine/peer.c, shard thread only */
WARN_UNUSED int eng_peers_init(eng_shard_t *sh, uint32_t cap);
/* Closes every peer and frees the tables. */
void eng_peers_fini(eng_shard_t *sh);
/* Routes a datagram to its peer (by 5-tuple, or for STUN by the ufrag in USERNAME). Takes
 * ownership of @pkt; drops and counts what no peer owns. */
void eng_peers_dispatch(eng_shard_t *sh, net_pkt_t *pkt);
/* Frees the peers closed during this tick. End of tick. */
void eng_peers_reap(eng_shard_t *sh);
/* Hands the send batches of peers with their own sockets to the ring. End of tick. */
void eng_peers_flush(eng_shard_t *sh);

struct eng {
    eng_cfg_t cfg;
    rtc_dtls_ctx_t *dtls_ctx; /* read-only once the shards run */
    int keylog_fd;            /* the DTLS key log (O_APPEND), or -1 */
    uint32_t cnt;
    eng_shard_t *shards;
    /* Start-up hand-shake. */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    uint32_t ready, failed;
};

/* ---------------------------------------------------------------------------------------------
 * Peers: the transport of one peer connection on a shard (ICE today; DTLS, SRTP and SCTP join
 * as they land). Everything here runs on the peer's shard thread.
 */
typedef struct eng_peer_cbs {
    /* ICE state changes. */
    void (*on_ice_state)(eng_peer_t *p, rtc_ice_state_t state, void *user);
    /* A local candidate line ("candidate:..."), or NULL for end-of-candidates. */
    void (*on_candidate)(eng_peer_t *p, const char *cand, void *user);
    /* DTLS state changes: RTC_DTLS_CONNECTED (SRTP keys installed), CLOSED, FAILED. */
    void (*on_dtls_state)(eng_peer_t *p, rtc_dtls_state_t state, void *user);
    /* DTLS application data (SCTP packets), borrowed for the call. */
    void (*on_dtls_data)(eng_peer_t *p, const uint8_t *data, size_t len, void *user);
    /* A decrypted RTP or RTCP packet from the peer. Takes ownership of @pkt. */
    void (*on_rtp)(eng_peer_t *p, net_pkt_t *pkt, bool rtcp, void *user);
} eng_peer_cbs_t;

typedef struct eng_peer_cfg {
    bool ice_lite;    /* answer checks only (a server); else a full agent */
    bool controlling; /* full agents: the initial role (the offerer) */
    /* A UDP socket of its own (a client): many clients on one shard may then talk to one
     * server address, which the shard's shared socket cannot tell apart. */
    bool own_socket;
    /* With own_socket: use the engine's STUN/TURN servers; relay_only (W3C iceTransportPolicy
     * "relay") offers only the relayed candidate. */
    bool use_ice_servers;
    bool relay_only;
    eng_peer_cbs_t cbs;
    void *user;
} eng_peer_cfg_t;

/* A peer on @sh with a host candidate on the shard's socket and a local ufrag that encodes
 * shard, slot and generation (so checks find it). NULL when the slab is full (the caller
 * counts and refuses) or on bad config. */
eng_peer_t *eng_peer_create(eng_shard_t *sh, const eng_peer_cfg_t *cfg);
/* Closes @p: nothing more is sent or delivered; the slot is freed at the end of the tick and
 * its generation bumped, so stale ids miss. Safe from inside the peer's callbacks. */
void eng_peer_close(eng_peer_t *p);
/* The peer with this id, or NULL if it is gone (stale generation) or closing. */
eng_peer_t *eng_peer_get(eng_shard_t *sh, eng_peer_id_t id);
/* @fn(@p, @arg) runs when the peer is reaped, however it was closed (by its owner, or by the
 * engine stopping): the owner's memory goes with it. */
void eng_peer_set_reaped(eng_peer_t *p, void (*fn)(eng_peer_t *p, void *arg), void *arg);
/* The owner gives up on @p (before closing it): a peer that never connected or stayed
 * disconnected. Counted as the failure it amounts to (ICE checks or consent, DTLS timeout)
 * unless its ICE or DTLS failure was counted already; nothing for a connected peer. */
void eng_peer_give_up(eng_peer_t *p);
/* A full agent's role before checks start: JSEP makes the offerer controlling, and the first
 * remote offer may come before anything else. 0, or -EBUSY once checks are under way. */
WARN_UNUSED int eng_peer_set_controlling(eng_peer_t *p, bool controlling);
eng_peer_id_t eng_peer_id(const eng_peer_t *p);
const char *eng_peer_ufrag(const eng_peer_t *p);
const char *eng_peer_pwd(const eng_peer_t *p);
rtc_ice_t *eng_peer_ice(eng_peer_t *p);
/* Remote credentials from the SDP (a changed pair is an ICE restart). 0 or -EINVAL. */
WARN_UNUSED int eng_peer_set_remote_creds(eng_peer_t *p, const char *ufrag, const char *pwd);
/* ICE restart (RFC 8445 §9): new local credentials (the ufrag keeps its routing prefix);
 * media stays on the old pair until a new one is selected. 0 or -EINVAL. */
WARN_UNUSED int eng_peer_restart_ice(eng_peer_t *p);
/* A remote candidate line ("candidate:..." with or without "a="), or NULL/"" for
 * end-of-candidates. 0, -EBADMSG, -ENOSPC. */
WARN_UNUSED int eng_peer_add_candidate(eng_peer_t *p, const char *line);
/* Sends @pkt as it is to the selected remote. Takes ownership of @pkt, even on error. 0,
 * -ENOTCONN (no pair, or consent lost), -ENOBUFS. */
int eng_peer_send(eng_peer_t *p, net_pkt_t *pkt);

/* Starts DTLS once the negotiation fixed the roles (RFC 8842: a=setup:active is the client)
 * and the peer's fingerprint ("sha-256 AB:..."). A client sends its ClientHello as soon as ICE
 * has a pair. 0, -EALREADY, -EINVAL (bad fingerprint), -ENOMEM. */
WARN_UNUSED int eng_peer_start_dtls(eng_peer_t *p, bool client, const char *remote_fp);
rtc_dtls_state_t eng_peer_dtls_state(const eng_peer_t *p);
/* Sends DTLS application data (an SCTP packet). 0, -ENOTCONN, -EMSGSIZE. */
WARN_UNUSED int eng_peer_send_dtls_data(eng_peer_t *p, const void *data, size_t len);
/* Encrypts (in place: the pool slot has the tailroom) and sends an RTP or RTCP packet. Takes
 * ownership of @pkt, even on error. 0, -ENOTCONN (no SRTP keys yet, or no pair), -EIO. */
int eng_peer_send_rtp(eng_peer_t *p, net_pkt_t *pkt, bool rtcp);

/* Copies plaintext RTP or RTCP (@rtcp) @buf into a packet of the peer's shard and sends it as
 * eng_peer_send_rtp() does. 0, -EMSGSIZE, -ENOBUFS (pool empty), -ENOTCONN, -EIO. */
int eng_peer_send_copy(eng_peer_t *p, const uint8_t *buf, size_t len, bool rtcp);

/* ---------------------------------------------------------------------------------------------
 * RTCP and repair steps that the SFU's legs and the API's connections share (engine/rtcp.c).
 * Shard thread.
 */
#define ENG_RTCP_INTERVAL_NS NET_NS_PER_SEC  /* RFC 3550 §6.2 minimum, lowered as AVPF allows */
#define ENG_RTX_MIN_NS (20 * NET_NS_PER_MS)  /* one packet resent at most this often */
#define ENG_NACK_TRIES 3                     /* NACKs per lost packet (RFC 4585 §6.2.1) */
#define ENG_NACK_MIN_NS (20 * NET_NS_PER_MS) /* between two NACKs of a packet, at least */
#define ENG_HIST_PKTS 256                    /* video send history: ~2.5 s at 1 Mbit/s */
#define ENG_HIST_SLOT 1500                   /* bytes per packet kept */
/* A measured round trip is believed up to this for NACK spacing: three tries must still find
 * the packet in the sender's history (ENG_HIST_PKTS, ~2.5 s), and a longer wait repairs
 * nothing a keyframe request would not repair sooner. */
#define ENG_RTT_MAX_NS (500 * NET_NS_PER_MS)

/* When the next regular report is due: RFC 3550 §6.3.1 / A.7 with a 1 s minimum (half of it
 * for the first report, §6.2), randomized to 0.5-1.5 times the interval. */
uint64_t eng_rtcp_next_ns(uint64_t now_ns, bool initial);

/* Counters of eng_rtx_answer(). */
typedef struct eng_rtx_counts {
    uint64_t nacked;  /* sequence numbers the peer asked for */
    uint64_t resent;  /* answered: RTX (RFC 4588), or the original again */
    uint64_t missing; /* no longer in the history: the receiver needs a keyframe */
    uint64_t nobufs;  /* not sent: packet pool empty */
} eng_rtx_counts_t;

/* Answers the @n NACKed sequence numbers @seqs from history @h through peer @p: as RTX with
 * @rtx (the stream's RTX sender), or the original packets with @rtx NULL; each at most once per
 * ENG_RTX_MIN_NS. Counts into @c. Returns how many were missing from the history. */
int eng_rtx_answer(eng_peer_t *p, rtc_rtp_history_t *h, rtc_rtp_rtx_tx_t *rtx, const uint16_t *seqs,
                   int n, uint64_t now_ns, eng_rtx_counts_t *c);
/* The same for a forwarding leg @leg (an SFU's down) whose source's packets are in @h: each
 * repair carries exactly the bytes the leg sent (rtc_rtp_fwd_resend). */
int eng_rtx_answer_fwd(eng_peer_t *p, rtc_rtp_fwd_leg_t *leg, const rtc_rtp_fwd_hist_t *h,
                       rtc_rtp_rtx_tx_t *rtx, const uint16_t *seqs, int n, uint64_t now_ns,
                       eng_rtx_counts_t *c);

/* How long a NACK waits for its repair before the next try (RFC 4585 §6.2.1 leaves the
 * timing to the receiver): the path's round trip @rtt_ns (from report blocks, RFC 3550 §6.4.1)
 * clamped to [ENG_NACK_MIN_NS, ENG_RTT_MAX_NS], plus a quarter for the repair's own jitter.
 * @rtt_ns < 0 (not measured): @fallback_ns as it is. */
uint64_t eng_nack_wait_ns(int64_t rtt_ns, uint64_t fallback_ns);

/* Polls NACK generator @g (retries max(@rtt_ns, its minimum) apart) and sends what is due as a
 * compound RR + SDES CNAME + generic NACK (RFC 4585 §6.2.1) from @sender about @media.
 * Returns the number of sequence numbers NACKed (0: nothing due), or a send error. */
int eng_rtcp_send_nack(eng_peer_t *p, rtc_rtp_nack_gen_t *g, uint32_t sender, const char *cname,
                       uint32_t media, uint64_t now_ns, uint64_t rtt_ns);

/* ---------------------------------------------------------------------------------------------
 * The public API's objects (engine/pc.c), for the engine's other files (the SFU).
 */
#include "codecs/codecs.h"
#include "rtc/pc/pc.h"
#include "urtc/urtc.h"

struct urtc_engine {
    eng_t *e;
    unsigned next;
};

struct urtc_pc {
    eng_shard_t *sh;
    eng_peer_t *peer;
    rtc_pc_t jsep;
    urtc_pc_config_t cfg;
    urtc_pc_callbacks_t cbs;
    void *user;
    bool role_fixed; /* the ICE role was chosen by the first offer */
    bool dtls_started;
    bool remote_applied;
    urtc_ice_state_t ice;
    urtc_dtls_state_t dtls;
    urtc_pc_state_t state;
    uint16_t seq[RTC_PC_MAX_TRANSCEIVERS];
    struct {
        uint64_t rx_pkts, rx_bytes, tx_pkts, tx_bytes;
        /* from the peer's receiver reports about what we send (remote-inbound-rtp) */
        uint64_t rr_cnt;
        int32_t rr_lost;
        uint8_t rr_fraction_lost;
        uint32_t rr_jitter;
        uint64_t keyframe_requests;
        uint32_t rx_ssrc; /* the SSRC we last received on it (0: none yet) */
        /* RTCP (RFC 3550 §6.4): what we send (our SRs), what we receive (our report blocks) */
        rtc_rtp_tx_stats_t tx;
        rtc_rtp_rx_stats_t rx;
        bool rx_init;
        int64_t rtt_ns;               /* from the peer's last report block with an LSR; -1: none */
        uint64_t rtt_sum_ns, rtt_cnt; /* every such measurement (W3C totalRoundTripTime) */
        /* the peer's last SR about what it sends us (remote-outbound-rtp) */
        uint64_t sr_cnt, sr_ntp;
        uint32_t sr_pkts, sr_octets;
        /* repair: NACKs we sent and got, packets we resent and received resent (RTX) */
        uint64_t nack_tx, nack_rx, rtx_tx, rtx_rx;
        uint64_t nack_given_up; /* the generator's given_up when last looked at */
    } st[RTC_PC_MAX_TRANSCEIVERS];
    /* RTCP and repair (engine/pc.c), unless the owner does its own (the SFU's legs). Video
     * transceivers with NACK negotiated get a send history (when they send) and a NACK
     * generator (when they receive), allocated when a negotiation completes. */
    bool rtcp_by_owner;
    /* Test knob: SCTP packets that arrive before this time are dropped, so the association
     * (and every channel) comes up late, on the next INIT retransmission after it. */
    uint64_t test_sctp_drop_until_ns;
    net_timer_t rtcp_timer;
    uint64_t next_report_ns, last_report_ns, prev_report_ns;
    int64_t rtt_ns; /* the latest round trip from any report block; -1: none */
    rtc_rtcp_counters_t rtcp_in;
    uint64_t sr_tx, rr_tx;
    struct eng_pc_resend *resend[RTC_PC_MAX_TRANSCEIVERS];
    rtc_rtp_nack_gen_t *nack[RTC_PC_MAX_TRANSCEIVERS];
    /* Transport-wide congestion control feedback (draft-holmer-rmcat-transport-wide-cc-
     * extensions-01), sent whoever owns the reports (the SFU's publishers need it too): the
     * negotiated extension id (0: off), the arrivals not reported yet, a timer while some
     * wait, and the feedback packets sent. */
    uint8_t twcc_id;
    rtc_rtp_twcc_rec_t *twcc;
    net_timer_t twcc_timer;
    uint64_t twcc_fb_tx;
    bool negotiation_needed;
    uint64_t rx_unrouted;
    struct eng_dc *dc; /* data channels, once used (engine/dc.c) */
    /* Our candidates (attribute values), to put back into descriptions after an ICE restart. */
    char cands[4][256];
    unsigned cand_cnt;
    /* Per transceiver: a packetizer for frames we send, a depacketizer for frames we get
     * (created on first use, for the codec in use). */
    codec_pay_t pay[RTC_PC_MAX_TRANSCEIVERS];
    codec_id_t pay_codec[RTC_PC_MAX_TRANSCEIVERS];
    codec_depay_t *depay[RTC_PC_MAX_TRANSCEIVERS];
    codec_id_t depay_codec[RTC_PC_MAX_TRANSCEIVERS];
    char err[256];
};

/* engine/dc.c: data channels of the public API. Shard thread. */
typedef struct eng_dc eng_dc_t;
/* DTLS is up: start SCTP if the negotiation has an application section. */
void eng_dc_dtls_connected(urtc_pc_t *pc);
/* False once a completed negotiation has no application section: no channel can open. */
bool eng_dc_may_open(const urtc_pc_t *pc);
/* DTLS application data: true if SCTP took it. */
bool eng_dc_input(urtc_pc_t *pc, const uint8_t *data, size_t len);
void eng_dc_free(urtc_pc_t *pc);
/* Appends ", {data-channel stats}" for each channel to @out (snprintf semantics: returns the
 * length it needed). */
size_t eng_dc_stats_json(urtc_pc_t *pc, char *out, size_t cap);
/* engine/pc.c: urtc_pc_t objects allocated and not yet freed, in the whole process (tests). */
int eng_pc_live(void);
/* engine/pc.c: the W3C negotiation-needed flag. */
void eng_pc_negotiation_needed(urtc_pc_t *pc);
/* Once per tick: usrsctp timers (shard 0) and associations a timer woke. Returns the ns until
 * the next SCTP timer, UINT64_MAX if none. */
uint64_t eng_dc_shard_tick(eng_shard_t *sh, uint64_t now_ns);
/* The shard stops: if it drove usrsctp's timers, another shard 0 takes over. */
void eng_dc_shard_stop(eng_shard_t *sh);

/* ---------------------------------------------------------------------------------------------
 * SFU internals (engine/sfu.c). Control thread.
 */
/* Test knob: the SFU does not send every @every_n-th packet it forwards to @member (it still
 * keeps it for NACKs), as if the network lost it. 0 turns it off. */
WARN_UNUSED int eng_sfu_test_loss(eng_sfu_t *s, uint64_t member, uint32_t every_n);
/* Shard thread, once per tick (engine/shard.c): drains the SFU's rings from the other shards
 * and wakes the shards it queued packets for. The time until it needs to run again. */
uint64_t eng_sfu_shard_tick(eng_shard_t *sh, uint64_t now_ns);

#endif
