/* signaling/server.c: the signaling thread. One io_uring ring (created on the thread), one TCP
 * listener, connections that speak HTTP/1.1 until they upgrade to WebSocket, a timer wheel for
 * idle timeouts and keepalive pings, and the room directory. Routes and the protocol are in
 * docs/signaling.md.
 *
 * Re-entrancy rule: a failed send to connection B while handling connection A never closes B
 * on the spot (that could free B while a room walk holds it); B is marked doomed and its timer
 * closes it on the next loop iteration.
 */
#include "signaling/sig_priv.h"

#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SIG_MAX_OUT (2u << 20)  /* queued output per connection before it is dropped */
#define SIG_MAX_FILE (1u << 20) /* largest static file served */
#define SIG_STOP_GRACE_NS NET_NS_PER_SEC

typedef struct ip_slot {
    net_addr_t ip; /* port 0; len 0 when the slot is free */
    uint32_t cnt;
} ip_slot_t;

typedef struct sig_stats {
    uint64_t http_requests, http_4xx, http_5xx;
    uint64_t ws_opened, ws_msgs_in, ws_msgs_out, ws_errors_sent, ws_closed_proto;
    uint64_t conns_rejected, joins, joins_refused, relays;
} sig_stats_t;

struct sig_server {
    sig_cfg_t cfg;
    char *listen, *web_root, *secret;
    eng_t *eng;
    pthread_t thread;
    int stop_fd;
    net_addr_t addr;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int ready; /* 0 starting, 1 listening, -1 failed */

    /* Signaling thread only, from here on. */
    net_ring_t *ring;
    net_tcp_listener_t *lst;
    net_timers_t timers;
    net_op_t stop_op;
    uint64_t stop_buf;
    bool stopping;
    uint64_t now_ns;
    net_list_t conns;
    uint32_t conn_cnt, ws_cnt;
    ip_slot_t *ips;
    sig_rooms_t rooms;
    sig_stats_t st;
    /* WHIP/WHEP sessions on the SFU (cfg.sfu; docs/sfu.md): the engine's event queues are
     * watched through their eventfds. */
    struct sfu_watch *sfu_w;
    struct whip_sess *whip;
    uint32_t whip_cnt, whip_cap;
    uint64_t next_sess;
};

/* A WHIP or WHEP session: an SFU member whose signaling is one HTTP exchange. */
typedef struct whip_sess {
    uint64_t id;          /* the SFU member id (1 << 40 and up: apart from WebSocket ids) */
    struct conn *pending; /* waiting for the answer; NULL once answered or gone */
    bool keep, whep;
    char room[SIG_ROOM_MAX_LEN + 1];
} whip_sess_t;

struct sfu_watch {
    net_op_t op;
    uint64_t buf;
    sig_server_t *s;
    bool armed;
};

typedef struct conn {
    net_list_t node;
    sig_server_t *s;
    net_tcp_conn_t *tcp;
    ip_slot_t *ip;
    net_timer_t timer;
    uint64_t last_rx_ns;
    bool ws, closing, doomed, ping_sent;
    bool close_sent; /* our WebSocket close frame is out: waiting for the client's */
    uint64_t skip;   /* bytes of an oversized frame still to discard */
    sig_ws_t wsr;
    sig_member_t member;
    double tokens; /* message-rate bucket */
    uint64_t tokens_ns;
    uint32_t strikes;
} conn_t;

static void conn_close(conn_t *c, uint16_t ws_code, const char *why);
static void ws_start_close(conn_t *c, uint16_t code, const char *why);

/* ---------------------------------------------------------------------------------------------
 * Output
 */

/* Queues @len bytes; on overflow the connection is doomed (closed on the next iteration). */
static bool conn_send(conn_t *c, const void *p, size_t len)
{
    if (c->closing || c->doomed)
        return false;
    int ret = net_tcp_send(c->tcp, p, len);
    if (ret == 0)
        return true;
    LOG_RATELIMIT(1000, "sig: dropping a connection that does not read its output (%s)",
                  strerror(-ret));
    c->doomed = true;
    net_timer_arm(&c->s->timers, &c->timer, 0);
    return false;
}

static bool ws_send_frame(conn_t *c, uint8_t op, const void *p, size_t len)
{
    if (c->close_sent) /* RFC 6455 §5.5.1: no data frames after a Close */
        return false;
    /* One send per frame, so that a full output buffer never leaves half a frame queued. */
    uint8_t small[1024];
    uint8_t *f = len + 10 <= sizeof small ? small : malloc(len + 10);
    if (!f)
        return false;
    size_t hl = sig_ws_hdr_write(f, op, len);
    if (len)
        memcpy(f + hl, p, len);
    bool ok = conn_send(c, f, hl + len);
    if (f != small)
        free(f);
    return ok;
}

/* Sends and frees @json (NULL: out of memory, nothing sent). */
static void ws_send_json(conn_t *c, char *json)
{
    if (!json)
        return;
    if (ws_send_frame(c, SIG_WS_OP_TEXT, json, strlen(json)))
        c->s->st.ws_msgs_out++;
    free(json);
}

static void ws_send_error(conn_t *c, const char *code, const char *reason, const char *about)
{
    c->s->st.ws_errors_sent++;
    ws_send_json(c, sig_msg_error(code, reason, about));
}

static void http_respond(conn_t *c, int status, const char *ctype, const void *body, size_t len,
                         const char *extra, bool keep, bool head_only)
{
    sig_server_t *s = c->s;
    if (status >= 500)
        s->st.http_5xx++;
    else if (status >= 400)
        s->st.http_4xx++;
    char h[1024];
    int n = snprintf(h, sizeof h,
                     "HTTP/1.1 %d %s\r\nServer: urtc\r\nContent-Length: %zu\r\n"
                     "%s%s%sX-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\n"
                     "%sConnection: %s\r\n\r\n",
                     status, sig_http_reason(status), len, ctype ? "Content-Type: " : "",
                     ctype ? ctype : "", ctype ? "\r\n" : "", extra ? extra : "",
                     keep ? "keep-alive" : "close");
    if (n < 0 || (size_t)n >= sizeof h) {
        conn_close(c, 0, "header overflow");
        return;
    }
    if (!conn_send(c, h, (size_t)n) || (!head_only && len && !conn_send(c, body, len)))
        return;
    if (!keep)
        conn_close(c, 0, NULL);
}

/* A plain-text error answer; @keep false closes after it. */
static void http_error(conn_t *c, int status, const char *detail, const char *extra, bool keep)
{
    char body[256];
    int n = snprintf(body, sizeof body, "%d %s%s%s\n", status, sig_http_reason(status),
                     detail ? ": " : "", detail ? detail : "");
    http_respond(c, status, "text/plain; charset=utf-8", body,
                 (size_t)NET_MIN(n, (int)sizeof body - 1), extra, keep, false);
}

/* ---------------------------------------------------------------------------------------------
 * Rooms
 */

static void room_broadcast(sig_server_t *s, sig_room_t *room, const sig_member_t *except,
                           const char *json)
{
    (void)s;
    if (!json)
        return;
    net_list_t *pos, *tmp;
    net_list_for_each_safe (pos, tmp, &room->members) {
        sig_member_t *m = container_of(pos, sig_member_t, _node);
        if (m == except)
            continue;
        conn_t *o = m->owner;
        if (ws_send_frame(o, SIG_WS_OP_TEXT, json, strlen(json)))
            o->s->st.ws_msgs_out++;
    }
}

static void member_leave(conn_t *c)
{
    sig_server_t *s = c->s;
    sig_room_t *room = c->member.room;
    if (!room)
        return;
    /* An sfu member's peer connection on the server goes with it (docs/sfu.md "Cleanup"). */
    if (room->mode == SIG_MODE_SFU && s->cfg.sfu && eng_sfu_leave(s->cfg.sfu, c->member.id) < 0)
        LOG_DEBUG("sig: member %u had no SFU connection", c->member.id);
    bool last = room->cnt == 1;
    sig_rooms_leave(&s->rooms, &c->member);
    if (last)
        return; /* the room went away with its last member */
    char *json = sig_msg_peer_left(c->member.id);
    room_broadcast(s, room, NULL, json);
    free(json);
}

static uint64_t unix_now(void)
{
    return net_realtime_ns() / NET_NS_PER_SEC;
}

static const char *token_error_reason(int ret)
{
    switch (ret) {
    case -ETIMEDOUT:
        return "the token has expired";
    case -EACCES:
        return "the token is not valid for this room";
    default:
        return "the token is malformed";
    }
}

static void do_join(conn_t *c, sig_msg_t *m)
{
    sig_server_t *s = c->s;
    if (c->member.room) {
        ws_send_error(c, "already-joined", "leave the current room first", "join");
        return;
    }
    s->st.joins_refused++; /* undone below on success */
    if (s->secret) {
        if (!m->token[0]) {
            ws_send_error(c, "unauthorized", "this server needs a room token", "join");
            return;
        }
        int ret = sig_token_check(s->secret, m->room, m->token, strlen(m->token), unix_now());
        if (ret < 0) {
            ws_send_error(c, "forbidden", token_error_reason(ret), "join");
            return;
        }
    }
    sig_room_t *room = sig_rooms_find(&s->rooms, m->room);
    enum sig_mode mode = m->has_mode ? m->mode : room ? room->mode : s->cfg.def_mode;
    if (mode == SIG_MODE_SFU && !s->cfg.sfu) {
        /* Decision (docs/signaling.md "Room modes"): without the SFU media path an sfu join is
         * refused with a clear code and the page joins in p2p instead. */
        ws_send_error(c, "unsupported",
                      "sfu rooms need the server's media path, which is not built yet; join "
                      "with \"mode\": \"p2p\"",
                      "join");
        return;
    }
    snprintf(c->member.name, sizeof c->member.name, "%s", m->name);
    c->member.owner = c;
    int ret = sig_rooms_join(&s->rooms, &c->member, m->room, mode);
    if (ret < 0) {
        const char *code = "server-error", *reason = "cannot join";
        switch (ret) {
        case -ENOSPC:
            code = "room-full", reason = "the room has its maximum of members";
            break;
        case -EMFILE:
            code = "too-many-rooms", reason = "the server has its maximum of rooms";
            break;
        case -EUSERS:
            code = "server-full", reason = "the server has its maximum of members";
            break;
        case -EPROTOTYPE:
            code = "mode-mismatch", reason = "the room exists in another mode";
            break;
        }
        ws_send_error(c, code, reason, "join");
        return;
    }
    s->st.joins_refused--;
    s->st.joins++;
    room = c->member.room;
    sig_member_info_t *others = calloc(room->cnt, sizeof *others);
    size_t n = 0;
    net_list_t *pos, *tmp;
    net_list_for_each_safe (pos, tmp, &room->members) {
        sig_member_t *o = container_of(pos, sig_member_t, _node);
        if (o != &c->member && others)
            others[n++] = (sig_member_info_t){o->id, o->name};
    }
    ws_send_json(c,
                 others ? sig_msg_welcome(c->member.id, room->name, room->mode, others, n) : NULL);
    free(others);
    char *json = sig_msg_peer_joined(c->member.id, c->member.name);
    room_broadcast(s, room, &c->member, json);
    free(json);
    LOG_DEBUG("sig: member %u (%s) joined %s", c->member.id, c->member.name, room->name);
    /* sfu: the server (member id 0) offers next; the client answers with "to": 0. */
    if (room->mode == SIG_MODE_SFU) {
        int r = eng_sfu_join(s->cfg.sfu, c->member.id, room->name, NULL);
        if (r < 0) {
            ws_send_error(c, "server-error", "the media engine cannot take this member", "join");
            member_leave(c);
        }
    }
}

/* offer/answer/candidate with "to": 0 in an sfu room: for the server's end of the member's
 * peer connection. */
static void sfu_from_client(conn_t *c, sig_msg_t *m, const char *about)
{
    eng_sfu_t *sfu = c->s->cfg.sfu;
    json_t *j = m->_json;
    int r;
    if (m->type == SIG_MSG_CANDIDATE) {
        json_t *cand = json_object_get(j, "candidate");
        const char *line =
            json_is_object(cand) ? json_string_value(json_object_get(cand, "candidate")) : NULL;
        r = eng_sfu_candidate(sfu, c->member.id, line);
    } else {
        const char *sdp = json_string_value(json_object_get(j, "sdp"));
        if (!sdp) {
            ws_send_error(c, "bad-message", "\"sdp\" must be a string", about);
            return;
        }
        r = m->type == SIG_MSG_OFFER ? eng_sfu_offer(sfu, c->member.id, sdp)
                                     : eng_sfu_answer(sfu, c->member.id, sdp);
    }
    if (r < 0)
        ws_send_error(c, "server-error", "the media engine refused it", about);
}

static void do_relay(conn_t *c, sig_msg_t *m, const char *about)
{
    sig_room_t *room = c->member.room;
    if (!room) {
        ws_send_error(c, "not-joined", "join a room first", about);
        return;
    }
    if (m->has_to && m->to == c->member.id) {
        ws_send_error(c, "bad-message", "\"to\" is your own id", about);
        return;
    }
    if (room->mode == SIG_MODE_SFU && m->has_to && m->to == 0 && c->s->cfg.sfu &&
        m->type != SIG_MSG_CHAT) {
        sfu_from_client(c, m, about);
        return;
    }
    sig_member_t *t = m->has_to ? sig_room_member(room, m->to) : NULL;
    if (m->has_to && !t) {
        ws_send_error(c, "unknown-peer", "no member with that id in this room", about);
        return;
    }
    char *json = sig_msg_relay(m, c->member.id, c->member.name);
    if (!json) {
        ws_send_error(c, "server-error", "out of memory", about);
        return;
    }
    c->s->st.relays++;
    if (t) {
        conn_t *o = t->owner;
        if (ws_send_frame(o, SIG_WS_OP_TEXT, json, strlen(json)))
            c->s->st.ws_msgs_out++;
    } else {
        room_broadcast(c->s, room, &c->member, json);
    }
    free(json);
}

/* Token bucket: msg_rate per second, burst 2 * msg_rate. */
static bool rate_ok(conn_t *c)
{
    double rate = c->s->cfg.msg_rate, burst = 2.0 * rate;
    uint64_t now = c->s->now_ns;
    c->tokens += (double)(now - c->tokens_ns) * rate / (double)NET_NS_PER_SEC;
    c->tokens_ns = now;
    if (c->tokens > burst)
        c->tokens = burst;
    if (c->tokens >= 1.0) {
        c->tokens -= 1.0;
        return true;
    }
    return false;
}

static void ws_on_text(conn_t *c, const uint8_t *p, size_t len)
{
    sig_server_t *s = c->s;
    s->st.ws_msgs_in++;
    if (!rate_ok(c)) {
        /* A few errors tell a confused client what happens; a flood is cut off (issue 11). */
        if (++c->strikes > 4 * s->cfg.msg_rate)
            ws_start_close(c, SIG_WS_CLOSE_POLICY, "message rate");
        else if (c->strikes <= 8)
            ws_send_error(c, "rate-limited", "too many messages; this one was dropped", NULL);
        return;
    }
    c->strikes = 0;
    sig_msg_t m;
    if (sig_msg_parse((const char *)p, len, &m) < 0) {
        ws_send_error(c, m.err_code, m.err_reason, NULL);
        sig_msg_fini(&m);
        return;
    }
    switch (m.type) {
    case SIG_MSG_JOIN:
        do_join(c, &m);
        break;
    case SIG_MSG_LEAVE:
        if (!c->member.room)
            ws_send_error(c, "not-joined", "not in a room", "leave");
        else
            member_leave(c);
        break;
    case SIG_MSG_OFFER:
        do_relay(c, &m, "offer");
        break;
    case SIG_MSG_ANSWER:
        do_relay(c, &m, "answer");
        break;
    case SIG_MSG_CANDIDATE:
        do_relay(c, &m, "candidate");
        break;
    case SIG_MSG_CHAT:
        do_relay(c, &m, "chat");
        break;
    case SIG_MSG_PING:
        ws_send_json(c, sig_msg_pong());
        break;
    }
    sig_msg_fini(&m);
}

/* ---------------------------------------------------------------------------------------------
 * WebSocket
 */

/* After our Close: skips the rest of an oversized frame, then reads frames only to find the
 * client's Close, and closes TCP at once when it comes (RFC 6455 §7.1.1: the server closes
 * first). Anything unparsable is discarded; the linger timer ends the wait. */
static long ws_drain(conn_t *c, const uint8_t *data, size_t len)
{
    size_t used = (size_t)NET_MIN(c->skip, (uint64_t)len);
    c->skip -= used;
    while (used < len) {
        sig_ws_ev_t ev;
        long n = sig_ws_input(&c->wsr, data + used, len - used, &ev);
        if (n == -EAGAIN)
            return (long)used;
        if (n < 0)
            return (long)len;
        used += (size_t)n;
        if (ev.type == SIG_WS_EV_CLOSE) {
            conn_close(c, 0, NULL);
            return (long)len;
        }
    }
    return (long)used;
}

static long ws_on_data(conn_t *c, const uint8_t *data, size_t len)
{
    if (c->close_sent)
        return ws_drain(c, data, len);
    size_t used = 0;
    while (!c->closing && !c->close_sent && used < len) {
        sig_ws_ev_t ev;
        long n = sig_ws_input(&c->wsr, data + used, len - used, &ev);
        if (n == -EAGAIN)
            break;
        if (n < 0) {
            c->s->st.ws_closed_proto++;
            ws_start_close(c, c->wsr.fail_code,
                           n == -EILSEQ     ? "invalid UTF-8"
                           : n == -EMSGSIZE ? "message too big"
                                            : "protocol error");
            if (n != -EMSGSIZE)
                return (long)len;
            c->skip = c->wsr.skip_len;
            return (long)used + ws_drain(c, data + used, len - used);
        }
        used += (size_t)n;
        c->last_rx_ns = c->s->now_ns;
        c->ping_sent = false;
        switch (ev.type) {
        case SIG_WS_EV_TEXT:
            ws_on_text(c, ev.p, ev.len);
            break;
        case SIG_WS_EV_BINARY:
            ws_send_error(c, "bad-message", "binary messages are not used; send JSON text", NULL);
            break;
        case SIG_WS_EV_PING: /* §5.5.2: a Pong with the Ping's payload, as soon as practical */
            ws_send_frame(c, SIG_WS_OP_PONG, ev.p, ev.len);
            break;
        case SIG_WS_EV_CLOSE: /* §5.5.1: echo the status code, then the server closes TCP */
            conn_close(c, ev.code == SIG_WS_CLOSE_NO_STATUS ? 0 : ev.code, NULL);
            return (long)len;
        case SIG_WS_EV_PONG:
        case SIG_WS_EV_NONE:
            break;
        }
    }
    return (long)used;
}

/* The value of Origin's host part equals Host: the page was served by us (cross-site
 * WebSocket hijacking defence; browsers always send Origin, other clients need not). */
static bool origin_ok(const sig_http_req_t *req)
{
    const net_view_t *origin = sig_http_hdr(req, "origin"), *host = sig_http_hdr(req, "host");
    if (!origin)
        return true;
    net_view_t o = *origin;
    if (o.len > 7 && strncasecmp((const char *)o.p, "http://", 7) == 0)
        o.p += 7, o.len -= 7;
    else if (o.len > 8 && strncasecmp((const char *)o.p, "https://", 8) == 0)
        o.p += 8, o.len -= 8;
    else
        return false;
    return host && o.len == host->len &&
           strncasecmp((const char *)o.p, (const char *)host->p, o.len) == 0;
}

static void ws_upgrade(conn_t *c, const sig_http_req_t *req)
{
    sig_server_t *s = c->s;
    /* RFC 6455 §4.2.1: GET, HTTP/1.1 or higher, Upgrade: websocket, Connection: Upgrade,
     * Sec-WebSocket-Key (base64 of 16 bytes), Sec-WebSocket-Version: 13. */
    if (!net_view_eq_str(req->method, "GET")) {
        http_error(c, 405, "WebSocket needs GET", "Allow: GET\r\n", req->keep_alive);
        return;
    }
    const net_view_t *up = sig_http_hdr(req, "upgrade"), *conn = sig_http_hdr(req, "connection");
    if (req->minor < 1 || !up || !sig_http_has_token(*up, "websocket") || !conn ||
        !sig_http_has_token(*conn, "upgrade")) {
        http_error(c, 426, "this is the WebSocket endpoint",
                   "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n", req->keep_alive);
        return;
    }
    const net_view_t *ver = sig_http_hdr(req, "sec-websocket-version");
    if (!ver || !net_view_eq_str(*ver, "13")) { /* §4.2.2: 426 and the versions we speak */
        http_error(c, 426, "WebSocket version 13 only", "Sec-WebSocket-Version: 13\r\n",
                   req->keep_alive);
        return;
    }
    const net_view_t *key = sig_http_hdr(req, "sec-websocket-key");
    char accept[SIG_WS_ACCEPT_LEN + 1];
    if (!key || sig_ws_accept(*key, accept) < 0) {
        http_error(c, 400, "bad Sec-WebSocket-Key", NULL, false);
        return;
    }
    if (!origin_ok(req)) {
        http_error(c, 403, "Origin does not match Host", NULL, false);
        return;
    }
    if (s->ws_cnt >= s->cfg.max_peers) {
        http_error(c, 503, "too many WebSocket connections", NULL, false);
        return;
    }
    char h[256];
    int n = snprintf(h, sizeof h,
                     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                     accept);
    if (!conn_send(c, h, (size_t)n))
        return;
    c->ws = true;
    s->ws_cnt++;
    s->st.ws_opened++;
    sig_ws_init(&c->wsr, s->cfg.ws_max_msg);
    c->tokens = 2.0 * s->cfg.msg_rate;
    c->tokens_ns = s->now_ns;
    c->last_rx_ns = s->now_ns;
    net_timer_arm(&s->timers, &c->timer, s->now_ns + s->cfg.ws_ping_ms * NET_NS_PER_MS);
}

/* ---------------------------------------------------------------------------------------------
 * HTTP routes
 */

typedef struct sbuf {
    char *p;
    size_t len, cap;
    bool oom;
} sbuf_t;

__attribute__((format(printf, 2, 3))) static void sb_printf(sbuf_t *b, const char *fmt, ...)
{
    for (;;) {
        if (b->oom)
            return;
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = true;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = NET_MAX(b->cap * 2, b->len + (size_t)n + 1);
        char *nb = realloc(b->p, cap);
        if (!nb) {
            b->oom = true;
            return;
        }
        b->p = nb;
        b->cap = cap;
    }
}

static void metric_head(sbuf_t *b, const char *name, const char *type, const char *help)
{
    sb_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void metric(sbuf_t *b, const char *name, const char *type, const char *help, uint64_t v)
{
    metric_head(b, name, type, help);
    sb_printf(b, "%s %" PRIu64 "\n", name, v);
}

static const char *drop_reason(int i)
{
    return eng_drop_name((enum eng_drop)i);
}

static const char *dtls_reason(int i)
{
    return eng_dtls_fail_name((enum eng_dtls_fail)i);
}

static const char *ice_reason(int i)
{
    return eng_ice_fail_name((enum eng_ice_fail)i);
}

/* A counter with a series per shard and reason: the @cnt uint64_t at offset @off of each
 * shard's counters (@cs may be NULL: no series). */
static void metric_by_reason(sbuf_t *b, const char *name, const char *help,
                             const eng_counters_t *cs, uint32_t shards, size_t off, int cnt,
                             const char *(*reason)(int))
{
    metric_head(b, name, "counter", help);
    for (uint32_t i = 0; cs && i < shards; i++)
        for (int d = 0; d < cnt; d++) {
            uint64_t v;
            memcpy(&v, (const char *)&cs[i] + off + (size_t)d * sizeof v, sizeof v);
            sb_printf(b, "%s{shard=\"%u\",reason=\"%s\"} %" PRIu64 "\n", name, i, reason(d), v);
        }
}

/* Prometheus text exposition format 0.0.4. */
static void serve_metrics(conn_t *c, const sig_http_req_t *req, bool head)
{
    sig_server_t *s = c->s;
    sbuf_t b = {.cap = 8192};
    b.p = malloc(b.cap);
    b.oom = !b.p;
    metric(&b, "urtc_peers", "gauge", "Members in rooms (signaling view).", s->rooms.peer_cnt);
    metric(&b, "urtc_rooms", "gauge", "Rooms with at least one member.", s->rooms.room_cnt);
    metric(&b, "urtc_signaling_connections", "gauge", "Open TCP connections.", s->conn_cnt);
    metric(&b, "urtc_signaling_websockets", "gauge", "Open WebSocket connections.", s->ws_cnt);
    metric(&b, "urtc_http_requests_total", "counter", "HTTP requests parsed.", s->st.http_requests);
    metric_head(&b, "urtc_http_errors_total", "counter", "HTTP error answers by class.");
    sb_printf(&b, "urtc_http_errors_total{class=\"4xx\"} %" PRIu64 "\n", s->st.http_4xx);
    sb_printf(&b, "urtc_http_errors_total{class=\"5xx\"} %" PRIu64 "\n", s->st.http_5xx);
    metric(&b, "urtc_connections_rejected_total", "counter",
           "Connections refused by the total or per-IP limit.", s->st.conns_rejected);
    metric(&b, "urtc_ws_opened_total", "counter", "WebSocket handshakes completed.",
           s->st.ws_opened);
    metric_head(&b, "urtc_ws_messages_total", "counter", "Signaling messages by direction.");
    sb_printf(&b, "urtc_ws_messages_total{dir=\"in\"} %" PRIu64 "\n", s->st.ws_msgs_in);
    sb_printf(&b, "urtc_ws_messages_total{dir=\"out\"} %" PRIu64 "\n", s->st.ws_msgs_out);
    metric(&b, "urtc_ws_error_replies_total", "counter", "error messages sent to clients.",
           s->st.ws_errors_sent);
    metric(&b, "urtc_ws_protocol_closes_total", "counter",
           "WebSocket connections failed for a protocol error, bad UTF-8 or size.",
           s->st.ws_closed_proto);
    metric(&b, "urtc_joins_total", "counter", "Successful joins.", s->st.joins);
    metric(&b, "urtc_joins_refused_total", "counter", "Refused joins (token, caps, mode).",
           s->st.joins_refused);
    metric(&b, "urtc_relayed_messages_total", "counter",
           "offer/answer/candidate/chat messages relayed.", s->st.relays);

    uint32_t shards = s->eng ? eng_shard_count(s->eng) : 0;
    metric(&b, "urtc_shards", "gauge", "Engine shard threads.", shards);
    static const struct {
        const char *name, *help;
        size_t off;
    } per[] = {
        {"urtc_shard_rx_packets_total", "UDP datagrams received.",
         offsetof(eng_counters_t, rx_pkts)},
        {"urtc_shard_rx_bytes_total", "UDP bytes received.", offsetof(eng_counters_t, rx_bytes)},
        {"urtc_shard_tx_packets_total", "UDP datagrams sent.", offsetof(eng_counters_t, tx_pkts)},
        {"urtc_shard_tx_bytes_total", "UDP bytes sent.", offsetof(eng_counters_t, tx_bytes)},
    };
    eng_counters_t *cs = shards ? calloc(shards, sizeof *cs) : NULL;
    for (uint32_t i = 0; cs && i < shards; i++)
        eng_counters_get(s->eng, i, &cs[i]);
    for (size_t k = 0; k < NET_ARRAY_LEN(per); k++) {
        metric_head(&b, per[k].name, "counter", per[k].help);
        for (uint32_t i = 0; cs && i < shards; i++) {
            uint64_t v;
            memcpy(&v, (const char *)&cs[i] + per[k].off, sizeof v);
            sb_printf(&b, "%s{shard=\"%u\"} %" PRIu64 "\n", per[k].name, i, v);
        }
    }
    metric_by_reason(&b, "urtc_shard_drops_total", "Datagrams a shard dropped, by reason.", cs,
                     shards, offsetof(eng_counters_t, drop), ENG_DROP__COUNT, drop_reason);
    /* The engine's peers: the SFU's members and any API peer connection on these shards. */
    metric_head(&b, "urtc_dtls_handshakes_total", "counter",
                "DTLS handshakes completed (SRTP keys installed) by the server's peers.");
    for (uint32_t i = 0; cs && i < shards; i++)
        sb_printf(&b, "urtc_dtls_handshakes_total{shard=\"%u\"} %" PRIu64 "\n", i,
                  cs[i].dtls_handshakes);
    metric_by_reason(&b, "urtc_dtls_failures_total",
                     "Peers whose DTLS failed, by reason (alert, fingerprint mismatch, timeout, no "
                     "SRTP profile).",
                     cs, shards, offsetof(eng_counters_t, dtls_fail), ENG_DTLS_FAIL__COUNT,
                     dtls_reason);
    metric_by_reason(&b, "urtc_ice_failures_total",
                     "Peers whose ICE failed, by reason (checks: never connected; consent: the "
                     "path was lost).",
                     cs, shards, offsetof(eng_counters_t, ice_fail), ENG_ICE_FAIL__COUNT,
                     ice_reason);
    free(cs);
    /* The server's own peer connections are the SFU's (docs/sfu.md); without it, zeros. */
    eng_sfu_stats_t fs = {0};
    if (s->cfg.sfu)
        eng_sfu_stats_get(s->cfg.sfu, &fs);
    metric(&b, "urtc_sfu_members", "gauge", "Members with a peer connection on the SFU.",
           fs.members);
    metric(&b, "urtc_sfu_forwarded_packets_total", "counter",
           "RTP packets forwarded to subscribers.", fs.fwd_pkts);
    metric(&b, "urtc_sfu_forwarded_bytes_total", "counter", "RTP bytes forwarded to subscribers.",
           fs.fwd_bytes);
    metric(&b, "urtc_sfu_retransmissions_total", "counter",
           "Packets resent (RTX) for subscribers' NACKs.", fs.rtx_sent);
    metric(&b, "urtc_sfu_pli_sent_total", "counter", "PLIs sent to publishers.", fs.pli_tx);
    metric(&b, "urtc_sfu_cross_shard_packets_total", "counter",
           "Packets passed by reference to another shard.", fs.xshard_fwd);
    metric_head(&b, "urtc_sfu_drops_total", "counter",
                "Packets not forwarded, by reason: pool empty, waiting for a keyframe, leg not "
                "negotiated or subscriber not connected, cross-shard ring full.");
    sb_printf(&b,
              "urtc_sfu_drops_total{reason=\"nobufs\"} %" PRIu64 "\n"
              "urtc_sfu_drops_total{reason=\"wait_key\"} %" PRIu64 "\n"
              "urtc_sfu_drops_total{reason=\"not_ready\"} %" PRIu64 "\n"
              "urtc_sfu_drops_total{reason=\"ring_full\"} %" PRIu64 "\n",
              fs.drop_nobufs, fs.drop_wait_key, fs.drop_not_ready, fs.xshard_drop);
    metric(&b, "urtc_sfu_chat_held_total", "counter",
           "Chat messages held for a member until its channel opened.", fs.chat_held);
    metric(&b, "urtc_sfu_chat_dropped_total", "counter",
           "Chat messages not relayed: a member's held queue was full, or its channel refused "
           "the message.",
           fs.chat_dropped);
    if (b.oom)
        http_error(c, 500, "out of memory", NULL, false);
    else
        http_respond(c, 200, "text/plain; version=0.0.4; charset=utf-8", b.p, b.len, NULL,
                     req->keep_alive, head);
    free(b.p);
}

static void serve_file(conn_t *c, const sig_http_req_t *req, bool head)
{
    char path[512];
    int n = sig_http_path_clean(req->path, path, sizeof path);
    if (n < 0) {
        http_error(c, n == -ENOSPC ? 414 : 400, "bad path", NULL, req->keep_alive);
        return;
    }
    const char *rel = n == 1 ? "/index.html" : path;
    char full[1024];
    if (snprintf(full, sizeof full, "%s%s", c->s->web_root, rel) >= (int)sizeof full) {
        http_error(c, 404, NULL, NULL, req->keep_alive);
        return;
    }
    /* O_NOFOLLOW: a symlink as the last component is refused too. */
    int fd = open(full, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat stt;
    if (fd < 0 || fstat(fd, &stt) < 0 || !S_ISREG(stt.st_mode) || stt.st_size > SIG_MAX_FILE) {
        if (fd >= 0)
            close(fd);
        http_error(c, 404, NULL, NULL, req->keep_alive);
        return;
    }
    size_t len = (size_t)stt.st_size, got = 0;
    char *buf = malloc(len ? len : 1);
    while (buf && got < len) {
        ssize_t r = read(fd, buf + got, len - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (!buf || got != len) {
        free(buf);
        http_error(c, 500, "cannot read the file", NULL, false);
        return;
    }
    const char *mime = sig_http_mime(rel);
    /* The page loads nothing from other hosts; the policy makes the browser hold it to that. */
    const char *csp =
        strncmp(mime, "text/html", 9) == 0
            ? "Content-Security-Policy: default-src 'self'; connect-src 'self' "
              "ws: wss:; img-src 'self' data:; media-src 'self' blob: mediastream:\r\n"
            : NULL;
    http_respond(c, 200, mime, buf, len, csp, req->keep_alive, head);
    free(buf);
}

/* POST /whip/ROOM and POST /whep/ROOM (RFC 9725). */
static void serve_whip(conn_t *c, const sig_http_req_t *req, const uint8_t *body, bool whep)
{
    sig_server_t *s = c->s;
    net_view_t rest = {req->path.p + 6, req->path.len - 6};
    const char *allow = "Allow: POST, OPTIONS\r\n";
    char room[SIG_ROOM_MAX_LEN + 1];
    const uint8_t *slash = memchr(rest.p, '/', rest.len);
    if (slash) {
        /* A session URL: DELETE ends it (RFC 9725 §4.3). PATCH trickle is not supported. */
        whip_sess_t *w = NULL;
        char idbuf[24];
        size_t idlen = rest.len - (size_t)(slash + 1 - rest.p);
        if (idlen && idlen < sizeof idbuf) {
            memcpy(idbuf, slash + 1, idlen);
            idbuf[idlen] = 0;
            char *end;
            unsigned long long id = strtoull(idbuf, &end, 10);
            for (uint32_t i = 0; !*end && i < s->whip_cnt && !w; i++)
                if (s->whip[i].id == id && s->whip[i].whep == whep)
                    w = &s->whip[i];
        }
        if (!w) {
            http_error(c, 404, "no such session", NULL, req->keep_alive);
            return;
        }
        if (!net_view_eq_str(req->method, "DELETE")) {
            http_error(c, 405, NULL, "Allow: DELETE\r\n", req->keep_alive);
            return;
        }
        if (eng_sfu_leave(s->cfg.sfu, w->id) < 0)
            LOG_DEBUG("sig: WHIP session %llu already gone", (unsigned long long)w->id);
        *w = s->whip[--s->whip_cnt];
        http_respond(c, 200, NULL, NULL, 0, NULL, req->keep_alive, false);
        return;
    }
    if (!sig_room_name_ok((const char *)rest.p, rest.len)) {
        http_error(c, 404, "bad room name", NULL, req->keep_alive);
        return;
    }
    memcpy(room, rest.p, rest.len);
    room[rest.len] = 0;
    if (net_view_eq_str(req->method, "OPTIONS")) {
        http_respond(c, 204, NULL, NULL, 0,
                     "Allow: POST, OPTIONS\r\nAccept-Post: application/sdp\r\n", req->keep_alive,
                     false);
        return;
    }
    if (!net_view_eq_str(req->method, "POST")) {
        http_error(c, 405, NULL, allow, req->keep_alive);
        return;
    }
    if (s->secret) { /* RFC 9725 §4.5: Bearer token in Authorization */
        const net_view_t *auth = sig_http_hdr(req, "authorization");
        if (!auth || auth->len < 8 || strncasecmp((const char *)auth->p, "Bearer ", 7) != 0) {
            http_error(c, 401, "a room token is required (Authorization: Bearer TOKEN)",
                       "WWW-Authenticate: Bearer\r\n", req->keep_alive);
            return;
        }
        int ret =
            sig_token_check(s->secret, room, (const char *)auth->p + 7, auth->len - 7, unix_now());
        if (ret < 0) {
            http_error(c, 403, token_error_reason(ret), NULL, req->keep_alive);
            return;
        }
    }
    const net_view_t *ct = sig_http_hdr(req, "content-type");
    if (!ct || ct->len < 15 || strncasecmp((const char *)ct->p, "application/sdp", 15) != 0) {
        http_error(c, 415, "the offer must be application/sdp", "Accept-Post: application/sdp\r\n",
                   req->keep_alive);
        return;
    }
    if (req->content_len == 0 || !body) {
        http_error(c, 400, "empty offer", NULL, req->keep_alive);
        return;
    }
    if (!s->cfg.sfu) {
        http_error(c, 501, "this server runs without the SFU media path", NULL, req->keep_alive);
        return;
    }
    /* The offer joins the room as an SFU member; the answer comes back as an engine event
     * (sfu_drain), which completes this request with 201, Location and the answer. WHIP
     * publishes what the offer sends; WHEP receives the room's publishers on the sections it
     * offered to receive. */
    if (s->whip_cnt == s->whip_cap) {
        uint32_t cap = s->whip_cap ? s->whip_cap * 2 : 16;
        whip_sess_t *n = realloc(s->whip, cap * sizeof *n);
        if (!n) {
            http_error(c, 503, "out of memory", NULL, false);
            return;
        }
        s->whip = n;
        s->whip_cap = cap;
    }
    char *offer = malloc(req->content_len + 1);
    if (!offer) {
        http_error(c, 503, "out of memory", NULL, false);
        return;
    }
    memcpy(offer, body, req->content_len);
    offer[req->content_len] = 0;
    uint64_t id = (1ull << 40) + ++s->next_sess;
    int ret = eng_sfu_join(s->cfg.sfu, id, room, offer);
    free(offer);
    if (ret < 0) {
        http_error(c, 503, "the media engine is busy", "Retry-After: 1\r\n", req->keep_alive);
        return;
    }
    whip_sess_t *w = &s->whip[s->whip_cnt++];
    *w = (whip_sess_t){.id = id, .pending = c, .keep = req->keep_alive, .whep = whep};
    snprintf(w->room, sizeof w->room, "%s", room);
}

static whip_sess_t *whip_find(sig_server_t *s, uint64_t id)
{
    for (uint32_t i = 0; i < s->whip_cnt; i++)
        if (s->whip[i].id == id)
            return &s->whip[i];
    return NULL;
}

/* An engine event for a WebSocket member of an sfu room: as a message from member 0. */
static void sfu_to_client(sig_server_t *s, const eng_sfu_ev_t *ev)
{
    conn_t *c = NULL;
    net_list_t *pos, *tmp;
    net_list_for_each_safe (pos, tmp, &s->conns) {
        conn_t *o = container_of(pos, conn_t, node);
        if (o->ws && o->member.room && o->member.id == ev->member) {
            c = o;
            break;
        }
    }
    if (!c)
        return; /* it left meanwhile */
    json_t *j = NULL;
    switch (ev->type) {
    case ENG_SFU_EV_OFFER:
    case ENG_SFU_EV_ANSWER:
        j = json_pack("{s:s, s:i, s:s}", "type", ev->type == ENG_SFU_EV_OFFER ? "offer" : "answer",
                      "from", 0, "sdp", ev->text ? ev->text : "");
        break;
    case ENG_SFU_EV_CANDIDATE:
        j = ev->text
                ? json_pack("{s:s, s:i, s:{s:s, s:s, s:i}}", "type", "candidate", "from", 0,
                            "candidate", "candidate", ev->text, "sdpMid", "0", "sdpMLineIndex", 0)
                : json_pack("{s:s, s:i, s:n}", "type", "candidate", "from", 0, "candidate");
        break;
    case ENG_SFU_EV_ERROR:
        ws_send_error(c, "media-error", ev->text ? ev->text : "the media engine failed", NULL);
        return;
    case ENG_SFU_EV_GONE:
        /* The server's end went away (consent expiry, DTLS closed): the member may join again. */
        ws_send_error(c, "media-ended", "the server's peer connection closed", NULL);
        return;
    default:
        return;
    }
    ws_send_json(c, j ? json_dumps(j, JSON_COMPACT) : NULL);
    json_decref(j);
}

/* Engine events for WHIP/WHEP sessions. Signaling thread. */
static void sfu_drain(sig_server_t *s)
{
    eng_sfu_ev_t ev;
    while (eng_sfu_poll(s->cfg.sfu, &ev)) {
        whip_sess_t *w = whip_find(s, ev.member);
        if (!w) {
            sfu_to_client(s, &ev);
            free(ev.text);
            continue;
        }
        switch (ev.type) {
        case ENG_SFU_EV_ANSWER:
            if (w->pending && ev.text) {
                char loc[128];
                snprintf(loc, sizeof loc, "Location: /%s/%s/%llu\r\n", w->whep ? "whep" : "whip",
                         w->room, (unsigned long long)w->id);
                conn_t *c = w->pending;
                w->pending = NULL;
                http_respond(c, 201, "application/sdp", ev.text, strlen(ev.text), loc, w->keep,
                             false);
            }
            break;
        case ENG_SFU_EV_ERROR:
            if (w->pending) {
                conn_t *c = w->pending;
                w->pending = NULL;
                http_error(c, 400, ev.text ? ev.text : "offer refused", NULL, w->keep);
            }
            break;
        case ENG_SFU_EV_OFFER:
            /* Renegotiation needs a signaling channel, which WHIP/WHEP do not have: the session
             * keeps what its first exchange set up. */
            LOG_DEBUG("sig: WHIP/WHEP session %llu: server offer not deliverable",
                      (unsigned long long)w->id);
            break;
        case ENG_SFU_EV_GONE:
            if (w->pending)
                http_error(w->pending, 500, "the session ended", NULL, false);
            *w = s->whip[--s->whip_cnt];
            break;
        default:
            break;
        }
        free(ev.text);
    }
}

static void on_sfu_event(net_op_t *op, int res, uint32_t flags, bool more)
{
    (void)res, (void)flags, (void)more;
    struct sfu_watch *w = container_of(op, struct sfu_watch, op);
    w->armed = false; /* drained and re-armed in the loop */
}

static void sfu_watch_arm(sig_server_t *s)
{
    uint32_t n = s->cfg.sfu && s->sfu_w ? eng_shard_count(s->eng) : 0;
    for (uint32_t i = 0; i < n; i++) {
        struct sfu_watch *w = &s->sfu_w[i];
        if (w->armed)
            continue;
        w->s = s;
        w->op.fn = on_sfu_event;
        if (net_ring_read(s->ring, &w->op, eng_sfu_event_fd(s->cfg.sfu, i), &w->buf,
                          sizeof w->buf) == 0)
            w->armed = true;
    }
}

static bool path_is(net_view_t p, const char *s)
{
    return net_view_eq_str(p, s);
}

static bool path_prefix(net_view_t p, const char *s)
{
    size_t n = strlen(s);
    return p.len > n && memcmp(p.p, s, n) == 0;
}

static void http_handle(conn_t *c, const sig_http_req_t *req, const uint8_t *body)
{
    c->s->st.http_requests++;
    bool get = net_view_eq_str(req->method, "GET"), head = net_view_eq_str(req->method, "HEAD");
    if (path_is(req->path, "/ws")) {
        ws_upgrade(c, req);
        return;
    }
    if (path_prefix(req->path, "/whip/") || path_prefix(req->path, "/whep/")) {
        serve_whip(c, req, body, req->path.p[3] == 'e');
        return;
    }
    if (!get && !head) {
        http_error(c, 405, NULL, "Allow: GET, HEAD\r\n", req->keep_alive);
        return;
    }
    if (path_is(req->path, "/healthz"))
        http_respond(c, 200, "text/plain; charset=utf-8", "ok\n", 3, NULL, req->keep_alive, head);
    else if (path_is(req->path, "/metrics"))
        serve_metrics(c, req, head);
    else
        serve_file(c, req, head);
}

static long http_on_data(conn_t *c, const uint8_t *data, size_t len)
{
    sig_server_t *s = c->s;
    size_t used = 0;
    while (!c->closing && !c->ws && used < len) {
        sig_http_req_t req;
        int n = sig_http_parse(data + used, len - used, &req);
        if (n == -EAGAIN)
            break;
        if (n < 0) {
            switch (n) {
            case -EMSGSIZE:
                http_error(c, 431, "request head too long", NULL, false);
                break;
            case -E2BIG:
                http_error(c, 431, "too many header fields", NULL, false);
                break;
            case -ENOTSUP:
                http_error(c, 501, "Transfer-Encoding is not supported", NULL, false);
                break;
            case -EPROTONOSUPPORT:
                http_error(c, 505, NULL, NULL, false);
                break;
            default:
                http_error(c, 400, "malformed request", NULL, false);
                break;
            }
            return (long)len;
        }
        if (req.content_len > SIG_HTTP_MAX_BODY) {
            http_error(c, 413, "body too large", NULL, false);
            return (long)len;
        }
        if (len - used - (size_t)n < req.content_len)
            break; /* wait for the whole body */
        const uint8_t *body = req.content_len ? data + used + n : NULL;
        http_handle(c, &req, body);
        used += (size_t)n + (size_t)req.content_len;
        if (!c->ws && !c->closing)
            net_timer_arm(&s->timers, &c->timer, s->now_ns + s->cfg.http_idle_ms * NET_NS_PER_MS);
    }
    if (c->ws && !c->closing && used < len) {
        long n = ws_on_data(c, data + used, len - used);
        if (n < 0)
            return n;
        used += (size_t)n;
    }
    return (long)used;
}

/* ---------------------------------------------------------------------------------------------
 * Connections
 */

static long conn_on_data(void *arg, net_tcp_conn_t *tc, const uint8_t *data, size_t len)
{
    (void)tc;
    conn_t *c = arg;
    c->s->now_ns = net_clock_ns();
    if (c->closing)
        return (long)len;
    return c->ws ? ws_on_data(c, data, len) : http_on_data(c, data, len);
}

static void conn_on_close(void *arg, net_tcp_conn_t *tc, int err)
{
    (void)tc, (void)err;
    conn_t *c = arg;
    sig_server_t *s = c->s;
    c->closing = true;
    member_leave(c);
    for (uint32_t i = 0; i < s->whip_cnt; i++)
        if (s->whip[i].pending == c)
            s->whip[i].pending = NULL; /* the session stays until DELETE or the SFU drops it */
    net_timer_cancel(&s->timers, &c->timer);
    if (c->ws) {
        sig_ws_fini(&c->wsr);
        s->ws_cnt--;
    }
    if (c->ip && --c->ip->cnt == 0)
        c->ip->ip.len = 0;
    net_list_del(&c->node);
    s->conn_cnt--;
    free(c);
}

/* Sends our Close frame once; @code 0 sends an empty one. */
static void ws_close_frame(conn_t *c, uint16_t code, const char *why)
{
    if (c->close_sent)
        return;
    uint8_t body[2 + 32];
    size_t n = 0;
    if (code) {
        net_wr16be(body, code);
        n = 2;
        if (why) {
            size_t w = NET_MIN(strlen(why), sizeof body - 2);
            memcpy(body + 2, why, w);
            n += w;
        }
    }
    ws_send_frame(c, SIG_WS_OP_CLOSE, body, n);
    c->close_sent = true;
}

/* Starts the closing handshake (RFC 6455 §7.1.2): our Close now, peers hear peer-left now, and
 * TCP closes when the client's Close arrives or after a second. Closing TCP at once would make
 * the kernel answer a client still sending with a RST, and the client would lose our Close. */
static void ws_start_close(conn_t *c, uint16_t code, const char *why)
{
    if (c->closing || c->close_sent)
        return;
    ws_close_frame(c, code, why);
    member_leave(c);
    net_timer_arm(&c->s->timers, &c->timer, c->s->now_ns + NET_NS_PER_SEC);
}

/* Leaves the room (peers hear peer-left now), sends a WebSocket close with @ws_code (0: none
 * or an empty one), then closes the TCP connection once output is out. */
static void conn_close(conn_t *c, uint16_t ws_code, const char *why)
{
    if (c->closing)
        return;
    if (c->ws)
        ws_close_frame(c, ws_code, why);
    member_leave(c);
    c->closing = true;
    net_timer_cancel(&c->s->timers, &c->timer);
    net_tcp_close(c->tcp); /* may run conn_on_close (and free @c) right here */
}

static void conn_on_timer(net_timer_t *t, uint64_t now_ns)
{
    conn_t *c = container_of(t, conn_t, timer);
    sig_server_t *s = c->s;
    if (c->doomed) {
        c->doomed = false; /* lets the close frame through if there is room */
        conn_close(c, SIG_WS_CLOSE_POLICY, "slow reader");
        return;
    }
    if (!c->ws || c->close_sent) {
        conn_close(c, 0, "idle"); /* no complete request in time, or no Close answer */
        return;
    }
    uint64_t ping_ns = s->cfg.ws_ping_ms * NET_NS_PER_MS;
    if (c->ping_sent && now_ns - c->last_rx_ns >= ping_ns) {
        conn_close(c, SIG_WS_CLOSE_GOING_AWAY, "idle");
        return;
    }
    if (now_ns - c->last_rx_ns >= ping_ns) {
        ws_send_frame(c, SIG_WS_OP_PING, "k", 1);
        c->ping_sent = true;
    }
    net_timer_arm(&s->timers, &c->timer, now_ns + ping_ns);
}

static ip_slot_t *ip_slot(sig_server_t *s, const net_addr_t *peer)
{
    ip_slot_t *free_slot = NULL;
    for (uint32_t i = 0; i < s->cfg.max_conns; i++) {
        ip_slot_t *e = &s->ips[i];
        if (e->ip.len && net_addr_ip_eq(&e->ip, peer))
            return e;
        if (!e->ip.len && !free_slot)
            free_slot = e;
    }
    if (free_slot) {
        free_slot->ip = *peer;
        net_addr_set_port(&free_slot->ip, 0);
        free_slot->cnt = 0;
    }
    return free_slot;
}

static void refuse(int fd, const char *resp)
{
    /* Best effort and non-blocking: the connection is dropped either way. */
    ssize_t r = send(fd, resp, strlen(resp), MSG_DONTWAIT | MSG_NOSIGNAL);
    (void)r;
    close(fd);
}

static void on_accept(void *arg, int fd, const net_addr_t *peer)
{
    sig_server_t *s = arg;
    s->now_ns = net_clock_ns();
    ip_slot_t *ip = peer->len ? ip_slot(s, peer) : NULL;
    if (s->stopping || s->conn_cnt >= s->cfg.max_conns || (peer->len && !ip) ||
        (ip && ip->cnt >= s->cfg.max_conns_ip)) {
        s->st.conns_rejected++;
        LOG_RATELIMIT(1000, "sig: connection refused (limit)");
        if (ip && ip->cnt == 0)
            ip->ip.len = 0;
        refuse(fd, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 21\r\n"
                   "Connection: close\r\n\r\ntoo many connections\n");
        return;
    }
    conn_t *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return;
    }
    c->s = s;
    c->ip = ip;
    net_timer_init(&c->timer, conn_on_timer);
    net_tcp_conn_cbs_t cbs = {conn_on_data, conn_on_close};
    size_t max_in =
        NET_MAX((size_t)SIG_HTTP_MAX_HDR_LEN + SIG_HTTP_MAX_BODY, (size_t)s->cfg.ws_max_msg + 16) +
        1;
    c->tcp = net_tcp_conn_create(s->ring, fd, &cbs, c, max_in, SIG_MAX_OUT);
    if (!c->tcp) {
        if (ip && ip->cnt == 0)
            ip->ip.len = 0;
        free(c);
        return;
    }
    if (ip)
        ip->cnt++;
    net_list_add_tail(&s->conns, &c->node);
    s->conn_cnt++;
    net_timer_arm(&s->timers, &c->timer, s->now_ns + s->cfg.http_idle_ms * NET_NS_PER_MS);
}

/* ---------------------------------------------------------------------------------------------
 * The thread
 */

static void on_stop(net_op_t *op, int res, uint32_t flags, bool more)
{
    (void)res, (void)flags, (void)more;
    container_of(op, sig_server_t, stop_op)->stopping = true;
}

static void set_ready(sig_server_t *s, int v)
{
    pthread_mutex_lock(&s->mu);
    s->ready = v;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

static void *sig_thread(void *arg)
{
    sig_server_t *s = arg;
    net_log_set_tag("sig");
    net_addr_t a;
    s->ring = net_ring_create(512);
    if (!s->ring)
        goto fail;
    if (net_addr_parse(&a, s->listen, 8080) < 0) {
        LOG_ERROR("sig: bad listen address %s", s->listen);
        goto fail;
    }
    s->lst = net_tcp_listen(s->ring, &a, on_accept, s);
    if (!s->lst)
        goto fail;
    s->stop_op.fn = on_stop;
    if (net_ring_read(s->ring, &s->stop_op, s->stop_fd, &s->stop_buf, sizeof s->stop_buf) < 0)
        goto fail;
    net_tcp_listener_addr(s->lst, &s->addr);
    s->now_ns = net_clock_ns();
    net_timers_init(&s->timers, s->now_ns);
    set_ready(s, 1);

    for (;;) {
        s->now_ns = net_clock_ns();
        net_ring_process(s->ring, 256);
        if (s->stopping) /* before waiting again: the stop came in with these completions */
            break;
        if (s->cfg.sfu) {
            sfu_drain(s);
            sfu_watch_arm(s);
        }
        s->now_ns = net_clock_ns();
        uint64_t wait_ns = net_timers_run(&s->timers, s->now_ns, NET_NS_PER_SEC);
        int ret = net_ring_submit_wait(s->ring, wait_ns);
        if (ret < 0)
            LOG_RATELIMIT(1000, "sig: io_uring_enter: %s", strerror(-ret));
    }

    /* Stop: no new connections, a close to every client, then wait (bounded) for them. */
    net_tcp_listener_destroy(s->lst);
    s->lst = NULL;
    net_list_t *pos, *tmp;
    net_list_for_each_safe (pos, tmp, &s->conns) {
        conn_t *c = container_of(pos, conn_t, node);
        c->doomed = false;
        conn_close(c, SIG_WS_CLOSE_GOING_AWAY, "server stopping");
    }
    uint64_t deadline = net_clock_ns() + SIG_STOP_GRACE_NS;
    while (!net_list_empty(&s->conns) && net_clock_ns() < deadline) {
        net_ring_submit_wait(s->ring, 10 * NET_NS_PER_MS);
        net_ring_process(s->ring, 256);
    }
    if (!net_list_empty(&s->conns))
        LOG_WARN("sig: %u connections did not close in time", s->conn_cnt);
    sig_rooms_fini(&s->rooms);
    net_ring_destroy(s->ring);
    s->ring = NULL;
    return NULL;
fail:
    net_tcp_listener_destroy(s->lst);
    s->lst = NULL;
    net_ring_destroy(s->ring);
    s->ring = NULL;
    set_ready(s, -1);
    return NULL;
}

static uint32_t or_default(uint32_t v, uint32_t def)
{
    return v ? v : def;
}

sig_server_t *sig_server_start(const sig_cfg_t *cfg, eng_t *eng)
{
    sig_server_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->cfg = *cfg;
    s->eng = eng;
    s->stop_fd = -1;
    s->cfg.max_rooms = or_default(cfg->max_rooms, 1000);
    s->cfg.max_peers = or_default(cfg->max_peers, 10000);
    s->cfg.max_room_peers = or_default(cfg->max_room_peers, 16);
    s->cfg.max_conns = or_default(cfg->max_conns, 4096);
    s->cfg.max_conns_ip = or_default(cfg->max_conns_ip, 64);
    s->cfg.ws_ping_ms = or_default(cfg->ws_ping_ms, 20000);
    s->cfg.ws_max_msg = or_default(cfg->ws_max_msg, 65536);
    s->cfg.msg_rate = or_default(cfg->msg_rate, 50);
    s->cfg.http_idle_ms = or_default(cfg->http_idle_ms, 15000);
    s->listen = strdup(cfg->listen ? cfg->listen : "127.0.0.1:8080");
    s->web_root = strdup(cfg->web_root ? cfg->web_root : "web");
    s->secret = cfg->secret && *cfg->secret ? strdup(cfg->secret) : NULL;
    s->ips = calloc(s->cfg.max_conns, sizeof *s->ips);
    net_list_init(&s->conns);
    sig_rooms_init(&s->rooms, s->cfg.max_rooms, s->cfg.max_peers, s->cfg.max_room_peers);
    if (cfg->sfu && (!eng || !(s->sfu_w = calloc(eng_shard_count(eng), sizeof *s->sfu_w))))
        s->cfg.sfu = NULL; /* WHIP/WHEP then answer 501 */
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (!s->listen || !s->web_root || (cfg->secret && *cfg->secret && !s->secret) || !s->ips ||
        s->stop_fd < 0)
        goto fail;
    /* The thread blocks SIGINT, SIGTERM and SIGPIPE (as the shards do), so that those reach the
     * thread that waits for them (eng_wait_signal) and not this one. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    int ret = pthread_create(&s->thread, NULL, sig_thread, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (ret != 0)
        goto fail;
    pthread_mutex_lock(&s->mu);
    while (!s->ready)
        pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    if (s->ready < 0) {
        pthread_join(s->thread, NULL);
        goto fail;
    }
    return s;
fail:
    if (s->stop_fd >= 0)
        close(s->stop_fd);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s->ips);
    free(s->sfu_w);
    free(s->whip);
    free(s->listen);
    free(s->web_root);
    free(s->secret);
    free(s);
    return NULL;
}

void sig_server_addr(const sig_server_t *s, net_addr_t *out)
{
    *out = s->addr;
}

void sig_server_stop(sig_server_t *s)
{
    if (!s)
        return;
    uint64_t one = 1;
    if (write(s->stop_fd, &one, sizeof one) != sizeof one)
        LOG_ERROR("sig: cannot wake the signaling thread: %s", strerror(errno));
    pthread_join(s->thread, NULL);
    close(s->stop_fd);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s->ips);
    free(s->sfu_w);
    free(s->whip);
    free(s->listen);
    free(s->web_root);
    free(s->secret);
    free(s);
}
