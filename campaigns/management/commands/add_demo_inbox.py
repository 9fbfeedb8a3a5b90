import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from campaigns.demo import NotADemoInbox, demo_inbox_add
from reachkit.models import Workspace


class Command(BaseCommand):
    help = (
        "Development only (make run): another inbox that sends to the local mail sink, marked "
        "connected without a check (the sink has no IMAP) and attached to the demo campaign; "
        'prints one JSON line. make manage ARGS="add_demo_inbox kim@reachkit.test"'
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email", help="the inbox's address, e.g. kim@reachkit.test")
        parser.add_argument("--workspace", default="Demo", help="the workspace's name (Demo)")
        parser.add_argument(
            "--no-attach", action="store_true", help="leave it out of the demo campaign"
        )
        parser.add_argument("--sink-host", default="127.0.0.1")
        parser.add_argument("--sink-port", type=int, default=settings.MAILSINK_PORT)

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError(
                "add_demo_inbox runs only with REACHKIT_DEBUG=1: beside make run, "
                'use make manage ARGS="add_demo_inbox …"'
            )
        workspace = Workspace.objects.filter(name=options["workspace"]).first()
        if workspace is None:
            raise CommandError(f"no workspace named {options['workspace']!r} (run make run once)")
        try:
            added = demo_inbox_add(
                workspace=workspace,
                email=options["email"],
                sink_host=options["sink_host"],
                sink_port=options["sink_port"],
                attach=not options["no_attach"],
            )
        except (ValueError, NotADemoInbox) as error:
            raise CommandError(str(error)) from None
        inbox = added.inbox
        summary = {
            "inbox": inbox.email,
            "id": str(inbox.pk),
            "smtp": f"{inbox.smtp_host}:{inbox.smtp_port}",
            "created": added.created,
            "campaign_id": str(added.campaign.pk) if added.campaign else None,
        }
        self.stdout.write(json.dumps(summary))
