/* tests/interop/pc_firefox_test.c: a call between headless Firefox ESR (Debian firefox-esr, the
 * demo page) and build/urtc-peer through build/urtc-server in p2p mode, inside a private
 * network namespace (tests/interop/pc_firefox.sh does the orchestration). urtc offers, so
 * Firefox is the DTLS client and its ClientHello, which carries post-quantum key shares and
 * spans datagrams, must be reassembled and answered with DTLS 1.2 (issue: large
 * ClientHellos). Checks: urtc decodes Firefox's video and audio, and gets Firefox's chat plus
 * its "selftest ok" message, which the page sends only after decoding 30 of urtc's frames. */
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

Test(pc_firefox, firefox_answers_and_urtc_is_the_dtls_server, .timeout = 120)
{
    if (access("/usr/bin/firefox-esr", X_OK) != 0)
        cr_skip_test("firefox-esr not installed (make deps installs it)");
    if (unshare(CLONE_NEWNET) != 0)
        cr_skip_test("unshare(CLONE_NEWNET) not permitted: cannot isolate Firefox");
    cr_assert_eq(system("ip link set lo up"), 0);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s %s %s/build 2>&1", tst_src_path("tests/interop/pc_firefox.sh"),
             TST_SRC_DIR, TST_SRC_DIR);
    FILE *f = popen(cmd, "r");
    cr_assert_not_null(f);
    static char out[65536], line[8192];
    size_t n = 0;
    while (fgets(line, sizeof line, f) && n + strlen(line) < sizeof out) {
        memcpy(out + n, line, strlen(line) + 1);
        n += strlen(line);
    }
    int rc = pclose(f);
    fprintf(stderr, "%s", out);
    cr_assert_eq(rc, 0, "the run failed:\n%s", out);
    /* the last line that is a JSON object (urtc-peer's report nests objects in "sources") */
    const char *json = NULL;
    for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (*l == '{')
            json = l;
    cr_assert_not_null(json, "no JSON summary:\n%s", out);
    long video = json_num(json, "video_frames_decoded");
    long audio = json_num(json, "audio_packets_received");
    long dc = json_num(json, "datachannel_messages_received");
    cr_assert_geq(video, 30, "urtc decoded %ld of Firefox's frames", video);
    cr_assert_geq(audio, 100, "urtc received %ld of Firefox's audio packets", audio);
    cr_assert_geq(dc, 2, "Firefox's chat and its selftest message (it decoded our video): %ld", dc);
}
