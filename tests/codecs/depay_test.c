/* tests/codecs/depay_test.c: payload descriptor parsing, H.264 unit rewriting, malformed input,
 * and frame assembly under loss, reordering and duplication. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "codecs/codecs.h"
#include "tests/support/tst.h"

static codec_depay_t *mk(codec_id_t c)
{
    codec_depay_t *d = codec_depay_create(&(codec_depay_cfg_t){.codec = c});
    cr_assert(d);
    return d;
}

/* RFC 7741 §4.2, every optional field present: X=1 N=1 S=1 PID=2; I L T K; M + pid 0x2A5B;
 * TL0PICIDX 0xFE; TID=2 Y=1 KEYIDX=17. */
Test(codecs_depay, vp8_descriptor_all_fields)
{
    const uint8_t b[] = {0xB2, 0xF0, 0xAA, 0x5B, 0xFE, 0xB1, 0x99};
    codec_vp8_desc_t d;
    cr_assert_eq(codec_vp8_desc_parse(tst_guard_copy(b, sizeof b), sizeof b, &d), 6);
    cr_expect(d.nonref && d.start);
    cr_expect_eq(d.pid, 2);
    cr_expect_eq(d.picture_id, 0x2A5B);
    cr_expect_eq(d.tl0picidx, 0xFE);
    cr_expect_eq(d.tid, 2);
    cr_expect(d.layer_sync);
    cr_expect_eq(d.keyidx, 17);
    /* 7-bit picture id, no X at all */
    const uint8_t b2[] = {0x90, 0x80, 0x11, 0x42};
    cr_assert_eq(codec_vp8_desc_parse(b2, sizeof b2, &d), 3);
    cr_expect_eq(d.picture_id, 0x11);
    cr_expect_eq(d.tid, -1);
    const uint8_t b3[] = {0x10, 0x42};
    cr_assert_eq(codec_vp8_desc_parse(b3, sizeof b3, &d), 1);
    cr_expect_eq(d.picture_id, -1);
    /* every truncation fails cleanly (guard page catches over-reads) */
    for (size_t n = 0; n < sizeof b; n++)
        cr_expect_eq(codec_vp8_desc_parse(tst_guard_copy(b, n), n, &d), -EBADMSG, "len %zu", n);
}

/* RFC 9628 §4.2.1: an SS for 3 spatial layers with resolutions and a picture group of 2. */
Test(codecs_depay, vp9_descriptor_with_scalability_structure)
{
    const uint8_t b[] = {0x8A,                          /* I B V, non-flexible, no L */
                         0x00 | 0x05,                   /* 7-bit picture id 5 */
                         0x58,                          /* N_S=2 (3 layers) Y=1 G=1 */
                         0x01,        0x40, 0x00, 0xB4, /* 320x180 */
                         0x02,        0x80, 0x01, 0x68, /* 640x360 */
                         0x05,        0x00, 0x02, 0xD0, /* 1280x720 */
                         0x02,                          /* N_G = 2 */
                         0x04,        0x01,             /* TID 0 U 0 R 1, P_DIFF 1 */
                         0x38,        0x01, 0x02,       /* TID 1 U 1 R 2, P_DIFFs */
                         0xAB};                         /* data */
    codec_vp9_desc_t d;
    cr_assert_eq(codec_vp9_desc_parse(tst_guard_copy(b, sizeof b), sizeof b, &d), sizeof b - 1);
    cr_expect_eq(d.picture_id, 5);
    cr_expect_eq(d.ss_n_s, 3);
    cr_expect_eq(d.ss_width[0], 320);
    cr_expect_eq(d.ss_height[0], 180);
    cr_expect_eq(d.ss_width[2], 1280);
    cr_expect_eq(d.ss_height[2], 720);
    cr_expect_eq(d.ss_n_g, 2);
    for (size_t n = 0; n < sizeof b; n++)
        cr_expect_eq(codec_vp9_desc_parse(tst_guard_copy(b, n), n, &d), -EBADMSG, "len %zu", n);
    /* flexible mode: a fourth P_DIFF (N set on the third) is malformed */
    const uint8_t bad[] = {0xD8, 0x01, 0x03, 0x05, 0x07, 0x09, 0xAA};
    cr_expect_eq(codec_vp9_desc_parse(bad, sizeof bad, &d), -EBADMSG);
}

/* RFC 6184 §5.7.1 Figure 7 (STAP-A with two units) and §5.8 (FU-A) rewritten to Annex-B. */
Test(codecs_depay, h264_stap_a_fu_a_to_annex_b)
{
    codec_depay_t *d = mk(CODEC_H264);
    const uint8_t stap[] = {0x78, 0x00, 0x04, 0x67, 0x42, 0xC0, 0x1F, 0x00, 0x03, 0x68, 0xCE, 0x3C};
    const uint8_t fu1[] = {0x7C, 0x85, 0x88, 0x84}, fu2[] = {0x7C, 0x05, 0x21, 0x22},
                  fu3[] = {0x7C, 0x45, 0x31};
    cr_assert_eq(codec_depay_push(d, stap, sizeof stap, 10, 900, false), 0);
    cr_assert_eq(codec_depay_push(d, fu1, sizeof fu1, 11, 900, false), 0);
    cr_assert_eq(codec_depay_push(d, fu2, sizeof fu2, 12, 900, false), 0);
    codec_frame_t f;
    cr_assert_eq(codec_depay_pop(d, &f), 0); /* no marker yet */
    cr_assert_eq(codec_depay_push(d, fu3, sizeof fu3, 13, 900, true), 0);
    cr_assert_eq(codec_depay_pop(d, &f), 1);
    const uint8_t want[] = {0,    0,    0, 1, 0x67, 0x42, 0xC0, 0x1F, 0,    0,    0,    1,   0x68,
                            0xCE, 0x3C, 0, 0, 0,    1,    0x65, 0x88, 0x84, 0x21, 0x22, 0x31};
    cr_assert_eq(f.len, sizeof want);
    cr_assert_arr_eq(f.data, want, sizeof want);
    cr_expect(f.flags & CODEC_FRAME_KEY);
    cr_expect_eq(f.first_seq, 10);
    cr_expect_eq(f.last_seq, 13);
    codec_depay_destroy(d);
}

Test(codecs_depay, malformed_payloads_dropped_and_counted)
{
    codec_depay_t *d = mk(CODEC_H264);
    const struct {
        uint8_t b[8];
        size_t len;
        int err;
    } bad[] = {
        {{0}, 0, -EBADMSG},                                    /* empty */
        {{0x80 | 0x05, 0x88}, 2, -EBADMSG},                    /* F bit */
        {{0x00, 0x01}, 2, -EBADMSG},                           /* type 0 */
        {{0x1E, 0x01}, 2, -EBADMSG},                           /* type 30 */
        {{0x78, 0x00, 0x05, 0x67, 0x42}, 5, -EBADMSG},         /* STAP-A unit longer than payload */
        {{0x78, 0x00}, 2, -EBADMSG},                           /* STAP-A truncated size */
        {{0x78}, 1, -EBADMSG},                                 /* STAP-A without units */
        {{0x78, 0x00, 0x00}, 3, -EBADMSG},                     /* STAP-A zero-size unit */
        {{0x7C, 0xC5, 0x01}, 3, -EBADMSG},                     /* FU-A with S and E */
        {{0x7C, 0x85}, 2, -EBADMSG},                           /* FU-A without data */
        {{0x7C, 0x98, 0x01}, 3, -EBADMSG},                     /* FU-A of a STAP-A */
        {{0x79, 0x00, 0x01, 0x01}, 4, -EPROTONOSUPPORT},       /* STAP-B */
        {{0x7D, 0x85, 0x00, 0x01, 0x02}, 5, -EPROTONOSUPPORT}, /* FU-B */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_expect_eq(codec_depay_push(d, tst_guard_copy(bad[i].b, bad[i].len), bad[i].len,
                                      (uint16_t)i, 0, true),
                     bad[i].err, "case %zu", i);
    cr_expect_eq(codec_depay_stats(d)->malformed, sizeof bad / sizeof bad[0]);
    codec_frame_t f;
    cr_expect_eq(codec_depay_pop(d, &f), 0);
    codec_depay_destroy(d);

    d = mk(CODEC_VP8);
    const uint8_t v1[] = {0x90}, v2[] = {0x90, 0x80}, v3[] = {0x90, 0x80, 0x81};
    cr_expect_eq(codec_depay_push(d, v1, 1, 1, 0, true), -EBADMSG); /* no data */
    cr_expect_eq(codec_depay_push(d, v2, 2, 2, 0, true), -EBADMSG); /* I but no pid */
    cr_expect_eq(codec_depay_push(d, v3, 3, 3, 0, true), -EBADMSG); /* M but short pid */
    cr_expect_eq(codec_depay_stats(d)->malformed, 3);
    codec_depay_destroy(d);

    d = mk(CODEC_OPUS);
    const uint8_t o1[] = {0x03}; /* code 3 without a count byte */
    cr_expect_eq(codec_depay_push(d, o1, 1, 1, 0, false), -EBADMSG);
    cr_expect_eq(codec_depay_stats(d)->malformed, 1);
    codec_depay_destroy(d);
}

/* A VP8 frame of @n packets: descriptor with S on the first, 2 data bytes each. */
static void vp8_pkt(uint8_t *b, bool start, uint8_t v)
{
    b[0] = start ? 0x10 : 0x00;
    b[1] = v;
    b[2] = (uint8_t)(v + 1);
}

/* Frames of 3 packets; packets arrive shuffled within a frame and across neighbours; the
 * middle packet of frame 2 is lost. Frames 0, 1, 3, 4 come out whole and in order, frame 2
 * never does, frame 3 carries GAP. */
Test(codecs_depay, loss_and_reorder)
{
    codec_depay_t *d = codec_depay_create(
        &(codec_depay_cfg_t){.codec = CODEC_VP8, .max_pending = 4, .reorder_window = 8});
    cr_assert(d);
    struct {
        int frame, idx;
    } order[] = {{0, 1}, {0, 0}, {0, 2}, {1, 2}, {1, 0}, {2, 0}, {1, 1}, {3, 0}, {2, 2},
                 {3, 2}, {3, 1}, {4, 0}, {4, 1}, {4, 2}, {5, 0}, {5, 1}, {5, 2}};
    int got[8], ngot = 0;
    uint32_t gapflags[8];
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        uint8_t b[3];
        int fr = order[i].frame, k = order[i].idx;
        vp8_pkt(b, k == 0, (uint8_t)(fr * 10 + k));
        cr_assert_eq(
            codec_depay_push(d, b, 3, (uint16_t)(100 + fr * 3 + k), (uint32_t)fr * 3000, k == 2),
            0);
        codec_frame_t f;
        while (codec_depay_pop(d, &f) == 1) {
            cr_assert_eq(f.len, 6);
            got[ngot] = f.data[0] / 10;
            gapflags[ngot++] = f.flags & CODEC_FRAME_GAP;
            for (int j = 0; j < 3; j++)
                cr_assert_eq(f.data[2 * j], f.data[0] + j, "frame bytes out of order");
        }
    }
    codec_frame_t f;
    codec_depay_flush(d);
    while (codec_depay_pop(d, &f) == 1)
        got[ngot++] = f.data[0] / 10;
    cr_assert_eq(ngot, 5);
    int want[] = {0, 1, 3, 4, 5};
    for (int i = 0; i < 5; i++)
        cr_expect_eq(got[i], want[i], "frame %d: %d", i, got[i]);
    cr_expect(!gapflags[0] && !gapflags[1] && gapflags[2] && !gapflags[3]);
    const codec_depay_stats_t *st = codec_depay_stats(d);
    cr_expect_eq(st->incomplete, 1);
    cr_expect_eq(st->gaps, 1);
    /* the lost packet turns up late: dropped */
    uint8_t b[3];
    vp8_pkt(b, false, 21);
    cr_expect_eq(codec_depay_push(d, b, 3, 107, 6000, false), -EALREADY);
    cr_expect_eq(st->late, 1);
    codec_depay_destroy(d);
}

Test(codecs_depay, duplicates_dropped)
{
    codec_depay_t *d = mk(CODEC_VP8);
    uint8_t b[3];
    vp8_pkt(b, true, 1);
    cr_assert_eq(codec_depay_push(d, b, 3, 1, 0, false), 0);
    cr_assert_eq(codec_depay_push(d, b, 3, 1, 0, false), -EALREADY);
    vp8_pkt(b, false, 2);
    cr_assert_eq(codec_depay_push(d, b, 3, 2, 0, true), 0);
    codec_frame_t f;
    cr_assert_eq(codec_depay_pop(d, &f), 0); /* a first delta frame waits for stragglers */
    codec_depay_flush(d);
    cr_assert_eq(codec_depay_pop(d, &f), 1);
    cr_expect_eq(f.len, 4);
    cr_assert_eq(codec_depay_push(d, b, 3, 2, 0, true), -EALREADY);
    cr_expect_eq(codec_depay_stats(d)->duplicates, 1);
    cr_expect_eq(codec_depay_stats(d)->late, 1);
    codec_depay_destroy(d);
}

/* The first packet of a frame lost: no start, so the frame can never be whole; with the packet
 * after it whole, the reorder window lets it go. */
Test(codecs_depay, lost_first_packet_never_yields_frame)
{
    codec_depay_t *d = codec_depay_create(
        &(codec_depay_cfg_t){.codec = CODEC_VP8, .max_pending = 8, .reorder_window = 4});
    uint8_t b[3];
    codec_frame_t f;
    vp8_pkt(b, false, 1);
    cr_assert_eq(codec_depay_push(d, b, 3, 2, 0, true), 0); /* seq 1 (start) lost */
    for (int fr = 1; fr <= 6; fr++) {
        vp8_pkt(b, true, (uint8_t)(fr * 10));
        cr_assert_eq(codec_depay_push(d, b, 3, (uint16_t)(2 + fr), (uint32_t)fr * 3000, true), 0);
        while (codec_depay_pop(d, &f) == 1)
            cr_assert_neq(f.rtp_ts, 0, "broken frame handed out");
    }
    cr_expect_eq(codec_depay_stats(d)->incomplete, 1);
    cr_expect_geq(codec_depay_stats(d)->frames, 5);
    codec_depay_destroy(d);
}

/* A frame larger than max_frame_len is dropped and counted, and the stream goes on. */
Test(codecs_depay, oversized_frame_dropped)
{
    codec_depay_t *d = codec_depay_create(
        &(codec_depay_cfg_t){.codec = CODEC_VP8, .max_frame_len = 8, .reorder_window = 2});
    uint8_t b[8] = {0x10, 1, 2, 3, 4, 5};
    cr_assert_eq(codec_depay_push(d, b, 6, 1, 0, false), 0);
    b[0] = 0;
    cr_assert_eq(codec_depay_push(d, b, 6, 2, 0, true), -EMSGSIZE);
    cr_expect_eq(codec_depay_stats(d)->overflow, 1);
    codec_frame_t f;
    for (int i = 0; i < 5; i++) {
        b[0] = 0x10;
        cr_assert_eq(codec_depay_push(d, b, 3, (uint16_t)(3 + i), (uint32_t)(i + 1) * 10, true), 0);
        while (codec_depay_pop(d, &f) == 1)
            cr_assert_neq(f.rtp_ts, 0);
    }
    codec_depay_flush(d);
    while (codec_depay_pop(d, &f) == 1)
        cr_assert_neq(f.rtp_ts, 0);
    cr_expect_eq(codec_depay_stats(d)->frames, 5);
    codec_depay_destroy(d);
}

/* With temporal layers, losing a TL1 frame leaves the base chain intact: the next TL0 frame
 * comes with GAP and BASE_OK. */
Test(codecs_depay, temporal_layer_loss_keeps_base)
{
    codec_pay_t p;
    cr_assert_eq(codec_pay_init(&p, &(codec_pay_cfg_t){.codec = CODEC_VP8, .max_payload_len = 100}),
                 0);
    codec_depay_t *d = codec_depay_create(
        &(codec_depay_cfg_t){.codec = CODEC_VP8, .reorder_window = 2, .max_pending = 3});
    uint8_t fr[10] = {0x11, 1, 2, 3};
    uint16_t seq = 0;
    int n_base_ok = 0, n_gap = 0;
    for (int i = 0; i < 8; i++) {
        codec_frame_t f = {.codec = CODEC_VP8,
                           .data = fr,
                           .len = sizeof fr,
                           .rtp_ts = (uint32_t)i * 3000,
                           .tid = (uint8_t)(i & 1),
                           .flags = CODEC_FRAME_LAYERED | ((i & 1) ? CODEC_FRAME_SYNC : 0)};
        cr_assert_eq(codec_pay_frame(&p, &f), 0);
        uint8_t b[100];
        bool m;
        int n = codec_pay_next(&p, b, sizeof b, &m);
        cr_assert_gt(n, 0);
        seq++;
        if (i == 3)
            continue; /* lose a TL1 frame */
        cr_assert_eq(codec_depay_push(d, b, (size_t)n, seq, f.rtp_ts, m), 0);
        codec_frame_t g;
        while (codec_depay_pop(d, &g) == 1) {
            if (g.flags & CODEC_FRAME_GAP) {
                n_gap++;
                n_base_ok += !!(g.flags & CODEC_FRAME_BASE_OK);
                cr_expect_eq(g.tid, 0);
            }
        }
    }
    cr_expect_eq(n_gap, 1);
    cr_expect_eq(n_base_ok, 1);
    codec_depay_destroy(d);
}

Test(codecs_depay, bad_config)
{
    cr_expect_null(codec_depay_create(&(codec_depay_cfg_t){.codec = CODEC_NONE}));
    cr_expect_null(
        codec_depay_create(&(codec_depay_cfg_t){.codec = CODEC_VP8, .max_pending = 1000}));
}
