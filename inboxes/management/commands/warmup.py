import json
from typing import Any

from django.core.management.base import BaseCommand

from inboxes.warmup_passes import WarmupReport, warmup_receive_pass, warmup_send_pass


class Command(BaseCommand):
    help = (
        "One synchronous warmup pass (send what is due, then read the recipients' mailboxes); "
        'prints one JSON line of counts: {"planned", "sent", "failed", "deferred", "received", '
        '"saved_from_spam", "replies_planned", "archived"}.'
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--send-only", action="store_true", help="Skip the receiving side.")
        parser.add_argument("--receive-only", action="store_true", help="Skip sending.")

    def handle(self, *args: Any, **options: Any) -> None:
        report = WarmupReport()
        if not options["receive_only"]:
            report.add(warmup_send_pass())
        if not options["send_only"]:
            report.add(warmup_receive_pass())
        self.stdout.write(json.dumps(report.as_dict()))
