"""Reading an incoming email: the parsed message and its body as text, never raising on
what real mail holds (unknown charsets, broken encodings, HTML-only bodies).

The mail-understanding modules (`bounces`, `auto_replies`, `reply_text`, `classify`) all
start here, so each reads a message the same way. Nothing here touches the database or
the network.
"""

import email
import email.policy
import functools
import re
from email.message import EmailMessage, Message
from email.policy import EmailPolicy
from html import unescape
from html.parser import HTMLParser

# A message larger than this is read only up to it: nothing a person writes is that long,
# and the parsers' time grows with the size.
MAX_MESSAGE_BYTES = 25 * 1024 * 1024


# Headers longer than this are parsed each time rather than kept: the cache holds 4,096
# entries, and a message may carry megabytes of headers.
_MAX_CACHED_HEADER = 1_000
# A header is read up to this many characters. The standard library's parser of addresses
# and parameters takes time that grows with the square of some values' length (a To: of
# 200,000 quotes takes minutes, and a sync that times out on a message reads it again on
# every pass); 100 addresses or a long References chain fit.
MAX_HEADER_CHARS = 4_000


@functools.lru_cache(maxsize=4096)
def _parsed_header(name: str, value: str) -> str:
    return email.policy.default.header_fetch_parse(name, value)


class _RememberingPolicy(EmailPolicy):
    """`email.policy.default`, remembering the headers it has parsed (a header object is
    immutable): the standard library parses a header again on every access, and the parser
    itself and every `get_content_type()` ask for each part's Content-Type again, which made
    that parsing most of the time spent reading a message."""

    def header_fetch_parse(self, name: str, value: str) -> str:
        if hasattr(value, "name"):
            return value
        value = value[:MAX_HEADER_CHARS]
        try:
            if len(value) > _MAX_CACHED_HEADER:
                return email.policy.default.header_fetch_parse(name, value)
            return _parsed_header(name, value)
        except RecursionError:  # comments nested a thousand deep: the text as it came
            return " ".join(value.split())


_POLICY = _RememberingPolicy()


class UnreadableMessage(ValueError):
    """The bytes are not an email (empty, or no header at all)."""


def parse(raw: bytes) -> EmailMessage:
    """The message as the standard library's modern API reads it (`email.policy.default`,
    each header parsed once).

    Raises UnreadableMessage for an empty file or one without a single header line.
    """
    raw = raw[:MAX_MESSAGE_BYTES]
    if not raw.strip():
        raise UnreadableMessage("the file is empty")
    message = email.message_from_bytes(raw, policy=_POLICY)
    if not message.keys():
        raise UnreadableMessage("no email headers found")
    assert isinstance(message, EmailMessage)
    return message


def header(message: Message, name: str) -> str:
    """A header's value as text, "" when absent or unreadable (a malformed encoded word).

    Without NUL, which no header may hold (RFC 5322) and PostgreSQL refuses in a query or a
    row: what is read from a header is looked up and stored."""
    try:
        value = message.get(name)
    except (ValueError, LookupError, IndexError, TypeError):
        return ""
    return "" if value is None else " ".join(str(value).replace("\x00", "").split())


def part_text(part: Message) -> str:
    """A text part's content, decoded by its charset; an unknown or lying charset falls back
    to UTF-8, then Windows-1252, replacing what still does not decode. A format=flowed part
    (RFC 3676) is joined back into the lines its writer typed."""
    text = _decoded(part)
    if part.get_content_type() == "text/plain":
        params = {name.lower(): value for name, value in part.get_params() or []}
        if str(params.get("format", "")).lower() == "flowed":
            return unflow(text, delete_space=str(params.get("delsp", "")).lower() == "yes")
    return text


def _decoded(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        inner = part.get_payload()
        return inner if isinstance(inner, str) else ""
    declared = part.get_content_charset() or "utf-8"
    for charset in (declared, "utf-8"):
        try:
            return payload.decode(charset)
        except (LookupError, ValueError):  # unknown, lying, or a NUL byte in the name
            continue
    return payload.decode("cp1252", errors="replace")


def unflow(text: str, *, delete_space: bool = False) -> str:
    """RFC 3676 format=flowed text as the lines its writer typed: a line ending in a space
    goes on with the next line of the same quote depth; space-stuffing is undone; "-- " (the
    signature separator) stays a line of its own."""
    out: list[str] = []
    paragraph: str | None = None
    depth_of_paragraph = 0

    def flush() -> None:
        nonlocal paragraph
        if paragraph is not None:
            prefix = ">" * depth_of_paragraph
            out.append(prefix + (" " if prefix and paragraph else "") + paragraph)
            paragraph = None

    for line in text.replace("\r\n", "\n").split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        if content.startswith(" "):
            content = content[1:]
        if content == "-- ":
            flush()
            out.append(">" * depth + (" " if depth else "") + content)
            continue
        soft = content.endswith(" ")
        if soft and delete_space:
            content = content[:-1]
        if paragraph is not None and depth == depth_of_paragraph:
            paragraph += content
        else:
            flush()
            paragraph, depth_of_paragraph = content, depth
        if not soft:
            flush()
    flush()
    return "\n".join(out)


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
# Blocks a browser sets apart with a margin (a blank line in text); a <div> has none, so
# "<div>a</div><div>b</div>" is two lines, and a client's "<div><br></div>" the blank line.
_SPACED = frozenset(["p", "blockquote", "table", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6"])
_SPACES = re.compile(r"[ \t\f\v\xa0\u200b\ufeff]+")
_BLANK_LINES = re.compile(r"\n{3,}")
# Outlook's paragraphs (Word's "MsoNormal" style) and inline "margin:0" paragraphs have no
# margin: one line each, the blank lines are paragraphs of their own.
_TIGHT_CLASSES = frozenset({"MsoNormal", "MsoPlainText", "MsoAutoSig"})
_NO_MARGIN = re.compile(
    r"margin(?:-bottom)?\s*:\s*0(?:\.0+)?[a-z%]*(?:\s+0(?:\.0+)?[a-z%]*){0,3}\s*(?:;|!|$)", re.I
)

# Where mail clients mark quoted history in their HTML, read when `html_to_text` is asked to
# mark quotes (`reply_text` uses it). An attribution container ("On … wrote:") becomes the
# line QUOTE_HEADER; from a history container on, the rest of the document (the earlier
# message, whatever its markup) becomes the single line QUOTED_HISTORY.
QUOTE_HEADER = "\ue000"
QUOTED_HISTORY = "\ue001"
_ATTRIBUTION_CLASSES = frozenset({"gmail_attr", "moz-cite-prefix"})
_HISTORY_IDS = frozenset(
    {
        "appendonsend",  # Outlook on the web, new Outlook: just before the reply header
        "divRplyFwdMsg",  # Outlook on the web, Outlook mobile: the reply header
        "mail-editor-reference-message-container",  # new Outlook
        "OLK_SRC_BODY_SECTION",  # Outlook for Mac
        "zwchr",  # Zimbra's divider
    }
)
_HISTORY_CLASSES = frozenset({"moz-forward-container", "protonmail_quote", "OutlookMessageHeader"})
# Outlook for Windows sets its reply header apart with a thin top border.
_OUTLOOK_HEADER_BORDER = re.compile(
    r"border-top\s*:\s*solid\s+#(?:e1e1e1|b5c4df)\s+1(?:\.0)?pt", re.I
)


def _history_starts(tag: str, attrs: dict[str, str]) -> bool:
    element_id = attrs.get("id", "")
    classes = attrs.get("class", "")
    return (
        element_id in _HISTORY_IDS
        or element_id.startswith("divRpF")  # Outlook Web App 2010-2016
        or "yahoo_quoted" in classes  # Yahoo prefixes it: "ydp3f6e…yahoo_quoted"
        or not _HISTORY_CLASSES.isdisjoint(classes.split())
        or attrs.get("data-marker") == "__DIVIDER__"  # Zimbra
        or (tag == "div" and attrs.get("name") == "quote")  # GMX, WEB.DE
        or (tag == "div" and _OUTLOOK_HEADER_BORDER.search(attrs.get("style", "")) is not None)
    )


class _TextWriter(HTMLParser):
    """Text from HTML: blocks and `<br>` as line breaks, `<blockquote>` lines quoted with
    "> " (as a text client quotes), list items as "- ", cells apart, the rest as written.

    With `mark_quotes`, clients' own marks of quoted history become QUOTE_HEADER and
    QUOTED_HISTORY lines (see above); quoted lines themselves are "> " lines either way.
    """

    def __init__(self, *, mark_quotes: bool = False) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.quote_depth = 0
        self.skipping = 0
        self.preformatted = 0
        self.tight_paragraph = False
        self.mark_quotes = mark_quotes
        self.done = False  # the rest of the document is quoted history
        self.hidden: list[str] = []  # [tag, …] of an attribution container being replaced

    def _break(self) -> None:
        line = "".join(self.current)
        if not self.preformatted:
            line = _SPACES.sub(" ", line).strip()
        if line:
            self.lines.append("> " * self.quote_depth + line)
        else:
            self.lines.append(">" * self.quote_depth)
        self.current = []

    def _end_line(self) -> None:
        """Ends the line being written, unless it holds nothing but collapsible white space (a
        no-break space is kept: "<p>&nbsp;</p>" is Outlook's blank line)."""
        if self.current:
            if self.preformatted or "".join(self.current).strip(" \t\n\r\f\v\u200b"):
                self._break()
            else:
                self.current = []

    def _blank_line(self) -> None:
        if self.lines and self.lines[-1]:
            self.lines.append("")

    def _mark(self, tag: str, attrs: list[tuple[str, str | None]]) -> bool:
        """Replaces a client's quote marks; True when the tag was one."""
        if self.quote_depth or self.skipping:
            return False
        values = {name: value or "" for name, value in attrs}
        if _history_starts(tag, values):
            self._end_line()
            self._blank_line()
            self.lines.append(QUOTED_HISTORY)
            self.done = True
            return True
        if not _ATTRIBUTION_CLASSES.isdisjoint(values.get("class", "").split()):
            self._end_line()
            self._blank_line()
            self.lines.append(QUOTE_HEADER)
            self.hidden = [tag]
            return True
        return False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.done:
            return
        if self.hidden:
            if tag == self.hidden[0] and tag not in ("br", "hr", "img"):
                self.hidden.append(tag)
            return
        if self.mark_quotes and self._mark(tag, attrs):
            return
        if tag in _SKIPPED:
            self.skipping += 1
        elif tag == "br":
            self._break()
        elif tag in _BLOCKS:
            self._end_line()
            if tag == "blockquote":
                self.quote_depth += 1
            elif tag == "pre":
                self.preformatted += 1
            elif tag == "li":
                self.current.append("- ")
            elif tag == "p":
                values = {name: value or "" for name, value in attrs}
                self.tight_paragraph = not _TIGHT_CLASSES.isdisjoint(
                    values.get("class", "").split()
                ) or bool(_NO_MARGIN.search(values.get("style", "")))
            elif tag == "div" and any(
                name == "class" and value and ("gmail_quote" in value or "moz-cite" in value)
                for name, value in attrs
            ):
                self._blank_line()  # the quoted history, set apart
        elif tag in ("td", "th") and self.current:
            self.current.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if self.done:
            return
        if self.hidden:
            if tag == self.hidden[0]:
                self.hidden.pop()
            return
        if tag in _SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCKS:
            self._end_line()
            if tag == "blockquote":
                self.quote_depth = max(0, self.quote_depth - 1)
            elif tag == "pre":
                self.preformatted = max(0, self.preformatted - 1)
            if tag in _SPACED and not (tag == "p" and self.tight_paragraph):
                self._blank_line()

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_comment(self, data: str) -> None:
        # Samsung Email marks the quoted message with a comment.
        if (
            self.mark_quotes
            and not (self.quote_depth or self.done or self.hidden)
            and data.strip() == "originalMessage"
        ):
            self._end_line()
            self._blank_line()
            self.lines.append(QUOTED_HISTORY)
            self.done = True

    def handle_data(self, data: str) -> None:
        if self.skipping or self.done or self.hidden:
            return
        if self.preformatted:
            for position, piece in enumerate(data.split("\n")):
                if position:
                    self._break()
                self.current.append(piece)
            return
        self.current.append(data.replace("\n", " ").replace("\r", " "))

    def text(self) -> str:
        self._end_line()
        text = "\n".join(line.rstrip() for line in self.lines)
        return _BLANK_LINES.sub("\n\n", text).strip("\n")


def html_to_text(html: str, *, mark_quotes: bool = False) -> str:
    """Readable text from any HTML a mail client sends; never raises.

    With `mark_quotes`, the quoted history that a client marks in its HTML (Gmail's
    attribution, Outlook's reply header, Yahoo's, Zimbra's, Thunderbird's…) shows as the
    QUOTE_HEADER and QUOTED_HISTORY lines, for `reply_text` to cut.
    """
    writer = _TextWriter(mark_quotes=mark_quotes)
    try:
        writer.feed(html)
        writer.close()
    except (AssertionError, ValueError):  # HTMLParser on badly broken markup
        return unescape(re.sub(r"<[^>]*>", " ", html)).strip()
    return writer.text()
