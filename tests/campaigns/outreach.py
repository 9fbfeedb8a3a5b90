"""A campaign wired to real mail servers, for the sending engine's tests.

`Outreach` is an active two-step campaign sending from an inbox whose SMTP server is an
aiosmtpd server in the test process and whose IMAP server is the test Dovecot. Step 1
says hello, step 2 (after `delay_days` = 2) follows up in the same thread with an empty
subject. The schedule is open every day, all day, in Europe/London.
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from email.message import EmailMessage
from io import StringIO
from typing import Any

import time_machine
from django.core.management import call_command

from campaigns import services
from campaigns.models import Campaign, Send, Sequence, Variant
from inboxes.models import Inbox
from leads.models import Lead
from reachkit.models import Workspace
from tests.inboxes.factories import InboxFactory
from tests.leads.factories import LeadFactory
from tests.services.mailbox import Mailbox
from tests.services.smtp_server import ReceivedMessage, SmtpServer

# A Wednesday in winter: London is on UTC.
START = datetime(2026, 1, 14, 12, 0, tzinfo=UTC)
ALL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

STEP_ONE_SUBJECT = "Hi {{first_name}}"
STEP_ONE_BODY = "Hello {{first_name}},<br>a quick question about {{company|your team}}."
STEP_TWO_BODY = "Just bumping this up, {{first_name}}."


def make_inbox(workspace: Workspace, mailbox: Mailbox, **fields: Any) -> Inbox:
    """An inbox that logs in to the mailbox's SMTP server (plain) and Dovecot (IMAPS)."""
    smtp = mailbox.smtp_server("none")
    values = {
        "workspace": workspace,
        "email": mailbox.email,
        "domain": mailbox.email.rpartition("@")[2],
        "first_name": "Sam",
        "last_name": "Sender",
        "smtp_host": smtp.host,
        "smtp_port": smtp.port,
        "smtp_username": mailbox.email,
        "smtp_password": mailbox.password,
        "smtp_security": Inbox.Security.NONE,
        "imap_host": mailbox.dovecot.host,
        "imap_port": mailbox.dovecot.imaps_port,
        "imap_username": mailbox.email,
        "imap_password": mailbox.password,
        "imap_security": Inbox.Security.SSL,
        "connection_status": Inbox.ConnectionStatus.CONNECTED,
        "provider": Inbox.Provider.OTHER,
        "sent_folder": "Sent",
        "daily_campaign_limit": 500,
    }
    values.update(fields)
    return InboxFactory(**values)


def make_campaign(workspace: Workspace, inboxes: list[Inbox], **options: Any) -> Campaign:
    campaign = services.campaign_create(workspace=workspace, name="Outreach")
    step_one = Variant.objects.get(sequence__campaign=campaign, sequence__step=1)
    services.variant_update(variant=step_one, subject=STEP_ONE_SUBJECT, body_html=STEP_ONE_BODY)
    step_two = services.sequence_create(campaign=campaign)
    services.variant_update(variant=step_two.variants.get(), body_html=STEP_TWO_BODY)
    services.sequence_update(sequence=step_one.sequence, delay_days=2)
    services.schedule_update(
        campaign=campaign,
        timezone="Europe/London",
        default_window={"start": time(0, 0), "end": time(23, 30)},
        days={day: {"enabled": True} for day in ALL_DAYS},
    )
    services.campaign_inboxes_attach(campaign=campaign, inbox_ids=[inbox.pk for inbox in inboxes])
    options = {"daily_limit": 500, **options}
    return services.campaign_update(campaign=campaign, status="active", options=options)


@dataclass
class Outreach:
    campaign: Campaign
    inbox: Inbox
    mailbox: Mailbox
    clock: Any

    @property
    def smtp(self) -> SmtpServer:
        return self.mailbox.smtp_server("none")

    @property
    def step_one(self) -> Variant:
        return Variant.objects.get(sequence__campaign=self.campaign, sequence__step=1, letter="A")

    @property
    def step_two(self) -> Sequence:
        return Sequence.objects.get(campaign=self.campaign, step=2)

    def add_leads(
        self, *emails: str, campaign: Campaign | None = None, **fields: Any
    ) -> list[Lead]:
        campaign = campaign or self.campaign
        leads = []
        for email in emails:
            name = email.partition("@")[0].capitalize()
            values = {"first_name": name, "last_name": "", "provider": "other", **fields}
            leads.append(LeadFactory(campaign=campaign, email=email, **values))
        return leads

    def send_due(self) -> dict[str, int]:
        out = StringIO()
        call_command("send_due", stdout=out)
        return json.loads(out.getvalue())

    def advance(self, **delta: float) -> None:
        self.clock.shift(timedelta(**delta))

    def received(self) -> list[ReceivedMessage]:
        return list(self.smtp.messages)

    def received_by(self, email: str) -> list[EmailMessage]:
        return [m.message for m in self.smtp.messages if email in m.rcpt_tos]

    def send_of(self, lead: Lead, step: int = 1) -> Send:
        return Send.objects.get(lead=lead, step=step)


@contextmanager
def running_outreach(workspace: Workspace, mailbox: Mailbox) -> Iterator[Outreach]:
    """An `Outreach` of the workspace through the mailbox's servers, its clock started."""
    traveller = start_clock()
    clock = traveller.start()
    try:
        inbox = make_inbox(workspace, mailbox)
        campaign = make_campaign(workspace, [inbox])
        yield Outreach(campaign=campaign, inbox=inbox, mailbox=mailbox, clock=clock)
    finally:
        traveller.stop()


def start_clock(at: datetime = START) -> Any:
    """Time frozen at `at` but ticking (sockets need time to pass); shift it with `.shift()`."""
    return time_machine.travel(at, tick=True)


def text_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n")


def html_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("html",)).get_content().replace("\r\n", "\n")


def decoded_parts(message: EmailMessage) -> dict[str, str]:
    """Each text part's content type → its content: transfer encoding and charset undone, and
    the wire's CRLF line ends read as "\\n" (how a text part is carried, RFC 2046 4.1.1)."""
    parts = {}
    for part in message.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        charset = part.get_content_charset() or "us-ascii"
        parts[part.get_content_type()] = payload.decode(charset).replace("\r\n", "\n")
    return parts
