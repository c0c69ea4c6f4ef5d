/* tests/fuzz/dcep_fuzz.c: the DCEP parser (RFC 8832 §5) on arbitrary bytes, and a fixed point:
 * an OPEN that parses is written back and must parse to the same fields and bytes. */
#include "rtc/sctp/sctp.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rtc_dcep_t m;
    int n = rtc_dcep_parse(data, size, &m);
    if (n < 0)
        return 0;
    if (n > (int)size)
        abort();
    if (m.type != RTC_DCEP_OPEN)
        return 0;
    if (m.label.p < data || m.label.p + m.label.len > data + size || m.protocol.p < data ||
        m.protocol.p + m.protocol.len > data + size)
        abort();
    bool unordered;
    rtc_sctp_pr_t pr;
    rtc_dcep_channel_type_split(m.channel_type, &unordered, &pr);
    if (rtc_dcep_channel_type(unordered, pr) != m.channel_type)
        abort();
    size_t cap = RTC_DCEP_OPEN_HDR_LEN + m.label.len + m.protocol.len;
    uint8_t *out = malloc(cap);
    if (!out)
        return 0;
    int w = rtc_dcep_write_open(out, cap, m.channel_type, m.priority, m.reliability, m.label,
                                m.protocol);
    if (w != n || memcmp(out, data, 4) != 0 || memcmp(out + 8, data + 8, (size_t)n - 8) != 0)
        abort();
    rtc_dcep_t m2;
    if (rtc_dcep_parse(out, (size_t)w, &m2) != w || m2.reliability != m.reliability ||
        m2.priority != m.priority || m2.label.len != m.label.len)
        abort();
    free(out);
    return 0;
}
