"""Device identities (issue 14): the visitor is the same across reconnects, tabs and restarts;
the avatar id is per session. Addresses behind trusted proxies; flood allowances per visitor."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import jwt
import pytest

from server.auth import AuthError, mint
from server.config import Settings
from server.identity import device
from server.identity.address import client_address, hash_address, networks
from server.identity.device import Identity
from tests.conftest import TEST_SECRET, AppServer, Visitor

PROXIES = networks("10.0.0.0/8, 127.0.0.1")


def test_the_client_address_is_the_peer_unless_a_trusted_proxy_names_it() -> None:
    assert client_address("203.0.113.9", "1.2.3.4", PROXIES) == "203.0.113.9"  # untrusted peer: header ignored
    assert client_address("127.0.0.1", "1.2.3.4", PROXIES) == "1.2.3.4"
    # hops written before our proxies are the client's own claim: the nearest untrusted hop wins
    assert client_address("127.0.0.1", "6.6.6.6, 1.2.3.4, 10.1.2.3", PROXIES) == "1.2.3.4"
    assert client_address("127.0.0.1", "garbage, 1.2.3.4", PROXIES) == "1.2.3.4"
    assert client_address("127.0.0.1", "1.2.3.4, garbage", PROXIES) == "127.0.0.1"
    assert client_address("::ffff:203.0.113.9", None, PROXIES) == "203.0.113.9"
    assert client_address(None, "1.2.3.4", PROXIES) == "unknown"
    with pytest.raises(ValueError, match="not an address"):
        networks("10.0.0.0/8, nonsense")


def test_addresses_are_kept_as_keyed_hashes() -> None:
    a = hash_address(TEST_SECRET, "1.2.3.4")
    assert a == hash_address(TEST_SECRET, "1.2.3.4") and "1.2.3.4" not in a
    assert a != hash_address(TEST_SECRET, "1.2.3.5")
    assert a != hash_address("another-secret-of-at-least-thirty-two-chars", "1.2.3.4")


def test_a_visitor_token_round_trips_and_forgeries_are_refused() -> None:
    ident = device.new_device()
    assert device.read(TEST_SECRET, device.mint(TEST_SECRET, ident, 60)) == ident
    signed = Identity(device.customer_key(TEST_SECRET, "atelier", "C42"), "atelier", "C42", "Anna", "a@example.com")
    assert device.read(TEST_SECRET, device.mint(TEST_SECRET, signed, 60)) == signed
    with pytest.raises(AuthError, match="invalid"):
        device.read("x" * 40, device.mint(TEST_SECRET, ident, 60))
    with pytest.raises(AuthError, match="expired"):
        device.read(TEST_SECRET, device.mint(TEST_SECRET, ident, 60, now=time.time() - 120))
    with pytest.raises(AuthError, match="not a visitor token"):  # a staff token is not a visitor
        staff = mint(TEST_SECRET, role="host", rooms="*", ttl_s=60)
        device.read(TEST_SECRET, jwt.encode({**jwt.decode(staff, options={"verify_signature": False}),
                                             "sub": "d_x", "typ": "staff"}, TEST_SECRET))


def test_the_same_customer_is_one_key_on_every_device_and_not_its_id() -> None:
    key = device.customer_key(TEST_SECRET, "atelier", "anna@example.com")
    assert key == device.customer_key(TEST_SECRET, "atelier", "anna@example.com")
    assert key != device.customer_key(TEST_SECRET, "other-brand", "anna@example.com")
    assert "anna" not in key and key.startswith("c_")


async def test_the_page_sets_an_httponly_lax_cookie_and_keeps_it(server: AppServer) -> None:
    # unsafe: the jar keeps cookies of an IP-address host (127.0.0.1), as a browser does
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(server.url + "/") as r:
            cookie = r.cookies[device.COOKIE]
            assert r.status == 200
        assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/"
        assert int(cookie["max-age"]) == 180 * 86400
        first = device.read(TEST_SECRET, cookie.value)
        async with http.get(server.url + "/") as r:  # the session's cookie jar sends it back
            again = device.read(TEST_SECRET, r.cookies[device.COOKIE].value)
        async with http.get(server.url + "/api/visitor") as r:
            body = await r.json()
    assert again == first and body["id"] == first.key and body["signed"] is False
    assert device.read(TEST_SECRET, body["token"]) == first


async def test_reconnects_and_new_tabs_are_the_same_visitor_with_new_avatars(server: AppServer,
                                                                             visitors: list[Visitor]) -> None:
    async with aiohttp.ClientSession() as http, http.get(server.url + "/") as r:
        cookie = r.cookies[device.COOKIE].value
    tab1, tab2, stranger = Visitor("Ada"), Visitor("Ada"), Visitor("Bo")
    visitors += [tab1, tab2, stranger]
    for tab in (tab1, tab2):
        await tab.sio.connect(server.url, auth={"name": "Ada"}, headers={"Cookie": f"{device.COOKIE}={cookie}"},
                              transports=["websocket"], wait_timeout=5)
        await asyncio.wait_for(tab._welcomed.wait(), 5)
    w1, w2 = tab1.welcome, tab2.welcome
    assert w1 is not None and w2 is not None
    assert w1["visitor"]["id"] == w2["visitor"]["id"] == device.read(TEST_SECRET, cookie).key
    assert "token" not in w1["visitor"]  # it has the cookie: the token stays out of page scripts
    assert w1["id"] != w2["id"]
    # no cookie: a new device identity, with a token to keep
    w3 = await stranger.connect(server.url)
    assert w3["visitor"]["id"] not in (w1["visitor"]["id"],) and w3["visitor"]["token"]
    again = Visitor("Bo")
    visitors.append(again)
    w4 = await again.connect(server.url, visitor=w3["visitor"]["token"])
    assert w4["visitor"]["id"] == w3["visitor"]["id"] and w4["id"] != w3["id"]


async def test_a_forged_token_gets_a_new_identity_not_the_one_it_names(server: AppServer,
                                                                       visitors: list[Visitor]) -> None:
    victim = device.new_device()
    forged = device.mint("an-attacker-secret-of-thirty-two-chars!!", victim, 3600)
    troll = Visitor("Troll")
    visitors.append(troll)
    welcome = await troll.connect(server.url, visitor=forged)
    assert welcome["visitor"]["id"] != victim.key and welcome["visitor"]["id"].startswith("d_")


async def test_the_visitor_survives_a_server_restart(visitors: list[Visitor]) -> None:
    """Nothing is stored for a device identity: a new process with the same secret knows it."""
    from aiohttp import web

    from server.app import create_app

    async def serve() -> tuple[web.AppRunner, str]:
        app = create_app(Settings(port=0, tick_hz=20.0, room_processes=False, secret=TEST_SECRET))
        runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"

    first, url = await serve()
    ada = Visitor("Ada")
    visitors.append(ada)
    token = (await ada.connect(url))["visitor"]["token"]
    key = ada.welcome["visitor"]["id"]  # type: ignore[index]
    await ada.close()
    await first.cleanup()
    second, url = await serve()
    try:
        back = Visitor("Ada")
        visitors.append(back)
        assert (await back.connect(url, visitor=token))["visitor"]["id"] == key
    finally:
        await back.close()
        await second.cleanup()


@pytest.fixture
def settings() -> Settings:
    return Settings(port=0, tick_hz=20.0, room_processes=False, secret=TEST_SECRET, chat_rate=0.01, chat_burst=5)


async def test_ten_connections_of_one_visitor_share_one_chat_allowance(server: AppServer,
                                                                       visitors: list[Visitor]) -> None:
    first = Visitor("Troll")
    visitors.append(first)
    token = (await first.connect(server.url))["visitor"]["token"]
    conns = [first]
    for _ in range(9):
        c = Visitor("Troll")
        visitors.append(c)
        await c.connect(server.url, visitor=token)
        conns.append(c)
    for c in conns:
        await c.join()
    answers = [await c.call("chat", {"text": f"spam {i}", "scope": "room"}) for i, c in enumerate(conns)]
    sent = [a for a in answers if a["ok"]]
    assert len(sent) == 5  # the burst, once, for the visitor: not once per connection
    assert {a["error"]["code"] for a in answers if not a["ok"]} == {"rate_limited"}
    other = Visitor("Bo")
    visitors.append(other)
    await other.connect(server.url)
    await other.join()
    assert (await other.call("chat", {"text": "hello", "scope": "room"}))["ok"]
