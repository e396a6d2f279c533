"""Browser fixtures for the web-client tests: Debian's headless Chromium driven by Playwright."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote

import pytest
from playwright.async_api import Browser, ConsoleMessage, Error, Page, async_playwright

from tests.conftest import Visitor

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (make system-deps)")
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            await b.close()


@dataclass
class ClientPage:
    """A fresh browser context + page, recording uncaught JS errors and console errors."""

    page: Page
    errors: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert not self.errors, f"uncaught JS errors: {self.errors}"
        assert not self.console, f"console errors: {self.console}"

    async def vetrina(self, expr: str) -> Any:
        """Evaluate an expression against the client's `window.vetrina` testing hook."""
        return await self.page.evaluate(f"() => {{ const v = window.vetrina; return {expr}; }}")


@pytest.fixture
async def client_page(browser: Browser) -> AsyncIterator[ClientPage]:
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    cp = ClientPage(page)

    def on_error(exc: Error) -> None:
        cp.errors.append(f"{exc.name}: {exc.message}\n{exc.stack}")

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type == "error":
            cp.console.append(msg.text)

    page.on("pageerror", on_error)
    page.on("console", on_console)
    try:
        yield cp
    finally:
        await context.close()


_BOXES_JS = """([selectors, every]) => {
  const out = {};
  for (const sel of selectors) {
    const els = [...document.querySelectorAll(sel)];
    (every ? els : els.slice(0, 1)).forEach((el, i) => {
      const r = el.getBoundingClientRect();
      if (r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden') {
        out[i ? `${sel}[${i}]` : sel] = {x: r.x, y: r.y, width: r.width, height: r.height};
      }
    });
  }
  return out;
}"""


async def visible_boxes(page: Page, selectors: list[str], *, every: bool = True) -> dict[str, dict[str, float]]:
    """The viewport boxes of the visible elements matching each selector (``every``: all
    matches, the i-th keyed ``sel[i]``; else the first only), read in one round trip: a
    locator call per element costs ~0.3 s while software WebGL keeps the page busy."""
    return await page.evaluate(_BOXES_JS, [selectors, every])


def overlaps(a: dict[str, float], b: dict[str, float]) -> bool:
    return a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"] and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"]


def assert_apart(found: dict[str, dict[str, float]], width: int, height: int) -> None:
    """Every box inside the viewport and none overlapping another."""
    names = list(found)
    for i, a in enumerate(names):
        box = found[a]
        assert box["x"] >= 0 and box["y"] >= 0, (a, box)
        assert box["x"] + box["width"] <= width + 0.5 and box["y"] + box["height"] <= height + 0.5, (a, box)
        for b in names[i + 1:]:
            assert not overlaps(box, found[b]), f"{a} {box} overlaps {b} {found[b]}"


async def open_client(cp: ClientPage, url: str, name: str, room: str = "showroom") -> None:
    """The web client, signed in as ``name`` and joined to ``room``."""
    await cp.page.goto(f"{url}/?name={quote(name)}&room={room}")
    await cp.page.wait_for_function("window.vetrina && window.vetrina.state === 'joined'", timeout=20_000)


async def wait_page(cp: ClientPage, expr: str, arg: Any = None, timeout: float = 6000, polling: float | Literal["raf"] = "raf") -> Any:
    """Wait until `expr` (with `v` = window.vetrina and `arg`) is truthy in the page; return it."""
    handle = await cp.page.wait_for_function(
        f"(arg) => {{ const v = window.vetrina; return {expr}; }}", arg=arg, timeout=timeout, polling=polling
    )
    return await handle.json_value()


async def visitor(url: str, name: str, made: list[Visitor], room: str = "showroom") -> tuple[Visitor, dict[str, Any]]:
    """A python visitor joined to ``room``, with its join ack (closed by the ``visitors`` fixture)."""
    v = Visitor(name)
    made.append(v)
    await v.connect(url)
    return v, await v.join(room)
