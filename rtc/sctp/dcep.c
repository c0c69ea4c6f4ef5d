/* rtc/sctp/dcep.c: Data Channel Establishment Protocol messages (RFC 8832 §5).
 *
 * RFC 8832 §5.1, DATA_CHANNEL_OPEN:
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |  Message Type |  Channel Type |            Priority           |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                    Reliability Parameter                      |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |         Label Length          |       Protocol Length         |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    \                             Label                             /
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    \                            Protocol                           /
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * RFC 8832 §5.2, DATA_CHANNEL_ACK: one byte, Message Type 0x02.
 */
#include "rtc/sctp/sctp.h"

static bool dcep_type_valid(uint8_t t)
{
    /* RFC 8832 §8.2.2: the six registered channel types. */
    switch (t & ~RTC_DCEP_UNORDERED) {
    case RTC_DCEP_RELIABLE:
    case RTC_DCEP_PARTIAL_RELIABLE_REXMIT:
    case RTC_DCEP_PARTIAL_RELIABLE_TIMED:
        return true;
    default:
        return false;
    }
}

int rtc_dcep_parse(const uint8_t *p, size_t len, rtc_dcep_t *m)
{
    if (len < 1)
        return -EBADMSG;
    memset(m, 0, sizeof *m);
    m->type = p[0];
    if (m->type == RTC_DCEP_ACK)
        return 1; /* RFC 8832 §5.2: the ACK is the type byte alone */
    if (m->type != RTC_DCEP_OPEN || len < RTC_DCEP_OPEN_HDR_LEN)
        return -EBADMSG;
    m->channel_type = p[1];
    if (!dcep_type_valid(m->channel_type))
        return -EBADMSG;
    m->priority = net_rd16be(p + 2);
    m->reliability = net_rd32be(p + 4);
    size_t label_len = net_rd16be(p + 8), proto_len = net_rd16be(p + 10);
    if (label_len + proto_len > len - RTC_DCEP_OPEN_HDR_LEN)
        return -EBADMSG;
    m->label = (net_view_t){p + RTC_DCEP_OPEN_HDR_LEN, label_len};
    m->protocol = (net_view_t){p + RTC_DCEP_OPEN_HDR_LEN + label_len, proto_len};
    /* RFC 8832 §5.1: "the reliability parameter is ignored" for reliable channels. */
    if ((m->channel_type & ~RTC_DCEP_UNORDERED) == RTC_DCEP_RELIABLE)
        m->reliability = 0;
    return (int)(RTC_DCEP_OPEN_HDR_LEN + label_len + proto_len);
}

int rtc_dcep_write_open(uint8_t *p, size_t cap, uint8_t channel_type, uint16_t priority,
                        uint32_t reliability, net_view_t label, net_view_t protocol)
{
    if (label.len > UINT16_MAX || protocol.len > UINT16_MAX || !dcep_type_valid(channel_type))
        return -EINVAL;
    size_t need = RTC_DCEP_OPEN_HDR_LEN + label.len + protocol.len;
    if (need > cap)
        return -ENOSPC;
    p[0] = RTC_DCEP_OPEN;
    p[1] = channel_type;
    net_wr16be(p + 2, priority);
    net_wr32be(p + 4, reliability);
    net_wr16be(p + 8, (uint16_t)label.len);
    net_wr16be(p + 10, (uint16_t)protocol.len);
    if (label.len)
        memcpy(p + RTC_DCEP_OPEN_HDR_LEN, label.p, label.len);
    if (protocol.len)
        memcpy(p + RTC_DCEP_OPEN_HDR_LEN + label.len, protocol.p, protocol.len);
    return (int)need;
}

uint8_t rtc_dcep_channel_type(bool unordered, rtc_sctp_pr_t pr)
{
    uint8_t t = pr == RTC_SCTP_PR_RTX   ? RTC_DCEP_PARTIAL_RELIABLE_REXMIT
                : pr == RTC_SCTP_PR_TTL ? RTC_DCEP_PARTIAL_RELIABLE_TIMED
                                        : RTC_DCEP_RELIABLE;
    return unordered ? (uint8_t)(t | RTC_DCEP_UNORDERED) : t;
}

void rtc_dcep_channel_type_split(uint8_t type, bool *unordered, rtc_sctp_pr_t *pr)
{
    *unordered = (type & RTC_DCEP_UNORDERED) != 0;
    switch (type & ~RTC_DCEP_UNORDERED) {
    case RTC_DCEP_PARTIAL_RELIABLE_REXMIT:
        *pr = RTC_SCTP_PR_RTX;
        break;
    case RTC_DCEP_PARTIAL_RELIABLE_TIMED:
        *pr = RTC_SCTP_PR_TTL;
        break;
    default:
        *pr = RTC_SCTP_PR_NONE;
    }
}
