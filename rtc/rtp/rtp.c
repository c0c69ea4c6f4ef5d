/* rtc/rtp/rtp.c: RTP header parsing and writing (RFC 3550 §5.1) with RFC 8285 extensions.
 *
 * RFC 3550 §5.1 fixed header:
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |V=2|P|X|  CC   |M|     PT      |       sequence number         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                           timestamp                           |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           synchronization source (SSRC) identifier            |
 * +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 * |            contributing source (CSRC) identifiers             |
 * |                             ....                              |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * RFC 3550 §5.3.1 extension header, then RFC 8285 elements inside it:
 *
 * |      defined by profile       |           length              |
 * |                        header extension                       |
 *
 * one-byte form (profile 0xBEDE, §4.2):  | ID (4) | len-1 (4) | data (len bytes) |
 * two-byte form (profile 0x100X, §4.3):  | ID (8) | len (8) | data (len bytes) |
 * A zero byte between elements is padding in both forms.
 */
#include "rtc/rtp/rtp.h"

#include "rtc/crypto/crypto.h"

#include <strings.h>

/* Walks the RFC 8285 elements of an extension block. Calls @fn for each element (with the
 * offset of its header byte(s) inside @d) until it returns nonzero. 0 at the end of the
 * block, the callback's value, or -EBADMSG when an element runs past the block. */
typedef int (*ext_walk_fn)(void *arg, size_t hdr_off, uint8_t id, uint8_t len);

static int ext_walk(const uint8_t *d, size_t n, bool two_byte, ext_walk_fn fn, void *arg)
{
    size_t i = 0;
    while (i < n) {
        uint8_t h = d[i];
        if (h == 0) { /* RFC 8285 §4.2, §4.3: padding byte */
            i++;
            continue;
        }
        uint8_t id, len;
        size_t hl;
        if (!two_byte) {
            id = h >> 4;
            if (id == 0) { /* libwebrtc also skips an id-0 byte with a length as padding */
                i++;
                continue;
            }
            /* RFC 8285 §4.2: on ID 15, stop processing; the elements before it count. */
            if (id == 15)
                return 0;
            len = (uint8_t)((h & 0x0f) + 1);
            hl = 1;
        } else {
            if (i + 2 > n)
                return -EBADMSG;
            id = h;
            len = d[i + 1];
            hl = 2;
        }
        if (i + hl + len > n)
            return -EBADMSG;
        int r = fn(arg, i, id, len);
        if (r)
            return r;
        i += hl + len;
    }
    return 0;
}

static inline bool profile_two_byte(uint16_t profile)
{
    return (profile & 0xFFF0u) == RTC_RTP_EXT_TWO_BYTE; /* RFC 8285 §4.3: low 4 bits appbits */
}

/* Splits an RFC 8285 block into p->ext. The same walk as ext_walk(), written out because it
 * is the per-packet hot path (no indirect call per element). */
static int collect_exts(rtc_rtp_pkt_t *p)
{
    p->ext_cnt = 0;
    p->ext_dropped = 0;
    bool two = profile_two_byte(p->ext_profile);
    if (p->ext_profile != RTC_RTP_EXT_ONE_BYTE && !two)
        return 0; /* some other profile's extension: an opaque block */
    const uint8_t *d = p->buf + p->ext_off;
    size_t n = p->ext_len, i = 0;
    while (i < n) {
        uint8_t h = d[i], id, len;
        size_t hl;
        if (!two) {
            id = h >> 4;
            if (id == 0) { /* padding (§4.2); an id-0 byte with a length too, as libwebrtc */
                i++;
                continue;
            }
            if (id == 15) /* RFC 8285 §4.2: stop; the elements before it count */
                return 0;
            len = (uint8_t)((h & 0x0f) + 1);
            hl = 1;
        } else {
            if (h == 0) { /* padding (§4.3) */
                i++;
                continue;
            }
            if (i + 2 > n)
                return -EBADMSG;
            id = h;
            len = d[i + 1];
            hl = 2;
        }
        if (i + hl + len > n)
            return -EBADMSG;
        if (p->ext_cnt < RTC_RTP_MAX_EXT)
            p->ext[p->ext_cnt++] = (rtc_rtp_ext_elem_t){id, len, (uint16_t)(p->ext_off + i + hl)};
        else if (p->ext_dropped < UINT8_MAX)
            p->ext_dropped++;
        i += hl + len;
    }
    return 0;
}

int rtc_rtp_parse_fixed(const uint8_t *b, size_t len, rtc_rtp_pkt_t *p)
{
    if (len < RTC_RTP_HDR_LEN || len > UINT16_MAX || (b[0] >> 6) != RTC_RTP_VERSION)
        return -EBADMSG;
    p->buf = b;
    p->len = (uint16_t)len;
    p->padding = b[0] & 0x20;
    p->extension = b[0] & 0x10;
    p->csrc_cnt = b[0] & 0x0f;
    p->marker = b[1] & 0x80;
    p->pt = b[1] & 0x7f;
    p->seq = net_rd16be(b + 2);
    p->ts = net_rd32be(b + 4);
    p->ssrc = net_rd32be(b + 8);
    p->hdr_len = RTC_RTP_HDR_LEN;
    p->payload_len = (uint16_t)(len - RTC_RTP_HDR_LEN);
    p->ext_profile = p->ext_off = p->ext_len = 0;
    p->pad_len = 0;
    p->ext_cnt = p->ext_dropped = 0;
    return RTC_RTP_HDR_LEN;
}

int rtc_rtp_parse(const uint8_t *b, size_t len, rtc_rtp_pkt_t *p)
{
    if (rtc_rtp_parse_fixed(b, len, p) < 0)
        return -EBADMSG;
    size_t off = RTC_RTP_HDR_LEN + 4u * p->csrc_cnt;
    if (off > len)
        return -EBADMSG;
    if (p->extension) {
        /* RFC 3550 §5.3.1: 16-bit profile, 16-bit length in 32-bit words, then the data. */
        if (off + 4 > len)
            return -EBADMSG;
        p->ext_profile = net_rd16be(b + off);
        size_t ext_len = 4u * net_rd16be(b + off + 2);
        off += 4;
        if (off + ext_len > len)
            return -EBADMSG;
        p->ext_off = (uint16_t)off;
        p->ext_len = (uint16_t)ext_len;
        off += ext_len;
    }
    size_t pad = 0;
    if (p->padding) {
        /* RFC 3550 §5.1: the last octet counts the padding, itself included. */
        pad = b[len - 1];
        if (pad == 0 || off + pad > len)
            return -EBADMSG;
    }
    p->hdr_len = (uint16_t)off;
    p->pad_len = (uint8_t)pad;
    p->payload_len = (uint16_t)(len - off - pad);
    if (p->extension && collect_exts(p) < 0)
        return -EBADMSG;
    return (int)off;
}

int rtc_rtp_ext_find(const rtc_rtp_pkt_t *p, uint8_t id)
{
    for (unsigned i = 0; i < p->ext_cnt; i++)
        if (p->ext[i].id == id)
            return (int)i;
    return -ENOENT;
}

net_view_t rtc_rtp_ext_get(const rtc_rtp_pkt_t *p, uint8_t id)
{
    for (unsigned i = 0; i < p->ext_cnt; i++)
        if (p->ext[i].id == id)
            return (net_view_t){p->buf + p->ext[i].off, p->ext[i].len};
    return (net_view_t){NULL, 0};
}

int rtc_rtp_hdr_write(uint8_t *buf, size_t cap, const rtc_rtp_hdr_t *h,
                      const rtc_rtp_ext_put_t *ext, size_t ext_cnt)
{
    if (h->pt > 127 || h->csrc_cnt > RTC_RTP_MAX_CSRC || (ext_cnt && !ext))
        return -EINVAL;
    bool two = false;
    size_t body = 0;
    for (size_t i = 0; i < ext_cnt; i++) {
        if (ext[i].id == 0 || (ext[i].len && !ext[i].data))
            return -EINVAL;
        if (ext[i].id > 14 || ext[i].len == 0 || ext[i].len > 16)
            two = true;
    }
    for (size_t i = 0; i < ext_cnt; i++)
        body += (two ? 2u : 1u) + ext[i].len;
    size_t ext_words = (body + 3) / 4;
    if (ext_words > UINT16_MAX)
        return -EINVAL;
    size_t hl = RTC_RTP_HDR_LEN + 4u * h->csrc_cnt + (ext_cnt ? 4 + 4 * ext_words : 0);
    if (hl > cap)
        return -ENOSPC;
    buf[0] = (uint8_t)(RTC_RTP_VERSION << 6 | (ext_cnt ? 0x10 : 0) | h->csrc_cnt);
    buf[1] = (uint8_t)((h->marker ? 0x80 : 0) | h->pt);
    net_wr16be(buf + 2, h->seq);
    net_wr32be(buf + 4, h->ts);
    net_wr32be(buf + 8, h->ssrc);
    uint8_t *w = buf + RTC_RTP_HDR_LEN;
    for (unsigned i = 0; i < h->csrc_cnt; i++, w += 4)
        net_wr32be(w, h->csrc[i]);
    if (!ext_cnt)
        return (int)hl;
    net_wr16be(w, two ? RTC_RTP_EXT_TWO_BYTE : RTC_RTP_EXT_ONE_BYTE);
    net_wr16be(w + 2, (uint16_t)ext_words);
    w += 4;
    uint8_t *end = w + 4 * ext_words;
    for (size_t i = 0; i < ext_cnt; i++) {
        if (two) {
            *w++ = ext[i].id;
            *w++ = ext[i].len;
        } else {
            *w++ = (uint8_t)(ext[i].id << 4 | (ext[i].len - 1));
        }
        if (ext[i].len)
            memcpy(w, ext[i].data, ext[i].len);
        w += ext[i].len;
    }
    memset(w, 0, (size_t)(end - w)); /* RFC 8285 §4.1: pad the block with zero bytes */
    return (int)hl;
}

struct remap_arg {
    uint8_t *d;
    const uint8_t *map;
    bool two, apply;
    int kept;
};

static int remap_elem(void *arg, size_t hdr_off, uint8_t id, uint8_t len)
{
    struct remap_arg *a = arg;
    uint8_t nid = a->map[id];
    if (!a->apply) {
        if (nid && !a->two && nid > 14)
            return -EINVAL;
        return 0;
    }
    if (!nid) {
        memset(a->d + hdr_off, 0, (a->two ? 2u : 1u) + len); /* becomes padding */
        return 0;
    }
    if (a->two)
        a->d[hdr_off] = nid;
    else
        a->d[hdr_off] = (uint8_t)(nid << 4 | (len - 1));
    a->kept++;
    return 0;
}

int rtc_rtp_ext_remap(uint8_t *b, rtc_rtp_pkt_t *p, const uint8_t map[256])
{
    bool two = profile_two_byte(p->ext_profile);
    if (!p->extension || (p->ext_profile != RTC_RTP_EXT_ONE_BYTE && !two))
        return 0;
    struct remap_arg a = {b + p->ext_off, map, two, false, 0};
    int r = ext_walk(a.d, p->ext_len, two, remap_elem, &a); /* check everything first */
    if (r < 0)
        return r;
    a.apply = true;
    r = ext_walk(a.d, p->ext_len, two, remap_elem, &a);
    if (r < 0)
        return r;
    p->buf = b;
    if (collect_exts(p) < 0)
        return -EBADMSG; /* cannot happen: the layout did not change */
    return a.kept;
}

int rtc_rtp_ext_overwrite(uint8_t *b, const rtc_rtp_pkt_t *p, uint8_t id, const void *data,
                          size_t len)
{
    int i = rtc_rtp_ext_find(p, id);
    if (i < 0)
        return -ENOENT;
    if (p->ext[i].len != len)
        return -EMSGSIZE;
    memcpy(b + p->ext[i].off, data, len);
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Registry.
 */
static const char *const ext_uris[RTC_RTP_EXT__CNT] = {
    [RTC_RTP_EXT_NONE] = "",
    [RTC_RTP_EXT_MID] = "urn:ietf:params:rtp-hdrext:sdes:mid",
    [RTC_RTP_EXT_RID] = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
    [RTC_RTP_EXT_REPAIRED_RID] = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id",
    [RTC_RTP_EXT_ABS_SEND_TIME] = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
    [RTC_RTP_EXT_AUDIO_LEVEL] = "urn:ietf:params:rtp-hdrext:ssrc-audio-level",
    [RTC_RTP_EXT_PLAYOUT_DELAY] = "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay",
    [RTC_RTP_EXT_TWCC] =
        "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
    [RTC_RTP_EXT_TOFFSET] = "urn:ietf:params:rtp-hdrext:toffset",
    [RTC_RTP_EXT_VIDEO_ORIENTATION] = "urn:3gpp:video-orientation",
};

const char *rtc_rtp_ext_uri(rtc_rtp_ext_kind_t kind)
{
    return (unsigned)kind < RTC_RTP_EXT__CNT ? ext_uris[kind] : "";
}

rtc_rtp_ext_kind_t rtc_rtp_ext_kind_from_uri(const char *uri, size_t len)
{
    for (unsigned k = 1; k < RTC_RTP_EXT__CNT; k++)
        if (strlen(ext_uris[k]) == len && memcmp(ext_uris[k], uri, len) == 0)
            return (rtc_rtp_ext_kind_t)k;
    return RTC_RTP_EXT_NONE;
}

void rtc_rtp_extmap_init(rtc_rtp_extmap_t *m)
{
    memset(m, 0, sizeof *m);
}

int rtc_rtp_extmap_set(rtc_rtp_extmap_t *m, uint8_t id, const char *uri, size_t len)
{
    if (id == 0 || id == 15)
        return -EINVAL;
    rtc_rtp_ext_kind_t k = rtc_rtp_ext_kind_from_uri(uri, len);
    if (k == RTC_RTP_EXT_NONE)
        return RTC_RTP_EXT_NONE;
    if ((m->kind_of[id] && m->kind_of[id] != k) || (m->id_of[k] && m->id_of[k] != id))
        return -EEXIST;
    m->kind_of[id] = (uint8_t)k;
    m->id_of[k] = id;
    return (int)k;
}

int rtc_rtp_extmap_translate(const rtc_rtp_extmap_t *from, const rtc_rtp_extmap_t *to,
                             uint8_t map[256])
{
    memset(map, 0, 256);
    int n = 0;
    for (unsigned k = 1; k < RTC_RTP_EXT__CNT; k++) {
        if (from->id_of[k] && to->id_of[k]) {
            map[from->id_of[k]] = to->id_of[k];
            n++;
        }
    }
    return n;
}

int rtc_rtp_ext_abs_send_time(net_view_t v, uint32_t *t)
{
    if (v.len != 3)
        return -EBADMSG;
    *t = net_rd24be(v.p);
    return 0;
}

int rtc_rtp_ext_audio_level(net_view_t v, bool *voice, uint8_t *level)
{
    /* RFC 6464 §3: |V| level (7 bits, -dBov)|; one byte (longer forms are padding). */
    if (v.len < 1)
        return -EBADMSG;
    *voice = v.p[0] & 0x80;
    *level = v.p[0] & 0x7f;
    return 0;
}

int rtc_rtp_ext_playout_delay(net_view_t v, uint16_t *min, uint16_t *max)
{
    if (v.len != 3)
        return -EBADMSG;
    uint32_t x = net_rd24be(v.p);
    *min = (uint16_t)(x >> 12);
    *max = (uint16_t)(x & 0xfff);
    return 0;
}

int rtc_rtp_ext_twcc_seq(net_view_t v, uint16_t *seq)
{
    if (v.len != 2)
        return -EBADMSG;
    *seq = net_rd16be(v.p);
    return 0;
}

void rtc_rtp_ext_put_abs_send_time(uint8_t out[3], uint32_t t)
{
    net_wr24be(out, t & 0xFFFFFF);
}

void rtc_rtp_ext_put_audio_level(uint8_t out[1], bool voice, uint8_t level)
{
    out[0] = (uint8_t)((voice ? 0x80 : 0) | (level > 127 ? 127 : level));
}

void rtc_rtp_ext_put_playout_delay(uint8_t out[3], uint16_t min, uint16_t max)
{
    net_wr24be(out, (uint32_t)(min & 0xfff) << 12 | (max & 0xfff));
}

void rtc_rtp_ext_put_twcc_seq(uint8_t out[2], uint16_t seq)
{
    net_wr16be(out, seq);
}

/* ---------------------------------------------------------------------------------------------
 * Unwrapping.
 */
int64_t rtc_rtp_seq_unwrap(rtc_rtp_unwrap_t *u, uint16_t seq)
{
    if (!u->init) {
        u->init = true;
        u->last = seq;
        return u->last;
    }
    int64_t d = (int64_t)((seq - (uint64_t)u->last) & 0xFFFF);
    if (d >= 0x8000)
        d -= 0x10000;
    u->last += d;
    return u->last;
}

int64_t rtc_rtp_ts_unwrap(rtc_rtp_unwrap_t *u, uint32_t ts)
{
    if (!u->init) {
        u->init = true;
        u->last = ts;
        return u->last;
    }
    int64_t d = (int64_t)((ts - (uint64_t)u->last) & 0xFFFFFFFFu);
    if (d >= 0x80000000LL)
        d -= 0x100000000LL;
    u->last += d;
    return u->last;
}

/* ---------------------------------------------------------------------------------------------
 * SSRCs.
 */
void rtc_rtp_ssrcs_init(rtc_rtp_ssrcs_t *s)
{
    memset(s, 0, sizeof *s);
}

bool rtc_rtp_ssrcs_is_local(const rtc_rtp_ssrcs_t *s, uint32_t ssrc)
{
    for (unsigned i = 0; i < s->local_cnt; i++)
        if (s->local[i] == ssrc)
            return true;
    return false;
}

static int remote_idx(const rtc_rtp_ssrcs_t *s, uint32_t ssrc)
{
    for (unsigned i = 0; i < s->remote_cnt; i++)
        if (s->remote[i].ssrc == ssrc)
            return (int)i;
    return -1;
}

static bool ssrc_in_use(const rtc_rtp_ssrcs_t *s, uint32_t ssrc)
{
    return ssrc == 0 || rtc_rtp_ssrcs_is_local(s, ssrc) || remote_idx(s, ssrc) >= 0;
}

static int pick_fresh(const rtc_rtp_ssrcs_t *s, uint32_t *out)
{
    /* RFC 3550 §8.1: random; the tables are small, so a handful of draws always suffices. */
    for (int tries = 0; tries < 16; tries++) {
        uint32_t v;
        if (rtc_random(&v, sizeof v) < 0)
            return -EIO;
        if (!ssrc_in_use(s, v)) {
            *out = v;
            return 0;
        }
    }
    return -EIO;
}

int rtc_rtp_ssrcs_add_local(rtc_rtp_ssrcs_t *s, uint32_t ssrc)
{
    if (ssrc_in_use(s, ssrc))
        return -EEXIST;
    if (s->local_cnt == RTC_RTP_SSRC_MAX)
        return -ENOSPC;
    s->local[s->local_cnt++] = ssrc;
    return 0;
}

int rtc_rtp_ssrcs_new_local(rtc_rtp_ssrcs_t *s, uint32_t *ssrc)
{
    if (s->local_cnt == RTC_RTP_SSRC_MAX)
        return -ENOSPC;
    int r = pick_fresh(s, ssrc);
    if (r < 0)
        return r;
    s->local[s->local_cnt++] = *ssrc;
    return 0;
}

void rtc_rtp_ssrcs_del_local(rtc_rtp_ssrcs_t *s, uint32_t ssrc)
{
    for (unsigned i = 0; i < s->local_cnt; i++) {
        if (s->local[i] == ssrc) {
            s->local[i] = s->local[--s->local_cnt];
            return;
        }
    }
}

int rtc_rtp_ssrcs_on_remote(rtc_rtp_ssrcs_t *s, uint32_t ssrc, uint32_t origin)
{
    if (rtc_rtp_ssrcs_is_local(s, ssrc)) {
        s->collisions++;
        return RTC_RTP_SSRC_COLLISION; /* RFC 3550 §8.2 */
    }
    int i = remote_idx(s, ssrc);
    if (i >= 0) {
        if (s->remote[i].origin == origin)
            return 0;
        s->collisions++;
        return RTC_RTP_SSRC_CONFLICT;
    }
    if (s->remote_cnt == RTC_RTP_SSRC_MAX)
        return -ENOSPC;
    s->remote[s->remote_cnt].ssrc = ssrc;
    s->remote[s->remote_cnt].origin = origin;
    s->remote_cnt++;
    return 0;
}

int rtc_rtp_ssrcs_replace(rtc_rtp_ssrcs_t *s, uint32_t old, uint32_t *fresh)
{
    for (unsigned i = 0; i < s->local_cnt; i++) {
        if (s->local[i] == old) {
            int r = pick_fresh(s, fresh);
            if (r < 0)
                return r;
            s->local[i] = *fresh;
            return 0;
        }
    }
    return -ENOENT;
}

/* ---------------------------------------------------------------------------------------------
 * Payload types.
 */
static const char *const codec_names[] = {
    [RTC_RTP_CODEC_NONE] = "",
    [RTC_RTP_CODEC_OPUS] = "opus",
    [RTC_RTP_CODEC_PCMU] = "PCMU",
    [RTC_RTP_CODEC_PCMA] = "PCMA",
    [RTC_RTP_CODEC_G722] = "G722",
    [RTC_RTP_CODEC_CN] = "CN",
    [RTC_RTP_CODEC_TELEPHONE_EVENT] = "telephone-event",
    [RTC_RTP_CODEC_VP8] = "VP8",
    [RTC_RTP_CODEC_VP9] = "VP9",
    [RTC_RTP_CODEC_H264] = "H264",
    [RTC_RTP_CODEC_AV1] = "AV1",
    [RTC_RTP_CODEC_RTX] = "rtx",
    [RTC_RTP_CODEC_RED] = "red",
    [RTC_RTP_CODEC_ULPFEC] = "ulpfec",
    [RTC_RTP_CODEC_FLEXFEC] = "flexfec-03",
    [RTC_RTP_CODEC_OTHER] = "other",
};

rtc_rtp_codec_t rtc_rtp_codec_from_name(const char *name, size_t len)
{
    for (unsigned c = RTC_RTP_CODEC_OPUS; c < RTC_RTP_CODEC_OTHER; c++)
        if (strlen(codec_names[c]) == len && strncasecmp(codec_names[c], name, len) == 0)
            return (rtc_rtp_codec_t)c;
    return RTC_RTP_CODEC_OTHER;
}

const char *rtc_rtp_codec_name(rtc_rtp_codec_t c)
{
    return (unsigned)c < NET_ARRAY_LEN(codec_names) ? codec_names[c] : "";
}

void rtc_rtp_ptmap_init(rtc_rtp_ptmap_t *m)
{
    memset(m, 0, sizeof *m);
}

int rtc_rtp_ptmap_set(rtc_rtp_ptmap_t *m, uint8_t pt, rtc_rtp_codec_t codec, uint32_t clock_hz,
                      uint8_t channels)
{
    /* RFC 5761 §4: with rtcp-mux, PTs 64-95 would collide with RTCP packet types. */
    if (pt > 127 || (pt >= 64 && pt <= 95) || codec == RTC_RTP_CODEC_NONE ||
        codec > RTC_RTP_CODEC_OTHER || clock_hz == 0)
        return -EINVAL;
    m->pt[pt] = (rtc_rtp_pt_info_t){(uint8_t)codec, channels ? channels : 1, 0, 0, clock_hz};
    return 0;
}

int rtc_rtp_ptmap_set_apt(rtc_rtp_ptmap_t *m, uint8_t pt, uint8_t apt)
{
    if (pt > 127 || apt > 127 || m->pt[pt].codec != RTC_RTP_CODEC_RTX ||
        m->pt[apt].codec == RTC_RTP_CODEC_NONE || m->pt[apt].codec == RTC_RTP_CODEC_RTX)
        return -EINVAL;
    m->pt[pt].apt = apt;
    return 0;
}

int rtc_rtp_ptmap_rtx_for(const rtc_rtp_ptmap_t *m, uint8_t pt)
{
    for (unsigned i = 0; i < 128; i++)
        if (m->pt[i].codec == RTC_RTP_CODEC_RTX && m->pt[i].apt == pt && pt != 0)
            return (int)i;
    return -ENOENT;
}
