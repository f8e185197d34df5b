"""Risk triage of a child's conversation, so the child most at risk is seen first and offered help at once.

Two parts read each message: a lexicon by category (`lexicon.py`) over canonical text (`normalise.py`:
emoji kept as meanings, disguises and misspellings undone), with context rules for idioms, jokes,
negation, fiction and other people (`signals.py`); and a learned model over n-grams of the same text
(`model.py`, trained by `python -m bot.risk.train`). `conversation.py` combines them across the chat.

Use `read(text)` outside any lock (it is the costly part), then `advance(state, reading)` where the
message is stored; `step` does both, `assess_conversation` folds a list, and `assess` scores one message
as the chat used to. Nothing here logs, and no message text is kept in the state.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from bot.risk.conversation import (
    HIGH,
    MEDIUM,
    ConversationRisk,
    Evidence,
    RiskState,
    level_of,
    strength_of,
)
from bot.risk.conversation import advance as _advance
from bot.risk.model import get_model, word_spans
from bot.risk.signals import MessageSignals, analyse

__all__ = ["HIGH", "MEDIUM", "ConversationRisk", "Evidence", "Reading", "RiskAssessment", "RiskState", "advance",
           "assess", "assess_conversation", "level_of", "read", "resume", "step"]

# The learned part alone raises a message to these scores when it is confident (thresholds in model.json).
MODEL_HIGH = 90
MODEL_MEDIUM = 55


@dataclass(frozen=True)
class Reading:
    """One message read: the lexicon's signals, the learned part's score with its evidence, and the
    message's own score (as if it were the whole conversation)."""

    signals: MessageSignals
    model_score: int
    model_spans: tuple[tuple[int, int], ...]
    score: int


def read(text: str) -> Reading:
    signals = analyse(text)
    model = get_model()
    learned, spans = 0, ()
    if model is not None and not signals.discounted:
        prediction = model.predict(signals.canonical)
        if prediction.p_high >= model.high:
            learned = MODEL_HIGH
        elif prediction.p_high + prediction.p_medium >= model.medium:
            learned = MODEL_MEDIUM
        if learned:
            spans = tuple(word_spans(signals.norm, prediction.words))
    return Reading(signals, learned, spans, max(strength_of(signals.signals), learned))


def advance(state: RiskState, reading: Reading, index: int | None = None) -> tuple[RiskState, ConversationRisk]:
    """The conversation after one more message. `index` names the message in the evidence (the chat passes
    nothing and gets the count of the child's messages; a caller may pass a seq)."""
    at = state.messages if index is None else index
    learned = None
    if reading.model_score:
        start, end = (reading.model_spans[0][0], reading.model_spans[-1][1]) if reading.model_spans else (0, 0)
        learned = (reading.model_score, Evidence(at, "model", "learned model", start, end, reading.model_score))
    return _advance(state, reading.signals, at, learned)


def resume(stored: dict[str, Any] | None, score: int = 0) -> RiskState:
    """The state stored on a conversation row. A row scored before there was a state keeps its score."""
    state = RiskState.from_json(stored)
    state.score = max(state.score, score)
    return state


def step(state: RiskState | dict[str, Any] | None, text: str,
         index: int | None = None) -> tuple[RiskState, ConversationRisk]:
    """Score one more message of the child's against the state so far (or a state stored as JSON)."""
    if not isinstance(state, RiskState):
        state = RiskState.from_json(state)
    return advance(state, read(text), index)


def assess_conversation(messages: Iterable[str]) -> ConversationRisk:
    """The child's messages in order -> the conversation's level, score, categories and evidence."""
    state = RiskState()
    result = state.result()
    for text in messages:
        state, result = step(state, text)
    return result


@dataclass(frozen=True)
class RiskAssessment:
    """One message scored alone (kept for callers that store a per-message score)."""

    score: int
    categories: tuple[str, ...]

    @property
    def level(self) -> str:
        return level_of(self.score)


def assess(text: str) -> RiskAssessment:
    reading = read(text)
    categories = tuple(dict.fromkeys(s.category for s in reading.signals.signals if s.weight >= MEDIUM))
    if reading.model_score and not categories:
        categories = ("model",)
    return RiskAssessment(reading.score, categories)

