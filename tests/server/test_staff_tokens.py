"""Staff sessions end when their token expires or is revoked, on every node, and stay ended."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest
import socketio
from aiohttp import web

from server.app import HOST, ROOMS, create_app
from server.auth import mint, token_id
from server.config import Settings
from tests.conftest import ROOT, TEST_SECRET, AppServer, StaffClient, eventually, start_server_process, stop_process
from tests.server.test_cluster import RedisServer


async def _signed_in(url: str, staff: list[StaffClient], role: str = "host", rooms: list[str] | str = "*",
                     ttl_s: float = 600, name: str = "Sara") -> StaffClient:
    s = StaffClient(role, rooms, ttl_s=ttl_s, name=name)
    staff.append(s)
    await s.connect(url)
    await eventually(lambda: s.got("welcome"))
    return s


async def _refused(url: str, token: str) -> str:
    client = StaffClient()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(url, token=token)
    await client.close()
    return str(client.refused["message"])


async def test_a_session_ends_when_its_token_expires(server: AppServer, staff: list[StaffClient]) -> None:
    host = await _signed_in(server.url, staff, ttl_s=2)
    welcome = host.got("welcome")[0]
    assert welcome["jti"] == token_id(host.token) and welcome["exp"] > 0
    assert (await host.call("host.watch", {"room": "showroom"}))["ok"]  # valid until exp
    ended = await eventually(lambda: host.got("session.end"), timeout=5)
    assert ended[0] == {"reason": "expired"}
    await eventually(lambda: not host.sio.connected, timeout=2)
    assert (await _refused(server.url, host.token)) == "forbidden: token expired"


async def test_a_host_revokes_a_token_from_the_console(server: AppServer, staff: list[StaffClient]) -> None:
    host = await _signed_in(server.url, staff, name="Hanna")
    mod = await _signed_in(server.url, staff, "moderator", ["showroom"], name="Mo")
    listed = await host.call("staff.list")
    assert listed["ok"]
    people = {p["name"]: p for p in listed["staff"]}
    assert people["Mo"]["jti"] == token_id(mod.token) and people["Mo"]["role"] == "moderator"
    assert people["Hanna"]["you"] is True and people["Mo"]["you"] is False
    # a moderator may neither list nor revoke
    assert (await mod.call("staff.revoke", {"jti": token_id(host.token)}))["error"]["code"] == "forbidden"
    assert (await mod.call("staff.list"))["error"]["code"] == "forbidden"

    revoked = await host.call("staff.revoke", {"jti": people["Mo"]["jti"]})
    assert revoked["ok"] and revoked["ended"] == 1
    assert (await eventually(lambda: mod.got("session.end")))[0] == {"reason": "revoked"}
    await eventually(lambda: not mod.sio.connected, timeout=2)
    assert (await _refused(server.url, mod.token)) == "forbidden: token revoked"
    assert (await host.call("host.watch", {"room": "showroom"}))["ok"]  # other tokens carry on
    fresh = await _signed_in(server.url, staff, "moderator", ["showroom"], name="Mo")  # a new token works
    assert (await fresh.call("host.watch", {"room": "showroom"}))["ok"]
    bad = await host.call("staff.revoke", {"jti": "x" * 500})
    assert bad["error"]["code"] == "bad_request"


async def test_the_revoke_endpoint_needs_a_host_token_for_every_room(server: AppServer) -> None:
    target = mint(TEST_SECRET, role="operator", rooms="*", ttl_s=600)
    async with aiohttp.ClientSession() as http:
        url = server.url + "/api/staff/revoke"
        async with http.post(url, json={"jti": token_id(target)}) as r:
            assert r.status == 401
        for role, rooms in (("moderator", "*"), ("host", ["showroom"])):
            bearer = mint(TEST_SECRET, role=role, rooms=rooms, ttl_s=60)
            async with http.post(url, json={"jti": token_id(target)}, headers={"Authorization": f"Bearer {bearer}"}) as r:
                assert r.status == 403
        bearer = mint(TEST_SECRET, role="host", rooms="*", ttl_s=60)
        headers = {"Authorization": f"Bearer {bearer}"}
        async with http.post(url, data=b"\xff not json", headers=headers) as r:
            assert r.status == 400
        async with http.post(url, json={"jti": token_id(target)}, headers=headers) as r:
            assert r.status == 200 and (await r.json())["ok"]
        # a revoked token no longer opens the analytics either
        async with http.get(server.url + "/api/rooms/showroom/analytics",
                            headers={"Authorization": f"Bearer {target}"}) as r:
            assert r.status == 401 and "revoked" in await r.text()
    assert (await _refused(server.url, target)) == "forbidden: token revoked"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "server.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "VETRINA_SECRET": TEST_SECRET}, timeout=30)


async def test_cli_revocation_survives_a_kill_9_restart(tmp_path: Path, staff: list[StaffClient]) -> None:
    minted = _cli("token", "--role", "moderator", "--room", "showroom", "--ttl", "1h", "--name", "Mo")
    assert minted.returncode == 0, minted.stderr
    token = minted.stdout.strip()
    assert f"--revoke {token_id(token)}" in minted.stderr
    proc, port = start_server_process("--inline-rooms", "--data-dir", str(tmp_path))
    url = f"http://127.0.0.1:{port}"
    try:
        mod = StaffClient()
        staff.append(mod)
        await mod.connect(url, token=token)
        await eventually(lambda: mod.got("welcome"))
        done = await asyncio.to_thread(_cli, "token", "--revoke", str(token_id(token)), "--server", url)
        assert done.returncode == 0, done.stderr
        assert "1 session(s) ended" in done.stdout
        await eventually(lambda: mod.got("session.end"))
        proc.kill()  # no clean shutdown: the revocation was on disk before it was acknowledged
        proc.wait(5)
        stop_process(proc)
        proc, port = start_server_process("--inline-rooms", "--data-dir", str(tmp_path))
        assert (await _refused(f"http://127.0.0.1:{port}", token)) == "forbidden: token revoked"
    finally:
        stop_process(proc)
    unreachable = await asyncio.to_thread(_cli, "token", "--revoke", "abc", "--server", "http://127.0.0.1:9")
    assert unreachable.returncode != 0 and "cannot reach" in unreachable.stderr


@asynccontextmanager
async def _node(redis_url: str, data_dir: Path, name: str) -> AsyncIterator[AppServer]:
    settings = Settings(port=0, tick_hz=20.0, room_processes=False, secret=TEST_SECRET, redis_url=redis_url,
                        node_id=name, data_dir=data_dir)
    app = create_app(settings)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    node = AppServer(f"http://127.0.0.1:{runner.addresses[0][1]}", app)
    await eventually(lambda: all(r.ready for r in app[ROOMS].values()), 10)
    try:
        yield node
    finally:
        await runner.cleanup()


async def test_revoked_on_one_node_ends_sessions_on_every_node_even_after_redis_restarts(
    tmp_path: Path, staff: list[StaffClient]
) -> None:
    redis = RedisServer()
    redis.start()
    try:
        async with _node(redis.url, tmp_path / "a", "a") as a, _node(redis.url, tmp_path / "b", "b") as b:
            host = await _signed_in(a.url, staff, name="Hanna")
            mod = await _signed_in(b.url, staff, "moderator", ["showroom"], name="Mo")
            revoked = await host.call("staff.revoke", {"jti": token_id(mod.token)})
            assert revoked["ok"] and revoked["cluster"] == "ok" and revoked["ended"] == 0  # not on this node
            assert (await eventually(lambda: mod.got("session.end"), timeout=2))[0] == {"reason": "revoked"}
            assert (await _refused(b.url, mod.token)) == "forbidden: token revoked"
            redis.stop()
            redis.start()  # empty, as compose runs it: the nodes tell it again
            async with _node(redis.url, tmp_path / "c", "c") as c:
                await eventually(lambda: c.app[HOST].revocations.is_revoked(token_id(mod.token)), timeout=8)
                assert (await _refused(c.url, mod.token)) == "forbidden: token revoked"
    finally:
        redis.stop()

