/* rtc/dtls/dtls.h: DTLS 1.2 for DTLS-SRTP (RFC 5764) and data channels, on OpenSSL 3.0.
 *
 * Sans-IO: an SSL object sits on a urtc BIO that reads the one datagram handed to
 * rtc_dtls_input() and writes each outgoing datagram (<= RTC_DTLS_MTU bytes) into a
 * caller-owned rtc_dtls_out_t. Time comes in as now_ns; rtc_dtls_deadline() says when to call
 * rtc_dtls_handle_timeout() (retransmission, RFC 6347 §4.2.4, and the handshake timeout).
 *
 * Identity (RFC 8827 §6.5, RFC 8122): each process has one self-signed ECDSA P-256 certificate
 * (generated, or loaded from PEM files) whose SHA-256 fingerprint goes into SDP; the peer's
 * certificate must match the a=fingerprint of its SDP or the handshake fails.
 *
 * Threading: an rtc_dtls_ctx_t is created on the main thread at start-up and is read-only
 * afterwards (its SSL_CTX is shared by all shards). An rtc_dtls_t (one SSL*) belongs to its
 * peer's shard thread.
 */
#ifndef URTC_RTC_DTLS_DTLS_H
#define URTC_RTC_DTLS_DTLS_H

#include "net/net.h"
#include "rtc/srtp/srtp.h"

#define RTC_DTLS_MTU 1200 /* bytes of UDP payload per datagram we send */
/* "sha-512 " + 64 bytes as "XX:" */
#define RTC_DTLS_FP_STRLEN (8 + 64 * 3)
#define RTC_DTLS_FP_MAX_LEN 64

typedef struct rtc_dtls_ctx rtc_dtls_ctx_t;

typedef struct rtc_dtls_ctx_cfg {
    const char *cert_pem_path; /* both NULL: generate an ECDSA P-256 certificate */
    const char *key_pem_path;
    uint32_t rto_initial_ms;       /* first retransmission timeout; 0: 1000 (RFC 6347 §4.2.4.1) */
    uint32_t rto_max_ms;           /* backoff cap; 0: 8000 */
    uint32_t handshake_timeout_ms; /* give up after this; 0: 30000 */
    bool no_srtp;                  /* data-channel-only: do not offer use_srtp */
    /* Debugging only, never in production: receives every association's secret as one NSS
     * key log line ("CLIENT_RANDOM <random> <master secret>", no newline), so that Wireshark
     * can decrypt a capture. Called on the association's shard thread, by several shards at
     * once. NULL: off. */
    void (*keylog)(const char *line, void *arg);
    void *keylog_arg;
} rtc_dtls_ctx_cfg_t;

/* Creates the process-wide context: certificate, key, fingerprint, SSL_CTX (DTLS 1.2 only,
 * ECDHE-ECDSA AEAD suites, use_srtp offering SRTP_AEAD_AES_128_GCM then
 * SRTP_AES128_CM_SHA1_80, peer certificate required). @cfg may be NULL. Main thread.
 * NULL on failure (logged). */
rtc_dtls_ctx_t *rtc_dtls_ctx_create(const rtc_dtls_ctx_cfg_t *cfg);
/* Accepts NULL. Every rtc_dtls_t using it must be finalised first. */
void rtc_dtls_ctx_destroy(rtc_dtls_ctx_t *ctx);
/* Our certificate's fingerprint for SDP: "sha-256 AB:CD:..." (the value of a=fingerprint).
 * Lives as long as @ctx. */
const char *rtc_dtls_ctx_fingerprint(const rtc_dtls_ctx_t *ctx);

/* Parses an a=fingerprint value, "<hash> XX:XX:..." (RFC 8122 §5; hash one of sha-1,
 * sha-224, sha-256, sha-384, sha-512, case-insensitive). 0 or -EINVAL / -ENOTSUP. */
typedef struct rtc_dtls_fp {
    int md_nid; /* OpenSSL NID of the hash; 0 when unset */
    uint8_t len;
    uint8_t v[RTC_DTLS_FP_MAX_LEN];
} rtc_dtls_fp_t;
WARN_UNUSED int rtc_dtls_fp_parse(const char *s, rtc_dtls_fp_t *fp);

typedef enum rtc_dtls_role {
    RTC_DTLS_CLIENT = 0, /* a=setup:active: we send the ClientHello */
    RTC_DTLS_SERVER = 1, /* a=setup:passive */
} rtc_dtls_role_t;

typedef enum rtc_dtls_state {
    RTC_DTLS_NEW = 0,
    RTC_DTLS_HANDSHAKING,
    RTC_DTLS_CONNECTED,
    RTC_DTLS_CLOSED, /* close_notify sent or received */
    RTC_DTLS_FAILED, /* handshake failure, fingerprint mismatch, timeout, fatal alert */
} rtc_dtls_state_t;

/* What a call produced: datagrams to send and application data received (SCTP packets). The
 * views point into @buf. Every rtc_dtls_* call that takes an out resets it first. */
#define RTC_DTLS_OUT_MAX 16
typedef struct rtc_dtls_out {
    size_t tx_cnt;
    net_view_t tx[RTC_DTLS_OUT_MAX]; /* datagrams, each one or more whole records <= MTU */
    size_t rx_cnt;
    net_view_t rx[RTC_DTLS_OUT_MAX];
    size_t used;
    uint32_t dropped_cnt; /* datagrams or records that did not fit (the peer retransmits) */
    uint8_t buf[RTC_DTLS_OUT_MAX * RTC_DTLS_MTU];
} rtc_dtls_out_t;

/* Events returned (bit flags, >= 0) by input/handle_timeout. */
#define RTC_DTLS_EV_CONNECTED 1u /* handshake done: SRTP keys ready */
#define RTC_DTLS_EV_CLOSED 2u    /* the peer sent close_notify */

typedef struct rtc_dtls {
    void *_ssl; /* SSL* */
    rtc_dtls_ctx_t *_ctx;
    rtc_dtls_role_t role;
    rtc_dtls_state_t state;
    rtc_dtls_fp_t _remote_fp;
    const uint8_t *_in; /* datagram being fed (during a call) */
    size_t _in_len;
    rtc_dtls_out_t *_out; /* output of the current call */
    uint64_t _deadline_ns;
    uint64_t _hs_deadline_ns;
    uint32_t _rto_initial_ms; /* from rtc_dtls_set_rtt(); 0: the context's */
    int _fail;                /* -errno that put us in FAILED */
    rtc_srtp_keys_t _keys;
    bool _have_keys;
    /* Counters (single writer: the owning shard). */
    uint64_t bad_cnt;        /* datagrams OpenSSL rejected or that were not DTLS records */
    uint64_t retransmit_cnt; /* timer-driven flight retransmissions */
} rtc_dtls_t;

/* Sets up one association. @remote_fp (an a=fingerprint value) may be NULL and set later
 * with rtc_dtls_set_remote_fingerprint(), but must be known by the time the peer's
 * Certificate arrives, or the handshake fails. @ctx must outlive @d. 0, -EINVAL (bad
 * fingerprint), -ENOMEM. rtc_dtls_fini() is safe after a failure. Owning shard. */
WARN_UNUSED int rtc_dtls_init(rtc_dtls_t *d, rtc_dtls_ctx_t *ctx, rtc_dtls_role_t role,
                              const char *remote_fp, uint64_t now_ns);
WARN_UNUSED int rtc_dtls_set_remote_fingerprint(rtc_dtls_t *d, const char *remote_fp);
/* Frees the SSL. Sends nothing (call rtc_dtls_close() first for a close_notify). Accepts a
 * zeroed or half-initialised struct. */
void rtc_dtls_fini(rtc_dtls_t *d);

/* The path's round trip as ICE measured it (0: unknown, no change). Each flight's first
 * retransmission timeout becomes 2 x @rtt_ns, clamped to 50-3000 ms, as libwebrtc sets it
 * from the ICE RTT: the context's fixed 1 s start (RFC 6347 §4.2.4.1) costs seconds per lost
 * flight on a lossy path, and RFC 9147 §5.8.2 recommends 100 ms for real-time use. Call it
 * before the flights it should apply to (a flight already waiting keeps its timer). */
void rtc_dtls_set_rtt(rtc_dtls_t *d, uint64_t rtt_ns);

/* Client: sends the first ClientHello flight. Server: no-op. 0 or -EPROTO. */
WARN_UNUSED int rtc_dtls_start(rtc_dtls_t *d, uint64_t now_ns, rtc_dtls_out_t *out);
/* Feeds one received datagram (first byte 20-63, RFC 7983). Borrowed for the call. Returns
 * RTC_DTLS_EV_* flags (>= 0), or a negative errno once the association has failed:
 * -EACCES (fingerprint mismatch), -ETIMEDOUT, -EPROTO (handshake failure or fatal alert).
 * Garbage that does not break the association is counted in bad_cnt and returns 0. */
WARN_UNUSED int rtc_dtls_input(rtc_dtls_t *d, const uint8_t *p, size_t len, uint64_t now_ns,
                               rtc_dtls_out_t *out);
/* When rtc_dtls_handle_timeout() must next run (UINT64_MAX: no timer). */
uint64_t rtc_dtls_deadline(const rtc_dtls_t *d);
/* Retransmits the last flight if its timer expired; fails the handshake after
 * handshake_timeout_ms. Returns 0 or -ETIMEDOUT / -EPROTO. */
WARN_UNUSED int rtc_dtls_handle_timeout(rtc_dtls_t *d, uint64_t now_ns, rtc_dtls_out_t *out);
/* Encrypts one application-data record (an SCTP packet). 0, -ENOTCONN, -EMSGSIZE, -EPROTO. */
WARN_UNUSED int rtc_dtls_send(rtc_dtls_t *d, const void *data, size_t len, rtc_dtls_out_t *out);
/* Sends close_notify (RFC 5246 §7.2.1) and moves to CLOSED. 0 or -ENOTCONN. */
WARN_UNUSED int rtc_dtls_close(rtc_dtls_t *d, rtc_dtls_out_t *out);

/* After RTC_DTLS_EV_CONNECTED: the negotiated profile and the keys exported per RFC 5764
 * §4.2 (client_write_key | server_write_key | client_salt | server_salt, label
 * "EXTRACTOR-dtls_srtp"), arranged as local/remote for our role. 0, -ENOTCONN, or -ENOTSUP
 * when no SRTP profile was negotiated. */
WARN_UNUSED int rtc_dtls_srtp_keys(const rtc_dtls_t *d, rtc_srtp_keys_t *keys);
/* The negotiated cipher suite name ("ECDHE-ECDSA-AES128-GCM-SHA256") or "" */
const char *rtc_dtls_cipher(const rtc_dtls_t *d);
/* -errno that failed the association, 0 if it has not failed. */
static inline int rtc_dtls_error(const rtc_dtls_t *d)
{
    return d->_fail;
}
const char *rtc_dtls_state_name(rtc_dtls_state_t s);

#endif
