"""Debian's Chromium, driven by Playwright, for the tests that use the pages as a person would."""

from __future__ import annotations

import shutil

import pytest
from playwright.sync_api import Browser, Page, Playwright

from tests.support.airflow_admin import PASSWORD

# Without these, Chromium keeps trying to reach Google's services on this offline machine.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def launch_chromium(playwright: Playwright) -> Browser:
    path = shutil.which("chromium")
    if not path:
        pytest.fail("Debian's chromium is required for the browser tests: `make test` installs it (apt-get).")
    return playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)


def signed_in_page(browser: Browser, base_url: str, viewport: tuple[int, int] = (1280, 900)) -> Page:
    """A page of the Airflow UI at ``base_url``, signed in as the tests' admin (tests.support.airflow_admin)."""
    width, height = viewport
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(f"{base_url}/")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(f"{base_url}/", timeout=30_000)
    return page
