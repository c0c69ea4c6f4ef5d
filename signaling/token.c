/* signaling/token.c: room tokens. A token lets its holder join one room (WebSocket join, WHIP,
 * WHEP) until it expires:
 *
 *   token   = "v1." payload "." mac
 *   payload = base64url(exp-unix-seconds "." room)           (RFC 4648 §5, unpadded)
 *   mac     = base64url(HMAC-SHA256(secret, "v1." payload))  (RFC 2104, FIPS 180-4)
 *
 * The signature is checked (in constant time) before anything in the payload is believed. */
#include "signaling/sig_priv.h"

#include <inttypes.h>
#include <stdio.h>

#define TOKEN_PREFIX "v1."

int sig_token_make(const char *secret, const char *room, uint64_t exp_unix, char *out, size_t cap)
{
    if (!secret || !*secret || !room || !sig_room_name_ok(room, strlen(room)))
        return -EINVAL;
    char payload[96];
    int n = snprintf(payload, sizeof payload, "%" PRIu64 ".%s", exp_unix, room);
    if (n < 0 || (size_t)n >= sizeof payload)
        return -EINVAL;
    char signed_part[SIG_TOKEN_MAX_LEN];
    memcpy(signed_part, TOKEN_PREFIX, 3);
    int m = sig_b64_encode((const uint8_t *)payload, (size_t)n, signed_part + 3,
                           sizeof signed_part - 3, true);
    if (m < 0)
        return -ENOSPC;
    size_t slen = 3 + (size_t)m;
    uint8_t mac[SIG_SHA256_LEN];
    int ret = sig_hmac_sha256(secret, strlen(secret), signed_part, slen, mac);
    if (ret < 0)
        return ret;
    char mac_b64[48];
    if (sig_b64_encode(mac, sizeof mac, mac_b64, sizeof mac_b64, true) < 0)
        return -ENOSPC;
    n = snprintf(out, cap, "%.*s.%s", (int)slen, signed_part, mac_b64);
    if (n < 0 || (size_t)n >= cap)
        return -ENOSPC;
    return n;
}

int sig_token_check(const char *secret, const char *room, const char *token, size_t len,
                    uint64_t now_unix)
{
    if (!secret || !*secret || len > SIG_TOKEN_MAX_LEN || len < 4 ||
        memcmp(token, TOKEN_PREFIX, 3) != 0)
        return -EBADMSG;
    const char *dot = memrchr(token, '.', len);
    if (!dot || dot < token + 3)
        return -EBADMSG;
    size_t slen = (size_t)(dot - token);
    uint8_t mac[SIG_SHA256_LEN], got[SIG_SHA256_LEN + 2];
    if (sig_b64_decode(dot + 1, len - slen - 1, got, sizeof got, true) != SIG_SHA256_LEN)
        return -EBADMSG;
    if (sig_hmac_sha256(secret, strlen(secret), token, slen, mac) < 0)
        return -EIO;
    if (!sig_mem_eq(mac, got, sizeof mac))
        return -EACCES;
    char payload[SIG_TOKEN_MAX_LEN];
    int n = sig_b64_decode(token + 3, slen - 3, (uint8_t *)payload, sizeof payload - 1, true);
    if (n <= 0)
        return -EBADMSG;
    payload[n] = 0;
    const char *pdot = memchr(payload, '.', (size_t)n);
    if (!pdot || pdot == payload || pdot - payload > 20)
        return -EBADMSG;
    uint64_t exp = 0;
    for (const char *p = payload; p < pdot; p++) {
        if (*p < '0' || *p > '9')
            return -EBADMSG;
        exp = exp * 10 + (uint64_t)(*p - '0');
    }
    if (strlen(pdot + 1) != (size_t)(n - (pdot + 1 - payload)) || strcmp(pdot + 1, room) != 0)
        return -EACCES; /* signed by us, but for another room (or with a NUL inside) */
    if (now_unix >= exp)
        return -ETIMEDOUT;
    return 0;
}
