"""The offline reply classifier: a linear model on word and character n-grams, trained on
the labelled replies the project ships (`unibox/data/reply_labels.jsonl`).

The model is trained from that file the first time a process needs it and kept in memory
(about two seconds, once per worker process), never stored: the data file ships with the
code, so the model always matches it, there is no stale cache to invalidate and no pickled
object to trust from disk. Training is deterministic (sorted vocabularies, a fixed seed), so
every process builds the same weights; `fingerprint()` proves it and
`manage.py train_classifier` prints it.

Predicting does not go through scikit-learn: the same analyzers, the vocabularies, the idf
weights and the class weights are kept, and a reply is scored with a few dictionary look-ups
and one small matrix product. scikit-learn's own `predict` validates its input on every call
and costs more than the scoring itself for a single short text.
"""

import hashlib
import json
import math
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise, repeat
from pathlib import Path
from typing import Any

import numpy as np

from unibox.mail import html_to_text
from unibox.reply_cues import cue_features, fold
from unibox.reply_text import extract
from unibox.subjects import without_reply_prefixes

LABELS: tuple[str, ...] = (
    "interested",
    "not_interested",
    "needs_more_info",
    "meeting_requested",
    "wrong_person",
    "out_of_office",
    "referral",
    "question",
    "neutral",
    "unsubscribe",
    "left_company",
)
DATA_FILE = Path(__file__).resolve().parent / "data" / "reply_labels.jsonl"
SEED = 20250114
# The cue features' scale against the n-gram blocks (each of norm 1), and the SVM's C:
# chosen by cross-validation (bench/classify_eval.py), the first values that did best.
CUE_SCALE = 0.5
C = 0.5
# A reply's text beyond this does not change its label and only costs time.
MAX_INPUT = 2000


def model_input(subject: str, text: str) -> str:
    """What the model reads: the subject without reply prefixes, then the new text."""
    subject = without_reply_prefixes(subject)
    return f"{subject}\n{text}"[:MAX_INPUT]


@dataclass(frozen=True)
class Example:
    """One labelled reply of the shipped set, as the classifier reads it."""

    id: str
    label: str
    lang: str
    subject: str
    new_text: str  # the body's new text, as `reply_text` extracts it

    @property
    def text(self) -> str:
        return model_input(self.subject, self.new_text)


def load_examples(path: Path = DATA_FILE) -> list[Example]:
    """The labelled set, each body turned into its new text as the classifier sees it (HTML
    as text, quoted history, signatures and footers cut by `reply_text.extract`)."""
    examples = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if not line.strip():
                continue
            row = json.loads(line)
            body = row["text"] if "text" in row else html_to_text(row["html"])
            if row["label"] not in LABELS:
                raise ValueError(f"{row['id']}: unknown label {row['label']!r}")
            text = extract(body.replace("\r\n", "\n"))
            examples.append(
                Example(row["id"], row["label"], row["lang"], row.get("subject", ""), text)
            )
    return examples


_WORD = re.compile(r"\w+")


def word_grams(folded: str) -> list[str]:
    """Words and pairs of words of a folded text."""
    words = _WORD.findall(folded)
    return words + [f"{first} {second}" for first, second in pairwise(words)]


def char_grams(folded: str) -> list[str]:
    """Two to five characters from inside each word, the word padded with a space each side
    (scikit-learn's "char_wb"): robust to typos and to the endings of six languages."""
    grams: list[str] = []
    for word in folded.split():
        padded = f" {word} "
        size = len(padded)
        for length in range(2, min(5, size) + 1):
            grams += [padded[start : start + length] for start in range(size - length + 1)]
    return grams


ANALYZERS: tuple[Callable[[str], list[str]], ...] = (word_grams, char_grams)


def _vectorizers() -> list[Any]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return [
        TfidfVectorizer(analyzer=word_grams, sublinear_tf=True, dtype=np.float64),
        TfidfVectorizer(analyzer=char_grams, sublinear_tf=True, dtype=np.float64, min_df=2),
    ]


class Model:
    """A trained linear classifier, scored without scikit-learn."""

    def __init__(
        self,
        analyzers: Sequence[tuple[Callable[[str], list[str]], dict[str, int], np.ndarray]],
        weights: np.ndarray,  # (labels, features): each analyzer's n-grams, then the cues
        bias: np.ndarray,
        labels: Sequence[str],
    ) -> None:
        self._analyzers = analyzers
        self._offsets = np.cumsum([0] + [len(vocabulary) for _, vocabulary, _ in analyzers])
        self._weights_by_feature = np.ascontiguousarray(weights.T)
        self._cue_weights = self._weights_by_feature[int(self._offsets[-1]) :]
        self._bias = bias
        self.labels = tuple(labels)

    def scores(self, text: str) -> np.ndarray:
        """One score per label (the linear model's decision function)."""
        text = text[:MAX_INPUT]
        folded = fold(text)
        total = self._bias + (cue_features(text, folded) * CUE_SCALE) @ self._cue_weights
        for (analyze, vocabulary, idf), offset in zip(self._analyzers, self._offsets, strict=False):
            counts = Counter(analyze(folded))
            indexes = np.fromiter(
                map(vocabulary.get, counts, repeat(-1)), dtype=np.int64, count=len(counts)
            )
            known = indexes >= 0
            if not known.any():
                continue
            indexes = indexes[known]
            values = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))[known]
            values = (1.0 + np.log(values)) * idf[indexes]
            values /= math.sqrt(float(values @ values))
            total += values @ self._weights_by_feature[indexes + offset]
        return total

    def predict(self, text: str) -> str:
        return self.labels[int(np.argmax(self.scores(text)))]

    def fingerprint(self) -> str:
        """A digest of the weights: equal in every process that trained on the same data."""
        digest = hashlib.sha256()
        digest.update(np.round(self._weights_by_feature, 10).tobytes())
        digest.update(np.round(self._bias, 10).tobytes())
        for _, vocabulary, _ in self._analyzers:
            digest.update("\n".join(sorted(vocabulary)).encode())
        return digest.hexdigest()[:16]

    @property
    def feature_count(self) -> int:
        return int(self._offsets[-1])


def train(examples: Iterable[Example]) -> Model:
    """A model trained on these examples, the same one every time."""
    from scipy.sparse import csr_matrix, hstack
    from sklearn.svm import LinearSVC

    rows = list(examples)
    texts = [example.text for example in rows]
    folded = [fold(text) for text in texts]
    targets = [example.label for example in rows]
    vectorizers = _vectorizers()
    cues = [cue_features(text, each) * CUE_SCALE for text, each in zip(texts, folded, strict=True)]
    blocks = [vectorizer.fit_transform(folded) for vectorizer in vectorizers]
    matrix = hstack([*blocks, csr_matrix(np.vstack(cues))]).tocsr()
    classifier = LinearSVC(C=C, class_weight="balanced", random_state=SEED, max_iter=10_000)
    classifier.fit(matrix, targets)
    analyzers = [
        (analyze, dict(vectorizer.vocabulary_), vectorizer.idf_)
        for analyze, vectorizer in zip(ANALYZERS, vectorizers, strict=True)
    ]
    return Model(analyzers, classifier.coef_, classifier.intercept_, list(classifier.classes_))


_model: Model | None = None
_lock = threading.Lock()


def get_model() -> Model:
    """The model trained on the shipped set, trained on first use in this process."""
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                _model = train(load_examples())
    return _model


def predict(text: str, model: Model | None = None) -> str:
    """The label for a `model_input` text, by `model` or the shipped set's."""
    return (model or get_model()).predict(text)
