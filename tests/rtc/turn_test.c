/* tests/rtc/turn_test.c: the TURN client against a scripted server in the test (fake time):
 * 401 -> credentials, 438 stale nonce, Refresh before expiry, permissions and channels, Send
 * and Data indications, ChannelData, timeouts, bad input. The real-server test is
 * tests/interop/turn_coturn_test.c. */
#include "rtc/turn/turn.h"

#include "rtc/stun/stun.h"
#include "tests/support/tst.h"

#include <criterion/criterion.h>

#define S NET_NS_PER_SEC

static net_addr_t srv, relayed, mapped, peer;
static uint8_t key[16];

static void setup(void)
{
    cr_assert_eq(net_addr_parse(&srv, "192.0.2.1:3478", -1), 0);
    cr_assert_eq(net_addr_parse(&relayed, "192.0.2.1:50000", -1), 0);
    cr_assert_eq(net_addr_parse(&mapped, "203.0.113.5:40000", -1), 0);
    cr_assert_eq(net_addr_parse(&peer, "198.51.100.7:61000", -1), 0);
    cr_assert_eq(rtc_stun_lt_key("u", (net_view_t){(const uint8_t *)"urtc", 4}, "p", key), 0);
}

/* The only message in @out, parsed. */
static void one_msg(rtc_turn_out_t *out, rtc_stun_msg_t *m)
{
    cr_assert_eq(out->cnt, 1, "%zu messages", out->cnt);
    cr_assert_gt(rtc_stun_parse(out->msg[0].data, out->msg[0].len, m), 0);
    cr_assert_eq(rtc_stun_check_fingerprint(m), 0);
    out->cnt = 0;
}

static int reply(rtc_turn_t *t, const rtc_stun_msg_t *req, unsigned cls, uint16_t err,
                 const char *nonce, bool sign, uint32_t lifetime, uint64_t now, rtc_turn_out_t *out)
{
    uint8_t b[512];
    rtc_stun_wr_t w;
    rtc_stun_wr_init(&w, b, sizeof b, req->method, cls, req->txid);
    if (err)
        rtc_stun_wr_error(&w, err, NULL);
    if (nonce) {
        rtc_stun_wr_str(&w, RTC_STUN_A_REALM, "urtc");
        rtc_stun_wr_str(&w, RTC_STUN_A_NONCE, nonce);
    }
    if (cls == RTC_STUN_SUCCESS && req->method == RTC_STUN_ALLOCATE) {
        rtc_stun_wr_xor_addr(&w, RTC_STUN_A_XOR_RELAYED_ADDRESS, &relayed);
        rtc_stun_wr_xor_addr(&w, RTC_STUN_A_XOR_MAPPED_ADDRESS, &mapped);
    }
    if (lifetime)
        rtc_stun_wr_u32(&w, RTC_STUN_A_LIFETIME, lifetime);
    if (sign)
        rtc_stun_wr_integrity(&w, key, sizeof key);
    rtc_stun_wr_fingerprint(&w);
    int n = rtc_stun_wr_finish(&w);
    cr_assert_gt(n, 0);
    net_addr_t p;
    net_view_t pl;
    return rtc_turn_input(t, b, (size_t)n, now, out, &p, &pl);
}

/* Allocate through 401 and 438; returns the client, allocated, at time @now. */
static rtc_turn_t *allocate(uint64_t now, rtc_turn_out_t *out)
{
    rtc_turn_cfg_t cfg = {.server = srv, .user = "u", .pass = "p"};
    rtc_turn_t *t = rtc_turn_create(&cfg);
    cr_assert(t);
    rtc_stun_msg_t m;
    cr_assert_eq(rtc_turn_start(t, now, out), 0);
    cr_assert_eq(rtc_turn_start(t, now, out), -EALREADY);
    one_msg(out, &m);
    cr_assert_eq(m.method, RTC_STUN_ALLOCATE);
    cr_assert_eq(m.req_transport, 17);
    cr_assert(!(m.present & RTC_STUN_HAS_MI)); /* first Allocate: no credentials */
    /* 401 with realm and nonce */
    cr_assert_eq(reply(t, &m, RTC_STUN_ERROR, 401, "n1", false, 0, now, out), 0);
    one_msg(out, &m);
    cr_assert(net_view_eq_str(m.username, "u"));
    cr_assert(net_view_eq_str(m.realm, "urtc"));
    cr_assert(net_view_eq_str(m.nonce, "n1"));
    cr_assert_eq(rtc_stun_check_integrity(&m, key, sizeof key), 0);
    /* 438: stale nonce, new one */
    cr_assert_eq(reply(t, &m, RTC_STUN_ERROR, 438, "n2", false, 0, now, out), 0);
    one_msg(out, &m);
    cr_assert(net_view_eq_str(m.nonce, "n2"));
    cr_assert_eq(rtc_stun_check_integrity(&m, key, sizeof key), 0);
    cr_assert_eq(rtc_turn_stats(t)->stale_nonce, 1);
    cr_assert_eq(rtc_turn_state(t), RTC_TURN_ALLOCATING);
    cr_assert_eq(rtc_turn_relayed(t, NULL, NULL), -EAGAIN);
    cr_assert_eq(reply(t, &m, RTC_STUN_SUCCESS, 0, NULL, true, 120, now, out), 0);
    cr_assert_eq(rtc_turn_state(t), RTC_TURN_ALLOCATED);
    cr_assert_eq(out->cnt, 0);
    return t;
}

Test(turn, allocate_401_438_refresh, .init = setup)
{
    rtc_turn_msg_t msgs[8];
    rtc_turn_out_t out = {msgs, 8, 0};
    uint64_t now = 10 * S;
    rtc_turn_t *t = allocate(now, &out);
    net_addr_t r, mp;
    cr_assert_eq(rtc_turn_relayed(t, &r, &mp), 0);
    cr_assert(net_addr_eq(&r, &relayed) && net_addr_eq(&mp, &mapped));
    /* RFC 8656 §8: refreshed before the 120 s lifetime ends (here 60 s early) */
    uint64_t dl = rtc_turn_deadline(t);
    cr_assert(dl > now && dl < now + 120 * S, "deadline %llu", (unsigned long long)(dl - now));
    rtc_turn_tick(t, dl - 1, &out);
    cr_assert_eq(out.cnt, 0);
    rtc_turn_tick(t, dl, &out);
    rtc_stun_msg_t m;
    one_msg(&out, &m);
    cr_assert_eq(m.method, RTC_STUN_REFRESH);
    cr_assert_eq(m.lifetime_s, 600);
    cr_assert_eq(rtc_stun_check_integrity(&m, key, sizeof key), 0);
    /* the nonce went stale meanwhile: 438, retried with the new nonce */
    cr_assert_eq(reply(t, &m, RTC_STUN_ERROR, 438, "n3", false, 0, dl, &out), 0);
    one_msg(&out, &m);
    cr_assert_eq(m.method, RTC_STUN_REFRESH);
    cr_assert(net_view_eq_str(m.nonce, "n3"));
    cr_assert_eq(reply(t, &m, RTC_STUN_SUCCESS, 0, NULL, true, 600, dl, &out), 0);
    cr_assert_eq(rtc_turn_stats(t)->refreshes, 1);
    cr_assert_eq(rtc_turn_state(t), RTC_TURN_ALLOCATED);
    cr_assert_eq(rtc_turn_deadline(t), dl + 540 * S);
    /* close: Refresh with LIFETIME 0 */
    rtc_turn_close(t, dl + S, &out);
    one_msg(&out, &m);
    cr_assert_eq(m.method, RTC_STUN_REFRESH);
    cr_assert(m.present & RTC_STUN_HAS_LIFETIME);
    cr_assert_eq(m.lifetime_s, 0);
    cr_assert_eq(rtc_turn_state(t), RTC_TURN_CLOSED);
    rtc_turn_destroy(t);
}

Test(turn, permission_channel_and_data, .init = setup)
{
    rtc_turn_msg_t msgs[8];
    rtc_turn_out_t out = {msgs, 8, 0};
    uint64_t now = S;
    rtc_turn_t *t = allocate(now, &out);
    uint8_t buf[256];
    /* First send to a new peer: CreatePermission + ChannelBind go out, the data travels as a
     * Send indication. */
    int n = rtc_turn_send(t, &peer, (const uint8_t *)"hello", 5, buf, sizeof buf, now, &out);
    cr_assert_gt(n, 0);
    rtc_stun_msg_t ind;
    cr_assert_eq(rtc_stun_parse(buf, (size_t)n, &ind), n);
    cr_assert_eq(ind.method, RTC_STUN_SEND);
    cr_assert_eq(ind.cls, RTC_STUN_INDICATION);
    cr_assert(net_addr_eq(&ind.xor_peer, &peer));
    cr_assert(net_view_eq_str(ind.data, "hello"));
    cr_assert_eq(out.cnt, 2);
    rtc_stun_msg_t perm, chan;
    cr_assert_gt(rtc_stun_parse(out.msg[0].data, out.msg[0].len, &perm), 0);
    cr_assert_gt(rtc_stun_parse(out.msg[1].data, out.msg[1].len, &chan), 0);
    out.cnt = 0;
    cr_assert_eq(perm.method, RTC_STUN_CREATE_PERMISSION);
    cr_assert(net_addr_eq(&perm.xor_peer, &peer));
    cr_assert_eq(rtc_stun_check_integrity(&perm, key, sizeof key), 0);
    cr_assert_eq(chan.method, RTC_STUN_CHANNEL_BIND);
    cr_assert_eq(chan.channel, 0x4000);
    cr_assert(net_addr_eq(&chan.xor_peer, &peer));
    /* A response with a wrong MESSAGE-INTEGRITY is refused. */
    uint8_t saved[16];
    memcpy(saved, key, 16);
    key[0] ^= 1;
    cr_assert_eq(reply(t, &perm, RTC_STUN_SUCCESS, 0, NULL, true, 0, now, &out), -EACCES);
    memcpy(key, saved, 16);
    cr_assert_eq(reply(t, &perm, RTC_STUN_SUCCESS, 0, NULL, true, 0, now, &out), 0);
    cr_assert_eq(reply(t, &chan, RTC_STUN_SUCCESS, 0, NULL, true, 0, now, &out), 0);
    /* the same txid again: no longer ours */
    cr_assert_eq(reply(t, &chan, RTC_STUN_SUCCESS, 0, NULL, true, 0, now, &out), -ENOENT);
    /* now ChannelData */
    n = rtc_turn_send(t, &peer, (const uint8_t *)"hi", 2, buf, sizeof buf, now, &out);
    cr_assert_eq(n, 6);
    cr_assert_eq(net_rd16be(buf), 0x4000);
    cr_assert_eq(net_rd16be(buf + 2), 2);
    cr_assert(!memcmp(buf + 4, "hi", 2));
    cr_assert_eq(out.cnt, 0);
    /* incoming ChannelData and Data indication */
    net_addr_t from;
    net_view_t pl;
    uint8_t cd[] = {0x40, 0x00, 0x00, 0x03, 'a', 'b', 'c', 0};
    cr_assert_eq(rtc_turn_input(t, tst_guard_copy(cd, 8), 8, now, &out, &from, &pl), 1);
    cr_assert(net_addr_eq(&from, &peer));
    cr_assert(net_view_eq_str(pl, "abc"));
    cd[1] = 0x07; /* unknown channel */
    cr_assert_eq(rtc_turn_input(t, tst_guard_copy(cd, 8), 8, now, &out, &from, &pl), -ENOENT);
    cd[1] = 0x00;
    cd[3] = 0x09; /* longer than the datagram */
    cr_assert_eq(rtc_turn_input(t, tst_guard_copy(cd, 8), 8, now, &out, &from, &pl), -EBADMSG);
    uint8_t b[128], txid[12] = {1};
    rtc_stun_wr_t w;
    rtc_stun_wr_init(&w, b, sizeof b, RTC_STUN_DATA, RTC_STUN_INDICATION, txid);
    rtc_stun_wr_xor_addr(&w, RTC_STUN_A_XOR_PEER_ADDRESS, &peer);
    rtc_stun_wr_attr(&w, RTC_STUN_A_DATA, "xyz", 3);
    n = rtc_stun_wr_finish(&w);
    cr_assert_eq(rtc_turn_input(t, tst_guard_copy(b, (size_t)n), (size_t)n, now, &out, &from, &pl),
                 1);
    cr_assert(net_view_eq_str(pl, "xyz"));
    /* a Data indication without DATA is malformed */
    rtc_stun_wr_init(&w, b, sizeof b, RTC_STUN_DATA, RTC_STUN_INDICATION, txid);
    rtc_stun_wr_xor_addr(&w, RTC_STUN_A_XOR_PEER_ADDRESS, &peer);
    n = rtc_stun_wr_finish(&w);
    cr_assert_eq(rtc_turn_input(t, b, (size_t)n, now, &out, &from, &pl), -EBADMSG);
    cr_assert_geq(rtc_turn_stats(t)->rx_bad, 2);
    /* Permissions are refreshed before their 300 s end, channels before 600 s (the allocation
     * refresh, due at 60 s, goes out too). */
    rtc_turn_tick(t, now + 239 * S, &out);
    bool saw_perm = false;
    for (size_t k = 0; k < out.cnt; k++) {
        cr_assert_gt(rtc_stun_parse(out.msg[k].data, out.msg[k].len, &perm), 0);
        saw_perm |= perm.method == RTC_STUN_CREATE_PERMISSION;
    }
    cr_assert(!saw_perm);
    out.cnt = 0;
    rtc_turn_tick(t, now + 241 * S, &out);
    for (size_t k = 0; k < out.cnt; k++) {
        cr_assert_gt(rtc_stun_parse(out.msg[k].data, out.msg[k].len, &perm), 0);
        cr_assert_neq(perm.method, RTC_STUN_CHANNEL_BIND);
        saw_perm |= perm.method == RTC_STUN_CREATE_PERMISSION;
    }
    cr_assert(saw_perm);
    out.cnt = 0;
    rtc_turn_destroy(t);
}

Test(turn, wrong_password_fails_with_401, .init = setup)
{
    rtc_turn_msg_t msgs[4];
    rtc_turn_out_t out = {msgs, 4, 0};
    rtc_turn_cfg_t cfg = {.server = srv, .user = "u", .pass = "p"};
    rtc_turn_t *t = rtc_turn_create(&cfg);
    rtc_stun_msg_t m;
    cr_assert_eq(rtc_turn_start(t, 0, &out), 0);
    one_msg(&out, &m);
    cr_assert_eq(reply(t, &m, RTC_STUN_ERROR, 401, "n1", false, 0, 0, &out), 0);
    one_msg(&out, &m);
    /* the server still says 401 with the same realm: the credentials are wrong */
    cr_assert_eq(reply(t, &m, RTC_STUN_ERROR, 401, "n1", false, 0, 0, &out), 0);
    cr_assert_eq(out.cnt, 0);
    cr_assert_eq(rtc_turn_state(t), RTC_TURN_FAILED);
    cr_assert_eq(rtc_turn_error(t), 401);
    cr_assert_eq(rtc_turn_relayed(t, NULL, NULL), -ENOTCONN);
    rtc_turn_destroy(t);
}

Test(turn, unanswered_allocate_times_out, .init = setup)
{
    rtc_turn_msg_t msgs[4];
    rtc_turn_out_t out = {msgs, 4, 0};
    rtc_turn_cfg_t cfg = {.server = srv, .user = "u", .pass = "p"};
    rtc_turn_t *t = rtc_turn_create(&cfg);
    cr_assert_eq(rtc_turn_start(t, 0, &out), 0);
    uint8_t first[RTC_TURN_MSG_MAX];
    uint16_t first_len = out.msg[0].len;
    memcpy(first, out.msg[0].data, first_len);
    out.cnt = 0;
    int sends = 1;
    for (int i = 0; i < 100 && rtc_turn_state(t) == RTC_TURN_ALLOCATING; i++) {
        uint64_t dl = rtc_turn_deadline(t);
        cr_assert_neq(dl, UINT64_MAX);
        rtc_turn_tick(t, dl, &out);
        for (size_t k = 0; k < out.cnt; k++) {
            /* RFC 8489 §6.2.1: a retransmission is the same message */
            cr_assert_eq(out.msg[k].len, first_len);
            cr_assert(!memcmp(out.msg[k].data, first, first_len));
            sends++;
        }
        out.cnt = 0;
    }
    cr_assert_eq(rtc_turn_state(t), RTC_TURN_FAILED);
    cr_assert_eq(sends, 7); /* Rc */
    cr_assert_eq(rtc_turn_deadline(t), UINT64_MAX);
    rtc_turn_destroy(t);
}

Test(turn, garbage_never_crashes, .init = setup)
{
    rtc_turn_msg_t msgs[4];
    rtc_turn_out_t out = {msgs, 4, 0};
    rtc_turn_t *t = allocate(0, &out);
    uint8_t b[64];
    net_addr_t from;
    net_view_t pl;
    uint32_t x = 12345;
    for (int i = 0; i < 20000; i++) {
        size_t len = (size_t)(i % 64);
        for (size_t k = 0; k < len; k++) {
            x = x * 1103515245u + 12345u;
            b[k] = (uint8_t)(x >> 16);
        }
        if (len && i % 3 == 0)
            b[0] = (uint8_t)(0x40 + i % 16);
        int r = rtc_turn_input(t, tst_guard_copy(b, len), len, 0, &out, &from, &pl);
        cr_assert(r == 1 || r == 0 || r == -EBADMSG || r == -ENOENT || r == -EACCES);
        if (r == 1)
            cr_assert_leq(pl.len, len);
        out.cnt = 0;
    }
    rtc_turn_destroy(t);
}

Test(turn, wrap_pkt_in_headroom, .init = setup)
{
    rtc_turn_msg_t msgs[8];
    rtc_turn_out_t out = {msgs, 8, 0};
    rtc_turn_t *t = allocate(0, &out);
    net_pool_t *pool = net_pool_create(4);
    cr_assert(pool);
    net_pkt_t *pkt = net_pkt_copy_in(pool, "hello", 5);
    cr_assert(pkt);
    const uint8_t *payload = pkt->data;
    /* no channel yet: Send indication around the payload, which is not moved */
    cr_assert_eq(rtc_turn_wrap_pkt(t, &peer, pkt, 0, &out), 0);
    cr_assert_eq(out.cnt, 2); /* CreatePermission + ChannelBind */
    cr_assert(net_addr_eq(&pkt->addr, &srv));
    rtc_stun_msg_t m;
    cr_assert_eq(rtc_stun_parse(pkt->data, pkt->len, &m), (int)pkt->len);
    cr_assert_eq(m.method, RTC_STUN_SEND);
    cr_assert_eq(m.cls, RTC_STUN_INDICATION);
    cr_assert(net_addr_eq(&m.xor_peer, &peer));
    cr_assert(net_view_eq_str(m.data, "hello"));
    cr_assert_eq(m.data.p, payload);
    /* bind the channel: ChannelData */
    rtc_stun_msg_t chan;
    cr_assert_gt(rtc_stun_parse(out.msg[1].data, out.msg[1].len, &chan), 0);
    out.cnt = 0;
    cr_assert_eq(reply(t, &chan, RTC_STUN_SUCCESS, 0, NULL, true, 0, 0, &out), 0);
    net_pkt_t *p2 = net_pkt_copy_in(pool, "abc", 3);
    cr_assert_eq(rtc_turn_wrap_pkt(t, &peer, p2, 0, &out), 0);
    cr_assert_eq(p2->len, 7);
    cr_assert_eq(net_rd16be(p2->data), 0x4000);
    cr_assert_eq(net_rd16be(p2->data + 2), 3);
    cr_assert(!memcmp(p2->data + 4, "abc", 3));
    /* no headroom left: -ENOSPC */
    net_pkt_t *p3 = net_pkt_copy_in(pool, "x", 1);
    cr_assert(net_pkt_push(p3, net_pkt_headroom(p3)));
    cr_assert_eq(rtc_turn_wrap_pkt(t, &peer, p3, 0, &out), -ENOSPC);
    net_pkt_free(pkt);
    net_pkt_free(p2);
    net_pkt_free(p3);
    net_pool_destroy(pool);
    rtc_turn_destroy(t);
}
