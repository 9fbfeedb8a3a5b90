import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from unibox.mail import UnreadableMessage, parse
from unibox.reply_text import new_text


class Command(BaseCommand):
    help = (
        "Print what the sender of each email newly wrote: one JSON line per file, "
        '{"file": …, "text": …}, or {"file": …, "error": …} for a file that cannot be read.'
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", type=Path, metavar="FILE.eml")

    def handle(self, *args: Any, **options: Any) -> None:
        for path in options["files"]:
            self.stdout.write(json.dumps(self._line(path), ensure_ascii=False))

    @staticmethod
    def _line(path: Path) -> dict[str, str]:
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return {"file": str(path), "error": "no such file"}
        except IsADirectoryError:
            return {"file": str(path), "error": "a directory, not a file"}
        except OSError as error:
            return {"file": str(path), "error": f"cannot be read: {error.strerror or error}"}
        try:
            message = parse(raw)
        except UnreadableMessage as error:
            return {"file": str(path), "error": str(error)}
        return {"file": str(path), "text": new_text(message)}
