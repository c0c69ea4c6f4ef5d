/* tests/interop/dtls_openssl_test.c: rtc_dtls against a real DTLS-SRTP peer, the openssl CLI
 * (OpenSSL 3.0 s_server / s_client, -dtls1_2 -use_srtp), over UDP on 127.0.0.1 inside a
 * private network namespace. Checks: the handshake completes in both roles, the SRTP profile
 * (GCM preferred), our exported keys equal the peer's -keymatexport EXTRACTOR-dtls_srtp output
 * (RFC 5764 §4.2), application data reaches the peer, and the peer's certificate is checked
 * against its fingerprint (computed by loading its PEM files into an rtc_dtls context, which
 * also tests PEM loading). Skipped only when unshare(CLONE_NEWNET) is not permitted. */
#include "rtc/dtls/dtls.h"

#include <criterion/criterion.h>
#include <ctype.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/support/tst.h"

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NET_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

static char dir[] = "/tmp/urtc-dtls-XXXXXX";
static char cert[256], key[256];

static void cleanup_dir(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        cr_log_warn("could not remove %s", dir);
}

static void netns_and_cert(void)
{
    if (unshare(CLONE_NEWNET) != 0)
        cr_skip_test("unshare(CLONE_NEWNET) not permitted: cannot isolate openssl");
    cr_assert_eq(system("ip link set lo up"), 0);
    cr_assert(mkdtemp(dir));
    snprintf(cert, sizeof cert, "%s/peer.pem", dir);
    snprintf(key, sizeof key, "%s/peer.key", dir);
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "
             "/CN=peer -days 2 -keyout %s -out %s >/dev/null 2>&1",
             key, cert);
    cr_assert_eq(system(cmd), 0);
}

/* Starts @argv with stdin and stdout on pipes; stderr to a file. */
static pid_t spawn(char *const argv[], int *in_fd, int *out_fd)
{
    int pin[2], pout[2];
    cr_assert_eq(pipe(pin), 0);
    cr_assert_eq(pipe(pout), 0);
    pid_t p = fork();
    cr_assert_geq(p, 0);
    if (p == 0) {
        char errp[300];
        snprintf(errp, sizeof errp, "%s/stderr.log", dir);
        int e = open(errp, O_WRONLY | O_CREAT | O_APPEND, 0600);
        dup2(pin[0], 0);
        dup2(pout[1], 1);
        dup2(e, 2);
        close(pin[1]);
        close(pout[0]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(pin[0]);
    close(pout[1]);
    fcntl(pout[0], F_SETFL, O_NONBLOCK);
    *in_fd = pin[1];
    *out_fd = pout[0];
    return p;
}

/* Appends what the child printed so far to @buf. */
static void slurp(int fd, char *buf, size_t cap, size_t *len)
{
    ssize_t n;
    while (*len + 1 < cap && (n = read(fd, buf + *len, cap - 1 - *len)) > 0)
        *len += (size_t)n;
    buf[*len] = 0;
}

static int udp_socket(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    cr_assert_geq(fd, 0);
    net_addr_t a;
    cr_assert_eq(net_addr_set(&a, "127.0.0.1", port), 0);
    cr_assert_eq(bind(fd, &a.sa, a.len), 0);
    return fd;
}

static void send_out(int fd, const net_addr_t *to, const rtc_dtls_out_t *o)
{
    for (size_t i = 0; i < o->tx_cnt; i++)
        cr_assert_eq(sendto(fd, o->tx[i].p, o->tx[i].len, 0, &to->sa, to->len),
                     (ssize_t)o->tx[i].len);
}

/* Drives @d on @fd until connected (or @deadline); @peer is learnt from the first datagram
 * when its port is 0 (our server role). Also collects the child's stdout. */
static void drive(rtc_dtls_t *d, int fd, net_addr_t *peer, int child_out, char *log, size_t cap,
                  size_t *log_len, bool until_connected, const char *until_log)
{
    static rtc_dtls_out_t out;
    uint64_t end = mono_ns() + 15 * NET_NS_PER_SEC;
    while (mono_ns() < end) {
        slurp(child_out, log, cap, log_len);
        if (until_connected && d->state == RTC_DTLS_CONNECTED)
            return;
        if (until_log && strstr(log, until_log))
            return;
        cr_assert_neq(d->state, RTC_DTLS_FAILED, "rtc_dtls failed (%d); peer said:\n%s",
                      rtc_dtls_error(d), log);
        uint64_t now = mono_ns();
        uint64_t dl = rtc_dtls_deadline(d);
        int wait_ms = dl == UINT64_MAX ? 50
                      : dl <= now      ? 0
                                       : (int)NET_MIN((dl - now) / NET_NS_PER_MS, 50);
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int pr = poll(&pfd, 1, wait_ms);
        now = mono_ns();
        if (pr > 0) {
            uint8_t buf[2048];
            net_addr_t from = {.len = sizeof from.in6};
            ssize_t n = recvfrom(fd, buf, sizeof buf, 0, &from.sa, &from.len);
            if (n <= 0)
                continue;
            if (net_addr_port(peer) == 0)
                *peer = from;
            int r = rtc_dtls_input(d, buf, (size_t)n, now, &out);
            if (r >= 0)
                send_out(fd, peer, &out);
        } else if (now >= rtc_dtls_deadline(d)) {
            if (rtc_dtls_handle_timeout(d, now, &out) == 0)
                send_out(fd, peer, &out);
        }
    }
    cr_assert_fail("timed out (state %s); peer said:\n%s", rtc_dtls_state_name(d->state), log);
}

/* "Keying material: 0A1B..." from s_server / s_client -keymatexport. */
static void check_keymat(const rtc_dtls_t *d, const char *log)
{
    const char *p = strstr(log, "Keying material: ");
    cr_assert_not_null(p, "no keying material in:\n%s", log);
    p += strlen("Keying material: ");
    uint8_t km[64];
    size_t n = 0;
    while (n < sizeof km && isxdigit((unsigned char)p[0]) && isxdigit((unsigned char)p[1])) {
        char h[3] = {p[0], p[1], 0};
        km[n++] = (uint8_t)strtoul(h, NULL, 16);
        p += 2;
    }
    cr_assert_eq(n, 56, "GCM keymat is 2 x (16 + 12)");
    rtc_srtp_keys_t k;
    cr_assert_eq(rtc_dtls_srtp_keys(d, &k), 0);
    cr_assert_eq(k.profile, RTC_SRTP_AEAD_AES_128_GCM);
    /* RFC 5764 §4.2: client key | server key | client salt | server salt. */
    bool client = d->role == RTC_DTLS_CLIENT;
    const uint8_t *lk = km + (client ? 0 : 16), *rk = km + (client ? 16 : 0);
    const uint8_t *ls = km + 32 + (client ? 0 : 12), *rs = km + 32 + (client ? 12 : 0);
    cr_assert_arr_eq(k.local, lk, 16);
    cr_assert_arr_eq(k.local + 16, ls, 12);
    cr_assert_arr_eq(k.remote, rk, 16);
    cr_assert_arr_eq(k.remote + 16, rs, 12);
}

static const char *profiles = "SRTP_AES128_CM_SHA1_80:SRTP_AEAD_AES_128_GCM";

Test(dtls_openssl, urtc_client_to_openssl_s_server, .timeout = 40)
{
    netns_and_cert();
    rtc_dtls_ctx_cfg_t pc = {.cert_pem_path = cert, .key_pem_path = key};
    rtc_dtls_ctx_t *peer_ctx = rtc_dtls_ctx_create(&pc); /* only for the peer's fingerprint */
    rtc_dtls_ctx_t *ctx = rtc_dtls_ctx_create(NULL);
    cr_assert(peer_ctx && ctx);
    /* The peer prefers AES-CM in its own list; our ClientHello lists GCM first and s_server
     * picks by its list order, so this also shows what a peer with another preference does. */
    char *argv[] = {"openssl",
                    "s_server",
                    "-dtls1_2",
                    "-accept",
                    "127.0.0.1:47001",
                    "-cert",
                    cert,
                    "-key",
                    key,
                    "-use_srtp",
                    "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80",
                    "-Verify",
                    "1",
                    "-keymatexport",
                    "EXTRACTOR-dtls_srtp",
                    "-keymatexportlen",
                    "56",
                    "-naccept",
                    "1",
                    "-mtu",
                    "1200",
                    NULL};
    int in_fd, out_fd;
    pid_t p = spawn(argv, &in_fd, &out_fd);
    static char log[65536];
    size_t log_len = 0;
    /* Wait for it to listen. */
    for (int i = 0; i < 100 && !strstr(log, "ACCEPT"); i++) {
        usleep(20000);
        slurp(out_fd, log, sizeof log, &log_len);
    }
    cr_assert(strstr(log, "ACCEPT"), "s_server did not start:\n%s", log);

    int fd = udp_socket(0);
    net_addr_t peer;
    cr_assert_eq(net_addr_set(&peer, "127.0.0.1", 47001), 0);
    rtc_dtls_t d;
    cr_assert_eq(
        rtc_dtls_init(&d, ctx, RTC_DTLS_CLIENT, rtc_dtls_ctx_fingerprint(peer_ctx), mono_ns()), 0);
    static rtc_dtls_out_t out;
    cr_assert_eq(rtc_dtls_start(&d, mono_ns(), &out), 0);
    send_out(fd, &peer, &out);
    drive(&d, fd, &peer, out_fd, log, sizeof log, &log_len, true, NULL);
    drive(&d, fd, &peer, out_fd, log, sizeof log, &log_len, false, "Keying material: ");
    drive(&d, fd, &peer, out_fd, log, sizeof log, &log_len, false, "SRTP Extension negotiated");
    cr_assert(strstr(log, "SRTP_AEAD_AES_128_GCM"), "%s", log);
    check_keymat(&d, log);

    cr_assert_eq(rtc_dtls_send(&d, "hello-from-urtc\n", 16, &out), 0);
    send_out(fd, &peer, &out);
    drive(&d, fd, &peer, out_fd, log, sizeof log, &log_len, false, "hello-from-urtc");
    cr_assert_eq(rtc_dtls_close(&d, &out), 0);
    send_out(fd, &peer, &out);
    drive(&d, fd, &peer, out_fd, log, sizeof log, &log_len, false, "DONE");

    rtc_dtls_fini(&d);
    close(fd);
    close(in_fd);
    kill(p, SIGTERM);
    waitpid(p, NULL, 0);
    close(out_fd);
    cleanup_dir();
    rtc_dtls_ctx_destroy(ctx);
    rtc_dtls_ctx_destroy(peer_ctx);
}

Test(dtls_openssl, openssl_s_client_to_urtc_server, .timeout = 40)
{
    netns_and_cert();
    rtc_dtls_ctx_cfg_t pc = {.cert_pem_path = cert, .key_pem_path = key};
    rtc_dtls_ctx_t *peer_ctx = rtc_dtls_ctx_create(&pc);
    rtc_dtls_ctx_t *ctx = rtc_dtls_ctx_create(NULL);
    cr_assert(peer_ctx && ctx);
    int fd = udp_socket(47002);
    char *argv[] = {"openssl",
                    "s_client",
                    "-dtls1_2",
                    "-connect",
                    "127.0.0.1:47002",
                    "-cert",
                    cert,
                    "-key",
                    key,
                    "-use_srtp",
                    (char *)profiles,
                    "-keymatexport",
                    "EXTRACTOR-dtls_srtp",
                    "-keymatexportlen",
                    "56",
                    "-mtu",
                    "1200",
                    NULL};
    int in_fd, out_fd;
    pid_t p = spawn(argv, &in_fd, &out_fd);
    static char log[65536];
    size_t log_len = 0;
    net_addr_t peer;
    cr_assert_eq(net_addr_set(&peer, "127.0.0.1", 0), 0);
    rtc_dtls_t d;
    cr_assert_eq(
        rtc_dtls_init(&d, ctx, RTC_DTLS_SERVER, rtc_dtls_ctx_fingerprint(peer_ctx), mono_ns()), 0);
    drive(&d, fd, &peer, out_fd, log, sizeof log, &log_len, true, NULL);
    drive(&d, fd, &peer, out_fd, log, sizeof log, &log_len, false, "Keying material: ");
    /* Our server prefers GCM even though the client lists AES-CM first. */
    drive(&d, fd, &peer, out_fd, log, sizeof log, &log_len, false, "SRTP Extension negotiated");
    cr_assert(strstr(log, "SRTP_AEAD_AES_128_GCM"), "%s", log);
    check_keymat(&d, log);

    /* Data from the peer (its stdin) reaches us as an application-data record. */
    cr_assert_eq(write(in_fd, "ping\n", 5), 5);
    static rtc_dtls_out_t out;
    bool got = false;
    for (int i = 0; i < 200 && !got; i++) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, 20) <= 0)
            continue;
        uint8_t buf[2048];
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n > 0 && rtc_dtls_input(&d, buf, (size_t)n, mono_ns(), &out) >= 0)
            for (size_t j = 0; j < out.rx_cnt; j++)
                got |= net_view_eq_str(out.rx[j], "ping\n");
    }
    cr_assert(got, "no application data from s_client");
    cr_assert_eq(rtc_dtls_close(&d, &out), 0);
    send_out(fd, &peer, &out);

    rtc_dtls_fini(&d);
    close(fd);
    close(in_fd);
    kill(p, SIGTERM);
    waitpid(p, NULL, 0);
    close(out_fd);
    cleanup_dir();
    rtc_dtls_ctx_destroy(ctx);
    rtc_dtls_ctx_destroy(peer_ctx);
}

Test(dtls_openssl, wrong_fingerprint_rejects_real_peer, .timeout = 40)
{
    netns_and_cert();
    rtc_dtls_ctx_t *ctx = rtc_dtls_ctx_create(NULL);
    cr_assert(ctx);
    char *argv[] = {"openssl",        "s_server", "-dtls1_2", "-accept", "127.0.0.1:47003",
                    "-cert",          cert,       "-key",     key,       "-use_srtp",
                    (char *)profiles, "-naccept", "1",        NULL};
    int in_fd, out_fd;
    pid_t p = spawn(argv, &in_fd, &out_fd);
    static char log[65536];
    size_t log_len = 0;
    for (int i = 0; i < 100 && !strstr(log, "ACCEPT"); i++) {
        usleep(20000);
        slurp(out_fd, log, sizeof log, &log_len);
    }
    int fd = udp_socket(0);
    net_addr_t peer;
    cr_assert_eq(net_addr_set(&peer, "127.0.0.1", 47003), 0);
    rtc_dtls_t d;
    /* Our own fingerprint instead of the peer's: a man in the middle, as far as we know. */
    cr_assert_eq(rtc_dtls_init(&d, ctx, RTC_DTLS_CLIENT, rtc_dtls_ctx_fingerprint(ctx), mono_ns()),
                 0);
    static rtc_dtls_out_t out;
    cr_assert_eq(rtc_dtls_start(&d, mono_ns(), &out), 0);
    send_out(fd, &peer, &out);
    for (int i = 0; i < 250 && d.state != RTC_DTLS_FAILED; i++) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, 20) <= 0)
            continue;
        uint8_t buf[2048];
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n > 0 && rtc_dtls_input(&d, buf, (size_t)n, mono_ns(), &out) >= 0)
            send_out(fd, &peer, &out);
        else if (n > 0)
            send_out(fd, &peer, &out); /* the alert */
    }
    cr_assert_eq(d.state, RTC_DTLS_FAILED);
    cr_assert_eq(rtc_dtls_error(&d), -EACCES);
    rtc_dtls_fini(&d);
    close(fd);
    close(in_fd);
    kill(p, SIGTERM);
    waitpid(p, NULL, 0);
    close(out_fd);
    cleanup_dir();
    rtc_dtls_ctx_destroy(ctx);
}
