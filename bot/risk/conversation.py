"""Risk over a whole conversation: signals from each message build on each other, and the level a chat
has reached does not fall by itself.

The state is small and holds no message text (category strengths, a few evidence spans, the learned
part's best figures), so it can be stored on the conversation row and advanced one message at a time
inside the write that stores the message; `assess_conversation` is the same fold over a list.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bot.risk.lexicon import CATEGORIES
from bot.risk.signals import MessageSignals, Signal

HIGH = 90
MEDIUM = 50
STATE_VERSION = 1
# Evidence kept per category: the strongest few, so the state stays small in a long chat.
EVIDENCE_PER_CATEGORY = 3
# A category counts toward the level from this strength (timeframes are weak alone by design).
PRESENT = 50


def level_of(score: int) -> str:
    if score >= HIGH:
        return "high"
    if score >= MEDIUM:
        return "medium"
    return "none"


@dataclass(frozen=True)
class Evidence:
    """What raised the level: the message (its index in the chat), the characters, the category and why."""

    index: int
    category: str
    term: str
    start: int
    end: int
    weight: int

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "category": self.category, "term": self.term, "start": self.start,
                "end": self.end, "weight": self.weight}


@dataclass(frozen=True)
class ConversationRisk:
    level: str
    score: int
    categories: tuple[str, ...]
    evidence: tuple[Evidence, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"level": self.level, "score": self.score, "categories": list(self.categories),
                "evidence": [e.as_dict() for e in self.evidence]}


@dataclass
class RiskState:
    """Everything scoring needs to carry from one message to the next. JSON-safe through as_json."""

    messages: int = 0
    score: int = 0
    strength: dict[str, int] = field(default_factory=dict)
    # Messages in which distress was seen: distress that keeps coming back is more worrying.
    distress_messages: int = 0
    evidence: list[Evidence] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"v": STATE_VERSION, "n": self.messages, "score": self.score, "strength": dict(self.strength),
                "distress": self.distress_messages,
                "evidence": [[e.index, e.category, e.term, e.start, e.end, e.weight] for e in self.evidence]}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> RiskState:
        if not data or data.get("v") != STATE_VERSION:
            return cls()
        return cls(messages=int(data.get("n", 0)), score=int(data.get("score", 0)),
                   strength={str(k): int(v) for k, v in dict(data.get("strength", {})).items()},
                   distress_messages=int(data.get("distress", 0)),
                   evidence=[Evidence(int(i), str(c), str(t), int(s), int(e), int(w))
                             for i, c, t, s, e, w in data.get("evidence", [])])

    def result(self) -> ConversationRisk:
        # A time or a medicine named is listed with the rest once it has raised something; alone it is none.
        categories = tuple(c for c in CATEGORIES if self.strength.get(c, 0) >= PRESENT or
                           (c in ("timeframe", "means") and self.strength.get(c, 0) and self.score >= MEDIUM))
        evidence = tuple(sorted(self.evidence, key=lambda e: (e.index, e.start, e.category)))
        return ConversationRisk(level_of(self.score), self.score, categories, evidence)


def combine(strength: dict[str, int], distress_messages: int = 0) -> int:
    """The conversation's score from the strongest signal of each category. Signals that are worrying
    alone are urgent together: a plan with means or a time, means or a goodbye with thoughts or distress."""
    s = {c: strength.get(c, 0) for c in CATEGORIES}
    score = max(s.values(), default=0)
    at_risk = max(s["suicidal_thoughts"], s["distress"], s["self_harm"]) >= PRESENT
    # Means merely named ("i've got some tablets") are not worrying alone, but are with thoughts or distress.
    acute = [c for c in ("plan", "means", "goodbye") if s[c] >= PRESENT or (c == "means" and s[c] and (at_risk or s["plan"] >= PRESENT))]
    if acute and (at_risk or len(acute) >= 2 or s["timeframe"] >= 20):
        score = max(score, 95)
    if s["suicidal_thoughts"] >= PRESENT and s["timeframe"] >= 20:
        score = max(score, 95)
    if s["self_harm"] >= PRESENT and s["distress"] >= PRESENT:
        score = max(score, min(89, max(s["self_harm"], s["distress"]) + 10))
    if s["sextortion"] >= PRESENT and (s["distress"] >= PRESENT or s["suicidal_thoughts"] >= PRESENT):
        score = max(score, 95)
    if strength.get("sextortion_demand", 0) and (strength.get("sextortion_threat", 0) or strength.get("sextortion_pressure", 0)):
        score = max(score, 95)
    # Grooming is a pattern: one sign alone is ordinary life, several together are not.
    signs = strength.get("grooming_signs", 0)
    if signs >= 2:
        score = max(score, 65)
    if signs >= 3 or (signs >= 2 and s["grooming"] >= 60 and strength.get("grooming_meeting", 0)):
        score = max(score, HIGH)
    if s["danger_now"] >= PRESENT and (s["distress"] >= PRESENT or s["timeframe"] >= 20) and s["danger_now"] < HIGH:
        score = max(score, 75)
    if distress_messages >= 3:
        score = max(score, 65)
    return min(score, 100)


_GROOMING_BITS = {"asked for secrecy": 1, "an adult's attention": 2, "grooming signs": 4, "asked to meet": 8,
                  "meeting an adult": 16, "gifts from someone": 32, "romance from someone older or online": 64}


def advance(state: RiskState, found: MessageSignals, index: int | None = None,
            model_score: tuple[int, Evidence | None] | None = None) -> tuple[RiskState, ConversationRisk]:
    """The state after one more of the child's messages, and the conversation's risk then. Cheap: run it
    where the message is stored. The score never falls."""
    index = state.messages if index is None else index
    strength = dict(state.strength)
    evidence = list(state.evidence)
    distress_seen = False
    for sig in found.signals:
        if sig.weight <= 0:
            continue
        strength[sig.category] = max(strength.get(sig.category, 0), sig.weight)
        if sig.category == "distress" and sig.weight >= PRESENT:
            distress_seen = True
        if sig.term == "demand for money or images":
            strength["sextortion_demand"] = 1
        if sig.term == "threat to share images":
            strength["sextortion_threat"] = 1
        if sig.term == "pressure for images":
            strength["sextortion_pressure"] = 1
        if sig.term == "asked to meet":
            strength["grooming_meeting"] = 1
        if sig.category == "grooming":
            # Each kind of grooming sign counts once, as a bit, so the count survives the JSON state.
            strength["grooming_kinds"] = strength.get("grooming_kinds", 0) | _GROOMING_BITS.get(sig.term, 0)
        evidence.append(Evidence(index, sig.category, sig.term, sig.start, sig.end, sig.weight))
    strength["grooming_signs"] = bin(strength.get("grooming_kinds", 0)).count("1")
    distress_messages = state.distress_messages + (1 if distress_seen else 0)
    score = combine(strength, distress_messages)
    if model_score is not None:
        learned, learned_evidence = model_score
        if learned > score and learned_evidence is not None:
            evidence.append(learned_evidence)
        score = max(score, learned)
        strength["model"] = max(strength.get("model", 0), learned)
    new = RiskState(messages=max(state.messages, index + 1), score=max(state.score, score), strength=strength,
                    distress_messages=distress_messages, evidence=_strongest(evidence))
    return new, new.result()


def _strongest(evidence: Iterable[Evidence]) -> list[Evidence]:
    by_category: dict[str, list[Evidence]] = {}
    for e in evidence:
        by_category.setdefault(e.category, []).append(e)
    kept: list[Evidence] = []
    for items in by_category.values():
        items.sort(key=lambda e: (-e.weight, e.index, e.start))
        kept.extend(items[:EVIDENCE_PER_CATEGORY])
    return kept


def strength_of(signals: Iterable[Signal]) -> int:
    """One message's own score, as if it were the whole conversation (what each stored message carries)."""
    strength: dict[str, int] = {}
    for sig in signals:
        strength[sig.category] = max(strength.get(sig.category, 0), sig.weight)
    return combine(strength)
