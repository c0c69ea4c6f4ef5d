// tests/signaling/browser/common.js: what the browser scripts share. How they start Debian
// Chromium (from /work/shared/lab/interop, chromium/common.mjs: fake media, loopback ICE, no
// DNS), and how they end: fail() prints the reason and exits 1, guard() arms the wall-clock
// limit (exit 2). Used by p2p_call.js, firefox_chromium.js and tests/wireshark/chromium_whip.js.
'use strict';

exports.CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
exports.FLAGS = [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-default-apps', '--disable-extensions', '--disable-domain-reliability',
  '--no-proxy-server',
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
  '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
  '--autoplay-policy=no-user-gesture-required', '--allow-loopback-in-peer-connection',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
];

exports.fail = (what) => {
  console.log('FAIL: ' + what);
  process.exit(1);
};

// Returns the timer: clearTimeout() it once done.
exports.guard = (ms) => setTimeout(() => {
  console.log(`FAIL: ${ms / 1000} s wall-clock guard`);
  process.exit(2);
}, ms);
