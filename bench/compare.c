/* bench/compare.c: `urtc-bench compare`, urtc-server's SFU and Janus VideoRoom side by side.
 *
 * The same load generator (bench/load_core.c) drives both servers in the same run, one after
 * the other, with the same scenario: a fan-out ramp 1 -> K (K doubling), each step on a fresh
 * server process. urtc-server is reached through WHIP/WHEP, Janus (Debian `janus` 1.1.2)
 * through its HTTP API: one session; a publisher handle per publisher (join + publish with our
 * offer), a subscriber handle per subscriber (join ptype=subscriber with the feeds, answer the
 * offer Janus sends, start).
 *
 * Isolation (as in ../shared/lab/bench-peers): this process first moves into a network
 * namespace of its own (unshare(CLONE_NEWNET), so both servers and the clients live there and
 * nothing can leave the machine), with lo up and a veth v0 holding 127.0.0.2/32 (servers) and
 * 127.0.0.3/32 (clients). Janus needs it: it skips loopback interfaces when gathering and its
 * libnice sockets are bound to the interface (IP_UNICAST_IF), so the clients must sit on v0's
 * addresses too. urtc-server gets the same addresses for a fair comparison.
 *
 * Figures: CPU per forwarded packet for each server, the ratio (Janus / urtc: above 1 means
 * urtc spends less), and each one's capacity (last ramp step with loss <= 1% and p99 transit
 * <= 50 ms). With --out DIR: DIR/compare.json, DIR/compare.md and gnuplot PNGs of load against
 * CPU, loss and latency.
 */
#include "bench/bench.h"
#include "bench/load.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "signaling/peer_ws.h"

#define SRV_IP "127.0.0.2"
#define CLI_IP "127.0.0.3"
#define JANUS_ROOM 1234
#define MAX_STEPS 16

/* ---- network namespace -------------------------------------------------------------------- */

static int netns_setup(void)
{
    if (unshare(CLONE_NEWNET) < 0)
        return -errno;
    /* Children (ip, janus, urtc-server) inherit the namespace. */
    int ret = system("ip link set lo up && ip link add v0 type veth peer name v1 && "
                     "sysctl -qw net.ipv6.conf.v0.disable_ipv6=1 net.ipv6.conf.v1.disable_ipv6=1 "
                     "&& ip addr add " SRV_IP "/32 dev v0 && ip addr add " CLI_IP "/32 dev v0 && "
                     "ip link set v0 up && ip link set v1 up");
    return ret == 0 ? 0 : -EIO;
}

/* ---- Janus backend ------------------------------------------------------------------------ */

struct janus_priv {
    char dir[64]; /* config and log */
    uint64_t session;
    unsigned tx;
};

static char jbuf[65536];

static int write_file(const char *dir, const char *name, const char *text)
{
    char p[128];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    if (!f)
        return -errno;
    fputs(text, f);
    fclose(f);
    return 0;
}

/* The lab's configuration (../shared/lab/bench-peers/janus/mkconf.sh), loopback only: no
 * STUN/TURN, candidates only on 127.0.0.2, HTTP API on 127.0.0.1:8088 inside the namespace,
 * only the VideoRoom plugin and the HTTP transport. */
static int janus_conf(struct janus_priv *p)
{
    char main[2048];
    snprintf(main, sizeof main,
             "general: {\n configs_folder = \"%s\"\n"
             " plugins_folder = \"/usr/lib/x86_64-linux-gnu/janus/plugins\"\n"
             " transports_folder = \"/usr/lib/x86_64-linux-gnu/janus/transports\"\n"
             " events_folder = \"/usr/lib/x86_64-linux-gnu/janus/events\"\n"
             " loggers_folder = \"/usr/lib/x86_64-linux-gnu/janus/loggers\"\n"
             " debug_level = 3\n interface = \"" SRV_IP "\"\n session_timeout = 120\n}\n"
             "certificates: {\n}\n"
             "media: {\n ipv6 = false\n rtp_port_range = \"20000-29999\"\n}\n"
             "nat: {\n nice_debug = false\n ignore_mdns = true\n ice_enforce_list = \"" SRV_IP
             "\"\n}\n"
             "plugins: {\n disable = \"libjanus_audiobridge.so,libjanus_sip.so,libjanus_nosip.so,"
             "libjanus_streaming.so,libjanus_recordplay.so,libjanus_voicemail.so,"
             "libjanus_duktape.so,libjanus_lua.so,libjanus_videocall.so,libjanus_textroom.so,"
             "libjanus_echotest.so\"\n}\n"
             "transports: {\n disable = \"libjanus_mqtt.so,libjanus_rabbitmq.so,"
             "libjanus_nanomsg.so,libjanus_pfunix.so,libjanus_websockets.so\"\n}\n"
             "loggers: {\n disable = \"libjanus_jsonlog.so\"\n}\n"
             "events: {\n broadcast = false\n}\n",
             p->dir);
    int ret = write_file(p->dir, "janus.jcfg", main);
    if (ret == 0)
        ret = write_file(p->dir, "janus.transport.http.jcfg",
                         "general: {\n json = \"plain\"\n base_path = \"/janus\"\n http = true\n"
                         " port = 8088\n ip = \"127.0.0.1\"\n https = false\n}\n"
                         "admin: {\n admin_http = false\n}\ncors: {\n}\n");
    if (ret == 0)
        ret = write_file(p->dir, "janus.plugin.videoroom.jcfg",
                         "general: {\n}\nroom-1234: {\n description = \"bench\"\n"
                         " publishers = 1000\n bitrate = 2000000\n fir_freq = 10\n"
                         " audiocodec = \"opus\"\n videocodec = \"vp8\"\n}\n");
    return ret;
}

/* Janus (libmicrohttpd) answers with Transfer-Encoding: chunked (RFC 9112 §7.1), which
 * peer_http_request() returns as is: a body that does not start like JSON is decoded here. */
static void dechunk(char *b)
{
    if (*b == '{' || *b == '[' || !*b)
        return;
    char *in = b, *out = b;
    for (int guard = 0; guard < 100000; guard++) {
        char *end;
        unsigned long n = strtoul(in, &end, 16);
        char *crlf = strstr(end, "\r\n");
        if (end == in || !crlf || n == 0)
            break;
        in = crlf + 2;
        size_t have = strlen(in);
        if (n > have)
            n = have;
        memmove(out, in, n);
        out += n;
        in += n;
        if (in[0] == '\r' && in[1] == '\n')
            in += 2;
    }
    *out = 0;
}

static json_t *janus_post(struct janus_priv *p, const char *url, json_t *req)
{
    char tx[32];
    snprintf(tx, sizeof tx, "t%u", ++p->tx);
    json_object_set_new(req, "transaction", json_string(tx));
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    if (!body)
        return NULL;
    int st =
        peer_http_request("POST", url, "application/json", body, NULL, NULL, 0, jbuf, sizeof jbuf);
    free(body);
    if (st != 200) {
        fprintf(stderr, "compare: janus POST %s: %d\n", url, st);
        return NULL;
    }
    dechunk(jbuf);
    json_t *res = json_loads(jbuf, 0, NULL);
    const char *j = res ? json_string_value(json_object_get(res, "janus")) : NULL;
    if (!j || strcmp(j, "error") == 0) {
        fprintf(stderr, "compare: janus: %.200s\n", jbuf);
        json_decref(res);
        return NULL;
    }
    return res;
}

static uint64_t janus_data_id(json_t *res)
{
    json_t *id = json_object_get(json_object_get(res, "data"), "id");
    uint64_t v = json_is_integer(id) ? (uint64_t)json_integer_value(id) : 0;
    json_decref(res);
    return v;
}

/* Long-polls the session until an event from @handle that has a jsep (@want_jsep) or whose
 * plugin data has "videoroom": @what; 10 s at most. Other events are dropped (the flow is
 * serial: nothing else is awaited). */
static json_t *janus_event(lg_backend_t *b, uint64_t handle, bool want_jsep, const char *what)
{
    struct janus_priv *p = b->priv;
    char url[256];
    snprintf(url, sizeof url, "%s/janus/%llu?maxev=10", b->url, (unsigned long long)p->session);
    uint64_t end = lg_now_ns() + 10000000000ull;
    while (lg_now_ns() < end) {
        int st = peer_http_request("GET", url, NULL, NULL, NULL, NULL, 0, jbuf, sizeof jbuf);
        if (st != 200)
            continue;
        dechunk(jbuf);
        json_t *arr = json_loads(jbuf, 0, NULL);
        if (!arr)
            continue;
        if (!json_is_array(arr)) {
            json_t *a = json_array();
            json_array_append_new(a, arr);
            arr = a;
        }
        size_t i;
        json_t *ev;
        json_array_foreach(arr, i, ev)
        {
            json_t *s = json_object_get(ev, "sender");
            if (!json_is_integer(s) || (uint64_t)json_integer_value(s) != handle)
                continue;
            json_t *data = json_object_get(json_object_get(ev, "plugindata"), "data");
            if (json_object_get(data, "error")) {
                fprintf(stderr, "compare: janus: %s\n",
                        json_string_value(json_object_get(data, "error")));
                json_decref(arr);
                return NULL;
            }
            const char *vr = json_string_value(json_object_get(data, "videoroom"));
            if ((want_jsep && json_object_get(ev, "jsep")) || (what && vr && !strcmp(vr, what))) {
                json_incref(ev);
                json_decref(arr);
                return ev;
            }
        }
        json_decref(arr);
    }
    fprintf(stderr, "compare: janus: no event from handle %llu\n", (unsigned long long)handle);
    return NULL;
}

static uint64_t janus_attach(lg_backend_t *b)
{
    struct janus_priv *p = b->priv;
    char url[256];
    snprintf(url, sizeof url, "%s/janus/%llu", b->url, (unsigned long long)p->session);
    return janus_data_id(janus_post(
        p, url, json_pack("{s:s, s:s}", "janus", "attach", "plugin", "janus.plugin.videoroom")));
}

static int janus_msg(lg_backend_t *b, uint64_t h, json_t *body, json_t *jsep)
{
    struct janus_priv *p = b->priv;
    char url[256];
    snprintf(url, sizeof url, "%s/janus/%llu/%llu", b->url, (unsigned long long)p->session,
             (unsigned long long)h);
    json_t *req = json_pack("{s:s, s:o}", "janus", "message", "body", body);
    if (jsep)
        json_object_set_new(req, "jsep", jsep);
    json_t *res = janus_post(p, url, req);
    json_decref(res);
    return res ? 0 : -EPROTO;
}

static const char *jsep_sdp(json_t *ev)
{
    return json_string_value(json_object_get(json_object_get(ev, "jsep"), "sdp"));
}

static int janus_publish(lg_backend_t *b, lg_run_t *r, lg_client_t *c)
{
    uint64_t h = janus_attach(b);
    if (!h)
        return -EPROTO;
    c->j_handle = h;
    if (janus_msg(b, h,
                  json_pack("{s:s, s:s, s:i, s:s}", "request", "join", "ptype", "publisher", "room",
                            JANUS_ROOM, "display", "lg"),
                  NULL) < 0)
        return -EPROTO;
    json_t *ev = janus_event(b, h, false, "joined");
    if (!ev)
        return -EPROTO;
    json_t *id = json_object_get(json_object_get(json_object_get(ev, "plugindata"), "data"), "id");
    c->j_feed = json_is_integer(id) ? (uint64_t)json_integer_value(id) : 0;
    json_decref(ev);
    if (janus_msg(b, h, json_pack("{s:s}", "request", "publish"),
                  json_pack("{s:s, s:s, s:b}", "type", "offer", "sdp", c->sdp, "trickle", 0)) < 0)
        return -EPROTO;
    if (!(ev = janus_event(b, h, true, NULL)))
        return -EPROTO;
    int ret = jsep_sdp(ev) ? lg_apply_answer(r, c, jsep_sdp(ev)) : -EPROTO;
    json_decref(ev);
    return ret;
}

static int janus_subscribe(lg_backend_t *b, lg_run_t *r, lg_client_t *c, lg_client_t **pubs,
                           int npubs)
{
    uint64_t h = janus_attach(b);
    if (!h)
        return -EPROTO;
    c->j_handle = h;
    json_t *streams = json_array();
    /* a meeting (one room, M-1 feeds each): not our own party's publisher */
    bool one_room = npubs > 0 && pubs[0]->room == pubs[npubs - 1]->room;
    int skip = one_room && c->feeds < npubs ? (c->idx - npubs) % npubs : -1;
    for (int i = 0; i < npubs && (int)json_array_size(streams) < c->feeds; i++)
        if (i != skip && pubs[i]->j_feed && pubs[i]->room == c->room)
            json_array_append_new(streams, json_pack("{s:I}", "feed", (json_int_t)pubs[i]->j_feed));
    if (janus_msg(b, h,
                  json_pack("{s:s, s:s, s:i, s:o}", "request", "join", "ptype", "subscriber",
                            "room", JANUS_ROOM, "streams", streams),
                  NULL) < 0)
        return -EPROTO;
    json_t *ev = janus_event(b, h, true, NULL);
    if (!ev)
        return -EPROTO;
    int ret = jsep_sdp(ev) ? lg_answer_offer(r, c, jsep_sdp(ev)) : -EPROTO;
    json_decref(ev);
    if (ret < 0)
        return ret;
    return janus_msg(b, h, json_pack("{s:s}", "request", "start"),
                     json_pack("{s:s, s:s, s:b}", "type", "answer", "sdp", c->sdp, "trickle", 0));
}

static int janus_start(lg_backend_t *b, unsigned shards)
{
    (void)shards;
    struct janus_priv *p = b->priv;
    char log[128], cfg[128];
    snprintf(log, sizeof log, "%s/janus.log", p->dir);
    snprintf(cfg, sizeof cfg, "%s/janus.jcfg", p->dir);
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        int lf = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        int nul = open("/dev/null", O_RDONLY);
        if (lf >= 0) {
            dup2(lf, 1);
            dup2(lf, 2);
        }
        if (nul >= 0)
            dup2(nul, 0);
        execlp("janus", "janus", "-C", cfg, "-F", p->dir, "-o", (char *)NULL);
        _exit(127);
    }
    b->pid = pid;
    snprintf(b->url, sizeof b->url, "http://127.0.0.1:8088");
    char url[160];
    snprintf(url, sizeof url, "%s/janus/info", b->url);
    for (int i = 0; i < 100; i++) { /* 10 s */
        struct timespec ts = {0, 100000000};
        nanosleep(&ts, NULL);
        if (waitpid(pid, NULL, WNOHANG) == pid)
            break;
        if (peer_http_request("GET", url, NULL, NULL, NULL, NULL, 0, jbuf, sizeof jbuf) == 200) {
            snprintf(url, sizeof url, "%s/janus", b->url);
            p->session = janus_data_id(janus_post(p, url, json_pack("{s:s}", "janus", "create")));
            if (p->session)
                return 0;
            break;
        }
    }
    fprintf(stderr, "compare: janus did not start (log in %s)\n", log);
    lg_proc_stop(pid);
    b->pid = 0;
    return -EIO;
}

static void janus_stop(lg_backend_t *b)
{
    lg_proc_stop(b->pid);
    b->pid = 0;
}

static int backend_janus(lg_backend_t *b)
{
    static struct janus_priv p;
    memset(b, 0, sizeof *b);
    snprintf(p.dir, sizeof p.dir, "/tmp/urtc-bench-janus-XXXXXX");
    if (!mkdtemp(p.dir))
        return -errno;
    b->name = "janus";
    b->sub_offers = false;
    b->media_ip = CLI_IP;
    b->start = janus_start;
    b->stop = janus_stop;
    b->publish = janus_publish;
    b->subscribe = janus_subscribe;
    b->priv = &p;
    return janus_conf(&p);
}

/* ---- outputs ------------------------------------------------------------------------------ */

struct side {
    lg_backend_t *b;
    lg_result_t steps[MAX_STEPS];
    int n, ok;
};

static json_t *result_obj(const lg_result_t *r)
{
    return json_pack("{s:i, s:i, s:i, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f}",
                     "k", r->subs, "connected", r->connected, "failed", r->failed, "setup_p50_ms",
                     r->setup_p50_ms, "setup_p99_ms", r->setup_p99_ms, "fwd_pps", r->fwd_pps,
                     "fwd_mbps", r->fwd_kbps / 1000, "loss", r->loss, "jitter_ms", r->jitter_ms,
                     "transit_p50_ms", r->lat_p50_ms, "transit_p99_ms", r->lat_p99_ms, "server_cpu",
                     r->srv_cpu, "client_cpu", r->cli_cpu, "cpu_us_per_pkt", r->cpu_us_per_pkt,
                     "rss_per_peer_kib", r->rss_per_peer_kib);
}

static void write_outputs(const char *dir, const char *scn, struct side *s, int ns, double ratio,
                          const lg_media_t *m)
{
    /* fan-out: compare.*, compare-*.png; audio: compare-audio.*, compare-audio-*.png */
    char pre[32];
    snprintf(pre, sizeof pre, "compare%s%s", strcmp(scn, "fanout") ? "-" : "",
             strcmp(scn, "fanout") ? scn : "");
    mkdir(dir, 0755);
    char p[PATH_MAX];
    json_t *root = json_pack("{s:s, s:f, s:f, s:f}", "bench", "compare", "ratio", ratio,
                             "audio_kbps", m->audio_kbps, "video_kbps", m->video_kbps);
    for (int i = 0; i < ns; i++) {
        json_t *steps = json_array();
        for (int k = 0; k < s[i].n; k++)
            json_array_append_new(steps, result_obj(&s[i].steps[k]));
        json_object_set_new(root, s[i].b->name,
                            json_pack("{s:o, s:f, s:f}", "steps", steps, "capacity_fwd_pps",
                                      s[i].ok >= 0 ? s[i].steps[s[i].ok].fwd_pps : 0.0,
                                      "cpu_us_per_pkt",
                                      s[i].ok >= 0 ? s[i].steps[s[i].ok].cpu_us_per_pkt : 0.0));
    }
    snprintf(p, sizeof p, "%s/%s.json", dir, pre);
    json_dump_file(root, p, JSON_INDENT(1));
    json_decref(root);

    snprintf(p, sizeof p, "%s/%s.md", dir, pre);
    FILE *f = fopen(p, "w");
    if (f) {
        fprintf(f, "# urtc-server vs Janus VideoRoom: %s\n\n",
                strcmp(scn, "fanout") ? "audio-only room, 2 speakers -> K listeners"
                                      : "fan-out 1 -> K");
        fprintf(f,
                "Publisher: Opus %.0f kb/s + VP8 640x360@30 %.0f kb/s (pre-encoded). "
                "Ratio (Janus CPU/pkt / urtc CPU/pkt, at the largest step both passed): "
                "**%.2f**\n\n",
                m->audio_kbps, m->video_kbps, ratio);
        fprintf(f, "| server | K | connected | fwd pkt/s | Mb/s | loss %% | transit p50 ms | "
                   "p99 ms | server CPU %% | us CPU/pkt | pkt/s per core | setup p50 ms |\n");
        fprintf(f, "|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (int i = 0; i < ns; i++)
            for (int k = 0; k < s[i].n; k++) {
                const lg_result_t *r = &s[i].steps[k];
                fprintf(f,
                        "| %s | %d | %d/%d | %.0f | %.1f | %.2f | %.2f | %.2f | %.1f | %.2f | "
                        "%.0f | %.1f |\n",
                        s[i].b->name, r->subs, r->connected, r->pubs + r->subs, r->fwd_pps,
                        r->fwd_kbps / 1000, r->loss * 100, r->lat_p50_ms, r->lat_p99_ms,
                        r->srv_cpu * 100, r->cpu_us_per_pkt, r->fwd_pps_per_core, r->setup_p50_ms);
            }
        fprintf(f, "\nCapacity (last step with loss <= 1%% and p99 <= 50 ms):");
        for (int i = 0; i < ns; i++)
            fprintf(f, " %s %.0f pkt/s%s", s[i].b->name,
                    s[i].ok >= 0 ? s[i].steps[s[i].ok].fwd_pps : 0.0,
                    s[i].ok == s[i].n - 1 ? " (not reached: the ramp ended first)" : "");
        fprintf(f, "\n");
        fclose(f);
    }
    /* Plots: one data file per server, then gnuplot (if installed). */
    for (int i = 0; i < ns; i++) {
        snprintf(p, sizeof p, "%s/%s-%s.dat", dir, pre, s[i].b->name);
        FILE *d = fopen(p, "w");
        if (!d)
            continue;
        fprintf(d, "# K fwd_pps server_cpu_pct loss_pct transit_p50_ms transit_p99_ms\n");
        for (int k = 0; k < s[i].n; k++) {
            const lg_result_t *r = &s[i].steps[k];
            fprintf(d, "%d %.0f %.2f %.3f %.3f %.3f\n", r->subs, r->fwd_pps, r->srv_cpu * 100,
                    r->loss * 100, r->lat_p50_ms, r->lat_p99_ms);
        }
        fclose(d);
    }
    snprintf(p, sizeof p, "%s/%s.gp", dir, pre);
    f = fopen(p, "w");
    if (!f)
        return;
    fprintf(f, "set terminal pngcairo size 800,500\nset key top left\nset grid\n"
               "set xlabel 'forwarded packets/s'\n");
    const char *plots[][3] = {{"cpu", "server CPU (% of one core)", "3"},
                              {"loss", "loss (%)", "4"},
                              {"latency", "transit p99 (ms)", "6"}};
    for (int q = 0; q < 3; q++) {
        fprintf(f, "set output '%s/%s-%s.png'\nset ylabel '%s'\nplot ", dir, pre, plots[q][0],
                plots[q][1]);
        for (int i = 0; i < ns; i++)
            fprintf(f, "%s'%s/%s-%s.dat' using 2:%s with linespoints title '%s'", i ? ", " : "",
                    dir, pre, s[i].b->name, plots[q][2], s[i].b->name);
        fprintf(f, "\n");
    }
    fclose(f);
    char cmd[PATH_MAX + 64];
    snprintf(cmd, sizeof cmd, "gnuplot '%s' 2>/dev/null", p);
    if (system(cmd) != 0)
        fprintf(stderr, "compare: gnuplot failed or missing (apt-get install gnuplot-nox)\n");
}

/* ---- the benchmark ------------------------------------------------------------------------ */

static int bench_compare(int argc, char **argv, bool json)
{
    bool smoke = !bench_opt_flag(argc, argv, "--full");
    char def_srv[PATH_MAX];
    lg_sibling_path("urtc-server", def_srv, sizeof def_srv);
    const char *srv = bench_opt_str(argc, argv, "--server", def_srv);
    const char *out = bench_opt_str(argc, argv, "--out", NULL);
    int kmin = (int)bench_opt_long(argc, argv, "--k-min", 4);
    int kmax = (int)bench_opt_long(argc, argv, "--k-max", smoke ? 16 : 512);
    double vkbps = bench_opt_double(argc, argv, "--video-kbps", 1000);
    lg_scn_t base = {
        .name = "fanout",
        .pubs = 1,
        .feeds = 1,
        .audio = true,
        .video = true,
        .warmup = bench_opt_double(argc, argv, "--warmup", smoke ? 0.5 : 2.0),
        .secs = bench_opt_double(argc, argv, "--secs", smoke ? 1.5 : 5.0),
        .srv_shards = (unsigned)bench_opt_long(argc, argv, "--server-shards", 1),
        .cli_shards = (unsigned)bench_opt_long(argc, argv, "--client-shards", 1),
        .progress = isatty(2) || bench_opt_flag(argc, argv, "--progress"),
    };
    /* --scenario audio: the same ramp on an audio-only room with 2 speakers; K listeners */
    const char *scn = bench_opt_str(argc, argv, "--scenario", "fanout");
    if (strcmp(scn, "audio") == 0) {
        base.name = "audio";
        base.pubs = 2;
        base.feeds = 2;
        base.video = false;
    } else if (strcmp(scn, "fanout") != 0) {
        fprintf(stderr, "compare: --scenario fanout|audio\n");
        return 2;
    }
    if (kmin < 1 || kmax < kmin || kmax > 4096 || base.secs <= 0 || base.secs > 600) {
        fprintf(stderr, "compare: bad option\n");
        return 2;
    }
    if (access(srv, X_OK) != 0) {
        fprintf(stderr, "compare: %s not found (make all, or --server PATH)\n", srv);
        return 1;
    }
    if (system("command -v janus >/dev/null") != 0) {
        fprintf(stderr, "compare: janus is not installed (make deps: Debian janus)\n");
        return 1;
    }
    int ret = netns_setup();
    if (ret < 0) {
        fprintf(stderr, "compare: cannot create a network namespace (%s): run as root\n",
                strerror(-ret));
        return 1;
    }
    lg_media_t media;
    if (lg_media_init(&media, vkbps, 640, 360) < 0) {
        fprintf(stderr, "compare: cannot encode the media\n");
        return 1;
    }
    lg_backend_t ub, jb;
    lg_backend_urtc(&ub, srv, SRV_IP, CLI_IP); /* the servers' address, as Janus's */
    if (backend_janus(&jb) < 0) {
        fprintf(stderr, "compare: cannot write the Janus configuration\n");
        lg_media_free(&media);
        return 1;
    }
    struct side sides[2] = {{.b = &ub}, {.b = &jb}};
    printf("compare: %s, K = %d..%d (doubling); Opus %.0f kb/s + VP8 %.0f kb/s; "
           "servers on " SRV_IP ", clients on " CLI_IP " in a private netns\n",
           strcmp(scn, "fanout") ? "audio room 2 speakers -> K listeners" : "fan-out 1->K", kmin,
           kmax, media.audio_kbps, media.video_kbps);
    lg_print_head();
    for (int i = 0; i < 2; i++) {
        sides[i].ok =
            lg_ramp(sides[i].b, &base, kmin, kmax, &media, sides[i].steps, MAX_STEPS, &sides[i].n);
        for (int k = 0; k < sides[i].n; k++) {
            char label[64];
            snprintf(label, sizeof label, "%s 1x%d%s", sides[i].b->name, sides[i].steps[k].subs,
                     lg_step_ok(&sides[i].steps[k]) ? "" : " (over)");
            lg_result_print(label, &sides[i].steps[k]);
        }
    }
    /* The ratio at the largest K both servers passed (the same load for both). */
    int common = sides[0].ok < sides[1].ok ? sides[0].ok : sides[1].ok;
    double ratio = -1;
    if (common >= 0 && sides[0].steps[common].cpu_us_per_pkt > 0)
        ratio = sides[1].steps[common].cpu_us_per_pkt / sides[0].steps[common].cpu_us_per_pkt;
    for (int i = 0; i < 2; i++) {
        const lg_result_t *c = sides[i].ok >= 0 ? &sides[i].steps[sides[i].ok] : NULL;
        printf("%s: capacity %.0f forwarded pkt/s (K=%d)%s, CPU per forwarded packet %.2f us "
               "at K=%d\n",
               sides[i].b->name, c ? c->fwd_pps : 0.0, c ? c->subs : 0,
               sides[i].ok == sides[i].n - 1 ? " (ramp ended before loss: a lower bound)" : "",
               common >= 0 ? sides[i].steps[common].cpu_us_per_pkt : 0.0,
               common >= 0 ? sides[i].steps[common].subs : 0);
    }
    printf("ratio (Janus CPU/pkt / urtc CPU/pkt): %.2f\n", ratio);
    if (out)
        write_outputs(out, scn, sides, 2, ratio, &media);
    if (json) {
        bench_json_t j;
        bench_json_init(&j);
        for (int i = 0; i < 2; i++) {
            const lg_result_t *c = sides[i].ok >= 0 ? &sides[i].steps[sides[i].ok] : NULL;
            char k[64];
            snprintf(k, sizeof k, "%s_capacity_fwd_pps", sides[i].b->name);
            bench_json_result(&j, k, c ? c->fwd_pps : 0);
            snprintf(k, sizeof k, "%s_capacity_k", sides[i].b->name);
            bench_json_result(&j, k, c ? c->subs : 0);
            if (common >= 0) {
                const lg_result_t *r = &sides[i].steps[common];
                snprintf(k, sizeof k, "%s_cpu_us_per_pkt", sides[i].b->name);
                bench_json_result(&j, k, r->cpu_us_per_pkt);
                snprintf(k, sizeof k, "%s_fwd_pps", sides[i].b->name);
                bench_json_result(&j, k, r->fwd_pps);
                snprintf(k, sizeof k, "%s_transit_p99_ms", sides[i].b->name);
                bench_json_result(&j, k, r->lat_p99_ms);
                snprintf(k, sizeof k, "%s_server_cpu", sides[i].b->name);
                bench_json_result(&j, k, r->srv_cpu);
            }
        }
        bench_json_result(&j, "k", common >= 0 ? sides[0].steps[common].subs : 0);
        bench_json_print(&j, "compare", ratio);
    }
    lg_media_free(&media);
    return ratio > 0 ? 0 : 1;
}

BENCH_REGISTER(compare,
               "urtc-server's SFU against Janus VideoRoom (Debian janus) in the same run, in a "
               "private network namespace it creates (root): the load generator of `load` ramps "
               "a fan-out 1->K (--k-min 4 --k-max 16; --full: up to 512 with longer windows) on "
               "each server, fresh per step. Prints CPU per forwarded packet for both, the ratio "
               "(Janus / urtc: > 1 means urtc spends less) and each one's capacity under 1% loss "
               "and 50 ms p99. --out DIR writes compare.json, compare.md and PNG plots (gnuplot). "
               "--scenario audio: the same ramp on an audio-only room (2 speakers, K listeners). "
               "--secs, --warmup, --video-kbps, --server PATH.",
               bench_compare)
