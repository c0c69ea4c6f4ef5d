/* tests/support/tst.h: helpers shared by the Criterion tests. */
#ifndef URTC_TESTS_SUPPORT_TST_H
#define URTC_TESTS_SUPPORT_TST_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Copies @len bytes so that they end exactly at a PROT_NONE page: a parser that reads one byte
 * too far crashes instead of passing (as picohttpparser's tests do). The copy lives until the
 * process exits. */
const uint8_t *tst_guard_copy(const void *data, size_t len);

/* Reads a file below tests/fixtures/ (e.g. "sdp/chromium-...-offer-av-dc.sdp"); the buffer is
 * NUL-terminated (not counted in *len) and owned by the caller (free()). Aborts the test if
 * the file is missing. */
uint8_t *tst_fixture(const char *rel_path, size_t *len);

/* Absolute path of a file in the source tree (TST_SRC_DIR/@rel). Static buffer. */
const char *tst_src_path(const char *rel);

/* Reads a whole file; NULL if it cannot. Caller frees. */
uint8_t *tst_read_file(const char *path, size_t *len);

/* Hex string ("21 12 a4 42", spaces ignored) to bytes; returns the count. */
size_t tst_hex(const char *hex, uint8_t *out, size_t cap);

/* The last line of a program's output @out (trailing newlines are cut off in place), parsed as
 * JSON, e.g. the `--json` summary of urtc-peer or urtc-bench. Fails the test when it is not
 * JSON. The caller json_decref()s it. */
json_t *tst_last_json(char *out);

#endif
