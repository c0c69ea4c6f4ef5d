// tests/signaling/browser/p2p_call.js: two headless Chromium pages join one room through the
// demo page served by urtc-server in p2p mode and must each decode the other's video
// (framesDecoded >= 30) and receive the other's chat message over the data channel. The media
// goes browser to browser: each selected candidate pair ends at the other browser's candidate,
// never at the server's media port, and the SFU has no member. The first page makes the room a
// p2p one: with `?mode=p2p` (scenario p2p), or, on a server without the SFU (scenario
// fallback), by naming no mode, getting `unsupported` and joining again in p2p mode. The second
// names no mode and takes the room's.
// Run by tests/signaling/browser_test.c inside a private network namespace (loopback only).
// Usage: node p2p_call.js http://127.0.0.1:PORT MEDIA_PORT p2p|fallback. Exit 0 on success.
'use strict';
const { fail, guard, launch, openPage, waitFor, pairOf } = require('./common.js');

const BASE = process.argv[2];
const MEDIA_PORT = Number(process.argv[3]);
const FALLBACK = process.argv[4] === 'fallback';
const timer = guard(90000);

async function main() {
  const browser = await launch();
  const room = 'e2e' + process.pid;
  // alice makes the room a p2p one; bob names no mode and gets the room's.
  const pages = {};
  pages.alice = await openPage(browser, 'alice',
                               `${BASE}/?room=${room}&name=alice${FALLBACK ? '' : '&mode=p2p'}`);
  await waitFor(pages.alice, () => window.urtc.joined, null, 15000, 'alice did not join');
  const refused = await pages.alice.evaluate(() => window.urtc.errors.map((e) => e.code));
  if (JSON.stringify(refused) !== (FALLBACK ? '["unsupported"]' : '[]'))
    fail(`alice: errors ${JSON.stringify(refused)} (fallback: ${FALLBACK})`);
  pages.bob = await openPage(browser, 'bob', `${BASE}/?room=${room}&name=bob`);
  const other = { alice: 'bob', bob: 'alice' };
  // Each page sees the other by name, connected, with an open chat channel.
  for (const [name, page] of Object.entries(pages)) {
    await waitFor(page, (who) => {
      const p = [...window.urtc.peers.values()];
      return window.urtc.mode === 'p2p' && p.length === 1 && p[0].name === who &&
             p[0].pc.connectionState === 'connected' && p[0].dc.readyState === 'open';
    }, other[name], 30000, `${name}: no connected peer`);
  }
  // Video decoded both ways.
  for (const [name, page] of Object.entries(pages)) {
    await waitFor(page, () => {
      const p = [...window.urtc.peers.values()][0];
      return p && p.stats.framesDecoded >= 30;
    }, null, 40000, `${name}: fewer than 30 frames decoded`);
  }
  // Chat both ways over the data channel.
  for (const [name, page] of Object.entries(pages))
    await page.evaluate((n) => window.urtc.sendChat('hello from ' + n), name);
  for (const [name, page] of Object.entries(pages)) {
    await waitFor(page, (from) => window.urtc.chat.some(
        (c) => c.text === 'hello from ' + from && c.via === 'datachannel' && c.name === from),
        other[name], 10000, `${name}: no chat from ${other[name]}`);
  }
  // Browser to browser: each pair's remote end is the other's local end, not the server.
  const pairs = {};
  for (const [name, page] of Object.entries(pages))
    pairs[name] = await pairOf(page, '[...window.urtc.peers.values()][0].pc');
  for (const [name, pair] of Object.entries(pairs))
    if (!pair || pair.remote === MEDIA_PORT || pair.remote !== pairs[other[name]].local)
      fail(`${name}: selected pair ${JSON.stringify(pair)} is not to the other browser ` +
           `(${JSON.stringify(pairs[other[name]])}; server media port ${MEDIA_PORT})`);
  const summary = { pairs };
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
  // The server counted both members in one room, and none of them on the SFU.
  const metrics = await (await fetch(BASE + '/metrics')).text();
  if (!/^urtc_peers 2$/m.test(metrics) || !/^urtc_rooms 1$/m.test(metrics) ||
      !/^urtc_sfu_members 0$/m.test(metrics))
    fail('metrics do not show 2 peers in 1 room, none on the SFU');
  // One leaves: the other sees peer-left and drops the tile.
  await pages.bob.close();
  await waitFor(pages.alice, () => window.urtc.peers.size === 0 &&
                  document.querySelectorAll('#grid .tile').length === 1, null, 10000,
                'alice did not see bob leave');
  console.log(JSON.stringify(summary));
  await browser.close();
  clearTimeout(timer);
  console.log('ok browser p2p');
}

main().catch((e) => fail(e.stack || String(e)));
