/* tests/engine/sfu_test.c: the SFU end to end in one process. An SFU engine hosts a room;
 * clients are urtc_pc peer connections (full ICE agents) on a second engine, one client per
 * shard (a shard routes non-STUN datagrams by remote address, and all clients talk to the
 * same SFU address). A publisher sends Opus and VP8 encoded by codecs/; subscribers decode
 * what the SFU forwards. Checked: every subscriber decodes the publisher's audio and video,
 * SSRCs are rewritten, a joining subscriber makes the SFU send a PLI upstream, NACKs under
 * injected loss are answered with RTX that repairs the frames, renegotiation when members
 * join and leave, and cleanup (rooms and members gone, GONE events); the SFU's upstream NACK
 * retries are spaced by the publisher's measured round trip. */
#include "engine/engine_priv.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codecs/codecs.h"
#include "rtc/rtcp/rtcp.h"
#include "rtc/rtp/rtp.h"
#include "urtc/urtc.h"

#define NCLI 3
#define SDP_CAP 32768

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

struct client {
    int idx;
    uint64_t id;
    urtc_pc_t *pc;
    uint32_t sctp_late_ms; /* its pc drops SCTP this long: its chat channel opens late */
    bool publisher;
    bool offers; /* joins with its own offer (else the server offers) */
    /* signaling, guarded by mu */
    char out[SDP_CAP];
    char scratch[SDP_CAP]; /* the client's shard only */
    bool out_ready, out_is_offer;
    urtc_pc_state_t state;
    /* publisher */
    int atr, vtr;
    uint32_t a_ssrc, v_ssrc;
    codec_opus_enc_t *aenc;
    codec_vpx_enc_t *venc;  /* VP8, VP9 */
    codec_h264_enc_t *henc; /* H.264 */
    codec_image_t img;
    codec_tone_t tone;
    uint32_t frame_no, audio_ts;
    int key_in; /* frames until the keyframe a PLI asked for (0: none pending) */
    int plis, rembs, rrs, srs_seen;
    /* subscriber */
    codec_vpx_dec_t *vdec;
    codec_h264_dec_t *hdec;
    codec_opus_dec_t *adec;
    int v_decoded, a_decoded, v_refused, v_gap_frames;
    uint32_t rx_v_ssrc, rx_a_ssrc;
    int rx_v_pkts, rx_a_pkts;
    bool have_last[RTC_PC_MAX_TRANSCEIVERS]; /* per video transceiver: gaps are NACKed */
    uint16_t last_seq[RTC_PC_MAX_TRANSCEIVERS];
    /* A WHEP viewer of several publishers: offers @feeds recvonly audio and video sections
     * (0: one each) and counts what arrives per transceiver, without decoding (its streams
     * would interleave in one decoder). */
    int feeds;
    int rx_tr_pkts[RTC_PC_MAX_TRANSCEIVERS];
    uint32_t rx_tr_ssrc[RTC_PC_MAX_TRANSCEIVERS];
    int answer_sendonly; /* a=sendonly lines in the SFU's answer */
    int nacks_sent, seq_jumps;
    /* NACKs of packets that did arrive (probe_repairs): the repairs must be the very bytes
     * first received (probe), and numbers the leg never sent must stay unanswered (neg). */
    bool v_have_first;
    uint16_t v_first_seq, v_last_seq;
    uint16_t probe[4], neg[4];
    int probe_cnt, neg_cnt, probe_ok, probe_bad, neg_rx;
    /* the room's chat: a negotiated channel "chat", id 0 */
    int dc;
    bool dc_open;
    /* glare: server offers are held back (not applied) while the client offers itself */
    bool hold_offers, reoffer_ready;
    int held_offers, answers_rx;
    int chat_rx, chat_bad;
    bool left; /* eng_sfu_leave() called: an answer still in flight finds no member */
    /* A publisher whose pc sends no RTCP of its own and keeps no history (rtcp_by_owner): the
     * SFU's NACKs for it go unanswered, so each lost packet is NACKed every try, and the only
     * report blocks the SFU gets from it are the ones the test sends (echo_srs). */
    bool no_repair;
    uint32_t sr_ssrc; /* the SFU's last SR to us: its SSRC, NTP time, arrival */
    uint64_t sr_ntp, sr_at_ns;
    int srs_echoed; /* SRs answered by a report block (of srs_seen) */
};
static struct client cli[NCLI];
/* Each client's video packets as first received, by sequence number (clients with one video
 * stream), to compare repairs with. */
#define REC_CAP 1024
static struct rec {
    bool used;
    uint16_t seq, len;
    uint8_t b[1500];
} rec[NCLI][REC_CAP];
static codec_id_t vcodec; /* the publisher's video codec in this run */
static urtc_engine_t *sfu_ue, *cli_ue;
static eng_sfu_t *sfu;
static uint32_t uplink_loss; /* eng_sfu_cfg_t test_uplink_loss of the next engines_start() */
/* NACKs the SFU sent a no_repair publisher for its video: per sequence number, when the last
 * one came; the spacing of each retry (the same number NACKed again) goes into the sums. */
static uint64_t nack_last_ns[65536];
static uint64_t retry_cnt, retry_sum_ns, retry_min_ns, retry_max_ns;
static uint64_t rr_hold_ns; /* echo_srs: answer each SR this long after it came (0: never) */
static int gone_events, connected_events, offers_from_sfu, answers_from_sfu;

/* ---- Client callbacks (client shards) ------------------------------------------------------ */

static void c_on_state(urtc_pc_t *pc, urtc_pc_state_t st, void *user)
{
    (void)pc;
    pthread_mutex_lock(&mu);
    ((struct client *)user)->state = st;
    pthread_mutex_unlock(&mu);
}

/* NACK (RFC 4585 §6.2.1) for @n sequence numbers @seqs; 0 when it went. */
static int send_nack_seqs(struct client *c, uint32_t media_ssrc, const uint16_t *seqs, unsigned n)
{
    net_pkt_t *pkt = eng_shard_pkt_alloc(c->pc->sh);
    cr_assert_not_null(pkt);
    rtc_rtcp_wr_t w;
    rtc_rtcp_wr_init(&w, pkt->data, 1000);
    rtc_rtcp_rr_t rr = {.ssrc = 0x1000u + (uint32_t)c->idx};
    (void)rtc_rtcp_wr_rr(&w, &rr);
    (void)rtc_rtcp_wr_nack(&w, rr.ssrc, media_ssrc, seqs, n);
    int len = rtc_rtcp_wr_finish(&w);
    cr_assert_gt(len, 0);
    pkt->len = (uint32_t)len;
    return eng_peer_send_rtp(c->pc->peer, pkt, true);
}

/* NACK for the sequence numbers in (@from, @to) that never came. */
static void send_nack(struct client *c, uint32_t media_ssrc, uint16_t from, uint16_t to)
{
    uint16_t seqs[16];
    unsigned n = 0;
    for (uint16_t s = (uint16_t)(from + 1); s != to && n < 16; s++)
        seqs[n++] = s;
    if (send_nack_seqs(c, media_ssrc, seqs, n) == 0) {
        pthread_mutex_lock(&mu);
        c->nacks_sent++;
        pthread_mutex_unlock(&mu);
    }
}

static void c_on_rtp(urtc_pc_t *pc, int tr, const urtc_rtp_packet_t *p, void *user)
{
    struct client *c = user;
    const rtc_pc_transceiver_t *t = &pc->jsep.tr[tr];
    bool video = t->kind == RTC_SDP_KIND_VIDEO;
    bool nack = false;
    uint16_t from = 0;
    cr_assert(tr >= 0 && (unsigned)tr < RTC_PC_MAX_TRANSCEIVERS);
    pthread_mutex_lock(&mu);
    c->rx_tr_pkts[tr]++;
    c->rx_tr_ssrc[tr] = p->ssrc;
    if (video) {
        c->rx_v_ssrc = p->ssrc;
        c->rx_v_pkts++;
        struct rec *r = &rec[c->idx][p->seq % REC_CAP];
        if (!c->feeds && r->used && r->seq == p->seq) { /* again: a repair */
            for (int k = 0; k < c->probe_cnt; k++)
                if (c->probe[k] == p->seq) {
                    if (p->len == r->len && memcmp(p->data, r->b, p->len) == 0)
                        c->probe_ok++;
                    else
                        c->probe_bad++;
                }
        } else if (!c->feeds && p->len <= sizeof r->b) {
            *r = (struct rec){.used = true, .seq = p->seq, .len = (uint16_t)p->len};
            memcpy(r->b, p->data, p->len);
        }
        for (int k = 0; k < c->neg_cnt; k++)
            c->neg_rx += c->neg[k] == p->seq;
        if (!c->v_have_first) {
            c->v_have_first = true;
            c->v_first_seq = c->v_last_seq = p->seq;
        } else if ((int16_t)(p->seq - c->v_last_seq) > 0) {
            c->v_last_seq = p->seq;
        }
        if (c->have_last[tr]) {
            int16_t d = (int16_t)(p->seq - c->last_seq[tr]);
            if (d > 1 && d < 16) { /* a gap: ask for the missing ones */
                nack = true;
                from = c->last_seq[tr];
            } else if (d > 16 || d < -100) {
                c->seq_jumps++;
            }
        }
        if (!c->have_last[tr] || (int16_t)(p->seq - c->last_seq[tr]) > 0) {
            c->last_seq[tr] = p->seq;
            c->have_last[tr] = true;
        }
    } else {
        c->rx_a_ssrc = p->ssrc;
        c->rx_a_pkts++;
    }
    pthread_mutex_unlock(&mu);
    if (nack)
        send_nack(c, p->ssrc, from, p->seq);
}

static void c_on_frame(urtc_pc_t *pc, int tr, const urtc_frame_t *f, void *user)
{
    (void)pc, (void)tr;
    struct client *c = user;
    if (c->feeds)
        return; /* several streams of a kind: counted per transceiver in c_on_rtp */
    codec_id_t cid = codec_from_name(f->codec);
    if (codec_is_video(cid)) {
        cr_assert_eq(cid, vcodec, "the publisher's codec");
        codec_frame_t cf = {.codec = cid,
                            .data = f->data,
                            .len = f->len,
                            .rtp_ts = f->timestamp,
                            .flags = (f->keyframe ? CODEC_FRAME_KEY : 0) |
                                     (f->after_gap ? CODEC_FRAME_GAP : 0)};
        codec_image_t img;
        int ret = cid == CODEC_H264 ? codec_h264_decode(c->hdec, &cf, &img)
                                    : codec_vpx_decode(c->vdec, &cf, &img);
        pthread_mutex_lock(&mu);
        if (ret == 1)
            c->v_decoded++;
        else if (ret < 0)
            c->v_refused++;
        if (f->after_gap)
            c->v_gap_frames++;
        pthread_mutex_unlock(&mu);
    } else if (strcmp(f->codec, "opus") == 0) {
        int16_t pcm[960 * 2];
        int n = codec_opus_decode(c->adec, f->data, f->len, pcm, 960);
        pthread_mutex_lock(&mu);
        if (n > 0)
            c->a_decoded++;
        pthread_mutex_unlock(&mu);
    }
}

/* The publisher reads the SFU's RTCP: PLI/FIR asks for a keyframe (RFC 4585 §6.3.1). */
static void c_on_rtcp(urtc_pc_t *pc, const uint8_t *data, size_t len, void *user)
{
    (void)pc;
    struct client *c = user;
    rtc_rtcp_hdr_t h[16];
    int n = rtc_rtcp_split(data, len, 0, h, 16);
    for (int i = 0; i < n; i++) {
        rtc_rtcp_fb_t fb;
        pthread_mutex_lock(&mu);
        if (h[i].pt == RTC_RTCP_RR)
            c->rrs++;
        rtc_rtcp_sr_t sr;
        if (h[i].pt == RTC_RTCP_SR && rtc_rtcp_sr_parse(&h[i], &sr) == 0) {
            c->srs_seen++;
            c->sr_ssrc = sr.ssrc;
            c->sr_ntp = sr.ntp;
            c->sr_at_ns = net_clock_ns();
        }
        if (c->no_repair && h[i].pt == RTC_RTCP_RTPFB && rtc_rtcp_fb_parse(&h[i], &fb) == 0 &&
            fb.fmt == RTC_RTCP_FMT_NACK && fb.media_ssrc == c->v_ssrc) {
            uint16_t seqs[64];
            int k = rtc_rtcp_nack_parse(&fb, seqs, 64);
            uint64_t now = net_clock_ns();
            for (int q = 0; q < k; q++) {
                uint64_t last = nack_last_ns[seqs[q]], gap = now - last;
                if (last && gap < 3 * NET_NS_PER_SEC) {
                    retry_cnt++;
                    retry_sum_ns += gap;
                    retry_min_ns = retry_cnt == 1 ? gap : NET_MIN(retry_min_ns, gap);
                    retry_max_ns = NET_MAX(retry_max_ns, gap);
                }
                nack_last_ns[seqs[q]] = now;
            }
        }
        if (h[i].pt == RTC_RTCP_PSFB && rtc_rtcp_fb_parse(&h[i], &fb) == 0) {
            if (fb.fmt == RTC_RTCP_FMT_PLI && (c->venc || c->henc)) {
                cr_assert_eq(fb.media_ssrc, c->v_ssrc, "PLI names the publisher's video SSRC");
                c->plis++;
                /* Answered a few frames late, as a busy encoder may: the deltas in between
                 * must not reach a subscriber that waits for its first keyframe. */
                if (!c->key_in)
                    c->key_in = 5;
            } else if (fb.fmt == RTC_RTCP_FMT_AFB) {
                c->rembs++;
            }
        }
        pthread_mutex_unlock(&mu);
    }
}

static void c_on_dc_open(urtc_pc_t *pc, int dc, void *user)
{
    (void)pc, (void)dc;
    pthread_mutex_lock(&mu);
    ((struct client *)user)->dc_open = true;
    pthread_mutex_unlock(&mu);
}

static void c_on_dc_message(urtc_pc_t *pc, int dc, const uint8_t *data, size_t len, bool binary,
                            void *user)
{
    (void)pc, (void)dc;
    struct client *c = user;
    static const char want[] = "hello from the publisher";
    pthread_mutex_lock(&mu);
    if (!binary && len == sizeof want - 1 && memcmp(data, want, len) == 0)
        c->chat_rx++;
    else
        c->chat_bad++;
    pthread_mutex_unlock(&mu);
}

static void c_chat_channel(struct client *c)
{
    urtc_dc_init_t init = {
        .negotiated = true, .id = 0, .max_retransmits = -1, .max_packet_lifetime_ms = -1};
    c->dc = urtc_pc_create_data_channel(c->pc, "chat", &init);
    cr_assert_geq(c->dc, 0);
}

static const urtc_pc_callbacks_t ccbs = {.on_state = c_on_state,
                                         .on_dc_open = c_on_dc_open,
                                         .on_dc_message = c_on_dc_message,
                                         .on_rtp = c_on_rtp,
                                         .on_frame = c_on_frame,
                                         .on_rtcp = c_on_rtcp};

/* ---- Client commands (client shards) ------------------------------------------------------- */

static void c_create(urtc_shard_t *sh, struct client *c)
{
    urtc_pc_config_t cfg = {.cname = "client"};
    c->pc = urtc_pc_create(sh, &cfg, &ccbs, c);
    cr_assert_not_null(c->pc);
    c->pc->rtcp_by_owner = c->no_repair; /* before any negotiation sets up histories */
    if (c->sctp_late_ms)
        c->pc->test_sctp_drop_until_ns = net_clock_ns() + c->sctp_late_ms * NET_NS_PER_MS;
}

/* An RR whose one report block answers the SFU's last SR with DLSR 0 (RFC 3550 §6.4.1), sent
 * rr_hold_ns after that SR came: to the SFU, a path with that round trip. */
static void c_echo_sr_cmd(urtc_pc_t *pc, void *arg)
{
    struct client *c = arg;
    pthread_mutex_lock(&mu);
    rtc_rtcp_rr_t rr = {.ssrc = c->v_ssrc, .rb_cnt = 1};
    rr.rb[0] = (rtc_rtcp_rb_t){.ssrc = c->sr_ssrc, .lsr = rtc_rtcp_ntp_mid(c->sr_ntp)};
    pthread_mutex_unlock(&mu);
    net_pkt_t *pkt = eng_shard_pkt_alloc(pc->sh);
    cr_assert_not_null(pkt);
    rtc_rtcp_wr_t w;
    rtc_rtcp_wr_init(&w, pkt->data, 1000);
    (void)rtc_rtcp_wr_rr(&w, &rr);
    int len = rtc_rtcp_wr_finish(&w);
    cr_assert_gt(len, 0);
    pkt->len = (uint32_t)len;
    (void)eng_peer_send_rtp(pc->peer, pkt, true);
}

/* The client's first offer: a publisher sends audio and video, a viewer (WHEP style) offers
 * to receive them. */
static void c_offer_cmd(urtc_shard_t *sh, void *arg)
{
    struct client *c = arg;
    c_create(sh, c);
    urtc_direction_t dir = c->publisher ? URTC_SENDONLY : URTC_RECVONLY;
    c_chat_channel(c);
    c->atr = urtc_pc_add_transceiver(c->pc, URTC_KIND_AUDIO, dir, "s", "a");
    c->vtr = urtc_pc_add_transceiver(c->pc, URTC_KIND_VIDEO, dir, "s", "v");
    cr_assert(c->atr >= 0 && c->vtr >= 0);
    for (int f = 1; f < c->feeds; f++) /* as urtc-bench's viewers: audio, video, audio, .. */
        cr_assert(urtc_pc_add_transceiver(c->pc, URTC_KIND_AUDIO, dir, NULL, NULL) >= 0 &&
                  urtc_pc_add_transceiver(c->pc, URTC_KIND_VIDEO, dir, NULL, NULL) >= 0);
    c->a_ssrc = c->pc->jsep.tr[c->atr].ssrc;
    c->v_ssrc = c->pc->jsep.tr[c->vtr].ssrc;
    char *sdp = c->scratch;
    cr_assert_gt(urtc_pc_create_offer(c->pc, sdp, SDP_CAP), 0, "%s", urtc_pc_last_error(c->pc));
    cr_assert_eq(urtc_pc_set_local_description(c->pc, URTC_SDP_OFFER, sdp), 0);
    pthread_mutex_lock(&mu);
    memcpy(c->out, sdp, SDP_CAP);
    c->out_ready = true;
    c->out_is_offer = true;
    pthread_mutex_unlock(&mu);
}

/* A description from the SFU on its way to a client (events for one client may follow each
 * other before its shard applied the first). */
struct desc_msg {
    struct client *c;
    char *sdp;
};

static void c_apply_answer_cmd(urtc_pc_t *pc, void *arg)
{
    struct desc_msg *m = arg;
    cr_assert_eq(urtc_pc_set_remote_description(pc, URTC_SDP_ANSWER, m->sdp), 0, "%s",
                 urtc_pc_last_error(pc));
    free(m->sdp);
    free(m);
}

static void c_apply_offer(urtc_pc_t *pc, struct client *c, const char *offer)
{
    cr_assert_eq(urtc_pc_set_remote_description(pc, URTC_SDP_OFFER, offer), 0, "%s",
                 urtc_pc_last_error(pc));
    char *sdp = c->scratch;
    cr_assert_gt(urtc_pc_create_answer(pc, sdp, SDP_CAP), 0, "%s", urtc_pc_last_error(pc));
    cr_assert_eq(urtc_pc_set_local_description(pc, URTC_SDP_ANSWER, sdp), 0, "%s",
                 urtc_pc_last_error(pc));
    pthread_mutex_lock(&mu);
    memcpy(c->out, sdp, SDP_CAP);
    c->out_ready = true;
    c->out_is_offer = false;
    pthread_mutex_unlock(&mu);
}

static void c_apply_offer_cmd(urtc_pc_t *pc, void *arg)
{
    struct desc_msg *m = arg;
    c_apply_offer(pc, m->c, m->sdp);
    free(m->sdp);
    free(m);
}

static void c_first_offer_cmd(urtc_shard_t *sh, void *arg)
{
    struct desc_msg *m = arg;
    c_create(sh, m->c);
    c_chat_channel(m->c);
    c_apply_offer(m->c->pc, m->c, m->sdp);
    free(m->sdp);
    free(m);
}

static void c_send_cmd(urtc_pc_t *pc, void *arg)
{
    struct client *c = arg;
    if (urtc_pc_state(pc) != URTC_PC_CONNECTED)
        return;
    pthread_mutex_lock(&mu);
    bool chat = c->dc_open && c->audio_ts % (960 * 25) == 0; /* twice a second */
    pthread_mutex_unlock(&mu);
    if (chat) {
        static const char msg[] = "hello from the publisher";
        (void)urtc_dc_send(pc, c->dc, msg, sizeof msg - 1, false);
    }
    int16_t pcm[960];
    uint8_t opus[1500];
    codec_tone_fill(&c->tone, pcm, 960);
    int n = codec_opus_encode(c->aenc, pcm, opus, sizeof opus);
    if (n > 0) {
        urtc_frame_t f = {
            .codec = "opus", .data = opus, .len = (size_t)n, .timestamp = c->audio_ts};
        (void)urtc_pc_send_frame(pc, c->atr, &f);
    }
    c->audio_ts += 960;
    if ((c->audio_ts / 960) % 2 == 0) {
        codec_pattern_draw(&c->img, c->frame_no);
        pthread_mutex_lock(&mu);
        bool key_now = c->key_in && --c->key_in == 0;
        pthread_mutex_unlock(&mu);
        if (key_now && c->venc)
            codec_vpx_enc_request_keyframe(c->venc);
        else if (key_now)
            codec_h264_enc_request_keyframe(c->henc);
        codec_frame_t cf;
        pthread_mutex_lock(&mu); /* the PLI handler requests keyframes on this shard too */
        int ret = c->henc ? codec_h264_encode(c->henc, &c->img, c->frame_no * 3600, &cf)
                          : codec_vpx_encode(c->venc, &c->img, c->frame_no * 3600, &cf);
        pthread_mutex_unlock(&mu);
        if (ret == 1) {
            urtc_frame_t f = {.codec = codec_name(vcodec),
                              .data = cf.data,
                              .len = cf.len,
                              .timestamp = cf.rtp_ts,
                              .keyframe = cf.flags & CODEC_FRAME_KEY};
            (void)urtc_pc_send_frame(pc, c->vtr, &f);
        }
        c->frame_no++;
    }
}

/* The client offers on its own (renegotiation from its side). */
static void c_reoffer_cmd(urtc_pc_t *pc, void *arg)
{
    struct client *c = arg;
    cr_assert_gt(urtc_pc_create_offer(pc, c->scratch, SDP_CAP), 0, "%s", urtc_pc_last_error(pc));
    cr_assert_eq(urtc_pc_set_local_description(pc, URTC_SDP_OFFER, c->scratch), 0, "%s",
                 urtc_pc_last_error(pc));
    pthread_mutex_lock(&mu);
    memcpy(c->out, c->scratch, SDP_CAP);
    c->reoffer_ready = true;
    pthread_mutex_unlock(&mu);
}

/* The probe NACK of probe_repairs(). */
static void c_probe_cmd(urtc_pc_t *pc, void *arg)
{
    (void)pc;
    struct client *c = arg;
    uint16_t seqs[8];
    pthread_mutex_lock(&mu);
    unsigned n = 0;
    for (int k = 0; k < c->probe_cnt; k++)
        seqs[n++] = c->probe[k];
    for (int k = 0; k < c->neg_cnt; k++)
        seqs[n++] = c->neg[k];
    uint32_t ssrc = c->rx_v_ssrc;
    pthread_mutex_unlock(&mu);
    cr_assert_eq(send_nack_seqs(c, ssrc, seqs, n), 0);
}

static void c_close_cmd(urtc_pc_t *pc, void *arg)
{
    (void)arg;
    urtc_pc_close(pc);
}

/* ---- The control thread: SFU events, client answers, media clock --------------------------- */

static struct client *client_of(uint64_t id)
{
    for (int i = 0; i < NCLI; i++)
        if (cli[i].id == id)
            return &cli[i];
    return NULL;
}

static uint64_t last_send_ns;

static struct desc_msg *desc_msg(struct client *c, const char *sdp)
{
    struct desc_msg *m = malloc(sizeof *m);
    cr_assert_not_null(m);
    m->c = c;
    m->sdp = strdup(sdp);
    cr_assert_not_null(m->sdp);
    return m;
}

static void pump_once(void)
{
    eng_sfu_ev_t ev;
    while (eng_sfu_poll(sfu, &ev)) {
        struct client *c = client_of(ev.member);
        switch (ev.type) {
        case ENG_SFU_EV_ANSWER:
            cr_assert_not_null(c);
            answers_from_sfu++;
            c->answers_rx++;
            cr_assert_not_null(strstr(ev.text, "a=ice-lite"), "the SFU is ICE lite");
            for (const char *l = ev.text; (l = strstr(l, "a=sendonly")); l++)
                c->answer_sendonly++;
            cr_assert_eq(urtc_pc_post(cli_ue, c->pc, c_apply_answer_cmd, desc_msg(c, ev.text)), 0);
            break;
        case ENG_SFU_EV_OFFER:
            cr_assert_not_null(c);
            offers_from_sfu++;
            if (c->hold_offers) {
                c->held_offers++; /* crossed our own offer: the server will roll it back */
                break;
            }
            if (c->pc)
                cr_assert_eq(urtc_pc_post(cli_ue, c->pc, c_apply_offer_cmd, desc_msg(c, ev.text)),
                             0);
            else
                cr_assert_eq(
                    urtc_engine_post(cli_ue, c->idx, c_first_offer_cmd, desc_msg(c, ev.text)), 0);
            break;
        case ENG_SFU_EV_CONNECTED:
            connected_events++;
            break;
        case ENG_SFU_EV_GONE:
            gone_events++;
            break;
        case ENG_SFU_EV_ERROR:
            cr_assert_fail("SFU error for member %llu: %d %s", (unsigned long long)ev.member,
                           ev.err, ev.text ? ev.text : "");
            break;
        default:
            break;
        }
        free(ev.text);
    }
    /* Answers the clients made to server offers go back to the SFU, and their own re-offers. */
    for (int i = 0; i < NCLI; i++) {
        struct client *c = &cli[i];
        pthread_mutex_lock(&mu);
        if (c->reoffer_ready) {
            c->reoffer_ready = false;
            c->out_ready = false;
            c->hold_offers = false; /* what comes next answers the rollback */
            static char re[SDP_CAP];
            memcpy(re, c->out, sizeof re);
            pthread_mutex_unlock(&mu);
            cr_assert_eq(eng_sfu_offer(sfu, c->id, re), 0);
            continue;
        }
        bool ready = c->out_ready && !c->out_is_offer;
        static char sdp[SDP_CAP];
        if (ready) {
            memcpy(sdp, c->out, sizeof sdp);
            c->out_ready = false;
        }
        pthread_mutex_unlock(&mu);
        int ret = ready ? eng_sfu_answer(sfu, c->id, sdp) : 0;
        cr_assert(ret == 0 || (ret == -ENOENT && c->left), "answer of member %llu: %d",
                  (unsigned long long)c->id, ret);
    }
    /* 20 ms media clock for the publishers. */
    uint64_t now = net_clock_ns();
    for (int i = 0; i < NCLI && rr_hold_ns; i++) {
        struct client *c = &cli[i];
        pthread_mutex_lock(&mu);
        bool due =
            c->no_repair && c->pc && c->srs_echoed < c->srs_seen && now >= c->sr_at_ns + rr_hold_ns;
        if (due)
            c->srs_echoed = c->srs_seen;
        pthread_mutex_unlock(&mu);
        if (due)
            cr_assert_eq(urtc_pc_post(cli_ue, c->pc, c_echo_sr_cmd, c), 0);
    }
    if (now - last_send_ns >= 20 * NET_NS_PER_MS) {
        last_send_ns = now;
        for (int i = 0; i < NCLI; i++)
            if (cli[i].publisher && cli[i].pc)
                cr_assert_eq(urtc_pc_post(cli_ue, cli[i].pc, c_send_cmd, &cli[i]), 0);
    }
}

static bool pump_until(bool (*cond)(void), int max_ms)
{
    for (int i = 0; i < max_ms / 5; i++) {
        pump_once();
        pthread_mutex_lock(&mu);
        bool ok = cond();
        pthread_mutex_unlock(&mu);
        if (ok)
            return true;
        usleep(5000);
    }
    return false;
}

/* Joins client @c: with its own offer, or asking the server to offer. */
static void join(struct client *c)
{
    if (c->offers) {
        cr_assert_eq(urtc_engine_post(cli_ue, c->idx, c_offer_cmd, c), 0);
        for (int i = 0; i < 1000; i++) {
            pthread_mutex_lock(&mu);
            bool ready = c->out_ready;
            pthread_mutex_unlock(&mu);
            if (ready)
                break;
            usleep(2000);
        }
        pthread_mutex_lock(&mu);
        cr_assert(c->out_ready && c->out_is_offer);
        c->out_ready = false;
        pthread_mutex_unlock(&mu);
        cr_assert_eq(eng_sfu_join(sfu, c->id, "room1", c->out), 0);
    } else {
        cr_assert_eq(eng_sfu_join(sfu, c->id, "room1", NULL), 0);
    }
}

static bool pub_connected(void)
{
    return cli[0].state == URTC_PC_CONNECTED && connected_events >= 1;
}
static bool sub1_media(void)
{
    return cli[1].state == URTC_PC_CONNECTED && cli[1].v_decoded >= 25 && cli[1].a_decoded >= 25;
}
static bool sub2_media(void)
{
    return cli[2].state == URTC_PC_CONNECTED && cli[2].v_decoded >= 25 && cli[2].a_decoded >= 25;
}
static bool sub2_chat_open(void)
{
    return cli[2].dc_open;
}
static int v_mark1;
static struct client *lossy;
static bool lossy_repaired(void)
{
    return lossy->nacks_sent >= 5 && lossy->v_decoded >= v_mark1 + 40;
}
static bool pub_gone(void)
{
    return gone_events >= 1;
}
static bool two_gone(void)
{
    return gone_events >= 2;
}
static bool all_gone(void)
{
    return gone_events >= 3;
}

static struct client *probed[2];
static bool probes_back(void)
{
    for (int i = 0; i < 2; i++)
        if (probed[i] && probed[i]->probe_ok + probed[i]->probe_bad < probed[i]->probe_cnt)
            return false;
    return true;
}

/* NACKs from subscribers @a and @b (NULL: none) for three video packets each that did arrive
 * (well inside the SFU's history) and, from @neg (@a, @b or NULL), for the three numbers before
 * the first one its leg sent (the SFU's history of the publisher's stream has packets there when
 * another subscriber got them or the leg waited for a keyframe; its leg never sent them). Every
 * repair must be the bytes first received (the SFU rebuilds each leg's packet from one shared copy)
 * and the three numbers must go unanswered. */
static void probe_repairs(struct client *a, struct client *b, const struct client *neg)
{
    probed[0] = a;
    probed[1] = b;
    for (int i = 0; i < 2; i++) {
        struct client *c = probed[i];
        if (!c)
            continue;
        pthread_mutex_lock(&mu);
        uint16_t last = c->v_last_seq, first = c->v_first_seq;
        c->probe_cnt = c->neg_cnt = c->probe_ok = c->probe_bad = c->neg_rx = 0;
        static const uint16_t back[] = {4, 9, 15};
        for (int k = 0; k < 3; k++) {
            uint16_t s = (uint16_t)(last - back[k]);
            const struct rec *r = &rec[c->idx][s % REC_CAP];
            cr_assert(r->used && r->seq == s, "client %d received %u", c->idx, s);
            c->probe[c->probe_cnt++] = s;
        }
        if (c == neg) {
            /* Inside the window of the SFU's histories (256 packets), so that only the leg's
             * own record can tell that it never sent them. */
            cr_assert_lt((uint16_t)(last - first), 200, "client %d: %u packets so far", c->idx,
                         (uint16_t)(last - first));
            for (uint16_t k = 1; k <= 3; k++)
                c->neg[c->neg_cnt++] = (uint16_t)(first - k);
        }
        pthread_mutex_unlock(&mu);
        cr_assert_eq(urtc_pc_post(cli_ue, c->pc, c_probe_cmd, c), 0);
    }
    cr_assert(pump_until(probes_back, 3000), "repairs of received packets came back");
    for (int i = 0; i < 40; i++) { /* time for a wrong answer to come */
        pump_once();
        usleep(5000);
    }
    pthread_mutex_lock(&mu);
    for (int i = 0; i < 2; i++) {
        struct client *c = probed[i];
        if (!c)
            continue;
        cr_assert_eq(c->probe_bad, 0, "client %d: %d repairs differ from what it received", c->idx,
                     c->probe_bad);
        cr_assert_eq(c->probe_ok, c->probe_cnt);
        cr_assert_eq(c->neg_rx, 0, "client %d: %d numbers its leg never sent were answered", c->idx,
                     c->neg_rx);
        c->probe_cnt = c->neg_cnt = 0;
    }
    pthread_mutex_unlock(&mu);
}

/* Clients 0..@n-1 leave through signaling; @gone says they are all gone. */
static void leave_all(int n, bool (*gone)(void))
{
    for (int i = 0; i < n; i++) {
        pthread_mutex_lock(&mu);
        cli[i].left = true;
        pthread_mutex_unlock(&mu);
        cr_assert_eq(eng_sfu_leave(sfu, cli[i].id), 0);
    }
    cr_assert(pump_until(gone, 5000));
}

/* @room_max: members of the room per shard (2 with two shards: the second subscriber lands on
 * the other shard and gets the publisher's packets by reference). */
/* The SFU engine (@sfu_shards, @room_max members of a room per shard) and the client engine
 * (one shard per client), the clients' decoders. */
static void engines_start(unsigned sfu_shards, uint32_t room_max, codec_id_t video_codec)
{
    vcodec = video_codec;
    urtc_engine_config_t scfg = {.shards = sfu_shards};
    sfu_ue = urtc_engine_create(&scfg);
    cr_assert_not_null(sfu_ue);
    eng_sfu_cfg_t sfucfg = {.room_max_per_shard = room_max, .test_uplink_loss = uplink_loss};
    sfu = eng_sfu_create(sfu_ue->e, &sfucfg);
    cr_assert_not_null(sfu);
    urtc_engine_config_t ccfg = {.shards = NCLI};
    cli_ue = urtc_engine_create(&ccfg);
    cr_assert_not_null(cli_ue);
    for (int i = 0; i < NCLI; i++) {
        cli[i].idx = i;
        cli[i].id = 100 + (uint64_t)i;
        if (vcodec == CODEC_H264)
            cli[i].hdec = codec_h264_dec_create();
        else
            cli[i].vdec = codec_vpx_dec_create(vcodec);
        cli[i].adec = codec_opus_dec_create(1);
        cr_assert((cli[i].vdec || cli[i].hdec) && cli[i].adec);
    }
}

/* @c publishes (its own offer, sendonly): Opus and small frames of the run's video codec. */
static void publisher_init(struct client *c)
{
    c->publisher = c->offers = true;
    codec_opus_cfg_t ocfg;
    codec_opus_cfg_default(&ocfg);
    c->aenc = codec_opus_enc_create(&ocfg);
    codec_video_cfg_t vcfg;
    codec_video_cfg_default(&vcfg, vcodec, 160, 120);
    vcfg.fps = 25;
    vcfg.bitrate_kbps = 200;
    if (vcodec == CODEC_H264)
        c->henc = codec_h264_enc_create(&vcfg);
    else
        c->venc = codec_vpx_enc_create(&vcfg);
    cr_assert(c->aenc && (c->venc || c->henc));
    cr_assert_eq(codec_image_alloc(&c->img, 160, 120), 0);
    codec_tone_init(&c->tone, 440 + 110 * (double)c->idx, 0.3, 48000, 1);
}

/* Stops both engines (the SFU after them) and frees the clients' codecs. */
static void engines_stop(void)
{
    urtc_engine_destroy(cli_ue);
    urtc_engine_destroy(sfu_ue);
    eng_sfu_destroy(sfu);
    for (int i = 0; i < NCLI; i++) {
        codec_vpx_dec_destroy(cli[i].vdec);
        codec_h264_dec_destroy(cli[i].hdec);
        codec_opus_dec_destroy(cli[i].adec);
        codec_opus_enc_destroy(cli[i].aenc);
        codec_vpx_enc_destroy(cli[i].venc);
        codec_h264_enc_destroy(cli[i].henc);
        codec_image_free(&cli[i].img);
    }
}

static void run_room(unsigned sfu_shards, uint32_t room_max, codec_id_t video_codec)
{
    engines_start(sfu_shards, room_max, video_codec);
    struct client *pub = &cli[0], *sub1 = &cli[1], *sub2 = &cli[2];
    publisher_init(pub);
    sub2->offers = true; /* WHEP style: recvonly audio+video in its own offer */
    /* sub2's association comes up 2.5 s after it joins (the SFU's side of its chat channel
     * too): the publisher's chat in between is held for it, not lost. */
    sub2->sctp_late_ms = 2500;

    /* The publisher, alone. */
    join(pub);
    cr_assert(pump_until(pub_connected, 10000), "publisher connected (state %s)",
              urtc_pc_state_name(pub->state));

    /* A subscriber the server offers to. */
    join(sub1);
    if (!pump_until(sub1_media, 15000)) {
        eng_sfu_stats_t d;
        eng_sfu_stats_get(sfu, &d);
        cr_assert_fail("sub1 decodes (video %d, audio %d, state %s, v pkts %d, refused %d, plis "
                       "%d; sfu fwd %llu wait_key %llu not_ready %llu pli_tx %llu)",
                       sub1->v_decoded, sub1->a_decoded, urtc_pc_state_name(sub1->state),
                       sub1->rx_v_pkts, sub1->v_refused, pub->plis, (unsigned long long)d.fwd_pkts,
                       (unsigned long long)d.drop_wait_key, (unsigned long long)d.drop_not_ready,
                       (unsigned long long)d.pli_tx);
    }
    probe_repairs(sub1, NULL, sub1);

    /* A second subscriber with its own recvonly offer: the SFU asks the publisher for a
     * keyframe so that it can start at once. */
    pthread_mutex_lock(&mu);
    int plis_before = pub->plis;
    int sub1_chat_before = sub1->chat_rx;
    pthread_mutex_unlock(&mu);
    join(sub2);
    cr_assert(pump_until(sub2_media, 15000), "sub2 decodes (video %d, audio %d)", sub2->v_decoded,
              sub2->a_decoded);
    /* Two legs of one stream, their numbers apart (random starts, sub2 later). */
    probe_repairs(sub1, sub2, sub2);
    pthread_mutex_lock(&mu);
    cr_assert_gt(pub->plis, plis_before, "PLI upstream when a subscriber joins");
    /* SSRC rewriting: the subscribers see the SFU's SSRCs, not the publisher's. */
    cr_assert_neq(sub1->rx_v_ssrc, pub->v_ssrc);
    cr_assert_neq(sub1->rx_a_ssrc, pub->a_ssrc);
    cr_assert_neq(sub2->rx_v_ssrc, pub->v_ssrc);
    cr_assert_neq(sub1->rx_v_ssrc, sub2->rx_v_ssrc, "one SSRC per subscriber leg");
    cr_assert_eq(sub1->seq_jumps, 0, "sequence numbers continuous");
    cr_assert_eq(sub2->seq_jumps, 0, "sequence numbers continuous");
    cr_assert_eq(sub1->nacks_sent, 0, "no loss yet");
    pthread_mutex_unlock(&mu);

    /* Loss on the way to a subscriber (with two shards, the one on the publisher's other
     * shard): its NACKs are answered with RTX, which repairs the frames. */
    lossy = sfu_shards > 1 ? sub2 : sub1;
    pthread_mutex_lock(&mu);
    v_mark1 = lossy->v_decoded;
    int gaps_before = lossy->v_gap_frames;
    pthread_mutex_unlock(&mu);
    cr_assert_eq(eng_sfu_test_loss(sfu, lossy->id, 7), 0);
    cr_assert(pump_until(lossy_repaired, 15000), "repairs (nacks %d, decoded %d since)",
              lossy->nacks_sent, lossy->v_decoded - v_mark1);
    cr_assert_eq(eng_sfu_test_loss(sfu, lossy->id, 0), 0);
    for (int i = 0; i < 20; i++) { /* the SFU publishes its counters every tick */
        pump_once();
        usleep(5000);
    }
    eng_sfu_stats_t st;
    eng_sfu_stats_get(sfu, &st);
    pthread_mutex_lock(&mu);
    cr_assert_gt(st.rtx_sent, 0);
    cr_assert_geq(st.nack_rx, (uint64_t)lossy->nacks_sent);
    cr_assert_eq(lossy->v_gap_frames, gaps_before, "RTX repaired every loss: no frame after a gap");
    if (sfu_shards > 1)
        cr_assert_gt(st.xshard_fwd, 0, "packets went to the other shard by reference");
    else
        cr_assert_eq(st.xshard_fwd, 0);
    cr_assert_gt(pub->rembs, 0, "REMB to the publisher");
    cr_assert_gt(pub->rrs, 0, "RR to the publisher");
    pthread_mutex_unlock(&mu);
    cr_assert_gt(st.sr_tx, 0, "SR to subscribers");
    cr_assert_gt(st.drop_wait_key, 0, "deltas held back until the keyframe");
    /* Subscribers that joined mid-stream start at a keyframe: their decoders never refused a
     * frame for want of one (a delta forwarded first would be refused). Whether the SFU had to
     * hold deltas back for it (st.drop_wait_key) depends on timing: with a fast join the
     * keyframe the join asked for comes first; the publisher here answers PLIs 5 frames late,
     * so deltas do come first and are held back. */
    pthread_mutex_lock(&mu);
    cr_assert_eq(sub1->v_refused + sub2->v_refused, 0,
                 "a subscriber's decoder got a delta before its keyframe (%d, %d; held back %llu)",
                 sub1->v_refused, sub2->v_refused, (unsigned long long)st.drop_wait_key);
    pthread_mutex_unlock(&mu);
    /* The publisher's chat reached both subscribers (with two shards, one is on the other).
     * sub2 got what sub1 got since sub2 joined, the messages held while its channel was not
     * open included (give or take one in flight at each end). */
    cr_assert(pump_until(sub2_chat_open, 10000), "sub2's chat channel opened");
    for (int i = 0; i < 40; i++) { /* held messages and counters settle */
        pump_once();
        usleep(5000);
    }
    eng_sfu_stats_get(sfu, &st);
    pthread_mutex_lock(&mu);
    cr_assert_gt(sub1->chat_rx, 0, "chat relayed to sub1");
    cr_assert_gt(sub2->chat_rx, 0, "chat relayed to sub2");
    cr_assert_eq(sub1->chat_bad + sub2->chat_bad + pub->chat_rx, 0, "nothing else, not back");
    cr_assert_geq(sub2->chat_rx + 2, sub1->chat_rx - sub1_chat_before,
                  "sub2 got %d, sub1 %d since sub2 joined (held %llu, dropped %llu)", sub2->chat_rx,
                  sub1->chat_rx - sub1_chat_before, (unsigned long long)st.chat_held,
                  (unsigned long long)st.chat_dropped);
    cr_assert_geq(st.chat_held, 3, "held for sub2 while its channel was not open");
    cr_assert_eq(st.chat_dropped, 0);
    pthread_mutex_unlock(&mu);
    cr_assert_eq(st.rooms, sfu_shards, "one part of the room per shard");
    cr_assert_eq(st.members, 3);

    /* The publisher leaves: GONE, and the subscribers get offers that stop its tracks. sub1
     * offers at the same time (glare): its copy of the server's offer is held back, the
     * server (the polite peer) rolls its own back, answers sub1, then offers again. */
    int offers_before = offers_from_sfu;
    pthread_mutex_lock(&mu);
    sub1->hold_offers = true;
    pthread_mutex_unlock(&mu);
    cr_assert_eq(eng_sfu_leave(sfu, pub->id), 0);
    cr_assert(pump_until(pub_gone, 5000));
    cr_assert_eq(urtc_pc_post(cli_ue, pub->pc, c_close_cmd, NULL), 0);
    pub->pc = NULL;
    for (int i = 0; i < 100 && offers_from_sfu < offers_before + 2; i++) {
        pump_once();
        usleep(10000);
    }
    cr_assert_geq(offers_from_sfu, offers_before + 2, "renegotiation on leave");
    cr_assert_eq(sub1->held_offers, 1, "sub1's server offer held back");
    int answers_before = sub1->answers_rx;
    cr_assert_eq(urtc_pc_post(cli_ue, sub1->pc, c_reoffer_cmd, sub1), 0);
    for (int i = 0;
         i < 300 && (sub1->answers_rx == answers_before || offers_from_sfu < offers_before + 3);
         i++) {
        pump_once();
        usleep(10000);
    }
    cr_assert_eq(sub1->answers_rx, answers_before + 1, "the server answered sub1's offer");
    cr_assert_geq(offers_from_sfu, offers_before + 3, "and offered again after the rollback");
    for (int i = 0; i < 30; i++) { /* let the answers go back */
        pump_once();
        usleep(10000);
    }
    /* sub2 closes its connection without a word to signaling: its DTLS close_notify is
     * enough for the SFU to drop it; sub1 leaves through signaling. */
    cr_assert_eq(urtc_pc_post(cli_ue, sub2->pc, c_close_cmd, NULL), 0);
    sub2->pc = NULL;
    cr_assert(pump_until(two_gone, 5000), "the closed member is gone (%d)", gone_events);
    cr_assert_eq(eng_sfu_leave(sfu, sub1->id), 0);
    cr_assert(pump_until(all_gone, 5000));
    usleep(100000); /* a tick publishes the counters */
    eng_sfu_stats_get(sfu, &st);
    cr_assert_eq(st.rooms, 0);
    cr_assert_eq(st.members, 0);
    cr_assert_eq(eng_sfu_leave(sfu, sub1->id), -ENOENT);

    engines_stop();
}

Test(sfu, one_shard_room, .timeout = 90)
{
    run_room(1, 0, CODEC_VP8);
}

/* H.264 (packetization-mode 1, keyframes found in STAP-A/FU-A) across shards. */
Test(sfu, room_across_two_shards_h264, .timeout = 90)
{
    run_room(2, 2, CODEC_H264);
}

Test(sfu, one_shard_room_vp9, .timeout = 90)
{
    run_room(1, 0, CODEC_VP9);
}

/* ---- A WHEP viewer of two publishers ---------------------------------------------------------
 * Two publishers (audio+video each) and a viewer whose own offer has two recvonly audio and two
 * recvonly video sections: the first answer must send on all four (a=sendonly) and RTP must
 * arrive on each, from four different SSRCs. The regression: only the first section of each
 * kind got a publisher (a=inactive on the others), so urtc-bench's audio rooms and meetings
 * saw one feed per kind. */

static bool pubs_connected(void)
{
    return cli[0].state == URTC_PC_CONNECTED && cli[1].state == URTC_PC_CONNECTED &&
           connected_events >= 2;
}

static bool viewer_all_feeds(void)
{
    const struct client *v = &cli[2];
    if (v->state != URTC_PC_CONNECTED)
        return false;
    for (unsigned i = 0; i < v->pc->jsep.tr_cnt && i < RTC_PC_MAX_TRANSCEIVERS; i++)
        if (v->rx_tr_pkts[i] < 25)
            return false;
    return v->pc->jsep.tr_cnt == 4;
}

/* Each publisher also receives the other one (a meeting): the server offered it the other's
 * tracks on new transceivers, beside the ones it sends on. */
static bool pubs_see_each_other(void)
{
    return cli[0].a_decoded >= 25 && cli[0].v_decoded >= 25 && cli[1].a_decoded >= 25 &&
           cli[1].v_decoded >= 25;
}

static void run_whep_two_publishers(unsigned sfu_shards, uint32_t room_max)
{
    engines_start(sfu_shards, room_max, CODEC_VP8);
    struct client *viewer = &cli[2];
    publisher_init(&cli[0]);
    publisher_init(&cli[1]);
    viewer->offers = true;
    viewer->feeds = 2;
    join(&cli[0]);
    join(&cli[1]);
    cr_assert(pump_until(pubs_connected, 10000), "publishers connected");
    join(viewer);
    bool ok = pump_until(viewer_all_feeds, 15000);
    pthread_mutex_lock(&mu);
    cr_assert_eq(viewer->answers_rx, 1);
    cr_assert_eq(viewer->answer_sendonly, 4, "the answer sends on all four offered sections");
    cr_assert(ok, "RTP on every section (audio %d %d, video %d %d)",
              viewer->rx_tr_pkts[viewer->atr], viewer->rx_tr_pkts[2],
              viewer->rx_tr_pkts[viewer->vtr], viewer->rx_tr_pkts[3]);
    for (int i = 0; i < 4; i++)
        for (int k = 0; k < i; k++)
            cr_assert_neq(viewer->rx_tr_ssrc[i], viewer->rx_tr_ssrc[k], "one SSRC per leg");
    cr_assert_eq(viewer->seq_jumps, 0, "sequence numbers continuous per leg");
    pthread_mutex_unlock(&mu);
    cr_assert(pump_until(pubs_see_each_other, 15000),
              "publishers decode each other (audio %d %d, video %d %d)", cli[0].a_decoded,
              cli[1].a_decoded, cli[0].v_decoded, cli[1].v_decoded);
    eng_sfu_stats_t st;
    eng_sfu_stats_get(sfu, &st);
    if (sfu_shards > 1)
        cr_assert_gt(st.xshard_fwd, 0, "the publishers' packets crossed shards");
    leave_all(NCLI, all_gone);
    engines_stop();
}

Test(sfu, whep_viewer_gets_every_publisher, .timeout = 90)
{
    run_whep_two_publishers(1, 0);
}

/* One member per shard: both publishers reach the viewer's shard as proxies. */
Test(sfu, whep_viewer_gets_every_publisher_across_shards, .timeout = 90)
{
    run_whep_two_publishers(3, 1);
}

/* ---- Upstream NACK spacing ---------------------------------------------------------------------
 * A meeting of two publishers (each receives the other, so the SFU sends each SRs), every 5th
 * video packet lost on the way in (test_uplink_loss). Publisher 0 answers no NACK and sends no
 * report of its own: the SFU NACKs each of its losses three times, and the test measures the
 * spacing of those retries as they arrive. First with no report block from it (the fallback,
 * SFU_NACK_WAIT_NS: 50 ms), then with its SRs answered 200 ms late and DLSR 0, which is how a
 * 200 ms path looks (RFC 3550 §6.4.1): the retries must then be that round trip and a quarter
 * apart (eng_nack_wait_ns). With the round trip ignored they stay ~50 ms apart. */

static bool pub0_got_sr(void)
{
    return cli[0].srs_seen >= 1;
}

static bool pub0_echoed(void)
{
    return cli[0].srs_echoed >= 1;
}

static void retries_reset(void)
{
    pthread_mutex_lock(&mu);
    memset(nack_last_ns, 0, sizeof nack_last_ns);
    retry_cnt = retry_sum_ns = retry_min_ns = retry_max_ns = 0;
    pthread_mutex_unlock(&mu);
}

static void pump_ms(int ms)
{
    for (int i = 0; i < ms / 5; i++) {
        pump_once();
        usleep(5000);
    }
}

Test(sfu, upstream_nack_retries_follow_measured_rtt, .timeout = 90)
{
    uplink_loss = 5;
    engines_start(1, 0, CODEC_VP8);
    uplink_loss = 0;
    cli[0].no_repair = true;
    publisher_init(&cli[0]);
    publisher_init(&cli[1]);
    join(&cli[0]);
    join(&cli[1]);
    cr_assert(pump_until(pubs_connected, 10000), "publishers connected");

    /* Nothing measured the path yet: the fallback spacing. */
    retries_reset();
    pump_ms(1500);
    pthread_mutex_lock(&mu);
    uint64_t n0 = retry_cnt, mean0 = n0 ? retry_sum_ns / n0 : 0, min0 = retry_min_ns,
             max0 = retry_max_ns;
    pthread_mutex_unlock(&mu);
    cr_log_info("no RTT: %llu retries, %.1f ms apart (min %.1f, max %.1f)", (unsigned long long)n0,
                (double)mean0 / 1e6, (double)min0 / 1e6, (double)max0 / 1e6);
    cr_assert_geq(n0, 5, "the SFU retried its NACKs");
    cr_assert_lt(mean0, 100 * NET_NS_PER_MS, "fallback spacing: 50 ms (+ a 20 ms tick)");

    /* A 200 ms path: from the SFU's SRs answered 200 ms late. */
    cr_assert(pump_until(pub0_got_sr, 5000), "an SR from the SFU");
    rr_hold_ns = 200 * NET_NS_PER_MS;
    cr_assert(pump_until(pub0_echoed, 5000), "its SR answered");
    pump_ms(100); /* the report block reaches the SFU's pc */
    retries_reset();
    pump_ms(2500);
    pthread_mutex_lock(&mu);
    uint64_t n1 = retry_cnt, mean1 = n1 ? retry_sum_ns / n1 : 0, min1 = retry_min_ns,
             max1 = retry_max_ns;
    int echoed = cli[0].srs_echoed;
    pthread_mutex_unlock(&mu);
    rr_hold_ns = 0;
    cr_log_info("RTT 200 ms: %llu retries, %.1f ms apart (min %.1f, max %.1f), %d SRs answered",
                (unsigned long long)n1, (double)mean1 / 1e6, (double)min1 / 1e6, (double)max1 / 1e6,
                echoed);
    cr_assert_geq(n1, 5, "the SFU retried its NACKs");
    /* 200 ms (+ the answer's own few ms) and a quarter: 250 ms, polled on packets and a 20 ms
     * tick. A retry that came early would be one spaced by less than the round trip. */
    cr_assert_geq(min1, 200 * NET_NS_PER_MS, "no retry sooner than the measured round trip");
    cr_assert(mean1 >= 240 * NET_NS_PER_MS && mean1 < 400 * NET_NS_PER_MS,
              "retries a round trip and a quarter apart (%.1f ms)", (double)mean1 / 1e6);

    leave_all(2, two_gone);
    engines_stop();
}
