/* engine/dc.c: data channels for the public API, on rtc/sctp (usrsctp + DCEP).
 *
 * Threading (docs/sctp.md): usrsctp is process-global. One shard 0 in the process (the
 * first engine's) runs its timers (rtc_sctp_timers_run) in every tick that has associations. A
 * timer that queues output for an association on another shard calls dc_wake(): that only sets two
 * flags and writes the owning shard's eventfd; the owner then polls the association in its own
 * tick. So an association's packets and events are handled on its peer's shard only.
 *
 * Channel ids: the API hands out an index into the connection's channel table at creation,
 * before the association (and so the stream id, even or odd by DTLS role) exists.
 */
#include "engine/engine_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "rtc/sctp/sctp.h"

#define DC_MAX 1024 /* channels per connection */

typedef struct dc_chan {
    uint64_t tx_msgs, rx_msgs, tx_bytes, rx_bytes;
    bool used;
    bool open;
    bool pending; /* created before the association was up: open it then */
    int sid;      /* -1 until it has a stream */
    char label[128], protocol[64];
    rtc_sctp_channel_cfg_t cfg;
} dc_chan_t;

struct eng_dc {
    urtc_pc_t *pc;
    rtc_sctp_t *sctp;
    net_list_t node; /* in the shard's dc list */
    int wake;        /* set by dc_wake() from any thread */
    bool started;
    unsigned chan_cnt; /* table slots in use or ever used */
    dc_chan_t chans[DC_MAX];
    int16_t by_sid[RTC_SCTP_DEFAULT_STREAMS]; /* stream id -> channel id, -1 */
};

static eng_dc_t *dc_get(urtc_pc_t *pc)
{
    if (pc->dc)
        return pc->dc;
    eng_dc_t *dc = calloc(1, sizeof *dc);
    if (!dc)
        return NULL;
    dc->pc = pc;
    for (unsigned i = 0; i < RTC_SCTP_DEFAULT_STREAMS; i++)
        dc->by_sid[i] = -1;
    net_list_init(&dc->node);
    net_list_add_tail(&pc->sh->dc_list, &dc->node);
    pc->dc = dc;
    return dc;
}

static int chan_new(eng_dc_t *dc)
{
    for (unsigned i = 0; i < dc->chan_cnt; i++)
        if (!dc->chans[i].used)
            return (int)i;
    if (dc->chan_cnt == DC_MAX)
        return -ENOSPC;
    return (int)dc->chan_cnt++;
}

static dc_chan_t *chan_by_sid(eng_dc_t *dc, int sid, int *id)
{
    if (sid < 0 || sid >= (int)RTC_SCTP_DEFAULT_STREAMS || dc->by_sid[sid] < 0)
        return NULL;
    *id = dc->by_sid[sid];
    return &dc->chans[*id];
}

/* SCTP packets out, through DTLS. */
static void dc_flush(eng_dc_t *dc)
{
    net_view_t v;
    while (dc->sctp && rtc_sctp_out_peek(dc->sctp, &v)) {
        if (eng_peer_send_dtls_data(dc->pc->peer, v.p, v.len) < 0)
            LOG_DEBUG("dc: SCTP packet not sent (DTLS not connected)");
        rtc_sctp_out_pop(dc->sctp);
    }
}

static void dc_event(void *user, rtc_sctp_t *s, const rtc_sctp_event_t *ev)
{
    (void)s;
    eng_dc_t *dc = user;
    urtc_pc_t *pc = dc->pc;
    const urtc_pc_callbacks_t *cbs = &pc->cbs;
    int id = -1;
    dc_chan_t *ch;
    switch (ev->type) {
    case RTC_SCTP_EV_CONNECTED:
        /* Channels created early open now; their ids were handed out already. */
        for (unsigned i = 0; i < dc->chan_cnt; i++) {
            ch = &dc->chans[i];
            if (!ch->used || !ch->pending)
                continue;
            ch->pending = false;
            int sid = rtc_sctp_channel_open(dc->sctp, &ch->cfg);
            if (sid < 0 || sid >= (int)RTC_SCTP_DEFAULT_STREAMS) {
                LOG_WARN("dc: channel '%s' cannot open: %s", ch->label, strerror(-sid));
                ch->used = false;
                continue;
            }
            ch->sid = sid;
            dc->by_sid[sid] = (int16_t)i;
        }
        break;
    case RTC_SCTP_EV_CHANNEL_OPEN:
        if ((ch = chan_by_sid(dc, ev->sid, &id))) {
            ch->open = true;
            if (cbs->on_dc_open)
                cbs->on_dc_open(pc, id, pc->user);
            break;
        }
        /* Opened by the peer (DCEP): a new channel, open already (W3C ondatachannel). */
        if (!ev->remote || (id = chan_new(dc)) < 0 || ev->sid >= (int)RTC_SCTP_DEFAULT_STREAMS)
            break;
        ch = &dc->chans[id];
        memset(ch, 0, sizeof *ch);
        ch->used = ch->open = true;
        ch->sid = ev->sid;
        snprintf(ch->label, sizeof ch->label, "%.*s", (int)ev->label.len,
                 (const char *)ev->label.p);
        snprintf(ch->protocol, sizeof ch->protocol, "%.*s", (int)ev->protocol.len,
                 (const char *)ev->protocol.p);
        dc->by_sid[ev->sid] = (int16_t)id;
        if (cbs->on_datachannel)
            cbs->on_datachannel(pc, id, ch->label, ch->protocol, pc->user);
        break;
    case RTC_SCTP_EV_MESSAGE:
        if (!(ch = chan_by_sid(dc, ev->sid, &id)))
            break;
        ch->rx_msgs++;
        ch->rx_bytes += ev->data.len;
        if (cbs->on_dc_message)
            cbs->on_dc_message(pc, id, ev->data.p, ev->data.len, ev->binary, pc->user);
        break;
    case RTC_SCTP_EV_BUFFERED_LOW:
        if (chan_by_sid(dc, ev->sid, &id) && cbs->on_dc_buffered_low)
            cbs->on_dc_buffered_low(pc, id, pc->user);
        break;
    case RTC_SCTP_EV_CHANNEL_CLOSED:
        if ((ch = chan_by_sid(dc, ev->sid, &id))) {
            ch->used = ch->open = false;
            dc->by_sid[ev->sid] = -1;
            if (cbs->on_dc_close)
                cbs->on_dc_close(pc, id, pc->user);
        }
        break;
    case RTC_SCTP_EV_CLOSED:
        for (unsigned i = 0; i < dc->chan_cnt; i++) {
            ch = &dc->chans[i];
            if (ch->used && ch->open && cbs->on_dc_close)
                cbs->on_dc_close(pc, (int)i, pc->user);
            ch->used = ch->open = false;
        }
        break;
    }
}

/* usrsctp queued output from a timer, on any thread: flag it and wake the owner. */
static void dc_wake(void *user)
{
    eng_dc_t *dc = user;
    eng_shard_t *sh = dc->pc->sh;
    __atomic_store_n(&dc->wake, 1, __ATOMIC_RELEASE);
    __atomic_store_n(&sh->dc_wake, 1, __ATOMIC_RELEASE);
    uint64_t one = 1;
    ssize_t w = write(net_queue_fd(sh->cmdq), &one, sizeof one);
    (void)w; /* EAGAIN: the counter is set, the shard wakes anyway */
}

static bool has_app_section(const rtc_pc_t *j)
{
    for (unsigned i = 0; i < j->mline_cnt; i++)
        if (j->mlines[i].owner == RTC_PC_OWNER_DC && !j->mlines[i].rejected)
            return true;
    return false;
}

bool eng_dc_may_open(const urtc_pc_t *pc)
{
    return !pc->jsep.negotiated || has_app_section(&pc->jsep);
}

/* The negotiation put an application section in place: start the association (both sides
 * send INIT; usrsctp resolves the simultaneous open, RFC 4960 §5.2.4). */
void eng_dc_dtls_connected(urtc_pc_t *pc)
{
    const rtc_pc_t *j = &pc->jsep;
    if (!has_app_section(j))
        return;
    eng_dc_t *dc = dc_get(pc);
    if (!dc || dc->started)
        return;
    /* RFC 4960 §6.3.1 C2: the first measurement R gives RTO = R + 4 * R/2 = 3R. ICE has
     * measured R on this path already, so the first INIT waits 3R, not the unknown-path 1 s
     * (within the 400 ms minimum and 3 s maximum rtc_sctp sets). */
    uint64_t rtt_ns = pc->peer ? rtc_ice_rtt_ns(eng_peer_ice(pc->peer)) : 0;
    rtc_sctp_cfg_t cfg = {
        .dtls_client = j->dtls_client,
        .rto_initial_ms =
            rtt_ns ? (uint32_t)NET_MIN(NET_MAX(3 * rtt_ns / NET_NS_PER_MS, 1u), 1000u) : 0,
        .remote_port = j->remote_sctp_port,
        /* RFC 8841 §6.1: an absent a=max-message-size means 64 KiB; 0 means no limit. */
        .remote_max_msg = j->remote_max_message_size == 0 ? 0
                          : j->remote_max_message_size > UINT32_MAX - 1
                              ? RTC_SCTP_MAX_MSG_UNLIMITED
                              : (uint32_t)j->remote_max_message_size,
        .on_event = dc_event,
        .wake = dc_wake,
        .user = dc,
    };
    dc->sctp = rtc_sctp_create(&cfg);
    if (!dc->sctp) {
        LOG_WARN("dc: cannot create the SCTP association");
        return;
    }
    dc->started = true;
    if (rtc_sctp_start(dc->sctp, pc->sh->now_ns) < 0)
        LOG_WARN("dc: SCTP start failed");
    dc_flush(dc);
}

bool eng_dc_input(urtc_pc_t *pc, const uint8_t *data, size_t len)
{
    eng_dc_t *dc = pc->dc;
    if (!dc || !dc->sctp)
        return false;
    if (pc->sh->now_ns < pc->test_sctp_drop_until_ns)
        return true;
    if (rtc_sctp_input(dc->sctp, data, len, pc->sh->now_ns) < 0)
        LOG_DEBUG("dc: packet too short to be SCTP");
    dc_flush(dc);
    return true;
}

void eng_dc_free(urtc_pc_t *pc)
{
    eng_dc_t *dc = pc->dc;
    if (!dc)
        return;
    net_list_del(&dc->node);
    rtc_sctp_destroy(dc->sctp);
    free(dc);
    pc->dc = NULL;
}

/* The one shard that drives usrsctp's process-global timers: shard 0 of the first engine that
 * runs one (tests and programs may run several engines). */
static eng_shard_t *sctp_driver;

void eng_dc_shard_stop(eng_shard_t *sh)
{
    eng_shard_t *me = sh;
    __atomic_compare_exchange_n(&sctp_driver, &me, NULL, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

uint64_t eng_dc_shard_tick(eng_shard_t *sh, uint64_t now_ns)
{
    uint64_t wait = UINT64_MAX;
    eng_shard_t *none = NULL;
    if (sh->idx == 0 && __atomic_load_n(&sctp_driver, __ATOMIC_ACQUIRE) == NULL)
        __atomic_compare_exchange_n(&sctp_driver, &none, sh, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE);
    if (__atomic_load_n(&sctp_driver, __ATOMIC_ACQUIRE) == sh && rtc_sctp_assoc_cnt() > 0) {
        uint64_t next = rtc_sctp_timers_run(now_ns);
        wait = next > now_ns ? next - now_ns : 0;
    }
    if (__atomic_exchange_n(&sh->dc_wake, 0, __ATOMIC_ACQ_REL)) {
        net_list_t *n, *tmp;
        net_list_for_each_safe (n, tmp, &sh->dc_list) {
            eng_dc_t *dc = container_of(n, eng_dc_t, node);
            if (!__atomic_exchange_n(&dc->wake, 0, __ATOMIC_ACQ_REL) || !dc->sctp)
                continue;
            rtc_sctp_poll(dc->sctp, now_ns);
            dc_flush(dc);
        }
    }
    return wait;
}

/* ---- API ---------------------------------------------------------------------------------- */

int urtc_pc_create_data_channel(urtc_pc_t *pc, const char *label, const urtc_dc_init_t *init)
{
    eng_dc_t *dc = dc_get(pc);
    if (!dc)
        return -ENOMEM;
    int id = chan_new(dc);
    if (id < 0)
        return id;
    dc_chan_t *ch = &dc->chans[id];
    memset(ch, 0, sizeof *ch);
    ch->used = true;
    ch->sid = -1;
    snprintf(ch->label, sizeof ch->label, "%s", label ? label : "");
    snprintf(ch->protocol, sizeof ch->protocol, "%s", init && init->protocol ? init->protocol : "");
    ch->cfg = (rtc_sctp_channel_cfg_t){.label = ch->label, .protocol = ch->protocol};
    if (init) {
        ch->cfg.unordered = init->unordered;
        if (init->max_retransmits >= 0) {
            ch->cfg.pr = RTC_SCTP_PR_RTX;
            ch->cfg.pr_value = (uint32_t)init->max_retransmits;
        } else if (init->max_packet_lifetime_ms >= 0) {
            ch->cfg.pr = RTC_SCTP_PR_TTL;
            ch->cfg.pr_value = (uint32_t)init->max_packet_lifetime_ms;
        }
        ch->cfg.negotiated = init->negotiated;
        ch->cfg.sid = (uint16_t)init->id;
    }
    rtc_pc_add_data_channel(&pc->jsep);
    if (!dc->started)
        eng_pc_negotiation_needed(pc); /* the first channel needs an m=application section */
    if (!dc->sctp || !rtc_sctp_is_connected(dc->sctp)) {
        ch->pending = true;
        return id;
    }
    int sid = rtc_sctp_channel_open(dc->sctp, &ch->cfg);
    if (sid < 0 || sid >= (int)RTC_SCTP_DEFAULT_STREAMS) {
        ch->used = false;
        return sid < 0 ? sid : -ENOSPC;
    }
    ch->sid = sid;
    dc->by_sid[sid] = (int16_t)id;
    dc_flush(dc);
    return id;
}

static dc_chan_t *chan(urtc_pc_t *pc, int id)
{
    eng_dc_t *dc = pc->dc;
    if (!dc || id < 0 || (unsigned)id >= dc->chan_cnt || !dc->chans[id].used)
        return NULL;
    return &dc->chans[id];
}

int urtc_dc_send(urtc_pc_t *pc, int id, const void *data, size_t len, bool binary)
{
    dc_chan_t *ch = chan(pc, id);
    if (!ch || !ch->open || ch->sid < 0)
        return -ENOTCONN;
    int ret = rtc_sctp_send(pc->dc->sctp, (uint16_t)ch->sid, data, len, binary);
    dc_flush(pc->dc);
    if (ret < 0)
        return ret;
    ch->tx_msgs++;
    ch->tx_bytes += len;
    return 0;
}

int urtc_dc_close(urtc_pc_t *pc, int id)
{
    dc_chan_t *ch = chan(pc, id);
    if (!ch)
        return -ENOENT;
    if (ch->sid < 0) { /* never opened */
        ch->used = false;
        return 0;
    }
    int ret = rtc_sctp_channel_close(pc->dc->sctp, (uint16_t)ch->sid);
    dc_flush(pc->dc);
    return ret;
}

size_t urtc_dc_buffered_amount(urtc_pc_t *pc, int id)
{
    dc_chan_t *ch = chan(pc, id);
    return ch && ch->sid >= 0 ? rtc_sctp_buffered_amount(pc->dc->sctp, (uint16_t)ch->sid) : 0;
}

int urtc_dc_set_buffered_low(urtc_pc_t *pc, int id, size_t threshold)
{
    dc_chan_t *ch = chan(pc, id);
    if (!ch || ch->sid < 0)
        return -ENOTCONN;
    return rtc_sctp_set_buffered_low(pc->dc->sctp, (uint16_t)ch->sid, threshold);
}

const char *urtc_dc_label(urtc_pc_t *pc, int id)
{
    dc_chan_t *ch = chan(pc, id);
    return ch ? ch->label : "";
}

/* @s as the inside of a JSON string: quotes, backslashes and control characters escaped. */
static const char *json_str(const char *s, char *buf, size_t cap)
{
    size_t n = 0;
    for (; *s && n + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            n += (size_t)snprintf(buf + n, cap - n, "\\%c", c);
        else if (c < 0x20)
            n += (size_t)snprintf(buf + n, cap - n, "\\u%04x", c);
        else
            buf[n++] = (char)c;
    }
    buf[n] = '\0';
    return buf;
}

size_t eng_dc_stats_json(urtc_pc_t *pc, char *out, size_t cap)
{
    eng_dc_t *dc = pc->dc;
    size_t n = 0;
    for (unsigned i = 0; dc && i < dc->chan_cnt; i++) {
        const dc_chan_t *ch = &dc->chans[i];
        if (!ch->used)
            continue;
        char lab[sizeof ch->label * 6], pro[sizeof ch->protocol * 6];
        int m = snprintf(out + NET_MIN(n, cap), n < cap ? cap - n : 0,
                         ", {\"type\": \"data-channel\", \"id\": \"D%u\", \"label\": \"%s\", "
                         "\"protocol\": \"%s\", \"dataChannelIdentifier\": %d, \"state\": \"%s\", "
                         "\"messagesSent\": %llu, \"bytesSent\": %llu, \"messagesReceived\": %llu, "
                         "\"bytesReceived\": %llu}",
                         i, json_str(ch->label, lab, sizeof lab),
                         json_str(ch->protocol, pro, sizeof pro), ch->sid,
                         ch->open ? "open" : "connecting", (unsigned long long)ch->tx_msgs,
                         (unsigned long long)ch->tx_bytes, (unsigned long long)ch->rx_msgs,
                         (unsigned long long)ch->rx_bytes);
        if (m > 0)
            n += (size_t)m;
    }
    if (dc && dc->sctp) {
        /* W3C's sctp-transport type, with our association's counters (not W3C's fields). */
        rtc_sctp_stats_t st;
        rtc_sctp_get_stats(dc->sctp, &st);
        int m =
            snprintf(out + NET_MIN(n, cap), n < cap ? cap - n : 0,
                     ", {\"type\": \"sctp-transport\", \"id\": \"S0\", \"state\": \"%s\", "
                     "\"packetsSent\": %llu, \"packetsReceived\": %llu, "
                     "\"messagesSent\": %llu, \"messagesReceived\": %llu, "
                     "\"messagesUnrouted\": %llu, \"messagesOversize\": %llu, "
                     "\"dcepErrors\": %llu, \"packetsDropped\": %llu, \"restarts\": %llu}",
                     rtc_sctp_is_closed(dc->sctp)      ? "closed"
                     : rtc_sctp_is_connected(dc->sctp) ? "connected"
                                                       : "connecting",
                     (unsigned long long)st.tx_pkt_cnt, (unsigned long long)st.rx_pkt_cnt,
                     (unsigned long long)st.tx_msg_cnt, (unsigned long long)st.rx_msg_cnt,
                     (unsigned long long)st.rx_unknown_cnt, (unsigned long long)st.rx_oversize_cnt,
                     (unsigned long long)st.bad_dcep_cnt,
                     (unsigned long long)(st.out_drop_cnt + st.bad_pkt_cnt),
                     (unsigned long long)st.restart_cnt);
        if (m > 0)
            n += (size_t)m;
    }
    return n;
}
