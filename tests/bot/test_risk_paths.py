"""Risk triage where it runs: the chat path (engine and appender) scores the conversation incrementally,
`run.py risk FILE` gives the same answers as the chat, and nothing of the message text reaches a log."""

from __future__ import annotations

import ast
import json
import logging
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.events import ListSink, StaffEvent
from bot.models.accounts import User
from bot.models.chat import Conversation, Message
from bot.risk import HIGH, assess_conversation
from dialogs.engine import DialogConfig, DialogEngine
from dialogs.main import MAIN_DIALOG

ROOT = Path(__file__).resolve().parents[2]


async def _chat(db, state: str) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    async with db.write() as session:
        name = uuid.uuid4().hex[:10]
        user = User(username=name, username_key=name, password_hash="x", role="child")
        session.add(user)
        await session.flush()
        conv = Conversation(child_id=user.id, state=state, context={})
        session.add(conv)
        await session.flush()
        return user.id, conv.id


@pytest.mark.parametrize("state", ["with_counsellor", "menu"])
async def test_the_chat_scores_risk_built_across_messages(db, state: str, caplog: pytest.LogCaptureFixture) -> None:
    """Both roads (the shared write to a counsellor, the dialog step with the bot) build the same risk."""
    caplog.set_level(logging.DEBUG)
    # The drivers print SQL parameters at debug level; the server keeps them quiet (web/app.py), so do we.
    from web.app import CHATTY_LOGGERS

    for name in CHATTY_LOGGERS:
        caplog.set_level(logging.WARNING, logger=name)
    sink = ListSink()
    engine = DialogEngine(db, sink, MAIN_DIALOG, DialogConfig())
    child, conv = await _chat(db, state)
    messages = ["i'm so tired of all of it", "i've got a bag of pills saved in my wardrobe"]
    for n, text in enumerate(messages):
        await engine.child_input(child, conv, client_id=f"m{n}", text=text)
    async with db.read() as session:
        row = await session.get(Conversation, conv)
        assert row is not None
        stored = list(await session.scalars(select(Message).where(Message.conversation_id == conv,
                                                                  Message.sender == "child").order_by(Message.seq)))
    expected = assess_conversation(messages)
    assert expected.level == "high"
    assert row.risk_score == expected.score >= HIGH
    assert row.risk_state is not None
    # Evidence names the stored messages by seq, with spans into their text.
    seqs = {e[0] for e in row.risk_state["evidence"]}
    assert seqs <= {m.seq for m in stored} and stored[-1].seq in seqs
    for seq, _category, _term, start, end, _weight in row.risk_state["evidence"]:
        text = next(m.text for m in stored if m.seq == seq)
        assert 0 <= start < end <= len(text)
    # Staff were told as the level rose; the last rise is the conversation's score.
    rises = [e.data["risk_score"] for e in sink.events if isinstance(e, StaffEvent) and e.name == "risk"]
    assert rises and rises[-1] == row.risk_score and rises == sorted(rises)
    logged = caplog.text + "\n".join(str(r.args) for r in caplog.records)
    for text in messages:
        assert text not in logged
    assert "wardrobe" not in logged and "pills" not in logged


def test_risk_code_never_logs_or_prints() -> None:
    """Message text cannot leak from the risk package: it has no logger and no print at all."""
    for path in (ROOT / "bot" / "risk").glob("*.py"):
        if path.name == "train.py":  # an offline script; it prints counts, never text (checked below)
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) else [])
                assert "logging" not in names, path
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id != "print", path
    train = (ROOT / "bot" / "risk" / "train.py").read_text(encoding="utf-8")
    assert "import logging" not in train and train.count("print(") == 1


def _run_risk(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "run.py"), "risk", str(path)], check=False, capture_output=True,
                          text=True, timeout=120, cwd=ROOT)


def test_run_py_risk_scores_a_small_file_as_the_chat_does(tmp_path: Path) -> None:
    conversations = [
        {"id": "a", "messages": ["hiya", "i can't cope", "i've saved up loads of my sertraline"]},
        {"id": 2, "messages": ["this revision is killing me 😭"]},
        {"id": "c", "messages": ["my ex has my nudes and says he'll post them unless i send £50"]},
    ]
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(json.dumps(c) for c in conversations) + "\n", encoding="utf-8")
    done = _run_risk(source)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["id"] for line in lines] == ["a", 2, "c"]
    for line, conversation in zip(lines, conversations):
        expected = assess_conversation(conversation["messages"])
        assert (line["level"], line["score"], line["categories"]) == (expected.level, expected.score,
                                                                       list(expected.categories))
        assert set(line) == {"id", "level", "score", "categories", "evidence"}
    assert [line["level"] for line in lines] == ["high", "none", "high"]
    means = [e for e in lines[0]["evidence"] if e["category"] == "means"]
    assert means and means[0]["index"] == 2 and "sertraline" in means[0]["text"]
    assert "sextortion" in lines[2]["categories"]


def test_run_py_risk_reports_bad_lines_and_scores_the_rest(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text('{"id": 1, "messages": ["i want to die"]}\nnot json at all\n{"id": 3, "messages": "oops"}\n'
                      '\n{"id": 4, "messages": ["hello"]}\n', encoding="utf-8")
    done = _run_risk(source)
    assert done.returncode == 1
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line.get("level") or line["error"]["code"] for line in lines] == ["high", "bad_json", "bad_messages",
                                                                             "none"]
    assert "line 2" in done.stderr and "bad_json" in done.stderr
    missing = _run_risk(tmp_path / "nope.jsonl")
    assert missing.returncode == 2 and "no_file" in missing.stderr
