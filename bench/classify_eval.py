"""Reply labels, measured honestly.

1. Cross-validation on the shipped labelled set (unibox/data/reply_labels.jsonl): stratified,
   seeded folds; for each, a model trained on the other folds labels the held-out replies
   through the whole offline path (auto-reply text detection, unsubscribe rules, the model).
   Prints per-label precision and recall, the confusion matrix, accuracy overall and per
   language, and the model's own accuracy without the rules in front of it.
2. The separate set of raw replies in tests/unibox/data/classify/ (never trained on), through
   the full path: parse, automatic-reply headers and text, new text, label.
3. Throughput on one core, in CPU time: classification alone (new text and subject in, label
   out), parsing alone, and the whole chain (raw bytes in: parse, new text, auto-reply, label).

    python bench/classify_eval.py [--folds 5] [--messages 10000]

Nothing here touches the database or the network.
"""

import argparse
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

# One core, as the target says: no BLAS or OpenMP threads.
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

from sklearn.model_selection import StratifiedKFold  # noqa: E402

from unibox import mail, reply_model  # noqa: E402
from unibox.classify import LABELS, classify_message, classify_text  # noqa: E402

EML_DIR = ROOT / "tests" / "unibox" / "data" / "classify"
SHORT = {
    "interested": "inter",
    "not_interested": "not_i",
    "needs_more_info": "info",
    "meeting_requested": "meet",
    "wrong_person": "wrong",
    "out_of_office": "ooo",
    "referral": "refer",
    "question": "quest",
    "neutral": "neutr",
    "unsubscribe": "unsub",
    "left_company": "left",
}


def report(pairs: list[tuple[str, str]]) -> None:
    """Precision and recall per label, the confusion matrix and accuracy of (truth, guess)."""
    print(f"{'label':<18} {'precision':>9} {'recall':>7} {'support':>8}")
    for label in LABELS:
        guessed = sum(1 for _, guess in pairs if guess == label)
        actual = sum(1 for truth, _ in pairs if truth == label)
        right = sum(1 for truth, guess in pairs if truth == guess == label)
        precision = f"{right / guessed:.1%}" if guessed else "-"
        recall = f"{right / actual:.1%}" if actual else "-"
        print(f"{label:<18} {precision:>9} {recall:>7} {actual:>8}")
    counts = Counter(pairs)
    print("\nconfusion (rows: true label, columns: predicted)")
    print(" " * 7 + "".join(f"{SHORT[label]:>6}" for label in LABELS))
    for truth in LABELS:
        cells = "".join(f"{counts[truth, guess] or '.':>6}" for guess in LABELS)
        print(f"{SHORT[truth]:<7}{cells}")
    right = sum(1 for truth, guess in pairs if truth == guess)
    print(f"\naccuracy {right / len(pairs):.1%} ({right}/{len(pairs)})")


def cross_validate(folds: int) -> None:
    examples = reply_model.load_examples()
    targets = [example.label for example in examples]
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=reply_model.SEED)
    pairs: list[tuple[str, str]] = []
    model_only: list[tuple[str, str]] = []
    by_language: Counter[tuple[str, bool]] = Counter()
    for train_rows, test_rows in splitter.split(examples, targets):
        model = reply_model.train([examples[row] for row in train_rows])
        for row in test_rows:
            example = examples[row]
            found = classify_text(example.new_text, example.subject, use_llm=False, model=model)
            pairs.append((example.label, found.label))
            model_only.append((example.label, model.predict(example.text)))
            by_language[example.lang, found.label == example.label] += 1
    print(f"== {folds}-fold stratified cross-validation on {len(examples)} labelled replies")
    report(pairs)
    languages = sorted({language for language, _ in by_language})
    print(
        "per language: "
        + ", ".join(
            f"{language} {by_language[language, True] / (by_language[language, True] + by_language[language, False]):.1%}"  # noqa: E501
            for language in languages
        )
    )
    right = sum(1 for truth, guess in model_only if truth == guess)
    print(f"the model alone, without auto-reply detection and rules: {right / len(model_only):.1%}")


def held_out() -> list[bytes]:
    expected = json.loads((EML_DIR / "expected.json").read_text())
    pairs: list[tuple[str, str]] = []
    misses = []
    raws = []
    for name, want in sorted(expected.items()):
        raw = (EML_DIR / name).read_bytes()
        raws.append(raw)
        found = classify_message(mail.parse(raw), use_llm=False)
        pairs.append((want["label"], found.label))
        if found.label != want["label"]:
            misses.append(f"  {name}: {found.label} ({found.source}), expected {want['label']}")
    print(f"\n== {len(expected)} raw replies never trained on ({EML_DIR.relative_to(ROOT)})")
    report(pairs)
    print("\n".join(["misses:", *misses]) if misses else "no misses")
    return raws


def throughput(raws: list[bytes], messages: int) -> None:
    """Messages per second of CPU time in this process (one core; the machine's other load
    does not count)."""
    examples = reply_model.load_examples()
    reply_model.get_model()  # trained once per process, before the clock starts
    texts = [(example.new_text, example.subject) for example in examples]
    started = time.process_time()
    for index in range(messages):
        text, subject = texts[index % len(texts)]
        classify_text(text, subject, use_llm=False)
    alone = messages / (time.process_time() - started)
    started = time.process_time()
    for index in range(messages):
        mail.parse(raws[index % len(raws)])
    parse = messages / (time.process_time() - started)
    started = time.process_time()
    for index in range(messages):
        classify_message(mail.parse(raws[index % len(raws)]), use_llm=False)
    chain = messages / (time.process_time() - started)
    print(f"\n== throughput, one core (CPU time), {messages:,} messages each")
    print(f"classification alone (new text + subject -> label): {alone:,.0f} messages/s")
    print(f"parsing alone (unibox.mail.parse of the raw .eml): {parse:,.0f} messages/s")
    print(f"whole chain (raw .eml -> parse, new text, auto-reply, label): {chain:,.0f} messages/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--messages", type=int, default=10_000)
    options = parser.parse_args()
    started = time.perf_counter()
    reply_model.get_model()
    print(f"training on the whole set: {time.perf_counter() - started:.1f} s\n")
    cross_validate(options.folds)
    raws = held_out()
    throughput(raws, options.messages)


if __name__ == "__main__":
    main()
