"""What the sending benches share: their own PostgreSQL database, an SMTP sink in its own
process, and an active campaign with due leads written with COPY.

Not a bench itself (`make bench` runs `bench/[!_]*.py`).
"""

import multiprocessing
import re
import socket
import time
from datetime import UTC, datetime
from datetime import time as clock_time
from multiprocessing.connection import Connection
from typing import Any
from zoneinfo import ZoneInfo

SMTP_PASSWORD = "bench-password"

# --- The SMTP sink -----------------------------------------------------------------------------

_MESSAGE_ID = re.compile(rb"(?im)^message-id:[ \t]*(<[^>\r\n]+>)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(port: int, control: Connection) -> None:
    """The sink's process: aiosmtpd that accepts any login and any message, counting
    Message-IDs, and answers `count` / `reset` / `stop` on the control pipe."""
    import logging
    from collections import Counter

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    logging.getLogger("mail.log").setLevel(logging.ERROR)  # one line per command otherwise
    received: Counter[bytes] = Counter()

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            match = _MESSAGE_ID.search(envelope.original_content or b"")
            received[match.group(1) if match else b""] += 1
            return "250 2.0.0 OK: queued"

    controller = Controller(
        Handler(),
        hostname="127.0.0.1",
        port=port,
        authenticator=lambda *args: AuthResult(success=True),
        auth_require_tls=False,
    )
    controller.start()
    control.send("ready")
    while True:
        command = control.recv()
        if command == "count":
            control.send((sum(received.values()), sum(1 for n in received.values() if n > 1)))
        elif command == "reset":
            received.clear()
            control.send("ok")
        else:
            controller.stop()
            control.send("stopped")
            return


class Sink:
    """An SMTP server in its own process (its own core): `count()` is (messages, duplicated
    Message-IDs) since the last `reset()`."""

    host = "127.0.0.1"

    def __init__(self) -> None:
        self.port = free_port()
        self._control, child = multiprocessing.Pipe()
        self._process = multiprocessing.get_context("fork").Process(
            target=_serve, args=(self.port, child), daemon=True
        )

    def __enter__(self) -> "Sink":
        self._process.start()
        if self._control.recv() != "ready":
            raise SystemExit("the SMTP sink did not start")
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._control.send("stop")
        self._control.recv()
        self._process.join(10)

    def count(self) -> tuple[int, int]:
        self._control.send("count")
        messages, duplicated = self._control.recv()
        return messages, duplicated

    def reset(self) -> None:
        self._control.send("reset")
        self._control.recv()


# --- A campaign ---------------------------------------------------------------------------------


def open_timezone(now: datetime) -> str:
    """A supported timezone where a 00:00 to 23:30 window is open for the next hours."""
    from campaigns.windows import SUPPORTED_TIMEZONES

    for name in SUPPORTED_TIMEZONES:
        if 1 <= now.astimezone(ZoneInfo(name)).hour < 20:
            return name
    raise SystemExit("no supported timezone is in its day")


def make_campaign(*, name: str, inboxes: list[Any], workspace: Any) -> Any:
    """An active two-step campaign open all day now, without caps worth the name."""
    from campaigns import services
    from campaigns.models import Variant

    campaign = services.campaign_create(workspace=workspace, name=name)
    variant = Variant.objects.get(sequence__campaign=campaign, sequence__step=1)
    services.variant_update(
        variant=variant,
        subject="{{Hi|Hello}} {{first_name}}",
        body_html=(
            "Hello {{first_name}},<br><br>a quick question about {{company|your team}}: who "
            "looks after outbound there?<br><br>Thanks,<br>{{sender_first_name}}"
        ),
    )
    follow_up = services.sequence_create(campaign=campaign, delay_days=3)
    services.variant_update(
        variant=follow_up.variants.get(), body_html="Just bumping this up, {{first_name}}."
    )
    services.schedule_update(
        campaign=campaign,
        timezone=open_timezone(datetime.now(UTC)),
        default_window={"start": clock_time(0, 0), "end": clock_time(23, 30)},
        days={day: {"enabled": True} for day in ("monday", "tuesday", "wednesday", "thursday",
                                                 "friday", "saturday", "sunday")},
    )  # fmt: skip
    services.campaign_inboxes_attach(campaign=campaign, inbox_ids=[inbox.pk for inbox in inboxes])
    return services.campaign_update(
        campaign=campaign, status="active", options={"daily_limit": 10_000_000}
    )


def make_inbox(*, workspace: Any, sink: Sink, number: int) -> Any:
    """An SMTP-only inbox sending to the sink (nothing is filed over IMAP)."""
    from inboxes.models import Inbox

    email = f"sender{number}@bench.test"
    return Inbox.objects.create(
        workspace=workspace,
        email=email,
        domain="bench.test",
        first_name="Sam",
        last_name="Sender",
        smtp_host=sink.host,
        smtp_port=sink.port,
        smtp_username=email,
        smtp_password=SMTP_PASSWORD,
        smtp_security=Inbox.Security.NONE,
        provider=Inbox.Provider.OTHER,
        connection_status=Inbox.ConnectionStatus.CONNECTED,
        daily_campaign_limit=10_000_000,
    )


def add_leads(*, campaign: Any, count: int, prefix: str = "lead") -> float:
    """`count` due leads through the bulk COPY path; returns the seconds it took."""
    from django.db import transaction
    from django.utils import timezone

    from leads.bulk import LeadRow, insert_leads, ordered_ids

    started = time.perf_counter()
    chunk = 100_000
    for start in range(0, count, chunk):
        size = min(chunk, count - start)
        rows = []
        for offset, lead_id in enumerate(ordered_ids(size)):
            n = start + offset
            email = f"{prefix}{n}@company{n % 5000}.com"
            rows.append(
                LeadRow(
                    id=lead_id,
                    email=email,
                    email_key=email,
                    domain=f"company{n % 5000}.com",
                    first_name=f"Lead{n}",
                    last_name="Example",
                    variables={"company": f"Company {n % 5000}"},
                    search_text=email,
                )
            )
        with transaction.atomic():
            insert_leads(
                workspace_id=campaign.workspace_id,
                campaign_id=campaign.pk,
                rows=rows,
                now=timezone.now(),
            )
    return time.perf_counter() - started
