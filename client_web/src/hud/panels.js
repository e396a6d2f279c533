// Open/closed state of the social panels (chat, Q&A, assistant). Q&A and the assistant share
// the right-hand side, so one closes the other; on small screens every panel is a sheet over
// the bottom of the view, so only one is open at a time. `body.sheet-open` hides the joystick.

const small = window.matchMedia('(max-width: 760px)');

export class Panels {
  constructor() {
    this.panels = new Map(); // name -> {root, toggle, side, open, onChange}
    this.last = null; // the panel opened last: the one kept when the screen turns small
    small.addEventListener('change', () => {
      if (!small.matches) return;
      for (const [name, p] of this.panels) if (p.open && name !== this.last) this.apply(name, p, false);
    });
  }

  // root: the panel element; toggle: its button (aria-expanded mirrors the state);
  // side: 'left' | 'right' (panels on the same side exclude each other).
  add(name, { root, toggle, side, open = false, onChange = null }) {
    const p = { root, toggle, side, open: false, onChange };
    this.panels.set(name, p);
    toggle.addEventListener('click', () => this.set(name, !p.open));
    for (const btn of root.querySelectorAll('[data-close]')) btn.addEventListener('click', () => this.set(name, false));
    this.set(name, open && !(small.matches && this.anyOpen()));
    return p;
  }

  isOpen(name) { return !!this.panels.get(name)?.open; }

  anyOpen() { return [...this.panels.values()].some((p) => p.open); }

  set(name, open) {
    const p = this.panels.get(name);
    if (!p) return;
    if (open) {
      for (const [other, q] of this.panels) {
        if (other !== name && q.open && (q.side === p.side || small.matches)) this.apply(other, q, false);
      }
    }
    if (open) this.last = name;
    this.apply(name, p, open);
  }

  apply(name, p, open) {
    p.open = open;
    p.root.dataset.open = String(open);
    p.toggle.setAttribute('aria-expanded', String(open));
    p.toggle.classList.toggle('active', open);
    document.body.classList.toggle(`${name}-open`, open);
    document.body.classList.toggle('sheet-open', this.anyOpen());
    // A closing panel must not keep the keyboard: typed keys would not walk.
    if (!open && p.root.contains(document.activeElement)) document.activeElement.blur();
    p.onChange?.(open);
  }
}
