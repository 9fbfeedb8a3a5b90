"""The new text of a reply: ours against the libraries, on the golden replies.

Reads every `tests/unibox/data/replies/*.eml` with its `.expected.txt`, runs each extractor
on it and prints, per extractor, how many come out exactly as expected (after trimming
trailing whitespace per line and blank lines around), how many nearly (whitespace aside,
≥ 90 % similar), in how many some of the earlier message is left (every earlier message in
the set is from Northwind Labs, whose name no reply's new text holds), and how many messages
per second it reads (parsing included, one core).

    python bench/reply_text_compare.py [--show NAME] [--language LANG] [--client CLIENT]

The libraries are measured only when installed (`pip install mail-parser-reply
email-reply-parser quotequail`); they are not Reachkit's dependencies. Each library gets the
body as `unibox.mail.body_text` reads it (the text part, else the HTML part as text), the
input they are made for; quotequail reads an HTML-only body as HTML (`quote_html`).
`--show NAME` prints every miss of one extractor as a diff.
"""

import argparse
import contextlib
import difflib
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from unibox import mail, reply_text  # noqa: E402

GOLDEN = ROOT / "tests" / "unibox" / "data" / "replies"
EARLIER = re.compile(r"northwind", re.I)  # in every earlier message of the set, in no new text
NEAR = 0.9
LANGUAGES = ["en", "de", "fr", "es", "nl", "it", "pl", "sv"]  # mail-parser-reply has no pt, ru

Extractor = Callable[[bytes], str]


def normalized(text: str) -> str:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    return "\n".join(lines).strip("\n")


def squeezed(text: str) -> str:
    return " ".join(text.split())


def ours(raw: bytes) -> str:
    return reply_text.new_text(mail.parse(raw))


def ours_text_rules_only(raw: bytes) -> str:
    """Our rules on the body as plain `body_text` reads it: no client marks from the HTML."""
    return reply_text.extract(mail.body_text(mail.parse(raw)))


def libraries() -> dict[str, Extractor]:
    found: dict[str, Extractor] = {}
    try:
        from email_reply_parser import EmailReplyParser as GithubParser

        found["email-reply-parser"] = lambda raw: GithubParser.parse_reply(
            mail.body_text(mail.parse(raw))
        )
    except ImportError:
        print("email-reply-parser: not installed, skipped")
    try:
        from mailparser_reply import EmailReplyParser as RausysParser

        parser = RausysParser(languages=LANGUAGES)
        found["mail-parser-reply"] = lambda raw: (
            parser.parse_reply(mail.body_text(mail.parse(raw))) or ""
        )
    except ImportError:
        print("mail-parser-reply: not installed, skipped")
    try:
        import quotequail

        def quotequail_new(raw: bytes) -> str:
            message = mail.parse(raw)
            plain, html = mail.body_parts(message)
            if (plain is None or not plain.strip()) and html is not None:
                parts = quotequail.quote_html(html, quote_intro_line=True)
                return mail.html_to_text("".join(part for shown, part in parts if shown))
            parts = quotequail.quote(mail.body_text(message), quote_intro_line=True)
            return "".join(part for shown, part in parts if shown)

        found["quotequail"] = quotequail_new
    except ImportError:
        print("quotequail: not installed, skipped")
    return found


def goldens(language: str | None, client: str | None) -> list[tuple[str, bytes, str]]:
    cases = []
    for path in sorted(GOLDEN.glob("*.eml")):
        _, kind, lang = re.match(r"(\d+)-(.+)-(\w\w)$", path.stem).groups()  # type: ignore[union-attr]
        if (language and lang != language) or (client and kind != client):
            continue
        expected = path.with_suffix(".expected.txt").read_text(encoding="utf-8")
        cases.append((path.stem, path.read_bytes(), normalized(expected)))
    return cases


def measure(name: str, extract: Extractor, cases, show: bool) -> tuple[int, int, int, float]:
    exact = near = leaked = 0
    for stem, raw, expected in cases:
        try:
            got = normalized(extract(raw))
        except Exception as error:  # a library's crash is a miss, not the end of the bench
            got = f"<{type(error).__name__}: {error}>"
        if EARLIER.search(got):
            leaked += 1
        if got == expected:
            exact += 1
            near += 1
            continue
        ratio = difflib.SequenceMatcher(None, squeezed(got), squeezed(expected)).ratio()
        if ratio >= NEAR:
            near += 1
        if show:
            print(f"--- {stem} ({name}, {ratio:.2f})")
            diff = difflib.unified_diff(
                expected.split("\n"), got.split("\n"), "expected", "got", lineterm="", n=1
            )
            print("\n".join(list(diff)[2:]))
    return exact, near, leaked, throughput(extract, cases)


def throughput(extract: Extractor, cases, seconds: float = 1.0) -> float:
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        for _, raw, _ in cases:
            with contextlib.suppress(Exception):
                extract(raw)
        done += len(cases)
    return done / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--show", help="print the misses of this extractor")
    parser.add_argument("--language", help="only the goldens in this language (en, de, …)")
    parser.add_argument("--client", help="only the goldens of this client (gmail, outlook, …)")
    args = parser.parse_args()

    cases = goldens(args.language, args.client)
    if not cases:
        sys.exit("no golden replies matched")
    extractors: dict[str, Extractor] = {
        "reachkit": ours,
        "reachkit, text rules only": ours_text_rules_only,
        **libraries(),
    }
    languages = ", ".join(
        f"{k} {v}" for k, v in sorted(Counter(s[-2:] for s, _, _ in cases).items())
    )
    print(f"{len(cases)} golden replies ({languages})")
    print(f"{'extractor':<28}{'exact':>14}{'near':>14}{'history left':>14}{'messages/s':>12}")
    for name, extract in extractors.items():
        exact, near, leaked, rate = measure(name, extract, cases, show=args.show == name)
        total = len(cases)
        print(
            f"{name:<28}{exact:>5} {exact / total:>6.1%} {near:>7} {near / total:>6.1%}"
            f"{leaked:>14}{rate:>12,.0f}"
        )


if __name__ == "__main__":
    main()
