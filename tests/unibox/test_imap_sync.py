"""IMAP sync against the test Dovecot: what a lead sends lands in the inbox's mailbox by
IMAP APPEND, and `manage.py sync_inboxes` (or its Celery task) reads and acts on it."""

import json
import time
from datetime import timedelta
from io import StringIO

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.core.management import CommandError, call_command
from django.utils import timezone
from imapclient import IMAPClient

from campaigns.models import Send
from inboxes.models import Inbox
from leads.models import Lead
from tests.services.blackhole import closed_port
from tests.unibox import mails
from unibox import imap_sync, tasks
from unibox.imap_sync import COUNTS
from unibox.models import Attachment, Conversation, InboxSync, Message


def sync(*args: str) -> dict[str, int]:
    out = StringIO()
    call_command("sync_inboxes", *args, stdout=out)
    [line] = out.getvalue().splitlines()
    return json.loads(line)


def sent_step_one(outreach, *emails):
    leads = outreach.add_leads(*emails)
    assert outreach.send_due()["sent"] == len(emails)
    return [Lead.objects.get(pk=lead.pk) for lead in leads]


def deliver(outreach, message, folder="INBOX", **options) -> None:
    outreach.mailbox.dovecot.append(outreach.inbox.email, message, folder=folder, **options)


def flags(outreach, folder="INBOX") -> list[tuple[bytes, ...]]:
    with outreach.mailbox.dovecot.client(outreach.inbox.email) as client:
        client.select_folder(folder, readonly=True)
        fetched = client.fetch(client.search("ALL"), ["FLAGS"])
    return [fetched[uid][b"FLAGS"] for uid in sorted(fetched)]


# --- the command ------------------------------------------------------------------------------


def test_a_reply_appended_by_imap_is_threaded_labelled_and_stops_the_sequence(outreach):
    (bob,) = sent_step_one(outreach, "bob@acme.com")
    send = outreach.send_of(bob)
    deliver(outreach, mails.reply(send))

    counts = sync()

    assert list(counts) == list(COUNTS)
    assert counts["inboxes"] == 1
    assert counts["messages"] == 1
    assert counts["replies"] == 1
    conversation = Conversation.objects.get(lead=bob)
    assert conversation.folder == Conversation.Folder.PRIMARY
    assert conversation.label == "needs_more_info"
    [message] = conversation.messages.all()
    assert (message.folder, message.uid) == ("INBOX", 1)
    assert message.uidvalidity
    bob.refresh_from_db()
    assert bob.status == Lead.Status.REPLIED
    outreach.advance(days=3)
    assert outreach.send_due()["sent"] == 0
    # Nothing was marked read on the server.
    assert all(b"\\Seen" not in found for found in flags(outreach))


def test_syncing_again_reads_only_what_is_new_and_applies_nothing_twice(outreach):
    bob, ann = sent_step_one(outreach, "bob@acme.com", "ann@acme.com")
    deliver(outreach, mails.reply(outreach.send_of(bob)))
    assert sync()["replies"] == 1

    assert sync()["messages"] == 0
    deliver(outreach, mails.reply(outreach.send_of(ann)))
    second = sync()
    assert (second["messages"], second["replies"]) == (1, 1)

    # Everything read again from the start (a lost sync state): nothing applied again.
    InboxSync.objects.update(folders={})
    again = sync()
    assert (again["messages"], again["duplicates"], again["replies"]) == (2, 2, 0)
    assert Message.objects.count() == 2
    assert Conversation.objects.count() == 2


def test_a_bounce_appended_marks_the_lead_and_the_send(outreach):
    (bob,) = sent_step_one(outreach, "bob@acme.com")
    send = outreach.send_of(bob)
    deliver(outreach, mails.bounce(send))

    assert sync()["bounces"] == 1

    send.refresh_from_db()
    bob.refresh_from_db()
    assert send.status == Send.Status.BOUNCED
    assert bob.is_bounced
    assert not Conversation.objects.exists()


def test_an_out_of_office_pauses_the_lead_and_it_resumes_after_the_return(outreach):
    (bob,) = sent_step_one(outreach, "bob@acme.com")
    deliver(outreach, mails.out_of_office(outreach.send_of(bob)))

    assert sync()["auto_replies"] == 1

    assert Conversation.objects.get().folder == Conversation.Folder.OTHERS
    outreach.advance(days=3)
    assert outreach.send_due()["sent"] == 0
    outreach.advance(days=4)
    assert outreach.send_due()["sent"] == 1


def test_a_reply_in_junk_is_found_in_the_junk_folder(outreach):
    (bob,) = sent_step_one(outreach, "bob@acme.com")
    deliver(outreach, mails.reply(outreach.send_of(bob)), folder="Junk")

    assert sync()["replies"] == 1

    assert Message.objects.get().folder == "Junk"
    assert all(b"\\Seen" not in found for found in flags(outreach, "Junk"))


def test_a_recreated_folder_with_a_new_uidvalidity_is_read_again_without_duplicates(outreach):
    bob, ann = sent_step_one(outreach, "bob@acme.com", "ann@acme.com")
    first = mails.reply(outreach.send_of(bob))
    deliver(outreach, first, folder="Junk")
    assert sync()["replies"] == 1
    old = InboxSync.objects.get().folders["Junk"]["uidvalidity"]

    with outreach.mailbox.dovecot.client(outreach.inbox.email) as client:
        client.delete_folder("Junk")
        client.create_folder("Junk")
    deliver(outreach, first, folder="Junk")
    deliver(outreach, mails.reply(outreach.send_of(ann)), folder="Junk")
    counts = sync()

    assert InboxSync.objects.get().folders["Junk"]["uidvalidity"] != old
    assert (counts["messages"], counts["duplicates"], counts["replies"]) == (2, 1, 1)
    assert Message.objects.count() == 2


def test_attachments_are_downloaded_byte_for_byte(outreach):
    (bob,) = sent_step_one(outreach, "bob@acme.com")
    reply = mails.reply(outreach.send_of(bob))
    blob = bytes(range(256)) * 1000 + b"\r\n\x00end"
    reply.add_attachment(blob, maintype="application", subtype="octet-stream", filename="a.bin")
    deliver(outreach, reply)

    sync()

    attachment = Attachment.objects.get()
    assert attachment.size == len(blob)
    with attachment.file.open("rb") as stored:
        assert stored.read() == blob


def test_a_message_over_the_size_cap_is_recorded_without_its_body(outreach, settings, monkeypatch):
    settings.SYNC_MAX_MESSAGE_BYTES = 4096
    (bob, ann) = sent_step_one(outreach, "bob@acme.com", "ann@acme.com")
    reply = mails.reply(outreach.send_of(bob), text="Interested! " + "x" * 10_000)
    reply.add_attachment(b"y" * 5000, maintype="application", subtype="pdf", filename="big.pdf")
    deliver(outreach, reply)
    deliver(outreach, mails.reply(outreach.send_of(ann)))
    fetches = []
    real_fetch = IMAPClient.fetch

    def spy(client, messages, data, modifiers=None):
        fetches.append((sorted(messages), list(data)))
        return real_fetch(client, messages, data, modifiers)

    monkeypatch.setattr(IMAPClient, "fetch", spy)

    assert sync()["replies"] == 2

    # Sizes first; the large one's body is never asked for, and nothing but a PEEK is.
    assert fetches[0] == ([1, 2], ["RFC822.SIZE", "INTERNALDATE"])
    assert ([1], ["BODY.PEEK[HEADER]"]) in fetches
    assert ([2], ["BODY.PEEK[]"]) in fetches
    asked = [item for _, data in fetches for item in data]
    assert set(asked) <= {"RFC822.SIZE", "INTERNALDATE", "BODY.PEEK[HEADER]", "BODY.PEEK[]"}
    Message.objects.filter(from_email="ann@acme.com").delete()

    message = Message.objects.get()
    assert message.body_skipped
    assert message.size > 15_000
    assert message.text_body == ""
    assert not Attachment.objects.exists()
    bob.refresh_from_db()
    assert bob.status == Lead.Status.REPLIED


def test_the_first_sync_reads_only_the_last_days(outreach, settings):
    settings.SYNC_SINCE_DAYS = 30
    bob, ann = sent_step_one(outreach, "bob@acme.com", "ann@acme.com")
    now = timezone.now()
    deliver(outreach, mails.reply(outreach.send_of(bob)), when=now - timedelta(days=45))
    deliver(outreach, mails.reply(outreach.send_of(ann)), when=now - timedelta(days=2))

    counts = sync()

    assert (counts["messages"], counts["replies"]) == (1, 1)
    assert Message.objects.get().from_email == "ann@acme.com"
    # From then on every new message is read, whatever its date.
    deliver(outreach, mails.unrelated(outreach.inbox.email), when=now - timedelta(days=90))
    assert sync()["messages"] == 1


def test_one_bad_message_never_stops_the_rest(outreach, monkeypatch):
    bob, ann = sent_step_one(outreach, "bob@acme.com", "ann@acme.com")
    deliver(outreach, mails.reply(outreach.send_of(bob), text="BREAK ME"))
    deliver(outreach, mails.reply(outreach.send_of(ann)))
    real = imap_sync.ingest_message

    def fragile(*, inbox, raw, location):
        if b"BREAK ME" in raw:
            raise RuntimeError("a bug")
        return real(inbox=inbox, raw=raw, location=location)

    monkeypatch.setattr(imap_sync, "ingest_message", fragile)

    counts = sync()

    assert (counts["messages"], counts["errors"], counts["replies"]) == (2, 1, 1)
    assert (counts["skipped"], counts["failed"]) == (0, 0)
    state = InboxSync.objects.get().folders["INBOX"]
    assert (state["last_uid"], state["retry"]) == (2, [1])
    # Tried again on the next pass, alone; a second failure in a row gives it up.
    again = sync()
    assert (again["messages"], again["errors"], again["skipped"]) == (1, 1, 1)
    state = InboxSync.objects.get().folders["INBOX"]
    assert (state["last_uid"], state["skipped"]) == (2, [1])
    assert "retry" not in state
    assert sync()["messages"] == 0  # given up for good, not retried every minute
    assert list(Message.objects.values_list("uid", flat=True)) == [2]


def test_a_message_that_fails_once_is_read_on_the_next_pass(outreach, monkeypatch):
    bob, ann = sent_step_one(outreach, "bob@acme.com", "ann@acme.com")
    deliver(outreach, mails.reply(outreach.send_of(bob), text="Tell me more"))
    deliver(outreach, mails.reply(outreach.send_of(ann)))
    real = imap_sync.ingest_message
    failures = []

    def flaky(*, inbox, raw, location):
        if location.uid == 1 and not failures:
            failures.append(location.uid)
            raise ConnectionResetError("a database that went away for a moment")
        return real(inbox=inbox, raw=raw, location=location)

    monkeypatch.setattr(imap_sync, "ingest_message", flaky)

    first, second = sync(), sync()

    assert (first["errors"], first["replies"]) == (1, 1)
    assert (second["messages"], second["errors"], second["replies"]) == (1, 0, 1)

    bob.refresh_from_db()
    assert bob.status == Lead.Status.REPLIED
    assert sorted(Message.objects.values_list("uid", flat=True)) == [1, 2]
    state = InboxSync.objects.get().folders["INBOX"]
    assert "retry" not in state
    assert "skipped" not in state


def test_a_message_the_task_is_cut_off_on_twice_is_given_up_and_the_rest_are_read(
    outreach, monkeypatch
):
    ann, bob, carl = sent_step_one(outreach, "ann@acme.com", "bob@acme.com", "carl@acme.com")
    deliver(outreach, mails.reply(outreach.send_of(ann)))
    deliver(outreach, mails.reply(outreach.send_of(bob), text="SLOW"))
    deliver(outreach, mails.reply(outreach.send_of(carl)))
    real = imap_sync.ingest_message
    read = []

    def slow(*, inbox, raw, location):
        read.append(location.uid)
        if b"SLOW" in raw:  # it outlasts the task: its soft time limit fires on it
            raise SoftTimeLimitExceeded()
        return real(inbox=inbox, raw=raw, location=location)

    monkeypatch.setattr(imap_sync, "ingest_message", slow)

    for _ in range(2):
        with pytest.raises(SoftTimeLimitExceeded):
            tasks.sync_inbox_task(str(outreach.inbox.pk))
        state = InboxSync.objects.get()
        assert state.claimed_until is None
        assert state.folders["INBOX"]["trying"] == 2
    counts = sync()

    assert read == [1, 2, 2, 3]  # what was done is never read again
    assert (counts["messages"], counts["replies"], counts["skipped"]) == (1, 1, 1)
    assert sorted(Message.objects.values_list("uid", flat=True)) == [1, 3]
    assert InboxSync.objects.get().folders["INBOX"]["skipped"] == [2]
    carl.refresh_from_db()
    assert carl.status == Lead.Status.REPLIED
    assert sync()["messages"] == 0


def test_a_worker_killed_on_a_message_leaves_it_named_for_the_next_pass(outreach, monkeypatch):
    ann, bob = sent_step_one(outreach, "ann@acme.com", "bob@acme.com")
    deliver(outreach, mails.reply(outreach.send_of(ann)))
    deliver(outreach, mails.reply(outreach.send_of(bob)))
    real = imap_sync.ingest_message
    committed = []

    def killed(*, inbox, raw, location):
        # What a worker killed here (out of memory, the hard time limit) leaves behind.
        committed.append(InboxSync.objects.get().folders["INBOX"].copy())
        return real(inbox=inbox, raw=raw, location=location)

    monkeypatch.setattr(imap_sync, "ingest_message", killed)
    sync()
    assert [(state["last_uid"], state["trying"]) for state in committed] == [(0, 1), (1, 2)]
    monkeypatch.setattr(imap_sync, "ingest_message", real)

    # The worker died on message 2 (after storing it) and its lease ran out.
    InboxSync.objects.update(folders={"INBOX": committed[1]}, claimed_until=None)
    counts = sync()

    assert (counts["messages"], counts["duplicates"], counts["skipped"]) == (1, 1, 0)
    state = InboxSync.objects.get().folders["INBOX"]
    assert state["last_uid"] == 2
    assert "trying" not in state
    assert "retry" not in state
    assert Message.objects.count() == 2


def test_a_pass_out_of_time_mid_batch_stops_cleanly_and_the_next_goes_on_from_there(
    outreach, monkeypatch, settings
):
    leads = sent_step_one(outreach, *(f"lead{n}@acme.com" for n in range(1, 6)))
    for lead in leads:
        deliver(outreach, mails.reply(outreach.send_of(lead)))
    settings.SYNC_PASS_SECONDS = 3
    real = imap_sync.ingest_message
    read = []

    def slow_third(*, inbox, raw, location):
        read.append(location.uid)
        if location.uid == 3:  # the pass's budget runs out on it
            time.sleep(max(0, out_of_time_at - time.monotonic()))
        return real(inbox=inbox, raw=raw, location=location)

    monkeypatch.setattr(imap_sync, "ingest_message", slow_third)

    out_of_time_at = time.monotonic() + settings.SYNC_PASS_SECONDS + 0.05
    tasks.sync_inbox_task(str(outreach.inbox.pk))

    assert read == [1, 2, 3]
    row = InboxSync.objects.get()
    assert row.claimed_until is None
    assert row.folders["INBOX"]["last_uid"] == 3
    assert "trying" not in row.folders["INBOX"]
    settings.SYNC_PASS_SECONDS = 60
    tasks.sync_inbox_task(str(outreach.inbox.pk))
    assert read == [1, 2, 3, 4, 5]
    assert sorted(Message.objects.values_list("uid", flat=True)) == [1, 2, 3, 4, 5]
    assert Lead.objects.filter(status=Lead.Status.REPLIED).count() == 5
    assert sync()["messages"] == 0


def test_a_message_that_is_no_email_is_skipped(outreach):
    (bob,) = sent_step_one(outreach, "bob@acme.com")
    deliver(outreach, b"\r\n\r\n   \r\n")
    deliver(outreach, mails.reply(outreach.send_of(bob)))

    counts = sync()

    assert (counts["messages"], counts["errors"], counts["replies"]) == (2, 1, 1)


# --- failures -----------------------------------------------------------------------------------


def test_a_refused_login_puts_the_inbox_in_error_with_a_readable_reason(outreach):
    Inbox.objects.filter(pk=outreach.inbox.pk).update(imap_password="wrong")

    counts = sync()

    assert counts["failed"] == 1
    inbox = Inbox.objects.get(pk=outreach.inbox.pk)
    assert inbox.connection_status == Inbox.ConnectionStatus.ERROR
    assert inbox.connection_error == "IMAP login failed: authentication failed"
    assert sync()["inboxes"] == 0  # not synced again until a new check connects it


def test_a_network_error_is_recorded_and_retried_on_the_next_tick(outreach):
    Inbox.objects.filter(pk=outreach.inbox.pk).update(imap_port=closed_port())

    assert sync()["failed"] == 1

    inbox = Inbox.objects.get(pk=outreach.inbox.pk)
    assert inbox.connection_status == Inbox.ConnectionStatus.CONNECTED
    state = InboxSync.objects.get()
    assert "refused the connection" in state.last_error
    assert state.claimed_until is None
    assert sync()["inboxes"] == 1


def test_a_host_on_a_private_address_is_refused(outreach, settings):
    (bob,) = sent_step_one(outreach, "bob@acme.com")
    deliver(outreach, mails.reply(outreach.send_of(bob)))
    settings.INBOX_ALLOWED_NETWORKS = []

    counts = sync()

    assert (counts["failed"], counts["messages"]) == (1, 0)
    assert "private or reserved address" in InboxSync.objects.get().last_error
    assert not Message.objects.exists()


def test_an_inbox_being_synced_elsewhere_is_left_alone(outreach):
    InboxSync.objects.create(
        inbox=outreach.inbox,
        claimed_by="another-worker",
        claimed_until=timezone.now() + timedelta(minutes=5),
    )

    counts = sync()

    assert (counts["inboxes"], counts["busy"]) == (0, 1)
    assert imap_sync.inboxes_due() == []
    # A claim past its lease died with its worker.
    InboxSync.objects.update(claimed_until=timezone.now() - timedelta(seconds=1))
    assert sync()["inboxes"] == 1


def test_the_command_syncs_one_inbox_by_id_and_refuses_a_bad_one(outreach):
    assert sync("--inbox", str(outreach.inbox.pk))["inboxes"] == 1
    with pytest.raises(CommandError, match="not an inbox id"):
        sync("--inbox", "nope")
    with pytest.raises(CommandError, match="no inbox with id"):
        sync("--inbox", "00000000-0000-0000-0000-000000000000")


# --- Celery ------------------------------------------------------------------------------------


def test_the_beat_task_syncs_every_connected_inbox_through_the_connections_queue(
    outreach, settings
):
    (bob,) = sent_step_one(outreach, "bob@acme.com")
    deliver(outreach, mails.reply(outreach.send_of(bob)))

    tasks.sync_inboxes_task()
    tasks.sync_inboxes_task()  # replayed: nothing applied twice

    assert Message.objects.count() == 1
    bob.refresh_from_db()
    assert bob.status == Lead.Status.REPLIED
    assert settings.CELERY_TASK_ROUTES["unibox.sync_inbox"] == {"queue": "connections"}
    entry = next(e for e in settings.PERIODIC_TASKS if e["task"] == "unibox.sync_inboxes")
    assert entry["every_seconds"] == 60


def test_the_sync_task_is_idempotent(outreach):
    (bob,) = sent_step_one(outreach, "bob@acme.com")
    deliver(outreach, mails.reply(outreach.send_of(bob)))

    tasks.sync_inbox_task(str(outreach.inbox.pk))
    tasks.sync_inbox_task(str(outreach.inbox.pk))

    assert Message.objects.count() == 1
    assert InboxSync.objects.get().claimed_until is None


def test_an_inbox_whose_sync_crashes_does_not_stop_the_others(outreach, monkeypatch):
    real = imap_sync.sync_inbox
    calls = []

    def crashing(*, inbox_id, budget_seconds=None):
        calls.append(inbox_id)
        if len(calls) == 1:
            raise KeyError("UIDVALIDITY")
        return real(inbox_id=inbox_id, budget_seconds=budget_seconds)

    other = Inbox.objects.get(pk=outreach.inbox.pk)
    other.pk = None
    other.id = None
    other.email = "second@mail.test"
    other.save()
    monkeypatch.setattr(imap_sync, "sync_inbox", crashing)

    counts = sync()

    assert len(calls) == 2
    assert counts["failed"] >= 1
    assert counts["inboxes"] == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_sync_row_locked_by_another_worker_is_skipped_not_waited_for(alice):
    import threading

    from django.db import connections, transaction

    if connections["default"].vendor != "postgresql":
        pytest.skip("SKIP LOCKED: PostgreSQL only")
    inbox = Inbox.objects.create(workspace=alice.workspace, email="x@mail.test", imap_host="h")
    InboxSync.objects.create(inbox=inbox)
    locked, release = threading.Event(), threading.Event()

    def other_worker() -> None:
        try:
            with transaction.atomic():
                InboxSync.objects.select_for_update().get(inbox=inbox)
                locked.set()
                release.wait(10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=other_worker)
    thread.start()
    try:
        assert locked.wait(10)
        assert imap_sync._claim(inbox.pk, "me") is None
    finally:
        release.set()
        thread.join(10)
    assert imap_sync._claim(inbox.pk, "me") is not None
