// The console's three views: Live (chat, shop, Q&A, assistant, moderation — everything a
// shift needs at a glance), Show (hosts, rooms with a money wheel or a concert) and Analytics.
// WAI-ARIA tabs: arrow keys move between them, only the selected one is in the tab order.

import { $ } from './dom.js';
import { state, can } from './state.js';
import { storage as store } from '../shared/storage.js';

const TAB_KEY = 'vetrina.host.tab';
const VIEWS = { live: 'grid', show: 'show-view', analytics: 'analytics-view' };
let onChange = () => {};

export function initTabs(changed) {
  onChange = changed;
  const tabs = [...document.querySelectorAll('#tabs [role=tab]')];
  for (const t of tabs) {
    t.addEventListener('click', () => selectTab(t.dataset.tab, { focus: false }));
    t.addEventListener('keydown', (e) => {
      const shown = tabs.filter((x) => !x.hidden);
      const i = shown.indexOf(t);
      let next = null;
      if (e.key === 'ArrowRight') next = shown[(i + 1) % shown.length];
      else if (e.key === 'ArrowLeft') next = shown[(i - 1 + shown.length) % shown.length];
      else if (e.key === 'Home') next = shown[0];
      else if (e.key === 'End') next = shown[shown.length - 1];
      if (next) { e.preventDefault(); selectTab(next.dataset.tab, { focus: true }); }
    });
  }
  const saved = store()?.getItem(TAB_KEY);
  if (saved && VIEWS[saved]) state.wantTab = saved;
}

// Show the wanted tab if it is available now (a Show tab only exists for some rooms and roles).
export function renderTabs() {
  $('tab-live-note').textContent = can('shop') ? 'chat · shop · Q&A · moderation' : 'chat · Q&A · moderation';
  const available = (name) => {
    const el = $(`tab-${name}`);
    return !!el && !el.hidden && (name === 'live' || !!state.room);
  };
  const want = available(state.wantTab || state.tab) ? (state.wantTab || state.tab) : 'live';
  apply(want);
}

export function selectTab(name, { focus = false } = {}) {
  if (!VIEWS[name]) return;
  state.wantTab = name;
  store()?.setItem(TAB_KEY, name);
  renderTabs();
  if (focus) $(`tab-${state.tab}`).focus();
}

function apply(name) {
  const changed = state.tab !== name;
  state.tab = name;
  for (const [tab, view] of Object.entries(VIEWS)) {
    const on = tab === name;
    const btn = $(`tab-${tab}`);
    btn.setAttribute('aria-selected', String(on));
    btn.tabIndex = on ? 0 : -1;
    $(view).hidden = !on;
  }
  document.body.dataset.tab = name;
  if (changed) onChange(name);
}

// ---- the feature: which view shows (a new ShowState may add or remove the Show tab) -----------

export const tabsFeature = {
  name: 'tabs',
  feed: { show: () => renderTabs() },
  render: () => renderTabs(),
  facade: { get tab() { return state.tab; } },
};
