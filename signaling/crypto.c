/* signaling/crypto.c: SHA-1 (the WebSocket accept key), HMAC-SHA256 (room tokens) and
 * constant-time comparison from OpenSSL (the only file of signaling/ that includes its
 * headers; signaling/ may not reach rtc/crypto), plus base64 written here because OpenSSL has
 * no unpadded base64url. */
#include "signaling/sig_priv.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

void sig_sha1(const void *data, size_t len, uint8_t out[SIG_SHA1_LEN])
{
    SHA1(data, len, out);
}

int sig_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                    uint8_t out[SIG_SHA256_LEN])
{
    unsigned int out_len = 0;
    if (key_len > INT32_MAX)
        return -EINVAL;
    if (!HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &out_len) ||
        out_len != SIG_SHA256_LEN) {
        LOG_ERROR("HMAC-SHA256 failed");
        return -EIO;
    }
    return 0;
}

bool sig_mem_eq(const void *a, const void *b, size_t len)
{
    return CRYPTO_memcmp(a, b, len) == 0;
}

static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int sig_b64_encode(const uint8_t *in, size_t len, char *out, size_t cap, bool url)
{
    const char *a = url ? b64_url : b64_std;
    size_t need = url ? (len * 4 + 2) / 3 : (len + 2) / 3 * 4;
    if (len > SIZE_MAX / 4 - 4 || need + 1 > cap)
        return -ENOSPC;
    size_t o = 0, i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = a[v >> 18];
        out[o++] = a[(v >> 12) & 63];
        out[o++] = a[(v >> 6) & 63];
        out[o++] = a[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = a[v >> 18];
        out[o++] = a[(v >> 12) & 63];
        if (!url) {
            out[o++] = '=';
            out[o++] = '=';
        }
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = a[v >> 18];
        out[o++] = a[(v >> 12) & 63];
        out[o++] = a[(v >> 6) & 63];
        if (!url)
            out[o++] = '=';
    }
    out[o] = 0;
    return (int)o;
}

static int b64_val(char c, bool url)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == (url ? '-' : '+'))
        return 62;
    if (c == (url ? '_' : '/'))
        return 63;
    return -1;
}

int sig_b64_decode(const char *in, size_t len, uint8_t *out, size_t cap, bool url)
{
    if (!url) { /* RFC 4648 §4: padded to a multiple of 4, at most two '=' at the end */
        if (len % 4)
            return -EBADMSG;
        if (len && in[len - 1] == '=')
            len--;
        if (len && in[len - 1] == '=')
            len--;
    }
    if (len % 4 == 1)
        return -EBADMSG;
    size_t n = len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0);
    if (n > cap)
        return -ENOSPC;
    size_t o = 0;
    uint32_t acc = 0;
    unsigned bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64_val(in[i], url);
        if (v < 0)
            return -EBADMSG;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    /* RFC 4648 §3.5: the pad bits of the last quantum must be zero (canonical encoding). */
    if (acc & ((1u << bits) - 1))
        return -EBADMSG;
    return (int)o;
}
