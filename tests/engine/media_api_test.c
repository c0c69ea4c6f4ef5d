/* tests/engine/media_api_test.c: the public media helpers: the application's own raw media
 * through urtc_encoder_*, read back with urtc_decoder_*. */
#include "urtc/urtc.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <string.h>

Test(media_api, raw_i420_pictures_encode_and_decode)
{
    urtc_encoder_config_t cfg = {.width = 320, .height = 180, .fps = 30};
    urtc_encoder_t *enc = urtc_encoder_create("VP8", &cfg);
    cr_assert_not_null(enc);
    urtc_decoder_t *dec = urtc_decoder_create("VP8");
    static uint8_t y[320 * 180], u[160 * 90], v[160 * 90];
    int decoded = 0, keys = 0;
    for (int n = 0; n < 30; n++) {
        for (int i = 0; i < 320 * 180; i++)
            y[i] = (uint8_t)((i % 320 + n * 4) & 0xff); /* a moving gradient */
        memset(u, 100, sizeof u);
        memset(v, 150, sizeof v);
        if (n == 20)
            urtc_encoder_request_keyframe(enc);
        urtc_frame_t f;
        int ret = urtc_encoder_encode_video(enc, y, u, v, 320, 160, &f);
        cr_assert_geq(ret, 0);
        if (ret == 0)
            continue;
        cr_assert_str_eq(f.codec, "VP8");
        cr_assert_eq(f.timestamp, (uint32_t)n * 3000, "90 kHz clock at 30 fps");
        keys += f.keyframe;
        urtc_decoded_t out;
        if (urtc_decoder_decode(dec, &f, &out) == 1) {
            cr_assert_eq(out.width, 320);
            cr_assert_eq(out.height, 180);
            decoded++;
        }
    }
    cr_assert_geq(decoded, 25);
    cr_assert_geq(keys, 2, "the first picture and the requested one are keyframes");
    urtc_frame_t f;
    cr_assert_eq(urtc_encoder_encode_audio(enc, (int16_t[960]){0}, &f), -EINVAL);
    cr_assert_null(urtc_encoder_create("VP8", &(urtc_encoder_config_t){.width = 8, .height = 8}));
    urtc_encoder_destroy(enc);
    urtc_decoder_destroy(dec);
}

Test(media_api, raw_pcm_encodes_to_opus_that_decodes)
{
    urtc_encoder_t *enc = urtc_encoder_create("opus", NULL);
    cr_assert_not_null(enc);
    urtc_decoder_t *dec = urtc_decoder_create("opus");
    int16_t pcm[960];
    int good = 0;
    for (int n = 0; n < 50; n++) {
        for (int i = 0; i < 960; i++) /* urtc's 440 Hz tone, the decoder measures it */
            pcm[i] = (int16_t)(8000 * sin(2 * M_PI * 440 * (n * 960 + i) / 48000.0));
        urtc_frame_t f;
        cr_assert_eq(urtc_encoder_encode_audio(enc, pcm, &f), 1);
        cr_assert_eq(f.timestamp, (uint32_t)n * 960);
        urtc_decoded_t out;
        if (urtc_decoder_decode(dec, &f, &out) == 1 && out.samples == 960 && n > 5 &&
            out.tone_db > 10)
            good++;
    }
    cr_assert_geq(good, 40, "the tone survives the round trip (%d frames)", good);
    urtc_encoder_destroy(enc);
    urtc_decoder_destroy(dec);
}
