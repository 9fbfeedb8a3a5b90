"""The unsubscribe page: reached from a real email, confirmed in headless Chromium, and the
RFC 8058 one-click POST a mail client makes on the recipient's behalf.

GET never unsubscribes (link scanners fetch every link in an email); POST does: it marks
the lead, stops its sequence and blocklists its address. The page masks the address.
"""

from urllib.parse import urlsplit

import pytest
from django.core import signing
from django.test import Client
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from blocklist.models import BlocklistEntry
from blocklist.services import blocklist_contains
from campaigns import services
from campaigns.content import unsubscribe
from campaigns.models import Send
from tests.campaigns.outreach import html_of, text_of
from tests.leads.factories import LeadFactory
from tests.services.browser import csp_violations

ONE_CLICK = "List-Unsubscribe=One-Click"


def with_unsubscribe_link(outreach) -> None:
    services.campaign_update(campaign=outreach.campaign, options={"unsubscribe_option": True})


def the_link_in(received) -> str:
    """The List-Unsubscribe URL, checked to be a plain header line (as mail clients read it)
    and the same link the body carries."""
    message = received.message
    header = message["List-Unsubscribe"]
    url = header.removeprefix("<").removesuffix(">")
    assert header == f"<{url}>"
    assert f"\r\nList-Unsubscribe: <{url}>\r\n".encode() in received.raw
    assert message["List-Unsubscribe-Post"] == ONE_CLICK
    assert f'href="{url}"' in html_of(message)
    assert url in text_of(message)
    return url


def sequence_stopped(outreach, lead) -> bool:
    """After the follow-up's delay, a pass sends nothing more to the lead."""
    outreach.advance(days=3)
    outreach.send_due()
    return (
        len(outreach.received_by(lead.email)) == 1
        and not Send.objects.filter(lead=lead, step=2, status=Send.Status.SENT).exists()
    )


def test_a_recipient_unsubscribes_from_a_real_email_by_confirming_in_the_browser(
    outreach, settings, live_server, browser
):
    settings.PUBLIC_URL = live_server.url
    with_unsubscribe_link(outreach)
    (bob,) = outreach.add_leads("bob.smith@acme.com")
    assert outreach.send_due()["sent"] == 1
    url = the_link_in(outreach.received()[0])
    assert url.startswith(f"{live_server.url}/u/")

    browser.get(url)
    button = WebDriverWait(browser, 20).until(
        expected_conditions.element_to_be_clickable((By.ID, "confirm"))
    )
    assert button.text == "Unsubscribe"
    assert "bo•••@acme.com" in browser.find_element(By.TAG_NAME, "main").text
    assert "bob.smith@acme.com" not in browser.page_source
    # Opening the link (as a link scanner would) changed nothing.
    bob.refresh_from_db()
    assert not bob.is_unsubscribed
    assert not blocklist_contains(workspace=outreach.campaign.workspace, email=bob.email)

    button.click()
    WebDriverWait(browser, 20).until(
        expected_conditions.text_to_be_present_in_element(
            (By.ID, "heading"), "You are unsubscribed"
        )
    )
    assert (
        "bo•••@acme.com will not get any more emails from Sam Sender."
        in browser.find_element(By.TAG_NAME, "main").text
    )
    assert browser.find_elements(By.ID, "confirm") == []
    assert csp_violations(browser) == []  # its style carries the CSP nonce
    bob.refresh_from_db()
    assert bob.is_unsubscribed
    assert bob.next_due_at is None
    assert blocklist_contains(workspace=outreach.campaign.workspace, email=bob.email)
    assert sequence_stopped(outreach, bob)


def test_a_lead_who_only_opens_the_link_still_gets_the_follow_up(outreach):
    """The other side of the rules above: what stops the follow-up is unsubscribing, not the
    link being sent or opened."""
    with_unsubscribe_link(outreach)
    (bob,) = outreach.add_leads("bob@acme.com")
    outreach.send_due()
    response = Client().get(urlsplit(the_link_in(outreach.received()[0])).path)
    assert response.status_code == 200

    assert not sequence_stopped(outreach, bob)
    assert len(outreach.received_by("bob@acme.com")) == 2


def test_the_one_click_post_of_a_mail_client_unsubscribes_without_a_csrf_token(outreach):
    with_unsubscribe_link(outreach)
    (bob,) = outreach.add_leads("bob@acme.com")
    outreach.send_due()
    path = urlsplit(the_link_in(outreach.received()[0])).path

    response = Client(enforce_csrf_checks=True).post(
        path, data=ONE_CLICK, content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 200
    assert "You are unsubscribed" in response.content.decode()
    bob.refresh_from_db()
    assert bob.is_unsubscribed
    assert blocklist_contains(workspace=outreach.campaign.workspace, email=bob.email)
    assert sequence_stopped(outreach, bob)


# --- Without a browser ---------------------------------------------------------------------------


@pytest.fixture
def lead(db):
    return LeadFactory(email="bob.smith@acme.com")


def path_of(token: str) -> str:
    return f"/u/{token}"


def tampered(token: str) -> str:
    value, _, signature = token.partition(":")
    flipped = "A" if signature[-1] != "A" else "B"
    return f"{value}:{signature[:-1]}{flipped}"


FORGERIES = {
    "tampered signature": lambda lead, other: tampered(unsubscribe.token_for(lead)),
    "truncated by one character": lambda lead, other: unsubscribe.token_for(lead)[:-1],
    "cut at the line end": lambda lead, other: unsubscribe.token_for(lead)[:40],
    "the lead id alone": lambda lead, other: lead.pk.hex,
    "signed with another key": lambda lead, other: signing.Signer(
        key="not-the-secret-key", salt=unsubscribe.SALT, algorithm="sha256"
    ).sign(lead.pk.hex),
    "signed for another purpose": lambda lead, other: signing.Signer(
        salt="reachkit.other", algorithm="sha256"
    ).sign(lead.pk.hex),
    "another lead's id with this signature": lambda lead, other: (
        f"{other.pk.hex}:{unsubscribe.token_for(lead).partition(':')[2]}"
    ),
    "nonsense": lambda lead, other: "hello",
}


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("forge", FORGERIES.values(), ids=FORGERIES.keys())
def test_a_forged_tampered_or_truncated_link_is_a_404_page_that_changes_nothing(
    client, lead, forge, method
):
    other = LeadFactory(campaign=lead.campaign, email="ann@acme.com")

    response = getattr(client, method)(path_of(forge(lead, other)))

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert "This unsubscribe link is not valid" in response.content.decode()
    for someone in (lead, other):
        someone.refresh_from_db()
        assert not someone.is_unsubscribed
    assert not BlocklistEntry.objects.exists()


def test_the_link_of_a_deleted_lead_is_a_404_page(client, lead):
    path = path_of(unsubscribe.token_for(lead))
    lead.delete()

    response = client.post(path)

    assert response.status_code == 404
    assert "This unsubscribe link is not valid" in response.content.decode()
    assert not BlocklistEntry.objects.exists()


@pytest.mark.parametrize("method", ["get", "head"])
def test_fetching_the_link_changes_nothing(client, lead, method):
    response = getattr(client, method)(path_of(unsubscribe.token_for(lead)))

    assert response.status_code == 200
    lead.refresh_from_db()
    assert not lead.is_unsubscribed
    assert not BlocklistEntry.objects.exists()


def test_a_second_post_is_harmless(client, lead):
    path = path_of(unsubscribe.token_for(lead))

    first = client.post(path, data=ONE_CLICK, content_type="application/x-www-form-urlencoded")
    lead.refresh_from_db()
    unsubscribed_at = lead.updated_at
    second = client.post(path)
    later_visit = client.get(path)

    for response in (first, second, later_visit):
        assert response.status_code == 200
        assert "You are unsubscribed" in response.content.decode()
        assert 'id="confirm"' not in response.content.decode()
    lead.refresh_from_db()
    assert lead.is_unsubscribed
    assert lead.updated_at == unsubscribed_at
    assert list(BlocklistEntry.objects.values_list("value", flat=True)) == ["bob.smith@acme.com"]


@pytest.mark.parametrize(
    ("email", "shown"),
    [
        ("bob.smith@acme.com", "bo•••@acme.com"),
        ("bob@acme.com", "b•••@acme.com"),
        ("jo@acme.com", "j•••@acme.com"),
        ("x@acme.com", "•••@acme.com"),
    ],
)
def test_the_page_masks_the_address_before_and_after_unsubscribing(db, client, email, shown):
    lead = LeadFactory(email=email)
    path = path_of(unsubscribe.token_for(lead))

    for response in (client.get(path), client.post(path)):
        page = response.content.decode()
        assert shown in page
        assert email not in page
        assert email.partition("@")[0] + "•" not in page


# --- Per-address limit ---------------------------------------------------------------------------


@pytest.fixture
def two_a_minute(settings):
    settings.UNSUBSCRIBE_RATE = "2/min"


@pytest.mark.parametrize("method", ["get", "post"])
def test_past_the_rate_an_address_gets_a_429_page_that_changes_nothing(lead, two_a_minute, method):
    client = Client(REMOTE_ADDR="203.0.113.9")
    path = path_of(unsubscribe.token_for(lead))
    for _ in range(2):
        client.get(path_of("forged"))

    response = getattr(client, method)(path)

    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    assert response["Content-Type"].startswith("text/html")
    assert "Too many requests" in response.content.decode()
    lead.refresh_from_db()
    assert not lead.is_unsubscribed
    assert not BlocklistEntry.objects.exists()


def test_the_one_click_post_from_another_address_still_unsubscribes(lead, two_a_minute):
    path = path_of(unsubscribe.token_for(lead))
    for _ in range(3):
        Client(REMOTE_ADDR="203.0.113.9").get(path)

    response = Client(REMOTE_ADDR="198.51.100.7").post(
        path, data=ONE_CLICK, content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 200
    lead.refresh_from_db()
    assert lead.is_unsubscribed
