"""world/ stays pure: it imports only what is on an allowlist, and never touches files, the
clock, the OS or a global random. The checker is a function, tested on source strings first
(so we know it catches what it should), then run on every file under world/."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

WORLD = Path(__file__).resolve().parents[2] / "world"

# Pure stdlib modules: none of them reads a file, the clock, the OS or a shared random.
PURE_STDLIB = frozenset({
    "__future__", "dataclasses", "typing", "collections", "collections.abc", "enum", "re",
    "unicodedata", "math", "itertools", "functools", "bisect", "heapq", "hashlib", "hmac", "struct",
    "csv",  # writes to the in-memory file object it is handed (io.StringIO, below)
})
# Modules that are allowed only through these names (anything else they offer does I/O or
# draws from shared state): seeded ``random.Random`` instances, in-memory text buffers.
ONLY_NAMES: dict[str, frozenset[str]] = {
    "random": frozenset({"Random"}),
    "io": frozenset({"StringIO"}),
}
THIRD_PARTY = frozenset({
    "numpy",  # arrays: the tick's vector maths (its file and random parts are refused below)
    "pydantic",  # validating the parsed data world/ is handed; never told to read a file
    "pydantic_core",  # pydantic's own core (its schema and serializer types), no I/O of its own
    "rapidfuzz",  # pure string matching in memory: the assistant's FAQ/product matcher
})
# numpy names that read or write files, or draw from numpy's global random state.
NUMPY_REFUSED = frozenset({
    "load", "save", "savez", "savez_compressed", "loadtxt", "savetxt", "genfromtxt", "fromfile",
    "tofile", "memmap", "DataSource", "random",
})
# Builtins that read files, the terminal, or run code from strings.
BUILTINS_REFUSED = frozenset({"open", "input", "print", "exec", "eval", "compile", "__import__", "breakpoint"})
# Methods that read or write files, whatever object they are called on (Path, pydantic v1, ndarray).
FILE_METHODS = frozenset({"read_text", "read_bytes", "write_text", "write_bytes", "parse_file", "parse_raw_file", "tofile"})


def module_problem(module: str) -> str | None:
    """Why ``module`` may not be imported by world/ (None: it may)."""
    top = module.split(".")[0]
    if top == "world" or module in PURE_STDLIB or module in ONLY_NAMES:
        return None
    if top == "numpy":
        parts = module.split(".")
        return None if not NUMPY_REFUSED.intersection(parts[1:]) else "numpy file/random I/O"
    if top in THIRD_PARTY:
        return None
    return "not on the allowlist"


class _Checker(ast.NodeVisitor):
    def __init__(self, where: str) -> None:
        self.where = where
        self.problems: list[str] = []
        self.aliases: dict[str, str] = {}  # local name -> restricted module (random, io, numpy)
        self.random_class: set[str] = set()  # local names of random.Random

    def report(self, node: ast.AST, what: str) -> None:
        self.problems.append(f"{self.where}:{getattr(node, 'lineno', 0)}: {what}")

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            why = module_problem(alias.name)
            if why:
                self.report(node, f"imports {alias.name} ({why})")
            top = alias.name.split(".")[0]
            if top in ONLY_NAMES or top == "numpy":
                self.aliases[alias.asname or top] = top

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level or not node.module:
            return  # relative: inside world/
        why = module_problem(node.module)
        if why:
            self.report(node, f"imports {node.module} ({why})")
            return
        for alias in node.names:
            self._check_name(node, node.module, alias.name)
            if node.module == "random" and alias.name == "Random":
                self.random_class.add(alias.asname or alias.name)

    def _check_name(self, node: ast.AST, module: str, name: str) -> None:
        if module in ONLY_NAMES and name not in ONLY_NAMES[module]:
            self.report(node, f"uses {module}.{name} (only {', '.join(sorted(ONLY_NAMES[module]))})")
        elif module.split(".")[0] == "numpy" and name in NUMPY_REFUSED:
            self.report(node, f"uses {module}.{name} (numpy file/random I/O)")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if isinstance(node.value, ast.Name) and node.value.id in self.aliases:
            self._check_name(node, self.aliases[node.value.id], node.attr)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name) and func.id in BUILTINS_REFUSED:
            self.report(node, f"calls {func.id}()")
        if isinstance(func, ast.Attribute) and func.attr in FILE_METHODS:
            self.report(node, f"calls .{func.attr}() (file I/O)")
        if self._is_random_class(func) and not (node.args or node.keywords):
            self.report(node, "calls random.Random() without a seed (seeded from the OS)")
        self.generic_visit(node)

    def _is_random_class(self, func: ast.expr) -> bool:
        if isinstance(func, ast.Name):
            return func.id in self.random_class
        return (isinstance(func, ast.Attribute) and func.attr == "Random" and isinstance(func.value, ast.Name)
                and self.aliases.get(func.value.id) == "random")


def impurities(source: str, where: str = "<source>") -> list[str]:
    """Every way ``source`` breaks world/'s purity, as 'file:line: what' lines."""
    checker = _Checker(where)
    checker.visit(ast.parse(source))
    return checker.problems


@pytest.mark.parametrize(("source", "expected"), [
    ("import os", "imports os (not on the allowlist)"),
    ("import asyncio", "imports asyncio"),
    ("from server.assets import load", "imports server.assets"),
    ("import time\nx = time.time()", "imports time"),
    ("from datetime import datetime", "imports datetime"),
    ("import json", "imports json"),
    ("from pathlib import Path", "imports pathlib"),
    ("import msgpack", "imports msgpack"),
    ("import random\nx = random.random()", "uses random.random"),
    ("from random import choice", "uses random.choice"),
    ("import random as r\nr.shuffle([])", "uses random.shuffle"),
    ("import random\nrng = random.Random()", "random.Random() without a seed"),
    ("from random import Random\nrng = Random()", "random.Random() without a seed"),
    ("import io\nf = io.open('x')", "uses io.open"),
    ("import numpy as np\na = np.load('x.npy')", "uses numpy.load"),
    ("import numpy as np\na = np.random.rand(3)", "uses numpy.random"),
    ("from numpy.random import default_rng", "imports numpy.random"),
    ("data = open('scene.json').read()", "calls open()"),
    ("def f(p):\n    return p.read_text()", "calls .read_text() (file I/O)"),
    ("def f(M, p):\n    return M.parse_file(p)", "calls .parse_file()"),
    ("import numpy as np\nnp.zeros(3).tofile('x.bin')", "calls .tofile() (file I/O)"),
    ("print('tick')", "calls print()"),
    ("m = __import__('os')", "calls __import__()"),
])
def test_the_checker_names_the_file_line_and_what_is_impure(source: str, expected: str) -> None:
    problems = impurities(source, "world/x.py")
    assert problems and problems[0].startswith("world/x.py:") and expected in problems[0], problems


def test_the_checker_lets_pure_code_through() -> None:
    source = (
        "from __future__ import annotations\nimport hashlib, math, random, io, csv\n"
        "from collections import Counter\nfrom random import Random\nimport numpy as np\n"
        "from numpy.typing import NDArray\nfrom pydantic import BaseModel\nfrom rapidfuzz import fuzz\n"
        "from world.core.scene import Scene\nfrom . import chat\n"
        "rng = random.Random(7)\nother = Random(0)\nbuf = io.StringIO()\na = np.zeros(3)\n"
        "class Shop:\n    def open(self) -> None:\n        self.wheel.open(1)  # a method named open is no file\n"
    )
    assert impurities(source) == []


def test_world_imports_only_the_allowlist_and_does_no_io() -> None:
    problems = []
    for path in sorted(WORLD.rglob("*.py")):
        problems += impurities(path.read_text(), str(path.relative_to(WORLD.parent)))
    assert not problems, "world/ must stay pure:\n" + "\n".join(problems)
