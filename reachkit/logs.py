"""Log formatting: one logfmt line per event, with secrets scrubbed from every line."""

import logging
import re
from datetime import UTC, datetime
from typing import Any

_API_KEY_PARAM = re.compile(r"(?i)(api_key=)[^&\s\"']*")
_API_KEY_TOKEN = re.compile(r"\b(rk_[a-z0-9]{8}_)[A-Za-z0-9_\-]+")
_STANDARD_ATTRS = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def scrub_secrets(text: str) -> str:
    """Replace API keys, in a query string or anywhere else, with a redacted form."""
    text = _API_KEY_PARAM.sub(r"\1[redacted]", text)
    return _API_KEY_TOKEN.sub(r"\1[redacted]", text)


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
