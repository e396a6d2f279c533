// Assistant panel: a small help chat. The visitor writes (`assist {"text"}`); the ack carries
// the bot's `answer` (with `confidence`) or a `handoff` to staff, whose replies arrive later as
// `assist {"ticket","from":"staff","text","name"}` events. The join ack's `assist` list restores
// the conversation after a reconnect. docs/protocol.md "Assistant".
import { $, el, str, clockText, errorText, Notice, escapeBlurs } from '../hud/dom.js';

const MAX_SHOWN = 100;

export class Assist {
  // link: {request(evt, data), offset, now()}; onReply(msg): a staff/bot reply arrived by event
  constructor(link, { onReply = () => {} } = {}) {
    this.link = link;
    this.onReply = onReply;
    this.messages = []; // {ticket, from: 'visitor'|'bot'|'staff', text, name, t, confidence}
    this.waiting = false; // handed off: a staff member will answer
    this.list = $('assist-list');
    this.form = $('assist-form');
    this.input = $('assist-input');
    this.sendBtn = $('assist-send');
    this.status = new Notice($('assist-status'));
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      const text = this.input.value.trim();
      if (text) this.send(text);
    });
    escapeBlurs(this.input);
    this.render();
  }

  // The join ack's `assist` (AssistMsg list) is the server's copy of our conversation.
  onJoined(ack) {
    if (!Array.isArray(ack.assist)) return;
    this.messages = ack.assist.slice(-MAX_SHOWN).map((m) => this.normalise(m)).filter(Boolean);
    this.waiting = false;
    this.status.clear();
    this.render();
  }

  normalise(m) {
    if (!m || typeof m !== 'object') return null;
    const from = ['visitor', 'bot', 'staff'].includes(m.from) ? m.from : 'bot';
    const text = str(m.text, 2000);
    if (!text) return null;
    return {
      ticket: m.ticket === undefined || m.ticket === null ? null : String(m.ticket),
      from,
      text,
      name: str(m.name, 64),
      t: typeof m.t === 'number' ? m.t : null,
      confidence: typeof m.confidence === 'number' ? m.confidence : null,
      handoff: m.handoff === true,
    };
  }

  push(m) {
    if (!m) return;
    this.messages.push(m);
    if (this.messages.length > MAX_SHOWN) this.messages.shift();
    this.render();
  }

  // `assist {"ticket","from","text","t","name"?}` pushed by the server (staff replies).
  onEvent(msg) {
    const m = this.normalise(msg);
    if (!m || m.from === 'visitor') return;
    // The bot's answer also came in our ack: do not show it twice.
    const dup = this.messages.slice(-4).some((x) => x.from === m.from && x.text === m.text && (x.ticket === m.ticket || x.ticket === null));
    if (dup) return;
    if (m.from === 'staff') { this.waiting = false; this.status.clear(); }
    this.push(m);
    this.onReply(m);
  }

  async send(text) {
    text = text.slice(0, 500);
    const mine = { ticket: null, from: 'visitor', text, name: '', t: this.link.now(), confidence: null, handoff: false };
    this.push(mine);
    this.input.value = '';
    this.sendBtn.disabled = true;
    this.status.show('…', { kind: 'typing' });
    let ack;
    try {
      ack = await this.link.request('assist', { text });
    } finally {
      this.sendBtn.disabled = false;
    }
    if (!ack.ok) {
      mine.failed = true;
      this.render();
      this.status.show(errorText(ack.error, 'The assistant is not available right now.', this.link.offset), { kind: 'error', ms: 6000 });
      return ack;
    }
    const ticket = ack.ticket === undefined || ack.ticket === null ? null : String(ack.ticket);
    mine.ticket = ticket;
    const answer = str(ack.answer, 2000);
    if (answer) {
      this.push({ ticket, from: 'bot', text: answer, name: '', t: this.link.now(), confidence: typeof ack.confidence === 'number' ? ack.confidence : null, handoff: ack.handoff === true });
    }
    if (ack.handoff) {
      this.waiting = true;
      this.status.show('A member of staff will reply here.', { kind: 'info' });
    } else if (!this.waiting) this.status.clear();
    else this.status.show('Sent to staff — they will reply here.', { kind: 'info' });
    this.render();
    return ack;
  }

  render() {
    this.list.textContent = '';
    if (!this.messages.length) {
      this.list.append(el('li', 'assist-empty', 'Questions about a product, sizes, delivery or returns? Ask here — our assistant answers right away, and a member of staff can take over.'));
      return;
    }
    for (const m of this.messages) {
      const li = el('li', `am from-${m.from}`);
      if (m.failed) li.classList.add('failed');
      const who = el('div', 'am-who');
      if (m.from === 'visitor') who.textContent = 'You';
      else if (m.from === 'staff') {
        who.append(el('span', 'am-name', m.name || 'Staff'), el('span', 'tag tag-staff', 'Staff'));
      } else {
        who.append(el('span', 'am-name', 'Assistant'), el('span', 'tag tag-bot', 'Bot'));
      }
      if (m.t !== null) who.append(el('time', 'msg-time', clockText(m.t, this.link.offset)));
      li.append(who, el('div', 'am-text', m.text));
      this.list.append(li);
    }
    this.list.scrollTop = this.list.scrollHeight;
  }

  view() {
    return this.messages.map((m) => ({ ticket: m.ticket, from: m.from, text: m.text, name: m.name, confidence: m.confidence }));
  }
}
