/* tests/signaling/ws_test.c: WebSocket framing (RFC 6455) on the server side. */
#include "signaling/sig_priv.h"

#include "tests/support/tst.h"

#include <criterion/criterion.h>

/* A masked client frame. */
static size_t frame(uint8_t *out, uint8_t b0, const void *payload, size_t len)
{
    static const uint8_t mask[4] = {0x37, 0xfa, 0x21, 0x3d};
    size_t h = 0;
    out[h++] = b0;
    if (len < 126) {
        out[h++] = (uint8_t)(0x80 | len);
    } else if (len <= 0xFFFF) {
        out[h++] = 0x80 | 126;
        net_wr16be(out + h, (uint16_t)len);
        h += 2;
    } else {
        out[h++] = 0x80 | 127;
        net_wr64be(out + h, len);
        h += 8;
    }
    memcpy(out + h, mask, 4);
    h += 4;
    for (size_t i = 0; i < len; i++)
        out[h + i] = ((const uint8_t *)payload)[i] ^ mask[i & 3];
    return h + len;
}

Test(signaling_ws, accept_key_rfc6455_example)
{
    /* RFC 6455 §1.3. */
    const char *key = "dGhlIHNhbXBsZSBub25jZQ==";
    char out[SIG_WS_ACCEPT_LEN + 1];
    cr_assert_eq(sig_ws_accept((net_view_t){(const uint8_t *)key, 24}, out), 0);
    cr_expect_str_eq(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    const char *short_key = "dGhlIHNhbXBsZQ==";
    cr_expect_eq(sig_ws_accept((net_view_t){(const uint8_t *)short_key, 16}, out), -EBADMSG);
    const char *bad = "dGhlIHNhbXBsZSBub25jZ!==";
    cr_expect_eq(sig_ws_accept((net_view_t){(const uint8_t *)bad, 24}, out), -EBADMSG);
}

Test(signaling_ws, rfc6455_masked_hello_example)
{
    /* RFC 6455 §5.7: a single-frame masked text message "Hello". */
    static const uint8_t f[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
    sig_ws_t ws;
    sig_ws_init(&ws, 1024);
    sig_ws_ev_t ev;
    for (size_t i = 0; i < sizeof f; i++)
        cr_assert_eq(sig_ws_input(&ws, tst_guard_copy(f, i), i, &ev), -EAGAIN);
    cr_assert_eq(sig_ws_input(&ws, tst_guard_copy(f, sizeof f), sizeof f, &ev), (long)sizeof f);
    cr_expect_eq(ev.type, SIG_WS_EV_TEXT);
    cr_expect_eq(ev.len, 5);
    cr_expect(memcmp(ev.p, "Hello", 5) == 0);
    sig_ws_fini(&ws);
}

Test(signaling_ws, fragments_with_a_ping_between_them)
{
    uint8_t buf[256];
    size_t n = frame(buf, 0x01, "Hel", 3); /* text, not FIN */
    n += frame(buf + n, 0x89, "p", 1);     /* ping in the middle */
    n += frame(buf + n, 0x80, "lo", 2);    /* continuation, FIN */
    sig_ws_t ws;
    sig_ws_init(&ws, 1024);
    sig_ws_ev_t ev;
    const uint8_t *b = tst_guard_copy(buf, n);
    long used = sig_ws_input(&ws, b, n, &ev);
    cr_assert_gt(used, 0);
    cr_expect_eq(ev.type, SIG_WS_EV_NONE);
    long u2 = sig_ws_input(&ws, b + used, n - (size_t)used, &ev);
    cr_assert_gt(u2, 0);
    cr_expect_eq(ev.type, SIG_WS_EV_PING);
    cr_expect(ev.len == 1 && ev.p[0] == 'p');
    used += u2;
    cr_assert_eq(sig_ws_input(&ws, b + used, n - (size_t)used, &ev), (long)(n - (size_t)used));
    cr_expect_eq(ev.type, SIG_WS_EV_TEXT);
    cr_expect(ev.len == 5 && memcmp(ev.p, "Hello", 5) == 0);
    sig_ws_fini(&ws);
}

Test(signaling_ws, extended_lengths)
{
    static uint8_t big[70000 + 14], payload[70000];
    memset(payload, 'x', sizeof payload);
    sig_ws_t ws;
    sig_ws_init(&ws, 100000);
    sig_ws_ev_t ev;
    size_t n = frame(big, 0x82, payload, 300); /* 16-bit length */
    cr_assert_eq(sig_ws_input(&ws, big, n, &ev), (long)n);
    cr_expect(ev.type == SIG_WS_EV_BINARY && ev.len == 300);
    n = frame(big, 0x82, payload, sizeof payload); /* 64-bit length */
    cr_assert_eq(sig_ws_input(&ws, big, n, &ev), (long)n);
    cr_expect(ev.type == SIG_WS_EV_BINARY && ev.len == sizeof payload);
    sig_ws_fini(&ws);
}

static long one(sig_ws_t *ws, const uint8_t *b, size_t n)
{
    sig_ws_ev_t ev;
    return sig_ws_input(ws, tst_guard_copy(b, n), n, &ev);
}

Test(signaling_ws, protocol_errors_carry_their_close_code)
{
    uint8_t b[256];
    sig_ws_t ws;
    struct {
        uint8_t b0;
        const char *payload;
        size_t len;
        long err;
        uint16_t code;
    } cases[] = {
        {0x81, "\xc3\x28", 2, -EILSEQ, 1007},         /* bad UTF-8 */
        {0x81, "\xed\xa0\x80", 3, -EILSEQ, 1007},     /* surrogate */
        {0x81, "\xf4\x90\x80\x80", 4, -EILSEQ, 1007}, /* above U+10FFFF */
        {0x81, "\xe2\x82", 2, -EILSEQ, 1007},         /* truncated */
        {0xC1, "x", 1, -EBADMSG, 1002},               /* RSV1 */
        {0x83, "x", 1, -EBADMSG, 1002},               /* reserved data opcode */
        {0x8B, "x", 1, -EBADMSG, 1002},               /* reserved control opcode */
        {0x80, "x", 1, -EBADMSG, 1002},               /* continuation with nothing to continue */
        {0x09, "x", 1, -EBADMSG, 1002},               /* fragmented ping */
        {0x88, "\x03", 1, -EBADMSG, 1002},            /* close body of one byte */
        {0x88, "\x03\xed", 2, -EBADMSG, 1002},        /* close code 1005 */
        {0x88, "\x03\xe8\xff", 3, -EILSEQ, 1007},     /* close reason not UTF-8 */
    };
    for (size_t i = 0; i < NET_ARRAY_LEN(cases); i++) {
        sig_ws_init(&ws, 1024);
        size_t n = frame(b, cases[i].b0, cases[i].payload, cases[i].len);
        cr_expect_eq(one(&ws, b, n), cases[i].err, "case %zu", i);
        cr_expect_eq(ws.fail_code, cases[i].code, "case %zu", i);
        sig_ws_fini(&ws);
    }
    /* Unmasked client frame (§5.1). */
    sig_ws_init(&ws, 1024);
    const uint8_t unmasked[] = {0x81, 0x02, '{', '}'};
    cr_expect_eq(one(&ws, unmasked, sizeof unmasked), -EBADMSG);
    cr_expect_eq(ws.fail_code, 1002);
    /* Non-minimal 16-bit length. */
    const uint8_t nonmin[] = {0x81, 0xFE, 0x00, 0x05, 1, 2, 3, 4, 'a', 'b', 'c', 'd', 'e'};
    cr_expect_eq(one(&ws, nonmin, sizeof nonmin), -EBADMSG);
    /* Long control frame. */
    uint8_t p[126] = {0};
    size_t n = frame(b, 0x89, p, sizeof p);
    cr_expect_eq(one(&ws, b, n), -EBADMSG);
    sig_ws_fini(&ws);
    /* A new message inside a fragmented one. */
    sig_ws_init(&ws, 1024);
    n = frame(b, 0x01, "a", 1);
    cr_assert_eq(one(&ws, b, n), (long)n);
    n = frame(b, 0x81, "b", 1);
    cr_expect_eq(one(&ws, b, n), -EBADMSG);
    sig_ws_fini(&ws);
}

Test(signaling_ws, too_big_is_refused_from_the_header_alone)
{
    sig_ws_t ws;
    sig_ws_init(&ws, 1000);
    const uint8_t hdr[] = {0x81, 0xFF, 0, 0, 0, 0, 0, 0x10, 0, 0}; /* 1 MiB, no payload yet */
    cr_expect_eq(one(&ws, hdr, sizeof hdr), -EMSGSIZE);
    cr_expect_eq(ws.fail_code, 1009);
    cr_expect_eq(ws.skip_len, 10 + 4 + (1u << 20), "the caller may skip the whole frame");
    sig_ws_fini(&ws);
    /* Fragments that add up past the limit. */
    sig_ws_init(&ws, 10);
    uint8_t b[64];
    size_t n = frame(b, 0x01, "123456", 6);
    cr_assert_eq(one(&ws, b, n), (long)n);
    n = frame(b, 0x80, "123456", 6);
    cr_expect_eq(one(&ws, b, n), -EMSGSIZE);
    sig_ws_fini(&ws);
    /* 64-bit length with the top bit set. */
    sig_ws_init(&ws, 10);
    const uint8_t huge[] = {0x81, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0};
    cr_expect_eq(one(&ws, huge, sizeof huge), -EBADMSG);
    sig_ws_fini(&ws);
}

Test(signaling_ws, close_frames_and_server_headers)
{
    sig_ws_t ws;
    sig_ws_init(&ws, 100);
    uint8_t b[64];
    size_t n = frame(b, 0x88,
                     "\x03\xe8"
                     "bye",
                     5);
    sig_ws_ev_t ev;
    cr_assert_eq(sig_ws_input(&ws, b, n, &ev), (long)n);
    cr_expect(ev.type == SIG_WS_EV_CLOSE && ev.code == 1000 && ev.len == 3);
    n = frame(b, 0x88, "", 0);
    cr_assert_eq(sig_ws_input(&ws, b, n, &ev), (long)n);
    cr_expect(ev.type == SIG_WS_EV_CLOSE && ev.code == SIG_WS_CLOSE_NO_STATUS);
    sig_ws_fini(&ws);
    uint8_t h[10];
    cr_expect_eq(sig_ws_hdr_write(h, SIG_WS_OP_TEXT, 5), 2);
    cr_expect(h[0] == 0x81 && h[1] == 5);
    cr_expect_eq(sig_ws_hdr_write(h, SIG_WS_OP_TEXT, 126), 4);
    cr_expect(h[1] == 126 && net_rd16be(h + 2) == 126);
    cr_expect_eq(sig_ws_hdr_write(h, SIG_WS_OP_BINARY, 70000), 10);
    cr_expect(h[1] == 127 && net_rd64be(h + 2) == 70000);
}

Test(signaling_ws, utf8_validator)
{
    cr_expect(sig_utf8_valid((const uint8_t *)"", 0));
    cr_expect(sig_utf8_valid((const uint8_t *)"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80", 15));
    cr_expect(!sig_utf8_valid((const uint8_t *)"\xc0\x80", 2), "overlong NUL");
    cr_expect(!sig_utf8_valid((const uint8_t *)"\xe0\x80\xaf", 3), "overlong");
    cr_expect(!sig_utf8_valid((const uint8_t *)"\xff", 1));
    cr_expect(!sig_utf8_valid((const uint8_t *)"\x80", 1), "lone continuation");
    cr_expect(!sig_utf8_valid((const uint8_t *)"\xf0\x9f\x98", 3), "truncated at the end");
}
