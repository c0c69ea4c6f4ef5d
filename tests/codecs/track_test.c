/* tests/codecs/track_test.c: the MediaStreamTrack model. */
#include <criterion/criterion.h>
#include <string.h>

#include "codecs/codecs.h"

typedef struct {
    codec_sink_t sink;
    int audio, video, frames, states;
    bool last_muted, last_enabled, last_ended;
} test_sink_t;

static void on_audio(codec_sink_t *s, codec_track_t *t, const codec_audio_t *a)
{
    (void)t;
    (void)a;
    container_of(s, test_sink_t, sink)->audio++;
}
static void on_video(codec_sink_t *s, codec_track_t *t, const codec_image_t *img)
{
    (void)t;
    (void)img;
    container_of(s, test_sink_t, sink)->video++;
}
static void on_frame(codec_sink_t *s, codec_track_t *t, const codec_frame_t *f)
{
    (void)t;
    (void)f;
    container_of(s, test_sink_t, sink)->frames++;
}
static void on_state(codec_sink_t *s, codec_track_t *t)
{
    test_sink_t *ts = container_of(s, test_sink_t, sink);
    ts->states++;
    ts->last_muted = t->muted;
    ts->last_enabled = t->enabled;
    ts->last_ended = t->ended;
}

typedef struct {
    codec_source_t src;
    int keyframes, stops;
} test_source_t;

static void req_key(codec_source_t *s, codec_track_t *t)
{
    (void)t;
    container_of(s, test_source_t, src)->keyframes++;
}
static void on_stop(codec_source_t *s, codec_track_t *t)
{
    (void)t;
    container_of(s, test_source_t, src)->stops++;
}

Test(codecs_track, local_audio_track_lifecycle)
{
    codec_track_t t;
    codec_track_init(&t, CODEC_KIND_AUDIO, "mic-1", false, NULL);
    cr_expect_str_eq(t.id, "mic-1");
    cr_expect(t.enabled && !t.muted && !t.ended);
    test_sink_t a = {.sink = {.on_audio = on_audio, .on_state = on_state}};
    test_sink_t b = {.sink = {.on_audio = on_audio, .on_frame = on_frame}};
    codec_track_add_sink(&t, &a.sink);
    codec_track_add_sink(&t, &b.sink);
    int16_t pcm[960] = {0};
    codec_audio_t au = {.pcm = pcm, .samples = 960, .channels = 1, .rate_hz = 48000};
    cr_expect_eq(codec_track_push_audio(&t, &au), 2);
    cr_expect_eq(a.audio, 1);
    cr_expect_eq(b.audio, 1);
    /* disabled: nothing flows */
    codec_track_set_enabled(&t, false);
    cr_expect_eq(a.states, 1);
    cr_expect(!a.last_enabled);
    cr_expect_eq(codec_track_push_audio(&t, &au), 0);
    cr_expect_eq(a.audio, 1);
    codec_track_set_enabled(&t, true);
    codec_track_remove_sink(&t, &b.sink);
    cr_expect_eq(codec_track_push_audio(&t, &au), 1);
    cr_expect_eq(b.audio, 1);
    /* wrong kind */
    codec_image_t img = {0};
    cr_expect_eq(codec_track_push_video(&t, &img), -EINVAL);
    codec_frame_t vf = {.codec = CODEC_VP8};
    cr_expect_eq(codec_track_push_frame(&t, &vf), -EINVAL);
    codec_frame_t af = {.codec = CODEC_OPUS};
    cr_expect_eq(codec_track_push_frame(&t, &af), 0); /* a has no on_frame */
    /* stop: ended for good */
    codec_track_stop(&t);
    cr_expect(a.last_ended);
    cr_expect_eq(codec_track_push_audio(&t, &au), 0);
    codec_track_set_enabled(&t, false); /* no effect once ended */
    cr_expect(t.enabled);
    codec_track_fini(&t);
}

Test(codecs_track, remote_video_track_unmutes_on_media_and_asks_keyframes)
{
    test_source_t src = {.src = {.request_keyframe = req_key, .on_stop = on_stop}};
    codec_track_t t;
    codec_track_init(&t, CODEC_KIND_VIDEO,
                     "remote-video-with-a-very-long-id-that-will-be-cut-"
                     "somewhere-after-sixty-three",
                     true, &src.src);
    cr_expect_eq(strlen(t.id), CODEC_TRACK_ID_MAX - 1);
    cr_expect(t.muted);
    test_sink_t s = {.sink = {.on_frame = on_frame, .on_video = on_video, .on_state = on_state}};
    codec_track_add_sink(&t, &s.sink);
    codec_frame_t f = {.codec = CODEC_VP8};
    cr_expect_eq(codec_track_push_frame(&t, &f), 1);
    cr_expect(!t.muted);
    cr_expect_eq(s.states, 1);
    cr_expect_eq(s.frames, 1);
    /* source side says no media: muted, nothing flows */
    codec_track_set_muted(&t, true);
    cr_expect(s.last_muted);
    /* a remote track unmutes itself on media */
    cr_expect_eq(codec_track_push_frame(&t, &f), 1);
    /* the sink asks for a keyframe; re-enabling a video track asks too */
    cr_expect_eq(codec_track_request_keyframe(&t), 0);
    cr_expect_eq(src.keyframes, 1);
    codec_track_set_enabled(&t, false);
    codec_track_set_enabled(&t, true);
    cr_expect_eq(src.keyframes, 2);
    codec_track_stop(&t);
    cr_expect_eq(src.stops, 1);
    codec_track_stop(&t);
    cr_expect_eq(src.stops, 1);
    cr_expect_eq(codec_track_request_keyframe(&t), -ENOTSUP);
    codec_track_t t2;
    codec_track_init(&t2, CODEC_KIND_AUDIO, NULL, false, NULL);
    cr_expect_eq(codec_track_request_keyframe(&t2), -ENOTSUP);
    cr_expect_str_eq(t2.id, "");
}
