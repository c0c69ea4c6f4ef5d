/* codecs/codecs.h: media codecs, RTP payload formats, synthetic sources and tracks.
 *
 * This folder turns media into frames, frames into RTP payloads and back. It knows nothing of
 * peers, threads or sockets, and nothing of the RTP header beyond what a payload format needs:
 * a packetizer produces payload bytes plus the marker bit (the caller numbers the packets and
 * stamps them), and a depacketizer takes payload bytes plus the sequence number, timestamp and
 * marker bit the caller parsed out of the RTP header.
 *
 * Threading: every object belongs to the thread that created it. Nothing here locks, and
 * nothing spawns a thread (the libvpx encoder is configured single-threaded unless asked).
 * Foreign types (opus, vpx) never appear here: each library is wrapped by one .c file.
 */
#ifndef URTC_CODECS_CODECS_H
#define URTC_CODECS_CODECS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/net.h"

typedef enum codec_id {
    CODEC_NONE = 0,
    CODEC_OPUS,
    CODEC_PCMU,
    CODEC_PCMA,
    CODEC_VP8,
    CODEC_VP9,
    CODEC_H264,
} codec_id_t;

/* "opus", "PCMU", ... as in SDP rtpmap (static strings). */
const char *codec_name(codec_id_t c);
/* Case-insensitive rtpmap encoding name to id; CODEC_NONE when unknown. */
codec_id_t codec_from_name(const char *name);
/* RTP clock rate of the payload format (48000, 8000 or 90000). */
uint32_t codec_clock_rate(codec_id_t c);
static inline bool codec_is_video(codec_id_t c)
{
    return c == CODEC_VP8 || c == CODEC_VP9 || c == CODEC_H264;
}

/* ---------------------------------------------------------------------------------------------
 * Raw media
 */

/* An I420 picture. Planes are borrowed (owned by whoever filled the struct). */
typedef struct codec_image {
    int width, height;
    uint8_t *plane[3]; /* Y, U, V */
    int stride[3];
} codec_image_t;

/* Allocates an I420 image with tight strides (one block, free with codec_image_free). 0 or
 * -ENOMEM / -EINVAL. */
WARN_UNUSED int codec_image_alloc(codec_image_t *img, int width, int height);
void codec_image_free(codec_image_t *img);
/* PSNR of the Y plane of @b against @a (same size), in dB; 99 when identical, -1 on size
 * mismatch. */
double codec_image_psnr_y(const codec_image_t *a, const codec_image_t *b);

/* A block of interleaved 16-bit PCM. Borrowed. */
typedef struct codec_audio {
    const int16_t *pcm;
    size_t samples; /* per channel */
    int channels;
    int rate_hz;
} codec_audio_t;

/* ---------------------------------------------------------------------------------------------
 * Encoded frames: what encoders produce, packetizers take, depacketizers assemble and decoders
 * consume. @data is a view: it lives as long as its producer says (the encoder until its next
 * call, the depacketizer until its next push or pop).
 */
enum {
    CODEC_FRAME_KEY = 1u << 0,       /* keyframe / IDR: decodable on its own */
    CODEC_FRAME_GAP = 1u << 1,       /* receive: frames or packets were lost before this one */
    CODEC_FRAME_SYNC = 1u << 2,      /* temporal layer switch-up point (refs only TL0) */
    CODEC_FRAME_NONREF = 1u << 3,    /* no later frame references this one (droppable) */
    CODEC_FRAME_TALKSPURT = 1u << 4, /* audio: first packet after silence (RTP marker) */
    CODEC_FRAME_BASE_OK = 1u << 5,   /* receive: despite GAP, no base-layer (TL0) frame is lost */
    CODEC_FRAME_LAYERED = 1u << 6,   /* tid/tl0picidx are meaningful (temporal layers in use) */
};

typedef struct codec_frame {
    codec_id_t codec;
    const uint8_t *data; /* VP8/VP9 frame, Opus packet, G.711 bytes, H.264 Annex-B access unit */
    size_t len;
    uint32_t rtp_ts;
    uint32_t flags;     /* CODEC_FRAME_* */
    uint8_t tid;        /* temporal layer id (0 when not layered) */
    uint8_t sid;        /* VP9 spatial layer id */
    int16_t tl0picidx;  /* -1 when absent */
    int32_t picture_id; /* 15-bit VP8/VP9 picture id, -1 when absent */
    uint16_t width;     /* known on keyframes (VP8 header, VP9 SS), else 0 */
    uint16_t height;
    uint16_t first_seq; /* receive: RTP sequence numbers the frame came in */
    uint16_t last_seq;
    uint8_t pdiff_cnt; /* VP9 flexible mode: references as picture id differences */
    uint8_t pdiff[3];
} codec_frame_t;

/* ---------------------------------------------------------------------------------------------
 * G.711 (ITU-T G.711), 8 kHz. Encode 16-bit linear PCM to 8-bit codes and back. The 16-bit
 * values are the G.711 13-bit (A-law) / 14-bit (mu-law) linear values shifted left, as in
 * ITU-T G.191 (STL) and every common implementation.
 */
uint8_t codec_pcmu_encode1(int16_t s);
int16_t codec_pcmu_decode1(uint8_t u);
uint8_t codec_pcma_encode1(int16_t s);
int16_t codec_pcma_decode1(uint8_t a);
/* Whole buffers; @codec is CODEC_PCMU or CODEC_PCMA. Return @n or -EINVAL. */
WARN_UNUSED int codec_g711_encode(codec_id_t codec, const int16_t *pcm, size_t n, uint8_t *out);
WARN_UNUSED int codec_g711_decode(codec_id_t codec, const uint8_t *in, size_t n, int16_t *pcm);

/* ---------------------------------------------------------------------------------------------
 * Opus (libopus), 48 kHz. RFC 7587 makes the RTP clock 48 kHz whatever the audio bandwidth.
 */
#define CODEC_OPUS_RATE 48000
#define CODEC_OPUS_FRAME_SAMPLES 960 /* 20 ms at 48 kHz, per channel */
#define CODEC_OPUS_MAX_PACKET 1275   /* RFC 6716 §3.2.1: a frame's data is at most 1275 bytes */
#define CODEC_OPUS_MAX_FRAME_SAMPLES 5760 /* 120 ms at 48 kHz */

typedef struct codec_opus_cfg {
    int channels;          /* 1 or 2 */
    int bitrate_bps;       /* 0: libopus default */
    bool fec;              /* in-band FEC (LBRR); needs expected_loss_pct > 0 to be used */
    bool dtx;              /* discontinuous transmission: tiny packets in silence */
    int expected_loss_pct; /* 0..100, drives how much FEC the encoder spends */
    int complexity;        /* 0..10; -1: libopus default */
} codec_opus_cfg_t;

/* Defaults: mono, 32 kbit/s, FEC on with 10 % expected loss, DTX off, default complexity. */
void codec_opus_cfg_default(codec_opus_cfg_t *cfg);
/* Applies an SDP fmtp value ("minptime=10;useinbandfec=1;stereo=1") to @cfg: useinbandfec
 * sets fec, stereo sets channels (RFC 7587 §6.1), maxaveragebitrate caps the bitrate,
 * usedtx sets dtx. Unknown parameters are ignored. 0 or -EINVAL on a malformed value. */
WARN_UNUSED int codec_opus_fmtp_apply(codec_opus_cfg_t *cfg, const char *fmtp);

typedef struct codec_opus_enc codec_opus_enc_t;
typedef struct codec_opus_dec codec_opus_dec_t;

/* NULL (logged) on a bad config or failure. */
codec_opus_enc_t *codec_opus_enc_create(const codec_opus_cfg_t *cfg);
void codec_opus_enc_destroy(codec_opus_enc_t *e);
/* Encodes CODEC_OPUS_FRAME_SAMPLES interleaved samples per channel into @out. Returns the
 * packet length; with DTX a length <= 2 means "silence, need not be sent" (RFC 7587 §3.1.3).
 * -EINVAL / -ENOSPC / -EIO. */
WARN_UNUSED int codec_opus_encode(codec_opus_enc_t *e, const int16_t *pcm, uint8_t *out,
                                  size_t cap);
WARN_UNUSED int codec_opus_enc_set_bitrate(codec_opus_enc_t *e, int bitrate_bps);
WARN_UNUSED int codec_opus_enc_set_loss(codec_opus_enc_t *e, int expected_loss_pct);

/* @channels: 1 or 2 (output layout; a mono stream decodes fine to stereo and back). */
codec_opus_dec_t *codec_opus_dec_create(int channels);
void codec_opus_dec_destroy(codec_opus_dec_t *d);
/* Decodes one packet into @pcm (room for @cap_samples per channel). @data NULL means "this
 * packet was lost": concealment of @cap_samples (use the usual frame size). Returns samples per
 * channel, -EBADMSG for a corrupt packet, -ENOSPC. */
WARN_UNUSED int codec_opus_decode(codec_opus_dec_t *d, const uint8_t *data, size_t len,
                                  int16_t *pcm, size_t cap_samples);
/* Recovers a lost packet from the FEC data in the packet that follows it (@data): produces
 * exactly @samples per channel (the lost packet's duration). Falls back to concealment when the
 * packet has no FEC. Returns samples per channel or -errno. */
WARN_UNUSED int codec_opus_decode_fec(codec_opus_dec_t *d, const uint8_t *data, size_t len,
                                      int16_t *pcm, size_t samples);
/* Samples per channel at 48 kHz in an Opus packet; -EBADMSG if it is not a valid packet
 * (RFC 6716 §3). */
WARN_UNUSED int codec_opus_packet_samples(const uint8_t *data, size_t len);

/* ---------------------------------------------------------------------------------------------
 * VP8 and VP9 (libvpx).
 */
typedef struct codec_video_cfg {
    codec_id_t codec; /* CODEC_VP8 or CODEC_VP9 */
    int width, height;
    int fps;               /* nominal frame rate (rate control), default 30 */
    int bitrate_kbps;      /* target */
    int temporal_layers;   /* 1 (none), 2 or 3: layered reference pattern, tid in each frame */
    int speed;             /* libvpx cpu-used for realtime; 0 picks a realtime default */
    int threads;           /* 0 or 1: single-threaded */
    int keyframe_max_dist; /* 0: only on request (and the first frame) */
} codec_video_cfg_t;

typedef struct codec_vpx_enc codec_vpx_enc_t;
typedef struct codec_vpx_dec codec_vpx_dec_t;

void codec_video_cfg_default(codec_video_cfg_t *cfg, codec_id_t codec, int width, int height);
/* Realtime (VPX_DL_REALTIME, error resilient) encoder. NULL (logged) on failure. */
codec_vpx_enc_t *codec_vpx_enc_create(const codec_video_cfg_t *cfg);
void codec_vpx_enc_destroy(codec_vpx_enc_t *e);
/* The next frame will be a keyframe (e.g. on a PLI or FIR). */
void codec_vpx_enc_request_keyframe(codec_vpx_enc_t *e);
WARN_UNUSED int codec_vpx_enc_set_bitrate(codec_vpx_enc_t *e, int bitrate_kbps);
/* Encodes @img (same size as configured). On 1, @out holds the frame (data valid until the next
 * call; rtp_ts set from @rtp_ts; flags KEY/SYNC/NONREF and tid set). 0: the encoder dropped the
 * frame (rate control). -EINVAL / -EIO. */
WARN_UNUSED int codec_vpx_encode(codec_vpx_enc_t *e, const codec_image_t *img, uint32_t rtp_ts,
                                 codec_frame_t *out);

/* Decoder with loss handling: it starts out waiting for a keyframe, and after a frame with
 * CODEC_FRAME_GAP (without CODEC_FRAME_BASE_OK) or a frame the decoder reports corrupt, it
 * refuses delta frames until the next keyframe, so a broken picture is never returned. */
codec_vpx_dec_t *codec_vpx_dec_create(codec_id_t codec);
void codec_vpx_dec_destroy(codec_vpx_dec_t *d);
/* Decodes @f. 1: @img views the decoder's picture (valid until the next call). 0: nothing to
 * show. -EAGAIN: waiting for a keyframe (the caller should send a PLI). -EBADMSG: corrupt
 * frame (the decoder now waits for a keyframe). */
WARN_UNUSED int codec_vpx_decode(codec_vpx_dec_t *d, const codec_frame_t *f, codec_image_t *img);
/* Counts of frames refused while waiting for a keyframe, and of corrupt frames. */
uint64_t codec_vpx_dec_refused(const codec_vpx_dec_t *d);
uint64_t codec_vpx_dec_corrupt(const codec_vpx_dec_t *d);

/* ---------------------------------------------------------------------------------------------
 * H.264 (openh264): Constrained Baseline, one slice per picture, Annex-B access units (SPS and
 * PPS in front of every IDR), for packetization-mode 1. cfg->codec must be CODEC_H264;
 * temporal_layers 1..3 (tid in each frame; H.264 RTP carries no layer ids without SVC, so this
 * only matters to a sender that drops frames itself); speed is ignored.
 */
typedef struct codec_h264_enc codec_h264_enc_t;
typedef struct codec_h264_dec codec_h264_dec_t;

codec_h264_enc_t *codec_h264_enc_create(const codec_video_cfg_t *cfg);
void codec_h264_enc_destroy(codec_h264_enc_t *e);
void codec_h264_enc_request_keyframe(codec_h264_enc_t *e);
WARN_UNUSED int codec_h264_enc_set_bitrate(codec_h264_enc_t *e, int bitrate_kbps);
/* As codec_vpx_encode: 1 with @out set (data valid until the next call), 0 skipped, -errno. */
WARN_UNUSED int codec_h264_encode(codec_h264_enc_t *e, const codec_image_t *img, uint32_t rtp_ts,
                                  codec_frame_t *out);
/* Decoder with the same loss rules as the VP8/VP9 one (error concealment off: a frame that
 * lost its references is an error, never a smeared picture). */
codec_h264_dec_t *codec_h264_dec_create(void);
void codec_h264_dec_destroy(codec_h264_dec_t *d);
/* 1 with @img (valid until the next call), 0 nothing to show, -EAGAIN waiting for an IDR,
 * -EBADMSG corrupt. */
WARN_UNUSED int codec_h264_decode(codec_h264_dec_t *d, const codec_frame_t *f, codec_image_t *img);
uint64_t codec_h264_dec_refused(const codec_h264_dec_t *d);
uint64_t codec_h264_dec_corrupt(const codec_h264_dec_t *d);

/* ---------------------------------------------------------------------------------------------
 * RTP packetizers. A packetizer cuts one frame at a time into payloads of at most
 * max_payload_len bytes. Usage:
 *
 *     codec_pay_frame(&p, &frame);
 *     while ((n = codec_pay_next(&p, buf, sizeof buf, &marker)) > 0)
 *         send_rtp(seq++, frame.rtp_ts, marker, buf, n);
 *
 * Formats: Opus (RFC 7587: one packet per payload), G.711 (RFC 3551: the bytes as they are),
 * VP8 (RFC 7741), VP9 (RFC 9628, non-flexible or flexible mode), H.264 (RFC 6184,
 * packetization-mode 1: single NAL unit, STAP-A, FU-A; the frame is an Annex-B byte stream).
 */
typedef struct codec_pay_cfg {
    codec_id_t codec;
    size_t max_payload_len; /* MTU minus IP/UDP/RTP/SRTP overhead, e.g. 1200 */
    bool vp9_flexible;      /* VP9: flexible mode (F=1 with P_DIFF) instead of non-flexible */
    uint16_t picture_id;    /* VP8/VP9: first picture id (random in real use) */
    uint8_t tl0picidx;      /* VP8/VP9: first TL0PICIDX */
} codec_pay_cfg_t;

typedef struct codec_pay {
    codec_pay_cfg_t _cfg;
    uint16_t _pid;     /* next picture id (15 bits) */
    uint8_t _tl0;      /* current TL0PICIDX */
    bool _tl0_started; /* a TL0 frame has been sent */
    codec_frame_t _f;  /* current frame */
    size_t _off;       /* VP8/VP9/H.264: next byte of the frame to send */
    bool _first;       /* next payload is the frame's first */
    bool _done;
    /* H.264: the NAL unit being fragmented (FU-A) */
    size_t _nal_off, _nal_len, _fu_off;
} codec_pay_t;

/* 0 or -EINVAL (unknown codec, payload too small to carry anything). */
WARN_UNUSED int codec_pay_init(codec_pay_t *p, const codec_pay_cfg_t *cfg);
/* Starts a frame. @f (and its data) is borrowed until codec_pay_next returns 0. -EINVAL for an
 * empty frame, -EMSGSIZE for an audio frame larger than a payload. */
WARN_UNUSED int codec_pay_frame(codec_pay_t *p, const codec_frame_t *f);
/* Writes the next payload into @out. Returns its length (> 0) with *marker set (the last
 * payload of a video frame; for audio, CODEC_FRAME_TALKSPURT), 0 when the frame is done,
 * -ENOSPC if @cap is smaller than max_payload_len, -EBADMSG for an H.264 frame without NAL
 * units. */
WARN_UNUSED int codec_pay_next(codec_pay_t *p, uint8_t *out, size_t cap, bool *marker);

/* ---------------------------------------------------------------------------------------------
 * RTP depacketizers with frame assembly.
 *
 * Payloads go in (in any order, with losses and duplicates); whole frames come out in sequence
 * order. A frame comes out only when every packet from its first (known from the format's
 * start flag, or from following the previous frame's last packet) to its last (marker bit) is
 * there; an incomplete frame is dropped and counted, never handed out, and the next frame
 * handed out carries CODEC_FRAME_GAP. A frame waits for missing earlier packets until
 * max_pending frames are pending, more than reorder_window packets arrived after it, or
 * codec_depay_flush() is called.
 */
typedef struct codec_depay_cfg {
    codec_id_t codec;
    size_t max_frame_len;    /* assembled frame limit; default 1 MiB video, 4 KiB audio */
    unsigned max_pending;    /* frames assembled at once; default 8 (audio 4) */
    unsigned reorder_window; /* packets; default 128 (audio 8) */
    unsigned max_frame_pkts; /* packets per frame; default 1024 (audio 1) */
} codec_depay_cfg_t;

typedef struct codec_depay_stats {
    uint64_t payloads;   /* pushed */
    uint64_t malformed;  /* dropped: bad payload (-EBADMSG / -EPROTONOSUPPORT) */
    uint64_t duplicates; /* dropped: same sequence number twice */
    uint64_t late;       /* dropped: frame already handed out or given up */
    uint64_t overflow;   /* frames dropped: too large or too many packets */
    uint64_t frames;     /* handed out */
    uint64_t keyframes;  /* handed out */
    uint64_t incomplete; /* frames dropped because packets were missing */
    uint64_t gaps;       /* frames handed out with CODEC_FRAME_GAP */
} codec_depay_stats_t;

typedef struct codec_depay codec_depay_t;

/* Zero fields of @cfg take the defaults. NULL on bad config or -ENOMEM (logged). All memory is
 * allocated here, none later. */
codec_depay_t *codec_depay_create(const codec_depay_cfg_t *cfg);
void codec_depay_destroy(codec_depay_t *d);
/* Takes one RTP payload (borrowed for the call). 0 accepted; -EBADMSG malformed,
 * -EPROTONOSUPPORT valid but unsupported (e.g. H.264 STAP-B, FU-B, MTAP), -EALREADY duplicate
 * or late, -EMSGSIZE frame too large: each counted and the payload dropped. */
int codec_depay_push(codec_depay_t *d, const uint8_t *payload, size_t len, uint16_t seq,
                     uint32_t rtp_ts, bool marker);
/* Hands out the next complete frame, if any: 1 and *@f set (data valid until the next push or
 * pop), or 0. Call until 0 after every push. */
int codec_depay_pop(codec_depay_t *d, codec_frame_t *f);
/* End of stream (or a timeout decided by the caller): stop waiting for missing packets; pending
 * complete frames come out from the next pops, incomplete ones are dropped. */
void codec_depay_flush(codec_depay_t *d);
const codec_depay_stats_t *codec_depay_stats(const codec_depay_t *d);

/* Payload descriptors, parsed (exposed for tests and for forwarding decisions in an SFU). */
typedef struct codec_vp8_desc {
    bool start;         /* S */
    uint8_t pid;        /* partition index */
    bool nonref;        /* N */
    int32_t picture_id; /* -1 if absent */
    int16_t tl0picidx;  /* -1 if absent */
    int8_t tid;         /* -1 if absent */
    bool layer_sync;    /* Y */
    int8_t keyidx;      /* -1 if absent */
    size_t hdr_len;     /* descriptor length: the VP8 data starts here */
} codec_vp8_desc_t;
/* RFC 7741 §4.2. Returns the descriptor length, -EBADMSG if truncated or without data. */
WARN_UNUSED int codec_vp8_desc_parse(const uint8_t *p, size_t len, codec_vp8_desc_t *d);

typedef struct codec_vp9_desc {
    bool i, p, l, f, b, e, v, z; /* the first-octet flags */
    int32_t picture_id;          /* -1 if absent */
    int8_t tid, sid;             /* -1 if absent */
    bool u, d;                   /* switching-up point, inter-layer dependency */
    int16_t tl0picidx;           /* non-flexible mode with L; -1 if absent */
    uint8_t pdiff_cnt;           /* flexible mode with P */
    uint8_t pdiff[3];
    /* scalability structure (V) */
    uint8_t ss_n_s;                     /* number of spatial layers (N_S + 1) when V */
    uint16_t ss_width[8], ss_height[8]; /* when Y */
    uint8_t ss_n_g;                     /* pictures in the picture group when G */
    size_t hdr_len;
} codec_vp9_desc_t;
/* RFC 9628 §4.2. Returns the descriptor length, -EBADMSG if truncated or inconsistent. */
WARN_UNUSED int codec_vp9_desc_parse(const uint8_t *p, size_t len, codec_vp9_desc_t *d);

/* ---------------------------------------------------------------------------------------------
 * Synthetic sources.
 */
typedef struct codec_tone {
    double freq_hz;
    double amplitude; /* 0..1 of full scale */
    int rate_hz;
    int channels;
    uint64_t _n; /* samples produced */
} codec_tone_t;

void codec_tone_init(codec_tone_t *t, double freq_hz, double amplitude, int rate_hz, int channels);
/* Writes @samples per channel of the sine (interleaved, same in every channel). */
void codec_tone_fill(codec_tone_t *t, int16_t *pcm, size_t samples);
/* How well @pcm (mono or channel 0 of interleaved) matches a sine of @freq_hz: fits the best
 * amplitude and phase (least squares, so any delay is fine) and returns the ratio of the fit's
 * energy to the residual, in dB. */
double codec_tone_snr_db(const int16_t *pcm, size_t samples, int channels, double freq_hz,
                         int rate_hz);

/* Moving test pattern (I420): bars and a moving box, with the frame number written as a row of
 * black/white blocks at the top (16 bits plus an 8-bit check) so a receiver can read it back
 * after lossy coding. */
void codec_pattern_draw(codec_image_t *img, uint32_t frame_no);
/* Reads the frame number back: >= 0, or -EBADMSG when the blocks do not check out. */
WARN_UNUSED int codec_pattern_read(const codec_image_t *img);

/* ---------------------------------------------------------------------------------------------
 * Tracks: a small MediaStreamTrack model (W3C Media Capture and Streams §4.3). A source pushes
 * raw or encoded frames into a track; the track hands them to its sinks while it is live and
 * enabled. Sinks can ask the source for a keyframe.
 */
typedef enum codec_kind {
    CODEC_KIND_AUDIO = 0,
    CODEC_KIND_VIDEO = 1,
} codec_kind_t;

typedef struct codec_track codec_track_t;

/* A sink: embed it in your object and reach it with container_of. Callbacks may be NULL. */
typedef struct codec_sink {
    void (*on_audio)(struct codec_sink *s, codec_track_t *t, const codec_audio_t *a);
    void (*on_video)(struct codec_sink *s, codec_track_t *t, const codec_image_t *img);
    void (*on_frame)(struct codec_sink *s, codec_track_t *t, const codec_frame_t *f);
    /* muted, unmuted, enabled changed or ended */
    void (*on_state)(struct codec_sink *s, codec_track_t *t);
    net_list_t _node;
} codec_sink_t;

/* The source side: what a track can ask of whatever feeds it. Callbacks may be NULL. */
typedef struct codec_source {
    void (*request_keyframe)(struct codec_source *src, codec_track_t *t);
    void (*on_stop)(struct codec_source *src, codec_track_t *t);
} codec_source_t;

#define CODEC_TRACK_ID_MAX 64

struct codec_track {
    codec_kind_t kind;
    char id[CODEC_TRACK_ID_MAX]; /* NUL-terminated, truncated */
    bool remote;                 /* received from a peer (muted until media flows) */
    bool enabled;                /* set by the application */
    bool muted;                  /* set by the source: no media available */
    bool ended;                  /* readyState "ended": final */
    codec_source_t *source;
    net_list_t _sinks;
    uint64_t _delivered, _suppressed;
};

/* Local tracks start live, enabled and unmuted; remote ones start muted. */
void codec_track_init(codec_track_t *t, codec_kind_t kind, const char *id, bool remote,
                      codec_source_t *source);
/* Ends the track (telling the sinks). Sinks must be removed by their owners before the track's
 * storage is freed. */
void codec_track_fini(codec_track_t *t);
void codec_track_add_sink(codec_track_t *t, codec_sink_t *s);
void codec_track_remove_sink(codec_track_t *t, codec_sink_t *s);
void codec_track_set_enabled(codec_track_t *t, bool enabled);
void codec_track_set_muted(codec_track_t *t, bool muted);
/* MediaStreamTrack.stop(): ended for good; tells the source and the sinks. */
void codec_track_stop(codec_track_t *t);
/* Source side: hand media to the sinks. Returns the number of sinks reached; 0 when the track is
 * ended, muted or disabled (counted as suppressed: a disabled track sends nothing), -EINVAL for
 * a kind mismatch. A remote track unmutes itself on its first frame. */
int codec_track_push_audio(codec_track_t *t, const codec_audio_t *a);
int codec_track_push_video(codec_track_t *t, const codec_image_t *img);
int codec_track_push_frame(codec_track_t *t, const codec_frame_t *f);
/* Sink side: ask the source for a keyframe. 0, or -ENOTSUP when the source cannot. */
int codec_track_request_keyframe(codec_track_t *t);

#endif /* URTC_CODECS_CODECS_H */
