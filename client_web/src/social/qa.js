// Live Q&A panel: ask the host (`qa.ask`), the room's top questions (`qa` events and the join
// ack's `qa.top`) with one upvote per visitor (`qa.vote`), answers shown under their question.
// docs/protocol.md "Live Q&A".
import { $, el, str, errorText, Notice, escapeBlurs } from '../hud/dom.js';

const store = (() => { try { return window.sessionStorage; } catch { return null; } })();

export class QA {
  // link: {request(evt, data), selfId}; onActivity(kind): something new while the panel is closed
  constructor(link, { onActivity = () => {} } = {}) {
    this.link = link;
    this.onActivity = onActivity;
    this.top = []; // [{id, text, votes, from: {id, name}, answer}]
    this.voted = new Set();
    this.mine = new Set();
    this.pending = new Set(); // votes in flight
    this.roomId = null;
    this.list = $('qa-list');
    this.form = $('qa-form');
    this.input = $('qa-input');
    this.askBtn = $('qa-ask');
    this.count = $('qa-count');
    this.notice = new Notice($('qa-notice'));
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      const text = this.input.value.trim();
      if (text) this.ask(text);
    });
    escapeBlurs(this.input);
    this.render();
  }

  key() { return `vetrina.qa.${this.roomId}`; }

  onJoined(ack) {
    const roomId = ack.room?.id ?? null;
    if (roomId !== this.roomId) {
      this.roomId = roomId;
      // Votes count once per visitor on the server; remember ours so the buttons stay off.
      let saved = {};
      try { saved = JSON.parse(store?.getItem(this.key()) || '{}') || {}; } catch { /* fresh */ }
      this.voted = new Set(Array.isArray(saved.voted) ? saved.voted.map(String) : []);
      this.mine = new Set(Array.isArray(saved.mine) ? saved.mine.map(String) : []);
      this.top = [];
    }
    if (ack.qa && typeof ack.qa === 'object') this.setTop(ack.qa.top, { quiet: true });
    else this.render();
  }

  save() {
    store?.setItem(this.key(), JSON.stringify({ voted: [...this.voted].slice(-200), mine: [...this.mine].slice(-50) }));
  }

  // `qa {"top": [...]}`
  onQa(msg) { this.setTop(msg.top); }

  setTop(top, { quiet = false } = {}) {
    if (!Array.isArray(top)) return;
    const before = new Map(this.top.map((q) => [q.id, q]));
    this.top = top.filter((q) => q && typeof q === 'object' && q.id !== undefined && q.id !== null).slice(0, 50).map((q) => ({
      id: String(q.id),
      text: str(q.text, 300),
      votes: Number.isFinite(q.votes) ? q.votes : 0,
      from: { id: q.from?.id ?? null, name: str(q.from?.name, 64) },
      answer: str(q.answer, 1000) || null,
    }));
    this.render();
    if (quiet) return;
    const answered = this.top.find((q) => q.answer && !before.get(q.id)?.answer);
    if (answered) this.onActivity('answer', answered);
    else if (this.top.some((q) => !before.has(q.id))) this.onActivity('question');
  }

  render() {
    this.list.textContent = '';
    this.count.textContent = this.top.length ? String(this.top.length) : '';
    this.count.hidden = this.top.length === 0;
    if (!this.top.length) {
      this.list.append(el('li', 'qa-empty', 'No questions yet. Ask the host anything about the show or the products.'));
      return;
    }
    for (const q of this.top) this.list.append(this.item(q));
  }

  item(q) {
    const li = el('li', 'qa-item');
    li.dataset.id = q.id;
    if (q.answer) li.classList.add('answered');
    const mine = this.mine.has(q.id) || (q.from.id !== null && q.from.id === this.link.selfId);
    if (mine) li.classList.add('mine');
    const voted = this.voted.has(q.id);
    const vote = el('button', 'qa-vote');
    vote.type = 'button';
    vote.disabled = voted || this.pending.has(q.id);
    vote.classList.toggle('voted', voted);
    vote.setAttribute('aria-label', voted ? `You voted · ${q.votes} votes` : `Vote for this question · ${q.votes} votes`);
    vote.append(el('span', 'qa-arrow', '▲'), el('span', 'qa-votes', q.votes));
    vote.addEventListener('click', () => this.vote(q.id, vote));
    const body = el('div', 'qa-body');
    body.append(el('div', 'qa-text', q.text));
    const by = mine ? 'Your question' : q.from.name ? `Asked by ${q.from.name}` : 'Asked by a visitor';
    body.append(el('div', 'qa-meta', by));
    if (q.answer) {
      const a = el('div', 'qa-answer');
      a.append(el('span', 'qa-answer-label', 'Answered'), el('span', 'qa-answer-text', q.answer));
      body.append(a);
    }
    li.append(vote, body);
    return li;
  }

  async ask(text) {
    this.askBtn.disabled = true;
    let ack;
    try {
      ack = await this.link.request('qa.ask', { text: text.slice(0, 300) });
    } finally {
      this.askBtn.disabled = false;
    }
    if (ack.ok) {
      this.input.value = '';
      if (ack.id !== undefined) { this.mine.add(String(ack.id)); this.save(); }
      this.notice.show('Question sent — others can vote it up.', { kind: 'ok', ms: 4000 });
    } else {
      this.notice.show(errorText(ack.error, 'The question could not be sent.', this.link.offset), { kind: 'error', ms: 6000 });
    }
    return ack;
  }

  async vote(id, btn = null) {
    id = String(id);
    if (this.voted.has(id)) return { ok: false, error: { code: 'conflict', message: 'Already voted.' } };
    if (this.pending.has(id)) return { ok: false, error: { code: 'conflict', message: 'Vote in progress.' } };
    if (btn) btn.disabled = true;
    this.pending.add(id);
    let ack;
    try {
      ack = await this.link.request('qa.vote', { id });
    } finally {
      this.pending.delete(id);
    }
    if (ack.ok) {
      this.voted.add(id);
      this.save();
      const q = this.top.find((x) => x.id === id);
      if (q && typeof ack.votes === 'number') q.votes = ack.votes;
      this.render();
    } else {
      this.render();
      this.notice.show(errorText(ack.error, 'The vote did not count.', this.link.offset), { kind: 'error', ms: 5000 });
    }
    return ack;
  }

  view() {
    return this.top.map((q) => ({ ...q, from: { ...q.from }, voted: this.voted.has(q.id) }));
  }
}
