/* rtc/rtp/rtp.h: RTP packets (RFC 3550 §5.1) and header extensions (RFC 8285).
 *
 * Sans-IO and allocation-free on the packet path: the parser fills an rtc_rtp_pkt_t that
 * holds offsets into the caller's packet bytes (views, no copy); the writers rewrite fields
 * in place, which is what an SFU does per subscriber (SSRC, sequence number, timestamp,
 * payload type, extension ids). Payloads and SRTP are not handled here: every function works
 * on plaintext RTP bytes (SRTP unprotect runs before parsing, protect after rewriting).
 *
 * Threading: every object belongs to one shard; nothing here locks.
 */
#ifndef URTC_RTC_RTP_RTP_H
#define URTC_RTC_RTP_RTP_H

#include "net/net.h"
#include "rtc/rtcp/rtcp.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RTC_RTP_VERSION 2
#define RTC_RTP_HDR_LEN 12  /* fixed header, RFC 3550 §5.1 */
#define RTC_RTP_MAX_CSRC 15 /* CC is 4 bits */
#define RTC_RTP_MAX_EXT 16  /* extension elements kept per packet; more are counted, ignored */
#define RTC_RTP_EXT_ONE_BYTE 0xBEDEu /* RFC 8285 §4.2 */
#define RTC_RTP_EXT_TWO_BYTE 0x1000u /* RFC 8285 §4.3: 0x100 + 4 "appbits" */

/* One header-extension element: its local id and where its data lies in the packet. */
typedef struct rtc_rtp_ext_elem {
    uint8_t id;   /* 1..14 (one-byte form) or 1..255 (two-byte form) */
    uint8_t len;  /* data bytes: 1..16 one-byte, 0..255 two-byte */
    uint16_t off; /* offset of the data from the start of the packet */
} rtc_rtp_ext_elem_t;

/* A parsed RTP packet: plain fields plus offsets into the packet it was parsed from, which
 * must outlive it (views). */
typedef struct rtc_rtp_pkt {
    const uint8_t *buf; /* the packet parsed (borrowed) */
    uint16_t len;       /* bytes of the packet, padding included */
    bool padding, extension, marker;
    uint8_t csrc_cnt;
    uint8_t pt;
    uint16_t seq;
    uint32_t ts;
    uint32_t ssrc;
    uint16_t ext_profile; /* "defined by profile" of the extension header; 0 if none */
    uint16_t ext_off;     /* offset of the extension data (after its 4-byte header) */
    uint16_t ext_len;     /* bytes of extension data (length field * 4) */
    uint16_t hdr_len;     /* offset of the payload: 12 + 4*CC + extension */
    uint16_t payload_len; /* without padding */
    uint8_t pad_len;      /* padding bytes at the end, count byte included */
    uint8_t ext_cnt;      /* elements in ext[] */
    uint8_t ext_dropped;  /* well-formed elements beyond RTC_RTP_MAX_EXT, ignored */
    rtc_rtp_ext_elem_t ext[RTC_RTP_MAX_EXT];
} rtc_rtp_pkt_t;

/* Parses @len bytes of RTP at @b into @p (RFC 3550 §5.1; extensions RFC 8285 §4). Elements of
 * a one-byte or two-byte extension block are split out into p->ext; any other profile is
 * kept as one opaque block (ext_off/ext_len) with no elements. Padding is checked (§5.1: the
 * last octet counts the padding octets, itself included).
 * Returns the payload offset (p->hdr_len), or -EBADMSG for anything malformed: version not
 * 2, truncated header, CSRC list or extension, padding count 0 or beyond the packet, an RFC
 * 8285 element that runs past the block. */
WARN_UNUSED int rtc_rtp_parse(const uint8_t *b, size_t len, rtc_rtp_pkt_t *p);

/* Fast path for the parse step alone: fixed header only, for statistics that need nothing
 * else. -EBADMSG if shorter than 12 bytes or not version 2. */
WARN_UNUSED int rtc_rtp_parse_fixed(const uint8_t *b, size_t len, rtc_rtp_pkt_t *p);

static inline net_view_t rtc_rtp_payload(const rtc_rtp_pkt_t *p)
{
    return (net_view_t){p->buf + p->hdr_len, p->payload_len};
}
static inline uint32_t rtc_rtp_csrc(const rtc_rtp_pkt_t *p, unsigned i)
{
    return net_rd32be(p->buf + RTC_RTP_HDR_LEN + 4 * i);
}

/* The element with local id @id: its index in p->ext, or -ENOENT. */
int rtc_rtp_ext_find(const rtc_rtp_pkt_t *p, uint8_t id);
/* The data of element @id as a view into the packet; {NULL, 0} when absent. */
net_view_t rtc_rtp_ext_get(const rtc_rtp_pkt_t *p, uint8_t id);

/* ---------------------------------------------------------------------------------------------
 * Writing headers.
 */

/* Fields of a header to write. */
typedef struct rtc_rtp_hdr {
    bool marker;
    uint8_t pt;
    uint16_t seq;
    uint32_t ts;
    uint32_t ssrc;
    uint8_t csrc_cnt;
    uint32_t csrc[RTC_RTP_MAX_CSRC];
} rtc_rtp_hdr_t;

/* An extension element to write. */
typedef struct rtc_rtp_ext_put {
    uint8_t id;
    uint8_t len;
    const uint8_t *data;
} rtc_rtp_ext_put_t;

/* Writes a header with @ext_cnt extension elements into @buf (capacity @cap). The one-byte
 * form is used when every id is 1..14 and every length 1..16, else the two-byte form (which
 * the peer must have allowed with a=extmap-allow-mixed, RFC 8285 §6; the caller checks that).
 * The block is padded with zero bytes to a multiple of 4. Returns the header length (the
 * payload goes there), -EINVAL for a bad id/length/pt/CSRC count, or -ENOSPC. */
WARN_UNUSED int rtc_rtp_hdr_write(uint8_t *buf, size_t cap, const rtc_rtp_hdr_t *h,
                                  const rtc_rtp_ext_put_t *ext, size_t ext_cnt);

/* In-place rewrites of a packet already validated by rtc_rtp_parse (so at least 12 bytes). */
static inline void rtc_rtp_set_ssrc(uint8_t *b, uint32_t ssrc)
{
    net_wr32be(b + 8, ssrc);
}
static inline void rtc_rtp_set_seq(uint8_t *b, uint16_t seq)
{
    net_wr16be(b + 2, seq);
}
static inline void rtc_rtp_set_ts(uint8_t *b, uint32_t ts)
{
    net_wr32be(b + 4, ts);
}
static inline void rtc_rtp_set_pt(uint8_t *b, uint8_t pt)
{
    b[1] = (uint8_t)((b[1] & 0x80) | (pt & 0x7f));
}
static inline void rtc_rtp_set_marker(uint8_t *b, bool m)
{
    b[1] = (uint8_t)((b[1] & 0x7f) | (m ? 0x80 : 0));
}

/* Rewrites the extension ids of packet @b (parsed into @p, which is updated) through @map:
 * element with id i gets id map[i]; map[i] == 0 removes it by turning its bytes into padding
 * (RFC 8285 §4.2/§4.3: zero bytes are padding), so the packet length never changes. For the
 * one-byte form a new id must be 1..14. Returns the number of elements kept, or -EINVAL if a
 * new id does not fit the packet's form (the packet is then left unchanged). */
WARN_UNUSED int rtc_rtp_ext_remap(uint8_t *b, rtc_rtp_pkt_t *p, const uint8_t map[256]);

/* Overwrites the data of element @id in place with @len bytes of @data. -ENOENT if absent,
 * -EMSGSIZE if its length differs. */
WARN_UNUSED int rtc_rtp_ext_overwrite(uint8_t *b, const rtc_rtp_pkt_t *p, uint8_t id,
                                      const void *data, size_t len);

/* ---------------------------------------------------------------------------------------------
 * Header-extension registry: negotiated local id (a=extmap, RFC 8285 §5) <-> meaning.
 */
typedef enum rtc_rtp_ext_kind {
    RTC_RTP_EXT_NONE = 0,
    RTC_RTP_EXT_MID,               /* urn:ietf:params:rtp-hdrext:sdes:mid (RFC 9143 §15) */
    RTC_RTP_EXT_RID,               /* urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id (RFC 8852) */
    RTC_RTP_EXT_REPAIRED_RID,      /* ...:sdes:repaired-rtp-stream-id (RFC 8852) */
    RTC_RTP_EXT_ABS_SEND_TIME,     /* webrtc abs-send-time: 24-bit 6.18 fixed-point seconds */
    RTC_RTP_EXT_AUDIO_LEVEL,       /* urn:ietf:params:rtp-hdrext:ssrc-audio-level (RFC 6464) */
    RTC_RTP_EXT_PLAYOUT_DELAY,     /* webrtc playout-delay: 12-bit min, 12-bit max, 10 ms units */
    RTC_RTP_EXT_TWCC,              /* draft-holmer-rmcat-transport-wide-cc-extensions-01 */
    RTC_RTP_EXT_TOFFSET,           /* urn:ietf:params:rtp-hdrext:toffset (RFC 5450) */
    RTC_RTP_EXT_VIDEO_ORIENTATION, /* urn:3gpp:video-orientation */
    RTC_RTP_EXT__CNT
} rtc_rtp_ext_kind_t;

/* The URI of @kind ("" for NONE). */
const char *rtc_rtp_ext_uri(rtc_rtp_ext_kind_t kind);
/* The kind named by URI @uri (@len bytes, not NUL-terminated); RTC_RTP_EXT_NONE if unknown. */
rtc_rtp_ext_kind_t rtc_rtp_ext_kind_from_uri(const char *uri, size_t len);

typedef struct rtc_rtp_extmap {
    uint8_t id_of[RTC_RTP_EXT__CNT]; /* 0: not negotiated */
    uint8_t kind_of[256];            /* rtc_rtp_ext_kind_t by id */
} rtc_rtp_extmap_t;

void rtc_rtp_extmap_init(rtc_rtp_extmap_t *m);
/* Registers id @id (1..255, RFC 8285 §5: 1-14 one-byte, 1-255 two-byte) for URI @uri.
 * Returns the kind (RTC_RTP_EXT_NONE for a URI we do not interpret, which is not an error),
 * -EINVAL for id 0 or 15 (RFC 8285 §4.2: 15 is reserved in the one-byte form and we keep the
 * two forms' id spaces one), -EEXIST if @id or the kind is already mapped differently. */
WARN_UNUSED int rtc_rtp_extmap_set(rtc_rtp_extmap_t *m, uint8_t id, const char *uri, size_t len);
static inline uint8_t rtc_rtp_extmap_id(const rtc_rtp_extmap_t *m, rtc_rtp_ext_kind_t k)
{
    return m->id_of[k];
}
/* The data of extension @k in @p, or {NULL, 0}. */
static inline net_view_t rtc_rtp_ext_get_kind(const rtc_rtp_pkt_t *p, const rtc_rtp_extmap_t *m,
                                              rtc_rtp_ext_kind_t k)
{
    return m->id_of[k] ? rtc_rtp_ext_get(p, m->id_of[k]) : (net_view_t){NULL, 0};
}
/* Builds the id map for rtc_rtp_ext_remap() from a publisher's registry @from to a
 * subscriber's @to: kinds both negotiated are renumbered, the rest removed. Returns the
 * number of kinds kept. */
int rtc_rtp_extmap_translate(const rtc_rtp_extmap_t *from, const rtc_rtp_extmap_t *to,
                             uint8_t map[256]);

/* Value codecs for the extensions above. Decoders: 0 or -EBADMSG on a bad length. */
WARN_UNUSED int rtc_rtp_ext_abs_send_time(net_view_t v, uint32_t *t_6_18);
WARN_UNUSED int rtc_rtp_ext_audio_level(net_view_t v, bool *voice, uint8_t *level_dbov);
WARN_UNUSED int rtc_rtp_ext_playout_delay(net_view_t v, uint16_t *min_10ms, uint16_t *max_10ms);
WARN_UNUSED int rtc_rtp_ext_twcc_seq(net_view_t v, uint16_t *seq);
/* RFC 8852 §3: mid/rid are 1..16 (one-byte) characters; the view is the string itself. */
static inline bool rtc_rtp_ext_is_token(net_view_t v)
{
    return v.len > 0;
}
/* abs-send-time from a time in ns: 6.18 fixed point seconds, modulo 64 s. */
static inline uint32_t rtc_rtp_abs_send_time(uint64_t t_ns)
{
    return (uint32_t)((((t_ns % (64 * NET_NS_PER_SEC)) << 18) / NET_NS_PER_SEC) & 0xFFFFFF);
}
void rtc_rtp_ext_put_abs_send_time(uint8_t out[3], uint32_t t_6_18);
void rtc_rtp_ext_put_audio_level(uint8_t out[1], bool voice, uint8_t level_dbov);
void rtc_rtp_ext_put_playout_delay(uint8_t out[3], uint16_t min_10ms, uint16_t max_10ms);
void rtc_rtp_ext_put_twcc_seq(uint8_t out[2], uint16_t seq);

/* ---------------------------------------------------------------------------------------------
 * Unwrapping sequence numbers (16 bit) and timestamps (32 bit) to 64 bits. Each value is
 * placed nearest the previous one (a step of less than half the range, either way); the
 * first value is taken as is, and values before it may go negative.
 */
typedef struct rtc_rtp_unwrap {
    int64_t last;
    bool init;
} rtc_rtp_unwrap_t;

static inline void rtc_rtp_unwrap_init(rtc_rtp_unwrap_t *u)
{
    u->last = 0;
    u->init = false;
}
int64_t rtc_rtp_seq_unwrap(rtc_rtp_unwrap_t *u, uint16_t seq);
int64_t rtc_rtp_ts_unwrap(rtc_rtp_unwrap_t *u, uint32_t ts);

/* ---------------------------------------------------------------------------------------------
 * SSRC management (RFC 3550 §8): our own SSRCs are random and unique in the session; a
 * remote source using one of them is a collision, after which we MUST send BYE for the old
 * SSRC and pick a new one (§8.2). A remote SSRC seen from two different origins (e.g. two
 * mids or two transports, whatever the caller passes) is a third-party collision, reported.
 */
#define RTC_RTP_SSRC_MAX 32

typedef struct rtc_rtp_ssrcs {
    uint32_t local[RTC_RTP_SSRC_MAX];
    uint8_t local_cnt;
    uint8_t remote_cnt;
    struct {
        uint32_t ssrc;
        uint32_t origin;
    } remote[RTC_RTP_SSRC_MAX];
    uint32_t collisions; /* counter */
} rtc_rtp_ssrcs_t;

void rtc_rtp_ssrcs_init(rtc_rtp_ssrcs_t *s);
/* Picks a fresh random SSRC not in use (local or remote, and never 0), records it and stores
 * it in *ssrc. 0, -ENOSPC when the table is full, -EIO if randomness failed. */
WARN_UNUSED int rtc_rtp_ssrcs_new_local(rtc_rtp_ssrcs_t *s, uint32_t *ssrc);
/* Records @ssrc as ours (e.g. configured). -EEXIST if in use, -ENOSPC when full. */
WARN_UNUSED int rtc_rtp_ssrcs_add_local(rtc_rtp_ssrcs_t *s, uint32_t ssrc);
void rtc_rtp_ssrcs_del_local(rtc_rtp_ssrcs_t *s, uint32_t ssrc);
/* Notes a remote packet from @ssrc with @origin. 0: fine (known or newly learnt);
 * RTC_RTP_SSRC_COLLISION: it is one of ours (send BYE for it, then rtc_rtp_ssrcs_replace());
 * RTC_RTP_SSRC_CONFLICT: a remote SSRC seen from another origin (the packet should be
 * dropped); -ENOSPC: table full (not learnt). */
#define RTC_RTP_SSRC_COLLISION 1
#define RTC_RTP_SSRC_CONFLICT 2
WARN_UNUSED int rtc_rtp_ssrcs_on_remote(rtc_rtp_ssrcs_t *s, uint32_t ssrc, uint32_t origin);
/* Replaces our @old with a fresh random SSRC (stored in *fresh). 0, -ENOENT, -EIO. */
WARN_UNUSED int rtc_rtp_ssrcs_replace(rtc_rtp_ssrcs_t *s, uint32_t old, uint32_t *fresh);
bool rtc_rtp_ssrcs_is_local(const rtc_rtp_ssrcs_t *s, uint32_t ssrc);

/* ---------------------------------------------------------------------------------------------
 * Payload type -> codec (from a=rtpmap / a=fmtp apt=, RFC 8866 §6.6, RFC 4588 §8.6).
 */
typedef enum rtc_rtp_codec {
    RTC_RTP_CODEC_NONE = 0,
    RTC_RTP_CODEC_OPUS,
    RTC_RTP_CODEC_PCMU,
    RTC_RTP_CODEC_PCMA,
    RTC_RTP_CODEC_G722,
    RTC_RTP_CODEC_CN,
    RTC_RTP_CODEC_TELEPHONE_EVENT,
    RTC_RTP_CODEC_VP8,
    RTC_RTP_CODEC_VP9,
    RTC_RTP_CODEC_H264,
    RTC_RTP_CODEC_AV1,
    RTC_RTP_CODEC_RTX,
    RTC_RTP_CODEC_RED,
    RTC_RTP_CODEC_ULPFEC,
    RTC_RTP_CODEC_FLEXFEC,
    RTC_RTP_CODEC_OTHER, /* a name we do not know: still mapped, so it is not "unknown PT" */
} rtc_rtp_codec_t;

typedef struct rtc_rtp_pt_info {
    uint8_t codec;    /* rtc_rtp_codec_t; NONE: the payload type is not negotiated */
    uint8_t channels; /* audio; 1 if unspecified */
    uint8_t apt;      /* RTX: the associated payload type; else 0 */
    uint8_t _pad;
    uint32_t clock_hz;
} rtc_rtp_pt_info_t;

typedef struct rtc_rtp_ptmap {
    rtc_rtp_pt_info_t pt[128];
} rtc_rtp_ptmap_t;

void rtc_rtp_ptmap_init(rtc_rtp_ptmap_t *m);
/* The codec of an rtpmap encoding name (case-insensitive, RFC 8866 §6.6), or OTHER. */
rtc_rtp_codec_t rtc_rtp_codec_from_name(const char *name, size_t len);
const char *rtc_rtp_codec_name(rtc_rtp_codec_t c);
/* Maps @pt (0..127; RFC 5761 §4: 64..95 collide with RTCP and are refused) to a codec.
 * 0, -EINVAL. */
WARN_UNUSED int rtc_rtp_ptmap_set(rtc_rtp_ptmap_t *m, uint8_t pt, rtc_rtp_codec_t codec,
                                  uint32_t clock_hz, uint8_t channels);
/* a=fmtp:<pt> apt=<apt> for an RTX payload type. 0, -EINVAL (pt not RTX or apt unmapped). */
WARN_UNUSED int rtc_rtp_ptmap_set_apt(rtc_rtp_ptmap_t *m, uint8_t pt, uint8_t apt);
static inline const rtc_rtp_pt_info_t *rtc_rtp_ptmap_get(const rtc_rtp_ptmap_t *m, uint8_t pt)
{
    return pt < 128 && m->pt[pt].codec != RTC_RTP_CODEC_NONE ? &m->pt[pt] : NULL;
}
/* The RTX payload type whose apt is @pt, or -ENOENT. */
int rtc_rtp_ptmap_rtx_for(const rtc_rtp_ptmap_t *m, uint8_t pt);

/* ---------------------------------------------------------------------------------------------
 * Receiver statistics for one remote source (RFC 3550 A.1 sequence validation, A.3 loss,
 * A.8 interarrival jitter) and the report block about it.
 */
typedef struct rtc_rtp_rx_stats {
    uint32_t ssrc;
    uint32_t clock_hz;
    uint8_t min_sequential; /* A.1 probation; 0 accepts the first packet at once */
    bool init;
    uint16_t max_seq;
    uint32_t cycles; /* shifted count of seq number cycles (A.1) */
    uint32_t base_seq;
    uint32_t bad_seq;
    uint32_t probation;
    uint32_t received;
    uint32_t expected_prior;
    uint32_t received_prior;
    uint32_t transit;
    bool have_transit;
    uint32_t jitter_q4; /* A.8: jitter * 16 */
    uint32_t lsr;       /* middle of the last SR's NTP time, 0 if none */
    uint64_t lsr_rx_ns; /* when that SR arrived */
    uint64_t restarts;  /* A.1: sequence restarts (a source that jumped and stayed) */
} rtc_rtp_rx_stats_t;

/* @min_sequential: RFC 3550 A.1 suggests 2; with SRTP every packet is authenticated, so 0
 * (valid from the first packet) is what WebRTC stacks use. */
void rtc_rtp_rx_stats_init(rtc_rtp_rx_stats_t *s, uint32_t ssrc, uint32_t clock_hz,
                           uint8_t min_sequential);
/* One packet from the source (an RTX-recovered packet too: it counts as received, so the
 * reported loss is the loss after repair). Returns 1 if the packet is valid for the stream,
 * 0 if A.1 holds it back (probation, or a large jump waiting for confirmation). Jitter is
 * updated only by packets that advance the sequence (a retransmission's transit time says
 * nothing about the network's jitter). */
int rtc_rtp_rx_stats_update(rtc_rtp_rx_stats_t *s, uint16_t seq, uint32_t rtp_ts, uint64_t now_ns);
/* An SR from the source arrived at @now_ns (for LSR/DLSR). */
void rtc_rtp_rx_stats_on_sr(rtc_rtp_rx_stats_t *s, uint64_t ntp, uint64_t now_ns);
/* Fills @rb for an RR/SR we send at @now_ns and starts the next interval (A.3). */
void rtc_rtp_rx_stats_report(rtc_rtp_rx_stats_t *s, uint64_t now_ns, rtc_rtcp_rb_t *rb);
/* Extended highest sequence number received (A.1: cycles + max_seq). */
static inline uint32_t rtc_rtp_rx_stats_ext_max(const rtc_rtp_rx_stats_t *s)
{
    return s->cycles + s->max_seq;
}

/* Sender side of one SSRC: counts for the SR and the RTP/NTP timestamp pair. */
typedef struct rtc_rtp_tx_stats {
    uint32_t ssrc;
    uint32_t clock_hz;
    uint32_t pkt_cnt;
    uint32_t octet_cnt; /* payload octets (RFC 3550 §6.4.1), mod 2^32 */
    uint32_t last_ts;
    uint64_t last_ts_ns; /* the engine time that last_ts stands for */
    bool have_ts;
} rtc_rtp_tx_stats_t;

void rtc_rtp_tx_stats_init(rtc_rtp_tx_stats_t *t, uint32_t ssrc, uint32_t clock_hz);
/* A packet went out: @rtp_ts is the media time captured at engine time @ts_ns. */
void rtc_rtp_tx_stats_on_send(rtc_rtp_tx_stats_t *t, uint32_t rtp_ts, uint64_t ts_ns,
                              size_t payload_len);
/* Appends the regular report of one local source to @w, as a compound starts (RFC 3550
 * §6.1: an SR or RR first, and an SDES CNAME in every compound): an SR from @tx when @tx is
 * not NULL and has sent a packet, else an RR from @ssrc; either with the @rb_cnt report blocks
 * @rb (at most RTC_RTCP_MAX_RB); then SDES with @cname for that SSRC. @ntp and @now_ns as for
 * rtc_rtp_tx_stats_sr(). Errors stay in @w (rtc_rtcp_wr_finish). */
void rtc_rtp_wr_report(rtc_rtcp_wr_t *w, const rtc_rtp_tx_stats_t *tx, uint32_t ssrc,
                       const rtc_rtcp_rb_t *rb, size_t rb_cnt, const char *cname, uint64_t ntp,
                       uint64_t now_ns);
/* Fills the sender part of an SR at engine time @now_ns, wall clock @ntp (NTP format,
 * from rtc_rtcp_ntp_from_unix_ns(net_realtime_ns())): RFC 3550 §6.4.1, the RTP timestamp
 * is the one that corresponds to the same instant as the NTP timestamp, extrapolated from
 * the last packet with the clock rate. rb_cnt is set to 0; the caller adds blocks. */
void rtc_rtp_tx_stats_sr(const rtc_rtp_tx_stats_t *t, uint64_t ntp, uint64_t now_ns,
                         rtc_rtcp_sr_t *sr);

/* ---------------------------------------------------------------------------------------------
 * Packet history and RTX (RFC 4588). The history keeps a plaintext copy of each sent packet
 * (SRTP protects in place afterwards, so a copy is the price of answering NACKs) in a fixed
 * ring allocated once at init; a slot is found by sequence number, and newer packets overwrite
 * older ones.
 */
typedef struct rtc_rtp_hist_slot {
    int64_t seq; /* unwrapped; -1 when empty */
    uint16_t len;
    uint8_t resends;
    uint64_t sent_ns;
    uint64_t resent_ns;
} rtc_rtp_hist_slot_t;

typedef struct rtc_rtp_history {
    uint8_t *mem;
    rtc_rtp_hist_slot_t *slots;
    uint32_t cap; /* power of two */
    uint32_t slot_len;
    rtc_rtp_unwrap_t unwrap;
    int64_t hi;
    uint64_t stored, missing, throttled, resent; /* counters */
} rtc_rtp_history_t;

/* @cap packets (rounded up to a power of two) of up to @slot_len bytes. Allocates once.
 * 0, -EINVAL, -ENOMEM. */
WARN_UNUSED int rtc_rtp_history_init(rtc_rtp_history_t *h, uint32_t cap, uint32_t slot_len);
/* Accepts a zeroed or finished history. */
void rtc_rtp_history_fini(rtc_rtp_history_t *h);
/* Stores a copy of plaintext RTP packet @b (already built, so valid). 0, -EBADMSG (not RTP),
 * -EMSGSIZE (longer than a slot). */
WARN_UNUSED int rtc_rtp_history_put(rtc_rtp_history_t *h, const uint8_t *b, size_t len,
                                    uint64_t now_ns);
/* The stored packet with sequence number @seq, or -ENOENT (never stored, or overwritten). */
WARN_UNUSED int rtc_rtp_history_get(const rtc_rtp_history_t *h, uint16_t seq, net_view_t *out);

/* Builds the RTX packet of original @orig (RFC 4588 §4: same header, CSRCs and extensions,
 * with the RTX stream's SSRC, payload type and sequence number; the original sequence
 * number (OSN) in the first two payload bytes, then the original payload; the original's
 * padding is not carried). Length, -EBADMSG, -ENOSPC. */
WARN_UNUSED int rtc_rtp_rtx_build(uint8_t *out, size_t cap, const uint8_t *orig, size_t len,
                                  uint32_t rtx_ssrc, uint8_t rtx_pt, uint16_t rtx_seq);
/* Turns an RTX packet back into the original in place: the header moves forward two bytes
 * over the OSN and gets @ssrc, @pt and the OSN as sequence number. The original then starts at
 * @b + 2; returns its length. -EBADMSG, -ENODATA (no OSN: a padding-only RTX packet, used
 * for bandwidth probing, which carries nothing to recover). */
WARN_UNUSED int rtc_rtp_rtx_decap(uint8_t *b, size_t len, uint32_t ssrc, uint8_t pt);

/* The RTX sender of one media stream. */
typedef struct rtc_rtp_rtx_tx {
    uint32_t ssrc;
    uint16_t seq;
    const rtc_rtp_ptmap_t *ptmap; /* media PT -> RTX PT (apt), borrowed for the stream's life */
} rtc_rtp_rtx_tx_t;

/* The repair of original @orig (@len bytes): its RTX packet with @rtx (which takes the next
 * RTX sequence number), or with @rtx NULL the original itself. Length, -ENOTSUP (no RTX PT
 * for its PT), -ENOSPC, -EBADMSG. */
WARN_UNUSED int rtc_rtp_resend_build(rtc_rtp_rtx_tx_t *rtx, const uint8_t *orig, size_t len,
                                     uint8_t *out, size_t cap);

/* Answers a NACK for @seq: builds into @out the RTX packet of the stored original, or with
 * @rtx NULL (no RTX negotiated) copies the original itself (same SSRC and sequence number).
 * A packet is resent at most once per @min_interval_ns (an RTT, so that one loss reported
 * by two NACKs is not sent twice). Length, -ENOENT (not in history: the receiver will need a
 * key frame), -EAGAIN (throttled), -ENOTSUP (no RTX PT for its PT), -ENOSPC. */
WARN_UNUSED int rtc_rtp_history_resend(rtc_rtp_history_t *h, rtc_rtp_rtx_tx_t *rtx, uint16_t seq,
                                       uint64_t now_ns, uint64_t min_interval_ns, uint8_t *out,
                                       size_t cap);

/* ---------------------------------------------------------------------------------------------
 * Forwarding history (an SFU's): one store of a source's plaintext packets, shared by the legs
 * it is forwarded on. Each leg rewrites the source's packets (rtc_rtp_fwd_rewrite: SSRC,
 * sequence number, timestamp, payload type, extension ids, abs-send-time) and keeps, per
 * sequence number it sent, which stored packet that was and how it was rewritten, so that a
 * NACK for the leg's sequence number is answered with exactly the bytes the leg sent (or their
 * RTX, RFC 4588 §4), and a number the leg never sent is not answered at all.
 */
#define RTC_RTP_FWD_SLOT_MAX 2048u /* longest slot of a forwarding store */
#define RTC_RTP_FWD_SETS 4u        /* rewrites a leg remembers (each change makes one) */

/* How a leg rewrites the packets of its source (besides sequence number and payload type,
 * which are per packet). */
typedef struct rtc_rtp_fwd_rw {
    uint32_t ssrc;
    uint32_t ts_off;     /* added to the source's timestamp */
    uint8_t abs_send_id; /* our id of abs-send-time, set to the forwarding time; 0: none */
    uint8_t extmap[256]; /* source's extension id -> ours (rtc_rtp_ext_remap), 0: removed */
} rtc_rtp_fwd_rw_t;

/* Rewrites source packet @b (@len bytes, plaintext RTP) in place for a leg: SSRC, sequence
 * number @seq, timestamp + ts_off, payload type @pt, extension ids through extmap (all of them
 * removed when one does not fit the packet's form), and abs-send-time set to @now_ns. The
 * length never changes. 0; -EBADMSG (not RTP: only the fixed header was rewritten), -EPROTO
 * (extensions could not be removed), or an error of rtc_rtp_ext_overwrite() other than
 * -ENOENT (abs-send-time not rewritten); the packet is usable in every case but -EBADMSG. */
int rtc_rtp_fwd_rewrite(uint8_t *b, size_t len, const rtc_rtp_fwd_rw_t *rw, uint16_t seq,
                        uint8_t pt, uint64_t now_ns);

typedef struct rtc_rtp_fwd_slot {
    uint64_t serial; /* of the put that filled it; 0: empty */
    uint64_t at_ns;  /* when: the time every leg forwarded it with (abs-send-time) */
    uint16_t len;
} rtc_rtp_fwd_slot_t;

/* The store of one source: a ring of @cap packets placed by source sequence number (unwrapped;
 * a new SSRC's numbers go on after the highest so far). Every put has its own serial, so a
 * packet a leg sent is never confused with a later one in its slot, not even with a duplicate
 * of itself (whose extension values may differ: an RTX repair). */
typedef struct rtc_rtp_fwd_hist {
    uint8_t *mem;
    rtc_rtp_fwd_slot_t *slots;
    uint32_t cap; /* power of two */
    uint32_t slot_len;
    uint32_t ssrc;
    bool have_ssrc;
    rtc_rtp_unwrap_t unwrap;
    int64_t base, hi; /* added to the unwrapped number; the highest placed */
    uint64_t serial;
} rtc_rtp_fwd_hist_t;

/* A stored packet's name, for rtc_rtp_fwd_leg_put(). */
typedef struct rtc_rtp_fwd_ref {
    uint64_t serial;
    uint32_t slot;
} rtc_rtp_fwd_ref_t;

/* @cap packets (rounded up to a power of two) of up to @slot_len (<= RTC_RTP_FWD_SLOT_MAX)
 * bytes. Allocates once. 0, -EINVAL, -ENOMEM. */
WARN_UNUSED int rtc_rtp_fwd_hist_init(rtc_rtp_fwd_hist_t *h, uint32_t cap, uint32_t slot_len);
/* Accepts a zeroed or finished store. */
void rtc_rtp_fwd_hist_fini(rtc_rtp_fwd_hist_t *h);
/* Stores a copy of source packet @b; @now_ns must be the time every leg rewrites this very
 * packet with (rtc_rtp_fwd_rewrite), which a resend repeats. Its name goes to @ref.
 * 0, -EBADMSG (not RTP), -EMSGSIZE (longer than a slot). */
WARN_UNUSED int rtc_rtp_fwd_hist_put(rtc_rtp_fwd_hist_t *h, const uint8_t *b, size_t len,
                                     uint64_t now_ns, rtc_rtp_fwd_ref_t *ref);

typedef struct rtc_rtp_fwd_entry {
    int64_t seq; /* the leg's, unwrapped */
    rtc_rtp_fwd_ref_t src;
    uint32_t set_id; /* of sets[set] when the packet was sent */
    uint8_t set, pt, resends;
    bool used;
    uint64_t resent_ns;
} rtc_rtp_fwd_entry_t;

typedef struct rtc_rtp_fwd_set {
    uint32_t id;   /* 0: empty */
    uint64_t used; /* last put that used it (the least recently used one is replaced) */
    rtc_rtp_fwd_rw_t rw;
} rtc_rtp_fwd_set_t;

/* One leg: what it sent, by its own sequence number (a ring of @cap entries), and the
 * rewrites that applied (RTC_RTP_FWD_SETS of them, allocated with the ring). */
typedef struct rtc_rtp_fwd_leg {
    rtc_rtp_fwd_entry_t *e;
    rtc_rtp_fwd_set_t *sets;
    uint32_t cap; /* power of two */
    rtc_rtp_unwrap_t unwrap;
    int64_t hi;
    uint8_t cur;
    uint32_t next_id;
    uint64_t puts;
} rtc_rtp_fwd_leg_t;

/* @cap entries (rounded up to a power of two). Allocates once. 0, -EINVAL, -ENOMEM. */
WARN_UNUSED int rtc_rtp_fwd_leg_init(rtc_rtp_fwd_leg_t *l, uint32_t cap);
/* Accepts a zeroed or finished leg. */
void rtc_rtp_fwd_leg_fini(rtc_rtp_fwd_leg_t *l);
/* Records that the leg sent stored packet @src as its sequence number @seq with payload type
 * @pt, rewritten by @rw (copied when it differs from the last one). */
void rtc_rtp_fwd_leg_put(rtc_rtp_fwd_leg_t *l, uint16_t seq, rtc_rtp_fwd_ref_t src, uint8_t pt,
                         const rtc_rtp_fwd_rw_t *rw);
/* Answers a NACK of the leg's sequence number @seq as rtc_rtp_history_resend() does: builds in
 * @out the packet the leg sent (rebuilt from @h) or, with @rtx, its RTX packet. Length,
 * -ENOENT (the leg never sent it, or it is gone from the leg's ring or from @h), -EAGAIN
 * (throttled: resent less than @min_interval_ns ago), -ENOTSUP (no RTX PT for its PT),
 * -ENOSPC, -EBADMSG. */
WARN_UNUSED int rtc_rtp_fwd_resend(rtc_rtp_fwd_leg_t *l, const rtc_rtp_fwd_hist_t *h,
                                   rtc_rtp_rtx_tx_t *rtx, uint16_t seq, uint64_t now_ns,
                                   uint64_t min_interval_ns, uint8_t *out, size_t cap);

/* ---------------------------------------------------------------------------------------------
 * NACK generator (receive side, RFC 4585 §6.2.1): tracks the missing sequence numbers of one
 * stream in a window and says which to NACK when, with a retry limit.
 */
#define RTC_RTP_NACK_WINDOW 1024u /* sequence numbers tracked; older gaps are given up */

typedef struct rtc_rtp_nack_entry {
    int64_t seq;
    uint64_t sent_ns;
    uint8_t tries;
    bool missing;
} rtc_rtp_nack_entry_t;

typedef struct rtc_rtp_nack_gen {
    rtc_rtp_unwrap_t unwrap;
    int64_t hi;
    bool init;
    uint8_t max_tries;
    uint64_t min_interval_ns;
    uint64_t reorder_ns; /* a gap is NACKed only once it is this old (default 0) */
    uint32_t missing_cnt;
    uint64_t recovered, given_up, nacks_sent; /* counters */
    rtc_rtp_nack_entry_t e[RTC_RTP_NACK_WINDOW];
} rtc_rtp_nack_gen_t;

/* @max_tries NACKs per missing packet; between two, max(rtt, @min_interval_ns). */
void rtc_rtp_nack_gen_init(rtc_rtp_nack_gen_t *g, uint8_t max_tries, uint64_t min_interval_ns);
/* Waits @reorder_ns after a gap opens before its first NACK, so that packets merely
 * reordered by the network are not requested (a few ms; 0, the default, NACKs at once). */
static inline void rtc_rtp_nack_gen_set_reorder(rtc_rtp_nack_gen_t *g, uint64_t reorder_ns)
{
    g->reorder_ns = reorder_ns;
}
/* A packet of the stream arrived (original, or recovered from RTX). Returns 1 if it filled a
 * gap, 0 otherwise. Gaps it opens are NACKed at the next poll. */
int rtc_rtp_nack_gen_on_packet(rtc_rtp_nack_gen_t *g, uint16_t seq, uint64_t now_ns);
/* The sequence numbers to NACK now (at most @cap, oldest first; the rest at the next poll).
 * A packet NACKed @max_tries times with no answer after one more interval is given up
 * (counted in given_up). Returns the count. */
int rtc_rtp_nack_gen_poll(rtc_rtp_nack_gen_t *g, uint64_t now_ns, uint64_t rtt_ns, uint16_t *out,
                          size_t cap);
/* Missing sequence numbers still tracked. */
static inline uint32_t rtc_rtp_nack_gen_missing(const rtc_rtp_nack_gen_t *g)
{
    return g->missing_cnt;
}

/* ---------------------------------------------------------------------------------------------
 * Transport-wide congestion control, receive side (draft-holmer-rmcat-transport-wide-cc-
 * extensions-01): records the arrival time of every packet carrying the transport-wide
 * sequence number extension and builds the feedback the sender's bandwidth estimator needs
 * (Chromium lowers its send rate without it). One per transport (the sequence space is
 * shared by all media streams of the transport).
 */
#define RTC_RTP_TWCC_WINDOW 2048u   /* sequence numbers kept while unreported */
#define RTC_RTP_TWCC_MAX_PER_FB 256 /* statuses per feedback packet: <= ~600 bytes */

typedef struct rtc_rtp_twcc_rec {
    rtc_rtp_unwrap_t unwrap;
    bool init;
    int64_t base; /* first sequence number not yet reported */
    int64_t hi;   /* highest received */
    uint8_t fb_cnt;
    uint32_t sender_ssrc, media_ssrc;
    uint64_t late, dropped; /* arrived after being reported lost; unreported and overwritten */
    int64_t seq[RTC_RTP_TWCC_WINDOW];
    int64_t arrival_us[RTC_RTP_TWCC_WINDOW];
} rtc_rtp_twcc_rec_t;

/* @sender_ssrc: our RTCP SSRC; @media_ssrc: one of the sender's media SSRCs (the feedback is
 * per transport, libwebrtc puts the first media SSRC there). */
void rtc_rtp_twcc_rec_init(rtc_rtp_twcc_rec_t *r, uint32_t sender_ssrc, uint32_t media_ssrc);
/* A packet with transport-wide sequence number @seq arrived at engine time @now_ns. */
void rtc_rtp_twcc_rec_on_packet(rtc_rtp_twcc_rec_t *r, uint16_t seq, uint64_t now_ns);
/* Appends one transport-cc feedback packet for the oldest unreported sequence numbers (at
 * most RTC_RTP_TWCC_MAX_PER_FB, through the highest received) to @w. Returns 1 if one was
 * written and more remain, 0 if written and nothing remains or if there was nothing to report,
 * or the writer's error. Call it every 50-100 ms (libwebrtc: 100 ms, or per 1/4 RTT). */
WARN_UNUSED int rtc_rtp_twcc_rec_feedback(rtc_rtp_twcc_rec_t *r, rtc_rtcp_wr_t *w);

#endif /* URTC_RTC_RTP_RTP_H */
