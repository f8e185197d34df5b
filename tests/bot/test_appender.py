"""Group commit of children's chat messages, on SQLite and PostgreSQL: stored before answered, in order, once."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import select

from bot.appender import MessageAppender, Outcome
from bot.events import ListSink, MessageEvent, StaffEvent
from bot.models.accounts import User
from bot.models.base import utcnow
from bot.models.chat import Conversation, Message
from bot.risk import HIGH, MEDIUM, read
from dialogs.engine import DialogConfig, DialogEngine
from dialogs.main import MAIN_DIALOG

QUIET = frozenset({"with_counsellor"})
CALM = read("hello")


async def _chat(db, state: str = "with_counsellor") -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """A child and their open conversation in `state`; returns (child id, conversation id)."""
    async with db.write() as session:
        name = uuid.uuid4().hex[:10]
        user = User(username=name, username_key=name, password_hash="x", role="child")
        session.add(user)
        await session.flush()
        conv = Conversation(child_id=user.id, state=state, context={})
        session.add(conv)
        await session.flush()
        return user.id, conv.id


async def _stored(db, conversation_id: int) -> list[tuple[int, str, str | None]]:  # type: ignore[no-untyped-def]
    async with db.read() as session:
        rows = await session.execute(select(Message.seq, Message.text, Message.client_id)
                                     .where(Message.conversation_id == conversation_id).order_by(Message.seq))
        return [tuple(row) for row in rows]  # type: ignore[misc]


async def test_messages_arriving_together_share_transactions_and_keep_their_order(db) -> None:
    appender = MessageAppender(db)
    chats = [await _chat(db) for _ in range(20)]

    async def talk(child: int, conv: int) -> list[int]:
        seqs = []
        for n in range(5):
            result = await appender.append_child_text(conv, child, f"message {n}", f"c{n}", CALM, QUIET)
            assert result.outcome is Outcome.STORED
            seqs.append(result.seq)
        return seqs

    seqs = await asyncio.gather(*(talk(child, conv) for child, conv in chats))
    assert seqs == [[1, 2, 3, 4, 5]] * 20
    assert appender.appended == 100
    # 20 chats each waiting for their last message: far fewer transactions than messages.
    assert appender.batches <= 20, appender.batches
    for _, conv in chats:
        assert await _stored(db, conv) == [(n + 1, f"message {n}", f"c{n}") for n in range(5)]
    async with db.read() as session:
        conv = await session.get(Conversation, chats[0][1])
        assert conv is not None and conv.last_seq == 5 and conv.version >= 1


async def test_a_resent_client_id_is_stored_once_in_one_batch_or_across_batches(db) -> None:
    appender = MessageAppender(db)
    child, conv = await _chat(db)
    first, again = await asyncio.gather(
        appender.append_child_text(conv, child, "hello", "same", CALM, QUIET),
        appender.append_child_text(conv, child, "hello", "same", CALM, QUIET))
    later = await appender.append_child_text(conv, child, "hello", "same", CALM, QUIET)
    assert first.outcome is Outcome.STORED and first.seq == 1
    assert (again.outcome, again.seq) == (Outcome.DUPLICATE, 1)
    assert (later.outcome, later.seq) == (Outcome.DUPLICATE, 1)
    assert await _stored(db, conv) == [(1, "hello", "same")]


async def test_anything_but_the_plain_case_is_left_to_the_full_path(db) -> None:
    appender = MessageAppender(db)
    child, bot_chat = await _chat(db, state="menu")
    other_child, counsellor_chat = await _chat(db)
    closed_child, closed = await _chat(db)
    async with db.write() as session:
        row = await session.get(Conversation, closed)
        assert row is not None
        row.closed_at = utcnow()
    results = await asyncio.gather(
        appender.append_child_text(bot_chat, child, "hi", "a", CALM, QUIET),
        appender.append_child_text(counsellor_chat, child, "not my chat", "b", CALM, QUIET),
        appender.append_child_text(closed, closed_child, "anyone?", "c", CALM, QUIET),
        appender.append_child_text(999_999, child, "nowhere", "d", CALM, QUIET))
    assert [r.outcome for r in results] == [Outcome.NOT_HERE] * 4
    for conv in (bot_chat, counsellor_chat, closed):
        assert await _stored(db, conv) == []
    assert other_child != child


async def test_risk_builds_across_messages_and_is_kept(db) -> None:
    appender = MessageAppender(db)
    child, conv = await _chat(db)
    worried = await appender.append_child_text(conv, child, "everything is too much", "a", read("everything is too much"),
                                               QUIET)
    calmer = await appender.append_child_text(conv, child, "ok", "b", read("ok"), QUIET)
    # Tablets said alone are not high; after "everything is too much" they are.
    means = "i've got a pack of tablets here"
    urgent = await appender.append_child_text(conv, child, means, "c", read(means), QUIET)
    assert worried.risk_raised and not calmer.risk_raised and urgent.risk_raised
    assert MEDIUM <= worried.risk_score < HIGH and calmer.risk_score == worried.risk_score and urgent.risk_score >= HIGH
    async with db.read() as session:
        row = await session.get(Conversation, conv)
        assert row is not None and row.risk_score == urgent.risk_score
        assert row.risk_state is not None and {e[0] for e in row.risk_state["evidence"]} == {1, 3}
        assert means not in str(row.risk_state) and "too much" not in str(row.risk_state)


async def test_engine_takes_the_shared_write_for_text_to_a_counsellor_and_publishes_after_it(db) -> None:
    sink = ListSink()
    engine = DialogEngine(db, sink, MAIN_DIALOG, DialogConfig())
    child, conv = await _chat(db)
    ack = await engine.child_input(child, conv, client_id="x", text="I want to die")
    assert ack.seq == 1 and not ack.duplicate
    assert engine.appender.appended == 1
    assert await _stored(db, conv) == [(1, "I want to die", "x")]
    assert [type(e) for e in sink.events] == [MessageEvent, StaffEvent]
    assert sink.events[1].name == "risk"  # type: ignore[union-attr]
    resent = await engine.child_input(child, conv, client_id="x", text="I want to die")
    assert (resent.seq, resent.duplicate) == (1, True)
    # A conversation with the bot goes the full way (the bot answers), and is remembered as such.
    child2, bot_chat = await _chat(db, state="menu")
    await engine.child_input(child2, bot_chat, client_id="y", text="help")
    assert engine.appender.appended == 1
    assert len(await _stored(db, bot_chat)) >= 2
