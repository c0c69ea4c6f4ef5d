/* tests/hardening/faults_test.c: urtc processes under network faults. Runs
 * tests/hardening/faults.sh in a private network namespace (it makes a second one and a veth
 * pair): a call across the veth with `tc netem` loss, delay, jitter and duplication (unimpaired
 * when the kernel has no sch_netem, which the output says), a peer frozen with SIGSTOP that
 * only consent freshness can notice (failed within 30 s), the same peer SIGKILLed (the
 * server frees its member), and SIGTERM on urtc-server (exit 0, no sanitizer report: under
 * `make asan` the programs are ASan builds). The programs come from this build directory;
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

Test(hardening_faults, netem_call_frozen_peer_consent_sigkill_sigterm, .timeout = 150)
{
    char out[PATH_MAX], cmd[3 * PATH_MAX + 64];
    snprintf(out, sizeof out, "%s/hardening-faults", build_dir());
    snprintf(cmd, sizeof cmd, "unshare --net bash %s %s %s 2>&1",
             tst_src_path("tests/hardening/faults.sh"), build_dir(), out);
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
    cr_assert_eq(rc, 0, "faults.sh exit %d (logs in %s):\n%s", rc, out, text);
}
