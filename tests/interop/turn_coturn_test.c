/* tests/interop/turn_coturn_test.c: urtc's TURN client against a real coturn (Debian coturn
 * 4.6), started by the test in a private network namespace on 127.0.0.1. Two urtc ICE agents
 * with the relay-only policy connect through it (relay <-> relay) and exchange data; a client
 * with a wrong password gets 401. Skipped only when unshare(CLONE_NEWNET) is not permitted. */
#include "rtc/ice/ice.h"
#include "rtc/turn/turn.h"

#include "tests/support/tst.h"

#include <criterion/criterion.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NET_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

static pid_t start_coturn(const char *dir)
{
    char log[256], pid[256], db[256];
    snprintf(log, sizeof log, "--log-file=%s/turn.log", dir);
    snprintf(pid, sizeof pid, "--pidfile=%s/turn.pid", dir);
    snprintf(db, sizeof db, "--userdb=%s/turndb", dir);
    pid_t p = fork();
    cr_assert_geq(p, 0);
    if (p == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        execlp("turnserver", "turnserver", "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
               "--listening-port=3478", "--min-port=49160", "--max-port=49260",
               "--allow-loopback-peers", "--no-cli", "--no-tls", "--no-dtls", "--lt-cred-mech",
               "--user=u:p", "--realm=urtc", "--simple-log", log, pid, db, (char *)NULL);
        _exit(127);
    }
    return p;
}

typedef struct side {
    int fd;
    net_addr_t sock;
    rtc_turn_t *turn;
    rtc_ice_t *ice;
    net_addr_t relayed;
    bool relay_added, completed;
    int host_cands, relay_cands;
    int data_rx;
} side_t;

static net_addr_t server;

static void side_init(side_t *s, bool controlling, const char *pass)
{
    memset(s, 0, sizeof *s);
    s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    cr_assert_geq(s->fd, 0);
    cr_assert_eq(net_addr_parse(&s->sock, "127.0.0.1:0", -1), 0);
    cr_assert_eq(bind(s->fd, &s->sock.sa, s->sock.len), 0);
    s->sock.len = sizeof s->sock.in4;
    cr_assert_eq(getsockname(s->fd, &s->sock.sa, &s->sock.len), 0);
    rtc_turn_cfg_t tc = {.server = server, .user = "u", .pass = pass, .software = "urtc"};
    s->turn = rtc_turn_create(&tc);
    cr_assert(s->turn);
    rtc_ice_cfg_t ic = {.controlling = controlling, .relay_only = true};
    s->ice = rtc_ice_create(&ic);
    cr_assert(s->ice);
}

static void side_fini(side_t *s)
{
    rtc_turn_destroy(s->turn);
    rtc_ice_destroy(s->ice);
    close(s->fd);
}

static void turn_flush(side_t *s, rtc_turn_out_t *to)
{
    for (size_t i = 0; i < to->cnt; i++)
        (void)sendto(s->fd, to->msg[i].data, to->msg[i].len, 0, &server.sa, server.len);
    to->cnt = 0;
}

static void ice_flush(side_t *s, rtc_ice_out_t *io, rtc_turn_out_t *to, uint64_t now)
{
    for (size_t i = 0; i < io->cnt; i++) {
        rtc_ice_dgram_t *d = &io->dg[i];
        cr_assert(d->relayed, "relay-only agent sent a datagram outside the relay");
        cr_assert(net_addr_eq(&d->local, &s->relayed));
        uint8_t buf[2048];
        int n = rtc_turn_send(s->turn, &d->dst, d->data, d->len, buf, sizeof buf, now, to);
        cr_assert_gt(n, 0);
        (void)sendto(s->fd, buf, (size_t)n, 0, &server.sa, server.len);
    }
    io->cnt = 0;
    turn_flush(s, to);
}

/* Both sides, one step: I/O, timers, events. */
static void step(side_t *sd, int n_sides, side_t *peer_of[], int wait_ms)
{
    struct pollfd pf[2];
    for (int i = 0; i < n_sides; i++)
        pf[i] = (struct pollfd){sd[i].fd, POLLIN, 0};
    (void)poll(pf, (nfds_t)n_sides, wait_ms);
    uint64_t now = mono_ns();
    rtc_turn_msg_t tm[16];
    rtc_turn_out_t to = {tm, 16, 0};
    rtc_ice_dgram_t dg[16];
    rtc_ice_out_t io = {dg, 16, 0};
    for (int i = 0; i < n_sides; i++) {
        side_t *s = &sd[i];
        for (int k = 0; k < 64; k++) {
            uint8_t b[2048];
            net_addr_t src;
            src.len = sizeof src.in6;
            ssize_t r = recvfrom(s->fd, b, sizeof b, 0, &src.sa, &src.len);
            if (r <= 0)
                break;
            cr_assert(net_addr_eq(&src, &server), "datagram not from the TURN server");
            net_addr_t peer;
            net_view_t pl;
            int tr = rtc_turn_input(s->turn, b, (size_t)r, now, &to, &peer, &pl);
            turn_flush(s, &to);
            if (tr != 1)
                continue;
            if (pl.len && pl.p[0] < 4) {
                int ir = rtc_ice_input(s->ice, pl.p, pl.len, &peer, &s->relayed, now, &io);
                cr_assert(ir == 0 || ir == -ENOENT, "ice input %d", ir);
                ice_flush(s, &io, &to, now);
            } else if (pl.len >= 4 && !memcmp(pl.p, "data", 4)) {
                s->data_rx++;
            }
        }
        if (rtc_turn_deadline(s->turn) <= now) {
            rtc_turn_tick(s->turn, now, &to);
            turn_flush(s, &to);
        }
        if (!s->relay_added && rtc_turn_relayed(s->turn, &s->relayed, NULL) == 0) {
            s->relay_added = true;
            cr_assert_geq(rtc_ice_add_relay(s->ice, &s->sock, &s->relayed, &server, now), 0);
            rtc_ice_gather_done(s->ice, now);
        }
        if (rtc_ice_deadline(s->ice) <= now) {
            rtc_ice_tick(s->ice, now, &io);
            ice_flush(s, &io, &to, now);
        }
        rtc_ice_event_t ev;
        while (rtc_ice_poll(s->ice, &ev)) {
            side_t *o = peer_of ? peer_of[i] : NULL;
            if (ev.type == RTC_ICE_EV_LOCAL_CANDIDATE) {
                if (ev.cand.type == RTC_ICE_HOST)
                    s->host_cands++;
                else if (ev.cand.type == RTC_ICE_RELAY)
                    s->relay_cands++;
                if (o) {
                    cr_assert_eq(rtc_ice_add_remote(o->ice, &ev.cand, now), 0);
                    /* the other side's relay must be allowed to reach this candidate */
                    cr_assert_eq(rtc_turn_permit(o->turn, &ev.cand.addr, now, &to), 0);
                    turn_flush(o, &to);
                }
            } else if (ev.type == RTC_ICE_EV_END_OF_CANDIDATES && o) {
                rtc_ice_remote_done(o->ice, now);
            } else if (ev.type == RTC_ICE_EV_STATE && ev.state == RTC_ICE_COMPLETED) {
                s->completed = true;
            }
        }
    }
}

Test(turn_coturn, relay_only_agents_connect_through_coturn, .timeout = 60)
{
    if (unshare(CLONE_NEWNET) != 0)
        cr_skip_test("unshare(CLONE_NEWNET) not permitted: cannot isolate coturn");
    cr_assert_eq(system("ip link set lo up"), 0);
    char dir[] = "/tmp/urtc-turn-XXXXXX";
    cr_assert(mkdtemp(dir));
    pid_t coturn = start_coturn(dir);
    cr_assert_eq(net_addr_parse(&server, "127.0.0.1:3478", -1), 0);

    side_t sd[2];
    side_init(&sd[0], true, "p");
    side_init(&sd[1], false, "p");
    side_t *peer_of[2] = {&sd[1], &sd[0]};
    uint64_t now = mono_ns();
    /* credentials through "signaling" */
    for (int i = 0; i < 2; i++) {
        side_t *o = peer_of[i];
        cr_assert_eq(rtc_ice_set_remote_creds(sd[i].ice, rtc_ice_local_ufrag(o->ice),
                                              rtc_ice_local_pwd(o->ice), now),
                     0);
        /* a host candidate too: relay-only must neither signal nor use it */
        cr_assert_geq(rtc_ice_add_host(sd[i].ice, &sd[i].sock, now), 0);
        rtc_turn_msg_t tm[4];
        rtc_turn_out_t to = {tm, 4, 0};
        cr_assert_eq(rtc_turn_start(sd[i].turn, now, &to), 0);
        turn_flush(&sd[i], &to);
    }
    /* a third client with a wrong password */
    side_t bad;
    side_init(&bad, true, "wrong");
    {
        rtc_turn_msg_t tm[4];
        rtc_turn_out_t to = {tm, 4, 0};
        cr_assert_eq(rtc_turn_start(bad.turn, now, &to), 0);
        turn_flush(&bad, &to);
    }

    uint64_t deadline = mono_ns() + 30 * NET_NS_PER_SEC;
    while (mono_ns() < deadline && !(sd[0].completed && sd[1].completed)) {
        step(sd, 2, peer_of, 10);
        step(&bad, 1, NULL, 0);
    }
    cr_assert_eq(rtc_turn_state(sd[0].turn), RTC_TURN_ALLOCATED, "turn A: state %d error %u",
                 rtc_turn_state(sd[0].turn), rtc_turn_error(sd[0].turn));
    cr_assert_eq(rtc_turn_state(sd[1].turn), RTC_TURN_ALLOCATED);
    cr_assert(sd[0].completed && sd[1].completed, "ICE through coturn: %s / %s",
              rtc_ice_state_name(rtc_ice_state(sd[0].ice)),
              rtc_ice_state_name(rtc_ice_state(sd[1].ice)));
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(sd[i].host_cands, 0);
        cr_assert_eq(sd[i].relay_cands, 1);
        net_addr_t l, r;
        bool relayed = false;
        cr_assert_eq(rtc_ice_selected(sd[i].ice, &l, &r, &relayed), 0);
        cr_assert(relayed);
        cr_assert(net_addr_eq(&l, &sd[i].relayed));
        cr_assert(net_addr_eq(&r, &peer_of[i]->relayed), "remote is not the peer's relay");
    }

    /* data both ways on the selected relayed pair, 20 messages each */
    for (int n = 0; n < 20; n++) {
        now = mono_ns();
        for (int i = 0; i < 2; i++) {
            net_addr_t l, r;
            cr_assert_eq(rtc_ice_selected(sd[i].ice, &l, &r, NULL), 0);
            char msg[32];
            int ml = snprintf(msg, sizeof msg, "data %d from %c", n, 'A' + i);
            uint8_t buf[128];
            rtc_turn_msg_t tm[4];
            rtc_turn_out_t to = {tm, 4, 0};
            int len = rtc_turn_send(sd[i].turn, &r, (const uint8_t *)msg, (size_t)ml, buf,
                                    sizeof buf, now, &to);
            cr_assert_gt(len, 0);
            turn_flush(&sd[i], &to);
            (void)sendto(sd[i].fd, buf, (size_t)len, 0, &server.sa, server.len);
        }
        step(sd, 2, peer_of, 20);
    }
    deadline = mono_ns() + 3 * NET_NS_PER_SEC;
    while (mono_ns() < deadline && (sd[0].data_rx < 20 || sd[1].data_rx < 20))
        step(sd, 2, peer_of, 20);
    cr_assert_eq(sd[0].data_rx, 20, "A received %d", sd[0].data_rx);
    cr_assert_eq(sd[1].data_rx, 20, "B received %d", sd[1].data_rx);
    for (int i = 0; i < 2; i++) {
        cr_assert_gt(rtc_turn_stats(sd[i].turn)->channels, 0);
        cr_assert_gt(rtc_turn_stats(sd[i].turn)->data_in, 20);
    }

    /* the wrong password was refused */
    deadline = mono_ns() + 5 * NET_NS_PER_SEC;
    while (mono_ns() < deadline && rtc_turn_state(bad.turn) == RTC_TURN_ALLOCATING)
        step(&bad, 1, NULL, 20);
    cr_assert_eq(rtc_turn_state(bad.turn), RTC_TURN_FAILED);
    cr_assert_eq(rtc_turn_error(bad.turn), 401);

    /* deallocate */
    for (int i = 0; i < 2; i++) {
        rtc_turn_msg_t tm[4];
        rtc_turn_out_t to = {tm, 4, 0};
        rtc_turn_close(sd[i].turn, mono_ns(), &to);
        cr_assert_eq(to.cnt, 1);
        turn_flush(&sd[i], &to);
        side_fini(&sd[i]);
    }
    side_fini(&bad);
    kill(coturn, SIGTERM);
    waitpid(coturn, NULL, 0);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    (void)system(cmd);
}
