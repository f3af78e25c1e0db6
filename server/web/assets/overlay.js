// Ledgerline live overlay: follows one meeting's event stream (docs/events.md) over a WebSocket and
// shows captions, talk time and the commitments ledger. Viewers may rename speakers, edit
// commitments and pause the recording through the control API; the page never changes what it
// shows on its own: every change comes back, to every viewer, as an event on the stream.
// All text goes in through textContent, never as HTML. A module: ledger.js draws the commitments.
import { el, commitmentItem, unsupportedLanguages, languagesNote } from './ledger.js';
import { clock, duration } from './clock.js';
import * as capture from './capture.js';

(() => {
  const $ = (id) => document.getElementById(id);
  const token = new URLSearchParams(location.search).get('t') || '';
  const base = location.pathname.replace(/\/+$/, '');
  const meetingID = decodeURIComponent(base.slice(base.lastIndexOf('/') + 1));
  // Where the server's paths start: "" here, "/ledgerline" behind a proxy that serves it there.
  const root = base.slice(0, base.lastIndexOf('/m/'));
  const STORED = new Set(['segment.final', 'speaker.update', 'commitment.upsert', 'meeting.state', 'channel.loss', 'bot.state', 'capture.health']);
  const PALETTE = ['#2563eb', '#db2777', '#059669', '#d97706', '#7c3aed', '#0891b2', '#dc2626', '#4d7c0f'];
  const MIN_BACKOFF = 500, MAX_BACKOFF = 15000;

  const captions = $('captions'), partials = $('partials'), scroller = $('scroller');
  const ledger = $('commitments'), conn = $('conn'), rec = $('rec'), pause = $('pause');
  const speakers = new Map(); // speaker id → {name, org, role}
  const finals = new Map(); // segment id → segment, for talk time and re-rendering after a rename
  const commitments = new Map(); // commitment id → the last event that set it
  let lastSeq = 0, connects = 0, backoff = MIN_BACKOFF, retry = null, stopped = false;
  let commitmentLanguages = null; // the languages commitments are detected in, once known

  $('meeting').textContent = meetingID;

  // What the event stream does not carry: the meeting's title and deal, links to its recap and
  // deal page, and the languages commitments are detected in. It reports whether the meeting let us in.
  async function describe() {
    let about;
    try {
      const res = await fetch(`${base}/about?t=${encodeURIComponent(token)}`, { cache: 'no-store', credentials: 'same-origin', referrerPolicy: 'no-referrer' });
      if (!res.ok) return false;
      about = await res.json();
    } catch (err) {
      return false;
    }
    if (about.title) {
      $('meeting').textContent = about.title;
      document.title = `${about.title} · Ledgerline`;
    }
    const link = (a, path) => { if (path) { a.href = root + path; a.hidden = false; } };
    if (about.deal) {
      $('deal').textContent = `· ${about.deal.name}`;
      $('deal').hidden = false;
      link($('deal-link'), about.deal.page);
    }
    link($('recap-link'), about.recap);
    for (const o of (about.deal && about.deal.organisations) || []) sideOrgs.set(o.role, o.org);
    if (sideOrgs.size > 0) {
      for (const li of [...captions.children]) {
        const seg = finals.get(li.dataset.segment);
        if (seg) li.replaceWith(line(seg, true, li.dataset.finalSeq));
      }
      for (const e of commitments.values()) drawCommitment(e);
      talkLater();
    }
    commitmentLanguages = new Set(about.commitment_languages || []);
    languagesLater();
    return true;
  }

  // When people speak a language commitments are not detected in, the ledger says so rather than
  // stay empty as if nobody had promised anything.
  function renderLanguages() {
    const note = $('languages-note');
    const missing = commitmentLanguages ? unsupportedLanguages(finals.values(), commitmentLanguages) : [];
    note.dataset.languages = missing.join(',');
    note.textContent = languagesNote(missing);
    note.hidden = missing.length === 0;
    $('no-commitments').hidden = ledger.childElementCount > 0 || missing.length > 0;
  }
  let languagesTimer = null;
  function languagesLater() {
    if (languagesTimer === null) languagesTimer = setTimeout(() => { languagesTimer = null; renderLanguages(); }, 50);
  }

  // Channels get colours in the order they first speak; every viewer replays the same order.
  const colours = new Map();
  // colour tells speakers apart: each its own, those on one channel told apart by voice included.
  function colour(seg) {
    const key = seg.speaker || `channel:${seg.channel || ''}`;
    if (!colours.has(key)) colours.set(key, PALETTE[colours.size % PALETTE.length]);
    return colours.get(key);
  }

  function speakerName(seg) {
    const s = speakers.get(seg.speaker);
    return (s && s.name) || seg.speaker || seg.channel || '?';
  }

  // The deal's organisation on each side ("partner" → "Northwind"), once the meeting is described.
  const sideOrgs = new Map();
  const SIDES = new Set(['vendor', 'partner', 'buyer']);

  // orgOf is what is shown of someone's organisation, and what talk time is summed by: its name,
  // the deal's organisation on their side when they gave only a side (or nothing), else the side.
  function orgOf(x) {
    if (!x) return '';
    const org = x.org || '', side = SIDES.has(org.toLowerCase()) ? org.toLowerCase() : (org ? '' : (x.role || ''));
    if (side) return sideOrgs.get(side) || side;
    return org;
  }

  function speakerOrg(seg) {
    return orgOf(speakers.get(seg.speaker)) || orgOf(seg);
  }

  // line builds a caption line; finals carry data-final-seq, partials data-partial.
  function line(seg, final, seq) {
    const li = el('li', final ? 'line final' : 'line partial');
    li.dataset.segment = seg.id;
    li.dataset.channel = seg.channel || '';
    if (final) li.dataset.finalSeq = String(seq); else li.dataset.partial = '';
    li.style.setProperty('--c', colour(seg));
    const head = el('header');
    head.append(el('span', 'time', clock(seg.start_ms)));
    head.append(whoButton(seg));
    const org = speakerOrg(seg);
    if (org) head.append(el('span', 'org', org));
    if (seg.overlap) head.append(el('span', 'overlap', 'overlapping speech'));
    if (final) {
      const add = el('button', 'add', '+ commitment');
      add.type = 'button';
      add.dataset.add = seg.id;
      add.title = 'Add a commitment said here that the ledger missed';
      head.append(add);
    }
    li.append(head, el('p', 'text', seg.text || ''));
    if (seg.language) li.lang = seg.language;
    return li;
  }

  // whoButton shows a speaker's name; a click opens the rename dialog when the speaker has an id.
  function whoButton(seg) {
    const who = el(seg.speaker ? 'button' : 'span', 'who', speakerName(seg));
    who.dataset.speaker = seg.speaker || '';
    if (seg.speaker) {
      who.type = 'button';
      who.title = 'Rename this speaker';
    }
    return who;
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
    finals.set(seg.id, seg);
    talkLater();
    languagesLater();
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

  // A participant who declined recording stays listed for everyone: nothing of theirs is recorded.
  function onDeclined(s) {
    const list = $('declined');
    if ([...list.children].some((li) => li.dataset.speaker === s.id)) return;
    const li = document.createElement('li');
    li.dataset.speaker = s.id;
    const org = orgOf(s);
    li.textContent = `${s.name || 'A participant'}${org ? ` (${org})` : ''} declined recording: nothing they say is recorded.`;
    list.append(li);
    list.hidden = false;
  }

  function onSpeaker(e) {
    const s = e.speaker;
    if (s.consent === 'declined') { onDeclined(s); return; }
    speakers.set(s.id, { name: s.name, org: s.org || '', role: s.role || '' });
    // A participant who joined speaks on a channel of their own, named as their speaker is.
    if (s.channel && s.channel === s.id) capture.nameChannel(s.channel, s.name);
    for (const li of [...captions.children]) {
      const seg = finals.get(li.dataset.segment);
      if (seg && seg.speaker === s.id) li.replaceWith(line(seg, true, li.dataset.finalSeq));
    }
    for (const who of partials.querySelectorAll('.who')) {
      if (who.dataset.speaker === s.id) who.textContent = s.name || s.id;
    }
    talkLater();
  }

  // Talk time: the length of every final (end_ms − start_ms), summed per speaker and per
  // organisation. A final that replaces another of the same id replaces its time too.
  let talkTimer = null;
  function talkLater() { // one render for a burst of events, as when the history is replayed
    if (talkTimer === null) talkTimer = setTimeout(() => { talkTimer = null; renderTalk(); }, 50);
  }

  function renderTalk() {
    const bySpeaker = new Map(), byOrg = new Map();
    let total = 0;
    for (const seg of finals.values()) {
      const ms = Math.max(0, (seg.end_ms || 0) - (seg.start_ms || 0));
      const key = seg.speaker || `channel:${seg.channel || ''}`;
      const row = bySpeaker.get(key) || { seg, ms: 0 };
      row.ms += ms;
      row.seg = seg;
      bySpeaker.set(key, row);
      total += ms;
    }
    for (const row of bySpeaker.values()) {
      const org = speakerOrg(row.seg) || 'unassigned';
      byOrg.set(org, (byOrg.get(org) || 0) + row.ms);
    }
    const rows = (entries, build) => entries.sort((a, b) => b[1] - a[1] || String(a[0]).localeCompare(String(b[0]))).map(build);
    const bar = (ms) => {
      const b = el('span', 'talk-bar');
      const fill = el('i');
      fill.style.setProperty('width', `${total ? (100 * ms / total).toFixed(1) : 0}%`);
      b.append(fill);
      return b;
    };
    $('talk-orgs').replaceChildren(...rows([...byOrg.entries()], ([org, ms]) => {
      const li = el('li', 'talk-row org-row');
      li.dataset.org = org;
      li.dataset.ms = String(ms);
      li.append(el('span', 'talk-name', org === 'unassigned' ? 'No organisation' : org), bar(ms), el('span', 'talk-dur', duration(ms)));
      return li;
    }));
    $('talk-speakers').replaceChildren(...rows([...bySpeaker.entries()].map(([k, r]) => [k, r.ms, r.seg]), ([key, ms, seg]) => {
      const li = el('li', 'talk-row speaker-row');
      li.dataset.speaker = key;
      li.dataset.ms = String(ms);
      li.style.setProperty('--c', colour(seg));
      const name = whoButton(seg);
      name.classList.add('talk-name');
      const org = speakerOrg(seg);
      if (org) name.title = `${name.title ? name.title + ' · ' : ''}${org}`;
      li.append(name, bar(ms), el('span', 'talk-dur', duration(ms)));
      return li;
    }));
    $('no-talk').hidden = finals.size > 0;
  }

  // sided names a commitment's organisations as the deal does ("partner" → "Northwind"): records
  // made before the meeting had a deal, or by someone who gave only a side, hold the side.
  function sided(c) {
    const name = (s) => sideOrgs.get(String(s || '').toLowerCase()) || s;
    return { ...c, owner: name(c.owner), owner_org: name(c.owner_org), beneficiary_org: name(c.beneficiary_org) };
  }

  // personChanged reports whether an upsert changed what a person sets of a commitment (a field of
  // its edited list, or the list): a rename carried into it, or more evidence, does not.
  function personChanged(prev, c) {
    if (!c.edited || !c.edited.length) return false;
    if (!prev) return true;
    const p = prev.commitment;
    return (p.edited || []).join() !== c.edited.join() || c.edited.some((f) => (p[f] || '') !== (c[f] || ''));
  }

  function drawCommitment(e) {
    const li = commitmentItem(sided(e.commitment), e.changedBy);
    const old = find(ledger, 'commitment', e.commitment.id);
    if (old) old.replaceWith(li); else ledger.append(li);
  }

  function onCommitment(e) {
    const prev = commitments.get(e.commitment.id);
    // Who last changed it as a person: kept across upserts that change nothing a person set.
    e.changedBy = personChanged(prev, e.commitment) ? e.by : (prev && prev.changedBy) || '';
    commitments.set(e.commitment.id, e);
    drawCommitment(e);
    const open = [...ledger.children].filter((x) => x.dataset.status === 'open').length;
    $('count').textContent = `${open} open · ${ledger.childElementCount}`;
    renderLanguages();
  }

  // The meeting bot's way into the call and out of it: one pill, and why it failed or left.
  const BOT_STATES = {
    requested: 'Bot requested', launching: 'Bot starting', joining: 'Bot joining', waiting: 'Bot waiting to be admitted',
    in_call: 'Bot in the call', leaving: 'Bot leaving', ended: 'Bot left', failed: 'Bot failed',
  };
  const BOT_REASONS = {
    invalid_link: 'no meeting at the link', not_started: 'the meeting had not started',
    admission_denied: 'refused entry', admission_timeout: 'nobody admitted it in time',
    sign_in_required: 'the meeting admits signed-in accounts only', captcha: 'the platform asked for a captcha',
    removed_by_host: 'removed by the host', page_not_recognised: 'the meeting page was not recognised',
    browser_failed: 'its browser stopped', no_capacity: 'no capacity for another bot',
    asked_to_leave: 'asked to leave', meeting_ended: 'the meeting ended', alone: 'everyone else had left',
    time_limit: 'it stayed as long as it may',
  };
  function onBot(b) {
    const pill = $('bot');
    const why = b.reason ? (BOT_REASONS[b.reason] || String(b.reason)) : '';
    pill.dataset.bot = String(b.state);
    pill.textContent = (BOT_STATES[b.state] || 'Bot: ' + String(b.state)) + (why ? ': ' + why : '');
    pill.title = [b.name, b.platform, b.detail].filter(Boolean).join(' · ') || 'The meeting bot';
    pill.hidden = false;
  }

  function onState(e) {
    const labels = { recording: 'Recording', paused: 'Paused', stopped: 'Stopped' };
    // Once stopped, nothing is live: the connection's pill would only say "Live" beside "Stopped".
    stopped = e.state === 'stopped';
    conn.hidden = stopped;
    if (stopped) capture.stopped();
    rec.dataset.state = e.state;
    rec.textContent = labels[e.state] || String(e.state);
    rec.title = e.reason ? `Recording state: ${e.reason}` : 'Recording state';
    // What the record is made of, when it is not live speech recognition (a replay), or why
    // capture ended badly, stays in view: a viewer must never mistake it for a live transcript.
    const about = $('about');
    if (e.reason && (e.reason.startsWith('replay of') || e.reason.startsWith('failed'))) {
      about.textContent = e.reason.charAt(0).toUpperCase() + e.reason.slice(1);
      about.hidden = false;
    }
    pause.hidden = pauseUnavailable || (e.state !== 'recording' && e.state !== 'paused');
    pause.dataset.action = e.state === 'paused' ? 'resume' : 'pause';
    pause.textContent = e.state === 'paused' ? 'Resume' : 'Pause';
  }

  // Control: changes go to the server as JSON; what the page shows changes only when their events
  // come back on the stream, so every viewer sees the same thing.
  const byInput = $('by'), notice = $('notice');
  const BY_KEY = 'ledgerline.by';
  let pauseUnavailable = false, noticeTimer = null;
  try { byInput.value = localStorage.getItem(BY_KEY) || ''; } catch (err) { /* storage may be off */ }
  byInput.addEventListener('change', () => {
    byInput.value = byInput.value.trim().slice(0, 80);
    try { localStorage.setItem(BY_KEY, byInput.value); } catch (err) { /* storage may be off */ }
  });

  function by() {
    return byInput.value.trim().slice(0, 80) || 'viewer';
  }

  function showNotice(text) {
    notice.textContent = text;
    notice.hidden = false;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(() => { notice.hidden = true; }, 8000);
  }

  class ControlError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }

  async function send(path, body) {
    let res;
    try {
      res = await fetch(`${base}/${path}?t=${encodeURIComponent(token)}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Ledgerline': 'overlay' },
        body: JSON.stringify(body),
        cache: 'no-store',
        credentials: 'same-origin',
        referrerPolicy: 'no-referrer',
      });
    } catch (err) {
      throw new ControlError(0, 'The server cannot be reached; try again.');
    }
    if (res.ok) return;
    const text = (await res.text().catch(() => '')).trim();
    const parts = text.split(/\n\s*\n/); // "CODE Status", then the explanation
    throw new ControlError(res.status, parts[parts.length - 1] || `The change failed (${res.status}).`);
  }

  async function act(path, body, onError) {
    try {
      await send(path, body);
      return true;
    } catch (err) {
      (onError || showNotice)(err.message);
      return false;
    }
  }

  pause.addEventListener('click', async () => {
    const action = pause.dataset.action === 'resume' ? 'resume' : 'pause';
    pause.disabled = true;
    try {
      await send(action, {});
    } catch (err) {
      if (err.status === 501) {
        pauseUnavailable = true;
        pause.hidden = true;
      }
      showNotice(err.message);
    } finally {
      pause.disabled = false;
    }
  });

  function formError(form, text) {
    const p = form.querySelector('.form-error');
    p.textContent = text || '';
    p.hidden = !text;
  }

  function openDialog(dialog) {
    formError(dialog.querySelector('form'), '');
    if (typeof dialog.showModal === 'function') dialog.showModal(); else dialog.setAttribute('open', '');
    const first = dialog.querySelector('input');
    if (first) first.focus();
  }

  function closeDialog(dialog) {
    if (typeof dialog.close === 'function') dialog.close(); else dialog.removeAttribute('open');
  }

  for (const dialog of document.querySelectorAll('dialog')) {
    dialog.addEventListener('click', (ev) => {
      if (ev.target instanceof Element && ev.target.closest('[data-close]')) closeDialog(dialog);
    });
  }

  const speakerDialog = $('speaker-dialog'), speakerForm = $('speaker-form');
  function editSpeaker(id) {
    const s = speakers.get(id);
    speakerForm.dataset.speaker = id;
    speakerForm.elements.name.value = (s && s.name) || id;
    speakerForm.elements.org.value = (s && s.org) || '';
    const role = s && s.role;
    speakerForm.elements.role.value = ['vendor', 'partner', 'buyer', 'other'].includes(role) ? role : '';
    openDialog(speakerDialog);
  }

  speakerForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const name = speakerForm.elements.name.value.trim();
    if (!name) { formError(speakerForm, 'Give the speaker a name.'); return; }
    const id = speakerForm.dataset.speaker, s = speakers.get(id) || {};
    const body = { name, by: by() };
    // Only what the viewer changed: a new side without an organisation takes the deal's on that side.
    const org = speakerForm.elements.org.value.trim(), role = speakerForm.elements.role.value;
    if (org !== (s.org || '')) body.org = org;
    if (role && role !== (s.role || '')) body.role = role;
    if (await act(`speakers/${encodeURIComponent(id)}`, body, (m) => formError(speakerForm, m))) closeDialog(speakerDialog);
  });

  const commitmentDialog = $('commitment-dialog'), commitmentForm = $('commitment-form');
  function editCommitment(id) {
    const c = commitments.get(id)?.commitment;
    if (!c) return;
    commitmentForm.dataset.commitment = id;
    commitmentForm.querySelector('.what-preview').textContent = c.quote ? `“${c.quote}”` : '';
    commitmentForm.elements.what.value = c.what || '';
    commitmentForm.elements.owner.value = c.owner || '';
    commitmentForm.elements.owner_org.value = c.owner_org || '';
    commitmentForm.elements.due.value = c.due || '';
    openDialog(commitmentDialog);
  }

  commitmentForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const id = commitmentForm.dataset.commitment;
    const c = commitments.get(id)?.commitment || {};
    const f = commitmentForm.elements;
    const what = f.what.value.trim(), owner = f.owner.value.trim(), ownerOrg = f.owner_org.value.trim(), due = f.due.value;
    if (!what) { formError(commitmentForm, 'Say what was promised.'); return; }
    if (!owner) { formError(commitmentForm, 'Say who owns this commitment.'); return; }
    const body = { by: by() };
    if (what !== (c.what || '')) body.what = what;
    if (owner !== (c.owner || '')) body.owner = owner;
    if (ownerOrg !== (c.owner_org || '')) body.owner_org = ownerOrg;
    if (due !== (c.due || '')) body.due = due || null;
    if (Object.keys(body).length === 1) { closeDialog(commitmentDialog); return; }
    if (await act(`commitments/${encodeURIComponent(id)}`, body, (m) => formError(commitmentForm, m))) closeDialog(commitmentDialog);
  });

  // A commitment the ledger missed is added where it was said: the viewer picks the caption line.
  const addDialog = $('add-dialog'), addForm = $('add-form');
  function addCommitment(segmentID) {
    const seg = finals.get(segmentID);
    if (!seg) return;
    addForm.reset();
    addForm.dataset.segment = segmentID;
    addForm.querySelector('.what-preview').textContent = `“${seg.text || ''}” — ${speakerName(seg)}, ${clock(seg.start_ms)}`;
    addForm.elements.owner.value = speakerName(seg);
    addForm.elements.owner_org.value = speakerOrg(seg);
    openDialog(addDialog);
  }

  addForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = addForm.elements;
    const what = f.what.value.trim(), owner = f.owner.value.trim(), ownerOrg = f.owner_org.value.trim(), due = f.due.value;
    if (!what) { formError(addForm, 'Say what was promised.'); return; }
    if (!owner) { formError(addForm, 'Say who owns this commitment.'); return; }
    const body = { what, owner, segment: addForm.dataset.segment, by: by() };
    if (ownerOrg) body.owner_org = ownerOrg;
    if (due) body.due = due;
    if (await act('commitments', body, (m) => formError(addForm, m))) closeDialog(addDialog);
  });

  // Confirming a possible commitment is a person's edit that keeps it open; dismissing drops it.
  const STATUS_OF = { done: 'done', dismiss: 'dropped', reopen: 'open', confirm: 'open' };
  ledger.addEventListener('click', async (ev) => {
    const b = ev.target instanceof Element ? ev.target.closest('button[data-action]') : null;
    const li = b && b.closest('[data-commitment]');
    if (!li) return;
    const id = li.dataset.commitment, action = b.dataset.action;
    if (action === 'edit') { editCommitment(id); return; }
    if (!STATUS_OF[action]) return;
    b.disabled = true;
    const ok = await act(`commitments/${encodeURIComponent(id)}`, { status: STATUS_OF[action], by: by() });
    if (!ok) b.disabled = false;
  });

  document.addEventListener('click', (ev) => {
    const target = ev.target instanceof Element ? ev.target : null;
    const who = target && target.closest('button.who[data-speaker]');
    if (who && who.dataset.speaker) editSpeaker(who.dataset.speaker);
    const add = target && target.closest('button[data-add]');
    if (add) addCommitment(add.dataset.add);
  });

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
      case 'channel.loss': if (e.loss) capture.loss(e.loss); break;
      case 'bot.state': if (e.bot) onBot(e.bot); break;
      case 'capture.level': if (e.capture && !stopped) capture.level(e.capture); break;
      case 'capture.health': if (e.capture) capture.health(e.capture); break;
    }
  }

  function setConn(state, text) {
    conn.dataset.conn = state;
    conn.textContent = text;
    conn.hidden = stopped;
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
    // Someone signed in to a team server needs no link token: the meeting's description answers
    // only those it lets in.
    describe().then((ok) => {
      if (ok) connect(); else setConn('refused', 'This link needs its access token');
    });
    return;
  }
  describe();
  connect();
})();
