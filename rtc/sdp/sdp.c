/* rtc/sdp/sdp.c: SDP parser and writer (RFC 8866 plus the WebRTC attributes, see sdp.h).
 *
 * RFC 8866 §5: a description is lines of the form
 *
 *     <type>=<value>CRLF
 *
 * Session description                Media description (repeated)
 *   v=  (protocol version, "0")        m=  (media name and transport address)
 *   o=  (originator and session id)    i=* (media title)
 *   s=  (session name)                 c=* (connection information)
 *   i=* u=* e=* p=*                    b=* (zero or more bandwidth lines)
 *   c=* (connection information)       k=* (obsolete)
 *   b=* (zero or more)                 a=* (zero or more attribute lines)
 *   t=  r=* (time, repeat)
 *   z=* k=* a=*
 *
 * One arena per description: a chain of chunks, bump-allocated, freed at once by
 * rtc_sdp_destroy(). Lists grow by doubling inside the arena (the old copy is simply left
 * behind: descriptions are small and short-lived).
 */
#include "rtc/sdp/sdp.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- arena ---------------------------------------------------------------------------------- */

struct rtc_sdp_chunk {
    struct rtc_sdp_chunk *next;
    size_t cap, used;
    max_align_t data[];
};

#define SDP_CHUNK_MIN (16u * 1024)

static void *arena_alloc(rtc_sdp_t *s, size_t n)
{
    n = NET_ALIGN_UP(n, sizeof(void *));
    struct rtc_sdp_chunk *c = s->_arena;
    if (!c || c->cap - c->used < n) {
        size_t cap = c ? c->cap * 2 : SDP_CHUNK_MIN;
        if (cap < n)
            cap = n;
        if (cap > 1024u * 1024 && cap > n) /* growth stops doubling at 1 MiB */
            cap = NET_MAX(n, 1024u * 1024);
        struct rtc_sdp_chunk *nc = malloc(sizeof *nc + cap);
        if (!nc)
            return NULL;
        nc->next = c;
        nc->cap = cap;
        nc->used = 0;
        s->_arena = nc;
        c = nc;
    }
    void *p = (char *)c->data + c->used;
    c->used += n;
    return p;
}

static char *arena_strndup(rtc_sdp_t *s, const char *p, size_t n)
{
    char *d = arena_alloc(s, n + 1);
    if (!d)
        return NULL;
    memcpy(d, p, n);
    d[n] = '\0';
    return d;
}

/* Makes room for one more element of a list. -EMSGSIZE at @max, -ENOMEM. */
static int vec_reserve(rtc_sdp_t *s, void **arr, unsigned cnt, uint16_t *cap, size_t elem,
                       unsigned max)
{
    if (cnt >= max)
        return -EMSGSIZE;
    if (cnt < *cap)
        return 0;
    unsigned ncap = *cap ? *cap * 2u : 8u;
    if (ncap > max)
        ncap = max;
    void *n = arena_alloc(s, (size_t)ncap * elem);
    if (!n)
        return -ENOMEM;
    if (cnt)
        memcpy(n, *arr, (size_t)cnt * elem);
    *arr = n;
    *cap = (uint16_t)ncap;
    return 0;
}

#define VEC_RESERVE(s, arr, cnt, cap, max)                                                         \
    ({                                                                                             \
        void *p_ = (arr);                                                                          \
        int r_ = vec_reserve((s), &p_, (cnt), &(cap), sizeof *(arr), (max));                       \
        (arr) = p_;                                                                                \
        r_;                                                                                        \
    })

void rtc_sdp_destroy(rtc_sdp_t *s)
{
    if (!s)
        return;
    struct rtc_sdp_chunk *c = s->_arena;
    /* The description itself lives in the oldest chunk: read the chain before freeing. */
    while (c) {
        struct rtc_sdp_chunk *next = c->next;
        free(c);
        c = next;
    }
}

static rtc_sdp_t *sdp_new(void)
{
    rtc_sdp_t tmp = {0};
    rtc_sdp_t *s = arena_alloc(&tmp, sizeof *s);
    if (!s) {
        rtc_sdp_destroy(&tmp);
        return NULL;
    }
    memset(s, 0, sizeof *s);
    s->_arena = tmp._arena;
    return s;
}

/* arena_alloc() through @s updates s->_arena, which is inside the first chunk: fine, since the
 * pointer field belongs to the description that owns the chain. */

const char *rtc_sdp_strdup(rtc_sdp_t *s, const char *str)
{
    if (!str)
        return NULL;
    return arena_strndup(s, str, strlen(str));
}

const char *rtc_sdp_printf(rtc_sdp_t *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *d = arena_alloc(s, (size_t)n + 1);
    if (!d)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(d, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return d;
}

/* ---- names ------------------------------------------------------------------------------------
 */

const char *rtc_sdp_dir_name(rtc_sdp_dir_t d)
{
    switch (d) {
    case RTC_SDP_DIR_SENDRECV:
        return "sendrecv";
    case RTC_SDP_DIR_SENDONLY:
        return "sendonly";
    case RTC_SDP_DIR_RECVONLY:
        return "recvonly";
    case RTC_SDP_DIR_INACTIVE:
        return "inactive";
    default:
        return "";
    }
}

const char *rtc_sdp_setup_name(rtc_sdp_setup_t st)
{
    switch (st) {
    case RTC_SDP_SETUP_ACTPASS:
        return "actpass";
    case RTC_SDP_SETUP_ACTIVE:
        return "active";
    case RTC_SDP_SETUP_PASSIVE:
        return "passive";
    case RTC_SDP_SETUP_HOLDCONN:
        return "holdconn";
    default:
        return "";
    }
}

const char *rtc_sdp_hash_name(rtc_sdp_hash_t h)
{
    switch (h) {
    case RTC_SDP_HASH_SHA1:
        return "sha-1";
    case RTC_SDP_HASH_SHA256:
        return "sha-256";
    case RTC_SDP_HASH_SHA384:
        return "sha-384";
    case RTC_SDP_HASH_SHA512:
        return "sha-512";
    default:
        return "";
    }
}

unsigned rtc_sdp_hash_len(rtc_sdp_hash_t h)
{
    switch (h) {
    case RTC_SDP_HASH_SHA1:
        return 20;
    case RTC_SDP_HASH_SHA256:
        return 32;
    case RTC_SDP_HASH_SHA384:
        return 48;
    case RTC_SDP_HASH_SHA512:
        return 64;
    default:
        return 0;
    }
}

/* ---- lexing helpers ---------------------------------------------------------------------------
 */

typedef struct span {
    const char *p;
    size_t n;
} span_t;

static bool span_eq(span_t a, const char *lit)
{
    size_t n = strlen(lit);
    return a.n == n && memcmp(a.p, lit, n) == 0;
}

/* Next space-separated token of *@rest (several spaces count as one). */
static bool next_tok(span_t *rest, span_t *tok)
{
    while (rest->n && rest->p[0] == ' ') {
        rest->p++;
        rest->n--;
    }
    if (!rest->n)
        return false;
    const char *sp = memchr(rest->p, ' ', rest->n);
    size_t n = sp ? (size_t)(sp - rest->p) : rest->n;
    *tok = (span_t){rest->p, n};
    rest->p += n;
    rest->n -= n;
    return true;
}

/* *@rest without leading spaces. */
static span_t skip_sp(span_t rest)
{
    while (rest.n && rest.p[0] == ' ') {
        rest.p++;
        rest.n--;
    }
    return rest;
}

static bool parse_u64(span_t t, uint64_t max, uint64_t *out)
{
    if (!t.n || t.n > 20)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < t.n; i++) {
        unsigned d = (unsigned)(t.p[i] - '0');
        if (d > 9)
            return false;
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (v > max)
        return false;
    *out = v;
    return true;
}

static bool all_digits(span_t t)
{
    if (!t.n)
        return false;
    for (size_t i = 0; i < t.n; i++)
        if (t.p[i] < '0' || t.p[i] > '9')
            return false;
    return true;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* RFC 8839 §5.4: ice-char = ALPHA / DIGIT / "+" / "/". */
static bool ice_chars(span_t t)
{
    for (size_t i = 0; i < t.n; i++) {
        char c = t.p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/'))
            return false;
    }
    return true;
}

/* RFC 8851 §10: rid-id = 1*(alpha-numeric / "-" / "_"). */
static bool rid_chars(span_t t)
{
    if (!t.n)
        return false;
    for (size_t i = 0; i < t.n; i++) {
        char c = t.p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

static rtc_sdp_dir_t dir_from(span_t t)
{
    if (span_eq(t, "sendrecv"))
        return RTC_SDP_DIR_SENDRECV;
    if (span_eq(t, "sendonly"))
        return RTC_SDP_DIR_SENDONLY;
    if (span_eq(t, "recvonly"))
        return RTC_SDP_DIR_RECVONLY;
    if (span_eq(t, "inactive"))
        return RTC_SDP_DIR_INACTIVE;
    return RTC_SDP_DIR_NONE;
}

static rtc_sdp_kind_t kind_from(const char *media)
{
    if (!strcmp(media, "audio"))
        return RTC_SDP_KIND_AUDIO;
    if (!strcmp(media, "video"))
        return RTC_SDP_KIND_VIDEO;
    if (!strcmp(media, "application"))
        return RTC_SDP_KIND_APPLICATION;
    return RTC_SDP_KIND_OTHER;
}

/* RFC 8866 §5.14 / RFC 3551: fmt values are RTP payload types when the protocol is RTP. */
static bool proto_is_rtp(const char *proto)
{
    size_t n = strlen(proto);
    static const char *const suffix[] = {"RTP/AVP", "RTP/AVPF", "RTP/SAVP", "RTP/SAVPF"};
    for (size_t i = 0; i < NET_ARRAY_LEN(suffix); i++) {
        size_t k = strlen(suffix[i]);
        if (n >= k && !strcmp(proto + n - k, suffix[i]) && (n == k || proto[n - k - 1] == '/'))
            return true;
    }
    return false;
}

/* ---- parser -----------------------------------------------------------------------------------
 */

typedef struct parser {
    rtc_sdp_t *s;
    rtc_sdp_media_t *m; /* current m-section, NULL at session level */
    rtc_sdp_err_t *err;
    unsigned line;
    bool seen_v, seen_o, seen_s, seen_t;
} parser_t;

static int fail(parser_t *ps, int rc, const char *reason)
{
    if (ps->err) {
        ps->err->line = ps->line;
        ps->err->reason = reason;
    }
    return rc;
}

/* A failure of a list append: -EMSGSIZE (limit) or -ENOMEM. */
static int fail_vec(parser_t *ps, int rc, const char *what)
{
    return fail(ps, rc, rc == -ENOMEM ? "out of memory" : what);
}

#define DUP(ps, sp) arena_strndup((ps)->s, (sp).p, (sp).n)

static int keep_other(parser_t *ps, char type, span_t text)
{
    rtc_sdp_attrs_t *a = ps->m ? &ps->m->a : &ps->s->a;
    int rc = VEC_RESERVE(ps->s, a->other, a->other_cnt, a->_other_cap, RTC_SDP_MAX_OTHER);
    if (rc < 0)
        return fail_vec(ps, rc, "too many unknown lines");
    const char *t = DUP(ps, text);
    if (!t)
        return fail(ps, -ENOMEM, "out of memory");
    a->other[a->other_cnt++] = (rtc_sdp_other_t){type, t};
    return 0;
}

static rtc_sdp_codec_t *codec_by_pt(rtc_sdp_media_t *m, unsigned pt)
{
    for (unsigned i = 0; i < m->codec_cnt; i++)
        if (m->codecs[i].pt == pt)
            return &m->codecs[i];
    return NULL;
}

/* "<pt> ..." of rtpmap/fmtp/rtcp-fb: payload type 0..127 (RFC 3550 §5.1: 7 bits). */
static int parse_pt(span_t t, unsigned *pt)
{
    uint64_t v;
    if (!parse_u64(t, 127, &v))
        return -1;
    *pt = (unsigned)v;
    return 0;
}

static int parse_m(parser_t *ps, span_t v)
{
    rtc_sdp_t *s = ps->s;
    span_t media, port, proto, fmt;
    if (!next_tok(&v, &media) || !next_tok(&v, &port) || !next_tok(&v, &proto))
        return fail(ps, -EBADMSG, "m= line needs <media> <port> <proto> <fmt>...");
    span_t fmts = skip_sp(v);
    if (!fmts.n)
        return fail(ps, -EBADMSG, "m= line without fmt");
    if (s->media_cnt >= RTC_SDP_MAX_MEDIA)
        return fail(ps, -EMSGSIZE, "too many m= sections");
    /* <port>[/<number of ports>] */
    const char *slash = memchr(port.p, '/', port.n);
    span_t pnum = {port.p, slash ? (size_t)(slash - port.p) : port.n};
    uint64_t pv, cnt = 0;
    if (!parse_u64(pnum, 65535, &pv))
        return fail(ps, -EBADMSG, "bad m= port");
    if (slash && !parse_u64((span_t){slash + 1, port.n - pnum.n - 1}, 65535, &cnt))
        return fail(ps, -EBADMSG, "bad m= port count");
    rtc_sdp_media_t *m = arena_alloc(s, sizeof *m);
    if (!m)
        return fail(ps, -ENOMEM, "out of memory");
    memset(m, 0, sizeof *m);
    m->media = DUP(ps, media);
    m->proto = DUP(ps, proto);
    if (!m->media || !m->proto)
        return fail(ps, -ENOMEM, "out of memory");
    m->kind = kind_from(m->media);
    m->port = (uint16_t)pv;
    m->port_cnt = (uint16_t)cnt;
    m->rtp = proto_is_rtp(m->proto);
    if (!m->rtp) {
        if (!(m->fmt = DUP(ps, fmts)))
            return fail(ps, -ENOMEM, "out of memory");
    } else {
        while (next_tok(&fmts, &fmt)) {
            unsigned pt;
            if (parse_pt(fmt, &pt) < 0)
                return fail(ps, -EBADMSG, "bad payload type in m= line");
            if (codec_by_pt(m, pt))
                return fail(ps, -EBADMSG, "duplicate payload type in m= line");
            int rc = VEC_RESERVE(s, m->codecs, m->codec_cnt, m->_codec_cap, RTC_SDP_MAX_CODECS);
            if (rc < 0)
                return fail_vec(ps, rc, "too many payload types");
            m->codecs[m->codec_cnt++] = (rtc_sdp_codec_t){.pt = (uint8_t)pt};
        }
    }
    s->media[s->media_cnt++] = m;
    ps->m = m;
    return 0;
}

static int parse_o(parser_t *ps, span_t v)
{
    rtc_sdp_t *s = ps->s;
    span_t user, id, ver, nt, at, addr, extra;
    if (!next_tok(&v, &user) || !next_tok(&v, &id) || !next_tok(&v, &ver) || !next_tok(&v, &nt) ||
        !next_tok(&v, &at) || !next_tok(&v, &addr) || next_tok(&v, &extra))
        return fail(ps, -EBADMSG, "o= line needs 6 fields");
    if (!all_digits(id))
        return fail(ps, -EBADMSG, "bad o= sess-id");
    if (!parse_u64(ver, UINT64_MAX, &s->sess_version))
        return fail(ps, -EBADMSG, "bad o= sess-version");
    s->origin_user = DUP(ps, user);
    s->sess_id = DUP(ps, id);
    s->origin_nettype = DUP(ps, nt);
    s->origin_addrtype = DUP(ps, at);
    s->origin_addr = DUP(ps, addr);
    if (!s->origin_user || !s->sess_id || !s->origin_nettype || !s->origin_addrtype ||
        !s->origin_addr)
        return fail(ps, -ENOMEM, "out of memory");
    return 0;
}

static int parse_c(parser_t *ps, span_t v)
{
    rtc_sdp_attrs_t *a = ps->m ? &ps->m->a : &ps->s->a;
    span_t all = v, nt, at, addr, extra;
    if (!next_tok(&v, &nt) || !next_tok(&v, &at) || !next_tok(&v, &addr) || next_tok(&v, &extra))
        return fail(ps, -EBADMSG, "c= line needs <nettype> <addrtype> <address>");
    if (a->conn.nettype) /* several c= for multicast (RFC 8866 §5.7): keep the rest */
        return keep_other(ps, 'c', all);
    a->conn.nettype = DUP(ps, nt);
    a->conn.addrtype = DUP(ps, at);
    a->conn.addr = DUP(ps, addr);
    if (!a->conn.nettype || !a->conn.addrtype || !a->conn.addr)
        return fail(ps, -ENOMEM, "out of memory");
    return 0;
}

static int parse_b(parser_t *ps, span_t v)
{
    rtc_sdp_attrs_t *a = ps->m ? &ps->m->a : &ps->s->a;
    const char *colon = memchr(v.p, ':', v.n);
    if (!colon || colon == v.p)
        return fail(ps, -EBADMSG, "b= line needs <bwtype>:<bandwidth>");
    span_t type = {v.p, (size_t)(colon - v.p)}, num = {colon + 1, v.n - type.n - 1};
    uint64_t bw;
    if (!parse_u64(num, UINT32_MAX, &bw))
        return fail(ps, -EBADMSG, "bad b= bandwidth");
    if (span_eq(type, "AS") && !a->bw_as_kbps && bw) {
        a->bw_as_kbps = (uint32_t)bw;
        return 0;
    }
    if (span_eq(type, "TIAS") && !a->bw_tias_bps && bw) {
        a->bw_tias_bps = (uint32_t)bw;
        return 0;
    }
    return keep_other(ps, 'b', v);
}

static int parse_t(parser_t *ps, span_t v)
{
    span_t start, stop, extra, all = v;
    if (!next_tok(&v, &start) || !next_tok(&v, &stop) || next_tok(&v, &extra))
        return fail(ps, -EBADMSG, "t= line needs <start> <stop>");
    uint64_t a, b;
    if (!parse_u64(start, UINT64_MAX, &a) || !parse_u64(stop, UINT64_MAX, &b))
        return fail(ps, -EBADMSG, "bad t= time");
    if (ps->seen_t)
        return keep_other(ps, 't', all);
    ps->seen_t = true;
    ps->s->t_start = a;
    ps->s->t_stop = b;
    return 0;
}

static int parse_fingerprint(parser_t *ps, span_t v, span_t all)
{
    rtc_sdp_attrs_t *a = ps->m ? &ps->m->a : &ps->s->a;
    span_t hname, hex, extra;
    if (!next_tok(&v, &hname) || !next_tok(&v, &hex) || next_tok(&v, &extra))
        return fail(ps, -EBADMSG, "fingerprint needs <hash> <value>");
    static const struct {
        const char *name;
        rtc_sdp_hash_t h;
    } hashes[] = {{"sha-1", RTC_SDP_HASH_SHA1},
                  {"sha-256", RTC_SDP_HASH_SHA256},
                  {"sha-384", RTC_SDP_HASH_SHA384},
                  {"sha-512", RTC_SDP_HASH_SHA512}};
    rtc_sdp_hash_t h = 0;
    for (size_t i = 0; i < NET_ARRAY_LEN(hashes); i++)
        if (hname.n == strlen(hashes[i].name) && !strncasecmp(hname.p, hashes[i].name, hname.n))
            h = hashes[i].h;
    if (!h) /* md5, sha-224 ...: not modelled, kept */
        return keep_other(ps, 'a', all);
    unsigned want = rtc_sdp_hash_len(h);
    /* RFC 8122 §5: fingerprint = 2UHEX *(":" 2UHEX) (we accept lower case too) */
    if (hex.n != want * 3 - 1)
        return fail(ps, -EBADMSG, "fingerprint length does not match its hash");
    if (a->fingerprint_cnt >= RTC_SDP_MAX_FINGERPRINTS)
        return fail(ps, -EMSGSIZE, "too many fingerprints");
    rtc_sdp_fingerprint_t *f = &a->fingerprints[a->fingerprint_cnt];
    for (unsigned i = 0; i < want; i++) {
        const char *p = hex.p + i * 3;
        int hi = hexval(p[0]), lo = hexval(p[1]);
        if (hi < 0 || lo < 0 || (i + 1 < want && p[2] != ':'))
            return fail(ps, -EBADMSG, "bad fingerprint value");
        f->value[i] = (uint8_t)(hi << 4 | lo);
    }
    f->hash = h;
    f->len = (uint8_t)want;
    a->fingerprint_cnt++;
    return 0;
}

static int parse_extmap(parser_t *ps, span_t v)
{
    rtc_sdp_attrs_t *a = ps->m ? &ps->m->a : &ps->s->a;
    span_t idt, uri;
    if (!next_tok(&v, &idt) || !next_tok(&v, &uri))
        return fail(ps, -EBADMSG, "extmap needs <id>[/<direction>] <uri>");
    span_t attrs = skip_sp(v);
    const char *slash = memchr(idt.p, '/', idt.n);
    span_t num = {idt.p, slash ? (size_t)(slash - idt.p) : idt.n};
    uint64_t id;
    rtc_sdp_dir_t dir = RTC_SDP_DIR_NONE;
    /* RFC 8285 §5: ids 1-14 (one-byte) and 1-255 (two-byte); 4096-4351 only in offers that
     * negotiate, which WebRTC does not use. */
    if (!parse_u64(num, 255, &id) || id == 0)
        return fail(ps, -EBADMSG, "bad extmap id");
    if (slash && !(dir = dir_from((span_t){slash + 1, idt.n - num.n - 1})))
        return fail(ps, -EBADMSG, "bad extmap direction");
    /* RFC 8285 §6: an id is used for one extension within a media section. */
    for (unsigned i = 0; i < a->extmap_cnt; i++)
        if (a->extmaps[i].id == id)
            return fail(ps, -EBADMSG, "duplicate extmap id");
    int rc = VEC_RESERVE(ps->s, a->extmaps, a->extmap_cnt, a->_extmap_cap, RTC_SDP_MAX_EXTMAP);
    if (rc < 0)
        return fail_vec(ps, rc, "too many extmaps");
    rtc_sdp_extmap_t *e = &a->extmaps[a->extmap_cnt];
    e->id = (uint16_t)id;
    e->dir = dir;
    e->uri = DUP(ps, uri);
    e->attrs = attrs.n ? DUP(ps, attrs) : NULL;
    if (!e->uri || (attrs.n && !e->attrs))
        return fail(ps, -ENOMEM, "out of memory");
    a->extmap_cnt++;
    return 0;
}

static int parse_rtpmap(parser_t *ps, span_t v, span_t all)
{
    rtc_sdp_media_t *m = ps->m;
    span_t ptt, enc, extra;
    if (!m->rtp)
        return keep_other(ps, 'a', all);
    if (!next_tok(&v, &ptt) || !next_tok(&v, &enc) || next_tok(&v, &extra))
        return fail(ps, -EBADMSG, "rtpmap needs <pt> <name>/<clock>[/<channels>]");
    unsigned pt;
    if (parse_pt(ptt, &pt) < 0)
        return fail(ps, -EBADMSG, "bad payload type in rtpmap");
    rtc_sdp_codec_t *c = codec_by_pt(m, pt);
    if (!c) /* RFC 8866 §6.6 ties rtpmap to the m= line's formats; others are not ours */
        return keep_other(ps, 'a', all);
    if (c->name)
        return fail(ps, -EBADMSG, "duplicate rtpmap for a payload type");
    const char *s1 = memchr(enc.p, '/', enc.n);
    if (!s1 || s1 == enc.p)
        return fail(ps, -EBADMSG, "rtpmap needs <name>/<clock>");
    span_t name = {enc.p, (size_t)(s1 - enc.p)};
    span_t rest = {s1 + 1, enc.n - name.n - 1};
    const char *s2 = memchr(rest.p, '/', rest.n);
    span_t clock = {rest.p, s2 ? (size_t)(s2 - rest.p) : rest.n};
    uint64_t hz, ch = 0;
    if (!parse_u64(clock, UINT32_MAX, &hz) || !hz)
        return fail(ps, -EBADMSG, "bad rtpmap clock rate");
    if (s2 && (!parse_u64((span_t){s2 + 1, rest.n - clock.n - 1}, 255, &ch) || !ch))
        return fail(ps, -EBADMSG, "bad rtpmap channels");
    if (!(c->name = DUP(ps, name)))
        return fail(ps, -ENOMEM, "out of memory");
    c->clock_hz = (uint32_t)hz;
    c->channels = (uint16_t)ch;
    return 0;
}

static int parse_fmtp(parser_t *ps, span_t v, span_t all)
{
    rtc_sdp_media_t *m = ps->m;
    span_t ptt;
    if (!m->rtp)
        return keep_other(ps, 'a', all);
    if (!next_tok(&v, &ptt))
        return fail(ps, -EBADMSG, "fmtp needs <pt> <parameters>");
    span_t params = skip_sp(v);
    unsigned pt;
    if (parse_pt(ptt, &pt) < 0)
        return fail(ps, -EBADMSG, "bad payload type in fmtp");
    if (!params.n)
        return fail(ps, -EBADMSG, "fmtp without parameters");
    rtc_sdp_codec_t *c = codec_by_pt(m, pt);
    if (!c)
        return keep_other(ps, 'a', all);
    if (c->fmtp)
        return fail(ps, -EBADMSG, "duplicate fmtp for a payload type");
    if (!(c->fmtp = DUP(ps, params)))
        return fail(ps, -ENOMEM, "out of memory");
    return 0;
}

static int parse_rtcp_fb(parser_t *ps, span_t v, span_t all)
{
    rtc_sdp_media_t *m = ps->m;
    span_t ptt;
    if (!m->rtp)
        return keep_other(ps, 'a', all);
    if (!next_tok(&v, &ptt))
        return fail(ps, -EBADMSG, "rtcp-fb needs <pt> <type>");
    span_t val = skip_sp(v);
    if (!val.n)
        return fail(ps, -EBADMSG, "rtcp-fb without feedback type");
    int pti = -1;
    if (!span_eq(ptt, "*")) {
        unsigned pt;
        if (parse_pt(ptt, &pt) < 0)
            return fail(ps, -EBADMSG, "bad payload type in rtcp-fb");
        if (!codec_by_pt(m, pt)) /* RFC 4585 §4.2: ignore feedback for unknown formats */
            return keep_other(ps, 'a', all);
        pti = (int)pt;
    }
    int rc = VEC_RESERVE(ps->s, m->fbs, m->fb_cnt, m->_fb_cap, RTC_SDP_MAX_FB);
    if (rc < 0)
        return fail_vec(ps, rc, "too many rtcp-fb");
    const char *d = DUP(ps, val);
    if (!d)
        return fail(ps, -ENOMEM, "out of memory");
    m->fbs[m->fb_cnt++] = (rtc_sdp_fb_t){(int16_t)pti, d};
    return 0;
}

static int parse_ssrc(parser_t *ps, span_t v)
{
    rtc_sdp_media_t *m = ps->m;
    span_t id;
    uint64_t ssrc;
    if (!next_tok(&v, &id) || !parse_u64(id, UINT32_MAX, &ssrc))
        return fail(ps, -EBADMSG, "bad ssrc");
    span_t rest = skip_sp(v);
    const char *colon = memchr(rest.p, ':', rest.n);
    span_t attr = {rest.p, colon ? (size_t)(colon - rest.p) : rest.n};
    if (!attr.n)
        return fail(ps, -EBADMSG, "ssrc needs an attribute");
    int rc = VEC_RESERVE(ps->s, m->ssrcs, m->ssrc_cnt, m->_ssrc_cap, RTC_SDP_MAX_SSRC_LINES);
    if (rc < 0)
        return fail_vec(ps, rc, "too many ssrc lines");
    rtc_sdp_ssrc_t *e = &m->ssrcs[m->ssrc_cnt];
    e->ssrc = (uint32_t)ssrc;
    e->attr = DUP(ps, attr);
    e->value = colon ? arena_strndup(ps->s, colon + 1, rest.n - attr.n - 1) : NULL;
    if (!e->attr || (colon && !e->value))
        return fail(ps, -ENOMEM, "out of memory");
    m->ssrc_cnt++;
    return 0;
}

static int parse_ssrc_group(parser_t *ps, span_t v)
{
    rtc_sdp_media_t *m = ps->m;
    span_t sem, id;
    if (!next_tok(&v, &sem))
        return fail(ps, -EBADMSG, "ssrc-group needs <semantics> <ssrc>...");
    int rc = VEC_RESERVE(ps->s, m->ssrc_groups, m->ssrc_group_cnt, m->_ssrc_group_cap,
                         RTC_SDP_MAX_SSRC_GROUPS);
    if (rc < 0)
        return fail_vec(ps, rc, "too many ssrc-groups");
    rtc_sdp_ssrc_group_t *g = &m->ssrc_groups[m->ssrc_group_cnt];
    memset(g, 0, sizeof *g);
    while (next_tok(&v, &id)) {
        uint64_t ssrc;
        if (!parse_u64(id, UINT32_MAX, &ssrc))
            return fail(ps, -EBADMSG, "bad ssrc in ssrc-group");
        if (g->ssrc_cnt >= RTC_SDP_MAX_GROUP_SSRCS)
            return fail(ps, -EMSGSIZE, "too many ssrcs in ssrc-group");
        g->ssrcs[g->ssrc_cnt++] = (uint32_t)ssrc;
    }
    if (!g->ssrc_cnt)
        return fail(ps, -EBADMSG, "ssrc-group without ssrcs");
    if (!(g->semantics = DUP(ps, sem)))
        return fail(ps, -ENOMEM, "out of memory");
    m->ssrc_group_cnt++;
    return 0;
}

static int parse_rid(parser_t *ps, span_t v)
{
    rtc_sdp_media_t *m = ps->m;
    span_t id, dir;
    if (!next_tok(&v, &id) || !next_tok(&v, &dir))
        return fail(ps, -EBADMSG, "rid needs <id> send|recv");
    if (!rid_chars(id))
        return fail(ps, -EBADMSG, "bad rid id");
    bool send = span_eq(dir, "send");
    if (!send && !span_eq(dir, "recv"))
        return fail(ps, -EBADMSG, "rid direction must be send or recv");
    for (unsigned i = 0; i < m->rid_cnt; i++)
        if (strlen(m->rids[i].id) == id.n && !memcmp(m->rids[i].id, id.p, id.n))
            return fail(ps, -EBADMSG, "duplicate rid");
    span_t params = skip_sp(v);
    int rc = VEC_RESERVE(ps->s, m->rids, m->rid_cnt, m->_rid_cap, RTC_SDP_MAX_RIDS);
    if (rc < 0)
        return fail_vec(ps, rc, "too many rids");
    rtc_sdp_rid_t *r = &m->rids[m->rid_cnt];
    r->id = DUP(ps, id);
    r->send = send;
    r->params = params.n ? DUP(ps, params) : NULL;
    if (!r->id || (params.n && !r->params))
        return fail(ps, -ENOMEM, "out of memory");
    m->rid_cnt++;
    return 0;
}

/* RFC 8853 §5.1: a=simulcast:<dir> <alt-list> [<dir> <alt-list>] with dir "send"/"recv". */
static int parse_simulcast(parser_t *ps, span_t v)
{
    rtc_sdp_media_t *m = ps->m;
    span_t dir, list;
    int n = 0;
    while (next_tok(&v, &dir)) {
        if (!next_tok(&v, &list))
            return fail(ps, -EBADMSG, "simulcast direction without streams");
        const char **slot;
        if (span_eq(dir, "send"))
            slot = &m->simulcast_send;
        else if (span_eq(dir, "recv"))
            slot = &m->simulcast_recv;
        else
            return fail(ps, -EBADMSG, "simulcast direction must be send or recv");
        if (*slot)
            return fail(ps, -EBADMSG, "simulcast direction given twice");
        if (!(*slot = DUP(ps, list)))
            return fail(ps, -ENOMEM, "out of memory");
        n++;
    }
    if (!n)
        return fail(ps, -EBADMSG, "empty simulcast");
    return 0;
}

static int parse_group(parser_t *ps, span_t v)
{
    rtc_sdp_t *s = ps->s;
    span_t sem, mid;
    if (!next_tok(&v, &sem))
        return fail(ps, -EBADMSG, "group needs <semantics>");
    if (s->group_cnt >= RTC_SDP_MAX_GROUPS)
        return fail(ps, -EMSGSIZE, "too many groups");
    rtc_sdp_group_t *g = &s->groups[s->group_cnt];
    memset(g, 0, sizeof *g);
    span_t tmp = v;
    unsigned cnt = 0;
    while (next_tok(&tmp, &mid))
        cnt++;
    if (cnt > RTC_SDP_MAX_MEDIA)
        return fail(ps, -EMSGSIZE, "too many mids in group");
    g->mids = arena_alloc(s, (cnt ? cnt : 1) * sizeof *g->mids);
    if (!(g->semantics = DUP(ps, sem)) || !g->mids)
        return fail(ps, -ENOMEM, "out of memory");
    while (next_tok(&v, &mid))
        if (!(g->mids[g->mid_cnt++] = DUP(ps, mid)))
            return fail(ps, -ENOMEM, "out of memory");
    s->group_cnt++;
    return 0;
}

static int set_str(parser_t *ps, const char **dst, span_t v, const char *dup_reason)
{
    if (*dst)
        return fail(ps, -EBADMSG, dup_reason);
    if (!(*dst = DUP(ps, v)))
        return fail(ps, -ENOMEM, "out of memory");
    return 0;
}

static int parse_a(parser_t *ps, span_t all)
{
    rtc_sdp_t *s = ps->s;
    rtc_sdp_media_t *m = ps->m;
    rtc_sdp_attrs_t *a = m ? &m->a : &s->a;
    const char *colon = memchr(all.p, ':', all.n);
    span_t name = {all.p, colon ? (size_t)(colon - all.p) : all.n};
    span_t v = colon ? (span_t){colon + 1, all.n - name.n - 1} : (span_t){all.p + all.n, 0};
    if (!name.n)
        return fail(ps, -EBADMSG, "attribute without a name");
    rtc_sdp_dir_t dir;

    /* Both levels. */
    if (!colon && (dir = dir_from(name))) {
        if (a->dir)
            return fail(ps, -EBADMSG, "more than one direction attribute");
        a->dir = dir;
        return 0;
    }
    if (span_eq(name, "ice-ufrag")) {
        /* RFC 8839 §5.4: ice-ufrag = 4*256ice-char */
        if (v.n < 4 || v.n > 256 || !ice_chars(v))
            return fail(ps, -EBADMSG, "bad ice-ufrag");
        return set_str(ps, &a->ice_ufrag, v, "duplicate ice-ufrag");
    }
    if (span_eq(name, "ice-pwd")) {
        /* RFC 8839 §5.4: ice-pwd = 22*256ice-char */
        if (v.n < 22 || v.n > 256 || !ice_chars(v))
            return fail(ps, -EBADMSG, "bad ice-pwd");
        return set_str(ps, &a->ice_pwd, v, "duplicate ice-pwd");
    }
    if (span_eq(name, "ice-options")) {
        if (!skip_sp(v).n)
            return fail(ps, -EBADMSG, "empty ice-options");
        return set_str(ps, &a->ice_options, v, "duplicate ice-options");
    }
    if (span_eq(name, "fingerprint"))
        return parse_fingerprint(ps, v, all);
    if (span_eq(name, "setup")) {
        rtc_sdp_setup_t st = span_eq(v, "actpass")    ? RTC_SDP_SETUP_ACTPASS
                             : span_eq(v, "active")   ? RTC_SDP_SETUP_ACTIVE
                             : span_eq(v, "passive")  ? RTC_SDP_SETUP_PASSIVE
                             : span_eq(v, "holdconn") ? RTC_SDP_SETUP_HOLDCONN
                                                      : RTC_SDP_SETUP_NONE;
        if (!st)
            return fail(ps, -EBADMSG, "bad setup role");
        if (a->setup)
            return fail(ps, -EBADMSG, "duplicate setup");
        a->setup = st;
        return 0;
    }
    if (span_eq(name, "extmap"))
        return parse_extmap(ps, v);
    if (span_eq(name, "extmap-allow-mixed") && !colon) {
        a->extmap_allow_mixed = true;
        return 0;
    }

    if (!m) { /* session level only */
        if (span_eq(name, "group"))
            return parse_group(ps, v);
        if (span_eq(name, "msid-semantic") && !s->msid_semantic) {
            span_t tok;
            if (!next_tok(&v, &tok))
                return fail(ps, -EBADMSG, "empty msid-semantic");
            span_t ids = skip_sp(v);
            s->msid_semantic = DUP(ps, tok);
            s->msid_semantic_ids = ids.n ? DUP(ps, ids) : NULL;
            if (!s->msid_semantic || (ids.n && !s->msid_semantic_ids))
                return fail(ps, -ENOMEM, "out of memory");
            return 0;
        }
        if (span_eq(name, "ice-lite") && !colon) {
            s->a.ice_lite = true;
            return 0;
        }
        return keep_other(ps, 'a', all);
    }

    /* Media level only. */
    if (span_eq(name, "candidate")) {
        if (!v.n)
            return fail(ps, -EBADMSG, "empty candidate");
        int rc =
            VEC_RESERVE(s, m->candidates, m->candidate_cnt, m->_cand_cap, RTC_SDP_MAX_CANDIDATES);
        if (rc < 0)
            return fail_vec(ps, rc, "too many candidates");
        if (!(m->candidates[m->candidate_cnt] = DUP(ps, v)))
            return fail(ps, -ENOMEM, "out of memory");
        m->candidate_cnt++;
        return 0;
    }
    if (span_eq(name, "rtpmap"))
        return parse_rtpmap(ps, v, all);
    if (span_eq(name, "fmtp"))
        return parse_fmtp(ps, v, all);
    if (span_eq(name, "rtcp-fb"))
        return parse_rtcp_fb(ps, v, all);
    if (span_eq(name, "ssrc"))
        return parse_ssrc(ps, v);
    if (span_eq(name, "ssrc-group"))
        return parse_ssrc_group(ps, v);
    if (span_eq(name, "mid")) {
        /* RFC 5888 §4: identification-tag = token; unique in the session (§9.1). */
        if (!v.n || memchr(v.p, ' ', v.n))
            return fail(ps, -EBADMSG, "bad mid");
        for (unsigned i = 0; i + 1 < s->media_cnt; i++) {
            const char *o = s->media[i]->mid;
            if (o && strlen(o) == v.n && !memcmp(o, v.p, v.n))
                return fail(ps, -EBADMSG, "duplicate mid");
        }
        return set_str(ps, &m->mid, v, "two mids in one m-section");
    }
    if (span_eq(name, "msid")) {
        span_t st, tr, extra;
        if (!next_tok(&v, &st))
            return fail(ps, -EBADMSG, "msid needs <stream-id>");
        bool has_tr = next_tok(&v, &tr);
        if (has_tr && next_tok(&v, &extra))
            return fail(ps, -EBADMSG, "msid has extra fields");
        int rc = VEC_RESERVE(s, m->msids, m->msid_cnt, m->_msid_cap, RTC_SDP_MAX_MSIDS);
        if (rc < 0)
            return fail_vec(ps, rc, "too many msids");
        rtc_sdp_msid_t *e = &m->msids[m->msid_cnt];
        e->stream = DUP(ps, st);
        e->track = has_tr ? DUP(ps, tr) : NULL;
        if (!e->stream || (has_tr && !e->track))
            return fail(ps, -ENOMEM, "out of memory");
        m->msid_cnt++;
        return 0;
    }
    if (span_eq(name, "rtcp-mux") && !colon) {
        m->rtcp_mux = true;
        return 0;
    }
    if (span_eq(name, "rtcp-rsize") && !colon) {
        m->rtcp_rsize = true;
        return 0;
    }
    if (span_eq(name, "end-of-candidates") && !colon) {
        m->end_of_candidates = true;
        return 0;
    }
    if (span_eq(name, "rid"))
        return parse_rid(ps, v);
    if (span_eq(name, "simulcast"))
        return parse_simulcast(ps, v);
    if (span_eq(name, "sctp-port")) {
        uint64_t p;
        if (!parse_u64(v, 65535, &p))
            return fail(ps, -EBADMSG, "bad sctp-port");
        if (m->sctp_port)
            return fail(ps, -EBADMSG, "duplicate sctp-port");
        m->sctp_port = (uint16_t)p;
        return 0;
    }
    if (span_eq(name, "max-message-size")) {
        uint64_t p;
        if (!parse_u64(v, UINT64_MAX, &p))
            return fail(ps, -EBADMSG, "bad max-message-size");
        if (m->has_max_message_size)
            return fail(ps, -EBADMSG, "duplicate max-message-size");
        m->has_max_message_size = true;
        m->max_message_size = p;
        return 0;
    }
    return keep_other(ps, 'a', all);
}

static int parse_line(parser_t *ps, const char *p, size_t n)
{
    if (n < 2 || p[1] != '=' || p[0] < 'a' || p[0] > 'z')
        return fail(ps, -EBADMSG, "expected <type>=<value>");
    for (size_t i = 0; i < n; i++)
        if (p[i] == '\0' || p[i] == '\r')
            return fail(ps, -EBADMSG, "NUL or CR inside a line");
    span_t v = {p + 2, n - 2};
    char type = p[0];
    if (!ps->seen_v) {
        /* RFC 8866 §5.1: v=0 comes first. */
        if (type != 'v' || !span_eq(v, "0"))
            return fail(ps, -EBADMSG, "description must start with v=0");
        ps->seen_v = true;
        return 0;
    }
    switch (type) {
    case 'v':
        return fail(ps, -EBADMSG, "duplicate v= line");
    case 'o':
        if (ps->seen_o || ps->m)
            return fail(ps, -EBADMSG, "misplaced o= line");
        ps->seen_o = true;
        return parse_o(ps, v);
    case 's':
        if (ps->seen_s || ps->m)
            return fail(ps, -EBADMSG, "misplaced s= line");
        ps->seen_s = true;
        if (!(ps->s->name = DUP(ps, v)))
            return fail(ps, -ENOMEM, "out of memory");
        return 0;
    case 't':
        if (ps->m)
            return fail(ps, -EBADMSG, "t= line inside a media section");
        return parse_t(ps, v);
    case 'm':
        if (!ps->seen_o || !ps->seen_s)
            return fail(ps, -EBADMSG, "m= line before o= and s=");
        return parse_m(ps, v);
    case 'c':
        return parse_c(ps, v);
    case 'b':
        return parse_b(ps, v);
    case 'a':
        return parse_a(ps, v);
    case 'i':
    case 'k':
        return keep_other(ps, type, v);
    case 'u':
    case 'e':
    case 'p':
    case 'r':
    case 'z':
        if (ps->m)
            return fail(ps, -EBADMSG, "session-level line inside a media section");
        return keep_other(ps, type, v);
    default:
        /* RFC 8866 §5: a description with an unknown type letter is ignored as a whole. */
        return fail(ps, -EBADMSG, "unknown line type");
    }
}

int rtc_sdp_parse(const char *text, size_t len, rtc_sdp_t **out, rtc_sdp_err_t *err)
{
    parser_t ps = {.err = err};
    *out = NULL;
    if (err)
        *err = (rtc_sdp_err_t){0, NULL};
    if (len > RTC_SDP_MAX_TEXT_LEN)
        return fail(&ps, -EMSGSIZE, "description too long");
    if (!(ps.s = sdp_new()))
        return fail(&ps, -ENOMEM, "out of memory");
    const char *p = text, *end = text + len;
    int rc = 0;
    while (p < end) {
        ps.line++;
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *next = nl ? nl + 1 : end;
        if (le > p && le[-1] == '\r') /* RFC 8866 §5: CRLF, or LF alone */
            le--;
        size_t n = (size_t)(le - p);
        if (n > RTC_SDP_MAX_LINE_LEN) {
            rc = fail(&ps, -EMSGSIZE, "line too long");
            goto out;
        }
        if (n && (rc = parse_line(&ps, p, n)) < 0)
            goto out;
        p = next;
    }
    ps.line = 0;
    if (!ps.seen_v)
        rc = fail(&ps, -EBADMSG, "empty description");
    else if (!ps.seen_o)
        rc = fail(&ps, -EBADMSG, "missing o= line");
    else if (!ps.seen_s)
        rc = fail(&ps, -EBADMSG, "missing s= line");
out:
    if (rc < 0) {
        rtc_sdp_destroy(ps.s);
        return rc;
    }
    *out = ps.s;
    return 0;
}

/* ---- writer -----------------------------------------------------------------------------------
 */

typedef struct wbuf {
    char *p;
    size_t len, cap;
    bool full;
} wbuf_t;

static void w_mem(wbuf_t *w, const char *s, size_t n)
{
    if (w->full || w->cap - w->len < n) {
        w->full = true;
        return;
    }
    memcpy(w->p + w->len, s, n);
    w->len += n;
}

static void w_str(wbuf_t *w, const char *s)
{
    w_mem(w, s, strlen(s));
}

static void w_u64(wbuf_t *w, uint64_t v)
{
    char tmp[24];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    w_mem(w, tmp + i, sizeof tmp - i);
}

static void w_eol(wbuf_t *w)
{
    w_mem(w, "\r\n", 2);
}

/* "a=<name>" + optional ":" value + CRLF */
static void w_attr(wbuf_t *w, const char *name, const char *value)
{
    w_mem(w, "a=", 2);
    w_str(w, name);
    if (value) {
        w_mem(w, ":", 1);
        w_str(w, value);
    }
    w_eol(w);
}

static void w_other(wbuf_t *w, const rtc_sdp_attrs_t *a, char type)
{
    for (unsigned i = 0; i < a->other_cnt; i++) {
        if (a->other[i].type != type)
            continue;
        char pre[2] = {type, '='};
        w_mem(w, pre, 2);
        w_str(w, a->other[i].text);
        w_eol(w);
    }
}

static void w_conn_bw(wbuf_t *w, const rtc_sdp_attrs_t *a)
{
    if (a->conn.nettype) {
        w_str(w, "c=");
        w_str(w, a->conn.nettype);
        w_mem(w, " ", 1);
        w_str(w, a->conn.addrtype);
        w_mem(w, " ", 1);
        w_str(w, a->conn.addr);
        w_eol(w);
    }
    w_other(w, a, 'c');
    if (a->bw_as_kbps) {
        w_str(w, "b=AS:");
        w_u64(w, a->bw_as_kbps);
        w_eol(w);
    }
    if (a->bw_tias_bps) {
        w_str(w, "b=TIAS:");
        w_u64(w, a->bw_tias_bps);
        w_eol(w);
    }
    w_other(w, a, 'b');
}

static void w_transport(wbuf_t *w, const rtc_sdp_attrs_t *a)
{
    if (a->ice_ufrag)
        w_attr(w, "ice-ufrag", a->ice_ufrag);
    if (a->ice_pwd)
        w_attr(w, "ice-pwd", a->ice_pwd);
    if (a->ice_options)
        w_attr(w, "ice-options", a->ice_options);
    static const char hex[] = "0123456789ABCDEF";
    for (unsigned i = 0; i < a->fingerprint_cnt; i++) {
        const rtc_sdp_fingerprint_t *f = &a->fingerprints[i];
        char buf[RTC_SDP_FP_MAX_LEN * 3];
        size_t n = 0;
        for (unsigned k = 0; k < f->len && k < RTC_SDP_FP_MAX_LEN; k++) {
            if (k)
                buf[n++] = ':';
            buf[n++] = hex[f->value[k] >> 4];
            buf[n++] = hex[f->value[k] & 15];
        }
        w_str(w, "a=fingerprint:");
        w_str(w, rtc_sdp_hash_name(f->hash));
        w_mem(w, " ", 1);
        w_mem(w, buf, n);
        w_eol(w);
    }
    if (a->setup)
        w_attr(w, "setup", rtc_sdp_setup_name(a->setup));
}

static void w_extmaps(wbuf_t *w, const rtc_sdp_attrs_t *a)
{
    for (unsigned i = 0; i < a->extmap_cnt; i++) {
        const rtc_sdp_extmap_t *e = &a->extmaps[i];
        w_str(w, "a=extmap:");
        w_u64(w, e->id);
        if (e->dir) {
            w_mem(w, "/", 1);
            w_str(w, rtc_sdp_dir_name(e->dir));
        }
        w_mem(w, " ", 1);
        w_str(w, e->uri);
        if (e->attrs) {
            w_mem(w, " ", 1);
            w_str(w, e->attrs);
        }
        w_eol(w);
    }
    if (a->extmap_allow_mixed)
        w_attr(w, "extmap-allow-mixed", NULL);
}

static void w_fb(wbuf_t *w, const rtc_sdp_media_t *m, int pt)
{
    for (unsigned i = 0; i < m->fb_cnt; i++) {
        if (m->fbs[i].pt != pt)
            continue;
        w_str(w, "a=rtcp-fb:");
        if (pt < 0)
            w_mem(w, "*", 1);
        else
            w_u64(w, (uint64_t)pt);
        w_mem(w, " ", 1);
        w_str(w, m->fbs[i].value);
        w_eol(w);
    }
}

static void w_media(wbuf_t *w, const rtc_sdp_media_t *m)
{
    w_str(w, "m=");
    w_str(w, m->media);
    w_mem(w, " ", 1);
    w_u64(w, m->port);
    if (m->port_cnt) {
        w_mem(w, "/", 1);
        w_u64(w, m->port_cnt);
    }
    w_mem(w, " ", 1);
    w_str(w, m->proto);
    if (m->rtp) {
        for (unsigned i = 0; i < m->codec_cnt; i++) {
            w_mem(w, " ", 1);
            w_u64(w, m->codecs[i].pt);
        }
    } else if (m->fmt) {
        w_mem(w, " ", 1);
        w_str(w, m->fmt);
    }
    w_eol(w);
    w_other(w, &m->a, 'i');
    w_conn_bw(w, &m->a);
    w_other(w, &m->a, 'k');
    for (unsigned i = 0; i < m->candidate_cnt; i++)
        w_attr(w, "candidate", m->candidates[i]);
    if (m->end_of_candidates)
        w_attr(w, "end-of-candidates", NULL);
    w_transport(w, &m->a);
    if (m->mid)
        w_attr(w, "mid", m->mid);
    w_extmaps(w, &m->a);
    if (m->a.dir)
        w_attr(w, rtc_sdp_dir_name(m->a.dir), NULL);
    for (unsigned i = 0; i < m->msid_cnt; i++) {
        w_str(w, "a=msid:");
        w_str(w, m->msids[i].stream);
        if (m->msids[i].track) {
            w_mem(w, " ", 1);
            w_str(w, m->msids[i].track);
        }
        w_eol(w);
    }
    if (m->rtcp_mux)
        w_attr(w, "rtcp-mux", NULL);
    if (m->rtcp_rsize)
        w_attr(w, "rtcp-rsize", NULL);
    for (unsigned i = 0; i < m->codec_cnt; i++) {
        const rtc_sdp_codec_t *c = &m->codecs[i];
        if (c->name) {
            w_str(w, "a=rtpmap:");
            w_u64(w, c->pt);
            w_mem(w, " ", 1);
            w_str(w, c->name);
            w_mem(w, "/", 1);
            w_u64(w, c->clock_hz);
            if (c->channels) {
                w_mem(w, "/", 1);
                w_u64(w, c->channels);
            }
            w_eol(w);
        }
        w_fb(w, m, c->pt);
        if (c->fmtp) {
            w_str(w, "a=fmtp:");
            w_u64(w, c->pt);
            w_mem(w, " ", 1);
            w_str(w, c->fmtp);
            w_eol(w);
        }
    }
    w_fb(w, m, -1);
    for (unsigned i = 0; i < m->ssrc_group_cnt; i++) {
        const rtc_sdp_ssrc_group_t *g = &m->ssrc_groups[i];
        w_str(w, "a=ssrc-group:");
        w_str(w, g->semantics);
        for (unsigned k = 0; k < g->ssrc_cnt; k++) {
            w_mem(w, " ", 1);
            w_u64(w, g->ssrcs[k]);
        }
        w_eol(w);
    }
    for (unsigned i = 0; i < m->ssrc_cnt; i++) {
        w_str(w, "a=ssrc:");
        w_u64(w, m->ssrcs[i].ssrc);
        w_mem(w, " ", 1);
        w_str(w, m->ssrcs[i].attr);
        if (m->ssrcs[i].value) {
            w_mem(w, ":", 1);
            w_str(w, m->ssrcs[i].value);
        }
        w_eol(w);
    }
    for (unsigned i = 0; i < m->rid_cnt; i++) {
        w_str(w, "a=rid:");
        w_str(w, m->rids[i].id);
        w_str(w, m->rids[i].send ? " send" : " recv");
        if (m->rids[i].params) {
            w_mem(w, " ", 1);
            w_str(w, m->rids[i].params);
        }
        w_eol(w);
    }
    if (m->simulcast_send || m->simulcast_recv) {
        w_str(w, "a=simulcast:");
        if (m->simulcast_send) {
            w_str(w, "send ");
            w_str(w, m->simulcast_send);
        }
        if (m->simulcast_recv) {
            w_str(w, m->simulcast_send ? " recv " : "recv ");
            w_str(w, m->simulcast_recv);
        }
        w_eol(w);
    }
    if (m->sctp_port) {
        w_str(w, "a=sctp-port:");
        w_u64(w, m->sctp_port);
        w_eol(w);
    }
    if (m->has_max_message_size) {
        w_str(w, "a=max-message-size:");
        w_u64(w, m->max_message_size);
        w_eol(w);
    }
    w_other(w, &m->a, 'a');
}

int rtc_sdp_write(const rtc_sdp_t *s, char *buf, size_t cap)
{
    wbuf_t w = {buf, 0, cap, false};
    w_str(&w, "v=0\r\no=");
    w_str(&w, s->origin_user ? s->origin_user : "-");
    w_mem(&w, " ", 1);
    w_str(&w, s->sess_id ? s->sess_id : "0");
    w_mem(&w, " ", 1);
    w_u64(&w, s->sess_version);
    w_mem(&w, " ", 1);
    w_str(&w, s->origin_nettype ? s->origin_nettype : "IN");
    w_mem(&w, " ", 1);
    w_str(&w, s->origin_addrtype ? s->origin_addrtype : "IP4");
    w_mem(&w, " ", 1);
    w_str(&w, s->origin_addr ? s->origin_addr : "127.0.0.1");
    w_str(&w, "\r\ns=");
    w_str(&w, s->name ? s->name : "-");
    w_eol(&w);
    static const char sess_other[] = {'i', 'u', 'e', 'p'};
    for (size_t i = 0; i < sizeof sess_other; i++)
        w_other(&w, &s->a, sess_other[i]);
    w_conn_bw(&w, &s->a);
    w_str(&w, "t=");
    w_u64(&w, s->t_start);
    w_mem(&w, " ", 1);
    w_u64(&w, s->t_stop);
    w_eol(&w);
    static const char time_other[] = {'t', 'r', 'z', 'k'};
    for (size_t i = 0; i < sizeof time_other; i++)
        w_other(&w, &s->a, time_other[i]);
    if (s->a.ice_lite)
        w_attr(&w, "ice-lite", NULL);
    for (unsigned i = 0; i < s->group_cnt; i++) {
        const rtc_sdp_group_t *g = &s->groups[i];
        w_str(&w, "a=group:");
        w_str(&w, g->semantics);
        for (unsigned k = 0; k < g->mid_cnt; k++) {
            w_mem(&w, " ", 1);
            w_str(&w, g->mids[k]);
        }
        w_eol(&w);
    }
    w_transport(&w, &s->a);
    w_extmaps(&w, &s->a);
    if (s->a.dir)
        w_attr(&w, rtc_sdp_dir_name(s->a.dir), NULL);
    if (s->msid_semantic) {
        /* Chromium writes "msid-semantic: WMS"; both it and Firefox read that form. */
        w_str(&w, "a=msid-semantic: ");
        w_str(&w, s->msid_semantic);
        if (s->msid_semantic_ids) {
            w_mem(&w, " ", 1);
            w_str(&w, s->msid_semantic_ids);
        }
        w_eol(&w);
    }
    w_other(&w, &s->a, 'a');
    for (unsigned i = 0; i < s->media_cnt; i++)
        w_media(&w, s->media[i]);
    if (w.full)
        return -ENOSPC;
    if (w.len < cap)
        buf[w.len] = '\0';
    return (int)w.len;
}

/* ---- building ---------------------------------------------------------------------------------
 */

rtc_sdp_t *rtc_sdp_create(const char *sess_id, uint64_t sess_version)
{
    rtc_sdp_t *s = sdp_new();
    if (!s)
        return NULL;
    s->origin_user = "-"; /* string literals are fine: they outlive any description */
    s->sess_id = rtc_sdp_strdup(s, sess_id ? sess_id : "0");
    s->sess_version = sess_version;
    s->origin_nettype = "IN";
    s->origin_addrtype = "IP4";
    s->origin_addr = "127.0.0.1";
    s->name = "-";
    if (!s->sess_id) {
        rtc_sdp_destroy(s);
        return NULL;
    }
    return s;
}

rtc_sdp_media_t *rtc_sdp_media_add(rtc_sdp_t *s, const char *media, uint16_t port,
                                   const char *proto, const char *fmt)
{
    if (s->media_cnt >= RTC_SDP_MAX_MEDIA)
        return NULL;
    rtc_sdp_media_t *m = arena_alloc(s, sizeof *m);
    if (!m)
        return NULL;
    memset(m, 0, sizeof *m);
    m->media = rtc_sdp_strdup(s, media);
    m->proto = rtc_sdp_strdup(s, proto);
    m->fmt = rtc_sdp_strdup(s, fmt);
    if (!m->media || !m->proto || (fmt && !m->fmt))
        return NULL;
    m->kind = kind_from(media);
    m->port = port;
    m->rtp = proto_is_rtp(proto);
    s->media[s->media_cnt++] = m;
    return m;
}

int rtc_sdp_codec_add(rtc_sdp_t *s, rtc_sdp_media_t *m, uint8_t pt, const char *name,
                      uint32_t clock_hz, uint16_t channels, const char *fmtp)
{
    if (pt > 127 || codec_by_pt(m, pt))
        return -EINVAL;
    int rc = VEC_RESERVE(s, m->codecs, m->codec_cnt, m->_codec_cap, RTC_SDP_MAX_CODECS);
    if (rc < 0)
        return rc;
    rtc_sdp_codec_t c = {.pt = pt, .clock_hz = clock_hz, .channels = channels};
    c.name = rtc_sdp_strdup(s, name);
    c.fmtp = fmtp && *fmtp ? rtc_sdp_strdup(s, fmtp) : NULL;
    if ((name && !c.name) || (fmtp && *fmtp && !c.fmtp))
        return -ENOMEM;
    m->codecs[m->codec_cnt++] = c;
    return 0;
}

int rtc_sdp_fb_add(rtc_sdp_t *s, rtc_sdp_media_t *m, int pt, const char *value)
{
    int rc = VEC_RESERVE(s, m->fbs, m->fb_cnt, m->_fb_cap, RTC_SDP_MAX_FB);
    if (rc < 0)
        return rc;
    const char *v = rtc_sdp_strdup(s, value);
    if (!v)
        return -ENOMEM;
    m->fbs[m->fb_cnt++] = (rtc_sdp_fb_t){(int16_t)(pt < 0 ? -1 : pt), v};
    return 0;
}

int rtc_sdp_extmap_add(rtc_sdp_t *s, rtc_sdp_attrs_t *a, uint16_t id, rtc_sdp_dir_t dir,
                       const char *uri, const char *attrs)
{
    int rc = VEC_RESERVE(s, a->extmaps, a->extmap_cnt, a->_extmap_cap, RTC_SDP_MAX_EXTMAP);
    if (rc < 0)
        return rc;
    rtc_sdp_extmap_t e = {id, dir, rtc_sdp_strdup(s, uri), rtc_sdp_strdup(s, attrs)};
    if (!e.uri || (attrs && !e.attrs))
        return -ENOMEM;
    a->extmaps[a->extmap_cnt++] = e;
    return 0;
}

int rtc_sdp_candidate_add(rtc_sdp_t *s, rtc_sdp_media_t *m, const char *value)
{
    int rc = VEC_RESERVE(s, m->candidates, m->candidate_cnt, m->_cand_cap, RTC_SDP_MAX_CANDIDATES);
    if (rc < 0)
        return rc;
    if (!(m->candidates[m->candidate_cnt] = rtc_sdp_strdup(s, value)))
        return -ENOMEM;
    m->candidate_cnt++;
    return 0;
}

int rtc_sdp_ssrc_add(rtc_sdp_t *s, rtc_sdp_media_t *m, uint32_t ssrc, const char *attr,
                     const char *value)
{
    int rc = VEC_RESERVE(s, m->ssrcs, m->ssrc_cnt, m->_ssrc_cap, RTC_SDP_MAX_SSRC_LINES);
    if (rc < 0)
        return rc;
    rtc_sdp_ssrc_t e = {ssrc, rtc_sdp_strdup(s, attr), rtc_sdp_strdup(s, value)};
    if (!e.attr || (value && !e.value))
        return -ENOMEM;
    m->ssrcs[m->ssrc_cnt++] = e;
    return 0;
}

int rtc_sdp_ssrc_group_add(rtc_sdp_t *s, rtc_sdp_media_t *m, const char *semantics,
                           const uint32_t *ssrcs, unsigned cnt)
{
    if (!cnt || cnt > RTC_SDP_MAX_GROUP_SSRCS)
        return -EINVAL;
    int rc = VEC_RESERVE(s, m->ssrc_groups, m->ssrc_group_cnt, m->_ssrc_group_cap,
                         RTC_SDP_MAX_SSRC_GROUPS);
    if (rc < 0)
        return rc;
    rtc_sdp_ssrc_group_t *g = &m->ssrc_groups[m->ssrc_group_cnt];
    memset(g, 0, sizeof *g);
    if (!(g->semantics = rtc_sdp_strdup(s, semantics)))
        return -ENOMEM;
    memcpy(g->ssrcs, ssrcs, cnt * sizeof *ssrcs);
    g->ssrc_cnt = (uint8_t)cnt;
    m->ssrc_group_cnt++;
    return 0;
}

int rtc_sdp_msid_add(rtc_sdp_t *s, rtc_sdp_media_t *m, const char *stream, const char *track)
{
    int rc = VEC_RESERVE(s, m->msids, m->msid_cnt, m->_msid_cap, RTC_SDP_MAX_MSIDS);
    if (rc < 0)
        return rc;
    rtc_sdp_msid_t e = {rtc_sdp_strdup(s, stream), rtc_sdp_strdup(s, track)};
    if (!e.stream || (track && !e.track))
        return -ENOMEM;
    m->msids[m->msid_cnt++] = e;
    return 0;
}

int rtc_sdp_rid_add(rtc_sdp_t *s, rtc_sdp_media_t *m, const char *id, bool send, const char *params)
{
    int rc = VEC_RESERVE(s, m->rids, m->rid_cnt, m->_rid_cap, RTC_SDP_MAX_RIDS);
    if (rc < 0)
        return rc;
    rtc_sdp_rid_t r = {rtc_sdp_strdup(s, id), send, rtc_sdp_strdup(s, params)};
    if (!r.id || (params && !r.params))
        return -ENOMEM;
    m->rids[m->rid_cnt++] = r;
    return 0;
}

int rtc_sdp_other_add(rtc_sdp_t *s, rtc_sdp_attrs_t *a, char type, const char *text)
{
    int rc = VEC_RESERVE(s, a->other, a->other_cnt, a->_other_cap, RTC_SDP_MAX_OTHER);
    if (rc < 0)
        return rc;
    const char *t = rtc_sdp_strdup(s, text);
    if (!t)
        return -ENOMEM;
    a->other[a->other_cnt++] = (rtc_sdp_other_t){type, t};
    return 0;
}

int rtc_sdp_group_add(rtc_sdp_t *s, const char *semantics, const char *const *mids, unsigned cnt)
{
    if (s->group_cnt >= RTC_SDP_MAX_GROUPS || cnt > RTC_SDP_MAX_MEDIA)
        return -EMSGSIZE;
    rtc_sdp_group_t *g = &s->groups[s->group_cnt];
    memset(g, 0, sizeof *g);
    g->semantics = rtc_sdp_strdup(s, semantics);
    g->mids = arena_alloc(s, (cnt ? cnt : 1) * sizeof *g->mids);
    if (!g->semantics || !g->mids)
        return -ENOMEM;
    for (unsigned i = 0; i < cnt; i++)
        if (!(g->mids[i] = rtc_sdp_strdup(s, mids[i])))
            return -ENOMEM;
    g->mid_cnt = (uint8_t)cnt;
    s->group_cnt++;
    return 0;
}

/* ---- lookups ----------------------------------------------------------------------------------
 */

const rtc_sdp_codec_t *rtc_sdp_codec_find(const rtc_sdp_media_t *m, int pt)
{
    if (pt < 0 || pt > 127)
        return NULL;
    return codec_by_pt((rtc_sdp_media_t *)m, (unsigned)pt);
}

const rtc_sdp_media_t *rtc_sdp_media_by_mid(const rtc_sdp_t *s, const char *mid)
{
    for (unsigned i = 0; i < s->media_cnt; i++)
        if (s->media[i]->mid && !strcmp(s->media[i]->mid, mid))
            return s->media[i];
    return NULL;
}

const rtc_sdp_group_t *rtc_sdp_group_find(const rtc_sdp_t *s, const char *semantics)
{
    for (unsigned i = 0; i < s->group_cnt; i++)
        if (!strcasecmp(s->groups[i].semantics, semantics))
            return &s->groups[i];
    return NULL;
}

const char *rtc_sdp_ice_ufrag(const rtc_sdp_t *s, const rtc_sdp_media_t *m)
{
    return m && m->a.ice_ufrag ? m->a.ice_ufrag : s->a.ice_ufrag;
}

const char *rtc_sdp_ice_pwd(const rtc_sdp_t *s, const rtc_sdp_media_t *m)
{
    return m && m->a.ice_pwd ? m->a.ice_pwd : s->a.ice_pwd;
}

rtc_sdp_setup_t rtc_sdp_setup(const rtc_sdp_t *s, const rtc_sdp_media_t *m)
{
    return m && m->a.setup ? m->a.setup : s->a.setup;
}

rtc_sdp_dir_t rtc_sdp_dir(const rtc_sdp_t *s, const rtc_sdp_media_t *m)
{
    if (m && m->a.dir)
        return m->a.dir;
    /* RFC 3264 §5.1: sendrecv when no direction attribute is present */
    return s->a.dir ? s->a.dir : RTC_SDP_DIR_SENDRECV;
}

const rtc_sdp_fingerprint_t *rtc_sdp_fingerprint(const rtc_sdp_t *s, const rtc_sdp_media_t *m)
{
    if (m && m->a.fingerprint_cnt)
        return &m->a.fingerprints[0];
    return s->a.fingerprint_cnt ? &s->a.fingerprints[0] : NULL;
}

int rtc_sdp_fmtp_get(const char *fmtp, const char *key, char *buf, size_t cap)
{
    if (!fmtp)
        return -ENOENT;
    size_t klen = strlen(key);
    const char *p = fmtp;
    while (*p) {
        while (*p == ' ' || *p == ';')
            p++;
        const char *e = strchr(p, ';');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        const char *eq = memchr(p, '=', n);
        if (eq && (size_t)(eq - p) == klen && !strncasecmp(p, key, klen)) {
            size_t vlen = n - klen - 1;
            while (vlen && eq[vlen] == ' ') /* trailing spaces */
                vlen--;
            if (vlen + 1 > cap)
                return -ENOSPC;
            memcpy(buf, eq + 1, vlen);
            buf[vlen] = '\0';
            return (int)vlen;
        }
        if (!e)
            break;
        p = e + 1;
    }
    return -ENOENT;
}
