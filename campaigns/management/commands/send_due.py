import json
from typing import Any

from django.core.management.base import BaseCommand

from campaigns.scheduler import run_pass


class Command(BaseCommand):
    help = 'One synchronous scheduler pass; prints {"sent": n, "failed": n, "deferred": n}.'

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(json.dumps(run_pass(inline=True).as_dict()))
