/* tests/fuzz/dtls_input_fuzz.c: arbitrary datagrams into an rtc_dtls server (our datagram BIO,
 * OpenSSL's record and handshake parsing behind it). The input is split into datagrams at each
 * 0xff 0xff 0xff 0xff marker so that multi-datagram flights (Chromium's two-part ClientHello)
 * can be expressed; every output must fit the MTU. */
#include "rtc/dtls/dtls.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static rtc_dtls_ctx_t *ctx;
static rtc_dtls_out_t out;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t marker[4] = {0xff, 0xff, 0xff, 0xff};
    if (!ctx) {
        ctx = rtc_dtls_ctx_create(NULL);
        ENG_ASSERT(ctx);
    }
    rtc_dtls_t d;
    if (rtc_dtls_init(&d, ctx, RTC_DTLS_SERVER,
                      "sha-256 00:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:10:11:12:13:14:15:"
                      "16:17:18:19:1A:1B:1C:1D:1E:1F",
                      1) < 0)
        return 0;
    uint64_t now = 1;
    size_t off = 0;
    for (int n = 0; off < size && n < 16; n++) {
        const uint8_t *p = data + off;
        size_t len = size - off;
        const uint8_t *m = memmem(p, len, marker, sizeof marker);
        if (m)
            len = (size_t)(m - p);
        if (rtc_dtls_input(&d, p, len, now, &out) < 0)
            break;
        for (size_t i = 0; i < out.tx_cnt; i++)
            ENG_ASSERT(out.tx[i].len <= RTC_DTLS_MTU);
        if (rtc_dtls_deadline(&d) != UINT64_MAX && n % 4 == 3) {
            now = rtc_dtls_deadline(&d);
            if (rtc_dtls_handle_timeout(&d, now, &out) < 0)
                break;
        }
        off += len + (m ? sizeof marker : 0);
    }
    rtc_dtls_fini(&d);
    return 0;
}
