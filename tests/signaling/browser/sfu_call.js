// tests/signaling/browser/sfu_call.js: headless Chromium pages call through the SFU with the
// demo page (the server's default room mode). alice and bob must each decode the other's video
// on that member's tile (framesDecoded >= 30) over their one connection to the server (the
// selected candidate pair ends at the server's media port), and get each other's chat over the
// relayed data channel (the page's JSON envelope, and plain text as urtc-peer sends it). Then
// carol joins (renegotiation: three members, each decodes both others), leaves (both see
// peer-left and lose her tile), and bob leaves (alice is alone).
// Run by tests/signaling/browser_test.c inside a private network namespace (loopback only).
// Usage: node sfu_call.js http://127.0.0.1:PORT MEDIA_PORT. Exit 0 on success; prints a summary.
'use strict';
const { fail, guard, launch, openPage, waitFor, pairOf } = require('./common.js');

const BASE = process.argv[2];
const MEDIA_PORT = Number(process.argv[3]);
const timer = guard(110000);

// In the page: member @who is a tile with a connected link, and its video decoded >= @n frames.
function decoded(arg) {
  const p = [...window.urtc.peers.values()].find((x) => x.name === arg.who);
  return p && p.pc.connectionState === 'connected' && p.stats.framesDecoded >= arg.n &&
         p.stream && p.stream.id === 'm' + p.id &&
         document.querySelector(`#tile-${p.id} video`).videoWidth > 0;
}

function members(names) {
  const got = [...window.urtc.peers.values()].map((p) => p.name).sort();
  return window.urtc.mode === 'sfu' && JSON.stringify(got) === JSON.stringify(names) &&
         document.querySelectorAll('#grid .tile').length === names.length + 1;
}

async function main() {
  const browser = await launch();
  const room = 'sfu' + process.pid;
  const pages = {};
  for (const name of ['alice', 'bob'])
    pages[name] = await openPage(browser, name, `${BASE}/?room=${room}&name=${name}`);
  const other = { alice: 'bob', bob: 'alice' };
  const ids = {};
  for (const [name, page] of Object.entries(pages)) {
    await waitFor(page, (who) => {
      const u = window.urtc, p = [...u.peers.values()];
      return u.mode === 'sfu' && p.length === 1 && p[0].name === who && u.server &&
             u.server.pc.connectionState === 'connected' && u.server.dc.readyState === 'open';
    }, other[name], 30000, `${name}: not connected to the SFU with one member`);
    ids[name] = await page.evaluate(() => window.urtc.id);
  }
  for (const [name, page] of Object.entries(pages))
    await waitFor(page, decoded, { who: other[name], n: 30 }, 40000,
                  `${name}: fewer than 30 frames decoded from ${other[name]}`);
  // Chat over the one channel, relayed by the server: the envelope names the sender.
  for (const [name, page] of Object.entries(pages))
    await page.evaluate((n) => window.urtc.sendChat('hello from ' + n), name);
  for (const [name, page] of Object.entries(pages))
    await waitFor(page, (a) => window.urtc.chat.some(
        (c) => c.text === 'hello from ' + a.who && c.via === 'datachannel' && c.name === a.who &&
               c.from === a.id), { who: other[name], id: ids[other[name]] }, 10000,
                  `${name}: no chat from ${other[name]}`);
  // Plain text (what urtc-peer and aiortc send) is shown as it came, without a sender.
  await pages.bob.evaluate(() => window.urtc.server.dc.send('plain {text'));
  await waitFor(pages.alice, () => window.urtc.chat.some(
      (c) => c.text === 'plain {text' && c.name === null && c.from === null), null, 10000,
                'alice: plain text from bob not shown');
  // The media goes through the server's media port, not browser to browser.
  for (const [name, page] of Object.entries(pages)) {
    const pair = await pairOf(page, 'window.urtc.server.pc');
    if (!pair || pair.remote !== MEDIA_PORT)
      fail(`${name}: selected pair ${JSON.stringify(pair)} does not end at the SFU's port ${MEDIA_PORT}`);
  }
  const metrics = await (await fetch(BASE + '/metrics')).text();
  const fwd = /^urtc_sfu_forwarded_packets_total (\d+)$/m.exec(metrics);
  if (!/^urtc_sfu_members 2$/m.test(metrics) || !/^urtc_rooms 1$/m.test(metrics) ||
      !fwd || Number(fwd[1]) === 0)
    fail('metrics do not show 2 SFU members in 1 room forwarding packets');

  // carol joins: the server renegotiates with both; everyone decodes everyone.
  pages.carol = await openPage(browser, 'carol', `${BASE}/?room=${room}&name=carol`);
  const want = { alice: ['bob', 'carol'], bob: ['alice', 'carol'], carol: ['alice', 'bob'] };
  for (const [name, page] of Object.entries(pages))
    await waitFor(page, members, want[name], 30000, `${name}: does not see ${want[name]}`);
  for (const [name, page] of Object.entries(pages))
    for (const who of want[name])
      await waitFor(page, decoded, { who, n: 30 }, 40000,
                    `${name}: fewer than 30 frames decoded from ${who} with three members`);
  const summary = {};
  for (const [name, page] of Object.entries(pages)) {
    summary[name] = await page.evaluate(() => ({
      id: window.urtc.id, offers: window.urtc.server.offers, answers: window.urtc.server.answers,
      peers: [...window.urtc.peers.values()].map((p) => ({ name: p.name, state: p.state,
                                                           stats: p.stats })),
      status: document.getElementById('status').textContent }));
  }
  // carol leaves: the others see peer-left and lose her tile; then bob leaves.
  await pages.carol.close();
  for (const name of ['alice', 'bob'])
    await waitFor(pages[name], members, [other[name]], 15000, `${name}: carol's tile stayed`);
  await pages.bob.close();
  await waitFor(pages.alice, members, [], 15000, 'alice did not see bob leave');
  await waitFor(pages.alice, () => window.urtc.errors.length === 0 &&
                  window.urtc.server.pc.connectionState === 'connected', null, 5000,
                'alice: an error or a lost connection after the others left');
  console.log(JSON.stringify(summary));
  await browser.close();
  clearTimeout(timer);
  console.log('ok browser sfu');
}

main().catch((e) => fail(e.stack || String(e)));
