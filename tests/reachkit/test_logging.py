"""One log line per request, and an API key never reaches a log line."""

import logging

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
