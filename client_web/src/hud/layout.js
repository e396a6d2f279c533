// Page layout that follows what is on screen: the live-shopping cards at the top push the
// panels below them, and on phones they stand under the top row. Plus the two keyboard
// habits of the 3D view: a click into it leaves any text field, Enter opens the chat.
import { $ } from '../shared/dom.js';

const TOP_ROW = ['#hud .brand', '#hud .hud-right'];

export function watchLayout() {
  const promoEl = $('promo');
  const root = document.documentElement.style;
  function notePromo() {
    const visible = [...promoEl.children].some((c) => !c.hidden);
    const bottom = visible ? Math.ceil(promoEl.getBoundingClientRect().bottom) : 0;
    root.setProperty('--promo-bottom', `${bottom}px`);
    document.body.classList.toggle('has-promo', visible);
  }
  function noteTopRow() {
    const bottom = Math.max(...TOP_ROW.map((sel) => document.querySelector(sel)?.getBoundingClientRect().bottom || 0));
    root.setProperty('--top-row', `${Math.ceil(bottom) + 8}px`);
    notePromo();
  }
  const topRow = new ResizeObserver(noteTopRow);
  for (const sel of TOP_ROW) topRow.observe(document.querySelector(sel));
  new ResizeObserver(notePromo).observe(promoEl);
  new MutationObserver(notePromo).observe(promoEl, { subtree: true, childList: true, attributes: true, attributeFilter: ['hidden'] });
  addEventListener('resize', noteTopRow);
}

// stageEl: the 3D view; joined(): in a room now; panels: hud/panels.js
export function viewKeys(stageEl, { joined, panels }) {
  // Clicking into the 3D view leaves any text field, so the keyboard walks again.
  stageEl.addEventListener('pointerdown', () => {
    const a = document.activeElement;
    if (a instanceof HTMLElement && a !== document.body && !a.closest('#overlay')) a.blur();
  });
  // Enter in the 3D view opens the chat and puts the cursor in it (as in most games).
  addEventListener('keydown', (e) => {
    if (e.key !== 'Enter' || e.repeat || e.isComposing || !joined() || !$('overlay').hidden) return;
    const t = e.target;
    if (t instanceof HTMLElement && t !== document.body && t.closest('input, textarea, select, button, a, [contenteditable]')) return;
    e.preventDefault();
    panels.set('chat', true);
    $('chat-input').focus();
  });
}
