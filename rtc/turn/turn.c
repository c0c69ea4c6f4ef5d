/* rtc/turn/turn.c: sans-IO TURN client over UDP (RFC 8656).
 *
 * RFC 8656 §12.4, ChannelData:
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |         Channel Number        |            Length             |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    /                       Application Data                        /
 */
#include "rtc/turn/turn.h"

#include "rtc/crypto/crypto.h"
#include "rtc/stun/stun.h"

#include <stdio.h>
#include <stdlib.h>

#define MAX_PEERS 16
#define CHANNEL_MIN 0x4000 /* RFC 8656 §12: 0x4000..0x4FFF */
#define CHANNEL_MAX 0x4FFF
#define RTO_INIT_NS (500 * NET_NS_PER_MS) /* RFC 8489 §6.2.1 */
#define RTO_MAX_NS (3200 * NET_NS_PER_MS)
#define TX_MAX 7
/* RFC 8656 §9: permissions last 300 s; §12: channels 600 s. Refresh a minute early. */
#define PERM_REFRESH_NS (240 * NET_NS_PER_SEC)
#define CHAN_REFRESH_NS (540 * NET_NS_PER_SEC)
#define MAX_AUTH_RETRIES 3

enum tx_kind { TX_ALLOCATE, TX_REFRESH, TX_PERMISSION, TX_CHANNEL };

typedef struct turn_tx {
    uint8_t txid[RTC_STUN_TXID_LEN];
    uint64_t next_ns, rto_ns;
    uint8_t cnt;
    bool active;
    uint8_t kind;
    uint8_t peer;
    uint32_t lifetime_s; /* Refresh: the LIFETIME it carries */
} turn_tx_t;

typedef struct turn_peer {
    net_addr_t addr;
    uint16_t channel;
    bool perm_ok, chan_ok;
    uint64_t perm_due_ns, chan_due_ns; /* next (re)request */
    turn_tx_t perm_tx, chan_tx;
} turn_peer_t;

struct rtc_turn {
    net_addr_t server;
    char user[256], pass[256], software[128];
    uint32_t lifetime_req_s;
    rtc_turn_state_t state;
    char realm[764], nonce[764];
    uint8_t key[16];
    bool have_key;
    unsigned auth_retries;
    uint16_t error;
    net_addr_t relayed, mapped;
    uint32_t lifetime_s;
    uint64_t refresh_due_ns;
    turn_tx_t alloc_tx; /* Allocate or Refresh */
    turn_peer_t peers[MAX_PEERS];
    unsigned peer_cnt;
    rtc_turn_stats_t st;
};

rtc_turn_t *rtc_turn_create(const rtc_turn_cfg_t *cfg)
{
    if (!cfg->user || !cfg->pass || strlen(cfg->user) >= 256 || strlen(cfg->pass) >= 256)
        return NULL;
    rtc_turn_t *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->server = cfg->server;
    snprintf(t->user, sizeof t->user, "%s", cfg->user);
    snprintf(t->pass, sizeof t->pass, "%s", cfg->pass);
    if (cfg->software)
        snprintf(t->software, sizeof t->software, "%s", cfg->software);
    t->lifetime_req_s = cfg->lifetime_s;
    return t;
}

void rtc_turn_destroy(rtc_turn_t *t)
{
    free(t);
}

rtc_turn_state_t rtc_turn_state(const rtc_turn_t *t)
{
    return t->state;
}

uint16_t rtc_turn_error(const rtc_turn_t *t)
{
    return t->error;
}

const rtc_turn_stats_t *rtc_turn_stats(const rtc_turn_t *t)
{
    return &t->st;
}

int rtc_turn_relayed(const rtc_turn_t *t, net_addr_t *relayed, net_addr_t *mapped)
{
    if (t->state != RTC_TURN_ALLOCATED)
        return t->state == RTC_TURN_FAILED || t->state == RTC_TURN_CLOSED ? -ENOTCONN : -EAGAIN;
    if (relayed)
        *relayed = t->relayed;
    if (mapped)
        *mapped = t->mapped;
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Requests
 */
static void tx_begin(turn_tx_t *tx, uint8_t kind, uint8_t peer, uint64_t now_ns)
{
    if (rtc_random(tx->txid, sizeof tx->txid) < 0)
        for (unsigned i = 0; i < sizeof tx->txid; i++)
            tx->txid[i] = (uint8_t)(now_ns >> (i % 8 * 8)) ^ (uint8_t)i;
    tx->kind = kind;
    tx->peer = peer;
    tx->cnt = 1;
    tx->rto_ns = RTO_INIT_NS;
    tx->next_ns = now_ns + tx->rto_ns;
    tx->active = true;
}

/* Builds and queues the request of @tx (again, for a retransmission: same bytes). */
static void send_tx(rtc_turn_t *t, const turn_tx_t *tx, rtc_turn_out_t *out)
{
    if (!out || out->cnt >= out->cap) {
        t->st.tx_dropped++;
        return;
    }
    rtc_turn_msg_t *m = &out->msg[out->cnt];
    static const uint16_t methods[] = {RTC_STUN_ALLOCATE, RTC_STUN_REFRESH,
                                       RTC_STUN_CREATE_PERMISSION, RTC_STUN_CHANNEL_BIND};
    rtc_stun_wr_t w;
    rtc_stun_wr_init(&w, m->data, sizeof m->data, methods[tx->kind], RTC_STUN_REQUEST, tx->txid);
    switch (tx->kind) {
    case TX_ALLOCATE:
        rtc_stun_wr_transport(&w, 17); /* RFC 8656 §7.1: UDP */
        if (t->lifetime_req_s)
            rtc_stun_wr_u32(&w, RTC_STUN_A_LIFETIME, t->lifetime_req_s);
        break;
    case TX_REFRESH:
        rtc_stun_wr_u32(&w, RTC_STUN_A_LIFETIME, tx->lifetime_s);
        break;
    case TX_PERMISSION:
        rtc_stun_wr_xor_addr(&w, RTC_STUN_A_XOR_PEER_ADDRESS, &t->peers[tx->peer].addr);
        break;
    case TX_CHANNEL:
        rtc_stun_wr_channel(&w, t->peers[tx->peer].channel);
        rtc_stun_wr_xor_addr(&w, RTC_STUN_A_XOR_PEER_ADDRESS, &t->peers[tx->peer].addr);
        break;
    }
    if (t->software[0])
        rtc_stun_wr_str(&w, RTC_STUN_A_SOFTWARE, t->software);
    if (t->have_key) {
        /* RFC 8489 §9.2.4: USERNAME, REALM, NONCE, MESSAGE-INTEGRITY */
        rtc_stun_wr_str(&w, RTC_STUN_A_USERNAME, t->user);
        rtc_stun_wr_str(&w, RTC_STUN_A_REALM, t->realm);
        rtc_stun_wr_str(&w, RTC_STUN_A_NONCE, t->nonce);
        rtc_stun_wr_integrity(&w, t->key, sizeof t->key);
    }
    rtc_stun_wr_fingerprint(&w);
    int n = rtc_stun_wr_finish(&w);
    if (n < 0) {
        t->st.tx_dropped++;
        return;
    }
    m->len = (uint16_t)n;
    out->cnt++;
}

static void start_tx(rtc_turn_t *t, turn_tx_t *tx, uint8_t kind, uint8_t peer, uint64_t now_ns,
                     rtc_turn_out_t *out)
{
    tx_begin(tx, kind, peer, now_ns);
    send_tx(t, tx, out);
}

int rtc_turn_start(rtc_turn_t *t, uint64_t now_ns, rtc_turn_out_t *out)
{
    if (t->state != RTC_TURN_IDLE)
        return -EALREADY;
    t->state = RTC_TURN_ALLOCATING;
    /* RFC 8656 §7.1: the first Allocate goes without credentials; the 401 brings realm and
     * nonce. */
    start_tx(t, &t->alloc_tx, TX_ALLOCATE, 0, now_ns, out);
    return 0;
}

void rtc_turn_close(rtc_turn_t *t, uint64_t now_ns, rtc_turn_out_t *out)
{
    if (t->state == RTC_TURN_ALLOCATED) {
        t->alloc_tx.lifetime_s = 0;
        start_tx(t, &t->alloc_tx, TX_REFRESH, 0, now_ns, out);
        t->alloc_tx.active = false; /* fire and forget */
    }
    t->state = RTC_TURN_CLOSED;
    for (unsigned i = 0; i < t->peer_cnt; i++)
        t->peers[i].perm_tx.active = t->peers[i].chan_tx.active = false;
}

static int find_peer(const rtc_turn_t *t, const net_addr_t *a)
{
    for (unsigned i = 0; i < t->peer_cnt; i++)
        if (net_addr_eq(&t->peers[i].addr, a))
            return (int)i;
    return -1;
}

int rtc_turn_permit(rtc_turn_t *t, const net_addr_t *peer, uint64_t now_ns, rtc_turn_out_t *out)
{
    if (t->state != RTC_TURN_ALLOCATED && t->state != RTC_TURN_ALLOCATING &&
        t->state != RTC_TURN_IDLE)
        return -ENOTCONN;
    if (find_peer(t, peer) >= 0)
        return 0;
    if (t->peer_cnt == MAX_PEERS)
        return -ENOSPC;
    unsigned i = t->peer_cnt++;
    turn_peer_t *p = &t->peers[i];
    memset(p, 0, sizeof *p);
    p->addr = *peer;
    p->channel = (uint16_t)(CHANNEL_MIN + i);
    t->st.permissions++;
    if (t->state != RTC_TURN_ALLOCATED) {
        /* requested once the allocation exists (rtc_turn_tick) */
        p->perm_due_ns = p->chan_due_ns = 0;
        return 0;
    }
    /* A ChannelBind installs the permission too (RFC 8656 §12.2), but the channel is only
     * usable after its answer; ask for the permission on its own so that Send indications work
     * meanwhile. */
    start_tx(t, &p->perm_tx, TX_PERMISSION, (uint8_t)i, now_ns, out);
    start_tx(t, &p->chan_tx, TX_CHANNEL, (uint8_t)i, now_ns, out);
    p->perm_due_ns = p->chan_due_ns = UINT64_MAX;
    return 0;
}

int rtc_turn_send(rtc_turn_t *t, const net_addr_t *peer, const uint8_t *data, size_t len,
                  uint8_t *buf, size_t cap, uint64_t now_ns, rtc_turn_out_t *out)
{
    if (t->state != RTC_TURN_ALLOCATED)
        return -ENOTCONN;
    int pi = find_peer(t, peer);
    if (pi < 0) {
        int r = rtc_turn_permit(t, peer, now_ns, out);
        if (r < 0)
            return r;
        pi = find_peer(t, peer);
    }
    turn_peer_t *p = &t->peers[pi];
    if (p->chan_ok) {
        /* RFC 8656 §12.5: over UDP the padding is not needed */
        if (len > 0xFFFF || 4 + len > cap)
            return -ENOSPC;
        net_wr16be(buf, p->channel);
        net_wr16be(buf + 2, (uint16_t)len);
        memmove(buf + 4, data, len);
        t->st.data_out++;
        return (int)(4 + len);
    }
    /* RFC 8656 §11.1: Send indication with XOR-PEER-ADDRESS and DATA, no authentication */
    uint8_t txid[RTC_STUN_TXID_LEN];
    if (rtc_random(txid, sizeof txid) < 0)
        memset(txid, 0x42, sizeof txid);
    if (data >= buf && data < buf + cap)
        return -EINVAL; /* the indication would overwrite its input */
    rtc_stun_wr_t w;
    rtc_stun_wr_init(&w, buf, cap, RTC_STUN_SEND, RTC_STUN_INDICATION, txid);
    rtc_stun_wr_xor_addr(&w, RTC_STUN_A_XOR_PEER_ADDRESS, peer);
    rtc_stun_wr_attr(&w, RTC_STUN_A_DATA, data, len);
    int n = rtc_stun_wr_finish(&w);
    if (n > 0)
        t->st.data_out++;
    return n;
}

int rtc_turn_wrap_pkt(rtc_turn_t *t, const net_addr_t *peer, net_pkt_t *pkt, uint64_t now_ns,
                      rtc_turn_out_t *out)
{
    if (t->state != RTC_TURN_ALLOCATED)
        return -ENOTCONN;
    int pi = find_peer(t, peer);
    if (pi < 0) {
        int r = rtc_turn_permit(t, peer, now_ns, out);
        if (r < 0)
            return r;
        pi = find_peer(t, peer);
    }
    const turn_peer_t *p = &t->peers[pi];
    uint32_t len = pkt->len;
    if (p->chan_ok) {
        uint8_t *h = net_pkt_headroom(pkt) >= 4 ? net_pkt_push(pkt, 4) : NULL;
        if (!h || len > 0xFFFF)
            return -ENOSPC;
        net_wr16be(h, p->channel);
        net_wr16be(h + 2, (uint16_t)len);
    } else {
        /* Send indication: header, XOR-PEER-ADDRESS, DATA header; payload; padding */
        bool v6 = peer->sa.sa_family == AF_INET6;
        uint32_t addr_len = v6 ? 20 : 8, front = RTC_STUN_HDR_LEN + 4 + addr_len + 4;
        uint32_t pad = (4 - (len & 3)) & 3;
        if (net_pkt_headroom(pkt) < front || net_pkt_tailroom(pkt) < pad ||
            front + len + pad - RTC_STUN_HDR_LEN > 0xFFFF)
            return -ENOSPC;
        uint8_t *tail = pad ? net_pkt_put(pkt, pad) : NULL;
        if (pad)
            memset(tail, 0, pad);
        uint8_t *h = net_pkt_push(pkt, front);
        uint8_t txid[RTC_STUN_TXID_LEN];
        if (rtc_random(txid, sizeof txid) < 0)
            memset(txid, 0x42, sizeof txid);
        rtc_stun_wr_t w;
        rtc_stun_wr_init(&w, h, front - 4, RTC_STUN_SEND, RTC_STUN_INDICATION, txid);
        rtc_stun_wr_xor_addr(&w, RTC_STUN_A_XOR_PEER_ADDRESS, peer);
        if (rtc_stun_wr_finish(&w) != (int)(front - 4))
            return -EINVAL;
        net_wr16be(h + front - 4, RTC_STUN_A_DATA);
        net_wr16be(h + front - 2, (uint16_t)len);
        net_wr16be(h + 2, (uint16_t)(front + len + pad - RTC_STUN_HDR_LEN));
    }
    pkt->addr = t->server;
    t->st.data_out++;
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Input
 */
static void failed(rtc_turn_t *t, uint16_t code)
{
    t->error = code;
    if (t->state == RTC_TURN_ALLOCATING || t->state == RTC_TURN_ALLOCATED)
        t->state = RTC_TURN_FAILED;
    t->alloc_tx.active = false;
    for (unsigned i = 0; i < t->peer_cnt; i++)
        t->peers[i].perm_tx.active = t->peers[i].chan_tx.active = false;
}

static bool view_to_str(net_view_t v, char *out, size_t cap)
{
    if (v.len >= cap)
        return false;
    memcpy(out, v.p, v.len);
    out[v.len] = 0;
    return true;
}

static int handle_response(rtc_turn_t *t, turn_tx_t *tx, const rtc_stun_msg_t *m, uint64_t now_ns,
                           rtc_turn_out_t *out)
{
    /* Authenticated responses carry MESSAGE-INTEGRITY with our key (RFC 8489 §9.2.5); 401 and
     * 438 do not. */
    if (t->have_key && (m->present & RTC_STUN_HAS_MI) &&
        rtc_stun_check_integrity(m, t->key, sizeof t->key) != 0) {
        t->st.rx_auth++;
        return -EACCES;
    }
    if (m->cls == RTC_STUN_ERROR) {
        uint16_t code = m->error_code;
        bool retry = false;
        if ((code == 401 || code == 438) && (m->present & RTC_STUN_HAS_NONCE) &&
            t->auth_retries < MAX_AUTH_RETRIES) {
            /* RFC 8489 §9.2.5: 401 with REALM+NONCE the first time (or after a realm change):
             * compute the key and retry; 438: take the new NONCE and retry. A 401 when the key
             * was already right means bad credentials. */
            char realm[sizeof t->realm];
            bool have_realm =
                (m->present & RTC_STUN_HAS_REALM) && view_to_str(m->realm, realm, sizeof realm);
            if (code == 401 && have_realm && (!t->have_key || strcmp(realm, t->realm))) {
                snprintf(t->realm, sizeof t->realm, "%s", realm);
                retry = rtc_stun_lt_key(t->user, m->realm, t->pass, t->key) == 0;
                t->have_key = retry;
            } else if (code == 438 && t->have_key) {
                retry = true;
                t->st.stale_nonce++;
            }
            if (retry && !view_to_str(m->nonce, t->nonce, sizeof t->nonce))
                retry = false;
        }
        if (retry) {
            t->auth_retries++;
            start_tx(t, tx, tx->kind, tx->peer, now_ns, out);
            return 0;
        }
        tx->active = false;
        if (tx->kind == TX_ALLOCATE || tx->kind == TX_REFRESH) {
            failed(t, code);
        } else {
            /* a failed permission/channel: retry later (the allocation is still fine) */
            t->error = code;
            turn_peer_t *p = &t->peers[tx->peer];
            if (tx->kind == TX_PERMISSION)
                p->perm_due_ns = now_ns + 5 * NET_NS_PER_SEC;
            else
                p->chan_due_ns = now_ns + 5 * NET_NS_PER_SEC;
        }
        return 0;
    }
    t->auth_retries = 0;
    tx->active = false;
    switch (tx->kind) {
    case TX_ALLOCATE:
        if (!(m->present & RTC_STUN_HAS_XOR_RELAYED)) {
            failed(t, 500);
            return -EBADMSG;
        }
        t->relayed = m->xor_relayed;
        if (m->present & RTC_STUN_HAS_XOR_MAPPED)
            t->mapped = m->xor_mapped;
        /* fall through */
    case TX_REFRESH:
        t->lifetime_s = (m->present & RTC_STUN_HAS_LIFETIME) ? m->lifetime_s : 600;
        if (t->lifetime_s < 60)
            t->lifetime_s = 60;
        /* RFC 8656 §8: refresh before expiry; one minute early (at least half-way). */
        {
            uint64_t life = (uint64_t)t->lifetime_s * NET_NS_PER_SEC;
            uint64_t early = 60 * NET_NS_PER_SEC < life / 2 ? 60 * NET_NS_PER_SEC : life / 2;
            t->refresh_due_ns = now_ns + life - early;
        }
        if (tx->kind == TX_REFRESH)
            t->st.refreshes++;
        if (t->state == RTC_TURN_ALLOCATING)
            t->state = RTC_TURN_ALLOCATED;
        break;
    case TX_PERMISSION:
        t->peers[tx->peer].perm_ok = true;
        t->peers[tx->peer].perm_due_ns = now_ns + PERM_REFRESH_NS;
        break;
    case TX_CHANNEL:
        t->peers[tx->peer].chan_ok = true;
        t->peers[tx->peer].chan_due_ns = now_ns + CHAN_REFRESH_NS;
        t->st.channels++;
        /* the binding refreshes the permission too (§12.2) */
        t->peers[tx->peer].perm_ok = true;
        break;
    }
    return 0;
}

int rtc_turn_input(rtc_turn_t *t, const uint8_t *b, size_t len, uint64_t now_ns,
                   rtc_turn_out_t *out, net_addr_t *peer, net_view_t *payload)
{
    if (rtc_turn_is_channel_data(b, len)) {
        uint16_t ch = net_rd16be(b), dlen = net_rd16be(b + 2);
        if ((size_t)4 + dlen > len) {
            t->st.rx_bad++;
            return -EBADMSG;
        }
        for (unsigned i = 0; i < t->peer_cnt; i++)
            if (t->peers[i].channel == ch && t->peers[i].chan_ok) {
                *peer = t->peers[i].addr;
                *payload = (net_view_t){b + 4, dlen};
                t->st.data_in++;
                return 1;
            }
        t->st.rx_unmatched++;
        return -ENOENT;
    }
    rtc_stun_msg_t m;
    if (rtc_stun_parse(b, len, &m) < 0 ||
        ((m.present & RTC_STUN_HAS_FINGERPRINT) && rtc_stun_check_fingerprint(&m) != 0)) {
        t->st.rx_bad++;
        return -EBADMSG;
    }
    if (m.cls == RTC_STUN_INDICATION) {
        /* RFC 8656 §11.4: Data indication with XOR-PEER-ADDRESS and DATA */
        if (m.method != RTC_STUN_DATA || !(m.present & RTC_STUN_HAS_XOR_PEER) ||
            !(m.present & RTC_STUN_HAS_DATA)) {
            t->st.rx_bad++;
            return -EBADMSG;
        }
        *peer = m.xor_peer;
        *payload = m.data;
        t->st.data_in++;
        return 1;
    }
    if (m.cls == RTC_STUN_REQUEST) {
        t->st.rx_bad++;
        return -EBADMSG; /* servers send no requests */
    }
    turn_tx_t *tx = NULL;
    if (t->alloc_tx.active && !memcmp(t->alloc_tx.txid, m.txid, RTC_STUN_TXID_LEN))
        tx = &t->alloc_tx;
    for (unsigned i = 0; !tx && i < t->peer_cnt; i++) {
        turn_peer_t *p = &t->peers[i];
        if (p->perm_tx.active && !memcmp(p->perm_tx.txid, m.txid, RTC_STUN_TXID_LEN))
            tx = &p->perm_tx;
        else if (p->chan_tx.active && !memcmp(p->chan_tx.txid, m.txid, RTC_STUN_TXID_LEN))
            tx = &p->chan_tx;
    }
    if (!tx) {
        t->st.rx_unmatched++;
        return -ENOENT;
    }
    return handle_response(t, tx, &m, now_ns, out);
}

/* ---------------------------------------------------------------------------------------------
 * Timers
 */
static void tx_timer(rtc_turn_t *t, turn_tx_t *tx, uint64_t now_ns, rtc_turn_out_t *out)
{
    if (!tx->active || now_ns < tx->next_ns)
        return;
    if (tx->cnt >= TX_MAX) {
        tx->active = false;
        if (tx->kind == TX_ALLOCATE || tx->kind == TX_REFRESH)
            failed(t, 0); /* RFC 8489 §6.2.1: transaction timed out */
        else if (tx->kind == TX_PERMISSION)
            t->peers[tx->peer].perm_due_ns = now_ns + 5 * NET_NS_PER_SEC;
        else
            t->peers[tx->peer].chan_due_ns = now_ns + 5 * NET_NS_PER_SEC;
        return;
    }
    tx->cnt++;
    tx->rto_ns = tx->rto_ns * 2 > RTO_MAX_NS ? RTO_MAX_NS : tx->rto_ns * 2;
    tx->next_ns = now_ns + tx->rto_ns;
    t->st.retransmits++;
    send_tx(t, tx, out);
}

void rtc_turn_tick(rtc_turn_t *t, uint64_t now_ns, rtc_turn_out_t *out)
{
    if (t->state == RTC_TURN_FAILED || t->state == RTC_TURN_CLOSED || t->state == RTC_TURN_IDLE)
        return;
    tx_timer(t, &t->alloc_tx, now_ns, out);
    if (t->state != RTC_TURN_ALLOCATED)
        return;
    if (!t->alloc_tx.active && now_ns >= t->refresh_due_ns) {
        t->alloc_tx.lifetime_s = t->lifetime_req_s ? t->lifetime_req_s : 600;
        start_tx(t, &t->alloc_tx, TX_REFRESH, 0, now_ns, out);
    }
    for (unsigned i = 0; i < t->peer_cnt; i++) {
        turn_peer_t *p = &t->peers[i];
        tx_timer(t, &p->perm_tx, now_ns, out);
        tx_timer(t, &p->chan_tx, now_ns, out);
        if (!p->perm_tx.active && now_ns >= p->perm_due_ns)
            start_tx(t, &p->perm_tx, TX_PERMISSION, (uint8_t)i, now_ns, out);
        if (!p->chan_tx.active && now_ns >= p->chan_due_ns)
            start_tx(t, &p->chan_tx, TX_CHANNEL, (uint8_t)i, now_ns, out);
        if (p->perm_tx.active)
            p->perm_due_ns = UINT64_MAX;
        if (p->chan_tx.active)
            p->chan_due_ns = UINT64_MAX;
    }
}

static void min_dl(uint64_t *dl, uint64_t v)
{
    if (v < *dl)
        *dl = v;
}

uint64_t rtc_turn_deadline(const rtc_turn_t *t)
{
    uint64_t dl = UINT64_MAX;
    if (t->state != RTC_TURN_ALLOCATING && t->state != RTC_TURN_ALLOCATED)
        return dl;
    if (t->alloc_tx.active)
        min_dl(&dl, t->alloc_tx.next_ns);
    else if (t->state == RTC_TURN_ALLOCATED)
        min_dl(&dl, t->refresh_due_ns);
    if (t->state != RTC_TURN_ALLOCATED)
        return dl;
    for (unsigned i = 0; i < t->peer_cnt; i++) {
        const turn_peer_t *p = &t->peers[i];
        min_dl(&dl, p->perm_tx.active ? p->perm_tx.next_ns : p->perm_due_ns);
        min_dl(&dl, p->chan_tx.active ? p->chan_tx.next_ns : p->chan_due_ns);
    }
    return dl;
}
