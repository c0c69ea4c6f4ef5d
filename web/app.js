// urtc demo page: calls over the signaling protocol of docs/signaling.md, in either room mode.
// Plain JavaScript, no build step, nothing loaded from other hosts.
//
// sfu (the server's default): one RTCPeerConnection to the server (member id 0). The server
// offers first and again whenever the room's media changes; the page answers, and offers once
// itself to publish its own tracks (the server's offers only carry what it sends). Remote
// tracks arrive in streams named `m<member id>`, one tile per member. Chat: the one data
// channel "chat" (negotiated, id 0), which the server relays to the room unchanged.
//
// p2p: one RTCPeerConnection per remote member. The member who joins later makes the offers
// (so two members never offer to each other at once); the chat uses a negotiated data channel
// (id 0) on every connection.
//
// window.urtc exposes the state for tests.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.search);
  const state = {
    id: 0,
    room: '',
    name: '',
    mode: '',          // from welcome: 'sfu' or 'p2p'
    ws: null,
    local: null,       // MediaStream
    peers: new Map(),  // member id -> peer (a tile; in p2p also its own connection)
    server: null,      // sfu: {pc, dc, pending, published, offers, answers}
    chat: [],          // {from, name, text, via}
    errors: [],
    joined: false,
  };
  window.urtc = state;

  // Signaling messages and sfu negotiation run one at a time, in order.
  let queue = Promise.resolve();
  function serial(what, fn) {
    queue = queue.then(fn).catch((err) => console.error(what, err));
  }

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

  // ---- tiles ----------------------------------------------------------------------------------

  function makeTile(peer) {
    const tile = $('tile-template').content.firstElementChild.cloneNode(true);
    tile.id = 'tile-' + peer.id;
    tile.dataset.peer = peer.id;
    tile.querySelector('.name').textContent = peer.name;
    $('grid').appendChild(tile);
    return tile;
  }

  function showState(peer, text, cls) {
    peer.state = text;
    const el = peer.tile.querySelector('.state');
    el.textContent = text;
    el.className = 'state ' + (cls || text);
  }

  function setPeerState(peer) {
    const pc = peer.pc;
    const text = pc.connectionState || pc.iceConnectionState;
    if (state.mode === 'sfu' && !peer.stream) showState(peer, text + ' · no media', text);
    else showState(peer, text);
  }

  function removeTile(peer, why) {
    peer.tile.remove();
    state.peers.delete(peer.id);
    logChat(null, peer.name + ' ' + why, 'sys');
  }

  // ---- p2p: one connection per member ---------------------------------------------------------

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
    if (state.mode !== 'sfu') peer.pc.close();  // sfu: the room's one; the server renegotiates
    removeTile(peer, 'left');
  }

  async function callPeer(peer) {
    const offer = await peer.pc.createOffer();
    await peer.pc.setLocalDescription(offer);
    send({type: 'offer', to: peer.id, sdp: peer.pc.localDescription.sdp});
  }

  async function flushCandidates(link) {
    for (const c of link.pending.splice(0)) await addCandidate(link, c);
  }

  async function addCandidate(link, c) {
    try {
      if (c) await link.pc.addIceCandidate(c);
      else await link.pc.addIceCandidate();  // end-of-candidates
    } catch (e) {
      console.warn('addIceCandidate', e);
    }
  }

  // ---- sfu: one connection to the server ------------------------------------------------------

  // WHIP publishers (ids 2^40 + session, docs/signaling.md "Rooms and modes") have tracks but
  // no signaling name.
  const WHIP_BASE = 2 ** 40;
  function defaultName(id) {
    return id >= WHIP_BASE ? 'whip ' + (id - WHIP_BASE) : 'member ' + id;
  }

  // The tile of member @id. @named: the member is in the room's signaling (welcome,
  // peer-joined) and keeps its tile until peer-left; otherwise (a WHIP publisher) the tile
  // goes with its tracks.
  function sfuMember(id, name, named) {
    let peer = state.peers.get(id);
    if (!peer) {
      const link = state.server;
      peer = {id, name: name || defaultName(id), pc: link.pc, dc: link.dc, state: 'new',
              stats: {}, last: null, stream: null, named: false};
      peer.tile = makeTile(peer);
      state.peers.set(id, peer);
      setPeerState(peer);
    }
    if (named) {
      peer.named = true;
      if (name && name !== peer.name) {
        peer.name = name;
        peer.tile.querySelector('.name').textContent = name;
      }
    }
    return peer;
  }

  // The member's stream lost its last track: the server stopped forwarding it (it left or
  // stopped publishing; the transceiver goes inactive and may later carry someone else).
  function sfuMediaGone(peer, stream) {
    if (peer.stream !== stream || stream.getTracks().length) return;
    peer.stream = null;
    peer.tile.querySelector('video').srcObject = null;
    if (!peer.named && state.peers.get(peer.id) === peer) removeTile(peer, 'stopped publishing');
    else setPeerState(peer);
  }

  function sfuTrack(e) {
    const link = state.server;
    const stream = e.streams[0];
    const m = stream && /^m(\d+)$/.exec(stream.id);
    if (!m) {
      console.warn('sfu: track without a member stream id', stream && stream.id);
      return;
    }
    const id = Number(m[1]);
    const peer = sfuMember(id);
    // A reused transceiver keeps its receiver track: its counters go on from the previous
    // member's, so this member's stats start from what was last seen on it.
    const prev = link.owner.get(e.track.id);
    if (!prev || prev.id !== id)
      link.owner.set(e.track.id, {id, base: link.seen.get(e.track.id) || zeroCounts()});
    if (peer.stream !== stream) {
      peer.stream = stream;
      peer.tile.querySelector('video').srcObject = stream;
      stream.onremovetrack = () => sfuMediaGone(peer, stream);
    }
    e.track.onended = () => {  // the transceiver stopped (a reused one gets a new handler)
      if (stream.getTrackById(e.track.id)) stream.removeTrack(e.track);
      sfuMediaGone(peer, stream);
    };
    setPeerState(peer);
  }

  // The chat envelope in sfu rooms (docs/signaling.md "The demo page"): the server relays the
  // channel's bytes unchanged and adds no sender, so the page sends
  // {"from": ID, "name": NAME, "text": TEXT}. Anything else (urtc-peer and aiortc send plain
  // text) is shown as it came, from an unknown sender.
  function chatEncode(text) {
    return JSON.stringify({from: state.id, name: state.name, text});
  }

  function chatDecode(data) {
    if (typeof data !== 'string')
      return {from: null, name: null, text: `(${data.byteLength} bytes of binary)`};
    if (data.startsWith('{')) {
      try {
        const o = JSON.parse(data);
        if (o && typeof o.text === 'string') {
          const from = Number.isSafeInteger(o.from) ? o.from : null;
          const known = from !== null ? state.peers.get(from) : null;
          const name = typeof o.name === 'string' && o.name ? o.name.slice(0, 64)
                                                              : (known ? known.name : null);
          return {from, name, text: o.text};
        }
      } catch (e) { /* plain text that starts with a brace */ }
    }
    return {from: null, name: null, text: data};
  }

  function sfuChatSend(text) {
    state.server.dc.send(chatEncode(text));
    state.chat.push({from: state.id, name: state.name, text, via: 'datachannel'});
    logChat(state.name, text);
  }

  function sfuLink() {
    const pc = new RTCPeerConnection({iceServers: []});
    const link = {pc, dc: null, pending: [], offers: 0, answers: 0,
                  published: false,    // our tracks are added (after the first server offer)
                  refused: false,      // the server refused our offer: we do not offer again
                  greeted: new Set(),  // members present when ?say= was last sent
                  owner: new Map(),    // receiver track id -> {id: member, base: counters}
                  seen: new Map()};    // receiver track id -> counters at the last poll
    state.server = link;
    pc.onicecandidate = (e) => send({type: 'candidate', to: 0,
                                     candidate: e.candidate ? e.candidate.toJSON() : null});
    pc.ontrack = sfuTrack;
    const onState = () => {
      for (const peer of state.peers.values()) setPeerState(peer);
      setStatus(`in room ${state.room} as ${state.name} (#${state.id}, sfu: ` +
                `${pc.connectionState})`);
    };
    pc.onconnectionstatechange = onState;
    pc.oniceconnectionstatechange = onState;
    // The page offers only to publish its own tracks (after the server's first offer); the
    // browser asks again whenever a description leaves them unsent.
    pc.onnegotiationneeded = () => serial('sfu offer', sfuOffer);
    const dc = pc.createDataChannel('chat', {negotiated: true, id: 0});
    dc.binaryType = 'arraybuffer';
    // Test hook (?say=TEXT): greet the room once the channel opens. Members who join later
    // missed it (the server relays only to open channels), so a member not greeted yet is
    // greeted again when it first speaks on the channel (its channel is open then).
    const say = params.get('say');
    const greet = () => {
      for (const id of state.peers.keys()) link.greeted.add(id);
      sfuChatSend(say);
    };
    dc.onmessage = (e) => {
      const c = chatDecode(e.data);
      state.chat.push({from: c.from, name: c.name, text: c.text, via: 'datachannel'});
      logChat(c.name || 'anonymous', c.text);
      if (say && c.from !== null && !link.greeted.has(c.from)) greet();
    };
    dc.onopen = () => {
      logChat(null, 'chat channel open', 'sys');
      if (say) greet();
    };
    link.dc = dc;
  }

  async function sfuOffer() {
    const link = state.server;
    if (!link || link.pc.signalingState !== 'stable' || !link.answers || link.refused) return;
    await link.pc.setLocalDescription(await link.pc.createOffer());
    link.offers++;
    send({type: 'offer', to: 0, sdp: link.pc.localDescription.sdp});
  }

  async function sfuMessage(m) {
    const link = state.server;
    if (!link || m.from !== 0) return;
    const pc = link.pc;
    switch (m.type) {
      case 'offer':
        // Glare: the server is the polite peer (docs/sfu.md): it rolls its offer back, answers
        // ours and offers again, so ours stands and this one is ignored.
        if (pc.signalingState === 'have-local-offer') return;
        await pc.setRemoteDescription({type: 'offer', sdp: m.sdp});
        await flushCandidates(link);
        await pc.setLocalDescription(await pc.createAnswer());
        link.answers++;
        send({type: 'answer', to: 0, sdp: pc.localDescription.sdp});
        if (!link.published) {
          // Our tracks on sections of their own (sendonly): the server's offers hold only
          // what it sends. Adding them fires negotiationneeded, and the page offers next.
          link.published = true;
          for (const t of state.local.getTracks())
            pc.addTransceiver(t, {direction: 'sendonly', streams: [state.local]});
        }
        break;
      case 'answer':
        if (pc.signalingState !== 'have-local-offer') return;  // a stale one
        await pc.setRemoteDescription({type: 'answer', sdp: m.sdp});
        await flushCandidates(link);
        break;
      case 'candidate':
        if (!pc.remoteDescription) link.pending.push(m.candidate);
        else await addCandidate(link, m.candidate);
        break;
    }
  }

  // ---- stats ----------------------------------------------------------------------------------

  function zeroCounts() {
    return {bytes: 0, lost: 0, recv: 0, frames: 0};
  }

  // One getStats() report: inbound-rtp counters summed per owner (ownerOf(stat) gives a member
  // id and the counters to subtract, or null), and the RTT to the other end.
  function readReport(report, ownerOf) {
    const per = new Map();
    let rtt = null, remoteRtt = null;
    report.forEach((s) => {
      if (s.type === 'inbound-rtp') {
        const own = ownerOf(s);
        if (!own) return;
        const c = per.get(own.id) || zeroCounts();
        c.bytes += (s.bytesReceived || 0) - own.base.bytes;
        c.lost += Math.max(0, s.packetsLost || 0) - own.base.lost;
        c.recv += (s.packetsReceived || 0) - own.base.recv;
        if (s.kind === 'video') c.frames += (s.framesDecoded || 0) - own.base.frames;
        per.set(own.id, c);
      } else if (s.type === 'candidate-pair' && (s.nominated || s.selected) &&
                 s.state === 'succeeded' && s.currentRoundTripTime !== undefined) {
        rtt = s.currentRoundTripTime;  // Firefox marks the pair `selected`
      } else if (s.type === 'remote-inbound-rtp' && s.roundTripTime !== undefined) {
        remoteRtt = s.roundTripTime;  // from RTCP, where the pair has no RTT
      }
    });
    return {per, rtt: rtt === null ? remoteRtt : rtt};
  }

  function showStats(peer, c, rtt, now) {
    let kbps = 0;
    if (peer.last && c.bytes >= peer.last.bytes)
      kbps = ((c.bytes - peer.last.bytes) * 8) / Math.max(1, now - peer.last.t);
    peer.last = {bytes: c.bytes, t: now};
    const loss = c.recv + c.lost > 0 ? (100 * c.lost) / (c.recv + c.lost) : 0;
    peer.stats = {kbps: Math.round(kbps), lossPct: +loss.toFixed(1),
                  rttMs: rtt === null ? null : Math.round(rtt * 1000), framesDecoded: c.frames};
    peer.tile.querySelector('.stats').textContent =
        `${peer.stats.kbps} kbit/s · loss ${peer.stats.lossPct}% · rtt ` +
        `${peer.stats.rttMs === null ? '–' : peer.stats.rttMs + ' ms'}`;
    peer.tile.querySelector('.frames').textContent = `${c.frames} frames`;
  }

  // Test hook (?selftest=1): tell the peer over the data channel once its video decodes and its
  // chat arrived, so a test driving only the other browser can see both directions.
  function selftest(peer, dc, sendText) {
    if (params.get('selftest') && !peer.selftestSent && peer.stats.framesDecoded >= 30 &&
        dc && dc.readyState === 'open' &&
        state.chat.some((c) => c.from === peer.id && c.via === 'datachannel')) {
      sendText(`selftest ok ${peer.stats.framesDecoded}`);
      peer.selftestSent = true;
    }
  }

  async function pollP2p() {
    for (const peer of state.peers.values()) {
      if (peer.pc.connectionState === 'closed') continue;
      let report;
      try {
        report = await peer.pc.getStats();
      } catch (e) {
        continue;
      }
      const r = readReport(report, () => ({id: peer.id, base: zeroCounts()}));
      showStats(peer, r.per.get(peer.id) || zeroCounts(), r.rtt, performance.now());
      selftest(peer, peer.dc, (t) => peer.dc.send(t));
    }
  }

  async function pollSfu() {
    const link = state.server;
    if (!link || link.pc.connectionState === 'closed') return;
    let report;
    try {
      report = await link.pc.getStats();
    } catch (e) {
      return;
    }
    // inbound-rtp -> receiver track (trackIdentifier; else through the mid) -> member.
    const midTrack = new Map();
    for (const t of link.pc.getTransceivers())
      if (t.mid !== null) midTrack.set(t.mid, t.receiver.track.id);
    const ownerOf = (s) => {
      const tid = s.trackIdentifier || midTrack.get(s.mid);
      if (!tid) return null;
      link.seen.set(tid, {bytes: s.bytesReceived || 0, lost: Math.max(0, s.packetsLost || 0),
                          recv: s.packetsReceived || 0,
                          frames: s.kind === 'video' ? s.framesDecoded || 0 : 0});
      return link.owner.get(tid) || null;
    };
    const r = readReport(report, ownerOf);
    const now = performance.now();
    for (const peer of state.peers.values()) {
      showStats(peer, r.per.get(peer.id) || zeroCounts(), r.rtt, now);
      selftest(peer, link.dc, (t) => sfuChatSend(t));
    }
  }

  function pollStats() {
    return state.mode === 'sfu' ? pollSfu() : pollP2p();
  }

  // ---- signaling ------------------------------------------------------------------------------

  async function onMessage(m) {
    switch (m.type) {
      case 'welcome':
        state.id = m.id;
        state.mode = m.mode === 'p2p' ? 'p2p' : 'sfu';
        state.joined = true;
        setStatus(`in room ${m.room} as ${state.name} (#${m.id}, ${state.mode})`);
        logChat(null, `joined ${m.room} (${state.mode}); ${m.members.length} already here`, 'sys');
        if (state.mode === 'sfu') {
          sfuLink();  // the server's offer follows
          for (const mem of m.members) sfuMember(mem.id, mem.name, true);
        } else {
          for (const mem of m.members) await callPeer(getPeer(mem.id, mem.name));
        }
        break;
      case 'peer-joined':
        if (state.mode === 'sfu') sfuMember(m.id, m.name, true);
        else getPeer(m.id, m.name);  // it will send us an offer
        logChat(null, m.name + ' joined', 'sys');
        break;
      case 'peer-left':
        dropPeer(m.id);
        break;
      case 'offer':
      case 'answer':
      case 'candidate':
        if (state.mode === 'sfu') await sfuMessage(m);
        else await p2pMessage(m);
        break;
      case 'chat':
        state.chat.push({from: m.from, name: m.name, text: m.text, via: 'server'});
        logChat(m.name, m.text);
        break;
      case 'error':
        state.errors.push(m);
        logChat(null, `error ${m.code}: ${m.reason}`, 'sys');
        // The server refused our offer: without a rollback we would ignore its offers from
        // now on (glare rule). We do not offer again (it would be refused the same way).
        if (m.code === 'media-error' && state.server &&
            state.server.pc.signalingState === 'have-local-offer') {
          state.server.refused = true;
          await state.server.pc.setLocalDescription({type: 'rollback'});
        }
        // A server without the SFU: its default-mode rooms refuse us, p2p ones do not.
        if (m.code === 'unsupported' && m.about === 'join' && !state.joined &&
            !params.get('mode')) {
          logChat(null, 'joining in p2p mode instead', 'sys');
          sendJoin('p2p');
        }
        break;
    }
  }

  async function p2pMessage(m) {
    switch (m.type) {
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
    }
  }

  // The room's mode unless the URL names one (?mode=p2p or ?mode=sfu); welcome says which.
  function sendJoin(mode) {
    const join = {type: 'join', room: state.room, name: state.name};
    if (mode === 'p2p' || mode === 'sfu') join.mode = mode;
    if (params.get('token')) join.token = params.get('token');
    send(join);
  }

  function connect() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${proto}//${location.host}/ws`);
    state.ws = ws;
    ws.onopen = () => {
      setStatus('joining…');
      sendJoin(params.get('mode'));
    };
    ws.onmessage = (e) => {
      let m;
      try {
        m = JSON.parse(e.data);
      } catch (err) {
        return;
      }
      serial(m.type, () => onMessage(m));
    };
    ws.onclose = (e) => {
      setStatus(`disconnected (${e.code}${e.reason ? ' ' + e.reason : ''})`);
      state.joined = false;
      for (const id of [...state.peers.keys()]) dropPeer(id);
      if (state.server) state.server.pc.close();
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
    if (state.mode === 'sfu' && state.server && state.server.dc.readyState === 'open') {
      sfuChatSend(text);
      return;
    }
    let sent = 0;
    if (state.mode === 'p2p')
      for (const peer of state.peers.values())
        if (peer.dc && peer.dc.readyState === 'open') {
          peer.dc.send(text);
          sent++;
        }
    if (!sent) send({type: 'chat', text});  // no channel open: through the server
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
