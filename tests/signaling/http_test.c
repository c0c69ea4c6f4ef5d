/* tests/signaling/http_test.c: the HTTP/1.1 request-head parser and the static-file helpers. */
#include "signaling/sig_priv.h"

#include "tests/support/tst.h"

#include <criterion/criterion.h>
#include <stdio.h>

static int parse(const char *s, sig_http_req_t *req)
{
    size_t len = strlen(s);
    return sig_http_parse(tst_guard_copy(s, len), len, req);
}

Test(signaling_http, parses_a_request_head_with_query_and_fields)
{
    const char *r = "GET /a/b.js?room=x%20y&name=al+ice HTTP/1.1\r\nHost: h:1\r\n"
                    "X-Empty:\r\nUpgrade:  websocket \t\r\nConnection: keep-alive, Upgrade\r\n\r\n"
                    "BODY";
    sig_http_req_t q;
    cr_assert_eq(parse(r, &q), (int)strlen(r) - 4);
    cr_expect(net_view_eq_str(q.method, "GET"));
    cr_expect(net_view_eq_str(q.path, "/a/b.js"));
    cr_expect(net_view_eq_str(q.query, "room=x%20y&name=al+ice"));
    cr_expect_eq(q.minor, 1);
    cr_expect_eq(q.hdr_cnt, 4);
    cr_expect(q.keep_alive);
    const net_view_t *up = sig_http_hdr(&q, "UPGRADE");
    cr_assert_not_null(up);
    cr_expect(net_view_eq_str(*up, "websocket"), "OWS trimmed");
    cr_expect(sig_http_has_token(*sig_http_hdr(&q, "connection"), "upgrade"));
    cr_expect(!sig_http_has_token(*sig_http_hdr(&q, "connection"), "close"));
    cr_expect_eq(sig_http_hdr(&q, "x-empty")->len, 0);
    char v[64];
    cr_expect_eq(sig_http_query_get(q.query, "room", v, sizeof v), 3);
    cr_expect_str_eq(v, "x y");
    cr_expect_eq(sig_http_query_get(q.query, "name", v, sizeof v), 6);
    cr_expect_str_eq(v, "al ice");
    cr_expect_eq(sig_http_query_get(q.query, "nope", v, sizeof v), -ENOENT);
}

Test(signaling_http, incomplete_heads_ask_for_more_at_every_length)
{
    const char *r = "POST /whip/r HTTP/1.1\r\nHost: h\r\nContent-Length: 12\r\n\r\n";
    size_t len = strlen(r);
    sig_http_req_t q;
    for (size_t i = 0; i < len; i++)
        cr_assert_eq(sig_http_parse(tst_guard_copy(r, i), i, &q), -EAGAIN, "at %zu", i);
    cr_assert_eq(sig_http_parse(tst_guard_copy(r, len), len, &q), (int)len);
    cr_expect_eq(q.content_len, 12);
}

Test(signaling_http, pipelined_requests_parse_one_at_a_time)
{
    const char *r = "GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.0\r\n\r\n";
    sig_http_req_t q;
    int n = parse(r, &q);
    cr_assert_gt(n, 0);
    cr_expect(net_view_eq_str(q.path, "/1"));
    cr_assert_eq(sig_http_parse((const uint8_t *)r + n, strlen(r) - (size_t)n, &q),
                 (int)strlen(r) - n);
    cr_expect(net_view_eq_str(q.path, "/2"));
    cr_expect(!q.keep_alive, "HTTP/1.0 closes by default");
}

Test(signaling_http, connection_close_and_leading_empty_line)
{
    sig_http_req_t q;
    cr_assert_gt(parse("\r\nGET / HTTP/1.1\r\nHost: h\r\nConnection: Close\r\n\r\n", &q), 0);
    cr_expect(!q.keep_alive);
    cr_assert_gt(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &q), 0);
    cr_expect(q.keep_alive);
}

Test(signaling_http, malformed_heads_get_typed_errors)
{
    static const struct {
        const char *req;
        int err;
    } cases[] = {
        {"GET / HTTP/1.1\r\n\r\n", -EBADMSG}, /* no Host */
        {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", -EBADMSG},
        {"GET / HTTP/1.1\r\nHost : a\r\n\r\n", -EBADMSG},      /* space before colon */
        {"GET / HTTP/1.1\r\nHost: a\r\n x\r\n\r\n", -EBADMSG}, /* obs-fold */
        {"GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", -EBADMSG},    /* bare CR */
        {"GET / HTTP/1.1\r\nHost: a\x01\r\n\r\n", -EBADMSG},
        {"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", -EBADMSG},
        {"GET http://x/ HTTP/1.1\r\nHost: a\r\n\r\n", -EBADMSG},
        {"GET / HTTP/1.1 \r\nHost: a\r\n\r\n", -EBADMSG},
        {"GET / FTP/1.1\r\nHost: a\r\n\r\n", -EBADMSG},
        {"GET / HTTP/2.0\r\nHost: a\r\n\r\n", -EPROTONOSUPPORT},
        {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", -ENOTSUP},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", -EBADMSG},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", -EBADMSG},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 2\r\n\r\n", -EBADMSG},
        {"\x16\x03\x01\x02\x00", -EBADMSG}, /* a TLS ClientHello: refused at once */
    };
    for (size_t i = 0; i < NET_ARRAY_LEN(cases); i++) {
        sig_http_req_t q;
        cr_expect_eq(parse(cases[i].req, &q), cases[i].err, "case %zu", i);
    }
    /* Equal duplicate Content-Length values are allowed (RFC 9112 §6.3). */
    sig_http_req_t q;
    cr_expect_gt(
        parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", &q),
        0);
}

Test(signaling_http, size_and_count_limits)
{
    static char big[SIG_HTTP_MAX_HDR_LEN + 64];
    int n = snprintf(big, sizeof big, "GET / HTTP/1.1\r\nHost: a\r\nX: ");
    memset(big + n, 'a', sizeof big - (size_t)n);
    sig_http_req_t q;
    cr_expect_eq(sig_http_parse(tst_guard_copy(big, sizeof big), sizeof big, &q), -EMSGSIZE);
    cr_expect_eq(sig_http_parse(tst_guard_copy(big, 100), 100, &q), -EAGAIN);
    char many[4096];
    n = snprintf(many, sizeof many, "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < SIG_HTTP_MAX_HDRS; i++)
        n += snprintf(many + n, sizeof many - (size_t)n, "X%d: y\r\n", i);
    snprintf(many + n, sizeof many - (size_t)n, "\r\n");
    cr_expect_eq(parse(many, &q), -E2BIG);
}

Test(signaling_http, path_clean_refuses_traversal_plain_or_encoded)
{
    static const char *bad[] = {
        "/..",        "/../etc/passwd", "/a/../../b", "/%2e%2e/x", "/%2E%2e%2fx", "/.git/config",
        "/a/.hidden", "//etc/passwd",   "/a//b",      "/a/",       "/a%00b",      "/a%5c..%5cb",
        "/a\\b",      "relative",       "",           "/%zz",      "/%2",         "/a%0d%0ab",
    };
    char out[256];
    for (size_t i = 0; i < NET_ARRAY_LEN(bad); i++) {
        net_view_t v = {(const uint8_t *)bad[i], strlen(bad[i])};
        cr_expect_lt(sig_http_path_clean(v, out, sizeof out), 0, "%s", bad[i]);
    }
    net_view_t ok = {(const uint8_t *)"/dir/my%20file.js", 17};
    cr_expect_eq(sig_http_path_clean(ok, out, sizeof out), 15);
    cr_expect_str_eq(out, "/dir/my file.js");
    net_view_t root = {(const uint8_t *)"/", 1};
    cr_expect_eq(sig_http_path_clean(root, out, sizeof out), 1);
    net_view_t a_dot = {(const uint8_t *)"/a.b.c", 6};
    cr_expect_eq(sig_http_path_clean(a_dot, out, sizeof out), 6, "dots inside a name are fine");
    cr_expect_eq(sig_http_path_clean(a_dot, out, 4), -ENOSPC);
}

Test(signaling_http, mime_types)
{
    cr_expect_str_eq(sig_http_mime("/index.html"), "text/html; charset=utf-8");
    cr_expect_str_eq(sig_http_mime("/app.js"), "text/javascript; charset=utf-8");
    cr_expect_str_eq(sig_http_mime("/style.CSS"), "text/css; charset=utf-8");
    cr_expect_str_eq(sig_http_mime("/x.svg"), "image/svg+xml");
    cr_expect_str_eq(sig_http_mime("/noext"), "application/octet-stream");
    cr_expect_str_eq(sig_http_mime("/dir.js/noext"), "application/octet-stream");
    cr_expect_str_eq(sig_http_reason(431), "Request Header Fields Too Large");
}
