"""The deployment files (Dockerfile, compose.yaml, deploy/nginx.conf) say what docs/deploy.md says.

No docker here: the files are read and checked as text. compose.yaml is read with PyYAML when it
is installed, else with the small block-YAML reader below (enough for that file).
"""

from __future__ import annotations

import json
import re
import shlex
from typing import Any

import pytest

from tests.conftest import ROOT

try:
    import yaml
except ImportError:  # PyYAML is not a dependency of the project
    yaml = None


# --- a reader for the block-YAML subset compose.yaml uses --------------------------------------
# mappings and sequences by indentation, plain / quoted scalars, flow lists of quoted strings.


def _strip_comment(line: str) -> str:
    quote = ""
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i].rstrip()
    return line.rstrip()


def _scalar(text: str) -> Any:
    text = text.strip()
    if text.startswith(("[", '"')):
        return json.loads(text)
    if text.startswith("'"):
        return text[1:-1].replace("''", "'")
    if text in ("true", "false"):
        return text == "true"
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return text


def mini_yaml(source: str) -> Any:
    lines = []
    for raw in source.splitlines():
        line = _strip_comment(raw)
        if line.strip():
            lines.append((len(line) - len(line.lstrip(" ")), line.strip()))

    def block(i: int, indent: int) -> tuple[Any, int]:
        if lines[i][1].startswith("- "):
            items = []
            while i < len(lines) and lines[i][0] == indent and lines[i][1].startswith("- "):
                items.append(_scalar(lines[i][1][2:]))
                i += 1
            return items, i
        mapping: dict[str, Any] = {}
        while i < len(lines) and lines[i][0] == indent:
            m = re.fullmatch(r"([\w.-]+):(?:\s+(.*))?", lines[i][1])
            assert m, f"compose.yaml line not understood by the test's reader: {lines[i][1]!r}"
            key, rest = m.group(1), m.group(2)
            i += 1
            if rest is not None:
                mapping[key] = _scalar(rest)
            elif i < len(lines) and lines[i][0] > indent:
                mapping[key], i = block(i, lines[i][0])
            else:
                mapping[key] = None
        return mapping, i

    value, end = block(0, lines[0][0])
    assert end == len(lines), f"compose.yaml: stopped reading at {lines[end][1]!r}"
    return value


def read_compose() -> dict[str, Any]:
    source = (ROOT / "compose.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(source) if yaml is not None else mini_yaml(source)


def env_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def names(value: Any) -> list[str]:
    """``depends_on`` as a list or as a mapping of conditions."""
    return list(value) if value else []


# --- compose.yaml -------------------------------------------------------------------------------

NODES = ("node1", "node2")


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    compose = read_compose()
    assert isinstance(compose, dict) and isinstance(compose.get("services"), dict)
    return compose["services"]  # type: ignore[no-any-return]


def test_compose_has_redis_two_nodes_and_a_proxy(services: dict[str, Any]) -> None:
    assert {"redis", *NODES, "proxy"} <= set(services)


def test_redis_keeps_nothing_on_disk(services: dict[str, Any]) -> None:
    redis = services["redis"]
    assert str(redis["image"]).startswith("redis:7")
    command = redis["command"]
    args = shlex.split(command) if isinstance(command, str) else [str(a) for a in command]
    assert args[0] == "redis-server"
    assert args[args.index("--save") + 1] == ""
    assert args[args.index("--appendonly") + 1] == "no"
    assert not redis.get("volumes"), "redis is meant to run without persistent data"


def test_nodes_join_the_cluster_through_the_redis_service(services: dict[str, Any]) -> None:
    ids = []
    for name in NODES:
        node = services[name]
        build = node["build"]
        assert (build if isinstance(build, str) else build["context"]) in (".", "./")
        env = env_of(node)
        url = re.fullmatch(r"redis://([\w.-]+):(\d+)/\d+", env["VETRINA_REDIS_URL"])
        assert url, env["VETRINA_REDIS_URL"]
        assert url.group(1) == "redis" and url.group(2) == "6379"
        assert "redis" in names(node.get("depends_on"))
        # the secret comes from the environment and is required, never written in the file
        assert re.fullmatch(r"\$\{VETRINA_SECRET:\?[^}]*\}", env["VETRINA_SECRET"]), env["VETRINA_SECRET"]
        ids.append(env["VETRINA_NODE_ID"])
    assert all(ids) and len(set(ids)) == len(ids), ids


def test_proxy_publishes_a_port_and_mounts_the_nginx_conf(services: dict[str, Any]) -> None:
    proxy = services["proxy"]
    assert str(proxy["image"]).startswith("nginx:")
    ports = [str(p) for p in proxy.get("ports") or []]
    assert any(p.rsplit(":", 1)[-1] == "80" and ":" in p for p in ports), ports
    mounts = [str(v) for v in proxy.get("volumes") or []]
    assert any(v.split(":")[0] in ("./deploy/nginx.conf", "deploy/nginx.conf")
               and v.split(":")[1] == "/etc/nginx/nginx.conf" for v in mounts), mounts
    assert set(NODES) <= set(names(proxy.get("depends_on")))


@pytest.mark.skipif(yaml is None, reason="PyYAML is not installed: nothing to compare the test's reader with")
def test_the_fallback_reader_reads_compose_like_pyyaml() -> None:
    source = (ROOT / "compose.yaml").read_text(encoding="utf-8")
    assert mini_yaml(source) == yaml.safe_load(source)


def test_the_fallback_reader_on_the_forms_it_supports() -> None:
    text = 'a:\n  b: "x # y"  # comment\n  c: ["s", "", "no"]\n  d:\n    - "1:2"\n    - e\n  f: true\n  g: 3\n'
    assert mini_yaml(text) == {"a": {"b": "x # y", "c": ["s", "", "no"], "d": ["1:2", "e"], "f": True, "g": 3}}


# --- deploy/nginx.conf --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def nginx() -> str:
    text = (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    return "\n".join(_strip_comment(line) for line in text.splitlines())


def test_nginx_upstream_holds_both_nodes_with_ip_hash(nginx: str, services: dict[str, Any]) -> None:
    m = re.search(r"upstream\s+(\w+)\s*\{(.*?)\}", nginx, re.S)
    assert m, "no upstream block"
    name, body = m.groups()
    assert re.search(r"^\s*ip_hash\s*;", body, re.M)
    servers = set(re.findall(r"^\s*server\s+([\w.-]+:\d+)", body, re.M))
    assert servers == {f"{n}:8080" for n in NODES}
    assert all(s.split(":")[0] in services for s in servers)
    assert re.search(rf"proxy_pass\s+http://{name}\s*;", nginx)


def test_nginx_passes_websocket_upgrades(nginx: str) -> None:
    assert re.search(r"proxy_http_version\s+1\.1\s*;", nginx)
    assert re.search(r"proxy_set_header\s+Upgrade\s+\$http_upgrade\s*;", nginx)
    connection = re.search(r"proxy_set_header\s+Connection\s+(\S+)\s*;", nginx)
    assert connection, "no Connection header"
    value = connection.group(1).strip("\"'")
    if value.startswith("$"):  # a map from $http_upgrade, defined in this file
        assert re.search(rf"map\s+\$http_upgrade\s+{re.escape(value)}\s*\{{[^}}]*upgrade", nginx)
    else:
        assert value.lower() == "upgrade"


def test_nginx_keeps_sockets_open_and_fails_over(nginx: str) -> None:
    units = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
    timeout = re.search(r"proxy_read_timeout\s+(\d+)([smhd]?)\s*;", nginx)
    assert timeout and int(timeout.group(1)) * units[timeout.group(2)] >= 300, "read timeout too short"
    nxt = re.search(r"proxy_next_upstream\s+([^;]+);", nginx)
    assert nxt and {"error", "timeout"} <= set(nxt.group(1).split())


# --- Dockerfile ---------------------------------------------------------------------------------


def final_stage() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    instructions: list[tuple[str, str]] = []
    for line in re.sub(r"\\\n", " ", text).splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            instructions.append((word.upper(), rest.strip()))
    last_from = max(i for i, (word, _) in enumerate(instructions) if word == "FROM")
    return instructions[last_from:]


def test_image_runs_as_a_non_root_user() -> None:
    stage = final_stage()
    users = [rest for word, rest in stage if word == "USER"]
    assert users, "no USER in the runtime stage"
    assert users[-1].split(":")[0] not in ("root", "0")
    entry = max(i for i, (word, _) in enumerate(stage) if word == "ENTRYPOINT")
    assert max(i for i, (word, _) in enumerate(stage) if word == "USER") < entry


def test_image_entrypoint_serves_and_healthcheck_calls_healthz() -> None:
    stage = final_stage()
    entry = json.loads([rest for word, rest in stage if word == "ENTRYPOINT"][-1])
    assert entry[:2] == ["vetrina", "serve"]
    assert entry[entry.index("--host") + 1] == "0.0.0.0"
    port = entry[entry.index("--port") + 1]
    checks = [rest for word, rest in stage if word == "HEALTHCHECK"]
    assert checks and "CMD" in checks[-1]
    assert f"127.0.0.1:{port}/healthz" in checks[-1] or f"localhost:{port}/healthz" in checks[-1]
    assert not re.search(r"\b(curl|wget)\b", checks[-1]), "the slim image has neither curl nor wget"


def test_dockerignore_keeps_local_clutter_out_of_the_context() -> None:
    patterns = {
        p.strip().rstrip("/") for p in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if p.strip() and not p.startswith("#")
    }
    assert {".git", ".venv"} <= patterns
    assert patterns & {"node_modules", "**/node_modules"}
    assert patterns & {"__pycache__", "**/__pycache__"}
