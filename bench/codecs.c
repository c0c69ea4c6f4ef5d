/* bench/codecs.c: urtc-bench codecs.
 *
 * Video: VP8 and VP9 realtime encode and decode, frames per second on one thread, at 640x360
 * and 1280x720, on the moving test pattern (pre-rendered, so drawing is not timed). Baseline in
 * the same run: libvpx called directly with the same settings (the ratio ours / direct is the
 * wrapper's overhead, about 1.0 when it costs nothing).
 * Audio: Opus 20 ms mono 32 kbit/s encode and decode, frames per second, against libopus
 * called directly.
 * RTP: VP8 and H.264 packetize (1200-byte payloads) and depacketize (push + pop) in MB/s of
 * frame data, against a plain memcpy of the same bytes in the same chunks.
 * Options: --frames N (video frames per measurement, default 40), --opus N (Opus frames,
 * default 2000), --reps N (packetizer passes, default 300).
 */
#include "bench/bench.h"

#include "codecs/codecs.h"
#include "net/net.h"

#include <opus/opus.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <vpx/vp8cx.h>
#include <vpx/vp8dx.h>
#include <vpx/vpx_decoder.h>
#include <vpx/vpx_encoder.h>

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static volatile uint64_t sink;

/* The settings codecs/vpx.c applies, repeated here against the raw API. */
static int direct_enc_init(vpx_codec_ctx_t *ctx, codec_id_t codec, const codec_video_cfg_t *vc)
{
    vpx_codec_iface_t *iface = codec == CODEC_VP8 ? vpx_codec_vp8_cx() : vpx_codec_vp9_cx();
    vpx_codec_enc_cfg_t c;
    if (vpx_codec_enc_config_default(iface, &c, 0))
        return -1;
    c.g_w = (unsigned)vc->width;
    c.g_h = (unsigned)vc->height;
    c.g_timebase.num = 1;
    c.g_timebase.den = vc->fps;
    c.g_threads = 1;
    c.g_lag_in_frames = 0;
    c.g_error_resilient = VPX_ERROR_RESILIENT_DEFAULT;
    c.g_pass = VPX_RC_ONE_PASS;
    c.rc_end_usage = VPX_CBR;
    c.rc_target_bitrate = (unsigned)vc->bitrate_kbps;
    c.rc_min_quantizer = 2;
    c.rc_max_quantizer = 56;
    c.rc_undershoot_pct = 50;
    c.rc_overshoot_pct = 50;
    c.rc_buf_sz = 1000;
    c.rc_buf_initial_sz = 500;
    c.rc_buf_optimal_sz = 600;
    c.rc_dropframe_thresh = 0;
    c.kf_mode = VPX_KF_DISABLED;
    if (vpx_codec_enc_init(ctx, iface, &c, 0))
        return -1;
    if (codec == CODEC_VP8) {
        vpx_codec_control(ctx, VP8E_SET_CPUUSED, 10);
        vpx_codec_control(ctx, VP8E_SET_NOISE_SENSITIVITY, 0);
        vpx_codec_control(ctx, VP8E_SET_STATIC_THRESHOLD, 1);
    } else {
        vpx_codec_control(ctx, VP8E_SET_CPUUSED, 8);
        vpx_codec_control(ctx, VP9E_SET_AQ_MODE, 3);
        vpx_codec_control(ctx, VP9E_SET_ROW_MT, 0);
        vpx_codec_control(ctx, VP9E_SET_FRAME_PARALLEL_DECODING, 1);
    }
    return 0;
}

typedef struct {
    double enc_fps, enc_direct_fps, dec_fps, dec_direct_fps;
    double kbytes_per_frame;
} video_res_t;

#define FRAME_CAP (1u << 20)

/* Ours and direct run interleaved frame by frame (each with its own encoder state), so that
 * the noise of a shared machine falls on both alike. */
static int bench_video(codec_id_t codec, int w, int h, int frames, video_res_t *r, uint8_t *stream,
                       size_t *frame_off)
{
    enum { DISTINCT = 30 };
    codec_image_t src[DISTINCT];
    for (int i = 0; i < DISTINCT; i++) {
        if (codec_image_alloc(&src[i], w, h) < 0)
            return -1;
        codec_pattern_draw(&src[i], (uint32_t)i);
    }
    codec_video_cfg_t cfg;
    codec_video_cfg_default(&cfg, codec, w, h);
    codec_vpx_enc_t *e = codec_vpx_enc_create(&cfg);
    vpx_codec_ctx_t ctx;
    if (!e || direct_enc_init(&ctx, codec, &cfg) < 0)
        return -1;
    size_t total = 0;
    uint64_t t_ours = 0, t_direct = 0;
    frame_off[0] = 0;
    for (int i = 0; i < frames; i++) {
        const codec_image_t *s = &src[i % DISTINCT];
        for (int k = 0; k < 2; k++) {
            uint64_t t0 = now_ns();
            if ((k ^ i) & 1) {
                codec_frame_t f;
                if (codec_vpx_encode(e, s, (uint32_t)i * 3000, &f) != 1 ||
                    total + f.len > (size_t)frames * FRAME_CAP / 8)
                    return -1;
                t_ours += now_ns() - t0;
                memcpy(stream + total, f.data, f.len);
                total += f.len;
                frame_off[i + 1] = total;
            } else {
                vpx_image_t vi;
                vpx_img_wrap(&vi, VPX_IMG_FMT_I420, (unsigned)w, (unsigned)h, 1, s->plane[0]);
                for (int p = 0; p < 3; p++) {
                    vi.planes[p] = s->plane[p];
                    vi.stride[p] = s->stride[p];
                }
                if (vpx_codec_encode(&ctx, &vi, i, 1, i == 0 ? VPX_EFLAG_FORCE_KF : 0,
                                     VPX_DL_REALTIME))
                    return -1;
                vpx_codec_iter_t it = NULL;
                const vpx_codec_cx_pkt_t *pkt;
                while ((pkt = vpx_codec_get_cx_data(&ctx, &it)))
                    if (pkt->kind == VPX_CODEC_CX_FRAME_PKT)
                        sink += pkt->data.frame.sz;
                t_direct += now_ns() - t0;
            }
        }
    }
    r->enc_fps = frames / ((double)t_ours / 1e9);
    r->enc_direct_fps = frames / ((double)t_direct / 1e9);
    r->kbytes_per_frame = (double)total / frames / 1000;
    codec_vpx_enc_destroy(e);
    vpx_codec_destroy(&ctx);

    /* decode what we encoded, ours and direct interleaved */
    codec_vpx_dec_t *d = codec_vpx_dec_create(codec);
    vpx_codec_dec_cfg_t dc = {.threads = 1};
    if (!d || vpx_codec_dec_init(&ctx, codec == CODEC_VP8 ? vpx_codec_vp8_dx() : vpx_codec_vp9_dx(),
                                 &dc, 0))
        return -1;
    /* Decoding is fast: the stream is decoded DEC_PASSES times (frame 0 is a keyframe, so each
     * pass starts clean) and each frame counts with its fastest pass, which keeps a
     * preempted frame out of the figure. */
    enum { DEC_PASSES = 5 };
    uint64_t *best = malloc(sizeof *best * (size_t)frames * 2);
    if (!best)
        return -1;
    for (int i = 0; i < frames * 2; i++)
        best[i] = UINT64_MAX;
    for (int pass = 0; pass < DEC_PASSES; pass++) {
        for (int i = 0; i < frames; i++) {
            codec_frame_t f = {.codec = codec,
                               .data = stream + frame_off[i],
                               .len = frame_off[i + 1] - frame_off[i]};
            /* alternate which goes first, so neither always finds the caches warm */
            for (int k = 0; k < 2; k++) {
                uint64_t t0 = now_ns();
                if ((k ^ i ^ pass) & 1) {
                    codec_image_t out;
                    if (codec_vpx_decode(d, &f, &out) != 1)
                        return -1;
                    sink += out.plane[0][0];
                    best[2 * i] = NET_MIN(best[2 * i], now_ns() - t0);
                } else {
                    if (vpx_codec_decode(&ctx, f.data, (unsigned)f.len, NULL, 0))
                        return -1;
                    vpx_codec_iter_t it = NULL;
                    vpx_image_t *img = vpx_codec_get_frame(&ctx, &it);
                    if (img)
                        sink += img->planes[0][0];
                    best[2 * i + 1] = NET_MIN(best[2 * i + 1], now_ns() - t0);
                }
            }
        }
    }
    t_ours = t_direct = 0;
    for (int i = 0; i < frames; i++) {
        t_ours += best[2 * i];
        t_direct += best[2 * i + 1];
    }
    free(best);
    r->dec_fps = frames / ((double)t_ours / 1e9);
    r->dec_direct_fps = frames / ((double)t_direct / 1e9);
    codec_vpx_dec_destroy(d);
    vpx_codec_destroy(&ctx);
    for (int i = 0; i < DISTINCT; i++)
        codec_image_free(&src[i]);
    return 0;
}

static int bench_opus(int n, double *enc, double *enc_direct, double *dec, double *dec_direct)
{
    static int16_t pcm[CODEC_OPUS_FRAME_SAMPLES * 50];
    codec_tone_t t;
    codec_tone_init(&t, 440, 0.3, CODEC_OPUS_RATE, 1);
    codec_tone_fill(&t, pcm, CODEC_OPUS_FRAME_SAMPLES * 50);
    codec_opus_cfg_t cfg;
    codec_opus_cfg_default(&cfg);
    codec_opus_enc_t *e = codec_opus_enc_create(&cfg);
    codec_opus_dec_t *d = codec_opus_dec_create(1);
    int err;
    OpusEncoder *oe = opus_encoder_create(CODEC_OPUS_RATE, 1, OPUS_APPLICATION_VOIP, &err);
    OpusDecoder *od = opus_decoder_create(CODEC_OPUS_RATE, 1, &err);
    if (!e || !d || !oe || !od)
        return -1;
    /* libopus directly, the settings codec_opus_enc_create applies */
    opus_encoder_ctl(oe, OPUS_SET_BITRATE(cfg.bitrate_bps));
    opus_encoder_ctl(oe, OPUS_SET_INBAND_FEC(1));
    opus_encoder_ctl(oe, OPUS_SET_DTX(0));
    opus_encoder_ctl(oe, OPUS_SET_PACKET_LOSS_PERC(cfg.expected_loss_pct));
    uint64_t te = 0, ted = 0, td = 0, tdd = 0;
    uint8_t pk[256], pk2[256];
    int16_t out[CODEC_OPUS_FRAME_SAMPLES];
    for (int i = 0; i < n; i++) {
        const int16_t *in = pcm + (i % 50) * CODEC_OPUS_FRAME_SAMPLES;
        int l1 = 0, l2 = 0;
        for (int k = 0; k < 2; k++) {
            uint64_t t0 = now_ns();
            if ((k ^ i) & 1) {
                l1 = codec_opus_encode(e, in, pk, sizeof pk);
                te += now_ns() - t0;
            } else {
                l2 = opus_encode(oe, in, CODEC_OPUS_FRAME_SAMPLES, pk2, sizeof pk2);
                ted += now_ns() - t0;
            }
        }
        if (l1 < 0 || l2 < 0)
            return -1;
        /* decode the same packets with both decoders, alternating which goes first (caches) */
        for (int k = 0; k < 2; k++) {
            uint64_t t3 = now_ns();
            if ((k ^ i) & 1) {
                sink +=
                    (uint64_t)codec_opus_decode(d, pk, (size_t)l1, out, CODEC_OPUS_FRAME_SAMPLES);
                td += now_ns() - t3;
            } else {
                sink += (uint64_t)opus_decode(od, pk, l1, out, CODEC_OPUS_FRAME_SAMPLES, 0);
                tdd += now_ns() - t3;
            }
        }
    }
    *enc = n / ((double)te / 1e9);
    *enc_direct = n / ((double)ted / 1e9);
    *dec = n / ((double)td / 1e9);
    *dec_direct = n / ((double)tdd / 1e9);
    codec_opus_enc_destroy(e);
    codec_opus_dec_destroy(d);
    opus_encoder_destroy(oe);
    opus_decoder_destroy(od);
    return 0;
}

/* Packetize and depacketize @frames (offsets into @stream); the baseline copies the same bytes
 * in the same 1200-byte chunks into packet buffers and back into a frame. The three passes
 * alternate, @reps times each, and each figure is from its fastest pass (a pass is tens of
 * microseconds: the minimum shrugs off preemption on a shared machine). MB/s of frame data. */
static int bench_rtp(codec_id_t codec, const uint8_t *stream, const size_t *off, int frames,
                     int reps, double *pay_mbs, double *depay_mbs, double *copy_mbs)
{
    enum { MTU = 1200 };
    size_t bytes = off[frames] - off[0];
    codec_pay_t p;
    if (codec_pay_init(&p, &(codec_pay_cfg_t){.codec = codec, .max_payload_len = MTU}) < 0)
        return -1;
    size_t maxpk = bytes / (MTU - 40) + (size_t)frames * 4 + 16;
    uint8_t *pk = malloc(maxpk * MTU);
    size_t *pl = malloc(sizeof *pl * maxpk);
    bool *pm = malloc(sizeof *pm * maxpk);
    uint32_t *pts = malloc(sizeof *pts * maxpk);
    uint8_t *frame = malloc(1u << 20);
    codec_depay_t *d = codec_depay_create(&(codec_depay_cfg_t){.codec = codec});
    if (!pk || !pl || !pm || !pts || !frame || !d)
        return -1;
    uint64_t t_pay = UINT64_MAX, t_depay = UINT64_MAX, t_copy = UINT64_MAX;
    uint16_t seq = 0;
    for (int r = 0; r < reps; r++) {
        /* packetize: payloads kept in MTU-sized slots, as packet buffers would be */
        size_t npk = 0;
        uint64_t t0 = now_ns();
        for (int i = 0; i < frames; i++) {
            codec_frame_t f = {.codec = codec,
                               .data = stream + off[i],
                               .len = off[i + 1] - off[i],
                               .rtp_ts = (uint32_t)(r * frames + i) * 3000};
            if (codec_pay_frame(&p, &f) < 0)
                return -1;
            int n;
            bool m;
            while (npk < maxpk && (n = codec_pay_next(&p, pk + npk * MTU, MTU, &m)) > 0) {
                pl[npk] = (size_t)n;
                pm[npk] = m;
                pts[npk++] = f.rtp_ts;
            }
            if (npk == maxpk)
                return -1;
        }
        uint64_t t1 = now_ns();
        for (size_t k = 0; k < npk; k++) {
            if (codec_depay_push(d, pk + k * MTU, pl[k], seq++, pts[k], pm[k]) < 0)
                return -1;
            codec_frame_t f;
            while (codec_depay_pop(d, &f) == 1)
                sink += f.len;
        }
        uint64_t t2 = now_ns();
        for (int i = 0; i < frames; i++) {
            size_t len = off[i + 1] - off[i], k = 0;
            for (size_t c = 0; c < len; c += MTU - 20, k++) {
                size_t n = NET_MIN(MTU - 20, len - c);
                memcpy(pk + k * MTU, stream + off[i] + c, n);
                __asm__ volatile("" : : "r"(pk) : "memory");
                memcpy(frame + c, pk + k * MTU, n);
            }
            __asm__ volatile("" : : "r"(frame) : "memory");
            sink += frame[0];
        }
        uint64_t t3 = now_ns();
        t_pay = NET_MIN(t_pay, t1 - t0);
        t_depay = NET_MIN(t_depay, t2 - t1);
        t_copy = NET_MIN(t_copy, t3 - t2);
    }
    double mb = (double)bytes / 1e6;
    *pay_mbs = mb / ((double)t_pay / 1e9);
    *depay_mbs = mb / ((double)t_depay / 1e9);
    /* the baseline moved the bytes twice (in and out): one direction is comparable with
     * packetize or depacketize alone */
    *copy_mbs = mb / ((double)t_copy / 2 / 1e9);
    codec_depay_destroy(d);
    free(pk);
    free(pl);
    free(pm);
    free(pts);
    free(frame);
    return 0;
}

static int bench_codecs(int argc, char **argv, bool json)
{
    int frames = (int)bench_opt_long(argc, argv, "--frames", 40);
    int opus_n = (int)bench_opt_long(argc, argv, "--opus", 2000);
    int reps = (int)bench_opt_long(argc, argv, "--reps", 300);
    if (frames < 2 || opus_n < 1 || reps < 1) {
        fprintf(stderr, "codecs bench: bad option\n");
        return 2;
    }
    net_log_set_level(NET_LOG_ERROR);
    bench_json_t j;
    bench_json_init(&j);
    uint8_t *stream = malloc((size_t)frames * FRAME_CAP / 8);
    size_t *off = calloc((size_t)frames + 1, sizeof *off);
    uint8_t *vp8_360 = malloc((size_t)frames * FRAME_CAP / 8);
    size_t *vp8_off = calloc((size_t)frames + 1, sizeof *off);
    if (!stream || !off || !vp8_360 || !vp8_off)
        return 1;
    printf("codecs: realtime encode/decode on one thread (%d frames per figure), "
           "ours vs libvpx/libopus called directly with the same settings\n",
           frames);
    const struct {
        codec_id_t c;
        int w, h;
        const char *key;
    } runs[] = {{CODEC_VP8, 640, 360, "vp8_360p"},
                {CODEC_VP8, 1280, 720, "vp8_720p"},
                {CODEC_VP9, 640, 360, "vp9_360p"},
                {CODEC_VP9, 1280, 720, "vp9_720p"}};
    double worst = 1e9;
    for (size_t i = 0; i < NET_ARRAY_LEN(runs); i++) {
        video_res_t r;
        if (bench_video(runs[i].c, runs[i].w, runs[i].h, frames, &r, i == 0 ? vp8_360 : stream,
                        i == 0 ? vp8_off : off) < 0) {
            fprintf(stderr, "codecs bench: %s failed\n", runs[i].key);
            return 1;
        }
        double re = r.enc_fps / r.enc_direct_fps, rd = r.dec_fps / r.dec_direct_fps;
        printf("  %-9s %4dx%-4d encode %7.1f fps (direct %7.1f, ratio %.2f)  decode %7.1f fps "
               "(direct %7.1f, ratio %.2f)  %.1f kB/frame\n",
               runs[i].key, runs[i].w, runs[i].h, r.enc_fps, r.enc_direct_fps, re, r.dec_fps,
               r.dec_direct_fps, rd, r.kbytes_per_frame);
        char k[64];
        snprintf(k, sizeof k, "%s_enc_fps", runs[i].key);
        bench_json_result(&j, k, r.enc_fps);
        snprintf(k, sizeof k, "%s_enc_direct_fps", runs[i].key);
        bench_json_result(&j, k, r.enc_direct_fps);
        snprintf(k, sizeof k, "%s_dec_fps", runs[i].key);
        bench_json_result(&j, k, r.dec_fps);
        snprintf(k, sizeof k, "%s_dec_direct_fps", runs[i].key);
        bench_json_result(&j, k, r.dec_direct_fps);
        snprintf(k, sizeof k, "%s_enc", runs[i].key);
        bench_json_ratio_named(&j, k, re);
        snprintf(k, sizeof k, "%s_dec", runs[i].key);
        bench_json_ratio_named(&j, k, rd);
        worst = NET_MIN(worst, NET_MIN(re, rd));
    }
    double oe, oed, od, odd;
    if (bench_opus(opus_n, &oe, &oed, &od, &odd) < 0) {
        fprintf(stderr, "codecs bench: opus failed\n");
        return 1;
    }
    printf("  opus 20 ms mono 32k: encode %8.0f frames/s (direct %8.0f, ratio %.2f)  decode "
           "%8.0f frames/s (direct %8.0f, ratio %.2f)\n",
           oe, oed, oe / oed, od, odd, od / odd);
    bench_json_result(&j, "opus_enc_fps", oe);
    bench_json_result(&j, "opus_enc_direct_fps", oed);
    bench_json_result(&j, "opus_dec_fps", od);
    bench_json_result(&j, "opus_dec_direct_fps", odd);
    bench_json_ratio_named(&j, "opus_enc", oe / oed);
    bench_json_ratio_named(&j, "opus_dec", od / odd);

    /* RTP: the VP8 360p stream; H.264 made by openh264 at 360p */
    double pay, depay, copy;
    if (bench_rtp(CODEC_VP8, vp8_360, vp8_off, frames, reps, &pay, &depay, &copy) < 0) {
        fprintf(stderr, "codecs bench: vp8 rtp failed\n");
        return 1;
    }
    printf("  rtp vp8  (%.1f kB/frame): packetize %7.0f MB/s  depacketize %7.0f MB/s  memcpy "
           "baseline %7.0f MB/s  ratios %.2f / %.2f\n",
           (double)(vp8_off[frames] - vp8_off[0]) / frames / 1000, pay, depay, copy, pay / copy,
           depay / copy);
    bench_json_result(&j, "vp8_pay_mb_s", pay);
    bench_json_result(&j, "vp8_depay_mb_s", depay);
    bench_json_result(&j, "memcpy_mb_s", copy);
    bench_json_ratio_named(&j, "vp8_pay_vs_memcpy", pay / copy);
    bench_json_ratio_named(&j, "vp8_depay_vs_memcpy", depay / copy);

    codec_video_cfg_t hc;
    codec_video_cfg_default(&hc, CODEC_H264, 640, 360);
    codec_h264_enc_t *he = codec_h264_enc_create(&hc);
    codec_image_t img;
    if (!he || codec_image_alloc(&img, 640, 360) < 0)
        return 1;
    size_t total = 0;
    uint64_t t0 = now_ns();
    for (int i = 0; i < frames; i++) {
        codec_pattern_draw(&img, (uint32_t)i);
        codec_frame_t f;
        if (codec_h264_encode(he, &img, (uint32_t)i * 3000, &f) != 1)
            return 1;
        memcpy(stream + total, f.data, f.len);
        off[i] = total;
        total += f.len;
        off[i + 1] = total;
    }
    double h264_fps = frames / ((double)(now_ns() - t0) / 1e9);
    codec_h264_enc_destroy(he);
    codec_image_free(&img);
    if (bench_rtp(CODEC_H264, stream, off, frames, reps, &pay, &depay, &copy) < 0) {
        fprintf(stderr, "codecs bench: h264 rtp failed\n");
        return 1;
    }
    printf("  rtp h264 (%.1f kB/frame): packetize %7.0f MB/s  depacketize %7.0f MB/s  memcpy "
           "baseline %7.0f MB/s  ratios %.2f / %.2f\n",
           (double)total / frames / 1000, pay, depay, copy, pay / copy, depay / copy);
    printf("  (openh264 640x360 encode incl. drawing: %.1f fps, no direct baseline)\n", h264_fps);
    bench_json_result(&j, "h264_enc_fps_with_draw", h264_fps);
    bench_json_result(&j, "h264_pay_mb_s", pay);
    bench_json_result(&j, "h264_depay_mb_s", depay);
    bench_json_ratio_named(&j, "h264_pay_vs_memcpy", pay / copy);
    bench_json_ratio_named(&j, "h264_depay_vs_memcpy", depay / copy);
    printf("  worst codec wrapper ratio (ours / direct): %.2f\n", worst);
    if (json)
        bench_json_print(&j, "codecs", -1);
    free(stream);
    free(off);
    free(vp8_360);
    free(vp8_off);
    return 0;
}

BENCH_REGISTER(codecs,
               "VP8/VP9 realtime encode+decode fps at 640x360 and 1280x720, Opus frames/s, and "
               "VP8/H.264 RTP packetize/depacketize MB/s, each against a same-run baseline "
               "(libvpx/libopus called directly; memcpy of the same bytes). --frames N (40), "
               "--opus N (2000), --reps N (300).",
               bench_codecs)
