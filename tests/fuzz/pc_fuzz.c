/* tests/fuzz/pc_fuzz.c: a remote offer of arbitrary bytes into rtc_pc_set_remote(). When it is
 * accepted, the answer urtc creates must be accepted by urtc's own rtc_pc_set_local() (and
 * so pass every JSEP check we apply to peers), and an offer created afterwards must apply too:
 * no crash, no leak, no inconsistent state. */
#include "rtc/pc/pc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static rtc_pc_t pc;
    static char buf[256 * 1024];
    rtc_pc_cfg_t cfg = {
        .ice_ufrag = "fuzz", .ice_pwd = "0123456789abcdefghijkl", .sess_id = 1, .ssrc_seed = 1};
    cfg.fingerprint.hash = RTC_SDP_HASH_SHA256;
    cfg.fingerprint.len = 32;
    if (rtc_pc_init(&pc, &cfg) < 0)
        abort();
    if (rtc_pc_add_transceiver(&pc, RTC_SDP_KIND_AUDIO, RTC_SDP_DIR_SENDRECV, "s", "t", 0) < 0)
        abort();
    rtc_pc_add_data_channel(&pc);
    rtc_sdp_err_t err;
    if (rtc_pc_set_remote(&pc, RTC_PC_OFFER, (const char *)data, size, &err) == 0) {
        int n = rtc_pc_create_answer(&pc, buf, sizeof buf, &err);
        if (n < 0)
            abort();
        if (rtc_pc_set_local(&pc, RTC_PC_ANSWER, buf, (size_t)n, &err) < 0)
            abort(); /* our own answer must pass our own checks */
        if (pc.state != RTC_PC_STABLE)
            abort();
        /* renegotiate from our side: the offer must be valid for us too */
        n = rtc_pc_create_offer(&pc, buf, sizeof buf, &err);
        if (n < 0 && n != -ENOSPC)
            abort();
        if (n > 0 && rtc_pc_set_local(&pc, RTC_PC_OFFER, buf, (size_t)n, &err) < 0)
            abort();
    }
    rtc_pc_fini(&pc);
    return 0;
}
