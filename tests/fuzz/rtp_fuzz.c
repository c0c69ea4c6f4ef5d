/* tests/fuzz/rtp_fuzz.c: RTP parse, extension lookup, in-place rewrites and the header writer
 * on untrusted bytes. Invariants checked: views stay inside the input, a remap keeps the
 * packet parseable with the same layout, and re-writing the parsed header parses back. */
#include "rtc/rtp/rtp.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rtc_rtp_pkt_t p;
    if (rtc_rtp_parse(data, size, &p) < 0)
        return 0;
    if ((size_t)p.hdr_len + p.payload_len + p.pad_len != size)
        abort();
    for (unsigned i = 0; i < p.ext_cnt; i++) {
        if ((size_t)p.ext[i].off + p.ext[i].len > p.hdr_len)
            abort();
        net_view_t v = rtc_rtp_ext_get(&p, p.ext[i].id);
        if (!v.p)
            abort();
        uint32_t t;
        uint16_t a, b;
        bool voice;
        uint8_t lvl;
        int ok = rtc_rtp_ext_abs_send_time(v, &t) + rtc_rtp_ext_playout_delay(v, &a, &b) +
                 rtc_rtp_ext_twcc_seq(v, &a) + rtc_rtp_ext_audio_level(v, &voice, &lvl);
        if (ok > 0)
            abort();
    }
    uint8_t *copy = malloc(size);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    uint8_t map[256];
    for (unsigned i = 0; i < 256; i++)
        map[i] = (uint8_t)((i * 7 + size) % 15); /* some ids dropped, some moved */
    rtc_rtp_pkt_t q = p;
    if (rtc_rtp_ext_remap(copy, &q, map) >= 0) {
        rtc_rtp_pkt_t r;
        if (rtc_rtp_parse(copy, size, &r) != p.hdr_len || r.ext_cnt != q.ext_cnt)
            abort();
    }
    rtc_rtp_set_seq(copy, (uint16_t)(p.seq + 1));
    rtc_rtp_set_ssrc(copy, ~p.ssrc);
    free(copy);

    rtc_rtp_hdr_t h = {.marker = p.marker,
                       .pt = p.pt,
                       .seq = p.seq,
                       .ts = p.ts,
                       .ssrc = p.ssrc,
                       .csrc_cnt = p.csrc_cnt};
    for (unsigned i = 0; i < p.csrc_cnt; i++)
        h.csrc[i] = rtc_rtp_csrc(&p, i);
    rtc_rtp_ext_put_t ext[RTC_RTP_MAX_EXT];
    for (unsigned i = 0; i < p.ext_cnt; i++)
        ext[i] = (rtc_rtp_ext_put_t){p.ext[i].id, p.ext[i].len, p.buf + p.ext[i].off};
    uint8_t out[2048];
    int n = rtc_rtp_hdr_write(out, sizeof out, &h, ext, p.ext_cnt);
    if (n > 0) {
        rtc_rtp_pkt_t r;
        if (rtc_rtp_parse(out, (size_t)n, &r) != n || r.ext_cnt != p.ext_cnt || r.seq != p.seq ||
            r.ssrc != p.ssrc)
            abort();
        for (unsigned i = 0; i < r.ext_cnt; i++)
            if (r.ext[i].len != p.ext[i].len ||
                memcmp(out + r.ext[i].off, p.buf + p.ext[i].off, p.ext[i].len) != 0)
                abort();
    }
    return 0;
}
