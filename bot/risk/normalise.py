"""Turns a child's message into canonical words with their places in the original, so the lexicon
matches what was meant ("ki11 mys3lf", "s u i c i d e", "💊", "dnt wnt 2 live") and evidence points at
what was written."""

from __future__ import annotations

import bisect
import itertools
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from bot.risk.lexicon import VOCABULARY
from bot.risk.words import EMOJI, FUZZY_GUARD, FUZZY_TARGETS, SHORTHAND

# A word: letters, digits and the symbols people put in place of letters, or one emoji (a pictograph
# with its modifiers and joiners), or a clause break.
_TOKEN = re.compile(
    r"(?P<word>[^\W_]+(?:['’`*$@!|+][^\W_]+|[$@!|*+]+(?=[^\W_]))*\*?|[$@](?=[^\W_])[^\W_$@!|*+]*(?:[$@!|*+][^\W_]+)*)"
    r"|(?P<emoji>[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\u2300-\u23FF](?:[\uFE0F\u200D\U0001F3FB-\U0001F3FF]"
    r"[\U0001F000-\U0001FAFF\u2600-\u27BF]?)*)"
    r"|(?P<stop>[.!?;\n]+|\s-\s|…)")
# Letters written one at a time ("k i l l", "s.u.i.c.i.d.e", "s-u-i-c-i-d-e"): three or more in a row.
_SPACED = re.compile(r"(?<![^\W_])(?:[^\W_][ .\-_*]){2,}[^\W_](?![^\W_])")
_LEET = {"0": "o", "3": "e", "4": "a", "5": "s", "7": "t", "$": "s", "@": "a", "!": "i", "|": "l", "+": "t",
         "8": "b", "9": "g"}
_STRETCH = re.compile(r"([a-z])\1{2,}")
_APOSTROPHES = str.maketrans("", "", "'’`")
BREAK = "|"
# "she'll", "they're", "we've", "he'd": the ending is a word of its own ("shell" and "were" are words too).
_CONTRACTION = re.compile(r"([a-z]+)'(ll|re|ve|d)")
_CONTRACTIONS = {"ll": "will", "re": "are", "ve": "have", "d": "would"}


@dataclass(frozen=True)
class Normalised:
    """Canonical words joined by single spaces (" | " between clauses), with one original span per word."""

    text: str
    spans: tuple[tuple[int, int], ...]
    # Offset in `text` where each word starts, in order: a regex match in `text` maps back through it.
    starts: tuple[int, ...]

    def span_of(self, start: int, end: int) -> tuple[int, int]:
        """The original characters behind `text[start:end]`."""
        first = bisect.bisect_right(self.starts, start) - 1
        last = bisect.bisect_left(self.starts, end) - 1
        first, last = max(first, 0), max(last, first, 0)
        return self.spans[first][0], self.spans[last][1]


def _fold(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", word).lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@lru_cache(maxsize=8192)
def canonical(word: str) -> tuple[str, ...]:
    """The canonical word(s) for one written word: shorthand expanded, disguises undone, spelling mended."""
    word = _fold(word).replace("’", "'").replace("`", "'")
    contracted = _CONTRACTION.fullmatch(word)
    if contracted:
        return (*canonical(contracted.group(1)), _CONTRACTIONS[contracted.group(2)])
    word = word.translate(_APOSTROPHES)
    if word in SHORTHAND:
        return SHORTHAND[word]
    if word.isdigit():
        return (word,)
    if any(c in _LEET or c.isdigit() or c == "*" for c in word) and any(c.isalpha() for c in word) or \
            word.startswith(("$", "@")) and len(word) > 2:
        word = _unleet(word)
        if word in SHORTHAND:
            return SHORTHAND[word]
    word = word.strip("*!|+$@")
    if not word:
        return ()
    if word not in VOCABULARY:
        word = _unstretch(word)
        if word in SHORTHAND:
            return SHORTHAND[word]
    if word.endswith("in") and word not in VOCABULARY and word + "g" in VOCABULARY:
        word += "g"  # "thinkin", "killin", "cuttin"
    if word not in VOCABULARY and word not in FUZZY_GUARD:
        word = _mend(word)
        if word in SHORTHAND:
            return SHORTHAND[word]
    return (word,)


def _unleet(word: str) -> str:
    """Digits and symbols for letters. '1' is i or l: the reading that makes a known word wins."""
    choices = [("i", "l") if c == "1" else (_LEET.get(c, c),) for c in word]
    wild = word.count("*")
    if wild and wild <= 2:
        pattern = re.compile("".join("[a-z]" if c == "*" else re.escape(c[0]) for c in
                                     ("*" if w == "*" else _LEET.get(w, w) for w in word)).replace("1", "[il]"))
        for known in VOCABULARY:
            if pattern.fullmatch(known):
                return known
    readings = ("".join(r) for r in itertools.islice(itertools.product(*choices), 16))
    first = ""
    for reading in readings:
        reading = reading.replace("*", "")
        first = first or reading
        if reading in VOCABULARY or reading in SHORTHAND:
            return reading
        stretched = _unstretch(reading)
        if stretched in VOCABULARY:
            return stretched
    return first


def _unstretch(word: str) -> str:
    """'diiiieee' -> 'die': runs of a letter to two, then to one if that makes a known word."""
    word = _STRETCH.sub(r"\1\1", word)
    if word in VOCABULARY or word in SHORTHAND:
        return word
    single = re.sub(r"([a-z])\1", r"\1", word)
    if single in VOCABULARY or single in SHORTHAND:
        return single
    return word


def _mend(word: str) -> str:
    """A misspelt key word ('suicidial', 'paracetmol') to its spelling; anything else unchanged."""
    if len(word) < 6:
        return word
    best, best_distance = word, 3
    for target in FUZZY_TARGETS.get(word[:1], ()) + FUZZY_TARGETS.get("", ()):
        allowed = 1 if len(target) < 9 else 2
        if abs(len(target) - len(word)) > allowed:
            continue
        distance = _distance(word, target, allowed)
        if distance <= allowed and distance < best_distance:
            best, best_distance = target, distance
    return best


def _distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (insertions, deletions, substitutions, swaps), cut off past limit."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def normalise(text: str) -> Normalised:
    words: list[str] = []
    spans: list[tuple[int, int]] = []

    def add(word: str, span: tuple[int, int]) -> None:
        if word == BREAK and (not words or words[-1] == BREAK):
            return
        words.append(word)
        spans.append(span)

    for match in _iter_tokens(text):
        kind, start, end, written = match
        if kind == "stop":
            add(BREAK, (start, end))
        elif kind == "emoji":
            for meaning in EMOJI.get(written.replace("\ufe0f", "")[:1], EMOJI.get(written, ())):
                add(meaning, (start, end))
        else:
            for word in canonical(written):
                add(word, (start, end))
    while words and words[-1] == BREAK:
        words.pop()
        spans.pop()
    _mend_numbers(words)
    starts, offset = [], 1
    for word in words:
        starts.append(offset)
        offset += len(word) + 1
    return Normalised(" " + " ".join(words) + " ", tuple(spans), tuple(starts))


# "2" is "to" between a verb that takes "to" and the verb after it ("dnt wnt 2 live"); otherwise a number.
_BEFORE_TO = frozenset({"want", "going", "need", "have", "got", "try", "trying", "used", "ready", "like", "able",
                        "wish", "hope", "deserve", "plan", "planning", "decided", "tried", "wanted", "supposed"})
_AFTER_TO = frozenset({"live", "die", "be", "do", "kill", "end", "go", "talk", "sleep", "stay", "exist", "cut",
                       "hurt", "jump", "take", "leave", "disappear", "see", "tell", "stop", "give", "wake"})


def _mend_numbers(words: list[str]) -> None:
    for i, word in enumerate(words):
        if word == "2" and ((i and words[i - 1] in _BEFORE_TO) or (i + 1 < len(words) and words[i + 1] in _AFTER_TO)):
            words[i] = "to"
        elif word == "4" and i + 1 < len(words) and words[i + 1] in ("ever", "good", "real"):
            words[i] = "for"


def _iter_tokens(text: str) -> list[tuple[str, int, int, str]]:
    tokens: list[tuple[str, int, int, str]] = []
    position = 0
    # Spelled-out runs are joined first, so "k i l l" is one word at the place it was written.
    for run in _SPACED.finditer(text):
        tokens.extend(_plain_tokens(text, position, run.start()))
        letters = re.sub(r"[ .\-_*]", "", run.group())
        joined = canonical(letters)
        if len(joined) > 1 or (joined and joined[0] in VOCABULARY):
            tokens.append(("word", run.start(), run.end(), letters))
        else:
            # "u r a" joined is no word: the letters stay as they were written.
            tokens.extend(_plain_tokens(text, run.start(), run.end()))
        position = run.end()
    tokens.extend(_plain_tokens(text, position, len(text)))
    return tokens


def _plain_tokens(text: str, start: int, end: int) -> list[tuple[str, int, int, str]]:
    out = []
    for m in _TOKEN.finditer(text, start, end):
        kind = m.lastgroup or "word"
        out.append((kind, m.start(), m.end(), m.group()))
    return out
