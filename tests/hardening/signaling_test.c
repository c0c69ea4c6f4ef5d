/* tests/hardening/signaling_test.c: urtc's signaling under abuse, against a server in this
 * process (one engine shard, the signaling thread on 127.0.0.1 port 0) and
 * tests/hardening/sig_abuse.py (Debian python3-websockets and raw sockets): the server-wide
 * caps (--max-rooms, --max-peers, --max-conns) answer with their documented errors, and junk
 * thrown at the HTTP port leaves connected members' relay intact. The per-room cap, the rate
 * limit, the per-IP limit and tokens are in tests/signaling/server_test.c. */
#include "signaling/signaling.h"

#include "tests/support/tst.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#define PY "/usr/bin/python3"

typedef struct fixture {
    eng_t *eng;
    sig_server_t *sig;
} fixture_t;

static void start(fixture_t *f, sig_cfg_t *cfg)
{
    if (system(PY " -c 'import websockets' 2>/dev/null") != 0)
        cr_skip_test("python3-websockets is not installed");
    eng_cfg_t ec = {.shards = 1, .udp_port = 0, .pool_pkts = 256, .rx_bufs = 64};
    f->eng = eng_create(&ec);
    cr_assert_not_null(f->eng);
    cfg->listen = "127.0.0.1:0";
    cfg->web_root = tst_src_path("web");
    f->sig = sig_server_start(cfg, f->eng);
    cr_assert_not_null(f->sig);
}

static int run(fixture_t *f, const char *scenario)
{
    net_addr_t a;
    sig_server_addr(f->sig, &a);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "timeout 60 " PY " %s %u %s",
             tst_src_path("tests/hardening/sig_abuse.py"), net_addr_port(&a), scenario);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void stop(fixture_t *f)
{
    sig_server_stop(f->sig);
    eng_destroy(f->eng);
}

Test(hardening_signaling, server_caps_answer_with_clear_errors, .timeout = 90)
{
    fixture_t f;
    sig_cfg_t cfg = {.max_rooms = 2, .max_peers = 3, .max_conns = 8};
    start(&f, &cfg);
    cr_expect_eq(run(&f, "caps"), 0);
    stop(&f);
}

Test(hardening_signaling, junk_on_the_http_port_while_members_chat, .timeout = 90)
{
    fixture_t f;
    sig_cfg_t cfg = {.http_idle_ms = 2000, .max_conns_ip = 1000};
    start(&f, &cfg);
    cr_expect_eq(run(&f, "junk"), 0);
    stop(&f);
}
