/* tests/fuzz/stun_fuzz.c: the STUN parser, integrity and fingerprint checks, the ufrag helpers
 * and the 420 builder on arbitrary bytes, with properties checked (abort on violation). */
#include "rtc/stun/stun.h"

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
    rtc_stun_msg_t m;
    net_view_t uf, uf2;
    bool is = rtc_stun_is_stun(data, size);
    int peek = rtc_stun_peek_ufrag(data, size, &uf2);
    int n = rtc_stun_parse(data, size, &m);
    if (is)
        check(n < 0 || (size_t)n == size); /* a datagram that looks whole parses whole */
    if (n < 0)
        return 0;
    check((size_t)n <= size);
    int fp = rtc_stun_check_fingerprint(&m);
    check(fp == 0 || fp == -ENOENT || fp == -EBADMSG);
    int mi = rtc_stun_check_integrity(&m, "VOkJxbRl1RmTxUk/WvJxBt", 22);
    check(mi == 0 || mi == -ENOENT || mi == -EACCES);
    mi = rtc_stun_check_integrity_sha256(&m, "VOkJxbRl1RmTxUk/WvJxBt", 22);
    check(mi == 0 || mi == -ENOENT || mi == -EACCES);
    if (rtc_stun_username_ufrag(&m, &uf) == 0) {
        check(uf.len > 0 && uf.p >= data && uf.p + uf.len <= data + size);
        /* the fast path finds the same (first) USERNAME unless it sits after MI */
        if (peek == 0 && !(m.present & RTC_STUN_HAS_MI))
            check(uf2.p == uf.p && uf2.len == uf.len);
    }
    uint8_t out[512];
    int r = rtc_stun_build_420(&m, out, sizeof out, "pw", 2);
    if (r > 0) {
        rtc_stun_msg_t e;
        check(rtc_stun_parse(out, (size_t)r, &e) == r);
        check(e.error_code == 420 && e.unknown_attrs.len == 2u * m.unknown_cnt);
        check(rtc_stun_check_fingerprint(&e) == 0 && rtc_stun_check_integrity(&e, "pw", 2) == 0);
    } else {
        check(r == -EINVAL);
    }
    if (m.present & RTC_STUN_HAS_REALM) {
        uint8_t key[16];
        check(rtc_stun_lt_key("u", m.realm, "p", key) == 0);
    }
    return 0;
}
