"""An attachment's download: its stored bytes, never rendered by the browser as a page.

The `Content-Type` is the one the sender gave when it is a plain `type/subtype`, else
`application/octet-stream`; the file always comes as an attachment (`Content-Disposition:
attachment`, RFC 6266) with its name, in `filename*` (RFC 5987, UTF-8) when it is not
plain ASCII, and a sandboxing CSP: an HTML or SVG file from a stranger cannot run as the
API's own origin.
"""

import logging
import re
import unicodedata
from urllib.parse import quote

from django.http import FileResponse

from unibox.models import Attachment

logger = logging.getLogger("reachkit.unibox")

_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}")
# What a file name may not hold in a header or on a disk: controls, separators, quotes.
_NOT_IN_NAME = re.compile(r'[\x00-\x1f\x7f-\x9f\u2028\u2029/\\"]')
MAX_NAME_LENGTH = 200


def content_type_of(attachment: Attachment) -> str:
    value = attachment.content_type.strip().lower()
    return value if _MEDIA_TYPE.fullmatch(value) else "application/octet-stream"


def safe_filename(name: str) -> str:
    """The name with nothing a header or a file system would misread; "attachment" if none."""
    cleaned = _NOT_IN_NAME.sub("_", unicodedata.normalize("NFC", name)).strip(" .")
    cleaned = cleaned.encode("utf-8", "replace").decode("utf-8")[:MAX_NAME_LENGTH]
    return cleaned or "attachment"


def content_disposition(name: str) -> str:
    """`attachment; filename="…"` and, for a name that is not plain ASCII, `filename*`."""
    name = safe_filename(name)
    ascii_name = name.encode("ascii", "replace").decode("ascii").replace("?", "_")
    header = f'attachment; filename="{ascii_name}"'
    if ascii_name != name:
        header += f"; filename*=UTF-8''{quote(name, safe='')}"
    return header


def file_response(attachment: Attachment) -> FileResponse | None:
    """The attachment's bytes as a response, or None when its file is missing from storage."""
    name = attachment.file.name
    if not name:
        return None
    try:
        handle = attachment.file.storage.open(name, "rb")
    except (FileNotFoundError, ValueError, OSError) as error:
        logger.warning(
            "attachment file missing", extra={"attachment": str(attachment.pk), "error": str(error)}
        )
        return None
    response = FileResponse(handle, content_type=content_type_of(attachment))
    response["Content-Disposition"] = content_disposition(attachment.filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
