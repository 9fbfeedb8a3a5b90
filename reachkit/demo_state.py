"""Where `make run`'s demo keeps its login and key: one file per database, under var/demo/.

Read by `setup_demo` (which writes it) and by the landing page (which says where it is).
"""

import hashlib
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from django.conf import settings


def demo_state_file(database: Mapping[str, Any] | None = None) -> Path:
    """Where the demo's login and key are kept for the database in use: one file per database
    under var/demo/, so switching between SQLite and PostgreSQL never mixes them up.

    `var/demo/sqlite-reachkit-sqlite3-1a2b3c4d.json`: the backend, the database's name and a
    hash of its whole address (host, port, name), readable and never shared by two databases.
    """
    database = database or settings.DATABASES["default"]
    vendor = str(database["ENGINE"]).rsplit(".", 1)[-1]
    name = str(database.get("NAME") or "")
    if vendor == "sqlite3":
        name = str(Path(name).resolve())
    address = "|".join([vendor, str(database.get("HOST") or ""), str(database.get("PORT") or "")])
    digest = hashlib.sha256(f"{address}|{name}".encode()).hexdigest()[:8]
    slug = re.sub(r"[^a-z0-9]+", "-", Path(name).name.lower()).strip("-") or "default"
    return settings.VAR_DIR / "demo" / f"{vendor.replace('3', '')}-{slug[:40]}-{digest}.json"


def demo_state() -> dict[str, Any]:
    """The state of the database in use, or {} when `make run` has not written it."""
    try:
        state = json.loads(demo_state_file().read_text())
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def shown_path(path: Path) -> str:
    """`var/mail` when under the current folder (as with `make run`), else the absolute path."""
    relative = os.path.relpath(path)
    return path.as_posix() if relative.startswith("..") else relative
