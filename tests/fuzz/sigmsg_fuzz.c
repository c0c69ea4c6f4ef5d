/* tests/fuzz/sigmsg_fuzz.c: signaling JSON messages (docs/signaling.md) on arbitrary bytes: the
 * parser, the relay builder for messages that parse, and the room-token check on the same
 * bytes. Properties: an error always has a code and a reason; what parses relays to valid
 * JSON of the same type; a token check never succeeds on bytes we did not sign. */
#include "signaling/sig_priv.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sig_msg_t m;
    int ret = sig_msg_parse((const char *)data, size, &m);
    if (ret < 0) {
        check(ret == -EBADMSG && m.err_code && m.err_reason);
    } else {
        check(m.type >= SIG_MSG_JOIN && m.type <= SIG_MSG_PING);
        check(strlen(m.room) <= SIG_ROOM_MAX_LEN && strlen(m.name) <= SIG_NAME_MAX_LEN);
        if (m.type == SIG_MSG_JOIN)
            check(sig_room_name_ok(m.room, strlen(m.room)) && m.name[0]);
        char *relay = sig_msg_relay(&m, 42, "fuzz");
        bool relayed = m.type == SIG_MSG_OFFER || m.type == SIG_MSG_ANSWER ||
                       m.type == SIG_MSG_CANDIDATE || m.type == SIG_MSG_CHAT;
        check(relayed == (relay != NULL));
        if (relay) {
            sig_msg_t back;
            /* The relay is valid JSON; as a client message it lacks "to", except chat. */
            int r2 = sig_msg_parse(relay, strlen(relay), &back);
            check(r2 == 0 ? back.type == SIG_MSG_CHAT : strcmp(back.err_code, "bad-json") != 0);
            sig_msg_fini(&back);
            free(relay);
        }
    }
    sig_msg_fini(&m);
    /* Nothing but a token we made passes the check. */
    check(sig_token_check("fuzz-secret", "room", (const char *)data, size, 0) != 0);
    return 0;
}
