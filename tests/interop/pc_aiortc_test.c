/* tests/interop/pc_aiortc_test.c: a whole call between the urtc peer-connection API and aiortc
 * 1.4 (Debian python3-aiortc), in both offer directions, over 127.0.0.1 in a private network
 * namespace: ICE, DTLS-SRTP, then Opus and VP8 both ways, and a data channel both ways. urtc sends
 * a tone (Opus) and the moving test pattern (VP8, 320x180) through urtc_pc_send_frame(); aiortc
 * sends its synthetic tracks. Each side decodes what it gets: aiortc reports its decoded frames,
 * urtc decodes with codecs/ and checks the pictures. Skipped only when unshare(CLONE_NEWNET) is
 * refused. */
#include "urtc/urtc.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "codecs/codecs.h"
#include "tests/support/tst.h"

#define CALL_SECONDS 6

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static struct call {
    urtc_pc_t *pc;
    int audio_tr, video_tr;
    char local_sdp[16384];
    char remote_sdp[16384];
    bool offerer;
    bool sdp_done;
    int err;
    urtc_pc_state_t state;
    /* receive */
    codec_vpx_dec_t *vdec;
    codec_opus_dec_t *adec;
    int video_decoded, audio_decoded, video_refused;
    int last_w, last_h;
    /* send */
    codec_opus_enc_t *aenc;
    codec_vpx_enc_t *venc;
    codec_image_t img;
    codec_tone_t tone;
    uint32_t frame_no, audio_ts;
    int sent_audio, sent_video;
    /* data channel "chat": 20 messages each way */
    int dc;
    bool dc_open, dc_sent;
    int dc_ok, dc_bad;
} call;

#define DC_MSGS 20

static void on_datachannel(urtc_pc_t *pc, int dc, const char *label, const char *proto, void *user)
{
    (void)pc, (void)proto, (void)user;
    pthread_mutex_lock(&mu);
    if (strcmp(label, "chat") == 0) {
        call.dc = dc;
        call.dc_open = true;
    }
    pthread_mutex_unlock(&mu);
}

static void on_dc_open(urtc_pc_t *pc, int dc, void *user)
{
    (void)pc, (void)user;
    pthread_mutex_lock(&mu);
    call.dc_open = dc == call.dc;
    pthread_mutex_unlock(&mu);
}

/* aiortc sends "aiortc <i>" (even i) or i bytes of i (odd i). */
static void on_dc_message(urtc_pc_t *pc, int dc, const uint8_t *data, size_t len, bool binary,
                          void *user)
{
    (void)pc, (void)user, (void)dc;
    pthread_mutex_lock(&mu);
    int i = call.dc_ok + call.dc_bad;
    bool ok;
    if (i % 2 == 0) {
        char want[32];
        int n = snprintf(want, sizeof want, "aiortc %d", i);
        ok = !binary && len == (size_t)n && memcmp(data, want, len) == 0;
    } else {
        ok = binary && len == (size_t)i;
        for (size_t k = 0; ok && k < len; k++)
            ok = data[k] == (uint8_t)i;
    }
    if (ok)
        call.dc_ok++;
    else
        call.dc_bad++;
    pthread_mutex_unlock(&mu);
}

static void on_state(urtc_pc_t *pc, urtc_pc_state_t st, void *user)
{
    (void)pc, (void)user;
    pthread_mutex_lock(&mu);
    call.state = st;
    pthread_mutex_unlock(&mu);
}

static void on_frame(urtc_pc_t *pc, int tr, const urtc_frame_t *f, void *user)
{
    (void)pc, (void)user, (void)tr;
    if (strcmp(f->codec, "VP8") == 0) {
        codec_frame_t cf = {.codec = CODEC_VP8,
                            .data = f->data,
                            .len = f->len,
                            .rtp_ts = f->timestamp,
                            .flags = (f->keyframe ? CODEC_FRAME_KEY : 0) |
                                     (f->after_gap ? CODEC_FRAME_GAP : 0)};
        codec_image_t img;
        int ret = codec_vpx_decode(call.vdec, &cf, &img);
        pthread_mutex_lock(&mu);
        if (ret == 1) {
            call.video_decoded++;
            call.last_w = img.width;
            call.last_h = img.height;
        } else if (ret < 0) {
            call.video_refused++;
        }
        pthread_mutex_unlock(&mu);
    } else if (strcmp(f->codec, "opus") == 0) {
        int16_t pcm[960 * 2];
        int n = codec_opus_decode(call.adec, f->data, f->len, pcm, 960);
        pthread_mutex_lock(&mu);
        if (n > 0)
            call.audio_decoded++;
        pthread_mutex_unlock(&mu);
    }
}

static const urtc_pc_callbacks_t cbs = {.on_state = on_state,
                                        .on_frame = on_frame,
                                        .on_datachannel = on_datachannel,
                                        .on_dc_open = on_dc_open,
                                        .on_dc_message = on_dc_message};

static void start_cmd(urtc_shard_t *sh, void *arg)
{
    (void)arg;
    urtc_pc_config_t cfg = {.cname = "urtc-interop"};
    call.pc = urtc_pc_create(sh, &cfg, &cbs, NULL);
    cr_assert_not_null(call.pc);
    int n;
    if (call.offerer) {
        cr_assert_eq(urtc_pc_add_transceiver(call.pc, URTC_KIND_AUDIO, URTC_SENDRECV, "s", "a"), 0);
        cr_assert_eq(urtc_pc_add_transceiver(call.pc, URTC_KIND_VIDEO, URTC_SENDRECV, "s", "v"), 1);
        call.dc = urtc_pc_create_data_channel(call.pc, "chat", NULL);
        cr_assert_geq(call.dc, 0);
        n = urtc_pc_create_offer(call.pc, call.local_sdp, sizeof call.local_sdp);
        if (n > 0)
            n = urtc_pc_set_local_description(call.pc, URTC_SDP_OFFER, call.local_sdp);
    } else {
        n = urtc_pc_set_remote_description(call.pc, URTC_SDP_OFFER, call.remote_sdp);
        /* W3C addTrack: our tracks go on the transceivers the offer created (0 and 1). */
        if (n == 0) {
            cr_assert_eq(urtc_pc_add_transceiver(call.pc, URTC_KIND_AUDIO, URTC_SENDRECV, "s", "a"),
                         0);
            cr_assert_eq(urtc_pc_add_transceiver(call.pc, URTC_KIND_VIDEO, URTC_SENDRECV, "s", "v"),
                         1);
            n = urtc_pc_create_answer(call.pc, call.local_sdp, sizeof call.local_sdp);
        }
        if (n > 0)
            n = urtc_pc_set_local_description(call.pc, URTC_SDP_ANSWER, call.local_sdp);
    }
    call.audio_tr = 0; /* audio and video, in that order, both ways */
    call.video_tr = 1;
    pthread_mutex_lock(&mu);
    call.err = n < 0 ? n : 0;
    call.sdp_done = true;
    pthread_mutex_unlock(&mu);
    if (n < 0)
        fprintf(stderr, "urtc: %s\n", urtc_pc_last_error(call.pc));
}

static void answer_cmd(urtc_pc_t *pc, void *arg)
{
    (void)arg;
    int ret = urtc_pc_set_remote_description(pc, URTC_SDP_ANSWER, call.remote_sdp);
    if (ret < 0)
        fprintf(stderr, "urtc: %s\n", urtc_pc_last_error(pc));
    pthread_mutex_lock(&mu);
    call.err = ret;
    pthread_mutex_unlock(&mu);
}

/* urtc's statistics, taken on the shard at the end of the call. */
static char stats[16384];
static bool stats_done;

static void stats_cmd(urtc_pc_t *pc, void *arg)
{
    (void)arg;
    int n = urtc_pc_get_stats(pc, stats, sizeof stats);
    pthread_mutex_lock(&mu);
    if (n < 0)
        stats[0] = 0;
    stats_done = true;
    pthread_mutex_unlock(&mu);
}

static bool got_stats(void)
{
    return stats_done;
}

/* Runs every 20 ms on the shard: one Opus frame, and a VP8 frame every 40 ms (25 fps). */
static void media_tick_cmd(urtc_pc_t *pc, void *arg)
{
    (void)arg;
    if (urtc_pc_state(pc) != URTC_PC_CONNECTED)
        return;
    pthread_mutex_lock(&mu);
    bool send_dc = call.dc_open && !call.dc_sent;
    call.dc_sent |= send_dc;
    pthread_mutex_unlock(&mu);
    for (int i = 0; send_dc && i < DC_MSGS; i++) {
        uint8_t msg[64];
        size_t len;
        if (i % 2 == 0) {
            len = (size_t)snprintf((char *)msg, sizeof msg, "urtc %d", i);
        } else {
            len = (size_t)i;
            memset(msg, i, len);
        }
        cr_assert_eq(urtc_dc_send(pc, call.dc, msg, len, i % 2), 0);
    }
    int16_t pcm[960];
    uint8_t opus[1500];
    codec_tone_fill(&call.tone, pcm, 960);
    int n = codec_opus_encode(call.aenc, pcm, opus, sizeof opus);
    if (n > 0) {
        urtc_frame_t f = {
            .codec = "opus", .data = opus, .len = (size_t)n, .timestamp = call.audio_ts};
        if (urtc_pc_send_frame(pc, call.audio_tr, &f) == 0)
            call.sent_audio++;
    }
    if ((call.audio_ts / 960) % 2 == 0) {
        codec_pattern_draw(&call.img, call.frame_no);
        codec_frame_t cf;
        /* A keyframe each second: aiortc's PLIs are not answered yet. */
        if (call.frame_no % 25 == 0)
            codec_vpx_enc_request_keyframe(call.venc);
        if (codec_vpx_encode(call.venc, &call.img, call.frame_no * 3600, &cf) == 1) {
            urtc_frame_t f = {.codec = "VP8",
                              .data = cf.data,
                              .len = cf.len,
                              .timestamp = cf.rtp_ts,
                              .keyframe = cf.flags & CODEC_FRAME_KEY};
            if (urtc_pc_send_frame(pc, call.video_tr, &f) == 0)
                call.sent_video++;
        }
        call.frame_no++;
    }
    call.audio_ts += 960;
}

/* ---- the aiortc process ---- */

static pid_t peer_pid;
static int peer_in, peer_out;

static void peer_spawn(const char *mode)
{
    int pin[2], pout[2];
    cr_assert_eq(pipe(pin), 0);
    cr_assert_eq(pipe(pout), 0);
    char secs[8];
    snprintf(secs, sizeof secs, "%d", CALL_SECONDS);
    peer_pid = fork();
    cr_assert_geq(peer_pid, 0);
    if (peer_pid == 0) {
        dup2(pin[0], 0);
        dup2(pout[1], 1);
        close(pin[1]);
        close(pout[0]);
        execl("/usr/bin/python3", "python3", tst_src_path("tests/interop/pc_aiortc_peer.py"), mode,
              secs, (char *)NULL);
        _exit(127);
    }
    close(pin[0]);
    close(pout[1]);
    peer_in = pin[1];
    peer_out = pout[0];
}

/* Reads one JSON line (blocking, bounded by @timeout_ms). */
static bool peer_line(char *buf, size_t cap, int timeout_ms)
{
    size_t n = 0;
    while (n + 1 < cap) {
        struct pollfd p = {.fd = peer_out, .events = POLLIN};
        if (poll(&p, 1, timeout_ms) <= 0)
            return false;
        if (read(peer_out, buf + n, 1) != 1)
            return false;
        if (buf[n] == '\n')
            break;
        n++;
    }
    buf[n] = 0;
    return true;
}

/* The value of "key" in a one-line JSON object holding an SDP string, unescaped. */
static void json_sdp(const char *line, const char *key, char *out, size_t cap)
{
    char pat[32];
    snprintf(pat, sizeof pat, "\"%s\": \"", key);
    const char *s = strstr(line, pat);
    cr_assert_not_null(s, "no %s in %s", key, line);
    s += strlen(pat);
    size_t n = 0;
    for (; *s && *s != '"' && n + 1 < cap; s++) {
        if (*s == '\\') {
            s++;
            out[n++] = *s == 'n' ? '\n' : *s == 'r' ? '\r' : *s;
        } else {
            out[n++] = *s;
        }
    }
    out[n] = 0;
}

static void peer_send_sdp(const char *key, const char *sdp)
{
    static char buf[40000];
    size_t n = (size_t)snprintf(buf, sizeof buf, "{\"%s\": \"", key);
    for (const char *s = sdp; *s && n + 4 < sizeof buf; s++) {
        if (*s == '\r') {
            buf[n++] = '\\';
            buf[n++] = 'r';
        } else if (*s == '\n') {
            buf[n++] = '\\';
            buf[n++] = 'n';
        } else if (*s == '"' || *s == '\\') {
            buf[n++] = '\\';
            buf[n++] = *s;
        } else {
            buf[n++] = *s;
        }
    }
    n += (size_t)snprintf(buf + n, sizeof buf - n, "\"}\n");
    cr_assert_eq(write(peer_in, buf, n), (ssize_t)n);
}

static int json_int(const char *line, const char *key)
{
    char pat[32];
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    const char *s = strstr(line, pat);
    return s ? atoi(s + strlen(pat)) : -1;
}

static bool done_sdp(void)
{
    return call.sdp_done;
}

static bool wait_for(bool (*cond)(void), int ms)
{
    for (int i = 0; i < ms / 10; i++) {
        pthread_mutex_lock(&mu);
        bool ok = cond();
        pthread_mutex_unlock(&mu);
        if (ok)
            return true;
        usleep(10000);
    }
    return false;
}

static void run_call(bool urtc_offers)
{
    if (unshare(CLONE_NEWNET) != 0)
        cr_skip_test("unshare(CLONE_NEWNET) not permitted: cannot isolate aiortc");
    cr_assert_eq(system("ip link set lo up"), 0);

    call.offerer = urtc_offers;
    call.vdec = codec_vpx_dec_create(CODEC_VP8);
    call.adec = codec_opus_dec_create(1);
    codec_opus_cfg_t ocfg;
    codec_opus_cfg_default(&ocfg);
    call.aenc = codec_opus_enc_create(&ocfg);
    codec_video_cfg_t vcfg;
    codec_video_cfg_default(&vcfg, CODEC_VP8, 320, 180);
    vcfg.fps = 25;
    vcfg.bitrate_kbps = 300;
    call.venc = codec_vpx_enc_create(&vcfg);
    cr_assert(call.vdec && call.adec && call.aenc && call.venc);
    cr_assert_eq(codec_image_alloc(&call.img, 320, 180), 0);
    codec_tone_init(&call.tone, 440, 8000, 48000, 1);

    urtc_engine_config_t cfg = {.shards = 1};
    urtc_engine_t *e = urtc_engine_create(&cfg);
    cr_assert_not_null(e);
    static char line[40000];
    peer_spawn(urtc_offers ? "urtc-offers" : "aiortc-offers");
    if (urtc_offers) {
        cr_assert_eq(urtc_engine_post(e, 0, start_cmd, NULL), 0);
        cr_assert(wait_for(done_sdp, 5000));
        cr_assert_eq(call.err, 0);
        peer_send_sdp("offer", call.local_sdp);
        cr_assert(peer_line(line, sizeof line, 20000), "aiortc's answer");
        json_sdp(line, "answer", call.remote_sdp, sizeof call.remote_sdp);
        cr_assert_eq(urtc_pc_post(e, call.pc, answer_cmd, NULL), 0);
    } else {
        cr_assert(peer_line(line, sizeof line, 20000), "aiortc's offer");
        json_sdp(line, "offer", call.remote_sdp, sizeof call.remote_sdp);
        cr_assert_eq(urtc_engine_post(e, 0, start_cmd, NULL), 0);
        cr_assert(wait_for(done_sdp, 5000));
        cr_assert_eq(call.err, 0, "urtc could not answer aiortc's offer");
        peer_send_sdp("answer", call.local_sdp);
    }
    /* Media for the length of the call, paced by this thread. */
    for (int i = 0; i < CALL_SECONDS * 50; i++) {
        (void)urtc_pc_post(e, call.pc, media_tick_cmd, NULL);
        usleep(20000);
    }
    cr_assert_eq(urtc_pc_post(e, call.pc, stats_cmd, NULL), 0);
    cr_assert(wait_for(got_stats, 5000));
    cr_assert(peer_line(line, sizeof line, 20000), "aiortc's report");
    int status;
    waitpid(peer_pid, &status, 0);
    pthread_mutex_lock(&mu);
    fprintf(stderr,
            "aiortc: %s\nurtc: sent %d audio, %d video; decoded %d audio, %d video "
            "(%dx%d), %d refused; state %s\n",
            line, call.sent_audio, call.sent_video, call.audio_decoded, call.video_decoded,
            call.last_w, call.last_h, call.video_refused, urtc_pc_state_name(call.state));
    int a_audio = json_int(line, "audio_frames"), a_video = json_int(line, "video_frames");
    cr_assert_geq(a_audio, 50, "aiortc decoded %d of our audio frames", a_audio);
    cr_assert_geq(a_video, 30, "aiortc decoded %d of our video frames", a_video);
    cr_assert_not_null(strstr(line, "[320, 180]"), "aiortc saw our 320x180 picture");
    cr_assert_geq(call.audio_decoded, 50, "urtc decoded %d of aiortc's audio frames",
                  call.audio_decoded);
    cr_assert_geq(call.video_decoded, 30, "urtc decoded %d of aiortc's video frames",
                  call.video_decoded);
    int a_dc = json_int(line, "dc_messages");
    cr_assert_eq(a_dc, DC_MSGS, "aiortc got %d data-channel messages right", a_dc);
    cr_assert_eq(call.dc_ok, DC_MSGS, "urtc got %d data-channel messages right (%d wrong)",
                 call.dc_ok, call.dc_bad);
    /* RTCP both ways (RFC 3550 §6.4). aiortc parsed urtc's SRs: their packet counts are what
     * urtc sent, up to the last second (one Opus frame a packet; VP8 frames take one or
     * more). aiortc's RTT comes from urtc's report blocks echoing its SR (LSR/DLSR). */
    int sr_a = json_int(line, "sr_audio_packets"), sr_v = json_int(line, "sr_video_packets"),
        rtt_us = json_int(line, "rtt_us");
    cr_assert(sr_a > call.sent_audio / 2 && sr_a <= call.sent_audio,
              "aiortc's remote-outbound-rtp: %d audio packets (urtc sent %d)", sr_a,
              call.sent_audio);
    cr_assert_geq(sr_v, call.sent_video / 2, "aiortc's remote-outbound-rtp: %d video packets",
                  sr_v);
    /* A sanity bound: aiortc's figure includes its event loop's delays (100-250 ms seen on a
     * loaded machine where urtc measured 5-40 ms); a misread DLSR would be seconds off or
     * never match. */
    cr_assert(rtt_us >= 0 && rtt_us < 2000000, "aiortc's RTT from urtc's report blocks: %d us",
              rtt_us);
    /* ... and urtc parsed aiortc's: remote-outbound-rtp from its SRs, remote-inbound-rtp with a
     * round trip from its receiver reports. */
    cr_assert_not_null(strstr(stats, "\"type\": \"remote-outbound-rtp\""), "%s", stats);
    const char *rtt = strstr(stats, "\"roundTripTime\": ");
    cr_assert_not_null(rtt, "%s", stats);
    fprintf(stderr, "RTT: urtc measured %.3f ms, aiortc %.3f ms\n", atof(rtt + 17) * 1000,
            rtt_us / 1000.0);
    pthread_mutex_unlock(&mu);
    urtc_engine_destroy(e);
    codec_vpx_dec_destroy(call.vdec);
    codec_opus_dec_destroy(call.adec);
    codec_opus_enc_destroy(call.aenc);
    codec_vpx_enc_destroy(call.venc);
    codec_image_free(&call.img);
}

Test(pc_aiortc, urtc_offers_audio_video_both_ways, .timeout = 60)
{
    run_call(true);
}

Test(pc_aiortc, aiortc_offers_audio_video_both_ways, .timeout = 60)
{
    run_call(false);
}
