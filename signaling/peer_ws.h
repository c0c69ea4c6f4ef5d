/* signaling/peer_ws.h: a small blocking WebSocket (RFC 6455) and HTTP/1.1 client for programs
 * on the public API: urtc-peer (signaling/peer_main.c) and examples/. Header-only (static
 * inline) so that it stays out of liburtc: the server never needs a client.
 *
 * Client side only: text messages, frames masked with a fresh key each (§5.3), Pings answered
 * with Pongs, fragmented messages reassembled, a Close echoed. One thread reads (peer_ws_recv);
 * any thread may send (peer_ws_send_text takes a lock). Plain TCP: ws:// and http:// only. */
#ifndef URTC_SIGNALING_PEER_WS_H
#define URTC_SIGNALING_PEER_WS_H

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define PEER_WS_MAX_MSG (1u << 20)

typedef struct peer_url {
    char host[256];
    char port[8];
    char path[1024];
} peer_url_t;

/* "ws://host[:port]/path" or "http://host[:port]/path" (@scheme without "://"). 0 or -EINVAL. */
static inline int peer_url_parse(const char *url, const char *scheme, peer_url_t *u)
{
    size_t sl = strlen(scheme);
    if (strncmp(url, scheme, sl) != 0 || strncmp(url + sl, "://", 3) != 0)
        return -EINVAL;
    const char *h = url + sl + 3, *slash = strchr(h, '/');
    size_t hl = slash ? (size_t)(slash - h) : strlen(h);
    const char *colon = memchr(h, ':', hl);
    size_t nl = colon ? (size_t)(colon - h) : hl;
    if (nl == 0 || nl >= sizeof u->host)
        return -EINVAL;
    memcpy(u->host, h, nl);
    u->host[nl] = 0;
    size_t pl = colon ? hl - nl - 1 : 2;
    if (pl == 0 || pl >= sizeof u->port)
        return -EINVAL;
    if (colon) {
        memcpy(u->port, colon + 1, pl);
        u->port[pl] = 0;
    } else {
        snprintf(u->port, sizeof u->port, "80");
    }
    if (snprintf(u->path, sizeof u->path, "%s", slash ? slash : "/") >= (int)sizeof u->path)
        return -EINVAL;
    return 0;
}

/* A connected TCP socket (blocking), or -errno. */
static inline int peer_tcp_connect(const peer_url_t *u)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(u->host, u->port, &hints, &res) != 0 || !res)
        return -EHOSTUNREACH;
    int fd = -ECONNREFUSED;
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        int s = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (s < 0)
            continue;
        if (connect(s, a->ai_addr, a->ai_addrlen) == 0) {
            int one = 1;
            setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            fd = s;
            break;
        }
        fd = -errno;
        close(s);
    }
    freeaddrinfo(res);
    return fd;
}

static inline int peer_write_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -EPIPE;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads an HTTP response head into @buf (NUL-terminated, up to and including the blank line);
 * bytes after it stay in @buf past the head: *@head_len and *@got say where. -errno on
 * error or after @timeout_ms. */
static inline int peer_http_read_head(int fd, char *buf, size_t cap, size_t *head_len, size_t *got,
                                      int timeout_ms)
{
    size_t n = 0;
    while (n + 1 < cap) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, timeout_ms) <= 0)
            return -ETIMEDOUT;
        ssize_t r = recv(fd, buf + n, cap - 1 - n, 0);
        if (r <= 0)
            return -ECONNRESET;
        n += (size_t)r;
        buf[n] = 0;
        char *end = strstr(buf, "\r\n\r\n");
        if (end) {
            *head_len = (size_t)(end + 4 - buf);
            *got = n;
            return 0;
        }
    }
    return -EMSGSIZE;
}

/* The value of header @name in a response head (copied, trimmed), or false. */
static inline bool peer_http_header(const char *head, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    for (const char *l = strstr(head, "\r\n"); l && l[2] != '\r'; l = strstr(l + 2, "\r\n")) {
        const char *f = l + 2;
        if (strncasecmp(f, name, nl) == 0 && f[nl] == ':') {
            const char *v = f + nl + 1, *e = strstr(v, "\r\n");
            while (*v == ' ' || *v == '\t')
                v++;
            size_t vl = e ? (size_t)(e - v) : strlen(v);
            while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
                vl--;
            if (vl >= cap)
                return false;
            memcpy(out, v, vl);
            out[vl] = 0;
            return true;
        }
    }
    return false;
}

/* One HTTP/1.1 request with a body (Connection: close). Returns the status code, or -errno.
 * The response body (NUL-terminated, truncated to @cap - 1) goes to @body and the Location
 * header, if any, to @location. @auth: a bearer token or NULL. */
static inline int peer_http_request(const char *method, const char *url, const char *ctype,
                                    const char *req_body, const char *auth, char *location,
                                    size_t loc_cap, char *body, size_t cap)
{
    peer_url_t u;
    if (peer_url_parse(url, "http", &u) < 0)
        return -EINVAL;
    int fd = peer_tcp_connect(&u);
    if (fd < 0)
        return fd;
    size_t blen = req_body ? strlen(req_body) : 0;
    char head[2048];
    int hl = snprintf(head, sizeof head,
                      "%s %s HTTP/1.1\r\nHost: %s:%s\r\nConnection: close\r\n"
                      "Content-Length: %zu\r\n%s%s%s%s%s%s\r\n",
                      method, u.path, u.host, u.port, blen, ctype ? "Content-Type: " : "",
                      ctype ? ctype : "", ctype ? "\r\n" : "", auth ? "Authorization: Bearer " : "",
                      auth ? auth : "", auth ? "\r\n" : "");
    int ret = hl > 0 && hl < (int)sizeof head ? 0 : -EINVAL;
    if (ret == 0)
        ret = peer_write_all(fd, head, (size_t)hl);
    if (ret == 0 && blen)
        ret = peer_write_all(fd, req_body, blen);
    static __thread char resp[65536 + 8192];
    size_t head_len = 0, got = 0;
    if (ret == 0)
        ret = peer_http_read_head(fd, resp, sizeof resp, &head_len, &got, 10000);
    if (ret < 0) {
        close(fd);
        return ret;
    }
    int status = 0;
    if (sscanf(resp, "HTTP/1.%*1d %3d", &status) != 1 || status < 100) {
        close(fd);
        return -EBADMSG;
    }
    char cl[32];
    long want = peer_http_header(resp, "Content-Length", cl, sizeof cl) ? atol(cl) : -1;
    /* The body: Content-Length bytes, or until the server closes. */
    while (got < sizeof resp - 1 && (want < 0 || (long)(got - head_len) < want)) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 10000) <= 0)
            break;
        ssize_t r = recv(fd, resp + got, sizeof resp - 1 - got, 0);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    resp[got] = 0;
    if (location && (!loc_cap || !peer_http_header(resp, "Location", location, loc_cap)))
        location[0] = 0;
    if (body && cap) {
        size_t bl = got - head_len < cap - 1 ? got - head_len : cap - 1;
        memcpy(body, resp + head_len, bl);
        body[bl] = 0;
    }
    return status;
}

/* ---- WebSocket ---------------------------------------------------------------------------- */

typedef struct peer_ws {
    int fd;
    pthread_mutex_t wmu; /* senders */
    uint8_t *buf;        /* received bytes not yet parsed */
    size_t len, cap;
    char *msg; /* the message being reassembled */
    size_t msg_len;
    bool in_msg;
    bool closed;
} peer_ws_t;

static inline int peer_ws_send_frame(peer_ws_t *ws, uint8_t opcode, const void *data, size_t len)
{
    uint8_t hdr[14], key[4];
    size_t h = 0;
    hdr[h++] = (uint8_t)(0x80 | opcode); /* FIN */
    if (len < 126) {
        hdr[h++] = (uint8_t)(0x80 | len);
    } else if (len <= 0xFFFF) {
        hdr[h++] = 0x80 | 126;
        hdr[h++] = (uint8_t)(len >> 8);
        hdr[h++] = (uint8_t)len;
    } else {
        hdr[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            hdr[h++] = (uint8_t)((uint64_t)len >> (8 * i));
    }
    /* RFC 6455 §5.3: a fresh, unpredictable masking key for every frame. */
    if (RAND_bytes(key, sizeof key) != 1)
        return -EIO;
    memcpy(hdr + h, key, 4);
    h += 4;
    uint8_t *out = malloc(h + len);
    if (!out)
        return -ENOMEM;
    memcpy(out, hdr, h);
    const uint8_t *d = data;
    for (size_t i = 0; i < len; i++)
        out[h + i] = d[i] ^ key[i & 3];
    pthread_mutex_lock(&ws->wmu);
    int ret = ws->closed ? -EPIPE : peer_write_all(ws->fd, out, h + len);
    pthread_mutex_unlock(&ws->wmu);
    free(out);
    return ret;
}

static inline int peer_ws_send_text(peer_ws_t *ws, const char *text)
{
    return peer_ws_send_frame(ws, 0x1, text, strlen(text));
}

/* Opens a WebSocket to "ws://host:port/path": RFC 6455 §4.1 handshake, the server's
 * Sec-WebSocket-Accept checked. 0 or -errno. */
static inline int peer_ws_connect(peer_ws_t *ws, const char *url)
{
    memset(ws, 0, sizeof *ws);
    ws->fd = -1;
    pthread_mutex_init(&ws->wmu, NULL);
    peer_url_t u;
    if (peer_url_parse(url, "ws", &u) < 0)
        return -EINVAL;
    int fd = peer_tcp_connect(&u);
    if (fd < 0)
        return fd;
    uint8_t nonce[16];
    char key[32], req[2048];
    if (RAND_bytes(nonce, sizeof nonce) != 1) {
        close(fd);
        return -EIO;
    }
    EVP_EncodeBlock((unsigned char *)key, nonce, sizeof nonce);
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: %s:%s\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n",
                     u.path, u.host, u.port, key);
    if (n <= 0 || n >= (int)sizeof req || peer_write_all(fd, req, (size_t)n) < 0) {
        close(fd);
        return -EIO;
    }
    char resp[4096];
    size_t head_len = 0, got = 0;
    int ret = peer_http_read_head(fd, resp, sizeof resp, &head_len, &got, 10000);
    int status = 0;
    char accept[64], want[64];
    if (ret == 0 && (sscanf(resp, "HTTP/1.1 %3d", &status) != 1 || status != 101))
        ret = -ECONNREFUSED;
    /* §4.1: the accept value is base64(SHA-1(key + the GUID)). */
    char cat[96];
    uint8_t sha[SHA_DIGEST_LENGTH];
    snprintf(cat, sizeof cat, "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
    SHA1((const unsigned char *)cat, strlen(cat), sha);
    EVP_EncodeBlock((unsigned char *)want, sha, sizeof sha);
    if (ret == 0 && (!peer_http_header(resp, "Sec-WebSocket-Accept", accept, sizeof accept) ||
                     strcmp(accept, want) != 0))
        ret = -EPROTO;
    if (ret < 0) {
        close(fd);
        return ret;
    }
    ws->fd = fd;
    ws->cap = 65536;
    ws->buf = malloc(ws->cap);
    if (!ws->buf) {
        close(fd);
        ws->fd = -1;
        return -ENOMEM;
    }
    ws->len = got - head_len;
    memcpy(ws->buf, resp + head_len, ws->len);
    return 0;
}

/* Waits up to @timeout_ms for a whole text message: 1 and *@msg (NUL-terminated, the caller
 * frees it), 0 on timeout, -ECONNRESET when the connection is closed or broken, -EPROTO on a
 * framing error (the connection is then unusable). */
static inline int peer_ws_recv(peer_ws_t *ws, char **msg, int timeout_ms)
{
    for (;;) {
        /* Parse whatever is buffered. */
        while (ws->len >= 2) {
            const uint8_t *b = ws->buf;
            bool fin = b[0] & 0x80, masked = b[1] & 0x80;
            uint8_t op = b[0] & 0x0F;
            uint64_t pl = b[1] & 0x7F;
            size_t h = 2;
            if (masked || (b[0] & 0x70))
                return -EPROTO; /* §5.1: a server never masks; no extension was agreed */
            if (pl == 126) {
                if (ws->len < 4)
                    break;
                pl = (uint64_t)b[2] << 8 | b[3];
                h = 4;
            } else if (pl == 127) {
                if (ws->len < 10)
                    break;
                pl = 0;
                for (int i = 0; i < 8; i++)
                    pl = pl << 8 | b[2 + i];
                h = 10;
            }
            if (pl > PEER_WS_MAX_MSG)
                return -EPROTO;
            if (h + pl > ws->cap) {
                uint8_t *nb = realloc(ws->buf, h + pl);
                if (!nb)
                    return -ENOMEM;
                ws->buf = nb;
                ws->cap = h + pl;
                b = ws->buf;
            }
            if (ws->len < h + pl)
                break;
            const uint8_t *p = b + h;
            int got = 0;
            if (op == 0x9) { /* Ping: Pong with the same payload (§5.5.3) */
                (void)peer_ws_send_frame(ws, 0xA, p, pl);
            } else if (op == 0x8) { /* Close: echo it (§5.5.1) */
                (void)peer_ws_send_frame(ws, 0x8, p, pl >= 2 ? 2 : 0);
                ws->closed = true;
                return -ECONNRESET;
            } else if (op == 0x1 || op == 0x2 || op == 0x0) {
                if ((op == 0x0) != ws->in_msg || ws->msg_len + pl > PEER_WS_MAX_MSG)
                    return -EPROTO;
                char *nm = realloc(ws->msg, ws->msg_len + pl + 1);
                if (!nm)
                    return -ENOMEM;
                ws->msg = nm;
                memcpy(ws->msg + ws->msg_len, p, pl);
                ws->msg_len += pl;
                ws->in_msg = !fin;
                if (fin) {
                    ws->msg[ws->msg_len] = 0;
                    *msg = ws->msg;
                    ws->msg = NULL;
                    ws->msg_len = 0;
                    got = 1;
                }
            } else if (op != 0xA) {
                return -EPROTO;
            }
            memmove(ws->buf, ws->buf + h + pl, ws->len - h - pl);
            ws->len -= h + pl;
            if (got)
                return 1;
        }
        struct pollfd pf = {.fd = ws->fd, .events = POLLIN};
        int pr = poll(&pf, 1, timeout_ms);
        if (pr == 0)
            return 0;
        if (pr < 0)
            return errno == EINTR ? 0 : -errno;
        if (ws->len == ws->cap) {
            uint8_t *nb = realloc(ws->buf, ws->cap * 2);
            if (!nb)
                return -ENOMEM;
            ws->buf = nb;
            ws->cap *= 2;
        }
        ssize_t r = recv(ws->fd, ws->buf + ws->len, ws->cap - ws->len, 0);
        if (r <= 0)
            return -ECONNRESET;
        ws->len += (size_t)r;
    }
}

/* Sends a Close (1000) if still open and frees everything. */
static inline void peer_ws_close(peer_ws_t *ws)
{
    if (ws->fd >= 0) {
        const uint8_t code[2] = {0x03, 0xE8};
        if (!ws->closed)
            (void)peer_ws_send_frame(ws, 0x8, code, 2);
        pthread_mutex_lock(&ws->wmu);
        ws->closed = true;
        pthread_mutex_unlock(&ws->wmu);
        close(ws->fd);
        ws->fd = -1;
    }
    free(ws->buf);
    free(ws->msg);
    ws->buf = NULL;
    ws->msg = NULL;
    pthread_mutex_destroy(&ws->wmu);
}

#endif
