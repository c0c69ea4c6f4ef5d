/* tests/rtc/dtls_test.c: DTLS-SRTP handshakes between two urtc ends over an in-memory pipe
 * (with loss), fingerprint checks, key export, captured browser ClientHellos.
 *
 * Time: OpenSSL 3.0 reads gettimeofday() for its DTLS timers. This binary defines
 * gettimeofday() (it interposes libc's for libssl), so one simulated clock drives both
 * OpenSSL and the now_ns we pass in: no sleeps, and retransmission is deterministic. */
#include "rtc/dtls/dtls.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

#include "rtc/demux/demux.h"
#include "rtc/srtp/srtp.h"
#include "tests/support/tst.h"

static uint64_t fake_ns; /* 0: real time */
#define FAKE_EPOCH_NS (1700000000ull * NET_NS_PER_SEC)

/* Default visibility (the build hides symbols) so the linker exports it for libssl. */
__attribute__((visibility("default"))) int gettimeofday(struct timeval *restrict tv,
                                                        void *restrict tz)
{
    (void)tz;
    uint64_t ns;
    if (fake_ns) {
        ns = FAKE_EPOCH_NS + fake_ns;
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ns = (uint64_t)ts.tv_sec * NET_NS_PER_SEC + (uint64_t)ts.tv_nsec;
    }
    tv->tv_sec = (time_t)(ns / NET_NS_PER_SEC);
    tv->tv_usec = (suseconds_t)(ns % NET_NS_PER_SEC / 1000);
    return 0;
}

static rtc_dtls_ctx_t *ctx_a, *ctx_b;

static void setup(void)
{
    fake_ns = 1000 * NET_NS_PER_SEC;
    rtc_dtls_ctx_cfg_t cfg = {.rto_max_ms = 4000, .handshake_timeout_ms = 60000};
    ctx_a = rtc_dtls_ctx_create(&cfg);
    ctx_b = rtc_dtls_ctx_create(&cfg);
    cr_assert_not_null(ctx_a);
    cr_assert_not_null(ctx_b);
}

static void teardown(void)
{
    rtc_dtls_ctx_destroy(ctx_a);
    rtc_dtls_ctx_destroy(ctx_b);
}

TestSuite(rtc_dtls, .init = setup, .fini = teardown);

/* ---------------------------------------------------------------------------------------------
 * The pipe: two queues of datagrams, a seeded loss generator, and the simulated clock.
 */
#define QCAP 64
typedef struct queue {
    size_t cnt;
    size_t len[QCAP];
    uint8_t d[QCAP][RTC_DTLS_MTU];
} queue_t;

typedef struct pipe_stats {
    unsigned delivered, dropped, max_dgram, timeouts;
} pipe_stats_t;

static uint32_t rng_state;
static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static void enqueue(queue_t *q, const rtc_dtls_out_t *o, pipe_stats_t *st)
{
    for (size_t i = 0; i < o->tx_cnt; i++) {
        cr_assert_leq(o->tx[i].len, RTC_DTLS_MTU, "datagram above the MTU");
        st->max_dgram = NET_MAX(st->max_dgram, (unsigned)o->tx[i].len);
        cr_assert_lt(q->cnt, QCAP);
        memcpy(q->d[q->cnt], o->tx[i].p, o->tx[i].len);
        q->len[q->cnt++] = o->tx[i].len;
    }
    cr_assert_eq(o->dropped_cnt, 0);
}

static void dequeue(queue_t *q, uint8_t *buf, size_t *len)
{
    *len = q->len[0];
    memcpy(buf, q->d[0], *len);
    memmove(q->d[0], q->d[1], (q->cnt - 1) * sizeof q->d[0]);
    memmove(q->len, q->len + 1, (q->cnt - 1) * sizeof q->len[0]);
    q->cnt--;
}

/* Runs until both ends are connected or one failed; bounded. Returns the number of steps. */
static int run_pipe(rtc_dtls_t *c, rtc_dtls_t *s, unsigned loss_pct, pipe_stats_t *st)
{
    static queue_t q_cs, q_sc; /* client->server, server->client */
    static rtc_dtls_out_t out;
    q_cs.cnt = q_sc.cnt = 0;
    memset(st, 0, sizeof *st);
    cr_assert_eq(rtc_dtls_start(c, fake_ns, &out), 0);
    enqueue(&q_cs, &out, st);
    cr_assert_eq(rtc_dtls_start(s, fake_ns, &out), 0); /* no-op for a server */
    cr_assert_eq(out.tx_cnt, 0);
    int steps;
    for (steps = 0; steps < 2000; steps++) {
        if (c->state == RTC_DTLS_FAILED || s->state == RTC_DTLS_FAILED)
            break;
        if (c->state == RTC_DTLS_CONNECTED && s->state == RTC_DTLS_CONNECTED && !q_cs.cnt &&
            !q_sc.cnt)
            break;
        queue_t *q = q_cs.cnt ? &q_cs : q_sc.cnt ? &q_sc : NULL;
        if (q) {
            uint8_t buf[RTC_DTLS_MTU];
            size_t len;
            dequeue(q, buf, &len);
            if (rng() % 100 < loss_pct) {
                st->dropped++;
                continue;
            }
            st->delivered++;
            rtc_dtls_t *to = q == &q_cs ? s : c;
            int r = rtc_dtls_input(to, buf, len, fake_ns, &out);
            if (r < 0)
                continue; /* state is FAILED; checked at the top */
            enqueue(q == &q_cs ? &q_sc : &q_cs, &out, st);
            continue;
        }
        /* Nothing in flight: jump the clock to the next deadline. */
        uint64_t dl = NET_MIN(rtc_dtls_deadline(c), rtc_dtls_deadline(s));
        if (dl == UINT64_MAX)
            break;
        if (dl > fake_ns)
            fake_ns = dl;
        st->timeouts++;
        if (rtc_dtls_handle_timeout(c, fake_ns, &out) == 0)
            enqueue(&q_cs, &out, st);
        if (rtc_dtls_handle_timeout(s, fake_ns, &out) == 0)
            enqueue(&q_sc, &out, st);
    }
    return steps;
}

static void init_pair(rtc_dtls_t *c, rtc_dtls_t *s, rtc_dtls_ctx_t *cctx, rtc_dtls_ctx_t *sctx)
{
    cr_assert_eq(rtc_dtls_init(c, cctx, RTC_DTLS_CLIENT, rtc_dtls_ctx_fingerprint(sctx), fake_ns),
                 0);
    cr_assert_eq(rtc_dtls_init(s, sctx, RTC_DTLS_SERVER, rtc_dtls_ctx_fingerprint(cctx), fake_ns),
                 0);
}

static void check_keys_match(const rtc_dtls_t *c, const rtc_dtls_t *s)
{
    rtc_srtp_keys_t kc, ks;
    cr_assert_eq(rtc_dtls_srtp_keys(c, &kc), 0);
    cr_assert_eq(rtc_dtls_srtp_keys(s, &ks), 0);
    /* GCM is preferred by both ends (RFC 7714 §14.2 profile 0x0007). */
    cr_assert_eq(kc.profile, RTC_SRTP_AEAD_AES_128_GCM);
    cr_assert_eq(ks.profile, kc.profile);
    cr_assert_eq(kc.key_len, 16);
    cr_assert_eq(kc.salt_len, 12);
    size_t n = (size_t)kc.key_len + kc.salt_len;
    cr_assert_arr_eq(kc.local, ks.remote, n);
    cr_assert_arr_eq(kc.remote, ks.local, n);
    cr_assert(memcmp(kc.local, kc.remote, n) != 0);
}

static void handshake(bool a_is_client, unsigned loss, uint32_t seed, pipe_stats_t *st)
{
    rtc_dtls_t c, s;
    rng_state = seed;
    if (a_is_client)
        init_pair(&c, &s, ctx_a, ctx_b);
    else
        init_pair(&c, &s, ctx_b, ctx_a);
    int steps = run_pipe(&c, &s, loss, st);
    cr_assert_eq(c.state, RTC_DTLS_CONNECTED,
                 "client %s (%d) after %d steps, seed %u, t %llu ms rtx %llu/%llu",
                 rtc_dtls_state_name(c.state), rtc_dtls_error(&c), steps, seed,
                 (unsigned long long)(fake_ns / 1000000), (unsigned long long)c.retransmit_cnt,
                 (unsigned long long)s.retransmit_cnt);
    cr_assert_eq(s.state, RTC_DTLS_CONNECTED, "server %s (%d) after %d steps, seed %u",
                 rtc_dtls_state_name(s.state), rtc_dtls_error(&s), steps, seed);
    cr_assert_str_eq(rtc_dtls_cipher(&c), "ECDHE-ECDSA-AES128-GCM-SHA256");
    check_keys_match(&c, &s);
    cr_assert_leq(st->max_dgram, RTC_DTLS_MTU);
    rtc_dtls_fini(&c);
    rtc_dtls_fini(&s);
}

Test(rtc_dtls, handshake_both_roles_no_loss)
{
    pipe_stats_t st;
    handshake(true, 0, 1, &st);
    cr_assert_eq(st.dropped, 0);
    cr_assert_eq(st.timeouts, 0, "no retransmission needed without loss");
    handshake(false, 0, 1, &st);
}

/* The key log (a debugging aid): one NSS line per association and side, the same on both. */
struct keylog {
    unsigned cnt;
    char line[256];
};

static void keylog_cb(const char *line, void *arg)
{
    struct keylog *k = arg;
    k->cnt++;
    snprintf(k->line, sizeof k->line, "%s", line);
}

Test(rtc_dtls, keylog_gives_one_nss_line_per_side)
{
    struct keylog kc = {0}, ks = {0};
    rtc_dtls_ctx_t *cc =
        rtc_dtls_ctx_create(&(rtc_dtls_ctx_cfg_t){.keylog = keylog_cb, .keylog_arg = &kc});
    rtc_dtls_ctx_t *sc =
        rtc_dtls_ctx_create(&(rtc_dtls_ctx_cfg_t){.keylog = keylog_cb, .keylog_arg = &ks});
    cr_assert(cc && sc);
    rtc_dtls_t c, s;
    init_pair(&c, &s, cc, sc);
    pipe_stats_t st;
    run_pipe(&c, &s, 0, &st);
    cr_assert_eq(c.state, RTC_DTLS_CONNECTED);
    cr_assert_eq(s.state, RTC_DTLS_CONNECTED);
    /* DTLS 1.2: "CLIENT_RANDOM <32 bytes hex> <48-byte master secret hex>" (NSS format). */
    cr_assert_eq(kc.cnt, 1);
    cr_assert_eq(ks.cnt, 1);
    cr_assert_str_eq(kc.line, ks.line);
    cr_assert_eq(strncmp(kc.line, "CLIENT_RANDOM ", 14), 0, "%s", kc.line);
    cr_assert_eq(strlen(kc.line), 14 + 64 + 1 + 96, "%s", kc.line);
    cr_assert_eq(strspn(kc.line + 14, "0123456789abcdefABCDEF "), 64 + 1 + 96);
    rtc_dtls_fini(&c);
    rtc_dtls_fini(&s);
    rtc_dtls_ctx_destroy(cc);
    rtc_dtls_ctx_destroy(sc);
    /* Off by default: the suite's contexts have no callback, and nothing else sees a line. */
    handshake(true, 0, 1, &st);
    cr_assert_eq(kc.cnt, 1);
}

Test(rtc_dtls, handshake_both_roles_20pct_loss)
{
    unsigned dropped = 0, timeouts = 0;
    for (uint32_t seed = 1; seed <= 12; seed++) {
        pipe_stats_t st;
        handshake(seed & 1, 20, seed * 2654435761u, &st);
        dropped += st.dropped;
        timeouts += st.timeouts;
    }
    cr_assert_gt(dropped, 0);
    cr_assert_gt(timeouts, 0, "loss must have been recovered by retransmission");
}

Test(rtc_dtls, exported_keys_drive_srtp)
{
    rtc_dtls_t c, s;
    init_pair(&c, &s, ctx_a, ctx_b);
    pipe_stats_t st;
    run_pipe(&c, &s, 0, &st);
    rtc_srtp_keys_t kc, ks;
    cr_assert_eq(rtc_dtls_srtp_keys(&c, &kc), 0);
    cr_assert_eq(rtc_dtls_srtp_keys(&s, &ks), 0);
    cr_assert_eq(rtc_srtp_global_init(RTC_SRTP_BACKEND_OPENSSL), 0);
    rtc_srtp_t sc, ss;
    cr_assert_eq(rtc_srtp_init(&sc, &kc), 0);
    cr_assert_eq(rtc_srtp_init(&ss, &ks), 0);
    uint8_t pkt[400] = {0x80, 96, 0, 1, 0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef};
    memset(pkt + 12, 0x42, 100);
    size_t len = 112;
    cr_assert_eq(rtc_srtp_protect(&sc, pkt, &len, sizeof pkt), 0);
    cr_assert_eq(rtc_srtp_unprotect(&ss, pkt, &len), 0);
    cr_assert_eq(len, 112);
    cr_assert_eq(pkt[50], 0x42);
    rtc_srtp_fini(&sc);
    rtc_srtp_fini(&ss);
    rtc_srtp_global_fini();
    rtc_dtls_fini(&c);
    rtc_dtls_fini(&s);
}

static void mismatch(bool server_checks_wrong)
{
    rtc_dtls_t c, s;
    /* The wrong fingerprint: the right one's hash over another certificate (ctx_a's own). */
    const char *wrong = rtc_dtls_ctx_fingerprint(ctx_a);
    cr_assert_eq(rtc_dtls_init(&c, ctx_a, RTC_DTLS_CLIENT,
                               server_checks_wrong ? rtc_dtls_ctx_fingerprint(ctx_b) : wrong,
                               fake_ns),
                 0);
    cr_assert_eq(rtc_dtls_init(&s, ctx_b, RTC_DTLS_SERVER,
                               server_checks_wrong ? rtc_dtls_ctx_fingerprint(ctx_b) : wrong,
                               fake_ns),
                 0);
    pipe_stats_t st;
    run_pipe(&c, &s, 0, &st);
    rtc_dtls_t *checker = server_checks_wrong ? &s : &c;
    cr_assert_eq(checker->state, RTC_DTLS_FAILED);
    cr_assert_eq(rtc_dtls_error(checker), -EACCES);
    cr_assert_neq(c.state, RTC_DTLS_CONNECTED);
    rtc_srtp_keys_t k;
    cr_assert_eq(rtc_dtls_srtp_keys(checker, &k), -ENOTCONN);
    rtc_dtls_fini(&c);
    rtc_dtls_fini(&s);
}

Test(rtc_dtls, fingerprint_mismatch_fails_server_side)
{
    mismatch(true);
}

Test(rtc_dtls, fingerprint_mismatch_fails_client_side)
{
    mismatch(false);
}

Test(rtc_dtls, fingerprint_hash_names)
{
    rtc_dtls_fp_t fp;
    cr_assert_eq(rtc_dtls_fp_parse(rtc_dtls_ctx_fingerprint(ctx_a), &fp), 0);
    cr_assert_eq(fp.len, 32);
    char s[RTC_DTLS_FP_STRLEN + 8];
    static const struct {
        const char *name;
        int len;
    } h[] = {{"sha-1", 20}, {"SHA-256", 32}, {"sha-384", 48}, {"sha-512", 64}, {"sha-224", 28}};
    for (size_t i = 0; i < NET_ARRAY_LEN(h); i++) {
        size_t off = (size_t)snprintf(s, sizeof s, "%s ", h[i].name);
        for (int j = 0; j < h[i].len; j++)
            off += (size_t)snprintf(s + off, sizeof s - off, j ? ":%02x" : "%02x", j);
        cr_assert_eq(rtc_dtls_fp_parse(s, &fp), 0, "%s", s);
        cr_assert_eq(fp.len, h[i].len);
        cr_assert_eq(fp.v[h[i].len - 1], h[i].len - 1);
        s[off - 1] = 0; /* one hex digit short */
        cr_assert_eq(rtc_dtls_fp_parse(s, &fp), -EINVAL, "%s", s);
    }
    cr_assert_eq(rtc_dtls_fp_parse("md5 00:11", &fp), -ENOTSUP);
    cr_assert_eq(rtc_dtls_fp_parse("sha-1 00:11:22", &fp), -EINVAL); /* too short */
    cr_assert_eq(rtc_dtls_fp_parse("sha-256", &fp), -EINVAL);
    cr_assert_eq(rtc_dtls_fp_parse("", &fp), -EINVAL);
    cr_assert_eq(rtc_dtls_fp_parse("sha-1 zz:11:22:33:44:55:66:77:88:99:00:11:22:33:44:55:66:77:"
                                   "88:99",
                                   &fp),
                 -EINVAL);
    rtc_dtls_t d;
    cr_assert_eq(rtc_dtls_init(&d, ctx_a, RTC_DTLS_SERVER, "sha-256 nonsense", fake_ns), -EINVAL);
    rtc_dtls_fini(&d);
}

Test(rtc_dtls, fingerprint_arrives_late)
{
    /* The server learns the client's fingerprint from an answer that arrives after the
     * ClientHello (set before the client's Certificate is processed). */
    rtc_dtls_t c, s;
    cr_assert_eq(
        rtc_dtls_init(&c, ctx_a, RTC_DTLS_CLIENT, rtc_dtls_ctx_fingerprint(ctx_b), fake_ns), 0);
    cr_assert_eq(rtc_dtls_init(&s, ctx_b, RTC_DTLS_SERVER, NULL, fake_ns), 0);
    cr_assert_eq(rtc_dtls_set_remote_fingerprint(&s, rtc_dtls_ctx_fingerprint(ctx_a)), 0);
    pipe_stats_t st;
    run_pipe(&c, &s, 0, &st);
    cr_assert_eq(s.state, RTC_DTLS_CONNECTED);
    rtc_dtls_fini(&c);
    rtc_dtls_fini(&s);

    /* Never set: the handshake fails rather than accept any certificate. */
    cr_assert_eq(
        rtc_dtls_init(&c, ctx_a, RTC_DTLS_CLIENT, rtc_dtls_ctx_fingerprint(ctx_b), fake_ns), 0);
    cr_assert_eq(rtc_dtls_init(&s, ctx_b, RTC_DTLS_SERVER, NULL, fake_ns), 0);
    run_pipe(&c, &s, 0, &st);
    cr_assert_eq(s.state, RTC_DTLS_FAILED);
    cr_assert_eq(rtc_dtls_error(&s), -EACCES);
    rtc_dtls_fini(&c);
    rtc_dtls_fini(&s);
}

Test(rtc_dtls, app_data_and_close_notify)
{
    rtc_dtls_t c, s;
    init_pair(&c, &s, ctx_a, ctx_b);
    pipe_stats_t st;
    run_pipe(&c, &s, 0, &st);
    static rtc_dtls_out_t o1, o2;
    cr_assert_eq(rtc_dtls_send(&c, "sctp-packet", 11, &o1), 0);
    cr_assert_eq(o1.tx_cnt, 1);
    cr_assert_eq(rtc_demux_classify(o1.tx[0].p, o1.tx[0].len), RTC_DEMUX_DTLS);
    cr_assert_eq(o1.tx[0].p[0], RTC_DTLS_CT_APPLICATION_DATA);
    cr_assert_eq(rtc_dtls_input(&s, o1.tx[0].p, o1.tx[0].len, fake_ns, &o2), 0);
    cr_assert_eq(o2.rx_cnt, 1);
    cr_assert(net_view_eq_str(o2.rx[0], "sctp-packet"));
    char big[RTC_DTLS_MTU];
    memset(big, 1, sizeof big);
    cr_assert_eq(rtc_dtls_send(&c, big, sizeof big, &o1), -EMSGSIZE);

    cr_assert_eq(rtc_dtls_close(&c, &o1), 0);
    cr_assert_eq(c.state, RTC_DTLS_CLOSED);
    cr_assert_eq(o1.tx_cnt, 1);
    cr_assert_eq(o1.tx[0].p[0], RTC_DTLS_CT_ALERT);
    int ev = rtc_dtls_input(&s, o1.tx[0].p, o1.tx[0].len, fake_ns, &o2);
    cr_assert_eq(ev, RTC_DTLS_EV_CLOSED);
    cr_assert_eq(s.state, RTC_DTLS_CLOSED);
    cr_assert_eq(o2.tx_cnt, 1, "close_notify answered");
    cr_assert_eq(rtc_dtls_send(&s, "x", 1, &o2), -ENOTCONN);
    cr_assert_eq(rtc_dtls_deadline(&s), UINT64_MAX);
    rtc_dtls_fini(&c);
    rtc_dtls_fini(&s);
}

/* Each flight's first retransmission timeout follows the ICE round trip (2 x RTT, clamped to
 * 50-3000 ms, as libwebrtc): 1 s by default, 200 ms on a 100 ms path, and the clamps. */
static uint64_t first_rto_ms(uint64_t rtt_ms)
{
    rtc_dtls_t c;
    static rtc_dtls_out_t o;
    cr_assert_eq(
        rtc_dtls_init(&c, ctx_a, RTC_DTLS_CLIENT, rtc_dtls_ctx_fingerprint(ctx_b), fake_ns), 0);
    rtc_dtls_set_rtt(&c, rtt_ms * NET_NS_PER_MS);
    cr_assert_eq(rtc_dtls_start(&c, fake_ns, &o), 0);
    /* OpenSSL reports the time left with its own rounding (microseconds off). */
    uint64_t ms = (rtc_dtls_deadline(&c) - fake_ns + NET_NS_PER_MS / 2) / NET_NS_PER_MS;
    rtc_dtls_fini(&c);
    return ms;
}

Test(rtc_dtls, first_retransmission_follows_ice_rtt)
{
    cr_assert_eq(first_rto_ms(0), 1000, "unknown round trip: RFC 6347 §4.2.4.1");
    cr_assert_eq(first_rto_ms(100), 200);
    cr_assert_eq(first_rto_ms(5), 50, "lower clamp");
    cr_assert_eq(first_rto_ms(4000), 3000, "upper clamp");
}

Test(rtc_dtls, handshake_timeout)
{
    rtc_dtls_t c;
    cr_assert_eq(
        rtc_dtls_init(&c, ctx_a, RTC_DTLS_CLIENT, rtc_dtls_ctx_fingerprint(ctx_b), fake_ns), 0);
    static rtc_dtls_out_t o;
    uint64_t t0 = fake_ns;
    cr_assert_eq(rtc_dtls_start(&c, fake_ns, &o), 0);
    cr_assert_geq(o.tx_cnt, 1);
    /* OpenSSL reports the time left with its own rounding (microseconds off). */
    cr_assert_lt(rtc_dtls_deadline(&c) - (t0 + 1000 * NET_NS_PER_MS) + NET_NS_PER_MS,
                 2 * NET_NS_PER_MS, "RFC 6347 initial 1 s RTO");
    int r = 0, sent = 0;
    for (int i = 0; i < 100 && r == 0; i++) {
        uint64_t dl = rtc_dtls_deadline(&c);
        cr_assert_neq(dl, UINT64_MAX);
        if (i == 1)
            cr_assert_lt(dl - fake_ns + NET_NS_PER_MS - 2000 * NET_NS_PER_MS, 2 * NET_NS_PER_MS,
                         "RTO doubled (RFC 6347 §4.2.4.1)");
        fake_ns = dl;
        r = rtc_dtls_handle_timeout(&c, fake_ns, &o);
        sent += (int)o.tx_cnt;
    }
    cr_assert_eq(r, -ETIMEDOUT);
    cr_assert_eq(c.state, RTC_DTLS_FAILED);
    cr_assert_gt(sent, 3);
    cr_assert_gt(c.retransmit_cnt, 3);
    cr_assert_leq(fake_ns - t0, 60000 * NET_NS_PER_MS);
    rtc_dtls_fini(&c);
}

/* Feeds captured datagrams to a server and checks it answers with a ServerHello flight. */
static void answer_client_hello(const char **files, size_t cnt)
{
    rtc_dtls_t s;
    cr_assert_eq(
        rtc_dtls_init(&s, ctx_b, RTC_DTLS_SERVER, rtc_dtls_ctx_fingerprint(ctx_a), fake_ns), 0);
    static rtc_dtls_out_t o;
    for (size_t i = 0; i < cnt; i++) {
        size_t len;
        uint8_t *b = tst_fixture(files[i], &len);
        cr_assert_eq(rtc_dtls_input(&s, tst_guard_copy(b, len), len, fake_ns, &o), 0);
        free(b);
        if (i + 1 < cnt)
            cr_assert_eq(o.tx_cnt, 0, "answered before the ClientHello was complete");
    }
    cr_assert_eq(s.state, RTC_DTLS_HANDSHAKING);
    cr_assert_geq(o.tx_cnt, 1, "no ServerHello flight");
    /* Walk the flight: ServerHello (2), Certificate (11), ServerKeyExchange (12),
     * CertificateRequest (13), ServerHelloDone (14), all epoch 0, DTLS 1.2. */
    bool seen[16] = {0};
    for (size_t i = 0; i < o.tx_cnt; i++) {
        cr_assert_leq(o.tx[i].len, RTC_DTLS_MTU);
        rtc_dtls_rec_t r[8];
        int n = rtc_demux_dtls_records(o.tx[i].p, o.tx[i].len, r, 8);
        cr_assert_gt(n, 0);
        for (int j = 0; j < n; j++) {
            cr_assert_eq(r[j].content_type, RTC_DTLS_CT_HANDSHAKE);
            cr_assert_eq(r[j].epoch, 0);
            cr_assert_eq(r[j].version, 0xfefd);
            if (r[j].body.p[0] < 16)
                seen[r[j].body.p[0]] = true;
        }
    }
    cr_assert(seen[2] && seen[11] && seen[12] && seen[13] && seen[14]);
    cr_assert_neq(rtc_dtls_deadline(&s), UINT64_MAX, "flight timer armed");
    rtc_dtls_fini(&s);
}

Test(rtc_dtls, chromium_two_datagram_client_hello_answered)
{
    const char *f[] = {"dtls/chromium-156.0.8078.108-dtls-clienthello-1of2.bin",
                       "dtls/chromium-156.0.8078.108-dtls-clienthello-2of2.bin"};
    answer_client_hello(f, 2);
}

Test(rtc_dtls, aiortc_client_hello_answered)
{
    const char *f[] = {"dtls/aiortc-1.4.0-dtls-clienthello.bin"};
    answer_client_hello(f, 1);
}

Test(rtc_dtls, garbage_is_counted_not_fatal)
{
    rtc_dtls_t s;
    cr_assert_eq(
        rtc_dtls_init(&s, ctx_b, RTC_DTLS_SERVER, rtc_dtls_ctx_fingerprint(ctx_a), fake_ns), 0);
    static rtc_dtls_out_t o;
    uint8_t junk[300];
    rng_state = 7;
    for (int i = 0; i < 200; i++) {
        for (size_t j = 0; j < sizeof junk; j++)
            junk[j] = (uint8_t)rng();
        junk[0] = (uint8_t)(i % 2 ? 22 : rng());
        size_t len = 1 + rng() % sizeof junk;
        int r = rtc_dtls_input(&s, junk, len, fake_ns, &o);
        cr_assert(r >= 0 || s.state == RTC_DTLS_FAILED);
    }
    cr_assert_gt(s.bad_cnt, 0);
    rtc_dtls_fini(&s);
}

/* Both connected and nothing in flight; neither may have failed. */
static bool settled(const rtc_dtls_t *c, const rtc_dtls_t *s, const queue_t *a, const queue_t *b)
{
    cr_assert_neq(c->state, RTC_DTLS_FAILED, "client failed: %d", rtc_dtls_error(c));
    cr_assert_neq(s->state, RTC_DTLS_FAILED, "server failed: %d", rtc_dtls_error(s));
    return c->state == RTC_DTLS_CONNECTED && s->state == RTC_DTLS_CONNECTED && !a->cnt && !b->cnt;
}

/* RFC 6347 §4.2.4: the side that sends the last flight (here the server: OpenSSL's server is
 * done once it has written ChangeCipherSpec + Finished) is connected at once; when that flight
 * is lost, the other side retransmits its own last flight on its timer, and the finished side
 * MUST answer with its last flight again. Lost n times in a row. */
static void final_flight_lost(unsigned times)
{
    rtc_dtls_t c, s;
    static rtc_dtls_out_t out;
    init_pair(&c, &s, ctx_a, ctx_b);
    static queue_t q_cs, q_sc;
    pipe_stats_t st = {0};
    q_cs.cnt = q_sc.cnt = 0;
    cr_assert_eq(rtc_dtls_start(&c, fake_ns, &out), 0);
    enqueue(&q_cs, &out, &st);
    unsigned lost = 0;
    for (int steps = 0; steps < 500; steps++) {
        if (settled(&c, &s, &q_cs, &q_sc))
            break;
        queue_t *q = q_cs.cnt ? &q_cs : q_sc.cnt ? &q_sc : NULL;
        if (q) {
            uint8_t buf[RTC_DTLS_MTU];
            size_t len;
            dequeue(q, buf, &len);
            rtc_dtls_t *to = q == &q_cs ? &s : &c;
            cr_assert_geq(rtc_dtls_input(to, buf, len, fake_ns, &out), 0);
            /* Everything the server sends once connected, while the client is not, is its
             * final flight (or a retransmission of it): lost. */
            if (to == &s && s.state == RTC_DTLS_CONNECTED && c.state != RTC_DTLS_CONNECTED &&
                out.tx_cnt && lost < times) {
                lost++;
                continue;
            }
            enqueue(to == &s ? &q_sc : &q_cs, &out, &st);
            continue;
        }
        uint64_t dl = NET_MIN(rtc_dtls_deadline(&c), rtc_dtls_deadline(&s));
        cr_assert_neq(dl, UINT64_MAX, "nothing in flight and no timer: stuck (client %s)",
                      rtc_dtls_state_name(c.state));
        if (dl > fake_ns)
            fake_ns = dl;
        if (rtc_dtls_handle_timeout(&c, fake_ns, &out) == 0)
            enqueue(&q_cs, &out, &st);
        if (rtc_dtls_handle_timeout(&s, fake_ns, &out) == 0)
            enqueue(&q_sc, &out, &st);
    }
    cr_assert_eq(lost, times, "the final flight was dropped %u times", lost);
    cr_assert_eq(s.state, RTC_DTLS_CONNECTED);
    cr_assert_eq(c.state, RTC_DTLS_CONNECTED, "client %s after its final flight was lost %u times",
                 rtc_dtls_state_name(c.state), times);
    check_keys_match(&c, &s);
    rtc_dtls_fini(&c);
    rtc_dtls_fini(&s);
}

Test(rtc_dtls, final_flight_lost_is_retransmitted)
{
    final_flight_lost(1);
    final_flight_lost(3);
}

/* A link that reorders (tests/hardening/sfu_lossy.sh: 100 ms +-20 ms per datagram) and loses
 * the client's flight 5 once. OpenSSL retransmits a flight one message per write, and drops a
 * ChangeCipherSpec that arrives before the messages it follows (a CCS has no message sequence
 * number to be buffered by): sent one record per datagram, the retransmitted Certificate,
 * ClientKeyExchange, CertificateVerify, CCS and Finished arrived reordered, the CCS was dropped
 * on every retransmission, and the call never connected (an SFU member's pc stuck
 * "connecting" until the SFU gave up after 20 s). Here every batch arrives in reverse order. */
Test(rtc_dtls, retransmitted_flight_survives_reordering)
{
    rtc_dtls_t c, s;
    static rtc_dtls_out_t out;
    static queue_t q_cs, q_sc;
    pipe_stats_t st = {0};
    init_pair(&c, &s, ctx_a, ctx_b);
    q_cs.cnt = q_sc.cnt = 0;
    uint64_t t0 = fake_ns;
    cr_assert_eq(rtc_dtls_start(&c, fake_ns, &out), 0);
    enqueue(&q_cs, &out, &st);
    bool flight5_lost = false;
    unsigned max_dgrams = 0;
    while (fake_ns - t0 < 20 * NET_NS_PER_SEC) {
        if (settled(&c, &s, &q_cs, &q_sc))
            break;
        queue_t *q = q_cs.cnt ? &q_cs : q_sc.cnt ? &q_sc : NULL;
        rtc_dtls_t *from = NULL;
        if (q) {
            uint8_t buf[RTC_DTLS_MTU];
            size_t len;
            dequeue(q, buf, &len);
            rtc_dtls_t *to = q == &q_cs ? &s : &c;
            cr_assert_geq(rtc_dtls_input(to, buf, len, fake_ns, &out), 0);
            from = to;
            /* The client's answer to the server's flight (Certificate .. Finished): lost. */
            if (to == &c && out.tx_cnt && !flight5_lost) {
                flight5_lost = true;
                continue;
            }
        } else {
            uint64_t dl = NET_MIN(rtc_dtls_deadline(&c), rtc_dtls_deadline(&s));
            cr_assert_neq(dl, UINT64_MAX, "no timer while not connected");
            fake_ns = NET_MAX(fake_ns, dl);
            from = rtc_dtls_deadline(&c) <= fake_ns ? &c : &s;
            if (rtc_dtls_handle_timeout(from, fake_ns, &out) < 0)
                continue;
        }
        /* The batch arrives last datagram first. */
        queue_t *dst = from == &c ? &q_cs : &q_sc;
        max_dgrams = NET_MAX(max_dgrams, (unsigned)out.tx_cnt);
        for (size_t i = out.tx_cnt; i-- > 0;) {
            rtc_dtls_out_t one = {.tx_cnt = 1};
            one.tx[0] = out.tx[i];
            enqueue(dst, &one, &st);
        }
    }
    cr_assert(flight5_lost);
    cr_assert_eq(s.state, RTC_DTLS_CONNECTED, "server %s", rtc_dtls_state_name(s.state));
    cr_assert_eq(c.state, RTC_DTLS_CONNECTED,
                 "client %s after %llu ms, %llu retransmissions of its flight in reverse order",
                 rtc_dtls_state_name(c.state), (unsigned long long)((fake_ns - t0) / 1000000),
                 (unsigned long long)c.retransmit_cnt);
    /* One retransmission (1 s) repairs the loss. */
    cr_assert_leq(
        fake_ns - t0, 2000 * NET_NS_PER_MS, "connected after %llu ms, %llu retransmissions",
        (unsigned long long)((fake_ns - t0) / 1000000), (unsigned long long)c.retransmit_cnt);
    /* Our flights (P-256 certificates) fit one datagram each. */
    cr_assert_eq(max_dgrams, 1);
    check_keys_match(&c, &s);
    rtc_dtls_fini(&c);
    rtc_dtls_fini(&s);
}
