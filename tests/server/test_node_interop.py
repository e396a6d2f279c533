"""The JS socket.io-client with socket.io-msgpack-parser speaks to our server (real Node, real sockets)."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.conftest import ROOT, LiveServer

NODE_DIR = ROOT / "tests" / "node"


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_js_client_joins_sees_moves_syncs_clock_and_survives_server_disconnect(live_server: LiveServer) -> None:
    assert (NODE_DIR / "node_modules" / "socket.io-msgpack-parser").is_dir(), "run `make setup` first"
    proc = subprocess.run(
        ["node", "interop.mjs", live_server.url], cwd=NODE_DIR, capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])["result"]
    assert out["welcome"] == {"id": "number", "session": "string", "t": "number"}
    assert out["join"] == {"ok": True, "kind": "showroom", "hasScene": True}
    assert out["tick"]["records"] >= 1 and out["tick"]["lastX"] == out["tick"]["expectedX"]
    assert out["time"] == {"ok": True, "serverT": "number"}
    # the Uint8Array arrived as bytes b'sh' (ext type 0 -> bytes), so the room lookup ran on it
    assert out["typedArray"] == "not_found: no room 'sh'" and out["notFound"] == "not_found"
    assert out["takeover"] == {"reason": "io server disconnect", "sameId": True, "room": "showroom"}
