/* engine/media_api.c: the public media helpers of urtc/urtc.h (a synthetic source that encodes
 * the tone or the test pattern, an encoder for the application's raw audio and pictures, and a
 * decoder), thin wrappers over codecs/ so that programs on the public API need not reach into
 * the tree. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "codecs/codecs.h"
#include "urtc/urtc.h"

#define TONE_HZ 440.0

struct urtc_encoder {
    codec_id_t codec;
    int channels, fps;
    uint32_t n; /* frames encoded */
    codec_opus_enc_t *aenc;
    codec_vpx_enc_t *venc;
    int width, height;
    uint8_t opus[CODEC_OPUS_MAX_PACKET];
};

urtc_encoder_t *urtc_encoder_create(const char *codec, const urtc_encoder_config_t *cfg)
{
    codec_id_t c = codec ? codec_from_name(codec) : CODEC_NONE;
    urtc_encoder_config_t def = {0};
    if (!cfg)
        cfg = &def;
    if (c != CODEC_OPUS && c != CODEC_VP8 && c != CODEC_VP9)
        return NULL;
    urtc_encoder_t *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->codec = c;
    if (c == CODEC_OPUS) {
        codec_opus_cfg_t ocfg;
        codec_opus_cfg_default(&ocfg);
        e->channels = cfg->channels ? cfg->channels : 1;
        ocfg.channels = e->channels;
        if (cfg->bitrate_kbps)
            ocfg.bitrate_bps = cfg->bitrate_kbps * 1000;
        if ((e->channels != 1 && e->channels != 2) || !(e->aenc = codec_opus_enc_create(&ocfg)))
            goto fail;
        return e;
    }
    e->fps = cfg->fps ? cfg->fps : 30;
    e->width = cfg->width;
    e->height = cfg->height;
    if (e->width < 16 || e->height < 16 || e->width > 4096 || e->height > 4096 || e->fps < 1 ||
        e->fps > 120)
        goto fail;
    codec_video_cfg_t vcfg;
    codec_video_cfg_default(&vcfg, c, e->width, e->height);
    vcfg.fps = e->fps;
    vcfg.bitrate_kbps = cfg->bitrate_kbps                  ? cfg->bitrate_kbps
                        : e->width * e->height / 200 > 100 ? e->width * e->height / 200
                                                           : 100;
    if (!(e->venc = codec_vpx_enc_create(&vcfg)))
        goto fail;
    return e;
fail:
    urtc_encoder_destroy(e);
    return NULL;
}

void urtc_encoder_destroy(urtc_encoder_t *e)
{
    if (!e)
        return;
    if (e->aenc)
        codec_opus_enc_destroy(e->aenc);
    if (e->venc)
        codec_vpx_enc_destroy(e->venc);
    free(e);
}

int urtc_encoder_encode_audio(urtc_encoder_t *e, const int16_t *pcm, urtc_frame_t *frame)
{
    if (!e || !e->aenc || !pcm || !frame)
        return -EINVAL;
    int len = codec_opus_encode(e->aenc, pcm, e->opus, sizeof e->opus);
    if (len < 0)
        return len;
    *frame = (urtc_frame_t){.codec = "opus",
                            .data = e->opus,
                            .len = (size_t)len,
                            .timestamp = e->n++ * CODEC_OPUS_FRAME_SAMPLES};
    return 1;
}

int urtc_encoder_encode_video(urtc_encoder_t *e, const uint8_t *y, const uint8_t *u,
                              const uint8_t *v, int stride_y, int stride_uv, urtc_frame_t *frame)
{
    if (!e || !e->venc || !y || !u || !v || !frame || stride_y < e->width ||
        stride_uv < (e->width + 1) / 2)
        return -EINVAL;
    /* The encoder only reads the planes. */
    codec_image_t img = {.width = e->width,
                         .height = e->height,
                         .plane = {(uint8_t *)y, (uint8_t *)u, (uint8_t *)v},
                         .stride = {stride_y, stride_uv, stride_uv}};
    codec_frame_t cf;
    uint32_t n = e->n++;
    int ret =
        codec_vpx_encode(e->venc, &img, (uint32_t)((uint64_t)n * 90000 / (unsigned)e->fps), &cf);
    if (ret <= 0)
        return ret;
    *frame = (urtc_frame_t){.codec = codec_name(e->codec),
                            .data = cf.data,
                            .len = cf.len,
                            .timestamp = cf.rtp_ts,
                            .keyframe = cf.flags & CODEC_FRAME_KEY};
    return 1;
}

void urtc_encoder_request_keyframe(urtc_encoder_t *e)
{
    if (e && e->venc)
        codec_vpx_enc_request_keyframe(e->venc);
}

/* The synthetic source: an urtc_encoder fed urtc's tone or moving test pattern. */
struct urtc_test_source {
    urtc_encoder_t *enc;
    codec_tone_t tone;
    codec_image_t img;
    uint32_t n; /* pictures drawn */
};

urtc_test_source_t *urtc_test_source_create(const char *codec, int width, int height, int fps)
{
    codec_id_t c = codec ? codec_from_name(codec) : CODEC_NONE;
    if (c != CODEC_OPUS && c != CODEC_VP8 && c != CODEC_VP9)
        return NULL;
    if (c != CODEC_OPUS && (width < 64 || height < 64))
        return NULL;
    urtc_test_source_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    urtc_encoder_config_t cfg = {.width = width, .height = height, .fps = fps};
    if (!(s->enc = urtc_encoder_create(codec, &cfg)))
        goto fail;
    if (c == CODEC_OPUS)
        codec_tone_init(&s->tone, TONE_HZ, 0.25, CODEC_OPUS_RATE, 1);
    else if (codec_image_alloc(&s->img, width, height) < 0)
        goto fail;
    return s;
fail:
    urtc_test_source_destroy(s);
    return NULL;
}

void urtc_test_source_destroy(urtc_test_source_t *s)
{
    if (!s)
        return;
    urtc_encoder_destroy(s->enc);
    if (s->img.plane[0])
        codec_image_free(&s->img);
    free(s);
}

int urtc_test_source_next(urtc_test_source_t *s, urtc_frame_t *frame)
{
    if (!s || !frame)
        return -EINVAL;
    if (!s->img.plane[0]) {
        int16_t pcm[CODEC_OPUS_FRAME_SAMPLES];
        codec_tone_fill(&s->tone, pcm, CODEC_OPUS_FRAME_SAMPLES);
        return urtc_encoder_encode_audio(s->enc, pcm, frame);
    }
    codec_pattern_draw(&s->img, s->n++);
    return urtc_encoder_encode_video(s->enc, s->img.plane[0], s->img.plane[1], s->img.plane[2],
                                     s->img.stride[0], s->img.stride[1], frame);
}

void urtc_test_source_request_keyframe(urtc_test_source_t *s)
{
    if (s)
        urtc_encoder_request_keyframe(s->enc);
}

unsigned urtc_test_source_period_us(const urtc_test_source_t *s)
{
    if (!s)
        return 0;
    return s->img.plane[0] ? 1000000u / (unsigned)s->enc->fps : 20000;
}

struct urtc_decoder {
    codec_id_t codec;
    codec_opus_dec_t *adec;
    codec_vpx_dec_t *vdec;
};

urtc_decoder_t *urtc_decoder_create(const char *codec)
{
    codec_id_t c = codec ? codec_from_name(codec) : CODEC_NONE;
    if (c != CODEC_OPUS && c != CODEC_VP8 && c != CODEC_VP9)
        return NULL;
    urtc_decoder_t *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->codec = c;
    if (c == CODEC_OPUS)
        d->adec = codec_opus_dec_create(1);
    else
        d->vdec = codec_vpx_dec_create(c);
    if (!d->adec && !d->vdec) {
        free(d);
        return NULL;
    }
    return d;
}

void urtc_decoder_destroy(urtc_decoder_t *d)
{
    if (!d)
        return;
    if (d->adec)
        codec_opus_dec_destroy(d->adec);
    if (d->vdec)
        codec_vpx_dec_destroy(d->vdec);
    free(d);
}

int urtc_decoder_decode(urtc_decoder_t *d, const urtc_frame_t *frame, urtc_decoded_t *out)
{
    if (!d || !frame || !out || !frame->codec || codec_from_name(frame->codec) != d->codec)
        return -EINVAL;
    *out = (urtc_decoded_t){.pattern_frame = -1};
    if (d->adec) {
        int16_t pcm[CODEC_OPUS_MAX_FRAME_SAMPLES];
        int n =
            codec_opus_decode(d->adec, frame->data, frame->len, pcm, CODEC_OPUS_MAX_FRAME_SAMPLES);
        if (n < 0)
            return n;
        out->samples = n;
        out->tone_db = codec_tone_snr_db(pcm, (size_t)n, 1, TONE_HZ, CODEC_OPUS_RATE);
        return n > 0;
    }
    codec_frame_t cf = {.codec = d->codec,
                        .data = frame->data,
                        .len = frame->len,
                        .rtp_ts = frame->timestamp,
                        .flags = (frame->keyframe ? CODEC_FRAME_KEY : 0) |
                                 (frame->after_gap ? CODEC_FRAME_GAP : 0),
                        .tl0picidx = -1,
                        .picture_id = -1};
    codec_image_t img;
    int ret = codec_vpx_decode(d->vdec, &cf, &img);
    if (ret != 1)
        return ret;
    out->width = img.width;
    out->height = img.height;
    int fn = codec_pattern_read(&img);
    out->pattern_frame = fn >= 0 ? fn : -1;
    return 1;
}
