"""Commands run by hand beside `make run` read the settings make run uses: make run records
its environment in var/run.env, and `make manage ARGS=…` (manage.py with REACHKIT_ENV_FILE)
reads it back, the command's own environment winning."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from reachkit import devenv

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {
    "REACHKIT_SECRET_KEY": "s" * 50,
    "REACHKIT_ENCRYPTION_KEYS": "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0wMDAwMDA=",
}
PROBE = (
    "from django.conf import settings as s; "
    "print(s.DEBUG, s.PUBLIC_URL, s.SEND_GAP_SECONDS, ','.join(s.INBOX_ALLOWED_NETWORKS), "
    "s.DATABASES['default']['NAME'])"
)


def clean_environment(**extra: str) -> dict[str, str]:
    """This machine's environment without any setting (the suite's own DATABASE_URL…)."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("REACHKIT_", "DATABASE_URL", "CELERY_", "DJANGO_", "MAKE"))
        and name not in {"PORT", "MAILSINK_PORT", "MFLAGS"}
    }
    env.update(extra)
    return env


def manage(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def make(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    # The environment running the suite is installed: make must not install anything.
    installed = ["-o", ".venv/.installed-run", "-o", ".venv/.python-ok"]
    return subprocess.run(
        ["make", "--no-print-directory", *installed, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_record_holds_the_settings_and_nothing_else_readable_by_its_owner_only(tmp_path):
    path = tmp_path / "var" / "run.env"
    devenv.record(
        path,
        {
            "REACHKIT_DEBUG": "1",
            "REACHKIT_PUBLIC_URL": "http://127.0.0.1:8107",
            "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/reachkit",
            "PORT": "8107",
            "MAILSINK_PORT": "1107",
            "REACHKIT_ENV_FILE": "var/run.env",
            "HOME": "/root",
            "PATH": "/usr/bin",
        },
    )
    assert json.loads(path.read_text()) == {
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/reachkit",
        "MAILSINK_PORT": "1107",
        "PORT": "8107",
        "REACHKIT_DEBUG": "1",
        "REACHKIT_PUBLIC_URL": "http://127.0.0.1:8107",
    }
    assert path.stat().st_mode & 0o077 == 0


def test_loading_never_overrides_what_the_environment_already_says(tmp_path):
    path = tmp_path / "run.env"
    path.write_text(json.dumps({"REACHKIT_DEBUG": "1", "REACHKIT_SEND_GAP_SECONDS": "20,40"}))
    environ = {"REACHKIT_SEND_GAP_SECONDS": "0,0"}
    devenv.load(path, environ)
    assert environ == {"REACHKIT_DEBUG": "1", "REACHKIT_SEND_GAP_SECONDS": "0,0"}


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (None, "does not exist (`make run` writes it when it starts)"),
        ("{not json", "cannot be read"),
        ('["REACHKIT_DEBUG"]', "is not a JSON object of strings"),
        ('{"REACHKIT_DEBUG": 1}', "is not a JSON object of strings"),
    ],
)
def test_manage_py_says_in_one_line_when_the_record_cannot_be_used(tmp_path, content, error):
    path = tmp_path / "run.env"
    if content is not None:
        path.write_text(content)
    result = manage(["check"], clean_environment(REACHKIT_ENV_FILE=str(path)))
    assert result.returncode != 0
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"REACHKIT_ENV_FILE: {path} {error}")


def test_manage_py_reads_the_recorded_settings_and_the_environment_wins(tmp_path):
    record = tmp_path / "run.env"
    database = tmp_path / "dev.sqlite3"
    devenv.record(
        record,
        {
            **SECRETS,
            "REACHKIT_DEBUG": "1",
            "REACHKIT_PUBLIC_URL": "http://127.0.0.1:8107",
            "REACHKIT_SEND_GAP_SECONDS": "20,40",
            "REACHKIT_INBOX_ALLOWED_NETWORKS": "127.0.0.0/8",
            "DATABASE_URL": f"sqlite:///{database}",
            "CELERY_BROKER_URL": "memory://",
        },
    )

    result = manage(["shell", "-c", PROBE], clean_environment(REACHKIT_ENV_FILE=str(record)))
    assert result.returncode == 0, result.stderr
    assert "True http://127.0.0.1:8107 (20, 40) 127.0.0.0/8 " + str(database) in result.stdout

    mine = clean_environment(REACHKIT_ENV_FILE=str(record), REACHKIT_SEND_GAP_SECONDS="0,0")
    result = manage(["shell", "-c", PROBE], mine)
    assert "http://127.0.0.1:8107 (0, 0)" in result.stdout, result.stderr


def test_without_the_variable_manage_py_reads_no_record(tmp_path):
    """Production never picks up a developer's leftovers: debug stays off, secrets required."""
    result = manage(["check"], clean_environment())
    assert result.returncode != 0
    assert "REACHKIT_SECRET_KEY is required" in result.stderr


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_manage_uses_the_settings_of_make_run_on_another_port(tmp_path):
    record = tmp_path / "run.env"
    env = clean_environment(
        **SECRETS,
        PORT="8107",
        DATABASE_URL=f"sqlite:///{tmp_path / 'dev.sqlite3'}",
        CELERY_BROKER_URL="memory://",
    )
    # As `PORT=8107 make run` would record it (make manage makes the record when missing).
    result = make([f"RUN_ENV={record}", "manage", f"ARGS=shell -c {PROBE!r}"], env)
    assert result.returncode == 0, result.stderr
    assert "True http://127.0.0.1:8107 (20, 40) 127.0.0.0/8" in result.stdout
    assert json.loads(record.read_text())["REACHKIT_PUBLIC_URL"] == "http://127.0.0.1:8107"

    # Later, from another shell that knows nothing of the port: the record still says it.
    env.pop("PORT")
    result = make([f"RUN_ENV={record}", "manage", f"ARGS=shell -c {PROBE!r}"], env)
    assert "True http://127.0.0.1:8107 (20, 40)" in result.stdout, result.stderr


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_run_records_its_environment_before_anything_starts():
    result = make(["-n", "run", "PORT=8107"], clean_environment())
    lines = result.stdout.splitlines()
    assert lines[0] == "python -m reachkit.devenv var/run.env"
    assert lines[-1] == "python -m reachkit.devrun --port 8107"
