"""The return date of an out-of-office text (unibox.return_dates), read relative to the
message's own date."""

from datetime import date

import pytest

from unibox.return_dates import find_return_date

MONDAY_6_JANUARY = date(2025, 1, 6)


@pytest.mark.parametrize(
    ("text", "back"),
    [
        ("I am back on 14 January.", date(2025, 1, 14)),
        ("I'll be back in the office on January 14th.", date(2025, 1, 14)),
        ("Ich bin am 14.01. wieder im Büro.", date(2025, 1, 14)),
        ("Ab dem 14.01.2025 bin ich wieder erreichbar.", date(2025, 1, 14)),
        ("Je serai de retour le 14/01.", date(2025, 1, 14)),
        ("Ik ben terug op 14 januari.", date(2025, 1, 14)),
        ("Vanaf dinsdag 14 januari ben ik weer aanwezig.", date(2025, 1, 14)),
        ("Estarei de volta em 14/01.", date(2025, 1, 14)),
        ("Volto no dia 14 de janeiro.", date(2025, 1, 14)),
        ("Regreso el 14 de enero.", date(2025, 1, 14)),
        ("Sarò di rientro il 14 gennaio.", date(2025, 1, 14)),
        ("Back 2025-01-14.", date(2025, 1, 14)),
    ],
)
def test_a_return_date_is_read_in_every_supported_language(text, back):
    assert find_return_date(text, MONDAY_6_JANUARY) == back


def test_a_date_without_a_year_after_the_message_is_next_years_in_december():
    assert find_return_date("I am back on 3 January.", date(2024, 12, 20)) == date(2025, 1, 3)
    assert find_return_date("Zurück am 03.01.", date(2024, 12, 20)) == date(2025, 1, 3)


def test_a_date_a_few_days_past_is_a_responder_left_on_not_next_year():
    assert find_return_date("I am back on 3 January.", date(2025, 1, 8)) == date(2025, 1, 3)


def test_an_explicit_year_is_kept():
    assert find_return_date("Back on 14 January 2026.", MONDAY_6_JANUARY) == date(2026, 1, 14)


def test_the_return_wins_over_the_first_day_of_the_absence():
    text = "Je suis absente du 3 au 14 janvier inclus. De retour le 15 janvier."
    assert find_return_date(text, MONDAY_6_JANUARY) == date(2025, 1, 15)
    text = "Estoy fuera del 2 al 13 de enero, regreso el 14 de enero."
    assert find_return_date(text, MONDAY_6_JANUARY) == date(2025, 1, 14)


def test_until_gives_the_day_named_and_an_included_day_the_day_after():
    assert find_return_date("Out of office until 14 January.", MONDAY_6_JANUARY) == date(
        2025, 1, 14
    )
    text = "Ich bin bis einschließlich 13.01. nicht im Büro."
    assert find_return_date(text, MONDAY_6_JANUARY) == date(2025, 1, 14)
    text = "Ik ben afwezig tot en met 10 januari."
    assert find_return_date(text, MONDAY_6_JANUARY) == date(2025, 1, 11)
    text = "Away from 23 December through 2 January and will reply when I return."
    assert find_return_date(text, date(2024, 12, 20)) == date(2025, 1, 3)


def test_an_ambiguous_slashed_date_is_read_as_the_nearer_one_after_the_message():
    # 03/02 on 1 February: 3 February (day first), not 2 March (month first).
    assert find_return_date("Back 03/02.", date(2025, 2, 1)) == date(2025, 2, 3)
    # 01/14 can only be month first.
    assert find_return_date("Back on 01/14/2025.", MONDAY_6_JANUARY) == date(2025, 1, 14)


def test_weekdays_and_tomorrow_count_only_next_to_a_return_word():
    assert find_return_date("Back Monday.", date(2025, 1, 8)) == date(2025, 1, 13)
    assert find_return_date("I will return tomorrow.", MONDAY_6_JANUARY) == date(2025, 1, 7)
    assert find_return_date("Ich bin morgen wieder da.", MONDAY_6_JANUARY) == date(2025, 1, 7)
    assert find_return_date("We met on Monday.", MONDAY_6_JANUARY) is None


def test_times_phone_numbers_and_no_date_give_none():
    assert find_return_date("Ich bin bis 10.30 Uhr in einem Meeting.", MONDAY_6_JANUARY) is None
    assert find_return_date("Call me on +49 30 1234-5678.", MONDAY_6_JANUARY) is None
    assert find_return_date("I'm on parental leave.", MONDAY_6_JANUARY) is None


def test_only_a_cued_date_counts_when_asked():
    assert find_return_date("Thursday 16 January works.", MONDAY_6_JANUARY) == date(2025, 1, 16)
    assert find_return_date("Thursday 16 January works.", MONDAY_6_JANUARY, cued_only=True) is None
