/* examples/p2p_call.c: a two-party audio+video call through urtc-server's p2p rooms.
 *
 *     build/urtc-server --mode p2p &
 *     build/examples/p2p_call ws://127.0.0.1:8080/ws room1 alice &
 *     build/examples/p2p_call ws://127.0.0.1:8080/ws room1 bob
 *
 * The second one to join sends the offer (as the demo page does). Each side sends a 440 Hz tone
 * (Opus) and a moving test pattern (VP8, 320x180, 25 fps) and decodes what the other sends.
 * A browser on http://127.0.0.1:8080/?room=room1 can be the other side too.
 *
 * Threads: urtc_pc_* calls run on the engine's shard (functions posted with sigc_post); the
 * signaling reader thread and the main thread (the 20 ms media clock) only post. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "examples/signal_client.h"
#include "urtc/urtc.h"

static urtc_engine_t *engine;
static sigc_t sig;

/* The call: touched only on the shard thread (counters read by main at the end). */
static struct {
    urtc_pc_t *pc;
    uint32_t peer; /* the other member's id */
    int audio, video;
    urtc_test_source_t *tone, *pattern;
    urtc_decoder_t *opus, *vp8;
    unsigned ticks, waiting_key;
    atomic_uint frames_decoded, audio_decoded;
} call = {.audio = -1, .video = -1};

/* ---- peer-connection callbacks (shard thread) ---- */

static void on_ice_candidate(urtc_pc_t *pc, const char *cand, const char *mid, void *user)
{
    (void)pc, (void)user;
    sigc_send_candidate(&sig, call.peer, cand, mid);
}

static void on_state(urtc_pc_t *pc, urtc_pc_state_t state, void *user)
{
    (void)pc, (void)user;
    printf("connection: %s\n", urtc_pc_state_name(state));
    if (state == URTC_PC_CONNECTED)
        urtc_test_source_request_keyframe(call.pattern);
}

static void on_frame(urtc_pc_t *pc, int transceiver, const urtc_frame_t *f, void *user)
{
    (void)pc, (void)transceiver, (void)user;
    urtc_decoded_t out;
    if (strcmp(f->codec, "opus") == 0) {
        if (urtc_decoder_decode(call.opus, f, &out) == 1)
            atomic_fetch_add(&call.audio_decoded, 1);
    } else if (strcmp(f->codec, "VP8") == 0) {
        int ret = urtc_decoder_decode(call.vp8, f, &out);
        if (ret == 1 && atomic_fetch_add(&call.frames_decoded, 1) % 25 == 0)
            printf("video: %dx%d, the other side's frame #%d\n", out.width, out.height,
                   out.pattern_frame);
        /* A loss NACK/RTX could not repair: the decoder waits for a keyframe; ask for one
         * (RTCP PLI), every 8 frames at most while it waits. */
        if (ret == -EAGAIN && call.waiting_key++ % 8 == 0)
            (void)urtc_pc_request_keyframe(pc, transceiver);
        if (ret == 1)
            call.waiting_key = 0;
    }
}

/* The other side's decoder asks for a keyframe: the next picture is one. */
static void on_keyframe_request(urtc_pc_t *pc, int transceiver, void *user)
{
    (void)pc, (void)transceiver, (void)user;
    urtc_test_source_request_keyframe(call.pattern);
}

static const urtc_pc_callbacks_t callbacks = {.on_ice_candidate = on_ice_candidate,
                                              .on_state = on_state,
                                              .on_frame = on_frame,
                                              .on_keyframe_request = on_keyframe_request};

/* ---- jobs on the shard ---- */

static void create_pc(urtc_shard_t *sh)
{
    urtc_pc_config_t cfg = {.cname = "p2p_call"};
    call.pc = urtc_pc_create(sh, &cfg, &callbacks, NULL);
    call.tone = urtc_test_source_create("opus", 0, 0, 0);
    call.pattern = urtc_test_source_create("VP8", 320, 180, 25);
    call.opus = urtc_decoder_create("opus");
    call.vp8 = urtc_decoder_create("VP8");
}

static void add_tracks(void)
{
    call.audio = urtc_pc_add_transceiver(call.pc, URTC_KIND_AUDIO, URTC_SENDRECV, "s", "tone");
    call.video = urtc_pc_add_transceiver(call.pc, URTC_KIND_VIDEO, URTC_SENDRECV, "s", "pattern");
}

static void make_offer(urtc_shard_t *sh, void *arg)
{
    (void)arg;
    static char sdp[16384];
    create_pc(sh);
    add_tracks();
    if (urtc_pc_create_offer(call.pc, sdp, sizeof sdp) < 0 ||
        urtc_pc_set_local_description(call.pc, URTC_SDP_OFFER, sdp) < 0) {
        fprintf(stderr, "offer: %s\n", urtc_pc_last_error(call.pc));
        return;
    }
    sigc_send_sdp(&sig, "offer", call.peer, sdp);
}

static void answer_offer(urtc_shard_t *sh, void *offer)
{
    static char sdp[16384];
    create_pc(sh);
    /* Apply the offer first: our tracks then go on the transceivers it created. */
    if (urtc_pc_set_remote_description(call.pc, URTC_SDP_OFFER, offer) < 0)
        goto fail;
    add_tracks();
    if (urtc_pc_create_answer(call.pc, sdp, sizeof sdp) < 0 ||
        urtc_pc_set_local_description(call.pc, URTC_SDP_ANSWER, sdp) < 0)
        goto fail;
    sigc_send_sdp(&sig, "answer", call.peer, sdp);
    free(offer);
    return;
fail:
    fprintf(stderr, "answer: %s\n", urtc_pc_last_error(call.pc));
    free(offer);
}

static void apply_answer(urtc_shard_t *sh, void *answer)
{
    (void)sh;
    if (call.pc && urtc_pc_set_remote_description(call.pc, URTC_SDP_ANSWER, answer) < 0)
        fprintf(stderr, "answer refused: %s\n", urtc_pc_last_error(call.pc));
    free(answer);
}

static void add_candidate(urtc_shard_t *sh, void *cand)
{
    (void)sh;
    if (call.pc)
        (void)urtc_pc_add_ice_candidate(call.pc, cand); /* NULL: end-of-candidates */
    free(cand);
}

/* The media clock: 20 ms of audio every tick, a video frame every other tick (25 fps). */
static void media_tick(urtc_shard_t *sh, void *arg)
{
    (void)sh, (void)arg;
    if (!call.pc || urtc_pc_state(call.pc) != URTC_PC_CONNECTED)
        return;
    urtc_frame_t f;
    if (urtc_test_source_next(call.tone, &f) == 1)
        (void)urtc_pc_send_frame(call.pc, call.audio, &f);
    if (call.ticks++ % 2 == 0 && urtc_test_source_next(call.pattern, &f) == 1)
        (void)urtc_pc_send_frame(call.pc, call.video, &f);
}

static void hang_up(urtc_shard_t *sh, void *arg)
{
    (void)sh, (void)arg;
    if (call.pc)
        urtc_pc_close(call.pc);
    urtc_test_source_destroy(call.tone);
    urtc_test_source_destroy(call.pattern);
    urtc_decoder_destroy(call.opus);
    urtc_decoder_destroy(call.vp8);
    call.pc = NULL;
}

/* ---- signaling (reader thread) ---- */

static void on_signal(sigc_t *s, const char *type, uint32_t from, json_t *m, void *user)
{
    (void)s, (void)user;
    if (strcmp(type, "welcome") == 0) {
        json_t *first = json_array_get(json_object_get(m, "members"), 0);
        printf("joined as member %lld\n", (long long)json_integer_value(json_object_get(m, "id")));
        if (first && !call.peer) { /* someone is there: we offer */
            call.peer = (uint32_t)json_integer_value(json_object_get(first, "id"));
            sigc_post(engine, make_offer, NULL);
        }
    } else if (strcmp(type, "offer") == 0 && !call.peer) {
        call.peer = from;
        sigc_post(engine, answer_offer, strdup(json_string_value(json_object_get(m, "sdp"))));
    } else if (strcmp(type, "answer") == 0 && from == call.peer) {
        sigc_post(engine, apply_answer, strdup(json_string_value(json_object_get(m, "sdp"))));
    } else if (strcmp(type, "candidate") == 0 && from == call.peer) {
        const char *c =
            json_string_value(json_object_get(json_object_get(m, "candidate"), "candidate"));
        sigc_post(engine, add_candidate, c && *c ? strdup(c) : NULL);
    } else if (strcmp(type, "peer-left") == 0) {
        printf("the other side left\n");
    } else if (strcmp(type, "error") == 0) {
        fprintf(stderr, "server: %s\n", json_string_value(json_object_get(m, "reason")));
    }
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s ws://HOST:PORT/ws ROOM NAME [SECONDS]\n", argv[0]);
        return 2;
    }
    int seconds = argc > 4 ? atoi(argv[4]) : 10;
    sigset_t set; /* SIGINT/SIGTERM go to urtc_engine_wait_signal(), not to a random thread */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    urtc_engine_config_t cfg = {.shards = 1};
    if (!(engine = urtc_engine_create(&cfg)))
        return 1;
    if (sigc_join(&sig, argv[1], argv[2], argv[3], on_signal, NULL) < 0) {
        fprintf(stderr, "cannot reach %s\n", argv[1]);
        urtc_engine_destroy(engine);
        return 1;
    }
    for (int i = 0; i < seconds * 50 && !atomic_load(&sig.closed); i++) {
        sigc_post(engine, media_tick, NULL);
        if (urtc_engine_wait_signal(20) > 0)
            break;
    }
    sigc_post(engine, hang_up, NULL);
    sigc_close(&sig);
    urtc_engine_destroy(engine);
    printf("decoded %u video frames and %u audio frames\n", atomic_load(&call.frames_decoded),
           atomic_load(&call.audio_decoded));
    return atomic_load(&call.frames_decoded) > 0 ? 0 : 1;
}
