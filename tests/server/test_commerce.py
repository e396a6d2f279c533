"""Showroom commerce over real sockets: products, the digital mirror, carts, spotlight, drops."""

from __future__ import annotations

import asyncio

from tests.conftest import AppServer, StaffClient, Visitor, eventually


async def _visitor(server: AppServer, visitors: list[Visitor], name: str, **auth: object) -> Visitor:
    v = Visitor(name)
    visitors.append(v)
    await v.connect(server.url, **auth)
    await v.join("showroom")
    return v


async def _host(server: AppServer, staff: list[StaffClient]) -> StaffClient:
    host = StaffClient("host", ["showroom"], name="Sara")
    staff.append(host)
    await host.connect(server.url)
    return host


async def test_view_try_on_and_others_see_the_variant(server: AppServer, visitors: list[Visitor]) -> None:
    ada = await _visitor(server, visitors, "Ada")
    bob = await _visitor(server, visitors, "Bob")
    catalog = (await ada.call("join", {"room": "showroom"}))["room"]["catalog"]
    assert any(p["id"] == "aria-sneaker" for p in catalog)
    viewed = await ada.call("product.view", {"product": "aria-sneaker"})
    assert viewed["ok"] and viewed["product"]["price"] == 149.0 and viewed["product"]["variants"]
    assert (await ada.call("product.view", {"product": "nope"}))["error"]["code"] == "not_found"
    await eventually(lambda: any(e[0] == ada.welcome["id"] for t in bob.ticks for e in t["enter"]))
    tried = await ada.call("product.try", {"product": "aria-sneaker", "variant": "sage-41"})
    assert tried["ok"] and tried["wear"]["hex"] == "#9caf88" and tried["wear"]["size"] == "41"

    def bob_sees_it() -> bool:
        return any(e[0] == ada.welcome["id"] and e[2].get("wear", {}).get("variant") == "sage-41"
                   for t in bob.ticks for e in t["enter"])

    await eventually(bob_sees_it)
    bad = await ada.call("product.try", {"product": "aria-sneaker", "variant": "purple-99"})
    assert bad["error"]["code"] == "not_found"


async def test_cart_adds_up_and_survives_a_reconnect(server: AppServer, visitors: list[Visitor]) -> None:
    ada = await _visitor(server, visitors, "Ada")
    assert (await ada.call("cart.get"))["cart"] == {"items": [], "total": 0.0, "currency": "EUR", "orders": []}
    await ada.call("cart.add", {"product": "aria-sneaker", "variant": "white-42", "qty": 2})
    cart = (await ada.call("cart.add", {"product": "brezza-scarf", "variant": "coral"}))["cart"]
    assert [(i["product"], i["qty"]) for i in cart["items"]] == [("aria-sneaker", 2), ("brezza-scarf", 1)]
    assert cart["total"] == 2 * 149.0 + 95.0
    for payload, code in (({"product": "aria-sneaker", "variant": "white-42", "qty": 0}, "bad_request"),
                          ({"product": "aria-sneaker", "variant": "white-42", "qty": 11}, "bad_request"),
                          ({"product": "aria-sneaker", "variant": "white-42", "qty": "2"}, "bad_request"),
                          ({"product": "aria-sneaker", "variant": "white-42", "qty": 9}, "bad_request"),
                          ({"product": "aria-sneaker", "variant": "nope"}, "not_found")):
        assert (await ada.call("cart.add", payload))["error"]["code"] == code, payload
    session = ada.welcome["session"]
    await ada.close()
    back = Visitor("Ada")
    visitors.append(back)
    await back.connect(server.url, resume=session)
    await back.join("showroom")
    assert (await back.call("cart.get"))["cart"]["total"] == cart["total"]


async def test_spotlight_reaches_everyone_and_late_joiners(
    server: AppServer, visitors: list[Visitor], staff: list[StaffClient]
) -> None:
    ada = await _visitor(server, visitors, "Ada")
    host = await _host(server, staff)
    assert (await host.call("spotlight", {"room": "showroom", "product": "orbita-watch"}))["ok"]
    got = await eventually(lambda: ada.events.get("spotlight"))
    assert got[0]["product"]["id"] == "orbita-watch" and isinstance(got[0]["t"], int)
    late = await _visitor(server, visitors, "Late")
    assert (await late.call("join", {"room": "showroom"}))["spotlight"]["product"]["name"] == "Orbita Watch"
    assert (await host.call("spotlight", {"room": "showroom", "product": "nope"}))["error"]["code"] == "not_found"
    assert (await ada.call("spotlight", {"room": "showroom", "product": "orbita-watch"}))["error"]["code"] == "forbidden"


async def test_200_concurrent_claims_on_a_stock_of_50_give_exactly_50_orders(
    server: AppServer, visitors: list[Visitor], staff: list[StaffClient]
) -> None:
    crowd: list[Visitor] = []
    for batch in range(4):  # 200 real socket.io clients
        made = [Visitor(f"Shopper{batch}-{i}") for i in range(50)]
        visitors += made
        await asyncio.gather(*(v.connect(server.url) for v in made))
        await asyncio.gather(*(v.join("showroom") for v in made))
        crowd += made
    host = await _host(server, staff)
    started = await host.call("offer.start", {"room": "showroom", "product": "luna-bag", "price": 199,
                                              "stock": 50, "seconds": 60})
    assert started["ok"]
    offer = started["offer"]
    await eventually(lambda: all(v.events.get("offer") for v in crowd))
    first = crowd[0].events["offer"][0]
    assert first["stock"] == 50 and first["price"] == 199 and first["product"] == "luna-bag"

    acks = await asyncio.gather(*(v.call("offer.claim", {"offer": offer}) for v in crowd))
    orders = [a["order"] for a in acks if a["ok"]]
    assert len(orders) == 50 and len(set(orders)) == 50
    assert sorted({a["error"]["code"] for a in acks if not a["ok"]}) == ["sold_out"]
    winner = crowd[[i for i, a in enumerate(acks) if a["ok"]][0]]
    again = await winner.call("offer.claim", {"offer": offer})
    assert again["ok"] and again["order"] in orders  # at most one per visitor, idempotent
    final = await eventually(lambda: [m for m in crowd[-1].events["offer"] if m.get("ended")])
    assert final[-1]["stock"] == 0
    stocks = [m["stock"] for m in crowd[-1].events["offer"]]
    assert stocks == sorted(stocks, reverse=True)  # updates stream the stock down
    cart = (await winner.call("cart.get"))["cart"]
    assert [o["offer"] for o in cart["orders"]] == [offer]


async def test_claims_on_unknown_or_ended_offers_and_bad_drops(
    server: AppServer, visitors: list[Visitor], staff: list[StaffClient]
) -> None:
    ada = await _visitor(server, visitors, "Ada")
    host = await _host(server, staff)
    assert (await ada.call("offer.claim", {"offer": "d-nope"}))["error"]["code"] == "not_found"
    for bad in ({"price": -1}, {"price": float("nan")}, {"stock": 0}, {"stock": 10**9}, {"seconds": 1},
                {"price": "free"}, {"product": ""}):
        payload = {"room": "showroom", "product": "luna-bag", "price": 10, "stock": 5, "seconds": 30, **bad}
        assert (await host.call("offer.start", payload))["error"]["code"] == "bad_request", bad
    short = await host.call("offer.start", {"room": "showroom", "product": "luna-bag", "price": 10, "stock": 5,
                                            "seconds": 5})
    await eventually(lambda: [m for m in ada.events.get("offer", []) if m.get("ended")], timeout=8)
    assert (await ada.call("offer.claim", {"offer": short["offer"]}))["error"]["code"] == "closed"
