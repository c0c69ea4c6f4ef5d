/* tests/fuzz/rtcp_fuzz.c: RTCP compound split and every typed parser on untrusted bytes, with
 * round trips through the builders where the encoding is canonical (SR, RR, BYE, REMB
 * targets, transport-cc statuses and deltas must read back identical). */
#include "rtc/rtcp/rtcp.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t out[1 << 18];
static rtc_rtcp_twcc_pkt_t pk[65536], back[65536];

static void check_twcc(const rtc_rtcp_fb_t *fb)
{
    rtc_rtcp_twcc_t t, t2;
    int n = rtc_rtcp_twcc_parse(fb, &t, pk, 65536);
    if (n <= 0)
        return;
    rtc_rtcp_wr_t w;
    rtc_rtcp_wr_init(&w, out, sizeof out);
    if (rtc_rtcp_wr_twcc(&w, fb->sender_ssrc, fb->media_ssrc, &t, pk) < 0)
        abort(); /* anything we parsed must be encodable */
    int len = rtc_rtcp_wr_finish(&w);
    rtc_rtcp_hdr_t h[1];
    rtc_rtcp_fb_t fb2;
    if (len < 0 || rtc_rtcp_split(out, (size_t)len, 0, h, 1) != 1 ||
        rtc_rtcp_fb_parse(&h[0], &fb2) < 0 || rtc_rtcp_twcc_parse(&fb2, &t2, back, 65536) != n)
        abort();
    if (t2.base_seq != t.base_seq || t2.ref_time != t.ref_time || t2.fb_cnt != t.fb_cnt)
        abort();
    for (int i = 0; i < n; i++)
        if (back[i].status != pk[i].status || back[i].delta != pk[i].delta)
            abort();
}

/* The verdict of the public typed parsers on one packet, for comparison with rtc_rtcp_check. */
static bool typed_ok(const rtc_rtcp_hdr_t *h)
{
    rtc_rtcp_sr_t sr;
    rtc_rtcp_rr_t rr;
    rtc_rtcp_sdes_chunk_t c[31];
    rtc_rtcp_bye_t bye;
    rtc_rtcp_fb_t fb;
    uint16_t seqs[64];
    rtc_rtcp_fir_entry_t fe[8];
    rtc_rtcp_remb_t remb;
    rtc_rtcp_twcc_t t;
    switch (h->pt) {
    case RTC_RTCP_SR:
        return rtc_rtcp_sr_parse(h, &sr) == 0;
    case RTC_RTCP_RR:
        return rtc_rtcp_rr_parse(h, &rr) == 0;
    case RTC_RTCP_SDES:
        return rtc_rtcp_sdes_parse(h, c, 31) >= 0;
    case RTC_RTCP_BYE:
        return rtc_rtcp_bye_parse(h, &bye) == 0;
    case RTC_RTCP_APP:
        return h->body.len >= 8;
    case RTC_RTCP_RTPFB:
    case RTC_RTCP_PSFB:
        if (rtc_rtcp_fb_parse(h, &fb) < 0)
            return false;
        if (h->pt == RTC_RTCP_RTPFB && fb.fmt == RTC_RTCP_FMT_NACK)
            return rtc_rtcp_nack_parse(&fb, seqs, 64) != -EBADMSG;
        if (h->pt == RTC_RTCP_RTPFB && fb.fmt == RTC_RTCP_FMT_TWCC)
            return rtc_rtcp_twcc_parse(&fb, &t, pk, 65536) >= 0;
        if (h->pt == RTC_RTCP_PSFB && fb.fmt == RTC_RTCP_FMT_FIR)
            return rtc_rtcp_fir_parse(&fb, fe, 8) != -EBADMSG;
        if (h->pt == RTC_RTCP_PSFB && fb.fmt == RTC_RTCP_FMT_AFB)
            return rtc_rtcp_remb_parse(&fb, &remb) != -EBADMSG;
        return true;
    default:
        return true;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rtc_rtcp_hdr_t h[32];
    int n = rtc_rtcp_split(data, size, 0, h, 32);
    int strict = rtc_rtcp_split(data, size, RTC_RTCP_STRICT, h, 32);
    if (strict >= 0 && strict != n)
        abort(); /* strict accepts a subset of what the lenient split accepts */
    n = rtc_rtcp_split(data, size, 0, h, 32);
    /* rtc_rtcp_check accepts exactly the compounds whose every packet the parsers accept. */
    rtc_rtcp_counters_t cnt = {0};
    rtc_rtcp_hdr_t hc[32];
    bool all_ok = n >= 0;
    for (int i = 0; i < n; i++)
        all_ok = all_ok && typed_ok(&h[i]);
    if ((rtc_rtcp_check(data, size, 0, hc, 32, &cnt) >= 0) != all_ok ||
        cnt.compounds + cnt.malformed != 1)
        abort();
    for (int i = 0; i < n; i++) {
        if (h[i].body.p < data || h[i].body.p + h[i].body.len > data + size)
            abort();
        rtc_rtcp_wr_t w;
        rtc_rtcp_wr_init(&w, out, sizeof out);
        switch (h[i].pt) {
        case RTC_RTCP_SR: {
            rtc_rtcp_sr_t sr, sr2;
            if (rtc_rtcp_sr_parse(&h[i], &sr) < 0)
                break;
            (void)rtc_rtcp_wr_sr(&w, &sr);
            rtc_rtcp_hdr_t h2[1];
            int len = rtc_rtcp_wr_finish(&w);
            if (len < 0 || rtc_rtcp_split(out, (size_t)len, 0, h2, 1) != 1 ||
                rtc_rtcp_sr_parse(&h2[0], &sr2) < 0 || memcmp(&sr.rb, &sr2.rb, sizeof sr.rb) ||
                sr.ntp != sr2.ntp || sr.rb_cnt != sr2.rb_cnt)
                abort();
            break;
        }
        case RTC_RTCP_RR: {
            rtc_rtcp_rr_t rr;
            if (rtc_rtcp_rr_parse(&h[i], &rr) == 0 && rtc_rtcp_wr_rr(&w, &rr) < 0)
                abort();
            break;
        }
        case RTC_RTCP_SDES: {
            rtc_rtcp_sdes_chunk_t c[31];
            int k = rtc_rtcp_sdes_parse(&h[i], c, 31);
            for (int j = 0; j < k; j++)
                if (c[j].cname.p && c[j].cname.len &&
                    rtc_rtcp_wr_sdes_cname(&w, c[j].ssrc, (const char *)c[j].cname.p,
                                           c[j].cname.len) < 0)
                    abort();
            break;
        }
        case RTC_RTCP_BYE: {
            rtc_rtcp_bye_t bye;
            if (rtc_rtcp_bye_parse(&h[i], &bye) == 0 &&
                rtc_rtcp_wr_bye(&w, bye.ssrc, bye.cnt, (const char *)bye.reason.p, bye.reason.len) <
                    0)
                abort();
            break;
        }
        case RTC_RTCP_RTPFB:
        case RTC_RTCP_PSFB: {
            rtc_rtcp_fb_t fb;
            if (rtc_rtcp_fb_parse(&h[i], &fb) < 0)
                break;
            uint16_t seqs[1024];
            rtc_rtcp_fir_entry_t fe[64];
            rtc_rtcp_remb_t remb;
            if (h[i].pt == RTC_RTCP_RTPFB && fb.fmt == RTC_RTCP_FMT_NACK) {
                int k = rtc_rtcp_nack_parse(&fb, seqs, 1024);
                if (k > 0 && rtc_rtcp_wr_nack(&w, 1, 2, seqs, (size_t)k) < 0)
                    abort();
            } else if (h[i].pt == RTC_RTCP_RTPFB && fb.fmt == RTC_RTCP_FMT_TWCC) {
                check_twcc(&fb);
            } else if (h[i].pt == RTC_RTCP_PSFB && fb.fmt == RTC_RTCP_FMT_FIR) {
                if (rtc_rtcp_fir_parse(&fb, fe, 64) > 64)
                    abort();
            } else if (h[i].pt == RTC_RTCP_PSFB && fb.fmt == RTC_RTCP_FMT_AFB &&
                       rtc_rtcp_remb_parse(&fb, &remb) == 0) {
                size_t k = NET_MIN(remb.ssrc_cnt, RTC_RTCP_REMB_MAX_SSRC);
                if (rtc_rtcp_wr_remb(&w, 1, remb.bitrate_bps, remb.ssrc, k) < 0)
                    abort();
            }
            break;
        }
        default: /* APP and unknown types are skipped */
            break;
        }
    }
    return 0;
}
