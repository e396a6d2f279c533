"""Every knob of the Locust load test (``loadtests/locustfile.py``), read from the environment once
at import; ``loadtests/README.md`` has the table of variables and defaults."""

from __future__ import annotations

import os


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw else default


def _env_range(name: str, default: tuple[float, float]) -> tuple[float, float]:
    """``"20-60"`` or ``"20,60"`` is a range of seconds; a single number is exactly that."""
    raw = os.environ.get(name)
    if not raw:
        return default
    parts = [float(p) for p in raw.replace(",", "-").split("-") if p.strip()]
    return (parts[0], parts[-1])


ROOM = os.environ.get("VETRINA_ROOM", "concert")
ACK_TIMEOUT_S = _env_float("VETRINA_ACK_TIMEOUT_S", 5.0)
MOVE_HZ = _env_float("VETRINA_MOVE_HZ", 10.0)
CLOCK_SYNC_S = _env_float("VETRINA_CLOCK_SYNC_S", 10.0)
LURKER_RECONNECT_S = _env_range("VETRINA_LURKER_RECONNECT_S", (20.0, 60.0))
LURKER_OFFLINE_S = _env_range("VETRINA_LURKER_OFFLINE_S", (0.2, 3.0))  # well inside the 30 s grace
MAX_CORRECTIONS_PER_MIN = int(_env_float("VETRINA_MAX_CORRECTIONS_PER_MIN", 5))

# The server's chat allowance per visitor (`vetrina serve --chat-rate/--chat-burst`, defaults
# 1 msg/s after a burst of 5; `qa.ask` takes from the same allowance). A Fan keeps one message
# and 20 % of the rate in hand, so network jitter never makes it look faster than it is.
CHAT_RATE = _env_float("VETRINA_CHAT_RATE", 1.0)
CHAT_BURST = _env_float("VETRINA_CHAT_BURST", 5.0)
FAN_CHAT_EVERY_S = _env_range("VETRINA_FAN_CHAT_EVERY_S", (8.0, 25.0))  # quiet between bursts
FAN_CHAT_BURST = _env_range("VETRINA_FAN_CHAT_BURST", (2, 4))  # messages per burst
FAN_REACT_EVERY_S = _env_range("VETRINA_FAN_REACT_EVERY_S", (1.5, 5.0))  # quiet between bursts
FAN_REACT_BURST = _env_range("VETRINA_FAN_REACT_BURST", (3, 8))  # reactions per burst, ~4/s
FAN_ASK_EVERY_S = _env_range("VETRINA_FAN_ASK_EVERY_S", (20.0, 90.0))
FAN_VOTE_EVERY_S = _env_range("VETRINA_FAN_VOTE_EVERY_S", (4.0, 12.0))
CHAT_SEEN_TIMEOUT_S = _env_float("VETRINA_CHAT_SEEN_TIMEOUT_S", 10.0)

# The Host: its token, and how often it does what ("0" turns an action off).
HOST_TOKEN = os.environ.get("VETRINA_HOST_TOKEN")  # used as is; else minted from VETRINA_SECRET
HOST_ANSWER_EVERY_S = _env_range("VETRINA_HOST_ANSWER_EVERY_S", (10.0, 20.0))
HOST_PIN_EVERY_S = _env_range("VETRINA_HOST_PIN_EVERY_S", (20.0, 40.0))
HOST_MUTE_EVERY_S = _env_range("VETRINA_HOST_MUTE_EVERY_S", (30.0, 60.0))
HOST_MUTED_FOR_S = _env_range("VETRINA_HOST_MUTED_FOR_S", (5.0, 15.0))  # then mod.unmute (mutes are 1 min)
HOST_SLOW_EVERY_S = _env_range("VETRINA_HOST_SLOW_EVERY_S", (60.0, 120.0))
HOST_SLOW_FOR_S = _env_range("VETRINA_HOST_SLOW_FOR_S", (5.0, 10.0))
HOST_SLOW_SECONDS = int(_env_float("VETRINA_HOST_SLOW_SECONDS", 3))
HOST_NAMESPACE = "/host"

# Showroom commerce. Shoppers join SHOP_ROOM (a room with a catalog), the Host runs its drops and
# spotlights there (its minted token covers ROOM and SHOP_ROOM).
SHOP_ROOM = os.environ.get("VETRINA_SHOP_ROOM", "showroom")
SHOPPER_VIEW_EVERY_S = _env_range("VETRINA_SHOPPER_VIEW_EVERY_S", (3.0, 8.0))  # product.view
SHOPPER_TRY_EVERY_S = _env_range("VETRINA_SHOPPER_TRY_EVERY_S", (6.0, 15.0))  # product.try
SHOPPER_CART_EVERY_S = _env_range("VETRINA_SHOPPER_CART_EVERY_S", (10.0, 25.0))  # cart.add
SHOPPER_CHECK_EVERY_S = _env_range("VETRINA_SHOPPER_CHECK_EVERY_S", (15.0, 30.0))  # cart.get
SHOPPER_CLAIM_DELAY_S = _env_range("VETRINA_SHOPPER_CLAIM_DELAY_S", (0.05, 0.6))  # reaction time to a drop
HOST_DROP_EVERY_S = _env_range("VETRINA_HOST_DROP_EVERY_S", (45.0, 90.0))  # offer.start; 0 = no drops
HOST_DROP_STOCK = int(_env_float("VETRINA_HOST_DROP_STOCK", 5))
HOST_DROP_SECONDS = _env_float("VETRINA_HOST_DROP_SECONDS", 20.0)
HOST_DROP_DISCOUNT = _env_float("VETRINA_HOST_DROP_DISCOUNT", 0.3)  # the drop's price: list price minus this share
HOST_SPOTLIGHT_EVERY_S = _env_range("VETRINA_HOST_SPOTLIGHT_EVERY_S", (20.0, 45.0))  # spotlight; 0 = never

# The shows. Players join WHEEL_ROOM (a room with a money wheel) and bet on its rounds; the Host
# runs the wheel there and the concert in CONCERT_ROOM (its minted token covers both).
WHEEL_ROOM = os.environ.get("VETRINA_WHEEL_ROOM", "studio")
CONCERT_ROOM = os.environ.get("VETRINA_CONCERT_ROOM", "concert")
PLAYER_BETS = _env_range("VETRINA_PLAYER_BETS", (1, 3))  # bets per round
PLAYER_STAKE = _env_range("VETRINA_PLAYER_STAKE", (5, 50))  # credits per bet (never more than the balance)
PLAYER_BET_DELAY_S = _env_range("VETRINA_PLAYER_BET_DELAY_S", (0.3, 2.5))  # before each bet of a round
PLAYER_CLOSE_MARGIN_S = _env_float("VETRINA_PLAYER_CLOSE_MARGIN_S", 1.0)  # no new bet in the window's last second
PLAYER_PAYOUT_TIMEOUT_S = _env_float("VETRINA_PLAYER_PAYOUT_TIMEOUT_S", 10.0)  # after the result, for our payout
HOST_WHEEL_EVERY_S = _env_range("VETRINA_HOST_WHEEL_EVERY_S", (15.0, 30.0))  # wheel.open when no round runs; 0 = never
HOST_WHEEL_SECONDS = _env_float("VETRINA_HOST_WHEEL_SECONDS", 8.0)  # the betting window; then it spins by itself
HOST_CONCERT_EVERY_S = _env_range("VETRINA_HOST_CONCERT_EVERY_S", (60.0, 120.0))  # show.start when no show plays; 0 = never
HOST_CUE_EVERY_S = _env_range("VETRINA_HOST_CUE_EVERY_S", (30.0, 60.0))  # concert.cue while the show plays; 0 = never
