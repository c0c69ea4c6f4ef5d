/* net/ring_priv.h: the ring's insides, shared by net/ring.c and net/tcp.c only. */
#ifndef URTC_NET_RING_PRIV_H
#define URTC_NET_RING_PRIV_H

#include "net/net.h"

#include <liburing.h>

struct net_ring {
    struct io_uring ring;
    uint32_t inflight;
    uint16_t next_bgid;
};

/* A free SQE (submitting once if the queue is full), or NULL. */
struct io_uring_sqe *net_ring_sqe(net_ring_t *r);
/* Tags @sqe with @op and counts it in flight. */
void net_ring_prep_op(net_ring_t *r, struct io_uring_sqe *sqe, net_op_t *op);

#endif
