/* tests/bench/load_test.c: `urtc-bench load` itself. Two tiny runs of the real program against
 * the real urtc-server on loopback (a fan-out 1->3 and an audio room of 2 speakers and 2
 * listeners, about 5 s each), whose --json line must hold sane figures: every client
 * connected, every stream asked for arrived (and no more), packets forwarded, loss under a
 * generous bound, setup and transit medians not above their p99, the CPU figures present.
 * Then the pure helpers of bench/load_core.c (linked in): setup-time percentiles, the window
 * figures from two snapshots, and the ramp's stop rule. No timing is asserted: speed is what
 * urtc-bench measures, not what a test on a shared machine can check. */
#include "bench/load.h"
#include "tests/support/proc.h"
#include "tests/support/tst.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define OUT_CAP (256 * 1024)
#define RUN_LIMIT_MS 90000 /* a run that hangs is killed: the test fails, it does not hang */

/* Runs urtc-bench with @args (NULL-terminated, after the program name) and returns its stdout
 * (malloc'd); the exit status in @status. Bounded: killed after RUN_LIMIT_MS. */
static char *run_bench(const char *const *args, int *status)
{
    /* build[/SAN]/urtc-bench, beside this binary's build[/SAN]/tests/bench/. */
    const char *path = tst_bin_path("urtc-bench");
    cr_assert_not_null(path, "urtc-bench is not built in this build directory (make builds it)");
    const char *argv[32] = {path};
    int argc = 1;
    for (; args[argc - 1] && argc < 31; argc++)
        argv[argc] = args[argc - 1];
    argv[argc] = NULL;
    int fd;
    pid_t pid = tst_spawn(argv, &fd);
    char *out = malloc(OUT_CAP);
    cr_assert_not_null(out);
    size_t len = 0;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &t);
        long ms = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
        if (ms > RUN_LIMIT_MS) {
            kill(pid, SIGKILL);
            break;
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 200) <= 0)
            continue;
        ssize_t r = read(fd, out + len, OUT_CAP - 1 - len);
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    out[len] = 0;
    close(fd);
    cr_assert_eq(waitpid(pid, status, 0), pid);
    return out;
}

static double num(json_t *j, const char *pfx, const char *name)
{
    char key[96];
    snprintf(key, sizeof key, "%s_%s", pfx, name);
    json_t *v = json_object_get(json_object_get(j, "results"), key);
    cr_assert(json_is_number(v), "results.%s present", key);
    return json_number_value(v);
}

/* The figures of scenario @pfx with @clients clients whose subscribers asked for @streams. */
static void check_scenario(json_t *j, const char *pfx, int clients, int streams)
{
    cr_expect_eq(num(j, pfx, "connected"), clients, "%s: every client connected", pfx);
    cr_expect_eq(num(j, pfx, "failed"), 0, "%s: none failed", pfx);
    cr_expect_eq(num(j, pfx, "streams_expected"), streams, "%s: streams asked for", pfx);
    cr_expect_eq(num(j, pfx, "streams"), streams, "%s: every stream arrived, no other", pfx);
    cr_expect_eq(num(j, pfx, "streams_missing"), 0, "%s", pfx);
    cr_expect_gt(num(j, pfx, "fwd_pps"), 0, "%s: packets forwarded", pfx);
    double loss = num(j, pfx, "loss");
    cr_expect(loss >= 0 && loss < 0.2, "%s: loss %.3f (a loaded machine may lose some)", pfx, loss);
    double s50 = num(j, pfx, "setup_p50_ms"), s99 = num(j, pfx, "setup_p99_ms");
    cr_expect(s50 > 0 && s50 <= s99, "%s: setup p50 %.2f <= p99 %.2f ms", pfx, s50, s99);
    double t50 = num(j, pfx, "transit_p50_ms"), t99 = num(j, pfx, "transit_p99_ms");
    cr_expect(t50 > 0 && t50 <= t99, "%s: transit p50 %.2f <= p99 %.2f ms", pfx, t50, t99);
    cr_expect_gt(num(j, pfx, "server_cpu"), 0, "%s: server CPU from /proc", pfx);
    cr_expect_gt(num(j, pfx, "client_cpu"), 0, "%s: the bench's own CPU", pfx);
    cr_expect_gt(num(j, pfx, "cpu_us_per_pkt"), 0, "%s", pfx);
    cr_expect_gt(num(j, pfx, "pps_per_core"), 0, "%s", pfx);
    cr_expect_geq(num(j, pfx, "rss_per_peer_kib"), 0, "%s", pfx);
}

/* The direct baseline (one publisher, one subscriber, no server) runs before every scenario. */
static void check_direct(json_t *j)
{
    cr_expect_eq(num(j, "direct", "connected"), 2);
    cr_expect_gt(num(j, "direct", "fwd_pps"), 0);
    cr_expect_leq(num(j, "direct", "setup_p50_ms"), num(j, "direct", "setup_p99_ms"));
}

/* Runs urtc-bench with @args, which must exit 0 and end with the JSON line of the contract
 * (docs/bench-load.md); the direct baseline that runs first must be sane. Returns the JSON;
 * the output in @out (free()). */
static json_t *run_load(const char *const *args, char **out)
{
    int status;
    *out = run_bench(args, &status);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "urtc-bench load exit %d: %s", status,
              *out);
    json_t *j = tst_last_json(*out);
    cr_assert_str_eq(json_string_value(json_object_get(j, "bench")), "load");
    cr_assert(json_is_object(json_object_get(j, "results")));
    check_direct(j);
    return j;
}

Test(load, fanout_1x3_json, .timeout = 120)
{
    const char *args[] = {"load", "--scenario", "fanout", "--k",    "3", "--secs",
                          "2",    "--warmup",   "0.5",    "--json", NULL};
    char *out;
    json_t *j = run_load(args, &out);
    check_scenario(j, "fanout", 4, 3 * 2); /* 3 subscribers x (audio + video) */
    cr_expect(
        json_is_number(json_object_get(json_object_get(j, "ratios"), "transit_p50_vs_direct")));
    json_decref(j);
    free(out);
}

/* 2 speakers, 2 listeners offering 2 recvonly audio sections each: the WHEP regression of
 * sfu::whep_viewer_gets_every_publisher as the bench saw it ("only 2 of the 4 streams"). */
Test(load, audio_room_2x2_json, .timeout = 120)
{
    const char *args[] = {"load",        "--scenario", "audio",  "--speakers", "2",
                          "--listeners", "2",          "--secs", "2",          "--warmup",
                          "0.5",         "--json",     NULL};
    char *out;
    json_t *j = run_load(args, &out);
    check_scenario(j, "audio", 4, 2 * 2);
    cr_expect_null(strstr(out, "only "), "no missing streams reported: %s", out);
    json_decref(j);
    free(out);
}

/* ---- urtc-bench soak ------------------------------------------------------------------------ */

static double res(json_t *j, const char *key)
{
    json_t *v = json_object_get(json_object_get(j, "results"), key);
    cr_assert(json_is_number(v), "results.%s present", key);
    return json_number_value(v);
}

/* A short soak: 6 peers in two sfu rooms of 3 over the WebSocket room protocol (each answers
 * the server's renegotiations as the others join), 3 samples. Everyone connects and receives
 * the 2 others' audio and video, nothing grows or leaks an fd, nothing is lost on loopback, and
 * closing the WebSockets frees every member. */
Test(load, soak_short_json, .timeout = 120)
{
    const char *args[] = {"soak",     "--peers",    "6",          "--room-size", "3",
                          "--warmup", "1",          "--duration", "4",           "--interval",
                          "2",        "--loss-pct", "5",          "--json",      NULL};
    int status;
    char *out = run_bench(args, &status);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "urtc-bench soak exit %d: %s", status,
              out);
    json_t *j = tst_last_json(out);
    cr_assert_str_eq(json_string_value(json_object_get(j, "bench")), "soak");
    cr_expect_eq(res(j, "ok"), 1, "%s", out);
    cr_expect_eq(res(j, "connected"), 6);
    cr_expect_eq(res(j, "ended"), 0);
    cr_expect_eq(res(j, "samples"), 3);
    cr_expect_eq(res(j, "streams_expected"), 6 * 2 * 2);
    cr_expect_eq(res(j, "streams"), 6 * 2 * 2, "every peer got both others' tracks: %s", out);
    cr_expect_gt(res(j, "rx_packets"), 6 * 2 * 50, "media flowed between the samples");
    cr_expect_eq(res(j, "srv_fds_last"), res(j, "srv_fds_first"));
    cr_expect_gt(res(j, "srv_rss_first_kib"), 0);
    cr_expect_eq(res(j, "members_left"), 0, "every member freed after the WebSockets closed");
    cr_expect_eq(res(j, "signaling_errors"), 0);
    json_decref(j);
    free(out);
}

/* The verdict can fail: a loss limit no run can meet turns the same healthy run into exit 1
 * with "ok": 0; bad sizes are refused with exit 2 before anything starts. */
Test(load, soak_verdict_fails, .timeout = 120)
{
    const char *args[] = {"soak",     "--peers",    "4",          "--room-size", "2",
                          "--warmup", "0.5",        "--duration", "1",           "--interval",
                          "1",        "--loss-pct", "-1",         "--json",      NULL};
    int status;
    char *out = run_bench(args, &status);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 1, "exit %d: %s", status, out);
    json_t *j = tst_last_json(out);
    cr_expect_eq(res(j, "ok"), 0);
    cr_expect_eq(res(j, "connected"), 4, "the run itself was healthy: %s", out);
    cr_expect_not_null(strstr(out, "limit -1.00%: FAILED"), "%s", out);
    json_decref(j);
    free(out);
    const char *bad[] = {"soak", "--peers", "4", "--room-size", "1", NULL};
    out = run_bench(bad, &status);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 2, "room size 1 refused: %d", status);
    free(out);
}

/* ---- Pure helpers of bench/load_core.c ------------------------------------------------------ */

/* Setup percentiles: nearest rank over the connected clients; failed ones are counted, not
 * ranked. */
Test(load, setup_percentiles)
{
    enum { N = 101 };
    static lg_client_t c[N];
    lg_client_t *cl[N];
    for (int i = 0; i < N; i++) {
        cl[i] = &c[i];
        /* setup (i + 1) ms, shuffled: the helper must sort */
        int v = (i * 37) % 100 + 1;
        c[i].t0_ns = 1000000000ull + (uint64_t)i;
        c[i].t_conn_ns = c[i].t0_ns + (uint64_t)v * 1000000;
        atomic_store(&c[i].state, i == N - 1 ? LG_FAILED : LG_CONNECTED);
    }
    lg_result_t r = {0};
    lg_setup_times(cl, N, &r);
    cr_expect_eq(r.connected, 100);
    cr_expect_eq(r.failed, 1);
    cr_expect_float_eq(r.setup_p50_ms, 51.0, 1e-9); /* v[k / 2] of 1..100 */
    cr_expect_float_eq(r.setup_p99_ms, 99.0, 1e-9); /* ceil(0.99 x 100) = 99th */
    cr_expect_leq(r.setup_p50_ms, r.setup_p99_ms);

    /* one and two clients: the median is never above the p99 */
    for (int n = 1; n <= 2; n++) {
        lg_result_t s = {0};
        lg_setup_times(cl, n, &s);
        cr_expect_eq(s.connected, n);
        cr_expect_leq(s.setup_p50_ms, s.setup_p99_ms, "n=%d: %f > %f", n, s.setup_p50_ms,
                      s.setup_p99_ms);
    }
    lg_result_t none = {0};
    atomic_store(&c[0].state, LG_FAILED);
    lg_setup_times(cl, 1, &none);
    cr_expect_eq(none.connected, 0);
    cr_expect_eq(none.setup_p50_ms, 0);
}

/* A window from two snapshots: rates over the window, loss from expected packets, transit
 * percentiles from the 10 us histogram, CPU per packet. */
Test(load, window_figures)
{
    static uint32_t ha[LG_HIST + 1], hb[LG_HIST + 1];
    lg_snap_t a = {.t_ns = 1000000000ull, .hist = ha}, b = a;
    b.hist = hb;
    b.t_ns = a.t_ns + 2000000000ull; /* 2 s */
    b.rx_pkts = 1980;
    b.expected = 2000;
    b.rx_bytes = 1980 * 1000;
    b.lat_n = 1000;
    b.srv_cpu_ns = 10000000; /* 10 ms */
    b.streams = 3;
    hb[100] = 501; /* 1.00-1.01 ms: the median */
    hb[200] = 488; /* 2.00-2.01 ms */
    hb[500] = 11;  /* 5.00-5.01 ms: the top 1.1% */
    lg_result_t r = {0};
    lg_result_fill(NULL, &a, &b, &r);
    cr_expect_float_eq(r.fwd_pps, 990.0, 1e-6);
    cr_expect_float_eq(r.loss, 0.01, 1e-9);
    cr_expect_float_eq(r.fwd_kbps, 7920.0, 1e-6);
    cr_expect_float_eq(r.lat_p50_ms, 1.005, 1e-9);
    cr_expect_float_eq(r.lat_p99_ms, 5.005, 1e-9);
    cr_expect_float_eq(r.srv_cpu, 0.005, 1e-9);
    cr_expect_float_eq(r.cpu_us_per_pkt, 10000.0 / 1980, 1e-9);
    cr_expect_float_eq(r.fwd_pps_per_core, 198000.0, 1e-6);
    cr_expect_eq(r.streams, 3);

    /* more received than expected (duplicates, RTX): no negative loss */
    b.rx_pkts = 2100;
    lg_result_fill(NULL, &a, &b, &r);
    cr_expect_eq(r.loss, 0);
}

/* The ramp goes on while a step passes: loss <= 1%, p99 transit <= 50 ms, <= 1% failed. */
Test(load, ramp_stop_rule)
{
    lg_result_t ok = {.pubs = 1, .subs = 99, .connected = 100, .loss = 0.01, .lat_p99_ms = 50};
    cr_expect(lg_step_ok(&ok));
    lg_result_t r = ok;
    r.loss = 0.0101;
    cr_expect_not(lg_step_ok(&r), "loss above 1%%");
    r = ok;
    r.lat_p99_ms = 50.01;
    cr_expect_not(lg_step_ok(&r), "p99 above 50 ms");
    r = ok;
    r.connected = 99;
    r.failed = 1;
    cr_expect(lg_step_ok(&r), "1 of 100 failed is 1%%");
    r.connected = 98;
    r.failed = 2;
    cr_expect_not(lg_step_ok(&r), "2 of 100 failed");
    r = (lg_result_t){.pubs = 1, .subs = 4};
    cr_expect_not(lg_step_ok(&r), "nothing connected");
}
