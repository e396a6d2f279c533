// What a visitor sees of moderation (docs/protocol.md "Moderation (what visitors see)"):
// muted until a time, unmuted, slow mode (near the chat input), and kicked / banned, which
// take the visitor out of the room and back to the room picker.
import { clockText } from '../hud/dom.js';

// msg: the `moderation` event; chat: the Chat panel; ui: {toast(text, opts), removed(text), offset}
export function applyModeration(msg, chat, ui) {
  switch (msg.action) {
    case 'muted': {
      const until = typeof msg.until === 'number' ? msg.until : null;
      chat.setMuted(until ?? Date.now() + ui.offset + 10 * 60000);
      ui.toast(until ? `A moderator muted you until ${clockText(until, ui.offset)}.` : 'A moderator muted you.', { kind: 'warn', ms: 6000 });
      break;
    }
    case 'unmuted':
      chat.setMuted(null);
      ui.toast('You can chat again.', { kind: 'info' });
      break;
    case 'slow': {
      const s = Math.max(0, Math.round(Number(msg.seconds) || 0));
      chat.setSlow(s);
      ui.toast(s > 0 ? `Slow mode: one message every ${s} s` : 'Slow mode is off.', { kind: 'info' });
      break;
    }
    case 'kicked':
      ui.removed('A moderator removed you from the room. You can join again.');
      break;
    case 'banned':
      ui.removed('You have been banned from this room by a moderator. You can visit another room.');
      break;
    default:
      break;
  }
}
