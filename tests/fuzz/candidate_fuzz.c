/* tests/fuzz/candidate_fuzz.c: the a=candidate parser, and format -> parse round trips of
 * whatever it accepts. */
#include "rtc/ice/ice.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rtc_ice_cand_t c, c2;
    if (rtc_ice_cand_parse((const char *)data, size, &c) != 0)
        return 0;
    (void)rtc_ice_cand_is_mdns(&c);
    char line[1024];
    int n = rtc_ice_cand_fmt(&c, line, sizeof line);
    if (n < 0)
        return 0;
    /* what we format we must parse back */
    if (rtc_ice_cand_parse(line, (size_t)n, &c2) != 0)
        abort();
    if (c2.priority != c.priority || c2.component != c.component || c2.type != c.type)
        abort();
    return 0;
}
