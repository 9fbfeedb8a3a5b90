import json
import secrets
from io import StringIO
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from reachkit.demo_state import demo_state_file, shown_path
from reachkit.management.commands.mailsink import DEMO_REPLIER
from reachkit.models import ApiKey, Membership, parse_api_key
from reachkit.services import api_key_create, membership_add, workspace_get_or_create

DEMO_WORKSPACE = "Demo"
DEMO_ADMIN = "admin"


# Before the state was kept per database, one file served them all (and was trusted blindly).
LEGACY_STATE_FILE = "demo.json"


class Command(BaseCommand):
    help = (
        "Development only: a demo workspace, an admin login and an API key, kept per database "
        "in var/demo/ so a second `make run` reuses them (both checked against the database "
        "in use, and renewed when they do not work there); a demo inbox wired to the local "
        "mail sink and a demo campaign (made once). Prints how to use them."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError(
                "setup_demo keeps secrets in var/ and runs only with REACHKIT_DEBUG=1"
            )
        state_file = demo_state_file()
        state = self._read_state(state_file)

        workspace = workspace_get_or_create(name=DEMO_WORKSPACE)
        User = get_user_model()
        admin = User.objects.filter(username=DEMO_ADMIN).first()
        password = state.get("admin_password")
        # The stored password is checked against this database: a state written for another
        # database (or an admin whose password was changed) would print one that does not log in.
        if not isinstance(password, str) or not password:
            password = state["admin_password"] = secrets.token_urlsafe(12)
        if admin is None or not admin.check_password(password) or not self._can_log_in(admin):
            admin = admin or User(username=DEMO_ADMIN, email="admin@example.com")
            admin.is_staff = admin.is_superuser = admin.is_active = True
            admin.set_password(password)
            admin.save()
        membership_add(workspace=workspace, user=admin, role=Membership.Role.OWNER)

        if not self._key_is_live(state.get("api_key"), workspace):
            _, state["api_key"] = api_key_create(workspace=workspace, name="make run")

        # The campaigns app builds the demo outreach; plumbing calls it by name, the way
        # reachkit/urls.py mounts the apps, and imports none of them.
        out = StringIO()
        call_command("setup_demo_outreach", workspace=workspace.name, stdout=out)
        demo = json.loads(out.getvalue())
        state["database"] = self._database_label()
        state["campaign_id"] = demo["campaign_id"]
        self._write_state(state_file, state)
        self._print_welcome(state, demo)

    @staticmethod
    def _read_state(state_file: Path) -> dict[str, Any]:
        """This database's state; else the one file of before (checked like any state, then
        moved into this database's place); else nothing."""
        legacy = settings.VAR_DIR / LEGACY_STATE_FILE
        for candidate in (state_file, legacy):
            try:
                state = json.loads(candidate.read_text())
            except (OSError, ValueError):
                continue
            if isinstance(state, dict):
                return state
        return {}

    @staticmethod
    def _write_state(state_file: Path, state: dict[str, Any]) -> None:
        state_file.parent.mkdir(mode=0o700, exist_ok=True)
        partial = state_file.with_suffix(".part")
        partial.touch(mode=0o600)
        partial.chmod(0o600)  # secrets: never readable by others, not even while written
        partial.write_text(json.dumps(state, indent=2))
        partial.replace(state_file)
        (settings.VAR_DIR / LEGACY_STATE_FILE).unlink(missing_ok=True)

    @staticmethod
    def _can_log_in(admin: Any) -> bool:
        return bool(admin.is_active and admin.is_staff and admin.is_superuser)

    @staticmethod
    def _database_label() -> str:
        """The database in use, for a person reading the file; never its password."""
        database = settings.DATABASES["default"]
        vendor = str(database["ENGINE"]).rsplit(".", 1)[-1]
        if vendor == "sqlite3":
            return f"sqlite {database['NAME']}"
        host, port = database.get("HOST") or "localhost", database.get("PORT") or ""
        return f"{vendor} {host}{':' if port else ''}{port}/{database.get('NAME')}"

    @staticmethod
    def _key_is_live(raw_key: str | None, workspace: Any) -> bool:
        prefix = parse_api_key(raw_key or "")
        if prefix is None:
            return False
        api_key = ApiKey.objects.active().filter(prefix=prefix, workspace=workspace).first()
        return api_key is not None and api_key.matches(raw_key or "")

    def _print_welcome(self, state: dict[str, Any], demo: dict[str, Any]) -> None:
        base = settings.PUBLIC_URL
        key = state["api_key"]
        self.stdout.write(
            "\n".join(
                [
                    "",
                    f"Reachkit is starting on {base}",
                    f"  admin      {base}/admin/",
                    f"             user {DEMO_ADMIN}, password {state['admin_password']}",
                    f"  API docs   {base}/api/v1/docs/",
                    f"  API key    {key}",
                    "",
                    *self._demo_lines(demo),
                    "",
                    "Try it:",
                    f'  curl -H "Authorization: Bearer {key}" {base}/api/v1/blocklist',
                    f'  curl -H "Authorization: Bearer {key}" '
                    f"{base}/api/v1/campaigns/{demo['campaign_id']}/analytics",
                    "",
                ]
            )
        )

    @staticmethod
    def _demo_lines(demo: dict[str, Any]) -> list[str]:
        folder = shown_path(settings.MAILSINK_DIR)
        low, high = settings.SEND_GAP_SECONDS
        # The scheduler ticks every minute and, with a gap, sends one email per inbox a tick.
        if high == 0:
            pace = "the others with it"
        elif high <= 60:
            pace = "then about one a minute"
        else:
            pace = f"then one every {low}-{high} s"
        status = "" if demo["status"] == "active" else f" (it is {demo['status']})"
        return [
            f"Demo campaign: {demo['campaign']!r}{status}, {demo['leads']} leads at "
            f"example.com, sent from {demo['inbox']}",
            f"  through the local mail sink on {demo['smtp']}; nothing leaves this machine.",
            f"  Emails land in {folder}/ as .eml files: the first within a minute or two,",
            f"  {pace} (REACHKIT_SEND_GAP_SECONDS={low},{high} spaces an inbox's sends).",
            f"  Watch them arrive:  ls {folder}",
            "  Follow-ups go a day later, as replies in the same thread.",
            f"  {DEMO_REPLIER} answers her first email: within a minute of it, her reply is",
            "  in the unified inbox (GET /api/v1/unibox/conversations), labelled.",
            "  A second inbox sending to the sink, in the demo campaign too:",
            '    make manage ARGS="add_demo_inbox kim@reachkit.test"',
            "  (one added through the API would fail its check: the sink has no IMAP).",
        ]
