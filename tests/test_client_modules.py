"""The web client's module graph (client_web/src, plain ES modules, no bundler): every relative
import resolves to a file, no import cycles, the composition roots stay small, server events
reach features through the connection's router only, and the wheel's fairness check runs
outside a browser (node) against the server's own draw."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from world.shows.wheel import SEGMENTS, spin_index

SRC = Path(__file__).resolve().parent.parent / "client_web" / "src"
IMPORT = re.compile(r"""(?:^|\n)\s*(?:import|export)\s[^'";]*?\bfrom\s*['"]([^'"]+)['"]|(?:^|\n)\s*import\s*['"]([^'"]+)['"]""")
# The connection modules: the only places that subscribe to a socket.
CONNECTIONS = {"core/net.js", "host/conn.js"}
MAX_ROOT_LINES = 300


def modules() -> dict[str, list[str]]:
    """Each module (path relative to src) -> the modules it imports (relative imports only:
    bare specifiers such as 'three' are the import map's)."""
    graph: dict[str, list[str]] = {}
    for path in sorted(SRC.rglob("*.js")):
        name = path.relative_to(SRC).as_posix()
        deps = []
        for a, b in IMPORT.findall(path.read_text(encoding="utf-8")):
            spec = a or b
            if spec.startswith("."):
                deps.append((path.parent / spec).resolve().relative_to(SRC.resolve()).as_posix())
        graph[name] = deps
    return graph


def find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """One import cycle as a path [a, b, ..., a], or None (depth-first, three colours)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in graph.get(node, []):
            if state.get(dep) == 1:
                return stack[stack.index(dep):] + [dep]
            if dep not in state and (found := visit(dep)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in graph:
        if node not in state and (found := visit(node)):
            return found
    return None


def test_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a.js": ["b.js"], "b.js": ["c.js"], "c.js": ["a.js"]}) == ["a.js", "b.js", "c.js", "a.js"]
    assert find_cycle({"a.js": ["b.js"], "b.js": [], "c.js": ["b.js"]}) is None


def test_every_relative_import_resolves() -> None:
    graph = modules()
    missing = [(m, d) for m, deps in graph.items() for d in deps if d not in graph]
    assert not missing, f"imports of files that do not exist: {missing}"


def test_no_import_cycles() -> None:
    cycle = find_cycle(modules())
    assert cycle is None, f"import cycle: {' -> '.join(cycle or [])}"


@pytest.mark.parametrize("root", ["main.js", "host/main.js"])
def test_composition_roots_stay_small(root: str) -> None:
    lines = (SRC / root).read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_ROOT_LINES, f"{root} has {lines} lines: it should only compose features"


def test_server_events_reach_features_through_the_router_only() -> None:
    """No raw socket subscription outside the connection modules, and no re-emitting of server
    events by hand: every server event goes socket.onAny -> Features.route."""
    offenders = []
    for path in sorted(SRC.rglob("*.js")):
        name = path.relative_to(SRC).as_posix()
        text = path.read_text(encoding="utf-8")
        if name not in CONNECTIONS and re.search(r"\bsocket\.on(Any)?\(", text):
            offenders.append(f"{name}: subscribes to the socket")
        if re.search(r"\b(net|conn)\.emit\(", text):
            offenders.append(f"{name}: re-emits an event")
    for conn in CONNECTIONS:
        assert "onAny(" in (SRC / conn).read_text(encoding="utf-8"), f"{conn} does not route every event"
    assert not offenders, offenders


def test_wheel_fairness_check_runs_in_node() -> None:
    """shows/wheel/fairness.js, imported without a DOM: it recomputes the server's spins from the
    revealed seed, and refuses a forged commit."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: install nodejs (make system-deps)")
    seed = bytes(range(32))
    spins = [spin_index(seed, "w1-test", i) for i in range(3)]
    script = """
      const [seed, spins, segments] = JSON.parse(process.argv[1]);
      const m = await import(process.argv[2]);
      const commit = m.toHex(m.sha256js(m.fromHex(seed)));
      const ok = await m.verifyRound({ seed, commit, round: 'w1-test', spins, segments });
      const forged = await m.verifyRound({ seed, commit: '00'.repeat(32), round: 'w1-test', spins, segments });
      console.log(JSON.stringify({ commit, ok, forged }));
    """
    out = subprocess.run(
        [node, "--input-type=module", "-e", script, json.dumps([seed.hex(), spins, list(SEGMENTS)]),
         (SRC / "shows" / "wheel" / "fairness.js").as_uri()],
        capture_output=True, text=True, timeout=30, check=True,
    )
    res = json.loads(out.stdout)
    assert res["commit"] == hashlib.sha256(seed).hexdigest()
    assert res["ok"]["ok"] and res["ok"]["spins"] == spins
    assert not res["forged"]["ok"] and not res["forged"]["commitOk"] and res["forged"]["spins"] == spins
