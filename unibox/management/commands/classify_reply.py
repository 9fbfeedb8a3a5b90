import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from unibox.classify import classify_message
from unibox.mail import UnreadableMessage, parse


class Command(BaseCommand):
    help = (
        'The label of each reply: one JSON line per file, {"file", "label", "is_positive", '
        '"is_auto_reply", "auto_reply_kind", "return_date", "replacement_email"}; a file that '
        'cannot be read gets {"file", "error"}.'
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", metavar="FILE.eml")

    def handle(self, *args: Any, **options: Any) -> None:
        for name in options["files"]:
            self.stdout.write(json.dumps(_line(name), ensure_ascii=False))


def _line(name: str) -> dict[str, Any]:
    # The same error lines as extract_reply's and parse_bounce's.
    try:
        message = parse(Path(name).read_bytes())
    except FileNotFoundError:
        return {"file": name, "error": "no such file"}
    except IsADirectoryError:
        return {"file": name, "error": "a directory, not a file"}
    except OSError as error:
        return {"file": name, "error": f"cannot be read: {error.strerror or error}"}
    except UnreadableMessage as error:
        return {"file": name, "error": str(error)}
    result = classify_message(message)
    auto = result.auto_reply
    return {
        "file": name,
        "label": result.label,
        "is_positive": result.is_positive,
        "is_auto_reply": result.is_auto_reply,
        "auto_reply_kind": auto.kind if auto else None,
        "return_date": auto.return_date.isoformat() if auto and auto.return_date else None,
        "replacement_email": auto.replacement_email if auto else None,
    }
