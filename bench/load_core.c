/* bench/load_core.c: the load generator's clients, media and measurements (bench/load.h). */
#include "bench/load.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SDP_CAP (64 << 10)
#define VP8_CHUNK 1100 /* VP8 bytes per RTP packet (plus descriptor and trailer) */

uint64_t lg_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Single writer: a plain load + store is enough (no read-modify-write needed). */
#define LG_ADD(x, v)                                                                               \
    atomic_store_explicit(&(x), atomic_load_explicit(&(x), memory_order_relaxed) + (v),            \
                          memory_order_relaxed)
#define LG_GET(x) atomic_load_explicit(&(x), memory_order_relaxed)

/* ---- media -------------------------------------------------------------------------------- */

static uint8_t *dup_pad(const uint8_t *d, size_t len, size_t want)
{
    size_t n = len > want ? len : want;
    uint8_t *p = calloc(1, n);
    if (p)
        memcpy(p, d, len);
    return p;
}

/* Encodes one loop of each with urtc's test sources. Video frames are padded (zeros after the
 * VP8 frame data, which decoders ignore and servers never look at) to reach @video_kbps on
 * average; the keyframe stays the biggest frame, so each loop starts with a burst. */
int lg_media_init(lg_media_t *m, double video_kbps, int width, int height)
{
    memset(m, 0, sizeof *m);
    urtc_test_source_t *a = urtc_test_source_create("opus", 0, 0, 0);
    urtc_test_source_t *v = urtc_test_source_create("VP8", width, height, 30);
    if (!a || !v) {
        urtc_test_source_destroy(a);
        urtc_test_source_destroy(v);
        return -ENOMEM;
    }
    size_t abytes = 0, vbytes = 0;
    for (int i = 0, tries = 0; i < LG_AUDIO_FRAMES; i++) {
        urtc_frame_t f;
        int ret = urtc_test_source_next(a, &f);
        if (ret <= 0) {
            if (ret < 0 || ++tries > 4 * LG_AUDIO_FRAMES) /* bounded */
                goto fail;
            i--; /* the encoder skipped one: take the next */
            continue;
        }
        /* ~40 kb/s: 100 bytes of payload per 20 ms, trailer included. */
        m->audio_len[i] = f.len + LG_TRAILER > 100 ? f.len : 100 - LG_TRAILER;
        if (!(m->audio[i] = dup_pad(f.data, f.len, m->audio_len[i])))
            goto fail;
        abytes += m->audio_len[i] + LG_TRAILER;
    }
    size_t raw[LG_VIDEO_FRAMES] = {0};
    const uint8_t *tmp[LG_VIDEO_FRAMES] = {0};
    uint8_t *keep[LG_VIDEO_FRAMES] = {0};
    urtc_test_source_request_keyframe(v);
    int got = 0, tries = 0;
    while (got < LG_VIDEO_FRAMES && tries++ < 4 * LG_VIDEO_FRAMES) {
        urtc_frame_t f;
        int ret = urtc_test_source_next(v, &f);
        if (ret < 0)
            goto fail;
        if (ret == 0)
            continue;
        if (got == 0 && !f.keyframe) {
            urtc_test_source_request_keyframe(v);
            continue;
        }
        keep[got] = dup_pad(f.data, f.len, f.len);
        raw[got] = f.len;
        tmp[got] = keep[got];
        got++;
    }
    if (got < LG_VIDEO_FRAMES)
        goto fail;
    size_t total = 0;
    for (int i = 0; i < LG_VIDEO_FRAMES; i++)
        total += raw[i];
    /* Target bytes per loop (3 s), then spread the missing bytes evenly over delta frames. */
    double want = video_kbps * 1000.0 / 8.0 * (LG_VIDEO_FRAMES / 30.0);
    size_t add =
        want > (double)total ? (size_t)((want - (double)total) / (LG_VIDEO_FRAMES - 1)) : 0;
    for (int i = 0; i < LG_VIDEO_FRAMES; i++) {
        size_t len = raw[i] + (i ? add : 0);
        m->video[i] = dup_pad(tmp[i], raw[i], len);
        m->video_len[i] = len;
        free(keep[i]);
        if (!m->video[i])
            goto fail;
        vbytes += len;
    }
    m->audio_kbps = (double)abytes * 8 / 1000.0 / (LG_AUDIO_FRAMES * 0.02);
    m->video_kbps = (double)vbytes * 8 / 1000.0 / (LG_VIDEO_FRAMES / 30.0);
    urtc_test_source_destroy(a);
    urtc_test_source_destroy(v);
    return 0;
fail:
    urtc_test_source_destroy(a);
    urtc_test_source_destroy(v);
    lg_media_free(m);
    return -EIO;
}

void lg_media_free(lg_media_t *m)
{
    for (int i = 0; i < LG_AUDIO_FRAMES; i++)
        free(m->audio[i]);
    for (int i = 0; i < LG_VIDEO_FRAMES; i++)
        free(m->video[i]);
    memset(m, 0, sizeof *m);
}

/* ---- run ---------------------------------------------------------------------------------- */

static pthread_mutex_t lg_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t lg_cv = PTHREAD_COND_INITIALIZER;

static void lg_signal(void)
{
    pthread_mutex_lock(&lg_mu);
    pthread_cond_broadcast(&lg_cv);
    pthread_mutex_unlock(&lg_mu);
}

int lg_run_init(lg_run_t *r, unsigned shards, const char *media_ip, const lg_media_t *m)
{
    memset(r, 0, sizeof *r);
    urtc_engine_config_t cfg = {.shards = shards, .media_ip = media_ip, .max_peers = 8192};
    if (!(r->eng = urtc_engine_create(&cfg)))
        return -EIO;
    r->shards = urtc_engine_shards(r->eng);
    r->media = m;
    r->media_ip = media_ip;
    r->stats = calloc(r->shards, sizeof *r->stats);
    r->sctx = calloc(r->shards, sizeof *r->sctx);
    if (!r->stats || !r->sctx) {
        lg_run_free(r);
        return -ENOMEM;
    }
    for (unsigned i = 0; i < r->shards; i++)
        r->sctx[i] = (struct lg_shard_ctx){.run = r, .idx = i};
    return 0;
}

static _Atomic int lg_closed;

static void job_close(urtc_pc_t *pc, void *arg)
{
    lg_client_t *c = arg;
    urtc_pc_close(pc); /* freed at the end of this tick; no callback after this */
    c->pc = NULL;
    atomic_fetch_add(&lg_closed, 1);
}

void lg_run_free(lg_run_t *r)
{
    atomic_store(&r->sending, false);
    /* Close every pc on its shard before the engine goes: urtc_engine_destroy() stops the
     * peers but does not free the urtc_pc_t of connections still open (LeakSanitizer). */
    if (r->eng) {
        atomic_store(&lg_closed, 0);
        int posted = 0;
        for (int i = 0; i < r->n; i++) {
            lg_client_t *c = r->cl[i];
            if (!c->pc)
                continue;
            for (int t = 0; t < 2000; t++) { /* bounded: 2 s */
                int ret = urtc_pc_post(r->eng, c->pc, job_close, c);
                if (ret == 0)
                    posted++;
                if (ret != -EAGAIN)
                    break;
                sleep_ms(1);
            }
        }
        for (int t = 0; t < 500 && atomic_load(&lg_closed) < posted; t++)
            sleep_ms(2);
        sleep_ms(30); /* the shards' next ticks free them */
        urtc_engine_destroy(r->eng);
    }
    for (int i = 0; i < r->n; i++) {
        free(r->cl[i]->sdp);
        free(r->cl[i]->remote);
        free(r->cl[i]);
    }
    free(r->cl);
    free(r->stats);
    free(r->sctx);
    memset(r, 0, sizeof *r);
}

lg_client_t *lg_client_add(lg_run_t *r, bool publisher, bool audio, bool video, int feeds)
{
    if (r->n == r->cap) {
        int cap = r->cap ? r->cap * 2 : 64;
        lg_client_t **n = realloc(r->cl, (size_t)cap * sizeof *n);
        if (!n)
            return NULL;
        r->cl = n;
        r->cap = cap;
    }
    lg_client_t *c = calloc(1, sizeof *c);
    if (!c || !(c->sdp = malloc(SDP_CAP))) {
        free(c);
        return NULL;
    }
    c->run = r;
    c->idx = r->n;
    c->shard = (int)((unsigned)r->n % r->shards);
    c->publisher = publisher;
    c->audio = audio;
    c->video = video;
    c->feeds = feeds;
    c->atr = c->vtr = -1;
    r->cl[r->n++] = c;
    return c;
}

/* ---- callbacks (shard threads) ------------------------------------------------------------ */

static void set_state(lg_client_t *c, int s)
{
    atomic_store(&c->state, s);
    lg_signal();
}

static void cb_state(urtc_pc_t *pc, urtc_pc_state_t s, void *user)
{
    (void)pc;
    lg_client_t *c = user;
    if (s == URTC_PC_CONNECTED && atomic_load(&c->state) != LG_CONNECTED) {
        c->t_conn_ns = lg_now_ns();
        set_state(c, LG_CONNECTED);
    } else if (s == URTC_PC_FAILED || s == URTC_PC_CLOSED) {
        if (atomic_load(&c->state) != LG_CONNECTED)
            set_state(c, LG_FAILED);
        else
            atomic_fetch_add(&c->run->ended, 1); /* lost after connecting (consent, DTLS) */
    }
}

static struct lg_stream *stream_of(lg_client_t *c, uint32_t ssrc, uint16_t seq, bool *fresh)
{
    for (int i = 0; i < c->nst; i++)
        if (c->st[i].ssrc == ssrc)
            return &c->st[i];
    if (c->nst == LG_STREAMS)
        return NULL;
    struct lg_stream *s = &c->st[c->nst++];
    LG_ADD(c->run->stats[c->shard].streams, 1);
    *s = (struct lg_stream){.ssrc = ssrc, .max_ext = seq, .last_transit = -1};
    *fresh = true;
    return s;
}

static void cb_rtp(urtc_pc_t *pc, int tr, const urtc_rtp_packet_t *p, void *user)
{
    (void)pc, (void)tr;
    lg_client_t *c = user;
    lg_stats_t *st = &c->run->stats[c->shard];
    uint64_t now = lg_now_ns();
    LG_ADD(st->rx_pkts, 1);
    LG_ADD(st->rx_bytes, p->len);
    bool fresh = false;
    struct lg_stream *s = stream_of(c, p->ssrc, p->seq, &fresh);
    if (!s)
        return;
    /* Expected packets from the highest extended sequence number (RFC 3550 A.3). */
    if (fresh) {
        LG_ADD(st->expected, 1);
    } else {
        int16_t d = (int16_t)(p->seq - (uint16_t)s->max_ext);
        if (d > 0) {
            s->max_ext += (uint32_t)d;
            LG_ADD(st->expected, (uint64_t)d);
        }
    }
    if (p->payload_len < LG_TRAILER)
        return;
    const uint8_t *t = p->payload + p->payload_len - LG_TRAILER;
    uint32_t magic = (uint32_t)t[0] << 24 | (uint32_t)t[1] << 16 | (uint32_t)t[2] << 8 | t[3];
    if (magic != LG_MAGIC)
        return;
    uint64_t sent = 0;
    for (int i = 4; i < 12; i++)
        sent = sent << 8 | t[i];
    int64_t transit = (int64_t)(now - sent);
    if (transit < 0)
        transit = 0;
    uint64_t b = (uint64_t)transit / (LG_HIST_US * 1000);
    if (b > LG_HIST)
        b = LG_HIST;
    LG_ADD(st->hist[b], 1);
    LG_ADD(st->lat_n, 1);
    /* RFC 3550 §6.4.1 with the send stamp as the sender's clock: J += (|D| - J) / 16. */
    if (s->last_transit >= 0) {
        int64_t d = transit - s->last_transit;
        if (d < 0)
            d = -d;
        s->jitter_ns += (d - s->jitter_ns) / 16;
    }
    s->last_transit = transit;
    LG_ADD(st->jitter_sum_ns, (uint64_t)s->jitter_ns);
}

/* A PLI or FIR from the server (RFC 4585 §6.3.1, RFC 5104 §4.3.1): restart the video loop at
 * its keyframe. */
static void cb_rtcp(urtc_pc_t *pc, const uint8_t *d, size_t len, void *user)
{
    (void)pc;
    lg_client_t *c = user;
    size_t off = 0;
    while (off + 4 <= len) {
        uint8_t fmt = d[off] & 31, pt = d[off + 1];
        size_t l = ((size_t)d[off + 2] << 8 | d[off + 3]) * 4 + 4;
        if (pt == 206 && (fmt == 1 || fmt == 4))
            atomic_store(&c->want_key, true);
        off += l;
    }
}

static const urtc_pc_callbacks_t lg_cbs = {
    .on_state = cb_state, .on_rtp = cb_rtp, .on_rtcp = cb_rtcp};

/* ---- jobs --------------------------------------------------------------------------------- */

static bool client_create(urtc_shard_t *sh, lg_client_t *c)
{
    urtc_pc_config_t cfg = {.own_socket = true, .cname = "urtc-bench"};
    if (!(c->pc = urtc_pc_create(sh, &cfg, &lg_cbs, c))) {
        c->err = -ENOMEM;
        set_state(c, LG_FAILED);
        return false;
    }
    return true;
}

static void job_offer(urtc_shard_t *sh, void *arg)
{
    lg_client_t *c = arg;
    if (!client_create(sh, c))
        return;
    if (c->publisher) {
        if (c->audio)
            c->atr = urtc_pc_add_transceiver(c->pc, URTC_KIND_AUDIO, URTC_SENDONLY, "lg", "a");
        if (c->video)
            c->vtr = urtc_pc_add_transceiver(c->pc, URTC_KIND_VIDEO, URTC_SENDONLY, "lg", "v");
    } else {
        for (int f = 0; f < c->feeds; f++) {
            if (c->audio)
                (void)urtc_pc_add_transceiver(c->pc, URTC_KIND_AUDIO, URTC_RECVONLY, NULL, NULL);
            if (c->video)
                (void)urtc_pc_add_transceiver(c->pc, URTC_KIND_VIDEO, URTC_RECVONLY, NULL, NULL);
        }
    }
    int n = urtc_pc_create_offer(c->pc, c->sdp, SDP_CAP);
    if (n > 0)
        n = urtc_pc_set_local_description(c->pc, URTC_SDP_OFFER, c->sdp);
    if (n < 0) {
        c->err = n;
        fprintf(stderr, "load: offer: %s\n", urtc_pc_last_error(c->pc));
        set_state(c, LG_FAILED);
        return;
    }
    set_state(c, LG_SDP);
}

static void job_answer(urtc_pc_t *pc, void *arg)
{
    lg_client_t *c = arg;
    int ret = urtc_pc_set_remote_description(pc, URTC_SDP_ANSWER, c->remote);
    if (ret < 0) {
        c->err = ret;
        fprintf(stderr, "load: answer: %s\n", urtc_pc_last_error(pc));
        set_state(c, LG_FAILED);
    }
}

static void job_answer_offer(urtc_shard_t *sh, void *arg)
{
    lg_client_t *c = arg;
    if (!client_create(sh, c))
        return;
    int n = urtc_pc_set_remote_description(c->pc, URTC_SDP_OFFER, c->remote);
    if (n == 0 && c->publisher) {
        if (c->audio)
            c->atr = urtc_pc_add_transceiver(c->pc, URTC_KIND_AUDIO, URTC_SENDONLY, "lg", "a");
        if (c->video)
            c->vtr = urtc_pc_add_transceiver(c->pc, URTC_KIND_VIDEO, URTC_SENDONLY, "lg", "v");
    }
    if (n == 0)
        n = urtc_pc_create_answer(c->pc, c->sdp, SDP_CAP);
    if (n > 0)
        n = urtc_pc_set_local_description(c->pc, URTC_SDP_ANSWER, c->sdp);
    if (n < 0) {
        c->err = n;
        fprintf(stderr, "load: answering an offer: %s\n", urtc_pc_last_error(c->pc));
        set_state(c, LG_FAILED);
        return;
    }
    set_state(c, LG_SDP);
}

static int post_retry(lg_run_t *r, int shard, void (*fn)(urtc_shard_t *, void *), void *arg)
{
    for (int i = 0; i < 2000; i++) { /* bounded: 2 s */
        int ret = urtc_engine_post(r->eng, shard, fn, arg);
        if (ret != -EAGAIN)
            return ret;
        sleep_ms(1);
    }
    return -EAGAIN;
}

int lg_pc_post(lg_run_t *r, lg_client_t *c, void (*fn)(urtc_pc_t *, void *), void *arg)
{
    for (int i = 0; i < 2000; i++) {
        int ret = urtc_pc_post(r->eng, c->pc, fn, arg);
        if (ret != -EAGAIN)
            return ret;
        sleep_ms(1);
    }
    return -EAGAIN;
}

/* Waits until @pred holds for every client in @cl (bounded). */
static int wait_all(lg_client_t **cl, int n, int want_min, unsigned timeout_ms)
{
    uint64_t end = lg_now_ns() + (uint64_t)timeout_ms * 1000000ull;
    pthread_mutex_lock(&lg_mu);
    for (;;) {
        int done = 0, good = 0;
        for (int i = 0; i < n; i++) {
            int s = atomic_load(&cl[i]->state);
            if (s >= want_min)
                done++;
            if (s == want_min || (want_min == LG_SDP && s == LG_CONNECTED))
                good++;
        }
        if (done == n || lg_now_ns() >= end) {
            pthread_mutex_unlock(&lg_mu);
            return good;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 20000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&lg_cv, &lg_mu, &ts);
    }
}

int lg_make_offers(lg_run_t *r, lg_client_t **cl, int n)
{
    for (int i = 0; i < n; i++) {
        cl[i]->t0_ns = lg_now_ns();
        if (post_retry(r, cl[i]->shard, job_offer, cl[i]) < 0) {
            cl[i]->err = -EAGAIN;
            atomic_store(&cl[i]->state, LG_FAILED);
        }
    }
    return wait_all(cl, n, LG_SDP, 5000 + 5 * (unsigned)n);
}

int lg_apply_answer(lg_run_t *r, lg_client_t *c, const char *answer)
{
    free(c->remote);
    if (!(c->remote = strdup(answer)))
        return -ENOMEM;
    return lg_pc_post(r, c, job_answer, c);
}

int lg_answer_offer(lg_run_t *r, lg_client_t *c, const char *offer)
{
    free(c->remote);
    if (!(c->remote = strdup(offer)))
        return -ENOMEM;
    if (!c->t0_ns)
        c->t0_ns = lg_now_ns();
    int ret = post_retry(r, c->shard, job_answer_offer, c);
    if (ret < 0)
        return ret;
    lg_client_t *one[1] = {c};
    return wait_all(one, 1, LG_SDP, 5000) == 1 ? 0 : -ETIMEDOUT;
}

int lg_wait_connected(lg_run_t *r, lg_client_t **cl, int n, unsigned timeout_ms)
{
    (void)r;
    return wait_all(cl, n, LG_CONNECTED, timeout_ms);
}

/* ---- sending (shard threads) -------------------------------------------------------------- */

static void put_trailer(uint8_t *t, uint64_t now)
{
    t[0] = LG_MAGIC >> 24;
    t[1] = (uint8_t)(LG_MAGIC >> 16);
    t[2] = (uint8_t)(LG_MAGIC >> 8);
    t[3] = (uint8_t)LG_MAGIC;
    for (int i = 0; i < 8; i++)
        t[4 + i] = (uint8_t)(now >> (56 - 8 * i));
}

static void send_audio(lg_run_t *r, lg_client_t *c, lg_stats_t *st)
{
    unsigned f = (unsigned)(c->audio_sent % LG_AUDIO_FRAMES);
    uint8_t buf[1500];
    size_t len = r->media->audio_len[f];
    memcpy(buf, r->media->audio[f], len);
    put_trailer(buf + len, lg_now_ns());
    len += LG_TRAILER;
    int ret =
        urtc_pc_send_rtp(c->pc, c->atr, "opus", (uint32_t)(c->audio_sent * 960), false, buf, len);
    if (ret < 0)
        LG_ADD(st->send_err, 1);
    else {
        LG_ADD(st->tx_pkts, 1);
        LG_ADD(st->tx_bytes, len);
    }
    c->audio_sent++;
}

/* RFC 7741 §4.2: a one-byte payload descriptor, S set on the first packet of the frame (PID 0);
 * the marker bit on the last packet (§4.1). */
static void send_video(lg_run_t *r, lg_client_t *c, lg_stats_t *st)
{
    if (atomic_exchange(&c->want_key, false))
        c->vframe = 0;
    unsigned f = c->vframe++ % LG_VIDEO_FRAMES;
    const uint8_t *d = r->media->video[f];
    size_t left = r->media->video_len[f], off = 0;
    uint32_t ts = (uint32_t)(c->video_sent * 3000);
    uint8_t buf[1500];
    while (left) {
        size_t n = left > VP8_CHUNK ? VP8_CHUNK : left;
        buf[0] = off == 0 ? 0x10 : 0x00;
        memcpy(buf + 1, d + off, n);
        put_trailer(buf + 1 + n, lg_now_ns());
        off += n;
        left -= n;
        int ret = urtc_pc_send_rtp(c->pc, c->vtr, "VP8", ts, left == 0, buf, 1 + n + LG_TRAILER);
        if (ret < 0)
            LG_ADD(st->send_err, 1);
        else {
            LG_ADD(st->tx_pkts, 1);
            LG_ADD(st->tx_bytes, 1 + n + LG_TRAILER);
        }
    }
    c->video_sent++;
}

static void job_send(urtc_shard_t *sh, void *arg)
{
    (void)sh;
    struct lg_shard_ctx *x = arg;
    lg_run_t *r = x->run;
    atomic_store(&x->busy, 0);
    if (!atomic_load(&r->sending))
        return;
    lg_stats_t *st = &r->stats[x->idx];
    uint64_t el = lg_now_ns() - r->media_t0;
    uint64_t a_due = el / 20000000ull + 1, v_due = el * 30 / 1000000000ull + 1;
    for (int i = 0; i < r->n; i++) {
        lg_client_t *c = r->cl[i];
        if (c->shard != (int)x->idx || !c->publisher || atomic_load(&c->state) != LG_CONNECTED)
            continue;
        /* A late job catches up a few frames, then skips (the sender never bursts more). */
        if (c->audio_sent + 5 < a_due)
            c->audio_sent = a_due - 5;
        if (c->video_sent + 3 < v_due)
            c->video_sent = v_due - 3;
        while (c->atr >= 0 && c->audio_sent < a_due)
            send_audio(r, c, st);
        while (c->vtr >= 0 && c->video_sent < v_due)
            send_video(r, c, st);
    }
}

/* Clients must not be added while media runs (job_send walks r->cl). */
void lg_start_media(lg_run_t *r)
{
    if (atomic_load(&r->sending))
        return;
    r->media_t0 = lg_now_ns();
    atomic_store(&r->sending, true);
}

/* ---- /proc -------------------------------------------------------------------------------- */

uint64_t lg_proc_cpu_ns(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return 0;
    uint64_t sum = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char p[128];
        snprintf(p, sizeof p, "/proc/%d/task/%.20s/schedstat", (int)pid, e->d_name);
        FILE *f = fopen(p, "r");
        unsigned long long ns = 0;
        if (f) {
            if (fscanf(f, "%llu", &ns) != 1)
                ns = 0;
            fclose(f);
        }
        sum += ns;
    }
    closedir(d);
    if (sum == 0) { /* no schedstat: utime + stime from /proc/<pid>/stat */
        snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
        FILE *f = fopen(path, "r");
        if (f) {
            unsigned long ut = 0, stt = 0;
            if (fscanf(f, "%*d (%*[^)]) %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut,
                       &stt) == 2)
                sum = (uint64_t)(ut + stt) * (1000000000ull / (uint64_t)sysconf(_SC_CLK_TCK));
            fclose(f);
        }
    }
    return sum;
}

long lg_proc_rss_kib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kib = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

void lg_proc_stop(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    for (int i = 0; i < 300; i++) { /* 3 s, then SIGKILL */
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return;
        sleep_ms(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static uint64_t self_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- measurements ------------------------------------------------------------------------- */

void lg_snap_take(lg_run_t *r, pid_t server, lg_snap_t *s)
{
    uint32_t *h = s->hist;
    memset(s, 0, sizeof *s);
    s->hist = h;
    s->t_ns = lg_now_ns();
    s->srv_cpu_ns = server > 0 ? lg_proc_cpu_ns(server) : 0;
    s->cli_cpu_ns = self_cpu_ns();
    for (unsigned i = 0; i < r->shards; i++) {
        lg_stats_t *st = &r->stats[i];
        s->rx_pkts += LG_GET(st->rx_pkts);
        s->rx_bytes += LG_GET(st->rx_bytes);
        s->expected += LG_GET(st->expected);
        s->lat_n += LG_GET(st->lat_n);
        s->jitter_sum_ns += LG_GET(st->jitter_sum_ns);
        s->tx_pkts += LG_GET(st->tx_pkts);
        s->streams += LG_GET(st->streams);
    }
    if (!s->hist)
        return;
    memset(s->hist, 0, (LG_HIST + 1) * sizeof *s->hist);
    for (unsigned i = 0; i < r->shards; i++)
        for (int b = 0; b <= LG_HIST; b++)
            s->hist[b] += LG_GET(r->stats[i].hist[b]);
}

void lg_snap_free(lg_snap_t *s)
{
    free(s->hist);
    s->hist = NULL;
}

static double hist_q(const uint32_t *a, const uint32_t *b, uint64_t total, double q)
{
    if (!total)
        return 0;
    uint64_t want = (uint64_t)(q * (double)total), cum = 0;
    if (want >= total)
        want = total - 1;
    for (int i = 0; i <= LG_HIST; i++) {
        cum += b[i] - a[i];
        if (cum > want)
            return (i + 0.5) * LG_HIST_US / 1000.0;
    }
    return LG_HIST * LG_HIST_US / 1000.0;
}

void lg_result_fill(lg_run_t *r, const lg_snap_t *a, const lg_snap_t *b, lg_result_t *res)
{
    (void)r;
    double dt = (double)(b->t_ns - a->t_ns) / 1e9;
    uint64_t rx = b->rx_pkts - a->rx_pkts, ex = b->expected - a->expected;
    uint64_t ln = b->lat_n - a->lat_n;
    res->tx_pps = (double)(b->tx_pkts - a->tx_pkts) / dt;
    res->streams = (int)b->streams;
    res->fwd_pps = (double)rx / dt;
    res->fwd_kbps = (double)(b->rx_bytes - a->rx_bytes) * 8 / 1000.0 / dt;
    res->loss = ex > rx ? (double)(ex - rx) / (double)ex : 0;
    res->jitter_ms = ln ? (double)(b->jitter_sum_ns - a->jitter_sum_ns) / (double)ln / 1e6 : 0;
    if (a->hist && b->hist) {
        res->lat_p50_ms = hist_q(a->hist, b->hist, ln, 0.50);
        res->lat_p99_ms = hist_q(a->hist, b->hist, ln, 0.99);
        res->lat_max_ms = hist_q(a->hist, b->hist, ln, 1.0);
    }
    double srv = (double)(b->srv_cpu_ns - a->srv_cpu_ns) / 1e9;
    res->srv_cpu = srv / dt;
    res->cli_cpu = (double)(b->cli_cpu_ns - a->cli_cpu_ns) / 1e9 / dt;
    res->cpu_us_per_pkt = rx ? srv * 1e6 / (double)rx : 0;
    res->fwd_pps_per_core = srv > 0 ? (double)rx / srv : 0;
}

bool lg_step_ok(const lg_result_t *r)
{
    return r->connected > 0 && r->failed * 100 <= r->pubs + r->subs && r->loss <= 0.01 &&
           r->lat_p99_ms <= 50;
}

static int cmp_u64(const void *x, const void *y)
{
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

void lg_setup_times(lg_client_t **cl, int n, lg_result_t *res)
{
    uint64_t *v = calloc((size_t)n + 1, sizeof *v);
    int k = 0, failed = 0;
    uint64_t first = UINT64_MAX, last = 0;
    for (int i = 0; i < n && v; i++) {
        if (atomic_load(&cl[i]->state) == LG_CONNECTED && cl[i]->t_conn_ns > cl[i]->t0_ns) {
            v[k++] = cl[i]->t_conn_ns - cl[i]->t0_ns;
            if (cl[i]->t0_ns < first)
                first = cl[i]->t0_ns;
            if (cl[i]->t_conn_ns > last)
                last = cl[i]->t_conn_ns;
        } else {
            failed++;
        }
    }
    res->connected = k;
    res->failed = failed;
    if (k && v) {
        qsort(v, (size_t)k, sizeof *v, cmp_u64);
        res->setup_p50_ms = (double)v[k / 2] / 1e6;
        size_t i99 = (size_t)((k * 99 + 99) / 100); /* nearest rank: ceil(0.99 k) */
        res->setup_p99_ms = (double)v[(i99 ? i99 : 1) - 1] / 1e6;
        res->setup_secs = (double)(last - first) / 1e9;
        res->handshakes_per_sec = res->setup_secs > 0 ? k / res->setup_secs : 0;
    }
    free(v);
}

/* Sends media for @secs (a send job per shard every 20 ms; a shard whose last job has not run
 * yet is skipped) and draws a progress line every half second. */
void lg_pump(lg_run_t *r, double secs, pid_t server)
{
    uint64_t start = lg_now_ns(), end = start + (uint64_t)(secs * 1e9), next_prog = start;
    lg_snap_t prev = {0}, cur = {0};
    lg_snap_take(r, server, &prev);
    while (lg_now_ns() < end) {
        for (unsigned i = 0; i < r->shards && atomic_load(&r->sending); i++) {
            int z = 0;
            if (!atomic_compare_exchange_strong(&r->sctx[i].busy, &z, 1))
                continue;
            if (urtc_engine_post(r->eng, (int)i, job_send, &r->sctx[i]) < 0)
                atomic_store(&r->sctx[i].busy, 0);
        }
        uint64_t now = lg_now_ns();
        if (r->progress && now >= next_prog && now > start) {
            lg_snap_take(r, server, &cur);
            if (cur.t_ns > prev.t_ns + 100000000ull) {
                lg_result_t x = {0};
                lg_result_fill(r, &prev, &cur, &x);
                fprintf(stderr,
                        "\r[%s] %4.1fs tx %7.0f pps  rx %7.0f pps  %6.1f Mb/s  loss %5.2f%%  "
                        "server cpu %5.1f%%  client cpu %5.1f%%   ",
                        r->label ? r->label : "load", (double)(now - start) / 1e9, x.tx_pps,
                        x.fwd_pps, x.fwd_kbps / 1000, x.loss * 100, x.srv_cpu * 100,
                        x.cli_cpu * 100);
                prev = cur;
            }
            next_prog = now + 500000000ull;
        }
        sleep_ms(20);
    }
    if (r->progress)
        fprintf(stderr, "\r%*s\r", 120, "");
}
