// Ledgerline overlay: meeting times as people read them.

// clock shows a meeting time: "4:05", "1:02:03".
export function clock(ms) {
  const s = Math.max(0, Math.floor((ms || 0) / 1000));
  const hh = Math.floor(s / 3600), mm = Math.floor(s / 60) % 60, ss = s % 60;
  const two = (n) => String(n).padStart(2, '0');
  return hh ? `${hh}:${two(mm)}:${two(ss)}` : `${mm}:${two(ss)}`;
}

// duration shows a length: "42s", "3:10". Whole seconds are counted down, as the recap counts
// them, so that the overlay and the recap show one talk time alike.
export function duration(ms) {
  const s = Math.floor(Math.max(0, ms || 0) / 1000);
  return s < 60 ? `${s}s` : clock(s * 1000);
}
