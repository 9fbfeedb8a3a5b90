"""Headless Chromium (Debian's chromium + chromium-driver) driven by Selenium, for page tests."""

import shutil
import tempfile
from collections.abc import Iterator

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

from tests.services import require

CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    # The machine has no internet: keep Chromium from calling home at every start.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    """A fresh headless Chromium for one test.

    It quits before the test's live server stops sharing its database connection, so no
    keep-alive socket is closed on a server thread after the test is over.
    """
    chromium = shutil.which("chromium")
    chromedriver = shutil.which("chromedriver")
    if not chromium or not chromedriver:
        require.service_missing(
            "headless Chromium is not installed: apt-get install chromium chromium-driver"
        )
    options = Options()
    options.binary_location = chromium
    # Console messages (CSP violations among them) readable with `browser.get_log("browser")`.
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    with tempfile.TemporaryDirectory() as profile:
        options.add_argument(f"--user-data-dir={profile}")
        driver = webdriver.Chrome(service=Service(chromedriver), options=options)
        driver.set_page_load_timeout(30)
        try:
            yield driver
        finally:
            driver.quit()


def csp_violations(driver: webdriver.Chrome) -> list[str]:
    """What the console said about Content-Security-Policy violations since the last call."""
    return [
        entry["message"]
        for entry in driver.get_log("browser")
        if "Content Security Policy" in entry["message"]
    ]
