"""What a warmup email says: short business emails from a template set with spintax.

`{a|b|c}` picks one of its alternatives (nested braces too), so no two emails read alike.
The choice is seeded by the row's id: composing a row again (a retried send) gives the same
text. Every warmup email carries the installation's token (inboxes/warmup_marks.py) in
`X-Reachkit-Warmup`, which the recipients' side searches for and the unified inbox, reply
detection and campaign analytics leave out by; a reply answers in the same thread
(`In-Reply-To`, `References`, `Re: `).
"""

import random
import re
import uuid
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr

from inboxes.models import Inbox, WarmupEmail
from inboxes.warmup_marks import WARMUP_HEADER, warmup_token

SUBJECTS = (
    "{Quick|Short|Small} {question|note|update} {about|on|regarding} {the|our} "
    "{next steps|timeline|proposal|project plan|meeting notes}",
    "{Following up|Checking in|Circling back} on {last week|our call|the draft|Tuesday}",
    "{Thoughts|Feedback|Your input} on the {Q{1|2|3|4} plan|new layout|budget draft|agenda}?",
    "{Meeting|Call|Catch-up} {next|this} {Monday|Tuesday|Wednesday|Thursday|Friday}?",
    "{Notes|Summary|Recap} from {today|yesterday|our sync}",
    "{Invoice|Order|Document} {question|follow-up|details}",
)

OPENINGS = (
    "{Hi|Hello|Hey} {name},",
    "{Good morning|Good afternoon|Hi there} {name},",
    "{name}, {hope you're well|hope your week is going well|hope all is good}.",
)

BODIES = (
    "{Just wanted to|I wanted to|Quick note to} {check|confirm|see} whether "
    "{the timeline|the plan|Thursday} still {works|suits you|makes sense}. "
    "{Let me know|Tell me} if anything {changed|moved|needs adjusting}.",
    "{I've|I have} {gone through|read|looked at} the {draft|document|notes} and "
    "{it looks good|I like the direction|most of it works for me}. "
    "{A couple of|Two|A few} {small|minor} {comments|questions} {to follow|when we talk}.",
    "{Could you|Would you be able to|Can you} {send|share} the {latest|updated|final} "
    "{version|figures|slides} {when you have a moment|by the end of the week|before our call}?",
    "{Thanks for|Thank you for} {the quick reply|your help|sending this over}. "
    "{I'll|I will} {take a look|review it|go through it} {today|tomorrow|this afternoon}.",
    "{Are you|Would you be} {free|available} for a {short|quick} {call|chat} "
    "{this week|next week|on {Monday|Wednesday|Friday}}? {Any time after 10 works|"
    "Mornings are best for me|I'm flexible}.",
)

REPLIES = (
    "{Thanks|Thank you|Many thanks}, {name}! {Sounds good|That works|Perfect}. "
    "{I'll|I will} {get back to you|follow up|confirm} {soon|by tomorrow|later today}.",
    "{Got it|Noted|Received}, {thanks|thank you}. {Let's|We can} {talk|pick this up} "
    "{then|next week|on our call}.",
    "{Hi|Hey} {name}, {yes|sure|absolutely}, {that's fine|no problem|happy to}. "
    "{Speak soon|Talk soon|Cheers}.",
)

CLOSINGS = (
    "",
    "{Thanks|Thanks again|Thanks in advance}{!|.}",
    "{Have a good|Enjoy your} {day|week|afternoon}{!|.}",
    "{Speak soon|Talk soon|Looking forward to it}.",
)

SIGN_OFFS = ("{Best|Thanks|Cheers|Kind regards|Best regards|All the best},\n{me}",)

_INNERMOST = re.compile(r"\{([^{}]*)\}")
_PLACEHOLDER = re.compile(r"\{(name|me)\}")
# What may reach a header from a person's name: no control characters, a bounded length.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def spin(template: str, rng: random.Random) -> str:
    """Resolve `{a|b}` choices, innermost first; `{name}` and `{me}` stay for `fill`."""
    while True:
        match = None
        for candidate in _INNERMOST.finditer(template):
            if "|" in candidate.group(1) or not _PLACEHOLDER.fullmatch(candidate.group(0)):
                match = candidate
                break
        if match is None:
            return template
        choice = rng.choice(match.group(1).split("|"))
        template = template[: match.start()] + choice + template[match.end() :]


def _first_name(inbox: Inbox) -> str:
    name = _CONTROL.sub("", inbox.first_name).strip()[:60]
    return name or inbox.email.split("@")[0][:60]


def _seed(email_id: uuid.UUID, part: str) -> random.Random:
    return random.Random(f"{email_id}:{part}")


def subject_for(email_id: uuid.UUID) -> str:
    rng = _seed(email_id, "subject")
    return spin(rng.choice(SUBJECTS), rng)


def body_for(email: WarmupEmail, sender: Inbox, recipient: Inbox) -> str:
    rng = _seed(email.pk, "body")
    opening = spin(rng.choice(OPENINGS), rng)
    middle = REPLIES if email.kind == WarmupEmail.Kind.REPLY else BODIES
    parts = [opening, spin(rng.choice(middle), rng), spin(rng.choice(CLOSINGS), rng)]
    parts.append(spin(rng.choice(SIGN_OFFS), rng))
    text = "\n\n".join(part for part in parts if part)
    names = {"name": _first_name(recipient), "me": _first_name(sender)}
    return _PLACEHOLDER.sub(lambda match: names[match.group(1)], text) + "\n"


def new_message_id(email_id: uuid.UUID, sender: Inbox) -> str:
    domain = _CONTROL.sub("", sender.domain).strip() or "reachkit.invalid"
    return f"<{email_id.hex}@{domain[:200]}>"


def _address(inbox: Inbox) -> str:
    name = _CONTROL.sub("", inbox.display_name).strip()[:150]
    return formataddr((name, inbox.email)) if name else inbox.email


def compose(
    email: WarmupEmail,
    *,
    sender: Inbox,
    recipient: Inbox,
    parent: WarmupEmail | None,
    now: datetime,
) -> bytes:
    """The raw message of one warmup email (CRLF line ends, ready for DATA)."""
    message = EmailMessage(policy=SMTP)
    message["From"] = _address(sender)
    message["To"] = _address(recipient)
    message["Subject"] = email.subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = email.message_id
    if parent is not None:
        message["In-Reply-To"] = parent.message_id
        message["References"] = parent.message_id
    message[WARMUP_HEADER] = warmup_token()
    message.set_content(body_for(email, sender, recipient))
    return message.as_bytes()
