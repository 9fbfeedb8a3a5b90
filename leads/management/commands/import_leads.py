import sys
import time
import uuid
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from campaigns.models import Campaign
from leads.imports import ImportRefused
from leads.inputs import IF_EXISTS_CHOICES, IfExists
from leads.services import lead_import_csv
from reachkit.text import plural


def count_lines(path: Path) -> int:
    """Data lines in the file (not counting the header), for the progress bar's total."""
    lines = 0
    last = b"\n"
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    if last != b"\n":
        lines += 1
    return max(lines - 1, 0)


class Command(BaseCommand):
    help = (
        "Import leads into a campaign from a CSV file (UTF-8, commas or semicolons, a header "
        "row). Bad rows are reported on stderr with their line numbers; good rows are kept."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--campaign", required=True, help="the campaign's id")
        parser.add_argument("file", type=Path, help="the CSV file")
        parser.add_argument(
            "--if-exists",
            choices=IF_EXISTS_CHOICES,
            default=IfExists.FAIL.value,
            help="an email already in the campaign: report it (fail, the default), leave "
            "the lead alone (skip), or replace its names and merge its variables (update)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        campaign = self._campaign(options["campaign"])
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}")

        # The bar goes to stderr, on a terminal only: a pipe or a log gets the summary alone.
        stream = getattr(self.stderr, "_out", sys.stderr)
        bar = tqdm(
            total=count_lines(path),
            unit=" rows",
            file=stream,
            disable=not stream.isatty(),
            dynamic_ncols=True,
        )
        started = time.monotonic()
        try:
            with path.open("rb") as file, bar:
                result = lead_import_csv(
                    campaign=campaign,
                    stream=file,
                    if_exists=IfExists(options["if_exists"]),
                    progress=bar.update,
                )
        except ImportRefused as refused:
            raise CommandError(refused.message) from None
        seconds = time.monotonic() - started

        for line, message in result.errors:
            self.stderr.write(f"line {line}: {message}")
        rate = result.rows / seconds if seconds else 0
        self.stdout.write(
            f'{path.name} → "{campaign.name}": {plural(result.rows, "row")}, '
            f"{result.created:,} created, {result.updated:,} updated, {result.skipped:,} "
            f"skipped, {len(result.errors):,} failed in {seconds:.1f}s ({rate:,.0f} rows/s)"
        )
        note = result.lines_note()
        if note is not None:
            self.stdout.write(note)

    @staticmethod
    def _campaign(raw: str) -> Campaign:
        try:
            campaign_id = uuid.UUID(raw)
        except ValueError:
            raise CommandError(f"Not a campaign id: {raw}") from None
        campaign = Campaign.objects.select_related("workspace").filter(pk=campaign_id).first()
        if campaign is None:
            raise CommandError(f"No campaign with id {raw}")
        return campaign
