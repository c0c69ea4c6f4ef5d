/* tests/signaling/browser_test.c: the demo page end to end in headless Chromium (Debian
 * `chromium`, driven by playwright-core from tests/signaling/browser/node_modules: run
 * `npm ci --prefix tests/signaling/browser` once). Two pages join one room in p2p mode through
 * the page served by a server running in this process; each must decode the other's video
 * (framesDecoded >= 30) and receive the other's chat over the data channel
 * (tests/signaling/browser/p2p_call.js). Everything runs in a private network namespace
 * (unshare(CLONE_NEWNET), then `ip link set lo up`), so Chromium can only reach loopback. The
 * second test calls from Debian firefox-esr to Chromium the same way
 * (tests/signaling/browser/firefox_chromium.js). Each test is skipped when a browser, node,
 * playwright-core or the namespace is unavailable. */
#include "signaling/signaling.h"

#include "tests/support/tst.h"

#include <criterion/criterion.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static bool enter_netns(void)
{
    if (unshare(CLONE_NEWNET) != 0)
        return false;
    return system("ip link set lo up") == 0;
}

/* Starts a server in a fresh network namespace and runs @script against it; its exit status. */
static void run_in_netns(const char *script, bool firefox)
{
    if (access("/usr/bin/chromium", X_OK) != 0 || access("/usr/bin/node", X_OK) != 0)
        cr_skip_test("needs Debian chromium and node");
    if (firefox && access("/usr/bin/firefox-esr", X_OK) != 0)
        cr_skip_test("needs Debian firefox-esr");
    char pw[1024];
    snprintf(pw, sizeof pw, "%s",
             tst_src_path("tests/signaling/browser/node_modules/playwright-core"));
    if (access(pw, R_OK) != 0)
        cr_skip_test("needs playwright-core: npm ci --prefix tests/signaling/browser");
    if (!enter_netns())
        cr_skip_test("cannot create a network namespace (needs root)");

    eng_cfg_t ec = {.shards = 1, .udp_port = 0, .pool_pkts = 256, .rx_bufs = 64};
    eng_t *eng = eng_create(&ec);
    cr_assert_not_null(eng);
    sig_cfg_t sc = {.listen = "127.0.0.1:0", .web_root = tst_src_path("web")};
    sig_server_t *sig = sig_server_start(&sc, eng);
    cr_assert_not_null(sig);
    net_addr_t a;
    sig_server_addr(sig, &a);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "timeout 130 /usr/bin/node %s http://127.0.0.1:%u",
             tst_src_path(script), net_addr_port(&a));
    int st = system(cmd);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s failed (status %d)", script, st);
    sig_server_stop(sig);
    eng_destroy(eng);
}

Test(signaling_browser, two_chromium_pages_call_p2p_through_the_demo_page, .timeout = 150)
{
    run_in_netns("tests/signaling/browser/p2p_call.js", false);
}

Test(signaling_browser, firefox_and_chromium_call_p2p_through_the_demo_page, .timeout = 150)
{
    run_in_netns("tests/signaling/browser/firefox_chromium.js", true);
}
