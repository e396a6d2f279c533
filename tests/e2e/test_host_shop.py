"""The host console's shop panel against a real server: a host picks a product from the room's
catalog, spotlights it (a python visitor gets `spotlight`) and starts a drop of 3; python
visitors race for it (three orders, the fourth is sold out) and the console's drop list follows
the stock down to "sold out". Moderators and operators see no shop; bad input is explained."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from server.auth import mint
from tests.conftest import StaffClient, Visitor, eventually
from tests.e2e.conftest import ClientPage
from tests.e2e.test_host_console import WAIT_MS, connect_visitor, host, open_console, shot

pytestmark = pytest.mark.browser


async def test_host_spotlights_and_runs_a_drop(
    live_server: Any, client_page: ClientPage, visitors: list[Visitor]
) -> None:
    cp = client_page
    token = mint(live_server.secret, role="host", rooms=["showroom"], ttl_s=600, name="Sara Shop")
    await open_console(cp, live_server.url, token)
    # The product picker is filled from GET /api/rooms/showroom.
    await cp.page.wait_for_function("window.vetrinaHost.catalog.length > 0", timeout=WAIT_MS)
    assert await cp.page.locator("#shop-col").is_visible()
    options = await cp.page.eval_on_selector_all("#shop-product option", "os => os.map(o => o.value)")
    assert "orbita-watch" in options and "luna-bag" in options, options

    ada = await connect_visitor(live_server.url, "Ada", visitors)

    # Spotlight: the visitor gets the product; the console shows it and logs it.
    await cp.page.select_option("#shop-product", "orbita-watch")
    assert await cp.page.input_value("#drop-price") == "420"  # the catalog price, prefilled
    await cp.page.click("#spotlight-btn")
    got = await eventually(lambda: ada.events.get("spotlight"), timeout=10)
    assert got[0]["product"]["id"] == "orbita-watch" and got[0]["by"] == "Sara Shop"
    await cp.page.locator("#spotlight-now", has_text="Orbita Watch").wait_for(timeout=WAIT_MS)
    await cp.page.locator("#log-list .log-row", has_text="spotlighted Orbita Watch").wait_for(timeout=WAIT_MS)

    # Bad input is explained next to the form and nothing is sent.
    await cp.page.select_option("#shop-product", "luna-bag")
    await cp.page.fill("#drop-stock", "0")
    await cp.page.click("#drop-btn")
    assert await cp.page.get_attribute("#drop-stock", "aria-invalid") == "true"
    assert "Stock must be a whole number" in (await cp.page.text_content("#shop-hint") or "")
    await cp.page.fill("#drop-stock", "3")
    await cp.page.fill("#drop-seconds", "2")
    await cp.page.click("#drop-btn")
    assert "Duration must be" in (await cp.page.text_content("#shop-hint") or "")
    assert await host(cp, "h.drops") == []

    # A drop of 3 at 99.50 for 60 s: the visitors are told, the console lists it live.
    racers = [ada] + [await connect_visitor(live_server.url, f"Racer {i}", visitors) for i in range(3)]
    await cp.page.fill("#drop-price", "99.5")
    await cp.page.fill("#drop-seconds", "60")
    await cp.page.click("#drop-btn")
    def luna(v: Visitor) -> list[dict[str, Any]]:
        return [m for m in v.events.get("offer", []) if m.get("product") == "luna-bag"]

    offer = (await eventually(lambda: all(luna(v) for v in racers) and luna(ada), timeout=10))[0]
    assert (offer["product"], offer["price"], offer["stock"]) == ("luna-bag", 99.5, 3)
    row = cp.page.locator(f"#drop-list li.drop[data-offer='{offer['id']}']")
    await row.wait_for(timeout=WAIT_MS)
    assert await row.get_attribute("data-state") == "live"
    assert "3 left" in (await row.text_content() or "")
    assert "ends in" in (await row.locator(".drop-clock").text_content() or "")

    # Three claims win an order each, the fourth is refused (one after another: a fixed winner
    # set) with `sold_out`, even a tick after the drop closed by selling out.
    acks = []
    for v in racers:
        acks.append(await v.call("offer.claim", {"offer": offer["id"]}))
    assert [a["ok"] for a in acks] == [True, True, True, False], acks
    assert acks[3]["error"]["code"] == "sold_out", acks[3]
    assert len({a["order"] for a in acks[:3]}) == 3

    # The console follows the stock down: 0 left, 3 orders, sold out (ended).
    await cp.page.wait_for_function(
        f"window.vetrinaHost.drops.some(d => d.id === {offer['id']!r} && d.ended && d.stock === 0 && d.orders === 3)",
        timeout=WAIT_MS,
    )
    done = cp.page.locator(f"#drop-list li.drop[data-offer='{offer['id']}'][data-state='sold-out']")
    await done.wait_for(timeout=WAIT_MS)
    assert await done.locator(".drop-left").text_content() == "0 left"
    assert await done.locator(".drop-of").text_content() == "of 3"
    assert await done.locator(".drop-orders").text_content() == "3 orders"
    assert await done.locator(".status").text_content() == "Sold out"
    assert "€99.50" in (await done.locator(".drop-price").text_content() or "")

    # A second drop stays live next to it, with its countdown; then a look at the layout.
    await cp.page.select_option("#shop-product", "brezza-scarf")
    await cp.page.fill("#drop-stock", "25")
    await cp.page.fill("#drop-seconds", "300")
    await cp.page.click("#drop-btn")
    await cp.page.locator("#drop-list li.drop[data-product='brezza-scarf'][data-state='live']").wait_for(timeout=WAIT_MS)
    scarf = await eventually(lambda: [m for m in ada.events.get("offer", []) if m.get("product") == "brezza-scarf"],
                             timeout=10)
    claim = await ada.call("offer.claim", {"offer": scarf[0]["id"]})
    assert claim["ok"], claim
    await cp.page.locator("#drop-list li.drop[data-product='brezza-scarf'] .drop-orders",
                          has_text="1 order").wait_for(timeout=WAIT_MS)
    await cp.page.mouse.move(5, 790)
    await cp.page.wait_for_function("document.querySelectorAll('#toasts .toast').length === 0", timeout=WAIT_MS)
    await shot(cp, "host_shop")
    assert await host(cp, "h.errors") == []

    # A reload (the watch ack has no drops) learns them from the room's `stats.offers`.
    await cp.page.reload()
    await cp.page.wait_for_function(
        "window.vetrinaHost && window.vetrinaHost.watching === 'showroom'", timeout=WAIT_MS
    )
    await cp.page.locator(f"#drop-list li.drop[data-offer='{offer['id']}'][data-state='sold-out']",
                          has_text="3 orders").wait_for(timeout=WAIT_MS)
    await cp.page.locator("#drop-list li.drop[data-product='brezza-scarf'][data-state='live']",
                          has_text="24 left").wait_for(timeout=WAIT_MS)
    # (The current spotlight is not restored: the watch ack's `log` lacks the shop's modlog entries.)
    cp.assert_clean()


async def test_refused_drop_and_a_room_without_catalog(live_server: Any, client_page: ClientPage) -> None:
    """What the server refuses (here a product the picker cannot offer: sent through the hook)
    is shown like every other refusal of the console; a room without a catalog (the game-show studio) has no shop."""
    cp = client_page
    token = mint(live_server.secret, role="host", rooms=["showroom", "studio"], ttl_s=600, name="Sara Shop")
    await open_console(cp, live_server.url, token)
    ack = await host(cp, "h.act('offer.start', {room: 'showroom', product: 'no-such-thing', price: 1, stock: 1, seconds: 10})")
    assert ack["ok"] is False and ack["error"]["code"] == "not_found", ack
    await cp.page.locator("#toasts .toast.error", has_text="not_found").wait_for(timeout=WAIT_MS)
    assert (await host(cp, "h.errors"))[-1]["event"] == "offer.start"

    await cp.page.select_option("#room-select", "studio")
    await cp.page.wait_for_function("window.vetrinaHost.watching === 'studio'", timeout=WAIT_MS)
    await cp.page.locator("#shop-hint", has_text="no catalog").wait_for(timeout=WAIT_MS)
    assert await cp.page.locator("#drop-btn").is_disabled()
    assert await cp.page.locator("#spotlight-btn").is_disabled()
    assert await host(cp, "h.catalog") == []
    cp.assert_clean()


@pytest.mark.parametrize("role", ["moderator", "operator"])
async def test_only_hosts_see_the_shop(live_server: Any, client_page: ClientPage, role: str) -> None:
    cp = client_page
    token = mint(live_server.secret, role=role, rooms=["showroom"], ttl_s=600, name=f"Staff {role}")
    await open_console(cp, live_server.url, token)
    await asyncio.sleep(0.3)
    assert await cp.page.locator("#shop-col").is_hidden()
    assert await host(cp, "h.can('shop')") is False
    refused = await host(cp, "h.call('spotlight', {room: 'showroom', product: 'luna-bag'})")
    assert refused["ok"] is False and refused["error"]["code"] == "forbidden", refused
    cp.assert_clean()


async def test_a_claim_after_the_sell_out_is_sold_out(
    live_server: Any, visitors: list[Visitor], staff: list[StaffClient]
) -> None:
    sara = StaffClient("host", ["showroom"], name="Sara", secret=live_server.secret)
    staff.append(sara)
    await sara.connect(live_server.url)
    started = await sara.call("offer.start", {"room": "showroom", "product": "luna-bag", "price": 10,
                                              "stock": 1, "seconds": 60})
    first = await connect_visitor(live_server.url, "First", visitors)
    late = await connect_visitor(live_server.url, "Late", visitors)
    assert (await first.call("offer.claim", {"offer": started["offer"]}))["ok"]
    await asyncio.sleep(0.3)  # a few ticks later: the drop has ended by selling out
    refused = await late.call("offer.claim", {"offer": started["offer"]})
    assert refused["error"]["code"] == "sold_out", refused
