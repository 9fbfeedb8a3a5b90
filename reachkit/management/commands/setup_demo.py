import json
import os
import secrets
from io import StringIO
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from reachkit.management.commands.mailsink import DEMO_REPLIER
from reachkit.models import ApiKey, Membership, parse_api_key
from reachkit.services import api_key_create, membership_add, workspace_get_or_create

DEMO_WORKSPACE = "Demo"
DEMO_ADMIN = "admin"


class Command(BaseCommand):
    help = (
        "Development only: a demo workspace, an admin login and an API key, kept in "
        "var/demo.json so a second `make run` reuses them; a demo inbox wired to the local "
        "mail sink and a demo campaign (made once). Prints how to use them."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError(
                "setup_demo keeps secrets in var/ and runs only with REACHKIT_DEBUG=1"
            )
        state_file = settings.VAR_DIR / "demo.json"
        state = json.loads(state_file.read_text()) if state_file.exists() else {}

        workspace = workspace_get_or_create(name=DEMO_WORKSPACE)
        User = get_user_model()
        admin = User.objects.filter(username=DEMO_ADMIN).first()
        if admin is None or "admin_password" not in state:
            state["admin_password"] = secrets.token_urlsafe(12)
            admin = admin or User(username=DEMO_ADMIN, email="admin@example.com")
            admin.is_staff = admin.is_superuser = True
            admin.set_password(state["admin_password"])
            admin.save()
        membership_add(workspace=workspace, user=admin, role=Membership.Role.OWNER)

        if not self._key_is_live(state.get("api_key"), workspace):
            _, state["api_key"] = api_key_create(workspace=workspace, name="make run")

        state_file.write_text(json.dumps(state, indent=2))
        state_file.chmod(0o600)
        # The campaigns app builds the demo outreach; plumbing calls it by name, the way
        # reachkit/urls.py mounts the apps, and imports none of them.
        out = StringIO()
        call_command("setup_demo_outreach", workspace=workspace.name, stdout=out)
        self._print_welcome(state, json.loads(out.getvalue()))

    @staticmethod
    def _key_is_live(raw_key: str | None, workspace: Any) -> bool:
        prefix = parse_api_key(raw_key or "")
        if prefix is None:
            return False
        api_key = ApiKey.objects.active().filter(prefix=prefix, workspace=workspace).first()
        return api_key is not None and api_key.matches(raw_key or "")

    def _print_welcome(self, state: dict[str, str], demo: dict[str, Any]) -> None:
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
        folder = _shown_path(settings.MAILSINK_DIR)
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
        ]


def _shown_path(path: Path) -> str:
    """`var/mail` when it is under the current folder (as with `make run`), else absolute."""
    relative = os.path.relpath(path)
    return path.as_posix() if relative.startswith("..") else relative
