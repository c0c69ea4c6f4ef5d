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

static uint64_t drops_seen[3];

static void read_drops_cmd(eng_shard_t *sh, void *arg, uint64_t u64)
{
    (void)arg, (void)u64;
    pthread_mutex_lock(&mu);
    drops_seen[0] = sh->peer_drops.dtls_before_start;
    drops_seen[1] = sh->peer_drops.srtp_before_keys;
    drops_seen[2] = sh->peer_drops.srtp_rejected;
    pthread_mutex_unlock(&mu);
}

static uint64_t peer_drop(eng_t *e, uint32_t shard, int which)
{
    cr_assert_eq(eng_post(e, shard, read_drops_cmd, NULL, 0), 0);
    usleep(50000);
    pthread_mutex_lock(&mu);
    uint64_t v = drops_seen[which];
    pthread_mutex_unlock(&mu);
    return v;
}

static void create_cmd(eng_shard_t *sh, void *arg, uint64_t u64)
{
    (void)arg, (void)u64;
    eng_peer_cfg_t cfg = {.ice_lite = true,
                          .cbs = {.on_ice_state = on_ice_state, .on_candidate = on_candidate}};
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

    /* Media (first byte 128: RTP) reaches the peer by address; without SRTP keys it is
     * dropped there, and counted as such, not as an unknown peer. */
    net_addr_t dst;
    eng_shard_addr(e, 0, &dst);
    uint8_t rtp[100] = {0x80, 96};
    uint64_t before = peer_drop(e, 0, 1);
    cr_assert_eq(sendto(fd, rtp, sizeof rtp, 0, &dst.sa, dst.len), (ssize_t)sizeof rtp);
    usleep(100000);
    cr_assert_eq(peer_drop(e, 0, 1) - before, 1, "the peer saw the RTP packet");

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

    rtc_ice_destroy(ice);
    eng_destroy(e);
    close(fd);
    close(other);
}

/* ---- Two peers of one engine, on two shards: ICE, DTLS, SRTP and DTLS data both ways ---- */

struct side {
    eng_peer_id_t id;
    char ufrag[64], pwd[80], cand[512];
    bool ready;
    rtc_ice_state_t ice;
    rtc_dtls_state_t dtls;
    uint32_t rtp_ok, rtcp_ok, data_ok;
};
static struct side side[2];

static struct side *side_of(eng_peer_t *p)
{
    return &side[eng_peer_id(p).shard];
}

static void s_ice(eng_peer_t *p, rtc_ice_state_t st, void *user)
{
    (void)user;
    pthread_mutex_lock(&mu);
    side_of(p)->ice = st;
    pthread_mutex_unlock(&mu);
}

static void s_cand(eng_peer_t *p, const char *cand, void *user)
{
    (void)user;
    pthread_mutex_lock(&mu);
    if (cand)
        snprintf(side_of(p)->cand, sizeof side_of(p)->cand, "%s", cand);
    pthread_mutex_unlock(&mu);
}

static void s_dtls(eng_peer_t *p, rtc_dtls_state_t st, void *user)
{
    (void)user;
    pthread_mutex_lock(&mu);
    side_of(p)->dtls = st;
    pthread_mutex_unlock(&mu);
}

static const char data_msg[] = "an SCTP packet, as far as DTLS knows";

static void s_data(eng_peer_t *p, const uint8_t *data, size_t len, void *user)
{
    (void)user;
    bool ok = len == sizeof data_msg && memcmp(data, data_msg, len) == 0;
    pthread_mutex_lock(&mu);
    side_of(p)->data_ok += ok;
    pthread_mutex_unlock(&mu);
}

/* RTP: 12-byte header, SSRC = shard + 1, payload 0..99. */
static void s_rtp(eng_peer_t *p, net_pkt_t *pkt, bool rtcp, void *user)
{
    (void)user;
    bool ok;
    if (rtcp) {
        ok = pkt->len == 8 && pkt->data[1] == 201; /* an empty RR */
    } else {
        ok = pkt->len == 112 && net_rd32be(pkt->data + 8) == 2u - eng_peer_id(p).shard;
        for (uint32_t i = 12; ok && i < pkt->len; i++)
            ok = pkt->data[i] == (uint8_t)(i - 12);
    }
    pthread_mutex_lock(&mu);
    if (rtcp)
        side_of(p)->rtcp_ok += ok;
    else
        side_of(p)->rtp_ok += ok;
    pthread_mutex_unlock(&mu);
    net_pkt_free(pkt);
}

static void s_create_cmd(eng_shard_t *sh, void *arg, uint64_t lite)
{
    (void)arg;
    eng_peer_cfg_t cfg = {.ice_lite = lite,
                          .controlling = !lite,
                          .cbs = {.on_ice_state = s_ice,
                                  .on_candidate = s_cand,
                                  .on_dtls_state = s_dtls,
                                  .on_dtls_data = s_data,
                                  .on_rtp = s_rtp}};
    eng_peer_t *p = eng_peer_create(sh, &cfg);
    cr_assert_not_null(p);
    struct side *me = &side[eng_shard_index(sh)];
    pthread_mutex_lock(&mu);
    me->id = eng_peer_id(p);
    snprintf(me->ufrag, sizeof me->ufrag, "%s", eng_peer_ufrag(p));
    snprintf(me->pwd, sizeof me->pwd, "%s", eng_peer_pwd(p));
    me->ready = true;
    pthread_mutex_unlock(&mu);
}

/* Applies the other side's description: credentials, candidate, DTLS role and fingerprint. */
static void s_remote_cmd(eng_shard_t *sh, void *arg, uint64_t u64)
{
    (void)u64;
    const char *fp = arg;
    uint32_t me = eng_shard_index(sh), other = 1 - me;
    eng_peer_t *p = eng_peer_get(sh, side[me].id);
    cr_assert_eq(eng_peer_set_remote_creds(p, side[other].ufrag, side[other].pwd), 0);
    cr_assert_eq(eng_peer_add_candidate(p, side[other].cand), 0);
    cr_assert_eq(eng_peer_add_candidate(p, NULL), 0);
    /* The full agent (shard 0) is the DTLS client, as an offerer facing a lite server is. */
    cr_assert_eq(eng_peer_start_dtls(p, me == 0, fp), 0);
    cr_assert_eq(eng_peer_start_dtls(p, me == 0, fp), -EALREADY);
}

static void s_send_cmd(eng_shard_t *sh, void *arg, uint64_t u64)
{
    (void)arg, (void)u64;
    uint32_t me = eng_shard_index(sh);
    eng_peer_t *p = eng_peer_get(sh, side[me].id);
    for (int n = 0; n < 10; n++) {
        net_pkt_t *pkt = eng_shard_pkt_alloc(sh);
        uint8_t *b = pkt->data;
        memset(b, 0, 12);
        b[0] = 0x80;
        b[1] = 96;
        net_wr16be(b + 2, (uint16_t)n);
        net_wr32be(b + 8, me + 1);
        for (int i = 0; i < 100; i++)
            b[12 + i] = (uint8_t)i;
        pkt->len = 112;
        cr_assert_eq(eng_peer_send_rtp(p, pkt, false), 0);
    }
    net_pkt_t *rr = eng_shard_pkt_alloc(sh);
    static const uint8_t rr_bytes[8] = {0x80, 201, 0, 1};
    memcpy(rr->data, rr_bytes, 8);
    net_wr32be(rr->data + 4, me + 1);
    rr->len = 8;
    cr_assert_eq(eng_peer_send_rtp(p, rr, true), 0);
    cr_assert_eq(eng_peer_send_dtls_data(p, data_msg, sizeof data_msg), 0);
}

static bool both_ready(void)
{
    return side[0].ready && side[1].ready && side[0].cand[0] && side[1].cand[0];
}

static bool both_dtls(void)
{
    return side[0].dtls == RTC_DTLS_CONNECTED && side[1].dtls == RTC_DTLS_CONNECTED;
}

static bool all_arrived(void)
{
    return side[0].rtp_ok == 10 && side[1].rtp_ok == 10 && side[0].rtcp_ok == 1 &&
           side[1].rtcp_ok == 1 && side[0].data_ok == 1 && side[1].data_ok == 1;
}

Test(engine_peer, dtls_srtp_between_a_full_and_a_lite_peer)
{
    eng_cfg_t cfg = {.shards = 2};
    eng_t *e = eng_create(&cfg);
    cr_assert_not_null(e);
    const char *fp = eng_fingerprint(e);
    cr_assert(strncmp(fp, "sha-256 ", 8) == 0, "fingerprint %s", fp);
    cr_assert_eq(eng_post(e, 0, s_create_cmd, NULL, 0), 0);
    cr_assert_eq(eng_post(e, 1, s_create_cmd, NULL, 1), 0);
    wait_for(both_ready, "both peers");
    cr_assert_eq(eng_post(e, 1, s_remote_cmd, (void *)fp, 0), 0);
    cr_assert_eq(eng_post(e, 0, s_remote_cmd, (void *)fp, 0), 0);
    wait_for(both_dtls, "DTLS on both sides");
    cr_assert(side[0].ice == RTC_ICE_COMPLETED || side[0].ice == RTC_ICE_CONNECTED);
    cr_assert_eq(eng_post(e, 0, s_send_cmd, NULL, 0), 0);
    cr_assert_eq(eng_post(e, 1, s_send_cmd, NULL, 0), 0);
    wait_for(all_arrived, "RTP, RTCP and DTLS data both ways");
    cr_assert_eq(peer_drop(e, 0, 2) + peer_drop(e, 1, 2), 0, "no SRTP rejections");
    eng_destroy(e);
}
