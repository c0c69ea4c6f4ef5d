/* tests/interop/pc_coturn_test.c: urtc to urtc across two processes (build/urtc-peer, p2p room
 * of build/urtc-server) with iceTransportPolicy "relay" through a real coturn (Debian coturn),
 * inside a private network namespace (tests/interop/pc_coturn.sh). Both peers must connect
 * and decode each other's video and audio, and coturn must have served two allocations and
 * channel binds, so the media really went through the relay. */
#include <criterion/criterion.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/support/tst.h"

static long json_num(const char *json, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *s = strstr(json, pat);
    return s ? strtol(s + strlen(pat), NULL, 10) : -1;
}

static const char *line_of(const char *out, const char *tag)
{
    const char *s = strstr(out, tag);
    cr_assert_not_null(s, "no '%s' in:\n%s", tag, out);
    return s + strlen(tag);
}

Test(pc_coturn, two_processes_relay_only_through_coturn, .timeout = 120)
{
    if (unshare(CLONE_NEWNET) != 0)
        cr_skip_test("unshare(CLONE_NEWNET) not permitted: cannot isolate coturn");
    cr_assert_eq(system("ip link set lo up"), 0);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s %s %s/build 2>&1", tst_src_path("tests/interop/pc_coturn.sh"),
             TST_SRC_DIR, TST_SRC_DIR);
    FILE *f = popen(cmd, "r");
    cr_assert_not_null(f);
    static char out[65536], line[8192];
    size_t n = 0;
    while (fgets(line, sizeof line, f) && n + strlen(line) < sizeof out) {
        memcpy(out + n, line, strlen(line) + 1);
        n += strlen(line);
    }
    pclose(f);
    fprintf(stderr, "%s", out);
    const char *a = line_of(out, "\nA {") - 1, *b = line_of(out, "\nB {") - 1;
    for (int i = 0; i < 2; i++) {
        const char *j = i ? b : a;
        cr_assert_eq(json_num(j, "connected"), 1, "peer %c did not connect:\n%s", 'A' + i, out);
        cr_assert_geq(json_num(j, "video_frames_decoded"), 30, "peer %c video", 'A' + i);
        cr_assert_geq(json_num(j, "audio_packets_received"), 100, "peer %c audio", 'A' + i);
    }
    cr_assert_eq(atoi(line_of(out, "ALLOCATIONS ")), 2, "coturn allocations:\n%s", out);
    cr_assert_geq(atoi(line_of(out, "CHANNELS ")), 2, "coturn channel binds:\n%s", out);
}
