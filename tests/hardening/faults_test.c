/* tests/hardening/faults_test.c: urtc processes under network faults. Runs
 * tests/hardening/faults.sh (and sfu_faults.sh, sfu_lossy.sh) in a private network namespace (it
 * makes a second one and a veth pair): a call across the veth with `tc netem` loss (10%, and
 * 20% in a second run), delay, jitter and duplication (tests/hardening/tun_impair.py when the
 * kernel has no sch_netem, which the output says), a peer
 * frozen with SIGSTOP that only consent freshness can notice (failed within 30 s), the same peer
 * SIGKILLed (the server frees its member), and SIGTERM on urtc-server (exit 0, no sanitizer report:
 * under `make asan` the programs are ASan builds). The programs come from this build directory;
 * skipped when they are missing or namespaces cannot be made. */
#include <criterion/criterion.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/tst.h"

static const char *build_dir(void)
{
    static char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    cr_assert_gt(n, 0);
    self[n] = 0;
    return dirname(dirname(dirname(self))); /* <build>/tests/hardening/faults_test */
}

/* Runs @script with the environment assignments @env ("" for none). */
static void run_script_env(const char *env, const char *script, const char *outname)
{
    char out[PATH_MAX], path[PATH_MAX], cmd[3 * PATH_MAX + 128];
    snprintf(out, sizeof out, "%s/%s", build_dir(), outname);
    snprintf(path, sizeof path, "tests/hardening/%s", script);
    snprintf(cmd, sizeof cmd, "%s unshare --net bash %s %s %s 2>&1", env, tst_src_path(path),
             build_dir(), out);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    static char text[1 << 16];
    size_t len = fread(text, 1, sizeof text - 1, p);
    text[len] = 0;
    int st = pclose(p);
    int rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    if (rc == 77)
        cr_skip_test("%s", text);
    cr_log_info("%s", text);
    cr_assert_eq(rc, 0, "%s exit %d (logs in %s):\n%s", script, rc, out, text);
}

static void run_script(const char *script, const char *outname)
{
    run_script_env("", script, outname);
}

/* Each script runs in its own network namespace: they may run at once. No Criterion .timeout
 * (see call_test.c): the scripts bound every wait. */
Test(hardening_faults, netem_call_frozen_peer_consent_sigkill_sigterm)
{
    run_script("faults.sh", "hardening-faults");
}

/* The impaired p2p call of faults.sh alone at 20% loss, the top of the 5-20% (the test
 * above runs it at 10%): it must still connect, decode audio and video on both sides, and
 * deliver every chat message in order and once. */
Test(hardening_faults, call_at_20_percent_loss)
{
    run_script_env("LOSS=20 CALL_SECS=19 CALL_ONLY=1", "faults.sh", "hardening-faults-20");
}

/* tests/hardening/sfu_faults.sh: a WHIP publisher and a WHEP viewer through the SFU while
 * 30,000 random datagrams hit the media port and junk hits the HTTP port; then the publisher
 * is SIGKILLed and consent expiry must free it (urtc_sfu_members 0 within 35 s); SIGTERM. */
Test(hardening_faults, sfu_garbage_flood_vanished_publisher_sigterm)
{
    run_script("sfu_faults.sh", "hardening-sfu-faults");
}

/* tests/hardening/sfu_lossy.sh: a WHIP publisher and a WHEP viewer through the SFU over a link
 * with 10% loss, 100 ms +-20 ms delay and 2% duplication: the viewer keeps decoding video
 * (NACK/RTX on both legs, PLI as the fallback) and audio. Then two urtc-peer bots in an sfu
 * room across the same link: every chat message one sent reached the other through the SFU's
 * relay, in order and once, and each decodes the other's video and audio. */
Test(hardening_faults, sfu_call_through_loss_delay_duplication)
{
    run_script("sfu_lossy.sh", "hardening-sfu-lossy");
}
