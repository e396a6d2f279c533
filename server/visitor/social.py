"""The social layer's events: chat, reactions, Q&A, the shopping assistant."""

from __future__ import annotations

from collections.abc import Callable

from server.handlers import Reply
from server.visitor import Events, Gateway
from world.protocol import AskRequest, AssistRequest, ChatRequest, ErrorCode, ReactRequest, VoteRequest, WireError, ok
from world.core.room import Input
from world.social.layer import Ask, AssistAsk, React, Say, Vote



async def chat(gw: Gateway, sid: str, req: ChatRequest) -> Reply:
    s, runner = gw.in_room(sid)
    s.allow("chat", "messages")
    text, filtered = gw.words.clean(req.text)
    avatar = s.visitor.id
    return await s.request(runner, lambda ref: Say(ref, avatar, text, req.scope, filtered))


async def react(gw: Gateway, sid: str, req: ReactRequest) -> Reply:
    s, runner = gw.in_room(sid)
    if req.emoji not in runner.config.reactions:
        raise WireError(ErrorCode.BAD_REQUEST, f"emoji {req.emoji!r} is not one of this room's reactions")
    s.allow("react", "reactions")
    if not runner.submit(React(s.visitor.id, req.emoji)):
        raise WireError(ErrorCode.UNAVAILABLE, f"room {runner.id!r} is busy: try again")
    return ok()  # sent only when the client asked for an ack


async def typed(gw: Gateway, sid: str, text: str, make: Callable[[int, int, str], Input]) -> Reply:
    """Something the visitor typed (a question, a message to the assistant): within its chat
    allowance, through the word filter, to its room."""
    s, runner = gw.in_room(sid)
    s.allow("chat", "messages")
    clean, _ = gw.words.clean(text)
    avatar = s.visitor.id
    return await s.request(runner, lambda ref: make(ref, avatar, clean))


async def qa_ask(gw: Gateway, sid: str, req: AskRequest) -> Reply:
    return await typed(gw, sid, req.text, Ask)


async def qa_vote(gw: Gateway, sid: str, req: VoteRequest) -> Reply:
    s, runner = gw.in_room(sid)
    avatar = s.visitor.id
    return await s.request(runner, lambda ref: Vote(ref, avatar, req.id))


async def assist(gw: Gateway, sid: str, req: AssistRequest) -> Reply:
    return await typed(gw, sid, req.text, AssistAsk)


EVENTS: Events = {
    "chat": (ChatRequest, chat),
    "react": (ReactRequest, react),
    "qa.ask": (AskRequest, qa_ask),
    "qa.vote": (VoteRequest, qa_vote),
    "assist": (AssistRequest, assist),
}
