"""From a variant and a lead to the email they make: the preview and the sender share this.

The merge-tag values of a lead are its built-ins first (`first_name`, `last_name`,
`email`, `full_name`, `contact`), then its own variables (`company` and the rest), then
the sending inbox's `sender_first_name`, `sender_last_name` and `sender_email`. A
built-in with a value wins over a variable of the same name; an empty one leaves the
name to the variable, or missing. Spintax is seeded with f"{lead.id}:{variant.id}", so a
preview, a retry and the real send of one step to one lead are the same email.

`render_variant` makes the email's subject and bodies exactly as they go on the wire (values
filled, HTML sanitised again, the inbox's signature added); the preview and the sender both
call it, so a preview cannot show what the sender would not send.
"""

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from campaigns.content import html_body, merge_tags, unsubscribe
from campaigns.content.merge_tags import Rendered, TooLong
from campaigns.models import Variant
from inboxes.models import Inbox
from leads.models import Lead
from leads.variables import normalize_variable_name
from reachkit.text import one_line

# How long a subject and each body (HTML, text) may be once their merge tags are filled. Values
# are capped (5,000 characters each), but a template may repeat one many times: without a cap
# a 100 KB request made a 400 MB preview, and a send would build such a message. Rendering
# stops as soon as it passes the cap (`merge_tags.render`'s `limit`); the preview answers 422,
# the sender fails the send with the reason. The caps leave room for any real email: a
# subject's template is at most 500 characters and mail clients show well under 200; a body's
# template is at most 100,000 characters, and Gmail clips a message past 102 KB.
MAX_RENDERED_SUBJECT = 1_000
MAX_RENDERED_BODY = 200_000

_LINE_ENDS = re.compile(r"\r\n?")
_REPLY_PREFIX = re.compile(r"re:", re.IGNORECASE)


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    body_html: str
    body_text: str
    # Variables used without a value or a fallback, normalised, in order of first use.
    missing: tuple[str, ...]


# The values every lead has, and those the sending inbox brings: never unknown merge tags.
LEAD_BUILTINS = ("first_name", "last_name", "email", "full_name", "contact")
SENDER_VARIABLES = ("sender_first_name", "sender_last_name", "sender_email")


def lead_variables(lead: Lead, inbox: Inbox | None = None) -> dict[str, object]:
    """The values `{{…}}` tags read for this lead, sent from `inbox` (if known)."""
    builtins: dict[str, object] = {
        "first_name": lead.first_name,
        "last_name": lead.last_name,
        "email": lead.email,
        "full_name": lead.full_name,
        # Whom the email is for: the person's name, or their address when it has none.
        "contact": lead.full_name or lead.email,
    }
    return merge_values(builtins, lead.variables or {}, sender_variables(inbox))


def sender_variables(inbox: Inbox | None) -> dict[str, object]:
    if inbox is None:
        return {}
    return {
        "sender_first_name": inbox.first_name,
        "sender_last_name": inbox.last_name,
        "sender_email": inbox.email,
    }


def merge_values(*sources: Mapping[str, object]) -> dict[str, object]:
    """One mapping of normalised names; for each name the first source with a value wins."""
    values: dict[str, object] = {}
    for source in sources:
        for key, value in source.items():
            name = normalize_variable_name(str(key))
            if values.get(name) in (None, "") and value not in (None, ""):
                values[name] = value
    return values


def lead_seed(lead: Lead, variant: Variant) -> str:
    return f"{lead.id}:{variant.id}"


def reply_subject(first_subject: str) -> str:
    """A follow-up's subject when its own is empty: "Re: " and the thread's first subject."""
    return first_subject if _REPLY_PREFIX.match(first_subject) else f"Re: {first_subject}"


def render_subject(variant: Variant, variables: Mapping[str, object], *, seed: str) -> Rendered:
    """The variant's own subject, on one line: line breaks, tabs and other control characters
    from a value become spaces (reachkit.text.one_line).

    Raises TooLong past MAX_RENDERED_SUBJECT.
    """
    rendered = _render("subject", variant.subject or "", variables, seed=seed)
    return Rendered(text=one_line(rendered.text).strip(), missing=rendered.missing)


def _render(field: str, text: str, variables: Mapping[str, object], **options: Any) -> Rendered:
    """`merge_tags.render` within the cap of `field`; TooLong names the field."""
    limit = MAX_RENDERED_SUBJECT if field == "subject" else MAX_RENDERED_BODY
    try:
        return merge_tags.render(text, variables, limit=limit, **options)
    except TooLong:
        raise TooLong(limit, field) from None


def render_variant(
    variant: Variant,
    variables: Mapping[str, object],
    *,
    seed: str,
    thread_subject: str | None = None,
    unsubscribe_url: str | None = None,
    signature: str = "",
) -> RenderedEmail:
    """Subject, HTML and text of `variant` for these values, as they are sent.

    An empty subject becomes `reply_subject(thread_subject)`: a follow-up replies in the
    thread of step 1, whose rendered subject `thread_subject` is. The HTML is sanitised again
    (`html_body.normalize_html`): a value can complete a URL the stored template could not
    judge (`<a href="{{website}}">` with `javascript:…`). The sending inbox's `signature`
    ends both bodies, before their unsubscribe footer when they end with one (`_signed`). The
    text's line ends are "\n" and it does not end with one: a MIME part
    carries it so (its last line end belongs to the boundary that follows).
    Raises MergeTagError, and TooLong past a cap (MAX_RENDERED_SUBJECT, MAX_RENDERED_BODY).
    """
    subject = render_subject(variant, variables, seed=seed)
    html = _render(
        "body_html",
        variant.body_html or "",
        variables,
        seed=seed,
        escape_html=True,
        unsubscribe_url=unsubscribe_url,
    )
    text = _render(
        "body_text", variant.body_text or "", variables, seed=seed, unsubscribe_url=unsubscribe_url
    )
    subject_text = subject.text
    if not subject_text and thread_subject:
        # A subject stored before subjects were rendered on one line may hold a tab.
        subject_text = reply_subject(one_line(thread_subject).strip())
        if len(subject_text) > MAX_RENDERED_SUBJECT:  # "Re: " and a subject at the cap
            raise TooLong(MAX_RENDERED_SUBJECT, "subject")
    body_html = html_body.normalize_html(html.text)
    body_text = _LINE_ENDS.sub("\n", text.text).rstrip("\n")
    if signature.strip():
        signature_html = html_body.normalize_html(signature.replace("\n", "<br>"))
        body_html = _signed(body_html, signature_html, "<br><br>", template=variant.body_html)
        body_text = _signed(
            body_text,
            html_body.html_to_text(signature_html),
            "\n\n",
            template=_LINE_ENDS.sub("\n", variant.body_text or "").rstrip("\n"),
        )
    missing = dict.fromkeys([*subject.missing, *html.missing, *text.missing])
    return RenderedEmail(
        subject=subject_text, body_html=body_html, body_text=body_text, missing=tuple(missing)
    )


def _signed(body: str, signature: str, paragraph: str, *, template: str | None) -> str:
    """The signature after the body, but before its unsubscribe footer: the footer is last.

    Where the footer starts is read from the template (`html_body.split_footer`), whose link
    is still a `{{unsubscribe_url}}` tag; the rendered body has as many separators after that
    point (the footer's own), so it is split at the same one, counted from the end."""
    separator, footer = html_body.split_footer(template or "", html=paragraph == "<br><br>")
    if not footer:
        return f"{body}{paragraph}{signature}" if body else signature
    if not separator:  # the body is the footer alone
        return f"{signature}{paragraph}{body}"
    cut = footer.count(separator) + 1
    parts = body.rsplit(separator, cut)
    if len(parts) <= cut:
        return f"{signature}{paragraph}{body}"
    head = separator.join(parts[:-cut])
    tail = separator.join(parts[-cut:])
    return f"{head}{paragraph}{signature}{separator}{tail}"


def check_template(*, subject: str | None, body_html: str | None) -> None:
    """TooLong when a variant's template alone, with no values, passes a cap.

    `body_html` as stored (normalised); its text version is derived as `Variant.set_body` does.
    """
    template = Variant(subject=subject)
    template.set_body(body_html)
    render_variant(template, {}, seed="")


def thread_variant(variant: Variant) -> Variant | None:
    """For a follow-up, the step-1 variant a preview takes the thread's subject from.

    The sender knows which step-1 variant a lead actually got; a preview takes the first
    enabled one, by letter. None for step 1 itself, or when step 1 is gone.
    """
    if variant.sequence.step == 1:
        return None
    return (
        Variant.objects.filter(
            sequence__campaign_id=variant.sequence.campaign_id, sequence__step=1, enabled=True
        )
        .order_by("letter")
        .first()
    )


def preview(
    variant: Variant,
    *,
    lead: Lead | None = None,
    variables: Mapping[str, object] | None = None,
    inbox: Inbox | None = None,
) -> RenderedEmail:
    """The email `variant` makes for a lead (as it will be sent) or for given values.

    With `variables`, the values are taken as given (names normalise as everywhere; an
    inbox fills the sender's names they leave out) and the spintax seed is the variant's
    own, so the same values preview the same way.
    A lead's preview carries its real unsubscribe link (wherever the body has the tag, whether
    or not the campaign adds the header), and an inbox's preview its signature, before the
    unsubscribe footer, as the send will. Raises MergeTagError if stored content does not parse
    (it was validated on save), and TooLong past a cap.
    """
    unsubscribe_url = None
    if lead is not None:
        values = lead_variables(lead, inbox)
        unsubscribe_url = unsubscribe.url_for(lead)
    else:
        values = merge_values(variables or {}, sender_variables(inbox))

    def seed_of(each: Variant) -> str:
        return lead_seed(lead, each) if lead is not None else f"preview:{each.id}"

    thread = Rendered(text="", missing=())
    first = None if (variant.subject or "").strip() else thread_variant(variant)
    if first is not None:
        thread = render_subject(first, values, seed=seed_of(first))
    email = render_variant(
        variant,
        values,
        seed=seed_of(variant),
        thread_subject=thread.text or None,
        unsubscribe_url=unsubscribe_url,
        signature=inbox.signature if inbox is not None else "",
    )
    return dataclasses.replace(
        email, missing=tuple(dict.fromkeys([*thread.missing, *email.missing]))
    )
