/* rtc/rtcp/rtcp.h: RTCP packets, parsed and built (RFC 3550 §6, RFC 4585, RFC 5104, RFC 5506,
 * draft-alvestrand-rmcat-remb-03, draft-holmer-rmcat-transport-wide-cc-extensions-01).
 *
 * Sans-IO and allocation-free. A compound packet is split into rtc_rtcp_hdr_t views
 * (rtc_rtcp_split), then each packet is read with its typed parser; every parser takes
 * untrusted bytes and returns -EBADMSG for anything malformed, so the caller counts the
 * packet and drops it. Builders append to a caller buffer through rtc_rtcp_wr_t.
 * Works on plaintext RTCP (SRTCP unprotect runs before, protect after).
 */
#ifndef URTC_RTC_RTCP_RTCP_H
#define URTC_RTC_RTCP_RTCP_H

#include "net/net.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RFC 3550 §12.1, RFC 4585 §6.1 */
#define RTC_RTCP_SR 200
#define RTC_RTCP_RR 201
#define RTC_RTCP_SDES 202
#define RTC_RTCP_BYE 203
#define RTC_RTCP_APP 204
#define RTC_RTCP_RTPFB 205
#define RTC_RTCP_PSFB 206

#define RTC_RTCP_FMT_NACK 1  /* RTPFB, RFC 4585 §6.2.1 */
#define RTC_RTCP_FMT_TWCC 15 /* RTPFB, draft-holmer-...-01 §3.1 */
#define RTC_RTCP_FMT_PLI 1   /* PSFB, RFC 4585 §6.3.1 */
#define RTC_RTCP_FMT_FIR 4   /* PSFB, RFC 5104 §4.3.1 */
#define RTC_RTCP_FMT_AFB 15  /* PSFB application layer feedback (REMB) */

#define RTC_RTCP_HDR_LEN 4
#define RTC_RTCP_MAX_RB 31 /* RC is 5 bits */
#define RTC_RTCP_SDES_CNAME 1

/* RFC 5761 §4: on a muxed port, a packet whose second byte is 192..223 is RTCP (RTP payload
 * types 64..95 with the marker bit would collide, which is why they are not used). */
static inline bool rtc_rtcp_is_rtcp(const uint8_t *b, size_t len)
{
    return len >= 2 && b[1] >= 192 && b[1] <= 223;
}

/* One packet of a compound. */
typedef struct rtc_rtcp_hdr {
    uint8_t pt;
    uint8_t count; /* RC / SC / FMT: the 5 bits after P */
    bool padding;
    net_view_t pkt;  /* the whole packet, header and padding included */
    net_view_t body; /* after the 4-byte header, padding removed */
} rtc_rtcp_hdr_t;

#define RTC_RTCP_STRICT 1u /* refuse reduced-size RTCP: the first packet must be SR or RR */

/* Splits a compound packet (RFC 3550 §6.1, validity checks of A.2) into @out (capacity @cap).
 * Each packet must be version 2 and its length must fit; the lengths must add up to @len
 * exactly; only the last packet may be padded (§6.4.1, A.2), and its padding count must be
 * 1..(body length). The first packet must be SR or RR (RFC 3550 §6.1) unless the packet is
 * reduced-size RTCP (RFC 5506 §3.4.2), which is accepted unless @flags has RTC_RTCP_STRICT.
 * Returns the number of packets, -EBADMSG, or -EMSGSIZE if more than @cap. */
WARN_UNUSED int rtc_rtcp_split(const uint8_t *b, size_t len, unsigned flags, rtc_rtcp_hdr_t *out,
                               size_t cap);

/* ---------------------------------------------------------------------------------------------
 * SR and RR (RFC 3550 §6.4).
 */
typedef struct rtc_rtcp_rb {
    uint32_t ssrc;
    uint8_t fraction_lost; /* 8-bit fixed point, lost/expected * 256 */
    int32_t cum_lost;      /* 24-bit signed on the wire */
    uint32_t ext_high_seq;
    uint32_t jitter; /* timestamp units */
    uint32_t lsr;    /* middle 32 bits of the last SR's NTP time; 0: none */
    uint32_t dlsr;   /* 1/65536 s since that SR */
} rtc_rtcp_rb_t;

typedef struct rtc_rtcp_sr {
    uint32_t ssrc;
    uint64_t ntp; /* 32.32 fixed point seconds since 1900 */
    uint32_t rtp_ts;
    uint32_t pkt_cnt;
    uint32_t octet_cnt;
    uint8_t rb_cnt;
    rtc_rtcp_rb_t rb[RTC_RTCP_MAX_RB];
} rtc_rtcp_sr_t;

typedef struct rtc_rtcp_rr {
    uint32_t ssrc;
    uint8_t rb_cnt;
    rtc_rtcp_rb_t rb[RTC_RTCP_MAX_RB];
} rtc_rtcp_rr_t;

/* 0 or -EBADMSG (wrong type, body shorter than the RC blocks; profile extensions after the
 * blocks, §6.4.1, are allowed and ignored). */
WARN_UNUSED int rtc_rtcp_sr_parse(const rtc_rtcp_hdr_t *h, rtc_rtcp_sr_t *sr);
WARN_UNUSED int rtc_rtcp_rr_parse(const rtc_rtcp_hdr_t *h, rtc_rtcp_rr_t *rr);

/* ---------------------------------------------------------------------------------------------
 * SDES (§6.5, only CNAME is kept) and BYE (§6.6).
 */
typedef struct rtc_rtcp_sdes_chunk {
    uint32_t ssrc;
    net_view_t cname; /* {NULL, 0} when the chunk has no CNAME */
} rtc_rtcp_sdes_chunk_t;

/* Reads the SC chunks into @out (capacity @cap). Count, -EBADMSG (an item or chunk runs past
 * the packet, fewer chunks than SC), -EMSGSIZE (SC > cap). */
WARN_UNUSED int rtc_rtcp_sdes_parse(const rtc_rtcp_hdr_t *h, rtc_rtcp_sdes_chunk_t *out,
                                    size_t cap);

typedef struct rtc_rtcp_bye {
    uint8_t cnt;
    uint32_t ssrc[RTC_RTCP_MAX_RB];
    net_view_t reason; /* {NULL, 0} if none */
} rtc_rtcp_bye_t;

WARN_UNUSED int rtc_rtcp_bye_parse(const rtc_rtcp_hdr_t *h, rtc_rtcp_bye_t *bye);

/* ---------------------------------------------------------------------------------------------
 * Feedback (RFC 4585 §6.1): common part of RTPFB and PSFB.
 */
typedef struct rtc_rtcp_fb {
    uint8_t fmt;
    uint32_t sender_ssrc;
    uint32_t media_ssrc;
    net_view_t fci;
} rtc_rtcp_fb_t;

/* 0, or -EBADMSG (not RTPFB/PSFB, body under 8 bytes). */
WARN_UNUSED int rtc_rtcp_fb_parse(const rtc_rtcp_hdr_t *h, rtc_rtcp_fb_t *fb);

/* Generic NACK (RFC 4585 §6.2.1): each FCI is PID + BLP (bit i: PID+i+1 lost too). Writes
 * the lost sequence numbers to @seqs (capacity @cap, up to 17 per FCI). Count, -EBADMSG (FCI
 * empty or not a multiple of 4), -EMSGSIZE. */
WARN_UNUSED int rtc_rtcp_nack_parse(const rtc_rtcp_fb_t *fb, uint16_t *seqs, size_t cap);

/* FIR (RFC 5104 §4.3.1): entries of SSRC + command sequence number. */
typedef struct rtc_rtcp_fir_entry {
    uint32_t ssrc;
    uint8_t seq_nr;
} rtc_rtcp_fir_entry_t;

WARN_UNUSED int rtc_rtcp_fir_parse(const rtc_rtcp_fb_t *fb, rtc_rtcp_fir_entry_t *out, size_t cap);

/* REMB (draft-alvestrand-rmcat-remb-03 §2.2). */
#define RTC_RTCP_REMB_MAX_SSRC 16
typedef struct rtc_rtcp_remb {
    uint64_t bitrate_bps;                  /* mantissa << exp, saturated at UINT64_MAX */
    uint8_t ssrc_cnt;                      /* as on the wire */
    uint32_t ssrc[RTC_RTCP_REMB_MAX_SSRC]; /* the first RTC_RTCP_REMB_MAX_SSRC of them */
} rtc_rtcp_remb_t;

/* 0; -ENOENT if the AFB is not REMB (other application feedback: skip it); -EBADMSG. */
WARN_UNUSED int rtc_rtcp_remb_parse(const rtc_rtcp_fb_t *fb, rtc_rtcp_remb_t *remb);

/* Transport-wide congestion control feedback (draft-holmer-...-01 §3.1). */
#define RTC_RTCP_TWCC_NOT_RECEIVED 0
#define RTC_RTCP_TWCC_SMALL 1 /* received, delta 0..255 ticks */
#define RTC_RTCP_TWCC_LARGE 2 /* received, delta a signed 16-bit tick count */
#define RTC_RTCP_TWCC_TICK_US 250

typedef struct rtc_rtcp_twcc {
    uint16_t base_seq;
    uint16_t status_cnt;
    int32_t ref_time; /* 24-bit signed, 64 ms units */
    uint8_t fb_cnt;
} rtc_rtcp_twcc_t;

typedef struct rtc_rtcp_twcc_pkt {
    uint8_t status;
    int16_t delta; /* 250 us ticks from the previous received packet (the first: ref_time) */
} rtc_rtcp_twcc_pkt_t;

/* Parses the FCI of an RTPFB FMT 15 into @t and one entry per packet status into @pkts
 * (capacity @cap; packet i has sequence number base_seq + i). Count, -EBADMSG (chunks or
 * deltas cut short, a reserved status symbol), -EMSGSIZE (status_cnt > cap). */
WARN_UNUSED int rtc_rtcp_twcc_parse(const rtc_rtcp_fb_t *fb, rtc_rtcp_twcc_t *t,
                                    rtc_rtcp_twcc_pkt_t *pkts, size_t cap);

/* Fills @pkts and t->ref_time from @n arrival times in us on the receiver's clock (< 0: not
 * received; at least one must be received) for packets base_seq .. base_seq+n-1. The
 * reference time is the first received packet's arrival in 64 ms steps.
 * Deltas are rounded to 250 us ticks without drift (each is taken from the previous
 * reported time). 0, -EINVAL (n is 0 or too big, nothing received), -ERANGE when a gap exceeds a
 * signed 16-bit tick count (8 s): the caller sends feedback up to there and starts a new one. */
WARN_UNUSED int rtc_rtcp_twcc_from_arrivals(const int64_t *arrival_us, size_t n, rtc_rtcp_twcc_t *t,
                                            rtc_rtcp_twcc_pkt_t *pkts);

/* ---------------------------------------------------------------------------------------------
 * Building. Each call appends one packet to the buffer; an error is sticky (later calls do
 * nothing) and comes back from rtc_rtcp_wr_finish(). A compound for the wire starts with an
 * SR or RR and carries an SDES CNAME (RFC 3550 §6.1); a reduced-size feedback packet (RFC
 * 5506) is one feedback packet alone, which the transport must have negotiated
 * (a=rtcp-rsize).
 */
typedef struct rtc_rtcp_wr {
    uint8_t *buf;
    size_t cap, len;
    int err;
} rtc_rtcp_wr_t;

void rtc_rtcp_wr_init(rtc_rtcp_wr_t *w, uint8_t *buf, size_t cap);
/* Bytes written, or the first error (-ENOSPC, -EINVAL). */
WARN_UNUSED int rtc_rtcp_wr_finish(const rtc_rtcp_wr_t *w);

int rtc_rtcp_wr_sr(rtc_rtcp_wr_t *w, const rtc_rtcp_sr_t *sr);
int rtc_rtcp_wr_rr(rtc_rtcp_wr_t *w, const rtc_rtcp_rr_t *rr);
/* One chunk with one CNAME item (1..255 bytes). */
int rtc_rtcp_wr_sdes_cname(rtc_rtcp_wr_t *w, uint32_t ssrc, const char *cname, size_t len);
int rtc_rtcp_wr_bye(rtc_rtcp_wr_t *w, const uint32_t *ssrc, size_t cnt, const char *reason,
                    size_t reason_len);
/* Generic NACK for @seqs, which must be in increasing (mod 2^16) order; each run within 17
 * of a PID shares one FCI. */
int rtc_rtcp_wr_nack(rtc_rtcp_wr_t *w, uint32_t sender, uint32_t media, const uint16_t *seqs,
                     size_t cnt);
int rtc_rtcp_wr_pli(rtc_rtcp_wr_t *w, uint32_t sender, uint32_t media);
int rtc_rtcp_wr_fir(rtc_rtcp_wr_t *w, uint32_t sender, const rtc_rtcp_fir_entry_t *e, size_t cnt);
/* The bitrate is encoded with the smallest exponent that fits an 18-bit mantissa (rounded
 * down). */
int rtc_rtcp_wr_remb(rtc_rtcp_wr_t *w, uint32_t sender, uint64_t bitrate_bps, const uint32_t *ssrc,
                     size_t cnt);
/* Transport-cc feedback for t->status_cnt packets described by @pkts. Chunks are chosen
 * greedily: a run-length chunk for runs of 14 or more (or 7 or more where a 1-bit vector
 * cannot be used), else a 1-bit status vector when the next 14 symbols are 0/1, else a
 * 2-bit vector. -EINVAL if a status does not match its delta. */
int rtc_rtcp_wr_twcc(rtc_rtcp_wr_t *w, uint32_t sender, uint32_t media, const rtc_rtcp_twcc_t *t,
                     const rtc_rtcp_twcc_pkt_t *pkts);

/* ---------------------------------------------------------------------------------------------
 * NTP time (RFC 3550 §4) and round-trip time (§6.4.1). The wall clock is an input: rtc/ never
 * reads it (the engine passes net_realtime_ns()).
 */
#define RTC_RTCP_NTP_UNIX_OFFSET 2208988800ull /* seconds from 1900 to 1970 */

static inline uint64_t rtc_rtcp_ntp_from_unix_ns(uint64_t unix_ns)
{
    uint64_t s = unix_ns / NET_NS_PER_SEC, ns = unix_ns % NET_NS_PER_SEC;
    return (s + RTC_RTCP_NTP_UNIX_OFFSET) << 32 | ((ns << 32) / NET_NS_PER_SEC);
}
/* The middle 32 bits (16.16), as LSR carries them. */
static inline uint32_t rtc_rtcp_ntp_mid(uint64_t ntp)
{
    return (uint32_t)(ntp >> 16);
}
/* RTT from a report block that arrived at NTP time @arrival_ntp (RFC 3550 §6.4.1: A - LSR -
 * DLSR, in 1/65536 s). ns, or -1 when the block has no LSR (no SR received yet), or when the
 * result is negative (clocks or a bogus block), which is not an RTT. */
int64_t rtc_rtcp_rtt_ns(uint64_t arrival_ntp, uint32_t lsr, uint32_t dlsr);

/* ---------------------------------------------------------------------------------------------
 * Whole-compound check with counters, for the receive path.
 */
typedef struct rtc_rtcp_counters {
    uint64_t compounds; /* accepted */
    uint64_t malformed; /* compounds dropped (framing, or one packet inside malformed) */
    uint64_t sr, rr, sdes, bye, app, nack, pli, fir, remb, twcc; /* in accepted compounds */
    uint64_t other; /* unknown packet types and feedback formats, skipped */
} rtc_rtcp_counters_t;

/* Splits a compound (rtc_rtcp_split with @flags) and runs every packet through its typed check,
 * so that what the caller then parses is known good. One malformed packet drops the whole
 * compound: its framing can no longer be trusted (RFC 3550 A.2). Counts into @c. Returns the
 * packet count (headers in @out), -EBADMSG, or -EMSGSIZE (more than @cap packets, also counted
 * as malformed: no legitimate compound has that many). */
WARN_UNUSED int rtc_rtcp_check(const uint8_t *b, size_t len, unsigned flags, rtc_rtcp_hdr_t *out,
                               size_t cap, rtc_rtcp_counters_t *c);

/* ---------------------------------------------------------------------------------------------
 * When to send the next regular report (RFC 3550 §6.3.1 and A.7; RFC 4585 §3.4 lets AVPF
 * profiles lower the minimum).
 */
typedef struct rtc_rtcp_interval_cfg {
    uint32_t members;      /* session members, us included */
    uint32_t senders;      /* of which sent RTP since our last two reports */
    uint64_t rtcp_bw_bps;  /* RTCP share of the session bandwidth (RFC 3550: 5%), bits/s */
    bool we_sent;          /* we sent RTP in that time */
    uint32_t avg_rtcp_len; /* average compound size, bytes, UDP and IP headers included */
    bool initial;          /* no report sent yet: half the minimum (§6.2) */
    uint64_t min_ns;       /* minimum interval: 5 s in RFC 3550; WebRTC uses 1 s (video) */
} rtc_rtcp_interval_cfg_t;

/* The randomized interval of A.7 in ns: max(min, avg size * n / bandwidth share), times a
 * uniform factor in [0.5, 1.5) taken from @rand (a random 32-bit value from the caller, rtc/
 * makes no syscalls), divided by e - 3/2 for the timer-reconsideration bias. */
uint64_t rtc_rtcp_interval_ns(const rtc_rtcp_interval_cfg_t *cfg, uint32_t rand);

#endif /* URTC_RTC_RTCP_RTCP_H */
