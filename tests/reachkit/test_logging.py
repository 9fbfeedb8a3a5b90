"""One log line per request, and an API key never reaches a log line."""

import logging
from urllib.parse import unquote_plus

import pytest
from rest_framework.test import APIClient

from reachkit.logs import LogfmtFormatter, ScrubSecretsFilter


def request_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if "logger=reachkit.request" in line]


def test_one_line_per_request_with_method_path_status_duration_workspace(alice, log_output):
    alice.client.get("/api/v1/blocklist", {"page": 1})

    lines = request_lines(log_output.getvalue())
    assert len(lines) == 1
    line = lines[0]
    assert "method=GET" in line
    assert 'path="/api/v1/blocklist?page=1"' in line
    assert "status=200" in line
    assert "duration_ms=" in line
    assert f"workspace={alice.workspace.pk}" in line


def test_the_query_parameter_key_is_scrubbed_from_every_line(alice, log_output):
    from rest_framework.test import APIClient

    APIClient().get("/api/v1/blocklist", {"api_key": alice.raw_key})
    APIClient().get("/api/v1/nowhere", {"api_key": alice.raw_key})
    APIClient().get("/api/v1/blocklist", {"api_key": alice.raw_key + "x"})  # a 401

    output = log_output.getvalue()
    assert alice.raw_key not in output
    assert alice.raw_key.split("_", 2)[2] not in output
    assert len(request_lines(output)) == 3
    assert "api_key=[redacted]" in output


def test_a_key_anywhere_in_a_message_is_redacted(alice):
    record = logging.makeLogRecord(
        {
            "name": "x",
            "levelno": logging.INFO,
            "levelname": "INFO",
            "msg": "calling with %s",
            "args": (alice.raw_key,),
        }
    )
    ScrubSecretsFilter().filter(record)
    line = LogfmtFormatter().format(record)
    assert alice.raw_key not in line
    assert f"rk_{alice.api_key.prefix}_[redacted]" in line


def percent_encoded(text: str) -> str:
    return "".join(f"%{byte:02X}" for byte in text.encode())


def secret_of(raw_key: str) -> str:
    return raw_key.split("_", 2)[2]


@pytest.mark.parametrize(
    "query",
    [
        lambda key: f"{percent_encoded('api_key')}={percent_encoded(key)}",
        lambda key: f"api%5Fkey={percent_encoded(key)}",
        lambda key: f"API_KEY={key}",
        lambda key: f"Api-Key={key}",
        lambda key: f"api+key={key}",
        lambda key: f"apiKey={percent_encoded(key).lower()}",
        lambda key: f"api%255Fkey={percent_encoded(percent_encoded(key))}",
        lambda key: f"q={percent_encoded(percent_encoded(key))}",
        lambda key: f"search=prefix_{key}",
        lambda key: f"search={key.upper()}",
        lambda key: f"note=x+{percent_encoded(key)}+y&page=2",
        lambda key: f"{percent_encoded(key)}=1",
    ],
    ids=[
        "fully encoded",
        "encoded underscore",
        "upper case",
        "dash",
        "plus",
        "camel case, lower-case escapes",
        "double encoded",
        "double encoded in another param",
        "glued to a word",
        "upper-cased key",
        "among spaces",
        "as a name",
    ],
)
def test_a_key_in_the_query_however_spelled_never_reaches_the_log(alice, log_output, query):
    APIClient().get(f"/api/v1/blocklist?{query(alice.raw_key)}")

    output = log_output.getvalue()
    assert len(request_lines(output)) == 1
    readable = unquote_plus(unquote_plus(output)).lower()
    assert secret_of(alice.raw_key).lower() not in readable


def test_a_fully_encoded_query_key_authenticates_and_is_logged_redacted(alice, log_output):
    query = f"{percent_encoded('api_key')}={percent_encoded(alice.raw_key)}&page=1"

    response = APIClient().get(f"/api/v1/blocklist?{query}")

    assert response.status_code == 200
    (line,) = request_lines(log_output.getvalue())
    assert 'path="/api/v1/blocklist?api_key=[redacted]&page=1"' in line


def test_a_key_in_the_path_is_redacted(alice, log_output):
    APIClient().get(f"/api/v1/{percent_encoded(alice.raw_key)}")
    output = log_output.getvalue()
    assert secret_of(alice.raw_key) not in output
    assert f"rk_{alice.api_key.prefix}_[redacted]" in output


def test_control_characters_in_the_url_stay_encoded_in_the_log(api, log_output):
    api.get("/api/v1/blocklist?search=%1B%5B31m%0D%0Afake%3Dline")
    (line,) = request_lines(log_output.getvalue())
    assert "\x1b" not in line
    assert "\r" not in line
    assert 'path="/api/v1/blocklist?search=%1B[31m%0D%0Afake%3Dline"' in line
