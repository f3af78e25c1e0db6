// Ledgerline overlay: how the commitments ledger shows a commitment, named as the recap names it —
// an organisation's owner with the person who speaks for it, the beneficiary with their
// organisation, never "you" — and which languages it cannot hear commitments in. Pure functions
// of what they are given; all text goes in through textContent.

export function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

// A listener's pronoun, where an old record holds one for a person, names nobody: it is not shown.
const YOU = new Set(['you', 'yourself', 'you all', 'usted', 'ustedes', 'vosotros', 'sie', 'ihnen', 'vous', 'você', 'vocês']);
const named = (s) => (s && !YOU.has(String(s).trim().toLowerCase()) ? String(s) : '');
const same = (a, b) => a.toLowerCase() === b.toLowerCase();

// ownerLabel names who owns a commitment: "Northwind — Ravi Menon" for an organisation and the
// person who speaks for it, "Dana Reyes (Contoso)" for a person.
function ownerLabel(c) {
  const owner = named(c.owner), contact = named(c.contact), org = c.owner_org || '';
  if (!owner) return org;
  if (contact && !same(contact, owner)) return `${owner} — ${contact}`;
  if (org && !same(org, owner)) return `${owner} (${org})`;
  return owner;
}

// forLabel names for whom: "for Laura Chen (Fabrikam)", "for Fabrikam", or nothing (nobody
// named, or the action names them already).
function forLabel(c) {
  const who = named(c.beneficiary), org = c.beneficiary_org || '';
  if (who && String(c.what || '').toLowerCase().includes(who.toLowerCase())) return '';
  if (!who) return org ? `for ${org}` : '';
  return org && !same(org, who) ? `for ${who} (${org})` : `for ${who}`;
}

// possible: unsure, and no person has said otherwise (ledger.CommitmentInfo.Possible).
const POSSIBLE_BELOW = 0.6;
function possible(c) {
  return (c.confidence || 0) < POSSIBLE_BELOW && !(c.edited && c.edited.length) && (c.status || 'open') === 'open';
}

// commitmentItem draws one commitment of the ledger, with the actions a viewer may take on it;
// by names who last changed what a person sets of it, when a person did.
export function commitmentItem(c, by) {
  const maybe = possible(c);
  const li = el('li', maybe ? 'commitment possible' : 'commitment');
  li.dataset.commitment = c.id;
  li.dataset.status = c.status || 'open';
  if (maybe) li.dataset.possible = '';
  li.append(el('p', 'what', c.what));
  const meta = el('div', 'meta');
  meta.append(el('span', 'status-badge', maybe ? 'possible' : (c.status || 'open')));
  const owner = ownerLabel(c);
  if (owner) meta.append(el('span', 'owner', owner));
  const forWhom = forLabel(c);
  if (forWhom) meta.append(el('span', 'beneficiary', forWhom));
  const due = c.due || c.due_phrase;
  if (due) {
    const d = el('span', 'due', `due ${due}`);
    if (c.due && c.due_phrase) d.title = c.due_phrase;
    meta.append(d);
  }
  if (by) meta.append(el('span', 'by', `changed by ${by}`));
  li.append(meta);
  if (c.quote) li.append(el('p', 'quote', `“${c.quote}”`));
  li.append(actions(c));
  return li;
}

function actions(c) {
  const box = el('div', 'actions');
  const button = (action, label, title) => {
    const b = el('button', 'action', label);
    b.type = 'button';
    b.dataset.action = action;
    b.title = title;
    return b;
  };
  if (possible(c)) {
    box.append(button('confirm', 'Confirm', 'This is a commitment'),
      button('dismiss', 'Dismiss', 'Not a commitment'));
  } else if ((c.status || 'open') === 'open') {
    box.append(button('done', 'Done', 'Mark this commitment done'),
      button('dismiss', 'Dismiss', 'Not a commitment, or no longer one'));
  } else {
    box.append(button('reopen', 'Reopen', 'Mark this commitment open again'));
  }
  box.append(button('edit', 'Edit', 'Fix what was promised, reassign the owner or change the due date'));
  return box;
}

// unsupportedLanguages returns the codes of the languages spoken in segments that commitments are
// not detected in (supported: a Set of codes), most spoken first.
export function unsupportedLanguages(segments, supported) {
  const talk = new Map();
  for (const seg of segments) {
    const lang = (seg.language || '').toLowerCase();
    if (!lang || supported.has(lang)) continue;
    talk.set(lang, (talk.get(lang) || 0) + Math.max(1, (seg.end_ms || 0) - (seg.start_ms || 0)));
  }
  return [...talk.entries()].sort((a, b) => b[1] - a[1]).map(([lang]) => lang);
}

// languagesNote says so in words: "Commitments are not detected in Swedish."; "" for none.
export function languagesNote(codes) {
  if (codes.length === 0) return '';
  const names = codes.map(languageName);
  const list = names.length === 1 ? names[0] : `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`;
  return `Commitments are not detected in ${list}.`;
}

// languageName names a language code in English ("sv" → "Swedish").
function languageName(code) {
  try { return new Intl.DisplayNames(['en'], { type: 'language' }).of(code) || code; } catch (err) { return code; }
}
