/* net/ring.c: io_uring rings, feature probing, and UDP sockets on a ring. The only file that
 * includes liburing.h (net/tcp.c reaches the ring through ring_priv.h).
 */
#include "net/net.h"
#include "net/ring_priv.h"

#include <fcntl.h>
#include <netinet/udp.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* ---------------------------------------------------------------------------------------------
 * Feature probe
 */
static net_features_t features;
static pthread_once_t features_once = PTHREAD_ONCE_INIT;

static int probe_ring_init(struct io_uring *ring, unsigned flags)
{
    struct io_uring_params p = {.flags = flags};
    return io_uring_queue_init_params(8, ring, &p);
}

/* Multishot recvmsg with a buffer ring, tried for real on a loopback socket: the only way to
 * know, since the opcode existed before its multishot flag did. */
static void probe_recvmsg_multishot(net_features_t *f)
{
    struct io_uring ring;
    if (probe_ring_init(&ring, 0) < 0)
        return;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sin;
    size_t br_len = 4096;
    void *br_mem = mmap(NULL, br_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    static uint8_t bufs[4][256];
    if (fd < 0 || br_mem == MAP_FAILED || bind(fd, (struct sockaddr *)&sin, sizeof sin) < 0 ||
        getsockname(fd, (struct sockaddr *)&sin, &sl) < 0)
        goto out;
    struct io_uring_buf_ring *br = br_mem;
    io_uring_buf_ring_init(br);
    struct io_uring_buf_reg reg = {.ring_addr = (uintptr_t)br, .ring_entries = 4, .bgid = 7};
    if (io_uring_register_buf_ring(&ring, &reg, 0) < 0)
        goto out;
    f->buf_ring = true;
    for (int i = 0; i < 4; i++)
        io_uring_buf_ring_add(br, bufs[i], sizeof bufs[i], (unsigned short)i,
                              io_uring_buf_ring_mask(4), i);
    io_uring_buf_ring_advance(br, 4);
    struct msghdr msg = {.msg_namelen = sizeof(struct sockaddr_in6)};
    struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
    io_uring_prep_recvmsg_multishot(sqe, fd, &msg, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = 7;
    io_uring_submit(&ring);
    if (sendto(fd, "probe", 5, 0, (struct sockaddr *)&sin, sizeof sin) != 5)
        goto out;
    struct io_uring_cqe *cqe;
    struct __kernel_timespec ts = {.tv_sec = 1};
    if (io_uring_wait_cqe_timeout(&ring, &cqe, &ts) == 0) {
        f->recvmsg_multishot = cqe->res > 0 && (cqe->flags & IORING_CQE_F_MORE);
        io_uring_cqe_seen(&ring, cqe);
    }
out:
    if (fd >= 0)
        close(fd);
    io_uring_queue_exit(&ring);
    if (br_mem != MAP_FAILED)
        munmap(br_mem, br_len);
}

static void features_probe(void)
{
    net_features_t *f = &features;
    struct io_uring ring;
    if (probe_ring_init(&ring, IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN) == 0) {
        f->single_issuer = f->defer_taskrun = true;
        io_uring_queue_exit(&ring);
    } else if (probe_ring_init(&ring, IORING_SETUP_SINGLE_ISSUER) == 0) {
        f->single_issuer = true;
        io_uring_queue_exit(&ring);
    }
    struct io_uring_probe *probe = io_uring_get_probe();
    if (probe) {
        f->send_zc = io_uring_opcode_supported(probe, IORING_OP_SEND_ZC);
        /* Multishot accept came with provided-buffer rings, in 5.19. */
        io_uring_free_probe(probe);
    }
    probe_recvmsg_multishot(f);
    f->accept_multishot = f->buf_ring;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int seg = 1200;
    f->udp_gso = fd >= 0 && setsockopt(fd, SOL_UDP, UDP_SEGMENT, &seg, sizeof seg) == 0;
    if (fd >= 0)
        close(fd);
    LOG_DEBUG("io_uring features: single_issuer=%d defer_taskrun=%d buf_ring=%d "
              "recvmsg_multishot=%d udp_gso=%d send_zc=%d",
              f->single_issuer, f->defer_taskrun, f->buf_ring, f->recvmsg_multishot, f->udp_gso,
              f->send_zc);
}

const net_features_t *net_features_get(void)
{
    pthread_once(&features_once, features_probe);
    return &features;
}

/* ---------------------------------------------------------------------------------------------
 * Ring
 */
net_ring_t *net_ring_create(uint32_t entries)
{
    const net_features_t *f = net_features_get();
    net_ring_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    struct io_uring_params p = {0};
    if (f->single_issuer)
        p.flags |= IORING_SETUP_SINGLE_ISSUER;
    if (f->defer_taskrun)
        p.flags |= IORING_SETUP_DEFER_TASKRUN;
    p.flags |= IORING_SETUP_CQSIZE;
    p.cq_entries = entries * 4; /* multishot receives post many CQEs per SQE */
    int ret = io_uring_queue_init_params(entries, &r->ring, &p);
    if (ret < 0) {
        LOG_ERROR("io_uring_queue_init(%u): %s", entries, strerror(-ret));
        free(r);
        return NULL;
    }
    r->next_bgid = 1;
    return r;
}

void net_ring_destroy(net_ring_t *r)
{
    if (!r)
        return;
    io_uring_queue_exit(&r->ring);
    free(r);
}

struct io_uring_sqe *net_ring_sqe(net_ring_t *r)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);
    if (!sqe) {
        /* SQ full: hand what is queued to the kernel and try once more. */
        io_uring_submit(&r->ring);
        sqe = io_uring_get_sqe(&r->ring);
    }
    return sqe;
}

void net_ring_prep_op(net_ring_t *r, struct io_uring_sqe *sqe, net_op_t *op)
{
    io_uring_sqe_set_data(sqe, op);
    r->inflight++;
}

unsigned net_ring_process(net_ring_t *r, unsigned budget)
{
    struct io_uring_cqe *cqe;
    unsigned head, n = 0;
    io_uring_for_each_cqe (&r->ring, head, cqe) {
        net_op_t *op = io_uring_cqe_get_data(cqe);
        int res = cqe->res;
        uint32_t flags = cqe->flags;
        bool more = flags & IORING_CQE_F_MORE;
        /* Advance before the callback: it may queue SQEs and even process again. */
        io_uring_cq_advance(&r->ring, 1);
        n++;
        if (op) {
            if (!more)
                r->inflight--;
            op->fn(op, res, flags, more);
        }
        if (n == budget)
            break;
    }
    return n;
}

int net_ring_submit_wait(net_ring_t *r, uint64_t wait_ns)
{
    struct io_uring_cqe *cqe;
    struct __kernel_timespec ts = {.tv_sec = (long long)(wait_ns / NET_NS_PER_SEC),
                                   .tv_nsec = (long long)(wait_ns % NET_NS_PER_SEC)};
    int ret = io_uring_submit_and_wait_timeout(&r->ring, &cqe, 1, &ts, NULL);
    if (ret < 0 && ret != -ETIME && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY)
        return ret;
    return 0;
}

int net_ring_submit(net_ring_t *r)
{
    int ret = io_uring_submit(&r->ring);
    return ret < 0 ? ret : 0;
}

uint32_t net_ring_inflight(const net_ring_t *r)
{
    return r->inflight;
}

int net_ring_read(net_ring_t *r, net_op_t *op, int fd, void *buf, uint32_t len)
{
    struct io_uring_sqe *sqe = net_ring_sqe(r);
    if (!sqe)
        return -EBUSY;
    io_uring_prep_read(sqe, fd, buf, len, 0);
    net_ring_prep_op(r, sqe, op);
    return 0;
}

static void cancel_done(net_op_t *op, int res, uint32_t flags, bool more)
{
    (void)op, (void)res, (void)flags, (void)more;
}
static net_op_t cancel_op = {cancel_done};

int net_ring_cancel(net_ring_t *r, net_op_t *op)
{
    struct io_uring_sqe *sqe = net_ring_sqe(r);
    if (!sqe)
        return -EBUSY;
    io_uring_prep_cancel(sqe, op, IORING_ASYNC_CANCEL_ALL);
    net_ring_prep_op(r, sqe, &cancel_op);
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * UDP
 */
#define UDP_TXQ_CAP 1024u   /* default: packets queued between flushes */
#define UDP_TXOPS 256u      /* default: sendmsg operations in flight */
#define UDP_GSO_MAX_SEGS 64 /* UDP_MAX_SEGMENTS is 64 on older kernels, 128 on newer ones */
#define UDP_GSO_MAX_BYTES 65000u
#define UDP_RX_SINGLE_OPS 32u /* the most single-shot receives a socket keeps in flight */
/* What the kernel writes in front of the payload: io_uring_recvmsg_out plus the source
 * address (msg_namelen is that of a sockaddr_in6). No control messages. */
#define UDP_RX_HDR_LEN (sizeof(struct io_uring_recvmsg_out) + sizeof(struct sockaddr_in6))

struct udp_txop {
    net_op_t op;
    net_udp_t *u;
    struct msghdr msg;
    union {
        char buf[CMSG_SPACE(sizeof(uint16_t))];
        struct cmsghdr align;
    } ctl;
    net_addr_t dst;
    uint32_t cnt, bytes;
    struct iovec iov[UDP_GSO_MAX_SEGS];
    net_pkt_t *pkts[UDP_GSO_MAX_SEGS];
    struct udp_txop *next_free;
};

struct udp_rxop { /* single-shot fallback: one recvmsg with its own packet */
    net_op_t op;
    net_udp_t *u;
    net_pkt_t *pkt;
    struct msghdr msg;
    struct iovec iov;
    struct sockaddr_in6 name;
    bool armed;
};

struct net_udp {
    net_ring_t *r;
    net_pool_t *pool;
    int fd;
    net_addr_t local;
    net_udp_recv_fn on_recv;
    void *arg;
    bool gso;
    bool multishot;
    bool closing;
    bool free_when_idle; /* net_udp_close(): free once inflight drops to 0 */
    uint32_t rx_single_ops;
    uint32_t inflight; /* this socket's operations in the ring */

    /* multishot receive */
    net_op_t rx_op;
    bool rx_armed;
    struct msghdr rx_msg; /* the template the kernel reads namelen/controllen from */
    struct io_uring_buf_ring *br;
    size_t br_len;
    uint32_t br_entries;
    uint16_t bgid;
    uint32_t br_held;   /* slots the kernel holds */
    uint32_t br_target; /* slots it should hold */
    uint8_t *in_kernel; /* per pool slot: lent to the kernel */

    /* single-shot fallback */
    struct udp_rxop rxops[UDP_RX_SINGLE_OPS];

    net_pkt_t **txq;
    uint32_t txq_len, txq_cap;
    struct udp_txop *txop_free;
    uint32_t txops_busy, txop_cnt;
    struct udp_txop *txops;

    net_udp_stats_t st;
};

static void udp_rx_multishot_done(net_op_t *op, int res, uint32_t flags, bool more);
static void udp_rx_single_done(net_op_t *op, int res, uint32_t flags, bool more);
static bool udp_idle_free(net_udp_t *u);

static void br_add(net_udp_t *u, uint32_t idx)
{
    uint8_t *buf = net_pool_slot(u->pool, idx) + NET_PKT_HEADROOM - UDP_RX_HDR_LEN;
    unsigned len = NET_PKT_SLOT_LEN - NET_PKT_TAILROOM - (NET_PKT_HEADROOM - UDP_RX_HDR_LEN);
    io_uring_buf_ring_add(u->br, buf, len, (unsigned short)idx,
                          io_uring_buf_ring_mask(u->br_entries), 0);
    io_uring_buf_ring_advance(u->br, 1);
    u->in_kernel[idx] = 1;
    u->br_held++;
}

/* The pool's recycle hook: a freed slot goes straight back to the kernel while it is short. */
static bool udp_recycle(void *arg, uint32_t idx)
{
    net_udp_t *u = arg;
    if (u->closing || u->br_held >= u->br_target)
        return false;
    br_add(u, idx);
    return true;
}

static void udp_rx_arm(net_udp_t *u)
{
    if (u->closing)
        return;
    if (u->multishot) {
        if (u->rx_armed || u->br_held == 0)
            return;
        struct io_uring_sqe *sqe = net_ring_sqe(u->r);
        if (!sqe)
            return; /* retried at the next flush */
        io_uring_prep_recvmsg_multishot(sqe, u->fd, &u->rx_msg, 0);
        sqe->flags |= IOSQE_BUFFER_SELECT;
        sqe->buf_group = u->bgid;
        net_ring_prep_op(u->r, sqe, &u->rx_op);
        u->rx_armed = true;
        u->inflight++;
        return;
    }
    for (uint32_t i = 0; i < u->rx_single_ops; i++) {
        struct udp_rxop *o = &u->rxops[i];
        if (o->armed)
            continue;
        if (!o->pkt && !(o->pkt = net_pkt_alloc(u->pool)))
            return; /* pool empty: retried at the next flush */
        struct io_uring_sqe *sqe = net_ring_sqe(u->r);
        if (!sqe)
            return;
        o->iov.iov_base = o->pkt->data;
        o->iov.iov_len = NET_PKT_MAX_LEN;
        o->msg = (struct msghdr){.msg_name = &o->name,
                                 .msg_namelen = sizeof o->name,
                                 .msg_iov = &o->iov,
                                 .msg_iovlen = 1};
        io_uring_prep_recvmsg(sqe, u->fd, &o->msg, 0);
        net_ring_prep_op(u->r, sqe, &o->op);
        o->armed = true;
        u->inflight++;
    }
}

static void udp_rx_multishot_done(net_op_t *op, int res, uint32_t flags, bool more)
{
    net_udp_t *u = container_of(op, net_udp_t, rx_op);
    if (!more) {
        u->rx_armed = false;
        u->inflight--;
    }
    if (flags & IORING_CQE_F_BUFFER) {
        uint32_t idx = flags >> IORING_CQE_BUFFER_SHIFT;
        u->in_kernel[idx] = 0;
        u->br_held--;
        net_pkt_t *pkt = net_pool_claim(u->pool, idx);
        uint8_t *buf = net_pool_slot(u->pool, idx) + NET_PKT_HEADROOM - UDP_RX_HDR_LEN;
        struct io_uring_recvmsg_out *out = io_uring_recvmsg_validate(buf, res, &u->rx_msg);
        if (res < 0 || !out || (out->flags & MSG_TRUNC) || u->closing) {
            if (out && (out->flags & MSG_TRUNC))
                u->st.drop_rx_trunc++;
            else if (!u->closing)
                u->st.rx_errors++;
            net_pkt_free(pkt);
        } else {
            pkt->data = io_uring_recvmsg_payload(out, &u->rx_msg);
            pkt->len = io_uring_recvmsg_payload_length(out, res, &u->rx_msg);
            if (net_addr_from_sa(&pkt->addr, io_uring_recvmsg_name(out), out->namelen) < 0)
                pkt->addr.len = 0;
            u->st.rx_pkts++;
            u->st.rx_bytes += pkt->len;
            u->on_recv(u->arg, pkt);
        }
    } else if (res == -ENOBUFS) {
        /* The kernel ran out of slots: the pool is exhausted. Datagrams wait in the socket
         * buffer (and overflow there) until slots come back; net_udp_flush() re-arms. */
        u->st.drop_rx_nobufs++;
    } else if (res < 0 && res != -ECANCELED) {
        u->st.rx_errors++;
        LOG_RATELIMIT(1000, "udp recvmsg: %s", strerror(-res));
    }
    if (udp_idle_free(u))
        return;
    if (!more)
        udp_rx_arm(u);
}

static void udp_rx_single_done(net_op_t *op, int res, uint32_t flags, bool more)
{
    (void)flags, (void)more;
    struct udp_rxop *o = container_of(op, struct udp_rxop, op);
    net_udp_t *u = o->u;
    o->armed = false;
    u->inflight--;
    if (udp_idle_free(u))
        return;
    if (res < 0 || u->closing || (o->msg.msg_flags & MSG_TRUNC)) {
        if (res >= 0 && (o->msg.msg_flags & MSG_TRUNC))
            u->st.drop_rx_trunc++;
        else if (res < 0 && res != -ECANCELED)
            u->st.rx_errors++;
        udp_rx_arm(u); /* keeps o->pkt for the next receive */
        return;
    }
    net_pkt_t *pkt = o->pkt;
    o->pkt = NULL;
    pkt->len = (uint32_t)res;
    if (net_addr_from_sa(&pkt->addr, (struct sockaddr *)&o->name, o->msg.msg_namelen) < 0)
        pkt->addr.len = 0;
    u->st.rx_pkts++;
    u->st.rx_bytes += pkt->len;
    u->on_recv(u->arg, pkt);
    udp_rx_arm(u);
}

static void udp_tx_done(net_op_t *op, int res, uint32_t flags, bool more)
{
    (void)flags, (void)more;
    struct udp_txop *t = container_of(op, struct udp_txop, op);
    net_udp_t *u = t->u;
    if (res < 0) {
        u->st.tx_errors += t->cnt;
        if (res != -ECANCELED)
            LOG_RATELIMIT(1000, "udp sendmsg (%u packets): %s", t->cnt, strerror(-res));
    } else {
        u->st.tx_pkts += t->cnt;
        u->st.tx_bytes += t->bytes;
    }
    for (uint32_t i = 0; i < t->cnt; i++)
        net_pkt_free(t->pkts[i]);
    t->cnt = 0;
    t->next_free = u->txop_free;
    u->txop_free = t;
    u->txops_busy--;
    u->inflight--;
    udp_idle_free(u);
}

static int udp_socket(net_udp_t *u, const net_udp_cfg_t *cfg)
{
    int family = cfg->bind.len ? cfg->bind.sa.sa_family : AF_INET;
    u->fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (u->fd < 0)
        return -errno;
    int buf_len = (int)(cfg->sock_buf_len ? cfg->sock_buf_len : 4u << 20);
    /* FORCE lifts net.core.[rw]mem_max when we may (root); else the plain option. */
    if (setsockopt(u->fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf_len, sizeof buf_len) < 0)
        (void)setsockopt(u->fd, SOL_SOCKET, SO_RCVBUF, &buf_len, sizeof buf_len);
    if (setsockopt(u->fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf_len, sizeof buf_len) < 0)
        (void)setsockopt(u->fd, SOL_SOCKET, SO_SNDBUF, &buf_len, sizeof buf_len);
    net_addr_t bind_addr = cfg->bind;
    if (!bind_addr.len && net_addr_set(&bind_addr, "0.0.0.0", 0) < 0)
        return -EINVAL;
    if (bind(u->fd, &bind_addr.sa, bind_addr.len) < 0)
        return -errno;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(u->fd, (struct sockaddr *)&ss, &sl) < 0)
        return -errno;
    return net_addr_from_sa(&u->local, (struct sockaddr *)&ss, sl);
}

static int udp_buf_ring_setup(net_udp_t *u, uint32_t rx_bufs)
{
    uint32_t entries = 1;
    while (entries < rx_bufs)
        entries <<= 1;
    if (entries > 32768 || entries > net_pool_cnt(u->pool))
        return -EINVAL;
    u->br_entries = entries;
    u->br_len = NET_ALIGN_UP(entries * sizeof(struct io_uring_buf), 4096u);
    void *mem = mmap(NULL, u->br_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        return -ENOMEM;
    u->br = mem;
    io_uring_buf_ring_init(u->br);
    u->bgid = u->r->next_bgid++;
    struct io_uring_buf_reg reg = {
        .ring_addr = (uintptr_t)u->br, .ring_entries = entries, .bgid = u->bgid};
    int ret = io_uring_register_buf_ring(&u->r->ring, &reg, 0);
    if (ret < 0) {
        munmap(u->br, u->br_len);
        u->br = NULL;
        return ret;
    }
    u->in_kernel = calloc(net_pool_cnt(u->pool), 1);
    if (!u->in_kernel)
        return -ENOMEM;
    u->br_target = entries;
    for (uint32_t i = 0; i < entries; i++) {
        int idx = net_pool_take_free(u->pool);
        if (idx < 0)
            break;
        br_add(u, (uint32_t)idx);
    }
    u->rx_msg.msg_namelen = sizeof(struct sockaddr_in6);
    u->rx_op.fn = udp_rx_multishot_done;
    net_pool_set_recycle(u->pool, udp_recycle, u);
    return 0;
}

net_udp_t *net_udp_create(net_ring_t *r, net_pool_t *pool, const net_udp_cfg_t *cfg)
{
    const net_features_t *f = net_features_get();
    net_udp_t *u = calloc(1, sizeof *u);
    if (!u) {
        LOG_ERROR("net_udp_create: out of memory");
        return NULL;
    }
    u->r = r;
    u->pool = pool;
    u->on_recv = cfg->on_recv;
    u->arg = cfg->arg;
    u->rx_single_ops = cfg->rx_single_ops && cfg->rx_single_ops < UDP_RX_SINGLE_OPS
                           ? cfg->rx_single_ops
                           : UDP_RX_SINGLE_OPS;
    u->gso = f->udp_gso && !cfg->no_gso;
    u->txq_cap = cfg->tx_queue ? cfg->tx_queue : UDP_TXQ_CAP;
    u->txop_cnt = cfg->tx_ops ? cfg->tx_ops : UDP_TXOPS;
    u->txq = calloc(u->txq_cap, sizeof *u->txq);
    u->txops = calloc(u->txop_cnt, sizeof *u->txops);
    if (!u->txq || !u->txops) {
        LOG_ERROR("net_udp_create: out of memory");
        free(u->txq);
        free(u->txops);
        free(u);
        return NULL;
    }
    for (uint32_t i = 0; i < u->txop_cnt; i++) {
        u->txops[i].u = u;
        u->txops[i].op.fn = udp_tx_done;
        u->txops[i].next_free = u->txop_free;
        u->txop_free = &u->txops[i];
    }
    for (uint32_t i = 0; i < UDP_RX_SINGLE_OPS; i++) {
        u->rxops[i].u = u;
        u->rxops[i].op.fn = udp_rx_single_done;
    }
    int ret = udp_socket(u, cfg);
    if (ret < 0) {
        char a[NET_ADDR_STRLEN];
        LOG_ERROR("udp socket on %s: %s", net_addr_fmt(&cfg->bind, a, sizeof a), strerror(-ret));
        u->closing = true;
        net_udp_destroy(u);
        return NULL;
    }
    u->multishot = f->recvmsg_multishot && !cfg->no_multishot;
    /* By default the kernel gets at most half the pool: the rest is for sending. */
    uint32_t rx_bufs = cfg->rx_bufs ? cfg->rx_bufs : NET_MIN(256u, net_pool_cnt(pool) / 2);
    if (u->multishot && (ret = udp_buf_ring_setup(u, rx_bufs)) < 0) {
        LOG_WARN("udp: provided-buffer ring unavailable (%s); single-shot receive", strerror(-ret));
        u->multishot = false;
    }
    udp_rx_arm(u);
    return u;
}

void net_udp_local_addr(const net_udp_t *u, net_addr_t *out)
{
    *out = u->local;
}

int net_udp_fd(const net_udp_t *u)
{
    return u->fd;
}

bool net_udp_multishot(const net_udp_t *u)
{
    return u->multishot;
}

const net_udp_stats_t *net_udp_stats(const net_udp_t *u)
{
    return &u->st;
}

uint32_t net_udp_pending(const net_udp_t *u)
{
    return u->txq_len + u->txops_busy;
}

#define UDP_DIRECT_CHUNK 64u /* datagrams per sendmmsg(2) of the overflow path */

/* The batch is full and every send operation is in flight: one tick fans out more than its
 * operations carry (1 -> 256 subscribers times a keyframe burst; their completions are only
 * reaped at the next tick). Rather than drop, the batch leaves by sendmmsg(2), non-blocking,
 * after what the ring already holds (so a destination sees its packets in order); UDP copies
 * the data, so the slots are freed at once. What the kernel refuses (EAGAIN: socket buffer
 * full) stays queued. */
static void udp_tx_direct(net_udp_t *u)
{
    (void)net_ring_submit(u->r);
    uint32_t i = 0;
    while (i < u->txq_len) {
        struct mmsghdr mm[UDP_DIRECT_CHUNK];
        struct iovec iov[UDP_DIRECT_CHUNK];
        uint32_t n = u->txq_len - i < UDP_DIRECT_CHUNK ? u->txq_len - i : UDP_DIRECT_CHUNK;
        for (uint32_t k = 0; k < n; k++) {
            net_pkt_t *p = u->txq[i + k];
            iov[k] = (struct iovec){p->data, p->len};
            mm[k] = (struct mmsghdr){.msg_hdr = {.msg_name = &p->addr.sa,
                                                 .msg_namelen = p->addr.len,
                                                 .msg_iov = &iov[k],
                                                 .msg_iovlen = 1}};
        }
        int sent = sendmmsg(u->fd, mm, n, MSG_DONTWAIT);
        if (sent < 0 && errno == EINTR)
            continue;
        if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS))
            break;
        if (sent <= 0) { /* this datagram is refused (bad address ...): it goes, the rest not */
            LOG_RATELIMIT(1000, "udp sendmmsg: %s", strerror(errno));
            u->st.tx_errors++;
            net_pkt_free(u->txq[i++]);
            continue;
        }
        u->st.tx_direct_calls++;
        for (int k = 0; k < sent; k++) {
            net_pkt_t *p = u->txq[i + (uint32_t)k];
            u->st.tx_pkts++;
            u->st.tx_bytes += p->len;
            net_pkt_free(p);
        }
        i += (uint32_t)sent;
    }
    if (i) {
        memmove(u->txq, u->txq + i, (u->txq_len - i) * sizeof u->txq[0]);
        u->txq_len -= i;
    }
}

int net_udp_send(net_udp_t *u, net_pkt_t *pkt)
{
    /* A full batch goes to the ring now rather than dropping what comes next; when every
     * operation is in flight, by sendmmsg. */
    if (NET_UNLIKELY(u->txq_len == u->txq_cap)) {
        net_udp_flush(u);
        if (u->txq_len == u->txq_cap && !u->closing)
            udp_tx_direct(u);
    }
    if (NET_UNLIKELY(u->txq_len == u->txq_cap || u->closing || !pkt->addr.len)) {
        u->st.drop_tx_full++;
        net_pkt_free(pkt);
        return -ENOBUFS;
    }
    u->txq[u->txq_len++] = pkt;
    return 0;
}

/* Queues one sendmsg for txq[from..from+cnt): a GSO send when cnt > 1. */
static bool udp_tx_submit(net_udp_t *u, uint32_t from, uint32_t cnt)
{
    struct udp_txop *t = u->txop_free;
    if (!t)
        return false;
    struct io_uring_sqe *sqe = net_ring_sqe(u->r);
    if (!sqe)
        return false;
    u->txop_free = t->next_free;
    u->txops_busy++;
    t->cnt = cnt;
    t->bytes = 0;
    t->dst = u->txq[from]->addr;
    for (uint32_t i = 0; i < cnt; i++) {
        net_pkt_t *p = u->txq[from + i];
        t->pkts[i] = p;
        t->iov[i] = (struct iovec){p->data, p->len};
        t->bytes += p->len;
    }
    t->msg = (struct msghdr){
        .msg_name = &t->dst.sa, .msg_namelen = t->dst.len, .msg_iov = t->iov, .msg_iovlen = cnt};
    if (cnt > 1) {
        t->msg.msg_control = t->ctl.buf;
        t->msg.msg_controllen = sizeof t->ctl.buf;
        struct cmsghdr *cm = CMSG_FIRSTHDR(&t->msg);
        cm->cmsg_level = SOL_UDP;
        cm->cmsg_type = UDP_SEGMENT;
        cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
        uint16_t seg = (uint16_t)t->pkts[0]->len;
        memcpy(CMSG_DATA(cm), &seg, sizeof seg);
    }
    io_uring_prep_sendmsg(sqe, u->fd, &t->msg, 0);
    net_ring_prep_op(u->r, sqe, &t->op);
    u->inflight++;
    u->st.tx_sendmsgs++;
    return true;
}

void net_udp_flush(net_udp_t *u)
{
    uint32_t i = 0;
    while (i < u->txq_len) {
        net_pkt_t *first = u->txq[i];
        uint32_t n = 1, bytes = first->len;
        /* RFC-free kernel rule (udp_send_skb): every GSO segment has gso_size bytes but the last,
         * which may be shorter; all go to one destination. */
        if (u->gso) {
            while (i + n < u->txq_len && n < UDP_GSO_MAX_SEGS) {
                net_pkt_t *p = u->txq[i + n];
                if (p->len > first->len || bytes + p->len > UDP_GSO_MAX_BYTES ||
                    !net_addr_eq(&p->addr, &first->addr))
                    break;
                bytes += p->len;
                n++;
                if (p->len < first->len)
                    break; /* a short one ends the run */
            }
        }
        if (!udp_tx_submit(u, i, n))
            break; /* no free operation: the rest waits for the next flush */
        i += n;
    }
    if (i) {
        memmove(u->txq, u->txq + i, (u->txq_len - i) * sizeof u->txq[0]);
        u->txq_len -= i;
    }
    if ((u->multishot && !u->rx_armed) || !u->multishot)
        udp_rx_arm(u);
}

/* Returns every slot, closes and frees; nothing of @u is in flight. */
static void udp_free(net_udp_t *u)
{
    for (uint32_t i = 0; i < u->txq_len; i++)
        net_pkt_free(u->txq[i]);
    u->txq_len = 0;
    for (uint32_t i = 0; i < UDP_RX_SINGLE_OPS; i++)
        if (!u->rxops[i].armed)
            net_pkt_free(u->rxops[i].pkt);
    if (u->br) {
        net_pool_set_recycle(u->pool, NULL, NULL);
        io_uring_unregister_buf_ring(&u->r->ring, u->bgid);
        /* Slots the kernel still held come back to the pool. */
        for (uint32_t i = 0; i < net_pool_cnt(u->pool); i++)
            if (u->in_kernel[i])
                net_pkt_free(net_pool_claim(u->pool, i));
        munmap(u->br, u->br_len);
    }
    free(u->in_kernel);
    if (u->fd >= 0)
        close(u->fd);
    free(u->txq);
    free(u->txops);
    free(u);
}

/* After a completion of a socket being closed: free it when it was the last one. Returns
 * true if @u is gone. */
static bool udp_idle_free(net_udp_t *u)
{
    if (!u->free_when_idle || u->inflight)
        return false;
    udp_free(u);
    return true;
}

static void udp_cancel_rx(net_udp_t *u)
{
    if (u->rx_armed && net_ring_cancel(u->r, &u->rx_op) < 0)
        LOG_WARN("udp: cannot queue cancel");
    for (uint32_t i = 0; i < UDP_RX_SINGLE_OPS; i++)
        if (u->rxops[i].armed && net_ring_cancel(u->r, &u->rxops[i].op) < 0)
            LOG_WARN("udp: cannot queue cancel");
}

void net_udp_close(net_udp_t *u)
{
    if (!u)
        return;
    u->closing = true;
    u->free_when_idle = true;
    for (uint32_t i = 0; i < u->txq_len; i++)
        net_pkt_free(u->txq[i]); /* queued, never submitted */
    u->txq_len = 0;
    udp_cancel_rx(u);
    udp_idle_free(u);
}

void net_udp_destroy(net_udp_t *u)
{
    if (!u)
        return;
    u->closing = true;
    if (u->fd >= 0 && u->inflight) {
        /* Cancel the receives; sends finish by themselves (UDP sends do not block long). */
        udp_cancel_rx(u);
        uint64_t deadline = net_clock_ns() + NET_NS_PER_SEC;
        while (u->inflight && net_clock_ns() < deadline) {
            net_ring_submit_wait(u->r, 10 * NET_NS_PER_MS);
            net_ring_process(u->r, UINT32_MAX);
        }
        if (u->inflight)
            LOG_ERROR("udp: %u operations still in flight at close", u->inflight);
    }
    udp_free(u);
}
