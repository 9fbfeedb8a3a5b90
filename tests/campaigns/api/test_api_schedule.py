"""PATCH /campaigns/:id/schedule: supported zones, the 30-minute grid, per-day fallbacks."""

import pytest

from campaigns.models import Schedule
from campaigns.windows import SUPPORTED_TIMEZONES
from tests.campaigns.factories import CampaignFactory

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@pytest.fixture
def campaign(alice):
    return CampaignFactory(workspace=alice.workspace)


def url(campaign) -> str:
    return f"/api/v1/campaigns/{campaign.pk}/schedule"


def stored(campaign) -> dict:
    return Schedule.objects.filter(campaign=campaign).values().get()


def test_an_empty_patch_echoes_the_default_schedule(api, campaign):
    response = api.patch(url(campaign), {}, format="json")
    assert response.status_code == 200
    assert response.json() == {
        "data": {
            "timezone": "America/New_York",
            "default_window": {"start": "09:00", "end": "17:00"},
            "days": {
                day: {"enabled": day not in ("saturday", "sunday"), "start": None, "end": None}
                for day in DAYS
            },
        }
    }


def test_everything_changes_at_once_and_the_campaign_shows_it(api, campaign):
    response = api.patch(
        url(campaign),
        {
            "timezone": "Europe/Berlin",
            "default_window": {"start": "08:00", "end": "16:30"},
            "days": {
                "monday": {"enabled": False},
                "saturday": {"enabled": True, "start": "10:00", "end": "12:00"},
            },
        },
        format="json",
    )

    assert response.status_code == 200
    data = response.json()["data"]
    assert data["timezone"] == "Europe/Berlin"
    assert data["default_window"] == {"start": "08:00", "end": "16:30"}
    assert data["days"]["monday"] == {"enabled": False, "start": None, "end": None}
    assert data["days"]["saturday"] == {"enabled": True, "start": "10:00", "end": "12:00"}
    assert data["days"]["tuesday"] == {"enabled": True, "start": None, "end": None}
    shown = api.get(f"/api/v1/campaigns/{campaign.pk}").json()["data"]["schedule"]
    assert shown == data


def test_omitted_fields_are_unchanged(api, campaign):
    api.patch(url(campaign), {"timezone": "Asia/Tokyo"}, format="json")
    data = api.patch(url(campaign), {"days": {"friday": {"start": "10:00"}}}, format="json")
    data = data.json()["data"]
    assert data["timezone"] == "Asia/Tokyo"
    assert data["default_window"] == {"start": "09:00", "end": "17:00"}
    assert data["days"]["friday"] == {"enabled": True, "start": "10:00", "end": None}


def test_a_window_can_change_one_end_only(api, campaign):
    data = api.patch(url(campaign), {"default_window": {"end": "18:00"}}, format="json")
    assert data.json()["data"]["default_window"] == {"start": "09:00", "end": "18:00"}


@pytest.mark.parametrize("zone", SUPPORTED_TIMEZONES)
def test_every_supported_zone_is_accepted(api, campaign, zone):
    response = api.patch(url(campaign), {"timezone": zone}, format="json")
    assert response.status_code == 200
    assert response.json()["data"]["timezone"] == zone


@pytest.mark.parametrize(
    "zone", ["Europe/Madrid", "UTC", "america/chicago", "Mars/Olympus", "", 5, None, ["Asia/Tokyo"]]
)
def test_any_other_timezone_is_422_with_a_timezone_error(api, campaign, zone):
    before = stored(campaign)
    response = api.patch(url(campaign), {"timezone": zone}, format="json")
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert set(body["details"]) == {"timezone"}
    assert stored(campaign) == before


@pytest.mark.parametrize(
    ("sent", "echoed"),
    [
        ("09:15", "09:30"),
        ("09:14", "09:00"),
        ("09:23", "09:30"),
        ("09:45", "10:00"),
        ("09:44", "09:30"),
        ("10:00", "10:00"),
    ],
)
def test_times_are_stored_on_the_half_hour_grid_ties_rounding_up(api, campaign, sent, echoed):
    response = api.patch(
        url(campaign),
        {"default_window": {"start": sent}, "days": {"monday": {"start": sent}}},
        format="json",
    )
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["default_window"]["start"] == echoed
    assert data["days"]["monday"]["start"] == echoed
    again = api.get(f"/api/v1/campaigns/{campaign.pk}").json()["data"]["schedule"]
    assert again["default_window"]["start"] == echoed


@pytest.mark.parametrize(
    ("sent", "echoed"), [("23:30", "23:30"), ("23:45", "23:30"), ("23:59", "23:30")]
)
def test_the_latest_time_is_23_30_later_ones_are_clamped_to_it(api, campaign, sent, echoed):
    response = api.patch(url(campaign), {"default_window": {"end": sent}}, format="json")
    assert response.status_code == 200
    assert response.json()["data"]["default_window"]["end"] == echoed


@pytest.mark.parametrize(
    "bad", ["9:00", "24:00", "09:60", "0900", "9am", "", "09:00:00", 900, None, True, {"h": 9}]
)
def test_a_malformed_time_is_422_and_nothing_changes(api, campaign, bad):
    before = stored(campaign)
    response = api.patch(
        url(campaign),
        {"timezone": "Europe/Paris", "default_window": {"start": bad, "end": "17:00"}},
        format="json",
    )
    assert response.status_code == 422
    details = response.json()["details"]
    assert set(details) == {"default_window"}
    assert set(details["default_window"]) == {"start"}
    assert stored(campaign) == before


def test_an_end_not_after_its_start_is_422_and_nothing_changes(api, campaign):
    before = stored(campaign)
    for window in ({"start": "17:00", "end": "09:00"}, {"start": "10:00", "end": "10:00"}):
        response = api.patch(
            url(campaign), {"timezone": "Europe/Paris", "default_window": window}, format="json"
        )
        assert response.status_code == 422
        assert set(response.json()["details"]) == {"default_window"}
    # Rounding can make a window empty too: both ends land on 23:30.
    response = api.patch(
        url(campaign), {"default_window": {"start": "23:40", "end": "23:50"}}, format="json"
    )
    assert response.status_code == 422
    assert stored(campaign) == before


def test_a_day_whose_window_falls_back_to_an_earlier_end_is_422(api, campaign):
    before = stored(campaign)
    response = api.patch(url(campaign), {"days": {"monday": {"start": "18:00"}}}, format="json")
    assert response.status_code == 422
    assert response.json()["details"] == {
        "days": {
            "monday": {"end": ["The end must be after the start (the default window fills gaps)."]}
        }
    }
    assert stored(campaign) == before


def test_changing_the_default_window_is_checked_against_the_days_that_use_it(api, campaign):
    api.patch(url(campaign), {"days": {"tuesday": {"end": "12:00"}}}, format="json")
    response = api.patch(url(campaign), {"default_window": {"start": "13:00"}}, format="json")
    assert response.status_code == 422
    assert set(response.json()["details"]["days"]) == {"tuesday"}


def test_null_start_and_end_fall_back_to_the_default_window(api, campaign):
    api.patch(
        url(campaign), {"days": {"monday": {"start": "10:00", "end": "11:00"}}}, format="json"
    )
    response = api.patch(
        url(campaign), {"days": {"monday": {"start": None, "end": None}}}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["data"]["days"]["monday"] == {
        "enabled": True,
        "start": None,
        "end": None,
    }
    weekly = Schedule.objects.get(campaign=campaign).weekly()
    assert str(weekly.window_of("monday").start) == "09:00:00"


@pytest.mark.parametrize(
    "days",
    [
        {"funday": {"enabled": True}},
        {"Monday": {"enabled": True}},
        {"monday": {"enabled": "yes"}},
        {"monday": "off"},
        {"monday": None},
        ["monday"],
        "monday",
    ],
)
def test_bad_days_are_422_and_nothing_changes(api, campaign, days):
    before = stored(campaign)
    response = api.patch(url(campaign), {"timezone": "Asia/Tokyo", "days": days}, format="json")
    assert response.status_code == 422
    assert set(response.json()["details"]) == {"days"}
    assert stored(campaign) == before


@pytest.mark.parametrize("window", ["09:00-17:00", ["09:00", "17:00"], None])
def test_a_default_window_that_is_not_an_object_is_422(api, campaign, window):
    response = api.patch(url(campaign), {"default_window": window}, format="json")
    assert response.status_code == 422
    assert set(response.json()["details"]) == {"default_window"}
