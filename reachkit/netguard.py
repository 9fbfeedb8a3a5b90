"""May we connect to this address? The policy for connections a tenant points us at.

A tenant names a host (an inbox's SMTP or IMAP server; later a webhook URL). Without a
policy, that is a way into the server's own network: `127.0.0.1:6379`, the cloud's
metadata service at `169.254.169.254`, a database on `10.0.0.5`. So:

1. `resolve` turns the host into addresses, once: an IP literal is itself, `localhost`
   is loopback (RFC 6761), other names go to `settings.DNS_SERVERS` when set (as MX
   look-ups do, dnspython), else to the system's resolver (`getaddrinfo`, which reads
   /etc/hosts).
2. `refusal` says why an address is not on the public internet (loopback, private,
   link-local, shared/CGNAT, reserved, multicast, unspecified, and the IPv6 forms that
   carry such an IPv4 address), unless it lies in a network the operator allowed.
3. `resolve_allowed` does both and returns the checked addresses. Callers connect to
   those, never to the name again, so DNS rebinding cannot switch the address between
   the check and the connection; the name is still used for TLS (SNI, certificates).
"""

import ipaddress
import socket
import time
from collections.abc import Iterable, Sequence
from functools import lru_cache
from math import inf

import dns.exception
import dns.name
import dns.resolver
from django.conf import settings

from reachkit import mx

# One label of a host name (a letter or digit at each end, hyphens inside, 63 at most); as a
# pattern so the API document can state it (ECMA-262 and Python read it alike).
HOST_LABEL = "[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Everything that is not unicast on the public internet, with the word for it. Python's
# own `is_global`/`is_private` vary between patch releases; this table does not.
_REFUSED_V4: tuple[tuple[str, str], ...] = (
    ("0.0.0.0/8", "unspecified"),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "shared (CGNAT)"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local"),
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "reserved"),  # IETF protocol assignments
    ("192.0.2.0/24", "reserved"),  # documentation
    ("192.88.99.0/24", "reserved"),  # the retired 6to4 relay anycast
    ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "reserved"),  # benchmarking
    ("198.51.100.0/24", "reserved"),
    ("203.0.113.0/24", "reserved"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),  # and the broadcast address 255.255.255.255
)
_REFUSED_V6: tuple[tuple[str, str], ...] = (
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("ff00::/8", "multicast"),
    ("fe80::/10", "link-local"),
    ("fec0::/10", "site-local"),
    ("fc00::/7", "unique-local"),
    ("2001::/23", "reserved"),  # IETF protocol assignments, Teredo among them
    ("2001:db8::/32", "reserved"),  # documentation
    ("3fff::/20", "reserved"),  # documentation
)
# Only 2000::/3 is global unicast; inside it, these prefixes carry an IPv4 address, which
# must pass on its own. NAT64's well-known prefix lies outside 2000::/3 but is used on the
# internet (DNS64 writes it).
_GLOBAL_UNICAST_V6 = ipaddress.IPv6Network("2000::/3")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# Never a destination, whatever an operator allows: connecting to 0.0.0.0 reaches this host.
_NEVER = ("unspecified", "multicast")


class HostNotFound(Exception):
    """The name does not exist, or has no address."""


class LookupFailed(Exception):
    """The resolver could not answer (timeout, SERVFAIL): worth trying again later."""


class AddressRefused(Exception):
    """The host resolves to an address the policy refuses; `reason` names its kind."""

    def __init__(self, address: IPAddress, reason: str) -> None:
        self.address = address
        self.reason = reason
        super().__init__(f"{address} is {reason}")


def parse_networks(values: Iterable[str]) -> tuple[IPNetwork, ...]:
    """CIDRs (`10.0.0.0/8`, `fd00::/8`, a bare address) as networks; ValueError on a bad one."""
    networks: list[IPNetwork] = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip()))
        except ValueError:
            loose = _loose_network(value)
            hint = f" (did you mean {loose}?)" if loose else ""
            raise ValueError(f"{value!r} is not a network in CIDR notation{hint}") from None
    return tuple(networks)


def _loose_network(value: str) -> IPNetwork | None:
    try:
        return ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return None


@lru_cache(maxsize=8)
def _networks(values: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return parse_networks(values)


def _table(rows: tuple[tuple[str, str], ...]) -> tuple[tuple[IPNetwork, str], ...]:
    return tuple((ipaddress.ip_network(network), reason) for network, reason in rows)


_TABLE_V4 = _table(_REFUSED_V4)
_TABLE_V6 = _table(_REFUSED_V6)


def unmapped(address: IPAddress) -> IPAddress:
    """An IPv4-mapped IPv6 address (`::ffff:127.0.0.1`) as the IPv4 address it reaches."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def refusal(address: IPAddress, *, allowed: Sequence[str] = ()) -> str | None:
    """Why a connection to `address` is refused ("loopback", "private", …), or None.

    `allowed` holds CIDRs an operator opened (a self-hoster's own network): an address in
    one passes, unless it is unspecified or multicast, which are never a server.
    """
    address = unmapped(address)
    reason = _kind(address)
    if reason in _NEVER:
        return reason
    if any(address in network for network in _networks(tuple(allowed))):
        return None
    return reason


def _kind(address: IPAddress) -> str | None:
    if isinstance(address, ipaddress.IPv4Address):
        return next((why for network, why in _TABLE_V4 if address in network), None)
    address = unmapped(address)
    if isinstance(address, ipaddress.IPv4Address):
        return _kind(address)
    for network, why in _TABLE_V6:
        if address in network:
            return why
    if address in _NAT64:
        return _kind(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    if address not in _GLOBAL_UNICAST_V6:
        return "reserved"
    if address.sixtofour is not None:
        return _kind(address.sixtofour)
    return None


def resolve(host: str, *, lifetime: float | None = None) -> list[IPAddress]:
    """The host's addresses, IPv4 first; raises HostNotFound or LookupFailed.

    `lifetime` shortens the DNS servers' time to answer (DNS_TIMEOUT_SECONDS) to fit a
    caller's deadline; the system's resolver keeps its own.
    """
    try:
        return [unmapped(ipaddress.ip_address(host))]
    except ValueError:
        pass
    name = host.rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return [ipaddress.IPv4Address("127.0.0.1"), ipaddress.IPv6Address("::1")]
    if settings.DNS_SERVERS:
        addresses = _resolve_with_dns_servers(name, lifetime)
    else:
        addresses = _resolve_with_system(name)
    unique = list(dict.fromkeys(unmapped(address) for address in addresses))
    if not unique:
        raise HostNotFound(host)
    return sorted(unique, key=lambda address: address.version)


def _resolve_with_dns_servers(name: str, lifetime: float | None) -> list[IPAddress]:
    resolver = mx.resolver()
    end = time.monotonic() + min(resolver.lifetime, lifetime if lifetime is not None else inf)
    found: list[IPAddress] = []
    for record_type in ("A", "AAAA"):
        try:
            answer = resolver.resolve(
                name, record_type, search=False, lifetime=max(0.0, end - time.monotonic())
            )
        except dns.resolver.NXDOMAIN:
            raise HostNotFound(name) from None
        except dns.resolver.NoAnswer:
            continue
        except (dns.name.NameTooLong, dns.name.EmptyLabel, dns.name.LabelTooLong):
            raise HostNotFound(name) from None
        except dns.exception.DNSException as error:
            raise LookupFailed(f"{record_type} look-up failed: {type(error).__name__}") from None
        found.extend(ipaddress.ip_address(record.address) for record in answer)
    return found


def _resolve_with_system(name: str) -> list[IPAddress]:
    try:
        rows = socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        if error.errno in (socket.EAI_AGAIN, getattr(socket, "EAI_SYSTEM", None)):
            raise LookupFailed(str(error)) from None
        raise HostNotFound(name) from None
    except UnicodeError:
        raise HostNotFound(name) from None
    found: list[IPAddress] = []
    for family, _, _, _, sockaddr in rows:
        if family in (socket.AF_INET, socket.AF_INET6):
            # A link-local IPv6 answer carries its zone ("fe80::1%eth0"): refused anyway.
            found.append(ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0]))
    return found


def resolve_allowed(
    host: str, *, allowed: Sequence[str] = (), lifetime: float | None = None
) -> list[IPAddress]:
    """Resolve `host` and check every address it has: the addresses to connect to.

    Raises HostNotFound, LookupFailed, or AddressRefused when any address is refused
    (a name that points at a private address is refused, not filtered).
    """
    addresses = resolve(host, lifetime=lifetime)
    for address in addresses:
        reason = refusal(address, allowed=allowed)
        if reason is not None:
            raise AddressRefused(address, reason)
    return addresses
