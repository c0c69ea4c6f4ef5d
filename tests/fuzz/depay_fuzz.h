/* tests/fuzz/depay_fuzz.h: the body the depacketizer fuzz targets share (one per codec).
 *
 * Input: records of [len:1][flags:1][bytes: len]; flags bit 0 is the marker, bits 1-3 perturb
 * the sequence number (reordering, duplicates, gaps) and bit 4 starts a new timestamp. Every
 * frame that comes out is read in full, so ASan sees any bad view. */
#ifndef URTC_TESTS_FUZZ_DEPAY_FUZZ_H
#define URTC_TESTS_FUZZ_DEPAY_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "codecs/codecs.h"

static inline int depay_fuzz(codec_id_t codec, const uint8_t *data, size_t size)
{
    /* a fresh assembler per input: state must not leak between runs */
    codec_depay_t *dd = codec_depay_create(&(codec_depay_cfg_t){.codec = codec,
                                                                .max_frame_len = 64 * 1024,
                                                                .max_pending = 4,
                                                                .reorder_window = 16,
                                                                .max_frame_pkts = 64});
    if (!dd)
        return 0;
    uint16_t seq = 1000;
    uint32_t ts = 0;
    size_t off = 0;
    volatile uint8_t sink = 0;
    while (off + 2 <= size) {
        size_t len = data[off];
        uint8_t fl = data[off + 1];
        off += 2;
        if (len > size - off)
            len = size - off;
        uint16_t s = (uint16_t)(seq + ((fl >> 1) & 7) - 3);
        seq++;
        if (fl & 0x10)
            ts += 3000;
        (void)codec_depay_push(dd, data + off, len, s, ts, fl & 1);
        off += len;
        codec_frame_t f;
        while (codec_depay_pop(dd, &f) == 1)
            for (size_t i = 0; i < f.len; i++)
                sink ^= f.data[i];
    }
    codec_depay_flush(dd);
    codec_frame_t f;
    while (codec_depay_pop(dd, &f) == 1)
        for (size_t i = 0; i < f.len; i++)
            sink ^= f.data[i];
    (void)sink;
    codec_depay_destroy(dd);
    return 0;
}

#endif
