/* bench/pc.c: urtc-bench pc. Peer-connection setup time between two urtc peers on loopback,
 * through the public API: from create_offer to connected (ICE, DTLS, and SCTP: a negotiated
 * data channel open on both sides), median and p99 over --count connections (200), and
 * connections established per second with --parallel (10) set up at once.
 *
 * Each connection has its offerer on shard 0 and its answerer on shard 1 of one engine (two
 * threads, two UDP sockets on 127.0.0.1); the offer and answer go through the main thread, as
 * signaling would. The baseline, in the same run: a DTLS 1.2 handshake alone (two rtc_dtls
 * endpoints in one thread, datagrams handed over in memory, same ECDSA P-256 certificates), so
 * the ratio shows what ICE, JSEP, the engine's threads and sockets and SCTP add around it. */
#include "bench/bench.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "net/net.h"
#include "rtc/dtls/dtls.h"
#include "urtc/urtc.h"

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NET_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* ---- one connection ---- */

typedef struct conn {
    urtc_pc_t *pc[2]; /* offerer (shard 0), answerer (shard 1) */
    char offer[16384], answer[16384];
    bool sctp;
    atomic_int stage; /* 1 offer ready, 2 answer ready, -1 failed */
    atomic_int connected, dc_open;
    _Atomic uint64_t t0, t_ice, t_dtls, t_done;
} conn_t;

static void on_ice_state(urtc_pc_t *pc, urtc_ice_state_t s, void *user)
{
    conn_t *c = user;
    uint64_t zero = 0;
    if (pc == c->pc[0] && s == URTC_ICE_CONNECTED)
        atomic_compare_exchange_strong(&c->t_ice, &zero, mono_ns());
}

static void on_dtls_state(urtc_pc_t *pc, urtc_dtls_state_t s, void *user)
{
    conn_t *c = user;
    uint64_t zero = 0;
    if (pc == c->pc[0] && s == URTC_DTLS_CONNECTED)
        atomic_compare_exchange_strong(&c->t_dtls, &zero, mono_ns());
}

static void mark_done(conn_t *c)
{
    if (atomic_load(&c->connected) == 2 && (!c->sctp || atomic_load(&c->dc_open) == 2))
        atomic_store(&c->t_done, mono_ns());
}

static void on_state(urtc_pc_t *pc, urtc_pc_state_t s, void *user)
{
    (void)pc;
    conn_t *c = user;
    if (s == URTC_PC_CONNECTED) {
        atomic_fetch_add(&c->connected, 1);
        mark_done(c);
    } else if (s == URTC_PC_FAILED) {
        atomic_store(&c->stage, -1);
    }
}

static void on_dc_open(urtc_pc_t *pc, int dc, void *user)
{
    (void)pc, (void)dc;
    conn_t *c = user;
    atomic_fetch_add(&c->dc_open, 1);
    mark_done(c);
}

static const urtc_pc_callbacks_t cbs = {.on_ice_state = on_ice_state,
                                        .on_dtls_state = on_dtls_state,
                                        .on_state = on_state,
                                        .on_dc_open = on_dc_open};

static void add_media(conn_t *c, urtc_pc_t *pc)
{
    (void)urtc_pc_add_transceiver(pc, URTC_KIND_AUDIO, URTC_SENDRECV, "s", "a");
    if (c->sctp) {
        urtc_dc_init_t dc = {
            .negotiated = true, .id = 0, .max_retransmits = -1, .max_packet_lifetime_ms = -1};
        (void)urtc_pc_create_data_channel(pc, "bench", &dc);
    }
}

static void offer_cmd(urtc_shard_t *sh, void *arg)
{
    conn_t *c = arg;
    urtc_pc_config_t cfg = {.cname = "bench-o"};
    if (!(c->pc[0] = urtc_pc_create(sh, &cfg, &cbs, c))) {
        atomic_store(&c->stage, -1);
        return;
    }
    add_media(c, c->pc[0]);
    atomic_store(&c->t0, mono_ns()); /* the clock starts at create_offer */
    if (urtc_pc_create_offer(c->pc[0], c->offer, sizeof c->offer) < 0 ||
        urtc_pc_set_local_description(c->pc[0], URTC_SDP_OFFER, c->offer) < 0) {
        atomic_store(&c->stage, -1);
        return;
    }
    atomic_store(&c->stage, 1);
}

static void answer_cmd(urtc_shard_t *sh, void *arg)
{
    conn_t *c = arg;
    /* A socket of its own: many answerers on shard 1 talk to the one socket of shard 0. */
    urtc_pc_config_t cfg = {.cname = "bench-a", .own_socket = true};
    if (!(c->pc[1] = urtc_pc_create(sh, &cfg, &cbs, c)) ||
        urtc_pc_set_remote_description(c->pc[1], URTC_SDP_OFFER, c->offer) < 0) {
        atomic_store(&c->stage, -1);
        return;
    }
    add_media(c, c->pc[1]);
    if (urtc_pc_create_answer(c->pc[1], c->answer, sizeof c->answer) < 0 ||
        urtc_pc_set_local_description(c->pc[1], URTC_SDP_ANSWER, c->answer) < 0) {
        atomic_store(&c->stage, -1);
        return;
    }
    atomic_store(&c->stage, 2);
}

static void set_answer_cmd(urtc_shard_t *sh, void *arg)
{
    (void)sh;
    conn_t *c = arg;
    if (urtc_pc_set_remote_description(c->pc[0], URTC_SDP_ANSWER, c->answer) < 0)
        atomic_store(&c->stage, -1);
}

static void close0_cmd(urtc_shard_t *sh, void *arg)
{
    (void)sh;
    conn_t *c = arg;
    if (c->pc[0])
        urtc_pc_close(c->pc[0]);
    c->pc[0] = NULL;
}

static void close1_cmd(urtc_shard_t *sh, void *arg)
{
    (void)sh;
    conn_t *c = arg;
    if (c->pc[1])
        urtc_pc_close(c->pc[1]);
    c->pc[1] = NULL;
}

static void post(urtc_engine_t *e, int shard, void (*fn)(urtc_shard_t *, void *), void *arg)
{
    while (urtc_engine_post(e, shard, fn, arg) == -EAGAIN)
        usleep(100);
}

/* Waits (bounded) until every connection of @cs reaches @stage; false on failure/timeout. */
static bool wait_stage(conn_t *cs, int n, int stage)
{
    uint64_t end = mono_ns() + 5 * NET_NS_PER_SEC;
    for (int i = 0; i < n; i++) {
        int s;
        while ((s = atomic_load(&cs[i].stage)) < stage && s >= 0 && mono_ns() < end)
            usleep(20);
        if (s < stage)
            return false;
    }
    return true;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct_ms(uint64_t *v, int n, double p)
{
    qsort(v, (size_t)n, sizeof *v, cmp_u64);
    int i = (int)(p * (n - 1) + 0.5);
    return (double)v[i] / 1e6;
}

/* ---- baseline: the DTLS handshake alone ---- */

typedef struct q {
    size_t cnt, head;
    size_t len[64];
    uint8_t d[64][RTC_DTLS_MTU];
} q_t;

static void push(q_t *q, const rtc_dtls_out_t *o)
{
    for (size_t i = 0; i < o->tx_cnt && q->cnt < 64; i++) {
        memcpy(q->d[q->cnt], o->tx[i].p, o->tx[i].len);
        q->len[q->cnt++] = o->tx[i].len;
    }
}

/* One handshake between two rtc_dtls endpoints; its wall time in ns, 0 on failure. */
static uint64_t dtls_one(rtc_dtls_ctx_t *cc, rtc_dtls_ctx_t *sc)
{
    static q_t qcs, qsc;
    static rtc_dtls_out_t out;
    rtc_dtls_t c, s;
    uint64_t t0 = mono_ns(), now = t0;
    qcs.cnt = qcs.head = qsc.cnt = qsc.head = 0;
    if (rtc_dtls_init(&c, cc, RTC_DTLS_CLIENT, rtc_dtls_ctx_fingerprint(sc), now) < 0)
        return 0;
    if (rtc_dtls_init(&s, sc, RTC_DTLS_SERVER, rtc_dtls_ctx_fingerprint(cc), now) < 0) {
        rtc_dtls_fini(&c);
        return 0;
    }
    uint64_t took = 0;
    if (rtc_dtls_start(&c, now, &out) < 0)
        goto out;
    push(&qcs, &out);
    for (int step = 0; step < 64; step++) {
        if (c.state == RTC_DTLS_CONNECTED && s.state == RTC_DTLS_CONNECTED)
            break;
        if (qcs.head < qcs.cnt) {
            if (rtc_dtls_input(&s, qcs.d[qcs.head], qcs.len[qcs.head], now, &out) < 0)
                goto out;
            qcs.head++;
            push(&qsc, &out);
        } else if (qsc.head < qsc.cnt) {
            if (rtc_dtls_input(&c, qsc.d[qsc.head], qsc.len[qsc.head], now, &out) < 0)
                goto out;
            qsc.head++;
            push(&qcs, &out);
        } else {
            goto out;
        }
    }
    if (c.state == RTC_DTLS_CONNECTED && s.state == RTC_DTLS_CONNECTED)
        took = mono_ns() - t0;
out:
    rtc_dtls_fini(&s);
    rtc_dtls_fini(&c);
    return took;
}

/* ---- the benchmark ---- */

static int bench_pc(int argc, char **argv, bool json)
{
    int count = (int)bench_opt_long(argc, argv, "--count", 200);
    int par = (int)bench_opt_long(argc, argv, "--parallel", 10);
    bool sctp = !bench_opt_flag(argc, argv, "--no-sctp");
    if (count < 1 || count > 100000 || par < 1 || par > 1000) {
        fprintf(stderr, "pc: bad --count or --parallel\n");
        return 2;
    }
    if (par > count)
        par = count;
    urtc_engine_config_t ecfg = {.shards = 2};
    urtc_engine_t *e = urtc_engine_create(&ecfg);
    if (!e || urtc_engine_shards(e) != 2) {
        fprintf(stderr, "pc: engine with two shards failed\n");
        return 1;
    }
    conn_t *cs = calloc((size_t)par, sizeof *cs);
    uint64_t *lat = calloc((size_t)count, sizeof *lat), *ice = calloc((size_t)count, sizeof *ice),
             *dtls = calloc((size_t)count, sizeof *dtls);
    if (!cs || !lat || !ice || !dtls)
        return 1;
    int ok_n = 0, failed = 0;
    uint64_t busy_ns = 0; /* wall time with connections being set up */
    while (ok_n < count && failed <= count / 10) {
        int n = count - ok_n < par ? count - ok_n : par;
        memset(cs, 0, sizeof *cs * (size_t)n);
        uint64_t w0 = mono_ns();
        for (int i = 0; i < n; i++) {
            cs[i].sctp = sctp;
            post(e, 0, offer_cmd, &cs[i]);
        }
        bool ok = wait_stage(cs, n, 1);
        for (int i = 0; ok && i < n; i++)
            post(e, 1, answer_cmd, &cs[i]);
        ok = ok && wait_stage(cs, n, 2);
        for (int i = 0; ok && i < n; i++)
            post(e, 0, set_answer_cmd, &cs[i]);
        /* Connected: both sides, and the channel open on both when SCTP is on. */
        uint64_t end = mono_ns() + 10 * NET_NS_PER_SEC;
        for (int i = 0; ok && i < n; i++)
            while (!atomic_load(&cs[i].t_done) && atomic_load(&cs[i].stage) >= 0 && mono_ns() < end)
                usleep(50);
        busy_ns += mono_ns() - w0;
        for (int i = 0; i < n; i++) {
            uint64_t t0 = atomic_load(&cs[i].t0), td = atomic_load(&cs[i].t_done);
            if (!ok || !td || atomic_load(&cs[i].stage) < 0) {
                failed++;
                continue;
            }
            lat[ok_n] = td - t0;
            ice[ok_n] = atomic_load(&cs[i].t_ice) - t0;
            dtls[ok_n] = atomic_load(&cs[i].t_dtls) - t0;
            ok_n++;
        }
        for (int i = 0; i < n; i++) {
            post(e, 0, close0_cmd, &cs[i]);
            post(e, 1, close1_cmd, &cs[i]);
        }
        usleep(20000); /* the closes run before the structs are reused */
    }
    /* The closes were posted before this: they run before the shards stop. */
    urtc_engine_destroy(e);
    if (ok_n == 0 || failed > count / 10) {
        fprintf(stderr, "pc: %d connections established, %d failed\n", ok_n, failed);
        return 1;
    }
    /* Connections that took over 500 ms: on loopback that is a lost first DTLS flight and the
     * client's 1 s retransmission timer (RFC 6347 §4.2.4.1), see docs/api.md. */
    int slow = 0;
    for (int i = 0; i < ok_n; i++)
        slow += lat[i] > 500 * NET_NS_PER_MS;
    double med = pct_ms(lat, ok_n, 0.5), p99 = pct_ms(lat, ok_n, 0.99);
    double ice_med = pct_ms(ice, ok_n, 0.5), dtls_med = pct_ms(dtls, ok_n, 0.5);
    double cps = (double)ok_n / ((double)busy_ns / 1e9);

    /* Baseline: the DTLS handshake alone, same certificates, same count. */
    rtc_dtls_ctx_t *cc = rtc_dtls_ctx_create(NULL), *sc = rtc_dtls_ctx_create(NULL);
    if (!cc || !sc)
        return 1;
    uint64_t *base = calloc((size_t)ok_n, sizeof *base);
    (void)dtls_one(cc, sc); /* warm-up */
    for (int i = 0; i < ok_n; i++)
        if (!(base[i] = dtls_one(cc, sc))) {
            fprintf(stderr, "pc: baseline handshake failed\n");
            return 1;
        }
    rtc_dtls_ctx_destroy(cc);
    rtc_dtls_ctx_destroy(sc);
    double b_med = pct_ms(base, ok_n, 0.5), b_p99 = pct_ms(base, ok_n, 0.99);
    double ratio = med / b_med;

    printf("pc: create_offer -> connected (ICE + DTLS%s), two urtc peers on loopback, %d "
           "connections, %d at a time\n",
           sctp ? " + SCTP data channel open both sides" : "", ok_n, par);
    printf("  urtc API:   median %8.3f ms  p99 %8.3f ms  (offerer ICE connected at %.3f ms, DTLS "
           "at %.3f ms, medians)\n",
           med, p99, ice_med, dtls_med);
    printf("  baseline:   median %8.3f ms  p99 %8.3f ms  (one DTLS 1.2 handshake alone, in "
           "memory, one thread)\n",
           b_med, b_p99);
    printf("  ratio %.1f (median, ours / baseline); %.1f connections/s established; %d failed; "
           "%d over 500 ms (DTLS retransmission)\n",
           ratio, cps, failed, slow);
    if (json) {
        bench_json_t j;
        bench_json_init(&j);
        bench_json_result(&j, "connect_median_ms", med);
        bench_json_result(&j, "connect_p99_ms", p99);
        bench_json_result(&j, "ice_connected_median_ms", ice_med);
        bench_json_result(&j, "dtls_connected_median_ms", dtls_med);
        bench_json_result(&j, "connections_per_sec", cps);
        bench_json_result(&j, "connections", ok_n);
        bench_json_result(&j, "failed", failed);
        bench_json_result(&j, "over_500ms", slow);
        bench_json_result(&j, "parallel", par);
        bench_json_result(&j, "sctp", sctp);
        bench_json_result(&j, "baseline_dtls_median_ms", b_med);
        bench_json_result(&j, "baseline_dtls_p99_ms", b_p99);
        bench_json_print(&j, "pc", ratio);
    }
    free(cs);
    free(lat);
    free(ice);
    free(dtls);
    free(base);
    return 0;
}

BENCH_REGISTER(pc,
               "Peer-connection setup between two urtc peers on loopback through the public API: "
               "time from create_offer to connected (ICE, DTLS, and a negotiated data channel "
               "open on both sides: SCTP), median and p99, and connections established per "
               "second; offerer on shard 0, answerer on shard 1, offer and answer passed by the "
               "main thread. Baseline in the same run: one DTLS 1.2 handshake alone between two "
               "rtc_dtls endpoints in memory (ratio = median / baseline median). Options: --count "
               "N (200), --parallel K (10 set up at once), --no-sctp.",
               bench_pc)
