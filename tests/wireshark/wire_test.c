/* tests/wireshark/wire_test.c: Wireshark judges urtc's packets on the wire. Runs
 * tests/wireshark/capture.sh in a private network namespace: a urtc call captured with tshark
 * and dissected with decode-as RTP on the media ports; any "Malformed Packet" or expert info
 * of severity warning or error fails, with the dissection of the first one in the output.
 * Three calls: p2p (two urtc-peer processes through urtc-server's p2p rooms), sfu (a WHIP
 * publisher and a WHEP viewer through urtc-server's SFU, which adds the server's SRTCP) and
 * chromium (headless Chromium publishing through WHIP and viewing through WHEP, with data
 * channels). Every urtc process writes a DTLS key log, so SCTP is decrypted and judged too.
 * Skipped when tshark, the programs or (chromium) the browser are missing, or the namespace
 * cannot be made. */
#include <criterion/criterion.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/tst.h"

/* The build directory: <build>/tests/wireshark/wire_test. */
static const char *build_dir(void)
{
    static char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    cr_assert_gt(n, 0);
    self[n] = 0;
    return dirname(dirname(dirname(self)));
}

static void capture(const char *mode)
{
    char out[PATH_MAX], cmd[3 * PATH_MAX + 64];
    snprintf(out, sizeof out, "%s/wireshark-%s", build_dir(), mode);
    snprintf(cmd, sizeof cmd, "unshare --net bash %s %s %s %s 2>&1",
             tst_src_path("tests/wireshark/capture.sh"), build_dir(), out, mode);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    static char text[1 << 20];
    size_t len = fread(text, 1, sizeof text - 1, p);
    text[len] = 0;
    int st = pclose(p);
    int rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    if (rc == 77)
        cr_skip_test("%s", text);
    cr_log_info("%s", text);
    cr_assert_eq(rc, 0, "capture.sh %s exit %d (capture kept in %s):\n%s", mode, rc, out, text);
}

/* Both use port 18080 and 40000, each in its own namespace: they may run at once. */
Test(wireshark, p2p_call_dissects_without_malformed_packets)
{
    capture("p2p");
}

Test(wireshark, sfu_whip_whep_dissects_without_malformed_packets)
{
    capture("sfu");
}

Test(wireshark, chromium_whip_whep_dissects_without_malformed_packets)
{
    capture("chromium");
}
