"""`manage.py classify_reply FILE.eml…` and `manage.py train_classifier`."""

import json
from io import StringIO
from pathlib import Path

from django.core.management import call_command

from unibox import reply_model

DATA = Path(__file__).parent / "data" / "classify"


def run(command: str, *args: str) -> list[dict]:
    out = StringIO()
    call_command(command, *args, stdout=out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_one_json_line_per_file_in_the_design_format():
    names = ["out_of_office-en-exchange.eml", "meeting_requested-fr-outlook.eml"]
    lines = run("classify_reply", *(str(DATA / name) for name in names))
    assert lines == [
        {
            "file": str(DATA / names[0]),
            "label": "out_of_office",
            "is_positive": False,
            "is_auto_reply": True,
            "auto_reply_kind": "out_of_office",
            "return_date": "2025-01-03",
            "replacement_email": None,
        },
        {
            "file": str(DATA / names[1]),
            "label": "meeting_requested",
            "is_positive": True,
            "is_auto_reply": False,
            "auto_reply_kind": None,
            "return_date": None,
            "replacement_email": None,
        },
    ]
    assert list(lines[0])[:4] == ["file", "label", "is_positive", "is_auto_reply"]


def test_a_left_company_reply_names_the_replacement():
    [line] = run("classify_reply", str(DATA / "left_company-en-auto.eml"))
    assert (line["label"], line["replacement_email"]) == (
        "left_company",
        "alicia.moreno@brightforge.com",
    )


def test_a_missing_empty_or_malformed_file_gets_its_own_error_line_and_the_run_goes_on(tmp_path):
    empty = tmp_path / "empty.eml"
    empty.write_bytes(b"")
    headerless = tmp_path / "headerless.eml"
    headerless.write_bytes(b"\r\n\r\njust some text, no headers at all\r\n")
    binary = tmp_path / "binary.eml"
    binary.write_bytes(bytes(range(256)) * 4)
    good = DATA / "unsubscribe-en-plain.eml"
    lines = run(
        "classify_reply",
        str(tmp_path / "missing.eml"),
        str(empty),
        str(headerless),
        str(tmp_path),
        str(binary),
        str(good),
    )
    assert [line["file"] for line in lines] == [
        str(tmp_path / "missing.eml"),
        str(empty),
        str(headerless),
        str(tmp_path),
        str(binary),
        str(good),
    ]
    assert lines[0] == {"file": str(tmp_path / "missing.eml"), "error": "no such file"}
    assert lines[1] == {"file": str(empty), "error": "the file is empty"}
    assert lines[2] == {"file": str(headerless), "error": "no email headers found"}
    assert lines[3] == {"file": str(tmp_path), "error": "a directory, not a file"}
    assert "label" in lines[4] or "error" in lines[4]  # bytes that happen to parse, or not
    assert lines[5]["label"] == "unsubscribe"


def test_train_classifier_prints_the_same_fingerprint_as_the_model_in_use():
    [summary] = run("train_classifier")
    assert summary["examples"] == len(reply_model.load_examples())
    assert summary["features"] > 10_000
    assert summary["fingerprint"] == reply_model.get_model().fingerprint()
