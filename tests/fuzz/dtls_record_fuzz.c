/* tests/fuzz/dtls_record_fuzz.c: the RFC 7983 classifier and the DTLS record walker on
 * arbitrary datagrams. Every view must stay inside the input. */
#include "rtc/demux/demux.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)rtc_demux_classify(data, size);
    (void)rtc_demux_dtls_is_client_hello(data, size);
    rtc_dtls_rec_t r[16];
    int n = rtc_demux_dtls_records(data, size, r, 16);
    size_t sum = 0;
    for (int i = 0; i < n; i++) {
        ENG_ASSERT(r[i].body.p >= data && r[i].body.p + r[i].body.len <= data + size);
        sum += RTC_DTLS_REC_HDR_LEN + r[i].body.len;
    }
    ENG_ASSERT(n <= 0 || sum == size);
    return 0;
}
