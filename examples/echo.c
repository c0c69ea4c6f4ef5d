/* examples/echo.c: an echo peer. It waits in a room of urtc-server (p2p mode), answers every
 * offer, and sends back whatever it receives: each media frame on the transceiver it came
 * from, and each message on the "chat" data channel (negotiated, id 0, as the demo page has).
 *
 *     build/urtc-server --mode p2p &
 *     build/examples/echo ws://127.0.0.1:8080/ws room1 &
 *     build/urtc-peer --signal ws://127.0.0.1:8080/ws --room room1 --duration 5
 *     (urtc-peer decodes its own test pattern, coming back from the echo)
 *
 * It runs until SIGINT/SIGTERM, or for SECONDS if given. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "examples/signal_client.h"
#include "urtc/urtc.h"

#define MAX_CALLERS 16

static urtc_engine_t *engine;
static sigc_t sig;

static sigc_peer_t callers[MAX_CALLERS]; /* count: frames echoed */

/* ---- callbacks (shard thread) ---- */

static void on_ice_candidate(urtc_pc_t *pc, const char *cand, const char *mid, void *user)
{
    (void)pc;
    sigc_send_candidate(&sig, ((sigc_peer_t *)user)->id, cand, mid);
}

/* The echo itself: the frame goes back out of the transceiver it arrived on. */
static void on_frame(urtc_pc_t *pc, int transceiver, const urtc_frame_t *f, void *user)
{
    sigc_peer_t *c = user;
    if (urtc_pc_send_frame(pc, transceiver, f) == 0)
        atomic_fetch_add(&c->count, 1);
}

static void on_dc_message(urtc_pc_t *pc, int dc, const uint8_t *data, size_t len, bool binary,
                          void *user)
{
    (void)user;
    (void)urtc_dc_send(pc, dc, data, len, binary);
}

static void on_state(urtc_pc_t *pc, urtc_pc_state_t state, void *user)
{
    (void)pc;
    printf("caller %u: %s\n", ((sigc_peer_t *)user)->id, urtc_pc_state_name(state));
    fflush(stdout);
}

static const urtc_pc_callbacks_t callbacks = {.on_ice_candidate = on_ice_candidate,
                                              .on_state = on_state,
                                              .on_frame = on_frame,
                                              .on_dc_message = on_dc_message};

/* ---- jobs on the shard ---- */

static void answer(urtc_shard_t *sh, void *arg)
{
    sigc_job_t *j = arg;
    sigc_peer_t *c = j->p;
    static char sdp[16384];
    urtc_pc_config_t cfg = {.cname = "echo"};
    if (!c->pc)
        c->pc = urtc_pc_create(sh, &cfg, &callbacks, c);
    int ret = c->pc ? urtc_pc_set_remote_description(c->pc, URTC_SDP_OFFER, j->text) : -ENOMEM;
    /* W3C addTrack on each offered transceiver: sending needs a sending direction. */
    for (int kind = URTC_KIND_AUDIO; ret == 0 && kind <= URTC_KIND_VIDEO; kind++)
        (void)urtc_pc_add_transceiver(c->pc, (urtc_kind_t)kind, URTC_SENDRECV, "echo", "echo");
    if (ret == 0) {
        c->dc = sigc_chat_channel(c->pc); /* < 0 if none offered */
        ret = urtc_pc_create_answer(c->pc, sdp, sizeof sdp);
    }
    if (ret > 0)
        ret = urtc_pc_set_local_description(c->pc, URTC_SDP_ANSWER, sdp);
    if (ret < 0)
        fprintf(stderr, "caller %u: %s\n", c->id, c->pc ? urtc_pc_last_error(c->pc) : "full");
    else
        sigc_send_sdp(&sig, "answer", c->id, sdp);
    sigc_job_free(j);
}

static void hang_up(urtc_shard_t *sh, void *arg)
{
    sigc_peer_t *c = arg;
    if (c->pc)
        printf("caller %u: echoed %u frames\n", c->id, atomic_load(&c->count));
    sigc_job_hang_up(sh, c);
}

/* ---- signaling (reader thread) ---- */

static sigc_peer_t *caller_of(uint32_t id, bool create)
{
    return sigc_peer_of(callers, MAX_CALLERS, id, create);
}

static void on_signal(sigc_t *s, const char *type, uint32_t from, json_t *m, void *user)
{
    (void)s, (void)user;
    sigc_peer_t *c;
    if (strcmp(type, "welcome") == 0) {
        printf("echo: waiting in the room as member %lld\n",
               (long long)json_integer_value(json_object_get(m, "id")));
        fflush(stdout);
    } else if (strcmp(type, "offer") == 0 && (c = caller_of(from, true))) {
        sigc_post_job(engine, answer, c, json_string_value(json_object_get(m, "sdp")));
    } else if (strcmp(type, "candidate") == 0 && (c = caller_of(from, false))) {
        sigc_post_job(engine, sigc_job_candidate, c, sigc_candidate_line(m));
    } else if (strcmp(type, "peer-left") == 0 &&
               (c = caller_of((uint32_t)json_integer_value(json_object_get(m, "id")), false))) {
        sigc_post(engine, hang_up, c);
    }
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s ws://HOST:PORT/ws ROOM [SECONDS]\n", argv[0]);
        return 2;
    }
    unsigned seconds = argc > 3 ? (unsigned)atoi(argv[3]) : 0;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    urtc_engine_config_t cfg = {.shards = 1};
    if (!(engine = urtc_engine_create(&cfg)))
        return 1;
    if (sigc_join(&sig, argv[1], argv[2], "echo", on_signal, NULL) < 0) {
        fprintf(stderr, "cannot reach %s\n", argv[1]);
        urtc_engine_destroy(engine);
        return 1;
    }
    (void)urtc_engine_wait_signal(seconds * 1000);
    sigc_close(&sig);
    for (int i = 0; i < MAX_CALLERS; i++)
        if (callers[i].id)
            sigc_post(engine, hang_up, &callers[i]);
    urtc_engine_destroy(engine);
    return 0;
}
