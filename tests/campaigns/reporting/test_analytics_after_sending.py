"""Campaign stats count what the sending engine really did: real sends over SMTP, replies
recorded through the service the unified inbox calls, bounces refused at RCPT.

Read through the public API (`GET /campaigns`, `GET /campaigns/:id`,
`GET /campaigns/:id/analytics`).
"""

from datetime import UTC, time

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns import services
from campaigns.models import Campaign, Send, Sequence, Variant
from campaigns.reporting.analytics import campaign_stats
from campaigns.sending import services as sending
from campaigns.tasks import campaigns_progress_refresh_task
from leads.models import Lead
from tests.campaigns.factories import VariantFactory
from tests.campaigns.outreach import ALL_DAYS, make_campaign

URL = "/api/v1/campaigns"
UNKNOWN_USER = "550 5.1.1 User unknown"

HEADLINE = (
    "sent",
    "contacted",
    "replies",
    "reply_rate",
    "positive_replies",
    "positive_reply_rate",
    "bounced",
    "bounce_rate",
)


def reply(lead: Lead, *, positive: bool = False) -> None:
    """The lead answers now (what the unified inbox will call)."""
    lead = Lead.objects.select_related("campaign").get(pk=lead.pk)
    sending.lead_reply_received(lead=lead, received_at=timezone.now(), is_positive=positive)


def headline(stats: dict) -> dict:
    return {key: stats[key] for key in HEADLINE}


def analytics(api, campaign: Campaign) -> dict:
    response = api.get(f"{URL}/{campaign.pk}/analytics")
    assert response.status_code == 200
    return response.json()["data"]


def variants_of(data: dict, campaign: Campaign) -> dict[tuple[int, str], dict]:
    """The breakdown's variant rows by (step, letter)."""
    letters = {
        str(v.pk): (v.sequence.step, v.letter)
        for v in Variant.objects.filter(sequence__campaign=campaign).select_related("sequence")
    }
    return {letters[v["id"]]: v for s in data["sequences"] for v in s["variants"]}


def move_to(campaign: Campaign, zone: str) -> None:
    services.schedule_update(
        campaign=campaign,
        timezone=zone,
        default_window={"start": time(0, 0), "end": time(23, 30)},
        days={day: {"enabled": True} for day in ALL_DAYS},
    )


# --- The headline numbers ---------------------------------------------------------------------


def test_sent_contacted_replies_and_bounces_count_real_sends(api, outreach):
    bob, ann, _, _ = outreach.add_leads(
        "bob@acme.com", "ann@globex.com", "cat@initech.com", "dan@umbrella.com"
    )
    outreach.smtp.reply_to_rcpt("dan@umbrella.com", UNKNOWN_USER)

    assert outreach.send_due() == {"sent": 3, "failed": 1, "deferred": 0}
    reply(bob, positive=True)
    reply(ann)

    expected = {
        "sent": 4,  # three accepted and one refused: the bounce was sent too
        "contacted": 3,  # the bounced lead never heard from us
        "replies": 2,
        "reply_rate": 66.67,  # over the leads contacted
        "positive_replies": 1,
        "positive_reply_rate": 33.33,
        "bounced": 1,
        "bounce_rate": 25.0,  # over the emails sent
    }
    shown = api.get(f"{URL}/{outreach.campaign.pk}").json()["data"]["stats"]
    listed = api.get(URL).json()["data"][0]["stats"]
    assert headline(shown) == expected
    assert headline(listed) == expected
    assert headline(analytics(api, outreach.campaign)) == expected
    assert shown["leads_count"] == 4


def test_follow_ups_add_to_sent_but_not_to_contacted(api, outreach):
    bob, _, _ = outreach.add_leads("bob@acme.com", "ann@globex.com", "cat@initech.com")
    outreach.send_due()
    reply(bob)  # stop_on_reply: bob gets no follow-up

    outreach.advance(days=2, minutes=1)
    assert outreach.send_due()["sent"] == 2

    data = analytics(api, outreach.campaign)
    assert (data["sent"], data["contacted"], data["replies"]) == (5, 3, 1)
    assert data["reply_rate"] == 33.33
    variants = variants_of(data, outreach.campaign)
    assert (variants[(1, "A")]["sent"], variants[(2, "A")]["sent"]) == (3, 2)


def test_a_lead_replying_twice_is_one_reply(api, outreach):
    outreach.campaign.stop_on_reply = False
    outreach.campaign.save()
    (bob,) = outreach.add_leads("bob@acme.com")
    outreach.send_due()
    reply(bob)
    outreach.advance(days=2, minutes=1)
    outreach.send_due()
    reply(bob)

    data = analytics(api, outreach.campaign)
    assert (data["sent"], data["contacted"], data["replies"]) == (2, 1, 1)
    assert data["reply_rate"] == 100.0
    # Each email got its own answer: both variants count one.
    variants = variants_of(data, outreach.campaign)
    assert (variants[(1, "A")]["replies"], variants[(2, "A")]["replies"]) == (1, 1)


def test_emails_not_yet_settled_are_not_counted_as_sent(api, outreach):
    outreach.add_leads("bob@acme.com")
    outreach.smtp.drop_after_data()  # the server took the message, then hung up

    outreach.send_due()

    assert Send.objects.get().status == Send.Status.UNKNOWN
    data = analytics(api, outreach.campaign)
    assert (data["sent"], data["contacted"], data["bounced"]) == (0, 0, 0)
    assert sum(row["sent"] for row in data["daily"]) == 0


def test_the_bounce_rate_is_the_one_bounce_protection_pauses_on(api, outreach, settings):
    settings.BOUNCE_PAUSE_MIN_SENDS = 5
    settings.BOUNCE_PAUSE_PERCENT = 20
    emails = [f"lead{n}@example{n}.com" for n in range(5)]
    outreach.add_leads(*emails)
    for email in emails[:2]:
        outreach.smtp.reply_to_rcpt(email, UNKNOWN_USER)

    outreach.send_due()

    outreach.campaign.refresh_from_db()
    assert outreach.campaign.status == Campaign.Status.PAUSED
    assert "2 of 5 emails bounced (40.0%" in outreach.campaign.paused_reason
    data = analytics(api, outreach.campaign)
    assert (data["bounced"], data["sent"], data["bounce_rate"]) == (2, 5, 40.0)


# --- Per variant ------------------------------------------------------------------------------


def test_each_variant_counts_its_sends_and_the_replies_attributed_to_it(api, outreach):
    VariantFactory(sequence=outreach.step_one.sequence, subject="Other {{first_name}}")
    outreach.add_leads(*[f"lead{n}@example{n}.com" for n in range(4)])
    outreach.send_due()
    by_letter: dict[str, list[Lead]] = {"A": [], "B": []}
    for send in Send.objects.select_related("variant", "lead").order_by("to_email"):
        by_letter[send.variant.letter].append(send.lead)
    assert [len(by_letter["A"]), len(by_letter["B"])] == [2, 2]  # balanced
    reply(by_letter["B"][0], positive=True)
    reply(by_letter["B"][1])
    reply(by_letter["A"][0])

    data = analytics(api, outreach.campaign)
    variants = variants_of(data, outreach.campaign)
    assert variants[(1, "A")] | {"id": None} == {
        "id": None,
        "enabled": True,
        "sent": 2,
        "replies": 1,
        "reply_rate": 50.0,
        "positive_replies": 0,
        "positive_reply_rate": 0.0,
    }
    assert variants[(1, "B")] | {"id": None} == {
        "id": None,
        "enabled": True,
        "sent": 2,
        "replies": 2,
        "reply_rate": 100.0,
        "positive_replies": 1,
        "positive_reply_rate": 50.0,
    }
    assert variants[(2, "A")]["sent"] == 0
    assert data["replies"] == 3


def test_a_reply_after_the_follow_up_counts_for_the_follow_up(api, outreach):
    (bob,) = outreach.add_leads("bob@acme.com")
    outreach.send_due()
    outreach.advance(days=2, minutes=1)
    outreach.send_due()
    outreach.advance(hours=1)
    reply(bob, positive=True)

    variants = variants_of(analytics(api, outreach.campaign), outreach.campaign)
    assert (variants[(1, "A")]["replies"], variants[(2, "A")]["replies"]) == (0, 1)
    assert variants[(2, "A")]["positive_replies"] == 1


# --- Daily rows -------------------------------------------------------------------------------


def daily(data: dict) -> dict[str, tuple[int, int]]:
    """The days with something on them: date → (sent, replies)."""
    return {
        row["date"]: (row["sent"], row["replies"])
        for row in data["daily"]
        if row["sent"] or row["replies"]
    }


def test_daily_rows_date_sends_and_replies_in_the_campaigns_timezone(api, outreach):
    move_to(outreach.campaign, "America/New_York")  # UTC-5 in January
    bob, ann = outreach.add_leads("bob@acme.com", "ann@globex.com")

    # 03:30 UTC on Thursday 15 January is still Wednesday 14 January in New York.
    outreach.advance(hours=15, minutes=30)
    outreach.send_due()
    # 04:30 UTC: Bob answers at 23:30 on the 14th, New York time.
    outreach.advance(hours=1)
    reply(bob)
    # 05:30 UTC: 00:30 on the 15th in New York; Carl is sent his first email.
    outreach.advance(hours=1)
    outreach.add_leads("carl@hooli.com")
    outreach.send_due()
    reply(ann)
    assert timezone.now().astimezone(UTC).date().isoformat() == "2026-01-15"

    data = analytics(api, outreach.campaign)
    assert data["daily"][-1]["date"] == "2026-01-15"  # today, in New York
    assert daily(data) == {"2026-01-14": (2, 1), "2026-01-15": (1, 1)}


def test_daily_counts_bounces_on_the_day_they_were_sent_and_adds_up_to_sent(api, outreach):
    outreach.add_leads("bob@acme.com", "dan@umbrella.com")
    outreach.smtp.reply_to_rcpt("dan@umbrella.com", UNKNOWN_USER)
    outreach.send_due()
    outreach.advance(days=2, minutes=1)
    outreach.send_due()

    data = analytics(api, outreach.campaign)
    assert daily(data) == {"2026-01-14": (2, 0), "2026-01-16": (1, 0)}
    assert sum(row["sent"] for row in data["daily"]) == data["sent"] == 3


def test_daily_rows_keep_only_the_last_30_days_while_the_totals_keep_everything(api, outreach):
    (bob,) = outreach.add_leads("bob@acme.com")
    outreach.send_due()
    reply(bob)

    outreach.advance(days=29)
    data = analytics(api, outreach.campaign)
    assert data["daily"][0] == {"date": "2026-01-14", "sent": 1, "replies": 1}

    outreach.advance(days=1)
    data = analytics(api, outreach.campaign)
    assert data["daily"][0]["date"] == "2026-01-15"
    assert daily(data) == {}
    assert (data["sent"], data["replies"]) == (1, 1)


def test_campaigns_in_different_timezones_each_get_their_own_dates(alice, outreach):
    # 23:30 UTC on 14 January: already the 15th in Tokyo, still the 14th in Honolulu.
    tokyo = outreach.campaign
    move_to(tokyo, "Asia/Tokyo")
    honolulu = make_campaign(alice.workspace, [outreach.inbox])
    move_to(honolulu, "Pacific/Honolulu")
    outreach.add_leads("bob@acme.com", "ann@globex.com")
    outreach.add_leads("cat@initech.com", campaign=honolulu)
    outreach.advance(hours=11, minutes=30)

    outreach.send_due()

    campaigns = list(
        Campaign.objects.select_related("schedule").filter(pk__in=[tokyo.pk, honolulu.pk])
    )
    stats = campaign_stats(campaigns, breakdown=True)
    tokyo_days = {row.date.isoformat(): row.sent for row in stats[tokyo.pk].daily if row.sent}
    honolulu_days = {row.date.isoformat(): row.sent for row in stats[honolulu.pk].daily if row.sent}
    assert tokyo_days == {"2026-01-15": 2}
    assert honolulu_days == {"2026-01-14": 1}
    assert (stats[tokyo.pk].sent, stats[honolulu.pk].sent) == (2, 1)


# --- Progress ---------------------------------------------------------------------------------


def test_progress_is_the_cached_share_of_leads_that_will_get_no_more_email(api, outreach):
    outreach.add_leads("bob@acme.com", "ann@globex.com", "cat@initech.com", "dan@umbrella.com")
    outreach.smtp.reply_to_rcpt("dan@umbrella.com", UNKNOWN_USER)
    outreach.send_due()
    campaigns_progress_refresh_task.delay()  # celery-beat's periodic recount

    shown = api.get(f"{URL}/{outreach.campaign.pk}").json()["data"]
    assert (shown["progress"], shown["stats"]["progress"]) == (25, 25)  # dan bounced: done

    outreach.advance(days=2, minutes=1)
    outreach.send_due()  # the last step to the three others
    campaigns_progress_refresh_task.delay()

    shown = api.get(f"{URL}/{outreach.campaign.pk}").json()["data"]
    assert (shown["progress"], shown["stats"]["progress"]) == (100, 100)
    assert analytics(api, outreach.campaign)["progress"] == 100
    assert api.get(URL).json()["data"][0]["stats"]["progress"] == 100


# --- Cost and scope ---------------------------------------------------------------------------


def query_counts(api, campaign: Campaign) -> list[int]:
    api.get(URL)  # the key's `last_used_at` is written at most now and then: not measured
    counts = []
    for url in (URL, f"{URL}/{campaign.pk}", f"{URL}/{campaign.pk}/analytics"):
        with CaptureQueriesContext(connection) as captured:
            assert api.get(url).status_code == 200
        counts.append(len(captured))
    return counts


def test_index_show_and_analytics_cost_the_same_queries_however_much_was_sent(api, alice, outreach):
    outreach.add_leads("bob@acme.com")
    outreach.send_due()
    few = query_counts(api, outreach.campaign)

    VariantFactory(sequence=outreach.step_one.sequence)
    for zone in ("Asia/Tokyo", "America/Chicago"):
        other = make_campaign(alice.workspace, [outreach.inbox])
        move_to(other, zone)
        outreach.add_leads(*[f"{zone[-5:].lower()}{n}@x{n}.com" for n in range(4)], campaign=other)
    outreach.add_leads(*[f"lead{n}@example{n}.com" for n in range(8)])
    outreach.smtp.reply_to_rcpt("lead0@example0.com", UNKNOWN_USER)
    outreach.send_due()
    for lead in Lead.objects.filter(status=Lead.Status.CONTACTED)[:5]:
        reply(lead, positive=True)
    outreach.advance(days=2, minutes=1)
    outreach.send_due()
    assert Send.objects.filter(status=Send.Status.SENT).count() > 20
    assert Campaign.objects.count() == 3
    many = query_counts(api, outreach.campaign)

    assert few == many
    assert analytics(api, outreach.campaign)["sent"] > 1


def test_another_workspaces_campaign_analytics_is_a_404(charlie, outreach):
    outreach.add_leads("bob@acme.com")
    outreach.send_due()
    for url in (f"{URL}/{outreach.campaign.pk}/analytics", f"{URL}/{outreach.campaign.pk}"):
        response = charlie.client.get(url)
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
    assert charlie.client.get(URL).json()["data"] == []
    assert Sequence.objects.filter(campaign=outreach.campaign).count() == 2
