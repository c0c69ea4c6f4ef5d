/* rtc/demux/demux.h: tells apart the protocols that share one transport (RFC 7983), and walks
 * the DTLS record layer of a datagram without decrypting anything (RFC 6347 §4.1).
 *
 * Pure functions over borrowed bytes: any thread, no allocation, no clock.
 */
#ifndef URTC_RTC_DEMUX_DEMUX_H
#define URTC_RTC_DEMUX_DEMUX_H

#include "net/net.h"

typedef enum rtc_demux_kind {
    RTC_DEMUX_DROP = 0, /* not ours (ZRTP, TURN channel, QUIC, garbage): drop and count */
    RTC_DEMUX_STUN,
    RTC_DEMUX_DTLS,
    RTC_DEMUX_RTP,
    RTC_DEMUX_RTCP,
} rtc_demux_kind_t;

/* Classifies one datagram by its first byte (RFC 7983 §7) and, for RTP/RTCP, its second
 * (RFC 5761 §4: RTCP packet types 192-223). Too-short datagrams of a known kind are DROP. */
rtc_demux_kind_t rtc_demux_classify(const uint8_t *p, size_t len);
/* "stun", "dtls", "rtp", "rtcp", "drop". */
const char *rtc_demux_kind_name(rtc_demux_kind_t k);

/* DTLS record header, RFC 6347 §4.1:
 *   0                   1                   2                   3
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   | content type  |    version (major, minor)     |    epoch ...  |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   | ... epoch     |        sequence number (48 bits) ...          |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   | ... sequence number           |            length             |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   | fragment (length bytes) ...
 */
#define RTC_DTLS_REC_HDR_LEN 13
#define RTC_DTLS_CT_CHANGE_CIPHER_SPEC 20
#define RTC_DTLS_CT_ALERT 21
#define RTC_DTLS_CT_HANDSHAKE 22
#define RTC_DTLS_CT_APPLICATION_DATA 23
#define RTC_DTLS_HS_CLIENT_HELLO 1

typedef struct rtc_dtls_rec {
    uint8_t content_type;
    uint16_t version; /* 0xfeff DTLS 1.0, 0xfefd DTLS 1.2 */
    uint16_t epoch;
    uint64_t seq;    /* 48 bits */
    net_view_t body; /* the fragment: a view into the datagram */
} rtc_dtls_rec_t;

/* Parses the record at the start of @p. Returns the bytes it spans (header + body), or
 * -EBADMSG when the header is truncated, the body runs past @len, the content type is not
 * 20-25, the major version is not 0xfe, or the length exceeds 2^14 + 2048 (RFC 6347 §4.1,
 * RFC 5246 §6.2.3: ciphertext length limit). */
WARN_UNUSED int rtc_demux_dtls_record(const uint8_t *p, size_t len, rtc_dtls_rec_t *r);

/* Walks every record of a datagram into @out (capacity @cap). Returns the record count, or
 * -EBADMSG (any malformed record or trailing bytes) or -ENOSPC (more than @cap records). */
WARN_UNUSED int rtc_demux_dtls_records(const uint8_t *p, size_t len, rtc_dtls_rec_t *out,
                                       size_t cap);

/* True if the datagram starts with an epoch-0 handshake record carrying a ClientHello
 * fragment (how a server spots a new or restarted DTLS association). */
bool rtc_demux_dtls_is_client_hello(const uint8_t *p, size_t len);

#endif
