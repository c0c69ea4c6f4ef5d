// tests/signaling/browser/firefox_chromium.js: Firefox ESR and Chromium (both headless) call
// each other through the demo page, in p2p mode (browser to browser) or through the SFU (sfu
// mode: the selected pair ends at the server's media port). Chromium is driven by
// playwright-core; Firefox (Debian firefox-esr, fresh profile from firefox-user.js: fake media,
// loopback ICE) just opens the page with ?selftest=1, and tells Chromium over the data channel
// once it has decoded 30 frames of Chromium's video and received Chromium's chat. Chromium
// checks the other direction itself.
// Run by tests/signaling/browser_test.c inside a private network namespace.
// Usage: node firefox_chromium.js http://127.0.0.1:PORT MEDIA_PORT p2p|sfu. Exit 0 on success.
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const common = require('./common.js');

const BASE = process.argv[2];
const MEDIA_PORT = Number(process.argv[3]);
const MODE = process.argv[4] === 'sfu' ? 'sfu' : 'p2p';

let firefox = null, profile = null;
function cleanup() {
  if (firefox) {
    try { process.kill(-firefox.pid, 'SIGKILL'); } catch (e) { /* gone */ }
    firefox = null;
  }
  if (profile) fs.rmSync(profile, { recursive: true, force: true });
}
common.setOnFail(() => {
  if (profile && fs.existsSync(path.join(profile, 'stderr.log')))
    console.log(fs.readFileSync(path.join(profile, 'stderr.log'), 'utf8').slice(-2000));
  cleanup();
});
const fail = common.fail;
const guard = common.guard(110000);

async function main() {
  const browser = await common.launch();
  const room = 'fx' + MODE + process.pid;
  const page = await common.openPage(
      browser, 'chromium', `${BASE}/?room=${room}&name=chromium&mode=${MODE}&say=hello%20from%20chromium`);
  await common.waitFor(page, () => window.urtc.joined, null, 10000, 'chromium did not join');

  profile = fs.mkdtempSync(path.join(os.tmpdir(), 'urtc-fx-'));
  fs.copyFileSync(path.join(__dirname, 'firefox-user.js'), path.join(profile, 'user.js'));
  const env = { ...process.env, HOME: profile, MOZ_HEADLESS: '1', MOZ_CRASHREPORTER_DISABLE: '1' };
  firefox = spawn('/usr/bin/firefox-esr',
                  ['--headless', '--no-remote', '--profile', profile,
                   `${BASE}/?room=${room}&name=firefox&mode=${MODE}&say=hello%20from%20firefox&selftest=1`],
                  { env, detached: true, stdio: ['ignore', 'ignore', fs.openSync(path.join(profile, 'stderr.log'), 'w')] });

  await common.waitFor(page, (mode) => {
    const p = [...window.urtc.peers.values()][0];
    return window.urtc.mode === mode && p && p.name === 'firefox' &&
           p.pc.connectionState === 'connected';
  }, MODE, 60000, 'chromium: firefox never connected');
  await common.waitFor(page, () => {
    const p = [...window.urtc.peers.values()][0];
    return p && p.stats.framesDecoded >= 30;
  }, null, 40000, 'chromium: < 30 frames from firefox');
  await common.waitFor(page, () => window.urtc.chat.some(
      (c) => c.name === 'firefox' && c.text === 'hello from firefox' && c.via === 'datachannel'),
      null, 20000, 'chromium: no chat from firefox');
  await common.waitFor(page, () => window.urtc.chat.some(
      (c) => c.name === 'firefox' && /^selftest ok \d+$/.test(c.text)),
      null, 40000, 'firefox did not report decoding chromium + chat');
  const pair = await common.pairOf(page, '[...window.urtc.peers.values()][0].pc');
  if (!pair || (MODE === 'sfu') !== (pair.remote === MEDIA_PORT))
    fail(`selected pair ${JSON.stringify(pair)}: ${MODE} mode, server media port ${MEDIA_PORT}`);
  const summary = await page.evaluate(() => {
    const p = [...window.urtc.peers.values()][0];
    return { peer: p.name, state: p.pc.connectionState, stats: p.stats,
             chat: window.urtc.chat.map((c) => `${c.name}:${c.text}`) };
  });
  console.log(JSON.stringify({ ...summary, pair }));
  await browser.close();
  cleanup();
  clearTimeout(guard);
  console.log(`ok firefox <-> chromium ${MODE}`);
}

main().catch((e) => fail(e.stack || String(e)));
