// tests/wireshark/chromium_whip.js: headless Chromium calls urtc-server's SFU for
// tests/wireshark/capture.sh (mode chromium), inside the capture's private network namespace.
// One page, two RTCPeerConnections of its own (no demo page, so the server's room mode is ours
// to choose: sfu):
//   pub: publishes the fake camera and microphone through WHIP (POST /whip/ROOM, RFC 9725),
//        with the room's chat channel (negotiated, id 0, as the SFU opens it) and an in-band
//        channel, so DCEP (RFC 8832: DATA_CHANNEL_OPEN, then the server's ACK) is on the wire;
//   view: receives through WHEP (POST /whep/ROOM) with the chat channel.
// The publisher sends a chat message every 200 ms; the SFU relays each to the viewer. Passes
// when the viewer decoded >= 30 video frames, received audio, and got >= 5 chat messages, and
// the in-band channel opened. Usage: node chromium_whip.js http://127.0.0.1:PORT ROOM SECONDS.
// Exit 0 and a JSON summary on the last line; 1 on failure; 2 on the wall-clock guard.
'use strict';
const path = require('path');
const { chromium } = require(path.join(__dirname,
                                       '../signaling/browser/node_modules/playwright-core'));

const [BASE, ROOM, SECONDS] = [process.argv[2], process.argv[3] || 'wire',
                               Number(process.argv[4] || 6)];
const common = require(path.join(__dirname, '../signaling/browser/common.js'));
const { CHROMIUM, FLAGS, fail } = common;

const guard = common.guard(90000);

// Runs in the page.
async function call([room, seconds]) {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const until = async (what, cond, ms) => {
    for (let t = 0; t < ms; t += 100) {
      if (cond()) return;
      await sleep(100);
    }
    throw new Error('timed out: ' + what);
  };
  // WHIP/WHEP without trickle: the offer goes with every candidate (RFC 9725 §4.3).
  const negotiate = async (pc, url) => {
    await pc.setLocalDescription(await pc.createOffer());
    await until(url + ' ICE gathering', () => pc.iceGatheringState === 'complete', 10000);
    const r = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/sdp' },
                                 body: pc.localDescription.sdp });
    const answer = await r.text();
    if (r.status !== 201) throw new Error(`${url}: ${r.status} ${answer}`);
    await pc.setRemoteDescription({ type: 'answer', sdp: answer });
    await until(url + ' connected', () => pc.connectionState === 'connected', 15000);
  };
  const stream = await navigator.mediaDevices.getUserMedia(
      { audio: true, video: { width: 320, height: 240, frameRate: 15 } });
  const pub = new RTCPeerConnection();
  for (const t of stream.getTracks()) pub.addTransceiver(t, { direction: 'sendonly' });
  const chat = pub.createDataChannel('chat', { negotiated: true, id: 0 });
  const inband = pub.createDataChannel('dcep-probe');
  await negotiate(pub, `/whip/${room}`);

  const view = new RTCPeerConnection();
  view.addTransceiver('audio', { direction: 'recvonly' });
  view.addTransceiver('video', { direction: 'recvonly' });
  const vchat = view.createDataChannel('chat', { negotiated: true, id: 0 });
  let got = 0;
  vchat.onmessage = () => got++;
  await negotiate(view, `/whep/${room}`);
  await until('the chat channel open', () => chat.readyState === 'open', 10000);
  await until('the in-band channel open', () => inband.readyState === 'open', 10000);
  inband.send('hello over DCEP');

  for (let i = 0; i < seconds * 5; i++) {
    chat.send(`chat ${i} from chromium`);
    await sleep(200);
  }
  const out = { chat_received: got, dtls: '', srtp: '' };
  for (const r of (await view.getStats()).values()) {
    if (r.type === 'inbound-rtp' && r.kind === 'video') out.video_frames_decoded = r.framesDecoded;
    if (r.type === 'inbound-rtp' && r.kind === 'audio') out.audio_packets = r.packetsReceived;
    if (r.type === 'transport') {
      out.dtls = r.tlsVersion + ' ' + r.dtlsCipher;
      out.srtp = r.srtpCipher;
    }
  }
  for (const r of (await pub.getStats()).values())
    if (r.type === 'outbound-rtp') out['sent_' + r.kind + '_packets'] = r.packetsSent;
  pub.close();
  view.close();
  return out;
}

async function main() {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS,
                                          timeout: 30000 });
  const page = await (await browser.newContext()).newPage();
  page.on('pageerror', (e) => console.log(`pageerror ${e.message}`));
  // A same-origin document without the demo page's script (and its CSP): fetch() to /whip.
  await page.goto(`${BASE}/healthz`);
  const out = await page.evaluate(call, [ROOM, SECONDS]).catch((e) => ({ error: String(e) }));
  await browser.close();
  clearTimeout(guard);
  console.log(JSON.stringify(out));
  if (out.error) fail(out.error);
  if (!(out.video_frames_decoded >= 30)) fail(`viewer decoded ${out.video_frames_decoded} frames`);
  if (!(out.audio_packets > 50)) fail(`viewer received ${out.audio_packets} audio packets`);
  if (!(out.chat_received >= 5)) fail(`viewer received ${out.chat_received} chat messages`);
}

main().catch((e) => fail(e.stack || String(e)));
