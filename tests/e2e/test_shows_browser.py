"""The live shows in the browser against the real server: a money-wheel round played through the
UI (the animation lands on the server's segment at the server's moment, the payout matches, the
draw verifies), a concert whose current cue matches the server's timeline (late joiners too),
"For you" notices, and screenshots on a desktop and a phone."""

from __future__ import annotations

import asyncio
import hashlib
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser

from tests.conftest import StaffClient, Visitor, eventually
from tests.e2e.conftest import ClientPage, open_client, visible_boxes
from tests.e2e.conftest import assert_apart as apart
from tests.e2e.conftest import wait_page as page_wait
from world.shows.wheel import SEGMENTS, spin_index

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}


async def wait_page(cp: ClientPage, expr: str, arg: Any = None, timeout: float = 8000) -> Any:
    """As the shared wait_page, polled every 50 ms (show timings are checked to the tick)."""
    return await page_wait(cp, expr, arg, timeout=timeout, polling=50)


async def phone_page(browser: Browser) -> tuple[Any, ClientPage]:
    context = await browser.new_context(**PHONE)
    cp = ClientPage(await context.new_page())
    cp.page.on("pageerror", lambda exc: cp.errors.append(f"{exc.name}: {exc.message}"))
    cp.page.on("console", lambda msg: cp.console.append(msg.text) if msg.type == "error" else None)
    return context, cp


def shows(v: Visitor) -> list[dict[str, Any]]:
    return [m for m in v.events.get("show", []) if isinstance(m, dict)]


async def assert_apart(cp: ClientPage, selectors: list[str], width: int, height: int) -> dict[str, dict[str, float]]:
    found = await visible_boxes(cp.page, selectors, every=False)
    apart(found, width, height)
    return found


HUD = ["#hud .brand", "#hud .hud-right", "#chat", "#reactions", "#dock"]


def cue_at(state: dict[str, Any], now: float) -> dict[str, Any] | None:
    """The cue playing at server time `now`, as the server's Concert.current computes it."""
    cues = state.get("cues") or []
    if not cues:
        return None
    last = cues[-1]
    if now >= last["at"] + last["duration"]:
        return None
    playing = [c for c in cues if c["at"] <= now]
    return playing[-1] if playing else None


# ------------------------------------------------------------------------------ pure logic
async def test_show_maths_in_the_browser(live_server: Any, client_page: ClientPage) -> None:
    """showmath.js (wheel angles, the commit-reveal check, concert cues) and the notice stack,
    checked in the browser against Python's hashlib and the server's own draw."""
    cp = client_page
    await cp.page.goto(f"{live_server.url}/")
    seed = bytes(range(32))
    spins = [spin_index(seed, "w1-test", i) for i in range(3)]
    message = b"abc" * 50  # several SHA-256 blocks
    out = await cp.page.evaluate(
        """async ([seedHex, spins, segments, message]) => {
          const m = await import('/static/shows/showmath.js');
          const landed = [];
          for (let i = 0; i < segments.length; i++) landed.push(m.landedIndex(m.restAngle(i, segments.length), segments.length));
          const spin = { from: 1.0, index: 17, t0: 1000, endsAt: 7000 };
          const angles = [0, 1000, 2500, 4000, 6999, 7000, 9000].map((t) => m.spinAngle(spin, t));
          const sha = m.toHex(m.sha256js(new TextEncoder().encode(message)));
          const verify = await m.verifyRound({ seed: seedHex, commit: m.toHex(m.sha256js(m.fromHex(seedHex))), round: 'w1-test', spins, segments });
          const forged = await m.verifyRound({ seed: seedHex, commit: '00'.repeat(32), round: 'w1-test', spins, segments });
          const show = { kind: 'concert', phase: 'playing', title: 'T', ends_at: 5000,
            cues: [{ id: 'a', name: 'A', at: 1000, duration: 1000, effects: {} }, { id: 'b', name: 'B', at: 2000, duration: 3000, effects: {} }] };
          const cues = [500, 1000, 1999, 2000, 4999, 5000].map((t) => { const at = m.concertAt(show, t); return [at.phase, at.cue ? at.cue.id : null]; });
          const { Notices } = await import('/static/shows/notices.js');
          const n = new Notices({ request: async () => ({ ok: false }) }, {});
          for (let i = 0; i < 5; i++) n.add({ text: `notice ${i}`, rule: `r${i}` });
          n.add({ text: 'again', rule: 'r4' });
          n.add({ text: '', rule: 'empty' });
          const stack = n.list().map((x) => x.rule);
          const cards = n.box.querySelectorAll('.notice-card').length;
          return { landed, angles, sha, verify, forged, cues, stack, cards, rest: m.restAngle(17) };
        }""",
        [seed.hex(), spins, list(SEGMENTS), message.decode()],
    )
    assert out["landed"] == list(range(len(SEGMENTS)))
    angles = out["angles"]
    assert angles[0] == pytest.approx(1.0) and angles[1] == pytest.approx(1.0)  # at rest until t0
    assert angles[5] == angles[6] == pytest.approx(out["rest"])  # stopped on the target at ends_at
    assert out["sha"] == hashlib.sha256(message).hexdigest()
    assert out["verify"]["ok"] and out["verify"]["spins"] == spins
    assert not out["forged"]["ok"] and out["forged"]["spins"] == spins
    assert out["cues"] == [["starting", None], ["playing", "a"], ["playing", "a"], ["playing", "b"], ["playing", "b"], ["ended", None]]
    assert out["stack"] == ["r2", "r3", "r4"] and out["cards"] == 3  # at most three; a rule again replaces its card
    cp.assert_clean()


# ------------------------------------------------------------------------------ money wheel
async def test_wheel_round_bet_in_the_ui_lands_where_the_server_drew(
    live_server: Any, client_page: ClientPage, browser: Browser, visitors: list[Visitor], staff: list[StaffClient]
) -> None:
    cp = client_page
    watcher = Visitor("Watcher")  # the server's side of the story
    visitors.append(watcher)
    await watcher.connect(live_server.url)
    await watcher.join("studio")
    await open_client(cp, live_server.url, "Bea", "studio")
    assert await cp.vetrina("v.wheel.active") and await cp.vetrina("v.wheel.balance") == 1000
    assert await cp.page.is_disabled('.wheel-bet[data-segment="1"]')  # no round yet
    start_balance = 1000
    await cp.page.click('.wheel-chip[data-amount="100"]')  # the stake, picked before the round opens
    host = StaffClient("host", ["studio"])
    staff.append(host)
    await host.connect(live_server.url)
    # Let the page settle first (shader compiles make the first seconds slow in software GL), and
    # give the clicks 10 s: on a busy 2-core machine a 5 s window is sometimes gone before the
    # second click lands. The host spins early anyway.
    await wait_page(cp, "v.fps > 3", timeout=15_000)
    opened = await host.call("wheel.open", {"room": "studio", "seconds": 10})
    assert opened["ok"], opened
    rid = opened["round"]
    await wait_page(cp, "v.wheel.phase === 'betting' && v.wheel.round === arg", rid)

    # Through the UI: 100 on "1" and 100 on "2"; more than the balance is refused by the server.
    await cp.page.click('.wheel-bet[data-segment="1"]')
    await wait_page(cp, "v.wheel.myBets['1'] === 100 && v.wheel.balance === 900")
    refused = await cp.vetrina("v.bet('5', 950)")
    assert refused["error"]["code"] == "insufficient_funds", refused
    assert "Not enough credits" in await cp.page.text_content("#wheel-panel .wheel-notice")
    await cp.page.click('.wheel-bet[data-segment="2"]')
    await wait_page(cp, "v.wheel.myBets['2'] === 100 && v.wheel.balance === 800")
    bets = {"1": 100, "2": 100}
    # The crowd totals reach everyone, this page included.
    await eventually(lambda: [s for s in shows(watcher) if s.get("totals") == bets], timeout=4)
    await wait_page(cp, "document.querySelector('.wheel-bet[data-segment=\"2\"] .wheel-bet-crowd').textContent === '100'")
    ARTIFACTS.mkdir(exist_ok=True)
    await cp.page.screenshot(path=str(ARTIFACTS / "shows_wheel_desktop_betting.png"))

    spun = await host.call("wheel.spin", {"room": "studio"})
    assert spun["ok"], spun
    await eventually(lambda: [s for s in shows(watcher) if s["phase"] == "spinning" and s["round"] == rid], timeout=4)
    await wait_page(cp, "v.wheel.spinning")
    closed = await cp.vetrina("v.bet('1', 10)")
    assert closed["error"]["code"] == "closed" and "closed" in await cp.page.text_content("#wheel-panel .wheel-notice")
    a1 = await cp.vetrina("v.wheel.angle")
    await asyncio.sleep(0.5)
    assert await cp.vetrina("v.wheel.angle") != a1  # turning
    await cp.page.screenshot(path=str(ARTIFACTS / "shows_wheel_desktop_spinning.png"))

    # A phone joins in the middle of it and shows the same wheel.
    phone_ctx, phone = await phone_page(browser)
    try:
        await open_client(phone, live_server.url, "Pia", "studio")
        if await phone.vetrina("v.wheel.spinning"):
            await phone.page.screenshot(path=str(ARTIFACTS / "shows_wheel_phone_spinning.png"))

        results = await eventually(lambda: [s for s in shows(watcher) if s["phase"] == "result" and s["round"] == rid], timeout=70)
        final = results[-1]
        index = final["spins"][-1]
        assert final["result"] == SEGMENTS[index]
        assert not watcher.events.get("payout")  # the watcher did not bet

        # The page stops on the server's segment, at the server's moment, for every spin it watched.
        got = await wait_page(cp, "v.wheel.shownPhase === 'result' && v.wheel", timeout=15_000)
        assert got["landedIndex"] == index and got["pointerIndex"] == index
        assert got["result"] == final["result"]
        mine = [x for x in got["landings"] if x["round"] == rid]
        assert [x["spin"] for x in mine] == list(range(len(final["spins"])))
        ends = {len(s["spins"]) - 1: s["ends_at"] for s in shows(watcher) if s["phase"] == "spinning" and s["round"] == rid}
        for x in mine:
            assert x["index"] == final["spins"][x["spin"]]
            assert abs(x["at"] - ends[x["spin"]]) < 1000, (x, ends)  # within a frame or so at ~5 fps
        try:
            late = await wait_page(phone, "v.wheel.shownPhase === 'result' && v.wheel", timeout=15_000)
        except Exception:  # say where the late joiner was stuck
            print("phone:", await phone.vetrina("{ wheel: v.wheel, now: v.serverNow(), fps: v.fps, show: v.show && v.show.phase }"))
            raise
        assert late["pointerIndex"] == index and late["result"] == final["result"]

        # Payout: what the server paid us, shown with the balance.
        mult = final["multiplier"]
        won = sum(a * int(seg) * mult + a for seg, a in bets.items() if seg == final["result"])
        spent = sum(bets.values())
        shown = await wait_page(cp, "v.wheel.lastPayout && v.wheel.lastPayout.round === arg && v.wheel", rid)
        assert shown["lastPayout"] == {"round": rid, "won": won, "balance": start_balance - spent + won}
        assert shown["balance"] == start_balance - spent + won
        assert await cp.page.text_content("#wheel-panel .wheel-balance-value") == f"{start_balance - spent + won:,}"
        status = await cp.page.text_content("#wheel-panel .wheel-status")
        assert status.startswith(f"Result: {final['result']}")
        assert (f"you won +{won:,}" in status) if won else ("no win" in status)
        # The fairness check: the page recomputed the draw from the revealed seed.
        assert hashlib.sha256(bytes.fromhex(final["seed"])).hexdigest() == opened["commit"]
        await wait_page(cp, "v.wheel.verified === 'ok'")
        assert await cp.page.text_content("#wheel-panel .wheel-fair-badge") == "verified ✓"
        board = await wait_page(cp, "v.wheel.leaderboard.length && v.wheel.leaderboard")
        assert any(p["name"] == "Bea" and p["balance"] == start_balance - spent + won for p in board)
        assert (await cp.page.locator("#wheel-panel .wheel-hist").first.text_content()).startswith(final["result"])

        await asyncio.sleep(0.6)  # the result pop-in settles
        await cp.page.screenshot(path=str(ARTIFACTS / "shows_wheel_desktop_result.png"))
        await phone.page.screenshot(path=str(ARTIFACTS / "shows_wheel_phone_result.png"))
        await assert_apart(cp, [*HUD, "#wheel-panel"], 1280, 800)
        await assert_apart(phone, [*HUD, "#joystick", "#wheel-panel"], 390, 844)
        # A right-hand panel folds the wheel to its header rather than covering it.
        await cp.page.click("#qa-tab")
        await asyncio.sleep(0.2)
        assert not await cp.page.is_visible("#wheel-panel .wheel-bets")
        await assert_apart(cp, ["#wheel-panel", "#qa"], 1280, 800)
        phone.assert_clean()
    finally:
        await phone_ctx.close()
    cp.assert_clean()


# ------------------------------------------------------------------------------ concert
async def page_cue(cp: ClientPage) -> dict[str, Any]:
    return await cp.page.evaluate(
        "() => { const v = window.vetrina; const now = v.serverNow(); return { now, cue: v.concertCue, concert: v.concert, show: v.show }; }"
    )


def assert_same_cue(got: dict[str, Any], state: dict[str, Any]) -> dict[str, Any] | None:
    expected = cue_at(state, got["now"])
    if expected is None:
        assert got["cue"] is None
        return None
    assert got["cue"] is not None, got
    assert got["cue"]["id"] == expected["id"] and got["cue"]["at"] == expected["at"]
    assert got["cue"]["name"] == expected["name"]
    return expected


async def test_concert_cue_follows_the_server_timeline_and_late_joiners_land_in_it(
    live_server: Any, client_page: ClientPage, browser: Browser, visitors: list[Visitor], staff: list[StaffClient]
) -> None:
    cp = client_page
    watcher = Visitor("Watcher")
    visitors.append(watcher)
    await watcher.connect(live_server.url)
    assert (await watcher.join("concert"))["show"]["phase"] == "idle"
    await open_client(cp, live_server.url, "Cleo", "concert")
    assert await cp.vetrina("v.concert.phase") == "idle" and await cp.vetrina("v.concertCue") is None
    assert await cp.page.is_hidden("#concert-panel")
    # The page's clock agrees with the server's wall clock (same machine).
    skew = await cp.vetrina("v.serverNow()") - time.time() * 1000
    assert abs(skew) < 300, skew

    host = StaffClient("host", ["concert"])
    staff.append(host)
    await host.connect(live_server.url)
    started = await host.call("show.start", {"room": "concert", "kind": "concert"})
    assert started["ok"], started
    state = (await eventually(lambda: shows(watcher)))[-1]
    # Before the first cue: a countdown to it.
    got = await wait_page(cp, "v.concert.phase === 'starting' && v.concert.shown && v.concert")
    assert got["shown"] == state["cues"][0]["name"] and got["cue"] is None
    assert (await cp.page.text_content("#concert-panel .show-clock")).startswith("in 0:0")
    # The first cue plays at its server time, in the page as computed from the server's state.
    await wait_page(cp, "v.concertCue && v.concertCue.id === arg", state["cues"][0]["id"], timeout=8000)
    assert_same_cue(await page_cue(cp), state)
    assert await cp.page.text_content("#concert-panel .concert-label") == "Now playing"
    assert await cp.page.text_content("#concert-panel .concert-cue") == state["cues"][0]["name"]

    # The host jumps to the drop 1.5 s from now: every client switches at that server time.
    at = int(time.time() * 1000) + 1500
    jumped = await host.call("concert.cue", {"room": "concert", "cue": "drop", "at": at})
    assert jumped["ok"], jumped
    state = (await eventually(lambda: [s for s in shows(watcher) if s["cues"][0]["id"] == "drop"]))[-1]
    assert state["cues"][0]["at"] == at
    # During the lead-in the last cue's look stays on and the card says what is next.
    lead = await wait_page(cp, "v.concert.phase === 'starting' && v.concert.label === 'Up next' && v.concert")
    assert lead["shown"] == "The Drop" and lead["effectsOn"]
    seen = await wait_page(cp, "v.concertCue && v.concertCue.id === 'drop' && { now: v.serverNow(), cue: v.concertCue }", timeout=6000)
    assert seen["now"] >= at  # never before its server time
    drop = seen["cue"]
    assert drop["effects"] == {"lights": "#ffffff", "bpm": 128, "fog": True, "lasers": True, "strobe": True, "screen": "♥ ♥ ♥"}
    assert_same_cue(await page_cue(cp), state)
    await wait_page(cp, "document.querySelector('#concert-panel .concert-cue').textContent === 'The Drop'")
    await wait_page(cp, "v.concert.screen === '♥ ♥ ♥'")
    assert await cp.page.is_visible("#show-fx")
    ARTIFACTS.mkdir(exist_ok=True)
    await asyncio.sleep(1)
    await cp.page.screenshot(path=str(ARTIFACTS / "shows_concert_desktop.png"))
    await assert_apart(cp, [*HUD, "#concert-panel"], 1280, 800)

    # A phone joining late computes the same cue from the join ack's state alone.
    phone_ctx, phone = await phone_page(browser)
    try:
        await open_client(phone, live_server.url, "Late", "concert")
        late = await page_cue(phone)
        assert late["show"]["cues"] == state["cues"]
        assert assert_same_cue(late, state)["id"] == "drop"
        await wait_page(phone, "document.querySelector('#concert-panel .concert-cue').textContent === 'The Drop'")
        await asyncio.sleep(1)
        await phone.page.screenshot(path=str(ARTIFACTS / "shows_concert_phone.png"))
        await assert_apart(phone, [*HUD, "#joystick", "#concert-panel"], 390, 844)
        phone.assert_clean()
    finally:
        await phone_ctx.close()
    cp.assert_clean()


# ------------------------------------------------------------------------------ notices
async def test_notices_show_as_for_you_cards(live_server: Any, client_page: ClientPage) -> None:
    cp = client_page
    # Visitors spawn in the showroom's entrance zone: the welcome rule fires within a second or so.
    await open_client(cp, live_server.url, "Noa", "showroom")
    welcome = await wait_page(cp, "v.notices.find((n) => n.rule === 'welcome')", timeout=6000)
    assert "Welcome" in welcome["text"] and welcome["product"] is None
    card = cp.page.locator('#notices .notice-card[data-rule="welcome"]')
    await card.wait_for(state="visible")
    assert await card.locator(".eyebrow").text_content() == "For you"
    assert await card.locator(".notice-text").text_content() == welcome["text"]
    assert await card.locator(".notice-view").count() == 0

    # Viewing the watch fires a rule with a product: its card opens the shop's product panel.
    await cp.vetrina("v.viewProduct('orbita-watch')")
    await cp.vetrina("v.openPanel('shop', false)")
    watch = await wait_page(cp, "v.notices.find((n) => n.rule === 'watch-viewed')", timeout=6000)
    assert watch["product"] == "orbita-watch"
    card = cp.page.locator('#notices .notice-card[data-rule="watch-viewed"]')
    await card.wait_for(state="visible")
    assert await card.locator(".notice-product-name").text_content() == "Orbita Watch"
    await cp.page.screenshot(path=str(ARTIFACTS / "shows_notices_desktop.png"))
    await assert_apart(cp, [*HUD, "#notices"], 1280, 800)
    await card.locator(".notice-view").click()
    await wait_page(cp, "v.product && v.product.id === 'orbita-watch'")
    assert await cp.page.get_attribute("#shop", "data-open") == "true"
    # Dismissed: gone.
    await card.locator(".close").click()
    await wait_page(cp, "!v.notices.some((n) => n.rule === 'watch-viewed')")
    await cp.page.locator('#notices .notice-card[data-rule="watch-viewed"]').wait_for(state="detached")
    cp.assert_clean()
