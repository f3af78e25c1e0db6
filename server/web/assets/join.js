// Ledgerline join page: a participant consents, then sends their microphone (and optionally a
// shared tab's audio) to the meeting over WebRTC, published with WHIP (RFC 9725), non-trickle.
// Nothing is captured or sent before consent. All text is set with textContent.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  const parts = location.pathname.split('/');
  const meeting = decodeURIComponent(parts[parts.length - 2] || '');
  const token = new URLSearchParams(location.search).get('t') || '';
  const whipURL = new URL('../../whip/' + encodeURIComponent(meeting), location.href);
  const declineURL = new URL('join/decline', location.href);
  declineURL.search = new URLSearchParams({ t: token }).toString();
  const overlayURL = new URL('../' + encodeURIComponent(meeting), location.href);
  overlayURL.search = new URLSearchParams({ t: token }).toString();

  const GATHER_MS = 5000;
  const MAX_TRIES = 9; // channel names tried when one is already live: slug, slug-2 … slug-9

  const form = $('join-form'), nameInput = $('name'), orgInput = $('org'), consent = $('consent');
  const joinBtn = $('join'), declineBtn = $('decline'), controls = $('controls');
  const pauseBtn = $('pause'), tabBtn = $('tab'), leaveBtn = $('leave');
  const sendState = $('send-state'), message = $('message'), level = $('level');

  $('meeting').textContent = meeting;
  $('overlay').src = overlayURL.href;

  // A participant belongs to an organisation: the deal's organisations are offered by name, each
  // with its side ("Northwind (partner)"); the side is what is sent, and the server names the
  // organisation on it. Without a deal, the sides alone are offered.
  async function describe() {
    const aboutURL = new URL('about', location.href);
    aboutURL.search = new URLSearchParams({ t: token }).toString();
    let about;
    try {
      const res = await fetch(aboutURL, { cache: 'no-store', credentials: 'same-origin', referrerPolicy: 'no-referrer' });
      if (!res.ok) return;
      about = await res.json();
    } catch (err) {
      return; // the sides stay on offer
    }
    if (about.title) $('meeting').textContent = about.title;
    const orgs = (about.deal && about.deal.organisations) || [];
    if (orgs.length === 0) return;
    const keep = orgInput.value;
    const options = [new Option('Choose…', '', true, false)];
    options[0].disabled = true;
    for (const o of orgs) options.push(new Option(`${o.org} (${o.role})`, o.role));
    options.push(new Option('another organisation', 'other'));
    orgInput.replaceChildren(...options);
    orgInput.value = keep;
    if (orgInput.selectedIndex < 0) orgInput.selectedIndex = 0;
    orgInput.closest('label').firstChild.textContent = 'Your organisation ';
    refresh();
  }
  describe();

  // orgLabel is what the page shows of the organisation picked.
  function orgLabel() {
    const o = orgInput.selectedOptions[0];
    return o ? o.textContent : orgInput.value;
  }

  // One WHIP session: a peer connection sending one track, and the resource to DELETE.
  const sessions = { mic: null, tab: null };
  let me = null; // { name, org, channel }
  let paused = false, meterStop = null;

  function setState(state) { document.body.dataset.state = state; }

  function say(text) {
    message.textContent = text;
    message.hidden = !text;
  }

  function refresh() {
    joinBtn.disabled = !(consent.checked && nameInput.value.trim() !== '' && orgInput.value !== '');
  }
  for (const el of [nameInput, orgInput, consent]) {
    el.addEventListener('input', refresh);
    el.addEventListener('change', refresh);
  }
  refresh();

  // slug turns a display name into a channel name the WHIP endpoint accepts.
  function slug(name) {
    const s = name.normalize('NFKD').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 50)
      .replace(/-+$/, '');
    return s || 'participant';
  }

  // tabName names the tab's channel after its sharer, within the 80 characters a name may have
  // (counted in code points, as the server counts them).
  function tabName(name) {
    const suffix = ' · tab';
    return Array.from(name).slice(0, 80 - suffix.length).join('').trim() + suffix;
  }

  class WhipError extends Error {
    constructor(status, text) { super(text); this.status = status; }
  }

  // sentence makes a reason the recorder gave into a sentence of the page.
  function sentence(text) {
    const t = text.trim();
    return t.charAt(0).toUpperCase() + t.slice(1) + (/[.!?]$/.test(t) ? '' : '.');
  }

  function explain(err) {
    if (err instanceof WhipError) {
      switch (err.status) {
        case 401: return 'The meeting refused this link\'s token. Ask the organiser for a new join link.';
        // The meeting takes no audio now (it is not being transcribed); the recorder says why.
        case 403: return err.message.trim() ? sentence(err.message) : 'This meeting takes no audio now.';
        case 404: return 'This meeting is not taking audio now. Ask the organiser whether it is still running.';
        case 503: return 'The recorder is busy. Wait a few seconds and join again.';
        default: return 'The recorder refused the connection (HTTP ' + err.status + '). Try again, or ask the organiser.';
      }
    }
    if (err && err.name === 'NotAllowedError') return 'Your browser did not allow the microphone. Allow it for this page and join again.';
    if (err && err.name === 'NotFoundError') return 'No microphone was found. Connect one and join again.';
    return 'Could not connect: ' + (err && err.message ? err.message : String(err));
  }

  function gathered(pc) {
    return new Promise((resolve) => {
      if (pc.iceGatheringState === 'complete') { resolve(); return; }
      const timer = setTimeout(done, GATHER_MS); // send what was gathered so far
      function done() {
        clearTimeout(timer);
        pc.removeEventListener('icegatheringstatechange', check);
        resolve();
      }
      function check() { if (pc.iceGatheringState === 'complete') done(); }
      pc.addEventListener('icegatheringstatechange', check);
    });
  }

  // publish sends one track in a new WHIP session and returns it once the answer is applied.
  async function publish(track, stream, channel, name, org) {
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    try {
      pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
      await pc.setLocalDescription(await pc.createOffer());
      await gathered(pc);
      const url = new URL(whipURL);
      url.searchParams.set('channel', channel);
      url.searchParams.set('name', name);
      if (org) url.searchParams.set('org', org);
      const post = (to) => fetch(to, {
        method: 'POST', cache: 'no-store',
        headers: { 'Content-Type': 'application/sdp', 'Authorization': 'Bearer ' + token },
        body: pc.localDescription.sdp,
      });
      let res = await post(url);
      // A replica that does not run the meeting redirects (307) to the one that does. Browsers
      // follow, but drop Authorization on a redirect to another origin: send it there again.
      if (res.status === 401 && res.redirected && res.url) res = await post(res.url);
      const body = await res.text();
      if (res.status !== 201) throw new WhipError(res.status, body);
      const resource = new URL(res.headers.get('Location') || '', res.url || url);
      const session = { pc, track, channel, resource };
      try {
        await pc.setRemoteDescription({ type: 'answer', sdp: body });
      } catch (err) {
        end(session, false);
        throw err;
      }
      return session;
    } catch (err) {
      if (pc.connectionState !== 'closed') pc.close();
      throw err;
    }
  }

  // publishFree publishes under the first free channel name: base, base-2, …
  async function publishFree(track, stream, base, name, org) {
    for (let i = 1; ; i++) {
      const channel = i === 1 ? base : base + '-' + i;
      try {
        return await publish(track, stream, channel, name, org);
      } catch (err) {
        if (!(err instanceof WhipError && err.status === 409) || i >= MAX_TRIES) throw err;
      }
    }
  }

  // end stops a session's track, deletes its WHIP resource, then closes its peer connection (closing
  // first would end the session on the recorder's side before the DELETE arrives).
  function end(session, keepalive) {
    if (!session) return;
    session.track.stop();
    const close = () => { if (session.pc.connectionState !== 'closed') session.pc.close(); };
    fetch(session.resource, {
      method: 'DELETE', cache: 'no-store', keepalive,
      headers: { 'Authorization': 'Bearer ' + token },
    }).catch(() => { /* the recorder also ends a session whose peer went away */ }).finally(close);
    if (keepalive) close(); // the page is going away: the request outlives it
  }

  function watch(session, kind) {
    session.pc.addEventListener('connectionstatechange', () => {
      if (sessions[kind] !== session) return;
      const st = session.pc.connectionState;
      if (kind === 'mic' && st === 'connected') showSending();
      if (st === 'failed' || st === 'closed') {
        if (kind === 'mic') {
          stopAll();
          setState('failed');
          say('The connection to the recorder was lost. Join again to continue.');
          unlockForm();
        } else {
          stopTab();
        }
      }
    });
  }

  function showSending() {
    const live = sessions.mic && sessions.mic.pc.connectionState === 'connected';
    if (!live) return;
    setState(paused ? 'paused' : 'live');
    sendState.dataset.send = paused ? 'paused' : 'live';
    sendState.textContent = paused ? 'Paused — sending silence' : (sessions.tab ? 'Sending mic and tab' : 'Sending mic');
    pauseBtn.textContent = paused ? 'Resume my audio' : 'Pause my audio';
    pauseBtn.disabled = false;
    tabBtn.disabled = false;
    tabBtn.textContent = sessions.tab ? 'Stop sharing the tab' : 'Share a tab\'s audio';
  }

  function meter(stream) {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return () => {};
    const ctx = new Ctx();
    const an = ctx.createAnalyser();
    an.fftSize = 512;
    ctx.createMediaStreamSource(stream).connect(an);
    const buf = new Float32Array(an.fftSize);
    let frame = 0;
    const tick = () => {
      an.getFloatTimeDomainData(buf);
      let sum = 0;
      for (const v of buf) sum += v * v;
      level.value = paused ? 0 : Math.min(1, Math.sqrt(sum / buf.length) * 4);
      frame = requestAnimationFrame(tick);
    };
    tick();
    return () => { cancelAnimationFrame(frame); level.value = 0; ctx.close().catch(() => {}); };
  }

  async function join() {
    if (!consent.checked) return; // never capture without consent
    const name = nameInput.value.trim().slice(0, 80);
    const org = orgInput.value;
    say('');
    setState('connecting');
    for (const el of [nameInput, orgInput, consent, joinBtn, declineBtn]) el.disabled = true;
    controls.hidden = false;
    $('me-name').textContent = name;
    // The deal's options already say the side in parentheses ("Northwind (partner)").
    const label = orgLabel();
    $('me-org').textContent = label.endsWith(')') ? '· ' + label : '(' + label + ')';
    sendState.dataset.send = 'connecting';
    sendState.textContent = 'Connecting…';
    paused = false;
    let stream = null;
    try {
      if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
        throw new Error('this browser cannot capture audio here; open the join link over HTTPS (or on localhost)');
      }
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      const track = stream.getAudioTracks()[0];
      meterStop = meter(stream);
      sessions.mic = await publishFree(track, stream, slug(name), name, org);
      me = { name, org, channel: sessions.mic.channel };
      $('tab-label').textContent = '“' + tabName(name) + '”';
      watch(sessions.mic, 'mic');
      showSending();
    } catch (err) {
      stopAll();
      if (stream) for (const t of stream.getTracks()) t.stop();
      setState('failed');
      say(explain(err));
      unlockForm();
    }
  }

  function unlockForm() {
    controls.hidden = true;
    for (const el of [nameInput, orgInput, consent, declineBtn]) el.disabled = false;
    refresh();
  }

  function stopTab() {
    const s = sessions.tab;
    sessions.tab = null;
    end(s, false);
    showSending();
  }

  async function shareTab() {
    if (sessions.tab) { stopTab(); return; }
    if (!me) return;
    tabBtn.disabled = true;
    let stream = null;
    try {
      if (!navigator.mediaDevices.getDisplayMedia) throw new Error('this browser cannot share a tab\'s audio');
      stream = await navigator.mediaDevices.getDisplayMedia({ audio: true, video: true });
      for (const v of stream.getVideoTracks()) { v.stop(); stream.removeTrack(v); }
      const track = stream.getAudioTracks()[0];
      if (!track) {
        say('That share carries no audio. Share a browser tab and tick “Share tab audio”.');
        return;
      }
      track.enabled = !paused;
      const s = await publishFree(track, stream, me.channel + '-tab', tabName(me.name), '');
      if (!me) { end(s, false); return; } // left meanwhile
      sessions.tab = s;
      track.addEventListener('ended', () => { if (sessions.tab === s) stopTab(); });
      watch(s, 'tab');
      say('');
    } catch (err) {
      if (stream) for (const t of stream.getTracks()) t.stop();
      if (!(err && err.name === 'NotAllowedError')) say(explain(err)); // NotAllowed: the user cancelled
    } finally {
      showSending();
      if (!sessions.mic) tabBtn.disabled = true;
    }
  }

  function togglePause() {
    paused = !paused;
    for (const s of [sessions.mic, sessions.tab]) if (s) s.track.enabled = !paused;
    showSending();
  }

  function stopAll(keepalive) {
    const { mic, tab } = sessions;
    sessions.mic = sessions.tab = null;
    end(tab, keepalive);
    end(mic, keepalive);
    if (meterStop) { meterStop(); meterStop = null; }
    me = null;
    pauseBtn.disabled = tabBtn.disabled = true;
  }

  function leave() {
    stopAll(false);
    setState('left');
    say('You left. Nothing more of yours is sent.');
    unlockForm();
  }

  async function decline() {
    consent.checked = false;
    refresh();
    setState('declining');
    say('');
    declineBtn.disabled = true;
    let told = false;
    try {
      const res = await fetch(declineURL, {
        method: 'POST', cache: 'no-store',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ name: nameInput.value.trim().slice(0, 80), org: orgInput.value }),
      });
      told = res.ok;
    } catch (err) { /* told stays false */ }
    declineBtn.disabled = false;
    setState('declined');
    say(told
      ? 'You declined: nothing of yours is recorded or transcribed, and the others are told. You can still follow the meeting here.'
      : 'You declined: nothing of yours is recorded or transcribed. The meeting could not be told; please tell the organiser.');
  }

  form.addEventListener('submit', (ev) => { ev.preventDefault(); join(); });
  declineBtn.addEventListener('click', decline);
  pauseBtn.addEventListener('click', togglePause);
  tabBtn.addEventListener('click', shareTab);
  leaveBtn.addEventListener('click', leave);
  window.addEventListener('pagehide', () => stopAll(true));
})();
