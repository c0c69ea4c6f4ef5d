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
    uint32_t mask;
#ifdef __SANITIZE_THREAD__
    uint32_t head, tail; /* see queue_tsan_push() */
#endif
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
    q->mask = size - 1;
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

#ifdef __SANITIZE_THREAD__
/* ThreadSanitizer cannot see Concurrency Kit's fences (inline asm and volatile stores), so
 * under TSan the same single-producer/single-consumer ring is written with __atomic
 * acquire/release, which it understands; every hand-off is then checked for real. */
static bool queue_tsan_push(net_queue_t *q, const struct queue_cell *c)
{
    uint32_t tail = q->tail, head = __atomic_load_n(&q->head, __ATOMIC_ACQUIRE);
    if (((tail + 1) & q->mask) == head)
        return false;
    q->cells[tail] = *c;
    __atomic_store_n(&q->tail, (tail + 1) & q->mask, __ATOMIC_RELEASE);
    return true;
}

static bool queue_tsan_pop(net_queue_t *q, struct queue_cell *c)
{
    uint32_t head = q->head, tail = __atomic_load_n(&q->tail, __ATOMIC_ACQUIRE);
    if (head == tail)
        return false;
    *c = q->cells[head];
    __atomic_store_n(&q->head, (head + 1) & q->mask, __ATOMIC_RELEASE);
    return true;
}
#define QUEUE_PUSH(q, c) queue_tsan_push((q), (c))
#define QUEUE_POP(q, c) queue_tsan_pop((q), (c))
#else
#define QUEUE_PUSH(q, c) ck_ring_enqueue_spsc_queue_cell(&(q)->ring, (q)->cells, (c))
#define QUEUE_POP(q, c) ck_ring_dequeue_spsc_queue_cell(&(q)->ring, (q)->cells, (c))
#endif

int net_queue_push(net_queue_t *q, const void *msg)
{
    struct queue_cell c;
    memcpy(c.b, msg, q->msg_len);
    if (!QUEUE_PUSH(q, &c))
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
    if (!QUEUE_POP(q, &c))
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
