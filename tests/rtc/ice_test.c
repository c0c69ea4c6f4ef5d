/* tests/rtc/ice_test.c: candidate grammar, and ICE agents wired through an in-test network with
 * deterministic fake time (no sockets, no sleeps): full-full, full-lite, role conflict, 30%
 * loss, restart, consent expiry, srflx gathering, bad input. */
#include "rtc/ice/ice.h"

#include "rtc/stun/stun.h"
#include "tests/support/tst.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

/* ---------------------------------------------------------------------------------------------
 * Candidates
 */
static void parse_ok(const char *s, rtc_ice_cand_t *c)
{
    size_t n = strlen(s);
    int r = rtc_ice_cand_parse((const char *)tst_guard_copy(s, n), n, c);
    cr_assert_eq(r, 0, "%s: %d", s, r);
}

static int parse(const char *s)
{
    rtc_ice_cand_t c;
    size_t n = strlen(s);
    return rtc_ice_cand_parse((const char *)tst_guard_copy(s, n), n, &c);
}

Test(ice, cand_parse_chromium_host)
{
    rtc_ice_cand_t c;
    parse_ok("a=candidate:3362510298 1 udp 2122260223 127.0.0.1 56048 typ host generation 0 "
             "network-id 1 network-cost 10\r\n",
             &c);
    cr_assert_str_eq(c.foundation, "3362510298");
    cr_assert_eq(c.component, 1);
    cr_assert_eq(c.transport, RTC_ICE_UDP);
    cr_assert_eq(c.priority, 2122260223u);
    cr_assert_eq(c.type, RTC_ICE_HOST);
    cr_assert_eq(c.generation, 0);
    cr_assert_str_eq(c.ext, "network-id 1 network-cost 10");
    char buf[NET_ADDR_STRLEN];
    cr_assert_str_eq(net_addr_fmt(&c.addr, buf, sizeof buf), "127.0.0.1:56048");
    char line[512];
    int n = rtc_ice_cand_fmt(&c, line, sizeof line);
    cr_assert_gt(n, 0);
    cr_assert_str_eq(line, "candidate:3362510298 1 udp 2122260223 127.0.0.1 56048 typ host "
                           "generation 0 network-id 1 network-cost 10");
}

Test(ice, cand_parse_tcp_srflx_v6_mdns)
{
    rtc_ice_cand_t c;
    parse_ok("candidate:1 1 TCP 1518280447 ::1 9 typ host tcptype active", &c);
    cr_assert_eq(c.transport, RTC_ICE_TCP);
    cr_assert_eq(c.tcptype, RTC_ICE_TCPTYPE_ACTIVE);
    cr_assert_eq(net_addr_family(&c.addr), AF_INET6);
    parse_ok("candidate:842163049 1 udp 1677729535 203.0.113.7 61000 typ srflx raddr 10.0.0.2 "
             "rport 50000 generation 3 ufrag abcd",
             &c);
    cr_assert_eq(c.type, RTC_ICE_SRFLX);
    cr_assert(c.has_raddr);
    char buf[NET_ADDR_STRLEN];
    cr_assert_str_eq(net_addr_fmt(&c.raddr, buf, sizeof buf), "10.0.0.2:50000");
    cr_assert_eq(c.generation, 3);
    cr_assert_str_eq(c.ext, "ufrag abcd");
    char line[512];
    cr_assert_gt(rtc_ice_cand_fmt(&c, line, sizeof line), 0);
    cr_assert_str_eq(line, "candidate:842163049 1 udp 1677729535 203.0.113.7 61000 typ srflx "
                           "raddr 10.0.0.2 rport 50000 generation 3 ufrag abcd");
    parse_ok("candidate:1 1 udp 2113937151 0b7f6c5e-1d2c-4e0b-9a3e-6f3e2d1c0b9a.local 54321 typ "
             "host generation 0",
             &c);
    cr_assert(rtc_ice_cand_is_mdns(&c));
    cr_assert_eq(c.addr.len, 0);
    cr_assert_eq(c.port, 54321);
    parse_ok("candidate:4 1 udp 16777215 192.0.2.1 3478 typ relay raddr 0.0.0.0 rport 0", &c);
    cr_assert_eq(c.type, RTC_ICE_RELAY);
}

Test(ice, cand_parse_rejects_malformed)
{
    const char *bad[] = {
        "",
        "candidate:",
        "candidate:1 1 udp",
        "candidate:1 0 udp 1 1.2.3.4 5 typ host",           /* component 0 */
        "candidate:1 257 udp 1 1.2.3.4 5 typ host",         /* component > 256 */
        "candidate:1 1 udp 99999999999 1.2.3.4 5 typ host", /* 11 digits */
        "candidate:1 1 udp 1 1.2.3.4 70000 typ host",       /* port */
        "candidate:1 1 udp 1 1.2.3.4 5 type host",          /* "typ" */
        "candidate:1 1 udp 1 1.2.3.4 5 typ bogus",
        "candidate:1 1 udp 1 1.2.3.4 5 typ host raddr", /* extension without value */
        "candidate:1 1 udp 1 1.2.3.4 5 typ host tcptype sideways",
        "candidate:f\xc3\xb6o 1 udp 1 1.2.3.4 5 typ host", /* non ice-char foundation */
        "candidate:123456789012345678901234567890123 1 udp 1 1.2.3.4 5 typ host", /* 33 */
        "candidate:1 1 udp 1 bad_host! 5 typ host",
        "candidat:1 1 udp 1 1.2.3.4 5 typ host",
    };
    for (size_t i = 0; i < NET_ARRAY_LEN(bad); i++)
        cr_assert_eq(parse(bad[i]), -EBADMSG, "%s", bad[i]);
    /* Truncations of a good line never crash and mostly fail. */
    const char *good = "candidate:1 1 udp 2122260223 127.0.0.1 56048 typ host generation 0";
    for (size_t l = 0; l < strlen(good); l++) {
        rtc_ice_cand_t c;
        int r = rtc_ice_cand_parse((const char *)tst_guard_copy(good, l), l, &c);
        cr_assert(r == 0 || r == -EBADMSG);
    }
}

Test(ice, priority_and_foundation)
{
    /* RFC 8445 §5.1.2.1 */
    cr_assert_eq(rtc_ice_priority(RTC_ICE_HOST, 65535, 1), (126u << 24) + (65535u << 8) + 255);
    cr_assert_eq(rtc_ice_priority(RTC_ICE_RELAY, 0, 1), 255u);
    cr_assert_gt(rtc_ice_priority(RTC_ICE_PRFLX, 1, 1), rtc_ice_priority(RTC_ICE_SRFLX, 65535, 1));
    net_addr_t a, b, s;
    cr_assert_eq(net_addr_parse(&a, "10.0.0.1:1000", -1), 0);
    cr_assert_eq(net_addr_parse(&b, "10.0.0.1:2000", -1), 0); /* same IP, other port */
    cr_assert_eq(net_addr_parse(&s, "192.0.2.1:3478", -1), 0);
    char f1[33], f2[33], f3[33], f4[33];
    rtc_ice_foundation(RTC_ICE_HOST, &a, NULL, RTC_ICE_UDP, f1);
    rtc_ice_foundation(RTC_ICE_HOST, &b, NULL, RTC_ICE_UDP, f2);
    rtc_ice_foundation(RTC_ICE_SRFLX, &a, &s, RTC_ICE_UDP, f3);
    rtc_ice_foundation(RTC_ICE_HOST, &a, NULL, RTC_ICE_TCP, f4);
    cr_assert_str_eq(f1, f2);
    cr_assert_str_neq(f1, f3);
    cr_assert_str_neq(f1, f4);
}

/* ---------------------------------------------------------------------------------------------
 * The in-test network. Each node has one or more addresses; a datagram goes to the node that
 * owns its destination after DELAY, unless dropped.
 */
#define MAX_NODES 4
#define MAX_INFLIGHT 4096
#define DELAY_NS (5 * NET_NS_PER_MS)

typedef struct sim_pkt {
    uint64_t at;
    int to;
    net_addr_t src, dst;
    uint16_t len;
    uint8_t data[RTC_ICE_DGRAM_MAX];
} sim_pkt_t;

typedef struct sim {
    rtc_ice_t *ice[MAX_NODES];
    net_addr_t addr[MAX_NODES][2];
    int addr_cnt[MAX_NODES];
    int n;
    uint64_t now;
    sim_pkt_t *q;
    int qn;
    double loss;
    uint64_t rng;
    bool cut[MAX_NODES]; /* drop everything sent to this node */
    bool trickle;        /* forward candidates/EOC between node 0 and 1 */
    int stun_server;     /* node index acting as a STUN server, or -1 */
    uint64_t sent_by[MAX_NODES];
    rtc_ice_state_t state[MAX_NODES];
    int selected_events[MAX_NODES];
    int role_events[MAX_NODES];
    rtc_ice_cand_t last_local[MAX_NODES];
    int local_events[MAX_NODES], eoc[MAX_NODES];
    bool media_gap[MAX_NODES]; /* rtc_ice_selected failed after having succeeded */
    bool media_seen[MAX_NODES];
} sim_t;

static double sim_rand(sim_t *s)
{
    s->rng = s->rng * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(s->rng >> 11) / (double)(1ull << 53);
}

static void sim_init(sim_t *s, uint64_t seed)
{
    memset(s, 0, sizeof *s);
    s->q = calloc(MAX_INFLIGHT, sizeof *s->q);
    s->rng = seed;
    s->now = 1000 * NET_NS_PER_MS;
    s->trickle = true;
    s->stun_server = -1;
}

static void sim_fini(sim_t *s)
{
    for (int i = 0; i < s->n; i++)
        rtc_ice_destroy(s->ice[i]);
    free(s->q);
}

static int sim_owner(sim_t *s, const net_addr_t *a)
{
    for (int i = 0; i < s->n; i++)
        for (int k = 0; k < s->addr_cnt[i]; k++)
            if (net_addr_eq(&s->addr[i][k], a))
                return i;
    return -1;
}

static void sim_send(sim_t *s, int from, const net_addr_t *src, const net_addr_t *dst,
                     const uint8_t *data, size_t len)
{
    s->sent_by[from]++;
    int to = sim_owner(s, dst);
    if (to < 0 || s->cut[to] || s->cut[from] || sim_rand(s) < s->loss)
        return;
    cr_assert_lt(s->qn, MAX_INFLIGHT);
    sim_pkt_t *p = &s->q[s->qn++];
    p->at = s->now + DELAY_NS;
    p->to = to;
    p->src = *src;
    p->dst = *dst;
    p->len = (uint16_t)len;
    memcpy(p->data, data, len);
}

static void sim_flush(sim_t *s, int i, rtc_ice_out_t *out)
{
    for (size_t k = 0; k < out->cnt; k++) {
        rtc_ice_dgram_t *d = &out->dg[k];
        /* the datagram leaves from one of this node's sockets */
        cr_assert_eq(sim_owner(s, &d->local), i);
        sim_send(s, i, &d->local, &d->dst, d->data, d->len);
    }
    out->cnt = 0;
}

static void sim_events(sim_t *s, int i)
{
    rtc_ice_event_t ev;
    while (rtc_ice_poll(s->ice[i], &ev)) {
        switch (ev.type) {
        case RTC_ICE_EV_STATE:
            s->state[i] = ev.state;
            break;
        case RTC_ICE_EV_SELECTED:
            s->selected_events[i]++;
            break;
        case RTC_ICE_EV_ROLE:
            s->role_events[i]++;
            break;
        case RTC_ICE_EV_LOCAL_CANDIDATE:
            s->local_events[i]++;
            s->last_local[i] = ev.cand;
            if (s->trickle && i < 2 && s->ice[1 - i]) {
                /* through "signaling": format and parse, as a real peer would */
                char line[512];
                cr_assert_gt(rtc_ice_cand_fmt(&ev.cand, line, sizeof line), 0);
                rtc_ice_cand_t c;
                cr_assert_eq(rtc_ice_cand_parse(line, strlen(line), &c), 0);
                cr_assert_eq(rtc_ice_add_remote(s->ice[1 - i], &c, s->now), 0);
            }
            break;
        case RTC_ICE_EV_END_OF_CANDIDATES:
            s->eoc[i]++;
            if (s->trickle && i < 2 && s->ice[1 - i])
                rtc_ice_remote_done(s->ice[1 - i], s->now);
            break;
        }
    }
    net_addr_t l, r;
    bool ok = s->ice[i] && rtc_ice_selected(s->ice[i], &l, &r, NULL) == 0;
    if (ok)
        s->media_seen[i] = true;
    else if (s->media_seen[i])
        s->media_gap[i] = true;
}

/* A STUN server node: answers Binding requests with XOR-MAPPED-ADDRESS = 203.0.113.x:port. */
static void sim_stun_server(sim_t *s, sim_pkt_t *p)
{
    rtc_stun_msg_t m;
    if (rtc_stun_parse(p->data, p->len, &m) < 0 || m.cls != RTC_STUN_REQUEST)
        return;
    net_addr_t mapped = p->src;
    mapped.in4.sin_addr.s_addr = htonl(0xCB007100u | 7); /* 203.0.113.7, a "NAT" */
    uint8_t b[128];
    rtc_stun_wr_t w;
    rtc_stun_wr_init(&w, b, sizeof b, RTC_STUN_BINDING, RTC_STUN_SUCCESS, m.txid);
    rtc_stun_wr_xor_addr(&w, RTC_STUN_A_XOR_MAPPED_ADDRESS, &mapped);
    rtc_stun_wr_fingerprint(&w);
    int n = rtc_stun_wr_finish(&w);
    cr_assert_gt(n, 0);
    sim_send(s, p->to, &p->dst, &p->src, b, (size_t)n);
}

/* Runs until @until_ns or until @done returns true. */
static void sim_run(sim_t *s, uint64_t until_ns, bool (*done)(sim_t *))
{
    rtc_ice_dgram_t dg[16];
    rtc_ice_out_t out = {dg, NET_ARRAY_LEN(dg), 0};
    for (int iter = 0; iter < 2000000; iter++) {
        for (int i = 0; i < s->n; i++)
            if (s->ice[i])
                sim_events(s, i);
        if (done && done(s))
            return;
        uint64_t next = until_ns;
        for (int k = 0; k < s->qn; k++)
            if (s->q[k].at < next)
                next = s->q[k].at;
        for (int i = 0; i < s->n; i++)
            if (s->ice[i] && rtc_ice_deadline(s->ice[i]) < next)
                next = rtc_ice_deadline(s->ice[i]);
        if (next >= until_ns) {
            s->now = until_ns;
            return;
        }
        if (next > s->now)
            s->now = next;
        /* deliver due packets, in order */
        for (int k = 0; k < s->qn;) {
            if (s->q[k].at > s->now) {
                k++;
                continue;
            }
            sim_pkt_t p = s->q[k];
            s->q[k] = s->q[--s->qn];
            if (p.to == s->stun_server) {
                sim_stun_server(s, &p);
                continue;
            }
            int r = rtc_ice_input(s->ice[p.to], p.data, p.len, &p.src, &p.dst, s->now, &out);
            cr_assert(r == 0 || r == -ENOENT, "input: %d", r);
            sim_flush(s, p.to, &out);
        }
        for (int i = 0; i < s->n; i++) {
            if (s->ice[i] && rtc_ice_deadline(s->ice[i]) <= s->now) {
                rtc_ice_tick(s->ice[i], s->now, &out);
                sim_flush(s, i, &out);
                /* a tick consumes what was due: no busy loop */
                cr_assert_gt(rtc_ice_deadline(s->ice[i]), s->now, "deadline stuck");
            }
        }
    }
    cr_assert_fail("simulation did not settle");
}

static int sim_add(sim_t *s, const rtc_ice_cfg_t *cfg, const char *addr1, const char *addr2)
{
    int i = s->n++;
    s->ice[i] = rtc_ice_create(cfg);
    cr_assert(s->ice[i]);
    const char *as[2] = {addr1, addr2};
    for (int k = 0; k < 2 && as[k]; k++) {
        cr_assert_eq(net_addr_parse(&s->addr[i][k], as[k], -1), 0);
        s->addr_cnt[i]++;
    }
    return i;
}

/* Exchanges credentials and host candidates, as the SDP would. */
static void sim_connect(sim_t *s, int a, int b)
{
    cr_assert_eq(rtc_ice_set_remote_creds(s->ice[a], rtc_ice_local_ufrag(s->ice[b]),
                                          rtc_ice_local_pwd(s->ice[b]), s->now),
                 0);
    cr_assert_eq(rtc_ice_set_remote_creds(s->ice[b], rtc_ice_local_ufrag(s->ice[a]),
                                          rtc_ice_local_pwd(s->ice[a]), s->now),
                 0);
    for (int i = 0; i < 2; i++) {
        int n = i == 0 ? a : b;
        for (int k = 0; k < s->addr_cnt[n]; k++)
            cr_assert_geq(rtc_ice_add_host(s->ice[n], &s->addr[n][k], s->now), 0);
        rtc_ice_gather_done(s->ice[n], s->now);
    }
}

static bool both_completed(sim_t *s)
{
    return s->state[0] == RTC_ICE_COMPLETED && s->state[1] == RTC_ICE_COMPLETED;
}

/* Both sides send media on the same 5-tuple, mirrored. */
static void assert_same_pair(sim_t *s)
{
    net_addr_t l0, r0, l1, r1;
    cr_assert_eq(rtc_ice_selected(s->ice[0], &l0, &r0, NULL), 0);
    cr_assert_eq(rtc_ice_selected(s->ice[1], &l1, &r1, NULL), 0);
    cr_assert(net_addr_eq(&l0, &r1) && net_addr_eq(&r0, &l1), "pairs differ");
}

static rtc_ice_cfg_t cfg_full(bool controlling, uint64_t tb)
{
    return (rtc_ice_cfg_t){.controlling = controlling, .tie_breaker = tb, .seed = tb + 1};
}

Test(ice, full_full_connects)
{
    sim_t s;
    sim_init(&s, 1);
    rtc_ice_cfg_t ca = cfg_full(true, 10), cb = cfg_full(false, 20);
    /* A has two host addresses: B's one socket talks to two remote 5-tuples */
    sim_add(&s, &ca, "10.0.0.1:5000", "10.0.1.1:5000");
    sim_add(&s, &cb, "10.0.0.2:6000", NULL);
    sim_connect(&s, 0, 1);
    sim_run(&s, s.now + 5 * NET_NS_PER_SEC, both_completed);
    cr_assert(both_completed(&s), "states %s %s", rtc_ice_state_name(s.state[0]),
              rtc_ice_state_name(s.state[1]));
    assert_same_pair(&s);
    /* The media pair's round trip, from a check answered on its first transmission: the
     * simulated link's delay both ways (the controlled side has its own checks too). */
    for (int i = 0; i < 2; i++)
        cr_assert_eq(rtc_ice_rtt_ns(s.ice[i]), 2 * DELAY_NS, "side %d rtt %llu", i,
                     (unsigned long long)rtc_ice_rtt_ns(s.ice[i]));
    cr_assert(rtc_ice_controlling(s.ice[0]) && !rtc_ice_controlling(s.ice[1]));
    cr_assert_geq(rtc_ice_stats(s.ice[1])->responses_sent, 2);
    cr_assert_eq(s.selected_events[0], 1);
    cr_assert_eq(s.eoc[0], 1);
    /* Stays up: consent keeps it alive for a minute. */
    sim_run(&s, s.now + 60 * NET_NS_PER_SEC, NULL);
    cr_assert(both_completed(&s));
    cr_assert_geq(rtc_ice_stats(s.ice[0])->consent_ok, 8);
    cr_assert(!s.media_gap[0] && !s.media_gap[1]);
    sim_fini(&s);
}

Test(ice, full_lite_connects)
{
    sim_t s;
    sim_init(&s, 2);
    rtc_ice_cfg_t ca = cfg_full(true, 10);
    rtc_ice_cfg_t cb = {.lite = true, .ufrag = "s3k7", .pwd = "0123456789abcdefghijkl"};
    sim_add(&s, &ca, "10.0.0.1:5000", NULL);
    sim_add(&s, &cb, "10.0.0.2:6000", NULL);
    sim_connect(&s, 0, 1);
    uint64_t t0 = s.now;
    sim_run(&s, s.now + 5 * NET_NS_PER_SEC, both_completed);
    cr_assert(both_completed(&s), "states %s %s", rtc_ice_state_name(s.state[0]),
              rtc_ice_state_name(s.state[1]));
    /* One pair and nothing better pending: nominated at once, not after the 200 ms wait for
     * better pairs (a lite server is connected only once nominated). */
    cr_assert_lt(s.now - t0, 100 * NET_NS_PER_MS, "completed after %lu ms",
                 (unsigned long)((s.now - t0) / NET_NS_PER_MS));
    assert_same_pair(&s);
    cr_assert_str_eq(rtc_ice_local_ufrag(s.ice[1]), "s3k7");
    cr_assert_eq(rtc_ice_stats(s.ice[1])->checks_sent, 0); /* lite never checks */
    sim_run(&s, s.now + 60 * NET_NS_PER_SEC, NULL);
    cr_assert(both_completed(&s), "after 60 s: %s %s", rtc_ice_state_name(s.state[0]),
              rtc_ice_state_name(s.state[1]));
    sim_fini(&s);
}

Test(ice, full_lite_with_full_starting_controlled)
{
    /* A full agent that starts controlled against a lite agent ends up controlling (487). */
    sim_t s;
    sim_init(&s, 3);
    rtc_ice_cfg_t ca = cfg_full(false, 10);
    rtc_ice_cfg_t cb = {.lite = true};
    sim_add(&s, &ca, "10.0.0.1:5000", NULL);
    sim_add(&s, &cb, "10.0.0.2:6000", NULL);
    sim_connect(&s, 0, 1);
    sim_run(&s, s.now + 10 * NET_NS_PER_SEC, both_completed);
    cr_assert(both_completed(&s));
    cr_assert(rtc_ice_controlling(s.ice[0]));
    sim_fini(&s);
}

static void role_conflict(bool both_controlling)
{
    sim_t s;
    sim_init(&s, 4);
    rtc_ice_cfg_t ca = cfg_full(both_controlling, 1000), cb = cfg_full(both_controlling, 5);
    sim_add(&s, &ca, "10.0.0.1:5000", NULL);
    sim_add(&s, &cb, "10.0.0.2:6000", NULL);
    sim_connect(&s, 0, 1);
    sim_run(&s, s.now + 10 * NET_NS_PER_SEC, both_completed);
    cr_assert(both_completed(&s));
    assert_same_pair(&s);
    /* RFC 8445 §7.3.1.1: the larger tie-breaker (A) controls */
    cr_assert(rtc_ice_controlling(s.ice[0]));
    cr_assert(!rtc_ice_controlling(s.ice[1]));
    cr_assert_eq(s.role_events[0] + s.role_events[1], 1);
    sim_fini(&s);
}

Test(ice, role_conflict_both_controlling)
{
    role_conflict(true);
}

Test(ice, role_conflict_both_controlled)
{
    role_conflict(false);
}

Test(ice, connects_with_30_percent_loss)
{
    for (uint64_t seed = 1; seed <= 8; seed++) {
        sim_t s;
        sim_init(&s, seed * 7919);
        s.loss = 0.30;
        rtc_ice_cfg_t ca = cfg_full(true, 10 + seed), cb = cfg_full(false, 20 + seed);
        sim_add(&s, &ca, "10.0.0.1:5000", NULL);
        sim_add(&s, &cb, "10.0.0.2:6000", NULL);
        sim_connect(&s, 0, 1);
        sim_run(&s, s.now + 20 * NET_NS_PER_SEC, both_completed);
        cr_assert(both_completed(&s), "seed %llu: %s %s", (unsigned long long)seed,
                  rtc_ice_state_name(s.state[0]), rtc_ice_state_name(s.state[1]));
        assert_same_pair(&s);
        cr_assert_gt(rtc_ice_stats(s.ice[0])->retransmits + rtc_ice_stats(s.ice[1])->retransmits,
                     0);
        /* The round trip is the link's, also when checks were retransmitted: it is timed from
         * the latest transmission (from the first it would be an RTO longer). */
        for (int i = 0; i < 2; i++) {
            uint64_t rtt = rtc_ice_rtt_ns(s.ice[i]);
            cr_assert(rtt == 2 * DELAY_NS, "seed %llu side %d: rtt %llu ns",
                      (unsigned long long)seed, i, (unsigned long long)rtt);
        }
        /* and consent survives 30% loss for two minutes */
        sim_run(&s, s.now + 120 * NET_NS_PER_SEC, NULL);
        cr_assert_neq(s.state[0], RTC_ICE_FAILED, "seed %llu", (unsigned long long)seed);
        cr_assert(!s.media_gap[0] && !s.media_gap[1]);
        sim_fini(&s);
    }
}

Test(ice, restart_keeps_media_until_new_pair)
{
    sim_t s;
    sim_init(&s, 5);
    rtc_ice_cfg_t ca = cfg_full(true, 10), cb = cfg_full(false, 20);
    sim_add(&s, &ca, "10.0.0.1:5000", NULL);
    sim_add(&s, &cb, "10.0.0.2:6000", "10.0.0.3:6000");
    sim_connect(&s, 0, 1);
    sim_run(&s, s.now + 5 * NET_NS_PER_SEC, both_completed);
    cr_assert(both_completed(&s));
    sim_run(&s, s.now + 2 * NET_NS_PER_SEC, NULL);
    char old_a[64];
    snprintf(old_a, sizeof old_a, "%s", rtc_ice_local_ufrag(s.ice[0]));
    uint64_t checks_before = rtc_ice_stats(s.ice[0])->checks_sent;

    /* A restarts (new offer); 300 ms later B answers with new credentials; 300 ms later A gets
     * the answer. Media must stay available on both sides all along. */
    cr_assert_eq(rtc_ice_restart(s.ice[0], NULL, NULL, s.now), 0);
    cr_assert_str_neq(rtc_ice_local_ufrag(s.ice[0]), old_a);
    sim_run(&s, s.now + 300 * NET_NS_PER_MS, NULL);
    cr_assert_eq(rtc_ice_restart(s.ice[1], NULL, NULL, s.now), 0);
    cr_assert_eq(rtc_ice_set_remote_creds(s.ice[1], rtc_ice_local_ufrag(s.ice[0]),
                                          rtc_ice_local_pwd(s.ice[0]), s.now),
                 0);
    s.trickle = false;
    /* B re-offers its candidates (the answer carries them) */
    for (int k = 0; k < 2; k++)
        cr_assert_geq(rtc_ice_add_host(s.ice[1], &s.addr[1][k], s.now), 0);
    sim_run(&s, s.now + 300 * NET_NS_PER_MS, NULL);
    cr_assert(!s.media_gap[0] && !s.media_gap[1]);
    cr_assert_eq(rtc_ice_set_remote_creds(s.ice[0], rtc_ice_local_ufrag(s.ice[1]),
                                          rtc_ice_local_pwd(s.ice[1]), s.now),
                 0);
    for (int k = 0; k < 2; k++) {
        rtc_ice_cand_t c = {.component = 1,
                            .transport = RTC_ICE_UDP,
                            .type = RTC_ICE_HOST,
                            .generation = -1,
                            .foundation = "1"};
        c.addr = s.addr[1][k];
        c.priority = rtc_ice_priority(RTC_ICE_HOST, (uint16_t)(60000 - k), 1);
        cr_assert_eq(rtc_ice_add_remote(s.ice[0], &c, s.now), 0);
    }
    s.state[0] = s.state[1] = RTC_ICE_NEW; /* to see them complete again */
    sim_run(&s, s.now + 5 * NET_NS_PER_SEC, both_completed);
    cr_assert(both_completed(&s));
    cr_assert(!s.media_gap[0] && !s.media_gap[1], "media interrupted during the restart");
    assert_same_pair(&s);
    cr_assert_gt(rtc_ice_stats(s.ice[0])->checks_sent, checks_before);
    /* and the new generation keeps consent */
    sim_run(&s, s.now + 40 * NET_NS_PER_SEC, NULL);
    cr_assert(both_completed(&s));
    sim_fini(&s);
}

static bool a_failed(sim_t *s)
{
    return s->state[0] == RTC_ICE_FAILED;
}

Test(ice, consent_expiry_fails_and_stops_sending)
{
    sim_t s;
    sim_init(&s, 6);
    rtc_ice_cfg_t ca = cfg_full(true, 10), cb = cfg_full(false, 20);
    sim_add(&s, &ca, "10.0.0.1:5000", NULL);
    sim_add(&s, &cb, "10.0.0.2:6000", NULL);
    sim_connect(&s, 0, 1);
    sim_run(&s, s.now + 5 * NET_NS_PER_SEC, both_completed);
    cr_assert(both_completed(&s));
    /* B vanishes */
    s.cut[1] = true;
    uint64_t t_cut = s.now;
    bool saw_disconnected = false;
    while (s.now < t_cut + 40 * NET_NS_PER_SEC && s.state[0] != RTC_ICE_FAILED) {
        sim_run(&s, s.now + 500 * NET_NS_PER_MS, a_failed);
        saw_disconnected |= s.state[0] == RTC_ICE_DISCONNECTED;
        if (s.now < t_cut + 25 * NET_NS_PER_SEC) /* 30 s +- one consent interval */
            cr_assert(rtc_ice_selected(s.ice[0], NULL, NULL, NULL) == 0);
    }
    cr_assert(saw_disconnected);
    cr_assert_eq(s.state[0], RTC_ICE_FAILED);
    uint64_t dt = s.now - t_cut;
    cr_assert(dt >= 25 * NET_NS_PER_SEC && dt <= 36 * NET_NS_PER_SEC, "failed after %llu ms",
              (unsigned long long)(dt / NET_NS_PER_MS));
    /* RFC 7675 §5.1: sending stops */
    cr_assert_eq(rtc_ice_selected(s.ice[0], NULL, NULL, NULL), -ENOTCONN);
    uint64_t sent = s.sent_by[0];
    sim_run(&s, s.now + 60 * NET_NS_PER_SEC, NULL);
    cr_assert_eq(s.sent_by[0], sent, "still sending after consent expired");
    sim_fini(&s);
}

Test(ice, lite_consent_expiry)
{
    sim_t s;
    sim_init(&s, 7);
    rtc_ice_cfg_t ca = cfg_full(true, 10), cb = {.lite = true};
    sim_add(&s, &ca, "10.0.0.1:5000", NULL);
    sim_add(&s, &cb, "10.0.0.2:6000", NULL);
    sim_connect(&s, 0, 1);
    sim_run(&s, s.now + 5 * NET_NS_PER_SEC, both_completed);
    cr_assert(both_completed(&s));
    s.cut[0] = true; /* the browser goes away */
    sim_run(&s, s.now + 40 * NET_NS_PER_SEC, NULL);
    cr_assert_eq(s.state[1], RTC_ICE_FAILED);
    cr_assert_eq(rtc_ice_selected(s.ice[1], NULL, NULL, NULL), -ENOTCONN);
    sim_fini(&s);
}

Test(ice, srflx_gathering_and_end_of_candidates)
{
    sim_t s;
    sim_init(&s, 8);
    rtc_ice_cfg_t ca = cfg_full(true, 10);
    sim_add(&s, &ca, "10.0.0.1:5000", NULL);
    s.n = 2; /* node 1 unused */
    s.stun_server = 2;
    s.n = 3;
    cr_assert_eq(net_addr_parse(&s.addr[2][0], "192.0.2.1:3478", -1), 0);
    s.addr_cnt[2] = 1;
    s.trickle = false;
    cr_assert_geq(rtc_ice_add_host(s.ice[0], &s.addr[0][0], s.now), 0);
    cr_assert_eq(rtc_ice_add_stun_server(s.ice[0], &s.addr[0][0], &s.addr[2][0], s.now), 0);
    rtc_ice_gather_done(s.ice[0], s.now);
    sim_run(&s, s.now + 2 * NET_NS_PER_SEC, NULL);
    cr_assert_eq(s.local_events[0], 2);
    cr_assert_eq(s.last_local[0].type, RTC_ICE_SRFLX);
    char buf[NET_ADDR_STRLEN];
    cr_assert_str_eq(net_addr_fmt(&s.last_local[0].addr, buf, sizeof buf), "203.0.113.7:5000");
    cr_assert(s.last_local[0].has_raddr);
    cr_assert_eq(s.eoc[0], 1);
    sim_fini(&s);
}

Test(ice, mdns_and_unusable_candidates_ignored)
{
    rtc_ice_cfg_t ca = cfg_full(true, 10);
    rtc_ice_t *ice = rtc_ice_create(&ca);
    rtc_ice_cand_t c;
    parse_ok("candidate:1 1 udp 2113937151 abcd-ef.local 54321 typ host", &c);
    cr_assert_eq(rtc_ice_add_remote(ice, &c, 0), 0);
    parse_ok("candidate:1 1 tcp 2113937151 10.0.0.9 9 typ host tcptype active", &c);
    cr_assert_eq(rtc_ice_add_remote(ice, &c, 0), 0);
    cr_assert_eq(rtc_ice_stats(ice)->mdns_ignored, 1);
    cr_assert_eq(rtc_ice_stats(ice)->remote_ignored, 1);
    rtc_ice_destroy(ice);
}

Test(ice, bad_credentials_rejected)
{
    rtc_ice_cfg_t c = {.ufrag = "abc"}; /* < 4 */
    cr_assert_null(rtc_ice_create(&c));
    c.ufrag = "ab:cd"; /* not an ice-char */
    cr_assert_null(rtc_ice_create(&c));
    c.ufrag = "abcd";
    c.pwd = "short";
    cr_assert_null(rtc_ice_create(&c));
}

/* Input robustness: garbage, bad MI, unknown attributes, wrong ufrag. */
Test(ice, bad_input_counted_and_answered)
{
    rtc_ice_cfg_t cb = {.lite = true, .ufrag = "lite", .pwd = "0123456789abcdefghijkl"};
    rtc_ice_t *ice = rtc_ice_create(&cb);
    net_addr_t local, src;
    cr_assert_eq(net_addr_parse(&local, "10.0.0.2:6000", -1), 0);
    cr_assert_eq(net_addr_parse(&src, "10.0.0.1:5000", -1), 0);
    cr_assert_geq(rtc_ice_add_host(ice, &local, 0), 0);
    rtc_ice_dgram_t dg[4];
    rtc_ice_out_t out = {dg, 4, 0};
    uint8_t junk[40] = {0, 1, 0, 20};
    cr_assert_eq(rtc_ice_input(ice, tst_guard_copy(junk, 40), 40, &src, &local, 1, &out), -EBADMSG);
    cr_assert_eq(rtc_ice_stats(ice)->rx_bad, 1);
    cr_assert_eq(out.cnt, 0);

    uint8_t b[256], txid[12] = {7};
    rtc_stun_wr_t w;
    /* bad MESSAGE-INTEGRITY -> 401, counted */
    rtc_stun_wr_init(&w, b, sizeof b, RTC_STUN_BINDING, RTC_STUN_REQUEST, txid);
    rtc_stun_wr_str(&w, RTC_STUN_A_USERNAME, "lite:peer");
    rtc_stun_wr_u64(&w, RTC_STUN_A_ICE_CONTROLLING, 5);
    rtc_stun_wr_integrity(&w, "wrong-password-wrong-pw", 23);
    rtc_stun_wr_fingerprint(&w);
    int n = rtc_stun_wr_finish(&w);
    cr_assert_eq(rtc_ice_input(ice, b, (size_t)n, &src, &local, 2, &out), -EACCES);
    cr_assert_eq(out.cnt, 1);
    rtc_stun_msg_t m;
    cr_assert_gt(rtc_stun_parse(out.dg[0].data, out.dg[0].len, &m), 0);
    cr_assert_eq(m.error_code, 401);
    cr_assert_eq(rtc_ice_stats(ice)->rx_auth, 1);
    out.cnt = 0;
    /* bad FINGERPRINT -> dropped */
    b[n - 1] ^= 1;
    cr_assert_eq(rtc_ice_input(ice, b, (size_t)n, &src, &local, 2, &out), -EBADMSG);
    cr_assert_eq(out.cnt, 0);
    /* unknown comprehension-required attribute -> 420 with UNKNOWN-ATTRIBUTES, signed */
    rtc_stun_wr_init(&w, b, sizeof b, RTC_STUN_BINDING, RTC_STUN_REQUEST, txid);
    rtc_stun_wr_str(&w, RTC_STUN_A_USERNAME, "lite:peer");
    rtc_stun_wr_attr(&w, 0x0077, "zz", 2);
    rtc_stun_wr_integrity(&w, "0123456789abcdefghijkl", 22);
    rtc_stun_wr_fingerprint(&w);
    n = rtc_stun_wr_finish(&w);
    cr_assert_eq(rtc_ice_input(ice, b, (size_t)n, &src, &local, 3, &out), 0);
    cr_assert_eq(out.cnt, 1);
    cr_assert_gt(rtc_stun_parse(out.dg[0].data, out.dg[0].len, &m), 0);
    cr_assert_eq(m.error_code, 420);
    cr_assert_eq(net_rd16be(m.unknown_attrs.p), 0x0077);
    cr_assert_eq(rtc_stun_check_integrity(&m, "0123456789abcdefghijkl", 22), 0);
    out.cnt = 0;
    /* a lite server finds the agent by the USERNAME ufrag */
    net_view_t uf;
    cr_assert_eq(rtc_stun_peek_ufrag(b, (size_t)n, &uf), 0);
    cr_assert(net_view_eq_str(uf, rtc_ice_local_ufrag(ice)));
    /* unknown local socket */
    net_addr_t other;
    cr_assert_eq(net_addr_parse(&other, "10.9.9.9:1", -1), 0);
    cr_assert_eq(rtc_ice_input(ice, b, (size_t)n, &src, &other, 3, &out), -EADDRNOTAVAIL);
    /* output array full: dropped and counted, no overflow */
    rtc_ice_out_t none = {dg, 0, 0};
    rtc_stun_wr_init(&w, b, sizeof b, RTC_STUN_BINDING, RTC_STUN_REQUEST, txid);
    rtc_stun_wr_str(&w, RTC_STUN_A_USERNAME, "lite:peer");
    rtc_stun_wr_integrity(&w, "0123456789abcdefghijkl", 22);
    n = rtc_stun_wr_finish(&w);
    cr_assert_eq(rtc_ice_input(ice, b, (size_t)n, &src, &local, 4, &none), 0);
    cr_assert_eq(none.cnt, 0);
    cr_assert_geq(rtc_ice_stats(ice)->out_dropped, 1);
    rtc_ice_destroy(ice);
}

Test(ice, ipv6_and_mixed_families)
{
    sim_t s;
    sim_init(&s, 9);
    rtc_ice_cfg_t ca = cfg_full(true, 10), cb = cfg_full(false, 20);
    sim_add(&s, &ca, "10.0.0.1:5000", "[2001:db8::1]:5000");
    sim_add(&s, &cb, "[2001:db8::2]:6000", NULL);
    sim_connect(&s, 0, 1);
    sim_run(&s, s.now + 5 * NET_NS_PER_SEC, both_completed);
    cr_assert(both_completed(&s));
    assert_same_pair(&s);
    net_addr_t l, r;
    cr_assert_eq(rtc_ice_selected(s.ice[0], &l, &r, NULL), 0);
    cr_assert_eq(net_addr_family(&l), AF_INET6);
    sim_fini(&s);
}

static void restart_creds(sim_t *s, int i)
{
    int o = 1 - i;
    cr_assert_eq(rtc_ice_set_remote_creds(s->ice[i], rtc_ice_local_ufrag(s->ice[o]),
                                          rtc_ice_local_pwd(s->ice[o]), s->now),
                 0);
    rtc_ice_cand_t c = {.component = 1,
                        .transport = RTC_ICE_UDP,
                        .type = RTC_ICE_HOST,
                        .generation = -1,
                        .foundation = "7"};
    c.addr = s->addr[o][0];
    c.priority = rtc_ice_priority(RTC_ICE_HOST, 60000, 1);
    cr_assert_eq(rtc_ice_add_remote(s->ice[i], &c, s->now), 0);
}

Test(ice, full_lite_restart)
{
    sim_t s;
    sim_init(&s, 10);
    rtc_ice_cfg_t ca = cfg_full(true, 10), cb = {.lite = true};
    sim_add(&s, &ca, "10.0.0.1:5000", NULL);
    sim_add(&s, &cb, "10.0.0.2:6000", NULL);
    sim_connect(&s, 0, 1);
    sim_run(&s, s.now + 5 * NET_NS_PER_SEC, both_completed);
    cr_assert(both_completed(&s));
    s.trickle = false;
    /* the browser (full) restarts; the server (lite) answers with new credentials */
    cr_assert_eq(rtc_ice_restart(s.ice[0], NULL, NULL, s.now), 0);
    sim_run(&s, s.now + 200 * NET_NS_PER_MS, NULL);
    cr_assert_eq(rtc_ice_restart(s.ice[1], "s0x1", NULL, s.now), 0);
    restart_creds(&s, 1);
    sim_run(&s, s.now + 200 * NET_NS_PER_MS, NULL);
    restart_creds(&s, 0);
    s.state[0] = s.state[1] = RTC_ICE_NEW;
    sim_run(&s, s.now + 5 * NET_NS_PER_SEC, both_completed);
    cr_assert(both_completed(&s), "%s %s", rtc_ice_state_name(s.state[0]),
              rtc_ice_state_name(s.state[1]));
    cr_assert(!s.media_gap[0] && !s.media_gap[1]);
    assert_same_pair(&s);
    /* consent keeps working with the new credentials on both sides */
    sim_run(&s, s.now + 45 * NET_NS_PER_SEC, NULL);
    cr_assert(both_completed(&s), "%s %s", rtc_ice_state_name(s.state[0]),
              rtc_ice_state_name(s.state[1]));
    sim_fini(&s);
}

Test(ice, stalled_restart_keeps_consent_on_old_pair)
{
    /* B takes A's restart offer but A never gets B's answer: both keep the old pair alive with
     * consent checks signed with the previous credentials, for longer than 30 s. */
    sim_t s;
    sim_init(&s, 11);
    rtc_ice_cfg_t ca = cfg_full(true, 10), cb = cfg_full(false, 20);
    sim_add(&s, &ca, "10.0.0.1:5000", NULL);
    sim_add(&s, &cb, "10.0.0.2:6000", NULL);
    sim_connect(&s, 0, 1);
    sim_run(&s, s.now + 5 * NET_NS_PER_SEC, both_completed);
    cr_assert(both_completed(&s));
    s.trickle = false;
    cr_assert_eq(rtc_ice_restart(s.ice[0], NULL, NULL, s.now), 0);
    cr_assert_eq(rtc_ice_restart(s.ice[1], NULL, NULL, s.now), 0);
    restart_creds(&s, 1);
    uint64_t ok0 = rtc_ice_stats(s.ice[0])->consent_ok, ok1 = rtc_ice_stats(s.ice[1])->consent_ok;
    sim_run(&s, s.now + 60 * NET_NS_PER_SEC, NULL);
    cr_assert(!s.media_gap[0] && !s.media_gap[1]);
    cr_assert_gt(rtc_ice_stats(s.ice[0])->consent_ok, ok0 + 5);
    cr_assert_gt(rtc_ice_stats(s.ice[1])->consent_ok, ok1 + 5);
    cr_assert_neq(s.state[0], RTC_ICE_FAILED);
    cr_assert_neq(s.state[1], RTC_ICE_FAILED);
    /* and when the old path dies during the restart, sending on it stops */
    s.cut[0] = true;
    sim_run(&s, s.now + 40 * NET_NS_PER_SEC, NULL);
    cr_assert_eq(rtc_ice_selected(s.ice[1], NULL, NULL, NULL), -ENOTCONN);
    sim_fini(&s);
}

Test(ice, set_role_before_checks)
{
    sim_t s;
    sim_init(&s, 12);
    rtc_ice_cfg_t ca = cfg_full(false, 10), cb = cfg_full(false, 2000);
    sim_add(&s, &ca, "10.0.0.1:5000", NULL);
    sim_add(&s, &cb, "10.0.0.2:6000", NULL);
    /* A turns out to be the offerer: controlling, although its tie-breaker is smaller */
    cr_assert_eq(rtc_ice_set_controlling(s.ice[0], true), 0);
    sim_connect(&s, 0, 1);
    sim_run(&s, s.now + 5 * NET_NS_PER_SEC, both_completed);
    cr_assert(both_completed(&s));
    cr_assert(rtc_ice_controlling(s.ice[0]) && !rtc_ice_controlling(s.ice[1]));
    cr_assert_eq(s.role_events[0] + s.role_events[1], 0);
    cr_assert_eq(rtc_ice_set_controlling(s.ice[0], false), -EBUSY);
    sim_fini(&s);
    rtc_ice_cfg_t cl = {.lite = true};
    rtc_ice_t *lite = rtc_ice_create(&cl);
    cr_assert_eq(rtc_ice_set_controlling(lite, true), -EINVAL);
    rtc_ice_destroy(lite);
}
