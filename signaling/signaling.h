/* signaling/signaling.h: the demo call server's signaling thread.
 *
 * One thread with its own io_uring ring (created on that thread) serves HTTP/1.1 and
 * WebSocket on one TCP listener: the demo page from a web root, GET /healthz, GET /metrics
 * (Prometheus text), GET /ws (the JSON signaling protocol of docs/signaling.md, with rooms),
 * and POST /whip/ROOM, POST /whep/ROOM. It reaches the shards only through engine/engine.h
 * (today: counters for /metrics).
 *
 * Threading: sig_server_start() and sig_server_stop() are for the main thread; everything else
 * in the server runs on the signaling thread. The token helpers are pure and any thread may
 * call them.
 */
#ifndef URTC_SIGNALING_SIGNALING_H
#define URTC_SIGNALING_SIGNALING_H

#include "engine/engine.h"
#include "net/net.h"

/* Room modes (docs/signaling.md "Rooms"). */
enum sig_mode {
    SIG_MODE_SFU = 0, /* the server terminates every peer connection (not built yet) */
    SIG_MODE_P2P = 1, /* the server relays offer/answer/candidate between members */
};

typedef struct sig_cfg {
    const char *listen;      /* "ip:port"; NULL: 127.0.0.1:8080. Port 0: the kernel picks */
    const char *web_root;    /* directory served at /; NULL: "web" */
    const char *secret;      /* room-token HMAC key; NULL or "": rooms are open */
    enum sig_mode def_mode;  /* mode of a room whose first join names none */
    uint32_t max_rooms;      /* 0: 1000 */
    uint32_t max_peers;      /* members over all rooms; 0: 10000 */
    uint32_t max_room_peers; /* members per room; 0: 16 */
    uint32_t max_conns;      /* TCP connections; 0: 4096 */
    uint32_t max_conns_ip;   /* TCP connections from one IP address; 0: 64 */
    uint32_t ws_ping_ms;     /* WebSocket keepalive ping interval; 0: 20000. A connection
                              * silent for two intervals is closed (1001). */
    uint32_t ws_max_msg;     /* largest WebSocket message (bytes); 0: 65536 */
    uint32_t msg_rate;       /* signaling messages per second per connection, burst 2x;
                              * 0: 50 */
    uint32_t http_idle_ms;   /* an HTTP connection without a complete request for this long
                              * is closed; 0: 15000 */
    eng_sfu_t *sfu;          /* the SFU (borrowed; the signaling thread is its control thread):
                              * WHIP and WHEP use it. NULL: they answer 501 */
} sig_cfg_t;

typedef struct sig_server sig_server_t;

/* Starts the signaling thread and returns once it listens, or NULL (logged) if it could not.
 * @eng (borrowed, may be NULL in tests) must outlive the server; /metrics reads its counters.
 * @cfg is copied (its strings too). Main thread. */
sig_server_t *sig_server_start(const sig_cfg_t *cfg, eng_t *eng);
/* The address the listener is bound to (with the port the kernel picked). Any thread. */
void sig_server_addr(const sig_server_t *s, net_addr_t *out);
/* Closes every connection (WebSocket clients get a 1001 close), stops the thread and frees
 * everything. Accepts NULL. Main thread. */
void sig_server_stop(sig_server_t *s);

/* ---- Room tokens (docs/signaling.md "Tokens") ----
 *
 * A token is "v1.<base64url(exp_unix '.' room)>.<base64url(HMAC-SHA256(secret, the part
 * before the last dot))>": it names one room and an expiry in Unix seconds. */

#define SIG_TOKEN_MAX_LEN 256
#define SIG_ROOM_MAX_LEN 64

/* Writes a NUL-terminated token into @out. Its length, or -EINVAL (bad room name or empty
 * secret), -ENOSPC (@cap too small). */
WARN_UNUSED int sig_token_make(const char *secret, const char *room, uint64_t exp_unix, char *out,
                               size_t cap);
/* 0 if @token (@len bytes, not NUL-terminated) is signed with @secret, names @room and has not
 * expired at @now_unix. -EBADMSG (malformed), -EACCES (bad signature or another room),
 * -ETIMEDOUT (expired). */
WARN_UNUSED int sig_token_check(const char *secret, const char *room, const char *token, size_t len,
                                uint64_t now_unix);

/* True if @room is a valid room name: 1..64 of [A-Za-z0-9_.-]. */
bool sig_room_name_ok(const char *room, size_t len);

#endif
