/* net/base.c: assertions, addresses, the clock and logging. */
#include "net/net.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

void net_assert_fail(const char *expr, const char *file, int line)
{
    net_log_write(NET_LOG_ERROR, file, line, NULL, "assertion failed: %s", expr);
    abort();
}

/* ------------------------------------------------------------------------------------------ */

uint64_t net_clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NET_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

uint64_t net_realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * NET_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------------------------------------ */

int net_addr_set(net_addr_t *a, const char *ip, uint16_t port)
{
    memset(a, 0, sizeof *a);
    if (inet_pton(AF_INET, ip, &a->in4.sin_addr) == 1) {
        a->in4.sin_family = AF_INET;
        a->in4.sin_port = htons(port);
        a->len = sizeof a->in4;
        return 0;
    }
    if (inet_pton(AF_INET6, ip, &a->in6.sin6_addr) == 1) {
        a->in6.sin6_family = AF_INET6;
        a->in6.sin6_port = htons(port);
        a->len = sizeof a->in6;
        return 0;
    }
    return -EINVAL;
}

int net_addr_parse(net_addr_t *a, const char *s, int default_port)
{
    char ip[INET6_ADDRSTRLEN + 1];
    const char *port_s = NULL;
    size_t ip_len;

    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (!end)
            return -EINVAL;
        ip_len = (size_t)(end - s - 1);
        if (end[1] == ':')
            port_s = end + 2;
        else if (end[1] != '\0')
            return -EINVAL;
        s++;
    } else {
        const char *colon = strrchr(s, ':');
        /* A bare IPv6 address has several colons and no port. */
        if (colon && strchr(s, ':') == colon) {
            ip_len = (size_t)(colon - s);
            port_s = colon + 1;
        } else {
            ip_len = strlen(s);
        }
    }
    if (ip_len == 0 || ip_len >= sizeof ip)
        return -EINVAL;
    memcpy(ip, s, ip_len);
    ip[ip_len] = '\0';

    long port = default_port;
    if (port_s) {
        char *end;
        port = strtol(port_s, &end, 10);
        if (*port_s == '\0' || *end != '\0')
            return -EINVAL;
    }
    if (port < 0 || port > 65535)
        return -EINVAL;
    return net_addr_set(a, ip, (uint16_t)port);
}

int net_addr_from_sa(net_addr_t *a, const struct sockaddr *sa, socklen_t len)
{
    memset(a, 0, sizeof *a);
    if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        memcpy(&a->in4, sa, sizeof a->in4);
        a->len = sizeof a->in4;
        return 0;
    }
    if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        memcpy(&a->in6, sa, sizeof a->in6);
        a->len = sizeof a->in6;
        return 0;
    }
    return -EAFNOSUPPORT;
}

const char *net_addr_ip_fmt(const net_addr_t *a, char *buf, size_t buf_len)
{
    const void *src = a->sa.sa_family == AF_INET6 ? (const void *)&a->in6.sin6_addr
                                                  : (const void *)&a->in4.sin_addr;
    if (a->len == 0 || !inet_ntop(a->sa.sa_family, src, buf, (socklen_t)buf_len))
        snprintf(buf, buf_len, "?");
    return buf;
}

const char *net_addr_fmt(const net_addr_t *a, char *buf, size_t buf_len)
{
    char ip[INET6_ADDRSTRLEN];
    net_addr_ip_fmt(a, ip, sizeof ip);
    if (a->sa.sa_family == AF_INET6)
        snprintf(buf, buf_len, "[%s]:%u", ip, net_addr_port(a));
    else
        snprintf(buf, buf_len, "%s:%u", ip, net_addr_port(a));
    return buf;
}

uint16_t net_addr_port(const net_addr_t *a)
{
    return ntohs(a->sa.sa_family == AF_INET6 ? a->in6.sin6_port : a->in4.sin_port);
}

void net_addr_set_port(net_addr_t *a, uint16_t port)
{
    if (a->sa.sa_family == AF_INET6)
        a->in6.sin6_port = htons(port);
    else
        a->in4.sin_port = htons(port);
}

int net_addr_family(const net_addr_t *a)
{
    return a->len ? a->sa.sa_family : AF_UNSPEC;
}

bool net_addr_ip_eq(const net_addr_t *a, const net_addr_t *b)
{
    if (a->sa.sa_family != b->sa.sa_family)
        return false;
    if (a->sa.sa_family == AF_INET)
        return a->in4.sin_addr.s_addr == b->in4.sin_addr.s_addr;
    if (a->sa.sa_family == AF_INET6)
        return memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, 16) == 0;
    return false;
}

bool net_addr_eq(const net_addr_t *a, const net_addr_t *b)
{
    return net_addr_ip_eq(a, b) && net_addr_port(a) == net_addr_port(b);
}

/* ------------------------------------------------------------------------------------------ */

static int log_level = -1; /* -1: not read from the environment yet */
static int log_fd = 2;
static __thread char log_tag[8] = "";

int net_log_level_parse(const char *s)
{
    static const char *const names[] = {"error", "warn", "info", "debug", "trace"};
    for (size_t i = 0; i < NET_ARRAY_LEN(names); i++)
        if (strcmp(s, names[i]) == 0)
            return (int)i;
    return -EINVAL;
}

void net_log_set_level(enum net_log_level lvl)
{
    __atomic_store_n(&log_level, (int)lvl, __ATOMIC_RELAXED);
}

enum net_log_level net_log_get_level(void)
{
    int lvl = __atomic_load_n(&log_level, __ATOMIC_RELAXED);
    if (NET_UNLIKELY(lvl < 0)) {
        const char *env = getenv("URTC_LOG");
        lvl = env ? net_log_level_parse(env) : -1;
        if (lvl < 0)
            lvl = NET_LOG_INFO;
        __atomic_store_n(&log_level, lvl, __ATOMIC_RELAXED);
    }
    return (enum net_log_level)lvl;
}

void net_log_set_tag(const char *tag)
{
    snprintf(log_tag, sizeof log_tag, "%s", tag);
}

void net_log_set_fd(int fd)
{
    log_fd = fd;
}

void net_log_write(enum net_log_level lvl, const char *file, int line, const char *peer,
                   const char *fmt, ...)
{
    static const char lvl_ch[] = "EWIDT";
    static __thread char buf[1024];
    uint64_t now = net_clock_ns();
    int n = snprintf(
        buf, sizeof buf, "%llu.%06llu %c %-4s ", (unsigned long long)(now / NET_NS_PER_SEC),
        (unsigned long long)(now % NET_NS_PER_SEC / 1000), lvl_ch[lvl], log_tag[0] ? log_tag : "-");
    if (peer)
        n += snprintf(buf + n, sizeof buf - (size_t)n, "[%s] ", peer);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(buf + n, sizeof buf - (size_t)n, fmt, ap);
    va_end(ap);
    n = m < 0 ? n : NET_MIN(n + m, (int)sizeof buf - 1);
    if (lvl <= NET_LOG_WARN && n < (int)sizeof buf - 1) {
        const char *base = strrchr(file, '/');
        m = snprintf(buf + n, sizeof buf - (size_t)n, " (%s:%d)", base ? base + 1 : file, line);
        n = m < 0 ? n : NET_MIN(n + m, (int)sizeof buf - 1);
    }
    buf[n++] = '\n';
    ssize_t w = write(log_fd, buf, (size_t)n);
    (void)w; /* nowhere to report a failed log write */
}
