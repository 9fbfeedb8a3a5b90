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
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from unibox.mail import html_to_text
from unibox.reply_cues import cue_features
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


def _vectorizers() -> list[Any]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    common = {
        "lowercase": True,
        "strip_accents": "unicode",
        "sublinear_tf": True,
        "dtype": np.float64,
    }
    return [
        TfidfVectorizer(
            analyzer="word", ngram_range=(1, 2), token_pattern=r"(?u)\b\w+\b", **common
        ),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, **common),
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
        total = self._bias + (cue_features(text) * CUE_SCALE) @ self._cue_weights
        for (analyze, vocabulary, idf), offset in zip(self._analyzers, self._offsets, strict=False):
            counts = Counter(
                index for gram in analyze(text) if (index := vocabulary.get(gram)) is not None
            )
            if not counts:
                continue
            indexes = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
            values = np.fromiter(
                (1.0 + math.log(count) for count in counts.values()),
                dtype=np.float64,
                count=len(counts),
            )
            values *= idf[indexes]
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
    targets = [example.label for example in rows]
    vectorizers = _vectorizers()
    cues = csr_matrix(np.vstack([cue_features(text) * CUE_SCALE for text in texts]))
    matrix = hstack(
        [vectorizer.fit_transform(texts) for vectorizer in vectorizers] + [cues]
    ).tocsr()
    classifier = LinearSVC(C=C, class_weight="balanced", random_state=SEED, max_iter=10_000)
    classifier.fit(matrix, targets)
    analyzers = [
        (vectorizer.build_analyzer(), dict(vectorizer.vocabulary_), vectorizer.idf_)
        for vectorizer in vectorizers
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
