/* tests/net/tcp_test.c: TCP accept, recv and send on a ring, against plain blocking clients. */
#include "net/net.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

/* A line-echo server: each '\n'-terminated line comes back; "bye\n" closes after replying. */
struct srv {
    net_ring_t *r;
    uint32_t open, closed, lines;
};

static long on_data(void *arg, net_tcp_conn_t *c, const uint8_t *data, size_t len)
{
    struct srv *s = arg;
    size_t used = 0;
    for (;;) {
        const uint8_t *nl = memchr(data + used, '\n', len - used);
        if (!nl)
            return (long)used;
        size_t n = (size_t)(nl - (data + used)) + 1;
        cr_assert_eq(net_tcp_send(c, data + used, n), 0);
        s->lines++;
        if (n == 4 && memcmp(data + used, "bye\n", 4) == 0) {
            net_tcp_close(c); /* from inside on_data: queued output still goes out */
            return (long)(used + n);
        }
        used += n;
    }
}

static void on_close(void *arg, net_tcp_conn_t *c, int err)
{
    (void)c, (void)err;
    ((struct srv *)arg)->closed++;
}

static void on_accept(void *arg, int fd, const net_addr_t *peer)
{
    struct srv *s = arg;
    cr_assert_eq(net_addr_family(peer), AF_INET);
    net_tcp_conn_cbs_t cbs = {on_data, on_close};
    cr_assert_not_null(net_tcp_conn_create(s->r, fd, &cbs, s, 4096, 1 << 20));
    s->open++;
}

#define CLIENTS 16
#define LINES 200
static net_addr_t srv_addr;

static void *client(void *arg)
{
    long id = (long)arg;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, &srv_addr.sa, srv_addr.len) < 0)
        return (void *)1L;
    char line[1200], got[1200];
    for (int i = 0; i < LINES; i++) {
        int n = snprintf(line, sizeof line, "%ld:%d:", id, i);
        int pad = (i * 37) % 1000; /* lines from a few bytes to about 1 KB */
        memset(line + n, 'a' + (i % 26), (size_t)pad);
        line[n + pad] = '\n';
        size_t len = (size_t)(n + pad + 1);
        if (write(fd, line, len) != (ssize_t)len)
            return (void *)2L;
        size_t have = 0;
        while (have < len) {
            ssize_t r = read(fd, got + have, len - have);
            if (r <= 0)
                return (void *)3L;
            have += (size_t)r;
        }
        if (memcmp(line, got, len) != 0)
            return (void *)4L;
    }
    if (write(fd, "bye\n", 4) != 4)
        return (void *)5L;
    char b[8];
    ssize_t r = read(fd, b, sizeof b);
    if (r != 4 || memcmp(b, "bye\n", 4) != 0)
        return (void *)6L;
    if (read(fd, b, sizeof b) != 0) /* then the server closes */
        return (void *)7L;
    close(fd);
    return NULL;
}

Test(net_tcp, line_echo_with_16_clients_and_server_close)
{
    struct srv s = {0};
    s.r = net_ring_create(256);
    net_addr_t a;
    cr_assert_eq(net_addr_set(&a, "127.0.0.1", 0), 0);
    net_tcp_listener_t *l = net_tcp_listen(s.r, &a, on_accept, &s);
    cr_assert_not_null(l);
    net_tcp_listener_addr(l, &srv_addr);
    pthread_t th[CLIENTS];
    for (long i = 0; i < CLIENTS; i++)
        pthread_create(&th[i], NULL, client, (void *)i);
    uint64_t deadline = net_clock_ns() + 20 * NET_NS_PER_SEC;
    while (s.closed < CLIENTS && net_clock_ns() < deadline) {
        net_ring_submit_wait(s.r, 10 * NET_NS_PER_MS);
        net_ring_process(s.r, 1024);
    }
    for (int i = 0; i < CLIENTS; i++) {
        void *ret;
        pthread_join(th[i], &ret);
        cr_assert_null(ret, "client %d failed at step %ld", i, (long)ret);
    }
    cr_assert_eq(s.open, CLIENTS);
    cr_assert_eq(s.closed, CLIENTS);
    cr_assert_eq(s.lines, CLIENTS * (LINES + 1));
    net_tcp_listener_destroy(l);
    net_ring_destroy(s.r);
}

static long never_consume(void *arg, net_tcp_conn_t *c, const uint8_t *data, size_t len)
{
    (void)arg, (void)c, (void)data, (void)len;
    return 0;
}

static int close_err;
static void note_close(void *arg, net_tcp_conn_t *c, int err)
{
    (void)arg, (void)c;
    close_err = err;
}

Test(net_tcp, oversized_input_closes_the_connection)
{

    net_ring_t *r = net_ring_create(64);
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    net_tcp_conn_cbs_t cbs = {never_consume, note_close};
    close_err = 1;
    net_tcp_conn_t *c = net_tcp_conn_create(r, sv[0], &cbs, NULL, 64, 64);
    cr_assert_not_null(c);
    char junk[200];
    memset(junk, 'x', sizeof junk);
    cr_assert_eq(write(sv[1], junk, sizeof junk), (ssize_t)sizeof junk);
    for (int i = 0; i < 100 && close_err == 1; i++) {
        net_ring_submit_wait(r, 10 * NET_NS_PER_MS);
        net_ring_process(r, 64);
    }
    cr_assert_eq(close_err, -EMSGSIZE, "input beyond the limit closes (got %d)", close_err);
    close(sv[1]);
    net_ring_destroy(r);
}
