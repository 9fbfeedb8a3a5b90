import json
import time
from typing import Any

from django.core.management.base import BaseCommand

from unibox import reply_model


class Command(BaseCommand):
    help = (
        "Trains the offline reply classifier from unibox/data/reply_labels.jsonl, as every "
        'process does at first use, and prints {"examples", "features", "seconds", '
        '"fingerprint"}: the fingerprint is the same on every run and machine with the same '
        "data and libraries."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        examples = reply_model.load_examples()
        model = reply_model.train(examples)
        summary = {
            "examples": len(examples),
            "features": model.feature_count,
            "seconds": round(time.perf_counter() - started, 2),
            "fingerprint": model.fingerprint(),
        }
        self.stdout.write(json.dumps(summary))
