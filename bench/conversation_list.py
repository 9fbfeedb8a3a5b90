"""The Conversation API's list on PostgreSQL: a page of 20 threads, with their messages.

Each conversation is a lead that got three campaign emails (spintax in every step, so each
is rendered again by the engine) and answered twice with ~5 KB of HTML (sanitised on the
way out). Prints one JSON line: the median time of a page, of a `folder` page, of a page
100 deep and of a `search`, and the queries a page costs.

    .venv/bin/python bench/conversation_list.py [--conversations 2000]
"""

import argparse
import json
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _database import DEFAULT_SERVER, bench_database

DATABASE = "bench_conversation_list"
HTML = "<p>" + ("Thanks for reaching out, this sounds interesting. " * 100) + "</p>"


def seed(count: int) -> tuple[str, str]:
    from campaigns import services
    from campaigns.models import Send, Variant
    from inboxes.models import Inbox
    from leads.models import Lead
    from reachkit.models import Workspace
    from reachkit.services import api_key_create
    from unibox.models import Conversation, Message

    workspace = Workspace.objects.create(name="Bench")
    _, key = api_key_create(workspace=workspace, name="bench")
    inbox = Inbox.objects.create(
        workspace=workspace, email="sam@acme.example", domain="acme.example"
    )
    campaign = services.campaign_create(workspace=workspace, name="Bench")
    for _ in range(2):
        services.sequence_create(campaign=campaign)
    variants = list(Variant.objects.filter(sequence__campaign=campaign).order_by("sequence__step"))
    for variant in variants:
        services.variant_update(
            variant=variant,
            subject="{{SPINTAX|Hi|Hello}} {{first_name}}" if variant.sequence.step == 1 else "",
            body_html="{{SPINTAX|Hello|Hi there}} {{first_name}},<br>"
            + "a {{SPINTAX|quick|short}} question about {{company|your team}}. " * 20,
        )
    start = datetime(2026, 1, 1, tzinfo=UTC)
    leads = Lead.objects.bulk_create(
        Lead(
            workspace=workspace,
            campaign=campaign,
            email=f"lead{i}@example.com",
            email_key=f"lead{i}@example.com",
            domain="example.com",
            first_name=f"Lead{i}",
            variables={"company": f"Company {i}"},
        )
        for i in range(count)
    )
    sends, conversations, messages = [], [], []
    for i, lead in enumerate(leads):
        at = start + timedelta(minutes=i)
        for variant in variants:
            step = variant.sequence.step
            sends.append(
                Send(
                    campaign=campaign,
                    lead=lead,
                    step=step,
                    sequence=variant.sequence,
                    variant=variant,
                    inbox=inbox,
                    from_email=inbox.email,
                    to_email=lead.email,
                    status=Send.Status.SENT,
                    sent_at=at - timedelta(days=10 - 3 * step),
                    message_id=f"<s{step}.{i}@acme.example>",
                    subject=f"Hi Lead{i}" if step == 1 else f"Re: Hi Lead{i}",
                )
            )
        conversation = Conversation(
            workspace=workspace,
            lead=lead,
            inbox=inbox,
            subject=f"Hi Lead{i}",
            folder="primary" if i % 3 else "others",
            label="interested",
            last_message_at=at,
        )
        conversations.append(conversation)
        for n in range(2):
            messages.append(
                Message(
                    workspace=workspace,
                    conversation=conversation,
                    inbox=inbox,
                    direction="incoming",
                    message_id=f"<r{n}.{i}@example.com>",
                    subject=f"Re: Hi Lead{i}",
                    from_email=lead.email,
                    to_recipients=[{"email": inbox.email, "name": "Sam"}],
                    text_body="Thanks for reaching out " * 50,
                    html_body=HTML,
                    email_date=at - timedelta(hours=2 - n),
                )
            )
    Send.objects.bulk_create(sends, batch_size=2000)
    Conversation.objects.bulk_create(conversations, batch_size=2000)
    Message.objects.bulk_create(messages, batch_size=2000)
    return key, workspace.name


def median_ms(client, url: str, runs: int) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.content[:500]
    return round(statistics.median(timings), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--postgres", default=DEFAULT_SERVER)
    parser.add_argument("--profile", action="store_true", help="print where a page's time goes")
    args = parser.parse_args()
    with bench_database(DATABASE, args.postgres):
        import cProfile
        import pstats

        from django.db import connection
        from rest_framework.test import APIClient

        key, _ = seed(args.conversations)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        url = "/api/v1/unibox/conversations"
        queries: list[str] = []

        def count(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
            queries.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            page = client.get(url).json()
        if "--profile" in sys.argv:
            cProfile.runctx("client.get(url)", globals(), locals(), "/tmp/convlist.prof")
            pstats.Stats("/tmp/convlist.prof").sort_stats("cumulative").print_stats(25)
        assert len(page["data"]) == 20
        assert len(page["data"][0]["messages"]) == 5
        print(
            json.dumps(
                {
                    "conversations": args.conversations,
                    "page_ms": median_ms(client, url, args.runs),
                    "folder_page_ms": median_ms(client, f"{url}?folder=primary", args.runs),
                    "page_100_ms": median_ms(client, f"{url}?page=100", args.runs),
                    "search_ms": median_ms(client, f"{url}?search=lead1999", args.runs),
                    "queries_per_page": len(queries),
                }
            )
        )


if __name__ == "__main__":
    main()
