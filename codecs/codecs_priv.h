/* codecs/codecs_priv.h: shared inside codecs/ only. */
#ifndef URTC_CODECS_CODECS_PRIV_H
#define URTC_CODECS_CODECS_PRIV_H

#include "codecs/codecs.h"

/* H.264 NAL unit types (RFC 6184 §5.2, H.264 Table 7-1). */
enum {
    H264_NAL_SLICE = 1,
    H264_NAL_IDR = 5,
    H264_NAL_SEI = 6,
    H264_NAL_SPS = 7,
    H264_NAL_PPS = 8,
    H264_NAL_AUD = 9,
    H264_NAL_STAP_A = 24,
    H264_NAL_STAP_B = 25,
    H264_NAL_MTAP16 = 26,
    H264_NAL_MTAP24 = 27,
    H264_NAL_FU_A = 28,
    H264_NAL_FU_B = 29,
};

/* Finds the next NAL unit of an Annex-B byte stream at or after @from: sets *@nal (offset of its
 * header byte) and *@nal_len (without the next start code or trailing zero bytes). Returns false
 * when there is none. Empty NAL units are skipped. */
bool codec_h264_next_nal(const uint8_t *b, size_t len, size_t from, size_t *nal, size_t *nal_len);

#endif
