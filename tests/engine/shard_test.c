/* tests/engine/shard_test.c: shards on loopback, commands, counters, clean stops. */
#include "engine/engine.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void echo_rx(eng_shard_t *sh, net_pkt_t *pkt, void *arg)
{
    (void)arg;
    eng_shard_send(sh, pkt); /* back to pkt->addr, the source; counted if it fails */
}

static int client_socket(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int big = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
    net_addr_t a;
    cr_assert_eq(net_addr_set(&a, "127.0.0.1", 0), 0);
    cr_assert_eq(bind(fd, &a.sa, a.len), 0);
    return fd;
}

Test(engine, echo_10000_datagrams_through_two_shards)
{
    eng_cfg_t cfg = {.shards = 2, .on_rx = echo_rx};
    eng_t *e = eng_create(&cfg);
    cr_assert_not_null(e);
    cr_assert_eq(eng_shard_count(e), 2);
    net_addr_t dst[2];
    eng_shard_addr(e, 0, &dst[0]);
    eng_shard_addr(e, 1, &dst[1]);
    cr_assert_neq(net_addr_port(&dst[0]), net_addr_port(&dst[1]));
    int fd = client_socket();
    const uint32_t total = 10000, window = 128;
    uint32_t sent = 0, recvd = 0;
    static uint32_t seen[10000];
    uint8_t buf[1500];
    uint64_t deadline = net_clock_ns() + 30 * NET_NS_PER_SEC;
    while (recvd < total && net_clock_ns() < deadline) {
        while (sent < total && sent - recvd < window) {
            size_t len = 1200 - sent % 7;
            for (size_t i = 4; i < len; i++)
                buf[i] = (uint8_t)(sent * 31 + i);
            net_wr32be(buf, sent);
            cr_assert_eq(sendto(fd, buf, len, 0, &dst[sent & 1].sa, dst[sent & 1].len),
                         (ssize_t)len);
            sent++;
        }
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0) {
            usleep(50);
            continue;
        }
        uint32_t seq = net_rd32be(buf);
        cr_assert_lt(seq, total);
        cr_assert_eq((size_t)n, 1200 - seq % 7, "echo %u has %zd bytes", seq, n);
        for (ssize_t i = 4; i < n; i++)
            cr_assert_eq(buf[i], (uint8_t)(seq * 31 + (uint32_t)i), "echo %u byte %zd", seq, i);
        cr_assert_eq(seen[seq]++, 0, "echo %u twice", seq);
        recvd++;
    }
    cr_assert_eq(recvd, total, "%u of %u echoes", recvd, total);
    /* Each shard served its half; counters reach other threads within a tick. */
    usleep(200000);
    for (uint32_t i = 0; i < 2; i++) {
        eng_counters_t c;
        eng_counters_get(e, i, &c);
        cr_assert_eq(c.rx_pkts, total / 2, "shard %u rx %lu", i, (unsigned long)c.rx_pkts);
        cr_assert_eq(c.tx_pkts, total / 2);
        cr_assert_gt(c.ticks, 0);
    }
    eng_destroy(e);
    close(fd);
}

Test(engine, default_handler_classifies_and_counts_drops)
{
    eng_cfg_t cfg = {.shards = 1};
    eng_t *e = eng_create(&cfg);
    cr_assert_not_null(e);
    net_addr_t dst;
    eng_shard_addr(e, 0, &dst);
    int fd = client_socket();
    uint8_t stun[20] = {0x00, 0x01}, junk[20] = {0xff}, rtp[20] = {0x80, 96};
    for (int i = 0; i < 5; i++) {
        sendto(fd, stun, sizeof stun, 0, &dst.sa, dst.len);
        sendto(fd, junk, sizeof junk, 0, &dst.sa, dst.len);
        sendto(fd, rtp, sizeof rtp, 0, &dst.sa, dst.len);
    }
    eng_counters_t c = {0};
    for (int i = 0; i < 200 && c.rx_pkts < 15; i++) {
        usleep(10000);
        eng_counters_get(e, 0, &c);
    }
    cr_assert_eq(c.rx_pkts, 15);
    cr_assert_eq(c.drop[ENG_DROP_NOT_WEBRTC], 5);
    cr_assert_eq(c.drop[ENG_DROP_UNKNOWN_PEER], 10);
    cr_assert_str_eq(eng_drop_name(ENG_DROP_NOT_WEBRTC), "not_webrtc");
    eng_destroy(e);
    close(fd);
}

static uint64_t cmd_sum[2];
static uint32_t cmd_wrong_thread;

static void add_cmd(eng_shard_t *sh, void *arg, uint64_t v)
{
    if ((uintptr_t)arg != eng_shard_index(sh))
        cmd_wrong_thread++;
    cmd_sum[eng_shard_index(sh)] += v; /* shard-local: no lock */
}

static void free_cmd(eng_shard_t *sh, void *arg, uint64_t v)
{
    (void)sh, (void)v;
    free(arg); /* the command owned @arg */
}

Test(engine, commands_reach_their_shard_in_full)
{
    eng_cfg_t cfg = {.shards = 2, .cmd_queue_len = 64};
    eng_t *e = eng_create(&cfg);
    uint64_t want[2] = {0};
    for (uint64_t v = 1; v <= 100000; v++) {
        uint32_t s = (uint32_t)(v % 2);
        while (eng_post(e, s, add_cmd, (void *)(uintptr_t)s, v) == -EAGAIN)
            ; /* a small queue fills up: spin until the shard drains it */
        want[s] += v;
    }
    cr_assert_eq(eng_post(e, 2, add_cmd, NULL, 0), -EINVAL);
    eng_destroy(e); /* commands queued before the stop run before it */
    cr_assert_eq(cmd_sum[0], want[0]);
    cr_assert_eq(cmd_sum[1], want[1]);
    cr_assert_eq(cmd_wrong_thread, 0);
}

Test(engine, stop_with_traffic_and_commands_in_flight_frees_everything)
{
    /* Under `make asan` LeakSanitizer checks that nothing is left. */
    eng_cfg_t cfg = {.shards = 2, .on_rx = echo_rx, .pool_pkts = 256};
    eng_t *e = eng_create(&cfg);
    net_addr_t dst;
    eng_shard_addr(e, 0, &dst);
    int fd = client_socket();
    uint8_t buf[1200] = {0x80};
    for (int i = 0; i < 3000; i++) {
        sendto(fd, buf, sizeof buf, 0, &dst.sa, dst.len);
        if (i % 100 == 0) {
            int ret = eng_post(e, (uint32_t)i % 2, free_cmd, malloc(100), 0);
            cr_assert_eq(ret, 0);
        }
    }
    uint64_t t0 = net_clock_ns();
    eng_destroy(e);
    cr_assert_lt(net_clock_ns() - t0, 3 * NET_NS_PER_SEC, "stop took too long");
    close(fd);
}

Test(engine, sigterm_stops_cleanly)
{
    int pfd[2];
    cr_assert_eq(pipe(pfd), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        eng_cfg_t cfg = {.shards = 2};
        eng_t *e = eng_create(&cfg);
        if (!e)
            _exit(3);
        if (write(pfd[1], "r", 1) != 1)
            _exit(4);
        int sig = eng_wait_signal(10 * NET_NS_PER_SEC);
        eng_destroy(e);
        exit(sig == SIGTERM ? 0 : 5); /* exit(), not _exit(): LeakSanitizer runs at exit */
    }
    char c;
    cr_assert_eq(read(pfd[0], &c, 1), 1, "child engine started");
    kill(pid, SIGTERM);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status), "child died of a signal");
    cr_assert_eq(WEXITSTATUS(status), 0, "child exit status %d", WEXITSTATUS(status));
}

Test(engine, refuses_a_port_in_use)
{
    int fd = client_socket();
    struct sockaddr_in sin;
    socklen_t sl = sizeof sin;
    getsockname(fd, (struct sockaddr *)&sin, &sl);
    eng_cfg_t cfg = {.shards = 1, .udp_port = ntohs(sin.sin_port)};
    cr_assert_null(eng_create(&cfg));
    close(fd);
}
