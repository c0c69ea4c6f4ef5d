/* rtc/rtp/stats.c: receiver statistics (RFC 3550 A.1, A.3, A.8) and sender SR timing. */
#include "rtc/rtp/rtp.h"

#define RTP_SEQ_MOD (1u << 16)
#define MAX_DROPOUT 3000 /* RFC 3550 A.1 */
#define MAX_MISORDER 100

/* RFC 3550 A.1 init_seq(). */
static void init_seq(rtc_rtp_rx_stats_t *s, uint16_t seq)
{
    s->base_seq = seq;
    s->max_seq = seq;
    s->bad_seq = RTP_SEQ_MOD + 1; /* so seq == bad_seq is false */
    s->cycles = 0;
    s->received = 0;
    s->received_prior = 0;
    s->expected_prior = 0;
}

void rtc_rtp_rx_stats_init(rtc_rtp_rx_stats_t *s, uint32_t ssrc, uint32_t clock_hz,
                           uint8_t min_sequential)
{
    memset(s, 0, sizeof *s);
    s->ssrc = ssrc;
    s->clock_hz = clock_hz;
    s->min_sequential = min_sequential;
}

/* Engine time in units of the media clock (mod 2^32), for A.8's arrival timestamps. */
static uint32_t to_rtp_units(uint64_t ns, uint32_t clock_hz)
{
    return (uint32_t)((unsigned __int128)ns * clock_hz / NET_NS_PER_SEC);
}

/* RFC 3550 A.8, integer form: J += (|D| - J/16) with J kept scaled by 16. */
static void update_jitter(rtc_rtp_rx_stats_t *s, uint32_t rtp_ts, uint64_t now_ns)
{
    uint32_t transit = to_rtp_units(now_ns, s->clock_hz) - rtp_ts;
    if (s->have_transit) {
        int32_t d = (int32_t)(transit - s->transit);
        uint32_t ad = d < 0 ? (uint32_t) - (int64_t)d : (uint32_t)d;
        s->jitter_q4 += ad - ((s->jitter_q4 + 8) >> 4);
    }
    s->transit = transit;
    s->have_transit = true;
}

int rtc_rtp_rx_stats_update(rtc_rtp_rx_stats_t *s, uint16_t seq, uint32_t rtp_ts, uint64_t now_ns)
{
    if (!s->init) {
        s->init = true;
        init_seq(s, seq);
        if (s->min_sequential == 0) {
            s->received++;
            update_jitter(s, rtp_ts, now_ns);
            return 1;
        }
        s->max_seq = (uint16_t)(seq - 1); /* A.1: the source is new, on probation */
        s->probation = s->min_sequential;
    }
    uint16_t udelta = (uint16_t)(seq - s->max_seq);
    bool advanced = false;
    if (s->probation) {
        /* A.1: the packet is in sequence; MIN_SEQUENTIAL of them make the source valid. */
        if (seq == (uint16_t)(s->max_seq + 1)) {
            s->probation--;
            s->max_seq = seq;
            if (s->probation == 0) {
                init_seq(s, seq);
                s->received++;
                update_jitter(s, rtp_ts, now_ns);
                return 1;
            }
        } else {
            s->probation = s->min_sequential - 1u;
            s->max_seq = seq;
        }
        return 0;
    } else if (udelta < MAX_DROPOUT) {
        /* in order, with permissible gap */
        if (seq < s->max_seq)
            s->cycles += RTP_SEQ_MOD; /* wrapped */
        advanced = udelta != 0;
        s->max_seq = seq;
    } else if (udelta <= RTP_SEQ_MOD - MAX_MISORDER) {
        /* the sequence number made a very large jump */
        if (seq == s->bad_seq) {
            /* two sequential packets: the other side restarted without telling us */
            init_seq(s, seq);
            s->restarts++;
            s->have_transit = false;
            advanced = true;
        } else {
            s->bad_seq = (seq + 1u) & (RTP_SEQ_MOD - 1);
            return 0;
        }
    } /* else: duplicate or reordered packet */
    s->received++;
    if (advanced)
        update_jitter(s, rtp_ts, now_ns);
    return 1;
}

void rtc_rtp_rx_stats_on_sr(rtc_rtp_rx_stats_t *s, uint64_t ntp, uint64_t now_ns)
{
    s->lsr = rtc_rtcp_ntp_mid(ntp);
    s->lsr_rx_ns = now_ns;
}

void rtc_rtp_rx_stats_report(rtc_rtp_rx_stats_t *s, uint64_t now_ns, rtc_rtcp_rb_t *rb)
{
    memset(rb, 0, sizeof *rb);
    rb->ssrc = s->ssrc;
    if (s->init && s->probation == 0) {
        /* RFC 3550 A.3 */
        uint32_t extended_max = s->cycles + s->max_seq;
        uint32_t expected = extended_max - s->base_seq + 1;
        int64_t lost = (int64_t)expected - s->received;
        rb->cum_lost = lost > 0x7fffff ? 0x7fffff : lost < -0x800000 ? -0x800000 : (int32_t)lost;
        uint32_t expected_interval = expected - s->expected_prior;
        s->expected_prior = expected;
        uint32_t received_interval = s->received - s->received_prior;
        s->received_prior = s->received;
        int64_t lost_interval = (int64_t)expected_interval - received_interval;
        if (expected_interval == 0 || lost_interval <= 0)
            rb->fraction_lost = 0;
        else
            rb->fraction_lost = (uint8_t)((lost_interval << 8) / expected_interval);
        rb->ext_high_seq = extended_max;
        rb->jitter = s->jitter_q4 >> 4;
    }
    if (s->lsr) {
        rb->lsr = s->lsr;
        /* §6.4.1: DLSR in units of 1/65536 s */
        rb->dlsr = (uint32_t)(((now_ns - s->lsr_rx_ns) << 16) / NET_NS_PER_SEC);
    }
}

void rtc_rtp_tx_stats_init(rtc_rtp_tx_stats_t *t, uint32_t ssrc, uint32_t clock_hz)
{
    memset(t, 0, sizeof *t);
    t->ssrc = ssrc;
    t->clock_hz = clock_hz;
}

void rtc_rtp_tx_stats_on_send(rtc_rtp_tx_stats_t *t, uint32_t rtp_ts, uint64_t ts_ns,
                              size_t payload_len)
{
    t->pkt_cnt++;
    t->octet_cnt += (uint32_t)payload_len;
    t->last_ts = rtp_ts;
    t->last_ts_ns = ts_ns;
    t->have_ts = true;
}

void rtc_rtp_tx_stats_sr(const rtc_rtp_tx_stats_t *t, uint64_t ntp, uint64_t now_ns,
                         rtc_rtcp_sr_t *sr)
{
    sr->ssrc = t->ssrc;
    sr->ntp = ntp;
    sr->pkt_cnt = t->pkt_cnt;
    sr->octet_cnt = t->octet_cnt;
    sr->rb_cnt = 0;
    sr->rtp_ts = t->last_ts;
    if (!t->have_ts)
        return;
    if (now_ns >= t->last_ts_ns)
        sr->rtp_ts += to_rtp_units(now_ns - t->last_ts_ns, t->clock_hz);
    else
        sr->rtp_ts -= to_rtp_units(t->last_ts_ns - now_ns, t->clock_hz);
}

void rtc_rtp_wr_report(rtc_rtcp_wr_t *w, const rtc_rtp_tx_stats_t *tx, uint32_t ssrc,
                       const rtc_rtcp_rb_t *rb, size_t rb_cnt, const char *cname, uint64_t ntp,
                       uint64_t now_ns)
{
    rb_cnt = NET_MIN(rb_cnt, (size_t)RTC_RTCP_MAX_RB);
    if (tx && tx->pkt_cnt) {
        rtc_rtcp_sr_t sr;
        rtc_rtp_tx_stats_sr(tx, ntp, now_ns, &sr);
        ssrc = sr.ssrc;
        sr.rb_cnt = (uint8_t)rb_cnt;
        if (rb_cnt)
            memcpy(sr.rb, rb, rb_cnt * sizeof *rb);
        (void)rtc_rtcp_wr_sr(w, &sr);
    } else {
        rtc_rtcp_rr_t rr = {.ssrc = ssrc, .rb_cnt = (uint8_t)rb_cnt};
        if (rb_cnt)
            memcpy(rr.rb, rb, rb_cnt * sizeof *rb);
        (void)rtc_rtcp_wr_rr(w, &rr);
    }
    (void)rtc_rtcp_wr_sdes_cname(w, ssrc, cname, strlen(cname));
}
