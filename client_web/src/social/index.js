// The social layer in the visitor client (docs/protocol.md "Chat" … "Moderation"): chat, the
// reaction bar, live Q&A, the assistant, and moderation notices, each registered as a feature.
import { Chat } from './chat.js';
import { Reactions } from './reactions.js';
import { QA } from './qa.js';
import { Assist } from './assist.js';
import { applyModeration } from './moderation.js';
import { $ } from '../shared/dom.js';

export function registerSocial({ app, hud, panels, session, anchorFor }) {
  const { features, link } = app;
  const chat = new Chat(link, { isOpen: () => panels.isOpen('chat') });
  const reactions = new Reactions(link, { anchorFor });
  const qa = new QA(link, {
    onActivity: (kind, q) => {
      if (panels.isOpen('qa')) return;
      $('qa-tab').classList.add('fresh');
      if (kind === 'answer') hud.toast(`The host answered: “${q.text.slice(0, 60)}”`, { ms: 5000 });
    },
  });
  const assist = new Assist(link, {
    onReply: (m) => {
      if (panels.isOpen('assist')) return;
      $('assist-badge').hidden = false;
      hud.toast(m.from === 'staff' ? `${m.name || 'Staff'} replied in Help` : 'The assistant replied in Help', { ms: 5000 });
    },
  });
  // Chat starts open on desktop, folded on phones and touch screens (it would cover the view).
  const roomy = !matchMedia('(max-width: 760px), (pointer: coarse)').matches;
  panels.add('chat', { root: $('chat'), toggle: $('chat-toggle'), side: 'left', open: roomy, onChange: (open) => chat.onOpenChange(open) });
  panels.add('qa', { root: $('qa'), toggle: $('qa-tab'), side: 'right', onChange: (open) => { if (open) $('qa-tab').classList.remove('fresh'); } });
  panels.add('assist', { root: $('assist'), toggle: $('assist-tab'), side: 'right', onChange: (open) => { if (open) $('assist-badge').hidden = true; } });

  features.register(chatFeature(chat));
  features.register({
    name: 'moderation',
    events: {
      moderation: (msg) => applyModeration(msg, chat, {
        toast: hud.toast,
        removed: (text) => session.removed(text),
        get offset() { return link.offset; },
      }),
    },
  });
  features.register({
    name: 'reactions',
    events: { reactions: (msg) => reactions.onReactions(msg) },
    join: (ack) => { if (app.roomChanged || !reactions.emoji.length) reactions.setRoom(ack.room); },
    facade: {
      get reactions() { return [...reactions.emoji]; },
      get reactionsShown() { return reactions.spawned; },
      get reactionsFloating() { return reactions.floating; },
      get reactionBursts() { return reactions.bursts(); },
      react: (emoji) => reactions.press(emoji),
    },
  });
  features.register({
    name: 'qa',
    events: { qa: (msg) => qa.onQa(msg) },
    join: (ack) => qa.onJoined(ack),
    facade: { get qa() { return qa.view(); }, ask: (text) => qa.ask(String(text)), vote: (id) => qa.vote(id) },
  });
  features.register({
    name: 'assist',
    events: { assist: (msg) => assist.onEvent(msg) },
    join: (ack) => assist.onJoined(ack),
    facade: { get assist() { return assist.view(); }, help: (text) => assist.send(String(text)) },
  });
  return { chat, reactions, qa, assist };
}

function chatFeature(chat) {
  return {
    name: 'chat',
    events: {
      chat: (msg) => chat.add(msg),
      'chat.delete': (msg) => chat.remove(msg.id),
      pin: (msg) => chat.setPin(msg, { live: true }),
    },
    join: (ack) => chat.onJoined(ack),
    facade: {
      get chat() { return chat.view(); },
      get pinned() { return chat.pinned ? { ...chat.pinned } : null; },
      get slowMode() { return chat.slow; },
      get mutedUntil() { return chat.mutedUntil; },
      get chatNotice() { return chat.muteNotice.text || chat.notice.text; },
      say: (text, scope = 'room') => chat.send(String(text), scope),
    },
  };
}
