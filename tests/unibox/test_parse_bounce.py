"""`manage.py parse_bounce FILE.eml…`: one JSON line per file, in design.md's format, and an
"error" line for a file that cannot be read, without stopping the run."""

import json
from io import StringIO
from pathlib import Path

from django.core.management import call_command

DATA = Path(__file__).parent / "data" / "bounces"
DESIGN_KEYS = ["file", "is_bounce", "type", "recipient", "status"]


def _run(*paths: str) -> list[dict]:
    out = StringIO()
    call_command("parse_bounce", *paths, stdout=out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_each_file_gets_one_line_in_the_designs_format():
    bounce, reply = (
        str(DATA / "gmail-unknown-user.eml"),
        str(DATA / "not-out-of-office-exchange.eml"),
    )
    first, second = _run(bounce, reply)
    assert list(first)[:5] == DESIGN_KEYS
    assert {key: first[key] for key in DESIGN_KEYS} == {
        "file": bounce,
        "is_bounce": True,
        "type": "hard",
        "recipient": "olivia.chen@lumen-health.example",
        "status": "5.1.1",
    }
    assert first["original_message_id"] == (
        "<CAF9k2v7qQ4n8Z1x0PpY3mTgW5sR6uJ7oK8lN9bM0cV1aD2eF3g@mail.gmail.com>"
    )
    assert first["reason"] == "unknown_user"
    assert {key: second[key] for key in DESIGN_KEYS} == {
        "file": reply,
        "is_bounce": False,
        "type": None,
        "recipient": None,
        "status": None,
    }


def test_a_soft_bounce_says_so():
    [line] = _run(str(DATA / "office365-de-mailbox-full-latin1.eml"))
    assert (line["is_bounce"], line["type"], line["status"]) == (True, "soft", "5.2.2")


def test_missing_empty_and_headerless_files_get_their_own_error_line(tmp_path):
    empty = tmp_path / "empty.eml"
    empty.write_bytes(b"")
    headerless = tmp_path / "headerless.eml"
    headerless.write_bytes(b"\r\n\r\njust some text, no headers\r\n")
    missing = tmp_path / "missing.eml"
    good = str(DATA / "postfix-unknown-user-follow-up.eml")
    lines = _run(str(missing), str(empty), good, str(headerless), str(tmp_path))
    assert [line["file"] for line in lines] == [
        str(missing),
        str(empty),
        good,
        str(headerless),
        str(tmp_path),
    ]
    assert lines[0] == {"file": str(missing), "error": "No such file or directory"}
    assert lines[1] == {"file": str(empty), "error": "the file is empty"}
    assert lines[2]["recipient"] == "jane.doe@acme.example"
    assert "error" not in lines[2]
    assert lines[3] == {"file": str(headerless), "error": "no email headers found"}
    assert lines[4] == {"file": str(tmp_path), "error": "Is a directory"}


def test_the_whole_sample_folder_reads_in_one_run():
    paths = sorted(str(path) for path in DATA.glob("*.eml"))
    lines = _run(*paths)
    assert len(lines) == len(paths)
    assert not [line for line in lines if "error" in line]
