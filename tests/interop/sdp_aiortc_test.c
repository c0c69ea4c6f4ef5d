/* tests/interop/sdp_aiortc_test.c: JSEP offer/answer against aiortc 1.4 (Debian python3-aiortc).
 * aiortc offers and accepts urtc's answer in setRemoteDescription; urtc offers and accepts
 * aiortc's answer. Only SDP is exchanged (JSON lines through tests/interop/sdp_aiortc_peer.py);
 * aiortc gathers candidates, so it runs in a private network namespace with only lo. Skipped
 * if aiortc is missing or unshare(CLONE_NEWNET) is not permitted. */
#include "rtc/pc/pc.h"
#include "tests/support/tst.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define PY "/usr/bin/python3"
#define BUF_LEN (64 * 1024)

typedef struct peer {
    pid_t pid;
    int in_fd, out_fd;
    char buf[BUF_LEN];
    size_t len;
} peer_t;

static void isolate(void)
{
    if (access(PY, X_OK) != 0 || system(PY " -c 'import aiortc' 2>/dev/null") != 0)
        cr_skip_test("python3-aiortc not installed");
    if (unshare(CLONE_NEWNET) != 0)
        cr_skip_test("unshare(CLONE_NEWNET) not permitted: cannot isolate aiortc");
    cr_assert_eq(system("ip link set lo up"), 0);
}

static void spawn(peer_t *p, const char *mode)
{
    int pin[2], pout[2];
    cr_assert_eq(pipe(pin), 0);
    cr_assert_eq(pipe(pout), 0);
    p->pid = fork();
    cr_assert_geq(p->pid, 0);
    if (p->pid == 0) {
        dup2(pin[0], 0);
        dup2(pout[1], 1);
        close(pin[1]);
        close(pout[0]);
        execl(PY, "python3", tst_src_path("tests/interop/sdp_aiortc_peer.py"), mode, (char *)NULL);
        _exit(127);
    }
    close(pin[0]);
    close(pout[1]);
    p->in_fd = pin[1];
    p->out_fd = pout[0];
    p->len = 0;
}

/* One JSON line from the peer, within 25 s. */
static json_t *recv_json(peer_t *p)
{
    for (int waited = 0; waited < 250;) {
        char *nl = memchr(p->buf, '\n', p->len);
        if (nl) {
            *nl = '\0';
            json_error_t e;
            json_t *j = json_loads(p->buf, 0, &e);
            cr_assert_not_null(j, "bad JSON from aiortc: %s", e.text);
            size_t used = (size_t)(nl + 1 - p->buf);
            memmove(p->buf, nl + 1, p->len - used);
            p->len -= used;
            return j;
        }
        struct pollfd pfd = {p->out_fd, POLLIN, 0};
        if (poll(&pfd, 1, 100) == 0) {
            waited++;
            continue;
        }
        ssize_t n = read(p->out_fd, p->buf + p->len, sizeof p->buf - 1 - p->len);
        cr_assert_gt(n, 0, "aiortc exited early");
        p->len += (size_t)n;
    }
    cr_assert_fail("no answer from aiortc");
    return NULL;
}

static void send_json(peer_t *p, const char *key, const char *sdp)
{
    json_t *j = json_pack("{s:s}", key, sdp);
    char *s = json_dumps(j, JSON_COMPACT);
    size_t n = strlen(s);
    cr_assert_eq(write(p->in_fd, s, n), (ssize_t)n);
    cr_assert_eq(write(p->in_fd, "\n", 1), 1);
    free(s);
    json_decref(j);
}

static void reap(peer_t *p)
{
    close(p->in_fd);
    close(p->out_fd);
    int st;
    for (int i = 0; i < 100 && waitpid(p->pid, &st, WNOHANG) == 0; i++)
        usleep(50000);
    kill(p->pid, SIGKILL);
    waitpid(p->pid, &st, 0);
}

static void pc_setup(rtc_pc_t *pc)
{
    rtc_pc_cfg_t cfg = {.ice_ufrag = "urtc",
                        .ice_pwd = "0123456789abcdefghijkl",
                        .cname = "urtc-cname",
                        .sess_id = 42,
                        .ssrc_seed = 7};
    cfg.fingerprint.hash = RTC_SDP_HASH_SHA256;
    cfg.fingerprint.len = 32;
    for (unsigned i = 0; i < 32; i++)
        cfg.fingerprint.value[i] = (uint8_t)(i * 9);
    cr_assert_eq(rtc_pc_init(pc, &cfg), 0);
    cr_assert_eq(rtc_pc_add_local_candidate(pc, "1 1 udp 2130706431 127.0.0.1 40000 typ host"), 0);
}

static void expect_transceivers(json_t *res, const char *want_current)
{
    json_t *trs = json_object_get(res, "transceivers");
    cr_assert_eq(json_array_size(trs), 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *t = json_array_get(trs, i);
        const char *cur = json_string_value(json_object_get(t, "current"));
        cr_expect_str_eq(cur ? cur : "(null)", want_current, "transceiver %zu", i);
        cr_expect_gt(json_array_size(json_object_get(t, "codecs")), 0);
    }
    cr_expect(json_is_true(json_object_get(res, "sctp")));
}

Test(sdp_aiortc, aiortc_accepts_urtc_answer, .timeout = 60)
{
    isolate();
    static peer_t py;
    spawn(&py, "aiortc-offers");
    json_t *o = recv_json(&py);
    const char *offer = json_string_value(json_object_get(o, "offer"));
    cr_assert_not_null(offer);
    static rtc_pc_t pc;
    pc_setup(&pc);
    /* urtc sends audio and receives video */
    cr_assert_eq(
        rtc_pc_add_transceiver(&pc, RTC_SDP_KIND_AUDIO, RTC_SDP_DIR_SENDRECV, "st", "tr", 0), 0);
    rtc_sdp_err_t err = {0};
    int rc = rtc_pc_set_remote(&pc, RTC_PC_OFFER, offer, strlen(offer), &err);
    cr_assert_eq(rc, 0, "set_remote(aiortc offer): %d %s", rc, err.reason);
    static char ans[BUF_LEN];
    int n = rtc_pc_create_answer(&pc, ans, sizeof ans, &err);
    cr_assert_gt(n, 0, "%s", err.reason);
    cr_assert_eq(rtc_pc_set_local(&pc, RTC_PC_ANSWER, ans, (size_t)n, &err), 0, "%s", err.reason);
    send_json(&py, "answer", ans);
    json_t *res = recv_json(&py);
    cr_assert(json_is_true(json_object_get(res, "ok")), "aiortc refused our answer: %s\n%s",
              json_string_value(json_object_get(res, "error")), ans);
    cr_expect_str_eq(json_string_value(json_object_get(res, "state")), "stable");
    /* audio: both send; video: we did not add a track, so recvonly on our side */
    json_t *trs = json_object_get(res, "transceivers");
    cr_assert_eq(json_array_size(trs), 2);
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(trs, 0), "current")),
                     "sendrecv");
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(trs, 1), "current")),
                     "sendonly");
    cr_expect(json_is_true(json_object_get(res, "sctp")));
    cr_expect(pc.dtls_client);
    cr_expect_eq(pc.remote_sctp_port, 5000);
    cr_expect_gt(pc.tr[0].neg_cnt, 0);
    json_decref(o);
    json_decref(res);
    rtc_pc_fini(&pc);
    reap(&py);
}

Test(sdp_aiortc, urtc_accepts_aiortc_answer, .timeout = 60)
{
    isolate();
    static peer_t py;
    spawn(&py, "urtc-offers");
    static rtc_pc_t pc;
    pc_setup(&pc);
    cr_assert_eq(
        rtc_pc_add_transceiver(&pc, RTC_SDP_KIND_AUDIO, RTC_SDP_DIR_SENDRECV, "st", "a", 0), 0);
    cr_assert_eq(
        rtc_pc_add_transceiver(&pc, RTC_SDP_KIND_VIDEO, RTC_SDP_DIR_SENDRECV, "st", "v", 0), 1);
    rtc_pc_add_data_channel(&pc);
    static char off[BUF_LEN];
    rtc_sdp_err_t err = {0};
    int n = rtc_pc_create_offer(&pc, off, sizeof off, &err);
    cr_assert_gt(n, 0, "%s", err.reason);
    cr_assert_eq(rtc_pc_set_local(&pc, RTC_PC_OFFER, off, (size_t)n, &err), 0, "%s", err.reason);
    send_json(&py, "offer", off);
    json_t *res = recv_json(&py);
    cr_assert(json_is_true(json_object_get(res, "ok")), "aiortc refused our offer: %s\n%s",
              json_string_value(json_object_get(res, "error")), off);
    expect_transceivers(res, "recvonly"); /* aiortc has no tracks: it only receives */
    const char *ans = json_string_value(json_object_get(res, "answer"));
    cr_assert_not_null(ans);
    int rc = rtc_pc_set_remote(&pc, RTC_PC_ANSWER, ans, strlen(ans), &err);
    cr_assert_eq(rc, 0, "set_remote(aiortc answer): %d %s\n%s", rc, err.reason, ans);
    cr_expect_eq(pc.state, RTC_PC_STABLE);
    cr_expect_eq(pc.tr[0].current_direction, RTC_SDP_DIR_SENDONLY);
    cr_expect_eq(pc.tr[1].current_direction, RTC_SDP_DIR_SENDONLY);
    cr_expect_gt(pc.tr[0].neg_cnt, 0);
    cr_expect_gt(pc.tr[1].neg_cnt, 0);
    cr_expect(!pc.dtls_client); /* aiortc answers active */
    cr_expect_not_null(pc.remote_ufrag);
    cr_expect_not_null(pc.remote_fp);
    json_decref(res);
    rtc_pc_fini(&pc);
    reap(&py);
}
