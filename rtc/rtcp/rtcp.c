/* rtc/rtcp/rtcp.c: RTCP compound packets and their types, parsed and built.
 *
 * Common header (RFC 3550 §6.4.1), every packet:
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |V=2|P|  RC/FMT |      PT       |     length (words - 1)        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * SR body: SSRC, NTP msw, NTP lsw, RTP timestamp, packet count, octet count, then RC report
 * blocks; RR body: SSRC then RC report blocks. Report block (§6.4.1):
 * | SSRC | fraction lost (8) cumulative lost (24) | ext. highest seq | jitter | LSR | DLSR |
 *
 * Feedback (RFC 4585 §6.1): | SSRC of packet sender | SSRC of media source | FCI ... |
 *   Generic NACK FCI (§6.2.1):  | PID (16) | BLP (16) |
 *   FIR FCI (RFC 5104 §4.3.1):  | SSRC | seq nr (8) | reserved (24) |
 *   REMB (draft-alvestrand-rmcat-remb-03 §2.2), media SSRC 0:
 *     | 'R' 'E' 'M' 'B' | num SSRC (8) | exp (6) | mantissa (18) | SSRC feedback ... |
 *   Transport-cc (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1):
 *     | base sequence number (16) | packet status count (16) |
 *     | reference time (24, signed, 64 ms) | fb pkt count (8) |
 *     | packet chunks (16 each) ... | recv deltas (8 or 16 each) ... | zero padding |
 *   chunk: run-length  |0| S (2) | run length (13) |
 *          vector      |1|0| 14 x 1-bit symbols |  or  |1|1| 7 x 2-bit symbols |
 *   symbols: 0 not received, 1 received small delta (u8), 2 received large delta (s16),
 *   3 reserved; deltas are 250 us ticks.
 */
#include "rtc/rtcp/rtcp.h"

int rtc_rtcp_split(const uint8_t *b, size_t len, unsigned flags, rtc_rtcp_hdr_t *out, size_t cap)
{
    size_t off = 0;
    int n = 0;
    if (len < RTC_RTCP_HDR_LEN)
        return -EBADMSG;
    while (off < len) {
        if (len - off < RTC_RTCP_HDR_LEN || (b[off] >> 6) != 2)
            return -EBADMSG;
        size_t plen = 4 * ((size_t)net_rd16be(b + off + 2) + 1);
        if (plen > len - off)
            return -EBADMSG;
        bool last = off + plen == len;
        bool pad = b[off] & 0x20;
        size_t pad_len = 0;
        if (pad) {
            /* RFC 3550 A.2: only the last packet of a compound may be padded. libwebrtc pads
             * transport-cc packets wherever they sit, so that is accepted unless strict. */
            if (!last && (flags & RTC_RTCP_STRICT))
                return -EBADMSG;
            pad_len = b[off + plen - 1];
            if (pad_len == 0 || pad_len > plen - RTC_RTCP_HDR_LEN)
                return -EBADMSG;
        }
        uint8_t pt = b[off + 1];
        /* RFC 3550 §6.1: the first packet of a compound is SR or RR; RFC 5506 §3.4.2 lets a
         * reduced-size packet start with anything. */
        if (n == 0 && (flags & RTC_RTCP_STRICT) && pt != RTC_RTCP_SR && pt != RTC_RTCP_RR)
            return -EBADMSG;
        if ((size_t)n == cap)
            return -EMSGSIZE;
        out[n++] = (rtc_rtcp_hdr_t){
            .pt = pt,
            .count = b[off] & 0x1f,
            .padding = pad,
            .pkt = {b + off, plen},
            .body = {b + off + RTC_RTCP_HDR_LEN, plen - RTC_RTCP_HDR_LEN - pad_len},
        };
        off += plen;
    }
    return n;
}

/* ---------------------------------------------------------------------------------------------
 * SR, RR.
 */
static void rb_read(const uint8_t *p, rtc_rtcp_rb_t *rb)
{
    rb->ssrc = net_rd32be(p);
    rb->fraction_lost = p[4];
    uint32_t cl = net_rd24be(p + 5);
    rb->cum_lost = (cl & 0x800000) ? (int32_t)cl - 0x1000000 : (int32_t)cl;
    rb->ext_high_seq = net_rd32be(p + 8);
    rb->jitter = net_rd32be(p + 12);
    rb->lsr = net_rd32be(p + 16);
    rb->dlsr = net_rd32be(p + 20);
}

static void rb_write(uint8_t *p, const rtc_rtcp_rb_t *rb)
{
    int32_t cl = rb->cum_lost;
    if (cl > 0x7fffff) /* RFC 3550 §6.4.1: clamp to the 24-bit signed range */
        cl = 0x7fffff;
    if (cl < -0x800000)
        cl = -0x800000;
    net_wr32be(p, rb->ssrc);
    p[4] = rb->fraction_lost;
    net_wr24be(p + 5, (uint32_t)cl & 0xffffff);
    net_wr32be(p + 8, rb->ext_high_seq);
    net_wr32be(p + 12, rb->jitter);
    net_wr32be(p + 16, rb->lsr);
    net_wr32be(p + 20, rb->dlsr);
}

int rtc_rtcp_sr_parse(const rtc_rtcp_hdr_t *h, rtc_rtcp_sr_t *sr)
{
    if (h->pt != RTC_RTCP_SR || h->body.len < 24 + 24u * h->count)
        return -EBADMSG;
    const uint8_t *p = h->body.p;
    sr->ssrc = net_rd32be(p);
    sr->ntp = net_rd64be(p + 4);
    sr->rtp_ts = net_rd32be(p + 12);
    sr->pkt_cnt = net_rd32be(p + 16);
    sr->octet_cnt = net_rd32be(p + 20);
    sr->rb_cnt = h->count;
    for (unsigned i = 0; i < h->count; i++)
        rb_read(p + 24 + 24 * i, &sr->rb[i]);
    return 0;
}

int rtc_rtcp_rr_parse(const rtc_rtcp_hdr_t *h, rtc_rtcp_rr_t *rr)
{
    if (h->pt != RTC_RTCP_RR || h->body.len < 4 + 24u * h->count)
        return -EBADMSG;
    rr->ssrc = net_rd32be(h->body.p);
    rr->rb_cnt = h->count;
    for (unsigned i = 0; i < h->count; i++)
        rb_read(h->body.p + 4 + 24 * i, &rr->rb[i]);
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * SDES, BYE.
 */
int rtc_rtcp_sdes_parse(const rtc_rtcp_hdr_t *h, rtc_rtcp_sdes_chunk_t *out, size_t cap)
{
    if (h->pt != RTC_RTCP_SDES)
        return -EBADMSG;
    if (h->count > cap)
        return -EMSGSIZE;
    const uint8_t *p = h->body.p;
    size_t n = h->body.len, pos = 0;
    for (unsigned c = 0; c < h->count; c++) {
        if (pos + 4 > n)
            return -EBADMSG;
        out[c].ssrc = net_rd32be(p + pos);
        out[c].cname = (net_view_t){NULL, 0};
        pos += 4;
        for (;;) {
            if (pos >= n) /* §6.5: the item list MUST end with a null octet */
                return -EBADMSG;
            uint8_t type = p[pos];
            if (type == 0) {
                pos = NET_ALIGN_UP(pos + 1, (size_t)4); /* chunks start on 32-bit bounds */
                if (pos > n)
                    return -EBADMSG;
                break;
            }
            if (pos + 2 > n || pos + 2 + p[pos + 1] > n)
                return -EBADMSG;
            if (type == RTC_RTCP_SDES_CNAME && !out[c].cname.p)
                out[c].cname = (net_view_t){p + pos + 2, p[pos + 1]};
            pos += 2u + p[pos + 1];
        }
    }
    return h->count;
}

int rtc_rtcp_bye_parse(const rtc_rtcp_hdr_t *h, rtc_rtcp_bye_t *bye)
{
    if (h->pt != RTC_RTCP_BYE || h->body.len < 4u * h->count)
        return -EBADMSG;
    bye->cnt = h->count;
    for (unsigned i = 0; i < h->count; i++)
        bye->ssrc[i] = net_rd32be(h->body.p + 4 * i);
    size_t pos = 4u * h->count;
    bye->reason = (net_view_t){NULL, 0};
    if (pos < h->body.len) { /* §6.6: optional length-prefixed reason */
        size_t rl = h->body.p[pos];
        if (pos + 1 + rl > h->body.len)
            return -EBADMSG;
        bye->reason = (net_view_t){h->body.p + pos + 1, rl};
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Feedback.
 */
int rtc_rtcp_fb_parse(const rtc_rtcp_hdr_t *h, rtc_rtcp_fb_t *fb)
{
    if ((h->pt != RTC_RTCP_RTPFB && h->pt != RTC_RTCP_PSFB) || h->body.len < 8)
        return -EBADMSG;
    fb->fmt = h->count;
    fb->sender_ssrc = net_rd32be(h->body.p);
    fb->media_ssrc = net_rd32be(h->body.p + 4);
    fb->fci = (net_view_t){h->body.p + 8, h->body.len - 8};
    return 0;
}

int rtc_rtcp_nack_parse(const rtc_rtcp_fb_t *fb, uint16_t *seqs, size_t cap)
{
    /* RFC 4585 §6.2.1: one or more FCI entries. */
    if (fb->fci.len == 0 || fb->fci.len % 4)
        return -EBADMSG;
    size_t n = 0;
    for (size_t off = 0; off < fb->fci.len; off += 4) {
        uint16_t pid = net_rd16be(fb->fci.p + off), blp = net_rd16be(fb->fci.p + off + 2);
        if (n == cap)
            return -EMSGSIZE;
        seqs[n++] = pid;
        for (unsigned bit = 0; bit < 16; bit++) {
            if (!(blp & (1u << bit)))
                continue;
            if (n == cap)
                return -EMSGSIZE;
            seqs[n++] = (uint16_t)(pid + bit + 1);
        }
    }
    return (int)n;
}

int rtc_rtcp_fir_parse(const rtc_rtcp_fb_t *fb, rtc_rtcp_fir_entry_t *out, size_t cap)
{
    if (fb->fci.len == 0 || fb->fci.len % 8)
        return -EBADMSG;
    size_t n = fb->fci.len / 8;
    if (n > cap)
        return -EMSGSIZE;
    for (size_t i = 0; i < n; i++) {
        out[i].ssrc = net_rd32be(fb->fci.p + 8 * i);
        out[i].seq_nr = fb->fci.p[8 * i + 4];
    }
    return (int)n;
}

int rtc_rtcp_remb_parse(const rtc_rtcp_fb_t *fb, rtc_rtcp_remb_t *remb)
{
    const uint8_t *p = fb->fci.p;
    if (fb->fci.len < 4 || memcmp(p, "REMB", 4) != 0)
        return -ENOENT;
    if (fb->fci.len < 8)
        return -EBADMSG;
    uint8_t num = p[4], exp = p[5] >> 2;
    uint64_t mant = (uint64_t)(p[5] & 3) << 16 | net_rd16be(p + 6);
    if (fb->fci.len < 8 + 4u * num)
        return -EBADMSG;
    remb->bitrate_bps = (mant << exp) >> exp == mant ? mant << exp : UINT64_MAX;
    remb->ssrc_cnt = num;
    for (unsigned i = 0; i < num && i < RTC_RTCP_REMB_MAX_SSRC; i++)
        remb->ssrc[i] = net_rd32be(p + 8 + 4 * i);
    return 0;
}

int rtc_rtcp_twcc_parse(const rtc_rtcp_fb_t *fb, rtc_rtcp_twcc_t *t, rtc_rtcp_twcc_pkt_t *pkts,
                        size_t cap)
{
    const uint8_t *p = fb->fci.p;
    size_t n = fb->fci.len;
    if (n < 8)
        return -EBADMSG;
    t->base_seq = net_rd16be(p);
    t->status_cnt = net_rd16be(p + 2);
    uint32_t ref = net_rd24be(p + 4);
    t->ref_time = (ref & 0x800000) ? (int32_t)ref - 0x1000000 : (int32_t)ref;
    t->fb_cnt = p[7];
    size_t cnt = t->status_cnt, i = 0, pos = 8;
    if (cnt > cap)
        return -EMSGSIZE;
    while (i < cnt) {
        if (pos + 2 > n)
            return -EBADMSG;
        uint16_t c = net_rd16be(p + pos);
        pos += 2;
        if (!(c & 0x8000)) { /* run-length chunk */
            uint8_t s = (c >> 13) & 3;
            if (s == 3)
                return -EBADMSG;
            for (unsigned k = 0; k < (c & 0x1fffu) && i < cnt; k++)
                pkts[i++].status = s;
        } else if (!(c & 0x4000)) { /* 14 one-bit symbols */
            for (int k = 13; k >= 0 && i < cnt; k--)
                pkts[i++].status = (c >> k) & 1;
        } else { /* 7 two-bit symbols */
            for (int k = 12; k >= 0 && i < cnt; k -= 2) {
                uint8_t s = (c >> k) & 3;
                if (s == 3)
                    return -EBADMSG;
                pkts[i++].status = s;
            }
        }
    }
    for (i = 0; i < cnt; i++) {
        pkts[i].delta = 0;
        if (pkts[i].status == RTC_RTCP_TWCC_SMALL) {
            if (pos + 1 > n)
                return -EBADMSG;
            pkts[i].delta = p[pos++];
        } else if (pkts[i].status == RTC_RTCP_TWCC_LARGE) {
            if (pos + 2 > n)
                return -EBADMSG;
            pkts[i].delta = (int16_t)net_rd16be(p + pos);
            pos += 2;
        }
    }
    return (int)cnt; /* what is left is zero padding */
}

int rtc_rtcp_twcc_from_arrivals(const int64_t *arr, size_t n, rtc_rtcp_twcc_t *t,
                                rtc_rtcp_twcc_pkt_t *pkts)
{
    if (n == 0 || n > UINT16_MAX)
        return -EINVAL;
    size_t first = 0;
    while (first < n && arr[first] < 0)
        first++;
    if (first == n)
        return -EINVAL; /* nothing received: no reference time */
    /* draft-holmer-...-01 §3.1: the reference time is that of the first received packet in
     * the feedback, in 64 ms steps; its delta is taken from the reference time. */
    int64_t ref = arr[first] / 64000, last = ref * 64000;
    t->status_cnt = (uint16_t)n;
    uint32_t r24 = (uint32_t)ref & 0xffffff;
    t->ref_time = (r24 & 0x800000) ? (int32_t)r24 - 0x1000000 : (int32_t)r24;
    for (size_t i = 0; i < n; i++) {
        if (arr[i] < 0) {
            pkts[i] = (rtc_rtcp_twcc_pkt_t){RTC_RTCP_TWCC_NOT_RECEIVED, 0};
            continue;
        }
        int64_t d = arr[i] - last;
        int64_t ticks = d >= 0 ? (d + 125) / 250 : -((-d + 125) / 250);
        if (ticks < INT16_MIN || ticks > INT16_MAX)
            return -ERANGE;
        pkts[i].status = ticks >= 0 && ticks <= 255 ? RTC_RTCP_TWCC_SMALL : RTC_RTCP_TWCC_LARGE;
        pkts[i].delta = (int16_t)ticks;
        last += ticks * RTC_RTCP_TWCC_TICK_US;
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Building.
 */
void rtc_rtcp_wr_init(rtc_rtcp_wr_t *w, uint8_t *buf, size_t cap)
{
    w->buf = buf;
    w->cap = cap;
    w->len = 0;
    w->err = 0;
}

int rtc_rtcp_wr_finish(const rtc_rtcp_wr_t *w)
{
    return w->err ? w->err : (int)w->len;
}

static int wr_fail(rtc_rtcp_wr_t *w, int err)
{
    if (!w->err)
        w->err = err;
    return w->err;
}

/* Reserves a packet with a @body_len-byte body (a multiple of 4); NULL on error (sticky). */
static uint8_t *wr_begin(rtc_rtcp_wr_t *w, uint8_t pt, uint8_t count, size_t body_len)
{
    if (w->err)
        return NULL;
    if (body_len % 4 || body_len / 4 > UINT16_MAX - 1 || count > 31) {
        wr_fail(w, -EINVAL);
        return NULL;
    }
    if (w->cap - w->len < RTC_RTCP_HDR_LEN + body_len) {
        wr_fail(w, -ENOSPC);
        return NULL;
    }
    uint8_t *p = w->buf + w->len;
    p[0] = (uint8_t)(2u << 6 | count);
    p[1] = pt;
    net_wr16be(p + 2, (uint16_t)(body_len / 4));
    memset(p + 4, 0, body_len);
    w->len += RTC_RTCP_HDR_LEN + body_len;
    return p + 4;
}

int rtc_rtcp_wr_sr(rtc_rtcp_wr_t *w, const rtc_rtcp_sr_t *sr)
{
    if (sr->rb_cnt > RTC_RTCP_MAX_RB)
        return wr_fail(w, -EINVAL);
    uint8_t *p = wr_begin(w, RTC_RTCP_SR, sr->rb_cnt, 24 + 24u * sr->rb_cnt);
    if (!p)
        return w->err;
    net_wr32be(p, sr->ssrc);
    net_wr64be(p + 4, sr->ntp);
    net_wr32be(p + 12, sr->rtp_ts);
    net_wr32be(p + 16, sr->pkt_cnt);
    net_wr32be(p + 20, sr->octet_cnt);
    for (unsigned i = 0; i < sr->rb_cnt; i++)
        rb_write(p + 24 + 24 * i, &sr->rb[i]);
    return 0;
}

int rtc_rtcp_wr_rr(rtc_rtcp_wr_t *w, const rtc_rtcp_rr_t *rr)
{
    if (rr->rb_cnt > RTC_RTCP_MAX_RB)
        return wr_fail(w, -EINVAL);
    uint8_t *p = wr_begin(w, RTC_RTCP_RR, rr->rb_cnt, 4 + 24u * rr->rb_cnt);
    if (!p)
        return w->err;
    net_wr32be(p, rr->ssrc);
    for (unsigned i = 0; i < rr->rb_cnt; i++)
        rb_write(p + 4 + 24 * i, &rr->rb[i]);
    return 0;
}

int rtc_rtcp_wr_sdes_cname(rtc_rtcp_wr_t *w, uint32_t ssrc, const char *cname, size_t len)
{
    if (len == 0 || len > 255)
        return wr_fail(w, -EINVAL);
    /* SSRC, item (type, length, text), at least one null octet, pad to 32 bits (§6.5). */
    uint8_t *p = wr_begin(w, RTC_RTCP_SDES, 1, NET_ALIGN_UP(4 + 2 + len + 1, (size_t)4));
    if (!p)
        return w->err;
    net_wr32be(p, ssrc);
    p[4] = RTC_RTCP_SDES_CNAME;
    p[5] = (uint8_t)len;
    memcpy(p + 6, cname, len);
    return 0;
}

int rtc_rtcp_wr_bye(rtc_rtcp_wr_t *w, const uint32_t *ssrc, size_t cnt, const char *reason,
                    size_t reason_len)
{
    if (cnt > RTC_RTCP_MAX_RB || reason_len > 255)
        return wr_fail(w, -EINVAL);
    size_t body = 4 * cnt + (reason_len ? NET_ALIGN_UP(1 + reason_len, (size_t)4) : 0);
    uint8_t *p = wr_begin(w, RTC_RTCP_BYE, (uint8_t)cnt, body);
    if (!p)
        return w->err;
    for (size_t i = 0; i < cnt; i++)
        net_wr32be(p + 4 * i, ssrc[i]);
    if (reason_len) {
        p[4 * cnt] = (uint8_t)reason_len;
        memcpy(p + 4 * cnt + 1, reason, reason_len);
    }
    return 0;
}

/* Writes (or, with @out NULL, counts) the PID/BLP pairs for @seqs. */
static size_t nack_pairs(const uint16_t *seqs, size_t cnt, uint8_t *out)
{
    size_t pairs = 0;
    for (size_t i = 0; i < cnt;) {
        uint16_t pid = seqs[i++], blp = 0;
        while (i < cnt) {
            uint16_t d = (uint16_t)(seqs[i] - pid);
            if (d > 16)
                break;
            if (d)
                blp |= (uint16_t)(1u << (d - 1));
            i++;
        }
        if (out) {
            net_wr16be(out + 4 * pairs, pid);
            net_wr16be(out + 4 * pairs + 2, blp);
        }
        pairs++;
    }
    return pairs;
}

int rtc_rtcp_wr_nack(rtc_rtcp_wr_t *w, uint32_t sender, uint32_t media, const uint16_t *seqs,
                     size_t cnt)
{
    if (cnt == 0)
        return wr_fail(w, -EINVAL);
    size_t pairs = nack_pairs(seqs, cnt, NULL);
    uint8_t *p = wr_begin(w, RTC_RTCP_RTPFB, RTC_RTCP_FMT_NACK, 8 + 4 * pairs);
    if (!p)
        return w->err;
    net_wr32be(p, sender);
    net_wr32be(p + 4, media);
    nack_pairs(seqs, cnt, p + 8);
    return 0;
}

int rtc_rtcp_wr_pli(rtc_rtcp_wr_t *w, uint32_t sender, uint32_t media)
{
    uint8_t *p = wr_begin(w, RTC_RTCP_PSFB, RTC_RTCP_FMT_PLI, 8); /* §6.3.1: no FCI */
    if (!p)
        return w->err;
    net_wr32be(p, sender);
    net_wr32be(p + 4, media);
    return 0;
}

int rtc_rtcp_wr_fir(rtc_rtcp_wr_t *w, uint32_t sender, const rtc_rtcp_fir_entry_t *e, size_t cnt)
{
    if (cnt == 0 || cnt > 1000)
        return wr_fail(w, -EINVAL);
    uint8_t *p = wr_begin(w, RTC_RTCP_PSFB, RTC_RTCP_FMT_FIR, 8 + 8 * cnt);
    if (!p)
        return w->err;
    net_wr32be(p, sender);
    /* RFC 5104 §4.3.1.2: the media source SSRC SHALL be 0; the targets are in the FCI. */
    for (size_t i = 0; i < cnt; i++) {
        net_wr32be(p + 8 + 8 * i, e[i].ssrc);
        p[8 + 8 * i + 4] = e[i].seq_nr;
    }
    return 0;
}

int rtc_rtcp_wr_remb(rtc_rtcp_wr_t *w, uint32_t sender, uint64_t bitrate, const uint32_t *ssrc,
                     size_t cnt)
{
    if (cnt > 255)
        return wr_fail(w, -EINVAL);
    unsigned exp = 0;
    while ((bitrate >> exp) > 0x3ffff)
        exp++;
    uint32_t mant = (uint32_t)(bitrate >> exp);
    uint8_t *p = wr_begin(w, RTC_RTCP_PSFB, RTC_RTCP_FMT_AFB, 16 + 4 * cnt);
    if (!p)
        return w->err;
    net_wr32be(p, sender); /* media source stays 0 (draft §2.2) */
    memcpy(p + 8, "REMB", 4);
    p[12] = (uint8_t)cnt;
    p[13] = (uint8_t)(exp << 2 | mant >> 16);
    net_wr16be(p + 14, (uint16_t)mant);
    for (size_t i = 0; i < cnt; i++)
        net_wr32be(p + 16 + 4 * i, ssrc[i]);
    return 0;
}

/* Writes (or, with @out NULL, counts) the packet chunks for @n statuses; returns bytes. */
static size_t twcc_chunks(const rtc_rtcp_twcc_pkt_t *pk, size_t n, uint8_t *out)
{
    size_t i = 0, bytes = 0;
    while (i < n) {
        uint8_t s = pk[i].status;
        size_t run = 1, rem = n - i;
        while (run < rem && run < 0x1fff && pk[i + run].status == s)
            run++;
        size_t k14 = rem < 14 ? rem : 14;
        bool all01 = true;
        for (size_t k = 0; k < k14; k++)
            all01 = all01 && pk[i + k].status <= RTC_RTCP_TWCC_SMALL;
        uint16_t c;
        if (run >= 14 || run == rem || (run >= 7 && !all01)) {
            c = (uint16_t)(s << 13 | run);
            i += run;
        } else if (all01) {
            c = 0x8000;
            for (size_t k = 0; k < k14; k++)
                c |= (uint16_t)(pk[i + k].status << (13 - k));
            i += k14;
        } else {
            size_t k7 = rem < 7 ? rem : 7;
            c = 0xc000;
            for (size_t k = 0; k < k7; k++)
                c |= (uint16_t)(pk[i + k].status << (12 - 2 * k));
            i += k7;
        }
        if (out)
            net_wr16be(out + bytes, c);
        bytes += 2;
    }
    return bytes;
}

int rtc_rtcp_wr_twcc(rtc_rtcp_wr_t *w, uint32_t sender, uint32_t media, const rtc_rtcp_twcc_t *t,
                     const rtc_rtcp_twcc_pkt_t *pk)
{
    size_t n = t->status_cnt, deltas = 0;
    if (n == 0 || t->ref_time < -0x800000 || t->ref_time > 0x7fffff)
        return wr_fail(w, -EINVAL);
    for (size_t i = 0; i < n; i++) {
        if (pk[i].status == RTC_RTCP_TWCC_SMALL && pk[i].delta >= 0 && pk[i].delta <= 255)
            deltas += 1;
        else if (pk[i].status == RTC_RTCP_TWCC_LARGE)
            deltas += 2;
        else if (pk[i].status != RTC_RTCP_TWCC_NOT_RECEIVED)
            return wr_fail(w, -EINVAL);
    }
    size_t chunks = twcc_chunks(pk, n, NULL);
    size_t fci = 8 + chunks + deltas;
    uint8_t *p = wr_begin(w, RTC_RTCP_RTPFB, RTC_RTCP_FMT_TWCC, 8 + NET_ALIGN_UP(fci, (size_t)4));
    if (!p)
        return w->err;
    net_wr32be(p, sender);
    net_wr32be(p + 4, media);
    uint8_t *f = p + 8;
    net_wr16be(f, t->base_seq);
    net_wr16be(f + 2, t->status_cnt);
    net_wr24be(f + 4, (uint32_t)t->ref_time & 0xffffff);
    f[7] = t->fb_cnt;
    twcc_chunks(pk, n, f + 8);
    uint8_t *d = f + 8 + chunks;
    for (size_t i = 0; i < n; i++) {
        if (pk[i].status == RTC_RTCP_TWCC_SMALL) {
            *d++ = (uint8_t)pk[i].delta;
        } else if (pk[i].status == RTC_RTCP_TWCC_LARGE) {
            net_wr16be(d, (uint16_t)pk[i].delta);
            d += 2;
        }
    }
    return 0; /* the zero padding was cleared by wr_begin */
}

int64_t rtc_rtcp_rtt_ns(uint64_t arrival_ntp, uint32_t lsr, uint32_t dlsr)
{
    if (lsr == 0)
        return -1;
    uint32_t rtt = rtc_rtcp_ntp_mid(arrival_ntp) - lsr - dlsr; /* mod 2^32, 1/65536 s */
    if (rtt & 0x80000000u)
        return -1;
    return (int64_t)(((uint64_t)rtt * NET_NS_PER_SEC) >> 16);
}

/* ---------------------------------------------------------------------------------------------
 * Whole-compound check.
 */

/* Transport-cc FCI well-formed: chunks cover the status count, deltas are all there. Walks
 * run-length chunks in one step, so a 65535-status packet costs no more than its bytes. */
static bool twcc_ok(net_view_t fci)
{
    const uint8_t *p = fci.p;
    size_t n = fci.len, pos = 8, i = 0, deltas = 0;
    if (n < 8)
        return false;
    size_t cnt = net_rd16be(p + 2);
    while (i < cnt) {
        if (pos + 2 > n)
            return false;
        uint16_t c = net_rd16be(p + pos);
        pos += 2;
        if (!(c & 0x8000)) {
            unsigned s = (c >> 13) & 3;
            size_t run = NET_MIN((size_t)(c & 0x1fff), cnt - i);
            if (s == 3)
                return false;
            deltas += run * s; /* small: 1 byte, large: 2 bytes */
            i += run;
        } else if (!(c & 0x4000)) {
            for (int k = 13; k >= 0 && i < cnt; k--, i++)
                deltas += (c >> k) & 1;
        } else {
            for (int k = 12; k >= 0 && i < cnt; k -= 2, i++) {
                unsigned s = (c >> k) & 3;
                if (s == 3)
                    return false;
                deltas += s;
            }
        }
    }
    return pos + deltas <= n;
}

static bool pkt_ok(const rtc_rtcp_hdr_t *h, rtc_rtcp_counters_t *c)
{
    switch (h->pt) {
    case RTC_RTCP_SR:
        c->sr++;
        return h->body.len >= 24 + 24u * h->count;
    case RTC_RTCP_RR:
        c->rr++;
        return h->body.len >= 4 + 24u * h->count;
    case RTC_RTCP_SDES: {
        rtc_rtcp_sdes_chunk_t ch[31];
        c->sdes++;
        return rtc_rtcp_sdes_parse(h, ch, 31) >= 0;
    }
    case RTC_RTCP_BYE: {
        rtc_rtcp_bye_t bye;
        c->bye++;
        return rtc_rtcp_bye_parse(h, &bye) == 0;
    }
    case RTC_RTCP_APP: /* RFC 3550 §6.7: SSRC, 4-byte name, data; we skip it */
        c->app++;
        return h->body.len >= 8;
    case RTC_RTCP_RTPFB:
    case RTC_RTCP_PSFB: {
        rtc_rtcp_fb_t fb;
        if (rtc_rtcp_fb_parse(h, &fb) < 0)
            return false;
        if (h->pt == RTC_RTCP_RTPFB && fb.fmt == RTC_RTCP_FMT_NACK) {
            c->nack++;
            return fb.fci.len && fb.fci.len % 4 == 0;
        }
        if (h->pt == RTC_RTCP_RTPFB && fb.fmt == RTC_RTCP_FMT_TWCC) {
            c->twcc++;
            return twcc_ok(fb.fci);
        }
        if (h->pt == RTC_RTCP_PSFB && fb.fmt == RTC_RTCP_FMT_PLI) {
            c->pli++;
            return true;
        }
        if (h->pt == RTC_RTCP_PSFB && fb.fmt == RTC_RTCP_FMT_FIR) {
            c->fir++;
            return fb.fci.len && fb.fci.len % 8 == 0;
        }
        if (h->pt == RTC_RTCP_PSFB && fb.fmt == RTC_RTCP_FMT_AFB) {
            rtc_rtcp_remb_t r;
            int e = rtc_rtcp_remb_parse(&fb, &r);
            if (e == -ENOENT) {
                c->other++;
                return true;
            }
            c->remb++;
            return e == 0;
        }
        c->other++;
        return true;
    }
    default:
        c->other++;
        return true;
    }
}

int rtc_rtcp_check(const uint8_t *b, size_t len, unsigned flags, rtc_rtcp_hdr_t *out, size_t cap,
                   rtc_rtcp_counters_t *c)
{
    int n = rtc_rtcp_split(b, len, flags, out, cap);
    if (n < 0) {
        c->malformed++;
        return n;
    }
    rtc_rtcp_counters_t t = {0}; /* per-type counts join @c only if the compound is good */
    for (int i = 0; i < n; i++) {
        if (!pkt_ok(&out[i], &t)) {
            c->malformed++;
            return -EBADMSG;
        }
    }
    c->compounds++;
    c->sr += t.sr;
    c->rr += t.rr;
    c->sdes += t.sdes;
    c->bye += t.bye;
    c->app += t.app;
    c->nack += t.nack;
    c->pli += t.pli;
    c->fir += t.fir;
    c->remb += t.remb;
    c->twcc += t.twcc;
    c->other += t.other;
    return n;
}

uint64_t rtc_rtcp_interval_ns(const rtc_rtcp_interval_cfg_t *cfg, uint32_t rand)
{
    /* RFC 3550 A.7 rtcp_interval() */
    const double sender_fraction = 0.25, compensation = 2.71828 - 1.5;
    double min_s = (double)cfg->min_ns / 1e9;
    if (cfg->initial)
        min_s /= 2;
    double bw = (double)cfg->rtcp_bw_bps / 8; /* A.7 works in octets per second */
    double n = cfg->members ? cfg->members : 1;
    if (cfg->senders <= cfg->members * sender_fraction) {
        /* senders get a quarter of the RTCP bandwidth between them, receivers the rest */
        if (cfg->we_sent) {
            bw *= sender_fraction;
            n = cfg->senders ? cfg->senders : 1;
        } else {
            bw *= 1 - sender_fraction;
            n = cfg->members > cfg->senders ? cfg->members - cfg->senders : 1;
        }
    }
    double t = bw > 0 ? (double)cfg->avg_rtcp_len * n / bw : min_s;
    if (t < min_s)
        t = min_s;
    t *= 0.5 + (double)rand / 4294967296.0; /* [0.5, 1.5) */
    t /= compensation;
    return (uint64_t)(t * 1e9);
}
