/* tests/fuzz/sdp_fuzz.c: rtc_sdp_parse() on arbitrary bytes; on success the description is
 * written back, the text must parse again and write back to the same bytes (a fixed point). */
#include "rtc/sdp/sdp.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rtc_sdp_t *s = NULL;
    rtc_sdp_err_t err;
    if (rtc_sdp_parse((const char *)data, size, &s, &err) < 0) {
        if (!err.reason)
            abort(); /* every error names its reason */
        return 0;
    }
    /* The writer may emit more than the input (e.g. "a=msid-semantic: " spacing, t=0 0 added),
     * but never more than a few bytes per modelled item: 4x plus slack is ample. */
    size_t cap = size * 4 + 4096;
    char *out = malloc(cap), *out2 = malloc(cap);
    if (!out || !out2)
        abort();
    int n = rtc_sdp_write(s, out, cap);
    if (n < 0)
        abort();
    rtc_sdp_t *s2 = NULL;
    if (rtc_sdp_parse(out, (size_t)n, &s2, &err) < 0)
        abort(); /* what we write must parse */
    int n2 = rtc_sdp_write(s2, out2, cap);
    if (n2 != n || memcmp(out, out2, (size_t)n))
        abort(); /* write(parse(write(x))) == write(x) */
    rtc_sdp_destroy(s2);
    rtc_sdp_destroy(s);
    free(out);
    free(out2);
    return 0;
}
