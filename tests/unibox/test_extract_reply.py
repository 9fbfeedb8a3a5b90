"""`manage.py extract_reply FILE.eml…`: one JSON line per file, an error line for a bad one."""

import json
from io import StringIO
from pathlib import Path

from django.core.management import call_command

REPLIES = Path(__file__).parent / "data" / "replies"


def run(*files: Path | str) -> list[dict]:
    out = StringIO()
    call_command("extract_reply", *map(str, files), stdout=out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_each_file_gets_one_line_with_the_new_text_in_order():
    russian, german = REPLIES / "122-gmail-ru.eml", REPLIES / "034-outlook-de.eml"
    assert run(russian, german) == [
        {
            "file": str(russian),
            "text": "Иван, добрый день!\n\nДа, давайте созвонимся в четверг в 15:00.\n\n"
            "С уважением,\nДмитрий",
        },
        {
            "file": str(german),
            "text": "Sehr geehrte Frau Fischer,\n\nvielen Dank, aber wir haben aktuell keinen "
            "Bedarf.\n\nMit freundlichen Grüßen\n\nJonas Becker",
        },
    ]


def test_a_missing_empty_or_malformed_file_gets_an_error_line_and_the_run_goes_on(tmp_path):
    empty = tmp_path / "empty.eml"
    empty.write_bytes(b"")
    headless = tmp_path / "headless.eml"
    headless.write_bytes(b"\r\n\r\nno headers, only a body")
    good = REPLIES / "001-gmail-en.eml"
    lines = run(tmp_path / "missing.eml", empty, tmp_path, headless, good)
    assert [line["file"] for line in lines] == [
        str(tmp_path / "missing.eml"),
        str(empty),
        str(tmp_path),
        str(headless),
        str(good),
    ]
    assert all(set(line) == {"file", "error"} for line in lines[:4])
    assert [line["error"] for line in lines[:4]] == [
        "no such file",
        "the file is empty",
        "a directory, not a file",
        "no email headers found",
    ]
    assert lines[4] == {
        "file": str(good),
        "text": "Sure, Tuesday at 3pm works for me. Send over an invite.\n\nAda",
    }


def test_binary_junk_with_a_header_is_read_as_mail_not_as_an_error(tmp_path):
    junk = tmp_path / "junk.eml"
    junk.write_bytes(b"X: y\r\n\r\n\xff\xfe\x00\x01 > \x80")
    [line] = run(junk)
    assert line["file"] == str(junk)
    assert isinstance(line["text"], str)
