/* rtc/sctp/sctp.h: WebRTC data channels: SCTP over DTLS (RFC 8261) on usrsctp, with the Data
 * Channel Establishment Protocol (DCEP, RFC 8832) and the channel rules of RFC 8831.
 *
 * Sans-IO shape. An rtc_sctp_t is one SCTP association. Its input is one SCTP packet (the
 * plaintext of one DTLS application-data record) through rtc_sctp_input(); its output is SCTP
 * packets the caller hands to DTLS for encryption, taken from the association's output queue
 * with rtc_sctp_out_peek()/rtc_sctp_out_pop(). Events (association up/down, channel open,
 * message, buffered-amount-low, channel closed) are delivered through cfg.on_event, only from
 * inside rtc_sctp_input() and rtc_sctp_poll(), on the owning thread.
 *
 * usrsctp is process-global and keeps its own locks and timers. urtc initialises it once
 * (usrsctp_init_nothreads: it starts no thread) and one thread drives the timers of every
 * association through rtc_sctp_timers_run(); in the engine that is shard 0. A timer may
 * retransmit for an association owned by another shard: that output is copied (under a
 * per-association lock) into the owning association's output queue, never onto a socket, and
 * cfg.wake tells the owner to come and drain it. See docs/sctp.md for the threading rule.
 *
 * Not sans-IO in one respect: usrsctp reads the wall clock itself (RTT samples, cookie
 * lifetime). Its timers, however, advance only with rtc_sctp_timers_run(now_ns).
 */
#ifndef URTC_RTC_SCTP_SCTP_H
#define URTC_RTC_SCTP_SCTP_H

#include "net/net.h"

/* RFC 8841 §4: the default SCTP port when a=sctp-port is absent (and what everyone uses). */
#define RTC_SCTP_DEFAULT_PORT 5000
/* What we advertise in a=max-message-size (RFC 8841 §6), and so the largest message we
 * reassemble. */
#define RTC_SCTP_LOCAL_MAX_MSG 262144u
/* RFC 8841 §6.1: no a=max-message-size in the remote SDP means 64 KiB. */
#define RTC_SCTP_REMOTE_MAX_MSG_DEFAULT 65536u
/* a=max-message-size:0 means "any size" (RFC 8841 §6); pass this for it. We still refuse
 * messages over 1 GiB. */
#define RTC_SCTP_MAX_MSG_UNLIMITED UINT32_MAX
/* Largest SCTP packet we emit: it must fit one DTLS record in a RTC_DTLS_MTU (1200) datagram.
 * rtc_dtls_send() accepts up to RTC_DTLS_MTU - 64 bytes (13-byte record header plus a
 * conservative allowance for IV and tag; AES-GCM needs 8 + 16), so 1136. */
#define RTC_SCTP_MTU 1136u
/* Streams we ask for in INIT (both directions; the association uses the smaller of ours and
 * the peer's). Enough for 1,024 channels opened by one side (ids of one parity). */
#define RTC_SCTP_DEFAULT_STREAMS 2048u

/* DCEP (RFC 8832 §5.1) and the data-channel PPIDs (RFC 8831 §8, IANA SCTP PPIDs). */
#define RTC_SCTP_PPID_DCEP 50
#define RTC_SCTP_PPID_STRING 51
#define RTC_SCTP_PPID_BINARY 53
#define RTC_SCTP_PPID_STRING_EMPTY 56
#define RTC_SCTP_PPID_BINARY_EMPTY 57

#define RTC_DCEP_ACK 0x02
#define RTC_DCEP_OPEN 0x03
#define RTC_DCEP_OPEN_HDR_LEN 12

/* DATA_CHANNEL_OPEN channel types (RFC 8832 §5.1): bit 7 = unordered, low bits = policy. */
#define RTC_DCEP_RELIABLE 0x00
#define RTC_DCEP_PARTIAL_RELIABLE_REXMIT 0x01
#define RTC_DCEP_PARTIAL_RELIABLE_TIMED 0x02
#define RTC_DCEP_UNORDERED 0x80

/* Partial reliability (RFC 3758 PR-SCTP, RFC 7496 policies). */
typedef enum rtc_sctp_pr {
    RTC_SCTP_PR_NONE = 0, /* reliable */
    RTC_SCTP_PR_RTX,      /* give up after pr_value retransmissions */
    RTC_SCTP_PR_TTL,      /* give up after pr_value milliseconds */
} rtc_sctp_pr_t;

/* A parsed DCEP message. label and protocol are views into the parsed buffer. */
typedef struct rtc_dcep {
    uint8_t type; /* RTC_DCEP_OPEN or RTC_DCEP_ACK */
    uint8_t channel_type;
    uint16_t priority;
    uint32_t reliability;
    net_view_t label;
    net_view_t protocol;
} rtc_dcep_t;

/* Parses one DCEP message (PPID 50). RFC 8832 §5.1/§5.2. Returns the bytes consumed, or
 * -EBADMSG (truncated, lengths past the end, unknown message or channel type). Trailing bytes
 * after an OPEN's protocol are tolerated and not consumed. Any thread. */
WARN_UNUSED int rtc_dcep_parse(const uint8_t *p, size_t len, rtc_dcep_t *m);
/* Writes a DATA_CHANNEL_OPEN. Returns the length, or -ENOSPC, -EINVAL (label or protocol
 * over 65535 bytes). */
WARN_UNUSED int rtc_dcep_write_open(uint8_t *p, size_t cap, uint8_t channel_type, uint16_t priority,
                                    uint32_t reliability, net_view_t label, net_view_t protocol);
/* Channel type byte from ordering and policy, and back. */
uint8_t rtc_dcep_channel_type(bool unordered, rtc_sctp_pr_t pr);
void rtc_dcep_channel_type_split(uint8_t type, bool *unordered, rtc_sctp_pr_t *pr);

typedef struct rtc_sctp rtc_sctp_t;

typedef enum rtc_sctp_ev_type {
    RTC_SCTP_EV_CONNECTED = 1,  /* association established: channels can carry data */
    RTC_SCTP_EV_CLOSED,         /* association gone (abort, shutdown, lost); error says why */
    RTC_SCTP_EV_CHANNEL_OPEN,   /* channel usable: ours after its OPEN went out, or theirs */
    RTC_SCTP_EV_CHANNEL_CLOSED, /* both directions of the stream reset; the sid is free */
    RTC_SCTP_EV_MESSAGE,        /* one whole message */
    RTC_SCTP_EV_BUFFERED_LOW,   /* buffered amount fell to or below the channel's threshold */
} rtc_sctp_ev_type_t;

typedef struct rtc_sctp_event {
    rtc_sctp_ev_type_t type;
    uint16_t sid;    /* the channel (stream id) */
    bool binary;     /* MESSAGE: PPID 53/57 (else 51/56 string) */
    net_view_t data; /* MESSAGE: the payload (len 0 for an empty message); valid in the call */
    /* CHANNEL_OPEN: what the channel is. label/protocol valid during the callback. */
    net_view_t label, protocol;
    bool remote; /* CHANNEL_OPEN: the peer opened it with DCEP */
    bool unordered;
    rtc_sctp_pr_t pr;
    uint32_t pr_value;
    uint16_t priority;
    int error; /* CLOSED / CHANNEL_CLOSED: 0 for an orderly close, else -errno */
} rtc_sctp_event_t;

typedef struct rtc_sctp_cfg {
    bool dtls_client;     /* our DTLS role: the client uses even stream ids (RFC 8832 §6) */
    uint16_t local_port;  /* our a=sctp-port; 0: 5000 */
    uint16_t remote_port; /* theirs; 0: 5000 */
    /* The remote a=max-message-size: 0 when absent (65536 is used), RTC_SCTP_MAX_MSG_UNLIMITED
     * for the SDP value 0. Caps what rtc_sctp_send() accepts. */
    uint32_t remote_max_msg;
    /* Our a=max-message-size; 0: RTC_SCTP_LOCAL_MAX_MSG. Larger incoming messages are dropped
     * and counted (rx_oversize_cnt). */
    uint32_t local_max_msg;
    uint16_t streams;       /* INIT streams, both directions; 0: RTC_SCTP_DEFAULT_STREAMS */
    uint32_t out_queue_cnt; /* output queue capacity in packets; 0: 256 (minimum 128) */
    /* Retransmission timeout bounds (RFC 4960 §6.3.1); 0: 1000 initial, 400 min, 3000 max. The
     * max also caps the INIT and COOKIE-ECHO backoff (see docs/sctp.md, "Timers"). */
    uint32_t rto_initial_ms, rto_min_ms, rto_max_ms;
    /* INIT attempts and retransmissions of a chunk before the association is given up
     * (RFC 4960 §5.1, §8.1: Max.Init.Retransmits, Association.Max.Retrans); 0: 16. */
    uint16_t max_retransmits;
    /* Events, on the owning thread, from inside rtc_sctp_input()/rtc_sctp_poll() only. The
     * callback may call rtc_sctp_send/channel_open/channel_close/set_buffered_low, but not
     * rtc_sctp_destroy(). */
    void (*on_event)(void *user, rtc_sctp_t *s, const rtc_sctp_event_t *ev);
    /* Called from any thread (with usrsctp's locks held) when output was queued outside a call
     * on the owning thread, i.e. by a usrsctp timer. It must only signal the owner (set a flag,
     * post to its queue, write an eventfd) which then calls rtc_sctp_poll(). May be NULL. */
    void (*wake)(void *user);
    void *user;
    const char *log_id; /* peer id for log lines; may be NULL */
} rtc_sctp_cfg_t;

/* Creates an association (an AF_CONN usrsctp socket, bound to local_port; nothing is sent
 * yet). Initialises usrsctp on first use. NULL on failure (logged). Owning thread. */
rtc_sctp_t *rtc_sctp_create(const rtc_sctp_cfg_t *cfg);
/* Aborts the association (without sending) and frees it. Accepts NULL. Owning thread, not
 * from inside on_event. */
void rtc_sctp_destroy(rtc_sctp_t *s);

/* Starts the association once DTLS is connected: sends INIT. Both DTLS roles call it, as
 * libwebrtc does (a simultaneous open resolves per RFC 4960 §5.2.4). 0 or -EIO. */
WARN_UNUSED int rtc_sctp_start(rtc_sctp_t *s, uint64_t now_ns);
/* Feeds one SCTP packet (DTLS application data). Borrowed for the call. Then behaves as
 * rtc_sctp_poll(). 0, or -EBADMSG for a packet too short to be SCTP (counted). usrsctp drops
 * other bad packets silently. */
WARN_UNUSED int rtc_sctp_input(rtc_sctp_t *s, const uint8_t *p, size_t len, uint64_t now_ns);
/* Reads what usrsctp has for us (messages, notifications), delivers events, and pushes queued
 * messages and stream resets into usrsctp. Call after rtc_sctp_timers_run() or a wake, and
 * after API calls whose effect you want now. Returns 0. */
int rtc_sctp_poll(rtc_sctp_t *s, uint64_t now_ns);
/* True if a timer queued output or wake was signalled since the last poll. Any thread. */
bool rtc_sctp_needs_poll(rtc_sctp_t *s);

/* The output queue: the oldest packet to send, as a view valid until rtc_sctp_out_pop().
 * false when empty. Owning thread. When pop empties the queue, messages that were held back
 * because the queue was nearly full are handed to usrsctp (their packets follow in the queue),
 * so drain with `while (peek) { send; pop; }`. A full queue drops packets (out_drop_cnt) and
 * SCTP retransmits them. */
bool rtc_sctp_out_peek(rtc_sctp_t *s, net_view_t *pkt);
void rtc_sctp_out_pop(rtc_sctp_t *s);

/* Drives usrsctp's timers for every association in the process: call from exactly one thread
 * (shard 0 in the engine) at rtc_sctp_timers_deadline(). Returns the next deadline: now + 10 ms
 * while any association exists (usrsctp keeps no timer list we can query, so this is its tick),
 * UINT64_MAX otherwise. Owners of associations that got output are woken through cfg.wake. */
uint64_t rtc_sctp_timers_run(uint64_t now_ns);
uint64_t rtc_sctp_timers_deadline(void);
/* Associations alive in the process (all threads). */
unsigned rtc_sctp_assoc_cnt(void);

typedef struct rtc_sctp_channel_cfg {
    const char *label;    /* NUL-terminated; NULL: "" */
    const char *protocol; /* NULL: "" */
    bool unordered;
    rtc_sctp_pr_t pr;
    uint32_t pr_value; /* retransmissions (RTX) or milliseconds (TTL) */
    uint16_t priority; /* DCEP priority (RFC 8832 §5.1); 0: 256 ("normal") */
    /* Negotiated out of band (W3C negotiated:true): no DCEP; both sides open @sid. */
    bool negotiated;
    uint16_t sid;
} rtc_sctp_channel_cfg_t;

/* Opens a channel. Allocates the lowest free stream id of our parity (even for the DTLS client,
 * RFC 8832 §6) unless negotiated. Before the association is up the OPEN waits in the queue.
 * Returns the sid (>= 0), or -EINVAL (bad cfg), -EADDRINUSE (negotiated sid taken), -ENOSPC (no
 * free stream id), -ENOMEM. Owning thread. */
WARN_UNUSED int rtc_sctp_channel_open(rtc_sctp_t *s, const rtc_sctp_channel_cfg_t *cfg);
/* Sends one message (binary: PPID 53/57, else UTF-8 text 51/56; an empty message goes as one
 * zero byte with PPID 56/57, RFC 8831 §6.6). The bytes are copied. 0, or -ENOENT (no such
 * channel), -EPIPE (channel closing/closed or association gone), -EMSGSIZE (longer than the
 * remote's a=max-message-size), -ENOMEM. Owning thread. */
WARN_UNUSED int rtc_sctp_send(rtc_sctp_t *s, uint16_t sid, const void *data, size_t len,
                              bool binary);
/* Closes a channel (RFC 8831 §6.7): after its queued messages, resets our outgoing stream; the
 * peer resets its own; CHANNEL_CLOSED follows. 0 or -ENOENT. Owning thread. */
WARN_UNUSED int rtc_sctp_channel_close(rtc_sctp_t *s, uint16_t sid);
/* Bytes sent on @sid that usrsctp has not accepted yet (its send buffer, 1 MiB, was full, or
 * the output queue was nearly full); like W3C bufferedAmount in Chromium. 0 for an unknown
 * sid. */
size_t rtc_sctp_buffered_amount(const rtc_sctp_t *s, uint16_t sid);
/* BUFFERED_LOW fires when the amount falls from above @threshold to at or below it. 0 or
 * -ENOENT. */
WARN_UNUSED int rtc_sctp_set_buffered_low(rtc_sctp_t *s, uint16_t sid, size_t threshold);
/* Largest message rtc_sctp_send() accepts. */
size_t rtc_sctp_max_message_size(const rtc_sctp_t *s);
/* True once CONNECTED was reported and until CLOSED. */
bool rtc_sctp_is_connected(const rtc_sctp_t *s);
/* True once the association ended (lost, refused, shut down): it never comes back. */
bool rtc_sctp_is_closed(const rtc_sctp_t *s);
/* Channels that exist (any state). */
unsigned rtc_sctp_channel_cnt(const rtc_sctp_t *s);

/* Counters. Owning thread (out_drop_cnt is also counted by usrsctp's timer output). */
typedef struct rtc_sctp_stats {
    uint64_t tx_msg_cnt, rx_msg_cnt;
    uint64_t tx_bytes, rx_bytes;
    uint64_t tx_pkt_cnt, rx_pkt_cnt;
    uint64_t out_drop_cnt;    /* packets lost because the output queue was full */
    uint64_t bad_pkt_cnt;     /* input too short to be SCTP */
    uint64_t bad_dcep_cnt;    /* malformed or unexpected DCEP */
    uint64_t rx_oversize_cnt; /* incoming messages over local_max_msg, dropped */
    uint64_t rx_unknown_cnt;  /* messages with an unknown PPID or for no channel */
    uint64_t restart_cnt;     /* SCTP_RESTART while connected (RFC 4960 §5.2.4 case A) */
} rtc_sctp_stats_t;
void rtc_sctp_get_stats(const rtc_sctp_t *s, rtc_sctp_stats_t *st);

#endif
