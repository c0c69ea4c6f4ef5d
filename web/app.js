// urtc demo page: p2p mesh calls over the signaling protocol of docs/signaling.md.
// Plain JavaScript, no build step, nothing loaded from other hosts.
//
// One RTCPeerConnection per remote member. The member who joins later makes the offers (so
// two members never offer to each other at once); the chat uses a negotiated data channel
// (id 0) on every connection. window.urtc exposes the state for tests.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  const state = {
    id: 0,
    room: '',
    name: '',
    ws: null,
    local: null,       // MediaStream
    peers: new Map(),  // id -> peer
    chat: [],          // {from, name, text, via}
    errors: [],
    joined: false,
  };
  window.urtc = state;

  function setStatus(text) {
    $('status').textContent = text;
  }

  function logChat(who, text, cls) {
    const li = document.createElement('li');
    if (cls) li.className = cls;
    if (who) {
      const w = document.createElement('span');
      w.className = 'who';
      w.textContent = who;
      li.appendChild(w);
    }
    li.appendChild(document.createTextNode(text));
    $('chat-log').appendChild(li);
    li.scrollIntoView({block: 'end'});
  }

  function send(msg) {
    if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(msg));
  }

  // ---- media --------------------------------------------------------------------------------

  async function getMedia() {
    const tries = [{audio: true, video: {width: 640, height: 480}}, {audio: true}, {video: true}];
    for (const c of tries) {
      try {
        return await navigator.mediaDevices.getUserMedia(c);
      } catch (e) {
        console.warn('getUserMedia', c, e);
      }
    }
    logChat(null, 'no camera or microphone: receiving only', 'sys');
    return new MediaStream();
  }

  function toggle(kind, button, onText, offText) {
    const tracks = state.local ? state.local.getTracks().filter((t) => t.kind === kind) : [];
    if (!tracks.length) return;
    const enable = !tracks[0].enabled;
    tracks.forEach((t) => { t.enabled = enable; });
    button.textContent = enable ? onText : offText;
    button.classList.toggle('off', !enable);
  }

  // ---- peers ----------------------------------------------------------------------------------

  function makeTile(peer) {
    const tile = $('tile-template').content.firstElementChild.cloneNode(true);
    tile.id = 'tile-' + peer.id;
    tile.dataset.peer = peer.id;
    tile.querySelector('.name').textContent = peer.name;
    $('grid').appendChild(tile);
    return tile;
  }

  function setPeerState(peer) {
    const pc = peer.pc;
    const text = pc.connectionState || pc.iceConnectionState;
    peer.state = text;
    const el = peer.tile.querySelector('.state');
    el.textContent = text;
    el.className = 'state ' + text;
  }

  function getPeer(id, name) {
    let peer = state.peers.get(id);
    if (peer) return peer;
    const pc = new RTCPeerConnection({iceServers: []});
    peer = {id, name: name || ('peer ' + id), pc, pending: [], state: 'new', stats: {},
            last: null, dc: null};
    peer.tile = makeTile(peer);
    state.peers.set(id, peer);
    for (const t of state.local.getTracks()) pc.addTrack(t, state.local);
    // Receive both kinds even when we have nothing to send.
    if (!state.local.getAudioTracks().length) pc.addTransceiver('audio', {direction: 'recvonly'});
    if (!state.local.getVideoTracks().length) pc.addTransceiver('video', {direction: 'recvonly'});
    pc.onicecandidate = (e) => send({type: 'candidate', to: id,
                                     candidate: e.candidate ? e.candidate.toJSON() : null});
    pc.ontrack = (e) => {
      const v = peer.tile.querySelector('video');
      if (v.srcObject !== e.streams[0]) v.srcObject = e.streams[0] || new MediaStream([e.track]);
    };
    pc.onconnectionstatechange = () => setPeerState(peer);
    pc.oniceconnectionstatechange = () => setPeerState(peer);
    const dc = pc.createDataChannel('chat', {negotiated: true, id: 0});
    dc.onmessage = (e) => {
      state.chat.push({from: id, name: peer.name, text: String(e.data), via: 'datachannel'});
      logChat(peer.name, String(e.data));
    };
    dc.onopen = () => {
      logChat(null, peer.name + ': chat channel open', 'sys');
      const say = params.get('say');  // test hook: greet every member once the channel opens
      if (say) {
        dc.send(say);
        state.chat.push({from: state.id, name: state.name, text: say, via: 'datachannel'});
        logChat(state.name, say);
      }
    };
    peer.dc = dc;
    return peer;
  }

  function dropPeer(id) {
    const peer = state.peers.get(id);
    if (!peer) return;
    peer.pc.close();
    peer.tile.remove();
    state.peers.delete(id);
    logChat(null, peer.name + ' left', 'sys');
  }

  async function callPeer(peer) {
    const offer = await peer.pc.createOffer();
    await peer.pc.setLocalDescription(offer);
    send({type: 'offer', to: peer.id, sdp: peer.pc.localDescription.sdp});
  }

  async function flushCandidates(peer) {
    for (const c of peer.pending.splice(0)) await addCandidate(peer, c);
  }

  async function addCandidate(peer, c) {
    try {
      if (c) await peer.pc.addIceCandidate(c);
      else await peer.pc.addIceCandidate();  // end-of-candidates
    } catch (e) {
      console.warn('addIceCandidate', e);
    }
  }

  // ---- stats ----------------------------------------------------------------------------------

  async function pollStats() {
    for (const peer of state.peers.values()) {
      if (peer.pc.connectionState === 'closed') continue;
      let report;
      try {
        report = await peer.pc.getStats();
      } catch (e) {
        continue;
      }
      const now = performance.now();
      let bytes = 0, lost = 0, recv = 0, frames = 0, rtt = null, remoteRtt = null;
      report.forEach((s) => {
        if (s.type === 'inbound-rtp') {
          bytes += s.bytesReceived || 0;
          lost += Math.max(0, s.packetsLost || 0);
          recv += s.packetsReceived || 0;
          if (s.kind === 'video') frames += s.framesDecoded || 0;
        } else if (s.type === 'candidate-pair' && (s.nominated || s.selected) &&
                   s.state === 'succeeded' && s.currentRoundTripTime !== undefined) {
          rtt = s.currentRoundTripTime;  // Firefox marks the pair `selected`
        } else if (s.type === 'remote-inbound-rtp' && rtt === null &&
                   s.roundTripTime !== undefined) {
          remoteRtt = s.roundTripTime;  // from RTCP, where the pair has no RTT
        }
      });
      if (rtt === null) rtt = remoteRtt;
      let kbps = 0;
      if (peer.last) kbps = ((bytes - peer.last.bytes) * 8) / Math.max(1, now - peer.last.t);
      peer.last = {bytes, t: now};
      const loss = recv + lost ? (100 * lost) / (recv + lost) : 0;
      peer.stats = {kbps: Math.round(kbps), lossPct: +loss.toFixed(1),
                    rttMs: rtt === null ? null : Math.round(rtt * 1000), framesDecoded: frames};
      // Test hook (?selftest=1): tell the peer over the data channel once its video decodes and
      // its chat arrived, so a test driving only the other browser can see both directions.
      if (params.get('selftest') && !peer.selftestSent && frames >= 30 &&
          peer.dc.readyState === 'open' &&
          state.chat.some((c) => c.from === peer.id && c.via === 'datachannel')) {
        peer.dc.send(`selftest ok ${frames}`);
        peer.selftestSent = true;
      }
      peer.tile.querySelector('.stats').textContent =
          `${peer.stats.kbps} kbit/s · loss ${peer.stats.lossPct}% · rtt ` +
          `${peer.stats.rttMs === null ? '–' : peer.stats.rttMs + ' ms'} · ${frames} frames`;
    }
  }

  // ---- signaling ------------------------------------------------------------------------------

  async function onMessage(m) {
    switch (m.type) {
      case 'welcome':
        state.id = m.id;
        state.joined = true;
        setStatus(`in room ${m.room} as ${state.name} (#${m.id}, ${m.mode})`);
        logChat(null, `joined ${m.room}; ${m.members.length} already here`, 'sys');
        for (const mem of m.members) await callPeer(getPeer(mem.id, mem.name));
        break;
      case 'peer-joined':
        getPeer(m.id, m.name);  // it will send us an offer
        logChat(null, m.name + ' joined', 'sys');
        break;
      case 'peer-left':
        dropPeer(m.id);
        break;
      case 'offer': {
        const peer = getPeer(m.from);
        await peer.pc.setRemoteDescription({type: 'offer', sdp: m.sdp});
        await flushCandidates(peer);
        await peer.pc.setLocalDescription(await peer.pc.createAnswer());
        send({type: 'answer', to: m.from, sdp: peer.pc.localDescription.sdp});
        break;
      }
      case 'answer': {
        const peer = state.peers.get(m.from);
        if (!peer) break;
        await peer.pc.setRemoteDescription({type: 'answer', sdp: m.sdp});
        await flushCandidates(peer);
        break;
      }
      case 'candidate': {
        const peer = getPeer(m.from);
        if (!peer.pc.remoteDescription) peer.pending.push(m.candidate);
        else await addCandidate(peer, m.candidate);
        break;
      }
      case 'chat':
        state.chat.push({from: m.from, name: m.name, text: m.text, via: 'server'});
        logChat(m.name, m.text);
        break;
      case 'error':
        state.errors.push(m);
        logChat(null, `error ${m.code}: ${m.reason}`, 'sys');
        break;
    }
  }

  function connect() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${proto}//${location.host}/ws`);
    state.ws = ws;
    let queue = Promise.resolve();  // handle messages one at a time, in order
    ws.onopen = () => {
      setStatus('joining…');
      const join = {type: 'join', room: state.room, name: state.name, mode: 'p2p'};
      if (params.get('token')) join.token = params.get('token');
      send(join);
    };
    ws.onmessage = (e) => {
      let m;
      try {
        m = JSON.parse(e.data);
      } catch (err) {
        return;
      }
      queue = queue.then(() => onMessage(m)).catch((err) => console.error(m.type, err));
    };
    ws.onclose = (e) => {
      setStatus(`disconnected (${e.code}${e.reason ? ' ' + e.reason : ''})`);
      state.joined = false;
      for (const id of [...state.peers.keys()]) dropPeer(id);
    };
  }

  async function join(room, name) {
    state.room = room;
    state.name = name;
    $('join-form').hidden = true;
    $('call').hidden = false;
    $('local-name').textContent = name + ' (you)';
    const url = new URL(location.href);
    url.searchParams.set('room', room);
    url.searchParams.set('name', name);
    history.replaceState(null, '', url);
    state.local = await getMedia();
    $('local-video').srcObject = state.local;
    connect();
    setInterval(pollStats, 1000);
  }

  function sendChat(text) {
    let sent = 0;
    for (const peer of state.peers.values())
      if (peer.dc && peer.dc.readyState === 'open') {
        peer.dc.send(text);
        sent++;
      }
    if (!sent) send({type: 'chat', text});  // nobody reachable directly: through the server
    state.chat.push({from: state.id, name: state.name, text, via: sent ? 'datachannel' : 'server'});
    logChat(state.name, text);
  }
  state.sendChat = sendChat;

  // ---- page -----------------------------------------------------------------------------------

  $('join-form').addEventListener('submit', (e) => {
    e.preventDefault();
    join($('room').value.trim(), $('name').value.trim());
  });
  $('chat-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const text = $('chat-text').value;
    if (text) sendChat(text);
    $('chat-text').value = '';
  });
  $('mute-mic').addEventListener('click', (e) => toggle('audio', e.target, 'Mute mic', 'Unmute mic'));
  $('mute-cam').addEventListener('click', (e) => toggle('video', e.target, 'Stop camera', 'Start camera'));
  $('leave').addEventListener('click', () => {
    send({type: 'leave'});
    if (state.ws) state.ws.close(1000);
    if (state.local) state.local.getTracks().forEach((t) => t.stop());
    location.href = location.pathname;
  });

  const room = params.get('room'), name = params.get('name');
  if (room && name) {
    join(room, name);
  } else {
    $('join-form').hidden = false;
    if (room) $('room').value = room;
    $('name').focus();
  }
})();
