// tests/signaling/browser/common.js: what the browser scripts share. How they start Debian
// Chromium (from /work/shared/lab/interop, chromium/common.mjs: fake media, loopback ICE, no
// DNS), open the demo page and wait on it, read the selected candidate pair, and how they end:
// fail() prints the reason and exits 1, guard() arms the wall-clock limit (exit 2). Used by
// p2p_call.js, sfu_call.js, firefox_chromium.js and tests/wireshark/chromium_whip.js.
'use strict';
const { chromium } = require('playwright-core');

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
// Flags from /work/shared/lab/interop (chromium/common.mjs): fake media, loopback ICE, no DNS.
const FLAGS = [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-default-apps', '--disable-extensions', '--disable-domain-reliability',
  '--no-proxy-server',
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
  '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
  '--autoplay-policy=no-user-gesture-required', '--allow-loopback-in-peer-connection',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
];

let onFail = null;  // extra cleanup before exiting (Firefox)

function fail(what) {
  console.log('FAIL: ' + what);
  if (onFail) onFail();
  process.exit(1);
}

// Ends the script (exit 2) after @ms of wall clock. Returns the timer: clearTimeout() it once
// done.
function guard(ms) {
  return setTimeout(() => {
    console.log(`FAIL: ${ms / 1000} s wall-clock guard`);
    if (onFail) onFail();
    process.exit(2);
  }, ms);
}

function launch() {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS, timeout: 30000 });
}

// A new page (own context: own media, own storage) at @url; its errors go to stdout.
async function openPage(browser, tag, url) {
  const page = await (await browser.newContext()).newPage();
  page.on('pageerror', (e) => console.log(`[${tag}] pageerror ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') console.log(`[${tag}] ${m.text()}`); });
  await page.goto(url);
  return page;
}

// What a page knows, for a failure message: members, stats, links, chat, errors.
function pageState(page) {
  return page.evaluate(() => {
    const u = window.urtc;
    const tr = (pc) => pc.getTransceivers().map((t) => `${t.mid}:${t.currentDirection}` +
                                                       `:${t.receiver.track.kind}`);
    return JSON.stringify({
      id: u.id, mode: u.mode, errors: u.errors, chat: u.chat.map((c) => `${c.name}:${c.text}`),
      peers: [...u.peers.values()].map((p) => ({ id: p.id, name: p.name, state: p.state,
                                                  stats: p.stats, stream: p.stream && p.stream.id,
                                                  tr: u.mode === 'p2p' ? tr(p.pc) : undefined })),
      server: u.server && { state: u.server.pc.connectionState, sig: u.server.pc.signalingState,
                            offers: u.server.offers, answers: u.server.answers,
                            tr: tr(u.server.pc) },
    });
  }).catch((e) => 'no state: ' + e.message);
}

// Waits until @fn(@arg) is true in @page, else fails with @what and the page's state.
function waitFor(page, fn, arg, ms, what) {
  return page.waitForFunction(fn, arg, { timeout: ms, polling: 200 })
      .catch(async () => fail(`${what}\n${await pageState(page)}`));
}

// Runs in the page: the selected candidate pair of @pc as {local: port, remote: port, type}.
// (Chromium names it from the transport; Firefox marks the pair `selected`.)
async function pairOf(page, expr) {
  return page.evaluate(async (e) => {
    const pc = eval(e);  // eslint-disable-line no-eval -- a test-provided expression
    const r = await pc.getStats();
    let id = null;
    r.forEach((s) => {
      if (s.type === 'transport' && s.selectedCandidatePairId) id = s.selectedCandidatePairId;
    });
    let pair = null;
    r.forEach((s) => {
      if (s.type === 'candidate-pair' && (s.id === id || (!id && s.selected))) pair = s;
    });
    if (!pair) return null;
    const l = r.get(pair.localCandidateId), rem = r.get(pair.remoteCandidateId);
    return { local: l.port, localType: l.candidateType, remote: rem.port,
             remoteType: rem.candidateType, address: rem.address };
  }, expr);
}

module.exports = {
  CHROMIUM, FLAGS, fail, guard, launch, openPage, waitFor, pairOf,
  setOnFail: (fn) => { onFail = fn; },
};
