/* examples/datachannel_chat.c: a text chat over WebRTC data channels, in a room of urtc-server
 * (p2p mode). Each line you type goes to every member of the room over a data channel; what
 * they send is printed. The channel is the demo page's: label "chat", negotiated with id 0 on
 * both sides (no in-band DCEP), so browsers on http://HOST:PORT/?room=ROOM can chat too.
 *
 *     build/urtc-server --mode p2p &
 *     build/examples/datachannel_chat ws://127.0.0.1:8080/ws room1 alice
 *     build/examples/datachannel_chat ws://127.0.0.1:8080/ws room1 bob
 *
 * End with EOF (Ctrl-D) or Ctrl-C. */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "examples/signal_client.h"
#include "urtc/urtc.h"

#define MAX_PEERS 16

static urtc_engine_t *engine;
static sigc_t sig;
static const char *my_name;

static sigc_peer_t members[MAX_PEERS];

/* ---- callbacks (shard thread) ---- */

static void on_ice_candidate(urtc_pc_t *pc, const char *cand, const char *mid, void *user)
{
    (void)pc;
    sigc_send_candidate(&sig, ((sigc_peer_t *)user)->id, cand, mid);
}

static void on_dc_open(urtc_pc_t *pc, int dc, void *user)
{
    (void)pc, (void)dc;
    sigc_peer_t *m = user;
    m->open = true;
    printf("* channel to member %u open\n", m->id);
    fflush(stdout);
}

static void on_dc_message(urtc_pc_t *pc, int dc, const uint8_t *data, size_t len, bool binary,
                          void *user)
{
    (void)pc, (void)dc;
    if (!binary) {
        printf("[%u] %.*s\n", ((sigc_peer_t *)user)->id, (int)len, (const char *)data);
        fflush(stdout);
    }
}

static const urtc_pc_callbacks_t callbacks = {
    .on_ice_candidate = on_ice_candidate, .on_dc_open = on_dc_open, .on_dc_message = on_dc_message};

/* ---- jobs on the shard ---- */

/* Creates the connection and the negotiated "chat" channel (same id on both sides). */
static bool open_pc(urtc_shard_t *sh, sigc_peer_t *m)
{
    urtc_pc_config_t cfg = {.cname = "chat"};
    if (!(m->pc = urtc_pc_create(sh, &cfg, &callbacks, m)))
        return false;
    return (m->dc = sigc_chat_channel(m->pc)) >= 0;
}

static void offer(urtc_shard_t *sh, void *arg)
{
    sigc_job_t *j = arg;
    static char sdp[16384];
    if (open_pc(sh, j->p) && urtc_pc_create_offer(j->p->pc, sdp, sizeof sdp) > 0 &&
        urtc_pc_set_local_description(j->p->pc, URTC_SDP_OFFER, sdp) == 0)
        sigc_send_sdp(&sig, "offer", j->p->id, sdp);
    else
        fprintf(stderr, "offer failed: %s\n", j->p->pc ? urtc_pc_last_error(j->p->pc) : "");
    sigc_job_free(j);
}

static void answer(urtc_shard_t *sh, void *arg)
{
    sigc_job_t *j = arg;
    static char sdp[16384];
    sigc_peer_t *m = j->p;
    m->pc = urtc_pc_create(sh, &(urtc_pc_config_t){.cname = "chat"}, &callbacks, m);
    bool ok = m->pc && urtc_pc_set_remote_description(m->pc, URTC_SDP_OFFER, j->text) == 0;
    if (ok) { /* the channel after the offer: it rides on the offered m=application */
        m->dc = sigc_chat_channel(m->pc);
        ok = m->dc >= 0 && urtc_pc_create_answer(m->pc, sdp, sizeof sdp) > 0 &&
             urtc_pc_set_local_description(m->pc, URTC_SDP_ANSWER, sdp) == 0;
    }
    if (ok)
        sigc_send_sdp(&sig, "answer", m->id, sdp);
    else
        fprintf(stderr, "answer failed: %s\n", m->pc ? urtc_pc_last_error(m->pc) : "");
    sigc_job_free(j);
}

static void set_answer(urtc_shard_t *sh, void *arg)
{
    (void)sh;
    sigc_job_t *j = arg;
    if (j->p->pc && urtc_pc_set_remote_description(j->p->pc, URTC_SDP_ANSWER, j->text) < 0)
        fprintf(stderr, "answer refused: %s\n", urtc_pc_last_error(j->p->pc));
    sigc_job_free(j);
}

/* A line typed by the user, to every open channel. */
static void say(urtc_shard_t *sh, void *arg)
{
    (void)sh;
    char *line = arg;
    for (int i = 0; i < MAX_PEERS; i++)
        if (members[i].pc && members[i].open)
            (void)urtc_dc_send(members[i].pc, members[i].dc, line, strlen(line), false);
    free(line);
}

/* ---- signaling (reader thread) ---- */

static sigc_peer_t *member_of(uint32_t id, bool create)
{
    return sigc_peer_of(members, MAX_PEERS, id, create);
}

static void on_signal(sigc_t *s, const char *type, uint32_t from, json_t *msg, void *user)
{
    (void)s, (void)user;
    sigc_peer_t *m;
    if (strcmp(type, "welcome") == 0) { /* newcomers offer to those already there */
        size_t i;
        json_t *o;
        json_array_foreach(json_object_get(msg, "members"), i, o)
        {
            if ((m = member_of((uint32_t)json_integer_value(json_object_get(o, "id")), true)))
                sigc_post_job(engine, offer, m, NULL);
        }
        printf("* joined as %s\n", my_name);
    } else if (strcmp(type, "offer") == 0 && (m = member_of(from, true))) {
        sigc_post_job(engine, answer, m, json_string_value(json_object_get(msg, "sdp")));
    } else if (strcmp(type, "answer") == 0 && (m = member_of(from, false))) {
        sigc_post_job(engine, set_answer, m, json_string_value(json_object_get(msg, "sdp")));
    } else if (strcmp(type, "candidate") == 0 && (m = member_of(from, false))) {
        sigc_post_job(engine, sigc_job_candidate, m, sigc_candidate_line(msg));
    } else if (strcmp(type, "peer-joined") == 0) {
        printf("* %s joined\n", json_string_value(json_object_get(msg, "name")));
    } else if (strcmp(type, "peer-left") == 0 &&
               (m = member_of((uint32_t)json_integer_value(json_object_get(msg, "id")), false))) {
        printf("* member %u left\n", m->id);
        sigc_post(engine, sigc_job_hang_up, m);
    }
    fflush(stdout);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s ws://HOST:PORT/ws ROOM NAME\n", argv[0]);
        return 2;
    }
    my_name = argv[3];
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    urtc_engine_config_t cfg = {.shards = 1};
    if (!(engine = urtc_engine_create(&cfg)))
        return 1;
    if (sigc_join(&sig, argv[1], argv[2], my_name, on_signal, NULL) < 0) {
        fprintf(stderr, "cannot reach %s\n", argv[1]);
        urtc_engine_destroy(engine);
        return 1;
    }
    /* Lines from stdin, until EOF, a signal or the server going away. */
    char line[4096];
    size_t n = 0;
    while (!atomic_load(&sig.closed) && urtc_engine_wait_signal(1) == 0) {
        struct pollfd p = {.fd = 0, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        ssize_t r = read(0, line + n, 1);
        if (r <= 0)
            break;
        if (line[n] == '\n' || n + 2 >= sizeof line) {
            line[n] = 0;
            if (n > 0)
                sigc_post(engine, say, strdup(line));
            n = 0;
        } else {
            n++;
        }
    }
    sigc_close(&sig);
    for (int i = 0; i < MAX_PEERS; i++)
        if (members[i].id)
            sigc_post(engine, sigc_job_hang_up, &members[i]);
    urtc_engine_destroy(engine);
    return 0;
}
