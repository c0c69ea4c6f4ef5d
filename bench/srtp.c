/* bench/srtp.c: urtc-bench srtp. SRTP protect + unprotect of 1200-byte payloads with stock
 * libsrtp2 (Debian's, on NSS) against libsrtp2 with our OpenSSL transforms, both profiles,
 * in one run. */
#include "bench/bench.h"

#include <stdio.h>
#include <string.h>

#include "net/net.h"
#include "rtc/srtp/srtp.h"

typedef struct result {
    double protect_ns;   /* per packet */
    double unprotect_ns; /* per packet */
} result_t;

static void fill_keys(rtc_srtp_keys_t *k, rtc_srtp_profile_t p, bool swap)
{
    memset(k, 0, sizeof *k);
    k->profile = p;
    size_t kl = 0, sl = 0;
    if (rtc_srtp_profile_lens(p, &kl, &sl) < 0)
        return;
    k->key_len = (uint8_t)kl;
    k->salt_len = (uint8_t)sl;
    for (size_t i = 0; i < kl + sl; i++) {
        k->local[i] = (uint8_t)(swap ? 0xa0 + i : 0x10 + i);
        k->remote[i] = (uint8_t)(swap ? 0x10 + i : 0xa0 + i);
    }
}

/* Best of @rounds rounds of @cnt packets: protect on a, unprotect on b. -1 on failure. */
static int run(rtc_srtp_profile_t p, long cnt, int rounds, size_t payload, result_t *res)
{
    rtc_srtp_keys_t ka, kb;
    fill_keys(&ka, p, false);
    fill_keys(&kb, p, true);
    res->protect_ns = res->unprotect_ns = 1e18;
    static uint8_t pkts[64][NET_PKT_SLOT_LEN];
    size_t lens[64];
    uint32_t seq = 1;
    for (int r = 0; r < rounds; r++) {
        rtc_srtp_t a, b;
        if (rtc_srtp_init(&a, &ka) < 0 || rtc_srtp_init(&b, &kb) < 0)
            return -1;
        uint64_t t_prot = 0, t_unprot = 0;
        /* Batches of 64 so protect and unprotect are timed apart, each on warm data. */
        for (long done = 0; done < cnt; done += 64) {
            for (int i = 0; i < 64; i++) {
                uint8_t *q = pkts[i];
                memset(q + 12, i, payload);
                q[0] = 0x80;
                q[1] = 96;
                net_wr16be(q + 2, (uint16_t)seq);
                net_wr32be(q + 4, seq * 3000);
                net_wr32be(q + 8, 0x1234);
                seq++;
                lens[i] = 12 + payload;
            }
            uint64_t t0 = net_clock_ns();
            for (int i = 0; i < 64; i++)
                if (rtc_srtp_protect(&a, pkts[i], &lens[i], sizeof pkts[i]) < 0)
                    return -1;
            uint64_t t1 = net_clock_ns();
            for (int i = 0; i < 64; i++)
                if (rtc_srtp_unprotect(&b, pkts[i], &lens[i]) < 0)
                    return -1;
            uint64_t t2 = net_clock_ns();
            t_prot += t1 - t0;
            t_unprot += t2 - t1;
        }
        long n = (cnt + 63) / 64 * 64;
        res->protect_ns = NET_MIN(res->protect_ns, (double)t_prot / (double)n);
        res->unprotect_ns = NET_MIN(res->unprotect_ns, (double)t_unprot / (double)n);
        rtc_srtp_fini(&a);
        rtc_srtp_fini(&b);
    }
    return 0;
}

static int bench_srtp(int argc, char **argv, bool json)
{
    long cnt = bench_opt_long(argc, argv, "--packets", 200000);
    int rounds = (int)bench_opt_long(argc, argv, "--rounds", 3);
    long payload = bench_opt_long(argc, argv, "--size", 1200);
    if (cnt < 64 || rounds < 1 || payload < 1 || payload > 1400) {
        fprintf(stderr, "srtp: bad options\n");
        return 2;
    }
    static const struct {
        rtc_srtp_profile_t p;
        const char *key;
    } profiles[] = {
        {RTC_SRTP_AES128_CM_SHA1_80, "aes_cm_sha1_80"},
        {RTC_SRTP_AEAD_AES_128_GCM, "aead_aes_128_gcm"},
    };
    result_t res[2][2]; /* [backend][profile] */
    const rtc_srtp_backend_t backends[2] = {RTC_SRTP_BACKEND_STOCK, RTC_SRTP_BACKEND_OPENSSL};
    for (int bi = 0; bi < 2; bi++) {
        if (rtc_srtp_global_init(backends[bi]) < 0) {
            fprintf(stderr, "srtp: init failed\n");
            return 1;
        }
        for (int pi = 0; pi < 2; pi++)
            if (run(profiles[pi].p, cnt, rounds, (size_t)payload, &res[bi][pi]) < 0) {
                fprintf(stderr, "srtp: %s failed\n", profiles[pi].key);
                return 1;
            }
    }
    rtc_srtp_global_fini();

    bench_json_t j;
    bench_json_init(&j);
    printf("srtp: %ld-byte payload, %ld packets x %d rounds (best), ns per packet\n", payload, cnt,
           rounds);
    printf("  %-18s %12s %12s %12s %12s %8s\n", "profile", "stock prot", "stock unpr", "ossl prot",
           "ossl unpr", "ratio");
    for (int pi = 0; pi < 2; pi++) {
        const result_t *s = &res[0][pi], *o = &res[1][pi];
        double stock = s->protect_ns + s->unprotect_ns, ours = o->protect_ns + o->unprotect_ns;
        double ratio = stock / ours; /* throughput ratio: above 1 means ours is faster */
        printf("  %-18s %12.0f %12.0f %12.0f %12.0f %7.2fx\n", profiles[pi].key, s->protect_ns,
               s->unprotect_ns, o->protect_ns, o->unprotect_ns, ratio);
        char key[64];
        snprintf(key, sizeof key, "%s_stock_protect_ns", profiles[pi].key);
        bench_json_result(&j, key, s->protect_ns);
        snprintf(key, sizeof key, "%s_stock_unprotect_ns", profiles[pi].key);
        bench_json_result(&j, key, s->unprotect_ns);
        snprintf(key, sizeof key, "%s_ossl_protect_ns", profiles[pi].key);
        bench_json_result(&j, key, o->protect_ns);
        snprintf(key, sizeof key, "%s_ossl_unprotect_ns", profiles[pi].key);
        bench_json_result(&j, key, o->unprotect_ns);
        bench_json_ratio_named(&j, profiles[pi].key, ratio);
    }
    if (json)
        bench_json_print(&j, "srtp", -1);
    return 0;
}

BENCH_REGISTER(srtp,
               "SRTP protect+unprotect per packet (default 1200-byte payload): stock libsrtp2 "
               "(Debian, NSS) vs libsrtp2 with urtc's OpenSSL transforms, for "
               "AES_CM_128_HMAC_SHA1_80 and AEAD_AES_128_GCM; ratio = stock time / ours. Options: "
               "--packets N (200000), --rounds N (3, best kept), --size BYTES (1200).",
               bench_srtp)
