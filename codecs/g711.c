/* codecs/g711.c: ITU-T G.711 mu-law (PCMU) and A-law (PCMA), plus the codec name table.
 *
 * The 16-bit linear values are G.711's 14-bit (mu-law) and 13-bit (A-law) linear values
 * shifted left by 2 and 3 bits, as in ITU-T G.191 (STL g711.c) and the Sun reference code that
 * most implementations derive from. Decoding returns the segment's mid-point value.
 */
#include "codecs/codecs.h"

#include <strings.h>

const char *codec_name(codec_id_t c)
{
    switch (c) {
    case CODEC_OPUS:
        return "opus";
    case CODEC_PCMU:
        return "PCMU";
    case CODEC_PCMA:
        return "PCMA";
    case CODEC_VP8:
        return "VP8";
    case CODEC_VP9:
        return "VP9";
    case CODEC_H264:
        return "H264";
    default:
        return "none";
    }
}

codec_id_t codec_from_name(const char *name)
{
    for (codec_id_t c = CODEC_OPUS; c <= CODEC_H264; c++)
        if (strcasecmp(name, codec_name(c)) == 0)
            return c;
    return CODEC_NONE;
}

uint32_t codec_clock_rate(codec_id_t c)
{
    switch (c) {
    case CODEC_OPUS:
        return 48000; /* RFC 7587 §4.1: always 48 kHz */
    case CODEC_PCMU:
    case CODEC_PCMA:
        return 8000; /* RFC 3551 §4.5.14 */
    case CODEC_VP8:
    case CODEC_VP9:
    case CODEC_H264:
        return 90000;
    default:
        return 0;
    }
}

/* mu-law: G.711 Table 2a. Add the bias 0x84 (33 << 2), find the segment (position of the top
 * bit), keep 4 mantissa bits, complement every bit of the code. */
#define ULAW_BIAS 0x84
#define ULAW_CLIP 32635

uint8_t codec_pcmu_encode1(int16_t s)
{
    int v = s;
    uint8_t mask = 0xFF;
    if (v < 0) {
        v = -v;
        mask = 0x7F;
    }
    if (v > ULAW_CLIP)
        v = ULAW_CLIP;
    v += ULAW_BIAS;
    int seg = 7;
    for (int m = 0x4000; seg > 0 && !(v & m); m >>= 1)
        seg--;
    uint8_t code = (uint8_t)(seg << 4 | ((v >> (seg + 3)) & 0x0F));
    return code ^ mask;
}

int16_t codec_pcmu_decode1(uint8_t u)
{
    u = (uint8_t)~u;
    int t = ((u & 0x0F) << 3) + ULAW_BIAS;
    t <<= (u & 0x70) >> 4;
    return (int16_t)((u & 0x80) ? ULAW_BIAS - t : t - ULAW_BIAS);
}

/* A-law: G.711 Table 1a. 13-bit magnitude, segment 0 and 1 share the step; even bits are
 * inverted on the line (XOR 0x55); sign bit 1 means positive. */
uint8_t codec_pcma_encode1(int16_t s)
{
    int v = s >> 3; /* 13-bit */
    uint8_t mask;
    if (v >= 0) {
        mask = 0xD5; /* sign bit set, then the 0x55 inversion */
    } else {
        mask = 0x55;
        v = -v - 1;
    }
    if (v > 0xFFF)
        v = 0xFFF;
    int seg = 0;
    for (int m = 0x20; seg < 7 && v >= m; m <<= 1)
        seg++;
    uint8_t code;
    if (seg == 0)
        code = (uint8_t)((v >> 1) & 0x0F);
    else
        code = (uint8_t)(seg << 4 | ((v >> seg) & 0x0F));
    return code ^ mask;
}

int16_t codec_pcma_decode1(uint8_t a)
{
    a ^= 0x55;
    int t = (a & 0x0F) << 4;
    int seg = (a & 0x70) >> 4;
    if (seg == 0)
        t += 8;
    else if (seg == 1)
        t += 0x108;
    else
        t = (t + 0x108) << (seg - 1);
    return (int16_t)((a & 0x80) ? t : -t);
}

int codec_g711_encode(codec_id_t codec, const int16_t *pcm, size_t n, uint8_t *out)
{
    if ((codec != CODEC_PCMU && codec != CODEC_PCMA) || n > INT32_MAX)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        out[i] = codec == CODEC_PCMU ? codec_pcmu_encode1(pcm[i]) : codec_pcma_encode1(pcm[i]);
    return (int)n;
}

int codec_g711_decode(codec_id_t codec, const uint8_t *in, size_t n, int16_t *pcm)
{
    if ((codec != CODEC_PCMU && codec != CODEC_PCMA) || n > INT32_MAX)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        pcm[i] = codec == CODEC_PCMU ? codec_pcmu_decode1(in[i]) : codec_pcma_decode1(in[i]);
    return (int)n;
}
