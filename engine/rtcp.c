/* engine/rtcp.c: the RTCP and repair steps that the SFU's legs (engine/sfu.c) and the public
 * API's connections (engine/pc.c) share: when to report, answering NACKs from a send history,
 * and sending the NACKs a generator says are due. Shard thread; nothing here allocates.
 */
#include "engine/engine_priv.h"

#include "rtc/crypto/crypto.h"
#include "rtc/rtcp/rtcp.h"

uint64_t eng_rtcp_next_ns(uint64_t now_ns, bool initial)
{
    /* Two members, RTCP bandwidth 5% of 2 Mbit/s (RFC 3550 §6.2): the computed interval is far
     * below the minimum, so the minimum rules. WebRTC sends every ~1 s (RFC 8834 §5.1.2 leaves
     * it to AVPF, RFC 4585 §3.4). */
    rtc_rtcp_interval_cfg_t cfg = {.members = 2,
                                   .senders = 2,
                                   .rtcp_bw_bps = 100000,
                                   .we_sent = true,
                                   .avg_rtcp_len = 200,
                                   .initial = initial,
                                   .min_ns = ENG_RTCP_INTERVAL_NS};
    uint32_t r = 0x80000000u;
    if (rtc_random(&r, sizeof r) < 0)
        r = 0x80000000u;
    return now_ns + rtc_rtcp_interval_ns(&cfg, r);
}

/* One NACKed sequence number's repair into @out: from a send history or a forwarding leg. */
struct resend_src {
    rtc_rtp_history_t *h;   /* or: */
    rtc_rtp_fwd_leg_t *leg; /* with */
    const rtc_rtp_fwd_hist_t *fh;
};

static int resend_one(const struct resend_src *src, rtc_rtp_rtx_tx_t *rtx, uint16_t seq,
                      uint64_t now_ns, uint8_t *out, size_t cap)
{
    if (src->h)
        return rtc_rtp_history_resend(src->h, rtx, seq, now_ns, ENG_RTX_MIN_NS, out, cap);
    return rtc_rtp_fwd_resend(src->leg, src->fh, rtx, seq, now_ns, ENG_RTX_MIN_NS, out, cap);
}

static int rtx_answer(eng_peer_t *p, const struct resend_src *src, rtc_rtp_rtx_tx_t *rtx,
                      const uint16_t *seqs, int n, uint64_t now_ns, eng_rtx_counts_t *c)
{
    int missing = 0;
    uint8_t buf[NET_PKT_MAX_LEN - RTC_SRTP_TAILROOM];
    for (int i = 0; i < n; i++) {
        c->nacked++;
        /* RFC 4588 §4 (or the original again), at most once per ENG_RTX_MIN_NS: one loss
         * NACKed twice (a retry crossing the repair) is not sent twice. */
        int len = resend_one(src, rtx, seqs[i], now_ns, buf, sizeof buf);
        if (len == -ENOENT) {
            c->missing++;
            missing++;
        }
        if (len <= 0)
            continue;
        int ret = eng_peer_send_copy(p, buf, (size_t)len, false);
        if (ret == -ENOBUFS)
            c->nobufs++;
        else if (ret == 0)
            c->resent++;
    }
    return missing;
}

int eng_rtx_answer(eng_peer_t *p, rtc_rtp_history_t *h, rtc_rtp_rtx_tx_t *rtx, const uint16_t *seqs,
                   int n, uint64_t now_ns, eng_rtx_counts_t *c)
{
    return rtx_answer(p, &(struct resend_src){.h = h}, rtx, seqs, n, now_ns, c);
}

int eng_rtx_answer_fwd(eng_peer_t *p, rtc_rtp_fwd_leg_t *leg, const rtc_rtp_fwd_hist_t *h,
                       rtc_rtp_rtx_tx_t *rtx, const uint16_t *seqs, int n, uint64_t now_ns,
                       eng_rtx_counts_t *c)
{
    return rtx_answer(p, &(struct resend_src){.leg = leg, .fh = h}, rtx, seqs, n, now_ns, c);
}

uint64_t eng_nack_wait_ns(int64_t rtt_ns, uint64_t fallback_ns)
{
    if (rtt_ns < 0)
        return fallback_ns;
    uint64_t rtt = NET_MIN(NET_MAX((uint64_t)rtt_ns, ENG_NACK_MIN_NS), ENG_RTT_MAX_NS);
    return rtt + rtt / 4;
}

int eng_rtcp_send_nack(eng_peer_t *p, rtc_rtp_nack_gen_t *g, uint32_t sender, const char *cname,
                       uint32_t media, uint64_t now_ns, uint64_t rtt_ns)
{
    uint16_t seqs[64];
    int n = rtc_rtp_nack_gen_poll(g, now_ns, rtt_ns, seqs, NET_ARRAY_LEN(seqs));
    if (n <= 0)
        return n;
    /* RFC 3550 §6.1: a compound starts with a report and carries a CNAME; an empty RR will do
     * (the regular reports carry the blocks). */
    uint8_t buf[512];
    rtc_rtcp_wr_t w;
    rtc_rtcp_wr_init(&w, buf, sizeof buf);
    rtc_rtp_wr_report(&w, NULL, sender, NULL, 0, cname, 0, now_ns);
    (void)rtc_rtcp_wr_nack(&w, sender, media, seqs, (size_t)n);
    int len = rtc_rtcp_wr_finish(&w);
    if (len < 0)
        return len;
    int ret = eng_peer_send_copy(p, buf, (size_t)len, true);
    return ret < 0 ? ret : n;
}
