/* tests/fuzz/http_fuzz.c: the HTTP/1.1 request-head parser on arbitrary bytes, as a stream of
 * pipelined requests, with the static-file path check and query lookup on what it finds.
 * Properties (abort on violation): heads and bodies stay inside the input, views point into
 * it, and a path that passes sig_http_path_clean has no dot segment or empty segment. */
#include "signaling/sig_priv.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        abort();
}

static bool inside(net_view_t v, const uint8_t *b, size_t len)
{
    return v.len == 0 || (v.p >= b && v.p + v.len <= b + len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t off = 0;
    for (int i = 0; i < 64 && off < size; i++) {
        sig_http_req_t req;
        int n = sig_http_parse(data + off, size - off, &req);
        if (n < 0) {
            check(n == -EAGAIN || n == -EBADMSG || n == -EMSGSIZE || n == -E2BIG || n == -ENOTSUP ||
                  n == -EPROTONOSUPPORT);
            break;
        }
        check(n > 0 && (size_t)n <= size - off && (size_t)n == req.head_len);
        check(req.hdr_cnt <= SIG_HTTP_MAX_HDRS);
        const uint8_t *b = data + off;
        check(inside(req.method, b, (size_t)n) && inside(req.target, b, (size_t)n));
        check(inside(req.path, b, (size_t)n) && inside(req.query, b, (size_t)n));
        for (uint32_t h = 0; h < req.hdr_cnt; h++)
            check(inside(req.hdrs[h].name, b, (size_t)n) &&
                  inside(req.hdrs[h].value, b, (size_t)n));
        char path[512];
        int pl = sig_http_path_clean(req.path, path, sizeof path);
        if (pl > 0) {
            check((size_t)pl == strlen(path) && path[0] == '/');
            check(!strstr(path, "/.") && !strstr(path, "//") && !strchr(path, '\\'));
        }
        char v[128];
        int ql = sig_http_query_get(req.query, "room", v, sizeof v);
        check(ql < 0 || (size_t)ql == strlen(v));
        (void)sig_http_mime(path);
        const net_view_t *conn = sig_http_hdr(&req, "connection");
        if (conn)
            (void)sig_http_has_token(*conn, "upgrade");
        if (req.content_len > size - off - (size_t)n)
            break;
        off += (size_t)n + (size_t)req.content_len;
    }
    return 0;
}
