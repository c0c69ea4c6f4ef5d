/* rtc/ice/ice.c: the sans-IO ICE agent (RFC 8445 full and lite, RFC 8838 trickle, RFC 7675
 * consent freshness). See docs/ice.md for the shape and the decisions.
 *
 * One data stream, one component, UDP. Tables are fixed-size arrays inside the agent (no
 * allocation after create). Pairs are kept unsorted; the scheduler scans them (<= 128).
 */
#include "rtc/ice/ice.h"

#include "rtc/crypto/crypto.h"
#include "rtc/stun/stun.h"

#include <stdio.h>
#include <stdlib.h>

#define MAX_LOCAL 8
#define MAX_REMOTE 24
#define MAX_PAIRS 128
#define MAX_GATHER 4
#define MAX_EVENTS 32
#define CONSENT_TXIDS 8

/* RFC 8489 §6.2.1: RTO starts at 500 ms and doubles; Rc = 7 transmissions. We cap the RTO at
 * 1.6 s so that a dead pair fails after ~9.5 s instead of 39.5 s (the RFC lets ICE usages
 * configure both). */
#define RTO_INIT_NS (500 * NET_NS_PER_MS)
#define RTO_MAX_NS (1600 * NET_NS_PER_MS)
#define TX_MAX 7
/* Regular nomination: after the first valid pair, wait this long for better pairs before
 * nominating the best valid one (RFC 8445 §8.1.1 leaves the "when" to the agent). */
#define NOMINATE_WAIT_NS (200 * NET_NS_PER_MS)

enum pair_state { P_FROZEN, P_WAITING, P_INPROGRESS, P_SUCCEEDED, P_FAILED };

typedef struct ice_tx {
    uint8_t txid[RTC_STUN_TXID_LEN];
    uint64_t next_ns; /* next retransmission, or timeout after the last */
    uint64_t rto_ns;
    uint64_t sent_ns; /* the latest transmission */
    uint8_t cnt;      /* transmissions so far */
    bool active;
} ice_tx_t;

typedef struct ice_local {
    rtc_ice_cand_t c;
    net_addr_t base;
} ice_local_t;

typedef struct ice_remote {
    rtc_ice_cand_t c;
} ice_remote_t;

typedef struct ice_pair {
    uint8_t local, remote;
    uint8_t state;
    bool valid;            /* succeeded (RFC 8445 §7.2.5.3.2: in the valid list) */
    bool nominated;        /* RFC 8445 §8.1 */
    bool nominating;       /* our in-flight check carries USE-CANDIDATE */
    bool remote_nominated; /* USE-CANDIDATE received before our check succeeded */
    bool queued;           /* in the triggered-check queue */
    bool sent_controlling; /* the role our in-flight check claimed */
    uint64_t prio;
    uint64_t rtt_ns; /* 0 = unknown; see pair_succeeded() */
    bool rtt_clean;  /* rtt_ns is from a check answered on its first transmission */
    ice_tx_t tx;
} ice_pair_t;

typedef struct ice_gather {
    net_addr_t base, server;
    ice_tx_t tx;
    bool done;
} ice_gather_t;

struct rtc_ice {
    rtc_ice_cfg_t cfg;
    bool controlling;
    uint64_t tie_breaker;
    rtc_ice_state_t state;
    uint64_t rng;

    char ufrag[RTC_ICE_UFRAG_MAX + 1], pwd[RTC_ICE_PWD_MAX + 1];
    char prev_ufrag[RTC_ICE_UFRAG_MAX + 1], prev_pwd[RTC_ICE_PWD_MAX + 1]; /* before restart */
    char rufrag[RTC_ICE_UFRAG_MAX + 1], rpwd[RTC_ICE_PWD_MAX + 1];
    bool have_rcreds;
    /* Remote credentials of the generation the media pair belongs to (for consent checks
     * during a restart). */
    char media_rufrag[RTC_ICE_UFRAG_MAX + 1], media_rpwd[RTC_ICE_PWD_MAX + 1];
    char media_ufrag[RTC_ICE_UFRAG_MAX + 1];

    ice_local_t local[MAX_LOCAL];
    unsigned local_cnt;
    ice_remote_t remote[MAX_REMOTE];
    unsigned remote_cnt;
    ice_pair_t pairs[MAX_PAIRS];
    unsigned pair_cnt;
    uint8_t trig[MAX_PAIRS]; /* triggered-check FIFO (RFC 8445 §7.2.5.4) */
    unsigned trig_head, trig_cnt;
    ice_gather_t gather[MAX_GATHER];
    unsigned gather_cnt;
    bool gather_done_called, eoc_sent, remote_done;

    uint64_t last_check_ns; /* pacing (Ta) */
    bool checked_once;
    uint64_t nominate_at_ns; /* 0 = not armed */

    /* The media pair (survives a restart until a new pair is selected). */
    bool media_valid, media_nominated, media_relayed;
    net_addr_t media_local, media_remote;
    uint64_t media_rtt_ns;
    uint64_t consent_ok_ns, consent_next_ns;
    ice_tx_t consent_tx;
    uint8_t consent_txids[CONSENT_TXIDS][RTC_STUN_TXID_LEN];
    unsigned consent_txid_pos;
    bool restarting;

    rtc_ice_event_t ev[MAX_EVENTS];
    unsigned ev_head, ev_cnt;
    rtc_ice_stats_t st;
};

/* ---------------------------------------------------------------------------------------------
 * Small helpers
 */
static uint64_t rng_next(rtc_ice_t *ice)
{
    /* xorshift64*: for jitter only; transaction ids come from rtc_random */
    uint64_t x = ice->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    ice->rng = x;
    return x * 2685821657736338717ull;
}

static void new_txid(uint8_t txid[RTC_STUN_TXID_LEN], rtc_ice_t *ice)
{
    /* RFC 8489 §6: SHOULD be cryptographically random */
    if (rtc_random(txid, RTC_STUN_TXID_LEN) < 0)
        for (int i = 0; i < RTC_STUN_TXID_LEN; i++)
            txid[i] = (uint8_t)rng_next(ice);
}

static const char ice_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void random_str(char *out, size_t n)
{
    uint8_t r[64];
    if (rtc_random(r, n) < 0)
        memset(r, 0x5a, n); /* crypto failure: still valid ice-chars; logged by crypto */
    for (size_t i = 0; i < n; i++)
        out[i] = ice_chars[r[i] & 63];
    out[n] = 0;
}

/* RFC 8839 §5.4: ice-ufrag 4..256 ice-chars, ice-pwd 22..256 (we cap lower). */
static bool creds_ok(const char *s, size_t min, size_t max)
{
    size_t n = strlen(s);
    if (n < min || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!strchr(ice_chars, s[i]) || !s[i])
            return false;
    return true;
}

static void push_event(rtc_ice_t *ice, const rtc_ice_event_t *e)
{
    if (ice->ev_cnt == MAX_EVENTS) {
        ice->ev_head = (ice->ev_head + 1) % MAX_EVENTS; /* drop the oldest */
        ice->ev_cnt--;
        ice->st.events_dropped++;
    }
    ice->ev[(ice->ev_head + ice->ev_cnt) % MAX_EVENTS] = *e;
    ice->ev_cnt++;
}

static void set_state(rtc_ice_t *ice, rtc_ice_state_t s)
{
    if (ice->state == s || ice->state == RTC_ICE_CLOSED)
        return;
    ice->state = s;
    rtc_ice_event_t e = {.type = RTC_ICE_EV_STATE, .state = s};
    push_event(ice, &e);
}

const char *rtc_ice_state_name(rtc_ice_state_t s)
{
    static const char *const n[] = {"new",    "checking",     "connected", "completed",
                                    "failed", "disconnected", "closed"};
    return (unsigned)s < NET_ARRAY_LEN(n) ? n[s] : "?";
}

static rtc_ice_dgram_t *out_slot(rtc_ice_t *ice, rtc_ice_out_t *out)
{
    if (!out || out->cnt >= out->cap) {
        ice->st.out_dropped++;
        return NULL;
    }
    return &out->dg[out->cnt];
}

static bool is_relay_local(const rtc_ice_t *ice, unsigned li)
{
    return ice->local[li].c.type == RTC_ICE_RELAY;
}

/* ---------------------------------------------------------------------------------------------
 * Pairs
 */
static uint64_t pair_prio(const rtc_ice_t *ice, const ice_pair_t *p)
{
    /* RFC 8445 §6.1.2.3: 2^32*MIN(G,D) + 2*MAX(G,D) + (G>D?1:0), G = controlling's. */
    uint64_t l = ice->local[p->local].c.priority, r = ice->remote[p->remote].c.priority;
    uint64_t g = ice->controlling ? l : r, d = ice->controlling ? r : l;
    return ((g < d ? g : d) << 32) + 2 * (g > d ? g : d) + (g > d ? 1 : 0);
}

static void recompute_prios(rtc_ice_t *ice)
{
    for (unsigned i = 0; i < ice->pair_cnt; i++)
        ice->pairs[i].prio = pair_prio(ice, &ice->pairs[i]);
}

static int find_local_by_base(const rtc_ice_t *ice, const net_addr_t *base)
{
    /* Prefer host/relay candidates whose base is @base (srflx share the base of a host). */
    for (unsigned i = 0; i < ice->local_cnt; i++)
        if (ice->local[i].c.type != RTC_ICE_SRFLX && net_addr_eq(&ice->local[i].base, base))
            return (int)i;
    return -1;
}

static int find_remote(const rtc_ice_t *ice, const net_addr_t *a)
{
    for (unsigned i = 0; i < ice->remote_cnt; i++)
        if (net_addr_eq(&ice->remote[i].c.addr, a))
            return (int)i;
    return -1;
}

static int find_pair(const rtc_ice_t *ice, unsigned li, unsigned ri)
{
    for (unsigned i = 0; i < ice->pair_cnt; i++)
        if (ice->pairs[i].local == li && ice->pairs[i].remote == ri)
            return (int)i;
    return -1;
}

static bool foundation_active(const rtc_ice_t *ice, const ice_pair_t *p)
{
    /* a pair of the same foundation (local+remote) is Waiting or In-Progress */
    for (unsigned i = 0; i < ice->pair_cnt; i++) {
        const ice_pair_t *q = &ice->pairs[i];
        if (q != p && (q->state == P_WAITING || q->state == P_INPROGRESS) &&
            !strcmp(ice->local[q->local].c.foundation, ice->local[p->local].c.foundation) &&
            !strcmp(ice->remote[q->remote].c.foundation, ice->remote[p->remote].c.foundation))
            return true;
    }
    return false;
}

static int add_pair(rtc_ice_t *ice, unsigned li, unsigned ri)
{
    int k = find_pair(ice, li, ri);
    if (k >= 0)
        return k;
    if (ice->pair_cnt == MAX_PAIRS)
        return -ENOSPC;
    ice_pair_t *p = &ice->pairs[ice->pair_cnt];
    memset(p, 0, sizeof *p);
    p->local = (uint8_t)li;
    p->remote = (uint8_t)ri;
    p->prio = pair_prio(ice, p);
    /* RFC 8445 §6.1.2.6: the first pair of each foundation starts Waiting, others Frozen. */
    p->state = foundation_active(ice, p) ? P_FROZEN : P_WAITING;
    return (int)ice->pair_cnt++;
}

/* Forms pairs of local candidate @li with every remote (or remote @ri with every local). */
static void pair_up(rtc_ice_t *ice, int li, int ri)
{
    for (unsigned l = 0; l < ice->local_cnt; l++) {
        if (li >= 0 && (int)l != li)
            continue;
        /* RFC 8445 §6.1.2.4: a srflx local pairs as its base (the host), so skip it. */
        if (ice->local[l].c.type == RTC_ICE_SRFLX || ice->local[l].c.type == RTC_ICE_PRFLX)
            continue;
        if (ice->cfg.relay_only && !is_relay_local(ice, l))
            continue;
        for (unsigned r = 0; r < ice->remote_cnt; r++) {
            if (ri >= 0 && (int)r != ri)
                continue;
            if (net_addr_family(&ice->local[l].c.addr) != net_addr_family(&ice->remote[r].c.addr))
                continue;
            (void)add_pair(ice, l, r);
        }
    }
}

static void trig_push(rtc_ice_t *ice, unsigned pi)
{
    ice_pair_t *p = &ice->pairs[pi];
    if (p->queued)
        return;
    p->queued = true;
    ice->trig[(ice->trig_head + ice->trig_cnt) % MAX_PAIRS] = (uint8_t)pi;
    ice->trig_cnt++;
}

static int trig_pop(rtc_ice_t *ice)
{
    while (ice->trig_cnt) {
        unsigned pi = ice->trig[ice->trig_head];
        ice->trig_head = (ice->trig_head + 1) % MAX_PAIRS;
        ice->trig_cnt--;
        if (pi < ice->pair_cnt && ice->pairs[pi].queued) {
            ice->pairs[pi].queued = false;
            return (int)pi;
        }
    }
    return -1;
}

/* ---------------------------------------------------------------------------------------------
 * Sending
 */
static void tx_start(rtc_ice_t *ice, ice_tx_t *tx, uint64_t now_ns)
{
    new_txid(tx->txid, ice);
    tx->cnt = 1;
    tx->rto_ns = RTO_INIT_NS;
    tx->sent_ns = now_ns;
    tx->next_ns = now_ns + tx->rto_ns;
    tx->active = true;
}

/* Advances a transaction after its timer fired: true if it must be retransmitted, false if it
 * timed out (RFC 8489 §6.2.1: after Rc transmissions, wait one more RTO). */
static bool tx_retransmit(ice_tx_t *tx, uint64_t now_ns)
{
    if (tx->cnt >= TX_MAX) {
        tx->active = false;
        return false;
    }
    tx->cnt++;
    tx->rto_ns = tx->rto_ns * 2 > RTO_MAX_NS ? RTO_MAX_NS : tx->rto_ns * 2;
    tx->next_ns = now_ns + tx->rto_ns;
    tx->sent_ns = now_ns;
    return true;
}

/* A Binding request on (local @li -> @dst) (RFC 8445 §7.2.2). @rufrag/@rpwd/@lufrag are the
 * credentials of the generation the check belongs to. */
static void send_check(rtc_ice_t *ice, unsigned li, const net_addr_t *dst, const uint8_t *txid,
                       bool use_cand, const char *rufrag, const char *rpwd, const char *lufrag,
                       rtc_ice_out_t *out)
{
    rtc_ice_dgram_t *d = out_slot(ice, out);
    if (!d)
        return;
    char user[2 * RTC_ICE_UFRAG_MAX + 2];
    snprintf(user, sizeof user, "%s:%s", rufrag, lufrag);
    /* PRIORITY: what a peer-reflexive candidate learnt from this check would get (§7.1.1). */
    uint32_t prio =
        rtc_ice_priority(RTC_ICE_PRFLX, (uint16_t)((ice->local[li].c.priority >> 8) & 0xFFFF), 1);
    rtc_stun_wr_t w;
    rtc_stun_wr_init(&w, d->data, sizeof d->data, RTC_STUN_BINDING, RTC_STUN_REQUEST, txid);
    rtc_stun_wr_str(&w, RTC_STUN_A_USERNAME, user);
    rtc_stun_wr_u32(&w, RTC_STUN_A_PRIORITY, prio);
    rtc_stun_wr_u64(&w, ice->controlling ? RTC_STUN_A_ICE_CONTROLLING : RTC_STUN_A_ICE_CONTROLLED,
                    ice->tie_breaker);
    if (use_cand)
        rtc_stun_wr_attr(&w, RTC_STUN_A_USE_CANDIDATE, NULL, 0);
    rtc_stun_wr_integrity(&w, rpwd, strlen(rpwd));
    rtc_stun_wr_fingerprint(&w);
    int n = rtc_stun_wr_finish(&w);
    if (n < 0) {
        ice->st.out_dropped++;
        return;
    }
    d->len = (uint16_t)n;
    d->local = ice->local[li].base;
    d->dst = *dst;
    d->relayed = is_relay_local(ice, li);
    out->cnt++;
}

static void send_pair_check(rtc_ice_t *ice, ice_pair_t *p, rtc_ice_out_t *out)
{
    send_check(ice, p->local, &ice->remote[p->remote].c.addr, p->tx.txid, p->nominating,
               ice->rufrag, ice->rpwd, ice->ufrag, out);
    ice->st.checks_sent++;
}

static void start_pair_check(rtc_ice_t *ice, unsigned pi, uint64_t now_ns, rtc_ice_out_t *out)
{
    ice_pair_t *p = &ice->pairs[pi];
    p->state = P_INPROGRESS;
    p->sent_controlling = ice->controlling;
    tx_start(ice, &p->tx, now_ns);
    send_pair_check(ice, p, out);
    ice->last_check_ns = now_ns;
    ice->checked_once = true;
}

/* Bare STUN Binding request to a STUN server (RFC 8489 §6.1; no credentials). */
static void send_gather(rtc_ice_t *ice, ice_gather_t *g, rtc_ice_out_t *out)
{
    rtc_ice_dgram_t *d = out_slot(ice, out);
    if (!d)
        return;
    rtc_stun_wr_t w;
    rtc_stun_wr_init(&w, d->data, sizeof d->data, RTC_STUN_BINDING, RTC_STUN_REQUEST, g->tx.txid);
    rtc_stun_wr_fingerprint(&w);
    int n = rtc_stun_wr_finish(&w);
    if (n < 0)
        return;
    d->len = (uint16_t)n;
    d->local = g->base;
    d->dst = g->server;
    d->relayed = false;
    out->cnt++;
}

static void send_response(rtc_ice_t *ice, const rtc_stun_msg_t *req, const net_addr_t *src,
                          const net_addr_t *local, bool relayed, const char *pwd, uint16_t err,
                          rtc_ice_out_t *out)
{
    rtc_ice_dgram_t *d = out_slot(ice, out);
    if (!d)
        return;
    rtc_stun_wr_t w;
    rtc_stun_wr_init(&w, d->data, sizeof d->data, RTC_STUN_BINDING,
                     err ? RTC_STUN_ERROR : RTC_STUN_SUCCESS, req->txid);
    if (err)
        rtc_stun_wr_error(&w, err, NULL);
    else
        rtc_stun_wr_xor_addr(&w, RTC_STUN_A_XOR_MAPPED_ADDRESS, src);
    if (pwd)
        rtc_stun_wr_integrity(&w, pwd, strlen(pwd));
    rtc_stun_wr_fingerprint(&w);
    int n = rtc_stun_wr_finish(&w);
    if (n < 0)
        return;
    d->len = (uint16_t)n;
    d->local = *local;
    d->dst = *src;
    d->relayed = relayed;
    out->cnt++;
    if (err)
        ice->st.errors_sent++;
    else
        ice->st.responses_sent++;
}

/* ---------------------------------------------------------------------------------------------
 * Selection, nomination, consent
 */
static void set_media(rtc_ice_t *ice, const ice_pair_t *p, bool nominated, uint64_t now_ns)
{
    const net_addr_t *l = &ice->local[p->local].base, *r = &ice->remote[p->remote].c.addr;
    bool same =
        ice->media_valid && net_addr_eq(l, &ice->media_local) && net_addr_eq(r, &ice->media_remote);
    bool was_valid = ice->media_valid;
    ice->media_valid = true;
    ice->media_nominated = nominated;
    ice->media_relayed = is_relay_local(ice, p->local);
    ice->media_local = *l;
    ice->media_remote = *r;
    if (p->rtt_ns || !same)
        ice->media_rtt_ns = p->rtt_ns;
    memcpy(ice->media_rufrag, ice->rufrag, sizeof ice->rufrag);
    memcpy(ice->media_rpwd, ice->rpwd, sizeof ice->rpwd);
    memcpy(ice->media_ufrag, ice->ufrag, sizeof ice->ufrag);
    if (!same) {
        rtc_ice_event_t e = {.type = RTC_ICE_EV_SELECTED, .local = *l, .remote = *r};
        push_event(ice, &e);
        ice->consent_tx.active = false;
    }
    if (!same || !was_valid) {
        /* RFC 7675 §5.1: consent starts with the successful check */
        ice->consent_ok_ns = now_ns;
        ice->consent_next_ns = 0;
    }
    if (nominated)
        ice->restarting = false;
}

static bool checks_pending(const rtc_ice_t *ice)
{
    for (unsigned i = 0; i < ice->pair_cnt; i++) {
        uint8_t s = ice->pairs[i].state;
        if (s == P_FROZEN || s == P_WAITING || s == P_INPROGRESS)
            return true;
    }
    return ice->trig_cnt != 0;
}

static void update_state(rtc_ice_t *ice, uint64_t now_ns)
{
    (void)now_ns;
    if (ice->state == RTC_ICE_CLOSED || ice->state == RTC_ICE_FAILED)
        return;
    if (ice->state == RTC_ICE_DISCONNECTED)
        return; /* left only by consent (see consent handling) */
    int best_nom = -1, best_valid = -1;
    for (unsigned i = 0; i < ice->pair_cnt; i++) {
        const ice_pair_t *p = &ice->pairs[i];
        if (!p->valid)
            continue;
        if (best_valid < 0 || p->prio > ice->pairs[best_valid].prio)
            best_valid = (int)i;
        if (p->nominated && (best_nom < 0 || p->prio > ice->pairs[best_nom].prio))
            best_nom = (int)i;
    }
    if (best_nom >= 0) {
        /* RFC 8445 §8.1.1: with several nominated pairs, the highest priority one */
        set_media(ice, &ice->pairs[best_nom], true, now_ns);
        set_state(ice, RTC_ICE_CONNECTED);
        set_state(ice, RTC_ICE_COMPLETED);
        return;
    }
    if (best_valid >= 0 && !ice->restarting && !ice->media_nominated) {
        set_media(ice, &ice->pairs[best_valid], false, now_ns);
        set_state(ice, RTC_ICE_CONNECTED);
        return;
    }
    if (!ice->media_valid && ice->pair_cnt && !checks_pending(ice) && ice->remote_done &&
        !ice->cfg.lite) {
        set_state(ice, RTC_ICE_FAILED); /* RFC 8445 §8.1.2 / RFC 8838 §8 */
    }
}

static void maybe_nominate(rtc_ice_t *ice, uint64_t now_ns, rtc_ice_out_t *out)
{
    if (!ice->controlling || ice->cfg.lite || !ice->nominate_at_ns || now_ns < ice->nominate_at_ns)
        return;
    for (unsigned i = 0; i < ice->pair_cnt; i++)
        if (ice->pairs[i].nominating || ice->pairs[i].nominated) {
            ice->nominate_at_ns = 0;
            return;
        }
    int best = -1;
    for (unsigned i = 0; i < ice->pair_cnt; i++)
        if (ice->pairs[i].valid && (best < 0 || ice->pairs[i].prio > ice->pairs[best].prio))
            best = (int)i;
    ice->nominate_at_ns = 0;
    if (best < 0)
        return;
    /* RFC 8445 §8.1.1: nominate by repeating the check with USE-CANDIDATE. Sent at once (it is
     * a triggered check). */
    ice_pair_t *p = &ice->pairs[best];
    p->nominating = true;
    start_pair_check(ice, (unsigned)best, now_ns, out);
}

static void pair_failed(rtc_ice_t *ice, ice_pair_t *p, uint64_t now_ns)
{
    p->state = P_FAILED;
    p->tx.active = false;
    if (p->nominating) {
        p->nominating = false;
        if (ice->controlling)
            ice->nominate_at_ns = now_ns; /* try the next best */
    }
}

static void pair_succeeded(rtc_ice_t *ice, unsigned pi, uint64_t now_ns)
{
    ice_pair_t *p = &ice->pairs[pi];
    /* The round trip. Karn: the answer to a retransmitted check does not say which
     * transmission it answers, so only a check answered on its first transmission gives a
     * clean sample. Without one yet, the time since the latest transmission stands in: right
     * when the earlier ones were lost (the usual reason to retransmit), too short when the path
     * is slower than the 500 ms RTO. DTLS uses it for its first timeout (rtc_dtls_set_rtt),
     * where too short costs a spurious retransmission and too long (unknown: 1 s, doubling)
     * costs seconds per lost flight on a lossy path. */
    if (p->tx.active && now_ns > p->tx.sent_ns && (p->tx.cnt == 1 || !p->rtt_clean)) {
        p->rtt_ns = now_ns - p->tx.sent_ns;
        p->rtt_clean = p->tx.cnt == 1;
    }
    p->state = P_SUCCEEDED;
    p->tx.active = false;
    p->valid = true;
    /* RFC 8445 §7.2.5.3.3: unfreeze pairs of the same foundation */
    for (unsigned i = 0; i < ice->pair_cnt; i++) {
        ice_pair_t *q = &ice->pairs[i];
        if (q->state == P_FROZEN &&
            !strcmp(ice->local[q->local].c.foundation, ice->local[p->local].c.foundation) &&
            !strcmp(ice->remote[q->remote].c.foundation, ice->remote[p->remote].c.foundation))
            q->state = P_WAITING;
    }
    if (p->nominating) {
        p->nominating = false;
        p->nominated = true; /* RFC 8445 §7.2.5.3.4 */
    }
    if (!ice->controlling && p->remote_nominated)
        p->nominated = true; /* §7.3.1.5 */
    if (!ice->controlling)
        return;
    /* Wait a little for better pairs, unless none can come any more: every pair that could
     * beat the best valid one has failed (the usual case facing a lite server). */
    uint64_t best = 0;
    for (unsigned i = 0; i < ice->pair_cnt; i++)
        if (ice->pairs[i].valid && ice->pairs[i].prio > best)
            best = ice->pairs[i].prio;
    bool better_possible = false;
    for (unsigned i = 0; i < ice->pair_cnt; i++) {
        const ice_pair_t *q = &ice->pairs[i];
        if (!q->valid && q->state != P_FAILED && q->prio > best)
            better_possible = true;
    }
    if (!better_possible)
        ice->nominate_at_ns = now_ns;
    else if (!ice->nominate_at_ns)
        ice->nominate_at_ns = now_ns + NOMINATE_WAIT_NS;
}

static void switch_role(rtc_ice_t *ice, bool controlling)
{
    if (ice->controlling == controlling)
        return;
    ice->controlling = controlling;
    ice->st.role_conflicts++;
    recompute_prios(ice);
    for (unsigned i = 0; i < ice->pair_cnt; i++)
        ice->pairs[i].nominating = false;
    ice->nominate_at_ns = 0;
    rtc_ice_event_t e = {.type = RTC_ICE_EV_ROLE, .controlling = controlling};
    push_event(ice, &e);
}

/* ---------------------------------------------------------------------------------------------
 * Public API
 */
rtc_ice_t *rtc_ice_create(const rtc_ice_cfg_t *cfg)
{
    rtc_ice_t *ice = calloc(1, sizeof *ice);
    if (!ice)
        return NULL;
    ice->cfg = *cfg;
    ice->cfg.ufrag = ice->cfg.pwd = NULL;
    if (!ice->cfg.ta_ns)
        ice->cfg.ta_ns = 50 * NET_NS_PER_MS; /* RFC 8445 §14.2 */
    if (!ice->cfg.consent_interval_ns)
        ice->cfg.consent_interval_ns = 5 * NET_NS_PER_SEC; /* RFC 7675 §5.1 */
    if (!ice->cfg.consent_expiry_ns)
        ice->cfg.consent_expiry_ns = 30 * NET_NS_PER_SEC; /* RFC 7675 §5.1 */
    if (!ice->cfg.disconnect_ns)
        ice->cfg.disconnect_ns = 10 * NET_NS_PER_SEC;
    ice->controlling =
        cfg->lite ? false : cfg->controlling; /* RFC 8445 §6.1.1: lite is controlled */
    if (rtc_ice_restart(ice, cfg->ufrag, cfg->pwd, 0) < 0) {
        free(ice);
        return NULL;
    }
    ice->prev_ufrag[0] = ice->prev_pwd[0] = 0;
    ice->restarting = false;
    ice->tie_breaker = cfg->tie_breaker;
    if (!ice->tie_breaker && rtc_random(&ice->tie_breaker, sizeof ice->tie_breaker) < 0) {
        free(ice);
        return NULL;
    }
    ice->rng = cfg->seed;
    if (!ice->rng && rtc_random(&ice->rng, sizeof ice->rng) < 0)
        ice->rng = 0x9E3779B97F4A7C15ull;
    if (!ice->rng)
        ice->rng = 1;
    ice->state = RTC_ICE_NEW;
    return ice;
}

void rtc_ice_destroy(rtc_ice_t *ice)
{
    free(ice);
}

const char *rtc_ice_local_ufrag(const rtc_ice_t *ice)
{
    return ice->ufrag;
}

const char *rtc_ice_local_pwd(const rtc_ice_t *ice)
{
    return ice->pwd;
}

bool rtc_ice_controlling(const rtc_ice_t *ice)
{
    return ice->controlling;
}

int rtc_ice_set_controlling(rtc_ice_t *ice, bool controlling)
{
    if (ice->cfg.lite)
        return controlling ? -EINVAL : 0;
    if (ice->controlling == controlling)
        return 0;
    if (ice->state != RTC_ICE_NEW || ice->checked_once || ice->st.responses_sent)
        return -EBUSY;
    ice->controlling = controlling;
    recompute_prios(ice);
    return 0;
}

rtc_ice_state_t rtc_ice_state(const rtc_ice_t *ice)
{
    return ice->state;
}

const rtc_ice_stats_t *rtc_ice_stats(const rtc_ice_t *ice)
{
    return &ice->st;
}

bool rtc_ice_poll(rtc_ice_t *ice, rtc_ice_event_t *ev)
{
    if (!ice->ev_cnt)
        return false;
    *ev = ice->ev[ice->ev_head];
    ice->ev_head = (ice->ev_head + 1) % MAX_EVENTS;
    ice->ev_cnt--;
    return true;
}

int rtc_ice_restart(rtc_ice_t *ice, const char *ufrag, const char *pwd, uint64_t now_ns)
{
    (void)now_ns;
    if ((ufrag && !creds_ok(ufrag, 4, RTC_ICE_UFRAG_MAX)) ||
        (pwd && !creds_ok(pwd, 22, RTC_ICE_PWD_MAX)))
        return -EINVAL;
    memcpy(ice->prev_ufrag, ice->ufrag, sizeof ice->ufrag);
    memcpy(ice->prev_pwd, ice->pwd, sizeof ice->pwd);
    if (ufrag)
        snprintf(ice->ufrag, sizeof ice->ufrag, "%s", ufrag);
    else
        random_str(ice->ufrag, 8);
    if (pwd)
        snprintf(ice->pwd, sizeof ice->pwd, "%s", pwd);
    else
        random_str(ice->pwd, 24);
    if (ice->media_valid)
        ice->restarting = true;
    return 0;
}

int rtc_ice_set_remote_creds(rtc_ice_t *ice, const char *ufrag, const char *pwd, uint64_t now_ns)
{
    if (!creds_ok(ufrag, 4, RTC_ICE_UFRAG_MAX) || !creds_ok(pwd, 22, RTC_ICE_PWD_MAX))
        return -EINVAL;
    if (ice->have_rcreds && !strcmp(ufrag, ice->rufrag) && !strcmp(pwd, ice->rpwd))
        return 0;
    if (ice->have_rcreds) {
        /* RFC 8445 §9: an ICE restart. Drop the remote candidates and the check list; keep
         * the media pair (and its credentials) until a new pair is selected. */
        ice->remote_cnt = 0;
        ice->pair_cnt = 0;
        ice->trig_cnt = ice->trig_head = 0;
        ice->remote_done = false;
        ice->nominate_at_ns = 0;
        ice->restarting = ice->media_valid;
        ice->media_nominated = false;
        if (ice->state == RTC_ICE_FAILED || ice->state == RTC_ICE_COMPLETED ||
            ice->state == RTC_ICE_CONNECTED || ice->state == RTC_ICE_DISCONNECTED)
            set_state(ice, RTC_ICE_CHECKING);
    }
    snprintf(ice->rufrag, sizeof ice->rufrag, "%s", ufrag);
    snprintf(ice->rpwd, sizeof ice->rpwd, "%s", pwd);
    ice->have_rcreds = true;
    (void)now_ns;
    return 0;
}

static int add_local(rtc_ice_t *ice, unsigned type, const net_addr_t *addr, const net_addr_t *base,
                     const net_addr_t *server, uint16_t local_pref, const net_addr_t *raddr)
{
    if (ice->local_cnt == MAX_LOCAL)
        return -ENOSPC;
    if (addr->sa.sa_family != AF_INET && addr->sa.sa_family != AF_INET6)
        return -EINVAL;
    for (unsigned i = 0; i < ice->local_cnt; i++)
        if (ice->local[i].c.type == type && net_addr_eq(&ice->local[i].c.addr, addr))
            return (int)i; /* RFC 8445 §5.1.3: redundant */
    ice_local_t *l = &ice->local[ice->local_cnt];
    memset(l, 0, sizeof *l);
    l->c.component = 1;
    l->c.transport = RTC_ICE_UDP;
    l->c.type = (uint8_t)type;
    l->c.addr = *addr;
    l->c.port = net_addr_port(addr);
    l->c.generation = -1;
    l->base = *base;
    l->c.priority = rtc_ice_priority(type, local_pref, 1);
    rtc_ice_foundation(type, base, server, RTC_ICE_UDP, l->c.foundation);
    if (type != RTC_ICE_HOST) {
        l->c.has_raddr = true;
        l->c.raddr = *base;
    }
    if (type == RTC_ICE_RELAY && raddr) {
        l->c.has_raddr = true;
        l->c.raddr = *raddr;
    }
    unsigned idx = ice->local_cnt++;
    if (!ice->cfg.relay_only || type == RTC_ICE_RELAY) {
        rtc_ice_event_t e = {.type = RTC_ICE_EV_LOCAL_CANDIDATE, .cand = l->c};
        push_event(ice, &e);
    }
    if (type != RTC_ICE_SRFLX)
        pair_up(ice, (int)idx, -1);
    return (int)idx;
}

static uint16_t next_local_pref(const rtc_ice_t *ice, const net_addr_t *addr)
{
    /* RFC 8445 §5.1.2.1: 65535 for a single address; IPv6 above IPv4 (RFC 8421), then in
     * order of addition. */
    uint16_t lp = (uint16_t)(60000 - 100 * ice->local_cnt);
    if (addr->sa.sa_family == AF_INET6)
        lp = (uint16_t)(lp + 5000);
    return lp;
}

int rtc_ice_add_host(rtc_ice_t *ice, const net_addr_t *addr, uint64_t now_ns)
{
    (void)now_ns;
    return add_local(ice, RTC_ICE_HOST, addr, addr, NULL, next_local_pref(ice, addr), NULL);
}

int rtc_ice_add_relay(rtc_ice_t *ice, const net_addr_t *base, const net_addr_t *relayed,
                      const net_addr_t *server, uint64_t now_ns)
{
    (void)now_ns;
    /* RFC 8445 §5.1.1.2: the base of a relayed candidate is the candidate itself; the
     * datagrams of its pairs carry it as `local` and the caller maps it to its TURN client.
     * raddr (RFC 8839 §5.1) is the socket the allocation was made from. */
    return add_local(ice, RTC_ICE_RELAY, relayed, relayed, server, next_local_pref(ice, relayed),
                     base);
}

int rtc_ice_add_stun_server(rtc_ice_t *ice, const net_addr_t *base, const net_addr_t *server,
                            uint64_t now_ns)
{
    if (ice->gather_cnt == MAX_GATHER)
        return -ENOSPC;
    ice_gather_t *g = &ice->gather[ice->gather_cnt++];
    memset(g, 0, sizeof *g);
    g->base = *base;
    g->server = *server;
    tx_start(ice, &g->tx, now_ns);
    g->tx.cnt = 0;
    g->tx.next_ns = now_ns; /* sent at the next tick */
    return 0;
}

static void maybe_eoc(rtc_ice_t *ice)
{
    if (!ice->gather_done_called || ice->eoc_sent)
        return;
    for (unsigned i = 0; i < ice->gather_cnt; i++)
        if (!ice->gather[i].done)
            return;
    ice->eoc_sent = true;
    rtc_ice_event_t e = {.type = RTC_ICE_EV_END_OF_CANDIDATES};
    push_event(ice, &e);
}

void rtc_ice_gather_done(rtc_ice_t *ice, uint64_t now_ns)
{
    (void)now_ns;
    ice->gather_done_called = true;
    maybe_eoc(ice);
}

int rtc_ice_add_remote(rtc_ice_t *ice, const rtc_ice_cand_t *c, uint64_t now_ns)
{
    (void)now_ns;
    if (!c->addr.len) {
        if (rtc_ice_cand_is_mdns(c))
            ice->st.mdns_ignored++; /* no resolver: counted and ignored */
        else
            ice->st.remote_ignored++;
        return 0;
    }
    if (c->transport != RTC_ICE_UDP || c->component != 1) {
        ice->st.remote_ignored++;
        return 0;
    }
    int ri = find_remote(ice, &c->addr);
    if (ri >= 0) {
        /* a prflx learnt earlier is now signalled: RFC 8445 §7.3.1.3 keeps the pair, takes
         * the signalled type and priority */
        ice->remote[ri].c = *c;
        recompute_prios(ice);
        return 0;
    }
    if (ice->remote_cnt == MAX_REMOTE)
        return -ENOSPC;
    ice->remote[ice->remote_cnt].c = *c;
    ri = (int)ice->remote_cnt++;
    pair_up(ice, -1, ri);
    if (ice->state == RTC_ICE_NEW && !ice->cfg.lite && ice->have_rcreds)
        set_state(ice, RTC_ICE_CHECKING);
    return 0;
}

void rtc_ice_remote_done(rtc_ice_t *ice, uint64_t now_ns)
{
    ice->remote_done = true;
    update_state(ice, now_ns);
}

void rtc_ice_close(rtc_ice_t *ice, uint64_t now_ns)
{
    (void)now_ns;
    set_state(ice, RTC_ICE_CLOSED);
    ice->media_valid = false;
}

int rtc_ice_selected(const rtc_ice_t *ice, net_addr_t *local, net_addr_t *remote, bool *relayed)
{
    if (!ice->media_valid || ice->state == RTC_ICE_FAILED || ice->state == RTC_ICE_CLOSED)
        return -ENOTCONN;
    if (local)
        *local = ice->media_local;
    if (remote)
        *remote = ice->media_remote;
    if (relayed)
        *relayed = ice->media_relayed;
    return 0;
}

uint64_t rtc_ice_rtt_ns(const rtc_ice_t *ice)
{
    return ice->media_valid ? ice->media_rtt_ns : 0;
}

/* ---------------------------------------------------------------------------------------------
 * Input
 */
static int handle_request(rtc_ice_t *ice, const rtc_stun_msg_t *m, const net_addr_t *src,
                          const net_addr_t *local, bool relayed, int li, uint64_t now_ns,
                          rtc_ice_out_t *out)
{
    ice->st.rx_requests++;
    if (m->method != RTC_STUN_BINDING) {
        send_response(ice, m, src, local, relayed, NULL, 400, out);
        return -EBADMSG;
    }
    /* RFC 8489 §9.1.3: no USERNAME or no MESSAGE-INTEGRITY -> 400 (no MI on the answer). */
    if (!(m->present & RTC_STUN_HAS_USERNAME) || !(m->present & RTC_STUN_HAS_MI)) {
        send_response(ice, m, src, local, relayed, NULL, 400, out);
        ice->st.rx_auth++;
        return -EACCES;
    }
    net_view_t uf;
    const char *pwd = NULL;
    if (rtc_stun_username_ufrag(m, &uf) == 0) {
        if (net_view_eq_str(uf, ice->ufrag))
            pwd = ice->pwd;
        else if (ice->prev_ufrag[0] && net_view_eq_str(uf, ice->prev_ufrag))
            pwd = ice->prev_pwd; /* checks signed with the pre-restart credentials */
    }
    if (!pwd || rtc_stun_check_integrity(m, pwd, strlen(pwd)) != 0) {
        /* §9.1.3: 401 without MESSAGE-INTEGRITY */
        send_response(ice, m, src, local, relayed, NULL, 401, out);
        ice->st.rx_auth++;
        return -EACCES;
    }
    bool old_gen = pwd == ice->prev_pwd;
    /* RFC 8489 §6.3.1: unknown comprehension-required attributes -> 420 */
    if (m->unknown_cnt) {
        rtc_ice_dgram_t *d = out_slot(ice, out);
        if (d) {
            int n = rtc_stun_build_420(m, d->data, sizeof d->data, pwd, strlen(pwd));
            if (n > 0) {
                d->len = (uint16_t)n;
                d->local = *local;
                d->dst = *src;
                d->relayed = relayed;
                out->cnt++;
                ice->st.errors_sent++;
            }
        }
        return 0;
    }
    /* RFC 8445 §7.3.1.1: role conflicts */
    if (!ice->cfg.lite) {
        if (ice->controlling && (m->present & RTC_STUN_HAS_CONTROLLING)) {
            if (ice->tie_breaker >= m->ice_controlling) {
                send_response(ice, m, src, local, relayed, pwd, 487, out);
                return 0;
            }
            switch_role(ice, false);
        } else if (!ice->controlling && (m->present & RTC_STUN_HAS_CONTROLLED)) {
            if (ice->tie_breaker >= m->ice_controlled) {
                switch_role(ice, true);
            } else {
                send_response(ice, m, src, local, relayed, pwd, 487, out);
                return 0;
            }
        }
    } else if (m->present & RTC_STUN_HAS_CONTROLLED) {
        /* a lite agent is always controlled; the peer must switch (RFC 8445 §7.3.1.1: lite
         * has no tie-breaker contest; answer 487 so the full peer takes control) */
        send_response(ice, m, src, local, relayed, pwd, 487, out);
        return 0;
    }
    send_response(ice, m, src, local, relayed, pwd, 0, out);

    if (old_gen) {
        /* consent check of the pre-restart generation on the media pair */
        if (ice->media_valid && net_addr_eq(src, &ice->media_remote))
            ice->consent_ok_ns = now_ns;
        return 0;
    }
    if (ice->state == RTC_ICE_CLOSED || ice->state == RTC_ICE_FAILED)
        return 0;

    /* RFC 8445 §7.3.1.3: learn a peer-reflexive remote candidate */
    int ri = find_remote(ice, src);
    if (ri < 0) {
        if (ice->remote_cnt == MAX_REMOTE)
            return 0;
        rtc_ice_cand_t *c = &ice->remote[ice->remote_cnt].c;
        memset(c, 0, sizeof *c);
        c->component = 1;
        c->transport = RTC_ICE_UDP;
        c->type = RTC_ICE_PRFLX;
        c->priority = m->priority;
        c->addr = *src;
        c->port = net_addr_port(src);
        c->generation = -1;
        /* an arbitrary foundation unique to this candidate (§7.3.1.3) */
        snprintf(c->foundation, sizeof c->foundation, "prflx%u", ice->remote_cnt);
        ri = (int)ice->remote_cnt++;
    }
    int pi = add_pair(ice, (unsigned)li, (unsigned)ri);
    if (pi < 0)
        return 0;
    ice_pair_t *p = &ice->pairs[pi];
    bool use_cand = (m->present & RTC_STUN_HAS_USE_CANDIDATE) && !ice->controlling;

    if (ice->cfg.lite) {
        /* RFC 8445 §7.3.1.5 (lite): a check with USE-CANDIDATE nominates the pair; checks on
         * the selected pair keep consent alive (RFC 7675 §4: lite agents rely on them). */
        if (ice->state == RTC_ICE_NEW)
            set_state(ice, RTC_ICE_CHECKING);
        if (use_cand) {
            p->state = P_SUCCEEDED;
            p->valid = true;
            p->nominated = true;
            /* a lite agent takes the most recent nomination */
            for (unsigned i = 0; i < ice->pair_cnt; i++)
                if (&ice->pairs[i] != p)
                    ice->pairs[i].nominated = false;
            set_media(ice, p, true, now_ns);
            set_state(ice, RTC_ICE_CONNECTED);
            set_state(ice, RTC_ICE_COMPLETED);
        }
        if (ice->media_valid && net_addr_eq(src, &ice->media_remote) &&
            net_addr_eq(local, &ice->media_local)) {
            ice->consent_ok_ns = now_ns;
            if (ice->state == RTC_ICE_DISCONNECTED) {
                ice->state = RTC_ICE_CONNECTED; /* set_state ignores same-state; force */
                set_state(ice, RTC_ICE_COMPLETED);
            }
        }
        return 0;
    }

    if (ice->state == RTC_ICE_NEW)
        set_state(ice, RTC_ICE_CHECKING);
    /* Consent: a request on the media pair is not consent (RFC 7675 §5.1 needs our own
     * check answered), but an authenticated request does show the peer is there. */
    if (use_cand) {
        if (p->state == P_SUCCEEDED)
            p->nominated = true;
        else
            p->remote_nominated = true;
    }
    /* §7.3.1.4: triggered checks */
    switch (p->state) {
    case P_SUCCEEDED:
        break;
    case P_INPROGRESS:
        /* RFC 8445 §7.3.1.4 lets the in-progress transaction continue; we keep it */
        break;
    default:
        p->state = P_WAITING;
        trig_push(ice, (unsigned)pi);
        break;
    }
    update_state(ice, now_ns);
    return 0;
}

static int handle_response(rtc_ice_t *ice, const rtc_stun_msg_t *m, const net_addr_t *src,
                           const net_addr_t *local, uint64_t now_ns, rtc_ice_out_t *out)
{
    ice->st.rx_responses++;
    /* server-reflexive gathering */
    for (unsigned i = 0; i < ice->gather_cnt; i++) {
        ice_gather_t *g = &ice->gather[i];
        if (g->tx.active && !memcmp(g->tx.txid, m->txid, RTC_STUN_TXID_LEN)) {
            g->tx.active = false;
            g->done = true;
            const net_addr_t *mapped = (m->present & RTC_STUN_HAS_XOR_MAPPED) ? &m->xor_mapped
                                       : (m->present & RTC_STUN_HAS_MAPPED)   ? &m->mapped
                                                                              : NULL;
            if (m->cls == RTC_STUN_SUCCESS && mapped && !net_addr_eq(mapped, &g->base) &&
                !ice->cfg.relay_only)
                (void)add_local(ice, RTC_ICE_SRFLX, mapped, &g->base, &g->server,
                                next_local_pref(ice, &g->base), NULL);
            maybe_eoc(ice);
            return 0;
        }
    }
    /* consent */
    bool consent = false;
    for (unsigned i = 0; i < CONSENT_TXIDS; i++)
        if (!memcmp(ice->consent_txids[i], m->txid, RTC_STUN_TXID_LEN))
            consent = true;
    if (consent && ice->media_valid) {
        if (rtc_stun_check_integrity(m, ice->media_rpwd, strlen(ice->media_rpwd)) != 0) {
            ice->st.rx_auth++;
            return -EACCES;
        }
        if (m->cls != RTC_STUN_SUCCESS || !net_addr_eq(src, &ice->media_remote))
            return 0;
        ice->consent_ok_ns = now_ns;
        ice->consent_tx.active = false;
        ice->st.consent_ok++;
        if (ice->state == RTC_ICE_DISCONNECTED) {
            ice->state = RTC_ICE_CHECKING; /* re-enter through update_state */
            set_state(ice, ice->media_nominated ? RTC_ICE_COMPLETED : RTC_ICE_CONNECTED);
        }
        return 0;
    }
    /* connectivity checks */
    for (unsigned pi = 0; pi < ice->pair_cnt; pi++) {
        ice_pair_t *p = &ice->pairs[pi];
        if (!p->tx.active || memcmp(p->tx.txid, m->txid, RTC_STUN_TXID_LEN))
            continue;
        /* RFC 8445 §7.2.5.1: authenticated with the remote password */
        if (rtc_stun_check_integrity(m, ice->rpwd, strlen(ice->rpwd)) != 0) {
            ice->st.rx_auth++;
            return -EACCES;
        }
        if (m->cls == RTC_STUN_ERROR) {
            if (m->error_code == 487) {
                /* §7.2.5.1: switch to the role opposite of the one in our request (not of the
                 * current one: a conflict may already have been resolved) and retry */
                switch_role(ice, !p->sent_controlling);
                p->tx.active = false;
                p->state = P_WAITING;
                p->nominating = false;
                trig_push(ice, pi);
            } else {
                pair_failed(ice, p, now_ns);
            }
            update_state(ice, now_ns);
            return 0;
        }
        /* §7.2.5.2.1: non-symmetric addresses fail the check */
        if (!net_addr_eq(src, &ice->remote[p->remote].c.addr) ||
            !net_addr_eq(local, &ice->local[p->local].base)) {
            pair_failed(ice, p, now_ns);
            update_state(ice, now_ns);
            return 0;
        }
        /* The valid pair is the checked pair: its base is what we send from. A mapped address
         * that differs from the local candidate would be a local prflx (§7.2.5.3.1); it is
         * not signalled, and sending still uses the base, so it is not tracked separately. */
        pair_succeeded(ice, pi, now_ns);
        update_state(ice, now_ns);
        maybe_nominate(ice, now_ns, out);
        return 0;
    }
    ice->st.rx_unmatched++;
    return -ENOENT;
}

int rtc_ice_input(rtc_ice_t *ice, const uint8_t *b, size_t len, const net_addr_t *src,
                  const net_addr_t *local, uint64_t now_ns, rtc_ice_out_t *out)
{
    if (ice->state == RTC_ICE_CLOSED)
        return 0;
    rtc_stun_msg_t m;
    if (rtc_stun_parse(b, len, &m) != (int)len) {
        ice->st.rx_bad++;
        return -EBADMSG;
    }
    /* RFC 8445 §7.2.2 / §7.3: checks carry FINGERPRINT; when present it must be right */
    if ((m.present & RTC_STUN_HAS_FINGERPRINT) && rtc_stun_check_fingerprint(&m) != 0) {
        ice->st.rx_bad++;
        return -EBADMSG;
    }
    if (m.cls == RTC_STUN_INDICATION)
        return 0; /* keepalives (RFC 8445 §11) */
    if (m.cls == RTC_STUN_SUCCESS || m.cls == RTC_STUN_ERROR) {
        int r = handle_response(ice, &m, src, local, now_ns, out);
        if (r == -ENOENT || r == -EACCES)
            return r;
        return 0;
    }
    int li = find_local_by_base(ice, local);
    if (li < 0 || (ice->cfg.relay_only && !is_relay_local(ice, (unsigned)li))) {
        /* not ours, or a host socket under the relay-only policy */
        ice->st.rx_unmatched++;
        return -EADDRNOTAVAIL;
    }
    return handle_request(ice, &m, src, local, is_relay_local(ice, (unsigned)li), li, now_ns, out);
}

/* ---------------------------------------------------------------------------------------------
 * Timers
 */
static int next_ordinary(rtc_ice_t *ice)
{
    /* RFC 8445 §6.1.4.2: highest-priority Waiting pair; else unfreeze one Frozen pair per
     * foundation with nothing Waiting/In-Progress. */
    for (int round = 0; round < 2; round++) {
        int best = -1;
        for (unsigned i = 0; i < ice->pair_cnt; i++) {
            ice_pair_t *p = &ice->pairs[i];
            if (p->state == P_WAITING && (best < 0 || p->prio > ice->pairs[best].prio))
                best = (int)i;
        }
        if (best >= 0 || round == 1)
            return best;
        bool any = false;
        for (unsigned i = 0; i < ice->pair_cnt; i++) {
            ice_pair_t *p = &ice->pairs[i];
            if (p->state == P_FROZEN && !foundation_active(ice, p)) {
                p->state = P_WAITING;
                any = true;
            }
        }
        if (!any)
            return -1;
    }
    return -1;
}

static uint64_t consent_interval(rtc_ice_t *ice)
{
    /* RFC 7675 §5.1: randomised 0.8..1.2 of the interval */
    uint64_t base = ice->cfg.consent_interval_ns;
    return base * 8 / 10 + rng_next(ice) % (base * 4 / 10 + 1);
}

void rtc_ice_tick(rtc_ice_t *ice, uint64_t now_ns, rtc_ice_out_t *out)
{
    if (ice->state == RTC_ICE_CLOSED)
        return;
    /* STUN-server gathering */
    for (unsigned i = 0; i < ice->gather_cnt; i++) {
        ice_gather_t *g = &ice->gather[i];
        if (!g->tx.active || now_ns < g->tx.next_ns)
            continue;
        if (g->tx.cnt == 0) {
            g->tx.cnt = 1;
            g->tx.next_ns = now_ns + g->tx.rto_ns;
            send_gather(ice, g, out);
        } else if (tx_retransmit(&g->tx, now_ns)) {
            send_gather(ice, g, out);
        } else {
            g->done = true; /* no srflx from this server */
            maybe_eoc(ice);
        }
    }
    if (ice->state == RTC_ICE_FAILED)
        return;

    bool can_check = !ice->cfg.lite && ice->have_rcreds;
    if (can_check) {
        /* retransmissions and timeouts of in-progress checks */
        for (unsigned i = 0; i < ice->pair_cnt; i++) {
            ice_pair_t *p = &ice->pairs[i];
            if (!p->tx.active || now_ns < p->tx.next_ns)
                continue;
            if (tx_retransmit(&p->tx, now_ns)) {
                send_pair_check(ice, p, out);
                ice->st.retransmits++;
            } else {
                pair_failed(ice, p, now_ns);
            }
        }
        maybe_nominate(ice, now_ns, out);
        /* one new check per Ta (RFC 8445 §6.1.4.2): triggered first */
        if (!ice->checked_once || now_ns >= ice->last_check_ns + ice->cfg.ta_ns) {
            int pi = trig_pop(ice);
            if (pi < 0)
                pi = next_ordinary(ice);
            if (pi >= 0) {
                if (ice->state == RTC_ICE_NEW)
                    set_state(ice, RTC_ICE_CHECKING);
                start_pair_check(ice, (unsigned)pi, now_ns, out);
            }
        }
    }

    /* consent freshness (RFC 7675) on the media pair */
    if (ice->media_valid && ice->state != RTC_ICE_FAILED) {
        uint64_t silent = now_ns - ice->consent_ok_ns;
        if (ice->restarting && silent >= ice->cfg.consent_expiry_ns) {
            /* The old pair lost consent during a restart (both agents answer checks signed
             * with the previous credentials, so this means the path died): stop sending on it;
             * the new check list goes on. */
            ice->media_valid = false;
        } else if (silent >= ice->cfg.consent_expiry_ns) {
            /* §5.1: consent expired: stop sending, ICE fails */
            ice->media_valid = false;
            set_state(ice, RTC_ICE_FAILED);
            return;
        } else if (silent >= ice->cfg.disconnect_ns &&
                   (ice->state == RTC_ICE_CONNECTED || ice->state == RTC_ICE_COMPLETED)) {
            set_state(ice, RTC_ICE_DISCONNECTED);
        }
        /* Consent checks go on during a restart, with the media pair's credentials. */
        if (ice->media_valid && !ice->cfg.lite) {
            int li = find_local_by_base(ice, &ice->media_local);
            if (li >= 0) {
                if (!ice->consent_next_ns)
                    ice->consent_next_ns = now_ns + consent_interval(ice);
                ice_tx_t *tx = &ice->consent_tx;
                bool send = false;
                if (now_ns >= ice->consent_next_ns) {
                    tx_start(ice, tx, now_ns);
                    memcpy(ice->consent_txids[ice->consent_txid_pos], tx->txid, RTC_STUN_TXID_LEN);
                    ice->consent_txid_pos = (ice->consent_txid_pos + 1) % CONSENT_TXIDS;
                    ice->consent_next_ns = now_ns + consent_interval(ice);
                    send = true;
                } else if (tx->active && now_ns >= tx->next_ns) {
                    /* retransmit within the interval; the next check replaces it */
                    send = tx_retransmit(tx, now_ns) && tx->next_ns < ice->consent_next_ns;
                    if (!send)
                        tx->active = false;
                }
                if (send) {
                    send_check(ice, (unsigned)li, &ice->media_remote, tx->txid, false,
                               ice->media_rufrag, ice->media_rpwd, ice->media_ufrag, out);
                    ice->st.consent_sent++;
                }
            }
        }
    }
    update_state(ice, now_ns);
}

static void min_dl(uint64_t *dl, uint64_t t)
{
    if (t < *dl)
        *dl = t;
}

uint64_t rtc_ice_deadline(const rtc_ice_t *ice)
{
    uint64_t dl = UINT64_MAX;
    if (ice->state == RTC_ICE_CLOSED)
        return dl;
    for (unsigned i = 0; i < ice->gather_cnt; i++)
        if (ice->gather[i].tx.active)
            min_dl(&dl, ice->gather[i].tx.next_ns);
    if (ice->state == RTC_ICE_FAILED)
        return dl;
    if (!ice->cfg.lite && ice->have_rcreds) {
        for (unsigned i = 0; i < ice->pair_cnt; i++)
            if (ice->pairs[i].tx.active)
                min_dl(&dl, ice->pairs[i].tx.next_ns);
        if (ice->nominate_at_ns)
            min_dl(&dl, ice->nominate_at_ns);
        bool work = ice->trig_cnt > 0;
        for (unsigned i = 0; !work && i < ice->pair_cnt; i++)
            work = ice->pairs[i].state == P_WAITING || ice->pairs[i].state == P_FROZEN;
        if (work)
            min_dl(&dl, ice->checked_once ? ice->last_check_ns + ice->cfg.ta_ns : 0);
    }
    if (ice->media_valid) {
        if (!ice->cfg.lite) {
            min_dl(&dl, ice->consent_next_ns); /* 0 = not yet scheduled: tick now */
            if (ice->consent_tx.active)
                min_dl(&dl, ice->consent_tx.next_ns);
        }
        if (ice->state == RTC_ICE_CONNECTED || ice->state == RTC_ICE_COMPLETED)
            min_dl(&dl, ice->consent_ok_ns + ice->cfg.disconnect_ns);
        min_dl(&dl, ice->consent_ok_ns + ice->cfg.consent_expiry_ns);
    }
    return dl;
}
