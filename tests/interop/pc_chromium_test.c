/* tests/interop/pc_chromium_test.c: whole calls between the urtc public API and headless
 * Chromium (Debian chromium), in a private network namespace with only lo.
 *
 * The test serves a page (below) over a loopback HTTP socket and starts Chromium on it with a
 * fake camera and microphone. The page runs two calls, one after the other:
 *   1. Chromium offers (its fake camera's VP8, its Opus, a data channel it opens with DCEP),
 *      POSTs the offer (ICE gathering complete) to /offer; urtc answers through the API.
 *   2. urtc offers (GET /urtc-offer: audio, video and a data channel urtc opens with DCEP),
 *      Chromium answers (its tracks go on the offered transceivers) and POSTs to /answer.
 * In each call urtc sends the 440 Hz tone (Opus) and its test pattern (VP8) with
 * urtc_pc_send_frame() and a data-channel message every second; Chromium sends its media and
 * one message. After 6 s of media the page POSTs its getStats() figures to /result:
 * Chromium decoded urtc's VP8 (framesDecoded) and received its Opus; urtc decoded Chromium's
 * VP8 and Opus (urtc_decoder_*); messages arrived both ways; Chromium parsed urtc's RTCP
 * (remote-outbound-rtp from its SRs, roundTripTime from its report blocks); urtc's
 * transport-cc feedback lets Chromium's send-side estimate rise (availableOutgoingBitrate).
 *
 * Chromium is started directly (no Playwright: the page drives itself); flags as in
 * /work/shared/lab/interop (README, chromium/common.mjs). Skipped when Chromium is not
 * installed or unshare(CLONE_NEWNET) is refused. */
#include "urtc/urtc.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHROMIUM "/usr/bin/chromium"
#define BUF_LEN (128 * 1024)
#define MEDIA_MS 6000

static const char page[] =
    "<!doctype html><html><body><script>\n"
    "const MEDIA_MS = 6000, RESEND_MS = 2000;\n"
    "const sleep = (ms) => new Promise(r => setTimeout(r, ms));\n"
    "async function post(p, body) { return (await fetch(p, {method: 'POST', body})).text(); }\n"
    "function gathered(pc) {\n"
    "  return new Promise(r => {\n"
    "    if (pc.iceGatheringState === 'complete') return r();\n"
    "    pc.addEventListener('icegatheringstatechange', () => {\n"
    "      if (pc.iceGatheringState === 'complete') r(); });\n"
    "    setTimeout(r, 3000);\n"
    "  });\n"
    "}\n"
    "async function figures(pc) {\n"
    "  const o = {video_frames_decoded: 0, video_packets: 0, audio_packets: 0,\n"
    "             audio_samples: 0, audio_energy: 0, codecs: []};\n"
    "  (await pc.getStats()).forEach(v => {\n"
    "    if (v.type === 'inbound-rtp' && v.kind === 'video') {\n"
    "      o.video_frames_decoded += v.framesDecoded || 0;\n"
    "      o.video_packets += v.packetsReceived || 0;\n"
    "      o.video_width = v.frameWidth; o.video_height = v.frameHeight;\n"
    "    }\n"
    "    if (v.type === 'inbound-rtp' && v.kind === 'audio') {\n"
    "      o.audio_packets += v.packetsReceived || 0;\n"
    "      o.audio_samples += v.totalSamplesReceived || 0;\n"
    "      o.audio_energy += v.totalAudioEnergy || 0;\n"
    "    }\n"
    "    if (v.type === 'codec') o.codecs.push(v.mimeType);\n"
    "    if (v.type === 'remote-outbound-rtp') o.sr_packets = (o.sr_packets || 0) +\n"
    "        (v.packetsSent || 0);\n"
    "    if (v.type === 'candidate-pair' && v.nominated &&\n"
    "        v.availableOutgoingBitrate !== undefined)\n"
    "      o.out_estimate_bps = Math.round(v.availableOutgoingBitrate);\n"
    "    if (v.type === 'outbound-rtp' && v.kind === 'video')\n"
    "      o.video_bytes_sent = (o.video_bytes_sent || 0) + (v.bytesSent || 0);\n"
    "    if (v.type === 'remote-inbound-rtp' && v.roundTripTime !== undefined)\n"
    "      o.rtt_us = Math.max(o.rtt_us || 0, Math.round(v.roundTripTime * 1e6));\n"
    "    if (v.type === 'data-channel') (o.dc_stats = o.dc_stats || []).push(\n"
    "        [v.label, v.state, v.messagesSent, v.messagesReceived].join(' '));\n"
    "  });\n"
    "  return o;\n"
    "}\n"
    "async function call(chromiumOffers) {\n"
    "  const r = {dc_received: 0, dc_messages: []};\n"
    "  try {\n"
    "    const stream = await navigator.mediaDevices.getUserMedia(\n"
    "        {audio: true, video: {width: 320, height: 240}});\n"
    "    const pc = new RTCPeerConnection();\n"
    "    pc.ontrack = (e) => { if (e.track.kind !== 'audio') return;\n"
    "      const a = new Audio(); a.srcObject = new MediaStream([e.track]);\n"
    "      a.play().catch(() => {}); document.body.appendChild(a); };\n"
    "    const onmsg = (e) => { r.dc_received++;\n"
    "      if (r.dc_messages.length < 3) r.dc_messages.push(String(e.data)); };\n"
    "    let chan = null;\n"
    "    if (chromiumOffers) {\n"
    "      stream.getTracks().forEach(t => pc.addTrack(t, stream));\n"
    "      const dc = pc.createDataChannel('from-chromium'); chan = dc;\n"
    "      dc.onopen = () => dc.send('hello from chromium');\n"
    "      dc.onmessage = onmsg;\n"
    "      await pc.setLocalDescription(await pc.createOffer());\n"
    "      await gathered(pc);\n"
    "      const sdp = await post('/offer', pc.localDescription.sdp);\n"
    "      await pc.setRemoteDescription({type: 'answer', sdp});\n"
    "    } else {\n"
    "      pc.ondatachannel = (e) => { const dc = e.channel; r.dc_label = dc.label; chan = dc;\n"
    "        const hi = (how) => { if (r.dc_greeted) return;\n"
    "          r.dc_greeted = how + ' in ' + dc.readyState;\n"
    "          try { dc.send('hello from chromium'); }\n"
    "          catch (x) { r.dc_error = String(x) + ' in ' + dc.readyState; } };\n"
    "        dc.onmessage = (m) => { onmsg(m); hi('on a message'); };\n"
    "        if (dc.readyState === 'open') hi('at once'); else dc.onopen = () => hi('on open'); "
    "};\n"
    "      const sdp = await post('/urtc-offer', '');\n"
    "      await pc.setRemoteDescription({type: 'offer', sdp});\n"
    "      stream.getTracks().forEach(t => pc.addTrack(t, stream));\n"
    "      await pc.setLocalDescription(await pc.createAnswer());\n"
    "      await gathered(pc);\n"
    "      await post('/answer', pc.localDescription.sdp);\n"
    "    }\n"
    "    for (let i = 0; i < 100 && pc.connectionState !== 'connected'; i++) await sleep(100);\n"
    "    r.connected = pc.connectionState;\n"
    "    await sleep(RESEND_MS);\n"
    "    let sent = 0;\n"
    "    (await pc.getStats()).forEach(v => {\n"
    "      if (v.type === 'data-channel') sent += v.messagesSent || 0; });\n"
    "    if (sent === 0 && chan && chan.readyState === 'open') {\n"
    "      r.dc_resent = true; chan.send('hello from chromium'); }\n"
    "    await sleep(MEDIA_MS - RESEND_MS);\n"
    "    Object.assign(r, await figures(pc));\n"
    "    pc.close();\n"
    "    stream.getTracks().forEach(t => t.stop());\n"
    "  } catch (e) { r.error = String(e); }\n"
    "  return r;\n"
    "}\n"
    "(async () => {\n"
    "  const first = await call(true);\n"
    "  await post('/result', JSON.stringify(first));\n"
    "  const second = await call(false);\n"
    "  await post('/result', JSON.stringify(second));\n"
    "})();\n"
    "</script></body></html>\n";

/* ---- the urtc side (shard thread; counters under mu) ---- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static urtc_engine_t *eng;

static struct call {
    urtc_pc_t *pc;
    bool urtc_offers;
    int atr, vtr, dc;
    bool dc_open;
    urtc_test_source_t *tone, *pattern;
    urtc_decoder_t *adec, *vdec;
    unsigned ticks;
    /* results */
    bool sdp_done;
    int err;
    char local[16384], remote[16384];
    urtc_pc_state_t state;
    unsigned video_decoded, audio_decoded, video_w, video_h;
    unsigned dc_received, dc_sent;
    char dc_first[128];
    unsigned audio_sent, video_sent;
    long long twcc_fb;     /* from get_stats as the call ends */
    char sctp_stats[1024]; /* its data-channel and sctp-transport entries, for a failure */
} call;

static void on_state(urtc_pc_t *pc, urtc_pc_state_t s, void *user)
{
    (void)pc, (void)user;
    pthread_mutex_lock(&mu);
    call.state = s;
    pthread_mutex_unlock(&mu);
    if (s == URTC_PC_CONNECTED)
        urtc_test_source_request_keyframe(call.pattern);
}

static void on_frame(urtc_pc_t *pc, int tr, const urtc_frame_t *f, void *user)
{
    (void)pc, (void)tr, (void)user;
    bool audio = strcmp(f->codec, "opus") == 0;
    urtc_decoder_t **d = audio ? &call.adec : &call.vdec;
    if (!*d)
        *d = urtc_decoder_create(f->codec);
    urtc_decoded_t out;
    if (!*d || urtc_decoder_decode(*d, f, &out) != 1)
        return;
    pthread_mutex_lock(&mu);
    if (audio) {
        call.audio_decoded++;
    } else {
        call.video_decoded++;
        call.video_w = (unsigned)out.width;
        call.video_h = (unsigned)out.height;
    }
    pthread_mutex_unlock(&mu);
}

static void on_datachannel(urtc_pc_t *pc, int dc, const char *label, const char *proto, void *u)
{
    (void)pc, (void)label, (void)proto, (void)u;
    call.dc = dc; /* Chromium's channel (call 1): open already */
    call.dc_open = true;
}

static void on_dc_open(urtc_pc_t *pc, int dc, void *user)
{
    (void)pc, (void)user;
    if (dc == call.dc)
        call.dc_open = true;
}

static void on_dc_message(urtc_pc_t *pc, int dc, const uint8_t *data, size_t len, bool binary,
                          void *user)
{
    (void)pc, (void)dc, (void)binary, (void)user;
    pthread_mutex_lock(&mu);
    if (!call.dc_received++)
        snprintf(call.dc_first, sizeof call.dc_first, "%.*s", (int)(len < 100 ? len : 100),
                 (const char *)data);
    pthread_mutex_unlock(&mu);
}

static const urtc_pc_callbacks_t cbs = {.on_state = on_state,
                                        .on_frame = on_frame,
                                        .on_datachannel = on_datachannel,
                                        .on_dc_open = on_dc_open,
                                        .on_dc_message = on_dc_message};

static void sdp_done(int err)
{
    if (err < 0)
        fprintf(stderr, "urtc: %s\n", urtc_pc_last_error(call.pc));
    pthread_mutex_lock(&mu);
    call.err = err < 0 ? err : 0;
    call.sdp_done = true;
    pthread_mutex_unlock(&mu);
}

static void start_cmd(urtc_shard_t *sh, void *arg)
{
    (void)arg;
    urtc_pc_config_t cfg = {.cname = "urtc-chromium"};
    call.pc = urtc_pc_create(sh, &cfg, &cbs, NULL);
    cr_assert_not_null(call.pc);
    call.tone = urtc_test_source_create("opus", 0, 0, 0);
    call.pattern = urtc_test_source_create("VP8", 320, 180, 25);
    cr_assert(call.tone && call.pattern);
    call.dc = -1;
    int n;
    if (call.urtc_offers) {
        call.atr = urtc_pc_add_transceiver(call.pc, URTC_KIND_AUDIO, URTC_SENDRECV, "s", "a");
        call.vtr = urtc_pc_add_transceiver(call.pc, URTC_KIND_VIDEO, URTC_SENDRECV, "s", "v");
        call.dc = urtc_pc_create_data_channel(call.pc, "from-urtc", NULL); /* DCEP (RFC 8832) */
        cr_assert_geq(call.dc, 0, "%s", urtc_pc_last_error(call.pc));
        n = urtc_pc_create_offer(call.pc, call.local, sizeof call.local);
        if (n > 0)
            n = urtc_pc_set_local_description(call.pc, URTC_SDP_OFFER, call.local);
    } else {
        n = urtc_pc_set_remote_description(call.pc, URTC_SDP_OFFER, call.remote);
        if (n == 0) {
            call.atr = urtc_pc_add_transceiver(call.pc, URTC_KIND_AUDIO, URTC_SENDRECV, "s", "a");
            call.vtr = urtc_pc_add_transceiver(call.pc, URTC_KIND_VIDEO, URTC_SENDRECV, "s", "v");
            n = urtc_pc_create_answer(call.pc, call.local, sizeof call.local);
        }
        if (n > 0)
            n = urtc_pc_set_local_description(call.pc, URTC_SDP_ANSWER, call.local);
    }
    sdp_done(n);
}

static void answer_cmd(urtc_shard_t *sh, void *arg)
{
    (void)sh, (void)arg;
    sdp_done(urtc_pc_set_remote_description(call.pc, URTC_SDP_ANSWER, call.remote));
}

/* Every 20 ms: Opus; VP8 every other tick (25 fps, a keyframe a second: no PLI handling in
 * the API yet); a data-channel message every second. */
static void tick_cmd(urtc_shard_t *sh, void *arg)
{
    (void)sh, (void)arg;
    if (!call.pc || urtc_pc_state(call.pc) != URTC_PC_CONNECTED)
        return;
    urtc_frame_t f;
    unsigned t = call.ticks++;
    unsigned a = 0, v = 0, d = 0;
    if (urtc_test_source_next(call.tone, &f) == 1 && urtc_pc_send_frame(call.pc, call.atr, &f) == 0)
        a++;
    if (t % 2 == 0) {
        if (t % 50 == 0)
            urtc_test_source_request_keyframe(call.pattern);
        if (urtc_test_source_next(call.pattern, &f) == 1 &&
            urtc_pc_send_frame(call.pc, call.vtr, &f) == 0)
            v++;
    }
    if (t % 50 == 0 && call.dc_open && call.dc >= 0) {
        char msg[64];
        snprintf(msg, sizeof msg, "hello from urtc %u", t / 50);
        if (urtc_dc_send(call.pc, call.dc, msg, strlen(msg), false) == 0)
            d++;
    }
    pthread_mutex_lock(&mu);
    call.audio_sent += a;
    call.video_sent += v;
    call.dc_sent += d;
    pthread_mutex_unlock(&mu);
}

static void end_cmd(urtc_shard_t *sh, void *arg)
{
    (void)sh, (void)arg;
    if (call.pc) {
        static char stats[16384];
        json_t *st =
            urtc_pc_get_stats(call.pc, stats, sizeof stats) > 0 ? json_loads(stats, 0, NULL) : NULL;
        size_t i;
        json_t *o;
        json_array_foreach(st, i, o)
        {
            const char *type = json_string_value(json_object_get(o, "type")) ?: "";
            if (!strcmp(type, "transport"))
                call.twcc_fb = json_integer_value(json_object_get(o, "transportCcFeedbackSent"));
            if (!strcmp(type, "data-channel") || !strcmp(type, "sctp-transport")) {
                char *d = json_dumps(o, JSON_COMPACT);
                size_t used = strlen(call.sctp_stats);
                if (d)
                    snprintf(call.sctp_stats + used, sizeof call.sctp_stats - used, "%s ", d);
                free(d);
            }
        }
        json_decref(st);
        urtc_pc_close(call.pc);
    }
    call.pc = NULL;
    urtc_test_source_destroy(call.tone);
    urtc_test_source_destroy(call.pattern);
    urtc_decoder_destroy(call.adec);
    urtc_decoder_destroy(call.vdec);
    call.tone = call.pattern = NULL;
    call.adec = call.vdec = NULL;
    pthread_mutex_lock(&mu);
    call.sdp_done = true;
    pthread_mutex_unlock(&mu);
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Posts @fn and waits (bounded) for it to report through sdp_done(). */
static int run_on_shard(void (*fn)(urtc_shard_t *, void *))
{
    pthread_mutex_lock(&mu);
    call.sdp_done = false;
    pthread_mutex_unlock(&mu);
    cr_assert_eq(urtc_engine_post(eng, 0, fn, NULL), 0);
    for (int i = 0; i < 500; i++) {
        pthread_mutex_lock(&mu);
        bool done = call.sdp_done;
        int err = call.err;
        pthread_mutex_unlock(&mu);
        if (done)
            return err;
        usleep(10000);
    }
    cr_assert_fail("the shard did not answer in 5 s");
    return -ETIMEDOUT;
}

/* ---- HTTP ---- */

static void reply(int fd, int status, const char *type, const char *body, size_t len)
{
    char hdr[256];
    int n = snprintf(hdr, sizeof hdr,
                     "HTTP/1.1 %d X\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
                     status, type, len);
    if (write(fd, hdr, (size_t)n) != n || (len && write(fd, body, len) != (ssize_t)len))
        cr_log_warn("short write to Chromium");
}

typedef struct conn {
    int fd; /* -1: free */
    size_t len;
    char req[BUF_LEN];
} conn_t;
#define MAX_CONNS 16

static bool request_complete(conn_t *k, char **body, size_t *clen)
{
    k->req[k->len] = '\0';
    char *eoh = strstr(k->req, "\r\n\r\n");
    if (!eoh)
        return false;
    char *cl = strcasestr(k->req, "content-length:");
    *clen = cl && cl < eoh ? strtoul(cl + 15, NULL, 10) : 0;
    *body = eoh + 4;
    if ((size_t)(k->req + k->len - *body) < *clen)
        return false;
    (*body)[*clen] = '\0';
    return true;
}

static json_t *results[2];
static unsigned n_results;

/* One urtc-side summary per call, taken when the page reports. */
static struct call_sum {
    unsigned video_decoded, audio_decoded, video_w, video_h, dc_received, dc_sent;
    unsigned audio_sent, video_sent;
    long long twcc_fb; /* transport-cc feedback packets urtc sent (get_stats) */
    char sctp_stats[1024];
    urtc_pc_state_t state;
    char dc_first[128];
} sums[2];

static void serve(int fd, const char *req, char *body, size_t clen)
{
    if (!strncmp(req, "GET / ", 6)) {
        reply(fd, 200, "text/html", page, sizeof page - 1);
    } else if (!strncmp(req, "POST /offer ", 12)) { /* call 1: Chromium's offer */
        call.urtc_offers = false;
        snprintf(call.remote, sizeof call.remote, "%.*s", (int)clen, body);
        int err = run_on_shard(start_cmd);
        cr_assert_eq(err, 0, "urtc could not answer Chromium's offer:\n%s", call.remote);
        reply(fd, 200, "text/plain", call.local, strlen(call.local));
    } else if (!strncmp(req, "POST /urtc-offer ", 17)) { /* call 2: ours */
        call.urtc_offers = true;
        cr_assert_eq(run_on_shard(start_cmd), 0);
        reply(fd, 200, "text/plain", call.local, strlen(call.local));
    } else if (!strncmp(req, "POST /answer ", 13)) {
        snprintf(call.remote, sizeof call.remote, "%.*s", (int)clen, body);
        int err = run_on_shard(answer_cmd);
        reply(fd, 200, "text/plain", "ok", 2);
        cr_assert_eq(err, 0, "urtc refused Chromium's answer:\n%s", call.remote);
    } else if (!strncmp(req, "POST /result ", 13)) {
        reply(fd, 200, "text/plain", "ok", 2);
        cr_assert_lt(n_results, 2);
        results[n_results] = json_loads(body, 0, NULL);
        pthread_mutex_lock(&mu);
        struct call_sum *s = &sums[n_results];
        *s = (struct call_sum){.video_decoded = call.video_decoded,
                               .audio_decoded = call.audio_decoded,
                               .video_w = call.video_w,
                               .video_h = call.video_h,
                               .dc_received = call.dc_received,
                               .dc_sent = call.dc_sent,
                               .audio_sent = call.audio_sent,
                               .video_sent = call.video_sent,
                               .state = call.state};
        memcpy(s->dc_first, call.dc_first, sizeof s->dc_first);
        pthread_mutex_unlock(&mu);
        n_results++;
        run_on_shard(end_cmd);
        pthread_mutex_lock(&mu);
        s->twcc_fb = call.twcc_fb;
        memcpy(s->sctp_stats, call.sctp_stats, sizeof s->sctp_stats);
        pthread_mutex_unlock(&mu);
        memset(&call, 0, sizeof call);
    } else {
        reply(fd, 404, "text/plain", "", 0);
    }
}

static long jint(json_t *o, const char *k)
{
    return (long)json_integer_value(json_object_get(o, k));
}

Test(pc_chromium, calls_both_offer_directions_media_and_data, .timeout = 120)
{
    if (access(CHROMIUM, X_OK) != 0)
        cr_skip_test("%s not installed", CHROMIUM);
    if (unshare(CLONE_NEWNET) != 0)
        cr_skip_test("unshare(CLONE_NEWNET) not permitted: cannot isolate Chromium");
    cr_assert_eq(system("ip link set lo up"), 0);

    /* Debug: the SCTP association logs its first packets' chunks as it ends (rtc/sctp). */
    setenv("URTC_LOG", "debug", 0);
    urtc_engine_config_t ecfg = {.shards = 1};
    eng = urtc_engine_create(&ecfg);
    cr_assert_not_null(eng);

    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    cr_assert_eq(bind(ls, (struct sockaddr *)&sa, sizeof sa), 0);
    cr_assert_eq(listen(ls, 16), 0);
    cr_assert_eq(getsockname(ls, (struct sockaddr *)&sa, &sl), 0);
    char url[64], udd[80];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/", ntohs(sa.sin_port));
    snprintf(udd, sizeof udd, "--user-data-dir=/tmp/urtc-pc-chromium-%d", (int)getpid());
    char *argv[] = {CHROMIUM,
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--disable-default-apps",
                    "--disable-extensions",
                    "--disable-domain-reliability",
                    "--no-proxy-server",
                    "--autoplay-policy=no-user-gesture-required",
                    "--allow-loopback-in-peer-connection",
                    "--use-fake-device-for-media-stream",
                    "--use-fake-ui-for-media-stream",
                    "--disable-features=WebRtcHideLocalIpsWithMdns",
                    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
                    udd,
                    url,
                    NULL, /* the log flags below */
                    NULL,
                    NULL};
    /* URTC_CHROMIUM_LOG=<file>: Chromium's verbose log goes to <file>, for a failure's
     * diagnosis (off by default). --v=1 includes every SCTP packet dcsctp sends and receives,
     * as text2pcap lines ("O"/"I"), and libwebrtc's data-channel events. */
    const char *clog = getenv("URTC_CHROMIUM_LOG");
    if (clog) {
        size_t k = sizeof argv / sizeof argv[0] - 3;
        argv[k] = "--enable-logging=stderr";
        argv[k + 1] = "--v=1";
    }
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        int logfd = clog ? open(clog, O_WRONLY | O_CREAT | O_TRUNC, 0644) : -1;
        dup2(devnull, 1);
        dup2(logfd >= 0 ? logfd : devnull, 2);
        setpgid(0, 0);
        execv(argv[0], argv);
        _exit(127);
    }
    static conn_t conns[MAX_CONNS];
    for (unsigned i = 0; i < MAX_CONNS; i++)
        conns[i].fd = -1;
    uint64_t end = mono_ms() + 90000, next_tick = mono_ms();
    while (n_results < 2 && mono_ms() < end) {
        /* The media clock: this thread is the only one posting. */
        if (mono_ms() >= next_tick) {
            next_tick += 20;
            (void)urtc_engine_post(eng, 0, tick_cmd, NULL);
        }
        struct pollfd p[MAX_CONNS + 1] = {{ls, POLLIN, 0}};
        for (unsigned i = 0; i < MAX_CONNS; i++)
            p[i + 1] = (struct pollfd){conns[i].fd, POLLIN, 0};
        if (poll(p, MAX_CONNS + 1, 5) <= 0)
            continue;
        if (p[0].revents & POLLIN) {
            int fd = accept(ls, NULL, NULL);
            unsigned i = 0;
            while (i < MAX_CONNS && conns[i].fd >= 0)
                i++;
            if (fd >= 0 && i < MAX_CONNS) {
                conns[i].fd = fd;
                conns[i].len = 0;
            } else if (fd >= 0) {
                close(fd);
            }
        }
        for (unsigned i = 0; i < MAX_CONNS; i++) {
            conn_t *k = &conns[i];
            if (k->fd < 0 || !(p[i + 1].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t n = read(k->fd, k->req + k->len, sizeof k->req - 1 - k->len);
            char *body;
            size_t clen;
            if (n > 0) {
                k->len += (size_t)n;
                if (!request_complete(k, &body, &clen))
                    continue;
                serve(k->fd, k->req, body, clen);
            }
            close(k->fd);
            k->fd = -1;
        }
    }
    for (unsigned i = 0; i < MAX_CONNS; i++)
        if (conns[i].fd >= 0)
            close(conns[i].fd);
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    close(ls);
    urtc_engine_destroy(eng);
    char rm[128];
    snprintf(rm, sizeof rm, "rm -rf /tmp/urtc-pc-chromium-%d", (int)getpid());
    if (system(rm) != 0)
        cr_log_warn("could not remove the profile");

    cr_assert_eq(n_results, 2, "Chromium reported %u of 2 calls within 90 s", n_results);
    const char *names[2] = {"Chromium offers", "urtc offers"};
    for (int i = 0; i < 2; i++) {
        json_t *r = results[i];
        struct call_sum *s = &sums[i];
        char *dump = json_dumps(r, JSON_COMPACT);
        fprintf(stderr,
                "%s: chromium %s\n  urtc: sent %u audio, %u video, %u messages; decoded %u "
                "audio, %u video (%ux%u); %u messages (first \"%s\"); state %s\n",
                names[i], dump, s->audio_sent, s->video_sent, s->dc_sent, s->audio_decoded,
                s->video_decoded, s->video_w, s->video_h, s->dc_received, s->dc_first,
                urtc_pc_state_name(s->state));
        free(dump);
        cr_assert_not_null(r);
        cr_expect_null(json_object_get(r, "error"), "%s: page error %s", names[i],
                       json_string_value(json_object_get(r, "error")));
        cr_expect_str_eq(json_string_value(json_object_get(r, "connected")), "connected",
                         "%s: Chromium connected", names[i]);
        /* Chromium decoded our VP8 and received our Opus. */
        cr_expect_geq(jint(r, "video_frames_decoded"), 50, "%s: Chromium decoded %ld frames",
                      names[i], jint(r, "video_frames_decoded"));
        cr_expect_eq(jint(r, "video_width"), 320);
        cr_expect_eq(jint(r, "video_height"), 180);
        cr_expect_geq(jint(r, "audio_packets"), 150, "%s: Chromium received %ld audio packets",
                      names[i], jint(r, "audio_packets"));
        cr_expect_gt(json_number_value(json_object_get(r, "audio_energy")), 0.0,
                     "%s: Chromium's decoded audio is not silence", names[i]);
        /* We decoded its fake camera (VP8) and its Opus. */
        cr_expect_geq(s->video_decoded, 50, "%s: urtc decoded %u frames", names[i],
                      s->video_decoded);
        cr_expect_geq(s->audio_decoded, 150, "%s: urtc decoded %u Opus frames", names[i],
                      s->audio_decoded);
        /* Data channel both ways (DCEP opened by Chromium in call 1, by urtc in call 2). */
        cr_expect_geq(jint(r, "dc_received"), 3, "%s: Chromium got %ld messages", names[i],
                      jint(r, "dc_received"));
        /* In call 2 the page sends once: at once when ondatachannel hands it an open channel,
         * else on its open event, else on its first message (should the open event never
         * come). dc_greeted says which, with the channel's state then; a send() that throws
         * is in dc_error. Chromium 156 sometimes drops that send: its stats say messagesSent
         * 0 all call, and its log says "Send failed INVALID_STATE" before it sends its DCEP
         * ACK (Blink ran the send before the channel opened on libwebrtc's network thread;
         * docs/hardening.md, "Interop"). So the page resends once when its messagesSent is
         * still 0 after RESEND_MS (dc_resent); a message urtc lost leaves messagesSent at 1
         * and still fails here. Printed for each call: urtc's data-channel and sctp-transport
         * stats, the page's data-channel stats, and (debug log, rtc/sctp) the chunks of the
         * association's first packets. */
        if (json_object_get(r, "dc_label"))
            fprintf(stderr, "%s: Chromium greeted %s\n", names[i],
                    json_string_value(json_object_get(r, "dc_greeted")) ?: "never");
        if (json_is_true(json_object_get(r, "dc_resent")))
            fprintf(stderr,
                    "%s: Chromium had sent nothing (its messagesSent 0) after 2 s: "
                    "the page sent its message again\n",
                    names[i]);
        cr_expect_null(json_object_get(r, "dc_error"), "%s: Chromium's send failed: %s", names[i],
                       json_string_value(json_object_get(r, "dc_error")));
        fprintf(stderr, "%s: urtc's SCTP stats: %s\n", names[i], s->sctp_stats);
        cr_expect_geq(s->dc_received, 1, "%s: urtc got no message", names[i]);
        cr_expect_str_eq(s->dc_first, "hello from chromium");
        /* RTCP (RFC 3550 §6.4): Chromium parsed urtc's SRs (remote-outbound-rtp), and its
         * roundTripTime came from urtc's report blocks echoing its own SRs (LSR/DLSR). */
        cr_expect_gt(jint(r, "sr_packets"), 0, "%s: Chromium's remote-outbound-rtp", names[i]);
        json_t *rtt = json_object_get(r, "rtt_us");
        cr_expect(json_is_integer(rtt) && json_integer_value(rtt) < 2000000,
                  "%s: Chromium's RTT from urtc's report blocks (%s)", names[i],
                  rtt ? "out of range" : "none");
        /* Transport-cc (draft-holmer-rmcat-transport-wide-cc-extensions-01): Chromium numbers
         * its packets and urtc reports their arrival every 100 ms, which Chromium's send-side
         * estimator needs to rise above its start (without feedback it stays low). */
        fprintf(stderr,
                "%s: urtc sent %lld transport-cc feedback packets; Chromium's estimate "
                "%ld bit/s, %ld video bytes sent\n",
                names[i], s->twcc_fb, jint(r, "out_estimate_bps"), jint(r, "video_bytes_sent"));
        cr_expect_gt(s->twcc_fb, 20, "%s: urtc sent %lld transport-cc feedback packets", names[i],
                     s->twcc_fb);
        /* Measured: 1.28-1.46 Mbit/s with the feedback (0.235-1.28 Mbit/s under ASan: its
         * delay-based part sees the jitter; 235 kbit/s once in CI's ASan run), 144-180 kbit/s
         * without (Chromium starts at 300 kbit/s and backs off with no feedback). The bound
         * sits between the two. */
        cr_expect_geq(jint(r, "out_estimate_bps"), 200000,
                      "%s: Chromium's send estimate stayed at %ld bit/s", names[i],
                      jint(r, "out_estimate_bps"));
        if (i == 1) {
            const char *label = json_string_value(json_object_get(r, "dc_label"));
            cr_expect_str_eq(label ? label : "", "from-urtc", "Chromium saw urtc's channel");
        }
        json_decref(r);
    }
}
