/* tests/engine/peer_test.c: peers on a shard: ICE routing by ufrag, then by address. The far
 * end is a full ICE agent (rtc/ice) that the test drives over a plain UDP socket. */
#include "engine/engine_priv.h"

#include <criterion/criterion.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
    eng_peer_id_t id;
    bool created;
    char ufrag[64], pwd[80];
    char cand[512];
    bool end_of_cands;
    rtc_ice_state_t state;
    uint32_t echoed;
} srv;

static void on_ice_state(eng_peer_t *p, rtc_ice_state_t st, void *user)
{
    (void)p, (void)user;
    pthread_mutex_lock(&mu);
    srv.state = st;
    pthread_mutex_unlock(&mu);
}

static void on_candidate(eng_peer_t *p, const char *cand, void *user)
{
    (void)p, (void)user;
    pthread_mutex_lock(&mu);
    if (cand)
        snprintf(srv.cand, sizeof srv.cand, "%s", cand);
    else
        srv.end_of_cands = true;
    pthread_mutex_unlock(&mu);
}

static void on_packet(eng_peer_t *p, net_pkt_t *pkt, void *user)
{
    (void)user;
    if (eng_peer_send(p, pkt) == 0) { /* echo media back on the selected pair */
        pthread_mutex_lock(&mu);
        srv.echoed++;
        pthread_mutex_unlock(&mu);
    }
}

static void create_cmd(eng_shard_t *sh, void *arg, uint64_t u64)
{
    (void)arg, (void)u64;
    eng_peer_cfg_t cfg = {.ice_lite = true,
                          .cbs = {.on_ice_state = on_ice_state,
                                  .on_candidate = on_candidate,
                                  .on_packet = on_packet}};
    eng_peer_t *p = eng_peer_create(sh, &cfg);
    pthread_mutex_lock(&mu);
    if (p) {
        srv.id = eng_peer_id(p);
        snprintf(srv.ufrag, sizeof srv.ufrag, "%s", eng_peer_ufrag(p));
        snprintf(srv.pwd, sizeof srv.pwd, "%s", eng_peer_pwd(p));
    }
    srv.created = true;
    pthread_mutex_unlock(&mu);
}

static char cli_ufrag[] = "cliUfrag", cli_pwd[] = "clientpasswordclientpassword";

static void creds_cmd(eng_shard_t *sh, void *arg, uint64_t u64)
{
    (void)arg, (void)u64;
    eng_peer_t *p = eng_peer_get(sh, srv.id);
    cr_assert_not_null(p);
    cr_assert_eq(eng_peer_set_remote_creds(p, cli_ufrag, cli_pwd), 0);
}

static void close_cmd(eng_shard_t *sh, void *arg, uint64_t u64)
{
    (void)arg, (void)u64;
    eng_peer_close(eng_peer_get(sh, srv.id));
}

static int udp_socket(net_addr_t *bound)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    net_addr_t a;
    cr_assert_eq(net_addr_set(&a, "127.0.0.1", 0), 0);
    cr_assert_eq(bind(fd, &a.sa, a.len), 0);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    cr_assert_eq(net_addr_from_sa(bound, (struct sockaddr *)&ss, sl), 0);
    return fd;
}

static void wait_for(bool (*cond)(void), const char *what)
{
    for (int i = 0; i < 500; i++) {
        pthread_mutex_lock(&mu);
        bool ok = cond();
        pthread_mutex_unlock(&mu);
        if (ok)
            return;
        usleep(10000);
    }
    cr_assert_fail("timed out waiting for %s (server ICE state %s)", what,
                   rtc_ice_state_name(srv.state));
}

static bool created(void)
{
    return srv.created && srv.end_of_cands;
}

/* Drives the client agent for up to @ms: sends what it has, feeds what arrives. Returns the
 * non-STUN datagrams seen (copied to @media). */
static int drive(rtc_ice_t *ice, int fd, const net_addr_t *local, int ms, uint8_t *media,
                 size_t *media_len)
{
    static rtc_ice_dgram_t dg[16];
    int got = 0;
    uint64_t end = net_clock_ns() + (uint64_t)ms * NET_NS_PER_MS;
    while (net_clock_ns() < end) {
        uint64_t now = net_clock_ns();
        rtc_ice_out_t out = {.dg = dg, .cap = 16};
        if (rtc_ice_deadline(ice) <= now)
            rtc_ice_tick(ice, now, &out);
        uint8_t buf[2048];
        net_addr_t src;
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        ssize_t n;
        while ((n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&ss, &sl)) > 0) {
            cr_assert_eq(net_addr_from_sa(&src, (struct sockaddr *)&ss, sl), 0);
            if (buf[0] < 4) {
                int ret = rtc_ice_input(ice, buf, (size_t)n, &src, local, now, &out);
                (void)ret;
            } else if (media) {
                memcpy(media, buf, (size_t)n);
                *media_len = (size_t)n;
                got++;
            }
            sl = sizeof ss;
        }
        for (size_t i = 0; i < out.cnt; i++)
            sendto(fd, dg[i].data, dg[i].len, 0, &dg[i].dst.sa, dg[i].dst.len);
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        poll(&pfd, 1, 5);
    }
    return got;
}

static bool srv_connected(void)
{
    return srv.state == RTC_ICE_CONNECTED || srv.state == RTC_ICE_COMPLETED;
}

Test(engine_peer, lite_peer_connects_routes_media_and_forgets_on_close)
{
    eng_cfg_t cfg = {.shards = 1};
    eng_t *e = eng_create(&cfg);
    cr_assert_not_null(e);
    cr_assert_eq(eng_post(e, 0, create_cmd, NULL, 0), 0);
    wait_for(created, "the peer");
    cr_assert_eq(strlen(srv.ufrag), 16, "ufrag %s", srv.ufrag);
    cr_assert(strncmp(srv.ufrag, "0000000000", 10) == 0, "shard 0, slot 0, gen 0: %s", srv.ufrag);
    cr_assert(strstr(srv.cand, "typ host") != NULL, "host candidate: %s", srv.cand);
    cr_assert_eq(eng_post(e, 0, creds_cmd, NULL, 0), 0);

    net_addr_t local;
    int fd = udp_socket(&local);
    rtc_ice_cfg_t icfg = {.controlling = true, .ufrag = cli_ufrag, .pwd = cli_pwd};
    rtc_ice_t *ice = rtc_ice_create(&icfg);
    uint64_t now = net_clock_ns();
    cr_assert_geq(rtc_ice_add_host(ice, &local, now), 0);
    cr_assert_eq(rtc_ice_set_remote_creds(ice, srv.ufrag, srv.pwd, now), 0);
    rtc_ice_cand_t c;
    cr_assert_eq(rtc_ice_cand_parse(srv.cand, strlen(srv.cand), &c), 0);
    cr_assert_geq(rtc_ice_add_remote(ice, &c, now), 0);
    rtc_ice_remote_done(ice, now);

    /* Until the client has nominated (regular nomination: a lite peer connects on it). */
    for (int i = 0; i < 100 && rtc_ice_state(ice) != RTC_ICE_COMPLETED; i++)
        drive(ice, fd, &local, 20, NULL, NULL);
    cr_assert_eq(rtc_ice_state(ice), RTC_ICE_COMPLETED, "client ICE state %s",
                 rtc_ice_state_name(rtc_ice_state(ice)));
    wait_for(srv_connected, "the server peer to connect");

    /* Media (first byte 128: RTP) goes to the peer by address, and comes back. */
    net_addr_t dst;
    eng_shard_addr(e, 0, &dst);
    uint8_t rtp[100] = {0x80, 96}, back[2048];
    for (size_t i = 2; i < sizeof rtp; i++)
        rtp[i] = (uint8_t)i;
    cr_assert_eq(sendto(fd, rtp, sizeof rtp, 0, &dst.sa, dst.len), (ssize_t)sizeof rtp);
    size_t back_len = 0;
    int got = 0;
    for (int i = 0; i < 50 && !got; i++)
        got = drive(ice, fd, &local, 20, back, &back_len);
    cr_assert_eq(got, 1, "the echo came back");
    cr_assert_eq(back_len, sizeof rtp);
    cr_assert_arr_eq(back, rtp, sizeof rtp);

    /* From an address no check authenticated: dropped and counted. */
    net_addr_t other_addr;
    int other = udp_socket(&other_addr);
    eng_counters_t c0, c1;
    eng_counters_get(e, 0, &c0);
    sendto(other, rtp, sizeof rtp, 0, &dst.sa, dst.len);
    /* A check naming an unknown ufrag: dropped and counted. */
    uint8_t stun[20] = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42};
    sendto(other, stun, sizeof stun, 0, &dst.sa, dst.len);
    usleep(300000);
    eng_counters_get(e, 0, &c1);
    cr_assert_eq(c1.drop[ENG_DROP_UNKNOWN_PEER] - c0.drop[ENG_DROP_UNKNOWN_PEER], 2);

    /* Closed: its address and its ufrag lead nowhere any more. */
    cr_assert_eq(eng_post(e, 0, close_cmd, NULL, 0), 0);
    usleep(100000);
    eng_counters_get(e, 0, &c0);
    cr_assert_eq(sendto(fd, rtp, sizeof rtp, 0, &dst.sa, dst.len), (ssize_t)sizeof rtp);
    drive(ice, fd, &local, 300, NULL, NULL); /* consent checks with the old ufrag go out too */
    eng_counters_get(e, 0, &c1);
    cr_assert_geq(c1.drop[ENG_DROP_UNKNOWN_PEER] - c0.drop[ENG_DROP_UNKNOWN_PEER], 1);
    pthread_mutex_lock(&mu);
    cr_assert_eq(srv.echoed, 1, "nothing echoed after close");
    pthread_mutex_unlock(&mu);

    rtc_ice_destroy(ice);
    eng_destroy(e);
    close(fd);
    close(other);
}
