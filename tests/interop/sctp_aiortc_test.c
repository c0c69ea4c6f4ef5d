/* tests/interop/sctp_aiortc_test.c: rtc_sctp data channels over rtc_dtls against aiortc 1.4
 * (Debian python3-aiortc: its own pure-Python SCTP and DCEP) over UDP on 127.0.0.1 in a private
 * network namespace, in both DTLS roles. aiortc runs on a stand-in ICE transport
 * (tests/interop/sctp_aiortc_peer.py). Checks: the association comes up (aiortc as SCTP client
 * or server), DCEP both ways (labels, protocol, ordering, stream-id parity by DTLS role), COUNT
 * messages each way on an ordered and an unordered channel opened by each side (echoed, order
 * checked where promised), a 60000-byte binary message and empty string/binary messages
 * (PPID 56/57), and a close by stream reset that aiortc follows (RFC 8831 §6.7).
 * Skipped only when unshare(CLONE_NEWNET) is not permitted. */
#include "rtc/sctp/sctp.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rtc/dtls/dtls.h"
#include "tests/support/tst.h"

#define COUNT 200
#define BIG_LEN 60000

typedef struct pypeer {
    pid_t pid;
    int in_fd, out_fd;
    char log[65536];
    size_t log_len;
} pypeer_t;

static void py_spawn(pypeer_t *p, const char *role, uint16_t urtc_port)
{
    int pin[2], pout[2];
    cr_assert_eq(pipe(pin), 0);
    cr_assert_eq(pipe(pout), 0);
    char port[16], cnt[16];
    snprintf(port, sizeof port, "%u", urtc_port);
    snprintf(cnt, sizeof cnt, "%d", COUNT);
    p->pid = fork();
    cr_assert_geq(p->pid, 0);
    if (p->pid == 0) {
        dup2(pin[0], 0);
        dup2(pout[1], 1);
        close(pin[1]);
        close(pout[0]);
        execl("/usr/bin/python3", "python3", tst_src_path("tests/interop/sctp_aiortc_peer.py"),
              role, port, cnt, (char *)NULL);
        _exit(127);
    }
    close(pin[0]);
    close(pout[1]);
    fcntl(pout[0], F_SETFL, O_NONBLOCK);
    p->in_fd = pin[1];
    p->out_fd = pout[0];
}

static void py_slurp(pypeer_t *p)
{
    ssize_t n;
    while (p->log_len + 1 < sizeof p->log &&
           (n = read(p->out_fd, p->log + p->log_len, sizeof p->log - 1 - p->log_len)) > 0)
        p->log_len += (size_t)n;
    p->log[p->log_len] = 0;
}

/* What urtc sees. */
typedef struct ustate {
    rtc_sctp_t *s;
    bool up;
    int ord_sid, unord_sid;    /* ours */
    int aio_ord, aio_unord;    /* aiortc's (echoed back) */
    bool ord_open, unord_open; /* ours open */
    uint32_t ord_rx, ord_bad;  /* echoes on our ordered channel, in order */
    uint8_t unord_seen[COUNT]; /* echoes on our unordered channel */
    uint32_t unord_rx, unord_bad;
    bool big_ok, empty_str_ok, empty_bin_ok;
    uint32_t echoed;
    bool ord_closed;
    int close_err;
    bool aio_ord_remote_ordered, aio_unord_remote_unordered;
} ustate_t;

static uint8_t big[BIG_LEN];

static void on_event(void *user, rtc_sctp_t *s, const rtc_sctp_event_t *ev)
{
    ustate_t *u = user;
    switch (ev->type) {
    case RTC_SCTP_EV_CONNECTED:
        u->up = true;
        break;
    case RTC_SCTP_EV_CHANNEL_OPEN:
        if (ev->remote) {
            if (net_view_eq_str(ev->label, "aio-ordered")) {
                u->aio_ord = ev->sid;
                u->aio_ord_remote_ordered = !ev->unordered;
            } else if (net_view_eq_str(ev->label, "aio-unordered")) {
                u->aio_unord = ev->sid;
                u->aio_unord_remote_unordered = ev->unordered;
            }
        } else if (ev->sid == u->ord_sid) {
            u->ord_open = true;
        } else if (ev->sid == u->unord_sid) {
            u->unord_open = true;
        }
        break;
    case RTC_SCTP_EV_MESSAGE:
        if (ev->sid == u->aio_ord || ev->sid == u->aio_unord) {
            /* aiortc's channels: echo (from inside the callback, which is allowed). */
            cr_assert_eq(rtc_sctp_send(s, ev->sid, ev->data.p, ev->data.len, ev->binary), 0);
            u->echoed++;
        } else if (ev->sid == u->ord_sid) {
            if (u->ord_rx < COUNT) {
                char want[32];
                snprintf(want, sizeof want, "o:%u", u->ord_rx);
                if (ev->binary || !net_view_eq_str(ev->data, want))
                    u->ord_bad++;
            } else if (u->ord_rx == COUNT) {
                u->big_ok =
                    ev->binary && ev->data.len == BIG_LEN && memcmp(ev->data.p, big, BIG_LEN) == 0;
            } else if (u->ord_rx == COUNT + 1) {
                u->empty_str_ok = !ev->binary && ev->data.len == 0;
            } else if (u->ord_rx == COUNT + 2) {
                u->empty_bin_ok = ev->binary && ev->data.len == 0;
            } else {
                u->ord_bad++;
            }
            u->ord_rx++;
        } else if (ev->sid == u->unord_sid) {
            unsigned i;
            if (ev->data.len > 2 && ev->data.len < 16 &&
                sscanf((const char *)ev->data.p, "u:%u", &i) == 1 && i < COUNT &&
                !u->unord_seen[i]) {
                u->unord_seen[i] = 1;
                u->unord_rx++;
            } else {
                u->unord_bad++;
            }
        }
        break;
    case RTC_SCTP_EV_CHANNEL_CLOSED:
        if (ev->sid == u->ord_sid) {
            u->ord_closed = true;
            u->close_err = ev->error;
        }
        break;
    default:
        break;
    }
}

static void send_dtls(int fd, const net_addr_t *to, const rtc_dtls_out_t *o)
{
    for (size_t i = 0; i < o->tx_cnt; i++)
        cr_assert_eq(sendto(fd, o->tx[i].p, o->tx[i].len, 0, &to->sa, to->len),
                     (ssize_t)o->tx[i].len);
}

static void sctp_flush(ustate_t *u, rtc_dtls_t *d, int fd, const net_addr_t *to)
{
    static rtc_dtls_out_t o;
    net_view_t v;
    while (rtc_sctp_out_peek(u->s, &v)) {
        cr_assert_eq(rtc_dtls_send(d, v.p, v.len, &o), 0);
        rtc_sctp_out_pop(u->s);
        send_dtls(fd, to, &o);
    }
}

/* DTLS is up: start the association and open our two channels. Returns true. */
static bool start_sctp(ustate_t *u, uint64_t now)
{
    cr_assert_eq(rtc_sctp_start(u->s, now), 0);
    u->ord_sid = rtc_sctp_channel_open(
        u->s, &(rtc_sctp_channel_cfg_t){.label = "urtc-ordered", .protocol = "chat"});
    u->unord_sid = rtc_sctp_channel_open(
        u->s, &(rtc_sctp_channel_cfg_t){.label = "urtc-unordered", .unordered = true});
    cr_assert_geq(u->ord_sid, 0);
    cr_assert_geq(u->unord_sid, 0);
    return true;
}

static void run(bool dtls_client)
{
    if (unshare(CLONE_NEWNET) != 0)
        cr_skip_test("unshare(CLONE_NEWNET) not permitted: cannot isolate aiortc");
    cr_assert_eq(system("ip link set lo up"), 0);
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 13 + (i >> 8));
    rtc_dtls_ctx_t *ctx = rtc_dtls_ctx_create(&(rtc_dtls_ctx_cfg_t){.no_srtp = true});
    cr_assert_not_null(ctx);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    int sock_buf = 4 << 20; /* a burst of hundreds of messages each way must not overflow it */
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sock_buf, sizeof sock_buf);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sock_buf, sizeof sock_buf);
    net_addr_t me;
    cr_assert_eq(net_addr_set(&me, "127.0.0.1", 0), 0);
    cr_assert_eq(bind(fd, &me.sa, me.len), 0);
    cr_assert_eq(getsockname(fd, &me.sa, &me.len), 0);

    static pypeer_t py;
    py_spawn(&py, dtls_client ? "server" : "client", net_addr_port(&me));
    uint64_t end = net_clock_ns() + 45 * NET_NS_PER_SEC;
    char *ready = NULL;
    while (net_clock_ns() < end && !(ready = strstr(py.log, "READY "))) {
        usleep(10000);
        py_slurp(&py);
    }
    cr_assert(ready && strchr(ready, '\n'), "aiortc peer did not start:\n%s", py.log);
    unsigned py_port = 0;
    char alg[16], fpv[200], fp[256];
    cr_assert_eq(sscanf(ready, "READY %u %15s %199s", &py_port, alg, fpv), 3);
    snprintf(fp, sizeof fp, "%s %s", alg, fpv);
    net_addr_t peer;
    cr_assert_eq(net_addr_set(&peer, "127.0.0.1", (uint16_t)py_port), 0);
    char line[300];
    int n = snprintf(line, sizeof line, "%s\n", rtc_dtls_ctx_fingerprint(ctx));
    cr_assert_eq(write(py.in_fd, line, (size_t)n), n);

    static rtc_dtls_t d;
    cr_assert_eq(
        rtc_dtls_init(&d, ctx, dtls_client ? RTC_DTLS_CLIENT : RTC_DTLS_SERVER, fp, net_clock_ns()),
        0);
    static rtc_dtls_out_t o;
    cr_assert_eq(rtc_dtls_start(&d, net_clock_ns(), &o), 0);
    send_dtls(fd, &peer, &o);

    static ustate_t u;
    memset(&u, 0, sizeof u);
    u.ord_sid = u.unord_sid = u.aio_ord = u.aio_unord = -1;
    /* aiortc advertises a=max-message-size 65536 by default; this peer takes 262144. */
    u.s = rtc_sctp_create(&(rtc_sctp_cfg_t){.dtls_client = dtls_client,
                                            .remote_max_msg = RTC_SCTP_LOCAL_MAX_MSG,
                                            .on_event = on_event,
                                            .user = &u,
                                            .log_id = "urtc"});
    cr_assert_not_null(u.s);
    bool started = false, sent = false, closing = false;
    while (net_clock_ns() < end) {
        py_slurp(&py);
        cr_assert_null(strstr(py.log, "FAILED"), "aiortc: %s", py.log);
        cr_assert_neq(d.state, RTC_DTLS_FAILED, "DTLS failed %d; aiortc said:\n%s",
                      rtc_dtls_error(&d), py.log);
        uint64_t now = net_clock_ns();
        if (!started && d.state == RTC_DTLS_CONNECTED)
            started = start_sctp(&u, now);
        if (started && !sent && u.ord_open && u.unord_open) {
            for (unsigned i = 0; i < COUNT; i++) {
                char m[32];
                int l = snprintf(m, sizeof m, "o:%u", i);
                cr_assert_eq(rtc_sctp_send(u.s, (uint16_t)u.ord_sid, m, (size_t)l, false), 0);
                l = snprintf(m, sizeof m, "u:%u", i);
                cr_assert_eq(rtc_sctp_send(u.s, (uint16_t)u.unord_sid, m, (size_t)l, false), 0);
            }
            cr_assert_eq(rtc_sctp_send(u.s, (uint16_t)u.ord_sid, big, sizeof big, true), 0);
            cr_assert_eq(rtc_sctp_send(u.s, (uint16_t)u.ord_sid, "", 0, false), 0);
            cr_assert_eq(rtc_sctp_send(u.s, (uint16_t)u.ord_sid, NULL, 0, true), 0);
            sent = true;
        }
        if (sent && !closing && u.ord_rx == COUNT + 3 && u.unord_rx == COUNT &&
            strstr(py.log, "RXDONE aio-ordered") && strstr(py.log, "RXDONE aio-unordered")) {
            cr_assert_eq(rtc_sctp_channel_close(u.s, (uint16_t)u.ord_sid), 0);
            closing = true;
        }
        if (closing && u.ord_closed && strstr(py.log, "CLOSED urtc-ordered"))
            break;
        if (started) {
            rtc_sctp_timers_run(now);
            (void)rtc_sctp_poll(u.s, now);
            sctp_flush(&u, &d, fd, &peer);
        }

        struct pollfd pfd[2] = {{.fd = fd, .events = POLLIN}, {.fd = py.out_fd, .events = POLLIN}};
        if (poll(pfd, 2, 5) <= 0) {
            now = net_clock_ns();
            if (now >= rtc_dtls_deadline(&d) && rtc_dtls_handle_timeout(&d, now, &o) == 0)
                send_dtls(fd, &peer, &o);
            continue;
        }
        uint8_t buf[2048];
        ssize_t r;
        while ((r = recv(fd, buf, sizeof buf, 0)) > 0) {
            if (buf[0] < 20 || buf[0] > 63)
                continue;
            if (rtc_dtls_input(&d, buf, (size_t)r, net_clock_ns(), &o) < 0)
                continue;
            send_dtls(fd, &peer, &o);
            /* The handshake may end in this batch, with SCTP right behind it. */
            if (!started && d.state == RTC_DTLS_CONNECTED)
                started = start_sctp(&u, net_clock_ns());
            for (size_t i = 0; i < o.rx_cnt; i++) {
                cr_assert(started, "SCTP before DTLS was up");
                cr_assert_eq(rtc_sctp_input(u.s, o.rx[i].p, o.rx[i].len, net_clock_ns()), 0);
            }
            sctp_flush(&u, &d, fd, &peer);
        }
    }
    py_slurp(&py);
    rtc_sctp_stats_t st;
    rtc_sctp_get_stats(u.s, &st);
    fprintf(stderr,
            "urtc sctp: tx %lu msgs %lu pkts, rx %lu msgs %lu pkts, out_drop %lu, ord_rx %u "
            "unord_rx %u\n",
            (unsigned long)st.tx_msg_cnt, (unsigned long)st.tx_pkt_cnt,
            (unsigned long)st.rx_msg_cnt, (unsigned long)st.rx_pkt_cnt,
            (unsigned long)st.out_drop_cnt, (unsigned)u.ord_rx, (unsigned)u.unord_rx);
    cr_assert(u.up, "association did not come up; aiortc said:\n%s", py.log);
    /* RFC 8832 §6: the DTLS client uses even ids, the server odd ones; aiortc agrees. */
    cr_assert_eq(u.ord_sid % 2, dtls_client ? 0 : 1);
    cr_assert_geq(u.aio_ord, 0, "aiortc's channel never opened:\n%s", py.log);
    cr_assert_eq(u.aio_ord % 2, dtls_client ? 1 : 0);
    cr_assert(u.aio_ord_remote_ordered);
    cr_assert(u.aio_unord_remote_unordered);
    char want[64];
    snprintf(want, sizeof want, "OPEN urtc-ordered %d chat 1\n", u.ord_sid);
    cr_assert(strstr(py.log, want), "no '%s' in:\n%s", want, py.log);
    snprintf(want, sizeof want, "OPEN urtc-unordered %d - 0\n", u.unord_sid);
    cr_assert(strstr(py.log, want), "no '%s' in:\n%s", want, py.log);
    cr_assert_eq(u.ord_rx, COUNT + 3, "ordered echoes: %u; aiortc said:\n%s", u.ord_rx, py.log);
    cr_assert_eq(u.ord_bad, 0);
    cr_assert(u.big_ok, "60000-byte binary message not echoed intact");
    cr_assert(u.empty_str_ok && u.empty_bin_ok, "empty messages (PPID 56/57)");
    cr_assert_eq(u.unord_rx, COUNT);
    cr_assert_eq(u.unord_bad, 0);
    snprintf(want, sizeof want, "RXDONE aio-ordered %d 1 1", COUNT);
    cr_assert(strstr(py.log, want), "aiortc ordered channel:\n%s", py.log);
    snprintf(want, sizeof want, "RXDONE aio-unordered %d", COUNT);
    cr_assert(strstr(py.log, want), "aiortc unordered channel:\n%s", py.log);
    cr_assert(u.ord_closed, "our close did not complete; aiortc said:\n%s", py.log);
    cr_assert_eq(u.close_err, 0);
    cr_assert(strstr(py.log, "CLOSED urtc-ordered"), "aiortc did not see the close:\n%s", py.log);

    rtc_sctp_destroy(u.s);
    rtc_dtls_fini(&d);
    close(fd);
    close(py.in_fd);
    kill(py.pid, SIGTERM);
    waitpid(py.pid, NULL, 0);
    close(py.out_fd);
    rtc_dtls_ctx_destroy(ctx);
}

Test(sctp_aiortc, urtc_dtls_client)
{
    run(true);
}

Test(sctp_aiortc, urtc_dtls_server)
{
    run(false);
}
