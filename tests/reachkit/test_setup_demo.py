"""`make run`'s demo: setup_demo's workspace, login and key, a demo inbox wired to the local
mail sink and a demo campaign whose emails really land in the sink's folder."""

import email
import email.policy
import json
import os
import re
import signal
import smtplib
import socket
import subprocess
import sys
from datetime import UTC, datetime, time, timedelta
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from campaigns import demo
from campaigns.models import Campaign, Send, Sequence
from inboxes.models import Inbox
from leads.models import Lead
from reachkit.demo_state import demo_state_file
from reachkit.management.commands.mailsink import start_sink
from reachkit.models import ApiKey, Workspace

ROOT = Path(__file__).resolve().parents[2]


def tomorrow_noon() -> datetime:
    """Noon UTC (12:00 or 13:00 in London: the demo schedule is open), in the future: on
    PostgreSQL a new lead is due from the database's clock, which time-machine cannot move."""
    return (datetime.now(UTC) + timedelta(days=1)).replace(hour=12, minute=0, second=0)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def dev(settings, tmp_path):
    """setup_demo's world: debug on, var/ in a temp folder, the sink on a free port."""
    settings.DEBUG = True
    settings.VAR_DIR = tmp_path
    settings.MAILSINK_DIR = tmp_path / "mail"
    settings.MAILSINK_PORT = free_port()
    return settings


def setup_demo() -> str:
    out = StringIO()
    call_command("setup_demo", stdout=out)
    return out.getvalue()


def eml_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.eml"))


def test_setup_demo_makes_the_demo_inbox_and_campaign_once(db, dev):
    first = setup_demo()
    second = setup_demo()

    assert Workspace.objects.filter(name="Demo").count() == 1
    workspace = Workspace.objects.get(name="Demo")
    assert get_user_model().objects.filter(username="admin").count() == 1
    assert ApiKey.objects.filter(workspace=workspace).count() == 1
    key = re.search(r"API key +(rk_\S+)", first)
    assert key is not None
    assert f"API key    {key[1]}" in second

    inbox = Inbox.objects.get(workspace=workspace)
    assert inbox.email == demo.INBOX_EMAIL
    assert (inbox.smtp_host, inbox.smtp_port) == ("127.0.0.1", dev.MAILSINK_PORT)
    assert inbox.smtp_security == Inbox.Security.NONE
    assert inbox.imap_host == ""
    assert inbox.connection_status == Inbox.ConnectionStatus.CONNECTED
    assert inbox.is_active

    campaign = Campaign.objects.get(workspace=workspace)
    assert campaign.name == demo.CAMPAIGN_NAME
    assert campaign.status == Campaign.Status.ACTIVE
    assert campaign.unsubscribe_option
    assert not campaign.esp_matching
    assert list(campaign.inboxes.all()) == [inbox]
    assert list(Sequence.objects.filter(campaign=campaign).values_list("step", flat=True)) == [
        1,
        2,
    ]
    schedule = campaign.schedule
    assert (schedule.start_time, schedule.end_time) == (time(0, 0), time(23, 30))
    assert all(day["enabled"] for day in schedule.days.values())
    assert len(schedule.days) == 7
    leads = Lead.objects.filter(campaign=campaign)
    assert leads.count() == 3
    assert all(lead.email.endswith("@example.com") for lead in leads)


def test_a_second_run_follows_the_sink_port_and_leaves_the_campaign_as_the_user_left_it(db, dev):
    setup_demo()
    campaign = Campaign.objects.get(name=demo.CAMPAIGN_NAME)
    campaign.status = Campaign.Status.PAUSED
    campaign.save()
    Lead.objects.filter(campaign=campaign, email="alan@example.com").delete()
    Inbox.objects.update(connection_status=Inbox.ConnectionStatus.ERROR)
    dev.MAILSINK_PORT = free_port()

    welcome = setup_demo()

    inbox = Inbox.objects.get()
    assert inbox.smtp_port == dev.MAILSINK_PORT
    assert inbox.connection_status == Inbox.ConnectionStatus.CONNECTED
    campaign = Campaign.objects.get()
    assert campaign.status == Campaign.Status.PAUSED
    assert campaign.leads.count() == 2
    assert "(it is paused), 2 leads" in welcome


def test_the_welcome_says_where_the_emails_land_and_how_to_watch_them(db, dev, monkeypatch):
    # As with `make run`: the command runs in the folder that holds var/.
    monkeypatch.chdir(dev.VAR_DIR.parent)
    folder = f"{dev.VAR_DIR.name}/mail"
    dev.SEND_GAP_SECONDS = (20, 40)

    welcome = setup_demo()

    assert f"through the local mail sink on 127.0.0.1:{dev.MAILSINK_PORT}" in welcome
    assert f"Emails land in {folder}/ as .eml files" in welcome
    assert f"Watch them arrive:  ls {folder}\n" in welcome
    assert "then about one a minute (REACHKIT_SEND_GAP_SECONDS=20,40 spaces" in welcome


def test_the_demo_outreach_is_development_only(db, settings):
    settings.DEBUG = False
    Workspace.objects.create(name="Demo")
    with pytest.raises(CommandError, match="REACHKIT_DEBUG"):
        call_command("setup_demo_outreach", workspace="Demo", stdout=StringIO())
    assert not Campaign.objects.exists()


def test_the_demo_campaigns_emails_reach_the_mail_sink_one_gap_apart(db, dev, log_output):
    """Sent through the sink with no IMAP server anywhere: nothing on the way needs one."""
    dev.SEND_GAP_SECONDS = (20, 40)
    sink_log = StringIO()
    sink = start_sink(
        folder=dev.MAILSINK_DIR, host="127.0.0.1", port=dev.MAILSINK_PORT, stdout=sink_log
    )
    try:
        with time_machine.travel(tomorrow_noon(), tick=True) as clock:
            setup_demo()
            assert json.loads(send_due()) == {"sent": 1, "failed": 0, "deferred": 0}
            assert len(eml_files(dev.MAILSINK_DIR)) == 1
            # The next one waits for the inbox's gap, then goes.
            assert json.loads(send_due())["sent"] == 0
            clock.shift(timedelta(seconds=41))
            assert json.loads(send_due())["sent"] == 1
            clock.shift(timedelta(seconds=41))
            assert json.loads(send_due())["sent"] == 1
    finally:
        sink.stop()

    files = eml_files(dev.MAILSINK_DIR)
    assert len(files) == 3
    messages = [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default) for path in files
    ]
    first = messages[0]
    lead = Lead.objects.get(email=first["To"].addresses[0].addr_spec)
    assert first["From"] == f"Sam Demo <{demo.INBOX_EMAIL}>"
    assert first["Subject"] == f"Quick question, {lead.first_name}"
    text = first.get_body(preferencelist=("plain",)).get_content()
    assert f"Hi {lead.first_name}," in text
    assert lead.variables["company"] in text
    assert first["List-Unsubscribe"].startswith("<http://127.0.0.1:8000/u/")
    assert sorted(m["To"].addresses[0].addr_spec for m in messages) == [
        "ada@example.com",
        "alan@example.com",
        "grace@example.com",
    ]
    assert Send.objects.filter(status=Send.Status.SENT).count() == 3
    assert "saved to" in sink_log.getvalue()
    assert "could not file sent mail" not in log_output.getvalue()
    assert "could not check the Sent folder" not in log_output.getvalue()


def send_due() -> str:
    out = StringIO()
    call_command("send_due", stdout=out)
    return out.getvalue()


# --- The sink as `make run` starts it --------------------------------------------------------


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())


def test_make_run_starts_the_mail_sink_beside_web_workers_and_beat():
    processes = procfile()
    assert set(processes) == {"web", "worker", "connections", "webhooks", "beat", "mailsink"}
    expand = ["sh", "-c", f"echo {processes['mailsink']}"]
    env = {key: value for key, value in os.environ.items() if key != "MAILSINK_PORT"}
    assert subprocess.run(expand, env=env, capture_output=True, text=True).stdout.split() == [
        "python",
        "manage.py",
        "mailsink",
        "--port",
        "1025",
    ]
    env["MAILSINK_PORT"] = "2525"
    assert "--port 2525" in subprocess.run(expand, env=env, capture_output=True, text=True).stdout


def test_the_mailsink_command_saves_each_message_as_an_eml_file_until_stopped(tmp_path):
    port = free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "MAILSINK_PORT": str(port)}
    sink = subprocess.Popen(
        [sys.executable, "manage.py", "mailsink", "--dir", str(tmp_path)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert sink.stdout is not None
        assert f"listening on 127.0.0.1:{port}" in sink.stdout.readline()
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.login("anyone", "anything")
            client.sendmail(
                "sam@reachkit.test", ["ada@example.com"], b"Subject: Hello\r\n\r\nHi Ada\r\n"
            )
        assert "'Hello' saved to" in sink.stdout.readline()
        (saved,) = eml_files(tmp_path)
        assert saved.read_bytes().endswith(b"Hi Ada\r\n")
    finally:
        sink.send_signal(signal.SIGTERM)
        assert sink.wait(timeout=10) == 0


# --- The demo's login and key, per database --------------------------------------------------


def printed_password(welcome: str) -> str:
    found = re.search(r"user admin, password (\S+)", welcome)
    assert found is not None, welcome
    return found[1]


def printed_key(welcome: str) -> str:
    found = re.search(r"API key +(rk_\S+)", welcome)
    assert found is not None, welcome
    return found[1]


def test_the_printed_password_logs_in_and_stays_the_same_on_the_next_run(db, dev, client):
    first = printed_password(setup_demo())
    assert printed_password(setup_demo()) == first
    assert client.login(username="admin", password=first)


def test_a_state_that_does_not_match_this_database_is_renewed_not_trusted(db, dev, client):
    """As after a `make run` on PostgreSQL, then one on SQLite with the same var/."""
    setup_demo()
    state_file = next((dev.VAR_DIR / "demo").glob("*.json"))
    stale = json.loads(state_file.read_text())
    stale["admin_password"] = "from-another-database"
    stale["api_key"] = "rk_00000000_" + "x" * 32
    state_file.write_text(json.dumps(stale))

    welcome = setup_demo()

    assert printed_password(welcome) == "from-another-database"
    assert client.login(username="admin", password="from-another-database")
    key = printed_key(welcome)
    assert key != stale["api_key"]
    response = client.get("/api/v1/campaigns", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 200
    assert json.loads(state_file.read_text())["api_key"] == key


def test_an_admin_whose_password_was_changed_gets_the_printed_one_back(db, dev, client):
    setup_demo()
    admin = get_user_model().objects.get(username="admin")
    admin.set_password("changed-in-the-admin")
    admin.is_active = False
    admin.save()

    password = printed_password(setup_demo())

    assert client.login(username="admin", password=password)


def test_each_database_has_its_own_state_file(db, dev):
    setup_demo()
    (state_file,) = (dev.VAR_DIR / "demo").glob("*.json")
    assert state_file == demo_state_file()
    assert state_file.stat().st_mode & 0o077 == 0

    postgres = {"ENGINE": "django.db.backends.postgresql", "HOST": "127.0.0.1", "PORT": "5432"}
    sqlite = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(dev.VAR_DIR / "reachkit.db")}
    files = {
        demo_state_file(sqlite),
        demo_state_file({**sqlite, "NAME": str(dev.VAR_DIR / "other.db")}),
        demo_state_file({**postgres, "NAME": "reachkit"}),
        demo_state_file({**postgres, "NAME": "reachkit", "PORT": "5433"}),
        demo_state_file({**postgres, "NAME": "reachkit_staging"}),
    }
    assert len(files) == 5
    assert {path.parent for path in files} == {dev.VAR_DIR / "demo"}
    assert demo_state_file(sqlite).name.startswith("sqlite-reachkit-db-")
    assert demo_state_file({**postgres, "NAME": "reachkit"}).name.startswith("postgresql-reachkit-")


def test_the_single_state_file_of_before_is_checked_then_moved(db, dev, client):
    (dev.VAR_DIR / "demo.json").write_text(
        json.dumps({"admin_password": "kept-from-before", "api_key": "rk_dead_beef"})
    )

    welcome = setup_demo()

    assert printed_password(welcome) == "kept-from-before"
    assert client.login(username="admin", password="kept-from-before")
    assert not (dev.VAR_DIR / "demo.json").exists()
    (state_file,) = (dev.VAR_DIR / "demo").glob("*.json")
    state = json.loads(state_file.read_text())
    assert state["admin_password"] == "kept-from-before"
    assert state["api_key"] == printed_key(welcome)
    assert state["campaign_id"] == str(Campaign.objects.get().pk)


# --- A second inbox on the sink ----------------------------------------------------------------


def add_demo_inbox(*args: str) -> dict:
    out = StringIO()
    call_command("add_demo_inbox", *args, stdout=out)
    return json.loads(out.getvalue())


def test_the_welcome_says_how_to_add_a_second_inbox_on_the_sink(db, dev):
    assert 'make manage ARGS="add_demo_inbox kim@reachkit.test"' in setup_demo()


def test_a_second_demo_inbox_sends_to_the_sink_beside_the_first(db, dev):
    dev.SEND_GAP_SECONDS = (20, 40)
    sink = start_sink(
        folder=dev.MAILSINK_DIR, host="127.0.0.1", port=dev.MAILSINK_PORT, stdout=StringIO()
    )
    try:
        with time_machine.travel(tomorrow_noon(), tick=True):
            setup_demo()
            added = add_demo_inbox("Kim@Reachkit.test")
            again = add_demo_inbox("kim@reachkit.test")
            # One email per inbox and gap: both inboxes send in the first pass.
            assert json.loads(send_due()) == {"sent": 2, "failed": 0, "deferred": 0}
    finally:
        sink.stop()

    campaign = Campaign.objects.get()
    inbox = Inbox.objects.get(email="kim@reachkit.test")
    assert added == {
        "inbox": "kim@reachkit.test",
        "id": str(inbox.pk),
        "smtp": f"127.0.0.1:{dev.MAILSINK_PORT}",
        "created": True,
        "campaign_id": str(campaign.pk),
    }
    assert again["created"] is False
    assert inbox.connection_status == Inbox.ConnectionStatus.CONNECTED
    assert inbox.first_name == "Kim"
    assert set(campaign.inboxes.values_list("email", flat=True)) == {
        demo.INBOX_EMAIL,
        "kim@reachkit.test",
    }
    senders = {
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)["From"]
        .addresses[0]
        .addr_spec
        for path in eml_files(dev.MAILSINK_DIR)
    }
    assert senders == {demo.INBOX_EMAIL, "kim@reachkit.test"}


def test_add_demo_inbox_leaves_a_real_mailbox_alone(db, dev):
    setup_demo()
    workspace = Workspace.objects.get(name="Demo")
    real = Inbox.objects.create(
        workspace=workspace,
        email="real@acme.example",
        domain="acme.example",
        smtp_host="smtp.acme.example",
        smtp_port=587,
        imap_host="imap.acme.example",
        imap_port=993,
    )
    with pytest.raises(CommandError, match="not a demo inbox"):
        add_demo_inbox("real@acme.example")
    real.refresh_from_db()
    assert real.smtp_host == "smtp.acme.example"


@pytest.mark.parametrize("address", ["not-an-address", "kim@", "a b@reachkit.test"])
def test_add_demo_inbox_refuses_what_is_not_an_address(db, dev, address):
    setup_demo()
    with pytest.raises(CommandError, match="not an email address"):
        add_demo_inbox(address)
    assert Inbox.objects.count() == 1


def test_add_demo_inbox_is_development_only(db, settings):
    settings.DEBUG = False
    Workspace.objects.create(name="Demo")
    with pytest.raises(CommandError, match="REACHKIT_DEBUG"):
        add_demo_inbox("kim@reachkit.test")
    assert not Inbox.objects.exists()
