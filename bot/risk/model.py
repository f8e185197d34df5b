"""The learned part of triage: a logistic regression over character and word n-grams of the canonical text.

Why this model: it is trained in seconds by `python -m bot.risk.train` from the corpus in data/risk, and
ships as one small JSON file that this module reads with the standard library and numpy, so nothing is
downloaded at run time and scikit-learn is needed only to train. It is deterministic and takes well under
a millisecond per message on one core. Character n-grams over the canonical words (after disguises,
shorthand and emoji are undone) carry the spellings no list foresees, and a linear model can say which
words moved it, so its evidence is as legible to a counsellor as the lexicon's. A sentence-embedding model
would read paraphrase better but needs weights far larger than the whole lexicon, milliseconds of matrix
work per message, and gives no word-level reason; the lexicon already covers meaning by category.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from bot.risk.normalise import BREAK, Normalised

ARTEFACT = Path(__file__).with_name("model.json")
CLASSES = ("none", "medium", "high")


def features(canonical: str) -> list[str]:
    """The n-grams of canonical text: words, word pairs, and 3-5 letter pieces of each padded word.
    The trainer hands this very function to scikit-learn, so training and run time cannot drift apart."""
    words = [w for w in canonical.split() if w != BREAK]
    out = ["w:" + w for w in words]
    out.extend("b:" + a + " " + b for a, b in itertools.pairwise(words))
    for w in words:
        padded = " " + w + " "
        for n in (3, 4, 5):
            out.extend("c:" + padded[i:i + n] for i in range(len(padded) - n + 1))
    return out


@dataclass(frozen=True)
class Prediction:
    p_high: float
    p_medium: float
    # Indexes into the message's canonical words that pushed hardest toward risk.
    words: tuple[int, ...]


class Model:
    def __init__(self, data: dict[str, object]) -> None:
        vocabulary = data["vocabulary"]
        assert isinstance(vocabulary, list)
        self.index = {f: i for i, f in enumerate(vocabulary)}
        self.idf = np.asarray(data["idf"], dtype=np.float64)
        self.coef = np.asarray(data["coef"], dtype=np.float64)  # classes x features
        self.intercept = np.asarray(data["intercept"], dtype=np.float64)
        thresholds = data["thresholds"]
        assert isinstance(thresholds, dict)
        self.high = float(thresholds["high"])
        self.medium = float(thresholds["medium"])

    def predict(self, canonical: str) -> Prediction:
        grams = features(canonical)
        counts: dict[int, int] = {}
        for g in grams:
            j = self.index.get(g)
            if j is not None:
                counts[j] = counts.get(j, 0) + 1
        if not counts:
            return Prediction(0.0, 0.0, ())
        cols = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        tf = np.fromiter((1.0 + math.log(c) for c in counts.values()), dtype=np.float64, count=len(counts))
        x = tf * self.idf[cols]
        x /= np.linalg.norm(x)
        logits = self.coef[:, cols] @ x + self.intercept
        logits -= logits.max()
        p = np.exp(logits)
        p /= p.sum()
        return Prediction(float(p[2]), float(p[1]), self._words(canonical, cols, x))

    def _words(self, canonical: str, cols: np.ndarray, x: np.ndarray) -> tuple[int, ...]:
        """The words whose n-grams added most to the risk classes over `none`."""
        push = (self.coef[2, cols] + self.coef[1, cols] - 2 * self.coef[0, cols]) * x
        by_feature = {int(c): float(v) for c, v in zip(cols, push)}
        words = [w for w in canonical.split() if w != BREAK]
        scores = []
        for i, w in enumerate(words):
            total = by_feature.get(self.index.get("w:" + w, -1), 0.0)
            padded = " " + w + " "
            for n in (3, 4, 5):
                for k in range(len(padded) - n + 1):
                    total += by_feature.get(self.index.get("c:" + padded[k:k + n], -1), 0.0) / max(1, len(padded) - 2)
            scores.append((total, i))
        scores.sort(reverse=True)
        return tuple(sorted(i for s, i in scores[:2] if s > 0))


@lru_cache(maxsize=1)
def get_model() -> Model | None:
    """The shipped model, or None when it has not been trained (the lexicon then works alone)."""
    if not ARTEFACT.exists():
        return None
    return Model(json.loads(ARTEFACT.read_text(encoding="utf-8")))


def word_spans(norm: Normalised, indexes: tuple[int, ...]) -> list[tuple[int, int]]:
    """Original characters of the canonical words at `indexes` (breaks not counted)."""
    positions = [k for k, w in enumerate(norm.text.split()) if w != BREAK]
    return [norm.spans[positions[i]] for i in indexes if i < len(positions)]
