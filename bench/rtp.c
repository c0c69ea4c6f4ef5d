/* bench/rtp.c: urtc-bench rtp.
 *
 * What an SFU does first with every decrypted RTP packet: rtc_rtp_parse() (fixed header,
 * CSRCs, padding, the RFC 8285 extension block split into elements) and three extension
 * lookups through the negotiated registry (transport-wide-cc seq, abs-send-time, mid),
 * decoded. 64 different 1200-byte video packets laid out as Chromium sends them (ids from
 * the Chromium offer fixture: abs-send-time 2, twcc 3, mid 4, rid 10 on some), cycled.
 * One core, packets per second.
 *
 * Baseline, same run: the floor, a minimal fixed-header-only parse (version check and the
 * seq/timestamp/SSRC loads, nothing else) over the same packets. The ratio (ours / floor) is
 * below 1; it says what the full parse and the lookups cost over touching the header at all.
 * Options: --count N (packets per round, default 20000000), --rounds R (default 3; the best
 * round of each side is reported).
 */
#include "bench/bench.h"

#include "net/net.h"
#include "rtc/rtp/rtp.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define NPKT 64
#define PKT_LEN 1200

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static volatile uint64_t sink;

static uint64_t run_ours(uint8_t (*pk)[PKT_LEN], long n, const rtc_rtp_extmap_t *m)
{
    uint64_t acc = 0;
    for (long i = 0; i < n; i++) {
        const uint8_t *b = pk[i & (NPKT - 1)];
        rtc_rtp_pkt_t p;
        if (NET_UNLIKELY(rtc_rtp_parse(b, PKT_LEN, &p) < 0))
            abort();
        uint16_t tw = 0;
        uint32_t ast = 0;
        if (rtc_rtp_ext_twcc_seq(rtc_rtp_ext_get_kind(&p, m, RTC_RTP_EXT_TWCC), &tw) < 0 ||
            rtc_rtp_ext_abs_send_time(rtc_rtp_ext_get_kind(&p, m, RTC_RTP_EXT_ABS_SEND_TIME),
                                      &ast) < 0)
            abort();
        net_view_t mid = rtc_rtp_ext_get_kind(&p, m, RTC_RTP_EXT_MID);
        acc += p.seq + p.ts + p.ssrc + p.payload_len + tw + ast + mid.len;
    }
    return acc;
}

static uint64_t run_floor(uint8_t (*pk)[PKT_LEN], long n)
{
    uint64_t acc = 0;
    for (long i = 0; i < n; i++) {
        const uint8_t *b = pk[i & (NPKT - 1)];
        if (NET_UNLIKELY((b[0] >> 6) != 2))
            abort();
        acc += net_rd16be(b + 2) + net_rd32be(b + 4) + net_rd32be(b + 8);
    }
    return acc;
}

static int bench_rtp(int argc, char **argv, bool json)
{
    long n = bench_opt_long(argc, argv, "--count", 20000000);
    long rounds = bench_opt_long(argc, argv, "--rounds", 3);
    if (n <= 0 || rounds <= 0)
        return 2;
    static uint8_t pk[NPKT][PKT_LEN];
    rtc_rtp_extmap_t m;
    rtc_rtp_extmap_init(&m);
    static const struct {
        uint8_t id;
        rtc_rtp_ext_kind_t k;
    } neg[] = {{14, RTC_RTP_EXT_TOFFSET},
               {2, RTC_RTP_EXT_ABS_SEND_TIME},
               {13, RTC_RTP_EXT_VIDEO_ORIENTATION},
               {3, RTC_RTP_EXT_TWCC},
               {5, RTC_RTP_EXT_PLAYOUT_DELAY},
               {4, RTC_RTP_EXT_MID},
               {10, RTC_RTP_EXT_RID},
               {11, RTC_RTP_EXT_REPAIRED_RID}};
    for (size_t i = 0; i < NET_ARRAY_LEN(neg); i++) {
        const char *u = rtc_rtp_ext_uri(neg[i].k);
        if (rtc_rtp_extmap_set(&m, neg[i].id, u, strlen(u)) < 0)
            return 1;
    }
    for (unsigned i = 0; i < NPKT; i++) {
        uint8_t ast[3], tw[2];
        rtc_rtp_ext_put_abs_send_time(ast, rtc_rtp_abs_send_time(i * 33333333ull));
        rtc_rtp_ext_put_twcc_seq(tw, (uint16_t)(1000 + i));
        rtc_rtp_ext_put_t ext[4] = {
            {2, 3, ast}, {3, 2, tw}, {4, 1, (const uint8_t *)"1"}, {10, 1, (const uint8_t *)"h"}};
        rtc_rtp_hdr_t h = {.marker = (i % 8) == 7,
                           .pt = 96,
                           .seq = (uint16_t)(40000 + i),
                           .ts = 90000u * i,
                           .ssrc = 0x11223344};
        int hl = rtc_rtp_hdr_write(pk[i], PKT_LEN, &h, ext, (i % 4) ? 3 : 4);
        if (hl < 0)
            return 1;
        memset(pk[i] + hl, (int)i, PKT_LEN - (size_t)hl);
    }
    double best_ours = 0, best_floor = 0;
    for (long r = 0; r < rounds; r++) {
        uint64_t t0 = now_ns();
        sink += run_ours(pk, n, &m);
        uint64_t t1 = now_ns();
        sink += run_floor(pk, n);
        uint64_t t2 = now_ns();
        double ours = (double)n * 1e9 / (double)(t1 - t0);
        double fl = (double)n * 1e9 / (double)(t2 - t1);
        best_ours = ours > best_ours ? ours : best_ours;
        best_floor = fl > best_floor ? fl : best_floor;
    }
    double ratio = best_ours / best_floor;
    printf("rtp parse + 3 extension lookups: %.1f Mpkt/s (%.1f ns/pkt)\n", best_ours / 1e6,
           1e9 / best_ours);
    printf("baseline (fixed-header-only parse, the floor): %.1f Mpkt/s (%.1f ns/pkt)\n",
           best_floor / 1e6, 1e9 / best_floor);
    printf("ratio ours / floor: %.3f\n", ratio);
    if (json) {
        bench_json_t j;
        bench_json_init(&j);
        bench_json_result(&j, "parse_lookup_pkts_per_sec", best_ours);
        bench_json_result(&j, "floor_pkts_per_sec", best_floor);
        bench_json_result(&j, "ns_per_pkt", 1e9 / best_ours);
        bench_json_print(&j, "rtp", ratio);
    }
    return 0;
}

BENCH_REGISTER(rtp,
               "RTP parse (header, CSRCs, padding, RFC 8285 extensions) plus twcc/abs-send-time/"
               "mid lookups per second on 1200-byte Chromium-style packets, against a "
               "fixed-header-only parse (the floor) in the same run. --count N --rounds R.",
               bench_rtp)
