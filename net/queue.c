/* net/queue.c: SPSC message queues between threads (Concurrency Kit ck_ring) with an eventfd
 * wake-up. The only file that includes ck_ring.h.
 *
 * Messages are copied by value into fixed 64-byte cells, so a queue never allocates after
 * creation; a pointer inside a message hands ownership of what it points to.
 */
#include "net/net.h"

#include <ck_ring.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define QUEUE_CELL_LEN 64u

struct queue_cell {
    uint8_t b[QUEUE_CELL_LEN];
};
CK_RING_PROTOTYPE(queue_cell, queue_cell)

struct net_queue {
    struct ck_ring ring;
    struct queue_cell *cells;
    uint32_t msg_len;
    int efd;
};

net_queue_t *net_queue_create(uint32_t cap, uint32_t msg_len)
{
    if (msg_len == 0 || msg_len > QUEUE_CELL_LEN || cap == 0 || cap > (1u << 24)) {
        LOG_ERROR("net_queue_create: bad size (cap %u, msg_len %u)", cap, msg_len);
        return NULL;
    }
    uint32_t size = 2; /* ck_ring needs a power of two and keeps one cell empty */
    while (size < cap + 1)
        size <<= 1;
    net_queue_t *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->efd = -1;
    q->msg_len = msg_len;
    q->cells = calloc(size, sizeof *q->cells);
    if (!q->cells)
        goto fail;
    q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (q->efd < 0) {
        LOG_ERROR("eventfd: %s", strerror(errno));
        goto fail;
    }
    ck_ring_init(&q->ring, size);
    return q;
fail:
    net_queue_destroy(q);
    return NULL;
}

void net_queue_destroy(net_queue_t *q)
{
    if (!q)
        return;
    if (q->efd >= 0)
        close(q->efd);
    free(q->cells);
    free(q);
}

int net_queue_push(net_queue_t *q, const void *msg)
{
    struct queue_cell c;
    memcpy(c.b, msg, q->msg_len);
    if (!ck_ring_enqueue_spsc_queue_cell(&q->ring, q->cells, &c))
        return -EAGAIN;
    /* Always wake: a conditional wake races the consumer going to sleep. */
    uint64_t one = 1;
    ssize_t w = write(q->efd, &one, sizeof one);
    (void)w; /* EAGAIN means the counter is already non-zero: the consumer will wake */
    return 0;
}

bool net_queue_pop(net_queue_t *q, void *msg)
{
    struct queue_cell c;
    if (!ck_ring_dequeue_spsc_queue_cell(&q->ring, q->cells, &c))
        return false;
    memcpy(msg, c.b, q->msg_len);
    return true;
}

int net_queue_fd(const net_queue_t *q)
{
    return q->efd;
}

void net_queue_ack(net_queue_t *q)
{
    uint64_t v;
    ssize_t r = read(q->efd, &v, sizeof v);
    (void)r; /* EAGAIN: nothing pending */
}
