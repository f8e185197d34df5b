"""Risk scoring of children's messages against a word list, so the most at-risk child is served first."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# (weight, category, phrases). Phrases are matched on word boundaries after normalising
# spelling shortcuts; a weight of 90+ means "offer help now", 50+ "worrying".
RISK_PHRASES: tuple[tuple[int, str, tuple[str, ...]], ...] = (
    (95, "suicide", (
        "kill myself", "killing myself", "end my life", "ending my life", "take my own life",
        "want to die", "wanna die", "going to die tonight", "suicide", "suicidal", "kms",
        "better off dead", "dont want to be alive", "don't want to be alive", "dont want to live",
        "don't want to live", "no reason to live", "end it all",
    )),
    (95, "method", (
        "overdose", "od on", "took pills", "take all my pills", "hang myself", "jump off",
        "jump in front", "slit my", "cut my wrists", "drink bleach", "drank bleach", "buy a rope",
    )),
    (90, "danger_now", (
        "not safe", "unsafe right now", "in danger", "hurting me", "he is here", "she is here",
        "they are here", "locked me in", "locked in", "going to hurt me", "coming to get me",
        "hit me", "beating me", "scared for my life", "help me now",
    )),
    (70, "self_harm", (
        "self harm", "self-harm", "selfharm", "cut myself", "cutting myself", "hurt myself",
        "hurting myself", "burn myself", "harm myself",
    )),
    (50, "distress", (
        "hate myself", "cant cope", "can't cope", "hopeless", "nobody cares", "no one cares",
        "want to disappear", "everyone would be better", "blackmail", "threatening to share",
        "sextortion",
    )),
)

HIGH = 90
MEDIUM = 50

_SUBS = (("can't", "cant"), ("won't", "wont"), ("don't", "dont"), ("i'm", "im"), ("’", "'"))


def _normalise(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).lower()
    for a, b in _SUBS:
        folded = folded.replace(a, b)
    # "sooo" -> "soo": stretched letters should not dodge the list.
    folded = re.sub(r"(.)\1{2,}", r"\1\1", folded)
    return " " + re.sub(r"[^a-z0-9' -]+", " ", folded) + " "


def _compile() -> list[tuple[int, str, re.Pattern[str]]]:
    compiled = []
    for weight, category, phrases in RISK_PHRASES:
        alternatives = "|".join(re.escape(_normalise(p).strip()) for p in phrases)
        compiled.append((weight, category, re.compile(rf"(?<![a-z0-9])(?:{alternatives})(?![a-z0-9])")))
    return compiled


_PATTERNS = _compile()


@dataclass(frozen=True)
class RiskAssessment:
    score: int
    categories: tuple[str, ...]

    @property
    def level(self) -> str:
        return level_of(self.score)


def level_of(score: int) -> str:
    if score >= HIGH:
        return "high"
    if score >= MEDIUM:
        return "medium"
    return "none"


def assess(text: str) -> RiskAssessment:
    norm = _normalise(text)
    score = 0
    categories: list[str] = []
    for weight, category, pattern in _PATTERNS:
        if pattern.search(norm):
            categories.append(category)
            score = max(score, weight)
    if len(categories) > 1:
        # Several kinds of risk in one message is more urgent than any one of them.
        score = min(100, score + 5 * (len(categories) - 1))
    return RiskAssessment(score=score, categories=tuple(categories))
