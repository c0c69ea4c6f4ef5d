/* tests/codecs/aiortc_test.c: our RTP payloads against a real implementation, aiortc 1.4
 * (Debian python3-aiortc), through tests/codecs/aiortc_payloads.py:
 *  - aiortc parses what our VP8 and H.264 packetizers make (descriptor fields and the
 *    reassembled data must match);
 *  - our depacketizers reassemble what aiortc's packetizers make, and our decoders decode it.
 * Skipped when /usr/bin/python3 cannot import aiortc. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codecs/codecs.h"
#include "tests/support/tst.h"

#define PY "/usr/bin/python3"

static void need_aiortc(void)
{
    if (system(PY " -c 'import aiortc.codecs.vpx, aiortc.codecs.h264' >/dev/null 2>&1") != 0)
        cr_skip_test("python3-aiortc is not installed");
}

static void put_hex(FILE *f, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%02x", b[i]);
}

/* Runs the helper; returns its output (caller frees). */
static char *run(const char *mode, const char *in_path)
{
    char out_path[] = "/tmp/urtc-aiortc-out-XXXXXX";
    int fd = mkstemp(out_path);
    cr_assert_geq(fd, 0);
    close(fd);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, PY " %s %s %s %s", tst_src_path("tests/codecs/aiortc_payloads.py"),
             mode, in_path, out_path);
    cr_assert_eq(system(cmd), 0, "%s failed", cmd);
    size_t len;
    char *out = (char *)tst_read_file(out_path, &len);
    unlink(out_path);
    cr_assert(out);
    return out;
}

static FILE *tmp_in(char *path)
{
    strcpy(path, "/tmp/urtc-aiortc-in-XXXXXX");
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    FILE *f = fdopen(fd, "w");
    cr_assert(f);
    return f;
}

/* A few real frames: VP8 from our encoder (3 temporal layers), H.264 from openh264. */
typedef struct {
    uint8_t *data[6];
    size_t len[6];
    codec_frame_t f[6];
} frames_t;

static void make_frames(codec_id_t codec, frames_t *fr)
{
    codec_video_cfg_t cfg;
    codec_video_cfg_default(&cfg, codec, 320, 180);
    cfg.temporal_layers = codec == CODEC_VP8 ? 3 : 1;
    cfg.bitrate_kbps = 600; /* a keyframe of a few packets */
    codec_vpx_enc_t *ve = codec == CODEC_VP8 ? codec_vpx_enc_create(&cfg) : NULL;
    codec_h264_enc_t *he = codec == CODEC_H264 ? codec_h264_enc_create(&cfg) : NULL;
    codec_image_t img;
    cr_assert_eq(codec_image_alloc(&img, 320, 180), 0);
    for (int i = 0; i < 6; i++) {
        codec_pattern_draw(&img, (uint32_t)i);
        codec_frame_t f;
        int r = ve ? codec_vpx_encode(ve, &img, (uint32_t)i * 3000, &f)
                   : codec_h264_encode(he, &img, (uint32_t)i * 3000, &f);
        cr_assert_eq(r, 1);
        fr->data[i] = malloc(f.len);
        memcpy(fr->data[i], f.data, f.len);
        fr->len[i] = f.len;
        fr->f[i] = f;
        fr->f[i].data = fr->data[i];
    }
    codec_image_free(&img);
    codec_vpx_enc_destroy(ve);
    codec_h264_enc_destroy(he);
}

static void free_frames(frames_t *fr)
{
    for (int i = 0; i < 6; i++)
        free(fr->data[i]);
}

Test(codecs_aiortc, aiortc_parses_our_vp8_payloads)
{
    need_aiortc();
    frames_t fr;
    make_frames(CODEC_VP8, &fr);
    codec_pay_t p;
    cr_assert_eq(codec_pay_init(&p, &(codec_pay_cfg_t){.codec = CODEC_VP8,
                                                       .max_payload_len = 500,
                                                       .picture_id = 300,
                                                       .tl0picidx = 7}),
                 0);
    char in_path[64];
    FILE *in = tmp_in(in_path);
    int npk[6] = {0};
    for (int i = 0; i < 6; i++) {
        cr_assert_eq(codec_pay_frame(&p, &fr.f[i]), 0);
        uint8_t b[500];
        bool m;
        int n;
        while ((n = codec_pay_next(&p, b, sizeof b, &m)) > 0) {
            fprintf(in, "vp8 ");
            put_hex(in, b, (size_t)n);
            fprintf(in, "\n");
            npk[i]++;
        }
    }
    fclose(in);
    char *out = run("parse", in_path);
    unlink(in_path);
    char *line = strtok(out, "\n");
    int tl0 = 7;
    for (int i = 0; i < 6; i++) {
        static uint8_t data[200000];
        size_t got = 0;
        if (fr.f[i].tid == 0 && i > 0)
            tl0++;
        for (int k = 0; k < npk[i]; k++) {
            cr_assert(line);
            int s, pid, picid, t0, tid, y, keyidx, off = 0;
            cr_assert_eq(sscanf(line, "%d %d %d %d %d %d %d %n", &s, &pid, &picid, &t0, &tid, &y,
                                &keyidx, &off),
                         7, "%s", line);
            cr_expect_eq(s, k == 0, "frame %d pkt %d S", i, k);
            cr_expect_eq(pid, 0);
            cr_expect_eq(picid, 300 + i, "picture id");
            cr_expect_eq(t0, tl0, "frame %d TL0PICIDX %d", i, t0);
            cr_expect_eq(tid, fr.f[i].tid);
            cr_expect_eq(y, !!(fr.f[i].flags & CODEC_FRAME_SYNC));
            cr_expect_eq(keyidx, -1);
            got += tst_hex(line + off, data + got, sizeof data - got);
            line = strtok(NULL, "\n");
        }
        cr_assert_eq(got, fr.len[i], "frame %d", i);
        cr_assert_arr_eq(data, fr.data[i], got);
    }
    free(out);
    free_frames(&fr);
}

Test(codecs_aiortc, aiortc_depayloads_our_h264_payloads)
{
    need_aiortc();
    frames_t fr;
    make_frames(CODEC_H264, &fr);
    codec_pay_t p;
    cr_assert_eq(
        codec_pay_init(&p, &(codec_pay_cfg_t){.codec = CODEC_H264, .max_payload_len = 400}), 0);
    char in_path[64];
    FILE *in = tmp_in(in_path);
    int npk[6] = {0};
    for (int i = 0; i < 6; i++) {
        cr_assert_eq(codec_pay_frame(&p, &fr.f[i]), 0);
        uint8_t b[400];
        bool m;
        int n;
        while ((n = codec_pay_next(&p, b, sizeof b, &m)) > 0) {
            fprintf(in, "h264 ");
            put_hex(in, b, (size_t)n);
            fprintf(in, "\n");
            npk[i]++;
        }
    }
    fclose(in);
    cr_expect_gt(npk[0], 2, "the IDR needs FU-A at 400 bytes");
    char *out = run("parse", in_path);
    unlink(in_path);
    char *line = strtok(out, "\n");
    for (int i = 0; i < 6; i++) {
        static uint8_t data[200000];
        size_t got = 0;
        for (int k = 0; k < npk[i]; k++) {
            cr_assert(line);
            got += tst_hex(line, data + got, sizeof data - got);
            line = strtok(NULL, "\n");
        }
        /* openh264 writes 4-byte start codes, as aiortc does: byte for byte the same */
        cr_assert_eq(got, fr.len[i], "frame %d: %zu != %zu", i, got, fr.len[i]);
        cr_assert_arr_eq(data, fr.data[i], got);
    }
    free(out);
    free_frames(&fr);
}

/* aiortc packetizes; we reassemble and decode. */
static void aiortc_to_us(codec_id_t codec)
{
    need_aiortc();
    frames_t fr;
    make_frames(codec, &fr);
    char in_path[64];
    FILE *in = tmp_in(in_path);
    for (int i = 0; i < 6; i++) {
        if (codec == CODEC_VP8)
            fprintf(in, "vp8 %d ", 1000 + i);
        else
            fprintf(in, "h264 ");
        put_hex(in, fr.data[i], fr.len[i]);
        fprintf(in, "\n");
    }
    fclose(in);
    char *out = run("pay", in_path);
    unlink(in_path);
    codec_depay_t *d = codec_depay_create(&(codec_depay_cfg_t){.codec = codec});
    codec_vpx_dec_t *vd = codec == CODEC_VP8 ? codec_vpx_dec_create(codec) : NULL;
    codec_h264_dec_t *hd = codec == CODEC_H264 ? codec_h264_dec_create() : NULL;
    char *line = strtok(out, "\n");
    uint16_t seq = 500;
    for (int i = 0; i < 6; i++) {
        int n = 0;
        /* the frame's payloads, to know which is last (the marker) */
        static uint8_t all[64][2000];
        size_t alen[64];
        for (; line && strcmp(line, "end") != 0; line = strtok(NULL, "\n")) {
            cr_assert_lt(n, 64);
            alen[n] = tst_hex(line, all[n], sizeof all[0]);
            n++;
        }
        cr_assert(line);
        line = strtok(NULL, "\n");
        for (int k = 0; k < n; k++)
            cr_assert_eq(
                codec_depay_push(d, all[k], alen[k], seq++, (uint32_t)i * 3000, k == n - 1), 0,
                "frame %d pkt %d", i, k);
        codec_frame_t g;
        cr_assert_eq(codec_depay_pop(d, &g), 1, "frame %d", i);
        cr_assert_eq(g.len, fr.len[i]);
        cr_assert_arr_eq(g.data, fr.data[i], g.len);
        cr_expect_eq(!!(g.flags & CODEC_FRAME_KEY), i == 0);
        if (codec == CODEC_VP8)
            cr_expect_eq(g.picture_id, 1000 + i);
        codec_image_t img;
        int r = vd ? codec_vpx_decode(vd, &g, &img) : codec_h264_decode(hd, &g, &img);
        cr_assert_eq(r, 1);
        cr_expect_eq(codec_pattern_read(&img), i);
    }
    free(out);
    codec_depay_destroy(d);
    codec_vpx_dec_destroy(vd);
    codec_h264_dec_destroy(hd);
    free_frames(&fr);
}

Test(codecs_aiortc, we_reassemble_aiortc_vp8_payloads)
{
    aiortc_to_us(CODEC_VP8);
}

Test(codecs_aiortc, we_reassemble_aiortc_h264_payloads)
{
    aiortc_to_us(CODEC_H264);
}
