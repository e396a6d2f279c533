"""The web client's social layer against the real server: chat both ways (and its history), user
text that is markup shown as text and never run, reactions both ways (floating emoji over the
avatars in view, room counts), live Q&A, the assistant with a staff handoff, moderation as a
visitor sees it, and a layout that does not overlap on desktop and on a phone."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser

from tests.conftest import StaffClient, Visitor, eventually
from tests.e2e.conftest import ClientPage, assert_apart, open_client, visible_boxes, visitor, wait_page

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

# Names are 1..32 characters, so each name carries one payload; messages carry the long ones.
XSS_NAME = "<img src=x onerror=__pwned=1>"
XSS_PAGE_NAME = "<script>__pwned=2</script>"
XSS_TEXT = (
    '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script> '
    "<script>window.__pwned=3</script><b>bold</b>"
)


def received(v: Visitor, event: str) -> list[dict[str, Any]]:
    return [m for m in v.events.get(event, []) if isinstance(m, dict)]


async def assert_no_markup_ran(cp: ClientPage) -> None:
    await asyncio.sleep(0.5)  # an <img onerror> fires only after its load fails
    assert await cp.page.evaluate("typeof window.__pwned") == "undefined"
    tags = await cp.page.evaluate(
        "() => [...document.querySelectorAll('img, b, #chat script, #qa script, #assist script')].map((e) => e.tagName)"
    )
    assert tags == [], f"user text became markup: {tags}"
    scripts = await cp.page.evaluate("() => [...document.scripts].filter((s) => s.text.includes('pwned')).length")
    assert scripts == 0


async def test_markup_in_names_and_messages_is_shown_as_text(
    live_server: Any, client_page: ClientPage, visitors: list[Visitor]
) -> None:
    cp = client_page
    await open_client(cp, live_server.url, XSS_PAGE_NAME)
    evil, _ = await visitor(live_server.url, XSS_NAME, visitors)
    ack = await evil.call("chat", {"text": XSS_TEXT, "scope": "room"})
    assert ack["ok"], ack

    shown = await wait_page(cp, "v.chat.find((m) => m.id === arg)", ack["id"])
    assert shown["name"] == XSS_NAME and shown["text"] == XSS_TEXT
    item = cp.page.locator(f'#chat-list li[data-id="{ack["id"]}"]')
    assert await item.locator(".msg-name").text_content() == XSS_NAME
    assert await item.locator(".msg-text").text_content() == XSS_TEXT
    assert await cp.page.locator("#chat-list b").count() == 0

    # The page's own name is markup too: shown as text in its own message and to the others.
    await cp.page.fill("#chat-input", "<i>mine</i>")
    await cp.page.press("#chat-input", "Enter")
    mine = await wait_page(cp, "v.chat.find((m) => m.text === '<i>mine</i>')")
    assert mine["name"] == XSS_PAGE_NAME
    got = await eventually(lambda: [m for m in received(evil, "chat") if m["text"] == "<i>mine</i>"])
    assert got[0]["from"]["name"] == XSS_PAGE_NAME
    # The other visitor's 3D name tag too.
    await wait_page(cp, "v.avatars().some((a) => a.name === arg)", XSS_NAME)
    tags = await cp.page.evaluate("() => [...document.querySelectorAll('.name-tag')].map((e) => e.textContent)")
    assert XSS_NAME in tags
    await assert_no_markup_ran(cp)
    cp.assert_clean()


async def test_chat_both_ways_history_and_typing_does_not_walk(
    live_server: Any, client_page: ClientPage, visitors: list[Visitor]
) -> None:
    cp = client_page
    await open_client(cp, live_server.url, "Bea")
    ada, _ = await visitor(live_server.url, "Ada", visitors)
    page_id = await cp.vetrina("v.selfId")

    # Browser → Python: typed with WASD letters, which must not walk the avatar.
    before = await cp.vetrina("v.self()")
    await cp.page.click("#chat-input")
    await cp.page.keyboard.type("wasd, was it sad? Ciao Ada!", delay=15)
    await asyncio.sleep(0.3)
    after = await cp.vetrina("v.self()")
    assert math.hypot(after["x"] - before["x"], after["z"] - before["z"]) < 0.01, "typing walked the avatar"
    await cp.page.keyboard.press("Enter")
    got = await eventually(lambda: [m for m in received(ada, "chat") if m["text"] == "wasd, was it sad? Ciao Ada!"])
    assert got[0]["from"] == {"id": page_id, "name": "Bea"} and got[0]["scope"] == "room"
    assert await cp.page.input_value("#chat-input") == ""
    await wait_page(cp, "v.chat.some((m) => m.text === 'wasd, was it sad? Ciao Ada!' && m.fromId === v.selfId)")

    # Esc leaves the field; then W walks again.
    await cp.page.keyboard.press("Escape")
    assert await cp.page.evaluate("document.activeElement === document.body")
    await cp.page.keyboard.down("w")
    await asyncio.sleep(0.6)
    await cp.page.keyboard.up("w")
    walked = await cp.vetrina("v.self()")
    assert math.hypot(walked["x"] - after["x"], walked["z"] - after["z"]) > 0.4, "W did not walk after Esc"

    # Python → browser, shown with sender and time.
    ack = await ada.call("chat", {"text": "Ciao Bea, welcome!", "scope": "room"})
    assert ack["ok"], ack
    shown = await wait_page(cp, "v.chat.find((m) => m.id === arg)", ack["id"])
    assert shown["name"] == "Ada" and shown["fromId"] == ada.welcome["id"] and not shown["staff"]
    item = cp.page.locator(f'#chat-list li[data-id="{ack["id"]}"]')
    assert await item.locator(".msg-text").text_content() == "Ciao Bea, welcome!"
    assert ":" in (await item.locator(".msg-time").text_content() or "")

    # Near scope from the toggle: the server delivers it as a near message to Ada (a few metres away).
    await cp.page.click('#chat-scope button[data-scope="near"]')
    assert await cp.page.get_attribute('#chat-scope button[data-scope="near"]', "aria-pressed") == "true"
    await cp.page.fill("#chat-input", "psst, over here")
    await cp.page.press("#chat-input", "Enter")
    near = await eventually(lambda: [m for m in received(ada, "chat") if m["text"] == "psst, over here"])
    assert near[0]["scope"] == "near"
    await wait_page(cp, "v.chat.some((m) => m.text === 'psst, over here' && m.scope === 'near')")

    # A new visit gets the room's history from the join ack (room messages only).
    await cp.page.reload()
    await cp.page.wait_for_function("window.vetrina && window.vetrina.state === 'joined'", timeout=20_000)
    texts = await wait_page(cp, "v.chat.some((m) => m.id === arg) && v.chat.map((m) => m.text)", ack["id"])
    assert "wasd, was it sad? Ciao Ada!" in texts and "Ciao Bea, welcome!" in texts
    assert texts.index("wasd, was it sad? Ciao Ada!") < texts.index("Ciao Bea, welcome!")  # oldest first
    cp.assert_clean()


async def walk_to(v: Visitor, start: list[float], target: tuple[float, float]) -> None:
    """Legal steps (0.4 m at 10 Hz) over the open entrance floor."""
    x, y, z = start
    seq = 0
    while math.dist((x, z), target) > 0.01:
        k = min(1.0, 0.4 / math.dist((x, z), target))
        x, z = x + (target[0] - x) * k, z + (target[1] - z) * k
        seq += 1
        await v.sio.emit("move", {"p": [x, y, z], "yaw": 0.0, "seq": seq})
        await asyncio.sleep(0.1)


async def test_reactions_both_ways(live_server: Any, client_page: ClientPage, visitors: list[Visitor]) -> None:
    cp = client_page
    await open_client(cp, live_server.url, "Clap")
    fan, ack = await visitor(live_server.url, "Fan", visitors)
    page_id = await cp.vetrina("v.selfId")
    emoji = await cp.vetrina("v.reactions")
    assert emoji == ack["room"]["reactions"] and len(emoji) >= 2
    heart, clap, marker = emoji[0], emoji[1], emoji[-1]
    assert await cp.page.locator("#reactions button").count() == len(emoji) and marker not in (heart, clap)

    async def after_a_later_press() -> list[dict[str, Any]]:
        """Press ``marker`` and wait for it in the room: the page's earlier presses were handled
        before it (one socket, in order), so their reactions messages are all here by then."""
        def markers() -> int:
            return sum(m["counts"].get(marker, 0) for m in received(fan, "reactions"))

        pressed = markers()
        await cp.page.click(f'#reactions button[data-emoji="{marker}"]')
        await eventually(lambda: markers() > pressed)
        return received(fan, "reactions")

    # Browser → room: one press is one reaction in the room's counts, ours in the sample.
    shown_before = await cp.vetrina("v.reactionsShown")
    await cp.page.click(f'#reactions button[data-emoji="{heart}"]')
    await eventually(lambda: received(fan, "reactions"))
    assert await cp.vetrina("v.reactionsShown") == shown_before + 1  # floats over our own avatar at once
    msgs = await after_a_later_press()  # whatever else the heart press causes has arrived by now
    assert sum(m["counts"].get(heart, 0) for m in msgs) == 1, msgs
    assert [page_id, heart] in [list(p) for m in msgs for p in m["near"]]
    for _ in range(3):
        await cp.page.click(f'#reactions button[data-emoji="{clap}"]')
    await eventually(lambda: sum(m["counts"].get(clap, 0) for m in received(fan, "reactions")) >= 3)
    bursts = await wait_page(cp, "v.reactionBursts[arg] >= 3 && v.reactionBursts", clap)  # (a chip fades in 2.5 s)
    assert bursts[clap] == 3
    assert (await cp.page.locator(f'#bursts .burst[data-emoji="{clap}"]').text_content() or "").endswith("3")
    await after_a_later_press()
    assert sum(m["counts"].get(clap, 0) for m in received(fan, "reactions")) == 3

    # Room → browser: the fan walks into the page's view (ahead of it, towards the room's centre)
    # and reacts; the emoji floats over the fan's avatar.
    me = await cp.vetrina("v.self()")
    d = math.hypot(me["x"], me["z"]) or 1.0
    target = (me["x"] - me["x"] / d * 5, me["z"] - me["z"] / d * 5)
    await walk_to(fan, ack["you"]["p"], target)
    await wait_page(cp, "v.avatars().some((a) => a.name === 'Fan' && Math.hypot(a.x - arg[0], a.z - arg[1]) < 0.3)", list(target))
    await asyncio.sleep(0.3)
    shown_before = await cp.vetrina("v.reactionsShown")
    await fan.sio.emit("react", {"emoji": heart})
    # checked in the page on every frame: the floater lives ~2 s and enters the DOM at a render
    await wait_page(
        cp, "v.reactionsShown > arg[0] && [...document.querySelectorAll('.floater-emoji')].some((e) => e.textContent === arg[1])",
        [shown_before, heart],
    )
    ARTIFACTS.mkdir(exist_ok=True)
    await cp.page.screenshot(path=str(ARTIFACTS / "social_reactions.png"))

    # A flood stays cheap: at most 40 emoji float at once, however many arrive.
    await cp.page.evaluate(
        """([id, e]) => {
          const features = window.vetrina._debug.app.features; // where the connection routes server events
          for (let i = 0; i < 10; i++) features.route('reactions', { t: 0, counts: {}, near: Array(32).fill([id, e]) });
        }""",
        [(await cp.vetrina("v.avatars()"))[0]["id"], heart],
    )
    assert await cp.vetrina("v.reactionsFloating") <= 40
    assert await cp.page.locator(".floater").count() <= 40
    cp.assert_clean()


async def test_live_qa_ask_vote_and_answer(
    live_server: Any, client_page: ClientPage, visitors: list[Visitor], staff: list[StaffClient]
) -> None:
    cp = client_page
    await open_client(cp, live_server.url, "Quinn")
    asker, _ = await visitor(live_server.url, "Asker", visitors)
    await cp.page.click("#qa-tab")
    assert await cp.page.is_visible("#qa-list")

    # Ask from the page: it reaches the room's top list, shown in the page as our question.
    question = "Does the wool coat come in green? <img src=x onerror=__pwned=6>"
    await cp.page.fill("#qa-input", question)
    await cp.page.click("#qa-ask")
    await eventually(lambda: [q for m in received(asker, "qa") for q in m["top"] if q["text"] == question], timeout=5)
    mine = await wait_page(cp, "v.qa.find((q) => q.text === arg)", question)
    assert mine["votes"] == 0 and not mine["voted"]
    assert await cp.page.input_value("#qa-input") == ""

    # Vote from the page for another visitor's question: the count comes back, once only.
    ack = await asker.call("qa.ask", {"text": "Is there a store in Turin?"})
    assert ack["ok"], ack
    qid = ack["id"]
    await wait_page(cp, "v.qa.some((q) => q.id === arg)", qid)
    button = cp.page.locator(f'#qa-list li[data-id="{qid}"] .qa-vote')
    await button.click()
    voted = await wait_page(cp, "(() => { const q = v.qa.find((q) => q.id === arg); return q && q.voted && q; })()", qid)
    assert voted["votes"] == 1
    assert await button.is_disabled()
    assert (await button.locator(".qa-votes").text_content()) == "1"
    await eventually(lambda: [q for m in received(asker, "qa") for q in m["top"] if q["id"] == qid and q["votes"] == 1])
    again = await cp.vetrina(f"v.vote({qid!r})")  # the helper refuses a second vote without asking
    assert again["ok"] is False

    # The host answers: the page shows the answer under the question.
    host = StaffClient("host")
    staff.append(host)
    await host.connect(live_server.url)
    answered = await host.call("qa.answer", {"room": "showroom", "id": qid, "text": "Yes, via Roma 12 <b>open</b>"})
    assert answered["ok"], answered
    await wait_page(cp, "v.qa.some((q) => q.id === arg && q.answer === 'Yes, via Roma 12 <b>open</b>')", qid)
    answer = cp.page.locator(f'#qa-list li[data-id="{qid}"] .qa-answer-text')
    assert await answer.text_content() == "Yes, via Roma 12 <b>open</b>"
    assert await cp.page.locator(f'#qa-list li[data-id="{qid}"]').get_attribute("class") == "qa-item answered"
    await assert_no_markup_ran(cp)
    ARTIFACTS.mkdir(exist_ok=True)
    await cp.page.screenshot(path=str(ARTIFACTS / "social_qa.png"))
    cp.assert_clean()


async def test_assistant_bot_then_staff_and_restored_after_reload(
    live_server: Any, client_page: ClientPage, staff: list[StaffClient]
) -> None:
    cp = client_page
    await open_client(cp, live_server.url, "Helga")
    await cp.page.click("#assist-tab")
    await cp.page.fill("#assist-input", "What sizes does the trench coat come in?")
    await cp.page.press("#assist-input", "Enter")
    convo = await wait_page(cp, "v.assist.length >= 2 && v.assist")
    assert convo[0]["from"] == "visitor" and convo[1]["from"] == "bot" and convo[1]["text"]

    # Asking for a person hands the ticket to staff; a staff member's reply shows their name.
    ack = await cp.vetrina("v.help('I would like to talk to a human please')")
    assert ack["ok"] and ack["handoff"] is True, ack
    ticket = ack["ticket"]
    assert "staff" in (await cp.page.text_content("#assist-status") or "").lower()
    operator = StaffClient("operator", name="<img src=x onerror=__pwned=7>")
    staff.append(operator)
    await operator.connect(live_server.url)
    reply = await operator.call("assist.reply", {"ticket": ticket, "text": "Hi Helga, Sara here: how can I help?"})
    assert reply["ok"] and reply["delivered"], reply
    staff_msg = await wait_page(cp, "v.assist.find((m) => m.from === 'staff')")
    assert staff_msg["text"] == "Hi Helga, Sara here: how can I help?"
    assert staff_msg["name"] == "<img src=x onerror=__pwned=7>"
    assert await cp.page.locator("#assist-list .from-staff .am-name").text_content() == staff_msg["name"]
    assert await cp.page.locator("#assist-list .from-bot .am-name").first.text_content() == "Assistant"
    await assert_no_markup_ran(cp)
    ARTIFACTS.mkdir(exist_ok=True)
    await cp.page.screenshot(path=str(ARTIFACTS / "social_assist.png"))

    # A reload resumes the session: the conversation comes back from the join ack.
    shown = await cp.vetrina("v.assist")
    await cp.page.reload()
    await cp.page.wait_for_function("window.vetrina && window.vetrina.state === 'joined'", timeout=20_000)
    restored = await wait_page(cp, "v.assist.some((m) => m.from === 'staff') && v.assist")
    # Everything the visitor wrote and the staff reply come back, in order.
    kept = [(m["from"], m["text"]) for m in shown if m["from"] in ("visitor", "staff")]
    again = [(m["from"], m["text"]) for m in restored if m["from"] in ("visitor", "staff")]
    assert again == kept, (shown, restored)
    assert any(m["from"] == "bot" for m in restored)
    cp.assert_clean()


async def test_moderation_as_the_visitor_sees_it(
    live_server: Any, client_page: ClientPage, visitors: list[Visitor], staff: list[StaffClient]
) -> None:
    cp = client_page
    room = "concert"  # slow mode and bans stay with a room: keep them out of the others' way
    await open_client(cp, live_server.url, "Mo", room=room)
    page_id = await cp.vetrina("v.selfId")
    other, _ = await visitor(live_server.url, "Other", visitors, room=room)
    mod = StaffClient("moderator", name="Marta")
    staff.append(mod)
    await mod.connect(live_server.url)

    # Staff message (marked), pin (banner), delete (gone), slow mode (shown near the input).
    said = await mod.call("chat", {"room": room, "text": "Welcome to the show!"})
    assert said["ok"], said
    staff_msg = await wait_page(cp, "v.chat.find((m) => m.id === arg)", said["id"])
    assert staff_msg["staff"] is True
    assert "staff" in (await cp.page.get_attribute(f'#chat-list li[data-id="{said["id"]}"]', "class") or "")
    assert (await mod.call("chat.pin", {"room": room, "text": "Encore at 22:00 <script>x</script>"}))["ok"]
    await wait_page(cp, "v.pinned && v.pinned.text === 'Encore at 22:00 <script>x</script>'")
    assert await cp.page.is_visible("#chat-pin")
    assert await cp.page.text_content("#chat-pin .pin-text") == "Encore at 22:00 <script>x</script>"
    rude = await other.call("chat", {"text": "something rude"})
    await wait_page(cp, "v.chat.some((m) => m.id === arg)", rude["id"])
    assert (await mod.call("chat.delete", {"room": room, "id": rude["id"]}))["ok"]
    await wait_page(cp, "!v.chat.some((m) => m.id === arg)", rude["id"])
    assert await cp.page.locator(f'#chat-list li[data-id="{rude["id"]}"]').count() == 0
    assert (await mod.call("chat.pin", {"room": room, "text": ""}))["ok"]
    await wait_page(cp, "v.pinned === null")
    assert await cp.page.is_hidden("#chat-pin")
    assert (await mod.call("mod.slow", {"room": room, "seconds": 7}))["ok"]
    await wait_page(cp, "v.slowMode === 7")
    assert await cp.page.text_content("#chat-slow") == "Slow mode: one message every 7 s"
    await cp.page.fill("#chat-input", "first under slow mode")
    await cp.page.press("#chat-input", "Enter")
    await wait_page(cp, "v.chat.some((m) => m.text === 'first under slow mode')")
    await cp.page.fill("#chat-input", "second too soon")
    await cp.page.press("#chat-input", "Enter")
    notice = await wait_page(cp, "v.chatNotice")
    assert "wait" in notice.lower(), notice  # the server's own words
    assert await cp.page.input_value("#chat-input") == "second too soon"  # kept for later
    assert (await mod.call("mod.slow", {"room": room, "seconds": 0}))["ok"]
    await wait_page(cp, "v.slowMode === 0")
    assert await cp.page.is_hidden("#chat-slow")

    # Muted: told until when, and a message is refused with that notice; unmuted lifts it.
    assert (await mod.call("mod.mute", {"room": room, "avatar": page_id, "minutes": 5}))["ok"]
    await wait_page(cp, "typeof v.mutedUntil === 'number'")
    notice = await cp.vetrina("v.chatNotice")
    assert "muted until" in notice.lower() and "server ms" not in notice, notice
    refused = await cp.vetrina("v.say('can anyone hear me?')")
    assert refused["ok"] is False and refused["error"]["code"] == "muted"
    assert await cp.page.is_visible("#chat-muted")
    assert (await mod.call("mod.unmute", {"room": room, "avatar": page_id}))["ok"]
    await wait_page(cp, "v.mutedUntil === null")
    assert (await cp.vetrina("v.say('back again')"))["ok"]

    # Kicked: a clear message and the room picker; entering again works.
    assert (await mod.call("mod.kick", {"room": room, "avatar": page_id}))["ok"]
    await cp.page.wait_for_selector("#overlay:not([hidden])", timeout=5000)
    assert "removed you" in (await cp.page.text_content("#join-error") or "")
    assert await cp.vetrina("v.state") != "joined"
    await cp.page.wait_for_selector(f'#room-list input[value="{room}"]:checked', timeout=5000)
    await cp.page.click("#enter-btn")
    await cp.page.wait_for_function("window.vetrina.state === 'joined'", timeout=10_000)
    assert await cp.page.is_hidden("#overlay")
    page_id = await cp.vetrina("v.selfId")

    # Banned from this room (bans default to the whole event): the same, and this room refuses
    # us from now on (the picker says so).
    assert (await mod.call("mod.ban", {"room": room, "avatar": page_id, "scope": "room"}))["ok"]
    await cp.page.wait_for_selector("#overlay:not([hidden])", timeout=5000)
    assert "banned" in (await cp.page.text_content("#join-error") or "").lower()
    await cp.page.wait_for_selector(f'#room-list input[value="{room}"]:checked', timeout=5000)
    await cp.page.click("#enter-btn")
    # The server refuses the join; the picker shows its answer and stays up.
    await cp.page.wait_for_function(
        "document.getElementById('join-error').textContent.endsWith('(banned)') && !document.getElementById('overlay').hidden",
        timeout=10_000,
    )
    assert await cp.vetrina("v.state") != "joined"
    await cp.page.click('#room-list input[value="showroom"]')
    await cp.page.click("#enter-btn")
    await cp.page.wait_for_function("window.vetrina.state === 'joined' && window.vetrina.roomId === 'showroom'", timeout=10_000)
    cp.assert_clean()


async def boxes(cp: ClientPage, selectors: list[str]) -> dict[str, dict[str, float]]:
    return await visible_boxes(cp.page, selectors, every=False)


HUD = ["#hud .brand", "#hud .hud-right"]


async def test_layout_desktop_and_phone(live_server: Any, client_page: ClientPage, browser: Browser, visitors: list[Visitor]) -> None:
    cp = client_page
    await open_client(cp, live_server.url, "Layla")
    chatter, _ = await visitor(live_server.url, "Chatter", visitors)
    for text in ["Buongiorno!", "Is the red bag still in stock?", "Love this room"]:
        assert (await chatter.call("chat", {"text": text}))["ok"]
    await wait_page(cp, "v.chat.filter((m) => m.name === 'Chatter').length >= 3")
    await cp.page.click("#qa-tab")
    await asyncio.sleep(0.3)
    found = await boxes(cp, [*HUD, "#help", "#chat", "#reactions", "#dock", "#qa"])
    assert {"#chat", "#reactions", "#dock", "#qa", "#help"} <= set(found), found
    assert_apart(found, 1280, 800)
    ARTIFACTS.mkdir(exist_ok=True)
    await cp.page.screenshot(path=str(ARTIFACTS / "social_desktop.png"))

    # A phone in portrait: chat folded into its header, nothing on top of anything else; an
    # opened chat is a sheet that hides the joystick.
    context = await browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, device_scale_factor=2)
    try:
        phone = ClientPage(await context.new_page())
        phone.page.on("pageerror", lambda exc: phone.errors.append(f"{exc.name}: {exc.message}"))
        await open_client(phone, live_server.url, "Pia")
        assert await phone.page.get_attribute("#chat", "data-open") == "false"
        found = await boxes(phone, [*HUD, "#chat", "#reactions", "#dock", "#joystick"])
        assert {"#chat", "#reactions", "#dock", "#joystick"} <= set(found), found
        assert_apart(found, 390, 844)
        await phone.page.screenshot(path=str(ARTIFACTS / "social_phone.png"))
        await phone.page.click("#chat-toggle")
        await wait_page(phone, "v.chat.length >= 3")
        assert await phone.page.is_hidden("#joystick")
        found = await boxes(phone, [*HUD, "#chat"])
        assert_apart(found, 390, 844)
        assert await phone.page.is_visible("#chat-input")
        await phone.page.screenshot(path=str(ARTIFACTS / "social_phone_chat.png"))
        # Folding the chat and opening Q&A: one sheet at a time.
        await phone.page.click("#chat-toggle")
        await phone.page.click("#qa-tab")
        assert await phone.page.get_attribute("#chat", "data-open") == "false"
        found = await boxes(phone, [*HUD, "#chat", "#qa", "#dock"])
        assert {"#chat", "#qa", "#dock"} <= set(found), found
        assert_apart(found, 390, 844)
        await phone.page.screenshot(path=str(ARTIFACTS / "social_phone_qa.png"))
        phone.assert_clean()
    finally:
        await context.close()
    cp.assert_clean()
