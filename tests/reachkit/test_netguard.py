"""The outbound address policy (reachkit/netguard.py): which addresses a tenant's host may
resolve to, and how a host is resolved (the loopback DNS server stands in for the world)."""

import ipaddress

import pytest

from reachkit import netguard
from tests.reachkit.test_settings import GOOD_KEY, run_settings


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.255.255.254", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.255", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),  # the cloud metadata service
        ("100.64.0.1", "shared (CGNAT)"),
        ("100.127.255.255", "shared (CGNAT)"),
        ("0.0.0.0", "unspecified"),
        ("0.1.2.3", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("255.255.255.255", "reserved"),
        ("240.0.0.1", "reserved"),
        ("192.0.0.9", "reserved"),
        ("192.0.2.1", "reserved"),
        ("198.18.0.1", "reserved"),
        ("198.51.100.7", "reserved"),
        ("203.0.113.9", "reserved"),
        ("192.88.99.1", "reserved"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped: the embedded address decides
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:169.254.169.254", "link-local"),
        ("::7f00:1", "reserved"),  # IPv4-compatible (deprecated), outside global unicast
        ("::ffff:0:7f00:1", "reserved"),  # IPv4-translated
        ("fe80::1", "link-local"),
        ("fec0::1", "site-local"),
        ("fd00::1", "unique-local"),
        ("fc00::1", "unique-local"),
        ("ff02::1", "multicast"),
        ("2002:7f00:1::1", "loopback"),  # 6to4 around 127.0.0.1
        ("2002:a00:1::1", "private"),  # 6to4 around 10.0.0.1
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "reserved"),  # Teredo
        ("64:ff9b::7f00:1", "loopback"),  # NAT64 around 127.0.0.1
        ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 around 169.254.169.254
        ("64:ff9b:1::1", "reserved"),  # local-use NAT64
        ("2001:db8::1", "reserved"),
        ("100::1", "reserved"),
        ("4000::1", "reserved"),
    ],
)
def test_addresses_off_the_public_internet_are_refused(address, reason):
    assert netguard.refusal(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize(
    "address",
    [
        "8.8.8.8",
        "1.1.1.1",
        "100.63.255.255",  # just below CGNAT
        "100.128.0.0",  # just above
        "172.32.0.1",
        "2606:4700:4700::1111",
        "2a00:1450:4001:80b::200e",
        "2002:808:808::1",  # 6to4 around a public address
        "64:ff9b::808:808",  # NAT64 around a public address
        "::ffff:8.8.8.8",
    ],
)
def test_public_addresses_pass(address):
    assert netguard.refusal(ipaddress.ip_address(address)) is None


def test_allowed_networks_let_private_addresses_through():
    allowed = ["127.0.0.0/8", "10.0.0.0/8", "fd00::/8"]
    for address in ("127.0.0.1", "10.9.8.7", "fd00::25", "::ffff:127.0.0.1"):
        assert netguard.refusal(ipaddress.ip_address(address), allowed=allowed) is None
    assert netguard.refusal(ipaddress.ip_address("192.168.0.1"), allowed=allowed) == "private"


def test_an_allowed_network_never_opens_unspecified_or_multicast_addresses():
    everywhere = ["0.0.0.0/0", "::/0"]
    assert netguard.refusal(ipaddress.ip_address("0.0.0.0"), allowed=everywhere) == "unspecified"
    assert netguard.refusal(ipaddress.ip_address("::"), allowed=everywhere) == "unspecified"
    assert netguard.refusal(ipaddress.ip_address("224.0.0.1"), allowed=everywhere) == "multicast"


def test_an_allowed_ipv4_network_does_not_open_ipv6_wrappers_of_it():
    # 6to4 and NAT64 go through a relay, not to the embedded address: refused as such.
    allowed = ["127.0.0.0/8"]
    assert netguard.refusal(ipaddress.ip_address("2002:7f00:1::1"), allowed=allowed) == "loopback"
    assert netguard.refusal(ipaddress.ip_address("64:ff9b::7f00:1"), allowed=allowed) == (
        "loopback"
    )


# --- resolving --------------------------------------------------------------------------------


def test_a_name_resolves_through_the_configured_dns_servers(dns_zone):
    dns_zone.add_address("mail.acme.test", "8.8.4.4", "2001:4860:4860::8844")
    assert netguard.resolve("mail.acme.test") == [
        ipaddress.ip_address("8.8.4.4"),
        ipaddress.ip_address("2001:4860:4860::8844"),
    ]
    assert dns_zone.queries["mail.acme.test"] == 2  # A and AAAA, once each


def test_a_mapped_ipv6_answer_is_the_ipv4_address_it_reaches(dns_zone):
    dns_zone.add_address("mapped.acme.test", "::ffff:127.0.0.1")
    assert netguard.resolve("mapped.acme.test") == [ipaddress.ip_address("127.0.0.1")]


def test_an_ip_literal_and_localhost_need_no_lookup(dns_zone):
    assert netguard.resolve("203.0.113.5") == [ipaddress.ip_address("203.0.113.5")]
    assert netguard.resolve("::ffff:10.0.0.1") == [ipaddress.ip_address("10.0.0.1")]
    assert netguard.resolve("LocalHost.") == [
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    ]
    assert sum(dns_zone.queries.values()) == 0


def test_an_unknown_name_is_not_found_and_a_failing_resolver_is_a_lookup_failure(dns_zone):
    with pytest.raises(netguard.HostNotFound):
        netguard.resolve("nowhere.acme.test")
    dns_zone.add_mx("acme.test", "mx.acme.test")  # the name exists, without addresses
    with pytest.raises(netguard.HostNotFound):
        netguard.resolve("acme.test")
    dns_zone.add_address("flaky.acme.test", "8.8.8.8")
    dns_zone.fail("flaky.acme.test")
    with pytest.raises(netguard.LookupFailed):
        netguard.resolve("flaky.acme.test")


def test_a_name_with_any_refused_address_is_refused(dns_zone):
    dns_zone.add_address("split.acme.test", "8.8.8.8", "10.0.0.1")
    with pytest.raises(netguard.AddressRefused) as refused:
        netguard.resolve_allowed("split.acme.test")
    assert (str(refused.value.address), refused.value.reason) == ("10.0.0.1", "private")
    assert netguard.resolve_allowed("split.acme.test", allowed=["10.0.0.0/8"]) == [
        ipaddress.ip_address("8.8.8.8"),
        ipaddress.ip_address("10.0.0.1"),
    ]


# --- the setting ---------------------------------------------------------------------------

PROBE = (
    "import django; from django.conf import settings; django.setup(); "
    "print(settings.INBOX_ALLOWED_NETWORKS)"
)


def test_allowed_networks_are_read_from_the_environment():
    result = run_settings(
        PROBE,
        REACHKIT_SECRET_KEY="s" * 50,
        REACHKIT_ENCRYPTION_KEYS=GOOD_KEY,
        REACHKIT_INBOX_ALLOWED_NETWORKS="127.0.0.0/8, 10.0.0.0/8,fd00::/8",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['127.0.0.0/8', '10.0.0.0/8', 'fd00::/8']"


def test_no_network_is_allowed_by_default():
    result = run_settings(PROBE, REACHKIT_SECRET_KEY="s" * 50, REACHKIT_ENCRYPTION_KEYS=GOOD_KEY)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("10.0.0.5/8", "'10.0.0.5/8' is not a network in CIDR notation (did you mean 10.0.0.0/8?)"),
        ("localhost", "'localhost' is not a network in CIDR notation"),
        ("10.0.0.0/33", "'10.0.0.0/33' is not a network in CIDR notation"),
    ],
)
def test_a_bad_allowed_network_stops_the_process(value, message):
    result = run_settings(
        PROBE,
        REACHKIT_SECRET_KEY="s" * 50,
        REACHKIT_ENCRYPTION_KEYS=GOOD_KEY,
        REACHKIT_INBOX_ALLOWED_NETWORKS=value,
    )
    assert result.returncode != 0
    assert result.stderr.strip() == f"reachkit: REACHKIT_INBOX_ALLOWED_NETWORKS: {message}"
