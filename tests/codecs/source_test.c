/* tests/codecs/source_test.c: synthetic sources and image helpers. */
#include <criterion/criterion.h>
#include <string.h>
#include <math.h>
#include <stdlib.h>

#include "codecs/codecs.h"

Test(codecs_source, pattern_encodes_frame_number)
{
    const int sizes[][2] = {{320, 180}, {640, 360}, {1280, 720}, {192, 108}};
    for (size_t s = 0; s < 4; s++) {
        codec_image_t img;
        cr_assert_eq(codec_image_alloc(&img, sizes[s][0], sizes[s][1]), 0);
        for (uint32_t n = 0; n < 70000; n += 997) {
            codec_pattern_draw(&img, n);
            cr_assert_eq(codec_pattern_read(&img), (int)(n & 0xFFFF), "%dx%d n=%u", img.width,
                         img.height, n);
        }
        codec_image_free(&img);
    }
}

Test(codecs_source, pattern_moves_and_survives_noise)
{
    codec_image_t a, b;
    cr_assert_eq(codec_image_alloc(&a, 320, 180), 0);
    cr_assert_eq(codec_image_alloc(&b, 320, 180), 0);
    codec_pattern_draw(&a, 10);
    codec_pattern_draw(&b, 11);
    cr_expect_lt(codec_image_psnr_y(&a, &b), 30, "consecutive frames differ");
    /* +-20 of noise on luma still reads */
    srand(1);
    for (int i = 0; i < 320 * 180; i++) {
        int v = b.plane[0][i] + (rand() % 41) - 20;
        b.plane[0][i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
    cr_expect_eq(codec_pattern_read(&b), 11);
    /* something else entirely does not read as a frame number */
    memset(b.plane[0], 128, 320 * 180);
    cr_expect_eq(codec_pattern_read(&b), -EBADMSG);
    /* a flipped block breaks the check byte */
    codec_pattern_draw(&b, 11);
    int bs = (320 / 24) & ~1;
    for (int y = 0; y < bs; y++)
        for (int x = 0; x < bs; x++)
            b.plane[0][y * b.stride[0] + x] ^= 0xC0;
    cr_expect_eq(codec_pattern_read(&b), -EBADMSG);
    codec_pattern_draw(&b, 10);
    cr_expect_eq(codec_image_psnr_y(&a, &b), 99);
    codec_image_free(&a);
    codec_image_free(&b);
    cr_expect_eq(codec_image_alloc(&a, 0, 10), -EINVAL);
}

Test(codecs_source, tone_and_snr)
{
    codec_tone_t t;
    codec_tone_init(&t, 1000, 0.5, 48000, 2);
    static int16_t pcm[4800 * 2];
    codec_tone_fill(&t, pcm, 4800);
    cr_expect_eq(pcm[0], 0);
    cr_expect_eq(pcm[0], pcm[1]); /* both channels */
    /* peak close to 0.5 full scale */
    int peak = 0;
    for (int i = 0; i < 4800 * 2; i++)
        peak = abs(pcm[i]) > peak ? abs(pcm[i]) : peak;
    cr_expect(peak > 16000 && peak <= 16384, "peak %d", peak);
    /* quantization only: very high SNR; the wrong frequency: very low; added noise: between */
    cr_expect_gt(codec_tone_snr_db(pcm, 4800, 2, 1000, 48000), 70);
    cr_expect_lt(codec_tone_snr_db(pcm, 4800, 2, 1300, 48000), 3);
    srand(2);
    for (int i = 0; i < 4800 * 2; i += 2)
        pcm[i] = (int16_t)(pcm[i] + (rand() % 1601) - 800); /* about 20 dB below */
    double snr = codec_tone_snr_db(pcm, 4800, 2, 1000, 48000);
    cr_expect(snr > 20 && snr < 30, "snr %.1f", snr);
    /* a delayed copy fits as well: the measure is phase-blind */
    codec_tone_t t2;
    codec_tone_init(&t2, 1000, 0.5, 48000, 1);
    static int16_t mono[4800];
    codec_tone_fill(&t2, mono, 17); /* delay */
    codec_tone_fill(&t2, mono, 4800);
    cr_expect_gt(codec_tone_snr_db(mono, 4800, 1, 1000, 48000), 70);
}
