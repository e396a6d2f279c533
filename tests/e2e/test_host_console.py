"""The host console (client_web/host.html) against a real server: a python visitor chats, the
console signed in with a staff token sees it and moderates it by clicking, and the visitor feels
the consequences; a forged or expired token is refused visibly; roles hide what they may not do."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from server.auth import mint
from tests.conftest import Visitor, eventually
from tests.e2e.conftest import ClientPage

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
WAIT_MS = 15_000


async def shot(cp: ClientPage, name: str) -> None:
    """Screenshot to /tmp (for a look by hand) and to test-artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    await cp.page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
    await cp.page.screenshot(path=f"/tmp/{name}.png")


async def host(cp: ClientPage, expr: str) -> Any:
    return await cp.page.evaluate(f"() => {{ const h = window.vetrinaHost; return {expr}; }}")


async def open_console(cp: ClientPage, url: str, token: str, room: str = "showroom") -> None:
    # The demo server prints such a link: the token travels in the fragment, never to the server's logs.
    await cp.page.goto(f"{url}/host#room={room}&token={token}")
    await cp.page.wait_for_function(
        f"window.vetrinaHost && window.vetrinaHost.signedIn && window.vetrinaHost.watching === {room!r}",
        timeout=WAIT_MS,
    )
    # The token does not stay in the address bar.
    assert "token=" not in cp.page.url


async def connect_visitor(url: str, name: str, made: list[Visitor]) -> Visitor:
    v = Visitor(name)
    made.append(v)
    await v.connect(url)
    await v.join("showroom")
    return v


async def test_host_mutes_a_chatting_visitor(live_server: Any, client_page: ClientPage, visitors: list[Visitor]) -> None:
    cp = client_page
    token = mint(live_server.secret, role="host", rooms=["showroom"], ttl_s=600, name="Hanna Host")
    await open_console(cp, live_server.url, token)
    assert await cp.page.text_content("#who-name") == "Hanna Host"
    assert (await cp.page.text_content("#who-role") or "").strip() == "host"

    # Markup in a name or a message is text, never HTML.
    eve = await connect_visitor(live_server.url, "<b>Eve</b>", visitors)
    bob = await connect_visitor(live_server.url, "Bob", visitors)
    ack = await eve.call("chat", {"text": "hello <img src=x onerror=alert(1)> there", "scope": "room"})
    assert ack["ok"], ack
    row = cp.page.locator(f"#chat-list li.msg[data-id='{ack['id']}']")
    await row.wait_for(timeout=WAIT_MS)
    assert await row.locator(".who").text_content() == "<b>Eve</b>"
    assert await row.locator(".msg-text").text_content() == "hello <img src=x onerror=alert(1)> there"
    assert await cp.page.locator("#chat-list b, #chat-list img").count() == 0

    # Mute Eve for 10 minutes from her message.
    await row.hover()
    await shot(cp, "host_console_toolbar")  # the moderation toolbar on the hovered message
    await row.locator("[data-act='mute-10']").click()
    await eventually(lambda: any(m and m.get("action") == "muted" for m in eve.events.get("moderation", [])), timeout=10)
    muted = next(m for m in eve.events["moderation"] if m.get("action") == "muted")
    assert isinstance(muted.get("until"), int)
    again = await eve.call("chat", {"text": "am I muted?", "scope": "room"})
    assert not again["ok"] and again["error"]["code"] == "muted", again

    # The console shows the action in the log and Eve in the muted list, with an Unmute button.
    await cp.page.wait_for_function(
        "window.vetrinaHost.log.some(e => /mute/.test(e.action) && e.name === '<b>Eve</b>')", timeout=WAIT_MS
    )
    first_log = cp.page.locator("#log-list .log-row").first
    assert "muted <b>Eve</b> for 10 min" in (await first_log.text_content() or "")
    muted_row = cp.page.locator("#muted-list li.person", has_text="<b>Eve</b>")
    await muted_row.wait_for(timeout=WAIT_MS)
    assert await muted_row.locator("[data-act='unmute']").is_visible()

    # Shadow-mute Bob: his next message still reaches the console, marked as shadow.
    ack_bob = await bob.call("chat", {"text": "first from Bob", "scope": "room"})
    bob_row = cp.page.locator(f"#chat-list li.msg[data-id='{ack_bob['id']}']")
    await bob_row.wait_for(timeout=WAIT_MS)
    await bob_row.hover()
    await bob_row.locator("[data-act='shadow']").click()
    await cp.page.wait_for_function("window.vetrinaHost.muted.some(m => m.name === 'Bob' && m.shadow)", timeout=WAIT_MS)
    ack_shadow = await bob.call("chat", {"text": "nobody hears me", "scope": "room"})
    assert ack_shadow["ok"], ack_shadow  # a shadow-muted visitor is not told
    shadow_row = cp.page.locator(f"#chat-list li.msg.shadow[data-id='{ack_shadow['id']}']")
    await shadow_row.wait_for(timeout=WAIT_MS)

    # A staff message from the console reaches the visitors.
    await cp.page.fill("#staff-input", "Welcome to the showroom!")
    await cp.page.press("#staff-input", "Enter")
    await eventually(
        lambda: any(m and m.get("text") == "Welcome to the showroom!" and m.get("from", {}).get("staff")
                    for m in bob.events.get("chat", [])),
        timeout=10,
    )

    # Stats arrive every second with at least our two visitors.
    await cp.page.wait_for_function(
        "window.vetrinaHost.stats && window.vetrinaHost.stats.attendees >= 2", timeout=WAIT_MS
    )
    await cp.page.mouse.move(5, 400)  # away from the chat, so no toolbar is open
    # Let the confirmations fade (a few more stats samples for the sparkline meanwhile).
    await cp.page.wait_for_function("document.querySelectorAll('#toasts .toast').length === 0", timeout=WAIT_MS)
    await shot(cp, "host_console")

    # Unmute from the list: Eve may chat again.
    await muted_row.locator("[data-act='unmute']").click()
    await eventually(lambda: any(m and m.get("action") == "unmuted" for m in eve.events.get("moderation", [])), timeout=10)
    back = await eve.call("chat", {"text": "thanks", "scope": "room"})
    assert back["ok"], back
    assert await host(cp, "h.errors") == []
    cp.assert_clean()


@pytest.mark.parametrize("kind", ["forged", "expired"])
async def test_refused_token_is_shown(live_server: Any, client_page: ClientPage, kind: str) -> None:
    cp = client_page
    if kind == "forged":
        token = mint("not-the-server-secret-" * 2, role="host", rooms="*", ttl_s=600, name="Mallory")
    else:
        token = mint(live_server.secret, role="host", rooms="*", ttl_s=-60, name="Late")
    await cp.page.goto(f"{live_server.url}/host")
    await cp.page.fill("#token-input", token)
    await cp.page.click("#signin-btn")
    error = cp.page.locator("#signin-error")
    await error.wait_for(state="visible", timeout=WAIT_MS)
    text = await error.text_content() or ""
    assert "forbidden" in text, text
    if kind == "expired":
        assert "expired" in text, text
    assert await host(cp, "h.signedIn") is False
    assert await host(cp, "h.conn") == "refused"
    assert await cp.page.locator("#signin").is_visible()
    await shot(cp, f"host_refused_{kind}")
    cp.assert_clean()


async def test_operator_answers_questions_and_tickets(
    live_server: Any, client_page: ClientPage, visitors: list[Visitor]
) -> None:
    cp = client_page
    token = mint(live_server.secret, role="operator", rooms="*", ttl_s=600, name="Olga Operator")
    await open_console(cp, live_server.url, token)

    v = await connect_visitor(live_server.url, "Carla", visitors)
    ack = await v.call("chat", {"text": "hi all", "scope": "room"})
    row = cp.page.locator(f"#chat-list li.msg[data-id='{ack['id']}']")
    await row.wait_for(timeout=WAIT_MS)
    # An operator may not moderate: no moderation buttons, the staff input is disabled.
    assert await row.locator(".mod-bar").count() == 0
    assert await cp.page.locator("#staff-input").is_disabled()
    assert await cp.page.locator("#slow-select").is_disabled()

    # A question appears in the queue; the operator answers it; the visitor sees the answer.
    q = await v.call("qa.ask", {"text": "Do you ship to Switzerland?"})
    assert q["ok"], q
    q_row = cp.page.locator(f"#qa-list li.q[data-id='{q['id']}']")
    await q_row.wait_for(timeout=WAIT_MS)
    await q_row.locator("input").fill("Yes, in 3 to 5 days.")
    await q_row.locator("button[type=submit]").click()
    await eventually(
        lambda: any(item.get("answer") == "Yes, in 3 to 5 days."
                    for m in v.events.get("qa", []) if m for item in m.get("top", [])),
        timeout=10,
    )
    await cp.page.locator(f"#qa-list li.q.answered[data-id='{q['id']}']").wait_for(timeout=WAIT_MS)

    # Asking for a person hands the ticket to staff: it shows as open, first; the reply arrives.
    a = await v.call("assist", {"text": "I want to talk to a human operator please"})
    assert a["ok"] and a["handoff"], a
    t_row = cp.page.locator(f"#ticket-list li.ticket.st-open[data-ticket='{a['ticket']}']")
    await t_row.wait_for(timeout=WAIT_MS)
    assert await cp.page.locator("#ticket-list li.ticket").first.get_attribute("data-ticket") == a["ticket"]
    await t_row.locator("input").fill("Hello Carla, Olga here. How can I help?")
    await t_row.locator("button[type=submit]").click()
    await eventually(
        lambda: any(m and m.get("from") == "staff" and "Olga here" in m.get("text", "")
                    for m in v.events.get("assist", [])),
        timeout=10,
    )
    await cp.page.wait_for_function(
        f"window.vetrinaHost.tickets.some(t => t.ticket === {a['ticket']!r} && t.status !== 'open')", timeout=WAIT_MS
    )
    await cp.page.mouse.move(5, 400)
    await cp.page.wait_for_function("document.querySelectorAll('#toasts .toast').length === 0", timeout=WAIT_MS)
    await shot(cp, "host_operator")
    assert await host(cp, "h.errors") == []
    cp.assert_clean()


async def test_moderator_sees_only_what_it_may_do(
    live_server: Any, client_page: ClientPage, visitors: list[Visitor]
) -> None:
    cp = client_page
    token = mint(live_server.secret, role="moderator", rooms=["showroom"], ttl_s=600, name="Mo Moderator")
    await open_console(cp, live_server.url, token)
    # Only the token's rooms are offered.
    options = await cp.page.eval_on_selector_all("#room-select option", "os => os.map(o => o.value)")
    assert options == ["showroom"]

    v = await connect_visitor(live_server.url, "Dario", visitors)
    ack = await v.call("chat", {"text": "hello mods", "scope": "room"})
    row = cp.page.locator(f"#chat-list li.msg[data-id='{ack['id']}']")
    await row.wait_for(timeout=WAIT_MS)
    assert await row.locator("[data-act='mute-5']").count() == 1  # a moderator moderates
    assert await cp.page.locator("#staff-input").is_enabled()

    # ... but may not reply to assistant tickets: the reply box is disabled.
    a = await v.call("assist", {"text": "can I speak with a human operator?"})
    assert a["ok"] and a["handoff"], a
    t_row = cp.page.locator(f"#ticket-list li.ticket[data-ticket='{a['ticket']}']")
    await t_row.wait_for(timeout=WAIT_MS)
    assert await t_row.locator("input").is_disabled()
    assert await t_row.locator("button[type=submit]").is_disabled()

    # Had it tried anyway, the server's refusal is shown, not swallowed.
    refused = await host(cp, f"h.act('assist.reply', {{ticket: {a['ticket']!r}, text: 'hi'}})")
    assert refused["ok"] is False and refused["error"]["code"] == "forbidden", refused
    toast = cp.page.locator("#toasts .toast.error", has_text="forbidden")
    await toast.wait_for(timeout=WAIT_MS)
    assert (await host(cp, "h.errors"))[-1]["code"] == "forbidden"
    # Another room than the token's is refused the same way.
    other = await host(cp, "h.act('host.watch', {room: 'no-such-room-for-this-token'})")
    assert other["ok"] is False and other["error"]["code"] in ("forbidden", "not_found"), other
    cp.assert_clean()


async def test_revoked_token_is_signed_out_and_a_host_revokes_from_the_console(
    live_server: Any, client_page: ClientPage, staff: list[Any]
) -> None:
    from server.auth import token_id
    from tests.conftest import StaffClient

    cp = client_page
    mo_token = mint(live_server.secret, role="moderator", rooms=["showroom"], ttl_s=600, name="Mo Moderator")
    await open_console(cp, live_server.url, mo_token)
    assert await cp.page.locator("#staff-panel").is_hidden()  # only hosts see who is signed in
    boss = StaffClient("host", "*", name="Boss")
    staff.append(boss)
    await boss.connect(live_server.url)
    assert (await boss.call("staff.revoke", {"jti": token_id(mo_token)}))["ok"]
    error = cp.page.locator("#signin-error")
    await error.wait_for(state="visible", timeout=WAIT_MS)
    assert "token revoked" in (await error.text_content() or "")
    await shot(cp, "host_revoked")

    # Signed in as a host, the console lists the staff on the node and revokes with two clicks.
    other = StaffClient("operator", "*", name="Otto Operator")
    staff.append(other)
    await other.connect(live_server.url)
    token = mint(live_server.secret, role="host", rooms="*", ttl_s=600, name="Hanna Host")
    await open_console(cp, live_server.url, token)
    await cp.page.locator("#staff-panel").wait_for(state="visible", timeout=WAIT_MS)
    row = cp.page.locator(f"#staff-list li[data-jti='{token_id(other.token)}']")
    await row.wait_for(timeout=WAIT_MS)
    assert "Otto Operator" in (await row.text_content() or "")
    assert await cp.page.text_content("#my-jti") == token_id(token)
    await shot(cp, "host_staff_panel")
    button = row.locator("button")
    await button.click()
    await button.click()  # the second click within 3 s confirms
    await eventually(lambda: other.got("session.end"), timeout=10)
    assert other.got("session.end")[0] == {"reason": "revoked"}
    await row.wait_for(state="detached", timeout=WAIT_MS)
    assert await host(cp, "h.errors") == []
    cp.assert_clean()


async def test_host_takes_a_question_down_and_chooses_where_a_mute_or_ban_holds(
    live_server: Any, client_page: ClientPage, visitors: list[Visitor]
) -> None:
    cp = client_page
    token = mint(live_server.secret, role="host", rooms="*", ttl_s=600, name="Hanna Host")
    await open_console(cp, live_server.url, token)
    ada = await connect_visitor(live_server.url, "Ada", visitors)
    bob = await connect_visitor(live_server.url, "Bob", visitors)

    # A question goes up on every board; Delete in the Q&A queue takes it down for everyone.
    asked = await ada.call("qa.ask", {"text": "Anyone selling tickets cheap?"})
    await eventually(lambda: any(q["id"] == asked["id"] for m in bob.events.get("qa", []) for q in m["top"]), timeout=10)
    q_row = cp.page.locator(f"#qa-list li[data-id='{asked['id']}']")
    await q_row.wait_for(timeout=WAIT_MS)
    await shot(cp, "host_qa_delete")
    await q_row.locator("[data-act='qa-delete']").click()
    await q_row.wait_for(state="detached", timeout=WAIT_MS)
    await eventually(lambda: all(q["id"] != asked["id"] for q in bob.events["qa"][-1]["top"]), timeout=10)

    # Next to the mute and ban buttons: where it holds, the server's default pre-selected.
    said = await ada.call("chat", {"text": "hello", "scope": "room"})
    row = cp.page.locator(f"#chat-list li.msg[data-id='{said['id']}']")
    await row.wait_for(timeout=WAIT_MS)
    await row.hover()
    assert await row.locator("select[data-scope='mute']").input_value() == "room"
    assert await row.locator("select[data-scope='ban']").input_value() == "event"
    await shot(cp, "host_scope_choice")
    await row.locator("select[data-scope='mute']").select_option("event")
    await row.locator("[data-act='mute-5']").click()
    await eventually(lambda: any(m.get("action") == "muted" for m in ada.events.get("moderation", [])), timeout=10)
    await ada.join("concert")
    assert (await ada.call("chat", {"text": "over here then"}))["error"]["code"] == "muted"

    ban = row.locator("[data-act='ban']")
    await row.hover()
    await ban.click()
    await ban.click()  # the second click confirms
    banned_row = cp.page.locator("#banned-list li.person", has_text="Ada")
    await banned_row.wait_for(timeout=WAIT_MS)
    assert "whole event" in (await banned_row.text_content() or "")
    for room in ("concert", "studio", "showroom"):
        assert (await ada.call("join", {"room": room}))["error"]["code"] == "banned", room
    await cp.page.mouse.move(5, 400)
    await cp.page.wait_for_function("document.querySelectorAll('#toasts .toast').length === 0", timeout=WAIT_MS)
    await shot(cp, "host_scope_banned")
    assert await host(cp, "h.errors") == []
    cp.assert_clean()
