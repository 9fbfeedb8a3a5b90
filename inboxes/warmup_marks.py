"""How a warmup email is recognised: a hidden token, one per installation.

Warmup emails (inboxes sending to each other to build their reputation) carry the
header `X-Reachkit-Warmup` whose value is this installation's token. The recipients'
side finds them by it, and the unified inbox, reply detection and campaign analytics
leave them out by it. The token is derived from the secret key, so it is stable across
restarts, differs between installations, and says nothing about the key.
"""

import hashlib
import hmac
from collections.abc import Mapping

from django.conf import settings

WARMUP_HEADER = "X-Reachkit-Warmup"


def warmup_token() -> str:
    digest = hmac.new(settings.SECRET_KEY.encode(), b"reachkit-warmup", hashlib.sha256)
    return digest.hexdigest()[:24]


def is_warmup_message(headers: Mapping[str, str] | object) -> bool:
    """True when the message (an `email.message.Message` or a mapping of its headers)
    carries this installation's warmup token."""
    get = getattr(headers, "get", None)
    if get is None:
        return False
    value = get(WARMUP_HEADER)
    if not isinstance(value, str):
        return False
    return hmac.compare_digest(value.strip(), warmup_token())
