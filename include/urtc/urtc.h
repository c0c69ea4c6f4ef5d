/* urtc/urtc.h: the public API of liburtc. Every exported symbol starts with urtc_.
 *
 * An engine runs N shard threads. A peer connection lives on one shard: every urtc_pc_*
 * function must be called on that shard's thread, which is where its callbacks run. Other
 * threads get there with urtc_engine_post() (to create a peer connection on a shard) or
 * urtc_pc_post() (to act on an existing one). Posting is single-producer: one thread (the
 * application's control thread) posts at a time.
 *
 * The peer-connection model follows W3C RTCPeerConnection: create_offer / create_answer,
 * set_local_description / set_remote_description, add_ice_candidate, transceivers with a kind,
 * a direction and a mid. BUNDLE and rtcp-mux only: one ICE/DTLS transport per connection.
 *
 * Errors: functions return >= 0 on success and a negative errno on failure;
 * urtc_pc_last_error() says why in words.
 */
#ifndef URTC_URTC_H
#define URTC_URTC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define URTC_API __attribute__((visibility("default")))

#define URTC_VERSION_MAJOR 0
#define URTC_VERSION_MINOR 1
#define URTC_VERSION_PATCH 0

/* "0.1.0". Any thread. */
URTC_API const char *urtc_version(void);

/* ---- Engine ------------------------------------------------------------------------------ */

typedef struct urtc_engine urtc_engine_t;
typedef struct urtc_shard urtc_shard_t;
typedef struct urtc_pc urtc_pc_t;

typedef struct urtc_engine_config {
    unsigned shards;      /* 0: one per online CPU */
    const char *media_ip; /* the address peers' host candidates carry; NULL: 127.0.0.1 */
    uint16_t udp_port;    /* shard i listens on udp_port + i; 0: ports the kernel picks */
    unsigned max_peers;   /* peer connections per shard; 0: 4096 */
    /* ICE servers (W3C iceServers) for connections with a socket of their own (clients):
     * "host:port" of a STUN server (a server-reflexive candidate) and of a TURN server (UDP,
     * long-term credentials: a relayed candidate). NULL: none. */
    const char *stun_server;
    const char *turn_server;
    const char *turn_username, *turn_password;
    const char *cert_pem; /* DTLS certificate and key (PEM files); NULL: a fresh ECDSA */
    const char *key_pem;  /* P-256 certificate for this process */
} urtc_engine_config_t;

/* Starts the shards. NULL on failure (logged). Main thread. */
URTC_API urtc_engine_t *urtc_engine_create(const urtc_engine_config_t *cfg);
/* Closes every peer connection, stops the shards, frees everything. Main thread. */
URTC_API void urtc_engine_destroy(urtc_engine_t *e);
URTC_API unsigned urtc_engine_shards(const urtc_engine_t *e);
/* Runs @fn(shard, @arg) on shard @shard's thread (-1: the next shard in turn). 0, -EAGAIN
 * (queue full: retry), -EINVAL. */
URTC_API int urtc_engine_post(urtc_engine_t *e, int shard, void (*fn)(urtc_shard_t *sh, void *arg),
                              void *arg);
/* Waits for SIGINT or SIGTERM (or @timeout_ms, 0: forever); returns the signal or 0. */
URTC_API int urtc_engine_wait_signal(unsigned timeout_ms);
URTC_API unsigned urtc_shard_index(const urtc_shard_t *sh);

/* ---- Peer connection --------------------------------------------------------------------- */

typedef enum urtc_sdp_type {
    URTC_SDP_OFFER = 0,
    URTC_SDP_ANSWER = 1,
    URTC_SDP_ROLLBACK = 2,
} urtc_sdp_type_t;

typedef enum urtc_kind {
    URTC_KIND_AUDIO = 1,
    URTC_KIND_VIDEO = 2,
} urtc_kind_t;

typedef enum urtc_direction {
    URTC_SENDRECV = 1,
    URTC_SENDONLY = 2,
    URTC_RECVONLY = 3,
    URTC_INACTIVE = 4,
} urtc_direction_t;

/* W3C RTCIceConnectionState, RTCDtlsTransportState and RTCPeerConnectionState. */
typedef enum urtc_ice_state {
    URTC_ICE_NEW = 0,
    URTC_ICE_CHECKING,
    URTC_ICE_CONNECTED,
    URTC_ICE_COMPLETED,
    URTC_ICE_FAILED,
    URTC_ICE_DISCONNECTED,
    URTC_ICE_CLOSED,
} urtc_ice_state_t;

typedef enum urtc_dtls_state {
    URTC_DTLS_NEW = 0,
    URTC_DTLS_CONNECTING,
    URTC_DTLS_CONNECTED,
    URTC_DTLS_CLOSED,
    URTC_DTLS_FAILED,
} urtc_dtls_state_t;

typedef enum urtc_pc_state {
    URTC_PC_NEW = 0,
    URTC_PC_CONNECTING,
    URTC_PC_CONNECTED,
    URTC_PC_DISCONNECTED,
    URTC_PC_FAILED,
    URTC_PC_CLOSED,
} urtc_pc_state_t;

URTC_API const char *urtc_pc_state_name(urtc_pc_state_t s);

/* One RTP packet received on a transceiver, decrypted. Borrowed for the callback. */
typedef struct urtc_rtp_packet {
    const uint8_t *data; /* the whole RTP packet, header included */
    size_t len;
    uint8_t payload_type;
    uint16_t seq;
    uint32_t timestamp;
    uint32_t ssrc;
    bool marker;
    const uint8_t *payload;
    size_t payload_len;
    const char *codec; /* "opus", "VP8", ... as negotiated; NULL if the PT is unknown */
} urtc_rtp_packet_t;

/* An encoded frame: a VP8/VP9 frame, an H.264 access unit (Annex-B), an Opus or G.711
 * packet. Borrowed for the call. */
typedef struct urtc_frame {
    const char *codec; /* "opus", "VP8", ... */
    const uint8_t *data;
    size_t len;
    uint32_t timestamp; /* RTP timestamp */
    bool keyframe;
    bool after_gap; /* receive: something before this frame was lost */
} urtc_frame_t;

/* Callbacks run on the connection's shard thread. Any may be NULL. */
typedef struct urtc_pc_callbacks {
    /* A local candidate line ("candidate:...") for @mid, or NULL at end-of-candidates. */
    void (*on_ice_candidate)(urtc_pc_t *pc, const char *candidate, const char *mid, void *user);
    void (*on_ice_state)(urtc_pc_t *pc, urtc_ice_state_t state, void *user);
    void (*on_dtls_state)(urtc_pc_t *pc, urtc_dtls_state_t state, void *user);
    void (*on_state)(urtc_pc_t *pc, urtc_pc_state_t state, void *user);
    /* A transceiver appeared because of a remote description (W3C ontrack). */
    void (*on_track)(urtc_pc_t *pc, int transceiver, urtc_kind_t kind, const char *mid, void *user);
    /* An RTP packet arrived on @transceiver. */
    void (*on_rtp)(urtc_pc_t *pc, int transceiver, const urtc_rtp_packet_t *pkt, void *user);
    /* A whole frame assembled from the RTP packets of @transceiver (set this callback to have
     * urtc depacketize; incomplete frames are dropped, never handed out). */
    void (*on_frame)(urtc_pc_t *pc, int transceiver, const urtc_frame_t *frame, void *user);
    /* The remote side asks for a keyframe on @transceiver (RTCP PLI or FIR): send one. */
    void (*on_keyframe_request)(urtc_pc_t *pc, int transceiver, void *user);
    /* W3C onnegotiationneeded: something changed (a transceiver or data channel added,
     * a track removed, an ICE restart) that needs an offer/answer exchange. Fired once
     * until the next offer is applied. */
    void (*on_negotiation_needed)(urtc_pc_t *pc, void *user);
    /* An RTCP compound packet arrived (decrypted). */
    void (*on_rtcp)(urtc_pc_t *pc, const uint8_t *data, size_t len, void *user);
    /* Data channels (@dc is the channel id urtc_pc_create_data_channel returned, or a new one
     * for channels the peer opened). */
    /* The peer opened a channel (W3C ondatachannel): it is open already. */
    void (*on_datachannel)(urtc_pc_t *pc, int dc, const char *label, const char *protocol,
                           void *user);
    /* A channel we created is open. */
    void (*on_dc_open)(urtc_pc_t *pc, int dc, void *user);
    void (*on_dc_message)(urtc_pc_t *pc, int dc, const uint8_t *data, size_t len, bool binary,
                          void *user);
    void (*on_dc_close)(urtc_pc_t *pc, int dc, void *user);
    /* The buffered amount fell to the threshold (urtc_dc_set_buffered_low): send more. */
    void (*on_dc_buffered_low)(urtc_pc_t *pc, int dc, void *user);
} urtc_pc_callbacks_t;

typedef struct urtc_pc_config {
    bool ice_lite; /* a server: answers checks only, never sends them (RFC 8445 §2.5) */
    /* A UDP socket of its own instead of the shard's shared one. Clients want this: a shard's
     * connections share its socket, so two of them talking to the same remote address (one
     * server port) could not be told apart. */
    bool own_socket;
    /* W3C iceTransportPolicy "relay": only the TURN candidate (needs own_socket and the
     * engine's turn_server). */
    bool relay_only;
    const char *cname;
} urtc_pc_config_t;

/* Creates a peer connection on shard @sh (call it on that shard's thread, e.g. from a function
 * passed to urtc_engine_post). NULL when the shard is full. */
URTC_API urtc_pc_t *urtc_pc_create(urtc_shard_t *sh, const urtc_pc_config_t *cfg,
                                   const urtc_pc_callbacks_t *cbs, void *user);
/* Closes the connection (a DTLS close_notify goes out) and frees it at the end of the shard's
 * tick: @pc must not be used afterwards. No callback runs after this returns. */
URTC_API void urtc_pc_close(urtc_pc_t *pc);
/* Runs @fn(pc, @arg) on @pc's shard (from another thread). 0, -EAGAIN, -EINVAL. The caller
 * guarantees @pc stays open until @fn has run. */
URTC_API int urtc_pc_post(urtc_engine_t *e, urtc_pc_t *pc, void (*fn)(urtc_pc_t *pc, void *arg),
                          void *arg);
URTC_API void *urtc_pc_user(const urtc_pc_t *pc);

/* Adds a transceiver (W3C addTransceiver), or, as W3C addTrack does, gives a sending track to
 * a transceiver a remote offer created that sends nothing yet (its direction gains "send").
 * Returns the transceiver's index, or a negative errno. */
URTC_API int urtc_pc_add_transceiver(urtc_pc_t *pc, urtc_kind_t kind, urtc_direction_t dir,
                                     const char *stream_id, const char *track_id);
/* W3C removeTrack/transceiver.stop(): the transceiver stops sending and receiving and its
 * m-section is rejected in the next offer (RFC 8829 §5.2.2). 0 or -EINVAL. */
URTC_API int urtc_pc_remove_track(urtc_pc_t *pc, int transceiver);
/* Adds an m=application section for data channels to the next offer. */
URTC_API void urtc_pc_enable_data_channels(urtc_pc_t *pc);

/* Writes a description (NUL-terminated) into @sdp. Returns its length or a negative errno:
 * -ENOSPC (too small), -EPROTO (wrong signaling state). */
URTC_API int urtc_pc_create_offer(urtc_pc_t *pc, char *sdp, size_t cap);
URTC_API int urtc_pc_create_answer(urtc_pc_t *pc, char *sdp, size_t cap);
/* Applies a description. 0, -EBADMSG (malformed: see urtc_pc_last_error), -EPROTO (not
 * allowed in this signaling state), -EINVAL. */
URTC_API int urtc_pc_set_local_description(urtc_pc_t *pc, urtc_sdp_type_t type, const char *sdp);
URTC_API int urtc_pc_set_remote_description(urtc_pc_t *pc, urtc_sdp_type_t type, const char *sdp);
/* W3C restartIce(): new local ICE credentials for the next offer; media keeps flowing on the
 * current pair until the restarted checks select one. A remote offer that restarts ICE is
 * answered the same way by itself. 0 or a negative errno. */
URTC_API int urtc_pc_restart_ice(urtc_pc_t *pc);
/* A remote candidate line (with or without "a="), or NULL/"" for end-of-candidates. */
URTC_API int urtc_pc_add_ice_candidate(urtc_pc_t *pc, const char *candidate);

/* Sends an RTP packet on @transceiver: urtc writes the transceiver's SSRC, the negotiated
 * payload type of @codec (NULL: the first negotiated one) and its own sequence number, then
 * encrypts. @timestamp and @marker as given. 0, -ENOTCONN, -EINVAL, -ENOENT (no such codec). */
URTC_API int urtc_pc_send_rtp(urtc_pc_t *pc, int transceiver, const char *codec, uint32_t timestamp,
                              bool marker, const uint8_t *payload, size_t len);
/* Packetizes @frame for its codec (RFC 7587, 7741, 9628, 6184) and sends it on @transceiver
 * as urtc_pc_send_rtp() does. 0, -ENOTCONN, -ENOENT (codec not negotiated), -EINVAL. */
URTC_API int urtc_pc_send_frame(urtc_pc_t *pc, int transceiver, const urtc_frame_t *frame);
/* Asks the sender of @transceiver's incoming stream for a keyframe (RTCP PLI, RFC 4585
 * §6.3.1), e.g. when a decoder lost its reference. 0, -ENOENT (nothing received yet),
 * -ENOTCONN. */
URTC_API int urtc_pc_request_keyframe(urtc_pc_t *pc, int transceiver);

/* ---- Data channels (RFC 8831/8832 over SCTP over DTLS) ---- */

typedef struct urtc_dc_init {
    bool unordered;
    int max_retransmits;        /* partial reliability by retransmissions; < 0: reliable */
    int max_packet_lifetime_ms; /* partial reliability by lifetime; < 0: reliable */
    const char *protocol;       /* NULL: "" */
    bool negotiated;            /* pre-agreed on both sides (W3C negotiated): no DCEP ... */
    int id;                     /* ... with this stream id */
} urtc_dc_init_t;

/* Creates a data channel (W3C createDataChannel; the next offer gets an m=application section
 * if it had none). It opens once SCTP is up (on_dc_open). @init may be NULL (reliable,
 * ordered). Returns the channel id, or a negative errno. */
URTC_API int urtc_pc_create_data_channel(urtc_pc_t *pc, const char *label,
                                         const urtc_dc_init_t *init);
/* Sends a message (string if !@binary). 0, -ENOTCONN (not open), -EMSGSIZE (over the peer's
 * a=max-message-size), -ENOBUFS (too much buffered: wait for on_dc_buffered_low). */
URTC_API int urtc_dc_send(urtc_pc_t *pc, int dc, const void *data, size_t len, bool binary);
/* Closes the channel (stream reset, RFC 8831 §6.7); on_dc_close follows. */
URTC_API int urtc_dc_close(urtc_pc_t *pc, int dc);
URTC_API size_t urtc_dc_buffered_amount(urtc_pc_t *pc, int dc);
URTC_API int urtc_dc_set_buffered_low(urtc_pc_t *pc, int dc, size_t threshold);
/* The channel's label ("" for an unknown id). */
URTC_API const char *urtc_dc_label(urtc_pc_t *pc, int dc);

URTC_API urtc_pc_state_t urtc_pc_state(const urtc_pc_t *pc);
/* The reason for the last failed call on @pc ("" if none). */
URTC_API const char *urtc_pc_last_error(const urtc_pc_t *pc);
/* Statistics as a JSON array of W3C webrtc-stats objects: transport, candidate-pair, codec,
 * inbound-rtp (with loss after repair, jitter, NACKs sent, retransmissions received),
 * outbound-rtp (PLIs and NACKs received, retransmissions sent), remote-inbound-rtp (from the
 * peer's report blocks, roundTripTime once it echoed one of our SRs), remote-outbound-rtp (from
 * the peer's SRs), data-channel and sctp-transport (the association's packets and messages,
 * messages dropped: for no channel, oversize, bad DCEP, and restarts by the peer). Returns the
 * length, or -ENOSPC. */
URTC_API int urtc_pc_get_stats(urtc_pc_t *pc, char *json, size_t cap);

/* ---- Media helpers (engine/media_api.c) -------------------------------------------------
 *
 * Small wrappers over urtc's codecs for programs on this API (urtc-peer, examples, tests):
 * a synthetic source that produces encoded frames ready for urtc_pc_send_frame(), and a
 * decoder for the frames on_frame hands out. Each object belongs to the thread that uses it
 * (typically the connection's shard thread); nothing here locks. */

/* A synthetic source: "opus" a 440 Hz tone (mono, 20 ms frames); "VP8" or "VP9" a moving test
 * pattern of @width x @height at @fps that carries its frame number (read back by
 * urtc_decoder_decode). @width, @height and @fps are ignored for audio. NULL if @codec is not
 * one of those or the encoder cannot start. */
typedef struct urtc_test_source urtc_test_source_t;
URTC_API urtc_test_source_t *urtc_test_source_create(const char *codec, int width, int height,
                                                     int fps);
URTC_API void urtc_test_source_destroy(urtc_test_source_t *s);
/* Encodes the next frame (20 ms of audio, or one picture): 1 and *@frame set (data valid until
 * the next call), 0 when the encoder skipped it (rate control), or a negative errno. The frame
 * numbers and RTP timestamps advance on every call. */
URTC_API int urtc_test_source_next(urtc_test_source_t *s, urtc_frame_t *frame);
/* The next video frame is a keyframe (e.g. every second, or when a receiver joins late). */
URTC_API void urtc_test_source_request_keyframe(urtc_test_source_t *s);
/* Microseconds between frames: 20000 for audio, 1e6 / fps for video. */
URTC_API unsigned urtc_test_source_period_us(const urtc_test_source_t *s);

/* An encoder for the application's own raw media, for urtc_pc_send_frame(): "opus" takes
 * 20 ms of 48 kHz 16-bit PCM (interleaved when stereo), "VP8" or "VP9" I420 pictures. Realtime
 * settings; RTP timestamps advance by themselves (960 per audio frame, 90000/fps per picture). */
typedef struct urtc_encoder_config {
    int channels;      /* audio: 1 or 2 (0: 1) */
    int width, height; /* video: the picture size */
    int fps;           /* video: 0: 30 */
    int bitrate_kbps;  /* 0: 32 for audio, width*height/200 (at least 100) for video */
} urtc_encoder_config_t;

typedef struct urtc_encoder urtc_encoder_t;
/* NULL for another codec or a bad size. */
URTC_API urtc_encoder_t *urtc_encoder_create(const char *codec, const urtc_encoder_config_t *cfg);
URTC_API void urtc_encoder_destroy(urtc_encoder_t *e);
/* 960 samples per channel. 1 and *@frame set (data valid until the next call), or a negative
 * errno (-EINVAL: not an audio encoder). */
URTC_API int urtc_encoder_encode_audio(urtc_encoder_t *e, const int16_t *pcm, urtc_frame_t *frame);
/* One I420 picture of the configured size: 1 and *@frame set, 0 when rate control skipped it,
 * or a negative errno. */
URTC_API int urtc_encoder_encode_video(urtc_encoder_t *e, const uint8_t *y, const uint8_t *u,
                                       const uint8_t *v, int stride_y, int stride_uv,
                                       urtc_frame_t *frame);
/* The next picture is a keyframe (answer on_keyframe_request with this). */
URTC_API void urtc_encoder_request_keyframe(urtc_encoder_t *e);

/* What a decoded frame held. */
typedef struct urtc_decoded {
    int width, height; /* video */
    int pattern_frame; /* video: the frame number of urtc's test pattern, -1 if none is there */
    int samples;       /* audio: samples per channel (48 kHz) */
    double tone_db;    /* audio: how well it matches urtc's 440 Hz tone (fit/residual, dB) */
} urtc_decoded_t;

/* A decoder for "opus", "VP8" or "VP9" (NULL otherwise). Video decoders refuse delta frames
 * after a loss until the next keyframe, so a broken picture is never returned. */
typedef struct urtc_decoder urtc_decoder_t;
URTC_API urtc_decoder_t *urtc_decoder_create(const char *codec);
URTC_API void urtc_decoder_destroy(urtc_decoder_t *d);
/* Decodes @frame (its codec must be the decoder's): 1 with *@out filled, 0 nothing to show,
 * -EAGAIN waiting for a keyframe, -EBADMSG corrupt, -EINVAL wrong codec. */
URTC_API int urtc_decoder_decode(urtc_decoder_t *d, const urtc_frame_t *frame, urtc_decoded_t *out);

#ifdef __cplusplus
}
#endif
#endif
