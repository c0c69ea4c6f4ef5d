/* tests/codecs/vpx_test.c: the libvpx wrapper: quality, keyframe on request, temporal layers,
 * and a decoder that never shows a broken picture. Small pictures so it runs in a second. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "codecs/codecs.h"

#define W 320
#define H 180

static void enc_dec(codec_id_t codec)
{
    codec_video_cfg_t cfg;
    codec_video_cfg_default(&cfg, codec, W, H);
    codec_vpx_enc_t *e = codec_vpx_enc_create(&cfg);
    codec_vpx_dec_t *d = codec_vpx_dec_create(codec);
    cr_assert(e && d);
    codec_image_t src, out;
    cr_assert_eq(codec_image_alloc(&src, W, H), 0);
    double min_psnr = 99;
    int decoded = 0;
    for (uint32_t i = 0; i < 15; i++) {
        codec_pattern_draw(&src, i);
        cr_assert_eq(codec_pattern_read(&src), (int)i);
        codec_frame_t f;
        int r = codec_vpx_encode(e, &src, i * 3000, &f);
        cr_assert_eq(r, 1, "frame %u: %d", i, r);
        cr_expect_eq(!!(f.flags & CODEC_FRAME_KEY), i == 0);
        if (i == 0) {
            cr_expect_eq(f.width, W);
            cr_expect_eq(f.height, H);
        }
        r = codec_vpx_decode(d, &f, &out);
        cr_assert_eq(r, 1, "decode %u: %d", i, r);
        cr_assert_eq(out.width, W);
        cr_assert_eq(out.height, H);
        cr_expect_eq(codec_pattern_read(&out), (int)i, "frame number after decode");
        double psnr = codec_image_psnr_y(&src, &out);
        if (i >= 2 && psnr < min_psnr)
            min_psnr = psnr;
        decoded++;
    }
    cr_expect_gt(min_psnr, 28, "%s min PSNR %.1f", codec_name(codec), min_psnr);
    cr_expect_eq(decoded, 15);
    codec_image_free(&src);
    codec_vpx_enc_destroy(e);
    codec_vpx_dec_destroy(d);
}

Test(codecs_vpx, vp8_encode_decode_psnr)
{
    enc_dec(CODEC_VP8);
}

Test(codecs_vpx, vp9_encode_decode_psnr)
{
    enc_dec(CODEC_VP9);
}

static void layers_and_keyframes(codec_id_t codec)
{
    codec_video_cfg_t cfg;
    codec_video_cfg_default(&cfg, codec, W, H);
    cfg.temporal_layers = 3;
    codec_vpx_enc_t *e = codec_vpx_enc_create(&cfg);
    cr_assert(e);
    codec_image_t src;
    cr_assert_eq(codec_image_alloc(&src, W, H), 0);
    const uint8_t want_tid[] = {0, 2, 1, 2, 0, 2, 1, 2, 0, 2};
    for (uint32_t i = 0; i < 10; i++) {
        if (i == 6)
            codec_vpx_enc_request_keyframe(e);
        codec_pattern_draw(&src, i);
        codec_frame_t f;
        cr_assert_eq(codec_vpx_encode(e, &src, i * 3000, &f), 1);
        bool key = f.flags & CODEC_FRAME_KEY;
        cr_expect_eq(key, i == 0 || i == 6, "frame %u key %d", i, key);
        cr_expect(f.flags & CODEC_FRAME_LAYERED);
        /* a keyframe restarts the pattern on TL0 */
        uint8_t tid = i < 6 ? want_tid[i] : want_tid[i - 6];
        cr_expect_eq(f.tid, tid, "frame %u tid %u", i, f.tid);
        if (!key)
            cr_expect_eq(!!(f.flags & CODEC_FRAME_NONREF), tid == 2, "frame %u", i);
        cr_expect_eq(!!(f.flags & CODEC_FRAME_SYNC), tid == 1, "frame %u", i);
    }
    cr_expect_eq(codec_vpx_enc_set_bitrate(e, 150), 0);
    cr_expect_eq(codec_vpx_enc_set_bitrate(e, -1), -EINVAL);
    codec_image_free(&src);
    codec_vpx_enc_destroy(e);
}

Test(codecs_vpx, vp8_temporal_layers_and_keyframe_request)
{
    layers_and_keyframes(CODEC_VP8);
}

Test(codecs_vpx, vp9_temporal_layers_and_keyframe_request)
{
    layers_and_keyframes(CODEC_VP9);
}

/* Dropping every TL2 frame leaves a decodable stream: the layers really are droppable. */
Test(codecs_vpx, vp8_upper_layers_droppable)
{
    codec_video_cfg_t cfg;
    codec_video_cfg_default(&cfg, CODEC_VP8, W, H);
    cfg.temporal_layers = 3;
    codec_vpx_enc_t *e = codec_vpx_enc_create(&cfg);
    codec_vpx_dec_t *d = codec_vpx_dec_create(CODEC_VP8);
    codec_image_t src, out;
    cr_assert_eq(codec_image_alloc(&src, W, H), 0);
    for (uint32_t i = 0; i < 12; i++) {
        codec_pattern_draw(&src, i);
        codec_frame_t f;
        cr_assert_eq(codec_vpx_encode(e, &src, i * 3000, &f), 1);
        if (f.tid == 2)
            continue;
        cr_assert_eq(codec_vpx_decode(d, &f, &out), 1, "frame %u", i);
        cr_expect_eq(codec_pattern_read(&out), (int)i);
        cr_expect_gt(codec_image_psnr_y(&src, &out), 25);
    }
    cr_expect_eq(codec_vpx_dec_corrupt(d), 0);
    codec_image_free(&src);
    codec_vpx_enc_destroy(e);
    codec_vpx_dec_destroy(d);
}

/* The decoder waits for a keyframe at the start and after a gap, and calls a damaged frame
 * corrupt instead of showing it. */
static void decoder_loss_handling(codec_id_t codec)
{
    codec_video_cfg_t cfg;
    codec_video_cfg_default(&cfg, codec, W, H);
    codec_vpx_enc_t *e = codec_vpx_enc_create(&cfg);
    codec_vpx_dec_t *d = codec_vpx_dec_create(codec);
    codec_image_t src, out;
    cr_assert_eq(codec_image_alloc(&src, W, H), 0);
    static uint8_t frames[8][100000];
    codec_frame_t f[8];
    for (uint32_t i = 0; i < 8; i++) {
        if (i == 5)
            codec_vpx_enc_request_keyframe(e);
        codec_pattern_draw(&src, i);
        cr_assert_eq(codec_vpx_encode(e, &src, i * 3000, &f[i]), 1);
        cr_assert_lt(f[i].len, sizeof frames[i]);
        memcpy(frames[i], f[i].data, f[i].len);
        f[i].data = frames[i];
    }
    /* joining mid-stream: delta frames refused until the keyframe */
    cr_expect_eq(codec_vpx_decode(d, &f[1], &out), -EAGAIN);
    cr_expect_eq(codec_vpx_decode(d, &f[0], &out), 1);
    cr_expect_eq(codec_vpx_decode(d, &f[1], &out), 1);
    /* frame 2 lost: frame 3 arrives flagged GAP and is refused, and so is frame 4 */
    f[3].flags |= CODEC_FRAME_GAP;
    cr_expect_eq(codec_vpx_decode(d, &f[3], &out), -EAGAIN);
    cr_expect_eq(codec_vpx_decode(d, &f[4], &out), -EAGAIN);
    cr_expect_eq(codec_vpx_decode(d, &f[5], &out), 1); /* the requested keyframe */
    cr_expect_eq(codec_pattern_read(&out), 5);
    cr_expect_eq(codec_vpx_dec_refused(d), 3);
    /* a damaged frame: truncated */
    codec_frame_t bad = f[6];
    bad.len = bad.len / 3;
    int r = codec_vpx_decode(d, &bad, &out);
    cr_expect_eq(r, -EBADMSG, "truncated frame: %d", r);
    cr_expect_eq(codec_vpx_decode(d, &f[7], &out), -EAGAIN);
    cr_expect_geq(codec_vpx_dec_corrupt(d), 1);
    codec_image_free(&src);
    codec_vpx_enc_destroy(e);
    codec_vpx_dec_destroy(d);
}

Test(codecs_vpx, vp8_decoder_waits_for_keyframe_after_loss)
{
    decoder_loss_handling(CODEC_VP8);
}

Test(codecs_vpx, vp9_decoder_waits_for_keyframe_after_loss)
{
    decoder_loss_handling(CODEC_VP9);
}

Test(codecs_vpx, bad_config)
{
    codec_video_cfg_t cfg;
    codec_video_cfg_default(&cfg, CODEC_H264, W, H);
    cr_expect_null(codec_vpx_enc_create(&cfg));
    codec_video_cfg_default(&cfg, CODEC_VP8, W, H);
    cfg.temporal_layers = 4;
    cr_expect_null(codec_vpx_enc_create(&cfg));
    cr_expect_null(codec_vpx_dec_create(CODEC_OPUS));
}
