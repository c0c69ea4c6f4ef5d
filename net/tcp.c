/* net/tcp.c: TCP listener and connections on a ring (the signaling thread's). */
#include "net/net.h"
#include "net/ring_priv.h"

#include <stdlib.h>
#include <unistd.h>

struct net_tcp_listener {
    net_ring_t *r;
    int fd;
    net_addr_t addr;
    net_op_t op;
    bool armed, multishot, closing;
    net_tcp_accept_fn fn;
    void *arg;
    struct sockaddr_storage peer; /* single-shot accept only */
    socklen_t peer_len;
};

static void listener_arm(net_tcp_listener_t *l)
{
    if (l->armed || l->closing)
        return;
    struct io_uring_sqe *sqe = net_ring_sqe(l->r);
    if (!sqe)
        return;
    if (l->multishot) {
        io_uring_prep_multishot_accept(sqe, l->fd, NULL, NULL, SOCK_CLOEXEC);
    } else {
        l->peer_len = sizeof l->peer;
        io_uring_prep_accept(sqe, l->fd, (struct sockaddr *)&l->peer, &l->peer_len, SOCK_CLOEXEC);
    }
    net_ring_prep_op(l->r, sqe, &l->op);
    l->armed = true;
}

static void listener_done(net_op_t *op, int res, uint32_t flags, bool more)
{
    (void)flags;
    net_tcp_listener_t *l = container_of(op, net_tcp_listener_t, op);
    if (!more)
        l->armed = false;
    if (res >= 0) {
        net_addr_t peer = {0};
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int ret = -ENOTCONN;
        if (!l->multishot)
            ret = net_addr_from_sa(&peer, (struct sockaddr *)&l->peer, l->peer_len);
        else if (getpeername(res, (struct sockaddr *)&ss, &sl) == 0)
            ret = net_addr_from_sa(&peer, (struct sockaddr *)&ss, sl);
        if (ret < 0)
            peer.len = 0; /* AF_UNIX, or gone already: the address stays unset */
        if (l->closing)
            close(res);
        else
            l->fn(l->arg, res, &peer);
    } else if (res != -ECANCELED) {
        LOG_RATELIMIT(1000, "accept: %s", strerror(-res));
    }
    if (!more)
        listener_arm(l);
}

net_tcp_listener_t *net_tcp_listen(net_ring_t *r, const net_addr_t *addr, net_tcp_accept_fn fn,
                                   void *arg)
{
    net_tcp_listener_t *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->r = r;
    l->fn = fn;
    l->arg = arg;
    l->op.fn = listener_done;
    l->multishot = net_features_get()->accept_multishot;
    l->fd = socket(addr->sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (l->fd < 0 || setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(l->fd, &addr->sa, addr->len) < 0 || listen(l->fd, 512) < 0 ||
        getsockname(l->fd, (struct sockaddr *)&ss, &sl) < 0 ||
        net_addr_from_sa(&l->addr, (struct sockaddr *)&ss, sl) < 0) {
        char a[NET_ADDR_STRLEN];
        LOG_ERROR("tcp listen on %s: %s", net_addr_fmt(addr, a, sizeof a), strerror(errno));
        if (l->fd >= 0)
            close(l->fd);
        free(l);
        return NULL;
    }
    listener_arm(l);
    return l;
}

void net_tcp_listener_addr(const net_tcp_listener_t *l, net_addr_t *out)
{
    *out = l->addr;
}

/* Cancels @op and runs the ring until @armed drops (bounded). */
static void cancel_and_wait(net_ring_t *r, net_op_t *op, const bool *armed)
{
    if (!*armed || net_ring_cancel(r, op) < 0)
        return;
    uint64_t deadline = net_clock_ns() + NET_NS_PER_SEC;
    while (*armed && net_clock_ns() < deadline) {
        net_ring_submit_wait(r, 10 * NET_NS_PER_MS);
        net_ring_process(r, UINT32_MAX);
    }
}

void net_tcp_listener_destroy(net_tcp_listener_t *l)
{
    if (!l)
        return;
    l->closing = true;
    cancel_and_wait(l->r, &l->op, &l->armed);
    if (l->armed) {
        LOG_ERROR("tcp listener: accept not cancelled; leaking it");
        return;
    }
    close(l->fd);
    free(l);
}

/* ------------------------------------------------------------------------------------------ */

struct net_tcp_conn {
    net_ring_t *r;
    int fd;
    net_addr_t peer;
    net_tcp_conn_cbs_t cbs;
    void *arg;
    net_op_t rx_op, tx_op;
    bool rx_armed, tx_armed;
    bool in_cb;   /* inside on_data: net_tcp_close() there must not free @c under our feet */
    bool closing; /* no more input; close once output is out */
    bool gone;    /* on_close has run */
    int err;
    uint8_t *in;
    size_t in_len, in_cap;
    /* Output: tx_buf[tx_off, tx_len) is with the kernel; new output queues in q_buf, and the
     * two swap when the kernel is done. Neither moves while the kernel reads it. */
    uint8_t *tx_buf, *q_buf;
    size_t tx_off, tx_len, tx_cap, q_len, q_cap;
    size_t max_out;
};

static void conn_rx_arm(net_tcp_conn_t *c);
static void conn_tx_arm(net_tcp_conn_t *c);
static void conn_maybe_finish(net_tcp_conn_t *c);

static void conn_fail(net_tcp_conn_t *c, int err)
{
    if (!c->err)
        c->err = err;
    c->closing = true;
    c->q_len = 0; /* drop queued output */
    c->tx_off = c->tx_len;
    if (c->rx_armed)
        if (net_ring_cancel(c->r, &c->rx_op) < 0)
            LOG_WARN("tcp: cannot queue cancel");
    conn_maybe_finish(c);
}

static void conn_rx_done(net_op_t *op, int res, uint32_t flags, bool more)
{
    (void)flags, (void)more;
    net_tcp_conn_t *c = container_of(op, net_tcp_conn_t, rx_op);
    c->rx_armed = false;
    if (c->closing) {
        conn_maybe_finish(c);
        return;
    }
    if (res <= 0) {
        conn_fail(c, res == 0 || res == -ECANCELED ? 0 : res);
        return;
    }
    c->in_len += (size_t)res;
    c->in_cb = true;
    long used = c->cbs.on_data(c->arg, c, c->in, c->in_len);
    c->in_cb = false;
    if (c->closing) { /* on_data called net_tcp_close() */
        conn_maybe_finish(c);
        return;
    }
    if (used < 0 || (size_t)used > c->in_len) {
        conn_fail(c, 0);
        return;
    }
    memmove(c->in, c->in + used, c->in_len - (size_t)used);
    c->in_len -= (size_t)used;
    if (c->in_len == c->in_cap) {
        conn_fail(c, -EMSGSIZE); /* unconsumed input filled the buffer */
        return;
    }
    conn_rx_arm(c);
}

static void conn_rx_arm(net_tcp_conn_t *c)
{
    if (c->rx_armed || c->closing)
        return;
    struct io_uring_sqe *sqe = net_ring_sqe(c->r);
    if (!sqe) {
        conn_fail(c, -EBUSY);
        return;
    }
    io_uring_prep_recv(sqe, c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
    net_ring_prep_op(c->r, sqe, &c->rx_op);
    c->rx_armed = true;
}

static void conn_tx_done(net_op_t *op, int res, uint32_t flags, bool more)
{
    (void)flags, (void)more;
    net_tcp_conn_t *c = container_of(op, net_tcp_conn_t, tx_op);
    c->tx_armed = false;
    if (res < 0) {
        conn_fail(c, res);
        return;
    }
    c->tx_off += (size_t)res; /* a short send leaves the rest for the next one */
    conn_tx_arm(c);
    conn_maybe_finish(c);
}

static void conn_tx_arm(net_tcp_conn_t *c)
{
    if (c->tx_armed || c->gone)
        return;
    if (c->tx_off == c->tx_len) {
        if (c->q_len == 0)
            return;
        uint8_t *b = c->tx_buf;
        size_t cap = c->tx_cap;
        c->tx_buf = c->q_buf;
        c->tx_cap = c->q_cap;
        c->tx_len = c->q_len;
        c->tx_off = 0;
        c->q_buf = b;
        c->q_cap = cap;
        c->q_len = 0;
    }
    struct io_uring_sqe *sqe = net_ring_sqe(c->r);
    if (!sqe)
        return; /* retried on the next send or completion */
    io_uring_prep_send(sqe, c->fd, c->tx_buf + c->tx_off, c->tx_len - c->tx_off, MSG_NOSIGNAL);
    net_ring_prep_op(c->r, sqe, &c->tx_op);
    c->tx_armed = true;
}

/* Frees the connection once it is closing and nothing of it is in flight. */
static void conn_maybe_finish(net_tcp_conn_t *c)
{
    if (!c->closing || c->rx_armed || c->tx_armed || c->in_cb || c->gone)
        return;
    if (c->tx_off != c->tx_len || c->q_len) {
        conn_tx_arm(c);
        if (c->tx_armed)
            return;
    }
    c->gone = true;
    close(c->fd);
    if (c->cbs.on_close)
        c->cbs.on_close(c->arg, c, c->err);
    free(c->in);
    free(c->tx_buf);
    free(c->q_buf);
    free(c);
}

net_tcp_conn_t *net_tcp_conn_create(net_ring_t *r, int fd, const net_tcp_conn_cbs_t *cbs, void *arg,
                                    size_t max_in, size_t max_out)
{
    net_tcp_conn_t *c = calloc(1, sizeof *c);
    if (c)
        c->in = malloc(max_in);
    if (!c || !c->in) {
        LOG_ERROR("tcp: out of memory");
        if (c)
            free(c);
        close(fd);
        return NULL;
    }
    c->r = r;
    c->fd = fd;
    c->cbs = *cbs;
    c->arg = arg;
    c->in_cap = max_in;
    c->max_out = max_out;
    c->rx_op.fn = conn_rx_done;
    c->tx_op.fn = conn_tx_done;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0)
        if (net_addr_from_sa(&c->peer, (struct sockaddr *)&ss, sl) < 0)
            LOG_DEBUG("tcp: peer address of unknown family");
    conn_rx_arm(c);
    return c;
}

int net_tcp_send(net_tcp_conn_t *c, const void *data, size_t len)
{
    if (c->closing)
        return -EPIPE;
    if (c->q_len + (c->tx_len - c->tx_off) + len > c->max_out)
        return -ENOBUFS;
    if (c->q_len + len > c->q_cap) {
        size_t cap = NET_MAX(c->q_len + len, NET_MAX(c->q_cap * 2, (size_t)4096));
        uint8_t *nb = realloc(c->q_buf, cap); /* q_buf is never with the kernel */
        if (!nb)
            return -ENOMEM;
        c->q_buf = nb;
        c->q_cap = cap;
    }
    memcpy(c->q_buf + c->q_len, data, len);
    c->q_len += len;
    conn_tx_arm(c);
    return 0;
}

void net_tcp_close(net_tcp_conn_t *c)
{
    if (c->closing)
        return;
    c->closing = true;
    /* Output already queued still goes out; then the fd closes. */
    if (c->rx_armed)
        if (net_ring_cancel(c->r, &c->rx_op) < 0)
            LOG_WARN("tcp: cannot queue cancel");
    conn_maybe_finish(c);
}

void net_tcp_peer_addr(const net_tcp_conn_t *c, net_addr_t *out)
{
    *out = c->peer;
}
