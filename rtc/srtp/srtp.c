/* rtc/srtp/srtp.c: per-peer SRTP/SRTCP sessions on libsrtp2. */
#include "rtc/srtp/srtp.h"

#include "rtc/srtp/srtp_priv.h"

#include <srtp2/srtp.h>

/* libsrtp2 2.5 may write up to SRTP_MAX_TRAILER_LEN behind an RTP packet and 4 more behind an
 * RTCP one (srtp.h @warning on srtp_protect / srtp_protect_rtcp). */
_Static_assert(RTC_SRTP_TAILROOM >= SRTP_MAX_TRAILER_LEN + 4, "SRTP tailroom");
_Static_assert(NET_PKT_TAILROOM >= RTC_SRTP_TAILROOM, "net_pkt tailroom too small for SRTP");

/* Inbound replay window in packets (RFC 3711 §3.3.2 sets 64 as the minimum; video at high
 * rates reorders more, libwebrtc uses 1024 too). */
#define RTC_SRTP_REPLAY_WINDOW 1024

static bool g_inited;

int rtc_srtp_global_init(rtc_srtp_backend_t backend)
{
    if (g_inited) {
        /* Back to the stock kernel: srtp_shutdown() drops the replaced entries. */
        srtp_shutdown();
        g_inited = false;
    }
    srtp_err_status_t st = srtp_init();
    if (st != srtp_err_status_ok) {
        LOG_ERROR("srtp: srtp_init failed: libsrtp status %d", (int)st);
        return -EIO;
    }
    g_inited = true;
    if (backend == RTC_SRTP_BACKEND_OPENSSL && rtc_srtp_ossl_register() < 0) {
        rtc_srtp_global_fini();
        return -EIO;
    }
    return 0;
}

void rtc_srtp_global_fini(void)
{
    if (g_inited)
        srtp_shutdown();
    g_inited = false;
}

int rtc_srtp_self_test(void)
{
    return rtc_srtp_ossl_self_test();
}

int rtc_srtp_profile_lens(rtc_srtp_profile_t profile, size_t *key_len, size_t *salt_len)
{
    switch (profile) {
    case RTC_SRTP_AES128_CM_SHA1_80: /* RFC 5764 §4.1.2 */
        *key_len = 16;
        *salt_len = 14;
        return 0;
    case RTC_SRTP_AEAD_AES_128_GCM: /* RFC 7714 §14.2 */
        *key_len = 16;
        *salt_len = 12;
        return 0;
    }
    return -ENOTSUP;
}

const char *rtc_srtp_profile_name(rtc_srtp_profile_t profile)
{
    switch (profile) {
    case RTC_SRTP_AES128_CM_SHA1_80:
        return "SRTP_AES128_CM_SHA1_80";
    case RTC_SRTP_AEAD_AES_128_GCM:
        return "SRTP_AEAD_AES_128_GCM";
    }
    return "?";
}

static int session_create(srtp_t *out, rtc_srtp_profile_t profile, const uint8_t *key, bool inbound)
{
    srtp_policy_t pol;
    memset(&pol, 0, sizeof pol);
    if (profile == RTC_SRTP_AES128_CM_SHA1_80) {
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtp);
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol.rtcp);
    } else {
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtp);
        srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol.rtcp);
    }
    pol.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
    pol.key = (uint8_t *)key; /* libsrtp only reads it (derives session keys at once) */
    pol.window_size = RTC_SRTP_REPLAY_WINDOW;
    /* Outbound: allow re-protecting a sequence number already sent (a retransmission of the
     * same packet, as libwebrtc allows); inbound replay protection is unaffected. */
    pol.allow_repeat_tx = inbound ? 0 : 1;
    pol.next = NULL;
    srtp_err_status_t st = srtp_create(out, &pol);
    if (st == srtp_err_status_alloc_fail)
        return -ENOMEM;
    if (st != srtp_err_status_ok) {
        LOG_WARN("srtp: srtp_create failed: libsrtp status %d", (int)st);
        *out = NULL;
        return -EIO;
    }
    return 0;
}

int rtc_srtp_init(rtc_srtp_t *s, const rtc_srtp_keys_t *keys)
{
    memset(s, 0, sizeof *s);
    size_t key_len, salt_len;
    if (rtc_srtp_profile_lens(keys->profile, &key_len, &salt_len) < 0)
        return -ENOTSUP;
    if (keys->key_len != key_len || keys->salt_len != salt_len)
        return -EINVAL;
    s->profile = keys->profile;
    srtp_t tx = NULL, rx = NULL;
    int ret = session_create(&tx, keys->profile, keys->local, false);
    if (ret < 0)
        goto fail;
    s->_tx = tx;
    ret = session_create(&rx, keys->profile, keys->remote, true);
    if (ret < 0)
        goto fail;
    s->_rx = rx;
    return 0;
fail:
    rtc_srtp_fini(s);
    return ret;
}

void rtc_srtp_fini(rtc_srtp_t *s)
{
    if (!s)
        return;
    if (s->_tx)
        srtp_dealloc((srtp_t)s->_tx);
    if (s->_rx)
        srtp_dealloc((srtp_t)s->_rx);
    memset(s, 0, sizeof *s);
}

/* libsrtp status to -errno, counting drops. */
static int map_err(rtc_srtp_t *s, srtp_err_status_t st)
{
    switch (st) {
    case srtp_err_status_ok:
        return 0;
    case srtp_err_status_replay_fail:
    case srtp_err_status_replay_old:
        s->replay_cnt++;
        return -EALREADY;
    case srtp_err_status_auth_fail:
        s->auth_fail_cnt++;
        return -EBADMSG;
    case srtp_err_status_bad_param:
    case srtp_err_status_parse_err:
    case srtp_err_status_no_ctx:
    case srtp_err_status_bad_mki:
        s->bad_cnt++;
        return -EBADMSG;
    default:
        s->bad_cnt++;
        return -EIO;
    }
}

/* libsrtp takes int lengths; packets are far below INT_MAX but check anyway. */
#define LEN_OK(len) ((len) <= NET_PKT_SLOT_LEN * 32u)

int rtc_srtp_protect(rtc_srtp_t *s, uint8_t *buf, size_t *len, size_t cap)
{
    if (!s->_tx || !LEN_OK(*len))
        return -EINVAL;
    if (cap < *len + SRTP_MAX_TRAILER_LEN)
        return -ENOSPC;
    int n = (int)*len;
    int ret = map_err(s, srtp_protect((srtp_t)s->_tx, buf, &n));
    if (ret == 0)
        *len = (size_t)n;
    return ret;
}

int rtc_srtp_unprotect(rtc_srtp_t *s, uint8_t *buf, size_t *len)
{
    if (!s->_rx)
        return -EINVAL;
    if (!LEN_OK(*len)) {
        s->bad_cnt++;
        return -EBADMSG;
    }
    int n = (int)*len;
    int ret = map_err(s, srtp_unprotect((srtp_t)s->_rx, buf, &n));
    if (ret == 0)
        *len = (size_t)n;
    return ret;
}

int rtc_srtp_protect_rtcp(rtc_srtp_t *s, uint8_t *buf, size_t *len, size_t cap)
{
    if (!s->_tx || !LEN_OK(*len))
        return -EINVAL;
    if (cap < *len + SRTP_MAX_TRAILER_LEN + 4)
        return -ENOSPC;
    int n = (int)*len;
    int ret = map_err(s, srtp_protect_rtcp((srtp_t)s->_tx, buf, &n));
    if (ret == 0)
        *len = (size_t)n;
    return ret;
}

int rtc_srtp_unprotect_rtcp(rtc_srtp_t *s, uint8_t *buf, size_t *len)
{
    if (!s->_rx)
        return -EINVAL;
    if (!LEN_OK(*len)) {
        s->bad_cnt++;
        return -EBADMSG;
    }
    int n = (int)*len;
    int ret = map_err(s, srtp_unprotect_rtcp((srtp_t)s->_rx, buf, &n));
    if (ret == 0)
        *len = (size_t)n;
    return ret;
}

typedef int (*xform_cap_fn)(rtc_srtp_t *, uint8_t *, size_t *, size_t);
typedef int (*xform_fn)(rtc_srtp_t *, uint8_t *, size_t *);

static int pkt_grow(rtc_srtp_t *s, net_pkt_t *pkt, xform_cap_fn fn)
{
    size_t len = pkt->len;
    int ret = fn(s, pkt->data, &len, len + net_pkt_tailroom(pkt));
    if (ret == 0)
        pkt->len = (uint32_t)len;
    return ret;
}

static int pkt_shrink(rtc_srtp_t *s, net_pkt_t *pkt, xform_fn fn)
{
    size_t len = pkt->len;
    int ret = fn(s, pkt->data, &len);
    if (ret == 0)
        pkt->len = (uint32_t)len;
    return ret;
}

int rtc_srtp_protect_pkt(rtc_srtp_t *s, net_pkt_t *pkt)
{
    return pkt_grow(s, pkt, rtc_srtp_protect);
}

int rtc_srtp_unprotect_pkt(rtc_srtp_t *s, net_pkt_t *pkt)
{
    return pkt_shrink(s, pkt, rtc_srtp_unprotect);
}

int rtc_srtp_protect_rtcp_pkt(rtc_srtp_t *s, net_pkt_t *pkt)
{
    return pkt_grow(s, pkt, rtc_srtp_protect_rtcp);
}

int rtc_srtp_unprotect_rtcp_pkt(rtc_srtp_t *s, net_pkt_t *pkt)
{
    return pkt_shrink(s, pkt, rtc_srtp_unprotect_rtcp);
}

int rtc_srtp_roc(const rtc_srtp_t *s, bool inbound, uint32_t ssrc, uint32_t *roc)
{
    srtp_t sess = (srtp_t)(inbound ? s->_rx : s->_tx);
    if (!sess)
        return -EINVAL;
    return srtp_get_stream_roc(sess, ssrc, roc) == srtp_err_status_ok ? 0 : -ENOENT;
}
