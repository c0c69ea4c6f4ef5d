/* codecs/track.c: the MediaStreamTrack model (W3C Media Capture and Streams §4.3). */
#include "codecs/codecs.h"

#include <stdio.h>

void codec_track_init(codec_track_t *t, codec_kind_t kind, const char *id, bool remote,
                      codec_source_t *source)
{
    *t = (codec_track_t){
        .kind = kind,
        .remote = remote,
        .enabled = true,
        /* §4.3.1: a remote track is muted until media arrives */
        .muted = remote,
        .source = source,
    };
    snprintf(t->id, sizeof t->id, "%s", id ? id : "");
    net_list_init(&t->_sinks);
}

static void track_notify(codec_track_t *t)
{
    net_list_t *pos, *tmp;
    net_list_for_each_safe (pos, tmp, &t->_sinks) {
        codec_sink_t *s = container_of(pos, codec_sink_t, _node);
        if (s->on_state)
            s->on_state(s, t);
    }
}

void codec_track_fini(codec_track_t *t)
{
    codec_track_stop(t);
}

void codec_track_add_sink(codec_track_t *t, codec_sink_t *s)
{
    net_list_add_tail(&t->_sinks, &s->_node);
}

void codec_track_remove_sink(codec_track_t *t, codec_sink_t *s)
{
    (void)t;
    net_list_del(&s->_node);
}

void codec_track_set_enabled(codec_track_t *t, bool enabled)
{
    if (t->ended || t->enabled == enabled)
        return;
    t->enabled = enabled;
    track_notify(t);
    /* A re-enabled video track needs a fresh keyframe: the sinks missed the references. */
    if (enabled && t->kind == CODEC_KIND_VIDEO)
        (void)codec_track_request_keyframe(t);
}

void codec_track_set_muted(codec_track_t *t, bool muted)
{
    if (t->ended || t->muted == muted)
        return;
    t->muted = muted;
    track_notify(t);
}

void codec_track_stop(codec_track_t *t)
{
    if (t->ended)
        return;
    t->ended = true; /* §4.3.1.2: readyState ends for good */
    if (t->source && t->source->on_stop)
        t->source->on_stop(t->source, t);
    track_notify(t);
}

/* Whether media may flow; a remote track unmutes on its first media. */
static bool track_live(codec_track_t *t)
{
    if (t->ended)
        return false;
    if (t->remote && t->muted)
        codec_track_set_muted(t, false);
    if (!t->enabled || t->muted) {
        t->_suppressed++;
        return false;
    }
    return true;
}

#define TRACK_DELIVER(t, cb, ...)                                                                  \
    do {                                                                                           \
        net_list_t *pos_, *tmp_;                                                                   \
        int n_ = 0;                                                                                \
        net_list_for_each_safe (pos_, tmp_, &(t)->_sinks) {                                        \
            codec_sink_t *s_ = container_of(pos_, codec_sink_t, _node);                            \
            if (s_->cb) {                                                                          \
                s_->cb(s_, (t), __VA_ARGS__);                                                      \
                n_++;                                                                              \
            }                                                                                      \
        }                                                                                          \
        (t)->_delivered++;                                                                         \
        return n_;                                                                                 \
    } while (0)

int codec_track_push_audio(codec_track_t *t, const codec_audio_t *a)
{
    if (t->kind != CODEC_KIND_AUDIO)
        return -EINVAL;
    if (!track_live(t))
        return 0;
    TRACK_DELIVER(t, on_audio, a);
}

int codec_track_push_video(codec_track_t *t, const codec_image_t *img)
{
    if (t->kind != CODEC_KIND_VIDEO)
        return -EINVAL;
    if (!track_live(t))
        return 0;
    TRACK_DELIVER(t, on_video, img);
}

int codec_track_push_frame(codec_track_t *t, const codec_frame_t *f)
{
    if (codec_is_video(f->codec) != (t->kind == CODEC_KIND_VIDEO))
        return -EINVAL;
    if (!track_live(t))
        return 0;
    TRACK_DELIVER(t, on_frame, f);
}

int codec_track_request_keyframe(codec_track_t *t)
{
    if (t->ended || !t->source || !t->source->request_keyframe)
        return -ENOTSUP;
    t->source->request_keyframe(t->source, t);
    return 0;
}
