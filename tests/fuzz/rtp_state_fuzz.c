/* tests/fuzz/rtp_state_fuzz.c: the receive-side RTP state machines on untrusted sequence
 * numbers and timing: input bytes are 3-byte operations (sequence number, time step in ms)
 * fed to the NACK generator, the transport-cc recorder and the RFC 3550 A.1 statistics. */
#include "rtc/rtp/rtp.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The receive-side state machines driven by the same bytes read as 3-byte operations
 * (sequence number, time step): the NACK generator's missing count must match its table,
 * polls stay bounded, the transport-cc recorder always makes progress. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static rtc_rtp_nack_gen_t g;
    static rtc_rtp_twcc_rec_t r;
    rtc_rtp_rx_stats_t st;
    rtc_rtp_nack_gen_init(&g, 3, 10 * NET_NS_PER_MS);
    rtc_rtp_twcc_rec_init(&r, 1, 2);
    rtc_rtp_rx_stats_init(&st, 2, 90000, size % 3);
    uint64_t now = 0;
    static uint8_t buf[1500];
    for (size_t i = 0; i + 3 <= size && i < 3 * 256; i += 3) {
        uint16_t seq = net_rd16be(data + i);
        now += (uint64_t)data[i + 2] * NET_NS_PER_MS;
        (void)rtc_rtp_nack_gen_on_packet(&g, seq, now);
        rtc_rtp_twcc_rec_on_packet(&r, seq, now);
        (void)rtc_rtp_rx_stats_update(&st, seq, (uint32_t)(now / 11111), now);
        uint16_t out[64];
        if ((data[i + 2] & 2) && rtc_rtp_nack_gen_poll(&g, now, 0, out, 64) > 64)
            abort();
        if (data[i + 2] & 1) {
            rtc_rtcp_wr_t w;
            rtc_rtcp_wr_init(&w, buf, sizeof buf);
            int more = rtc_rtp_twcc_rec_feedback(&r, &w);
            if (more < 0 || rtc_rtcp_wr_finish(&w) < 0)
                abort();
        }
    }
    uint32_t missing = 0;
    for (unsigned i = 0; i < RTC_RTP_NACK_WINDOW; i++)
        missing += g.e[i].missing;
    if (missing != g.missing_cnt)
        abort();
    rtc_rtcp_rb_t rb;
    rtc_rtp_rx_stats_report(&st, now, &rb);
    return 0;
}
