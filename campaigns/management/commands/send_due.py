import json
from typing import Any

from django.core.management.base import BaseCommand

from campaigns.sending.services import send_pass_run


class Command(BaseCommand):
    help = 'One synchronous scheduler pass; prints {"sent": n, "failed": n, "deferred": n}.'

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(json.dumps(send_pass_run().as_dict()))
