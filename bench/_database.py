"""What every bench shares: a fresh PostgreSQL database with Django set up on it."""

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SERVER = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")


@contextmanager
def bench_database(name: str, server: str = DEFAULT_SERVER, **env: str) -> Iterator[str]:
    """A fresh database `name`, migrated, with Django set up on it; dropped afterwards.

    The environment it sets (`os.environ`) is what child processes of the bench inherit.
    """
    server = server.rstrip("/")
    dsn = f"{server}/{name}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {name}")
    os.environ.update(
        {
            "DATABASE_URL": dsn,
            "DJANGO_SETTINGS_MODULE": "reachkit.settings",
            "REACHKIT_DEBUG": "0",
            "REACHKIT_SECRET_KEY": "bench-only-secret",
            "REACHKIT_ENCRYPTION_KEYS": "YmVuY2gtb25seS1rZXktbm90LWZvci1wcm9kLTAwMDA=",
            "REACHKIT_ALLOWED_HOSTS": "127.0.0.1,testserver",
            "REACHKIT_LOG_LEVEL": "WARNING",
            "CELERY_BROKER_URL": "memory://localhost/",
            # The benches' mail sinks listen on loopback, which inbox hosts may not resolve
            # to unless allowed (as `make run` allows its own sink).
            "REACHKIT_INBOX_ALLOWED_NETWORKS": "127.0.0.0/8",
            **env,
        }
    )
    sys.path.insert(0, str(ROOT))
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        yield dsn
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
