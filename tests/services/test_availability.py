"""A missing real service skips its tests with a hint, or fails them where CI requires it."""

import pytest

from tests.services import fixtures, require


@pytest.fixture
def no_dovecot(monkeypatch):
    monkeypatch.setattr(fixtures, "dovecot_binary", lambda: None)


def test_without_dovecot_its_tests_skip_saying_how_to_install_it(no_dovecot, monkeypatch):
    monkeypatch.setattr(require, "REQUIRE_SERVICES", False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install dovecot-imapd"):
        fixtures.require_dovecot()


def test_without_dovecot_its_tests_fail_where_services_are_required(no_dovecot, monkeypatch):
    monkeypatch.setattr(require, "REQUIRE_SERVICES", True)
    with pytest.raises(pytest.fail.Exception, match="required service missing: Dovecot"):
        fixtures.require_dovecot()


def test_with_dovecot_installed_the_binary_is_found(dovecot):
    assert fixtures.require_dovecot() == dovecot.binary
