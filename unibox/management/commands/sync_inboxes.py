import json
import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from inboxes.models import Inbox
from unibox.imap_sync import counts_line, sync_inboxes


class Command(BaseCommand):
    help = (
        "One synchronous IMAP pass over every connected inbox (or one, --inbox ID); prints "
        "one JSON line of counts."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--inbox", help="the id of the one inbox to sync")

    def handle(self, *args: Any, **options: Any) -> None:
        inbox_id = None
        if options["inbox"]:
            try:
                inbox_id = uuid.UUID(options["inbox"])
            except ValueError:
                raise CommandError(f"--inbox: not an inbox id: {options['inbox']!r}") from None
            if not Inbox.objects.filter(pk=inbox_id).exists():
                raise CommandError(f"--inbox: no inbox with id {inbox_id}")
        counts = sync_inboxes(inbox_id=inbox_id)
        self.stdout.write(json.dumps(counts_line(counts.items())))
