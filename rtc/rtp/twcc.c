/* rtc/rtp/twcc.c: transport-wide congestion control feedback, receive side
 * (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1; wire format in rtc/rtcp). */
#include "rtc/rtp/rtp.h"

#define TWCC_MASK (RTC_RTP_TWCC_WINDOW - 1)

void rtc_rtp_twcc_rec_init(rtc_rtp_twcc_rec_t *r, uint32_t sender_ssrc, uint32_t media_ssrc)
{
    memset(r, 0, sizeof *r);
    rtc_rtp_unwrap_init(&r->unwrap);
    r->sender_ssrc = sender_ssrc;
    r->media_ssrc = media_ssrc;
    for (unsigned i = 0; i < RTC_RTP_TWCC_WINDOW; i++)
        r->seq[i] = INT64_MIN;
}

void rtc_rtp_twcc_rec_on_packet(rtc_rtp_twcc_rec_t *r, uint16_t seq, uint64_t now_ns)
{
    int64_t s = rtc_rtp_seq_unwrap(&r->unwrap, seq);
    if (!r->init) {
        r->init = true;
        r->base = s;
        r->hi = s;
    }
    if (s < r->base) { /* already reported as not received */
        r->late++;
        return;
    }
    if (s > r->hi)
        r->hi = s;
    if (r->hi - r->base >= (int64_t)RTC_RTP_TWCC_WINDOW) { /* the oldest fall out unreported */
        int64_t nb = r->hi - RTC_RTP_TWCC_WINDOW + 1;
        r->dropped += (uint64_t)(nb - r->base);
        r->base = nb;
    }
    unsigned i = (unsigned)((uint64_t)s & TWCC_MASK);
    r->seq[i] = s;
    r->arrival_us[i] = (int64_t)(now_ns / NET_NS_PER_US);
}

int rtc_rtp_twcc_rec_feedback(rtc_rtp_twcc_rec_t *r, rtc_rtcp_wr_t *w)
{
    if (!r->init || r->base > r->hi)
        return 0;
    size_t n = (size_t)NET_MIN(r->hi - r->base + 1, (int64_t)RTC_RTP_TWCC_MAX_PER_FB);
    int64_t arr[RTC_RTP_TWCC_MAX_PER_FB];
    for (size_t k = 0; k < n; k++) {
        int64_t s = r->base + (int64_t)k;
        unsigned i = (unsigned)((uint64_t)s & TWCC_MASK);
        arr[k] = r->seq[i] == s ? r->arrival_us[i] : -1;
    }
    rtc_rtcp_twcc_t t = {.base_seq = (uint16_t)r->base, .fb_cnt = r->fb_cnt};
    rtc_rtcp_twcc_pkt_t pk[RTC_RTP_TWCC_MAX_PER_FB];
    int e = rtc_rtcp_twcc_from_arrivals(arr, n, &t, pk);
    if (e < 0) {
        /* -EINVAL: nothing in the batch was received (a long outage), so there is no
         * reference time; -ERANGE: a receive gap over 8 s inside the batch. Both rare: the
         * batch is dropped unreported (the sender treats it as lost) rather than stall. */
        r->base += (int64_t)n;
        r->dropped += n;
        return r->base <= r->hi;
    }
    int err = rtc_rtcp_wr_twcc(w, r->sender_ssrc, r->media_ssrc, &t, pk);
    if (err < 0)
        return err; /* nothing consumed: retried with a fresh buffer */
    r->fb_cnt++;
    r->base += (int64_t)n;
    return r->base <= r->hi;
}
