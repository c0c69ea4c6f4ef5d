/* engine/engine_priv.h: what the engine's own files share: the shard and engine structs and
 * the peers of a shard. Not for signaling/ (it sees engine/engine.h only). */
#ifndef URTC_ENGINE_ENGINE_PRIV_H
#define URTC_ENGINE_ENGINE_PRIV_H

#include "engine/engine.h"

#include <pthread.h>

#include "rtc/ice/ice.h"

typedef struct eng_peer eng_peer_t;

/* Remote address -> peer slot, for datagrams that are not STUN (DTLS, RTP, RTCP): open
 * addressing with linear probing, sized at start. */
typedef struct eng_route {
    net_addr_t addr;
    uint32_t slot;
    uint8_t state; /* 0 empty, 1 used, 2 deleted */
} eng_route_t;

#define ENG_ICE_OUT_CAP 16

struct eng_cmd {
    eng_cmd_fn fn;
    void *arg;
    uint64_t u64;
};

struct eng_shard {
    eng_t *e;
    uint32_t idx;
    pthread_t thread;
    bool thread_started;

    /* Everything below belongs to the shard thread. */
    net_ring_t *ring;
    net_pool_t *pool;
    net_udp_t *udp;
    net_timers_t timers;
    uint64_t now_ns;
    bool stop;
    net_op_t wake_op;
    uint64_t wake_buf;
    bool wake_armed;
    uint64_t ticks;
    uint64_t drop[ENG_DROP__COUNT]; /* drops the engine counts itself (not the socket's) */

    /* Written by the shard (atomic stores), read by anyone. */
    eng_counters_t pub;
    net_addr_t addr; /* written before the shard reports ready */

    /* Feeds the shard: one producer, the shard consumes. */
    net_queue_t *cmdq;

    /* Peers (engine/peer.c): a slab sized at start, a free list, the routes, the peers closed
     * during this tick (freed at its end), and scratch output for the ICE agents. */
    eng_peer_t *peers;
    uint32_t peer_cap, peer_cnt;
    uint32_t *peer_free;
    uint32_t peer_free_cnt;
    eng_route_t *routes;
    uint32_t route_mask;
    net_list_t reap;
    rtc_ice_dgram_t ice_out[ENG_ICE_OUT_CAP];
};

/* engine/peer.c, shard thread only */
WARN_UNUSED int eng_peers_init(eng_shard_t *sh, uint32_t cap);
/* Closes every peer and frees the tables. */
void eng_peers_fini(eng_shard_t *sh);
/* Routes a datagram to its peer (by 5-tuple, or for STUN by the ufrag in USERNAME). Takes
 * ownership of @pkt; drops and counts what no peer owns. */
void eng_peers_dispatch(eng_shard_t *sh, net_pkt_t *pkt);
/* Frees the peers closed during this tick. End of tick. */
void eng_peers_reap(eng_shard_t *sh);

struct eng {
    eng_cfg_t cfg;
    uint32_t cnt;
    eng_shard_t *shards;
    /* Start-up hand-shake. */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    uint32_t ready, failed;
};

/* ---------------------------------------------------------------------------------------------
 * Peers: the transport of one peer connection on a shard (ICE today; DTLS, SRTP and SCTP join
 * as they land). Everything here runs on the peer's shard thread.
 */
typedef struct eng_peer_cbs {
    /* ICE state changes. */
    void (*on_ice_state)(eng_peer_t *p, rtc_ice_state_t state, void *user);
    /* A local candidate line ("candidate:..."), or NULL for end-of-candidates. */
    void (*on_candidate)(eng_peer_t *p, const char *cand, void *user);
    /* A datagram that is not STUN (DTLS, RTP, RTCP) from the peer's selected remote. Takes
     * ownership of @pkt. */
    void (*on_packet)(eng_peer_t *p, net_pkt_t *pkt, void *user);
} eng_peer_cbs_t;

typedef struct eng_peer_cfg {
    bool ice_lite;    /* answer checks only (a server); else a full agent */
    bool controlling; /* full agents: the initial role (the offerer) */
    eng_peer_cbs_t cbs;
    void *user;
} eng_peer_cfg_t;

/* A peer on @sh with a host candidate on the shard's socket and a local ufrag that encodes
 * shard, slot and generation (so checks find it). NULL when the slab is full (the caller
 * counts and refuses) or on bad config. */
eng_peer_t *eng_peer_create(eng_shard_t *sh, const eng_peer_cfg_t *cfg);
/* Closes @p: nothing more is sent or delivered; the slot is freed at the end of the tick and
 * its generation bumped, so stale ids miss. Safe from inside the peer's callbacks. */
void eng_peer_close(eng_peer_t *p);
/* The peer with this id, or NULL if it is gone (stale generation) or closing. */
eng_peer_t *eng_peer_get(eng_shard_t *sh, eng_peer_id_t id);
eng_peer_id_t eng_peer_id(const eng_peer_t *p);
const char *eng_peer_ufrag(const eng_peer_t *p);
const char *eng_peer_pwd(const eng_peer_t *p);
rtc_ice_t *eng_peer_ice(eng_peer_t *p);
/* Remote credentials from the SDP (a changed pair is an ICE restart). 0 or -EINVAL. */
WARN_UNUSED int eng_peer_set_remote_creds(eng_peer_t *p, const char *ufrag, const char *pwd);
/* A remote candidate line ("candidate:..." with or without "a="), or NULL/"" for
 * end-of-candidates. 0, -EBADMSG, -ENOSPC. */
WARN_UNUSED int eng_peer_add_candidate(eng_peer_t *p, const char *line);
/* Sends @pkt to the selected remote. Takes ownership of @pkt, even on error. 0, -ENOTCONN (no
 * pair, or consent lost), -ENOBUFS. */
int eng_peer_send(eng_peer_t *p, net_pkt_t *pkt);

#endif
