"""Shared fixtures: two workspaces (alice owns A, charlie owns B) and API clients for both."""

import io
import logging
from dataclasses import dataclass

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from reachkit.models import ApiKey, Workspace
from reachkit.services import api_key_create
from tests.reachkit.factories import WorkspaceFactory
from tests.services.dns_server import LoopbackDnsServer, Zone
from tests.services.require import REQUIRE_SERVICES, service_missing  # noqa: F401

# Headless Chromium, and the real mail services (aiosmtpd, Dovecot, TLS certificates): see
# those modules' docstrings.
pytest_plugins = ["tests.services.browser", "tests.services.fixtures"]


@dataclass
class Persona:
    workspace: Workspace
    api_key: ApiKey
    raw_key: str
    client: APIClient


def _persona(name: str) -> Persona:
    workspace = WorkspaceFactory(name=f"Workspace of {name}")
    api_key, raw_key = api_key_create(workspace=workspace, name=f"{name}'s key")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return Persona(workspace=workspace, api_key=api_key, raw_key=raw_key, client=client)


@pytest.fixture
def alice(db: None) -> Persona:
    return _persona("alice")


@pytest.fixture
def charlie(db: None) -> Persona:
    return _persona("charlie")


@pytest.fixture
def api(alice: Persona) -> APIClient:
    """Alice's client: the default caller of most API tests."""
    return alice.client


@pytest.fixture(autouse=True)
def _fresh_throttle_counters() -> None:
    cache.clear()


@pytest.fixture(scope="session")
def loopback_dns():
    server = LoopbackDnsServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def dns_zone(loopback_dns: LoopbackDnsServer, settings) -> Zone:
    """Every test resolves against the loopback DNS server, never the machine's resolvers.

    Put records in with `dns_zone.add_mx("acme.com", "aspmx.l.google.com")` and
    `dns_zone.add_address("mail.acme.com", "203.0.113.5", "2001:db8::5")`.
    """
    loopback_dns.zone.reset()
    settings.DNS_SERVERS = [loopback_dns.address]
    settings.DNS_TIMEOUT_SECONDS = 1
    return loopback_dns.zone


@pytest.fixture
def log_output():
    """What the configured console handler writes, captured from the handler itself."""
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "console")
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    yield buffer
    handler.setStream(previous)
