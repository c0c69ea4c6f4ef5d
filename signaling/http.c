/* signaling/http.c: HTTP/1.1 request heads (RFC 9112), sans-IO, plus the helpers of the static
 * file server (path cleaning, query parameters, MIME types).
 *
 *   request-line = method SP request-target SP HTTP-version CRLF      (RFC 9112 §3)
 *   field-line   = field-name ":" OWS field-value OWS CRLF            (RFC 9112 §5)
 *   HTTP-message = start-line CRLF *( field-line CRLF ) CRLF [ message-body ]
 *
 * Strict on purpose (these rules close request-smuggling holes): lines end in CRLF, no
 * whitespace between a field name and its colon (§5.1 MUST reject with 400), no obs-fold
 * (§5.2: we reject with 400), one Host (§3.2 MUST 400), Content-Length only as digits and
 * every copy equal (§6.3), and no Transfer-Encoding at all (we take only Content-Length
 * bodies; §6.1 lets a server answer 501 to a coding it does not understand).
 */
#include "signaling/sig_priv.h"

#include <ctype.h>
#include <strings.h>

/* RFC 9110 §5.6.2: tchar. */
static bool is_tchar(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return true;
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
        return true;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool view_ieq(net_view_t v, const char *s)
{
    size_t n = strlen(s);
    return v.len == n && strncasecmp((const char *)v.p, s, n) == 0;
}

static const uint8_t *find_crlfcrlf(const uint8_t *b, size_t len)
{
    for (size_t i = 0; i + 4 <= len; i++)
        if (b[i] == '\r' && b[i + 1] == '\n' && b[i + 2] == '\r' && b[i + 3] == '\n')
            return b + i;
    return NULL;
}

/* Parses the request line in [p, end) (without its CRLF). */
static int parse_request_line(const uint8_t *p, const uint8_t *end, sig_http_req_t *req)
{
    const uint8_t *s = p;
    while (p < end && is_tchar(*p))
        p++;
    if (p == s || p - s > 16 || p == end || *p != ' ')
        return -EBADMSG;
    req->method = (net_view_t){s, (size_t)(p - s)};
    s = ++p;
    while (p<end && * p> 0x20 && *p < 0x7f)
        p++;
    if (p == s || p == end || *p != ' ')
        return -EBADMSG;
    req->target = (net_view_t){s, (size_t)(p - s)};
    if (s[0] != '/') /* origin-form only (§3.2.1); no absolute-form or '*' */
        return -EBADMSG;
    p++;
    if (end - p != 8 || memcmp(p, "HTTP/", 5) != 0 || !isdigit(p[5]) || p[6] != '.' ||
        !isdigit(p[7]))
        return -EBADMSG;
    if (p[5] != '1')
        return -EPROTONOSUPPORT;
    req->minor = p[7] - '0';
    const uint8_t *q = memchr(req->target.p, '?', req->target.len);
    if (q) {
        req->path = (net_view_t){req->target.p, (size_t)(q - req->target.p)};
        req->query = (net_view_t){q + 1, req->target.len - req->path.len - 1};
    } else {
        req->path = req->target;
        req->query = (net_view_t){q, 0};
    }
    return 0;
}

static int parse_content_length(net_view_t v, uint64_t *out)
{
    if (v.len == 0 || v.len > 18)
        return -EBADMSG;
    uint64_t n = 0;
    for (size_t i = 0; i < v.len; i++) {
        if (!isdigit(v.p[i]))
            return -EBADMSG;
        n = n * 10 + (uint64_t)(v.p[i] - '0');
    }
    *out = n;
    return 0;
}

int sig_http_parse(const uint8_t *b, size_t len, sig_http_req_t *req)
{
    memset(req, 0, sizeof *req);
    /* RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the request-line
     * (some clients send a CRLF after a POST body). */
    size_t skip = 0;
    while (skip + 2 <= len && skip < 8 && b[skip] == '\r' && b[skip + 1] == '\n')
        skip += 2;
    /* Junk is refused as soon as it arrives, not when the head limit or the idle timeout is
     * reached: the request line holds only visible ASCII and spaces. */
    for (size_t i = skip; i < len && b[i] != '\r'; i++)
        if (b[i] < 0x20 || b[i] > 0x7e)
            return -EBADMSG;
    size_t scan = NET_MIN(len, (size_t)SIG_HTTP_MAX_HDR_LEN);
    const uint8_t *end = find_crlfcrlf(b + skip, scan - NET_MIN(scan, skip));
    if (!end)
        return len >= SIG_HTTP_MAX_HDR_LEN ? -EMSGSIZE : -EAGAIN;
    req->head_len = (size_t)(end - b) + 4;

    const uint8_t *p = b + skip, *head_end = end + 2; /* each line below ends in CRLF */
    const uint8_t *eol = memchr(p, '\r', (size_t)(head_end - p));
    if (!eol || eol[1] != '\n')
        return -EBADMSG;
    int ret = parse_request_line(p, eol, req);
    if (ret < 0)
        return ret;
    p = eol + 2;

    bool have_cl = false, have_host = false, close = false, keep = false;
    while (p < head_end) {
        eol = memchr(p, '\r', (size_t)(head_end - p));
        if (!eol || eol[1] != '\n')
            return -EBADMSG; /* a bare CR */
        const uint8_t *s = p;
        while (p < eol && is_tchar(*p))
            p++;
        if (p == s || p == eol || *p != ':')
            return -EBADMSG; /* also obs-fold: a line starting with SP/HTAB */
        net_view_t name = {s, (size_t)(p - s)};
        p++;
        while (p < eol && (*p == ' ' || *p == '\t'))
            p++;
        const uint8_t *ve = eol;
        while (ve > p && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        for (const uint8_t *c = p; c < ve; c++)
            if ((*c < 0x20 && *c != '\t') || *c == 0x7f)
                return -EBADMSG; /* §5.5: CR, LF, NUL and other CTLs are invalid */
        net_view_t value = {p, (size_t)(ve - p)};
        if (req->hdr_cnt == SIG_HTTP_MAX_HDRS)
            return -E2BIG;
        req->hdrs[req->hdr_cnt++] = (sig_http_hdr_t){name, value};
        p = eol + 2;

        if (view_ieq(name, "content-length")) {
            uint64_t n;
            if (parse_content_length(value, &n) < 0 || (have_cl && n != req->content_len))
                return -EBADMSG;
            req->content_len = n;
            have_cl = true;
        } else if (view_ieq(name, "transfer-encoding")) {
            return -ENOTSUP;
        } else if (view_ieq(name, "host")) {
            if (have_host)
                return -EBADMSG;
            have_host = true;
        } else if (view_ieq(name, "connection")) {
            close |= sig_http_has_token(value, "close");
            keep |= sig_http_has_token(value, "keep-alive");
        }
    }
    if (req->minor >= 1 && !have_host)
        return -EBADMSG; /* RFC 9112 §3.2: MUST respond 400 */
    req->keep_alive = req->minor >= 1 ? !close : keep && !close;
    return (int)req->head_len;
}

const net_view_t *sig_http_hdr(const sig_http_req_t *req, const char *name)
{
    for (uint32_t i = 0; i < req->hdr_cnt; i++)
        if (view_ieq(req->hdrs[i].name, name))
            return &req->hdrs[i].value;
    return NULL;
}

bool sig_http_has_token(net_view_t list, const char *token)
{
    const uint8_t *p = list.p, *end = list.p + list.len;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
            p++;
        const uint8_t *s = p;
        while (p < end && *p != ',')
            p++;
        const uint8_t *e = p;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (e > s && view_ieq((net_view_t){s, (size_t)(e - s)}, token))
            return true;
    }
    return false;
}

static int hex_val(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Percent-decodes @in into @out; '+' becomes a space when @plus. Length or -errno. */
static int pct_decode(net_view_t in, char *out, size_t cap, bool plus)
{
    size_t o = 0;
    for (size_t i = 0; i < in.len; i++) {
        int c = in.p[i];
        if (c == '%') {
            if (i + 2 >= in.len)
                return -EBADMSG;
            int hi = hex_val(in.p[i + 1]), lo = hex_val(in.p[i + 2]);
            if (hi < 0 || lo < 0)
                return -EBADMSG;
            c = hi << 4 | lo;
            i += 2;
        } else if (c == '+' && plus) {
            c = ' ';
        }
        if (c == 0)
            return -EBADMSG;
        if (o + 1 >= cap)
            return -ENOSPC;
        out[o++] = (char)c;
    }
    out[o] = 0;
    return (int)o;
}

int sig_http_path_clean(net_view_t path, char *out, size_t cap)
{
    int n = pct_decode(path, out, cap, false);
    if (n < 0)
        return n;
    if (n == 0 || out[0] != '/')
        return -EBADMSG;
    if (n == 1)
        return n; /* "/" */
    /* Checked after decoding, so %2e%2e and %2f are caught like their plain forms. */
    for (int i = 0; i < n; i++) {
        if (out[i] == '\\' || (unsigned char)out[i] < 0x20 || out[i] == 0x7f)
            return -EBADMSG;
        if (out[i] == '/' && (i + 1 == n || out[i + 1] == '/' || out[i + 1] == '.'))
            return -EBADMSG; /* empty segment, trailing '/', '.', '..' or a dot file */
    }
    return n;
}

int sig_http_query_get(net_view_t query, const char *key, char *out, size_t cap)
{
    size_t klen = strlen(key);
    const uint8_t *p = query.p, *end = query.p + query.len;
    while (p < end) {
        const uint8_t *amp = memchr(p, '&', (size_t)(end - p));
        const uint8_t *e = amp ? amp : end;
        const uint8_t *eq = memchr(p, '=', (size_t)(e - p));
        const uint8_t *ke = eq ? eq : e;
        if ((size_t)(ke - p) == klen && memcmp(p, key, klen) == 0) {
            net_view_t v = eq ? (net_view_t){eq + 1, (size_t)(e - eq - 1)} : (net_view_t){e, 0};
            return pct_decode(v, out, cap, true);
        }
        p = amp ? amp + 1 : end;
    }
    return -ENOENT;
}

const char *sig_http_mime(const char *path)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".htm", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".txt", "text/plain; charset=utf-8"},
        {".md", "text/plain; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".jpg", "image/jpeg"},
        {".ico", "image/x-icon"},
        {".wasm", "application/wasm"},
    };
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    if (dot && (!slash || dot > slash))
        for (size_t i = 0; i < NET_ARRAY_LEN(types); i++)
            if (strcasecmp(dot, types[i].ext) == 0)
                return types[i].type;
    return "application/octet-stream";
}

const char *sig_http_reason(int status)
{
    switch (status) {
    case 101:
        return "Switching Protocols";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 426:
        return "Upgrade Required";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}
