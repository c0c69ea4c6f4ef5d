/* tests/codecs/pay_test.c: packetizers, checked byte for byte against the RFC layouts and by
 * round trips through the depacketizers. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "codecs/codecs.h"

typedef struct {
    uint8_t b[64][1500];
    size_t len[64];
    bool marker[64];
    int n;
} pkts_t;

static void packetize(codec_pay_t *p, const codec_frame_t *f, pkts_t *out)
{
    cr_assert_eq(codec_pay_frame(p, f), 0);
    int n;
    bool m;
    out->n = 0;
    while ((n = codec_pay_next(p, out->b[out->n], sizeof out->b[0], &m)) > 0) {
        cr_assert_lt(out->n, 63);
        out->len[out->n] = (size_t)n;
        out->marker[out->n] = m;
        out->n++;
    }
    cr_assert_eq(n, 0);
}

static void fill(uint8_t *b, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(seed * 31 + i * 7 + (i >> 8));
}

/* RFC 7741 §4.2 layout: X|R|N|S|R|PID, then I|L|T|K|RSV, M + 15-bit picture id, TL0PICIDX,
 * TID|Y|KEYIDX. */
Test(codecs_pay, vp8_descriptor_known_answer)
{
    codec_pay_t p;
    cr_assert_eq(codec_pay_init(&p, &(codec_pay_cfg_t){.codec = CODEC_VP8,
                                                       .max_payload_len = 100,
                                                       .picture_id = 0x1234,
                                                       .tl0picidx = 5}),
                 0);
    uint8_t frame[150];
    fill(frame, sizeof frame, 1);
    frame[0] = 0x10; /* payload header: P=0 (keyframe) */
    codec_frame_t f = {.codec = CODEC_VP8,
                       .data = frame,
                       .len = sizeof frame,
                       .flags = CODEC_FRAME_KEY | CODEC_FRAME_LAYERED | CODEC_FRAME_SYNC,
                       .tid = 1};
    pkts_t o;
    packetize(&p, &f, &o);
    cr_assert_eq(o.n, 2);
    /* X=1 S=1 PID=0; I=1 L=1 T=1; M=1 pid 0x1234; TL0PICIDX 5; TID=1 Y=1 */
    const uint8_t d1[] = {0x90, 0xE0, 0x92, 0x34, 0x05, 0x60};
    const uint8_t d2[] = {0x80, 0xE0, 0x92, 0x34, 0x05, 0x60};
    cr_assert_arr_eq(o.b[0], d1, sizeof d1);
    cr_assert_arr_eq(o.b[1], d2, sizeof d2);
    cr_expect_eq(o.len[0], 100);
    cr_expect_eq(o.len[1], 6 + 150 - 94);
    cr_expect(!o.marker[0]);
    cr_expect(o.marker[1]);
    cr_assert_arr_eq(o.b[0] + 6, frame, 94);
    cr_assert_arr_eq(o.b[1] + 6, frame + 94, 56);
    /* Next frame: picture id +1; a TL0 frame bumps TL0PICIDX (the first TL0 frame keeps the
     * configured value). */
    f.tid = 0;
    f.flags = CODEC_FRAME_LAYERED;
    packetize(&p, &f, &o);
    const uint8_t d3[] = {0x90, 0xE0, 0x92, 0x35, 0x05, 0x00};
    cr_assert_arr_eq(o.b[0], d3, sizeof d3);
    packetize(&p, &f, &o);
    const uint8_t d4[] = {0x90, 0xE0, 0x92, 0x36, 0x06, 0x00};
    cr_assert_arr_eq(o.b[0], d4, sizeof d4);
    /* Without layers: only I; a non-reference frame sets N. Picture id wraps at 15 bits. */
    cr_assert_eq(codec_pay_init(&p, &(codec_pay_cfg_t){.codec = CODEC_VP8,
                                                       .max_payload_len = 1200,
                                                       .picture_id = 0x7FFF}),
                 0);
    f.flags = CODEC_FRAME_NONREF;
    packetize(&p, &f, &o);
    const uint8_t d5[] = {0xB0, 0x80, 0xFF, 0xFF};
    cr_assert_arr_eq(o.b[0], d5, sizeof d5);
    packetize(&p, &f, &o);
    const uint8_t d6[] = {0xB0, 0x80, 0x80, 0x00};
    cr_assert_arr_eq(o.b[0], d6, sizeof d6);
}

/* RFC 9628 §4.2: I|P|L|F|B|E|V|Z, M + picture id, TID|U|SID|D, TL0PICIDX (non-flexible) or
 * P_DIFF|N (flexible), then the SS: N_S|Y|G, WIDTH, HEIGHT. */
Test(codecs_pay, vp9_descriptor_non_flexible_known_answer)
{
    codec_pay_t p;
    cr_assert_eq(codec_pay_init(&p, &(codec_pay_cfg_t){.codec = CODEC_VP9,
                                                       .max_payload_len = 200,
                                                       .picture_id = 0x0102,
                                                       .tl0picidx = 9}),
                 0);
    uint8_t frame[300];
    fill(frame, sizeof frame, 2);
    codec_frame_t f = {.codec = CODEC_VP9,
                       .data = frame,
                       .len = sizeof frame,
                       .flags = CODEC_FRAME_KEY | CODEC_FRAME_LAYERED,
                       .width = 640,
                       .height = 360};
    pkts_t o;
    packetize(&p, &f, &o);
    cr_assert_eq(o.n, 2);
    /* I=1 P=0 L=1 F=0 B=1 E=0 V=1; pid; TID=0 U=0 SID=0 D=0; TL0PICIDX 9;
     * SS: N_S=0 Y=1 G=0, 640, 360 */
    const uint8_t d1[] = {0xAA, 0x81, 0x02, 0x00, 0x09, 0x10, 0x02, 0x80, 0x01, 0x68};
    cr_assert_arr_eq(o.b[0], d1, sizeof d1);
    /* second packet: B=0 E=1 V=0 */
    const uint8_t d2[] = {0xA4, 0x81, 0x02, 0x00, 0x09};
    cr_assert_arr_eq(o.b[1], d2, sizeof d2);
    cr_expect(o.marker[1] && !o.marker[0]);
    /* an inter frame on TL1, a switching-up point: P=1, TID=1 U=1, same TL0PICIDX */
    f.flags = CODEC_FRAME_LAYERED | CODEC_FRAME_SYNC;
    f.tid = 1;
    f.len = 50;
    packetize(&p, &f, &o);
    cr_assert_eq(o.n, 1);
    const uint8_t d3[] = {0xEC, 0x81, 0x03, 0x30, 0x09};
    cr_assert_arr_eq(o.b[0], d3, sizeof d3);

    codec_vp9_desc_t d;
    cr_assert_eq(codec_vp9_desc_parse(o.b[0], o.len[0], &d), 5);
    cr_expect(d.i && d.p && d.l && !d.f && d.b && d.e && !d.v);
    cr_expect_eq(d.picture_id, 0x103);
    cr_expect_eq(d.tid, 1);
    cr_expect(d.u);
    cr_expect_eq(d.tl0picidx, 9);
}

Test(codecs_pay, vp9_descriptor_flexible_known_answer)
{
    codec_pay_t p;
    cr_assert_eq(codec_pay_init(&p, &(codec_pay_cfg_t){.codec = CODEC_VP9,
                                                       .max_payload_len = 1200,
                                                       .vp9_flexible = true,
                                                       .picture_id = 5}),
                 0);
    uint8_t frame[40];
    fill(frame, sizeof frame, 3);
    codec_frame_t f = {.codec = CODEC_VP9,
                       .data = frame,
                       .len = sizeof frame,
                       .flags = CODEC_FRAME_LAYERED,
                       .tid = 2,
                       .pdiff_cnt = 2,
                       .pdiff = {1, 3}};
    pkts_t o;
    packetize(&p, &f, &o);
    /* I P L F B E; pid 5 (15-bit); TID=2; P_DIFF 1 N=1, P_DIFF 3 N=0; no TL0PICIDX */
    const uint8_t d1[] = {0xFC, 0x80, 0x05, 0x40, 0x03, 0x06};
    cr_assert_arr_eq(o.b[0], d1, sizeof d1);
    codec_vp9_desc_t d;
    cr_assert_eq(codec_vp9_desc_parse(o.b[0], o.len[0], &d), 6);
    cr_expect_eq(d.pdiff_cnt, 2);
    cr_expect_eq(d.pdiff[0], 1);
    cr_expect_eq(d.pdiff[1], 3);
    cr_expect_eq(d.tl0picidx, -1);
}

/* RFC 6184: small NAL units are aggregated into one STAP-A (§5.7.1), a large one is cut into
 * FU-A fragments (§5.8), and the marker is on the access unit's last packet. */
Test(codecs_pay, h264_stap_a_and_fu_a_known_answer)
{
    static uint8_t au[4 + 4 + 4 + 4 + 4 + 2500];
    size_t n = 0;
    const uint8_t sps[] = {0x67, 0x42, 0xC0, 0x1F}, pps[] = {0x68, 0xCE, 0x3C, 0x80};
    const uint8_t sc[] = {0, 0, 0, 1};
    memcpy(au + n, sc, 4), n += 4;
    memcpy(au + n, sps, 4), n += 4;
    memcpy(au + n, sc + 1, 3), n += 3; /* a 3-byte start code works too */
    memcpy(au + n, pps, 4), n += 4;
    memcpy(au + n, sc, 4), n += 4;
    au[n] = 0x65; /* IDR, NRI 3 */
    fill(au + n + 1, 2499, 4);
    au[n + 1] |= 0x80; /* first_mb_in_slice = 0 */
    for (size_t i = n + 1; i < n + 2500; i++)
        if (au[i] == 0)
            au[i] = 0x11; /* no start-code emulation in the slice data */
    size_t idr = n;
    n += 2500;
    codec_pay_t p;
    cr_assert_eq(
        codec_pay_init(&p, &(codec_pay_cfg_t){.codec = CODEC_H264, .max_payload_len = 1000}), 0);
    codec_frame_t f = {.codec = CODEC_H264, .data = au, .len = n};
    pkts_t o;
    packetize(&p, &f, &o);
    cr_assert_eq(o.n, 4); /* STAP-A(SPS, PPS), FU-A x3 */
    /* STAP-A header: F=0, NRI = max(3, 3) = 3, type 24 */
    const uint8_t stap[] = {0x78, 0x00, 0x04, 0x67, 0x42, 0xC0, 0x1F,
                            0x00, 0x04, 0x68, 0xCE, 0x3C, 0x80};
    cr_assert_eq(o.len[0], sizeof stap);
    cr_assert_arr_eq(o.b[0], stap, sizeof stap);
    /* FU indicator 0x7C (NRI 3, type 28); FU headers S|type 5 = 0x85, 0x05, E|type 5 = 0x45 */
    cr_expect_eq(o.b[1][0], 0x7C);
    cr_expect_eq(o.b[1][1], 0x85);
    cr_expect_eq(o.b[2][1], 0x05);
    cr_expect_eq(o.b[3][1], 0x45);
    cr_expect_eq(o.len[1], 1000);
    cr_expect_eq(o.len[1] - 2 + o.len[2] - 2 + o.len[3] - 2, 2499);
    cr_assert_arr_eq(o.b[1] + 2, au + idr + 1, 998);
    cr_expect(!o.marker[0] && !o.marker[1] && !o.marker[2] && o.marker[3]);
    /* a lone small NAL unit goes as a single NAL unit packet */
    const uint8_t one[] = {0, 0, 1, 0x41, 0x9A, 0x02, 0x03};
    f.data = one;
    f.len = sizeof one;
    packetize(&p, &f, &o);
    cr_assert_eq(o.n, 1);
    cr_assert_eq(o.len[0], 4);
    cr_assert_arr_eq(o.b[0], one + 3, 4);
    cr_expect(o.marker[0]);
    /* no start code: not an Annex-B access unit */
    const uint8_t raw[] = {0x41, 0x9A, 0x02};
    f.data = raw;
    f.len = sizeof raw;
    bool m;
    uint8_t buf[1000];
    cr_assert_eq(codec_pay_frame(&p, &f), 0);
    cr_expect_eq(codec_pay_next(&p, buf, sizeof buf, &m), -EBADMSG);
}

Test(codecs_pay, audio_one_frame_per_payload)
{
    codec_pay_t p;
    cr_assert_eq(
        codec_pay_init(&p, &(codec_pay_cfg_t){.codec = CODEC_OPUS, .max_payload_len = 200}), 0);
    uint8_t fr[100];
    fill(fr, sizeof fr, 5);
    codec_frame_t f = {.codec = CODEC_OPUS, .data = fr, .len = 100, .flags = CODEC_FRAME_TALKSPURT};
    pkts_t o;
    packetize(&p, &f, &o);
    cr_assert_eq(o.n, 1);
    cr_expect(o.marker[0]);
    cr_assert_arr_eq(o.b[0], fr, 100);
    f.len = 201;
    uint8_t big[201] = {0};
    f.data = big;
    cr_expect_eq(codec_pay_frame(&p, &f), -EMSGSIZE);
    cr_expect_eq(
        codec_pay_init(&p, &(codec_pay_cfg_t){.codec = CODEC_NONE, .max_payload_len = 200}),
        -EINVAL);
    cr_expect_eq(codec_pay_init(&p, &(codec_pay_cfg_t){.codec = CODEC_VP8, .max_payload_len = 10}),
                 -EINVAL);
}

/* Packetize N frames, push every payload in order into a depacketizer, get the same frames
 * back. */
static void round_trip(codec_id_t codec, bool flexible)
{
    codec_pay_t p;
    cr_assert_eq(codec_pay_init(&p, &(codec_pay_cfg_t){.codec = codec,
                                                       .max_payload_len = 300,
                                                       .vp9_flexible = flexible}),
                 0);
    codec_depay_t *d = codec_depay_create(&(codec_depay_cfg_t){.codec = codec});
    cr_assert(d);
    uint16_t seq = 65530; /* wraps */
    static uint8_t frame[3000];
    for (int i = 0; i < 20; i++) {
        size_t len = 100 + (size_t)i * 97;
        fill(frame, len, (unsigned)i);
        if (codec == CODEC_H264) {
            frame[0] = frame[1] = frame[2] = 0;
            frame[3] = 1;
            frame[4] = i == 0 ? 0x65 : 0x41;
            frame[5] |= 0x80;
            for (size_t k = 5; k < len; k++)
                if (frame[k] == 0)
                    frame[k] = 1;
        } else if (codec == CODEC_VP8) {
            frame[0] = i == 0 ? 0x10 : 0x11;
        }
        codec_frame_t f = {.codec = codec,
                           .data = frame,
                           .len = len,
                           .rtp_ts = (uint32_t)i * 3000,
                           .flags = i == 0 ? CODEC_FRAME_KEY : 0};
        pkts_t o;
        packetize(&p, &f, &o);
        for (int k = 0; k < o.n; k++)
            cr_assert_eq(codec_depay_push(d, o.b[k], o.len[k], seq++, f.rtp_ts, o.marker[k]), 0);
        codec_frame_t g;
        cr_assert_eq(codec_depay_pop(d, &g), 1, "frame %d", i);
        cr_assert_eq(g.len, len, "frame %d: %zu != %zu", i, g.len, len);
        cr_assert_arr_eq(g.data, frame, len);
        cr_expect_eq(g.rtp_ts, f.rtp_ts);
        cr_expect_eq(!!(g.flags & CODEC_FRAME_KEY), i == 0, "frame %d flags %x", i, g.flags);
        cr_expect(!(g.flags & CODEC_FRAME_GAP));
        cr_assert_eq(codec_depay_pop(d, &g), 0);
    }
    cr_expect_eq(codec_depay_stats(d)->frames, 20);
    codec_depay_destroy(d);
}

Test(codecs_pay, round_trip_vp8)
{
    round_trip(CODEC_VP8, false);
}
Test(codecs_pay, round_trip_vp9)
{
    round_trip(CODEC_VP9, false);
}
Test(codecs_pay, round_trip_vp9_flexible)
{
    round_trip(CODEC_VP9, true);
}
Test(codecs_pay, round_trip_h264)
{
    round_trip(CODEC_H264, false);
}
