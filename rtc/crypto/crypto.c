/* rtc/crypto/crypto.c: OpenSSL behind rtc_* functions. */
#include "rtc/crypto/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

static int hmac(const EVP_MD *md, const void *key, size_t key_len, const net_view_t *parts,
                size_t cnt, uint8_t *out, size_t out_len)
{
    /* One-shot HMAC(): EVP_MAC would allocate a context per call. */
    uint8_t tmp[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    int ok;
    if (cnt == 1) {
        ok = HMAC(md, key, (int)key_len, parts[0].p, parts[0].len, tmp, &n) != NULL;
    } else {
        /* Concatenate into a bounded stack buffer: STUN messages are < 1.5 KB. */
        uint8_t buf[4096];
        size_t len = 0;
        for (size_t i = 0; i < cnt; i++) {
            if (len + parts[i].len > sizeof buf)
                return -EMSGSIZE;
            memcpy(buf + len, parts[i].p, parts[i].len);
            len += parts[i].len;
        }
        ok = HMAC(md, key, (int)key_len, buf, len, tmp, &n) != NULL;
    }
    if (!ok || n != out_len)
        return -EIO;
    memcpy(out, tmp, out_len);
    return 0;
}

int rtc_hmac_sha1(const void *key, size_t key_len, const net_view_t *parts, size_t cnt,
                  uint8_t out[RTC_SHA1_LEN])
{
    return hmac(EVP_sha1(), key, key_len, parts, cnt, out, RTC_SHA1_LEN);
}

int rtc_hmac_sha256(const void *key, size_t key_len, const net_view_t *parts, size_t cnt,
                    uint8_t out[RTC_SHA256_LEN])
{
    return hmac(EVP_sha256(), key, key_len, parts, cnt, out, RTC_SHA256_LEN);
}

static int digest(const EVP_MD *md, const net_view_t *parts, size_t cnt, uint8_t *out,
                  size_t out_len)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int n = 0;
    int ok = ctx && EVP_DigestInit_ex(ctx, md, NULL);
    for (size_t i = 0; ok && i < cnt; i++)
        ok = EVP_DigestUpdate(ctx, parts[i].p, parts[i].len);
    ok = ok && EVP_DigestFinal_ex(ctx, out, &n) && n == out_len;
    EVP_MD_CTX_free(ctx);
    return ok ? 0 : -EIO;
}

int rtc_md5(const net_view_t *parts, size_t cnt, uint8_t out[RTC_MD5_LEN])
{
    return digest(EVP_md5(), parts, cnt, out, RTC_MD5_LEN);
}

int rtc_sha256(const net_view_t *parts, size_t cnt, uint8_t out[RTC_SHA256_LEN])
{
    return digest(EVP_sha256(), parts, cnt, out, RTC_SHA256_LEN);
}

int rtc_random(void *buf, size_t len)
{
    return RAND_bytes(buf, (int)len) == 1 ? 0 : -EIO;
}

bool rtc_mem_eq_ct(const void *a, const void *b, size_t len)
{
    return CRYPTO_memcmp(a, b, len) == 0;
}

static uint32_t crc_table[256];

__attribute__((constructor)) static void crc_table_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

uint32_t rtc_crc32(const uint8_t *p, size_t len)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < len; i++)
        c = crc_table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}
