"""The form of a webhook URL: the document's pattern and the server's check agree."""

import pytest
from django.test import override_settings
from hypothesis import given, settings
from hypothesis import strategies as st

from reachkit.webhooks.transport import MAX_URL_LENGTH, UrlRefused, parse_url, url_pattern


@settings(max_examples=300, deadline=None)
@given(st.booleans(), st.data())
def test_every_url_of_the_documented_form_passes_the_form_check(allow_http, data):
    with override_settings(WEBHOOK_ALLOW_HTTP=allow_http):
        url = data.draw(st.from_regex(url_pattern(), fullmatch=True))
        if len(url) <= MAX_URL_LENGTH:
            # UrlRefused here: the check refuses what the document allows.
            parsed = parse_url(url)
            assert parsed.scheme in (("https", "http") if allow_http else ("https",))
            assert parsed.host


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com",
        "https://hooks.example.com./reachkit?token=a%20b&x=[1]",
        "https://93.184.215.14:8443/",
        "https://h:65535?",
    ],
)
def test_the_documented_form_takes_ordinary_urls(url):
    assert str(parse_url(url))


def test_plain_http_is_in_the_form_only_when_allowed():
    with override_settings(WEBHOOK_ALLOW_HTTP=False), pytest.raises(UrlRefused):
        parse_url("http://hooks.example.com/")
    with override_settings(WEBHOOK_ALLOW_HTTP=True):
        parse_url("http://hooks.example.com/")
