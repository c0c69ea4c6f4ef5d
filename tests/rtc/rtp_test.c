/* tests/rtc/rtp_test.c: RTP parsing, writing, extensions, registry, unwrapping, SSRCs, PTs. */
#include "rtc/rtp/rtp.h"

#include "tests/support/tst.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* V=2 P=0 X=0 CC=0 M=1 PT=96 seq=0x1234 ts=0x00001000 ssrc=0xdeadbeef, payload "abc". */
static const char *pkt_plain = "80 e0 12 34 00 00 10 00 de ad be ef 61 62 63";

/* V=2 P=1 X=1 CC=2 M=0 PT=111, two CSRCs, one-byte extension block (RFC 8285 §4.2):
 *   BEDE 0003: [id 1, len 1: 0x7f] [id 2, len 3: 00 01 02] [pad] [id 4, len 2: "a0"] [pad pad]
 * payload 01 02, then 3 bytes of padding (last byte 3). */
static const char *pkt_full = "b2 6f 00 07 00 00 00 2a 11 22 33 44"
                              "00 00 00 01 00 00 00 02"
                              "be de 00 03 10 7f 22 00 01 02 00 41 61 30 00 00"
                              "01 02 00 00 03";

static size_t hex(const char *h, uint8_t *out)
{
    return tst_hex(h, out, 2048);
}

Test(rtp, parses_fixed_header)
{
    uint8_t b[64];
    size_t n = hex(pkt_plain, b);
    rtc_rtp_pkt_t p;
    cr_assert_eq(rtc_rtp_parse(tst_guard_copy(b, n), n, &p), 12);
    cr_assert(p.marker);
    cr_assert_eq(p.pt, 96);
    cr_assert_eq(p.seq, 0x1234);
    cr_assert_eq(p.ts, 0x1000);
    cr_assert_eq(p.ssrc, 0xdeadbeef);
    cr_assert_eq(p.csrc_cnt, 0);
    cr_assert(!p.padding && !p.extension);
    net_view_t pl = rtc_rtp_payload(&p);
    cr_assert_eq(pl.len, 3);
    cr_assert(memcmp(pl.p, "abc", 3) == 0);
}

Test(rtp, parses_csrcs_padding_one_byte_extensions)
{
    uint8_t b[128];
    size_t n = hex(pkt_full, b);
    const uint8_t *g = tst_guard_copy(b, n);
    rtc_rtp_pkt_t p;
    cr_assert_eq(rtc_rtp_parse(g, n, &p), 12 + 8 + 4 + 12);
    cr_assert(p.padding && p.extension && !p.marker);
    cr_assert_eq(p.pt, 111);
    cr_assert_eq(p.seq, 7);
    cr_assert_eq(p.ts, 42);
    cr_assert_eq(p.csrc_cnt, 2);
    cr_assert_eq(rtc_rtp_csrc(&p, 0), 1);
    cr_assert_eq(rtc_rtp_csrc(&p, 1), 2);
    cr_assert_eq(p.ext_profile, 0xBEDE);
    cr_assert_eq(p.ext_len, 12);
    cr_assert_eq(p.pad_len, 3);
    cr_assert_eq(p.payload_len, 2);
    cr_assert_eq(p.ext_cnt, 3);
    net_view_t v = rtc_rtp_ext_get(&p, 1);
    cr_assert_eq(v.len, 1);
    cr_assert_eq(v.p[0], 0x7f);
    v = rtc_rtp_ext_get(&p, 2);
    cr_assert_eq(v.len, 3);
    cr_assert_eq(v.p[2], 2);
    v = rtc_rtp_ext_get(&p, 4);
    cr_assert(net_view_eq_str(v, "a0"));
    cr_assert_null(rtc_rtp_ext_get(&p, 3).p);
    cr_assert_eq(rtc_rtp_ext_find(&p, 9), -ENOENT);
    bool voice;
    uint8_t lvl;
    cr_assert_eq(rtc_rtp_ext_audio_level(rtc_rtp_ext_get(&p, 1), &voice, &lvl), 0);
    cr_assert(!voice);
    cr_assert_eq(lvl, 127);
}

Test(rtp, parses_two_byte_extensions)
{
    /* RFC 8285 §4.3: profile 0x1000 | appbits 5; [id 1, len 0] [id 200, len 3: aa bb cc]
     * [pad] -> 2 + 5 + 1 = 8 bytes = 2 words. */
    uint8_t b[64];
    size_t n = hex("90 60 00 01 00 00 00 01 00 00 00 05 10 05 00 02 01 00 c8 03 aa bb cc 00 ff", b);
    rtc_rtp_pkt_t p;
    cr_assert_eq(rtc_rtp_parse(tst_guard_copy(b, n), n, &p), 24);
    cr_assert_eq(p.ext_profile, 0x1005);
    cr_assert_eq(p.ext_cnt, 2);
    cr_assert_eq(p.ext[0].id, 1);
    cr_assert_eq(p.ext[0].len, 0);
    net_view_t v = rtc_rtp_ext_get(&p, 200);
    cr_assert_eq(v.len, 3);
    cr_assert_eq(v.p[0], 0xaa);
    cr_assert_eq(p.payload_len, 1);
}

Test(rtp, one_byte_id15_stops_processing)
{
    /* RFC 8285 §4.2: elements after ID 15 are ignored, those before are kept. */
    uint8_t b[64];
    size_t n = hex("90 60 00 01 00 00 00 01 00 00 00 05 be de 00 01 10 11 f3 22", b);
    rtc_rtp_pkt_t p;
    cr_assert_eq(rtc_rtp_parse(tst_guard_copy(b, n), n, &p), 20);
    cr_assert_eq(p.ext_cnt, 1);
    cr_assert_eq(p.ext[0].id, 1);
}

Test(rtp, unknown_extension_profile_is_opaque)
{
    uint8_t b[64];
    size_t n = hex("90 60 00 01 00 00 00 01 00 00 00 05 ab cd 00 01 10 11 f3 22 99", b);
    rtc_rtp_pkt_t p;
    cr_assert_eq(rtc_rtp_parse(tst_guard_copy(b, n), n, &p), 20);
    cr_assert_eq(p.ext_cnt, 0);
    cr_assert_eq(p.ext_len, 4);
    cr_assert_eq(p.payload_len, 1);
}

Test(rtp, rejects_malformed)
{
    static const char *bad[] = {
        "40 60 00 01 00 00 00 01 00 00 00 05 00",                      /* version 1 */
        "c0 60 00 01 00 00 00 01 00 00 00 05 00",                      /* version 3 */
        "a0 60 00 01 00 00 00 01 00 00 00 05 01 00",                   /* padding count 0 */
        "a0 60 00 01 00 00 00 01 00 00 00 05 01 0e",                   /* padding beyond packet */
        "81 60 00 01 00 00 00 01 00 00 00 05 00 00 00",                /* CSRC cut */
        "90 60 00 01 00 00 00 01 00 00 00 05 be de",                   /* ext header cut */
        "90 60 00 01 00 00 00 01 00 00 00 05 be de 00 02 10 11 00 00", /* ext length too big */
        "90 60 00 01 00 00 00 01 00 00 00 05 be de 00 01 13 11 22 33", /* element overruns */
        "90 60 00 01 00 00 00 01 00 00 00 05 10 00 00 01 00 00 05 01", /* 2-byte overrun */
        "90 60 00 01 00 00 00 01 00 00 00 05 10 00 00 01 00 00 00 07", /* 2-byte hdr cut */
    };
    for (size_t i = 0; i < NET_ARRAY_LEN(bad); i++) {
        uint8_t b[64];
        size_t n = hex(bad[i], b);
        rtc_rtp_pkt_t p;
        cr_assert_eq(rtc_rtp_parse(tst_guard_copy(b, n), n, &p), -EBADMSG, "case %zu", i);
    }
}

Test(rtp, truncated_prefixes_never_overread)
{
    uint8_t b[128];
    size_t n = hex(pkt_full, b);
    for (size_t len = 0; len < n; len++) {
        rtc_rtp_pkt_t p;
        int r = rtc_rtp_parse(tst_guard_copy(b, len), len, &p);
        if (len < 36) /* header + CSRCs + extension incomplete */
            cr_assert_eq(r, -EBADMSG, "len %zu", len);
        else if (r >= 0) /* the last byte is read as the padding count */
            cr_assert_leq((size_t)p.hdr_len + p.payload_len + p.pad_len, len);
    }
    rtc_rtp_pkt_t p;
    cr_assert_eq(rtc_rtp_parse_fixed(tst_guard_copy(b, 11), 11, &p), -EBADMSG);
}

Test(rtp, writes_header_one_byte_known_answer)
{
    uint8_t lvl[1], ast[3];
    rtc_rtp_ext_put_audio_level(lvl, true, 30);
    rtc_rtp_ext_put_abs_send_time(ast, 0x123456);
    rtc_rtp_ext_put_t ext[] = {{1, 1, lvl}, {2, 3, ast}, {4, 1, (const uint8_t *)"0"}};
    rtc_rtp_hdr_t h = {.marker = true,
                       .pt = 111,
                       .seq = 0xfffe,
                       .ts = 0xabcdef01,
                       .ssrc = 7,
                       .csrc_cnt = 1,
                       .csrc = {9}};
    uint8_t out[64], want[64];
    int r = rtc_rtp_hdr_write(out, sizeof out, &h, ext, 3);
    size_t wn = hex("91 ef ff fe ab cd ef 01 00 00 00 07 00 00 00 09"
                    "be de 00 02 10 9e 22 12 34 56 40 30",
                    want);
    cr_assert_eq(r, (int)wn);
    cr_assert(memcmp(out, want, wn) == 0);
    rtc_rtp_pkt_t p;
    cr_assert_eq(rtc_rtp_parse(out, (size_t)r, &p), r);
    uint32_t t;
    cr_assert_eq(rtc_rtp_ext_abs_send_time(rtc_rtp_ext_get(&p, 2), &t), 0);
    cr_assert_eq(t, 0x123456);
    cr_assert_eq(rtc_rtp_hdr_write(out, (size_t)r - 1, &h, ext, 3), -ENOSPC);
}

Test(rtp, writes_two_byte_when_needed)
{
    uint8_t d[20];
    memset(d, 0x5a, sizeof d);
    rtc_rtp_ext_put_t ext[] = {{3, 0, NULL}, {17, 20, d}};
    rtc_rtp_hdr_t h = {.pt = 96, .seq = 1, .ts = 2, .ssrc = 3};
    uint8_t out[128];
    int r = rtc_rtp_hdr_write(out, sizeof out, &h, ext, 2);
    /* 2 + 2 + 20 = 24 bytes: 6 words. */
    cr_assert_eq(r, 12 + 4 + 24);
    cr_assert_eq(net_rd16be(out + 12), 0x1000);
    rtc_rtp_pkt_t p;
    cr_assert_eq(rtc_rtp_parse(out, (size_t)r, &p), r);
    cr_assert_eq(p.ext_cnt, 2);
    cr_assert_eq(rtc_rtp_ext_get(&p, 17).len, 20);
    rtc_rtp_ext_put_t bad[] = {{0, 1, d}};
    cr_assert_eq(rtc_rtp_hdr_write(out, sizeof out, &h, bad, 1), -EINVAL);
    h.pt = 128;
    cr_assert_eq(rtc_rtp_hdr_write(out, sizeof out, &h, NULL, 0), -EINVAL);
}

Test(rtp, rewrites_in_place)
{
    uint8_t b[128];
    size_t n = hex(pkt_full, b);
    rtc_rtp_set_ssrc(b, 0x01020304);
    rtc_rtp_set_seq(b, 65535);
    rtc_rtp_set_ts(b, 0xffffffff);
    rtc_rtp_set_pt(b, 100);
    rtc_rtp_set_marker(b, true);
    rtc_rtp_pkt_t p;
    cr_assert_gt(rtc_rtp_parse(b, n, &p), 0);
    cr_assert_eq(p.ssrc, 0x01020304);
    cr_assert_eq(p.seq, 65535);
    cr_assert_eq(p.ts, 0xffffffff);
    cr_assert_eq(p.pt, 100);
    cr_assert(p.marker && p.padding && p.extension);
    uint8_t twcc[2];
    rtc_rtp_ext_put_twcc_seq(twcc, 0x0a0b);
    cr_assert_eq(rtc_rtp_ext_overwrite(b, &p, 4, twcc, 2), 0);
    uint16_t s;
    cr_assert_eq(rtc_rtp_ext_twcc_seq(rtc_rtp_ext_get(&p, 4), &s), 0);
    cr_assert_eq(s, 0x0a0b);
    cr_assert_eq(rtc_rtp_ext_overwrite(b, &p, 2, twcc, 2), -EMSGSIZE);
    cr_assert_eq(rtc_rtp_ext_overwrite(b, &p, 5, twcc, 2), -ENOENT);
}

Test(rtp, remaps_extension_ids_for_a_subscriber)
{
    uint8_t b[128];
    size_t n = hex(pkt_full, b);
    rtc_rtp_pkt_t p;
    cr_assert_gt(rtc_rtp_parse(b, n, &p), 0);
    uint8_t map[256] = {0};
    map[1] = 9; /* audio level 1 -> 9 */
    map[4] = 3; /* 4 -> 3; id 2 is dropped */
    cr_assert_eq(rtc_rtp_ext_remap(b, &p, map), 2);
    cr_assert_eq(p.ext_cnt, 2);
    cr_assert_eq(rtc_rtp_ext_get(&p, 9).p[0], 0x7f);
    cr_assert(net_view_eq_str(rtc_rtp_ext_get(&p, 3), "a0"));
    cr_assert_null(rtc_rtp_ext_get(&p, 2).p);
    /* Re-parsing the rewritten bytes agrees, and the length did not change. */
    rtc_rtp_pkt_t q;
    cr_assert_eq(rtc_rtp_parse(b, n, &q), p.hdr_len);
    cr_assert_eq(q.ext_cnt, 2);
    cr_assert_eq(q.payload_len, 2);
    /* An id beyond 14 does not fit the one-byte form: refused, bytes unchanged. */
    uint8_t before[128];
    memcpy(before, b, n);
    memset(map, 0, sizeof map);
    map[9] = 20;
    cr_assert_eq(rtc_rtp_ext_remap(b, &p, map), -EINVAL);
    cr_assert(memcmp(before, b, n) == 0);
}

/* The extmap lines of the @nth m= section of an SDP fixture into @m. Returns lines seen. */
static int load_extmaps(const char *fixture, int nth, rtc_rtp_extmap_t *m)
{
    size_t len;
    char *sdp = (char *)tst_fixture(fixture, &len);
    rtc_rtp_extmap_init(m);
    int sect = -1, lines = 0;
    for (char *l = strtok(sdp, "\r\n"); l; l = strtok(NULL, "\r\n")) {
        if (!strncmp(l, "m=", 2))
            sect++;
        if (sect != nth || strncmp(l, "a=extmap:", 9) != 0)
            continue;
        char *end;
        long id = strtol(l + 9, &end, 10);
        char *uri = strchr(end, ' ');
        cr_assert_not_null(uri);
        uri++;
        char *sp = strchr(uri, ' ');
        size_t ul = sp ? (size_t)(sp - uri) : strlen(uri);
        cr_assert_geq(rtc_rtp_extmap_set(m, (uint8_t)id, uri, ul), 0, "%s", l);
        lines++;
    }
    free(sdp);
    return lines;
}

Test(rtp, extmap_registry_from_chromium_offer)
{
    rtc_rtp_extmap_t m;
    cr_assert_eq(load_extmaps("sdp/chromium-156.0.8078.108-offer-av-dc.sdp", 1, &m), 11);
    cr_assert_eq(rtc_rtp_extmap_id(&m, RTC_RTP_EXT_TOFFSET), 14);
    cr_assert_eq(rtc_rtp_extmap_id(&m, RTC_RTP_EXT_ABS_SEND_TIME), 2);
    cr_assert_eq(rtc_rtp_extmap_id(&m, RTC_RTP_EXT_TWCC), 3);
    cr_assert_eq(rtc_rtp_extmap_id(&m, RTC_RTP_EXT_MID), 4);
    cr_assert_eq(rtc_rtp_extmap_id(&m, RTC_RTP_EXT_PLAYOUT_DELAY), 5);
    cr_assert_eq(rtc_rtp_extmap_id(&m, RTC_RTP_EXT_RID), 10);
    cr_assert_eq(rtc_rtp_extmap_id(&m, RTC_RTP_EXT_REPAIRED_RID), 11);
    cr_assert_eq(rtc_rtp_extmap_id(&m, RTC_RTP_EXT_VIDEO_ORIENTATION), 13);
    cr_assert_eq(rtc_rtp_extmap_id(&m, RTC_RTP_EXT_AUDIO_LEVEL), 0);
    cr_assert_eq(m.kind_of[6], RTC_RTP_EXT_NONE); /* video-content-type: not interpreted */

    rtc_rtp_extmap_t a;
    cr_assert_eq(load_extmaps("sdp/chromium-156.0.8078.108-offer-av-dc.sdp", 0, &a), 4);
    cr_assert_eq(rtc_rtp_extmap_id(&a, RTC_RTP_EXT_AUDIO_LEVEL), 1);

    const char *mid = rtc_rtp_ext_uri(RTC_RTP_EXT_MID);
    cr_assert_eq(rtc_rtp_extmap_set(&m, 4, mid, strlen(mid)), RTC_RTP_EXT_MID); /* same again */
    cr_assert_eq(rtc_rtp_extmap_set(&m, 7, mid, strlen(mid)), -EEXIST);
    cr_assert_eq(rtc_rtp_extmap_set(&m, 15, mid, strlen(mid)), -EINVAL);
    cr_assert_eq(rtc_rtp_extmap_set(&m, 0, mid, strlen(mid)), -EINVAL);
}

Test(rtp, extmap_translate_between_publisher_and_subscriber)
{
    rtc_rtp_extmap_t chrome, ff;
    cr_assert_gt(load_extmaps("sdp/chromium-156.0.8078.108-offer-av-dc.sdp", 1, &chrome), 0);
    cr_assert_gt(load_extmaps("sdp/firefox-153.7.0esr-offer-av-dc.sdp", 1, &ff), 0);
    uint8_t map[256];
    int n = rtc_rtp_extmap_translate(&chrome, &ff, map);
    cr_assert_gt(n, 0);
    for (unsigned k = 1; k < RTC_RTP_EXT__CNT; k++) {
        uint8_t from = chrome.id_of[k], to = ff.id_of[k];
        if (from)
            cr_assert_eq(map[from], to, "kind %u", k);
    }
    /* A packet Chromium sent with mid and twcc, rewritten for Firefox. */
    uint8_t twcc[2] = {0, 5};
    rtc_rtp_ext_put_t ext[] = {{chrome.id_of[RTC_RTP_EXT_MID], 1, (const uint8_t *)"1"},
                               {chrome.id_of[RTC_RTP_EXT_TWCC], 2, twcc},
                               {chrome.id_of[RTC_RTP_EXT_TOFFSET], 3, (const uint8_t *)"xyz"}};
    rtc_rtp_hdr_t h = {.pt = 96, .ssrc = 1};
    uint8_t b[64];
    int hl = rtc_rtp_hdr_write(b, sizeof b, &h, ext, 3);
    cr_assert_gt(hl, 0);
    rtc_rtp_pkt_t p;
    cr_assert_eq(rtc_rtp_parse(b, (size_t)hl, &p), hl);
    cr_assert_geq(rtc_rtp_ext_remap(b, &p, map), 0);
    cr_assert(net_view_eq_str(rtc_rtp_ext_get_kind(&p, &ff, RTC_RTP_EXT_MID), "1"));
    uint16_t s;
    if (ff.id_of[RTC_RTP_EXT_TWCC]) {
        cr_assert_eq(rtc_rtp_ext_twcc_seq(rtc_rtp_ext_get_kind(&p, &ff, RTC_RTP_EXT_TWCC), &s), 0);
        cr_assert_eq(s, 5);
    }
}

Test(rtp, ext_value_codecs)
{
    uint8_t o[3];
    rtc_rtp_ext_put_playout_delay(o, 10, 4095);
    uint16_t mn, mx;
    cr_assert_eq(rtc_rtp_ext_playout_delay((net_view_t){o, 3}, &mn, &mx), 0);
    cr_assert_eq(mn, 10);
    cr_assert_eq(mx, 4095);
    cr_assert_eq(o[0], 0x00);
    cr_assert_eq(o[1], 0xaf);
    cr_assert_eq(o[2], 0xff);
    cr_assert_eq(rtc_rtp_ext_playout_delay((net_view_t){o, 2}, &mn, &mx), -EBADMSG);
    /* abs-send-time: 6.18 fixed point, 1.5 s = 0x060000, wraps at 64 s. */
    cr_assert_eq(rtc_rtp_abs_send_time(1500000000ull), 0x060000);
    cr_assert_eq(rtc_rtp_abs_send_time(65500000000ull), rtc_rtp_abs_send_time(1500000000ull));
    uint32_t t;
    cr_assert_eq(rtc_rtp_ext_abs_send_time((net_view_t){o, 1}, &t), -EBADMSG);
    bool v;
    uint8_t l;
    cr_assert_eq(rtc_rtp_ext_audio_level((net_view_t){o, 0}, &v, &l), -EBADMSG);
}

Test(rtp, unwraps_sequence_numbers)
{
    rtc_rtp_unwrap_t u;
    rtc_rtp_unwrap_init(&u);
    cr_assert_eq(rtc_rtp_seq_unwrap(&u, 65530), 65530);
    cr_assert_eq(rtc_rtp_seq_unwrap(&u, 65535), 65535);
    cr_assert_eq(rtc_rtp_seq_unwrap(&u, 2), 65538);
    cr_assert_eq(rtc_rtp_seq_unwrap(&u, 65534), 65534); /* reordered, before the wrap */
    cr_assert_eq(rtc_rtp_seq_unwrap(&u, 10), 65546);
    int64_t v = 65546;
    for (int i = 0; i < 5 * 65536; i += 1000) { /* many wraps forward */
        v += 1000;
        cr_assert_eq(rtc_rtp_seq_unwrap(&u, (uint16_t)v), v);
    }
    rtc_rtp_unwrap_init(&u);
    cr_assert_eq(rtc_rtp_seq_unwrap(&u, 3), 3);
    cr_assert_eq(rtc_rtp_seq_unwrap(&u, 65533), -3); /* before the first */
}

Test(rtp, unwraps_timestamps)
{
    rtc_rtp_unwrap_t u;
    rtc_rtp_unwrap_init(&u);
    cr_assert_eq(rtc_rtp_ts_unwrap(&u, 0xfffff000u), 0xfffff000ll);
    cr_assert_eq(rtc_rtp_ts_unwrap(&u, 0x00000bb8u), 0x100000bb8ll);
    cr_assert_eq(rtc_rtp_ts_unwrap(&u, 0xffffff00u), 0xffffff00ll);
    cr_assert_eq(rtc_rtp_ts_unwrap(&u, 0x7ffffe00u), 0x17ffffe00ll);
}

Test(rtp, ssrc_collision_detection)
{
    rtc_rtp_ssrcs_t s;
    rtc_rtp_ssrcs_init(&s);
    uint32_t a, b;
    cr_assert_eq(rtc_rtp_ssrcs_new_local(&s, &a), 0);
    cr_assert_neq(a, 0);
    cr_assert_eq(rtc_rtp_ssrcs_add_local(&s, 1234), 0);
    cr_assert_eq(rtc_rtp_ssrcs_add_local(&s, 1234), -EEXIST);
    cr_assert_eq(rtc_rtp_ssrcs_on_remote(&s, 555, 1), 0);
    cr_assert_eq(rtc_rtp_ssrcs_on_remote(&s, 555, 1), 0);
    cr_assert_eq(rtc_rtp_ssrcs_on_remote(&s, 555, 2), RTC_RTP_SSRC_CONFLICT);
    cr_assert_eq(rtc_rtp_ssrcs_add_local(&s, 555), -EEXIST); /* in use by a remote */
    /* RFC 3550 §8.2: a remote using our SSRC: we must move. */
    cr_assert_eq(rtc_rtp_ssrcs_on_remote(&s, a, 1), RTC_RTP_SSRC_COLLISION);
    cr_assert_eq(rtc_rtp_ssrcs_replace(&s, a, &b), 0);
    cr_assert_neq(a, b);
    cr_assert(rtc_rtp_ssrcs_is_local(&s, b));
    cr_assert(!rtc_rtp_ssrcs_is_local(&s, a));
    cr_assert_eq(s.collisions, 2);
    cr_assert_eq(rtc_rtp_ssrcs_replace(&s, 999, &b), -ENOENT);
    for (int i = 0; i < RTC_RTP_SSRC_MAX; i++)
        if (rtc_rtp_ssrcs_new_local(&s, &b) < 0)
            break;
    cr_assert_eq(s.local_cnt, RTC_RTP_SSRC_MAX);
    cr_assert_eq(rtc_rtp_ssrcs_new_local(&s, &b), -ENOSPC);
    rtc_rtp_ssrcs_del_local(&s, 1234);
    cr_assert(!rtc_rtp_ssrcs_is_local(&s, 1234));
}

Test(rtp, payload_type_map_from_chromium_offer)
{
    size_t len;
    char *sdp = (char *)tst_fixture("sdp/chromium-156.0.8078.108-offer-av-dc.sdp", &len);
    rtc_rtp_ptmap_t m;
    rtc_rtp_ptmap_init(&m);
    int rtpmaps = 0;
    char *save;
    for (char *l = strtok_r(sdp, "\r\n", &save); l; l = strtok_r(NULL, "\r\n", &save)) {
        unsigned pt, hz, ch = 1, apt;
        char name[32];
        if (sscanf(l, "a=rtpmap:%u %31[^/]/%u/%u", &pt, name, &hz, &ch) >= 3) {
            cr_assert_eq(rtc_rtp_ptmap_set(&m, (uint8_t)pt,
                                           rtc_rtp_codec_from_name(name, strlen(name)), hz,
                                           (uint8_t)ch),
                         0, "%s", l);
            rtpmaps++;
            ch = 1;
        } else if (sscanf(l, "a=fmtp:%u apt=%u", &pt, &apt) == 2) {
            cr_assert_eq(rtc_rtp_ptmap_set_apt(&m, (uint8_t)pt, (uint8_t)apt), 0, "%s", l);
        }
    }
    free(sdp);
    cr_assert_gt(rtpmaps, 20);
    const rtc_rtp_pt_info_t *i = rtc_rtp_ptmap_get(&m, 111);
    cr_assert_not_null(i);
    cr_assert_eq(i->codec, RTC_RTP_CODEC_OPUS);
    cr_assert_eq(i->clock_hz, 48000);
    cr_assert_eq(i->channels, 2);
    cr_assert_eq(rtc_rtp_ptmap_get(&m, 96)->codec, RTC_RTP_CODEC_VP8);
    cr_assert_eq(rtc_rtp_ptmap_get(&m, 97)->codec, RTC_RTP_CODEC_RTX);
    cr_assert_eq(rtc_rtp_ptmap_get(&m, 97)->apt, 96);
    cr_assert_eq(rtc_rtp_ptmap_rtx_for(&m, 96), 97);
    cr_assert_eq(rtc_rtp_ptmap_get(&m, 0)->codec, RTC_RTP_CODEC_PCMU);
    cr_assert_eq(rtc_rtp_ptmap_get(&m, 45)->codec, RTC_RTP_CODEC_AV1);
    cr_assert_null(rtc_rtp_ptmap_get(&m, 5));
    cr_assert_null(rtc_rtp_ptmap_get(&m, 200));
    cr_assert_eq(rtc_rtp_ptmap_set(&m, 72, RTC_RTP_CODEC_VP8, 90000, 1), -EINVAL);
    cr_assert_eq(rtc_rtp_ptmap_set_apt(&m, 96, 97), -EINVAL);
    cr_assert_eq(rtc_rtp_codec_from_name("xyz", 3), RTC_RTP_CODEC_OTHER);
}
