/* codecs/source.c: I420 image helpers and the synthetic sources (sine tone, test pattern). */
#include "codecs/codecs.h"

#include <math.h>
#include <stdlib.h>

int codec_image_alloc(codec_image_t *img, int width, int height)
{
    if (width <= 0 || height <= 0 || width > 16384 || height > 16384)
        return -EINVAL;
    int cw = (width + 1) / 2, ch = (height + 1) / 2;
    size_t ylen = (size_t)width * (size_t)height, clen = (size_t)cw * (size_t)ch;
    uint8_t *buf = malloc(ylen + 2 * clen);
    if (!buf)
        return -ENOMEM;
    *img = (codec_image_t){
        .width = width,
        .height = height,
        .plane = {buf, buf + ylen, buf + ylen + clen},
        .stride = {width, cw, cw},
    };
    return 0;
}

void codec_image_free(codec_image_t *img)
{
    if (!img)
        return;
    free(img->plane[0]);
    *img = (codec_image_t){0};
}

double codec_image_psnr_y(const codec_image_t *a, const codec_image_t *b)
{
    if (a->width != b->width || a->height != b->height)
        return -1;
    double se = 0;
    for (int y = 0; y < a->height; y++) {
        const uint8_t *pa = a->plane[0] + (size_t)y * (size_t)a->stride[0];
        const uint8_t *pb = b->plane[0] + (size_t)y * (size_t)b->stride[0];
        for (int x = 0; x < a->width; x++) {
            int d = pa[x] - pb[x];
            se += d * d;
        }
    }
    if (se == 0)
        return 99;
    double mse = se / ((double)a->width * a->height);
    return 10 * log10(255.0 * 255.0 / mse);
}

/* ---------------------------------------------------------------------------------------------
 * Tone
 */
void codec_tone_init(codec_tone_t *t, double freq_hz, double amplitude, int rate_hz, int channels)
{
    *t = (codec_tone_t){.freq_hz = freq_hz,
                        .amplitude = amplitude,
                        .rate_hz = rate_hz,
                        .channels = channels < 1 ? 1 : channels};
}

void codec_tone_fill(codec_tone_t *t, int16_t *pcm, size_t samples)
{
    double w = 2 * M_PI * t->freq_hz / t->rate_hz, amp = t->amplitude * 32767.0;
    for (size_t i = 0; i < samples; i++, t->_n++) {
        /* The phase from the sample index (reduced per period), so it never drifts. */
        double v = amp * sin(w * (double)(t->_n % ((uint64_t)t->rate_hz * 1000)));
        int16_t s = (int16_t)lrint(v);
        for (int c = 0; c < t->channels; c++)
            pcm[i * (size_t)t->channels + (size_t)c] = s;
    }
}

double codec_tone_snr_db(const int16_t *pcm, size_t samples, int channels, double freq_hz,
                         int rate_hz)
{
    /* Least squares fit of x[n] = a sin(wn) + b cos(wn): solve the 2x2 normal equations. One
     * pass, and sin/cos by rotation (exact again every 256 samples): urtc-peer checks every
     * decoded frame, and two sincos per sample were a quarter of a bot's CPU. */
    double w = 2 * M_PI * freq_hz / rate_hz;
    double sw = sin(w), cw = cos(w);
    double ss = 0, cc = 0, sc = 0, xs = 0, xc = 0, xx = 0, s = 0, c = 1;
    for (size_t n = 0; n < samples; n++) {
        if ((n & 255) == 0) {
            s = sin(w * (double)n);
            c = cos(w * (double)n);
        }
        double x = pcm[n * (size_t)channels];
        ss += s * s;
        cc += c * c;
        sc += s * c;
        xs += x * s;
        xc += x * c;
        xx += x * x;
        double s1 = s * cw + c * sw;
        c = c * cw - s * sw;
        s = s1;
    }
    double det = ss * cc - sc * sc;
    if (det == 0)
        return -99;
    double a = (xs * cc - xc * sc) / det, b = (xc * ss - xs * sc) / det;
    /* At the least-squares optimum the fit f is orthogonal to the residual x - f:
     * sum f^2 = a xs + b xc and sum (x - f)^2 = sum x^2 - sum f^2. */
    double sig = a * xs + b * xc, res = xx - sig;
    if (res < 1e-9)
        return 99;
    if (sig < 1e-9)
        return -99;
    return 10 * log10(sig / res);
}

/* ---------------------------------------------------------------------------------------------
 * Test pattern. Row 0 holds PATTERN_BITS blocks: 16 bits of the frame number (MSB first) and an
 * 8-bit check, black (32) for 0 and white (224) for 1, so that the value survives lossy coding.
 */
#define PATTERN_BITS 24
#define PATTERN_LO 32
#define PATTERN_HI 224

static int pattern_block(const codec_image_t *img)
{
    int bs = (img->width / PATTERN_BITS) & ~1;
    return bs < 8 ? 8 : bs > 32 ? 32 : bs;
}

static uint8_t pattern_check(uint32_t n)
{
    return (uint8_t)(((n >> 8) ^ n ^ 0x5A) & 0xFF);
}

static void fill_rect(uint8_t *p, int stride, int x0, int y0, int w, int h, uint8_t v)
{
    for (int y = y0; y < y0 + h; y++)
        memset(p + (size_t)y * (size_t)stride + x0, v, (size_t)w);
}

void codec_pattern_draw(codec_image_t *img, uint32_t frame_no)
{
    int w = img->width, h = img->height, cw = (w + 1) / 2, ch = (h + 1) / 2;
    int bs = pattern_block(img);
    /* Background: vertical luma bars shifted by one pixel per frame, chroma bars. */
    for (int y = 0; y < h; y++) {
        uint8_t *row = img->plane[0] + (size_t)y * (size_t)img->stride[0];
        for (int x = 0; x < w; x++)
            row[x] = (uint8_t)(64 + ((((unsigned)x + frame_no) / 16) % 8) * 16 + (y * 32) / h);
    }
    for (int y = 0; y < ch; y++) {
        uint8_t *u = img->plane[1] + (size_t)y * (size_t)img->stride[1];
        uint8_t *v = img->plane[2] + (size_t)y * (size_t)img->stride[2];
        for (int x = 0; x < cw; x++) {
            u[x] = (uint8_t)(128 + ((x * 8 / cw) - 4) * 12);
            v[x] = (uint8_t)(128 + ((y * 8 / ch) - 4) * 12);
        }
    }
    /* A moving box below the code row. */
    int box = h / 4 < 16 ? 16 : h / 4;
    if (box < w && box + 2 * bs < h) {
        int span_x = w - box, span_y = h - 2 * bs - box;
        int bx = (int)((frame_no * 5u) % (unsigned)(2 * span_x));
        int by = (int)((frame_no * 3u) % (unsigned)(2 * (span_y > 0 ? span_y : 1)));
        bx = bx > span_x ? 2 * span_x - bx : bx;
        by = by > span_y ? 2 * span_y - by : by;
        fill_rect(img->plane[0], img->stride[0], bx, 2 * bs + by, box, box, 235);
    }
    /* The code row, on a mid-grey band. */
    fill_rect(img->plane[0], img->stride[0], 0, 0, w, bs < h ? bs : h, 128);
    uint32_t code = (frame_no & 0xFFFF) << 8 | pattern_check(frame_no & 0xFFFF);
    for (int i = 0; i < PATTERN_BITS && (i + 1) * bs <= w && bs <= h; i++) {
        bool one = code >> (PATTERN_BITS - 1 - i) & 1;
        fill_rect(img->plane[0], img->stride[0], i * bs, 0, bs, bs, one ? PATTERN_HI : PATTERN_LO);
    }
}

int codec_pattern_read(const codec_image_t *img)
{
    int bs = pattern_block(img);
    if (PATTERN_BITS * bs > img->width || bs > img->height)
        return -EBADMSG;
    uint32_t code = 0;
    int m = bs / 4;
    for (int i = 0; i < PATTERN_BITS; i++) {
        unsigned sum = 0, cnt = 0;
        for (int y = m; y < bs - m; y++)
            for (int x = i * bs + m; x < (i + 1) * bs - m; x++, cnt++)
                sum += img->plane[0][(size_t)y * (size_t)img->stride[0] + (size_t)x];
        unsigned avg = sum / cnt;
        if (avg > 96 && avg < 160)
            return -EBADMSG; /* neither black nor white: not our pattern */
        code = code << 1 | (avg >= 128);
    }
    uint32_t n = code >> 8;
    if ((code & 0xFF) != pattern_check(n))
        return -EBADMSG;
    return (int)n;
}
