/* tests/interop/ice_aioice_test.c: urtc's ICE agent against aioice 0.8 (Debian python3-aioice)
 * over real UDP sockets on 127.0.0.1, in both roles. The test enters a private network
 * namespace (unshare(CLONE_NEWNET), then `ip link set lo up`) so nothing can leave loopback;
 * it is skipped only when that is not permitted. Signaling is one JSON line each way over the
 * peer's stdin/stdout (tests/interop/aioice_peer.py). */
#include "rtc/ice/ice.h"

#include "tests/support/tst.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <jansson.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NET_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

static bool enter_netns(void)
{
    if (unshare(CLONE_NEWNET) != 0)
        return false;
    return system("ip link set lo up") == 0;
}

typedef struct peer {
    pid_t pid;
    int in_fd, out_fd; /* we write in_fd (its stdin), read out_fd (its stdout) */
    char buf[8192];
    size_t len;
} peer_t;

static void peer_spawn(peer_t *p, const char *script, const char *arg)
{
    int to[2], from[2];
    cr_assert_eq(pipe(to), 0);
    cr_assert_eq(pipe(from), 0);
    p->pid = fork();
    cr_assert_geq(p->pid, 0);
    if (p->pid == 0) {
        dup2(to[0], 0);
        dup2(from[1], 1);
        close(to[1]);
        close(from[0]);
        execl("/usr/bin/python3", "python3", tst_src_path(script), arg, (char *)NULL);
        _exit(127);
    }
    close(to[0]);
    close(from[1]);
    p->in_fd = to[1];
    p->out_fd = from[0];
    p->len = 0;
}

/* A complete line from the peer if one is buffered (NUL-terminated, removed from the
 * buffer into @line), else false. */
static bool peer_line(peer_t *p, char *line, size_t cap)
{
    char *nl = memchr(p->buf, '\n', p->len);
    if (!nl)
        return false;
    size_t n = (size_t)(nl - p->buf);
    cr_assert_lt(n, cap);
    memcpy(line, p->buf, n);
    line[n] = 0;
    memmove(p->buf, nl + 1, p->len - n - 1);
    p->len -= n + 1;
    return true;
}

static void peer_read(peer_t *p)
{
    ssize_t r = read(p->out_fd, p->buf + p->len, sizeof p->buf - p->len - 1);
    if (r > 0)
        p->len += (size_t)r;
}

static void peer_kill(peer_t *p)
{
    if (p->pid > 0) {
        kill(p->pid, SIGKILL);
        waitpid(p->pid, NULL, 0);
        p->pid = 0;
    }
    close(p->in_fd);
    close(p->out_fd);
}

static void send_out(int fd, rtc_ice_out_t *out)
{
    for (size_t i = 0; i < out->cnt; i++) {
        rtc_ice_dgram_t *d = &out->dg[i];
        cr_assert(!d->relayed);
        cr_assert_eq(net_addr_family(&d->dst), AF_INET);
        (void)sendto(fd, d->data, d->len, 0, &d->dst.sa, d->dst.len);
    }
    out->cnt = 0;
}

static void run(bool urtc_controlling, bool lite)
{
    if (!enter_netns())
        cr_skip_test("unshare(CLONE_NEWNET) not permitted: cannot isolate the aioice peer");

    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    cr_assert_geq(fd, 0);
    net_addr_t local;
    cr_assert_eq(net_addr_parse(&local, "127.0.0.1:0", -1), 0);
    cr_assert_eq(bind(fd, &local.sa, local.len), 0);
    local.len = sizeof local.in4;
    cr_assert_eq(getsockname(fd, &local.sa, &local.len), 0);

    peer_t p;
    peer_spawn(&p, "tests/interop/aioice_peer.py", urtc_controlling ? "controlled" : "controlling");

    uint64_t t0 = mono_ns(), deadline = t0 + 20 * NET_NS_PER_SEC;
    char line[8192];
    /* 1. the peer's credentials and candidates */
    while (!peer_line(&p, line, sizeof line)) {
        cr_assert_lt(mono_ns(), deadline, "aioice did not start");
        struct pollfd pf = {p.out_fd, POLLIN, 0};
        if (poll(&pf, 1, 100) > 0)
            peer_read(&p);
    }
    json_error_t jerr;
    json_t *j = json_loads(line, 0, &jerr);
    cr_assert(j, "bad line from aioice: %s", line);

    rtc_ice_cfg_t cfg = {.controlling = urtc_controlling, .lite = lite};
    rtc_ice_t *ice = rtc_ice_create(&cfg);
    cr_assert(ice);
    uint64_t now = mono_ns();
    cr_assert_geq(rtc_ice_add_host(ice, &local, now), 0);
    rtc_ice_gather_done(ice, now);
    cr_assert_eq(rtc_ice_set_remote_creds(ice, json_string_value(json_object_get(j, "ufrag")),
                                          json_string_value(json_object_get(j, "pwd")), now),
                 0);
    json_t *cands = json_object_get(j, "candidates"), *c;
    size_t k;
    int remote_cnt = 0;
    json_array_foreach(cands, k, c)
    {
        char cl[512];
        snprintf(cl, sizeof cl, "candidate:%s", json_string_value(c));
        rtc_ice_cand_t rc;
        cr_assert_eq(rtc_ice_cand_parse(cl, strlen(cl), &rc), 0, "%s", cl);
        cr_assert_eq(rtc_ice_add_remote(ice, &rc, now), 0);
        remote_cnt++;
    }
    cr_assert_gt(remote_cnt, 0);
    rtc_ice_remote_done(ice, now);
    json_decref(j);

    /* 2. ours, through the local-candidate events */
    json_t *mine = json_object();
    json_t *mc = json_array();
    rtc_ice_event_t ev;
    while (rtc_ice_poll(ice, &ev))
        if (ev.type == RTC_ICE_EV_LOCAL_CANDIDATE) {
            char cl[512];
            cr_assert_gt(rtc_ice_cand_fmt(&ev.cand, cl, sizeof cl), 0);
            json_array_append_new(mc, json_string(cl + strlen("candidate:")));
        }
    json_object_set_new(mine, "ufrag", json_string(rtc_ice_local_ufrag(ice)));
    json_object_set_new(mine, "pwd", json_string(rtc_ice_local_pwd(ice)));
    json_object_set_new(mine, "candidates", mc);
    char *s = json_dumps(mine, JSON_COMPACT);
    cr_assert(write(p.in_fd, s, strlen(s)) == (ssize_t)strlen(s) && write(p.in_fd, "\n", 1) == 1);
    free(s);
    json_decref(mine);

    /* 3. run the agent on the real socket until aioice reports */
    rtc_ice_dgram_t dg[16];
    rtc_ice_out_t out = {dg, NET_ARRAY_LEN(dg), 0};
    bool got_hello = false, got_echo = false, peer_ok = false, completed = false;
    char peer_got[256] = "";
    uint64_t last_data = 0;
    while (mono_ns() < deadline && !(peer_ok && got_hello && got_echo)) {
        now = mono_ns();
        uint64_t dl = rtc_ice_deadline(ice);
        int wait_ms = 20;
        if (dl <= now)
            wait_ms = 0;
        else if (dl - now < 20 * NET_NS_PER_MS)
            wait_ms = (int)((dl - now) / NET_NS_PER_MS);
        struct pollfd pf[2] = {{fd, POLLIN, 0}, {p.out_fd, POLLIN, 0}};
        (void)poll(pf, 2, wait_ms);
        now = mono_ns();
        if (pf[1].revents & (POLLIN | POLLHUP)) {
            peer_read(&p);
            while (peer_line(&p, line, sizeof line)) {
                json_t *r = json_loads(line, 0, &jerr);
                cr_assert(r, "bad line: %s", line);
                cr_assert(json_is_true(json_object_get(r, "ok")), "aioice: %s", line);
                snprintf(peer_got, sizeof peer_got, "%s",
                         json_string_value(json_object_get(r, "got")));
                peer_ok = true;
                json_decref(r);
            }
            if (pf[1].revents & POLLHUP && !peer_ok)
                cr_assert_fail("aioice exited early");
        }
        for (int n = 0; n < 64; n++) {
            uint8_t b[2048];
            net_addr_t src;
            src.len = sizeof src.in6;
            ssize_t r = recvfrom(fd, b, sizeof b, 0, &src.sa, &src.len);
            if (r < 0)
                break;
            if (r > 0 && b[0] < 4) { /* RFC 7983: STUN */
                int ir = rtc_ice_input(ice, b, (size_t)r, &src, &local, now, &out);
                cr_assert(ir == 0 || ir == -ENOENT, "input %d", ir);
                send_out(fd, &out);
            } else if (r == 17 && !memcmp(b, "hello from aioice", 17)) {
                got_hello = true;
            } else if (r > 5 && !memcmp(b, "echo:hello from urtc", 20)) {
                got_echo = true;
            }
        }
        if (rtc_ice_deadline(ice) <= now) {
            rtc_ice_tick(ice, now, &out);
            send_out(fd, &out);
        }
        while (rtc_ice_poll(ice, &ev))
            if (ev.type == RTC_ICE_EV_STATE && ev.state == RTC_ICE_COMPLETED)
                completed = true;
        net_addr_t l, r;
        if (rtc_ice_selected(ice, &l, &r, NULL) == 0 && now - last_data > 100 * NET_NS_PER_MS) {
            last_data = now;
            (void)sendto(fd, "hello from urtc", 15, 0, &r.sa, r.len);
        }
    }
    cr_assert(completed, "urtc agent did not complete (state %s)",
              rtc_ice_state_name(rtc_ice_state(ice)));
    cr_assert(peer_ok, "aioice did not connect");
    cr_assert_str_eq(peer_got, "hello from urtc");
    cr_assert(got_hello, "no data from aioice");
    cr_assert(got_echo, "no echo from aioice");
    cr_assert_eq(rtc_ice_controlling(ice), urtc_controlling);
    if (lite)
        cr_assert_eq(rtc_ice_stats(ice)->checks_sent, 0);
    int status = 0;
    for (int i = 0; i < 50 && waitpid(p.pid, &status, WNOHANG) == 0; i++)
        usleep(100000);
    peer_kill(&p);
    rtc_ice_destroy(ice);
    close(fd);
}

Test(ice_aioice, urtc_controlling, .timeout = 40)
{
    run(true, false);
}

Test(ice_aioice, urtc_controlled, .timeout = 40)
{
    run(false, false);
}

/* urtc as the lite server (what urtc-server runs), aioice the full controlling client */
Test(ice_aioice, urtc_lite, .timeout = 40)
{
    run(false, true);
}
