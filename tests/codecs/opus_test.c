/* tests/codecs/opus_test.c: the libopus wrapper. */
#include <criterion/criterion.h>
#include <string.h>

#include "codecs/codecs.h"

#define FS CODEC_OPUS_FRAME_SAMPLES

/* Encodes @frames of a 440 Hz tone and decodes them; returns the SNR over the decoded audio
 * after the first 5 frames (encoder/decoder warm-up). */
static double tone_round_trip(int channels, int bitrate)
{
    codec_opus_cfg_t cfg;
    codec_opus_cfg_default(&cfg);
    cfg.channels = channels;
    cfg.bitrate_bps = bitrate;
    codec_opus_enc_t *e = codec_opus_enc_create(&cfg);
    codec_opus_dec_t *d = codec_opus_dec_create(channels);
    cr_assert(e && d);
    codec_tone_t t;
    codec_tone_init(&t, 440, 0.5, CODEC_OPUS_RATE, channels);
    enum { FRAMES = 25 };
    static int16_t out[FRAMES * FS * 2];
    int16_t pcm[FS * 2];
    uint8_t pkt[CODEC_OPUS_MAX_PACKET];
    size_t got = 0;
    for (int i = 0; i < FRAMES; i++) {
        codec_tone_fill(&t, pcm, FS);
        int n = codec_opus_encode(e, pcm, pkt, sizeof pkt);
        cr_assert_gt(n, 2);
        cr_assert_eq(codec_opus_packet_samples(pkt, (size_t)n), FS);
        int s = codec_opus_decode(d, pkt, (size_t)n, out + got * (size_t)channels, FS);
        cr_assert_eq(s, FS);
        got += (size_t)s;
    }
    double snr =
        codec_tone_snr_db(out + 5 * FS * channels, got - 5 * FS, channels, 440, CODEC_OPUS_RATE);
    if (channels == 2) {
        double snr_r = codec_tone_snr_db(out + 5 * FS * channels + 1, got - 5 * FS, channels, 440,
                                         CODEC_OPUS_RATE);
        snr = snr < snr_r ? snr : snr_r;
    }
    codec_opus_enc_destroy(e);
    codec_opus_dec_destroy(d);
    return snr;
}

Test(codecs_opus, mono_tone_round_trip)
{
    double snr = tone_round_trip(1, 32000);
    cr_expect_gt(snr, 20, "SNR %.1f dB", snr);
}

Test(codecs_opus, stereo_tone_round_trip)
{
    double snr = tone_round_trip(2, 64000);
    cr_expect_gt(snr, 20, "SNR %.1f dB", snr);
}

/* The packet sizes follow the bitrate. */
Test(codecs_opus, bitrate_shapes_packet_size)
{
    size_t total[2] = {0, 0};
    int rates[2] = {12000, 64000};
    for (int r = 0; r < 2; r++) {
        codec_opus_cfg_t cfg;
        codec_opus_cfg_default(&cfg);
        cfg.bitrate_bps = rates[r];
        codec_opus_enc_t *e = codec_opus_enc_create(&cfg);
        cr_assert(e);
        cr_expect_eq(codec_opus_enc_set_bitrate(e, -5), -EINVAL);
        cr_assert_eq(codec_opus_enc_set_bitrate(e, rates[r]), 0);
        codec_tone_t t;
        codec_tone_init(&t, 1000, 0.3, CODEC_OPUS_RATE, 1);
        int16_t pcm[FS];
        uint8_t pkt[CODEC_OPUS_MAX_PACKET];
        for (int i = 0; i < 50; i++) {
            codec_tone_fill(&t, pcm, FS);
            int n = codec_opus_encode(e, pcm, pkt, sizeof pkt);
            cr_assert_gt(n, 0);
            total[r] += (size_t)n;
        }
        codec_opus_enc_destroy(e);
    }
    /* 50 frames = 1 s: bytes*8 is roughly the bitrate */
    cr_expect(total[0] * 8 < 12000 * 1.5 && total[0] * 8 > 12000 * 0.5, "%zu", total[0]);
    cr_expect(total[1] * 8 < 64000 * 1.5 && total[1] * 8 > 64000 * 0.5, "%zu", total[1]);
}

/* DTX: in silence the encoder sends packets of at most 2 bytes (RFC 7587 §3.1.3). */
Test(codecs_opus, dtx_in_silence)
{
    codec_opus_cfg_t cfg;
    codec_opus_cfg_default(&cfg);
    cfg.dtx = true;
    codec_opus_enc_t *e = codec_opus_enc_create(&cfg);
    cfg.dtx = false;
    codec_opus_enc_t *e2 = codec_opus_enc_create(&cfg);
    cr_assert(e && e2);
    int16_t pcm[FS];
    memset(pcm, 0, sizeof pcm);
    uint8_t pkt[CODEC_OPUS_MAX_PACKET];
    int small = 0, small2 = 0;
    for (int i = 0; i < 50; i++) {
        int n = codec_opus_encode(e, pcm, pkt, sizeof pkt);
        cr_assert_geq(n, 0);
        small += n <= 2;
        n = codec_opus_encode(e2, pcm, pkt, sizeof pkt);
        cr_assert_geq(n, 0);
        small2 += n <= 2;
    }
    cr_expect_gt(small, 30, "DTX frames: %d", small);
    cr_expect_eq(small2, 0);
    codec_opus_enc_destroy(e);
    codec_opus_enc_destroy(e2);
}

/* In-band FEC: a lost packet rebuilt from the next one sounds like the tone; without FEC in
 * the stream decode_fec still returns the right duration (concealment). */
Test(codecs_opus, inband_fec_recovers_lost_frame)
{
    codec_opus_cfg_t cfg;
    codec_opus_cfg_default(&cfg);
    cfg.fec = true;
    cfg.expected_loss_pct = 30;
    cfg.bitrate_bps = 24000;
    codec_opus_enc_t *e = codec_opus_enc_create(&cfg);
    codec_opus_dec_t *d = codec_opus_dec_create(1);
    cr_assert(e && d);
    codec_tone_t t;
    codec_tone_init(&t, 440, 0.5, CODEC_OPUS_RATE, 1);
    int16_t pcm[FS], out[FS];
    uint8_t pkt[30][CODEC_OPUS_MAX_PACKET];
    int len[30];
    for (int i = 0; i < 30; i++) {
        codec_tone_fill(&t, pcm, FS);
        len[i] = codec_opus_encode(e, pcm, pkt[i], sizeof pkt[i]);
        cr_assert_gt(len[i], 2);
    }
    for (int i = 0; i < 30; i++) {
        int n;
        if (i == 20) /* lost: rebuild from packet 21 */
            n = codec_opus_decode_fec(d, pkt[21], (size_t)len[21], out, FS);
        else
            n = codec_opus_decode(d, pkt[i], (size_t)len[i], out, FS);
        cr_assert_eq(n, FS, "frame %d: %d", i, n);
        if (i == 20) {
            double snr = codec_tone_snr_db(out, FS, 1, 440, CODEC_OPUS_RATE);
            cr_expect_gt(snr, 10, "FEC frame SNR %.1f", snr);
        }
    }
    /* Concealment (no data) keeps the timeline too. */
    cr_expect_eq(codec_opus_decode(d, NULL, 0, out, FS), FS);
    codec_opus_enc_destroy(e);
    codec_opus_dec_destroy(d);
}

Test(codecs_opus, rejects_bad_packets)
{
    codec_opus_dec_t *d = codec_opus_dec_create(1);
    int16_t out[FS];
    /* code 3 (TOC & 3 == 3) needs a frame-count byte */
    const uint8_t code3[] = {0x03};
    cr_expect_eq(codec_opus_packet_samples(code3, 1), -EBADMSG);
    cr_expect_eq(codec_opus_decode(d, code3, 1, out, FS), -EBADMSG);
    /* code 3 with 49 frames of 20 ms: more than 120 ms */
    const uint8_t toolong[] = {0x0B, 0x31};
    cr_expect_eq(codec_opus_packet_samples(toolong, 2), -EBADMSG);
    cr_expect_eq(codec_opus_packet_samples(code3, 0), -EBADMSG);
    /* a one-byte code-0 packet is valid (an empty frame: DTX) */
    const uint8_t empty[] = {0x08};
    cr_expect_eq(codec_opus_packet_samples(empty, 1), 960); /* config 1: SILK NB, 20 ms */
    codec_opus_dec_destroy(d);
}

Test(codecs_opus, fmtp_sets_fec_and_stereo)
{
    codec_opus_cfg_t cfg;
    codec_opus_cfg_default(&cfg);
    cfg.fec = false;
    cr_assert_eq(codec_opus_fmtp_apply(&cfg, "minptime=10;useinbandfec=1; stereo=1"), 0);
    cr_expect(cfg.fec);
    cr_expect_eq(cfg.channels, 2);
    cr_assert_eq(codec_opus_fmtp_apply(&cfg, "useinbandfec=0;stereo=0;usedtx=1;"
                                             "maxaveragebitrate=20000"),
                 0);
    cr_expect(!cfg.fec);
    cr_expect_eq(cfg.channels, 1);
    cr_expect(cfg.dtx);
    cr_expect_eq(cfg.bitrate_bps, 20000);
    cr_expect_eq(codec_opus_fmtp_apply(&cfg, "useinbandfec=2"), -EINVAL);
    cr_expect_eq(codec_opus_fmtp_apply(&cfg, "maxaveragebitrate=12x"), -EINVAL);
    cr_expect_eq(codec_opus_fmtp_apply(&cfg, ""), 0);
    cr_expect_eq(codec_opus_fmtp_apply(&cfg, "sprop-stereo"), 0); /* no value: ignored */
}
