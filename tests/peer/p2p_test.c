/* tests/peer/p2p_test.c: two urtc-peer processes call each other through a real urtc-server
 * in p2p mode (WebSocket signaling on 127.0.0.1, media over loopback UDP): each must decode
 * the other's test pattern in order and receive its Opus, and messages and a file cross the data
 * channel; urtc-peer publishes with WHIP and another views with WHEP through the server's SFU;
 * each example of examples/ runs against the server; --help, usage errors, refused requests.
 * The programs come from this build directory (skipped if they are not built: `make` builds
 * them). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/proc.h"
#include "tests/support/tst.h"

#define CALL_SECONDS 6

/* Criterion runs this file's tests one by one (it reads CRITERION_JOBS when it starts);
 * tst_one_at_a_time() also serializes them with other runs of the process tests. */
__attribute__((constructor)) static void serial_runner(void)
{
    setenv("CRITERION_JOBS", "1", 0);
}

static pid_t server_pid;
static char ws_url[128];

static void server_start(void)
{
    const char *extra[] = {"--shards", "1", "--mode", "p2p", NULL};
    int port = tst_server_start(extra, &server_pid);
    snprintf(ws_url, sizeof ws_url, "ws://127.0.0.1:%d/ws", port);
}

static void server_stop(void)
{
    tst_server_stop(&server_pid);
}

Test(peer, two_peers_call_through_the_server_p2p, .timeout = 60)
{
    tst_one_at_a_time();
    const char *peer = tst_need_bin("urtc-peer");
    server_start();
    char dur[8];
    snprintf(dur, sizeof dur, "%d", CALL_SECONDS);
    /* alice also sends a file over the data channel: 300 kB of pseudo-random bytes. */
    char file[] = "/tmp/urtc-peer-test-XXXXXX";
    int ffd = mkstemp(file);
    cr_assert_geq(ffd, 0);
    static uint8_t bytes[300000];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof bytes; i++) {
        x = x * 1103515245u + 12345u;
        bytes[i] = (uint8_t)(x >> 16);
    }
    cr_assert_eq(write(ffd, bytes, sizeof bytes), (ssize_t)sizeof bytes);
    close(ffd);
    const char *a_argv[] = {peer,      "--signal",    ws_url,       "--room", "t1",
                            "--name",  "alice",       "--duration", dur,      "--json",
                            "--quiet", "--send-file", file,         NULL};
    const char *b_argv[] = {peer,  "--signal",   ws_url, "--room", "t1",      "--name",
                            "bob", "--duration", dur,    "--json", "--quiet", NULL};
    int afd, bfd;
    pid_t a = tst_spawn(a_argv, &afd);
    usleep(500000); /* alice is in the room: bob offers to her */
    pid_t b = tst_spawn(b_argv, &bfd);
    char *aout = tst_read_all(afd, (CALL_SECONDS + 10) * 1000);
    char *bout = tst_read_all(bfd, 10000);
    int ast, bst;
    waitpid(a, &ast, 0);
    waitpid(b, &bst, 0);
    close(afd);
    close(bfd);
    server_stop();
    unlink(file);
    fprintf(stderr, "alice: %s\nbob: %s\n", aout, bout);
    cr_assert(WIFEXITED(ast) && WEXITSTATUS(ast) == 0, "alice exit %d", ast);
    cr_assert(WIFEXITED(bst) && WEXITSTATUS(bst) == 0, "bob exit %d", bst);
    json_t *ja = tst_last_json(aout), *jb = tst_last_json(bout);
    json_t *both[2] = {ja, jb};
    for (int i = 0; i < 2; i++) {
        json_t *j = both[i];
        const char *who = i ? "bob" : "alice";
        cr_expect_eq(tst_jint(j, "peers"), 1, "%s: one peer", who);
        cr_expect_eq(tst_jint(j, "connected"), 1, "%s: connected", who);
        /* 25 fps for at least ~4 s of the call after connecting. */
        long vd = tst_jint(j, "video_frames_decoded");
        cr_expect_geq(vd, 60, "%s decoded %ld frames", who, vd);
        cr_expect_eq(tst_jint(j, "video_frames_out_of_order"), 0, "%s: frames in order", who);
        cr_expect_eq(tst_jint(j, "video_pattern_unreadable"), 0, "%s: pattern readable", who);
        cr_expect_leq(tst_jint(j, "video_frames_missing"), 2, "%s: frames missing", who);
        cr_expect_eq(tst_jint(j, "video_width"), 320);
        cr_expect_eq(tst_jint(j, "video_height"), 180);
        long ap = tst_jint(j, "audio_packets_received");
        cr_expect_geq(ap, 150, "%s received %ld audio packets", who, ap);
        cr_expect_geq(tst_jint(j, "audio_frames_decoded"), 150);
        cr_expect_gt(json_real_value(json_object_get(j, "audio_tone_db")), 10.0,
                     "%s: the decoded audio is the 440 Hz tone", who);
        cr_expect_leq(tst_jint(j, "packets_lost"), 5, "%s: loopback loses nothing", who);
        /* A chat message every second each way (the file's messages come on top). */
        long dm = tst_jint(j, "datachannel_messages_received");
        cr_expect_geq(dm, 3, "%s received %ld data-channel messages", who, dm);
        /* The chat messages ("hello N from NAME") of the one other peer: in order, none lost. */
        json_t *chat = json_array_get(json_object_get(j, "chat_received"), 0);
        cr_expect(chat && tst_jint(chat, "messages") >= 3 && tst_jint(chat, "missing") == 0 &&
                      tst_jint(chat, "out_of_order") == 0 && tst_jint(chat, "duplicates") == 0,
                  "%s: chat from the other in order, complete", who);
        /* The data-channel ping's round trip, on loopback: well under 100 ms. */
        json_t *rtt = json_object_get(j, "rtt_ms");
        cr_expect(json_is_real(rtt) && json_real_value(rtt) > 0 && json_real_value(rtt) < 100,
                  "%s: rtt_ms %f", who, json_number_value(rtt));
        /* The same from RTCP: the other side's report blocks about our SRs (RFC 3550 §6.4.1).
         * It includes each side's delay before it handles a report (a busy shard: under ASan
         * on a loaded machine means of 130-300 ms were seen); a misread DLSR would be seconds
         * off, negative or never match. rtc/rtcp and rtc/rtp_recovery check the arithmetic. */
        json_t *rr = json_object_get(j, "rtcp_rtt_ms");
        cr_expect(json_is_real(rr) && json_real_value(rr) >= 0 && json_real_value(rr) < 500,
                  "%s: rtcp_rtt_ms %f", who, json_number_value(rr));
        cr_expect_eq(tst_jint(j, "rtx_received"), 0, "%s: loopback needs no repair", who);
    }
    /* bob got alice's file whole (its SHA-256 checked against her closing message). */
    cr_expect(json_is_true(json_object_get(jb, "datachannel_file_ok")), "bob: file intact");
    cr_expect_geq(tst_jint(jb, "datachannel_bytes_received"), (long)sizeof bytes);
    cr_expect(json_is_null(json_object_get(ja, "datachannel_file_ok")), "alice got no file");
    /* Each side's decoded frames cannot exceed what the other sent. */
    cr_expect_leq(tst_jint(ja, "video_frames_decoded"), tst_jint(jb, "video_frames_sent"));
    cr_expect_leq(tst_jint(jb, "video_frames_decoded"), tst_jint(ja, "video_frames_sent"));
    json_decref(ja);
    json_decref(jb);
}

/* A mesh of three: each member connects to both others and decodes both patterns. */
Test(peer, three_peers_mesh, .timeout = 60)
{
    tst_one_at_a_time();
    const char *peer = tst_need_bin("urtc-peer");
    server_start();
    const char *names[3] = {"a", "b", "c"};
    pid_t pids[3];
    int fds[3];
    for (int i = 0; i < 3; i++) {
        const char *argv[] = {peer,     "--signal",   ws_url, "--room", "mesh",    "--name",
                              names[i], "--duration", "6",    "--json", "--quiet", NULL};
        pids[i] = tst_spawn(argv, &fds[i]);
        usleep(400000);
    }
    for (int i = 0; i < 3; i++) {
        char *out = tst_read_all(fds[i], 20000);
        int st;
        waitpid(pids[i], &st, 0);
        close(fds[i]);
        fprintf(stderr, "%s: %s\n", names[i], out);
        cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s exit %d", names[i], st);
        json_t *j = tst_last_json(out);
        cr_expect_eq(tst_jint(j, "peers"), 2, "%s: two peers", names[i]);
        cr_expect_eq(tst_jint(j, "connected"), 2, "%s: both connected", names[i]);
        long vd = tst_jint(j, "video_frames_decoded");
        cr_expect_geq(vd, 2 * 50, "%s decoded %ld frames from two senders", names[i], vd);
        cr_expect_eq(tst_jint(j, "video_frames_out_of_order"), 0);
        cr_expect_eq(tst_jint(j, "video_pattern_unreadable"), 0);
        cr_expect_geq(tst_jint(j, "audio_packets_received"), 2 * 100);
        json_decref(j);
    }
    server_stop();
}

Test(peer, help_and_usage_errors)
{
    const char *peer = tst_need_bin("urtc-peer");
    char cmd[PATH_MAX + 64];
    snprintf(cmd, sizeof cmd, "%s --help", peer);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    static char out[8192];
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = 0;
    cr_assert_eq(WEXITSTATUS(pclose(p)), 0);
    const char *flags[] = {"--signal",
                           "--room",
                           "--name",
                           "--whip",
                           "--whep",
                           "--duration",
                           "--json",
                           "--token",
                           "video_frames_decoded",
                           "audio_packets_received",
                           "datachannel_messages_received",
                           "packets_lost",
                           "rtt_ms",
                           "rtcp_rtt_ms",
                           "nacks_sent",
                           "keyframe_requests_sent",
                           "--chat-until",
                           "chat_received"};
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        cr_expect(strstr(out, flags[i]) != NULL, "--help mentions %s", flags[i]);
    const char *bad[] = {"",
                         "--signal ws://x/ws",
                         "--whip http://a/ --whep http://b/",
                         "--signal ws://x/ws --room r --duration 0",
                         "--signal ws://x/ws --room r --chat-until 0",
                         "--bogus"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(cmd, sizeof cmd, "%s %s >/dev/null 2>&1", peer, bad[i]);
        int st = system(cmd);
        cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 2, "'%s' is a usage error", bad[i]);
    }
}

Test(peer, unreachable_server_and_refused_whip_exit_1, .timeout = 30)
{
    const char *peer = tst_need_bin("urtc-peer");
    server_start();
    char cmd[PATH_MAX + 256];
    /* No WebSocket server there (port 1 on loopback refuses). */
    snprintf(cmd, sizeof cmd,
             "%s --signal ws://127.0.0.1:1/ws --room r --duration 2 --quiet >/dev/null 2>&1", peer);
    int st = system(cmd);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 1, "unreachable signaling: exit %d", st);
    /* A WHIP POST that does not get 201 (an invalid room name: 404). */
    int port = atoi(strrchr(ws_url, ':') + 1);
    snprintf(cmd, sizeof cmd,
             "%s --whip http://127.0.0.1:%d/whip/bad!room --duration 2 --quiet >/dev/null 2>&1",
             peer, port);
    st = system(cmd);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 1, "WHIP without a 201: exit %d", st);
    server_stop();
}

/* ---- examples/ ---- */

/* The examples run from this build directory (build/<dir>/examples/<name>). */
static const char *example(const char *name)
{
    char rel[64];
    snprintf(rel, sizeof rel, "examples/%s", name);
    return tst_bin_path(rel);
}

Test(peer, example_echo_sends_back_media_and_messages, .timeout = 60)
{
    tst_one_at_a_time();
    const char *echo = example("echo"), *peer = tst_bin_path("urtc-peer");
    if (!echo || !peer)
        cr_skip_test("examples/echo or urtc-peer not built in this build directory");
    server_start();
    const char *e_argv[] = {echo, ws_url, "e1", "12", NULL};
    int efd, pfd;
    pid_t e = tst_spawn(e_argv, &efd);
    usleep(500000); /* echo waits in the room; urtc-peer offers to it */
    const char *p_argv[] = {peer,         "--signal", ws_url,   "--room",  "e1",
                            "--duration", "5",        "--json", "--quiet", NULL};
    pid_t p = tst_spawn(p_argv, &pfd);
    char *pout = tst_read_all(pfd, 20000);
    int pst, est;
    waitpid(p, &pst, 0);
    kill(e, SIGTERM);
    char *eout = tst_read_all(efd, 10000);
    waitpid(e, &est, 0);
    close(efd);
    close(pfd);
    server_stop();
    fprintf(stderr, "echo: %s\nurtc-peer: %s\n", eout, pout);
    cr_assert(WIFEXITED(est) && WEXITSTATUS(est) == 0, "echo exit %d", est);
    json_t *j = tst_last_json(pout);
    /* urtc-peer decodes its own pattern and tone, coming back through the echo. */
    long vd = tst_jint(j, "video_frames_decoded"), vs = tst_jint(j, "video_frames_sent");
    cr_expect_geq(vd, 50, "decoded %ld echoed frames", vd);
    cr_expect_leq(vd, vs, "no more frames back than sent");
    cr_expect_eq(tst_jint(j, "video_frames_out_of_order"), 0);
    cr_expect_eq(tst_jint(j, "video_pattern_unreadable"), 0);
    cr_expect_geq(tst_jint(j, "audio_frames_decoded"), 100);
    cr_expect_gt(json_real_value(json_object_get(j, "audio_tone_db")), 10.0);
    cr_expect_geq(tst_jint(j, "datachannel_messages_received"), 2, "messages echoed");
    cr_expect(json_is_real(json_object_get(j, "rtt_ms")), "a round trip through the echo");
    cr_expect_not_null(strstr(eout, "connected"));
    json_decref(j);
}

Test(peer, example_p2p_call_both_sides_decode, .timeout = 60)
{
    tst_one_at_a_time();
    const char *call = example("p2p_call");
    if (!call)
        cr_skip_test("examples/p2p_call not built in this build directory");
    server_start();
    const char *a_argv[] = {call, ws_url, "c1", "alice", "5", NULL};
    const char *b_argv[] = {call, ws_url, "c1", "bob", "4", NULL};
    int afd, bfd;
    pid_t a = tst_spawn(a_argv, &afd);
    usleep(500000);
    pid_t b = tst_spawn(b_argv, &bfd);
    char *bout = tst_read_all(bfd, 20000), *aout = tst_read_all(afd, 20000);
    int ast, bst;
    waitpid(a, &ast, 0);
    waitpid(b, &bst, 0);
    close(afd);
    close(bfd);
    server_stop();
    fprintf(stderr, "alice: %s\nbob: %s\n", aout, bout);
    const char *outs[2] = {aout, bout};
    for (int i = 0; i < 2; i++) {
        unsigned v = 0, au = 0;
        const char *s = strstr(outs[i], "decoded ");
        cr_assert_not_null(s);
        cr_assert_eq(sscanf(s, "decoded %u video frames and %u audio frames", &v, &au), 2);
        cr_expect_geq(v, 25, "%s decoded %u video frames", i ? "bob" : "alice", v);
        cr_expect_geq(au, 50, "%s decoded %u audio frames", i ? "bob" : "alice", au);
    }
    cr_expect(WIFEXITED(ast) && WEXITSTATUS(ast) == 0);
    cr_expect(WIFEXITED(bst) && WEXITSTATUS(bst) == 0);
}

/* Runs datachannel_chat with @line typed after @delay_s, stdin open for @hold_s more. */
static pid_t chat_spawn(const char *bin, const char *name, const char *line, int *out_fd)
{
    int in[2];
    cr_assert_eq(pipe(in), 0);
    const char *argv[] = {bin, ws_url, "chat1", name, NULL};
    int out[2];
    cr_assert_eq(pipe(out), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[1]);
        close(out[0]);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    *out_fd = out[0];
    /* a writer child: the line once the channel is surely up, then EOF a little later */
    pid_t w = fork();
    cr_assert_geq(w, 0);
    if (w == 0) {
        sleep(3);
        if (write(in[1], line, strlen(line)) < 0)
            _exit(1);
        sleep(2);
        _exit(0);
    }
    close(in[1]);
    return pid;
}

Test(peer, example_datachannel_chat_both_ways, .timeout = 60)
{
    tst_one_at_a_time();
    const char *chat = example("datachannel_chat");
    if (!chat)
        cr_skip_test("examples/datachannel_chat not built in this build directory");
    server_start();
    int afd, bfd;
    pid_t a = chat_spawn(chat, "alice", "hi from alice\n", &afd);
    usleep(500000);
    pid_t b = chat_spawn(chat, "bob", "hello from bob\n", &bfd);
    char *aout = tst_read_all(afd, 20000), *bout = tst_read_all(bfd, 20000);
    int ast, bst;
    waitpid(a, &ast, 0);
    waitpid(b, &bst, 0);
    while (waitpid(-1, NULL, WNOHANG) > 0) /* the writers */
        ;
    close(afd);
    close(bfd);
    server_stop();
    fprintf(stderr, "alice: %s\nbob: %s\n", aout, bout);
    cr_expect_not_null(strstr(aout, "] hello from bob"), "alice got bob's line");
    cr_expect_not_null(strstr(bout, "] hi from alice"), "bob got alice's line");
    cr_expect(WIFEXITED(ast) && WEXITSTATUS(ast) == 0);
    cr_expect(WIFEXITED(bst) && WEXITSTATUS(bst) == 0);
}

/* WHIP publish and WHEP view through urtc-server's SFU (sfu mode, two shards). */
Test(peer, whip_publish_whep_view_through_the_sfu, .timeout = 60)
{
    tst_one_at_a_time();
    const char *peer = tst_need_bin("urtc-peer");
    const char *extra[] = {"--shards", "2", NULL};
    int port = tst_server_start(extra, &server_pid);
    char whip[96], whep[96];
    snprintf(whip, sizeof whip, "http://127.0.0.1:%d/whip/w1", port);
    snprintf(whep, sizeof whep, "http://127.0.0.1:%d/whep/w1", port);
    const char *w_argv[] = {peer, "--whip", whip, "--duration", "7", "--json", "--quiet", NULL};
    const char *v_argv[] = {peer, "--whep", whep, "--duration", "4", "--json", "--quiet", NULL};
    int wfd, vfd;
    pid_t w = tst_spawn(w_argv, &wfd);
    usleep(1500000); /* the publisher is in; the viewer gets its tracks in the first answer */
    pid_t v = tst_spawn(v_argv, &vfd);
    char *vout = tst_read_all(vfd, 20000), *wout = tst_read_all(wfd, 20000);
    int wst, vst;
    waitpid(w, &wst, 0);
    waitpid(v, &vst, 0);
    close(wfd);
    close(vfd);
    server_stop();
    fprintf(stderr, "whip: %s\nwhep: %s\n", wout, vout);
    cr_assert(WIFEXITED(wst) && WEXITSTATUS(wst) == 0, "publisher exit %d", wst);
    cr_assert(WIFEXITED(vst) && WEXITSTATUS(vst) == 0, "viewer exit %d", vst);
    json_t *jw = tst_last_json(wout), *jv = tst_last_json(vout);
    cr_expect_eq(tst_jint(jw, "connected"), 1);
    cr_expect_gt(tst_jint(jw, "video_frames_sent"), 100);
    cr_expect_eq(tst_jint(jv, "connected"), 1);
    long vd = tst_jint(jv, "video_frames_decoded");
    cr_expect_geq(vd, 40, "the viewer decoded %ld frames of the published pattern", vd);
    cr_expect_eq(tst_jint(jv, "video_frames_out_of_order"), 0);
    cr_expect_eq(tst_jint(jv, "video_pattern_unreadable"), 0);
    cr_expect_eq(tst_jint(jv, "video_width"), 320);
    cr_expect_geq(tst_jint(jv, "audio_frames_decoded"), 100);
    cr_expect_gt(json_real_value(json_object_get(jv, "audio_tone_db")), 10.0);
    cr_expect_eq(tst_jint(jv, "audio_frames_sent"), 0, "WHEP sends nothing");
    cr_expect(json_is_null(json_object_get(jv, "rtt_ms")), "no data channel: no RTT");
    /* The SFU's receiver reports answer the publisher's SRs (LSR/DLSR): an RTT at the
     * publisher; the viewer sends no SR, so it has none. */
    cr_expect(json_is_real(json_object_get(jw, "rtcp_rtt_ms")),
              "publisher: RTT from the SFU's RRs");
    cr_expect(json_is_null(json_object_get(jv, "rtcp_rtt_ms")), "viewer: no RTT");
    json_decref(jw);
    json_decref(jv);
}
