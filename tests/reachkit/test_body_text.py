"""No string of a JSON request body takes a NUL or a lone surrogate (reachkit.api.fields).

Every string of every write endpoint's body, in turn, gets a NUL and then a lone surrogate
in an otherwise valid body: the answer is a 4xx in the error envelope (a per-row error in a
bulk call) and nothing changes. The cases are read off valid bodies, and a test checks that
they cover every string field the OpenAPI document lists, so a new field gets one.
"""

import copy
import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest
from django.test import Client

from blocklist.models import BlocklistEntry
from campaigns.models import Campaign, CampaignInbox, Schedule, Sequence, Variant
from inboxes.models import Inbox
from leads.models import Lead
from reachkit.webhooks.models import WebhookEndpoint
from tests.campaigns.factories import CampaignFactory, make_ready
from tests.inboxes.factories import InboxFactory
from tests.leads.factories import LeadFactory

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
SERVER = {"host": "smtp.acme.com", "port": 587, "username": "sam", "password": "pw-1",
          "security": "starttls"}  # fmt: skip
# Objects whose keys the client chooses (their keys are strings of the body too).
FREE_FORM = {"variables"}

Body = Callable[[Any], dict[str, Any]]
# Per operation of the OpenAPI document, valid bodies with every field it takes.
BODIES: dict[tuple[str, str], list[Body]] = {
    ("POST", "/api/v1/blocklist"): [
        lambda w: {"email": "spam@acme.com"},
        lambda w: {"emails": ["spam@acme.com"]},
    ],
    ("POST", "/api/v1/campaigns"): [lambda w: {"name": "Q3"}],
    ("PATCH", "/api/v1/campaigns/{id}"): [lambda w: {"name": "Q3", "status": "active"}],
    ("PATCH", "/api/v1/campaigns/{id}/schedule"): [
        lambda w: {
            "timezone": "Europe/London",
            "default_window": {"start": "09:00", "end": "17:00"},
            "days": {day: {"enabled": True, "start": "08:00", "end": "18:00"} for day in DAYS},
        }
    ],
    ("POST", "/api/v1/campaigns/{id}/inboxes/attach"): [
        lambda w: {"inbox_ids": [str(w.spare_inbox.pk)]}
    ],
    ("POST", "/api/v1/campaigns/{id}/inboxes/detach"): [lambda w: {"inbox_ids": [str(w.inbox.pk)]}],
    ("POST", "/api/v1/campaigns/{campaign_id}/leads"): [
        lambda w: {
            "email": "new@acme.com",
            "first_name": "New",
            "last_name": "Lead",
            "variables": {"company": "Acme"},
            "if_exists": "fail",
        }
    ],
    ("PATCH", "/api/v1/campaigns/{campaign_id}/leads/{id}"): [
        lambda w: {"first_name": "Ann", "last_name": "Lee", "variables": {"company": "Initech"}}
    ],
    ("POST", "/api/v1/campaigns/{campaign_id}/leads/bulk"): [
        lambda w: {
            "leads": [
                {
                    "email": "new@acme.com",
                    "first_name": "New",
                    "last_name": "Lead",
                    "variables": {"company": "Acme"},
                }
            ],
            "if_exists": "fail",
        }
    ],
    ("POST", "/api/v1/campaigns/{campaign_id}/sequences/{id}/variants"): [
        lambda w: {"subject": "Hi {{first_name}}", "body_html": "Hello"}
    ],
    ("PATCH", "/api/v1/campaigns/{campaign_id}/variants/{variant_id}"): [
        lambda w: {"subject": "Hi {{first_name}}", "body_html": "Hello"}
    ],
    ("POST", "/api/v1/campaigns/{campaign_id}/variants/{variant_id}/preview"): [
        lambda w: {"variables": {"first_name": "Ann"}, "inbox_id": str(w.inbox.pk)},
        lambda w: {"lead_id": str(w.lead.pk)},
    ],
    ("POST", "/api/v1/inboxes"): [
        lambda w: {
            "email": "new@acme.com",
            "first_name": "New",
            "last_name": "Inbox",
            "smtp": SERVER,
            "imap": {**SERVER, "port": 993, "security": "ssl"},
        }
    ],
    ("PATCH", "/api/v1/inboxes/{id}"): [
        lambda w: {
            "first_name": "Sam",
            "last_name": "Lee",
            "reply_to": "replies@acme.com",
            "signature": "Sam",
        }
    ],
    ("POST", "/api/v1/webhooks"): [
        lambda w: {
            "url": "https://93.184.215.14/hook",
            "event_types": ["email_sent"],
            "description": "CRM",
        }
    ],
    ("PATCH", "/api/v1/webhooks/{id}"): [
        lambda w: {
            "url": "https://93.184.215.14/v2",
            "event_types": ["reply_received"],
            "description": "CRM",
        }
    ],
}


@dataclass(frozen=True)
class Key:
    """A path segment naming a key the client chose: the key itself is made bad."""

    name: str


Path = tuple[str | int | Key, ...]


def string_paths(value: Any, path: Path = ()) -> Iterator[Path]:
    if isinstance(value, str):
        yield path
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from string_paths(item, (*path, index))
    elif isinstance(value, dict):
        for key, item in value.items():
            if path and path[-1] in FREE_FORM:
                yield (*path, Key(key))
            yield from string_paths(item, (*path, key))


def spelled(path: Path) -> str:
    """`leads.[].variables.*`, `variables.<key>`: the path as the schema walk names it."""
    parts = []
    for position, segment in enumerate(path):
        if isinstance(segment, int):
            parts.append("[]")
        elif isinstance(segment, Key):
            parts.append("<key>")
        elif position and path[position - 1] in FREE_FORM:
            parts.append("*")
        else:
            parts.append(segment)
    return ".".join(parts)


def _placeholders() -> SimpleNamespace:
    thing = SimpleNamespace(pk=uuid.UUID(int=0))
    return SimpleNamespace(inbox=thing, spare_inbox=thing, lead=thing)


CASES = [
    (operation, index, path)
    for operation, bodies in BODIES.items()
    for index, body in enumerate(bodies)
    for path in string_paths(body(_placeholders()))
]
# A day's name is a key of `days` the client writes; a wrong one is quoted back.
EXTRA = [(("PATCH", "/api/v1/campaigns/{id}/schedule"), 0, ("days", Key("monday")))]


def case_id(case: tuple[tuple[str, str], int, Path]) -> str:
    (method, template), index, path = case
    return f"{method} {template.removeprefix('/api/v1')} #{index} {spelled(path)}"


def with_bad_text(body: dict[str, Any], path: Path, bad: str) -> dict[str, Any]:
    broken = copy.deepcopy(body)
    parent: Any = broken
    for segment in path[:-1]:
        parent = parent[segment]
    last = path[-1]
    if isinstance(last, Key):
        parent[f"{last.name}{bad}"] = parent.pop(last.name)
    else:
        parent[last] = f"{parent[last]}{bad}"
    return broken


@dataclass
class World:
    campaign: Campaign
    step: Sequence
    variant: Variant
    inbox: Inbox
    spare_inbox: Inbox
    lead: Lead
    webhook: WebhookEndpoint

    def url(self, template: str) -> str:
        ids = {"campaign_id": self.campaign.pk, "variant_id": self.variant.pk}
        if template.startswith("/api/v1/inboxes/"):
            ids["id"] = self.inbox.pk
        elif template.startswith("/api/v1/webhooks/"):
            ids["id"] = self.webhook.pk
        elif "/leads/{id}" in template:
            ids["id"] = self.lead.pk
        elif "/sequences/{id}" in template:
            ids["id"] = self.step.pk
        else:
            ids["id"] = self.campaign.pk
        return re.sub(r"\{(\w+)\}", lambda match: str(ids[match.group(1)]), template)


@pytest.fixture
def world(alice) -> World:
    inbox = InboxFactory(workspace=alice.workspace)
    campaign = make_ready(CampaignFactory(workspace=alice.workspace), inbox)
    step = Sequence.objects.get(campaign=campaign)
    return World(
        campaign=campaign,
        step=step,
        variant=Variant.objects.get(sequence=step),
        inbox=inbox,
        spare_inbox=InboxFactory(workspace=alice.workspace),
        lead=LeadFactory(campaign=campaign, first_name="Ann", variables={"company": "Acme"}),
        webhook=WebhookEndpoint.objects.create(
            workspace=alice.workspace, url="https://93.184.215.14/", secret="whsec_test"
        ),
    )


def snapshot() -> dict[str, list[str]]:
    models = [Campaign, Schedule, Sequence, Variant, CampaignInbox, Lead, Inbox, BlocklistEntry]
    models += [WebhookEndpoint]
    return {model.__name__: sorted(repr(row) for row in model.objects.values()) for model in models}


def send(api, method: str, url: str, body: dict[str, Any]):
    """Raw JSON as a client writes it: a NUL as `\\u0000`, a lone surrogate as `\\ud800`."""
    return api.generic(method, url, json.dumps(body), content_type="application/json")


@pytest.mark.parametrize("bad", ["\x00", "\ud800"], ids=["nul", "lone-surrogate"])
@pytest.mark.parametrize(
    ("operation", "index", "path"),
    [pytest.param(*case, id=case_id(case)) for case in CASES + EXTRA],
)
def test_a_nul_or_lone_surrogate_in_any_body_string_is_refused_and_changes_nothing(
    api, world, operation, index, path, bad
):
    method, template = operation
    body = with_bad_text(BODIES[operation][index](world), path, bad)
    before = snapshot()

    response = send(api, method, world.url(template), body)

    if template.endswith("/bulk") and path[0] == "leads":
        # Each lead of a batch is checked alone: its error is reported, the call succeeds.
        assert response.status_code == 200, response.content
        data = response.json()["data"]
        assert (data["created"], [error["index"] for error in data["errors"]]) == (0, [0])
    else:
        assert 400 <= response.status_code < 500, response.content
        envelope = response.json()
        assert set(envelope) == {"error", "code", "details"}
        assert envelope["details"]
    assert snapshot() == before


@pytest.mark.parametrize(
    ("operation", "index"),
    [
        pytest.param(operation, index, id=f"{operation[0]} {operation[1]} #{index}")
        for operation, bodies in BODIES.items()
        for index in range(len(bodies))
    ],
)
def test_each_body_the_cases_break_is_valid_as_it_is(api, world, operation, index):
    """So each refusal above is the bad character's doing."""
    method, template = operation
    response = send(api, method, world.url(template), BODIES[operation][index](world))
    assert 200 <= response.status_code < 300, response.content
    if template.endswith("/bulk"):
        assert response.json()["data"]["errors"] == []


def _schema_strings(schema: dict[str, Any]) -> set[tuple[tuple[str, str], str]]:
    components = schema["components"]["schemas"]

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            node = components[node["$ref"].rpartition("/")[2]]
        return node

    def walk(node: dict[str, Any], path: list[str]) -> Iterator[str]:
        node = resolve(node)
        for combined in ("allOf", "oneOf", "anyOf"):
            for part in node.get(combined, []):
                yield from walk(part, path)
        if node.get("type") == "object" or "properties" in node:
            for name, child in node.get("properties", {}).items():
                if not child.get("readOnly"):
                    yield from walk(child, [*path, name])
            extra = node.get("additionalProperties")
            if isinstance(extra, dict):
                yield ".".join([*path, "<key>"])
                yield from walk(extra, [*path, "*"])
        elif node.get("type") == "array":
            yield from walk(node["items"], [*path, "[]"])
        elif node.get("type") == "string" or "enum" in node:
            yield ".".join(path)

    found = set()
    for url, operations in schema["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                for path in walk(content["application/json"]["schema"], []):
                    found.add(((method.upper(), url), path))
    return found


BULK = ("POST", "/api/v1/campaigns/{campaign_id}/leads/bulk")


def test_the_cases_cover_every_string_of_every_request_body_in_the_schema(db):
    schema = Client().get("/api/v1/schema/").json()
    covered = {(operation, spelled(path)) for operation, _, path in CASES}
    # A bulk call's leads are documented without types (each is checked alone and a bad one
    # is an error in the answer, not a 422): their fields are read off the descriptions.
    bulk_lead = schema["components"]["schemas"]["LeadBulkRequest"]["properties"]["leads"]
    documented = {f"leads.[].{name}" for name in bulk_lead["items"]["properties"]}
    in_leads = {case for case in covered if case[0] == BULK and case[1].startswith("leads.")}
    assert {path.split(".<key>")[0].split(".*")[0] for _, path in in_leads} == documented
    assert _schema_strings(schema) == covered - in_leads
