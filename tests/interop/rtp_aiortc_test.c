/* tests/interop/rtp_aiortc_test.c: RTP, RTX and RTCP bytes against aiortc 1.4's own packet code
 * (Debian python3-aiortc), both ways: urtc parses what aiortc built (and rebuilds the same
 * bytes where the encoding is canonical), and aiortc parses what urtc built. No network: the
 * helper tests/interop/rtp_aiortc.py exchanges hex lines and JSON. Skipped if aiortc is not
 * installed. */
#include "rtc/rtcp/rtcp.h"
#include "rtc/rtp/rtp.h"

#include "tests/support/tst.h"

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PY "/usr/bin/python3"

static bool have_aiortc(void)
{
    return access(PY, X_OK) == 0 && system(PY " -c 'import aiortc.rtp' 2>/dev/null") == 0;
}

/* The same ids as EXTS in rtp_aiortc.py. */
static void extmap(rtc_rtp_extmap_t *m)
{
    static const struct {
        uint8_t id;
        rtc_rtp_ext_kind_t k;
    } e[] = {{1, RTC_RTP_EXT_AUDIO_LEVEL}, {2, RTC_RTP_EXT_ABS_SEND_TIME},
             {3, RTC_RTP_EXT_TWCC},        {4, RTC_RTP_EXT_MID},
             {10, RTC_RTP_EXT_RID},        {11, RTC_RTP_EXT_REPAIRED_RID},
             {14, RTC_RTP_EXT_TOFFSET}};
    rtc_rtp_extmap_init(m);
    for (size_t i = 0; i < NET_ARRAY_LEN(e); i++) {
        const char *u = rtc_rtp_ext_uri(e[i].k);
        cr_assert_eq(rtc_rtp_extmap_set(m, e[i].id, u, strlen(u)), (int)e[i].k);
    }
}

static size_t unhex(const char *h, uint8_t *out, size_t cap)
{
    size_t n = strlen(h) / 2;
    cr_assert_leq(n, cap);
    return tst_hex(h, out, cap);
}

static void check_str_ext(const rtc_rtp_pkt_t *p, const rtc_rtp_extmap_t *m, rtc_rtp_ext_kind_t k,
                          json_t *want)
{
    net_view_t v = rtc_rtp_ext_get_kind(p, m, k);
    if (json_is_null(want)) {
        cr_assert_null(v.p, "kind %d present", k);
        return;
    }
    cr_assert(net_view_eq_str(v, json_string_value(want)), "kind %d", k);
}

static long jint(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    cr_assert(json_is_integer(v), "field %s", k);
    return (long)json_integer_value(v);
}

static void check_aiortc_rtp(json_t *o, const rtc_rtp_extmap_t *m)
{
    static uint8_t b[2048];
    size_t n = unhex(json_string_value(json_object_get(o, "hex")), b, sizeof b);
    rtc_rtp_pkt_t p;
    cr_assert_gt(rtc_rtp_parse(tst_guard_copy(b, n), n, &p), 0);
    cr_assert_eq(p.pt, jint(o, "pt"));
    cr_assert_eq(p.seq, jint(o, "seq"));
    cr_assert_eq(p.ts, (uint32_t)jint(o, "ts"));
    cr_assert_eq(p.ssrc, (uint32_t)jint(o, "ssrc"));
    cr_assert_eq(p.marker, jint(o, "marker") != 0);
    cr_assert_eq(p.pad_len, jint(o, "padding"));
    json_t *csrc = json_object_get(o, "csrc");
    cr_assert_eq(p.csrc_cnt, json_array_size(csrc));
    for (unsigned i = 0; i < p.csrc_cnt; i++)
        cr_assert_eq(rtc_rtp_csrc(&p, i), (uint32_t)json_integer_value(json_array_get(csrc, i)));
    static uint8_t pay[2048];
    size_t pn = unhex(json_string_value(json_object_get(o, "payload")), pay, sizeof pay);
    cr_assert_eq(p.payload_len, pn);
    cr_assert(memcmp(rtc_rtp_payload(&p).p, pay, pn) == 0);
    check_str_ext(&p, m, RTC_RTP_EXT_MID, json_object_get(o, "mid"));
    check_str_ext(&p, m, RTC_RTP_EXT_RID, json_object_get(o, "rid"));
    check_str_ext(&p, m, RTC_RTP_EXT_REPAIRED_RID, json_object_get(o, "rrid"));
    uint32_t ast;
    cr_assert_eq(
        rtc_rtp_ext_abs_send_time(rtc_rtp_ext_get_kind(&p, m, RTC_RTP_EXT_ABS_SEND_TIME), &ast), 0);
    cr_assert_eq(ast, jint(o, "abs"));
    uint16_t tw;
    cr_assert_eq(rtc_rtp_ext_twcc_seq(rtc_rtp_ext_get_kind(&p, m, RTC_RTP_EXT_TWCC), &tw), 0);
    cr_assert_eq(tw, jint(o, "twcc"));
    json_t *lvl = json_object_get(o, "level");
    net_view_t lv = rtc_rtp_ext_get_kind(&p, m, RTC_RTP_EXT_AUDIO_LEVEL);
    if (json_is_null(lvl)) {
        cr_assert_null(lv.p);
    } else {
        bool voice;
        uint8_t l;
        cr_assert_eq(rtc_rtp_ext_audio_level(lv, &voice, &l), 0);
        cr_assert_eq(voice, json_is_true(json_array_get(lvl, 0)));
        cr_assert_eq(l, json_integer_value(json_array_get(lvl, 1)));
    }
}

static void check_aiortc_rtx(json_t *o)
{
    static uint8_t rtx[2048], orig[2048], mine[2048];
    size_t rn = unhex(json_string_value(json_object_get(o, "hex")), rtx, sizeof rtx);
    size_t on = unhex(json_string_value(json_object_get(o, "orig")), orig, sizeof orig);
    rtc_rtp_pkt_t p;
    cr_assert_gt(rtc_rtp_parse(rtx, rn, &p), 0);
    /* Our RTX of the original is byte for byte aiortc's. */
    int n = rtc_rtp_rtx_build(mine, sizeof mine, orig, on, p.ssrc, p.pt, p.seq);
    cr_assert_eq(n, (int)rn);
    cr_assert(memcmp(mine, rtx, rn) == 0, "RTX bytes differ");
    /* And decapsulating aiortc's RTX gives the original back (without its padding, which
     * RTX does not carry, RFC 4588 §4). */
    rtc_rtp_pkt_t op;
    cr_assert_gt(rtc_rtp_parse(orig, on, &op), 0);
    int m = rtc_rtp_rtx_decap(rtx, rn, op.ssrc, op.pt);
    cr_assert_eq(m, (int)(on - op.pad_len));
    orig[0] &= (uint8_t)~0x20;
    cr_assert(memcmp(rtx + 2, orig, (size_t)m) == 0, "decapsulated bytes differ");
}

static void check_aiortc_rtcp(json_t *o)
{
    static uint8_t b[2048], mine[2048];
    const char *what = json_string_value(json_object_get(o, "what"));
    size_t n = unhex(json_string_value(json_object_get(o, "hex")), b, sizeof b);
    rtc_rtcp_hdr_t h[8];
    int cnt = rtc_rtcp_split(tst_guard_copy(b, n), n, RTC_RTCP_STRICT, h, 8);
    rtc_rtcp_wr_t w;
    rtc_rtcp_wr_init(&w, mine, sizeof mine);
    if (!strcmp(what, "sr_sdes_bye")) {
        cr_assert_eq(cnt, 3);
        rtc_rtcp_sr_t sr;
        cr_assert_eq(rtc_rtcp_sr_parse(&h[0], &sr), 0);
        cr_assert_eq(sr.ntp, 0xE81B4C8A80000000ull);
        cr_assert_eq(sr.rtp_ts, 123456);
        cr_assert_eq(sr.pkt_cnt, 100);
        cr_assert_eq(sr.octet_cnt, 64000);
        cr_assert_eq(sr.rb_cnt, 1);
        cr_assert_eq(sr.rb[0].cum_lost, -3);
        cr_assert_eq(sr.rb[0].fraction_lost, 64);
        cr_assert_eq(sr.rb[0].dlsr, 0x18000);
        rtc_rtcp_sdes_chunk_t c[2];
        cr_assert_eq(rtc_rtcp_sdes_parse(&h[1], c, 2), 1);
        cr_assert(net_view_eq_str(c[0].cname, "aiortc-cname"));
        rtc_rtcp_bye_t bye;
        cr_assert_eq(rtc_rtcp_bye_parse(&h[2], &bye), 0);
        cr_assert_eq(bye.cnt, 2);
        cr_assert_eq(bye.ssrc[1], 0x2222);
        cr_assert_eq(rtc_rtcp_wr_sr(&w, &sr), 0);
        cr_assert_eq(rtc_rtcp_wr_sdes_cname(&w, c[0].ssrc, "aiortc-cname", 12), 0);
        cr_assert_eq(rtc_rtcp_wr_bye(&w, bye.ssrc, bye.cnt, NULL, 0), 0);
    } else {
        cr_assert_eq(cnt, 4);
        rtc_rtcp_rr_t rr;
        cr_assert_eq(rtc_rtcp_rr_parse(&h[0], &rr), 0);
        cr_assert_eq(rr.rb_cnt, 2);
        cr_assert_eq(rr.rb[0].ext_high_seq, 70000);
        cr_assert_eq(rr.rb[1].cum_lost, 0x7fffff);
        rtc_rtcp_fb_t fb;
        uint16_t seqs[64];
        cr_assert_eq(rtc_rtcp_fb_parse(&h[1], &fb), 0);
        int k = rtc_rtcp_nack_parse(&fb, seqs, 64);
        uint16_t want[] = {100, 101, 105, 116, 117, 200, 201};
        cr_assert_eq(k, 7);
        cr_assert(memcmp(seqs, want, sizeof want) == 0);
        cr_assert_eq(rtc_rtcp_fb_parse(&h[2], &fb), 0);
        cr_assert_eq(fb.fmt, RTC_RTCP_FMT_PLI);
        cr_assert_eq(rtc_rtcp_fb_parse(&h[3], &fb), 0);
        rtc_rtcp_remb_t r;
        cr_assert_eq(rtc_rtcp_remb_parse(&fb, &r), 0);
        cr_assert_eq(r.bitrate_bps, (1234567u >> 3) << 3); /* 18-bit mantissa, exponent 3 */
        cr_assert_eq(r.ssrc_cnt, 2);
        cr_assert_eq(rtc_rtcp_wr_rr(&w, &rr), 0);
        cr_assert_eq(rtc_rtcp_wr_nack(&w, 9, 1, seqs, (size_t)k), 0);
        cr_assert_eq(rtc_rtcp_wr_pli(&w, 9, 1), 0);
        cr_assert_eq(rtc_rtcp_wr_remb(&w, 9, 1234567, r.ssrc, 2), 0);
    }
    /* Rebuilt by urtc: the same bytes. */
    int len = rtc_rtcp_wr_finish(&w);
    cr_assert_eq(len, (int)n, "%s: %d vs %zu bytes", what, len, n);
    cr_assert(memcmp(mine, b, n) == 0, "%s: bytes differ", what);
}

Test(rtp_aiortc, urtc_parses_aiortc_packets, .timeout = 30)
{
    if (!have_aiortc())
        cr_skip_test("python3-aiortc not installed");
    rtc_rtp_extmap_t m;
    extmap(&m);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, PY " %s gen", tst_src_path("tests/interop/rtp_aiortc.py"));
    FILE *f = popen(cmd, "r");
    cr_assert_not_null(f);
    static char line[65536];
    int rtp = 0, rtx = 0, rtcp = 0;
    while (fgets(line, sizeof line, f)) {
        json_error_t err;
        json_t *o = json_loads(line, 0, &err);
        cr_assert_not_null(o, "bad JSON from aiortc: %s", err.text);
        const char *t = json_string_value(json_object_get(o, "t"));
        if (!strcmp(t, "rtp")) {
            check_aiortc_rtp(o, &m);
            rtp++;
        } else if (!strcmp(t, "rtx")) {
            check_aiortc_rtx(o);
            rtx++;
        } else {
            check_aiortc_rtcp(o);
            rtcp++;
        }
        json_decref(o);
    }
    cr_assert_eq(pclose(f), 0);
    cr_assert_eq(rtp, 6);
    cr_assert_eq(rtx, 3);
    cr_assert_eq(rtcp, 2);
}

/* Writes "KIND HEX\n". */
static void put_line(FILE *f, const char *kind, const uint8_t *b, size_t n)
{
    fprintf(f, "%s ", kind);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%02x", b[i]);
    fputc('\n', f);
}

Test(rtp_aiortc, aiortc_parses_urtc_packets, .timeout = 30)
{
    if (!have_aiortc())
        cr_skip_test("python3-aiortc not installed");
    char in_path[] = "/tmp/urtc-rtp-aiortc-XXXXXX";
    int fd = mkstemp(in_path);
    cr_assert_geq(fd, 0);
    FILE *in = fdopen(fd, "w");

    /* 1: one-byte extensions, CSRCs, padding. */
    uint8_t b[1500], ast[3], tw[2], lvl[1];
    rtc_rtp_ext_put_abs_send_time(ast, 0xabcdef);
    rtc_rtp_ext_put_twcc_seq(tw, 65535);
    rtc_rtp_ext_put_audio_level(lvl, true, 42);
    rtc_rtp_ext_put_t e1[] = {{4, 1, (const uint8_t *)"a"}, {2, 3, ast}, {3, 2, tw}, {1, 1, lvl}};
    rtc_rtp_hdr_t h = {.marker = true,
                       .pt = 111,
                       .seq = 65535,
                       .ts = 0xfffffff0u,
                       .ssrc = 0xcafebabe,
                       .csrc_cnt = 2,
                       .csrc = {5, 6}};
    int hl = rtc_rtp_hdr_write(b, sizeof b, &h, e1, 4);
    cr_assert_gt(hl, 0);
    memcpy(b + hl, "hello", 5);
    b[hl + 5] = 0;
    b[hl + 6] = 0;
    b[hl + 7] = 3; /* 3 bytes of padding */
    b[0] |= 0x20;
    size_t n1 = (size_t)hl + 8;
    put_line(in, "rtp", b, n1);
    /* 2: two-byte form (a 20-byte rid forces it). */
    rtc_rtp_ext_put_t e2[] = {{10, 20, (const uint8_t *)"abcdefghijklmnopqrst"}, {3, 2, tw}};
    rtc_rtp_hdr_t h2 = {.pt = 96, .seq = 7, .ts = 8, .ssrc = 9};
    hl = rtc_rtp_hdr_write(b, sizeof b, &h2, e2, 2);
    cr_assert_gt(hl, 0);
    cr_assert_eq(net_rd16be(b + 12), 0x1000);
    memcpy(b + hl, "xy", 2);
    put_line(in, "rtp", b, (size_t)hl + 2);
    /* 3: an RTX packet from packet 2 (aiortc reads its OSN as the first payload bytes). */
    uint8_t r[1500];
    int rn = rtc_rtp_rtx_build(r, sizeof r, b, (size_t)hl + 2, 0x2222, 97, 4242);
    cr_assert_gt(rn, 0);
    put_line(in, "rtp", r, (size_t)rn);
    /* 4: SR + SDES + BYE with a reason. */
    rtc_rtcp_wr_t w;
    rtc_rtcp_wr_init(&w, b, sizeof b);
    rtc_rtcp_sr_t sr = {.ssrc = 1,
                        .ntp = 0x0102030405060708ull,
                        .rtp_ts = 9,
                        .pkt_cnt = 10,
                        .octet_cnt = 11,
                        .rb_cnt = 1};
    sr.rb[0] = (rtc_rtcp_rb_t){2, 3, -4, 5, 6, 7, 8};
    cr_assert_eq(rtc_rtcp_wr_sr(&w, &sr), 0);
    cr_assert_eq(rtc_rtcp_wr_sdes_cname(&w, 1, "urtc-cname-x", 12), 0);
    uint32_t bs[] = {1, 2, 3};
    cr_assert_eq(rtc_rtcp_wr_bye(&w, bs, 3, "gone", 4), 0);
    int len = rtc_rtcp_wr_finish(&w);
    cr_assert_gt(len, 0);
    put_line(in, "rtcp", b, (size_t)len);
    /* 5: RR + NACK + PLI + FIR + REMB. */
    rtc_rtcp_wr_init(&w, b, sizeof b);
    rtc_rtcp_rr_t rr = {.ssrc = 20, .rb_cnt = 0};
    cr_assert_eq(rtc_rtcp_wr_rr(&w, &rr), 0);
    uint16_t seqs[] = {1000, 1002, 1016, 1017, 1040};
    cr_assert_eq(rtc_rtcp_wr_nack(&w, 20, 21, seqs, 5), 0);
    cr_assert_eq(rtc_rtcp_wr_pli(&w, 20, 21), 0);
    rtc_rtcp_fir_entry_t fe = {21, 3};
    cr_assert_eq(rtc_rtcp_wr_fir(&w, 20, &fe, 1), 0);
    uint32_t rs[] = {21};
    cr_assert_eq(rtc_rtcp_wr_remb(&w, 20, 2500000, rs, 1), 0);
    len = rtc_rtcp_wr_finish(&w);
    cr_assert_gt(len, 0);
    put_line(in, "rtcp", b, (size_t)len);
    fclose(in);

    char cmd[1024];
    snprintf(cmd, sizeof cmd, PY " %s parse < %s", tst_src_path("tests/interop/rtp_aiortc.py"),
             in_path);
    FILE *f = popen(cmd, "r");
    cr_assert_not_null(f);
    static char line[65536];
    json_t *res[5] = {0};
    int k = 0;
    while (k < 5 && fgets(line, sizeof line, f)) {
        json_error_t err;
        res[k] = json_loads(line, 0, &err);
        cr_assert_not_null(res[k], "bad JSON: %s", err.text);
        cr_assert_null(json_object_get(res[k], "error"), "aiortc refused packet %d: %s", k + 1,
                       json_string_value(json_object_get(res[k], "error")));
        k++;
    }
    cr_assert_eq(pclose(f), 0);
    unlink(in_path);
    cr_assert_eq(k, 5);

    json_t *o = res[0];
    cr_assert_eq(jint(o, "pt"), 111);
    cr_assert_eq(jint(o, "seq"), 65535);
    cr_assert_eq(jint(o, "ts"), 0xfffffff0l);
    cr_assert_eq(jint(o, "ssrc"), 0xcafebabel);
    cr_assert_eq(jint(o, "marker"), 1);
    cr_assert_eq(jint(o, "padding"), 3);
    cr_assert_str_eq(json_string_value(json_object_get(o, "payload")), "68656c6c6f");
    cr_assert_eq(json_array_size(json_object_get(o, "csrc")), 2);
    cr_assert_eq(json_integer_value(json_array_get(json_object_get(o, "csrc"), 1)), 6);
    cr_assert_str_eq(json_string_value(json_object_get(o, "mid")), "a");
    cr_assert_eq(jint(o, "abs"), 0xabcdef);
    cr_assert_eq(jint(o, "twcc"), 65535);
    cr_assert(json_is_true(json_array_get(json_object_get(o, "level"), 0)));
    cr_assert_eq(json_integer_value(json_array_get(json_object_get(o, "level"), 1)), 42);

    o = res[1];
    cr_assert_str_eq(json_string_value(json_object_get(o, "rid")), "abcdefghijklmnopqrst");
    cr_assert_eq(jint(o, "twcc"), 65535);
    cr_assert_str_eq(json_string_value(json_object_get(o, "payload")), "7879");

    o = res[2]; /* RTX: OSN 7 then the payload */
    cr_assert_eq(jint(o, "pt"), 97);
    cr_assert_eq(jint(o, "seq"), 4242);
    cr_assert_eq(jint(o, "ssrc"), 0x2222);
    cr_assert_str_eq(json_string_value(json_object_get(o, "payload")), "00077879");
    cr_assert_str_eq(json_string_value(json_object_get(o, "rid")), "abcdefghijklmnopqrst");

    json_t *p = json_object_get(res[3], "packets");
    cr_assert_eq(json_array_size(p), 3);
    json_t *s = json_array_get(p, 0);
    cr_assert_str_eq(json_string_value(json_object_get(s, "type")), "sr");
    cr_assert_eq(json_integer_value(json_object_get(s, "ntp_timestamp")), 0x0102030405060708ll);
    cr_assert_eq(jint(s, "rtp_timestamp"), 9);
    cr_assert_eq(jint(s, "packet_count"), 10);
    cr_assert_eq(jint(s, "octet_count"), 11);
    json_t *rb = json_array_get(json_object_get(s, "reports"), 0);
    cr_assert_eq(jint(rb, "ssrc"), 2);
    cr_assert_eq(jint(rb, "fraction_lost"), 3);
    cr_assert_eq(jint(rb, "packets_lost"), -4);
    cr_assert_eq(jint(rb, "highest_sequence"), 5);
    cr_assert_eq(jint(rb, "jitter"), 6);
    cr_assert_eq(jint(rb, "lsr"), 7);
    cr_assert_eq(jint(rb, "dlsr"), 8);
    json_t *sd = json_array_get(json_object_get(json_array_get(p, 1), "chunks"), 0);
    cr_assert_eq(jint(sd, "ssrc"), 1);
    json_t *item = json_array_get(json_object_get(sd, "items"), 0);
    cr_assert_eq(json_integer_value(json_array_get(item, 0)), 1);
    cr_assert_str_eq(json_string_value(json_array_get(item, 1)), "urtc-cname-x");
    json_t *src = json_object_get(json_array_get(p, 2), "sources");
    cr_assert_eq(json_array_size(src), 3);
    cr_assert_eq(json_integer_value(json_array_get(src, 2)), 3);

    p = json_object_get(res[4], "packets");
    cr_assert_eq(json_array_size(p), 5);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(p, 0), "type")), "rr");
    json_t *nk = json_array_get(p, 1);
    cr_assert_eq(jint(nk, "fmt"), 1);
    cr_assert_eq(jint(nk, "media_ssrc"), 21);
    json_t *lost = json_object_get(nk, "lost");
    cr_assert_eq(json_array_size(lost), 5);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(json_integer_value(json_array_get(lost, (size_t)i)), seqs[i]);
    cr_assert_eq(jint(json_array_get(p, 2), "fmt"), 1); /* PLI */
    cr_assert_eq(jint(json_array_get(p, 3), "fmt"), 4); /* FIR, kept as PSFB */
    json_t *remb = json_object_get(json_array_get(p, 4), "remb");
    cr_assert_eq(json_integer_value(json_array_get(remb, 0)), (2500000 >> 4) << 4);
    cr_assert_eq(json_integer_value(json_array_get(json_array_get(remb, 1), 0)), 21);
    for (int i = 0; i < 5; i++)
        json_decref(res[i]);
}
