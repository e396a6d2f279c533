"""The web client's live shopping against the real server: the catalog and the product panel,
trying a variant on (the digital mirror, both ways), the cart with its total surviving a reload,
a stand's card when the visitor walks up to it, limited drops (live stock, a countdown on the
server's clock, one claim, sold out, ended) and the host's spotlight; and a layout where nothing
overlaps on desktop and on a phone."""

from __future__ import annotations

import asyncio
import math
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser

from tests.conftest import StaffClient, Visitor, eventually
from tests.e2e.conftest import ClientPage, assert_apart, open_client, visible_boxes, visitor, wait_page

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
SHOP_FILES = ["shop/index.js", "shop/shop.js", "shop/booth.js", "shop/offer.js"]


async def host(url: str, made: list[StaffClient]) -> StaffClient:
    h = StaffClient("host", ["showroom"], name="Sara")
    made.append(h)
    await h.connect(url)
    return h


def entered_with(v: Visitor, avatar: int) -> list[dict[str, Any]]:
    """The looks `v` was sent for `avatar` in its ticks' `enter` lists, oldest first."""
    return [e[2] for t in v.ticks for e in t.get("enter", []) if e[0] == avatar]


async def money(cp: ClientPage, amount: float, currency: str = "EUR") -> str:
    """The amount as the page formats it (the visitor's locale)."""
    return await cp.page.evaluate(
        "async ([a, c]) => (await import('/static/shop/shop.js')).money(a, c)", [amount, currency]
    )


async def walk(cp: ClientPage, legs: list[tuple[float, float]]) -> None:
    """Walk the page's avatar in straight legs, as clicking the floor does (running)."""
    for x, z in legs:
        assert await cp.vetrina(f"v.walkTo({x}, {z}, {{ run: true }})")
        await cp.page.wait_for_function("!window.vetrina.walking", timeout=30_000)
        me = await cp.vetrina("v.self()")
        assert math.hypot(me["x"] - x, me["z"] - z) < 0.3, f"stopped at {me}, short of {(x, z)}"


async def walk_visitor(v: Visitor, start: list[float], target: tuple[float, float]) -> None:
    """Legal steps (0.4 m at 10 Hz) over the open entrance floor."""
    x, y, z = start
    seq = 0
    while math.dist((x, z), target) > 0.01:
        k = min(1.0, 0.4 / math.dist((x, z), target))
        x, z = x + (target[0] - x) * k, z + (target[1] - z) * k
        seq += 1
        await v.sio.emit("move", {"p": [x, y, z], "yaw": 0.0, "seq": seq})
        await asyncio.sleep(0.1)
    await v.sio.emit("move", {"p": [x, y, z], "yaw": math.pi * 0.75, "seq": seq + 1})  # turned towards the entrance


async def boxes(cp: ClientPage, selectors: list[str]) -> dict[str, dict[str, float]]:
    return await visible_boxes(cp.page, selectors)


def test_shop_text_never_goes_through_innerhtml() -> None:
    for name in [*SHOP_FILES, "main.js", "core/avatars.js"]:
        source = (ROOT / "client_web" / "src" / name).read_text()
        assert not re.search(r"\.(innerHTML|outerHTML)\s*\+?=|insertAdjacentHTML\(|document\.write\(|createContextualFragment", source), name


async def test_catalog_try_on_and_the_digital_mirror_both_ways(
    live_server: Any, client_page: ClientPage, visitors: list[Visitor]
) -> None:
    cp = client_page
    await open_client(cp, live_server.url, "Greta")
    me = await cp.vetrina("v.selfId")
    mira, mira_ack = await visitor(live_server.url, "Mira", visitors)
    await eventually(lambda: entered_with(mira, me), timeout=5)
    await wait_page(cp, "v.avatars().some((a) => a.id === arg)", mira.welcome["id"])

    # The catalog from the Shop button: every product of the room's catalog, with its price.
    catalog = await cp.vetrina("v.catalog")
    assert [p["id"] for p in catalog][:2] == ["aria-sneaker", "luna-bag"] and len(catalog) == 6
    await cp.page.click("#shop-tab")
    assert await cp.page.locator("#shop .shop-row").count() == len(catalog)
    row = cp.page.locator('#shop .shop-row[data-product="aria-sneaker"]')
    assert await row.locator(".shop-row-name").text_content() == "Aria Sneaker"
    assert await row.locator(".shop-row-price").text_content() == await money(cp, 149)

    # The product panel: colour swatches and sizes; sage comes in 41 only.
    await row.click()
    await wait_page(cp, "v.product && v.product.id === 'aria-sneaker' && !v.product.loading")
    assert await cp.page.locator("#shop .swatch-btn").count() == 3
    assert await cp.page.text_content("#shop .product-desc") == "Low-top leather sneaker with a recycled rubber sole, made in Marche."
    await cp.page.click('#shop .swatch-btn[data-color="sage"]')
    assert (await cp.vetrina("v.product"))["variant"] == "sage-41"
    assert await cp.page.get_attribute('#shop .chip[data-size="41"]', "aria-checked") == "true"
    assert await cp.page.is_disabled('#shop .chip[data-size="40"]')
    await cp.page.click("#shop .try-btn")
    await wait_page(cp, "v.wear && v.wear.variant === 'sage-41'")
    worn = await cp.vetrina("v.wear")
    assert worn["part"] == "shoes" and worn["hex"] == "#9caf88" and worn["meshes"] == 2
    assert await cp.page.text_content("#shop .try-btn") == "Wearing it"
    assert "everyone near you" in (await cp.page.text_content("#shop .product-notice") or "")

    # Mira, in view, gets an `enter` for the page's avatar with the new look.
    looks = await eventually(lambda: [lk for lk in entered_with(mira, me) if lk.get("wear", {}).get("variant") == "sage-41"], timeout=5)
    assert looks[-1]["wear"]["hex"] == "#9caf88" and looks[-1]["wear"]["product"] == "aria-sneaker"

    # Mira steps in front of the page's camera, then tries a bag on and then a scarf: the page's
    # avatar of her changes each time, in place.
    mid = mira.welcome["id"]
    here = await cp.vetrina("v.self()")
    d = math.hypot(here["x"], here["z"]) or 1.0
    target = (here["x"] - here["x"] / d * 3.5 + 1.2, here["z"] - here["z"] / d * 3.5)
    await walk_visitor(mira, mira_ack["you"]["p"], target)
    await wait_page(cp, "v.avatars().some((a) => a.id === arg[0] && Math.hypot(a.x - arg[1], a.z - arg[2]) < 0.3)", [mid, *target])
    assert (await mira.call("product.try", {"product": "luna-bag", "variant": "cognac"}))["ok"]
    bag = await wait_page(cp, "(() => { const w = (v.avatars().find((a) => a.id === arg) || {}).wear; return w && w.variant === 'cognac' && w; })()", mid)
    assert bag["part"] == "bag" and bag["hex"] == "#9a5b2e" and bag["meshes"] == 2
    assert (await mira.call("product.try", {"product": "brezza-scarf", "variant": "indigo"}))["ok"]
    scarf = await wait_page(cp, "(() => { const w = (v.avatars().find((a) => a.id === arg) || {}).wear; return w && w.variant === 'indigo' && w; })()", mid)
    assert scarf["part"] == "scarf" and scarf["accent"] == "#3b3f8c"  # the scarf itself is recoloured
    assert [a["name"] for a in await cp.vetrina("v.avatars()")].count("Mira") == 1
    ARTIFACTS.mkdir(exist_ok=True)
    await cp.page.screenshot(path=str(ARTIFACTS / "shop_try_on.png"))

    # A reload resumes the session: the page's avatar still wears the sneakers.
    await cp.page.reload()
    await cp.page.wait_for_function("window.vetrina && window.vetrina.state === 'joined'", timeout=20_000)
    assert await cp.vetrina("v.selfId") == me
    assert (await cp.vetrina("v.wear"))["variant"] == "sage-41"
    cp.assert_clean()


async def test_cart_total_inline_errors_and_reload(live_server: Any, client_page: ClientPage) -> None:
    cp = client_page
    await open_client(cp, live_server.url, "Carla")
    assert (await wait_page(cp, "v.cart.known && v.cart"))["items"] == []
    assert await cp.page.is_hidden("#cart-count")

    await cp.page.click("#shop-tab")
    await cp.page.click('#shop .shop-row[data-product="aria-sneaker"]')
    await wait_page(cp, "v.product && !v.product.loading")
    await cp.page.click('#shop .swatch-btn[data-color="white"]')
    await cp.page.click('#shop .chip[data-size="42"]')
    await cp.page.click('#shop .qty-btn[aria-label="One more"]')
    assert await cp.page.text_content("#shop .qty-value") == "2"
    await cp.page.click("#shop .add-btn")
    await wait_page(cp, "v.cart.count === 2")
    assert "Added to your cart" in (await cp.page.text_content("#shop .product-notice") or "")
    assert await cp.page.text_content("#cart-count") == "2"

    # Another product from the catalog list (back arrow), one piece.
    await cp.page.click("#shop-back")
    await cp.page.click('#shop .shop-row[data-product="brezza-scarf"]')
    await wait_page(cp, "v.product && v.product.id === 'brezza-scarf' && !v.product.loading")
    await cp.page.click('#shop .swatch-btn[data-color="coral"]')
    await cp.page.click("#shop .add-btn")
    cart = await wait_page(cp, "v.cart.count === 3 && v.cart")
    assert cart["total"] == 2 * 149 + 95
    assert [(i["product"], i["variant"], i["qty"]) for i in cart["items"]] == [("aria-sneaker", "white-42", 2), ("brezza-scarf", "coral", 1)]

    # More than the server allows: its error shows inline, the cart is unchanged.
    await cp.page.click("#shop-back")
    await cp.page.click('#shop .shop-row[data-product="aria-sneaker"]')
    await wait_page(cp, "v.product && v.product.id === 'aria-sneaker' && !v.product.loading")
    refused = await cp.vetrina("v.addToCart('aria-sneaker', 'white-42', 9)")
    assert refused["ok"] is False and refused["error"]["code"] == "bad_request"
    notice = cp.page.locator("#shop .product-notice")
    assert await notice.get_attribute("data-kind") == "error"
    assert "at most 10" in (await notice.text_content() or "").lower()
    missing = await cp.vetrina("v.addToCart('aria-sneaker', 'purple-99', 1)")
    assert missing["error"]["code"] == "not_found"
    assert (await cp.vetrina("v.cart"))["total"] == 393

    # The cart panel: lines, quantities, the total in the room's currency.
    await cp.page.click("#cart-tab")
    assert await cp.page.get_attribute("#shop", "data-open") == "false"  # one right-hand panel at a time
    assert await cp.page.locator("#cart .cart-item").count() == 2
    assert await cp.page.text_content("#cart-total") == await money(cp, 393)
    first = cp.page.locator('#cart .cart-item[data-variant="white-42"]')
    assert await first.locator(".cart-qty").text_content() == f"2 × {await money(cp, 149)}"
    assert await first.locator(".cart-meta").text_content() == "white · 42"
    ARTIFACTS.mkdir(exist_ok=True)
    await cp.page.screenshot(path=str(ARTIFACTS / "shop_cart.png"))

    # A reload resumes the session; the cart comes back from `cart.get`.
    await cp.page.reload()
    await cp.page.wait_for_function("window.vetrina && window.vetrina.state === 'joined'", timeout=20_000)
    back = await wait_page(cp, "v.cart.known && v.cart")
    assert back["total"] == 393 and back["count"] == 3
    assert await cp.page.text_content("#cart-count") == "3"
    await cp.page.click("#cart-tab")
    assert await cp.page.text_content("#cart-total") == await money(cp, 393)
    cp.assert_clean()


async def test_stand_card_when_walking_up_to_a_booth(live_server: Any, client_page: ClientPage) -> None:
    cp = client_page
    await open_client(cp, live_server.url, "Walter")
    assert await cp.vetrina("v.boothNear") is None
    assert await cp.page.is_hidden("#booth-card")
    # Around the central island to the front of the scarves stand (x 10..18, z -30..-26).
    await walk(cp, [(9.0, 10.0), (14.0, -23.0)])
    near = await wait_page(cp, "v.boothNear")
    assert near["booth"] == "stand-scarves" and near["products"] == ["brezza-scarf"] and near["distance"] <= 3.5
    card = cp.page.locator("#booth-card")
    await card.wait_for(state="visible")
    assert await card.locator(".booth-name").text_content() == "Brezza Silk Scarf"
    assert await card.locator(".booth-price").text_content() == await money(cp, 95)
    assert (await card.locator(".booth-desc").text_content() or "").startswith("Hand-rolled silk twill scarf")
    assert "Sciarpe" in (await card.locator(".eyebrow").text_content() or "")
    ARTIFACTS.mkdir(exist_ok=True)
    await cp.page.screenshot(path=str(ARTIFACTS / "shop_booth.png"))

    # View opens the product panel (the card steps aside while it is open).
    await card.locator("button", has_text="View").click()
    await wait_page(cp, "v.product && v.product.id === 'brezza-scarf' && !v.product.loading")
    assert await cp.page.get_attribute("#shop", "data-open") == "true"
    assert await cp.page.is_hidden("#booth-card")
    await cp.page.click("#shop .close")
    await card.wait_for(state="visible")
    # Walking away hides it.
    await walk(cp, [(9.0, -14.0)])
    await wait_page(cp, "v.boothNear === null")
    assert await cp.page.is_hidden("#booth-card")
    cp.assert_clean()


SKEW_MS = -300_000  # the page's clock runs 5 minutes behind the server's


async def countdown_s(cp: ClientPage, offer: str) -> int:
    text = await cp.page.text_content(f'#drops .drop-card[data-offer="{offer}"] .drop-time') or ""
    m = re.fullmatch(r"Ends in (\d+):(\d\d)", text)
    assert m, text
    return int(m.group(1)) * 60 + int(m.group(2))


async def test_limited_drop_claim_sold_out_and_ended(
    live_server: Any, client_page: ClientPage, visitors: list[Visitor], staff: list[StaffClient]
) -> None:
    cp = client_page
    await cp.page.add_init_script(f"(() => {{ const real = Date.now; Date.now = () => real() + ({SKEW_MS}); }})()")
    await open_client(cp, live_server.url, "Dora")
    await wait_page(cp, "Math.abs(v.serverOffset - arg) < 2000", -SKEW_MS)
    h = await host(live_server.url, staff)
    buyers = [(await visitor(live_server.url, f"Buyer{i}", visitors))[0] for i in range(3)]

    # A drop of 3: the banner shows the product, the price, the stock and a countdown that
    # matches the server's clock (not the page's own, 5 minutes off).
    started = await h.call("offer.start", {"room": "showroom", "product": "luna-bag", "price": 199, "stock": 3, "seconds": 60})
    assert started["ok"], started
    drop = started["offer"]
    card = cp.page.locator(f'#drops .drop-card[data-offer="{drop}"]')
    await card.wait_for(state="visible")
    assert await card.locator(".drop-name").text_content() == "Luna Tote Bag"
    assert await card.locator(".drop-price strong").text_content() == await money(cp, 199)
    assert await card.locator(".drop-stock").text_content() == "3 left"
    server_now = (await buyers[0].call("time", {"c": 0}))["t"]
    ends_at = next(m for m in buyers[0].events["offer"] if m["id"] == drop)["ends_at"]
    assert abs(await countdown_s(cp, drop) - (ends_at - server_now) / 1000) <= 2
    shown = await cp.vetrina("v.offers")
    mine = next(o for o in shown if o["id"] == drop)
    assert mine["status"] == "live" and mine["endsAt"] == ends_at and 55_000 < mine["remainingMs"] <= 60_000
    await asyncio.sleep(1.2)
    assert await countdown_s(cp, drop) < 60  # it ticks

    # The page claims: its order shows; a second claim answers the same order.
    await card.locator(".claim-btn").click()
    claimed = await wait_page(cp, "v.offers.find((o) => o.id === arg && o.order)", drop)
    order = claimed["order"]
    assert claimed["status"] == "claimed"
    assert order in (await card.locator(".drop-status").text_content() or "")
    assert await card.locator(".claim-btn").count() == 0
    assert await card.locator(".drop-badge").text_content() == "Claimed ✓"
    again = await cp.vetrina(f"v.claim({drop!r})")
    assert again == {"ok": True, "order": order}
    await wait_page(cp, "v.cart.orders.some((o) => o.order === arg)", order)
    await wait_page(cp, "v.offers.find((o) => o.id === arg).stock === 2", drop)
    assert await card.locator(".drop-stock").text_content() == "2 left"

    # The others take the rest; the last one is refused; the page shows it sold out.
    acks = [await b.call("offer.claim", {"offer": drop}) for b in buyers]
    # (A claim in a later tick than the one that sold it out is answered `closed`, not
    # `sold_out`: the server ends a drop as soon as its stock is gone.)
    assert [a["ok"] for a in acks] == [True, True, False] and acks[2]["error"]["code"] in ("sold_out", "closed")
    await wait_page(cp, "(() => { const o = v.offers.find((o) => o.id === arg); return o.stock === 0 && o.ended; })()", drop)
    assert await card.locator(".drop-stock").text_content() == "Sold out"
    assert await card.get_attribute("data-status") == "claimed"  # ours all the same
    ARTIFACTS.mkdir(exist_ok=True)
    await cp.page.screenshot(path=str(ARTIFACTS / "shop_drop_claimed.png"))

    # A drop the page did not get: sold out before it claims, clearly.
    other = (await h.call("offer.start", {"room": "showroom", "product": "orbita-watch", "price": 300, "stock": 1, "seconds": 60}))["offer"]
    card2 = cp.page.locator(f'#drops .drop-card[data-offer="{other}"]')
    await card2.wait_for(state="visible")
    assert (await buyers[0].call("offer.claim", {"offer": other}))["ok"]
    await wait_page(cp, "(v.offers.find((o) => o.id === arg) || {}).status === 'sold_out'", other)
    assert await card2.locator(".drop-badge").text_content() == "Sold out"
    assert await card2.locator(".claim-btn").count() == 0
    late = await cp.vetrina(f"v.claim({other!r})")
    assert late["ok"] is False and late["error"]["code"] in ("sold_out", "closed")
    assert (await cp.vetrina("v.offers.find((o) => o.id === arg)".replace("arg", repr(other))))["status"] == "sold_out"
    assert await card2.locator(".drop-stock").text_content() == "Sold out"
    await cp.page.screenshot(path=str(ARTIFACTS / "shop_drop_sold_out.png"))

    # A short drop runs out of time: "Ended", and a claim after that is refused as closed.
    short = (await h.call("offer.start", {"room": "showroom", "product": "brezza-scarf", "price": 50, "stock": 5, "seconds": 5}))["offer"]
    card3 = cp.page.locator(f'#drops .drop-card[data-offer="{short}"]')
    await card3.wait_for(state="visible")
    ended = await wait_page(cp, "(() => { const o = v.offers.find((o) => o.id === arg); return o && o.ended && o; })()", short, timeout=10_000)
    assert ended["status"] == "ended" and ended["stock"] == 5
    assert await card3.locator(".drop-badge").text_content() == "Ended"
    closed = await cp.vetrina(f"v.claim({short!r})")
    assert closed["ok"] is False and closed["error"]["code"] == "closed"
    assert next(o for o in await cp.vetrina("v.offers") if o["id"] == short)["status"] == "ended"

    # After a reload the claimed drop is still known as ours (from the cart's orders).
    await cp.page.reload()
    await cp.page.wait_for_function("window.vetrina && window.vetrina.state === 'joined'", timeout=20_000)
    orders = await wait_page(cp, "v.cart.known && v.cart.orders")
    assert [o["offer"] for o in orders] == [drop]
    cp.assert_clean()


async def test_spotlight_from_the_host(live_server: Any, client_page: ClientPage, staff: list[StaffClient]) -> None:
    cp = client_page
    await open_client(cp, live_server.url, "Stella")
    h = await host(live_server.url, staff)
    assert (await h.call("spotlight", {"room": "showroom", "product": "orbita-watch"}))["ok"]
    spot = await wait_page(cp, "v.spotlight && v.spotlight.product.id === 'orbita-watch' && v.spotlight")
    assert spot["by"] == "Sara" and spot["shown"] is True
    box = cp.page.locator("#spotlight")
    await box.wait_for(state="visible")
    assert await box.locator(".spot-name").text_content() == "Orbita Watch"
    assert await box.locator(".spot-price").text_content() == await money(cp, 420)
    assert "Now on stage" in (await box.locator(".eyebrow").text_content() or "")

    # View opens the product; closing the card keeps it closed, across a reload too.
    await box.locator("button", has_text="View").click()
    await wait_page(cp, "v.product && v.product.id === 'orbita-watch' && !v.product.loading")
    assert await cp.page.get_attribute("#shop", "data-open") == "true"
    await box.locator(".close").click()
    assert await cp.page.is_hidden("#spotlight")
    assert (await cp.vetrina("v.spotlight"))["shown"] is False
    await cp.page.reload()
    await cp.page.wait_for_function("window.vetrina && window.vetrina.state === 'joined'", timeout=20_000)
    assert (await wait_page(cp, "v.spotlight"))["product"]["id"] == "orbita-watch"  # from the join ack
    assert await cp.page.is_hidden("#spotlight")

    # The next spotlight shows again, for everyone.
    assert (await h.call("spotlight", {"room": "showroom", "product": "sole-sunglasses"}))["ok"]
    await wait_page(cp, "v.spotlight.product.id === 'sole-sunglasses' && v.spotlight.shown")
    assert await box.locator(".spot-name").text_content() == "Sole Sunglasses"
    cp.assert_clean()


# (#notices: the "For you" cards of real-time marketing, which share the top of the screen.)
DESKTOP_UI = ["#hud .brand", "#hud .hud-right", "#chat", "#reactions", "#dock", "#drops .drop-card", "#spotlight", "#booth-card", "#notices .notice-card"]
PHONE_UI = ["#hud .brand", "#hud .hud-right", "#chat", "#reactions", "#dock", "#joystick", "#drops .drop-card", "#spotlight", "#booth-card", "#notices .notice-card"]


async def test_layout_desktop_and_phone(
    live_server: Any, client_page: ClientPage, browser: Browser, staff: list[StaffClient]
) -> None:
    cp = client_page
    await open_client(cp, live_server.url, "Layla")
    h = await host(live_server.url, staff)
    assert (await h.call("spotlight", {"room": "showroom", "product": "vento-jacket"}))["ok"]
    drop = (await h.call("offer.start", {"room": "showroom", "product": "sole-sunglasses", "price": 120, "stock": 20, "seconds": 300}))["offer"]
    await wait_page(cp, "v.offers.some((o) => o.id === arg && o.shown) && v.spotlight && v.spotlight.shown", drop)
    await cp.page.click("#shop-tab")
    await cp.page.click('#shop .shop-row[data-product="vento-jacket"]')
    await wait_page(cp, "v.product && !v.product.loading")
    found = await boxes(cp, [*DESKTOP_UI, "#shop", "#help"])
    assert {"#chat", "#dock", "#shop", "#spotlight", "#drops .drop-card"} <= set(found), found
    assert_apart(found, 1280, 800)
    ARTIFACTS.mkdir(exist_ok=True)
    await cp.page.screenshot(path=str(ARTIFACTS / "shop_desktop.png"))
    await cp.page.click("#cart-tab")
    assert_apart(await boxes(cp, [*DESKTOP_UI, "#cart", "#shop", "#qa"]), 1280, 800)

    # A phone in portrait, standing at a stand with a drop and a spotlight on: the cards stack
    # under the top row, nothing overlaps; a panel is a sheet under them, one at a time.
    context = await browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, device_scale_factor=2)
    try:
        phone = ClientPage(await context.new_page())
        phone.page.on("pageerror", lambda exc: phone.errors.append(f"{exc.name}: {exc.message}"))
        await open_client(phone, live_server.url, "Pia")
        await wait_page(phone, "v.offers.some((o) => o.id === arg && o.shown) && v.spotlight && v.spotlight.shown", drop)
        await walk(phone, [(-12.0, 10.0), (-14.0, -23.0)])  # the jackets stand (x -18..-10, z -30..-26)
        await wait_page(phone, "v.boothNear && v.boothNear.booth === 'stand-jackets' && v.boothNear.shown")
        found = await boxes(phone, PHONE_UI)
        assert {"#chat", "#reactions", "#dock", "#joystick", "#spotlight", "#drops .drop-card", "#booth-card"} <= set(found), found
        assert_apart(found, 390, 844)
        await phone.page.screenshot(path=str(ARTIFACTS / "shop_phone.png"))

        await phone.page.click("#booth-card button:has-text('View')")
        await wait_page(phone, "v.product && v.product.id === 'vento-jacket' && !v.product.loading")
        assert await phone.page.get_attribute("#chat", "data-open") == "false"
        found = await boxes(phone, [*PHONE_UI, "#shop"])
        assert "#shop" in found and "#booth-card" not in found, found
        assert_apart(found, 390, 844)
        assert await phone.page.is_visible("#shop .add-btn")
        await phone.page.screenshot(path=str(ARTIFACTS / "shop_phone_product.png"))

        # Opening the chat closes the shop (one sheet at a time on a phone); then the cart.
        await phone.page.click("#chat-toggle")
        assert await phone.page.get_attribute("#shop", "data-open") == "false"
        await phone.page.click("#chat-toggle")
        await phone.page.click("#cart-tab")
        found = await boxes(phone, [*PHONE_UI, "#cart"])
        assert "#cart" in found, found
        assert_apart(found, 390, 844)
        await phone.page.screenshot(path=str(ARTIFACTS / "shop_phone_cart.png"))
        phone.assert_clean()
    finally:
        await context.close()
    cp.assert_clean()
