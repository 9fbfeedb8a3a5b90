import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from campaigns.demo import demo_outreach_ensure
from reachkit.models import Workspace


class Command(BaseCommand):
    help = (
        "Development only (run by setup_demo): a demo inbox wired to the local mail sink and an "
        "active demo campaign in WORKSPACE, made once; prints one JSON line describing them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--workspace", required=True, help="the workspace's name")
        parser.add_argument("--sink-host", default="127.0.0.1")
        parser.add_argument("--sink-port", type=int, default=settings.MAILSINK_PORT)

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("setup_demo_outreach runs only with REACHKIT_DEBUG=1")
        workspace = Workspace.objects.filter(name=options["workspace"]).first()
        if workspace is None:
            raise CommandError(f"no workspace named {options['workspace']!r}")
        demo = demo_outreach_ensure(
            workspace=workspace, sink_host=options["sink_host"], sink_port=options["sink_port"]
        )
        inbox, campaign = demo.inbox, demo.campaign
        summary = {
            "inbox": inbox.email,
            "smtp": f"{inbox.smtp_host}:{inbox.smtp_port}",
            "campaign": campaign.name,
            "campaign_id": str(campaign.pk),
            "status": campaign.status,
            "leads": campaign.leads.count(),
            "created": demo.created,
        }
        self.stdout.write(json.dumps(summary))
