"""MX look-ups and the mail provider (ESP) they reveal, shared by inboxes and leads."""

from functools import lru_cache

import dns.exception
import dns.nameserver
import dns.resolver
from django.conf import settings

GOOGLE = "google"
MICROSOFT = "microsoft"
YAHOO = "yahoo"
ZOHO = "zoho"
OTHER = "other"

# Suffixes of MX hosts (or SMTP hosts) that belong to each provider.
PROVIDER_SUFFIXES: dict[str, tuple[str, ...]] = {
    GOOGLE: (".google.com", ".googlemail.com", ".gmail.com"),
    MICROSOFT: (".mail.protection.outlook.com", ".outlook.com", ".office365.com", ".hotmail.com"),
    YAHOO: (".yahoodns.net", ".yahoo.com"),
    ZOHO: (".zoho.com", ".zoho.eu", ".zoho.in", ".zoho.com.au", ".zoho.jp", ".zohomail.com"),
}


class DnsLookupFailed(Exception):
    """The resolver could not answer (timeout, SERVFAIL, no server): worth retrying later."""


def _nameserver(address: str) -> dns.nameserver.Do53Nameserver:
    host, _, port = address.rpartition(":") if address.count(":") == 1 else (address, "", "")
    return dns.nameserver.Do53Nameserver(host or address, int(port) if port else 53)


@lru_cache(maxsize=4)
def _resolver(servers: tuple[str, ...], timeout: float) -> dns.resolver.Resolver:
    resolver = dns.resolver.Resolver(configure=not servers)
    if servers:
        resolver.nameservers = [_nameserver(server) for server in servers]
    resolver.timeout = timeout
    resolver.lifetime = timeout
    resolver.cache = None
    return resolver


def resolver() -> dns.resolver.Resolver:
    """A resolver asking `settings.DNS_SERVERS`, or the system's resolvers when there are none."""
    return _resolver(tuple(settings.DNS_SERVERS), float(settings.DNS_TIMEOUT_SECONDS))


def resolve_mx(domain: str) -> list[str]:
    """The domain's MX hosts, most preferred first; [] when it has none or does not exist."""
    try:
        answer = resolver().resolve(domain, "MX", search=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except (dns.exception.Timeout, dns.resolver.NoNameservers, dns.resolver.LifetimeTimeout) as e:
        raise DnsLookupFailed(f"MX look-up for {domain} failed: {e.__class__.__name__}") from e
    records = sorted(answer, key=lambda record: record.preference)
    return [record.exchange.to_text(omit_final_dot=True).lower() for record in records]


def provider_for_host(host: str) -> str:
    """The provider a mail host belongs to, or "other"."""
    name = "." + host.lower().rstrip(".")
    for provider, suffixes in PROVIDER_SUFFIXES.items():
        if name.endswith(suffixes):
            return provider
    return OTHER


def provider_for_mx(hosts: list[str]) -> str:
    """The provider behind a domain's MX hosts: the first one that belongs to a known provider."""
    for host in hosts:
        provider = provider_for_host(host)
        if provider != OTHER:
            return provider
    return OTHER
