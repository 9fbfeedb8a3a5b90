"""The migration that gives steps and variants their campaign's workspace fills old rows."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("campaigns", "0001_initial")]
AFTER = [("campaigns", "0003_workspace_required")]


@pytest.mark.django_db(transaction=True)
def test_existing_steps_and_variants_get_their_campaigns_workspace():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    workspace = old.get_model("reachkit", "Workspace").objects.create(name="Old workspace")
    campaign = old.get_model("campaigns", "Campaign").objects.create(
        workspace=workspace, name="Old campaign"
    )
    step = old.get_model("campaigns", "Sequence").objects.create(campaign=campaign, step=1)
    variant = old.get_model("campaigns", "Variant").objects.create(sequence=step, letter="A")

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps

    assert (
        new.get_model("campaigns", "Sequence").objects.get(pk=step.pk).workspace_id == workspace.pk
    )
    assert (
        new.get_model("campaigns", "Variant").objects.get(pk=variant.pk).workspace_id
        == workspace.pk
    )
    # Back to the latest state for the rest of the suite.
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
