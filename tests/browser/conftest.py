"""A phone-sized Chromium driven by Playwright against the live server.

``phone`` opens Debian's Chromium (``/usr/bin/chromium``) headless at 375 x 812 as a
touch device, and saves a screenshot of every step under ``test-artifacts/browser/``
(gitignored; CI keeps the folder). When Chromium or Playwright is missing the tests
fail under CI (``CI=true``) and are skipped, with the reason, elsewhere.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
PHONE = {"width": 375, "height": 812}
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
TIMEOUT_MS = 10_000


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def unavailable(why: str) -> None:
    message = f"cannot drive Chromium: {why}"
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


class Phone:
    """One browser page at phone size, with numbered screenshots of each step."""

    def __init__(self, page: Any, base_url: str, folder: Path) -> None:
        self.page = page
        self.base_url = base_url
        self.folder = folder
        self.steps = 0

    def goto(self, path: str) -> None:
        self.page.goto(path if path.startswith("http") else self.base_url + path)

    def shot(self, name: str) -> Path:
        """Save a full-page screenshot as the next step, after checking the page fits."""
        self.assert_fits_the_screen()
        self.steps += 1
        path = self.folder / f"{self.steps:02d}-{name}.png"
        self.page.screenshot(path=path, full_page=True)
        return path

    def assert_fits_the_screen(self) -> None:
        """No sideways scrolling at phone width: the page is no wider than the screen,
        and every section tab is in sight (not tucked away in a scrolling strip)."""
        width = self.page.evaluate("document.scrollingElement.scrollWidth")
        assert width <= PHONE["width"], f"{self.page.url} is {width}px wide at {PHONE['width']}px"
        for tab in self.page.locator("nav.tabs a").all():
            box = tab.bounding_box()
            assert (
                box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
            ), f"tab {tab.inner_text()!r} is off screen on {self.page.url}: {box}"

    def flash(self) -> str:
        """The text of the messages shown after an action."""
        return str(self.page.locator("main .messages").inner_text())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: Any, call: Any) -> Any:
    report = yield
    if report.when == "call":
        item.stash[FAILED] = report.failed
    return report


FAILED = pytest.StashKey[bool]()


@pytest.fixture
def phone(request: Any, live_server: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Phone]:
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError as exc:  # pragma: no cover - requirements-dev installs it
        unavailable(f"playwright is not installed ({exc})")
    # Playwright's sync API runs its event loop on this thread (in a greenlet), so Django
    # would take the test's own database calls for calls from async code. They are not:
    # the test is synchronous and the live server answers in its own thread.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    folder = ARTIFACTS / re.sub(r"[^\w.-]+", "_", request.node.name)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()

    playwright = sync_playwright().start()
    try:
        try:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        except Error as exc:
            unavailable(f"{CHROMIUM} did not start ({exc.message.splitlines()[0]})")
        try:
            context = browser.new_context(
                viewport=PHONE, device_scale_factor=1, is_mobile=True, has_touch=True
            )
            context.set_default_timeout(TIMEOUT_MS)
            phone = Phone(context.new_page(), live_server.url, folder)
            yield phone
            if request.node.stash.get(FAILED, False):
                phone.page.screenshot(path=folder / "failed.png", full_page=True)
        finally:
            browser.close()
    finally:
        playwright.stop()
