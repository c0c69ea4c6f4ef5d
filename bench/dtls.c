/* bench/dtls.c: urtc-bench dtls. Server-side DTLS 1.2 handshakes per second per core with
 * ECDSA P-256 certificates: urtc's rtc_dtls (use_srtp, mutual certificates, fingerprint check,
 * key export, datagram BIO) against a plain OpenSSL DTLS handshake loop with a default context
 * (server certificate only, no use_srtp, no fingerprint check) in the same run. Client and
 * server run in this one thread; only the time spent in server-side calls is counted. */
#include "bench/bench.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

#include "net/net.h"
#include "rtc/dtls/dtls.h"

#include <time.h>

/* This thread's CPU time: the machine is shared, so wall time would count other processes. */
static uint64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * NET_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* ---------------------------------------------------------------------------------------------
 * urtc: two rtc_dtls_t over a direct in-memory pipe.
 */
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

static int urtc_one(rtc_dtls_ctx_t *cc, rtc_dtls_ctx_t *sc, uint64_t *server_ns)
{
    static q_t qcs, qsc;
    static rtc_dtls_out_t out;
    rtc_dtls_t c, s;
    uint64_t now = cpu_ns();
    qcs.cnt = qcs.head = qsc.cnt = qsc.head = 0;
    if (rtc_dtls_init(&c, cc, RTC_DTLS_CLIENT, rtc_dtls_ctx_fingerprint(sc), now) < 0)
        return -1;
    uint64_t t0 = cpu_ns();
    int ret = rtc_dtls_init(&s, sc, RTC_DTLS_SERVER, rtc_dtls_ctx_fingerprint(cc), now);
    *server_ns += cpu_ns() - t0;
    if (ret < 0 || rtc_dtls_start(&c, now, &out) < 0)
        goto fail;
    push(&qcs, &out);
    for (int step = 0; step < 64; step++) {
        if (c.state == RTC_DTLS_CONNECTED && s.state == RTC_DTLS_CONNECTED)
            break;
        if (qcs.head < qcs.cnt) {
            t0 = cpu_ns();
            ret = rtc_dtls_input(&s, qcs.d[qcs.head], qcs.len[qcs.head], now, &out);
            *server_ns += cpu_ns() - t0;
            qcs.head++;
            if (ret < 0)
                goto fail;
            push(&qsc, &out);
        } else if (qsc.head < qsc.cnt) {
            ret = rtc_dtls_input(&c, qsc.d[qsc.head], qsc.len[qsc.head], now, &out);
            qsc.head++;
            if (ret < 0)
                goto fail;
            push(&qcs, &out);
        } else {
            goto fail;
        }
    }
    rtc_srtp_keys_t k;
    if (s.state != RTC_DTLS_CONNECTED || rtc_dtls_srtp_keys(&s, &k) < 0)
        goto fail;
    t0 = cpu_ns();
    rtc_dtls_fini(&s);
    *server_ns += cpu_ns() - t0;
    rtc_dtls_fini(&c);
    return 0;
fail:
    rtc_dtls_fini(&s);
    rtc_dtls_fini(&c);
    return -1;
}

/* ---------------------------------------------------------------------------------------------
 * Baseline: plain OpenSSL, default DTLS contexts, memory BIOs.
 */
static int accept_any(X509_STORE_CTX *xs, void *arg)
{
    (void)xs, (void)arg;
    return 1;
}

/* A DTLS context with a fresh ECDSA P-256 certificate; @mutual: also require the peer's
 * certificate (accepted unchecked), i.e. the extra work WebRTC's mutual authentication costs. */
static SSL_CTX *base_ctx(bool mutual)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    SSL_CTX *ctx = SSL_CTX_new(DTLS_method());
    if (!key || !x || !ctx)
        return NULL;
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"base", -1, -1, 0);
    X509_set_issuer_name(x, n);
    X509_gmtime_adj(X509_getm_notBefore(x), -86400);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, key);
    if (!X509_sign(x, key, EVP_sha256()) || !SSL_CTX_use_certificate(ctx, x) ||
        !SSL_CTX_use_PrivateKey(ctx, key))
        return NULL;
    X509_free(x);
    EVP_PKEY_free(key);
    if (mutual) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
        SSL_CTX_set_cert_verify_callback(ctx, accept_any, NULL);
    }
    return ctx;
}

static void base_setup(SSL *ssl, BIO *rd, BIO *wr)
{
    BIO_set_mem_eof_return(rd, -1);
    SSL_set_bio(ssl, rd, wr);
    /* Memory BIOs cannot report a path MTU; fix it as rtc_dtls does. */
    SSL_set_options(ssl, SSL_OP_NO_QUERY_MTU);
    DTLS_set_link_mtu(ssl, RTC_DTLS_MTU);
}

static int base_one(SSL_CTX *cctx, SSL_CTX *sctx, uint64_t *server_ns)
{
    uint64_t t0 = cpu_ns();
    SSL *s = SSL_new(sctx);
    BIO *s_in = BIO_new(BIO_s_mem()), *s_out = BIO_new(BIO_s_mem());
    base_setup(s, s_in, s_out);
    SSL_set_accept_state(s);
    *server_ns += cpu_ns() - t0;
    SSL *c = SSL_new(cctx);
    BIO *c_in = BIO_new(BIO_s_mem()), *c_out = BIO_new(BIO_s_mem());
    base_setup(c, c_in, c_out);
    SSL_set_connect_state(c);
    int done_c = 0, done_s = 0, rc = -1;
    char buf[16384];
    for (int step = 0; step < 64 && !(done_c && done_s); step++) {
        if (!done_c)
            done_c = SSL_do_handshake(c) == 1;
        int n;
        while ((n = BIO_read(c_out, buf, sizeof buf)) > 0)
            BIO_write(s_in, buf, n);
        t0 = cpu_ns();
        if (!done_s)
            done_s = SSL_do_handshake(s) == 1;
        *server_ns += cpu_ns() - t0;
        while ((n = BIO_read(s_out, buf, sizeof buf)) > 0)
            BIO_write(c_in, buf, n);
    }
    if (done_c && done_s)
        rc = 0;
    ERR_clear_error();
    t0 = cpu_ns();
    SSL_free(s);
    *server_ns += cpu_ns() - t0;
    SSL_free(c);
    return rc;
}

static int bench_dtls(int argc, char **argv, bool json)
{
    double secs = bench_opt_double(argc, argv, "--seconds", 3.0);
    if (secs <= 0 || secs > 600) {
        fprintf(stderr, "dtls: bad --seconds\n");
        return 2;
    }
    rtc_dtls_ctx_t *uc = rtc_dtls_ctx_create(NULL), *us = rtc_dtls_ctx_create(NULL);
    SSL_CTX *bc = SSL_CTX_new(DTLS_method()), *bs = base_ctx(false);
    SSL_CTX *mc = base_ctx(true), *ms = base_ctx(true);
    if (!uc || !us || !bc || !bs || !mc || !ms) {
        fprintf(stderr, "dtls: setup failed\n");
        return 1;
    }
    /* Warm up both, then alternate in slices so machine noise hits both alike. */
    uint64_t srv_u = 0, srv_b = 0, srv_m = 0, tmp = 0;
    long n_u = 0, n_b = 0, n_m = 0;
    if (urtc_one(uc, us, &tmp) < 0 || base_one(bc, bs, &tmp) < 0 || base_one(mc, ms, &tmp) < 0) {
        fprintf(stderr, "dtls: handshake failed\n");
        return 1;
    }
    uint64_t end = cpu_ns() + (uint64_t)(secs * 3 * NET_NS_PER_SEC);
    while (cpu_ns() < end) {
        for (int i = 0; i < 50; i++, n_u++)
            if (urtc_one(uc, us, &srv_u) < 0) {
                fprintf(stderr, "dtls: urtc handshake failed\n");
                return 1;
            }
        for (int i = 0; i < 50; i++, n_b++)
            if (base_one(bc, bs, &srv_b) < 0) {
                fprintf(stderr, "dtls: baseline handshake failed\n");
                return 1;
            }
        for (int i = 0; i < 50; i++, n_m++)
            if (base_one(mc, ms, &srv_m) < 0) {
                fprintf(stderr, "dtls: mutual baseline handshake failed\n");
                return 1;
            }
    }
    double hs_u = (double)n_u / ((double)srv_u / NET_NS_PER_SEC);
    double hs_b = (double)n_b / ((double)srv_b / NET_NS_PER_SEC);
    double hs_m = (double)n_m / ((double)srv_m / NET_NS_PER_SEC);
    double ratio = hs_u / hs_b;
    printf("dtls: DTLS 1.2 ECDSA P-256 server handshakes per second per core (server CPU only)\n");
    printf("  urtc rtc_dtls (use_srtp, mutual certs, fingerprint, export): %8.0f/s  (%ld)\n", hs_u,
           n_u);
    printf("  plain OpenSSL, default context:                              %8.0f/s  (%ld)\n", hs_b,
           n_b);
    printf("  plain OpenSSL, mutual certificates (information):            %8.0f/s  (%ld)\n", hs_m,
           n_m);
    printf("  ratio %.2f (vs default context), %.2f (vs mutual certificates)\n", ratio,
           hs_u / hs_m);
    if (json) {
        bench_json_t j;
        bench_json_init(&j);
        bench_json_result(&j, "handshakes_per_sec_per_core", hs_u);
        bench_json_result(&j, "baseline_handshakes_per_sec_per_core", hs_b);
        bench_json_result(&j, "baseline_mutual_handshakes_per_sec_per_core", hs_m);
        bench_json_result(&j, "handshakes", (double)n_u);
        bench_json_print(&j, "dtls", ratio);
    }
    rtc_dtls_ctx_destroy(uc);
    rtc_dtls_ctx_destroy(us);
    SSL_CTX_free(bc);
    SSL_CTX_free(bs);
    SSL_CTX_free(mc);
    SSL_CTX_free(ms);
    return 0;
}

BENCH_REGISTER(dtls,
               "DTLS 1.2 server handshakes per second per core with ECDSA P-256: urtc's rtc_dtls "
               "(use_srtp, mutual certificates, SDP fingerprint check, SRTP key export) vs a "
               "plain OpenSSL handshake loop with a default context, alternated in one run; only "
               "server-side CPU time counts; a plain loop with mutual certificates is shown for "
               "information. Options: --seconds S (3 per side).",
               bench_dtls)
