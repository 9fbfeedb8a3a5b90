"""Mail understanding's throughput: messages per second per stage and for the whole chain.

The corpus is every raw message the tests hold (bounces, replies of many clients and
languages, labelled replies), copied until there are 10,000, each copy made distinct (its
Message-ID and Subject), so no cache sees the same headers twice. Each stage runs over all
of them on one core and is timed in CPU time:

- parse: raw bytes → message (`unibox.mail.parse`)
- bounces: is it a delivery failure (`unibox.bounces.parse_bounce`)
- auto-replies: is it an automatic reply (`unibox.auto_replies.detect`)
- new text: what the sender newly wrote (`unibox.reply_text.new_text`)
- labels: the reply's label (`unibox.classify.classify_message`, offline)
- whole chain: raw bytes → parse → bounce, else label (`unibox.understanding.understand`)

The stages after parsing each start from freshly parsed messages (parsing not counted), so
the whole chain is not their sum: the label stage repeats the new text and auto-reply work
it needs. Target: the whole chain at 500 messages/s or more.

    python bench/mail_understanding.py [--messages 10000]

Nothing here touches the database or the network.
"""

import argparse
import os
import re
import sys
import time
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

from unibox import auto_replies, bounces, mail, reply_model, reply_text  # noqa: E402
from unibox.classify import classify_message  # noqa: E402
from unibox.understanding import understand  # noqa: E402

DATA = ROOT / "tests" / "unibox" / "data"
TARGET = 500
_MESSAGE_ID = re.compile(rb"^(Message-ID:\s*<)", re.IGNORECASE | re.MULTILINE)
_SUBJECT = re.compile(rb"^(Subject:[ \t]*)", re.IGNORECASE | re.MULTILINE)


def corpus(count: int) -> list[bytes]:
    """`count` raw messages from the test data, each copy with its own Message-ID and Subject
    (the first occurrence of each: the message's own headers, not an attached original's)."""
    originals = [path.read_bytes() for path in sorted(DATA.rglob("*.eml"))]
    messages = []
    for number in range(count):
        raw = originals[number % len(originals)]
        raw = _MESSAGE_ID.sub(rb"\g<1>bench-%d." % number, raw, count=1)
        raw = _SUBJECT.sub(rb"\g<1>[%d] " % number, raw, count=1)
        messages.append(raw)
    return messages


def rate(stage: Callable[[object], object], inputs: list) -> float:
    started = time.process_time()
    for item in inputs:
        stage(item)
    return len(inputs) / (time.process_time() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    count = parser.parse_args().messages

    raws = corpus(count)
    reply_model.predict("warm up", None)  # the model trains at first use, once per process
    files = len(list(DATA.rglob("*.eml")))
    print(f"{count:,} messages from {files} raw files (each copy with its own headers), one core")

    def parsed() -> list[EmailMessage]:
        return [mail.parse(raw) for raw in raws]

    figures: list[tuple[str, float]] = [("parse", rate(mail.parse, raws))]
    stages: list[tuple[str, Callable[[EmailMessage], object]]] = [
        ("bounces", bounces.parse_bounce),
        ("auto-replies", auto_replies.detect),
        ("new text", reply_text.new_text),
        ("labels", lambda message: classify_message(message, use_llm=False)),
    ]
    for name, stage in stages:
        figures.append((name, rate(stage, parsed())))
    chain = rate(lambda raw: understand(mail.parse(raw), use_llm=False), raws)
    figures.append(("whole chain", chain))

    width = max(len(name) for name, _ in figures)
    for name, value in figures:
        print(f"  {name:<{width}}  {value:>8,.0f} messages/s")
    verdict = "met" if chain >= TARGET else "MISSED"
    print(f"whole chain {chain:,.0f} messages/s vs target {TARGET}: {verdict}")


if __name__ == "__main__":
    main()
