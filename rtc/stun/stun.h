/* rtc/stun/stun.h: STUN messages (RFC 8489) with the ICE (RFC 8445) and TURN (RFC 8656)
 * attributes.
 *
 * Parsing fills an rtc_stun_msg_t whose views point into the caller's buffer (no copies); the
 * message lives no longer than that buffer. Building goes through rtc_stun_wr_t, a small
 * writer into a caller buffer whose errors are sticky (check once, at rtc_stun_wr_finish()).
 * Pure functions, no state: any thread.
 */
#ifndef URTC_RTC_STUN_STUN_H
#define URTC_RTC_STUN_STUN_H

#include "net/net.h"

#define RTC_STUN_HDR_LEN 20
#define RTC_STUN_MAGIC 0x2112A442u
#define RTC_STUN_TXID_LEN 12
#define RTC_STUN_FP_XOR 0x5354554eu /* RFC 8489 §14.7 */
#define RTC_STUN_MAX_UNKNOWN 8      /* unknown comprehension-required types kept for a 420 */

/* Classes (RFC 8489 §5). */
enum rtc_stun_class {
    RTC_STUN_REQUEST = 0,
    RTC_STUN_INDICATION = 1,
    RTC_STUN_SUCCESS = 2,
    RTC_STUN_ERROR = 3,
};

/* Methods: Binding (RFC 8489), TURN (RFC 8656 §18). */
enum rtc_stun_method {
    RTC_STUN_BINDING = 0x001,
    RTC_STUN_ALLOCATE = 0x003,
    RTC_STUN_REFRESH = 0x004,
    RTC_STUN_SEND = 0x006,
    RTC_STUN_DATA = 0x007,
    RTC_STUN_CREATE_PERMISSION = 0x008,
    RTC_STUN_CHANNEL_BIND = 0x009,
};

/* Attribute types (RFC 8489 §18.3, RFC 8445 §16.1, RFC 8656 §18). */
enum rtc_stun_attr_type {
    RTC_STUN_A_MAPPED_ADDRESS = 0x0001,
    RTC_STUN_A_USERNAME = 0x0006,
    RTC_STUN_A_MESSAGE_INTEGRITY = 0x0008,
    RTC_STUN_A_ERROR_CODE = 0x0009,
    RTC_STUN_A_UNKNOWN_ATTRIBUTES = 0x000A,
    RTC_STUN_A_CHANNEL_NUMBER = 0x000C,
    RTC_STUN_A_LIFETIME = 0x000D,
    RTC_STUN_A_XOR_PEER_ADDRESS = 0x0012,
    RTC_STUN_A_DATA = 0x0013,
    RTC_STUN_A_REALM = 0x0014,
    RTC_STUN_A_NONCE = 0x0015,
    RTC_STUN_A_XOR_RELAYED_ADDRESS = 0x0016,
    RTC_STUN_A_REQUESTED_ADDRESS_FAMILY = 0x0017,
    RTC_STUN_A_EVEN_PORT = 0x0018,
    RTC_STUN_A_REQUESTED_TRANSPORT = 0x0019,
    RTC_STUN_A_DONT_FRAGMENT = 0x001A,
    RTC_STUN_A_MESSAGE_INTEGRITY_SHA256 = 0x001C,
    RTC_STUN_A_PASSWORD_ALGORITHM = 0x001D,
    RTC_STUN_A_USERHASH = 0x001E,
    RTC_STUN_A_XOR_MAPPED_ADDRESS = 0x0020,
    RTC_STUN_A_RESERVATION_TOKEN = 0x0022,
    RTC_STUN_A_PRIORITY = 0x0024,
    RTC_STUN_A_USE_CANDIDATE = 0x0025,
    RTC_STUN_A_PASSWORD_ALGORITHMS = 0x8002,
    RTC_STUN_A_ALTERNATE_DOMAIN = 0x8003,
    RTC_STUN_A_SOFTWARE = 0x8022,
    RTC_STUN_A_ALTERNATE_SERVER = 0x8023,
    RTC_STUN_A_FINGERPRINT = 0x8028,
    RTC_STUN_A_ICE_CONTROLLED = 0x8029,
    RTC_STUN_A_ICE_CONTROLLING = 0x802A,
};

/* Bits of rtc_stun_msg_t.present: which attributes the message carried. */
enum rtc_stun_has {
    RTC_STUN_HAS_MAPPED = 1u << 0,
    RTC_STUN_HAS_XOR_MAPPED = 1u << 1,
    RTC_STUN_HAS_USERNAME = 1u << 2,
    RTC_STUN_HAS_MI = 1u << 3,
    RTC_STUN_HAS_MI256 = 1u << 4,
    RTC_STUN_HAS_FINGERPRINT = 1u << 5,
    RTC_STUN_HAS_ERROR = 1u << 6,
    RTC_STUN_HAS_UNKNOWN_ATTRS = 1u << 7,
    RTC_STUN_HAS_SOFTWARE = 1u << 8,
    RTC_STUN_HAS_PRIORITY = 1u << 9,
    RTC_STUN_HAS_USE_CANDIDATE = 1u << 10,
    RTC_STUN_HAS_CONTROLLED = 1u << 11,
    RTC_STUN_HAS_CONTROLLING = 1u << 12,
    RTC_STUN_HAS_REALM = 1u << 13,
    RTC_STUN_HAS_NONCE = 1u << 14,
    RTC_STUN_HAS_LIFETIME = 1u << 15,
    RTC_STUN_HAS_XOR_PEER = 1u << 16,
    RTC_STUN_HAS_XOR_RELAYED = 1u << 17,
    RTC_STUN_HAS_DATA = 1u << 18,
    RTC_STUN_HAS_REQ_TRANSPORT = 1u << 19,
    RTC_STUN_HAS_CHANNEL = 1u << 20,
};

/* A parsed message. Views point into the parsed buffer. For a repeated attribute only the
 * first occurrence is kept (RFC 8489 §14: "only the first occurrence needs to be processed");
 * attributes after MESSAGE-INTEGRITY other than MESSAGE-INTEGRITY-SHA256 and FINGERPRINT are
 * ignored (§14.5), and nothing may follow FINGERPRINT (§14.7). */
typedef struct rtc_stun_msg {
    const uint8_t *raw;  /* the whole message */
    size_t len;          /* RTC_STUN_HDR_LEN + body */
    uint16_t method;     /* enum rtc_stun_method */
    uint8_t cls;         /* enum rtc_stun_class */
    const uint8_t *txid; /* RTC_STUN_TXID_LEN bytes */
    uint32_t present;    /* enum rtc_stun_has bits */

    net_view_t username, realm, nonce, software, data;
    net_view_t unknown_attrs; /* UNKNOWN-ATTRIBUTES value: 16-bit types */
    uint16_t error_code;      /* 300..699 */
    net_view_t error_reason;
    net_addr_t mapped, xor_mapped, xor_peer, xor_relayed;
    uint32_t priority, lifetime_s;
    uint64_t ice_controlling, ice_controlled; /* tie-breakers */
    uint16_t channel;
    uint8_t req_transport; /* IANA protocol number (17 = UDP) */

    /* Offsets from raw of the attribute headers of MESSAGE-INTEGRITY(-SHA256) and FINGERPRINT
     * (valid when the HAS bit is set). */
    uint16_t mi_off, mi256_off, fp_off;
    uint16_t mi256_len;

    /* Comprehension-required (type < 0x8000) attributes this parser does not know. */
    uint16_t unknown[RTC_STUN_MAX_UNKNOWN];
    uint8_t unknown_cnt;
} rtc_stun_msg_t;

/* Message type from method and class (RFC 8489 §5, the interleaved bits). */
static inline uint16_t rtc_stun_type(uint16_t method, unsigned cls)
{
    return (uint16_t)((method & 0x000F) | ((method & 0x0070) << 1) | ((method & 0x0F80) << 2) |
                      ((cls & 1) << 4) | ((cls & 2) << 7));
}

/* Quick check for the demux (RFC 7983 §7 and RFC 8489 §5): first byte 0..3, magic cookie,
 * length a multiple of 4 that matches @len. No attribute parsing. */
bool rtc_stun_is_stun(const uint8_t *b, size_t len);

/* Parses @len bytes at @b into @m (views into @b). Returns the number of bytes consumed
 * (RTC_STUN_HDR_LEN + the header's body length, which may be less than @len), or -EBADMSG
 * for a malformed message: short, bad header, attribute overrunning the body, a known
 * attribute with a bad length or value, an attribute after FINGERPRINT, more than
 * RTC_STUN_MAX_UNKNOWN unknown comprehension-required attributes. Does not check
 * MESSAGE-INTEGRITY or FINGERPRINT: see below. */
WARN_UNUSED int rtc_stun_parse(const uint8_t *b, size_t len, rtc_stun_msg_t *m);

/* FINGERPRINT (RFC 8489 §14.7): 0 if present and correct, -ENOENT if absent, -EBADMSG if
 * wrong. */
WARN_UNUSED int rtc_stun_check_fingerprint(const rtc_stun_msg_t *m);

/* MESSAGE-INTEGRITY (RFC 8489 §14.5, HMAC-SHA1) with @key: the short-term password as is,
 * or the long-term key from rtc_stun_lt_key(). 0 if correct, -ENOENT if absent, -EACCES if
 * wrong, -EIO if the crypto library failed. */
WARN_UNUSED int rtc_stun_check_integrity(const rtc_stun_msg_t *m, const void *key, size_t key_len);
/* The same for MESSAGE-INTEGRITY-SHA256 (RFC 8489 §14.6; truncated values of 16..32 bytes
 * are accepted). */
WARN_UNUSED int rtc_stun_check_integrity_sha256(const rtc_stun_msg_t *m, const void *key,
                                                size_t key_len);

/* The long-term credential key (RFC 8489 §9.2.2, MD5 algorithm): MD5(user ":" realm ":"
 * pass). The strings are used as given (no OpaqueString processing). 0 or -EIO. */
WARN_UNUSED int rtc_stun_lt_key(const char *user, net_view_t realm, const char *pass,
                                uint8_t key[16]);

/* The part of USERNAME before the first ':' (RFC 8445 §7.2.2: "RFRAG:LFRAG", so in a check
 * received by an agent, its own ufrag). A lite server finds the agent by it. 0, -ENOENT
 * without USERNAME, -EBADMSG if there is no ':' or a part is empty. */
WARN_UNUSED int rtc_stun_username_ufrag(const rtc_stun_msg_t *m, net_view_t *ufrag);

/* The same from raw bytes: parses just enough. For the engine's demux. */
WARN_UNUSED int rtc_stun_peek_ufrag(const uint8_t *b, size_t len, net_view_t *ufrag);

/* ---------------------------------------------------------------------------------------------
 * Writer. Every rtc_stun_wr_* call after a failure does nothing; rtc_stun_wr_finish() reports
 * the first error. MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256 and FINGERPRINT must be added
 * last, in that order.
 */
typedef struct rtc_stun_wr {
    uint8_t *buf;
    size_t cap;
    size_t len;
    int err;
} rtc_stun_wr_t;

/* Starts a message of @method and @cls with transaction id @txid (12 bytes) in @buf. */
void rtc_stun_wr_init(rtc_stun_wr_t *w, uint8_t *buf, size_t cap, uint16_t method, unsigned cls,
                      const uint8_t *txid);
void rtc_stun_wr_attr(rtc_stun_wr_t *w, uint16_t type, const void *val, size_t len);
static inline void rtc_stun_wr_str(rtc_stun_wr_t *w, uint16_t type, const char *s)
{
    rtc_stun_wr_attr(w, type, s, strlen(s));
}
void rtc_stun_wr_u32(rtc_stun_wr_t *w, uint16_t type, uint32_t v);
void rtc_stun_wr_u64(rtc_stun_wr_t *w, uint16_t type, uint64_t v);
/* MAPPED-ADDRESS style (plain) or XOR-*-ADDRESS style (RFC 8489 §14.1, §14.2). */
void rtc_stun_wr_addr(rtc_stun_wr_t *w, uint16_t type, const net_addr_t *a);
void rtc_stun_wr_xor_addr(rtc_stun_wr_t *w, uint16_t type, const net_addr_t *a);
/* ERROR-CODE (RFC 8489 §14.8); @reason may be NULL for the RFC's default phrase. */
void rtc_stun_wr_error(rtc_stun_wr_t *w, uint16_t code, const char *reason);
/* REQUESTED-TRANSPORT (RFC 8656 §14.7), CHANNEL-NUMBER (§14.1). */
void rtc_stun_wr_transport(rtc_stun_wr_t *w, uint8_t proto);
void rtc_stun_wr_channel(rtc_stun_wr_t *w, uint16_t channel);
void rtc_stun_wr_integrity(rtc_stun_wr_t *w, const void *key, size_t key_len);
void rtc_stun_wr_integrity_sha256(rtc_stun_wr_t *w, const void *key, size_t key_len);
void rtc_stun_wr_fingerprint(rtc_stun_wr_t *w);
/* The message length, or -ENOSPC if it did not fit, -EINVAL on a bad argument, -EIO if the
 * crypto library failed. */
WARN_UNUSED int rtc_stun_wr_finish(const rtc_stun_wr_t *w);

/* Builds into @buf the 420 (Unknown Attribute) error response to request @req, listing
 * @req's unknown comprehension-required attributes in UNKNOWN-ATTRIBUTES (RFC 8489 §6.3.1.1),
 * with MESSAGE-INTEGRITY when @key is not NULL, and FINGERPRINT. Returns the length,
 * -EINVAL if @req is not a request or has no unknown attribute, -ENOSPC. */
WARN_UNUSED int rtc_stun_build_420(const rtc_stun_msg_t *req, uint8_t *buf, size_t cap,
                                   const void *key, size_t key_len);

/* Human name of an attribute type ("USERNAME"), or NULL. */
const char *rtc_stun_attr_name(uint16_t type);

#endif
