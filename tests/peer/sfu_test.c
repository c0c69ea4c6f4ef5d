/* tests/peer/sfu_test.c: urtc-peer bots in sfu rooms of a real urtc-server (WebSocket
 * signaling on 127.0.0.1, media over loopback UDP; docs/signaling.md, docs/sfu.md).
 *
 * - Three bots in one room over two shards (--room-shard-max 2: the third member lands on the
 *   other shard): each decodes the video and audio of each of the other two (per source member,
 *   from the stream ids m<id> of the server's tracks), chat crosses the server's data channel
 *   relay, and /metrics shows packets on both shards and across them.
 * - A dropped WebSocket (docs/hardening.md, issue 11): one of three bots is SIGKILLed, so the
 *   kernel closes its TCP. The others get peer-left and a renegotiation and keep receiving each
 *   other; the server frees the member's pc and legs (urtc_sfu_members, urtc_peers).
 * The programs come from this build directory (skipped if they are not built). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/proc.h"
#include "tests/support/tst.h"

__attribute__((constructor)) static void serial_runner(void)
{
    setenv("CRITERION_JOBS", "1", 0);
}

static pid_t server_pid;
static int port;
static char ws_url[128];

/* urtc-server in its default mode (sfu) on two shards; a room spans both past two members. */
static void server_start(void)
{
    const char *extra[] = {"--shards", "2", "--room-shard-max", "2", NULL};
    port = tst_server_start(extra, &server_pid);
    snprintf(ws_url, sizeof ws_url, "ws://127.0.0.1:%d/ws", port);
}

static pid_t bot(const char *peer, const char *room, const char *name, const char *secs, int *fd)
{
    /* No --mode: the room's (the server's default, sfu) holds. */
    const char *argv[] = {peer, "--signal",   ws_url, "--room", room,      "--name",
                          name, "--duration", secs,   "--json", "--quiet", NULL};
    return tst_spawn(argv, fd);
}

/* The bot's report (exit 0 expected). */
static json_t *bot_report(pid_t pid, int fd, const char *name)
{
    char *out = tst_read_all(fd, 40000);
    int st;
    waitpid(pid, &st, 0);
    close(fd);
    fprintf(stderr, "%s: %s\n", name, out);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s exit %d", name, st);
    json_t *j = tst_last_json(out);
    cr_expect_str_eq(json_string_value(json_object_get(j, "mode")), "sfu", "%s joined sfu", name);
    cr_expect_eq(tst_jint(j, "connected"), 1, "%s: one connection, to the server", name);
    return j;
}

/* The report's entry for source member @id; NULL if nothing came from it. */
static json_t *source(json_t *j, long id)
{
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(j, "sources"), i, s)
    {
        if (json_integer_value(json_object_get(s, "id")) == id)
            return s;
    }
    return NULL;
}

/* @who decoded at least @video frames and @audio audio frames from member @id, in order. */
static void expect_from(json_t *j, const char *who, long id, long video, long audio)
{
    json_t *s = source(j, id);
    cr_assert_not_null(s, "%s received nothing from member %ld", who, id);
    long vd = tst_jint(s, "video_frames_decoded"), ad = tst_jint(s, "audio_frames_decoded");
    cr_expect_geq(vd, video, "%s decoded %ld video frames from member %ld", who, vd, id);
    cr_expect_geq(ad, audio, "%s decoded %ld audio frames from member %ld", who, ad, id);
    cr_expect_eq(tst_jint(s, "video_frames_out_of_order"), 0, "%s: member %ld in order", who, id);
}

/* Polls /metrics once a second (at most @secs) until @name reads @want: the seconds it took,
 * or -1. */
static int metric_wait(const char *name, long want, int secs)
{
    for (int i = 0; i <= secs; i++) {
        if (tst_metric(port, name) == want)
            return i;
        if (i < secs)
            sleep(1);
    }
    return -1;
}

static bool metric_reaches(const char *name, long want, int secs)
{
    return metric_wait(name, want, secs) >= 0;
}

/* Member ids: this server's first three joins are 1, 2, 3 (ids are never reused). */
Test(peer_sfu, three_bots_over_two_shards_each_decode_both_others, .timeout = 90)
{
    tst_one_at_a_time();
    const char *peer = tst_need_bin("urtc-peer");
    server_start();
    const char *names[3] = {"a", "b", "c"};
    pid_t pids[3];
    int fds[3];
    for (int i = 0; i < 3; i++) {
        pids[i] = bot(peer, "bots", names[i], "8", &fds[i]);
        cr_assert(metric_reaches("urtc_sfu_members", i + 1, 20), "%s joined the SFU", names[i]);
    }
    json_t *j[3];
    for (int i = 0; i < 3; i++)
        j[i] = bot_report(pids[i], fds[i], names[i]);
    /* Both shards carried media, and some of it crossed between them. */
    long rx0 = tst_metric(port, "urtc_shard_rx_packets_total{shard=\"0\"}");
    long rx1 = tst_metric(port, "urtc_shard_rx_packets_total{shard=\"1\"}");
    long xs = tst_metric(port, "urtc_sfu_cross_shard_packets_total");
    fprintf(stderr, "shard rx packets %ld and %ld, %ld across shards\n", rx0, rx1, xs);
    cr_expect_gt(rx0, 500, "shard 0 received %ld packets", rx0);
    cr_expect_gt(rx1, 500, "shard 1 received %ld packets", rx1);
    cr_expect_gt(xs, 500, "%ld packets crossed shards", xs);
    cr_expect(metric_reaches("urtc_sfu_members", 0, 30), "every member freed");
    tst_server_stop(&server_pid);
    for (int i = 0; i < 3; i++) {
        /* ~7 s together at 25 fps and 50 audio frames a second; a loaded 2-core machine (or
         * ASan) may take seconds to connect, so the bounds are generous. */
        for (int k = 0; k < 3; k++)
            if (k != i)
                expect_from(j[i], names[i], k + 1, 50, 100);
        cr_expect_eq(tst_jint(j[i], "video_pattern_unreadable"), 0);
        cr_expect_geq(tst_jint(j[i], "offers_received"), 1, "%s answered the server", names[i]);
        /* The chat channel relays through the server: a message a second from each other. */
        long dm = tst_jint(j[i], "datachannel_messages_received");
        cr_expect_geq(dm, 6, "%s received %ld data-channel messages", names[i], dm);
        json_decref(j[i]);
    }
}

/* @t (ms) comes after @after. */
static bool any_after(json_t *arr, long after)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (json_integer_value(v) > after)
            return true;
    }
    return false;
}

Test(peer_sfu, dropped_websocket_frees_the_member_and_the_others_go_on, .timeout = 120)
{
    tst_one_at_a_time();
    const char *peer = tst_need_bin("urtc-peer");
    server_start();
    int fa, fb, fc;
    pid_t a = bot(peer, "drop", "a", "16", &fa);
    cr_assert(metric_reaches("urtc_sfu_members", 1, 20));
    pid_t b = bot(peer, "drop", "b", "16", &fb);
    cr_assert(metric_reaches("urtc_sfu_members", 2, 20));
    pid_t c = bot(peer, "drop", "c", "60", &fc);
    cr_assert(metric_reaches("urtc_sfu_members", 3, 20));
    cr_assert_eq(tst_metric(port, "urtc_peers"), 3);
    sleep(4); /* the three exchange media */
    /* c vanishes: no leave, no Close frame; the kernel closes its TCP. */
    kill(c, SIGKILL);
    int st;
    waitpid(c, &st, 0);
    close(fc);
    int members = metric_wait("urtc_sfu_members", 2, 30);
    int peers = metric_wait("urtc_peers", 2, 30);
    fprintf(stderr, "after the kill: urtc_sfu_members 2 after %d s, urtc_peers 2 after %d more s\n",
            members, peers);
    cr_expect_geq(members, 0, "c's peer connection and legs freed: urtc_sfu_members %ld",
                  tst_metric(port, "urtc_sfu_members"));
    cr_expect_geq(peers, 0, "c left its room: urtc_peers %ld", tst_metric(port, "urtc_peers"));
    json_t *ja = bot_report(a, fa, "a"), *jb = bot_report(b, fb, "b");
    cr_expect(metric_reaches("urtc_sfu_members", 0, 30), "every member freed");
    cr_expect(metric_reaches("urtc_rooms", 0, 30), "the room is gone");
    tst_server_stop(&server_pid);
    json_t *both[2] = {ja, jb};
    const char *names[2] = {"a", "b"};
    for (int i = 0; i < 2; i++) {
        json_t *j = both[i];
        json_t *left = json_object_get(j, "peers_left_ms");
        /* c's is the first (b may also see a leave: it started a second later) */
        cr_assert_geq(json_array_size(left), 1, "%s saw c's peer-left", names[i]);
        long t_left = (long)json_integer_value(json_array_get(left, 0));
        /* The server renegotiated after c went (its legs inactive). */
        cr_expect(any_after(json_object_get(j, "offers_ms"), t_left),
                  "%s got an offer after peer-left at %ld ms", names[i], t_left);
        /* c's media came, then stopped; the other's media went on for seconds after. */
        expect_from(j, names[i], 3, 25, 50);
        expect_from(j, names[i], i == 0 ? 2 : 1, 100, 200);
        json_t *other = source(j, i == 0 ? 2 : 1);
        long last = other ? (long)json_integer_value(json_object_get(other, "last_ms")) : 0;
        cr_expect_gt(last, t_left + 4000, "%s still received from %s at %ld ms (peer-left at %ld)",
                     names[i], names[1 - i], last, t_left);
        json_decref(j);
    }
}
