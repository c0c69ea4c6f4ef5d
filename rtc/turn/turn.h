/* rtc/turn/turn.h: a sans-IO TURN client over UDP (RFC 8656).
 *
 * One rtc_turn_t is one allocation on one server, reached from one local UDP socket. It
 * authenticates with long-term credentials (RFC 8489 §9.2: 401 brings REALM and NONCE, 438
 * brings a fresh NONCE), refreshes the allocation before its lifetime ends, installs
 * permissions (CreatePermission) and channels (ChannelBind) for the peers it is asked to reach,
 * and frames data as Send indications or, once a channel is bound, ChannelData.
 *
 * Like the ICE agent it never touches a socket or a clock: every message it wants sent goes to
 * the server and is appended to a caller-provided array; rtc_turn_deadline() says when to call
 * rtc_turn_tick(). The relayed address it obtains is given to the ICE agent with
 * rtc_ice_add_relay(); ICE datagrams marked `relayed` go out through rtc_turn_send(), and what
 * rtc_turn_input() unwraps goes back to rtc_ice_input() with the relayed address as the local
 * address.
 *
 * Threading: one owner thread (the peer's shard).
 */
#ifndef URTC_RTC_TURN_TURN_H
#define URTC_RTC_TURN_TURN_H

#include "net/net.h"

typedef struct rtc_turn rtc_turn_t;

typedef enum rtc_turn_state {
    RTC_TURN_IDLE = 0,
    RTC_TURN_ALLOCATING,
    RTC_TURN_ALLOCATED,
    RTC_TURN_FAILED,
    RTC_TURN_CLOSED,
} rtc_turn_state_t;

typedef struct rtc_turn_cfg {
    net_addr_t server;
    const char *user, *pass; /* long-term credentials (used as given, no OpaqueString) */
    uint32_t lifetime_s;     /* requested LIFETIME; 0 = server default (600 s) */
    const char *software;    /* SOFTWARE attribute, NULL for none */
} rtc_turn_cfg_t;

/* A message for the server. */
#define RTC_TURN_MSG_MAX 1500
typedef struct rtc_turn_msg {
    uint16_t len;
    uint8_t data[RTC_TURN_MSG_MAX];
} rtc_turn_msg_t;

/* Output array: capacity in, count out; every message goes to cfg.server. Messages that do not
 * fit are dropped and counted (retransmission recovers them). */
typedef struct rtc_turn_out {
    rtc_turn_msg_t *msg;
    size_t cap;
    size_t cnt;
} rtc_turn_out_t;

/* NULL on allocation failure or missing credentials. The strings are copied. */
rtc_turn_t *rtc_turn_create(const rtc_turn_cfg_t *cfg);
/* Accepts NULL. Does not deallocate on the server: call rtc_turn_close() first for that. */
void rtc_turn_destroy(rtc_turn_t *t);

/* Sends the first Allocate. 0 or -EALREADY. */
WARN_UNUSED int rtc_turn_start(rtc_turn_t *t, uint64_t now_ns, rtc_turn_out_t *out);
/* Deallocates (Refresh with LIFETIME 0, RFC 8656 §7), sent once; state CLOSED. */
void rtc_turn_close(rtc_turn_t *t, uint64_t now_ns, rtc_turn_out_t *out);

rtc_turn_state_t rtc_turn_state(const rtc_turn_t *t);
/* The relayed transport address (XOR-RELAYED-ADDRESS) and our server-reflexive address
 * (XOR-MAPPED-ADDRESS). 0 once allocated, else -EAGAIN (-ENOTCONN after failure). */
WARN_UNUSED int rtc_turn_relayed(const rtc_turn_t *t, net_addr_t *relayed, net_addr_t *mapped);
/* The last error code from the server (e.g. 401 when the credentials are wrong), 0 if none. */
uint16_t rtc_turn_error(const rtc_turn_t *t);

/* Asks for a permission (RFC 8656 §9) and a channel (§12) towards @peer, refreshed for as long
 * as the allocation lives. Before the allocation exists the peer is remembered and asked for
 * once it does. Idempotent. 0, -ENOSPC (peer table full), -ENOTCONN (failed or closed). */
WARN_UNUSED int rtc_turn_permit(rtc_turn_t *t, const net_addr_t *peer, uint64_t now_ns,
                                rtc_turn_out_t *out);

/* Frames @len bytes for @peer into @buf (to be sent to the server): ChannelData (RFC 8656
 * §12.4) once the channel is bound, else a Send indication (§11). Calls rtc_turn_permit() for a
 * new peer. Returns the length, -ENOSPC, -ENOTCONN (not allocated). */
WARN_UNUSED int rtc_turn_send(rtc_turn_t *t, const net_addr_t *peer, const uint8_t *data,
                              size_t len, uint8_t *buf, size_t cap, uint64_t now_ns,
                              rtc_turn_out_t *out);

/* The same in place on a packet buffer, without copying the payload: the ChannelData header
 * (4 bytes) or the Send indication header (36 or 48 bytes) goes into @pkt's headroom, the
 * indication's padding into its tailroom. pkt->addr is set to the server. 0, -ENOSPC (not
 * enough head/tailroom), -ENOTCONN. Borrows @pkt. */
WARN_UNUSED int rtc_turn_wrap_pkt(rtc_turn_t *t, const net_addr_t *peer, net_pkt_t *pkt,
                                  uint64_t now_ns, rtc_turn_out_t *out);

/* Feeds a datagram that arrived from the server. Returns 1 with @peer and @payload (a view
 * into @b) for relayed data (Data indication or ChannelData), 0 for a control message that was
 * consumed, -EBADMSG for a malformed one (counted), -ENOENT for a response to no transaction
 * of ours or data from an unknown channel, -EACCES for a bad MESSAGE-INTEGRITY. */
int rtc_turn_input(rtc_turn_t *t, const uint8_t *b, size_t len, uint64_t now_ns,
                   rtc_turn_out_t *out, net_addr_t *peer, net_view_t *payload);

void rtc_turn_tick(rtc_turn_t *t, uint64_t now_ns, rtc_turn_out_t *out);
/* UINT64_MAX when nothing is scheduled. */
uint64_t rtc_turn_deadline(const rtc_turn_t *t);

/* True if @b looks like ChannelData (RFC 7983: first byte 64..79). */
static inline bool rtc_turn_is_channel_data(const uint8_t *b, size_t len)
{
    return len >= 4 && b[0] >= 0x40 && b[0] <= 0x4F;
}

typedef struct rtc_turn_stats {
    uint64_t rx_bad, rx_auth, rx_unmatched, tx_dropped, retransmits, stale_nonce;
    uint64_t refreshes, permissions, channels, data_in, data_out;
} rtc_turn_stats_t;
const rtc_turn_stats_t *rtc_turn_stats(const rtc_turn_t *t);

#endif
