/* rtc/demux/demux.c: RFC 7983 first-byte demultiplexing and the DTLS record walker. */
#include "rtc/demux/demux.h"

#define RTP_MIN_LEN 12  /* RFC 3550 §5.1: fixed header */
#define RTCP_MIN_LEN 8  /* RFC 3550 §6.4: header + sender SSRC */
#define STUN_MIN_LEN 20 /* RFC 8489 §5: header */
/* RFC 6347 §4.1 / RFC 5246 §6.2.3: TLSCiphertext.length MUST NOT exceed 2^14 + 2048. */
#define DTLS_MAX_REC_LEN (16384 + 2048)

rtc_demux_kind_t rtc_demux_classify(const uint8_t *p, size_t len)
{
    if (len == 0)
        return RTC_DEMUX_DROP;
    uint8_t b = p[0];
    /* RFC 7983 §7:
     *               +----------------+
     *               |        [0..3] -+--> forward to STUN
     *               |      [16..19] -+--> forward to ZRTP
     *   packet -->  |      [20..63] -+--> forward to DTLS
     *               |      [64..79] -+--> forward to TURN Channel
     *               |    [128..191] -+--> forward to RTP/RTCP
     *               +----------------+
     */
    if (b <= 3)
        return len >= STUN_MIN_LEN ? RTC_DEMUX_STUN : RTC_DEMUX_DROP;
    if (b >= 20 && b <= 63)
        return len >= RTC_DTLS_REC_HDR_LEN ? RTC_DEMUX_DTLS : RTC_DEMUX_DROP;
    if (b >= 128 && b <= 191) {
        if (len < 2)
            return RTC_DEMUX_DROP;
        /* RFC 5761 §4: RTCP packet types 192-223 are told apart from RTP by the second byte
         * (RTP payload types 64-95 with the marker bit would collide, so they are not used). */
        uint8_t pt = p[1];
        if (pt >= 192 && pt <= 223)
            return len >= RTCP_MIN_LEN ? RTC_DEMUX_RTCP : RTC_DEMUX_DROP;
        return len >= RTP_MIN_LEN ? RTC_DEMUX_RTP : RTC_DEMUX_DROP;
    }
    return RTC_DEMUX_DROP;
}

const char *rtc_demux_kind_name(rtc_demux_kind_t k)
{
    switch (k) {
    case RTC_DEMUX_STUN:
        return "stun";
    case RTC_DEMUX_DTLS:
        return "dtls";
    case RTC_DEMUX_RTP:
        return "rtp";
    case RTC_DEMUX_RTCP:
        return "rtcp";
    case RTC_DEMUX_DROP:
        break;
    }
    return "drop";
}

int rtc_demux_dtls_record(const uint8_t *p, size_t len, rtc_dtls_rec_t *r)
{
    if (len < RTC_DTLS_REC_HDR_LEN)
        return -EBADMSG;
    uint8_t ct = p[0];
    /* 20..25: change_cipher_spec, alert, handshake, application_data, heartbeat, tls12_cid
     * (RFC 9146). Anything else in the 20-63 DTLS range is not a record we understand. */
    if (ct < 20 || ct > 25)
        return -EBADMSG;
    uint16_t version = net_rd16be(p + 1);
    if ((version >> 8) != 0xfe) /* RFC 6347 §4.1: DTLS versions are 1's complement, 0xfeXX */
        return -EBADMSG;
    uint16_t body_len = net_rd16be(p + 11);
    if (body_len > DTLS_MAX_REC_LEN || (size_t)body_len > len - RTC_DTLS_REC_HDR_LEN)
        return -EBADMSG;
    r->content_type = ct;
    r->version = version;
    r->epoch = net_rd16be(p + 3);
    r->seq = (uint64_t)net_rd16be(p + 5) << 32 | net_rd32be(p + 7);
    r->body = (net_view_t){p + RTC_DTLS_REC_HDR_LEN, body_len};
    return RTC_DTLS_REC_HDR_LEN + body_len;
}

int rtc_demux_dtls_records(const uint8_t *p, size_t len, rtc_dtls_rec_t *out, size_t cap)
{
    size_t off = 0;
    int cnt = 0;
    /* RFC 6347 §4.1.1: several records may share one datagram; none may span two. */
    while (off < len) {
        if ((size_t)cnt == cap)
            return -ENOSPC;
        int n = rtc_demux_dtls_record(p + off, len - off, &out[cnt]);
        if (n < 0)
            return n;
        off += (size_t)n;
        cnt++;
    }
    return cnt;
}

bool rtc_demux_dtls_is_client_hello(const uint8_t *p, size_t len)
{
    rtc_dtls_rec_t r;
    if (rtc_demux_dtls_record(p, len, &r) < 0)
        return false;
    /* RFC 6347 §4.2.2: handshake header: msg_type(1) length(3) message_seq(2)
     * fragment_offset(3) fragment_length(3). */
    return r.content_type == RTC_DTLS_CT_HANDSHAKE && r.epoch == 0 && r.body.len >= 12 &&
           r.body.p[0] == RTC_DTLS_HS_CLIENT_HELLO;
}
