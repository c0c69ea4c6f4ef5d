/* examples/signal_client.h: the examples' link to urtc-server's p2p rooms (docs/signaling.md).
 *
 * sigc_join() opens the WebSocket, joins a room in p2p mode and starts a reader thread that
 * hands every server message to your callback (type, sender, the parsed JSON). The sigc_send_*
 * helpers send offers, answers and candidates; any thread may call them. sigc_post() is
 * urtc_engine_post() to shard 0 behind a lock, so that the reader thread and your main thread
 * may both post (posting is single-producer: one thread at a time). */
#ifndef URTC_EXAMPLES_SIGNAL_CLIENT_H
#define URTC_EXAMPLES_SIGNAL_CLIENT_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>

#include "signaling/peer_ws.h"
#include "urtc/urtc.h"

typedef struct sigc sigc_t;
/* @type: "welcome", "offer", "answer", "candidate", "peer-joined", "peer-left", "chat",
 * "error"; @from: the sender's member id (0 for the server's own messages). */
typedef void (*sigc_fn)(sigc_t *s, const char *type, uint32_t from, json_t *msg, void *user);

struct sigc {
    peer_ws_t ws;
    pthread_t reader;
    atomic_bool stop, closed;
    sigc_fn fn;
    void *user;
};

static pthread_mutex_t sigc_post_mu = PTHREAD_MUTEX_INITIALIZER;

static inline int sigc_post(urtc_engine_t *e, void (*fn)(urtc_shard_t *, void *), void *arg)
{
    pthread_mutex_lock(&sigc_post_mu);
    int ret;
    for (int i = 0; (ret = urtc_engine_post(e, 0, fn, arg)) == -EAGAIN && i < 1000; i++)
        usleep(1000);
    pthread_mutex_unlock(&sigc_post_mu);
    return ret;
}

static inline void sigc_send(sigc_t *s, json_t *m)
{
    char *text = json_dumps(m, JSON_COMPACT);
    json_decref(m);
    if (text && peer_ws_send_text(&s->ws, text) < 0)
        atomic_store(&s->closed, true);
    free(text);
}

/* An offer or an answer (@type) to member @to. */
static inline void sigc_send_sdp(sigc_t *s, const char *type, uint32_t to, const char *sdp)
{
    sigc_send(s, json_pack("{s:s, s:I, s:s}", "type", type, "to", (json_int_t)to, "sdp", sdp));
}

/* A candidate from on_ice_candidate (NULL: end-of-candidates) to member @to. */
static inline void sigc_send_candidate(sigc_t *s, uint32_t to, const char *cand, const char *mid)
{
    json_t *c = cand ? json_pack("{s:s, s:s, s:i}", "candidate", cand, "sdpMid", mid ? mid : "0",
                                 "sdpMLineIndex", 0)
                     : json_null();
    sigc_send(
        s, json_pack("{s:s, s:I, s:o}", "type", "candidate", "to", (json_int_t)to, "candidate", c));
}

static inline void *sigc_reader(void *arg)
{
    sigc_t *s = arg;
    while (!atomic_load(&s->stop)) {
        char *text = NULL;
        int ret = peer_ws_recv(&s->ws, &text, 100);
        if (ret < 0) {
            atomic_store(&s->closed, true);
            break;
        }
        if (ret == 0)
            continue;
        json_t *m = json_loads(text, 0, NULL);
        const char *type = m ? json_string_value(json_object_get(m, "type")) : NULL;
        if (type)
            s->fn(s, type, (uint32_t)json_integer_value(json_object_get(m, "from")), m, s->user);
        json_decref(m);
        free(text);
    }
    return NULL;
}

/* Connects to @url ("ws://127.0.0.1:8080/ws"), joins @room as @name (p2p mode) and starts the
 * reader thread. 0 or a negative errno. */
static inline int sigc_join(sigc_t *s, const char *url, const char *room, const char *name,
                            sigc_fn fn, void *user)
{
    memset(s, 0, sizeof *s);
    s->fn = fn;
    s->user = user;
    int ret = peer_ws_connect(&s->ws, url);
    if (ret < 0)
        return ret;
    sigc_send(s, json_pack("{s:s, s:s, s:s, s:s}", "type", "join", "room", room, "name", name,
                           "mode", "p2p"));
    if (pthread_create(&s->reader, NULL, sigc_reader, s) != 0) {
        peer_ws_close(&s->ws);
        return -EAGAIN;
    }
    return 0;
}

/* Stops the reader and closes the WebSocket (the server tells the room we left). */
static inline void sigc_close(sigc_t *s)
{
    atomic_store(&s->stop, true);
    pthread_join(s->reader, NULL);
    peer_ws_close(&s->ws);
}

#endif
