// Capture health on the overlay: a live level meter per captured channel, and the warning a
// channel's capture.health event carries ("No call audio for 60 s — …") until it is cleared.
// overlay.js hands it the capture.level and capture.health events.
'use strict';
const LedgerlineCapture = (() => {
  const FLOOR_DB = -60; // the meter's left end: quieter reads as empty

  function list() { return document.getElementById('meters'); }

  function row(channel) {
    const ul = list();
    let li = [...ul.children].find((x) => x.dataset.channel === channel);
    if (li) return li;
    li = document.createElement('li');
    li.dataset.channel = channel;
    const name = document.createElement('span');
    name.className = 'meter-name';
    name.textContent = channel;
    const bar = document.createElement('meter');
    bar.min = FLOOR_DB;
    bar.max = 0;
    bar.low = -30;
    bar.high = -3;
    bar.optimum = -20;
    bar.value = FLOOR_DB;
    bar.setAttribute('aria-label', `${channel} level`);
    const warn = document.createElement('span');
    warn.className = 'meter-warning';
    warn.setAttribute('role', 'alert');
    li.append(name, bar, warn);
    ul.append(li);
    ul.hidden = false;
    return li;
  }

  // level shows a channel's loudness now (dBFS).
  function level(c) {
    const li = row(c.channel);
    const bar = li.querySelector('meter');
    bar.value = Math.max(FLOOR_DB, Math.min(0, c.level_db));
    bar.title = `${c.level_db.toFixed(0)} dBFS`;
  }

  // health shows a channel's problem, or clears it.
  function health(c) {
    const li = row(c.channel);
    li.dataset.problem = c.problem || '';
    li.querySelector('.meter-warning').textContent = c.problem ? c.message : '';
  }

  // stopped hides the meters: nothing is being captured any more.
  function stopped() { list().hidden = true; }

  return { level, health, stopped };
})();
