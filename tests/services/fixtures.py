"""Pytest fixtures for the real mail services; `tests/conftest.py` loads this plugin.

- `tls_certificates` (session): the run's CA and `localhost` certificate (`TlsFiles`).
- `smtp_server_factory`: `make(security="none"|"starttls"|"ssl", users=…, auth_required=…)`
  starts an aiosmtpd `SmtpServer` on a free loopback port; all are stopped after the test.
- `smtp_server`: one plain server (AUTH offered without TLS), empty, for the common case.
- `dovecot` (session): a running `Dovecot`; skips with an install hint when the binary is
  missing, fails instead under CI=true / REACHKIT_REQUIRE_SERVICES=1.
- `trust_test_ca`: makes Reachkit trust the test CA (`settings.INBOX_TLS_CA_FILE`).
- `mailbox`: a fresh Dovecot user with the same login on SMTP servers started on demand,
  Reachkit trusting the test CA (`tests/services/mailbox.py`); needs the database.
- `blackhole`, `silent_server`: a loopback port whose connects time out, and a server that
  accepts and then never speaks (`tests/services/blackhole.py`).
- `redis_cache`: Django's cache switched to the Redis at `TEST_REDIS_URL` (rate-limit
  counters as production keeps them), this test's keys deleted before and after; skips
  (fails under CI) without Redis.
- `banner_server_factory`, `drip_server_factory`: `make(...)` starts another service's
  banner, or a server that answers a byte at a time (`tests/services/rogue.py`).
- `broker_down`: tasks are published for real (not run eagerly) to a Redis broker on a
  closed loopback port, so handing one over fails as it does when the broker is down.
"""

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.services.blackhole import BlackholePort, SilentServer
from tests.services.dovecot import INSTALL_HINT, Dovecot, dovecot_binary
from tests.services.mailbox import Mailbox
from tests.services.require import service_missing
from tests.services.rogue import BannerServer, DripServer
from tests.services.smtp_server import SmtpServer
from tests.services.tls import TlsFiles, make_certificates


@pytest.fixture(scope="session")
def tls_certificates(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_certificates(Path(tmp_path_factory.mktemp("tls")))


@pytest.fixture
def smtp_server_factory(tls_certificates: TlsFiles) -> Iterator[Callable[..., SmtpServer]]:
    started: list[SmtpServer] = []

    def make(**options: Any) -> SmtpServer:
        options.setdefault("tls", tls_certificates)
        server = SmtpServer(**options).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def smtp_server(smtp_server_factory: Callable[..., SmtpServer]) -> SmtpServer:
    return smtp_server_factory(security="none")


def require_dovecot() -> str:
    """The dovecot binary, or skip (fail under CI) saying how to install it."""
    binary = dovecot_binary()
    if binary is None:
        service_missing(INSTALL_HINT)
    if os.geteuid() != 0:
        service_missing("the test Dovecot runs as root (it drops to `nobody` for mail)")
    assert binary is not None
    return binary


@pytest.fixture(scope="session")
def dovecot(tls_certificates: TlsFiles) -> Iterator[Dovecot]:
    server = Dovecot(tls_certificates, binary=require_dovecot()).start()
    yield server
    server.stop()


@pytest.fixture
def trust_test_ca(settings: Any, tls_certificates: TlsFiles) -> TlsFiles:
    settings.INBOX_TLS_CA_FILE = str(tls_certificates.ca_file)
    return tls_certificates


@pytest.fixture
def blackhole() -> Iterator[BlackholePort]:
    port = BlackholePort()
    yield port
    port.close()


@pytest.fixture
def silent_server() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.close()


@pytest.fixture
def banner_server_factory() -> Iterator[Callable[..., BannerServer]]:
    started: list[BannerServer] = []

    def make(banner: bytes, *, hang_up: bool = False) -> BannerServer:
        started.append(BannerServer(banner, hang_up=hang_up))
        return started[-1]

    yield make
    for server in started:
        server.close()


@pytest.fixture
def drip_server_factory() -> Iterator[Callable[..., DripServer]]:
    started: list[DripServer] = []

    def make(**options: Any) -> DripServer:
        started.append(DripServer(**options))
        return started[-1]

    yield make
    for server in started:
        server.close()


@pytest.fixture
def mailbox(
    db: None,
    dovecot: Dovecot,
    smtp_server_factory: Callable[..., SmtpServer],
    trust_test_ca: TlsFiles,
) -> Mailbox:
    email, password = dovecot.new_user("sam")
    return Mailbox(
        email=email, password=password, dovecot=dovecot, make_smtp_server=smtp_server_factory
    )


# A database number of its own, and a prefix per xdist worker: other test runs and a broker
# on the same Redis keep their keys.
TEST_REDIS_URL = os.environ.get("REACHKIT_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")


@pytest.fixture
def redis_cache(settings: Any, worker_id: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(TEST_REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as error:
        client.close()
        service_missing(f"Redis at {TEST_REDIS_URL} is not reachable ({error})")
    prefix = f"reachkit-tests-{worker_id}"

    def delete_ours() -> None:
        for key in client.scan_iter(match=f"{prefix}:*"):
            client.delete(key)

    delete_ours()
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": TEST_REDIS_URL,
            "KEY_PREFIX": prefix,
        }
    }
    yield client
    delete_ours()
    client.close()


@pytest.fixture
def broker_down() -> Iterator[None]:
    from reachkit.celery import app
    from tests.services.blackhole import closed_port

    changed = {
        "task_always_eager": False,
        "broker_url": f"redis://127.0.0.1:{closed_port()}/0",
        "task_publish_retry": False,
        "broker_connection_retry": False,
        "broker_connection_max_retries": 0,
        "broker_connection_timeout": 1,
    }
    saved = {key: app.conf[key] for key in changed}
    app.conf.update(changed)
    app._pool = None  # the producer pool is made from the broker URL on first use
    try:
        yield
    finally:
        app.conf.update(saved)
        if app._pool is not None:
            app._pool.force_close_all()
        app._pool = None
