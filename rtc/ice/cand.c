/* rtc/ice/cand.c: the a=candidate grammar (RFC 8839 §5.1), priorities and foundations
 * (RFC 8445 §5.1.2, §5.1.1.3).
 *
 *   candidate-attribute   = "candidate" ":" foundation SP component-id SP
 *                           transport SP priority SP connection-address SP port
 *                           SP cand-type [SP rel-addr] [SP rel-port]
 *                           *(SP cand-extension)
 *   cand-type             = "typ" SP candidate-types
 *   rel-addr              = "raddr" SP connection-address
 *   rel-port              = "rport" SP port
 *   cand-extension        = extension-att-name SP extension-att-value
 */
#include "rtc/ice/ice.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <strings.h>

typedef struct tok {
    const char *p;
    size_t len;
} tok_t;

/* Splits the next space-separated token from [*s, end). */
static bool next_tok(const char **s, const char *end, tok_t *t)
{
    while (*s < end && **s == ' ')
        (*s)++;
    if (*s >= end)
        return false;
    t->p = *s;
    while (*s < end && **s != ' ')
        (*s)++;
    t->len = (size_t)(*s - t->p);
    return true;
}

static bool tok_eq(tok_t t, const char *s)
{
    size_t n = strlen(s);
    return t.len == n && strncasecmp(t.p, s, n) == 0;
}

static bool is_ice_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

static int tok_uint(tok_t t, unsigned max_digits, uint64_t max, uint64_t *v)
{
    if (t.len == 0 || t.len > max_digits)
        return -EBADMSG;
    uint64_t x = 0;
    for (size_t i = 0; i < t.len; i++) {
        if (t.p[i] < '0' || t.p[i] > '9')
            return -EBADMSG;
        x = x * 10 + (uint64_t)(t.p[i] - '0');
    }
    if (x > max)
        return -EBADMSG;
    *v = x;
    return 0;
}

/* An IP literal into @a (port set later), or a hostname into @host. */
static int tok_addr(tok_t t, net_addr_t *a, char *host, size_t host_cap)
{
    char buf[RTC_ICE_HOSTNAME_MAX + 1];
    if (t.len == 0 || t.len >= sizeof buf)
        return -EBADMSG;
    memcpy(buf, t.p, t.len);
    buf[t.len] = 0;
    memset(a, 0, sizeof *a);
    if (inet_pton(AF_INET, buf, &a->in4.sin_addr) == 1) {
        a->in4.sin_family = AF_INET;
        a->len = sizeof a->in4;
        return 0;
    }
    if (inet_pton(AF_INET6, buf, &a->in6.sin6_addr) == 1) {
        a->in6.sin6_family = AF_INET6;
        a->len = sizeof a->in6;
        return 0;
    }
    if (!host)
        return -EBADMSG;
    /* FQDN (RFC 8839 §5.1): letters, digits, '-', '.'. */
    for (size_t i = 0; i < t.len; i++) {
        char c = buf[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.'))
            return -EBADMSG;
    }
    if (t.len >= host_cap)
        return -EBADMSG;
    memcpy(host, buf, t.len + 1);
    return 0;
}

int rtc_ice_cand_parse(const char *s, size_t len, rtc_ice_cand_t *c)
{
    const char *end = s + len;
    while (end > s && (end[-1] == '\r' || end[-1] == '\n'))
        end--;
    if (end - s >= 2 && s[0] == 'a' && s[1] == '=')
        s += 2;
    if (end - s < 10 || strncasecmp(s, "candidate:", 10) != 0)
        return -EBADMSG;
    s += 10;
    /* RFC 8866 §9 byte-string excludes NUL, CR and LF; we refuse every control character so
     * that what we keep can be formatted back verbatim. */
    for (const char *q = s; q < end; q++)
        if ((unsigned char)*q < 0x20 || *q == 0x7F)
            return -EBADMSG;
    memset(c, 0, sizeof *c);
    c->generation = -1;

    tok_t t;
    uint64_t v;
    /* foundation = 1*32ice-char */
    if (!next_tok(&s, end, &t) || t.len > RTC_ICE_FOUNDATION_MAX)
        return -EBADMSG;
    for (size_t i = 0; i < t.len; i++)
        if (!is_ice_char(t.p[i]))
            return -EBADMSG;
    memcpy(c->foundation, t.p, t.len);
    /* component-id = 1*3DIGIT (1..256) */
    if (!next_tok(&s, end, &t) || tok_uint(t, 3, 256, &v) < 0 || v == 0)
        return -EBADMSG;
    c->component = (uint16_t)v;
    /* transport = "UDP" / transport-extension */
    if (!next_tok(&s, end, &t))
        return -EBADMSG;
    c->transport = tok_eq(t, "udp")   ? RTC_ICE_UDP
                   : tok_eq(t, "tcp") ? RTC_ICE_TCP
                                      : RTC_ICE_TRANSPORT_OTHER;
    /* priority = 1*10DIGIT (1..2^31-1, RFC 8445 §5.1.2) */
    if (!next_tok(&s, end, &t) || tok_uint(t, 10, 0xFFFFFFFFu, &v) < 0)
        return -EBADMSG;
    c->priority = (uint32_t)v;
    /* connection-address SP port */
    if (!next_tok(&s, end, &t) || tok_addr(t, &c->addr, c->hostname, sizeof c->hostname) < 0)
        return -EBADMSG;
    if (!next_tok(&s, end, &t) || tok_uint(t, 5, 65535, &v) < 0)
        return -EBADMSG;
    c->port = (uint16_t)v;
    if (c->addr.len)
        net_addr_set_port(&c->addr, c->port);
    /* "typ" SP candidate-types */
    if (!next_tok(&s, end, &t) || !tok_eq(t, "typ") || !next_tok(&s, end, &t))
        return -EBADMSG;
    if (tok_eq(t, "host"))
        c->type = RTC_ICE_HOST;
    else if (tok_eq(t, "srflx"))
        c->type = RTC_ICE_SRFLX;
    else if (tok_eq(t, "prflx"))
        c->type = RTC_ICE_PRFLX;
    else if (tok_eq(t, "relay"))
        c->type = RTC_ICE_RELAY;
    else
        return -EBADMSG;

    /* raddr, rport, then extensions: name SP value pairs. */
    bool have_rport = false;
    size_t ext_len = 0;
    tok_t name, val;
    while (next_tok(&s, end, &name)) {
        if (!next_tok(&s, end, &val))
            return -EBADMSG; /* a name without a value */
        if (tok_eq(name, "raddr")) {
            char host[RTC_ICE_HOSTNAME_MAX + 1];
            /* Chromium/Firefox write "raddr 0.0.0.0" or even a hostname when hiding IPs. */
            if (tok_addr(val, &c->raddr, host, sizeof host) < 0)
                return -EBADMSG;
            c->has_raddr = c->raddr.len != 0;
        } else if (tok_eq(name, "rport")) {
            if (tok_uint(val, 5, 65535, &v) < 0)
                return -EBADMSG;
            if (c->has_raddr)
                net_addr_set_port(&c->raddr, (uint16_t)v);
            have_rport = true;
        } else if (tok_eq(name, "tcptype")) { /* RFC 6544 §4.5 */
            if (tok_eq(val, "active"))
                c->tcptype = RTC_ICE_TCPTYPE_ACTIVE;
            else if (tok_eq(val, "passive"))
                c->tcptype = RTC_ICE_TCPTYPE_PASSIVE;
            else if (tok_eq(val, "so"))
                c->tcptype = RTC_ICE_TCPTYPE_SO;
            else
                return -EBADMSG;
        } else if (tok_eq(name, "generation")) {
            if (tok_uint(val, 10, 0xFFFFFFFFu, &v) < 0)
                return -EBADMSG;
            c->generation = (int64_t)v;
        } else {
            /* unknown extension: kept verbatim (RFC 8839 §5.1: MUST be ignored if not
             * understood; we keep it so it can be forwarded) */
            size_t need = (ext_len ? 1 : 0) + name.len + 1 + val.len;
            if (ext_len + need >= sizeof c->ext)
                return -EMSGSIZE;
            if (ext_len)
                c->ext[ext_len++] = ' ';
            memcpy(c->ext + ext_len, name.p, name.len);
            ext_len += name.len;
            c->ext[ext_len++] = ' ';
            memcpy(c->ext + ext_len, val.p, val.len);
            ext_len += val.len;
            c->ext[ext_len] = 0;
        }
    }
    (void)have_rport;
    return 0;
}

static const char *type_name(unsigned t)
{
    static const char *const n[] = {"host", "srflx", "prflx", "relay"};
    return t < 4 ? n[t] : "host";
}

int rtc_ice_cand_fmt(const rtc_ice_cand_t *c, char *buf, size_t cap)
{
    char ip[NET_ADDR_STRLEN];
    const char *addr = c->addr.len ? net_addr_ip_fmt(&c->addr, ip, sizeof ip) : c->hostname;
    uint16_t port = c->addr.len ? net_addr_port(&c->addr) : c->port;
    const char *tr = c->transport == RTC_ICE_TCP ? "tcp" : "udp";
    int n = snprintf(buf, cap, "candidate:%s %u %s %u %s %u typ %s", c->foundation, c->component,
                     tr, c->priority, addr, port, type_name(c->type));
    if (n < 0 || (size_t)n >= cap)
        return -ENOSPC;
    size_t len = (size_t)n;
    if (c->has_raddr) {
        char rip[NET_ADDR_STRLEN];
        n = snprintf(buf + len, cap - len, " raddr %s rport %u",
                     net_addr_ip_fmt(&c->raddr, rip, sizeof rip), net_addr_port(&c->raddr));
        if (n < 0 || (size_t)n >= cap - len)
            return -ENOSPC;
        len += (size_t)n;
    }
    if (c->tcptype) {
        static const char *const tt[] = {"", "active", "passive", "so"};
        n = snprintf(buf + len, cap - len, " tcptype %s", tt[c->tcptype & 3]);
        if (n < 0 || (size_t)n >= cap - len)
            return -ENOSPC;
        len += (size_t)n;
    }
    if (c->generation >= 0) {
        n = snprintf(buf + len, cap - len, " generation %lld", (long long)c->generation);
        if (n < 0 || (size_t)n >= cap - len)
            return -ENOSPC;
        len += (size_t)n;
    }
    if (c->ext[0]) {
        n = snprintf(buf + len, cap - len, " %s", c->ext);
        if (n < 0 || (size_t)n >= cap - len)
            return -ENOSPC;
        len += (size_t)n;
    }
    return (int)len;
}

uint32_t rtc_ice_priority(unsigned type, uint16_t local_pref, uint16_t component)
{
    /* RFC 8445 §5.1.2.2: recommended type preferences */
    static const uint32_t type_pref[4] = {126, 100, 110, 0};
    uint32_t tp = type < 4 ? type_pref[type] : 0;
    if (component < 1)
        component = 1;
    if (component > 256)
        component = 256;
    return (tp << 24) + ((uint32_t)local_pref << 8) + (256u - component);
}

void rtc_ice_foundation(unsigned type, const net_addr_t *base, const net_addr_t *server,
                        unsigned transport, char out[RTC_ICE_FOUNDATION_MAX + 1])
{
    /* FNV-1a over (type, base IP, server IP, transport): RFC 8445 §5.1.1.3 only asks that
     * the same inputs give the same foundation and different ones (very likely) differ. */
    uint32_t h = 2166136261u;
#define MIX(byte) (h = (h ^ (uint8_t)(byte)) * 16777619u)
    MIX(type);
    MIX(transport);
    const net_addr_t *as[2] = {base, server};
    for (int k = 0; k < 2; k++) {
        const net_addr_t *a = as[k];
        if (!a || !a->len) {
            MIX(0xFF);
            continue;
        }
        if (a->sa.sa_family == AF_INET) {
            const uint8_t *p = (const uint8_t *)&a->in4.sin_addr;
            for (int i = 0; i < 4; i++)
                MIX(p[i]);
        } else {
            const uint8_t *p = (const uint8_t *)&a->in6.sin6_addr;
            for (int i = 0; i < 16; i++)
                MIX(p[i]);
        }
    }
#undef MIX
    snprintf(out, RTC_ICE_FOUNDATION_MAX + 1, "%u", h);
}

bool rtc_ice_cand_is_mdns(const rtc_ice_cand_t *c)
{
    size_t n = strlen(c->hostname);
    return !c->addr.len && n > 6 && strcasecmp(c->hostname + n - 6, ".local") == 0;
}
