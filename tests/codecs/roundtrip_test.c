/* tests/codecs/roundtrip_test.c: encode -> packetize -> shuffle and drop -> depacketize ->
 * decode, for every codec. Video: every picture shown is whole (its frame number reads back, in
 * order, PSNR above a floor); lost frames trigger keyframe requests as a PLI would. Audio: the
 * tone survives (SNR), with Opus FEC and concealment filling the gaps. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "codecs/codecs.h"

#define W 320
#define H 180
#define MTU 300

static uint32_t rng_state;
static uint32_t rng(void)
{
    rng_state = rng_state * 1103515245u + 12345u;
    return rng_state >> 8;
}

typedef struct {
    uint8_t b[MTU];
    size_t len;
    uint16_t seq;
    uint32_t ts;
    bool marker;
} rtp_t;

/* The network: drops drop_pct of the packets and delivers the rest shuffled, each at most
 * 3 places away from where it was sent. */
typedef struct {
    rtp_t q[256];
    uint32_t key[256];
    int n;
    uint32_t sent;
    int drop_pct;
    int dropped;
} net_sim_t;

static void sim_send(net_sim_t *s, const uint8_t *b, size_t len, uint16_t seq, uint32_t ts, bool m)
{
    uint32_t idx = s->sent++;
    if ((int)(rng() % 100) < s->drop_pct) {
        s->dropped++;
        return;
    }
    cr_assert_lt(s->n, 256);
    rtp_t *r = &s->q[s->n];
    s->key[s->n++] = idx * 4 + rng() % 13;
    memcpy(r->b, b, len);
    r->len = len;
    r->seq = seq;
    r->ts = ts;
    r->marker = m;
}

/* Delivers, in shuffled order, what the network is done holding (everything when @all). */
static int sim_recv(net_sim_t *s, bool all, rtp_t *out)
{
    int n = 0;
    for (;;) {
        int best = -1;
        for (int i = 0; i < s->n; i++)
            if (best < 0 || s->key[i] < s->key[best])
                best = i;
        if (best < 0 || (!all && s->key[best] + 16 > s->sent * 4))
            return n;
        out[n++] = s->q[best];
        s->q[best] = s->q[s->n - 1];
        s->key[best] = s->key[s->n - 1];
        s->n--;
    }
}

typedef struct {
    codec_id_t codec;
    codec_vpx_enc_t *venc;
    codec_vpx_dec_t *vdec;
    codec_h264_enc_t *henc;
    codec_h264_dec_t *hdec;
} vcodec_t;

static int v_encode(vcodec_t *c, const codec_image_t *img, uint32_t ts, codec_frame_t *f)
{
    return c->codec == CODEC_H264 ? codec_h264_encode(c->henc, img, ts, f)
                                  : codec_vpx_encode(c->venc, img, ts, f);
}
static int v_decode(vcodec_t *c, const codec_frame_t *f, codec_image_t *img)
{
    return c->codec == CODEC_H264 ? codec_h264_decode(c->hdec, f, img)
                                  : codec_vpx_decode(c->vdec, f, img);
}
static void v_pli(vcodec_t *c)
{
    if (c->codec == CODEC_H264)
        codec_h264_enc_request_keyframe(c->henc);
    else
        codec_vpx_enc_request_keyframe(c->venc);
}

static void video_round_trip(codec_id_t codec, bool flexible, int layers, int drop_pct,
                             unsigned seed)
{
    rng_state = seed;
    vcodec_t c = {.codec = codec};
    codec_video_cfg_t cfg;
    codec_video_cfg_default(&cfg, codec, W, H);
    cfg.temporal_layers = layers;
    if (codec == CODEC_H264) {
        c.henc = codec_h264_enc_create(&cfg);
        c.hdec = codec_h264_dec_create();
        cr_assert(c.henc && c.hdec);
    } else {
        c.venc = codec_vpx_enc_create(&cfg);
        c.vdec = codec_vpx_dec_create(codec);
        cr_assert(c.venc && c.vdec);
    }
    codec_pay_t pay;
    cr_assert_eq(codec_pay_init(&pay, &(codec_pay_cfg_t){.codec = codec,
                                                         .max_payload_len = MTU,
                                                         .vp9_flexible = flexible,
                                                         .picture_id = 1234}),
                 0);
    codec_depay_t *dp = codec_depay_create(&(codec_depay_cfg_t){.codec = codec});
    cr_assert(dp);
    static net_sim_t net;
    memset(&net, 0, sizeof net);
    net.drop_pct = drop_pct;
    codec_image_t src, ref, out;
    cr_assert_eq(codec_image_alloc(&src, W, H), 0);
    cr_assert_eq(codec_image_alloc(&ref, W, H), 0);
    uint16_t seq = 65000;
    int shown = 0, last_no = -1, plis = 0;
    double min_psnr = 99;
    enum { FRAMES = 40 };
    static rtp_t rx[256];
    for (int i = 0; i <= FRAMES; i++) {
        if (i < FRAMES) {
            codec_pattern_draw(&src, (uint32_t)i);
            codec_frame_t f;
            int r = v_encode(&c, &src, (uint32_t)i * 3000, &f);
            cr_assert_geq(r, 0);
            if (r == 1) {
                cr_assert_eq(codec_pay_frame(&pay, &f), 0);
                uint8_t b[MTU];
                bool m;
                int n;
                while ((n = codec_pay_next(&pay, b, sizeof b, &m)) > 0)
                    sim_send(&net, b, (size_t)n, seq++, f.rtp_ts, m);
                cr_assert_eq(n, 0);
            }
        }
        int n = sim_recv(&net, i == FRAMES, rx);
        for (int k = 0; k <= n; k++) {
            if (k < n)
                (void)codec_depay_push(dp, rx[k].b, rx[k].len, rx[k].seq, rx[k].ts, rx[k].marker);
            else if (i == FRAMES)
                codec_depay_flush(dp);
            else
                break;
            codec_frame_t g;
            while (codec_depay_pop(dp, &g) == 1) {
                int r = v_decode(&c, &g, &out);
                if (r == -EAGAIN || r == -EBADMSG) {
                    v_pli(&c); /* as a receiver's PLI would */
                    plis++;
                    continue;
                }
                cr_assert_geq(r, 0);
                if (r == 0)
                    continue;
                int no = codec_pattern_read(&out);
                cr_assert_eq(no, (int)(g.rtp_ts / 3000), "shown picture is not its frame");
                cr_assert_gt(no, last_no, "pictures out of order");
                last_no = no;
                codec_pattern_draw(&ref, (uint32_t)no);
                double psnr = codec_image_psnr_y(&ref, &out);
                if (psnr < min_psnr)
                    min_psnr = psnr;
                shown++;
            }
        }
    }
    const codec_depay_stats_t *st = codec_depay_stats(dp);
    /* no broken frame ever reached a decoder: losses were caught before decoding */
    uint64_t corrupt =
        codec == CODEC_H264 ? codec_h264_dec_corrupt(c.hdec) : codec_vpx_dec_corrupt(c.vdec);
    cr_expect_eq(corrupt, 0, "%s: %lu corrupt frames decoded", codec_name(codec),
                 (unsigned long)corrupt);
    cr_log_info(
        "%s TL%d drop %d%%: dropped %d pkts, shown %d/%d, incomplete %lu, gaps %lu, plis %d, "
        "min PSNR %.1f",
        codec_name(codec), layers, drop_pct, net.dropped, shown, FRAMES,
        (unsigned long)st->incomplete, (unsigned long)st->gaps, plis, min_psnr);
    /* the first frames are warm-up at low quality: the floor applies to what was shown */
    cr_expect_gt(min_psnr, 30, "%s min PSNR %.1f", codec_name(codec), min_psnr);
    if (drop_pct == 0) {
        cr_expect_eq(shown, FRAMES);
        cr_expect_eq(st->gaps + st->incomplete + st->late, 0);
    } else {
        cr_expect_gt(net.dropped, 0);
        cr_expect_gt(st->incomplete + st->gaps, 0);
        cr_expect_gt(shown, FRAMES / 3, "shown only %d", shown);
        cr_expect_lt(shown, FRAMES);
    }
    codec_image_free(&src);
    codec_image_free(&ref);
    codec_depay_destroy(dp);
    codec_vpx_enc_destroy(c.venc);
    codec_vpx_dec_destroy(c.vdec);
    codec_h264_enc_destroy(c.henc);
    codec_h264_dec_destroy(c.hdec);
}

Test(codecs_roundtrip, vp8_clean)
{
    video_round_trip(CODEC_VP8, false, 1, 0, 1);
}
Test(codecs_roundtrip, vp8_loss_and_reorder)
{
    video_round_trip(CODEC_VP8, false, 1, 4, 2);
}
Test(codecs_roundtrip, vp9_loss_and_reorder)
{
    video_round_trip(CODEC_VP9, false, 1, 4, 3);
}
Test(codecs_roundtrip, vp9_flexible_loss_and_reorder)
{
    video_round_trip(CODEC_VP9, true, 1, 4, 4);
}
/* Temporal layers: a loss confined to upper layers does not stop the base layer (BASE_OK), and
 * still nothing broken is decoded. */
Test(codecs_roundtrip, vp8_temporal_layers_loss)
{
    video_round_trip(CODEC_VP8, false, 3, 6, 10);
}
Test(codecs_roundtrip, vp9_temporal_layers_loss)
{
    video_round_trip(CODEC_VP9, false, 3, 6, 11);
}
Test(codecs_roundtrip, h264_clean)
{
    video_round_trip(CODEC_H264, false, 1, 0, 5);
}
Test(codecs_roundtrip, h264_loss_and_reorder)
{
    video_round_trip(CODEC_H264, false, 1, 4, 6);
}

/* Audio: 2 s of a 440 Hz tone, 5 % loss, reordering. Opus recovers a lost frame from the next
 * packet's FEC, G.711 plays silence in its place; the tone's SNR is measured over the
 * received frames (G.711) or the whole output (Opus). */
static void audio_round_trip(codec_id_t codec, unsigned seed)
{
    rng_state = seed;
    int rate = codec == CODEC_OPUS ? CODEC_OPUS_RATE : 8000;
    int fs = rate / 50; /* 20 ms */
    codec_opus_enc_t *oe = NULL;
    codec_opus_dec_t *od = NULL;
    if (codec == CODEC_OPUS) {
        codec_opus_cfg_t cfg;
        codec_opus_cfg_default(&cfg);
        cfg.expected_loss_pct = 10;
        oe = codec_opus_enc_create(&cfg);
        od = codec_opus_dec_create(1);
        cr_assert(oe && od);
    }
    codec_pay_t pay;
    cr_assert_eq(codec_pay_init(&pay, &(codec_pay_cfg_t){.codec = codec, .max_payload_len = MTU}),
                 0);
    codec_depay_t *dp = codec_depay_create(&(codec_depay_cfg_t){.codec = codec});
    cr_assert(dp);
    static net_sim_t net;
    memset(&net, 0, sizeof net);
    net.drop_pct = 5;
    codec_tone_t tone;
    codec_tone_init(&tone, 440, 0.5, rate, 1);
    enum { FRAMES = 100 };
    static int16_t out[FRAMES * 960 + 960];
    static double snr_sum;
    snr_sum = 0;
    size_t got = 0;
    int snr_cnt = 0, fec_used = 0;
    uint32_t next_ts = 0;
    static rtp_t rx[256];
    uint16_t seq = 100;
    for (int i = 0; i <= FRAMES; i++) {
        if (i < FRAMES) {
            int16_t pcm[960];
            uint8_t enc[MTU];
            codec_tone_fill(&tone, pcm, (size_t)fs);
            int n = codec == CODEC_OPUS ? codec_opus_encode(oe, pcm, enc, sizeof enc)
                                        : codec_g711_encode(codec, pcm, (size_t)fs, enc);
            cr_assert_gt(n, 0);
            codec_frame_t f = {
                .codec = codec, .data = enc, .len = (size_t)n, .rtp_ts = (uint32_t)(i * fs)};
            cr_assert_eq(codec_pay_frame(&pay, &f), 0);
            uint8_t b[MTU];
            bool m;
            n = codec_pay_next(&pay, b, sizeof b, &m);
            cr_assert_gt(n, 0);
            sim_send(&net, b, (size_t)n, seq++, f.rtp_ts, m);
        }
        int n = sim_recv(&net, i == FRAMES, rx);
        for (int k = 0; k <= n; k++) {
            if (k < n)
                (void)codec_depay_push(dp, rx[k].b, rx[k].len, rx[k].seq, rx[k].ts, rx[k].marker);
            else if (i == FRAMES)
                codec_depay_flush(dp);
            else
                break;
            codec_frame_t g;
            while (codec_depay_pop(dp, &g) == 1) {
                cr_assert_geq(g.rtp_ts, next_ts, "audio out of order");
                /* frames missing before this one */
                while (next_ts < g.rtp_ts) {
                    int r;
                    if (codec == CODEC_OPUS && next_ts + (uint32_t)fs == g.rtp_ts) {
                        r = codec_opus_decode_fec(od, g.data, g.len, out + got, (size_t)fs);
                        fec_used++;
                    } else if (codec == CODEC_OPUS) {
                        r = codec_opus_decode(od, NULL, 0, out + got, (size_t)fs);
                    } else {
                        memset(out + got, 0, (size_t)fs * sizeof out[0]);
                        r = fs;
                    }
                    cr_assert_eq(r, fs);
                    got += (size_t)fs;
                    next_ts += (uint32_t)fs;
                }
                int r = codec == CODEC_OPUS
                            ? codec_opus_decode(od, g.data, g.len, out + got, (size_t)fs)
                            : codec_g711_decode(codec, g.data, g.len, out + got);
                cr_assert_eq(r, fs);
                if (codec != CODEC_OPUS) {
                    snr_sum += codec_tone_snr_db(out + got, (size_t)fs, 1, 440, rate);
                    snr_cnt++;
                }
                got += (size_t)fs;
                next_ts += (uint32_t)fs;
            }
        }
    }
    double snr = codec == CODEC_OPUS
                     ? codec_tone_snr_db(out + 5 * fs, got - 5 * (size_t)fs, 1, 440, rate)
                     : snr_sum / snr_cnt;
    cr_log_info("%s: dropped %d, FEC used %d, SNR %.1f dB", codec_name(codec), net.dropped,
                fec_used, snr);
    cr_expect_gt(net.dropped, 0);
    cr_expect_gt(snr, codec == CODEC_OPUS ? 15 : 30, "%s SNR %.1f", codec_name(codec), snr);
    cr_expect_geq(got, (size_t)(FRAMES - 3) * (size_t)fs); /* the timeline has no holes */
    codec_depay_destroy(dp);
    codec_opus_enc_destroy(oe);
    codec_opus_dec_destroy(od);
}

Test(codecs_roundtrip, opus_tone_with_loss)
{
    audio_round_trip(CODEC_OPUS, 7);
}
Test(codecs_roundtrip, pcmu_tone_with_loss)
{
    audio_round_trip(CODEC_PCMU, 8);
}
Test(codecs_roundtrip, pcma_tone_with_loss)
{
    audio_round_trip(CODEC_PCMA, 9);
}
