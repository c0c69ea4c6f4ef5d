/* tests/codecs/g711_test.c: ITU-T G.711 against reference values. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "codecs/codecs.h"

/* Reference decoder outputs for codes 0x00-0x7F (0x80-0xFF are their negations), the G.711
 * expansion tables at 16-bit scale as published with ITU-T G.191 / the Sun reference code and
 * copied into countless implementations (SDL, audioop, ...). */
static const int16_t ulaw_ref[128] = {
    -32124, -31100, -30076, -29052, -28028, -27004, -25980, -24956, -23932, -22908, -21884, -20860,
    -19836, -18812, -17788, -16764, -15996, -15484, -14972, -14460, -13948, -13436, -12924, -12412,
    -11900, -11388, -10876, -10364, -9852,  -9340,  -8828,  -8316,  -7932,  -7676,  -7420,  -7164,
    -6908,  -6652,  -6396,  -6140,  -5884,  -5628,  -5372,  -5116,  -4860,  -4604,  -4348,  -4092,
    -3900,  -3772,  -3644,  -3516,  -3388,  -3260,  -3132,  -3004,  -2876,  -2748,  -2620,  -2492,
    -2364,  -2236,  -2108,  -1980,  -1884,  -1820,  -1756,  -1692,  -1628,  -1564,  -1500,  -1436,
    -1372,  -1308,  -1244,  -1180,  -1116,  -1052,  -988,   -924,   -876,   -844,   -812,   -780,
    -748,   -716,   -684,   -652,   -620,   -588,   -556,   -524,   -492,   -460,   -428,   -396,
    -372,   -356,   -340,   -324,   -308,   -292,   -276,   -260,   -244,   -228,   -212,   -196,
    -180,   -164,   -148,   -132,   -120,   -112,   -104,   -96,    -88,    -80,    -72,    -64,
    -56,    -48,    -40,    -32,    -24,    -16,    -8,     0,
};
static const int16_t alaw_ref[128] = {
    -5504,  -5248,  -6016,  -5760,  -4480,  -4224,  -4992,  -4736,  -7552,  -7296,  -8064,  -7808,
    -6528,  -6272,  -7040,  -6784,  -2752,  -2624,  -3008,  -2880,  -2240,  -2112,  -2496,  -2368,
    -3776,  -3648,  -4032,  -3904,  -3264,  -3136,  -3520,  -3392,  -22016, -20992, -24064, -23040,
    -17920, -16896, -19968, -18944, -30208, -29184, -32256, -31232, -26112, -25088, -28160, -27136,
    -11008, -10496, -12032, -11520, -8960,  -8448,  -9984,  -9472,  -15104, -14592, -16128, -15616,
    -13056, -12544, -14080, -13568, -344,   -328,   -376,   -360,   -280,   -264,   -312,   -296,
    -472,   -456,   -504,   -488,   -408,   -392,   -440,   -424,   -88,    -72,    -120,   -104,
    -24,    -8,     -56,    -40,    -216,   -200,   -248,   -232,   -152,   -136,   -184,   -168,
    -1376,  -1312,  -1504,  -1440,  -1120,  -1056,  -1248,  -1184,  -1888,  -1824,  -2016,  -1952,
    -1632,  -1568,  -1760,  -1696,  -688,   -656,   -752,   -720,   -560,   -528,   -624,   -592,
    -944,   -912,   -1008,  -976,   -816,   -784,   -880,   -848,
};

Test(codecs_g711, pcmu_decode_reference_values)
{
    for (int c = 0; c < 128; c++) {
        cr_expect_eq(codec_pcmu_decode1((uint8_t)c), ulaw_ref[c], "mu 0x%02x", c);
        cr_expect_eq(codec_pcmu_decode1((uint8_t)(c | 0x80)), -ulaw_ref[c], "mu 0x%02x", c | 0x80);
    }
}

Test(codecs_g711, pcma_decode_reference_values)
{
    for (int c = 0; c < 128; c++) {
        cr_expect_eq(codec_pcma_decode1((uint8_t)c), alaw_ref[c], "A 0x%02x", c);
        cr_expect_eq(codec_pcma_decode1((uint8_t)(c | 0x80)), -alaw_ref[c], "A 0x%02x", c | 0x80);
    }
}

Test(codecs_g711, encode_reference_values)
{
    /* Silence and the extremes: the values every G.711 implementation agrees on. */
    cr_expect_eq(codec_pcmu_encode1(0), 0xFF);
    cr_expect_eq(codec_pcmu_encode1(32767), 0x80);
    cr_expect_eq(codec_pcmu_encode1(-32768), 0x00);
    cr_expect_eq(codec_pcma_encode1(0), 0xD5);
    cr_expect_eq(codec_pcma_encode1(-1), 0x55);
    cr_expect_eq(codec_pcma_encode1(32767), 0xAA);
    cr_expect_eq(codec_pcma_encode1(-32768), 0x2A);
    /* A 1 kHz tone at -10 dBm0-ish encodes to the same codes as the STL reference. */
    cr_expect_eq(codec_pcmu_encode1(1000), 0xCE);
    cr_expect_eq(codec_pcma_encode1(1000), 0xFA);
}

Test(codecs_g711, round_trip_all_codes)
{
    for (int c = 0; c < 256; c++) {
        /* mu-law 0x7F is "negative zero": it decodes to 0, which encodes as 0xFF. */
        uint8_t want = c == 0x7F ? 0xFF : (uint8_t)c;
        cr_expect_eq(codec_pcmu_encode1(codec_pcmu_decode1((uint8_t)c)), want, "mu 0x%02x", c);
        cr_expect_eq(codec_pcma_encode1(codec_pcma_decode1((uint8_t)c)), c, "A 0x%02x", c);
    }
}

/* Every 16-bit input: the decoded value is the nearest level of the code, so the error is at
 * most half the step of its segment (G.711 Tables 1 and 2), and the mapping is monotonic. */
Test(codecs_g711, quantization_error_bounded_and_monotonic)
{
    int prev_u = -40000, prev_a = -40000;
    for (int x = -32768; x <= 32767; x++) {
        int du = codec_pcmu_decode1(codec_pcmu_encode1((int16_t)x));
        int da = codec_pcma_decode1(codec_pcma_encode1((int16_t)x));
        int ax = abs(x);
        /* mu-law step at 16-bit scale: 8 << seg; A-law: 16 << max(seg-1, 0) */
        int step_u = ax < 124     ? 8
                     : ax < 380   ? 16
                     : ax < 892   ? 32
                     : ax < 1916  ? 64
                     : ax < 3964  ? 128
                     : ax < 8060  ? 256
                     : ax < 16252 ? 512
                                  : 1024;
        int step_a = ax < 512     ? 16
                     : ax < 1024  ? 32
                     : ax < 2048  ? 64
                     : ax < 4096  ? 128
                     : ax < 8192  ? 256
                     : ax < 16384 ? 512
                                  : 1024;
        if (ax <= 32124) /* mu-law clips above its largest level */
            cr_assert_leq(abs(du - x), step_u / 2 + 4, "mu x=%d dec=%d", x, du);
        if (ax <= 32256)
            cr_assert_leq(abs(da - x), step_a / 2 + 8, "A x=%d dec=%d", x, da);
        cr_assert_geq(du, prev_u, "mu not monotonic at %d", x);
        cr_assert_geq(da, prev_a, "A not monotonic at %d", x);
        prev_u = du;
        prev_a = da;
    }
}

Test(codecs_g711, buffer_api)
{
    int16_t pcm[160], back[160];
    uint8_t enc[160];
    codec_tone_t t;
    codec_tone_init(&t, 1000, 0.5, 8000, 1);
    codec_tone_fill(&t, pcm, 160);
    cr_assert_eq(codec_g711_encode(CODEC_PCMU, pcm, 160, enc), 160);
    cr_assert_eq(codec_g711_decode(CODEC_PCMU, enc, 160, back), 160);
    cr_expect_gt(codec_tone_snr_db(back, 160, 1, 1000, 8000), 30);
    cr_assert_eq(codec_g711_encode(CODEC_PCMA, pcm, 160, enc), 160);
    cr_assert_eq(codec_g711_decode(CODEC_PCMA, enc, 160, back), 160);
    cr_expect_gt(codec_tone_snr_db(back, 160, 1, 1000, 8000), 30);
    cr_expect_eq(codec_g711_encode(CODEC_OPUS, pcm, 160, enc), -EINVAL);
}

Test(codecs_g711, names_and_rates)
{
    cr_expect_eq(codec_from_name("pcmu"), CODEC_PCMU);
    cr_expect_eq(codec_from_name("VP9"), CODEC_VP9);
    cr_expect_eq(codec_from_name("h265"), CODEC_NONE);
    cr_expect_eq(codec_clock_rate(CODEC_OPUS), 48000);
    cr_expect_eq(codec_clock_rate(CODEC_PCMA), 8000);
    cr_expect_eq(codec_clock_rate(CODEC_H264), 90000);
}
