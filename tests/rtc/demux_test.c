/* tests/rtc/demux_test.c: RFC 7983 classification and the DTLS record walker. */
#include "rtc/demux/demux.h"

#include <criterion/criterion.h>
#include <stdlib.h>

#include "tests/support/tst.h"

static rtc_demux_kind_t classify2(uint8_t b0, uint8_t b1, size_t len)
{
    uint8_t buf[64] = {b0, b1};
    return rtc_demux_classify(tst_guard_copy(buf, len), len);
}

Test(rtc_demux, first_byte_ranges)
{
    /* RFC 7983 §7 boundaries, every first byte value. */
    for (int b = 0; b < 256; b++) {
        rtc_demux_kind_t k = classify2((uint8_t)b, 0, 40);
        rtc_demux_kind_t want = RTC_DEMUX_DROP;
        if (b <= 3)
            want = RTC_DEMUX_STUN;
        else if (b >= 20 && b <= 63)
            want = RTC_DEMUX_DTLS;
        else if (b >= 128 && b <= 191)
            want = RTC_DEMUX_RTP;
        cr_assert_eq(k, want, "byte %d: %s", b, rtc_demux_kind_name(k));
    }
}

Test(rtc_demux, rtcp_by_packet_type)
{
    /* RFC 5761 §4: second byte 192..223 is RTCP, 191 and 224 are RTP (PT 63, 96 + marker). */
    cr_assert_eq(classify2(0x80, 191, 40), RTC_DEMUX_RTP);
    for (int pt = 192; pt <= 223; pt++)
        cr_assert_eq(classify2(0x81, (uint8_t)pt, 40), RTC_DEMUX_RTCP, "pt %d", pt);
    cr_assert_eq(classify2(0x80, 224, 40), RTC_DEMUX_RTP);
    cr_assert_eq(classify2(0x80, 96, 40), RTC_DEMUX_RTP);
    cr_assert_eq(classify2(0x80, 200, 8), RTC_DEMUX_RTCP); /* SR header + SSRC */
}

Test(rtc_demux, short_datagrams_dropped)
{
    cr_assert_eq(rtc_demux_classify(NULL, 0), RTC_DEMUX_DROP);
    cr_assert_eq(classify2(0x80, 96, 1), RTC_DEMUX_DROP);
    cr_assert_eq(classify2(0x80, 96, 11), RTC_DEMUX_DROP);
    cr_assert_eq(classify2(0x80, 96, 12), RTC_DEMUX_RTP);
    cr_assert_eq(classify2(0x80, 201, 7), RTC_DEMUX_DROP);
    cr_assert_eq(classify2(0x00, 1, 19), RTC_DEMUX_DROP);
    cr_assert_eq(classify2(0x00, 1, 20), RTC_DEMUX_STUN);
    cr_assert_eq(classify2(22, 0xfe, 12), RTC_DEMUX_DROP);
    cr_assert_eq(classify2(22, 0xfe, 13), RTC_DEMUX_DTLS);
}

Test(rtc_demux, chromium_client_hello_records)
{
    /* Values from the fixture's .json sidecar (captured from Chromium 156). */
    size_t len;
    uint8_t *b = tst_fixture("dtls/chromium-156.0.8078.108-dtls-clienthello-1of2.bin", &len);
    cr_assert_eq(len, 1200);
    cr_assert_eq(rtc_demux_classify(b, len), RTC_DEMUX_DTLS);
    rtc_dtls_rec_t r[4];
    const uint8_t *g = tst_guard_copy(b, len);
    cr_assert_eq(rtc_demux_dtls_records(g, len, r, 4), 1);
    cr_assert_eq(r[0].content_type, RTC_DTLS_CT_HANDSHAKE);
    cr_assert_eq(r[0].version, 0xfeff);
    cr_assert_eq(r[0].epoch, 0);
    cr_assert_eq(r[0].seq, 0);
    cr_assert_eq(r[0].body.len, 1187);
    cr_assert(rtc_demux_dtls_is_client_hello(g, len));
    free(b);

    b = tst_fixture("dtls/chromium-156.0.8078.108-dtls-clienthello-2of2.bin", &len);
    g = tst_guard_copy(b, len);
    cr_assert_eq(rtc_demux_dtls_records(g, len, r, 4), 1);
    cr_assert_eq(r[0].seq, 1);
    cr_assert_eq(r[0].body.len, 250);
    /* Second fragment: fragment_offset 1175 (RFC 6347 §4.2.2 header bytes 6..8). */
    cr_assert_eq(net_rd24be(r[0].body.p + 6), 1175);
    free(b);
}

Test(rtc_demux, aiortc_two_records_in_one_datagram)
{
    size_t len;
    uint8_t *b = tst_fixture("dtls/aiortc-1.4.0-dtls-clienthello.bin", &len);
    const uint8_t *g = tst_guard_copy(b, len);
    rtc_dtls_rec_t r[4];
    cr_assert_eq(rtc_demux_dtls_records(g, len, r, 4), 2);
    cr_assert_eq(r[0].body.len, 243);
    cr_assert_eq(r[1].body.len, 26);
    cr_assert_eq(r[1].seq, 1);
    cr_assert_eq(rtc_demux_dtls_records(g, len, r, 1), -ENOSPC);
    free(b);
}

Test(rtc_demux, dtls_records_reject_malformed)
{
    size_t len;
    uint8_t *b = tst_fixture("dtls/aiortc-1.4.0-dtls-clienthello.bin", &len);
    rtc_dtls_rec_t r[4];
    /* Every truncation is malformed: a record never spans datagrams. */
    for (size_t n = 1; n < len; n++) {
        if (n == RTC_DTLS_REC_HDR_LEN + 243)
            continue; /* ends exactly after record 1: valid */
        cr_assert_eq(rtc_demux_dtls_records(tst_guard_copy(b, n), n, r, 4), -EBADMSG, "n=%zu", n);
    }
    uint8_t bad[32] = {22, 0x03, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4};
    cr_assert_eq(rtc_demux_dtls_record(bad, 17, r), -EBADMSG); /* TLS, not DTLS version */
    bad[1] = 0xfe;
    cr_assert_eq(rtc_demux_dtls_record(bad, 17, r), 17);
    bad[0] = 30;
    cr_assert_eq(rtc_demux_dtls_record(bad, 17, r), -EBADMSG); /* unknown content type */
    bad[0] = 22;
    net_wr16be(bad + 11, 0xffff);
    cr_assert_eq(rtc_demux_dtls_record(bad, 32, r), -EBADMSG);
    cr_assert(!rtc_demux_dtls_is_client_hello(bad, 32));
    free(b);
}
