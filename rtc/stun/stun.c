/* rtc/stun/stun.c: STUN parse and build (RFC 8489), ICE and TURN attributes.
 *
 * RFC 8489 §5, the header:
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |0 0|     STUN Message Type     |         Message Length        |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                         Magic Cookie                          |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                     Transaction ID (96 bits)                  |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * §14, each attribute (value padded to 4 bytes, padding not counted in Length):
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |         Type                  |            Length             |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                         Value (variable)                ....
 */
#include "rtc/stun/stun.h"

#include "rtc/crypto/crypto.h"

#define ATTR_HDR 4

static size_t pad4(size_t n)
{
    return (n + 3) & ~(size_t)3;
}

bool rtc_stun_is_stun(const uint8_t *b, size_t len)
{
    return len >= RTC_STUN_HDR_LEN && (b[0] & 0xC0) == 0 && net_rd32be(b + 4) == RTC_STUN_MAGIC &&
           (net_rd16be(b + 2) & 3) == 0 && (size_t)RTC_STUN_HDR_LEN + net_rd16be(b + 2) == len;
}

/* Comprehension-required attributes this implementation understands. Those it parses into
 * fields plus TURN ones it can meet and ignore. */
static bool known_required(uint16_t t)
{
    switch (t) {
    case RTC_STUN_A_MAPPED_ADDRESS:
    case RTC_STUN_A_USERNAME:
    case RTC_STUN_A_MESSAGE_INTEGRITY:
    case RTC_STUN_A_ERROR_CODE:
    case RTC_STUN_A_UNKNOWN_ATTRIBUTES:
    case RTC_STUN_A_CHANNEL_NUMBER:
    case RTC_STUN_A_LIFETIME:
    case RTC_STUN_A_XOR_PEER_ADDRESS:
    case RTC_STUN_A_DATA:
    case RTC_STUN_A_REALM:
    case RTC_STUN_A_NONCE:
    case RTC_STUN_A_XOR_RELAYED_ADDRESS:
    case RTC_STUN_A_REQUESTED_ADDRESS_FAMILY:
    case RTC_STUN_A_EVEN_PORT:
    case RTC_STUN_A_REQUESTED_TRANSPORT:
    case RTC_STUN_A_DONT_FRAGMENT:
    case RTC_STUN_A_MESSAGE_INTEGRITY_SHA256:
    case RTC_STUN_A_XOR_MAPPED_ADDRESS:
    case RTC_STUN_A_RESERVATION_TOKEN:
    case RTC_STUN_A_PRIORITY:
    case RTC_STUN_A_USE_CANDIDATE:
        return true;
    default:
        return false;
    }
}

const char *rtc_stun_attr_name(uint16_t type)
{
    switch (type) {
    case RTC_STUN_A_MAPPED_ADDRESS:
        return "MAPPED-ADDRESS";
    case RTC_STUN_A_USERNAME:
        return "USERNAME";
    case RTC_STUN_A_MESSAGE_INTEGRITY:
        return "MESSAGE-INTEGRITY";
    case RTC_STUN_A_ERROR_CODE:
        return "ERROR-CODE";
    case RTC_STUN_A_UNKNOWN_ATTRIBUTES:
        return "UNKNOWN-ATTRIBUTES";
    case RTC_STUN_A_CHANNEL_NUMBER:
        return "CHANNEL-NUMBER";
    case RTC_STUN_A_LIFETIME:
        return "LIFETIME";
    case RTC_STUN_A_XOR_PEER_ADDRESS:
        return "XOR-PEER-ADDRESS";
    case RTC_STUN_A_DATA:
        return "DATA";
    case RTC_STUN_A_REALM:
        return "REALM";
    case RTC_STUN_A_NONCE:
        return "NONCE";
    case RTC_STUN_A_XOR_RELAYED_ADDRESS:
        return "XOR-RELAYED-ADDRESS";
    case RTC_STUN_A_REQUESTED_TRANSPORT:
        return "REQUESTED-TRANSPORT";
    case RTC_STUN_A_MESSAGE_INTEGRITY_SHA256:
        return "MESSAGE-INTEGRITY-SHA256";
    case RTC_STUN_A_XOR_MAPPED_ADDRESS:
        return "XOR-MAPPED-ADDRESS";
    case RTC_STUN_A_PRIORITY:
        return "PRIORITY";
    case RTC_STUN_A_USE_CANDIDATE:
        return "USE-CANDIDATE";
    case RTC_STUN_A_SOFTWARE:
        return "SOFTWARE";
    case RTC_STUN_A_FINGERPRINT:
        return "FINGERPRINT";
    case RTC_STUN_A_ICE_CONTROLLED:
        return "ICE-CONTROLLED";
    case RTC_STUN_A_ICE_CONTROLLING:
        return "ICE-CONTROLLING";
    default:
        return NULL;
    }
}

/* RFC 8489 §14.1 / §14.2:
 *    |0 0 0 0 0 0 0 0|    Family     |         Port (X-Port)         |
 *    |                 Address (32 bits or 128 bits)                 |
 * XOR: port ^ cookie>>16, IPv4 ^ cookie, IPv6 ^ (cookie || transaction id). */
static int parse_addr(const uint8_t *v, size_t len, const uint8_t *hdr, bool xor, net_addr_t *a)
{
    if (len < 4)
        return -EBADMSG;
    uint8_t fam = v[1];
    uint16_t port = net_rd16be(v + 2);
    if (xor)
        port ^= (uint16_t)(RTC_STUN_MAGIC >> 16);
    memset(a, 0, sizeof *a);
    if (fam == 0x01) {
        if (len != 8)
            return -EBADMSG;
        uint32_t ip = net_rd32be(v + 4);
        if (xor)
            ip ^= RTC_STUN_MAGIC;
        a->in4.sin_family = AF_INET;
        a->in4.sin_port = htons(port);
        a->in4.sin_addr.s_addr = htonl(ip);
        a->len = sizeof a->in4;
        return 0;
    }
    if (fam == 0x02) {
        if (len != 20)
            return -EBADMSG;
        uint8_t ip[16];
        memcpy(ip, v + 4, 16);
        if (xor)
            for (int i = 0; i < 16; i++)
                ip[i] ^= hdr[4 + i]; /* cookie then transaction id: header bytes 4..19 */
        a->in6.sin6_family = AF_INET6;
        a->in6.sin6_port = htons(port);
        memcpy(&a->in6.sin6_addr, ip, 16);
        a->len = sizeof a->in6;
        return 0;
    }
    return -EBADMSG;
}

static int parse_attr(rtc_stun_msg_t *m, uint16_t t, const uint8_t *v, size_t vlen)
{
    uint32_t bit = 0;
    switch (t) {
    case RTC_STUN_A_MAPPED_ADDRESS:
        bit = RTC_STUN_HAS_MAPPED;
        break;
    case RTC_STUN_A_XOR_MAPPED_ADDRESS:
        bit = RTC_STUN_HAS_XOR_MAPPED;
        break;
    case RTC_STUN_A_XOR_PEER_ADDRESS:
        bit = RTC_STUN_HAS_XOR_PEER;
        break;
    case RTC_STUN_A_XOR_RELAYED_ADDRESS:
        bit = RTC_STUN_HAS_XOR_RELAYED;
        break;
    case RTC_STUN_A_USERNAME:
        bit = RTC_STUN_HAS_USERNAME;
        break;
    case RTC_STUN_A_REALM:
        bit = RTC_STUN_HAS_REALM;
        break;
    case RTC_STUN_A_NONCE:
        bit = RTC_STUN_HAS_NONCE;
        break;
    case RTC_STUN_A_SOFTWARE:
        bit = RTC_STUN_HAS_SOFTWARE;
        break;
    case RTC_STUN_A_DATA:
        bit = RTC_STUN_HAS_DATA;
        break;
    case RTC_STUN_A_ERROR_CODE:
        bit = RTC_STUN_HAS_ERROR;
        break;
    case RTC_STUN_A_UNKNOWN_ATTRIBUTES:
        bit = RTC_STUN_HAS_UNKNOWN_ATTRS;
        break;
    case RTC_STUN_A_PRIORITY:
        bit = RTC_STUN_HAS_PRIORITY;
        break;
    case RTC_STUN_A_USE_CANDIDATE:
        bit = RTC_STUN_HAS_USE_CANDIDATE;
        break;
    case RTC_STUN_A_ICE_CONTROLLED:
        bit = RTC_STUN_HAS_CONTROLLED;
        break;
    case RTC_STUN_A_ICE_CONTROLLING:
        bit = RTC_STUN_HAS_CONTROLLING;
        break;
    case RTC_STUN_A_LIFETIME:
        bit = RTC_STUN_HAS_LIFETIME;
        break;
    case RTC_STUN_A_REQUESTED_TRANSPORT:
        bit = RTC_STUN_HAS_REQ_TRANSPORT;
        break;
    case RTC_STUN_A_CHANNEL_NUMBER:
        bit = RTC_STUN_HAS_CHANNEL;
        break;
    default:
        if (t < 0x8000 && !known_required(t)) {
            /* RFC 8489 §6.3.1: remember it; a request gets a 420. */
            for (unsigned i = 0; i < m->unknown_cnt; i++)
                if (m->unknown[i] == t)
                    return 0;
            if (m->unknown_cnt == RTC_STUN_MAX_UNKNOWN)
                return -EBADMSG;
            m->unknown[m->unknown_cnt++] = t;
        }
        return 0;
    }
    if (m->present & bit)
        return 0; /* RFC 8489 §14: only the first occurrence is processed */
    net_view_t view = {v, vlen};
    int r = 0;
    switch (t) {
    case RTC_STUN_A_MAPPED_ADDRESS:
        r = parse_addr(v, vlen, m->raw, false, &m->mapped);
        break;
    case RTC_STUN_A_XOR_MAPPED_ADDRESS:
        r = parse_addr(v, vlen, m->raw, true, &m->xor_mapped);
        break;
    case RTC_STUN_A_XOR_PEER_ADDRESS:
        r = parse_addr(v, vlen, m->raw, true, &m->xor_peer);
        break;
    case RTC_STUN_A_XOR_RELAYED_ADDRESS:
        r = parse_addr(v, vlen, m->raw, true, &m->xor_relayed);
        break;
    case RTC_STUN_A_USERNAME:
        /* RFC 8489 §14.3: < 509 bytes */
        if (vlen == 0 || vlen > 508)
            return -EBADMSG;
        m->username = view;
        break;
    case RTC_STUN_A_REALM:
        if (vlen > 763) /* §14.9 */
            return -EBADMSG;
        m->realm = view;
        break;
    case RTC_STUN_A_NONCE:
        if (vlen > 763) /* §14.10 */
            return -EBADMSG;
        m->nonce = view;
        break;
    case RTC_STUN_A_SOFTWARE:
        if (vlen > 763) /* §14.14 */
            return -EBADMSG;
        m->software = view;
        break;
    case RTC_STUN_A_DATA:
        m->data = view;
        break;
    case RTC_STUN_A_ERROR_CODE: {
        /* §14.8: 21 reserved bits, class (3 bits, 3..6), number (0..99), reason < 128 chars */
        if (vlen < 4 || vlen > 4 + 763)
            return -EBADMSG;
        unsigned cls = v[2] & 7, num = v[3];
        if (cls < 3 || cls > 6 || num > 99)
            return -EBADMSG;
        m->error_code = (uint16_t)(cls * 100 + num);
        m->error_reason = (net_view_t){v + 4, vlen - 4};
        break;
    }
    case RTC_STUN_A_UNKNOWN_ATTRIBUTES:
        if (vlen & 1)
            return -EBADMSG;
        m->unknown_attrs = view;
        break;
    case RTC_STUN_A_PRIORITY:
    case RTC_STUN_A_LIFETIME:
        if (vlen != 4)
            return -EBADMSG;
        if (t == RTC_STUN_A_PRIORITY)
            m->priority = net_rd32be(v);
        else
            m->lifetime_s = net_rd32be(v);
        break;
    case RTC_STUN_A_USE_CANDIDATE:
        if (vlen != 0)
            return -EBADMSG;
        break;
    case RTC_STUN_A_ICE_CONTROLLED:
    case RTC_STUN_A_ICE_CONTROLLING:
        if (vlen != 8)
            return -EBADMSG;
        if (t == RTC_STUN_A_ICE_CONTROLLED)
            m->ice_controlled = net_rd64be(v);
        else
            m->ice_controlling = net_rd64be(v);
        break;
    case RTC_STUN_A_REQUESTED_TRANSPORT:
        if (vlen != 4)
            return -EBADMSG;
        m->req_transport = v[0];
        break;
    case RTC_STUN_A_CHANNEL_NUMBER:
        if (vlen != 4)
            return -EBADMSG;
        m->channel = net_rd16be(v);
        break;
    }
    if (r < 0)
        return r;
    m->present |= bit;
    return 0;
}

int rtc_stun_parse(const uint8_t *b, size_t len, rtc_stun_msg_t *m)
{
    if (len < RTC_STUN_HDR_LEN)
        return -EBADMSG;
    uint16_t type = net_rd16be(b), body = net_rd16be(b + 2);
    /* §5: the two top bits are zero, the length is a multiple of 4, the magic cookie. */
    if ((type & 0xC000) || (body & 3) || net_rd32be(b + 4) != RTC_STUN_MAGIC ||
        (size_t)RTC_STUN_HDR_LEN + body > len)
        return -EBADMSG;
    memset(m, 0, offsetof(rtc_stun_msg_t, mapped));
    m->present = 0;
    m->unknown_cnt = 0;
    m->raw = b;
    m->len = RTC_STUN_HDR_LEN + (size_t)body;
    m->method = (uint16_t)((type & 0x000F) | ((type >> 1) & 0x0070) | ((type >> 2) & 0x0F80));
    m->cls = (uint8_t)(((type >> 4) & 1) | ((type >> 7) & 2));
    m->txid = b + 8;

    size_t off = RTC_STUN_HDR_LEN;
    bool after_mi = false;
    while (off < m->len) {
        if (m->present & RTC_STUN_HAS_FINGERPRINT)
            return -EBADMSG; /* §14.7: FINGERPRINT is the last attribute */
        if (m->len - off < ATTR_HDR)
            return -EBADMSG;
        uint16_t t = net_rd16be(b + off), alen = net_rd16be(b + off + 2);
        size_t vlen_pad = pad4(alen);
        if (vlen_pad > m->len - off - ATTR_HDR)
            return -EBADMSG; /* overruns the body */
        const uint8_t *v = b + off + ATTR_HDR;
        if (t == RTC_STUN_A_FINGERPRINT) {
            if (alen != 4)
                return -EBADMSG;
            m->present |= RTC_STUN_HAS_FINGERPRINT;
            m->fp_off = (uint16_t)off;
        } else if (t == RTC_STUN_A_MESSAGE_INTEGRITY_SHA256) {
            /* §14.6: 16..32 bytes, a multiple of 4; only MI-SHA256 may follow... nothing but
             * FINGERPRINT. */
            if (m->present & RTC_STUN_HAS_MI256) {
                /* a second one: ignored as any attribute after the integrity */
            } else {
                if (alen < 16 || alen > 32 || (alen & 3))
                    return -EBADMSG;
                m->present |= RTC_STUN_HAS_MI256;
                m->mi256_off = (uint16_t)off;
                m->mi256_len = alen;
            }
            after_mi = true;
        } else if (after_mi) {
            /* §14.5: attributes after MESSAGE-INTEGRITY (other than the two above) are
             * ignored */
        } else if (t == RTC_STUN_A_MESSAGE_INTEGRITY) {
            if (alen != RTC_SHA1_LEN)
                return -EBADMSG;
            m->present |= RTC_STUN_HAS_MI;
            m->mi_off = (uint16_t)off;
            after_mi = true;
        } else {
            int r = parse_attr(m, t, v, alen);
            if (r < 0)
                return r;
        }
        off += ATTR_HDR + vlen_pad;
    }
    return (int)m->len;
}

int rtc_stun_check_fingerprint(const rtc_stun_msg_t *m)
{
    if (!(m->present & RTC_STUN_HAS_FINGERPRINT))
        return -ENOENT;
    /* FINGERPRINT is last (the parser enforces it), so the header length already covers it. */
    uint32_t crc = rtc_crc32(m->raw, m->fp_off) ^ RTC_STUN_FP_XOR;
    return net_rd32be(m->raw + m->fp_off + ATTR_HDR) == crc ? 0 : -EBADMSG;
}

/* HMAC over the message up to the attribute at @off, with the header length rewritten to end
 * just after that attribute (value @vlen bytes) (RFC 8489 §14.5, §14.6). */
static int integrity(const rtc_stun_msg_t *m, bool sha256, uint16_t off, size_t vlen,
                     const void *key, size_t key_len)
{
    uint8_t hdr[RTC_STUN_HDR_LEN], mac[RTC_SHA256_LEN];
    memcpy(hdr, m->raw, RTC_STUN_HDR_LEN);
    net_wr16be(hdr + 2, (uint16_t)(off + ATTR_HDR + vlen - RTC_STUN_HDR_LEN));
    net_view_t parts[2] = {{hdr, RTC_STUN_HDR_LEN},
                           {m->raw + RTC_STUN_HDR_LEN, off - RTC_STUN_HDR_LEN}};
    int r = sha256 ? rtc_hmac_sha256(key, key_len, parts, 2, mac)
                   : rtc_hmac_sha1(key, key_len, parts, 2, mac);
    if (r < 0)
        return -EIO;
    return rtc_mem_eq_ct(mac, m->raw + off + ATTR_HDR, vlen) ? 0 : -EACCES;
}

int rtc_stun_check_integrity(const rtc_stun_msg_t *m, const void *key, size_t key_len)
{
    if (!(m->present & RTC_STUN_HAS_MI))
        return -ENOENT;
    return integrity(m, false, m->mi_off, RTC_SHA1_LEN, key, key_len);
}

int rtc_stun_check_integrity_sha256(const rtc_stun_msg_t *m, const void *key, size_t key_len)
{
    if (!(m->present & RTC_STUN_HAS_MI256))
        return -ENOENT;
    return integrity(m, true, m->mi256_off, m->mi256_len, key, key_len);
}

int rtc_stun_lt_key(const char *user, net_view_t realm, const char *pass, uint8_t key[16])
{
    net_view_t parts[5] = {{(const uint8_t *)user, strlen(user)},
                           {(const uint8_t *)":", 1},
                           realm,
                           {(const uint8_t *)":", 1},
                           {(const uint8_t *)pass, strlen(pass)}};
    return rtc_md5(parts, 5, key) < 0 ? -EIO : 0;
}

int rtc_stun_username_ufrag(const rtc_stun_msg_t *m, net_view_t *ufrag)
{
    if (!(m->present & RTC_STUN_HAS_USERNAME))
        return -ENOENT;
    const uint8_t *c = memchr(m->username.p, ':', m->username.len);
    if (!c || c == m->username.p || c == m->username.p + m->username.len - 1)
        return -EBADMSG;
    *ufrag = (net_view_t){m->username.p, (size_t)(c - m->username.p)};
    return 0;
}

int rtc_stun_peek_ufrag(const uint8_t *b, size_t len, net_view_t *ufrag)
{
    if (len < RTC_STUN_HDR_LEN || (b[0] & 0xC0) || net_rd32be(b + 4) != RTC_STUN_MAGIC)
        return -EBADMSG;
    size_t end = RTC_STUN_HDR_LEN + (size_t)net_rd16be(b + 2);
    if (end > len)
        return -EBADMSG;
    for (size_t off = RTC_STUN_HDR_LEN; end - off >= ATTR_HDR;) {
        uint16_t t = net_rd16be(b + off), alen = net_rd16be(b + off + 2);
        if (pad4(alen) > end - off - ATTR_HDR)
            return -EBADMSG;
        if (t == RTC_STUN_A_USERNAME) {
            const uint8_t *v = b + off + ATTR_HDR, *c = memchr(v, ':', alen);
            if (!c || c == v || c == v + alen - 1)
                return -EBADMSG;
            *ufrag = (net_view_t){v, (size_t)(c - v)};
            return 0;
        }
        off += ATTR_HDR + pad4(alen);
    }
    return -ENOENT;
}

/* ---------------------------------------------------------------------------------------------
 * Writer
 */
static void wr_set_len(rtc_stun_wr_t *w, size_t end)
{
    net_wr16be(w->buf + 2, (uint16_t)(end - RTC_STUN_HDR_LEN));
}

void rtc_stun_wr_init(rtc_stun_wr_t *w, uint8_t *buf, size_t cap, uint16_t method, unsigned cls,
                      const uint8_t *txid)
{
    w->buf = buf;
    w->cap = cap;
    w->len = 0;
    w->err = 0;
    if (cap < RTC_STUN_HDR_LEN) {
        w->err = -ENOSPC;
        return;
    }
    if (method > 0x0FFF || cls > 3) {
        w->err = -EINVAL;
        return;
    }
    net_wr16be(buf, rtc_stun_type(method, cls));
    net_wr16be(buf + 2, 0);
    net_wr32be(buf + 4, RTC_STUN_MAGIC);
    memcpy(buf + 8, txid, RTC_STUN_TXID_LEN);
    w->len = RTC_STUN_HDR_LEN;
}

/* Reserves an attribute with a @len-byte value; returns the value pointer or NULL. */
static uint8_t *wr_reserve(rtc_stun_wr_t *w, uint16_t type, size_t len)
{
    if (w->err)
        return NULL;
    if (len > 0xFFFF || w->len + ATTR_HDR + pad4(len) > w->cap ||
        w->len + ATTR_HDR + pad4(len) - RTC_STUN_HDR_LEN > 0xFFFF) {
        w->err = -ENOSPC;
        return NULL;
    }
    uint8_t *p = w->buf + w->len;
    net_wr16be(p, type);
    net_wr16be(p + 2, (uint16_t)len);
    memset(p + ATTR_HDR + len, 0, pad4(len) - len); /* RFC 8489 §14: padding, sent as 0 */
    w->len += ATTR_HDR + pad4(len);
    wr_set_len(w, w->len);
    return p + ATTR_HDR;
}

void rtc_stun_wr_attr(rtc_stun_wr_t *w, uint16_t type, const void *val, size_t len)
{
    uint8_t *p = wr_reserve(w, type, len);
    if (p && len)
        memcpy(p, val, len);
}

void rtc_stun_wr_u32(rtc_stun_wr_t *w, uint16_t type, uint32_t v)
{
    uint8_t *p = wr_reserve(w, type, 4);
    if (p)
        net_wr32be(p, v);
}

void rtc_stun_wr_u64(rtc_stun_wr_t *w, uint16_t type, uint64_t v)
{
    uint8_t *p = wr_reserve(w, type, 8);
    if (p)
        net_wr64be(p, v);
}

static void wr_addr(rtc_stun_wr_t *w, uint16_t type, const net_addr_t *a, bool xor)
{
    if (w->err)
        return;
    int fam = a->sa.sa_family;
    if (fam != AF_INET && fam != AF_INET6) {
        w->err = -EINVAL;
        return;
    }
    uint8_t *p = wr_reserve(w, type, fam == AF_INET ? 8 : 20);
    if (!p)
        return;
    uint16_t port = net_addr_port(a);
    p[0] = 0;
    p[1] = fam == AF_INET ? 0x01 : 0x02;
    net_wr16be(p + 2, xor? (uint16_t)(port ^ (RTC_STUN_MAGIC >> 16)) : port);
    if (fam == AF_INET) {
        uint32_t ip = ntohl(a->in4.sin_addr.s_addr);
        net_wr32be(p + 4, xor? ip ^ RTC_STUN_MAGIC : ip);
    } else {
        memcpy(p + 4, &a->in6.sin6_addr, 16);
        if (xor)
            for (int i = 0; i < 16; i++)
                p[4 + i] ^= w->buf[4 + i];
    }
}

void rtc_stun_wr_addr(rtc_stun_wr_t *w, uint16_t type, const net_addr_t *a)
{
    wr_addr(w, type, a, false);
}

void rtc_stun_wr_xor_addr(rtc_stun_wr_t *w, uint16_t type, const net_addr_t *a)
{
    wr_addr(w, type, a, true);
}

static const char *default_reason(uint16_t code)
{
    switch (code) {
    case 300:
        return "Try Alternate";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthenticated";
    case 403:
        return "Forbidden";
    case 420:
        return "Unknown Attribute";
    case 437:
        return "Allocation Mismatch";
    case 438:
        return "Stale Nonce";
    case 487:
        return "Role Conflict";
    case 500:
        return "Server Error";
    default:
        return "";
    }
}

void rtc_stun_wr_error(rtc_stun_wr_t *w, uint16_t code, const char *reason)
{
    if (w->err)
        return;
    if (code < 300 || code > 699) {
        w->err = -EINVAL;
        return;
    }
    if (!reason)
        reason = default_reason(code);
    size_t rlen = strlen(reason);
    if (rlen > 763) {
        w->err = -EINVAL;
        return;
    }
    uint8_t *p = wr_reserve(w, RTC_STUN_A_ERROR_CODE, 4 + rlen);
    if (!p)
        return;
    p[0] = p[1] = 0;
    p[2] = (uint8_t)(code / 100);
    p[3] = (uint8_t)(code % 100);
    memcpy(p + 4, reason, rlen);
}

void rtc_stun_wr_transport(rtc_stun_wr_t *w, uint8_t proto)
{
    uint8_t *p = wr_reserve(w, RTC_STUN_A_REQUESTED_TRANSPORT, 4);
    if (p) {
        p[0] = proto; /* RFC 8656 §14.7: protocol, then 24 RFFU bits */
        p[1] = p[2] = p[3] = 0;
    }
}

void rtc_stun_wr_channel(rtc_stun_wr_t *w, uint16_t channel)
{
    uint8_t *p = wr_reserve(w, RTC_STUN_A_CHANNEL_NUMBER, 4);
    if (p) {
        net_wr16be(p, channel); /* RFC 8656 §14.1: number, then 16 RFFU bits */
        net_wr16be(p + 2, 0);
    }
}

static void wr_mac(rtc_stun_wr_t *w, bool sha256, const void *key, size_t key_len)
{
    size_t vlen = sha256 ? RTC_SHA256_LEN : RTC_SHA1_LEN;
    size_t start = w->len;
    uint8_t *p = wr_reserve(
        w, sha256 ? RTC_STUN_A_MESSAGE_INTEGRITY_SHA256 : RTC_STUN_A_MESSAGE_INTEGRITY, vlen);
    if (!p)
        return;
    /* The header length already covers this attribute (wr_reserve set it): RFC 8489 §14.5. */
    net_view_t part = {w->buf, start};
    uint8_t mac[RTC_SHA256_LEN];
    int r = sha256 ? rtc_hmac_sha256(key, key_len, &part, 1, mac)
                   : rtc_hmac_sha1(key, key_len, &part, 1, mac);
    if (r < 0) {
        w->err = -EIO;
        return;
    }
    memcpy(p, mac, vlen);
}

void rtc_stun_wr_integrity(rtc_stun_wr_t *w, const void *key, size_t key_len)
{
    wr_mac(w, false, key, key_len);
}

void rtc_stun_wr_integrity_sha256(rtc_stun_wr_t *w, const void *key, size_t key_len)
{
    wr_mac(w, true, key, key_len);
}

void rtc_stun_wr_fingerprint(rtc_stun_wr_t *w)
{
    size_t start = w->len;
    uint8_t *p = wr_reserve(w, RTC_STUN_A_FINGERPRINT, 4);
    if (p)
        net_wr32be(p, rtc_crc32(w->buf, start) ^ RTC_STUN_FP_XOR);
}

int rtc_stun_wr_finish(const rtc_stun_wr_t *w)
{
    return w->err ? w->err : (int)w->len;
}

int rtc_stun_build_420(const rtc_stun_msg_t *req, uint8_t *buf, size_t cap, const void *key,
                       size_t key_len)
{
    if (req->cls != RTC_STUN_REQUEST || req->unknown_cnt == 0)
        return -EINVAL;
    rtc_stun_wr_t w;
    rtc_stun_wr_init(&w, buf, cap, req->method, RTC_STUN_ERROR, req->txid);
    rtc_stun_wr_error(&w, 420, NULL);
    uint8_t types[2 * RTC_STUN_MAX_UNKNOWN];
    for (unsigned i = 0; i < req->unknown_cnt; i++)
        net_wr16be(types + 2 * i, req->unknown[i]);
    rtc_stun_wr_attr(&w, RTC_STUN_A_UNKNOWN_ATTRIBUTES, types, 2u * req->unknown_cnt);
    if (key)
        rtc_stun_wr_integrity(&w, key, key_len);
    rtc_stun_wr_fingerprint(&w);
    return rtc_stun_wr_finish(&w);
}
