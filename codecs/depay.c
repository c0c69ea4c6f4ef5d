/* codecs/depay.c: RTP depacketizers and frame assembly, receive side.
 *
 * Payloads are parsed per format (descriptor checks, H.264 units rewritten to Annex-B), filed
 * under their frame (by RTP timestamp) in one of a fixed number of slots, and a frame leaves
 * only when it is whole and in order. Everything is allocated at create time.
 */
#include "codecs/codecs_priv.h"

#include <stdlib.h>

enum {
    PKT_START = 1, /* first packet of a frame (format's start flag) */
    PKT_END = 2,   /* marker bit: last packet of a frame */
    PKT_KEY = 4,
};

typedef struct depay_pkt {
    int64_t seq; /* extended */
    uint32_t off, len;
    uint8_t flags;
} depay_pkt_t;

typedef struct depay_slot {
    bool used;
    uint32_t ts;
    uint8_t *buf;
    size_t buf_len;
    depay_pkt_t *pkts; /* sorted by seq */
    unsigned npkts;
    int64_t min_seq, max_seq;
    bool overflow;
    bool have_meta;
    codec_frame_t meta; /* descriptor fields of the frame's first packet */
} depay_slot_t;

struct codec_depay {
    codec_depay_cfg_t cfg;
    codec_depay_stats_t st;
    depay_slot_t *slots;
    unsigned used;
    uint8_t *out;
    bool have_seq;
    int64_t ext_max;
    int64_t next_seq; /* first packet of the next frame; -1 unknown */
    int64_t done_seq; /* packets at or below are late */
    bool have_done_ts;
    uint32_t done_ts;
    bool gap_pending;
    bool flushing;
    int last_tl0; /* TL0PICIDX of the last TL0 frame handed out; -1 none */
};

/* The result of parsing one payload. */
typedef struct depay_parsed {
    uint8_t flags;
    const uint8_t *data; /* bytes to file as they are (all but H.264) */
    size_t data_len;
    size_t out_len; /* bytes it adds to the frame */
    codec_frame_t meta;
} depay_parsed_t;

/* ---------------------------------------------------------------------------------------------
 * Payload descriptors
 */
int codec_vp8_desc_parse(const uint8_t *p, size_t len, codec_vp8_desc_t *d)
{
    /* RFC 7741 §4.2 (diagram in pay.c). R bits: "MUST be ignored by receivers". */
    *d = (codec_vp8_desc_t){.picture_id = -1, .tl0picidx = -1, .tid = -1, .keyidx = -1};
    if (len < 1)
        return -EBADMSG;
    size_t n = 1;
    d->nonref = p[0] & 0x20;
    d->start = p[0] & 0x10;
    d->pid = p[0] & 0x07;
    if (p[0] & 0x80) {
        if (len < 2)
            return -EBADMSG;
        uint8_t x = p[1];
        n = 2;
        if (x & 0x80) { /* I */
            if (len < n + 1)
                return -EBADMSG;
            if (p[n] & 0x80) { /* M: 15-bit picture id */
                if (len < n + 2)
                    return -EBADMSG;
                d->picture_id = (int32_t)(net_rd16be(p + n) & 0x7FFF);
                n += 2;
            } else {
                d->picture_id = p[n] & 0x7F;
                n += 1;
            }
        }
        if (x & 0x40) { /* L */
            if (len < n + 1)
                return -EBADMSG;
            d->tl0picidx = p[n++];
        }
        if (x & 0x30) { /* T or K: one shared octet */
            if (len < n + 1)
                return -EBADMSG;
            if (x & 0x20) {
                d->tid = (int8_t)(p[n] >> 6);
                d->layer_sync = p[n] & 0x20;
            }
            if (x & 0x10)
                d->keyidx = (int8_t)(p[n] & 0x1F);
            n++;
        }
    }
    /* A descriptor without VP8 data carries nothing: malformed. */
    if (len <= n)
        return -EBADMSG;
    d->hdr_len = n;
    return (int)n;
}

int codec_vp9_desc_parse(const uint8_t *p, size_t len, codec_vp9_desc_t *d)
{
    /* RFC 9628 §4.2 (diagram in pay.c) */
    *d = (codec_vp9_desc_t){.picture_id = -1, .tid = -1, .sid = -1, .tl0picidx = -1};
    if (len < 1)
        return -EBADMSG;
    uint8_t b = p[0];
    d->i = b & 0x80;
    d->p = b & 0x40;
    d->l = b & 0x20;
    d->f = b & 0x10;
    d->b = b & 0x08;
    d->e = b & 0x04;
    d->v = b & 0x02;
    d->z = b & 0x01;
    size_t n = 1;
    if (d->i) {
        if (len < n + 1)
            return -EBADMSG;
        if (p[n] & 0x80) {
            if (len < n + 2)
                return -EBADMSG;
            d->picture_id = (int32_t)(net_rd16be(p + n) & 0x7FFF);
            n += 2;
        } else {
            d->picture_id = p[n++] & 0x7F;
        }
    }
    if (d->l) {
        if (len < n + 1)
            return -EBADMSG;
        d->tid = (int8_t)(p[n] >> 5);
        d->u = p[n] & 0x10;
        d->sid = (int8_t)((p[n] >> 1) & 7);
        d->d = p[n] & 1;
        n++;
        if (!d->f) { /* non-flexible mode: TL0PICIDX follows */
            if (len < n + 1)
                return -EBADMSG;
            d->tl0picidx = p[n++];
        }
    }
    if (d->f && d->p) {
        /* §4.2: "up to 3 times": the N bit of the third MUST be 0 */
        for (;;) {
            if (len < n + 1 || d->pdiff_cnt == 3)
                return -EBADMSG;
            d->pdiff[d->pdiff_cnt++] = p[n] >> 1;
            if (!(p[n++] & 1))
                break;
        }
    }
    if (d->v) {
        /* §4.2.1 SS: N_S(3)|Y|G|-|-|-, Y: N_S+1 x (WIDTH, HEIGHT), G: N_G then per picture
         * TID(3)|U|R(2)|-|- and R P_DIFF octets */
        if (len < n + 1)
            return -EBADMSG;
        uint8_t ss = p[n++];
        d->ss_n_s = (uint8_t)((ss >> 5) + 1);
        if (ss & 0x10) {
            if (len < n + 4u * d->ss_n_s)
                return -EBADMSG;
            for (unsigned i = 0; i < d->ss_n_s; i++) {
                d->ss_width[i] = net_rd16be(p + n);
                d->ss_height[i] = net_rd16be(p + n + 2);
                n += 4;
            }
        }
        if (ss & 0x08) {
            if (len < n + 1)
                return -EBADMSG;
            d->ss_n_g = p[n++];
            for (unsigned i = 0; i < d->ss_n_g; i++) {
                if (len < n + 1)
                    return -EBADMSG;
                unsigned r = (p[n++] >> 2) & 3;
                if (len < n + r)
                    return -EBADMSG;
                n += r;
            }
        }
    }
    if (len <= n)
        return -EBADMSG;
    d->hdr_len = n;
    return (int)n;
}

static int parse_vp8(const uint8_t *p, size_t len, depay_parsed_t *r)
{
    codec_vp8_desc_t d;
    int n = codec_vp8_desc_parse(p, len, &d);
    if (n < 0)
        return n;
    r->data = p + n;
    r->data_len = len - (size_t)n;
    r->meta.picture_id = d.picture_id;
    r->meta.tl0picidx = d.tl0picidx;
    if (d.tid >= 0) {
        r->meta.tid = (uint8_t)d.tid;
        r->meta.flags |= CODEC_FRAME_LAYERED | (d.layer_sync ? CODEC_FRAME_SYNC : 0);
    }
    if (d.nonref)
        r->meta.flags |= CODEC_FRAME_NONREF;
    if (d.start && d.pid == 0) {
        r->flags |= PKT_START;
        /* RFC 7741 §4.3: the payload header's P bit is 0 for a keyframe; a keyframe's header
         * goes on with the start code 9d 01 2a and the 14-bit width and height (RFC 6386 §9.1) */
        const uint8_t *h = r->data;
        if (r->data_len >= 3 && !(h[0] & 1)) {
            r->flags |= PKT_KEY;
            if (r->data_len >= 10 && h[3] == 0x9d && h[4] == 0x01 && h[5] == 0x2a) {
                r->meta.width = (uint16_t)((h[6] | h[7] << 8) & 0x3FFF);
                r->meta.height = (uint16_t)((h[8] | h[9] << 8) & 0x3FFF);
            }
        }
    }
    r->out_len = r->data_len;
    return 0;
}

static int parse_vp9(const uint8_t *p, size_t len, depay_parsed_t *r)
{
    codec_vp9_desc_t d;
    int n = codec_vp9_desc_parse(p, len, &d);
    if (n < 0)
        return n;
    r->data = p + n;
    r->data_len = len - (size_t)n;
    r->out_len = r->data_len;
    r->meta.picture_id = d.picture_id;
    r->meta.tl0picidx = d.tl0picidx;
    if (d.tid >= 0) {
        r->meta.tid = (uint8_t)d.tid;
        r->meta.sid = (uint8_t)d.sid;
        r->meta.flags |= CODEC_FRAME_LAYERED | (d.u ? CODEC_FRAME_SYNC : 0);
    }
    r->meta.pdiff_cnt = d.pdiff_cnt;
    memcpy(r->meta.pdiff, d.pdiff, sizeof d.pdiff);
    if (d.v && d.ss_width[0]) {
        r->meta.width = d.ss_width[0];
        r->meta.height = d.ss_height[0];
    }
    /* B starts a layer frame; the picture starts with the lowest spatial layer's. P=0 on the
     * base layer: no inter-picture prediction, a keyframe (§4.2). */
    if (d.b && d.sid <= 0) {
        r->flags |= PKT_START;
        if (!d.p)
            r->flags |= PKT_KEY;
    }
    return 0;
}

/* Whether a NAL unit (header at @n, @len bytes) can begin an access unit: parameter sets, AUD,
 * SEI, or a slice whose first_mb_in_slice is 0 (ue(v) 0 is the single bit 1). */
static bool h264_starts_au(const uint8_t *n, size_t len)
{
    unsigned t = n[0] & 0x1F;
    if (t == H264_NAL_SPS || t == H264_NAL_PPS || t == H264_NAL_AUD || t == H264_NAL_SEI)
        return true;
    return (t == H264_NAL_SLICE || t == H264_NAL_IDR) && len >= 2 && (n[1] & 0x80);
}

/* Appends a start code and a NAL unit (or only @len bytes when @sc is false) to @out. */
static size_t h264_put(uint8_t *out, size_t o, bool sc, const uint8_t *b, size_t len)
{
    if (out) {
        if (sc) {
            out[o] = out[o + 1] = out[o + 2] = 0;
            out[o + 3] = 1;
        }
        memcpy(out + o + (sc ? 4 : 0), b, len);
    }
    return o + (sc ? 4 : 0) + len;
}

/* RFC 6184 §5.2-5.8. With @out NULL only checks and measures; else writes the Annex-B bytes. */
static int parse_h264(const uint8_t *p, size_t len, depay_parsed_t *r, uint8_t *out)
{
    if (len < 1)
        return -EBADMSG;
    /* §5.3: F=1 is a syntax violation */
    if (p[0] & 0x80)
        return -EBADMSG;
    unsigned type = p[0] & 0x1F;
    size_t o = 0;
    if (type >= 1 && type <= 23) { /* §5.6 single NAL unit packet */
        if (h264_starts_au(p, len))
            r->flags |= PKT_START;
        if (type == H264_NAL_IDR)
            r->flags |= PKT_KEY;
        o = h264_put(out, o, true, p, len);
    } else if (type == H264_NAL_STAP_A) { /* §5.7.1 */
        size_t i = 1;
        unsigned cnt = 0;
        while (i < len) {
            if (len - i < 2)
                return -EBADMSG;
            size_t n = net_rd16be(p + i);
            i += 2;
            if (n == 0 || n > len - i)
                return -EBADMSG;
            unsigned t = p[i] & 0x1F;
            if ((p[i] & 0x80) || t == 0 || t > 23)
                return -EBADMSG;
            if (cnt == 0 && h264_starts_au(p + i, n))
                r->flags |= PKT_START;
            if (t == H264_NAL_IDR)
                r->flags |= PKT_KEY;
            o = h264_put(out, o, true, p + i, n);
            i += n;
            cnt++;
        }
        if (cnt == 0)
            return -EBADMSG;
    } else if (type == H264_NAL_FU_A) { /* §5.8 */
        if (len < 3)
            return -EBADMSG;
        uint8_t fu = p[1];
        bool s = fu & 0x80, e = fu & 0x40;
        unsigned t = fu & 0x1F;
        /* "A Start bit and an End bit MUST NOT both be set to one in the same FU header" */
        if ((s && e) || t == 0 || t > 23)
            return -EBADMSG;
        if (s) {
            uint8_t hdr = (uint8_t)((p[0] & 0xE0) | t);
            uint8_t tmp[2] = {hdr, p[2]};
            if (h264_starts_au(tmp, 2))
                r->flags |= PKT_START;
            if (t == H264_NAL_IDR)
                r->flags |= PKT_KEY;
            o = h264_put(out, o, true, &hdr, 1);
            o = h264_put(out, o, false, p + 2, len - 2);
        } else {
            o = h264_put(out, o, false, p + 2, len - 2);
        }
    } else if (type == H264_NAL_STAP_B || type == H264_NAL_MTAP16 || type == H264_NAL_MTAP24 ||
               type == H264_NAL_FU_B) {
        /* interleaved mode only (packetization-mode 2): not negotiated */
        return -EPROTONOSUPPORT;
    } else {
        return -EBADMSG; /* 0, 30, 31: reserved */
    }
    r->out_len = o;
    return 0;
}

static int depay_parse(codec_depay_t *d, const uint8_t *p, size_t len, depay_parsed_t *r)
{
    *r = (depay_parsed_t){0};
    r->meta.picture_id = -1;
    r->meta.tl0picidx = -1;
    switch (d->cfg.codec) {
    case CODEC_OPUS: {
        /* RFC 7587 §4.2: one Opus packet; check its framing (RFC 6716 §3) */
        int n = codec_opus_packet_samples(p, len);
        if (n < 0)
            return n;
        r->flags = PKT_START | PKT_END | PKT_KEY;
        r->data = p;
        r->data_len = r->out_len = len;
        return 0;
    }
    case CODEC_PCMU:
    case CODEC_PCMA:
        if (len == 0)
            return -EBADMSG;
        r->flags = PKT_START | PKT_END | PKT_KEY;
        r->data = p;
        r->data_len = r->out_len = len;
        return 0;
    case CODEC_VP8:
        return parse_vp8(p, len, r);
    case CODEC_VP9:
        return parse_vp9(p, len, r);
    case CODEC_H264:
        return parse_h264(p, len, r, NULL);
    default:
        return -EINVAL;
    }
}

/* ---------------------------------------------------------------------------------------------
 * Assembly
 */
codec_depay_t *codec_depay_create(const codec_depay_cfg_t *cfg)
{
    codec_depay_cfg_t c = *cfg;
    bool video = codec_is_video(c.codec);
    if (c.codec == CODEC_NONE || c.codec > CODEC_H264) {
        LOG_ERROR("depay: bad codec %d", c.codec);
        return NULL;
    }
    if (!c.max_frame_len)
        c.max_frame_len = video ? 1u << 20 : 4096;
    if (!c.max_pending)
        c.max_pending = video ? 8 : 4;
    if (!c.reorder_window)
        c.reorder_window = video ? 128 : 8;
    if (!c.max_frame_pkts)
        c.max_frame_pkts = video ? 1024 : 1;
    if (c.max_pending > 64 || c.max_frame_len > (64u << 20) || c.max_frame_pkts > 65536) {
        LOG_ERROR("depay: config out of range");
        return NULL;
    }
    codec_depay_t *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->cfg = c;
    d->next_seq = -1;
    d->done_seq = INT64_MIN;
    d->last_tl0 = -1;
    d->slots = calloc(c.max_pending, sizeof *d->slots);
    d->out = malloc(c.max_frame_len);
    if (!d->slots || !d->out)
        goto fail;
    for (unsigned i = 0; i < c.max_pending; i++) {
        d->slots[i].buf = malloc(c.max_frame_len);
        d->slots[i].pkts = calloc(c.max_frame_pkts, sizeof(depay_pkt_t));
        if (!d->slots[i].buf || !d->slots[i].pkts)
            goto fail;
    }
    return d;
fail:
    LOG_ERROR("depay: out of memory");
    codec_depay_destroy(d);
    return NULL;
}

void codec_depay_destroy(codec_depay_t *d)
{
    if (!d)
        return;
    if (d->slots)
        for (unsigned i = 0; i < d->cfg.max_pending; i++) {
            free(d->slots[i].buf);
            free(d->slots[i].pkts);
        }
    free(d->slots);
    free(d->out);
    free(d);
}

const codec_depay_stats_t *codec_depay_stats(const codec_depay_t *d)
{
    return &d->st;
}

void codec_depay_flush(codec_depay_t *d)
{
    d->flushing = true;
}

static void slot_release(codec_depay_t *d, depay_slot_t *s)
{
    if (s->max_seq > d->done_seq)
        d->done_seq = s->max_seq;
    d->have_done_ts = true;
    d->done_ts = s->ts;
    s->used = false;
    s->npkts = 0;
    s->buf_len = 0;
    d->used--;
}

/* The frame's first packet: the one after the previous frame, or the earliest start flag. */
static int64_t slot_start(const codec_depay_t *d, const depay_slot_t *s)
{
    if (d->next_seq >= 0 && s->min_seq <= d->next_seq && d->next_seq <= s->max_seq)
        for (unsigned i = 0; i < s->npkts; i++)
            if (s->pkts[i].seq == d->next_seq)
                return d->next_seq;
    for (unsigned i = 0; i < s->npkts; i++)
        if (s->pkts[i].flags & PKT_START)
            return s->pkts[i].seq;
    return -1;
}

/* Whole: a start, the marker packet, and every packet between. Returns the index range. */
static bool slot_complete(const codec_depay_t *d, const depay_slot_t *s, unsigned *first,
                          unsigned *last, int64_t *start_seq)
{
    if (s->overflow)
        return false;
    int64_t start = slot_start(d, s);
    if (start < 0)
        return false;
    unsigned i = 0;
    while (i < s->npkts && s->pkts[i].seq < start)
        i++;
    for (unsigned j = i; j < s->npkts; j++) {
        if (s->pkts[j].seq != start + (int64_t)(j - i))
            return false; /* a hole */
        if (s->pkts[j].flags & PKT_END) {
            *first = i;
            *last = j;
            *start_seq = start;
            return true;
        }
    }
    return false;
}

int codec_depay_push(codec_depay_t *d, const uint8_t *payload, size_t len, uint16_t seq,
                     uint32_t rtp_ts, bool marker)
{
    d->st.payloads++;
    depay_parsed_t r;
    int err = depay_parse(d, payload, len, &r);
    if (err < 0) {
        d->st.malformed++;
        LOG_DEBUG("depay %s: malformed payload seq %u (%d)", codec_name(d->cfg.codec), seq, err);
        return err;
    }
    if (marker)
        r.flags |= PKT_END;

    /* Extend the 16-bit sequence number around the highest seen (RFC 3550 A.1 style). */
    int64_t ext;
    if (!d->have_seq) {
        d->have_seq = true;
        ext = (int64_t)seq + (1 << 16); /* room below for reordered early packets */
        d->ext_max = ext;
    } else {
        ext = d->ext_max + (int16_t)(uint16_t)(seq - (uint16_t)d->ext_max);
        if (ext > d->ext_max)
            d->ext_max = ext;
    }
    if (ext <= d->done_seq || (d->have_done_ts && rtp_ts == d->done_ts)) {
        d->st.late++;
        return -EALREADY;
    }

    depay_slot_t *s = NULL;
    for (unsigned i = 0; i < d->cfg.max_pending && !s; i++)
        if (d->slots[i].used && d->slots[i].ts == rtp_ts)
            s = &d->slots[i];
    if (!s) {
        if (d->used == d->cfg.max_pending) {
            /* The caller did not pop: give up the oldest incomplete frame to make room. */
            depay_slot_t *old = NULL;
            unsigned a, b;
            int64_t st;
            for (unsigned i = 0; i < d->cfg.max_pending; i++) {
                depay_slot_t *c = &d->slots[i];
                if (!slot_complete(d, c, &a, &b, &st) && (!old || c->min_seq < old->min_seq))
                    old = c;
            }
            if (!old) {
                d->st.overflow++;
                return -ENOBUFS;
            }
            d->st.incomplete++;
            d->gap_pending = true;
            slot_release(d, old);
        }
        for (unsigned i = 0; i < d->cfg.max_pending && !s; i++)
            if (!d->slots[i].used)
                s = &d->slots[i];
        ENG_ASSERT(s);
        s->used = true;
        s->ts = rtp_ts;
        s->npkts = 0;
        s->buf_len = 0;
        s->overflow = false;
        s->have_meta = false;
        s->min_seq = s->max_seq = ext;
        d->used++;
    }

    /* Insert sorted by seq (packets mostly arrive in order: scan from the end). */
    unsigned pos = s->npkts;
    while (pos > 0 && s->pkts[pos - 1].seq > ext)
        pos--;
    if (pos > 0 && s->pkts[pos - 1].seq == ext) {
        d->st.duplicates++;
        return -EALREADY;
    }
    if (s->overflow)
        return -EMSGSIZE; /* already counted */
    if (s->npkts == d->cfg.max_frame_pkts || r.out_len > d->cfg.max_frame_len - s->buf_len) {
        s->overflow = true;
        d->st.overflow++;
        LOG_DEBUG("depay %s: frame ts %u too large", codec_name(d->cfg.codec), rtp_ts);
        return -EMSGSIZE;
    }
    uint8_t *dst = s->buf + s->buf_len;
    if (d->cfg.codec == CODEC_H264) {
        int rr = parse_h264(payload, len, &r, dst);
        ENG_ASSERT(rr == 0);
    } else {
        memcpy(dst, r.data, r.data_len);
    }
    memmove(&s->pkts[pos + 1], &s->pkts[pos], (s->npkts - pos) * sizeof s->pkts[0]);
    s->pkts[pos] = (depay_pkt_t){
        .seq = ext, .off = (uint32_t)s->buf_len, .len = (uint32_t)r.out_len, .flags = r.flags};
    s->npkts++;
    s->buf_len += r.out_len;
    if (ext < s->min_seq)
        s->min_seq = ext;
    if (ext > s->max_seq)
        s->max_seq = ext;
    /* Frame-level fields come from the start packet, or any packet until one arrives. */
    if ((r.flags & PKT_START) || !s->have_meta) {
        uint32_t keep = s->have_meta ? (s->meta.flags & CODEC_FRAME_KEY) : 0;
        s->meta = r.meta;
        s->meta.flags |= keep;
        s->have_meta = r.flags & PKT_START;
    }
    if (r.flags & PKT_KEY)
        s->meta.flags |= CODEC_FRAME_KEY;
    return 0;
}

static void slot_emit(codec_depay_t *d, depay_slot_t *s, unsigned first, unsigned last, bool gap,
                      codec_frame_t *f)
{
    /* Packets that arrived in order sit back to back in the slot already: hand out a view of
     * the slot (it stays intact until the next push). Otherwise gather them in order. */
    size_t o = 0;
    bool contiguous = true;
    for (unsigned i = first; i <= last && contiguous; i++) {
        contiguous = s->pkts[i].off == s->pkts[first].off + o;
        o += s->pkts[i].len;
    }
    const uint8_t *data = s->buf + s->pkts[first].off;
    if (!contiguous) {
        o = 0;
        for (unsigned i = first; i <= last; i++) {
            memcpy(d->out + o, s->buf + s->pkts[i].off, s->pkts[i].len);
            o += s->pkts[i].len;
        }
        data = d->out;
    }
    *f = s->meta;
    f->codec = d->cfg.codec;
    f->data = data;
    f->len = o;
    f->rtp_ts = s->ts;
    f->first_seq = (uint16_t)s->pkts[first].seq;
    f->last_seq = (uint16_t)s->pkts[last].seq;
    if (gap) {
        f->flags |= CODEC_FRAME_GAP;
        d->st.gaps++;
        /* With temporal layers, a loss confined to upper layers leaves the base chain intact:
         * the next TL0 frame's TL0PICIDX follows the last one we saw, or an upper-layer
         * switch-up frame depends only on the TL0 frame we have (RFC 7741 §4.2, RFC 9628
         * §4.2). */
        if ((f->flags & CODEC_FRAME_LAYERED) && f->tl0picidx >= 0 && d->last_tl0 >= 0 &&
            ((f->tid == 0 && f->tl0picidx == ((d->last_tl0 + 1) & 0xFF)) ||
             (f->tid > 0 && (f->flags & CODEC_FRAME_SYNC) && f->tl0picidx == d->last_tl0)))
            f->flags |= CODEC_FRAME_BASE_OK;
    }
    if ((f->flags & CODEC_FRAME_LAYERED) && f->tid == 0 && f->tl0picidx >= 0)
        d->last_tl0 = f->tl0picidx;
    d->st.frames++;
    if (f->flags & CODEC_FRAME_KEY)
        d->st.keyframes++;
    d->next_seq = s->pkts[last].seq + 1;
    d->gap_pending = false;
    slot_release(d, s);
    if (d->next_seq - 1 > d->done_seq)
        d->done_seq = d->next_seq - 1;
}

int codec_depay_pop(codec_depay_t *d, codec_frame_t *f)
{
    for (;;) {
        depay_slot_t *head = NULL;
        for (unsigned i = 0; i < d->cfg.max_pending; i++)
            if (d->slots[i].used && (!head || d->slots[i].min_seq < head->min_seq))
                head = &d->slots[i];
        if (!head) {
            d->flushing = false;
            return 0;
        }
        unsigned first = 0, last = 0;
        int64_t start = -1;
        bool complete = slot_complete(d, head, &first, &last, &start);
        /* In order: it starts right after the last frame handed out. With no such frame
         * (start of stream, or after giving one up without its end) its start flag has to
         * do; at the very start only a keyframe goes at once (a decoder can begin there), a
         * delta frame waits in case earlier packets are still on their way. */
        bool in_order = d->next_seq >= 0 ? start == d->next_seq
                                         : d->st.frames > 0 || (head->meta.flags & CODEC_FRAME_KEY);
        if (complete && in_order) {
            slot_emit(d, head, first, last, d->gap_pending, f);
            return 1;
        }
        bool pressure = d->flushing || d->used == d->cfg.max_pending ||
                        d->ext_max - head->max_seq > (int64_t)d->cfg.reorder_window;
        if (!pressure)
            return 0;
        if (complete) {
            /* packets before it never came: hand it out, flagged (unless it is the very first
             * frame: what came before we never had) */
            slot_emit(d, head, first, last, d->st.frames > 0 || d->gap_pending, f);
            return 1;
        }
        d->st.incomplete++;
        d->gap_pending = true;
        /* The next frame starts after this one's marker packet if we have it; else only its
         * start flag can tell. Either way it goes out as soon as it is whole (with GAP). */
        d->next_seq = -1;
        for (unsigned i = 0; i < head->npkts; i++)
            if (head->pkts[i].flags & PKT_END)
                d->next_seq = head->pkts[i].seq + 1;
        slot_release(d, head);
    }
}
