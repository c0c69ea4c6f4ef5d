/* rtc/ice/ice.h: ICE candidates (RFC 8839 grammar, RFC 8445 priorities and foundations) and a
 * sans-IO ICE agent (RFC 8445 full and lite, RFC 8838 trickle, RFC 7675 consent freshness).
 *
 * The agent never touches a socket or a clock. Input: a datagram (bytes, the source address,
 * the local address it arrived on) and the time. Output: datagrams to send (each with the
 * local address to send from and its destination) appended to a caller-provided array, events
 * polled with rtc_ice_poll(), and the next deadline (rtc_ice_deadline()) at which
 * rtc_ice_tick() must be called. One agent serves one data stream with one component
 * (rtcp-mux and BUNDLE are assumed), over UDP; it may talk to many remote 5-tuples from one
 * local socket.
 *
 * Threading: an agent belongs to one thread (its peer's shard). The candidate functions are
 * pure: any thread.
 */
#ifndef URTC_RTC_ICE_ICE_H
#define URTC_RTC_ICE_ICE_H

#include "net/net.h"

/* ---------------------------------------------------------------------------------------------
 * Candidates
 */
enum rtc_ice_cand_type {
    RTC_ICE_HOST = 0,
    RTC_ICE_SRFLX = 1,
    RTC_ICE_PRFLX = 2,
    RTC_ICE_RELAY = 3,
};

enum rtc_ice_transport {
    RTC_ICE_UDP = 0,
    RTC_ICE_TCP = 1,
    RTC_ICE_TRANSPORT_OTHER = 2,
};

enum rtc_ice_tcptype {
    RTC_ICE_TCPTYPE_NONE = 0,
    RTC_ICE_TCPTYPE_ACTIVE,
    RTC_ICE_TCPTYPE_PASSIVE,
    RTC_ICE_TCPTYPE_SO,
};

#define RTC_ICE_FOUNDATION_MAX 32 /* RFC 8839 §5.1: 1*32ice-char */
#define RTC_ICE_HOSTNAME_MAX 255
#define RTC_ICE_EXT_MAX 256

/* One candidate, as carried by an a=candidate line. Plain data. */
typedef struct rtc_ice_cand {
    char foundation[RTC_ICE_FOUNDATION_MAX + 1];
    uint16_t component; /* 1..256 */
    uint8_t transport;  /* enum rtc_ice_transport */
    uint8_t type;       /* enum rtc_ice_cand_type */
    uint8_t tcptype;    /* enum rtc_ice_tcptype (RFC 6544) */
    uint32_t priority;
    net_addr_t addr; /* connection-address and port; unset (len 0) when a hostname */
    char hostname[RTC_ICE_HOSTNAME_MAX + 1]; /* FQDN connection-address (e.g. mDNS .local) */
    uint16_t port;                           /* the port, also for a hostname */
    bool has_raddr;
    net_addr_t raddr;          /* raddr/rport */
    int64_t generation;        /* -1 when absent */
    char ext[RTC_ICE_EXT_MAX]; /* other extensions, "name value" pairs in order, verbatim */
} rtc_ice_cand_t;

/* Parses one candidate: "candidate:..." with or without a leading "a=", trailing CR/LF
 * ignored; @len bytes, not necessarily NUL-terminated. RFC 8839 §5.1 grammar: foundation,
 * component-id, transport, priority, connection-address (IPv4, IPv6 or FQDN), port, "typ"
 * type, optional raddr/rport, then extensions (tcptype and generation are decoded, the rest
 * kept in ext). 0, -EBADMSG, or -EMSGSIZE if extensions do not fit in ext. */
WARN_UNUSED int rtc_ice_cand_parse(const char *s, size_t len, rtc_ice_cand_t *c);

/* Formats "candidate:..." (no "a=", no CRLF) into @buf. Returns the length (without the NUL),
 * or -ENOSPC. */
WARN_UNUSED int rtc_ice_cand_fmt(const rtc_ice_cand_t *c, char *buf, size_t cap);

/* RFC 8445 §5.1.2.1: (2^24)*type-pref + (2^8)*local-pref + (256 - component), with the
 * recommended type preferences (host 126, prflx 110, srflx 100, relay 0). */
uint32_t rtc_ice_priority(unsigned type, uint16_t local_pref, uint16_t component);

/* RFC 8445 §5.1.1.3: the same for candidates of the same type, base IP, server IP (NULL for
 * host) and transport. Writes a short decimal string into @out. */
void rtc_ice_foundation(unsigned type, const net_addr_t *base, const net_addr_t *server,
                        unsigned transport, char out[RTC_ICE_FOUNDATION_MAX + 1]);

/* True for an mDNS name (RFC 8839 §... / draft-ietf-mmusic-mdns-ice-candidates): ".local". */
bool rtc_ice_cand_is_mdns(const rtc_ice_cand_t *c);

/* ---------------------------------------------------------------------------------------------
 * Agent
 */
typedef struct rtc_ice rtc_ice_t;

typedef enum rtc_ice_state {
    RTC_ICE_NEW = 0,
    RTC_ICE_CHECKING,
    RTC_ICE_CONNECTED,
    RTC_ICE_COMPLETED,
    RTC_ICE_FAILED,
    RTC_ICE_DISCONNECTED,
    RTC_ICE_CLOSED,
} rtc_ice_state_t;

const char *rtc_ice_state_name(rtc_ice_state_t s);

#define RTC_ICE_UFRAG_MAX 32 /* we accept 4..32 (RFC 8839 §5.4 allows up to 256) */
#define RTC_ICE_PWD_MAX 64   /* 22..64 */

typedef struct rtc_ice_cfg {
    bool lite;        /* RFC 8445 §2.5: never sends checks; always controlled */
    bool controlling; /* initial role of a full agent (the offerer, in JSEP) */
    bool relay_only;  /* iceTransportPolicy "relay": only relayed local candidates are used */
    /* Local credentials; NULL = random. The engine encodes its shard and slot in the ufrag
     * (ice-chars only: ALPHA / DIGIT / "+" / "/"). */
    const char *ufrag;
    const char *pwd;
    uint64_t tie_breaker; /* 0 = random */
    uint64_t ta_ns;       /* pacing (RFC 8445 §14.2); 0 = 50 ms */
    /* Consent freshness (RFC 7675 §5.1): interval 0 = 5 s (sent at 0.8..1.2x), expiry 0 = 30 s,
     * disconnected after 0 = 10 s without an answer. */
    uint64_t consent_interval_ns, consent_expiry_ns, disconnect_ns;
    uint64_t seed; /* jitter PRNG seed; 0 = random (tests fix it) */
} rtc_ice_cfg_t;

/* Creates an agent. NULL on bad config (credentials too short/long or with bad characters)
 * or allocation failure. */
rtc_ice_t *rtc_ice_create(const rtc_ice_cfg_t *cfg);
/* Accepts NULL. */
void rtc_ice_destroy(rtc_ice_t *ice);

/* The current local ufrag and pwd (NUL-terminated; valid until the next restart). */
const char *rtc_ice_local_ufrag(const rtc_ice_t *ice);
const char *rtc_ice_local_pwd(const rtc_ice_t *ice);
bool rtc_ice_controlling(const rtc_ice_t *ice);
/* Sets the initial role of a full agent (JSEP: the offerer controls) as long as no check was
 * sent or answered (state NEW). 0, -EBUSY (too late: role conflicts take over), -EINVAL
 * (lite agents are always controlled). */
WARN_UNUSED int rtc_ice_set_controlling(rtc_ice_t *ice, bool controlling);
rtc_ice_state_t rtc_ice_state(const rtc_ice_t *ice);

/* Sets the remote ufrag and pwd (from the SDP). Changed values after the first call mean the
 * peer restarted ICE (RFC 8445 §9): remote candidates and pairs are dropped, checks start
 * again, and media keeps flowing on the selected pair until a new one is selected. 0 or
 * -EINVAL. */
WARN_UNUSED int rtc_ice_set_remote_creds(rtc_ice_t *ice, const char *ufrag, const char *pwd,
                                         uint64_t now_ns);

/* Adds a host candidate on local address @addr (a socket the caller owns). Emits a
 * LOCAL_CANDIDATE event (not under relay_only). Returns the candidate index, -ENOSPC,
 * -EINVAL. */
WARN_UNUSED int rtc_ice_add_host(rtc_ice_t *ice, const net_addr_t *addr, uint64_t now_ns);
/* Starts server-reflexive gathering from socket @base through the STUN server @server
 * (RFC 8445 §5.1.1.2). The srflx candidate is emitted when the answer arrives (through
 * rtc_ice_input). 0, -ENOSPC. */
WARN_UNUSED int rtc_ice_add_stun_server(rtc_ice_t *ice, const net_addr_t *base,
                                        const net_addr_t *server, uint64_t now_ns);
/* Adds a relayed candidate @relayed obtained by a TURN client (rtc/turn) of server @server,
 * bound to socket @base (given as raddr). Its base is itself (RFC 8445 §5.1.1.2): datagrams of
 * its pairs come out with `local` = @relayed and `relayed` set, and the caller sends them with
 * rtc_turn_send(); data the TURN client unwraps goes to rtc_ice_input() with @relayed as the
 * local address. Returns the index, -ENOSPC. */
WARN_UNUSED int rtc_ice_add_relay(rtc_ice_t *ice, const net_addr_t *base, const net_addr_t *relayed,
                                  const net_addr_t *server, uint64_t now_ns);
/* No more local sources will be added: once pending gathering ends, END_OF_CANDIDATES is
 * emitted (trickle, RFC 8838 §9). */
void rtc_ice_gather_done(rtc_ice_t *ice, uint64_t now_ns);

/* Adds a remote candidate (trickled or from the SDP). mDNS .local candidates are counted
 * (stats.mdns_ignored) and ignored, as are other hostnames, TCP candidates and components
 * other than 1: returns 0 for those too. -ENOSPC when the table is full. */
WARN_UNUSED int rtc_ice_add_remote(rtc_ice_t *ice, const rtc_ice_cand_t *c, uint64_t now_ns);
/* The peer signalled end-of-candidates (RFC 8838 §13): the agent may now fail. */
void rtc_ice_remote_done(rtc_ice_t *ice, uint64_t now_ns);

/* Restarts ICE (RFC 8445 §9): new local credentials (@ufrag/@pwd, or NULL for random), the
 * check list starts over once the new remote credentials arrive; the selected pair keeps
 * carrying media until a new pair is selected. Checks signed with the previous credentials are
 * still answered. 0 or -EINVAL. */
WARN_UNUSED int rtc_ice_restart(rtc_ice_t *ice, const char *ufrag, const char *pwd,
                                uint64_t now_ns);

/* Closes the agent: state CLOSED, nothing more is sent. */
void rtc_ice_close(rtc_ice_t *ice, uint64_t now_ns);

/* One datagram to send. */
#define RTC_ICE_DGRAM_MAX 600 /* STUN < 576 (RFC 8489 §6.1) plus room for a TURN header */
typedef struct rtc_ice_dgram {
    net_addr_t local; /* the socket (candidate base) to send from; a relayed address if relayed */
    net_addr_t dst;   /* the destination (for a relayed pair: the peer, as seen by the relay) */
    bool relayed;     /* send through the TURN client whose relayed address is @local */
    uint16_t len;
    uint8_t data[RTC_ICE_DGRAM_MAX];
} rtc_ice_dgram_t;

/* Output array: capacity in, count out. Datagrams that do not fit are dropped and counted
 * (stats.out_dropped); STUN retransmissions recover them. */
typedef struct rtc_ice_out {
    rtc_ice_dgram_t *dg;
    size_t cap;
    size_t cnt;
} rtc_ice_out_t;

/* Feeds a STUN datagram that arrived on local socket @local from @src. Answers and checks go to
 * @out. 0 if handled; -EBADMSG (malformed: counted in stats.rx_bad), -EACCES (failed
 * authentication: stats.rx_auth), -ENOENT (a response to no transaction of ours, or a request
 * for another ufrag), -EADDRNOTAVAIL (@local is no candidate base of this agent). Never
 * crashes on any input. */
int rtc_ice_input(rtc_ice_t *ice, const uint8_t *b, size_t len, const net_addr_t *src,
                  const net_addr_t *local, uint64_t now_ns, rtc_ice_out_t *out);

/* Runs the timers due at @now_ns: paced checks, retransmissions, nomination, consent. */
void rtc_ice_tick(rtc_ice_t *ice, uint64_t now_ns, rtc_ice_out_t *out);

/* The time rtc_ice_tick() next has work; UINT64_MAX if none. Changes after every call. */
uint64_t rtc_ice_deadline(const rtc_ice_t *ice);

/* The pair media goes out on: the selected (nominated) pair, or before nomination the best
 * valid pair. 0 and the addresses, or -ENOTCONN (none yet, or consent expired: sending must
 * stop, RFC 7675 §5.1). @relayed (may be NULL) says whether the local side is a relay. */
WARN_UNUSED int rtc_ice_selected(const rtc_ice_t *ice, net_addr_t *local, net_addr_t *remote,
                                 bool *relayed);

/* The round trip of the media pair, from its last connectivity check answered on the first
 * transmission; when every check on it was retransmitted (Karn: their answers are ambiguous),
 * the time from the latest transmission to the answer, which is short when the path is slower
 * than the check RTO. 0 = unknown (the pair was selected by the peer's check alone). */
uint64_t rtc_ice_rtt_ns(const rtc_ice_t *ice);

/* Events */
typedef enum rtc_ice_event_type {
    RTC_ICE_EV_STATE = 1,         /* .state */
    RTC_ICE_EV_SELECTED,          /* .local/.remote: the media pair changed */
    RTC_ICE_EV_LOCAL_CANDIDATE,   /* .cand: trickle it */
    RTC_ICE_EV_END_OF_CANDIDATES, /* gathering finished */
    RTC_ICE_EV_ROLE,              /* .controlling: the role changed (487 / conflict) */
} rtc_ice_event_type_t;

typedef struct rtc_ice_event {
    rtc_ice_event_type_t type;
    rtc_ice_state_t state;
    bool controlling;
    net_addr_t local, remote;
    rtc_ice_cand_t cand;
} rtc_ice_event_t;

/* Pops the oldest event; false if none. The queue holds 32; older events are dropped (and
 * counted) if the caller does not poll. */
bool rtc_ice_poll(rtc_ice_t *ice, rtc_ice_event_t *ev);

typedef struct rtc_ice_stats {
    uint64_t rx_bad, rx_auth, rx_unmatched, rx_requests, rx_responses;
    uint64_t checks_sent, retransmits, responses_sent, errors_sent;
    uint64_t role_conflicts, mdns_ignored, remote_ignored, out_dropped, events_dropped;
    uint64_t consent_sent, consent_ok;
} rtc_ice_stats_t;

const rtc_ice_stats_t *rtc_ice_stats(const rtc_ice_t *ice);

#endif
