/* tests/fuzz/stun_fuzz.c: the STUN parser, integrity and fingerprint checks, the ufrag helpers
 * and the 420 builder on arbitrary bytes. */
#include "rtc/stun/stun.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rtc_stun_msg_t m;
    net_view_t uf;
    (void)rtc_stun_is_stun(data, size);
    (void)rtc_stun_peek_ufrag(data, size, &uf);
    if (rtc_stun_parse(data, size, &m) < 0)
        return 0;
    (void)rtc_stun_check_fingerprint(&m);
    (void)rtc_stun_check_integrity(&m, "VOkJxbRl1RmTxUk/WvJxBt", 22);
    (void)rtc_stun_check_integrity_sha256(&m, "VOkJxbRl1RmTxUk/WvJxBt", 22);
    (void)rtc_stun_username_ufrag(&m, &uf);
    uint8_t out[512];
    (void)rtc_stun_build_420(&m, out, sizeof out, "pw", 2);
    if (m.present & RTC_STUN_HAS_REALM) {
        uint8_t key[16];
        (void)rtc_stun_lt_key("u", m.realm, "p", key);
    }
    return 0;
}
