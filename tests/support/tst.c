/* tests/support/tst.c */
#include "tests/support/tst.h"

#include <criterion/criterion.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

const uint8_t *tst_guard_copy(const void *data, size_t len)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t pages = (len + page - 1) / page + 1;
    uint8_t *m =
        mmap(NULL, pages * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert(m != MAP_FAILED, "mmap");
    uint8_t *guard = m + (pages - 1) * page;
    cr_assert(mprotect(guard, page, PROT_NONE) == 0, "mprotect");
    uint8_t *dst = guard - len;
    if (len)
        memcpy(dst, data, len);
    return dst;
}

const char *tst_src_path(const char *rel)
{
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s/%s", TST_SRC_DIR, rel);
    return buf;
}

uint8_t *tst_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[n] = 0;
        *len = (size_t)n;
    }
    return buf;
}

uint8_t *tst_fixture(const char *rel_path, size_t *len)
{
    char rel[1024];
    snprintf(rel, sizeof rel, "tests/fixtures/%s", rel_path);
    uint8_t *buf = tst_read_file(tst_src_path(rel), len);
    cr_assert(buf != NULL, "fixture %s missing", rel_path);
    return buf;
}

size_t tst_hex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int hi = -1;
    for (; *hex; hex++) {
        if (!isxdigit((unsigned char)*hex))
            continue;
        int v =
            isdigit((unsigned char)*hex) ? *hex - '0' : (tolower((unsigned char)*hex) - 'a' + 10);
        if (hi < 0) {
            hi = v;
        } else {
            cr_assert(n < cap, "tst_hex: output too small");
            out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    return n;
}

json_t *tst_last_json(char *out)
{
    size_t n = strlen(out);
    while (n && out[n - 1] == '\n')
        out[--n] = 0;
    char *line = strrchr(out, '\n');
    line = line ? line + 1 : out;
    json_error_t err;
    json_t *j = json_loads(line, 0, &err);
    cr_assert_not_null(j, "not JSON: %s (%s)", line, err.text);
    return j;
}
