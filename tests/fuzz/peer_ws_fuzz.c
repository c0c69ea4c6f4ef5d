/* tests/fuzz/peer_ws_fuzz.c: the client side of signaling/peer_ws.h (urtc-peer, examples) on
 * untrusted server bytes. The first byte picks: even, a stream of WebSocket frames read with
 * peer_ws_recv() until it ends (messages, pings answered, close, framing errors); odd, an
 * HTTP response head (peer_http_read_head, peer_http_header). The bytes come through a
 * socketpair, as from a server. */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "signaling/peer_ws.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 60000)
        return 0;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return 0;
    int big = 1 << 20;
    setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    /* Writes that would block (our pongs to a reader that never reads) fail instead. */
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    if (write(sv[1], data + 1, size - 1) != (ssize_t)(size - 1)) {
        close(sv[0]);
        close(sv[1]);
        return 0;
    }
    shutdown(sv[1], SHUT_WR);
    if (data[0] & 1) {
        char head[4096], v[256];
        size_t hl, got;
        if (peer_http_read_head(sv[0], head, sizeof head, &hl, &got, 0) == 0) {
            (void)peer_http_header(head, "Location", v, sizeof v);
            (void)peer_http_header(head, "Sec-WebSocket-Accept", v, sizeof v);
            (void)peer_http_header(head, "Content-Length", v, sizeof v);
        }
        close(sv[0]);
        close(sv[1]);
        return 0;
    }
    peer_ws_t ws;
    memset(&ws, 0, sizeof ws);
    pthread_mutex_init(&ws.wmu, NULL);
    ws.fd = sv[0];
    ws.cap = 64;
    ws.buf = malloc(ws.cap);
    for (int i = 0; i < 100000; i++) {
        char *msg = NULL;
        int ret = peer_ws_recv(&ws, &msg, 0);
        if (ret == 1) {
            free(msg);
            continue;
        }
        break; /* 0: no more bytes for now; < 0: closed or a framing error */
    }
    peer_ws_close(&ws);
    close(sv[1]);
    return 0;
}
