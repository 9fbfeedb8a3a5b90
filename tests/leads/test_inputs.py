"""The rules every way in shares: email normalisation, CSV delimiter sniffing."""

import pytest

from leads.imports import sniff_delimiter
from leads.inputs import RuleBroken, normalize_email, search_text


@pytest.mark.parametrize(
    ("raw", "email"),
    [
        ("bob@acme.com", "bob@acme.com"),
        ("  Bob.Smith@ACME.Com\t", "Bob.Smith@acme.com"),
        ("BOB+tag@Sub.Acme.IO", "BOB+tag@sub.acme.io"),
    ],
)
def test_emails_are_trimmed_and_their_domain_lower_cased(raw, email):
    assert normalize_email(raw) == email


@pytest.mark.parametrize("raw", ["", "bob", "bob@", "@acme.com", "bob@acme", "b o b@acme.com"])
def test_invalid_emails_break_the_rule(raw):
    with pytest.raises(RuleBroken):
        normalize_email(raw)


@pytest.mark.parametrize(
    ("header", "delimiter"),
    [
        ("email,first_name,last_name", ","),
        ("email;first_name;last_name", ";"),
        ("email\tfirst_name", "\t"),
        ('"Name, full";email;company', ";"),
        ("email", ","),
    ],
)
def test_the_delimiter_is_the_one_the_header_uses_most(header, delimiter):
    assert sniff_delimiter(header) == delimiter


def test_search_text_holds_email_names_and_company_lower_cased():
    assert search_text("bob@acme.com", "Bob", "", {"company": "ACME Corp", "x": "y"}) == (
        "bob@acme.com bob acme corp"
    )
    assert search_text("bob@acme.com", "", "", {"company": 42}) == "bob@acme.com 42"
