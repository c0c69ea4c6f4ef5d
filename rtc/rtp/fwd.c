/* rtc/rtp/fwd.c: the forwarding history of an SFU. One store per source keeps its plaintext
 * packets once; each leg keeps, per sequence number it sent, which stored packet that was, its
 * payload type and which of its (few) rewrites applied. A NACK of the leg's number rebuilds the
 * packet with rtc_rtp_fwd_rewrite(), the very function that made it the first time, so the
 * repair carries the bytes the leg sent: the SFU's memory for repairs no longer grows with the
 * number of subscribers of a source.
 */
#include "rtc/rtp/rtp.h"

#include <stdlib.h>

int rtc_rtp_fwd_rewrite(uint8_t *b, size_t len, const rtc_rtp_fwd_rw_t *rw, uint16_t seq,
                        uint8_t pt, uint64_t now_ns)
{
    if (len < RTC_RTP_HDR_LEN)
        return -EBADMSG;
    rtc_rtp_set_ssrc(b, rw->ssrc);
    rtc_rtp_set_seq(b, seq);
    rtc_rtp_set_ts(b, net_rd32be(b + 4) + rw->ts_off);
    rtc_rtp_set_pt(b, pt);
    rtc_rtp_pkt_t r;
    if (rtc_rtp_parse(b, len, &r) < 0)
        return -EBADMSG;
    if (!r.ext_cnt)
        return 0;
    if (rtc_rtp_ext_remap(b, &r, rw->extmap) < 0) {
        static const uint8_t none[256]; /* an id that does not fit the form: strip all */
        return rtc_rtp_ext_remap(b, &r, none) < 0 ? -EPROTO : 0;
    }
    if (!rw->abs_send_id)
        return 0;
    uint8_t ast[3];
    rtc_rtp_ext_put_abs_send_time(ast, rtc_rtp_abs_send_time(now_ns));
    /* A source without abs-send-time (Firefox) leaves nothing to rewrite: not an error. */
    int ret = rtc_rtp_ext_overwrite(b, &r, rw->abs_send_id, ast, sizeof ast);
    return ret == -ENOENT ? 0 : ret;
}

/* ---- The source's store ---------------------------------------------------------------------- */

int rtc_rtp_fwd_hist_init(rtc_rtp_fwd_hist_t *h, uint32_t cap, uint32_t slot_len)
{
    memset(h, 0, sizeof *h);
    if (cap == 0 || cap > (1u << 16) || slot_len < RTC_RTP_HDR_LEN ||
        slot_len > RTC_RTP_FWD_SLOT_MAX)
        return -EINVAL;
    uint32_t c = net_round_pow2(cap);
    h->mem = malloc((size_t)c * slot_len);
    h->slots = calloc(c, sizeof *h->slots);
    if (!h->mem || !h->slots) {
        rtc_rtp_fwd_hist_fini(h);
        return -ENOMEM;
    }
    h->cap = c;
    h->slot_len = slot_len;
    h->hi = -1;
    rtc_rtp_unwrap_init(&h->unwrap);
    return 0;
}

void rtc_rtp_fwd_hist_fini(rtc_rtp_fwd_hist_t *h)
{
    free(h->mem);
    free(h->slots);
    h->mem = NULL;
    h->slots = NULL;
    h->cap = 0;
}

int rtc_rtp_fwd_hist_put(rtc_rtp_fwd_hist_t *h, const uint8_t *b, size_t len, uint64_t now_ns,
                         rtc_rtp_fwd_ref_t *ref)
{
    rtc_rtp_pkt_t p;
    if (!h->cap || rtc_rtp_parse_fixed(b, len, &p) < 0)
        return -EBADMSG;
    if (len > h->slot_len)
        return -EMSGSIZE;
    /* Another SSRC numbers its packets afresh (RFC 3550 §5.1: a random start): its numbers
     * go on after the highest so far, as a leg's do, so that the new source's packets take
     * the oldest slots rather than some of the old source's recent ones. */
    if (!h->have_ssrc || p.ssrc != h->ssrc) {
        h->ssrc = p.ssrc;
        h->have_ssrc = true;
        rtc_rtp_unwrap_init(&h->unwrap);
        h->base = h->hi + 1 - p.seq; /* the unwrapper starts at p.seq */
    }
    int64_t s = rtc_rtp_seq_unwrap(&h->unwrap, p.seq) + h->base;
    if (s > h->hi)
        h->hi = s;
    uint32_t i = (uint32_t)((uint64_t)s & (h->cap - 1));
    memcpy(h->mem + (size_t)i * h->slot_len, b, len);
    h->slots[i] =
        (rtc_rtp_fwd_slot_t){.serial = ++h->serial, .at_ns = now_ns, .len = (uint16_t)len};
    *ref = (rtc_rtp_fwd_ref_t){.serial = h->serial, .slot = i};
    return 0;
}

static const rtc_rtp_fwd_slot_t *hist_slot(const rtc_rtp_fwd_hist_t *h, rtc_rtp_fwd_ref_t ref,
                                           const uint8_t **data)
{
    if (ref.slot >= h->cap || h->slots[ref.slot].serial != ref.serial)
        return NULL;
    *data = h->mem + (size_t)ref.slot * h->slot_len;
    return &h->slots[ref.slot];
}

/* ---- A leg ----------------------------------------------------------------------------------- */

int rtc_rtp_fwd_leg_init(rtc_rtp_fwd_leg_t *l, uint32_t cap)
{
    memset(l, 0, sizeof *l);
    if (cap == 0 || cap > (1u << 15))
        return -EINVAL;
    uint32_t c = net_round_pow2(cap);
    l->e = calloc(c, sizeof *l->e);
    l->sets = calloc(RTC_RTP_FWD_SETS, sizeof *l->sets);
    if (!l->e || !l->sets) {
        rtc_rtp_fwd_leg_fini(l);
        return -ENOMEM;
    }
    l->cap = c;
    l->hi = -1;
    rtc_rtp_unwrap_init(&l->unwrap);
    return 0;
}

void rtc_rtp_fwd_leg_fini(rtc_rtp_fwd_leg_t *l)
{
    free(l->e);
    free(l->sets);
    l->e = NULL;
    l->sets = NULL;
    l->cap = 0;
}

static bool rw_equal(const rtc_rtp_fwd_rw_t *a, const rtc_rtp_fwd_rw_t *b)
{
    return a->ssrc == b->ssrc && a->ts_off == b->ts_off && a->abs_send_id == b->abs_send_id &&
           memcmp(a->extmap, b->extmap, sizeof a->extmap) == 0;
}

/* The set that holds @rw: the current one, an earlier one that equals it, or the least
 * recently used one, overwritten (the entries that named it then find it gone). */
static uint8_t leg_set(rtc_rtp_fwd_leg_t *l, const rtc_rtp_fwd_rw_t *rw)
{
    if (l->sets[l->cur].id && rw_equal(&l->sets[l->cur].rw, rw))
        return l->cur;
    uint8_t lru = 0;
    for (uint8_t k = 0; k < RTC_RTP_FWD_SETS; k++) {
        if (l->sets[k].id && rw_equal(&l->sets[k].rw, rw))
            return l->cur = k;
        if (!l->sets[k].id || (l->sets[lru].id && l->sets[k].used < l->sets[lru].used))
            lru = k;
    }
    if (++l->next_id == 0) /* 0 means empty */
        l->next_id = 1;
    l->sets[lru].id = l->next_id;
    l->sets[lru].rw = *rw;
    return l->cur = lru;
}

void rtc_rtp_fwd_leg_put(rtc_rtp_fwd_leg_t *l, uint16_t seq, rtc_rtp_fwd_ref_t src, uint8_t pt,
                         const rtc_rtp_fwd_rw_t *rw)
{
    if (!l->cap)
        return;
    uint8_t k = leg_set(l, rw);
    l->sets[k].used = ++l->puts;
    int64_t s = rtc_rtp_seq_unwrap(&l->unwrap, seq);
    l->e[(uint64_t)s & (l->cap - 1)] = (rtc_rtp_fwd_entry_t){
        .seq = s, .src = src, .set_id = l->sets[k].id, .set = k, .pt = pt, .used = true};
    if (s > l->hi)
        l->hi = s;
}

/* The entry of the leg's sequence number @seq (the newest unwrapped value at or below the
 * highest sent), or NULL. */
static rtc_rtp_fwd_entry_t *leg_find(const rtc_rtp_fwd_leg_t *l, uint16_t seq)
{
    if (l->hi < 0 || !l->cap)
        return NULL;
    int64_t s = l->hi - (uint16_t)((uint16_t)l->hi - seq);
    rtc_rtp_fwd_entry_t *e = &l->e[(uint64_t)s & (l->cap - 1)];
    return e->used && e->seq == s ? e : NULL;
}

int rtc_rtp_fwd_resend(rtc_rtp_fwd_leg_t *l, const rtc_rtp_fwd_hist_t *h, rtc_rtp_rtx_tx_t *rtx,
                       uint16_t seq, uint64_t now_ns, uint64_t min_interval_ns, uint8_t *out,
                       size_t cap)
{
    rtc_rtp_fwd_entry_t *e = leg_find(l, seq);
    const uint8_t *src = NULL;
    const rtc_rtp_fwd_slot_t *sl = e ? hist_slot(h, e->src, &src) : NULL;
    if (!sl || l->sets[e->set].id != e->set_id)
        return -ENOENT; /* never sent, or its packet or its rewrite is gone */
    if (e->resends && now_ns < e->resent_ns + min_interval_ns)
        return -EAGAIN;
    uint8_t orig[RTC_RTP_FWD_SLOT_MAX];
    memcpy(orig, src, sl->len);
    /* As the leg sent it (a packet whose extensions do not parse went with its fixed header
     * rewritten only, and goes so again). */
    (void)rtc_rtp_fwd_rewrite(orig, sl->len, &l->sets[e->set].rw, seq, e->pt, sl->at_ns);
    int n = rtc_rtp_resend_build(rtx, orig, sl->len, out, cap);
    if (n < 0)
        return n;
    e->resends++;
    e->resent_ns = now_ns;
    return n;
}
