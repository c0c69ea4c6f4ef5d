/* tests/fuzz/opus_depay_fuzz.c: the OPUS depacketizer on arbitrary payload sequences
 * (tests/fuzz/depay_fuzz.h). */
#include "tests/fuzz/depay_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return depay_fuzz(CODEC_OPUS, data, size);
}
