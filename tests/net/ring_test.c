/* tests/net/ring_test.c: UDP on an io_uring ring, against plain kernel sockets on loopback. */
#include "net/net.h"

#include <criterion/criterion.h>
#include <poll.h>
#include <unistd.h>

struct ctx {
    net_udp_t *u;
    bool echo;
    net_pkt_t *held[4096];
    uint32_t held_cnt;
    uint32_t got;
};

static void on_recv(void *arg, net_pkt_t *pkt)
{
    struct ctx *c = arg;
    c->got++;
    if (c->echo) {
        cr_assert_eq(net_udp_send(c->u, pkt), 0); /* pkt->addr is the source: send it back */
        return;
    }
    if (c->held_cnt < NET_ARRAY_LEN(c->held))
        c->held[c->held_cnt++] = pkt;
    else
        net_pkt_free(pkt);
}

static int plain_socket(net_addr_t *bound)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    cr_assert_geq(fd, 0);
    int big = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
    net_addr_t a;
    cr_assert_eq(net_addr_set(&a, "127.0.0.1", 0), 0);
    cr_assert_eq(bind(fd, &a.sa, a.len), 0);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    cr_assert_eq(net_addr_from_sa(bound, (struct sockaddr *)&ss, sl), 0);
    return fd;
}

static void spin(net_ring_t *r, net_udp_t *u, int rounds)
{
    for (int i = 0; i < rounds; i++) {
        net_udp_flush(u);
        net_ring_submit_wait(r, 1 * NET_NS_PER_MS);
        net_ring_process(r, 4096);
    }
}

static void echo_run(bool no_multishot)
{
    net_ring_t *r = net_ring_create(256);
    cr_assert_not_null(r);
    net_pool_t *pool = net_pool_create(1024);
    struct ctx c = {.echo = true};
    net_udp_cfg_t cfg = {.on_recv = on_recv, .arg = &c, .no_multishot = no_multishot};
    cr_assert_eq(net_addr_set(&cfg.bind, "127.0.0.1", 0), 0);
    c.u = net_udp_create(r, pool, &cfg);
    cr_assert_not_null(c.u);
    if (!no_multishot && !net_udp_multishot(c.u))
        cr_skip_test("kernel lacks multishot recvmsg or buffer rings");
    cr_assert_eq(net_udp_multishot(c.u), !no_multishot);
    net_addr_t srv, cli;
    net_udp_local_addr(c.u, &srv);
    int fd = plain_socket(&cli);

    const uint32_t total = 10000, window = 64;
    uint32_t sent = 0, recvd = 0;
    uint8_t buf[1500];
    uint64_t deadline = net_clock_ns() + 20 * NET_NS_PER_SEC;
    while (recvd < total && net_clock_ns() < deadline) {
        while (sent < total && sent - recvd < window) {
            size_t len = 20 + sent % 1180; /* every size from 20 to 1199 bytes */
            memset(buf, (int)(sent & 0xff), len);
            net_wr32be(buf, sent);
            cr_assert_eq(sendto(fd, buf, len, 0, &srv.sa, srv.len), (ssize_t)len);
            sent++;
        }
        spin(r, c.u, 1);
        ssize_t n;
        while ((n = recv(fd, buf, sizeof buf, 0)) > 0) {
            uint32_t seq = net_rd32be(buf);
            cr_assert_eq(seq, recvd, "echo %u arrived as %u", recvd, seq);
            cr_assert_eq((size_t)n, 20 + seq % 1180u);
            for (ssize_t i = 4; i < n; i++)
                cr_assert_eq(buf[i], (uint8_t)(seq & 0xff), "byte %zd of echo %u", i, seq);
            recvd++;
        }
    }
    cr_assert_eq(recvd, total, "only %u of %u echoes came back", recvd, total);
    const net_udp_stats_t *st = net_udp_stats(c.u);
    cr_assert_eq(st->rx_pkts, total);
    cr_assert_eq(st->tx_pkts, total);
    cr_assert_eq(st->drop_rx_nobufs + st->tx_errors + st->drop_tx_full, 0);
    net_udp_destroy(c.u);
    cr_assert_eq(net_pool_avail(pool), net_pool_cnt(pool), "every slot back in the pool");
    net_pool_destroy(pool);
    net_ring_destroy(r);
    close(fd);
}

Test(net_udp, echo_10000_multishot)
{
    echo_run(false);
}

Test(net_udp, echo_10000_single_shot_fallback)
{
    echo_run(true);
}

Test(net_udp, gso_batch_arrives_as_separate_datagrams)
{
    if (!net_features_get()->udp_gso)
        cr_skip_test("kernel lacks UDP GSO");
    net_ring_t *r = net_ring_create(64);
    net_pool_t *pool = net_pool_create(256);
    struct ctx c = {0};
    net_udp_cfg_t cfg = {.on_recv = on_recv, .arg = &c};
    cr_assert_eq(net_addr_set(&cfg.bind, "127.0.0.1", 0), 0);
    c.u = net_udp_create(r, pool, &cfg);
    net_addr_t cli, other;
    int fd = plain_socket(&cli);
    int fd2 = plain_socket(&other);
    /* 9 x 1000 B + 1 x 500 B to one peer (one GSO send), then 3 x 700 B to another. */
    static const uint32_t sizes[] = {1000, 1000, 1000, 1000, 1000, 1000, 1000,
                                     1000, 1000, 500,  700,  700,  700};
    for (uint32_t i = 0; i < NET_ARRAY_LEN(sizes); i++) {
        net_pkt_t *p = net_pkt_alloc(pool);
        memset(p->data, (int)i, sizes[i]);
        p->len = sizes[i];
        p->addr = i < 10 ? cli : other;
        cr_assert_eq(net_udp_send(c.u, p), 0);
    }
    spin(r, c.u, 5);
    const net_udp_stats_t *st = net_udp_stats(c.u);
    cr_assert_eq(st->tx_pkts, NET_ARRAY_LEN(sizes));
    cr_assert_eq(st->tx_sendmsgs, 2, "two runs, two sendmsg operations (got %lu)",
                 (unsigned long)st->tx_sendmsgs);
    uint8_t buf[65536];
    for (uint32_t i = 0; i < NET_ARRAY_LEN(sizes); i++) {
        ssize_t n = recv(i < 10 ? fd : fd2, buf, sizeof buf, 0);
        cr_assert_eq(n, (ssize_t)sizes[i], "datagram %u: %zd bytes, want %u", i, n, sizes[i]);
        cr_assert_eq(buf[0], (uint8_t)i);
        cr_assert_eq(buf[n - 1], (uint8_t)i);
    }
    cr_assert_lt(recv(fd, buf, sizeof buf, 0), 0, "nothing more");
    net_udp_destroy(c.u);
    cr_assert_eq(net_pool_avail(pool), net_pool_cnt(pool));
    net_pool_destroy(pool);
    net_ring_destroy(r);
    close(fd);
    close(fd2);
}

Test(net_udp, exhausted_pool_drops_counts_and_recovers)
{
    net_ring_t *r = net_ring_create(64);
    net_pool_t *pool = net_pool_create(16);
    struct ctx c = {0}; /* holds every packet it receives */
    net_udp_cfg_t cfg = {.on_recv = on_recv, .arg = &c, .rx_bufs = 16};
    cr_assert_eq(net_addr_set(&cfg.bind, "127.0.0.1", 0), 0);
    c.u = net_udp_create(r, pool, &cfg);
    if (!net_udp_multishot(c.u))
        cr_skip_test("kernel lacks multishot recvmsg");
    net_addr_t srv, cli;
    net_udp_local_addr(c.u, &srv);
    int fd = plain_socket(&cli);
    for (int i = 0; i < 40; i++)
        sendto(fd, "x", 1, 0, &srv.sa, srv.len);
    spin(r, c.u, 10);
    cr_assert_eq(c.held_cnt, 16, "the pool's 16 slots were used");
    cr_assert_null(net_pkt_alloc(pool), "and none is left");
    cr_assert_geq(net_udp_stats(c.u)->drop_rx_nobufs, 1, "the shortage was counted");
    /* Hand the slots back: the receive re-arms and the datagrams waiting in the socket arrive. */
    for (uint32_t i = 0; i < c.held_cnt; i++)
        net_pkt_free(c.held[i]);
    c.held_cnt = 0;
    spin(r, c.u, 10);
    cr_assert_eq(c.held_cnt, 16, "receiving again after recovery (%u)", c.held_cnt);
    for (uint32_t i = 0; i < c.held_cnt; i++)
        net_pkt_free(c.held[i]);
    c.held_cnt = 0;
    spin(r, c.u, 10);
    cr_assert_eq(c.got, 40, "all 40 datagrams arrived in the end (%u)", c.got);
    for (uint32_t i = 0; i < c.held_cnt; i++)
        net_pkt_free(c.held[i]);
    /* Sending with an empty pool: the caller gets NULL and counts; nothing crashes. */
    net_udp_destroy(c.u);
    cr_assert_eq(net_pool_avail(pool), net_pool_cnt(pool));
    net_pool_destroy(pool);
    net_ring_destroy(r);
    close(fd);
}

/* A ring, a pool of @slots and a UDP socket on loopback with the default send tables. */
static void sender_open(struct ctx *c, net_ring_t **r, net_pool_t **pool, uint32_t slots)
{
    *r = net_ring_create(256);
    *pool = net_pool_create(slots);
    cr_assert(*r && *pool);
    net_udp_cfg_t cfg = {.on_recv = on_recv, .arg = c, .rx_bufs = 16};
    cr_assert_eq(net_addr_set(&cfg.bind, "127.0.0.1", 0), 0);
    c->u = net_udp_create(*r, *pool, &cfg);
    cr_assert_not_null(c->u);
}

Test(net_udp, a_full_send_batch_is_flushed_not_dropped)
{
    net_ring_t *r;
    net_pool_t *pool;
    struct ctx c = {0};
    sender_open(&c, &r, &pool, 4096);
    net_addr_t cli;
    int fd = plain_socket(&cli);
    /* 3000 packets in one tick: three times what one batch holds (1024). */
    for (int i = 0; i < 3000; i++) {
        net_pkt_t *p = net_pkt_alloc(pool);
        cr_assert_not_null(p);
        memset(p->data, i & 0xff, 200);
        p->len = 200;
        p->addr = cli;
        cr_assert_eq(net_udp_send(c.u, p), 0, "packet %d refused", i);
    }
    spin(r, c.u, 20);
    const net_udp_stats_t *st = net_udp_stats(c.u);
    cr_assert_eq(st->drop_tx_full, 0);
    cr_assert_eq(st->tx_pkts, 3000, "%lu sent", (unsigned long)st->tx_pkts);
    uint8_t buf[2048];
    int got = 0;
    while (recv(fd, buf, sizeof buf, 0) == 200)
        got++;
    cr_assert_eq(got, 3000, "%d arrived", got);
    net_udp_destroy(c.u);
    cr_assert_eq(net_pool_avail(pool), net_pool_cnt(pool));
    net_pool_destroy(pool);
    net_ring_destroy(r);
    close(fd);
}

/* A fan-out: 4000 packets in one tick to 8 addresses in turn, so no two neighbours share a GSO
 * send: one operation each, far more than the 256 in flight plus the 1024 a batch holds
 * (urtc-bench load, 1 -> 256: 19-84% lost as tx_full). The overflow goes by sendmmsg. */
Test(net_udp, a_fan_out_beyond_the_operations_is_sent_not_dropped)
{
    enum { DESTS = 8, PKTS = 4000 };
    net_ring_t *r;
    net_pool_t *pool;
    struct ctx c = {0};
    sender_open(&c, &r, &pool, 8192);
    net_addr_t dst[DESTS];
    int fd[DESTS];
    for (int d = 0; d < DESTS; d++)
        fd[d] = plain_socket(&dst[d]);
    for (int i = 0; i < PKTS; i++) {
        net_pkt_t *p = net_pkt_alloc(pool);
        cr_assert_not_null(p);
        memset(p->data, i & 0xff, 200);
        net_wr32be(p->data, (uint32_t)i);
        p->len = 200;
        p->addr = dst[i % DESTS];
        cr_assert_eq(net_udp_send(c.u, p), 0, "packet %d refused", i);
    }
    spin(r, c.u, 20);
    const net_udp_stats_t *st = net_udp_stats(c.u);
    cr_assert_eq(st->drop_tx_full, 0);
    cr_assert_gt(st->tx_direct_calls, 0, "the overflow path ran");
    cr_assert_eq(st->tx_pkts, PKTS, "%lu sent", (unsigned long)st->tx_pkts);
    for (int d = 0; d < DESTS; d++) {
        uint8_t buf[2048];
        int got = 0;
        uint32_t last = 0;
        bool in_order = true;
        while (recv(fd[d], buf, sizeof buf, 0) == 200) {
            uint32_t n = net_rd32be(buf);
            in_order &= got == 0 || n > last;
            last = n;
            got++;
        }
        cr_assert_eq(got, PKTS / DESTS, "destination %d: %d arrived", d, got);
        cr_assert(in_order, "destination %d: in order", d);
        close(fd[d]);
    }
    net_udp_destroy(c.u);
    cr_assert_eq(net_pool_avail(pool), net_pool_cnt(pool));
    net_pool_destroy(pool);
    net_ring_destroy(r);
}
