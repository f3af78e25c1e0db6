// Ledgerline live overlay: follows one meeting's event stream (docs/events.md) over a WebSocket and
// shows captions and the commitments ledger. All text goes in through textContent, never as HTML.
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const token = new URLSearchParams(location.search).get('t') || '';
  const base = location.pathname.replace(/\/+$/, '');
  const meetingID = decodeURIComponent(base.slice(base.lastIndexOf('/') + 1));
  const STORED = new Set(['segment.final', 'speaker.update', 'commitment.upsert', 'meeting.state']);
  const PALETTE = ['#2563eb', '#db2777', '#059669', '#d97706', '#7c3aed', '#0891b2', '#dc2626', '#4d7c0f'];
  const MIN_BACKOFF = 500, MAX_BACKOFF = 15000;

  const captions = $('captions'), partials = $('partials'), scroller = $('scroller');
  const ledger = $('commitments'), conn = $('conn'), rec = $('rec');
  const speakers = new Map(); // speaker id → {name, org}
  let lastSeq = 0, connects = 0, backoff = MIN_BACKOFF, retry = null;

  $('meeting').textContent = meetingID;

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  // Channels get colours in the order they first speak; every viewer replays the same order.
  const colours = new Map();
  function colour(channel) {
    if (!colours.has(channel)) colours.set(channel, PALETTE[colours.size % PALETTE.length]);
    return colours.get(channel);
  }

  function clock(ms) {
    const s = Math.max(0, Math.floor((ms || 0) / 1000));
    const hh = Math.floor(s / 3600), mm = Math.floor(s / 60) % 60, ss = s % 60;
    const two = (n) => String(n).padStart(2, '0');
    return hh ? `${hh}:${two(mm)}:${two(ss)}` : `${mm}:${two(ss)}`;
  }

  function speakerName(seg) {
    const s = speakers.get(seg.speaker);
    return (s && s.name) || seg.speaker || seg.channel || '?';
  }

  function speakerOrg(seg) {
    const s = speakers.get(seg.speaker);
    return (s && s.org) || seg.org || '';
  }

  // line builds a caption line; finals carry data-final-seq, partials data-partial.
  function line(seg, final, seq) {
    const li = el('li', final ? 'line final' : 'line partial');
    li.dataset.segment = seg.id;
    li.dataset.channel = seg.channel || '';
    if (final) li.dataset.finalSeq = String(seq); else li.dataset.partial = '';
    li.style.setProperty('--c', colour(seg.channel || ''));
    const head = el('header');
    head.append(el('span', 'time', clock(seg.start_ms)));
    const who = el('span', 'who', speakerName(seg));
    who.dataset.speaker = seg.speaker || '';
    head.append(who);
    const org = speakerOrg(seg);
    if (org) head.append(el('span', 'org', org));
    li.append(head, el('p', 'text', seg.text || ''));
    if (seg.language) li.lang = seg.language;
    return li;
  }

  function atBottom() {
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 40;
  }

  function follow(stick) {
    $('no-captions').hidden = captions.childElementCount + partials.childElementCount > 0;
    if (stick) scroller.scrollTop = scroller.scrollHeight;
  }

  function find(list, attr, value) {
    for (const child of list.children) if (child.dataset[attr] === value) return child;
    return null;
  }

  function onFinal(e) {
    const seg = e.segment, stick = atBottom();
    const p = find(partials, 'channel', seg.channel || '');
    if (p && p.dataset.segment === seg.id) p.remove();
    const li = line(seg, true, e.seq);
    const old = find(captions, 'segment', seg.id);
    if (old) old.replaceWith(li); else captions.append(li);
    follow(stick);
  }

  function onPartial(e) {
    const seg = e.segment, stick = atBottom();
    if (find(captions, 'segment', seg.id)) return; // its final is already shown
    const li = line(seg, false, e.seq);
    const old = find(partials, 'channel', seg.channel || '');
    if (old) old.replaceWith(li); else partials.append(li);
    follow(stick);
  }

  function onSpeaker(e) {
    const s = e.speaker;
    speakers.set(s.id, { name: s.name, org: s.org || '' });
    for (const who of document.querySelectorAll('.who')) {
      if (who.dataset.speaker === s.id) who.textContent = s.name || s.id;
    }
  }

  function onCommitment(e) {
    const c = e.commitment;
    const li = el('li', 'commitment');
    li.dataset.commitment = c.id;
    li.dataset.status = c.status || 'open';
    li.append(el('p', 'what', c.what));
    const meta = el('div', 'meta');
    meta.append(el('span', 'status-badge', c.status || 'open'));
    meta.append(el('span', 'owner', c.owner_org && c.owner_org !== c.owner ? `${c.owner} (${c.owner_org})` : c.owner));
    if (c.beneficiary) meta.append(el('span', 'beneficiary', `for ${c.beneficiary}`));
    const due = c.due || c.due_phrase;
    if (due) {
      const d = el('span', 'due', `due ${due}`);
      if (c.due && c.due_phrase) d.title = c.due_phrase;
      meta.append(d);
    }
    li.append(meta);
    if (c.quote) li.append(el('p', 'quote', `“${c.quote}”`));
    const old = find(ledger, 'commitment', c.id);
    if (old) old.replaceWith(li); else ledger.append(li);
    const open = [...ledger.children].filter((x) => x.dataset.status === 'open').length;
    $('count').textContent = `${open} open · ${ledger.childElementCount}`;
    $('no-commitments').hidden = true;
  }

  function onState(e) {
    const labels = { recording: 'Recording', paused: 'Paused', stopped: 'Stopped' };
    rec.dataset.state = e.state;
    rec.textContent = labels[e.state] || String(e.state);
    rec.title = e.reason ? `Recording state: ${e.reason}` : 'Recording state';
  }

  function handle(e) {
    if (!e || e.v !== 1 || typeof e.type !== 'string') return;
    if (STORED.has(e.type)) {
      if (e.seq <= lastSeq) return; // already shown
      lastSeq = e.seq;
      document.body.dataset.lastSeq = String(lastSeq);
    }
    switch (e.type) {
      case 'segment.final': if (e.segment) onFinal(e); break;
      case 'segment.partial': if (e.segment) onPartial(e); break;
      case 'speaker.update': if (e.speaker) onSpeaker(e); break;
      case 'commitment.upsert': if (e.commitment) onCommitment(e); break;
      case 'meeting.state': onState(e); break;
    }
  }

  function setConn(state, text) {
    conn.dataset.conn = state;
    conn.textContent = text;
  }

  function connect() {
    retry = null;
    setConn('connecting', 'Connecting…');
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const url = `${proto}//${location.host}${base}/ws?t=${encodeURIComponent(token)}&since=${lastSeq}`;
    let ws;
    try {
      ws = new WebSocket(url);
    } catch (err) {
      schedule('cannot connect');
      return;
    }
    ws.onopen = () => {
      connects++;
      conn.dataset.connects = String(connects);
      backoff = MIN_BACKOFF;
      setConn('live', 'Live');
    };
    ws.onmessage = (m) => {
      let e;
      try { e = JSON.parse(m.data); } catch (err) { return; }
      handle(e);
    };
    ws.onclose = (ev) => {
      // Partials are never replayed: drop them, the next final or partial replaces them anyway.
      partials.replaceChildren();
      follow(false);
      schedule(ev.reason || (ev.code === 1006 ? 'connection lost' : `closed (${ev.code})`));
    };
  }

  function schedule(why) {
    if (retry !== null) return;
    const delay = Math.round(backoff * (0.5 + Math.random() / 2));
    backoff = Math.min(backoff * 2, MAX_BACKOFF);
    setConn('reconnecting', `Reconnecting in ${Math.ceil(delay / 1000)}s (${why})`);
    retry = setTimeout(connect, delay);
  }

  window.addEventListener('online', () => {
    if (retry !== null) { clearTimeout(retry); connect(); }
  });

  if (!token) {
    setConn('refused', 'This link needs its access token');
    return;
  }
  connect();
})();
