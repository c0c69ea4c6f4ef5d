/* tests/signaling/token_test.c: room tokens, base64, HMAC-SHA256 known answers. */
#include "signaling/sig_priv.h"

#include "tests/support/tst.h"

#include <criterion/criterion.h>
#include <stdio.h>

Test(signaling_token, make_and_check)
{
    char t[SIG_TOKEN_MAX_LEN + 1];
    int n = sig_token_make("k", "room1", 1000, t, sizeof t);
    cr_assert_gt(n, 0);
    cr_expect_eq((size_t)n, strlen(t));
    cr_expect_eq(strncmp(t, "v1.", 3), 0);
    cr_expect_eq(sig_token_check("k", "room1", t, (size_t)n, 999), 0);
    cr_expect_eq(sig_token_check("k", "room1", t, (size_t)n, 1000), -ETIMEDOUT);
    cr_expect_eq(sig_token_check("k", "room2", t, (size_t)n, 999), -EACCES);
    cr_expect_eq(sig_token_check("K", "room1", t, (size_t)n, 999), -EACCES);
    cr_expect_eq(sig_token_check("k", "room", t, (size_t)n, 999), -EACCES, "no prefix match");
    /* Any flipped character of the payload breaks the signature. */
    for (int i = 3; i < n; i++) {
        char c[SIG_TOKEN_MAX_LEN + 1];
        memcpy(c, t, (size_t)n + 1);
        c[i] = c[i] == 'A' ? 'B' : 'A';
        cr_expect_lt(sig_token_check("k", "room1", c, (size_t)n, 999), 0, "flip at %d", i);
    }
    cr_expect_eq(sig_token_check("k", "room1", t, (size_t)n - 1, 999), -EBADMSG);
    cr_expect_eq(sig_token_check("k", "room1", "v1.", 3, 999), -EBADMSG);
    cr_expect_eq(sig_token_check("k", "room1", "", 0, 999), -EBADMSG);
    cr_expect_eq(sig_token_check("", "room1", t, (size_t)n, 999), -EBADMSG, "no secret");
    cr_expect_eq(sig_token_make("k", "bad room", 1, t, sizeof t), -EINVAL);
    cr_expect_eq(sig_token_make("", "r", 1, t, sizeof t), -EINVAL);
    cr_expect_eq(sig_token_make("k", "r", 1, t, 10), -ENOSPC);
}

Test(signaling_token, forged_payload_with_a_valid_looking_mac_is_refused)
{
    /* A token for "a" with its payload swapped for one naming "b" keeps the old MAC. */
    char ta[SIG_TOKEN_MAX_LEN + 1], tb[SIG_TOKEN_MAX_LEN + 1], forged[2 * SIG_TOKEN_MAX_LEN];
    int na = sig_token_make("k", "a", 5000, ta, sizeof ta);
    int nb = sig_token_make("k", "b", 5000, tb, sizeof tb);
    cr_assert(na > 0 && nb > 0);
    const char *mac_a = strrchr(ta, '.');
    const char *dot_b = strrchr(tb, '.');
    int n = snprintf(forged, sizeof forged, "%.*s%s", (int)(dot_b - tb), tb, mac_a);
    cr_expect_eq(sig_token_check("k", "b", forged, (size_t)n, 1), -EACCES);
}

Test(signaling_token, hmac_sha256_rfc4231_case_2)
{
    uint8_t mac[SIG_SHA256_LEN], want[32];
    const char *data = "what do ya want for nothing?";
    cr_assert_eq(sig_hmac_sha256("Jefe", 4, data, strlen(data), mac), 0);
    tst_hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", want, 32);
    cr_expect(memcmp(mac, want, 32) == 0);
}

Test(signaling_token, base64_rfc4648_vectors)
{
    static const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *std[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    static const char *url[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    for (size_t i = 0; i < NET_ARRAY_LEN(in); i++) {
        char out[16];
        uint8_t back[16];
        size_t n = strlen(in[i]);
        cr_expect_eq(sig_b64_encode((const uint8_t *)in[i], n, out, sizeof out, false),
                     (int)strlen(std[i]));
        cr_expect_str_eq(out, std[i]);
        cr_expect_eq(sig_b64_encode((const uint8_t *)in[i], n, out, sizeof out, true),
                     (int)strlen(url[i]));
        cr_expect_str_eq(out, url[i]);
        cr_expect_eq(sig_b64_decode(std[i], strlen(std[i]), back, sizeof back, false), (int)n);
        cr_expect(memcmp(back, in[i], n) == 0);
        cr_expect_eq(sig_b64_decode(url[i], strlen(url[i]), back, sizeof back, true), (int)n);
    }
    uint8_t b[8];
    cr_expect_eq(sig_b64_decode("Zg=", 3, b, sizeof b, false), -EBADMSG);
    cr_expect_eq(sig_b64_decode("Zh==", 4, b, sizeof b, false), -EBADMSG, "non-zero pad bits");
    cr_expect_eq(sig_b64_decode("Z", 1, b, sizeof b, true), -EBADMSG);
    cr_expect_eq(sig_b64_decode("Zm9v", 4, b, 2, false), -ENOSPC);
    cr_expect_eq(sig_b64_decode("Zm+v", 4, b, sizeof b, true), -EBADMSG, "+ is not base64url");
}
