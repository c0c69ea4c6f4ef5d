/* engine/peer.c: the peers of a shard, and how a datagram finds its peer.
 *
 * Routing (RFC 7983 first byte, then):
 *   STUN   by the remote address if it is known, else by the ufrag in USERNAME. The local
 *          ufrag starts with ten hex digits, shard (2), slot (4) and generation (4), so a
 *          check finds its peer without a table, and a stale one misses.
 *   other  (DTLS, RTP, RTCP) by the remote address only: an address joins a peer's routes when
 *          a check from it authenticated, or when it became the selected pair.
 * A remote address belongs to at most one peer of a shard.
 */
#include "engine/engine_priv.h"

#include <stdio.h>
#include <stdlib.h>

#include "rtc/crypto/crypto.h"
#include "rtc/demux/demux.h"
#include "rtc/stun/stun.h"

#define PEER_ROUTES_MAX 8 /* remote addresses one peer may own */
#define UFRAG_PREFIX_LEN 10
#define PEER_EARLY_DTLS_MAX 4 /* Chromium's ClientHello is 2 datagrams; a flight is few more */

static void peer_sock_rx(void *arg, net_pkt_t *pkt);

struct eng_peer {
    eng_shard_t *sh;
    uint32_t slot;
    uint16_t gen;
    bool used;
    bool closing;
    net_list_t reap_node;
    net_timer_t timer;
    rtc_ice_t *ice;
    rtc_dtls_t dtls;
    bool dtls_on;      /* rtc_dtls_init() done */
    bool dtls_started; /* a client's first flight went out */
    bool dtls_final;   /* CLOSED or FAILED reported: nothing more from DTLS */
    bool ice_up;       /* ICE was connected once: a later failure is a lost path */
    bool fail_counted; /* an ICE or DTLS failure of this peer is in the shard's counters */
    rtc_srtp_t srtp;
    bool srtp_on;
    /* DTLS that came before eng_peer_start_dtls(): an answerer's ICE completes as soon as it
     * has the offer, so its ClientHello often beats the answer to the offerer. Kept (a few
     * slots) and replayed at start instead of waiting a 1 s retransmission. */
    net_pkt_t *early[PEER_EARLY_DTLS_MAX];
    uint8_t early_cnt;
    /* DTLS we sent while ICE had no pair yet (a server answering a ClientHello that came
     * before our own checks completed): sent when a pair is selected, instead of being lost
     * and costing the peer a 1 s retransmission. */
    net_pkt_t *dtls_wait[PEER_EARLY_DTLS_MAX];
    uint8_t dtls_wait_cnt;
    eng_peer_cfg_t cfg;
    void (*reaped_fn)(eng_peer_t *p, void *arg);
    void *reaped_arg;
    net_addr_t routes[PEER_ROUTES_MAX];
    uint32_t route_cnt;
    net_udp_t *udp;   /* own socket (cfg.own_socket), else NULL: the shard's */
    rtc_turn_t *turn; /* TURN client on the own socket (engine cfg turn_server), or NULL */
    net_addr_t turn_server, relayed;
    bool relay_added;    /* the relayed candidate went to ICE */
    bool gather_pending; /* gather_done() waits for the TURN allocation */
    net_addr_t local;    /* the address checks and media leave from */
    net_list_t sock_node;
    char id_str[24];
};

/* ---------------------------------------------------------------------------------------------
 * Routes
 */
static uint32_t addr_hash(const net_addr_t *a)
{
    /* FNV-1a over family, IP and port. */
    uint32_t h = 2166136261u;
    const uint8_t *ip;
    size_t ip_len;
    if (a->sa.sa_family == AF_INET6) {
        ip = (const uint8_t *)&a->in6.sin6_addr;
        ip_len = 16;
    } else {
        ip = (const uint8_t *)&a->in4.sin_addr;
        ip_len = 4;
    }
    for (size_t i = 0; i < ip_len; i++)
        h = (h ^ ip[i]) * 16777619u;
    uint16_t port = net_addr_port(a);
    h = (h ^ (port & 0xff)) * 16777619u;
    h = (h ^ (port >> 8)) * 16777619u;
    return h;
}

static eng_route_t *route_lookup(eng_shard_t *sh, const net_addr_t *a)
{
    for (uint32_t i = addr_hash(a), n = 0; n <= sh->route_mask; i++, n++) {
        eng_route_t *r = &sh->routes[i & sh->route_mask];
        if (r->state == 0)
            return NULL;
        if (r->state == 1 && net_addr_eq(&r->addr, a))
            return r;
    }
    return NULL;
}

static eng_peer_t *route_find(eng_shard_t *sh, const net_addr_t *a)
{
    eng_route_t *r = route_lookup(sh, a);
    return r ? &sh->peers[r->slot] : NULL;
}

/* Gives @a to @p. An address another peer held moves to @p: the caller has just authenticated
 * @p's traffic from it (the old holder is stale: a port the kernel reused). False only when
 * @p has no room for another address or the table is full. */
static bool route_add(eng_peer_t *p, const net_addr_t *a)
{
    eng_shard_t *sh = p->sh;
    eng_route_t *r = route_lookup(sh, a);
    if (r && r->slot == p->slot)
        return true;
    if (p->route_cnt == PEER_ROUTES_MAX)
        return false;
    if (r) {
        r->slot = p->slot; /* the old holder's routes[] entry no longer matches: harmless */
        p->routes[p->route_cnt++] = *a;
        return true;
    }
    for (uint32_t i = addr_hash(a), n = 0; n <= sh->route_mask; i++, n++) {
        r = &sh->routes[i & sh->route_mask];
        if (r->state != 1) {
            r->addr = *a;
            r->slot = p->slot;
            r->state = 1;
            p->routes[p->route_cnt++] = *a;
            return true;
        }
    }
    return false;
}

static void routes_clear(eng_peer_t *p)
{
    for (uint32_t i = 0; i < p->route_cnt; i++) {
        eng_route_t *r = route_lookup(p->sh, &p->routes[i]);
        if (r && r->slot == p->slot)
            r->state = 2;
    }
    p->route_cnt = 0;
}

/* ---------------------------------------------------------------------------------------------
 * Peers
 */
int eng_peers_init(eng_shard_t *sh, uint32_t cap)
{
    sh->peer_cap = cap;
    sh->peers = calloc(cap, sizeof *sh->peers);
    sh->peer_free = calloc(cap, sizeof *sh->peer_free);
    /* Load factor at most 1/4 with every peer owning two addresses. */
    uint32_t routes = 16;
    while (routes < cap * 8)
        routes <<= 1;
    sh->routes = calloc(routes, sizeof *sh->routes);
    sh->route_mask = routes - 1;
    net_list_init(&sh->reap);
    if (!sh->peers || !sh->peer_free || !sh->routes)
        return -ENOMEM;
    for (uint32_t i = 0; i < cap; i++) {
        sh->peers[i].slot = i;
        sh->peers[i].sh = sh;
        sh->peer_free[i] = cap - 1 - i;
    }
    sh->peer_free_cnt = cap;
    return 0;
}

void eng_peers_fini(eng_shard_t *sh)
{
    for (uint32_t i = 0; sh->peers && i < sh->peer_cap; i++)
        if (sh->peers[i].used && !sh->peers[i].closing)
            eng_peer_close(&sh->peers[i]);
    if (sh->peers)
        eng_peers_reap(sh);
    free(sh->peers);
    free(sh->peer_free);
    free(sh->routes);
    sh->peers = NULL;
    sh->peer_free = NULL;
    sh->routes = NULL;
}

/* Sends on the peer's own socket, or the shard's. Takes ownership of @pkt. */
static int peer_xmit(eng_peer_t *p, net_pkt_t *pkt)
{
    return p->udp ? net_udp_send(p->udp, pkt) : eng_shard_send(p->sh, pkt);
}

static rtc_turn_out_t turn_out(eng_shard_t *sh)
{
    return (rtc_turn_out_t){.msg = sh->turn_out, .cap = NET_ARRAY_LEN(sh->turn_out), .cnt = 0};
}

/* What the TURN client wants sent goes to its server from the peer's socket. */
static void peer_turn_flush(eng_peer_t *p, rtc_turn_out_t *out)
{
    for (size_t i = 0; i < out->cnt; i++) {
        net_pkt_t *pkt = net_pkt_copy_in(p->sh->pool, out->msg[i].data, out->msg[i].len);
        if (!pkt) {
            p->sh->drop[ENG_DROP_TX_FULL]++;
            continue;
        }
        pkt->addr = p->turn_server;
        peer_xmit(p, pkt);
    }
    out->cnt = 0;
}

static void peer_after_ice(eng_peer_t *p, rtc_ice_out_t *out);
static rtc_ice_out_t ice_out(eng_shard_t *sh);

/* Once allocated, the relayed address becomes an ICE candidate; gathering ends then (or when
 * the allocation failed). The agent's events (the candidate to trickle) go out at once. */
static void peer_turn_progress(eng_peer_t *p)
{
    bool changed = false;
    rtc_turn_state_t st = rtc_turn_state(p->turn);
    if (!p->relay_added && st == RTC_TURN_ALLOCATED) {
        net_addr_t mapped;
        if (rtc_turn_relayed(p->turn, &p->relayed, &mapped) == 0 &&
            rtc_ice_add_relay(p->ice, &p->local, &p->relayed, &p->turn_server, p->sh->now_ns) >= 0)
            p->relay_added = changed = true;
    }
    if (p->gather_pending && (p->relay_added || st == RTC_TURN_FAILED || st == RTC_TURN_CLOSED)) {
        if (st == RTC_TURN_FAILED)
            LOGP_WARN(p->id_str, "TURN allocation failed (error %u)", rtc_turn_error(p->turn));
        p->gather_pending = false;
        rtc_ice_gather_done(p->ice, p->sh->now_ns);
        changed = true;
    }
    if (changed) {
        rtc_ice_out_t out = ice_out(p->sh);
        peer_after_ice(p, &out);
    }
}

static void peer_send_dgrams(eng_peer_t *p, rtc_ice_out_t *out)
{
    eng_shard_t *sh = p->sh;
    for (size_t i = 0; i < out->cnt; i++) {
        const rtc_ice_dgram_t *dg = &out->dg[i];
        if (dg->relayed) { /* a check over the relay: framed for the TURN server */
            if (!p->turn)
                continue;
            uint8_t buf[RTC_ICE_DGRAM_MAX + 64];
            rtc_turn_out_t to = turn_out(sh);
            int n = rtc_turn_send(p->turn, &dg->dst, dg->data, dg->len, buf, sizeof buf, sh->now_ns,
                                  &to);
            peer_turn_flush(p, &to);
            net_pkt_t *pkt = n > 0 ? net_pkt_copy_in(sh->pool, buf, (size_t)n) : NULL;
            if (pkt) {
                pkt->addr = p->turn_server;
                peer_xmit(p, pkt);
            }
            continue;
        }
        net_pkt_t *pkt = net_pkt_copy_in(sh->pool, dg->data, dg->len);
        if (!pkt) {
            sh->drop[ENG_DROP_TX_FULL]++;
            continue;
        }
        pkt->addr = dg->dst;
        peer_xmit(p, pkt);
    }
    out->cnt = 0;
}

static void count_dtls_fail(eng_peer_t *p, enum eng_dtls_fail why)
{
    p->sh->conn.dtls_fail[why]++;
    p->fail_counted = true;
}

static void count_ice_fail(eng_peer_t *p, enum eng_ice_fail why)
{
    p->sh->conn.ice_fail[why]++;
    p->fail_counted = true;
}

/* rtc_dtls_input()/handle_timeout() errors as counter causes (rtc/dtls/dtls.h). */
static enum eng_dtls_fail dtls_fail_of(int err)
{
    if (err == -EACCES)
        return ENG_DTLS_FAIL_FINGERPRINT;
    if (err == -ETIMEDOUT)
        return ENG_DTLS_FAIL_TIMEOUT;
    return ENG_DTLS_FAIL_ALERT;
}

/* @why: the cause when @st is FAILED. */
static void peer_dtls_report(eng_peer_t *p, rtc_dtls_state_t st, enum eng_dtls_fail why)
{
    if (p->dtls_final || p->closing)
        return;
    if (st == RTC_DTLS_CLOSED || st == RTC_DTLS_FAILED)
        p->dtls_final = true;
    if (st == RTC_DTLS_FAILED)
        count_dtls_fail(p, why);
    else if (st == RTC_DTLS_CONNECTED)
        p->sh->conn.dtls_handshakes++;
    if (p->cfg.cbs.on_dtls_state)
        p->cfg.cbs.on_dtls_state(p, st, p->cfg.user);
}

/* After every call into DTLS: its datagrams go out on the ICE pair, its application data up,
 * and a finished handshake installs the SRTP keys (RFC 5764 §4.2). */
static void peer_after_dtls(eng_peer_t *p, int ret)
{
    eng_shard_t *sh = p->sh;
    rtc_dtls_out_t *out = &sh->dtls_out;
    for (size_t i = 0; i < out->tx_cnt; i++) {
        net_pkt_t *pkt = net_pkt_copy_in(sh->pool, out->tx[i].p, out->tx[i].len);
        if (!pkt) {
            sh->drop[ENG_DROP_TX_FULL]++;
            continue;
        }
        net_addr_t local, remote;
        if (rtc_ice_selected(p->ice, &local, &remote, NULL) < 0 &&
            rtc_ice_state(p->ice) <= RTC_ICE_CHECKING && p->dtls_wait_cnt < PEER_EARLY_DTLS_MAX) {
            p->dtls_wait[p->dtls_wait_cnt++] = pkt; /* peer_events() sends it on SELECTED */
            continue;
        }
        eng_peer_send(p, pkt);
    }
    for (size_t i = 0; i < out->rx_cnt && !p->closing; i++)
        if (p->cfg.cbs.on_dtls_data)
            p->cfg.cbs.on_dtls_data(p, out->rx[i].p, out->rx[i].len, p->cfg.user);
    out->tx_cnt = out->rx_cnt = 0;
    if (ret < 0) {
        LOGP_INFO(p->id_str, "DTLS failed: %s", strerror(-ret));
        peer_dtls_report(p, RTC_DTLS_FAILED, dtls_fail_of(ret));
        return;
    }
    if ((ret & RTC_DTLS_EV_CONNECTED) && !p->srtp_on) {
        rtc_srtp_keys_t keys;
        int r = rtc_dtls_srtp_keys(&p->dtls, &keys);
        if (r == 0 && (r = rtc_srtp_init(&p->srtp, &keys)) == 0)
            p->srtp_on = true;
        memset(&keys, 0, sizeof keys);
        if (r < 0) {
            LOGP_WARN(p->id_str, "no SRTP keys after the DTLS handshake: %s", strerror(-r));
            peer_dtls_report(p, RTC_DTLS_FAILED, ENG_DTLS_FAIL_SRTP);
            return;
        }
        peer_dtls_report(p, RTC_DTLS_CONNECTED, 0);
    }
    if (ret & RTC_DTLS_EV_CLOSED)
        peer_dtls_report(p, RTC_DTLS_CLOSED, 0);
}

/* A DTLS client speaks first, once ICE has a pair to speak on. */
static void peer_dtls_kick(eng_peer_t *p)
{
    if (!p->dtls_on || p->dtls_started || p->dtls.role != RTC_DTLS_CLIENT || p->closing)
        return;
    net_addr_t local, remote;
    if (rtc_ice_selected(p->ice, &local, &remote, NULL) < 0)
        return;
    p->dtls_started = true;
    peer_after_dtls(p, rtc_dtls_start(&p->dtls, p->sh->now_ns, &p->sh->dtls_out));
}

static void peer_events(eng_peer_t *p)
{
    rtc_ice_event_t ev;
    while (!p->closing && rtc_ice_poll(p->ice, &ev)) {
        switch (ev.type) {
        case RTC_ICE_EV_STATE:
            if (ev.state == RTC_ICE_CONNECTED || ev.state == RTC_ICE_COMPLETED)
                p->ice_up = true;
            else if (ev.state == RTC_ICE_FAILED)
                count_ice_fail(p, p->ice_up ? ENG_ICE_FAIL_CONSENT : ENG_ICE_FAIL_CHECKS);
            if (p->cfg.cbs.on_ice_state)
                p->cfg.cbs.on_ice_state(p, ev.state, p->cfg.user);
            break;
        case RTC_ICE_EV_LOCAL_CANDIDATE:
            if (p->cfg.cbs.on_candidate) {
                char line[512];
                if (rtc_ice_cand_fmt(&ev.cand, line, sizeof line) >= 0)
                    p->cfg.cbs.on_candidate(p, line, p->cfg.user);
            }
            break;
        case RTC_ICE_EV_END_OF_CANDIDATES:
            if (p->cfg.cbs.on_candidate)
                p->cfg.cbs.on_candidate(p, NULL, p->cfg.user);
            break;
        case RTC_ICE_EV_SELECTED:
            if (!route_add(p, &ev.remote))
                LOGP_DEBUG(p->id_str, "selected remote already owned by another peer");
            for (uint8_t i = 0; i < p->dtls_wait_cnt; i++)
                eng_peer_send(p, p->dtls_wait[i]);
            p->dtls_wait_cnt = 0;
            LOGP_DEBUG(p->id_str, "ICE pair selected, round trip %.1f ms (0: not measured)",
                       (double)rtc_ice_rtt_ns(p->ice) / NET_NS_PER_MS);
            if (p->dtls_on)
                rtc_dtls_set_rtt(&p->dtls, rtc_ice_rtt_ns(p->ice));
            peer_dtls_kick(p);
            break;
        case RTC_ICE_EV_ROLE:
            break;
        }
    }
}

static void peer_rearm(eng_peer_t *p)
{
    if (p->closing)
        return;
    uint64_t due = rtc_ice_deadline(p->ice);
    if (p->dtls_on && !p->dtls_final)
        due = NET_MIN(due, rtc_dtls_deadline(&p->dtls));
    if (p->turn)
        due = NET_MIN(due, rtc_turn_deadline(p->turn));
    if (due == UINT64_MAX)
        net_timer_cancel(&p->sh->timers, &p->timer);
    else if (!net_timer_armed(&p->timer) || net_timer_due(&p->timer) != due)
        net_timer_arm(&p->sh->timers, &p->timer, due);
}

/* After every call into the agent: send its datagrams, deliver its events, re-arm. */
static void peer_after_ice(eng_peer_t *p, rtc_ice_out_t *out)
{
    peer_send_dgrams(p, out);
    peer_events(p);
    peer_rearm(p);
}

static rtc_ice_out_t ice_out(eng_shard_t *sh)
{
    return (rtc_ice_out_t){.dg = sh->ice_out, .cap = ENG_ICE_OUT_CAP, .cnt = 0};
}

static void peer_timer_fired(net_timer_t *t, uint64_t now_ns)
{
    eng_peer_t *p = container_of(t, eng_peer_t, timer);
    if (p->turn && rtc_turn_deadline(p->turn) <= now_ns) {
        rtc_turn_out_t to = turn_out(p->sh);
        rtc_turn_tick(p->turn, now_ns, &to);
        peer_turn_flush(p, &to);
        peer_turn_progress(p);
    }
    rtc_ice_out_t out = ice_out(p->sh);
    if (rtc_ice_deadline(p->ice) <= now_ns)
        rtc_ice_tick(p->ice, now_ns, &out);
    peer_after_ice(p, &out);
    if (p->dtls_on && !p->dtls_final && !p->closing && rtc_dtls_deadline(&p->dtls) <= now_ns) {
        peer_after_dtls(p, rtc_dtls_handle_timeout(&p->dtls, now_ns, &p->sh->dtls_out));
        peer_rearm(p);
    }
}

static void random_chars(char *dst, size_t n)
{
    static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    uint8_t rnd[64];
    if (n > sizeof rnd || rtc_random(rnd, n) < 0)
        ENG_ASSERT(!"no randomness");
    for (size_t i = 0; i < n; i++)
        dst[i] = set[rnd[i] % (sizeof set - 1)];
    dst[n] = '\0';
}

eng_peer_t *eng_peer_create(eng_shard_t *sh, const eng_peer_cfg_t *cfg)
{
    if (!sh->peer_free_cnt)
        return NULL;
    uint32_t slot = sh->peer_free[--sh->peer_free_cnt];
    eng_peer_t *p = &sh->peers[slot];
    uint16_t gen = p->gen;
    memset(p, 0, sizeof *p);
    p->sh = sh;
    p->slot = slot;
    p->gen = gen;
    p->used = true;
    p->cfg = *cfg;
    net_timer_init(&p->timer, peer_timer_fired);
    net_list_init(&p->reap_node);
    snprintf(p->id_str, sizeof p->id_str, "%u:%u:%u", sh->idx, slot, gen);
    /* RFC 8839 §5.4: ice-ufrag is 4..256 ice-chars, ice-pwd 22..256. */
    char ufrag[UFRAG_PREFIX_LEN + 7], pwd[25];
    snprintf(ufrag, sizeof ufrag, "%02x%04x%04x", sh->idx & 0xff, slot & 0xffff, gen);
    random_chars(ufrag + UFRAG_PREFIX_LEN, 6);
    random_chars(pwd, 24);
    rtc_ice_cfg_t icfg = {.lite = cfg->ice_lite,
                          .controlling = cfg->controlling,
                          .relay_only = cfg->relay_only,
                          .ufrag = ufrag,
                          .pwd = pwd};
    p->ice = rtc_ice_create(&icfg);
    if (!p->ice)
        goto fail;
    sh->peer_cnt++;
    p->local = sh->addr;
    net_list_init(&p->sock_node);
    if (cfg->own_socket) {
        /* Single-shot receives (the buffer ring is the shard socket's): a few slots each. */
        net_udp_cfg_t ucfg = {.bind = sh->addr,
                              .no_multishot = true,
                              .rx_single_ops = 4,
                              .tx_queue = 128, /* a client's own socket: small tables */
                              .tx_ops = 16,
                              .sock_buf_len = 256 << 10,
                              .on_recv = peer_sock_rx,
                              .arg = p};
        net_addr_set_port(&ucfg.bind, 0);
        if (!(p->udp = net_udp_create(sh->ring, sh->pool, &ucfg)))
            goto fail;
        net_udp_local_addr(p->udp, &p->local);
        net_list_add_tail(&sh->sock_list, &p->sock_node);
    }
    if (rtc_ice_add_host(p->ice, &p->local, sh->now_ns) < 0)
        goto fail;
    const eng_cfg_t *ecfg = &sh->e->cfg;
    if (p->udp && cfg->use_ice_servers && ecfg->stun_server.len &&
        rtc_ice_add_stun_server(p->ice, &p->local, &ecfg->stun_server, sh->now_ns) < 0)
        LOGP_WARN(p->id_str, "cannot use the STUN server");
    if (p->udp && cfg->use_ice_servers && ecfg->turn_server.len) {
        rtc_turn_cfg_t tcfg = {
            .server = ecfg->turn_server, .user = ecfg->turn_user, .pass = ecfg->turn_pass};
        p->turn_server = ecfg->turn_server;
        if (!(p->turn = rtc_turn_create(&tcfg)))
            goto fail;
        rtc_turn_out_t to = turn_out(sh);
        if (rtc_turn_start(p->turn, sh->now_ns, &to) < 0)
            goto fail;
        peer_turn_flush(p, &to);
        p->gather_pending = true; /* gather_done() once the relay is known */
    } else {
        rtc_ice_gather_done(p->ice, sh->now_ns);
    }
    rtc_ice_out_t out = ice_out(sh);
    peer_after_ice(p, &out);
    return p;
fail:
    LOG_WARN("peer %s: cannot start its ICE agent", p->id_str);
    eng_peer_close(p);
    return NULL;
}

void eng_peer_give_up(eng_peer_t *p)
{
    if (!p || p->closing || !p->used || p->fail_counted)
        return;
    rtc_ice_state_t ice = rtc_ice_state(p->ice);
    if (!p->ice_up)
        count_ice_fail(p, ENG_ICE_FAIL_CHECKS);
    else if (ice == RTC_ICE_DISCONNECTED)
        count_ice_fail(p, ENG_ICE_FAIL_CONSENT);
    else if (eng_peer_dtls_state(p) != RTC_DTLS_CONNECTED &&
             eng_peer_dtls_state(p) != RTC_DTLS_CLOSED)
        count_dtls_fail(p, ENG_DTLS_FAIL_TIMEOUT);
}

void eng_peer_close(eng_peer_t *p)
{
    if (!p || p->closing || !p->used)
        return;
    if (p->dtls_on && p->dtls.state == RTC_DTLS_CONNECTED) {
        /* RFC 6347 §4.2.7 via TLS: a close_notify, so the peer stops at once. */
        int ret = rtc_dtls_close(&p->dtls, &p->sh->dtls_out);
        p->dtls_final = true; /* no callbacks from here on */
        peer_after_dtls(p, ret < 0 ? 0 : ret);
    }
    if (p->turn && p->udp) { /* free the relay on the server (RFC 8656 §7) */
        rtc_turn_out_t to = turn_out(p->sh);
        rtc_turn_close(p->turn, p->sh->now_ns, &to);
        peer_turn_flush(p, &to);
    }
    p->closing = true;
    net_timer_cancel(&p->sh->timers, &p->timer);
    routes_clear(p);
    if (p->ice)
        rtc_ice_close(p->ice, p->sh->now_ns);
    net_list_add_tail(&p->sh->reap, &p->reap_node);
}

void eng_peers_reap(eng_shard_t *sh)
{
    net_list_t *n, *tmp;
    net_list_for_each_safe (n, tmp, &sh->reap) {
        eng_peer_t *p = container_of(n, eng_peer_t, reap_node);
        net_list_del(n);
        if (p->ice)
            sh->peer_cnt--;
        rtc_ice_destroy(p->ice);
        p->ice = NULL;
        rtc_turn_destroy(p->turn);
        p->turn = NULL;
        p->relay_added = p->gather_pending = false;
        if (p->udp) {
            /* What close queued (a close_notify) leaves first; the socket goes once idle. */
            net_udp_flush(p->udp);
            net_udp_close(p->udp);
            net_list_del(&p->sock_node);
            p->udp = NULL;
        }
        for (uint8_t i = 0; i < p->early_cnt; i++)
            net_pkt_free(p->early[i]);
        p->early_cnt = 0;
        for (uint8_t i = 0; i < p->dtls_wait_cnt; i++)
            net_pkt_free(p->dtls_wait[i]);
        p->dtls_wait_cnt = 0;
        if (p->srtp_on)
            rtc_srtp_fini(&p->srtp);
        if (p->dtls_on)
            rtc_dtls_fini(&p->dtls);
        p->srtp_on = p->dtls_on = false;
        if (p->reaped_fn)
            p->reaped_fn(p, p->reaped_arg);
        p->reaped_fn = NULL;
        p->used = false;
        p->closing = false;
        p->gen++; /* ids and ufrags of the old peer miss from now on */
        sh->peer_free[sh->peer_free_cnt++] = p->slot;
    }
}

void eng_peer_set_reaped(eng_peer_t *p, void (*fn)(eng_peer_t *p, void *arg), void *arg)
{
    p->reaped_fn = fn;
    p->reaped_arg = arg;
}

int eng_peer_set_controlling(eng_peer_t *p, bool controlling)
{
    if (p->cfg.ice_lite || p->cfg.controlling == controlling)
        return 0;
    int ret = rtc_ice_set_controlling(p->ice, controlling);
    if (ret == 0)
        p->cfg.controlling = controlling;
    return ret;
}

void eng_peers_flush(eng_shard_t *sh)
{
    net_list_t *n, *tmp;
    net_list_for_each_safe (n, tmp, &sh->sock_list) {
        net_udp_flush(container_of(n, eng_peer_t, sock_node)->udp);
    }
}

eng_peer_t *eng_peer_get(eng_shard_t *sh, eng_peer_id_t id)
{
    if (id.shard != sh->idx || id.slot >= sh->peer_cap)
        return NULL;
    eng_peer_t *p = &sh->peers[id.slot];
    return p->used && !p->closing && p->gen == id.gen ? p : NULL;
}

eng_peer_id_t eng_peer_id(const eng_peer_t *p)
{
    return (eng_peer_id_t){.shard = (uint16_t)p->sh->idx, .gen = p->gen, .slot = p->slot};
}

const char *eng_peer_ufrag(const eng_peer_t *p)
{
    return rtc_ice_local_ufrag(p->ice);
}

const char *eng_peer_pwd(const eng_peer_t *p)
{
    return rtc_ice_local_pwd(p->ice);
}

rtc_ice_t *eng_peer_ice(eng_peer_t *p)
{
    return p->ice;
}

int eng_peer_restart_ice(eng_peer_t *p)
{
    char ufrag[UFRAG_PREFIX_LEN + 7], pwd[25];
    /* The prefix (shard, slot, generation) still routes checks here. */
    memcpy(ufrag, rtc_ice_local_ufrag(p->ice), UFRAG_PREFIX_LEN);
    random_chars(ufrag + UFRAG_PREFIX_LEN, 6);
    random_chars(pwd, 24);
    int ret = rtc_ice_restart(p->ice, ufrag, pwd, p->sh->now_ns);
    rtc_ice_out_t out = ice_out(p->sh);
    peer_after_ice(p, &out);
    return ret;
}

int eng_peer_set_remote_creds(eng_peer_t *p, const char *ufrag, const char *pwd)
{
    int ret = rtc_ice_set_remote_creds(p->ice, ufrag, pwd, p->sh->now_ns);
    rtc_ice_out_t out = ice_out(p->sh);
    peer_after_ice(p, &out);
    return ret;
}

int eng_peer_add_candidate(eng_peer_t *p, const char *line)
{
    eng_shard_t *sh = p->sh;
    if (!line || !*line) {
        rtc_ice_remote_done(p->ice, sh->now_ns);
    } else {
        rtc_ice_cand_t c;
        int ret = rtc_ice_cand_parse(line, strlen(line), &c);
        if (ret < 0)
            return ret;
        if ((ret = rtc_ice_add_remote(p->ice, &c, sh->now_ns)) < 0)
            return ret;
        /* A full agent's checks are answered from the candidate's address, in responses
         * without USERNAME: the address must lead back here. */
        if (!p->cfg.ice_lite && c.addr.len && !route_add(p, &c.addr))
            LOGP_DEBUG(p->id_str, "remote candidate address already owned by another peer");
    }
    rtc_ice_out_t out = ice_out(sh);
    peer_after_ice(p, &out);
    return 0;
}

int eng_peer_send(eng_peer_t *p, net_pkt_t *pkt)
{
    net_addr_t local, remote;
    bool relayed = false;
    if (p->closing || rtc_ice_selected(p->ice, &local, &remote, &relayed) < 0) {
        net_pkt_free(pkt);
        return -ENOTCONN;
    }
    if (relayed && p->turn) {
        /* ChannelData or Send indication header into the headroom: no copy (RFC 8656 §12). */
        rtc_turn_out_t to = turn_out(p->sh);
        int ret = rtc_turn_wrap_pkt(p->turn, &remote, pkt, p->sh->now_ns, &to);
        peer_turn_flush(p, &to);
        if (ret < 0) {
            net_pkt_free(pkt);
            return ret;
        }
        return peer_xmit(p, pkt); /* pkt->addr is the server now */
    }
    pkt->addr = remote;
    return peer_xmit(p, pkt);
}

int eng_peer_start_dtls(eng_peer_t *p, bool client, const char *remote_fp)
{
    if (p->dtls_on)
        return -EALREADY;
    int ret = rtc_dtls_init(&p->dtls, p->sh->e->dtls_ctx,
                            client ? RTC_DTLS_CLIENT : RTC_DTLS_SERVER, remote_fp, p->sh->now_ns);
    if (ret < 0) {
        rtc_dtls_fini(&p->dtls);
        return ret;
    }
    p->dtls_on = true;
    rtc_dtls_set_rtt(&p->dtls, rtc_ice_rtt_ns(p->ice)); /* 0 (not measured yet): no change */
    peer_dtls_kick(p);
    for (uint8_t i = 0; i < p->early_cnt; i++) {
        net_pkt_t *pkt = p->early[i];
        if (!p->dtls_final && !p->closing)
            peer_after_dtls(
                p, rtc_dtls_input(&p->dtls, pkt->data, pkt->len, p->sh->now_ns, &p->sh->dtls_out));
        net_pkt_free(pkt);
    }
    p->early_cnt = 0;
    peer_rearm(p);
    return 0;
}

rtc_dtls_state_t eng_peer_dtls_state(const eng_peer_t *p)
{
    return p->dtls_on ? p->dtls.state : RTC_DTLS_NEW;
}

int eng_peer_send_dtls_data(eng_peer_t *p, const void *data, size_t len)
{
    if (!p->dtls_on || p->dtls.state != RTC_DTLS_CONNECTED || p->closing)
        return -ENOTCONN;
    int ret = rtc_dtls_send(&p->dtls, data, len, &p->sh->dtls_out);
    peer_after_dtls(p, ret < 0 ? 0 : ret);
    return ret < 0 ? ret : 0;
}

int eng_peer_send_rtp(eng_peer_t *p, net_pkt_t *pkt, bool rtcp)
{
    if (!p->srtp_on || p->closing) {
        net_pkt_free(pkt);
        return -ENOTCONN;
    }
    int ret = rtcp ? rtc_srtp_protect_rtcp_pkt(&p->srtp, pkt) : rtc_srtp_protect_pkt(&p->srtp, pkt);
    if (ret < 0) {
        net_pkt_free(pkt);
        return -EIO;
    }
    return eng_peer_send(p, pkt);
}

int eng_peer_send_copy(eng_peer_t *p, const uint8_t *buf, size_t len, bool rtcp)
{
    if (len > NET_PKT_MAX_LEN - RTC_SRTP_TAILROOM)
        return -EMSGSIZE;
    net_pkt_t *pkt = eng_shard_pkt_alloc(p->sh);
    if (!pkt)
        return -ENOBUFS;
    memcpy(pkt->data, buf, len);
    pkt->len = (uint32_t)len;
    return eng_peer_send_rtp(p, pkt, rtcp);
}

/* ---------------------------------------------------------------------------------------------
 * Dispatch
 */
static int hex_val(const uint8_t *s, size_t n, uint32_t *out)
{
    uint32_t v = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0)
            return -EINVAL;
        v = v << 4 | (uint32_t)d;
    }
    *out = v;
    return 0;
}

static eng_peer_t *peer_from_ufrag(eng_shard_t *sh, net_view_t uf)
{
    uint32_t shard, slot, gen;
    if (uf.len < UFRAG_PREFIX_LEN || hex_val(uf.p, 2, &shard) < 0 ||
        hex_val(uf.p + 2, 4, &slot) < 0 || hex_val(uf.p + 6, 4, &gen) < 0)
        return NULL;
    if (shard != (sh->idx & 0xff))
        return NULL;
    return eng_peer_get(
        sh, (eng_peer_id_t){.shard = (uint16_t)sh->idx, .gen = (uint16_t)gen, .slot = slot});
}

static void dispatch_stun(eng_shard_t *sh, eng_peer_t *p, net_pkt_t *pkt, bool own_socket)
{
    /* A request names its peer by the ufrag, which beats the address (a port the kernel gave
     * a new socket may still lead to an old peer); a response has no USERNAME and goes by the
     * address. */
    net_view_t uf;
    bool by_ufrag = false;
    if (!own_socket && rtc_stun_peek_ufrag(pkt->data, pkt->len, &uf) == 0) {
        eng_peer_t *q = peer_from_ufrag(sh, uf);
        if (q) {
            p = q;
            by_ufrag = true;
        }
    }
    if (!p || p->closing) {
        sh->drop[ENG_DROP_UNKNOWN_PEER]++;
        net_pkt_free(pkt);
        return;
    }
    rtc_ice_out_t out = ice_out(sh);
    int ret = rtc_ice_input(p->ice, pkt->data, pkt->len, &pkt->addr, &p->local, sh->now_ns, &out);
    /* An authenticated check from a new address: DTLS and media will follow from it. */
    if (ret == 0 && by_ufrag && !route_add(p, &pkt->addr))
        LOGP_DEBUG(p->id_str, "checked address already owned by another peer");
    net_pkt_free(pkt);
    peer_after_ice(p, &out);
}

static void peer_input(eng_shard_t *sh, eng_peer_t *p, net_pkt_t *pkt, rtc_demux_kind_t kind);

void eng_peers_dispatch(eng_shard_t *sh, net_pkt_t *pkt)
{
    rtc_demux_kind_t kind = rtc_demux_classify(pkt->data, pkt->len);
    if (kind == RTC_DEMUX_DROP) {
        sh->drop[ENG_DROP_NOT_WEBRTC]++;
        net_pkt_free(pkt);
        return;
    }
    eng_peer_t *p = route_find(sh, &pkt->addr);
    if (kind == RTC_DEMUX_STUN) {
        dispatch_stun(sh, p, pkt, false);
        return;
    }
    if (!p || p->closing) {
        sh->drop[ENG_DROP_UNKNOWN_PEER]++;
        net_pkt_free(pkt);
        return;
    }
    peer_input(sh, p, pkt, kind);
}

/* A datagram on a peer's own socket: it is the peer's, whatever its source. */
static void peer_sock_rx(void *arg, net_pkt_t *pkt)
{
    eng_peer_t *p = arg;
    eng_shard_t *sh = p->sh;
    pkt->rx_ns = sh->now_ns;
    if (p->turn && !p->closing && net_addr_eq(&pkt->addr, &p->turn_server)) {
        /* From the TURN server: its own answers, or data relayed from a peer. */
        rtc_turn_out_t to = turn_out(sh);
        net_addr_t from;
        net_view_t payload;
        int ret = rtc_turn_input(p->turn, pkt->data, pkt->len, sh->now_ns, &to, &from, &payload);
        peer_turn_flush(p, &to);
        peer_turn_progress(p);
        if (ret != 1 || !payload.len) {
            net_pkt_free(pkt);
            peer_rearm(p);
            return;
        }
        /* Relayed data: as if it came from @from to our relayed address. */
        pkt->data = (uint8_t *)payload.p;
        pkt->len = (uint32_t)payload.len;
        pkt->addr = from;
        rtc_demux_kind_t kind = rtc_demux_classify(pkt->data, pkt->len);
        if (kind == RTC_DEMUX_STUN) {
            rtc_ice_out_t out = ice_out(sh);
            (void)rtc_ice_input(p->ice, pkt->data, pkt->len, &from, &p->relayed, sh->now_ns, &out);
            net_pkt_free(pkt);
            peer_after_ice(p, &out);
        } else if (kind == RTC_DEMUX_DROP) {
            sh->drop[ENG_DROP_NOT_WEBRTC]++;
            net_pkt_free(pkt);
        } else {
            peer_input(sh, p, pkt, kind);
        }
        return;
    }
    rtc_demux_kind_t kind = rtc_demux_classify(pkt->data, pkt->len);
    if (kind == RTC_DEMUX_DROP || p->closing) {
        sh->drop[kind == RTC_DEMUX_DROP ? ENG_DROP_NOT_WEBRTC : ENG_DROP_UNKNOWN_PEER]++;
        net_pkt_free(pkt);
        return;
    }
    if (kind == RTC_DEMUX_STUN)
        dispatch_stun(sh, p, pkt, true);
    else
        peer_input(sh, p, pkt, kind);
}

static void peer_input(eng_shard_t *sh, eng_peer_t *p, net_pkt_t *pkt, rtc_demux_kind_t kind)
{
    if (kind == RTC_DEMUX_DTLS) {
        if (!p->dtls_on && !p->dtls_final && p->early_cnt < PEER_EARLY_DTLS_MAX) {
            p->early[p->early_cnt++] = pkt; /* replayed by eng_peer_start_dtls() */
            return;
        }
        if (!p->dtls_on || p->dtls_final) {
            sh->peer_drops.dtls_before_start++;
        } else {
            peer_after_dtls(
                p, rtc_dtls_input(&p->dtls, pkt->data, pkt->len, sh->now_ns, &sh->dtls_out));
            peer_rearm(p);
        }
        net_pkt_free(pkt);
        return;
    }
    bool rtcp = kind == RTC_DEMUX_RTCP;
    if (!p->srtp_on) {
        sh->peer_drops.srtp_before_keys++;
        net_pkt_free(pkt);
        return;
    }
    int ret =
        rtcp ? rtc_srtp_unprotect_rtcp_pkt(&p->srtp, pkt) : rtc_srtp_unprotect_pkt(&p->srtp, pkt);
    if (ret < 0 || !p->cfg.cbs.on_rtp) {
        if (ret < 0)
            sh->peer_drops.srtp_rejected++; /* the srtp counters say which cause */
        net_pkt_free(pkt);
        return;
    }
    p->cfg.cbs.on_rtp(p, pkt, rtcp, p->cfg.user);
}
