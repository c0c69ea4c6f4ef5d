/* tests/interop/dtls_aiortc_test.c: rtc_dtls + rtc_srtp against aiortc 1.4 (Debian
 * python3-aiortc: pyOpenSSL DTLS, pylibsrtp on Debian's libsrtp2), over UDP on 127.0.0.1 in a
 * private network namespace, in both DTLS roles. aiortc's RTCDtlsTransport runs on a stand-in
 * ICE transport (tests/interop/dtls_aiortc_peer.py), so this covers DTLS-SRTP only; ICE is
 * covered by ice_aioice_test.c. Checks: fingerprints checked both ways, SRTP
 * (AES_CM_128_HMAC_SHA1_80, the only profile aiortc 1.4 offers) both ways across a sequence
 * number rollover (ROC 1 afterwards), DTLS application data both ways, close_notify ends the
 * association on the aiortc side. Skipped only when unshare(CLONE_NEWNET) is not permitted. */
#include "rtc/dtls/dtls.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rtc/srtp/srtp.h"
#include "tests/support/tst.h"

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NET_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

typedef struct peer {
    pid_t pid;
    int in_fd, out_fd;
    char log[32768];
    size_t log_len;
} peer_t;

static void peer_spawn(peer_t *p, const char *role, uint16_t urtc_port)
{
    int pin[2], pout[2];
    cr_assert_eq(pipe(pin), 0);
    cr_assert_eq(pipe(pout), 0);
    char port[16];
    snprintf(port, sizeof port, "%u", urtc_port);
    p->pid = fork();
    cr_assert_geq(p->pid, 0);
    if (p->pid == 0) {
        dup2(pin[0], 0);
        dup2(pout[1], 1);
        close(pin[1]);
        close(pout[0]);
        execl("/usr/bin/python3", "python3", tst_src_path("tests/interop/dtls_aiortc_peer.py"),
              role, port, (char *)NULL);
        _exit(127);
    }
    close(pin[0]);
    close(pout[1]);
    fcntl(pout[0], F_SETFL, O_NONBLOCK);
    p->in_fd = pin[1];
    p->out_fd = pout[0];
    p->log_len = 0;
    p->log[0] = 0;
}

static void peer_slurp(peer_t *p)
{
    ssize_t n;
    while (p->log_len + 1 < sizeof p->log &&
           (n = read(p->out_fd, p->log + p->log_len, sizeof p->log - 1 - p->log_len)) > 0)
        p->log_len += (size_t)n;
    p->log[p->log_len] = 0;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *s = hay; (s = strstr(s, needle)); s++)
        n++;
    return n;
}

static void send_out(int fd, const net_addr_t *to, const rtc_dtls_out_t *o)
{
    for (size_t i = 0; i < o->tx_cnt; i++)
        cr_assert_eq(sendto(fd, o->tx[i].p, o->tx[i].len, 0, &to->sa, to->len),
                     (ssize_t)o->tx[i].len);
}

static void run(rtc_dtls_role_t our_role)
{
    if (unshare(CLONE_NEWNET) != 0)
        cr_skip_test("unshare(CLONE_NEWNET) not permitted: cannot isolate aiortc");
    cr_assert_eq(system("ip link set lo up"), 0);
    cr_assert_eq(rtc_srtp_global_init(RTC_SRTP_BACKEND_OPENSSL), 0);
    rtc_dtls_ctx_t *ctx = rtc_dtls_ctx_create(NULL);
    cr_assert_not_null(ctx);

    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    net_addr_t me;
    cr_assert_eq(net_addr_set(&me, "127.0.0.1", 0), 0);
    cr_assert_eq(bind(fd, &me.sa, me.len), 0);
    cr_assert_eq(getsockname(fd, &me.sa, &me.len), 0);

    static peer_t py;
    peer_spawn(&py, our_role == RTC_DTLS_CLIENT ? "server" : "client", net_addr_port(&me));
    uint64_t end = mono_ns() + 20 * NET_NS_PER_SEC;
    char *ready = NULL;
    while (mono_ns() < end && !(ready = strstr(py.log, "READY "))) {
        usleep(10000);
        peer_slurp(&py);
    }
    cr_assert(ready && strchr(ready, '\n'), "aiortc peer did not start:\n%s", py.log);
    unsigned py_port = 0;
    char alg[16], fpv[200], fp[256];
    cr_assert_eq(sscanf(ready, "READY %u %15s %199s", &py_port, alg, fpv), 3);
    snprintf(fp, sizeof fp, "%s %s", alg, fpv);
    net_addr_t peer;
    cr_assert_eq(net_addr_set(&peer, "127.0.0.1", (uint16_t)py_port), 0);
    /* aiortc 1.4 only compares sha-256 fingerprints, in any case. */
    char line[300];
    int n = snprintf(line, sizeof line, "%s\n", rtc_dtls_ctx_fingerprint(ctx));
    cr_assert_eq(write(py.in_fd, line, (size_t)n), n);

    rtc_dtls_t d;
    cr_assert_eq(rtc_dtls_init(&d, ctx, our_role, fp, mono_ns()), 0);
    static rtc_dtls_out_t out;
    cr_assert_eq(rtc_dtls_start(&d, mono_ns(), &out), 0);
    send_out(fd, &peer, &out);

    rtc_srtp_t srtp;
    bool srtp_up = false, sent = false, closed = false;
    int rtp_rx = 0, data_rx = 0;
    char got[5][32] = {{0}};
    while (mono_ns() < end) {
        peer_slurp(&py);
        cr_assert_null(strstr(py.log, "FAILED"), "aiortc: %s", py.log);
        cr_assert_neq(d.state, RTC_DTLS_FAILED, "urtc failed %d; aiortc said:\n%s",
                      rtc_dtls_error(&d), py.log);
        if (!srtp_up && d.state == RTC_DTLS_CONNECTED) {
            rtc_srtp_keys_t k;
            cr_assert_eq(rtc_dtls_srtp_keys(&d, &k), 0);
            cr_assert_eq(k.profile, RTC_SRTP_AES128_CM_SHA1_80);
            cr_assert_eq(rtc_srtp_init(&srtp, &k), 0);
            srtp_up = true;
        }
        if (srtp_up && !sent && rtp_rx == 5 && data_rx == 1) {
            /* Our turn: RTP across a rollover, then a data record. */
            uint16_t seqs[5] = {65534, 65535, 0, 1, 2};
            for (int i = 0; i < 5; i++) {
                uint8_t pkt[256] = {0x80, 96};
                net_wr16be(pkt + 2, seqs[i]);
                net_wr32be(pkt + 4, 5000u + 960u * (uint32_t)i);
                net_wr32be(pkt + 8, 0x0c0ffee0);
                size_t len = 12 + (size_t)snprintf((char *)pkt + 12, 32, "urtc-%u", seqs[i]);
                cr_assert_eq(rtc_srtp_protect(&srtp, pkt, &len, sizeof pkt), 0);
                cr_assert_eq(sendto(fd, pkt, len, 0, &peer.sa, peer.len), (ssize_t)len);
            }
            cr_assert_eq(rtc_dtls_send(&d, "hello-from-urtc", 15, &out), 0);
            send_out(fd, &peer, &out);
            sent = true;
        }
        if (sent && !closed && count(py.log, "RTP urtc-") == 5 && strstr(py.log, "DATA hello")) {
            cr_assert_eq(rtc_dtls_close(&d, &out), 0);
            send_out(fd, &peer, &out);
            closed = true;
        }
        if (closed && strstr(py.log, "CLOSED"))
            break;

        struct pollfd pfd[2] = {{.fd = fd, .events = POLLIN}, {.fd = py.out_fd, .events = POLLIN}};
        uint64_t now = mono_ns(), dl = rtc_dtls_deadline(&d);
        int wait_ms = dl == UINT64_MAX ? 50
                      : dl <= now      ? 0
                                       : (int)NET_MIN((dl - now) / 1000000, 50);
        if (poll(pfd, 2, wait_ms) <= 0) {
            if (mono_ns() >= rtc_dtls_deadline(&d) &&
                rtc_dtls_handle_timeout(&d, mono_ns(), &out) == 0)
                send_out(fd, &peer, &out);
            continue;
        }
        uint8_t buf[2048];
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r <= 0)
            continue;
        size_t len = (size_t)r;
        if (buf[0] >= 20 && buf[0] <= 63) {
            if (rtc_dtls_input(&d, buf, len, mono_ns(), &out) >= 0) {
                send_out(fd, &peer, &out);
                for (size_t i = 0; i < out.rx_cnt; i++)
                    if (net_view_eq_str(out.rx[i], "hello-from-aiortc"))
                        data_rx++;
            }
        } else if (buf[0] >= 128 && buf[0] <= 191) {
            cr_assert(srtp_up, "SRTP before the handshake completed");
            cr_assert_eq(rtc_srtp_unprotect(&srtp, buf, &len), 0, "SRTP from aiortc rejected");
            cr_assert_lt(rtp_rx, 5);
            snprintf(got[rtp_rx++], sizeof got[0], "%.*s", (int)(len - 12), (char *)buf + 12);
        }
    }
    cr_assert(closed && strstr(py.log, "CLOSED"), "incomplete; aiortc said:\n%s", py.log);
    const char *want[5] = {"aiortc-65533", "aiortc-65534", "aiortc-65535", "aiortc-0", "aiortc-1"};
    for (int i = 0; i < 5; i++)
        cr_assert_str_eq(got[i], want[i]);
    uint32_t roc = 0;
    cr_assert_eq(rtc_srtp_roc(&srtp, true, 0xA1071C, &roc), 0);
    cr_assert_eq(roc, 1, "inbound ROC after the rollover");
    cr_assert_eq(rtc_srtp_roc(&srtp, false, 0x0c0ffee0, &roc), 0);
    cr_assert_eq(roc, 1, "outbound ROC after the rollover");
    for (int i = 0; i < 5; i++) {
        char w[32];
        snprintf(w, sizeof w, "RTP urtc-%u\n", (unsigned)(uint16_t)(65534 + i));
        cr_assert(strstr(py.log, w), "aiortc did not get %s:\n%s", w, py.log);
    }

    rtc_srtp_fini(&srtp);
    rtc_dtls_fini(&d);
    close(fd);
    close(py.in_fd);
    kill(py.pid, SIGTERM);
    waitpid(py.pid, NULL, 0);
    close(py.out_fd);
    rtc_dtls_ctx_destroy(ctx);
    rtc_srtp_global_fini();
}

Test(dtls_aiortc, urtc_client_aiortc_server, .timeout = 40)
{
    run(RTC_DTLS_CLIENT);
}

Test(dtls_aiortc, aiortc_client_urtc_server, .timeout = 40)
{
    run(RTC_DTLS_SERVER);
}
