/* tests/codecs/h264_test.c: the openh264 wrapper, and its output through the RFC 6184
 * packetizer. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "codecs/codecs.h"

#define W 320
#define H 180

static unsigned nal_types(const codec_frame_t *f)
{
    /* bit per NAL type found after a 4-byte start code */
    unsigned m = 0;
    for (size_t i = 0; i + 4 < f->len; i++)
        if (f->data[i] == 0 && f->data[i + 1] == 0 && f->data[i + 2] == 0 && f->data[i + 3] == 1)
            m |= 1u << (f->data[i + 4] & 0x1F);
    return m;
}

Test(codecs_h264, encode_decode_psnr_and_keyframe_request)
{
    codec_video_cfg_t cfg;
    codec_video_cfg_default(&cfg, CODEC_H264, W, H);
    codec_h264_enc_t *e = codec_h264_enc_create(&cfg);
    codec_h264_dec_t *d = codec_h264_dec_create();
    cr_assert(e && d);
    codec_image_t src, out;
    cr_assert_eq(codec_image_alloc(&src, W, H), 0);
    double min_psnr = 99;
    for (uint32_t i = 0; i < 12; i++) {
        if (i == 7)
            codec_h264_enc_request_keyframe(e);
        codec_pattern_draw(&src, i);
        codec_frame_t f;
        cr_assert_eq(codec_h264_encode(e, &src, i * 3000, &f), 1, "frame %u", i);
        bool key = f.flags & CODEC_FRAME_KEY;
        cr_expect_eq(key, i == 0 || i == 7, "frame %u", i);
        unsigned t = nal_types(&f);
        if (key) /* SPS, PPS and IDR */
            cr_expect_eq(t & (1u << 7 | 1u << 8 | 1u << 5), 1u << 7 | 1u << 8 | 1u << 5);
        else
            cr_expect(t & (1u << 1));
        int r = codec_h264_decode(d, &f, &out);
        cr_assert_eq(r, 1, "decode %u: %d", i, r);
        cr_assert_eq(out.width, W);
        cr_assert_eq(out.height, H);
        cr_expect_eq(codec_pattern_read(&out), (int)i);
        double psnr = codec_image_psnr_y(&src, &out);
        if (i >= 2 && psnr < min_psnr)
            min_psnr = psnr;
    }
    cr_expect_gt(min_psnr, 28, "min PSNR %.1f", min_psnr);
    cr_expect_eq(codec_h264_enc_set_bitrate(e, 200), 0);
    cr_expect_eq(codec_h264_enc_set_bitrate(e, 0), -EINVAL);
    codec_image_free(&src);
    codec_h264_enc_destroy(e);
    codec_h264_dec_destroy(d);
}

Test(codecs_h264, decoder_waits_for_idr_after_loss)
{
    codec_video_cfg_t cfg;
    codec_video_cfg_default(&cfg, CODEC_H264, W, H);
    codec_h264_enc_t *e = codec_h264_enc_create(&cfg);
    codec_h264_dec_t *d = codec_h264_dec_create();
    codec_image_t src, out;
    cr_assert_eq(codec_image_alloc(&src, W, H), 0);
    static uint8_t frames[8][100000];
    codec_frame_t f[8];
    for (uint32_t i = 0; i < 8; i++) {
        if (i == 5)
            codec_h264_enc_request_keyframe(e);
        codec_pattern_draw(&src, i);
        cr_assert_eq(codec_h264_encode(e, &src, i * 3000, &f[i]), 1);
        cr_assert_lt(f[i].len, sizeof frames[i]);
        memcpy(frames[i], f[i].data, f[i].len);
        f[i].data = frames[i];
    }
    cr_expect_eq(codec_h264_decode(d, &f[1], &out), -EAGAIN);
    cr_expect_eq(codec_h264_decode(d, &f[0], &out), 1);
    cr_expect_eq(codec_h264_decode(d, &f[1], &out), 1);
    f[3].flags |= CODEC_FRAME_GAP;
    cr_expect_eq(codec_h264_decode(d, &f[3], &out), -EAGAIN);
    cr_expect_eq(codec_h264_decode(d, &f[4], &out), -EAGAIN);
    cr_expect_eq(codec_h264_decode(d, &f[5], &out), 1);
    cr_expect_eq(codec_pattern_read(&out), 5);
    cr_expect_eq(codec_h264_dec_refused(d), 3);
    codec_image_free(&src);
    codec_h264_enc_destroy(e);
    codec_h264_dec_destroy(d);
}

/* Encoder output through the packetizer at a small MTU (FU-A and STAP-A) and back. */
Test(codecs_h264, encoder_output_packetizes_and_reassembles)
{
    codec_video_cfg_t cfg;
    codec_video_cfg_default(&cfg, CODEC_H264, W, H);
    codec_h264_enc_t *e = codec_h264_enc_create(&cfg);
    codec_h264_dec_t *d = codec_h264_dec_create();
    codec_depay_t *dp = codec_depay_create(&(codec_depay_cfg_t){.codec = CODEC_H264});
    codec_pay_t p;
    cr_assert_eq(
        codec_pay_init(&p, &(codec_pay_cfg_t){.codec = CODEC_H264, .max_payload_len = 400}), 0);
    codec_image_t src, out;
    cr_assert_eq(codec_image_alloc(&src, W, H), 0);
    uint16_t seq = 7;
    for (uint32_t i = 0; i < 5; i++) {
        codec_pattern_draw(&src, i);
        codec_frame_t f, g;
        cr_assert_eq(codec_h264_encode(e, &src, i * 3000, &f), 1);
        cr_assert_eq(codec_pay_frame(&p, &f), 0);
        uint8_t b[400];
        bool m;
        int n;
        while ((n = codec_pay_next(&p, b, sizeof b, &m)) > 0)
            cr_assert_eq(codec_depay_push(dp, b, (size_t)n, seq++, f.rtp_ts, m), 0);
        cr_assert_eq(codec_depay_pop(dp, &g), 1);
        cr_expect_eq(!!(g.flags & CODEC_FRAME_KEY), i == 0);
        cr_assert_eq(codec_h264_decode(d, &g, &out), 1);
        cr_expect_eq(codec_pattern_read(&out), (int)i);
    }
    codec_image_free(&src);
    codec_depay_destroy(dp);
    codec_h264_enc_destroy(e);
    codec_h264_dec_destroy(d);
}
