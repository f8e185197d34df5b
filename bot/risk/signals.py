"""What one message says about risk: the lexicon's matches after context (idioms, negation, someone else,
fiction, jokes, a past that is over), each with the characters of the message that raised it."""

from __future__ import annotations

from dataclasses import dataclass

from bot.risk.lexicon import (
    COMPILED,
    FICTION,
    FILLERS,
    FIRST_PERSON,
    IDIOMS,
    NEGATORS,
    NOT_JOKING,
    PAST,
    PICTURES,
    RESOLVED,
    THIRD_PERSON,
    TRIVIAL,
)
from bot.risk.normalise import BREAK, Normalised, normalise

# Jokes and a past that is over leave a phrase worrying but not urgent.
JOKE_CAP = 60
PAST_CAP = 55
# Fiction, school and other people's risk do not touch these: danger to the child is never a story.
_ALWAYS_MEANT = frozenset({"danger_now", "distress"})


@dataclass(frozen=True)
class Signal:
    """One lexicon entry found in a message: category, strength, entry name, original characters."""

    category: str
    weight: int
    term: str
    start: int
    end: int


@dataclass(frozen=True)
class MessageSignals:
    signals: tuple[Signal, ...]
    # The canonical words, for the learned part (never stored, never logged).
    canonical: str
    norm: Normalised
    # A risk phrase was seen and taken back (an idiom, a joke, fiction, negation, someone else): the
    # learned part may not raise this message on its own, since the lexicon has read it more closely.
    discounted: bool = False


def analyse(text: str) -> MessageSignals:
    """The signals in one message. Pure, and the costly part of scoring: callers run it before any lock."""
    norm = normalise(text)
    t = norm.text
    idioms = [(m.start(), m.end()) for pattern in IDIOMS for m in pattern.finditer(t)]
    fiction = FICTION.search(t) is not None
    joking = " lolmark " in t and NOT_JOKING.search(t) is None
    trivial = joking and any(w in TRIVIAL for w in t.split() if w != "lolmark")
    resolved = RESOLVED.search(t) is not None
    found: dict[tuple[str, str], tuple[int, int, int]] = {}
    discounted = False
    for entry, patterns in COMPILED:
        for pattern in patterns:
            for m in pattern.finditer(t):
                start, end = m.start(), m.end()
                if any(a < end and start < b for a, b in idioms):
                    discounted = True
                    continue
                weight = entry.weight
                if _negated(t, start):
                    discounted = True
                    continue
                if entry.anyone and _someone_else(t, start, end):
                    discounted = True
                    continue
                if entry.category not in _ALWAYS_MEANT and fiction:
                    discounted = True
                    continue
                past = PAST.search(t, max(0, start - 40), start) is not None
                if past and resolved:
                    discounted = True
                    continue
                if past:
                    weight = min(weight, PAST_CAP)
                    discounted = True
                if entry.jokable and joking:
                    if trivial:
                        discounted = True
                        continue
                    weight = min(weight, JOKE_CAP)
                    discounted = True
                key = (entry.category, entry.name)
                best = found.get(key)
                if best is None or weight > best[0] or (weight == best[0] and end - start > best[2] - best[1]):
                    found[key] = (weight, start, end)
    words = t.split()
    if words and all(w in PICTURES or w == BREAK for w in words) and not found:
        found[("means", "pictures of means")] = (90, 1, len(t) - 1)
    signals = []
    for (category, name), (weight, start, end) in found.items():
        a, b = norm.span_of(start, end - 1 if t[end - 1] == " " else end)
        signals.append(Signal(category, weight, name, a, b))
    signals.sort(key=lambda s: (-s.weight, s.start, s.category))
    return MessageSignals(tuple(signals), t.strip(), norm, discounted or (joking and trivial) or bool(idioms) or fiction)


def _clause_before(t: str, start: int, limit: int) -> list[str]:
    words = t[:start].split()
    out = []
    for word in reversed(words):
        if word == BREAK or len(out) >= limit:
            break
        out.append(word)
    return out


def _negated(t: str, start: int) -> bool:
    """A negator governs the phrase when only fillers stand between them: 'i would never really ...'."""
    for word in _clause_before(t, start, 6):
        if word in NEGATORS:
            return True
        if word not in FILLERS:
            return False
    return False


def _someone_else(t: str, start: int, end: int) -> bool:
    """The nearest subject before the phrase (or in it) is someone else: 'my friend took an overdose'."""
    inside = t[start:end].split()
    if any(w in FIRST_PERSON for w in inside):
        return False
    for word in _clause_before(t, start, 8):
        if word in FIRST_PERSON:
            return False
        if word in THIRD_PERSON:
            return True
    return False

