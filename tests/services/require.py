"""Real services in tests: skip when one is missing, or fail where services are required."""

import os

import pytest

REQUIRE_SERVICES = os.environ.get("CI") == "true" or os.environ.get(
    "REACHKIT_REQUIRE_SERVICES"
) in {"1", "true"}


def service_missing(message: str) -> None:
    """Skip a test whose real service is absent, or fail it under CI / REACHKIT_REQUIRE_SERVICES."""
    if REQUIRE_SERVICES:
        pytest.fail(f"required service missing: {message}", pytrace=False)
    pytest.skip(message)
