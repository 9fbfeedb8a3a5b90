"""`make run`'s demo shows a reply: the mail sink answers for one demo lead into a Maildir,
and sync reads it for the demo inbox (which has no IMAP server) through the same ingest."""

import json
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command

from campaigns import demo
from campaigns.models import Send
from leads.models import Lead
from reachkit import maildir
from reachkit.management.commands.mailsink import DEMO_REPLIER, start_sink
from tests.reachkit.test_setup_demo import dev, send_due, setup_demo, tomorrow_noon
from unibox import imap_sync
from unibox.models import Conversation, Message

__all__ = ["dev"]  # the fixture, shared with setup_demo's tests


def sync() -> dict[str, int]:
    out = StringIO()
    call_command("sync_inboxes", stdout=out)
    return json.loads(out.getvalue())


@pytest.fixture
def replies(dev, tmp_path) -> Path:
    dev.SYNC_DEMO_MAILDIR = tmp_path / "demo-replies"
    dev.SEND_GAP_SECONDS = (0, 0)
    dev.MEDIA_ROOT = tmp_path / "media"
    return dev.SYNC_DEMO_MAILDIR


def test_the_demo_lead_who_answers_is_one_of_the_demo_leads():
    assert DEMO_REPLIER in [lead["email"] for lead in demo.LEADS]


def test_the_demo_shows_a_reply_in_the_unified_inbox(db, dev, replies):
    sink_log = StringIO()
    sink = start_sink(
        folder=dev.MAILSINK_DIR,
        host="127.0.0.1",
        port=dev.MAILSINK_PORT,
        stdout=sink_log,
        replies=replies,
    )
    try:
        with time_machine.travel(tomorrow_noon(), tick=True) as clock:
            welcome = setup_demo()
            assert f"{DEMO_REPLIER} answers her first email" in welcome
            assert json.loads(send_due())["sent"] == 3
            counts = sync()
            assert (counts["inboxes"], counts["messages"], counts["replies"]) == (1, 1, 1)
            assert sync()["messages"] == 0  # read once: moved to cur/
            # Follow-ups (replies in the thread) get no second answer.
            clock.shift(timedelta(days=2))
            send_due()
    finally:
        sink.stop()

    grace = Lead.objects.get(email=DEMO_REPLIER)
    assert grace.status == Lead.Status.REPLIED
    assert not Send.objects.filter(lead=grace, step=2, status=Send.Status.SENT).exists()
    assert Send.objects.filter(step=2, status=Send.Status.SENT).count() == 2
    conversation = Conversation.objects.get(lead=grace)
    assert conversation.folder == Conversation.Folder.PRIMARY
    assert conversation.label in {"interested", "meeting_requested"}
    assert grace.is_positive
    [message] = Message.objects.all()
    assert message.send.lead_id == grace.pk
    assert message.subject.startswith("Re: Quick question, Grace")
    assert "we are looking at exactly this" in message.new_text
    folder = maildir.folder_of(replies, demo.INBOX_EMAIL)
    assert folder is not None
    assert len(list((folder / "new").iterdir())) == 0
    assert len(list((folder / "cur").iterdir())) == 1
    assert "replied, left in" in sink_log.getvalue()


def test_without_the_demo_folder_inboxes_without_imap_are_not_synced(db, dev, settings):
    settings.SYNC_DEMO_MAILDIR = None
    with time_machine.travel(tomorrow_noon(), tick=True):
        setup_demo()
        assert imap_sync.inboxes_due() == []
        assert sync()["inboxes"] == 0


def test_a_demo_folder_is_never_a_path_out_of_its_root(tmp_path):
    assert maildir.folder_of(tmp_path, "../../etc@x.test") is None
    assert maildir.folder_of(tmp_path, "a/b@x.test") is None
    assert maildir.folder_of(tmp_path, "sam@..") is None
    assert maildir.folder_of(tmp_path, "Sam@Reachkit.test") == tmp_path / "sam@reachkit.test"
    assert maildir.deliver(tmp_path, "../x@y.test", b"x") is None
