/* rtc/srtp/srtp.h: SRTP and SRTCP (RFC 3711, RFC 7714 AES-GCM) on libsrtp2, with the crypto
 * swapped for OpenSSL EVP-backed transforms at start-up (Debian's libsrtp2 is built on NSS,
 * which is several times slower; see docs/dtls-srtp.md).
 *
 * One rtc_srtp_t per peer holds an outbound session (what we send, keyed with our write key)
 * and an inbound one (what the peer sends). Protect and unprotect work in place: protect grows
 * the packet by the auth tag (and the SRTCP index), so the buffer must have tailroom (a
 * net_pkt_t has NET_PKT_TAILROOM). Replay protection is on for inbound traffic; the ROC is
 * tracked by libsrtp (RFC 3711 §3.3.1), so sequence numbers may wrap past 65535.
 *
 * Threading: rtc_srtp_global_init() runs once on the main thread before any shard starts
 * (libsrtp's crypto kernel is process-global and read-only afterwards). An rtc_srtp_t belongs
 * to its peer's shard thread.
 */
#ifndef URTC_RTC_SRTP_SRTP_H
#define URTC_RTC_SRTP_SRTP_H

#include "net/net.h"

/* DTLS-SRTP protection profile ids (RFC 5764 §4.1.2, RFC 7714 §14.2). */
typedef enum rtc_srtp_profile {
    RTC_SRTP_AES128_CM_SHA1_80 = 0x0001,
    RTC_SRTP_AEAD_AES_128_GCM = 0x0007,
} rtc_srtp_profile_t;

#define RTC_SRTP_MAX_MASTER_LEN 30 /* 16-byte key + 14-byte salt (GCM: 16 + 12) */
/* Capacity protect needs behind the packet: libsrtp2 2.5 may write SRTP_MAX_TRAILER_LEN
 * (tag + MKI), plus the 4-byte SRTCP index for RTCP. */
#define RTC_SRTP_TAILROOM 148u

/* Which crypto libsrtp runs on. */
typedef enum rtc_srtp_backend {
    RTC_SRTP_BACKEND_OPENSSL = 0, /* default: our EVP transforms replace the stock ones */
    RTC_SRTP_BACKEND_STOCK,       /* libsrtp2 as Debian built it (NSS); for the benchmark */
} rtc_srtp_backend_t;

/* Initialises libsrtp and installs @backend. May be called again to switch backends (the
 * benchmark does), but only while no rtc_srtp_t exists. Main thread, before shards start.
 * 0, or -EIO if libsrtp or a transform's self-test fails (then SRTP is unusable). */
WARN_UNUSED int rtc_srtp_global_init(rtc_srtp_backend_t backend);
/* Shuts libsrtp down. No rtc_srtp_t may exist. */
void rtc_srtp_global_fini(void);
/* Runs libsrtp's own known-answer self-tests (srtp_cipher_type_self_test /
 * srtp_auth_type_self_test) on our OpenSSL transforms: AES-ICM-128 (RFC 3711 B.2), AES-GCM-128
 * (RFC 7714 §16.1.1 and §17.1), AES-GCM-256, HMAC-SHA1 (RFC 2202). 0 or -EIO. Any thread. */
WARN_UNUSED int rtc_srtp_self_test(void);
/* Human-readable names of the transforms libsrtp would use now for AES-ICM-128 and
 * HMAC-SHA1 (tests use this to prove the replacement took place). */
const char *rtc_srtp_cipher_desc(void);
const char *rtc_srtp_auth_desc(void);

/* Master keys for one peer, as the DTLS exporter produced them (RFC 5764 §4.2). */
typedef struct rtc_srtp_keys {
    rtc_srtp_profile_t profile;
    uint8_t local[RTC_SRTP_MAX_MASTER_LEN];  /* our write key || salt: protects what we send */
    uint8_t remote[RTC_SRTP_MAX_MASTER_LEN]; /* the peer's write key || salt */
    uint8_t key_len;                         /* 16 */
    uint8_t salt_len;                        /* 14 (AES-CM) or 12 (GCM) */
} rtc_srtp_keys_t;

/* Key and salt lengths of @profile; 0 or -ENOTSUP. */
WARN_UNUSED int rtc_srtp_profile_lens(rtc_srtp_profile_t profile, size_t *key_len,
                                      size_t *salt_len);
/* "SRTP_AES128_CM_SHA1_80" / "SRTP_AEAD_AES_128_GCM" (the OpenSSL / RFC names) or "?". */
const char *rtc_srtp_profile_name(rtc_srtp_profile_t profile);

typedef struct rtc_srtp {
    void *_tx; /* srtp_t, outbound (any SSRC) */
    void *_rx; /* srtp_t, inbound (any SSRC), replay window RTC_SRTP_REPLAY_WINDOW */
    rtc_srtp_profile_t profile;
    /* Drop counters (single writer: the owning shard). */
    uint64_t replay_cnt;    /* replayed or too old */
    uint64_t auth_fail_cnt; /* tag mismatch */
    uint64_t bad_cnt;       /* malformed or other libsrtp error */
} rtc_srtp_t;

/* Creates both sessions from @keys (copied; the caller may wipe them afterwards). 0,
 * -ENOTSUP (profile), -EINVAL (lengths), -ENOMEM or -EIO. rtc_srtp_fini() is safe after a
 * failure. */
WARN_UNUSED int rtc_srtp_init(rtc_srtp_t *s, const rtc_srtp_keys_t *keys);
/* Frees the sessions and wipes the struct. Accepts a zeroed or half-initialised struct. */
void rtc_srtp_fini(rtc_srtp_t *s);

/* In-place transforms on @buf holding *@len bytes, with @cap bytes of room in total.
 * protect: needs @cap >= *len + RTC_SRTP_TAILROOM; grows *len by the trailer.
 * unprotect: shrinks *len to the plaintext.
 * Return 0, or: -ENOSPC (capacity), -EBADMSG (malformed or authentication failure),
 * -EALREADY (replayed or too old; replay check RFC 3711 §3.3.2), -EIO (other libsrtp error).
 * Drops are counted in @s. Owning shard only. */
WARN_UNUSED int rtc_srtp_protect(rtc_srtp_t *s, uint8_t *buf, size_t *len, size_t cap);
WARN_UNUSED int rtc_srtp_unprotect(rtc_srtp_t *s, uint8_t *buf, size_t *len);
WARN_UNUSED int rtc_srtp_protect_rtcp(rtc_srtp_t *s, uint8_t *buf, size_t *len, size_t cap);
WARN_UNUSED int rtc_srtp_unprotect_rtcp(rtc_srtp_t *s, uint8_t *buf, size_t *len);

/* The same on a packet's window (data/len), using its tailroom. Borrow @pkt. */
WARN_UNUSED int rtc_srtp_protect_pkt(rtc_srtp_t *s, net_pkt_t *pkt);
WARN_UNUSED int rtc_srtp_unprotect_pkt(rtc_srtp_t *s, net_pkt_t *pkt);
WARN_UNUSED int rtc_srtp_protect_rtcp_pkt(rtc_srtp_t *s, net_pkt_t *pkt);
WARN_UNUSED int rtc_srtp_unprotect_rtcp_pkt(rtc_srtp_t *s, net_pkt_t *pkt);

/* The rollover counter libsrtp holds for @ssrc in the inbound (@inbound) or outbound
 * session: 0 or -ENOENT if that SSRC has not been seen. */
WARN_UNUSED int rtc_srtp_roc(const rtc_srtp_t *s, bool inbound, uint32_t ssrc, uint32_t *roc);

#endif
