"""Reading an incoming email: the parsed message and its body as text, never raising on
what real mail holds (unknown charsets, broken encodings, HTML-only bodies).

The mail-understanding modules (`bounces`, `auto_replies`, `reply_text`, `classify`) all
start here, so each reads a message the same way. Nothing here touches the database or
the network.
"""

import email
import email.policy
import re
from email.message import EmailMessage, Message
from html import unescape
from html.parser import HTMLParser

# A message larger than this is read only up to it: nothing a person writes is that long,
# and the parsers' time grows with the size.
MAX_MESSAGE_BYTES = 25 * 1024 * 1024


class UnreadableMessage(ValueError):
    """The bytes are not an email (empty, or no header at all)."""


def parse(raw: bytes) -> EmailMessage:
    """The message as the standard library's modern API reads it (`email.policy.default`).

    Raises UnreadableMessage for an empty file or one without a single header line.
    """
    raw = raw[:MAX_MESSAGE_BYTES]
    if not raw.strip():
        raise UnreadableMessage("the file is empty")
    message = email.message_from_bytes(raw, policy=email.policy.default)
    if not message.keys():
        raise UnreadableMessage("no email headers found")
    assert isinstance(message, EmailMessage)
    return message


def header(message: Message, name: str) -> str:
    """A header's value as text, "" when absent or unreadable (a malformed encoded word)."""
    try:
        value = message.get(name)
    except (ValueError, LookupError, IndexError, TypeError):
        return ""
    return "" if value is None else " ".join(str(value).split())


def part_text(part: Message) -> str:
    """A text part's content, decoded by its charset; an unknown or lying charset falls back
    to UTF-8, then Windows-1252, replacing what still does not decode."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        inner = part.get_payload()
        return inner if isinstance(inner, str) else ""
    declared = part.get_content_charset() or "utf-8"
    for charset in (declared, "utf-8"):
        try:
            return payload.decode(charset)
        except (LookupError, UnicodeDecodeError):
            continue
    return payload.decode("cp1252", errors="replace")


def _is_attachment(part: Message) -> bool:
    return part.get_content_disposition() == "attachment"


def body_parts(message: Message) -> tuple[str | None, str | None]:
    """The message's own first text/plain and text/html contents (None where absent).

    Attachments and embedded messages (a forwarded `message/rfc822`, the original inside a
    bounce) are not the message's own body and are not entered.
    """
    plain: str | None = None
    html: str | None = None
    stack: list[Message] = [message]
    while stack:
        part = stack.pop(0)
        if part.is_multipart():
            if part.get_content_maintype() == "message":
                continue
            children = part.get_payload()
            if isinstance(children, list):
                stack[0:0] = [child for child in children if isinstance(child, Message)]
            continue
        if _is_attachment(part):
            continue
        kind = part.get_content_type()
        if kind == "text/plain" and plain is None:
            plain = part_text(part)
        elif kind == "text/html" and html is None:
            html = part_text(part)
    return plain, html


def body_text(message: Message) -> str:
    """The body as a person reads it: the text part, else the HTML part as text.

    Line ends are "\\n".
    """
    plain, html = body_parts(message)
    if plain is not None and plain.strip():
        text = plain
    elif html is not None:
        text = html_to_text(html)
    else:
        text = plain or ""
    return text.replace("\r\n", "\n").replace("\r", "\n")


# --- HTML as text ---------------------------------------------------------------------------

_BLOCKS = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "dd",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "tr",
        "ul",
    ]
)
_SKIPPED = frozenset({"script", "style", "head", "title", "template", "noscript"})
_SPACES = re.compile(r"[ \t\f\v\xa0\u200b]+")
_BLANK_LINES = re.compile(r"\n{3,}")


class _TextWriter(HTMLParser):
    """Text from HTML: blocks and `<br>` as line breaks, `<blockquote>` lines quoted with
    "> " (as a text client quotes), list items as "- ", cells apart, the rest as written."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.quote_depth = 0
        self.skipping = 0
        self.preformatted = 0

    def _break(self) -> None:
        line = "".join(self.current)
        if not self.preformatted:
            line = _SPACES.sub(" ", line).strip()
        self.lines.append("> " * self.quote_depth + line if line else "")
        self.current = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self.skipping += 1
        elif tag == "br":
            self._break()
        elif tag in _BLOCKS:
            if self.current:
                self._break()
            if tag == "blockquote":
                self.quote_depth += 1
            elif tag == "pre":
                self.preformatted += 1
            elif tag == "li":
                self.current.append("- ")
        elif tag in ("td", "th") and self.current:
            self.current.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCKS:
            if self.current:
                self._break()
            if tag == "blockquote":
                self.quote_depth = max(0, self.quote_depth - 1)
            elif tag == "pre":
                self.preformatted = max(0, self.preformatted - 1)
            elif tag in ("p", "div", "blockquote", "table") and self.lines and self.lines[-1]:
                self.lines.append("")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        if self.preformatted:
            for position, piece in enumerate(data.split("\n")):
                if position:
                    self._break()
                self.current.append(piece)
            return
        self.current.append(data.replace("\n", " ").replace("\r", " "))

    def text(self) -> str:
        if self.current:
            self._break()
        text = "\n".join(line.rstrip() for line in self.lines)
        return _BLANK_LINES.sub("\n\n", text).strip("\n")


def html_to_text(html: str) -> str:
    """Readable text from any HTML a mail client sends; never raises."""
    writer = _TextWriter()
    try:
        writer.feed(html)
        writer.close()
    except (AssertionError, ValueError):  # HTMLParser on badly broken markup
        return unescape(re.sub(r"<[^>]*>", " ", html)).strip()
    return writer.text()
