/* codecs/h264.c: the openh264 wrapper (the only file that includes wels headers).
 *
 * Encoder: CAMERA_VIDEO_REAL_TIME, bitrate rate control without frame skipping, one slice per
 * picture, Constrained Baseline (what every browser decodes with packetization-mode=1 and
 * profile-level-id 42e01f). Decoder: error concealment off, so a picture whose references are
 * missing comes back as an error and is never shown.
 */
#include "codecs/codecs_priv.h"

#include <stdlib.h>

#include <wels/codec_api.h>

struct codec_h264_enc {
    ISVCEncoder *enc;
    bool init;
    codec_video_cfg_t cfg;
    bool force_key;
    uint64_t frame_no;
    uint8_t *buf;
    size_t buf_cap;
};

struct codec_h264_dec {
    ISVCDecoder *dec;
    bool need_key;
    uint64_t refused, corrupt;
};

codec_h264_enc_t *codec_h264_enc_create(const codec_video_cfg_t *cfg)
{
    if (cfg->codec != CODEC_H264 || cfg->width <= 0 || cfg->height <= 0 || cfg->width > 4096 ||
        cfg->height > 4096 || (cfg->width & 1) || (cfg->height & 1) || cfg->bitrate_kbps <= 0 ||
        cfg->temporal_layers < 1 || cfg->temporal_layers > 3) {
        LOG_ERROR("h264: bad encoder config");
        return NULL;
    }
    codec_h264_enc_t *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->cfg = *cfg;
    if (e->cfg.fps <= 0)
        e->cfg.fps = 30;
    e->force_key = true;
    e->buf_cap = (size_t)cfg->width * (size_t)cfg->height * 3 / 2 + 65536;
    e->buf = malloc(e->buf_cap);
    if (!e->buf || WelsCreateSVCEncoder(&e->enc) != 0 || !e->enc)
        goto fail;
    int trace = WELS_LOG_ERROR; /* its warnings go to stderr, one per encoder */
    (*e->enc)->SetOption(e->enc, ENCODER_OPTION_TRACE_LEVEL, &trace);
    SEncParamExt p;
    if ((*e->enc)->GetDefaultParams(e->enc, &p) != cmResultSuccess)
        goto fail;
    p.iUsageType = CAMERA_VIDEO_REAL_TIME;
    p.iPicWidth = cfg->width;
    p.iPicHeight = cfg->height;
    p.fMaxFrameRate = (float)e->cfg.fps;
    p.iTargetBitrate = cfg->bitrate_kbps * 1000;
    p.iMaxBitrate = cfg->bitrate_kbps * 1500;
    p.iRCMode = RC_BITRATE_MODE;
    p.bEnableFrameSkip = false;
    p.uiIntraPeriod = cfg->keyframe_max_dist > 0 ? (unsigned)cfg->keyframe_max_dist : 0;
    p.eSpsPpsIdStrategy = CONSTANT_ID;
    p.bPrefixNalAddingCtrl = false;
    p.iMultipleThreadIdc = cfg->threads > 1 ? (unsigned short)cfg->threads : 1;
    p.iTemporalLayerNum = cfg->temporal_layers;
    p.iSpatialLayerNum = 1;
    p.bEnableDenoise = false;
    p.bEnableBackgroundDetection = true;
    p.bEnableAdaptiveQuant = true;
    p.bEnableLongTermReference = false;
    p.iLoopFilterDisableIdc = 0;
    SSpatialLayerConfig *l = &p.sSpatialLayers[0];
    l->iVideoWidth = cfg->width;
    l->iVideoHeight = cfg->height;
    l->fFrameRate = (float)e->cfg.fps;
    l->iSpatialBitrate = p.iTargetBitrate;
    l->iMaxSpatialBitrate = p.iMaxBitrate;
    l->uiProfileIdc = PRO_BASELINE;
    l->sSliceArgument.uiSliceMode = SM_SINGLE_SLICE;
    if ((*e->enc)->InitializeExt(e->enc, &p) != cmResultSuccess) {
        LOG_ERROR("h264: encoder initialization failed");
        goto fail;
    }
    e->init = true;
    int fmt = videoFormatI420;
    if ((*e->enc)->SetOption(e->enc, ENCODER_OPTION_DATAFORMAT, &fmt) != cmResultSuccess)
        goto fail;
    return e;
fail:
    codec_h264_enc_destroy(e);
    return NULL;
}

void codec_h264_enc_destroy(codec_h264_enc_t *e)
{
    if (!e)
        return;
    if (e->enc) {
        if (e->init)
            (*e->enc)->Uninitialize(e->enc);
        WelsDestroySVCEncoder(e->enc);
    }
    free(e->buf);
    free(e);
}

void codec_h264_enc_request_keyframe(codec_h264_enc_t *e)
{
    e->force_key = true;
}

int codec_h264_enc_set_bitrate(codec_h264_enc_t *e, int bitrate_kbps)
{
    if (bitrate_kbps <= 0)
        return -EINVAL;
    /* openh264 insists on max >= target at every step: order the two updates accordingly */
    SBitrateInfo target = {.iLayer = SPATIAL_LAYER_0, .iBitrate = bitrate_kbps * 1000};
    SBitrateInfo max = {.iLayer = SPATIAL_LAYER_0, .iBitrate = bitrate_kbps * 1500};
    bool up = bitrate_kbps > e->cfg.bitrate_kbps;
    if ((*e->enc)->SetOption(e->enc, up ? ENCODER_OPTION_MAX_BITRATE : ENCODER_OPTION_BITRATE,
                             up ? &max : &target) != cmResultSuccess ||
        (*e->enc)->SetOption(e->enc, up ? ENCODER_OPTION_BITRATE : ENCODER_OPTION_MAX_BITRATE,
                             up ? &target : &max) != cmResultSuccess)
        return -EINVAL;
    e->cfg.bitrate_kbps = bitrate_kbps;
    return 0;
}

int codec_h264_encode(codec_h264_enc_t *e, const codec_image_t *img, uint32_t rtp_ts,
                      codec_frame_t *out)
{
    if (img->width != e->cfg.width || img->height != e->cfg.height)
        return -EINVAL;
    SSourcePicture pic = {
        .iColorFormat = videoFormatI420,
        .iPicWidth = img->width,
        .iPicHeight = img->height,
        .uiTimeStamp = (long long)(e->frame_no * 1000 / (unsigned)e->cfg.fps),
    };
    for (int i = 0; i < 3; i++) {
        pic.iStride[i] = img->stride[i];
        pic.pData[i] = img->plane[i];
    }
    if (e->force_key && (*e->enc)->ForceIntraFrame(e->enc, true) != cmResultSuccess)
        return -EIO;
    SFrameBSInfo info;
    memset(&info, 0, sizeof info);
    if ((*e->enc)->EncodeFrame(e->enc, &pic, &info) != cmResultSuccess) {
        LOG_RATELIMIT(1000, "h264: EncodeFrame failed");
        return -EIO;
    }
    e->frame_no++;
    if (info.eFrameType == videoFrameTypeSkip || info.eFrameType == videoFrameTypeInvalid)
        return 0;
    size_t len = 0;
    uint8_t tid = 0;
    for (int i = 0; i < info.iLayerNum; i++) {
        const SLayerBSInfo *l = &info.sLayerInfo[i];
        size_t n = 0;
        for (int k = 0; k < l->iNalCount; k++)
            n += (size_t)l->pNalLengthInByte[k];
        if (n > e->buf_cap - len)
            return -EMSGSIZE;
        memcpy(e->buf + len, l->pBsBuf, n); /* NAL units with 4-byte start codes: Annex-B */
        len += n;
        tid = l->uiTemporalId;
    }
    if (len == 0)
        return 0;
    bool key = info.eFrameType == videoFrameTypeIDR;
    if (key)
        e->force_key = false;
    *out = (codec_frame_t){
        .codec = CODEC_H264,
        .data = e->buf,
        .len = len,
        .rtp_ts = rtp_ts,
        .flags =
            (key ? CODEC_FRAME_KEY : 0) | (e->cfg.temporal_layers > 1 ? CODEC_FRAME_LAYERED : 0),
        .tid = key ? 0 : tid,
        .tl0picidx = -1,
        .picture_id = -1,
        .width = key ? (uint16_t)img->width : 0,
        .height = key ? (uint16_t)img->height : 0,
    };
    return 1;
}

codec_h264_dec_t *codec_h264_dec_create(void)
{
    codec_h264_dec_t *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->need_key = true;
    if (WelsCreateDecoder(&d->dec) != 0 || !d->dec)
        goto fail;
    int trace = WELS_LOG_ERROR;
    (*d->dec)->SetOption(d->dec, DECODER_OPTION_TRACE_LEVEL, &trace);
    SDecodingParam p;
    memset(&p, 0, sizeof p);
    p.sVideoProperty.eVideoBsType = VIDEO_BITSTREAM_AVC;
    p.eEcActiveIdc = ERROR_CON_DISABLE;
    if ((*d->dec)->Initialize(d->dec, &p) != 0)
        goto fail;
    return d;
fail:
    LOG_ERROR("h264: decoder creation failed");
    codec_h264_dec_destroy(d);
    return NULL;
}

void codec_h264_dec_destroy(codec_h264_dec_t *d)
{
    if (!d)
        return;
    if (d->dec) {
        (*d->dec)->Uninitialize(d->dec);
        WelsDestroyDecoder(d->dec);
    }
    free(d);
}

uint64_t codec_h264_dec_refused(const codec_h264_dec_t *d)
{
    return d->refused;
}

uint64_t codec_h264_dec_corrupt(const codec_h264_dec_t *d)
{
    return d->corrupt;
}

int codec_h264_decode(codec_h264_dec_t *d, const codec_frame_t *f, codec_image_t *img)
{
    if (!f->data || f->len == 0 || f->len > INT32_MAX)
        return -EINVAL;
    /* An IDR in the access unit makes it a keyframe (the bitstream's word, not the flags'). */
    bool key = false;
    size_t nal, nal_len, off = 0;
    while (!key && codec_h264_next_nal(f->data, f->len, off, &nal, &nal_len)) {
        key = (f->data[nal] & 0x1F) == H264_NAL_IDR;
        off = nal + nal_len;
    }
    if ((f->flags & CODEC_FRAME_GAP) && !(f->flags & CODEC_FRAME_BASE_OK))
        d->need_key = true;
    if (d->need_key && !key) {
        d->refused++;
        return -EAGAIN;
    }
    unsigned char *dst[3] = {NULL, NULL, NULL};
    SBufferInfo bi;
    memset(&bi, 0, sizeof bi);
    DECODING_STATE st = (*d->dec)->DecodeFrameNoDelay(d->dec, f->data, (int)f->len, dst, &bi);
    if (st != dsErrorFree) {
        LOG_DEBUG("h264: decode state 0x%x", (unsigned)st);
        d->corrupt++;
        d->need_key = true;
        return -EBADMSG;
    }
    d->need_key = false;
    if (bi.iBufferStatus != 1 || !dst[0])
        return 0;
    const SSysMEMBuffer *sb = &bi.UsrData.sSystemBuffer;
    *img = (codec_image_t){
        .width = sb->iWidth,
        .height = sb->iHeight,
        .plane = {dst[0], dst[1], dst[2]},
        .stride = {sb->iStride[0], sb->iStride[1], sb->iStride[1]},
    };
    return 1;
}
