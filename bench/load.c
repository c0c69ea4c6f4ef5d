/* bench/load.c: `urtc-bench load`, the load generator against urtc-server's SFU.
 *
 * Starts build/.../urtc-server (`--listen 127.0.0.1:0 --mode sfu`, reading the address from
 * its first stdout line) once per scenario, connects the clients of bench/load_core.c through
 * WHIP (publishers) and WHEP (subscribers), and measures one window. The WebSocket protocol's
 * sfu joins are still refused by the server (docs/signaling.md), so WHIP/WHEP it is.
 *
 * Baseline in the same run: the same publisher and subscriber connected directly (no server),
 * whose transit time is subtracted from the transit through the server to give the latency the
 * server adds.
 */
#include "bench/bench.h"
#include "bench/load.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "signaling/peer_ws.h"

#define BATCH 50

void lg_sibling_path(const char *name, char *out, size_t cap)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        snprintf(out, cap, "build/%s", name);
        return;
    }
    self[n] = 0;
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = 0;
    snprintf(out, cap, "%s/%s", self, name);
}

/* ---- urtc-server backend ------------------------------------------------------------------ */

static char http_body[65536];

struct urtc_priv {
    char path[PATH_MAX];
    char srv_ip[64];
    int out_fd;
};

/* Reads the first stdout line ("urtc-server: listening on http://HOST:PORT/ ...") within 5 s. */
static int read_first_line(int fd, char *line, size_t cap)
{
    size_t len = 0;
    uint64_t end = lg_now_ns() + 5000000000ull;
    while (len + 1 < cap) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (lg_now_ns() >= end || poll(&p, 1, 100) < 0)
            return -ETIMEDOUT;
        if (!(p.revents & (POLLIN | POLLHUP)))
            continue;
        ssize_t r = read(fd, line + len, 1);
        if (r <= 0)
            return -EPIPE;
        if (line[len] == '\n')
            break;
        len++;
    }
    line[len] = 0;
    return 0;
}

static int urtc_start(lg_backend_t *b, unsigned shards)
{
    struct urtc_priv *p = b->priv;
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0)
        return -errno;
    char sh[16], log[128];
    snprintf(sh, sizeof sh, "%u", shards ? shards : 1);
    snprintf(log, sizeof log, "/tmp/urtc-bench-server-%d.log", (int)getpid());
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        dup2(pfd[1], 1);
        int lf = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (lf >= 0)
            dup2(lf, 2);
        execl(p->path, p->path, "--listen", "127.0.0.1:0", "--mode", "sfu", "--shards", sh,
              "--udp-port", "0", "--media-ip", p->srv_ip, "--max-peers", "100000",
              "--max-room-peers", "10000", "--max-conns", "100000", "--max-conns-per-ip", "100000",
              "--log", "warn", (char *)NULL);
        _exit(127);
    }
    close(pfd[1]);
    p->out_fd = pfd[0];
    b->pid = pid;
    char line[512];
    int ret = read_first_line(pfd[0], line, sizeof line);
    const char *u = ret == 0 ? strstr(line, "http://") : NULL;
    if (!u) {
        fprintf(stderr, "load: %s did not start (%s; log in %s)\n", p->path,
                ret ? strerror(-ret) : line, log);
        b->stop(b);
        return -EIO;
    }
    size_t l = strcspn(u + 7, "/ ");
    snprintf(b->url, sizeof b->url, "http://%.*s", (int)l, u + 7);
    snprintf(b->room, sizeof b->room, "bench");
    return 0;
}

/* The server's drop counters (urtc_shard_drops_total{shard,reason}), non-zero ones, on stderr:
 * they say where packets the clients missed were lost. */
static void urtc_print_drops(lg_backend_t *b)
{
    char url[256];
    snprintf(url, sizeof url, "%s/metrics", b->url);
    if (!b->pid || peer_http_request("GET", url, NULL, NULL, NULL, NULL, 0, http_body,
                                     sizeof http_body) != 200)
        return;
    for (char *l = http_body; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (strncmp(l, "urtc_shard_drops_total{", 23) != 0)
            continue;
        const char *v = strchr(l, '}');
        if (v && strtod(v + 1, NULL) > 0)
            fprintf(stderr, "  server: %.*s\n", (int)strcspn(l, "\n"), l);
    }
}

static void urtc_stop(lg_backend_t *b)
{
    struct urtc_priv *p = b->priv;
    urtc_print_drops(b);
    lg_proc_stop(b->pid);
    b->pid = 0;
    if (p->out_fd >= 0)
        close(p->out_fd);
    p->out_fd = -1;
}

static int whip_post(lg_backend_t *b, lg_run_t *r, lg_client_t *c, const char *kind)
{
    char url[256];
    snprintf(url, sizeof url, "%s/%s/%s%d", b->url, kind, b->room, c->room);
    int st = peer_http_request("POST", url, "application/sdp", c->sdp, NULL, c->location,
                               sizeof c->location, http_body, sizeof http_body);
    if (st != 201) {
        fprintf(stderr, "load: POST %s: %d %.120s\n", url, st, st < 0 ? strerror(-st) : http_body);
        return st < 0 ? st : -EPROTO;
    }
    return lg_apply_answer(r, c, http_body);
}

static int urtc_exchange(lg_backend_t *b, lg_client_t *c, char **answer)
{
    char url[256];
    snprintf(url, sizeof url, "%s/whip/%s%d", b->url, b->room, c->room);
    char *body = malloc(65536);
    if (!body)
        return -ENOMEM;
    int st = peer_http_request("POST", url, "application/sdp", c->sdp, NULL, c->location,
                               sizeof c->location, body, 65536);
    if (st != 201) {
        free(body);
        return st < 0 ? st : -EPROTO;
    }
    *answer = body;
    return 0;
}

/* The sum of every sample of @name ("name" or "name{...}") in the server's /metrics; -1 if it
 * cannot be read. */
double lg_metric(const char *base_url, const char *name)
{
    static char body[1 << 18];
    char url[256];
    snprintf(url, sizeof url, "%s/metrics", base_url);
    if (peer_http_request("GET", url, NULL, NULL, NULL, NULL, 0, body, sizeof body) != 200)
        return -1;
    size_t nl = strlen(name);
    double sum = 0;
    for (char *l = body; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (strncmp(l, name, nl) == 0 && (l[nl] == ' ' || l[nl] == '{')) {
            const char *v = l[nl] == '{' ? strchr(l, '}') : l + nl;
            if (v)
                sum += strtod(v + (*v == '}'), NULL);
        }
    return sum;
}

/* urtc_shard_tx_packets_total summed over shards, from /metrics (docs/signaling.md). */
static double urtc_server_tx(lg_backend_t *b)
{
    return lg_metric(b->url, "urtc_shard_tx_packets_total");
}

static int urtc_publish(lg_backend_t *b, lg_run_t *r, lg_client_t *c)
{
    return whip_post(b, r, c, "whip");
}

static int urtc_subscribe(lg_backend_t *b, lg_run_t *r, lg_client_t *c, lg_client_t **pubs,
                          int npubs)
{
    (void)pubs, (void)npubs; /* WHEP: the server fills our sections with the room's publishers */
    return whip_post(b, r, c, "whep");
}

void lg_backend_urtc(lg_backend_t *b, const char *server_path, const char *server_ip,
                     const char *client_ip)
{
    static struct urtc_priv p;
    memset(b, 0, sizeof *b);
    snprintf(p.path, sizeof p.path, "%s", server_path);
    snprintf(p.srv_ip, sizeof p.srv_ip, "%s", server_ip);
    p.out_fd = -1;
    b->name = "urtc";
    b->sub_offers = true;
    b->media_ip = client_ip;
    b->start = urtc_start;
    b->stop = urtc_stop;
    b->publish = urtc_publish;
    b->subscribe = urtc_subscribe;
    b->exchange = urtc_exchange;
    b->server_tx = urtc_server_tx;
    b->priv = &p;
}

/* ---- scenarios ---------------------------------------------------------------------------- */

static void connect_batch(lg_backend_t *b, lg_run_t *r, lg_client_t **cl, int n, bool pub,
                          lg_client_t **pubs, int npubs)
{
    for (int i = 0; i < n; i += BATCH) {
        int k = n - i < BATCH ? n - i : BATCH;
        bool offer = pub || b->sub_offers;
        if (offer)
            (void)lg_make_offers(r, cl + i, k);
        for (int j = 0; j < k; j++) {
            lg_client_t *c = cl[i + j];
            if (offer && atomic_load(&c->state) != LG_SDP)
                continue;
            /* Setup time: from the signaling request to DTLS connected. */
            c->t0_ns = lg_now_ns();
            int ret = pub ? b->publish(b, r, c) : b->subscribe(b, r, c, pubs, npubs);
            if (ret < 0) {
                c->err = ret;
                if (atomic_load(&c->state) != LG_CONNECTED)
                    atomic_store(&c->state, LG_FAILED);
            }
        }
    }
}

/* Join storm: every offer first, then STORM_THREADS threads run the signaling exchanges while
 * this (the only posting) thread applies the answers as they come. */
#define STORM_THREADS 8

struct storm {
    lg_backend_t *b;
    lg_client_t **cl;
    int n;
    _Atomic int next;
    char **answers;
    _Atomic int *ready; /* 1 answer there, -1 failed */
};

static void *storm_worker(void *arg)
{
    struct storm *s = arg;
    for (;;) {
        int i = atomic_fetch_add(&s->next, 1);
        if (i >= s->n)
            return NULL;
        lg_client_t *c = s->cl[i];
        if (atomic_load(&c->state) != LG_SDP) {
            atomic_store(&s->ready[i], -1);
            continue;
        }
        c->t0_ns = lg_now_ns();
        atomic_store(&s->ready[i], s->b->exchange(s->b, c, &s->answers[i]) == 0 ? 1 : -1);
    }
}

static void connect_storm(lg_backend_t *b, lg_run_t *r, lg_client_t **cl, int n)
{
    struct storm s = {.b = b, .cl = cl, .n = n};
    s.answers = calloc((size_t)n, sizeof *s.answers);
    s.ready = calloc((size_t)n, sizeof *s.ready);
    if (!s.answers || !s.ready)
        goto out;
    (void)lg_make_offers(r, cl, n);
    pthread_t th[STORM_THREADS];
    int nth = 0;
    for (; nth < STORM_THREADS; nth++)
        if (pthread_create(&th[nth], NULL, storm_worker, &s) != 0)
            break;
    int done = 0;
    uint64_t end = lg_now_ns() + 60000000000ull; /* bounded: a minute */
    while (done < n && lg_now_ns() < end) {
        int progress = 0;
        for (int i = 0; i < n; i++) {
            int st = atomic_load(&s.ready[i]);
            if (st == 0 || st == 2)
                continue;
            if (st == 1 && lg_apply_answer(r, cl[i], s.answers[i]) < 0)
                st = -1;
            if (st < 0 && atomic_load(&cl[i]->state) != LG_CONNECTED)
                atomic_store(&cl[i]->state, LG_FAILED);
            atomic_store(&s.ready[i], 2);
            done++;
            progress++;
        }
        if (!progress) {
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
    }
    for (int i = 0; i < nth; i++)
        pthread_join(th[i], NULL);
out:
    for (int i = 0; s.answers && i < n; i++)
        free(s.answers[i]);
    free(s.answers);
    free(s.ready);
}

int lg_scenario(lg_backend_t *b, const lg_scn_t *s, const lg_media_t *m, lg_result_t *res)
{
    memset(res, 0, sizeof *res);
    res->pubs = s->pubs;
    res->subs = s->subs;
    int ret = b->start(b, s->srv_shards);
    if (ret < 0)
        return ret;
    long rss0 = lg_proc_rss_kib(b->pid);
    lg_run_t r;
    if ((ret = lg_run_init(&r, s->cli_shards, b->media_ip, m)) < 0) {
        b->stop(b);
        return ret;
    }
    r.progress = s->progress;
    r.label = s->name;
    int total = s->pubs + s->subs;
    lg_client_t **pubs = calloc((size_t)s->pubs + 1, sizeof *pubs);
    lg_client_t **subs = calloc((size_t)s->subs + 1, sizeof *subs);
    ret = pubs && subs ? 0 : -ENOMEM;
    for (int i = 0; i < s->pubs && ret == 0; i++)
        if (!(pubs[i] = lg_client_add(&r, true, s->audio, s->video, 0)))
            ret = -ENOMEM;
    for (int i = 0; i < s->subs && ret == 0; i++)
        if (!(subs[i] = lg_client_add(&r, false, s->audio, s->video, s->feeds)))
            ret = -ENOMEM;
    for (int i = 0; i < s->pubs && ret == 0; i++)
        pubs[i]->room = s->rooms > 1 ? i % s->rooms : 0;
    for (int i = 0; i < s->subs && ret == 0; i++)
        subs[i]->room = s->rooms > 1 ? i % s->rooms : 0;
    if (ret < 0)
        goto out;
    lg_snap_t a = {.hist = calloc(LG_HIST + 1, sizeof(uint32_t))};
    lg_snap_t z = {.hist = calloc(LG_HIST + 1, sizeof(uint32_t))};
    lg_snap_take(&r, b->pid, &z);
    if (s->storm && b->exchange)
        connect_storm(b, &r, pubs, s->pubs);
    else
        connect_batch(b, &r, pubs, s->pubs, true, NULL, 0);
    (void)lg_wait_connected(&r, pubs, s->pubs, 10000 + 20 * (unsigned)s->pubs);
    if (s->storm) {
        lg_snap_take(&r, b->pid, &a);
        lg_setup_times(r.cl, r.n, res);
        double srv = (double)(a.srv_cpu_ns - z.srv_cpu_ns) / 1e9;
        res->srv_cpu = srv / ((double)(a.t_ns - z.t_ns) / 1e9);
        /* handshakes per server CPU-second: what one core could sustain */
        res->fwd_pps_per_core = srv > 0 ? res->connected / srv : 0;
    } else {
        lg_start_media(&r);
        lg_pump(&r, 0.3, b->pid); /* publishers' first keyframes reach the server */
        connect_batch(b, &r, subs, s->subs, false, pubs, s->pubs);
        (void)lg_wait_connected(&r, subs, s->subs, 10000 + 20 * (unsigned)s->subs);
        lg_setup_times(r.cl, r.n, res);
        lg_pump(&r, s->warmup, b->pid);
        double tx0 = b->server_tx ? b->server_tx(b) : -1;
        lg_snap_take(&r, b->pid, &a);
        lg_pump(&r, s->secs, b->pid);
        lg_snap_take(&r, b->pid, &z);
        double tx1 = b->server_tx ? b->server_tx(b) : -1;
        lg_result_fill(&r, &a, &z, res);
        res->streams_expected = s->subs * s->feeds * ((s->audio ? 1 : 0) + (s->video ? 1 : 0));
        if (tx0 >= 0 && tx1 >= tx0)
            res->srv_tx_pps = (tx1 - tx0) / ((double)(z.t_ns - a.t_ns) / 1e9);
    }
    long rss1 = lg_proc_rss_kib(b->pid);
    res->srv_rss_kib = (double)rss1;
    res->rss_per_peer_kib =
        res->connected && rss1 > rss0 ? (double)(rss1 - rss0) / res->connected : 0;
    lg_snap_free(&a);
    lg_snap_free(&z);
    (void)total;
out:
    free(pubs);
    free(subs);
    lg_run_free(&r);
    b->stop(b);
    return ret;
}

int lg_ramp(lg_backend_t *b, const lg_scn_t *base, int start, int max, const lg_media_t *m,
            lg_result_t *steps, int cap, int *n)
{
    int last_ok = -1;
    *n = 0;
    for (int k = start; k <= max && *n < cap; k *= 2) {
        lg_scn_t s = *base;
        s.subs = k;
        char label[64];
        snprintf(label, sizeof label, "%s %s K=%d", b->name, base->name, k);
        s.name = label;
        lg_result_t *res = &steps[(*n)++];
        if (lg_scenario(b, &s, m, res) < 0)
            break;
        if (!lg_step_ok(res))
            break;
        last_ok = *n - 1;
    }
    return last_ok;
}

/* A publisher and a subscriber connected to each other (no server): the transit baseline. */
static int direct_baseline(const lg_media_t *m, double secs, bool progress, lg_result_t *res)
{
    memset(res, 0, sizeof *res);
    res->pubs = res->subs = 1;
    lg_run_t r;
    int ret = lg_run_init(&r, 1, "127.0.0.1", m);
    if (ret < 0)
        return ret;
    r.progress = progress;
    r.label = "direct";
    lg_client_t *p = lg_client_add(&r, true, true, true, 0);
    lg_client_t *s = lg_client_add(&r, false, true, true, 1);
    lg_snap_t a = {.hist = calloc(LG_HIST + 1, sizeof(uint32_t))};
    lg_snap_t z = {.hist = calloc(LG_HIST + 1, sizeof(uint32_t))};
    ret = -EIO;
    if (p && s && lg_make_offers(&r, &p, 1) == 1 && lg_answer_offer(&r, s, p->sdp) == 0 &&
        lg_apply_answer(&r, p, s->sdp) == 0) {
        lg_client_t *both[2] = {p, s};
        if (lg_wait_connected(&r, both, 2, 5000) == 2) {
            lg_setup_times(both, 2, res);
            lg_start_media(&r);
            lg_pump(&r, 0.5, 0);
            lg_snap_take(&r, 0, &a);
            lg_pump(&r, secs, 0);
            lg_snap_take(&r, 0, &z);
            lg_result_fill(&r, &a, &z, res);
            ret = 0;
        }
    }
    lg_snap_free(&a);
    lg_snap_free(&z);
    lg_run_free(&r);
    return ret;
}

/* ---- output ------------------------------------------------------------------------------- */

void lg_result_print(const char *label, const lg_result_t *r)
{
    printf("%-26s %4d/%-4d %6.1f %6.1f %8.0f %8.0f %6.1f %6.2f %5.2f %6.2f %6.2f %6.1f %6.1f %6.2f "
           "%8.0f %7.1f\n",
           label, r->connected, r->pubs + r->subs, r->setup_p50_ms, r->setup_p99_ms, r->srv_tx_pps,
           r->fwd_pps, r->fwd_kbps / 1000, r->loss * 100, r->jitter_ms, r->lat_p50_ms,
           r->lat_p99_ms, r->srv_cpu * 100, r->cli_cpu * 100, r->cpu_us_per_pkt,
           r->fwd_pps_per_core, r->rss_per_peer_kib);
    if (r->streams < r->streams_expected)
        printf("  only %d of the %d streams the subscribers asked for arrived\n", r->streams,
               r->streams_expected);
}

void lg_print_head(void)
{
    printf("%-26s %9s %6s %6s %8s %8s %6s %6s %5s %6s %6s %6s %6s %6s %8s %7s\n", "scenario",
           "conn", "set50", "set99", "srv_tx/s", "rx_pps", "Mb/s", "loss%", "jit", "lat50", "lat99",
           "srv%", "cli%", "us/pkt", "pps/core", "KiB/pr");
}

void lg_result_json(void *bj, const char *pfx, const lg_result_t *r)
{
    bench_json_t *j = bj;
    char k[96];
#define J(name, v)                                                                                 \
    do {                                                                                           \
        snprintf(k, sizeof k, "%s_%s", pfx, name);                                                 \
        bench_json_result(j, k, v);                                                                \
    } while (0)
    J("connected", r->connected);
    J("failed", r->failed);
    J("setup_p50_ms", r->setup_p50_ms);
    J("setup_p99_ms", r->setup_p99_ms);
    J("fwd_pps", r->fwd_pps);
    J("loss", r->loss);
    J("jitter_ms", r->jitter_ms);
    J("transit_p50_ms", r->lat_p50_ms);
    J("transit_p99_ms", r->lat_p99_ms);
    J("server_cpu", r->srv_cpu);
    J("cpu_us_per_pkt", r->cpu_us_per_pkt);
    J("pps_per_core", r->fwd_pps_per_core);
    J("rss_per_peer_kib", r->rss_per_peer_kib);
    J("client_cpu", r->cli_cpu);
    if (r->streams_expected) {
        J("streams", r->streams);
        J("streams_expected", r->streams_expected);
        J("streams_missing", r->streams_expected - r->streams);
    }
    if (r->handshakes_per_sec > 0)
        J("handshakes_per_sec", r->handshakes_per_sec);
#undef J
}

/* ---- the benchmark ------------------------------------------------------------------------ */

static bool want(const char *which, const char *name)
{
    return strcmp(which, "all") == 0 || strcmp(which, name) == 0 ||
           (strcmp(which, "smoke") == 0 && strcmp(name, "ramp") != 0 &&
            strcmp(name, "shards") != 0);
}

static int bench_load(int argc, char **argv, bool json)
{
    const char *which = bench_opt_str(argc, argv, "--scenario", "smoke");
    bool smoke = strcmp(which, "smoke") == 0;
    char def_srv[PATH_MAX];
    lg_sibling_path("urtc-server", def_srv, sizeof def_srv);
    const char *srv = bench_opt_str(argc, argv, "--server", def_srv);
    lg_scn_t base = {
        .warmup = bench_opt_double(argc, argv, "--warmup", smoke ? 1.0 : 2.0),
        .secs = bench_opt_double(argc, argv, "--secs", smoke ? 2.0 : 5.0),
        .srv_shards = (unsigned)bench_opt_long(argc, argv, "--server-shards", 1),
        .cli_shards = (unsigned)bench_opt_long(argc, argv, "--client-shards", 1),
        .progress = isatty(2) || bench_opt_flag(argc, argv, "--progress"),
    };
    int k = (int)bench_opt_long(argc, argv, "--k", smoke ? 8 : 32);
    int m = (int)bench_opt_long(argc, argv, "--m", smoke ? 3 : 6);
    int speakers = (int)bench_opt_long(argc, argv, "--speakers", 2);
    int listeners = (int)bench_opt_long(argc, argv, "--listeners", smoke ? 40 : 200);
    int storm = (int)bench_opt_long(argc, argv, "--storm", smoke ? 50 : 400);
    int ramp_max = (int)bench_opt_long(argc, argv, "--ramp-max", 256);
    double vkbps = bench_opt_double(argc, argv, "--video-kbps", 1000);
    if (k < 1 || m < 2 || speakers < 1 || listeners < 1 || storm < 1 || base.secs <= 0 ||
        base.secs > 600 || base.warmup < 0 || base.warmup > 60 || ramp_max > 4096) {
        fprintf(stderr, "load: bad option\n");
        return 2;
    }
    if (access(srv, X_OK) != 0) {
        fprintf(stderr, "load: %s not found (make all, or --server PATH)\n", srv);
        return 1;
    }
    lg_media_t media;
    if (lg_media_init(&media, vkbps, 640, 360) < 0) {
        fprintf(stderr, "load: cannot encode the media\n");
        return 1;
    }
    printf("load: media: Opus %.0f kb/s (50 pkt/s), VP8 640x360@30 %.0f kb/s; server %s\n",
           media.audio_kbps, media.video_kbps, srv);
    lg_backend_t b;
    lg_backend_urtc(&b, srv, "127.0.0.1", "127.0.0.1");
    bench_json_t j;
    bench_json_init(&j);
    int rc = 0;

    lg_result_t direct;
    if (direct_baseline(&media, base.secs, base.progress, &direct) < 0) {
        fprintf(stderr, "load: the direct baseline did not connect\n");
        lg_media_free(&media);
        return 1;
    }
    lg_print_head();
    lg_result_print("direct (no server)", &direct);
    lg_result_json(&j, "direct", &direct);
    double ratio = -1;

    struct {
        const char *name;
        lg_scn_t s;
    } list[] = {
        {"fanout",
         {.name = "fanout", .pubs = 1, .subs = k, .feeds = 1, .audio = true, .video = true}},
        {"meeting",
         {.name = "meeting", .pubs = m, .subs = m, .feeds = m - 1, .audio = true, .video = true}},
        {"audio",
         {.name = "audio", .pubs = speakers, .subs = listeners, .feeds = speakers, .audio = true}},
        {"storm", {.name = "storm", .pubs = storm, .audio = true, .storm = true}},
    };
    for (size_t i = 0; i < sizeof list / sizeof list[0]; i++) {
        if (!want(which, list[i].name))
            continue;
        lg_scn_t s = list[i].s;
        s.warmup = base.warmup;
        s.secs = base.secs;
        s.srv_shards = base.srv_shards;
        s.cli_shards = base.cli_shards;
        s.progress = base.progress;
        char label[64];
        if (s.storm)
            snprintf(label, sizeof label, "storm N=%d", s.pubs);
        else
            snprintf(label, sizeof label, "%s %dx%d", s.name, s.pubs, s.subs);
        lg_result_t res;
        if (s.storm && !smoke) {
            /* storm ramp: 50, 100, ... --storm clients at once until one fails */
            double best = 0, best_cpu = 0;
            for (int n = 50; n <= storm; n *= 2) {
                s.pubs = n;
                snprintf(label, sizeof label, "storm N=%d", n);
                if (lg_scenario(&b, &s, &media, &res) < 0)
                    break;
                lg_result_print(label, &res);
                printf("  storm: %d/%d connected in %.2f s: %.0f handshakes/s; server %.0f "
                       "handshakes per CPU-second\n",
                       res.connected, n, res.setup_secs, res.handshakes_per_sec,
                       res.fwd_pps_per_core);
                if (res.connected < n)
                    break;
                if (res.handshakes_per_sec > best) {
                    best = res.handshakes_per_sec;
                    best_cpu = res.fwd_pps_per_core;
                }
            }
            bench_json_result(&j, "storm_best_handshakes_per_sec", best);
            bench_json_result(&j, "storm_handshakes_per_cpu_sec", best_cpu);
            continue;
        }
        if (lg_scenario(&b, &s, &media, &res) < 0) {
            fprintf(stderr, "load: %s: setup failed\n", label);
            rc = 1;
            continue;
        }
        lg_result_print(label, &res);
        if (s.storm)
            printf("  storm: %d/%d connected in %.2f s: %.0f handshakes/s; server %.0f "
                   "handshakes per CPU-second\n",
                   res.connected, s.pubs, res.setup_secs, res.handshakes_per_sec,
                   res.fwd_pps_per_core);
        lg_result_json(&j, list[i].name, &res);
        if (strcmp(list[i].name, "fanout") == 0 && direct.lat_p50_ms > 0) {
            printf("  added by the server (transit - direct): p50 %.2f ms, p99 %.2f ms\n",
                   res.lat_p50_ms - direct.lat_p50_ms, res.lat_p99_ms - direct.lat_p99_ms);
            bench_json_result(&j, "fanout_added_p50_ms", res.lat_p50_ms - direct.lat_p50_ms);
            bench_json_result(&j, "fanout_added_p99_ms", res.lat_p99_ms - direct.lat_p99_ms);
            ratio = res.lat_p50_ms / direct.lat_p50_ms;
        }
        if (res.connected < s.pubs + s.subs)
            rc = 1;
    }
    if (want(which, "shards") && !smoke) {
        /* Two rooms (one per shard by the SFU's placement), fan-out 2K each (enough load that
         * the shards' fixed costs do not dominate), on a server with one shard and then two. */
        lg_result_t sh[2];
        bool ok = true;
        for (unsigned n = 1; n <= 2 && ok; n++) {
            lg_scn_t s = {.name = "shards",
                          .pubs = 2,
                          .subs = 4 * k,
                          .feeds = 1,
                          .rooms = 2,
                          .audio = true,
                          .video = true,
                          .warmup = base.warmup,
                          .secs = base.secs,
                          .srv_shards = n,
                          .cli_shards = base.cli_shards,
                          .progress = base.progress};
            char label[64];
            snprintf(label, sizeof label, "2 rooms 1x%d, %u shard%s", 2 * k, n, n > 1 ? "s" : "");
            ok = lg_scenario(&b, &s, &media, &sh[n - 1]) == 0;
            if (ok)
                lg_result_print(label, &sh[n - 1]);
        }
        if (ok && sh[0].fwd_pps_per_core > 0) {
            double x = 2 * sh[1].fwd_pps_per_core / sh[0].fwd_pps_per_core;
            printf("  two shards against one: %.2fx projected (forwarded packets per server "
                   "CPU-second kept at %.0f%%, times two cores; this machine cannot load two "
                   "server cores and the clients at once)\n",
                   x, 50 * x);
            bench_json_result(&j, "shards_projected_scaling", x);
        }
    }
    if (want(which, "ramp") && !smoke) {
        lg_scn_t s = {.name = "fanout",
                      .pubs = 1,
                      .feeds = 1,
                      .audio = true,
                      .video = true,
                      .warmup = base.warmup,
                      .secs = base.secs,
                      .srv_shards = base.srv_shards,
                      .cli_shards = base.cli_shards,
                      .progress = base.progress};
        lg_result_t steps[16];
        int n = 0;
        int ok = lg_ramp(&b, &s, 4, ramp_max, &media, steps, 16, &n);
        for (int i = 0; i < n; i++) {
            char label[64];
            snprintf(label, sizeof label, "ramp fanout 1x%d%s", steps[i].subs,
                     lg_step_ok(&steps[i]) ? "" : " (over)");
            lg_result_print(label, &steps[i]);
        }
        if (ok >= 0) {
            printf("  capacity (loss <= 1%%, p99 <= 50 ms): %.0f forwarded pkt/s at 1x%d\n",
                   steps[ok].fwd_pps, steps[ok].subs);
            bench_json_result(&j, "capacity_fwd_pps", steps[ok].fwd_pps);
            bench_json_result(&j, "capacity_k", steps[ok].subs);
        }
    }
    /* ratio: transit through the server over the direct transit (p50), fan-out scenario */
    if (ratio > 0)
        printf("transit via the server / direct (p50): %.2f (lower is better)\n", ratio);
    /* Transit through the server over the direct transit: lower is better, so it is a named
     * ratio rather than "ratio" (which reads "above 1 is better" across urtc-bench). */
    if (ratio > 0)
        bench_json_ratio_named(&j, "transit_p50_vs_direct", ratio);
    if (json)
        bench_json_print(&j, "load", -1);
    lg_media_free(&media);
    return rc;
}

BENCH_REGISTER(
    load,
    "N urtc client peers (ICE, DTLS, SRTP, own sockets) against urtc-server's SFU "
    "through WHIP/WHEP, replaying pre-encoded Opus (50 pkt/s) and VP8 (30 fps, "
    "--video-kbps 1000) with a send stamp in each payload. Scenarios (--scenario "
    "smoke|fanout|meeting|audio|storm|shards|ramp|all; smoke: the first four, small): fan-out "
    "1->K (--k), meeting of M (--m), audio room (--speakers, --listeners), join storm "
    "(--storm N; a ramp 50, 100, .. N outside smoke), two rooms on 1 then 2 server shards, ramp of "
    "fan-out until loss > 1% or p99 > 50 ms (--ramp-max). Measures "
    "forwarded pkt/s, loss, jitter, transit (p50/p99, minus a direct client-to-client "
    "baseline = added latency), setup time, server CPU (/proc schedstat) and RSS per "
    "peer. --secs, --warmup, --server-shards, --client-shards, --server PATH.",
    bench_load)
