"""Seed the live fuzzing server through its own API, so the fuzzer's ids reach real rows.

Usage: fuzz_seed.py BASE_URL DIR (the key in FUZZ_API_KEY). Creates, in the key's
workspace: a campaign with two steps, two variants on step 1 with merge tags, leads (one by
one and in bulk), a schedule, two inboxes (one attached), blocklist entries, and a spare
campaign. Writes their ids into DIR/<name>.dict (libFuzzer dictionaries), which
.ci/schemathesis.toml binds to path and body parameters: most generated requests then hit
real rows. The rows a DELETE may take are spares, so the others stay for the whole run.

The sending inbox's SMTP server is the run's mail sink on loopback (FUZZ_SMTP_PORT; .ci/fuzz
allows loopback for inboxes), so a new conversation or a reply really goes out; every other
server is under `.invalid` (RFC 2606: never resolves). The live server runs without a Celery
worker on an in-memory broker: the inboxes' connection check is never run.
Standard library only, so it runs before anything else is installed.
"""

import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

BASE = sys.argv[1].rstrip("/") + "/api/v1"
KEY = os.environ["FUZZ_API_KEY"]


def call(method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    request = urllib.request.Request(
        BASE + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
    except urllib.error.HTTPError as error:
        sys.exit(f"seed: {method} {path} answered {error.code}: {error.read().decode()[:500]}")
    return json.loads(raw)["data"] if raw else None


def main() -> None:
    folder = Path(sys.argv[2])
    campaign = call("POST", "/campaigns", {"name": "Fuzz: spring outreach"})["id"]
    step_1 = call("GET", f"/campaigns/{campaign}/sequences")[0]
    variant_a = step_1["variants"][0]["id"]
    call(
        "PATCH",
        f"/campaigns/{campaign}/variants/{variant_a}",
        {
            "subject": "Hi {{first_name|there}}, a question about {{company}}",
            "body_html": '<p>Hello {{first_name}},</p><p>See <a href="{{website}}">this</a>.</p>',
        },
    )
    variant_b = call(
        "POST",
        f"/campaigns/{campaign}/sequences/{step_1['id']}/variants",
        {"subject": "{{SPINTAX|Hello|Hi}} {{first_name}}", "body_html": "<b>Short</b> one."},
    )["id"]
    step_2 = call("POST", f"/campaigns/{campaign}/sequences", {"delay_days": 2})
    call(
        "PATCH",
        f"/campaigns/{campaign}/schedule",
        {
            "timezone": "Europe/Paris",
            "default_window": {"start": "08:00", "end": "18:00"},
            "days": {"saturday": {"enabled": False, "start": None, "end": None}},
        },
    )
    leads = [
        call(
            "POST",
            f"/campaigns/{campaign}/leads",
            {
                "email": f"lead{number}@fuzz.invalid",
                "first_name": f"Lead{number}",
                "last_name": "Example",
                "variables": {"company": "Acme", "website": "https://acme.invalid"},
            },
        )["id"]
        for number in range(3)
    ]
    call(
        "POST",
        f"/campaigns/{campaign}/leads/bulk",
        {
            "leads": [
                {"email": f"bulk{number}@fuzz.invalid", "variables": {"role": "CTO"}}
                for number in range(5)
            ],
            "if_exists": "skip",
        },
    )
    spare_leads = [
        lead["id"]
        for lead in call("GET", f"/campaigns/{campaign}/leads")
        if lead["id"] not in leads
    ]
    inboxes = [_inbox(name) for name in ("sender", "spare")]
    call("POST", f"/campaigns/{campaign}/inboxes/attach", {"inbox_ids": inboxes[:1]})
    blocked = [
        call("POST", "/blocklist", {"email": value})["id"]
        for value in ("blocked@fuzz.invalid", "blocked-domain.invalid")
    ]
    spare_campaign = call("POST", "/campaigns", {"name": "Fuzz: a spare campaign"})["id"]

    dictionaries = {
        "campaign": [campaign],
        "spare_campaign": [spare_campaign],
        "sequence": [step_1["id"], step_2["id"]],
        "spare_sequence": [step_2["id"]],
        "variant": [variant_a, variant_b],
        "spare_variant": [variant_b],
        "lead": leads,
        "spare_lead": spare_leads,
        "inbox": inboxes,
        "spare_inbox": inboxes[1:],
        "blocklist_entry": blocked,
    }
    folder.mkdir(parents=True, exist_ok=True)
    for name, ids in dictionaries.items():
        (folder / f"{name}.dict").write_text("".join(f'"{value}"\n' for value in ids))
    print(
        f"seeded campaign {campaign} (2 steps, 2 variants, {len(leads) + len(spare_leads)} "
        f"leads), {len(inboxes)} inboxes, {len(blocked)} blocklist entries, a spare campaign"
    )


def _inbox(name: str) -> str:
    server = {"username": name, "password": "not-a-secret", "security": "ssl"}
    smtp = {"host": "smtp.fuzz.invalid", "port": 465, **server}
    if name == "sender":
        smtp |= {"host": "127.0.0.1", "port": int(os.environ["FUZZ_SMTP_PORT"]), "security": "none"}
    inbox = call(
        "POST",
        "/inboxes",
        {
            "email": f"{name}@fuzz.invalid",
            "first_name": name.title(),
            "last_name": "Sender",
            "smtp": smtp,
            "imap": {"host": "imap.fuzz.invalid", "port": 993, **server},
        },
    )
    return str(inbox["id"])


if __name__ == "__main__":
    main()
