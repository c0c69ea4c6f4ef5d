// tests/signaling/browser/sfu_call.js: headless Chromium pages call through the SFU with the
// demo page (the server's default room mode). First alice and bob: each must decode the other's
// video on that member's tile (framesDecoded >= 30) over its one connection to the server (the
// selected candidate pair ends at the server's media port). Then, by scenario:
//  - three: chat both ways over the relayed data channel (the page's JSON envelope, and plain
//    text as urtc-peer sends it); carol joins (renegotiation: three members, each decodes both
//    others) and leaves (both see peer-left and lose her tile); bob leaves (alice is alone).
//  - whip: bob leaves; an aiortc WHIP publisher (no signaling name) shows on alice's page as a
//    `whip N` tile on the transceivers bob left (the server reuses inactive ones; its stats
//    start from there), and the tile goes with its tracks when the publisher DELETEs.
// Run by tests/signaling/browser_test.c inside a private network namespace (loopback only).
// Usage: node sfu_call.js http://127.0.0.1:PORT MEDIA_PORT three|whip. Exit 0 on success.
'use strict';
const { spawn } = require('node:child_process');
const path = require('node:path');
const { fail, guard, launch, openPage, waitFor, pairOf, setOnFail } = require('./common.js');

const BASE = process.argv[2];
const MEDIA_PORT = Number(process.argv[3]);
const SCENARIO = process.argv[4];
const timer = guard(110000);
const other = { alice: 'bob', bob: 'alice' };

// In the page: member @who is a tile with a connected link, and its video decoded >= @n frames.
function decoded(arg) {
  const p = [...window.urtc.peers.values()].find((x) => x.name === arg.who);
  return p && p.pc.connectionState === 'connected' && p.stats.framesDecoded >= arg.n &&
         p.stream && p.stream.id === 'm' + p.id &&
         document.querySelector(`#tile-${p.id} video`).videoWidth > 0;
}

// In the page: the members (by name) and their tiles are exactly @names.
function members(names) {
  const got = [...window.urtc.peers.values()].map((p) => p.name).sort();
  return window.urtc.mode === 'sfu' && JSON.stringify(got) === JSON.stringify(names) &&
         document.querySelectorAll('#grid .tile').length === names.length + 1;
}

function summarize(pages) {
  return Promise.all(Object.entries(pages).map(async ([name, page]) => [name, await page.evaluate(
      () => ({ id: window.urtc.id, offers: window.urtc.server.offers,
               answers: window.urtc.server.answers,
               peers: [...window.urtc.peers.values()].map(
                   (p) => ({ name: p.name, state: p.state, stats: p.stats })) }))]));
}

// alice and bob in one room, connected to the SFU, each decoding the other.
async function twoMembers(browser, room) {
  const pages = {}, ids = {};
  for (const name of ['alice', 'bob'])
    pages[name] = await openPage(browser, name, `${BASE}/?room=${room}&name=${name}`);
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
  // The media goes through the server's media port, not browser to browser.
  for (const [name, page] of Object.entries(pages)) {
    const pair = await pairOf(page, 'window.urtc.server.pc');
    if (!pair || pair.remote !== MEDIA_PORT)
      fail(`${name}: selected pair ${JSON.stringify(pair)} does not end at the SFU's port ` +
           `${MEDIA_PORT}`);
  }
  const metrics = await (await fetch(BASE + '/metrics')).text();
  const fwd = /^urtc_sfu_forwarded_packets_total (\d+)$/m.exec(metrics);
  if (!/^urtc_sfu_members 2$/m.test(metrics) || !/^urtc_rooms 1$/m.test(metrics) ||
      !fwd || Number(fwd[1]) === 0)
    fail('metrics do not show 2 SFU members in 1 room forwarding packets');
  return { pages, ids };
}

async function three(browser, room, pages, ids) {
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

  // carol joins: the server renegotiates with both; everyone decodes everyone.
  pages.carol = await openPage(browser, 'carol', `${BASE}/?room=${room}&name=carol`);
  const want = { alice: ['bob', 'carol'], bob: ['alice', 'carol'], carol: ['alice', 'bob'] };
  for (const [name, page] of Object.entries(pages))
    await waitFor(page, members, want[name], 30000, `${name}: does not see ${want[name]}`);
  for (const [name, page] of Object.entries(pages))
    for (const who of want[name])
      await waitFor(page, decoded, { who, n: 30 }, 40000,
                    `${name}: fewer than 30 frames decoded from ${who} with three members`);
  const summary = await summarize(pages);
  // carol leaves: the others see peer-left and lose her tile; then bob leaves.
  await pages.carol.close();
  for (const name of ['alice', 'bob'])
    await waitFor(pages[name], members, [other[name]], 15000, `${name}: carol's tile stayed`);
  await pages.bob.close();
  await waitFor(pages.alice, members, [], 15000, 'alice did not see bob leave');
  return summary;
}

async function whip(browser, room, pages) {
  const before = await pages.alice.evaluate(() => window.urtc.server.pc.getTransceivers().length);
  await pages.bob.close();
  await waitFor(pages.alice, members, [], 15000, 'alice did not see bob leave');
  const pub = spawn('/usr/bin/python3', [path.join(__dirname, '../../interop/sfu_whip_aiortc.py'),
                                         `${BASE}/whip/${room}`, '10'],
                    { stdio: ['ignore', 'pipe', 'inherit'] });
  setOnFail(() => pub.kill('SIGKILL'));
  let out = '';
  pub.stdout.on('data', (d) => { out += d; });
  const done = new Promise((resolve) => pub.on('exit', resolve));
  await waitFor(pages.alice, () => {
    const p = [...window.urtc.peers.values()].find((x) => /^whip \d+$/.test(x.name));
    return p && p.stream && p.stream.id === 'm' + p.id && p.stats.framesDecoded >= 30;
  }, null, 40000, 'alice: fewer than 30 frames decoded from the WHIP publisher');
  // The publisher came in on bob's old transceivers: none was added, and the receiver's own
  // count holds bob's frames (>= 30) below the tile's.
  const seen = await pages.alice.evaluate(async () => {
    const pc = window.urtc.server.pc;
    const p = [...window.urtc.peers.values()].find((x) => /^whip \d+$/.test(x.name));
    const track = p.stream.getVideoTracks()[0];
    let raw = 0;
    (await pc.getStats(track)).forEach((s) => {
      if (s.type === 'inbound-rtp') raw = s.framesDecoded;
    });
    return { transceivers: pc.getTransceivers().length, tile: p.stats.framesDecoded, raw,
             name: p.name, stats: p.stats };
  });
  if (seen.transceivers !== before || seen.raw < seen.tile + 30)
    fail(`WHIP publisher not on bob's reused transceivers (${before} before): ` +
         JSON.stringify(seen));
  await done;
  if (!/"status": 201/.test(out) || !/"delete": 200/.test(out))
    fail('WHIP publisher: ' + out);
  await waitFor(pages.alice, members, [], 15000, 'alice: the WHIP tile stayed');
  return seen;
}

async function main() {
  if (SCENARIO !== 'three' && SCENARIO !== 'whip')
    fail('usage: sfu_call.js URL MEDIA_PORT three|whip');
  const browser = await launch();
  const room = SCENARIO + process.pid;
  const { pages, ids } = await twoMembers(browser, room);
  const summary = SCENARIO === 'three' ? await three(browser, room, pages, ids)
                                       : await whip(browser, room, pages);
  await waitFor(pages.alice, () => window.urtc.errors.length === 0 &&
                  window.urtc.server.pc.connectionState === 'connected', null, 5000,
                'alice: an error or a lost connection after the others left');
  console.log(JSON.stringify(summary));
  await browser.close();
  clearTimeout(timer);
  console.log(`ok browser sfu ${SCENARIO}`);
}

main().catch((e) => fail(e.stack || String(e)));
