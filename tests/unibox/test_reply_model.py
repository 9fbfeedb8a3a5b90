"""The offline model (unibox.reply_model): built from the shipped set, the same in every
process, scored exactly as scikit-learn would."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.sparse import csr_matrix, hstack

from unibox import reply_model
from unibox.reply_cues import cue_features, fold

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = [
    "Sounds good, send me the contract",
    "Können wir Donnerstag telefonieren?",
    "Pas intéressé, merci.",
    "¿Tenéis API?",
    "Verwijder mijn gegevens",
    "",
]

# Trains in a fresh interpreter and prints the model's fingerprint and its labels.
_PROBE = f"""
import json, sys
sys.path.insert(0, {str(ROOT)!r})
from unibox import reply_model
model = reply_model.get_model()
print(json.dumps([model.fingerprint(), [model.predict(text) for text in {SAMPLE!r}]]))
"""


def test_the_same_data_gives_the_same_model_and_labels_in_every_process():
    runs = [
        subprocess.run(
            [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True, cwd=ROOT
        ).stdout
        for _ in range(2)
    ]
    assert runs[0] == runs[1]
    fingerprint, labels = json.loads(runs[0])
    here = reply_model.get_model()
    assert fingerprint == here.fingerprint()
    assert labels == [here.predict(text) for text in SAMPLE]


def test_training_twice_in_one_process_gives_the_same_weights():
    examples = reply_model.load_examples()[::3]
    assert reply_model.train(examples).fingerprint() == reply_model.train(examples).fingerprint()


def test_the_scoring_without_scikit_learn_equals_scikit_learns_decision_function():
    from sklearn.svm import LinearSVC

    examples = reply_model.load_examples()
    texts = [example.text for example in examples]
    folded = [fold(text) for text in texts]
    vectorizers = reply_model._vectorizers()
    cues = np.vstack([cue_features(text) * reply_model.CUE_SCALE for text in texts])
    matrix = hstack([*(v.fit_transform(folded) for v in vectorizers), csr_matrix(cues)]).tocsr()
    classifier = LinearSVC(
        C=reply_model.C, class_weight="balanced", random_state=reply_model.SEED, max_iter=10_000
    ).fit(matrix, [example.label for example in examples])
    model = reply_model.get_model()
    probe = [*texts[::40], *SAMPLE]
    probe_folded = [fold(text) for text in probe]
    probe_cues = np.vstack([cue_features(text) * reply_model.CUE_SCALE for text in probe])
    probe_matrix = hstack(
        [*(v.transform(probe_folded) for v in vectorizers), csr_matrix(probe_cues)]
    ).tocsr()
    expected = classifier.decision_function(probe_matrix)
    ours = np.vstack([model.scores(text) for text in probe])
    assert list(model.labels) == list(classifier.classes_)
    np.testing.assert_allclose(ours, expected, atol=1e-9)


def test_a_label_outside_the_set_in_the_data_is_refused(tmp_path):
    bad = tmp_path / "labels.jsonl"
    row = {"id": "x", "label": "maybe", "lang": "en", "subject": "", "text": "Hm."}
    bad.write_text(json.dumps(row) + "\n")
    with pytest.raises(ValueError, match="maybe"):
        reply_model.load_examples(bad)
