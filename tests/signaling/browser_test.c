/* tests/signaling/browser_test.c: the demo page end to end in real browsers (Debian
 * `chromium`, driven by playwright-core from tests/signaling/browser/node_modules: run
 * `npm ci --prefix tests/signaling/browser` once; Debian `firefox-esr`, started directly). A
 * server with the SFU runs in this process inside a private network namespace
 * (unshare(CLONE_NEWNET), then `ip link set lo up`), so the browsers can only reach loopback.
 *  - sfu (the default room mode, tests/signaling/browser/sfu_call.js): two Chromium pages
 *    decode each other's video (framesDecoded >= 30) through the SFU (the selected pair ends at
 *    the server's media port); then they chat over the relayed data channel and a third joins
 *    (renegotiation) and leaves (peer-left removes tiles), or an aiortc WHIP publisher's tile
 *    comes (on reused transceivers) and goes.
 *  - p2p (`?mode=p2p`, p2p_call.js): two Chromium pages call each other directly (the selected
 *    pair is between the two browsers, not the server's media port), chat, peer-left. Also on
 *    a server without the SFU, where a page that names no mode falls back to p2p.
 *  - firefox_chromium.js: Firefox ESR calls Chromium in p2p mode and through the SFU, frames
 *    and chat both ways.
 * Each test is skipped when a browser, node, playwright-core or the namespace is unavailable. */
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

/* Starts a server with the SFU in a fresh network namespace and runs
 * `node @script http://127.0.0.1:PORT MEDIA_PORT @arg` against it; it must exit 0. Without
 * @with_sfu the server has none (sfu joins get `unsupported`). */
static void run_in_netns(const char *script, const char *arg, bool firefox, bool with_sfu)
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

    eng_cfg_t ec = {.shards = 1, .udp_port = 0};
    eng_t *eng = eng_create(&ec);
    cr_assert_not_null(eng);
    eng_sfu_cfg_t fc = {0};
    eng_sfu_t *sfu = with_sfu ? eng_sfu_create(eng, &fc) : NULL;
    cr_assert(sfu || !with_sfu);
    sig_cfg_t sc = {.listen = "127.0.0.1:0", .web_root = tst_src_path("web"), .sfu = sfu};
    sig_server_t *sig = sig_server_start(&sc, eng);
    cr_assert_not_null(sig);
    net_addr_t a, m;
    sig_server_addr(sig, &a);
    eng_shard_addr(eng, 0, &m);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "timeout 130 /usr/bin/node %s http://127.0.0.1:%u %u %s",
             tst_src_path(script), net_addr_port(&a), net_addr_port(&m), arg);
    int st = system(cmd);
    cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s failed (status %d)", script, st);
    sig_server_stop(sig);
    eng_destroy(eng);
    eng_sfu_destroy(sfu); /* after the engine: the shards used its state */
}

Test(signaling_browser, two_chromium_pages_call_through_the_sfu_then_a_third, .timeout = 150)
{
    run_in_netns("tests/signaling/browser/sfu_call.js", "three", false, true);
}

Test(signaling_browser, whip_publisher_tile_on_the_sfu_page_comes_and_goes, .timeout = 150)
{
    if (access("/usr/bin/python3", X_OK) != 0 ||
        system("/usr/bin/python3 -c 'import aiortc' 2>/dev/null"))
        cr_skip_test("needs Debian python3-aiortc");
    run_in_netns("tests/signaling/browser/sfu_call.js", "whip", false, true);
}

Test(signaling_browser, two_chromium_pages_call_p2p_through_the_demo_page, .timeout = 150)
{
    run_in_netns("tests/signaling/browser/p2p_call.js", "p2p", false, true);
}

Test(signaling_browser, firefox_and_chromium_call_p2p_through_the_demo_page, .timeout = 150)
{
    run_in_netns("tests/signaling/browser/firefox_chromium.js", "p2p", true, true);
}

Test(signaling_browser, firefox_and_chromium_call_through_the_sfu, .timeout = 150)
{
    run_in_netns("tests/signaling/browser/firefox_chromium.js", "sfu", true, true);
}

Test(signaling_browser, page_falls_back_to_p2p_on_a_server_without_the_sfu, .timeout = 150)
{
    run_in_netns("tests/signaling/browser/p2p_call.js", "fallback", false, false);
}
