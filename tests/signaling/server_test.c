/* tests/signaling/server_test.c: the signaling server against real clients. Each test starts a
 * server in this process (one engine shard on an ephemeral UDP port, the signaling thread on
 * 127.0.0.1 port 0) and runs tests/signaling/sig_client.py, which speaks HTTP through raw
 * sockets and WebSocket through Debian's python3-websockets. The client checks every answer
 * and ends by checking the server still answers /healthz; here we check its exit status.
 * Also: the urtc-server program itself (--help, the token subcommand, SIGTERM). */
#include "signaling/signaling.h"

#include "tests/support/proc.h"
#include "tests/support/tst.h"

#include <criterion/criterion.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PY "/usr/bin/python3"

static bool have_websockets(void)
{
    return system(PY " -c 'import websockets' 2>/dev/null") == 0;
}

/* Runs sig_client.py against @s; its exit status (0: every check passed). */
static int run_client(sig_server_t *s, const char *scenario, const char *arg)
{
    net_addr_t a;
    sig_server_addr(s, &a);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "timeout 60 " PY " %s %u %s %s",
             tst_src_path("tests/signaling/sig_client.py"), net_addr_port(&a), scenario,
             arg ? arg : "");
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

typedef struct fixture {
    eng_t *eng;
    sig_server_t *sig;
} fixture_t;

static void start(fixture_t *f, sig_cfg_t *cfg)
{
    if (!have_websockets())
        cr_skip_test("python3-websockets is not installed");
    eng_cfg_t ec = {.shards = 1, .udp_port = 0, .pool_pkts = 256, .rx_bufs = 64};
    f->eng = eng_create(&ec);
    cr_assert_not_null(f->eng);
    cfg->listen = "127.0.0.1:0";
    cfg->web_root = tst_src_path("web");
    f->sig = sig_server_start(cfg, f->eng);
    cr_assert_not_null(f->sig);
}

static void stop(fixture_t *f)
{
    sig_server_stop(f->sig);
    eng_destroy(f->eng);
}

Test(signaling_server, http_static_files_errors_metrics_whip, .timeout = 90)
{
    fixture_t f;
    sig_cfg_t cfg = {0};
    start(&f, &cfg);
    cr_expect_eq(run_client(f.sig, "http", NULL), 0);
    stop(&f);
}

Test(signaling_server, websocket_bad_input_gets_errors_and_close_codes, .timeout = 90)
{
    fixture_t f;
    sig_cfg_t cfg = {0};
    start(&f, &cfg);
    cr_expect_eq(run_client(f.sig, "ws", NULL), 0);
    stop(&f);
}

Test(signaling_server, p2p_relay_between_two_clients, .timeout = 90)
{
    fixture_t f;
    sig_cfg_t cfg = {0};
    start(&f, &cfg);
    cr_expect_eq(run_client(f.sig, "p2p", NULL), 0);
    stop(&f);
}

Test(signaling_server, room_cap_and_message_rate_limit, .timeout = 90)
{
    fixture_t f;
    sig_cfg_t cfg = {.max_room_peers = 2, .msg_rate = 20};
    start(&f, &cfg);
    cr_expect_eq(run_client(f.sig, "caps", NULL), 0);
    stop(&f);
}

Test(signaling_server, tokens_accept_refuse_expire, .timeout = 90)
{
    fixture_t f;
    sig_cfg_t cfg = {.secret = "s3cret"};
    start(&f, &cfg);
    char ok[SIG_TOKEN_MAX_LEN + 1], other[SIG_TOKEN_MAX_LEN + 1], old[SIG_TOKEN_MAX_LEN + 1];
    uint64_t now = (uint64_t)time(NULL);
    cr_assert_gt(sig_token_make("s3cret", "sec", now + 600, ok, sizeof ok), 0);
    cr_assert_gt(sig_token_make("s3cret", "another", now + 600, other, sizeof other), 0);
    cr_assert_gt(sig_token_make("s3cret", "sec", now - 5, old, sizeof old), 0);
    char arg[3 * SIG_TOKEN_MAX_LEN + 8];
    snprintf(arg, sizeof arg, "%s,%s,%s", ok, other, old);
    cr_expect_eq(run_client(f.sig, "tokens", arg), 0);
    stop(&f);
}

Test(signaling_server, websocket_idle_timeout_and_keepalive, .timeout = 90)
{
    fixture_t f;
    sig_cfg_t cfg = {.ws_ping_ms = 300};
    start(&f, &cfg);
    cr_expect_eq(run_client(f.sig, "idle", NULL), 0);
    stop(&f);
}

Test(signaling_server, per_ip_connection_limit)
{
    fixture_t f;
    sig_cfg_t cfg = {.max_conns_ip = 3};
    start(&f, &cfg);
    net_addr_t a;
    sig_server_addr(f.sig, &a);
    int fds[4];
    for (int i = 0; i < 4; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        cr_assert_eq(connect(fds[i], &a.sa, a.len), 0);
    }
    /* The fourth is answered 503 and closed; the first three stay open. */
    char buf[256];
    ssize_t n = read(fds[3], buf, sizeof buf - 1);
    cr_assert_gt(n, 0);
    buf[n] = 0;
    cr_expect(strstr(buf, "503") != NULL, "got %s", buf);
    const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    cr_assert_eq(write(fds[0], req, sizeof req - 1), (ssize_t)sizeof req - 1);
    n = read(fds[0], buf, sizeof buf - 1);
    cr_assert_gt(n, 0);
    buf[n] = 0;
    cr_expect(strstr(buf, "200 OK") != NULL);
    for (int i = 0; i < 4; i++)
        close(fds[i]);
    stop(&f);
}

/* ---- the program ---- */

/* build/<dir>/urtc-server, next to this test's build directory; NULL if not built. */
static const char *server_bin(void)
{
    static char path[PATH_MAX];
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return NULL;
    self[n] = 0;
    /* <build>/tests/signaling/server_test */
    char *d = dirname(dirname(dirname(self)));
    snprintf(path, sizeof path, "%s/urtc-server", d);
    return access(path, X_OK) == 0 ? path : NULL;
}

static char *run_capture(const char *cmd, int *status)
{
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    static char out[8192];
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = 0;
    *status = pclose(p);
    return out;
}

Test(signaling_program, help_lists_the_contract_flags)
{
    const char *bin = server_bin();
    if (!bin)
        cr_skip_test("urtc-server is not built in this build directory");
    char cmd[PATH_MAX + 32];
    snprintf(cmd, sizeof cmd, "%s --help", bin);
    int st;
    char *out = run_capture(cmd, &st);
    cr_assert_eq(WEXITSTATUS(st), 0);
    const char *flags[] = {"--listen", "--media-ip", "--udp-port", "--shards", "--secret",
                           "--web",    "--mode",     "token",      "--ttl",    "--room"};
    for (size_t i = 0; i < NET_ARRAY_LEN(flags); i++)
        cr_expect(strstr(out, flags[i]) != NULL, "--help mentions %s", flags[i]);
    snprintf(cmd, sizeof cmd, "%s --bogus 2>/dev/null", bin);
    run_capture(cmd, &st);
    cr_expect_eq(WEXITSTATUS(st), 2);
}

Test(signaling_program, token_subcommand_prints_a_valid_token)
{
    const char *bin = server_bin();
    if (!bin)
        cr_skip_test("urtc-server is not built in this build directory");
    char cmd[PATH_MAX + 64];
    snprintf(cmd, sizeof cmd, "%s token --room R1 --ttl 3600 --secret abc", bin);
    int st;
    char *out = run_capture(cmd, &st);
    cr_assert_eq(WEXITSTATUS(st), 0);
    size_t len = strcspn(out, "\n");
    uint64_t now = (uint64_t)time(NULL);
    cr_expect_eq(sig_token_check("abc", "R1", out, len, now), 0);
    cr_expect_eq(sig_token_check("abc", "R2", out, len, now), -EACCES);
    cr_expect_eq(sig_token_check("abd", "R1", out, len, now), -EACCES);
    cr_expect_eq(sig_token_check("abc", "R1", out, len, now + 3601), -ETIMEDOUT);
    snprintf(cmd, sizeof cmd, "%s token --room 'bad room' --secret abc 2>/dev/null", bin);
    run_capture(cmd, &st);
    cr_expect_eq(WEXITSTATUS(st), 2);
}

Test(signaling_program, starts_serves_and_stops_on_sigterm, .timeout = 30)
{
    const char *bin = server_bin();
    if (!bin)
        cr_skip_test("urtc-server is not built in this build directory");
    const char *argv[] = {bin,        "--listen", "127.0.0.1:0", "--udp-port",        "0",
                          "--shards", "2",        "--web",       tst_src_path("web"), NULL};
    int out;
    pid_t pid = tst_spawn(argv, &out);
    char line[512];
    ssize_t n = read(out, line, sizeof line - 1);
    cr_assert_gt(n, 0);
    line[n] = 0;
    char *p = strstr(line, "http://127.0.0.1:");
    cr_assert_not_null(p, "startup line: %s", line);
    int port = atoi(p + strlen("http://127.0.0.1:"));
    cr_assert_gt(port, 0);
    cr_expect(strstr(line, "2 shards") != NULL);
    net_addr_t a;
    cr_assert_eq(net_addr_set(&a, "127.0.0.1", (uint16_t)port), 0);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_eq(connect(fd, &a.sa, a.len), 0);
    const char req[] = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    cr_assert_eq(write(fd, req, sizeof req - 1), (ssize_t)sizeof req - 1);
    static char resp[65536];
    size_t got = 0;
    while ((n = read(fd, resp + got, sizeof resp - 1 - got)) > 0)
        got += (size_t)n;
    resp[got] = 0;
    close(fd);
    cr_expect(strstr(resp, "urtc_shard_rx_packets_total{shard=\"1\"}") != NULL);
    cr_assert_eq(kill(pid, SIGTERM), 0);
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "clean exit on SIGTERM (status %d)", st);
    close(out);
}

/* A raw WebSocket client: connects and completes the handshake. */
static int ws_connect(const net_addr_t *a)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_eq(connect(fd, &a->sa, a->len), 0);
    const char req[] = "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                       "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                       "Sec-WebSocket-Version: 13\r\n\r\n";
    cr_assert_eq(write(fd, req, sizeof req - 1), (ssize_t)sizeof req - 1);
    char buf[512];
    size_t got = 0;
    while (!memmem(buf, got, "\r\n\r\n", 4)) {
        ssize_t n = read(fd, buf + got, sizeof buf - got);
        cr_assert_gt(n, 0);
        got += (size_t)n;
    }
    cr_assert(memmem(buf, got, "101 Switching Protocols", 23) != NULL);
    return fd;
}

Test(signaling_server, stop_sends_1001_to_websocket_clients)
{
    fixture_t f;
    sig_cfg_t cfg = {0};
    start(&f, &cfg);
    net_addr_t a;
    sig_server_addr(f.sig, &a);
    int fd = ws_connect(&a);
    sig_server_stop(f.sig); /* returns once every connection is closed */
    uint8_t buf[64];
    ssize_t n = read(fd, buf, sizeof buf);
    cr_assert_geq(n, 4);
    cr_expect_eq(buf[0], 0x88, "a Close frame");
    cr_expect_eq(net_rd16be(buf + 2), 1001);
    cr_expect_eq(read(fd, buf, sizeof buf), 0, "then the server closes TCP");
    close(fd);
    eng_destroy(f.eng);
}

Test(signaling_server, http_connection_without_a_request_is_closed_after_the_idle_time)
{
    fixture_t f;
    sig_cfg_t cfg = {.http_idle_ms = 200};
    start(&f, &cfg);
    net_addr_t a;
    sig_server_addr(f.sig, &a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_eq(connect(fd, &a.sa, a.len), 0);
    const char part[] = "GET / HTTP/1.1\r\nHost: x\r\n"; /* never finished */
    cr_assert_eq(write(fd, part, sizeof part - 1), (ssize_t)sizeof part - 1);
    uint64_t t0 = net_clock_ns();
    char buf[64];
    cr_expect_eq(read(fd, buf, sizeof buf), 0, "closed without an answer");
    uint64_t dt_ms = (net_clock_ns() - t0) / NET_NS_PER_MS;
    cr_expect(dt_ms >= 150 && dt_ms < 2000, "after %lu ms", (unsigned long)dt_ms);
    close(fd);
    stop(&f);
}

Test(signaling_server, churn_of_120_clients_frees_every_member_and_room, .timeout = 90)
{
    fixture_t f;
    sig_cfg_t cfg = {.max_conns_ip = 256, .max_room_peers = 16};
    start(&f, &cfg);
    cr_expect_eq(run_client(f.sig, "churn", NULL), 0);
    stop(&f);
}
