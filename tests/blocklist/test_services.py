"""`blocklist_contains`, the sender's check: correct, and one indexed query however large."""

import pytest
from django.db import connection

from blocklist.models import BlocklistEntry
from blocklist.services import blocklist_contains, blocklisted_among
from tests.reachkit.factories import WorkspaceFactory


@pytest.fixture
def workspace(db):
    return WorkspaceFactory()


def block(workspace, *values: str) -> None:
    BlocklistEntry.objects.bulk_create(
        BlocklistEntry(
            workspace=workspace, value=value, kind="domain" if "@" not in value else "email"
        )
        for value in values
    )


def test_matches_the_address_case_insensitively(workspace):
    block(workspace, "bob@acme.com")
    assert blocklist_contains(workspace=workspace, email="Bob@ACME.com")
    assert not blocklist_contains(workspace=workspace, email="rob@acme.com")


def test_matches_any_address_at_a_blocked_domain(workspace):
    block(workspace, "acme.com")
    assert blocklist_contains(workspace=workspace, email="anyone@acme.com")
    assert not blocklist_contains(workspace=workspace, email="anyone@notacme.com")


def test_is_scoped_to_the_workspace(workspace):
    block(WorkspaceFactory(), "bob@acme.com")
    assert not blocklist_contains(workspace=workspace, email="bob@acme.com")


def test_is_one_query_however_large_the_list(workspace, django_assert_num_queries):
    block(workspace, *(f"user{n}@big{n % 50}.com" for n in range(5000)), "acme.com")
    with django_assert_num_queries(1):
        assert blocklist_contains(workspace=workspace, email="x@acme.com")
    with django_assert_num_queries(1):
        assert not blocklist_contains(workspace=workspace, email="x@free.com")


@pytest.mark.postgres
def test_uses_the_unique_index_on_postgresql(workspace):
    if connection.vendor != "postgresql":
        pytest.skip("the query plan is checked on PostgreSQL")
    block(workspace, *(f"user{n}@big{n % 50}.com" for n in range(20000)))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE blocklist_blocklistentry")
    queryset = BlocklistEntry.objects.filter(
        workspace=workspace, value__in=["x@acme.com", "acme.com"]
    )
    plan = queryset.explain()
    assert "Index" in plan, plan
    assert "Seq Scan" not in plan, plan


def test_blocklisted_among_finds_addresses_and_domains_in_one_query(
    workspace, django_assert_num_queries
):
    block(workspace, "bob@acme.com", "globex.com")
    block(WorkspaceFactory(), "ann@initech.com")
    emails = ["Bob@ACME.com", "ann@acme.com", "eve@globex.com", "ann@initech.com"]
    with django_assert_num_queries(1):
        blocked = blocklisted_among(workspace=workspace, emails=emails)
    assert blocked == {"bob@acme.com", "eve@globex.com"}


def test_blocklisted_among_nothing_is_no_query(workspace, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert blocklisted_among(workspace=workspace, emails=[]) == set()
