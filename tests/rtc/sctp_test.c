/* tests/rtc/sctp_test.c: DCEP parsing, and two urtc associations talking through an in-memory
 * pipe (no DTLS) with fake time: setup in both roles, every channel type both ways, message
 * sizes, open/close churn, 10% loss, 1,000 channels, the timer driver and bad input.
 *
 * usrsctp is process-global; Criterion runs each test in its own process, so tests do not
 * share usrsctp state. */
#include "rtc/sctp/sctp.h"

#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rtc/dtls/dtls.h"
#include "tests/support/tst.h"

/* ---------------------------------------------------------------------------------------------
 * DCEP parser
 */

/* RFC 8832 §5.1 OPEN: reliable ordered, priority 256, label "chat", protocol "xmpp". */
static const uint8_t open_chat[] = {0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04,
                                    0x00, 0x04, 'c',  'h',  'a',  't',  'x',  'm',  'p',  'p'};

Test(rtc_sctp, dcep_parses_open)
{
    rtc_dcep_t m;
    cr_assert_eq(rtc_dcep_parse(tst_guard_copy(open_chat, sizeof open_chat), sizeof open_chat, &m),
                 (int)sizeof open_chat);
    cr_assert_eq(m.type, RTC_DCEP_OPEN);
    cr_assert_eq(m.channel_type, RTC_DCEP_RELIABLE);
    cr_assert_eq(m.priority, 256);
    cr_assert(net_view_eq_str(m.label, "chat"));
    cr_assert(net_view_eq_str(m.protocol, "xmpp"));
}

Test(rtc_sctp, dcep_rejects_truncated_open)
{
    rtc_dcep_t m;
    for (size_t len = 0; len < sizeof open_chat; len++)
        cr_assert_eq(rtc_dcep_parse(tst_guard_copy(open_chat, len), len, &m), -EBADMSG, "len %zu",
                     len);
}

Test(rtc_sctp, dcep_rejects_bad_type_and_channel_type)
{
    rtc_dcep_t m;
    uint8_t b[sizeof open_chat];
    memcpy(b, open_chat, sizeof b);
    b[0] = 0x04;
    cr_assert_eq(rtc_dcep_parse(b, sizeof b, &m), -EBADMSG);
    memcpy(b, open_chat, sizeof b);
    b[1] = 0x03; /* not a registered channel type */
    cr_assert_eq(rtc_dcep_parse(b, sizeof b, &m), -EBADMSG);
    b[1] = 0x83;
    cr_assert_eq(rtc_dcep_parse(b, sizeof b, &m), -EBADMSG);
    /* label length pointing past the end */
    memcpy(b, open_chat, sizeof b);
    b[9] = 0x09;
    cr_assert_eq(rtc_dcep_parse(b, sizeof b, &m), -EBADMSG);
    b[8] = 0xff;
    cr_assert_eq(rtc_dcep_parse(b, sizeof b, &m), -EBADMSG);
}

Test(rtc_sctp, dcep_ack_and_round_trip)
{
    rtc_dcep_t m;
    const uint8_t ack = RTC_DCEP_ACK;
    cr_assert_eq(rtc_dcep_parse(tst_guard_copy(&ack, 1), 1, &m), 1);
    cr_assert_eq(m.type, RTC_DCEP_ACK);

    static const struct {
        bool unordered;
        rtc_sctp_pr_t pr;
        uint8_t type;
    } types[] = {{false, RTC_SCTP_PR_NONE, 0x00}, {true, RTC_SCTP_PR_NONE, 0x80},
                 {false, RTC_SCTP_PR_RTX, 0x01},  {true, RTC_SCTP_PR_RTX, 0x81},
                 {false, RTC_SCTP_PR_TTL, 0x02},  {true, RTC_SCTP_PR_TTL, 0x82}};
    for (size_t i = 0; i < NET_ARRAY_LEN(types); i++) {
        uint8_t t = rtc_dcep_channel_type(types[i].unordered, types[i].pr);
        cr_assert_eq(t, types[i].type);
        uint8_t buf[64];
        int n =
            rtc_dcep_write_open(buf, sizeof buf, t, 512, 7, (net_view_t){(const uint8_t *)"lbl", 3},
                                (net_view_t){(const uint8_t *)"", 0});
        cr_assert_eq(n, 15);
        cr_assert_eq(rtc_dcep_parse(tst_guard_copy(buf, (size_t)n), (size_t)n, &m), n);
        cr_assert_eq(m.channel_type, t);
        cr_assert_eq(m.priority, 512);
        cr_assert_eq(m.reliability, types[i].pr == RTC_SCTP_PR_NONE ? 0u : 7u);
        cr_assert(net_view_eq_str(m.label, "lbl"));
        cr_assert_eq(m.protocol.len, 0);
        bool u;
        rtc_sctp_pr_t pr;
        rtc_dcep_channel_type_split(t, &u, &pr);
        cr_assert_eq(u, types[i].unordered);
        cr_assert_eq(pr, types[i].pr);
    }
    uint8_t small[10];
    cr_assert_eq(
        rtc_dcep_write_open(small, sizeof small, 0, 0, 0, (net_view_t){0}, (net_view_t){0}),
        -ENOSPC);
}

/* ---------------------------------------------------------------------------------------------
 * Two associations over an in-memory pipe.
 */
#define MAX_SID 2048
#define HDR_LEN 8 /* seq (4) | sid (2) | binary (1) | pad (1) */

typedef struct rxch {
    bool open, remote, closed;
    int close_err;
    char label[64], protocol[64];
    bool unordered;
    rtc_sctp_pr_t pr;
    uint32_t cnt, next_seq, bad_order, bad_content, dup;
    uint32_t backwards; /* ordered: a seq lower than one already delivered */
    uint8_t *seen;      /* [seen_cap] */
    uint32_t seen_cap;
    uint32_t low_cnt;
    uint32_t empty_str, empty_bin;
    size_t last_len;
    uint8_t *last; /* copy of the last message when keep_last */
} rxch_t;

typedef struct tpeer {
    rtc_sctp_t *s;
    bool connected, closed;
    uint32_t open_cnt, closed_cnt, wake_cnt;
    bool keep_last;
    rxch_t ch[MAX_SID];
    uint64_t tx_pkts;
    const uint8_t *out_lo, *out_hi; /* lowest and highest address of a packet it queued */
    /* As the engine does: open negotiated sid 0 when CONNECTED comes (and send seq 1, one
     * small packet, on it). */
    bool open_on_connect, send_on_connect;
} tpeer_t;

typedef struct tnet {
    tpeer_t a, b;
    uint64_t now;
    uint32_t loss_pct;
    uint64_t rng;
    uint64_t dropped, moved;
    size_t max_pkt;
    /* Drop the next drop_left[0] packets from A (1: from B) whose first chunk has type
     * drop_chunk[] (RFC 4960 §3.2). */
    uint8_t drop_chunk[2];
    unsigned drop_left[2];
} tnet_t;

static uint32_t rng_next(tnet_t *n)
{
    n->rng ^= n->rng << 13;
    n->rng ^= n->rng >> 7;
    n->rng ^= n->rng << 17;
    return (uint32_t)n->rng;
}

static uint8_t pat(uint32_t seq, uint16_t sid, size_t i)
{
    return (uint8_t)(seq * 31u + sid * 7u + i);
}

static void check_msg(rxch_t *c, uint16_t sid, const rtc_sctp_event_t *ev)
{
    const uint8_t *p = ev->data.p;
    size_t len = ev->data.len;
    if (len == 0) {
        if (ev->binary)
            c->empty_bin++;
        else
            c->empty_str++;
        return;
    }
    if (len < HDR_LEN) {
        c->bad_content++;
        return;
    }
    uint32_t seq = net_rd32be(p);
    if (net_rd16be(p + 4) != sid || p[6] != ev->binary)
        c->bad_content++;
    for (size_t i = HDR_LEN; i < len; i++)
        if (p[i] != pat(seq, sid, i)) {
            c->bad_content++;
            break;
        }
    if (!c->unordered) {
        if (seq != c->next_seq)
            c->bad_order++;
        if (seq < c->next_seq)
            c->backwards++;
        c->next_seq = seq + 1;
    }
    if (seq >= c->seen_cap) {
        uint32_t ncap = NET_MAX(seq + 1, c->seen_cap * 2);
        c->seen = realloc(c->seen, ncap);
        memset(c->seen + c->seen_cap, 0, ncap - c->seen_cap);
        c->seen_cap = ncap;
    }
    if (c->seen[seq])
        c->dup++;
    c->seen[seq] = 1;
}

static int send_seq(struct tpeer *p, uint16_t sid, uint32_t seq, bool binary);

static void on_event(void *user, rtc_sctp_t *s, const rtc_sctp_event_t *ev)
{
    tpeer_t *p = user;
    cr_assert_eq(s, p->s);
    rxch_t *c = ev->sid < MAX_SID ? &p->ch[ev->sid] : NULL;
    switch (ev->type) {
    case RTC_SCTP_EV_CONNECTED:
        p->connected = true;
        if (p->open_on_connect) {
            rtc_sctp_channel_cfg_t cc = {.label = "chat", .negotiated = true, .sid = 0};
            cr_assert_eq(rtc_sctp_channel_open(s, &cc), 0);
        }
        if (p->send_on_connect)
            cr_assert_eq(send_seq(p, 0, 1, false), 0);
        break;
    case RTC_SCTP_EV_CLOSED:
        p->closed = true;
        break;
    case RTC_SCTP_EV_CHANNEL_OPEN:
        cr_assert(!c->open, "sid %u opened twice", ev->sid);
        free(c->seen);
        free(c->last);
        memset(c, 0, sizeof *c);
        c->open = true;
        c->remote = ev->remote;
        c->unordered = ev->unordered;
        c->pr = ev->pr;
        snprintf(c->label, sizeof c->label, "%.*s", (int)ev->label.len, ev->label.p);
        snprintf(c->protocol, sizeof c->protocol, "%.*s", (int)ev->protocol.len, ev->protocol.p);
        p->open_cnt++;
        break;
    case RTC_SCTP_EV_CHANNEL_CLOSED:
        c->open = false;
        c->closed = true;
        c->close_err = ev->error;
        p->closed_cnt++;
        break;
    case RTC_SCTP_EV_MESSAGE:
        cr_assert(c->open, "message on sid %u which is not open", ev->sid);
        c->cnt++;
        c->last_len = ev->data.len;
        if (p->keep_last) {
            free(c->last);
            c->last = malloc(ev->data.len + 1);
            memcpy(c->last, ev->data.p, ev->data.len);
        }
        check_msg(c, ev->sid, ev);
        break;
    case RTC_SCTP_EV_BUFFERED_LOW:
        c->low_cnt++;
        break;
    }
}

static void on_wake(void *user)
{
    ((tpeer_t *)user)->wake_cnt++;
}

static rtc_sctp_t *mk(tpeer_t *p, bool client, const rtc_sctp_cfg_t *over)
{
    rtc_sctp_cfg_t cfg = over ? *over : (rtc_sctp_cfg_t){0};
    cfg.dtls_client = client;
    cfg.on_event = on_event;
    cfg.wake = on_wake;
    cfg.user = p;
    cfg.log_id = client ? "A" : "B";
    /* Quick recovery on the in-memory pipe (the tests run on the real clock). */
    if (!cfg.rto_min_ms) {
        cfg.rto_initial_ms = 100;
        cfg.rto_min_ms = 20;
        cfg.rto_max_ms = 500;
    }
    p->s = rtc_sctp_create(&cfg);
    cr_assert_not_null(p->s);
    return p->s;
}

/* Moves every queued packet from @from to @to (dropping loss_pct of them). */
static uint32_t move(tnet_t *n, tpeer_t *from, tpeer_t *to)
{
    uint32_t moved = 0;
    net_view_t v;
    uint8_t buf[2048];
    while (rtc_sctp_out_peek(from->s, &v)) {
        cr_assert_leq(v.len, RTC_SCTP_MTU, "packet of %zu bytes", v.len);
        cr_assert_leq(v.len, sizeof buf);
        n->max_pkt = NET_MAX(n->max_pkt, v.len);
        if (!from->out_lo || v.p < from->out_lo)
            from->out_lo = v.p;
        if (v.p > from->out_hi)
            from->out_hi = v.p;
        memcpy(buf, v.p, v.len);
        size_t len = v.len;
        rtc_sctp_out_pop(from->s);
        from->tx_pkts++;
        moved++;
        int d = from == &n->b;
        if (n->drop_left[d] && len > 12 && buf[12] == n->drop_chunk[d]) {
            n->drop_left[d]--;
            n->dropped++;
            continue;
        }
        if (n->loss_pct && rng_next(n) % 100 < n->loss_pct) {
            n->dropped++;
            continue;
        }
        cr_assert_eq(rtc_sctp_input(to->s, buf, len, n->now), 0);
    }
    return moved;
}

/* Runs the pipe until @done(n) or @max_ms pass. Time is the real monotonic clock: usrsctp's
 * T3-rtx handler only retransmits chunks sent at least one RTO ago by the wall clock
 * (sctp_mark_all_for_resend), so fake time running ahead of real time would never retransmit.
 * Returns done(n). */
static bool run(tnet_t *n, bool (*done)(tnet_t *), uint64_t max_ms)
{
    uint64_t end = net_clock_ns() + max_ms * NET_NS_PER_MS;
    while ((n->now = net_clock_ns()) < end) {
        if (done && done(n))
            return true;
        uint32_t m = move(n, &n->a, &n->b) + move(n, &n->b, &n->a);
        n->moved += m;
        rtc_sctp_timers_run(n->now);
        /* A timer may have queued output: owners poll (as the engine does on wake). */
        if (rtc_sctp_needs_poll(n->a.s))
            (void)rtc_sctp_poll(n->a.s, n->now);
        if (rtc_sctp_needs_poll(n->b.s))
            (void)rtc_sctp_poll(n->b.s, n->now);
        if (!m)
            nanosleep(&(struct timespec){0, 200000}, NULL);
    }
    return done ? done(n) : true;
}

/* Runs until @p has @cnt messages on @sid (or @max_ms). */
static void wait_cnt(tnet_t *n, tpeer_t *p, uint16_t sid, uint32_t cnt, uint64_t max_ms)
{
    for (uint64_t t = 0; t < max_ms && p->ch[sid].cnt < cnt; t += 5)
        run(n, NULL, 5);
}

static bool both_connected(tnet_t *n)
{
    return n->a.connected && n->b.connected;
}

static tnet_t *net_new(const rtc_sctp_cfg_t *ca, const rtc_sctp_cfg_t *cb)
{
    tnet_t *n = calloc(1, sizeof *n);
    n->now = net_clock_ns();
    n->rng = 0x9e3779b97f4a7c15ull;
    mk(&n->a, true, ca);
    mk(&n->b, false, cb);
    return n;
}

static void net_connect(tnet_t *n)
{
    cr_assert_eq(rtc_sctp_start(n->a.s, n->now), 0);
    cr_assert_eq(rtc_sctp_start(n->b.s, n->now), 0);
    cr_assert(run(n, both_connected, 30000), "association did not come up");
    cr_assert(rtc_sctp_is_connected(n->a.s));
    cr_assert(rtc_sctp_is_connected(n->b.s));
}

static void net_free(tnet_t *n)
{
    rtc_sctp_destroy(n->a.s);
    rtc_sctp_destroy(n->b.s);
    for (int i = 0; i < MAX_SID; i++) {
        free(n->a.ch[i].seen);
        free(n->b.ch[i].seen);
        free(n->a.ch[i].last);
        free(n->b.ch[i].last);
    }
    free(n);
    cr_assert_eq(rtc_sctp_assoc_cnt(), 0);
}

static size_t msg_len(uint32_t seq)
{
    /* Mostly small, some over one packet, a few over several (fragmented and reassembled). */
    if (seq % 97 == 0)
        return 5000 + seq % 700;
    if (seq % 13 == 0)
        return 1400 + seq % 300;
    return HDR_LEN + seq % 200;
}

static int send_seq(struct tpeer *p, uint16_t sid, uint32_t seq, bool binary)
{
    static uint8_t buf[8192];
    size_t len = msg_len(seq);
    net_wr32be(buf, seq);
    net_wr16be(buf + 4, sid);
    buf[6] = binary;
    buf[7] = 0;
    for (size_t i = HDR_LEN; i < len; i++)
        buf[i] = pat(seq, sid, i);
    return rtc_sctp_send(p->s, sid, buf, len, binary);
}

Test(rtc_sctp, connects_in_both_roles_with_parity_label_protocol)
{
    tnet_t *n = net_new(NULL, NULL);
    net_connect(n);
    rtc_sctp_channel_cfg_t cc = {.label = "from-client", .protocol = "proto-a"};
    int sa = rtc_sctp_channel_open(n->a.s, &cc);
    cc.label = "from-server";
    cc.protocol = "";
    int sb = rtc_sctp_channel_open(n->b.s, &cc);
    cr_assert_geq(sa, 0);
    cr_assert_geq(sb, 0);
    cr_assert_eq(sa % 2, 0, "DTLS client uses even ids (RFC 8832 §6)");
    cr_assert_eq(sb % 2, 1, "DTLS server uses odd ids");
    int sa2 = rtc_sctp_channel_open(n->a.s, &cc);
    cr_assert_eq(sa2, sa + 2);
    run(n, NULL, 300);
    cr_assert(n->b.ch[sa].open && n->b.ch[sa].remote);
    cr_assert_str_eq(n->b.ch[sa].label, "from-client");
    cr_assert_str_eq(n->b.ch[sa].protocol, "proto-a");
    cr_assert(n->a.ch[sa].open && !n->a.ch[sa].remote);
    cr_assert(n->a.ch[sb].open && n->a.ch[sb].remote);
    cr_assert_str_eq(n->a.ch[sb].label, "from-server");
    cr_assert_str_eq(n->a.ch[sb].protocol, "");
    cr_assert(n->b.ch[sa2].open);
    cr_assert_eq(rtc_sctp_channel_cnt(n->a.s), 3);
    cr_assert_eq(rtc_sctp_channel_cnt(n->b.s), 3);
    rtc_sctp_stats_t st;
    rtc_sctp_get_stats(n->a.s, &st);
    cr_assert_eq(st.bad_dcep_cnt, 0);
    cr_assert_leq(n->max_pkt, RTC_SCTP_MTU);
    net_free(n);
}

Test(rtc_sctp, channel_opened_before_association_is_up)
{
    tnet_t *n = net_new(NULL, NULL);
    int sid = rtc_sctp_channel_open(n->a.s, &(rtc_sctp_channel_cfg_t){.label = "early"});
    cr_assert_eq(sid, 0);
    cr_assert_eq(send_seq(&n->a, (uint16_t)sid, 0, true), 0);
    cr_assert_gt(rtc_sctp_buffered_amount(n->a.s, (uint16_t)sid), 0);
    net_connect(n);
    wait_cnt(n, &n->b, (uint16_t)sid, 1, 3000);
    cr_assert(n->a.ch[sid].open);
    cr_assert(n->b.ch[sid].open);
    cr_assert_str_eq(n->b.ch[sid].label, "early");
    cr_assert_eq(n->b.ch[sid].cnt, 1);
    cr_assert_eq(n->b.ch[sid].bad_content, 0);
    cr_assert_eq(rtc_sctp_buffered_amount(n->a.s, (uint16_t)sid), 0);
    net_free(n);
}

/* Opens the six channel types (RFC 8832 §5.1), three from each side, and sends @count
 * messages each way on each; checks contents everywhere and order where it is promised. */
static void all_types_both_ways(tnet_t *n, uint32_t count, uint32_t loss_pct, bool only_reliable)
{
    static const struct {
        bool unordered;
        rtc_sctp_pr_t pr;
        uint32_t v;
    } types[] = {{false, RTC_SCTP_PR_NONE, 0},    {true, RTC_SCTP_PR_NONE, 0},
                 {false, RTC_SCTP_PR_RTX, 5},     {true, RTC_SCTP_PR_RTX, 5},
                 {false, RTC_SCTP_PR_TTL, 60000}, {true, RTC_SCTP_PR_TTL, 60000}};
    size_t nt = only_reliable ? 2 : NET_ARRAY_LEN(types);
    int sids[6];
    for (size_t i = 0; i < nt; i++) {
        tpeer_t *opener = i % 2 ? &n->b : &n->a;
        char label[16];
        snprintf(label, sizeof label, "t%zu", i);
        sids[i] = rtc_sctp_channel_open(opener->s,
                                        &(rtc_sctp_channel_cfg_t){.label = label,
                                                                  .unordered = types[i].unordered,
                                                                  .pr = types[i].pr,
                                                                  .pr_value = types[i].v});
        cr_assert_geq(sids[i], 0);
    }
    run(n, NULL, 200);
    n->loss_pct = loss_pct;
    for (size_t i = 0; i < nt; i++) {
        uint16_t sid = (uint16_t)sids[i];
        cr_assert(n->a.ch[sid].open && n->b.ch[sid].open, "type %zu not open", i);
        /* The remote side learnt the type from DCEP. */
        tpeer_t *remote = i % 2 ? &n->a : &n->b;
        cr_assert_eq(remote->ch[sid].unordered, types[i].unordered);
        cr_assert_eq(remote->ch[sid].pr, types[i].pr);
        cr_assert_eq(rtc_sctp_set_buffered_low(n->a.s, sid, 1000), 0);
    }
    /* Interleave the sends, paced in batches of 100 as an application watching its buffered
     * amount would: usrsctp prunes queued PR-SCTP messages when its send buffer overflows. */
    for (uint32_t seq = 0; seq < count; seq++) {
        for (size_t i = 0; i < nt; i++) {
            cr_assert_eq(send_seq(&n->a, (uint16_t)sids[i], seq, seq & 1), 0);
            cr_assert_eq(send_seq(&n->b, (uint16_t)sids[i], seq, !(seq & 1)), 0);
        }
        if (seq % 100 == 99)
            run(n, NULL, 30);
    }
    bool all = false;
    for (int rounds = 0; rounds < 2000 && !all; rounds++) {
        run(n, NULL, 100);
        all = true;
        for (size_t i = 0; i < nt; i++)
            all = all && n->a.ch[sids[i]].cnt == count && n->b.ch[sids[i]].cnt == count;
    }
    for (size_t i = 0; i < nt; i++) {
        uint16_t sid = (uint16_t)sids[i];
        tpeer_t *ps[2] = {&n->a, &n->b};
        for (int k = 0; k < 2; k++) {
            rxch_t *c = &ps[k]->ch[sid];
            cr_assert_eq(c->cnt, count, "type %zu side %d: %u of %u", i, k, c->cnt, count);
            cr_assert_eq(c->bad_content, 0, "type %zu side %d", i, k);
            cr_assert_eq(c->dup, 0);
            if (!types[i].unordered)
                cr_assert_eq(c->bad_order, 0, "type %zu side %d out of order", i, k);
            for (uint32_t q = 0; q < count; q++)
                cr_assert(c->seen[q], "type %zu side %d missing %u", i, k, q);
        }
        cr_assert_eq(rtc_sctp_buffered_amount(n->a.s, sid), 0);
    }
}

Test(rtc_sctp, thousand_messages_each_type_both_ways)
{
    tnet_t *n = net_new(NULL, NULL);
    net_connect(n);
    all_types_both_ways(n, 1000, 0, false);
    net_free(n);
}

Test(rtc_sctp, reliable_channels_deliver_everything_at_10pct_loss)
{
    tnet_t *n = net_new(NULL, NULL);
    n->loss_pct = 10; /* also during setup: INIT/COOKIE are retransmitted */
    net_connect(n);
    all_types_both_ways(n, 1000, 10, true);
    cr_assert_gt(n->dropped, 100, "the pipe lost only %lu packets", (unsigned long)n->dropped);
    net_free(n);
}

Test(rtc_sctp, buffered_amount_and_low_threshold)
{
    tnet_t *n = net_new(NULL, NULL);
    net_connect(n);
    int sid = rtc_sctp_channel_open(n->a.s, &(rtc_sctp_channel_cfg_t){0});
    run(n, NULL, 100);
    cr_assert_eq(rtc_sctp_set_buffered_low(n->a.s, (uint16_t)sid, 65536), 0);
    /* 64 KiB messages until usrsctp's send buffer is full and ours starts to hold bytes. */
    static uint8_t buf[65536];
    uint32_t sent = 0;
    while (rtc_sctp_buffered_amount(n->a.s, (uint16_t)sid) <= 65536 && sent < 200) {
        net_wr32be(buf, sent);
        cr_assert_eq(rtc_sctp_send(n->a.s, (uint16_t)sid, buf, sizeof buf, true), 0);
        sent++;
    }
    size_t b = rtc_sctp_buffered_amount(n->a.s, (uint16_t)sid);
    cr_assert_gt(b, 65536, "no backpressure after %u x 64 KiB", sent);
    cr_assert_eq(n->a.ch[sid].low_cnt, 0);
    for (int k = 0; k < 100 && n->b.ch[sid].cnt < sent; k++)
        run(n, NULL, 100);
    cr_assert_eq(n->b.ch[sid].cnt, sent);
    cr_assert_eq(rtc_sctp_buffered_amount(n->a.s, (uint16_t)sid), 0);
    cr_assert_eq(n->a.ch[sid].low_cnt, 1, "one BUFFERED_LOW when it fell under 64 KiB");
    net_free(n);
}

/* issue #11 soak: the server's RSS crept up ~150 KiB a minute with 40 idle associations, each
 * heartbeat going to the next slot of the 256-slot output ring and so touching a new page of
 * it every few packets, for hours. A queue drained after every packet must reuse its first
 * slots. */
Test(rtc_sctp, drained_output_queue_reuses_its_first_slots)
{
    tnet_t *n = net_new(NULL, NULL);
    net_connect(n);
    int sid = rtc_sctp_channel_open(n->a.s, &(rtc_sctp_channel_cfg_t){.label = "idle"});
    cr_assert_geq(sid, 0);
    run(n, NULL, 100);
    cr_assert(n->b.ch[sid].open);
    n->a.out_lo = n->a.out_hi = NULL;
    uint64_t pkts0 = n->a.tx_pkts;
    for (uint32_t seq = 0; seq < 300; seq++) { /* more packets than the ring's 256 slots */
        cr_assert_eq(send_seq(&n->a, (uint16_t)sid, seq, true), 0);
        wait_cnt(n, &n->b, (uint16_t)sid, seq + 1, 3000);
        cr_assert_eq(n->b.ch[sid].cnt, seq + 1);
    }
    cr_assert_eq(n->b.ch[sid].bad_content, 0);
    cr_assert_geq(n->a.tx_pkts - pkts0, 300);
    size_t span = (size_t)(n->a.out_hi - n->a.out_lo);
    cr_assert_lt(span, 8 * 1280, "packets spread over %zu bytes of the output ring", span);
    net_free(n);
}

Test(rtc_sctp, partial_reliability_gives_up_under_loss)
{
    tnet_t *n = net_new(NULL, NULL);
    net_connect(n);
    int sid = rtc_sctp_channel_open(
        n->a.s, &(rtc_sctp_channel_cfg_t){.unordered = true, .pr = RTC_SCTP_PR_RTX, .pr_value = 0});
    run(n, NULL, 200);
    cr_assert(n->b.ch[sid].open);
    n->loss_pct = 30;
    for (uint32_t seq = 0; seq < 300; seq++)
        cr_assert_eq(send_seq(&n->a, (uint16_t)sid, seq, true), 0);
    run(n, NULL, 3000);
    rxch_t *c = &n->b.ch[sid];
    /* max-retransmits 0: lost messages are abandoned (RFC 3758), the rest arrive intact. */
    uint32_t got = c->cnt;
    cr_assert_lt(got, 300);
    cr_assert_gt(got, 0);
    cr_assert_eq(c->bad_content, 0);
    cr_assert_eq(c->dup, 0);
    cr_assert_eq(rtc_sctp_buffered_amount(n->a.s, (uint16_t)sid), 0);
    /* The channel carries on once the loss stops (FORWARD-TSN moved the peer past the gaps). */
    n->loss_pct = 0;
    for (uint32_t seq = 300; seq < 350; seq++)
        cr_assert_eq(send_seq(&n->a, (uint16_t)sid, seq, true), 0);
    wait_cnt(n, &n->b, (uint16_t)sid, got + 50, 5000);
    cr_assert_eq(c->cnt, got + 50, "%u then %u", got, c->cnt);
    for (uint32_t q = 300; q < 350; q++)
        cr_assert(c->seen[q]);
    net_free(n);
}

Test(rtc_sctp, max_packet_lifetime_expires_messages_on_an_ordered_channel)
{
    tnet_t *n = net_new(NULL, NULL);
    net_connect(n);
    int sid = rtc_sctp_channel_open(
        n->a.s, &(rtc_sctp_channel_cfg_t){.pr = RTC_SCTP_PR_TTL, .pr_value = 100});
    run(n, NULL, 100);
    cr_assert(n->b.ch[sid].open);
    cr_assert(!n->b.ch[sid].unordered);
    cr_assert_eq(n->b.ch[sid].pr, RTC_SCTP_PR_TTL);
    /* A 300 ms blackout: messages sent in it outlive their 100 ms and are abandoned (RFC 3758
     * FORWARD-TSN); the ordered stream then skips them instead of waiting. */
    n->loss_pct = 100;
    for (uint32_t seq = 0; seq < 20; seq++)
        cr_assert_eq(send_seq(&n->a, (uint16_t)sid, seq, true), 0);
    run(n, NULL, 300);
    n->loss_pct = 0;
    for (uint32_t seq = 20; seq < 40; seq++)
        cr_assert_eq(send_seq(&n->a, (uint16_t)sid, seq, true), 0);
    wait_cnt(n, &n->b, (uint16_t)sid, 20, 5000);
    rxch_t *c = &n->b.ch[sid];
    /* usrsctp abandons what it had sent and whose lifetime ran out; messages it had not yet
     * sent may still go (RFC 3758 lets the sender choose), so only "some" are lost. */
    cr_assert_geq(c->cnt, 20);
    cr_assert_lt(c->cnt, 40, "nothing was abandoned");
    for (uint32_t q = 20; q < 40; q++)
        cr_assert(c->seen[q], "message %u missing", q);
    cr_assert_eq(c->backwards, 0, "ordered delivery broken");
    cr_assert_eq(c->bad_content + c->dup, 0);
    net_free(n);
}

Test(rtc_sctp, message_sizes_256k_empty_and_over_limit)
{
    rtc_sctp_cfg_t c = {.remote_max_msg = RTC_SCTP_LOCAL_MAX_MSG};
    tnet_t *n = net_new(&c, &c);
    n->b.keep_last = true;
    net_connect(n);
    int sid = rtc_sctp_channel_open(n->a.s, &(rtc_sctp_channel_cfg_t){.label = "big"});
    run(n, NULL, 100);
    cr_assert_eq(rtc_sctp_max_message_size(n->a.s), 262144);
    size_t big = 256 * 1024;
    uint8_t *buf = malloc(big + 1);
    for (size_t i = 0; i < big + 1; i++)
        buf[i] = (uint8_t)(i * 131 + (i >> 9));
    cr_assert_eq(rtc_sctp_send(n->a.s, (uint16_t)sid, buf, big, true), 0);
    wait_cnt(n, &n->b, (uint16_t)sid, 1, 5000);
    rxch_t *rc = &n->b.ch[sid];
    cr_assert_eq(rc->cnt, 1);
    cr_assert_eq(rc->last_len, big);
    cr_assert_arr_eq(rc->last, buf, big);
    /* Over the remote's a=max-message-size: refused before anything is queued. */
    cr_assert_eq(rtc_sctp_send(n->a.s, (uint16_t)sid, buf, big + 1, true), -EMSGSIZE);
    cr_assert_eq(rtc_sctp_buffered_amount(n->a.s, (uint16_t)sid), 0);
    /* Empty string and empty binary (RFC 8831 §6.6). */
    cr_assert_eq(rtc_sctp_send(n->a.s, (uint16_t)sid, "", 0, false), 0);
    cr_assert_eq(rtc_sctp_send(n->a.s, (uint16_t)sid, NULL, 0, true), 0);
    wait_cnt(n, &n->b, (uint16_t)sid, 3, 3000);
    cr_assert_eq(rc->cnt, 3);
    cr_assert_eq(rc->empty_str, 1);
    cr_assert_eq(rc->empty_bin, 1);
    cr_assert_eq(rc->last_len, 0);
    free(buf);
    net_free(n);
}

Test(rtc_sctp, remote_max_message_size_defaults_to_64k)
{
    tnet_t *n = net_new(NULL, NULL); /* remote a=max-message-size absent */
    net_connect(n);
    int sid = rtc_sctp_channel_open(n->a.s, &(rtc_sctp_channel_cfg_t){0});
    run(n, NULL, 100);
    cr_assert_eq(rtc_sctp_max_message_size(n->a.s), 65536);
    static uint8_t buf[65537];
    cr_assert_eq(rtc_sctp_send(n->a.s, (uint16_t)sid, buf, 65537, true), -EMSGSIZE);
    cr_assert_eq(rtc_sctp_send(n->a.s, (uint16_t)sid, buf, 65536, true), 0);
    wait_cnt(n, &n->b, (uint16_t)sid, 1, 3000);
    cr_assert_eq(n->b.ch[sid].cnt, 1);
    cr_assert_eq(n->b.ch[sid].last_len, 65536);
    net_free(n);
}

Test(rtc_sctp, incoming_message_over_local_limit_is_dropped)
{
    /* A ignores our limit (says the remote allows anything); B advertises 16 KiB. */
    rtc_sctp_cfg_t ca = {.remote_max_msg = RTC_SCTP_MAX_MSG_UNLIMITED};
    rtc_sctp_cfg_t cb = {.local_max_msg = 16384};
    tnet_t *n = net_new(&ca, &cb);
    net_connect(n);
    int sid = rtc_sctp_channel_open(n->a.s, &(rtc_sctp_channel_cfg_t){0});
    run(n, NULL, 100);
    static uint8_t buf[40000];
    cr_assert_eq(rtc_sctp_send(n->a.s, (uint16_t)sid, buf, sizeof buf, true), 0);
    cr_assert_eq(send_seq(&n->a, (uint16_t)sid, 0, false), 0);
    wait_cnt(n, &n->b, (uint16_t)sid, 1, 3000);
    rtc_sctp_stats_t st;
    rtc_sctp_get_stats(n->b.s, &st);
    cr_assert_eq(st.rx_oversize_cnt, 1);
    cr_assert_eq(n->b.ch[sid].cnt, 1, "the next message still arrives");
    cr_assert_eq(n->b.ch[sid].bad_content, 0);
    net_free(n);
}

static bool closed_both(tnet_t *n, uint16_t sid)
{
    return n->a.ch[sid].closed && n->b.ch[sid].closed;
}

Test(rtc_sctp, hundred_open_close_cycles)
{
    tnet_t *n = net_new(NULL, NULL);
    net_connect(n);
    for (uint32_t i = 0; i < 100; i++) {
        tpeer_t *op = i % 2 ? &n->b : &n->a, *other = i % 2 ? &n->a : &n->b;
        int sid = rtc_sctp_channel_open(op->s, &(rtc_sctp_channel_cfg_t){.label = "churn"});
        cr_assert_eq(sid, i % 2 ? 1 : 0, "cycle %u: sid %d not reused", i, sid);
        for (int k = 0; k < 20 && !(other->ch[sid].open && op->ch[sid].open); k++)
            run(n, NULL, 10);
        cr_assert(other->ch[sid].open, "cycle %u", i);
        cr_assert_eq(send_seq(op, (uint16_t)sid, 0, true), 0);
        cr_assert_eq(send_seq(other, (uint16_t)sid, 0, false), 0);
        /* Alternate which side closes: the closer resets its outgoing stream, the other side
         * follows (RFC 8831 §6.7). */
        tpeer_t *closer = (i / 2) % 2 ? other : op;
        cr_assert_eq(rtc_sctp_channel_close(closer->s, (uint16_t)sid), 0);
        cr_assert_eq(rtc_sctp_send(closer->s, (uint16_t)sid, "x", 1, false), -EPIPE);
        for (int k = 0; k < 300 && !closed_both(n, (uint16_t)sid); k++)
            run(n, NULL, 10);
        cr_assert(closed_both(n, (uint16_t)sid), "cycle %u: not closed", i);
        cr_assert_eq(n->a.ch[sid].close_err, 0);
        cr_assert_eq(op->ch[sid].cnt + other->ch[sid].cnt, 2,
                     "cycle %u: messages sent before close lost", i);
        cr_assert_eq(rtc_sctp_channel_cnt(n->a.s), 0);
        cr_assert_eq(rtc_sctp_channel_cnt(n->b.s), 0);
    }
    cr_assert_eq(n->a.closed_cnt, 100);
    cr_assert_eq(n->b.closed_cnt, 100);
    net_free(n);
}

static bool thousand_open(tnet_t *n)
{
    return n->a.open_cnt == 1000 && n->b.open_cnt == 1000;
}

Test(rtc_sctp, thousand_channels_on_one_association)
{
    tnet_t *n = net_new(NULL, NULL);
    net_connect(n);
    int sids[1000];
    for (int i = 0; i < 1000; i++) {
        char label[16];
        snprintf(label, sizeof label, "c%d", i);
        sids[i] = rtc_sctp_channel_open(n->a.s, &(rtc_sctp_channel_cfg_t){.label = label});
        cr_assert_eq(sids[i], 2 * i);
    }
    cr_assert(run(n, thousand_open, 10000), "opened %u/%u", n->a.open_cnt, n->b.open_cnt);
    for (int i = 0; i < 1000; i++) {
        char label[16];
        snprintf(label, sizeof label, "c%d", i);
        cr_assert_str_eq(n->b.ch[sids[i]].label, label);
        cr_assert_eq(send_seq(&n->a, (uint16_t)sids[i], 0, true), 0);
        cr_assert_eq(send_seq(&n->b, (uint16_t)sids[i], 0, false), 0);
    }
    for (int i = 0; i < 1000; i++) {
        wait_cnt(n, &n->a, (uint16_t)sids[i], 1, 3000);
        wait_cnt(n, &n->b, (uint16_t)sids[i], 1, 3000);
    }
    for (int i = 0; i < 1000; i++) {
        cr_assert_eq(n->a.ch[sids[i]].cnt, 1, "sid %d", sids[i]);
        cr_assert_eq(n->b.ch[sids[i]].cnt, 1, "sid %d", sids[i]);
        cr_assert_eq(n->a.ch[sids[i]].bad_content + n->b.ch[sids[i]].bad_content, 0);
    }
    for (int i = 0; i < 1000; i++)
        cr_assert_eq(rtc_sctp_channel_close(n->b.s, (uint16_t)sids[i]), 0);
    for (int k = 0; k < 100 && (n->a.closed_cnt < 1000 || n->b.closed_cnt < 1000); k++)
        run(n, NULL, 100);
    cr_assert_eq(n->a.closed_cnt, 1000);
    cr_assert_eq(n->b.closed_cnt, 1000);
    cr_assert_eq(rtc_sctp_channel_cnt(n->a.s), 0);
    net_free(n);
}

Test(rtc_sctp, negotiated_channel_uses_no_dcep)
{
    tnet_t *n = net_new(NULL, NULL);
    rtc_sctp_channel_cfg_t cc = {.label = "neg", .negotiated = true, .sid = 7};
    cr_assert_eq(rtc_sctp_channel_open(n->a.s, &cc), 7);
    cr_assert_eq(rtc_sctp_channel_open(n->b.s, &cc), 7);
    cr_assert_eq(rtc_sctp_channel_open(n->b.s, &cc), -EADDRINUSE);
    net_connect(n);
    run(n, NULL, 100);
    cr_assert(n->a.ch[7].open && !n->a.ch[7].remote);
    cr_assert(n->b.ch[7].open && !n->b.ch[7].remote);
    for (uint32_t q = 0; q < 50; q++) {
        cr_assert_eq(send_seq(&n->a, 7, q, true), 0);
        cr_assert_eq(send_seq(&n->b, 7, q, false), 0);
    }
    wait_cnt(n, &n->a, 7, 50, 3000);
    wait_cnt(n, &n->b, 7, 50, 3000);
    cr_assert_eq(n->a.ch[7].cnt, 50);
    cr_assert_eq(n->b.ch[7].cnt, 50);
    cr_assert_eq(n->a.ch[7].bad_order + n->b.ch[7].bad_order, 0);
    rtc_sctp_stats_t st;
    rtc_sctp_get_stats(n->b.s, &st);
    cr_assert_eq(st.bad_dcep_cnt, 0);
    /* A DCEP OPEN from the peer on a stream in use is refused and counted, not a crash. */
    cr_assert_eq(rtc_sctp_send(n->a.s, 7, "x", 1, false), 0);
    net_free(n);
}

/* The engine opens a negotiated channel when CONNECTED comes, and the peer may send on it at
 * once. When the peer's COOKIE-ACK is lost, its first DATA tells usrsctp the association is up
 * (the ACK is implied): the COMM_UP notification and the message are read in one poll. The
 * message must wait for CONNECTED (and the channel it opens), not be dropped as "no such
 * stream" after SCTP acknowledged it (sfu_lossy lost a bot's first chat message so).
 * Variants: either side starts first (the other's DTLS not up yet: its first INIT is lost),
 * and one or two COOKIE-ACKs lost, from either side. */
Test(rtc_sctp, first_message_that_brings_the_association_up_is_kept)
{
    unsigned lost = 0;
    for (unsigned k = 0; k < 16; k++) {
        tnet_t *n = net_new(NULL, NULL);
        n->drop_chunk[0] = n->drop_chunk[1] = 11; /* COOKIE-ACK */
        n->drop_left[k & 1] = 1 + (k >> 2 & 1);
        n->a.open_on_connect = n->a.send_on_connect = true;
        n->b.open_on_connect = true;
        tpeer_t *first = k & 2 ? &n->a : &n->b, *second = k & 2 ? &n->b : &n->a;
        cr_assert_eq(rtc_sctp_start(first->s, n->now), 0);
        if (k & 8) {
            n->loss_pct = 100;
            run(n, NULL, 30);
            n->loss_pct = 0;
        }
        cr_assert_eq(rtc_sctp_start(second->s, n->now), 0);
        wait_cnt(n, &n->b, 0, 1, 3000);
        if (n->b.ch[0].cnt != 1) {
            rtc_sctp_stats_t st;
            rtc_sctp_get_stats(n->b.s, &st);
            fprintf(stderr, "variant %u: B got %u messages, %" PRIu64 " for no channel\n", k,
                    n->b.ch[0].cnt, (uint64_t)st.rx_unknown_cnt);
            lost++;
        }
        net_free(n);
    }
    cr_assert_eq(lost, 0, "%u of 16 first messages lost", lost);
}

Test(rtc_sctp, timer_driver_deadline_and_wake)
{
    cr_assert_eq(rtc_sctp_timers_deadline(), UINT64_MAX);
    tpeer_t *p = calloc(1, sizeof *p);
    mk(p, true, NULL);
    cr_assert_eq(rtc_sctp_assoc_cnt(), 1);
    cr_assert_eq(rtc_sctp_timers_deadline(), 0, "a new association needs the timer now");
    uint64_t now = NET_NS_PER_SEC;
    cr_assert_eq(rtc_sctp_timers_run(now), now + 10 * NET_NS_PER_MS);
    cr_assert_eq(rtc_sctp_start(p->s, now), 0);
    net_view_t v;
    cr_assert(rtc_sctp_out_peek(p->s, &v), "INIT queued");
    cr_assert_eq(v.p[12], 1, "chunk type INIT");
    rtc_sctp_out_pop(p->s);
    cr_assert_eq(p->wake_cnt, 0, "output made inside our own call wakes nobody");
    /* Nobody answers: the T1-init timer (RTO initial 1 s) retransmits from the timer thread. */
    for (int i = 0; i < 150; i++)
        rtc_sctp_timers_run(now += 10 * NET_NS_PER_MS);
    cr_assert_geq(p->wake_cnt, 1);
    cr_assert(rtc_sctp_needs_poll(p->s));
    cr_assert(rtc_sctp_out_peek(p->s, &v));
    cr_assert_eq(v.p[12], 1, "INIT retransmitted");
    cr_assert_eq(rtc_sctp_poll(p->s, now), 0);
    cr_assert(!rtc_sctp_needs_poll(p->s));
    rtc_sctp_destroy(p->s);
    cr_assert_eq(rtc_sctp_timers_run(now + NET_NS_PER_MS), UINT64_MAX);
    free(p);
}

Test(rtc_sctp, bad_input_is_dropped)
{
    tnet_t *n = net_new(NULL, NULL);
    net_connect(n);
    uint8_t junk[200];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t)(i * 37);
    cr_assert_eq(rtc_sctp_input(n->a.s, junk, 5, n->now), -EBADMSG);
    cr_assert_eq(rtc_sctp_input(n->a.s, junk, sizeof junk, n->now), 0); /* bad CRC: dropped */
    rtc_sctp_stats_t st;
    rtc_sctp_get_stats(n->a.s, &st);
    cr_assert_eq(st.bad_pkt_cnt, 1);
    cr_assert_eq(rtc_sctp_send(n->a.s, 100, "x", 1, false), -ENOENT);
    cr_assert_eq(rtc_sctp_channel_close(n->a.s, 100), -ENOENT);
    cr_assert_eq(rtc_sctp_channel_open(n->a.s, &(rtc_sctp_channel_cfg_t){.pr = 9}), -EINVAL);
    /* The association still works. */
    int sid = rtc_sctp_channel_open(n->a.s, &(rtc_sctp_channel_cfg_t){0});
    cr_assert_eq(send_seq(&n->a, (uint16_t)sid, 0, true), 0);
    run(n, NULL, 200);
    cr_assert_eq(n->b.ch[sid].cnt, 1);
    net_free(n);
}

static bool b_closed(tnet_t *n)
{
    return n->b.closed;
}

Test(rtc_sctp, peer_that_vanishes_is_detected)
{
    tnet_t *n = net_new(NULL, NULL);
    net_connect(n);
    int sid = rtc_sctp_channel_open(n->a.s, &(rtc_sctp_channel_cfg_t){0});
    run(n, NULL, 100);
    cr_assert(n->b.ch[sid].open);
    /* A disappears without a word (its ABORT is lost with it): B retransmits until the
     * association's retransmission limit (RFC 4960 §8.1) and reports the loss. */
    cr_assert_eq(send_seq(&n->a, (uint16_t)sid, 0, true), 0);
    n->loss_pct = 100;
    cr_assert_eq(send_seq(&n->b, (uint16_t)sid, 0, true), 0);
    rtc_sctp_destroy(n->a.s);
    mk(&n->a, true, NULL); /* a fresh, unconnected A that never answers */
    cr_assert(run(n, b_closed, 15000), "B never noticed");
    cr_assert(n->b.ch[sid].closed);
    cr_assert_lt(n->b.ch[sid].close_err, 0);
    cr_assert(!rtc_sctp_is_connected(n->b.s));
    cr_assert_eq(rtc_sctp_send(n->b.s, (uint16_t)sid, "x", 1, false), -ENOENT);
    cr_assert_eq(rtc_sctp_channel_open(n->b.s, &(rtc_sctp_channel_cfg_t){0}), -EPIPE);
    net_free(n);
}

static bool a_connected(tnet_t *n)
{
    return n->a.connected;
}

Test(rtc_sctp, peer_restart_is_counted)
{
    tnet_t *n = net_new(NULL, NULL);
    net_connect(n);
    rtc_sctp_stats_t st;
    rtc_sctp_get_stats(n->b.s, &st);
    cr_assert_eq(st.restart_cnt, 0);
    /* A comes back as a new association on the same ports and address: to B that is a restart
     * (RFC 4960 §5.2.4 case A), which usrsctp reports as SCTP_RESTART. */
    rtc_sctp_destroy(n->a.s);
    memset(&n->a, 0, sizeof n->a);
    mk(&n->a, true, NULL);
    cr_assert_eq(rtc_sctp_start(n->a.s, n->now), 0);
    cr_assert(run(n, a_connected, 10000), "the new A never connected");
    run(n, NULL, 50);
    rtc_sctp_get_stats(n->b.s, &st);
    cr_assert_eq(st.restart_cnt, 1);
    cr_assert(rtc_sctp_is_connected(n->b.s));
    net_free(n);
}

/* Starts both ends with every packet lost for @loss_ms, then lets them through; returns the
 * milliseconds from the start until both are connected (UINT64_MAX: not within 2 s more). */
static uint64_t connect_after_loss(tnet_t *n, uint64_t loss_ms)
{
    uint64_t t0 = net_clock_ns();
    n->loss_pct = 100;
    cr_assert_eq(rtc_sctp_start(n->a.s, n->now), 0);
    cr_assert_eq(rtc_sctp_start(n->b.s, n->now), 0);
    run(n, NULL, loss_ms);
    cr_assert(!n->a.closed && !n->b.closed, "gave up the INIT");
    n->loss_pct = 0;
    if (!run(n, both_connected, 2000))
        return UINT64_MAX;
    return (net_clock_ns() - t0) / NET_NS_PER_MS;
}

/* The handshake's backoff stops at the RTO max (docs/sctp.md, "Timers"). With 100 ms initial
 * and 300 ms max, INITs leave at 0, 0.1, 0.3, 0.6, 0.9 ... 1.8, 2.1 s, so after 2 s of total
 * loss the association is up at about 2.1 s. Uncapped (0.1, 0.3, 0.7, 1.5, 3.1 s) it would
 * wait for 3.1 s. */
Test(rtc_sctp, handshake_backoff_stops_at_the_rto_max)
{
    rtc_sctp_cfg_t c = {.rto_initial_ms = 100, .rto_min_ms = 20, .rto_max_ms = 300};
    tnet_t *n = net_new(&c, &c);
    uint64_t ms = connect_after_loss(n, 2000);
    cr_assert_lt(ms, 2800, "up after %" PRIu64 " ms: the INIT backoff was not capped", ms);
    net_free(n);
}

/* cfg.max_retransmits reaches the INIT: at one INIT per 100 ms, 2 s of loss is 20
 * retransmissions, past usrsctp's default of 8 and our default of 16. */
Test(rtc_sctp, init_attempts_follow_max_retransmits)
{
    rtc_sctp_cfg_t c = {
        .rto_initial_ms = 100, .rto_min_ms = 20, .rto_max_ms = 100, .max_retransmits = 40};
    tnet_t *n = net_new(&c, &c);
    uint64_t ms = connect_after_loss(n, 2000);
    cr_assert_lt(ms, 2600, "up after %" PRIu64 " ms", ms);
    cr_assert_geq(n->a.tx_pkts, 20, "A sent %" PRIu64 " packets", n->a.tx_pkts);
    net_free(n);
}

/* ---------------------------------------------------------------------------------------------
 * SCTP over two real rtc_dtls endpoints (RFC 8261): every SCTP packet is one DTLS record.
 */
#define DQ_CAP 1024
typedef struct dgram_q {
    uint8_t d[DQ_CAP][RTC_DTLS_MTU];
    size_t len[DQ_CAP];
    size_t head, cnt;
    uint64_t dropped;
} dgram_q_t;

static void dq_push_out(dgram_q_t *q, const rtc_dtls_out_t *o)
{
    for (size_t i = 0; i < o->tx_cnt; i++) {
        cr_assert_leq(o->tx[i].len, RTC_DTLS_MTU);
        if (q->cnt == DQ_CAP) {
            q->dropped++;
            continue;
        }
        size_t t = (q->head + q->cnt) % DQ_CAP;
        memcpy(q->d[t], o->tx[i].p, o->tx[i].len);
        q->len[t] = o->tx[i].len;
        q->cnt++;
    }
}

/* Drains @s's SCTP output into DTLS records queued on @q. */
static void sctp_to_dtls(rtc_sctp_t *s, rtc_dtls_t *d, dgram_q_t *q)
{
    static rtc_dtls_out_t o;
    net_view_t v;
    while (rtc_sctp_out_peek(s, &v)) {
        cr_assert_eq(rtc_dtls_send(d, v.p, v.len, &o), 0, "SCTP packet of %zu bytes", v.len);
        rtc_sctp_out_pop(s);
        dq_push_out(q, &o);
    }
}

/* Delivers one datagram from @q to DTLS endpoint @d (answering on @back); its application data
 * goes to @s. */
static void dtls_deliver(dgram_q_t *q, rtc_dtls_t *d, rtc_sctp_t *s, dgram_q_t *back)
{
    static rtc_dtls_out_t o;
    size_t len = q->len[q->head];
    static uint8_t buf[RTC_DTLS_MTU];
    memcpy(buf, q->d[q->head], len);
    q->head = (q->head + 1) % DQ_CAP;
    q->cnt--;
    int r = rtc_dtls_input(d, buf, len, net_clock_ns(), &o);
    cr_assert_geq(r, 0, "DTLS input failed: %d", r);
    dq_push_out(back, &o);
    for (size_t i = 0; i < o.rx_cnt; i++) {
        cr_assert_eq(rtc_sctp_input(s, o.rx[i].p, o.rx[i].len, net_clock_ns()), 0);
        sctp_to_dtls(s, d, back);
    }
}

Test(rtc_sctp, runs_over_two_real_dtls_endpoints)
{
    rtc_dtls_ctx_cfg_t dcfg = {.no_srtp = true}; /* data channels only */
    rtc_dtls_ctx_t *cctx = rtc_dtls_ctx_create(&dcfg), *sctx = rtc_dtls_ctx_create(&dcfg);
    cr_assert_not_null(cctx);
    cr_assert_not_null(sctx);
    static rtc_dtls_t dc, ds;
    uint64_t now = net_clock_ns();
    cr_assert_eq(rtc_dtls_init(&dc, cctx, RTC_DTLS_CLIENT, rtc_dtls_ctx_fingerprint(sctx), now), 0);
    cr_assert_eq(rtc_dtls_init(&ds, sctx, RTC_DTLS_SERVER, rtc_dtls_ctx_fingerprint(cctx), now), 0);
    tnet_t *n = net_new(NULL, NULL); /* a: DTLS client, b: DTLS server */
    n->b.keep_last = true;
    static dgram_q_t q_cs, q_sc;
    static rtc_dtls_out_t o;
    cr_assert_eq(rtc_dtls_start(&dc, now, &o), 0);
    dq_push_out(&q_cs, &o);

    bool started = false, sent = false;
    int sid = -1;
    /* A 64 KiB message in the seq format (seq 200 after the 200 small ones). */
    static uint8_t big[65536];
    net_wr32be(big, 200);
    net_wr16be(big + 4, 0);
    big[6] = 1;
    big[7] = 0;
    for (size_t i = HDR_LEN; i < sizeof big; i++)
        big[i] = pat(200, 0, i);
    uint64_t end = net_clock_ns() + 10 * NET_NS_PER_SEC;
    while ((now = net_clock_ns()) < end) {
        if (sent && n->b.ch[sid].cnt == 201 && n->a.ch[sid].cnt == 200)
            break;
        bool busy = q_cs.cnt || q_sc.cnt;
        if (q_cs.cnt)
            dtls_deliver(&q_cs, &ds, n->b.s, &q_sc);
        if (q_sc.cnt)
            dtls_deliver(&q_sc, &dc, n->a.s, &q_cs);
        if (!started && dc.state == RTC_DTLS_CONNECTED && ds.state == RTC_DTLS_CONNECTED) {
            /* RFC 8261 §6: SCTP starts once DTLS is up; the DTLS client's ids are even. */
            cr_assert_eq(rtc_sctp_start(n->a.s, now), 0);
            cr_assert_eq(rtc_sctp_start(n->b.s, now), 0);
            sid = rtc_sctp_channel_open(n->a.s, &(rtc_sctp_channel_cfg_t){.label = "over-dtls"});
            cr_assert_eq(sid, 0);
            started = true;
        }
        if (started && !sent && n->b.ch[sid].open) {
            for (uint32_t q = 0; q < 200; q++) {
                cr_assert_eq(send_seq(&n->a, (uint16_t)sid, q, true), 0);
                cr_assert_eq(send_seq(&n->b, (uint16_t)sid, q, false), 0);
            }
            cr_assert_eq(rtc_sctp_send(n->a.s, (uint16_t)sid, big, sizeof big, true), 0);
            sent = true;
        }
        if (started) {
            sctp_to_dtls(n->a.s, &dc, &q_cs);
            sctp_to_dtls(n->b.s, &ds, &q_sc);
            rtc_sctp_timers_run(now);
            if (rtc_sctp_needs_poll(n->a.s))
                (void)rtc_sctp_poll(n->a.s, now);
            if (rtc_sctp_needs_poll(n->b.s))
                (void)rtc_sctp_poll(n->b.s, now);
        }
        if (now >= rtc_dtls_deadline(&dc) && rtc_dtls_handle_timeout(&dc, now, &o) == 0)
            dq_push_out(&q_cs, &o);
        if (now >= rtc_dtls_deadline(&ds) && rtc_dtls_handle_timeout(&ds, now, &o) == 0)
            dq_push_out(&q_sc, &o);
        if (!busy)
            nanosleep(&(struct timespec){0, 200000}, NULL);
    }
    cr_assert(started, "DTLS did not connect: %s / %s", rtc_dtls_state_name(dc.state),
              rtc_dtls_state_name(ds.state));
    cr_assert(n->a.connected && n->b.connected);
    cr_assert_str_eq(n->b.ch[0].label, "over-dtls");
    cr_assert_eq(n->b.ch[0].cnt, 201);
    cr_assert_eq(n->a.ch[0].cnt, 200);
    cr_assert_eq(n->a.ch[0].bad_order + n->b.ch[0].bad_order, 0);
    cr_assert_eq(n->a.ch[0].bad_content + n->b.ch[0].bad_content, 0);
    cr_assert_eq(n->b.ch[0].last_len, sizeof big);
    cr_assert_arr_eq(n->b.ch[0].last, big, sizeof big);
    cr_assert_eq(dc.bad_cnt + ds.bad_cnt, 0);
    rtc_dtls_fini(&dc);
    rtc_dtls_fini(&ds);
    rtc_dtls_ctx_destroy(cctx);
    rtc_dtls_ctx_destroy(sctx);
    net_free(n);
}

/* ---------------------------------------------------------------------------------------------
 * The threading rule (docs/sctp.md) with real threads: each association is created, fed and
 * drained by its own owner thread; the main thread is "shard 0" and only drives the timers.
 * With 10% loss, retransmissions come from the timer thread, reach the owner's queue and wake
 * it. Meant for TSan too (make SAN=tsan T=rtc/sctp test).
 */
#include <pthread.h>
#include <stdatomic.h>

#define TH_MSGS 1000
#define TH_LEN 600 /* ~2 messages a packet: enough packets that some tail loss needs T3 */
typedef struct mbox {
    pthread_mutex_t mu;
    uint8_t d[512][RTC_SCTP_MTU];
    size_t len[512];
    size_t head, cnt;
    uint32_t rng;
} mbox_t;

typedef struct towner {
    bool client;
    mbox_t *in, *out;
    atomic_bool *stop;
    atomic_uint wakes;
    atomic_bool wake_flag;
    /* owner-thread state */
    rtc_sctp_t *s;
    bool up;
    int sid;
    uint32_t sent, rx, rx_bad;
    atomic_uint rx_done;
} towner_t;

static void th_event(void *user, rtc_sctp_t *s, const rtc_sctp_event_t *ev)
{
    (void)s;
    towner_t *o = user;
    if (ev->type == RTC_SCTP_EV_CONNECTED)
        o->up = true;
    else if (ev->type == RTC_SCTP_EV_MESSAGE) {
        char want[16];
        int l = snprintf(want, sizeof want, "m%u|", o->rx);
        if (ev->data.len != TH_LEN || memcmp(ev->data.p, want, (size_t)l) != 0)
            o->rx_bad++;
        o->rx++;
        atomic_store(&o->rx_done, o->rx);
    }
}

static void th_wake(void *user)
{
    towner_t *o = user; /* any thread, locks held: only flag it */
    atomic_fetch_add(&o->wakes, 1);
    atomic_store(&o->wake_flag, true);
}

static void mbox_put(mbox_t *m, const uint8_t *p, size_t len)
{
    pthread_mutex_lock(&m->mu);
    m->rng = m->rng * 1103515245u + 12345u;
    if (m->cnt < 512 && (m->rng >> 16) % 100 >= 10) { /* 10% loss */
        size_t t = (m->head + m->cnt) % 512;
        memcpy(m->d[t], p, len);
        m->len[t] = len;
        m->cnt++;
    }
    pthread_mutex_unlock(&m->mu);
}

static bool mbox_get(mbox_t *m, uint8_t *p, size_t *len)
{
    pthread_mutex_lock(&m->mu);
    bool any = m->cnt > 0;
    if (any) {
        *len = m->len[m->head];
        memcpy(p, m->d[m->head], *len);
        m->head = (m->head + 1) % 512;
        m->cnt--;
    }
    pthread_mutex_unlock(&m->mu);
    return any;
}

static void th_drain(towner_t *o)
{
    net_view_t v;
    while (rtc_sctp_out_peek(o->s, &v)) {
        mbox_put(o->out, v.p, v.len);
        rtc_sctp_out_pop(o->s);
    }
}

static void *th_owner(void *arg)
{
    towner_t *o = arg;
    rtc_sctp_cfg_t cfg = {.dtls_client = o->client,
                          .on_event = th_event,
                          .wake = th_wake,
                          .user = o,
                          .rto_initial_ms = 100,
                          .rto_min_ms = 20,
                          .rto_max_ms = 500};
    o->s = rtc_sctp_create(&cfg);
    o->sid = -1;
    if (!o->s || rtc_sctp_start(o->s, net_clock_ns()) < 0)
        return NULL;
    if (o->client)
        o->sid = rtc_sctp_channel_open(o->s, &(rtc_sctp_channel_cfg_t){.label = "th"});
    uint8_t buf[RTC_SCTP_MTU];
    size_t len;
    while (!atomic_load(o->stop)) {
        bool busy = false;
        while (mbox_get(o->in, buf, &len)) {
            if (rtc_sctp_input(o->s, buf, len, net_clock_ns()) < 0)
                o->rx_bad++;
            th_drain(o);
            busy = true;
        }
        if (atomic_exchange(&o->wake_flag, false)) {
            (void)rtc_sctp_poll(o->s, net_clock_ns());
            busy = true;
        }
        /* The server learns the sid from the DCEP OPEN; both send TH_MSGS messages. */
        if (o->sid < 0 && !o->client && o->up && rtc_sctp_channel_cnt(o->s) == 1)
            o->sid = 0;
        while (o->sid >= 0 && o->sent < TH_MSGS &&
               rtc_sctp_buffered_amount(o->s, (uint16_t)o->sid) == 0) {
            char m[TH_LEN + 1];
            memset(m, 'x', sizeof m);
            snprintf(m, 16, "m%u|", o->sent);
            if (rtc_sctp_send(o->s, (uint16_t)o->sid, m, TH_LEN, false) < 0)
                break;
            o->sent++;
        }
        th_drain(o);
        if (!busy)
            nanosleep(&(struct timespec){0, 100000}, NULL);
    }
    rtc_sctp_destroy(o->s);
    return NULL;
}

Test(rtc_sctp, owner_threads_and_a_timer_thread)
{
    static mbox_t ab, ba;
    pthread_mutex_init(&ab.mu, NULL);
    pthread_mutex_init(&ba.mu, NULL);
    ab.rng = 1;
    ba.rng = 2;
    static atomic_bool stop;
    static towner_t a, b;
    a = (towner_t){.client = true, .in = &ba, .out = &ab, .stop = &stop};
    b = (towner_t){.client = false, .in = &ab, .out = &ba, .stop = &stop};
    pthread_t ta, tb;
    cr_assert_eq(pthread_create(&ta, NULL, th_owner, &a), 0);
    cr_assert_eq(pthread_create(&tb, NULL, th_owner, &b), 0);
    /* This thread is shard 0: timers only. */
    uint64_t end = net_clock_ns() + 20 * NET_NS_PER_SEC;
    while (net_clock_ns() < end &&
           (atomic_load(&a.rx_done) < TH_MSGS || atomic_load(&b.rx_done) < TH_MSGS)) {
        rtc_sctp_timers_run(net_clock_ns());
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
    /* Then 400 ms more: at least the last delayed SACK (200 ms, RFC 4960 §6.2) leaves from
     * this thread's timer run and must wake its owner. */
    for (uint64_t t = net_clock_ns() + 400 * NET_NS_PER_MS; net_clock_ns() < t;) {
        rtc_sctp_timers_run(net_clock_ns());
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
    atomic_store(&stop, true);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    cr_assert_eq(a.rx, TH_MSGS, "A got %u", a.rx);
    cr_assert_eq(b.rx, TH_MSGS, "B got %u", b.rx);
    cr_assert_eq(a.rx_bad + b.rx_bad, 0);
    cr_assert_gt(atomic_load(&a.wakes) + atomic_load(&b.wakes), 0,
                 "no output came from the timer thread");
    cr_assert_eq(rtc_sctp_assoc_cnt(), 0);
}
