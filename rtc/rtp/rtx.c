/* rtc/rtp/rtx.c: sent-packet history, RTX (RFC 4588) and the NACK generator.
 *
 * RFC 4588 §4 RTX packet:
 *  | RTP header of the original, with the RTX SSRC, PT and sequence number |
 *  |            OSN (16)           |  original RTP payload ...            |
 */
#include "rtc/rtp/rtp.h"

#include <stdlib.h>

int rtc_rtp_history_init(rtc_rtp_history_t *h, uint32_t cap, uint32_t slot_len)
{
    memset(h, 0, sizeof *h);
    if (cap == 0 || cap > (1u << 16) || slot_len < RTC_RTP_HDR_LEN || slot_len > UINT16_MAX)
        return -EINVAL;
    uint32_t c = net_round_pow2(cap);
    h->mem = malloc((size_t)c * slot_len);
    h->slots = malloc((size_t)c * sizeof *h->slots);
    if (!h->mem || !h->slots) {
        rtc_rtp_history_fini(h);
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < c; i++)
        h->slots[i] = (rtc_rtp_hist_slot_t){.seq = -1};
    h->cap = c;
    h->slot_len = slot_len;
    h->hi = -1;
    rtc_rtp_unwrap_init(&h->unwrap);
    return 0;
}

void rtc_rtp_history_fini(rtc_rtp_history_t *h)
{
    free(h->mem);
    free(h->slots);
    h->mem = NULL;
    h->slots = NULL;
    h->cap = 0;
}

int rtc_rtp_history_put(rtc_rtp_history_t *h, const uint8_t *b, size_t len, uint64_t now_ns)
{
    rtc_rtp_pkt_t p;
    if (rtc_rtp_parse_fixed(b, len, &p) < 0)
        return -EBADMSG;
    if (len > h->slot_len)
        return -EMSGSIZE;
    int64_t s = rtc_rtp_seq_unwrap(&h->unwrap, p.seq);
    uint32_t i = (uint32_t)((uint64_t)s & (h->cap - 1));
    memcpy(h->mem + (size_t)i * h->slot_len, b, len);
    h->slots[i] = (rtc_rtp_hist_slot_t){.seq = s, .len = (uint16_t)len, .sent_ns = now_ns};
    if (s > h->hi)
        h->hi = s;
    h->stored++;
    return 0;
}

/* The slot holding @seq (the newest unwrapped value at or below the highest sent), or NULL. */
static rtc_rtp_hist_slot_t *hist_find(const rtc_rtp_history_t *h, uint16_t seq, uint32_t *idx)
{
    if (h->hi < 0 || !h->cap)
        return NULL;
    int64_t s = h->hi - (uint16_t)((uint16_t)h->hi - seq);
    uint32_t i = (uint32_t)((uint64_t)s & (h->cap - 1));
    if (h->slots[i].seq != s)
        return NULL;
    *idx = i;
    return &h->slots[i];
}

int rtc_rtp_history_get(const rtc_rtp_history_t *h, uint16_t seq, net_view_t *out)
{
    uint32_t i;
    rtc_rtp_hist_slot_t *sl = hist_find(h, seq, &i);
    if (!sl)
        return -ENOENT;
    *out = (net_view_t){h->mem + (size_t)i * h->slot_len, sl->len};
    return 0;
}

int rtc_rtp_rtx_build(uint8_t *out, size_t cap, const uint8_t *orig, size_t len, uint32_t rtx_ssrc,
                      uint8_t rtx_pt, uint16_t rtx_seq)
{
    rtc_rtp_pkt_t p;
    if (rtc_rtp_parse(orig, len, &p) < 0 || rtx_pt > 127)
        return -EBADMSG;
    size_t n = (size_t)p.hdr_len + 2 + p.payload_len;
    if (n > cap)
        return -ENOSPC;
    memcpy(out, orig, p.hdr_len);
    out[0] &= (uint8_t)~0x20; /* the original's padding stays behind */
    rtc_rtp_set_pt(out, rtx_pt);
    rtc_rtp_set_seq(out, rtx_seq);
    rtc_rtp_set_ssrc(out, rtx_ssrc);
    net_wr16be(out + p.hdr_len, p.seq); /* RFC 4588 §4: OSN */
    memcpy(out + p.hdr_len + 2, orig + p.hdr_len, p.payload_len);
    return (int)n;
}

int rtc_rtp_rtx_decap(uint8_t *b, size_t len, uint32_t ssrc, uint8_t pt)
{
    rtc_rtp_pkt_t p;
    if (rtc_rtp_parse(b, len, &p) < 0)
        return -EBADMSG;
    if (p.payload_len < 2)
        return -ENODATA;
    uint16_t osn = net_rd16be(b + p.hdr_len);
    memmove(b + 2, b, p.hdr_len);
    rtc_rtp_set_seq(b + 2, osn);
    rtc_rtp_set_ssrc(b + 2, ssrc);
    rtc_rtp_set_pt(b + 2, pt);
    return (int)len - 2;
}

int rtc_rtp_resend_build(rtc_rtp_rtx_tx_t *rtx, const uint8_t *orig, size_t len, uint8_t *out,
                         size_t cap)
{
    if (rtx) {
        int rtx_pt = rtc_rtp_ptmap_rtx_for(rtx->ptmap, orig[1] & 0x7f);
        if (rtx_pt < 0)
            return -ENOTSUP;
        int n = rtc_rtp_rtx_build(out, cap, orig, len, rtx->ssrc, (uint8_t)rtx_pt, rtx->seq);
        if (n >= 0)
            rtx->seq++;
        return n;
    }
    /* No RTX stream: the original again, same sequence number (RFC 4585 §6.2.1 leaves the
     * repair to the sender; SRTP takes it, its index being new to nobody but the receiver's
     * replay list, which drops it only if the original did arrive). */
    if (len > cap)
        return -ENOSPC;
    memcpy(out, orig, len);
    return (int)len;
}

int rtc_rtp_history_resend(rtc_rtp_history_t *h, rtc_rtp_rtx_tx_t *rtx, uint16_t seq,
                           uint64_t now_ns, uint64_t min_interval_ns, uint8_t *out, size_t cap)
{
    uint32_t i;
    rtc_rtp_hist_slot_t *sl = hist_find(h, seq, &i);
    if (!sl) {
        h->missing++;
        return -ENOENT;
    }
    if (sl->resends && now_ns < sl->resent_ns + min_interval_ns) {
        h->throttled++;
        return -EAGAIN;
    }
    int n = rtc_rtp_resend_build(rtx, h->mem + (size_t)i * h->slot_len, sl->len, out, cap);
    if (n < 0)
        return n;
    sl->resends++;
    sl->resent_ns = now_ns;
    h->resent++;
    return n;
}

/* ---------------------------------------------------------------------------------------------
 * NACK generator.
 */
#define NACK_MASK (RTC_RTP_NACK_WINDOW - 1)

void rtc_rtp_nack_gen_init(rtc_rtp_nack_gen_t *g, uint8_t max_tries, uint64_t min_interval_ns)
{
    memset(g, 0, sizeof *g);
    rtc_rtp_unwrap_init(&g->unwrap);
    g->max_tries = max_tries ? max_tries : 1;
    g->min_interval_ns = min_interval_ns;
    for (unsigned i = 0; i < RTC_RTP_NACK_WINDOW; i++)
        g->e[i].seq = INT64_MIN;
}

static rtc_rtp_nack_entry_t *slot(rtc_rtp_nack_gen_t *g, int64_t s)
{
    return &g->e[(uint64_t)s & NACK_MASK];
}

/* Reuses a slot; a packet still missing there falls out of the window and is given up. */
static void evict(rtc_rtp_nack_gen_t *g, rtc_rtp_nack_entry_t *e)
{
    if (e->missing) {
        e->missing = false;
        g->missing_cnt--;
        g->given_up++;
    }
}

int rtc_rtp_nack_gen_on_packet(rtc_rtp_nack_gen_t *g, uint16_t seq, uint64_t now_ns)
{
    int64_t s = rtc_rtp_seq_unwrap(&g->unwrap, seq);
    if (!g->init) {
        g->init = true;
        g->hi = s;
        *slot(g, s) = (rtc_rtp_nack_entry_t){.seq = s};
        return 0;
    }
    if (s > g->hi) {
        int64_t from = g->hi + 1, oldest = s - (RTC_RTP_NACK_WINDOW - 1);
        if (from < oldest) { /* more missing than the window holds */
            g->given_up += (uint64_t)(oldest - from);
            from = oldest;
        }
        for (int64_t k = from; k < s; k++) {
            rtc_rtp_nack_entry_t *e = slot(g, k);
            evict(g, e);
            *e = (rtc_rtp_nack_entry_t){.seq = k, .sent_ns = now_ns, .missing = true};
            g->missing_cnt++;
        }
        rtc_rtp_nack_entry_t *e = slot(g, s);
        evict(g, e);
        *e = (rtc_rtp_nack_entry_t){.seq = s};
        g->hi = s;
        return 0;
    }
    rtc_rtp_nack_entry_t *e = slot(g, s);
    if (e->seq == s && e->missing) {
        e->missing = false;
        g->missing_cnt--;
        g->recovered++;
        return 1;
    }
    return 0; /* a duplicate, or older than the window */
}

int rtc_rtp_nack_gen_poll(rtc_rtp_nack_gen_t *g, uint64_t now_ns, uint64_t rtt_ns, uint16_t *out,
                          size_t cap)
{
    if (!g->missing_cnt)
        return 0;
    uint64_t interval = NET_MAX(rtt_ns, g->min_interval_ns);
    size_t n = 0;
    for (int64_t k = g->hi - (RTC_RTP_NACK_WINDOW - 1); k < g->hi && n < cap; k++) {
        rtc_rtp_nack_entry_t *e = slot(g, k);
        if (e->seq != k || !e->missing)
            continue;
        if (e->tries && now_ns < e->sent_ns + interval)
            continue;
        if (!e->tries && now_ns < e->sent_ns + g->reorder_ns) /* sent_ns: when the gap opened */
            continue;
        if (e->tries >= g->max_tries) { /* its last NACK had an interval to be answered */
            e->missing = false;
            g->missing_cnt--;
            g->given_up++;
            continue;
        }
        out[n++] = (uint16_t)k;
        e->tries++;
        e->sent_ns = now_ns;
        g->nacks_sent++;
    }
    return (int)n;
}
