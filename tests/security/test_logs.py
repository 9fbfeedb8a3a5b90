"""Finding 9: an API key never reaches the logs, however the client encodes it."""

from urllib.parse import unquote_plus
from urllib.request import urlopen

import pytest


def percent_encoded(text: str) -> str:
    return "".join(f"%{byte:02X}" for byte in text.encode())


@pytest.mark.django_db(transaction=True)
def test_a_fully_percent_encoded_api_key_authenticates_but_is_logged_redacted(
    alice, live_server, log_output
):
    query = f"{percent_encoded('api_key')}={percent_encoded(alice.raw_key)}"

    with urlopen(f"{live_server.url}/api/v1/blocklist?{query}") as response:
        assert response.status == 200

    output = log_output.getvalue()
    secret = alice.raw_key.split("_", 2)[2]
    assert secret.lower() not in unquote_plus(unquote_plus(output)).lower()
    assert 'path="/api/v1/blocklist?api_key=[redacted]"' in output
