"""Bounces (unibox.bounces): real and realistic reports of every family, read for the failed
address, hard or soft, the status and our original email; and what must not count as one."""

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from unibox import bounces, mail

DATA = Path(__file__).parent / "data" / "bounces"
EXPECTED: dict[str, dict] = json.loads((DATA / "expected.json").read_text())


def _parse(name: str) -> bounces.Bounce:
    return bounces.parse_bounce_bytes((DATA / name).read_bytes())


def test_every_sample_has_an_expectation_and_every_expectation_a_sample():
    assert sorted(path.name for path in DATA.glob("*.eml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_sample_reads_as_expected(name):
    expected = {key: value for key, value in EXPECTED[name].items() if key != "note"}
    found = _parse(name)
    if not expected["is_bounce"]:
        assert found == bounces.NOT_A_BOUNCE
        return
    got = {key: getattr(found, key) for key in expected}
    if "original_references" in got:
        got["original_references"] = list(got["original_references"])
    assert got == expected
    assert found.recipient is None or found.recipient in found.recipients
    for key in ("original_in_reply_to", "original_references"):
        if key not in expected:
            assert not getattr(found, key), f"{key} found but not expected"


# Each family the issue names, and a sample of it (its file name starts with the prefix).
FAMILIES = {
    "RFC 3464 multipart/report": "postfix-",
    "Postfix": "postfix-",
    "Exim": "exim-",
    "Sendmail": "sendmail-",
    "qmail": "qmail-",
    "Exchange / Office 365 in English": "office365-unknown-user",
    "Exchange in German": "office365-de-",
    "Exchange in French": "exchange-fr-",
    "Exchange in Spanish": "office365-es-",
    "Exchange in Japanese": "exchange-ja-",
    "Gmail": "gmail-",
    "Yahoo": "yahoo-",
    "Outlook.com": "outlook-com-",
    "Amazon SES": "amazon-ses-",
    "Courier": "courier-",
    "Domino": "domino-",
    "MessageLabs": "messagelabs-",
    "mailer-daemon plain-text notes": "mailer-daemon-",
}


@pytest.mark.parametrize(("family", "prefix"), FAMILIES.items())
def test_every_family_has_a_sample_read_as_a_bounce(family, prefix):
    names = [name for name in EXPECTED if name.startswith(prefix)]
    assert names, family
    for name in names:
        assert _parse(name).is_bounce, name


@pytest.mark.parametrize(
    ("name", "how"),
    [
        ("postfix-unknown-user-follow-up.eml", "message/rfc822"),
        ("sendmail-user-unknown.eml", "text/rfc822-headers"),
        ("exim-unknown-user-inline-copy.eml", "inline"),
        ("mailer-daemon-plain-inline-original.eml", "inline, quoted with >"),
    ],
)
def test_our_original_email_is_found_however_the_report_quotes_it(name, how):
    raw = (DATA / name).read_bytes()
    found = bounces.parse_bounce_bytes(raw)
    assert found.original_message_id is not None, how
    assert found.original_message_id.encode() in raw


def test_a_follow_up_returned_by_a_bounce_names_its_thread():
    found = _parse("postfix-unknown-user-follow-up.eml")
    assert found.original_message_id == "<0b8e9a2c41f34d7a9c5e6f7081a2b3c4@outreach.example>"
    assert found.original_in_reply_to == "<3f2b8c1d9e4a4b6c8d7e6f5a4b3c2d1e@outreach.example>"
    assert found.original_references == ("<3f2b8c1d9e4a4b6c8d7e6f5a4b3c2d1e@outreach.example>",)


@pytest.mark.parametrize(
    "name",
    [
        "exchange-delay.eml",
        "sendmail-delay-warning.eml",
        "exim-delay-warning.eml",
        "postfix-delayed-greylisted.eml",
        "gmail-delay-yahoo-deferred.eml",
        "flufl-dsn-05.eml",
        "flufl-simple-03.eml",
        "flufl-simple-28.eml",
    ],
)
def test_a_delay_notice_is_a_soft_bounce_never_a_hard_one(name):
    found = _parse(name)
    assert found.is_bounce
    assert found.type == "soft"


def test_the_status_is_read_from_the_words_when_the_report_gives_none():
    assert _parse("domino-not-listed.eml").status == "5.1.1"  # "not listed in Domino Directory"
    assert _parse("yahoo-unknown-user.eml").status == "5.1.1"  # "doesn't have a yahoo.com account"
    assert _parse("mailer-daemon-de-note-latin1-8bit.eml").status == "5.2.2"  # "Postfach … voll"
    assert _parse("gmail-bad-domain.eml").status == "5.1.2"  # NXDOMAIN, report says 5.0.0


def test_the_diagnostic_is_the_servers_answer():
    found = _parse("postfix-unknown-user-follow-up.eml")
    assert found.diagnostic == (
        "550 5.1.1 <jane.doe@acme.example>: Recipient address rejected: "
        "User unknown in virtual mailbox table"
    )
    assert "Insufficient system storage" in _parse("postfix-disk-full.eml").diagnostic
    assert "not listed in Domino Directory" in _parse("domino-not-listed.eml").diagnostic


@pytest.mark.parametrize(
    ("status", "text", "delayed", "expected"),
    [
        (
            "5.1.1",
            "550 5.1.1 <a@b.example>: Recipient address rejected: User unknown",
            False,
            ("hard", "unknown_user"),
        ),
        (
            "5.2.2",
            "552 5.2.2 The email account that you tried to reach is over quota",
            False,
            ("soft", "mailbox_full"),
        ),
        ("5.0.0", "550 mailbox full", False, ("soft", "mailbox_full")),
        ("5.1.0", "Unknown address error 550-'Mailbox Full'", False, ("soft", "mailbox_full")),
        (
            "4.7.1",
            "450 4.7.1 Recipient address rejected: Greylisted, see postgrey",
            False,
            ("soft", "greylisted"),
        ),
        ("4.7.28", "421 4.7.28 unusual rate of unsolicited mail", False, ("soft", "rate_limited")),
        ("5.7.1", "550 5.7.1 temporarily blocked, try again later", False, ("soft", "temporary")),
        ("4.3.1", "452 4.3.1 Insufficient system storage", False, ("soft", "disk_full")),
        (
            None,
            "Host or domain name not found. Name service error for name=x.example",
            False,
            ("hard", "bad_domain"),
        ),
        ("5.1.2", "", False, ("hard", "bad_domain")),
        (
            "5.0.0",
            "DNS Error: DNS type 'mx' lookup of x.example responded with code NXDOMAIN",
            False,
            ("hard", "bad_domain"),
        ),
        (
            "5.7.1",
            "554 5.7.1 Client host blocked using zen.spamhaus.org",
            False,
            ("hard", "policy"),
        ),
        (
            "5.7.26",
            "550-5.7.26 Unauthenticated email is not accepted due to domain's DMARC policy",
            False,
            ("hard", "policy"),
        ),
        (
            "5.2.1",
            "550 5.2.1 The email account that you tried to reach is disabled",
            False,
            ("hard", "mailbox_disabled"),
        ),
        (
            "5.3.4",
            "552 5.3.4 Message size exceeds fixed maximum message size",
            False,
            ("soft", "message_too_large"),
        ),
        ("5.1.1", "550 5.1.1 user unknown", True, ("soft", "delayed")),
        ("4.4.7", "Message delayed", True, ("soft", "unreachable")),
        ("4.2.2", "mailbox full", True, ("soft", "mailbox_full")),
        ("4.1.1", "", False, ("soft", "temporary")),
        ("5.1.1", "", False, ("hard", "unknown_user")),
        (None, "Benutzer unbekannt", False, ("hard", "unknown_user")),
        (None, "L'adresse n'existe pas", False, ("hard", "unknown_user")),
        (None, "", False, ("hard", "other")),
        (None, "", True, ("soft", "delayed")),
    ],
)
def test_reasons_are_classified_by_our_table(status, text, delayed, expected):
    assert bounces.classify_reason(status, [text], delayed=delayed) == expected


def test_every_reason_in_the_table_is_hard_or_soft_and_named_once():
    names = [reason.name for reason in bounces.REASONS]
    assert len(names) == len(set(names))
    assert {reason.type for reason in bounces.REASONS} <= {"hard", "soft"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("rfc822; <Jane.Doe@Example.COM>", "Jane.Doe@example.com"),
        ("rfc822;bob@northwind.example", "bob@northwind.example"),
        ("david...@gmail.com", None),
        ("an undisclosed address", None),
    ],
)
def test_addresses_keep_their_local_part_and_lower_case_their_domain(value, expected):
    assert bounces.normalize_address(value) == expected


SIMPLE_REPLY = (
    b"From: Jane Doe <jane.doe@acme.example>\r\nTo: sam@outreach.example\r\n"
    b"Subject: Re: Quick question\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
)


@pytest.mark.parametrize(
    "body",
    [
        b"Your message could not be delivered to my old address, use this one.\r\n",
        b"550 5.1.1 user unknown - that's what our server said about your first email.\r\n",
        b"Delivery Status Notification (Failure) - ha, your first try bounced.\r\n",
    ],
)
def test_a_persons_words_about_a_bounce_are_not_a_bounce(body):
    assert bounces.parse_bounce_bytes(SIMPLE_REPLY + body) == bounces.NOT_A_BOUNCE


def test_a_report_from_a_daemon_that_names_no_failure_is_not_a_bounce():
    raw = (
        b"From: Mail Delivery System <MAILER-DAEMON@mx.example>\r\nTo: sam@outreach.example\r\n"
        b"Subject: Your mailbox settings\r\n\r\nYour spam filter settings were updated.\r\n"
    )
    assert bounces.parse_bounce_bytes(raw) == bounces.NOT_A_BOUNCE


def test_unreadable_bytes_raise_unreadable_message():
    with pytest.raises(mail.UnreadableMessage):
        bounces.parse_bounce_bytes(b"")


@settings(max_examples=150, deadline=None)
@given(
    name=st.sampled_from(sorted(EXPECTED)),
    cut=st.floats(min_value=0.0, max_value=1.0),
    noise=st.binary(max_size=200),
)
def test_any_damaged_report_reads_without_raising(name, cut, noise):
    raw = (DATA / name).read_bytes()
    damaged = raw[: int(len(raw) * cut)] + noise
    try:
        found = bounces.parse_bounce_bytes(damaged)
    except mail.UnreadableMessage:
        return
    assert found.type in (None, "hard", "soft")
    assert found.is_bounce or found == bounces.NOT_A_BOUNCE


def test_a_failure_about_an_email_whose_subject_says_delayed_is_still_a_failure():
    raw = (
        b"From: System Administrator <postmaster@northwind.example>\r\n"
        b"To: sam@outreach.example\r\nSubject: Undeliverable: Re: Delayed shipment\r\n\r\n"
        b"Your message did not reach some or all of the intended recipients.\r\n\r\n"
        b"      bob@northwind.example on 14/01/2026 10:00\r\n"
        b"            550 5.1.1 User unknown\r\n"
    )
    found = bounces.parse_bounce_bytes(raw)
    assert (found.is_bounce, found.type, found.recipient) == (True, "hard", "bob@northwind.example")


def test_a_sender_without_a_readable_address_is_not_taken_for_a_mail_server():
    raw = (
        b"From: Jane Doe <jane.doe@acme.example>, ,\r\nTo: sam@outreach.example\r\n"
        b"Subject: About your offer\r\n\r\n"
        b"The last email could not be delivered to our shared inbox, so I'm writing again.\r\n"
    )
    assert bounces.parse_bounce_bytes(raw) == bounces.NOT_A_BOUNCE
