"""Lead imports on PostgreSQL, against the database's own speed.

Imports the same 100,000 leads (a) through `POST /api/v1/campaigns/:id/leads/bulk` in
1,000-lead calls to a real gunicorn server, and (b) through `manage.py import_leads`, then
times PostgreSQL `COPY` of the very same rows into a scratch table as the baseline, and
prints leads/second and the ratios (targets: bulk within 10x of COPY, CSV within 5x). Then
lists the 100,000-lead campaign with every filter and sort: queries per page, time, and
the index the plan uses.

    python bench/leads_import.py [--rows 100000] [--postgres postgres://postgres@127.0.0.1:5432]
                                 [--strict: exit 1 when a target is missed]

It creates its own database, rk_bench_leads, and drops it when done. ESP detection is not
part of the figures: the broker is in memory and no worker runs (no DNS is asked).
"""

import argparse
import csv
import http.client
import json
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
import unicodedata
from pathlib import Path

import psycopg
from _database import DEFAULT_SERVER, ROOT, bench_database

DATABASE = "rk_bench_leads"
BULK_SIZE = 1000
TARGETS = {"bulk": 10.0, "csv": 5.0}

FIRST = ["Ann", "Bob", "Chloé", "Dev", "Eve", "Femi", "Gus", "Hana", "Ivo", "Jun", "Kai", "Lea"]
LAST = ["Lee", "Smith", "Okafor", "Müller", "Garcia", "Tanaka", "Rossi", "Novak", "Dubois"]
TITLES = ["CEO", "CTO", "VP Sales", "Head of Growth", "Founder", "Marketing Manager"]
CITIES = ["Paris", "Berlin", "Austin", "Lagos", "Osaka", "Toronto", "Lisbon"]


def ascii(name: str) -> str:
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()


def make_leads(count: int) -> list[dict]:
    rng = random.Random(5)
    leads = []
    for n in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        domain = f"company{n % 5000}.com"
        leads.append(
            {
                "email": f"{ascii(first)}.{ascii(last)}{n}@{domain}",
                "first_name": first,
                "last_name": last,
                "variables": {
                    "company": f"Company {n % 5000}",
                    "title": rng.choice(TITLES),
                    "city": rng.choice(CITIES),
                },
            }
        )
    return leads


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("gunicorn exited early")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("gunicorn did not start")


def bench_bulk(leads: list[dict], campaign_id: str, raw_key: str, env: dict) -> float:
    """Leads/second through the bulk endpoint of a real server (one gunicorn worker)."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "reachkit.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", "1", "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    try:
        wait_for_port(port, server)
        bodies = [
            json.dumps({"leads": leads[start : start + BULK_SIZE]}).encode()
            for start in range(0, len(leads), BULK_SIZE)
        ]
        headers = {"Authorization": f"Bearer {raw_key}", "Content-Type": "application/json"}
        path = f"/api/v1/campaigns/{campaign_id}/leads/bulk"
        created = 0
        started = time.perf_counter()
        for body in bodies:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            payload = json.loads(response.read())
            connection.close()
            if response.status != 200:
                raise SystemExit(f"bulk call failed: {response.status} {payload}")
            created += payload["data"]["created"]
        seconds = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=30)
    if created != len(leads):
        raise SystemExit(f"bulk created {created} leads, expected {len(leads)}")
    return len(leads) / seconds


def bench_csv(leads: list[dict], campaign_id: str) -> float:
    """Leads/second through `import_leads` (in this process: no interpreter start-up)."""
    from django.core.management import call_command

    from leads.models import Lead

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "leads.csv"
        with path.open("w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file)
            writer.writerow(["Email", "First Name", "Last Name", "Company", "Title", "City"])
            for lead in leads:
                variables = lead["variables"]
                writer.writerow(
                    [lead["email"], lead["first_name"], lead["last_name"], variables["company"],
                     variables["title"], variables["city"]]
                )  # fmt: skip
        with open(os.devnull, "w") as devnull:
            started = time.perf_counter()
            call_command("import_leads", "--campaign", campaign_id, str(path), stdout=devnull)
            seconds = time.perf_counter() - started
    if Lead.objects.filter(campaign_id=campaign_id).count() != len(leads):
        raise SystemExit("import_leads did not import every row")
    return len(leads) / seconds


def bench_copy(dsn: str, campaign_id: str, count: int) -> tuple[float, float]:
    """Leads/second of COPY of the same rows: into a bare scratch table, and into one with the
    leads table's indexes and constraints."""
    with psycopg.connect(dsn, autocommit=True) as connection:
        cursor = connection.cursor()
        data = bytearray()
        with cursor.copy(
            "COPY (SELECT * FROM leads_lead WHERE campaign_id = %s ORDER BY created_at) TO STDOUT",
            [campaign_id],
        ) as copy:
            for chunk in copy:
                data += chunk
        rates = []
        for name, like in (
            ("bench_scratch", "INCLUDING DEFAULTS"),
            ("bench_indexed", "INCLUDING ALL"),
        ):
            cursor.execute(f"CREATE TABLE {name} (LIKE leads_lead {like})")
            cursor.execute("CHECKPOINT")
            started = time.perf_counter()
            with cursor.copy(f"COPY {name} FROM STDIN") as copy:
                for start in range(0, len(data), 1 << 20):
                    copy.write(data[start : start + (1 << 20)])
            rates.append(count / (time.perf_counter() - started))
            cursor.execute(f"DROP TABLE {name}")
    return rates[0], rates[1]


def bench_list(campaign_id: str, raw_key: str, dsn: str) -> list[tuple[str, int, float, str]]:
    """GET …/leads?page_size=100 on the big campaign: queries, milliseconds, plan."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    with psycopg.connect(dsn, autocommit=True) as pg:
        pg.execute("ANALYZE leads_lead")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    url = f"/api/v1/campaigns/{campaign_id}/leads"
    queries = {
        "default (newest first)": {},
        "page 500": {"page": 500},
        "sort_by=email": {"sort_by": "email", "sort_order": "asc"},
        "sort_by=first_name": {"sort_by": "first_name"},
        "sort_by=last_name": {"sort_by": "last_name", "sort_order": "asc"},
        "status=replied": {"status": "replied"},
        "provider=google": {"provider": "google"},
        "is_bounced=true": {"is_bounced": "true"},
        "is_unsubscribed=true": {"is_unsubscribed": "true"},
        "is_blocklisted=true": {"is_blocklisted": "true"},
        "search=okafor": {"search": "okafor"},
        "search=company42": {"search": "company42.com"},
    }
    client.get(url)  # warm up: the key's first use, connection set-up
    rows = []
    for label, query in queries.items():
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url, {"page_size": 100, **query})
            milliseconds = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, response.content
        page_sql = next(
            q["sql"] for q in captured if "LIMIT" in q["sql"] and "leads_lead" in q["sql"]
        )
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN {page_sql}")
            plan = "\n".join(row[0] for row in cursor.fetchall())
        used = sorted(set(re.findall(r"(?:using|Bitmap Index Scan on) (\w+)", plan)))
        where = ", ".join(used) or ("SEQ SCAN" if "Seq Scan" in plan else "?")
        rows.append((label, len(captured), milliseconds, where))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument(
        "--postgres",
        default=DEFAULT_SERVER,
        help="server URL without a database name",
    )
    args = parser.parse_args()
    with bench_database(DATABASE, args.postgres) as dsn:
        from campaigns.models import Campaign
        from reachkit.services import api_key_create, workspace_get_or_create

        env = dict(os.environ)
        workspace = workspace_get_or_create(name="Bench")
        _, raw_key = api_key_create(workspace=workspace, name="bench")
        bulk_campaign = Campaign.objects.create(workspace=workspace, name="Bulk")
        csv_campaign = Campaign.objects.create(workspace=workspace, name="CSV")
        leads = make_leads(args.rows)

        print(f"{args.rows:,} leads, {BULK_SIZE:,} per bulk call; PostgreSQL {DATABASE}")
        bulk = bench_bulk(leads, str(bulk_campaign.pk), raw_key, env)
        csv_rate = bench_csv(leads, str(csv_campaign.pk))
        copy_bare, copy_indexed = bench_copy(dsn, str(csv_campaign.pk), args.rows)

        print(f"  COPY into a scratch table          {copy_bare:>10,.0f} leads/s   (baseline)")
        print(f"  COPY into a table with lead indexes {copy_indexed:>9,.0f} leads/s")
        missed = []
        for name, rate in (("bulk", bulk), ("csv", csv_rate)):
            ratio = copy_bare / rate
            label = {"bulk": "bulk endpoint (HTTP, 1,000/call)", "csv": "import_leads (CSV)"}[name]
            verdict = "ok" if ratio <= TARGETS[name] else "MISSED"
            if verdict != "ok":
                missed.append(name)
            print(
                f"  {label:<34} {rate:>10,.0f} leads/s   {ratio:4.1f}x COPY "
                f"(target {TARGETS[name]:.0f}x: {verdict}; {copy_indexed / rate:.1f}x indexed COPY)"
            )

        print(f"\nGET …/leads?page_size=100 on the {args.rows:,}-lead campaign")
        for label, queries, milliseconds, index in bench_list(str(csv_campaign.pk), raw_key, dsn):
            print(f"  {label:<24} {queries} queries {milliseconds:7.1f} ms   {index}")
    if missed and args.strict:
        sys.exit(f"target missed: {', '.join(missed)}")


if __name__ == "__main__":
    main()
