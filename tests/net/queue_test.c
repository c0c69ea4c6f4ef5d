/* tests/net/queue_test.c: a cross-thread queue loses nothing under contention. */
#include "net/net.h"

#include <criterion/criterion.h>
#include <poll.h>
#include <pthread.h>

#define MSGS 200000u

struct msg {
    uint64_t seq;
    uint64_t check;
    uint8_t pad[40]; /* a 56-byte message, near the 64-byte cell */
};

static void *producer(void *arg)
{
    net_queue_t *q = arg;
    for (uint64_t i = 0; i < MSGS; i++) {
        struct msg m = {.seq = i, .check = i * 2654435761u};
        memset(m.pad, (int)(i & 0xff), sizeof m.pad);
        while (net_queue_push(q, &m) == -EAGAIN)
            sched_yield(); /* a small queue: the producer often finds it full */
    }
    return NULL;
}

Test(net_queue, spsc_loses_nothing_under_contention)
{
    net_queue_t *q = net_queue_create(64, sizeof(struct msg));
    cr_assert_not_null(q);
    pthread_t th;
    pthread_create(&th, NULL, producer, q);
    uint64_t next = 0;
    while (next < MSGS) {
        struct msg m;
        if (!net_queue_pop(q, &m)) {
            /* Sleep on the eventfd as a shard does; the producer always writes it. */
            struct pollfd pfd = {.fd = net_queue_fd(q), .events = POLLIN};
            poll(&pfd, 1, 100);
            net_queue_ack(q);
            continue;
        }
        cr_assert_eq(m.seq, next, "message %lu out of order or lost (got %lu)", (unsigned long)next,
                     (unsigned long)m.seq);
        cr_assert_eq(m.check, m.seq * 2654435761u);
        cr_assert_eq(m.pad[39], (uint8_t)(m.seq & 0xff));
        next++;
    }
    pthread_join(th, NULL);
    struct msg m;
    cr_assert_not(net_queue_pop(q, &m), "nothing extra");
    net_queue_destroy(q);
}

Test(net_queue, full_queue_refuses)
{
    net_queue_t *q = net_queue_create(4, 8);
    uint64_t v = 1;
    int pushed = 0;
    while (net_queue_push(q, &v) == 0)
        pushed++;
    cr_assert_geq(pushed, 4);
    cr_assert_eq(net_queue_push(q, &v), -EAGAIN);
    cr_assert_null(net_queue_create(4, 65), "messages are at most 64 bytes");
    net_queue_destroy(q);
}
