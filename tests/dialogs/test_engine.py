"""The dialog engine on SQLite and PostgreSQL: one machine for all conversations, state saved with messages."""

from __future__ import annotations

import asyncio
import gc
import uuid

from sqlalchemy import select
from transitions.extensions.asyncio import AsyncMachine

from bot.events import ListSink, MessageEvent, StateEvent
from bot.models.accounts import User
from bot.models.chat import Conversation, Message
from dialogs.engine import DialogConfig, DialogEngine
from dialogs.main import MAIN_DIALOG


async def _child(db, name: str | None = None) -> int:  # type: ignore[no-untyped-def]
    async with db.write() as session:
        user = User(username=name or uuid.uuid4().hex[:10], username_key=name or uuid.uuid4().hex[:10],
                    password_hash="x", role="child")
        session.add(user)
        await session.flush()
        return user.id


def _machines() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, AsyncMachine))


async def test_machines_do_not_grow_with_conversations(db) -> None:
    engine = DialogEngine(db, ListSink(), MAIN_DIALOG, DialogConfig())
    before = _machines()
    children = [await _child(db) for _ in range(30)]

    async def chat(child: int) -> None:
        opened = await engine.open(child)
        await engine.child_input(child, opened.conversation.id, client_id="a", option="advice")
        await engine.child_input(child, opened.conversation.id, client_id="b", text="is it my fault")

    await asyncio.gather(*(chat(c) for c in children))
    assert _machines() == before
    assert engine.machine.models == []
    # No per-conversation queues or task lists are left behind inside the shared machine.
    assert engine.machine._transition_queue_dict == {}
    assert AsyncMachine.async_tasks == {}


async def test_state_and_messages_are_committed_together(db) -> None:
    sink = ListSink()
    engine = DialogEngine(db, sink, MAIN_DIALOG, DialogConfig())
    child = await _child(db)
    opened = await engine.open(child)
    ack = await engine.child_input(child, opened.conversation.id, client_id="x1", text="remove my picture")
    async with db.read() as session:
        conv = await session.get(Conversation, opened.conversation.id)
        messages = (await session.execute(select(Message).where(Message.conversation_id == conv.id)
                                          .order_by(Message.seq))).scalars().all()
    assert conv.state == "report_age"
    assert [m.seq for m in messages] == list(range(1, conv.last_seq + 1))
    assert messages[ack.seq - 1].text == "remove my picture" and messages[ack.seq - 1].client_id == "x1"
    # Published only what was committed, in order, ending with the state.
    published = [e for e in sink.events if isinstance(e, MessageEvent)]
    assert [e.message.seq for e in published] == [m.seq for m in messages]
    assert isinstance(sink.events[-2], StateEvent) or any(isinstance(e, StateEvent) for e in sink.events)


async def test_a_failed_step_stores_nothing_and_publishes_nothing(db, monkeypatch) -> None:
    sink = ListSink()
    engine = DialogEngine(db, sink, MAIN_DIALOG, DialogConfig())
    child = await _child(db)
    opened = await engine.open(child)
    sink.events.clear()

    def boom(self) -> None:  # type: ignore[no-untyped-def]
        raise RuntimeError("callback failed")

    monkeypatch.setattr(MAIN_DIALOG.model, "on_enter_advice", boom)
    try:
        await engine.child_input(child, opened.conversation.id, client_id="y", option="advice")
    except RuntimeError:
        pass
    async with db.read() as session:
        conv = await session.get(Conversation, opened.conversation.id)
        count = len((await session.execute(select(Message.id).where(Message.conversation_id == conv.id))).all())
    assert conv.state == "menu" and count == 2 and sink.events == []
    assert engine.machine.models == []


async def test_concurrent_messages_to_one_conversation_get_distinct_ordered_seqs(db) -> None:
    engine = DialogEngine(db, ListSink(), MAIN_DIALOG, DialogConfig())
    child = await _child(db)
    opened = await engine.open(child)
    acks = await asyncio.gather(*(engine.child_input(child, opened.conversation.id, client_id=f"k{i}",
                                                     text=f"hello {i}") for i in range(10)))
    seqs = sorted(a.seq for a in acks)
    assert len(set(seqs)) == 10
    async with db.read() as session:
        stored = (await session.execute(select(Message.seq).where(Message.conversation_id == opened.conversation.id)
                                        .order_by(Message.seq))).scalars().all()
    assert stored == list(range(1, len(stored) + 1))


async def test_another_childs_conversation_is_not_found(db) -> None:
    from bot.errors import NotFound

    engine = DialogEngine(db, ListSink(), MAIN_DIALOG, DialogConfig())
    alice, bob = await _child(db), await _child(db)
    opened = await engine.open(alice)
    try:
        await engine.child_input(bob, opened.conversation.id, client_id="z", text="hi")
    except NotFound as exc:
        assert exc.code == "no_conversation"
    else:
        raise AssertionError("bob reached alice's conversation")
    try:
        await engine.messages_after(bob, opened.conversation.id, 0)
    except NotFound:
        pass
    else:
        raise AssertionError("bob read alice's messages")
