/* tests/rtc/rtcp_test.c: RTCP known answers for every type (bytes laid out by hand from the
 * RFC diagrams, checked in both directions), compound rules, malformed input. */
#include "rtc/rtcp/rtcp.h"

#include "tests/support/tst.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

static size_t hex(const char *h, uint8_t *out)
{
    return tst_hex(h, out, 4096);
}

/* SR (RC=1) + SDES CNAME "abcdef", RFC 3550 §6.4.1 and §6.5. */
static const char *sr_sdes = "81 c8 00 0c 11 22 33 44" /* SR, length 12, SSRC */
                             "e8 1b 4c 8a 80 00 00 00" /* NTP */
                             "00 01 e2 40 00 00 00 64" /* RTP ts 123456, 100 packets */
                             "00 00 fa 00"             /* 64000 octets */
                             "55 66 77 88 40 00 00 05" /* block: SSRC, 1/4 lost, cum 5 */
                             "00 01 00 10 00 00 00 20" /* ext high seq, jitter 32 */
                             "4c 8a 80 00 00 01 80 00" /* LSR, DLSR 1.5 s */
                             "81 ca 00 04 11 22 33 44" /* SDES, SC=1, length 4 */
                             "01 06 61 62 63 64 65 66 00 00 00 00";

static void expect_bytes(const uint8_t *got, size_t got_len, const char *want_hex)
{
    uint8_t want[4096];
    size_t n = hex(want_hex, want);
    cr_assert_eq(got_len, n, "length %zu, want %zu", got_len, n);
    cr_assert(memcmp(got, want, n) == 0, "bytes differ");
}

Test(rtcp, sr_and_sdes_known_answer_both_ways)
{
    uint8_t b[256];
    size_t n = hex(sr_sdes, b);
    const uint8_t *g = tst_guard_copy(b, n);
    rtc_rtcp_hdr_t h[4];
    cr_assert_eq(rtc_rtcp_split(g, n, RTC_RTCP_STRICT, h, 4), 2);
    rtc_rtcp_sr_t sr;
    cr_assert_eq(rtc_rtcp_sr_parse(&h[0], &sr), 0);
    cr_assert_eq(sr.ssrc, 0x11223344);
    cr_assert_eq(sr.ntp, 0xe81b4c8a80000000ull);
    cr_assert_eq(sr.rtp_ts, 123456);
    cr_assert_eq(sr.pkt_cnt, 100);
    cr_assert_eq(sr.octet_cnt, 64000);
    cr_assert_eq(sr.rb_cnt, 1);
    cr_assert_eq(sr.rb[0].ssrc, 0x55667788);
    cr_assert_eq(sr.rb[0].fraction_lost, 64);
    cr_assert_eq(sr.rb[0].cum_lost, 5);
    cr_assert_eq(sr.rb[0].ext_high_seq, 0x10010);
    cr_assert_eq(sr.rb[0].jitter, 32);
    cr_assert_eq(sr.rb[0].lsr, 0x4c8a8000);
    cr_assert_eq(sr.rb[0].dlsr, 0x18000);
    rtc_rtcp_sdes_chunk_t c[2];
    cr_assert_eq(rtc_rtcp_sdes_parse(&h[1], c, 2), 1);
    cr_assert_eq(c[0].ssrc, 0x11223344);
    cr_assert(net_view_eq_str(c[0].cname, "abcdef"));
    rtc_rtcp_rr_t rr;
    cr_assert_eq(rtc_rtcp_rr_parse(&h[0], &rr), -EBADMSG); /* wrong type */

    uint8_t out[256];
    rtc_rtcp_wr_t w;
    rtc_rtcp_wr_init(&w, out, sizeof out);
    cr_assert_eq(rtc_rtcp_wr_sr(&w, &sr), 0);
    cr_assert_eq(rtc_rtcp_wr_sdes_cname(&w, 0x11223344, "abcdef", 6), 0);
    int len = rtc_rtcp_wr_finish(&w);
    cr_assert_gt(len, 0);
    expect_bytes(out, (size_t)len, sr_sdes);
    /* Capacity one byte short fails, stickily. */
    rtc_rtcp_wr_init(&w, out, n - 1);
    cr_assert_eq(rtc_rtcp_wr_sr(&w, &sr), 0);
    cr_assert_eq(rtc_rtcp_wr_sdes_cname(&w, 0x11223344, "abcdef", 6), -ENOSPC);
    cr_assert_eq(rtc_rtcp_wr_pli(&w, 1, 2), -ENOSPC);
    cr_assert_eq(rtc_rtcp_wr_finish(&w), -ENOSPC);
}

Test(rtcp, rr_two_blocks_negative_cumulative_loss)
{
    const char *x = "82 c9 00 0d 00 00 00 09"
                    "00 00 00 01 00 ff ff fe 00 00 ff ff 00 00 00 00 00 00 00 00 00 00 00 00"
                    "00 00 00 02 ff 7f ff ff 00 02 00 00 00 00 01 00 12 34 56 78 00 00 00 10";
    uint8_t b[256];
    size_t n = hex(x, b);
    rtc_rtcp_hdr_t h[2];
    cr_assert_eq(rtc_rtcp_split(tst_guard_copy(b, n), n, RTC_RTCP_STRICT, h, 2), 1);
    rtc_rtcp_rr_t rr;
    cr_assert_eq(rtc_rtcp_rr_parse(&h[0], &rr), 0);
    cr_assert_eq(rr.ssrc, 9);
    cr_assert_eq(rr.rb_cnt, 2);
    cr_assert_eq(rr.rb[0].cum_lost, -2);
    cr_assert_eq(rr.rb[0].ext_high_seq, 0xffff);
    cr_assert_eq(rr.rb[1].fraction_lost, 255);
    cr_assert_eq(rr.rb[1].cum_lost, 0x7fffff);
    cr_assert_eq(rr.rb[1].lsr, 0x12345678);
    uint8_t out[256];
    rtc_rtcp_wr_t w;
    rtc_rtcp_wr_init(&w, out, sizeof out);
    cr_assert_eq(rtc_rtcp_wr_rr(&w, &rr), 0);
    expect_bytes(out, (size_t)rtc_rtcp_wr_finish(&w), x);
    /* Counts beyond 24 bits are clamped on the wire. */
    rr.rb[1].cum_lost = 0x1000000;
    rr.rb[0].cum_lost = -0x1000000;
    rtc_rtcp_wr_init(&w, out, sizeof out);
    cr_assert_eq(rtc_rtcp_wr_rr(&w, &rr), 0);
    rtc_rtcp_rr_t back;
    cr_assert_eq(rtc_rtcp_split(out, (size_t)rtc_rtcp_wr_finish(&w), 0, h, 2), 1);
    cr_assert_eq(rtc_rtcp_rr_parse(&h[0], &back), 0);
    cr_assert_eq(back.rb[1].cum_lost, 0x7fffff);
    cr_assert_eq(back.rb[0].cum_lost, -0x800000);
}

Test(rtcp, bye_with_reason_known_answer)
{
    const char *x = "82 cb 00 03 00 00 00 01 00 00 00 02 03 62 79 65";
    uint8_t b[64];
    size_t n = hex(x, b);
    rtc_rtcp_hdr_t h[1];
    cr_assert_eq(rtc_rtcp_split(tst_guard_copy(b, n), n, 0, h, 1), 1);
    rtc_rtcp_bye_t bye;
    cr_assert_eq(rtc_rtcp_bye_parse(&h[0], &bye), 0);
    cr_assert_eq(bye.cnt, 2);
    cr_assert_eq(bye.ssrc[1], 2);
    cr_assert(net_view_eq_str(bye.reason, "bye"));
    uint8_t out[64];
    rtc_rtcp_wr_t w;
    rtc_rtcp_wr_init(&w, out, sizeof out);
    uint32_t s[] = {1, 2};
    cr_assert_eq(rtc_rtcp_wr_bye(&w, s, 2, "bye", 3), 0);
    expect_bytes(out, (size_t)rtc_rtcp_wr_finish(&w), x);
    /* Without a reason. */
    rtc_rtcp_wr_init(&w, out, sizeof out);
    cr_assert_eq(rtc_rtcp_wr_bye(&w, s, 1, NULL, 0), 0);
    expect_bytes(out, (size_t)rtc_rtcp_wr_finish(&w), "81 cb 00 01 00 00 00 01");
}

Test(rtcp, generic_nack_known_answer)
{
    /* RFC 4585 §6.2.1: PID 100 with BLP bits for 101, 105, 116; then 117; then 200. */
    const char *x = "81 cd 00 05 00 00 00 01 00 00 00 02 00 64 80 11 00 75 00 00 00 c8 00 00";
    uint16_t seqs[] = {100, 101, 105, 116, 117, 200};
    uint8_t out[64];
    rtc_rtcp_wr_t w;
    rtc_rtcp_wr_init(&w, out, sizeof out);
    cr_assert_eq(rtc_rtcp_wr_nack(&w, 1, 2, seqs, 6), 0);
    expect_bytes(out, (size_t)rtc_rtcp_wr_finish(&w), x);
    uint8_t b[64];
    size_t n = hex(x, b);
    rtc_rtcp_hdr_t h[1];
    cr_assert_eq(rtc_rtcp_split(tst_guard_copy(b, n), n, 0, h, 1), 1);
    rtc_rtcp_fb_t fb;
    cr_assert_eq(rtc_rtcp_fb_parse(&h[0], &fb), 0);
    cr_assert_eq(h[0].pt, RTC_RTCP_RTPFB);
    cr_assert_eq(fb.fmt, RTC_RTCP_FMT_NACK);
    cr_assert_eq(fb.sender_ssrc, 1);
    cr_assert_eq(fb.media_ssrc, 2);
    uint16_t got[32];
    cr_assert_eq(rtc_rtcp_nack_parse(&fb, got, 32), 6);
    cr_assert(memcmp(got, seqs, sizeof seqs) == 0);
    cr_assert_eq(rtc_rtcp_nack_parse(&fb, got, 5), -EMSGSIZE);
    /* Wrapping: 65535 then 0..2 share one FCI. */
    uint16_t wrap[] = {65535, 0, 2};
    rtc_rtcp_wr_init(&w, out, sizeof out);
    cr_assert_eq(rtc_rtcp_wr_nack(&w, 1, 2, wrap, 3), 0);
    expect_bytes(out, (size_t)rtc_rtcp_wr_finish(&w),
                 "81 cd 00 03 00 00 00 01 00 00 00 02 ff ff 00 05");
}

Test(rtcp, pli_fir_remb_known_answers)
{
    uint8_t out[128];
    rtc_rtcp_wr_t w;
    rtc_rtcp_wr_init(&w, out, sizeof out);
    rtc_rtcp_fir_entry_t fe = {2, 7};
    uint32_t remb_ssrc = 2;
    cr_assert_eq(rtc_rtcp_wr_pli(&w, 1, 2), 0);
    cr_assert_eq(rtc_rtcp_wr_fir(&w, 1, &fe, 1), 0);
    cr_assert_eq(rtc_rtcp_wr_remb(&w, 1, 1000000, &remb_ssrc, 1), 0);
    const char *x = "81 ce 00 02 00 00 00 01 00 00 00 02"  /* PLI */
                    "84 ce 00 04 00 00 00 01 00 00 00 00"  /* FIR */
                    "00 00 00 02 07 00 00 00"              /* SSRC 2, seq 7 */
                    "8f ce 00 05 00 00 00 01 00 00 00 00"  /* AFB */
                    "52 45 4d 42 01 0b d0 90 00 00 00 02"; /* REMB 1 Mb/s */
    int len = rtc_rtcp_wr_finish(&w);
    expect_bytes(out, (size_t)len, x);

    uint8_t b[128];
    size_t n = hex(x, b);
    rtc_rtcp_hdr_t h[4];
    cr_assert_eq(rtc_rtcp_split(tst_guard_copy(b, n), n, 0, h, 4), 3);
    cr_assert_eq(rtc_rtcp_split(b, n, RTC_RTCP_STRICT, h, 4), -EBADMSG); /* reduced-size */
    rtc_rtcp_fb_t fb;
    cr_assert_eq(rtc_rtcp_fb_parse(&h[0], &fb), 0);
    cr_assert_eq(fb.fmt, RTC_RTCP_FMT_PLI);
    cr_assert_eq(fb.media_ssrc, 2);
    cr_assert_eq(fb.fci.len, 0);
    cr_assert_eq(rtc_rtcp_fb_parse(&h[1], &fb), 0);
    cr_assert_eq(fb.fmt, RTC_RTCP_FMT_FIR);
    rtc_rtcp_fir_entry_t fes[4];
    cr_assert_eq(rtc_rtcp_fir_parse(&fb, fes, 4), 1);
    cr_assert_eq(fes[0].ssrc, 2);
    cr_assert_eq(fes[0].seq_nr, 7);
    cr_assert_eq(rtc_rtcp_fb_parse(&h[2], &fb), 0);
    cr_assert_eq(fb.fmt, RTC_RTCP_FMT_AFB);
    rtc_rtcp_remb_t r;
    cr_assert_eq(rtc_rtcp_remb_parse(&fb, &r), 0);
    cr_assert_eq(r.bitrate_bps, 1000000);
    cr_assert_eq(r.ssrc_cnt, 1);
    cr_assert_eq(r.ssrc[0], 2);
    /* Rounded down to the 18-bit mantissa. */
    rtc_rtcp_wr_init(&w, out, sizeof out);
    cr_assert_eq(rtc_rtcp_wr_remb(&w, 1, 123456789, NULL, 0), 0);
    cr_assert_eq(rtc_rtcp_split(out, (size_t)rtc_rtcp_wr_finish(&w), 0, h, 4), 1);
    cr_assert_eq(rtc_rtcp_fb_parse(&h[0], &fb), 0);
    cr_assert_eq(rtc_rtcp_remb_parse(&fb, &r), 0);
    cr_assert_leq(r.bitrate_bps, 123456789);
    cr_assert_geq(r.bitrate_bps, 123456789 - 512);
    /* Maximum exponent and mantissa saturates instead of overflowing. */
    uint8_t big[32];
    size_t bn = hex("8f ce 00 04 00 00 00 01 00 00 00 00 52 45 4d 42 00 ff ff ff", big);
    cr_assert_eq(rtc_rtcp_split(big, bn, 0, h, 4), 1);
    cr_assert_eq(rtc_rtcp_fb_parse(&h[0], &fb), 0);
    cr_assert_eq(rtc_rtcp_remb_parse(&fb, &r), 0);
    cr_assert_eq(r.bitrate_bps, UINT64_MAX);
    /* Another AFB is not REMB. */
    big[12] = 'X';
    cr_assert_eq(rtc_rtcp_remb_parse(&fb, &r), -ENOENT);
}

Test(rtcp, twcc_two_bit_vector_known_answer)
{
    /* base 10, 5 packets: small 4, small 8, lost, large -1, small 0; ref 2 (128 ms), fb 3.
     * One 2-bit vector chunk 11|01 01 00 10 01 00 00 = d4 90; deltas 04 08 ffff 00; pad. */
    const char *x = "8f cd 00 06 00 00 00 01 00 00 00 02"
                    "00 0a 00 05 00 00 02 03 d4 90 04 08 ff ff 00 00";
    uint8_t b[64];
    size_t n = hex(x, b);
    rtc_rtcp_hdr_t h[1];
    cr_assert_eq(rtc_rtcp_split(tst_guard_copy(b, n), n, 0, h, 1), 1);
    rtc_rtcp_fb_t fb;
    cr_assert_eq(rtc_rtcp_fb_parse(&h[0], &fb), 0);
    cr_assert_eq(fb.fmt, RTC_RTCP_FMT_TWCC);
    rtc_rtcp_twcc_t t;
    rtc_rtcp_twcc_pkt_t pk[8];
    cr_assert_eq(rtc_rtcp_twcc_parse(&fb, &t, pk, 8), 5);
    cr_assert_eq(t.base_seq, 10);
    cr_assert_eq(t.ref_time, 2);
    cr_assert_eq(t.fb_cnt, 3);
    uint8_t st[] = {1, 1, 0, 2, 1};
    int16_t dl[] = {4, 8, 0, -1, 0};
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(pk[i].status, st[i], "status %d", i);
        cr_assert_eq(pk[i].delta, dl[i], "delta %d", i);
    }
    cr_assert_eq(rtc_rtcp_twcc_parse(&fb, &t, pk, 4), -EMSGSIZE);
    uint8_t out[64];
    rtc_rtcp_wr_t w;
    rtc_rtcp_wr_init(&w, out, sizeof out);
    cr_assert_eq(rtc_rtcp_wr_twcc(&w, 1, 2, &t, pk), 0);
    expect_bytes(out, (size_t)rtc_rtcp_wr_finish(&w), x);
}

Test(rtcp, twcc_run_length_and_one_bit_vector)
{
    /* 20 received (run-length 0x2014), then 3 lost + 2 received: a 1-bit vector
     * 10|00011000000000 = 0x8600. Negative ref time (-1). */
    rtc_rtcp_twcc_t t = {.base_seq = 65530, .status_cnt = 25, .ref_time = -1, .fb_cnt = 0};
    rtc_rtcp_twcc_pkt_t pk[25];
    for (int i = 0; i < 25; i++)
        pk[i] = (rtc_rtcp_twcc_pkt_t){RTC_RTCP_TWCC_SMALL, (int16_t)i};
    for (int i = 20; i < 23; i++)
        pk[i] = (rtc_rtcp_twcc_pkt_t){RTC_RTCP_TWCC_NOT_RECEIVED, 0};
    uint8_t out[128];
    rtc_rtcp_wr_t w;
    rtc_rtcp_wr_init(&w, out, sizeof out);
    cr_assert_eq(rtc_rtcp_wr_twcc(&w, 1, 2, &t, pk), 0);
    int len = rtc_rtcp_wr_finish(&w);
    cr_assert_eq(net_rd16be(out + 16), 0xffff); /* ref time high bits: -1 */
    cr_assert_eq(out[18], 0xff);
    cr_assert_eq(net_rd16be(out + 20), 0x2014); /* run of 20 small */
    cr_assert_eq(net_rd16be(out + 22), 0x8600); /* 1-bit vector */
    cr_assert_eq(len, 4 + 8 + 8 + 4 + 24);      /* 22 one-byte deltas, padded: 24 */
    rtc_rtcp_hdr_t h[1];
    rtc_rtcp_fb_t fb;
    rtc_rtcp_twcc_t t2;
    rtc_rtcp_twcc_pkt_t back[25];
    cr_assert_eq(rtc_rtcp_split(out, (size_t)len, 0, h, 1), 1);
    cr_assert_eq(rtc_rtcp_fb_parse(&h[0], &fb), 0);
    cr_assert_eq(rtc_rtcp_twcc_parse(&fb, &t2, back, 25), 25);
    cr_assert_eq(t2.ref_time, -1);
    cr_assert_eq(t2.base_seq, 65530);
    for (int i = 0; i < 25; i++) {
        cr_assert_eq(back[i].status, pk[i].status);
        cr_assert_eq(back[i].delta, pk[i].delta);
    }
    /* A status that does not match its delta is refused. */
    pk[0] = (rtc_rtcp_twcc_pkt_t){RTC_RTCP_TWCC_SMALL, 300};
    rtc_rtcp_wr_init(&w, out, sizeof out);
    cr_assert_eq(rtc_rtcp_wr_twcc(&w, 1, 2, &t, pk), -EINVAL);
}

Test(rtcp, twcc_round_trip_from_arrivals)
{
    /* Pseudo-random arrivals with losses, reordering-sized negative gaps and long gaps. */
    enum { N = 600 };
    int64_t arr[N];
    uint32_t x = 12345;
    int64_t now = 5 * 64000 + 777;
    for (int i = 0; i < N; i++) {
        x = x * 1103515245u + 12345u;
        now += (int64_t)(x >> 16) % 20000 - 2000; /* -2 .. +18 ms */
        if ((x >> 8) % 97 == 0)
            now += 3000000; /* 3 s gap: a large delta */
        arr[i] = (i && (x >> 4) % 10 == 0) ? -1 : now;
    }
    rtc_rtcp_twcc_t t = {.base_seq = 100, .fb_cnt = 9};
    static rtc_rtcp_twcc_pkt_t pk[N], back[N];
    cr_assert_eq(rtc_rtcp_twcc_from_arrivals(arr, N, &t, pk), 0);
    static uint8_t out[4096];
    rtc_rtcp_wr_t w;
    rtc_rtcp_wr_init(&w, out, sizeof out);
    cr_assert_eq(rtc_rtcp_wr_twcc(&w, 1, 2, &t, pk), 0);
    int len = rtc_rtcp_wr_finish(&w);
    cr_assert_gt(len, 0);
    rtc_rtcp_hdr_t h[1];
    rtc_rtcp_fb_t fb;
    rtc_rtcp_twcc_t t2;
    cr_assert_eq(rtc_rtcp_split(out, (size_t)len, 0, h, 1), 1);
    cr_assert_eq(rtc_rtcp_fb_parse(&h[0], &fb), 0);
    cr_assert_eq(rtc_rtcp_twcc_parse(&fb, &t2, back, N), N);
    int64_t at = (int64_t)t2.ref_time * 64000;
    for (int i = 0; i < N; i++) {
        if (arr[i] < 0) {
            cr_assert_eq(back[i].status, RTC_RTCP_TWCC_NOT_RECEIVED);
            continue;
        }
        cr_assert_neq(back[i].status, RTC_RTCP_TWCC_NOT_RECEIVED);
        at += back[i].delta * 250;
        cr_assert_leq(llabs(at - arr[i]), 125, "packet %d: %lld vs %lld", i, (long long)at,
                      (long long)arr[i]);
    }
    int64_t gap[] = {0, 9000000};
    cr_assert_eq(rtc_rtcp_twcc_from_arrivals(gap, 2, &t, pk), -ERANGE);
    int64_t none[] = {-1, -1};
    cr_assert_eq(rtc_rtcp_twcc_from_arrivals(none, 2, &t, pk), -EINVAL);
    /* The first packet lost: the reference comes from the first received one. */
    int64_t lost_first[] = {-1, 200000, 200300};
    cr_assert_eq(rtc_rtcp_twcc_from_arrivals(lost_first, 3, &t, pk), 0);
    cr_assert_eq(t.ref_time, 3); /* 192 ms */
    cr_assert_eq(pk[0].status, RTC_RTCP_TWCC_NOT_RECEIVED);
    cr_assert_eq(pk[1].delta, 32); /* 8 ms */
    cr_assert_eq(pk[2].delta, 1);  /* 300 us, rounded to 250 */
}

Test(rtcp, app_is_split_and_skippable)
{
    /* RR (no blocks) + APP "test" with 4 bytes + SDES: a valid compound. */
    const char *x = "80 c9 00 01 00 00 00 07"
                    "80 cc 00 03 00 00 00 07 74 65 73 74 de ad be ef"
                    "81 ca 00 02 00 00 00 07 01 01 78 00";
    uint8_t b[64];
    size_t n = hex(x, b);
    rtc_rtcp_hdr_t h[4];
    cr_assert_eq(rtc_rtcp_split(tst_guard_copy(b, n), n, RTC_RTCP_STRICT, h, 4), 3);
    cr_assert_eq(h[1].pt, RTC_RTCP_APP);
    cr_assert_eq(h[1].body.len, 12);
    rtc_rtcp_sdes_chunk_t c[1];
    cr_assert_eq(rtc_rtcp_sdes_parse(&h[2], c, 1), 1);
    cr_assert(net_view_eq_str(c[0].cname, "x"));
    cr_assert_eq(rtc_rtcp_split(b, n, 0, h, 2), -EMSGSIZE);
}

Test(rtcp, padding_on_last_packet)
{
    /* RR + PLI padded with 4 bytes (P bit, count 4), RFC 3550 §6.4.1. */
    const char *x = "80 c9 00 01 00 00 00 07 a1 ce 00 03 00 00 00 07 00 00 00 08 00 00 00 04";
    uint8_t b[64];
    size_t n = hex(x, b);
    rtc_rtcp_hdr_t h[2];
    cr_assert_eq(rtc_rtcp_split(tst_guard_copy(b, n), n, RTC_RTCP_STRICT, h, 2), 2);
    cr_assert(h[1].padding);
    cr_assert_eq(h[1].body.len, 8);
}

Test(rtcp, rejects_malformed_compounds)
{
    static const char *bad[] = {
        "",
        "80 c9 00",                            /* short header */
        "40 c9 00 01 00 00 00 07",             /* version 1 */
        "80 c9 00 02 00 00 00 07",             /* length beyond the packet */
        "80 c9 00 01 00 00 00 07 00",          /* trailing byte */
        "a0 c9 00 01 00 00 00 00",             /* padding count 0 */
        "a0 c9 00 01 00 00 00 05",             /* padding beyond the body */
        "80 c9 00 01 00 00 00 07 80 c9 00 00", /* second packet with length 0 ok... */
    };
    for (size_t i = 0; i + 1 < NET_ARRAY_LEN(bad); i++) {
        uint8_t b[64];
        size_t n = hex(bad[i], b);
        rtc_rtcp_hdr_t h[4];
        cr_assert_eq(rtc_rtcp_split(tst_guard_copy(b, n), n, 0, h, 4), -EBADMSG, "case %zu", i);
    }
    /* ...but a packet of only a header is well-formed framing (RR with no SSRC is then
     * refused by its parser). */
    uint8_t b[64];
    size_t n = hex(bad[NET_ARRAY_LEN(bad) - 1], b);
    rtc_rtcp_hdr_t h[4];
    cr_assert_eq(rtc_rtcp_split(b, n, 0, h, 4), 2);
    rtc_rtcp_rr_t rr;
    cr_assert_eq(rtc_rtcp_rr_parse(&h[1], &rr), -EBADMSG);
    /* Padding in the middle of a compound: refused when strict. */
    n = hex("a0 c9 00 01 00 00 00 04 80 c9 00 01 00 00 00 07", b);
    cr_assert_eq(rtc_rtcp_split(b, n, RTC_RTCP_STRICT, h, 4), -EBADMSG);
    cr_assert_eq(rtc_rtcp_split(b, n, 0, h, 4), 2);
}

/* Splits a single packet given in hex and returns the typed parser's verdict. */
static rtc_rtcp_hdr_t one(const char *x)
{
    static uint8_t b[256];
    size_t n = hex(x, b);
    rtc_rtcp_hdr_t h[1];
    const uint8_t *g = tst_guard_copy(b, n);
    cr_assert_eq(rtc_rtcp_split(g, n, 0, h, 1), 1, "%s", x);
    return h[0];
}

Test(rtcp, rejects_malformed_typed_packets)
{
    rtc_rtcp_sr_t sr;
    rtc_rtcp_rr_t rr;
    rtc_rtcp_bye_t bye;
    rtc_rtcp_sdes_chunk_t c[4];
    rtc_rtcp_fb_t fb;
    uint16_t seqs[64];
    rtc_rtcp_fir_entry_t fe[4];
    rtc_rtcp_remb_t remb;
    rtc_rtcp_twcc_t t;
    rtc_rtcp_twcc_pkt_t pk[64];
    rtc_rtcp_hdr_t h;

    h = one("81 c8 00 06 00 00 00 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00");
    cr_assert_eq(rtc_rtcp_sr_parse(&h, &sr), -EBADMSG); /* RC 1, no block */
    h = one("82 c9 00 07 00 00 00 01 00 00 00 02 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
            "00 00 00 00");
    cr_assert_eq(rtc_rtcp_rr_parse(&h, &rr), -EBADMSG); /* RC 2, one block */
    h = one("81 ca 00 02 00 00 00 07 01 02 78 78");
    cr_assert_eq(rtc_rtcp_sdes_parse(&h, c, 4), -EBADMSG); /* no null terminator */
    h = one("81 ca 00 02 00 00 00 07 01 05 78 00");
    cr_assert_eq(rtc_rtcp_sdes_parse(&h, c, 4), -EBADMSG); /* item overruns */
    h = one("82 ca 00 02 00 00 00 07 01 01 78 00");
    cr_assert_eq(rtc_rtcp_sdes_parse(&h, c, 4), -EBADMSG); /* SC 2, one chunk */
    cr_assert_eq(rtc_rtcp_sdes_parse(&h, c, 1), -EMSGSIZE);
    h = one("81 cb 00 02 00 00 00 01 05 61 62 63");
    cr_assert_eq(rtc_rtcp_bye_parse(&h, &bye), -EBADMSG); /* reason overruns */
    h = one("82 cb 00 01 00 00 00 01");
    cr_assert_eq(rtc_rtcp_bye_parse(&h, &bye), -EBADMSG); /* SC 2, one SSRC */
    h = one("81 cd 00 01 00 00 00 01");
    cr_assert_eq(rtc_rtcp_fb_parse(&h, &fb), -EBADMSG); /* no media SSRC */
    h = one("81 cd 00 02 00 00 00 01 00 00 00 02");
    cr_assert_eq(rtc_rtcp_fb_parse(&h, &fb), 0);
    cr_assert_eq(rtc_rtcp_nack_parse(&fb, seqs, 64), -EBADMSG); /* no FCI */
    h = one("84 ce 00 03 00 00 00 01 00 00 00 00 00 00 00 02");
    cr_assert_eq(rtc_rtcp_fb_parse(&h, &fb), 0);
    cr_assert_eq(rtc_rtcp_fir_parse(&fb, fe, 4), -EBADMSG); /* half an entry */
    h = one("8f ce 00 05 00 00 00 01 00 00 00 00 52 45 4d 42 02 00 00 01 00 00 00 01");
    cr_assert_eq(rtc_rtcp_fb_parse(&h, &fb), 0);
    cr_assert_eq(rtc_rtcp_remb_parse(&fb, &remb), -EBADMSG); /* 2 SSRCs announced, 1 there */
    /* TWCC: 5 statuses announced, no chunk. */
    h = one("8f cd 00 04 00 00 00 01 00 00 00 02 00 0a 00 05 00 00 02 03");
    cr_assert_eq(rtc_rtcp_fb_parse(&h, &fb), 0);
    cr_assert_eq(rtc_rtcp_twcc_parse(&fb, &t, pk, 64), -EBADMSG);
    /* TWCC: run of 5 small, deltas missing. */
    h = one("8f cd 00 05 00 00 00 01 00 00 00 02 00 0a 00 05 00 00 02 03 20 05 01 02");
    cr_assert_eq(rtc_rtcp_fb_parse(&h, &fb), 0);
    cr_assert_eq(rtc_rtcp_twcc_parse(&fb, &t, pk, 64), -EBADMSG);
    /* TWCC: reserved symbol 3 in a 2-bit vector. */
    h = one("8f cd 00 05 00 00 00 01 00 00 00 02 00 0a 00 01 00 00 02 03 f0 00 00 00");
    cr_assert_eq(rtc_rtcp_fb_parse(&h, &fb), 0);
    cr_assert_eq(rtc_rtcp_twcc_parse(&fb, &t, pk, 64), -EBADMSG);
    /* TWCC: run-length chunk with status 3. */
    h = one("8f cd 00 05 00 00 00 01 00 00 00 02 00 0a 00 01 00 00 02 03 60 01 00 00");
    cr_assert_eq(rtc_rtcp_fb_parse(&h, &fb), 0);
    cr_assert_eq(rtc_rtcp_twcc_parse(&fb, &t, pk, 64), -EBADMSG);
}

Test(rtcp, truncated_compounds_never_overread)
{
    uint8_t b[256];
    size_t n = hex(sr_sdes, b);
    for (size_t len = 0; len < n; len++) {
        rtc_rtcp_hdr_t h[4];
        int r = rtc_rtcp_split(tst_guard_copy(b, len), len, 0, h, 4);
        if (len == 52) /* exactly the SR */
            cr_assert_eq(r, 1);
        else
            cr_assert_eq(r, -EBADMSG, "len %zu", len);
    }
}

Test(rtcp, is_rtcp_by_second_byte)
{
    uint8_t rtp[] = {0x80, 0xe0}, rtcp[] = {0x80, 0xc8}, fb[] = {0x81, 0xcd};
    cr_assert(!rtc_rtcp_is_rtcp(rtp, 2));
    cr_assert(rtc_rtcp_is_rtcp(rtcp, 2));
    cr_assert(rtc_rtcp_is_rtcp(fb, 2));
    cr_assert(!rtc_rtcp_is_rtcp(fb, 1));
}

Test(rtcp, ntp_and_rtt)
{
    /* 2026-01-01T00:00:00.5Z: 1767225600.5 s since 1970. */
    uint64_t ntp = rtc_rtcp_ntp_from_unix_ns(1767225600ull * NET_NS_PER_SEC + 500000000ull);
    cr_assert_eq(ntp >> 32, 1767225600ull + 2208988800ull);
    cr_assert_eq((uint32_t)ntp, 0x80000000u);
    /* SR sent at ntp; the peer held it 0.5 s (DLSR 0x8000); the RR arrives 0.6 s after:
     * RTT 100 ms (RFC 3550 §6.4.1 example arithmetic). */
    uint32_t lsr = rtc_rtcp_ntp_mid(ntp);
    uint64_t arrival = ntp + (uint64_t)(0.6 * 4294967296.0);
    int64_t rtt = rtc_rtcp_rtt_ns(arrival, lsr, 0x8000);
    cr_assert(rtt > 99900000 && rtt < 100100000, "rtt %lld", (long long)rtt);
    cr_assert_eq(rtc_rtcp_rtt_ns(arrival, 0, 0x8000), -1);
    cr_assert_eq(rtc_rtcp_rtt_ns(ntp, lsr, 0x8000), -1); /* negative */
}

Test(rtcp, check_counts_and_drops_malformed_compounds)
{
    rtc_rtcp_counters_t c = {0};
    rtc_rtcp_hdr_t h[8];
    uint8_t b[256];
    size_t n = hex(sr_sdes, b);
    cr_assert_eq(rtc_rtcp_check(tst_guard_copy(b, n), n, RTC_RTCP_STRICT, h, 8, &c), 2);
    /* RR + APP + SDES; then RR + NACK + PLI + FIR + REMB + TWCC + an unknown AFB */
    n = hex("80 c9 00 01 00 00 00 07 80 cc 00 03 00 00 00 07 74 65 73 74 de ad be ef"
            "81 ca 00 02 00 00 00 07 01 01 78 00",
            b);
    cr_assert_eq(rtc_rtcp_check(tst_guard_copy(b, n), n, RTC_RTCP_STRICT, h, 8, &c), 3);
    n = hex("80 c9 00 01 00 00 00 07"
            "81 cd 00 03 00 00 00 01 00 00 00 02 00 64 80 11"
            "81 ce 00 02 00 00 00 01 00 00 00 02"
            "84 ce 00 04 00 00 00 01 00 00 00 00 00 00 00 02 07 00 00 00"
            "8f ce 00 05 00 00 00 01 00 00 00 00 52 45 4d 42 01 0b d0 90 00 00 00 02"
            "8f cd 00 06 00 00 00 01 00 00 00 02 00 0a 00 05 00 00 02 03 d4 90 04 08 ff ff 00 00"
            "8f ce 00 03 00 00 00 01 00 00 00 00 58 59 5a 5a",
            b);
    cr_assert_eq(rtc_rtcp_check(tst_guard_copy(b, n), n, RTC_RTCP_STRICT, h, 8, &c), 7);
    cr_assert_eq(c.compounds, 3);
    cr_assert_eq(c.malformed, 0);
    cr_assert_eq(c.sr, 1);
    cr_assert_eq(c.rr, 2);
    cr_assert_eq(c.sdes, 2);
    cr_assert_eq(c.app, 1);
    cr_assert_eq(c.nack, 1);
    cr_assert_eq(c.pli, 1);
    cr_assert_eq(c.fir, 1);
    cr_assert_eq(c.remb, 1);
    cr_assert_eq(c.twcc, 1);
    cr_assert_eq(c.other, 1);

    /* Each of these is well framed, but one packet inside is malformed: the whole compound
     * is dropped and counted, and no per-type counter moves. */
    static const char *bad[] = {
        "80 c9 00 01 00 00 00 07 81 ca 00 02 00 00 00 07 01 02 78 78", /* SDES unterminated */
        "80 c9 00 01 00 00 00 07 81 cb 00 02 00 00 00 01 05 61 62 63", /* BYE reason */
        "81 c8 00 06 00 00 00 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
        "80 c9 00 01 00 00 00 07 81 cd 00 02 00 00 00 01 00 00 00 02", /* NACK, no FCI */
        "80 c9 00 01 00 00 00 07 84 ce 00 03 00 00 00 01 00 00 00 00 00 00 00 02", /* FIR */
        "80 c9 00 01 00 00 00 07 8f ce 00 05 00 00 00 01 00 00 00 00 52 45 4d 42 02 00 00 01 "
        "00 00 00 01", /* REMB: 2 SSRCs announced */
        "80 c9 00 01 00 00 00 07 8f cd 00 05 00 00 00 01 00 00 00 02 00 0a 00 05 00 00 02 03 "
        "20 05 01 02", /* TWCC deltas missing */
        "80 c9 00 01 00 00 00 07 8f cd 00 05 00 00 00 01 00 00 00 02 00 0a 00 01 00 00 02 03 "
        "f0 00 00 00",                                     /* TWCC reserved symbol */
        "80 c9 00 01 00 00 00 07 80 cc 00 01 00 00 00 07", /* APP without a name */
        "81 cd 00 03 00 00 00 01 00 00 00 02 00 64 80 11", /* reduced-size, strict */
        "80 c9 00 02 00 00 00 07",                         /* framing */
    };
    for (size_t i = 0; i < NET_ARRAY_LEN(bad); i++) {
        n = hex(bad[i], b);
        rtc_rtcp_counters_t before = c;
        cr_assert_lt(rtc_rtcp_check(tst_guard_copy(b, n), n, RTC_RTCP_STRICT, h, 8, &c), 0,
                     "case %zu", i);
        cr_assert_eq(c.malformed, before.malformed + 1, "case %zu", i);
        before.malformed++;
        cr_assert(memcmp(&before, &c, sizeof c) == 0, "case %zu moved a counter", i);
    }
    /* A large run-length TWCC (65535 statuses, all lost) is checked without walking them. */
    n = hex("8f cd 00 04 00 00 00 01 00 00 00 02 00 0a ff ff 00 00 02 03 1f ff 1f ff 1f ff "
            "1f ff 1f ff 1f ff 1f ff 1f ff 1f ff 00 00",
            b);
    b[3] = (uint8_t)((n - 4) / 4);
    cr_assert_eq(rtc_rtcp_check(b, n, 0, h, 8, &c), 1);
}

Test(rtcp, report_interval_a7)
{
    /* Two members, both sending, 5% of 1 Mb/s for RTCP (50 kb/s = 6250 B/s), 100-byte
     * reports: 100 * 2 / 6250 = 32 ms, under the 5 s minimum; the middle random value (factor
     * 1.0) gives 5 s / (e - 1.5). */
    rtc_rtcp_interval_cfg_t c = {.members = 2,
                                 .senders = 2,
                                 .rtcp_bw_bps = 50000,
                                 .we_sent = true,
                                 .avg_rtcp_len = 100,
                                 .min_ns = 5 * NET_NS_PER_SEC};
    uint64_t t = rtc_rtcp_interval_ns(&c, 0x80000000u);
    cr_assert(t > 4104000000ull && t < 4104300000ull, "%llu", (unsigned long long)t);
    cr_assert_lt(rtc_rtcp_interval_ns(&c, 0), t);
    cr_assert_gt(rtc_rtcp_interval_ns(&c, 0xffffffffu), t);
    c.initial = true; /* half the minimum before the first report */
    uint64_t ti = rtc_rtcp_interval_ns(&c, 0x80000000u);
    cr_assert(ti > t / 2 - 1000 && ti < t / 2 + 1000);
    /* 1000 receivers and one sender on 8 kb/s: bandwidth-bound. We receive: 3/4 of 1000 B/s
     * for 999 receivers of 100 B: 133.2 s, / (e - 1.5) at factor 1. */
    c = (rtc_rtcp_interval_cfg_t){.members = 1000,
                                  .senders = 1,
                                  .rtcp_bw_bps = 8000,
                                  .avg_rtcp_len = 100,
                                  .min_ns = 5 * NET_NS_PER_SEC};
    t = rtc_rtcp_interval_ns(&c, 0x80000000u);
    double want = 100.0 * 999 / 750 / (2.71828 - 1.5);
    cr_assert(t > (uint64_t)(want * 0.999e9) && t < (uint64_t)(want * 1.001e9), "%llu",
              (unsigned long long)t);
}
