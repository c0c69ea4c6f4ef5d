/* signaling/ws.c: WebSocket (RFC 6455) for the server side, sans-IO: the opening handshake key,
 * frame parsing, fragment reassembly, control frames and UTF-8 checks.
 *
 * RFC 6455 §5.2 base framing:
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-------+-+-------------+-------------------------------+
 *  |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
 *  |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
 *  |N|V|V|V|       |S|             |   (if payload len==126/127)   |
 *  | |1|2|3|       |K|             |                               |
 *  +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
 *  |     Extended payload length continued, if payload len == 127  |
 *  + - - - - - - - - - - - - - - - +-------------------------------+
 *  |                               |Masking-key, if MASK set to 1  |
 *  +-------------------------------+-------------------------------+
 *  | Masking-key (continued)       |          Payload Data         |
 *  +-------------------------------- - - - - - - - - - - - - - - - +
 */
#include "signaling/sig_priv.h"

#include <stdlib.h>

/* RFC 6455 §1.3: the GUID appended to the client's key. */
static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

int sig_ws_accept(net_view_t key, char out[SIG_WS_ACCEPT_LEN + 1])
{
    /* §4.2.1 item 5: the key is base64 of a 16-byte value (24 characters). */
    uint8_t raw[18];
    if (key.len != 24 || sig_b64_decode((const char *)key.p, key.len, raw, sizeof raw, false) != 16)
        return -EBADMSG;
    char cat[24 + sizeof ws_guid];
    memcpy(cat, key.p, 24);
    memcpy(cat + 24, ws_guid, sizeof ws_guid - 1);
    uint8_t sha[SIG_SHA1_LEN];
    sig_sha1(cat, 24 + sizeof ws_guid - 1, sha);
    if (sig_b64_encode(sha, sizeof sha, out, SIG_WS_ACCEPT_LEN + 1, false) != SIG_WS_ACCEPT_LEN)
        return -EBADMSG;
    return 0;
}

bool sig_utf8_valid(const uint8_t *p, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint8_t c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        uint32_t cp, min;
        if ((c & 0xE0) == 0xC0) {
            n = 1, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (len - i <= n)
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((p[i + k] & 0xC0) != 0x80)
                return false;
            cp = cp << 6 | (p[i + k] & 0x3F);
        }
        /* RFC 3629 §3: overlong forms, surrogates and code points past U+10FFFF are invalid. */
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += n + 1;
    }
    return true;
}

size_t sig_ws_hdr_write(uint8_t *out, uint8_t opcode, uint64_t len)
{
    out[0] = (uint8_t)(0x80 | (opcode & 0x0F)); /* FIN; a server never masks (§5.1) */
    if (len < 126) {
        out[1] = (uint8_t)len;
        return 2;
    }
    if (len <= 0xFFFF) {
        out[1] = 126;
        net_wr16be(out + 2, (uint16_t)len);
        return 4;
    }
    out[1] = 127;
    net_wr64be(out + 2, len);
    return 10;
}

void sig_ws_init(sig_ws_t *ws, size_t max_msg)
{
    memset(ws, 0, sizeof *ws);
    ws->max_msg = max_msg;
}

void sig_ws_fini(sig_ws_t *ws)
{
    free(ws->msg);
    ws->msg = NULL;
    ws->msg_len = ws->msg_cap = 0;
}

static long ws_fail(sig_ws_t *ws, uint16_t code, int err)
{
    ws->fail_code = code;
    return err;
}

static void unmask(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t mask[4])
{
    for (size_t i = 0; i < len; i++)
        dst[i] = src[i] ^ mask[i & 3];
}

/* §7.4.1/§7.4.2: codes a peer may send in a Close frame. */
static bool close_code_ok(uint16_t code)
{
    if (code >= 3000 && code <= 4999)
        return true;
    return code >= 1000 && code <= 1014 && code != 1004 && code != 1005 && code != 1006;
}

long sig_ws_input(sig_ws_t *ws, const uint8_t *b, size_t len, sig_ws_ev_t *ev)
{
    *ev = (sig_ws_ev_t){0};
    if (ws->msg_op == 0)
        ws->msg_len = 0; /* the last message was delivered in the previous call */
    if (len < 2)
        return -EAGAIN;
    bool fin = b[0] & 0x80;
    uint8_t op = b[0] & 0x0F;
    /* §5.2: RSV1-3 MUST be 0 unless an extension defines them; we negotiate none. */
    if (b[0] & 0x70)
        return ws_fail(ws, SIG_WS_CLOSE_PROTOCOL, -EBADMSG);
    /* §5.1: a server MUST close the connection on an unmasked client frame. */
    if (!(b[1] & 0x80))
        return ws_fail(ws, SIG_WS_CLOSE_PROTOCOL, -EBADMSG);
    uint64_t plen = b[1] & 0x7F;
    size_t h = 2;
    if (plen == 126) {
        if (len < 4)
            return -EAGAIN;
        plen = net_rd16be(b + 2);
        h = 4;
        if (plen < 126) /* §5.2: the minimal number of bytes MUST be used */
            return ws_fail(ws, SIG_WS_CLOSE_PROTOCOL, -EBADMSG);
    } else if (plen == 127) {
        if (len < 10)
            return -EAGAIN;
        plen = net_rd64be(b + 2);
        h = 10;
        if ((plen >> 63) || plen <= 0xFFFF) /* §5.2: MSB MUST be 0; minimal length */
            return ws_fail(ws, SIG_WS_CLOSE_PROTOCOL, -EBADMSG);
    }
    bool ctl = op & 0x8;
    if (ctl) {
        /* §5.5: control frames have payloads of at most 125 bytes and MUST NOT be fragmented. */
        if (!fin || plen > 125)
            return ws_fail(ws, SIG_WS_CLOSE_PROTOCOL, -EBADMSG);
        if (op != SIG_WS_OP_CLOSE && op != SIG_WS_OP_PING && op != SIG_WS_OP_PONG)
            return ws_fail(ws, SIG_WS_CLOSE_PROTOCOL, -EBADMSG);
    } else {
        if (op != SIG_WS_OP_CONT && op != SIG_WS_OP_TEXT && op != SIG_WS_OP_BINARY)
            return ws_fail(ws, SIG_WS_CLOSE_PROTOCOL, -EBADMSG);
        /* §5.4: a continuation needs a message in progress; a new message must not start
         * inside one. */
        if ((op == SIG_WS_OP_CONT) != (ws->msg_op != 0))
            return ws_fail(ws, SIG_WS_CLOSE_PROTOCOL, -EBADMSG);
        /* Refused as soon as the header shows it, before the payload arrives. */
        if (plen > ws->max_msg - ws->msg_len) {
            ws->skip_len = h + 4 + plen;
            return ws_fail(ws, SIG_WS_CLOSE_TOO_BIG, -EMSGSIZE);
        }
    }
    if (len < h + 4)
        return -EAGAIN;
    const uint8_t *mask = b + h;
    h += 4;
    if (len - h < plen)
        return -EAGAIN;
    const uint8_t *pay = b + h;
    long used = (long)(h + plen);

    if (ctl) {
        unmask(ws->ctl, pay, (size_t)plen, mask);
        ev->p = ws->ctl;
        ev->len = (size_t)plen;
        if (op == SIG_WS_OP_PING) {
            ev->type = SIG_WS_EV_PING;
        } else if (op == SIG_WS_OP_PONG) {
            ev->type = SIG_WS_EV_PONG;
        } else {
            /* §5.5.1: a body, if present, is a 2-byte code then UTF-8 text. */
            ev->type = SIG_WS_EV_CLOSE;
            ev->code = SIG_WS_CLOSE_NO_STATUS;
            if (plen == 1)
                return ws_fail(ws, SIG_WS_CLOSE_PROTOCOL, -EBADMSG);
            if (plen >= 2) {
                ev->code = net_rd16be(ws->ctl);
                if (!close_code_ok(ev->code))
                    return ws_fail(ws, SIG_WS_CLOSE_PROTOCOL, -EBADMSG);
                if (!sig_utf8_valid(ws->ctl + 2, (size_t)plen - 2))
                    return ws_fail(ws, SIG_WS_CLOSE_BAD_DATA, -EILSEQ);
                ev->p = ws->ctl + 2;
                ev->len = (size_t)plen - 2;
            }
        }
        return used;
    }

    size_t need = ws->msg_len + (size_t)plen;
    if (need > ws->msg_cap) {
        size_t cap = NET_MIN(NET_MAX(need, ws->msg_cap * 2), ws->max_msg);
        uint8_t *nb = realloc(ws->msg, cap ? cap : 1);
        if (!nb)
            return ws_fail(ws, SIG_WS_CLOSE_INTERNAL, -ENOMEM);
        ws->msg = nb;
        ws->msg_cap = cap;
    }
    unmask(ws->msg + ws->msg_len, pay, (size_t)plen, mask);
    ws->msg_len = need;
    if (op != SIG_WS_OP_CONT)
        ws->msg_op = op;
    if (!fin)
        return used;
    /* §8.1: a text message whose payload is not valid UTF-8 fails the connection (1007). */
    if (ws->msg_op == SIG_WS_OP_TEXT && !sig_utf8_valid(ws->msg, ws->msg_len))
        return ws_fail(ws, SIG_WS_CLOSE_BAD_DATA, -EILSEQ);
    ev->type = ws->msg_op == SIG_WS_OP_TEXT ? SIG_WS_EV_TEXT : SIG_WS_EV_BINARY;
    ev->p = ws->msg;
    ev->len = ws->msg_len;
    ws->msg_op = 0; /* msg_len is reset on the next call, after the caller used ev->p */
    return used;
}
