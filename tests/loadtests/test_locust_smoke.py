"""Smoke test of the Locust load test: 30 users for 30 s against a real `vetrina serve --demo`.

Every persona runs: Wanderers, Lurkers, Fans (chat, reactions, Q&A) in the concert, Shoppers
(products, try-ons, carts, drops) in the showroom, Players (bets on the money wheel) in the
studio, and the Host on ``/host`` (its token signed with the server's VETRINA_SECRET, which the
subprocess inherits from tests/conftest.py). The Host's actions, the Fans' bursts and the
Shoppers' browsing are sped up so each happens within the 30 s, including brief slow modes and
mutes the Fans must take in their stride, drops of 3 that the Shoppers race for (the losers'
``sold_out`` / ``closed`` are expected), a wheel round with an 8 s betting window that opens
2-4 s in and is settled ~15 s later (the Players' payouts must match their own books), and the
concert started and cued: the run must end with no failure at all.

Locust runs as a subprocess only: importing it (gevent monkey-patching) inside pytest would
fight pytest-asyncio and ``filterwarnings = error``.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, LiveServer

pytestmark = pytest.mark.slow  # (its thresholds are loose: it runs beside the other worker)

RUN_S = 30


def read_stats(path: Path) -> dict[tuple[str, str], dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return {(row["Type"], row["Name"]): row for row in csv.DictReader(f)}


def test_locust_smoke(live_server: LiveServer, tmp_path: Path) -> None:
    prefix = tmp_path / "smoke"
    env = {
        **os.environ,
        "PYTHONUTF8": "1",  # the stats names "move→seen", "sent→seen" in CSV and stdout under any locale
        "VETRINA_SECRET": live_server.secret,  # the Host mints its token with the server's secret
        "VETRINA_ROOM": "concert",
        "VETRINA_LURKER_RECONNECT_S": "8",  # every Lurker resumes two or three times in 30 s
        "VETRINA_FAN_CHAT_EVERY_S": "3-8",
        "VETRINA_FAN_ASK_EVERY_S": "4-12",
        "VETRINA_FAN_VOTE_EVERY_S": "2-5",
        "VETRINA_HOST_ANSWER_EVERY_S": "3-6",
        "VETRINA_HOST_PIN_EVERY_S": "5-10",
        "VETRINA_HOST_MUTE_EVERY_S": "5-9",
        "VETRINA_HOST_MUTED_FOR_S": "3-5",
        "VETRINA_HOST_SLOW_EVERY_S": "5-8",
        "VETRINA_HOST_SLOW_FOR_S": "3-5",
        "VETRINA_HOST_SLOW_SECONDS": "2",
        "VETRINA_SHOP_ROOM": "showroom",
        "VETRINA_HOST_DROP_EVERY_S": "5-8",  # the first drop 5-8 s in, then again: 3-5 drops
        "VETRINA_HOST_DROP_STOCK": "3",  # fewer than the ~7 Shoppers: every drop is a race
        "VETRINA_HOST_DROP_SECONDS": "20",
        "VETRINA_HOST_SPOTLIGHT_EVERY_S": "4-8",
        "VETRINA_SHOPPER_VIEW_EVERY_S": "2-5",
        "VETRINA_SHOPPER_TRY_EVERY_S": "3-8",
        "VETRINA_SHOPPER_CART_EVERY_S": "3-8",
        "VETRINA_SHOPPER_CHECK_EVERY_S": "5-10",
        "VETRINA_WHEEL_ROOM": "studio",
        "VETRINA_HOST_WHEEL_EVERY_S": "2-4",  # a round 2-4 s in: betting 8 s, the spin 6 s, settled by ~20 s
        "VETRINA_HOST_WHEEL_SECONDS": "8",
        "VETRINA_PLAYER_BET_DELAY_S": "0.2-1.5",
        "VETRINA_CONCERT_ROOM": "concert",
        "VETRINA_HOST_CONCERT_EVERY_S": "3-5",
        "VETRINA_HOST_CUE_EVERY_S": "6-10",
    }
    cmd = [
        sys.executable, "-m", "locust",
        "-f", "loadtests/locustfile.py",
        "--headless", "-u", "30", "-r", "15", "-t", f"{RUN_S}s",
        "--host", live_server.url,
        "--csv", str(prefix),
        "--only-summary",
        "--exit-code-on-error", "1",
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=RUN_S + 30)
    log = (proc.stdout + proc.stderr)[-6000:]
    assert proc.returncode == 0, log

    stats = read_stats(prefix.with_name("smoke_stats.csv"))
    total = stats[("", "Aggregated")]
    assert int(total["Failure Count"]) == 0, log
    with prefix.with_name("smoke_failures.csv").open(encoding="utf-8", newline="") as f:
        assert list(csv.DictReader(f)) == [], log

    def count(kind: str, name: str) -> int:
        row = stats.get((kind, name))
        assert row is not None, f"no {kind} {name} row in {sorted(stats)}"
        return int(row["Request Count"])

    # visitors: 29 of the 30 users (the Host is the 30th), mixed 5:2:3:3:2
    assert count("WS", "connect") >= 29
    assert count("WSC", "join") >= 29
    assert count("WSC", "time") >= 29
    assert count("WSE", "move") > 1000
    assert count("TICK", "age") > 1000
    assert count("WS", "resume") >= 3, "Lurkers should have dropped and resumed"

    seen = stats[("TICK", "move→seen")]
    # ~15 Wanderers walk ~25 s at 10 Hz with pauses: thousands of moves, most seen by someone.
    assert int(seen["Request Count"]) >= 0.5 * count("WSE", "move"), seen
    assert float(seen["Median Response Time"]) < 300, seen

    # Fans: chat in bursts (every accepted message comes back to its sender), react, ask, vote
    chats = count("WSC", "chat")
    assert chats >= 20
    echoed = stats[("CHAT", "sent→seen")]
    assert int(echoed["Request Count"]) >= 0.9 * chats, echoed
    assert float(echoed["Median Response Time"]) < 300, echoed
    assert count("WSR", "chat") >= chats  # every visitor in the room gets every message
    assert count("WSE", "react") >= 50
    assert count("WSR", "reactions") >= 100
    assert count("WSC", "qa.ask") >= 3
    assert count("WSC", "qa.vote") >= 3
    assert count("WSR", "qa") >= 3

    # the Host on /host: one connection, its actions and the staff feed
    assert count("WS", "host:connect") == 1
    assert count("WSC", "host:host.watch") == 2  # the concert (its room) and the studio (the wheel)
    for action in ("qa.answer", "chat.pin", "mod.mute", "mod.unmute"):
        assert count("WSC", f"host:{action}") >= 1, action
    assert count("WSC", "host:mod.slow") >= 2  # on, then off again
    assert count("WSR", "host:chat") >= chats - 5  # the feed (the last ones may still be in flight)
    assert count("WSR", "host:stats") >= 10
    assert count("WSR", "moderation") >= 2  # slow mode notices reached the visitors

    # Shoppers in the showroom: browsing, try-ons, carts, and every drop raced for
    assert count("WSC", "product.view") >= 20
    assert count("WSC", "product.try") >= 10
    assert count("WSC", "cart.add") >= 10
    assert count("WSC", "cart.get") >= 10
    assert count("HTTP", "GET /api/rooms/{room}") == 1  # the Host's product list
    drops = count("WSC", "host:offer.start")
    assert drops >= 2
    assert count("WSC", "host:spotlight") >= 2
    assert count("WSR", "spotlight") >= 5
    assert count("WSR", "offer") >= 5 * drops  # start, stock updates, end: to every Shopper
    won = count("WSC", "offer.claim")
    assert 3 <= won <= 3 * drops, (won, drops)  # never more orders than stock
    lost = sum(int(stats[("WSC", f"offer.claim {code} (expected)")]["Request Count"])
               for code in ("sold_out", "closed") if ("WSC", f"offer.claim {code} (expected)") in stats)
    assert lost >= 1, "more Shoppers than stock: someone must have lost a race"

    # The shows: the Host ran a wheel round that the Players bet on; their payouts matched their
    # own books and the revealed seed verified; a repeated bet id was charged once; one credit
    # more than the balance was refused. The concert was started and cued.
    assert count("WSC", "host:wheel.open") >= 1
    assert count("WSC", "bet") >= 3
    assert count("WSC", "bet (same id)") >= 1
    assert count("WSC", "bet insufficient_funds (expected)") >= 1
    assert count("WSR", "payout") >= 1
    assert count("WHEEL", "payout") >= 1, "no wheel round was settled with bets in the run"
    assert count("WHEEL", "verify") >= 1
    assert count("WSR", "host:show") >= 3  # betting, spinning, result (and the concert)
    assert count("WSC", "host:show.start") >= 1
    assert count("WSC", "host:concert.cue") >= 1
    assert count("WSR", "show") >= 10  # to the Players and to everyone in the concert
