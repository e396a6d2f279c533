// DOM helpers shared by the visitor client and the host console. Everything a user or the
// server wrote is set with textContent (never innerHTML), so markup shows as text and never runs.

export const $ = (id) => document.getElementById(id);

// True when a list is scrolled (nearly) to its end: only then do new items pull it down.
export function nearBottom(list, slack = 40) {
  return list.scrollHeight - list.scrollTop - list.clientHeight <= slack;
}

// Small self-dismissing messages in #toasts, newest on top; an identical one is replaced, not
// stacked. role: an ARIA role for the toast; life: how long it stays (ms).
export function toast(text, { kind = 'info', life = 3500, max = 4, role = '' } = {}) {
  const box = $('toasts');
  if (!box) return;
  for (const t of box.children) if (t.textContent === text) t.remove();
  const node = document.createElement('div');
  node.className = `toast ${kind}`;
  if (role) node.setAttribute('role', role);
  node.textContent = text;
  box.prepend(node);
  while (box.children.length > max) box.lastChild.remove();
  setTimeout(() => node.classList.add('out'), life);
  setTimeout(() => node.remove(), life + 400);
}
