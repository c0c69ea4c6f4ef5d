/* codecs/pay.c: RTP packetizers (payload formats), send side.
 *
 * Each payload carries the format's descriptor and a piece of the frame; the caller adds the RTP
 * header with the marker bit given here, one sequence number per payload and the frame's
 * timestamp.
 */
#include "codecs/codecs_priv.h"

int codec_pay_init(codec_pay_t *p, const codec_pay_cfg_t *cfg)
{
    /* The largest descriptor is VP9 with SS (about 12 bytes); demand room for real data. */
    if (cfg->max_payload_len < 32 || cfg->max_payload_len > 65535)
        return -EINVAL;
    switch (cfg->codec) {
    case CODEC_OPUS:
    case CODEC_PCMU:
    case CODEC_PCMA:
    case CODEC_VP8:
    case CODEC_VP9:
    case CODEC_H264:
        break;
    default:
        return -EINVAL;
    }
    *p = (codec_pay_t){._cfg = *cfg, ._pid = cfg->picture_id & 0x7FFF, ._tl0 = cfg->tl0picidx};
    p->_done = true;
    return 0;
}

/* The next 00 00 00 or 00 00 01 at or after @from (where a NAL unit ends), or @len. Only
 * emulation prevention's 00 00 03 may occur inside a NAL unit (H.264 7.4.1). */
static size_t h264_next_zero_pair(const uint8_t *b, size_t len, size_t from)
{
    size_t j = from;
    while (j + 3 <= len) {
        const uint8_t *z = memchr(b + j, 0, len - j - 2);
        if (!z)
            return len;
        j = (size_t)(z - b);
        if (b[j + 1] == 0 && b[j + 2] <= 1)
            return j;
        j++;
    }
    return len;
}

bool codec_h264_next_nal(const uint8_t *b, size_t len, size_t from, size_t *nal, size_t *nal_len)
{
    for (;;) {
        /* find 00 00 01: memchr for the 01 (fast), then look behind it */
        size_t i = from;
        for (;;) {
            if (i + 3 > len)
                return false;
            const uint8_t *one = memchr(b + i + 2, 1, len - i - 2);
            if (!one)
                return false;
            size_t k = (size_t)(one - b);
            if (b[k - 1] == 0 && b[k - 2] == 0) {
                i = k - 2;
                break;
            }
            i = k - 1;
        }
        size_t start = i + 3, j = h264_next_zero_pair(b, len, start);
        size_t end = j;
        /* H.264 B.1: trailing_zero_8bits belong to no NAL unit */
        while (end > start && b[end - 1] == 0)
            end--;
        if (end > start) {
            *nal = start;
            *nal_len = end - start;
            return true;
        }
        from = j;
        if (from >= len)
            return false;
    }
}

int codec_pay_frame(codec_pay_t *p, const codec_frame_t *f)
{
    if (!f->data || f->len == 0)
        return -EINVAL;
    bool audio = !codec_is_video(p->_cfg.codec);
    /* RFC 7587 §4.2 / RFC 3551: an audio frame goes in one payload, never split */
    if (audio && f->len > p->_cfg.max_payload_len)
        return -EMSGSIZE;
    p->_f = *f;
    p->_off = 0;
    p->_first = true;
    p->_done = false;
    p->_nal_len = 0;
    if (p->_cfg.codec == CODEC_VP8 || p->_cfg.codec == CODEC_VP9) {
        if (f->tid == 0 && (f->flags & CODEC_FRAME_LAYERED)) {
            /* RFC 7741 §4.2 / RFC 9628 §4.2: TL0PICIDX increments with every TL0 frame */
            if (p->_tl0_started)
                p->_tl0++;
            p->_tl0_started = true;
        }
    }
    return 0;
}

/* RFC 7741 §4.2:
 *        0 1 2 3 4 5 6 7
 *       +-+-+-+-+-+-+-+-+
 *       |X|R|N|S|R| PID | (REQUIRED)
 *       +-+-+-+-+-+-+-+-+
 *  X:   |I|L|T|K| RSV   | (OPTIONAL)
 *       +-+-+-+-+-+-+-+-+
 *  I:   |M| PictureID   | (OPTIONAL)
 *       +-+-+-+-+-+-+-+-+
 *       |   PictureID   |
 *       +-+-+-+-+-+-+-+-+
 *  L:   |   TL0PICIDX   | (OPTIONAL)
 *       +-+-+-+-+-+-+-+-+
 *  T/K: |TID|Y| KEYIDX  | (OPTIONAL)
 *       +-+-+-+-+-+-+-+-+
 * We always send a 15-bit picture id (M=1), and L and T when temporal layers are in use.
 * Without output partitioning the whole frame is partition 0: S=1 only on the first packet. */
static size_t vp8_desc_write(codec_pay_t *p, uint8_t *o)
{
    const codec_frame_t *f = &p->_f;
    bool layered = f->flags & CODEC_FRAME_LAYERED;
    size_t n = 0;
    o[n++] =
        (uint8_t)(0x80 | ((f->flags & CODEC_FRAME_NONREF) ? 0x20 : 0) | (p->_first ? 0x10 : 0));
    o[n++] = (uint8_t)(0x80 | (layered ? 0x60 : 0));
    o[n++] = (uint8_t)(0x80 | (p->_pid >> 8));
    o[n++] = (uint8_t)p->_pid;
    if (layered) {
        o[n++] = p->_tl0;
        o[n++] = (uint8_t)((f->tid & 3) << 6 | ((f->flags & CODEC_FRAME_SYNC) ? 0x20 : 0));
    }
    return n;
}

/* RFC 9628 §4.2:
 *        0 1 2 3 4 5 6 7
 *       +-+-+-+-+-+-+-+-+
 *       |I|P|L|F|B|E|V|Z| (REQUIRED)
 *       +-+-+-+-+-+-+-+-+
 *  I:   |M| PICTURE ID  | (REQUIRED)
 *       +-+-+-+-+-+-+-+-+
 *  M:   | EXTENDED PID  | (RECOMMENDED)
 *       +-+-+-+-+-+-+-+-+
 *  L:   | TID |U| SID |D| (CONDITIONALLY RECOMMENDED)
 *       +-+-+-+-+-+-+-+-+
 *       |   TL0PICIDX   | (CONDITIONALLY REQUIRED: non-flexible mode)
 *       +-+-+-+-+-+-+-+-+
 *  P,F: | P_DIFF      |N| (CONDITIONALLY REQUIRED: flexible mode, up to 3 times)
 *       +-+-+-+-+-+-+-+-+
 *  V:   | SS            |
 *       | ..            |
 *       +-+-+-+-+-+-+-+-+
 * One spatial layer. The SS (with the resolution) goes with the first packet of a keyframe. */
static size_t vp9_desc_write(codec_pay_t *p, uint8_t *o, bool last)
{
    const codec_frame_t *f = &p->_f;
    bool layered = f->flags & CODEC_FRAME_LAYERED, flex = p->_cfg.vp9_flexible;
    bool key = f->flags & CODEC_FRAME_KEY;
    bool ss = key && p->_first;
    bool pflag = !key; /* inter-picture predicted */
    size_t n = 0;
    o[n++] = (uint8_t)(0x80 | (pflag ? 0x40 : 0) | (layered ? 0x20 : 0) | (flex ? 0x10 : 0) |
                       (p->_first ? 0x08 : 0) | (last ? 0x04 : 0) | (ss ? 0x02 : 0));
    o[n++] = (uint8_t)(0x80 | (p->_pid >> 8));
    o[n++] = (uint8_t)p->_pid;
    if (layered) {
        o[n++] = (uint8_t)((f->tid & 7) << 5 | ((f->flags & CODEC_FRAME_SYNC) ? 0x10 : 0));
        if (!flex)
            o[n++] = p->_tl0;
    }
    if (flex && pflag) {
        /* §4.2: P_DIFF is 7 bits, N says another follows; at least one when P is set */
        uint8_t cnt = f->pdiff_cnt ? (f->pdiff_cnt > 3 ? 3 : f->pdiff_cnt) : 1;
        for (uint8_t i = 0; i < cnt; i++) {
            uint8_t d = f->pdiff_cnt ? f->pdiff[i] : 1;
            o[n++] = (uint8_t)((d & 0x7F) << 1 | (i + 1 < cnt ? 1 : 0));
        }
    }
    if (ss) {
        /* §4.2.1: N_S(3) Y G - - - ; Y: WIDTH HEIGHT per layer; G=0: no picture group */
        bool y = f->width && f->height;
        o[n++] = (uint8_t)(0 << 5 | (y ? 0x10 : 0));
        if (y) {
            net_wr16be(o + n, f->width);
            net_wr16be(o + n + 2, f->height);
            n += 4;
        }
    }
    return n;
}

static int pay_vpx(codec_pay_t *p, uint8_t *out, bool *marker)
{
    size_t max = p->_cfg.max_payload_len, rem = p->_f.len - p->_off;
    uint8_t desc[32];
    /* The E bit depends on whether this payload ends the frame, which depends on the
     * descriptor length: write it once as "not last" to learn the length (E does not change
     * it). */
    size_t dl = p->_cfg.codec == CODEC_VP8 ? vp8_desc_write(p, desc) : vp9_desc_write(p, desc, 0);
    size_t chunk = NET_MIN(rem, max - dl);
    bool last = chunk == rem;
    if (p->_cfg.codec == CODEC_VP9 && last)
        vp9_desc_write(p, desc, true);
    memcpy(out, desc, dl);
    memcpy(out + dl, p->_f.data + p->_off, chunk);
    p->_off += chunk;
    p->_first = false;
    if (last) {
        p->_done = true;
        p->_pid = (p->_pid + 1) & 0x7FFF;
    }
    *marker = last;
    return (int)(dl + chunk);
}

/* RFC 6184 §5.8: FU indicator (F|NRI|28), FU header (S|E|R|Type), then the NAL unit's payload
 * without its header byte. §5.8: S and E MUST NOT both be set, so a NAL unit that needs FU-A
 * always takes at least two. */
static int pay_h264_fu(codec_pay_t *p, uint8_t *out)
{
    const uint8_t *nal = p->_f.data + p->_nal_off;
    size_t max = p->_cfg.max_payload_len, rem = p->_nal_len - p->_fu_off;
    size_t chunk = NET_MIN(rem, max - 2);
    bool start = p->_fu_off == 1, end = chunk == rem;
    out[0] = (uint8_t)((nal[0] & 0xE0) | H264_NAL_FU_A);
    out[1] = (uint8_t)((start ? 0x80 : 0) | (end ? 0x40 : 0) | (nal[0] & 0x1F));
    memcpy(out + 2, nal + p->_fu_off, chunk);
    p->_fu_off += chunk;
    if (end)
        p->_nal_len = 0;
    return (int)(2 + chunk);
}

static int pay_h264(codec_pay_t *p, uint8_t *out, bool *marker)
{
    const uint8_t *b = p->_f.data;
    size_t len = p->_f.len, max = p->_cfg.max_payload_len, n1, l1;
    int r;
    if (p->_nal_len) {
        r = pay_h264_fu(p, out);
    } else {
        if (!codec_h264_next_nal(b, len, p->_off, &n1, &l1)) {
            p->_done = true;
            return p->_first ? -EBADMSG : 0;
        }
        p->_off = n1 + l1;
        if (l1 > max) {
            p->_nal_off = n1;
            p->_nal_len = l1;
            p->_fu_off = 1;
            r = pay_h264_fu(p, out);
        } else {
            /* RFC 6184 §5.7.1: aggregate following NAL units into a STAP-A while they fit:
             * header byte, then (16-bit size, NAL unit) per unit. */
            size_t total = 1 + 2 + l1, cnt = 1, off = p->_off, n2, l2;
            uint8_t f = b[n1] & 0x80, nri = b[n1] & 0x60;
            while (codec_h264_next_nal(b, len, off, &n2, &l2) && total + 2 + l2 <= max) {
                total += 2 + l2;
                cnt++;
                off = n2 + l2;
            }
            if (cnt == 1) {
                memcpy(out, b + n1, l1); /* §5.6: single NAL unit packet */
                r = (int)l1;
            } else {
                size_t o = 1, at = n1 - 3;
                for (size_t i = 0; i < cnt; i++) {
                    size_t nn, nl;
                    bool ok = codec_h264_next_nal(b, len, at, &nn, &nl);
                    ENG_ASSERT(ok);
                    /* §5.7.1: F is the OR of the units' F bits, NRI their maximum */
                    f |= b[nn] & 0x80;
                    if ((b[nn] & 0x60) > nri)
                        nri = b[nn] & 0x60;
                    net_wr16be(out + o, (uint16_t)nl);
                    memcpy(out + o + 2, b + nn, nl);
                    o += 2 + nl;
                    at = nn + nl;
                }
                out[0] = (uint8_t)(f | nri | H264_NAL_STAP_A);
                p->_off = off;
                r = (int)o;
            }
        }
    }
    p->_first = false;
    /* §5.1: the marker is set on the last packet of the access unit */
    bool more = p->_nal_len || codec_h264_next_nal(b, len, p->_off, &n1, &l1);
    if (!more)
        p->_done = true;
    *marker = !more;
    return r;
}

int codec_pay_next(codec_pay_t *p, uint8_t *out, size_t cap, bool *marker)
{
    if (p->_done)
        return 0;
    if (cap < p->_cfg.max_payload_len)
        return -ENOSPC;
    switch (p->_cfg.codec) {
    case CODEC_OPUS:
    case CODEC_PCMU:
    case CODEC_PCMA:
        /* RFC 7587 §4.2: exactly one Opus packet per RTP payload; RFC 3551 §4.1: the marker
         * flags the first packet of a talkspurt. */
        memcpy(out, p->_f.data, p->_f.len);
        *marker = p->_f.flags & CODEC_FRAME_TALKSPURT;
        p->_done = true;
        return (int)p->_f.len;
    case CODEC_VP8:
    case CODEC_VP9:
        return pay_vpx(p, out, marker);
    case CODEC_H264:
        return pay_h264(p, out, marker);
    default:
        return -EINVAL;
    }
}
