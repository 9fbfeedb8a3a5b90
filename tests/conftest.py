"""Shared fixtures: two workspaces (alice owns A, charlie owns B) and API clients for both."""

import os
from dataclasses import dataclass

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from reachkit.models import ApiKey, Workspace
from reachkit.services import api_key_create
from tests.reachkit.factories import WorkspaceFactory

REQUIRE_SERVICES = os.environ.get("CI") == "true" or os.environ.get(
    "REACHKIT_REQUIRE_SERVICES"
) in {"1", "true"}


def service_missing(message: str) -> None:
    """Skip a test whose real service is absent, or fail it where services are required."""
    if REQUIRE_SERVICES:
        pytest.fail(f"required service missing: {message}", pytrace=False)
    pytest.skip(message)


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
