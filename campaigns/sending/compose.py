"""Composing: an outbox row, rendered for its lead and built into the bytes SMTP carries.

The Message-ID comes from the row, so a retry sends the same message; a follow-up replies in
its thread (`In-Reply-To`, `References`, `Re: <first subject>` when its subject is empty).
"""

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from campaigns.content import rendering, unsubscribe
from campaigns.content.message import OutgoingEmail, build_message
from campaigns.models import Send


@dataclass(frozen=True)
class Thread:
    """What a follow-up replies to: the earlier steps' Message-IDs and the first subject."""

    message_ids: tuple[str, ...] = ()
    first_subject: str = ""


def threads_of(sends: Sequence[Send]) -> dict[uuid.UUID, Thread]:
    """Each follow-up's thread, from the lead's earlier sent steps: one query for the batch."""
    follow_ups = {send.lead_id for send in sends if send.step > 1}
    if not follow_ups:
        return {}
    earlier: dict[uuid.UUID, list[tuple[int, str, str]]] = defaultdict(list)
    for lead_id, step, message_id, subject in Send.objects.filter(
        lead_id__in=follow_ups, status=Send.Status.SENT
    ).values_list("lead_id", "step", "message_id", "subject"):
        earlier[lead_id].append((step, message_id, subject))
    threads = {}
    for send in sends:
        rows = sorted(row for row in earlier.get(send.lead_id, []) if row[0] < send.step)
        if rows:
            first = rows[0][2] if rows[0][0] == 1 else ""
            threads[send.pk] = Thread(tuple(row[1] for row in rows), first)
    return threads


def rendered_of(send: Send, thread: Thread) -> rendering.RenderedEmail:
    """One outbox row's subject and bodies for its lead, from its variant, lead and inbox.

    Spintax is seeded by the lead and the variant: rendering the same row again makes the
    same email, as long as none of the three was edited since (the unified inbox shows a
    lead's campaign emails through here). Raises MergeTagError and TooLong.
    """
    lead, inbox = send.lead, send.inbox
    assert send.variant is not None
    # The preview renders through the same function: what it shows is what goes out.
    return rendering.render_variant(
        send.variant,
        rendering.lead_variables(lead, inbox),
        seed=rendering.lead_seed(lead, send.variant),
        thread_subject=thread.first_subject or None,
        unsubscribe_url=unsubscribe.url_for(lead),
        signature=inbox.signature if inbox is not None else "",
    )


def message_of(send: Send, thread: Thread, now: datetime) -> tuple[str, bytes]:
    """The rendered subject and the message, as it goes on the wire, for one outbox row."""
    lead, inbox, campaign = send.lead, send.inbox, send.campaign
    assert inbox is not None
    unsubscribe_url = unsubscribe.url_in(campaign, lead)
    rendered = rendered_of(send, thread)
    outgoing = OutgoingEmail(
        message_id=send.message_id,
        from_email=inbox.email,
        from_name=inbox.display_name,
        to_email=lead.email,
        to_name=lead.full_name,
        reply_to=inbox.reply_to,
        subject=rendered.subject,
        text=rendered.body_text,
        html=None if campaign.text_only else rendered.body_html,
        date=now,
        in_reply_to=thread.message_ids[-1] if thread.message_ids else "",
        references=thread.message_ids,
        unsubscribe_url=unsubscribe_url or "",
    )
    return rendered.subject, build_message(outgoing)
