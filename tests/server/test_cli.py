"""The vetrina command: clear errors for broken rooms; `crowd` puts wandering visitors in a room."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil

from tests.conftest import ROOT, LiveServer, start_server_process


def test_serve_refuses_a_broken_room_file_with_a_clear_message(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"id": "x", "kind": "showroom", "name": "X", "scene": {"bounds": [[0, 0, 0], [1, 1, 1]], "spawn": [[5, 0, 5]]}}))
    proc = subprocess.run(
        [sys.executable, "-m", "server.cli", "serve", "--port", "0", "--rooms", str(bad)],
        cwd=ROOT, capture_output=True, text=True, timeout=30,
    )
    assert proc.returncode != 0
    assert "bad.json" in proc.stderr and "outside the bounds" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_crowd_visitors_join_and_wander(live_server: LiveServer) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "crowd", "--url", live_server.url, "--room", "studio", "-n", "6", "--seconds", "6"],
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 10
        seen = 0
        while time.monotonic() < deadline and seen < 6:
            with urllib.request.urlopen(live_server.url + "/api/rooms") as r:
                rooms = {x["id"]: x for x in json.load(r)["rooms"]}
            seen = rooms["studio"]["occupancy"]
            time.sleep(0.2)
        assert seen == 6
        time.sleep(1.5)
        with urllib.request.urlopen(live_server.url + "/metrics") as r:
            text = r.read().decode()
        moves = next(float(l.split()[-1]) for l in text.splitlines() if l.startswith('vetrina_messages_in_total{event="move"}'))
        assert moves > 20
        assert not any(l.startswith("vetrina_corrections_total") and float(l.split()[-1]) > 0 for l in text.splitlines())
    finally:
        proc.wait(15)
    assert proc.returncode == 0


def test_sigterm_with_visitors_connected_stops_server_and_room_workers_promptly() -> None:
    proc, port = start_server_process("--crowd", "5")
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with urllib.request.urlopen(url + "/healthz") as r:
                if json.load(r)["avatars"] == 5:
                    break
            time.sleep(0.2)
        children = psutil.Process(proc.pid).children()
        workers = [c for c in children if "spawn_main" in " ".join(c.cmdline()) and "resource_tracker" not in " ".join(c.cmdline())]
        assert len(workers) == 3  # one per demo room
        # and a client that will never answer engine.io's CLOSE (nor read anything)
        silent = socket.create_connection(("127.0.0.1", port))
        silent.sendall(
            b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        assert b" 101 " in silent.recv(4096)
        started = time.monotonic()
        proc.terminate()
        assert proc.wait(10) == 0
        assert time.monotonic() - started < 4  # a drain is not held up by a silent client
        silent.close()
        gone, alive = psutil.wait_procs(children, timeout=5)
        assert alive == []  # room workers (and multiprocessing's tracker) are gone too
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        if proc.stderr:
            proc.stderr.close()


def _cli(*args: str, env: dict[str, str | None] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    full = dict(os.environ)
    for k, v in (env or {}).items():
        if v is None:
            full.pop(k, None)
        else:
            full[k] = v
    return subprocess.run([sys.executable, "-m", "server.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=30, env=full)


def test_serve_refuses_the_default_secret_unless_demo() -> None:
    proc = _cli("serve", "--port", "0", env={"VETRINA_SECRET": None})
    assert proc.returncode != 0 and "VETRINA_SECRET" in proc.stderr and "Traceback" not in proc.stderr


def test_token_command_mints_a_token_the_server_accepts() -> None:
    from server.auth import verify
    from tests.conftest import TEST_SECRET

    proc = _cli("token", "--role", "moderator", "--room", "showroom", "--room", "concert", "--ttl", "2h", "--name", "Gio")
    assert proc.returncode == 0, proc.stderr
    claims = verify(TEST_SECRET, proc.stdout.strip())
    assert claims.role == "moderator" and claims.rooms == ("showroom", "concert") and claims.name == "Gio"
    bad = _cli("token", "--role", "admin", "--room", "*")
    assert bad.returncode != 0 and "invalid choice" in bad.stderr
    no_secret = _cli("token", "--role", "host", "--room", "*", env={"VETRINA_SECRET": None})
    assert no_secret.returncode != 0 and "VETRINA_SECRET" in no_secret.stderr
    assert _cli("token", "--role", "host", "--room", "*", "--ttl", "soon").returncode != 0
