/* rtc/crypto/crypto.h: the hashes, MACs, CRC and randomness the protocols need, behind one
 * wrapper so that OpenSSL types stay inside rtc/crypto/crypto.c. Pure functions: any thread.
 */
#ifndef URTC_RTC_CRYPTO_CRYPTO_H
#define URTC_RTC_CRYPTO_CRYPTO_H

#include "net/net.h"

#define RTC_SHA1_LEN 20
#define RTC_SHA256_LEN 32
#define RTC_MD5_LEN 16

/* HMAC over the concatenation of @parts[0..cnt). Returns 0, or -EIO if OpenSSL fails. */
WARN_UNUSED int rtc_hmac_sha1(const void *key, size_t key_len, const net_view_t *parts, size_t cnt,
                              uint8_t out[RTC_SHA1_LEN]);
WARN_UNUSED int rtc_hmac_sha256(const void *key, size_t key_len, const net_view_t *parts,
                                size_t cnt, uint8_t out[RTC_SHA256_LEN]);
/* Digests of the concatenation of @parts. 0 or -EIO. */
WARN_UNUSED int rtc_md5(const net_view_t *parts, size_t cnt, uint8_t out[RTC_MD5_LEN]);
WARN_UNUSED int rtc_sha256(const net_view_t *parts, size_t cnt, uint8_t out[RTC_SHA256_LEN]);
/* Cryptographically strong random bytes. 0 or -EIO. */
WARN_UNUSED int rtc_random(void *buf, size_t len);
/* CRC-32 as in ISO 3309 / ITU-T V.42 (the one zlib and STUN FINGERPRINT use). */
uint32_t rtc_crc32(const uint8_t *p, size_t len);
/* Constant-time comparison: true if equal. */
bool rtc_mem_eq_ct(const void *a, const void *b, size_t len);

#endif
