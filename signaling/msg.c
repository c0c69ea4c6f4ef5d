/* signaling/msg.c: the JSON messages of the signaling protocol (docs/signaling.md). The one file
 * of signaling/ that includes jansson.h; no jansson type leaves it.
 *
 * Every field is checked for type and size before use; a message that fails gets an error code
 * and reason for the `error` reply, and the connection stays up.
 */
#include "signaling/sig_priv.h"

#include <jansson.h>
#include <stdlib.h>

const char *sig_mode_name(enum sig_mode mode)
{
    return mode == SIG_MODE_P2P ? "p2p" : "sfu";
}

static int bad(sig_msg_t *m, const char *code, const char *reason)
{
    m->err_code = code;
    m->err_reason = reason;
    return -EBADMSG;
}

/* Copies string member @key of @o into @out (cap includes the NUL). 0, -ENOENT if absent (and
 * !required is fine), -EBADMSG wrong type, too long, empty or with control characters. */
static int get_str(json_t *o, const char *key, char *out, size_t cap, bool required)
{
    json_t *v = json_object_get(o, key);
    if (!v)
        return required ? -EBADMSG : -ENOENT;
    if (!json_is_string(v))
        return -EBADMSG;
    size_t n = json_string_length(v);
    const char *s = json_string_value(v);
    if (n == 0 || n >= cap)
        return -EBADMSG;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return -EBADMSG;
    memcpy(out, s, n + 1);
    return 0;
}

static int get_id(json_t *o, const char *key, uint32_t *out)
{
    json_t *v = json_object_get(o, key);
    if (!v)
        return -ENOENT;
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > UINT32_MAX)
        return -EBADMSG;
    *out = (uint32_t)json_integer_value(v);
    return 0;
}

/* "to" of offer/answer/candidate: a member id, or 0, the server's end in an sfu room
 * (docs/sfu.md). */
static int get_to(json_t *o, uint32_t *out)
{
    json_t *v = json_object_get(o, "to");
    if (json_is_integer(v) && json_integer_value(v) == 0) {
        *out = 0;
        return 0;
    }
    return get_id(o, "to", out);
}

static const struct {
    const char *name;
    sig_msg_type_t type;
} msg_types[] = {
    {"join", SIG_MSG_JOIN},     {"leave", SIG_MSG_LEAVE},         {"offer", SIG_MSG_OFFER},
    {"answer", SIG_MSG_ANSWER}, {"candidate", SIG_MSG_CANDIDATE}, {"chat", SIG_MSG_CHAT},
    {"ping", SIG_MSG_PING},
};

int sig_msg_parse(const char *text, size_t len, sig_msg_t *m)
{
    memset(m, 0, sizeof *m);
    json_error_t jerr;
    /* Duplicate keys are refused: two "to" fields must not mean two different things. */
    json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!o)
        return bad(m, "bad-json", "not valid JSON");
    m->_json = o;
    if (!json_is_object(o))
        return bad(m, "bad-json", "a message is a JSON object");
    json_t *t = json_object_get(o, "type");
    if (!json_is_string(t))
        return bad(m, "bad-message", "\"type\" is missing or not a string");
    const char *ts = json_string_value(t);
    for (size_t i = 0; i < NET_ARRAY_LEN(msg_types) && !m->type; i++)
        if (strcmp(ts, msg_types[i].name) == 0)
            m->type = msg_types[i].type;
    if (!m->type)
        return bad(m, "unknown-type", "unknown message type");

    int ret;
    switch (m->type) {
    case SIG_MSG_JOIN:
        if (get_str(o, "room", m->room, sizeof m->room, true) < 0 ||
            !sig_room_name_ok(m->room, strlen(m->room)))
            return bad(m, "bad-message", "\"room\" must be 1-64 of A-Z a-z 0-9 _ . -");
        if (get_str(o, "name", m->name, sizeof m->name, true) < 0)
            return bad(m, "bad-message", "\"name\" must be a string of 1-64 bytes");
        if ((ret = get_str(o, "token", m->token, sizeof m->token, false)) < 0 && ret != -ENOENT)
            return bad(m, "bad-message", "\"token\" must be a string of at most 256 bytes");
        char mode[8];
        if ((ret = get_str(o, "mode", mode, sizeof mode, false)) == 0) {
            m->has_mode = true;
            if (strcmp(mode, "p2p") == 0)
                m->mode = SIG_MODE_P2P;
            else if (strcmp(mode, "sfu") == 0)
                m->mode = SIG_MODE_SFU;
            else
                ret = -EBADMSG;
        }
        if (ret < 0 && ret != -ENOENT)
            return bad(m, "bad-message", "\"mode\" must be \"p2p\" or \"sfu\"");
        break;
    case SIG_MSG_OFFER:
    case SIG_MSG_ANSWER: {
        if (get_to(o, &m->to) < 0)
            return bad(m, "bad-message", "\"to\" must be a member id");
        m->has_to = true;
        json_t *sdp = json_object_get(o, "sdp");
        if (!json_is_string(sdp) || json_string_length(sdp) == 0)
            return bad(m, "bad-message", "\"sdp\" must be a non-empty string");
        break;
    }
    case SIG_MSG_CANDIDATE: {
        if (get_to(o, &m->to) < 0)
            return bad(m, "bad-message", "\"to\" must be a member id");
        m->has_to = true;
        /* An RTCIceCandidateInit object, or null (or absent) for end-of-candidates. */
        json_t *c = json_object_get(o, "candidate");
        if (c && !json_is_object(c) && !json_is_null(c))
            return bad(m, "bad-message", "\"candidate\" must be an object or null");
        if (json_is_object(c)) {
            json_t *cs = json_object_get(c, "candidate");
            if (!json_is_string(cs) || json_string_length(cs) > 1024)
                return bad(m, "bad-message", "\"candidate.candidate\" must be a string");
        }
        break;
    }
    case SIG_MSG_CHAT: {
        if ((ret = get_id(o, "to", &m->to)) < 0 && ret != -ENOENT)
            return bad(m, "bad-message", "\"to\" must be a member id");
        m->has_to = ret == 0;
        json_t *txt = json_object_get(o, "text");
        if (!json_is_string(txt) || json_string_length(txt) > SIG_CHAT_MAX_LEN)
            return bad(m, "bad-message", "\"text\" must be a string of at most 4096 bytes");
        break;
    }
    case SIG_MSG_LEAVE:
    case SIG_MSG_PING:
        break;
    }
    return 0;
}

void sig_msg_fini(sig_msg_t *m)
{
    json_decref(m->_json);
    m->_json = NULL;
}

/* Compact text of @o (consumed), or NULL. */
static char *dump(json_t *o)
{
    if (!o)
        return NULL;
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

char *sig_msg_relay(const sig_msg_t *m, uint32_t from, const char *from_name)
{
    json_t *src = m->_json, *o = NULL;
    switch (m->type) {
    case SIG_MSG_OFFER:
    case SIG_MSG_ANSWER:
        o = json_pack("{s:s, s:I, s:O}", "type", m->type == SIG_MSG_OFFER ? "offer" : "answer",
                      "from", (json_int_t)from, "sdp", json_object_get(src, "sdp"));
        break;
    case SIG_MSG_CANDIDATE: {
        json_t *c = json_object_get(src, "candidate");
        o = json_pack("{s:s, s:I, s:O}", "type", "candidate", "from", (json_int_t)from, "candidate",
                      c ? c : json_null());
        break;
    }
    case SIG_MSG_CHAT:
        o = json_pack("{s:s, s:I, s:s, s:O}", "type", "chat", "from", (json_int_t)from, "name",
                      from_name, "text", json_object_get(src, "text"));
        break;
    default:
        break;
    }
    return dump(o);
}

char *sig_msg_welcome(uint32_t id, const char *room, enum sig_mode mode,
                      const sig_member_info_t *members, size_t cnt)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < cnt; i++)
        if (json_array_append_new(arr, json_pack("{s:I, s:s}", "id", (json_int_t)members[i].id,
                                                 "name", members[i].name)) < 0) {
            json_decref(arr);
            return NULL;
        }
    if (!arr)
        return NULL;
    return dump(json_pack("{s:s, s:I, s:s, s:s, s:o}", "type", "welcome", "id", (json_int_t)id,
                          "room", room, "mode", sig_mode_name(mode), "members", arr));
}

char *sig_msg_peer_joined(uint32_t id, const char *name)
{
    return dump(
        json_pack("{s:s, s:I, s:s}", "type", "peer-joined", "id", (json_int_t)id, "name", name));
}

char *sig_msg_peer_left(uint32_t id)
{
    return dump(json_pack("{s:s, s:I}", "type", "peer-left", "id", (json_int_t)id));
}

char *sig_msg_error(const char *code, const char *reason, const char *about)
{
    if (about)
        return dump(json_pack("{s:s, s:s, s:s, s:s}", "type", "error", "code", code, "reason",
                              reason, "about", about));
    return dump(json_pack("{s:s, s:s, s:s}", "type", "error", "code", code, "reason", reason));
}

char *sig_msg_pong(void)
{
    return dump(json_pack("{s:s}", "type", "pong"));
}
