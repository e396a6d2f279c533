"""The host console's Show and Analytics tabs against a real server.

Wheel: the console signed in as a host opens betting in the `studio`, a python visitor bets,
the console spins; it shows the same result as the server sends the visitor and the revealed
seed verifies (sha256 here, in Python, and in the page). Concert: the console starts the show
and cues "drop"; a python visitor's `show` has the same cues. Analytics: the funnel follows a
python visitor who views and tries a product, the heatmap is drawn from the binary grid, a
drop's conversion shows, and the CSV/JSON report downloads with the staff token. Screenshots of
each tab at 1280x800 go to test-artifacts/."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path
from typing import Any

import pytest

from server.auth import mint
from tests.conftest import Visitor, eventually
from tests.e2e.conftest import ClientPage
from tests.e2e.test_host_console import WAIT_MS, host, open_console, shot

pytestmark = pytest.mark.browser


async def join(url: str, name: str, room: str, made: list[Visitor]) -> tuple[Visitor, dict[str, Any]]:
    v = Visitor(name)
    made.append(v)
    await v.connect(url)
    return v, await v.join(room)


async def quiet(cp: ClientPage) -> None:
    """No hover toolbar, no toasts: ready for a screenshot."""
    await cp.page.mouse.move(5, 790)
    await cp.page.wait_for_function("document.querySelectorAll('#toasts .toast').length === 0", timeout=WAIT_MS)


def shows(v: Visitor, phase: str | None = None) -> list[dict[str, Any]]:
    return [s for s in v.events.get("show", []) if s and (phase is None or s.get("phase") == phase)]


async def test_host_runs_a_wheel_round_and_the_seed_verifies(
    live_server: Any, client_page: ClientPage, visitors: list[Visitor]
) -> None:
    cp = client_page
    token = mint(live_server.secret, role="host", rooms=["studio"], ttl_s=600, name="Wanda Wheel")
    await open_console(cp, live_server.url, token, room="studio")
    # The watch snapshot carries the wheel: a Show tab appears, with the kind in its label.
    tab = cp.page.locator("#tab-show")
    await tab.wait_for(timeout=WAIT_MS)
    assert "Wheel" in (await tab.text_content() or "")
    await tab.click()
    assert await host(cp, "h.tab") == "show"
    panel = cp.page.locator("#wheel-panel")
    await panel.wait_for(timeout=WAIT_MS)
    assert await panel.get_attribute("data-phase") == "idle"
    assert await cp.page.locator("#wheel-spin").is_disabled()
    # The console's server clock (from welcome/stats `t`) is within a hair of this machine's.
    await cp.page.wait_for_function("window.vetrinaHost.stats !== null", timeout=WAIT_MS)
    assert abs(await host(cp, "h.clockOffset")) < 500

    pia, ack = await join(live_server.url, "Pia", "studio", visitors)
    balance = ack["balance"]

    # Bad input is explained, nothing is sent.
    await cp.page.fill("#wheel-seconds", "2")
    await cp.page.click("#wheel-open")
    assert await cp.page.get_attribute("#wheel-seconds", "aria-invalid") == "true"
    assert "5 to 300" in (await cp.page.text_content("#wheel-hint") or "")

    # Open betting for 60 s (the console spins long before it closes by itself).
    await cp.page.fill("#wheel-seconds", "60")
    await cp.page.click("#wheel-open")
    betting = (await eventually(lambda: shows(pia, "betting"), timeout=10))[-1]
    rid, commit = betting["round"], betting["commit"]
    await cp.page.locator(f"#wheel-panel[data-phase='betting'][data-round='{rid}']").wait_for(timeout=WAIT_MS)
    assert await cp.page.text_content("#wheel-commit") == commit
    assert await cp.page.locator("#wheel-open").is_disabled() and await cp.page.locator("#wheel-spin").is_enabled()
    # The countdown runs on the server's clock: ~60 s to go.
    left = await cp.page.text_content("#wheel-countdown") or ""
    assert left in ("1:00", "0:59", "0:58"), left
    assert "Betting" in (await cp.page.text_content("#show-badge") or "")

    # The visitor bets; the same bet id again is charged once; the crowd totals follow.
    bet = {"round": rid, "segment": "2", "amount": 100, "id": "pia-1"}
    assert (await pia.call("bet", bet)) == {"ok": True, "balance": balance - 100}
    assert (await pia.call("bet", bet)) == {"ok": True, "balance": balance - 100}
    assert (await pia.call("bet", {**bet, "segment": "10", "amount": 25, "id": "pia-2"}))["ok"]
    await cp.page.locator("#wheel-totals li[data-segment='2'][data-credits='100']").wait_for(timeout=WAIT_MS)
    await cp.page.locator("#wheel-totals li[data-segment='10'][data-credits='25']").wait_for(timeout=WAIT_MS)
    assert "125 credits" in (await cp.page.text_content("#totals-sum") or "")
    await quiet(cp)
    await shot(cp, "host_show_wheel_betting")

    # Spin now: betting closes, the wheel turns, the console lands where the server says.
    await cp.page.click("#wheel-spin")
    await eventually(lambda: shows(pia, "spinning"), timeout=10)
    await cp.page.locator("#wheel-panel[data-phase='spinning']").wait_for(timeout=WAIT_MS)
    late = await pia.call("bet", {**bet, "id": "pia-3"})
    assert late["error"]["code"] == "closed", late
    await quiet(cp)
    await shot(cp, "host_show_wheel_spinning")  # mid-spin: the wheel turns on the server's times
    final = (await eventually(lambda: [s for s in shows(pia, "result") if s.get("round") == rid], timeout=60))[-1]
    result_box = cp.page.locator(f"#wheel-result[data-result='{final['result']}']")
    await result_box.wait_for(timeout=WAIT_MS)
    assert await result_box.get_attribute("data-multiplier") == str(final["multiplier"])

    # Commit–reveal: the seed the console shows hashes to the commit it showed while betting.
    seed = await cp.page.text_content("#wheel-seed") or ""
    assert seed == final["seed"]
    assert hashlib.sha256(bytes.fromhex(seed)).hexdigest() == commit == final["commit"]
    await cp.page.locator("#wheel-verify[data-ok='true']").wait_for(timeout=WAIT_MS)
    checked = (await host(cp, "h.rounds"))[rid]
    assert checked["ok"] and checked["commitOk"] and checked["spinsOk"], checked
    assert checked["result"] == final["result"]
    # The history lists the round first; the visitor's payout matches the result.
    first = cp.page.locator("#wheel-history li.hist").first
    await cp.page.locator(f"#wheel-history li.hist[data-round='{rid}']").wait_for(timeout=WAIT_MS)
    assert await first.get_attribute("data-round") == rid
    assert await first.get_attribute("data-result") == final["result"]
    payout = (await eventually(lambda: pia.events.get("payout"), timeout=10))[-1]
    m = final["multiplier"]
    won = {"2": 100 * 2 * m + 100, "10": 25 * 10 * m + 25}.get(final["result"], 0)
    assert payout == {"round": rid, "won": won, "balance": balance - 125 + won}
    await cp.page.locator("#wheel-open").wait_for(state="visible")
    assert await cp.page.locator("#wheel-open").is_enabled()
    await quiet(cp)
    await shot(cp, "host_show_wheel")

    # While a round runs, another wheel.open is refused: the console shows it.
    await cp.page.fill("#wheel-seconds", "30")
    await cp.page.click("#wheel-open")
    await cp.page.locator("#wheel-panel[data-phase='betting']").wait_for(timeout=WAIT_MS)
    refused = await host(cp, "h.act('wheel.open', {room: 'studio', seconds: 10})")
    assert refused["error"]["code"] == "conflict", refused
    await cp.page.locator("#toasts .toast.error", has_text="conflict").wait_for(timeout=WAIT_MS)
    assert await host(cp, "h.call('wheel.spin', {room: 'studio'})") == {"ok": True, "round": await host(cp, "h.show.round")}
    assert [e["code"] for e in await host(cp, "h.errors")] == ["conflict"]
    cp.assert_clean()


async def test_host_starts_the_concert_and_cues_the_drop(
    live_server: Any, client_page: ClientPage, visitors: list[Visitor]
) -> None:
    cp = client_page
    token = mint(live_server.secret, role="host", rooms=["concert"], ttl_s=600, name="Carlo Concert")
    await open_console(cp, live_server.url, token, room="concert")
    await cp.page.locator("#tab-show", has_text="Concert").click()
    await cp.page.locator("#concert-panel").wait_for(timeout=WAIT_MS)
    assert await cp.page.text_content("#concert-start") == "Start show"
    ada, ack = await join(live_server.url, "Ada", "concert", visitors)
    assert ack["show"]["phase"] == "idle"

    await cp.page.click("#concert-start")
    started = (await eventually(lambda: [s for s in shows(ada) if s.get("cues")], timeout=10))[-1]
    assert [c["id"] for c in started["cues"]][:2] == ["doors", "intro"]
    rows = cp.page.locator("#setlist li.cue")
    await cp.page.wait_for_function(f"document.querySelectorAll('#setlist li.cue').length === {len(started['cues'])}",
                                    timeout=WAIT_MS)
    assert await rows.first.get_attribute("data-at") == str(started["cues"][0]["at"])
    assert await host(cp, "h.show.cues") == started["cues"]
    # The first cue starts `lead_s` after the start: counted down, then "Doors" is playing.
    await cp.page.locator("#concert-next-label", has_text="Doors").wait_for(timeout=WAIT_MS)
    await cp.page.locator("#concert-now", has_text="Doors").wait_for(timeout=WAIT_MS)
    await cp.page.locator("#setlist li.cue[data-cue='doors'].st-now").wait_for(timeout=WAIT_MS)
    assert await cp.page.text_content("#concert-start") == "Restart show"

    # Cue "The Drop": every visitor gets the same re-planned timeline.
    await cp.page.click("#setlist li.cue[data-cue='drop'] .cue-btn")
    jump = (await eventually(lambda: [s for s in shows(ada) if s.get("cues") and s["cues"][0]["id"] == "drop"],
                             timeout=10))[-1]
    await cp.page.wait_for_function(
        "window.vetrinaHost.show && window.vetrinaHost.show.cues && window.vetrinaHost.show.cues[0].id === 'drop'",
        timeout=WAIT_MS,
    )
    assert await host(cp, "h.show.cues") == jump["cues"]
    drop_row = cp.page.locator("#setlist li.cue[data-cue='drop']")
    assert await drop_row.get_attribute("data-at") == str(jump["cues"][0]["at"])
    # The whole set stays listed (the cues before the jump as played or skipped).
    assert await cp.page.locator("#setlist li.cue").count() == len(started["cues"])
    await cp.page.locator("#setlist li.cue[data-cue='drop'].st-now").wait_for(timeout=WAIT_MS)
    await cp.page.locator("#concert-now", has_text="The Drop").wait_for(timeout=WAIT_MS)
    await cp.page.locator("#concert-effects .fx", has_text="Strobe").wait_for(timeout=WAIT_MS)
    assert await cp.page.get_attribute("#setlist li.cue[data-cue='intro']", "data-status") in ("played", "skipped")
    late, late_ack = await join(live_server.url, "Late", "concert", visitors)
    assert late_ack["show"]["cues"] == jump["cues"]
    await quiet(cp)
    await shot(cp, "host_show_concert")

    # Restarting a running show needs a second click.
    await cp.page.click("#concert-start")
    assert await cp.page.text_content("#concert-start") == "Click again to restart"
    n = len(shows(ada))
    await cp.page.wait_for_timeout(300)
    assert len(shows(ada)) == n  # nothing sent yet
    assert await host(cp, "h.errors") == []
    cp.assert_clean()


async def test_analytics_tab_charts_and_downloads(
    live_server: Any, client_page: ClientPage, visitors: list[Visitor]
) -> None:
    cp = client_page
    token = mint(live_server.secret, role="host", rooms=["showroom"], ttl_s=600, name="Anna Analytics")
    await open_console(cp, live_server.url, token, room="showroom")
    assert await cp.page.locator("#tab-show").is_hidden()  # no show in the showroom
    await cp.page.click("#tab-analytics")
    assert await host(cp, "h.tab") == "analytics"

    # Two python visitors: one views, tries on and adds to the cart; both view.
    eva, _ = await join(live_server.url, "Eva", "showroom", visitors)
    gil, _ = await join(live_server.url, "Gil", "showroom", visitors)
    before = (await host(cp, "h.stats")) or {}
    base = {k: (before.get("funnel") or {}).get(k, 0) for k in ("viewed", "tried", "cart", "claimed")}
    for v in (eva, gil):
        assert (await v.call("product.view", {"product": "luna-bag"}))["ok"]
    assert (await eva.call("product.try", {"product": "luna-bag", "variant": "cognac"}))["ok"]
    assert (await eva.call("cart.add", {"product": "luna-bag", "variant": "cognac"}))["ok"]

    async def stage(name: str, value: int) -> None:
        await cp.page.locator(f"#funnel li[data-stage='{name}'][data-value='{value}']").wait_for(timeout=WAIT_MS)

    await stage("viewed", base["viewed"] + 2)
    await stage("tried", base["tried"] + 1)
    await stage("cart", base["cart"] + 1)
    await cp.page.locator("#top-products tr[data-product='luna-bag']").wait_for(timeout=WAIT_MS)
    assert "Luna" in (await cp.page.text_content("#top-products tr[data-product='luna-bag'] th") or "")

    # A drop of 4, one claimed: 25 % conversion.
    started = await host(cp, "h.act('offer.start', {room: 'showroom', product: 'orbita-watch', price: 300, stock: 4, seconds: 120})")
    assert started["ok"], started
    offer = (await eventually(lambda: [o for o in eva.events.get("offer", []) if o.get("id") == started["offer"]], timeout=10))[0]
    assert (await gil.call("offer.claim", {"offer": offer["id"]}))["ok"]
    conv = cp.page.locator(f"#conversions li[data-offer='{offer['id']}'][data-orders='1'][data-initial='4']")
    await conv.wait_for(timeout=WAIT_MS)
    assert "25 %" in (await conv.text_content() or "")
    await stage("claimed", base["claimed"] + 1)

    # The heatmap: decoded from the uint16 bytes, at least our two visitors, drawn in colour.
    heat = cp.page.locator("#heatmap[data-drawn='1']")
    await heat.wait_for(timeout=WAIT_MS)
    await cp.page.wait_for_function("Number(document.getElementById('heatmap').dataset.total) >= 2", timeout=WAIT_MS)
    stats = await host(cp, "h.stats")
    rows, cols = stats["heatmap"]["shape"]
    assert await heat.get_attribute("data-shape") == f"{rows}x{cols}"
    coloured = await cp.page.evaluate(
        """() => {
          const c = document.getElementById('heatmap');
          const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          let n = 0;
          for (let i = 0; i < d.length; i += 4) if (d[i] < 120 && d[i + 1] < 60 && d[i + 2] < 120 && d[i + 3] > 200) n++;
          return n;  // pixels in the ramp's darkest colour: the fullest cell
        }"""
    )
    assert coloured > 0
    # The attendance chart has samples (one a second, plus the report's older ones).
    await cp.page.wait_for_function("Number(document.getElementById('att-chart').dataset.points) >= 2", timeout=WAIT_MS)
    assert int(await cp.page.text_content("#an-visitors") or "0") >= 2

    # Dwell: the heatmap from the report (avatar-seconds per cell).
    await cp.page.click("#heat-mode button[data-mode='dwell']")
    await cp.page.locator("#heatmap[data-mode='dwell'][data-drawn='1']").wait_for(timeout=WAIT_MS)
    await cp.page.wait_for_function("Number(document.getElementById('heatmap').dataset.total) >= 2", timeout=WAIT_MS)
    await shot(cp, "host_analytics_dwell")
    await cp.page.click("#heat-mode button[data-mode='live']")
    await cp.page.locator("#heatmap[data-mode='live'][data-drawn='1']").wait_for(timeout=WAIT_MS)

    # Downloads: fetched with the Bearer token, saved through a Blob URL.
    async with cp.page.expect_download() as info:
        await cp.page.click("#dl-csv")
    download = await info.value
    assert download.suggested_filename.startswith("vetrina-showroom-analytics-")
    assert download.suggested_filename.endswith(".csv")
    text = Path(await download.path()).read_text(encoding="utf-8")
    got = {(r["section"], r["key"], r["metric"]): r["value"] for r in csv.DictReader(io.StringIO(text))}
    assert int(got[("funnel", "luna-bag", "viewed")]) >= 2
    assert int(got[("funnel", "luna-bag", "tried")]) >= 1
    await cp.page.locator("#dl-status", has_text="CSV downloaded").wait_for(timeout=WAIT_MS)
    async with cp.page.expect_download() as info:
        await cp.page.click("#dl-json")
    report = json.loads(Path(await (await info.value).path()).read_text(encoding="utf-8"))
    assert report["room"] == "showroom" and report["funnel"]["products"]["luna-bag"]["viewed"] >= 2
    assert (await host(cp, "h.lastExport"))["status"] == 200

    await quiet(cp)
    await cp.page.wait_for_timeout(1200)  # one more stats sample on the charts
    await shot(cp, "host_analytics")
    # The Live tab is unchanged: chat, shop and moderation side by side.
    await cp.page.click("#tab-live")
    await cp.page.locator("#chat-panel").wait_for(timeout=WAIT_MS)
    assert await cp.page.locator("#shop-col").is_visible()
    assert await cp.page.locator("#analytics-view").is_hidden()
    await shot(cp, "host_live_tab")
    assert await host(cp, "h.errors") == []
    cp.assert_clean()


@pytest.mark.parametrize("role", ["moderator", "operator"])
async def test_only_hosts_get_the_show_tab(live_server: Any, client_page: ClientPage, role: str) -> None:
    cp = client_page
    token = mint(live_server.secret, role=role, rooms=["studio"], ttl_s=600, name=f"Staff {role}")
    await open_console(cp, live_server.url, token, room="studio")
    await cp.page.wait_for_function("window.vetrinaHost.stats !== null", timeout=WAIT_MS)
    assert await cp.page.locator("#tab-show").is_hidden()
    assert await host(cp, "h.can('shows')") is False
    # Analytics is for every staff role, the report download included.
    await cp.page.click("#tab-analytics")
    await cp.page.locator("#heatmap[data-drawn='1']").wait_for(timeout=WAIT_MS)
    async with cp.page.expect_download() as info:
        await cp.page.click("#dl-json")
    assert json.loads(Path(await (await info.value).path()).read_text(encoding="utf-8"))["room"] == "studio"
    refused = await host(cp, "h.call('wheel.open', {room: 'studio', seconds: 10})")
    assert refused["error"]["code"] == "forbidden", refused
    cp.assert_clean()
