/* bench/stun.c: urtc-bench stun.
 *
 * What a lite server does per ICE check: parse a captured Chromium Binding request, check
 * FINGERPRINT and MESSAGE-INTEGRITY (HMAC-SHA1), and build the success response
 * (XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY, FINGERPRINT). One core, requests per second.
 *
 * Baseline, same run: the crypto floor of that work done directly with OpenSSL's EVP_MAC API
 * (the MAC fetched once and one context reused, EVP_MAC_init per message): one HMAC-SHA1 over
 * the request's signed bytes plus one over the response's, nothing else. The ratio (ours /
 * floor) is below 1; how close it gets to 1 is what parsing, CRC-32 and building cost.
 */
#include "bench/bench.h"

#include "net/net.h"
#include "rtc/ice/ice.h"
#include "rtc/stun/stun.h"

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint8_t *load(const char *rel, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/tests/fixtures/%s", TST_SRC_DIR, rel);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *b = malloc(2048);
    *len = b ? fread(b, 1, 2048, f) : 0;
    fclose(f);
    return b;
}

static volatile uint32_t sink;

static int bench_stun(int argc, char **argv, bool json)
{
    long n = bench_opt_long(argc, argv, "--count", 500000);
    size_t len;
    uint8_t *req = load("stun/chromium-156.0.8078.108-binding-request-controlled.bin", &len);
    /* The password is the integrity_key of the fixture's .json sidecar. */
    char jpath[512];
    snprintf(jpath, sizeof jpath, "%s/tests/fixtures/stun/%s.json", TST_SRC_DIR,
             "chromium-156.0.8078.108-binding-request-controlled");
    json_t *side = json_load_file(jpath, 0, NULL);
    const char *pwd = json_string_value(json_object_get(side, "integrity_key"));
    if (!req || !pwd) {
        fprintf(stderr, "stun bench: fixture missing\n");
        return 1;
    }
    net_addr_t src;
    if (net_addr_parse(&src, "127.0.0.1:60420", -1) < 0)
        return 1;
    uint8_t out[256];
    int resp_len = 0;

    /* ours */
    uint64_t t0 = now_ns();
    for (long i = 0; i < n; i++) {
        rtc_stun_msg_t m;
        if (rtc_stun_parse(req, len, &m) < 0 || rtc_stun_check_fingerprint(&m) < 0 ||
            rtc_stun_check_integrity(&m, pwd, strlen(pwd)) < 0) {
            fprintf(stderr, "stun bench: request does not verify\n");
            return 1;
        }
        rtc_stun_wr_t w;
        rtc_stun_wr_init(&w, out, sizeof out, RTC_STUN_BINDING, RTC_STUN_SUCCESS, m.txid);
        rtc_stun_wr_xor_addr(&w, RTC_STUN_A_XOR_MAPPED_ADDRESS, &src);
        rtc_stun_wr_integrity(&w, pwd, strlen(pwd));
        rtc_stun_wr_fingerprint(&w);
        resp_len = rtc_stun_wr_finish(&w);
        sink += (uint32_t)resp_len;
    }
    double ours = (double)n / ((double)(now_ns() - t0) / 1e9);

    /* baseline: two HMAC-SHA1 with EVP_MAC over the same byte counts */
    rtc_stun_msg_t m;
    if (rtc_stun_parse(req, len, &m) < 0)
        return 1;
    size_t req_signed = m.mi_off, resp_signed = (size_t)resp_len - 8 - 24;
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    OSSL_PARAM params[2] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA1", 0),
                            OSSL_PARAM_construct_end()};
    if (!ctx)
        return 1;
    uint8_t md[20];
    size_t mdl;
    t0 = now_ns();
    for (long i = 0; i < n; i++) {
        EVP_MAC_init(ctx, (const unsigned char *)pwd, strlen(pwd), params);
        EVP_MAC_update(ctx, req, req_signed);
        EVP_MAC_final(ctx, md, &mdl, sizeof md);
        sink += md[0];
        EVP_MAC_init(ctx, (const unsigned char *)pwd, strlen(pwd), params);
        EVP_MAC_update(ctx, out, resp_signed);
        EVP_MAC_final(ctx, md, &mdl, sizeof md);
        sink += md[0];
    }
    double base = (double)n / ((double)(now_ns() - t0) / 1e9);
    EVP_MAC_CTX_free(ctx);
    EVP_MAC_free(mac);
    free(req);
    json_decref(side);

    /* The whole lite-agent path: the captured Chromium check (sent as controlling) through
     * rtc_ice_input() of a lite agent holding that receiver's credentials (from the sidecar),
     * answer included. */
    double lite = 0;
    {
        const char *fx = "chromium-156.0.8078.108-binding-request-controlling";
        char bpath[256];
        snprintf(bpath, sizeof bpath, "stun/%s.bin", fx);
        size_t l2;
        uint8_t *r2 = load(bpath, &l2);
        snprintf(jpath, sizeof jpath, "%s/tests/fixtures/stun/%s.json", TST_SRC_DIR, fx);
        json_t *s2 = json_load_file(jpath, 0, NULL);
        const char *pw2 = json_string_value(json_object_get(s2, "integrity_key"));
        rtc_stun_msg_t m2;
        net_view_t uf;
        char ufrag[64] = "";
        if (r2 && pw2 && rtc_stun_parse(r2, l2, &m2) > 0 &&
            rtc_stun_username_ufrag(&m2, &uf) == 0 && uf.len < sizeof ufrag)
            memcpy(ufrag, uf.p, uf.len);
        rtc_ice_cfg_t cfg = {.lite = true, .ufrag = ufrag, .pwd = pw2};
        rtc_ice_t *ice = ufrag[0] ? rtc_ice_create(&cfg) : NULL;
        net_addr_t local;
        if (!ice || net_addr_parse(&local, "127.0.0.1:40000", -1) < 0 ||
            rtc_ice_add_host(ice, &local, 0) < 0) {
            fprintf(stderr, "stun bench: lite agent setup failed\n");
            return 1;
        }
        rtc_ice_dgram_t dg[1];
        t0 = now_ns();
        for (long i = 0; i < n; i++) {
            rtc_ice_out_t o = {dg, 1, 0};
            if (rtc_ice_input(ice, r2, l2, &src, &local, (uint64_t)i, &o) != 0 || o.cnt != 1) {
                fprintf(stderr, "stun bench: lite agent did not answer\n");
                return 1;
            }
            rtc_ice_event_t ev;
            while (rtc_ice_poll(ice, &ev))
                ;
            sink += dg[0].len;
        }
        lite = (double)n / ((double)(now_ns() - t0) / 1e9);
        rtc_ice_destroy(ice);
        json_decref(s2);
        free(r2);
    }

    double ratio = ours / base;
    printf("stun: %ld Chromium binding requests parsed + FINGERPRINT + MESSAGE-INTEGRITY checked "
           "+ success response built\n",
           n);
    printf("  urtc:                      %12.0f req/s (%.0f ns/req)\n", ours, 1e9 / ours);
    printf("  baseline (2x HMAC-SHA1, EVP_MAC, ctx reused): %12.0f /s (%.0f ns)\n", base,
           1e9 / base);
    printf("  ratio urtc / crypto floor: %.2f\n", ratio);
    printf("  urtc lite agent (rtc_ice_input, answer built): %12.0f req/s (%.0f ns), ratio %.2f\n",
           lite, 1e9 / lite, lite / base);
    if (json) {
        bench_json_t j;
        bench_json_init(&j);
        bench_json_result(&j, "urtc_req_per_s", ours);
        bench_json_result(&j, "urtc_ice_lite_req_per_s", lite);
        bench_json_result(&j, "baseline_2x_hmac_sha1_per_s", base);
        bench_json_ratio_named(&j, "stun", ratio);
        bench_json_ratio_named(&j, "ice_lite", lite / base);
        bench_json_print(&j, "stun", -1);
    }
    return 0;
}

BENCH_REGISTER(
    stun,
    "STUN binding requests parsed, MESSAGE-INTEGRITY verified and answered per second "
    "on one core (bare STUN path, and through a lite ICE agent), against the crypto floor "
    "(2 HMAC-SHA1 via EVP_MAC). --count N "
    "(default 500000).",
    bench_stun)
