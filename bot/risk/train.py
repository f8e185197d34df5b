"""Trains the learned part of triage from data/risk/train.jsonl and writes bot/risk/model.json.

Run `python -m bot.risk.train` after editing the corpus. Needs scikit-learn (the `train` extra); the
server does not. The result is deterministic: the same corpus gives the same file. The thresholds at
which the model may raise a conversation on its own are chosen on cross-validated predictions over the
training split, never on the test split or on ../shared/risk (those only measure).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from bot.risk.model import ARTEFACT, CLASSES, features
from bot.risk.signals import analyse

ROOT = Path(__file__).resolve().parents[2]
TRAIN = ROOT / "data" / "risk" / "train.jsonl"
# Most a model-only flag may cost: the share of `none` training conversations it may lift.
MAX_NONE_HIGH = 0.01
MAX_NONE_MEDIUM = 0.04


def load(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def texts_and_labels(rows: list[dict[str, object]]) -> tuple[list[str], list[int]]:
    texts, labels = [], []
    for row in rows:
        messages = row["messages"]
        assert isinstance(messages, list)
        # The conversation's messages as one text; the lexicon, not the model, carries risk across messages.
        texts.append(" | ".join(analyse(str(m)).canonical for m in messages))
        labels.append(CLASSES.index(str(row["label"])))
    return texts, labels


def _identity(text: str) -> list[str]:
    return features(text)


def fit(texts: list[str], labels: list[int]):  # type: ignore[no-untyped-def]
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectoriser = TfidfVectorizer(analyzer=_identity, sublinear_tf=True, min_df=2, norm="l2", smooth_idf=True)
    x = vectoriser.fit_transform(texts)
    classifier = LogisticRegression(C=4.0, class_weight="balanced", max_iter=5000, solver="lbfgs")
    classifier.fit(x, labels)
    return vectoriser, classifier


def choose_thresholds(texts: list[str], labels: list[int]) -> dict[str, float]:
    from sklearn.model_selection import StratifiedKFold

    y = np.asarray(labels)
    probabilities = np.zeros((len(texts), len(CLASSES)))
    for train_idx, held_idx in StratifiedKFold(n_splits=5, shuffle=True, random_state=15).split(texts, y):
        vectoriser, classifier = fit([texts[i] for i in train_idx], [labels[i] for i in train_idx])
        probabilities[held_idx] = classifier.predict_proba(vectoriser.transform([texts[i] for i in held_idx]))
    none = y == 0
    high_scores = np.sort(probabilities[none, 2])[::-1]
    medium_scores = np.sort(probabilities[none, 1] + probabilities[none, 2])[::-1]
    allowed_high = int(MAX_NONE_HIGH * none.sum())
    allowed_medium = int(MAX_NONE_MEDIUM * none.sum())
    return {"high": float(max(0.6, high_scores[allowed_high] + 1e-6)),
            "medium": float(max(0.6, medium_scores[allowed_medium] + 1e-6))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=Path, default=TRAIN)
    parser.add_argument("--output", type=Path, default=ARTEFACT)
    args = parser.parse_args(argv)
    if "shared" in args.train.resolve().parts:
        sys.exit("The shared evaluation set is for measuring only; train on data/risk/train.jsonl.")
    texts, labels = texts_and_labels(load(args.train))
    thresholds = choose_thresholds(texts, labels)
    vectoriser, classifier = fit(texts, labels)
    vocabulary = sorted(vectoriser.vocabulary_, key=vectoriser.vocabulary_.get)
    data = {
        "about": "Logistic regression over n-grams of canonical text; trained by python -m bot.risk.train "
                 "on data/risk/train.jsonl. Classes: " + ", ".join(CLASSES) + ".",
        "examples": len(texts),
        "thresholds": thresholds,
        "vocabulary": vocabulary,
        "idf": [round(float(v), 6) for v in vectoriser.idf_],
        "coef": [[round(float(v), 6) for v in row] for row in classifier.coef_],
        "intercept": [round(float(v), 6) for v in classifier.intercept_],
    }
    args.output.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"{len(texts)} examples, {len(vocabulary)} features, thresholds {thresholds} -> {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
