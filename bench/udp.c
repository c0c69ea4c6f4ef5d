/* bench/udp.c: `urtc-bench udp`, a loopback UDP reflector.
 *
 * The same client drives two reflectors in turn, in the same run: a shard of the urtc engine
 * (multishot recvmsg into the buffer ring, batched sendmsg with UDP GSO) and a plain loop of
 * recvmmsg/sendmmsg with the same batch size. The client is made cheap so that the reflector
 * is the bottleneck: it sends with GSO and receives with GRO, one syscall per batch. The
 * figure is echoed packets per second; the ratio is urtc's over the mmsg loop's.
 */
#include "bench/bench.h"

#include <netinet/udp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engine/engine.h"
#include "net/net.h"

struct opts {
    uint32_t size, batch, window;
    double seconds;
    int rounds;
    bool no_gso;
};

/* ---- the client ---------------------------------------------------------------------------- */

static int client_socket(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int big = 8 << 20, one = 1;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof big);
    setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof one);
    net_addr_t a;
    if (net_addr_set(&a, "127.0.0.1", 0) < 0 || bind(fd, &a.sa, a.len) < 0) {
        perror("bind");
        exit(1);
    }
    return fd;
}

/* Sends @n packets of @size bytes to @dst in one GSO sendmsg. */
static int client_send(int fd, const net_addr_t *dst, uint8_t *buf, uint32_t size, uint32_t n)
{
    struct iovec iov = {buf, (size_t)size * n};
    union {
        char b[CMSG_SPACE(sizeof(uint16_t))];
        struct cmsghdr align;
    } ctl;
    struct msghdr msg = {
        .msg_name = (void *)&dst->sa, .msg_namelen = dst->len, .msg_iov = &iov, .msg_iovlen = 1};
    if (n > 1) {
        msg.msg_control = ctl.b;
        msg.msg_controllen = sizeof ctl.b;
        struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
        cm->cmsg_level = SOL_UDP;
        cm->cmsg_type = UDP_SEGMENT;
        cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
        uint16_t seg = (uint16_t)size;
        memcpy(CMSG_DATA(cm), &seg, sizeof seg);
    }
    return sendmsg(fd, &msg, 0) < 0 ? -errno : 0;
}

#define CLIENT_RX_MSGS 64
#define CLIENT_RX_BUF 65536

/* Receives what is there with recvmmsg; returns the number of datagrams (GRO packs several
 * into one message). */
static uint32_t client_recv(int fd, uint8_t *buf, uint32_t size)
{
    struct mmsghdr msgs[CLIENT_RX_MSGS];
    struct iovec iov[CLIENT_RX_MSGS];
    union {
        char b[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctl[CLIENT_RX_MSGS];
    uint32_t cnt = 0;
    for (;;) {
        for (int i = 0; i < CLIENT_RX_MSGS; i++) {
            iov[i] = (struct iovec){buf + (size_t)i * CLIENT_RX_BUF, CLIENT_RX_BUF};
            msgs[i].msg_hdr = (struct msghdr){.msg_iov = &iov[i],
                                              .msg_iovlen = 1,
                                              .msg_control = ctl[i].b,
                                              .msg_controllen = sizeof ctl[i].b};
        }
        int n = recvmmsg(fd, msgs, CLIENT_RX_MSGS, MSG_DONTWAIT, NULL);
        if (n <= 0)
            return cnt;
        for (int i = 0; i < n; i++) {
            struct msghdr *mh = &msgs[i].msg_hdr;
            int seg = (int)size;
            for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm))
                if (cm->cmsg_level == SOL_UDP && cm->cmsg_type == UDP_GRO)
                    memcpy(&seg, CMSG_DATA(cm), sizeof seg);
            cnt += (msgs[i].msg_len + (uint32_t)seg - 1) / (uint32_t)seg;
        }
        if (n < CLIENT_RX_MSGS)
            return cnt;
    }
}

/* Keeps @window packets in flight towards @dst for @seconds; returns echoes per second. */
static double client_run(const net_addr_t *dst, const struct opts *o, uint64_t *lost)
{
    int fd = client_socket();
    uint8_t *tx = calloc(1, (size_t)o->size * o->batch);
    uint8_t *rx = malloc((size_t)CLIENT_RX_MSGS * CLIENT_RX_BUF);
    uint64_t t0 = net_clock_ns(), end = t0 + (uint64_t)(o->seconds * 1e9), last_rx = t0;
    uint64_t echoed = 0, sent = 0;
    uint32_t inflight = 0;
    *lost = 0;
    for (uint64_t now = t0; now < end; now = net_clock_ns()) {
        while (inflight + o->batch <= o->window) {
            for (uint32_t i = 0; i < o->batch; i++)
                net_wr64be(tx + (size_t)i * o->size, sent + i);
            if (client_send(fd, dst, tx, o->size, o->batch) < 0)
                break;
            sent += o->batch;
            inflight += o->batch;
        }
        uint32_t n = client_recv(fd, rx, o->size);
        if (n) {
            echoed += n;
            inflight -= NET_MIN(n, inflight);
            last_rx = now;
        } else if (now - last_rx > 20 * NET_NS_PER_MS) {
            *lost += inflight; /* a reflector dropped some: start the window afresh */
            inflight = 0;
            last_rx = now;
        } else {
            struct pollfd p = {.fd = fd, .events = POLLIN};
            poll(&p, 1, 1);
        }
    }
    double secs = (double)(net_clock_ns() - t0) / 1e9;
    free(tx);
    free(rx);
    close(fd);
    return (double)echoed / secs;
}

/* ---- the mmsg reflector -------------------------------------------------------------------- */

struct mmsg_ref {
    int fd;
    uint32_t batch;
    volatile bool stop;
};

static void *mmsg_main(void *arg)
{
    struct mmsg_ref *r = arg;
    uint32_t b = r->batch;
    struct mmsghdr *msgs = calloc(b, sizeof *msgs);
    struct iovec *iov = calloc(b, sizeof *iov);
    struct sockaddr_storage *names = calloc(b, sizeof *names);
    uint8_t *bufs = malloc((size_t)b * 2048);
    while (!r->stop) {
        for (uint32_t i = 0; i < b; i++) {
            iov[i] = (struct iovec){bufs + (size_t)i * 2048, 2048};
            msgs[i].msg_hdr = (struct msghdr){.msg_name = &names[i],
                                              .msg_namelen = sizeof names[i],
                                              .msg_iov = &iov[i],
                                              .msg_iovlen = 1};
        }
        int n = recvmmsg(r->fd, msgs, b, MSG_WAITFORONE, NULL);
        if (n <= 0)
            continue; /* SO_RCVTIMEO: look at the stop flag */
        for (int i = 0; i < n; i++)
            iov[i].iov_len = msgs[i].msg_len;
        int done = 0;
        while (done < n) {
            int m = sendmmsg(r->fd, msgs + done, (unsigned)(n - done), 0);
            if (m <= 0)
                break;
            done += m;
        }
    }
    free(msgs);
    free(iov);
    free(names);
    free(bufs);
    return NULL;
}

static double run_mmsg(const struct opts *o, uint64_t *lost)
{
    struct mmsg_ref r = {.batch = o->batch};
    r.fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int big = 4 << 20;
    struct timeval tv = {.tv_usec = 100000};
    setsockopt(r.fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
    setsockopt(r.fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof big);
    setsockopt(r.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    net_addr_t a;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (net_addr_set(&a, "127.0.0.1", 0) < 0 || bind(r.fd, &a.sa, a.len) < 0 ||
        getsockname(r.fd, (struct sockaddr *)&ss, &sl) < 0 ||
        net_addr_from_sa(&a, (struct sockaddr *)&ss, sl) < 0) {
        perror("mmsg reflector");
        exit(1);
    }
    pthread_t th;
    pthread_create(&th, NULL, mmsg_main, &r);
    double pps = client_run(&a, o, lost);
    r.stop = true;
    pthread_join(th, NULL);
    close(r.fd);
    return pps;
}

/* ---- the urtc reflector -------------------------------------------------------------------- */

static void echo_rx(eng_shard_t *sh, net_pkt_t *pkt, void *arg)
{
    (void)arg;
    eng_shard_send(sh, pkt);
}

static double run_urtc(const struct opts *o, uint64_t *lost, double *pkts_per_sendmsg)
{
    eng_cfg_t cfg = {.shards = 1, .on_rx = echo_rx, .no_gso = o->no_gso, .pool_pkts = 8192};
    eng_t *e = eng_create(&cfg);
    if (!e) {
        fprintf(stderr, "urtc-bench udp: engine did not start\n");
        exit(1);
    }
    net_addr_t a;
    eng_shard_addr(e, 0, &a);
    double pps = client_run(&a, o, lost);
    eng_counters_t c;
    usleep(150000);
    eng_counters_get(e, 0, &c);
    *pkts_per_sendmsg = c.tx_sendmsgs ? (double)c.tx_pkts / (double)c.tx_sendmsgs : 0;
    eng_destroy(e);
    return pps;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int bench_udp(int argc, char **argv, bool json)
{
    struct opts o = {
        .size = (uint32_t)bench_opt_long(argc, argv, "--size", 1200),
        .seconds = bench_opt_double(argc, argv, "--seconds", 2.0),
        .rounds = (int)bench_opt_long(argc, argv, "--rounds", 3),
        .window = (uint32_t)bench_opt_long(argc, argv, "--window", 1024),
        .no_gso = bench_opt_flag(argc, argv, "--no-gso"),
    };
    if (o.size < 16 || o.size > NET_PKT_MAX_LEN || o.rounds < 1 || o.rounds > 20 ||
        o.seconds <= 0 || o.seconds > 60) {
        fprintf(stderr, "urtc-bench udp: bad options\n");
        return 2;
    }
    /* One GSO send carries at most 64 segments and 64 KiB; the mmsg loop uses the same. */
    o.batch = (uint32_t)bench_opt_long(argc, argv, "--batch", NET_MIN(64u, 65000u / o.size));
    if (o.batch < 1 || o.batch > 64 || o.batch * o.size > 65000 || o.window < o.batch) {
        fprintf(stderr, "urtc-bench udp: bad --batch/--window\n");
        return 2;
    }
    double urtc[20], mmsg[20], per_send = 0;
    uint64_t lost_u = 0, lost_m = 0, l;
    /* Interleave the rounds so that a noisy neighbour hurts both alike; report medians. */
    for (int i = 0; i < o.rounds; i++) {
        mmsg[i] = run_mmsg(&o, &l);
        lost_m += l;
        urtc[i] = run_urtc(&o, &l, &per_send);
        lost_u += l;
        if (!json)
            printf("round %d: urtc %.0f pps, mmsg %.0f pps\n", i + 1, urtc[i], mmsg[i]);
    }
    qsort(urtc, (size_t)o.rounds, sizeof urtc[0], cmp_double);
    qsort(mmsg, (size_t)o.rounds, sizeof mmsg[0], cmp_double);
    double u = urtc[o.rounds / 2], m = mmsg[o.rounds / 2], ratio = m > 0 ? u / m : 0;
    printf("udp reflector, %u B, batch %u, window %u, %d x %.1f s (medians):\n"
           "  urtc io_uring shard (%s): %.0f pps (%.1f packets per sendmsg, %lu lost)\n"
           "  recvmmsg/sendmmsg loop:     %.0f pps (%lu lost)\n"
           "  ratio urtc/mmsg: %.2f\n",
           o.size, o.batch, o.window, o.rounds, o.seconds, o.no_gso ? "no GSO" : "GSO", u, per_send,
           (unsigned long)lost_u, m, (unsigned long)lost_m, ratio);
    if (json) {
        bench_json_t j;
        bench_json_init(&j);
        bench_json_result(&j, "urtc_pps", u);
        bench_json_result(&j, "mmsg_pps", m);
        bench_json_result(&j, "packet_bytes", o.size);
        bench_json_result(&j, "batch", o.batch);
        bench_json_result(&j, "urtc_packets_per_sendmsg", per_send);
        bench_json_result(&j, "gso", o.no_gso ? 0 : 1);
        bench_json_print(&j, "udp", ratio);
    }
    return 0;
}

BENCH_REGISTER(udp,
               "Loopback UDP reflector: an urtc engine shard (multishot recvmsg + buffer ring, "
               "batched sendmsg with GSO) against a recvmmsg/sendmmsg loop with the same packet "
               "size and batch, driven by the same GSO/GRO client in the same run. Prints echoed "
               "packets per second for both and the ratio (urtc / mmsg).\n"
               "options: --size B (1200) --seconds S per round (2) --rounds N (3, medians) "
               "--window PKTS in flight (1024) --batch N (min(64, 65000/size)) --no-gso",
               bench_udp)
