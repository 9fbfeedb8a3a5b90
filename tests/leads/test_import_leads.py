"""`manage.py import_leads`: the CSV files people export, bad rows by line, good rows kept."""

import io
import re

import pytest
from django.core.management import CommandError, call_command

from leads.models import Lead
from leads.services import lead_import_csv
from tests.campaigns.factories import CampaignFactory
from tests.leads.factories import LeadFactory


class TerminalIO(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def campaign(alice):
    return CampaignFactory(workspace=alice.workspace, name="Spring")


@pytest.fixture
def run(campaign, tmp_path):
    """Import `content` (text, or bytes as they are) and return (stdout, stderr)."""

    def run_import(content: str | bytes, *args: str, stderr: io.StringIO | None = None):
        path = tmp_path / "leads.csv"
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        out, err = io.StringIO(), stderr or io.StringIO()
        call_command("import_leads", "--campaign", str(campaign.pk), str(path), *args,
                     stdout=out, stderr=err)  # fmt: skip
        return out.getvalue(), err.getvalue()

    return run_import


def leads() -> dict[str, tuple[str, str, dict]]:
    return {
        lead.email: (lead.first_name, lead.last_name, lead.variables) for lead in Lead.objects.all()
    }


def test_imports_the_usual_columns_and_keeps_the_others_as_variables(run, campaign):
    out, err = run(
        "Email,First Name,Last Name,Company,Job Title\n"
        "Ann@Initech.com,Ann,Lee,Initech,CTO\n"
        " bob@acme.com , Bob ,,Acme,\n"
    )

    assert leads() == {
        "Ann@initech.com": ("Ann", "Lee", {"company": "Initech", "job_title": "CTO"}),
        "bob@acme.com": ("Bob", "", {"company": "Acme"}),
    }
    assert set(Lead.objects.values_list("campaign", flat=True)) == {campaign.pk}
    assert err == ""
    assert out.count("\n") == 1  # one summary line
    assert "2 rows, 2 created, 0 updated, 0 skipped, 0 failed" in out


@pytest.mark.parametrize(
    "header",
    [
        "E-mail;Firstname;Surname",
        "Email Address;first_name;last_name",
        "EMAIL;FirstName;LastName",
        "e_mail;First;Last",
        "Mail;Given Name;Family Name",
    ],
)
def test_common_spellings_of_the_lead_columns_are_recognised(run, header):
    run(f"{header}\nann@initech.com;Ann;Lee\n")
    assert leads() == {"ann@initech.com": ("Ann", "Lee", {})}


def test_utf8_with_a_byte_order_mark_and_semicolons(run):
    run("\ufeffEmail;Prénom;Société\nzoe@exemple.fr;Zoé;Crème, Brûlée & Cie\n".encode())
    assert leads() == {
        "zoe@exemple.fr": ("", "", {"prénom": "Zoé", "société": "Crème, Brûlée & Cie"})
    }


def test_tabs_and_crlf_line_ends(run):
    run("email\tfirst_name\r\nann@x.com\tAnn\r\nbob@x.com\tBob\r\n")
    assert set(leads()) == {"ann@x.com", "bob@x.com"}


def test_bad_rows_are_reported_with_their_line_numbers_and_good_rows_kept(run):
    out, err = run(
        "email,first_name,notes\n"  # 1
        "good1@x.com,A,\n"  # 2
        "not-an-email,B,\n"  # 3
        "\n"  # 4: blank, skipped
        'good2@x.com,C,"two\nlines"\n'  # 5-6
        ",D,no email\n"  # 7
        f"good3@x.com,{'x' * 151},\n"  # 8
        "good4@x.com,E,ok,surprise\n"  # 9
        "good5@x.com,F,trailing,\n"  # 10: an empty extra cell is fine
        f"good6@x.com,G,{'y' * 5001}\n"  # 11
    )

    assert set(leads()) == {"good1@x.com", "good2@x.com", "good5@x.com"}
    assert Lead.objects.get(email="good2@x.com").variables == {"notes": "two\nlines"}
    assert err.splitlines() == [
        "line 3: email: Enter a valid email address.",
        "line 7: email: This field is required.",
        "line 8: first_name: Ensure this field has no more than 150 characters.",
        "line 9: 4 fields, but the header has 3 columns.",
        'line 11: variables: Variable "notes" is longer than 5,000 characters.',
    ]
    assert "8 rows, 3 created, 0 updated, 0 skipped, 5 failed" in out


def test_a_row_that_is_not_utf8_is_reported_and_the_others_kept(run):
    run(b"email,company\nann@x.com,Caf\xe9\nbob@x.com,Acme\n")
    assert set(leads()) == {"bob@x.com"}


def test_existing_emails_fail_by_default(run, campaign):
    existing = LeadFactory(campaign=campaign, email="ann@x.com", first_name="Ann")
    out, err = run("email,first_name\nANN@x.com,Annie\nbob@x.com,Bob\n")
    assert err.strip() == (
        "line 2: email: A lead with this email already exists in this campaign. "
        f"(lead {existing.pk})"
    )
    assert "1 created, 0 updated, 0 skipped, 1 failed" in out
    assert leads()["ann@x.com"][0] == "Ann"


def test_if_exists_skip_and_update(run, campaign):
    LeadFactory(campaign=campaign, email="ann@x.com", first_name="Ann", variables={"a": "1"})

    out, _ = run("email,first_name,b\nann@x.com,Annie,2\n", "--if-exists", "skip")
    assert "0 created, 0 updated, 1 skipped, 0 failed" in out
    assert leads()["ann@x.com"][0] == "Ann"
    assert leads()["ann@x.com"][2] == {"a": "1"}

    out, _ = run("email,first_name,b\nANN@x.com,Annie,2\n", "--if-exists", "update")
    assert "0 created, 1 updated, 0 skipped, 0 failed" in out
    assert leads()["ann@x.com"][0] == "Annie"
    assert leads()["ann@x.com"][2] == {"a": "1", "b": "2"}


def test_empty_cells_do_not_erase_on_update(run, campaign):
    LeadFactory(
        campaign=campaign, email="ann@x.com", first_name="Ann", variables={"company": "Initech"}
    )
    run("email,first_name,company\nann@x.com,,\n", "--if-exists", "update")
    assert leads()["ann@x.com"][0] == "Ann"
    assert leads()["ann@x.com"][2] == {"company": "Initech"}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("first_name,last_name\nAnn,Lee\n", "No email column"),
        ("Email,E-mail\na@x.com,b@x.com\n", 'Columns "Email" and "E-mail" are both email'),
        ("email,Company,company\na@x.com,A,B\n", "are both company"),
        (f"email,{'c' * 65}\na@x.com,A\n", "longer than 64"),
        ("email," + ",".join(f"v{n}" for n in range(101)) + "\n", "At most 100 variable columns"),
        ("", "The file is empty"),
    ],
)
def test_a_file_that_makes_no_sense_is_refused_and_nothing_stored(run, content, message):
    with pytest.raises(CommandError, match=message):
        run(content)
    assert not Lead.objects.exists()


def test_unnamed_columns_are_ignored(run):
    run("email,,company,\nann@x.com,junk,Initech,\n")
    assert leads() == {"ann@x.com": ("", "", {"company": "Initech"})}


@pytest.mark.parametrize("campaign_id", ["nope", "00000000-0000-4000-8000-000000000000"])
def test_an_unknown_campaign_is_an_error(db, tmp_path, campaign_id):
    path = tmp_path / "leads.csv"
    path.write_text("email\na@x.com\n")
    with pytest.raises(CommandError, match="campaign"):
        call_command("import_leads", "--campaign", campaign_id, str(path))
    assert not Lead.objects.exists()


def test_a_missing_file_is_an_error(campaign):
    with pytest.raises(CommandError, match="No such file"):
        call_command("import_leads", "--campaign", str(campaign.pk), "/nonexistent.csv")


def test_no_progress_bar_when_stderr_is_not_a_terminal(run):
    rows = "".join(f"u{n}@x.com\n" for n in range(50))
    _, err = run(f"email\n{rows}")
    assert err == ""


def test_a_progress_bar_on_a_terminal(run):
    rows = "".join(f"u{n}@x.com\n" for n in range(50))
    terminal = TerminalIO()
    run(f"email\n{rows}", stderr=terminal)
    assert "50/50" in terminal.getvalue()
    assert "100%" in terminal.getvalue()


def test_a_large_one_domain_import_costs_one_dns_query(
    campaign, dns_zone, django_capture_on_commit_callbacks
):
    dns_zone.add_mx("acme.com", "aspmx.l.google.com")
    content = "email,first_name\n" + "".join(f"u{n}@acme.com,U{n}\n" for n in range(3000))

    with django_capture_on_commit_callbacks(execute=True):
        result = lead_import_csv(
            campaign=campaign, stream=io.BytesIO(content.encode()), batch_size=500
        )

    assert (result.rows, result.created, result.errors) == (3000, 3000, [])
    assert dns_zone.queries["acme.com"] == 1
    assert Lead.objects.filter(provider="google").count() == 3000


def test_batches_report_line_numbers_across_batch_boundaries(campaign):
    lines = ["email"] + [f"u{n}@x.com" if n % 7 else "bad" for n in range(1, 30)]
    result = lead_import_csv(
        campaign=campaign, stream=io.BytesIO("\n".join(lines).encode()), batch_size=4
    )
    assert [line for line, _ in result.errors] == [8, 15, 22, 29]
    assert result.created == 25


def test_an_unterminated_quote_is_named_with_its_line_and_the_rows_it_swallowed(run):
    out, err = run('email,first_name\n"unterminated@x.example.com,Bob\nnext@x.example.com,Next\n')

    assert err == (
        'line 2: The quote that opens the "email" cell on line 2 is never closed, so lines 2-3 '
        "were read as one row and not imported: close the quote, or write a quote inside a "
        'cell as "".\n'
    )
    assert "1 row, 0 created, 0 updated, 0 skipped, 1 failed" in out
    assert out.splitlines()[1] == (
        "2 lines read as 1 row: lines 2-3 are one row (a quoted cell holds line breaks)."
    )
    assert not Lead.objects.exists()


def test_a_quote_closed_only_by_a_later_cells_quote_is_reported_and_the_rest_imported(run):
    out, err = run(
        "Email,First Name,Company\n"  # 1
        "ann@x.com,Ann,Initech\n"  # 2
        'bob@x.com,"Bob,Acme\n'  # 3: the quote is never closed on its line
        'kim@x.com,Kim,"Umbrella"\n'  # 4: ... so this quote closes it, mid-cell
        "zoe@x.com,Zoe,Globex\n"  # 5
    )

    assert err.splitlines() == [
        'line 3: The quote that opens the "First Name" cell on line 3 is not closed where the '
        "cell ends, so lines 3-4 were read as one row and not imported: close the quote, or "
        'write a quote inside a cell as "".'
    ]
    assert sorted(leads()) == ["ann@x.com", "zoe@x.com"]
    assert "3 rows, 2 created, 0 updated, 0 skipped, 1 failed" in out
    assert "4 lines read as 3 rows: lines 3-4 are one row" in out


def test_a_quoted_cell_with_line_breaks_is_kept_and_the_summary_says_lines_and_rows_differ(run):
    out, err = run(
        "email,address\n"  # 1
        'ann@x.com,"1 Main St\nSpringfield"\n'  # 2-3
        "\n"  # 4
        'bob@x.com,"2 Elm St\r\nShelbyville\nUSA"\n'  # 5-7
        "kim@x.com,3 Oak St\n"  # 8
    )

    assert err == ""
    assert leads()["ann@x.com"][2] == {"address": "1 Main St\nSpringfield"}
    assert leads()["bob@x.com"][2] == {"address": "2 Elm St\r\nShelbyville\nUSA"}
    assert out.splitlines()[1] == (
        "7 lines read as 3 rows: lines 2-3, 5-7 are one row each (a quoted cell holds line "
        "breaks); 1 blank line skipped."
    )


def test_lines_and_rows_that_match_add_no_note(run):
    out, _ = run("email\nann@x.com\n")
    assert out.splitlines()[0].endswith("rows/s)")
    assert "1 row, 1 created" in out
    assert len(out.splitlines()) == 1


def test_a_lost_quote_longer_than_a_cell_may_be_is_reported_not_a_crash(run):
    filler = "".join(f"u{n}@x.com,{'x' * 100}\n" for n in range(12_000))  # > 1 MiB
    _, err = run('email,notes\n"lost@x.com,quote\n' + filler)

    found = re.fullmatch(
        r'line 2: The quote that opens the "email" cell on line 2 is not closed within '
        r"1,048,576 characters, so lines 2-(\d+) were read as one row and not imported "
        r"\(reading went on at line (\d+)\): close the quote, or write a quote inside a "
        r'cell as ""\.',
        err.splitlines()[0],
    )
    assert found, err.splitlines()[0]
    last = int(found[1])
    assert int(found[2]) == last + 1
    assert 9000 < last < 10_000  # about 1 MiB of 110-character lines
    assert Lead.objects.count() == 12_000 - (last - 2)
