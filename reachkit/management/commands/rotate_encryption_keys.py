import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reachkit.key_rotation import DEFAULT_BATCH_SIZE, rotate_encryption_keys


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted column under the newest of REACHKIT_ENCRYPTION_KEYS. "
        "Prints one JSON line of counts. Run it after putting a new key in front; then the "
        "old key can be dropped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)

    def handle(self, *args: Any, batch_size: int, **options: Any) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        report = rotate_encryption_keys(batch_size=batch_size)
        summary = {
            "reencrypted": report.reencrypted,
            "current": report.current,
            "unreadable": report.unreadable,
            "columns": {
                label: {
                    "reencrypted": counts.reencrypted,
                    "current": counts.current,
                    "unreadable": counts.unreadable,
                }
                for label, counts in report.columns.items()
            },
        }
        self.stdout.write(json.dumps(summary))
        if report.unreadable:
            raise CommandError(
                f"{report.unreadable} value(s) could not be decrypted with any configured key; "
                "they were left as they are"
            )
