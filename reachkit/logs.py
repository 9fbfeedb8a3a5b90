"""Log formatting: one logfmt line per event, with secrets scrubbed from every line."""

import logging
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote_plus

REDACTED = "[redacted]"
_API_KEY_PARAM = re.compile(r"(?i)(api_key=)[^&\s\"']*")
# The prefix stays readable (it names the key); case-insensitive, and not only at a word
# boundary, so `x_rk_…` or an upper-cased key is caught as well.
_API_KEY_TOKEN = re.compile(r"(?i)(rk_[0-9a-f]{8}_)[a-z0-9_\-]+")
# A parameter named like one of these, however spelled (`API-Key`, `apiKey`), is a secret.
_SECRET_NAMES = ("apikey", "token", "secret", "password")
_STANDARD_ATTRS = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def scrub_secrets(text: str) -> str:
    """Replace API keys, in a query string or anywhere else, with a redacted form."""
    text = _API_KEY_PARAM.sub(rf"\1{REDACTED}", text)
    return _API_KEY_TOKEN.sub(rf"\1{REDACTED}", text)


def _fully_decoded(text: str) -> str:
    """Percent-decoded until nothing changes: `%2572%256B` hides `rk` behind two layers."""
    for _ in range(5):
        decoded = unquote_plus(text, errors="replace")
        if decoded == text:
            break
        text = decoded
    return text


def _is_secret_name(name: str) -> bool:
    folded = re.sub(r"[\W_]", "", _fully_decoded(name).casefold())
    return any(secret in folded for secret in _SECRET_NAMES)


def loggable_url(path: str, params: Iterable[tuple[str, list[str]]]) -> str:
    """The request's path and query for a log line, with API keys redacted.

    `params` are the query's parameters as Django decoded them (`request.GET.lists()`), so
    a key however encoded (`api%5Fkey=%72%6B…` authenticates) is seen for what it is; each
    is decoded again until stable to catch layers a client added. A secret-named parameter
    (any case or spelling) loses its value, key-shaped text anywhere is redacted, and the
    rest is percent-encoded again: no raw control character reaches the log either.
    """
    line = quote(scrub_secrets(_fully_decoded(path)), safe="/:@!$'()*,;=~[]")
    shown = []
    for name, values in params:
        shown_name = quote(scrub_secrets(_fully_decoded(name)), safe="[]")
        for value in values:
            if _is_secret_name(name):
                shown.append(f"{shown_name}={REDACTED}")
            else:
                shown.append(
                    f"{shown_name}={quote(scrub_secrets(_fully_decoded(value)), safe='[]')}"
                )
    return f"{line}?{'&'.join(shown)}" if shown else line


class ScrubSecretsFilter(logging.Filter):
    """Rewrites each record's message so no handler ever sees an API key."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = scrub_secrets(message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, ()
        for name, value in _extra_fields(record).items():
            if isinstance(value, str):
                setattr(record, name, scrub_secrets(value))
        return True


def _extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """Extras passed with `extra={…}`; objects (Django's `request`, sockets) are left out."""
    return {
        key: value
        for key, value in record.__dict__.items()
        if key not in _STANDARD_ATTRS and isinstance(value, str | int | float | bool | None)
    }


def _logfmt_value(value: Any) -> str:
    text = "" if value is None else str(value)
    if text == "" or any(ch in text for ch in ' ="\n\t'):
        escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    return text


class LogfmtFormatter(logging.Formatter):
    """`ts=… level=… logger=… msg=… key=value…`, extras passed with `extra={…}`."""

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields.update(_extra_fields(record))
        line = " ".join(f"{key}={_logfmt_value(value)}" for key, value in fields.items())
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return scrub_secrets(line)
