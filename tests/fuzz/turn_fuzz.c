/* tests/fuzz/turn_fuzz.c: the TURN client fed a sequence of server datagrams and clock steps.
 * Chunks: [flags][len][len bytes]; flags bit 0 = take the txid of the client's last request
 * (so responses match), bit 1 = sign with the long-term key of u/urtc/p, bits 5-7 = time step.
 * After each chunk the client may be asked to send data to a peer. */
#include "rtc/stun/stun.h"
#include "rtc/turn/turn.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    net_addr_t srv, peer;
    check(net_addr_parse(&srv, "192.0.2.1:3478", -1) == 0);
    check(net_addr_parse(&peer, "198.51.100.7:61000", -1) == 0);
    rtc_turn_cfg_t cfg = {.server = srv, .user = "u", .pass = "p"};
    rtc_turn_t *t = rtc_turn_create(&cfg);
    check(t != NULL);
    uint8_t key[16];
    check(rtc_stun_lt_key("u", (net_view_t){(const uint8_t *)"urtc", 4}, "p", key) == 0);
    rtc_turn_msg_t msgs[8];
    rtc_turn_out_t out = {msgs, 8, 0};
    uint64_t now = 1000000000ull;
    uint8_t last_txid[RTC_STUN_TXID_LEN] = {0};
    check(rtc_turn_start(t, now, &out) == 0);
    size_t off = 0;
    while (off + 2 <= size) {
        uint8_t flags = data[off], len = data[off + 1];
        off += 2;
        if (len > size - off)
            len = (uint8_t)(size - off);
        uint8_t buf[600];
        memcpy(buf, data + off, len);
        off += len;
        size_t blen = len;
        if ((flags & 1) && len >= RTC_STUN_HDR_LEN)
            memcpy(buf + 8, last_txid, RTC_STUN_TXID_LEN);
        if ((flags & 2) && len >= RTC_STUN_HDR_LEN) {
            /* re-sign: raw attributes then MESSAGE-INTEGRITY + FINGERPRINT */
            rtc_stun_wr_t w;
            uint16_t type = net_rd16be(buf) & 0x3FFF;
            uint16_t method =
                (uint16_t)((type & 0x000F) | ((type >> 1) & 0x0070) | ((type >> 2) & 0x0F80));
            unsigned cls = ((type >> 4) & 1) | ((type >> 7) & 2);
            uint8_t tmp[600];
            rtc_stun_wr_init(&w, tmp, sizeof tmp, method, cls, buf + 8);
            size_t alen = (size_t)(len - RTC_STUN_HDR_LEN) & ~(size_t)3;
            memcpy(tmp + w.len, buf + RTC_STUN_HDR_LEN, alen);
            w.len += alen;
            rtc_stun_wr_integrity(&w, key, sizeof key);
            rtc_stun_wr_fingerprint(&w);
            int n = rtc_stun_wr_finish(&w);
            if (n < 0)
                continue;
            memcpy(buf, tmp, (size_t)n);
            blen = (size_t)n;
        }
        now += (uint64_t)(flags >> 5) * 30000000000ull; /* up to 210 s per step */
        net_addr_t from;
        net_view_t pl;
        int r = rtc_turn_input(t, buf, blen, now, &out, &from, &pl);
        check(r == 1 || r == 0 || r == -EBADMSG || r == -ENOENT || r == -EACCES);
        if (r == 1)
            check(pl.p >= buf && pl.p + pl.len <= buf + blen);
        if (rtc_turn_deadline(t) <= now) {
            rtc_turn_tick(t, now, &out);
            check(rtc_turn_deadline(t) > now);
        }
        if (flags & 4) {
            uint8_t frame[128];
            int n =
                rtc_turn_send(t, &peer, (const uint8_t *)"data", 4, frame, sizeof frame, now, &out);
            check(n > 0 || n == -ENOTCONN || n == -ENOSPC);
        }
        for (size_t i = 0; i < out.cnt; i++) {
            rtc_stun_msg_t m;
            check(rtc_stun_parse(out.msg[i].data, out.msg[i].len, &m) == out.msg[i].len);
            memcpy(last_txid, m.txid, RTC_STUN_TXID_LEN);
        }
        out.cnt = 0;
    }
    rtc_turn_destroy(t);
    return 0;
}
