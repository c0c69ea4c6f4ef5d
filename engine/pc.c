/* engine/pc.c: the public peer-connection API (include/urtc/urtc.h).
 *
 * A urtc_pc_t joins the JSEP state machine (rtc/pc: descriptions, transceivers, codecs) and
 * the engine peer (engine/peer.c: ICE, DTLS, SRTP on the shard's socket). Applying
 * descriptions feeds the peer its remote credentials, candidates, ICE role, DTLS role and
 * fingerprint; the peer's events come back as the W3C callbacks.
 */
#include "urtc/urtc.h"

#include "engine/engine_priv.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "codecs/codecs.h"
#include "rtc/crypto/crypto.h"
#include "rtc/pc/pc.h"
#include "rtc/rtcp/rtcp.h"
#include "rtc/rtp/rtp.h"
#include "rtc/sdp/sdp.h"

/* ---- Engine ------------------------------------------------------------------------------ */

urtc_engine_t *urtc_engine_create(const urtc_engine_config_t *cfg)
{
    urtc_engine_t *ue = calloc(1, sizeof *ue);
    if (!ue)
        return NULL;
    eng_cfg_t ecfg = {
        .turn_user = cfg ? cfg->turn_username : NULL,
        .turn_pass = cfg ? cfg->turn_password : NULL,
        .shards = cfg ? cfg->shards : 0,
        .media_ip = cfg ? cfg->media_ip : NULL,
        .udp_port = cfg ? cfg->udp_port : 0,
        .max_peers = cfg ? cfg->max_peers : 0,
        .cert_pem = cfg ? cfg->cert_pem : NULL,
        .key_pem = cfg ? cfg->key_pem : NULL,
    };
    if ((cfg && cfg->stun_server &&
         net_addr_parse(&ecfg.stun_server, cfg->stun_server, 3478) < 0) ||
        (cfg && cfg->turn_server &&
         net_addr_parse(&ecfg.turn_server, cfg->turn_server, 3478) < 0)) {
        LOG_ERROR("urtc_engine_create: bad STUN or TURN server address");
        free(ue);
        return NULL;
    }
    ue->e = eng_create(&ecfg);
    if (!ue->e) {
        free(ue);
        return NULL;
    }
    return ue;
}

void urtc_engine_destroy(urtc_engine_t *ue)
{
    if (!ue)
        return;
    eng_destroy(ue->e); /* closes every peer; the urtc_pc_t go with their peers */
    free(ue);
}

unsigned urtc_engine_shards(const urtc_engine_t *ue)
{
    return eng_shard_count(ue->e);
}

struct post_arg {
    void (*fn)(urtc_shard_t *, void *);
    void *arg;
};

static void post_shard_cmd(eng_shard_t *sh, void *arg, uint64_t u64)
{
    (void)u64;
    /* The function pointer travels in u64, its argument in arg: no allocation per post. */
    void (*fn)(urtc_shard_t *, void *);
    memcpy(&fn, &u64, sizeof fn);
    fn((urtc_shard_t *)sh, arg);
}

int urtc_engine_post(urtc_engine_t *ue, int shard, void (*fn)(urtc_shard_t *sh, void *arg),
                     void *arg)
{
    unsigned n = eng_shard_count(ue->e);
    unsigned i = shard < 0 ? ue->next++ % n : (unsigned)shard;
    uint64_t u64 = 0;
    _Static_assert(sizeof fn <= sizeof u64, "function pointers fit in 64 bits");
    memcpy(&u64, &fn, sizeof fn);
    return eng_post(ue->e, i, post_shard_cmd, arg, u64);
}

int urtc_engine_wait_signal(unsigned timeout_ms)
{
    return eng_wait_signal((uint64_t)timeout_ms * NET_NS_PER_MS);
}

unsigned urtc_shard_index(const urtc_shard_t *sh)
{
    return eng_shard_index((const eng_shard_t *)sh);
}

/* ---- Helpers ----------------------------------------------------------------------------- */

__attribute__((format(printf, 3, 4))) static int fail(urtc_pc_t *pc, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pc->err, sizeof pc->err, fmt, ap);
    va_end(ap);
    return err;
}

static void set_state(urtc_pc_t *pc, urtc_pc_state_t st)
{
    if (pc->state == st)
        return;
    pc->state = st;
    if (pc->cbs.on_state)
        pc->cbs.on_state(pc, st, pc->user);
}

/* W3C RTCPeerConnectionState from the ICE and DTLS transport states (webrtc-pc §4.3.3, with
 * one transport): a DTLS transport the peer closed counts as "closed", which does not make
 * the connection leave "connected". */
static void update_state(urtc_pc_t *pc)
{
    if (pc->state == URTC_PC_CLOSED)
        return;
    urtc_pc_state_t st;
    if (pc->ice == URTC_ICE_FAILED || pc->dtls == URTC_DTLS_FAILED)
        st = URTC_PC_FAILED;
    else if (pc->ice == URTC_ICE_DISCONNECTED)
        st = URTC_PC_DISCONNECTED;
    else if ((pc->ice == URTC_ICE_CONNECTED || pc->ice == URTC_ICE_COMPLETED) &&
             (pc->dtls == URTC_DTLS_CONNECTED || pc->dtls == URTC_DTLS_CLOSED))
        st = URTC_PC_CONNECTED;
    else if (pc->ice == URTC_ICE_NEW && pc->dtls == URTC_DTLS_NEW)
        st = URTC_PC_NEW;
    else
        st = URTC_PC_CONNECTING;
    set_state(pc, st);
}

/* W3C "update the negotiation-needed flag", simplified: fire once per change until the next
 * offer is applied. */
void eng_pc_negotiation_needed(urtc_pc_t *pc)
{
    if (pc->negotiation_needed || pc->state == URTC_PC_CLOSED)
        return;
    pc->negotiation_needed = true;
    if (pc->cbs.on_negotiation_needed)
        pc->cbs.on_negotiation_needed(pc, pc->user);
}

/* ---- RTCP and repair (RFC 3550 §6, RFC 4585, RFC 4588) -------------------------------------- */

/* A video transceiver's send history and RTX sender, when NACK was negotiated. */
struct eng_pc_resend {
    bool on;      /* the current negotiation has NACK for it */
    bool use_rtx; /* ... and RTX with our RTX SSRC (else the original is sent again) */
    rtc_rtp_history_t hist;
    rtc_rtp_ptmap_t ptmap;
    rtc_rtp_rtx_tx_t rtx;
};

/* A gap is NACKed once it is this old: the network may merely have reordered it (a NACK for a
 * packet already on its way costs a useless retransmission). */
#define PC_NACK_REORDER_NS (10 * NET_NS_PER_MS)
#define PC_RTT_DEFAULT_NS (100 * NET_NS_PER_MS) /* until a report block measured it */
/* NACKs per lost packet: a repair lost too is asked for again, within what the depacketizer
 * holds (libwebrtc tries up to 10 times). */
#define PC_NACK_TRIES 5
#define PC_DEPAY_PENDING_NACK 24  /* frames a NACKed video stream's depacketizer holds */
#define PC_DEPAY_REORDER_NACK 512 /* packets */

static void deliver_frames(urtc_pc_t *pc, int t);

static bool dir_sends(rtc_sdp_dir_t d)
{
    return d == RTC_SDP_DIR_SENDRECV || d == RTC_SDP_DIR_SENDONLY;
}
static bool dir_recvs(rtc_sdp_dir_t d)
{
    return d == RTC_SDP_DIR_SENDRECV || d == RTC_SDP_DIR_RECVONLY;
}

static const rtc_pc_neg_codec_t *neg_by_pt(const rtc_pc_transceiver_t *t, uint8_t pt)
{
    for (unsigned k = 0; k < t->neg_cnt; k++)
        if (t->neg[k].pt == pt)
            return &t->neg[k];
    return NULL;
}

static uint32_t neg_clock(const rtc_pc_t *j, const rtc_pc_transceiver_t *t,
                          const rtc_pc_neg_codec_t *n)
{
    const rtc_pc_codec_t *cap = n ? rtc_pc_neg_codec_cap(j, t, n) : NULL;
    return cap && cap->clock_hz ? cap->clock_hz : t->kind == RTC_SDP_KIND_AUDIO ? 48000 : 90000;
}

/* How long a NACK waits for its repair before the next try: the measured round trip and a
 * quarter, clamped (eng_nack_wait_ns); PC_RTT_DEFAULT_NS and a quarter until one is measured. */
static uint64_t pc_nack_wait(const urtc_pc_t *pc)
{
    return eng_nack_wait_ns(pc->rtt_ns, PC_RTT_DEFAULT_NS + PC_RTT_DEFAULT_NS / 4);
}

static void pc_rtcp_timer(net_timer_t *tm, uint64_t now);

/* The timer runs the next regular report, or sooner a NACK retry while packets are missing. */
static void pc_rtcp_arm(urtc_pc_t *pc, uint64_t now)
{
    if (pc->rtcp_by_owner || !pc->next_report_ns || pc->state == URTC_PC_CLOSED)
        return;
    uint64_t due = pc->next_report_ns;
    for (unsigned i = 0; i < pc->jsep.tr_cnt; i++)
        if (pc->nack[i] && rtc_rtp_nack_gen_missing(pc->nack[i]))
            due = NET_MIN(due, now + ENG_NACK_MIN_NS);
    if (!net_timer_armed(&pc->rtcp_timer) || net_timer_due(&pc->rtcp_timer) > due)
        net_timer_arm(eng_shard_timers(pc->sh), &pc->rtcp_timer, due);
}

/* SRTP is keyed: reports start, the first after half an interval (RFC 3550 §6.2). */
static void pc_rtcp_start(urtc_pc_t *pc)
{
    if (pc->rtcp_by_owner || pc->next_report_ns)
        return;
    uint64_t now = eng_shard_now(pc->sh);
    net_timer_init(&pc->rtcp_timer, pc_rtcp_timer);
    pc->next_report_ns = eng_rtcp_next_ns(now, true);
    pc_rtcp_arm(pc, now);
}

/* The SSRC our receiver reports and feedback come from: the transceiver's own (every
 * transceiver has one, sending or not), as libwebrtc does. */
static uint32_t rtcp_ssrc(const urtc_pc_t *pc, unsigned t)
{
    return pc->jsep.tr[t].ssrc ? pc->jsep.tr[t].ssrc : pc->jsep.tr[0].ssrc;
}

static void pc_send_nacks(urtc_pc_t *pc, unsigned t, uint64_t now)
{
    rtc_rtp_nack_gen_t *g = pc->nack[t];
    int n = eng_rtcp_send_nack(pc->peer, g, rtcp_ssrc(pc, t), pc->jsep.cname, pc->st[t].rx.ssrc,
                               now, pc_nack_wait(pc));
    if (n > 0)
        pc->st[t].nack_tx += (uint64_t)n;
    if (g->given_up != pc->st[t].nack_given_up) {
        /* A packet will not come: the frames waiting for it go (the next carries after_gap,
         * and the decoder asks for a keyframe) rather than wait for the depacketizer's limit. */
        pc->st[t].nack_given_up = g->given_up;
        if (pc->depay[t]) {
            codec_depay_flush(pc->depay[t]);
            deliver_frames(pc, (int)t);
        }
    }
}

/* Every ~1 s: a compound SR + SDES for each SSRC we send, the report blocks about what we
 * receive in the first (RFC 3550 §6.4.1); an RR + SDES if we send nothing. A stream is a
 * sender while it sent since the report before the last (§6.4: SR "if the site has sent any
 * data packets during the interval since issuing the last report or the previous one"). */
static void pc_send_reports(urtc_pc_t *pc, uint64_t now)
{
    /* DLSR and the SR's NTP/RTP pair want the time of this very moment: the tick's time may be
     * late by what the tick did before (decoding frames in callbacks), which a loopback RTT
     * cannot absorb. Once a second, a clock read is cheap. */
    now = net_clock_ns();
    rtc_rtcp_rb_t rb[RTC_RTCP_MAX_RB];
    unsigned nb = 0;
    for (unsigned i = 0; i < pc->jsep.tr_cnt && nb < RTC_RTCP_MAX_RB; i++)
        if (pc->st[i].rx_init)
            rtc_rtp_rx_stats_report(&pc->st[i].rx, now, &rb[nb++]);
    uint64_t ntp = rtc_rtcp_ntp_from_unix_ns(net_realtime_ns());
    uint8_t buf[1200];
    bool first = true;
    for (unsigned i = 0; i <= pc->jsep.tr_cnt; i++) {
        bool rr = i == pc->jsep.tr_cnt; /* after the senders: an RR if none sent */
        const rtc_rtp_tx_stats_t *tx = rr ? NULL : &pc->st[i].tx;
        if (rr ? !first || !nb : !tx->pkt_cnt || tx->last_ts_ns < pc->prev_report_ns)
            continue;
        rtc_rtcp_wr_t w;
        rtc_rtcp_wr_init(&w, buf, sizeof buf);
        rtc_rtp_wr_report(&w, tx, rr ? rtcp_ssrc(pc, 0) : tx->ssrc, first ? rb : NULL,
                          first ? nb : 0, pc->jsep.cname, ntp, now);
        int n = rtc_rtcp_wr_finish(&w);
        if (n > 0 && eng_peer_send_copy(pc->peer, buf, (size_t)n, true) == 0) {
            if (rr)
                pc->rr_tx++;
            else
                pc->sr_tx++;
        }
        first = false;
    }
    pc->prev_report_ns = pc->last_report_ns;
    pc->last_report_ns = now;
}

static void pc_rtcp_timer(net_timer_t *tm, uint64_t now)
{
    urtc_pc_t *pc = container_of(tm, urtc_pc_t, rtcp_timer);
    if (pc->state == URTC_PC_CLOSED)
        return;
    if (now >= pc->next_report_ns) {
        pc_send_reports(pc, now);
        pc->next_report_ns = eng_rtcp_next_ns(now, false);
    }
    for (unsigned i = 0; i < pc->jsep.tr_cnt; i++)
        if (pc->nack[i] && rtc_rtp_nack_gen_missing(pc->nack[i]))
            pc_send_nacks(pc, i, now);
    pc_rtcp_arm(pc, now);
}

/* After a completed negotiation: a send history for each video transceiver that sends with
 * NACK negotiated, a NACK generator for each that receives with it. Allocated once (the
 * control plane; the packet path never allocates), kept for the connection's life, and only
 * used while the negotiation says so (RFC 4585 §4.2: no NACK unless offered and answered). */
static int pc_repair_setup(urtc_pc_t *pc)
{
    if (pc->rtcp_by_owner)
        return 0;
    const rtc_pc_t *j = &pc->jsep;
    for (unsigned i = 0; i < j->tr_cnt; i++) {
        const rtc_pc_transceiver_t *t = &j->tr[i];
        bool nack = false, rtx = false;
        for (unsigned k = 0; k < t->neg_cnt; k++) {
            nack |= t->neg[k].nack;
            rtx |= t->neg[k].nack && t->neg[k].rtx_pt;
        }
        nack &= t->kind == RTC_SDP_KIND_VIDEO && !t->stopped && t->mline >= 0;
        struct eng_pc_resend *r = pc->resend[i];
        if (r)
            r->on = false;
        if (nack && dir_sends(t->current_direction) && !r) {
            if (!(r = pc->resend[i] = calloc(1, sizeof *r)) ||
                rtc_rtp_history_init(&r->hist, ENG_HIST_PKTS, ENG_HIST_SLOT) < 0)
                return fail(pc, -ENOMEM, "no memory for a retransmission history");
            if (rtc_random(&r->rtx.seq, sizeof r->rtx.seq) < 0) /* RFC 3550 §5.1 */
                r->rtx.seq = 0;
        }
        if (r && nack && dir_sends(t->current_direction)) {
            r->on = true;
            r->use_rtx = rtx && t->rtx_ssrc;
            rtc_rtp_ptmap_init(&r->ptmap);
            for (unsigned k = 0; k < t->neg_cnt; k++) {
                uint32_t hz = neg_clock(j, t, &t->neg[k]);
                if (rtc_rtp_ptmap_set(&r->ptmap, t->neg[k].pt, RTC_RTP_CODEC_OTHER, hz, 1) < 0 ||
                    (t->neg[k].rtx_pt &&
                     (rtc_rtp_ptmap_set(&r->ptmap, t->neg[k].rtx_pt, RTC_RTP_CODEC_RTX, hz, 1) <
                          0 ||
                      rtc_rtp_ptmap_set_apt(&r->ptmap, t->neg[k].rtx_pt, t->neg[k].pt) < 0)))
                    r->use_rtx = false;
            }
            r->rtx.ssrc = t->rtx_ssrc;
            r->rtx.ptmap = &r->ptmap;
        }
        if (nack && dir_recvs(t->current_direction) && !pc->nack[i]) {
            if (!(pc->nack[i] = malloc(sizeof *pc->nack[i])))
                return fail(pc, -ENOMEM, "no memory for a NACK generator");
            pc->st[i].rx_init = false; /* the next packet (re)starts the generator too */
        }
    }
    return 0;
}

/* ---- Transport-wide congestion control feedback -------------------------------------------- */

/* libwebrtc sends its feedback every 100 ms at most rates (it goes faster above ~1 Mbit/s, but
 * 100 ms is what the sender's estimator is built around, and what RFC 8888 §3.1 suggests as
 * a default too). */
#define PC_TWCC_INTERVAL_NS (100 * NET_NS_PER_MS)

/* Feedback for everything that arrived since the last one: one RTPFB packet per at most
 * RTC_RTP_TWCC_MAX_PER_FB sequence numbers, each in a compound with an empty RR + SDES
 * (RFC 3550 §6.1; compound always, whether or not rtcp-rsize was negotiated). */
static void pc_twcc_timer(net_timer_t *tm, uint64_t now)
{
    urtc_pc_t *pc = container_of(tm, urtc_pc_t, twcc_timer);
    if (pc->state == URTC_PC_CLOSED || !pc->twcc)
        return;
    uint32_t sender = rtcp_ssrc(pc, 0);
    for (int more = 1, guard = 0; more == 1 && guard < 8; guard++) {
        uint8_t buf[1200];
        rtc_rtcp_wr_t w;
        rtc_rtcp_wr_init(&w, buf, sizeof buf);
        rtc_rtp_wr_report(&w, NULL, sender, NULL, 0, pc->jsep.cname, 0, now);
        size_t report_len = w.len;
        more = rtc_rtp_twcc_rec_feedback(pc->twcc, &w);
        if (more < 0 || w.len == report_len)
            continue; /* no space (cannot happen at 1200 bytes), or a batch dropped unreported */
        int n = rtc_rtcp_wr_finish(&w);
        if (n > 0 && eng_peer_send_copy(pc->peer, buf, (size_t)n, true) == 0)
            pc->twcc_fb_tx++;
    }
}

/* After a completed negotiation: feedback is on when the extension and "transport-cc"
 * feedback were both negotiated (draft-holmer-rmcat-transport-wide-cc-extensions-01 §4). The
 * recorder is allocated once and kept; the packet path never allocates. */
static int pc_twcc_setup(urtc_pc_t *pc)
{
    const rtc_pc_t *j = &pc->jsep;
    bool fb = false;
    for (unsigned i = 0; i < j->tr_cnt; i++)
        for (unsigned k = 0; !j->tr[i].stopped && k < j->tr[i].neg_cnt; k++)
            fb |= j->tr[i].neg[k].twcc;
    pc->twcc_id = fb ? rtc_pc_ext_id(j, rtc_rtp_ext_uri(RTC_RTP_EXT_TWCC)) : 0;
    if (!pc->twcc_id || pc->twcc)
        return 0;
    if (!(pc->twcc = malloc(sizeof *pc->twcc))) {
        pc->twcc_id = 0;
        return fail(pc, -ENOMEM, "no memory for transport-cc feedback");
    }
    rtc_rtp_twcc_rec_init(pc->twcc, rtcp_ssrc(pc, 0), 0);
    net_timer_init(&pc->twcc_timer, pc_twcc_timer);
    return 0;
}

/* Every SRTP-authenticated RTP packet of the transport (@r parsed; RTX and padding probes too:
 * the sender numbers them all) that carries a transport-wide sequence number. */
static void pc_twcc_on_packet(urtc_pc_t *pc, const rtc_rtp_pkt_t *r)
{
    uint16_t seq;
    if (rtc_rtp_ext_twcc_seq(rtc_rtp_ext_get(r, pc->twcc_id), &seq) < 0)
        return;
    uint64_t now = eng_shard_now(pc->sh);
    if (!pc->twcc->media_ssrc)
        pc->twcc->media_ssrc = r->ssrc; /* libwebrtc names the first media SSRC there */
    rtc_rtp_twcc_rec_on_packet(pc->twcc, seq, now);
    if (!net_timer_armed(&pc->twcc_timer))
        net_timer_arm(eng_shard_timers(pc->sh), &pc->twcc_timer, now + PC_TWCC_INTERVAL_NS);
}

/* A received RTP packet (original, or recovered from RTX: @rtx) for statistics and NACKs. */
static void pc_rtp_received(urtc_pc_t *pc, int t, const rtc_rtp_pkt_t *r, bool rtx)
{
    if (pc->rtcp_by_owner)
        return;
    uint64_t now = eng_shard_now(pc->sh);
    const rtc_pc_transceiver_t *tr = &pc->jsep.tr[t];
    const rtc_pc_neg_codec_t *n = neg_by_pt(tr, r->pt);
    if (!pc->st[t].rx_init || pc->st[t].rx.ssrc != r->ssrc) {
        /* RFC 3550 A.1: probation 0, SRTP authenticated every packet already. */
        rtc_rtp_rx_stats_init(&pc->st[t].rx, r->ssrc, neg_clock(&pc->jsep, tr, n), 0);
        if (pc->nack[t]) {
            rtc_rtp_nack_gen_init(pc->nack[t], PC_NACK_TRIES, ENG_NACK_MIN_NS);
            rtc_rtp_nack_gen_set_reorder(pc->nack[t], PC_NACK_REORDER_NS);
        }
        pc->st[t].rx_init = true;
    }
    bool nack = pc->nack[t] && n && n->nack;
    bool filled = nack && rtc_rtp_nack_gen_on_packet(pc->nack[t], r->seq, now) == 1;
    /* SRTP's replay list drops network duplicates; a repair of a packet that was only late
     * would be one to the statistics (and make the reported loss negative). */
    if (!rtx || filled)
        (void)rtc_rtp_rx_stats_update(&pc->st[t].rx, r->seq, r->ts, now);
    if (nack && rtc_rtp_nack_gen_missing(pc->nack[t])) {
        pc_send_nacks(pc, (unsigned)t, now); /* what is due now; the timer retries the rest */
        pc_rtcp_arm(pc, now);
    }
}

static int tr_by_ssrc(const urtc_pc_t *pc, uint32_t ssrc)
{
    for (unsigned i = 0; i < pc->jsep.tr_cnt; i++)
        if (pc->jsep.tr[i].ssrc == ssrc)
            return (int)i;
    return -1;
}

static void note_report_blocks(urtc_pc_t *pc, const rtc_rtcp_rb_t *rb, unsigned cnt,
                               uint64_t arrival_ntp)
{
    for (unsigned k = 0; k < cnt; k++) {
        int t = tr_by_ssrc(pc, rb[k].ssrc);
        if (t < 0)
            continue;
        pc->st[t].rr_cnt++;
        pc->st[t].rr_lost = rb[k].cum_lost;
        pc->st[t].rr_fraction_lost = rb[k].fraction_lost;
        pc->st[t].rr_jitter = rb[k].jitter;
        /* RFC 3550 §6.4.1: RTT = A - LSR - DLSR, once the peer got one of our SRs. */
        int64_t rtt = rtc_rtcp_rtt_ns(arrival_ntp, rb[k].lsr, rb[k].dlsr);
        if (rtt >= 0) {
            pc->st[t].rtt_ns = pc->rtt_ns = rtt;
            pc->st[t].rtt_sum_ns += (uint64_t)rtt;
            pc->st[t].rtt_cnt++;
        }
    }
}

/* The peer's NACK for one of our streams: answered from its history (RFC 4585 §6.2.1). */
static void answer_nack(urtc_pc_t *pc, const rtc_rtcp_fb_t *fb, uint64_t now)
{
    int t = tr_by_ssrc(pc, fb->media_ssrc);
    uint16_t seqs[64];
    int n = rtc_rtcp_nack_parse(fb, seqs, NET_ARRAY_LEN(seqs));
    if (t < 0 || n <= 0)
        return;
    struct eng_pc_resend *r = pc->resend[t];
    if (!r || !r->on) {
        pc->st[t].nack_rx += (uint64_t)n; /* not negotiated, or audio: nothing kept */
        return;
    }
    eng_rtx_counts_t c = {0};
    (void)eng_rtx_answer(pc->peer, &r->hist, r->use_rtx ? &r->rtx : NULL, seqs, n, now, &c);
    pc->st[t].nack_rx += c.nacked;
    pc->st[t].rtx_tx += c.resent;
}

/* What the pc itself takes from RTCP: reports (statistics, LSR, RTT), NACKs for what we send,
 * and keyframe requests (RFC 4585 §6.3.1 PLI, RFC 5104 §4.3.1 FIR). A malformed compound is
 * counted (rtcp_in.malformed) and dropped whole. */
static void pc_rtcp(urtc_pc_t *pc, const uint8_t *data, size_t len)
{
    rtc_rtcp_hdr_t h[16];
    int n = rtc_rtcp_check(data, len, 0, h, NET_ARRAY_LEN(h), &pc->rtcp_in);
    uint64_t now = n > 0 ? net_clock_ns() : 0; /* SR arrival for DLSR: see pc_send_reports */
    uint64_t arrival_ntp = n > 0 ? rtc_rtcp_ntp_from_unix_ns(net_realtime_ns()) : 0;
    for (int i = 0; i < n; i++) {
        if (h[i].pt == RTC_RTCP_SR) {
            rtc_rtcp_sr_t sr;
            if (rtc_rtcp_sr_parse(&h[i], &sr) < 0)
                continue;
            note_report_blocks(pc, sr.rb, sr.rb_cnt, arrival_ntp);
            for (unsigned t = 0; t < pc->jsep.tr_cnt; t++) {
                if (!pc->st[t].rx_init || pc->st[t].rx.ssrc != sr.ssrc)
                    continue;
                rtc_rtp_rx_stats_on_sr(&pc->st[t].rx, sr.ntp, now); /* our next LSR */
                pc->st[t].sr_cnt++;
                pc->st[t].sr_ntp = sr.ntp;
                pc->st[t].sr_pkts = sr.pkt_cnt;
                pc->st[t].sr_octets = sr.octet_cnt;
            }
        } else if (h[i].pt == RTC_RTCP_RR) {
            rtc_rtcp_rr_t rr;
            if (rtc_rtcp_rr_parse(&h[i], &rr) == 0)
                note_report_blocks(pc, rr.rb, rr.rb_cnt, arrival_ntp);
        } else if (h[i].pt == RTC_RTCP_RTPFB && h[i].count == RTC_RTCP_FMT_NACK) {
            rtc_rtcp_fb_t fb;
            if (rtc_rtcp_fb_parse(&h[i], &fb) == 0)
                answer_nack(pc, &fb, now);
        } else if (h[i].pt == RTC_RTCP_PSFB &&
                   (h[i].count == RTC_RTCP_FMT_PLI || h[i].count == RTC_RTCP_FMT_FIR)) {
            rtc_rtcp_fb_t fb;
            if (rtc_rtcp_fb_parse(&h[i], &fb) < 0)
                continue;
            uint32_t ssrc = fb.media_ssrc;
            rtc_rtcp_fir_entry_t fir[4];
            /* A FIR names its streams in the FCI; its media SSRC field is unused (0). */
            if (h[i].count == RTC_RTCP_FMT_FIR && rtc_rtcp_fir_parse(&fb, fir, 4) > 0)
                ssrc = fir[0].ssrc;
            int t = tr_by_ssrc(pc, ssrc);
            if (t < 0)
                continue;
            pc->st[t].keyframe_requests++;
            if (pc->cbs.on_keyframe_request)
                pc->cbs.on_keyframe_request(pc, t, pc->user);
        }
    }
}

static const char *first_mid(const urtc_pc_t *pc)
{
    const rtc_pc_t *j = &pc->jsep;
    for (unsigned i = 0; i < j->mline_cnt; i++)
        if (!j->mlines[i].rejected && j->mlines[i].mid[0])
            return j->mlines[i].mid;
    return "0";
}

/* ---- Peer callbacks (shard thread) ------------------------------------------------------- */

static void pc_on_ice_state(eng_peer_t *p, rtc_ice_state_t st, void *user)
{
    (void)p;
    urtc_pc_t *pc = user;
    pc->ice = (urtc_ice_state_t)st; /* the enums match, in order */
    if (pc->cbs.on_ice_state)
        pc->cbs.on_ice_state(pc, pc->ice, pc->user);
    update_state(pc);
}

static void pc_on_candidate(eng_peer_t *p, const char *cand, void *user)
{
    (void)p;
    urtc_pc_t *pc = user;
    if (cand) {
        /* Descriptions hold the attribute value: a=candidate:<value>. */
        const char *value = strncmp(cand, "candidate:", 10) == 0 ? cand + 10 : cand;
        if (pc->cand_cnt < NET_ARRAY_LEN(pc->cands))
            snprintf(pc->cands[pc->cand_cnt++], sizeof pc->cands[0], "%s", value);
        if (rtc_pc_add_local_candidate(&pc->jsep, value) < 0)
            LOG_DEBUG("pc: local candidate not kept in descriptions: %s", cand);
    } else {
        rtc_pc_set_end_of_candidates(&pc->jsep, true);
    }
    if (pc->cbs.on_ice_candidate)
        pc->cbs.on_ice_candidate(pc, cand, first_mid(pc), pc->user);
}

static void pc_on_dtls_state(eng_peer_t *p, rtc_dtls_state_t st, void *user)
{
    (void)p;
    urtc_pc_t *pc = user;
    switch (st) {
    case RTC_DTLS_CONNECTED:
        pc->dtls = URTC_DTLS_CONNECTED;
        eng_dc_dtls_connected(pc);
        pc_rtcp_start(pc);
        break;
    case RTC_DTLS_CLOSED:
        pc->dtls = URTC_DTLS_CLOSED;
        break;
    case RTC_DTLS_FAILED:
        pc->dtls = URTC_DTLS_FAILED;
        break;
    default:
        return;
    }
    if (pc->cbs.on_dtls_state)
        pc->cbs.on_dtls_state(pc, pc->dtls, pc->user);
    update_state(pc);
}

static void pc_on_dtls_data(eng_peer_t *p, const uint8_t *data, size_t len, void *user)
{
    (void)p;
    urtc_pc_t *pc = user;
    if (!eng_dc_input(pc, data, len))
        LOG_DEBUG("pc: DTLS application data without an SCTP association: dropped");
}

/* The transceiver a received packet belongs to: by the SSRC the remote description announced,
 * else the only receiving transceiver whose negotiated payload types include the packet's. */
static int route_rtp(urtc_pc_t *pc, uint32_t ssrc, uint8_t pt, const char **codec)
{
    const rtc_pc_t *j = &pc->jsep;
    int found = -1, candidates = 0;
    for (unsigned i = 0; i < j->tr_cnt; i++) {
        const rtc_pc_transceiver_t *t = &j->tr[i];
        if (t->stopped || t->mline < 0)
            continue;
        for (unsigned k = 0; k < t->neg_cnt; k++) {
            if (t->neg[k].pt != pt)
                continue;
            const rtc_pc_codec_t *cap = rtc_pc_neg_codec_cap(j, t, &t->neg[k]);
            if (t->remote_ssrc == ssrc) {
                *codec = cap ? cap->name : NULL;
                return (int)i;
            }
            if (!t->remote_ssrc) {
                found = (int)i;
                candidates++;
                *codec = cap ? cap->name : NULL;
            }
        }
    }
    return candidates == 1 ? found : -1;
}

/* Feeds a packet to the transceiver's depacketizer and hands out the frames it completes. */
static void depacketize(urtc_pc_t *pc, int t, const char *codec_name_, const rtc_rtp_pkt_t *r)
{
    codec_id_t c = codec_name_ ? codec_from_name(codec_name_) : CODEC_NONE;
    if (c == CODEC_NONE)
        return; /* rtx, red, ulpfec...: not media frames */
    if (pc->depay[t] && pc->depay_codec[t] != c) {
        codec_depay_destroy(pc->depay[t]);
        pc->depay[t] = NULL;
    }
    if (!pc->depay[t]) {
        codec_depay_cfg_t cfg = {.codec = c};
        if (pc->nack[t]) {
            /* Repairs come a round trip or three later: frames wait for them (about a second
             * at 25 frames/s) until the NACK generator gives up, which flushes. */
            cfg.max_pending = PC_DEPAY_PENDING_NACK;
            cfg.reorder_window = PC_DEPAY_REORDER_NACK;
        }
        if (!(pc->depay[t] = codec_depay_create(&cfg)))
            return;
        pc->depay_codec[t] = c;
    }
    if (codec_depay_push(pc->depay[t], r->buf + r->hdr_len, r->payload_len, r->seq, r->ts,
                         r->marker) < 0)
        return; /* malformed, duplicate or late: counted by the depacketizer */
    deliver_frames(pc, t);
}

/* Hands out the frames the depacketizer of @t completed. */
static void deliver_frames(urtc_pc_t *pc, int t)
{
    codec_frame_t f;
    while (pc->cbs.on_frame && codec_depay_pop(pc->depay[t], &f) == 1) {
        urtc_frame_t uf = {.codec = codec_name(f.codec),
                           .data = f.data,
                           .len = f.len,
                           .timestamp = f.rtp_ts,
                           .keyframe = f.flags & CODEC_FRAME_KEY,
                           .after_gap = f.flags & CODEC_FRAME_GAP};
        pc->cbs.on_frame(pc, t, &uf, pc->user);
    }
}

/* RFC 4588 §4: an RTX packet (a negotiated rtx payload type) turns back into its original
 * in place, which then takes the normal path (so a NACKed packet repairs its frame). 1: it
 * was RTX, 0: not RTX, -1: drop it (a padding-only probe, malformed, or no original SSRC
 * known). */
static int rtx_decap(urtc_pc_t *pc, net_pkt_t *pkt, const rtc_rtp_pkt_t *r)
{
    const rtc_pc_t *j = &pc->jsep;
    for (unsigned i = 0; i < j->tr_cnt; i++) {
        const rtc_pc_transceiver_t *t = &j->tr[i];
        if (t->stopped || t->mline < 0 || !t->remote_ssrc ||
            (t->remote_rtx_ssrc && t->remote_rtx_ssrc != r->ssrc))
            continue;
        for (unsigned k = 0; k < t->neg_cnt; k++) {
            if (!t->neg[k].rtx_pt || t->neg[k].rtx_pt != r->pt)
                continue;
            int n = rtc_rtp_rtx_decap(pkt->data, pkt->len, t->remote_ssrc, t->neg[k].pt);
            if (n < 0 || !net_pkt_pull(pkt, 2) || net_pkt_set_len(pkt, (uint32_t)n) < 0)
                return -1;
            return 1;
        }
    }
    return 0; /* not RTX */
}

static void pc_on_rtp(eng_peer_t *p, net_pkt_t *pkt, bool rtcp, void *user)
{
    (void)p;
    urtc_pc_t *pc = user;
    if (rtcp) {
        pc_rtcp(pc, pkt->data, pkt->len);
        if (pc->cbs.on_rtcp && pc->state != URTC_PC_CLOSED)
            pc->cbs.on_rtcp(pc, pkt->data, pkt->len, pc->user);
        net_pkt_free(pkt);
        return;
    }
    rtc_rtp_pkt_t r;
    const char *codec = NULL;
    int t, rtx = 0;
    /* One parse; a packet that RTX decapsulation rewrote is parsed again. The transport-wide
     * number is taken before that: RTX and padding probes count for the sender's estimator. */
    bool parsed = rtc_rtp_parse(pkt->data, pkt->len, &r) >= 0;
    if (parsed && pc->twcc_id)
        pc_twcc_on_packet(pc, &r);
    if (!parsed || (rtx = rtx_decap(pc, pkt, &r)) < 0 ||
        (rtx == 1 && rtc_rtp_parse(pkt->data, pkt->len, &r) < 0) ||
        (t = route_rtp(pc, r.ssrc, r.pt, &codec)) < 0) {
        pc->rx_unrouted++;
        net_pkt_free(pkt);
        return;
    }
    pc->st[t].rx_pkts++;
    pc->st[t].rx_bytes += pkt->len;
    pc->st[t].rx_ssrc = r.ssrc;
    pc->st[t].rtx_rx += (uint64_t)rtx;
    pc_rtp_received(pc, t, &r, rtx == 1);
    if (pc->cbs.on_rtp) {
        urtc_rtp_packet_t up = {
            .data = pkt->data,
            .len = pkt->len,
            .payload_type = r.pt,
            .seq = r.seq,
            .timestamp = r.ts,
            .ssrc = r.ssrc,
            .marker = r.marker,
            .payload = r.buf + r.hdr_len,
            .payload_len = r.payload_len,
            .codec = codec,
        };
        pc->cbs.on_rtp(pc, t, &up, pc->user);
    }
    if (pc->cbs.on_frame)
        depacketize(pc, t, codec, &r);
    net_pkt_free(pkt);
}

/* ---- Peer connection --------------------------------------------------------------------- */

/* "sha-256 AB:CD:..." into the SDP model. */
static int fp_from_string(const char *s, rtc_sdp_fingerprint_t *fp)
{
    static const struct {
        const char *name;
        rtc_sdp_hash_t hash;
    } hashes[] = {{"sha-1 ", RTC_SDP_HASH_SHA1},
                  {"sha-256 ", RTC_SDP_HASH_SHA256},
                  {"sha-384 ", RTC_SDP_HASH_SHA384},
                  {"sha-512 ", RTC_SDP_HASH_SHA512}};
    for (size_t h = 0; h < NET_ARRAY_LEN(hashes); h++) {
        size_t n = strlen(hashes[h].name);
        if (strncmp(s, hashes[h].name, n) != 0)
            continue;
        fp->hash = hashes[h].hash;
        fp->len = 0;
        for (const char *c = s + n; *c && fp->len < RTC_SDP_FP_MAX_LEN; c += 3) {
            unsigned v;
            if (sscanf(c, "%2x", &v) != 1)
                return -EINVAL;
            fp->value[fp->len++] = (uint8_t)v;
            if (c[2] != ':')
                break;
        }
        return fp->len == rtc_sdp_hash_len(fp->hash) ? 0 : -EINVAL;
    }
    return -EINVAL;
}

static void fp_to_string(const rtc_sdp_fingerprint_t *fp, char *buf, size_t cap)
{
    size_t n = (size_t)snprintf(buf, cap, "%s ", rtc_sdp_hash_name(fp->hash));
    for (unsigned i = 0; i < fp->len && n + 4 <= cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, i ? ":%02X" : "%02X", fp->value[i]);
}

static void pc_free(eng_peer_t *p, void *user);
static int pc_live_cnt; /* eng_pc_live() */

urtc_pc_t *urtc_pc_create(urtc_shard_t *ush, const urtc_pc_config_t *cfg,
                          const urtc_pc_callbacks_t *cbs, void *user)
{
    eng_shard_t *sh = (eng_shard_t *)ush;
    urtc_pc_t *pc = calloc(1, sizeof *pc);
    if (!pc)
        return NULL;
    pc->sh = sh;
    pc->rtt_ns = -1;
    for (unsigned i = 0; i < RTC_PC_MAX_TRANSCEIVERS; i++)
        pc->st[i].rtt_ns = -1;
    if (cfg)
        pc->cfg = *cfg;
    if (cbs)
        pc->cbs = *cbs;
    pc->user = user;
    eng_peer_cfg_t pcfg = {
        .ice_lite = pc->cfg.ice_lite,
        .controlling = !pc->cfg.ice_lite, /* an offerer; the first remote offer says otherwise */
        .own_socket = pc->cfg.own_socket,
        .use_ice_servers = pc->cfg.own_socket,
        .relay_only = pc->cfg.relay_only,
        .cbs = {.on_ice_state = pc_on_ice_state,
                .on_candidate = pc_on_candidate,
                .on_dtls_state = pc_on_dtls_state,
                .on_dtls_data = pc_on_dtls_data,
                .on_rtp = pc_on_rtp},
        .user = pc,
    };
    /* The peer reports its host candidate at once: the JSEP side must exist first. */
    rtc_pc_cfg_t jcfg = {
        .ice_ufrag = "placeholder", .ice_pwd = "placeholderplaceholder00", .cname = pc->cfg.cname};
    /* RFC 3550 §8.1: SSRCs chosen at random (rtc/pc derives them from the seed), and RFC 8829
     * §5.2.1: a random session id below 2^63. */
    if (rtc_random(&jcfg.ssrc_seed, sizeof jcfg.ssrc_seed) < 0 ||
        rtc_random(&jcfg.sess_id, sizeof jcfg.sess_id) < 0) {
        free(pc);
        return NULL;
    }
    jcfg.sess_id &= INT64_MAX;
    if (fp_from_string(eng_fingerprint(sh->e), &jcfg.fingerprint) < 0 ||
        rtc_pc_init(&pc->jsep, &jcfg) < 0) {
        free(pc);
        return NULL;
    }
    pc->peer = eng_peer_create(sh, &pcfg);
    if (!pc->peer) {
        rtc_pc_fini(&pc->jsep);
        free(pc);
        return NULL;
    }
    /* Freed with its peer, also when the engine stops with the connection still open. */
    eng_peer_set_reaped(pc->peer, pc_free, pc);
    __atomic_add_fetch(&pc_live_cnt, 1, __ATOMIC_ACQ_REL);
    /* The real credentials are the peer's (its ufrag routes checks to it). */
    snprintf(pc->jsep.ice_ufrag, sizeof pc->jsep.ice_ufrag, "%s", eng_peer_ufrag(pc->peer));
    snprintf(pc->jsep.ice_pwd, sizeof pc->jsep.ice_pwd, "%s", eng_peer_pwd(pc->peer));
    return pc;
}

int eng_pc_live(void)
{
    return __atomic_load_n(&pc_live_cnt, __ATOMIC_ACQUIRE);
}

static void pc_free(eng_peer_t *p, void *user)
{
    (void)p;
    urtc_pc_t *pc = user;
    __atomic_sub_fetch(&pc_live_cnt, 1, __ATOMIC_ACQ_REL);
    if (pc->next_report_ns)
        net_timer_cancel(eng_shard_timers(pc->sh), &pc->rtcp_timer);
    if (pc->twcc)
        net_timer_cancel(eng_shard_timers(pc->sh), &pc->twcc_timer);
    free(pc->twcc);
    for (unsigned i = 0; i < RTC_PC_MAX_TRANSCEIVERS; i++) {
        codec_depay_destroy(pc->depay[i]);
        if (pc->resend[i])
            rtc_rtp_history_fini(&pc->resend[i]->hist);
        free(pc->resend[i]);
        free(pc->nack[i]);
    }
    eng_dc_free(pc);
    rtc_pc_fini(&pc->jsep);
    free(pc);
}

void urtc_pc_close(urtc_pc_t *pc)
{
    if (!pc || pc->state == URTC_PC_CLOSED)
        return;
    pc->state = URTC_PC_CLOSED;
    pc->cbs = (urtc_pc_callbacks_t){0}; /* W3C: no events after close() */
    if (pc->next_report_ns)
        net_timer_cancel(eng_shard_timers(pc->sh), &pc->rtcp_timer);
    if (pc->twcc)
        net_timer_cancel(eng_shard_timers(pc->sh), &pc->twcc_timer);
    eng_peer_close(pc->peer); /* pc_free() follows at the end of the tick */
}

struct pc_post {
    void (*fn)(urtc_pc_t *, void *);
    urtc_pc_t *pc;
    void *arg;
};

static void pc_post_cmd(eng_shard_t *sh, void *arg, uint64_t u64)
{
    (void)sh, (void)u64;
    struct pc_post *post = arg;
    post->fn(post->pc, post->arg);
    free(post);
}

int urtc_pc_post(urtc_engine_t *ue, urtc_pc_t *pc, void (*fn)(urtc_pc_t *pc, void *arg), void *arg)
{
    /* Control plane: one small allocation per post carries the three words. */
    struct pc_post *post = malloc(sizeof *post);
    if (!post)
        return -ENOMEM;
    *post = (struct pc_post){fn, pc, arg};
    int ret = eng_post(ue->e, eng_shard_index(pc->sh), pc_post_cmd, post, 0);
    if (ret < 0)
        free(post);
    return ret;
}

void *urtc_pc_user(const urtc_pc_t *pc)
{
    return pc->user;
}

int urtc_pc_add_transceiver(urtc_pc_t *pc, urtc_kind_t kind, urtc_direction_t dir,
                            const char *stream_id, const char *track_id)
{
    if (kind != URTC_KIND_AUDIO && kind != URTC_KIND_VIDEO)
        return fail(pc, -EINVAL, "kind must be audio or video");
    if (dir < URTC_SENDRECV || dir > URTC_INACTIVE)
        return fail(pc, -EINVAL, "bad direction");
    rtc_sdp_kind_t k = kind == URTC_KIND_AUDIO ? RTC_SDP_KIND_AUDIO : RTC_SDP_KIND_VIDEO;
    bool sends = dir == URTC_SENDRECV || dir == URTC_SENDONLY;
    /* W3C addTrack: a transceiver a remote offer created, that nothing sends on yet, takes
     * the track (so an answer can send on the offered m-section). */
    for (unsigned i = 0; sends && i < pc->jsep.tr_cnt; i++) {
        rtc_pc_transceiver_t *t = &pc->jsep.tr[i];
        if (t->kind != k || t->stopped || t->stopping || t->track_id[0] ||
            (t->direction != RTC_SDP_DIR_RECVONLY && t->direction != RTC_SDP_DIR_INACTIVE))
            continue;
        t->direction =
            t->direction == RTC_SDP_DIR_RECVONLY ? RTC_SDP_DIR_SENDRECV : RTC_SDP_DIR_SENDONLY;
        snprintf(t->stream_id, sizeof t->stream_id, "%s", stream_id ? stream_id : "-");
        snprintf(t->track_id, sizeof t->track_id, "%s", track_id ? track_id : "track");
        return (int)i;
    }
    int ret = rtc_pc_add_transceiver(&pc->jsep, k, (rtc_sdp_dir_t)dir, stream_id, track_id, 0);
    if (ret < 0)
        return fail(pc, ret, "cannot add a transceiver (%s)", strerror(-ret));
    eng_pc_negotiation_needed(pc);
    return ret;
}

int urtc_pc_remove_track(urtc_pc_t *pc, int transceiver)
{
    if (transceiver < 0 || (unsigned)transceiver >= pc->jsep.tr_cnt)
        return fail(pc, -EINVAL, "no transceiver %d", transceiver);
    if (pc->jsep.tr[transceiver].stopped || pc->jsep.tr[transceiver].stopping)
        return 0;
    if (rtc_pc_transceiver_stop(&pc->jsep, (unsigned)transceiver) < 0)
        return fail(pc, -EINVAL, "cannot stop transceiver %d", transceiver);
    eng_pc_negotiation_needed(pc);
    return 0;
}

void urtc_pc_enable_data_channels(urtc_pc_t *pc)
{
    rtc_pc_add_data_channel(&pc->jsep);
    eng_pc_negotiation_needed(pc);
}

static int sdp_err(urtc_pc_t *pc, int ret, const rtc_sdp_err_t *err, const char *what)
{
    if (err->reason)
        return fail(pc, ret, "%s: line %u: %s", what, err->line, err->reason);
    return fail(pc, ret, "%s: %s", what, strerror(-ret));
}

int urtc_pc_create_offer(urtc_pc_t *pc, char *sdp, size_t cap)
{
    rtc_sdp_err_t err = {0};
    int ret = rtc_pc_create_offer(&pc->jsep, sdp, cap, &err);
    return ret < 0 ? sdp_err(pc, ret, &err, "create_offer") : ret;
}

int urtc_pc_create_answer(urtc_pc_t *pc, char *sdp, size_t cap)
{
    rtc_sdp_err_t err = {0};
    int ret = rtc_pc_create_answer(&pc->jsep, sdp, cap, &err);
    return ret < 0 ? sdp_err(pc, ret, &err, "create_answer") : ret;
}

/* Once both descriptions are in place, DTLS starts with the negotiated roles and the remote
 * fingerprint (RFC 8842 §5: a=setup decides who is the client). */
static int maybe_start_dtls(urtc_pc_t *pc)
{
    const rtc_pc_t *j = &pc->jsep;
    if (pc->dtls_started || !j->negotiated || !j->remote_fp)
        return 0;
    char fp[RTC_DTLS_FP_STRLEN + 16];
    fp_to_string(j->remote_fp, fp, sizeof fp);
    int ret = eng_peer_start_dtls(pc->peer, j->dtls_client, fp);
    if (ret < 0)
        return fail(pc, ret, "cannot start DTLS (%s)", strerror(-ret));
    pc->dtls_started = true;
    pc->dtls = URTC_DTLS_CONNECTING;
    if (pc->cbs.on_dtls_state)
        pc->cbs.on_dtls_state(pc, pc->dtls, pc->user);
    update_state(pc);
    return 0;
}

/* The remote transport from a description: ICE credentials and its candidates. */
static int apply_remote_transport(urtc_pc_t *pc, const rtc_sdp_t *s)
{
    const rtc_sdp_media_t *m = NULL;
    for (unsigned i = 0; i < s->media_cnt && !m; i++)
        if (s->media[i]->port)
            m = s->media[i];
    if (!m)
        return 0; /* everything rejected: nothing to connect */
    const char *ufrag = rtc_sdp_ice_ufrag(s, m), *pwd = rtc_sdp_ice_pwd(s, m);
    if (!ufrag || !pwd)
        return fail(pc, -EINVAL, "remote description has no ice-ufrag/ice-pwd");
    int ret = eng_peer_set_remote_creds(pc->peer, ufrag, pwd);
    if (ret < 0)
        return fail(pc, ret, "remote ICE credentials refused");
    /* BUNDLE: the candidates of every section are for the one transport. */
    for (unsigned i = 0; i < s->media_cnt; i++) {
        for (unsigned c = 0; c < s->media[i]->candidate_cnt; c++) {
            char line[512];
            snprintf(line, sizeof line, "candidate:%s", s->media[i]->candidates[c]);
            if ((ret = eng_peer_add_candidate(pc->peer, line)) < 0)
                LOG_DEBUG("pc: remote candidate ignored (%s): %s", strerror(-ret), line);
        }
        if (s->media[i]->end_of_candidates && eng_peer_add_candidate(pc->peer, NULL) < 0)
            LOG_DEBUG("pc: end-of-candidates refused");
    }
    return 0;
}

static int restart_ice(urtc_pc_t *pc);

int urtc_pc_set_local_description(urtc_pc_t *pc, urtc_sdp_type_t type, const char *sdp)
{
    rtc_sdp_err_t err = {0};
    int ret =
        rtc_pc_set_local(&pc->jsep, (rtc_pc_sdp_type_t)type, sdp, sdp ? strlen(sdp) : 0, &err);
    if (ret < 0)
        return sdp_err(pc, ret, &err, "set_local_description");
    if (type == URTC_SDP_OFFER) {
        pc->role_fixed = true;          /* we offered: controlling, as created */
        pc->negotiation_needed = false; /* this offer carries the change */
    }
    if (type == URTC_SDP_ANSWER &&
        ((ret = pc_repair_setup(pc)) < 0 || (ret = pc_twcc_setup(pc)) < 0))
        return ret;
    return maybe_start_dtls(pc);
}

int urtc_pc_set_remote_description(urtc_pc_t *pc, urtc_sdp_type_t type, const char *sdp)
{
    if (!sdp && type != URTC_SDP_ROLLBACK)
        return fail(pc, -EINVAL, "no description");
    /* RFC 8445 §6.1.1: the offerer is controlling; facing a lite agent, a full one is. */
    if (type == URTC_SDP_OFFER && !pc->role_fixed && !pc->cfg.ice_lite) {
        pc->role_fixed = true;
        bool remote_lite = strstr(sdp, "a=ice-lite") != NULL;
        int ret = eng_peer_set_controlling(pc->peer, remote_lite);
        if (ret < 0)
            return fail(pc, ret, "cannot change the ICE role after checks started");
    }
    rtc_sdp_err_t err = {0};
    int ret =
        rtc_pc_set_remote(&pc->jsep, (rtc_pc_sdp_type_t)type, sdp, sdp ? strlen(sdp) : 0, &err);
    if (ret < 0)
        return sdp_err(pc, ret, &err, "set_remote_description");
    if (type == URTC_SDP_ROLLBACK)
        return 0;
    if (type == URTC_SDP_ANSWER &&
        ((ret = pc_repair_setup(pc)) < 0 || (ret = pc_twcc_setup(pc)) < 0))
        return ret;
    /* RFC 8839 §4.4.1.1.1: the peer restarted ICE; our answer carries new credentials too. */
    if (pc->jsep.ice_restart_needed && (ret = restart_ice(pc)) < 0)
        return ret;
    const rtc_sdp_t *s = pc->jsep.pend_remote ? pc->jsep.pend_remote : pc->jsep.cur_remote;
    if (s && (ret = apply_remote_transport(pc, s)) < 0)
        return ret;
    /* New remote tracks (W3C ontrack) for transceivers the offer created. */
    /* The offer's sections are associated with transceivers in the pending plan; mids are
     * committed with the answer. */
    if (type == URTC_SDP_OFFER && pc->cbs.on_track) {
        for (unsigned i = 0; i < pc->jsep.pend_cnt; i++) {
            const rtc_pc_mline_t *m = &pc->jsep.pend[i];
            if (m->owner < 0 || m->rejected || !pc->jsep.tr[m->owner].from_remote)
                continue;
            const rtc_pc_transceiver_t *t = &pc->jsep.tr[m->owner];
            pc->cbs.on_track(pc, m->owner,
                             t->kind == RTC_SDP_KIND_AUDIO ? URTC_KIND_AUDIO : URTC_KIND_VIDEO,
                             m->mid, pc->user);
        }
    }
    return maybe_start_dtls(pc);
}

/* New local credentials in the agent and in the next descriptions, which keep our
 * candidates (the sockets do not change). */
static int restart_ice(urtc_pc_t *pc)
{
    int ret = eng_peer_restart_ice(pc->peer);
    if (ret < 0)
        return fail(pc, ret, "ICE restart refused (%s)", strerror(-ret));
    ret = rtc_pc_set_ice_credentials(&pc->jsep, eng_peer_ufrag(pc->peer), eng_peer_pwd(pc->peer));
    if (ret < 0)
        return fail(pc, ret, "new ICE credentials refused");
    for (unsigned i = 0; i < pc->cand_cnt; i++)
        if (rtc_pc_add_local_candidate(&pc->jsep, pc->cands[i]) < 0)
            LOG_DEBUG("pc: candidate not kept after restart");
    rtc_pc_set_end_of_candidates(&pc->jsep, true);
    return 0;
}

int urtc_pc_restart_ice(urtc_pc_t *pc)
{
    int ret = restart_ice(pc);
    if (ret == 0)
        eng_pc_negotiation_needed(pc);
    return ret;
}

int urtc_pc_add_ice_candidate(urtc_pc_t *pc, const char *candidate)
{
    int ret = eng_peer_add_candidate(pc->peer, candidate);
    if (ret < 0)
        return fail(pc, ret, "candidate refused (%s)", strerror(-ret));
    return 0;
}

int urtc_pc_send_rtp(urtc_pc_t *pc, int transceiver, const char *codec, uint32_t timestamp,
                     bool marker, const uint8_t *payload, size_t len)
{
    rtc_pc_t *j = &pc->jsep;
    if (transceiver < 0 || (unsigned)transceiver >= j->tr_cnt)
        return fail(pc, -EINVAL, "no transceiver %d", transceiver);
    rtc_pc_transceiver_t *t = &j->tr[transceiver];
    const rtc_pc_neg_codec_t *neg = NULL;
    for (unsigned k = 0; k < t->neg_cnt && !neg; k++) {
        const rtc_pc_codec_t *cap = rtc_pc_neg_codec_cap(j, t, &t->neg[k]);
        if (!codec || (cap && strcasecmp(cap->name, codec) == 0))
            neg = &t->neg[k];
    }
    if (!neg)
        return fail(pc, -ENOENT, "codec %s not negotiated on transceiver %d",
                    codec ? codec : "(any)", transceiver);
    if (len + 12 > NET_PKT_MAX_LEN - RTC_SRTP_TAILROOM)
        return fail(pc, -EMSGSIZE, "payload of %zu bytes does not fit a packet", len);
    net_pkt_t *pkt = eng_shard_pkt_alloc(pc->sh);
    if (!pkt)
        return fail(pc, -ENOBUFS, "packet pool empty");
    /* RFC 3550 §5.1: V=2, no padding, no extension, no CSRC. */
    uint8_t *b = pkt->data;
    b[0] = 0x80;
    b[1] = (uint8_t)(neg->pt | (marker ? 0x80 : 0));
    net_wr16be(b + 2, pc->seq[transceiver]++);
    net_wr32be(b + 4, timestamp);
    net_wr32be(b + 8, t->ssrc);
    memcpy(b + 12, payload, len);
    pkt->len = (uint32_t)(12 + len);
    if (!pc->rtcp_by_owner) {
        uint64_t now = eng_shard_now(pc->sh);
        rtc_rtp_tx_stats_t *tx = &pc->st[transceiver].tx;
        if (tx->ssrc != t->ssrc || !tx->clock_hz)
            rtc_rtp_tx_stats_init(tx, t->ssrc, neg_clock(j, t, neg));
        rtc_rtp_tx_stats_on_send(tx, timestamp, now, len);
        /* The plaintext, before SRTP encrypts it in place: what a NACK gets back. */
        struct eng_pc_resend *r = pc->resend[transceiver];
        if (r && r->on && rtc_rtp_history_put(&r->hist, b, pkt->len, now) < 0)
            LOG_RATELIMIT(1000, "pc: packet of %u bytes not kept for retransmission", pkt->len);
    }
    int ret = eng_peer_send_rtp(pc->peer, pkt, false);
    if (ret < 0)
        return fail(pc, ret, "cannot send RTP (%s)", strerror(-ret));
    pc->st[transceiver].tx_pkts++;
    pc->st[transceiver].tx_bytes += 12 + len;
    return 0;
}

int urtc_pc_request_keyframe(urtc_pc_t *pc, int transceiver)
{
    if (transceiver < 0 || (unsigned)transceiver >= pc->jsep.tr_cnt)
        return fail(pc, -EINVAL, "no transceiver %d", transceiver);
    uint32_t media = pc->st[transceiver].rx_ssrc;
    if (!media)
        return fail(pc, -ENOENT, "nothing received on transceiver %d yet", transceiver);
    net_pkt_t *pkt = eng_shard_pkt_alloc(pc->sh);
    if (!pkt)
        return fail(pc, -ENOBUFS, "packet pool empty");
    /* RFC 3550 §6.1: a compound starts with a report and carries a CNAME; an empty RR and
     * SDES, then the PLI. */
    uint32_t me = rtcp_ssrc(pc, (unsigned)transceiver);
    rtc_rtcp_wr_t w;
    rtc_rtcp_wr_init(&w, pkt->data, 512);
    rtc_rtp_wr_report(&w, NULL, me, NULL, 0, pc->jsep.cname, 0, eng_shard_now(pc->sh));
    if (rtc_rtcp_wr_pli(&w, me, media) < 0 || rtc_rtcp_wr_finish(&w) < 0) {
        net_pkt_free(pkt);
        return fail(pc, -EIO, "cannot build the PLI");
    }
    pkt->len = (uint32_t)rtc_rtcp_wr_finish(&w);
    int ret = eng_peer_send_rtp(pc->peer, pkt, true);
    return ret < 0 ? fail(pc, ret, "cannot send the PLI (%s)", strerror(-ret)) : 0;
}

int urtc_pc_send_frame(urtc_pc_t *pc, int transceiver, const urtc_frame_t *frame)
{
    if (transceiver < 0 || (unsigned)transceiver >= pc->jsep.tr_cnt)
        return fail(pc, -EINVAL, "no transceiver %d", transceiver);
    codec_id_t c = frame->codec ? codec_from_name(frame->codec) : CODEC_NONE;
    if (c == CODEC_NONE)
        return fail(pc, -EINVAL, "no packetizer for codec %s", frame->codec ? frame->codec : "?");
    codec_pay_t *pay = &pc->pay[transceiver];
    if (pc->pay_codec[transceiver] != c) {
        uint16_t pid;
        if (rtc_random(&pid, sizeof pid) < 0)
            pid = 0;
        /* 1200-byte datagrams (the DTLS MTU too): 12 of RTP header, the SRTP tag, headroom
         * for header extensions. */
        codec_pay_cfg_t cfg = {.codec = c, .max_payload_len = 1100, .picture_id = pid & 0x7fff};
        int ret = codec_pay_init(pay, &cfg);
        if (ret < 0)
            return fail(pc, ret, "no packetizer for %s", frame->codec);
        pc->pay_codec[transceiver] = c;
    }
    codec_frame_t f = {.codec = c,
                       .data = frame->data,
                       .len = frame->len,
                       .rtp_ts = frame->timestamp,
                       .flags = frame->keyframe ? CODEC_FRAME_KEY : 0,
                       .tl0picidx = -1,
                       .picture_id = -1};
    int ret = codec_pay_frame(pay, &f);
    if (ret < 0)
        return fail(pc, ret, "cannot packetize a %zu-byte %s frame", frame->len, frame->codec);
    uint8_t buf[1100];
    bool marker;
    while ((ret = codec_pay_next(pay, buf, sizeof buf, &marker)) > 0) {
        int r = urtc_pc_send_rtp(pc, transceiver, frame->codec, frame->timestamp, marker, buf,
                                 (size_t)ret);
        if (r < 0)
            return r;
    }
    return ret < 0 ? fail(pc, ret, "packetizer: %s", strerror(-ret)) : 0;
}

urtc_pc_state_t urtc_pc_state(const urtc_pc_t *pc)
{
    return pc->state;
}

const char *urtc_pc_last_error(const urtc_pc_t *pc)
{
    return pc->err;
}

const char *urtc_pc_state_name(urtc_pc_state_t s)
{
    static const char *const names[] = {"new",          "connecting", "connected",
                                        "disconnected", "failed",     "closed"};
    return (unsigned)s < NET_ARRAY_LEN(names) ? names[s] : "?";
}

int urtc_pc_get_stats(urtc_pc_t *pc, char *json, size_t cap)
{
    static const char *const ice_names[] = {"new",    "checking",     "connected", "completed",
                                            "failed", "disconnected", "closed"};
    static const char *const dtls_names[] = {"new", "connecting", "connected", "closed", "failed"};
    size_t n = 0;
#define OUT(...)                                                                                   \
    do {                                                                                           \
        int m_ = snprintf(json + n, n < cap ? cap - n : 0, __VA_ARGS__);                           \
        if (m_ < 0)                                                                                \
            return -EIO;                                                                           \
        n += (size_t)m_;                                                                           \
    } while (0)
    OUT("[{\"type\": \"transport\", \"id\": \"T01\", \"iceState\": \"%s\", "
        "\"dtlsState\": \"%s\", \"transportCcFeedbackSent\": %llu}",
        ice_names[pc->ice], dtls_names[pc->dtls], (unsigned long long)pc->twcc_fb_tx);
    net_addr_t local, remote;
    if (rtc_ice_selected(eng_peer_ice(pc->peer), &local, &remote, NULL) == 0) {
        char l[NET_ADDR_STRLEN], r[NET_ADDR_STRLEN];
        OUT(", {\"type\": \"candidate-pair\", \"id\": \"CP01\", \"transportId\": \"T01\", "
            "\"state\": \"succeeded\", \"nominated\": true, \"local\": \"%s\", \"remote\": "
            "\"%s\"}",
            net_addr_fmt(&local, l, sizeof l), net_addr_fmt(&remote, r, sizeof r));
    }
    const rtc_pc_t *j = &pc->jsep;
    for (unsigned i = 0; i < j->tr_cnt; i++) {
        const rtc_pc_transceiver_t *t = &j->tr[i];
        const char *kind = t->kind == RTC_SDP_KIND_AUDIO ? "audio" : "video";
        const rtc_rtp_rx_stats_t *rx = &pc->st[i].rx;
        if (pc->st[i].rx_pkts || t->remote_ssrc) {
            /* RFC 3550 A.3: expected from the extended highest sequence number, so a repaired
             * packet is not lost; jitter (A.8) in seconds as webrtc-stats has it. */
            int64_t lost = pc->st[i].rx_init ? (int64_t)rtc_rtp_rx_stats_ext_max(rx) -
                                                   rx->base_seq + 1 - rx->received
                                             : 0;
            double jitter =
                pc->st[i].rx_init && rx->clock_hz ? (double)(rx->jitter_q4 >> 4) / rx->clock_hz : 0;
            OUT(", {\"type\": \"inbound-rtp\", \"id\": \"IT%u\", \"kind\": \"%s\", \"mid\": "
                "\"%s\", "
                "\"ssrc\": %u, \"packetsReceived\": %llu, \"bytesReceived\": %llu, "
                "\"packetsLost\": %lld, \"jitter\": %.6f, \"nackCount\": %llu, "
                "\"retransmittedPacketsReceived\": %llu}",
                i, kind, t->mid, t->remote_ssrc, (unsigned long long)pc->st[i].rx_pkts,
                (unsigned long long)pc->st[i].rx_bytes, (long long)lost, jitter,
                (unsigned long long)pc->st[i].nack_tx, (unsigned long long)pc->st[i].rtx_rx);
        }
        if (pc->st[i].tx_pkts)
            OUT(", {\"type\": \"outbound-rtp\", \"id\": \"OT%u\", \"kind\": \"%s\", \"mid\": "
                "\"%s\", \"ssrc\": %u, \"packetsSent\": %llu, \"bytesSent\": %llu, "
                "\"pliCount\": %llu, \"nackCount\": %llu, \"retransmittedPacketsSent\": %llu}",
                i, kind, t->mid, t->ssrc, (unsigned long long)pc->st[i].tx_pkts,
                (unsigned long long)pc->st[i].tx_bytes,
                (unsigned long long)pc->st[i].keyframe_requests,
                (unsigned long long)pc->st[i].nack_rx, (unsigned long long)pc->st[i].rtx_tx);
        if (pc->st[i].rr_cnt) {
            OUT(", {\"type\": \"remote-inbound-rtp\", \"id\": \"RI%u\", \"kind\": \"%s\", "
                "\"ssrc\": %u, \"localId\": \"OT%u\", \"packetsLost\": %d, \"fractionLost\": "
                "%.4f, \"jitter\": %u, \"reportsReceived\": %llu",
                i, kind, t->ssrc, i, pc->st[i].rr_lost, pc->st[i].rr_fraction_lost / 256.0,
                pc->st[i].rr_jitter, (unsigned long long)pc->st[i].rr_cnt);
            if (pc->st[i].rtt_ns >= 0)
                OUT(", \"roundTripTime\": %.6f, \"totalRoundTripTime\": %.6f, "
                    "\"roundTripTimeMeasurements\": %llu",
                    (double)pc->st[i].rtt_ns / NET_NS_PER_SEC,
                    (double)pc->st[i].rtt_sum_ns / NET_NS_PER_SEC,
                    (unsigned long long)pc->st[i].rtt_cnt);
            OUT("}");
        }
        if (pc->st[i].sr_cnt) {
            /* remoteTimestamp: the SR's NTP time, in ms since 1970 (webrtc-stats) */
            double remote_ms =
                ((double)(pc->st[i].sr_ntp >> 32) - RTC_RTCP_NTP_UNIX_OFFSET) * 1000.0 +
                (double)(pc->st[i].sr_ntp & 0xffffffffu) * 1000.0 / 4294967296.0;
            OUT(", {\"type\": \"remote-outbound-rtp\", \"id\": \"RO%u\", \"kind\": \"%s\", "
                "\"ssrc\": %u, \"localId\": \"IT%u\", \"packetsSent\": %u, \"bytesSent\": %u, "
                "\"remoteTimestamp\": %.3f, \"reportsSent\": %llu}",
                i, kind, pc->st[i].rx.ssrc, i, pc->st[i].sr_pkts, pc->st[i].sr_octets, remote_ms,
                (unsigned long long)pc->st[i].sr_cnt);
        }
        for (unsigned k = 0; k < t->neg_cnt; k++) {
            const rtc_pc_codec_t *cap_ = rtc_pc_neg_codec_cap(j, t, &t->neg[k]);
            if (cap_)
                OUT(", {\"type\": \"codec\", \"id\": \"C%u_%u\", \"payloadType\": %u, "
                    "\"mimeType\": \"%s/%s\", \"clockRate\": %u, \"sdpFmtpLine\": \"%s\"}",
                    i, t->neg[k].pt, t->neg[k].pt, kind, cap_->name, cap_->clock_hz,
                    t->neg[k].fmtp);
        }
    }
    n += (size_t)eng_dc_stats_json(pc, json + NET_MIN(n, cap), n < cap ? cap - n : 0);
    OUT("]");
#undef OUT
    return n < cap ? (int)n : -ENOSPC;
}
