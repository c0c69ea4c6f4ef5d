/* rtc/srtp/ossl.c: OpenSSL-backed cipher and auth types for libsrtp2.
 *
 * Debian builds libsrtp2 on NSS; its AES-CM and HMAC-SHA1 go through PK11 contexts per packet
 * and are several times slower than OpenSSL's AES-NI/SHA paths. libsrtp2 lets a program swap a
 * transform with srtp_replace_cipher_type()/srtp_replace_auth_type(); these are the types we
 * install. The contract they implement is libsrtp2 2.5's crypto/cipher and crypto/hash
 * interfaces (the same one its own aes_icm_ossl.c, aes_gcm_ossl.c and hmac_ossl.c follow):
 *
 *  - AES-ICM: the key handed to init() is key || 14-byte salt; set_iv() gets a 16-byte
 *    block which is XORed with the salt (padded with two zero bytes) to form the initial
 *    counter (RFC 3711 §4.1.1).
 *  - AES-GCM: the key is key || 12-byte salt (the salt is used by srtp.c for the IV, not here);
 *    set_iv() gets the 12-byte IV and the direction; set_aad() may be called more than once
 *    (SRTCP adds the E||index word); encrypt() then get_tag() on send; decrypt() receives
 *    ciphertext || tag and verifies the tag (RFC 7714 §9).
 *  - HMAC-SHA1: init() leaves the state ready to absorb data; start() resets it, update()
 *    absorbs, compute() absorbs a last chunk and writes the truncated tag.
 *
 * HMAC uses OpenSSL's SHA-1 block functions with the ipad/opad states precomputed at init and
 * copied per packet (a struct copy). OpenSSL 3.0's HMAC_Init_ex/EVP_MAC re-init path calls
 * EVP_MD_CTX_copy_ex(), which frees and mallocs a provider context on every packet; the hot
 * path must not allocate. The SHA1_* functions are deprecated in 3.0 but run the same
 * assembly as EVP_sha1().
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include "rtc/srtp/srtp_priv.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <srtp2/auth.h>
#include <srtp2/cipher.h>
#include <stdlib.h>

/* ---------------------------------------------------------------------------------------------
 * Known answers. libsrtp runs a type's test_data when it is registered and in
 * srtp_cipher_type_self_test().
 */

/* RFC 3711 Appendix B.2: AES-CM keystream with session key 2B7E1516..., salt F0F1...FD and
 * index 0: encrypting 32 zero bytes yields the first two keystream segments. */
static const uint8_t icm_key[30] = {0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7,
                                    0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c, 0xf0, 0xf1, 0xf2, 0xf3,
                                    0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd};
static uint8_t icm_idx[16];
static const uint8_t icm_pt[32];
static const uint8_t icm_ct[32] = {0xe0, 0x3e, 0xad, 0x09, 0x35, 0xc9, 0x5e, 0x80, 0xe1, 0x66, 0xb1,
                                   0x6d, 0xd9, 0x2b, 0x4e, 0xb4, 0xd2, 0x35, 0x13, 0x16, 0x2b, 0x02,
                                   0xd0, 0xf7, 0x2a, 0x43, 0xa2, 0xfe, 0x4a, 0x5f, 0x97, 0xab};
static const srtp_cipher_test_case_t icm_test = {
    30, icm_key, icm_idx, 32, icm_pt, 32, icm_ct, 0, NULL, 0, NULL,
};

/* RFC 7714 §16: key 00..0f (the salt 5175...6f only feeds the IV, which is given here). */
static const uint8_t gcm128_key[28] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09,
                                       0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x51, 0x75, 0x69, 0x64,
                                       0x20, 0x70, 0x72, 0x6f, 0x20, 0x71, 0x75, 0x6f};
/* §16.1.1: RTP header as AAD, "Gallia est omnis divisa in partes tres" as plaintext. */
static uint8_t gcm_rtp_iv[12] = {0x51, 0x75, 0x3c, 0x65, 0x80, 0xc2,
                                 0x72, 0x6f, 0x20, 0x71, 0x84, 0x14};
static const uint8_t gcm_rtp_aad[12] = {0x80, 0x40, 0xf1, 0x7b, 0x80, 0x41,
                                        0xf8, 0xd3, 0x55, 0x01, 0xa0, 0xb2};
static const uint8_t gcm_rtp_pt[38] = "Gallia est omnis divisa in partes tres";
static const uint8_t gcm128_rtp_ct[54] = {
    0xf2, 0x4d, 0xe3, 0xa3, 0xfb, 0x34, 0xde, 0x6c, 0xac, 0xba, 0x86, 0x1c, 0x9d, 0x7e,
    0x4b, 0xca, 0xbe, 0x63, 0x3b, 0xd5, 0x0d, 0x29, 0x4e, 0x6f, 0x42, 0xa5, 0xf4, 0x7a,
    0x51, 0xc7, 0xd1, 0x9b, 0x36, 0xde, 0x3a, 0xdf, 0x88, 0x33, 0x89, 0x9d, 0x7f, 0x27,
    0xbe, 0xb1, 0x6a, 0x91, 0x52, 0xcf, 0x76, 0x5e, 0xe4, 0x39, 0x0c, 0xce};
/* §17.1: SRTCP, AAD = first 8 octets || E||SRTCP index (0x800005d4). */
static uint8_t gcm_rtcp_iv[12] = {0x51, 0x75, 0x24, 0x05, 0x52, 0x03,
                                  0x72, 0x6f, 0x20, 0x71, 0x70, 0xbb};
static const uint8_t gcm_rtcp_aad[12] = {0x81, 0xc8, 0x00, 0x0d, 0x4d, 0x61,
                                         0x72, 0x73, 0x80, 0x00, 0x05, 0xd4};
static const uint8_t gcm_rtcp_pt[44] = {
    0x4e, 0x54, 0x50, 0x31, 0x4e, 0x54, 0x50, 0x32, 0x52, 0x54, 0x50, 0x20, 0x00, 0x00, 0x04,
    0x2a, 0x00, 0x00, 0xe9, 0x30, 0x4c, 0x75, 0x6e, 0x61, 0xde, 0xad, 0xbe, 0xef, 0xde, 0xad,
    0xbe, 0xef, 0xde, 0xad, 0xbe, 0xef, 0xde, 0xad, 0xbe, 0xef, 0xde, 0xad, 0xbe, 0xef};
static const uint8_t gcm128_rtcp_ct[60] = {
    0x63, 0xe9, 0x48, 0x85, 0xdc, 0xda, 0xb6, 0x7c, 0xa7, 0x27, 0xd7, 0x66, 0x2f, 0x6b, 0x7e,
    0x99, 0x7f, 0xf5, 0xc0, 0xf7, 0x6c, 0x06, 0xf3, 0x2d, 0xc6, 0x76, 0xa5, 0xf1, 0x73, 0x0d,
    0x6f, 0xda, 0x4c, 0xe0, 0x9b, 0x46, 0x86, 0x30, 0x3d, 0xed, 0x0b, 0xb9, 0x27, 0x5b, 0xc8,
    0x4a, 0xa4, 0x58, 0x96, 0xcf, 0x4d, 0x2f, 0xc5, 0xab, 0xf8, 0x72, 0x45, 0xd9, 0xea, 0xde};
static const srtp_cipher_test_case_t gcm128_rtcp_test = {
    28, gcm128_key, gcm_rtcp_iv, 44, gcm_rtcp_pt, 60, gcm128_rtcp_ct, 12, gcm_rtcp_aad, 16, NULL,
};
static const srtp_cipher_test_case_t gcm128_test = {
    28,          gcm128_key, gcm_rtp_iv,        38, gcm_rtp_pt, 54, gcm128_rtp_ct, 12,
    gcm_rtp_aad, 16,         &gcm128_rtcp_test,
};

/* AES-256-GCM: the GCM specification's test case 16 (McGrew & Viega, "The Galois/Counter Mode
 * of Operation", 256-bit key, 60-byte plaintext, 20-byte AAD), the case libsrtp uses too. */
static const uint8_t gcm256_key[44] = {
    0xfe, 0xff, 0xe9, 0x92, 0x86, 0x65, 0x73, 0x1c, 0x6d, 0x6a, 0x8f, 0x94, 0x67, 0x30, 0x83,
    0x08, 0xfe, 0xff, 0xe9, 0x92, 0x86, 0x65, 0x73, 0x1c, 0x6d, 0x6a, 0x8f, 0x94, 0x67, 0x30,
    0x83, 0x08, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab};
static uint8_t gcm256_iv[12] = {0xca, 0xfe, 0xba, 0xbe, 0xfa, 0xce,
                                0xdb, 0xad, 0xde, 0xca, 0xf8, 0x88};
static const uint8_t gcm256_aad[20] = {0xfe, 0xed, 0xfa, 0xce, 0xde, 0xad, 0xbe, 0xef, 0xfe, 0xed,
                                       0xfa, 0xce, 0xde, 0xad, 0xbe, 0xef, 0xab, 0xad, 0xda, 0xd2};
static const uint8_t gcm256_pt[60] = {
    0xd9, 0x31, 0x32, 0x25, 0xf8, 0x84, 0x06, 0xe5, 0xa5, 0x59, 0x09, 0xc5, 0xaf, 0xf5, 0x26,
    0x9a, 0x86, 0xa7, 0xa9, 0x53, 0x15, 0x34, 0xf7, 0xda, 0x2e, 0x4c, 0x30, 0x3d, 0x8a, 0x31,
    0x8a, 0x72, 0x1c, 0x3c, 0x0c, 0x95, 0x95, 0x68, 0x09, 0x53, 0x2f, 0xcf, 0x0e, 0x24, 0x49,
    0xa6, 0xb5, 0x25, 0xb1, 0x6a, 0xed, 0xf5, 0xaa, 0x0d, 0xe6, 0x57, 0xba, 0x63, 0x7b, 0x39};
static const uint8_t gcm256_ct[76] = {
    0x52, 0x2d, 0xc1, 0xf0, 0x99, 0x56, 0x7d, 0x07, 0xf4, 0x7f, 0x37, 0xa3, 0x2a, 0x84, 0x42, 0x7d,
    0x64, 0x3a, 0x8c, 0xdc, 0xbf, 0xe5, 0xc0, 0xc9, 0x75, 0x98, 0xa2, 0xbd, 0x25, 0x55, 0xd1, 0xaa,
    0x8c, 0xb0, 0x8e, 0x48, 0x59, 0x0d, 0xbb, 0x3d, 0xa7, 0xb0, 0x8b, 0x10, 0x56, 0x82, 0x88, 0x38,
    0xc5, 0xf6, 0x1e, 0x63, 0x93, 0xba, 0x7a, 0x0a, 0xbc, 0xc9, 0xf6, 0x62, 0x76, 0xfc, 0x6e, 0xce,
    0x0f, 0x4e, 0x17, 0x68, 0xcd, 0xdf, 0x88, 0x53, 0xbb, 0x2d, 0x55, 0x1b};
static const srtp_cipher_test_case_t gcm256_test = {
    44, gcm256_key, gcm256_iv, 60, gcm256_pt, 76, gcm256_ct, 20, gcm256_aad, 16, NULL,
};

/* RFC 2202 §3 test case 1: HMAC-SHA-1 with key 0x0b x 20 over "Hi There". */
static const uint8_t hmac_key[20] = {0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
                                     0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b};
static const uint8_t hmac_data[8] = "Hi There";
static const uint8_t hmac_tag[20] = {0xb6, 0x17, 0x31, 0x86, 0x55, 0x05, 0x72, 0x64, 0xe2, 0x8b,
                                     0xc0, 0xb6, 0xfb, 0x37, 0x8c, 0x8e, 0xf1, 0x46, 0xbe, 0x00};
static const srtp_auth_test_case_t hmac_test = {20, hmac_key, 8, hmac_data, 20, hmac_tag, NULL};

/* ---------------------------------------------------------------------------------------------
 * AES-ICM-128 (RFC 3711 §4.1.1) on EVP_aes_128_ctr().
 */
typedef struct icm_state {
    EVP_CIPHER_CTX *ctx;
    uint8_t offset[16]; /* salt || 00 00 */
} icm_state_t;

static const srtp_cipher_type_t ossl_aes_icm_128;

static srtp_err_status_t icm_alloc(srtp_cipher_pointer_t *cp, int key_len, int tag_len)
{
    (void)tag_len;
    /* RFC 3711 §4.1.1 with 128-bit keys only: key (16) || salt (14). The 192/256-bit variants
     * stay stock (WebRTC does not negotiate them). */
    if (key_len != SRTP_AES_ICM_128_KEY_LEN_WSALT)
        return srtp_err_status_bad_param;
    srtp_cipher_t *c = calloc(1, sizeof *c);
    icm_state_t *st = calloc(1, sizeof *st);
    if (!c || !st || !(st->ctx = EVP_CIPHER_CTX_new())) {
        free(st);
        free(c);
        return srtp_err_status_alloc_fail;
    }
    c->type = &ossl_aes_icm_128;
    c->state = st;
    c->key_len = key_len;
    c->algorithm = SRTP_AES_ICM_128;
    *cp = c;
    return srtp_err_status_ok;
}

/* Frees a cipher and its state (@state_len bytes, wiped: it held the key schedule). */
static srtp_err_status_t cipher_free(srtp_cipher_pointer_t c, EVP_CIPHER_CTX *ctx, size_t state_len)
{
    if (c->state) {
        EVP_CIPHER_CTX_free(ctx);
        OPENSSL_cleanse(c->state, state_len);
        free(c->state);
    }
    free(c);
    return srtp_err_status_ok;
}

static srtp_err_status_t icm_dealloc(srtp_cipher_pointer_t c)
{
    icm_state_t *st = c->state;
    return cipher_free(c, st ? st->ctx : NULL, sizeof *st);
}

static srtp_err_status_t icm_init(void *state, const uint8_t *key)
{
    icm_state_t *st = state;
    memset(st->offset, 0, sizeof st->offset);
    memcpy(st->offset, key + SRTP_AES_128_KEY_LEN, SRTP_SALT_LEN);
    if (!EVP_EncryptInit_ex(st->ctx, EVP_aes_128_ctr(), NULL, key, NULL))
        return srtp_err_status_init_fail;
    return srtp_err_status_ok;
}

static srtp_err_status_t icm_set_iv(void *state, uint8_t *iv, srtp_cipher_direction_t dir)
{
    (void)dir; /* CTR mode: the same for both directions */
    icm_state_t *st = state;
    uint8_t ctr[16];
    for (int i = 0; i < 16; i++)
        ctr[i] = st->offset[i] ^ iv[i];
    if (!EVP_EncryptInit_ex(st->ctx, NULL, NULL, NULL, ctr))
        return srtp_err_status_fail;
    return srtp_err_status_ok;
}

static srtp_err_status_t icm_encrypt(void *state, uint8_t *buf, unsigned int *len)
{
    icm_state_t *st = state;
    int out = 0;
    if (*len > INT32_MAX || !EVP_EncryptUpdate(st->ctx, buf, &out, buf, (int)*len))
        return srtp_err_status_cipher_fail;
    *len = (unsigned int)out;
    return srtp_err_status_ok;
}

static const srtp_cipher_type_t ossl_aes_icm_128 = {
    .alloc = icm_alloc,
    .dealloc = icm_dealloc,
    .init = icm_init,
    .set_aad = NULL,
    .encrypt = icm_encrypt,
    .decrypt = icm_encrypt,
    .set_iv = icm_set_iv,
    .get_tag = NULL,
    .description = "urtc OpenSSL AES-128 ICM",
    .test_data = &icm_test,
    .id = SRTP_AES_ICM_128,
};

/* ---------------------------------------------------------------------------------------------
 * AES-GCM-128/256 (RFC 7714) on EVP_aes_{128,256}_gcm().
 */
typedef struct gcm_state {
    EVP_CIPHER_CTX *ctx;
    int key_size;
    int tag_len;
    int enc; /* 1 encrypt, 0 decrypt, -1 not set */
} gcm_state_t;

static const srtp_cipher_type_t ossl_aes_gcm_128, ossl_aes_gcm_256;

static srtp_err_status_t gcm_alloc(srtp_cipher_pointer_t *cp, int key_len, int tag_len)
{
    const srtp_cipher_type_t *type;
    int key_size, alg;
    if (key_len == SRTP_AES_GCM_128_KEY_LEN_WSALT) {
        type = &ossl_aes_gcm_128;
        key_size = SRTP_AES_128_KEY_LEN;
        alg = SRTP_AES_GCM_128;
    } else if (key_len == SRTP_AES_GCM_256_KEY_LEN_WSALT) {
        type = &ossl_aes_gcm_256;
        key_size = SRTP_AES_256_KEY_LEN;
        alg = SRTP_AES_GCM_256;
    } else {
        return srtp_err_status_bad_param;
    }
    /* RFC 7714 §14.2: 16-octet tags; libsrtp also has an 8-octet variant. */
    if (tag_len != 16 && tag_len != 8)
        return srtp_err_status_bad_param;
    srtp_cipher_t *c = calloc(1, sizeof *c);
    gcm_state_t *st = calloc(1, sizeof *st);
    if (!c || !st || !(st->ctx = EVP_CIPHER_CTX_new())) {
        free(st);
        free(c);
        return srtp_err_status_alloc_fail;
    }
    st->key_size = key_size;
    st->tag_len = tag_len;
    st->enc = -1;
    c->type = type;
    c->state = st;
    c->key_len = key_len;
    c->algorithm = alg;
    *cp = c;
    return srtp_err_status_ok;
}

static srtp_err_status_t gcm_dealloc(srtp_cipher_pointer_t c)
{
    gcm_state_t *st = c->state;
    return cipher_free(c, st ? st->ctx : NULL, sizeof *st);
}

static srtp_err_status_t gcm_init(void *state, const uint8_t *key)
{
    gcm_state_t *st = state;
    const EVP_CIPHER *evp = st->key_size == 32 ? EVP_aes_256_gcm() : EVP_aes_128_gcm();
    st->enc = -1;
    if (!EVP_CipherInit_ex(st->ctx, evp, NULL, key, NULL, 1))
        return srtp_err_status_init_fail;
    return srtp_err_status_ok;
}

static srtp_err_status_t gcm_set_iv(void *state, uint8_t *iv, srtp_cipher_direction_t dir)
{
    gcm_state_t *st = state;
    if (dir != srtp_direction_encrypt && dir != srtp_direction_decrypt)
        return srtp_err_status_bad_param;
    st->enc = dir == srtp_direction_encrypt;
    /* RFC 7714 §8.1: 12-octet IV, OpenSSL's default GCM IV length. */
    if (!EVP_CipherInit_ex(st->ctx, NULL, NULL, NULL, iv, st->enc))
        return srtp_err_status_init_fail;
    return srtp_err_status_ok;
}

static srtp_err_status_t gcm_set_aad(void *state, const uint8_t *aad, uint32_t aad_len)
{
    gcm_state_t *st = state;
    int out = 0;
    if (st->enc < 0 || aad_len > INT32_MAX ||
        !EVP_CipherUpdate(st->ctx, NULL, &out, aad, (int)aad_len))
        return srtp_err_status_algo_fail;
    return srtp_err_status_ok;
}

static srtp_err_status_t gcm_encrypt(void *state, uint8_t *buf, unsigned int *len)
{
    gcm_state_t *st = state;
    int out = 0;
    if (st->enc != 1 || *len > INT32_MAX || !EVP_CipherUpdate(st->ctx, buf, &out, buf, (int)*len))
        return srtp_err_status_cipher_fail;
    return srtp_err_status_ok;
}

static srtp_err_status_t gcm_get_tag(void *state, uint8_t *tag, uint32_t *len)
{
    gcm_state_t *st = state;
    uint8_t dummy[16];
    int out = 0;
    if (st->enc != 1 || !EVP_CipherFinal_ex(st->ctx, dummy, &out) ||
        !EVP_CIPHER_CTX_ctrl(st->ctx, EVP_CTRL_GCM_GET_TAG, st->tag_len, tag))
        return srtp_err_status_algo_fail;
    *len = (uint32_t)st->tag_len;
    return srtp_err_status_ok;
}

static srtp_err_status_t gcm_decrypt(void *state, uint8_t *buf, unsigned int *len)
{
    gcm_state_t *st = state;
    int out = 0;
    if (st->enc != 0 || *len < (unsigned int)st->tag_len || *len > INT32_MAX)
        return srtp_err_status_bad_param;
    unsigned int ct_len = *len - (unsigned int)st->tag_len;
    uint8_t dummy[16];
    /* RFC 7714 §9.2: the tag is verified before any plaintext is released; on failure
     * libsrtp drops the packet (its buffer then holds garbage the caller never sees). */
    if (!EVP_CIPHER_CTX_ctrl(st->ctx, EVP_CTRL_GCM_SET_TAG, st->tag_len, buf + ct_len) ||
        !EVP_CipherUpdate(st->ctx, buf, &out, buf, (int)ct_len))
        return srtp_err_status_cipher_fail;
    if (EVP_CipherFinal_ex(st->ctx, dummy, &out) <= 0)
        return srtp_err_status_auth_fail;
    *len = ct_len;
    return srtp_err_status_ok;
}

static const srtp_cipher_type_t ossl_aes_gcm_128 = {
    .alloc = gcm_alloc,
    .dealloc = gcm_dealloc,
    .init = gcm_init,
    .set_aad = gcm_set_aad,
    .encrypt = gcm_encrypt,
    .decrypt = gcm_decrypt,
    .set_iv = gcm_set_iv,
    .get_tag = gcm_get_tag,
    .description = "urtc OpenSSL AES-128 GCM",
    .test_data = &gcm128_test,
    .id = SRTP_AES_GCM_128,
};

static const srtp_cipher_type_t ossl_aes_gcm_256 = {
    .alloc = gcm_alloc,
    .dealloc = gcm_dealloc,
    .init = gcm_init,
    .set_aad = gcm_set_aad,
    .encrypt = gcm_encrypt,
    .decrypt = gcm_decrypt,
    .set_iv = gcm_set_iv,
    .get_tag = gcm_get_tag,
    .description = "urtc OpenSSL AES-256 GCM",
    .test_data = &gcm256_test,
    .id = SRTP_AES_GCM_256,
};

/* ---------------------------------------------------------------------------------------------
 * HMAC-SHA1 (RFC 2104) for SRTP authentication (RFC 3711 §4.2.1).
 */
typedef struct hmac_state {
    SHA_CTX inner0; /* after absorbing key ^ ipad */
    SHA_CTX outer0; /* after absorbing key ^ opad */
    SHA_CTX ctx;    /* the running inner hash */
} hmac_state_t;

static const srtp_auth_type_t ossl_hmac_sha1;

static srtp_err_status_t hmac_alloc(srtp_auth_pointer_t *ap, int key_len, int out_len)
{
    /* RFC 3711 §4.2.1: 160-bit key; tags of 32 or 80 bits. Allow up to a block / digest. */
    if (key_len < 0 || key_len > SHA_CBLOCK || out_len < 0 || out_len > SHA_DIGEST_LENGTH)
        return srtp_err_status_bad_param;
    srtp_auth_t *a = calloc(1, sizeof *a);
    hmac_state_t *st = calloc(1, sizeof *st);
    if (!a || !st) {
        free(st);
        free(a);
        return srtp_err_status_alloc_fail;
    }
    a->type = &ossl_hmac_sha1;
    a->state = st;
    a->out_len = out_len;
    a->key_len = key_len;
    a->prefix_len = 0;
    *ap = a;
    return srtp_err_status_ok;
}

static srtp_err_status_t hmac_dealloc(srtp_auth_pointer_t a)
{
    if (a->state) {
        OPENSSL_cleanse(a->state, sizeof(hmac_state_t));
        free(a->state);
    }
    free(a);
    return srtp_err_status_ok;
}

static srtp_err_status_t hmac_init(void *state, const uint8_t *key, int key_len)
{
    hmac_state_t *st = state;
    uint8_t ipad[SHA_CBLOCK], opad[SHA_CBLOCK];
    if (key_len < 0 || key_len > SHA_CBLOCK)
        return srtp_err_status_bad_param;
    for (int i = 0; i < SHA_CBLOCK; i++) {
        uint8_t k = i < key_len ? key[i] : 0;
        ipad[i] = k ^ 0x36;
        opad[i] = k ^ 0x5c;
    }
    int ok = SHA1_Init(&st->inner0) && SHA1_Update(&st->inner0, ipad, sizeof ipad) &&
             SHA1_Init(&st->outer0) && SHA1_Update(&st->outer0, opad, sizeof opad);
    OPENSSL_cleanse(ipad, sizeof ipad);
    OPENSSL_cleanse(opad, sizeof opad);
    if (!ok)
        return srtp_err_status_init_fail;
    st->ctx = st->inner0;
    return srtp_err_status_ok;
}

static srtp_err_status_t hmac_start(void *state)
{
    hmac_state_t *st = state;
    st->ctx = st->inner0;
    return srtp_err_status_ok;
}

static srtp_err_status_t hmac_update(void *state, const uint8_t *buf, int len)
{
    hmac_state_t *st = state;
    if (len < 0 || !SHA1_Update(&st->ctx, buf, (size_t)len))
        return srtp_err_status_auth_fail;
    return srtp_err_status_ok;
}

static srtp_err_status_t hmac_compute(void *state, const uint8_t *buf, int len, int tag_len,
                                      uint8_t *tag)
{
    hmac_state_t *st = state;
    uint8_t h[SHA_DIGEST_LENGTH];
    if (len < 0 || tag_len < 0 || tag_len > SHA_DIGEST_LENGTH)
        return srtp_err_status_bad_param;
    SHA_CTX outer = st->outer0;
    if (!SHA1_Update(&st->ctx, buf, (size_t)len) || !SHA1_Final(h, &st->ctx) ||
        !SHA1_Update(&outer, h, sizeof h) || !SHA1_Final(h, &outer))
        return srtp_err_status_auth_fail;
    memcpy(tag, h, (size_t)tag_len);
    return srtp_err_status_ok;
}

static const srtp_auth_type_t ossl_hmac_sha1 = {
    .alloc = hmac_alloc,
    .dealloc = hmac_dealloc,
    .init = hmac_init,
    .compute = hmac_compute,
    .update = hmac_update,
    .start = hmac_start,
    .description = "urtc OpenSSL HMAC-SHA1",
    .test_data = &hmac_test,
    .id = SRTP_HMAC_SHA1,
};

/* ---------------------------------------------------------------------------------------------
 */
int rtc_srtp_ossl_register(void)
{
    static const struct {
        const srtp_cipher_type_t *t;
        srtp_cipher_type_id_t id;
    } ciphers[] = {
        {&ossl_aes_icm_128, SRTP_AES_ICM_128},
        {&ossl_aes_gcm_128, SRTP_AES_GCM_128},
        {&ossl_aes_gcm_256, SRTP_AES_GCM_256},
    };
    for (size_t i = 0; i < NET_ARRAY_LEN(ciphers); i++) {
        srtp_err_status_t st = srtp_replace_cipher_type(ciphers[i].t, ciphers[i].id);
        if (st != srtp_err_status_ok) {
            LOG_ERROR("srtp: replacing cipher %s failed: libsrtp status %d",
                      ciphers[i].t->description, (int)st);
            return -EIO;
        }
    }
    srtp_err_status_t st = srtp_replace_auth_type(&ossl_hmac_sha1, SRTP_HMAC_SHA1);
    if (st != srtp_err_status_ok) {
        LOG_ERROR("srtp: replacing HMAC-SHA1 failed: libsrtp status %d", (int)st);
        return -EIO;
    }
    return 0;
}

int rtc_srtp_ossl_self_test(void)
{
    const srtp_cipher_type_t *ciphers[] = {&ossl_aes_icm_128, &ossl_aes_gcm_128, &ossl_aes_gcm_256};
    for (size_t i = 0; i < NET_ARRAY_LEN(ciphers); i++) {
        srtp_err_status_t st = srtp_cipher_type_self_test(ciphers[i]);
        if (st != srtp_err_status_ok) {
            LOG_ERROR("srtp: self-test of %s failed: libsrtp status %d", ciphers[i]->description,
                      (int)st);
            return -EIO;
        }
    }
    srtp_err_status_t st = srtp_auth_type_self_test(&ossl_hmac_sha1);
    if (st != srtp_err_status_ok) {
        LOG_ERROR("srtp: self-test of HMAC-SHA1 failed: libsrtp status %d", (int)st);
        return -EIO;
    }
    return 0;
}

/* libsrtp2 exports these from its crypto kernel (crypto_kernel.h is not installed). Used only
 * to report which transform is live. */
const srtp_cipher_type_t *srtp_crypto_kernel_get_cipher_type(srtp_cipher_type_id_t id);
const srtp_auth_type_t *srtp_crypto_kernel_get_auth_type(srtp_auth_type_id_t id);

const char *rtc_srtp_cipher_desc(void)
{
    const srtp_cipher_type_t *t = srtp_crypto_kernel_get_cipher_type(SRTP_AES_ICM_128);
    return t && t->description ? t->description : "?";
}

const char *rtc_srtp_auth_desc(void)
{
    const srtp_auth_type_t *t = srtp_crypto_kernel_get_auth_type(SRTP_HMAC_SHA1);
    return t && t->description ? t->description : "?";
}
