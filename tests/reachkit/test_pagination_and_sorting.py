"""The list contract, on the blocklist: envelope, pagination, sorting, search, query counts."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.blocklist.factories import BlocklistEntryFactory

URL = "/api/v1/blocklist"


@pytest.fixture
def entries(alice):
    """35 entries, created a minute apart: a0@… oldest, a34@… newest."""
    start = timezone.now() - timedelta(hours=1)
    created = []
    for n in range(35):
        with time_machine.travel(start + timedelta(minutes=n), tick=False):
            created.append(
                BlocklistEntryFactory(workspace=alice.workspace, value=f"a{n:02d}@example.com")
            )
    return created


def emails(response) -> list[str]:
    return [row["email"] for row in response.json()["data"]]


def test_defaults_are_page_1_of_30_newest_first(api, entries):
    response = api.get(URL)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"data", "metadata"}
    assert body["metadata"] == {"page": 1, "page_size": 30, "total_count": 35, "total_pages": 2}
    assert emails(response)[:2] == ["a34@example.com", "a33@example.com"]
    assert len(body["data"]) == 30


def test_second_page_holds_the_rest(api, entries):
    response = api.get(URL, {"page": 2})
    assert response.json()["metadata"]["page"] == 2
    assert emails(response) == [f"a{n:02d}@example.com" for n in range(4, -1, -1)]


def test_page_past_the_end_is_empty_with_true_metadata(api, entries):
    response = api.get(URL, {"page": 9, "page_size": 10})
    assert response.status_code == 200
    assert response.json() == {
        "data": [],
        "metadata": {"page": 9, "page_size": 10, "total_count": 35, "total_pages": 4},
    }


def test_a_huge_page_number_is_just_past_the_end(api, entries):
    response = api.get(URL, {"page": "999999999999999999"})
    assert response.status_code == 200
    assert response.json()["data"] == []


def test_the_largest_64_bit_page_and_page_size_are_taken(api, entries):
    # The schema's bound (found by the fuzzer: 19 digits were a 422 while the document said
    # any integer, and page_size above 100 is clamped).
    largest = str(2**63 - 1)
    assert api.get(URL, {"page": largest}).json()["data"] == []
    response = api.get(URL, {"page_size": largest})
    assert response.status_code == 200
    assert response.json()["metadata"]["page_size"] == 100


def test_page_size_above_100_is_clamped(api, entries):
    response = api.get(URL, {"page_size": 500})
    assert response.json()["metadata"]["page_size"] == 100
    assert len(response.json()["data"]) == 35


def test_empty_list_has_zero_pages(api):
    assert api.get(URL).json() == {
        "data": [],
        "metadata": {"page": 1, "page_size": 30, "total_count": 0, "total_pages": 0},
    }


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("page", "0"),
        ("page", "-1"),
        ("page", "abc"),
        ("page", "1.5"),
        ("page", ""),
        ("page_size", "0"),
        ("page_size", "ten"),
        ("page_size", "9999999999999999999999"),
        ("page", str(2**63)),
        ("page_size", str(2**63)),
        ("sort_by", "password"),
        ("sort_by", "value"),
        ("sort_order", "up"),
        ("sort_order", "DESC"),
    ],
)
def test_bad_list_parameters_are_422_naming_the_parameter(api, param, value):
    response = api.get(URL, {param: value})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert param in body["details"]


def test_sort_by_email_both_ways(api, entries):
    ascending = emails(api.get(URL, {"sort_by": "email", "sort_order": "asc", "page_size": 3}))
    descending = emails(api.get(URL, {"sort_by": "email", "sort_order": "desc", "page_size": 3}))
    assert ascending == ["a00@example.com", "a01@example.com", "a02@example.com"]
    assert descending == ["a34@example.com", "a33@example.com", "a32@example.com"]


def test_sort_order_alone_flips_the_default_sort(api, entries):
    assert emails(api.get(URL, {"sort_order": "asc", "page_size": 1})) == ["a00@example.com"]


def test_pages_never_overlap_when_sort_keys_tie(api, alice):
    moment = timezone.now()
    with time_machine.travel(moment, tick=False):
        for n in range(9):
            BlocklistEntryFactory(workspace=alice.workspace, value=f"tie{n}@example.com")
    seen = []
    for page in (1, 2, 3):
        seen += emails(api.get(URL, {"page": page, "page_size": 3}))
    assert sorted(seen) == sorted(f"tie{n}@example.com" for n in range(9))


def test_search_matches_part_of_the_value(api, alice):
    BlocklistEntryFactory(workspace=alice.workspace, value="ceo@globex.com")
    BlocklistEntryFactory(workspace=alice.workspace, value="ops@initech.com")
    assert emails(api.get(URL, {"search": "GLOBEX"})) == ["ceo@globex.com"]


def test_an_overlong_search_is_422(api):
    response = api.get(URL, {"search": "x" * 201})
    assert response.status_code == 422
    assert "search" in response.json()["details"]


def test_query_count_does_not_grow_with_page_size(api, entries):
    def queries_for(page_size: int) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api.get(URL, {"page_size": page_size}).status_code == 200
        return len(captured)

    queries_for(1)  # the key's first use records last_used_at: keep it out of the comparison
    assert queries_for(2) == queries_for(30)


@pytest.mark.parametrize(
    ("url", "param"),
    [
        ("/api/v1/blocklist", "type"),
        ("/api/v1/campaigns", "status"),
        ("/api/v1/inboxes", "provider"),
        ("/api/v1/inboxes", "is_active"),
    ],
)
def test_an_empty_filter_is_422_not_silently_dropped(api, url, param):
    # Found by the fuzzer: `?type=` listed everything, although "" is none of the choices.
    response = api.get(f"{url}?{param}=")
    assert response.status_code == 422, response.content
    assert param in response.json()["details"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("99999999999999999999999", "Too large: at most 9223372036854775807 (a 64-bit integer)."),
        (str(2**63), "Too large: at most 9223372036854775807 (a 64-bit integer)."),
        ("0", "Must be 1 or more."),
        ("-3", "Must be a whole number (digits only), from 1."),
        ("1.5", "Must be a whole number (digits only), from 1."),
        ("١٢", "Must be a whole number (digits only), from 1."),
    ],
)
def test_a_bad_page_says_what_is_wrong_with_it(api, value, message):
    # A huge page answered "Must be a positive integer" (issue 15): it is one, too large.
    response = api.get(URL, {"page": value})
    assert response.status_code == 422
    assert response.json()["details"] == {"page": [message]}
