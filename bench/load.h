/* bench/load.h: the load generator shared by `urtc-bench load` (bench/load.c) and
 * `urtc-bench compare` (bench/compare.c).
 *
 * N client peers live in this process on the shards of one urtc engine (urtc_pc with
 * own_socket: full ICE, DTLS and SRTP). Publishers replay media encoded once at start (Opus 20 ms
 * frames, VP8 30 fps with a keyframe at the start of each loop); every RTP payload ends with a
 * 12-byte trailer (magic + CLOCK_MONOTONIC send time), so a subscriber in this process reads the
 * transit time of each forwarded packet. The server is another process on the same machine (same
 * clock); its CPU and RSS come from /proc.
 *
 * Threads: the main (control) thread does signaling (blocking HTTP) and is the only poster to
 * the engine; shard threads run the peers and their callbacks. Counters are per shard with a
 * single writer (relaxed atomics); the main thread reads them between windows.
 */
#ifndef URTC_BENCH_LOAD_H
#define URTC_BENCH_LOAD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

#include "urtc/urtc.h"

#define LG_TRAILER 12
#define LG_MAGIC 0x75424c47u /* "uBLG" */
#define LG_HIST 20000        /* transit histogram: 10 us buckets up to 200 ms, then overflow */
#define LG_HIST_US 10
#define LG_STREAMS 64 /* received streams per client */
#define LG_AUDIO_FRAMES 50
#define LG_VIDEO_FRAMES 90 /* 3 s at 30 fps: one keyframe per loop */

/* Pre-encoded media, shared read-only by every publisher. */
typedef struct lg_media {
    uint8_t *audio[LG_AUDIO_FRAMES];
    size_t audio_len[LG_AUDIO_FRAMES];
    uint8_t *video[LG_VIDEO_FRAMES];
    size_t video_len[LG_VIDEO_FRAMES];
    double audio_kbps, video_kbps; /* payload bitrates of the loops (padding included) */
} lg_media_t;

/* Per-shard counters: written only on that shard's thread. */
typedef struct lg_stats {
    _Atomic uint64_t rx_pkts, rx_bytes, expected, lat_n, jitter_sum_ns, tx_pkts, tx_bytes;
    _Atomic uint64_t send_err;
    _Atomic uint64_t streams; /* distinct SSRCs received, over all clients */
    _Atomic uint32_t hist[LG_HIST + 1];
} lg_stats_t;

enum lg_state { LG_NEW, LG_SDP, LG_CONNECTED, LG_FAILED };

struct lg_stream {
    uint32_t ssrc;
    uint32_t max_ext;
    int64_t last_transit;
    int64_t jitter_ns; /* RFC 3550 §6.4.1 interarrival jitter, from the send stamps */
};

typedef struct lg_client lg_client_t;
typedef struct lg_run lg_run_t;

struct lg_client {
    lg_run_t *run;
    int idx, shard;
    urtc_pc_t *pc;
    bool publisher;
    bool audio, video; /* publisher: what it sends; subscriber: what each feed carries */
    int feeds;         /* subscriber: publishers it receives */
    int room;          /* 0 .. scenario rooms - 1 */
    bool answerer;     /* the far end offers (Janus subscribers) */
    int atr, vtr;
    _Atomic int state;
    int err;
    uint64_t t0_ns, t_conn_ns;
    char *sdp;    /* our description */
    char *remote; /* the far end's, applied on the shard */
    /* send state (shard thread) */
    uint64_t audio_sent, video_sent; /* frames sent since the start of media */
    unsigned vframe;
    _Atomic bool want_key;
    /* receive state (shard thread) */
    struct lg_stream st[LG_STREAMS];
    int nst;
    /* signaling */
    char location[256];
    uint64_t j_handle, j_feed;
};

struct lg_run {
    urtc_engine_t *eng;
    unsigned shards;
    const lg_media_t *media;
    const char *media_ip;
    lg_client_t **cl;
    int n, cap;
    lg_stats_t *stats; /* [shards] */
    struct lg_shard_ctx {
        lg_run_t *run;
        unsigned idx;
        _Atomic int busy; /* a send job is queued */
    } * sctx;
    uint64_t media_t0;
    _Atomic bool sending;
    _Atomic int ended; /* connections that failed or closed after connecting */
    bool progress;
    const char *label;
};

/* One measurement window. */
typedef struct lg_result {
    int pubs, subs, connected, failed;
    double setup_p50_ms, setup_p99_ms, setup_secs;
    double tx_pps, fwd_pps, fwd_kbps, loss, jitter_ms, lat_p50_ms, lat_p99_ms, lat_max_ms;
    double srv_cpu, cli_cpu; /* cores (1.0 = one core busy) */
    double cpu_us_per_pkt, fwd_pps_per_core;
    double srv_rss_kib, rss_per_peer_kib;
    double handshakes_per_sec;
    double srv_tx_pps; /* the server's own count of datagrams sent, if it has one; else 0 */
    int streams, streams_expected; /* SSRCs the subscribers received / should have */
} lg_result_t;

typedef struct lg_snap {
    uint64_t rx_pkts, rx_bytes, expected, lat_n, jitter_sum_ns, tx_pkts;
    uint64_t srv_cpu_ns, cli_cpu_ns, t_ns, streams;
    uint32_t *hist; /* LG_HIST + 1 */
} lg_snap_t;

uint64_t lg_now_ns(void);
int lg_media_init(lg_media_t *m, double video_kbps, int width, int height);
void lg_media_free(lg_media_t *m);

int lg_run_init(lg_run_t *r, unsigned shards, const char *media_ip, const lg_media_t *m);
void lg_run_free(lg_run_t *r);
lg_client_t *lg_client_add(lg_run_t *r, bool publisher, bool audio, bool video, int feeds);

/* Creates the pcs of @cl[0..n) and their offers (cl->sdp); waits for them (bounded).
 * Returns how many are ready. */
int lg_make_offers(lg_run_t *r, lg_client_t **cl, int n);
/* Runs @fn(c->pc, @arg) on @c's shard, retrying a full queue for up to 2 s. 0 or -errno. */
int lg_pc_post(lg_run_t *r, lg_client_t *c, void (*fn)(urtc_pc_t *, void *), void *arg);
/* Applies cl->remote as the answer (posted to the shard). */
int lg_apply_answer(lg_run_t *r, lg_client_t *c, const char *answer);
/* Creates the pc and answers @offer; waits until cl->sdp holds the answer. 0 or -errno. */
int lg_answer_offer(lg_run_t *r, lg_client_t *c, const char *offer);
/* Waits until every client in @cl is connected or failed, at most @timeout_ms; returns the
 * connected count. */
int lg_wait_connected(lg_run_t *r, lg_client_t **cl, int n, unsigned timeout_ms);
/* Sends media for @secs seconds (a job per shard every 20 ms), with a progress line. */
void lg_pump(lg_run_t *r, double secs, pid_t server);
void lg_start_media(lg_run_t *r);

void lg_snap_take(lg_run_t *r, pid_t server, lg_snap_t *s);
void lg_snap_free(lg_snap_t *s);
void lg_result_fill(lg_run_t *r, const lg_snap_t *a, const lg_snap_t *b, lg_result_t *res);
void lg_setup_times(lg_client_t **cl, int n, lg_result_t *res);

/* A server under test. start() runs it (fresh, for one scenario); publish() and subscribe()
 * connect one client (main thread, blocking signaling): publish gets a client whose offer is
 * ready when !pub_answers; subscribe gets one whose offer is ready when sub_offers (WHEP),
 * else it obtains the server's offer and answers it with lg_answer_offer(). */
typedef struct lg_backend {
    const char *name;
    bool sub_offers;
    const char *media_ip; /* the clients' address */
    int (*start)(struct lg_backend *b, unsigned shards);
    void (*stop)(struct lg_backend *b);
    int (*publish)(struct lg_backend *b, lg_run_t *r, lg_client_t *c);
    int (*subscribe)(struct lg_backend *b, lg_run_t *r, lg_client_t *c, lg_client_t **pubs,
                     int npubs);
    /* Optional, thread-safe: a publisher's offer -> a malloc'd answer (join storms run it from
     * several threads so that signaling round trips overlap). */
    int (*exchange)(struct lg_backend *b, lg_client_t *c, char **answer);
    /* Optional: datagrams the server has sent so far (its own counter), or -1. */
    double (*server_tx)(struct lg_backend *b);
    pid_t pid;
    char url[128]; /* http://host:port */
    char room[64];
    void *priv;
} lg_backend_t;

/* A scenario: @pubs publishers (audio and/or video), @subs subscribers each receiving @feeds
 * publishers; storm: publishers that only connect (no media), and the figure is the rate. */
typedef struct lg_scn {
    const char *name;
    int pubs, subs, feeds;
    int rooms; /* clients i go to room i % rooms (0: one room) */
    bool audio, video, storm;
    double warmup, secs;
    unsigned srv_shards, cli_shards;
    bool progress;
} lg_scn_t;

/* Runs one scenario against a fresh server from @b. 0 or -errno (setup failed). */
int lg_scenario(lg_backend_t *b, const lg_scn_t *s, const lg_media_t *m, lg_result_t *res);

/* The urtc-server backend (WHIP for publishers, WHEP for subscribers). */
void lg_backend_urtc(lg_backend_t *b, const char *server_path, const char *server_ip,
                     const char *client_ip);
/* The sum of every sample of metric @name in the /metrics of the server at @base_url
 * (http://host:port); -1 if it cannot be read. */
double lg_metric(const char *base_url, const char *name);
/* build/.../urtc-server next to this urtc-bench. */
void lg_sibling_path(const char *name, char *out, size_t cap);
/* Prints one result as a table row / JSON members prefixed with @pfx. */
void lg_result_print(const char *label, const lg_result_t *r);
void lg_print_head(void);
void lg_result_json(void *bench_json, const char *pfx, const lg_result_t *r);

/* The ramp: runs @base with subs = start, 2 start, ... up to @max (fan-out 1->K, or listeners
 * of an audio room) while loss stays under 1% and the p99 transit under 50 ms. Fills
 * @steps[0..*n) (at most @cap); returns the index of the last passing step, or -1. */
int lg_ramp(lg_backend_t *b, const lg_scn_t *base, int start, int max, const lg_media_t *m,
            lg_result_t *steps, int cap, int *n);
/* The ramp's rule for a step that passes: something connected, at most 1% of the clients
 * failed, loss <= 1% and p99 transit <= 50 ms. */
bool lg_step_ok(const lg_result_t *r);

/* Server processes. */
uint64_t lg_proc_cpu_ns(pid_t pid); /* CPU time of every thread (schedstat) */
long lg_proc_rss_kib(pid_t pid);
void lg_proc_stop(pid_t pid);

#endif
