"""world/ stays pure: no sockets, no event loop, no Redis, no wall clock or global random."""

from __future__ import annotations

import ast
from pathlib import Path

WORLD = Path(__file__).resolve().parents[2] / "world"
FORBIDDEN_MODULES = {"asyncio", "aiohttp", "socketio", "engineio", "redis", "msgpack", "server"}


def test_world_imports_nothing_that_does_io() -> None:
    for path in WORLD.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in FORBIDDEN_MODULES, f"{path.name} imports {name}"


def test_world_never_reads_the_clock_or_the_global_random() -> None:
    for path in WORLD.rglob("*.py"):
        src = path.read_text()
        for banned in ("time.time(", "time.monotonic(", "datetime.now(", "random.random(", "random.uniform(", "random.choice("):
            assert banned not in src, f"{path.name} calls {banned}"
