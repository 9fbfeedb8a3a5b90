"""The admin works in a real browser under the Content-Security-Policy, and a new API key
is shown on the page that answers the form."""

import re

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from reachkit.models import ApiKey
from tests.reachkit.factories import UserFactory, WorkspaceFactory
from tests.services.browser import csp_violations

PASSWORD = "correct horse battery staple"


def test_an_admin_logs_in_and_creates_a_key_with_no_policy_violation(browser, live_server):
    UserFactory(username="boss", is_staff=True, is_superuser=True)
    workspace = WorkspaceFactory(name="Acme")
    wait = WebDriverWait(browser, 20)

    browser.get(f"{live_server.url}/admin/login/")
    browser.find_element(By.ID, "id_username").send_keys("boss")
    browser.find_element(By.ID, "id_password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    wait.until(expected_conditions.presence_of_element_located((By.ID, "site-name")))

    browser.get(f"{live_server.url}/admin/reachkit/apikey/add/")
    browser.find_element(By.ID, "id_name").send_keys("zapier")
    browser.find_element(By.CSS_SELECTOR, f"#id_workspace option[value='{workspace.pk}']").click()
    browser.find_element(By.NAME, "_save").click()
    shown = wait.until(expected_conditions.presence_of_element_located((By.ID, "new-api-key")))

    raw_key = shown.text
    assert re.fullmatch(r"rk_[0-9a-f]{8}_[A-Za-z0-9_-]+", raw_key)
    assert ApiKey.objects.get(name="zapier").matches(raw_key)
    browser.get(f"{live_server.url}/admin/reachkit/apikey/")
    assert "zapier" in browser.page_source
    assert raw_key not in browser.page_source  # shown once
    assert csp_violations(browser) == []
