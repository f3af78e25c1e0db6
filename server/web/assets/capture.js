// Ledgerline overlay: how capture is going. A live level meter per captured channel and the warning
// a channel's capture.health event carries ("No call audio for 60 s — …") until it is cleared; and,
// per channel, the audio that never reached the transcript, so that a gap in the captions reads as
// a hole in the record, not as silence. All text goes in through textContent.
import { clock, duration } from './clock.js';

const FLOOR_DB = -60; // the meter's left end: quieter reads as empty

function rowOf(list, channel) {
  return [...list.children].find((x) => x.dataset.channel === channel);
}

// The names channels are shown by: a person's, once a channel of their own is named.
const channelNames = new Map();

// nameChannel shows a channel by the name of the one who speaks on it ("Priya Nair" for "priya-nair").
export function nameChannel(channel, name) {
  if (!name) return;
  channelNames.set(channel, name);
  const li = rowOf(document.getElementById('meters'), channel);
  if (li) {
    li.querySelector('.meter-name').textContent = name;
    li.querySelector('meter').setAttribute('aria-label', `${name} level`);
  }
}

function meterRow(channel) {
  const ul = document.getElementById('meters');
  let li = rowOf(ul, channel);
  if (li) return li;
  const shown = channelNames.get(channel) || channel;
  li = document.createElement('li');
  li.dataset.channel = channel;
  const name = document.createElement('span');
  name.className = 'meter-name';
  name.textContent = shown;
  const bar = document.createElement('meter');
  bar.min = FLOOR_DB;
  bar.max = 0;
  bar.low = -30;
  bar.high = -3;
  bar.optimum = -20;
  bar.value = FLOOR_DB;
  bar.setAttribute('aria-label', `${shown} level`);
  const warn = document.createElement('span');
  warn.className = 'meter-warning';
  warn.setAttribute('role', 'alert');
  li.append(name, bar, warn);
  ul.append(li);
  ul.hidden = false;
  return li;
}

// level shows a channel's loudness now (dBFS).
export function level(c) {
  const bar = meterRow(c.channel).querySelector('meter');
  bar.value = Math.max(FLOOR_DB, Math.min(0, c.level_db));
  bar.title = `${c.level_db.toFixed(0)} dBFS`;
}

// health shows a channel's problem, or clears it.
export function health(c) {
  const li = meterRow(c.channel);
  li.dataset.problem = c.problem || '';
  li.querySelector('.meter-warning').textContent = c.problem ? c.message : '';
}

// stopped hides the meters: nothing is being captured any more.
export function stopped() { document.getElementById('meters').hidden = true; }

// loss shows how much of a channel's audio is missing from the record, for as long as the page is open.
export function loss(l) {
  const list = document.getElementById('losses');
  let li = rowOf(list, l.channel);
  if (!li) {
    li = document.createElement('li');
    li.dataset.channel = l.channel;
    list.append(li);
  }
  const secs = (ms) => ms < 10000 ? `${(ms / 1000).toFixed(1)} s` : duration(ms);
  const parts = [];
  if (l.capture_ms > 0) parts.push(`${secs(l.capture_ms)} of audio lost by the capture device`);
  if (l.undecoded_ms > 0) parts.push(`${secs(l.undecoded_ms)} of speech not transcribed (transcription fell behind)`);
  li.textContent = `${l.channel}: ${parts.join('; ')}, last at ${clock(l.at_ms)}.`;
  list.hidden = false;
}
