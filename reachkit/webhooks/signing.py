"""Standard Webhooks signatures (https://www.standardwebhooks.com/).

Each message carries `webhook-id` (the event's id, the same on every attempt),
`webhook-timestamp` (seconds since the epoch, at the attempt) and `webhook-signature`:
`v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, once per secret that signs it (two,
space-separated, during a rotation's overlap). Secrets are `whsec_` + base64 of 32
random bytes, the form the reference libraries take.
"""

import base64
import secrets
from datetime import datetime

from standardwebhooks.webhooks import Webhook

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def headers(
    *, message_id: str, timestamp: datetime, body: str, secrets_: list[str]
) -> dict[str, str]:
    signatures = [
        Webhook(secret).sign(msg_id=message_id, timestamp=timestamp, data=body)
        for secret in secrets_
    ]
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": " ".join(signatures),
    }
