from email.message import EmailMessage
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from unibox.bounces import parse_bounce
from unibox.management.eml_files import json_lines


class Command(BaseCommand):
    help = (
        'Is each .eml file a bounce? One JSON line per file: {"file", "is_bounce", "type", '
        '"recipient", "status", "reason", "diagnostic", "original_message_id"}, or '
        '{"file", "error"} for a file that is missing, empty or no email.'
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", metavar="FILE.eml")

    def handle(self, *args: Any, **options: Any) -> None:
        for line in json_lines(options["files"], _describe):
            self.stdout.write(line)


def _describe(message: EmailMessage) -> dict[str, Any]:
    bounce = parse_bounce(message)
    return {
        "is_bounce": bounce.is_bounce,
        "type": bounce.type,
        "recipient": bounce.recipient,
        "status": bounce.status,
        "reason": bounce.reason,
        "diagnostic": bounce.diagnostic or None,
        "original_message_id": bounce.original_message_id,
    }
