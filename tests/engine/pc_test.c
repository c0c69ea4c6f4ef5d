/* tests/engine/pc_test.c: the public API end to end: two peer connections on two shards of one
 * engine negotiate (offer/answer), connect (ICE, DTLS) and exchange RTP both ways. */
#include "urtc/urtc.h"

#include "engine/engine_priv.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

struct end {
    urtc_pc_t *pc;
    int tr;
    char sdp[16384];
    bool sdp_ready;
    urtc_pc_state_t state;
    int tracks;
    uint32_t rtp_ok, rtp_bad;
    char stats[16384];
    bool stats_ready;
    int dc;
    bool dc_open;
    uint32_t dc_msgs_ok, dc_msgs_bad;
    int negotiation_needed, keyframe_requests;
};
static struct end ends[2];

static struct end *end_of(urtc_pc_t *pc)
{
    return urtc_pc_user(pc);
}

static void on_state(urtc_pc_t *pc, urtc_pc_state_t st, void *user)
{
    (void)pc;
    pthread_mutex_lock(&mu);
    ((struct end *)user)->state = st;
    pthread_mutex_unlock(&mu);
}

static void on_track(urtc_pc_t *pc, int tr, urtc_kind_t kind, const char *mid, void *user)
{
    (void)pc, (void)mid;
    struct end *me = user;
    cr_assert_eq(kind, URTC_KIND_AUDIO);
    me->tr = tr;
    me->tracks++;
}

static void on_rtp(urtc_pc_t *pc, int tr, const urtc_rtp_packet_t *p, void *user)
{
    (void)pc;
    struct end *me = user;
    bool ok = tr == me->tr && p->codec && strcmp(p->codec, "opus") == 0 && p->payload_len == 80 &&
              p->payload[0] == (uint8_t)(p->seq % 20) &&
              p->timestamp == 960u * (p->seq % 20u); /* 20 per burst; seq goes on */
    pthread_mutex_lock(&mu);
    if (ok)
        me->rtp_ok++;
    else
        me->rtp_bad++;
    pthread_mutex_unlock(&mu);
}

static void on_datachannel(urtc_pc_t *pc, int dc, const char *label, const char *proto, void *user)
{
    (void)pc, (void)proto;
    struct end *me = user;
    cr_assert_str_eq(label, "chat");
    pthread_mutex_lock(&mu);
    me->dc = dc;
    me->dc_open = true;
    pthread_mutex_unlock(&mu);
}

static void on_dc_open(urtc_pc_t *pc, int dc, void *user)
{
    (void)pc;
    struct end *me = user;
    pthread_mutex_lock(&mu);
    me->dc_open = dc == me->dc;
    pthread_mutex_unlock(&mu);
}

/* Message i: "msg <i>" as a string when even, i bytes of i as binary when odd. */
static void on_dc_message(urtc_pc_t *pc, int dc, const uint8_t *data, size_t len, bool binary,
                          void *user)
{
    (void)pc;
    struct end *me = user;
    pthread_mutex_lock(&mu);
    uint32_t i = me->dc_msgs_ok + me->dc_msgs_bad; /* ordered, reliable: in sequence */
    bool ok = dc == me->dc;
    if (i % 2 == 0) {
        char want[32];
        int n = snprintf(want, sizeof want, "msg %u", i);
        ok = ok && !binary && len == (size_t)n && memcmp(data, want, len) == 0;
    } else {
        ok = ok && binary && len == i;
        for (size_t k = 0; ok && k < len; k++)
            ok = data[k] == (uint8_t)i;
    }
    if (ok)
        me->dc_msgs_ok++;
    else
        me->dc_msgs_bad++;
    pthread_mutex_unlock(&mu);
}

static void on_negotiation_needed(urtc_pc_t *pc, void *user)
{
    (void)pc;
    pthread_mutex_lock(&mu);
    ((struct end *)user)->negotiation_needed++;
    pthread_mutex_unlock(&mu);
}

static void on_keyframe_request(urtc_pc_t *pc, int tr, void *user)
{
    (void)pc;
    struct end *me = user;
    pthread_mutex_lock(&mu);
    if (tr == me->tr)
        me->keyframe_requests++;
    pthread_mutex_unlock(&mu);
}

static const urtc_pc_callbacks_t cbs = {.on_state = on_state,
                                        .on_negotiation_needed = on_negotiation_needed,
                                        .on_keyframe_request = on_keyframe_request,
                                        .on_track = on_track,
                                        .on_rtp = on_rtp,
                                        .on_datachannel = on_datachannel,
                                        .on_dc_open = on_dc_open,
                                        .on_dc_message = on_dc_message};

static void offerer_cmd(urtc_shard_t *sh, void *arg)
{
    struct end *me = arg;
    urtc_pc_config_t cfg = {.cname = "offerer"};
    me->pc = urtc_pc_create(sh, &cfg, &cbs, me);
    cr_assert_not_null(me->pc);
    me->tr = urtc_pc_add_transceiver(me->pc, URTC_KIND_AUDIO, URTC_SENDRECV, "s0", "a0");
    cr_assert_geq(me->tr, 0);
    me->dc = urtc_pc_create_data_channel(me->pc, "chat", NULL); /* opens once SCTP is up */
    cr_assert_geq(me->dc, 0);
    cr_assert_eq(me->negotiation_needed, 1, "negotiation-needed fires once for both changes");
    int n = urtc_pc_create_offer(me->pc, me->sdp, sizeof me->sdp);
    cr_assert_gt(n, 0, "%s", urtc_pc_last_error(me->pc));
    cr_assert_eq(urtc_pc_set_local_description(me->pc, URTC_SDP_OFFER, me->sdp), 0, "%s",
                 urtc_pc_last_error(me->pc));
    /* Misuse is refused with a reason: an answer in have-local-offer. */
    char tmp[16384];
    cr_assert_lt(urtc_pc_create_answer(me->pc, tmp, sizeof tmp), 0);
    cr_assert_neq(urtc_pc_last_error(me->pc)[0], '\0');
    pthread_mutex_lock(&mu);
    me->sdp_ready = true;
    pthread_mutex_unlock(&mu);
}

static void answerer_cmd(urtc_shard_t *sh, void *arg)
{
    struct end *me = arg;
    urtc_pc_config_t cfg = {.cname = "answerer"};
    me->pc = urtc_pc_create(sh, &cfg, &cbs, me);
    cr_assert_not_null(me->pc);
    cr_assert_eq(urtc_pc_set_remote_description(me->pc, URTC_SDP_OFFER, ends[0].sdp), 0, "%s",
                 urtc_pc_last_error(me->pc));
    cr_assert_eq(me->tracks, 1, "ontrack for the offered audio");
    int n = urtc_pc_create_answer(me->pc, me->sdp, sizeof me->sdp);
    cr_assert_gt(n, 0, "%s", urtc_pc_last_error(me->pc));
    cr_assert_eq(urtc_pc_set_local_description(me->pc, URTC_SDP_ANSWER, me->sdp), 0, "%s",
                 urtc_pc_last_error(me->pc));
    pthread_mutex_lock(&mu);
    me->sdp_ready = true;
    pthread_mutex_unlock(&mu);
}

static void apply_answer_cmd(urtc_pc_t *pc, void *arg)
{
    (void)arg;
    cr_assert_eq(urtc_pc_set_remote_description(pc, URTC_SDP_ANSWER, ends[1].sdp), 0, "%s",
                 urtc_pc_last_error(pc));
}

static void send_cmd(urtc_pc_t *pc, void *arg)
{
    (void)arg;
    struct end *me = end_of(pc);
    uint8_t payload[80];
    for (uint16_t seq = 0; seq < 20; seq++) {
        memset(payload, seq, sizeof payload); /* the sequence number starts at 0 */
        cr_assert_eq(
            urtc_pc_send_rtp(pc, me->tr, "opus", 960u * seq, false, payload, sizeof payload), 0,
            "%s", urtc_pc_last_error(pc));
    }
    cr_assert_eq(urtc_pc_send_rtp(pc, me->tr, "VP8", 0, false, payload, 10), -ENOENT);
    uint8_t bin[100];
    for (uint32_t i = 0; i < 100; i++) {
        int ret;
        if (i % 2 == 0) {
            char msg[32];
            int n = snprintf(msg, sizeof msg, "msg %u", i);
            ret = urtc_dc_send(pc, me->dc, msg, (size_t)n, false);
        } else {
            memset(bin, (int)i, i);
            ret = urtc_dc_send(pc, me->dc, bin, i, true);
        }
        cr_assert_eq(ret, 0, "dc send %u: %d", i, ret);
    }
}

static void pli_cmd(urtc_pc_t *pc, void *arg)
{
    (void)arg;
    struct end *me = end_of(pc);
    cr_assert_eq(urtc_pc_request_keyframe(pc, me->tr), 0, "%s", urtc_pc_last_error(pc));
}

static bool got_pli(void)
{
    return ends[0].keyframe_requests == 1;
}

/* removeTrack: negotiation is needed again, and the next offer rejects the m-section. */
static void remove_cmd(urtc_pc_t *pc, void *arg)
{
    (void)arg;
    struct end *me = end_of(pc);
    int before = me->negotiation_needed;
    cr_assert_eq(urtc_pc_remove_track(pc, me->tr), 0);
    cr_assert_eq(me->negotiation_needed, before + 1);
    cr_assert_gt(urtc_pc_create_offer(pc, me->sdp, sizeof me->sdp), 0, "%s",
                 urtc_pc_last_error(pc));
    cr_assert_not_null(strstr(me->sdp, "m=audio 0 "), "the stopped m-section is rejected:\n%s",
                       me->sdp);
    pthread_mutex_lock(&mu);
    me->sdp_ready = true;
    pthread_mutex_unlock(&mu);
}

static void stats_cmd(urtc_pc_t *pc, void *arg)
{
    (void)arg;
    struct end *me = end_of(pc);
    cr_assert_gt(urtc_pc_get_stats(pc, me->stats, sizeof me->stats), 0);
    pthread_mutex_lock(&mu);
    me->stats_ready = true;
    pthread_mutex_unlock(&mu);
}

/* ICE restart, offerer side: restartIce(), a new offer with new credentials. */
static char old_ufrag[64];

static void ufrag_of(const char *sdp, char *out, size_t cap)
{
    const char *u = strstr(sdp, "a=ice-ufrag:");
    cr_assert_not_null(u);
    u += 12;
    size_t n = strcspn(u, "\r\n");
    snprintf(out, cap, "%.*s", (int)n, u);
}

static void restart_offer_cmd(urtc_pc_t *pc, void *arg)
{
    (void)arg;
    struct end *me = end_of(pc);
    ufrag_of(me->sdp, old_ufrag, sizeof old_ufrag);
    cr_assert_eq(urtc_pc_restart_ice(pc), 0, "%s", urtc_pc_last_error(pc));
    cr_assert_gt(urtc_pc_create_offer(pc, me->sdp, sizeof me->sdp), 0, "%s",
                 urtc_pc_last_error(pc));
    cr_assert_eq(urtc_pc_set_local_description(pc, URTC_SDP_OFFER, me->sdp), 0, "%s",
                 urtc_pc_last_error(pc));
    char now[64];
    ufrag_of(me->sdp, now, sizeof now);
    cr_assert_str_neq(now, old_ufrag, "a restart brings a new ufrag");
    cr_assert(strncmp(now, old_ufrag, 10) == 0, "that keeps its routing prefix");
    cr_assert_not_null(strstr(me->sdp, "a=candidate:"), "and the candidates");
    pthread_mutex_lock(&mu);
    me->sdp_ready = true;
    pthread_mutex_unlock(&mu);
}

/* Answerer side: the remote offer restarts ICE, so the answer has new credentials too. */
static void restart_answer_cmd(urtc_pc_t *pc, void *arg)
{
    (void)arg;
    struct end *me = end_of(pc);
    char before[64];
    ufrag_of(me->sdp, before, sizeof before);
    cr_assert_eq(urtc_pc_set_remote_description(pc, URTC_SDP_OFFER, ends[0].sdp), 0, "%s",
                 urtc_pc_last_error(pc));
    cr_assert_gt(urtc_pc_create_answer(pc, me->sdp, sizeof me->sdp), 0, "%s",
                 urtc_pc_last_error(pc));
    cr_assert_eq(urtc_pc_set_local_description(pc, URTC_SDP_ANSWER, me->sdp), 0, "%s",
                 urtc_pc_last_error(pc));
    char now[64];
    ufrag_of(me->sdp, now, sizeof now);
    cr_assert_str_neq(now, before);
    pthread_mutex_lock(&mu);
    me->sdp_ready = true;
    pthread_mutex_unlock(&mu);
}

static void close_cmd(urtc_pc_t *pc, void *arg)
{
    (void)arg;
    urtc_pc_close(pc);
}

static bool wait_until(bool (*cond)(void))
{
    for (int i = 0; i < 1000; i++) {
        pthread_mutex_lock(&mu);
        bool ok = cond();
        pthread_mutex_unlock(&mu);
        if (ok)
            return true;
        usleep(10000);
    }
    return false;
}

static bool offer_ready(void)
{
    return ends[0].sdp_ready;
}
static bool answer_ready(void)
{
    return ends[1].sdp_ready;
}
static bool connected(void)
{
    return ends[0].state == URTC_PC_CONNECTED && ends[1].state == URTC_PC_CONNECTED;
}
static bool media_done(void)
{
    return ends[0].rtp_ok + ends[0].rtp_bad >= 20 && ends[1].rtp_ok + ends[1].rtp_bad >= 20 &&
           ends[0].dc_msgs_ok + ends[0].dc_msgs_bad >= 100 &&
           ends[1].dc_msgs_ok + ends[1].dc_msgs_bad >= 100;
}
static bool dc_open(void)
{
    return ends[0].dc_open && ends[1].dc_open;
}
static bool stats_ready(void)
{
    return ends[1].stats_ready;
}
static bool both_stats_ready(void)
{
    return ends[0].stats_ready && ends[1].stats_ready;
}

/* The number after "key": in the first stats object of @type in @json; -1 if absent. */
static double stat_of(const char *json, const char *type, const char *key)
{
    char t[64], kk[64];
    snprintf(t, sizeof t, "\"type\": \"%s\"", type);
    snprintf(kk, sizeof kk, "\"%s\": ", key);
    const char *o = strstr(json, t), *end = o ? strchr(o, '}') : NULL,
               *v = o ? strstr(o, kk) : NULL;
    return v && v < end ? strtod(v + strlen(kk), NULL) : -1;
}

/* RTCP on a clean path (RFC 3550 §6.4): each end's SR reaches the other (remote-outbound-rtp
 * with the sender's counts), and each end's report block about the other's stream comes back
 * with the LSR/DLSR of that SR, so both measure a round trip (remote-inbound-rtp). Waits for
 * a few report intervals (~1 s each, randomized). */
static void check_reports(urtc_engine_t *e)
{
    bool ok = false;
    for (int round = 0; round < 40 && !ok; round++) {
        usleep(250000);
        pthread_mutex_lock(&mu);
        ends[0].stats_ready = ends[1].stats_ready = false;
        pthread_mutex_unlock(&mu);
        cr_assert_eq(urtc_pc_post(e, ends[0].pc, stats_cmd, NULL), 0);
        cr_assert_eq(urtc_pc_post(e, ends[1].pc, stats_cmd, NULL), 0);
        cr_assert(wait_until(both_stats_ready));
        ok = stat_of(ends[0].stats, "remote-inbound-rtp", "roundTripTime") >= 0 &&
             stat_of(ends[1].stats, "remote-inbound-rtp", "roundTripTime") >= 0;
    }
    for (int i = 0; i < 2; i++) {
        const char *st = ends[i].stats;
        cr_assert(ok, "RTT from report blocks at both ends:\n%s", st);
        double rtt = stat_of(st, "remote-inbound-rtp", "roundTripTime");
        cr_assert(rtt >= 0 && rtt < 1.0, "loopback RTT %.6f s", rtt);
        cr_assert_eq(stat_of(st, "remote-inbound-rtp", "packetsLost"), 0, "%s", st);
        cr_assert_geq(stat_of(st, "remote-inbound-rtp", "reportsReceived"), 1, "%s", st);
        /* The peer's SR counts its 20 packets of 80 payload bytes (RFC 3550 §6.4.1). */
        cr_assert_eq(stat_of(st, "remote-outbound-rtp", "packetsSent"), 20, "%s", st);
        cr_assert_eq(stat_of(st, "remote-outbound-rtp", "bytesSent"), 1600, "%s", st);
        cr_assert_geq(stat_of(st, "remote-outbound-rtp", "reportsSent"), 1, "%s", st);
        cr_assert_eq(stat_of(st, "inbound-rtp", "packetsLost"), 0, "%s", st);
        cr_assert_eq(stat_of(st, "inbound-rtp", "nackCount"), 0, "audio: no NACK negotiated");
    }
}

Test(urtc_pc, offer_answer_connect_rtp_and_data_channel_both_ways)
{
    urtc_engine_config_t cfg = {.shards = 2};
    urtc_engine_t *e = urtc_engine_create(&cfg);
    cr_assert_not_null(e);
    cr_assert_eq(urtc_engine_post(e, 0, offerer_cmd, &ends[0]), 0);
    cr_assert(wait_until(offer_ready), "offer");
    cr_assert_not_null(strstr(ends[0].sdp, "a=setup:actpass"));
    cr_assert_not_null(strstr(ends[0].sdp, "a=candidate:"), "the host candidate is in the offer");
    cr_assert_eq(urtc_engine_post(e, 1, answerer_cmd, &ends[1]), 0);
    cr_assert(wait_until(answer_ready), "answer");
    cr_assert_eq(urtc_pc_post(e, ends[0].pc, apply_answer_cmd, NULL), 0);
    cr_assert(wait_until(connected), "both connected (states %s, %s)",
              urtc_pc_state_name(ends[0].state), urtc_pc_state_name(ends[1].state));
    cr_assert(wait_until(dc_open), "the data channel opens on both sides");
    cr_assert_eq(urtc_pc_post(e, ends[0].pc, send_cmd, NULL), 0);
    cr_assert_eq(urtc_pc_post(e, ends[1].pc, send_cmd, NULL), 0);
    cr_assert(wait_until(media_done), "RTP both ways (%u, %u)", ends[0].rtp_ok, ends[1].rtp_ok);
    cr_assert_eq(ends[0].rtp_ok, 20);
    cr_assert_eq(ends[1].rtp_ok, 20);
    cr_assert_eq(ends[0].dc_msgs_ok, 100, "data channel messages, in order, intact");
    cr_assert_eq(ends[1].dc_msgs_ok, 100);
    cr_assert_eq(urtc_pc_post(e, ends[1].pc, stats_cmd, NULL), 0);
    cr_assert(wait_until(stats_ready));
    cr_assert_not_null(strstr(ends[1].stats, "\"type\": \"inbound-rtp\""), "%s", ends[1].stats);
    cr_assert_not_null(strstr(ends[1].stats, "\"packetsReceived\": 20"), "%s", ends[1].stats);
    cr_assert_not_null(strstr(ends[1].stats, "\"type\": \"candidate-pair\""), "%s", ends[1].stats);
    cr_assert_not_null(strstr(ends[1].stats, "\"mimeType\": \"audio/opus\""), "%s", ends[1].stats);
    cr_assert_not_null(strstr(ends[1].stats, "\"type\": \"data-channel\", \"id\": \"D0\", "
                                             "\"label\": \"chat\""),
                       "%s", ends[1].stats);
    cr_assert_not_null(strstr(ends[1].stats, "\"messagesReceived\": 100"), "%s", ends[1].stats);
    const char *sctp = strstr(ends[1].stats, "\"type\": \"sctp-transport\", \"id\": \"S0\", "
                                             "\"state\": \"connected\"");
    cr_assert_not_null(sctp, "%s", ends[1].stats);
    cr_assert_not_null(strstr(sctp, "\"messagesReceived\": 100, \"messagesUnrouted\": 0"), "%s",
                       sctp);

    /* RFC 3550 §8.1: each end picks its own random SSRC. */
    const char *in = strstr(ends[1].stats, "\"type\": \"inbound-rtp\""),
               *out = strstr(ends[1].stats, "\"type\": \"outbound-rtp\"");
    cr_assert(in && out);
    unsigned long in_ssrc = strtoul(strstr(in, "\"ssrc\": ") + 8, NULL, 10),
                  out_ssrc = strtoul(strstr(out, "\"ssrc\": ") + 8, NULL, 10);
    cr_assert_neq(in_ssrc, out_ssrc, "both ends chose SSRC %lu", in_ssrc);
    check_reports(e);

    /* A PLI from the answerer reaches the offerer as a keyframe request on its transceiver. */
    cr_assert_eq(urtc_pc_post(e, ends[1].pc, pli_cmd, NULL), 0);
    cr_assert(wait_until(got_pli), "keyframe request (%d)", ends[0].keyframe_requests);

    /* ICE restart, renegotiated; media flows again afterwards. */
    ends[0].sdp_ready = ends[1].sdp_ready = false;
    cr_assert_eq(urtc_pc_post(e, ends[0].pc, restart_offer_cmd, NULL), 0);
    cr_assert(wait_until(offer_ready), "restart offer");
    cr_assert_eq(urtc_pc_post(e, ends[1].pc, restart_answer_cmd, NULL), 0);
    cr_assert(wait_until(answer_ready), "restart answer");
    cr_assert_eq(urtc_pc_post(e, ends[0].pc, apply_answer_cmd, NULL), 0);
    usleep(500000); /* the restarted checks select a pair */
    cr_assert(wait_until(connected), "still connected after the restart");
    pthread_mutex_lock(&mu);
    ends[0].rtp_ok = ends[1].rtp_ok = ends[0].rtp_bad = ends[1].rtp_bad = 0;
    ends[0].dc_msgs_ok = ends[1].dc_msgs_ok = 0;
    pthread_mutex_unlock(&mu);
    cr_assert_eq(urtc_pc_post(e, ends[0].pc, send_cmd, NULL), 0);
    cr_assert_eq(urtc_pc_post(e, ends[1].pc, send_cmd, NULL), 0);
    cr_assert(wait_until(media_done), "media after the restart (%u, %u)", ends[0].rtp_ok,
              ends[1].rtp_ok);
    cr_assert_eq(ends[0].rtp_ok, 20);
    cr_assert_eq(ends[1].rtp_ok, 20);

    ends[0].sdp_ready = false;
    cr_assert_eq(urtc_pc_post(e, ends[0].pc, remove_cmd, NULL), 0);
    cr_assert(wait_until(offer_ready), "offer after removeTrack");
    cr_assert_eq(urtc_pc_post(e, ends[0].pc, close_cmd, NULL), 0);
    urtc_engine_destroy(e); /* closes the other one */
}

/* ---- Three clients on one shard, each with its own socket, against three servers sharing
 * the other shard's socket: without own sockets the servers could not tell them apart. ---- */

#define PAIRS 3
static struct end cli[PAIRS], srvr[PAIRS];

static void cli_cmd(urtc_shard_t *sh, void *arg)
{
    struct end *me = arg;
    urtc_pc_config_t cfg = {.own_socket = true};
    me->pc = urtc_pc_create(sh, &cfg, &cbs, me);
    cr_assert_not_null(me->pc);
    me->tr = urtc_pc_add_transceiver(me->pc, URTC_KIND_AUDIO, URTC_SENDRECV, "s", "a");
    cr_assert_geq(urtc_pc_create_offer(me->pc, me->sdp, sizeof me->sdp), 0);
    cr_assert_eq(urtc_pc_set_local_description(me->pc, URTC_SDP_OFFER, me->sdp), 0);
    pthread_mutex_lock(&mu);
    me->sdp_ready = true;
    pthread_mutex_unlock(&mu);
}

static void srv_cmd(urtc_shard_t *sh, void *arg)
{
    struct end *me = arg;
    struct end *peer = &cli[me - srvr];
    urtc_pc_config_t cfg = {.ice_lite = true};
    me->pc = urtc_pc_create(sh, &cfg, &cbs, me);
    cr_assert_not_null(me->pc);
    cr_assert_eq(urtc_pc_set_remote_description(me->pc, URTC_SDP_OFFER, peer->sdp), 0, "%s",
                 urtc_pc_last_error(me->pc));
    cr_assert_geq(urtc_pc_create_answer(me->pc, me->sdp, sizeof me->sdp), 0);
    cr_assert_eq(urtc_pc_set_local_description(me->pc, URTC_SDP_ANSWER, me->sdp), 0);
    pthread_mutex_lock(&mu);
    me->sdp_ready = true;
    pthread_mutex_unlock(&mu);
}

static void cli_answer_cmd(urtc_pc_t *pc, void *arg)
{
    struct end *me = arg;
    cr_assert_eq(urtc_pc_set_remote_description(pc, URTC_SDP_ANSWER, srvr[me - cli].sdp), 0, "%s",
                 urtc_pc_last_error(pc));
}

static bool all_offers(void)
{
    for (int i = 0; i < PAIRS; i++)
        if (!cli[i].sdp_ready)
            return false;
    return true;
}
static bool all_answers(void)
{
    for (int i = 0; i < PAIRS; i++)
        if (!srvr[i].sdp_ready)
            return false;
    return true;
}
static bool all_connected(void)
{
    for (int i = 0; i < PAIRS; i++)
        if (cli[i].state != URTC_PC_CONNECTED || srvr[i].state != URTC_PC_CONNECTED)
            return false;
    return true;
}
static bool all_media(void)
{
    for (int i = 0; i < PAIRS; i++)
        if (cli[i].rtp_ok + cli[i].rtp_bad < 20 || srvr[i].rtp_ok + srvr[i].rtp_bad < 20)
            return false;
    return true;
}

static void send_rtp_only(urtc_pc_t *pc, void *arg)
{
    struct end *me = arg;
    uint8_t payload[80];
    for (uint16_t seq = 0; seq < 20; seq++) {
        memset(payload, seq, sizeof payload);
        cr_assert_eq(
            urtc_pc_send_rtp(pc, me->tr, "opus", 960u * seq, false, payload, sizeof payload), 0,
            "%s", urtc_pc_last_error(pc));
    }
}

Test(urtc_pc, clients_with_own_sockets_share_a_shard)
{
    urtc_engine_config_t cfg = {.shards = 2};
    urtc_engine_t *e = urtc_engine_create(&cfg);
    cr_assert_not_null(e);
    for (int i = 0; i < PAIRS; i++)
        cr_assert_eq(urtc_engine_post(e, 0, cli_cmd, &cli[i]), 0);
    cr_assert(wait_until(all_offers));
    for (int i = 0; i < PAIRS; i++)
        cr_assert_eq(urtc_engine_post(e, 1, srv_cmd, &srvr[i]), 0);
    cr_assert(wait_until(all_answers));
    for (int i = 0; i < PAIRS; i++)
        cr_assert_eq(urtc_pc_post(e, cli[i].pc, cli_answer_cmd, &cli[i]), 0);
    cr_assert(wait_until(all_connected), "every pair connects");
    for (int i = 0; i < PAIRS; i++) {
        cr_assert_eq(urtc_pc_post(e, cli[i].pc, send_rtp_only, &cli[i]), 0);
        cr_assert_eq(urtc_pc_post(e, srvr[i].pc, send_rtp_only, &srvr[i]), 0);
    }
    cr_assert(wait_until(all_media));
    for (int i = 0; i < PAIRS; i++) {
        cr_assert_eq(cli[i].rtp_ok, 20, "client %d got its server's packets", i);
        cr_assert_eq(srvr[i].rtp_ok, 20, "server %d got its client's packets", i);
    }
    urtc_engine_destroy(e); /* closes them all; their sockets close asynchronously */
}

/* ---- Connections the application never closed go with the engine (LeakSanitizer checks it
 * under `make asan`). ---- */
static void leave_open_cmd(urtc_shard_t *sh, void *arg)
{
    (void)arg;
    for (int i = 0; i < 3; i++) {
        urtc_pc_config_t cfg = {.own_socket = i == 2};
        urtc_pc_t *pc = urtc_pc_create(sh, &cfg, &cbs, &cli[i]);
        cr_assert_not_null(pc);
        cr_assert_geq(urtc_pc_add_transceiver(pc, URTC_KIND_VIDEO, URTC_SENDRECV, "s", "v"), 0);
        cr_assert_geq(urtc_pc_create_data_channel(pc, "x", NULL), 0);
        char sdp[16384];
        cr_assert_gt(urtc_pc_create_offer(pc, sdp, sizeof sdp), 0);
    }
    pthread_mutex_lock(&mu);
    cli[0].sdp_ready = true;
    pthread_mutex_unlock(&mu);
}

static bool first_ready(void)
{
    return cli[0].sdp_ready;
}

Test(urtc_pc, engine_destroy_frees_open_connections)
{
    urtc_engine_config_t cfg = {.shards = 1};
    urtc_engine_t *e = urtc_engine_create(&cfg);
    cr_assert_not_null(e);
    cr_assert_eq(urtc_engine_post(e, 0, leave_open_cmd, NULL), 0);
    cr_assert(wait_until(first_ready));
    cr_assert_eq(eng_pc_live(), 3);
    urtc_engine_destroy(e);
    cr_assert_eq(eng_pc_live(), 0, "%d connections left allocated", eng_pc_live());
}
