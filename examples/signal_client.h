/* examples/signal_client.h: the examples' link to urtc-server's p2p rooms (docs/signaling.md).
 *
 * sigc_join() opens the WebSocket, joins a room in p2p mode and starts a reader thread that
 * hands every server message to your callback (type, sender, the parsed JSON). The sigc_send_*
 * helpers send offers, answers and candidates; any thread may call them. sigc_post() is
 * urtc_engine_post() to shard 0 behind a lock, so that the reader thread and your main thread
 * may both post (posting is single-producer: one thread at a time).
 *
 * The multi-party examples keep one sigc_peer_t per remote member in a small table
 * (sigc_peer_of) and hand work to the shard as sigc_job_t (sigc_post_job): the reader thread
 * fills them in, the shard runs them. */
#ifndef URTC_EXAMPLES_SIGNAL_CLIENT_H
#define URTC_EXAMPLES_SIGNAL_CLIENT_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

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

/* One remote member: @id is the reader thread's, the rest the shard's. */
typedef struct sigc_peer {
    uint32_t id;
    urtc_pc_t *pc;
    int dc;            /* the "chat" channel, or < 0 */
    bool open;         /* chat channel open */
    atomic_uint count; /* frames or messages, the example's own tally */
} sigc_peer_t;

/* The peer of member @id in @table (@n slots), or a free slot for it when @create; NULL when
 * none. Reader thread only. */
static inline sigc_peer_t *sigc_peer_of(sigc_peer_t *table, int n, uint32_t id, bool create)
{
    for (int i = 0; i < n; i++)
        if (table[i].id == id)
            return &table[i];
    for (int i = 0; create && i < n; i++)
        if (!table[i].id) {
            table[i].id = id;
            return &table[i];
        }
    return NULL;
}

/* Work for the shard about one peer, with a copy of @text (an SDP or a candidate line). The
 * job function frees both with sigc_job_free(). */
typedef struct sigc_job {
    sigc_peer_t *p;
    char *text;
} sigc_job_t;

static inline void sigc_post_job(urtc_engine_t *e, void (*fn)(urtc_shard_t *, void *),
                                 sigc_peer_t *p, const char *text)
{
    sigc_job_t *j = calloc(1, sizeof *j);
    if (!j)
        return;
    j->p = p;
    j->text = text && *text ? strdup(text) : NULL;
    if (sigc_post(e, fn, j) < 0) {
        free(j->text);
        free(j);
    }
}

static inline void sigc_job_free(sigc_job_t *j)
{
    free(j->text);
    free(j);
}

/* Shard jobs every multi-party example shares: a trickled candidate, and hanging up. */
static inline void sigc_job_candidate(urtc_shard_t *sh, void *arg)
{
    (void)sh;
    sigc_job_t *j = arg;
    if (j->p->pc)
        (void)urtc_pc_add_ice_candidate(j->p->pc, j->text);
    sigc_job_free(j);
}

static inline void sigc_job_hang_up(urtc_shard_t *sh, void *arg)
{
    (void)sh;
    sigc_peer_t *p = arg;
    if (p->pc)
        urtc_pc_close(p->pc);
    p->pc = NULL;
    p->open = false;
}

/* The demo page's chat channel on @pc: label "chat", negotiated with id 0 on both sides (no
 * in-band DCEP), reliable and ordered. Its id, or a negative errno. */
static inline int sigc_chat_channel(urtc_pc_t *pc)
{
    urtc_dc_init_t chat = {
        .negotiated = true, .id = 0, .max_retransmits = -1, .max_packet_lifetime_ms = -1};
    return urtc_pc_create_data_channel(pc, "chat", &chat);
}

/* The candidate line of a "candidate" message (NULL: end-of-candidates). */
static inline const char *sigc_candidate_line(json_t *msg)
{
    return json_string_value(json_object_get(json_object_get(msg, "candidate"), "candidate"));
}

/* Stops the reader and closes the WebSocket (the server tells the room we left). */
static inline void sigc_close(sigc_t *s)
{
    atomic_store(&s->stop, true);
    pthread_join(s->reader, NULL);
    peer_ws_close(&s->ws);
}

#endif
