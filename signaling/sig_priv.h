/* signaling/sig_priv.h: what the files of signaling/ share (and its tests and fuzz targets).
 *
 * The parsers here are sans-IO: bytes in, a result and a typed error out. They never read past
 * @len, never trust a count or a length from the wire, and never allocate except where a
 * comment says so.
 */
#ifndef URTC_SIGNALING_SIG_PRIV_H
#define URTC_SIGNALING_SIG_PRIV_H

#include "signaling/signaling.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------------------------------------
 * crypto.c: the one file that includes OpenSSL headers.
 */
#define SIG_SHA1_LEN 20
#define SIG_SHA256_LEN 32
void sig_sha1(const void *data, size_t len, uint8_t out[SIG_SHA1_LEN]);
/* 0 or -EIO. */
WARN_UNUSED int sig_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                                uint8_t out[SIG_SHA256_LEN]);
/* Constant-time comparison. */
bool sig_mem_eq(const void *a, const void *b, size_t len);

/* Base64 (RFC 4648 §4, padded) and base64url (§5, unpadded). Encoders write a NUL-terminated
 * string and return its length, or -ENOSPC. Decoders return the byte count, or -EBADMSG
 * (bad alphabet or padding), -ENOSPC. */
WARN_UNUSED int sig_b64_encode(const uint8_t *in, size_t len, char *out, size_t cap, bool url);
WARN_UNUSED int sig_b64_decode(const char *in, size_t len, uint8_t *out, size_t cap, bool url);

/* ---------------------------------------------------------------------------------------------
 * http.c: HTTP/1.1 requests (RFC 9112) and the pieces of the static file server.
 */
#define SIG_HTTP_MAX_HDR_LEN 8192 /* request line + header fields + the empty line */
#define SIG_HTTP_MAX_HDRS 48
#define SIG_HTTP_MAX_BODY (64 * 1024) /* an SDP offer with many candidates fits */

typedef struct sig_http_hdr {
    net_view_t name, value; /* value without surrounding whitespace */
} sig_http_hdr_t;

typedef struct sig_http_req {
    net_view_t method, target; /* target as sent */
    net_view_t path, query;    /* target split at '?' (query without the '?') */
    int minor;                 /* HTTP/1.<minor> */
    uint32_t hdr_cnt;
    sig_http_hdr_t hdrs[SIG_HTTP_MAX_HDRS];
    size_t head_len;      /* bytes up to and including the empty line */
    uint64_t content_len; /* 0 when absent */
    bool keep_alive;      /* after this request (HTTP/1.1 default; Connection header) */
} sig_http_req_t;

/* Parses one request head from the start of @b. The head length (> 0) when complete;
 * -EAGAIN (incomplete, read more); -EBADMSG (malformed: 400); -EMSGSIZE (head longer than
 * SIG_HTTP_MAX_HDR_LEN: 431); -E2BIG (more than SIG_HTTP_MAX_HDRS fields: 431); -ENOTSUP
 * (Transfer-Encoding, which we do not take: 501); -EPROTONOSUPPORT (not HTTP/1.x: 505).
 * Views point into @b. */
WARN_UNUSED int sig_http_parse(const uint8_t *b, size_t len, sig_http_req_t *req);
/* The first field named @name (case-insensitive), or NULL. */
const net_view_t *sig_http_hdr(const sig_http_req_t *req, const char *name);
/* True if comma-separated @list holds @token (case-insensitive), e.g. Connection: Upgrade. */
bool sig_http_has_token(net_view_t list, const char *token);
/* Percent-decodes @path into @out (NUL-terminated) and checks it is safe to open below a web
 * root: it starts with '/', holds no NUL, backslash, empty or dot-only segment ('.', '..')
 * and no segment starting with '.' (hidden files). Length, or -EBADMSG, -ENOSPC. */
WARN_UNUSED int sig_http_path_clean(net_view_t path, char *out, size_t cap);
/* The value of query parameter @key, percent-decoded into @out. Length, -ENOENT, -EBADMSG,
 * -ENOSPC. */
WARN_UNUSED int sig_http_query_get(net_view_t query, const char *key, char *out, size_t cap);
/* MIME type for a file name, by extension; application/octet-stream when unknown. */
const char *sig_http_mime(const char *path);
/* Reason phrase of a status code. */
const char *sig_http_reason(int status);

/* ---------------------------------------------------------------------------------------------
 * ws.c: WebSocket (RFC 6455) framing for the server side, sans-IO.
 */
enum {
    SIG_WS_OP_CONT = 0x0,
    SIG_WS_OP_TEXT = 0x1,
    SIG_WS_OP_BINARY = 0x2,
    SIG_WS_OP_CLOSE = 0x8,
    SIG_WS_OP_PING = 0x9,
    SIG_WS_OP_PONG = 0xA,
};
/* RFC 6455 §7.4.1 status codes. */
enum {
    SIG_WS_CLOSE_NORMAL = 1000,
    SIG_WS_CLOSE_GOING_AWAY = 1001,
    SIG_WS_CLOSE_PROTOCOL = 1002,
    SIG_WS_CLOSE_UNSUPPORTED = 1003,
    SIG_WS_CLOSE_NO_STATUS = 1005, /* never sent on the wire */
    SIG_WS_CLOSE_BAD_DATA = 1007,
    SIG_WS_CLOSE_POLICY = 1008,
    SIG_WS_CLOSE_TOO_BIG = 1009,
    SIG_WS_CLOSE_INTERNAL = 1011,
};

#define SIG_WS_ACCEPT_LEN 28 /* base64 of a SHA-1 */

/* Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 §4.2.2 step 5.4). -EBADMSG unless the
 * key is base64 of 16 bytes. @out gets 28 characters and a NUL. */
WARN_UNUSED int sig_ws_accept(net_view_t key, char out[SIG_WS_ACCEPT_LEN + 1]);
/* UTF-8 validity (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF). */
bool sig_utf8_valid(const uint8_t *p, size_t len);
/* Writes a server frame header (FIN set, unmasked) for @len payload bytes into @out (>= 10
 * bytes). Returns the header length. */
size_t sig_ws_hdr_write(uint8_t *out, uint8_t opcode, uint64_t len);

typedef enum sig_ws_ev_type {
    SIG_WS_EV_NONE = 0, /* a frame was consumed; nothing to report (a non-final fragment) */
    SIG_WS_EV_TEXT,
    SIG_WS_EV_BINARY,
    SIG_WS_EV_PING,
    SIG_WS_EV_PONG,
    SIG_WS_EV_CLOSE, /* code and reason valid; the caller echoes the close */
} sig_ws_ev_type_t;

typedef struct sig_ws_ev {
    sig_ws_ev_type_t type;
    const uint8_t *p; /* payload (valid until the next sig_ws_input call) */
    size_t len;
    uint16_t code; /* SIG_WS_EV_CLOSE: received code, SIG_WS_CLOSE_NO_STATUS if none */
} sig_ws_ev_t;

/* One connection's receive state: fragment reassembly into a buffer it owns. */
typedef struct sig_ws {
    size_t max_msg;
    uint8_t *msg;
    size_t msg_len, msg_cap;
    uint8_t msg_op; /* opcode of the message being reassembled; 0 if none */
    uint8_t ctl[125];
    uint16_t fail_code; /* close code for the error sig_ws_input returned */
    uint64_t skip_len;  /* after -EMSGSIZE: the whole frame's length, from its first byte, so
                         * the caller can skip it and stay aligned for the closing handshake */
} sig_ws_t;

void sig_ws_init(sig_ws_t *ws, size_t max_msg);
void sig_ws_fini(sig_ws_t *ws);
/* Consumes at most one whole frame from @b: bytes consumed (> 0) with @ev filled;
 * -EAGAIN (incomplete frame); or, with ws->fail_code set to the close code to send:
 * -EBADMSG (protocol error, 1002: unmasked client frame, reserved bits or opcode, bad
 * fragmentation, a long or fragmented control frame, a bad close payload), -EILSEQ (bad UTF-8
 * in a text message or close reason, 1007), -EMSGSIZE (message above max_msg, 1009),
 * -ENOMEM (1011). */
WARN_UNUSED long sig_ws_input(sig_ws_t *ws, const uint8_t *b, size_t len, sig_ws_ev_t *ev);

/* ---------------------------------------------------------------------------------------------
 * msg.c: signaling messages (JSON; the one file that includes jansson.h).
 */
#define SIG_NAME_MAX_LEN 64
#define SIG_CHAT_MAX_LEN 4096

typedef enum sig_msg_type {
    SIG_MSG_JOIN = 1,
    SIG_MSG_LEAVE,
    SIG_MSG_OFFER,
    SIG_MSG_ANSWER,
    SIG_MSG_CANDIDATE,
    SIG_MSG_CHAT,
    SIG_MSG_PING,
} sig_msg_type_t;

typedef struct sig_msg {
    sig_msg_type_t type;
    char room[SIG_ROOM_MAX_LEN + 1];
    char name[SIG_NAME_MAX_LEN + 1];
    char token[SIG_TOKEN_MAX_LEN + 1];
    bool has_mode, has_to;
    enum sig_mode mode;
    uint32_t to; /* target member id (offer, answer, candidate; optional for chat) */
    /* On error: a code for the `error` reply ("bad-json", "bad-message", "unknown-type") and
     * a reason (static strings). */
    const char *err_code, *err_reason;
    void *_json; /* the parsed message, for sig_msg_relay() */
} sig_msg_t;

/* Parses one client message. 0, or -EBADMSG with err_code/err_reason set. Call sig_msg_fini()
 * either way. */
WARN_UNUSED int sig_msg_parse(const char *text, size_t len, sig_msg_t *m);
void sig_msg_fini(sig_msg_t *m);

/* Server messages: malloc'd NUL-terminated JSON text the caller frees, or NULL (out of
 * memory). */
char *sig_msg_relay(const sig_msg_t *m, uint32_t from, const char *from_name);
typedef struct sig_member_info {
    uint32_t id;
    const char *name;
} sig_member_info_t;
char *sig_msg_welcome(uint32_t id, const char *room, enum sig_mode mode,
                      const sig_member_info_t *members, size_t cnt);
char *sig_msg_peer_joined(uint32_t id, const char *name);
char *sig_msg_peer_left(uint32_t id);
char *sig_msg_error(const char *code, const char *reason, const char *about);
char *sig_msg_pong(void);
const char *sig_mode_name(enum sig_mode mode);

/* ---------------------------------------------------------------------------------------------
 * room.c: the room directory. Members are embedded in their owner (the WebSocket connection).
 */
typedef struct sig_room sig_room_t;

typedef struct sig_member {
    net_list_t _node; /* in the room's member list */
    sig_room_t *room; /* NULL when not in a room */
    uint32_t id;
    char name[SIG_NAME_MAX_LEN + 1];
    void *owner;
} sig_member_t;

struct sig_room {
    net_list_t _node;
    char name[SIG_ROOM_MAX_LEN + 1];
    enum sig_mode mode;
    net_list_t members;
    uint32_t cnt;
};

typedef struct sig_rooms {
    net_list_t rooms;
    uint32_t room_cnt, peer_cnt;
    uint32_t max_rooms, max_peers, max_room_peers;
    uint32_t next_id;
} sig_rooms_t;

void sig_rooms_init(sig_rooms_t *d, uint32_t max_rooms, uint32_t max_peers,
                    uint32_t max_room_peers);

void sig_rooms_fini(sig_rooms_t *d);
sig_room_t *sig_rooms_find(sig_rooms_t *d, const char *name);
/* Adds @m (not in a room) to room @name, creating it in @mode if it does not exist; gives @m a
 * fresh id. 0, -ENOSPC (room full), -EMFILE (too many rooms), -EUSERS (too many members in
 * all), -EPROTOTYPE (the room exists in another mode), -ENOMEM. */
WARN_UNUSED int sig_rooms_join(sig_rooms_t *d, sig_member_t *m, const char *name,
                               enum sig_mode mode);
/* Removes @m from its room (a no-op if in none); an empty room is freed. */
void sig_rooms_leave(sig_rooms_t *d, sig_member_t *m);
/* The member of @room with @id, or NULL. */
sig_member_t *sig_room_member(sig_room_t *room, uint32_t id);

#endif
