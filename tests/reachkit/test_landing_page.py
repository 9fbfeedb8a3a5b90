"""`/` is a small landing page: where the docs, the schema, the admin and /healthz are, and
under `make run` (debug) the demo's state, never its secrets. Checked in headless Chromium
under the site's Content-Security-Policy."""

import json
import re
import socket
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils.html import escape
from selenium.webdriver.common.by import By

from reachkit.demo_state import demo_state_file
from tests.services.browser import csp_violations

LINKS = {
    "link-docs": "/api/v1/docs/",
    "link-schema": "/api/v1/schema/",
    "link-admin": "/admin/",
    "link-health": "/healthz",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def demo(settings, tmp_path, db):
    """What `make run` leaves: debug on, the demo made, two emails in the sink's folder."""
    settings.DEBUG = True
    settings.VAR_DIR = tmp_path
    settings.MAILSINK_DIR = tmp_path / "mail"
    settings.MAILSINK_PORT = free_port()
    call_command("setup_demo", stdout=StringIO())
    settings.MAILSINK_DIR.mkdir()
    for name in ("1.eml", "2.eml"):
        (settings.MAILSINK_DIR / name).write_bytes(b"Subject: hi\r\n\r\nhi\r\n")
    return json.loads(demo_state_file().read_text())


def test_the_landing_page_links_to_the_docs_the_schema_the_admin_and_health(client, db):
    response = client.get("/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    for element_id, href in LINKS.items():
        assert f'id="{element_id}" href="{href}"' in html
    assert 'id="demo"' not in html  # production: no demo section


def test_under_make_run_it_shows_the_demos_state_but_no_secret(client, demo):
    html = client.get("/").content.decode()

    assert 'id="demo"' in html
    assert demo["campaign_id"] in html
    assert escape(demo["database"]) in html
    prefix = re.match(r"rk_[0-9a-f]+_", demo["api_key"])
    assert prefix is not None
    assert prefix[0] in html
    assert demo["api_key"] not in html
    assert demo["admin_password"] not in html
    assert '<span id="demo-emails">2</span> emails' in html


def test_only_safe_methods(client, db):
    assert client.post("/").status_code == 405
    assert client.head("/").status_code == 200


def test_the_landing_page_works_in_a_browser_under_its_csp(browser, live_server, demo):
    browser.get(f"{live_server.url}/")

    assert browser.find_element(By.TAG_NAME, "h1").text == "Reachkit"
    assert browser.find_element(By.ID, "demo").is_displayed()
    assert browser.find_element(By.ID, "demo-emails").text == "2"
    # The inline style applied (its nonce matched): the page's card has its white background.
    main = browser.find_element(By.TAG_NAME, "main")
    assert main.value_of_css_property("background-color") == "rgba(255, 255, 255, 1)"
    assert csp_violations(browser) == []

    hrefs = {
        element_id: browser.find_element(By.ID, element_id).get_attribute("href")
        for element_id in LINKS
    }
    assert hrefs == {element_id: f"{live_server.url}{path}" for element_id, path in LINKS.items()}
    browser.find_element(By.ID, "link-admin").click()
    assert "/admin/login/" in browser.current_url
    browser.get(hrefs["link-health"])
    assert '"database"' in browser.find_element(By.TAG_NAME, "body").text
    assert csp_violations(browser) == []
