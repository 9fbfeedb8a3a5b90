"""`make run`'s demo outreach: an inbox wired to the local mail sink and a small campaign.

A newcomer sees real emails leave within minutes: the campaign is active, open every day,
and its three leads are at example.com; the sink (`manage.py mailsink`) keeps every email
as an .eml file under var/mail/. Development only; `setup_demo` runs it on every
`make run`, and a second run reuses what the first created.
"""

import ipaddress
from dataclasses import dataclass
from datetime import time

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from campaigns import services, windows
from campaigns.models import Campaign, Variant
from inboxes.models import Inbox
from inboxes.services import inbox_connect_sink
from leads.inputs import IfExists
from leads.services import lead_bulk_save
from reachkit.models import Workspace

INBOX_EMAIL = "sam@reachkit.test"  # .test is reserved (RFC 2606): never a real mailbox
CAMPAIGN_NAME = "Demo outreach"
# Open all day, every day: 23:30 is the latest a window can end (the 30-minute grid).
TIMEZONE = "Europe/London"
WINDOW = {"start": time(0, 0), "end": time(23, 30)}

STEP_ONE_SUBJECT = "Quick question, {{first_name}}"
STEP_ONE_BODY = (
    "Hi {{first_name}},<br><br>"
    "is {{company|your team}} still looking for a better way to reach new customers? "
    "I'd be glad to show you what we do in 15 minutes.<br><br>"
    "{{sender_first_name}}"
)
# An empty subject: the follow-up goes as "Re: <first subject>" in the same thread.
STEP_TWO_BODY = (
    "Hi {{first_name}}, just bringing this back to the top of your inbox. "
    "Worth a quick chat?<br><br>{{sender_first_name}}"
)
FOLLOW_UP_DELAY_DAYS = 1
LEADS = [
    {
        "email": "ada@example.com",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "variables": {"company": "Analytical Engines"},
    },
    {
        "email": "grace@example.com",
        "first_name": "Grace",
        "last_name": "Hopper",
        "variables": {"company": "Compiler Works"},
    },
    {
        "email": "alan@example.com",
        "first_name": "Alan",
        "last_name": "Turing",
        "variables": {"company": "Bletchley Labs"},
    },
]


@dataclass(frozen=True)
class DemoOutreach:
    inbox: Inbox
    campaign: Campaign
    created: bool  # False: an earlier run made the campaign, left as it is now


def demo_outreach_ensure(*, workspace: Workspace, sink_host: str, sink_port: int) -> DemoOutreach:
    """The demo inbox, pointed at the sink, and the demo campaign, made once.

    The inbox follows the sink's address on every run. The campaign is found by name: once
    made it is the user's (paused, edited, or emptied, it stays so); deleted, the next
    run makes it again.
    """
    with transaction.atomic():
        inbox, _ = inbox_connect_sink(
            workspace=workspace,
            email=INBOX_EMAIL,
            host=sink_host,
            port=sink_port,
            first_name="Sam",
            last_name="Demo",
        )
        campaign = (
            Campaign.objects.filter(workspace=workspace, name=CAMPAIGN_NAME)
            .order_by("created_at")
            .first()
        )
        if campaign is not None:
            return DemoOutreach(inbox, campaign, created=False)
        return DemoOutreach(inbox, _make_campaign(workspace, inbox), created=True)


class NotADemoInbox(Exception):
    """The address belongs to an inbox with a real mail server, which is left alone."""


@dataclass(frozen=True)
class DemoInbox:
    inbox: Inbox
    created: bool
    campaign: Campaign | None  # the demo campaign it is attached to, if there is one


def demo_inbox_add(
    *, workspace: Workspace, email: str, sink_host: str, sink_port: int, attach: bool = True
) -> DemoInbox:
    """Another inbox that sends to the mail sink, like the demo's own (`add_demo_inbox`).

    An inbox added through the API is checked by logging in to its SMTP and IMAP servers, and
    the sink has no IMAP, so such an inbox ends in `error`; this one is marked connected
    without a check, as the demo inbox is. It joins the demo campaign (if there is one), whose
    leads are then spread over both. An address that already belongs to an inbox sending
    through a server elsewhere than on this machine (a real mailbox) is refused: NotADemoInbox.
    """
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValueError(f"not an email address: {email!r}") from None
    local = email.split("@", 1)[0]
    with transaction.atomic():
        existing = Inbox.objects.filter(workspace=workspace, email=email).first()
        if existing is not None and not _is_loopback(existing.smtp_host):
            raise NotADemoInbox(
                f"{email} is an inbox with its own mail servers, not a demo inbox: left as it is"
            )
        inbox, created = inbox_connect_sink(
            workspace=workspace,
            email=email,
            host=sink_host,
            port=sink_port,
            first_name=local.split(".")[0].capitalize()[:100],
            last_name="Demo",
        )
        campaign = (
            Campaign.objects.filter(workspace=workspace, name=CAMPAIGN_NAME)
            .order_by("created_at")
            .first()
        )
        if campaign is not None and attach:
            services.campaign_inboxes_attach(campaign=campaign, inbox_ids=[inbox.pk])
        return DemoInbox(inbox=inbox, created=created, campaign=campaign if attach else None)


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host.lower().rstrip(".") == "localhost"


def _make_campaign(workspace: Workspace, inbox: Inbox) -> Campaign:
    campaign = services.campaign_create(workspace=workspace, name=CAMPAIGN_NAME)
    step_one = Variant.objects.get(sequence__campaign=campaign, sequence__step=1)
    services.variant_update(variant=step_one, subject=STEP_ONE_SUBJECT, body_html=STEP_ONE_BODY)
    services.sequence_update(sequence=step_one.sequence, delay_days=FOLLOW_UP_DELAY_DAYS)
    step_two = services.sequence_create(campaign=campaign)
    services.variant_update(variant=step_two.variants.get(), body_html=STEP_TWO_BODY)
    services.schedule_update(
        campaign=campaign,
        timezone=TIMEZONE,
        default_window=WINDOW,
        days={day: {"enabled": True} for day in windows.DAYS},
    )
    services.campaign_inboxes_attach(campaign=campaign, inbox_ids=[inbox.pk])
    saved = lead_bulk_save(campaign=campaign, raw_leads=LEADS, if_exists=IfExists.SKIP)
    if saved.errors:
        raise ValueError(f"the demo leads were refused: {saved.errors}")
    return services.campaign_update(
        campaign=campaign,
        status=Campaign.Status.ACTIVE,
        options={"unsubscribe_option": True, "esp_matching": False},
    )
