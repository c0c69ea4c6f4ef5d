/* tests/fuzz/sctp_fuzz.c: SCTP packets (DTLS application data) into a started association:
 * usrsctp's input path and rtc_sctp's own reading of them (the debug chunk trace, notifications,
 * messages, DCEP). The input is up to 8 packets, each a 2-byte big-endian length and its
 * bytes. The length's top bit keeps the packet's checksum as it is; otherwise the CRC32c (RFC
 * 4960 §6.8) is set right, so that mutations get past usrsctp's first check. What the
 * association queues in reply is drained and dropped. At debug level, to the null device, so
 * the trace is formatted too. */
#include "net/net.h"
#include "rtc/sctp/sctp.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <usrsctp.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void drain(rtc_sctp_t *s)
{
    net_view_t v;
    while (rtc_sctp_out_peek(s, &v)) {
        if (v.len > RTC_SCTP_MTU)
            abort();
        rtc_sctp_out_pop(s);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool once;
    if (!once) {
        once = true;
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0)
            net_log_set_fd(fd);
        net_log_set_level(NET_LOG_DEBUG);
    }
    rtc_sctp_t *s = rtc_sctp_create(&(rtc_sctp_cfg_t){.dtls_client = size & 1, .log_id = "fz"});
    if (!s)
        return 0;
    uint64_t now = net_clock_ns();
    if (rtc_sctp_start(s, now) == 0) {
        drain(s);
        static uint8_t pkt[1 << 15];
        for (unsigned i = 0; i < 8 && size >= 2; i++) {
            uint16_t hdr = net_rd16be(data);
            size_t len = NET_MIN((size_t)(hdr & 0x7fff), size - 2);
            memcpy(pkt, data + 2, len);
            if (!(hdr & 0x8000) && len >= 12) {
                memset(pkt + 8, 0, 4);
                uint32_t crc = usrsctp_crc32c(pkt, len);
                memcpy(pkt + 8, &crc, 4);
            }
            if (rtc_sctp_input(s, pkt, len, now) < 0 && len >= 12)
                abort(); /* only a packet under 12 bytes is refused by rtc_sctp itself */
            drain(s);
            data += 2 + len;
            size -= 2 + len;
        }
    }
    rtc_sctp_destroy(s);
    return 0;
}
