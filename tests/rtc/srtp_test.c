/* tests/rtc/srtp_test.c: SRTP/SRTCP sessions, the OpenSSL transforms and known answers. */
#include "rtc/srtp/srtp.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "tests/support/tst.h"

static void setup_ossl(void)
{
    cr_assert_eq(rtc_srtp_global_init(RTC_SRTP_BACKEND_OPENSSL), 0);
}

static void teardown(void)
{
    rtc_srtp_global_fini();
}

TestSuite(rtc_srtp, .init = setup_ossl, .fini = teardown);

/* libsrtp's reference packet (test/srtp_driver.c srtp_validate): AES_CM_128_HMAC_SHA1_80 with
 * the RFC 3711 Appendix B.3 master key and salt, so it also checks the key derivation. */
static const char *ref_master = "e1f97a0d3e018be0d64fa32c06de4139 0ec675ad498afeebb6960b3aabe6";
static const char *ref_rtp = "800f1234decafbadcafebabe abababababababababababababababab";
static const char *ref_srtp = "800f1234decafbadcafebabe 4e55dc4ce79978d88ca4d215949d2402"
                              "b78d6acc99ea179b8dbb";
static const char *ref_rtcp = "81c8000bcafebabe abababababababababababababababab";
static const char *ref_srtcp = "81c8000bcafebabe 7128035be487b9bdbef89041f977a5a8"
                               "80000001 993e08cd54d6c1230798";

static void keys_from_hex(rtc_srtp_keys_t *k, rtc_srtp_profile_t p, const char *local,
                          const char *remote)
{
    memset(k, 0, sizeof *k);
    k->profile = p;
    size_t kl, sl;
    cr_assert_eq(rtc_srtp_profile_lens(p, &kl, &sl), 0);
    k->key_len = (uint8_t)kl;
    k->salt_len = (uint8_t)sl;
    cr_assert_eq(tst_hex(local, k->local, sizeof k->local), kl + sl);
    cr_assert_eq(tst_hex(remote, k->remote, sizeof k->remote), kl + sl);
}

static void check_reference_packets(void)
{
    rtc_srtp_keys_t k;
    keys_from_hex(&k, RTC_SRTP_AES128_CM_SHA1_80, ref_master, ref_master);
    rtc_srtp_t s;
    cr_assert_eq(rtc_srtp_init(&s, &k), 0);

    uint8_t buf[256], want[64];
    size_t len = tst_hex(ref_rtp, buf, sizeof buf);
    size_t want_len = tst_hex(ref_srtp, want, sizeof want);
    cr_assert_eq(rtc_srtp_protect(&s, buf, &len, sizeof buf), 0);
    cr_assert_eq(len, want_len);
    cr_assert_arr_eq(buf, want, len);
    cr_assert_eq(rtc_srtp_unprotect(&s, buf, &len), 0);
    cr_assert_eq(len, 28);
    uint8_t plain[64];
    tst_hex(ref_rtp, plain, sizeof plain);
    cr_assert_arr_eq(buf, plain, len);

    len = tst_hex(ref_rtcp, buf, sizeof buf);
    want_len = tst_hex(ref_srtcp, want, sizeof want);
    cr_assert_eq(rtc_srtp_protect_rtcp(&s, buf, &len, sizeof buf), 0);
    cr_assert_eq(len, want_len);
    cr_assert_arr_eq(buf, want, len);
    cr_assert_eq(rtc_srtp_unprotect_rtcp(&s, buf, &len), 0);
    cr_assert_eq(len, 24);
    rtc_srtp_fini(&s);
}

Test(rtc_srtp, transforms_replaced_and_self_tests_pass)
{
    cr_assert(strstr(rtc_srtp_cipher_desc(), "urtc OpenSSL"), "%s", rtc_srtp_cipher_desc());
    cr_assert(strstr(rtc_srtp_auth_desc(), "urtc OpenSSL"), "%s", rtc_srtp_auth_desc());
    /* libsrtp's srtp_cipher_type_self_test / srtp_auth_type_self_test on our types, whose test
     * data are RFC 3711 B.2 (AES-CM keystream), RFC 7714 §16.1.1 and §17.1 (GCM SRTP and
     * SRTCP), the GCM spec's 256-bit case and RFC 2202 (HMAC-SHA1). */
    cr_assert_eq(rtc_srtp_self_test(), 0);
}

Test(rtc_srtp, reference_packets_openssl)
{
    check_reference_packets();
}

Test(rtc_srtp, reference_packets_stock_then_openssl)
{
    cr_assert_eq(rtc_srtp_global_init(RTC_SRTP_BACKEND_STOCK), 0);
    cr_assert_null(strstr(rtc_srtp_cipher_desc(), "urtc"), "%s", rtc_srtp_cipher_desc());
    check_reference_packets();
    cr_assert_eq(rtc_srtp_global_init(RTC_SRTP_BACKEND_OPENSSL), 0);
    cr_assert(strstr(rtc_srtp_cipher_desc(), "urtc"));
    check_reference_packets();
}

/* Two ends: a's local key is b's remote key and vice versa. */
static void pair_init(rtc_srtp_t *a, rtc_srtp_t *b, rtc_srtp_profile_t p)
{
    const char *ka = "0102030405060708090a0b0c0d0e0f10 1112131415161718191a1b1c1d1e";
    const char *kb = "a1a2a3a4a5a6a7a8a9aaabacadaeafb0 b1b2b3b4b5b6b7b8b9babbbcbdbe";
    char ka_s[80], kb_s[80];
    size_t kl, sl;
    cr_assert_eq(rtc_srtp_profile_lens(p, &kl, &sl), 0);
    /* hex chars: key (32 + space) + salt */
    snprintf(ka_s, sizeof ka_s, "%.*s", (int)(33 + 2 * sl), ka);
    snprintf(kb_s, sizeof kb_s, "%.*s", (int)(33 + 2 * sl), kb);
    rtc_srtp_keys_t k;
    keys_from_hex(&k, p, ka_s, kb_s);
    cr_assert_eq(rtc_srtp_init(a, &k), 0);
    keys_from_hex(&k, p, kb_s, ka_s);
    cr_assert_eq(rtc_srtp_init(b, &k), 0);
}

static net_pkt_t *make_rtp(net_pool_t *pool, uint16_t seq, uint32_t ssrc, size_t payload_len)
{
    net_pkt_t *pkt = net_pkt_alloc(pool);
    cr_assert_not_null(pkt);
    uint8_t *p = net_pkt_put(pkt, (uint32_t)(12 + payload_len));
    cr_assert_not_null(p);
    p[0] = 0x80;
    p[1] = 96;
    net_wr16be(p + 2, seq);
    net_wr32be(p + 4, 90000u * seq);
    net_wr32be(p + 8, ssrc);
    for (size_t i = 0; i < payload_len; i++)
        p[12 + i] = (uint8_t)(i * 7 + seq);
    return pkt;
}

static void round_trip(rtc_srtp_profile_t p, size_t tag_len)
{
    net_pool_t *pool = net_pool_create(8);
    rtc_srtp_t a, b;
    pair_init(&a, &b, p);
    net_pkt_t *pkt = make_rtp(pool, 1000, 0x11223344, 1200);
    uint8_t orig[1212];
    memcpy(orig, pkt->data, sizeof orig);
    cr_assert_eq(rtc_srtp_protect_pkt(&a, pkt), 0);
    cr_assert_eq(pkt->len, 1212 + tag_len);
    cr_assert_arr_eq(pkt->data, orig, 12); /* header in the clear */
    cr_assert(memcmp(pkt->data + 12, orig + 12, 1200) != 0, "payload not encrypted");
    cr_assert_eq(rtc_srtp_unprotect_pkt(&b, pkt), 0);
    cr_assert_eq(pkt->len, 1212);
    cr_assert_arr_eq(pkt->data, orig, 1212);

    /* RTCP the other way: an RR with one report block. */
    net_pkt_t *r = net_pkt_alloc(pool);
    uint8_t *q = net_pkt_put(r, 32);
    memset(q, 0x5a, 32);
    q[0] = 0x81;
    q[1] = 201;
    net_wr16be(q + 2, 7);
    net_wr32be(q + 4, 0xaabbccdd);
    uint8_t rorig[32];
    memcpy(rorig, q, 32);
    cr_assert_eq(rtc_srtp_protect_rtcp_pkt(&b, r), 0);
    cr_assert_eq(r->len, 32 + 4 + tag_len);
    cr_assert_eq(rtc_srtp_unprotect_rtcp_pkt(&a, r), 0);
    cr_assert_eq(r->len, 32);
    cr_assert_arr_eq(r->data, rorig, 32);

    net_pkt_free(r);
    net_pkt_free(pkt);
    rtc_srtp_fini(&a);
    rtc_srtp_fini(&b);
    net_pool_destroy(pool);
}

Test(rtc_srtp, round_trip_aes_cm_sha1_80)
{
    round_trip(RTC_SRTP_AES128_CM_SHA1_80, 10);
}

Test(rtc_srtp, round_trip_aead_aes_128_gcm)
{
    round_trip(RTC_SRTP_AEAD_AES_128_GCM, 16);
}

static void replay_and_tamper(rtc_srtp_profile_t p)
{
    rtc_srtp_t a, b;
    pair_init(&a, &b, p);
    uint8_t pkt[400], copy[400];
    size_t len = 100;
    memset(pkt, 0x33, sizeof pkt);
    pkt[0] = 0x80;
    pkt[1] = 111;
    net_wr16be(pkt + 2, 5);
    net_wr32be(pkt + 8, 42);
    cr_assert_eq(rtc_srtp_protect(&a, pkt, &len, sizeof pkt), 0);
    memcpy(copy, pkt, len);
    size_t clen = len;

    /* Tampered payload, then tampered header (both authenticated): rejected, counted. */
    for (size_t at = 20; at < clen; at += clen) {
        memcpy(pkt, copy, clen);
        pkt[at] ^= 0x01;
        len = clen;
        cr_assert_eq(rtc_srtp_unprotect(&b, pkt, &len), -EBADMSG);
    }
    memcpy(pkt, copy, clen);
    pkt[4] ^= 0x80; /* timestamp */
    len = clen;
    cr_assert_eq(rtc_srtp_unprotect(&b, pkt, &len), -EBADMSG);
    cr_assert_eq(b.auth_fail_cnt, 2);

    /* The genuine packet passes once; its replay is rejected (RFC 3711 §3.3.2). */
    memcpy(pkt, copy, clen);
    len = clen;
    cr_assert_eq(rtc_srtp_unprotect(&b, pkt, &len), 0);
    memcpy(pkt, copy, clen);
    len = clen;
    cr_assert_eq(rtc_srtp_unprotect(&b, pkt, &len), -EALREADY);
    cr_assert_eq(b.replay_cnt, 1);

    /* Truncated below the tag: malformed. */
    memcpy(pkt, copy, clen);
    len = 14;
    cr_assert_lt(rtc_srtp_unprotect(&b, pkt, &len), 0);
    rtc_srtp_fini(&a);
    rtc_srtp_fini(&b);
}

Test(rtc_srtp, replay_and_tamper_rejected_aes_cm)
{
    replay_and_tamper(RTC_SRTP_AES128_CM_SHA1_80);
}

Test(rtc_srtp, replay_and_tamper_rejected_gcm)
{
    replay_and_tamper(RTC_SRTP_AEAD_AES_128_GCM);
}

static void rollover(rtc_srtp_profile_t p)
{
    rtc_srtp_t a, b;
    pair_init(&a, &b, p);
    uint16_t seq = 65530;
    uint32_t ssrc = 0x0badcafe;
    /* 65530..65535, then 0..9 with ROC 1 (RFC 3711 §3.3.1); one packet out of order across
     * the wrap to exercise the index estimate. */
    uint8_t held[256];
    size_t held_len = 0;
    for (int i = 0; i < 16; i++, seq++) {
        uint8_t pkt[256];
        memset(pkt, i, sizeof pkt);
        pkt[0] = 0x80;
        pkt[1] = 96;
        net_wr16be(pkt + 2, seq);
        net_wr32be(pkt + 8, ssrc);
        size_t len = 60;
        cr_assert_eq(rtc_srtp_protect(&a, pkt, &len, sizeof pkt), 0, "seq %u", seq);
        if (seq == 65535) { /* deliver after seq 0 */
            memcpy(held, pkt, len);
            held_len = len;
            continue;
        }
        cr_assert_eq(rtc_srtp_unprotect(&b, pkt, &len), 0, "seq %u", seq);
        cr_assert_eq(len, 60);
        cr_assert_eq(pkt[20], (uint8_t)i);
        if (seq == 0) {
            cr_assert_eq(rtc_srtp_unprotect(&b, held, &held_len), 0, "late 65535");
            cr_assert_eq(held[20], 5);
        }
    }
    uint32_t roc = 99;
    cr_assert_eq(rtc_srtp_roc(&a, false, ssrc, &roc), 0);
    cr_assert_eq(roc, 1);
    cr_assert_eq(rtc_srtp_roc(&b, true, ssrc, &roc), 0);
    cr_assert_eq(roc, 1);
    cr_assert_eq(rtc_srtp_roc(&b, true, 12345, &roc), -ENOENT);
    rtc_srtp_fini(&a);
    rtc_srtp_fini(&b);
}

Test(rtc_srtp, rollover_past_65535_aes_cm)
{
    rollover(RTC_SRTP_AES128_CM_SHA1_80);
}

Test(rtc_srtp, rollover_past_65535_gcm)
{
    rollover(RTC_SRTP_AEAD_AES_128_GCM);
}

Test(rtc_srtp, bad_keys_and_capacity)
{
    rtc_srtp_keys_t k;
    keys_from_hex(&k, RTC_SRTP_AES128_CM_SHA1_80, ref_master, ref_master);
    rtc_srtp_t s;
    k.salt_len = 12;
    cr_assert_eq(rtc_srtp_init(&s, &k), -EINVAL);
    rtc_srtp_fini(&s);
    k.salt_len = 14;
    k.profile = (rtc_srtp_profile_t)0x0002;
    cr_assert_eq(rtc_srtp_init(&s, &k), -ENOTSUP);
    rtc_srtp_fini(&s);
    k.profile = RTC_SRTP_AES128_CM_SHA1_80;
    cr_assert_eq(rtc_srtp_init(&s, &k), 0);
    uint8_t buf[64] = {0x80, 96};
    size_t len = 40;
    cr_assert_eq(rtc_srtp_protect(&s, buf, &len, sizeof buf), -ENOSPC);
    rtc_srtp_fini(&s);
    rtc_srtp_fini(&s); /* twice is fine */
}
