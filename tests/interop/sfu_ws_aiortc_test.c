/* tests/interop/sfu_ws_aiortc_test.c: the sfu room mode of the WebSocket protocol with real
 * third-party peers. An aiortc 1.4 member joins a room with "mode": "sfu" and answers the
 * server's offers (member 0); an aiortc WHIP publisher joins the same room for a few seconds
 * and leaves. The member must get three offers (join, publisher in, publisher out), answer them
 * all, and decode the publisher's audio and video; closing its WebSocket frees everything. One
 * room member per SFU shard, so the media crosses shards. Runs in a private network namespace
 * (skipped where unshare is not permitted). */
#include "engine/engine_priv.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "signaling/signaling.h"
#include "tests/support/tst.h"

static eng_sfu_t *sfu;

static pid_t spawn(const char *script, const char *a1, const char *a2, const char *a3, int *out)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        execl("/usr/bin/python3", "python3", tst_src_path(script), a1, a2, a3, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    *out = p[0];
    return pid;
}

/* The child's one JSON line (bounded wait), then its exit. */
static void result(pid_t pid, int fd, char *line, size_t cap, int timeout_ms)
{
    size_t n = 0;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        cr_assert_gt(poll(&p, 1, timeout_ms), 0, "the aiortc process reports in time");
        if (read(fd, line + n, 1) != 1 || line[n] == '\n' || n + 2 >= cap)
            break;
        n++;
    }
    line[n] = 0;
    close(fd);
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
}

static bool wait_stats(bool (*cond)(const eng_sfu_stats_t *), int ms)
{
    for (int i = 0; i < ms / 20; i++) {
        eng_sfu_stats_t st;
        eng_sfu_stats_get(sfu, &st);
        if (cond(&st))
            return true;
        usleep(20000);
    }
    return false;
}

static bool one_member(const eng_sfu_stats_t *st)
{
    return st->members == 1;
}
static bool none(const eng_sfu_stats_t *st)
{
    return st->members == 0 && st->rooms == 0;
}

/* The integer after "key": in @line, -1 if absent. */
static long field(const char *line, const char *key)
{
    char pat[32];
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    const char *p = strstr(line, pat);
    return p ? strtol(p + strlen(pat), NULL, 10) : -1;
}

Test(sfu_ws, aiortc_member_sees_aiortc_whip_publisher, .timeout = 120)
{
    if (unshare(CLONE_NEWNET) != 0)
        cr_skip_test("unshare(CLONE_NEWNET) not permitted: cannot isolate aiortc");
    cr_assert_eq(system("ip link set lo up"), 0);
    urtc_engine_config_t ecfg = {.shards = 2};
    urtc_engine_t *ue = urtc_engine_create(&ecfg);
    cr_assert_not_null(ue);
    eng_sfu_cfg_t scfg = {.room_max_per_shard = 1};
    sfu = eng_sfu_create(ue->e, &scfg);
    cr_assert_not_null(sfu);
    sig_cfg_t sc = {.listen = "127.0.0.1:0", .web_root = "web", .sfu = sfu};
    sig_server_t *sig = sig_server_start(&sc, ue->e);
    cr_assert_not_null(sig);
    net_addr_t sa;
    sig_server_addr(sig, &sa);
    char ws[96], whip[96];
    snprintf(ws, sizeof ws, "ws://127.0.0.1:%u/ws", net_addr_port(&sa));
    snprintf(whip, sizeof whip, "http://127.0.0.1:%u/whip/r2", net_addr_port(&sa));

    int mfd, pfd;
    pid_t member = spawn("tests/interop/sfu_ws_aiortc.py", ws, "r2", "18", &mfd);
    cr_assert(wait_stats(one_member, 20000), "the WebSocket member is in the SFU room");
    usleep(1500000); /* it answers the first offer and connects */
    pid_t pub = spawn("tests/interop/sfu_whip_aiortc.py", whip, "6", NULL, &pfd);
    char line[4096];
    result(pub, pfd, line, sizeof line, 40000);
    cr_assert_not_null(strstr(line, "\"status\": 201"), "publisher: %s", line);
    cr_assert_not_null(strstr(line, "\"delete\": 200"), "publisher: %s", line);
    result(member, mfd, line, sizeof line, 40000);
    cr_assert_not_null(strstr(line, "\"errors\": []"), "member: %s", line);
    cr_assert_not_null(strstr(line, "\"state\": \"connected\""), "member: %s", line);
    cr_assert_geq(field(line, "offers"), 3, "join, publisher in, publisher out: %s", line);
    cr_assert_geq(field(line, "video"), 30, "member: %s", line);
    cr_assert_geq(field(line, "audio"), 30, "member: %s", line);
    /* Its WebSocket closed: it left the room and the SFU. */
    cr_assert(wait_stats(none, 5000), "members and rooms freed");
    eng_sfu_stats_t st;
    eng_sfu_stats_get(sfu, &st);
    cr_assert_gt(st.xshard_fwd, 0, "the media crossed shards");

    sig_server_stop(sig);
    urtc_engine_destroy(ue);
    eng_sfu_destroy(sfu);
}
