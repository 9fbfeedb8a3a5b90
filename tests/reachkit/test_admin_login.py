"""The admin login: failed attempts are limited per address and per username."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client

PASSWORD = "the-right-password"
START = datetime(2026, 3, 2, 9, 0, 5, tzinfo=UTC)


@pytest.fixture
def boss(django_user_model, settings):
    settings.LOGIN_FAILURE_RATE = "3/15min"
    return django_user_model.objects.create_superuser("boss", "boss@example.com", PASSWORD)


def browser(address: str = "203.0.113.9") -> Client:
    return Client(enforce_csrf_checks=True, REMOTE_ADDR=address)


def log_in(client: Client, username: str, password: str):
    client.get("/admin/login/")
    return client.post(
        "/admin/login/",
        {
            "username": username,
            "password": password,
            "csrfmiddlewaretoken": client.cookies["csrftoken"].value,
            "next": "/admin/",
        },
    )


def logged_in(response) -> bool:
    return response.status_code == 302 and response["Location"] == "/admin/"


def refused_for_too_many_failures(response) -> bool:
    page = response.content.decode()
    return response.status_code == 200 and "Too many failed logins" in page


def test_the_right_password_logs_in(boss):
    assert logged_in(log_in(browser(), "boss", PASSWORD))


def test_after_the_failures_of_a_window_the_right_password_is_refused_too(boss):
    client = browser()
    with time_machine.travel(START, tick=False):
        for n in range(3):
            response = log_in(client, "boss", f"guess-{n}")
            assert response.status_code == 200
            assert "Please enter the correct username and password" in response.content.decode()

        response = log_in(client, "boss", PASSWORD)

    assert refused_for_too_many_failures(response)
    assert "Try again in 15 minutes." in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_username_is_locked_from_every_address(boss):
    with time_machine.travel(START, tick=False):
        for n in range(3):
            log_in(browser(f"203.0.113.{n}"), "boss", "wrong")

        assert refused_for_too_many_failures(log_in(browser("198.51.100.7"), "boss", PASSWORD))
        assert refused_for_too_many_failures(log_in(browser("198.51.100.7"), "BOSS", PASSWORD))


def test_the_address_is_locked_for_every_username(boss, django_user_model):
    django_user_model.objects.create_superuser("other", "other@example.com", PASSWORD)
    with time_machine.travel(START, tick=False):
        for n in range(3):
            log_in(browser(), f"nobody{n}", "wrong")

        assert refused_for_too_many_failures(log_in(browser(), "other", PASSWORD))
        assert logged_in(log_in(browser("198.51.100.7"), "other", PASSWORD))


def test_the_lock_ends_with_its_window(boss):
    client = browser()
    with time_machine.travel(START, tick=False):
        for _ in range(3):
            log_in(client, "boss", "wrong")
        assert refused_for_too_many_failures(log_in(client, "boss", PASSWORD))
    with time_machine.travel(START + timedelta(minutes=15), tick=False):
        assert logged_in(log_in(client, "boss", PASSWORD))


def test_successful_logins_do_not_count(boss):
    with time_machine.travel(START, tick=False):
        for _ in range(5):
            assert logged_in(log_in(browser(), "boss", PASSWORD))


def test_a_staff_only_login_with_a_non_staff_users_password_counts_as_a_failure(
    boss, django_user_model
):
    django_user_model.objects.create_user("clerk", "clerk@example.com", PASSWORD)
    with time_machine.travel(START, tick=False):
        for _ in range(3):
            log_in(browser(), "clerk", PASSWORD)
        assert refused_for_too_many_failures(log_in(browser(), "boss", PASSWORD))
