"""The optional LLM backend (unibox.llm) against a real OpenAI-compatible endpoint on
loopback: its label when it answers one, the offline classifier on any error."""

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from unibox import llm
from unibox.classify import classify_text

KEY = "sk-test-0123456789abcdef"
REPLY = "Thanks for reaching out. Could you send me your pricing?"  # offline: needs_more_info


class FakeEndpoint:
    """A chat completions server in this process; `answer` decides each response."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.answer: Callable[[BaseHTTPRequestHandler], None] = self.label("interested")
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                endpoint.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": json.loads(body)}
                )
                endpoint.answer(self)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @staticmethod
    def respond(status: int, body: bytes, headers: dict[str, str] | None = None):
        def answer(handler: BaseHTTPRequestHandler) -> None:
            handler.send_response(status)
            for name, value in (headers or {"Content-Type": "application/json"}).items():
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)

        return answer

    @classmethod
    def label(cls, content: str):
        body = {"choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]}
        return cls.respond(200, json.dumps(body).encode())


@pytest.fixture
def endpoint(settings) -> Iterator[FakeEndpoint]:
    fake = FakeEndpoint()
    settings.LLM_URL = fake.url
    settings.LLM_API_KEY = KEY
    settings.LLM_MODEL = "tiny-model"
    settings.LLM_TIMEOUT_SECONDS = 1
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def test_the_endpoints_label_is_used_and_asked_for_properly(endpoint):
    endpoint.answer = endpoint.label("meeting_requested")
    result = classify_text(REPLY, "Re: Quick question")
    assert (result.label, result.source) == ("meeting_requested", "llm")
    [request] = endpoint.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["Authorization"] == f"Bearer {KEY}"
    body = request["body"]
    assert (body["model"], body["temperature"]) == ("tiny-model", 0)
    assert "unsubscribe" in body["messages"][0]["content"]
    assert REPLY in body["messages"][1]["content"]


@pytest.mark.parametrize(
    "content", ["Interested.", "  `question` ", '"neutral"', "Label: referral"]
)
def test_an_answer_with_quotes_case_or_a_full_stop_is_still_one_label(endpoint, content):
    endpoint.answer = endpoint.label(content)
    assert classify_text(REPLY).source == "llm"


@pytest.mark.parametrize(
    "answer",
    [
        FakeEndpoint.label("maybe_interested"),
        FakeEndpoint.label("The label is interested"),
        FakeEndpoint.label("interested, or meeting_requested"),
        FakeEndpoint.respond(500, b'{"error": "overloaded"}'),
        FakeEndpoint.respond(401, b'{"error": "bad key"}'),
        FakeEndpoint.respond(204, b""),
        FakeEndpoint.respond(200, b"<html>not json</html>"),
        FakeEndpoint.respond(200, b'{"choices": []}'),
        FakeEndpoint.respond(200, b'{"choices": [{"message": {"content": null}}]}'),
        FakeEndpoint.respond(200, b"[1, 2, 3]"),
    ],
    ids=[
        "unknown label",
        "a sentence",
        "two labels",
        "500",
        "401",
        "204",
        "not json",
        "no choices",
        "no content",
        "a list",
    ],
)
def test_any_error_falls_back_to_the_offline_classifier(endpoint, answer):
    endpoint.answer = answer
    result = classify_text(REPLY)
    assert (result.label, result.source) == ("needs_more_info", "model")
    assert len(endpoint.requests) == 1


def test_a_slow_endpoint_falls_back_within_the_timeout(endpoint):
    def slow(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(3)
        FakeEndpoint.label("interested")(handler)

    endpoint.answer = slow
    started = time.monotonic()
    result = classify_text(REPLY)
    assert time.monotonic() - started < 2.5
    assert result.source == "model"


def test_a_refused_connection_falls_back(endpoint, settings):
    endpoint.server.shutdown()
    endpoint.server.server_close()
    assert classify_text(REPLY).source == "model"


def test_a_redirect_is_not_followed_so_the_key_goes_nowhere_else(endpoint):
    elsewhere = FakeEndpoint()
    try:
        endpoint.answer = FakeEndpoint.respond(
            307, b"", {"Location": f"{elsewhere.url}/chat/completions"}
        )
        assert classify_text(REPLY).source == "model"
        assert elsewhere.requests == []
    finally:
        elsewhere.server.shutdown()
        elsewhere.server.server_close()


def test_the_key_is_never_logged(endpoint, caplog):
    caplog.set_level(logging.DEBUG)
    for answer in (FakeEndpoint.label("nonsense"), FakeEndpoint.respond(500, KEY.encode())):
        endpoint.answer = answer
        classify_text(REPLY)
    assert caplog.records
    assert all(KEY not in record.getMessage() for record in caplog.records)
    assert all("llm_fallback" in record.getMessage() for record in caplog.records)


def test_rules_answer_before_the_endpoint_is_asked(endpoint):
    assert classify_text("Please remove me from your list.").label == "unsubscribe"
    assert classify_text(
        "I'm out of the office until 14 January, limited access to email."
    ).label == ("out_of_office")
    assert endpoint.requests == []


def test_unset_means_offline(settings):
    settings.LLM_URL = ""
    assert llm.label(subject="", text=REPLY) is None
    assert classify_text(REPLY).source == "model"


def test_the_url_may_be_the_base_or_the_full_address():
    assert llm.endpoint("https://api.example/v1/") == "https://api.example/v1/chat/completions"
    assert llm.endpoint("http://h:8080/v1/chat/completions") == "http://h:8080/v1/chat/completions"
