"""An inbox's names and Reply-To go into the From and Reply-To headers of every email it
sends: no control character gets in, through the API (create, PATCH) or the admin."""

import json

import pytest

from inboxes.models import Inbox
from tests.inboxes.factories import InboxFactory
from tests.inboxes.test_admin import change_url, form_data
from tests.inboxes.test_api_inboxes import a_body

URL = "/api/v1/inboxes"
BAD_NAMES = {
    "crlf": ("Sam\r\nBcc: x@evil.test", "a line break"),
    "lf": ("Sam\nBcc: x@evil.test", "a line break"),
    "blank line": ("Sam\r\n\r\nbody", "a line break"),
    "line separator": ("Sam\u2029Bcc: x", "a line break"),
    "tab": ("Sam\tSender", "a tab"),
    "nul": ("Sam\x00", "a null character"),
    "escape": ("Sam\x1b", "a control character (U+001B)"),
    "lone surrogate": ("Sam\udc80", "an unpaired surrogate (not valid Unicode)"),
}


def send(client, method: str, url: str, payload: object):
    """Raw JSON with `\\uXXXX` escapes, as a client sends a lone surrogate or a NUL."""
    return client.generic(method, url, json.dumps(payload), content_type="application/json")


def stored(inbox: Inbox) -> tuple[str, str, str, str]:
    inbox.refresh_from_db()
    return (inbox.email, inbox.first_name, inbox.last_name, inbox.reply_to)


@pytest.mark.parametrize("field", ["first_name", "last_name"])
@pytest.mark.parametrize("name", BAD_NAMES, ids=str)
def test_creating_an_inbox_with_a_control_character_in_a_name_is_422(api, field, name):
    value, what = BAD_NAMES[name]
    response = send(api, "POST", URL, a_body(**{field: value}))
    assert response.status_code == 422
    body = response.json()
    assert set(body) == {"error", "code", "details"}
    assert body["details"] == {field: [f"This field must not contain {what}."]}
    assert not Inbox.objects.exists()


@pytest.mark.parametrize("field", ["first_name", "last_name"])
@pytest.mark.parametrize("name", BAD_NAMES, ids=str)
def test_patching_a_name_with_a_control_character_is_422_and_changes_nothing(
    api, alice, field, name
):
    inbox = InboxFactory(workspace=alice.workspace, first_name="Sam", last_name="Sender")
    before = stored(inbox)
    response = send(api, "PATCH", f"{URL}/{inbox.pk}", {field: BAD_NAMES[name][0]})
    assert response.status_code == 422
    assert list(response.json()["details"]) == [field]
    assert stored(inbox) == before


@pytest.mark.parametrize(
    "reply_to",
    [
        "sam@acme.com\r\nBcc: x@evil.test",
        "sam@acme.com\nBcc: x",
        "sam@acme.com\x00",
        "sam\t@acme.com",
    ],
)
def test_a_reply_to_with_a_control_character_is_422_and_changes_nothing(api, alice, reply_to):
    inbox = InboxFactory(workspace=alice.workspace, reply_to="")
    response = send(api, "PATCH", f"{URL}/{inbox.pk}", {"reply_to": reply_to})
    assert response.status_code == 422
    assert list(response.json()["details"]) == ["reply_to"]
    assert stored(inbox)[3] == ""


def test_names_in_any_script_are_accepted(api, alice):
    inbox = InboxFactory(workspace=alice.workspace)
    response = send(api, "PATCH", f"{URL}/{inbox.pk}", {"first_name": "Zoé", "last_name": "李"})
    assert response.status_code == 200
    assert stored(inbox)[1:3] == ("Zoé", "李")


# --- the admin ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("first_name", "Sam\r\nBcc: x@evil.test"),
        ("last_name", "Sender\nX-Evil: 1"),
        ("last_name", "Sender\tTab"),
        ("reply_to", "sam@acme.com\r\nBcc: x@evil.test"),
        ("reply_to", "not an address"),
        ("email", "sam@acme.com\r\nBcc: x@evil.test"),
        ("email", "not an address"),
    ],
)
def test_the_admin_refuses_a_header_field_with_a_control_character(admin_client, field, value):
    inbox = InboxFactory(email="sam@acme.com", first_name="Sam", last_name="Sender")
    before = stored(inbox)
    page = admin_client.post(change_url(inbox), form_data(inbox, **{field: value}))
    assert page.status_code == 200  # the form again, with its error
    assert field in page.context["adminform"].form.errors
    assert stored(inbox) == before


def test_the_admin_accepts_clean_names_and_a_reply_to(admin_client):
    inbox = InboxFactory(email="sam@acme.com")
    response = admin_client.post(
        change_url(inbox), form_data(inbox, first_name="Zoé", reply_to="replies@acme.com")
    )
    assert response.status_code == 302
    assert stored(inbox)[1:] == ("Zoé", "Sender", "replies@acme.com")
