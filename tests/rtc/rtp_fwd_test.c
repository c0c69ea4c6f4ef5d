/* tests/rtc/rtp_fwd_test.c: the SFU's forwarding history (rtc/rtp/fwd.c). One store per
 * source, legs that rewrite the source's packets with their own SSRC, sequence and timestamp
 * offsets, payload type and extension ids; NACKs of a leg's numbers must be answered with
 * exactly the bytes that leg sent (or their RTX), and numbers the leg never sent not at all. */
#include "rtc/rtp/rtp.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#define MS NET_NS_PER_MS
#define NPKT 300
#define SRC_PT 100

enum { EXT_ASTIME = 3, EXT_LEVEL = 1, EXT_TWCC = 5 }; /* the source's ids */

/* Source packet @i: one-byte extensions (abs-send-time, an audio-level-like byte, transport
 * cc) and a payload that names @i, so that a packet mixed up with another one shows. */
static size_t src_pkt(uint8_t *b, size_t cap, uint32_t ssrc, uint16_t seq, uint32_t i)
{
    uint8_t ast[3] = {1, 2, 3}, lvl[1] = {(uint8_t)i}, twcc[2] = {(uint8_t)(i >> 8), (uint8_t)i};
    rtc_rtp_ext_put_t ext[] = {{EXT_ASTIME, 3, ast}, {EXT_LEVEL, 1, lvl}, {EXT_TWCC, 2, twcc}};
    rtc_rtp_hdr_t h = {
        .pt = SRC_PT, .seq = seq, .ts = 1000000u + i * 3000u, .ssrc = ssrc, .marker = i % 3 == 0};
    int n = rtc_rtp_hdr_write(b, cap, &h, ext, NET_ARRAY_LEN(ext));
    cr_assert_gt(n, 0);
    size_t plen = 40 + i % 50;
    for (size_t k = 0; k < plen; k++)
        b[n + k] = (uint8_t)(i * 7 + k);
    return (size_t)n + plen;
}

/* A subscriber leg as the SFU keeps it, plus what it sent (to compare the repairs with). */
struct leg {
    rtc_rtp_fwd_leg_t l;
    rtc_rtp_fwd_rw_t rw;
    uint16_t seq_off;
    uint8_t pt;
    bool on;
    uint16_t first, last;
    bool have;
    uint8_t *bytes; /* [65536][256] by the leg's sequence number */
    uint16_t *lens;
};

static void leg_init(struct leg *g, uint32_t ssrc, uint32_t ts_off, uint16_t seq_off, uint8_t pt,
                     uint8_t ast_id, uint8_t lvl_id)
{
    memset(g, 0, sizeof *g);
    cr_assert_eq(rtc_rtp_fwd_leg_init(&g->l, 256), 0);
    g->rw.ssrc = ssrc;
    g->rw.ts_off = ts_off;
    g->rw.extmap[EXT_ASTIME] = ast_id;
    g->rw.extmap[EXT_LEVEL] = lvl_id; /* transport cc: 0, removed */
    g->rw.abs_send_id = ast_id;
    g->seq_off = seq_off;
    g->pt = pt;
    g->bytes = calloc(65536, 256);
    g->lens = calloc(65536, sizeof *g->lens);
    cr_assert(g->bytes && g->lens);
}

static void leg_fini(struct leg *g)
{
    rtc_rtp_fwd_leg_fini(&g->l);
    free(g->bytes);
    free(g->lens);
}

/* What the SFU does per packet and leg (engine/sfu.c forward()). */
static void fwd(struct leg *g, const uint8_t *b, size_t len, const rtc_rtp_fwd_ref_t *ref,
                uint64_t now)
{
    uint8_t out[256];
    cr_assert_leq(len, sizeof out);
    memcpy(out, b, len);
    uint16_t seq = (uint16_t)(net_rd16be(b + 2) + g->seq_off);
    cr_assert_eq(rtc_rtp_fwd_rewrite(out, len, &g->rw, seq, g->pt, now), 0);
    if (ref)
        rtc_rtp_fwd_leg_put(&g->l, seq, *ref, g->pt, &g->rw);
    memcpy(g->bytes + (size_t)seq * 256, out, len);
    g->lens[seq] = (uint16_t)len;
    if (!g->have)
        g->first = seq;
    g->have = true;
    g->last = seq;
}

/* The leg's repair of its number @seq, plain: exactly what it sent. */
static void expect_plain(struct leg *g, const rtc_rtp_fwd_hist_t *h, uint16_t seq, uint64_t now)
{
    uint8_t out[1500];
    int n = rtc_rtp_fwd_resend(&g->l, h, NULL, seq, now, 20 * MS, out, sizeof out);
    cr_assert_eq(n, g->lens[seq], "seq %u: %d bytes, sent %u", seq, n, g->lens[seq]);
    cr_assert_eq(memcmp(out, g->bytes + (size_t)seq * 256, (size_t)n), 0,
                 "seq %u: the repair differs from what the leg sent", seq);
}

static rtc_rtp_fwd_hist_t hist;
static struct leg a, b;

static void setup(void)
{
    cr_assert_eq(rtc_rtp_fwd_hist_init(&hist, 256, 1500), 0);
    /* Leg a from the start; leg b joins later, with other SSRC, offsets, PT and ext ids. */
    leg_init(&a, 0xaaaa0001, 5000, 1000, 96, 2, 4);
    leg_init(&b, 0xbbbb0002, 77777, 40000, 102, 9, 0);
}

static void teardown(void)
{
    rtc_rtp_fwd_hist_fini(&hist);
    leg_fini(&a);
    leg_fini(&b);
}

/* Source packets 0..@n-1 from @seq0 (crossing the wrap), b on from @b_from; returns the time. */
static uint64_t run(uint32_t ssrc, uint16_t seq0, uint32_t from, uint32_t n, uint32_t b_from,
                    uint32_t skip_b)
{
    uint64_t now = 0;
    for (uint32_t i = from; i < from + n; i++) {
        uint8_t pkt[256];
        size_t len = src_pkt(pkt, sizeof pkt, ssrc, (uint16_t)(seq0 + i), i);
        now = (uint64_t)(i + 1) * 10 * MS;
        rtc_rtp_fwd_ref_t ref;
        cr_assert_eq(rtc_rtp_fwd_hist_put(&hist, pkt, len, now, &ref), 0);
        fwd(&a, pkt, len, &ref, now);
        if (i >= b_from && i != skip_b)
            fwd(&b, pkt, len, &ref, now);
    }
    return now;
}

TestSuite(rtp_fwd, .init = setup, .fini = teardown, .timeout = 10);

/* Two legs with different offsets (b joined later) share one store: each NACK of a leg's
 * number is answered with that leg's bytes, plain and as RTX (RFC 4588 §4); numbers b never
 * got (before it joined, one it skipped, the other leg's numbers) go unanswered. */
Test(rtp_fwd, two_legs_get_their_own_bytes)
{
    uint64_t now = run(0x5eed, 65500, 0, 200, 60, 150);
    cr_assert_eq((uint16_t)(a.last - a.first), 199);
    uint64_t t = now + 100 * MS;
    for (uint16_t s = (uint16_t)(a.last - 150); s != (uint16_t)(a.last + 1); s++)
        expect_plain(&a, &hist, s, t);
    for (uint16_t s = b.first; s != (uint16_t)(b.last + 1); s++)
        if (s != (uint16_t)(b.first + 90)) /* packet 150, which b skipped */
            expect_plain(&b, &hist, s, t);
    uint8_t out[1500];
    /* Never sent to b: before it joined (the store has those packets: a got them), the one
     * it skipped, and numbers of a's and of the source's numbering. */
    for (uint16_t k = 1; k <= 30; k++)
        cr_assert_eq(rtc_rtp_fwd_resend(&b.l, &hist, NULL, (uint16_t)(b.first - k), t, 20 * MS, out,
                                        sizeof out),
                     -ENOENT, "b.first - %u", k);
    cr_assert_eq(rtc_rtp_fwd_resend(&b.l, &hist, NULL, (uint16_t)(b.first + 90), t, 20 * MS, out,
                                    sizeof out),
                 -ENOENT, "the packet b skipped");
    cr_assert_eq(
        rtc_rtp_fwd_resend(&b.l, &hist, NULL, (uint16_t)(a.last - 3), t, 20 * MS, out, sizeof out),
        -ENOENT);
    cr_assert_eq(
        rtc_rtp_fwd_resend(&b.l, &hist, NULL, (uint16_t)(65500 + 190), t, 20 * MS, out, sizeof out),
        -ENOENT);
    /* A number ahead of what the leg sent. */
    cr_assert_eq(
        rtc_rtp_fwd_resend(&a.l, &hist, NULL, (uint16_t)(a.last + 1), t, 20 * MS, out, sizeof out),
        -ENOENT);

    /* RTX: each leg's RTX sender; decapsulated, the repair is the leg's original again. */
    rtc_rtp_ptmap_t pm;
    rtc_rtp_ptmap_init(&pm);
    cr_assert_eq(rtc_rtp_ptmap_set(&pm, 102, RTC_RTP_CODEC_OTHER, 90000, 1), 0);
    cr_assert_eq(rtc_rtp_ptmap_set(&pm, 103, RTC_RTP_CODEC_RTX, 90000, 1), 0);
    cr_assert_eq(rtc_rtp_ptmap_set_apt(&pm, 103, 102), 0);
    rtc_rtp_rtx_tx_t rtx = {.ssrc = 0xbbbb0003, .seq = 7, .ptmap = &pm};
    uint16_t s = (uint16_t)(b.last - 10);
    t += 100 * MS;
    int n = rtc_rtp_fwd_resend(&b.l, &hist, &rtx, s, t, 20 * MS, out, sizeof out);
    cr_assert_eq(n, b.lens[s] + 2);
    cr_assert_eq(net_rd32be(out + 8), 0xbbbb0003);
    cr_assert_eq(net_rd16be(out + 2), 7);
    cr_assert_eq(out[1] & 0x7f, 103);
    cr_assert_eq(rtx.seq, 8);
    cr_assert_eq(rtc_rtp_rtx_decap(out, (size_t)n, 0xbbbb0002, 102), n - 2);
    cr_assert_eq(memcmp(out + 2, b.bytes + (size_t)s * 256, (size_t)n - 2), 0);
    /* Once per interval per leg: b again too soon is throttled, a's same packet is not. */
    cr_assert_eq(rtc_rtp_fwd_resend(&b.l, &hist, &rtx, s, t + 5 * MS, 20 * MS, out, sizeof out),
                 -EAGAIN);
    expect_plain(&a, &hist, (uint16_t)(s + (uint16_t)(a.seq_off - b.seq_off)), t + 5 * MS);
    /* a's PT 96 has no RTX in this map. */
    cr_assert_eq(
        rtc_rtp_fwd_resend(&a.l, &hist, &rtx, (uint16_t)(a.last - 1), t, 20 * MS, out, sizeof out),
        -ENOTSUP);
}

/* The leg's rewrite changes (renegotiated extension ids; a new source SSRC with a new
 * timestamp offset and sequence offset, numbering going on): packets sent before and after
 * are each repaired with the rewrite they went with. */
Test(rtp_fwd, rewrite_changes_and_new_source)
{
    (void)run(0x5eed, 100, 0, 40, 0, UINT32_MAX);
    uint16_t a_mid = a.last;
    a.rw.extmap[EXT_LEVEL] = 11; /* renegotiated */
    a.pt = 98;
    (void)run(0x5eed, 100, 40, 40, 0, UINT32_MAX);
    /* New source: its numbers start elsewhere; the legs go on from where they were. */
    a.seq_off = (uint16_t)(a.last + 1 - 30000);
    a.rw.ts_off += 123456;
    b.seq_off = (uint16_t)(b.last + 1 - 30000);
    uint64_t now = run(0x7777, (uint16_t)(30000 - 80), 80, 60, 0, UINT32_MAX);
    uint64_t t = now + 50 * MS;
    for (uint16_t s = (uint16_t)(a.last - 139); s != (uint16_t)(a.last + 1); s++)
        expect_plain(&a, &hist, s, t);
    for (uint16_t s = (uint16_t)(b.last - 139); s != (uint16_t)(b.last + 1); s++)
        expect_plain(&b, &hist, s, t);
    uint8_t *p = a.bytes + (size_t)a_mid * 256;
    cr_assert_eq(p[1] & 0x7f, 96, "the first rewrite's PT");
    cr_assert_eq(a.bytes[(size_t)a.last * 256 + 1] & 0x7f, 98);
}

/* A duplicate of a source packet (a publisher's RTX repair: other extension values) that one
 * leg forwarded again and the other did not: each gets what it was sent, or nothing; never the
 * other copy's bytes. Packets gone from the store (overwritten) are not answered either. */
Test(rtp_fwd, duplicates_and_overwritten)
{
    uint64_t now = run(0x5eed, 500, 0, 50, 0, UINT32_MAX);
    uint8_t pkt[256];
    size_t len = src_pkt(pkt, sizeof pkt, 0x5eed, 500 + 40, 40);
    pkt[len - 1] ^= 0xff; /* another copy, not the same bytes */
    rtc_rtp_fwd_ref_t ref;
    now += 10 * MS;
    cr_assert_eq(rtc_rtp_fwd_hist_put(&hist, pkt, len, now, &ref), 0);
    fwd(&a, pkt, len, &ref, now);
    uint8_t out[1500];
    expect_plain(&a, &hist, (uint16_t)(500 + 40 + a.seq_off), now);
    cr_assert_eq(rtc_rtp_fwd_resend(&b.l, &hist, NULL, (uint16_t)(500 + 40 + b.seq_off), now,
                                    20 * MS, out, sizeof out),
                 -ENOENT);
    /* 300 more: the first ones are overwritten in the store (and in the legs' rings). */
    now = run(0x5eed, 500, 50, 300, 0, UINT32_MAX);
    cr_assert_eq(rtc_rtp_fwd_resend(&a.l, &hist, NULL, (uint16_t)(500 + 10 + a.seq_off), now,
                                    20 * MS, out, sizeof out),
                 -ENOENT);
    expect_plain(&a, &hist, (uint16_t)(a.last - 200), now);
}

/* Rewrite: every field the SFU changes, the rest as the source sent it. */
Test(rtp_fwd, rewrite_fields)
{
    uint8_t pkt[256];
    size_t len = src_pkt(pkt, sizeof pkt, 0x5eed, 4242, 9);
    uint8_t orig[256];
    memcpy(orig, pkt, len);
    cr_assert_eq(rtc_rtp_fwd_rewrite(pkt, len, &a.rw, 17, 96, 5 * NET_NS_PER_SEC), 0);
    rtc_rtp_pkt_t r;
    cr_assert_geq(rtc_rtp_parse(pkt, len, &r), 0);
    cr_assert_eq(r.ssrc, 0xaaaa0001);
    cr_assert_eq(r.seq, 17);
    cr_assert_eq(r.pt, 96);
    cr_assert_eq(r.ts, 1000000u + 9 * 3000u + 5000);
    cr_assert_eq(r.marker, true);
    cr_assert_geq(rtc_rtp_ext_find(&r, 2), 0, "abs-send-time under our id");
    cr_assert_geq(rtc_rtp_ext_find(&r, 4), 0);
    cr_assert_lt(rtc_rtp_ext_find(&r, EXT_TWCC), 0, "transport cc removed");
    uint32_t ast;
    cr_assert_eq(rtc_rtp_ext_abs_send_time(rtc_rtp_ext_get(&r, 2), &ast), 0);
    cr_assert_eq(ast, rtc_rtp_abs_send_time(5 * NET_NS_PER_SEC));
    cr_assert_eq(memcmp(pkt + r.hdr_len, orig + r.hdr_len, len - r.hdr_len), 0, "payload");
}
