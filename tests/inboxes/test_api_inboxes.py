"""The inbox endpoints: the spec's index, show, update and warmup stats, plus create,
delete and test from design.md."""

import copy
import uuid
from datetime import UTC, datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.models import Campaign
from inboxes.models import Inbox
from tests.inboxes.factories import InboxFactory
from tests.services.blackhole import closed_port

URL = "/api/v1/inboxes"
SPEC_FIELDS = {
    "id",
    "email",
    "domain",
    "provider",
    "connection_type",
    "connection_status",
    "first_name",
    "last_name",
    "reply_to",
    "signature",
    "is_active",
    "is_warming",
    "daily_campaign_limit",
    "daily_warmup_limit",
    "created_at",
    "updated_at",
}
# design.md: a failed check says why, in `connection_error`.
LIST_FIELDS = SPEC_FIELDS | {"connection_error"}
DETAIL_FIELDS = LIST_FIELDS | {"campaigns"}


def server(**overrides):
    body = {
        "host": "127.0.0.1",
        "port": closed_port(),
        "username": "sam@acme.com",
        "password": "Correct-Horse-1",
        "security": "starttls",
    }
    return {**body, **overrides}


def a_body(**overrides):
    body = {"email": "sam@acme.com", "smtp": server(), "imap": server(security="ssl")}
    return {**body, **overrides}


def campaign(workspace, name="Q3 outreach"):
    return Campaign.objects.create(workspace=workspace, name=name)


# --- create --------------------------------------------------------------------------------


def test_create_returns_201_and_a_pending_inbox(api, alice, dns_zone):
    dns_zone.add_mx("acme.com", "aspmx.l.google.com")

    response = api.post(URL, a_body(first_name="Sam", last_name="Sender"), format="json")

    assert response.status_code == 201
    data = response.json()["data"]
    assert set(data) == DETAIL_FIELDS
    assert data["email"] == "sam@acme.com"
    assert data["domain"] == "acme.com"
    assert data["provider"] == "google"
    assert data["connection_type"] == "imap_smtp"
    assert data["connection_status"] == "pending"
    assert data["connection_error"] == ""
    assert (data["first_name"], data["last_name"]) == ("Sam", "Sender")
    assert (data["reply_to"], data["signature"]) == ("", "")
    assert (data["is_active"], data["is_warming"]) == (True, False)
    assert (data["daily_campaign_limit"], data["daily_warmup_limit"]) == (30, 10)
    assert data["campaigns"] == []
    assert data["created_at"].endswith("Z")
    inbox = Inbox.objects.get(pk=data["id"])
    assert inbox.workspace == alice.workspace
    assert inbox.smtp_password == "Correct-Horse-1"
    assert inbox.smtp_security == "starttls"
    assert inbox.imap_security == "ssl"


@pytest.mark.django_db(transaction=True)
def test_a_saved_inbox_is_a_201_even_when_the_broker_is_down(api, broker_down):
    response = api.post(URL, a_body(), format="json")
    assert response.status_code == 201, response.content
    assert Inbox.objects.get().connection_status == Inbox.ConnectionStatus.PENDING


def test_create_normalises_the_email_and_host(api):
    body = a_body(email="  Sam@ACME.com ", smtp=server(host=" SMTP.Example.COM "))
    data = api.post(URL, body, format="json").json()["data"]
    assert data["email"] == "sam@acme.com"
    assert Inbox.objects.get().smtp_host == "smtp.example.com"


def test_create_then_the_worker_connects_a_real_mailbox(
    api, mailbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        created = api.post(URL, mailbox.payload(), format="json")
    assert created.status_code == 201
    assert created.json()["data"]["connection_status"] == "pending"

    shown = api.get(f"{URL}/{created.json()['data']['id']}").json()["data"]
    assert shown["connection_status"] == "connected"
    assert shown["connection_error"] == ""


def test_create_with_a_wrong_password_ends_in_error_with_a_readable_reason(
    api, mailbox, django_capture_on_commit_callbacks
):
    body = mailbox.payload(imap=mailbox.imap("ssl", password="wrong"))
    with django_capture_on_commit_callbacks(execute=True):
        inbox_id = api.post(URL, body, format="json").json()["data"]["id"]

    shown = api.get(f"{URL}/{inbox_id}").json()["data"]
    assert shown["connection_status"] == "error"
    assert shown["connection_error"] == "IMAP login failed: authentication failed"


def test_a_duplicate_email_in_the_workspace_is_409_and_stores_nothing(api, alice):
    InboxFactory(workspace=alice.workspace, email="sam@acme.com", first_name="First")
    response = api.post(URL, a_body(email="SAM@acme.com", first_name="Second"), format="json")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "inbox_exists"
    assert "email" in body["details"]
    assert list(Inbox.objects.values_list("first_name", flat=True)) == ["First"]


def test_the_same_email_may_be_an_inbox_in_another_workspace(api, charlie):
    InboxFactory(workspace=charlie.workspace, email="sam@acme.com")
    assert api.post(URL, a_body(), format="json").status_code == 201


def test_fields_a_client_may_not_set_are_refused_by_name(api, alice, charlie):
    forced = {
        "id": str(uuid.uuid4()),
        "workspace": str(charlie.workspace.pk),
        "connection_status": "connected",
        "provider": "google",
        "connection_type": "oauth",
        "is_warming": True,
    }
    response = api.post(URL, a_body(**forced), format="json")
    assert response.status_code == 422
    assert set(response.json()["details"]) == set(forced)
    assert not Inbox.objects.exists()


def test_an_unknown_field_of_a_server_is_refused_where_it_is(api):
    body = a_body()
    body["smtp"]["tls"] = True
    response = api.post(URL, body, format="json")
    assert response.status_code == 422
    assert response.json()["details"] == {
        "smtp.tls": ["Unknown field: this endpoint does not take it."]
    }


def _without(body, path):
    body = copy.deepcopy(body)
    *parents, leaf = path.split(".")
    target = body
    for key in parents:
        target = target[key]
    del target[leaf]
    return body


def _with(body, path, value):
    body = copy.deepcopy(body)
    *parents, leaf = path.split(".")
    target = body
    for key in parents:
        target = target[key]
    target[leaf] = value
    return body


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("smtp.security", "tls", "smtp.security"),
        ("imap.security", "", "imap.security"),
        ("smtp.security", 1, "smtp.security"),
        ("smtp.port", 0, "smtp.port"),
        ("imap.port", 65536, "imap.port"),
        ("smtp.port", -25, "smtp.port"),
        ("smtp.port", "587", "smtp.port"),
        ("imap.port", 993.5, "imap.port"),
        ("smtp.port", True, "smtp.port"),
        ("smtp.host", "", "smtp.host"),
        ("smtp.host", "mail server.acme.com", "smtp.host"),
        ("imap.host", "-bad-.acme.com", "imap.host"),
        ("imap.host", 127001, "imap.host"),
        ("smtp.username", "", "smtp.username"),
        ("smtp.password", "", "smtp.password"),
        ("imap.password", 12345678, "imap.password"),
        ("smtp", "smtp.acme.com:587", "smtp"),
        ("imap", None, "imap"),
        ("email", "sam", "email"),
        ("email", "sam@", "email"),
        ("email", "sam@acme", "email"),
        ("email", "a b@acme.com", "email"),
        ("email", ["sam@acme.com"], "email"),
        ("email", 42, "email"),
        ("first_name", 7, "first_name"),
        ("last_name", "x" * 151, "last_name"),
    ],
)
def test_bad_input_is_422_naming_the_field_and_stores_nothing(api, path, value, field):
    response = api.post(URL, _with(a_body(), path, value), format="json")
    assert response.status_code == 422, response.json()
    body = response.json()
    assert body["code"] == "validation_error"
    assert field in body["details"], body["details"]
    assert body["error"].startswith(f"{field}: ")
    assert not Inbox.objects.exists()


@pytest.mark.parametrize(
    "path", ["email", "smtp", "imap", "smtp.host", "smtp.port", "imap.username", "imap.security"]
)
def test_a_missing_required_field_is_422(api, path):
    response = api.post(URL, _without(a_body(), path), format="json")
    assert response.status_code == 422
    assert response.json()["details"][path] == ["This field is required."]
    assert not Inbox.objects.exists()


def test_every_bad_nested_field_is_reported_at_once(api):
    body = a_body(smtp=server(port=0, security="tls"), imap=server(host=""))
    details = api.post(URL, body, format="json").json()["details"]
    assert {"smtp.port", "smtp.security", "imap.host"} <= set(details)


@pytest.mark.parametrize("body", [[], "sam@acme.com", None])
def test_a_body_that_is_not_an_object_is_422(api, body):
    response = api.post(URL, body, format="json")
    assert response.status_code == 422
    assert not Inbox.objects.exists()


def test_malformed_json_is_400_and_stores_nothing(api):
    response = api.post(URL, '{"email": ', content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_json"
    assert not Inbox.objects.exists()


# --- passwords ------------------------------------------------------------------------------


def test_passwords_are_never_returned(api, alice):
    body = a_body(smtp=server(password="SmtpSecret-42"), imap=server(password="ImapSecret-42"))
    created = api.post(URL, body, format="json")
    inbox_id = created.json()["data"]["id"]
    responses = [
        created,
        api.get(URL),
        api.get(f"{URL}/{inbox_id}"),
        api.patch(f"{URL}/{inbox_id}", {"first_name": "Kim"}, format="json"),
        api.post(f"{URL}/{inbox_id}/test"),
    ]
    for response in responses:
        assert response.status_code < 300
        text = response.content.decode()
        assert "SmtpSecret-42" not in text
        assert "ImapSecret-42" not in text
        assert "password" not in text


# --- index ----------------------------------------------------------------------------------


def test_list_shows_the_spec_fields_newest_first_with_metadata(api, alice):
    first = InboxFactory(workspace=alice.workspace)
    second = InboxFactory(workspace=alice.workspace)

    response = api.get(URL)

    assert response.status_code == 200
    body = response.json()
    assert [row["id"] for row in body["data"]] == [str(second.pk), str(first.pk)]
    assert set(body["data"][0]) == LIST_FIELDS
    assert body["metadata"] == {"page": 1, "page_size": 30, "total_count": 2, "total_pages": 1}


def test_list_pages(api, alice):
    for _ in range(5):
        InboxFactory(workspace=alice.workspace)
    body = api.get(URL, {"page": 2, "page_size": 2}).json()
    assert len(body["data"]) == 2
    assert body["metadata"] == {"page": 2, "page_size": 2, "total_count": 5, "total_pages": 3}


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("sam@", ["sam@acme.com"]),
        ("Kim", ["kim@globex.com"]),
        ("globex", ["kim@globex.com"]),
        ("Sam Sender", ["sam@acme.com"]),
        ("nobody", []),
    ],
)
def test_search_looks_at_email_name_and_domain(api, alice, term, expected):
    InboxFactory(workspace=alice.workspace, email="sam@acme.com", first_name="Sam")
    InboxFactory(
        workspace=alice.workspace, email="kim@globex.com", first_name="Kim", last_name="Lee"
    )
    data = api.get(URL, {"search": term}).json()["data"]
    assert [row["email"] for row in data] == expected


def test_sort_by_an_allowed_field_in_either_order(api, alice):
    for limit, email in [(50, "b@acme.com"), (10, "c@acme.com"), (90, "a@acme.com")]:
        InboxFactory(workspace=alice.workspace, email=email, daily_campaign_limit=limit)

    by_email = api.get(URL, {"sort_by": "email", "sort_order": "asc"}).json()["data"]
    assert [row["email"] for row in by_email] == ["a@acme.com", "b@acme.com", "c@acme.com"]
    by_limit = api.get(URL, {"sort_by": "daily_campaign_limit", "sort_order": "desc"})
    assert [row["daily_campaign_limit"] for row in by_limit.json()["data"]] == [90, 50, 10]


@pytest.mark.parametrize(
    "query", [{"sort_by": "smtp_password"}, {"sort_by": "workspace"}, {"sort_order": "up"}]
)
def test_sorting_outside_the_allowlist_is_422(api, alice, query):
    InboxFactory(workspace=alice.workspace)
    response = api.get(URL, query)
    assert response.status_code == 422
    assert set(response.json()["details"]) <= {"sort_by", "sort_order"}


def test_list_filters_by_provider_status_and_active(api, alice):
    google = InboxFactory(workspace=alice.workspace, provider="google", connection_status="error")
    paused = InboxFactory(workspace=alice.workspace, is_active=False, connection_status="connected")
    InboxFactory(workspace=alice.workspace, connection_status="connected")

    def ids(query):
        return {row["id"] for row in api.get(URL, query).json()["data"]}

    assert ids({"provider": "google"}) == {str(google.pk)}
    assert ids({"connection_status": "error"}) == {str(google.pk)}
    assert ids({"is_active": "false"}) == {str(paused.pk)}
    assert len(ids({"is_active": "true", "connection_status": "connected"})) == 1
    assert ids({"provider": "microsoft"}) == set()


@pytest.mark.parametrize(
    "query", [{"provider": "yahoo"}, {"connection_status": "ok"}, {"is_active": "maybe"}]
)
def test_an_unknown_filter_value_is_422(api, query):
    response = api.get(URL, query)
    assert response.status_code == 422
    assert set(response.json()["details"]) == set(query)


def test_list_query_count_does_not_grow_with_page_size(api, alice):
    for _ in range(25):
        inbox = InboxFactory(workspace=alice.workspace)
        campaign(alice.workspace).inboxes.add(inbox)
    api.get(URL)

    counts = []
    for page_size in (2, 25):
        with CaptureQueriesContext(connection) as captured:
            assert api.get(URL, {"page_size": page_size}).status_code == 200
        counts.append(len(captured))
    assert counts[0] == counts[1]


# --- show -----------------------------------------------------------------------------------


def test_show_includes_the_inbox_campaigns(api, alice):
    inbox = InboxFactory(workspace=alice.workspace, email="sam@acme.com")
    older = campaign(alice.workspace, "Older")
    newer = campaign(alice.workspace, "Newer")
    newer.inboxes.add(inbox)
    older.inboxes.add(inbox)
    campaign(alice.workspace, "Unrelated")

    response = api.get(f"{URL}/{inbox.pk}")

    assert response.status_code == 200
    data = response.json()["data"]
    assert set(data) == DETAIL_FIELDS
    assert data["email"] == "sam@acme.com"
    assert [row["name"] for row in data["campaigns"]] == ["Newer", "Older"]
    assert set(data["campaigns"][0]) == {"id", "name", "status", "created_at", "updated_at"}
    assert data["campaigns"][0]["status"] == "draft"
    assert data["campaigns"][0]["id"] == str(newer.pk)


def test_show_costs_the_same_queries_whatever_the_number_of_campaigns(api, alice):
    few = InboxFactory(workspace=alice.workspace)
    many = InboxFactory(workspace=alice.workspace)
    campaign(alice.workspace).inboxes.add(few)
    for n in range(6):
        campaign(alice.workspace, f"c{n}").inboxes.add(many)
    api.get(f"{URL}/{few.pk}")

    counts = []
    for inbox in (few, many):
        with CaptureQueriesContext(connection) as captured:
            assert api.get(f"{URL}/{inbox.pk}").status_code == 200
        counts.append(len(captured))
    assert counts[0] == counts[1]


@pytest.mark.parametrize("path", ["not-a-uuid", "00000000-0000-4000-8000-000000000000"])
def test_an_unknown_id_is_404_in_the_envelope(api, path):
    response = api.get(f"{URL}/{path}")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


# --- update ---------------------------------------------------------------------------------


def test_patch_updates_every_editable_field_and_returns_the_inbox(api, alice):
    inbox = InboxFactory(workspace=alice.workspace)
    campaign(alice.workspace).inboxes.add(inbox)
    changes = {
        "is_active": False,
        "is_warming": True,
        "first_name": "Kim",
        "last_name": "Lee",
        "reply_to": "replies@acme.com",
        "signature": "--\nKim Lee\nAcme",
        "daily_campaign_limit": 500,
        "daily_warmup_limit": 100,
    }

    response = api.patch(f"{URL}/{inbox.pk}", changes, format="json")

    assert response.status_code == 200
    data = response.json()["data"]
    assert set(data) == DETAIL_FIELDS
    assert {key: data[key] for key in changes} == changes
    assert len(data["campaigns"]) == 1
    inbox.refresh_from_db()
    assert (inbox.first_name, inbox.daily_campaign_limit, inbox.is_active) == ("Kim", 500, False)


def test_patch_leaves_omitted_fields_unchanged(api, alice):
    inbox = InboxFactory(workspace=alice.workspace, first_name="Sam", signature="Best, Sam")
    data = api.patch(f"{URL}/{inbox.pk}", {"last_name": "Stone"}, format="json").json()["data"]
    assert (data["first_name"], data["last_name"], data["signature"]) == (
        "Sam",
        "Stone",
        "Best, Sam",
    )


def test_an_empty_reply_to_clears_it(api, alice):
    inbox = InboxFactory(workspace=alice.workspace, reply_to="old@acme.com")
    data = api.patch(f"{URL}/{inbox.pk}", {"reply_to": ""}, format="json").json()["data"]
    assert data["reply_to"] == ""
    inbox.refresh_from_db()
    assert inbox.reply_to == ""


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("daily_campaign_limit", 1),
        ("daily_campaign_limit", 500),
        ("daily_warmup_limit", 1),
        ("daily_warmup_limit", 100),
    ],
)
def test_limits_accept_their_bounds(api, alice, field, value):
    inbox = InboxFactory(workspace=alice.workspace)
    response = api.patch(f"{URL}/{inbox.pk}", {field: value}, format="json")
    assert response.status_code == 200
    assert response.json()["data"][field] == value


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("daily_campaign_limit", 0),
        ("daily_campaign_limit", 501),
        ("daily_campaign_limit", "30"),
        ("daily_campaign_limit", 30.5),
        ("daily_campaign_limit", None),
        ("daily_warmup_limit", 0),
        ("daily_warmup_limit", 101),
        ("daily_warmup_limit", True),
        ("is_active", "false"),
        ("is_active", 0),
        ("is_warming", None),
        ("first_name", 3),
        ("first_name", "x" * 151),
        ("last_name", None),
        ("signature", ["Best"]),
        ("reply_to", "not-an-email"),
        ("reply_to", "replies@acme"),
        ("reply_to", 5),
    ],
)
def test_bad_patch_input_is_422_and_changes_nothing(api, alice, field, value):
    inbox = InboxFactory(workspace=alice.workspace, first_name="Sam")
    before = Inbox.objects.values().get(pk=inbox.pk)

    response = api.patch(f"{URL}/{inbox.pk}", {"first_name": "Kim", field: value}, format="json")

    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert field in response.json()["details"]
    assert Inbox.objects.values().get(pk=inbox.pk) == before


def test_patch_refuses_fields_it_does_not_edit_and_changes_nothing(api, alice):
    inbox = InboxFactory(workspace=alice.workspace, email="sam@acme.com", provider="other")
    forced = {
        "email": "other@acme.com",
        "provider": "google",
        "connection_status": "connected",
        "smtp": {"password": "changed"},
        "smtp_password": "changed",
        "workspace": "x",
    }
    response = api.patch(f"{URL}/{inbox.pk}", {"first_name": "Samuel", **forced}, format="json")
    assert response.status_code == 422
    assert set(response.json()["details"]) == set(forced)
    inbox.refresh_from_db()
    assert (inbox.email, inbox.provider, inbox.connection_status, inbox.first_name) == (
        "sam@acme.com",
        "other",
        "pending",
        inbox.first_name,
    )
    assert inbox.first_name != "Samuel"
    assert inbox.smtp_password == "smtp-secret-1"


def test_put_is_not_allowed(api, alice):
    inbox = InboxFactory(workspace=alice.workspace)
    response = api.put(f"{URL}/{inbox.pk}", {"first_name": "Kim"}, format="json")
    assert response.status_code == 405


# --- delete ---------------------------------------------------------------------------------


def test_delete_is_204_and_detaches_the_inbox_from_its_campaigns(api, alice):
    inbox = InboxFactory(workspace=alice.workspace)
    other = InboxFactory(workspace=alice.workspace)
    shared = campaign(alice.workspace)
    shared.inboxes.add(inbox, other)

    response = api.delete(f"{URL}/{inbox.pk}")

    assert response.status_code == 204
    assert response.content == b""
    assert not Inbox.objects.filter(pk=inbox.pk).exists()
    assert list(shared.inboxes.all()) == [other]
    assert api.get(f"{URL}/{inbox.pk}").status_code == 404


# --- test (re-run the connection check) -----------------------------------------------------


def test_test_reruns_the_check(api, alice, mailbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        inbox_id = api.post(
            URL, mailbox.payload(imap=mailbox.imap("ssl", password="wrong")), format="json"
        ).json()["data"]["id"]
    assert Inbox.objects.get(pk=inbox_id).connection_status == "error"
    Inbox.objects.filter(pk=inbox_id).update(imap_password=mailbox.password)

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"{URL}/{inbox_id}/test")

    assert response.status_code == 202
    data = response.json()["data"]
    assert set(data) == DETAIL_FIELDS
    assert data["connection_status"] == "pending"
    shown = api.get(f"{URL}/{inbox_id}").json()["data"]
    assert (shown["connection_status"], shown["connection_error"]) == ("connected", "")


def test_test_while_a_check_runs_queues_nothing(api, alice, django_capture_on_commit_callbacks):
    inbox = InboxFactory(workspace=alice.workspace, connection_status="validating")
    with django_capture_on_commit_callbacks() as callbacks:
        response = api.post(f"{URL}/{inbox.pk}/test")
    assert response.status_code == 202
    assert response.json()["data"]["connection_status"] == "validating"
    assert callbacks == []


# --- warmup stats ---------------------------------------------------------------------------


@time_machine.travel(datetime(2026, 3, 1, 0, 15, tzinfo=UTC), tick=False)
def test_warmup_stats_answer_the_spec_shape_with_seven_zero_days(api, alice):
    inbox = InboxFactory(workspace=alice.workspace)

    response = api.get(f"{URL}/{inbox.pk}/warmup/stats")

    assert response.status_code == 200
    data = response.json()["data"]
    assert data == {
        "sent": 0,
        "received": 0,
        "saved_from_spam": 0,
        "health_score": 100,
        "ramp_up_progress": 0,
        "status": "off",
        "paused_reason": "",
        "today_target": 0,
        "daily": [
            {"date": day, "sent": 0, "spam_count": 0}
            for day in [
                "2026-02-23",
                "2026-02-24",
                "2026-02-25",
                "2026-02-26",
                "2026-02-27",
                "2026-02-28",
                "2026-03-01",
            ]
        ],
    }


# --- isolation: charlie must never see or change alice's inboxes ---------------------------


def test_another_workspaces_inboxes_are_not_listed(alice, charlie):
    InboxFactory(workspace=alice.workspace, email="secret@acme.com")
    assert charlie.client.get(URL).json()["metadata"]["total_count"] == 0
    assert charlie.client.get(URL, {"search": "secret"}).json()["data"] == []


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("get", "", None),
        ("patch", "", {"first_name": "Charlie", "daily_campaign_limit": 1}),
        ("delete", "", None),
        ("post", "/test", None),
        ("get", "/warmup/stats", None),
    ],
)
def test_another_workspaces_inbox_is_404_everywhere_and_nothing_changes(
    alice, charlie, method, suffix, body, django_capture_on_commit_callbacks
):
    inbox = InboxFactory(workspace=alice.workspace, connection_status="connected")
    before = Inbox.objects.values().get(pk=inbox.pk)

    with django_capture_on_commit_callbacks() as callbacks:
        response = getattr(charlie.client, method)(f"{URL}/{inbox.pk}{suffix}", body, format="json")

    assert response.status_code == 404
    assert response.json() == {"error": "Not found.", "code": "not_found", "details": {}}
    assert Inbox.objects.values().get(pk=inbox.pk) == before
    assert callbacks == []
