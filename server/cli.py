"""The ``vetrina`` command: ``serve`` runs the server, ``crowd`` starts simulated visitors."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from server.auth import DEFAULT_SECRET, ROLES, mint, parse_ttl, token_id
from server.config import Settings
from server.app import InsecureSecret
from server.assets import RoomFileError


def _run(main: Coroutine[Any, Any, None]) -> None:
    try:
        import uvloop

        uvloop.run(main)
    except ImportError:  # uvloop is optional (e.g. on Windows)
        asyncio.run(main)


async def _serve(settings: Settings) -> None:
    from aiohttp import web

    from server.app import ROOMS, create_app
    from server.engines import tune_gc

    app = create_app(settings)
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=5.0)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    await site.start()
    tune_gc()
    port = runner.addresses[0][1] if runner.addresses else settings.port
    print(f"Vetrina serving {len(app[ROOMS])} rooms on http://{settings.host}:{port}", flush=True)
    if settings.demo and settings.secret == DEFAULT_SECRET:
        token = mint(settings.secret, role="host", rooms="*", ttl_s=8 * 3600, name="Demo host")
        print(f"Host console (demo token, 8 h): http://{settings.host}:{port}/host#token={token}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


async def _crowd(url: str, room: str, n: int, seed: int, hz: float, seconds: float | None) -> None:
    from server.crowd import Crowd

    crowd = Crowd(url, room, n, seed=seed, hz=hz)
    task = asyncio.create_task(crowd.run())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    waiters: list[asyncio.Task[Any]] = [asyncio.create_task(stop.wait())]
    if seconds:
        waiters.append(asyncio.create_task(asyncio.sleep(seconds)))
    await asyncio.wait([task, *waiters], return_when=asyncio.FIRST_COMPLETED)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    for w in waiters:
        w.cancel()


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vetrina", description="Vetrina: virtual showrooms and live events")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="run the server (settings also from VETRINA_* variables)")
    s.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    s.add_argument("--port", type=int, help="port (default 8080; 0 picks a free one)")
    s.add_argument("--rooms", type=Path, help="a room file or a folder of *.json room files")
    s.add_argument("--tick-hz", type=float, dest="tick_hz", help="override every room's tick rate")
    s.add_argument("--resume-grace", type=float, dest="resume_grace_s", help="seconds a dropped visitor may resume")
    s.add_argument("--crowd", type=int, help="simulated visitors wandering the demo room")
    s.add_argument("--crowd-room", dest="crowd_room", help="room for --crowd (default showroom)")
    s.add_argument(
        "--inline-rooms", dest="room_processes", action="store_false", default=None,
        help="run rooms in the server process instead of one worker process each",
    )
    s.add_argument(
        "--tick-part-viewers", dest="tick_part_viewers", type=int,
        help="a big room's tick goes out in parts of this many viewers (default 500; 0: whole)",
    )
    s.add_argument(
        "--ws-compression", dest="ws_compression", action="store_true", default=None,
        help="negotiate permessage-deflate with clients (off: it costs ~2.6x socket CPU)",
    )
    s.add_argument("--demo", action="store_true", default=None, help="demo mode: the bundled demo rooms")
    s.add_argument(
        "--no-autopilot", dest="autopilot", action="store_false", default=None,
        help="with --demo: do not run the demo's shows and drops automatically",
    )
    s.add_argument("--shard-size", type=int, dest="shard_size",
                   help="split rooms declared large into audience shards of this many avatars (0: never)")
    s.add_argument("--redis", dest="redis_url", help="join other nodes through Redis: redis://host:6379/0")
    s.add_argument("--data-dir", dest="data_dir", type=Path,
                   help="where the node keeps what must survive a restart, e.g. revoked staff tokens (default ./data)")
    s.add_argument("--node-id", dest="node_id", help="this node's name in the cluster (default host-pid)")
    s.add_argument("--log-level", dest="log_level", help="debug, info, warning, error")
    t = sub.add_parser("token", help="mint a staff token for the host console (signed with VETRINA_SECRET), or revoke one")
    t.add_argument("--role", choices=ROLES)
    t.add_argument("--room", action="append", dest="rooms",
                   help="a room id the token covers (repeat for more), or '*' for every room")
    t.add_argument("--revoke", metavar="JTI",
                   help="revoke the token with this id (printed when it was minted): its sessions end on every node")
    t.add_argument("--server", default="http://127.0.0.1:8080", help="with --revoke: a node of the event to tell")
    t.add_argument("--ttl", default="8h", help="how long the token is valid: 8h, 30m, 2d, or seconds")
    t.add_argument("--name", default="Staff", help="the staff member's display name")
    t.add_argument("--demo", action="store_true", help="sign with the demo secret (for `vetrina serve --demo`)")
    c = sub.add_parser("crowd", help="start simulated visitors that wander a room")
    c.add_argument("--url", default="http://127.0.0.1:8080")
    c.add_argument("--room", default="showroom")
    c.add_argument("-n", type=int, default=20, help="number of visitors")
    c.add_argument("--seed", type=int, default=1)
    c.add_argument("--hz", type=float, default=10.0, help="moves per second per visitor")
    c.add_argument("--seconds", type=float, default=None, help="stop after this many seconds")
    return p


def _token(args: argparse.Namespace) -> None:
    settings = Settings()
    if settings.secret == DEFAULT_SECRET and not args.demo:
        sys.exit("vetrina: set VETRINA_SECRET to the server's secret (or pass --demo for a demo server)")
    if args.revoke:
        _revoke(settings.secret, args.revoke, args.server)
        return
    if not args.role or not args.rooms:
        sys.exit("vetrina: token needs --role and --room (or --revoke JTI)")
    rooms: list[str] | str = "*" if "*" in args.rooms else args.rooms
    try:
        ttl = parse_ttl(args.ttl)
    except ValueError as exc:
        sys.exit(f"vetrina: {exc}")
    try:
        token = mint(settings.secret, role=args.role, rooms=rooms, ttl_s=ttl, name=args.name)
    except ValueError as exc:
        sys.exit(f"vetrina: {exc}")
    print(token)
    print(f"token id: {token_id(token)} (revoke it with: vetrina token --revoke {token_id(token)})", file=sys.stderr)


def _revoke(secret: str, jti: str, server: str) -> None:
    """Ask a running node to revoke ``jti`` (it tells the others), signing the request with a
    one-minute host token of our own."""
    import json
    import urllib.error
    import urllib.request

    bearer = mint(secret, role="host", rooms="*", ttl_s=60, name="vetrina token --revoke")
    req = urllib.request.Request(
        f"{server.rstrip('/')}/api/staff/revoke", data=json.dumps({"jti": jti}).encode(), method="POST",
        headers={"Authorization": f"Bearer {bearer}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            body = json.loads(r.read())
    except urllib.error.HTTPError as exc:
        sys.exit(f"vetrina: {server} refused: {exc.code} {exc.read().decode(errors='replace')[:200]}")
    except OSError as exc:
        sys.exit(f"vetrina: cannot reach {server} ({exc}); is the server running there?")
    where = "every node" if body.get("cluster") == "ok" else "this node (the others learn it when Redis is back)"
    print(f"revoked {jti}: {body.get('ended', 0)} session(s) ended on {server}; refused from now on by {where}")


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    if args.command == "serve":
        given = {k: v for k, v in vars(args).items() if k != "command" and v is not None}
        try:
            settings = Settings(**given)
        except ValidationError as exc:
            sys.exit(f"vetrina: bad settings:\n{exc}")
        logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        try:
            _run(_serve(settings))
        except (RoomFileError, InsecureSecret) as exc:
            sys.exit(f"vetrina: {exc}")
    elif args.command == "token":
        _token(args)
    elif args.command == "crowd":
        logging.basicConfig(level="WARNING")
        _run(_crowd(args.url, args.room, args.n, args.seed, args.hz, args.seconds))


if __name__ == "__main__":
    main()
