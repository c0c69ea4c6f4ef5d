/* tests/rtc/rtp_recovery_test.c: receiver statistics (RFC 3550 A.1/A.3/A.8), SR timing,
 * packet history, RTX (RFC 4588) and the NACK generator, then NACK + RTX recovery between two
 * urtc ends over an in-test pipe with 10% deterministic loss in both directions. */
#include "rtc/rtp/rtp.h"

#include "tests/support/tst.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#define MS NET_NS_PER_MS

static size_t mkpkt(uint8_t *b, size_t cap, uint16_t seq, uint32_t ts)
{
    rtc_rtp_hdr_t h = {.pt = 96, .seq = seq, .ts = ts, .ssrc = 0x1111};
    int n = rtc_rtp_hdr_write(b, cap, &h, NULL, 0);
    cr_assert_gt(n, 0);
    return (size_t)n;
}

Test(rtp, rx_stats_loss_a3)
{
    rtc_rtp_rx_stats_t s;
    rtc_rtp_rx_stats_init(&s, 0x1111, 90000, 0);
    for (unsigned i = 0; i < 100; i++)
        if (i % 10 != 3)
            cr_assert_eq(rtc_rtp_rx_stats_update(&s, (uint16_t)(1000 + i), i * 3000, i * 33 * MS),
                         1);
    rtc_rtcp_rb_t rb;
    rtc_rtp_rx_stats_report(&s, 4 * NET_NS_PER_SEC, &rb);
    cr_assert_eq(rb.ssrc, 0x1111);
    cr_assert_eq(rb.cum_lost, 10);
    cr_assert_eq(rb.fraction_lost, 25); /* 10/100 * 256 = 25.6, truncated */
    cr_assert_eq(rb.ext_high_seq, 1099);
    cr_assert_eq(rb.lsr, 0);
    cr_assert_eq(rb.dlsr, 0);
    for (unsigned i = 100; i < 150; i++)
        cr_assert_eq(rtc_rtp_rx_stats_update(&s, (uint16_t)(1000 + i), i * 3000, i * 33 * MS), 1);
    rtc_rtp_rx_stats_report(&s, 5 * NET_NS_PER_SEC, &rb);
    cr_assert_eq(rb.fraction_lost, 0); /* this interval lost nothing */
    cr_assert_eq(rb.cum_lost, 10);
    /* Late arrivals of the lost ones count as received while within MAX_MISORDER (100) of
     * the highest; older ones look like a jump of the sequence (A.1) and are held back. */
    for (unsigned i = 3; i < 100; i += 10)
        cr_assert_eq(rtc_rtp_rx_stats_update(&s, (uint16_t)(1000 + i), i * 3000, 6000 * MS),
                     1149 - (1000 + i) <= 100 ? 1 : 0, "late %u", i);
    rtc_rtp_rx_stats_report(&s, 6 * NET_NS_PER_SEC, &rb);
    cr_assert_eq(rb.cum_lost, 5); /* 1053..1093 repaired */
    cr_assert_eq(rb.fraction_lost, 0);
}

Test(rtp, rx_stats_wrap_probation_and_restart_a1)
{
    rtc_rtp_rx_stats_t s;
    rtc_rtp_rx_stats_init(&s, 1, 90000, 0);
    for (unsigned i = 0; i < 20; i++)
        cr_assert_eq(rtc_rtp_rx_stats_update(&s, (uint16_t)(65530 + i), 0, 0), 1);
    cr_assert_eq(s.cycles, 65536);
    cr_assert_eq(rtc_rtp_rx_stats_ext_max(&s), 65536 + 13);

    /* A.1 probation with MIN_SEQUENTIAL 2: the first packet is held, the second validates. */
    rtc_rtp_rx_stats_init(&s, 1, 90000, 2);
    cr_assert_eq(rtc_rtp_rx_stats_update(&s, 1000, 0, 0), 0);
    cr_assert_eq(rtc_rtp_rx_stats_update(&s, 1001, 0, 0), 1);
    cr_assert_eq(rtc_rtp_rx_stats_update(&s, 1002, 0, 0), 1);
    rtc_rtcp_rb_t rb;
    rtc_rtp_rx_stats_report(&s, 0, &rb);
    cr_assert_eq(rb.cum_lost, 0);
    cr_assert_eq(rb.ext_high_seq, 1002);
    /* Out of sequence during probation restarts it. */
    rtc_rtp_rx_stats_init(&s, 1, 90000, 2);
    cr_assert_eq(rtc_rtp_rx_stats_update(&s, 10, 0, 0), 0);
    cr_assert_eq(rtc_rtp_rx_stats_update(&s, 12, 0, 0), 0);
    cr_assert_eq(rtc_rtp_rx_stats_update(&s, 13, 0, 0), 1);

    /* A very large jump is held until the next packet confirms it: then a restart. */
    rtc_rtp_rx_stats_init(&s, 1, 90000, 0);
    for (unsigned i = 0; i < 10; i++)
        cr_assert_eq(rtc_rtp_rx_stats_update(&s, (uint16_t)(1000 + i), 0, 0), 1);
    cr_assert_eq(rtc_rtp_rx_stats_update(&s, 40000, 0, 0), 0);
    cr_assert_eq(rtc_rtp_rx_stats_update(&s, 40001, 0, 0), 1);
    cr_assert_eq(s.restarts, 1);
    cr_assert_eq(s.base_seq, 40001);
    /* A reordered old packet (within MAX_MISORDER) still counts. */
    cr_assert_eq(rtc_rtp_rx_stats_update(&s, 39990, 0, 0), 1);
}

Test(rtp, rx_stats_jitter_a8)
{
    /* 90 kHz, one packet every 20 ms (1800 ticks); arrivals alternately on time and 1 ms late
     * (90 ticks): every |D| is 90, so the estimate converges to 90 (A.8: J += (|D|-J)/16). */
    rtc_rtp_rx_stats_t s;
    rtc_rtp_rx_stats_init(&s, 1, 90000, 0);
    double ref = 0;
    for (unsigned i = 0; i < 400; i++) {
        uint64_t at = (uint64_t)i * 20 * MS + (i % 2) * MS + 1000 * MS;
        cr_assert_eq(rtc_rtp_rx_stats_update(&s, (uint16_t)i, 123456 + i * 1800, at), 1);
        if (i)
            ref += (90.0 - ref) / 16.0;
    }
    rtc_rtcp_rb_t rb;
    rtc_rtp_rx_stats_report(&s, 0, &rb);
    cr_assert(rb.jitter >= 89 && rb.jitter <= 90, "jitter %u (float reference %.2f)", rb.jitter,
              ref);
    /* Perfectly paced: 0. */
    rtc_rtp_rx_stats_init(&s, 1, 48000, 0);
    for (unsigned i = 0; i < 100; i++)
        cr_assert_eq(rtc_rtp_rx_stats_update(&s, (uint16_t)i, i * 960, i * 20 * MS), 1);
    rtc_rtp_rx_stats_report(&s, 0, &rb);
    cr_assert_eq(rb.jitter, 0);
}

Test(rtp, lsr_dlsr_and_sr_timing)
{
    rtc_rtp_rx_stats_t s;
    rtc_rtp_rx_stats_init(&s, 1, 90000, 0);
    uint64_t ntp = rtc_rtcp_ntp_from_unix_ns(1767225600ull * NET_NS_PER_SEC);
    rtc_rtp_rx_stats_on_sr(&s, ntp, 1000 * MS);
    rtc_rtcp_rb_t rb;
    rtc_rtp_rx_stats_report(&s, 1500 * MS, &rb);
    cr_assert_eq(rb.lsr, rtc_rtcp_ntp_mid(ntp));
    cr_assert_eq(rb.dlsr, 32768); /* 0.5 s in 1/65536 s */

    rtc_rtp_tx_stats_t t;
    rtc_rtp_tx_stats_init(&t, 7, 90000);
    rtc_rtp_tx_stats_on_send(&t, 1000, 1000 * MS, 100);
    rtc_rtp_tx_stats_on_send(&t, 1000, 1000 * MS, 200);
    rtc_rtcp_sr_t sr;
    rtc_rtp_tx_stats_sr(&t, ntp, 1100 * MS, &sr);
    cr_assert_eq(sr.ssrc, 7);
    cr_assert_eq(sr.ntp, ntp);
    cr_assert_eq(sr.rtp_ts, 1000 + 9000); /* 100 ms at 90 kHz after the last packet */
    cr_assert_eq(sr.pkt_cnt, 2);
    cr_assert_eq(sr.octet_cnt, 300);
    cr_assert_eq(sr.rb_cnt, 0);
    rtc_rtp_tx_stats_sr(&t, ntp, 900 * MS, &sr);
    cr_assert_eq(sr.rtp_ts, (uint32_t)(1000 - 9000)); /* before it: extrapolated backwards */
}

Test(rtp, history_stores_by_seq_across_wrap)
{
    rtc_rtp_history_t h;
    cr_assert_eq(rtc_rtp_history_init(&h, 100, 1200), 0);
    cr_assert_eq(h.cap, 128);
    uint8_t b[1300];
    for (unsigned i = 0; i < 300; i++) {
        size_t n = mkpkt(b, sizeof b, (uint16_t)(65400 + i), i);
        memset(b + n, (int)i, 50);
        cr_assert_eq(rtc_rtp_history_put(&h, b, n + 50, i * MS), 0);
    }
    net_view_t v;
    for (unsigned i = 0; i < 300; i++) {
        int r = rtc_rtp_history_get(&h, (uint16_t)(65400 + i), &v);
        if (i < 300 - 128) {
            cr_assert_eq(r, -ENOENT, "seq index %u", i);
            continue;
        }
        cr_assert_eq(r, 0);
        cr_assert_eq(v.len, 62);
        cr_assert_eq(net_rd16be(v.p + 2), (uint16_t)(65400 + i));
        cr_assert_eq(v.p[61], (uint8_t)i);
    }
    cr_assert_eq(rtc_rtp_history_put(&h, b, 1201, 0), -EMSGSIZE);
    cr_assert_eq(rtc_rtp_history_put(&h, b, 5, 0), -EBADMSG);
    rtc_rtp_history_fini(&h);
    rtc_rtp_history_fini(&h); /* twice is fine */
    cr_assert_eq(rtc_rtp_history_init(&h, 0, 1200), -EINVAL);
}

Test(rtp, rtx_build_and_decap_known_answer)
{
    /* Original: P=1, M=1, PT 96, seq 0x1234, ts 1, SSRC 5, payload aa bb cc, padding 00 02. */
    uint8_t orig[32], out[64], want[64];
    size_t on = tst_hex("a0 e0 12 34 00 00 00 01 00 00 00 05 aa bb cc 00 02", orig, sizeof orig);
    int n = rtc_rtp_rtx_build(out, sizeof out, tst_guard_copy(orig, on), on, 0x99, 97, 7);
    /* RFC 4588 §4: RTX header (no padding), OSN 0x1234, original payload. */
    size_t wn = tst_hex("80 e1 00 07 00 00 00 01 00 00 00 99 12 34 aa bb cc", want, sizeof want);
    cr_assert_eq(n, (int)wn);
    cr_assert(memcmp(out, want, wn) == 0);
    cr_assert_eq(rtc_rtp_rtx_build(out, wn - 1, orig, on, 0x99, 97, 7), -ENOSPC);
    int m = rtc_rtp_rtx_decap(out, (size_t)n, 5, 96);
    size_t back = tst_hex("80 e0 12 34 00 00 00 01 00 00 00 05 aa bb cc", want, sizeof want);
    cr_assert_eq(m, (int)back);
    cr_assert(memcmp(out + 2, want, back) == 0);
    /* A padding-only RTX packet (probing) has no OSN. */
    size_t pn = tst_hex("a0 61 00 08 00 00 00 01 00 00 00 99 00 00 00 04", out, sizeof out);
    cr_assert_eq(rtc_rtp_rtx_decap(out, pn, 5, 96), -ENODATA);
    cr_assert_eq(rtc_rtp_rtx_decap(out, 11, 5, 96), -EBADMSG);
}

Test(rtp, history_resend_throttles_and_maps_pt)
{
    rtc_rtp_ptmap_t pm;
    rtc_rtp_ptmap_init(&pm);
    cr_assert_eq(rtc_rtp_ptmap_set(&pm, 96, RTC_RTP_CODEC_VP8, 90000, 1), 0);
    cr_assert_eq(rtc_rtp_ptmap_set(&pm, 97, RTC_RTP_CODEC_RTX, 90000, 1), 0);
    cr_assert_eq(rtc_rtp_ptmap_set_apt(&pm, 97, 96), 0);
    cr_assert_eq(rtc_rtp_ptmap_set(&pm, 111, RTC_RTP_CODEC_OPUS, 48000, 2), 0);
    rtc_rtp_history_t h;
    cr_assert_eq(rtc_rtp_history_init(&h, 16, 1200), 0);
    uint8_t b[64], out[128];
    size_t n = mkpkt(b, sizeof b, 500, 0);
    cr_assert_eq(rtc_rtp_history_put(&h, b, n, 0), 0);
    rtc_rtp_rtx_tx_t rtx = {.ssrc = 0x2222, .seq = 65535, .ptmap = &pm};
    int r = rtc_rtp_history_resend(&h, &rtx, 500, 10 * MS, 40 * MS, out, sizeof out);
    cr_assert_eq(r, (int)n + 2);
    cr_assert_eq(out[1] & 0x7f, 97);
    cr_assert_eq(net_rd16be(out + 2), 65535);
    cr_assert_eq(net_rd32be(out + 8), 0x2222);
    cr_assert_eq(rtx.seq, 0); /* the RTX stream's own sequence, wrapping */
    cr_assert_eq(rtc_rtp_history_resend(&h, &rtx, 500, 30 * MS, 40 * MS, out, sizeof out), -EAGAIN);
    cr_assert_gt(rtc_rtp_history_resend(&h, &rtx, 500, 50 * MS, 40 * MS, out, sizeof out), 0);
    cr_assert_eq(rtc_rtp_history_resend(&h, &rtx, 501, 50 * MS, 40 * MS, out, sizeof out), -ENOENT);
    b[1] = 111; /* a PT with no RTX */
    rtc_rtp_set_seq(b, 501);
    cr_assert_eq(rtc_rtp_history_put(&h, b, n, 0), 0);
    cr_assert_eq(rtc_rtp_history_resend(&h, &rtx, 501, 50 * MS, 40 * MS, out, sizeof out),
                 -ENOTSUP);
    cr_assert_eq(h.throttled, 1);
    cr_assert_eq(h.missing, 1);
    rtc_rtp_history_fini(&h);
}

/* Without an RTX stream the NACKed packet goes again as it was sent (RFC 4585 §6.2.1 leaves
 * the repair to the sender), under the same throttle. */
Test(rtp, history_resend_without_rtx_is_the_original)
{
    rtc_rtp_history_t h;
    cr_assert_eq(rtc_rtp_history_init(&h, 16, 1200), 0);
    uint8_t b[64], out[128];
    size_t n = mkpkt(b, sizeof b, 7, 1234);
    memset(b + n, 0xab, 20); /* a payload */
    n += 20;
    cr_assert_eq(rtc_rtp_history_put(&h, b, n, 0), 0);
    cr_assert_eq(rtc_rtp_history_resend(&h, NULL, 7, 10 * MS, 40 * MS, out, sizeof out), (int)n);
    cr_assert_arr_eq(out, b, n, "byte for byte the original");
    cr_assert_eq(rtc_rtp_history_resend(&h, NULL, 7, 20 * MS, 40 * MS, out, sizeof out), -EAGAIN);
    cr_assert_eq(rtc_rtp_history_resend(&h, NULL, 7, 60 * MS, 40 * MS, out, 10), -ENOSPC);
    cr_assert_eq(rtc_rtp_history_resend(&h, NULL, 8, 60 * MS, 40 * MS, out, sizeof out), -ENOENT);
    cr_assert_eq(h.resent, 1);
    rtc_rtp_history_fini(&h);
}

/* A compound's start (RFC 3550 §6.1): SR once the source sent, else RR; report blocks; SDES
 * CNAME for the same SSRC. Read back with the receive path's check. */
Test(rtp, report_is_sr_or_rr_with_blocks_and_cname)
{
    rtc_rtp_tx_stats_t tx;
    rtc_rtp_tx_stats_init(&tx, 0xAAAA, 90000);
    rtc_rtcp_rb_t rb[2] = {{.ssrc = 0xB1, .lsr = 7}, {.ssrc = 0xB2, .fraction_lost = 25}};
    uint64_t ntp = rtc_rtcp_ntp_from_unix_ns(1700000000ull * NET_NS_PER_SEC);
    for (int sent = 0; sent < 2; sent++) {
        if (sent)
            rtc_rtp_tx_stats_on_send(&tx, 9000, 100 * MS, 500);
        uint8_t buf[512];
        rtc_rtcp_wr_t w;
        rtc_rtcp_wr_init(&w, buf, sizeof buf);
        rtc_rtp_wr_report(&w, &tx, 0xCCCC, rb, 2, "me", ntp, 100 * MS);
        int len = rtc_rtcp_wr_finish(&w);
        cr_assert_gt(len, 0);
        rtc_rtcp_hdr_t hd[4];
        rtc_rtcp_counters_t c = {0};
        cr_assert_eq(rtc_rtcp_check(buf, (size_t)len, RTC_RTCP_STRICT, hd, 4, &c), 2);
        rtc_rtcp_sdes_chunk_t ch[2];
        cr_assert_eq(rtc_rtcp_sdes_parse(&hd[1], ch, 2), 1);
        cr_assert_eq(ch[0].cname.len, 2);
        cr_assert_eq(memcmp(ch[0].cname.p, "me", 2), 0);
        if (!sent) { /* nothing sent: an RR from the given SSRC */
            rtc_rtcp_rr_t rr;
            cr_assert_eq(rtc_rtcp_rr_parse(&hd[0], &rr), 0);
            cr_assert_eq(rr.ssrc, 0xCCCC);
            cr_assert_eq(ch[0].ssrc, 0xCCCC);
            cr_assert_eq(rr.rb_cnt, 2);
            cr_assert_eq(rr.rb[1].fraction_lost, 25);
        } else { /* an SR from the stream's SSRC, with its counts */
            rtc_rtcp_sr_t sr;
            cr_assert_eq(rtc_rtcp_sr_parse(&hd[0], &sr), 0);
            cr_assert_eq(sr.ssrc, 0xAAAA);
            cr_assert_eq(ch[0].ssrc, 0xAAAA);
            cr_assert_eq(sr.pkt_cnt, 1);
            cr_assert_eq(sr.octet_cnt, 500);
            cr_assert_eq(sr.ntp, ntp);
            cr_assert_eq(sr.rb_cnt, 2);
            cr_assert_eq(sr.rb[0].ssrc, 0xB1);
            cr_assert_eq(sr.rb[0].lsr, 7);
        }
    }
}

Test(rtp, nack_generator_retries_and_gives_up)
{
    static rtc_rtp_nack_gen_t g;
    rtc_rtp_nack_gen_init(&g, 3, 10 * MS);
    uint16_t out[32];
    for (uint16_t s = 0; s < 3; s++)
        cr_assert_eq(rtc_rtp_nack_gen_on_packet(&g, s, 0), 0);
    cr_assert_eq(rtc_rtp_nack_gen_on_packet(&g, 5, 0), 0);
    cr_assert_eq(rtc_rtp_nack_gen_missing(&g), 2);
    cr_assert_eq(rtc_rtp_nack_gen_poll(&g, 0, 0, out, 32), 2);
    cr_assert_eq(out[0], 3);
    cr_assert_eq(out[1], 4);
    cr_assert_eq(rtc_rtp_nack_gen_poll(&g, 5 * MS, 0, out, 32), 0);  /* too soon */
    cr_assert_eq(rtc_rtp_nack_gen_poll(&g, 10 * MS, 0, out, 32), 2); /* try 2 */
    cr_assert_eq(rtc_rtp_nack_gen_on_packet(&g, 3, 12 * MS), 1);
    cr_assert_eq(rtc_rtp_nack_gen_on_packet(&g, 3, 12 * MS), 0);           /* duplicate */
    cr_assert_eq(rtc_rtp_nack_gen_poll(&g, 15 * MS, 30 * MS, out, 32), 0); /* rtt 30 ms */
    cr_assert_eq(rtc_rtp_nack_gen_poll(&g, 40 * MS, 30 * MS, out, 32), 1); /* try 3 */
    cr_assert_eq(out[0], 4);
    cr_assert_eq(rtc_rtp_nack_gen_poll(&g, 69 * MS, 30 * MS, out, 32), 0);
    cr_assert_eq(g.given_up, 0);
    cr_assert_eq(rtc_rtp_nack_gen_poll(&g, 70 * MS, 30 * MS, out, 32), 0); /* given up */
    cr_assert_eq(g.given_up, 1);
    cr_assert_eq(g.recovered, 1);
    cr_assert_eq(rtc_rtp_nack_gen_missing(&g), 0);
    cr_assert_eq(g.nacks_sent, 5);

    /* A gap larger than the window: the oldest are given up at once. */
    cr_assert_eq(rtc_rtp_nack_gen_on_packet(&g, 5006, 0), 0);
    cr_assert_eq(rtc_rtp_nack_gen_missing(&g), RTC_RTP_NACK_WINDOW - 1);
    cr_assert_eq(g.given_up, 1 + (5006 - 6) - (RTC_RTP_NACK_WINDOW - 1));
    cr_assert_eq(rtc_rtp_nack_gen_poll(&g, 100 * MS, 0, out, 32), 32); /* capped */
    cr_assert_eq(out[0], (uint16_t)(5006 - (RTC_RTP_NACK_WINDOW - 1)));

    /* With a reorder allowance, a gap filled within it is never NACKed. */
    rtc_rtp_nack_gen_init(&g, 3, 10 * MS);
    rtc_rtp_nack_gen_set_reorder(&g, 5 * MS);
    cr_assert_eq(rtc_rtp_nack_gen_on_packet(&g, 10, 0), 0);
    cr_assert_eq(rtc_rtp_nack_gen_on_packet(&g, 12, 100 * MS), 0);
    cr_assert_eq(rtc_rtp_nack_gen_poll(&g, 103 * MS, 0, out, 32), 0);
    cr_assert_eq(rtc_rtp_nack_gen_on_packet(&g, 11, 104 * MS), 1);
    cr_assert_eq(rtc_rtp_nack_gen_on_packet(&g, 14, 104 * MS), 0);
    cr_assert_eq(rtc_rtp_nack_gen_poll(&g, 108 * MS, 0, out, 32), 0);
    cr_assert_eq(rtc_rtp_nack_gen_poll(&g, 109 * MS, 0, out, 32), 1);
    cr_assert_eq(out[0], 13);
    cr_assert_eq(g.nacks_sent, 1);

    /* Across the wrap. */
    rtc_rtp_nack_gen_init(&g, 3, 10 * MS);
    cr_assert_eq(rtc_rtp_nack_gen_on_packet(&g, 65534, 0), 0);
    cr_assert_eq(rtc_rtp_nack_gen_on_packet(&g, 65535, 0), 0);
    cr_assert_eq(rtc_rtp_nack_gen_on_packet(&g, 1, 0), 0);
    cr_assert_eq(rtc_rtp_nack_gen_poll(&g, 0, 0, out, 32), 1);
    cr_assert_eq(out[0], 0);
    cr_assert_eq(rtc_rtp_nack_gen_on_packet(&g, 0, 0), 1);
}

/* ---------------------------------------------------------------------------------------------
 * Two ends over a lossy pipe.
 */
typedef struct msg {
    uint64_t at;
    uint16_t len;
    uint8_t b[1400];
} msg_t;

typedef struct pipe {
    msg_t q[512];
    size_t head, tail;
    uint64_t delay_ns;
    uint32_t rng;
    unsigned sent, dropped;
} pipe_t;

static uint32_t xorshift(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

/* Returns false if the pipe dropped it (10%, deterministic). */
static bool pipe_send(pipe_t *p, const uint8_t *b, size_t len, uint64_t now)
{
    p->sent++;
    if (xorshift(&p->rng) % 10 == 0) {
        p->dropped++;
        return false;
    }
    cr_assert_lt(p->tail - p->head, NET_ARRAY_LEN(p->q), "pipe overflow");
    cr_assert_leq(len, sizeof p->q[0].b);
    msg_t *m = &p->q[p->tail++ % NET_ARRAY_LEN(p->q)];
    m->at = now + p->delay_ns;
    m->len = (uint16_t)len;
    memcpy(m->b, b, len);
    return true;
}

static msg_t *pipe_peek(pipe_t *p, uint64_t now)
{
    if (p->head == p->tail || p->q[p->head % NET_ARRAY_LEN(p->q)].at > now)
        return NULL;
    return &p->q[p->head++ % NET_ARRAY_LEN(p->q)];
}

#define N_PKT 3000
/* A loss among the very last packets of a stream shows as no gap (nothing follows it), so
 * the sender goes on for TAIL more packets which are sent but not checked. */
#define TAIL 20
#define SEQ0 64000 /* crosses the 16-bit wrap */
#define MEDIA_SSRC 0x1111
#define RTX_SSRC 0x2222
#define PAY_LEN 300

static void payload_for(unsigned i, uint8_t *p)
{
    for (unsigned k = 0; k < PAY_LEN; k++)
        p[k] = (uint8_t)(i * 31 + k * 7);
}

Test(rtp, nack_rtx_recovery_with_10_percent_loss)
{
    static pipe_t ab, ba; /* A -> B (media, RTX, SR), B -> A (RR, NACK) */
    memset(&ab, 0, sizeof ab);
    memset(&ba, 0, sizeof ba);
    ab.delay_ns = ba.delay_ns = 25 * MS;
    ab.rng = 0x12345678;
    ba.rng = 0x9abcdef1;

    /* A: sender. */
    rtc_rtp_ptmap_t pm;
    rtc_rtp_ptmap_init(&pm);
    cr_assert_eq(rtc_rtp_ptmap_set(&pm, 96, RTC_RTP_CODEC_VP8, 90000, 1), 0);
    cr_assert_eq(rtc_rtp_ptmap_set(&pm, 97, RTC_RTP_CODEC_RTX, 90000, 1), 0);
    cr_assert_eq(rtc_rtp_ptmap_set_apt(&pm, 97, 96), 0);
    rtc_rtp_history_t hist;
    cr_assert_eq(rtc_rtp_history_init(&hist, 1024, 1300), 0);
    rtc_rtp_rtx_tx_t rtx = {.ssrc = RTX_SSRC, .seq = 100, .ptmap = &pm};
    rtc_rtp_tx_stats_t tx;
    rtc_rtp_tx_stats_init(&tx, MEDIA_SSRC, 90000);
    uint64_t ntp_base = rtc_rtcp_ntp_from_unix_ns(1767225600ull * NET_NS_PER_SEC);
    int64_t last_rtt = -1;
    int32_t last_cum_lost = -1;
    unsigned lost_first = 0, rtx_sent = 0, rr_seen = 0;

    /* B: receiver. */
    static rtc_rtp_nack_gen_t ng;
    rtc_rtp_nack_gen_init(&ng, 10, 60 * MS); /* retry after 60 ms: RTT here is 50 ms */
    rtc_rtp_rx_stats_t rx;
    rtc_rtp_rx_stats_init(&rx, MEDIA_SSRC, 90000, 0);
    static bool got[N_PKT + TAIL];
    memset(got, 0, sizeof got);
    unsigned got_cnt = 0, via_rtx = 0, dup = 0;

    uint64_t end = (uint64_t)N_PKT * 5 * MS + 5 * NET_NS_PER_SEC;
    unsigned next = 0;
    for (uint64_t now = 0; now <= end; now += MS) {
        uint64_t ntp_now = ntp_base + ((now << 32) / NET_NS_PER_SEC);
        /* A sends a packet every 5 ms. */
        if (now % (5 * MS) == 0 && next < N_PKT + TAIL) {
            uint8_t b[1400];
            rtc_rtp_hdr_t h = {.pt = 96,
                               .seq = (uint16_t)(SEQ0 + next),
                               .ts = next * 450,
                               .ssrc = MEDIA_SSRC,
                               .marker = next % 10 == 9};
            int hl = rtc_rtp_hdr_write(b, sizeof b, &h, NULL, 0);
            cr_assert_gt(hl, 0);
            payload_for(next, b + hl);
            size_t n = (size_t)hl + PAY_LEN;
            cr_assert_eq(rtc_rtp_history_put(&hist, b, n, now), 0);
            rtc_rtp_tx_stats_on_send(&tx, h.ts, now, PAY_LEN);
            if (!pipe_send(&ab, b, n, now) && next < N_PKT)
                lost_first++;
            next++;
        }
        /* Every 100 ms, A sends SR + SDES, B sends RR + SDES. */
        if (now % (100 * MS) == 50 * MS) {
            uint8_t b[256];
            rtc_rtcp_wr_t w;
            rtc_rtcp_sr_t sr;
            rtc_rtp_tx_stats_sr(&tx, ntp_now, now, &sr);
            rtc_rtcp_wr_init(&w, b, sizeof b);
            cr_assert_eq(rtc_rtcp_wr_sr(&w, &sr), 0);
            cr_assert_eq(rtc_rtcp_wr_sdes_cname(&w, MEDIA_SSRC, "a", 1), 0);
            int len = rtc_rtcp_wr_finish(&w);
            cr_assert_gt(len, 0);
            (void)pipe_send(&ab, b, (size_t)len, now);

            rtc_rtcp_rr_t rr = {.ssrc = 0x3333, .rb_cnt = 1};
            rtc_rtp_rx_stats_report(&rx, now, &rr.rb[0]);
            rtc_rtcp_wr_init(&w, b, sizeof b);
            cr_assert_eq(rtc_rtcp_wr_rr(&w, &rr), 0);
            cr_assert_eq(rtc_rtcp_wr_sdes_cname(&w, 0x3333, "b", 1), 0);
            len = rtc_rtcp_wr_finish(&w);
            cr_assert_gt(len, 0);
            (void)pipe_send(&ba, b, (size_t)len, now);
        }
        /* B polls its NACK generator every 5 ms; NACKs go out as reduced-size RTCP. */
        if (now % (5 * MS) == 2 * MS) {
            uint16_t seqs[64];
            int k = rtc_rtp_nack_gen_poll(&ng, now, 0, seqs, NET_ARRAY_LEN(seqs));
            if (k > 0) {
                uint8_t b[512];
                rtc_rtcp_wr_t w;
                rtc_rtcp_wr_init(&w, b, sizeof b);
                cr_assert_eq(rtc_rtcp_wr_nack(&w, 0x3333, MEDIA_SSRC, seqs, (size_t)k), 0);
                int len = rtc_rtcp_wr_finish(&w);
                cr_assert_gt(len, 0);
                (void)pipe_send(&ba, b, (size_t)len, now);
            }
        }
        /* A receives RTCP. */
        msg_t *m;
        while ((m = pipe_peek(&ba, now))) {
            rtc_rtcp_hdr_t hd[8];
            int cnt = rtc_rtcp_split(m->b, m->len, 0, hd, 8);
            cr_assert_gt(cnt, 0);
            for (int i = 0; i < cnt; i++) {
                if (hd[i].pt == RTC_RTCP_RR) {
                    rtc_rtcp_rr_t rr;
                    cr_assert_eq(rtc_rtcp_rr_parse(&hd[i], &rr), 0);
                    cr_assert_eq(rr.rb[0].ssrc, MEDIA_SSRC);
                    int64_t rtt = rtc_rtcp_rtt_ns(ntp_now, rr.rb[0].lsr, rr.rb[0].dlsr);
                    if (rtt >= 0)
                        last_rtt = rtt;
                    last_cum_lost = rr.rb[0].cum_lost;
                    rr_seen++;
                } else if (hd[i].pt == RTC_RTCP_RTPFB) {
                    rtc_rtcp_fb_t fb;
                    uint16_t seqs[1024];
                    cr_assert_eq(rtc_rtcp_fb_parse(&hd[i], &fb), 0);
                    cr_assert_eq(fb.fmt, RTC_RTCP_FMT_NACK);
                    int k = rtc_rtcp_nack_parse(&fb, seqs, NET_ARRAY_LEN(seqs));
                    cr_assert_gt(k, 0);
                    for (int j = 0; j < k; j++) {
                        uint8_t out[1400];
                        int n = rtc_rtp_history_resend(&hist, &rtx, seqs[j], now, 40 * MS, out,
                                                       sizeof out);
                        if (n == -EAGAIN)
                            continue;
                        cr_assert_gt(n, 0, "resend %u: %d", seqs[j], n);
                        rtx_sent++;
                        (void)pipe_send(&ab, out, (size_t)n, now);
                    }
                }
            }
        }
        /* B receives media, RTX and SR. */
        while ((m = pipe_peek(&ab, now))) {
            if (rtc_rtcp_is_rtcp(m->b, m->len)) {
                rtc_rtcp_hdr_t hd[8];
                rtc_rtcp_sr_t sr;
                cr_assert_eq(rtc_rtcp_split(m->b, m->len, RTC_RTCP_STRICT, hd, 8), 2);
                cr_assert_eq(rtc_rtcp_sr_parse(&hd[0], &sr), 0);
                rtc_rtp_rx_stats_on_sr(&rx, sr.ntp, now);
                continue;
            }
            uint8_t *b = m->b;
            size_t len = m->len;
            rtc_rtp_pkt_t p;
            cr_assert_geq(rtc_rtp_parse(b, len, &p), 0);
            bool is_rtx = p.ssrc == RTX_SSRC;
            if (is_rtx) {
                cr_assert_eq(p.pt, 97);
                int n = rtc_rtp_rtx_decap(b, len, MEDIA_SSRC, 96);
                cr_assert_gt(n, 0);
                b += 2;
                len = (size_t)n;
                cr_assert_geq(rtc_rtp_parse(b, len, &p), 0);
            }
            cr_assert_eq(p.ssrc, MEDIA_SSRC);
            cr_assert_eq(p.pt, 96);
            unsigned idx = (uint16_t)(p.seq - SEQ0);
            cr_assert_lt(idx, N_PKT + TAIL);
            cr_assert_eq(p.ts, idx * 450);
            cr_assert_eq(p.marker, idx % 10 == 9);
            uint8_t want[PAY_LEN];
            payload_for(idx, want);
            cr_assert_eq(p.payload_len, PAY_LEN);
            cr_assert(memcmp(rtc_rtp_payload(&p).p, want, PAY_LEN) == 0, "payload %u", idx);
            (void)rtc_rtp_nack_gen_on_packet(&ng, p.seq, now);
            (void)rtc_rtp_rx_stats_update(&rx, p.seq, p.ts, now);
            if (got[idx]) {
                dup++;
                continue;
            }
            got[idx] = true;
            if (idx < N_PKT) {
                got_cnt++;
                via_rtx += is_rtx;
            }
        }
    }
    /* Every packet arrived, the lost ones through RTX. */
    for (unsigned i = 0; i < N_PKT; i++)
        cr_assert(got[i], "packet %u (seq %u) never arrived", i, (uint16_t)(SEQ0 + i));
    cr_assert_eq(got_cnt, N_PKT);
    cr_assert_eq(via_rtx, lost_first);
    cr_assert_eq(ng.given_up, 0);
    cr_assert_eq(rtc_rtp_nack_gen_missing(&ng), 0);
    cr_assert_geq(ng.recovered, lost_first);
    /* The loss really was about 10% on both pipes. */
    cr_assert(lost_first > N_PKT / 14 && lost_first < N_PKT / 7, "lost_first %u", lost_first);
    cr_assert(ba.dropped > ba.sent / 15 && ba.dropped < ba.sent / 6, "%u/%u", ba.dropped, ba.sent);
    /* Receiver reports saw the repair (cumulative loss back to 0) and RTT is 2 x 25 ms. */
    cr_assert_gt(rr_seen, 50);
    cr_assert_eq(last_cum_lost, 0);
    cr_assert(last_rtt > 49 * (int64_t)MS && last_rtt < 51 * (int64_t)MS, "rtt %lld",
              (long long)last_rtt);
    cr_log_info("sent %u, lost first time %u, RTX sent %u, duplicates %u, NACKs %llu", N_PKT,
                lost_first, rtx_sent, dup, (unsigned long long)ng.nacks_sent);
    rtc_rtp_history_fini(&hist);
}

/* Parses one transport-cc packet from @b and checks it against the arrival times @arr_us
 * (indexed by seq - @seq0; < 0 lost). Returns the number of statuses. */
static int check_twcc_fb(const uint8_t *b, size_t len, uint16_t seq0, const int64_t *arr_us,
                         size_t arr_cnt, uint8_t want_fb_cnt)
{
    rtc_rtcp_hdr_t h[1];
    rtc_rtcp_fb_t fb;
    rtc_rtcp_twcc_t t;
    static rtc_rtcp_twcc_pkt_t pk[RTC_RTP_TWCC_MAX_PER_FB];
    cr_assert_eq(rtc_rtcp_split(b, len, 0, h, 1), 1);
    cr_assert_eq(rtc_rtcp_fb_parse(&h[0], &fb), 0);
    cr_assert_eq(fb.fmt, RTC_RTCP_FMT_TWCC);
    cr_assert_eq(fb.sender_ssrc, 0x3333);
    cr_assert_eq(fb.media_ssrc, 0x1111);
    int n = rtc_rtcp_twcc_parse(&fb, &t, pk, RTC_RTP_TWCC_MAX_PER_FB);
    cr_assert_gt(n, 0);
    cr_assert_eq(t.fb_cnt, want_fb_cnt);
    int64_t at = (int64_t)t.ref_time * 64000;
    for (int i = 0; i < n; i++) {
        size_t idx = (uint16_t)(t.base_seq + i - seq0);
        cr_assert_lt(idx, arr_cnt);
        if (arr_us[idx] < 0) {
            cr_assert_eq(pk[i].status, RTC_RTCP_TWCC_NOT_RECEIVED, "seq idx %zu", idx);
            continue;
        }
        cr_assert_neq(pk[i].status, RTC_RTCP_TWCC_NOT_RECEIVED, "seq idx %zu", idx);
        at += pk[i].delta * 250;
        cr_assert_leq(llabs(at - arr_us[idx]), 125, "seq idx %zu", idx);
    }
    return n;
}

Test(rtp, twcc_feedback_from_recorded_arrivals)
{
    static rtc_rtp_twcc_rec_t r;
    rtc_rtp_twcc_rec_init(&r, 0x3333, 0x1111);
    enum { N = 700 };
    static int64_t arr[N];
    uint16_t seq0 = 65400; /* wraps */
    uint32_t x = 99;
    uint64_t now = 5 * NET_NS_PER_SEC;
    uint8_t buf[1500];
    rtc_rtcp_wr_t w;
    int fbs = 0;
    size_t reported = 0;
    for (int i = 0; i < N; i++) {
        now += (uint64_t)(xorshift(&x) % 4000) * NET_NS_PER_US; /* 0-4 ms apart */
        arr[i] = (i % 7 == 3) ? -1 : (int64_t)(now / NET_NS_PER_US);
        if (arr[i] >= 0)
            rtc_rtp_twcc_rec_on_packet(&r, (uint16_t)(seq0 + i), now);
        if (i == 99 || i == N - 1) { /* feedback after 100 packets, then for all the rest */
            int more;
            do {
                rtc_rtcp_wr_init(&w, buf, sizeof buf);
                more = rtc_rtp_twcc_rec_feedback(&r, &w);
                cr_assert_geq(more, 0);
                int len = rtc_rtcp_wr_finish(&w);
                cr_assert_gt(len, 0);
                cr_assert_leq(len, 1200, "feedback of %d bytes", len);
                reported += (size_t)check_twcc_fb(buf, (size_t)len, seq0, arr, N, (uint8_t)fbs++);
            } while (more == 1);
        }
    }
    cr_assert_eq(reported, N); /* through the last (received) packet */
    rtc_rtcp_wr_init(&w, buf, sizeof buf);
    cr_assert_eq(rtc_rtp_twcc_rec_feedback(&r, &w), 0); /* nothing left */
    cr_assert_eq(rtc_rtcp_wr_finish(&w), 0);
    cr_assert_eq(fbs, 1 + 3); /* 100, then 599 in batches of 256 */

    /* A packet reported lost that turns up later is counted, not reported again. */
    rtc_rtp_twcc_rec_on_packet(&r, (uint16_t)(seq0 + 3), now);
    cr_assert_eq(r.late, 1);

    /* No room in the buffer: nothing is consumed. */
    rtc_rtp_twcc_rec_on_packet(&r, (uint16_t)(seq0 + N), now);
    rtc_rtcp_wr_init(&w, buf, 10);
    cr_assert_eq(rtc_rtp_twcc_rec_feedback(&r, &w), -ENOSPC);
    rtc_rtcp_wr_init(&w, buf, sizeof buf);
    cr_assert_eq(rtc_rtp_twcc_rec_feedback(&r, &w), 0);
    cr_assert_gt(rtc_rtcp_wr_finish(&w), 0);

    /* A long outage (300 lost) does not stall the recorder. */
    rtc_rtp_twcc_rec_on_packet(&r, (uint16_t)(seq0 + N + 301), now);
    int more, rounds = 0;
    do {
        rtc_rtcp_wr_init(&w, buf, sizeof buf);
        more = rtc_rtp_twcc_rec_feedback(&r, &w);
        cr_assert_geq(more, 0);
        cr_assert_lt(++rounds, 5);
    } while (more == 1);
    cr_assert_eq(r.dropped, RTC_RTP_TWCC_MAX_PER_FB); /* the all-lost batch */
    cr_assert_eq(r.base, r.hi + 1);
}
