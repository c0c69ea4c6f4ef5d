/* tests/fuzz/ws_fuzz.c: WebSocket framing on arbitrary bytes, twice: the whole input as one
 * stream, and the same stream arriving in growing prefixes (as TCP delivers it). Both must
 * see the same events. Properties: consumed bytes stay inside the input, messages respect the
 * size limit, text messages are valid UTF-8, every error carries a close code. The first 24
 * bytes are also tried as a Sec-WebSocket-Key. */
#include "signaling/sig_priv.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_MSG 4096

static void check(bool ok)
{
    if (!ok)
        abort();
}

/* Runs the stream; returns a digest of the events (type, length, first byte) and the error. */
static uint64_t run(const uint8_t *data, size_t size, bool trickle)
{
    sig_ws_t ws;
    sig_ws_init(&ws, MAX_MSG);
    uint64_t digest = 1469598103934665603ull;
    size_t off = 0, avail = trickle ? 0 : size;
    for (int guard = 0; guard < 100000; guard++) {
        sig_ws_ev_t ev;
        long n = sig_ws_input(&ws, data + off, avail - off, &ev);
        if (n == -EAGAIN) {
            if (avail == size)
                break;
            avail = NET_MIN(size, avail + 7); /* a few bytes more */
            continue;
        }
        if (n < 0) {
            check(n == -EBADMSG || n == -EILSEQ || n == -EMSGSIZE || n == -ENOMEM);
            check(ws.fail_code >= 1002 && ws.fail_code <= 1011);
            digest = (digest ^ (uint64_t)-n) * 1099511628211ull;
            break;
        }
        check(n > 0 && (size_t)n <= avail - off);
        check(ev.len <= MAX_MSG);
        if (ev.type == SIG_WS_EV_TEXT)
            check(sig_utf8_valid(ev.p, ev.len));
        if (ev.type == SIG_WS_EV_CLOSE)
            check(ev.code == SIG_WS_CLOSE_NO_STATUS || (ev.code >= 1000 && ev.code < 5000));
        digest = (digest ^ ((uint64_t)ev.type << 32 | ev.len)) * 1099511628211ull;
        if (ev.len)
            digest = (digest ^ ev.p[0]) * 1099511628211ull;
        off += (size_t)n;
    }
    sig_ws_fini(&ws);
    return digest;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    check(run(data, size, false) == run(data, size, true));
    char accept[SIG_WS_ACCEPT_LEN + 1];
    if (size >= 24 && sig_ws_accept((net_view_t){data, 24}, accept) == 0)
        check(strlen(accept) == SIG_WS_ACCEPT_LEN);
    uint8_t hdr[10];
    size_t hl = sig_ws_hdr_write(hdr, SIG_WS_OP_TEXT, size);
    check(hl == 2 || hl == 4 || hl == 10);
    return 0;
}
