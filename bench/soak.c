/* bench/soak.c: `urtc-bench soak`, the long run of issue #11: many audio and video peers in sfu
 * rooms of urtc-server for minutes, the server's and the peers' RSS and fds sampled at a fixed
 * interval, then a verdict (no growth after warm-up, no loss, everyone connected and receiving
 * every other member of its room, every member freed at the end).
 *
 * The peers are the load generator's clients (bench/load.h: urtc_pc with own sockets, full ICE,
 * DTLS and SRTP, replaying media encoded once), so that 200 of them fit on a small machine next
 * to the server (an urtc-peer process per member, with its own engine, encoder and decoders,
 * costs ~5% of a core for audio alone: docs/hardening.md). Unlike `urtc-bench load`, which uses
 * WHIP and WHEP, each peer is a member of the WebSocket room protocol (docs/signaling.md), as
 * the demo page is: it joins an sfu room, offers its two tracks (sendonly), answers every offer
 * of the server (the other members' tracks as they come, glare resolved by the server), applies
 * the server's trickled candidates, and receives the others on the same peer connection. Its
 * answers accept the server's chat data channel (an SCTP association each), but it sends no
 * chat: the relay is covered by tests/peer/sfu_test.c and the browser tests.
 *
 * Threads: the main thread does all signaling (one poll over every WebSocket) and paces the
 * media (lg_pump); shard threads run the pcs. */
#include "bench/bench.h"
#include "bench/load.h"
#include "signaling/peer_ws.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SK_SDP_CAP (64 << 10)
#define SK_MAX_SAMPLES 256

typedef struct sk_peer {
    lg_client_t *c;
    peer_ws_t ws;
    bool open;       /* the WebSocket is up */
    bool joined;     /* welcome received */
    bool offering;   /* our offer is out, its answer not yet applied */
    bool answering;  /* a server offer is being answered on the shard */
    _Atomic int job; /* answering: 1 answer ready in ans, -1 failed */
    char *offer;     /* the server offer being answered */
    char *ans;       /* our answer to it */
    unsigned offers, answers, candidates;
} sk_peer_t;

typedef struct sk_sample {
    double t;              /* seconds since the first sample */
    long srv_rss, cli_rss; /* KiB */
    int srv_fds, cli_fds;
    double members, rooms; /* urtc_sfu_members, urtc_rooms */
    lg_result_t win;       /* the window since the previous sample */
    uint64_t rx, expected, streams;
} sk_sample_t;

typedef struct sk_opts {
    int peers, room_size;
    double warmup, duration, interval, loss_pct, video_kbps;
    bool video, progress;
    unsigned srv_shards, cli_shards;
} sk_opts_t;

static uint64_t sk_errors, sk_glare;

static int count_fds(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return pid == getpid() ? n - 1 : n; /* not the DIR's own fd */
}

/* ---- shard jobs ---------------------------------------------------------------------------- */

static void job_answer_offer(urtc_pc_t *pc, void *arg)
{
    sk_peer_t *p = arg;
    int n = urtc_pc_set_remote_description(pc, URTC_SDP_OFFER, p->offer);
    if (n == 0)
        n = urtc_pc_create_answer(pc, p->ans, SK_SDP_CAP);
    if (n > 0)
        n = urtc_pc_set_local_description(pc, URTC_SDP_ANSWER, p->ans);
    if (n < 0)
        fprintf(stderr, "soak: peer %d: answering the server: %s\n", p->c->idx,
                urtc_pc_last_error(pc));
    atomic_store(&p->job, n < 0 ? -1 : 1);
}

static void job_candidate(urtc_pc_t *pc, void *arg)
{
    (void)urtc_pc_add_ice_candidate(pc, arg);
    free(arg);
}

/* ---- signaling ----------------------------------------------------------------------------- */

static void sk_send(sk_peer_t *p, json_t *m)
{
    char *s = json_dumps(m, JSON_COMPACT);
    json_decref(m);
    if (!s || peer_ws_send_text(&p->ws, s) < 0)
        sk_errors++;
    free(s);
}

static void on_message(lg_run_t *r, sk_peer_t *p, const char *text)
{
    json_t *m = json_loads(text, 0, NULL);
    const char *type = m ? json_string_value(json_object_get(m, "type")) : NULL;
    const char *sdp = m ? json_string_value(json_object_get(m, "sdp")) : NULL;
    if (!type) {
        sk_errors++;
    } else if (strcmp(type, "welcome") == 0) {
        p->joined = true;
        /* Our tracks at once (the server's first offer crosses it; it rolls back, answers ours
         * and offers again: docs/signaling.md). */
        p->offering = true;
        sk_send(p, json_pack("{s:s, s:i, s:s}", "type", "offer", "to", 0, "sdp", p->c->sdp));
    } else if (strcmp(type, "answer") == 0 && sdp) {
        if (!p->offering || lg_apply_answer(r, p->c, sdp) < 0)
            sk_errors++;
        p->offering = false;
    } else if (strcmp(type, "offer") == 0 && sdp) {
        if (p->offering) {
            sk_glare++; /* the impolite peer ignores an offer that crosses its own */
        } else if (p->answering) {
            sk_errors++; /* the server offers again only once answered */
        } else {
            size_t l = strlen(sdp) + 1;
            char *o = realloc(p->offer, l);
            if (o) {
                memcpy(o, sdp, l);
                p->offer = o;
                p->answering = true;
                atomic_store(&p->job, 0);
                p->offers++;
                if (lg_pc_post(r, p->c, job_answer_offer, p) < 0) {
                    p->answering = false;
                    sk_errors++;
                }
            }
        }
    } else if (strcmp(type, "candidate") == 0) {
        json_t *c = json_object_get(m, "candidate");
        const char *line =
            json_is_object(c) ? json_string_value(json_object_get(c, "candidate")) : NULL;
        char *dup = line && *line ? strdup(line) : NULL;
        if (dup && lg_pc_post(r, p->c, job_candidate, dup) < 0)
            free(dup);
        p->candidates += dup != NULL;
    } else if (strcmp(type, "error") == 0 || strcmp(type, "media-error") == 0 ||
               strcmp(type, "media-ended") == 0) {
        sk_errors++;
        if (sk_errors <= 8)
            fprintf(stderr, "soak: peer %d: %s\n", p->c->idx, text);
    }
    json_decref(m);
}

/* Reads every WebSocket that has something (waiting at most @timeout_ms) and sends the answers
 * the shards have finished. */
static void service(lg_run_t *r, sk_peer_t *ps, int n, struct pollfd *pf, int timeout_ms)
{
    for (int i = 0; i < n; i++) {
        sk_peer_t *p = &ps[i];
        int j = atomic_load(&p->job);
        if (p->answering && j != 0) {
            if (j > 0) {
                sk_send(p, json_pack("{s:s, s:i, s:s}", "type", "answer", "to", 0, "sdp", p->ans));
                p->answers++;
            } else {
                sk_errors++;
            }
            p->answering = false;
        }
        pf[i] = (struct pollfd){.fd = p->open ? p->ws.fd : -1, .events = POLLIN};
    }
    if (poll(pf, (nfds_t)n, timeout_ms) <= 0)
        return;
    for (int i = 0; i < n; i++) {
        if (!pf[i].revents)
            continue;
        for (;;) {
            char *msg = NULL;
            int ret = peer_ws_recv(&ps[i].ws, &msg, 0);
            if (ret <= 0) {
                if (ret < 0) {
                    fprintf(stderr, "soak: peer %d: the WebSocket closed (%s)\n", i,
                            strerror(-ret));
                    ps[i].open = false;
                    sk_errors++;
                }
                break;
            }
            on_message(r, &ps[i], msg);
            free(msg);
        }
    }
}

/* Pumps media and serves signaling for @secs. */
static void run_for(lg_run_t *r, sk_peer_t *ps, int n, struct pollfd *pf, double secs)
{
    uint64_t end = lg_now_ns() + (uint64_t)(secs * 1e9);
    while (lg_now_ns() < end) {
        lg_pump(r, 0.06, 0);
        service(r, ps, n, pf, 0);
    }
}

static void sample(lg_run_t *r, lg_backend_t *b, lg_snap_t *prev, lg_snap_t *cur, double t0,
                   sk_sample_t *s)
{
    lg_snap_take(r, b->pid, cur);
    memset(s, 0, sizeof *s);
    s->t = (double)cur->t_ns / 1e9 - t0;
    s->srv_rss = lg_proc_rss_kib(b->pid);
    s->cli_rss = lg_proc_rss_kib(getpid());
    s->srv_fds = count_fds(b->pid);
    s->cli_fds = count_fds(getpid());
    s->members = lg_metric(b->url, "urtc_sfu_members");
    s->rooms = lg_metric(b->url, "urtc_rooms");
    if (prev->t_ns)
        lg_result_fill(r, prev, cur, &s->win);
    s->rx = cur->rx_pkts;
    s->expected = cur->expected;
    s->streams = cur->streams;
    uint32_t *h = prev->hist;
    *prev = *cur;
    prev->hist = h;
    memcpy(prev->hist, cur->hist, (LG_HIST + 1) * sizeof *h);
}

static void print_sample(const sk_sample_t *s, int i)
{
    printf("%6d %7.0f %10ld %6d %10ld %6d %8.0f %6.0f %9.0f %9.0f %7.3f %8.1f %8.1f\n", i, s->t,
           s->srv_rss, s->srv_fds, s->cli_rss, s->cli_fds, s->members, s->rooms, s->win.tx_pps,
           s->win.fwd_pps, s->win.loss * 100, s->win.lat_p99_ms, s->win.srv_cpu * 100);
    fflush(stdout);
}

static int bench_soak(int argc, char **argv, bool json)
{
    sk_opts_t o = {
        .peers = (int)bench_opt_long(argc, argv, "--peers", 200),
        .room_size = (int)bench_opt_long(argc, argv, "--room-size", 4),
        .warmup = bench_opt_double(argc, argv, "--warmup", 60),
        .duration = bench_opt_double(argc, argv, "--duration", 600),
        .interval = bench_opt_double(argc, argv, "--interval", 60),
        .loss_pct = bench_opt_double(argc, argv, "--loss-pct", 0.5),
        .video_kbps = bench_opt_double(argc, argv, "--video-kbps", 150),
        .video = !bench_opt_flag(argc, argv, "--no-video"),
        .progress = bench_opt_flag(argc, argv, "--progress"),
        .srv_shards = (unsigned)bench_opt_long(argc, argv, "--server-shards", 2),
        .cli_shards = (unsigned)bench_opt_long(argc, argv, "--client-shards", 2),
    };
    char def_srv[512];
    lg_sibling_path("urtc-server", def_srv, sizeof def_srv);
    const char *srv = bench_opt_str(argc, argv, "--server", def_srv);
    if (o.peers < 2 || o.peers > 2000 || o.room_size < 2 || o.room_size > 16 || o.interval <= 0 ||
        o.duration < o.interval || o.duration / o.interval >= SK_MAX_SAMPLES) {
        fprintf(stderr,
                "soak: --peers 2..2000, --room-size 2..16, --interval > 0, "
                "--duration >= --interval (at most %d samples)\n",
                SK_MAX_SAMPLES - 1);
        return 2;
    }
    if (access(srv, X_OK) != 0) {
        fprintf(stderr, "soak: %s not found (make all, or --server PATH)\n", srv);
        return 2;
    }
    lg_media_t media;
    if (lg_media_init(&media, o.video_kbps, 320, 180) < 0) {
        fprintf(stderr, "soak: cannot encode the media\n");
        return 1;
    }
    lg_backend_t b;
    lg_backend_urtc(&b, srv, "127.0.0.1", "127.0.0.1");
    int rc = 1;
    lg_run_t r;
    sk_peer_t *ps = calloc((size_t)o.peers, sizeof *ps);
    struct pollfd *pf = calloc((size_t)o.peers, sizeof *pf);
    sk_sample_t *smp = calloc(SK_MAX_SAMPLES, sizeof *smp);
    lg_snap_t prev = {.hist = calloc(LG_HIST + 1, sizeof(uint32_t))};
    lg_snap_t cur = {.hist = calloc(LG_HIST + 1, sizeof(uint32_t))};
    if (!ps || !pf || !smp || !prev.hist || !cur.hist) {
        free(ps), free(pf), free(smp), free(prev.hist), free(cur.hist);
        lg_media_free(&media);
        return 1;
    }
    for (int i = 0; i < o.peers; i++)
        ps[i].ws.fd = -1; /* peer_ws_close() on every one at the end */
    if (b.start(&b, o.srv_shards) < 0) {
        fprintf(stderr, "soak: urtc-server did not start\n");
        goto out_media;
    }
    if (lg_run_init(&r, o.cli_shards, "127.0.0.1", &media) < 0) {
        fprintf(stderr, "soak: no client engine\n");
        goto out_server;
    }
    r.progress = false;
    r.label = "soak";
    int rooms = (o.peers + o.room_size - 1) / o.room_size;
    printf("soak: %d peers (audio%s) in %d sfu rooms of %d, server %u shards, %.0f s warm-up, "
           "%.0f s sampled every %.0f s\n",
           o.peers, o.video ? " and video" : " only", rooms, o.room_size, o.srv_shards, o.warmup,
           o.duration, o.interval);
    lg_client_t **cl = calloc((size_t)o.peers, sizeof *cl);
    for (int i = 0; cl && i < o.peers; i++) {
        if (!(cl[i] = lg_client_add(&r, true, true, o.video, 0)))
            goto out_run;
        cl[i]->room = i / o.room_size;
        ps[i].c = cl[i];
        if (!(ps[i].ans = malloc(SK_SDP_CAP)))
            goto out_run;
    }
    if (!cl)
        goto out_run;
    /* Every offer first (each pc gathers its host candidate), then the joins. */
    uint64_t t_setup = lg_now_ns();
    int ready = lg_make_offers(&r, cl, o.peers);
    if (ready < o.peers) {
        fprintf(stderr, "soak: only %d of %d offers\n", ready, o.peers);
        goto out_run;
    }
    lg_start_media(&r); /* a publisher sends once connected */
    char ws_url[256];
    snprintf(ws_url, sizeof ws_url, "ws%.200s/ws", b.url + 4); /* http://h:p -> ws://h:p/ws */
    for (int i = 0; i < o.peers; i++) {
        sk_peer_t *p = &ps[i];
        if (peer_ws_connect(&p->ws, ws_url) < 0) {
            fprintf(stderr, "soak: peer %d: cannot connect to %s\n", i, ws_url);
            goto out_run;
        }
        p->open = true;
        char room[32], name[32];
        snprintf(room, sizeof room, "soak%d", cl[i]->room);
        snprintf(name, sizeof name, "bot%d", i);
        sk_send(p, json_pack("{s:s, s:s, s:s, s:s}", "type", "join", "room", room, "name", name,
                             "mode", "sfu"));
        if (i % 16 == 15)
            run_for(&r, ps, i + 1, pf, 0.05);
    }
    /* Setup ends when every peer is connected and no negotiation is in flight (bounded). */
    uint64_t setup_end = lg_now_ns() + 120000000000ull;
    int connected = 0;
    for (;;) {
        run_for(&r, ps, o.peers, pf, 0.2);
        connected = 0;
        bool busy = false;
        for (int i = 0; i < o.peers; i++) {
            connected += atomic_load(&cl[i]->state) == LG_CONNECTED;
            busy |= ps[i].offering || ps[i].answering || !ps[i].joined;
        }
        if ((connected == o.peers && !busy) || lg_now_ns() > setup_end)
            break;
    }
    double setup_s = (double)(lg_now_ns() - t_setup) / 1e9;
    printf("soak: %d/%d connected in %.1f s\n", connected, o.peers, setup_s);
    run_for(&r, ps, o.peers, pf, o.warmup);

    printf("%6s %7s %10s %6s %10s %6s %8s %6s %9s %9s %7s %8s %8s\n", "sample", "t_s", "srv_rss_k",
           "s_fds", "cli_rss_k", "c_fds", "members", "rooms", "tx_pps", "rx_pps", "loss%", "p99_ms",
           "srv_cpu%");
    int ns = 0;
    double t0 = (double)lg_now_ns() / 1e9;
    prev.t_ns = 0;
    sample(&r, &b, &prev, &cur, t0, &smp[ns]);
    print_sample(&smp[ns], ns);
    ns++;
    int nint = (int)(o.duration / o.interval + 0.5);
    for (int k = 1; k <= nint; k++) {
        double left = t0 + k * o.interval - (double)lg_now_ns() / 1e9;
        if (left > 0)
            run_for(&r, ps, o.peers, pf, left);
        sample(&r, &b, &prev, &cur, t0, &smp[ns]);
        print_sample(&smp[ns], ns);
        ns++;
    }

    /* The verdict. */
    const sk_sample_t *a = &smp[0], *z = &smp[ns - 1];
    int kinds = o.video ? 2 : 1;
    uint64_t want_streams = 0;
    for (int rm = 0; rm < rooms; rm++) {
        int sz =
            o.peers - rm * o.room_size < o.room_size ? o.peers - rm * o.room_size : o.room_size;
        want_streams += (uint64_t)sz * (uint64_t)(sz - 1) * (uint64_t)kinds;
    }
    uint64_t rx = z->rx - a->rx, exp = z->expected - a->expected;
    double loss = exp ? 1.0 - (double)rx / (double)exp : 1.0;
    if (loss < 0)
        loss = 0;
    int ended = atomic_load(&r.ended);
    bool srv_rss_ok = z->srv_rss <= a->srv_rss + a->srv_rss / 10 + 4096;
    bool cli_rss_ok = z->cli_rss <= a->cli_rss + a->cli_rss / 10 + 4096;
    bool fds_ok = z->srv_fds <= a->srv_fds && z->cli_fds <= a->cli_fds;
    bool conn_ok = connected == o.peers && ended == 0;
    bool streams_ok = z->streams == want_streams;
    bool loss_ok = loss * 100 <= o.loss_pct;
    bool members_ok = z->members == o.peers && z->rooms == rooms;

    /* Leaving: every WebSocket closes; the server must free every member and room. */
    for (int i = 0; i < o.peers; i++) {
        peer_ws_close(&ps[i].ws); /* also one that broke earlier: its buffers */
        ps[i].open = false;
    }
    double left_members = -1, left_rooms = -1;
    for (int t = 0; t < 300; t++) { /* bounded: 30 s */
        left_members = lg_metric(b.url, "urtc_sfu_members");
        left_rooms = lg_metric(b.url, "urtc_rooms");
        if (left_members == 0 && left_rooms == 0)
            break;
        run_for(&r, ps, 0, pf, 0.1);
    }
    bool freed_ok = left_members == 0 && left_rooms == 0;
    printf("soak: server RSS %ld -> %ld KiB (%s), peers' RSS %ld -> %ld KiB (%s), fds server %d "
           "-> %d, peers %d -> %d (%s)\n",
           a->srv_rss, z->srv_rss, srv_rss_ok ? "ok" : "GREW", a->cli_rss, z->cli_rss,
           cli_rss_ok ? "ok" : "GREW", a->srv_fds, z->srv_fds, a->cli_fds, z->cli_fds,
           fds_ok ? "ok" : "GREW");
    printf("soak: %d/%d connected, %d lost a connection later (%s); streams %llu of %llu (%s); "
           "%llu of %llu packets received, loss %.3f%% (limit %.2f%%: %s); server members %.0f, "
           "rooms %.0f (%s); after leaving: members %.0f, rooms %.0f (%s); signaling errors "
           "%llu, glare %llu\n",
           connected, o.peers, ended, conn_ok ? "ok" : "FAILED", (unsigned long long)z->streams,
           (unsigned long long)want_streams, streams_ok ? "ok" : "FAILED", (unsigned long long)rx,
           (unsigned long long)exp, loss * 100, o.loss_pct, loss_ok ? "ok" : "FAILED", z->members,
           z->rooms, members_ok ? "ok" : "FAILED", left_members, left_rooms,
           freed_ok ? "ok" : "FAILED", (unsigned long long)sk_errors, (unsigned long long)sk_glare);
    bool ok = srv_rss_ok && cli_rss_ok && fds_ok && conn_ok && streams_ok && loss_ok &&
              members_ok && freed_ok && sk_errors == 0;
    printf("soak: verdict: %s\n", ok ? "ok" : "FAILED");
    if (json) {
        bench_json_t j;
        bench_json_init(&j);
        bench_json_result(&j, "peers", o.peers);
        bench_json_result(&j, "room_size", o.room_size);
        bench_json_result(&j, "connected", connected);
        bench_json_result(&j, "ended", ended);
        bench_json_result(&j, "setup_secs", setup_s);
        bench_json_result(&j, "samples", ns);
        bench_json_result(&j, "srv_rss_first_kib", (double)a->srv_rss);
        bench_json_result(&j, "srv_rss_last_kib", (double)z->srv_rss);
        bench_json_result(&j, "cli_rss_first_kib", (double)a->cli_rss);
        bench_json_result(&j, "cli_rss_last_kib", (double)z->cli_rss);
        bench_json_result(&j, "srv_fds_first", a->srv_fds);
        bench_json_result(&j, "srv_fds_last", z->srv_fds);
        bench_json_result(&j, "cli_fds_first", a->cli_fds);
        bench_json_result(&j, "cli_fds_last", z->cli_fds);
        bench_json_result(&j, "streams", (double)z->streams);
        bench_json_result(&j, "streams_expected", (double)want_streams);
        bench_json_result(&j, "rx_packets", (double)rx);
        bench_json_result(&j, "loss_pct", loss * 100);
        bench_json_result(&j, "members_left", left_members);
        bench_json_result(&j, "signaling_errors", (double)sk_errors);
        bench_json_result(&j, "ok", ok);
        bench_json_print(&j, "soak", -1);
    }
    rc = ok ? 0 : 1;
out_run:
    for (int i = 0; i < o.peers; i++)
        peer_ws_close(&ps[i].ws);
    lg_run_free(&r);
    for (int i = 0; i < o.peers; i++) {
        free(ps[i].offer);
        free(ps[i].ans);
    }
    free(cl);
out_server:
    b.stop(&b);
out_media:
    lg_media_free(&media);
    free(ps), free(pf), free(smp), free(prev.hist), free(cur.hist);
    return rc;
}

BENCH_REGISTER(soak,
               "The soak run of issue #11 (tests/soak/soak200.sh runs it): --peers N (200) "
               "client peers, each a member of the WebSocket room protocol in sfu rooms of "
               "--room-size (4) on a fresh urtc-server (--server-shards 2), sending Opus "
               "(50 pkt/s) and VP8 (30 fps, --video-kbps 150; --no-video) replayed from one "
               "encoding and receiving every other member of its room. After --warmup (60 s) it "
               "samples every --interval (60 s) for --duration (600 s) the server's and this "
               "process's RSS and fds, the SFU's members and rooms, and per window the packet "
               "rates, loss and p99 transit; then judges: RSS at the end within 10% + 4 MiB of "
               "the first sample, no fd growth, every peer connected and none lost later, every "
               "stream received, loss <= --loss-pct (0.5), and every member and room freed "
               "within 30 s of the WebSockets closing. Exit 0 when all hold. --client-shards, "
               "--server PATH.",
               bench_soak)
