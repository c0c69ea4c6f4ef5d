// tests/signaling/browser/p2p_call.js: two headless Chromium pages join one room through the
// demo page served by urtc-server (p2p mode) and must each decode the other's video
// (framesDecoded >= 30) and receive the other's chat message over the data channel.
// Run by tests/signaling/browser_test.c inside a private network namespace (loopback only).
// Usage: node p2p_call.js http://127.0.0.1:PORT. Exit 0 on success; prints a JSON summary.
'use strict';
const { chromium } = require('playwright-core');

const BASE = process.argv[2];
const common = require('./common.js');
const { CHROMIUM, FLAGS, fail } = common;

const guard = common.guard(90000);

async function main() {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS,
                                          timeout: 30000 });
  const room = 'e2e' + process.pid;
  const pages = {};
  for (const name of ['alice', 'bob']) {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    page.on('pageerror', (e) => console.log(`[${name}] pageerror ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') console.log(`[${name}] ${m.text()}`); });
    await page.goto(`${BASE}/?room=${room}&name=${name}`);
    pages[name] = page;
  }
  const other = { alice: 'bob', bob: 'alice' };
  // Each page sees the other by name, connected, with an open chat channel.
  for (const [name, page] of Object.entries(pages)) {
    await page.waitForFunction((who) => {
      const p = [...window.urtc.peers.values()];
      return p.length === 1 && p[0].name === who && p[0].pc.connectionState === 'connected' &&
             p[0].dc.readyState === 'open';
    }, other[name], { timeout: 30000, polling: 200 }).catch(() => fail(`${name}: no connected peer`));
  }
  // Video decoded both ways.
  for (const [name, page] of Object.entries(pages)) {
    await page.waitForFunction(() => {
      const p = [...window.urtc.peers.values()][0];
      return p && p.stats.framesDecoded >= 30;
    }, null, { timeout: 40000, polling: 250 }).catch(() => fail(`${name}: fewer than 30 frames decoded`));
  }
  // Chat both ways over the data channel.
  for (const [name, page] of Object.entries(pages))
    await page.evaluate((n) => window.urtc.sendChat('hello from ' + n), name);
  for (const [name, page] of Object.entries(pages)) {
    await page.waitForFunction((from) => window.urtc.chat.some(
        (c) => c.text === 'hello from ' + from && c.via === 'datachannel' && c.name === from),
        other[name], { timeout: 10000, polling: 100 }).catch(() => fail(`${name}: no chat from ${other[name]}`));
  }
  const summary = {};
  for (const [name, page] of Object.entries(pages)) {
    summary[name] = await page.evaluate(() => {
      const p = [...window.urtc.peers.values()][0];
      return { id: window.urtc.id, peer: p.name, state: p.pc.connectionState, stats: p.stats,
               chat: window.urtc.chat.map((c) => `${c.name}:${c.text}:${c.via}`),
               status: document.getElementById('status').textContent,
               tiles: document.querySelectorAll('#grid .tile').length };
    });
    if (summary[name].tiles !== 2) fail(`${name}: expected 2 video tiles`);
  }
  // The server counted both members in one room.
  const metrics = await (await fetch(BASE + '/metrics')).text();
  if (!/^urtc_peers 2$/m.test(metrics) || !/^urtc_rooms 1$/m.test(metrics))
    fail('metrics do not show 2 peers in 1 room');
  // One leaves: the other sees peer-left and drops the tile.
  await pages.bob.close();
  await pages.alice.waitForFunction(() => window.urtc.peers.size === 0, null, { timeout: 10000 })
    .catch(() => fail('alice did not see bob leave'));
  console.log(JSON.stringify(summary));
  await browser.close();
  clearTimeout(guard);
  console.log('ok browser p2p');
}

main().catch((e) => fail(e.stack || String(e)));
