/* tests/interop/sdp_browser_test.c: JSEP offer/answer against headless Chromium (Debian
 * chromium) and Firefox ESR (Debian firefox-esr), the strictest peers here (Chromium refuses
 * an extmap id bound to two URIs in a BUNDLE group). The test serves a page over a loopback
 * HTTP socket; the page:
 *   1. creates an offer (audio + video + data channel), POSTs it to /answer, and applies the
 *      answer urtc returns (setRemoteDescription must accept it);
 *   2. GETs an urtc offer from /offer, answers it, POSTs the answer to /chromeanswer (urtc
 *      must accept it);
 *   3. POSTs a JSON summary to /result.
 * Only SDP is exchanged, inside a private network namespace with only lo. Each browser is
 * skipped when it is not installed or unshare(CLONE_NEWNET) is not permitted. */
#include "rtc/pc/pc.h"
#include "tests/support/tst.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
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
#define FIREFOX "/usr/bin/firefox-esr"
#define BUF_LEN (128 * 1024)

static const char page[] =
    "<!doctype html><html><body><script>\n"
    "async function post(p, body) { return (await fetch(p, {method: 'POST', body})).text(); }\n"
    "async function run() {\n"
    "  const r = {};\n"
    "  try {\n"
    "    const pc = new RTCPeerConnection();\n"
    "    pc.addTransceiver('audio'); pc.addTransceiver('video'); pc.createDataChannel('dc');\n"
    "    await pc.setLocalDescription(await pc.createOffer());\n"
    "    const sdp = await post('/answer', pc.localDescription.sdp);\n"
    "    await pc.setRemoteDescription({type: 'answer', sdp});\n"
    "    r.answer_ok = true; r.answer_state = pc.signalingState;\n"
    "    r.answer_dirs = pc.getTransceivers().map(t => t.currentDirection);\n"
    "  } catch (e) { r.answer_err = String(e); }\n"
    "  try {\n"
    "    const off = await (await fetch('/offer')).text();\n"
    "    const pc2 = new RTCPeerConnection();\n"
    "    await pc2.setRemoteDescription({type: 'offer', sdp: off});\n"
    "    await pc2.setLocalDescription(await pc2.createAnswer());\n"
    "    r.offer_ok = true; r.offer_dirs = pc2.getTransceivers().map(t => t.currentDirection);\n"
    "    await post('/chromeanswer', pc2.localDescription.sdp);\n"
    "  } catch (e) { r.offer_err = String(e); }\n"
    "  await post('/result', JSON.stringify(r));\n"
    "}\n"
    "run();\n"
    "</script></body></html>\n";

typedef struct ctx {
    rtc_pc_t answerer, offerer;
    int chrome_answer_rc;
    char chrome_answer_reason[128];
    json_t *result;
    char out[BUF_LEN];
} ctx_t;

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void pc_setup(rtc_pc_t *pc, const char *ufrag)
{
    rtc_pc_cfg_t cfg = {.ice_ufrag = ufrag,
                        .ice_pwd = "0123456789abcdefghijkl",
                        .cname = "urtc-cname",
                        .sess_id = 4242,
                        .ssrc_seed = 9};
    cfg.fingerprint.hash = RTC_SDP_HASH_SHA256;
    cfg.fingerprint.len = 32;
    for (unsigned i = 0; i < 32; i++)
        cfg.fingerprint.value[i] = (uint8_t)(i * 7 + 3);
    cr_assert_eq(rtc_pc_init(pc, &cfg), 0);
    cr_assert_eq(rtc_pc_add_local_candidate(pc, "1 1 udp 2130706431 127.0.0.1 40000 typ host"), 0);
}

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

typedef struct conn { /* one browser connection (it may open idle speculative ones) */
    int fd;           /* -1: free */
    size_t len;
    char req[BUF_LEN];
} conn_t;

#define MAX_CONNS 16

/* True when @k holds a whole request; then *@body and *@clen are its body. */
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

/* Answers the request in @req on @fd. Returns true when /result arrived. */
static bool serve(ctx_t *c, int fd, const char *req, char *body, size_t clen)
{
    bool done = false;
    rtc_sdp_err_t err = {0};
    if (!strncmp(req, "GET / ", 6)) {
        reply(fd, 200, "text/html", page, sizeof page - 1);
    } else if (!strncmp(req, "POST /answer ", 13)) {
        int rc = rtc_pc_set_remote(&c->answerer, RTC_PC_OFFER, body, clen, &err);
        cr_assert_eq(rc, 0, "set_remote(Chromium offer): %d %s\n%s", rc, err.reason, body);
        int n = rtc_pc_create_answer(&c->answerer, c->out, sizeof c->out, &err);
        cr_assert_gt(n, 0, "%s", err.reason);
        cr_assert_eq(rtc_pc_set_local(&c->answerer, RTC_PC_ANSWER, c->out, (size_t)n, &err), 0);
        reply(fd, 200, "text/plain", c->out, (size_t)n);
    } else if (!strncmp(req, "GET /offer ", 11)) {
        int n = rtc_pc_create_offer(&c->offerer, c->out, sizeof c->out, &err);
        cr_assert_gt(n, 0, "%s", err.reason);
        cr_assert_eq(rtc_pc_set_local(&c->offerer, RTC_PC_OFFER, c->out, (size_t)n, &err), 0);
        reply(fd, 200, "text/plain", c->out, (size_t)n);
    } else if (!strncmp(req, "POST /chromeanswer ", 19)) {
        c->chrome_answer_rc = rtc_pc_set_remote(&c->offerer, RTC_PC_ANSWER, body, clen, &err);
        snprintf(c->chrome_answer_reason, sizeof c->chrome_answer_reason, "%s",
                 err.reason ? err.reason : "");
        reply(fd, 200, "text/plain", "ok", 2);
    } else if (!strncmp(req, "POST /result ", 13)) {
        c->result = json_loads(body, 0, NULL);
        reply(fd, 200, "text/plain", "ok", 2);
        done = true;
    } else {
        reply(fd, 404, "text/plain", "", 0);
    }
    return done;
}

static const char *jstr(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "(none)";
}

/* Serves the page to the browser started by @argv (NULL-terminated; "URL" is replaced) and
 * checks what both sides accepted. */
static void run_browser(const char *name, char **argv)
{
    static ctx_t c;
    memset(&c, 0, sizeof c);
    pc_setup(&c.answerer, "urta");
    pc_setup(&c.offerer, "urto");
    cr_assert_eq(
        rtc_pc_add_transceiver(&c.offerer, RTC_SDP_KIND_AUDIO, RTC_SDP_DIR_SENDRECV, "s", "a", 0),
        0);
    cr_assert_eq(
        rtc_pc_add_transceiver(&c.offerer, RTC_SDP_KIND_VIDEO, RTC_SDP_DIR_SENDRECV, "s", "v", 0),
        1);
    rtc_pc_add_data_channel(&c.offerer);
    c.chrome_answer_rc = 1;

    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    cr_assert_eq(bind(ls, (struct sockaddr *)&sa, sizeof sa), 0);
    cr_assert_eq(listen(ls, 16), 0);
    cr_assert_eq(getsockname(ls, (struct sockaddr *)&sa, &sl), 0);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u/", ntohs(sa.sin_port));
    for (char **a = argv; *a; a++)
        if (!strcmp(*a, "URL"))
            *a = url;

    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        setpgid(0, 0);
        execv(argv[0], argv);
        _exit(127);
    }
    static conn_t conns[MAX_CONNS];
    for (unsigned i = 0; i < MAX_CONNS; i++)
        conns[i].fd = -1;
    bool done = false;
    uint64_t end = mono_ms() + 60000;
    while (!done && mono_ms() < end) {
        struct pollfd p[MAX_CONNS + 1] = {{ls, POLLIN, 0}};
        for (unsigned i = 0; i < MAX_CONNS; i++)
            p[i + 1] = (struct pollfd){conns[i].fd, POLLIN, 0}; /* fd -1 is ignored */
        if (poll(p, MAX_CONNS + 1, 200) <= 0)
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
        for (unsigned i = 0; i < MAX_CONNS && !done; i++) {
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
                done = serve(&c, k->fd, k->req, body, clen);
            }
            close(k->fd); /* served, closed by the browser, or an error */
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
    cr_assert(done, "no result from %s within 60 s", name);
    cr_assert_not_null(c.result);
    /* 1. Chromium accepted urtc's answer */
    cr_expect(json_is_true(json_object_get(c.result, "answer_ok")), "%s refused our answer: %s",
              name, jstr(c.result, "answer_err"));
    cr_expect_str_eq(jstr(c.result, "answer_state"), "stable");
    json_t *dirs = json_object_get(c.result, "answer_dirs");
    cr_assert_eq(json_array_size(dirs), 2);
    /* we answered recvonly (no tracks): Chromium only sends */
    cr_expect_str_eq(json_string_value(json_array_get(dirs, 0)), "sendonly");
    cr_expect_str_eq(json_string_value(json_array_get(dirs, 1)), "sendonly");
    cr_expect_eq(c.answerer.state, RTC_PC_STABLE);
    cr_expect(c.answerer.dtls_client);
    /* 2. Chromium accepted urtc's offer and urtc accepted Chromium's answer */
    cr_expect(json_is_true(json_object_get(c.result, "offer_ok")), "%s refused our offer: %s", name,
              jstr(c.result, "offer_err"));
    cr_expect_eq(c.chrome_answer_rc, 0, "set_remote(Chromium answer): %d %s", c.chrome_answer_rc,
                 c.chrome_answer_reason);
    cr_expect_eq(c.offerer.state, RTC_PC_STABLE);
    cr_expect_eq(c.offerer.tr[0].current_direction, RTC_SDP_DIR_SENDONLY);
    cr_expect_gt(c.offerer.tr[1].neg_cnt, 0);
    cr_expect(!c.offerer.dtls_client); /* browsers answer active */
    cr_expect_eq(c.offerer.remote_sctp_port, 5000);
    json_decref(c.result);
    rtc_pc_fini(&c.answerer);
    rtc_pc_fini(&c.offerer);
}

static void isolate(const char *bin)
{
    if (access(bin, X_OK) != 0)
        cr_skip_test("%s not installed", bin);
    if (unshare(CLONE_NEWNET) != 0)
        cr_skip_test("unshare(CLONE_NEWNET) not permitted: cannot isolate the browser");
    cr_assert_eq(system("ip link set lo up"), 0);
}

Test(sdp_browser, chromium_accepts_answer_and_offer, .timeout = 90)
{
    isolate(CHROMIUM);
    char udd[64];
    snprintf(udd, sizeof udd, "--user-data-dir=/tmp/urtc-sdp-chromium-%d", (int)getpid());
    char *argv[] = {CHROMIUM,
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--disable-extensions",
                    "--no-proxy-server",
                    udd,
                    "URL",
                    NULL};
    run_browser("Chromium", argv);
    char rm[128];
    snprintf(rm, sizeof rm, "rm -rf /tmp/urtc-sdp-chromium-%d", (int)getpid());
    if (system(rm) != 0)
        cr_log_warn("could not remove the profile");
}

Test(sdp_browser, firefox_accepts_answer_and_offer, .timeout = 90)
{
    isolate(FIREFOX);
    char dir[64], cmd[160];
    snprintf(dir, sizeof dir, "/tmp/urtc-sdp-firefox-%d", (int)getpid());
    snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
    cr_assert_eq(system(cmd), 0);
    setenv("HOME", dir, 1);
    char *argv[] = {FIREFOX, "--headless", "--no-remote", "--profile", dir, "URL", NULL};
    run_browser("Firefox", argv);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        cr_log_warn("could not remove the profile");
}
