"""Bounces: is an incoming message a report that one of our emails was not delivered, and if so
to whom, why, hard or soft, with which RFC 3463 status, and which of our emails it returns.

`parse_bounce(message)` is what the unified inbox calls for every incoming message. It is
strict, because a reply read as a bounce loses a lead:

1. Reports that are not bounces stop here: read receipts (a `message/disposition-notification`
   that says displayed, dispatched or processed), ARF feedback reports, and delivery reports
   whose every recipient was delivered, relayed or expanded.
2. An RFC 3464 report (`message/delivery-status`, the form Postfix, Sendmail, Courier, Gmail,
   Office 365, Outlook.com, Yahoo, Amazon SES and most others send) is read field by field:
   a recipient whose action is `failed` makes a bounce, one that is only `delayed` a soft one.
3. Anything else must look like a mail server's report before its words are read: sent by a
   mailer-daemon or postmaster, or carrying Exim's `X-Failed-Recipients`, or with a bounce's
   subject, and not a reply or forward; then its text must say the mail failed or is delayed.
   flufl.bounce, which knows many servers' own formats, finds the failed addresses there.
4. Why it failed comes from our table `REASONS` (reachkit/delivery_failures.py, which the
   sender reads too), read on the server's answer first and
   then on the report's text; a specific text wins over the status code (a 5.2.2 "mailbox
   full" is soft), and a delay is soft whatever it says.
5. Our email inside the report (an attached `message/rfc822`, a `text/rfc822-headers` part, or
   headers quoted inline) gives the original Message-ID, In-Reply-To and References, so the
   inbox can find the exact send row.

Nothing here touches the database or the network.
"""

import email.errors
import email.parser
import email.policy
import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.utils import getaddresses

from flufl.bounce import all_failures

from reachkit.delivery_failures import (
    BASIC_REPLY_CODE,
    HARD,
    REASONS,
    REASONS_BY_NAME,
    SOFT,
    BounceType,
    Reason,
    classify_reason,
    enhanced_codes,
    status_code,
)
from unibox import mail

__all__ = [
    "HARD",
    "NOT_A_BOUNCE",
    "REASONS",
    "SOFT",
    "Bounce",
    "BounceType",
    "Reason",
    "classify_reason",
    "parse_bounce",
    "parse_bounce_bytes",
    "status_code",
]

# At most this much of the server's answer is kept as the diagnostic.
MAX_DIAGNOSTIC = 1000


@dataclass(frozen=True, slots=True)
class Bounce:
    """What an incoming message says about a delivery failure (all None/empty if it is none).

    `recipient` is the failed address as the report gives it, its domain lower-cased;
    `recipients` holds every failed address, `recipient` first. `status` is an RFC 3463 code
    ("5.1.1"), from the report or read from its text; `reason` a name from `REASONS` (or
    "delayed", "temporary", "other"). The `original_*` fields are our email's headers as the
    report quotes them.
    """

    is_bounce: bool
    type: BounceType | None = None
    recipient: str | None = None
    status: str | None = None
    reason: str | None = None
    diagnostic: str = ""
    original_message_id: str | None = None
    original_in_reply_to: str | None = None
    original_references: tuple[str, ...] = ()
    recipients: tuple[str, ...] = field(default_factory=tuple)


NOT_A_BOUNCE = Bounce(is_bounce=False)


def _specific_status(reported: str | None, diagnostic: str) -> str | None:
    """The report's status unless it is unspecific ("5.0.0") and the answer has a better one."""
    if reported is not None and not reported.endswith(".0.0"):
        return reported
    found = [code for code in enhanced_codes(diagnostic) if code[0] in "45"]
    specific = [code for code in found if not code.endswith(".0.0")]
    return (specific or found)[0] if found else reported


def _best_status(
    reported: str | None, diagnostic: str, reason: str, failure_class: str | None
) -> str | None:
    """The status to report: the report's own when specific, else the most fitting code in
    the server's answer, else the one the reason stands for (class from the answer's SMTP
    reply, else the report's), else the report's unspecific one ("5.0.0")."""
    if reported is not None and not reported.endswith(".0.0"):
        return reported
    found = [code for code in enhanced_codes(diagnostic) if code[0] in "45"]
    known = REASONS_BY_NAME.get(reason)
    if found:
        if known is not None:
            for code in found:
                if code.split(".", 1)[1] in known.codes:
                    return code
        specific = [code for code in found if not code.endswith(".0.0")]
        return (specific or found)[0]
    if known is not None and known.infers_status and known.codes:
        basic = BASIC_REPLY_CODE.search(diagnostic)
        code_class = basic.group(1) if basic else (reported or "")[:1] or failure_class
        if code_class in ("4", "5"):
            return f"{code_class}.{known.codes[0]}"
    return reported


# --- Is it a report at all -------------------------------------------------------------------

_DAEMON_LOCAL = re.compile(
    r"mailer[-_.]?daemon|mail[-_.]?daemon|postmaster|mdaemon|mailadm(in)?|"
    r"mail[-_.]?delivery([-_.]?(system|subsystem|service))?|microsoftexchange[0-9a-f]{32}|"
    r"mail[-_.]?(router|administrator)|e500_smtp_mail_service",
    re.IGNORECASE,
)
_DAEMON_NAME = re.compile(
    r"mail(er)?[- ]?(delivery|daemon)|delivery (system|subsystem|service|status)|postmaster|"
    r"mail (administrator|router)|system administrator|courier mail server|"
    r"microsoft (outlook|exchange)|internet mail delivery",
    re.IGNORECASE,
)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|undelivered|non[- ]?deliver|returned mail|return(ed|ing) (mail|message)|"
    r"mail delivery (failed|failure|problem)|delivery (status notification|failure|failed|"
    r"problem|report|notification|has failed|delayed)|failure (notice|delivery)|failed mail|"
    r"mail (system error|not delivered)|could not be delivered|not (been )?delivered|"
    r"delayed mail|message delayed|warning: could not send|mail delivery warning|"
    r"unzustellbar|nicht zustellbar|zustellung (fehlgeschlagen|verzögert)|non remis|"
    r"non distribuable|no se puede entregar|non recapitabile|onbestelbaar|"
    r"não é possível entregar|kan inte levereras|nie można dostarczyć|недоставлен|"
    r"配信不能|配送エラー|配信エラー",
    re.IGNORECASE,
)
# "Re:", "Fwd:", "AW:", "WG:", "TR:", "RV:", "SV:", "VS:", "Antw:", "Odp:", "R:", "I:"…
_REPLY_PREFIX = re.compile(
    r"^\s*(re|fwd?|aw|wg|tr|rv|sv|vs|antw|odp|enc|res|r|i|ref|отв|пересл|回复|转发|返信|転送)"
    r"\s*(\[\d+\])?\s*[:\uff1a]",
    re.IGNORECASE,
)
_AUTO_REPLY_SUBJECT = re.compile(
    r"^\s*(automatic reply|auto(matic)?[- ]?(reply|response|antwort|matische antwort)|"
    r"out of (the )?office|abwesen|réponse automatique|absence|respuesta automática|"
    r"fuera de la oficina|risposta automatica|automatisch antwoord|afwezig|resposta automática|"
    r"autosvar|frånvaro|autoodpowiedź|автоответ|vacation)",
    re.IGNORECASE,
)

# A report says the mail failed…
_FAILURE_TEXT = re.compile(
    r"could ?n[o']t be delivered|was ?n[o']t delivered|were ?n[o']t delivered|undeliver|"
    r"delivery (to the following recipients? )?(has |have )?failed|failed permanently|"
    r"permanent(ly)? (fatal )?(error|failure)|permanent fatal|"
    r"(unable|not able|could ?n[o']t|could not|was ?n[o']t able|was not able|cannot) "
    r"(to )?deliver|can ?n[o']t be delivered|cannot be delivered|did not reach|"
    r"returned to (the )?sender|failed to deliver|delivery failure|non-delivery|"
    r"automatically rejected|the following address(es)? (had|failed)|"
    r"message (was )?(bounced|rejected)|"
    r"konnte nicht zugestellt|nicht zugestellt|zustellung .{0,60}fehlgeschlagen|"
    r"n'a (pas )?pu (être |etre )?(remis|d[ée]livr)|la remise .{0,60}a échoué|"
    r"no se (ha )?pudo entregar|no pudo ser entregado|"
    r"non è stato (possibile )?recapitat|non (è|e') stato consegnato|"
    r"kon niet (worden )?(bezorgd|afgeleverd)|bezorging .{0,40}mislukt|"
    r"não (pôde|pode) ser entregue|não foi possível entregar|kunde inte levereras|"
    r"nie (mógł|może|została?) .{0,20}dostarczon|не (может быть|было|удалось) доставлен|"
    r"配信できませんでした|届きませんでした|送信できませんでした|配信されませんでした|"
    r"配信に失敗しました",
)
# …or only that it is late and will be tried again.
_DELAY_TEXT = re.compile(
    r"warning (message )?only|do not need to resend|not yet been delivered|"
    r"has ?n[o']t been delivered yet|not delivered yet|"
    r"(will|shall) (continue to try|keep trying|be retried|retry|try again|continue trying)|"
    r"still (trying|being retried)|delivery attempts will continue|"
    r"(is|has been|was) delayed|delivery (is )?delayed|delayed \d+ (hours|days|minutes)|"
    r"could not send message for past|no action is required on your part|"
    r"zustellung .{0,30}verzögert|wird (weiterhin|erneut) versucht|"
    r"remise .{0,40}(retardée|différée)|entrega .{0,40}(retrasada|demorada)",
)
# A delay's subject, at its start ("Undeliverable: Delayed order" is a failure).
_DELAY_SUBJECT = re.compile(
    r"\s*(delayed mail|warning: (could not send|message)|mail delivery warning|message delayed|"
    r"delivery (status notification \(delay\)|delayed|is delayed)|zustellung verzögert|"
    r"remise (retardée|différée)|entrega (retrasada|demorada))",
    re.IGNORECASE,
)

# Where a report's own words end and our quoted email begins.
_ORIGINAL_STARTS = re.compile(
    r"^[ \t]*(?:-+ ?)?(?:"
    r"this is a copy of the message|below this line is a copy of the message|"
    r"original message (headers|follows|was|details)|-+ ?original message|"
    r"the original message (follows|headers|was\s*:)|returned message|message headers follow|"
    r"included is a copy of the message header|a copy of the original message|"
    r"the header of the original message|start of returned message|unsent message below|"
    r"original message headers|ursprüngliche nachrichtenkopfzeilen|"
    r"en-têtes de message d'origine|encabezados del mensaje original|"
    r"oorspronkelijke berichtkoppen|intestazioni originali del messaggio|"
    r"cabeçalhos da mensagem original|元のメッセージ ヘッダー|"
    r"(received|return-path|dkim-signature|message-id): )",
    re.IGNORECASE | re.MULTILINE,
)
# A line of the server's answer: an SMTP reply or an enhanced status code.
_ANSWER_LINE = re.compile(
    r"^.*(?:(?<![\d.])[45]\d\d(?: |-(?!\d))|(?<![\d.])#?[45]\.\d{1,3}\.\d{1,3}(?![\d.])).*$",
    re.MULTILINE,
)

# A dot-atom local part (no leading, trailing or doubled dot: "david...@" is no address).
_ATOM = r"[\w!#$%&'*+/=?^`{|}~-]+"
_ADDRESS = re.compile(rf"(?<![\w.!#$%&'*+/=?^`{{|}}~-]){_ATOM}(?:\.{_ATOM})*@(?:[\w-]+\.)+[\w-]+")
_MESSAGE_ID = re.compile(r"<[^<>\s]+@[^<>\s]+>")
_INLINE_MESSAGE_ID = re.compile(r"^[ \t>]*Message-ID:[ \t]*(<[^<>\s]+>)", re.IGNORECASE | re.M)
_HEADER_PARSER = email.parser.HeaderParser(policy=email.policy.compat32)


def normalize_address(value: str) -> str | None:
    """The first address in a text ("rfc822; <Jane@Example.COM>"), its domain lower-cased."""
    found = _ADDRESS.search(value)
    if found is None:
        return None
    local, _, domain = found.group().rpartition("@")
    return f"{local}@{domain.lower()}"


def _header(message: Message, name: str) -> str:
    """A header's value, encoded words decoded, on one line ("" when absent).

    Read from the raw value (see `_raw_headers`), so it costs no header object.
    """
    value = message.get(name)
    if value is None:
        return ""
    text = str(value)
    if "=?" in text:
        with suppress(ValueError, LookupError, UnicodeError, email.errors.HeaderParseError):
            text = str(make_header(decode_header(text)))
    return " ".join(text.split())


@contextmanager
def _raw_headers(message: Message) -> Iterator[None]:
    """While reading a message, every part of it answers header look-ups with the raw text
    the parser stored (the compat32 policy) instead of building a structured header object
    each time (the modern policy): those objects made reading a report about ten times
    slower, flufl.bounce's look-ups included, and nothing here needs them. Both policies
    store the same raw values, and the caller's policies are put back afterwards."""
    parts = list(message.walk())
    saved = [part.policy for part in parts]
    for part in parts:
        part.policy = email.policy.compat32
    try:
        yield
    finally:
        for part, policy in zip(parts, saved, strict=True):
            part.policy = policy


def _is_daemon(address: str) -> bool:
    return bool(_DAEMON_LOCAL.fullmatch(address.rpartition("@")[0]))


# --- Reading the parts -----------------------------------------------------------------------


@dataclass
class _Original:
    message_id: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    to: tuple[str, ...] = ()
    senders: tuple[str, ...] = ()


@dataclass
class _Parts:
    statuses: list[Message] = field(default_factory=list)
    dispositions: list[Message] = field(default_factory=list)
    feedback: bool = False
    originals: list[Message] = field(default_factory=list)
    texts: list[Message] = field(default_factory=list)


def _collect(message: Message) -> _Parts:
    """The report's parts, in order, without entering the messages it quotes."""
    parts = _Parts()
    stack: list[Message] = [message]
    while stack:
        part = stack.pop(0)
        kind = part.get_content_type()
        if kind in ("message/delivery-status", "message/global-delivery-status"):
            parts.statuses.append(part)
        elif kind in (
            "message/disposition-notification",
            "message/global-disposition-notification",
        ):
            parts.dispositions.append(part)
        elif kind == "message/feedback-report":
            parts.feedback = True
        elif kind in ("message/rfc822", "message/global", "text/rfc822-headers"):
            headers = _embedded_headers(part)
            if headers is not None:
                parts.originals.append(headers)
        elif part.is_multipart():
            children = part.get_payload()
            if isinstance(children, list):
                stack[0:0] = [child for child in children if isinstance(child, Message)]
        elif part.get_content_maintype() == "text":
            parts.texts.append(part)
    return parts


def _embedded_headers(part: Message) -> Message | None:
    payload = part.get_payload()
    if isinstance(payload, list):
        inner = next((item for item in payload if isinstance(item, Message)), None)
        if inner is not None and inner.keys():
            return inner
        return None
    # text/rfc822-headers, or a message/rfc822 part its sender encoded anyway.
    text = mail.part_text(part).lstrip("\r\n ")
    headers = _HEADER_PARSER.parsestr(text)
    return headers if headers.keys() else None


def _field_blocks(part: Message) -> list[Message]:
    """The header blocks of a delivery-status or disposition part."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [block for block in payload if isinstance(block, Message)]
    text = mail.part_text(part).replace("\r\n", "\n")
    return [_HEADER_PARSER.parsestr(block) for block in re.split(r"\n[ \t]*\n", text) if block]


# --- The report's text -----------------------------------------------------------------------


def _report_text(message: Message) -> tuple[str, str]:
    """The body as text, and its part before our quoted email."""
    text = mail.body_text(message)
    cut = _ORIGINAL_STARTS.search(text)
    return text, (text[: cut.start()] if cut else text)


def _answer(report: str) -> str:
    """The server's answer in a report's words: its lines with an SMTP reply or a status code
    (and the indented lines that continue them), else the line that names a reason."""
    lines = report.splitlines()
    kept: list[str] = []
    answers = 0
    index = 0
    while index < len(lines) and answers < 4:
        if _ANSWER_LINE.match(lines[index]):
            answers += 1
            kept.append(lines[index])
            index += 1
            while index < len(lines) and lines[index][:1] in (" ", "\t") and lines[index].strip():
                if _ANSWER_LINE.match(lines[index]):
                    break
                kept.append(lines[index])
                index += 1
            continue
        index += 1
    if not kept:
        # The line where the first reason (in the table's order) is named.
        lowered = report.lower()
        for reason in REASONS:
            found = reason.pattern.search(lowered)
            if found is not None:
                kept = [lines[lowered.count("\n", 0, found.start())]]
                break
    return _squeeze(" ".join(kept))


def _squeeze(text: str) -> str:
    return " ".join(text.split())[:MAX_DIAGNOSTIC]


# --- Our email inside the report --------------------------------------------------------------


def _original(message: Message, parts: _Parts, full_text: str, extra_ids: list[str]) -> _Original:
    """Our email's headers as the report holds them: attached, as a headers part, quoted
    inline, or at least its Message-ID named by the report's fields or headers."""
    for headers in parts.originals:
        found = _from_headers(headers)
        if found.message_id or found.to:
            if found.message_id is None:  # headers cut short, the Message-ID quoted elsewhere
                inline = _inline_original(message, parts, full_text)
                found.message_id = (inline.message_id if inline else None) or _first(extra_ids)
            return found
    inline = _inline_original(message, parts, full_text)
    if inline is not None:
        return inline
    # The report's own In-Reply-To, or the last of its References (Gmail, Exim, Exchange).
    replied = _MESSAGE_ID.findall(_header(message, "in-reply-to"))
    referred = _MESSAGE_ID.findall(_header(message, "references"))[-1:]
    return _Original(message_id=_first(extra_ids) or _first(replied) or _first(referred))


def _first(values: list[str]) -> str | None:
    return values[0] if values else None


def _from_headers(headers: Message) -> _Original:
    ids = _MESSAGE_ID.findall(_header(headers, "message-id"))
    return _Original(
        message_id=_first(ids),
        in_reply_to=_first(_MESSAGE_ID.findall(_header(headers, "in-reply-to"))),
        references=tuple(_MESSAGE_ID.findall(_header(headers, "references"))),
        to=_addresses(headers, "to", "cc"),
        senders=_addresses(headers, "from", "sender", "return-path", "reply-to"),
    )


def _addresses(headers: Message, *names: str) -> tuple[str, ...]:
    values = [_header(headers, name) for name in names]
    found = []
    for _, address in getaddresses([value for value in values if value]):
        normal = normalize_address(address)
        if normal is not None:
            found.append(normal)
    return tuple(found)


def _text_parts(parts: _Parts, full_text: str) -> Iterator[str]:
    """The body, then every text part (an attached copy of our email may be one)."""
    yield full_text
    for part in parts.texts:
        if part.get_content_type() == "text/plain":
            yield mail.part_text(part).replace("\r\n", "\n")


def _inline_original(message: Message, parts: _Parts, full_text: str) -> _Original | None:
    """Headers quoted in the text: the block of lines around a "Message-ID:" line."""
    own = _header(message, "message-id")
    for text in _text_parts(parts, full_text):
        for found in _INLINE_MESSAGE_ID.finditer(text):
            if found.group(1) in own:
                continue
            start = text.rfind("\n\n", 0, found.start())
            end = text.find("\n\n", found.end())
            block = text[start + 2 if start >= 0 else 0 : end if end >= 0 else len(text)]
            lines = [re.sub(r"^(> ?)+", "", line) for line in block.split("\n")]
            indent = min(
                (len(line) - len(line.lstrip(" \t")) for line in lines if line.strip()), default=0
            )
            block = "\n".join(line[indent:] for line in lines) + "\n"
            original = _from_headers(_HEADER_PARSER.parsestr(block))
            original.message_id = found.group(1)
            return original
    return None


# --- Recipients --------------------------------------------------------------------------------


def _text_recipients(report: str, excluded: set[str]) -> list[str]:
    """Addresses a report's own words name, in order, less its own parties and daemons."""
    found: list[str] = []
    for match in _ADDRESS.finditer(report):
        line_start = report.rfind("\n", 0, match.start()) + 1
        if "message-id" in report[line_start : match.start()].lower():
            continue
        address = normalize_address(match.group())
        if address is None or address.lower() in excluded or _is_daemon(address):
            continue
        if address not in found:
            found.append(address)
    return found


def _library_recipients(message: Message, report: str) -> tuple[list[str], bool]:
    """flufl.bounce's failed addresses, in the order the report names them, and whether they
    are only delayed."""
    try:
        temporary, permanent = all_failures(message)
    except Exception:  # a detector tripping on odd input must not stop the inbox
        return [], False
    addresses = []
    for raw in (*permanent, *temporary):
        address = normalize_address(raw.decode("ascii", "replace"))
        if address is not None and address not in addresses:
            addresses.append(address)
    lowered = report.lower()

    def position(address: str) -> int:
        at = lowered.find(address.lower())
        return at if at >= 0 else len(lowered)

    return sorted(addresses, key=position), bool(temporary) and not permanent


def _pick(candidates: list[str], original: _Original) -> list[str]:
    """The candidates, our email's own recipient first when it is among them."""
    for address in original.to:
        for candidate in candidates:
            if candidate.lower() == address.lower():
                return [candidate, *(other for other in candidates if other is not candidate)]
    return candidates


def _parties(message: Message) -> set[str]:
    names = ("from", "to", "cc", "sender", "reply-to", "return-path", "delivered-to")
    return {address.lower() for address in _addresses(message, *names, "x-original-to")}


# --- The detector ------------------------------------------------------------------------------


def parse_bounce_bytes(raw: bytes) -> Bounce:
    """`parse_bounce` on raw bytes; raises `mail.UnreadableMessage` when they are no email."""
    return parse_bounce(mail.parse(raw))


def parse_bounce(message: EmailMessage) -> Bounce:
    """What `message` says about a delivery failure; `NOT_A_BOUNCE` when it is not a report of
    one (see the module's docstring for how it is read)."""
    with _raw_headers(message):
        return _read(message)


def _read(message: Message) -> Bounce:
    parts = _collect(message)
    if parts.feedback or _report_type(message) == "feedback-report":
        return NOT_A_BOUNCE
    if parts.statuses:
        found = _from_delivery_status(message, parts)
        if found is not None:
            return found
    if parts.dispositions:
        return _from_disposition(message, parts)
    return _from_words(message, parts)


def _report_type(message: Message) -> str:
    if message.get_content_type() != "multipart/report":
        return ""
    value = message.get_param("report-type")
    return value.lower() if isinstance(value, str) else ""


@dataclass
class _Failure:
    recipient: str | None
    status: str | None
    diagnostic: str


def _from_delivery_status(message: Message, parts: _Parts) -> Bounce | None:
    """An RFC 3464 report: None when its fields say nothing readable (read as words then)."""
    failed: list[_Failure] = []
    delayed: list[_Failure] = []
    fine = 0
    message_ids: list[str] = []
    for part in parts.statuses:
        for block in _field_blocks(part):
            message_ids += _MESSAGE_ID.findall(_header(block, "x-original-message-id"))
            action = _header(block, "action").lower()
            status = status_code(_header(block, "status"))
            recipient = normalize_address(_header(block, "original-recipient")) or (
                normalize_address(_header(block, "final-recipient"))
            )
            if not action and not status and recipient is None:
                continue  # the per-message block
            diagnostic = _header(block, "diagnostic-code")
            diagnostic = _squeeze(re.sub(r"^\s*[\w-]+\s*;\s*", "", diagnostic))
            failure = _Failure(recipient, status, diagnostic)
            if action.startswith(("fail", "error", "bounce", "reject")):
                failed.append(failure)
            elif action.startswith("delay"):
                delayed.append(failure)
            elif action.startswith(("deliver", "relay", "expand")):
                fine += 1
            elif not action and status is not None and status[0] == "5":
                failed.append(failure)
            elif not action and status is not None and status[0] == "4":
                delayed.append(failure)
            elif status is not None and status[0] == "2":
                fine += 1
    if not failed and not delayed:
        return NOT_A_BOUNCE if fine else None
    full_text, report = _report_text(message)
    original = _original(message, parts, full_text, message_ids)
    chosen = failed or delayed
    by_recipient = {failure.recipient: failure for failure in chosen if failure.recipient}
    recipients = _pick(list(by_recipient), original)
    if not recipients:
        recipients = _fallback_recipients(message, report, original)
    first = by_recipient.get(recipients[0]) if recipients else None
    failure = first or chosen[0]
    diagnostic = failure.diagnostic or _answer(report)
    return _bounce(
        failure.status,
        diagnostic,
        report,
        recipients,
        original,
        delayed=not failed,
        failure_class="5" if failed else "4",
    )


def _from_disposition(message: Message, parts: _Parts) -> Bounce:
    """A disposition notification is a read receipt, except a mail server's automatic
    rejection ("deleted", with the reason in its words), which some send for a full mailbox."""
    for part in parts.dispositions:
        for block in _field_blocks(part):
            disposition = _header(block, "disposition").lower()
            if not re.search(r"\b(deleted|denied|failed|error)\b", disposition):
                continue
            full_text, report = _report_text(message)
            if not _FAILURE_TEXT.search(report.lower()):
                continue
            ids = _MESSAGE_ID.findall(_header(block, "original-message-id"))
            original = _original(message, parts, full_text, ids)
            recipient = normalize_address(_header(block, "final-recipient")) or (
                normalize_address(_header(block, "original-recipient"))
            )
            recipients = [recipient] if recipient else []
            return _bounce(
                None,
                _answer(report),
                report,
                recipients,
                original,
                delayed=False,
                failure_class="5",
            )
    return NOT_A_BOUNCE


def _looks_like_report(message: Message) -> bool:
    """Sent as a mail server sends its reports, and not a reply or a forward."""
    if message.get("x-failed-recipients") is not None or _report_type(message) == "delivery-status":
        return True
    subject = _header(message, "subject")
    if _REPLY_PREFIX.match(subject) or _AUTO_REPLY_SUBJECT.match(subject):
        return False
    if _BOUNCE_SUBJECT.search(subject):
        return True
    sender = _header(message, "from")
    pairs = getaddresses([sender]) if sender else []
    # A daemon's name or address, or the null address ("Mail Error" <>).
    return "<>" in sender or any(
        _DAEMON_NAME.search(name) or _is_daemon(address) for name, address in pairs
    )


def _from_words(message: Message, parts: _Parts) -> Bounce:
    """A report in a mail server's own words (Exim, qmail, Domino, old Exchange, Yahoo…)."""
    if not _looks_like_report(message):
        return NOT_A_BOUNCE
    full_text, report = _report_text(message)
    lowered = report.lower()
    subject = _header(message, "subject")
    delayed = bool(_DELAY_TEXT.search(lowered) or _DELAY_SUBJECT.match(subject))
    failed = [
        address
        for address in (
            normalize_address(value) for value in _header(message, "x-failed-recipients").split(",")
        )
        if address is not None
    ]
    library: list[str] = []
    if not failed:
        library, library_delay = _library_recipients(message, report)
        delayed = delayed or library_delay
    if not (failed or library or delayed or _FAILURE_TEXT.search(lowered)):
        return NOT_A_BOUNCE
    original = _original(message, parts, full_text, [])
    candidates = (
        failed or _pick(library, original) or _fallback_recipients(message, report, original)
    )
    diagnostic = _answer(report)
    return _bounce(
        None,
        diagnostic,
        report,
        candidates,
        original,
        delayed=delayed,
        failure_class="4" if delayed else "5",
    )


def _fallback_recipients(message: Message, report: str, original: _Original) -> list[str]:
    excluded = _parties(message) | {address.lower() for address in original.senders}
    found = _pick(_text_recipients(report, excluded), original)
    if not found and len(original.to) == 1:
        found = list(original.to)
    return found


def _bounce(
    status: str | None,
    diagnostic: str,
    report: str,
    recipients: list[str],
    original: _Original,
    *,
    delayed: bool,
    failure_class: str,
) -> Bounce:
    specific = _specific_status(status, diagnostic)
    type_, reason = classify_reason(specific, (diagnostic, _squeeze(report)), delayed=delayed)
    return Bounce(
        is_bounce=True,
        type=type_,
        recipient=recipients[0] if recipients else None,
        status=_best_status(status, diagnostic, reason, failure_class),
        reason=reason,
        diagnostic=diagnostic,
        original_message_id=original.message_id,
        original_in_reply_to=original.in_reply_to,
        original_references=original.references,
        recipients=tuple(recipients),
    )
