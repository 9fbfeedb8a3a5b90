"""Behind HTTPS: plain HTTP is redirected (health checks excepted), a trusted proxy header
says a request is secure, and no header is trusted unless configured."""

import pytest
from django.test import Client


@pytest.fixture
def https(settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31_536_000


def test_plain_http_is_redirected_to_https(db, https):
    response = Client().get("/admin/login/")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/admin/login/"


def test_health_checks_answer_over_plain_http(db, https):
    assert Client().get("/healthz").status_code in (200, 503)


def test_https_answers_carry_hsts(db, https):
    response = Client().get("/admin/login/", secure=True)
    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=31536000"


def test_the_configured_proxy_header_marks_a_request_secure(db, https, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    response = Client().get("/admin/login/", HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 200


def test_without_the_setting_a_forwarded_proto_header_is_not_trusted(db, https):
    response = Client().get("/admin/login/", HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 301
