"""A typed client generated from the OpenAPI document works against the live server (issue 15).

openapi-python-client (requirements-dev.txt) generates a package from /api/v1/schema/ as the
server serves it; the test imports it and runs a short workflow through its typed functions
and models only: create a campaign, add a step and a variant, add leads, read analytics. Any
disagreement between the document and the server (a required field the server omits, a wrong
type, an undocumented status) fails here, in a parse or an assertion.
"""

import importlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from reachkit.services import api_key_create
from tests.reachkit.factories import WorkspaceFactory

GENERATOR = Path(sys.executable).with_name("openapi-python-client")
PACKAGE = "reachkit_client"


@pytest.fixture
def generated_client(tmp_path, transactional_db, monkeypatch):
    if not GENERATOR.exists() and shutil.which("openapi-python-client") is None:
        pytest.fail("openapi-python-client is not installed (requirements-dev.txt)")
    document = tmp_path / "openapi.json"
    document.write_text(json.dumps(Client().get("/api/v1/schema/").json()))
    config = tmp_path / "config.yaml"
    config.write_text(f"package_name_override: {PACKAGE}\npost_hooks: []\n")
    output = tmp_path / "client"
    result = subprocess.run(
        [
            str(GENERATOR if GENERATOR.exists() else "openapi-python-client"),
            "generate",
            "--path",
            str(document),
            "--meta",
            "none",
            "--output-path",
            str(output / PACKAGE),
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # Every operation of the document is generated: a skipped one means the generator could
    # not read it.
    assert "Unable to" not in result.stdout + result.stderr, result.stdout + result.stderr
    monkeypatch.syspath_prepend(str(output))
    for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
        del sys.modules[name]
    return importlib.import_module(PACKAGE)


def test_a_generated_client_runs_a_campaign_workflow(generated_client, live_server):
    from reachkit_client.api.campaigns import (  # type: ignore[import-not-found]
        campaigns_analytics_retrieve,
        campaigns_create,
        campaigns_leads_bulk_create,
        campaigns_leads_create,
        campaigns_sequences_create,
        campaigns_sequences_variants_create,
    )
    from reachkit_client.models import (  # type: ignore[import-not-found]
        CampaignCreateRequest,
        Error,
        LeadBulkRequest,
        LeadBulkRequestLeadsItem,
        LeadCreateRequest,
        LeadCreateRequestVariables,
        SequenceCreateRequest,
        VariantCreateRequest,
    )

    workspace = WorkspaceFactory(name="Client workspace")
    _, key = api_key_create(workspace=workspace, name="generated client")
    client = generated_client.AuthenticatedClient(base_url=live_server.url, token=key)

    campaign = campaigns_create.sync(client=client, body=CampaignCreateRequest(name="Spring"))
    assert not isinstance(campaign, Error), campaign
    campaign_id = campaign.data.id
    assert campaign.data.status.value == "draft"

    step = campaigns_sequences_create.sync(
        campaign_id, client=client, body=SequenceCreateRequest(delay_days=2)
    )
    assert not isinstance(step, Error), step
    assert step.data.step == 2
    assert step.data.delay_days is None  # the last step

    variant = campaigns_sequences_variants_create.sync(
        campaign_id,
        step.data.id,
        client=client,
        body=VariantCreateRequest(subject="Hi {{first_name|there}}", body_html="<b>Hello</b>"),
    )
    assert not isinstance(variant, Error), variant
    assert variant.data.subject == "Hi {{first_name|there}}"
    assert variant.data.enabled is True

    variables = LeadCreateRequestVariables.from_dict({"company": "Acme", "seats": 12})
    lead = campaigns_leads_create.sync(
        campaign_id,
        client=client,
        body=LeadCreateRequest(email="ada@acme.com", first_name="Ada", variables=variables),
    )
    assert not isinstance(lead, Error), lead
    assert lead.data.variables.to_dict() == {"company": "Acme", "seats": 12}

    leads = [
        LeadBulkRequestLeadsItem.from_dict({"email": f"lead{n}@acme.com", "last_name": "Doe"})
        for n in range(3)
    ] + [LeadBulkRequestLeadsItem.from_dict({"first_name": "No email"})]
    bulk = campaigns_leads_bulk_create.sync(
        campaign_id, client=client, body=LeadBulkRequest(leads=leads)
    )
    assert not isinstance(bulk, Error), bulk
    assert (bulk.data.created, bulk.data.skipped) == (3, 0)
    assert [error.index for error in bulk.data.errors] == [3]

    analytics = campaigns_analytics_retrieve.sync(campaign_id, client=client)
    assert not isinstance(analytics, Error), analytics
    assert (analytics.data.leads_count, analytics.data.sequence_steps, analytics.data.sent) == (
        4,
        2,
        0,
    )
    assert len(analytics.data.daily) == 30
    assert [sequence.step for sequence in analytics.data.sequences] == [1, 2]

    # An error is parsed as the document's error envelope.
    duplicate = campaigns_leads_create.sync(
        campaign_id, client=client, body=LeadCreateRequest(email="ada@acme.com")
    )
    assert isinstance(duplicate, Error)
    assert duplicate.code == "lead_exists"
