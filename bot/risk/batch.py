"""Scores conversations given as JSON lines (`run.py risk FILE`), by the same steps the chat takes."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from bot.risk import RiskState, step


def score_lines(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """One result per non-blank input line: `{"id", "level", "score", "categories", "evidence"}` for the
    conversation after its last message, or `{"id", "line", "error": {"code", "message"}}` for a line that
    cannot be read (the others are still scored)."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            yield _error(None, number, "bad_json", "This line is not JSON.")
            continue
        if not isinstance(record, dict):
            yield _error(None, number, "bad_record", 'Each line must be an object like {"id": 1, "messages": ["..."]}.')
            continue
        ident = record.get("id")
        messages = record.get("messages")
        if not isinstance(messages, list) or not all(isinstance(m, str) for m in messages):
            yield _error(ident, number, "bad_messages", '"messages" must be a list of the child\'s messages as text.')
            continue
        state = RiskState()
        result = state.result()
        for text in messages:
            state, result = step(state, text)
        out = {"id": ident, **result.as_dict()}
        for evidence in out["evidence"]:
            if evidence["category"] != "model" or evidence["end"] > evidence["start"]:
                evidence["text"] = messages[evidence["index"]][evidence["start"]:evidence["end"]]
        yield out


def _error(ident: Any, number: int, code: str, message: str) -> dict[str, Any]:
    return {"id": ident, "line": number, "error": {"code": code, "message": message}}
