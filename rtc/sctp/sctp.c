/* rtc/sctp/sctp.c: data channels on usrsctp (the only file that includes usrsctp.h).
 *
 * One usrsctp AF_CONN socket (one-to-one style) per association. The "address" we register
 * with usrsctp is not a pointer but an id (slot | generation) looked up in a global table under
 * a mutex: usrsctp may still call conn_output for an association while or after it is closed
 * (libwebrtc hit exactly this and moved to ids too), and a stale id is simply dropped.
 *
 * Outgoing messages: whole messages go to usrsctp_sendv() with SCTP_EOR (SCTP_EXPLICIT_EOR is
 * on, so a message bigger than the free send buffer is accepted in parts). What usrsctp does
 * not accept yet waits in one FIFO per association (txq) whose head may be half sent; nothing
 * else may be sent until it completes, because with explicit EOR the next sendv continues the
 * same message. The bytes in txq are the channels' buffered amounts.
 *
 * Incoming messages are read with usrsctp_recvv() into rx_buf; a message delivered in parts
 * (partial delivery, no MSG_EOR) is reassembled there up to local_max_msg.
 */
#include "rtc/sctp/sctp.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <usrsctp.h>

#define OUT_SLOT_LEN 1280u /* > RTC_SCTP_MTU, so a packet never needs two slots */
/* Sends stop (messages wait in txq, counted as buffered) while fewer slots than this are free:
 * what is left takes usrsctp's own bursts (SACK-clocked, max burst 4, RFC 4960 §6.1) and
 * retransmissions, so an application sending fast fills the buffered amount, not the drops. */
#define OUT_HEADROOM 64u
#define RX_INITIAL_CAP 65536u
#define RX_NOTIF_ROOM 8192u     /* room we keep free for a notification */
#define SOCK_BUF_LEN (1u << 20) /* SO_SNDBUF and SO_RCVBUF */
#define RESET_BATCH_MAX 128u    /* streams per RE-CONFIG request; keeps the chunk in one MTU */
#define POLL_RECV_BUDGET 4096u
#define MAX_MSG_CAP (1u << 30)
#define TIMER_TICK_NS (10 * NET_NS_PER_MS)

typedef struct sctp_txmsg {
    net_list_t node;
    uint16_t sid;
    bool unordered;
    bool dcep_open; /* our DATA_CHANNEL_OPEN: the channel opens when it is accepted */
    uint32_t ppid;
    rtc_sctp_pr_t pr;
    uint32_t pr_value;
    size_t len, off;
    uint8_t data[];
} sctp_txmsg_t;

typedef enum sctp_ch_state {
    CH_CONNECTING = 0, /* waiting for the association, or our OPEN is still queued */
    CH_OPEN,
    CH_CLOSING, /* reset asked for (by us or by the peer) */
    CH_CLOSED,  /* both directions reset (or the association died); CLOSED event pending */
} sctp_ch_state_t;

typedef struct sctp_chan {
    uint16_t sid;
    sctp_ch_state_t state;
    bool remote, negotiated, unordered;
    bool acked; /* RFC 8832 §6: until an ACK (or any message) arrives, send ordered */
    rtc_sctp_pr_t pr;
    uint32_t pr_value;
    uint16_t priority;
    bool reset_wanted, reset_sent, out_reset_done, in_reset_done;
    bool ev_open, ev_low, ev_closed, pend_linked;
    int close_err;
    unsigned queued_cnt; /* messages in txq for this channel (DCEP included) */
    size_t buffered, low_threshold;
    net_list_t pend_node;
    char *label, *protocol;
    size_t label_len, protocol_len;
} sctp_chan_t;

struct rtc_sctp {
    rtc_sctp_cfg_t cfg;
    struct socket *sock;
    uintptr_t id;
    uint32_t slot;
    bool started, connected, dead;
    bool ev_connected, ev_closed;
    int closed_err;
    uint16_t streams_limit; /* usable stream ids: min(ours, the peer's) once up */
    size_t remote_max, local_max;
    sctp_chan_t **chans; /* [cfg.streams] */
    unsigned chan_cnt;
    net_list_t txq;
    net_list_t pend; /* channels with events to deliver */
    bool reset_in_flight;
    unsigned reset_wanted_cnt;
    bool in_poll;
    /* Receive reassembly. */
    uint8_t *rx_buf;
    size_t rx_cap, rx_len;
    uint16_t rx_sid;
    uint32_t rx_ppid;
    bool rx_discard, rx_notif_skip;
    /* Output queue: written by conn_output on any thread, read by the owner; out_mu. */
    pthread_mutex_t out_mu;
    uint8_t *out_buf;
    uint32_t *out_lens;
    uint32_t out_cap, out_head, out_cnt;
    atomic_bool wake_flag;
    rtc_sctp_stats_t st;
    /* The chunks of the first packets each way, for a debug log when the association ends
     * (trace_pkt); out_mu. */
    char trace[512];
    uint16_t trace_len;
    bool trace_logged;
};

/* ---------------------------------------------------------------------------------------------
 * Process-global state: usrsctp initialisation, the id table, the timer clock.
 */
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
/* Set (release) once usrsctp is initialised; the timer thread reads it (acquire) before its
 * first usrsctp call, which orders usrsctp's initialisation before it. */
static atomic_bool g_ready;
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static rtc_sctp_t **g_tab; /* [g_tab_cap], guarded by g_mu */
static uint32_t *g_gen;
static uint32_t g_tab_cap;
static atomic_uint g_assoc_cnt;
/* Timer driver state: only the one timer thread touches these. */
static uint64_t g_tm_last_ns, g_tm_rem_ns;
static _Atomic uint64_t g_tm_deadline = UINT64_MAX;
/* The association whose API call is running on this thread: its own output needs no wake. */
static __thread rtc_sctp_t *tls_owner;

#define ID_SLOT_BITS 24

static int conn_output(void *addr, void *buf, size_t len, uint8_t tos, uint8_t set_df);

static void global_init(void)
{
    /* Port 0: no UDP encapsulation thread; nothreads: no timer thread (STYLE §5). */
    usrsctp_init_nothreads(0, conn_output, NULL);
    /* As libwebrtc: ECN means nothing over DTLS; keep PR-SCTP (RFC 3758) and RE-CONFIG
     * (RFC 6525) on, both required by RFC 8831 §6.2 / §6.7. */
    usrsctp_sysctl_set_sctp_ecn_enable(0);
    usrsctp_sysctl_set_sctp_pr_enable(1);
    usrsctp_sysctl_set_sctp_reconfig_enable(1);
    atomic_store_explicit(&g_ready, true, memory_order_release);
}

static int tab_add(rtc_sctp_t *s)
{
    pthread_mutex_lock(&g_mu);
    uint32_t i = 0;
    while (i < g_tab_cap && g_tab[i])
        i++;
    if (i == g_tab_cap) {
        uint32_t ncap = g_tab_cap ? g_tab_cap * 2 : 64;
        if (ncap >= (1u << ID_SLOT_BITS)) {
            pthread_mutex_unlock(&g_mu);
            return -ENOSPC;
        }
        rtc_sctp_t **nt = realloc(g_tab, ncap * sizeof *nt);
        if (nt)
            g_tab = nt;
        uint32_t *ng = nt ? realloc(g_gen, ncap * sizeof *ng) : NULL;
        if (!ng) {
            pthread_mutex_unlock(&g_mu);
            return -ENOMEM;
        }
        g_gen = ng;
        for (uint32_t k = g_tab_cap; k < ncap; k++) {
            g_tab[k] = NULL;
            g_gen[k] = 0;
        }
        g_tab_cap = ncap;
    }
    g_tab[i] = s;
    g_gen[i]++;
    s->slot = i;
    s->id = ((uintptr_t)g_gen[i] << ID_SLOT_BITS) | (i + 1);
    atomic_fetch_add(&g_assoc_cnt, 1);
    pthread_mutex_unlock(&g_mu);
    return 0;
}

static void tab_del(rtc_sctp_t *s)
{
    pthread_mutex_lock(&g_mu);
    if (s->slot < g_tab_cap && g_tab[s->slot] == s) {
        g_tab[s->slot] = NULL;
        atomic_fetch_sub(&g_assoc_cnt, 1);
    }
    pthread_mutex_unlock(&g_mu);
    /* A conn_output that found @s before we removed it holds out_mu: wait for it. */
    pthread_mutex_lock(&s->out_mu);
    pthread_mutex_unlock(&s->out_mu);
}

/* Appends ">" (in) or "<" (out) and the packet's chunk types (RFC 4960 §3.2, RFC 6525,
 * RFC 3758) to s->trace while it has room; DATA shows sid/ssn/ppid. Caller holds out_mu and
 * calls it only at debug level. */
static void trace_pkt(rtc_sctp_t *s, char dir, const uint8_t *p, size_t len)
{
    static const char *const names[] = {"D",   "I",  "IA", "S",  "HB", "HBA", "AB", "SD",
                                        "SDA", "ER", "CE", "CA", "EC", "CW",  "SDC"};
    if (s->trace_len > sizeof s->trace - 24)
        return;
    char tmp[96];
    size_t n = 0;
    tmp[n++] = ' ';
    tmp[n++] = dir;
    for (size_t off = 12; off + 4 <= len && n < sizeof tmp - 24;) {
        uint8_t type = p[off];
        size_t clen = net_rd16be(p + off + 2);
        if (clen < 4)
            break;
        if (off > 12)
            tmp[n++] = ',';
        int m;
        if (type == 0 && clen >= 16 && off + 16 <= len)
            m = snprintf(tmp + n, sizeof tmp - n, "D%u/%u/%u", net_rd16be(p + off + 8),
                         net_rd16be(p + off + 10), net_rd32be(p + off + 12));
        else if (type < NET_ARRAY_LEN(names))
            m = snprintf(tmp + n, sizeof tmp - n, "%s", names[type]);
        else if (type == 130)
            m = snprintf(tmp + n, sizeof tmp - n, "RC");
        else if (type == 192)
            m = snprintf(tmp + n, sizeof tmp - n, "FT");
        else
            m = snprintf(tmp + n, sizeof tmp - n, "%u", type);
        n += (size_t)NET_MAX(m, 0);
        off += (clen + 3) & ~(size_t)3;
    }
    if (s->trace_len + n < sizeof s->trace) {
        memcpy(s->trace + s->trace_len, tmp, n);
        s->trace_len = (uint16_t)(s->trace_len + n);
        s->trace[s->trace_len] = 0;
    }
}

/* Logs the trace once (debug), when the association ends or is destroyed. */
static void trace_log(rtc_sctp_t *s)
{
    if (s->trace_logged || net_log_get_level() < NET_LOG_DEBUG)
        return;
    s->trace_logged = true;
    pthread_mutex_lock(&s->out_mu);
    LOGP_DEBUG(s->cfg.log_id, "sctp: first packets (> in, < out):%s", s->trace);
    pthread_mutex_unlock(&s->out_mu);
}

/* usrsctp's output callback: any thread, usrsctp locks held. Copies the packet into the
 * association's output queue and never calls back into usrsctp. */
static int conn_output(void *addr, void *buf, size_t len, uint8_t tos, uint8_t set_df)
{
    (void)tos;
    (void)set_df;
    uintptr_t id = (uintptr_t)addr;
    uint32_t slot = (uint32_t)(id & ((1u << ID_SLOT_BITS) - 1));
    if (slot == 0)
        return 0;
    slot--;
    pthread_mutex_lock(&g_mu);
    rtc_sctp_t *s = slot < g_tab_cap ? g_tab[slot] : NULL;
    if (!s || s->id != id) {
        pthread_mutex_unlock(&g_mu);
        return 0; /* association gone: drop */
    }
    pthread_mutex_lock(&s->out_mu);
    pthread_mutex_unlock(&g_mu);
    if (s->out_cnt == s->out_cap || len > OUT_SLOT_LEN) {
        s->st.out_drop_cnt++; /* SCTP retransmits it */
    } else {
        uint32_t tail = (s->out_head + s->out_cnt) % s->out_cap;
        memcpy(s->out_buf + (size_t)tail * OUT_SLOT_LEN, buf, len);
        s->out_lens[tail] = (uint32_t)len;
        s->out_cnt++;
    }
    if (net_log_get_level() >= NET_LOG_DEBUG)
        trace_pkt(s, '<', buf, len);
    if (tls_owner != s && !atomic_exchange(&s->wake_flag, true) && s->cfg.wake)
        s->cfg.wake(s->cfg.user);
    pthread_mutex_unlock(&s->out_mu);
    return 0;
}

uint64_t rtc_sctp_timers_run(uint64_t now_ns)
{
    if (!atomic_load_explicit(&g_ready, memory_order_acquire))
        return UINT64_MAX;
    if (g_tm_last_ns == 0 || now_ns < g_tm_last_ns)
        g_tm_last_ns = now_ns;
    uint64_t el = now_ns - g_tm_last_ns + g_tm_rem_ns;
    g_tm_last_ns = now_ns;
    g_tm_rem_ns = el % NET_NS_PER_MS;
    uint64_t ms = el / NET_NS_PER_MS;
    if (ms)
        usrsctp_handle_timers(ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms);
    uint64_t d = atomic_load(&g_assoc_cnt) ? now_ns + TIMER_TICK_NS : UINT64_MAX;
    atomic_store(&g_tm_deadline, d);
    return d;
}

uint64_t rtc_sctp_timers_deadline(void)
{
    uint64_t d = atomic_load(&g_tm_deadline);
    /* An association created since the last run needs the timer driven from now on. */
    if (d == UINT64_MAX && atomic_load(&g_assoc_cnt))
        return 0;
    return d;
}

unsigned rtc_sctp_assoc_cnt(void)
{
    return atomic_load(&g_assoc_cnt);
}

/* ---------------------------------------------------------------------------------------------
 * Socket setup.
 */
static int sopt(rtc_sctp_t *s, int level, int name, const void *v, socklen_t len, const char *what)
{
    if (usrsctp_setsockopt(s->sock, level, name, v, len) < 0) {
        int e = errno;
        LOGP_ERROR(s->cfg.log_id, "sctp: setsockopt %s: %s", what, strerror(e));
        return -(e ? e : EIO);
    }
    return 0;
}

static int sock_setup(rtc_sctp_t *s)
{
    if (usrsctp_set_non_blocking(s->sock, 1) < 0)
        return -EIO;
    /* Close = ABORT and free at once: nothing lingers to call conn_output later. */
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    int on = 1, off = 0, buf = SOCK_BUF_LEN;
    struct sctp_assoc_value av = {.assoc_id = SCTP_ALL_ASSOC,
                                  .assoc_value = SCTP_ENABLE_RESET_STREAM_REQ};
    /* Timers (docs/sctp.md, "Timers"). RFC 4960 §15 defaults are 3 s initial, 1 s minimum and
     * 60 s maximum; a data channel wants quicker recovery. As libwebrtc does, the exponential
     * backoff stops at 3 s (its kMaxTimerBackoffDuration), for the handshake too: usrsctp
     * caps INIT at sinit_max_init_timeo and COOKIE-ECHO at the RTO max. Uncapped, an INIT
     * lost four times in a row on a 20% lossy path held the channel back 15 s. The minimum is
     * libwebrtc's 400 ms (dcsctp); the engine sets the initial one from the ICE round trip. */
    uint32_t rto_min = s->cfg.rto_min_ms ? s->cfg.rto_min_ms : 400;
    uint32_t rto_max = NET_MAX(s->cfg.rto_max_ms ? s->cfg.rto_max_ms : 3000, rto_min);
    uint32_t rto_init = s->cfg.rto_initial_ms ? s->cfg.rto_initial_ms : 1000;
    rto_init = NET_MIN(NET_MAX(rto_init, rto_min), rto_max);
    struct sctp_rtoinfo rto = {.srto_initial = rto_init, .srto_max = rto_max, .srto_min = rto_min};
    /* With the 3 s cap, the default 8 INIT attempts and 10 retransmissions would give up
     * after 18-24 s of outage, before ICE consent (30 s, RFC 7675) has: 16 keep trying 40 s.
     * libwebrtc never gives up and leaves that to ICE and DTLS. */
    uint16_t max_rtx = s->cfg.max_retransmits ? s->cfg.max_retransmits : 16;
    /* RFC 8831 §6.2: "The number of streams negotiated during SCTP association setup SHOULD be
     * 65535"; we ask for cfg.streams (each costs usrsctp memory) and cover 1,000+ channels. */
    struct sctp_initmsg im = {.sinit_num_ostreams = s->cfg.streams,
                              .sinit_max_instreams = s->cfg.streams,
                              .sinit_max_attempts = max_rtx,
                              .sinit_max_init_timeo = (uint16_t)NET_MIN(rto_max, UINT16_MAX)};
    struct sctp_assocparams ap = {.sasoc_asocmaxrxt = max_rtx};
    int r;
    if ((r = sopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg, "SO_LINGER")) < 0 ||
        (r = sopt(s, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf, "SO_SNDBUF")) < 0 ||
        (r = sopt(s, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf, "SO_RCVBUF")) < 0 ||
        (r = sopt(s, IPPROTO_SCTP, SCTP_ENABLE_STREAM_RESET, &av, sizeof av, "RESET")) < 0 ||
        (r = sopt(s, IPPROTO_SCTP, SCTP_NODELAY, &on, sizeof on, "NODELAY")) < 0 ||
        (r = sopt(s, IPPROTO_SCTP, SCTP_EXPLICIT_EOR, &on, sizeof on, "EXPLICIT_EOR")) < 0 ||
        (r = sopt(s, IPPROTO_SCTP, SCTP_RECVRCVINFO, &on, sizeof on, "RECVRCVINFO")) < 0 ||
        (r = sopt(s, IPPROTO_SCTP, SCTP_FRAGMENT_INTERLEAVE, &off, sizeof off, "INTERLEAVE")) < 0 ||
        (r = sopt(s, IPPROTO_SCTP, SCTP_INITMSG, &im, sizeof im, "INITMSG")) < 0 ||
        (r = sopt(s, IPPROTO_SCTP, SCTP_RTOINFO, &rto, sizeof rto, "RTOINFO")) < 0 ||
        (r = sopt(s, IPPROTO_SCTP, SCTP_ASSOCINFO, &ap, sizeof ap, "ASSOCINFO")) < 0)
        return r;
    static const uint16_t evs[] = {SCTP_ASSOC_CHANGE, SCTP_STREAM_RESET_EVENT,
                                   SCTP_SENDER_DRY_EVENT, SCTP_PARTIAL_DELIVERY_EVENT,
                                   SCTP_STREAM_CHANGE_EVENT};
    for (size_t i = 0; i < NET_ARRAY_LEN(evs); i++) {
        struct sctp_event ev = {.se_assoc_id = SCTP_ALL_ASSOC, .se_type = evs[i], .se_on = 1};
        if ((r = sopt(s, IPPROTO_SCTP, SCTP_EVENT, &ev, sizeof ev, "EVENT")) < 0)
            return r;
    }
    struct sockaddr_conn sc = {.sconn_family = AF_CONN,
                               .sconn_port = htons(s->cfg.local_port),
                               .sconn_addr = (void *)s->id};
    if (usrsctp_bind(s->sock, (struct sockaddr *)&sc, sizeof sc) < 0) {
        LOGP_ERROR(s->cfg.log_id, "sctp: bind: %s", strerror(errno));
        return -EIO;
    }
    return 0;
}

rtc_sctp_t *rtc_sctp_create(const rtc_sctp_cfg_t *cfg)
{
    pthread_once(&g_once, global_init);
    rtc_sctp_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->cfg = *cfg;
    pthread_mutex_init(&s->out_mu, NULL);
    net_list_init(&s->txq);
    net_list_init(&s->pend);
    if (!s->cfg.local_port)
        s->cfg.local_port = RTC_SCTP_DEFAULT_PORT;
    if (!s->cfg.remote_port)
        s->cfg.remote_port = RTC_SCTP_DEFAULT_PORT;
    if (!s->cfg.streams)
        s->cfg.streams = RTC_SCTP_DEFAULT_STREAMS;
    if (s->cfg.out_queue_cnt < 2 * OUT_HEADROOM)
        s->cfg.out_queue_cnt = s->cfg.out_queue_cnt ? 2 * OUT_HEADROOM : 256;
    s->local_max = s->cfg.local_max_msg ? s->cfg.local_max_msg : RTC_SCTP_LOCAL_MAX_MSG;
    s->local_max = NET_MIN(s->local_max, (size_t)MAX_MSG_CAP);
    /* RFC 8841 §6.1: absent means 65536; 0 in SDP means any size. */
    s->remote_max = s->cfg.remote_max_msg == 0 ? RTC_SCTP_REMOTE_MAX_MSG_DEFAULT
                    : s->cfg.remote_max_msg == RTC_SCTP_MAX_MSG_UNLIMITED ? MAX_MSG_CAP
                                                                          : s->cfg.remote_max_msg;
    s->streams_limit = s->cfg.streams;
    s->chans = calloc(s->cfg.streams, sizeof *s->chans);
    s->rx_cap = NET_MIN(RX_INITIAL_CAP, s->local_max + 1) + RX_NOTIF_ROOM;
    s->rx_buf = malloc(s->rx_cap);
    s->out_cap = s->cfg.out_queue_cnt;
    s->out_buf = malloc((size_t)s->out_cap * OUT_SLOT_LEN);
    s->out_lens = calloc(s->out_cap, sizeof *s->out_lens);
    if (!s->chans || !s->rx_buf || !s->out_buf || !s->out_lens)
        goto fail;
    if (tab_add(s) < 0)
        goto fail;
    usrsctp_register_address((void *)s->id);
    s->sock = usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP, NULL, NULL, 0, NULL);
    if (!s->sock) {
        LOGP_ERROR(s->cfg.log_id, "sctp: usrsctp_socket: %s", strerror(errno));
        goto fail;
    }
    if (sock_setup(s) < 0)
        goto fail;
    return s;
fail:
    rtc_sctp_destroy(s);
    return NULL;
}

static void chan_free(rtc_sctp_t *s, sctp_chan_t *ch)
{
    /* Messages still queued for it (the association died) must not reach a later channel that
     * reuses the sid. A partly sent head stays: usrsctp expects the rest of that message. */
    for (net_list_t *it = s->txq.next; it != &s->txq && ch->queued_cnt;) {
        sctp_txmsg_t *m = container_of(it, sctp_txmsg_t, node);
        it = it->next;
        if (m->sid == ch->sid && m->off == 0) {
            net_list_del(&m->node);
            ch->queued_cnt--;
            free(m);
        }
    }
    if (ch->pend_linked)
        net_list_del(&ch->pend_node);
    if (s->chans[ch->sid] == ch) {
        s->chans[ch->sid] = NULL;
        s->chan_cnt--;
    }
    if (ch->reset_wanted && !ch->reset_sent)
        s->reset_wanted_cnt--;
    free(ch->label);
    free(ch->protocol);
    free(ch);
}

void rtc_sctp_destroy(rtc_sctp_t *s)
{
    if (!s)
        return;
    rtc_sctp_t *prev = tls_owner;
    tls_owner = s;
    if (s->started)
        trace_log(s);
    if (s->id) {
        tab_del(s); /* from now on conn_output drops this association's packets */
        usrsctp_deregister_address((void *)s->id);
    }
    if (s->sock)
        usrsctp_close(s->sock); /* SO_LINGER 0: ABORT, association freed now */
    tls_owner = prev;
    while (!net_list_empty(&s->txq)) {
        sctp_txmsg_t *m = container_of(s->txq.next, sctp_txmsg_t, node);
        net_list_del(&m->node);
        free(m);
    }
    if (s->chans)
        for (uint32_t i = 0; i < s->cfg.streams; i++)
            if (s->chans[i])
                chan_free(s, s->chans[i]);
    free(s->chans);
    free(s->rx_buf);
    free(s->out_buf);
    free(s->out_lens);
    pthread_mutex_destroy(&s->out_mu);
    free(s);
}

int rtc_sctp_start(rtc_sctp_t *s, uint64_t now_ns)
{
    (void)now_ns;
    if (s->started)
        return 0;
    rtc_sctp_t *prev = tls_owner;
    tls_owner = s;
    struct sockaddr_conn sc = {.sconn_family = AF_CONN,
                               .sconn_port = htons(s->cfg.remote_port),
                               .sconn_addr = (void *)s->id};
    int r = usrsctp_connect(s->sock, (struct sockaddr *)&sc, sizeof sc);
    int e = errno;
    tls_owner = prev;
    if (r < 0 && e != EINPROGRESS) {
        LOGP_ERROR(s->cfg.log_id, "sctp: connect: %s", strerror(e));
        return -EIO;
    }
    s->started = true;
    /* The path MTU is fixed by DTLS: no PMTU discovery (libwebrtc does the same). */
    struct sctp_paddrparams pp;
    memset(&pp, 0, sizeof pp);
    memcpy(&pp.spp_address, &sc, sizeof sc);
    pp.spp_flags = SPP_PMTUD_DISABLE;
    pp.spp_pathmtu = RTC_SCTP_MTU - 12;
    if (usrsctp_setsockopt(s->sock, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, &pp, sizeof pp) < 0)
        LOGP_WARN(s->cfg.log_id, "sctp: SCTP_PEER_ADDR_PARAMS: %s", strerror(errno));
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Output queue.
 */
bool rtc_sctp_out_peek(rtc_sctp_t *s, net_view_t *pkt)
{
    pthread_mutex_lock(&s->out_mu);
    bool any = s->out_cnt > 0;
    if (any)
        *pkt =
            (net_view_t){s->out_buf + (size_t)s->out_head * OUT_SLOT_LEN, s->out_lens[s->out_head]};
    pthread_mutex_unlock(&s->out_mu);
    return any;
}

static void tx_flush(rtc_sctp_t *s);

void rtc_sctp_out_pop(rtc_sctp_t *s)
{
    pthread_mutex_lock(&s->out_mu);
    if (s->out_cnt) {
        s->out_head = (s->out_head + 1) % s->out_cap;
        s->out_cnt--;
        s->st.tx_pkt_cnt++;
    }
    /* Emptied: the next packet goes to the first slot again. Going round the ring instead
     * would touch all out_cap slots (320 KiB of lazily mapped pages) a few heartbeats a minute,
     * which showed as RSS creeping up for hours on an idle association (issue #11 soak); this
     * way the pages touched are those of the deepest the queue has been. */
    if (s->out_cnt == 0)
        s->out_head = 0;
    bool low = s->out_cnt == 0;
    pthread_mutex_unlock(&s->out_mu);
    /* Messages held back for lack of queue room go now that the caller drained it; their
     * packets join the queue the caller is draining. */
    if (low && !net_list_empty(&s->txq) && !s->in_poll) {
        rtc_sctp_t *prev = tls_owner;
        tls_owner = s;
        tx_flush(s);
        tls_owner = prev;
    }
}

/* Room in the output queue for a user send (leaves OUT_HEADROOM for usrsctp's own output). */
static bool out_room(rtc_sctp_t *s)
{
    pthread_mutex_lock(&s->out_mu);
    bool room = s->out_cnt + OUT_HEADROOM < s->out_cap;
    pthread_mutex_unlock(&s->out_mu);
    return room;
}

bool rtc_sctp_needs_poll(rtc_sctp_t *s)
{
    return atomic_load(&s->wake_flag);
}

/* ---------------------------------------------------------------------------------------------
 * Channels and events.
 */
static sctp_chan_t *chan_get(const rtc_sctp_t *s, uint16_t sid)
{
    return sid < s->cfg.streams ? s->chans[sid] : NULL;
}

static void pend_add(rtc_sctp_t *s, sctp_chan_t *ch)
{
    if (!ch->pend_linked) {
        net_list_add_tail(&s->pend, &ch->pend_node);
        ch->pend_linked = true;
    }
}

static void emit(rtc_sctp_t *s, const rtc_sctp_event_t *ev)
{
    if (s->cfg.on_event)
        s->cfg.on_event(s->cfg.user, s, ev);
}

static void emit_open(rtc_sctp_t *s, sctp_chan_t *ch)
{
    rtc_sctp_event_t ev = {.type = RTC_SCTP_EV_CHANNEL_OPEN,
                           .sid = ch->sid,
                           .label = {(const uint8_t *)ch->label, ch->label_len},
                           .protocol = {(const uint8_t *)ch->protocol, ch->protocol_len},
                           .remote = ch->remote,
                           .unordered = ch->unordered,
                           .pr = ch->pr,
                           .pr_value = ch->pr_value,
                           .priority = ch->priority};
    emit(s, &ev);
}

/* Delivers deferred events: CONNECTED first, then per channel open -> low -> closed. A
 * channel is freed after its CLOSED event. Safe against callbacks that queue more. */
static void deliver_pending(rtc_sctp_t *s)
{
    if (s->ev_connected) {
        s->ev_connected = false;
        emit(s, &(rtc_sctp_event_t){.type = RTC_SCTP_EV_CONNECTED});
    }
    while (!net_list_empty(&s->pend)) {
        sctp_chan_t *ch = container_of(s->pend.next, sctp_chan_t, pend_node);
        net_list_del(&ch->pend_node);
        ch->pend_linked = false;
        if (ch->ev_open) {
            ch->ev_open = false;
            if (ch->state != CH_CLOSED)
                emit_open(s, ch);
        }
        if (ch->ev_low) {
            ch->ev_low = false;
            if (ch->state == CH_OPEN || ch->state == CH_CLOSING)
                emit(s, &(rtc_sctp_event_t){.type = RTC_SCTP_EV_BUFFERED_LOW, .sid = ch->sid});
        }
        if (ch->ev_closed && !ch->pend_linked) {
            uint16_t sid = ch->sid;
            int err = ch->close_err;
            chan_free(s, ch);
            emit(s,
                 &(rtc_sctp_event_t){.type = RTC_SCTP_EV_CHANNEL_CLOSED, .sid = sid, .error = err});
        }
    }
    if (s->ev_closed && net_list_empty(&s->pend)) {
        s->ev_closed = false;
        emit(s, &(rtc_sctp_event_t){.type = RTC_SCTP_EV_CLOSED, .error = s->closed_err});
    }
}

static void chan_set_closed(rtc_sctp_t *s, sctp_chan_t *ch, int err)
{
    if (ch->state == CH_CLOSED)
        return;
    if (ch->reset_wanted && !ch->reset_sent) {
        s->reset_wanted_cnt--;
        ch->reset_wanted = false;
    }
    ch->state = CH_CLOSED;
    ch->close_err = err;
    ch->ev_closed = true;
    pend_add(s, ch);
}

static void chan_check_closed(rtc_sctp_t *s, sctp_chan_t *ch)
{
    if (ch->in_reset_done && ch->out_reset_done)
        chan_set_closed(s, ch, 0);
}

static void chan_want_reset(rtc_sctp_t *s, sctp_chan_t *ch)
{
    if (ch->state != CH_CLOSED)
        ch->state = CH_CLOSING;
    if (!ch->reset_wanted && !ch->out_reset_done) {
        ch->reset_wanted = true;
        ch->reset_sent = false;
        s->reset_wanted_cnt++;
    }
}

static void buffered_sub(rtc_sctp_t *s, sctp_chan_t *ch, size_t n)
{
    size_t before = ch->buffered;
    ch->buffered -= NET_MIN(n, ch->buffered);
    if (before > ch->low_threshold && ch->buffered <= ch->low_threshold) {
        ch->ev_low = true;
        pend_add(s, ch);
    }
}

/* Hands @len bytes to usrsctp. Returns the bytes accepted (maybe fewer), -EAGAIN when none
 * fit, or -EPIPE when the association cannot send. */
static ssize_t tx_sendv(rtc_sctp_t *s, uint16_t sid, uint32_t ppid, bool unordered,
                        rtc_sctp_pr_t pr, uint32_t pr_value, const void *p, size_t len)
{
    struct sctp_sendv_spa spa;
    memset(&spa, 0, sizeof spa);
    spa.sendv_flags = SCTP_SEND_SNDINFO_VALID;
    spa.sendv_sndinfo.snd_sid = sid;
    spa.sendv_sndinfo.snd_ppid = htonl(ppid); /* usrsctp passes the PPID through as is */
    spa.sendv_sndinfo.snd_flags = SCTP_EOR | (unordered ? SCTP_UNORDERED : 0);
    if (pr != RTC_SCTP_PR_NONE) {
        spa.sendv_flags |= SCTP_SEND_PRINFO_VALID;
        spa.sendv_prinfo.pr_policy = pr == RTC_SCTP_PR_RTX ? SCTP_PR_SCTP_RTX : SCTP_PR_SCTP_TTL;
        spa.sendv_prinfo.pr_value = pr_value;
    }
    ssize_t n = usrsctp_sendv(s->sock, p, len, NULL, 0, &spa, sizeof spa, SCTP_SENDV_SPA, 0);
    if (n >= 0)
        return n;
    int e = errno;
    if (e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS)
        return -EAGAIN;
    LOG_RATELIMIT(1000, "sctp: sendv sid %u: %s", sid, strerror(e));
    return -EPIPE;
}

/* Queues the rest of a message (from @off) at the tail of txq. */
static int txq_add(rtc_sctp_t *s, sctp_chan_t *ch, uint32_t ppid, bool unordered, bool dcep_open,
                   const void *p, size_t len, size_t off)
{
    sctp_txmsg_t *m = malloc(sizeof *m + len);
    if (!m)
        return -ENOMEM;
    m->sid = ch->sid;
    m->ppid = ppid;
    m->unordered = unordered;
    m->dcep_open = dcep_open;
    m->pr = ppid == RTC_SCTP_PPID_DCEP ? RTC_SCTP_PR_NONE : ch->pr;
    m->pr_value = ch->pr_value;
    m->len = len;
    m->off = off;
    memcpy(m->data, p, len);
    net_list_add_tail(&s->txq, &m->node);
    ch->queued_cnt++;
    if (ppid != RTC_SCTP_PPID_DCEP)
        ch->buffered += len - off;
    return 0;
}

/* RFC 6525 §5.1.2 via usrsctp: one Outgoing SSN Reset Request for the channels that asked to
 * close and have nothing left in txq. One request in flight at a time. */
static void send_resets(rtc_sctp_t *s)
{
    if (!s->reset_wanted_cnt || s->reset_in_flight || !s->connected || s->dead)
        return;
    uint8_t buf[sizeof(struct sctp_reset_streams) + RESET_BATCH_MAX * sizeof(uint16_t)];
    struct sctp_reset_streams *rs = (struct sctp_reset_streams *)buf;
    memset(rs, 0, sizeof *rs);
    rs->srs_flags = SCTP_STREAM_RESET_OUTGOING;
    uint16_t n = 0;
    for (uint32_t i = 0; i < s->cfg.streams && n < RESET_BATCH_MAX; i++) {
        sctp_chan_t *ch = s->chans[i];
        if (ch && ch->reset_wanted && !ch->reset_sent && ch->queued_cnt == 0)
            rs->srs_stream_list[n++] = (uint16_t)i;
    }
    if (!n)
        return;
    rs->srs_number_streams = n;
    if (usrsctp_setsockopt(s->sock, IPPROTO_SCTP, SCTP_RESET_STREAMS, rs,
                           (socklen_t)(sizeof *rs + n * sizeof(uint16_t))) < 0) {
        int e = errno;
        if (e != EALREADY && e != EAGAIN && e != EBUSY && e != EINPROGRESS)
            LOG_RATELIMIT(1000, "sctp: SCTP_RESET_STREAMS: %s", strerror(e));
        return; /* retried on the next poll */
    }
    s->reset_in_flight = true;
    for (uint16_t k = 0; k < n; k++) {
        sctp_chan_t *ch = s->chans[rs->srs_stream_list[k]];
        ch->reset_sent = true;
        s->reset_wanted_cnt--;
    }
}

/* Pushes txq into usrsctp until it blocks, then any stream resets that are due. */
static void tx_flush(rtc_sctp_t *s)
{
    if (!s->connected || s->dead)
        return;
    while (!net_list_empty(&s->txq)) {
        sctp_txmsg_t *m = container_of(s->txq.next, sctp_txmsg_t, node);
        sctp_chan_t *ch = chan_get(s, m->sid);
        ssize_t n = 0;
        if (ch && ch->state != CH_CLOSED) {
            if (!out_room(s))
                break;
            n = tx_sendv(s, m->sid, m->ppid, m->unordered, m->pr, m->pr_value, m->data + m->off,
                         m->len - m->off);
            if (n == -EAGAIN)
                break;
            if (n < 0)
                n = (ssize_t)(m->len - m->off); /* association failing: drop the message */
            m->off += (size_t)n;
            if (m->ppid != RTC_SCTP_PPID_DCEP)
                buffered_sub(s, ch, (size_t)n);
            if (m->off < m->len)
                break; /* partly accepted: nothing else may go before the rest */
            if (m->ppid != RTC_SCTP_PPID_DCEP) {
                s->st.tx_msg_cnt++;
                s->st.tx_bytes += m->len;
            }
            if (m->dcep_open && ch->state == CH_CONNECTING) {
                ch->state = CH_OPEN;
                ch->ev_open = true;
                pend_add(s, ch);
            }
        }
        if (ch)
            ch->queued_cnt--;
        net_list_del(&m->node);
        free(m);
    }
    send_resets(s);
}

static int chan_send_open(rtc_sctp_t *s, sctp_chan_t *ch)
{
    /* RFC 8832 §6: DATA_CHANNEL_OPEN goes reliable and ordered on the channel's stream. Up to
     * 128 KiB with the longest label and protocol: built on the heap, not a shard's stack. */
    size_t cap = RTC_DCEP_OPEN_HDR_LEN + ch->label_len + ch->protocol_len;
    uint8_t *buf = malloc(cap);
    if (!buf)
        return -ENOMEM;
    uint32_t rel = ch->pr == RTC_SCTP_PR_NONE ? 0 : ch->pr_value;
    int n =
        rtc_dcep_write_open(buf, cap, rtc_dcep_channel_type(ch->unordered, ch->pr), ch->priority,
                            rel, (net_view_t){(const uint8_t *)ch->label, ch->label_len},
                            (net_view_t){(const uint8_t *)ch->protocol, ch->protocol_len});
    int r = n < 0 ? n : txq_add(s, ch, RTC_SCTP_PPID_DCEP, false, true, buf, (size_t)n, 0);
    free(buf);
    return r;
}

static char *dup_bytes(const void *p, size_t len)
{
    char *d = malloc(len + 1);
    if (d) {
        if (len)
            memcpy(d, p, len);
        d[len] = 0;
    }
    return d;
}

static sctp_chan_t *chan_new(rtc_sctp_t *s, uint16_t sid, net_view_t label, net_view_t proto)
{
    sctp_chan_t *ch = calloc(1, sizeof *ch);
    if (!ch)
        return NULL;
    ch->sid = sid;
    ch->label = dup_bytes(label.p, label.len);
    ch->protocol = dup_bytes(proto.p, proto.len);
    if (!ch->label || !ch->protocol) {
        free(ch->label);
        free(ch->protocol);
        free(ch);
        return NULL;
    }
    ch->label_len = label.len;
    ch->protocol_len = proto.len;
    s->chans[sid] = ch;
    s->chan_cnt++;
    return ch;
}

int rtc_sctp_channel_open(rtc_sctp_t *s, const rtc_sctp_channel_cfg_t *cfg)
{
    const char *label = cfg->label ? cfg->label : "", *proto = cfg->protocol ? cfg->protocol : "";
    size_t ll = strlen(label), pl = strlen(proto);
    if (ll > UINT16_MAX || pl > UINT16_MAX || cfg->pr > RTC_SCTP_PR_TTL)
        return -EINVAL;
    if (s->dead)
        return -EPIPE;
    int sid = -1;
    if (cfg->negotiated) {
        if (cfg->sid >= s->streams_limit)
            return -EINVAL;
        if (s->chans[cfg->sid])
            return -EADDRINUSE;
        sid = cfg->sid;
    } else {
        /* RFC 8832 §6: the DTLS client uses even stream ids, the server odd ones. */
        for (uint32_t i = s->cfg.dtls_client ? 0 : 1; i < s->streams_limit; i += 2)
            if (!s->chans[i]) {
                sid = (int)i;
                break;
            }
        if (sid < 0)
            return -ENOSPC;
    }
    sctp_chan_t *ch = chan_new(s, (uint16_t)sid, (net_view_t){(const uint8_t *)label, ll},
                               (net_view_t){(const uint8_t *)proto, pl});
    if (!ch)
        return -ENOMEM;
    ch->negotiated = cfg->negotiated;
    ch->unordered = cfg->unordered;
    ch->pr = cfg->pr;
    ch->pr_value = cfg->pr == RTC_SCTP_PR_NONE ? 0 : cfg->pr_value;
    ch->priority = cfg->priority ? cfg->priority : 256;
    if (cfg->negotiated) {
        ch->acked = true; /* no DCEP: nothing to wait for */
        if (s->connected) {
            ch->state = CH_OPEN;
            ch->ev_open = true;
            pend_add(s, ch);
        }
    } else {
        int r = chan_send_open(s, ch);
        if (r < 0) {
            chan_free(s, ch);
            return r;
        }
        rtc_sctp_t *prev = tls_owner;
        tls_owner = s;
        tx_flush(s);
        tls_owner = prev;
    }
    return sid;
}

int rtc_sctp_send(rtc_sctp_t *s, uint16_t sid, const void *data, size_t len, bool binary)
{
    sctp_chan_t *ch = chan_get(s, sid);
    if (!ch)
        return -ENOENT;
    if (ch->state >= CH_CLOSING || s->dead)
        return -EPIPE;
    if (len > s->remote_max)
        return -EMSGSIZE; /* RFC 8841 §6: the peer's a=max-message-size */
    uint32_t ppid = binary ? RTC_SCTP_PPID_BINARY : RTC_SCTP_PPID_STRING;
    static const uint8_t zero = 0;
    if (len == 0) {
        /* RFC 8831 §6.6: SCTP cannot carry an empty message: one zero byte, "Empty" PPID. */
        ppid = binary ? RTC_SCTP_PPID_BINARY_EMPTY : RTC_SCTP_PPID_STRING_EMPTY;
        data = &zero;
        len = 1;
    }
    /* RFC 8832 §6: before the ACK (or any message) arrives, user data goes ordered. */
    bool unordered = ch->unordered && ch->acked;
    size_t off = 0;
    if (net_list_empty(&s->txq) && s->connected && ch->state == CH_OPEN && out_room(s)) {
        rtc_sctp_t *prev = tls_owner;
        tls_owner = s;
        ssize_t n = tx_sendv(s, sid, ppid, unordered, ch->pr, ch->pr_value, data, len);
        tls_owner = prev;
        if (n == -EPIPE)
            return -EPIPE;
        if (n == (ssize_t)len) {
            s->st.tx_msg_cnt++;
            s->st.tx_bytes += len;
            return 0;
        }
        if (n > 0)
            off = (size_t)n;
    }
    return txq_add(s, ch, ppid, unordered, false, data, len, off);
}

int rtc_sctp_channel_close(rtc_sctp_t *s, uint16_t sid)
{
    sctp_chan_t *ch = chan_get(s, sid);
    if (!ch)
        return -ENOENT;
    if (ch->state >= CH_CLOSING)
        return 0;
    if (!s->connected || s->dead) {
        /* Nothing reached the peer: drop queued messages, close at once. */
        net_list_t *it = s->txq.next;
        while (it != &s->txq) {
            sctp_txmsg_t *m = container_of(it, sctp_txmsg_t, node);
            it = it->next;
            if (m->sid == sid) {
                net_list_del(&m->node);
                free(m);
            }
        }
        ch->queued_cnt = 0;
        ch->buffered = 0;
        chan_set_closed(s, ch, 0);
        return 0;
    }
    /* RFC 8831 §6.7: closing = resetting our outgoing stream (after what is queued). */
    chan_want_reset(s, ch);
    rtc_sctp_t *prev = tls_owner;
    tls_owner = s;
    tx_flush(s);
    tls_owner = prev;
    return 0;
}

size_t rtc_sctp_buffered_amount(const rtc_sctp_t *s, uint16_t sid)
{
    sctp_chan_t *ch = chan_get(s, sid);
    return ch ? ch->buffered : 0;
}

int rtc_sctp_set_buffered_low(rtc_sctp_t *s, uint16_t sid, size_t threshold)
{
    sctp_chan_t *ch = chan_get(s, sid);
    if (!ch)
        return -ENOENT;
    ch->low_threshold = threshold;
    return 0;
}

size_t rtc_sctp_max_message_size(const rtc_sctp_t *s)
{
    return s->remote_max;
}

bool rtc_sctp_is_connected(const rtc_sctp_t *s)
{
    return s->connected && !s->dead;
}

bool rtc_sctp_is_closed(const rtc_sctp_t *s)
{
    return s->dead;
}

unsigned rtc_sctp_channel_cnt(const rtc_sctp_t *s)
{
    return s->chan_cnt;
}

void rtc_sctp_get_stats(const rtc_sctp_t *s, rtc_sctp_stats_t *st)
{
    /* out_drop_cnt and tx_pkt_cnt change under out_mu (conn_output may run on another
     * thread); the rest only on the owner. */
    pthread_mutex_t *mu = (pthread_mutex_t *)&s->out_mu;
    pthread_mutex_lock(mu);
    *st = s->st;
    pthread_mutex_unlock(mu);
}

/* ---------------------------------------------------------------------------------------------
 * Receive path.
 */
static void assoc_dead(rtc_sctp_t *s, int err, const char *why)
{
    if (s->dead)
        return;
    LOGP_INFO(s->cfg.log_id, "sctp: association %s (%s)", s->connected ? "closed" : "failed", why);
    s->dead = true;
    bool was_up = s->connected;
    s->connected = false;
    for (uint32_t i = 0; i < s->cfg.streams; i++)
        if (s->chans[i])
            chan_set_closed(s, s->chans[i], err ? err : -ECONNRESET);
    if (was_up || err) {
        s->ev_closed = true;
        s->closed_err = err;
    }
}

static void on_dcep(rtc_sctp_t *s, uint16_t sid, const uint8_t *p, size_t len)
{
    rtc_dcep_t m;
    if (rtc_dcep_parse(p, len, &m) < 0) {
        s->st.bad_dcep_cnt++;
        LOGP_DEBUG(s->cfg.log_id, "sctp: malformed DCEP on sid %u", sid);
        return;
    }
    sctp_chan_t *ch = chan_get(s, sid);
    if (m.type == RTC_DCEP_ACK) {
        if (!ch || ch->remote || ch->negotiated) {
            s->st.bad_dcep_cnt++;
            return;
        }
        ch->acked = true;
        return;
    }
    /* DATA_CHANNEL_OPEN. RFC 8832 §6: the peer picked the stream (its parity); a stream we
     * already use cannot be opened again. */
    if (sid >= s->streams_limit || ch) {
        s->st.bad_dcep_cnt++;
        LOGP_DEBUG(s->cfg.log_id, "sctp: DATA_CHANNEL_OPEN on busy sid %u", sid);
        return;
    }
    ch = chan_new(s, sid, m.label, m.protocol);
    if (!ch)
        return;
    ch->remote = true;
    ch->acked = true;
    rtc_dcep_channel_type_split(m.channel_type, &ch->unordered, &ch->pr);
    ch->pr_value = m.reliability;
    ch->priority = m.priority;
    ch->state = CH_OPEN;
    /* RFC 8832 §6: answer with DATA_CHANNEL_ACK on the same stream, before any data of ours. */
    static const uint8_t ack = RTC_DCEP_ACK;
    if (txq_add(s, ch, RTC_SCTP_PPID_DCEP, false, false, &ack, 1, 0) < 0) {
        chan_free(s, ch);
        return;
    }
    tx_flush(s);
    deliver_pending(s);
    emit_open(s, ch);
}

static void on_message(rtc_sctp_t *s, uint16_t sid, uint32_t ppid, const uint8_t *p, size_t len)
{
    /* Events in order, before the message is looked at: COMM_UP may have been read in this very
     * poll (usrsctp takes a DATA chunk in COOKIE-ECHOED state as the lost COOKIE-ACK), and the
     * owner opens its channels on CONNECTED. Looked up first, the message found no channel and was
     * dropped, although SCTP had acknowledged it. */
    deliver_pending(s);
    if (ppid == RTC_SCTP_PPID_DCEP) {
        on_dcep(s, sid, p, len);
        return;
    }
    sctp_chan_t *ch = chan_get(s, sid);
    bool binary;
    switch (ppid) {
    case RTC_SCTP_PPID_STRING:
        binary = false;
        break;
    case RTC_SCTP_PPID_BINARY:
        binary = true;
        break;
    case RTC_SCTP_PPID_STRING_EMPTY:
        binary = false;
        len = 0; /* RFC 8831 §6.6: the one byte carries nothing */
        break;
    case RTC_SCTP_PPID_BINARY_EMPTY:
        binary = true;
        len = 0;
        break;
    default:
        ch = NULL; /* 52/54 (deprecated partial) and anything unknown */
    }
    if (!ch || ch->state == CH_CLOSED) {
        s->st.rx_unknown_cnt++;
        LOGP_DEBUG(s->cfg.log_id, "sctp: message (PPID %u, %zu bytes) on sid %u: no channel", ppid,
                   len, sid);
        return;
    }
    ch->acked = true; /* RFC 8832 §6: any message from the peer implies its ACK */
    s->st.rx_msg_cnt++;
    s->st.rx_bytes += len;
    emit(s, &(rtc_sctp_event_t){
                .type = RTC_SCTP_EV_MESSAGE, .sid = sid, .binary = binary, .data = {p, len}});
}

static void on_reset_event(rtc_sctp_t *s, const struct sctp_stream_reset_event *ev, size_t len)
{
    size_t n = (len - sizeof *ev) / sizeof(uint16_t);
    uint16_t flags = ev->strreset_flags;
    if (flags & SCTP_STREAM_RESET_OUTGOING_SSN)
        s->reset_in_flight = false;
    for (size_t i = 0; i < n; i++) {
        uint16_t sid;
        memcpy(&sid, (const uint8_t *)ev->strreset_stream_list + i * 2, 2);
        sctp_chan_t *ch = chan_get(s, sid);
        if (!ch)
            continue;
        if (flags & (SCTP_STREAM_RESET_DENIED | SCTP_STREAM_RESET_FAILED)) {
            /* Ask again later. */
            s->reset_in_flight = false;
            if (ch->reset_sent && !ch->out_reset_done) {
                ch->reset_sent = false;
                s->reset_wanted_cnt++;
            }
            continue;
        }
        if (flags & SCTP_STREAM_RESET_INCOMING_SSN) {
            ch->in_reset_done = true;
            /* RFC 8831 §6.7: the peer closed; we MUST reset our outgoing stream too. */
            if (ch->state == CH_OPEN || ch->state == CH_CONNECTING)
                chan_want_reset(s, ch);
        }
        if (flags & SCTP_STREAM_RESET_OUTGOING_SSN)
            ch->out_reset_done = true;
        chan_check_closed(s, ch);
    }
}

static void on_notification(rtc_sctp_t *s, const uint8_t *p, size_t len)
{
    union sctp_notification nf;
    if (len < sizeof nf.sn_header)
        return;
    memcpy(&nf, p, NET_MIN(len, sizeof nf));
    switch (nf.sn_header.sn_type) {
    case SCTP_ASSOC_CHANGE: {
        if (len < sizeof(struct sctp_assoc_change))
            return;
        const struct sctp_assoc_change *ac = &nf.sn_assoc_change;
        if (ac->sac_state == SCTP_RESTART && s->connected) {
            s->st.restart_cnt++;
            LOGP_INFO(s->cfg.log_id, "sctp: the peer restarted the association");
        }
        if (ac->sac_state == SCTP_COMM_UP || ac->sac_state == SCTP_RESTART) {
            if (s->connected || s->dead)
                return;
            s->connected = true;
            s->ev_connected = true;
            uint16_t lim = NET_MIN(ac->sac_outbound_streams, ac->sac_inbound_streams);
            s->streams_limit = NET_MIN(lim, s->cfg.streams);
            for (uint32_t i = 0; i < s->cfg.streams; i++) {
                sctp_chan_t *ch = s->chans[i];
                if (!ch)
                    continue;
                if (i >= s->streams_limit) {
                    chan_set_closed(s, ch, -ENOSPC); /* the peer gave us fewer streams */
                } else if (ch->negotiated && ch->state == CH_CONNECTING) {
                    ch->state = CH_OPEN;
                    ch->ev_open = true;
                    pend_add(s, ch);
                }
            }
            LOGP_INFO(s->cfg.log_id, "sctp: association up, %u streams", s->streams_limit);
        } else if (ac->sac_state == SCTP_COMM_LOST) {
            assoc_dead(s, -ECONNRESET, "lost: aborted, or retransmissions exhausted");
        } else if (ac->sac_state == SCTP_CANT_STR_ASSOC) {
            assoc_dead(s, -ECONNRESET, "could not start");
        } else if (ac->sac_state == SCTP_SHUTDOWN_COMP) {
            assoc_dead(s, 0, "shut down");
        }
        break;
    }
    case SCTP_STREAM_RESET_EVENT:
        if (len >= sizeof(struct sctp_stream_reset_event))
            on_reset_event(s, (const struct sctp_stream_reset_event *)p, len);
        break;
    case SCTP_PARTIAL_DELIVERY_EVENT:
        /* The message being reassembled will not complete. */
        if (nf.sn_pdapi_event.pdapi_indication == SCTP_PARTIAL_DELIVERY_ABORTED) {
            s->rx_len = 0;
            s->rx_discard = false;
        }
        break;
    case SCTP_STREAM_CHANGE_EVENT:
        if (len >= sizeof(struct sctp_stream_change_event)) {
            uint16_t lim = NET_MIN(nf.sn_strchange_event.strchange_instrms,
                                   nf.sn_strchange_event.strchange_outstrms);
            s->streams_limit = NET_MIN(lim, s->cfg.streams);
        }
        break;
    default: /* SENDER_DRY: we flush after every poll anyway */
        break;
    }
}

/* Makes room for the next recv: the rest of a message up to local_max, plus a notification. */
static int rx_reserve(rtc_sctp_t *s)
{
    size_t want = s->rx_len + RX_NOTIF_ROOM + 1500;
    if (want <= s->rx_cap)
        return 0;
    size_t ncap = NET_MAX(s->rx_cap * 2, want);
    ncap = NET_MIN(ncap, s->local_max + 1 + RX_NOTIF_ROOM + 1500);
    if (ncap <= s->rx_cap)
        return 0;
    uint8_t *nb = realloc(s->rx_buf, ncap);
    if (!nb)
        return -ENOMEM;
    s->rx_buf = nb;
    s->rx_cap = ncap;
    return 0;
}

static void rx_loop(rtc_sctp_t *s)
{
    for (unsigned budget = 0; budget < POLL_RECV_BUDGET && !s->dead; budget++) {
        if (rx_reserve(s) < 0)
            break;
        struct sctp_rcvinfo ri;
        socklen_t ilen = sizeof ri;
        unsigned itype = 0;
        int flags = 0;
        struct sockaddr_conn from;
        socklen_t flen = sizeof from;
        uint8_t *dst = s->rx_buf + s->rx_len;
        ssize_t n = usrsctp_recvv(s->sock, dst, s->rx_cap - s->rx_len, (struct sockaddr *)&from,
                                  &flen, &ri, &ilen, &itype, &flags);
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOTCONN)
                LOG_RATELIMIT(1000, "sctp: recvv: %s", strerror(errno));
            break;
        }
        if (flags & MSG_NOTIFICATION) {
            if (!s->rx_notif_skip)
                on_notification(s, dst, (size_t)n);
            /* A notification bigger than our room arrives in parts: skip to its end. */
            s->rx_notif_skip = !(flags & MSG_EOR);
            continue;
        }
        if (n == 0) {
            if (s->connected)
                assoc_dead(s, -ECONNRESET, "end of stream");
            break;
        }
        if (itype != SCTP_RECVV_RCVINFO) {
            s->st.rx_unknown_cnt++;
            continue;
        }
        uint32_t ppid = ntohl(ri.rcv_ppid);
        if (s->rx_len == 0 && !s->rx_discard) {
            s->rx_sid = ri.rcv_sid;
            s->rx_ppid = ppid;
        } else if (ri.rcv_sid != s->rx_sid) {
            /* Cannot happen with fragment interleave 0; never splice two messages. */
            s->rx_len = 0;
            s->rx_discard = true;
        }
        if (!s->rx_discard) {
            s->rx_len += (size_t)n;
            if (s->rx_len > s->local_max) {
                s->rx_discard = true; /* over our a=max-message-size: drop it whole */
                s->st.rx_oversize_cnt++;
                LOGP_DEBUG(s->cfg.log_id, "sctp: message over %zu bytes on sid %u dropped",
                           s->local_max, s->rx_sid);
            }
        }
        if (s->rx_discard)
            s->rx_len = 0;
        if (!(flags & MSG_EOR))
            continue;
        if (!s->rx_discard)
            on_message(s, s->rx_sid, s->rx_ppid, s->rx_buf, s->rx_len);
        s->rx_len = 0;
        s->rx_discard = false;
    }
}

int rtc_sctp_poll(rtc_sctp_t *s, uint64_t now_ns)
{
    (void)now_ns;
    if (s->in_poll)
        return 0; /* called from inside on_event: the outer poll finishes the work */
    s->in_poll = true;
    rtc_sctp_t *prev = tls_owner;
    tls_owner = s;
    atomic_store(&s->wake_flag, false);
    rx_loop(s);
    tx_flush(s);
    deliver_pending(s);
    /* Callbacks may have sent or closed: push that out now. */
    tx_flush(s);
    deliver_pending(s);
    tls_owner = prev;
    s->in_poll = false;
    return 0;
}

int rtc_sctp_input(rtc_sctp_t *s, const uint8_t *p, size_t len, uint64_t now_ns)
{
    /* RFC 4960 §3.1: the common header alone is 12 bytes. */
    if (len < 12) {
        s->st.bad_pkt_cnt++;
        return -EBADMSG;
    }
    s->st.rx_pkt_cnt++;
    if (net_log_get_level() >= NET_LOG_DEBUG) { /* no lock on the packet path otherwise */
        pthread_mutex_lock(&s->out_mu);
        trace_pkt(s, '>', p, len);
        pthread_mutex_unlock(&s->out_mu);
    }
    rtc_sctp_t *prev = tls_owner;
    tls_owner = s;
    usrsctp_conninput((void *)s->id, p, len, 0);
    tls_owner = prev;
    return rtc_sctp_poll(s, now_ns);
}
