"""`make run`'s environment, recorded for the commands a developer runs beside it.

`make run` sets a development environment (debug on, its port in unsubscribe links, the
short send gap, the mail sink's network allowed, the database and broker it was given) and
records it in `var/run.env` before it starts. `make manage ARGS="send_due"` runs manage.py
with `REACHKIT_ENV_FILE` pointing at that record, so a command run by hand reads the very
settings the running product uses. A variable set in the command's own environment wins over
the record. Nothing reads the record unless `REACHKIT_ENV_FILE` names it: production never
picks up a developer's leftovers.

    python -m reachkit.devenv var/run.env      # record the current environment (make run)
"""

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path

# The settings make run sets or passes on; everything else comes from the defaults as usual.
NAMES = ("DATABASE_URL", "CELERY_BROKER_URL", "MAILSINK_PORT", "PORT")
PREFIX = "REACHKIT_"


def recorded(environ: Mapping[str, str]) -> dict[str, str]:
    """The part of `environ` that make run records, sorted by name."""
    return {
        name: value
        for name, value in sorted(environ.items())
        if name in NAMES or (name.startswith(PREFIX) and name != "REACHKIT_ENV_FILE")
    }


def record(path: Path, environ: Mapping[str, str]) -> None:
    """Write the record (JSON; it may hold secrets, so readable by its owner only)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    partial.touch(mode=0o600)
    partial.chmod(0o600)
    partial.write_text(json.dumps(recorded(environ), indent=2) + "\n")
    partial.replace(path)


class EnvFileError(Exception):
    pass


def load(path: Path, environ: os._Environ[str] | dict[str, str]) -> None:
    """Set each recorded variable that `environ` does not already set."""
    try:
        values = json.loads(path.read_text())
    except FileNotFoundError:
        raise EnvFileError(
            f"REACHKIT_ENV_FILE: {path} does not exist (`make run` writes it when it starts)"
        ) from None
    except (OSError, ValueError) as error:
        raise EnvFileError(f"REACHKIT_ENV_FILE: {path} cannot be read: {error}") from None
    if not isinstance(values, dict) or not all(
        isinstance(name, str) and isinstance(value, str) for name, value in values.items()
    ):
        raise EnvFileError(f"REACHKIT_ENV_FILE: {path} is not a JSON object of strings")
    for name, value in values.items():
        environ.setdefault(name, value)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m reachkit.devenv PATH")
    record(Path(sys.argv[1]), os.environ)
