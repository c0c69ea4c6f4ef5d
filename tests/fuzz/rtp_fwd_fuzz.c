/* tests/fuzz/rtp_fwd_fuzz.c: the SFU's forwarding history (rtc/rtp/fwd.c) on untrusted
 * publisher packets and NACKed sequence numbers. The input is a list of operations:
 *   op & 3 == 0: a publisher packet, [op][len][len bytes] (version forced to 2, the rest as
 *                it came: CSRCs, extensions of either form, padding), stored once and
 *                forwarded on the legs whose bit is set in op, each rewriting it its own way;
 *   op & 3 == 1: a NACK, [op][seq hi][seq lo] of leg op >> 2 & 1, answered plain or as RTX;
 *   op & 3 == 2: leg op >> 2 & 1 changes its rewrite, [op][ssrc byte][offset byte][ext byte];
 *   op & 3 == 3: time passes, (op >> 2) ms.
 * Checked besides memory safety: a plain repair is byte for byte what that leg sent under that
 * sequence number (when it sent one), and nothing is built past the buffer. */
#include "rtc/rtp/rtp.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LEGS 2
#define SEEN 256 /* what a leg sent, by sequence number modulo this (the oracle) */

struct leg {
    rtc_rtp_fwd_leg_t l;
    rtc_rtp_fwd_rw_t rw;
    uint16_t seq_off;
    uint8_t pt;
    rtc_rtp_ptmap_t ptmap;
    rtc_rtp_rtx_tx_t rtx;
    int32_t seen_seq[SEEN]; /* -1: nothing */
    uint16_t seen_len[SEEN];
    uint8_t seen[SEEN][RTC_RTP_FWD_SLOT_MAX];
};

static struct leg legs[LEGS];

static void rw_set(struct leg *g, uint8_t ssrc, uint8_t off, uint8_t ext)
{
    memset(&g->rw, 0, sizeof g->rw);
    g->rw.ssrc = 0x1000u + ssrc;
    g->rw.ts_off = (uint32_t)off * 90000u;
    g->seq_off = (uint16_t)(off * 977u);
    /* source ids 1..14 to ours, shifted; one of them abs-send-time */
    for (unsigned id = 1; id < 15; id++)
        g->rw.extmap[id] = (ext & 1) && id % 3 == 0 ? 0 : (uint8_t)((id + ext) % 14 + 1);
    g->rw.abs_send_id = (ext & 2) ? g->rw.extmap[3] : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static rtc_rtp_fwd_hist_t h;
    if (rtc_rtp_fwd_hist_init(&h, 64, 1500) < 0)
        abort();
    for (unsigned k = 0; k < LEGS; k++) {
        struct leg *g = &legs[k];
        if (rtc_rtp_fwd_leg_init(&g->l, 64) < 0)
            abort();
        rw_set(g, (uint8_t)k, (uint8_t)(k * 5), (uint8_t)k);
        g->pt = (uint8_t)(96 + k);
        rtc_rtp_ptmap_init(&g->ptmap);
        if (rtc_rtp_ptmap_set(&g->ptmap, g->pt, RTC_RTP_CODEC_OTHER, 90000, 1) < 0 ||
            rtc_rtp_ptmap_set(&g->ptmap, 120, RTC_RTP_CODEC_RTX, 90000, 1) < 0 ||
            rtc_rtp_ptmap_set_apt(&g->ptmap, 120, g->pt) < 0)
            abort();
        g->rtx = (rtc_rtp_rtx_tx_t){.ssrc = 0x2000u + k, .ptmap = &g->ptmap};
        for (unsigned i = 0; i < SEEN; i++)
            g->seen_seq[i] = -1;
    }
    uint64_t now = NET_NS_PER_SEC;
    static uint8_t pkt[RTC_RTP_FWD_SLOT_MAX], copy[RTC_RTP_FWD_SLOT_MAX], out[RTC_RTP_FWD_SLOT_MAX];
    size_t i = 0;
    for (unsigned ops = 0; i < size && ops < 512; ops++) {
        uint8_t op = data[i++];
        switch (op & 3) {
        case 0: {
            if (i >= size)
                break;
            size_t len = data[i++] * 6u;
            if (len > size - i)
                len = size - i;
            memcpy(pkt, data + i, len);
            i += len;
            if (len)
                pkt[0] = (uint8_t)((pkt[0] & 0x3f) | 0x80);
            rtc_rtp_fwd_ref_t ref;
            if (rtc_rtp_fwd_hist_put(&h, pkt, len, now, &ref) < 0)
                break;
            for (unsigned k = 0; k < LEGS; k++) {
                struct leg *g = &legs[k];
                if (!(op & (4u << k)))
                    continue;
                uint16_t seq = (uint16_t)(net_rd16be(pkt + 2) + g->seq_off);
                memcpy(copy, pkt, len);
                if (rtc_rtp_fwd_rewrite(copy, len, &g->rw, seq, g->pt, now) == -EBADMSG)
                    continue;
                rtc_rtp_fwd_leg_put(&g->l, seq, ref, g->pt, &g->rw);
                g->seen_seq[seq % SEEN] = seq;
                g->seen_len[seq % SEEN] = (uint16_t)len;
                memcpy(g->seen[seq % SEEN], copy, len);
            }
            break;
        }
        case 1: {
            if (size - i < 2) {
                i = size;
                break;
            }
            struct leg *g = &legs[(op >> 2) & 1];
            uint16_t seq = net_rd16be(data + i);
            i += 2;
            bool rtx = op & 8;
            size_t cap = (op & 16) ? 40 : sizeof out; /* a short buffer: -ENOSPC, no overrun */
            int n = rtc_rtp_fwd_resend(&g->l, &h, rtx ? &g->rtx : NULL, seq, now,
                                       (op & 32) ? 0 : 10 * NET_NS_PER_MS, out, cap);
            if (n > (int)cap)
                abort();
            /* A plain repair is what the leg sent: the packet it sent last under @seq. */
            if (n > 0 && !rtx &&
                (g->seen_seq[seq % SEEN] != seq || g->seen_len[seq % SEEN] != n ||
                 memcmp(g->seen[seq % SEEN], out, (size_t)n) != 0))
                abort();
            break;
        }
        case 2:
            if (size - i < 3) {
                i = size;
                break;
            }
            rw_set(&legs[(op >> 2) & 1], data[i], data[i + 1], data[i + 2]);
            i += 3;
            break;
        default:
            now += (uint64_t)(op >> 2) * NET_NS_PER_MS;
            break;
        }
    }
    for (unsigned k = 0; k < LEGS; k++)
        rtc_rtp_fwd_leg_fini(&legs[k].l);
    rtc_rtp_fwd_hist_fini(&h);
    return 0;
}
