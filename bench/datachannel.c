/* bench/datachannel.c: urtc-bench datachannel. Reliable ordered data-channel throughput between
 * two urtc associations (rtc/sctp) over an in-memory pipe in one thread, at 1 KiB and 64 KiB
 * messages, in MB/s and messages/s.
 *
 * Baseline, same run: raw usrsctp on the same kind of pipe (two AF_CONN sockets, usrsctp_sendv
 * and usrsctp_recvv, no channel layer, no DCEP, no id table, no events), in a forked child
 * because usrsctp is process-global and our module initialises it with its own output callback.
 * The ratio ours / raw shows what the channel layer costs. No DTLS in either path.
 *
 * Options: --seconds S (per size and contender, split in 3 rounds, best kept; default 2).
 */
#include "bench/bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <usrsctp.h>

#include "net/net.h"
#include "rtc/sctp/sctp.h"

/* Packets the in-memory pipe holds in each direction, for both contenders. */
#define RAW_Q 8192
#define ROUNDS 3 /* best of: the machine is shared */

typedef struct dc_result {
    double mb_per_sec;
    double msgs_per_sec;
    uint64_t order_errors;
    uint64_t out_drops; /* packets our output queue dropped */
} dc_result_t;

/* ---------------------------------------------------------------------------------------------
 * Ours: rtc/sctp.
 */
typedef struct dc_peer {
    rtc_sctp_t *s;
    bool up;
    int open_sid;
    uint64_t rx_bytes, rx_msgs, next_seq, order_errors;
} dc_peer_t;

static void dc_event(void *user, rtc_sctp_t *s, const rtc_sctp_event_t *ev)
{
    (void)s;
    dc_peer_t *p = user;
    if (ev->type == RTC_SCTP_EV_CONNECTED)
        p->up = true;
    else if (ev->type == RTC_SCTP_EV_CHANNEL_OPEN)
        p->open_sid = ev->sid;
    else if (ev->type == RTC_SCTP_EV_MESSAGE) {
        p->rx_bytes += ev->data.len;
        p->rx_msgs++;
        if (ev->data.len >= 8 && net_rd64be(ev->data.p) != p->next_seq++)
            p->order_errors++;
    }
}

/* Moves packets one at a time in each direction, as a shard does (decrypt, input, drain the
 * output, encrypt), so neither output queue holds more than a burst. */
static void dc_pump(rtc_sctp_t *a, rtc_sctp_t *b, uint64_t now)
{
    for (bool any = true; any;) {
        any = false;
        rtc_sctp_t *from[2] = {a, b}, *to[2] = {b, a};
        for (int k = 0; k < 2; k++) {
            net_view_t v;
            if (!rtc_sctp_out_peek(from[k], &v))
                continue;
            int r = rtc_sctp_input(to[k], v.p, v.len, now);
            rtc_sctp_out_pop(from[k]);
            if (r < 0)
                fprintf(stderr, "datachannel: input: %d\n", r);
            any = true;
        }
    }
}

static int run_ours(size_t msg_len, double seconds, dc_result_t *res)
{
    dc_peer_t a = {.open_sid = -1}, b = {.open_sid = -1};
    rtc_sctp_cfg_t cfg = {.dtls_client = true,
                          .on_event = dc_event,
                          .user = &a,
                          .remote_max_msg = RTC_SCTP_LOCAL_MAX_MSG,
                          /* As deep as the baseline's pipe: with no latency the queue is the
                           * bottleneck buffer, and cwnd grows until it overflows. */
                          .out_queue_cnt = RAW_Q};
    a.s = rtc_sctp_create(&cfg);
    cfg.dtls_client = false;
    cfg.user = &b;
    b.s = rtc_sctp_create(&cfg);
    if (!a.s || !b.s)
        return -1;
    uint64_t now = net_clock_ns();
    if (rtc_sctp_start(a.s, now) < 0 || rtc_sctp_start(b.s, now) < 0)
        return -1;
    int sid = rtc_sctp_channel_open(a.s, &(rtc_sctp_channel_cfg_t){.label = "bench"});
    if (sid < 0)
        return -1;
    uint64_t deadline = now + 5 * NET_NS_PER_SEC;
    while (b.open_sid != sid && (now = net_clock_ns()) < deadline) {
        dc_pump(a.s, b.s, now);
        rtc_sctp_timers_run(now);
    }
    if (b.open_sid != sid)
        return -1;
    uint8_t *msg = malloc(msg_len);
    if (!msg)
        return -1;
    memset(msg, 0x5a, msg_len);
    uint64_t seq = 0, t0 = net_clock_ns(), end = t0 + (uint64_t)(seconds * 1e9);
    uint64_t next_timer = t0;
    while ((now = net_clock_ns()) < end) {
        /* An application respecting backpressure: send while nothing waits in our queue. */
        while (rtc_sctp_buffered_amount(a.s, (uint16_t)sid) == 0) {
            net_wr64be(msg, seq);
            if (rtc_sctp_send(a.s, (uint16_t)sid, msg, msg_len, true) < 0)
                break;
            seq++;
        }
        dc_pump(a.s, b.s, now);
        if (now >= next_timer) {
            rtc_sctp_timers_run(now);
            next_timer = now + NET_NS_PER_MS;
        }
    }
    double el = (double)(net_clock_ns() - t0) / 1e9;
    res->mb_per_sec = (double)b.rx_bytes / el / 1e6;
    res->msgs_per_sec = (double)b.rx_msgs / el;
    res->order_errors = b.order_errors;
    rtc_sctp_stats_t sa, sb;
    rtc_sctp_get_stats(a.s, &sa);
    rtc_sctp_get_stats(b.s, &sb);
    res->out_drops = sa.out_drop_cnt + sb.out_drop_cnt;
    free(msg);
    rtc_sctp_destroy(a.s);
    rtc_sctp_destroy(b.s);
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Baseline: raw usrsctp, run in a child process.
 */
#define RAW_SLOT 1280
typedef struct raw_q {
    uint8_t buf[RAW_Q][RAW_SLOT];
    uint32_t len[RAW_Q];
    uint32_t head, cnt;
} raw_q_t;
static raw_q_t *raw_qs; /* [2]: output of socket 1 and 2 */

static int raw_output(void *addr, void *buf, size_t len, uint8_t tos, uint8_t set_df)
{
    (void)tos;
    (void)set_df;
    raw_q_t *q = &raw_qs[(uintptr_t)addr - 1];
    if (q->cnt == RAW_Q || len > RAW_SLOT)
        return 0;
    uint32_t t = (q->head + q->cnt) % RAW_Q;
    memcpy(q->buf[t], buf, len);
    q->len[t] = (uint32_t)len;
    q->cnt++;
    return 0;
}

static struct socket *raw_sock(uintptr_t id)
{
    struct socket *so = usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP, NULL, NULL, 0, NULL);
    if (!so) {
        perror("datachannel: raw socket");
        return NULL;
    }
    int on = 1, buf = 1 << 20;
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    usrsctp_setsockopt(so, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    usrsctp_set_non_blocking(so, 1);
    usrsctp_setsockopt(so, IPPROTO_SCTP, SCTP_NODELAY, &on, sizeof on);
    usrsctp_setsockopt(so, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
    usrsctp_setsockopt(so, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    /* The same usrsctp configuration as rtc/sctp, so the ratio is the channel layer's cost. */
    usrsctp_setsockopt(so, IPPROTO_SCTP, SCTP_EXPLICIT_EOR, &on, sizeof on);
    struct sctp_initmsg im = {.sinit_num_ostreams = RTC_SCTP_DEFAULT_STREAMS,
                              .sinit_max_instreams = RTC_SCTP_DEFAULT_STREAMS};
    usrsctp_setsockopt(so, IPPROTO_SCTP, SCTP_INITMSG, &im, sizeof im);
    struct sctp_rtoinfo rto = {.srto_initial = 1000, .srto_max = 10000, .srto_min = 400};
    usrsctp_setsockopt(so, IPPROTO_SCTP, SCTP_RTOINFO, &rto, sizeof rto);
    usrsctp_register_address((void *)id);
    struct sockaddr_conn sc = {
        .sconn_family = AF_CONN, .sconn_port = htons(5000), .sconn_addr = (void *)id};
    if (usrsctp_bind(so, (struct sockaddr *)&sc, sizeof sc) < 0) {
        perror("datachannel: raw bind");
        return NULL;
    }
    usrsctp_connect(so, (struct sockaddr *)&sc, sizeof sc);
    struct sctp_paddrparams pp;
    memset(&pp, 0, sizeof pp);
    memcpy(&pp.spp_address, &sc, sizeof sc);
    pp.spp_flags = SPP_PMTUD_DISABLE;
    pp.spp_pathmtu = RTC_SCTP_MTU - 12; /* the same packet size as ours */
    usrsctp_setsockopt(so, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, &pp, sizeof pp);
    return so;
}

static uint64_t raw_drain(struct socket *so, uint8_t *buf, size_t cap, uint64_t *msgs)
{
    uint64_t bytes = 0;
    for (;;) {
        int flags = 0;
        struct sockaddr_conn from;
        socklen_t flen = sizeof from, ilen = 0;
        unsigned itype = 0;
        ssize_t n = usrsctp_recvv(so, buf, cap, (struct sockaddr *)&from, &flen, NULL, &ilen,
                                  &itype, &flags);
        if (n <= 0)
            break;
        if (flags & MSG_NOTIFICATION)
            continue;
        bytes += (uint64_t)n;
        if (flags & MSG_EOR)
            (*msgs)++;
    }
    return bytes;
}

/* The same pump as dc_pump: one packet each way at a time, the receiver reading after each
 * packet (as rtc_sctp_input does). Returns the payload bytes read on @b. */
static uint64_t raw_pump(struct socket *b, uint8_t *buf, size_t cap, uint64_t *msgs)
{
    uint64_t bytes = 0;
    for (bool any = true; any;) {
        any = false;
        for (int k = 0; k < 2; k++) {
            raw_q_t *q = &raw_qs[k];
            if (!q->cnt)
                continue;
            /* Queue 0 is socket 1's output, for socket 2, and the other way round. */
            usrsctp_conninput((void *)(uintptr_t)(k == 0 ? 2 : 1), q->buf[q->head], q->len[q->head],
                              0);
            q->head = (q->head + 1) % RAW_Q;
            q->cnt--;
            if (k == 0)
                bytes += raw_drain(b, buf, cap, msgs);
            any = true;
        }
    }
    return bytes;
}

static int run_raw(size_t msg_len, double seconds, dc_result_t *res)
{
    memset(raw_qs, 0, 2 * sizeof *raw_qs);
    struct socket *a = raw_sock(1), *b = raw_sock(2);
    if (!a || !b)
        return -1;
    uint8_t *msg = calloc(1, msg_len), *rbuf = malloc(1 << 18);
    struct sctp_sndinfo si = {
        .snd_sid = 0, .snd_ppid = htonl(RTC_SCTP_PPID_BINARY), .snd_flags = SCTP_EOR};
    uint64_t now = net_clock_ns(), last = now, deadline = now + 5 * NET_NS_PER_SEC;
    uint64_t rx_msgs = 0, rx_bytes = 0;
    /* Up when the first message goes through. */
    bool up = false;
    while (!up && (now = net_clock_ns()) < deadline) {
        raw_pump(b, rbuf, 1 << 18, &rx_msgs);
        usrsctp_handle_timers((uint32_t)((now - last) / NET_NS_PER_MS));
        last = now - (now - last) % NET_NS_PER_MS;
        up = usrsctp_sendv(a, msg, 8, NULL, 0, &si, sizeof si, SCTP_SENDV_SNDINFO, 0) == 8;
    }
    if (!up)
        return -1;
    for (int i = 0; i < 100; i++) {
        raw_pump(b, rbuf, 1 << 18, &rx_msgs);
    }
    rx_msgs = 0;
    uint64_t t0 = net_clock_ns(), end = t0 + (uint64_t)(seconds * 1e9);
    size_t off = 0;
    while ((now = net_clock_ns()) < end) {
        for (;;) { /* explicit EOR: a partly accepted message continues on the next call */
            ssize_t n = usrsctp_sendv(a, msg + off, msg_len - off, NULL, 0, &si, sizeof si,
                                      SCTP_SENDV_SNDINFO, 0);
            if (n <= 0)
                break;
            off += (size_t)n;
            if (off < msg_len)
                break;
            off = 0;
        }
        rx_bytes += raw_pump(b, rbuf, 1 << 18, &rx_msgs);
        if (now - last >= NET_NS_PER_MS) {
            usrsctp_handle_timers((uint32_t)((now - last) / NET_NS_PER_MS));
            last = now - (now - last) % NET_NS_PER_MS;
        }
    }
    double el = (double)(net_clock_ns() - t0) / 1e9;
    res->mb_per_sec = (double)rx_bytes / el / 1e6;
    res->msgs_per_sec = (double)rx_msgs / el;
    res->order_errors = 0;
    usrsctp_deregister_address((void *)1);
    usrsctp_deregister_address((void *)2);
    usrsctp_close(a);
    usrsctp_close(b);
    free(msg);
    free(rbuf);
    return 0;
}

/* Runs the raw baseline for both sizes in a child (fresh usrsctp), results through a pipe. */
static int run_raw_child(const size_t *sizes, int n, double seconds, dc_result_t *res)
{
    int fds[2];
    if (pipe(fds) < 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        close(fds[0]);
        raw_qs = calloc(2, sizeof *raw_qs);
        usrsctp_init_nothreads(0, raw_output, NULL);
        usrsctp_sysctl_set_sctp_ecn_enable(0);
        for (int i = 0; i < n; i++) {
            dc_result_t r = {0}, best = {0};
            for (int k = 0; k < ROUNDS; k++) {
                if (run_raw(sizes[i], seconds / ROUNDS, &r) < 0) {
                    best.mb_per_sec = -1;
                    break;
                }
                if (r.mb_per_sec > best.mb_per_sec)
                    best = r;
            }
            r = best;
            if (write(fds[1], &r, sizeof r) != (ssize_t)sizeof r)
                _exit(1);
        }
        _exit(0);
    }
    close(fds[1]);
    int ok = 0;
    for (int i = 0; i < n; i++)
        if (read(fds[0], &res[i], sizeof res[i]) != (ssize_t)sizeof res[i] || res[i].mb_per_sec < 0)
            ok = -1;
    close(fds[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "datachannel: baseline child status %#x\n", st);
        ok = -1;
    }
    return ok;
}

static int bench_datachannel(int argc, char **argv, bool json)
{
    double seconds = bench_opt_double(argc, argv, "--seconds", 2.0);
    static const size_t sizes[2] = {1024, 65536};
    static const char *names[2] = {"1k", "64k"};
    dc_result_t raw[2], ours[2];
    if (run_raw_child(sizes, 2, seconds, raw) < 0) {
        fprintf(stderr, "datachannel: raw usrsctp baseline failed\n");
        return 1;
    }
    for (int i = 0; i < 2; i++) {
        ours[i] = (dc_result_t){0};
        for (int k = 0; k < ROUNDS; k++) {
            dc_result_t r;
            if (run_ours(sizes[i], seconds / ROUNDS, &r) < 0) {
                fprintf(stderr, "datachannel: urtc run failed\n");
                return 1;
            }
            r.order_errors += ours[i].order_errors;
            r.out_drops += ours[i].out_drops;
            if (r.mb_per_sec > ours[i].mb_per_sec)
                ours[i] = r;
            else {
                ours[i].order_errors = r.order_errors;
                ours[i].out_drops = r.out_drops;
            }
        }
    }
    bench_json_t j;
    bench_json_init(&j);
    printf("reliable ordered data channel, one thread, in-memory pipe, no DTLS, best of %d x "
           "%.2f s\n",
           ROUNDS, seconds / ROUNDS);
    for (int i = 0; i < 2; i++) {
        double ratio = ours[i].mb_per_sec / raw[i].mb_per_sec;
        printf("%-4s urtc: %8.1f MB/s %10.0f msg/s | raw usrsctp: %8.1f MB/s %10.0f msg/s | "
               "ratio %.3f (drops %lu)%s\n",
               names[i], ours[i].mb_per_sec, ours[i].msgs_per_sec, raw[i].mb_per_sec,
               raw[i].msgs_per_sec, ratio, (unsigned long)ours[i].out_drops,
               ours[i].order_errors ? " ORDER ERRORS" : "");
        char key[64];
        snprintf(key, sizeof key, "urtc_%s_mb_per_sec", names[i]);
        bench_json_result(&j, key, ours[i].mb_per_sec);
        snprintf(key, sizeof key, "urtc_%s_msgs_per_sec", names[i]);
        bench_json_result(&j, key, ours[i].msgs_per_sec);
        snprintf(key, sizeof key, "raw_%s_mb_per_sec", names[i]);
        bench_json_result(&j, key, raw[i].mb_per_sec);
        snprintf(key, sizeof key, "raw_%s_msgs_per_sec", names[i]);
        bench_json_result(&j, key, raw[i].msgs_per_sec);
        snprintf(key, sizeof key, "msg_%s", names[i]);
        bench_json_ratio_named(&j, key, ratio);
    }
    if (json)
        bench_json_print(&j, "datachannel", -1);
    return ours[0].order_errors || ours[1].order_errors ? 1 : 0;
}

BENCH_REGISTER(datachannel,
               "reliable ordered data-channel throughput (MB/s, msg/s) at 1 KiB and 64 KiB between "
               "two urtc associations over an in-memory pipe, against raw usrsctp send/recv on the "
               "same pipe in the same run (--seconds S per measurement, default 2)",
               bench_datachannel)
