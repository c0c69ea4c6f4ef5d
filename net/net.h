/* net/net.h: the base layer every other folder stands on.
 *
 * Byte helpers, views, addresses, the monotonic clock, logging, intrusive lists,
 * packet buffers and pools, timers, cross-thread queues, and the io_uring ring with
 * its UDP and TCP sockets. Nothing here knows about WebRTC.
 *
 * Threading: unless a comment says otherwise, an object belongs to the thread that
 * created it (a shard or the signaling thread) and only that thread may touch it.
 */
#ifndef URTC_NET_NET_H
#define URTC_NET_NET_H

#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

/* ---------------------------------------------------------------------------------------------
 * Compiler helpers
 */
#define WARN_UNUSED __attribute__((warn_unused_result))
#define NET_LIKELY(x) __builtin_expect(!!(x), 1)
#define NET_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define NET_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define NET_MIN(a, b) ((a) < (b) ? (a) : (b))
#define NET_MAX(a, b) ((a) > (b) ? (a) : (b))
#define NET_ALIGN_UP(x, a) (((x) + ((a)-1)) & ~((__typeof__(x))(a)-1))

/* The least power of two >= @v (1 for 0); @v <= 2^31. */
static inline uint32_t net_round_pow2(uint32_t v)
{
    uint32_t p = 1;
    while (p < v)
        p <<= 1;
    return p;
}
#ifndef container_of
#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))
#endif

#define NET_NS_PER_US 1000ull
#define NET_NS_PER_MS 1000000ull
#define NET_NS_PER_SEC 1000000000ull

/* Stays on in release builds: for cheap invariants, never for checking input. */
#define ENG_ASSERT(cond)                                                                           \
    do {                                                                                           \
        if (NET_UNLIKELY(!(cond)))                                                                 \
            net_assert_fail(#cond, __FILE__, __LINE__);                                            \
    } while (0)
#ifdef NDEBUG
#define DBG_ASSERT(cond) ((void)0)
#else
#define DBG_ASSERT(cond) ENG_ASSERT(cond)
#endif
__attribute__((noreturn)) void net_assert_fail(const char *expr, const char *file, int line);

/* ---------------------------------------------------------------------------------------------
 * Byte helpers. Wire fields are read and written only through these (memcpy-based, so any
 * alignment is fine). No packed structs, no casts of packet bytes to structs.
 */
static inline uint8_t net_rd8(const uint8_t *p)
{
    return p[0];
}
static inline uint16_t net_rd16be(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}
static inline uint32_t net_rd24be(const uint8_t *p)
{
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}
static inline uint32_t net_rd32be(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return __builtin_bswap32(v);
}
static inline uint64_t net_rd64be(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return __builtin_bswap64(v);
}
static inline void net_wr8(uint8_t *p, uint8_t v)
{
    p[0] = v;
}
static inline void net_wr16be(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void net_wr24be(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 16);
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)v;
}
static inline void net_wr32be(uint8_t *p, uint32_t v)
{
    v = __builtin_bswap32(v);
    memcpy(p, &v, 4);
}
static inline void net_wr64be(uint8_t *p, uint64_t v)
{
    v = __builtin_bswap64(v);
    memcpy(p, &v, 8);
}

/* A borrowed window of bytes; it lives no longer than the buffer it points into. */
typedef struct net_view {
    const uint8_t *p;
    size_t len;
} net_view_t;

static inline bool net_view_eq_str(net_view_t v, const char *s)
{
    size_t n = strlen(s);
    return v.len == n && memcmp(v.p, s, n) == 0;
}

/* ---------------------------------------------------------------------------------------------
 * Addresses: IPv4 or IPv6 plus port. Plain data; no syscalls.
 */
typedef struct net_addr {
    union {
        struct sockaddr sa;
        struct sockaddr_in in4;
        struct sockaddr_in6 in6;
    };
    socklen_t len; /* sizeof(in4) or sizeof(in6); 0 when unset */
} net_addr_t;

#define NET_ADDR_STRLEN 64 /* "[v6%scope]:port" fits */

/* Parses "1.2.3.4:5", "[::1]:5", or with @default_port when the port is absent
 * (default_port < 0 makes the port mandatory). 0 or -EINVAL. */
WARN_UNUSED int net_addr_parse(net_addr_t *a, const char *s, int default_port);
/* Sets @a from a numeric IP string and a port. 0 or -EINVAL. */
WARN_UNUSED int net_addr_set(net_addr_t *a, const char *ip, uint16_t port);
/* Copies a sockaddr of length @len (AF_INET or AF_INET6). 0 or -EAFNOSUPPORT. */
WARN_UNUSED int net_addr_from_sa(net_addr_t *a, const struct sockaddr *sa, socklen_t len);
/* Writes "ip:port" ("[ip]:port" for v6) into @buf; returns @buf. */
const char *net_addr_fmt(const net_addr_t *a, char *buf, size_t buf_len);
/* Writes the IP only. Returns @buf. */
const char *net_addr_ip_fmt(const net_addr_t *a, char *buf, size_t buf_len);
uint16_t net_addr_port(const net_addr_t *a);
void net_addr_set_port(net_addr_t *a, uint16_t port);
int net_addr_family(const net_addr_t *a);
/* Same family, IP and port. */
bool net_addr_eq(const net_addr_t *a, const net_addr_t *b);
/* Same family and IP, any port. */
bool net_addr_ip_eq(const net_addr_t *a, const net_addr_t *b);

/* ---------------------------------------------------------------------------------------------
 * Clock. All time in urtc is monotonic uint64_t nanoseconds; rtc/ never reads it, the engine
 * passes it in. net_realtime_ns() is wall-clock time, for NTP timestamps in RTCP SR.
 */
uint64_t net_clock_ns(void);
uint64_t net_realtime_ns(void);

/* ---------------------------------------------------------------------------------------------
 * Logging. One line per call, formatted in a thread-local buffer and written with one
 * write(2); no lock. A line: monotonic seconds, level, thread tag, optional peer id,
 * and file:line at WARN and above. DEBUG and TRACE compile out below LOG_LEVEL_MIN.
 */
enum net_log_level {
    NET_LOG_ERROR = 0,
    NET_LOG_WARN = 1,
    NET_LOG_INFO = 2,
    NET_LOG_DEBUG = 3,
    NET_LOG_TRACE = 4,
};
#ifndef LOG_LEVEL_MIN
#define LOG_LEVEL_MIN NET_LOG_DEBUG
#endif

/* Process-wide level; set at startup, read by every thread. Default INFO, or the value of
 * the URTC_LOG environment variable (error|warn|info|debug|trace). */
void net_log_set_level(enum net_log_level lvl);
enum net_log_level net_log_get_level(void);
/* The calling thread's tag ("main", "sig", "s3"); at most 7 characters are kept. */
void net_log_set_tag(const char *tag);
/* Where lines go; default 2 (stderr). */
void net_log_set_fd(int fd);
/* Parses "error".."trace"; -EINVAL for anything else. */
WARN_UNUSED int net_log_level_parse(const char *s);

__attribute__((format(printf, 5, 6))) void net_log_write(enum net_log_level lvl, const char *file,
                                                         int line, const char *peer,
                                                         const char *fmt, ...);

#define NET_LOG_(lvl, peer, ...)                                                                   \
    do {                                                                                           \
        if ((lvl) <= LOG_LEVEL_MIN && (lvl) <= net_log_get_level())                                \
            net_log_write((lvl), __FILE__, __LINE__, (peer), __VA_ARGS__);                         \
    } while (0)
#define LOG_ERROR(...) NET_LOG_(NET_LOG_ERROR, NULL, __VA_ARGS__)
#define LOG_WARN(...) NET_LOG_(NET_LOG_WARN, NULL, __VA_ARGS__)
#define LOG_INFO(...) NET_LOG_(NET_LOG_INFO, NULL, __VA_ARGS__)
#define LOG_DEBUG(...) NET_LOG_(NET_LOG_DEBUG, NULL, __VA_ARGS__)
#define LOG_TRACE(...) NET_LOG_(NET_LOG_TRACE, NULL, __VA_ARGS__)
/* Peer-scoped: @peer is a short printable id such as "0:17:3" (shard:slot:gen). */
#define LOGP_ERROR(peer, ...) NET_LOG_(NET_LOG_ERROR, (peer), __VA_ARGS__)
#define LOGP_WARN(peer, ...) NET_LOG_(NET_LOG_WARN, (peer), __VA_ARGS__)
#define LOGP_INFO(peer, ...) NET_LOG_(NET_LOG_INFO, (peer), __VA_ARGS__)
#define LOGP_DEBUG(peer, ...) NET_LOG_(NET_LOG_DEBUG, (peer), __VA_ARGS__)

/* At most one line per @interval_ms per call site and thread, at WARN; the lines it
 * suppressed are counted in the next one it prints. */
#define LOG_RATELIMIT(interval_ms, ...)                                                            \
    do {                                                                                           \
        static __thread uint64_t rl_next_ns_;                                                      \
        static __thread unsigned rl_skipped_;                                                      \
        uint64_t rl_now_ = net_clock_ns();                                                         \
        if (rl_now_ >= rl_next_ns_) {                                                              \
            rl_next_ns_ = rl_now_ + (uint64_t)(interval_ms)*NET_NS_PER_MS;                         \
            if (rl_skipped_)                                                                       \
                LOG_WARN("(%u similar lines suppressed)", rl_skipped_);                            \
            rl_skipped_ = 0;                                                                       \
            LOG_WARN(__VA_ARGS__);                                                                 \
        } else {                                                                                   \
            rl_skipped_++;                                                                         \
        }                                                                                          \
    } while (0)

/* ---------------------------------------------------------------------------------------------
 * Intrusive doubly linked list (circular, with a sentinel head).
 */
typedef struct net_list {
    struct net_list *next, *prev;
} net_list_t;

static inline void net_list_init(net_list_t *h)
{
    h->next = h->prev = h;
}
static inline bool net_list_empty(const net_list_t *h)
{
    return h->next == h;
}
static inline void net_list_insert_after(net_list_t *pos, net_list_t *n)
{
    n->prev = pos;
    n->next = pos->next;
    pos->next->prev = n;
    pos->next = n;
}
static inline void net_list_add_tail(net_list_t *h, net_list_t *n)
{
    net_list_insert_after(h->prev, n);
}
static inline void net_list_del(net_list_t *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    n->next = n->prev = n;
}
#define net_list_for_each_safe(pos, tmp, head)                                                     \
    for ((pos) = (head)->next, (tmp) = (pos)->next; (pos) != (head);                               \
         (pos) = (tmp), (tmp) = (pos)->next)

/* ---------------------------------------------------------------------------------------------
 * Packet buffers.
 *
 * A pool is one contiguous region of NET_PKT_SLOT_LEN slots (registered with the kernel as a
 * provided-buffer ring by the UDP socket). Each slot has headroom in front for headers pushed
 * later (TURN ChannelData/Send, 4-36 bytes) and tailroom behind for trailers written in place
 * (the SRTP auth tag or GCM tag plus MKI). data/len is the window onto the bytes.
 *
 * A packet has one owner. Functions that take a packet say "Takes ownership of @pkt, even on
 * error". Fan-out to several consumers uses net_pkt_ref(): the refcount is atomic so packets
 * may travel to other shards; the last net_pkt_free() returns the slot to its pool, which must
 * then happen on the pool's owner thread (cross-shard packets come back through a queue).
 */
#define NET_PKT_SLOT_LEN 2048u
#define NET_PKT_HEADROOM 128u /* >= 64: TURN headers, and io_uring_recvmsg_out + sockaddr */
#define NET_PKT_TAILROOM 160u /* >= SRTP_MAX_TRAILER_LEN (144 in libsrtp2 2.5) */
#define NET_PKT_MAX_LEN (NET_PKT_SLOT_LEN - NET_PKT_HEADROOM - NET_PKT_TAILROOM)

typedef struct net_pool net_pool_t;

typedef struct net_pkt {
    uint8_t *data; /* start of the window */
    uint32_t len;  /* bytes in the window */
    uint32_t refcnt;
    uint32_t idx; /* slot index in the pool (the provided-buffer id) */
    uint32_t _pad;
    net_pool_t *pool;
    net_addr_t addr; /* source on receive, destination on send */
    uint64_t rx_ns;  /* receive time (engine clock), 0 if unknown */
    void *user;      /* free for the current owner */
} net_pkt_t;

/* Creates a pool of @cnt slots (rounded up to a power of two for the kernel's buffer ring).
 * The memory is allocated once, here; nothing allocates later. NULL on failure. */
net_pool_t *net_pool_create(uint32_t cnt);
/* Frees the pool. Every packet must have been returned. Accepts NULL. */
void net_pool_destroy(net_pool_t *pool);
/* A packet with len 0 and data at slot + NET_PKT_HEADROOM, or NULL when the pool is empty
 * (the caller counts the drop; the pool never grows). */
net_pkt_t *net_pkt_alloc(net_pool_t *pool);
/* Drops one reference; the last returns the slot to its pool. Accepts NULL. */
void net_pkt_free(net_pkt_t *pkt);
/* Adds a reference (atomic). Returns @pkt. */
net_pkt_t *net_pkt_ref(net_pkt_t *pkt);
/* Room in front of and behind the window. */
uint32_t net_pkt_headroom(const net_pkt_t *pkt);
uint32_t net_pkt_tailroom(const net_pkt_t *pkt);
/* Grows the window by @n bytes into the headroom; returns the new start, or NULL if there
 * is not enough room. */
uint8_t *net_pkt_push(net_pkt_t *pkt, uint32_t n);
/* Grows the window by @n bytes into the tailroom; returns a pointer to the added bytes, or
 * NULL if there is not enough room. */
uint8_t *net_pkt_put(net_pkt_t *pkt, uint32_t n);
/* Shrinks the window by @n bytes at the front; returns the new start, or NULL if len < n. */
uint8_t *net_pkt_pull(net_pkt_t *pkt, uint32_t n);
/* Sets len to @len if it fits in the slot; 0 or -EMSGSIZE. */
WARN_UNUSED int net_pkt_set_len(net_pkt_t *pkt, uint32_t len);
/* Copies @len bytes into a fresh packet. NULL if the pool is empty or @len is too long. */
net_pkt_t *net_pkt_copy_in(net_pool_t *pool, const void *data, size_t len);

/* Pool internals used by the io layer (the provided-buffer ring). */
uint32_t net_pool_cnt(const net_pool_t *pool);
uint32_t net_pool_avail(const net_pool_t *pool);
uint8_t *net_pool_slot(const net_pool_t *pool, uint32_t idx);
net_pkt_t *net_pool_pkt(net_pool_t *pool, uint32_t idx);
/* Pops a free slot index for the kernel, without making a packet of it. -ENOBUFS if none. */
WARN_UNUSED int net_pool_take_free(net_pool_t *pool);
/* Marks slot @idx (handed out by net_pool_take_free and filled by the kernel) as a live
 * packet with refcnt 1. */
net_pkt_t *net_pool_claim(net_pool_t *pool, uint32_t idx);
/* Called when a slot returns to the pool; the io layer uses it to refill the kernel's ring.
 * Runs on the pool's owner thread. Returns true if it took the slot (the pool must then not
 * put it on its free list). */
typedef bool (*net_pool_recycle_fn)(void *arg, uint32_t idx);
void net_pool_set_recycle(net_pool_t *pool, net_pool_recycle_fn fn, void *arg);

/* ---------------------------------------------------------------------------------------------
 * Timers: a hashed timing wheel with 1 ms slots. Arm and cancel are O(1) (intrusive nodes,
 * no allocation). Timers that fall due in the same run fire in deadline order (ties in arming
 * order), and a callback may arm or cancel any timer, itself included.
 */
typedef struct net_timer net_timer_t;
typedef void (*net_timer_fn)(net_timer_t *t, uint64_t now_ns);

struct net_timer {
    net_list_t _node;
    uint64_t _due_ns;
    net_timer_fn _fn;
    bool _armed;
};

#define NET_TIMER_SLOTS 1024u
#define NET_TIMER_TICK_NS NET_NS_PER_MS

typedef struct net_timers {
    net_list_t _slots[NET_TIMER_SLOTS];
    uint64_t _tick;    /* the next tick to process */
    uint64_t _next_ns; /* lower bound of the earliest deadline; UINT64_MAX if none */
    uint32_t _armed_cnt;
} net_timers_t;

void net_timers_init(net_timers_t *w, uint64_t now_ns);
void net_timer_init(net_timer_t *t, net_timer_fn fn);
/* (Re)arms @t to fire at @due_ns (a time in the past fires on the next run). */
void net_timer_arm(net_timers_t *w, net_timer_t *t, uint64_t due_ns);
/* Disarms @t if armed; safe to call on a disarmed timer. */
void net_timer_cancel(net_timers_t *w, net_timer_t *t);
static inline bool net_timer_armed(const net_timer_t *t)
{
    return t->_armed;
}
static inline uint64_t net_timer_due(const net_timer_t *t)
{
    return t->_due_ns;
}
/* Fires every timer due at or before @now_ns, in deadline order. Returns the number of ns
 * until the next deadline (capped at @max_wait_ns), 0 if one is already due. */
uint64_t net_timers_run(net_timers_t *w, uint64_t now_ns, uint64_t max_wait_ns);
uint32_t net_timers_armed(const net_timers_t *w);

/* ---------------------------------------------------------------------------------------------
 * Cross-thread queue: single producer, single consumer, fixed-size messages passed by value
 * (Concurrency Kit ck_ring), with an eventfd the producer writes after every enqueue so a
 * consumer sleeping in io_uring wakes up.
 */
typedef struct net_queue net_queue_t;

/* @cap messages of @msg_len bytes (cap rounded up to a power of two). NULL on failure. */
net_queue_t *net_queue_create(uint32_t cap, uint32_t msg_len);
/* Accepts NULL. Messages still queued are discarded (the owner drains first if they own
 * resources). */
void net_queue_destroy(net_queue_t *q);
/* Producer thread only. Copies @msg; 0, or -EAGAIN when the queue is full. */
WARN_UNUSED int net_queue_push(net_queue_t *q, const void *msg);
/* Consumer thread only. Copies the oldest message to @msg; true if there was one. */
bool net_queue_pop(net_queue_t *q, void *msg);
/* The eventfd the consumer watches (readable after a push). */
int net_queue_fd(const net_queue_t *q);
/* Consumer: resets the eventfd counter after a wake-up. */
void net_queue_ack(net_queue_t *q);

/* ---------------------------------------------------------------------------------------------
 * io_uring (net/ring.c is the only file that includes liburing.h).
 *
 * A ring belongs to the thread that created it (IORING_SETUP_SINGLE_ISSUER and DEFER_TASKRUN
 * where the kernel has them, so the kernel enforces that). Operations carry a net_op_t, which
 * their owner embeds and reaches with container_of; its callback runs on the ring's thread from
 * net_ring_process().
 */
typedef struct net_features {
    bool single_issuer;     /* IORING_SETUP_SINGLE_ISSUER (6.0) */
    bool defer_taskrun;     /* IORING_SETUP_DEFER_TASKRUN (6.1) */
    bool buf_ring;          /* provided-buffer rings (5.19) */
    bool recvmsg_multishot; /* multishot recvmsg (6.0) */
    bool accept_multishot;  /* multishot accept (5.19) */
    bool udp_gso;           /* UDP_SEGMENT (4.18) */
    bool send_zc;           /* IORING_OP_SEND_ZC (6.0); probed, not used for UDP yet */
} net_features_t;

/* Probes the kernel once per process (any thread); later calls return the same answers. */
const net_features_t *net_features_get(void);

typedef struct net_ring net_ring_t;
typedef struct net_op net_op_t;
/* @res is cqe->res; @more is true when a multishot operation stays armed. */
typedef void (*net_op_fn)(net_op_t *op, int res, uint32_t cqe_flags, bool more);
struct net_op {
    net_op_fn fn;
};

/* A ring with @entries submission entries, owned by the calling thread. NULL on failure. */
net_ring_t *net_ring_create(uint32_t entries);
/* Accepts NULL. Operations still in flight are abandoned (the kernel cancels them when the
 * ring's fd closes); their owners must not be touched afterwards. */
void net_ring_destroy(net_ring_t *r);
/* Calls the callbacks of up to @budget completions; returns how many it handled. */
unsigned net_ring_process(net_ring_t *r, unsigned budget);
/* Submits what is queued and waits up to @wait_ns for a completion. One syscall.
 * 0, or -errno other than ETIME/EINTR. */
int net_ring_submit_wait(net_ring_t *r, uint64_t wait_ns);
/* Submits without waiting. */
int net_ring_submit(net_ring_t *r);
/* Operations submitted and not yet finished (a multishot one counts once). */
uint32_t net_ring_inflight(const net_ring_t *r);
/* Queues a read of @len bytes from @fd into @buf (an eventfd, say). 0 or -EBUSY (SQ full even
 * after a submit). */
WARN_UNUSED int net_ring_read(net_ring_t *r, net_op_t *op, int fd, void *buf, uint32_t len);
/* Queues a cancel of every operation carrying @op. 0 or -EBUSY. */
WARN_UNUSED int net_ring_cancel(net_ring_t *r, net_op_t *op);

/* ---------------------------------------------------------------------------------------------
 * UDP sockets on a ring.
 *
 * Receive: multishot recvmsg into a provided-buffer ring made of pool slots, so the kernel
 * writes each datagram at slot + NET_PKT_HEADROOM with no syscall per packet. Falls back to
 * single-shot recvmsg operations where the kernel lacks multishot or buffer rings.
 * Send: packets queue in a batch; net_udp_flush() turns the batch into sendmsg SQEs, one per
 * run of packets to the same destination with the same size (the last may be shorter) as a
 * UDP GSO (UDP_SEGMENT) send, and all of them go to the kernel in the ring's next submit.
 */
typedef struct net_udp net_udp_t;
/* Takes ownership of @pkt (pkt->addr is the source, pkt->rx_ns 0: the owner stamps it). */
typedef void (*net_udp_recv_fn)(void *arg, net_pkt_t *pkt);

typedef struct net_udp_cfg {
    net_addr_t bind;        /* port 0: the kernel picks one */
    uint32_t rx_bufs;       /* pool slots lent to the kernel (power of two); default
                             * min(256, half the pool) */
    uint32_t sock_buf_len;  /* SO_RCVBUF and SO_SNDBUF; default 4 MiB */
    bool no_multishot;      /* force the single-shot receive fallback */
    uint32_t rx_single_ops; /* single-shot receives kept in flight (each holds a slot); 0: 32 */
    uint32_t tx_queue;      /* packets a send batch holds; 0: 1024 (a full batch is flushed;
                             * with every operation in flight, sent by sendmmsg) */
    uint32_t tx_ops;        /* sendmsg operations in flight; 0: 256 (~1.7 KiB each) */
    bool no_gso;            /* one sendmsg per packet */
    net_udp_recv_fn on_recv;
    void *arg;
} net_udp_cfg_t;

/* Single writer (the ring's thread); other threads read with __atomic loads. */
typedef struct net_udp_stats {
    uint64_t rx_pkts, rx_bytes;
    uint64_t tx_pkts, tx_bytes;
    uint64_t tx_sendmsgs;     /* sendmsg operations issued (a GSO send counts once) */
    uint64_t tx_direct_calls; /* sendmmsg(2) calls of the overflow path (all operations busy) */
    uint64_t drop_rx_nobufs;  /* the kernel found no free buffer (pool exhausted) */
    uint64_t drop_rx_trunc;   /* a datagram longer than NET_PKT_MAX_LEN */
    uint64_t drop_tx_full;    /* the send batch was full */
    uint64_t tx_errors;       /* packets a failed sendmsg took with it */
    uint64_t rx_errors;
} net_udp_stats_t;

/* Binds a socket, lends @cfg->rx_bufs slots of @pool to the kernel and arms the receive.
 * One receiving socket per pool (the socket installs the pool's recycle hook). NULL on
 * failure (logged). */
net_udp_t *net_udp_create(net_ring_t *r, net_pool_t *pool, const net_udp_cfg_t *cfg);
/* Cancels the receive, waits (bounded, up to ~1 s) for the socket's operations to finish,
 * returns every slot to the pool, closes and frees. Accepts NULL. Ring thread only. */
void net_udp_destroy(net_udp_t *u);
/* The same without waiting: cancels the socket's operations and frees it (returning its slots)
 * once none is in flight, possibly at once, possibly from a later completion. Nothing of it
 * may be used afterwards and its callback is not called again. Ring thread only. */
void net_udp_close(net_udp_t *u);
/* The bound address (with the port the kernel picked). */
void net_udp_local_addr(const net_udp_t *u, net_addr_t *out);
/* Queues @pkt for pkt->addr. Takes ownership of @pkt, even on error. 0, or -ENOBUFS when the
 * batch is full (dropped and counted). */
int net_udp_send(net_udp_t *u, net_pkt_t *pkt);
/* Turns the queued batch into SQEs and re-arms a receive that ran out of buffers. Call once per
 * loop iteration, before net_ring_submit_wait(). */
void net_udp_flush(net_udp_t *u);
/* Packets queued and sends in flight. */
uint32_t net_udp_pending(const net_udp_t *u);
const net_udp_stats_t *net_udp_stats(const net_udp_t *u);
/* True when the receive path is the multishot one (else the single-shot fallback). */
bool net_udp_multishot(const net_udp_t *u);
int net_udp_fd(const net_udp_t *u);

/* ---------------------------------------------------------------------------------------------
 * TCP on a ring, for the signaling thread: a listener (multishot accept where the kernel has
 * it) and connections with an input buffer for stream framing and a bounded output buffer.
 * Not a hot path: buffers are allocated per connection.
 */
typedef struct net_tcp_listener net_tcp_listener_t;
typedef struct net_tcp_conn net_tcp_conn_t;

/* A connection arrived: the callback owns @fd (give it to net_tcp_conn_create, or close it). */
typedef void (*net_tcp_accept_fn)(void *arg, int fd, const net_addr_t *peer);

/* Listens on @addr (port 0: the kernel picks). NULL on failure (logged). */
net_tcp_listener_t *net_tcp_listen(net_ring_t *r, const net_addr_t *addr, net_tcp_accept_fn fn,
                                   void *arg);
void net_tcp_listener_addr(const net_tcp_listener_t *l, net_addr_t *out);
/* Stops accepting, waits (bounded) for the accept to be cancelled, closes, frees. Accepts NULL. */
void net_tcp_listener_destroy(net_tcp_listener_t *l);

typedef struct net_tcp_conn_cbs {
    /* Bytes arrived. @data holds everything not yet consumed. Returns how many bytes it used
     * (the rest stays for the next call), or < 0 to close the connection. */
    long (*on_data)(void *arg, net_tcp_conn_t *c, const uint8_t *data, size_t len);
    /* The connection is gone (peer closed: @err 0; error: -errno; or after net_tcp_close).
     * Called once; @c is freed right after. */
    void (*on_close)(void *arg, net_tcp_conn_t *c, int err);
} net_tcp_conn_cbs_t;

/* Wraps the connected socket @fd (owned from now on) and starts receiving. @max_in bounds
 * unconsumed input, @max_out queued output (bytes). NULL on failure (fd closed). */
net_tcp_conn_t *net_tcp_conn_create(net_ring_t *r, int fd, const net_tcp_conn_cbs_t *cbs, void *arg,
                                    size_t max_in, size_t max_out);
/* Queues a copy of @data. 0, -ENOBUFS (output limit: nothing queued), -EPIPE (closing). */
WARN_UNUSED int net_tcp_send(net_tcp_conn_t *c, const void *data, size_t len);
/* Sends what is queued, then closes; on_close follows. Safe to call more than once, and from
 * inside on_data. */
void net_tcp_close(net_tcp_conn_t *c);
void net_tcp_peer_addr(const net_tcp_conn_t *c, net_addr_t *out);

#endif /* URTC_NET_NET_H */
