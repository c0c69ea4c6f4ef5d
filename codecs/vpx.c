/* codecs/vpx.c: the libvpx wrapper (the only file that includes vpx headers).
 *
 * Encoder: one-pass CBR, no lag, error resilient, realtime deadline: what a WebRTC sender
 * runs. Temporal layers are a fixed reference pattern driven by per-frame flags:
 *   2 layers (period 2): TL0 refs/updates LAST; TL1 refs LAST, updates nothing.
 *   3 layers (period 4: TL0 TL2 TL1 TL2): TL1 refs LAST and updates GOLDEN; TL2 refs LAST and
 *   GOLDEN and updates nothing.
 * So every frame above TL0 can be dropped (by an SFU or the network) without breaking TL0, and
 * TL1 frames are switch-up points. Rate control is not per layer (no ts_* config): the layers
 * share one CBR budget.
 *
 * Decoder: refuses to show anything it cannot decode cleanly (see codecs.h).
 */
#include "codecs/codecs.h"

#include <stdlib.h>

#include <vpx/vp8cx.h>
#include <vpx/vp8dx.h>
#include <vpx/vpx_decoder.h>
#include <vpx/vpx_encoder.h>

enum { REF_LAST = 0, REF_GOLD = 1, REF_CNT = 2 };

struct codec_vpx_enc {
    vpx_codec_ctx_t ctx;
    bool ctx_ok;
    codec_video_cfg_t cfg;
    int64_t pts;
    unsigned pattern_idx;
    bool force_key;
    uint64_t frame_no;
    int64_t upd_frame[REF_CNT]; /* frame number that last updated each buffer */
    uint8_t *buf;
    size_t buf_cap;
};

struct codec_vpx_dec {
    vpx_codec_ctx_t ctx;
    bool ctx_ok;
    codec_id_t codec;
    bool need_key;
    uint64_t refused, corrupt;
};

void codec_video_cfg_default(codec_video_cfg_t *cfg, codec_id_t codec, int width, int height)
{
    /* about 0.1 bit per pixel at 30 fps: 300 kbit/s at 320x180 */
    int kbps = (int)((int64_t)width * height * 30 / 10000 / 2);
    *cfg = (codec_video_cfg_t){
        .codec = codec,
        .width = width,
        .height = height,
        .fps = 30,
        .bitrate_kbps = kbps < 100 ? 100 : kbps,
        .temporal_layers = 1,
        .speed = 0,
        .threads = 1,
        .keyframe_max_dist = 0,
    };
}

static vpx_codec_iface_t *enc_iface(codec_id_t c)
{
    return c == CODEC_VP8 ? vpx_codec_vp8_cx() : c == CODEC_VP9 ? vpx_codec_vp9_cx() : NULL;
}

static vpx_codec_iface_t *dec_iface(codec_id_t c)
{
    return c == CODEC_VP8 ? vpx_codec_vp8_dx() : c == CODEC_VP9 ? vpx_codec_vp9_dx() : NULL;
}

codec_vpx_enc_t *codec_vpx_enc_create(const codec_video_cfg_t *cfg)
{
    vpx_codec_iface_t *iface = enc_iface(cfg->codec);
    if (!iface || cfg->width <= 0 || cfg->height <= 0 || cfg->width > 8192 || cfg->height > 8192 ||
        cfg->bitrate_kbps <= 0 || cfg->temporal_layers < 1 || cfg->temporal_layers > 3) {
        LOG_ERROR("vpx: bad encoder config");
        return NULL;
    }
    codec_vpx_enc_t *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->cfg = *cfg;
    if (e->cfg.fps <= 0)
        e->cfg.fps = 30;
    e->force_key = true;
    e->buf_cap = (size_t)cfg->width * (size_t)cfg->height * 3 / 2 + 65536;
    e->buf = malloc(e->buf_cap);
    if (!e->buf)
        goto fail;

    vpx_codec_enc_cfg_t c;
    if (vpx_codec_enc_config_default(iface, &c, 0) != VPX_CODEC_OK)
        goto fail;
    c.g_w = (unsigned)cfg->width;
    c.g_h = (unsigned)cfg->height;
    c.g_timebase.num = 1;
    c.g_timebase.den = e->cfg.fps;
    c.g_threads = cfg->threads > 1 ? (unsigned)cfg->threads : 1;
    c.g_lag_in_frames = 0; /* realtime: a frame out for every frame in */
    c.g_error_resilient = VPX_ERROR_RESILIENT_DEFAULT;
    c.g_pass = VPX_RC_ONE_PASS;
    c.rc_end_usage = VPX_CBR;
    c.rc_target_bitrate = (unsigned)cfg->bitrate_kbps;
    c.rc_min_quantizer = 2;
    c.rc_max_quantizer = 56;
    c.rc_undershoot_pct = 50;
    c.rc_overshoot_pct = 50;
    c.rc_buf_sz = 1000;
    c.rc_buf_initial_sz = 500;
    c.rc_buf_optimal_sz = 600;
    c.rc_dropframe_thresh = 0;
    if (cfg->keyframe_max_dist > 0) {
        c.kf_mode = VPX_KF_AUTO;
        c.kf_min_dist = 0;
        c.kf_max_dist = (unsigned)cfg->keyframe_max_dist;
    } else {
        c.kf_mode = VPX_KF_DISABLED; /* keyframes on request only */
    }
    vpx_codec_err_t err = vpx_codec_enc_init(&e->ctx, iface, &c, 0);
    if (err != VPX_CODEC_OK) {
        LOG_ERROR("vpx_codec_enc_init: %s", vpx_codec_err_to_string(err));
        goto fail;
    }
    e->ctx_ok = true;
    int speed = cfg->speed;
    if (cfg->codec == CODEC_VP8) {
        /* VP8 realtime: cpu-used 0..16, higher is faster; WebRTC runs about -6..-12 */
        if (speed == 0)
            speed = 10;
        if (vpx_codec_control(&e->ctx, VP8E_SET_CPUUSED, speed) != VPX_CODEC_OK ||
            vpx_codec_control(&e->ctx, VP8E_SET_NOISE_SENSITIVITY, 0) != VPX_CODEC_OK ||
            vpx_codec_control(&e->ctx, VP8E_SET_STATIC_THRESHOLD, 1) != VPX_CODEC_OK)
            goto fail_ctl;
    } else {
        /* VP9 realtime speeds are 5..9 in libvpx 1.12 */
        if (speed == 0)
            speed = 8;
        if (vpx_codec_control(&e->ctx, VP8E_SET_CPUUSED, speed) != VPX_CODEC_OK ||
            vpx_codec_control(&e->ctx, VP9E_SET_AQ_MODE, 3) != VPX_CODEC_OK ||
            vpx_codec_control(&e->ctx, VP9E_SET_ROW_MT, 0) != VPX_CODEC_OK ||
            vpx_codec_control(&e->ctx, VP9E_SET_FRAME_PARALLEL_DECODING, 1) != VPX_CODEC_OK)
            goto fail_ctl;
    }
    return e;
fail_ctl:
    LOG_ERROR("vpx: encoder control failed: %s", vpx_codec_error(&e->ctx));
fail:
    codec_vpx_enc_destroy(e);
    return NULL;
}

void codec_vpx_enc_destroy(codec_vpx_enc_t *e)
{
    if (!e)
        return;
    if (e->ctx_ok)
        vpx_codec_destroy(&e->ctx);
    free(e->buf);
    free(e);
}

void codec_vpx_enc_request_keyframe(codec_vpx_enc_t *e)
{
    e->force_key = true;
}

int codec_vpx_enc_set_bitrate(codec_vpx_enc_t *e, int bitrate_kbps)
{
    if (bitrate_kbps <= 0)
        return -EINVAL;
    vpx_codec_enc_cfg_t c = *e->ctx.config.enc;
    c.rc_target_bitrate = (unsigned)bitrate_kbps;
    if (vpx_codec_enc_config_set(&e->ctx, &c) != VPX_CODEC_OK)
        return -EINVAL;
    e->cfg.bitrate_kbps = bitrate_kbps;
    return 0;
}

/* The layer of pattern position @idx, and the buffers it references and updates. */
static void layer_of(int layers, unsigned idx, uint8_t *tid, unsigned *refs, unsigned *upds)
{
    static const uint8_t tl3[4] = {0, 2, 1, 2};
    *tid = layers == 2 ? (uint8_t)(idx & 1) : layers == 3 ? tl3[idx & 3] : 0;
    switch (*tid) {
    case 0:
        *refs = 1u << REF_LAST;
        *upds = 1u << REF_LAST;
        break;
    case 1:
        *refs = 1u << REF_LAST;
        *upds = layers == 3 ? 1u << REF_GOLD : 0;
        break;
    default:
        *refs = 1u << REF_LAST | 1u << REF_GOLD;
        *upds = 0;
        break;
    }
}

int codec_vpx_encode(codec_vpx_enc_t *e, const codec_image_t *img, uint32_t rtp_ts,
                     codec_frame_t *out)
{
    if (img->width != e->cfg.width || img->height != e->cfg.height)
        return -EINVAL;
    vpx_image_t vi;
    if (!vpx_img_wrap(&vi, VPX_IMG_FMT_I420, (unsigned)img->width, (unsigned)img->height, 1,
                      img->plane[0]))
        return -EINVAL;
    for (int i = 0; i < 3; i++) {
        vi.planes[i] = img->plane[i];
        vi.stride[i] = img->stride[i];
    }
    bool key = e->force_key;
    if (key)
        e->pattern_idx = 0; /* a keyframe restarts the layer pattern on TL0 */
    uint8_t tid = 0;
    unsigned refs = 1u << REF_LAST, upds = 1u << REF_LAST | 1u << REF_GOLD;
    vpx_enc_frame_flags_t flags = 0;
    if (key) {
        flags = VPX_EFLAG_FORCE_KF;
    } else if (e->cfg.temporal_layers > 1) {
        layer_of(e->cfg.temporal_layers, e->pattern_idx, &tid, &refs, &upds);
        flags |= VP8_EFLAG_NO_REF_ARF | VP8_EFLAG_NO_UPD_ARF;
        if (!(refs & (1u << REF_GOLD)))
            flags |= VP8_EFLAG_NO_REF_GF;
        if (!(upds & (1u << REF_GOLD)))
            flags |= VP8_EFLAG_NO_UPD_GF;
        if (!(upds & (1u << REF_LAST)))
            flags |= VP8_EFLAG_NO_UPD_LAST;
    }
    vpx_codec_err_t err = vpx_codec_encode(&e->ctx, &vi, e->pts, 1, flags, VPX_DL_REALTIME);
    e->pts++;
    if (err != VPX_CODEC_OK) {
        LOG_RATELIMIT(1000, "vpx_codec_encode: %s", vpx_codec_error(&e->ctx));
        return -EIO;
    }
    size_t len = 0;
    bool is_key = false;
    vpx_codec_iter_t it = NULL;
    const vpx_codec_cx_pkt_t *pkt;
    while ((pkt = vpx_codec_get_cx_data(&e->ctx, &it))) {
        if (pkt->kind != VPX_CODEC_CX_FRAME_PKT)
            continue;
        if (pkt->data.frame.sz > e->buf_cap - len)
            return -EMSGSIZE;
        memcpy(e->buf + len, pkt->data.frame.buf, pkt->data.frame.sz);
        len += pkt->data.frame.sz;
        is_key |= pkt->data.frame.flags & VPX_FRAME_IS_KEY;
    }
    if (len == 0)
        return 0; /* dropped by rate control */
    e->force_key = false;
    uint64_t fn = e->frame_no++;
    *out = (codec_frame_t){
        .codec = e->cfg.codec,
        .data = e->buf,
        .len = len,
        .rtp_ts = rtp_ts,
        .tid = is_key ? 0 : tid,
        .tl0picidx = -1,
        .picture_id = -1,
        .width = is_key ? (uint16_t)e->cfg.width : 0,
        .height = is_key ? (uint16_t)e->cfg.height : 0,
    };
    if (is_key) {
        out->flags |= CODEC_FRAME_KEY;
        e->upd_frame[REF_LAST] = e->upd_frame[REF_GOLD] = (int64_t)fn;
    } else {
        /* references as distances in frames (= picture ids): VP9 flexible mode P_DIFFs */
        for (int r = 0; r < REF_CNT; r++)
            if ((refs & (1u << r)) && out->pdiff_cnt < 3) {
                int64_t dist = (int64_t)fn - e->upd_frame[r];
                bool dup = false;
                for (int k = 0; k < out->pdiff_cnt; k++)
                    dup |= out->pdiff[k] == dist;
                if (!dup && dist > 0 && dist < 128)
                    out->pdiff[out->pdiff_cnt++] = (uint8_t)dist;
            }
        for (int r = 0; r < REF_CNT; r++)
            if (upds & (1u << r))
                e->upd_frame[r] = (int64_t)fn;
        if (!upds)
            out->flags |= CODEC_FRAME_NONREF;
        if (tid > 0 && refs == 1u << REF_LAST)
            out->flags |= CODEC_FRAME_SYNC; /* depends on TL0 only */
    }
    if (e->cfg.temporal_layers > 1) {
        out->flags |= CODEC_FRAME_LAYERED;
        e->pattern_idx++;
    }
    return 1;
}

codec_vpx_dec_t *codec_vpx_dec_create(codec_id_t codec)
{
    vpx_codec_iface_t *iface = dec_iface(codec);
    if (!iface) {
        LOG_ERROR("vpx: no decoder for %s", codec_name(codec));
        return NULL;
    }
    codec_vpx_dec_t *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->codec = codec;
    d->need_key = true;
    vpx_codec_dec_cfg_t c = {.threads = 1};
    vpx_codec_err_t err = vpx_codec_dec_init(&d->ctx, iface, &c, 0);
    if (err != VPX_CODEC_OK) {
        LOG_ERROR("vpx_codec_dec_init: %s", vpx_codec_err_to_string(err));
        free(d);
        return NULL;
    }
    d->ctx_ok = true;
    return d;
}

void codec_vpx_dec_destroy(codec_vpx_dec_t *d)
{
    if (!d)
        return;
    if (d->ctx_ok)
        vpx_codec_destroy(&d->ctx);
    free(d);
}

uint64_t codec_vpx_dec_refused(const codec_vpx_dec_t *d)
{
    return d->refused;
}

uint64_t codec_vpx_dec_corrupt(const codec_vpx_dec_t *d)
{
    return d->corrupt;
}

int codec_vpx_decode(codec_vpx_dec_t *d, const codec_frame_t *f, codec_image_t *img)
{
    if (!f->data || f->len == 0 || f->len > UINT32_MAX)
        return -EINVAL;
    /* Whether it is a keyframe comes from the bitstream itself, not the transport's word. */
    vpx_codec_stream_info_t si = {.sz = sizeof si};
    bool key = vpx_codec_peek_stream_info(dec_iface(d->codec), f->data, (unsigned)f->len, &si) ==
                   VPX_CODEC_OK &&
               si.is_kf;
    if ((f->flags & CODEC_FRAME_GAP) && !(f->flags & CODEC_FRAME_BASE_OK))
        d->need_key = true;
    if (d->need_key && !key) {
        d->refused++;
        return -EAGAIN;
    }
    if (vpx_codec_decode(&d->ctx, f->data, (unsigned)f->len, NULL, 0) != VPX_CODEC_OK) {
        LOG_DEBUG("vpx_codec_decode: %s", vpx_codec_error(&d->ctx));
        goto corrupt;
    }
    int corrupted = 0;
    if (vpx_codec_control(&d->ctx, VP8D_GET_FRAME_CORRUPTED, &corrupted) == VPX_CODEC_OK &&
        corrupted)
        goto corrupt;
    d->need_key = false;
    vpx_codec_iter_t it = NULL;
    vpx_image_t *vi = vpx_codec_get_frame(&d->ctx, &it);
    if (!vi)
        return 0;
    if (vi->fmt != VPX_IMG_FMT_I420)
        goto corrupt; /* we only negotiate profile 0 (4:2:0 8-bit) */
    *img = (codec_image_t){.width = (int)vi->d_w, .height = (int)vi->d_h};
    for (int i = 0; i < 3; i++) {
        img->plane[i] = vi->planes[i];
        img->stride[i] = vi->stride[i];
    }
    return 1;
corrupt:
    d->corrupt++;
    d->need_key = true;
    return -EBADMSG;
}
