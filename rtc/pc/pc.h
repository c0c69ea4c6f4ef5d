/* rtc/pc/pc.h: JSEP offer/answer negotiation (RFC 8829), the sans-IO core under the W3C-style
 * peer connection API.
 *
 * An rtc_pc_t holds transceivers (kind, desired direction, mid, local sending track), an
 * optional data channel, the local ICE credentials and DTLS fingerprint, and the signaling
 * state. It creates offers and answers as SDP text (rtc/sdp) and applies local and remote
 * descriptions, checking the JSEP signaling state machine (RFC 8829 §3.2 / W3C
 * RTCSignalingState). After a description completes a negotiation (state back to stable) the
 * negotiated result is readable from the transceivers: payload types, RTX pairing, header
 * extension ids, current direction, remote SSRCs, the DTLS role and the remote transport.
 *
 * Policies (fixed, see docs/sdp.md):
 *  - bundle policy max-bundle, rtcp-mux policy require: one ICE/DTLS transport for all
 *    m-sections. A remote offer must carry a=group:BUNDLE over its accepted sections (or have
 *    only one) and a=rtcp-mux on every accepted RTP section; else -EPROTO.
 *  - Offers say a=setup:actpass; answers a=setup:active (or passive to an active offer).
 *  - Simulcast: an offered a=simulcast:send with a=rid ... send is accepted when we receive on
 *    that transceiver and rtp-stream-id is negotiated (answer: a=rid:<id> recv and
 *    a=simulcast:recv with the offered list). We never offer simulcast ourselves.
 *  - One extmap id per URI across the whole BUNDLE group (RFC 8843 §9.2, Chromium enforces
 *    it): an answer leaves out an offered extension whose id or URI collides.
 *  - Rejected m-sections have port 0; stopped transceivers' m-sections are recycled by new
 *    transceivers in later offers (RFC 8829 §5.2.2), with a new mid.
 *  - Deviation from W3C: create_offer() assigns mids to new transceivers right away (the
 *    same offer text comes out if it is called twice).
 *
 * Memory: the struct is caller storage (rtc_pc_init/rtc_pc_fini); descriptions are rtc_sdp_t
 * arenas owned by the pc. Not thread-safe: one owner thread (the peer's shard).
 */
#ifndef URTC_RTC_PC_PC_H
#define URTC_RTC_PC_PC_H

#include "net/net.h"
#include "rtc/sdp/sdp.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RTC_PC_MAX_TRANSCEIVERS 32u
#define RTC_PC_MAX_CAPS 16u        /* codec capabilities per kind */
#define RTC_PC_MAX_NEG_CODECS 12u  /* negotiated codecs per transceiver */
#define RTC_PC_MAX_EXTS 16u        /* header extensions per kind */
#define RTC_PC_MAX_EXT_IDS 32u     /* bundle-wide uri <-> id table */
#define RTC_PC_MAX_FB 8u           /* rtcp-fb values per codec */
#define RTC_PC_MAX_LOCAL_CANDS 16u /* local candidates written into descriptions */
#define RTC_PC_MID_LEN 32u         /* longest mid we accept from a peer */
#define RTC_PC_ID_LEN 64u          /* stream/track id, cname */
#define RTC_PC_MAX_RIDS 8u         /* simulcast layers received per transceiver */
#define RTC_PC_RID_LEN 16u

typedef enum rtc_pc_state {
    RTC_PC_STABLE = 0,
    RTC_PC_HAVE_LOCAL_OFFER,
    RTC_PC_HAVE_REMOTE_OFFER,
} rtc_pc_state_t;

typedef enum rtc_pc_sdp_type {
    RTC_PC_OFFER = 0,
    RTC_PC_ANSWER,
    RTC_PC_ROLLBACK, /* text ignored */
} rtc_pc_sdp_type_t;

/* One codec we can send and receive. An RTX stream is offered for it when rtx_pt != 0
 * ("rtx/<clock>" with "apt=<pt>", RFC 4588 §8.6). */
typedef struct rtc_pc_codec {
    uint8_t pt; /* preferred payload type in our offers */
    uint8_t rtx_pt;
    uint16_t channels; /* 0 or 1: mono, not written */
    uint32_t clock_hz;
    char name[24];
    char fmtp[128]; /* "" when none */
    uint8_t fb_cnt;
    char fb[RTC_PC_MAX_FB][24]; /* "nack", "nack pli", "transport-cc" ... */
} rtc_pc_codec_t;

typedef struct rtc_pc_ext {
    uint8_t id; /* preferred id in our offers (1..14) */
    char uri[96];
} rtc_pc_ext_t;

/* What we support for one kind (audio or video), in preference order. */
typedef struct rtc_pc_caps {
    uint8_t codec_cnt, ext_cnt;
    rtc_pc_codec_t codecs[RTC_PC_MAX_CAPS];
    rtc_pc_ext_t exts[RTC_PC_MAX_EXTS];
} rtc_pc_caps_t;

/* A negotiated codec of a transceiver: the payload types of this session. */
typedef struct rtc_pc_neg_codec {
    uint8_t pt;
    uint8_t rtx_pt; /* 0: no RTX negotiated */
    uint8_t cap;    /* index into caps[kind].codecs */
    bool nack;      /* generic NACK negotiated: "a=rtcp-fb:<pt> nack" in the answer (RFC 4585) */
    bool twcc;      /* "a=rtcp-fb:<pt> transport-cc" in the answer (draft-holmer-rmcat-...-01) */
    char fmtp[128]; /* as in the answer */
} rtc_pc_neg_codec_t;

typedef struct rtc_pc_transceiver {
    rtc_sdp_kind_t kind;
    rtc_sdp_dir_t direction;         /* desired (W3C transceiver.direction) */
    rtc_sdp_dir_t current_direction; /* negotiated; NONE before the first negotiation */
    bool stopping;                   /* rtc_pc_transceiver_stop(): rejected in the next offer */
    bool stopped;                    /* its m-section was rejected: never used again */
    bool from_remote;                /* created by a remote offer (removed again on rollback) */
    char mid[RTC_PC_MID_LEN + 1];    /* "" before association */
    int mline;                       /* committed m-section index, -1 none */
    /* local sending track */
    char stream_id[RTC_PC_ID_LEN], track_id[RTC_PC_ID_LEN];
    uint32_t ssrc, rtx_ssrc;
    /* negotiated */
    uint8_t neg_cnt;
    rtc_pc_neg_codec_t neg[RTC_PC_MAX_NEG_CODECS];
    uint32_t remote_ssrc, remote_rtx_ssrc; /* from the remote a=ssrc / FID group, 0 if none */
    char remote_stream_id[RTC_PC_ID_LEN], remote_track_id[RTC_PC_ID_LEN];
    /* simulcast we receive (RFC 8853): the rids of the answer, in a=simulcast order as
     * offered; 0 when not negotiated */
    uint8_t rid_cnt;
    char rids[RTC_PC_MAX_RIDS][RTC_PC_RID_LEN + 1];
} rtc_pc_transceiver_t;

typedef struct rtc_pc_mline { /* one m-section slot */
    int owner;                /* transceiver index, RTC_PC_OWNER_DC or RTC_PC_OWNER_NONE */
    rtc_sdp_kind_t kind;
    bool rejected;    /* port 0: recyclable */
    bool legacy_sctp; /* data channel in the old "DTLS/SCTP 5000" + a=sctpmap form */
    char mid[RTC_PC_MID_LEN + 1];
} rtc_pc_mline_t;

#define RTC_PC_OWNER_NONE (-2)
#define RTC_PC_OWNER_DC (-1)

typedef struct rtc_pc_cfg {
    const char *ice_ufrag; /* RFC 8839 §5.4: 4..256 ice-chars */
    const char *ice_pwd;   /* 22..256 ice-chars */
    rtc_sdp_fingerprint_t fingerprint;
    const char *cname;                  /* RTCP CNAME for a=ssrc lines */
    uint64_t sess_id;                   /* o= session id (random, < 2^63, RFC 8829 §5.2.1) */
    uint64_t ssrc_seed;                 /* SSRCs not given by the caller are derived from it */
    const rtc_pc_caps_t *audio, *video; /* NULL: rtc_pc_default_caps() */
    bool ice_lite;                      /* write a=ice-lite (RFC 8839 §5.3), e.g. for a server */
} rtc_pc_cfg_t;

typedef struct rtc_pc {
    rtc_pc_state_t state;
    bool ice_lite;
    char ice_ufrag[257], ice_pwd[257], cname[RTC_PC_ID_LEN];
    rtc_sdp_fingerprint_t fingerprint;
    char sess_id[24];
    uint64_t sess_version, ssrc_seed;
    rtc_pc_caps_t caps[2]; /* [0] audio, [1] video */
    unsigned tr_cnt;
    rtc_pc_transceiver_t tr[RTC_PC_MAX_TRANSCEIVERS];
    bool dc_wanted;
    unsigned mline_cnt, pend_cnt; /* committed slots; slots of the pending offer */
    rtc_pc_mline_t mlines[RTC_SDP_MAX_MEDIA], pend[RTC_SDP_MAX_MEDIA];
    unsigned next_mid;
    unsigned ext_cnt; /* bundle-wide extension ids (RFC 8843 §9.2) */
    struct {
        uint8_t id;
        char uri[96];
    } ext_ids[RTC_PC_MAX_EXT_IDS];
    unsigned cand_cnt;
    bool end_of_candidates;
    char cands[RTC_PC_MAX_LOCAL_CANDS][256];
    /* descriptions (RFC 8829 §4.1.9 ff.) */
    rtc_sdp_t *cur_local, *cur_remote, *pend_local, *pend_remote;
    /* negotiated transport, valid once a negotiation completed */
    bool negotiated;
    bool dtls_client;                      /* our a=setup is active */
    const char *remote_ufrag, *remote_pwd; /* point into cur_remote */
    const rtc_sdp_fingerprint_t *remote_fp;
    uint16_t remote_sctp_port;
    uint64_t remote_max_message_size; /* 0: not given (RFC 8841 §6.1: assume 64 KiB) */
    bool remote_ice_lite;
    /* A remote offer changed the ICE credentials of an established session (restart, RFC
     * 8839 §4.4.1.1.1): the answer MUST carry new local credentials too. Set by
     * rtc_pc_set_remote(OFFER); cleared by rtc_pc_set_ice_credentials() and by rollback. The
     * caller picks random credentials (rtc/pc has no randomness) before create_answer(). */
    bool ice_restart_needed;
} rtc_pc_t;

/* Fills @pc from @cfg (copied). 0 or -EINVAL (bad credentials or fingerprint). */
WARN_UNUSED int rtc_pc_init(rtc_pc_t *pc, const rtc_pc_cfg_t *cfg);
/* Frees the descriptions. Accepts a zeroed or half-initialised pc. */
void rtc_pc_fini(rtc_pc_t *pc);

/* Built-in capabilities: audio opus/111, PCMU/0, PCMA/8; video VP8/96 (rtx 97), VP9 profile 0
 * /98 (99), H.264 constrained baseline 42e01f packetization-mode 1 /102 (103) and mode 0 /104
 * (105); mid, abs-send-time, transport-cc, audio level, rtp-stream-id extensions. */
const rtc_pc_caps_t *rtc_pc_default_caps(rtc_sdp_kind_t kind);

/* Adds a transceiver (W3C addTransceiver/addTrack). @stream_id/@track_id may be NULL (no
 * a=msid); ssrc 0 derives one from the seed. Returns its index or -ENOSPC / -EINVAL. */
WARN_UNUSED int rtc_pc_add_transceiver(rtc_pc_t *pc, rtc_sdp_kind_t kind, rtc_sdp_dir_t dir,
                                       const char *stream_id, const char *track_id, uint32_t ssrc);
/* W3C transceiver.stop(): its m-section is rejected in the next offer or answer. 0, or -EINVAL
 * for an index out of range (a caller bug only, so the result may be ignored). */
int rtc_pc_transceiver_stop(rtc_pc_t *pc, unsigned idx);
/* Asks for an m=application section in the next offer. */
void rtc_pc_add_data_channel(rtc_pc_t *pc);
/* ICE restart (RFC 8829 §5.2.1, W3C restartIce()): new local credentials for the next offer
 * or answer; the caller restarts its ICE agent with them. Forgets the local candidates.
 * 0 or -EINVAL (RFC 8839 §5.4 grammar). */
WARN_UNUSED int rtc_pc_set_ice_credentials(rtc_pc_t *pc, const char *ufrag, const char *pwd);
/* Local candidates (value after "a=candidate:") put into later descriptions, in the first
 * bundled m-section. 0, -ENOSPC, -EINVAL (too long). @done adds a=end-of-candidates. */
WARN_UNUSED int rtc_pc_add_local_candidate(rtc_pc_t *pc, const char *cand);
void rtc_pc_set_end_of_candidates(rtc_pc_t *pc, bool done);

/* Creates an offer (state stable or have-local-offer) or an answer (have-remote-offer) into
 * @buf. Returns the length, -EINVAL (wrong state; @err->reason says so), -ENOSPC, -ENOMEM,
 * -EPROTO (nothing to answer with is not an error: sections are rejected instead). */
WARN_UNUSED int rtc_pc_create_offer(rtc_pc_t *pc, char *buf, size_t cap, rtc_sdp_err_t *err);
WARN_UNUSED int rtc_pc_create_answer(rtc_pc_t *pc, char *buf, size_t cap, rtc_sdp_err_t *err);

/* setLocalDescription / setRemoteDescription. @text is parsed (errors: -EBADMSG/-EMSGSIZE with
 * the line in @err), checked against the signaling state (-EINVAL) and JSEP rules (-EPROTO:
 * mids/order differ from the offer, missing rtcp-mux, BUNDLE, ICE credentials or
 * fingerprint, setup actpass in an answer, answer codecs not offered). On error nothing
 * changes. */
WARN_UNUSED int rtc_pc_set_local(rtc_pc_t *pc, rtc_pc_sdp_type_t type, const char *text, size_t len,
                                 rtc_sdp_err_t *err);
WARN_UNUSED int rtc_pc_set_remote(rtc_pc_t *pc, rtc_pc_sdp_type_t type, const char *text,
                                  size_t len, rtc_sdp_err_t *err);

/* The direction the remote peer wrote for transceiver @tr's m-section: in the remote offer
 * being answered (have-remote-offer), else in the current remote description. NONE when that
 * description has no section of @tr (or @tr is out of range). */
rtc_sdp_dir_t rtc_pc_remote_direction(const rtc_pc_t *pc, unsigned tr);

/* Lookup of a negotiated extension id by URI (0: not negotiated). */
uint8_t rtc_pc_ext_id(const rtc_pc_t *pc, const char *uri);
/* The capability codec of negotiated codec @n of @t. */
const rtc_pc_codec_t *rtc_pc_neg_codec_cap(const rtc_pc_t *pc, const rtc_pc_transceiver_t *t,
                                           const rtc_pc_neg_codec_t *n);

/* Codec matching (exposed for tests): same name (case-insensitive), clock and channels (0 counts
 * as 1), and for H.264 the same profile (profile_idc and profile-iop, the first two bytes of
 * profile-level-id, default 420010 per RFC 6184 §8.1; the level may differ) and
 * packetization-mode (default 0); VP9 the same profile-id (default 0); AV1 the same profile
 * (default 0). */
bool rtc_pc_codec_match(const char *name_a, uint32_t clock_a, uint16_t ch_a, const char *fmtp_a,
                        const char *name_b, uint32_t clock_b, uint16_t ch_b, const char *fmtp_b);

#endif
