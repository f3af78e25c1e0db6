// Ledgerline's meeting bot, inside the meeting page. The bot adds this script to every document
// before the platform's own scripts run. It
//   - wraps RTCPeerConnection, so that every remote audio track the platform receives is seen;
//   - forwards each such track, as it is, over a second peer connection of its own to the
//     agent's WHIP endpoint (the bot does the HTTP exchange: __ledgerlineForward);
//   - samples, ten times a second, which sources each track carries (its contributing sources,
//     or its own source with its audio level) and which participants the page shows speaking,
//     and reports them to the bot (__ledgerlineReport);
//   - answers the bot's probe of the page: lobby or call, failures, participants, chat.
// Nothing here may hold up the page: every call into the bot is asynchronous and its failure
// ignored, every platform object is touched inside try/catch, and what waits for the bot is
// bounded.
(() => {
  'use strict';
  const SPEC = __LEDGERLINE_SPEC__;
  if (window.__ledgerline || typeof window.RTCPeerConnection !== 'function') return;
  const Native = window.RTCPeerConnection;
  const MAX_TRACKS = 16; // tracks forwarded at most
  const MAX_QUEUE = 100; // samples kept while the bot is busy (10 s)
  const captured = [];
  let nextID = 1;
  const queue = [];
  let reporting = false;
  const ended = [];

  const call = (name, arg) => {
    const fn = window[name];
    if (typeof fn !== 'function') return Promise.reject(new Error('the bot is not listening'));
    return fn(arg);
  };

  function capture(receiver, track) {
    if (!track || track.kind !== 'audio' || captured.length >= MAX_TRACKS) return;
    if (captured.some((c) => c.track === track)) return;
    const c = { id: nextID++, receiver, track, pc: null, done: false };
    captured.push(c);
    track.addEventListener('ended', () => finish(c));
    forward(c).catch(() => finish(c));
  }

  async function forward(c) {
    const pc = new Native({ bundlePolicy: 'max-bundle' });
    c.pc = pc;
    pc.addTransceiver(c.track, { direction: 'sendonly' });
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise((resolve) => {
      if (pc.iceGatheringState === 'complete') return resolve();
      pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve());
      setTimeout(resolve, 3000);
    });
    if (c.done) return;
    const answer = await call('__ledgerlineForward', { id: c.id, sdp: pc.localDescription.sdp });
    if (c.done) return;
    await pc.setRemoteDescription({ type: 'answer', sdp: answer });
  }

  function finish(c) {
    if (c.done) return;
    c.done = true;
    try { if (c.pc) c.pc.close(); } catch (_) { /* gone already */ }
    ended.push(c.id);
  }

  // The platform's peer connections: ours are made with Native and never seen here.
  class PeerConnection extends Native {
    constructor(...args) {
      super(...args);
      try {
        this.addEventListener('track', (e) => { try { capture(e.receiver, e.track); } catch (_) { /* ignore */ } });
      } catch (_) { /* ignore */ }
    }
  }
  try {
    Object.defineProperty(window, 'RTCPeerConnection', { value: PeerConnection, writable: true, configurable: true });
    if (window.webkitRTCPeerConnection) {
      Object.defineProperty(window, 'webkitRTCPeerConnection', { value: PeerConnection, writable: true, configurable: true });
    }
  } catch (_) { /* leave the page as it is */ }

  // --- Sampling --------------------------------------------------------------------------------

  const visible = (el) => !!el && el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  const clean = (s) => String(s || '').replace(/\s+/g, ' ').trim();

  function participants() {
    const out = [];
    if (!SPEC.participant) return out;
    let tiles;
    try { tiles = document.querySelectorAll(SPEC.participant); } catch (_) { return out; }
    for (const tile of tiles) {
      let name = '';
      if (SPEC.name_attribute) name = tile.getAttribute(SPEC.name_attribute) || '';
      if (!name && SPEC.participant_name) {
        const el = tile.querySelector(SPEC.participant_name);
        name = el ? el.textContent : '';
      }
      if (!name && !SPEC.name_attribute && !SPEC.participant_name) name = tile.textContent;
      name = clean(name);
      if (!name || out.some((p) => p.name === name)) continue;
      let speaking = false;
      try { speaking = !!SPEC.speaking && (tile.matches(SPEC.speaking) || !!tile.querySelector(SPEC.speaking)); } catch (_) { /* ignore */ }
      out.push({ name, speaking });
    }
    return out;
  }

  function sample() {
    const now = Date.now();
    const tracks = [];
    for (const c of captured) {
      if (c.done) continue;
      const t = { id: c.id, ssrc: 0, level: -1, csrcs: [], fresh: false };
      try {
        let latest = 0;
        for (const s of c.receiver.getSynchronizationSources()) {
          if (s.timestamp >= latest) {
            latest = s.timestamp;
            t.ssrc = s.source;
            t.level = typeof s.audioLevel === 'number' ? s.audioLevel : -1;
          }
        }
        t.fresh = latest > 0 && now - latest < 300;
        if (t.fresh) {
          for (const s of c.receiver.getContributingSources()) {
            if (latest - s.timestamp <= 60) t.csrcs.push(s.source);
          }
        }
      } catch (_) { /* the receiver is gone */ }
      tracks.push(t);
    }
    const speaking = participants().filter((p) => p.speaking).map((p) => p.name);
    queue.push({ t: now, tracks, speaking });
    if (queue.length > MAX_QUEUE) queue.splice(0, queue.length - MAX_QUEUE);
  }

  function report() {
    if (reporting || (queue.length === 0 && ended.length === 0)) return;
    reporting = true;
    const batch = { samples: queue.splice(0), ended: ended.splice(0) };
    call('__ledgerlineReport', batch).catch(() => {}).finally(() => { reporting = false; });
  }

  setInterval(() => { try { if (captured.length) sample(); } catch (_) { /* ignore */ } }, 100);
  setInterval(() => { try { report(); } catch (_) { /* ignore */ } }, 250);

  // --- Probe -----------------------------------------------------------------------------------

  const lower = (s) => clean(s).toLowerCase().replace(/[\u2018\u2019]/g, "'");

  function targetText(el) {
    return lower([el.textContent, el.getAttribute('aria-label'), el.getAttribute('title'), el.value].filter(Boolean).join(' | '));
  }

  // find returns the first shown element of targets.
  function find(targets) {
    for (const t of targets || []) {
      try {
        if (t.css) {
          for (const el of document.querySelectorAll(t.css)) if (visible(el)) return el;
          continue;
        }
        const want = lower(t.text);
        for (const el of document.querySelectorAll('button, a, [role="button"], input[type="button"], input[type="submit"]')) {
          if (!visible(el)) continue;
          const names = [el.textContent, el.getAttribute('aria-label'), el.getAttribute('title'), el.value];
          if (names.some((n) => n && lower(n).startsWith(want))) return el;
        }
      } catch (_) { /* a selector the page does not support */ }
    }
    return null;
  }

  function mark(name, el) {
    for (const old of document.querySelectorAll('[data-ledgerline="' + name + '"]')) {
      if (old !== el) old.removeAttribute('data-ledgerline');
    }
    if (el) el.setAttribute('data-ledgerline', name);
    return !!el;
  }

  function pageText() {
    let text = document.body ? document.body.innerText : '';
    if (SPEC.chat_message) {
      try {
        for (const m of document.querySelectorAll(SPEC.chat_message)) text = text.replace(m.innerText, ' ');
      } catch (_) { /* ignore */ }
    }
    return lower(text);
  }

  function matches(list, text) {
    for (const m of list || []) {
      try {
        if (m.css && [...document.querySelectorAll(m.css)].some(visible)) return m.css;
        if (m.text && text.includes(lower(m.text))) return m.text;
        if (m.url && location.href.includes(m.url)) return m.url;
      } catch (_) { /* ignore */ }
    }
    return '';
  }

  function chat() {
    const out = [];
    if (!SPEC.chat_message) return out;
    try {
      for (const m of document.querySelectorAll(SPEC.chat_message)) {
        const el = SPEC.chat_text ? m.querySelector(SPEC.chat_text) : m;
        if (el) out.push(clean(el.textContent));
      }
    } catch (_) { /* ignore */ }
    return out.slice(-20);
  }

  const ORDER = ['captcha', 'sign_in', 'invalid_link', 'not_started', 'denied', 'removed', 'ended'];

  // probe tells the bot where the page stands, and marks the elements it may act on with
  // data-ledgerline: name, join, dismiss, leave, click, chat-open, chat-input, chat-send.
  function probe() {
    const out = probeState();
    out.marks = [...document.querySelectorAll('[data-ledgerline]')].map((e) => e.dataset.ledgerline);
    return out;
  }

  function probeState() {
    const out = { state: 'loading', detail: '', participants: [], chat: [], tracks: captured.filter((c) => !c.done).length };
    const text = pageText();
    const captcha = matches((SPEC.failures || {}).captcha, text);
    const inCall = find(SPEC.in_call);
    mark('leave', find(SPEC.leave) || inCall);
    if (captcha) return Object.assign(out, { state: 'captcha', detail: captcha });
    if (inCall) {
      out.state = 'in_call';
      out.participants = participants();
      out.chat = chat();
      mark('click', find(SPEC.in_call_click));
      const input = SPEC.chat_input ? [...document.querySelectorAll(SPEC.chat_input)].find(visible) : null;
      mark('chat-input', input || null);
      mark('chat-open', input ? null : find(SPEC.chat_open));
      mark('chat-send', find(SPEC.chat_send));
      return out;
    }
    for (const f of ORDER) {
      const m = matches((SPEC.failures || {})[f], text);
      if (m) return Object.assign(out, { state: f, detail: m });
    }
    mark('dismiss', find(SPEC.dismiss));
    const waiting = matches(SPEC.waiting, text);
    if (waiting) return Object.assign(out, { state: 'waiting', detail: waiting });
    let name = null;
    try { name = SPEC.name_input ? [...document.querySelectorAll(SPEC.name_input)].find(visible) : null; } catch (_) { /* ignore */ }
    const join = find(SPEC.join);
    mark('name', name || null);
    mark('join', join);
    if (name || join) out.state = 'prejoin';
    return out;
  }

  // clear empties the marked name field the way a person would, so that frameworks see it.
  function clear() {
    const el = document.querySelector('[data-ledgerline="name"]');
    if (!el) return false;
    el.focus();
    const setter = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(el), 'value');
    if (setter && setter.set) setter.set.call(el, ''); else el.value = '';
    el.dispatchEvent(new Event('input', { bubbles: true }));
    return true;
  }

  Object.defineProperty(window, '__ledgerline', { value: Object.freeze({ probe, clear }), enumerable: false });
})();
