"""MX look-ups against the loopback DNS server, and the providers they reveal."""

import pytest

from reachkit.mx import DnsLookupFailed, provider_for_host, provider_for_mx, resolve_mx


def test_resolves_mx_hosts_in_preference_order(dns_zone):
    dns_zone.add_mx("acme.com", "ASPMX.L.Google.com", "alt1.aspmx.l.google.com")
    assert resolve_mx("acme.com") == ["aspmx.l.google.com", "alt1.aspmx.l.google.com"]


def test_a_domain_without_mx_or_that_does_not_exist_has_none(dns_zone):
    dns_zone.add_mx("nomx.com")
    assert resolve_mx("nomx.com") == []
    assert resolve_mx("does-not-exist.com") == []


def test_a_server_failure_is_a_lookup_failure(dns_zone):
    dns_zone.fail("flaky.com", times=5)
    with pytest.raises(DnsLookupFailed):
        resolve_mx("flaky.com")


def test_a_silent_server_is_a_lookup_failure_within_the_timeout(dns_zone):
    dns_zone.delay("slow.com", 3)
    with pytest.raises(DnsLookupFailed):
        resolve_mx("slow.com")


@pytest.mark.parametrize(
    ("host", "provider"),
    [
        ("aspmx.l.google.com", "google"),
        ("alt2.gmail-smtp-in.l.google.com", "google"),
        ("smtp.googlemail.com", "google"),
        ("acme-com.mail.protection.outlook.com", "microsoft"),
        ("smtp.office365.com", "microsoft"),
        ("mta5.am0.yahoodns.net", "yahoo"),
        ("mx.zoho.eu", "zoho"),
        ("mx.zoho.com", "zoho"),
        ("mail.acme.com", "other"),
        ("google.com.evil.net", "other"),
        ("notgoogle.com", "other"),
    ],
)
def test_providers_are_recognised_by_host_suffix(host, provider):
    assert provider_for_host(host) == provider


def test_the_first_known_provider_among_mx_hosts_wins():
    assert provider_for_mx(["mx.backup.net", "aspmx.l.google.com"]) == "google"
    assert provider_for_mx([]) == "other"
