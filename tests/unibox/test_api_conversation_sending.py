"""Reply and Create: email sent from the conversation's inbox through a real SMTP server
(aiosmtpd in the test process) and filed in its Sent folder on a real IMAP server (Dovecot)."""

import email
import email.policy
import socket
import uuid

import pytest

from inboxes.models import Inbox
from tests.campaigns.outreach import make_inbox
from tests.inboxes.factories import InboxFactory
from tests.unibox.conversation_setup import (
    CONVERSATION_FIELDS,
    MESSAGE_FIELDS,
    URL,
    _media_in_tmp,  # noqa: F401
    lead_thread,
)
from tests.unibox.factories import ConversationFactory, MessageFactory
from unibox.models import Conversation, Message


@pytest.fixture
def inbox(alice, mailbox) -> Inbox:
    return make_inbox(alice.workspace, mailbox)


def sent_folder(mailbox, inbox) -> list[email.message.EmailMessage]:
    return [
        email.message_from_bytes(raw, policy=email.policy.default)
        for raw in mailbox.dovecot.messages(inbox.email, folder="Sent")
    ]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- Reply ---------------------------------------------------------------------------------


def test_a_reply_goes_threaded_from_the_inbox_and_is_filed_in_sent(api, alice, mailbox, inbox):
    thread = lead_thread(alice.workspace, inbox=inbox)
    before = Conversation.objects.get(pk=thread.conversation.pk).last_message_at

    response = api.post(
        f"{URL}/{thread.conversation.pk}/reply",
        {"content": "<p>Great, how about <b>Tuesday</b>?</p><script>x()</script>"},
        format="json",
    )

    assert response.status_code == 200, response.json()
    data = response.json()["data"]
    assert set(data) == MESSAGE_FIELDS
    assert data["direction"] == "outgoing"
    assert data["inbox_id"] == str(inbox.pk)
    assert data["subject"] == "Re: Hi Lee"  # the reply's "RE: " is not doubled
    assert data["from_email"] == inbox.email
    assert data["to_recipients"] == [{"email": "lee@example.com", "name": "Lee Lead"}]
    assert data["cc_recipients"] == []
    assert data["bcc_recipients"] == []
    assert data["is_read"] is True
    assert data["attachments"] == []
    assert "Tuesday" in data["html_body"]
    assert "script" not in data["html_body"]
    assert "Great, how about Tuesday?" in data["text_body"]

    [received] = mailbox.smtp_server("none").messages
    assert received.rcpt_tos == ["lee@example.com"]
    assert received.mail_from == inbox.email
    wire = received.message
    assert wire["Subject"] == "Re: Hi Lee"
    assert wire["In-Reply-To"] == thread.reply.message_id
    assert wire["References"].split() == [thread.sends[0].message_id, thread.reply.message_id]
    stored = Message.objects.get(conversation=thread.conversation, direction="outgoing")
    assert wire["Message-ID"] == stored.message_id
    assert stored.in_reply_to == thread.reply.message_id
    [filed] = sent_folder(mailbox, inbox)
    assert filed["Message-ID"] == stored.message_id

    shown = api.get(f"{URL}/{thread.conversation.pk}").json()["data"]["messages"]
    assert [m["direction"] for m in shown] == ["outgoing", "incoming", "outgoing"]
    assert shown[-1] == data
    assert Conversation.objects.get(pk=thread.conversation.pk).last_message_at > before


def test_a_reply_from_an_inbox_with_the_longest_names_is_stored(api, alice, mailbox, inbox):
    # Found by the fuzzer: 150 + 150 characters of names made a From name the row refused
    # after the email had gone (a 500, and no record of what was sent).
    inbox.first_name, inbox.last_name = "F" * 150, "L" * 150
    inbox.save(update_fields=["first_name", "last_name"])
    thread = lead_thread(alice.workspace, inbox=inbox)

    response = api.post(f"{URL}/{thread.conversation.pk}/reply", {"content": "Yes"}, format="json")

    assert response.status_code == 200, response.json()
    stored = Message.objects.get(conversation=thread.conversation, direction="outgoing")
    assert stored.from_name == f"{'F' * 150} {'L' * 150}"


def test_a_reply_to_a_reply_chains_the_references(api, alice, mailbox, inbox):
    thread = lead_thread(alice.workspace, inbox=inbox)
    api.post(f"{URL}/{thread.conversation.pk}/reply", {"content": "One"}, format="json")
    first = Message.objects.get(conversation=thread.conversation, direction="outgoing")
    answer = MessageFactory(
        conversation=thread.conversation,
        subject="Re: Re: Hi Lee",
        from_email="lee@example.com",
        in_reply_to=first.message_id,
        references=f"{thread.sends[0].message_id} {thread.reply.message_id} {first.message_id}",
    )

    response = api.post(f"{URL}/{thread.conversation.pk}/reply", {"content": "Two"}, format="json")

    assert response.status_code == 200
    wire = mailbox.smtp_server("none").messages[-1].message
    assert wire["Subject"] == "Re: Hi Lee"
    assert wire["In-Reply-To"] == answer.message_id
    assert wire["References"].split() == [
        thread.sends[0].message_id,
        thread.reply.message_id,
        first.message_id,
        answer.message_id,
    ]


def test_a_hostile_message_id_is_not_written_back_in_a_header(api, alice, mailbox, inbox):
    thread = lead_thread(alice.workspace, inbox=inbox)
    Message.objects.filter(pk=thread.reply.pk).update(
        message_id="<a@b>\r\nBcc: victim@example.com", references="<x@y>\nBcc:z@example.com"
    )

    response = api.post(f"{URL}/{thread.conversation.pk}/reply", {"content": "Hi"}, format="json")

    assert response.status_code == 200
    [received] = mailbox.smtp_server("none").messages
    assert received.rcpt_tos == ["lee@example.com"]
    assert received.message["Bcc"] is None
    assert received.message["In-Reply-To"] is None


def test_a_reply_the_server_refuses_is_a_502_and_nothing_is_stored(api, alice, mailbox, inbox):
    thread = lead_thread(alice.workspace, inbox=inbox)
    mailbox.smtp_server("none").reply_to_rcpt("lee@example.com", "550 5.1.1 User unknown")

    response = api.post(f"{URL}/{thread.conversation.pk}/reply", {"content": "Hi"}, format="json")

    assert response.status_code == 502
    body = response.json()
    assert body["code"] == "send_failed"
    assert "User unknown" in body["error"]
    assert not Message.objects.filter(direction="outgoing").exists()
    assert sent_folder(mailbox, inbox) == []


def test_a_reply_through_an_unreachable_server_is_a_502(api, alice, settings):
    settings.INBOX_CONNECT_TIMEOUT_SECONDS = 1
    inbox = InboxFactory(
        workspace=alice.workspace,
        smtp_host="127.0.0.1",
        smtp_port=closed_port(),
        smtp_security=Inbox.Security.NONE,
    )
    thread = lead_thread(alice.workspace, inbox=inbox)

    response = api.post(f"{URL}/{thread.conversation.pk}/reply", {"content": "Hi"}, format="json")

    assert response.status_code == 502
    assert response.json()["code"] == "send_failed"
    assert not Message.objects.filter(direction="outgoing").exists()


def test_a_refused_login_is_a_502_and_puts_the_inbox_in_error(api, alice, mailbox):
    inbox = make_inbox(alice.workspace, mailbox, smtp_password="wrong")
    thread = lead_thread(alice.workspace, inbox=inbox)

    response = api.post(f"{URL}/{thread.conversation.pk}/reply", {"content": "Hi"}, format="json")

    assert response.status_code == 502
    assert response.json()["code"] == "send_failed"
    assert Inbox.objects.get(pk=inbox.pk).connection_status == Inbox.ConnectionStatus.ERROR


def test_a_conversation_whose_inbox_is_gone_cannot_be_replied_to(api, alice):
    conversation = ConversationFactory(workspace=alice.workspace, inbox=None)
    MessageFactory(conversation=conversation, inbox=None)

    response = api.post(f"{URL}/{conversation.pk}/reply", {"content": "Hi"}, format="json")

    assert response.status_code == 422
    assert response.json()["code"] == "no_inbox"


def test_another_workspaces_conversation_cannot_be_replied_to(api, charlie, mailbox):
    theirs = lead_thread(charlie.workspace, inbox=make_inbox(charlie.workspace, mailbox))

    response = api.post(f"{URL}/{theirs.conversation.pk}/reply", {"content": "Hi"}, format="json")

    assert response.status_code == 404
    assert mailbox.smtp_server("none").messages == []
    assert not Message.objects.filter(direction="outgoing").exists()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"content": ""},
        {"content": "   "},
        {"content": 5},
        {"content": ["<p>x</p>"]},
        {"content": "a\x00b"},
        {"content": "a\x1bb"},
        {"content": "x" * 100_001},
    ],
)
def test_a_bad_reply_is_a_422_and_sends_nothing(api, alice, mailbox, inbox, body):
    thread = lead_thread(alice.workspace, inbox=inbox)

    response = api.post(f"{URL}/{thread.conversation.pk}/reply", body, format="json")

    assert response.status_code == 422
    assert set(response.json()["details"]) == {"content"}
    assert mailbox.smtp_server("none").messages == []


# --- Create ----------------------------------------------------------------------------------


def test_create_sends_the_first_email_to_everyone_and_starts_a_primary_conversation(
    api, alice, mailbox, inbox
):
    response = api.post(
        URL,
        {
            "inbox_id": str(inbox.pk),
            "to": [
                {"email": "ann@target.example", "name": "Ann Émile"},
                {"email": "bob@target.example", "name": None},
                {"email": "ANN@target.example", "name": "twice"},
            ],
            "subject": "Partnership",
            "content": "<p>Hello <i>both</i></p>",
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    data = response.json()["data"]
    assert set(data) == CONVERSATION_FIELDS
    assert data["lead_id"] is None
    assert data["label"] is None
    assert data["is_positive"] is False
    [message] = data["messages"]
    assert message["direction"] == "outgoing"
    assert message["subject"] == "Partnership"
    assert message["to_recipients"] == [
        {"email": "ann@target.example", "name": "Ann Émile"},
        {"email": "bob@target.example", "name": ""},
    ]
    [received] = mailbox.smtp_server("none").messages
    assert received.rcpt_tos == ["ann@target.example", "bob@target.example"]
    assert [a.addr_spec for a in received.message["To"].addresses] == received.rcpt_tos
    assert received.message["To"].addresses[0].display_name == "Ann Émile"
    assert received.message["In-Reply-To"] is None
    conversation = Conversation.objects.get(pk=data["id"])
    assert conversation.folder == Conversation.Folder.PRIMARY
    assert conversation.inbox == inbox
    assert conversation.workspace == alice.workspace
    [filed] = sent_folder(mailbox, inbox)
    assert filed["Message-ID"] == received.message["Message-ID"]
    assert api.get(f"{URL}/{conversation.pk}").json()["data"] == data


def test_create_without_an_inbox_uses_the_first_active_connected_one(api, alice, mailbox):
    InboxFactory(workspace=alice.workspace, connection_status=Inbox.ConnectionStatus.ERROR)
    InboxFactory(
        workspace=alice.workspace,
        connection_status=Inbox.ConnectionStatus.CONNECTED,
        is_active=False,
    )
    inbox = make_inbox(alice.workspace, mailbox)
    make_inbox(alice.workspace, mailbox, email=f"later-{mailbox.email}")

    response = api.post(
        URL,
        {"to": [{"email": "ann@target.example"}], "subject": "Hello", "content": "Hi"},
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert response.json()["data"]["messages"][0]["inbox_id"] == str(inbox.pk)
    assert mailbox.smtp_server("none").messages[0].mail_from == inbox.email


def test_a_reply_in_an_api_conversation_goes_to_its_recipients(api, alice, mailbox, inbox):
    created = api.post(
        URL,
        {
            "to": [{"email": "ann@target.example"}, {"email": "bob@target.example"}],
            "subject": "Hello",
            "content": "Hi",
        },
        format="json",
    ).json()["data"]

    response = api.post(f"{URL}/{created['id']}/reply", {"content": "Any news?"}, format="json")

    assert response.status_code == 200
    first, second = mailbox.smtp_server("none").messages
    assert second.rcpt_tos == ["ann@target.example", "bob@target.example"]
    assert second.message["Subject"] == "Re: Hello"
    assert second.message["In-Reply-To"] == first.message["Message-ID"]


@pytest.mark.parametrize(
    "statuses",
    [[], [("error", True)], [("connected", False)], [("pending", True)]],
    ids=["none", "in-error", "paused", "pending"],
)
def test_create_with_no_active_connected_inbox_is_a_422(api, alice, statuses):
    for connection_status, is_active in statuses:
        InboxFactory(
            workspace=alice.workspace, connection_status=connection_status, is_active=is_active
        )

    response = api.post(
        URL,
        {"to": [{"email": "ann@target.example"}], "subject": "Hi", "content": "Hi"},
        format="json",
    )

    assert response.status_code == 422
    assert response.json()["code"] == "no_inbox"
    assert "inbox_id" in response.json()["details"]
    assert not Conversation.objects.exists()


def test_create_from_another_workspaces_inbox_is_a_404_and_sends_nothing(
    api, alice, charlie, mailbox
):
    theirs = make_inbox(charlie.workspace, mailbox)
    make_inbox(alice.workspace, mailbox)

    response = api.post(
        URL,
        {
            "inbox_id": str(theirs.pk),
            "to": [{"email": "ann@target.example"}],
            "subject": "Hi",
            "content": "Hi",
        },
        format="json",
    )

    assert response.status_code == 404
    assert mailbox.smtp_server("none").messages == []
    assert not Conversation.objects.exists()


def test_create_the_server_refuses_is_a_502_and_stores_nothing(api, alice, mailbox, inbox):
    mailbox.smtp_server("none").reply_to_rcpt("ann@target.example", "550 5.1.1 No such user")

    response = api.post(
        URL,
        {"to": [{"email": "ann@target.example"}], "subject": "Hi", "content": "Hi"},
        format="json",
    )

    assert response.status_code == 502
    assert response.json()["code"] == "send_failed"
    assert set(response.json()) == {"error", "code", "details"}
    assert not Conversation.objects.exists()
    assert not Message.objects.exists()


VALID = {"to": [{"email": "ann@target.example", "name": "Ann"}], "subject": "Hi", "content": "Hi"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"to": None}, "to"),
        ({"to": []}, "to"),
        ({"to": "ann@target.example"}, "to"),
        ({"to": [{"email": f"p{i}@target.example"} for i in range(51)]}, "to"),
        ({"to": [{"email": "not an address"}]}, "to"),
        ({"to": [{"email": "ann@target.example\r\nBcc: eve@evil.example"}]}, "to"),
        ({"to": [{"email": "ann@target.example", "name": "Ann\nBcc: eve@evil.example"}]}, "to"),
        ({"to": [{"email": "ann@target.example", "name": "A\x00"}]}, "to"),
        ({"to": [{"email": "ann@target.example", "name": "x" * 201}]}, "to"),
        ({"to": [{"email": "ännchen@target.example"}]}, "to"),
        ({"to": [{"email": 5}]}, "to"),
        ({"to": [{}]}, "to"),
        ({"subject": None}, "subject"),
        ({"subject": ""}, "subject"),
        ({"subject": "Hi\r\nBcc: eve@evil.example"}, "subject"),
        ({"subject": "Hi\x00"}, "subject"),
        ({"subject": "Hi\u2028there"}, "subject"),
        ({"subject": "x" * 501}, "subject"),
        ({"subject": 5}, "subject"),
        ({"content": ""}, "content"),
        ({"content": "\x00"}, "content"),
        ({"content": "x" * 100_001}, "content"),
        ({"inbox_id": "not-a-uuid"}, "inbox_id"),
        ({"inbox_id": 5}, "inbox_id"),
        ({"inbox_id": "\x00"}, "inbox_id"),
    ],
)
def test_bad_input_to_create_is_a_422_and_sends_nothing(api, alice, mailbox, inbox, change, field):
    body = {**VALID, **change}

    response = api.post(URL, body, format="json")

    assert response.status_code == 422, response.json()
    assert response.json()["code"] == "validation_error"
    assert field in response.json()["details"]
    assert mailbox.smtp_server("none").messages == []
    assert not Conversation.objects.exists()


def test_an_unknown_inbox_id_is_a_404(api, alice, inbox):
    response = api.post(URL, {**VALID, "inbox_id": str(uuid.uuid4())}, format="json")

    assert response.status_code == 404
    assert not Conversation.objects.exists()


def test_fifty_recipients_with_long_names_fit_the_header_line_limit(api, alice, mailbox, inbox):
    people = [
        {"email": f"person{i}@target.example", "name": f"Ms Émilie {'Longname' * 20} {i}"}
        for i in range(50)
    ]

    response = api.post(URL, {"to": people, "subject": "Hello all", "content": "Hi"}, format="json")

    assert response.status_code == 201, response.json()
    [received] = mailbox.smtp_server("none").messages
    assert len(received.rcpt_tos) == 50
    assert all(len(line) <= 998 for line in received.raw.split(b"\r\n"))
    addresses = received.message["To"].addresses
    assert [a.addr_spec for a in addresses] == [p["email"] for p in people]
    assert [a.display_name for a in addresses] == [p["name"] for p in people]


def test_a_reply_before_any_answer_goes_to_the_lead_in_the_campaigns_thread(
    api, alice, mailbox, inbox
):
    thread = lead_thread(alice.workspace, inbox=inbox)
    Message.objects.filter(pk=thread.reply.pk).delete()
    # The conversation lost its inbox: the one that emailed the lead answers.
    Conversation.objects.filter(pk=thread.conversation.pk).update(inbox=None)

    response = api.post(f"{URL}/{thread.conversation.pk}/reply", {"content": "Hi"}, format="json")

    assert response.status_code == 200, response.json()
    [received] = mailbox.smtp_server("none").messages
    assert received.rcpt_tos == ["lee@example.com"]
    assert received.mail_from == inbox.email
    assert received.message["In-Reply-To"] == thread.sends[0].message_id
    assert received.message["References"] == thread.sends[0].message_id
    assert received.message["Subject"] == "Re: Hi Lee"


@pytest.mark.parametrize(
    "raw",
    [
        b'{"to": [{"email": "ann@target.example"}], "subject": "\\ud800", "content": "Hi"}',
        b'{"to": [{"email": "ann@target.example", "name": "\\udfff"}], "subject": "Hi", '
        b'"content": "Hi"}',
        b'{"to": [{"email": "ann@target.example"}], "subject": "Hi", "content": "\\ud83d"}',
        b'{"to": [{"email": "\\u0000@target.example"}], "subject": "Hi", "content": "Hi"}',
        b'{"to": [{"email": "ann@target.example"}], "subject": "H\\u0085i", "content": "Hi"}',
    ],
)
def test_unpaired_surrogates_and_controls_are_a_422_never_a_500(api, alice, mailbox, inbox, raw):
    response = api.post(URL, raw, content_type="application/json")

    assert response.status_code == 422
    assert set(response.json()) == {"error", "code", "details"}
    assert mailbox.smtp_server("none").messages == []


@pytest.mark.parametrize(
    "raw",
    [b"", b"null", b"[]", b'"text"', b"{", b"\xff\xfe", b'{"to": {"email": "a@b.example"}}'],
)
def test_a_body_that_is_not_an_object_is_refused_in_the_envelope(api, alice, inbox, raw):
    response = api.post(URL, raw, content_type="application/json")

    assert response.status_code in (400, 422)
    assert set(response.json()) == {"error", "code", "details"}
    reply = api.post(f"{URL}/{uuid.uuid4()}/reply", raw, content_type="application/json")
    assert reply.status_code in (400, 404, 422)


def test_a_hostile_subject_or_name_is_made_one_line_in_the_reply(api, alice, mailbox, inbox):
    thread = lead_thread(alice.workspace, inbox=inbox)
    Message.objects.filter(pk=thread.reply.pk).update(
        subject="RE: Hi\r\nBcc: victim@example.com", from_name="Lee\nBcc: x@example.com"
    )

    response = api.post(f"{URL}/{thread.conversation.pk}/reply", {"content": "Hi"}, format="json")

    assert response.status_code == 200, response.json()
    [received] = mailbox.smtp_server("none").messages
    assert received.rcpt_tos == ["lee@example.com"]
    assert received.message["Bcc"] is None
    assert received.message["Subject"] == "Re: Hi Bcc: victim@example.com"


def test_a_recipient_refused_among_others_does_not_stop_the_email(api, alice, mailbox, inbox):
    mailbox.smtp_server("none").reply_to_rcpt("bob@target.example", "550 5.1.1 User unknown")

    response = api.post(
        URL,
        {
            "to": [{"email": "ann@target.example"}, {"email": "bob@target.example"}],
            "subject": "Hello",
            "content": "Hi",
        },
        format="json",
    )

    assert response.status_code == 201
    [received] = mailbox.smtp_server("none").messages
    assert received.rcpt_tos == ["ann@target.example"]
