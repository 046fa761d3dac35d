"""Helpers for the journey tests: one step = a screenshot, axe, no sideways scrolling, and (in
bokmål) no code or English from the label registry on the page."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from tests.live import axe_violations
from tests.plain import english_leaks

ROOT = Path(__file__).resolve().parent.parent.parent
# The test run's output folder (like Playwright's own "test-results"); screenshots go here.
OUTPUT = Path(os.environ.get("DATATORG_TEST_OUTPUT", ROOT / "test-results")) / "journeys"
PASSWORD = "datatorg-demo-2026"


class Journey:
    """A person's way through the site in one language at one width, checked at every step."""

    def __init__(self, page: Any, base: str, name: str, lang: str, width: int) -> None:
        self.page = page
        self.base = base
        self.lang = lang
        self.width = width
        self.folder = OUTPUT / name / f"{lang}-{width}"
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob("*.png"):
            old.unlink()
        self.n = 0

    def go(self, path: str) -> None:
        self.page.goto(self.base + path)

    def step(self, name: str) -> None:
        """Check the page as it is now, and keep a picture of it for the reviewer."""
        self.page.wait_for_load_state()
        self.n += 1
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        self.page.screenshot(path=str(self.folder / f"{self.n:02d}-{slug}.png"), full_page=True)
        where = f"{name} ({self.lang}, {self.width} px, {self.page.url})"
        assert axe_violations(self.page) == [], where
        wide = self.page.evaluate("document.documentElement.scrollWidth")
        assert wide <= self.width, f"{where}: {wide} px wide"
        if self.lang == "nb":
            leaks = english_leaks(self.page.content())
            assert leaks == [], f"{where}: {leaks}"

    def menu(self, name: str) -> None:
        """Follow a main-menu link (opening the folded menu on a phone first)."""
        self.page.wait_for_load_state("load")  # the menu script has run (it is deferred)
        toggle = self.page.locator(".menu-toggle")
        if toggle.is_visible():
            toggle.click()
        link = self.page.locator("#main-menu").get_by_role("link", name=name).first
        link.wait_for(state="visible")
        link.click()
        self.page.wait_for_load_state()

    def sign_in(self, email: str) -> None:
        """On the sign-in page: fill it in and send it."""
        self.page.locator("#email").fill(email)
        self.page.locator("#password").fill(PASSWORD)
        self.page.locator("main form button[type=submit]").first.click()
        self.page.wait_for_load_state()


def context(browser: Any, lang: str, width: int) -> Any:
    return browser.new_context(
        locale="nb-NO" if lang == "nb" else "en-GB",
        viewport={"width": width, "height": 900},
        accept_downloads=True,
    )
