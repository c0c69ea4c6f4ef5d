/* signaling/peer_main.c: urtc-peer, a command-line WebRTC peer on the public API.
 *
 * It joins a room of urtc-server (the JSON-over-WebSocket protocol of docs/signaling.md): in a
 * p2p room a full mesh (the later joiner offers), in an sfu room one connection to the server
 * (member 0) that carries every other member's tracks; or it publishes through WHIP (RFC 9725)
 * or views through WHEP. It sends a 440 Hz tone (Opus) and the moving test pattern (VP8),
 * receives, decodes and checks what arrives, per source member (the pattern carries its frame
 * number: decoded frames, their order, frames missing), measures RTP loss and interarrival
 * jitter (RFC 3550 A.3, A.8), and prints a report after --duration seconds (--json: one JSON
 * object on the last line).
 *
 * Threads: the main thread parses options, paces the media (a tick every 20 ms) and waits for
 * SIGINT/SIGTERM; a signaling thread reads the WebSocket; the engine's one shard runs every
 * urtc_pc_* call (jobs posted with urtc_engine_post). Posting is single-producer, so both
 * posting threads take post_mu. Shard callbacks send signaling messages themselves (the
 * WebSocket's send side has its own lock). Counters live in `st` under `mu`. */
#include <errno.h>
#include <getopt.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "signaling/peer_ws.h"
#include "urtc/urtc.h"

#define MAX_REMOTES 16
#define MAX_TRACKS 40  /* transceivers followed per connection: an sfu room of 16 needs 32 */
#define MAX_SOURCES 32 /* members whose media the report counts apart */
#define MAX_EVENTS 32  /* offers and peer-left times kept for the report */
#define SDP_CAP 65536  /* an sfu room's offer grows with its members (~1 KiB a track) */

/* ---- Options ------------------------------------------------------------------------------ */

static struct opts {
    const char *signal, *room, *name, *token, *whip, *whep, *media_ip, *send_file;
    const char *mode; /* --mode: "p2p" or "sfu"; NULL: the room's (welcome says) */
    const char *stun, *turn, *turn_user, *turn_pass;
    bool relay_only;
    unsigned duration_s;
    unsigned chat_until_s; /* --chat-until: 0, the whole run */
    bool json, quiet, no_audio, no_video, no_dc;
    int width, height, fps;
} o = {.duration_s = 10, .width = 320, .height = 180, .fps = 25};

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: urtc-peer --signal ws://HOST:PORT/ws --room ROOM [--name NAME] [options]\n"
        "       urtc-peer --whip http://HOST:PORT/whip/ROOM [options]\n"
        "       urtc-peer --whep http://HOST:PORT/whep/ROOM [options]\n"
        "\n"
        "A WebRTC peer on liburtc's public API. It sends a 440 Hz tone (Opus, 20 ms frames)\n"
        "and a moving test pattern (VP8) that carries its frame number, and it receives,\n"
        "decodes and checks what the other side sends, for --duration seconds.\n"
        "\n"
        "Modes (exactly one):\n"
        "  --signal URL     join --room on urtc-server through its WebSocket protocol\n"
        "                   (docs/signaling.md), in the room's mode (see --mode):\n"
        "                   p2p: one peer connection per other member; members already in\n"
        "                   the room get our offer, later ones offer to us;\n"
        "                   sfu: one peer connection to the server (member 0) that carries\n"
        "                   every other member's tracks (stream id m<member id>); we offer\n"
        "                   our tracks first and answer the server's offers (renegotiation\n"
        "                   as members come and go); candidates trickle with \"to\": 0\n"
        "  --whip URL       publish: POST our offer (application/sdp), expect 201 with a\n"
        "                   Location and the answer (RFC 9725); DELETE Location at the end\n"
        "  --whep URL       view: the same exchange with a receive-only offer\n"
        "\n"
        "Options:\n"
        "  --room ROOM      room to join (--signal)\n"
        "  --mode p2p|sfu   join with this \"mode\" (default: none, so the room's mode, or\n"
        "                   the server's --mode for a new room; welcome says which)\n"
        "  --name NAME      display name in the room (default urtc-peer-PID)\n"
        "  --token T        room token (join \"token\", or Authorization: Bearer for WHIP/WHEP)\n"
        "  --duration S     seconds to run (default 10; SIGINT/SIGTERM end it sooner)\n"
        "  --media-ip IP    address of our host candidate (default 127.0.0.1)\n"
        "  --stun HOST:PORT a STUN server: a server-reflexive candidate too\n"
        "  --turn HOST:PORT a TURN server (UDP, RFC 8656): a relayed candidate too;\n"
        "                   --turn-user U --turn-pass P are its long-term credentials\n"
        "  --relay-only     offer only the relayed candidate (W3C iceTransportPolicy relay)\n"
        "  --no-audio       send no audio (still receives)\n"
        "  --no-video       send no video (still receives)\n"
        "  --no-datachannel no data channel (default: a negotiated channel \"chat\", id 0,\n"
        "                   as the demo page opens; a text message goes out every second)\n"
        "  --chat-until S   the chat message only in the first S seconds (default: the whole\n"
        "                   run). A run ends with an SCTP ABORT, so a message still being\n"
        "                   retransmitted then is lost; a quiet tail lets every one arrive\n"
        "  --send-file F    send file F over the data channel (binary messages of 16 KiB,\n"
        "                   then a text message \"urtc-peer:file LEN SHA256\" the receiver\n"
        "                   checks: datachannel_file_ok)\n"
        "  --size WxH       test pattern size (default 320x180)\n"
        "  --fps N          test pattern frame rate (default 25)\n"
        "  --json           print the final summary as one JSON object on the last line\n"
        "  --quiet          no per-second status lines on stderr\n"
        "  --help           this text\n"
        "\n"
        "Media repair: lost video packets are NACKed and come back as RTX (RFC 4585, RFC 4588,\n"
        "when negotiated); a decoder that still lost its reference asks for a keyframe (PLI,\n"
        "at most every 300 ms while it waits), and a keyframe request from the peer makes the\n"
        "next frame one (at most one every 500 ms). No keyframe is sent on a timer (one goes to\n"
        "each new connection).\n"
        "\n"
        "Report (and --json fields): video_frames_decoded, video_frames_missing (gaps in the\n"
        "pattern's frame numbers), video_frames_out_of_order, video_pattern_unreadable,\n"
        "audio_packets_received, audio_frames_decoded, audio_tone_db (how well the decoded\n"
        "audio matches the 440 Hz tone), video_packets_received, packets_lost (after repair)\n"
        "and jitter_ms (RFC 3550 A.3 and A.8, summed and the largest over received streams),\n"
        "rtt_ms (the median round trip of a ping sent over the data channel every second; null\n"
        "without a data channel), rtcp_rtt_ms (the mean round trip from the peer's RTCP report\n"
        "blocks, RFC 3550 §6.4.1; the largest over the connections; null before one), nacks_sent, "
        "nacks_received, rtx_sent, rtx_received,\n"
        "keyframe_requests_sent, keyframe_requests_received, datachannel_messages_received,\n"
        "chat_sent (the chat messages \"hello N from NAME\", N the second of our run:\n"
        "messages, first and last N; each connection's copy counts), chat_received (per\n"
        "sender NAME: from, messages, first, last, missing: Ns skipped between first and last,\n"
        "out_of_order: an N below the last one, duplicates: the last N again),\n"
        "datachannel_bytes_received, datachannel_file_ok (null: no file came), peers,\n"
        "connected, connect_ms, audio_frames_sent, video_frames_sent,\n"
        "datachannel_messages_sent, mode (p2p, sfu, whip, whep), sources (per source member:\n"
        "id, video_frames_decoded, video_frames_missing, video_frames_out_of_order,\n"
        "video_packets_received, audio_packets_received, audio_frames_decoded, first_ms and\n"
        "last_ms: when its first and last media arrived, ms after the start; in p2p the member\n"
        "we connect to, in sfu the member of the track's stream id, in WHEP 0),\n"
        "offers_received (offers answered), offers_ms and peers_left_ms (when offers and\n"
        "peer-left messages came).\n"
        "\n"
        "Exit status: 0 after the run, 1 when signaling or the offer/answer failed, 2 on a\n"
        "usage error. Logging: URTC_LOG=error|warn|info|debug|trace. Debugging only:\n"
        "URTC_KEYLOG=FILE appends the DTLS secrets to FILE for Wireshark (docs/dtls-srtp.md).\n");
}

/* ---- State -------------------------------------------------------------------------------- */

struct track_rx { /* one transceiver we receive on (shard thread) */
    bool used, audio;
    uint64_t src; /* the member it carries: p2p the remote, sfu its stream id m<id> */
    urtc_decoder_t *dec;
    int last_pattern;
    uint64_t pli_ns; /* when we last asked for a keyframe */
};

struct remote {
    /* the signaling thread's (before the first job for it is posted) */
    bool used;
    uint32_t id; /* member id; 0 for WHIP/WHEP and the sfu server */
    bool offerer;
    /* the shard's */
    urtc_pc_t *pc;
    bool closed, was_connected;
    bool local_offer; /* our offer awaits its answer (have-local-offer) */
    int atr, vtr;
    bool send;
    struct track_rx trk[MAX_TRACKS]; /* by transceiver index */
    struct {
        char mid[16];
        uint64_t src;
    } msid[MAX_TRACKS]; /* sfu: the member each section of the last offer carries, by mid */
    unsigned msid_n;
    bool stats_taken; /* its get_stats numbers are in the summary */
    uint64_t t_start_ns;
    int dc; /* the negotiated "chat" channel, -1 if none */
    bool dc_open;
    size_t file_off; /* --send-file: bytes sent so far */
    bool file_done;
    EVP_MD_CTX *file_md; /* the received file's SHA-256 */
    char sdp[SDP_CAP];   /* WHIP/WHEP: our offer, then the answer */
};

static struct remote remotes[MAX_REMOTES];

#define MAX_CHAT_FROM 16
struct chat_rx { /* the chat messages from one sender name (under mu) */
    char from[64];
    uint64_t msgs, first, last, missing, ooo, dups;
};

struct src_stats { /* what one source member sent us (under mu) */
    uint64_t id;   /* WHIP publishers in sfu rooms: 2^40 + n */
    uint64_t video_decoded, video_missing, video_ooo, video_pkts, audio_pkts, audio_decoded;
    uint64_t first_ns, last_ns; /* monotonic; 0: nothing yet */
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static struct stats {
    unsigned peers, connected, failed;
    double connect_ms; /* first connection: from offer/answer start to connected */
    uint64_t video_decoded, video_missing, video_ooo, video_unreadable, video_waiting_key;
    int video_w, video_h;
    uint64_t audio_pkts, audio_decoded, video_pkts;
    double tone_db_sum;
    uint64_t audio_sent, video_sent;
    uint64_t dc_msgs, dc_bytes, dc_sent;
    uint64_t chat_sent, chat_first, chat_last; /* "hello N from NAME" sent: count, Ns */
    struct chat_rx chat[MAX_CHAT_FROM];
    unsigned chat_n;
    int file_ok;          /* -1 none came, 0 bad, 1 good */
    uint64_t rtt_ns[256]; /* data-channel ping round trips (the latest 256) */
    unsigned rtt_n;
    int64_t lost;
    double jitter_ms;
    /* from urtc_pc_get_stats() at the end: keyframe requests (PLI), NACKs, RTX, RTCP RTT */
    uint64_t pli_sent, pli_rcvd, nack_sent, nack_rcvd, rtx_sent, rtx_rcvd;
    double rtcp_rtt_ms;
    bool report_done;
    int offer_err; /* WHIP/WHEP: < 0 if the offer could not be made */
    bool offer_ready;
    struct src_stats src[MAX_SOURCES];
    unsigned src_n;
    uint64_t offer_ns[MAX_EVENTS], left_ns[MAX_EVENTS]; /* offers answered, peer-left seen */
    unsigned offer_n, left_n;
} st = {.connect_ms = -1, .file_ok = -1, .rtcp_rtt_ms = -1};

static uint8_t *file_data; /* --send-file, read whole at start */
static size_t file_len;
static char file_sha[65];

static urtc_engine_t *eng;
static pthread_mutex_t post_mu = PTHREAD_MUTEX_INITIALIZER;
static peer_ws_t ws;
static atomic_bool ws_stop, ws_failed;
static atomic_uint my_id;
static atomic_bool sfu_mode;          /* the room is an sfu room (welcome said so) */
static uint64_t t0_ns;                /* the start: report times are relative to it */
static uint32_t members[MAX_SOURCES]; /* the other members of the room (under mu) */
static unsigned members_n;

static urtc_test_source_t *asrc, *vsrc; /* the shard's */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- Jobs: everything that touches a peer connection runs on the shard -------------------- */

enum job_kind { JOB_OFFER, JOB_ANSWER_OFFER, JOB_SET_ANSWER, JOB_CANDIDATE, JOB_CLOSE, JOB_TICK };

struct job {
    enum job_kind kind;
    struct remote *r;
    char *text; /* SDP or candidate; NULL candidate: end-of-candidates */
};

static void job_run(urtc_shard_t *sh, void *arg);

/* Posts a job to the shard (from the main or the signaling thread). */
static void post_job(enum job_kind kind, struct remote *r, const char *text)
{
    struct job *j = calloc(1, sizeof *j);
    if (!j)
        return;
    j->kind = kind;
    j->r = r;
    j->text = text ? strdup(text) : NULL;
    pthread_mutex_lock(&post_mu);
    int ret;
    for (int i = 0; (ret = urtc_engine_post(eng, 0, job_run, j)) == -EAGAIN && i < 1000; i++)
        usleep(1000);
    pthread_mutex_unlock(&post_mu);
    if (ret < 0) {
        fprintf(stderr, "urtc-peer: cannot post to the engine: %s\n", strerror(-ret));
        free(j->text);
        free(j);
    }
}

static void sig_send(json_t *m)
{
    char *s = json_dumps(m, JSON_COMPACT);
    json_decref(m);
    if (!s)
        return;
    if (peer_ws_send_text(&ws, s) < 0)
        atomic_store(&ws_failed, true);
    free(s);
}

/* ---- Callbacks (shard thread) ------------------------------------------------------------- */

static void on_ice_candidate(urtc_pc_t *pc, const char *cand, const char *mid, void *user)
{
    (void)pc;
    struct remote *r = user;
    if (!o.signal)
        return; /* WHIP/WHEP: the offer already holds the host candidate; no trickle */
    json_t *c = cand ? json_pack("{s:s, s:s, s:i}", "candidate", cand, "sdpMid", mid ? mid : "0",
                                 "sdpMLineIndex", 0)
                     : json_null();
    sig_send(
        json_pack("{s:s, s:I, s:o}", "type", "candidate", "to", (json_int_t)r->id, "candidate", c));
}

static void on_state(urtc_pc_t *pc, urtc_pc_state_t s, void *user)
{
    (void)pc;
    struct remote *r = user;
    if (!o.quiet)
        fprintf(stderr, "urtc-peer: peer %u: %s\n", r->id, urtc_pc_state_name(s));
    pthread_mutex_lock(&mu);
    if (s == URTC_PC_CONNECTED && !r->was_connected) {
        r->was_connected = true;
        st.connected++;
        if (st.connect_ms < 0)
            st.connect_ms = (double)(now_ns() - r->t_start_ns) / 1e6;
    } else if (s == URTC_PC_FAILED) {
        st.failed++;
    }
    pthread_mutex_unlock(&mu);
    /* A new receiver needs a keyframe (RFC 5104 §3.5.1 leaves it to the sender to know); the
     * receiver would ask with a PLI otherwise, a round trip later. */
    if (s == URTC_PC_CONNECTED && vsrc)
        urtc_test_source_request_keyframe(vsrc);
}

/* The stats of source member @id, added at first use (NULL when the table is full). Under mu. */
static struct src_stats *src_get(uint64_t id)
{
    for (unsigned i = 0; i < st.src_n; i++)
        if (st.src[i].id == id)
            return &st.src[i];
    if (st.src_n == MAX_SOURCES)
        return NULL;
    st.src[st.src_n] = (struct src_stats){.id = id};
    return &st.src[st.src_n++];
}

/* Transceiver @tr receives @audio or video from member @src. A new source (an sfu transceiver
 * reused for another publisher) starts with a fresh decoder and frame count. */
static void trk_set(struct remote *r, int tr, bool audio, uint64_t src)
{
    if (tr < 0 || tr >= MAX_TRACKS)
        return;
    struct track_rx *t = &r->trk[tr];
    if (t->used && t->audio == audio && t->src == src)
        return;
    urtc_decoder_destroy(t->dec);
    *t = (struct track_rx){.used = true, .audio = audio, .src = src, .last_pattern = -1};
}

/* The receive state of transceiver @tr; NULL past MAX_TRACKS. */
static struct track_rx *trk_of(struct remote *r, int tr)
{
    if (tr < 0 || tr >= MAX_TRACKS)
        return NULL;
    if (!r->trk[tr].used) /* not announced: p2p and WHIP/WHEP have two, ours */
        trk_set(r, tr, tr == r->atr, r->id);
    return &r->trk[tr];
}

/* sfu: which member each m-section of the server's offer carries, from its a=msid (the
 * server's stream ids are m<member id>, docs/signaling.md); 0 for a section without one (an
 * inactive leg, ours, the data channel). */
static void msid_parse(struct remote *r, const char *sdp)
{
    r->msid_n = 0;
    const char *line = sdp;
    while (line && *line) {
        const char *eol = strpbrk(line, "\r\n");
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        if (len > 2 && memcmp(line, "m=", 2) == 0 && r->msid_n < MAX_TRACKS) {
            r->msid[r->msid_n].mid[0] = 0;
            r->msid[r->msid_n++].src = 0;
        } else if (r->msid_n && len > 6 && memcmp(line, "a=mid:", 6) == 0) {
            snprintf(r->msid[r->msid_n - 1].mid, sizeof r->msid[0].mid, "%.*s", (int)(len - 6),
                     line + 6);
        } else if (r->msid_n && len > 8 && memcmp(line, "a=msid:m", 8) == 0) {
            r->msid[r->msid_n - 1].src = strtoull(line + 8, NULL, 10);
        }
        line = eol ? eol + strspn(eol, "\r\n") : NULL;
    }
}

/* W3C ontrack: a transceiver the remote offer created (again for every later offer). */
static void on_track(urtc_pc_t *pc, int tr, urtc_kind_t kind, const char *mid, void *user)
{
    (void)pc;
    struct remote *r = user;
    uint64_t src = r->id;
    if (atomic_load(&sfu_mode)) {
        src = 0;
        for (unsigned i = 0; i < r->msid_n; i++)
            if (mid && strcmp(r->msid[i].mid, mid) == 0)
                src = r->msid[i].src;
    }
    trk_set(r, tr, kind == URTC_KIND_AUDIO, src);
}

/* A receiver asked for a keyframe (RTCP PLI/FIR; the SFU asks when a member joins). At most
 * one every 500 ms: with many receivers after a loss, keyframes on every request would feed
 * the congestion that lost the packets. */
static void on_keyframe_request(urtc_pc_t *pc, int tr, void *user)
{
    (void)pc, (void)tr, (void)user;
    static uint64_t last_ns;
    uint64_t now = now_ns();
    if (vsrc && now - last_ns >= 500000000u) {
        last_ns = now;
        urtc_test_source_request_keyframe(vsrc);
    }
}

static void on_rtp(urtc_pc_t *pc, int tr, const urtc_rtp_packet_t *p, void *user)
{
    (void)pc;
    (void)p;
    struct remote *r = user;
    struct track_rx *t = trk_of(r, tr);
    bool audio = t ? t->audio : tr == r->atr;
    uint64_t now = now_ns();
    pthread_mutex_lock(&mu);
    struct src_stats *ss = src_get(t ? t->src : r->id);
    if (ss) {
        if (!ss->first_ns)
            ss->first_ns = now;
        ss->last_ns = now;
        if (audio)
            ss->audio_pkts++;
        else
            ss->video_pkts++;
    }
    if (audio)
        st.audio_pkts++;
    else
        st.video_pkts++;
    pthread_mutex_unlock(&mu);
}

/* The decoder lost its reference (a frame given up after a loss NACK/RTX could not repair):
 * ask the sender for a keyframe (RTCP PLI, RFC 4585 §6.3.1), at most every 300 ms while it
 * waits: about a round trip, so a lost PLI is repeated but an answer on its way is not. */
#define PLI_MIN_NS (300 * 1000000ull)

static void on_frame(urtc_pc_t *pc, int tr, const urtc_frame_t *f, void *user)
{
    struct remote *r = user;
    struct track_rx *t = trk_of(r, tr);
    if (!t)
        return;
    bool audio = strcmp(f->codec, "opus") == 0;
    if (!t->dec && !(t->dec = urtc_decoder_create(f->codec)))
        return; /* a codec we cannot decode: counted as packets only */
    urtc_decoded_t out;
    int ret = urtc_decoder_decode(t->dec, f, &out);
    uint64_t now = now_ns();
    bool pli = !audio && ret == -EAGAIN && now - t->pli_ns >= PLI_MIN_NS &&
               urtc_pc_request_keyframe(pc, tr) == 0;
    if (pli)
        t->pli_ns = now;
    pthread_mutex_lock(&mu);
    st.pli_sent += pli;
    struct src_stats *ss = ret == 1 ? src_get(t->src) : NULL;
    if (audio && ret == 1) {
        st.audio_decoded++;
        st.tone_db_sum += out.tone_db;
        if (ss)
            ss->audio_decoded++;
    } else if (!audio && ret == 1) {
        st.video_decoded++;
        st.video_w = out.width;
        st.video_h = out.height;
        if (ss)
            ss->video_decoded++;
        if (out.pattern_frame < 0) {
            st.video_unreadable++;
        } else {
            if (t->last_pattern >= 0) {
                /* 16-bit frame numbers (codec_pattern_draw): compare modulo 2^16. */
                int16_t step = (int16_t)(uint16_t)(out.pattern_frame - t->last_pattern);
                uint64_t *cnt = step <= 0 ? &st.video_ooo : &st.video_missing;
                uint64_t n = step <= 0 ? 1 : (uint64_t)(step - 1);
                *cnt += n;
                if (ss)
                    *(step <= 0 ? &ss->video_ooo : &ss->video_missing) += n;
            }
            t->last_pattern = out.pattern_frame;
        }
    } else if (!audio && ret == -EAGAIN) {
        st.video_waiting_key++;
    }
    pthread_mutex_unlock(&mu);
}

static void dc_pump(struct remote *r);

static void on_dc_open(urtc_pc_t *pc, int dc, void *user)
{
    (void)pc;
    struct remote *r = user;
    if (dc != r->dc)
        return;
    r->dc_open = true;
    if (!o.quiet)
        fprintf(stderr, "urtc-peer: peer %u: data channel open\n", r->id);
    dc_pump(r);
}

static void sha_hex(EVP_MD_CTX *md, char out[65])
{
    uint8_t d[32];
    unsigned n = 0;
    EVP_DigestFinal_ex(md, d, &n);
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* A chat message "hello N from NAME" (job_tick's): in sequence per NAME? Under mu. */
static void chat_note(const uint8_t *data, size_t len)
{
    char text[96], from[64];
    unsigned long long n;
    snprintf(text, sizeof text, "%.*s", (int)(len < 95 ? len : 95), (const char *)data);
    if (sscanf(text, "hello %llu from %63[^\n]", &n, from) != 2)
        return;
    struct chat_rx *c = NULL;
    for (unsigned i = 0; i < st.chat_n && !c; i++)
        if (strcmp(st.chat[i].from, from) == 0)
            c = &st.chat[i];
    if (!c) {
        if (st.chat_n == MAX_CHAT_FROM)
            return;
        c = &st.chat[st.chat_n++];
        snprintf(c->from, sizeof c->from, "%s", from);
        c->first = c->last = n;
    } else if (n > c->last) {
        c->missing += n - c->last - 1;
        c->last = n;
    } else if (n == c->last) {
        c->dups++;
    } else {
        c->ooo++;
    }
    c->msgs++;
}

static void on_dc_message(urtc_pc_t *pc, int dc, const uint8_t *data, size_t len, bool binary,
                          void *user)
{
    struct remote *r = user;
    int file_ok = -1;
    if (binary) {
        if (!r->file_md && (r->file_md = EVP_MD_CTX_new()))
            EVP_DigestInit_ex(r->file_md, EVP_sha256(), NULL);
        if (r->file_md)
            EVP_DigestUpdate(r->file_md, data, len);
    } else if (len > 15 && (memcmp(data, "urtc-peer:ping ", 15) == 0 ||
                            memcmp(data, "urtc-peer:pong ", 15) == 0)) {
        /* RTT over the data channel: "ping PID T" comes back as "pong PID T" (or as itself,
         * from an echo); T is the sender's monotonic clock, so only the sender measures. In an
         * sfu room everyone gets every message, so a ping names the one member that answers:
         * "ping PID T MEMBER". */
        char text[96];
        unsigned pid = 0, to = 0;
        unsigned long long t = 0;
        snprintf(text, sizeof text, "%.*s", (int)(len < 95 ? len : 95), (const char *)data);
        int k = sscanf(text + 15, "%u %llu %u", &pid, &t, &to);
        if (k >= 2) {
            if (pid == (unsigned)getpid() && t && t <= now_ns()) {
                pthread_mutex_lock(&mu);
                st.rtt_ns[st.rtt_n++ % 256] = now_ns() - t;
                pthread_mutex_unlock(&mu);
            } else if (text[11] == 'i' && (k == 2 || to == atomic_load(&my_id))) {
                memcpy(text + 10, "pong", 4);
                (void)urtc_dc_send(pc, dc, text, strlen(text), false);
            }
        }
    } else if (len > 15 && memcmp(data, "urtc-peer:file ", 15) == 0) {
        char text[128], want[65] = "", got[65] = "";
        unsigned long long want_len = 0;
        snprintf(text, sizeof text, "%.*s", (int)(len < 127 ? len : 127), (const char *)data);
        int k = sscanf(text, "urtc-peer:file %llu %64s", &want_len, want);
        if (k == 2 && r->file_md) {
            sha_hex(r->file_md, got);
            file_ok = strcmp(got, want) == 0;
        } else {
            file_ok = k >= 1 && want_len == 0 && !r->file_md; /* an empty file */
        }
        EVP_MD_CTX_free(r->file_md);
        r->file_md = NULL;
    }
    pthread_mutex_lock(&mu);
    if (!binary && len > 6 && memcmp(data, "hello ", 6) == 0)
        chat_note(data, len);
    st.dc_msgs++;
    st.dc_bytes += len;
    if (file_ok >= 0 && st.file_ok != 0)
        st.file_ok = file_ok;
    pthread_mutex_unlock(&mu);
}

static void on_dc_buffered_low(urtc_pc_t *pc, int dc, void *user)
{
    (void)pc, (void)dc;
    dc_pump(user);
}

static const urtc_pc_callbacks_t cbs = {
    .on_dc_open = on_dc_open,
    .on_dc_message = on_dc_message,
    .on_dc_buffered_low = on_dc_buffered_low,
    .on_ice_candidate = on_ice_candidate,
    .on_state = on_state,
    .on_rtp = on_rtp,
    .on_frame = on_frame,
    .on_track = on_track,
    .on_keyframe_request = on_keyframe_request,
};

/* ---- Jobs --------------------------------------------------------------------------------- */

/* --send-file: as much of the file as the channel takes, then the check message. */
static void dc_pump(struct remote *r)
{
    if (!file_data || !r->dc_open || r->file_done || r->closed)
        return;
    unsigned sent = 0;
    while (r->file_off < file_len) {
        size_t n = file_len - r->file_off < 16384 ? file_len - r->file_off : 16384;
        int ret = urtc_dc_send(r->pc, r->dc, file_data + r->file_off, n, true);
        if (ret == -ENOBUFS)
            break; /* on_dc_buffered_low calls again */
        if (ret < 0) {
            fprintf(stderr, "urtc-peer: peer %u: file: %s\n", r->id, strerror(-ret));
            r->file_done = true;
            return;
        }
        r->file_off += n;
        sent++;
    }
    if (r->file_off == file_len) {
        char msg[128];
        snprintf(msg, sizeof msg, "urtc-peer:file %zu %s", file_len, file_sha);
        if (urtc_dc_send(r->pc, r->dc, msg, strlen(msg), false) == 0) {
            r->file_done = true;
            sent++;
            if (!o.quiet)
                fprintf(stderr, "urtc-peer: peer %u: file sent (%zu bytes)\n", r->id, file_len);
        }
    }
    pthread_mutex_lock(&mu);
    st.dc_sent += sent;
    pthread_mutex_unlock(&mu);
}

/* The demo page's chat channel: negotiated, id 0, on both sides (no DCEP round trip). */
static void add_dc(struct remote *r)
{
    if (o.no_dc || o.whip || o.whep)
        return;
    urtc_dc_init_t init = {
        .negotiated = true, .id = 0, .max_retransmits = -1, .max_packet_lifetime_ms = -1};
    r->dc = urtc_pc_create_data_channel(r->pc, "chat", &init);
    if (r->dc < 0 && !o.quiet)
        fprintf(stderr, "urtc-peer: peer %u: no data channel: %s\n", r->id,
                urtc_pc_last_error(r->pc));
}

/* Our transceivers. In an sfu room they only send (the server's own sections bring the others'
 * tracks), and only the kinds we have; elsewhere both kinds, to receive too. */
static void add_tracks(struct remote *r)
{
    bool sfu = atomic_load(&sfu_mode);
    urtc_direction_t dir = o.whep ? URTC_RECVONLY : o.whip || sfu ? URTC_SENDONLY : URTC_SENDRECV;
    if (!sfu || asrc)
        r->atr = urtc_pc_add_transceiver(r->pc, URTC_KIND_AUDIO, dir, "urtc-peer", "tone");
    if (!sfu || vsrc)
        r->vtr = urtc_pc_add_transceiver(r->pc, URTC_KIND_VIDEO, dir, "urtc-peer", "pattern");
    trk_set(r, r->atr, true, r->id);
    trk_set(r, r->vtr, false, r->id);
    r->send = !o.whep;
}

static void remote_failed(struct remote *r, const char *what, int err)
{
    fprintf(stderr, "urtc-peer: peer %u: %s: %s (%s)\n", r->id, what, strerror(-err),
            r->pc ? urtc_pc_last_error(r->pc) : "");
    pthread_mutex_lock(&mu);
    st.offer_err = err;
    st.offer_ready = true;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static bool remote_create(urtc_shard_t *sh, struct remote *r)
{
    /* A client: a socket of its own (urtc_pc_config_t.own_socket), as the API advises. */
    urtc_pc_config_t cfg = {.cname = o.name, .own_socket = true, .relay_only = o.relay_only};
    r->atr = r->vtr = -1;
    r->dc = -1;
    r->t_start_ns = now_ns();
    if (!(r->pc = urtc_pc_create(sh, &cfg, &cbs, r))) {
        remote_failed(r, "create", -ENOMEM);
        return false;
    }
    pthread_mutex_lock(&mu);
    st.peers++;
    pthread_mutex_unlock(&mu);
    return true;
}

static void job_offer(urtc_shard_t *sh, struct remote *r)
{
    /* sfu with nothing to send: no offer of ours; the server's first one creates the pc. */
    if (atomic_load(&sfu_mode) && !asrc && !vsrc && (o.no_dc || o.whip || o.whep))
        return;
    if (!remote_create(sh, r))
        return;
    add_tracks(r);
    add_dc(r);
    int n = urtc_pc_create_offer(r->pc, r->sdp, sizeof r->sdp);
    if (n > 0)
        n = urtc_pc_set_local_description(r->pc, URTC_SDP_OFFER, r->sdp);
    if (n < 0) {
        remote_failed(r, "offer", n);
        return;
    }
    r->local_offer = true;
    if (o.signal) {
        sig_send(
            json_pack("{s:s, s:I, s:s}", "type", "offer", "to", (json_int_t)r->id, "sdp", r->sdp));
        return;
    }
    pthread_mutex_lock(&mu); /* WHIP/WHEP: the main thread POSTs it */
    st.offer_ready = true;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

/* A remote offer: p2p, the other member's first one; sfu, any of the server's (the first, and
 * renegotiation as members come and go: new sections, legs going inactive, reused ones). */
static void job_answer_offer(urtc_shard_t *sh, struct remote *r, const char *offer)
{
    bool first = !r->pc, sfu = atomic_load(&sfu_mode);
    if (first && !remote_create(sh, r))
        return;
    if (r->closed)
        return;
    if (!first && !sfu) {
        fprintf(stderr, "urtc-peer: peer %u: renegotiation is not supported\n", r->id);
        return;
    }
    if (r->local_offer) {
        /* Glare: the server is the polite peer (docs/sfu.md): it rolls its offer back, answers
         * ours and offers again. We, the impolite one, ignore its offer (W3C "perfect
         * negotiation"). */
        if (!o.quiet)
            fprintf(stderr, "urtc-peer: offer from %u ignored (ours is pending)\n", r->id);
        return;
    }
    if (sfu)
        msid_parse(r, offer); /* before on_track runs */
    int n = urtc_pc_set_remote_description(r->pc, URTC_SDP_OFFER, offer);
    if (n == 0 && first) {
        if (!sfu)
            add_tracks(r); /* W3C addTrack: our tracks go on the offered transceivers */
        add_dc(r);
    }
    if (n == 0)
        n = urtc_pc_create_answer(r->pc, r->sdp, sizeof r->sdp);
    if (n > 0)
        n = urtc_pc_set_local_description(r->pc, URTC_SDP_ANSWER, r->sdp);
    if (n < 0) {
        remote_failed(r, "answer", n);
        return;
    }
    pthread_mutex_lock(&mu);
    if (st.offer_n < MAX_EVENTS)
        st.offer_ns[st.offer_n] = now_ns();
    st.offer_n++;
    pthread_mutex_unlock(&mu);
    sig_send(
        json_pack("{s:s, s:I, s:s}", "type", "answer", "to", (json_int_t)r->id, "sdp", r->sdp));
}

static void collect_stats(struct remote *r);

static void remote_close(struct remote *r)
{
    if (!r->pc || r->closed)
        return;
    collect_stats(r); /* a connection's statistics go with it */
    urtc_pc_close(r->pc);
    r->closed = true;
    EVP_MD_CTX_free(r->file_md);
    r->file_md = NULL;
    for (int i = 0; i < MAX_TRACKS; i++) {
        urtc_decoder_destroy(r->trk[i].dec);
        r->trk[i].dec = NULL;
    }
}

/* sfu: the member that answers our next ping (round robin); 0 in p2p (one peer a channel). */
static uint32_t ping_target(void)
{
    static unsigned rr;
    if (!atomic_load(&sfu_mode))
        return 0;
    pthread_mutex_lock(&mu);
    uint32_t id = members_n ? members[rr++ % members_n] : 0;
    pthread_mutex_unlock(&mu);
    return id;
}

/* Every 20 ms: one Opus frame, and a video frame when its period has come, to every connected
 * remote that sends. One encoder for all of them (a mesh sends the same media to each). Each
 * second, the chat message to every remote whose channel is open, connected or not. */
static void job_tick(void)
{
    static uint64_t ticks, next_video_us;
    uint64_t t_us = ticks++ * 20000;
    urtc_frame_t af, vf;
    bool have_a = false, have_v = false;
    /* Media goes to connected remotes; the chat to any whose channel is open (below). */
    bool anyone = false, chatting = false;
    for (int i = 0; i < MAX_REMOTES; i++) {
        const struct remote *r = &remotes[i];
        if (!r->pc || r->closed || !r->send)
            continue;
        anyone |= urtc_pc_state(r->pc) == URTC_PC_CONNECTED;
        chatting |= r->dc_open;
    }
    if (!anyone && !chatting)
        return;
    if (asrc && anyone)
        have_a = urtc_test_source_next(asrc, &af) == 1;
    if (vsrc && anyone && t_us >= next_video_us) {
        next_video_us += urtc_test_source_period_us(vsrc);
        /* No keyframe on a timer: losses are repaired with NACK/RTX, and a receiver whose
         * decoder still lost its reference asks with a PLI (on_keyframe_request). */
        have_v = urtc_test_source_next(vsrc, &vf) == 1;
    }
    unsigned a_sent = 0, v_sent = 0, d_sent = 0, c_sent = 0;
    bool chat =
        t_us % 1000000 == 0 && (!o.chat_until_s || t_us < (uint64_t)o.chat_until_s * 1000000u);
    bool ping = t_us % 1000000 == 500000;
    for (int i = 0; i < MAX_REMOTES; i++) {
        struct remote *r = &remotes[i];
        if (!r->pc || r->closed || !r->send)
            continue;
        /* The channel is used while it is open, also when ICE is "disconnected" for a moment
         * (as a page would: SCTP holds the message until the path is back). Gating it on
         * "connected" made a gap in the numbers that looked like a lost message. */
        if (chat && r->dc_open) {
            char msg[160];
            snprintf(msg, sizeof msg, "hello %llu from %s", (unsigned long long)(t_us / 1000000),
                     o.name);
            int ret = urtc_dc_send(r->pc, r->dc, msg, strlen(msg), false);
            if (ret == 0)
                c_sent++;
            else if (!o.quiet)
                fprintf(stderr, "urtc-peer: peer %u: chat message %llu not sent: %s\n", r->id,
                        (unsigned long long)(t_us / 1000000), strerror(-ret));
        }
        if (ping && r->dc_open) {
            char msg[96];
            int n = snprintf(msg, sizeof msg, "urtc-peer:ping %u %llu", (unsigned)getpid(),
                             (unsigned long long)now_ns());
            uint32_t to = ping_target();
            if (to)
                snprintf(msg + n, sizeof msg - (size_t)n, " %u", to);
            if (urtc_dc_send(r->pc, r->dc, msg, strlen(msg), false) == 0)
                d_sent++;
        }
        if (urtc_pc_state(r->pc) != URTC_PC_CONNECTED)
            continue;
        if (have_a && r->atr >= 0 && urtc_pc_send_frame(r->pc, r->atr, &af) == 0)
            a_sent++;
        if (have_v && r->vtr >= 0 && urtc_pc_send_frame(r->pc, r->vtr, &vf) == 0)
            v_sent++;
    }
    pthread_mutex_lock(&mu);
    st.audio_sent += a_sent;
    st.video_sent += v_sent;
    st.dc_sent += d_sent + c_sent;
    if (c_sent) {
        if (!st.chat_sent)
            st.chat_first = t_us / 1000000;
        st.chat_last = t_us / 1000000;
        st.chat_sent += c_sent;
    }
    pthread_mutex_unlock(&mu);
}

static void job_run(urtc_shard_t *sh, void *arg)
{
    struct job *j = arg;
    struct remote *r = j->r;
    int ret;
    switch (j->kind) {
    case JOB_OFFER:
        job_offer(sh, r);
        break;
    case JOB_ANSWER_OFFER:
        job_answer_offer(sh, r, j->text);
        break;
    case JOB_SET_ANSWER:
        if (!r->pc || r->closed)
            break;
        if ((ret = urtc_pc_set_remote_description(r->pc, URTC_SDP_ANSWER, j->text)) < 0)
            remote_failed(r, "the answer", ret);
        else
            r->local_offer = false;
        break;
    case JOB_CANDIDATE:
        if (r->pc && !r->closed && (ret = urtc_pc_add_ice_candidate(r->pc, j->text)) < 0 &&
            !o.quiet)
            fprintf(stderr, "urtc-peer: peer %u: candidate refused: %s\n", r->id,
                    urtc_pc_last_error(r->pc));
        break;
    case JOB_CLOSE:
        remote_close(r);
        break;
    case JOB_TICK:
        job_tick();
        break;
    }
    free(j->text);
    free(j);
}

/* Adds the numbers of one urtc_pc_get_stats() JSON array into the summary: loss after repair
 * and jitter (inbound-rtp, RFC 3550 A.3/A.8), keyframe requests, NACKs and retransmissions
 * both ways, and the RTT from RTCP report blocks (remote-inbound-rtp, RFC 3550 §6.4.1). */
static void add_stats(const char *text)
{
    json_t *a = json_loads(text, 0, NULL);
    size_t i;
    json_t *o_;
    json_array_foreach(a, i, o_)
    {
        const char *type = json_string_value(json_object_get(o_, "type"));
#define NUM(k) json_number_value(json_object_get(o_, k))
        if (!type)
            continue;
        if (!strcmp(type, "inbound-rtp")) {
            st.lost += (int64_t)NUM("packetsLost");
            st.jitter_ms = fmax(st.jitter_ms, NUM("jitter") * 1000.0);
            st.nack_sent += (uint64_t)NUM("nackCount");
            st.rtx_rcvd += (uint64_t)NUM("retransmittedPacketsReceived");
        } else if (!strcmp(type, "outbound-rtp")) {
            st.pli_rcvd += (uint64_t)NUM("pliCount");
            st.nack_rcvd += (uint64_t)NUM("nackCount");
            st.rtx_sent += (uint64_t)NUM("retransmittedPacketsSent");
        } else if (!strcmp(type, "remote-inbound-rtp") && NUM("roundTripTimeMeasurements") > 0) {
            /* the mean over the call: one measurement is one report's luck */
            st.rtcp_rtt_ms = fmax(st.rtcp_rtt_ms, NUM("totalRoundTripTime") * 1000.0 /
                                                      NUM("roundTripTimeMeasurements"));
        }
#undef NUM
    }
    json_decref(a);
}

/* Adds the statistics of @r's connection to the summary, once (shard thread). */
static void collect_stats(struct remote *r)
{
    static char buf[65536];
    if (!r->pc || r->closed || r->stats_taken || urtc_pc_get_stats(r->pc, buf, sizeof buf) <= 0)
        return;
    r->stats_taken = true;
    pthread_mutex_lock(&mu);
    add_stats(buf);
    pthread_mutex_unlock(&mu);
}

/* A job that reads every connection's statistics into the summary and wakes the main thread.
 * Runs after every job posted before it. */
static void report_run(urtc_shard_t *sh, void *arg)
{
    (void)sh, (void)arg;
    for (int i = 0; i < MAX_REMOTES; i++)
        collect_stats(&remotes[i]);
    pthread_mutex_lock(&mu);
    st.report_done = true;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static void sources_create(urtc_shard_t *sh, void *arg)
{
    (void)sh, (void)arg;
    if (!o.no_audio && !o.whep)
        asrc = urtc_test_source_create("opus", 0, 0, 0);
    if (!o.no_video && !o.whep)
        vsrc = urtc_test_source_create("VP8", o.width, o.height, o.fps);
    pthread_mutex_lock(&mu);
    st.offer_ready = true; /* reused as "done" for this one */
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static void sources_destroy(urtc_shard_t *sh, void *arg)
{
    (void)sh, (void)arg;
    urtc_test_source_destroy(asrc);
    urtc_test_source_destroy(vsrc);
    asrc = vsrc = NULL;
}

static void post_fn(void (*fn)(urtc_shard_t *, void *))
{
    pthread_mutex_lock(&post_mu);
    for (int i = 0; urtc_engine_post(eng, 0, fn, NULL) == -EAGAIN && i < 1000; i++)
        usleep(1000);
    pthread_mutex_unlock(&post_mu);
}

static bool wait_flag(bool *flag, unsigned ms)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += ms / 1000;
    dl.tv_nsec += (long)(ms % 1000) * 1000000;
    if (dl.tv_nsec >= 1000000000) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&mu);
    while (!*flag && pthread_cond_timedwait(&cv, &mu, &dl) == 0)
        ;
    bool ok = *flag;
    *flag = false;
    pthread_mutex_unlock(&mu);
    return ok;
}

/* ---- Signaling thread (--signal) ---------------------------------------------------------- */

/* The remote for member @id (a free slot if @create). Signaling thread only. */
static struct remote *remote_for(uint32_t id, bool create)
{
    for (int i = 0; i < MAX_REMOTES; i++)
        if (remotes[i].used && remotes[i].id == id)
            return &remotes[i];
    if (!create)
        return NULL;
    for (int i = 0; i < MAX_REMOTES; i++) {
        if (!remotes[i].used) {
            remotes[i].used = true;
            remotes[i].id = id;
            return &remotes[i];
        }
    }
    fprintf(stderr, "urtc-peer: more than %d peers: member %u ignored\n", MAX_REMOTES, id);
    return NULL;
}

/* Member @id is in the room (@in) or not any more. Signaling thread. */
static void member_set(uint32_t id, bool in)
{
    pthread_mutex_lock(&mu);
    for (unsigned i = 0; i < members_n; i++) {
        if (members[i] == id) {
            members[i] = members[--members_n];
            break;
        }
    }
    if (in && id && members_n < MAX_SOURCES)
        members[members_n++] = id;
    pthread_mutex_unlock(&mu);
}

static void sig_handle(const char *text)
{
    json_error_t jerr;
    json_t *m = json_loads(text, 0, &jerr);
    const char *type = m ? json_string_value(json_object_get(m, "type")) : NULL;
    if (!type) {
        fprintf(stderr, "urtc-peer: bad signaling message: %.200s\n", text);
        json_decref(m);
        return;
    }
    uint32_t from = (uint32_t)json_integer_value(json_object_get(m, "from"));
    struct remote *r;
    if (strcmp(type, "welcome") == 0) {
        atomic_store(&my_id, (unsigned)json_integer_value(json_object_get(m, "id")));
        const char *mode = json_string_value(json_object_get(m, "mode"));
        bool sfu = mode && strcmp(mode, "sfu") == 0;
        atomic_store(&sfu_mode, sfu);
        if (!o.quiet)
            fprintf(stderr, "urtc-peer: joined %s room %s as member %u\n", sfu ? "sfu" : "p2p",
                    o.room, atomic_load(&my_id));
        size_t i;
        json_t *mem;
        json_array_foreach(json_object_get(m, "members"), i, mem)
        {
            uint32_t id = (uint32_t)json_integer_value(json_object_get(mem, "id"));
            member_set(id, true);
            /* p2p mesh: the newcomer offers to everyone already there. */
            if (!sfu && id && (r = remote_for(id, true))) {
                r->offerer = true;
                post_job(JOB_OFFER, r, NULL);
            }
        }
        /* sfu: one connection, to the server (member 0). We offer our tracks at once; the
         * server's first offer crosses ours (glare, which it resolves) and its later ones bring
         * the other members' tracks. */
        if (sfu && (r = remote_for(0, true))) {
            r->offerer = true;
            post_job(JOB_OFFER, r, NULL);
        }
    } else if (strcmp(type, "peer-joined") == 0) {
        member_set((uint32_t)json_integer_value(json_object_get(m, "id")), true);
    } else if (strcmp(type, "offer") == 0) {
        const char *sdp = json_string_value(json_object_get(m, "sdp"));
        /* p2p: offers come from members; sfu: only from the server (member 0). */
        if (sdp && (atomic_load(&sfu_mode) ? from == 0 : from != 0) && (r = remote_for(from, true)))
            post_job(JOB_ANSWER_OFFER, r, sdp);
    } else if (strcmp(type, "answer") == 0) {
        const char *sdp = json_string_value(json_object_get(m, "sdp"));
        if (sdp && (r = remote_for(from, false)))
            post_job(JOB_SET_ANSWER, r, sdp);
    } else if (strcmp(type, "candidate") == 0) {
        json_t *c = json_object_get(m, "candidate");
        const char *line =
            json_is_object(c) ? json_string_value(json_object_get(c, "candidate")) : NULL;
        if ((r = remote_for(from, false)))
            post_job(JOB_CANDIDATE, r, line && *line ? line : NULL);
    } else if (strcmp(type, "peer-left") == 0) {
        uint32_t id = (uint32_t)json_integer_value(json_object_get(m, "id"));
        member_set(id, false);
        pthread_mutex_lock(&mu);
        if (st.left_n < MAX_EVENTS)
            st.left_ns[st.left_n] = now_ns();
        st.left_n++;
        pthread_mutex_unlock(&mu);
        if (id && (r = remote_for(id, false))) /* p2p; in sfu the server renegotiates */
            post_job(JOB_CLOSE, r, NULL);
    } else if (strcmp(type, "error") == 0) {
        const char *code = json_string_value(json_object_get(m, "code"));
        const char *about = json_string_value(json_object_get(m, "about"));
        fprintf(stderr, "urtc-peer: server error %s (%s)\n", code ? code : "?",
                json_string_value(json_object_get(m, "reason")) ?: "");
        if (about && strcmp(about, "join") == 0)
            atomic_store(&ws_failed, true);
    }
    json_decref(m);
}

static void *sig_thread(void *arg)
{
    (void)arg;
    while (!atomic_load(&ws_stop)) {
        char *msg = NULL;
        int ret = peer_ws_recv(&ws, &msg, 100);
        if (ret < 0) {
            if (!atomic_load(&ws_stop))
                fprintf(stderr, "urtc-peer: signaling connection lost (%s)\n", strerror(-ret));
            atomic_store(&ws_failed, true);
            break;
        }
        if (ret == 1) {
            sig_handle(msg);
            free(msg);
        }
    }
    return NULL;
}

/* ---- WHIP / WHEP -------------------------------------------------------------------------- */

static char whip_location[1024];

/* The session URL: Location may be relative (RFC 9725 §4.2, RFC 9110 §10.2.2). */
static void resolve_location(const char *base, const char *loc, char *out, size_t cap)
{
    if (strncmp(loc, "http://", 7) == 0 || !*loc) {
        if (snprintf(out, cap, "%s", loc) >= (int)cap)
            out[0] = 0;
        return;
    }
    const char *host_end = strchr(base + 7, '/');
    size_t hl = host_end ? (size_t)(host_end - base) : strlen(base);
    if (snprintf(out, cap, "%.*s%s%s", (int)hl, base, loc[0] == '/' ? "" : "/", loc) >= (int)cap)
        out[0] = 0; /* too long: no DELETE at the end */
}

static int whip_exchange(const char *url)
{
    struct remote *r = &remotes[0];
    r->used = true;
    post_job(JOB_OFFER, r, NULL);
    if (!wait_flag(&st.offer_ready, 5000) || st.offer_err < 0)
        return -EPROTO;
    static char answer[65536];
    char loc[1024];
    int status = peer_http_request("POST", url, "application/sdp", r->sdp, o.token, loc, sizeof loc,
                                   answer, sizeof answer);
    if (status < 0) {
        fprintf(stderr, "urtc-peer: POST %s: %s\n", url, strerror(-status));
        return status;
    }
    /* RFC 9725 §4.2: 201 Created, the answer in the body, the session in Location. */
    if (status != 201) {
        fprintf(stderr, "urtc-peer: POST %s: HTTP %d: %.200s\n", url, status, answer);
        return -EPROTO;
    }
    if (!*loc)
        fprintf(stderr, "urtc-peer: 201 without Location (RFC 9725 §4.2 requires one)\n");
    resolve_location(url, loc, whip_location, sizeof whip_location);
    post_job(JOB_SET_ANSWER, r, answer);
    return 0;
}

/* ---- main --------------------------------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Milliseconds from the start to monotonic time @t (0 stays 0: never). */
static json_int_t ms_since_t0(uint64_t t)
{
    return t ? (json_int_t)((t - t0_ns) / 1000000u) : 0;
}

/* The first MAX_EVENTS of @n times, as milliseconds from the start. */
static json_t *ms_array(const uint64_t *t, unsigned n)
{
    json_t *a = json_array();
    for (unsigned i = 0; i < n && i < MAX_EVENTS; i++)
        json_array_append_new(a, json_integer(ms_since_t0(t[i])));
    return a;
}

static void print_report(void)
{
    pthread_mutex_lock(&mu);
    double tone = st.audio_decoded ? st.tone_db_sum / (double)st.audio_decoded : 0;
    double rtt_ms = -1;
    unsigned rn = st.rtt_n < 256 ? st.rtt_n : 256;
    if (rn) {
        qsort(st.rtt_ns, rn, sizeof st.rtt_ns[0], cmp_u64);
        rtt_ms = (double)st.rtt_ns[rn / 2] / 1e6;
    }
    printf("urtc-peer: %u peer(s), %u connected%s; sent %llu audio, %llu video frames\n", st.peers,
           st.connected, st.failed ? " (some failed)" : "", (unsigned long long)st.audio_sent,
           (unsigned long long)st.video_sent);
    printf("urtc-peer: video: %llu frames decoded (%dx%d), %llu missing, %llu out of order, %llu "
           "unreadable, %llu packets\n",
           (unsigned long long)st.video_decoded, st.video_w, st.video_h,
           (unsigned long long)st.video_missing, (unsigned long long)st.video_ooo,
           (unsigned long long)st.video_unreadable, (unsigned long long)st.video_pkts);
    printf("urtc-peer: audio: %llu packets, %llu frames decoded (tone %.1f dB); RTP lost %lld, "
           "jitter %.2f ms\n",
           (unsigned long long)st.audio_pkts, (unsigned long long)st.audio_decoded, tone,
           (long long)st.lost, st.jitter_ms);
    printf("urtc-peer: data channel: %llu messages (%llu bytes) received, %llu sent%s\n",
           (unsigned long long)st.dc_msgs, (unsigned long long)st.dc_bytes,
           (unsigned long long)st.dc_sent,
           st.file_ok < 0 ? ""
           : st.file_ok   ? "; file received intact"
                          : "; FILE CORRUPT");
    printf("urtc-peer: chat: %llu sent (N %llu-%llu)\n", (unsigned long long)st.chat_sent,
           (unsigned long long)st.chat_first, (unsigned long long)st.chat_last);
    for (unsigned i = 0; i < st.chat_n; i++) {
        const struct chat_rx *c = &st.chat[i];
        printf("urtc-peer: chat from %s: %llu received (N %llu-%llu), %llu missing, %llu out of "
               "order, %llu duplicates\n",
               c->from, (unsigned long long)c->msgs, (unsigned long long)c->first,
               (unsigned long long)c->last, (unsigned long long)c->missing,
               (unsigned long long)c->ooo, (unsigned long long)c->dups);
    }
    printf("urtc-peer: repair: %llu NACKs sent, %llu received; %llu packets resent (RTX), %llu "
           "received; keyframe requests %llu sent, %llu received\n",
           (unsigned long long)st.nack_sent, (unsigned long long)st.nack_rcvd,
           (unsigned long long)st.rtx_sent, (unsigned long long)st.rtx_rcvd,
           (unsigned long long)st.pli_sent, (unsigned long long)st.pli_rcvd);
    if (st.rtcp_rtt_ms >= 0)
        printf("urtc-peer: round trip from RTCP reports: %.3f ms\n", st.rtcp_rtt_ms);
    if (rtt_ms >= 0)
        printf("urtc-peer: round trip over the data channel: %.3f ms (median of %u)\n", rtt_ms, rn);
    for (unsigned i = 0; i < st.src_n; i++) {
        const struct src_stats *ss = &st.src[i];
        printf("urtc-peer: from member %llu: video %llu frames decoded (%llu missing, %llu out of "
               "order), audio %llu frames decoded (%llu packets)\n",
               (unsigned long long)ss->id, (unsigned long long)ss->video_decoded,
               (unsigned long long)ss->video_missing, (unsigned long long)ss->video_ooo,
               (unsigned long long)ss->audio_decoded, (unsigned long long)ss->audio_pkts);
    }
    if (o.signal && atomic_load(&sfu_mode))
        printf("urtc-peer: sfu: %u offers from the server answered, %u members left\n", st.offer_n,
               st.left_n);
    if (o.json) {
        json_t *j = json_object();
#define JI(k, v) json_object_set_new(j, k, json_integer((json_int_t)(v)))
#define JR(k, v) json_object_set_new(j, k, json_real(v))
        json_object_set_new(j, "mode",
                            json_string(o.signal ? (atomic_load(&sfu_mode) ? "sfu" : "p2p")
                                        : o.whip ? "whip"
                                                 : "whep"));
        JI("peers", st.peers);
        JI("connected", st.connected);
        JI("failed", st.failed);
        JR("connect_ms", st.connect_ms);
        JI("video_frames_decoded", st.video_decoded);
        JI("video_frames_missing", st.video_missing);
        JI("video_frames_out_of_order", st.video_ooo);
        JI("video_pattern_unreadable", st.video_unreadable);
        JI("video_packets_received", st.video_pkts);
        JI("video_width", st.video_w);
        JI("video_height", st.video_h);
        JI("audio_packets_received", st.audio_pkts);
        JI("audio_frames_decoded", st.audio_decoded);
        JR("audio_tone_db", tone);
        JI("audio_frames_sent", st.audio_sent);
        JI("video_frames_sent", st.video_sent);
        JI("packets_lost", st.lost);
        JR("jitter_ms", st.jitter_ms);
        JI("datachannel_messages_received", st.dc_msgs);
        JI("datachannel_bytes_received", st.dc_bytes);
        JI("datachannel_messages_sent", st.dc_sent);
        json_object_set_new(j, "chat_sent",
                            json_pack("{s:I, s:I, s:I}", "messages", (json_int_t)st.chat_sent,
                                      "first", (json_int_t)st.chat_first, "last",
                                      (json_int_t)st.chat_last));
        json_t *chat = json_array();
        for (unsigned i = 0; i < st.chat_n; i++) {
            const struct chat_rx *c = &st.chat[i];
            json_array_append_new(chat,
                                  json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "from", c->from,
                                            "messages", (json_int_t)c->msgs, "first",
                                            (json_int_t)c->first, "last", (json_int_t)c->last,
                                            "missing", (json_int_t)c->missing, "out_of_order",
                                            (json_int_t)c->ooo, "duplicates", (json_int_t)c->dups));
        }
        json_object_set_new(j, "chat_received", chat);
        json_object_set_new(j, "datachannel_file_ok",
                            st.file_ok < 0 ? json_null() : json_boolean(st.file_ok));
        /* The median data-channel round trip; null without one. */
        json_object_set_new(j, "rtt_ms", rtt_ms < 0 ? json_null() : json_real(rtt_ms));
        json_object_set_new(j, "rtcp_rtt_ms",
                            st.rtcp_rtt_ms < 0 ? json_null() : json_real(st.rtcp_rtt_ms));
        JI("nacks_sent", st.nack_sent);
        JI("nacks_received", st.nack_rcvd);
        JI("rtx_sent", st.rtx_sent);
        JI("rtx_received", st.rtx_rcvd);
        JI("keyframe_requests_sent", st.pli_sent);
        JI("keyframe_requests_received", st.pli_rcvd);
        json_t *srcs = json_array();
        for (unsigned i = 0; i < st.src_n; i++) {
            const struct src_stats *ss = &st.src[i];
            json_array_append_new(
                srcs,
                json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "id", (json_int_t)ss->id,
                          "video_frames_decoded", (json_int_t)ss->video_decoded,
                          "video_frames_missing", (json_int_t)ss->video_missing,
                          "video_frames_out_of_order", (json_int_t)ss->video_ooo,
                          "video_packets_received", (json_int_t)ss->video_pkts,
                          "audio_packets_received", (json_int_t)ss->audio_pkts,
                          "audio_frames_decoded", (json_int_t)ss->audio_decoded, "first_ms",
                          ms_since_t0(ss->first_ns), "last_ms", ms_since_t0(ss->last_ns)));
        }
        json_object_set_new(j, "sources", srcs);
        JI("offers_received", st.offer_n);
        json_object_set_new(j, "offers_ms", ms_array(st.offer_ns, st.offer_n));
        json_object_set_new(j, "peers_left_ms", ms_array(st.left_ns, st.left_n));
#undef JI
#undef JR
        char *s = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
        printf("%s\n", s ? s : "{}");
        free(s);
        json_decref(j);
    }
    pthread_mutex_unlock(&mu);
    fflush(stdout);
}

/* Reads --send-file whole (at most 256 MiB) and its SHA-256. */
static int load_file(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) || sb.st_size > (256 << 20)) {
        fprintf(stderr, "urtc-peer: %s: not a readable regular file up to 256 MiB\n", path);
        if (fd >= 0)
            close(fd);
        return -EINVAL;
    }
    file_len = (size_t)sb.st_size;
    file_data = malloc(file_len ? file_len : 1);
    size_t got = 0;
    while (file_data && got < file_len) {
        ssize_t r = read(fd, file_data + got, file_len - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (!file_data || got != file_len) {
        fprintf(stderr, "urtc-peer: %s: read failed\n", path);
        return -EIO;
    }
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md)
        return -ENOMEM;
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    EVP_DigestUpdate(md, file_data, file_len);
    sha_hex(md, file_sha);
    EVP_MD_CTX_free(md);
    return 0;
}

int main(int argc, char **argv)
{
    enum {
        O_SIGNAL = 256,
        O_ROOM,
        O_MODE,
        O_NAME,
        O_TOKEN,
        O_WHIP,
        O_WHEP,
        O_DURATION,
        O_MEDIA_IP,
        O_STUN,
        O_TURN,
        O_TURN_USER,
        O_TURN_PASS,
        O_RELAY_ONLY,
        O_NO_AUDIO,
        O_NO_VIDEO,
        O_NO_DC,
        O_CHAT_UNTIL,
        O_SEND_FILE,
        O_SIZE,
        O_FPS,
        O_JSON,
        O_QUIET,
        O_HELP
    };
    static const struct option lopts[] = {
        {"signal", required_argument, NULL, O_SIGNAL},
        {"room", required_argument, NULL, O_ROOM},
        {"mode", required_argument, NULL, O_MODE},
        {"name", required_argument, NULL, O_NAME},
        {"token", required_argument, NULL, O_TOKEN},
        {"whip", required_argument, NULL, O_WHIP},
        {"whep", required_argument, NULL, O_WHEP},
        {"duration", required_argument, NULL, O_DURATION},
        {"media-ip", required_argument, NULL, O_MEDIA_IP},
        {"stun", required_argument, NULL, O_STUN},
        {"turn", required_argument, NULL, O_TURN},
        {"turn-user", required_argument, NULL, O_TURN_USER},
        {"turn-pass", required_argument, NULL, O_TURN_PASS},
        {"relay-only", no_argument, NULL, O_RELAY_ONLY},
        {"no-audio", no_argument, NULL, O_NO_AUDIO},
        {"no-video", no_argument, NULL, O_NO_VIDEO},
        {"no-datachannel", no_argument, NULL, O_NO_DC},
        {"chat-until", required_argument, NULL, O_CHAT_UNTIL},
        {"send-file", required_argument, NULL, O_SEND_FILE},
        {"size", required_argument, NULL, O_SIZE},
        {"fps", required_argument, NULL, O_FPS},
        {"json", no_argument, NULL, O_JSON},
        {"quiet", no_argument, NULL, O_QUIET},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0},
    };
    int c;
    char *end;
    while ((c = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
        switch (c) {
        case O_SIGNAL:
            o.signal = optarg;
            break;
        case O_ROOM:
            o.room = optarg;
            break;
        case O_MODE:
            if (strcmp(optarg, "p2p") != 0 && strcmp(optarg, "sfu") != 0)
                goto bad;
            o.mode = optarg;
            break;
        case O_NAME:
            o.name = optarg;
            break;
        case O_TOKEN:
            o.token = optarg;
            break;
        case O_WHIP:
            o.whip = optarg;
            break;
        case O_WHEP:
            o.whep = optarg;
            break;
        case O_MEDIA_IP:
            o.media_ip = optarg;
            break;
        case O_STUN:
            o.stun = optarg;
            break;
        case O_TURN:
            o.turn = optarg;
            break;
        case O_TURN_USER:
            o.turn_user = optarg;
            break;
        case O_TURN_PASS:
            o.turn_pass = optarg;
            break;
        case O_RELAY_ONLY:
            o.relay_only = true;
            break;
        case O_NO_AUDIO:
            o.no_audio = true;
            break;
        case O_NO_VIDEO:
            o.no_video = true;
            break;
        case O_NO_DC:
            o.no_dc = true;
            break;
        case O_SEND_FILE:
            o.send_file = optarg;
            break;
        case O_CHAT_UNTIL:
            o.chat_until_s = (unsigned)strtoul(optarg, &end, 10);
            if (*end || o.chat_until_s == 0 || o.chat_until_s > 86400)
                goto bad;
            break;
        case O_JSON:
            o.json = true;
            break;
        case O_QUIET:
            o.quiet = true;
            break;
        case O_DURATION:
            o.duration_s = (unsigned)strtoul(optarg, &end, 10);
            if (*end || o.duration_s == 0 || o.duration_s > 86400)
                goto bad;
            break;
        case O_SIZE:
            if (sscanf(optarg, "%dx%d", &o.width, &o.height) != 2 || o.width < 64 ||
                o.height < 64 || o.width > 1920 || o.height > 1080)
                goto bad;
            break;
        case O_FPS:
            o.fps = (int)strtol(optarg, &end, 10);
            if (*end || o.fps < 1 || o.fps > 60)
                goto bad;
            break;
        case O_HELP:
            usage(stdout);
            return 0;
        default:
            goto bad;
        }
    }
    if (optind != argc || (!!o.signal + !!o.whip + !!o.whep) != 1 || (o.signal && !o.room) ||
        (o.mode && !o.signal) || (o.send_file && (o.no_dc || !o.signal)))
        goto bad;
    if (o.send_file && load_file(o.send_file) < 0)
        return 1;
    static char name_buf[32];
    if (!o.name) {
        snprintf(name_buf, sizeof name_buf, "urtc-peer-%d", (int)getpid());
        o.name = name_buf;
    }

    /* SIGINT/SIGTERM blocked in every thread; the main thread takes them in
     * urtc_engine_wait_signal(). */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    if (o.relay_only && !o.turn) {
        fprintf(stderr, "urtc-peer: --relay-only needs --turn\n");
        return 1;
    }
    t0_ns = now_ns();
    urtc_engine_config_t ecfg = {.shards = 1,
                                 .media_ip = o.media_ip,
                                 .stun_server = o.stun,
                                 .turn_server = o.turn,
                                 .turn_username = o.turn_user,
                                 .turn_password = o.turn_pass};
    if (!(eng = urtc_engine_create(&ecfg))) {
        fprintf(stderr, "urtc-peer: cannot start the engine\n");
        return 1;
    }
    post_fn(sources_create);
    (void)wait_flag(&st.offer_ready, 5000);
    if ((!o.no_audio && !o.whep && !asrc) || (!o.no_video && !o.whep && !vsrc)) {
        fprintf(stderr, "urtc-peer: cannot start the encoders\n");
        urtc_engine_destroy(eng);
        return 1;
    }

    int rc = 0;
    pthread_t sig_th;
    bool sig_started = false;
    if (o.signal) {
        int ret = peer_ws_connect(&ws, o.signal);
        if (ret < 0) {
            fprintf(stderr, "urtc-peer: cannot open %s: %s\n", o.signal, strerror(-ret));
            rc = 1;
            goto out;
        }
        /* No "mode" unless asked: the room's mode holds (welcome says which). */
        json_t *join = json_pack("{s:s, s:s, s:s}", "type", "join", "room", o.room, "name", o.name);
        if (o.mode)
            json_object_set_new(join, "mode", json_string(o.mode));
        if (o.token)
            json_object_set_new(join, "token", json_string(o.token));
        sig_send(join);
        if (pthread_create(&sig_th, NULL, sig_thread, NULL) != 0) {
            rc = 1;
            goto out;
        }
        sig_started = true;
    } else if (whip_exchange(o.whip ? o.whip : o.whep) < 0) {
        rc = 1;
        goto out;
    }

    /* The media clock: a tick every 20 ms until the end (or a signal). */
    uint64_t t0 = now_ns(), next = t0, end_ns = t0 + (uint64_t)o.duration_s * 1000000000u;
    uint64_t next_status = t0 + 1000000000u;
    for (;;) {
        uint64_t t = now_ns();
        if (t >= end_ns || atomic_load(&ws_failed))
            break;
        if (t >= next) {
            post_job(JOB_TICK, NULL, NULL);
            next += 20000000u;
            if (next < t)
                next = t + 20000000u; /* we fell behind: do not burst */
        }
        if (!o.quiet && t >= next_status) {
            next_status += 1000000000u;
            pthread_mutex_lock(&mu);
            fprintf(stderr,
                    "urtc-peer: %us: %u connected, video %llu decoded, audio %llu packets\n",
                    (unsigned)((t - t0) / 1000000000u), st.connected,
                    (unsigned long long)st.video_decoded, (unsigned long long)st.audio_pkts);
            pthread_mutex_unlock(&mu);
        }
        uint64_t wait_ns = next > t ? next - t : 0;
        if (urtc_engine_wait_signal((unsigned)(wait_ns / 1000000u) + 1) > 0)
            break;
    }
    if (atomic_load(&ws_failed) && st.peers == 0)
        rc = 1;

out:
    /* The summary first (RTP state lives on the shard), then close everything. */
    post_fn(report_run);
    (void)wait_flag(&st.report_done, 5000);
    for (int i = 0; i < MAX_REMOTES; i++)
        if (remotes[i].used)
            post_job(JOB_CLOSE, &remotes[i], NULL);
    post_fn(sources_destroy);
    if (sig_started) {
        atomic_store(&ws_stop, true);
        pthread_join(sig_th, NULL);
    }
    if (o.signal && ws.fd >= 0)
        peer_ws_close(&ws);
    if (whip_location[0]) /* RFC 9725 §4.3: the client ends the session with DELETE */
        (void)peer_http_request("DELETE", whip_location, NULL, NULL, o.token, NULL, 0, NULL, 0);
    urtc_engine_destroy(eng);
    print_report();
    free(file_data);
    return rc;
bad:
    usage(stderr);
    return 2;
}
