// Staff signed in on this node (hosts only): who, with which token id, until when — and
// revoking a token (`staff.revoke`): its sessions end at once on every node and it never
// signs in again. The same as `vetrina token --revoke <id>` on the command line.

import { $, h, clear, fmtClock, str, armed } from './dom.js';
import { state, can } from './state.js';

let ctx = null;
let people = [];

export function initStaff(c) {
  ctx = c;
  $('staff-refresh').addEventListener('click', () => refreshStaff());
  $('revoke-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const jti = $('revoke-jti').value.trim();
    if (jti) revoke(jti, `token ${jti}`).then((ok) => { if (ok) $('revoke-jti').value = ''; });
  });
}

export async function refreshStaff() {
  if (!can('staff')) { people = []; renderStaff(); return; }
  const ack = await ctx.act('staff.list', {}, { label: 'Listing staff' });
  people = ack.ok && Array.isArray(ack.staff) ? ack.staff : [];
  renderStaff();
}

async function revoke(jti, who) {
  const ack = await ctx.act('staff.revoke', { jti }, { label: 'Revoking a token', ok: `Revoked: ${who} is signed out everywhere` });
  if (ack.ok && ack.cluster === 'pending') ctx.toast('Redis is unreachable: the other nodes learn it when it is back', { kind: 'error' });
  if (ack.ok) refreshStaff();
  return ack.ok;
}

export function renderStaff() {
  const panel = $('staff-panel');
  panel.hidden = !can('staff');
  if (panel.hidden) return;
  $('staff-count').textContent = String(people.length);
  $('my-jti').textContent = str(state.jti, '—');
  const list = clear($('staff-list'));
  for (const p of people) {
    const rooms = p.rooms === '*' ? 'every room' : (Array.isArray(p.rooms) ? p.rooms.join(', ') : '');
    const b = h('button', { type: 'button', class: 'mb danger', title: 'End this token\'s sessions on every node, for good' }, 'Revoke');
    armed(b, p.you ? 'Sign yourself out?' : 'Sure?', () => revoke(str(p.jti), str(p.name, 'staff')));
    list.append(h('li', { class: 'person staff', dataset: { jti: str(p.jti) } },
      h('span', { class: 'who', title: `${rooms} · token ${str(p.jti, '—')}` }, str(p.name, 'Staff'), p.you ? ' (you)' : ''),
      h('span', { class: 'role-tag' }, str(p.role)),
      h('span', { class: 'until' }, `until ${fmtClock(Number(p.exp) * 1000)}`),
      p.jti ? b : null));
  }
}

// ---- the feature: staff signed in (hosts), refreshed at each sign-in --------------------------

export const staffFeature = {
  name: 'staff',
  init: initStaff,
  signedIn: () => refreshStaff(),
  render: () => renderStaff(),
};
