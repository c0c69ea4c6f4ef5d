/* rtc/pc/pc.c: JSEP (RFC 8829) offer/answer over rtc/sdp. See pc.h for the policies.
 *
 * Data flow. An offer (ours from rtc_pc_create_offer(), or a remote one) fixes a "plan":
 * one slot per m-section, each owned by a transceiver, the data channel or nobody
 * (rejected/recyclable), in pc->pend. When the answer arrives (or we set ours), apply()
 * derives the negotiated state from the pair (offer, answer) alone, so a munged local
 * description is taken as written, and commits the plan to pc->mlines.
 */
#include "rtc/pc/pc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PC_SCTP_PORT 5000                /* RFC 8841 §5: the usual default */
#define PC_MAX_MESSAGE_SIZE 262144       /* what Chromium advertises */
#define PC_PROTO_RTP "UDP/TLS/RTP/SAVPF" /* RFC 8829 §5.1.2 */
#define PC_PROTO_SCTP "UDP/DTLS/SCTP"    /* RFC 8841 §4.1 */

/* ---- default capabilities ---------------------------------------------------------------- */

#define VIDEO_FB .fb_cnt = 5, .fb = {"goog-remb", "transport-cc", "ccm fir", "nack", "nack pli"}

static const rtc_pc_caps_t default_audio = {
    .codec_cnt = 3,
    .codecs =
        {
            {.pt = 111,
             .channels = 2,
             .clock_hz = 48000,
             .name = "opus",
             .fmtp = "minptime=10;useinbandfec=1",
             .fb_cnt = 1,
             .fb = {"transport-cc"}},
            {.pt = 0, .clock_hz = 8000, .name = "PCMU"},
            {.pt = 8, .clock_hz = 8000, .name = "PCMA"},
        },
    .ext_cnt = 4,
    .exts =
        {
            {1, "urn:ietf:params:rtp-hdrext:ssrc-audio-level"},
            {2, "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"},
            {3, "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"},
            {4, "urn:ietf:params:rtp-hdrext:sdes:mid"},
        },
};

static const rtc_pc_caps_t default_video = {
    .codec_cnt = 4,
    .codecs =
        {
            {.pt = 96, .rtx_pt = 97, .clock_hz = 90000, .name = "VP8", VIDEO_FB},
            {.pt = 98,
             .rtx_pt = 99,
             .clock_hz = 90000,
             .name = "VP9",
             .fmtp = "profile-id=0",
             VIDEO_FB},
            {.pt = 102,
             .rtx_pt = 103,
             .clock_hz = 90000,
             .name = "H264",
             .fmtp = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
             VIDEO_FB},
            {.pt = 104,
             .rtx_pt = 105,
             .clock_hz = 90000,
             .name = "H264",
             .fmtp = "level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f",
             VIDEO_FB},
        },
    .ext_cnt = 5,
    .exts =
        {
            {2, "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"},
            {3, "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"},
            {4, "urn:ietf:params:rtp-hdrext:sdes:mid"},
            {10, "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"},
            {11, "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"},
        },
};

const rtc_pc_caps_t *rtc_pc_default_caps(rtc_sdp_kind_t kind)
{
    return kind == RTC_SDP_KIND_VIDEO ? &default_video : &default_audio;
}

static const rtc_pc_caps_t *caps_of(const rtc_pc_t *pc, rtc_sdp_kind_t kind)
{
    return &pc->caps[kind == RTC_SDP_KIND_VIDEO];
}

/* ---- small helpers ----------------------------------------------------------------------- */

static int pc_fail(rtc_sdp_err_t *err, int rc, unsigned line, const char *reason)
{
    if (err) {
        err->line = line;
        err->reason = reason;
    }
    return rc;
}

static bool dir_send(rtc_sdp_dir_t d)
{
    return d == RTC_SDP_DIR_SENDRECV || d == RTC_SDP_DIR_SENDONLY;
}

static bool dir_recv(rtc_sdp_dir_t d)
{
    return d == RTC_SDP_DIR_SENDRECV || d == RTC_SDP_DIR_RECVONLY;
}

static rtc_sdp_dir_t dir_make(bool send, bool recv)
{
    if (send && recv)
        return RTC_SDP_DIR_SENDRECV;
    if (send)
        return RTC_SDP_DIR_SENDONLY;
    if (recv)
        return RTC_SDP_DIR_RECVONLY;
    return RTC_SDP_DIR_INACTIVE;
}

/* The other side's view of a direction. */
static rtc_sdp_dir_t dir_reverse(rtc_sdp_dir_t d)
{
    return dir_make(dir_recv(d), dir_send(d));
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

static bool ice_str_ok(const char *s, size_t min)
{
    size_t n = s ? strlen(s) : 0;
    if (n < min || n > 256)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/'))
            return false;
    }
    return true;
}

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint32_t new_ssrc(rtc_pc_t *pc)
{
    for (;;) {
        uint32_t s = (uint32_t)splitmix64(&pc->ssrc_seed);
        if (s)
            return s;
    }
}

static bool has_other(const rtc_sdp_media_t *m, const char *text)
{
    for (unsigned i = 0; i < m->a.other_cnt; i++)
        if (m->a.other[i].type == 'a' && !strcmp(m->a.other[i].text, text))
            return true;
    return false;
}

/* RFC 8843 §7.2: port 0 with a=bundle-only is not a rejection. */
static bool media_accepted(const rtc_sdp_media_t *m)
{
    return m->port != 0 || has_other(m, "bundle-only");
}

static bool proto_is_sctp(const char *proto)
{
    return strstr(proto, "SCTP") != NULL;
}

/* ---- codec matching ---------------------------------------------------------------------- */

static int fmtp_uint(const char *fmtp, const char *key, int base, unsigned long def)
{
    char v[32];
    if (rtc_sdp_fmtp_get(fmtp, key, v, sizeof v) < 0)
        return (int)def;
    char *end;
    unsigned long x = strtoul(v, &end, base);
    if (*end || end == v)
        return -1;
    return (int)(x & 0xffffff);
}

bool rtc_pc_codec_match(const char *name_a, uint32_t clock_a, uint16_t ch_a, const char *fmtp_a,
                        const char *name_b, uint32_t clock_b, uint16_t ch_b, const char *fmtp_b)
{
    if (!name_a || !name_b || strcasecmp(name_a, name_b) || clock_a != clock_b)
        return false;
    if ((ch_a ? ch_a : 1) != (ch_b ? ch_b : 1))
        return false;
    if (!strcasecmp(name_a, "H264")) {
        /* RFC 6184 §8.1: packetization-mode defaults to 0, profile-level-id to 420010. The
         * level may differ (level-asymmetry-allowed, §8.2.2); the profile (profile_idc and
         * profile-iop) and the mode must be equal. */
        if (fmtp_uint(fmtp_a, "packetization-mode", 10, 0) !=
            fmtp_uint(fmtp_b, "packetization-mode", 10, 0))
            return false;
        int pa = fmtp_uint(fmtp_a, "profile-level-id", 16, 0x420010);
        int pb = fmtp_uint(fmtp_b, "profile-level-id", 16, 0x420010);
        return pa >= 0 && pb >= 0 && (pa >> 8) == (pb >> 8);
    }
    if (!strcasecmp(name_a, "VP9")) /* draft-ietf-payload-vp9 §6: profile-id default 0 */
        return fmtp_uint(fmtp_a, "profile-id", 10, 0) == fmtp_uint(fmtp_b, "profile-id", 10, 0);
    if (!strcasecmp(name_a, "AV1")) /* AV1 RTP spec §7.2.1: profile default 0 */
        return fmtp_uint(fmtp_a, "profile", 10, 0) == fmtp_uint(fmtp_b, "profile", 10, 0);
    return true;
}

/* RFC 3551 §6 static payload types that may come without a=rtpmap. */
static void static_pt(const rtc_sdp_codec_t *c, const char **name, uint32_t *hz)
{
    *name = c->name;
    *hz = c->clock_hz;
    if (c->name)
        return;
    if (c->pt == 0)
        *name = "PCMU", *hz = 8000;
    else if (c->pt == 8)
        *name = "PCMA", *hz = 8000;
    else if (c->pt == 9)
        *name = "G722", *hz = 8000;
}

static int cap_find(const rtc_pc_caps_t *caps, const rtc_sdp_codec_t *c)
{
    const char *name;
    uint32_t hz;
    static_pt(c, &name, &hz);
    if (!name || !strcasecmp(name, "rtx"))
        return -1;
    for (unsigned i = 0; i < caps->codec_cnt; i++) {
        const rtc_pc_codec_t *k = &caps->codecs[i];
        if (rtc_pc_codec_match(name, hz, c->channels, c->fmtp, k->name, k->clock_hz, k->channels,
                               k->fmtp[0] ? k->fmtp : NULL))
            return (int)i;
    }
    return -1;
}

/* The rtx payload type of @m whose apt is @pt (RFC 4588 §8.6), or -1. */
static int rtx_for(const rtc_sdp_media_t *m, unsigned pt)
{
    for (unsigned i = 0; i < m->codec_cnt; i++) {
        const rtc_sdp_codec_t *c = &m->codecs[i];
        if (c->name && !strcasecmp(c->name, "rtx") &&
            fmtp_uint(c->fmtp, "apt", 10, 1000) == (int)pt)
            return c->pt;
    }
    return -1;
}

static bool fb_supported(const rtc_pc_codec_t *k, const char *fb)
{
    for (unsigned i = 0; i < k->fb_cnt; i++)
        if (!strcmp(k->fb[i], fb))
            return true;
    return false;
}

/* ---- extension id table (one id per URI across the BUNDLE group, RFC 8843 §9.2) ----------- */

typedef struct ext_tab {
    unsigned cnt;
    struct {
        uint8_t id;
        char uri[96];
    } e[RTC_PC_MAX_EXT_IDS];
} ext_tab_t;

_Static_assert(sizeof(((rtc_pc_t *)0)->ext_ids) == sizeof(((ext_tab_t *)0)->e), "ext table layout");

static int ext_tab_id(const ext_tab_t *t, const char *uri)
{
    for (unsigned i = 0; i < t->cnt; i++)
        if (!strcmp(t->e[i].uri, uri))
            return t->e[i].id;
    return 0;
}

static bool ext_tab_id_used(const ext_tab_t *t, unsigned id)
{
    for (unsigned i = 0; i < t->cnt; i++)
        if (t->e[i].id == id)
            return true;
    return false;
}

/* Adds uri=id unless it collides; true if the pair is (now) in the table. */
static bool ext_tab_put(ext_tab_t *t, const char *uri, unsigned id)
{
    int have = ext_tab_id(t, uri);
    if (have)
        return have == (int)id;
    if (ext_tab_id_used(t, id) || t->cnt >= RTC_PC_MAX_EXT_IDS || strlen(uri) >= 96)
        return false;
    t->e[t->cnt].id = (uint8_t)id;
    copy_str(t->e[t->cnt].uri, sizeof t->e[t->cnt].uri, uri);
    t->cnt++;
    return true;
}

static void ext_tab_load(ext_tab_t *t, const rtc_pc_t *pc)
{
    t->cnt = pc->ext_cnt;
    memcpy(t->e, pc->ext_ids, sizeof t->e);
}

static void ext_tab_store(rtc_pc_t *pc, const ext_tab_t *t)
{
    pc->ext_cnt = t->cnt;
    memcpy(pc->ext_ids, t->e, sizeof pc->ext_ids);
}

uint8_t rtc_pc_ext_id(const rtc_pc_t *pc, const char *uri)
{
    for (unsigned i = 0; i < pc->ext_cnt; i++)
        if (!strcmp(pc->ext_ids[i].uri, uri))
            return pc->ext_ids[i].id;
    return 0;
}

/* ---- init -------------------------------------------------------------------------------- */

int rtc_pc_init(rtc_pc_t *pc, const rtc_pc_cfg_t *cfg)
{
    memset(pc, 0, sizeof *pc);
    if (!ice_str_ok(cfg->ice_ufrag, 4) || !ice_str_ok(cfg->ice_pwd, 22))
        return -EINVAL;
    if (!rtc_sdp_hash_len(cfg->fingerprint.hash) ||
        cfg->fingerprint.len != rtc_sdp_hash_len(cfg->fingerprint.hash))
        return -EINVAL;
    copy_str(pc->ice_ufrag, sizeof pc->ice_ufrag, cfg->ice_ufrag);
    copy_str(pc->ice_pwd, sizeof pc->ice_pwd, cfg->ice_pwd);
    copy_str(pc->cname, sizeof pc->cname, cfg->cname ? cfg->cname : "urtc");
    pc->fingerprint = cfg->fingerprint;
    pc->ice_lite = cfg->ice_lite;
    /* RFC 8829 §5.2.1: sess-id < 2^63 */
    snprintf(pc->sess_id, sizeof pc->sess_id, "%llu",
             (unsigned long long)(cfg->sess_id & 0x7fffffffffffffffull));
    pc->sess_version = 1;
    pc->ssrc_seed = cfg->ssrc_seed;
    pc->caps[0] = cfg->audio ? *cfg->audio : default_audio;
    pc->caps[1] = cfg->video ? *cfg->video : default_video;
    return 0;
}

void rtc_pc_fini(rtc_pc_t *pc)
{
    if (!pc)
        return;
    rtc_sdp_destroy(pc->cur_local);
    rtc_sdp_destroy(pc->cur_remote);
    rtc_sdp_destroy(pc->pend_local);
    rtc_sdp_destroy(pc->pend_remote);
    pc->cur_local = pc->cur_remote = pc->pend_local = pc->pend_remote = NULL;
}

int rtc_pc_add_transceiver(rtc_pc_t *pc, rtc_sdp_kind_t kind, rtc_sdp_dir_t dir,
                           const char *stream_id, const char *track_id, uint32_t ssrc)
{
    if ((kind != RTC_SDP_KIND_AUDIO && kind != RTC_SDP_KIND_VIDEO) || !dir)
        return -EINVAL;
    if (pc->tr_cnt >= RTC_PC_MAX_TRANSCEIVERS)
        return -ENOSPC;
    rtc_pc_transceiver_t *t = &pc->tr[pc->tr_cnt];
    memset(t, 0, sizeof *t);
    t->kind = kind;
    t->direction = dir;
    t->mline = -1;
    copy_str(t->stream_id, sizeof t->stream_id, stream_id);
    copy_str(t->track_id, sizeof t->track_id, track_id);
    t->ssrc = ssrc ? ssrc : new_ssrc(pc);
    t->rtx_ssrc = new_ssrc(pc);
    return (int)pc->tr_cnt++;
}

rtc_sdp_dir_t rtc_pc_remote_direction(const rtc_pc_t *pc, unsigned tr)
{
    if (tr >= pc->tr_cnt)
        return RTC_SDP_DIR_NONE;
    if (pc->state == RTC_PC_HAVE_REMOTE_OFFER && pc->pend_remote) {
        for (unsigned i = 0; i < pc->pend_cnt && i < pc->pend_remote->media_cnt; i++)
            if (pc->pend[i].owner == (int)tr)
                return rtc_sdp_dir(pc->pend_remote, pc->pend_remote->media[i]);
        return RTC_SDP_DIR_NONE;
    }
    int ml = pc->tr[tr].mline;
    if (!pc->cur_remote || ml < 0 || (unsigned)ml >= pc->cur_remote->media_cnt)
        return RTC_SDP_DIR_NONE;
    return rtc_sdp_dir(pc->cur_remote, pc->cur_remote->media[ml]);
}

int rtc_pc_transceiver_stop(rtc_pc_t *pc, unsigned idx)
{
    if (idx >= pc->tr_cnt)
        return -EINVAL;
    pc->tr[idx].stopping = true;
    pc->tr[idx].direction = RTC_SDP_DIR_INACTIVE;
    return 0;
}

void rtc_pc_add_data_channel(rtc_pc_t *pc)
{
    pc->dc_wanted = true;
}

int rtc_pc_set_ice_credentials(rtc_pc_t *pc, const char *ufrag, const char *pwd)
{
    if (!ice_str_ok(ufrag, 4) || !ice_str_ok(pwd, 22))
        return -EINVAL;
    copy_str(pc->ice_ufrag, sizeof pc->ice_ufrag, ufrag);
    copy_str(pc->ice_pwd, sizeof pc->ice_pwd, pwd);
    pc->cand_cnt = 0; /* candidates belong to the old credentials */
    pc->ice_restart_needed = false;
    pc->end_of_candidates = false;
    return 0;
}

int rtc_pc_add_local_candidate(rtc_pc_t *pc, const char *cand)
{
    if (pc->cand_cnt >= RTC_PC_MAX_LOCAL_CANDS)
        return -ENOSPC;
    if (!cand || !*cand || strlen(cand) >= sizeof pc->cands[0])
        return -EINVAL;
    copy_str(pc->cands[pc->cand_cnt++], sizeof pc->cands[0], cand);
    return 0;
}

void rtc_pc_set_end_of_candidates(rtc_pc_t *pc, bool done)
{
    pc->end_of_candidates = done;
}

const rtc_pc_codec_t *rtc_pc_neg_codec_cap(const rtc_pc_t *pc, const rtc_pc_transceiver_t *t,
                                           const rtc_pc_neg_codec_t *n)
{
    const rtc_pc_caps_t *c = caps_of(pc, t->kind);
    return n->cap < c->codec_cnt ? &c->codecs[n->cap] : NULL;
}

/* ---- writing m-sections ------------------------------------------------------------------ */

static int put_transport(rtc_pc_t *pc, rtc_sdp_t *s, rtc_sdp_media_t *m, rtc_sdp_setup_t setup,
                         bool with_cands)
{
    m->a.conn = (rtc_sdp_conn_t){"IN", "IP4", "0.0.0.0"};
    if (with_cands) {
        for (unsigned i = 0; i < pc->cand_cnt; i++)
            if (rtc_sdp_candidate_add(s, m, pc->cands[i]) < 0)
                return -ENOMEM;
        m->end_of_candidates = pc->end_of_candidates;
    }
    m->a.ice_ufrag = pc->ice_ufrag; /* pc outlives the write; parse copies on apply */
    m->a.ice_pwd = pc->ice_pwd;
    m->a.ice_options = "trickle";
    m->a.fingerprints[0] = pc->fingerprint;
    m->a.fingerprint_cnt = 1;
    m->a.setup = setup;
    return 0;
}

/* a=msid and a=ssrc lines for a sending transceiver (RFC 8830 §2, RFC 5576 §4). */
static int put_ssrcs(rtc_pc_t *pc, rtc_sdp_t *s, rtc_sdp_media_t *m, const rtc_pc_transceiver_t *t,
                     bool rtx)
{
    const char *stream = t->stream_id[0] ? t->stream_id : "-";
    if (t->track_id[0] && rtc_sdp_msid_add(s, m, stream, t->track_id) < 0)
        return -ENOMEM;
    if (rtx) {
        uint32_t fid[2] = {t->ssrc, t->rtx_ssrc};
        if (rtc_sdp_ssrc_group_add(s, m, "FID", fid, 2) < 0)
            return -ENOMEM;
    }
    for (unsigned k = 0; k < (rtx ? 2u : 1u); k++) {
        uint32_t ssrc = k ? t->rtx_ssrc : t->ssrc;
        if (rtc_sdp_ssrc_add(s, m, ssrc, "cname", pc->cname) < 0)
            return -ENOMEM;
        if (t->track_id[0]) {
            const char *v = rtc_sdp_printf(s, "%s %s", stream, t->track_id);
            if (!v || rtc_sdp_ssrc_add(s, m, ssrc, "msid", v) < 0)
                return -ENOMEM;
        }
    }
    return 0;
}

static int put_codec(rtc_sdp_t *s, rtc_sdp_media_t *m, const rtc_pc_codec_t *k, unsigned pt,
                     const char *fmtp, unsigned rtx_pt)
{
    if (rtc_sdp_codec_add(s, m, (uint8_t)pt, k->name, k->clock_hz,
                          k->channels > 1 ? k->channels : 0, fmtp) < 0)
        return -ENOMEM;
    for (unsigned i = 0; i < k->fb_cnt; i++)
        if (rtc_sdp_fb_add(s, m, (int)pt, k->fb[i]) < 0)
            return -ENOMEM;
    if (rtx_pt) {
        char apt[16];
        snprintf(apt, sizeof apt, "apt=%u", pt);
        if (rtc_sdp_codec_add(s, m, (uint8_t)rtx_pt, "rtx", k->clock_hz, 0, apt) < 0)
            return -ENOMEM;
    }
    return 0;
}

/* A rejected m-section (RFC 8829 §5.2.2 / §5.3.1 and RFC 3264 §6: port 0, one format). */
static int put_rejected(rtc_sdp_t *s, const char *media, const char *proto, const char *fmt, int pt,
                        const char *mid)
{
    rtc_sdp_media_t *m = rtc_sdp_media_add(s, media, 0, proto, fmt);
    if (!m)
        return -ENOMEM;
    if (m->rtp && rtc_sdp_codec_add(s, m, (uint8_t)(pt >= 0 ? pt : 0), NULL, 0, 0, NULL) < 0)
        return -ENOMEM;
    m->a.conn = (rtc_sdp_conn_t){"IN", "IP4", "0.0.0.0"};
    if (!mid || !*mid) /* a rejected offer section may lack a mid: mirror that */
        return 0;
    m->mid = rtc_sdp_strdup(s, mid);
    return m->mid ? 0 : -ENOMEM;
}

static const char *kind_name(rtc_sdp_kind_t k)
{
    return k == RTC_SDP_KIND_VIDEO ? "video" : k == RTC_SDP_KIND_AUDIO ? "audio" : "application";
}

/* ---- offer ------------------------------------------------------------------------------- */

static bool mid_in_use(const rtc_pc_t *pc, const rtc_pc_mline_t *plan, unsigned cnt,
                       const char *mid, const rtc_pc_transceiver_t *skip)
{
    for (unsigned i = 0; i < cnt; i++)
        if (!strcmp(plan[i].mid, mid))
            return true;
    for (unsigned i = 0; i < pc->mline_cnt; i++)
        if (!strcmp(pc->mlines[i].mid, mid))
            return true;
    for (unsigned i = 0; i < pc->tr_cnt; i++)
        if (&pc->tr[i] != skip && !strcmp(pc->tr[i].mid, mid))
            return true;
    return false;
}

static void new_mid(rtc_pc_t *pc, const rtc_pc_mline_t *plan, unsigned cnt, char *out)
{
    char mid[RTC_PC_MID_LEN + 1]; /* @out may be a transceiver's mid: build it aside */
    for (;;) {
        snprintf(mid, sizeof mid, "%u", pc->next_mid++);
        if (!mid_in_use(pc, plan, cnt, mid, NULL))
            break;
    }
    memcpy(out, mid, sizeof mid);
}

/* A slot for a new m-section: a recyclable one (rejected in the current description, RFC
 * 8829 §5.2.2) or a new one at the end. -ENOSPC when RTC_SDP_MAX_MEDIA are in use. */
static int take_slot(rtc_pc_t *pc, rtc_pc_mline_t *plan, unsigned *cnt, bool *recycled)
{
    for (unsigned i = 0; i < *cnt && i < pc->mline_cnt; i++)
        if (pc->mlines[i].rejected && pc->mlines[i].owner == RTC_PC_OWNER_NONE &&
            plan[i].owner == RTC_PC_OWNER_NONE && !recycled[i]) {
            recycled[i] = true;
            return (int)i;
        }
    if (*cnt >= RTC_SDP_MAX_MEDIA)
        return -ENOSPC;
    return (int)(*cnt)++;
}

static int offer_rtp_section(rtc_pc_t *pc, rtc_sdp_t *s, ext_tab_t *ext, rtc_pc_transceiver_t *t,
                             const char *mid, bool cands)
{
    const rtc_pc_caps_t *caps = caps_of(pc, t->kind);
    rtc_sdp_media_t *m = rtc_sdp_media_add(s, kind_name(t->kind), 9, PC_PROTO_RTP, NULL);
    if (!m || put_transport(pc, s, m, RTC_SDP_SETUP_ACTPASS, cands) < 0)
        return -ENOMEM;
    if (!(m->mid = rtc_sdp_strdup(s, mid)))
        return -ENOMEM;
    for (unsigned i = 0; i < caps->ext_cnt; i++) {
        const rtc_pc_ext_t *e = &caps->exts[i];
        int id = ext_tab_id(ext, e->uri);
        if (!id) {
            /* RFC 8285 §5: one-byte ids 1..14; keep a new URI off ids in use */
            unsigned want = e->id;
            if (!want || want > 14 || ext_tab_id_used(ext, want))
                for (want = 1; want <= 14 && ext_tab_id_used(ext, want); want++)
                    ;
            if (want > 14 || !ext_tab_put(ext, e->uri, want))
                continue;
            id = (int)want;
        }
        if (rtc_sdp_extmap_add(s, &m->a, (uint16_t)id, RTC_SDP_DIR_NONE, e->uri, NULL) < 0)
            return -ENOMEM;
    }
    m->a.dir = t->direction;
    m->rtcp_mux = true;
    m->rtcp_rsize = true;
    bool any_rtx = false;
    if (t->neg_cnt) { /* RFC 8829 §5.2.2: keep the payload types negotiated before */
        for (unsigned i = 0; i < t->neg_cnt; i++) {
            const rtc_pc_neg_codec_t *n = &t->neg[i];
            if (put_codec(s, m, &caps->codecs[n->cap], n->pt, n->fmtp, n->rtx_pt) < 0)
                return -ENOMEM;
            any_rtx |= n->rtx_pt != 0;
        }
    } else {
        for (unsigned i = 0; i < caps->codec_cnt; i++) {
            const rtc_pc_codec_t *k = &caps->codecs[i];
            if (put_codec(s, m, k, k->pt, k->fmtp, k->rtx_pt) < 0)
                return -ENOMEM;
            any_rtx |= k->rtx_pt != 0;
        }
    }
    if (dir_send(t->direction) && put_ssrcs(pc, s, m, t, any_rtx) < 0)
        return -ENOMEM;
    return 0;
}

static int dc_section(rtc_pc_t *pc, rtc_sdp_t *s, const char *mid, bool legacy, rtc_sdp_setup_t st,
                      bool cands)
{
    rtc_sdp_media_t *m =
        rtc_sdp_media_add(s, "application", 9, legacy ? "DTLS/SCTP" : PC_PROTO_SCTP,
                          legacy ? "5000" : "webrtc-datachannel");
    if (!m || put_transport(pc, s, m, st, cands) < 0 || !(m->mid = rtc_sdp_strdup(s, mid)))
        return -ENOMEM;
    if (legacy) { /* draft-ietf-mmusic-sctp-sdp-05 form, as aiortc 1.4 offers it */
        if (rtc_sdp_other_add(s, &m->a, 'a', "sctpmap:5000 webrtc-datachannel 65535") < 0)
            return -ENOMEM;
    } else {
        m->sctp_port = PC_SCTP_PORT;
        m->has_max_message_size = true;
        m->max_message_size = PC_MAX_MESSAGE_SIZE;
    }
    return 0;
}

static rtc_sdp_t *desc_new(rtc_pc_t *pc)
{
    rtc_sdp_t *s = rtc_sdp_create(pc->sess_id, pc->sess_version++);
    if (!s)
        return NULL;
    s->origin_addr = "0.0.0.0";
    s->msid_semantic = "WMS";
    s->msid_semantic_ids = "*";
    s->a.ice_lite = pc->ice_lite;
    return s;
}

static int finish(rtc_sdp_t *s, const char *const *bundle, unsigned bundle_cnt, char *buf,
                  size_t cap)
{
    int rc = 0;
    if (bundle_cnt && rtc_sdp_group_add(s, "BUNDLE", bundle, bundle_cnt) < 0)
        rc = -ENOMEM;
    if (!rc)
        rc = rtc_sdp_write(s, buf, cap);
    rtc_sdp_destroy(s);
    return rc;
}

int rtc_pc_create_offer(rtc_pc_t *pc, char *buf, size_t cap, rtc_sdp_err_t *err)
{
    if (pc->state == RTC_PC_HAVE_REMOTE_OFFER)
        return pc_fail(err, -EINVAL, 0, "create_offer in have-remote-offer");
    /* The plan: the current m-sections, stopping transceivers rejected, then new ones. */
    rtc_pc_mline_t plan[RTC_SDP_MAX_MEDIA];
    bool recycled[RTC_SDP_MAX_MEDIA] = {0};
    unsigned cnt = pc->mline_cnt;
    memcpy(plan, pc->mlines, sizeof plan[0] * cnt);
    bool have_dc = false;
    for (unsigned i = 0; i < cnt; i++) {
        if (plan[i].owner >= 0) {
            rtc_pc_transceiver_t *t = &pc->tr[plan[i].owner];
            if (t->stopping || t->stopped)
                plan[i].rejected = true;
        } else if (plan[i].owner == RTC_PC_OWNER_DC && !plan[i].rejected) {
            have_dc = true;
        }
    }
    for (unsigned k = 0; k < pc->tr_cnt; k++) {
        rtc_pc_transceiver_t *t = &pc->tr[k];
        if (t->mline >= 0 || t->stopping || t->stopped)
            continue;
        int i = take_slot(pc, plan, &cnt, recycled);
        if (i < 0)
            return pc_fail(err, -ENOSPC, 0, "too many m-sections");
        plan[i] = (rtc_pc_mline_t){.owner = (int)k, .kind = t->kind};
        if (!t->mid[0] || mid_in_use(pc, plan, (unsigned)i, t->mid, t)) /* keep a proposed mid */
            new_mid(pc, plan, cnt, t->mid);
        copy_str(plan[i].mid, sizeof plan[i].mid, t->mid);
    }
    if (pc->dc_wanted && !have_dc) {
        int i = take_slot(pc, plan, &cnt, recycled);
        if (i < 0)
            return pc_fail(err, -ENOSPC, 0, "too many m-sections");
        plan[i] = (rtc_pc_mline_t){.owner = RTC_PC_OWNER_DC, .kind = RTC_SDP_KIND_APPLICATION};
        new_mid(pc, plan, cnt, plan[i].mid);
    }

    rtc_sdp_t *s = desc_new(pc);
    if (!s)
        return pc_fail(err, -ENOMEM, 0, "out of memory");
    s->a.extmap_allow_mixed = true;
    ext_tab_t ext;
    ext_tab_load(&ext, pc);
    const char *bundle[RTC_SDP_MAX_MEDIA];
    unsigned bcnt = 0;
    int rc = 0;
    for (unsigned i = 0; i < cnt && !rc; i++) {
        rtc_pc_mline_t *p = &plan[i];
        if (p->rejected) {
            bool dc = p->kind == RTC_SDP_KIND_APPLICATION;
            rc = put_rejected(s, kind_name(p->kind), dc ? PC_PROTO_SCTP : PC_PROTO_RTP,
                              dc ? "webrtc-datachannel" : NULL,
                              p->kind == RTC_SDP_KIND_VIDEO ? 96 : 111, p->mid);
            continue;
        }
        bool cands = bcnt == 0; /* candidates go with the BUNDLE tag */
        bundle[bcnt++] = p->mid;
        if (p->owner >= 0)
            rc = offer_rtp_section(pc, s, &ext, &pc->tr[p->owner], p->mid, cands);
        else
            rc = dc_section(pc, s, p->mid, p->legacy_sctp, RTC_SDP_SETUP_ACTPASS, cands);
    }
    if (rc < 0) {
        rtc_sdp_destroy(s);
        return pc_fail(err, rc, 0, "out of memory");
    }
    rc = finish(s, bundle, bcnt, buf, cap);
    if (rc < 0)
        return pc_fail(err, rc, 0, rc == -ENOSPC ? "buffer too small" : "out of memory");
    ext_tab_store(pc, &ext); /* proposed ids stay stable across repeated offers */
    memcpy(pc->pend, plan, sizeof plan[0] * cnt);
    pc->pend_cnt = cnt;
    return rc;
}

/* ---- checks on a description ------------------------------------------------------------- */

/* JSEP transport checks on every accepted section (max-bundle, rtcp-mux require). */
static int check_desc(const rtc_sdp_t *s, bool answer, rtc_sdp_err_t *err)
{
    const rtc_sdp_group_t *b = rtc_sdp_group_find(s, "BUNDLE");
    unsigned accepted = 0;
    for (unsigned i = 0; i < s->media_cnt; i++) {
        const rtc_sdp_media_t *m = s->media[i];
        if (!media_accepted(m))
            continue;
        accepted++;
        if (!m->mid) /* RFC 8829 §5.8: every m-section has a mid */
            return pc_fail(err, -EPROTO, 0, "m-section without a=mid");
        if (strlen(m->mid) > RTC_PC_MID_LEN)
            return pc_fail(err, -EPROTO, 0, "mid too long");
        if (m->rtp && !m->rtcp_mux) /* rtcp-mux policy require (RFC 8829 §4.1.1) */
            return pc_fail(err, -EPROTO, 0, "rtcp-mux required");
        if (!rtc_sdp_ice_ufrag(s, m) || !rtc_sdp_ice_pwd(s, m))
            return pc_fail(err, -EPROTO, 0, "missing ice-ufrag/ice-pwd");
        if (!rtc_sdp_fingerprint(s, m))
            return pc_fail(err, -EPROTO, 0, "missing fingerprint");
        rtc_sdp_setup_t st = rtc_sdp_setup(s, m);
        if (st == RTC_SDP_SETUP_HOLDCONN)
            return pc_fail(err, -EPROTO, 0, "setup:holdconn not supported");
        /* RFC 8842 §5.3: the answerer MUST NOT say actpass */
        if (answer && st == RTC_SDP_SETUP_ACTPASS)
            return pc_fail(err, -EPROTO, 0, "setup:actpass in an answer");
        if (accepted > 1 || b) {
            bool in = false;
            for (unsigned k = 0; b && k < b->mid_cnt; k++)
                in |= !strcmp(b->mids[k], m->mid);
            if (!in) /* max-bundle: one transport for all */
                return pc_fail(err, -EPROTO, 0, "accepted m-section outside the BUNDLE group");
        }
    }
    return 0;
}

/* The section whose transport the BUNDLE group uses: the first accepted mid of the group
 * (RFC 8843 §7.2.1 offerer tag) or else the first accepted section. */
static const rtc_sdp_media_t *bundle_tag(const rtc_sdp_t *s)
{
    const rtc_sdp_group_t *b = rtc_sdp_group_find(s, "BUNDLE");
    for (unsigned k = 0; b && k < b->mid_cnt; k++) {
        const rtc_sdp_media_t *m = rtc_sdp_media_by_mid(s, b->mids[k]);
        if (m && media_accepted(m))
            return m;
    }
    for (unsigned i = 0; i < s->media_cnt; i++)
        if (media_accepted(s->media[i]))
            return s->media[i];
    return NULL;
}

/* ---- answer ------------------------------------------------------------------------------ */

/* Our a=setup in an answer. The offerer's explicit role decides; with "actpass" we take
 * "active" (RFC 8842 §5.3), except that once a negotiation completed the DTLS association
 * exists and keeps its roles (RFC 8842 §5.5: a new association needs new fingerprints or
 * transport): a browser's re-offer says actpass again, and an answer flipping the roles is
 * refused ("Failed to set SSL role"). */
static rtc_sdp_setup_t answer_setup(const rtc_pc_t *pc, const rtc_sdp_t *off,
                                    const rtc_sdp_media_t *om)
{
    rtc_sdp_setup_t os = rtc_sdp_setup(off, om);
    if (os == RTC_SDP_SETUP_ACTIVE)
        return RTC_SDP_SETUP_PASSIVE;
    if (os == RTC_SDP_SETUP_PASSIVE || !pc->negotiated)
        return RTC_SDP_SETUP_ACTIVE;
    return pc->dtls_client ? RTC_SDP_SETUP_ACTIVE : RTC_SDP_SETUP_PASSIVE;
}

static int answer_rtp_section(rtc_pc_t *pc, rtc_sdp_t *s, ext_tab_t *ext, const rtc_sdp_t *off,
                              const rtc_sdp_media_t *om, rtc_pc_transceiver_t *t, bool cands)
{
    const rtc_pc_caps_t *caps = caps_of(pc, t->kind);
    /* Codec intersection in the offerer's order, with its payload types (RFC 8829 §5.3.1). */
    struct {
        const rtc_sdp_codec_t *oc;
        int cap, rtx;
    } pick[RTC_PC_MAX_NEG_CODECS];
    unsigned n = 0;
    for (unsigned i = 0; i < om->codec_cnt && n < RTC_PC_MAX_NEG_CODECS; i++) {
        const rtc_sdp_codec_t *oc = &om->codecs[i];
        int ci = cap_find(caps, oc);
        if (ci < 0)
            continue;
        int rtx = caps->codecs[ci].rtx_pt ? rtx_for(om, oc->pt) : -1;
        pick[n++] = (typeof(pick[0])){oc, ci, rtx};
    }
    if (!n)
        return 1; /* nothing in common: reject */

    rtc_sdp_media_t *m = rtc_sdp_media_add(s, om->media, 9, om->proto, NULL);
    if (!m || put_transport(pc, s, m, answer_setup(pc, off, om), cands) < 0 ||
        !(m->mid = rtc_sdp_strdup(s, om->mid)))
        return -ENOMEM;
    /* Header extensions we know, with the offered id, unless the id or the URI is already
     * bound otherwise in this BUNDLE group (RFC 8843 §9.2; aiortc 1.4 offers such). */
    for (unsigned i = 0; i < om->a.extmap_cnt; i++) {
        const rtc_sdp_extmap_t *e = &om->a.extmaps[i];
        bool known = false;
        for (unsigned k = 0; k < caps->ext_cnt; k++)
            known |= !strcmp(caps->exts[k].uri, e->uri);
        if (!known || !ext_tab_put(ext, e->uri, e->id))
            continue;
        if (rtc_sdp_extmap_add(s, &m->a, e->id, RTC_SDP_DIR_NONE, e->uri, NULL) < 0)
            return -ENOMEM;
    }
    /* RFC 3264 §6.1: our direction is what we want, limited by the reverse of the offer's. */
    rtc_sdp_dir_t od = rtc_sdp_dir(off, om);
    m->a.dir =
        dir_make(dir_send(t->direction) && dir_recv(od), dir_recv(t->direction) && dir_send(od));
    m->rtcp_mux = true;
    m->rtcp_rsize = om->rtcp_rsize;
    bool any_rtx = false;
    for (unsigned i = 0; i < n; i++) {
        const rtc_sdp_codec_t *oc = pick[i].oc;
        const rtc_pc_codec_t *k = &caps->codecs[pick[i].cap];
        const char *name;
        uint32_t hz;
        static_pt(oc, &name, &hz);
        if (rtc_sdp_codec_add(s, m, oc->pt, name, hz, oc->channels, oc->fmtp) < 0)
            return -ENOMEM;
        for (unsigned f = 0; f < om->fb_cnt; f++) /* feedback both sides support */
            if (om->fbs[f].pt == oc->pt && fb_supported(k, om->fbs[f].value) &&
                rtc_sdp_fb_add(s, m, oc->pt, om->fbs[f].value) < 0)
                return -ENOMEM;
        if (pick[i].rtx >= 0 && !rtc_sdp_codec_find(m, pick[i].rtx)) {
            char apt[16];
            snprintf(apt, sizeof apt, "apt=%u", oc->pt);
            if (rtc_sdp_codec_add(s, m, (uint8_t)pick[i].rtx, "rtx", hz, 0, apt) < 0)
                return -ENOMEM;
            any_rtx = true;
        }
    }
    if (dir_send(m->a.dir) && put_ssrcs(pc, s, m, t, any_rtx) < 0)
        return -ENOMEM;
    /* RFC 8853 §5.3: accept the offered send simulcast as recv, with the same stream list;
     * rids need the rtp-stream-id extension (RFC 8852) to be usable. */
    if (om->simulcast_send && om->rid_cnt && dir_recv(m->a.dir) &&
        ext_tab_id(ext, "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id")) {
        for (unsigned i = 0; i < om->rid_cnt; i++)
            if (om->rids[i].send && rtc_sdp_rid_add(s, m, om->rids[i].id, false, NULL) < 0)
                return -ENOMEM;
        if (!(m->simulcast_recv = rtc_sdp_strdup(s, om->simulcast_send)))
            return -ENOMEM;
    }
    return 0;
}

int rtc_pc_create_answer(rtc_pc_t *pc, char *buf, size_t cap, rtc_sdp_err_t *err)
{
    if (pc->state != RTC_PC_HAVE_REMOTE_OFFER || !pc->pend_remote)
        return pc_fail(err, -EINVAL, 0, "create_answer needs have-remote-offer");
    const rtc_sdp_t *off = pc->pend_remote;
    rtc_sdp_t *s = desc_new(pc);
    if (!s)
        return pc_fail(err, -ENOMEM, 0, "out of memory");
    s->a.extmap_allow_mixed = off->a.extmap_allow_mixed;
    ext_tab_t ext = {0}; /* answer ids come from the offer only */
    const char *bundle[RTC_SDP_MAX_MEDIA];
    unsigned bcnt = 0;
    bool offer_bundle = rtc_sdp_group_find(off, "BUNDLE") != NULL;
    int rc = 0;
    for (unsigned i = 0; i < off->media_cnt && rc >= 0; i++) {
        const rtc_sdp_media_t *om = off->media[i];
        const rtc_pc_mline_t *p = &pc->pend[i];
        bool cands = bcnt == 0;
        rc = 1; /* 1: reject */
        if (!media_accepted(om) || p->owner == RTC_PC_OWNER_NONE) {
            rc = 1;
        } else if (p->owner >= 0) {
            rtc_pc_transceiver_t *t = &pc->tr[p->owner];
            if (!t->stopping && !t->stopped)
                rc = answer_rtp_section(pc, s, &ext, off, om, t, cands);
        } else {
            rc = dc_section(pc, s, om->mid, p->legacy_sctp, answer_setup(pc, off, om), cands);
        }
        if (rc == 1) /* port 0, same proto, the first offered format */
            rc = put_rejected(s, om->media, om->proto, om->rtp ? NULL : om->fmt,
                              om->codec_cnt ? om->codecs[0].pt : 0, om->mid ? om->mid : "");
        else if (rc == 0 && offer_bundle)
            bundle[bcnt++] = om->mid;
        else if (rc == 0)
            bcnt++;
    }
    if (rc < 0) {
        rtc_sdp_destroy(s);
        return pc_fail(err, rc, 0, "out of memory");
    }
    rc = finish(s, bundle, offer_bundle ? bcnt : 0, buf, cap);
    if (rc < 0)
        return pc_fail(err, rc, 0, rc == -ENOSPC ? "buffer too small" : "out of memory");
    return rc;
}

/* ---- applying ---------------------------------------------------------------------------- */

static void remote_track(rtc_pc_transceiver_t *t, const rtc_sdp_media_t *rm)
{
    t->remote_ssrc = t->remote_rtx_ssrc = 0;
    t->remote_stream_id[0] = t->remote_track_id[0] = '\0';
    for (unsigned g = 0; g < rm->ssrc_group_cnt; g++)
        if (!strcmp(rm->ssrc_groups[g].semantics, "FID") && rm->ssrc_groups[g].ssrc_cnt >= 2) {
            t->remote_ssrc = rm->ssrc_groups[g].ssrcs[0];
            t->remote_rtx_ssrc = rm->ssrc_groups[g].ssrcs[1];
            break;
        }
    if (!t->remote_ssrc && rm->ssrc_cnt)
        t->remote_ssrc = rm->ssrcs[0].ssrc;
    if (rm->msid_cnt) {
        copy_str(t->remote_stream_id, sizeof t->remote_stream_id, rm->msids[0].stream);
        copy_str(t->remote_track_id, sizeof t->remote_track_id, rm->msids[0].track);
    }
}

/* RFC 4585 §4.2: "a=rtcp-fb:<pt> <value>" or "a=rtcp-fb:* <value>" in @m. */
static bool fb_has(const rtc_sdp_media_t *m, uint8_t pt, const char *value)
{
    for (unsigned f = 0; f < m->fb_cnt; f++)
        if ((m->fbs[f].pt == pt || m->fbs[f].pt < 0) && !strcmp(m->fbs[f].value, value))
            return true;
    return false;
}

static void neg_codecs(rtc_pc_t *pc, rtc_pc_transceiver_t *t, const rtc_sdp_media_t *am)
{
    const rtc_pc_caps_t *caps = caps_of(pc, t->kind);
    t->neg_cnt = 0;
    for (unsigned i = 0; i < am->codec_cnt && t->neg_cnt < RTC_PC_MAX_NEG_CODECS; i++) {
        const rtc_sdp_codec_t *c = &am->codecs[i];
        int ci = cap_find(caps, c);
        if (ci < 0)
            continue;
        rtc_pc_neg_codec_t *n = &t->neg[t->neg_cnt++];
        n->pt = c->pt;
        n->cap = (uint8_t)ci;
        int rtx = caps->codecs[ci].rtx_pt ? rtx_for(am, c->pt) : -1;
        n->rtx_pt = rtx > 0 ? (uint8_t)rtx : 0;
        /* The answer lists only feedback both sides offered and support (RFC 8829 §5.11). */
        n->nack = fb_has(am, c->pt, "nack");
        n->twcc = fb_has(am, c->pt, "transport-cc");
        copy_str(n->fmtp, sizeof n->fmtp, c->fmtp);
    }
}

/* Commits a completed negotiation: @off and @ans (both owned by pc afterwards). */
static void apply(rtc_pc_t *pc, rtc_sdp_t *off, rtc_sdp_t *ans, bool we_offered)
{
    const rtc_sdp_t *remote = we_offered ? ans : off;
    ext_tab_t ext = {0};
    for (unsigned i = 0; i < ans->a.extmap_cnt; i++)
        ext_tab_put(&ext, ans->a.extmaps[i].uri, ans->a.extmaps[i].id);
    for (unsigned i = 0; i < pc->pend_cnt; i++) {
        rtc_pc_mline_t *p = &pc->pend[i];
        const rtc_sdp_media_t *om = off->media[i], *am = ans->media[i];
        const rtc_sdp_media_t *rm = we_offered ? am : om;
        p->rejected = !media_accepted(om) || am->port == 0;
        if (!p->rejected)
            for (unsigned k = 0; k < am->a.extmap_cnt; k++)
                ext_tab_put(&ext, am->a.extmaps[k].uri, am->a.extmaps[k].id);
        if (p->owner >= 0) {
            rtc_pc_transceiver_t *t = &pc->tr[p->owner];
            t->mline = (int)i;
            copy_str(t->mid, sizeof t->mid, p->mid);
            t->from_remote = false;
            if (p->rejected) { /* RFC 8829 §5.10: a rejected section stops its transceiver */
                t->stopped = true;
                t->current_direction = RTC_SDP_DIR_INACTIVE;
                p->owner = RTC_PC_OWNER_NONE;
                continue;
            }
            rtc_sdp_dir_t ad = rtc_sdp_dir(ans, am);
            t->current_direction = we_offered ? dir_reverse(ad) : ad;
            neg_codecs(pc, t, am);
            remote_track(t, rm);
            t->rid_cnt = 0;
            for (unsigned k = 0; am->simulcast_recv && k < am->rid_cnt; k++)
                if (!am->rids[k].send && t->rid_cnt < RTC_PC_MAX_RIDS)
                    copy_str(t->rids[t->rid_cnt++], sizeof t->rids[0], am->rids[k].id);
        } else if (p->owner == RTC_PC_OWNER_DC) {
            if (p->rejected) {
                p->owner = RTC_PC_OWNER_NONE;
                continue;
            }
            uint64_t port = rm->sctp_port;
            if (!port && rm->fmt) /* legacy "DTLS/SCTP 5000" */
                port = strtoul(rm->fmt, NULL, 10);
            pc->remote_sctp_port = (uint16_t)(port <= 65535 ? port : 0);
            pc->remote_max_message_size = rm->has_max_message_size ? rm->max_message_size : 0;
        } else {
            p->rejected = true;
        }
    }
    ext_tab_store(pc, &ext);
    memcpy(pc->mlines, pc->pend, sizeof pc->pend[0] * pc->pend_cnt);
    pc->mline_cnt = pc->pend_cnt;
    pc->pend_cnt = 0;

    rtc_sdp_t *local = we_offered ? off : ans;
    rtc_sdp_destroy(pc->cur_local);
    rtc_sdp_destroy(pc->cur_remote);
    pc->cur_local = local;
    pc->cur_remote = we_offered ? ans : off;
    pc->pend_local = pc->pend_remote = NULL;

    const rtc_sdp_media_t *rt = bundle_tag(pc->cur_remote);
    const rtc_sdp_media_t *lt = bundle_tag(local);
    pc->remote_ufrag = rt ? rtc_sdp_ice_ufrag(pc->cur_remote, rt) : NULL;
    pc->remote_pwd = rt ? rtc_sdp_ice_pwd(pc->cur_remote, rt) : NULL;
    pc->remote_fp = rt ? rtc_sdp_fingerprint(pc->cur_remote, rt) : NULL;
    pc->remote_ice_lite = remote->a.ice_lite;
    /* RFC 8842 §5.2/§5.3: "active" opens the DTLS association (the client). An answer with no
     * a=setup means active (RFC 4145 §4). */
    const rtc_sdp_media_t *at = we_offered ? rt : lt;
    rtc_sdp_setup_t ast = at ? rtc_sdp_setup(ans, at) : RTC_SDP_SETUP_NONE;
    bool answerer_active = ast != RTC_SDP_SETUP_PASSIVE;
    pc->dtls_client = we_offered ? !answerer_active : answerer_active;
    pc->negotiated = true;
    pc->state = RTC_PC_STABLE;
}

/* The answer mirrors the offer: same number of m-sections, same mids and media in order
 * (RFC 3264 §6, RFC 8829 §5.3.1); accepted RTP sections use only offered payload types. */
static int check_answer(const rtc_sdp_t *off, const rtc_sdp_t *ans, rtc_sdp_err_t *err)
{
    if (off->media_cnt != ans->media_cnt)
        return pc_fail(err, -EPROTO, 0, "answer has a different number of m-sections");
    for (unsigned i = 0; i < off->media_cnt; i++) {
        const rtc_sdp_media_t *om = off->media[i], *am = ans->media[i];
        if (strcmp(om->media, am->media))
            return pc_fail(err, -EPROTO, 0, "answer m-section media differs from the offer");
        if (!media_accepted(am))
            continue;
        if (!media_accepted(om))
            return pc_fail(err, -EPROTO, 0, "answer accepts a rejected m-section");
        if (!om->mid || !am->mid || strcmp(om->mid, am->mid))
            return pc_fail(err, -EPROTO, 0, "answer mids differ from the offer");
        if (!am->rtp)
            continue;
        for (unsigned k = 0; k < am->codec_cnt; k++)
            if (!rtc_sdp_codec_find(om, am->codecs[k].pt))
                return pc_fail(err, -EPROTO, 0, "answer uses a payload type not offered");
        /* RFC 8829 §5.11: feedback not in the offer MUST result in an error */
        for (unsigned k = 0; k < am->fb_cnt; k++) {
            bool found = false;
            for (unsigned j = 0; j < om->fb_cnt && !found; j++)
                found = (om->fbs[j].pt == am->fbs[k].pt || om->fbs[j].pt < 0) &&
                        !strcmp(om->fbs[j].value, am->fbs[k].value);
            if (!found)
                return pc_fail(err, -EPROTO, 0, "answer uses rtcp-fb not offered");
        }
        /* RFC 8285 §7: the answer can only accept extensions that were offered */
        for (unsigned k = 0; k < am->a.extmap_cnt; k++) {
            bool found = false;
            for (unsigned j = 0; j < om->a.extmap_cnt && !found; j++)
                found = !strcmp(om->a.extmaps[j].uri, am->a.extmaps[k].uri);
            for (unsigned j = 0; j < off->a.extmap_cnt && !found; j++)
                found = !strcmp(off->a.extmaps[j].uri, am->a.extmaps[k].uri);
            if (!found)
                return pc_fail(err, -EPROTO, 0, "answer uses a header extension not offered");
        }
    }
    return check_desc(ans, true, err);
}

static int parse(const char *text, size_t len, rtc_sdp_t **out, rtc_sdp_err_t *err)
{
    rtc_sdp_err_t e = {0};
    int rc = rtc_sdp_parse(text, len, out, &e);
    if (rc < 0)
        return pc_fail(err, rc, e.line, e.reason);
    return 0;
}

/* Removes the transceivers a remote offer created (they are at the end) and the plan. */
static void rollback(rtc_pc_t *pc)
{
    while (pc->tr_cnt && pc->tr[pc->tr_cnt - 1].from_remote && pc->tr[pc->tr_cnt - 1].mline < 0)
        pc->tr_cnt--;
    rtc_sdp_destroy(pc->pend_local);
    rtc_sdp_destroy(pc->pend_remote);
    pc->pend_local = pc->pend_remote = NULL;
    pc->pend_cnt = 0;
    pc->ice_restart_needed = false;
    pc->state = RTC_PC_STABLE;
}

int rtc_pc_set_local(rtc_pc_t *pc, rtc_pc_sdp_type_t type, const char *text, size_t len,
                     rtc_sdp_err_t *err)
{
    if (type == RTC_PC_ROLLBACK) {
        if (pc->state == RTC_PC_STABLE)
            return pc_fail(err, -EINVAL, 0, "rollback in stable");
        rollback(pc);
        return 0;
    }
    rtc_sdp_t *s;
    if (type == RTC_PC_OFFER) {
        if (pc->state == RTC_PC_HAVE_REMOTE_OFFER)
            return pc_fail(err, -EINVAL, 0, "local offer in have-remote-offer");
        int rc = parse(text, len, &s, err);
        if (rc < 0)
            return rc;
        bool same = s->media_cnt == pc->pend_cnt;
        for (unsigned i = 0; same && i < s->media_cnt; i++)
            same = !strcmp(s->media[i]->mid ? s->media[i]->mid : "", pc->pend[i].mid);
        if (!same || (rc = check_desc(s, false, err)) < 0) {
            rtc_sdp_destroy(s);
            return rc < 0 ? rc : pc_fail(err, -EPROTO, 0, "offer was not made by create_offer");
        }
        rtc_sdp_destroy(pc->pend_local);
        pc->pend_local = s;
        pc->state = RTC_PC_HAVE_LOCAL_OFFER;
        return 0;
    }
    if (pc->state != RTC_PC_HAVE_REMOTE_OFFER)
        return pc_fail(err, -EINVAL, 0, "local answer needs have-remote-offer");
    int rc = parse(text, len, &s, err);
    if (rc < 0)
        return rc;
    if ((rc = check_answer(pc->pend_remote, s, err)) < 0) {
        rtc_sdp_destroy(s);
        return rc;
    }
    apply(pc, pc->pend_remote, s, false);
    return 0;
}

/* RFC 8829 §5.10: which transceiver each m-section of a remote offer belongs to. */
static int associate(rtc_pc_t *pc, const rtc_sdp_t *off, rtc_sdp_err_t *err)
{
    unsigned tr_before = pc->tr_cnt;
    for (unsigned i = 0; i < off->media_cnt; i++) {
        const rtc_sdp_media_t *om = off->media[i];
        rtc_pc_mline_t *p = &pc->pend[i];
        *p = (rtc_pc_mline_t){.owner = RTC_PC_OWNER_NONE, .kind = om->kind};
        copy_str(p->mid, sizeof p->mid, om->mid);
        p->rejected = !media_accepted(om);
        p->legacy_sctp = !om->rtp && proto_is_sctp(om->proto) && strcmp(om->proto, PC_PROTO_SCTP);
        if (i < pc->mline_cnt && pc->mlines[i].owner != RTC_PC_OWNER_NONE && om->mid &&
            !strcmp(pc->mlines[i].mid, om->mid)) {
            if (pc->mlines[i].kind != om->kind) {
                pc->tr_cnt = tr_before;
                return pc_fail(err, -EPROTO, 0, "m-section changed its media kind");
            }
            p->owner = pc->mlines[i].owner;
            continue;
        }
        if (p->rejected)
            continue;
        if (om->kind == RTC_SDP_KIND_APPLICATION && proto_is_sctp(om->proto)) {
            p->owner = RTC_PC_OWNER_DC;
            continue;
        }
        if (!om->rtp || (om->kind != RTC_SDP_KIND_AUDIO && om->kind != RTC_SDP_KIND_VIDEO))
            continue; /* unknown media: rejected in the answer */
        /* RFC 8829 §5.10: an unassociated local transceiver of the kind takes the section only
         * if the section is sendrecv or recvonly (the offerer wants to receive what it would
         * send). A sendonly or inactive section gets a transceiver of its own: otherwise an
         * SFU's send-only tracks, rolled back on glare, would swallow a member's offered track
         * and answer it inactive. */
        rtc_sdp_dir_t od = rtc_sdp_dir(off, om);
        bool may_reuse = od == RTC_SDP_DIR_SENDRECV || od == RTC_SDP_DIR_RECVONLY;
        int found = -1;
        for (unsigned k = 0; may_reuse && k < pc->tr_cnt && found < 0; k++) {
            const rtc_pc_transceiver_t *t = &pc->tr[k];
            bool taken = false;
            for (unsigned j = 0; j < i; j++)
                taken |= pc->pend[j].owner == (int)k;
            if (!taken && t->kind == om->kind && t->mline < 0 && !t->stopped && !t->stopping)
                found = (int)k;
        }
        if (found < 0) { /* W3C: a new transceiver, recvonly */
            found = rtc_pc_add_transceiver(pc, om->kind, RTC_SDP_DIR_RECVONLY, NULL, NULL, 0);
            if (found < 0) {
                pc->tr_cnt = tr_before;
                return pc_fail(err, found, 0, "too many transceivers");
            }
            pc->tr[found].from_remote = true;
        }
        p->owner = found;
    }
    pc->pend_cnt = off->media_cnt;
    return 0;
}

int rtc_pc_set_remote(rtc_pc_t *pc, rtc_pc_sdp_type_t type, const char *text, size_t len,
                      rtc_sdp_err_t *err)
{
    if (type == RTC_PC_ROLLBACK) {
        if (pc->state == RTC_PC_STABLE)
            return pc_fail(err, -EINVAL, 0, "rollback in stable");
        rollback(pc);
        return 0;
    }
    rtc_sdp_t *s;
    int rc;
    if (type == RTC_PC_OFFER) {
        if (pc->state == RTC_PC_HAVE_LOCAL_OFFER) /* glare: the caller rolls back first */
            return pc_fail(err, -EINVAL, 0, "remote offer in have-local-offer");
        if ((rc = parse(text, len, &s, err)) < 0)
            return rc;
        if ((rc = check_desc(s, false, err)) < 0) {
            rtc_sdp_destroy(s);
            return rc;
        }
        if (pc->state == RTC_PC_HAVE_REMOTE_OFFER)
            rollback(pc); /* a new remote offer replaces the pending one */
        if ((rc = associate(pc, s, err)) < 0) {
            rtc_sdp_destroy(s);
            return rc;
        }
        pc->pend_remote = s;
        pc->state = RTC_PC_HAVE_REMOTE_OFFER;
        const rtc_sdp_media_t *tag = bundle_tag(s);
        if (pc->negotiated && tag && pc->remote_ufrag && pc->remote_pwd &&
            (strcmp(rtc_sdp_ice_ufrag(s, tag), pc->remote_ufrag) ||
             strcmp(rtc_sdp_ice_pwd(s, tag), pc->remote_pwd)))
            pc->ice_restart_needed = true;
        return 0;
    }
    if (pc->state != RTC_PC_HAVE_LOCAL_OFFER || !pc->pend_local)
        return pc_fail(err, -EINVAL, 0, "remote answer needs have-local-offer");
    if ((rc = parse(text, len, &s, err)) < 0)
        return rc;
    if ((rc = check_answer(pc->pend_local, s, err)) < 0) {
        rtc_sdp_destroy(s);
        return rc;
    }
    apply(pc, pc->pend_local, s, true);
    return 0;
}
