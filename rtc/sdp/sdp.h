/* rtc/sdp/sdp.h: SDP (RFC 8866) with the WebRTC attributes (RFC 8839 ICE, RFC 8842 DTLS,
 * RFC 8843 BUNDLE, RFC 8830 msid, RFC 8285 extmap, RFC 8851 rid, RFC 8853 simulcast,
 * RFC 8841 SCTP, RFC 5576 ssrc, RFC 4585 rtcp-fb, RFC 5761 rtcp-mux, RFC 5506 rtcp-rsize).
 *
 * A description (rtc_sdp_t) is one arena: every string and array of it lives in memory owned
 * by the description and rtc_sdp_destroy() frees it all with one call. Strings are
 * NUL-terminated copies (not views into the input), so the input text may be freed right after
 * rtc_sdp_parse(). The same structure is built programmatically (rtc_sdp_create() plus the
 * rtc_sdp_*_add() helpers) and written with rtc_sdp_write(); rtc/pc does that for offers and
 * answers.
 *
 * Sans-IO, no global state: any thread may use a description it owns.
 *
 * Attributes this module does not model (a=rtcp, a=rtcp-xr, a=sctpmap, a=extmap with an
 * unknown hash, ...) and session/media lines other than v/o/s/t/c/m/b=AS/TIAS are kept in
 * input order in `other` and written back after the modelled ones. Candidate lines are kept as
 * raw text (the value after "a=candidate:"); rtc/ice owns their grammar.
 */
#ifndef URTC_RTC_SDP_SDP_H
#define URTC_RTC_SDP_SDP_H

#include "net/net.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits (bounded counts everywhere; input beyond them is refused with -EMSGSIZE and an error
 * naming the line). Chosen well above what browsers emit (Chromium: 3-20 m-sections, 23
 * payload types, 15 extmaps, 8 candidates per section). */
#define RTC_SDP_MAX_TEXT_LEN (256u * 1024) /* whole description */
#define RTC_SDP_MAX_LINE_LEN 4096u         /* one line, without its line ending */
#define RTC_SDP_MAX_MEDIA 64u              /* m-sections */
#define RTC_SDP_MAX_CODECS 128u            /* payload types per m-section (0..127) */
#define RTC_SDP_MAX_FB 512u                /* a=rtcp-fb per m-section */
#define RTC_SDP_MAX_EXTMAP 64u             /* a=extmap per level */
#define RTC_SDP_MAX_CANDIDATES 128u        /* a=candidate per m-section */
#define RTC_SDP_MAX_SSRC_LINES 128u        /* a=ssrc per m-section */
#define RTC_SDP_MAX_SSRC_GROUPS 32u        /* a=ssrc-group per m-section */
#define RTC_SDP_MAX_GROUP_SSRCS 16u        /* ssrcs in one a=ssrc-group */
#define RTC_SDP_MAX_RIDS 16u               /* a=rid per m-section */
#define RTC_SDP_MAX_MSIDS 8u               /* a=msid per m-section */
#define RTC_SDP_MAX_GROUPS 8u              /* a=group at session level */
#define RTC_SDP_MAX_FINGERPRINTS 4u        /* a=fingerprint per level */
#define RTC_SDP_MAX_OTHER 128u             /* kept unknown lines per level */
#define RTC_SDP_FP_MAX_LEN 64u             /* sha-512 */

/* Where and why parsing failed. @line is 1-based (0: not tied to a line, e.g. a missing
 * v= line at the end); @reason is a static string. */
typedef struct rtc_sdp_err {
    unsigned line;
    const char *reason;
} rtc_sdp_err_t;

typedef enum rtc_sdp_dir {
    RTC_SDP_DIR_NONE = 0, /* no direction attribute at this level */
    RTC_SDP_DIR_SENDRECV,
    RTC_SDP_DIR_SENDONLY,
    RTC_SDP_DIR_RECVONLY,
    RTC_SDP_DIR_INACTIVE,
} rtc_sdp_dir_t;

/* RFC 4145 §4 / RFC 8842 §5.1. */
typedef enum rtc_sdp_setup {
    RTC_SDP_SETUP_NONE = 0,
    RTC_SDP_SETUP_ACTPASS,
    RTC_SDP_SETUP_ACTIVE,
    RTC_SDP_SETUP_PASSIVE,
    RTC_SDP_SETUP_HOLDCONN,
} rtc_sdp_setup_t;

/* RFC 8122 §5 hash functions we model (others stay in `other`). */
typedef enum rtc_sdp_hash {
    RTC_SDP_HASH_SHA1 = 1,
    RTC_SDP_HASH_SHA256,
    RTC_SDP_HASH_SHA384,
    RTC_SDP_HASH_SHA512,
} rtc_sdp_hash_t;

typedef enum rtc_sdp_kind {
    RTC_SDP_KIND_OTHER = 0,
    RTC_SDP_KIND_AUDIO,
    RTC_SDP_KIND_VIDEO,
    RTC_SDP_KIND_APPLICATION,
} rtc_sdp_kind_t;

typedef struct rtc_sdp_conn { /* c=<nettype> <addrtype> <address> */
    const char *nettype;      /* NULL: no c= line at this level */
    const char *addrtype;
    const char *addr; /* may carry /ttl/count as written */
} rtc_sdp_conn_t;

typedef struct rtc_sdp_fingerprint { /* a=fingerprint:<hash> XX:XX:... (RFC 8122 §5) */
    rtc_sdp_hash_t hash;
    uint8_t len; /* 20, 32, 48 or 64 */
    uint8_t value[RTC_SDP_FP_MAX_LEN];
} rtc_sdp_fingerprint_t;

typedef struct rtc_sdp_extmap { /* a=extmap:<id>[/<dir>] <uri> [<attrs>] (RFC 8285 §8) */
    uint16_t id;                /* 1..255 (RFC 8285 §5: 1-14 one-byte, 1-255 two-byte) */
    rtc_sdp_dir_t dir;          /* NONE when absent */
    const char *uri;
    const char *attrs; /* NULL when absent */
} rtc_sdp_extmap_t;

typedef struct rtc_sdp_other { /* a line kept verbatim */
    char type;        /* 'a' for attributes, else the line type (i, u, e, p, b, z, k, r, t) */
    const char *text; /* everything after "x=" */
} rtc_sdp_other_t;

/* Attributes that may appear at session and media level. Which ones are legal where follows
 * the RFCs' "usage level"; the parser keeps a media-only attribute found at session level
 * (and the reverse) in `other` instead of failing. */
typedef struct rtc_sdp_attrs {
    rtc_sdp_conn_t conn;
    uint32_t bw_as_kbps;  /* b=AS (RFC 8866 §5.8), 0: absent */
    uint32_t bw_tias_bps; /* b=TIAS (RFC 3890), 0: absent */
    const char *ice_ufrag;
    const char *ice_pwd;
    const char *ice_options; /* space-separated tokens, e.g. "trickle" */
    bool ice_lite;           /* session level only (RFC 8839 §5.3) */
    bool extmap_allow_mixed;
    rtc_sdp_dir_t dir;
    rtc_sdp_setup_t setup;
    uint8_t fingerprint_cnt;
    rtc_sdp_fingerprint_t fingerprints[RTC_SDP_MAX_FINGERPRINTS];
    uint16_t extmap_cnt;
    rtc_sdp_extmap_t *extmaps;
    uint16_t other_cnt;
    rtc_sdp_other_t *other;
    uint16_t _extmap_cap, _other_cap;
} rtc_sdp_attrs_t;

typedef struct rtc_sdp_codec { /* one payload type of the m= line */
    uint8_t pt;
    const char *name;  /* from a=rtpmap; NULL when absent (static payload type) */
    uint32_t clock_hz; /* 0 when no rtpmap */
    uint16_t channels; /* 0: not given */
    const char *fmtp;  /* parameters of a=fmtp, NULL when absent */
} rtc_sdp_codec_t;

typedef struct rtc_sdp_fb { /* a=rtcp-fb:<pt|*> <value> (RFC 4585 §4.2) */
    int16_t pt;             /* -1 for "*" */
    const char *value;      /* "nack pli", "transport-cc", ... */
} rtc_sdp_fb_t;

typedef struct rtc_sdp_ssrc { /* a=ssrc:<ssrc> <attribute>[:<value>] (RFC 5576 §4.1) */
    uint32_t ssrc;
    const char *attr;  /* "cname", "msid", ... */
    const char *value; /* NULL when the attribute has no value */
} rtc_sdp_ssrc_t;

typedef struct rtc_sdp_ssrc_group { /* a=ssrc-group:<semantics> <ssrc>... (RFC 5576 §4.2) */
    const char *semantics;          /* "FID", "SIM", "FEC-FR" ... */
    uint8_t ssrc_cnt;
    uint32_t ssrcs[RTC_SDP_MAX_GROUP_SSRCS];
} rtc_sdp_ssrc_group_t;

typedef struct rtc_sdp_rid { /* a=rid:<id> send|recv [<params>] (RFC 8851 §10) */
    const char *id;
    bool send; /* false: recv */
    const char *params;
} rtc_sdp_rid_t;

typedef struct rtc_sdp_msid { /* a=msid:<stream-id> [<track-id>] (RFC 8830 §2) */
    const char *stream;
    const char *track; /* NULL when absent */
} rtc_sdp_msid_t;

typedef struct rtc_sdp_group { /* a=group:<semantics> <mid>... (RFC 5888 §5) */
    const char *semantics;     /* "BUNDLE", "LS", ... */
    uint8_t mid_cnt;
    const char **mids;
} rtc_sdp_group_t;

typedef struct rtc_sdp_media {
    /* m=<media> <port>[/<n>] <proto> <fmt> ... (RFC 8866 §5.14) */
    rtc_sdp_kind_t kind;
    const char *media; /* "audio", "video", "application", ... as written */
    uint16_t port;     /* 0: rejected / bundle-only */
    uint16_t port_cnt; /* the "/<n>" suffix, 0 when absent */
    const char *proto; /* "UDP/TLS/RTP/SAVPF", "UDP/DTLS/SCTP", ... */
    bool rtp;          /* proto ends in RTP/AVP, /AVPF, /SAVP or /SAVPF: fmts are payload types */
    const char *fmt;   /* non-RTP: the fmt list as written ("webrtc-datachannel", "5000") */
    rtc_sdp_attrs_t a;
    const char *mid;
    bool rtcp_mux, rtcp_rsize, end_of_candidates;
    uint16_t codec_cnt; /* m= line order; rtpmap/fmtp filled in */
    rtc_sdp_codec_t *codecs;
    uint16_t fb_cnt;
    rtc_sdp_fb_t *fbs;
    uint16_t candidate_cnt;
    const char **candidates; /* value after "a=candidate:" */
    uint16_t ssrc_cnt;
    rtc_sdp_ssrc_t *ssrcs;
    uint16_t ssrc_group_cnt;
    rtc_sdp_ssrc_group_t *ssrc_groups;
    uint16_t rid_cnt;
    rtc_sdp_rid_t *rids;
    uint16_t msid_cnt;
    rtc_sdp_msid_t *msids;
    const char *simulcast_send; /* a=simulcast (RFC 8853 §5.1): "q;h;f" or NULL */
    const char *simulcast_recv;
    uint16_t sctp_port;        /* a=sctp-port (RFC 8841 §5), 0: absent */
    bool has_max_message_size; /* a=max-message-size (RFC 8841 §6); 0 means "no limit" */
    uint64_t max_message_size;
    uint16_t _codec_cap, _fb_cap, _cand_cap, _ssrc_cap, _ssrc_group_cap, _rid_cap, _msid_cap;
} rtc_sdp_media_t;

typedef struct rtc_sdp {
    /* o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address> */
    const char *origin_user;
    const char *sess_id; /* digits, kept as text (may exceed 64 bits) */
    uint64_t sess_version;
    const char *origin_nettype, *origin_addrtype, *origin_addr;
    const char *name;              /* s= */
    uint64_t t_start, t_stop;      /* first t= line */
    rtc_sdp_attrs_t a;             /* session-level attributes */
    const char *msid_semantic;     /* a=msid-semantic:<token> [ids]: "WMS" or NULL */
    const char *msid_semantic_ids; /* "*", stream ids, or NULL */
    uint8_t group_cnt;
    rtc_sdp_group_t groups[RTC_SDP_MAX_GROUPS];
    uint16_t media_cnt;
    rtc_sdp_media_t *media[RTC_SDP_MAX_MEDIA];
    struct rtc_sdp_chunk *_arena; /* memory of everything above */
} rtc_sdp_t;

/* Parses @len bytes of SDP text (CRLF or LF line endings; RFC 8866 §5 says parsers SHOULD
 * accept LF alone). On success *out is a new description (free it with rtc_sdp_destroy()).
 * Returns 0, -EBADMSG (malformed; @err says where and why), -EMSGSIZE (a limit above was
 * exceeded; @err too) or -ENOMEM. @err may be NULL. Never reads past @len. */
WARN_UNUSED int rtc_sdp_parse(const char *text, size_t len, rtc_sdp_t **out, rtc_sdp_err_t *err);

/* Writes @s as SDP text with CRLF line endings into @buf (NUL-terminated when room is left).
 * Returns the length (without the NUL), or -ENOSPC if @cap is too small. Modelled attributes
 * come in a fixed order close to what browsers write, then kept unknown lines in input order. */
WARN_UNUSED int rtc_sdp_write(const rtc_sdp_t *s, char *buf, size_t cap);

/* Frees a description and every string and array in it. Accepts NULL. */
void rtc_sdp_destroy(rtc_sdp_t *s);

/* --- Building a description (used by rtc/pc) --------------------------------------------- */

/* An empty description: v=0, o=- @sess_id @sess_version IN IP4 127.0.0.1, s=-, t=0 0.
 * NULL on OOM. */
rtc_sdp_t *rtc_sdp_create(const char *sess_id, uint64_t sess_version);

/* Copies @str (NULL stays NULL) into the arena of @s. NULL on OOM. */
const char *rtc_sdp_strdup(rtc_sdp_t *s, const char *str);
/* printf into the arena of @s. NULL on OOM. */
const char *rtc_sdp_printf(rtc_sdp_t *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Appends an m-section (kind from @media). Strings are copied. NULL on OOM or when
 * RTC_SDP_MAX_MEDIA sections exist. */
rtc_sdp_media_t *rtc_sdp_media_add(rtc_sdp_t *s, const char *media, uint16_t port,
                                   const char *proto, const char *fmt);

/* Append one item to a list of @m (or of @a). Strings are copied. 0, -ENOMEM or -EMSGSIZE
 * (the limit for that list). */
WARN_UNUSED int rtc_sdp_codec_add(rtc_sdp_t *s, rtc_sdp_media_t *m, uint8_t pt, const char *name,
                                  uint32_t clock_hz, uint16_t channels, const char *fmtp);
WARN_UNUSED int rtc_sdp_fb_add(rtc_sdp_t *s, rtc_sdp_media_t *m, int pt, const char *value);
WARN_UNUSED int rtc_sdp_extmap_add(rtc_sdp_t *s, rtc_sdp_attrs_t *a, uint16_t id, rtc_sdp_dir_t dir,
                                   const char *uri, const char *attrs);
WARN_UNUSED int rtc_sdp_candidate_add(rtc_sdp_t *s, rtc_sdp_media_t *m, const char *value);
WARN_UNUSED int rtc_sdp_ssrc_add(rtc_sdp_t *s, rtc_sdp_media_t *m, uint32_t ssrc, const char *attr,
                                 const char *value);
WARN_UNUSED int rtc_sdp_ssrc_group_add(rtc_sdp_t *s, rtc_sdp_media_t *m, const char *semantics,
                                       const uint32_t *ssrcs, unsigned cnt);
WARN_UNUSED int rtc_sdp_msid_add(rtc_sdp_t *s, rtc_sdp_media_t *m, const char *stream,
                                 const char *track);
WARN_UNUSED int rtc_sdp_rid_add(rtc_sdp_t *s, rtc_sdp_media_t *m, const char *id, bool send,
                                const char *params);
WARN_UNUSED int rtc_sdp_other_add(rtc_sdp_t *s, rtc_sdp_attrs_t *a, char type, const char *text);
/* Adds a=group:<semantics> with @cnt mids (copied). */
WARN_UNUSED int rtc_sdp_group_add(rtc_sdp_t *s, const char *semantics, const char *const *mids,
                                  unsigned cnt);

/* --- Lookups ------------------------------------------------------------------------------ */

/* The codec of payload type @pt in @m, or NULL. */
const rtc_sdp_codec_t *rtc_sdp_codec_find(const rtc_sdp_media_t *m, int pt);
/* The m-section whose a=mid is @mid, or NULL. */
const rtc_sdp_media_t *rtc_sdp_media_by_mid(const rtc_sdp_t *s, const char *mid);
/* The first a=group with @semantics (case-insensitive), or NULL. */
const rtc_sdp_group_t *rtc_sdp_group_find(const rtc_sdp_t *s, const char *semantics);
/* Effective attributes: media level if set, else session level (RFC 8866 §5: media-level
 * values override session-level ones). */
const char *rtc_sdp_ice_ufrag(const rtc_sdp_t *s, const rtc_sdp_media_t *m);
const char *rtc_sdp_ice_pwd(const rtc_sdp_t *s, const rtc_sdp_media_t *m);
rtc_sdp_setup_t rtc_sdp_setup(const rtc_sdp_t *s, const rtc_sdp_media_t *m);
rtc_sdp_dir_t rtc_sdp_dir(const rtc_sdp_t *s, const rtc_sdp_media_t *m); /* default sendrecv */
const rtc_sdp_fingerprint_t *rtc_sdp_fingerprint(const rtc_sdp_t *s, const rtc_sdp_media_t *m);

/* Finds "key=value" in an fmtp parameter string ("a=1;b=2", ';' separated, spaces allowed
 * after ';'). Copies the value (NUL-terminated) into @buf and returns its length; -ENOENT if
 * absent; -ENOSPC if @cap is too small. Keys compare case-insensitively. */
WARN_UNUSED int rtc_sdp_fmtp_get(const char *fmtp, const char *key, char *buf, size_t cap);

/* Names for enums, as written in SDP ("sendrecv", "actpass", "sha-256"); "" for NONE. */
const char *rtc_sdp_dir_name(rtc_sdp_dir_t d);
const char *rtc_sdp_setup_name(rtc_sdp_setup_t st);
const char *rtc_sdp_hash_name(rtc_sdp_hash_t h);
/* Digest length in bytes of @h (20/32/48/64), 0 if unknown. */
unsigned rtc_sdp_hash_len(rtc_sdp_hash_t h);

#endif
