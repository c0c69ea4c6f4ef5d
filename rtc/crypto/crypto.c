/* rtc/crypto/crypto.c: OpenSSL behind rtc_* functions. */
#include "rtc/crypto/crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>

/* One EVP_MAC context per thread and digest, fetched once: OpenSSL 3's one-shot HMAC()
 * fetches the algorithm and allocates a context on every call, which costs as much as the MAC
 * itself for a STUN-sized message. Thread-local, so any thread may call; a pthread key frees
 * them when the thread exits. */
static pthread_key_t mac_key;
static pthread_once_t mac_once = PTHREAD_ONCE_INIT;
static __thread EVP_MAC_CTX *mac_ctxs[2];

static void mac_ctxs_free(void *arg)
{
    EVP_MAC_CTX **c = arg;
    EVP_MAC_CTX_free(c[0]);
    EVP_MAC_CTX_free(c[1]);
    c[0] = c[1] = NULL;
}

static void mac_key_init(void)
{
    (void)pthread_key_create(&mac_key, mac_ctxs_free);
}

static int hmac(bool sha256, const void *key, size_t key_len, const net_view_t *parts, size_t cnt,
                uint8_t *out, size_t out_len)
{
    EVP_MAC_CTX **ctx = &mac_ctxs[sha256];
    if (!*ctx) {
        EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
        *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
        EVP_MAC_free(mac); /* the context keeps its own reference */
        if (!*ctx)
            return -EIO;
        pthread_once(&mac_once, mac_key_init);
        (void)pthread_setspecific(mac_key, mac_ctxs);
    }
    OSSL_PARAM params[2] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, sha256 ? "SHA256" : "SHA1", 0),
        OSSL_PARAM_construct_end()};
    uint8_t tmp[EVP_MAX_MD_SIZE];
    size_t n = 0;
    int ok = EVP_MAC_init(*ctx, key, key_len, params);
    for (size_t i = 0; ok && i < cnt; i++)
        ok = EVP_MAC_update(*ctx, parts[i].p, parts[i].len);
    ok = ok && EVP_MAC_final(*ctx, tmp, &n, sizeof tmp);
    if (!ok || n != out_len)
        return -EIO;
    memcpy(out, tmp, out_len);
    return 0;
}

int rtc_hmac_sha1(const void *key, size_t key_len, const net_view_t *parts, size_t cnt,
                  uint8_t out[RTC_SHA1_LEN])
{
    return hmac(false, key, key_len, parts, cnt, out, RTC_SHA1_LEN);
}

int rtc_hmac_sha256(const void *key, size_t key_len, const net_view_t *parts, size_t cnt,
                    uint8_t out[RTC_SHA256_LEN])
{
    return hmac(true, key, key_len, parts, cnt, out, RTC_SHA256_LEN);
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
