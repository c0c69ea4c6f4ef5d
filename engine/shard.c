/* engine/shard.c: shard threads and their loop. */
#include "engine/engine.h"
#include "engine/engine_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define SHARD_CQE_BUDGET 1024u
#define SHARD_CMD_BUDGET 256u
#define SHARD_MAX_WAIT_NS (100 * NET_NS_PER_MS) /* also bounds how stale counters get */

static const char *const drop_names[ENG_DROP__COUNT] = {
    [ENG_DROP_RX_NOBUFS] = "rx_nobufs",   [ENG_DROP_RX_TRUNC] = "rx_truncated",
    [ENG_DROP_TX_FULL] = "tx_full",       [ENG_DROP_TX_ERROR] = "tx_error",
    [ENG_DROP_NOT_WEBRTC] = "not_webrtc", [ENG_DROP_UNKNOWN_PEER] = "unknown_peer",
};

static const char *const dtls_fail_names[ENG_DTLS_FAIL__COUNT] = {
    [ENG_DTLS_FAIL_ALERT] = "alert",
    [ENG_DTLS_FAIL_FINGERPRINT] = "fingerprint",
    [ENG_DTLS_FAIL_TIMEOUT] = "timeout",
    [ENG_DTLS_FAIL_SRTP] = "srtp",
};

static const char *const ice_fail_names[ENG_ICE_FAIL__COUNT] = {
    [ENG_ICE_FAIL_CHECKS] = "checks",
    [ENG_ICE_FAIL_CONSENT] = "consent",
};

static const char *name_of(const char *const *names, unsigned cnt, unsigned i)
{
    return i < cnt ? names[i] : "?";
}

const char *eng_drop_name(enum eng_drop why)
{
    return name_of(drop_names, ENG_DROP__COUNT, why);
}

const char *eng_dtls_fail_name(enum eng_dtls_fail why)
{
    return name_of(dtls_fail_names, ENG_DTLS_FAIL__COUNT, why);
}

const char *eng_ice_fail_name(enum eng_ice_fail why)
{
    return name_of(ice_fail_names, ENG_ICE_FAIL__COUNT, why);
}

/* ---------------------------------------------------------------------------------------------
 * Shard-thread API
 */
uint32_t eng_shard_index(const eng_shard_t *sh)
{
    return sh->idx;
}

eng_t *eng_shard_engine(eng_shard_t *sh)
{
    return sh->e;
}

uint64_t eng_shard_now(const eng_shard_t *sh)
{
    return sh->now_ns;
}

net_timers_t *eng_shard_timers(eng_shard_t *sh)
{
    return &sh->timers;
}

net_pkt_t *eng_shard_pkt_alloc(eng_shard_t *sh)
{
    return net_pkt_alloc(sh->pool);
}

int eng_shard_send(eng_shard_t *sh, net_pkt_t *pkt)
{
    return net_udp_send(sh->udp, pkt);
}

void eng_shard_drop(eng_shard_t *sh, enum eng_drop why)
{
    sh->drop[why]++;
}

/* ---------------------------------------------------------------------------------------------
 * The loop
 */
static void shard_on_rx(void *arg, net_pkt_t *pkt)
{
    eng_shard_t *sh = arg;
    pkt->rx_ns = sh->now_ns;
    if (sh->e->cfg.on_rx) {
        sh->e->cfg.on_rx(sh, pkt, sh->e->cfg.arg);
        return;
    }
    eng_peers_dispatch(sh, pkt);
}

static void shard_wake_done(net_op_t *op, int res, uint32_t flags, bool more)
{
    (void)res, (void)flags, (void)more;
    eng_shard_t *sh = container_of(op, eng_shard_t, wake_op);
    sh->wake_armed = false; /* re-armed at the end of the tick; commands drain there too */
}

static void shard_arm_wake(eng_shard_t *sh)
{
    if (sh->wake_armed || sh->stop)
        return;
    if (net_ring_read(sh->ring, &sh->wake_op, net_queue_fd(sh->cmdq), &sh->wake_buf,
                      sizeof sh->wake_buf) == 0)
        sh->wake_armed = true;
}

static void publish(eng_shard_t *sh)
{
    const net_udp_stats_t *st = net_udp_stats(sh->udp);
    eng_counters_t *c = &sh->pub;
#define PUB(field, val) __atomic_store_n(&c->field, (val), __ATOMIC_RELAXED)
    PUB(rx_pkts, st->rx_pkts);
    PUB(rx_bytes, st->rx_bytes);
    PUB(tx_pkts, st->tx_pkts);
    PUB(tx_bytes, st->tx_bytes);
    PUB(tx_sendmsgs, st->tx_sendmsgs);
    PUB(ticks, sh->ticks);
    PUB(drop[ENG_DROP_RX_NOBUFS], st->drop_rx_nobufs);
    PUB(drop[ENG_DROP_RX_TRUNC], st->drop_rx_trunc);
    PUB(drop[ENG_DROP_TX_FULL], st->drop_tx_full + sh->drop[ENG_DROP_TX_FULL]);
    PUB(drop[ENG_DROP_TX_ERROR], st->tx_errors);
    for (int i = ENG_DROP_NOT_WEBRTC; i < ENG_DROP__COUNT; i++)
        PUB(drop[i], sh->drop[i]);
    PUB(dtls_handshakes, sh->conn.dtls_handshakes);
    for (int i = 0; i < ENG_DTLS_FAIL__COUNT; i++)
        PUB(dtls_fail[i], sh->conn.dtls_fail[i]);
    for (int i = 0; i < ENG_ICE_FAIL__COUNT; i++)
        PUB(ice_fail[i], sh->conn.ice_fail[i]);
#undef PUB
}

static void shard_stop_cmd(eng_shard_t *sh, void *arg, uint64_t u64)
{
    (void)arg, (void)u64;
    sh->stop = true;
}

static unsigned drain_commands(eng_shard_t *sh, unsigned budget)
{
    struct eng_cmd cmd;
    unsigned n = 0;
    while (n < budget && net_queue_pop(sh->cmdq, &cmd)) {
        cmd.fn(sh, cmd.arg, cmd.u64);
        n++;
    }
    return n;
}

static void shard_tick(eng_shard_t *sh)
{
    sh->now_ns = net_clock_ns();
    unsigned cqes = net_ring_process(sh->ring, SHARD_CQE_BUDGET);
    unsigned cmds = drain_commands(sh, SHARD_CMD_BUDGET);
    uint64_t wait_ns = net_timers_run(&sh->timers, sh->now_ns, SHARD_MAX_WAIT_NS);
    wait_ns = NET_MIN(wait_ns, eng_dc_shard_tick(sh, sh->now_ns));
    wait_ns = NET_MIN(wait_ns, eng_sfu_shard_tick(sh, sh->now_ns));
    eng_peers_reap(sh);
    eng_peers_flush(sh);
    net_udp_flush(sh->udp);
    shard_arm_wake(sh);
    sh->ticks++;
    publish(sh);
    /* A full budget means more work is waiting: do not sleep. */
    if (cqes == SHARD_CQE_BUDGET || cmds == SHARD_CMD_BUDGET || sh->stop)
        wait_ns = 0;
    int ret = net_ring_submit_wait(sh->ring, wait_ns);
    if (ret < 0)
        LOG_RATELIMIT(1000, "io_uring_enter: %s", strerror(-ret));
}

static void shard_teardown(eng_shard_t *sh)
{
    if (sh->udp && sh->e->cfg.on_stop)
        sh->e->cfg.on_stop(sh, sh->e->cfg.arg);
    /* Commands that arrived with or after the stop still run (their fns see sh->stop set), so
     * that what they own is freed by the code that knows how. */
    if (sh->udp)
        drain_commands(sh, UINT32_MAX);
    eng_peers_fini(sh); /* what the peers say last leaves in the flush below */
    eng_dc_shard_stop(sh);
    if (sh->ring && sh->wake_armed && net_ring_cancel(sh->ring, &sh->wake_op) == 0) {
        uint64_t deadline = net_clock_ns() + NET_NS_PER_SEC;
        while (sh->wake_armed && net_clock_ns() < deadline) {
            net_ring_submit_wait(sh->ring, 10 * NET_NS_PER_MS);
            net_ring_process(sh->ring, UINT32_MAX);
        }
    }
    if (sh->udp) {
        net_udp_flush(sh->udp);
        publish(sh);
    }
    net_udp_destroy(sh->udp); /* cancels the receive, waits for sends, returns its slots */
    sh->udp = NULL;
    /* Peers' own sockets close asynchronously: let their last operations finish. */
    uint64_t deadline = net_clock_ns() + NET_NS_PER_SEC;
    while (sh->ring && net_ring_inflight(sh->ring) && net_clock_ns() < deadline) {
        net_ring_submit_wait(sh->ring, 10 * NET_NS_PER_MS);
        net_ring_process(sh->ring, UINT32_MAX);
    }
    if (sh->pool && net_pool_avail(sh->pool) != net_pool_cnt(sh->pool))
        LOG_WARN("shard %u: %u packets not returned at stop", sh->idx,
                 net_pool_cnt(sh->pool) - net_pool_avail(sh->pool));
    net_pool_destroy(sh->pool);
    sh->pool = NULL;
    net_ring_destroy(sh->ring);
    sh->ring = NULL;
}

static int shard_setup(eng_shard_t *sh)
{
    const eng_cfg_t *cfg = &sh->e->cfg;
    sh->ring = net_ring_create(1024);
    sh->pool = net_pool_create(cfg->pool_pkts);
    if (!sh->ring || !sh->pool)
        return -ENOMEM;
    net_timers_init(&sh->timers, net_clock_ns());
    sh->now_ns = net_clock_ns();
    net_list_init(&sh->dc_list);
    net_list_init(&sh->sock_list);
    int ret = eng_peers_init(sh, cfg->max_peers);
    if (ret < 0)
        return ret;
    net_udp_cfg_t ucfg = {
        .rx_bufs = cfg->rx_bufs,
        .no_multishot = cfg->no_multishot,
        .no_gso = cfg->no_gso,
        .on_recv = shard_on_rx,
        .arg = sh,
    };
    uint16_t port = cfg->udp_port ? (uint16_t)(cfg->udp_port + sh->idx) : 0;
    if (net_addr_set(&ucfg.bind, cfg->media_ip, port) < 0) {
        LOG_ERROR("bad media address '%s'", cfg->media_ip);
        return -EINVAL;
    }
    sh->udp = net_udp_create(sh->ring, sh->pool, &ucfg);
    if (!sh->udp)
        return -EADDRINUSE;
    net_udp_local_addr(sh->udp, &sh->addr);
    sh->wake_op.fn = shard_wake_done;
    shard_arm_wake(sh);
    if (cfg->on_start)
        cfg->on_start(sh, cfg->arg);
    return 0;
}

static void pin_to_cpu(uint32_t idx)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET((int)(idx % (uint32_t)(ncpu > 0 ? ncpu : 1)), &set);
    int ret = pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    if (ret)
        LOG_WARN("cannot pin shard %u: %s", idx, strerror(ret));
}

static void *shard_main(void *arg)
{
    eng_shard_t *sh = arg;
    eng_t *e = sh->e;
    char tag[8];
    snprintf(tag, sizeof tag, "s%u", sh->idx);
    net_log_set_tag(tag);
    if (e->cfg.pin)
        pin_to_cpu(sh->idx);
    /* The ring is created here: SINGLE_ISSUER ties it to this thread. */
    int ret = shard_setup(sh);
    pthread_mutex_lock(&e->lock);
    if (ret < 0)
        e->failed++;
    else
        e->ready++;
    pthread_cond_broadcast(&e->cond);
    pthread_mutex_unlock(&e->lock);
    if (ret < 0) {
        shard_teardown(sh);
        return NULL;
    }
    char a[NET_ADDR_STRLEN];
    LOG_DEBUG("shard %u on %s (%s receive)", sh->idx, net_addr_fmt(&sh->addr, a, sizeof a),
              net_udp_multishot(sh->udp) ? "multishot" : "single-shot");
    while (!sh->stop)
        shard_tick(sh);
    shard_teardown(sh);
    return NULL;
}

/* ---------------------------------------------------------------------------------------------
 * Engine
 */
static pthread_once_t srtp_once = PTHREAD_ONCE_INIT;
static int srtp_init_ret;

static void srtp_init_once(void)
{
    srtp_init_ret = rtc_srtp_global_init(RTC_SRTP_BACKEND_OPENSSL);
}

/* The DTLS key log (debugging): one write(2) per line on an O_APPEND file, so the shards'
 * lines never interleave and no lock is needed. */
static void keylog_write(const char *line, void *arg)
{
    const eng_t *e = arg;
    char buf[512];
    int n = snprintf(buf, sizeof buf, "%s\n", line);
    if (n > 0 && (size_t)n < sizeof buf && write(e->keylog_fd, buf, (size_t)n) != n)
        LOG_RATELIMIT(1000, "key log: write failed");
}

static int keylog_open(eng_t *e)
{
    const char *path = e->cfg.keylog_path ? e->cfg.keylog_path : getenv("URTC_KEYLOG");
    if (!path || !*path)
        return 0;
    e->keylog_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (e->keylog_fd < 0) {
        LOG_ERROR("key log %s: %s", path, strerror(errno));
        return -errno;
    }
    LOG_WARN("DTLS secrets are written to %s (URTC_KEYLOG): a debugging aid, never for "
             "production",
             path);
    return 0;
}

eng_t *eng_create(const eng_cfg_t *cfg_in)
{
    eng_t *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->keylog_fd = -1;
    e->cfg = *cfg_in;
    eng_cfg_t *cfg = &e->cfg;
    if (!cfg->shards) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        cfg->shards = n > 0 ? (uint32_t)n : 1;
    }
    if (!cfg->media_ip)
        cfg->media_ip = "127.0.0.1";
    if (!cfg->pool_pkts)
        cfg->pool_pkts = 8192;
    if (!cfg->rx_bufs)
        cfg->rx_bufs = NET_MIN(1024u, cfg->pool_pkts / 2);
    if (!cfg->cmd_queue_len)
        cfg->cmd_queue_len = 4096;
    if (!cfg->max_peers)
        cfg->max_peers = 4096;
    /* The credentials are copied: the caller's strings need not outlive this call. */
    cfg->turn_user = cfg->turn_user ? strdup(cfg->turn_user) : NULL;
    cfg->turn_pass = cfg->turn_pass ? strdup(cfg->turn_pass) : NULL;
    if (cfg->max_peers > 65536) {
        LOG_ERROR("max_peers %u: a shard holds at most 65536 (the ufrag has 4 hex digits)",
                  cfg->max_peers);
        free(e);
        return NULL;
    }
    if (cfg->shards > 1024 || (cfg->udp_port && cfg->udp_port + cfg->shards - 1 > 65535)) {
        LOG_ERROR("bad shard count %u for base port %u", cfg->shards, cfg->udp_port);
        free(e);
        return NULL;
    }
    pthread_mutex_init(&e->lock, NULL);
    pthread_cond_init(&e->cond, NULL);
    /* Process-wide and read-only afterwards: libsrtp's tables, the DTLS context and its
     * certificate. */
    pthread_once(&srtp_once, srtp_init_once);
    if (srtp_init_ret < 0) {
        LOG_ERROR("libsrtp initialisation failed");
        goto fail;
    }
    rtc_dtls_ctx_cfg_t dcfg = {.cert_pem_path = cfg->cert_pem, .key_pem_path = cfg->key_pem};
    if (keylog_open(e) < 0)
        goto fail;
    if (e->keylog_fd >= 0) {
        dcfg.keylog = keylog_write;
        dcfg.keylog_arg = e;
    }
    e->dtls_ctx = rtc_dtls_ctx_create(&dcfg);
    if (!e->dtls_ctx)
        goto fail;
    e->cnt = cfg->shards;
    e->shards = calloc(e->cnt, sizeof *e->shards);
    if (!e->shards)
        goto fail;
    for (uint32_t i = 0; i < e->cnt; i++) {
        eng_shard_t *sh = &e->shards[i];
        sh->e = e;
        sh->idx = i;
        sh->cmdq = net_queue_create(cfg->cmd_queue_len, sizeof(struct eng_cmd));
        if (!sh->cmdq)
            goto fail;
    }
    /* Shards inherit this mask: the signals go to whoever waits for them. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    uint32_t started = 0;
    for (uint32_t i = 0; i < e->cnt; i++) {
        eng_shard_t *sh = &e->shards[i];
        if (pthread_create(&sh->thread, NULL, shard_main, sh) != 0) {
            LOG_ERROR("pthread_create: %s", strerror(errno));
            break;
        }
        sh->thread_started = true;
        started++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_mutex_lock(&e->lock);
    while (e->ready + e->failed < started)
        pthread_cond_wait(&e->cond, &e->lock);
    bool ok = e->failed == 0 && started == e->cnt;
    pthread_mutex_unlock(&e->lock);
    if (!ok)
        goto fail;
    return e;
fail:
    eng_destroy(e);
    return NULL;
}

void eng_destroy(eng_t *e)
{
    if (!e)
        return;
    for (uint32_t i = 0; e->shards && i < e->cnt; i++) {
        eng_shard_t *sh = &e->shards[i];
        if (!sh->thread_started)
            continue;
        /* The stop command queues behind everything posted before it. */
        while (eng_post(e, i, shard_stop_cmd, NULL, 0) == -EAGAIN)
            sched_yield();
    }
    for (uint32_t i = 0; e->shards && i < e->cnt; i++) {
        eng_shard_t *sh = &e->shards[i];
        if (sh->thread_started)
            pthread_join(sh->thread, NULL);
        net_queue_destroy(sh->cmdq);
    }
    free(e->shards);
    free((char *)e->cfg.turn_user);
    free((char *)e->cfg.turn_pass);
    rtc_dtls_ctx_destroy(e->dtls_ctx);
    if (e->keylog_fd >= 0)
        close(e->keylog_fd);
    pthread_mutex_destroy(&e->lock);
    pthread_cond_destroy(&e->cond);
    free(e);
}

int eng_post(eng_t *e, uint32_t i, eng_cmd_fn fn, void *arg, uint64_t u64)
{
    if (i >= e->cnt)
        return -EINVAL;
    struct eng_cmd cmd = {fn, arg, u64};
    return net_queue_push(e->shards[i].cmdq, &cmd);
}

const char *eng_fingerprint(const eng_t *e)
{
    return rtc_dtls_ctx_fingerprint(e->dtls_ctx);
}

uint32_t eng_shard_count(const eng_t *e)
{
    return e->cnt;
}

void eng_shard_addr(const eng_t *e, uint32_t i, net_addr_t *out)
{
    *out = e->shards[i].addr;
}

void eng_counters_get(const eng_t *e, uint32_t i, eng_counters_t *out)
{
    const eng_counters_t *c = &e->shards[i].pub;
#define GET(field) out->field = __atomic_load_n(&c->field, __ATOMIC_RELAXED)
    GET(rx_pkts);
    GET(rx_bytes);
    GET(tx_pkts);
    GET(tx_bytes);
    GET(tx_sendmsgs);
    GET(ticks);
    for (int d = 0; d < ENG_DROP__COUNT; d++)
        GET(drop[d]);
    GET(dtls_handshakes);
    for (int d = 0; d < ENG_DTLS_FAIL__COUNT; d++)
        GET(dtls_fail[d]);
    for (int d = 0; d < ENG_ICE_FAIL__COUNT; d++)
        GET(ice_fail[d]);
#undef GET
}

int eng_wait_signal(uint64_t timeout_ns)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    int sig;
    if (timeout_ns == 0) {
        if (sigwait(&set, &sig) != 0)
            return 0;
        return sig;
    }
    struct timespec ts = {.tv_sec = (time_t)(timeout_ns / NET_NS_PER_SEC),
                          .tv_nsec = (long)(timeout_ns % NET_NS_PER_SEC)};
    sig = sigtimedwait(&set, NULL, &ts);
    return sig > 0 ? sig : 0;
}
