/* tests/signaling/msg_test.c: parsing client messages and building server ones (jansson). */
#include "signaling/sig_priv.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

static int parse(const char *s, sig_msg_t *m)
{
    return sig_msg_parse(s, strlen(s), m);
}

Test(signaling_msg, join_with_all_fields)
{
    sig_msg_t m;
    cr_assert_eq(parse("{\"type\":\"join\",\"room\":\"r-1.x_\",\"name\":\"Al \xc3\xa9\","
                       "\"token\":\"v1.abc.def\",\"mode\":\"p2p\"}",
                       &m),
                 0);
    cr_expect_eq(m.type, SIG_MSG_JOIN);
    cr_expect_str_eq(m.room, "r-1.x_");
    cr_expect_str_eq(m.name, "Al \xc3\xa9");
    cr_expect_str_eq(m.token, "v1.abc.def");
    cr_expect(m.has_mode && m.mode == SIG_MODE_P2P);
    sig_msg_fini(&m);
    cr_assert_eq(parse("{\"type\":\"join\",\"room\":\"r\",\"name\":\"n\"}", &m), 0);
    cr_expect(!m.has_mode && m.token[0] == 0);
    sig_msg_fini(&m);
}

Test(signaling_msg, bad_messages_get_codes)
{
    static const struct {
        const char *text, *code;
    } cases[] = {
        {"", "bad-json"},
        {"{", "bad-json"},
        {"\"join\"", "bad-json"},
        {"[]", "bad-json"},
        {"{\"type\":\"join\",\"type\":\"leave\"}", "bad-json"},
        {"{}", "bad-message"},
        {"{\"type\":7}", "bad-message"},
        {"{\"type\":\"hug\"}", "unknown-type"},
        {"{\"type\":\"join\",\"name\":\"n\"}", "bad-message"},
        {"{\"type\":\"join\",\"room\":\"a/b\",\"name\":\"n\"}", "bad-message"},
        {"{\"type\":\"join\",\"room\":\"r\",\"name\":\"a\\nb\"}", "bad-message"},
        {"{\"type\":\"join\",\"room\":\"r\",\"name\":\"n\",\"mode\":\"x\"}", "bad-message"},
        {"{\"type\":\"join\",\"room\":\"r\",\"name\":\"n\",\"token\":5}", "bad-message"},
        {"{\"type\":\"offer\",\"sdp\":\"v=0\"}", "bad-message"},
        {"{\"type\":\"offer\",\"to\":-1,\"sdp\":\"v=0\"}", "bad-message"},
        {"{\"type\":\"offer\",\"to\":1.5,\"sdp\":\"v=0\"}", "bad-message"},
        {"{\"type\":\"offer\",\"to\":4294967296,\"sdp\":\"v=0\"}", "bad-message"},
        {"{\"type\":\"answer\",\"to\":1}", "bad-message"},
        {"{\"type\":\"candidate\",\"to\":1,\"candidate\":\"x\"}", "bad-message"},
        {"{\"type\":\"candidate\",\"to\":1,\"candidate\":{\"candidate\":3}}", "bad-message"},
        {"{\"type\":\"chat\"}", "bad-message"},
    };
    for (size_t i = 0; i < NET_ARRAY_LEN(cases); i++) {
        sig_msg_t m;
        cr_expect_eq(parse(cases[i].text, &m), -EBADMSG, "case %zu", i);
        cr_expect_str_eq(m.err_code, cases[i].code, "case %zu: %s", i, cases[i].text);
        cr_expect_not_null(m.err_reason);
        sig_msg_fini(&m);
    }
    char name65[128];
    snprintf(name65, sizeof name65, "{\"type\":\"join\",\"room\":\"r\",\"name\":\"%065d\"}", 0);
    sig_msg_t m;
    cr_expect_eq(parse(name65, &m), -EBADMSG, "a 65-byte name is too long");
    sig_msg_fini(&m);
}

Test(signaling_msg, relay_rewrites_to_into_from_and_drops_other_fields)
{
    sig_msg_t m;
    cr_assert_eq(parse("{\"type\":\"offer\",\"to\":7,\"sdp\":\"v=0\\r\\n\",\"evil\":1}", &m), 0);
    cr_expect(m.has_to && m.to == 7);
    char *s = sig_msg_relay(&m, 3, "al");
    cr_expect_str_eq(s, "{\"type\":\"offer\",\"from\":3,\"sdp\":\"v=0\\r\\n\"}");
    free(s);
    sig_msg_fini(&m);
    cr_assert_eq(parse("{\"type\":\"candidate\",\"to\":7,\"candidate\":{\"candidate\":\"c\","
                       "\"sdpMid\":\"0\"}}",
                       &m),
                 0);
    s = sig_msg_relay(&m, 3, "al");
    cr_expect_str_eq(s, "{\"type\":\"candidate\",\"from\":3,\"candidate\":{\"candidate\":\"c\","
                        "\"sdpMid\":\"0\"}}");
    free(s);
    sig_msg_fini(&m);
    cr_assert_eq(parse("{\"type\":\"candidate\",\"to\":7}", &m), 0);
    s = sig_msg_relay(&m, 3, "al");
    cr_expect_str_eq(s, "{\"type\":\"candidate\",\"from\":3,\"candidate\":null}");
    free(s);
    sig_msg_fini(&m);
    cr_assert_eq(parse("{\"type\":\"chat\",\"text\":\"hi\"}", &m), 0);
    cr_expect(!m.has_to);
    s = sig_msg_relay(&m, 3, "al");
    cr_expect_str_eq(s, "{\"type\":\"chat\",\"from\":3,\"name\":\"al\",\"text\":\"hi\"}");
    free(s);
    sig_msg_fini(&m);
}

Test(signaling_msg, server_messages)
{
    sig_member_info_t mem[] = {{4, "bob"}, {9, "carol \"c\""}};
    char *s = sig_msg_welcome(12, "room", SIG_MODE_P2P, mem, 2);
    cr_expect_str_eq(s, "{\"type\":\"welcome\",\"id\":12,\"room\":\"room\",\"mode\":\"p2p\","
                        "\"members\":[{\"id\":4,\"name\":\"bob\"},{\"id\":9,\"name\":"
                        "\"carol \\\"c\\\"\"}]}");
    free(s);
    s = sig_msg_peer_joined(4, "bob");
    cr_expect_str_eq(s, "{\"type\":\"peer-joined\",\"id\":4,\"name\":\"bob\"}");
    free(s);
    s = sig_msg_peer_left(4);
    cr_expect_str_eq(s, "{\"type\":\"peer-left\",\"id\":4}");
    free(s);
    s = sig_msg_error("room-full", "full", "join");
    cr_expect_str_eq(s, "{\"type\":\"error\",\"code\":\"room-full\",\"reason\":\"full\","
                        "\"about\":\"join\"}");
    free(s);
}
