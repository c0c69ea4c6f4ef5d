/* engine/sfu.c: the SFU. Rooms of server-side peer connections (urtc_pc, ICE lite) on the
 * shards; every publisher's RTP reaches every other member of the room. See docs/sfu.md.
 *
 * Threads. The control thread (signaling) owns the directory (member -> shard, room -> shard)
 * and posts commands with eng_post(); each shard owns its rooms, members and their peer
 * connections, and reports back on its own SPSC event queue. Nothing here locks.
 *
 * Packet path (shard thread, allocation-free): the publisher's pc decrypts the packet once and
 * hands it over (on_rtp, borrowed); a video packet is stored once in its up's history
 * (plaintext, for NACKs, shared by every down leg of the up on this shard); for each
 * subscriber the packet is copied once into a pool slot of the shard, the copy is rewritten
 * (SSRC, sequence number, timestamp, payload type, header-extension ids), the leg notes which
 * stored packet it sent under which number and rewrite, and the copy is encrypted in place
 * into the send batch, which the shard flushes once per tick (GSO).
 */
#include "engine/engine_priv.h"

#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <unistd.h>

#include "rtc/crypto/crypto.h"
#include "rtc/rtcp/rtcp.h"
#include "rtc/rtp/rtp.h"

#define SFU_MAX_UP 8    /* tracks one member publishes */
#define SFU_MAX_DOWN 30 /* tracks one member receives (transceivers, minus its own ups) */
#define SFU_TICK_NS (20 * NET_NS_PER_MS)
#define SFU_IDLE_TICK_NS (500 * NET_NS_PER_MS)
/* Upstream NACK spacing when nothing measured the publisher's path (a WHIP publisher, see
 * nack_upstream): short, so that a retry still beats the next frames on a near path; on a far
 * one a retry may cross the repair (a wasted NACK, or a second RTX). */
#define SFU_NACK_WAIT_NS (50 * NET_NS_PER_MS)
#define SFU_PLI_MIN_NS (300 * NET_NS_PER_MS)         /* PLI/FIR upstream at most this often */
#define SFU_CONNECT_TIMEOUT_NS (20 * NET_NS_PER_SEC) /* never connected: gone */
#define SFU_DISCONNECTED_TIMEOUT_NS (10 * NET_NS_PER_SEC)
/* Retransmission history per video up (per shard that has a down leg of it): ENG_HIST_PKTS
 * packets (about 2.5 s at 1 Mbit/s) of up to ENG_HIST_SLOT bytes, 384 KiB, as the publisher
 * sent them. Each video down leg keeps an ENG_HIST_PKTS-entry index of what it sent (about
 * 12 KiB, rtc_rtp_fwd_leg_t), from which a NACK's packet is rebuilt byte for byte. Audio keeps
 * none (Opus repairs with FEC; a NACK for audio finds nothing). */
#define SFU_SDP_CAP 32768
#define SFU_CNAME "urtc-sfu" /* of the SFU's own RTCP SSRC (receiver reports, feedback) */
#define SFU_ROOM_LEN 64

typedef struct sfu_member sfu_member_t;
typedef struct sfu_room sfu_room_t;
typedef struct sfu_shard sfu_shard_t;

/* A track a member sends to us. */
typedef struct sfu_up {
    bool used;
    uint32_t test_loss_cnt; /* test knob (uplink loss): per publisher track, so that each one's
                               losses do not depend on how the others' packets interleave */
    int tr;                 /* transceiver on the publisher's pc */
    bool video;
    uint32_t ssrc; /* last seen media SSRC */
    uint32_t clock_hz;
    rtc_rtp_rx_stats_t rx;
    bool rx_init;
    uint64_t last_pli_ns;
    bool want_pli; /* a PLI is owed (throttled) */
    uint8_t fir_seq;
    /* Video from a local publisher: NACKs upstream (RFC 4585 §6.2.1) for what the publisher's
     * leg lost; the repair (RTX, decapsulated by the pc) is forwarded like any late packet. */
    rtc_rtp_nack_gen_t *nack;
    uint64_t last_rx_ns;
    uint8_t variant_pt, variant; /* codec_variant() of the last payload type seen */
    /* Video: the packets as received, for the NACKs of its down legs on this shard (set up
     * with the first down leg, mem NULL until then). */
    rtc_rtp_fwd_hist_t hist;
} sfu_up_t;

/* A track a member receives: one publisher's up, on one transceiver of the member's pc. */
typedef struct sfu_down {
    bool used;
    sfu_member_t *pub;
    unsigned up;
    int tr;
    bool started;  /* the first packet fixed the offsets */
    bool wait_key; /* video: nothing before a keyframe starts */
    uint16_t seq_off;
    uint16_t last_out_seq;
    uint32_t last_out_ts;
    uint32_t src_ssrc; /* the publisher's SSRC the offsets were fixed for */
    /* The rewrite: our SSRC, timestamp offset, extension ids (publisher's id -> ours) and
     * our id of abs-send-time (set at send time; 0: none). */
    rtc_rtp_fwd_rw_t rw;
    uint32_t rtx_ssrc;
    uint8_t pt_in, pt_out, rtx_pt; /* cached payload-type mapping, pt_in 0xff: none yet */
    uint8_t variant_in;
    uint32_t nego_gen_pub, nego_gen_sub;
    rtc_rtp_fwd_leg_t leg; /* video: what was sent, for NACKs (e NULL: audio) */
    rtc_rtp_ptmap_t ptmap;
    rtc_rtp_rtx_tx_t rtx;
    rtc_rtp_tx_stats_t tx;
    uint32_t clock_hz;
    uint32_t loss_every, loss_cnt; /* test knob: do not send every Nth packet */
} sfu_down_t;

struct sfu_member {
    net_list_t node; /* in the room */
    sfu_room_t *room;
    sfu_shard_t *ss;
    uint64_t id;
    urtc_pc_t *pc;
    bool connected, gone, need_nego, announced;
    uint64_t joined_ns, disconnected_ns, next_rtcp_ns;
    uint32_t nego_gen; /* bumps when a negotiation completes: cached mappings refresh */
    uint32_t rtcp_ssrc;
    rtc_rtp_extmap_t ext;
    sfu_up_t up[SFU_MAX_UP];
    sfu_down_t down[SFU_MAX_DOWN];
    uint32_t loss_every; /* test knob, copied to new downs */
    /* A publisher that lives on another shard of the room (a proxy: no pc, ups and extension
     * ids from its home shard's announcements, packets by reference over the rings). */
    bool remote;
    uint32_t home;
    /* A join on a room that spans shards waits until every other shard has announced its
     * publishers (X_HELLO / X_ACK), so that the first answer already carries them (WHEP has
     * no second exchange). */
    bool waiting;
    uint32_t acks_left;
    char *pending_offer; /* NULL: the server offers */
    int chat_dc;         /* the negotiated "chat" channel (id 0), < 0: none */
    bool chat_open;      /* on_dc_open came for chat_dc */
    /* Chat relayed to this member before its channel opened (its association comes up after
     * others have spoken), in order; sent on open. At most SFU_CHAT_HELD messages and
     * SFU_CHAT_HELD_BYTES. */
    struct sfu_chat_held *held, **held_tail;
    uint32_t held_cnt;
    size_t held_bytes;
};

struct sfu_room {
    net_list_t node; /* in the shard */
    char name[SFU_ROOM_LEN];
    net_list_t members;
    uint32_t cnt;   /* members, proxies included */
    uint32_t local; /* members with a pc on this shard */
    uint64_t span;  /* the shards the room lives on (bit per shard), from the control thread */
};

struct sfu_shard {
    eng_sfu_t *s;
    eng_shard_t *sh;
    net_queue_t *evq; /* to the control thread */
    net_list_t rooms;
    net_timer_t tick;
    bool tick_on;
    eng_sfu_stats_t st;  /* shard-local counts */
    eng_sfu_stats_t pub; /* published copy (atomic stores), read by anyone */
    char *sdp;           /* SFU_SDP_CAP bytes of scratch for descriptions */
    uint64_t wake_mask;  /* shards this tick queued messages for */
    /* Members (local and proxies) by id: open addressing, linear probing, at most half full.
     * Every cross-shard packet and every command looks its member up here. */
    sfu_member_t **mtab;
    uint32_t mtab_mask, mtab_cnt;
};

/* Directory entry (control thread). */
typedef struct sfu_dir_member {
    uint64_t id;
    uint32_t shard;
    char room[SFU_ROOM_LEN];
} sfu_dir_member_t;

struct eng_sfu {
    eng_t *e;
    eng_sfu_cfg_t cfg;
    uint32_t cnt;
    sfu_shard_t *shards;
    /* control thread */
    sfu_dir_member_t *dir;
    uint32_t dir_cnt, dir_cap;
    uint32_t poll_next;
    /* Cross-shard rings, one pair per ordered pair of shards [from * cnt + to]: data carries
     * packets by reference and announcements, ret carries the references back. */
    struct sfu_xring *xdata, *xret;
};

/* ---- Cross-shard rings ------------------------------------------------------------------------
 * Single producer (shard "from"), single consumer (shard "to"), fixed-size messages by value.
 * No syscall per message: the producer writes the consumer's eventfd once per tick. */
enum xmsg_type { X_FWD = 1, X_RET, X_PUB, X_UNPUB, X_PLI, X_HELLO, X_ACK, X_CHAT };

/* A chat message for the room's members on another shard (control-plane volume: copied). */
struct sfu_chat {
    char room[SFU_ROOM_LEN];
    bool binary;
    size_t len;
    uint8_t data[];
};

#define SFU_CHAT_HELD 64
#define SFU_CHAT_HELD_BYTES 65536
struct sfu_chat_held {
    struct sfu_chat_held *next;
    bool binary;
    size_t len;
    uint8_t data[];
};

typedef struct sfu_xmsg {
    uint8_t type;
    uint8_t up;
    bool video;
    uint8_t variant; /* X_FWD: codec_variant() */
    uint64_t member;
    void *ptr;         /* X_FWD/X_RET: the net_pkt_t; X_PUB: a struct sfu_pub_ann (malloc'd) */
    const char *codec; /* X_FWD: a static name (codec_name()) */
} sfu_xmsg_t;

#define SFU_XRING_CAP 4096u

typedef struct sfu_xring {
    uint32_t head; /* consumer */
    char pad0[60];
    uint32_t tail; /* producer */
    char pad1[60];
    sfu_xmsg_t msgs[SFU_XRING_CAP];
} sfu_xring_t;

static bool xring_full(const sfu_xring_t *r)
{
    return __atomic_load_n(&r->tail, __ATOMIC_RELAXED) -
               __atomic_load_n(&r->head, __ATOMIC_ACQUIRE) >=
           SFU_XRING_CAP;
}

static int xring_push(sfu_xring_t *r, const sfu_xmsg_t *m)
{
    uint32_t t = __atomic_load_n(&r->tail, __ATOMIC_RELAXED);
    if (t - __atomic_load_n(&r->head, __ATOMIC_ACQUIRE) >= SFU_XRING_CAP)
        return -EAGAIN;
    r->msgs[t & (SFU_XRING_CAP - 1)] = *m;
    __atomic_store_n(&r->tail, t + 1, __ATOMIC_RELEASE);
    return 0;
}

static bool xring_pop(sfu_xring_t *r, sfu_xmsg_t *m)
{
    uint32_t h = __atomic_load_n(&r->head, __ATOMIC_RELAXED);
    if (h == __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE))
        return false;
    *m = r->msgs[h & (SFU_XRING_CAP - 1)];
    __atomic_store_n(&r->head, h + 1, __ATOMIC_RELEASE);
    return true;
}

/* A publisher's tracks, announced to the room's other shards. */
struct sfu_pub_ann {
    char room[SFU_ROOM_LEN];
    rtc_rtp_extmap_t ext;
    bool used[SFU_MAX_UP], video[SFU_MAX_UP];
};

/* ---- Events to the control thread ---------------------------------------------------------- */

static void emit(sfu_shard_t *ss, uint32_t type, uint64_t member, int err, const char *text)
{
    eng_sfu_ev_t ev = {.type = type, .err = err, .member = member};
    if (text && !(ev.text = strdup(text)))
        return;
    if (net_queue_push(ss->evq, &ev) < 0) {
        LOG_RATELIMIT(1000, "sfu: event queue of shard %u full, event %u dropped", ss->sh->idx,
                      type);
        free(ev.text);
    }
}

/* Queues @x for shard @to (its eventfd is written at the end of this tick). */
static int x_send(sfu_shard_t *ss, uint32_t to, const sfu_xmsg_t *x)
{
    eng_sfu_t *s = ss->s;
    int ret = xring_push(&s->xdata[ss->sh->idx * s->cnt + to], x);
    if (ret == 0)
        ss->wake_mask |= 1ull << to;
    return ret;
}

/* The pool packet whose data @p shows (the pc hands out views of its pool slot): the shard's
 * pool is one array of slots, so the slot index follows from the address. NULL if @p does
 * not point at a live packet of this shard's pool. */
static net_pkt_t *pkt_of(sfu_shard_t *ss, const urtc_rtp_packet_t *p)
{
    net_pool_t *pool = ss->sh->pool;
    const uint8_t *base = net_pool_slot(pool, 0);
    if (p->data < base)
        return NULL;
    size_t idx = (size_t)(p->data - base) / NET_PKT_SLOT_LEN;
    if (idx >= net_pool_cnt(pool))
        return NULL;
    net_pkt_t *pkt = net_pool_pkt(pool, (uint32_t)idx);
    return pkt->data == p->data && pkt->len == p->len && pkt->refcnt ? pkt : NULL;
}

/* ---- Helpers ------------------------------------------------------------------------------- */

static const rtc_pc_transceiver_t *tr_of(const sfu_member_t *m, int tr)
{
    return tr >= 0 && (unsigned)tr < m->pc->jsep.tr_cnt ? &m->pc->jsep.tr[tr] : NULL;
}

/* Our negotiated header extensions (bundle-wide ids, RFC 8843 §9.2). */
static void load_extmap(sfu_member_t *m)
{
    rtc_rtp_extmap_init(&m->ext);
    for (int k = 1; k < RTC_RTP_EXT__CNT; k++) {
        const char *uri = rtc_rtp_ext_uri((rtc_rtp_ext_kind_t)k);
        uint8_t id = rtc_pc_ext_id(&m->pc->jsep, uri);
        if (id && rtc_rtp_extmap_set(&m->ext, id, uri, strlen(uri)) < 0)
            LOG_DEBUG("sfu: extension id %u for %s refused", id, uri);
    }
}

/* VP8 keyframe at the start of a frame (RFC 7741 §4.2 payload descriptor, §4.3 payload header:
 * S=1 and PID=0 start the first partition, whose first byte has P=0 for a keyframe). */
static bool vp8_keyframe_start(const uint8_t *p, size_t len)
{
    if (len < 1 || !(p[0] & 0x10) || (p[0] & 0x07))
        return false;
    size_t off = 1;
    if (p[0] & 0x80) { /* X */
        if (len < 2)
            return false;
        uint8_t x = p[1];
        off = 2;
        if (x & 0x80) /* I: picture id, 7 or 15 bits */
            off += len > off && (p[off] & 0x80) ? 2 : 1;
        if (x & 0x40) /* L: TL0PICIDX */
            off++;
        if (x & 0x30) /* T or K: TID/KEYIDX byte */
            off++;
    }
    return off < len && !(p[off] & 0x01);
}

/* VP9 (RFC 9628 §4.2): the start of a picture (B) that is not inter-picture predicted (P=0),
 * in the base spatial layer. */
static bool vp9_keyframe_start(const uint8_t *p, size_t len)
{
    codec_vp9_desc_t d;
    if (codec_vp9_desc_parse(p, len, &d) < 0)
        return false;
    return d.b && !d.p && d.sid <= 0;
}

/* H.264 (RFC 6184 §5.4): an SPS or IDR NAL unit (type 7 or 5) alone, first in a STAP-A, or
 * starting an FU-A. */
static bool h264_keyframe_start(const uint8_t *p, size_t len)
{
    if (len < 1)
        return false;
    uint8_t type = p[0] & 0x1f;
    if (type == 5 || type == 7)
        return true;
    if (type == 24) { /* STAP-A: 16-bit size, then the NAL unit */
        for (size_t off = 1; off + 3 <= len;) {
            size_t n = net_rd16be(p + off);
            uint8_t t = p[off + 2] & 0x1f;
            if (t == 5 || t == 7)
                return true;
            off += 2 + n;
        }
        return false;
    }
    if (type == 28) /* FU-A: S bit and the fragmented NAL's type */
        return len >= 2 && (p[1] & 0x80) && ((p[1] & 0x1f) == 5 || (p[1] & 0x1f) == 7);
    return false;
}

/* Whether a subscriber may start on this packet: audio at once; VP8, VP9 and H.264 at a
 * keyframe; other codecs at once (the subscriber's decoder waits, and its PLI reaches the
 * publisher). */
static bool can_start(const urtc_rtp_packet_t *p, bool video)
{
    if (!video || !p->codec)
        return true;
    if (strcasecmp(p->codec, "VP8") == 0)
        return vp8_keyframe_start(p->payload, p->payload_len);
    if (strcasecmp(p->codec, "VP9") == 0)
        return vp9_keyframe_start(p->payload, p->payload_len);
    if (strcasecmp(p->codec, "H264") == 0)
        return h264_keyframe_start(p->payload, p->payload_len);
    return true;
}

/* Payload type, RTX, SSRC, extension mapping of @d, refreshed after any negotiation of either
 * side. false when the subscriber's transceiver cannot carry @codec. */
/* What must match besides the codec name for a subscriber to decode a publisher's packets:
 * H.264's packetization-mode (RFC 6184 §8.1: mode 0 and 1 are different payload formats, and
 * both are negotiated under one name). 0 for everything else. */
static uint8_t codec_variant(const char *name, const char *fmtp)
{
    return name && fmtp && strcasecmp(name, "H264") == 0 &&
           strstr(fmtp, "packetization-mode=1") != NULL;
}

static bool down_refresh(sfu_member_t *sub, sfu_down_t *d, uint8_t pt_in, const char *codec,
                         uint8_t variant)
{
    sfu_member_t *pub = d->pub;
    if (d->pt_in == pt_in && d->variant_in == variant && d->nego_gen_pub == pub->nego_gen &&
        d->nego_gen_sub == sub->nego_gen)
        return d->pt_out != 0xff;
    const rtc_pc_t *j = &sub->pc->jsep;
    const rtc_pc_transceiver_t *t = tr_of(sub, d->tr);
    d->pt_in = pt_in;
    d->variant_in = variant;
    d->nego_gen_pub = pub->nego_gen;
    d->nego_gen_sub = sub->nego_gen;
    d->pt_out = 0xff;
    if (!t || t->stopped || t->mline < 0 || !codec ||
        (t->current_direction != RTC_SDP_DIR_SENDONLY &&
         t->current_direction != RTC_SDP_DIR_SENDRECV))
        return false;
    for (unsigned k = 0; k < t->neg_cnt; k++) {
        const rtc_pc_codec_t *cap = rtc_pc_neg_codec_cap(j, t, &t->neg[k]);
        if (cap && strcasecmp(cap->name, codec) == 0 &&
            codec_variant(cap->name, t->neg[k].fmtp) == variant) {
            d->pt_out = t->neg[k].pt;
            d->rtx_pt = t->neg[k].rtx_pt;
            d->clock_hz = cap->clock_hz;
            break;
        }
    }
    if (d->pt_out == 0xff)
        return false;
    if (d->rw.ssrc != t->ssrc) {
        d->rw.ssrc = t->ssrc;
        rtc_rtp_tx_stats_init(&d->tx, d->rw.ssrc, d->clock_hz);
    }
    d->rtx_ssrc = t->rtx_ssrc;
    rtc_rtp_ptmap_init(&d->ptmap);
    d->rtx = (rtc_rtp_rtx_tx_t){.ssrc = d->rtx_ssrc, .seq = d->rtx.seq, .ptmap = &d->ptmap};
    if (rtc_rtp_ptmap_set(&d->ptmap, d->pt_out, RTC_RTP_CODEC_OTHER, d->clock_hz, 1) < 0 ||
        (d->rtx_pt && d->rtx_ssrc &&
         (rtc_rtp_ptmap_set(&d->ptmap, d->rtx_pt, RTC_RTP_CODEC_RTX, d->clock_hz, 1) < 0 ||
          rtc_rtp_ptmap_set_apt(&d->ptmap, d->rtx_pt, d->pt_out) < 0)))
        d->rtx_pt = 0;
    /* Extensions: what both sides negotiated is renumbered; the rest is removed. MID and RID
     * name the publisher's stream (the subscriber routes by its SSRC, announced in our
     * a=ssrc), and transport-cc sequence numbers belong to the publisher's transport. */
    rtc_rtp_extmap_translate(&pub->ext, &sub->ext, d->rw.extmap);
    static const rtc_rtp_ext_kind_t drop[] = {RTC_RTP_EXT_MID, RTC_RTP_EXT_RID,
                                              RTC_RTP_EXT_REPAIRED_RID, RTC_RTP_EXT_TWCC};
    for (size_t i = 0; i < NET_ARRAY_LEN(drop); i++)
        if (pub->ext.id_of[drop[i]])
            d->rw.extmap[pub->ext.id_of[drop[i]]] = 0;
    d->rw.abs_send_id = d->rw.extmap[pub->ext.id_of[RTC_RTP_EXT_ABS_SEND_TIME]]
                            ? sub->ext.id_of[RTC_RTP_EXT_ABS_SEND_TIME]
                            : 0;
    if (!pub->ext.id_of[RTC_RTP_EXT_ABS_SEND_TIME])
        d->rw.abs_send_id = 0;
    return true;
}

/* ---- Forwarding (per packet) ----------------------------------------------------------------- */

/* @ref: where the up's history keeps @p (NULL: not kept); @now: the time it was kept with. */
static void forward(sfu_member_t *sub, sfu_down_t *d, const urtc_rtp_packet_t *p, bool video,
                    uint8_t variant, const rtc_rtp_fwd_ref_t *ref, uint64_t now)
{
    sfu_shard_t *ss = sub->ss;
    if (!sub->connected || !down_refresh(sub, d, p->payload_type, p->codec, variant)) {
        ss->st.drop_not_ready++;
        return;
    }
    if (d->started && p->ssrc != d->src_ssrc)
        d->started = false; /* the publisher's source changed: new offsets, from a keyframe */
    if (!d->started) {
        if (!can_start(p, video)) {
            d->pub->up[d->up].want_pli = true; /* a keyframe, soon */
            ss->st.drop_wait_key++;
            return;
        }
        /* Continuity: the subscriber's stream goes on from where it was (a new source keeps
         * the numbering going, RFC 3550 §5.1 leaves the initial values random). */
        uint16_t next = (uint16_t)(d->last_out_seq + 1);
        d->seq_off = (uint16_t)(next - p->seq);
        uint32_t ts0;
        if (d->tx.pkt_cnt) /* a frame interval (at 30/s) after what this leg sent last */
            ts0 = d->last_out_ts + (d->clock_hz ? d->clock_hz / 30 : 3000);
        else if (rtc_random(&ts0, sizeof ts0) < 0)
            ts0 = 0;
        d->rw.ts_off = ts0 - p->timestamp;
        d->src_ssrc = p->ssrc;
        d->started = true;
    }
    net_pkt_t *pkt = eng_shard_pkt_alloc(ss->sh);
    if (!pkt) {
        ss->st.drop_nobufs++;
        return;
    }
    if (p->len > NET_PKT_MAX_LEN - RTC_SRTP_TAILROOM) {
        net_pkt_free(pkt);
        return;
    }
    uint8_t *b = pkt->data;
    memcpy(b, p->data, p->len); /* the one copy: SRTP encrypts in place per subscriber */
    pkt->len = (uint32_t)p->len;
    uint16_t seq = (uint16_t)(p->seq + d->seq_off);
    /* The rewrite a NACK of this leg repeats (rtc_rtp_fwd_resend) from the up's history. */
    int ret = rtc_rtp_fwd_rewrite(b, pkt->len, &d->rw, seq, d->pt_out, now);
    if (ret == -EPROTO)
        LOG_RATELIMIT(1000, "sfu: header extensions not stripped");
    else if (ret < 0 && ret != -EBADMSG)
        LOG_RATELIMIT(1000, "sfu: abs-send-time not rewritten: %s", strerror(-ret));
    if ((int16_t)(seq - d->last_out_seq) > 0) {
        d->last_out_seq = seq;
        d->last_out_ts = p->timestamp + d->rw.ts_off;
    }
    if (ref && d->leg.e)
        rtc_rtp_fwd_leg_put(&d->leg, seq, *ref, d->pt_out, &d->rw);
    rtc_rtp_tx_stats_on_send(&d->tx, p->timestamp + d->rw.ts_off, now, p->payload_len);
    if (d->loss_every && ++d->loss_cnt % d->loss_every == 0) {
        net_pkt_free(pkt); /* test knob: lost on the way */
        return;
    }
    ss->st.fwd_pkts++;
    ss->st.fwd_bytes += pkt->len;
    (void)eng_peer_send_rtp(sub->pc->peer, pkt, false);
}

/* Every local subscriber of @pub's up @ui gets its copy of @p, which the up's history keeps
 * once for them all (video). */
static void fan_local(sfu_member_t *pub, unsigned ui, const urtc_rtp_packet_t *p, bool video,
                      uint8_t variant)
{
    sfu_up_t *up = &pub->up[ui];
    uint64_t now = eng_shard_now(pub->ss->sh);
    rtc_rtp_fwd_ref_t ref, *kept = NULL;
    if (up->hist.mem) {
        if (rtc_rtp_fwd_hist_put(&up->hist, p->data, p->len, now, &ref) == 0)
            kept = &ref;
        else
            LOG_RATELIMIT(1000, "sfu: packet not kept for retransmission");
    }
    net_list_t *pos, *tmp;
    net_list_for_each_safe (pos, tmp, &pub->room->members) {
        sfu_member_t *sub = container_of(pos, sfu_member_t, node);
        if (sub == pub || sub->gone || sub->remote)
            continue;
        for (unsigned i = 0; i < SFU_MAX_DOWN; i++)
            if (sub->down[i].used && sub->down[i].pub == pub && sub->down[i].up == ui)
                forward(sub, &sub->down[i], p, video, variant, kept, now);
    }
}

static void nack_upstream(sfu_member_t *pub, sfu_up_t *up, uint64_t now);

static void on_rtp(urtc_pc_t *pc, int tr, const urtc_rtp_packet_t *p, void *user)
{
    (void)pc;
    sfu_member_t *pub = user;
    sfu_up_t *up = NULL;
    unsigned ui;
    for (ui = 0; ui < SFU_MAX_UP; ui++)
        if (pub->up[ui].used && pub->up[ui].tr == tr) {
            up = &pub->up[ui];
            break;
        }
    if (!up)
        return; /* a transceiver we do not forward (yet) */
    uint32_t loss = pub->ss->s->cfg.test_uplink_loss;
    if (loss && up->video && ++up->test_loss_cnt % loss == 0)
        return; /* test knob: lost on the way in (a repair may be lost too, as on a network) */
    uint64_t now = eng_shard_now(pub->ss->sh);
    /* One source per track: the first SSRC wins until it has been silent for a second. A
     * simulcast publisher (several SSRCs on one transceiver, RFC 8853) is thus forwarded as one
     * layer, never as a mix of layers under one rewritten SSRC. */
    if (up->rx_init && up->ssrc != p->ssrc && now - up->last_rx_ns < NET_NS_PER_SEC) {
        pub->ss->st.drop_not_ready++;
        return;
    }
    up->last_rx_ns = now;
    if (!up->rx_init || up->ssrc != p->ssrc) {
        const rtc_pc_transceiver_t *t = tr_of(pub, tr);
        up->clock_hz = t && t->kind == RTC_SDP_KIND_AUDIO ? 48000 : 90000;
        rtc_rtp_rx_stats_init(&up->rx, p->ssrc, up->clock_hz, 0);
        if (up->nack) {
            /* Three tries, a round trip apart (nack_upstream); a gap is NACKed as soon as a
             * later packet shows it: a repair must beat the next frame to be useful. */
            rtc_rtp_nack_gen_init(up->nack, ENG_NACK_TRIES, ENG_NACK_MIN_NS);
        }
        up->ssrc = p->ssrc;
        up->rx_init = true;
    }
    (void)rtc_rtp_rx_stats_update(&up->rx, p->seq, p->timestamp, now);
    if (up->nack && pub->connected) {
        (void)rtc_rtp_nack_gen_on_packet(up->nack, p->seq, now);
        if (rtc_rtp_nack_gen_missing(up->nack))
            nack_upstream(pub, up, now);
    }
    if (up->variant_pt != p->payload_type + 1) { /* +1: 0 means not looked up yet */
        const rtc_pc_transceiver_t *t = tr_of(pub, tr);
        up->variant = 0;
        for (unsigned k = 0; t && k < t->neg_cnt; k++)
            if (t->neg[k].pt == p->payload_type)
                up->variant = codec_variant(p->codec, t->neg[k].fmtp);
        up->variant_pt = (uint8_t)(p->payload_type + 1);
    }
    fan_local(pub, ui, p, up->video, up->variant);
    /* The room's other shards get the decrypted packet by reference; each returns it. */
    sfu_shard_t *ss = pub->ss;
    uint64_t others = pub->room->span & ~(1ull << ss->sh->idx);
    codec_id_t cid = p->codec ? codec_from_name(p->codec) : CODEC_NONE;
    net_pkt_t *pkt = others && cid != CODEC_NONE ? pkt_of(ss, p) : NULL;
    for (uint32_t b = 0; pkt && others; b++, others >>= 1) {
        if (!(others & 1))
            continue;
        sfu_xmsg_t x = {.type = X_FWD,
                        .up = (uint8_t)ui,
                        .video = up->video,
                        .member = pub->id,
                        .ptr = net_pkt_ref(pkt),
                        .codec = codec_name(cid),
                        .variant = up->variant};
        if (x_send(ss, b, &x) < 0) {
            net_pkt_free(pkt); /* our own reference, on our own shard */
            ss->st.xshard_drop++;
        } else {
            ss->st.xshard_fwd++;
        }
    }
}

/* ---- RTCP ------------------------------------------------------------------------------------ */

static int send_rtcp(sfu_member_t *m, const uint8_t *buf, size_t len)
{
    int ret = eng_peer_send_copy(m->pc->peer, buf, len, true);
    if (ret == -ENOBUFS)
        m->ss->st.drop_nobufs++;
    return ret;
}

/* RR about @up's stream plus a PLI (RFC 4585 §6.3.1) to the publisher. */
static void send_pli(sfu_member_t *pub, sfu_up_t *up, uint64_t now)
{
    if (!pub->connected || !up->rx_init)
        return;
    uint8_t buf[256];
    rtc_rtcp_wr_t w;
    rtc_rtcp_wr_init(&w, buf, sizeof buf);
    rtc_rtp_wr_report(&w, NULL, pub->rtcp_ssrc, NULL, 0, SFU_CNAME, 0, now);
    (void)rtc_rtcp_wr_pli(&w, pub->rtcp_ssrc, up->ssrc);
    int n = rtc_rtcp_wr_finish(&w);
    if (n > 0 && send_rtcp(pub, buf, (size_t)n) == 0)
        pub->ss->st.pli_tx++;
    up->last_pli_ns = now;
    up->want_pli = false;
}

/* NACKs to the publisher for the packets its leg lost (RR + SDES + generic NACK), each retried
 * a round trip of the publisher's path apart (eng_nack_wait_ns: clamped, plus a quarter).
 *
 * The round trip is the member's pc's own measurement (urtc_pc_t rtt_ns, engine/pc.c): a
 * member that also receives (a WebSocket sfu member: one pc carries its ups and its downs)
 * echoes our SRs about its downs in its report blocks, and A - LSR - DLSR (RFC 3550 §6.4.1) is
 * the round trip of the very path its media comes up. A WHIP publisher (send-only) gets no SR
 * from us and so reports none: nothing measures its path (RFC 3611 XR RRTR/DLRR could; the SFU
 * does not use them), and SFU_NACK_WAIT_NS stays its spacing. */
static void nack_upstream(sfu_member_t *pub, sfu_up_t *up, uint64_t now)
{
    uint64_t wait = eng_nack_wait_ns(pub->pc->rtt_ns, SFU_NACK_WAIT_NS);
    int n =
        eng_rtcp_send_nack(pub->pc->peer, up->nack, pub->rtcp_ssrc, SFU_CNAME, up->ssrc, now, wait);
    if (n > 0)
        pub->ss->st.nack_tx += (uint64_t)n;
}

static sfu_down_t *down_by_ssrc(sfu_member_t *m, uint32_t ssrc)
{
    for (unsigned i = 0; i < SFU_MAX_DOWN; i++)
        if (m->down[i].used && m->down[i].rw.ssrc == ssrc)
            return &m->down[i];
    return NULL;
}

static void answer_nack(sfu_member_t *sub, sfu_down_t *d, const uint16_t *seqs, int n)
{
    sfu_shard_t *ss = sub->ss;
    const sfu_up_t *up = &d->pub->up[d->up];
    if (!d->leg.e || !up->hist.mem) { /* an audio leg: nothing kept */
        ss->st.nack_rx += (uint64_t)n;
        return;
    }
    /* RFC 4588 §4 with the leg's RTX SSRC/PT, or without negotiated RTX the original again. */
    eng_rtx_counts_t c = {0};
    bool rtx = d->rtx_pt && d->rtx_ssrc;
    if (eng_rtx_answer_fwd(sub->pc->peer, &d->leg, &up->hist, rtx ? &d->rtx : NULL, seqs, n,
                           eng_shard_now(ss->sh), &c) > 0)
        d->pub->up[d->up].want_pli = true; /* too old: a keyframe repairs it */
    ss->st.nack_rx += c.nacked;
    ss->st.rtx_sent += c.resent;
    ss->st.drop_nobufs += c.nobufs;
}

static void on_rtcp(urtc_pc_t *pc, const uint8_t *data, size_t len, void *user)
{
    (void)pc;
    sfu_member_t *m = user;
    rtc_rtcp_hdr_t h[16];
    int n = rtc_rtcp_split(data, len, 0, h, NET_ARRAY_LEN(h));
    uint64_t now = eng_shard_now(m->ss->sh);
    for (int i = 0; i < n; i++) {
        rtc_rtcp_sr_t sr;
        if (h[i].pt == RTC_RTCP_SR && rtc_rtcp_sr_parse(&h[i], &sr) == 0) {
            /* A publisher's SR: its NTP time goes back as LSR in our RR (RFC 3550 §6.4.1). */
            for (unsigned u = 0; u < SFU_MAX_UP; u++)
                if (m->up[u].used && m->up[u].rx_init && m->up[u].ssrc == sr.ssrc)
                    rtc_rtp_rx_stats_on_sr(&m->up[u].rx, sr.ntp, now);
            continue;
        }
        rtc_rtcp_fb_t fb;
        if ((h[i].pt != RTC_RTCP_RTPFB && h[i].pt != RTC_RTCP_PSFB) ||
            rtc_rtcp_fb_parse(&h[i], &fb) < 0)
            continue; /* RR/SDES/BYE of the member: terminated here */
        if (h[i].pt == RTC_RTCP_RTPFB && fb.fmt == RTC_RTCP_FMT_NACK) {
            sfu_down_t *d = down_by_ssrc(m, fb.media_ssrc);
            uint16_t seqs[64];
            int k = rtc_rtcp_nack_parse(&fb, seqs, NET_ARRAY_LEN(seqs));
            if (d && k > 0)
                answer_nack(m, d, seqs, k);
        } else if (h[i].pt == RTC_RTCP_PSFB &&
                   (fb.fmt == RTC_RTCP_FMT_PLI || fb.fmt == RTC_RTCP_FMT_FIR)) {
            /* FIR names the SSRC in its FCI (RFC 5104 §4.3.1.2); media SSRC is 0 there. */
            uint32_t ssrc = fb.media_ssrc;
            if (fb.fmt == RTC_RTCP_FMT_FIR && fb.fci.len >= 8)
                ssrc = net_rd32be(fb.fci.p);
            sfu_down_t *d = down_by_ssrc(m, ssrc);
            if (d) {
                m->ss->st.pli_rx++;
                d->pub->up[d->up].want_pli = true;
            }
        }
    }
}

/* Every second or so per member: SR + SDES for what we send it, RR + REMB for what it sends
 * us (RFC 3550 §6.4; draft-alvestrand-rmcat-remb-03). */
static void member_rtcp(sfu_member_t *m, uint64_t now)
{
    sfu_shard_t *ss = m->ss;
    uint8_t buf[1200];
    uint64_t ntp = rtc_rtcp_ntp_from_unix_ns(net_realtime_ns());
    for (unsigned i = 0; i < SFU_MAX_DOWN; i++) {
        sfu_down_t *d = &m->down[i];
        if (!d->used || !d->started || !d->tx.pkt_cnt)
            continue;
        rtc_rtcp_wr_t w;
        rtc_rtcp_wr_init(&w, buf, sizeof buf);
        rtc_rtp_wr_report(&w, &d->tx, d->rw.ssrc, NULL, 0, m->pc->jsep.cname, ntp, now);
        int n = rtc_rtcp_wr_finish(&w);
        if (n > 0 && send_rtcp(m, buf, (size_t)n) == 0)
            ss->st.sr_tx++;
    }
    rtc_rtcp_rb_t rb[SFU_MAX_UP];
    uint32_t ssrcs[SFU_MAX_UP];
    unsigned ns = 0;
    for (unsigned i = 0; i < SFU_MAX_UP; i++) {
        sfu_up_t *up = &m->up[i];
        if (!up->used || !up->rx_init)
            continue;
        rtc_rtp_rx_stats_report(&up->rx, now, &rb[ns]);
        ssrcs[ns++] = up->ssrc;
    }
    if (!ns)
        return;
    rtc_rtcp_wr_t w;
    rtc_rtcp_wr_init(&w, buf, sizeof buf);
    rtc_rtp_wr_report(&w, NULL, m->rtcp_ssrc, rb, ns, SFU_CNAME, ntp, now);
    (void)rtc_rtcp_wr_remb(&w, m->rtcp_ssrc, ss->s->cfg.remb_bps, ssrcs, ns);
    int n = rtc_rtcp_wr_finish(&w);
    if (n > 0 && send_rtcp(m, buf, (size_t)n) == 0) {
        ss->st.rr_tx++;
        ss->st.remb_tx++;
    }
}

/* ---- Membership and negotiation -------------------------------------------------------------- */

/* Frees what @up holds; its down legs are gone already (drop_downs_of). */
static void up_release(sfu_up_t *up)
{
    free(up->nack);
    rtc_rtp_fwd_hist_fini(&up->hist);
    memset(up, 0, sizeof *up);
}

/* Frees the history of @pub's up @ui when no member of the room on this shard has a down leg
 * of it any more (the next leg sets it up again). */
static void up_hist_trim(sfu_member_t *pub, unsigned ui)
{
    net_list_t *pos, *tmp;
    net_list_for_each_safe (pos, tmp, &pub->room->members) {
        const sfu_member_t *sub = container_of(pos, sfu_member_t, node);
        for (unsigned i = 0; !sub->remote && i < SFU_MAX_DOWN; i++)
            if (sub->down[i].used && sub->down[i].pub == pub && sub->down[i].up == ui)
                return;
    }
    rtc_rtp_fwd_hist_fini(&pub->up[ui].hist);
}

static sfu_down_t *down_alloc(sfu_member_t *m)
{
    for (unsigned i = 0; i < SFU_MAX_DOWN; i++)
        if (!m->down[i].used)
            return &m->down[i];
    return NULL;
}

static void down_release(sfu_member_t *m, sfu_down_t *d, bool stop)
{
    /* The transceiver goes inactive and loses its track, so that the next publisher of that
     * kind reuses it (down_transceiver takes an inactive one without a track): the
     * m-section count stays bounded. Not stopped: an offer with rejected (port 0) sections
     * lacks ICE attributes there, which aiortc 1.4 refuses. */
    if (stop && d->tr >= 0 && (unsigned)d->tr < m->pc->jsep.tr_cnt) {
        rtc_pc_transceiver_t *t = &m->pc->jsep.tr[d->tr];
        t->direction = RTC_SDP_DIR_INACTIVE;
        t->track_id[0] = t->stream_id[0] = 0;
        m->need_nego = true;
    }
    rtc_rtp_fwd_leg_fini(&d->leg);
    uint16_t last = d->last_out_seq;
    memset(d, 0, sizeof *d);
    d->last_out_seq = last;
}

static bool is_down_tr(const sfu_member_t *m, int tr)
{
    for (unsigned i = 0; i < SFU_MAX_DOWN; i++)
        if (m->down[i].used && m->down[i].tr == tr)
            return true;
    return false;
}

/* Whether @tr of @m is one of its ups (a track it sends us). */
static bool is_up_tr(const sfu_member_t *m, int tr)
{
    for (unsigned ui = 0; ui < SFU_MAX_UP; ui++)
        if (m->up[ui].used && m->up[ui].tr == tr)
            return true;
    return false;
}

/* A transceiver of @sub that sends a new down of @kind: as W3C addTrack, one without a track
 * is taken over where it can be, so that a WHEP viewer's recvonly sections get media in the
 * first answer and a released down's inactive one is reused (the m-section count stays
 * bounded). Never a section the member sends on (its offer or answer says sendonly or
 * sendrecv, RFC 3264 §6.1): that one carries an up, and a down there would both take the up's
 * transceiver from sync_ups() and never be sent, the answer being recvonly. (urtc_pc's own
 * addTrack reuse does not look at the remote's direction: with two publishers, the first one's
 * tracks took the second one's sendonly sections, so the second was never forwarded.) Else a
 * new send-only transceiver, for the next offer. Returns its index or -errno. */
static int down_transceiver(sfu_member_t *sub, rtc_sdp_kind_t kind, const char *stream,
                            const char *track)
{
    rtc_pc_t *j = &sub->pc->jsep;
    for (unsigned i = 0; i < j->tr_cnt; i++) {
        rtc_pc_transceiver_t *t = &j->tr[i];
        if (t->kind != kind || t->stopped || t->stopping || t->track_id[0] ||
            (t->direction != RTC_SDP_DIR_RECVONLY && t->direction != RTC_SDP_DIR_INACTIVE) ||
            is_up_tr(sub, (int)i) || is_down_tr(sub, (int)i))
            continue;
        rtc_sdp_dir_t rd = rtc_pc_remote_direction(j, i);
        if (rd == RTC_SDP_DIR_SENDONLY || rd == RTC_SDP_DIR_SENDRECV)
            continue;
        t->direction =
            t->direction == RTC_SDP_DIR_RECVONLY ? RTC_SDP_DIR_SENDRECV : RTC_SDP_DIR_SENDONLY;
        snprintf(t->stream_id, sizeof t->stream_id, "%s", stream);
        snprintf(t->track_id, sizeof t->track_id, "%s", track);
        return (int)i;
    }
    int tr = rtc_pc_add_transceiver(j, kind, RTC_SDP_DIR_SENDONLY, stream, track, 0);
    if (tr >= 0)
        eng_pc_negotiation_needed(sub->pc);
    return tr;
}

/* A transceiver on @sub that sends @pub's up @ui. */
static int down_add(sfu_member_t *sub, sfu_member_t *pub, unsigned ui)
{
    for (unsigned i = 0; i < SFU_MAX_DOWN; i++)
        if (sub->down[i].used && sub->down[i].pub == pub && sub->down[i].up == ui)
            return 0;
    sfu_down_t *d = down_alloc(sub);
    if (!d)
        return -ENOSPC;
    sfu_up_t *up = &pub->up[ui];
    /* The up's history, shared by its video legs on this shard: with the first of them. */
    if (up->video && !up->hist.mem &&
        rtc_rtp_fwd_hist_init(&up->hist, ENG_HIST_PKTS, ENG_HIST_SLOT) < 0)
        return -ENOMEM;
    char stream[32], track[48];
    snprintf(stream, sizeof stream, "m%llu", (unsigned long long)pub->id);
    snprintf(track, sizeof track, "m%llu-%s%u", (unsigned long long)pub->id, up->video ? "v" : "a",
             ui);
    unsigned before = sub->pc->jsep.tr_cnt;
    int tr =
        down_transceiver(sub, up->video ? RTC_SDP_KIND_VIDEO : RTC_SDP_KIND_AUDIO, stream, track);
    if (tr < 0)
        return tr;
    /* Our own random SSRCs per leg (RFC 3550 §8.1); urtc_pc derives them from a seed that is
     * the same in every pc, so a subscriber could see its publisher's SSRC otherwise. */
    rtc_pc_transceiver_t *t = &sub->pc->jsep.tr[tr];
    uint32_t ssrcs[2];
    if (rtc_random(ssrcs, sizeof ssrcs) == 0 && ssrcs[0] && ssrcs[1] && ssrcs[0] != ssrcs[1]) {
        t->ssrc = ssrcs[0];
        t->rtx_ssrc = t->rtx_ssrc ? ssrcs[1] : 0;
    }
    memset(d, 0, sizeof *d);
    if (up->video && rtc_rtp_fwd_leg_init(&d->leg, ENG_HIST_PKTS) < 0) {
        (void)rtc_pc_transceiver_stop(&sub->pc->jsep, (unsigned)tr);
        return -ENOMEM;
    }
    d->used = true;
    d->pub = pub;
    d->up = ui;
    d->tr = tr;
    d->pt_in = 0xff;
    d->pt_out = 0xff;
    /* RFC 3550 §5.1: the leg's first sequence number is random (a new SSRC each leg). */
    if (rtc_random(&d->last_out_seq, sizeof d->last_out_seq) < 0)
        d->last_out_seq = 0;
    d->wait_key = up->video;
    d->loss_every = sub->loss_every;
    pub->up[ui].want_pli = up->video; /* RFC 5104 §3.5.1: a new receiver needs a keyframe */
    /* A transceiver a remote offer created (recvonly, WHEP) took the track: the answer in
     * progress carries it; a new one needs a new offer. */
    if ((unsigned)tr >= before || sub->pc->jsep.state != RTC_PC_HAVE_REMOTE_OFFER)
        sub->need_nego = true;
    return 0;
}

/* @sub receives every up of @pub. A member receives at most SFU_MAX_DOWN tracks (its pc's
 * transceivers): in a room with more, the rest is refused, logged at most once a second (a
 * storm of joins into one big room would otherwise write a line per member pair). Returns
 * -ENOSPC when @sub is full. */
static int downs_add(sfu_member_t *sub, sfu_member_t *pub)
{
    for (unsigned ui = 0; ui < SFU_MAX_UP; ui++) {
        int ret = pub->up[ui].used ? down_add(sub, pub, ui) : 0;
        if (ret < 0) {
            LOG_RATELIMIT(1000, "sfu: member %llu cannot receive a track of %llu: %s",
                          (unsigned long long)sub->id, (unsigned long long)pub->id, strerror(-ret));
            if (ret == -ENOSPC)
                return ret;
        }
    }
    return 0;
}

/* Every other member receives every up of @pub. */
static void fan_out_ups(sfu_member_t *pub)
{
    net_list_t *pos, *tmp;
    net_list_for_each_safe (pos, tmp, &pub->room->members) {
        sfu_member_t *sub = container_of(pos, sfu_member_t, node);
        if (sub != pub && !sub->gone && !sub->remote && !sub->waiting)
            (void)downs_add(sub, pub);
    }
}

/* @m receives every up of every other member, until it is full. */
static void fan_in_ups(sfu_member_t *m)
{
    net_list_t *pos, *tmp;
    net_list_for_each_safe (pos, tmp, &m->room->members) {
        sfu_member_t *pub = container_of(pos, sfu_member_t, node);
        if (pub != m && !pub->gone && downs_add(m, pub) == -ENOSPC)
            break;
    }
}

/* Stops every down fed by @pub's up @ui (or all of @pub's ups when @ui < 0). */
static void drop_downs_of(sfu_member_t *pub, int ui)
{
    net_list_t *pos, *tmp;
    net_list_for_each_safe (pos, tmp, &pub->room->members) {
        sfu_member_t *sub = container_of(pos, sfu_member_t, node);
        if (sub == pub || sub->remote)
            continue;
        for (unsigned i = 0; i < SFU_MAX_DOWN; i++)
            if (sub->down[i].used && sub->down[i].pub == pub &&
                (ui < 0 || sub->down[i].up == (unsigned)ui))
                down_release(sub, &sub->down[i], !sub->gone);
    }
}

/* Tells the shards in @mask (the room's other shards) what @m publishes now: X_PUB with its
 * ups and extension ids, or X_UNPUB when @gone. Announcements must not be lost: a full ring
 * is logged (the other shard then misses this publisher until its next change). */
static void announce(sfu_member_t *m, uint64_t mask, bool gone)
{
    sfu_shard_t *ss = m->ss;
    mask &= ~(1ull << ss->sh->idx);
    for (uint32_t b = 0; mask; b++, mask >>= 1) {
        if (!(mask & 1))
            continue;
        sfu_xmsg_t x = {.type = gone ? X_UNPUB : X_PUB, .member = m->id};
        if (!gone) {
            struct sfu_pub_ann *a = calloc(1, sizeof *a);
            if (!a)
                continue;
            snprintf(a->room, sizeof a->room, "%s", m->room->name);
            a->ext = m->ext;
            for (unsigned ui = 0; ui < SFU_MAX_UP; ui++) {
                a->used[ui] = m->up[ui].used;
                a->video[ui] = m->up[ui].video;
            }
            x.ptr = a;
        }
        if (x_send(ss, b, &x) < 0) {
            LOG_WARN("sfu: ring to shard %u full: announcement of member %llu lost", b,
                     (unsigned long long)m->id);
            free(x.ptr);
        }
    }
}

static bool has_ups(const sfu_member_t *m)
{
    for (unsigned ui = 0; ui < SFU_MAX_UP; ui++)
        if (m->up[ui].used)
            return true;
    return false;
}

/* After a negotiation completed: the tracks @m sends us are the transceivers on which we
 * receive (our current direction recvonly or sendrecv) and that are not ours to send. */
static void sync_ups(sfu_member_t *m)
{
    const rtc_pc_t *j = &m->pc->jsep;
    m->nego_gen++;
    load_extmap(m);
    bool added = false, removed = false;
    for (unsigned ui = 0; ui < SFU_MAX_UP; ui++) {
        sfu_up_t *up = &m->up[ui];
        if (!up->used)
            continue;
        const rtc_pc_transceiver_t *t = tr_of(m, up->tr);
        if (!t || t->stopped ||
            (t->current_direction != RTC_SDP_DIR_RECVONLY &&
             t->current_direction != RTC_SDP_DIR_SENDRECV)) {
            drop_downs_of(m, (int)ui);
            up_release(up);
            removed = true;
        }
    }
    for (unsigned i = 0; i < j->tr_cnt; i++) {
        const rtc_pc_transceiver_t *t = &j->tr[i];
        if (t->stopped || t->mline < 0 || is_down_tr(m, (int)i) ||
            (t->kind != RTC_SDP_KIND_AUDIO && t->kind != RTC_SDP_KIND_VIDEO) ||
            (t->current_direction != RTC_SDP_DIR_RECVONLY &&
             t->current_direction != RTC_SDP_DIR_SENDRECV))
            continue;
        bool known = false;
        for (unsigned ui = 0; ui < SFU_MAX_UP && !known; ui++)
            known = m->up[ui].used && m->up[ui].tr == (int)i;
        if (known)
            continue;
        for (unsigned ui = 0; ui < SFU_MAX_UP; ui++) {
            if (m->up[ui].used)
                continue;
            m->up[ui] =
                (sfu_up_t){.used = true, .tr = (int)i, .video = t->kind == RTC_SDP_KIND_VIDEO};
            if (m->up[ui].video)
                m->up[ui].nack = malloc(sizeof *m->up[ui].nack); /* set up by the first packet */
            added = true;
            break;
        }
    }
    if (added)
        fan_out_ups(m);
    if (added || removed)
        announce(m, m->room->span, false);
}

/* Sends a server offer when one is due and the member is stable. */
static void maybe_offer(sfu_member_t *m)
{
    if (m->remote || m->waiting || !m->need_nego || m->gone || m->pc->jsep.state != RTC_PC_STABLE)
        return;
    char *sdp = m->ss->sdp;
    int n = urtc_pc_create_offer(m->pc, sdp, SFU_SDP_CAP);
    if (n < 0 || urtc_pc_set_local_description(m->pc, URTC_SDP_OFFER, sdp) < 0) {
        emit(m->ss, ENG_SFU_EV_ERROR, m->id, n < 0 ? n : -EPROTO, urtc_pc_last_error(m->pc));
        return;
    }
    m->need_nego = false;
    emit(m->ss, ENG_SFU_EV_OFFER, m->id, 0, sdp);
}

static void member_free(sfu_member_t *m)
{
    while (m->held) {
        struct sfu_chat_held *h = m->held;
        m->held = h->next;
        free(h);
    }
    for (unsigned ui = 0; ui < SFU_MAX_UP; ui++)
        up_release(&m->up[ui]);
    free(m->pending_offer);
    for (unsigned i = 0; i < SFU_MAX_DOWN; i++)
        rtc_rtp_fwd_leg_fini(&m->down[i].leg);
    free(m);
}

/* Takes @m out of its room now: its downs and the downs it fed elsewhere go, its pc closes. */
static void mtab_del(sfu_shard_t *ss, const sfu_member_t *m);

static void member_remove(sfu_member_t *m)
{
    sfu_shard_t *ss = m->ss;
    sfu_room_t *room = m->room;
    m->gone = true;
    drop_downs_of(m, -1);
    net_list_del(&m->node);
    /* Its legs go, and with the last leg of an up on this shard, that up's history. */
    for (unsigned i = 0; i < SFU_MAX_DOWN; i++) {
        sfu_down_t *d = &m->down[i];
        if (!d->used)
            continue;
        sfu_member_t *pub = d->pub;
        unsigned ui = d->up;
        down_release(m, d, false);
        up_hist_trim(pub, ui);
    }
    mtab_del(ss, m);
    room->cnt--;
    if (m->remote) {
        member_free(m); /* a proxy (its ups' histories): its home shard reports its member */
    } else {
        if (has_ups(m))
            announce(m, room->span, true);
        room->local--;
        urtc_pc_close(m->pc); /* no callback after this */
        emit(ss, ENG_SFU_EV_GONE, m->id, 0, NULL);
        member_free(m);
    }
    if (!room->cnt) {
        net_list_del(&room->node);
        free(room);
    } else {
        net_list_t *pos, *tmp;
        net_list_for_each_safe (pos, tmp, &room->members)
            maybe_offer(container_of(pos, sfu_member_t, node));
    }
}

static void on_state(urtc_pc_t *pc, urtc_pc_state_t st, void *user)
{
    (void)pc;
    sfu_member_t *m = user;
    uint64_t now = eng_shard_now(m->ss->sh);
    if (st == URTC_PC_CONNECTED) {
        m->disconnected_ns = 0;
        if (!m->connected) {
            m->connected = true;
            emit(m->ss, ENG_SFU_EV_CONNECTED, m->id, 0, NULL);
            for (unsigned ui = 0; ui < SFU_MAX_UP; ui++)
                if (m->up[ui].used && m->up[ui].video)
                    m->up[ui].want_pli = true;
        }
    } else if (st == URTC_PC_DISCONNECTED) {
        if (!m->disconnected_ns)
            m->disconnected_ns = now;
    } else if (st == URTC_PC_FAILED || st == URTC_PC_CLOSED) {
        m->gone = true; /* removed by the next tick, outside the pc's callback */
    }
}

/* A peer that closes DTLS (close_notify, RFC 5246 §7.2.1) is leaving: removed at the next
 * tick rather than after consent expiry. */
static void on_dtls_state(urtc_pc_t *pc, urtc_dtls_state_t st, void *user)
{
    (void)pc;
    sfu_member_t *m = user;
    if (st == URTC_DTLS_CLOSED || st == URTC_DTLS_FAILED)
        m->gone = true;
}

static void on_candidate(urtc_pc_t *pc, const char *cand, const char *mid, void *user)
{
    (void)pc, (void)mid;
    sfu_member_t *m = user;
    if (m->announced) /* the first ones are in the first description */
        emit(m->ss, ENG_SFU_EV_CANDIDATE, m->id, 0, cand);
}

static void chat_send(sfu_member_t *m, const uint8_t *data, size_t len, bool binary)
{
    int ret = urtc_dc_send(m->pc, m->chat_dc, data, len, binary);
    if (ret < 0) {
        m->ss->st.chat_dropped++;
        LOG_RATELIMIT(1000, "sfu: chat message not relayed to member %llu: %s",
                      (unsigned long long)m->id, strerror(-ret));
    }
}

/* Relays to @m, or holds the message until its channel opens. W3C send() on a channel that is
 * not open yet is an error, so the relay must keep what arrives in between, or a member whose
 * association comes up after others have spoken loses their messages (sfu_lossy holds 2-5 per
 * run for the bot that joins second). A member whose negotiation has no data channel (WHIP)
 * gets nothing. */
static void chat_to(sfu_member_t *m, const uint8_t *data, size_t len, bool binary)
{
    if (m->chat_open) {
        chat_send(m, data, len, binary);
        return;
    }
    if (!eng_dc_may_open(m->pc))
        return;
    struct sfu_chat_held *h = NULL;
    if (m->held_cnt < SFU_CHAT_HELD && m->held_bytes + len <= SFU_CHAT_HELD_BYTES)
        h = malloc(sizeof *h + len);
    if (!h) {
        m->ss->st.chat_dropped++;
        LOG_RATELIMIT(1000, "sfu: chat message not held for member %llu: %u held",
                      (unsigned long long)m->id, m->held_cnt);
        return;
    }
    h->next = NULL;
    h->binary = binary;
    h->len = len;
    memcpy(h->data, data, len);
    if (!m->held)
        m->held_tail = &m->held;
    *m->held_tail = h;
    m->held_tail = &h->next;
    m->held_cnt++;
    m->held_bytes += len;
    m->ss->st.chat_held++;
}

static void on_dc_open(urtc_pc_t *pc, int dc, void *user)
{
    (void)pc;
    sfu_member_t *m = user;
    if (dc != m->chat_dc || m->chat_open)
        return;
    m->chat_open = true;
    while (m->held) {
        struct sfu_chat_held *h = m->held;
        m->held = h->next;
        chat_send(m, h->data, h->len, h->binary);
        free(h);
    }
    m->held_cnt = 0;
    m->held_bytes = 0;
}

/* The room's chat: what a member sends on its "chat" channel goes to every other member's, on
 * every shard of the room. */
static void chat_local(sfu_room_t *room, const sfu_member_t *from, const uint8_t *data, size_t len,
                       bool binary)
{
    net_list_t *pos, *tmp;
    net_list_for_each_safe (pos, tmp, &room->members) {
        sfu_member_t *m = container_of(pos, sfu_member_t, node);
        if (m != from && !m->remote && !m->gone && m->chat_dc >= 0)
            chat_to(m, data, len, binary);
    }
}

static void on_dc_message(urtc_pc_t *pc, int dc, const uint8_t *data, size_t len, bool binary,
                          void *user)
{
    (void)pc;
    sfu_member_t *m = user;
    if (dc != m->chat_dc)
        return;
    chat_local(m->room, m, data, len, binary);
    sfu_shard_t *ss = m->ss;
    uint64_t others = m->room->span & ~(1ull << ss->sh->idx);
    for (uint32_t b = 0; others; b++, others >>= 1) {
        if (!(others & 1))
            continue;
        struct sfu_chat *c = malloc(sizeof *c + len);
        if (!c)
            continue;
        snprintf(c->room, sizeof c->room, "%s", m->room->name);
        c->binary = binary;
        c->len = len;
        memcpy(c->data, data, len);
        sfu_xmsg_t x = {.type = X_CHAT, .member = m->id, .ptr = c};
        if (x_send(ss, b, &x) < 0)
            free(c);
    }
}

static const urtc_pc_callbacks_t member_cbs = {.on_state = on_state,
                                               .on_dc_open = on_dc_open,
                                               .on_dc_message = on_dc_message,
                                               .on_dtls_state = on_dtls_state,
                                               .on_rtp = on_rtp,
                                               .on_rtcp = on_rtcp,
                                               .on_ice_candidate = on_candidate};

/* ---- Shard side of the commands -------------------------------------------------------------- */

enum cmd_type {
    CMD_JOIN = 1,
    CMD_ANSWER,
    CMD_OFFER,
    CMD_CANDIDATE,
    CMD_LEAVE,
    CMD_LOSS,
    CMD_ATTACH,
    CMD_SPAN
};

typedef struct sfu_cmd {
    eng_sfu_t *s;
    enum cmd_type type;
    uint64_t member;
    uint32_t u32;
    uint64_t span;
    char room[SFU_ROOM_LEN];
    char *text;
} sfu_cmd_t;

static void sfu_tick(net_timer_t *t, uint64_t now);

static uint32_t mtab_hash(uint64_t id)
{
    return (uint32_t)((id * 0x9E3779B97F4A7C15ull) >> 32);
}

static sfu_member_t *find_member(sfu_shard_t *ss, uint64_t id)
{
    if (!ss->mtab)
        return NULL;
    for (uint32_t i = mtab_hash(id) & ss->mtab_mask; ss->mtab[i]; i = (i + 1) & ss->mtab_mask)
        if (ss->mtab[i]->id == id)
            return ss->mtab[i];
    return NULL;
}

static void mtab_insert(sfu_member_t **tab, uint32_t mask, sfu_member_t *m)
{
    uint32_t i = mtab_hash(m->id) & mask;
    while (tab[i])
        i = (i + 1) & mask;
    tab[i] = m;
}

/* 0 or -ENOMEM. */
static int mtab_put(sfu_shard_t *ss, sfu_member_t *m)
{
    if ((ss->mtab_cnt + 1) * 2 > ss->mtab_mask + 1 || !ss->mtab) {
        uint32_t cap = ss->mtab ? (ss->mtab_mask + 1) * 2 : 64;
        sfu_member_t **tab = calloc(cap, sizeof *tab);
        if (!tab)
            return -ENOMEM;
        for (uint32_t i = 0; ss->mtab && i <= ss->mtab_mask; i++)
            if (ss->mtab[i])
                mtab_insert(tab, cap - 1, ss->mtab[i]);
        free(ss->mtab);
        ss->mtab = tab;
        ss->mtab_mask = cap - 1;
    }
    mtab_insert(ss->mtab, ss->mtab_mask, m);
    ss->mtab_cnt++;
    return 0;
}

/* Backward-shift deletion: no tombstones, lookups stay short. */
static void mtab_del(sfu_shard_t *ss, const sfu_member_t *m)
{
    if (!ss->mtab)
        return;
    uint32_t mask = ss->mtab_mask, i = mtab_hash(m->id) & mask;
    while (ss->mtab[i] != m) {
        if (!ss->mtab[i])
            return;
        i = (i + 1) & mask;
    }
    ss->mtab[i] = NULL;
    ss->mtab_cnt--;
    for (uint32_t j = (i + 1) & mask; ss->mtab[j]; j = (j + 1) & mask) {
        uint32_t k = mtab_hash(ss->mtab[j]->id) & mask;
        /* Move it back into the hole unless its home k lies cyclically in (i, j]. */
        bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (!stays) {
            ss->mtab[i] = ss->mtab[j];
            ss->mtab[j] = NULL;
            i = j;
        }
    }
}

static sfu_room_t *room_get(sfu_shard_t *ss, const char *name)
{
    net_list_t *pos, *tmp;
    net_list_for_each_safe (pos, tmp, &ss->rooms) {
        sfu_room_t *r = container_of(pos, sfu_room_t, node);
        if (strcmp(r->name, name) == 0)
            return r;
    }
    sfu_room_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    snprintf(r->name, sizeof r->name, "%s", name);
    net_list_init(&r->members);
    net_list_add_tail(&ss->rooms, &r->node);
    uint64_t soon = eng_shard_now(ss->sh) + SFU_TICK_NS;
    if (ss->tick_on && net_timer_due(&ss->tick) > soon)
        net_timer_arm(eng_shard_timers(ss->sh), &ss->tick, soon);
    return r;
}

/* Applies a remote offer and answers it, as the polite peer on glare (RFC 8829 §4.1.8.2
 * rollback; W3C "perfect negotiation"). */
static int member_answer_offer(sfu_member_t *m, const char *offer)
{
    sfu_shard_t *ss = m->ss;
    if (m->pc->jsep.state == RTC_PC_HAVE_LOCAL_OFFER) {
        if (urtc_pc_set_local_description(m->pc, URTC_SDP_ROLLBACK, NULL) < 0)
            return -EPROTO;
        m->need_nego = true; /* our changes go in a later offer */
    }
    int ret = urtc_pc_set_remote_description(m->pc, URTC_SDP_OFFER, offer);
    if (ret < 0)
        return ret;
    fan_in_ups(m); /* offered recvonly sections take publishers' tracks */
    int n = urtc_pc_create_answer(m->pc, ss->sdp, SFU_SDP_CAP);
    if (n < 0)
        return n;
    if ((ret = urtc_pc_set_local_description(m->pc, URTC_SDP_ANSWER, ss->sdp)) < 0)
        return ret;
    m->announced = true;
    emit(ss, ENG_SFU_EV_ANSWER, m->id, 0, ss->sdp);
    sync_ups(m);
    return 0;
}

static void join_finish(sfu_member_t *m, const char *offer);

static void cmd_join(sfu_shard_t *ss, sfu_cmd_t *c)
{
    if (find_member(ss, c->member)) {
        emit(ss, ENG_SFU_EV_ERROR, c->member, -EEXIST, "member already in a room");
        return;
    }
    sfu_room_t *room = room_get(ss, c->room);
    sfu_member_t *m = room ? calloc(1, sizeof *m) : NULL;
    if (!m) {
        if (room && !room->cnt) {
            net_list_del(&room->node);
            free(room);
        }
        emit(ss, ENG_SFU_EV_ERROR, c->member, -ENOMEM, "out of memory");
        emit(ss, ENG_SFU_EV_GONE, c->member, 0, NULL);
        return;
    }
    m->ss = ss;
    m->id = c->member;
    m->room = room;
    m->joined_ns = eng_shard_now(ss->sh);
    if (rtc_random(&m->rtcp_ssrc, sizeof m->rtcp_ssrc) < 0)
        m->rtcp_ssrc = (uint32_t)m->id * 2654435761u;
    urtc_pc_config_t cfg = {.ice_lite = true, .cname = SFU_CNAME};
    m->pc = urtc_pc_create((urtc_shard_t *)ss->sh, &cfg, &member_cbs, m);
    if (!m->pc) {
        free(m);
        if (!room->cnt) {
            net_list_del(&room->node);
            free(room);
        }
        emit(ss, ENG_SFU_EV_ERROR, c->member, -ENOSPC, "shard full");
        emit(ss, ENG_SFU_EV_GONE, c->member, 0, NULL);
        return;
    }
    m->pc->jsep.ice_lite = true; /* a=ice-lite in our descriptions (RFC 8839 §5.3) */
    m->pc->rtcp_by_owner = true; /* per-leg reports, NACKs and histories are ours (below) */
    /* The room's chat channel, as the demo page opens it: negotiated, id 0. Our offers carry
     * an application section for it; an offer without one leaves it unopened. */
    urtc_dc_init_t dci = {
        .negotiated = true, .id = 0, .max_retransmits = -1, .max_packet_lifetime_ms = -1};
    m->chat_dc = urtc_pc_create_data_channel(m->pc, "chat", &dci);
    if (mtab_put(ss, m) < 0) {
        urtc_pc_close(m->pc);
        free(m);
        if (!room->cnt) {
            net_list_del(&room->node);
            free(room);
        }
        emit(ss, ENG_SFU_EV_ERROR, c->member, -ENOMEM, "out of memory");
        emit(ss, ENG_SFU_EV_GONE, c->member, 0, NULL);
        return;
    }
    net_list_add_tail(&room->members, &m->node);
    room->cnt++;
    room->local++;
    room->span |= c->span | 1ull << ss->sh->idx;
    m->next_rtcp_ns = eng_rtcp_next_ns(m->joined_ns, true);
    uint64_t others = room->span & ~(1ull << ss->sh->idx);
    for (uint32_t b = 0; others; b++, others >>= 1) {
        if (!(others & 1))
            continue;
        sfu_xmsg_t x = {.type = X_HELLO, .member = m->id, .ptr = strdup(room->name)};
        if (x.ptr && x_send(ss, b, &x) == 0)
            m->acks_left++;
        else
            free(x.ptr);
    }
    if (m->acks_left) {
        m->waiting = true;
        m->pending_offer = c->text; /* taken over */
        c->text = NULL;
        return;
    }
    join_finish(m, c->text);
}

/* The second half of a join, once the room's publishers are known here. */
static void join_finish(sfu_member_t *m, const char *offer)
{
    sfu_shard_t *ss = m->ss;
    sfu_room_t *room = m->room;
    m->waiting = false;
    int ret = 0;
    if (offer) {
        ret = member_answer_offer(m, offer);
    } else {
        fan_in_ups(m); /* the chat channel's section carries the transport if nothing else */
        m->need_nego = true;
        maybe_offer(m);
        m->announced = true;
    }
    if (ret < 0) {
        emit(ss, ENG_SFU_EV_ERROR, m->id, ret, urtc_pc_last_error(m->pc));
        member_remove(m);
        return;
    }
    net_list_t *pos, *tmp;
    net_list_for_each_safe (pos, tmp, &room->members)
        maybe_offer(container_of(pos, sfu_member_t, node));
}

static sfu_room_t *room_find(sfu_shard_t *ss, const char *name)
{
    net_list_t *pos, *tmp;
    net_list_for_each_safe (pos, tmp, &ss->rooms) {
        sfu_room_t *r = container_of(pos, sfu_room_t, node);
        if (strcmp(r->name, name) == 0)
            return r;
    }
    return NULL;
}

/* The room now lives on the shards of c->span: new shards learn our publishers. */
static void cmd_span(sfu_shard_t *ss, const sfu_cmd_t *c)
{
    sfu_room_t *room = room_find(ss, c->room);
    if (!room)
        return;
    uint64_t added = c->span & ~room->span;
    net_list_t *pos, *tmp;
    if (!(c->span & 1ull << ss->sh->idx) && !room->local) {
        /* None of ours is left: the proxies go (their X_UNPUB will not come here). */
        net_list_for_each_safe (pos, tmp, &room->members) {
            bool last = room->cnt == 1;
            member_remove(container_of(pos, sfu_member_t, node));
            if (last)
                return;
        }
        return;
    }
    room->span = c->span | 1ull << ss->sh->idx;
    net_list_for_each_safe (pos, tmp, &room->members) {
        sfu_member_t *m = container_of(pos, sfu_member_t, node);
        if (!m->remote && !m->gone && has_ups(m))
            announce(m, added, false);
    }
}

/* A member of another shard publishes (or changed its tracks): its proxy here. */
static void x_pub(sfu_shard_t *ss, uint32_t from, uint64_t id, struct sfu_pub_ann *a)
{
    sfu_room_t *room = room_get(ss, a->room);
    if (!room)
        return;
    sfu_member_t *p = NULL;
    net_list_t *pos, *tmp;
    net_list_for_each_safe (pos, tmp, &room->members) {
        sfu_member_t *m = container_of(pos, sfu_member_t, node);
        if (m->id == id)
            p = m;
    }
    if (p && !p->remote)
        return; /* cannot happen: ids are unique */
    if (!p) {
        if (!(p = calloc(1, sizeof *p)))
            return;
        p->remote = true;
        p->home = from;
        p->id = id;
        p->ss = ss;
        p->room = room;
        if (mtab_put(ss, p) < 0) {
            free(p);
            if (!room->cnt) {
                net_list_del(&room->node);
                free(room);
            }
            return;
        }
        net_list_add_tail(&room->members, &p->node);
        room->cnt++;
    }
    p->ext = a->ext;
    p->nego_gen++;
    bool added = false;
    for (unsigned ui = 0; ui < SFU_MAX_UP; ui++) {
        if (p->up[ui].used && !a->used[ui]) {
            drop_downs_of(p, (int)ui);
            up_release(&p->up[ui]);
        } else if (!p->up[ui].used && a->used[ui]) {
            p->up[ui] = (sfu_up_t){.used = true, .tr = -1, .video = a->video[ui]};
            added = true;
        }
    }
    if (added)
        fan_out_ups(p);
    net_list_for_each_safe (pos, tmp, &room->members)
        maybe_offer(container_of(pos, sfu_member_t, node));
}

static void x_handle(sfu_shard_t *ss, uint32_t from, sfu_xmsg_t *x)
{
    eng_sfu_t *s = ss->s;
    sfu_member_t *m = find_member(ss, x->member);
    switch (x->type) {
    case X_FWD: {
        net_pkt_t *pkt = x->ptr;
        rtc_rtp_pkt_t r;
        if (m && m->remote && x->up < SFU_MAX_UP && m->up[x->up].used &&
            rtc_rtp_parse(pkt->data, pkt->len, &r) >= 0) {
            urtc_rtp_packet_t p = {.data = pkt->data,
                                   .len = pkt->len,
                                   .payload_type = r.pt,
                                   .seq = r.seq,
                                   .timestamp = r.ts,
                                   .ssrc = r.ssrc,
                                   .marker = r.marker,
                                   .payload = r.buf + r.hdr_len,
                                   .payload_len = r.payload_len,
                                   .codec = x->codec};
            fan_local(m, x->up, &p, x->video, x->variant);
        }
        /* The owner frees it: a slot goes back to its pool on the pool's thread only. The
         * caller made sure the return ring has room. */
        sfu_xmsg_t ret = {.type = X_RET, .ptr = pkt};
        if (xring_push(&s->xret[ss->sh->idx * s->cnt + from], &ret) == 0)
            ss->wake_mask |= 1ull << from;
        else
            LOG_RATELIMIT(1000, "sfu: return ring full: a packet slot leaks");
        break;
    }
    case X_PUB:
        x_pub(ss, from, x->member, x->ptr);
        free(x->ptr);
        break;
    case X_UNPUB:
        if (m && m->remote)
            member_remove(m); /* frees the room with its last member */
        break;
    case X_PLI:
        if (m && !m->remote && x->up < SFU_MAX_UP && m->up[x->up].used)
            m->up[x->up].want_pli = true;
        break;
    case X_HELLO: {
        /* A member joins the room on shard @from: our publishers first, then the ack (the
         * ring keeps the order). */
        sfu_room_t *room = room_find(ss, x->ptr);
        free(x->ptr);
        if (room) {
            net_list_t *pos, *tmp;
            net_list_for_each_safe (pos, tmp, &room->members) {
                sfu_member_t *p = container_of(pos, sfu_member_t, node);
                if (!p->remote && !p->gone && has_ups(p))
                    announce(p, 1ull << from, false);
            }
        }
        sfu_xmsg_t ack = {.type = X_ACK, .member = x->member};
        if (x_send(ss, from, &ack) < 0)
            LOG_WARN("sfu: ring to shard %u full: a join there waits for its timeout", from);
        break;
    }
    case X_CHAT: {
        struct sfu_chat *c = x->ptr;
        sfu_room_t *room = room_find(ss, c->room);
        if (room)
            chat_local(room, NULL, c->data, c->len, c->binary);
        free(c);
        break;
    }
    case X_ACK:
        if (m && m->waiting && !m->remote && --m->acks_left == 0) {
            char *offer = m->pending_offer;
            m->pending_offer = NULL;
            join_finish(m, offer);
            free(offer);
        }
        break;
    default:
        break;
    }
}

uint64_t eng_sfu_shard_tick(eng_shard_t *sh, uint64_t now_ns)
{
    (void)now_ns;
    sfu_shard_t *ss = sh->sfu;
    if (!ss)
        return UINT64_MAX;
    eng_sfu_t *s = ss->s;
    uint32_t me = sh->idx;
    bool more = false;
    for (uint32_t from = 0; s->xdata && from < s->cnt; from++) {
        if (from == me)
            continue;
        sfu_xmsg_t x;
        sfu_xring_t *back = &s->xret[from * s->cnt + me];
        while (xring_pop(back, &x))
            net_pkt_free(x.ptr); /* our packet, back from shard @from */
        sfu_xring_t *in = &s->xdata[from * s->cnt + me];
        sfu_xring_t *ret_out = &s->xret[me * s->cnt + from];
        unsigned n = 0;
        /* A forward is taken only when its return fits: references never get stuck. */
        while (n < 1024 && !xring_full(ret_out) && xring_pop(in, &x)) {
            x_handle(ss, from, &x);
            n++;
        }
        if (n == 1024)
            more = true;
    }
    uint64_t mask = ss->wake_mask;
    ss->wake_mask = 0;
    for (uint32_t b = 0; mask; b++, mask >>= 1) {
        if (!(mask & 1))
            continue;
        uint64_t one = 1;
        ssize_t w = write(net_queue_fd(s->e->shards[b].cmdq), &one, sizeof one);
        (void)w; /* EAGAIN: the counter is set, the shard wakes anyway */
    }
    return more ? 0 : UINT64_MAX;
}

static void sfu_cmd(eng_shard_t *sh, void *arg, uint64_t u64)
{
    (void)u64;
    sfu_cmd_t *c = arg;
    sfu_shard_t *ss = &c->s->shards[eng_shard_index(sh)];
    ss->sh = sh;
    sh->sfu = ss;
    if (!ss->tick_on) {
        ss->tick_on = true;
        net_timer_init(&ss->tick, sfu_tick);
        net_timer_arm(eng_shard_timers(sh), &ss->tick, eng_shard_now(sh) + SFU_TICK_NS);
    }
    if (c->type == CMD_JOIN) {
        cmd_join(ss, c);
        goto out;
    }
    if (c->type == CMD_ATTACH)
        goto out;
    if (c->type == CMD_SPAN) {
        cmd_span(ss, c);
        goto out;
    }
    sfu_member_t *m = find_member(ss, c->member);
    if (!m || m->gone || m->remote)
        goto out;
    int ret = 0;
    switch (c->type) {
    case CMD_ANSWER:
        ret = urtc_pc_set_remote_description(m->pc, URTC_SDP_ANSWER, c->text);
        if (ret == 0) {
            sync_ups(m);
            net_list_t *pos, *tmp;
            net_list_for_each_safe (pos, tmp, &m->room->members)
                maybe_offer(container_of(pos, sfu_member_t, node));
        }
        break;
    case CMD_OFFER:
        ret = member_answer_offer(m, c->text);
        if (ret == 0) {
            net_list_t *pos, *tmp;
            net_list_for_each_safe (pos, tmp, &m->room->members)
                maybe_offer(container_of(pos, sfu_member_t, node));
        }
        break;
    case CMD_CANDIDATE:
        ret = urtc_pc_add_ice_candidate(m->pc, c->text);
        break;
    case CMD_LEAVE:
        member_remove(m);
        break;
    case CMD_LOSS:
        m->loss_every = c->u32;
        for (unsigned i = 0; i < SFU_MAX_DOWN; i++)
            m->down[i].loss_every = c->u32;
        break;
    default:
        break;
    }
    if (ret < 0)
        emit(ss, ENG_SFU_EV_ERROR, c->member, ret, urtc_pc_last_error(m->pc));
out:
    free(c->text);
    free(c);
}

static void publish_stats(sfu_shard_t *ss)
{
    uint64_t rooms = 0, members = 0;
    net_list_t *pos, *tmp;
    net_list_for_each_safe (pos, tmp, &ss->rooms) {
        uint32_t local = container_of(pos, sfu_room_t, node)->local;
        rooms += local > 0;
        members += local;
    }
    ss->st.rooms = rooms;
    ss->st.members = members;
    const uint64_t *src = (const uint64_t *)&ss->st;
    uint64_t *dst = (uint64_t *)&ss->pub;
    for (size_t i = 0; i < sizeof ss->st / sizeof(uint64_t); i++)
        __atomic_store_n(&dst[i], src[i], __ATOMIC_RELAXED);
}

static void sfu_tick(net_timer_t *t, uint64_t now)
{
    sfu_shard_t *ss = container_of(t, sfu_shard_t, tick);
    net_list_t *rp, *rt;
    net_list_for_each_safe (rp, rt, &ss->rooms) {
        sfu_room_t *room = container_of(rp, sfu_room_t, node);
        net_list_t *pos, *tmp;
        /* Cleanup first (a removal can free the room, so it is the last use of it). */
        bool room_freed = false;
        net_list_for_each_safe (pos, tmp, &room->members) {
            sfu_member_t *m = container_of(pos, sfu_member_t, node);
            if (m->remote)
                continue;
            bool expired =
                (!m->connected && now - m->joined_ns > SFU_CONNECT_TIMEOUT_NS) ||
                (m->disconnected_ns && now - m->disconnected_ns > SFU_DISCONNECTED_TIMEOUT_NS);
            if (m->gone || expired) {
                if (expired && !m->gone && m->pc) /* counted in the shard's ICE/DTLS failures */
                    eng_peer_give_up(m->pc->peer);
                bool last = room->cnt == 1;
                member_remove(m);
                if (last) {
                    room_freed = true;
                    break;
                }
            }
        }
        if (room_freed)
            continue;
        net_list_for_each_safe (pos, tmp, &room->members) {
            sfu_member_t *m = container_of(pos, sfu_member_t, node);
            for (unsigned ui = 0; ui < SFU_MAX_UP; ui++) {
                sfu_up_t *up = &m->up[ui];
                if (!up->used || !up->want_pli || now - up->last_pli_ns < SFU_PLI_MIN_NS)
                    continue;
                if (!m->remote) {
                    send_pli(m, up, now);
                    continue;
                }
                /* The publisher is on its home shard: ask it there (it throttles again). */
                sfu_xmsg_t x = {.type = X_PLI, .up = (uint8_t)ui, .member = m->id};
                if (x_send(ss, m->home, &x) == 0) {
                    up->last_pli_ns = now;
                    up->want_pli = false;
                }
            }
            if (m->remote)
                continue;
            for (unsigned ui = 0; ui < SFU_MAX_UP && m->connected; ui++)
                if (m->up[ui].used && m->up[ui].nack && m->up[ui].rx_init)
                    nack_upstream(m, &m->up[ui], now);
            if (m->connected && now >= m->next_rtcp_ns) {
                member_rtcp(m, now);
                m->next_rtcp_ns = eng_rtcp_next_ns(now, false);
            }
            maybe_offer(m);
        }
    }
    publish_stats(ss);
    /* A shard without rooms ticks twice a second (nothing to do); rooms bring it back. */
    net_timer_arm(eng_shard_timers(ss->sh), &ss->tick,
                  now + (net_list_empty(&ss->rooms) ? SFU_IDLE_TICK_NS : SFU_TICK_NS));
}

/* ---- Control thread ------------------------------------------------------------------------- */

static int post(eng_sfu_t *s, uint32_t shard, enum cmd_type type, uint64_t member, const char *room,
                const char *text, uint32_t u32);
static int post_full(eng_sfu_t *s, uint32_t shard, enum cmd_type type, uint64_t member,
                     const char *room, const char *text, uint32_t u32, uint64_t span);

eng_sfu_t *eng_sfu_create(eng_t *e, const eng_sfu_cfg_t *cfg)
{
    eng_sfu_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->e = e;
    if (cfg)
        s->cfg = *cfg;
    if (!s->cfg.room_max_per_shard)
        s->cfg.room_max_per_shard = 64;
    if (!s->cfg.remb_bps)
        s->cfg.remb_bps = 2000000;
    s->cnt = eng_shard_count(e);
    s->shards = calloc(s->cnt, sizeof *s->shards);
    if (!s->shards)
        goto fail;
    for (uint32_t i = 0; i < s->cnt; i++) {
        sfu_shard_t *ss = &s->shards[i];
        ss->s = s;
        net_list_init(&ss->rooms);
        ss->evq = net_queue_create(4096, sizeof(eng_sfu_ev_t));
        ss->sdp = malloc(SFU_SDP_CAP);
        if (!ss->evq || !ss->sdp)
            goto fail;
    }
    /* Rooms span at most 64 shards (the span is a bit mask); beyond, rooms stay on one. */
    if (s->cnt > 1 && s->cnt <= 64) {
        /* Zeroed pages cost nothing until a pair of shards exchanges packets. */
        s->xdata = calloc((size_t)s->cnt * s->cnt, sizeof *s->xdata);
        s->xret = calloc((size_t)s->cnt * s->cnt, sizeof *s->xret);
        if (!s->xdata || !s->xret)
            goto fail;
    }
    for (uint32_t i = 0; i < s->cnt; i++)
        if (post(s, i, CMD_ATTACH, 0, NULL, NULL, 0) < 0)
            goto fail;
    return s;
fail:
    eng_sfu_destroy(s);
    return NULL;
}

void eng_sfu_destroy(eng_sfu_t *s)
{
    if (!s)
        return;
    for (uint32_t i = 0; s->shards && i < s->cnt; i++) {
        sfu_shard_t *ss = &s->shards[i];
        if (ss->rooms.next) {
            net_list_t *rp, *rt;
            net_list_for_each_safe (rp, rt, &ss->rooms) {
                sfu_room_t *room = container_of(rp, sfu_room_t, node);
                net_list_t *pos, *tmp;
                /* The engine is gone: the pcs went with its peers. */
                net_list_for_each_safe (pos, tmp, &room->members)
                    member_free(container_of(pos, sfu_member_t, node));
                free(room);
            }
        }
        if (ss->evq) {
            eng_sfu_ev_t ev;
            while (net_queue_pop(ss->evq, &ev))
                free(ev.text);
            net_queue_destroy(ss->evq);
        }
        free(ss->sdp);
        free(ss->mtab);
    }
    /* The engine is gone: packets still in the rings went with their pools; announcements
     * are ours to free. */
    for (size_t i = 0; s->xdata && i < (size_t)s->cnt * s->cnt; i++) {
        sfu_xmsg_t x;
        while (xring_pop(&s->xdata[i], &x))
            if (x.type == X_PUB || x.type == X_HELLO || x.type == X_CHAT)
                free(x.ptr);
    }
    free(s->xdata);
    free(s->xret);
    free(s->shards);
    free(s->dir);
    free(s);
}

static sfu_dir_member_t *dir_find(eng_sfu_t *s, uint64_t id)
{
    for (uint32_t i = 0; i < s->dir_cnt; i++)
        if (s->dir[i].id == id)
            return &s->dir[i];
    return NULL;
}

/* The shards that have members of @room (directory view). */
static uint64_t room_span(const eng_sfu_t *s, const char *room)
{
    uint64_t span = 0;
    for (uint32_t i = 0; i < s->dir_cnt; i++)
        if (s->dir[i].shard < 64 && strcmp(s->dir[i].room, room) == 0)
            span |= 1ull << s->dir[i].shard;
    return span;
}

static void post_span(eng_sfu_t *s, const char *room, uint64_t to, uint64_t span)
{
    for (uint32_t b = 0; to; b++, to >>= 1)
        if ((to & 1) && post_full(s, b, CMD_SPAN, 0, room, NULL, 0, span) < 0)
            LOG_WARN("sfu: shard %u not told that room %s spans %#llx", b, room,
                     (unsigned long long)span);
}

static void dir_del(eng_sfu_t *s, uint64_t id)
{
    sfu_dir_member_t *d = dir_find(s, id);
    if (!d)
        return;
    sfu_dir_member_t gone = *d;
    *d = s->dir[--s->dir_cnt];
    if (!s->xdata)
        return;
    uint64_t span = room_span(s, gone.room);
    if (!(span & 1ull << gone.shard)) /* its shard left the room: every shard is told */
        post_span(s, gone.room, span | 1ull << gone.shard, span);
}

/* Room affinity: the shard that already has the room's members, while it has room for one
 * more; else the shard with the fewest members. */
static uint32_t place(eng_sfu_t *s, const char *room)
{
    uint32_t in_room[64] = {0}, load[64] = {0};
    uint32_t n = s->cnt < 64 ? s->cnt : 64;
    for (uint32_t i = 0; i < s->dir_cnt; i++) {
        if (s->dir[i].shard >= n)
            continue;
        load[s->dir[i].shard]++;
        if (strcmp(s->dir[i].room, room) == 0)
            in_room[s->dir[i].shard]++;
    }
    uint32_t best = UINT32_MAX;
    for (uint32_t i = 0; i < n; i++)
        if (in_room[i] && in_room[i] < s->cfg.room_max_per_shard &&
            (best == UINT32_MAX || in_room[i] > in_room[best]))
            best = i;
    if (best != UINT32_MAX)
        return best;
    best = 0;
    for (uint32_t i = 1; i < n; i++)
        if (load[i] < load[best])
            best = i;
    return best;
}

static int post_full(eng_sfu_t *s, uint32_t shard, enum cmd_type type, uint64_t member,
                     const char *room, const char *text, uint32_t u32, uint64_t span)
{
    sfu_cmd_t *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    *c = (sfu_cmd_t){.s = s, .type = type, .member = member, .u32 = u32, .span = span};
    if (room)
        snprintf(c->room, sizeof c->room, "%s", room);
    if (text && !(c->text = strdup(text))) {
        free(c);
        return -ENOMEM;
    }
    int ret = eng_post(s->e, shard, sfu_cmd, c, 0);
    if (ret < 0) {
        free(c->text);
        free(c);
    }
    return ret;
}

static int post(eng_sfu_t *s, uint32_t shard, enum cmd_type type, uint64_t member, const char *room,
                const char *text, uint32_t u32)
{
    return post_full(s, shard, type, member, room, text, u32, 0);
}

int eng_sfu_join(eng_sfu_t *s, uint64_t member, const char *room, const char *offer)
{
    if (!room || !room[0] || strlen(room) >= SFU_ROOM_LEN)
        return -EINVAL;
    if (dir_find(s, member))
        return -EEXIST;
    if (s->dir_cnt == s->dir_cap) {
        uint32_t cap = s->dir_cap ? s->dir_cap * 2 : 64;
        sfu_dir_member_t *d = realloc(s->dir, cap * sizeof *d);
        if (!d)
            return -ENOMEM;
        s->dir = d;
        s->dir_cap = cap;
    }
    uint32_t shard = place(s, room);
    uint64_t old = s->xdata ? room_span(s, room) : 0;
    uint64_t span = s->xdata ? old | 1ull << shard : 0;
    int ret = post_full(s, shard, CMD_JOIN, member, room, offer, 0, span);
    if (ret < 0)
        return ret;
    if (span != old) /* the room grows onto a new shard: the others learn it */
        post_span(s, room, old, span);
    sfu_dir_member_t *d = &s->dir[s->dir_cnt++];
    *d = (sfu_dir_member_t){.id = member, .shard = shard};
    snprintf(d->room, sizeof d->room, "%s", room);
    return 0;
}

static int post_member(eng_sfu_t *s, enum cmd_type type, uint64_t member, const char *text,
                       uint32_t u32)
{
    sfu_dir_member_t *d = dir_find(s, member);
    if (!d)
        return -ENOENT;
    return post(s, d->shard, type, member, NULL, text, u32);
}

int eng_sfu_answer(eng_sfu_t *s, uint64_t member, const char *sdp)
{
    return sdp ? post_member(s, CMD_ANSWER, member, sdp, 0) : -EINVAL;
}

int eng_sfu_offer(eng_sfu_t *s, uint64_t member, const char *sdp)
{
    return sdp ? post_member(s, CMD_OFFER, member, sdp, 0) : -EINVAL;
}

int eng_sfu_candidate(eng_sfu_t *s, uint64_t member, const char *cand)
{
    return post_member(s, CMD_CANDIDATE, member, cand ? cand : "", 0);
}

int eng_sfu_leave(eng_sfu_t *s, uint64_t member)
{
    int ret = post_member(s, CMD_LEAVE, member, NULL, 0);
    if (ret == 0)
        dir_del(s, member);
    return ret;
}

int eng_sfu_test_loss(eng_sfu_t *s, uint64_t member, uint32_t every_n)
{
    return post_member(s, CMD_LOSS, member, NULL, every_n);
}

bool eng_sfu_poll(eng_sfu_t *s, eng_sfu_ev_t *ev)
{
    for (uint32_t k = 0; k < s->cnt; k++) {
        uint32_t i = (s->poll_next + k) % s->cnt;
        net_queue_ack(s->shards[i].evq);
        if (net_queue_pop(s->shards[i].evq, ev)) {
            s->poll_next = i + 1;
            if (ev->type == ENG_SFU_EV_GONE)
                dir_del(s, ev->member);
            return true;
        }
    }
    return false;
}

int eng_sfu_event_fd(const eng_sfu_t *s, uint32_t i)
{
    return i < s->cnt ? net_queue_fd(s->shards[i].evq) : -EINVAL;
}

void eng_sfu_stats_get(const eng_sfu_t *s, eng_sfu_stats_t *out)
{
    memset(out, 0, sizeof *out);
    uint64_t *dst = (uint64_t *)out;
    for (uint32_t i = 0; i < s->cnt; i++) {
        const uint64_t *src = (const uint64_t *)&s->shards[i].pub;
        for (size_t k = 0; k < sizeof *out / sizeof(uint64_t); k++)
            dst[k] += __atomic_load_n(&src[k], __ATOMIC_RELAXED);
    }
}
