"""Whether a test may skip when its real service is absent, or must fail."""

import os

import pytest

REQUIRE_SERVICES = os.environ.get("CI") == "true" or os.environ.get(
    "REACHKIT_REQUIRE_SERVICES"
) in {"1", "true"}


def service_missing(message: str) -> None:
    """Skip a test whose real service is absent, or fail it where services are required."""
    if REQUIRE_SERVICES:
        pytest.fail(f"required service missing: {message}", pytrace=False)
    pytest.skip(message)
