/* tests/rtc/stun_test.c: RFC 5769 vectors, captured Chromium/aiortc fixtures, malformed input,
 * writer round trips. */
#include "rtc/stun/stun.h"

#include "rtc/crypto/crypto.h"
#include "tests/support/tst.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

/* RFC 5769 §2.1: sample request, short-term credentials. */
static const char rfc5769_req_hex[] = "00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae"
                                      "80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74"
                                      "00 24 00 04 6e 00 01 ff"
                                      "80 29 00 08 93 2f f9 b1 51 26 3b 36"
                                      "00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20"
                                      "00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49"
                                      "c1 b5 71 a2"
                                      "80 28 00 04 e5 7a 3b cf";
/* §2.2: IPv4 response, 192.0.2.1:32853. */
static const char rfc5769_resp4_hex[] =
    "01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae"
    "80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20"
    "00 20 00 08 00 01 a1 47 e1 12 a6 43"
    "00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53"
    "f0 6b e7 d7"
    "80 28 00 04 c0 7d 4c 96";
/* §2.3: IPv6 response, [2001:db8:1234:5678:11:2233:4455:6677]:32853. */
static const char rfc5769_resp6_hex[] =
    "01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae"
    "80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20"
    "00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5"
    "be d2 b9 d9"
    "00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75"
    "bf e3 ed 41"
    "80 28 00 04 c8 fb 0b 4c";
/* §2.4: request with long-term credentials (no FINGERPRINT). */
static const char rfc5769_lt_hex[] = "00 01 00 60 21 12 a4 42 78 ad 34 33 c6 ad 72 c0 29 da 41 2e"
                                     "00 06 00 12 e3 83 9e e3 83 88 e3 83 aa e3 83 83 e3 82 af e3"
                                     "82 b9 00 00"
                                     "00 15 00 1c 66 2f 2f 34 39 39 6b 39 35 34 64 36 4f 4c 33 34"
                                     "6f 4c 39 46 53 54 76 79 36 34 73 41"
                                     "00 14 00 0b 65 78 61 6d 70 6c 65 2e 6f 72 67 00"
                                     "00 08 00 14 f6 70 24 65 6d d6 4a 3e 02 b8 e0 71 2e 85 c9 a2"
                                     "8c a8 96 66";
static const char rfc5769_pwd[] = "VOkJxbRl1RmTxUk/WvJxBt";

static size_t hex(const char *h, uint8_t *out, size_t cap)
{
    size_t n = tst_hex(h, out, cap);
    cr_assert(n > 0 && n < cap);
    return n;
}

static void parse_ok(const uint8_t *b, size_t len, rtc_stun_msg_t *m)
{
    const uint8_t *g = tst_guard_copy(b, len);
    int r = rtc_stun_parse(g, len, m);
    cr_assert_eq(r, (int)len, "parse: %d", r);
}

static void addr_is(const net_addr_t *a, const char *want)
{
    char buf[NET_ADDR_STRLEN];
    cr_assert_str_eq(net_addr_fmt(a, buf, sizeof buf), want);
}

Test(stun, rfc5769_request)
{
    uint8_t b[256];
    size_t len = hex(rfc5769_req_hex, b, sizeof b);
    rtc_stun_msg_t m;
    parse_ok(b, len, &m);
    cr_assert_eq(m.method, RTC_STUN_BINDING);
    cr_assert_eq(m.cls, RTC_STUN_REQUEST);
    cr_assert(net_view_eq_str(m.software, "STUN test client"));
    cr_assert(net_view_eq_str(m.username, "evtj:h6vY"));
    cr_assert_eq(m.priority, 0x6e0001ffu);
    cr_assert(m.present & RTC_STUN_HAS_CONTROLLED);
    cr_assert_eq(m.ice_controlled, 0x932ff9b151263b36ull);
    cr_assert_eq(rtc_stun_check_fingerprint(&m), 0);
    cr_assert_eq(rtc_stun_check_integrity(&m, rfc5769_pwd, strlen(rfc5769_pwd)), 0);
    cr_assert_eq(rtc_stun_check_integrity(&m, "wrong", 5), -EACCES);
    net_view_t uf;
    cr_assert_eq(rtc_stun_username_ufrag(&m, &uf), 0);
    cr_assert(net_view_eq_str(uf, "evtj"));
    cr_assert_eq(rtc_stun_peek_ufrag(b, len, &uf), 0);
    cr_assert(net_view_eq_str(uf, "evtj"));
}

static void check_response(const char *h, const char *want_addr)
{
    uint8_t b[256];
    size_t len = hex(h, b, sizeof b);
    rtc_stun_msg_t m;
    parse_ok(b, len, &m);
    cr_assert_eq(m.cls, RTC_STUN_SUCCESS);
    cr_assert(net_view_eq_str(m.software, "test vector"));
    cr_assert(m.present & RTC_STUN_HAS_XOR_MAPPED);
    addr_is(&m.xor_mapped, want_addr);
    cr_assert_eq(rtc_stun_check_fingerprint(&m), 0);
    cr_assert_eq(rtc_stun_check_integrity(&m, rfc5769_pwd, strlen(rfc5769_pwd)), 0);
}

Test(stun, rfc5769_ipv4_response)
{
    check_response(rfc5769_resp4_hex, "192.0.2.1:32853");
}

Test(stun, rfc5769_ipv6_response)
{
    check_response(rfc5769_resp6_hex, "[2001:db8:1234:5678:11:2233:4455:6677]:32853");
}

Test(stun, rfc5769_long_term)
{
    uint8_t b[256];
    size_t len = hex(rfc5769_lt_hex, b, sizeof b);
    rtc_stun_msg_t m;
    parse_ok(b, len, &m);
    cr_assert(net_view_eq_str(m.realm, "example.org"));
    cr_assert(net_view_eq_str(m.nonce, "f//499k954d6OL34oL9FSTvy64sA"));
    cr_assert_eq(rtc_stun_check_fingerprint(&m), -ENOENT);
    /* Username "マトリックス" as UTF-8, password "TheMatrIX" after SASLprep (RFC 5769 §2.4). */
    char user[32] = {0};
    memcpy(user, m.username.p, m.username.len);
    cr_assert_str_eq(user,
                     "\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa\xe3\x83\x83\xe3\x82\xaf\xe3\x82\xb9");
    uint8_t key[16];
    cr_assert_eq(rtc_stun_lt_key(user, m.realm, "TheMatrIX", key), 0);
    cr_assert_eq(rtc_stun_check_integrity(&m, key, sizeof key), 0);
    cr_assert_eq(rtc_stun_check_integrity(&m, "TheMatrIX", 9), -EACCES);
}

/* ---------------------------------------------------------------------------------------------
 * Captured fixtures: passwords and fields come from the .json sidecars.
 */
static const char *const fixtures[] = {
    "aiortc-1.4.0-binding-request-controlled",
    "aiortc-1.4.0-binding-request-controlling",
    "aiortc-1.4.0-binding-success-controlled",
    "aiortc-1.4.0-binding-success-controlling",
    "chromium-156.0.8078.108-binding-request-controlled",
    "chromium-156.0.8078.108-binding-request-controlling",
    "chromium-156.0.8078.108-binding-success-controlled",
    "chromium-156.0.8078.108-binding-success-controlling",
};

Test(stun, captured_fixtures)
{
    for (size_t i = 0; i < NET_ARRAY_LEN(fixtures); i++) {
        char path[256];
        size_t blen, jlen;
        snprintf(path, sizeof path, "stun/%s.bin", fixtures[i]);
        uint8_t *bin = tst_fixture(path, &blen);
        snprintf(path, sizeof path, "stun/%s.json", fixtures[i]);
        uint8_t *js = tst_fixture(path, &jlen);
        json_error_t jerr;
        json_t *j = json_loadb((const char *)js, jlen, 0, &jerr);
        cr_assert(j, "%s: %s", path, jerr.text);
        const char *key = json_string_value(json_object_get(j, "integrity_key"));
        const char *type = json_string_value(json_object_get(j, "message_type"));
        cr_assert(key && type);
        cr_assert_eq((size_t)json_integer_value(json_object_get(j, "bytes")), blen);

        rtc_stun_msg_t m;
        parse_ok(bin, blen, &m);
        cr_assert_eq(rtc_stun_type(m.method, m.cls), strtoul(type, NULL, 16), "%s", fixtures[i]);
        cr_assert_eq(rtc_stun_check_fingerprint(&m), 0, "%s", fixtures[i]);
        cr_assert_eq(rtc_stun_check_integrity(&m, key, strlen(key)), 0, "%s", fixtures[i]);
        /* Flip one bit of the key: must fail. */
        char bad[64];
        snprintf(bad, sizeof bad, "%s", key);
        bad[0] ^= 1;
        cr_assert_eq(rtc_stun_check_integrity(&m, bad, strlen(bad)), -EACCES);

        /* Every attribute the sidecar lists was seen with its value. */
        json_t *attrs = json_object_get(j, "attributes"), *a;
        size_t k;
        json_array_foreach(attrs, k, a)
        {
            const char *name = json_string_value(json_object_get(a, "name"));
            json_t *val = json_object_get(a, "value");
            if (!strcmp(name, "USERNAME")) {
                cr_assert(net_view_eq_str(m.username, json_string_value(val)));
                net_view_t uf;
                cr_assert_eq(rtc_stun_username_ufrag(&m, &uf), 0);
                const char *colon = strchr(json_string_value(val), ':');
                cr_assert_eq(uf.len, (size_t)(colon - json_string_value(val)));
            } else if (!strcmp(name, "PRIORITY")) {
                cr_assert_eq(m.priority, (uint32_t)json_integer_value(val));
            } else if (!strcmp(name, "ICE-CONTROLLING")) {
                cr_assert(m.present & RTC_STUN_HAS_CONTROLLING);
                cr_assert_eq(m.ice_controlling, (uint64_t)json_integer_value(val));
            } else if (!strcmp(name, "ICE-CONTROLLED")) {
                cr_assert(m.present & RTC_STUN_HAS_CONTROLLED);
                cr_assert_eq(m.ice_controlled, (uint64_t)json_integer_value(val));
            } else if (!strcmp(name, "XOR-MAPPED-ADDRESS")) {
                addr_is(&m.xor_mapped, json_string_value(val));
            } else if (!strcmp(name, "USE-CANDIDATE")) {
                cr_assert(m.present & RTC_STUN_HAS_USE_CANDIDATE);
            }
        }
        /* Build the same message again with our writer (attributes we know, in order) and
         * compare bytes: proves the writer's MI and FINGERPRINT. */
        uint8_t out[512];
        rtc_stun_wr_t w;
        rtc_stun_wr_init(&w, out, sizeof out, m.method, m.cls, m.txid);
        json_array_foreach(attrs, k, a)
        {
            const char *name = json_string_value(json_object_get(a, "name"));
            uint16_t t = (uint16_t)strtoul(json_string_value(json_object_get(a, "type")), NULL, 16);
            uint8_t v[256];
            size_t vlen = tst_hex(json_string_value(json_object_get(a, "value_hex")), v, sizeof v);
            if (!strcmp(name, "MESSAGE-INTEGRITY"))
                rtc_stun_wr_integrity(&w, key, strlen(key));
            else if (!strcmp(name, "FINGERPRINT"))
                rtc_stun_wr_fingerprint(&w);
            else
                rtc_stun_wr_attr(&w, t, v, vlen);
        }
        int n = rtc_stun_wr_finish(&w);
        cr_assert_eq(n, (int)blen, "%s: rebuilt %d", fixtures[i], n);
        /* Padding bytes of the capture may be non-zero (RFC 5769 uses spaces): compare the
         * MAC and fingerprint, which cover them, only when the paddings were zero. */
        bool zero_pad = true;
        json_array_foreach(attrs, k, a)
        {
            const char *ph = json_string_value(json_object_get(a, "padding_hex"));
            for (; ph && *ph; ph++)
                if (*ph != '0')
                    zero_pad = false;
        }
        if (zero_pad)
            cr_assert(memcmp(out, bin, blen) == 0, "%s: rebuilt bytes differ", fixtures[i]);
        json_decref(j);
        free(js);
        free(bin);
    }
}

/* ---------------------------------------------------------------------------------------------
 * Malformed input: typed errors, and the guard page catches over-reads.
 */
static int parse_raw(const uint8_t *b, size_t len)
{
    rtc_stun_msg_t m;
    return rtc_stun_parse(tst_guard_copy(b, len), len, &m);
}

Test(stun, rejects_truncated)
{
    uint8_t b[256];
    size_t len = hex(rfc5769_req_hex, b, sizeof b);
    for (size_t l = 0; l < len; l++)
        cr_assert_eq(parse_raw(b, l), -EBADMSG, "len %zu", l);
}

Test(stun, rejects_bad_header)
{
    uint8_t b[256];
    size_t len = hex(rfc5769_req_hex, b, sizeof b);
    uint8_t c[256];
    memcpy(c, b, len);
    c[0] |= 0x40; /* top bits */
    cr_assert_eq(parse_raw(c, len), -EBADMSG);
    memcpy(c, b, len);
    c[4] ^= 1; /* cookie */
    cr_assert_eq(parse_raw(c, len), -EBADMSG);
    memcpy(c, b, len);
    net_wr16be(c + 2, (uint16_t)(net_rd16be(c + 2) + 2)); /* not a multiple of 4 */
    cr_assert_eq(parse_raw(c, len + 2), -EBADMSG);
    memcpy(c, b, len);
    net_wr16be(c + 2, (uint16_t)(net_rd16be(c + 2) + 4)); /* longer than the datagram */
    cr_assert_eq(parse_raw(c, len), -EBADMSG);
    cr_assert(!rtc_stun_is_stun(c, len));
    cr_assert(rtc_stun_is_stun(b, len));
}

Test(stun, rejects_overrunning_attribute)
{
    uint8_t b[256];
    size_t len = hex(rfc5769_req_hex, b, sizeof b);
    /* SOFTWARE length 0x10 -> 0x60: runs past the body. */
    net_wr16be(b + 22, 0x60);
    cr_assert_eq(parse_raw(b, len), -EBADMSG);
    /* Body shortened so that the last attribute header is cut in half. */
    hex(rfc5769_req_hex, b, sizeof b);
    net_wr16be(b + 2, (uint16_t)(net_rd16be(b + 2) - 4));
    cr_assert_eq(parse_raw(b, len - 4), -EBADMSG);
}

Test(stun, rejects_bad_attribute_lengths)
{
    uint8_t b[256];
    size_t len = hex(rfc5769_req_hex, b, sizeof b);
    /* PRIORITY (offset 40) with length 8 instead of 4: the value then swallows the next
     * header; still inside the body, so the PRIORITY length check is what rejects it. */
    net_wr16be(b + 42, 8);
    cr_assert_eq(parse_raw(b, len), -EBADMSG);
    /* XOR-MAPPED-ADDRESS with an unknown family. */
    size_t l4 = hex(rfc5769_resp4_hex, b, sizeof b);
    b[20 + 16 + 5] = 0x03;
    cr_assert_eq(parse_raw(b, l4), -EBADMSG);
}

Test(stun, bad_integrity_and_fingerprint)
{
    uint8_t b[256];
    size_t len = hex(rfc5769_req_hex, b, sizeof b);
    b[len - 9] ^= 1; /* last byte of MESSAGE-INTEGRITY */
    rtc_stun_msg_t m;
    parse_ok(b, len, &m);
    cr_assert_eq(rtc_stun_check_integrity(&m, rfc5769_pwd, strlen(rfc5769_pwd)), -EACCES);
    cr_assert_eq(rtc_stun_check_fingerprint(&m), -EBADMSG);
    hex(rfc5769_req_hex, b, sizeof b);
    b[len - 1] ^= 0x80;
    parse_ok(b, len, &m);
    cr_assert_eq(rtc_stun_check_fingerprint(&m), -EBADMSG);
    cr_assert_eq(rtc_stun_check_integrity(&m, rfc5769_pwd, strlen(rfc5769_pwd)), 0);
    /* The software attribute changed after signing: both break. */
    hex(rfc5769_req_hex, b, sizeof b);
    b[24] = 'X';
    parse_ok(b, len, &m);
    cr_assert_eq(rtc_stun_check_integrity(&m, rfc5769_pwd, strlen(rfc5769_pwd)), -EACCES);
    cr_assert_eq(rtc_stun_check_fingerprint(&m), -EBADMSG);
}

Test(stun, attribute_after_fingerprint_rejected)
{
    uint8_t b[256], txid[12] = {1};
    rtc_stun_wr_t w;
    rtc_stun_wr_init(&w, b, sizeof b, RTC_STUN_BINDING, RTC_STUN_REQUEST, txid);
    rtc_stun_wr_fingerprint(&w);
    rtc_stun_wr_u32(&w, RTC_STUN_A_PRIORITY, 1);
    int n = rtc_stun_wr_finish(&w);
    cr_assert_gt(n, 0);
    cr_assert_eq(parse_raw(b, (size_t)n), -EBADMSG);
}

Test(stun, duplicate_attributes_first_wins)
{
    uint8_t b[256], txid[12] = {2};
    rtc_stun_wr_t w;
    rtc_stun_wr_init(&w, b, sizeof b, RTC_STUN_BINDING, RTC_STUN_REQUEST, txid);
    rtc_stun_wr_str(&w, RTC_STUN_A_USERNAME, "aaaa:bbbb");
    rtc_stun_wr_str(&w, RTC_STUN_A_USERNAME, "evil:cccc");
    rtc_stun_wr_u32(&w, RTC_STUN_A_PRIORITY, 7);
    rtc_stun_wr_u32(&w, RTC_STUN_A_PRIORITY, 9);
    rtc_stun_wr_integrity(&w, "pw", 2);
    /* After MESSAGE-INTEGRITY: a second MI and a USERNAME, both ignored (RFC 8489 §14.5). */
    rtc_stun_wr_attr(&w, RTC_STUN_A_MESSAGE_INTEGRITY, "01234567890123456789", 20);
    rtc_stun_wr_str(&w, RTC_STUN_A_USERNAME, "late:dddd");
    int n = rtc_stun_wr_finish(&w);
    cr_assert_gt(n, 0);
    rtc_stun_msg_t m;
    parse_ok(b, (size_t)n, &m);
    cr_assert(net_view_eq_str(m.username, "aaaa:bbbb"));
    cr_assert_eq(m.priority, 7);
    /* The MI covers only what precedes it: still valid. */
    cr_assert_eq(rtc_stun_check_integrity(&m, "pw", 2), 0);
    /* Two FINGERPRINTs: the second follows the first: rejected. */
    rtc_stun_wr_init(&w, b, sizeof b, RTC_STUN_BINDING, RTC_STUN_REQUEST, txid);
    rtc_stun_wr_fingerprint(&w);
    rtc_stun_wr_fingerprint(&w);
    n = rtc_stun_wr_finish(&w);
    cr_assert_eq(parse_raw(b, (size_t)n), -EBADMSG);
}

Test(stun, unknown_required_attribute_gets_420)
{
    uint8_t b[256], txid[12] = {3, 4, 5};
    rtc_stun_wr_t w;
    rtc_stun_wr_init(&w, b, sizeof b, RTC_STUN_BINDING, RTC_STUN_REQUEST, txid);
    rtc_stun_wr_attr(&w, 0x7777, "abc", 3);  /* unknown, comprehension-required */
    rtc_stun_wr_attr(&w, 0xC057, "abcd", 4); /* unknown, optional (GOOG-NETWORK-INFO) */
    rtc_stun_wr_str(&w, RTC_STUN_A_USERNAME, "a:b");
    rtc_stun_wr_integrity(&w, "pw", 2);
    rtc_stun_wr_fingerprint(&w);
    int n = rtc_stun_wr_finish(&w);
    cr_assert_gt(n, 0);
    rtc_stun_msg_t m;
    parse_ok(b, (size_t)n, &m);
    cr_assert_eq(m.unknown_cnt, 1);
    cr_assert_eq(m.unknown[0], 0x7777);
    uint8_t r[256];
    int rn = rtc_stun_build_420(&m, r, sizeof r, "pw", 2);
    cr_assert_gt(rn, 0);
    rtc_stun_msg_t e;
    parse_ok(r, (size_t)rn, &e);
    cr_assert_eq(e.cls, RTC_STUN_ERROR);
    cr_assert_eq(e.method, RTC_STUN_BINDING);
    cr_assert(memcmp(e.txid, txid, 12) == 0);
    cr_assert_eq(e.error_code, 420);
    cr_assert_eq(e.unknown_attrs.len, 2);
    cr_assert_eq(net_rd16be(e.unknown_attrs.p), 0x7777);
    cr_assert_eq(rtc_stun_check_integrity(&e, "pw", 2), 0);
    cr_assert_eq(rtc_stun_check_fingerprint(&e), 0);
    /* Not for a message without unknowns. */
    uint8_t q[256];
    size_t ql = hex(rfc5769_req_hex, q, sizeof q);
    parse_ok(q, ql, &m);
    cr_assert_eq(rtc_stun_build_420(&m, r, sizeof r, NULL, 0), -EINVAL);
}

Test(stun, writer_round_trip_all_attributes)
{
    uint8_t b[512], txid[12] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2};
    net_addr_t a4, a6, p4;
    cr_assert_eq(net_addr_parse(&a4, "10.1.2.3:4567", -1), 0);
    cr_assert_eq(net_addr_parse(&a6, "[2001:db8::5]:9", -1), 0);
    cr_assert_eq(net_addr_parse(&p4, "192.0.2.9:1000", -1), 0);
    rtc_stun_wr_t w;
    rtc_stun_wr_init(&w, b, sizeof b, RTC_STUN_ALLOCATE, RTC_STUN_ERROR, txid);
    rtc_stun_wr_addr(&w, RTC_STUN_A_MAPPED_ADDRESS, &a4);
    rtc_stun_wr_xor_addr(&w, RTC_STUN_A_XOR_MAPPED_ADDRESS, &a6);
    rtc_stun_wr_xor_addr(&w, RTC_STUN_A_XOR_PEER_ADDRESS, &p4);
    rtc_stun_wr_xor_addr(&w, RTC_STUN_A_XOR_RELAYED_ADDRESS, &a6);
    rtc_stun_wr_error(&w, 438, NULL);
    rtc_stun_wr_str(&w, RTC_STUN_A_REALM, "urtc");
    rtc_stun_wr_str(&w, RTC_STUN_A_NONCE, "nonce-1");
    rtc_stun_wr_str(&w, RTC_STUN_A_SOFTWARE, "urtc");
    rtc_stun_wr_u32(&w, RTC_STUN_A_LIFETIME, 600);
    rtc_stun_wr_transport(&w, 17);
    rtc_stun_wr_channel(&w, 0x4001);
    rtc_stun_wr_attr(&w, RTC_STUN_A_DATA, "hello", 5);
    rtc_stun_wr_attr(&w, RTC_STUN_A_USE_CANDIDATE, NULL, 0);
    rtc_stun_wr_u64(&w, RTC_STUN_A_ICE_CONTROLLING, 0x0102030405060708ull);
    rtc_stun_wr_integrity(&w, "k", 1);
    rtc_stun_wr_integrity_sha256(&w, "k", 1);
    rtc_stun_wr_fingerprint(&w);
    int n = rtc_stun_wr_finish(&w);
    cr_assert_gt(n, 0);
    rtc_stun_msg_t m;
    parse_ok(b, (size_t)n, &m);
    cr_assert_eq(m.method, RTC_STUN_ALLOCATE);
    cr_assert_eq(m.cls, RTC_STUN_ERROR);
    addr_is(&m.mapped, "10.1.2.3:4567");
    addr_is(&m.xor_mapped, "[2001:db8::5]:9");
    addr_is(&m.xor_peer, "192.0.2.9:1000");
    addr_is(&m.xor_relayed, "[2001:db8::5]:9");
    cr_assert_eq(m.error_code, 438);
    cr_assert(net_view_eq_str(m.error_reason, "Stale Nonce"));
    cr_assert(net_view_eq_str(m.realm, "urtc"));
    cr_assert(net_view_eq_str(m.nonce, "nonce-1"));
    cr_assert_eq(m.lifetime_s, 600);
    cr_assert_eq(m.req_transport, 17);
    cr_assert_eq(m.channel, 0x4001);
    cr_assert(net_view_eq_str(m.data, "hello"));
    cr_assert(m.present & RTC_STUN_HAS_USE_CANDIDATE);
    cr_assert_eq(m.ice_controlling, 0x0102030405060708ull);
    cr_assert_eq(rtc_stun_check_integrity(&m, "k", 1), 0);
    cr_assert_eq(rtc_stun_check_integrity_sha256(&m, "k", 1), 0);
    cr_assert_eq(rtc_stun_check_integrity_sha256(&m, "j", 1), -EACCES);
    cr_assert_eq(rtc_stun_check_fingerprint(&m), 0);
    cr_assert_eq(m.unknown_cnt, 0);
}

Test(stun, writer_reports_no_space)
{
    uint8_t b[40], txid[12] = {0};
    rtc_stun_wr_t w;
    rtc_stun_wr_init(&w, b, sizeof b, RTC_STUN_BINDING, RTC_STUN_REQUEST, txid);
    rtc_stun_wr_str(&w, RTC_STUN_A_USERNAME, "a-rather-long-user:name");
    rtc_stun_wr_fingerprint(&w);
    cr_assert_eq(rtc_stun_wr_finish(&w), -ENOSPC);
    rtc_stun_wr_init(&w, b, 10, RTC_STUN_BINDING, RTC_STUN_REQUEST, txid);
    cr_assert_eq(rtc_stun_wr_finish(&w), -ENOSPC);
}

Test(stun, ufrag_helpers_reject_bad_usernames)
{
    uint8_t b[128], txid[12] = {0};
    const char *bad[] = {"nocolon", ":x", "x:"};
    for (size_t i = 0; i < NET_ARRAY_LEN(bad); i++) {
        rtc_stun_wr_t w;
        rtc_stun_wr_init(&w, b, sizeof b, RTC_STUN_BINDING, RTC_STUN_REQUEST, txid);
        rtc_stun_wr_str(&w, RTC_STUN_A_USERNAME, bad[i]);
        int n = rtc_stun_wr_finish(&w);
        rtc_stun_msg_t m;
        parse_ok(b, (size_t)n, &m);
        net_view_t uf;
        cr_assert_eq(rtc_stun_username_ufrag(&m, &uf), -EBADMSG);
        cr_assert_eq(rtc_stun_peek_ufrag(tst_guard_copy(b, (size_t)n), (size_t)n, &uf), -EBADMSG);
    }
}
