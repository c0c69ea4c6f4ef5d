/* tests/fuzz/ice_fuzz.c: the ICE agent (full controlling or lite) fed a sequence of datagrams
 * and clock steps. To get past MESSAGE-INTEGRITY the harness can sign a datagram itself and
 * reuse the transaction id of the agent's last request, so the check, response, nomination,
 * role-conflict and consent paths are reachable.
 *
 * Input: byte 0 picks the agent (bit 0: lite). Then chunks: [flags][len][len bytes], where
 * flags bit 0 = sign (bytes are a STUN header + attributes; MI + FINGERPRINT are appended with
 * bit 1 ? the remote password : the local password), bit 2 = take the txid of the last
 * request the agent sent, bits 3-4 = source address (one of 4), bits 5-7 = time step. */
#include "rtc/ice/ice.h"
#include "rtc/stun/stun.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LPWD "localpasswordlocalpassw"
#define RPWD "remotepasswordremotepas"

static void check(bool ok)
{
    if (!ok)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    bool lite = data[0] & 1;
    rtc_ice_cfg_t cfg = {.lite = lite,
                         .controlling = true,
                         .ufrag = "locl",
                         .pwd = LPWD,
                         .tie_breaker = 1000,
                         .seed = 1};
    rtc_ice_t *ice = rtc_ice_create(&cfg);
    check(ice != NULL);
    net_addr_t local, src[4];
    check(net_addr_parse(&local, "10.0.0.1:5000", -1) == 0);
    check(net_addr_parse(&src[0], "10.0.0.2:6000", -1) == 0);
    check(net_addr_parse(&src[1], "10.0.0.3:6000", -1) == 0);
    check(net_addr_parse(&src[2], "[2001:db8::1]:7000", -1) == 0);
    check(net_addr_parse(&src[3], "10.0.0.2:6001", -1) == 0);
    uint64_t now = 1000000000ull;
    check(rtc_ice_add_host(ice, &local, now) >= 0);
    check(rtc_ice_set_remote_creds(ice, "remt", RPWD, now) == 0);
    rtc_ice_cand_t c = {.component = 1,
                        .type = RTC_ICE_HOST,
                        .generation = -1,
                        .foundation = "1",
                        .priority = 2130706431};
    c.addr = src[0];
    check(rtc_ice_add_remote(ice, &c, now) == 0);
    rtc_ice_gather_done(ice, now);

    rtc_ice_dgram_t dg[8];
    rtc_ice_out_t out = {dg, 8, 0};
    uint8_t last_txid[RTC_STUN_TXID_LEN] = {0};
    size_t off = 1;
    while (off + 2 <= size) {
        uint8_t flags = data[off], len = data[off + 1];
        off += 2;
        if (len > size - off)
            len = (uint8_t)(size - off);
        const uint8_t *b = data + off;
        off += len;
        uint8_t buf[600];
        size_t blen = len;
        if ((flags & 1) && len >= RTC_STUN_HDR_LEN) {
            rtc_stun_wr_t w;
            uint16_t type = net_rd16be(b) & 0x3FFF;
            uint16_t method =
                (uint16_t)((type & 0x000F) | ((type >> 1) & 0x0070) | ((type >> 2) & 0x0F80));
            unsigned cls = ((type >> 4) & 1) | ((type >> 7) & 2);
            rtc_stun_wr_init(&w, buf, sizeof buf, method, cls, (flags & 4) ? last_txid : b + 8);
            /* the rest: raw attributes, padded to 4 */
            size_t alen = (size_t)(len - RTC_STUN_HDR_LEN) & ~(size_t)3;
            if (w.len + alen <= sizeof buf - 64) {
                memcpy(buf + w.len, b + RTC_STUN_HDR_LEN, alen);
                w.len += alen;
            }
            const char *key = (flags & 2) ? RPWD : LPWD;
            rtc_stun_wr_integrity(&w, key, strlen(key));
            rtc_stun_wr_fingerprint(&w);
            int n = rtc_stun_wr_finish(&w);
            if (n < 0)
                continue;
            blen = (size_t)n;
            b = buf;
        }
        now += (uint64_t)(flags >> 5) * 700000000ull; /* up to ~5 s per step */
        int r = rtc_ice_input(ice, b, blen, &src[(flags >> 3) & 3], &local, now, &out);
        check(r == 0 || r == -EBADMSG || r == -EACCES || r == -ENOENT || r == -EADDRNOTAVAIL);
        if (rtc_ice_deadline(ice) <= now) {
            rtc_ice_tick(ice, now, &out);
            check(rtc_ice_deadline(ice) > now); /* no busy loop */
        }
        for (size_t i = 0; i < out.cnt; i++) {
            check(out.dg[i].len > 0 && out.dg[i].len <= RTC_ICE_DGRAM_MAX);
            rtc_stun_msg_t m;
            check(rtc_stun_parse(out.dg[i].data, out.dg[i].len, &m) == out.dg[i].len);
            check(rtc_stun_check_fingerprint(&m) == 0);
            if (m.cls == RTC_STUN_REQUEST)
                memcpy(last_txid, m.txid, RTC_STUN_TXID_LEN);
        }
        out.cnt = 0;
        rtc_ice_event_t ev;
        while (rtc_ice_poll(ice, &ev))
            ;
        net_addr_t l, rem;
        if (rtc_ice_selected(ice, &l, &rem, NULL) == 0)
            check(net_addr_eq(&l, &local));
    }
    /* run the clock for a minute: timers must settle without crashing */
    for (int i = 0; i < 2000 && rtc_ice_deadline(ice) != UINT64_MAX; i++) {
        uint64_t dl = rtc_ice_deadline(ice);
        if (dl > now + 60000000000ull)
            break;
        now = dl > now ? dl : now;
        rtc_ice_tick(ice, now, &out);
        check(rtc_ice_deadline(ice) > now);
        out.cnt = 0;
    }
    rtc_ice_destroy(ice);
    return 0;
}
