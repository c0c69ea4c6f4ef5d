/* tests/interop/sfu_whip_aiortc_test.c: WHIP and WHEP through the signaling server and the SFU,
 * with a real third-party publisher. aiortc 1.4 (Debian python3-aiortc) publishes audio and
 * video with POST /whip/ROOM; a urtc_pc viewer subscribes with POST /whep/ROOM and decodes
 * what the SFU forwards; both end with DELETE on their Location. One room member per SFU shard
 * (room_max_per_shard = 1), so the publisher's packets reach the viewer's shard by reference.
 * Runs in a private network namespace (skipped where unshare is not permitted). */
#include "engine/engine_priv.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
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
#include <unistd.h>

#include "codecs/codecs.h"
#include "signaling/signaling.h"
#include "tests/support/tst.h"
#include "urtc/urtc.h"

#define PUBLISH_SECONDS 14

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static struct viewer {
    urtc_pc_t *pc;
    char offer[32768];
    bool offer_ready;
    urtc_pc_state_t state;
    codec_vpx_dec_t *vdec;
    codec_opus_dec_t *adec;
    int v_decoded, a_decoded, v_gaps;
    int width;
} vw;

static void on_state(urtc_pc_t *pc, urtc_pc_state_t st, void *user)
{
    (void)pc, (void)user;
    pthread_mutex_lock(&mu);
    vw.state = st;
    pthread_mutex_unlock(&mu);
}

static void on_frame(urtc_pc_t *pc, int tr, const urtc_frame_t *f, void *user)
{
    (void)pc, (void)tr, (void)user;
    if (strcmp(f->codec, "VP8") == 0) {
        codec_frame_t cf = {.codec = CODEC_VP8,
                            .data = f->data,
                            .len = f->len,
                            .rtp_ts = f->timestamp,
                            .flags = (f->keyframe ? CODEC_FRAME_KEY : 0) |
                                     (f->after_gap ? CODEC_FRAME_GAP : 0)};
        codec_image_t img;
        int ret = codec_vpx_decode(vw.vdec, &cf, &img);
        pthread_mutex_lock(&mu);
        if (ret == 1) {
            vw.v_decoded++;
            vw.width = img.width;
        }
        if (f->after_gap && vw.v_decoded)
            vw.v_gaps++;
        pthread_mutex_unlock(&mu);
    } else if (strcmp(f->codec, "opus") == 0) {
        int16_t pcm[960 * 2];
        int n = codec_opus_decode(vw.adec, f->data, f->len, pcm, 960);
        pthread_mutex_lock(&mu);
        if (n > 0)
            vw.a_decoded++;
        pthread_mutex_unlock(&mu);
    }
}

static const urtc_pc_callbacks_t cbs = {.on_state = on_state, .on_frame = on_frame};

static void viewer_offer_cmd(urtc_shard_t *sh, void *arg)
{
    (void)arg;
    urtc_pc_config_t cfg = {.cname = "whep-viewer"};
    vw.pc = urtc_pc_create(sh, &cfg, &cbs, NULL);
    cr_assert_not_null(vw.pc);
    cr_assert_geq(urtc_pc_add_transceiver(vw.pc, URTC_KIND_AUDIO, URTC_RECVONLY, NULL, NULL), 0);
    cr_assert_geq(urtc_pc_add_transceiver(vw.pc, URTC_KIND_VIDEO, URTC_RECVONLY, NULL, NULL), 0);
    static char sdp[32768];
    cr_assert_gt(urtc_pc_create_offer(vw.pc, sdp, sizeof sdp), 0);
    cr_assert_eq(urtc_pc_set_local_description(vw.pc, URTC_SDP_OFFER, sdp), 0);
    pthread_mutex_lock(&mu);
    memcpy(vw.offer, sdp, sizeof sdp);
    vw.offer_ready = true;
    pthread_mutex_unlock(&mu);
}

static char answer[32768];

static void viewer_answer_cmd(urtc_pc_t *pc, void *arg)
{
    (void)arg;
    cr_assert_eq(urtc_pc_set_remote_description(pc, URTC_SDP_ANSWER, answer), 0, "%s",
                 urtc_pc_last_error(pc));
}

/* One HTTP/1.1 exchange with Connection: close. Returns the status; @loc and @body get the
 * Location header and the body (NUL-terminated). */
static int http(uint16_t port, const char *method, const char *path, const char *sdp, char *loc,
                size_t loc_cap, char *body, size_t body_cap)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    static char req[40000];
    int n = snprintf(req, sizeof req,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                     "%sContent-Length: %zu\r\n\r\n%s",
                     method, path, sdp ? "Content-Type: application/sdp\r\n" : "",
                     sdp ? strlen(sdp) : 0, sdp ? sdp : "");
    cr_assert(n > 0 && (size_t)n < sizeof req);
    cr_assert_eq(write(fd, req, (size_t)n), n);
    static char resp[40000];
    size_t got = 0;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        cr_assert_gt(poll(&p, 1, 10000), 0, "HTTP response in time");
        ssize_t r = read(fd, resp + got, sizeof resp - 1 - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    resp[got] = 0;
    int status = 0;
    cr_assert_eq(sscanf(resp, "HTTP/1.1 %d", &status), 1, "%s", resp);
    const char *l = strcasestr(resp, "\r\nLocation: ");
    if (loc && l) {
        l += 12;
        size_t k = strcspn(l, "\r\n");
        snprintf(loc, loc_cap, "%.*s", (int)k, l);
    }
    const char *b = strstr(resp, "\r\n\r\n");
    if (body && b)
        snprintf(body, body_cap, "%s", b + 4);
    return status;
}

static bool wait_for(bool (*cond)(void), int ms)
{
    for (int i = 0; i < ms / 20; i++) {
        pthread_mutex_lock(&mu);
        bool ok = cond();
        pthread_mutex_unlock(&mu);
        if (ok)
            return true;
        usleep(20000);
    }
    return false;
}

static bool offer_ready(void)
{
    return vw.offer_ready;
}
static bool viewer_decodes(void)
{
    return vw.v_decoded >= 30 && vw.a_decoded >= 30;
}

static eng_sfu_t *sfu;
static bool one_member(void)
{
    eng_sfu_stats_t st;
    eng_sfu_stats_get(sfu, &st);
    return st.members == 1 && st.pli_tx > 0; /* connected: the first keyframe was asked for */
}
static bool no_members(void)
{
    eng_sfu_stats_t st;
    eng_sfu_stats_get(sfu, &st);
    return st.members == 0 && st.rooms == 0;
}

Test(sfu_whip, aiortc_publishes_urtc_views, .timeout = 120)
{
    if (unshare(CLONE_NEWNET) != 0)
        cr_skip_test("unshare(CLONE_NEWNET) not permitted: cannot isolate aiortc");
    cr_assert_eq(system("ip link set lo up"), 0);
    vw.vdec = codec_vpx_dec_create(CODEC_VP8);
    vw.adec = codec_opus_dec_create(1);
    cr_assert(vw.vdec && vw.adec);

    urtc_engine_config_t ecfg = {.shards = 2};
    urtc_engine_t *sfu_ue = urtc_engine_create(&ecfg);
    cr_assert_not_null(sfu_ue);
    /* Every 12th video packet from the publisher is lost on its way in: the SFU's NACKs get
     * aiortc's retransmissions, so the viewer (which never NACKs) sees no gap. */
    eng_sfu_cfg_t scfg = {.room_max_per_shard = 1, .test_uplink_loss = 12};
    sfu = eng_sfu_create(sfu_ue->e, &scfg);
    cr_assert_not_null(sfu);
    sig_cfg_t sc = {.listen = "127.0.0.1:0", .web_root = "web", .sfu = sfu};
    sig_server_t *sig = sig_server_start(&sc, sfu_ue->e);
    cr_assert_not_null(sig);
    net_addr_t sa;
    sig_server_addr(sig, &sa);
    uint16_t port = net_addr_port(&sa);

    /* aiortc publishes. */
    int pout[2];
    cr_assert_eq(pipe(pout), 0);
    char url[128], secs[8];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/whip/r1", port);
    snprintf(secs, sizeof secs, "%d", PUBLISH_SECONDS);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        dup2(pout[1], 1);
        close(pout[0]);
        execl("/usr/bin/python3", "python3", tst_src_path("tests/interop/sfu_whip_aiortc.py"), url,
              secs, (char *)NULL);
        _exit(127);
    }
    close(pout[1]);
    cr_assert(wait_for(one_member, 20000), "the WHIP publisher joined and connected");

    /* A urtc viewer through WHEP, on the other shard. */
    urtc_engine_config_t ccfg = {.shards = 1};
    urtc_engine_t *cli = urtc_engine_create(&ccfg);
    cr_assert_not_null(cli);
    cr_assert_eq(urtc_engine_post(cli, 0, viewer_offer_cmd, NULL), 0);
    cr_assert(wait_for(offer_ready, 5000));
    char loc[256] = "";
    int st = http(port, "POST", "/whep/r1", vw.offer, loc, sizeof loc, answer, sizeof answer);
    cr_assert_eq(st, 201, "%s", answer);
    cr_assert_eq(strncmp(loc, "/whep/r1/", 9), 0, "Location %s", loc);
    cr_assert_not_null(strstr(answer, "a=ice-lite"));
    cr_assert_eq(urtc_pc_post(cli, vw.pc, viewer_answer_cmd, NULL), 0);
    cr_assert(wait_for(viewer_decodes, 20000), "the viewer decodes (video %d, audio %d, state %s)",
              vw.v_decoded, vw.a_decoded, urtc_pc_state_name(vw.state));
    cr_assert_eq(vw.width, 640, "aiortc's 640x480 pictures");
    eng_sfu_stats_t stats;
    eng_sfu_stats_get(sfu, &stats);
    cr_assert_gt(stats.xshard_fwd, 0, "the publisher's packets crossed shards");
    cr_assert_gt(stats.nack_tx, 0, "NACKs to the publisher");
    pthread_mutex_lock(&mu);
    cr_assert_leq(vw.v_gaps, 2, "uplink loss repaired upstream (%d frames after a gap of %d)",
                  vw.v_gaps, vw.v_decoded);
    pthread_mutex_unlock(&mu);

    /* The viewer ends its session; a second DELETE finds nothing. */
    cr_assert_eq(http(port, "DELETE", loc, NULL, NULL, 0, NULL, 0), 200);
    cr_assert_eq(http(port, "DELETE", loc, NULL, NULL, 0, NULL, 0), 404);

    /* aiortc ends its own (DELETE) and reports. */
    char line[4096];
    size_t n = 0;
    for (;;) {
        struct pollfd p = {.fd = pout[0], .events = POLLIN};
        cr_assert_gt(poll(&p, 1, 30000), 0, "aiortc finished");
        if (read(pout[0], line + n, 1) != 1 || line[n] == '\n' || n + 2 >= sizeof line)
            break;
        n++;
    }
    line[n] = 0;
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert_not_null(strstr(line, "\"status\": 201"), "%s", line);
    cr_assert_not_null(strstr(line, "\"state\": \"connected\""), "%s", line);
    cr_assert_not_null(strstr(line, "\"delete\": 200"), "%s", line);
    cr_assert(wait_for(no_members, 5000), "members and rooms freed");

    sig_server_stop(sig);
    urtc_engine_destroy(cli);
    urtc_engine_destroy(sfu_ue);
    eng_sfu_destroy(sfu);
    codec_vpx_dec_destroy(vw.vdec);
    codec_opus_dec_destroy(vw.adec);
}
