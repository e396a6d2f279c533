"""Browser fixtures for the web-client tests: Debian's headless Chromium driven by Playwright."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from playwright.async_api import Browser, ConsoleMessage, Error, Page, async_playwright

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
