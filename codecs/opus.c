/* codecs/opus.c: the libopus wrapper (the only file that includes opus.h).
 *
 * 48 kHz, 20 ms frames, VOIP application. RFC 7587 §3.1: Opus in RTP always uses a 48 kHz
 * clock; FEC (LBRR) and DTX are encoder settings the receiver signals in the fmtp.
 */
#include "codecs/codecs.h"

#include <stdlib.h>
#include <string.h>

#include <opus/opus.h>

struct codec_opus_enc {
    OpusEncoder *enc;
    int channels;
};

struct codec_opus_dec {
    OpusDecoder *dec;
    int channels;
};

void codec_opus_cfg_default(codec_opus_cfg_t *cfg)
{
    *cfg = (codec_opus_cfg_t){
        .channels = 1,
        .bitrate_bps = 32000,
        .fec = true,
        .dtx = false,
        .expected_loss_pct = 10,
        .complexity = -1,
    };
}

/* Parses "0" or "1" up to the next ';'. */
static int fmtp_bool(const char *v, size_t n, bool *out)
{
    if (n != 1 || (v[0] != '0' && v[0] != '1'))
        return -EINVAL;
    *out = v[0] == '1';
    return 0;
}

int codec_opus_fmtp_apply(codec_opus_cfg_t *cfg, const char *fmtp)
{
    const char *p = fmtp;
    while (*p) {
        while (*p == ' ' || *p == ';')
            p++;
        if (!*p)
            break;
        size_t n = strcspn(p, ";");
        const char *eq = memchr(p, '=', n);
        if (eq) {
            size_t klen = (size_t)(eq - p), vlen = n - klen - 1;
            const char *v = eq + 1;
            while (vlen && v[vlen - 1] == ' ')
                vlen--;
            bool b;
            /* RFC 7587 §6.1: useinbandfec and stereo are the receiver's preferences; the
             * sender SHOULD follow them. */
            if (klen == 12 && strncmp(p, "useinbandfec", 12) == 0) {
                if (fmtp_bool(v, vlen, &b) < 0)
                    return -EINVAL;
                cfg->fec = b;
            } else if (klen == 6 && strncmp(p, "stereo", 6) == 0) {
                if (fmtp_bool(v, vlen, &b) < 0)
                    return -EINVAL;
                cfg->channels = b ? 2 : 1;
            } else if (klen == 6 && strncmp(p, "usedtx", 6) == 0) {
                if (fmtp_bool(v, vlen, &b) < 0)
                    return -EINVAL;
                cfg->dtx = b;
            } else if (klen == 17 && strncmp(p, "maxaveragebitrate", 17) == 0) {
                /* §6.1: 6000 to 510000 */
                char num[16];
                if (vlen == 0 || vlen >= sizeof num)
                    return -EINVAL;
                memcpy(num, v, vlen);
                num[vlen] = 0;
                char *end;
                long br = strtol(num, &end, 10);
                if (*end || br < 6000 || br > 510000)
                    return -EINVAL;
                if (cfg->bitrate_bps == 0 || cfg->bitrate_bps > br)
                    cfg->bitrate_bps = (int)br;
            }
        }
        p += n;
    }
    return 0;
}

static int opus_err(int err)
{
    switch (err) {
    case OPUS_BAD_ARG:
        return -EINVAL;
    case OPUS_BUFFER_TOO_SMALL:
        return -ENOSPC;
    case OPUS_INVALID_PACKET:
    case OPUS_INTERNAL_ERROR:
        return -EBADMSG;
    case OPUS_ALLOC_FAIL:
        return -ENOMEM;
    default:
        return -EIO;
    }
}

codec_opus_enc_t *codec_opus_enc_create(const codec_opus_cfg_t *cfg)
{
    if (cfg->channels != 1 && cfg->channels != 2) {
        LOG_ERROR("opus: %d channels", cfg->channels);
        return NULL;
    }
    codec_opus_enc_t *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    int err;
    e->channels = cfg->channels;
    e->enc = opus_encoder_create(CODEC_OPUS_RATE, cfg->channels, OPUS_APPLICATION_VOIP, &err);
    if (!e->enc) {
        LOG_ERROR("opus_encoder_create: %s", opus_strerror(err));
        goto fail;
    }
    if (cfg->bitrate_bps > 0 &&
        opus_encoder_ctl(e->enc, OPUS_SET_BITRATE(cfg->bitrate_bps)) != OPUS_OK) {
        LOG_ERROR("opus: bad bitrate %d", cfg->bitrate_bps);
        goto fail;
    }
    if (cfg->complexity >= 0 &&
        opus_encoder_ctl(e->enc, OPUS_SET_COMPLEXITY(cfg->complexity)) != OPUS_OK)
        goto fail;
    if (opus_encoder_ctl(e->enc, OPUS_SET_INBAND_FEC(cfg->fec ? 1 : 0)) != OPUS_OK ||
        opus_encoder_ctl(e->enc, OPUS_SET_DTX(cfg->dtx ? 1 : 0)) != OPUS_OK ||
        opus_encoder_ctl(e->enc, OPUS_SET_PACKET_LOSS_PERC(cfg->expected_loss_pct)) != OPUS_OK)
        goto fail;
    return e;
fail:
    codec_opus_enc_destroy(e);
    return NULL;
}

void codec_opus_enc_destroy(codec_opus_enc_t *e)
{
    if (!e)
        return;
    if (e->enc)
        opus_encoder_destroy(e->enc);
    free(e);
}

int codec_opus_encode(codec_opus_enc_t *e, const int16_t *pcm, uint8_t *out, size_t cap)
{
    if (cap > INT32_MAX)
        cap = INT32_MAX;
    int n = opus_encode(e->enc, pcm, CODEC_OPUS_FRAME_SAMPLES, out, (opus_int32)cap);
    return n < 0 ? opus_err(n) : n;
}

int codec_opus_enc_set_bitrate(codec_opus_enc_t *e, int bitrate_bps)
{
    int r = opus_encoder_ctl(e->enc, OPUS_SET_BITRATE(bitrate_bps));
    return r == OPUS_OK ? 0 : opus_err(r);
}

int codec_opus_enc_set_loss(codec_opus_enc_t *e, int expected_loss_pct)
{
    int r = opus_encoder_ctl(e->enc, OPUS_SET_PACKET_LOSS_PERC(expected_loss_pct));
    return r == OPUS_OK ? 0 : opus_err(r);
}

codec_opus_dec_t *codec_opus_dec_create(int channels)
{
    if (channels != 1 && channels != 2) {
        LOG_ERROR("opus: %d channels", channels);
        return NULL;
    }
    codec_opus_dec_t *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    int err;
    d->channels = channels;
    d->dec = opus_decoder_create(CODEC_OPUS_RATE, channels, &err);
    if (!d->dec) {
        LOG_ERROR("opus_decoder_create: %s", opus_strerror(err));
        free(d);
        return NULL;
    }
    return d;
}

void codec_opus_dec_destroy(codec_opus_dec_t *d)
{
    if (!d)
        return;
    opus_decoder_destroy(d->dec);
    free(d);
}

int codec_opus_decode(codec_opus_dec_t *d, const uint8_t *data, size_t len, int16_t *pcm,
                      size_t cap_samples)
{
    if (cap_samples > CODEC_OPUS_MAX_FRAME_SAMPLES)
        cap_samples = CODEC_OPUS_MAX_FRAME_SAMPLES;
    if (data && (len == 0 || len > INT32_MAX))
        return -EBADMSG;
    if (!data)
        len = 0;
    /* A lost packet (data NULL): concealment needs a multiple of 2.5 ms. */
    int n = opus_decode(d->dec, data, (opus_int32)len, pcm, (int)cap_samples, 0);
    return n < 0 ? opus_err(n) : n;
}

int codec_opus_decode_fec(codec_opus_dec_t *d, const uint8_t *data, size_t len, int16_t *pcm,
                          size_t samples)
{
    if (samples > CODEC_OPUS_MAX_FRAME_SAMPLES || len == 0 || len > INT32_MAX)
        return -EINVAL;
    /* decode_fec=1 decodes the LBRR copy of the previous frame carried in @data; libopus falls
     * back to concealment itself when there is none. */
    int n = opus_decode(d->dec, data, (opus_int32)len, pcm, (int)samples, 1);
    return n < 0 ? opus_err(n) : n;
}

int codec_opus_packet_samples(const uint8_t *data, size_t len)
{
    if (len == 0 || len > INT32_MAX)
        return -EBADMSG;
    /* opus_packet_parse checks the whole RFC 6716 §3 framing (codes 0-3, lengths, padding),
     * not just the TOC byte. */
    const unsigned char *frames[48];
    opus_int16 sizes[48];
    int cnt = opus_packet_parse(data, (opus_int32)len, NULL, frames, sizes, NULL);
    if (cnt < 0)
        return -EBADMSG;
    int n = opus_packet_get_nb_samples(data, (opus_int32)len, CODEC_OPUS_RATE);
    if (n < 0 || n > CODEC_OPUS_MAX_FRAME_SAMPLES)
        return -EBADMSG; /* §3.2.5: at most 120 ms */
    return n;
}
