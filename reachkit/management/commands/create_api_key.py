from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from reachkit.services import api_key_create, workspace_get_or_create


class Command(BaseCommand):
    help = "Create an API key (and the workspace, if missing); prints the key alone on stdout."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workspace", required=True, help="workspace name")
        parser.add_argument("--name", required=True, help="a label for the key")

    def handle(self, *args: Any, **options: Any) -> None:
        workspace = workspace_get_or_create(name=options["workspace"])
        _, raw_key = api_key_create(workspace=workspace, name=options["name"])
        self.stdout.write(raw_key)
