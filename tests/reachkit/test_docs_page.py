"""The API docs page works in a real browser with no network beyond this server."""

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from tests.services.browser import csp_violations


def test_swagger_ui_renders_the_blocklist_operations(browser, live_server):
    browser.get(f"{live_server.url}/api/v1/docs/")

    WebDriverWait(browser, 20).until(
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, ".opblock"))
    )
    paths = {
        element.text for element in browser.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")
    }
    assert "/api/v1/blocklist" in paths
    assert "/api/v1/blocklist/check" in paths
    # Under the page's Content-Security-Policy: scripts, styles and images all allowed.
    browser.find_element(By.CSS_SELECTOR, ".opblock-summary").click()
    WebDriverWait(browser, 20).until(
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, ".opblock-body"))
    )
    assert csp_violations(browser) == []
