"""The counsellor queue on SQLite and PostgreSQL: order, races, positions, estimates, handoffs, grace."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.db import Database, make_engine
from bot.errors import Conflict, Forbidden, Invalid, NotFound
from bot.events import ListSink, MessageEvent
from bot.models.accounts import User
from bot.models.base import utcnow
from bot.models.chat import Conversation
from bot.models.counselling import Assignment, CounsellorProfile, QueueEntry, WrapUp
from bot.queue import Counselling, CounsellingConfig, QueuePosition, StaffAlert, check_wrap_up


async def make_user(db: Database, role: str) -> int:
    async with db.write() as session:
        name = f"{role[:4]}{uuid.uuid4().hex[:8]}"
        user = User(username=name, username_key=name, password_hash="x", role=role)
        session.add(user)
        await session.flush()
        return user.id


async def waiting_child(db: Database, queue: Counselling, *, risk: int = 0, since: datetime | None = None) -> int:
    """A child's open conversation, put in the queue at `since` with the given risk score."""
    child = await make_user(db, "child")
    async with db.write() as session:
        conv = Conversation(child_id=child, state="queue", context={}, risk_score=risk)
        session.add(conv)
        await session.flush()
        assert await queue.enqueue_in(session, conv, since or utcnow())
        return conv.id


async def counsellor(db: Database, queue: Counselling, *, status: str = "available") -> int:
    user_id = await make_user(db, "counsellor")
    await queue.do_connect(user_id, "back")
    await queue.do_set_status(user_id, status)
    return user_id


def service(db: Database, sink: ListSink | None = None, **config: Any) -> Counselling:
    return Counselling(db, sink or ListSink(), CounsellingConfig(**config))


async def test_two_counsellors_race_for_one_child_and_exactly_one_wins(db, database_url) -> None:
    # On PostgreSQL each counsellor gets their own engine, as if served by separate processes.
    other = Database(make_engine(database_url)) if not db.sqlite else db
    try:
        first, second = service(db), service(other)
        for _ in range(8):
            a, b = await counsellor(db, first), await counsellor(db, first)
            conv = await waiting_child(db, first)
            results = await asyncio.gather(first.do_take_next(a), second.do_take_next(b), return_exceptions=True)
            winners = [r for r in results if isinstance(r, int)]
            losers = [r for r in results if isinstance(r, NotFound)]
            assert winners == [conv] and len(losers) == 1 and losers[0].code == "queue_empty", results
            async with db.read() as session:
                rows = (await session.execute(select(Assignment).where(Assignment.conversation_id == conv))).all()
                assert len(rows) == 1
                assert await session.get(QueueEntry, conv) is None
    finally:
        if other is not db:
            await other.dispose()


async def test_many_counsellors_many_children_each_child_taken_once(db, database_url) -> None:
    other = Database(make_engine(database_url)) if not db.sqlite else db
    try:
        services = [service(db), service(other)]
        staff = [await counsellor(db, services[0]) for _ in range(6)]
        children = {await waiting_child(db, services[0]) for _ in range(4)}
        results = await asyncio.gather(*(services[i % 2].do_take_next(s) for i, s in enumerate(staff)),
                                       return_exceptions=True)
        taken = [r for r in results if isinstance(r, int)]
        assert sorted(taken) == sorted(children)
        assert sum(isinstance(r, NotFound) for r in results) == 2
    finally:
        if other is not db:
            await other.dispose()


async def test_order_is_risk_first_then_time_waiting(db) -> None:
    queue = service(db)
    t0 = utcnow() - timedelta(minutes=30)
    calm_early = await waiting_child(db, queue, risk=0, since=t0)
    urgent_late = await waiting_child(db, queue, risk=95, since=t0 + timedelta(minutes=20))
    medium = await waiting_child(db, queue, risk=60, since=t0 + timedelta(minutes=5))
    urgent_early = await waiting_child(db, queue, risk=95, since=t0 + timedelta(minutes=10))
    calm_late = await waiting_child(db, queue, risk=0, since=t0 + timedelta(minutes=25))

    positions = {e.conversation_id: e.position for e in await queue.get_positions() if isinstance(e, QueuePosition)}
    expected = [urgent_early, urgent_late, medium, calm_early, calm_late]
    assert [c for c, _ in sorted(positions.items(), key=lambda kv: kv[1])] == expected

    staff = await counsellor(db, queue)
    async with db.write() as session:
        await session.execute(update(CounsellorProfile).values(capacity=10))
    taken = [await queue.do_take_next(staff) for _ in expected]
    assert taken == expected
    with pytest.raises(NotFound) as empty:
        await queue.do_take_next(staff)
    assert empty.value.code == "queue_empty"


async def test_risk_rising_while_waiting_moves_a_child_up(db) -> None:
    queue = service(db)
    first = await waiting_child(db, queue, since=utcnow() - timedelta(minutes=10))
    second = await waiting_child(db, queue)
    async with db.write() as session:
        conv = await session.get(Conversation, second)
        assert conv is not None
        conv.risk_score = 92
    staff = await counsellor(db, queue)
    assert await queue.do_take_next(staff) == second
    assert await queue.do_take_next(staff) == first


async def test_every_waiting_child_hears_their_new_position(db) -> None:
    sink = ListSink()
    queue = service(db, sink)
    children = [await waiting_child(db, queue, since=utcnow() - timedelta(minutes=10 - i)) for i in range(4)]
    staff = await counsellor(db, queue)
    sink.events.clear()
    assert await queue.do_take_next(staff) == children[0]
    positions = {e.conversation_id: e.position for e in sink.events if isinstance(e, QueuePosition)}
    assert positions == {children[1]: 1, children[2]: 2, children[3]: 3}
    summary = [e for e in sink.events if isinstance(e, StaffAlert) and e.name == "queue_summary"]
    assert summary[-1].data == {"waiting": 3}


async def test_estimated_wait_comes_from_recent_handling_times(db) -> None:
    queue = service(db, default_capacity=2)
    staff = await counsellor(db, queue)
    # No history yet: no number rather than a made-up one.
    first = await waiting_child(db, queue)
    etas = [e.eta_minutes for e in await queue.get_positions() if isinstance(e, QueuePosition)]
    assert etas == [None]
    # Three finished chats of 10, 12 and 20 minutes: median 12.
    now = utcnow()
    kids = [await make_user(db, "child") for _ in range(3)]
    async with db.write() as session:
        for kid, minutes in zip(kids, (10, 12, 20)):
            conv = Conversation(child_id=kid, state="menu", context={})
            session.add(conv)
            await session.flush()
            session.add(Assignment(conversation_id=conv.id, counsellor_id=staff, waiting_since=now,
                                   started_at=now - timedelta(minutes=minutes), ended_at=now,
                                   end_reason="wrapped_up"))
    others = [await waiting_child(db, queue) for _ in range(3)]
    await queue.do_take_next(staff)  # one of the two slots is busy now
    etas = {e.conversation_id: e.eta_minutes for e in await queue.get_positions() if isinstance(e, QueuePosition)}
    assert first not in etas
    # One slot free: the next child is about a minute away; after that each waits ~12/2 = 6 minutes more.
    assert [etas[c] for c in others] == [1, 6, 12]
    # Nobody available: no estimate.
    await queue.do_set_status(staff, "away")
    etas_away = [e.eta_minutes for e in await queue.get_positions() if isinstance(e, QueuePosition)]
    assert etas_away == [None, None, None]


async def test_status_and_capacity_limit_taking(db) -> None:
    queue = service(db, default_capacity=1)
    staff = await counsellor(db, queue, status="away")
    await waiting_child(db, queue)
    await waiting_child(db, queue)
    with pytest.raises(Conflict) as away:
        await queue.do_take_next(staff)
    assert away.value.code == "not_available"
    await queue.do_set_status(staff, "available")
    await queue.do_take_next(staff)
    with pytest.raises(Conflict) as full:
        await queue.do_take_next(staff)
    assert full.value.code == "at_capacity"
    async with db.read() as session:
        name = (await session.get(User, staff)).username  # type: ignore[union-attr]
    assert await queue.do_set_capacity(name, 2) == 2
    await queue.do_take_next(staff)
    with pytest.raises(Invalid):
        await queue.do_set_status(staff, "sleeping")
    with pytest.raises(Invalid):
        await queue.do_set_capacity(name, 0)


async def test_a_counsellor_may_not_reach_another_counsellors_chat(db) -> None:
    queue = service(db)
    mine, theirs = await counsellor(db, queue), await counsellor(db, queue)
    conv = await waiting_child(db, queue)
    await queue.do_take_next(mine)
    for attempt in (
        queue.access_chat(theirs, conv),
        queue.do_send(theirs, "x", conv, "hello", "c1"),
        queue.do_send(theirs, "x", conv, "note", "c2", note=True),
        queue.do_mark_read(theirs, conv, 1),
        queue.do_end(theirs, conv, "handed_back"),
        queue.do_requeue(theirs, conv, front=False),
        queue.check_holds(theirs, conv),
    ):
        with pytest.raises(Forbidden) as refused:
            await attempt
        assert refused.value.code == "not_your_chat"
    # Nor a chat that is still waiting and nobody has taken.
    waiting = await waiting_child(db, queue)
    with pytest.raises(Forbidden):
        await queue.access_chat(mine, waiting)


async def test_transfer_and_back_to_queue_keep_the_childs_place(db) -> None:
    queue = service(db)
    a, b = await counsellor(db, queue), await counsellor(db, queue)
    early = utcnow() - timedelta(minutes=40)
    conv = await waiting_child(db, queue, since=early)
    await queue.do_take_next(a)
    async with db.read() as session:
        b_name = (await session.get(User, b)).username  # type: ignore[union-attr]
    with pytest.raises(NotFound):
        await queue.do_transfer(a, conv, "nobody-by-that-name")
    _, name = await queue.do_transfer(a, conv, b_name.upper())
    assert name == b_name
    with pytest.raises(Forbidden):
        await queue.access_chat(a, conv)
    assert (await queue.access_chat(b, conv)).summary.waiting_since == early

    # Back to the queue: a child who asked later, even at the same risk, stays behind.
    later = await waiting_child(db, queue, since=utcnow() - timedelta(minutes=5))
    ended = await queue.do_requeue(b, conv, front=False)
    assert not ended.closed
    order = sorted((e for e in await queue.get_positions() if isinstance(e, QueuePosition)), key=lambda e: e.position)
    assert [e.conversation_id for e in order] == [conv, later]


async def test_wrap_up_is_stored_and_a_safeguarding_concern_alerts_supervisors_at_once(db) -> None:
    sink = ListSink()
    queue = service(db, sink)
    staff = await counsellor(db, queue)
    conv = await waiting_child(db, queue)
    await queue.do_take_next(staff)
    form = check_wrap_up({"topics": ["bullying", "images", "bullying"], "risk_level": "high",
                          "safeguarding": True, "notes": "Agreed to call back tomorrow."})
    sink.events.clear()
    ended = await queue.do_end(staff, conv, "wrapped_up", form)
    assert ended.state == "queue"
    alerts = [e for e in sink.events if isinstance(e, StaffAlert) and e.name == "safeguarding_alert"]
    assert len(alerts) == 1 and alerts[0].data["conversation_id"] == conv and alerts[0].data["risk_level"] == "high"
    [wrap] = await queue.get_wrap_ups(conv)
    assert wrap.topics == ["bullying", "images"] and wrap.safeguarding and wrap.risk_level == "high"
    with pytest.raises(Forbidden):
        await queue.do_end(staff, conv, "wrapped_up", form)  # already ended: nothing is recorded twice
    async with db.read() as session:
        assert len((await session.execute(select(WrapUp))).all()) == 1

    for bad, code in [({"risk_level": "huge"}, "bad_risk_level"), ({"risk_level": "low", "topics": "x"}, "bad_topics"),
                      ({"risk_level": "low", "safeguarding": "yes"}, "bad_payload"),
                      ({"risk_level": "low", "notes": "x" * 5000}, "too_long")]:
        with pytest.raises(Invalid) as problem:
            check_wrap_up(bad)
        assert problem.value.code == code


async def test_a_dropped_counsellor_is_announced_and_after_the_grace_period_the_child_goes_first(db) -> None:
    sink = ListSink()
    queue = service(db, sink, grace_seconds=30)
    staff = await counsellor(db, queue)
    already_waiting = await waiting_child(db, queue, risk=95, since=utcnow() - timedelta(hours=1))
    conv = await waiting_child(db, queue, risk=0)
    async with db.write() as session:
        await session.execute(update(QueueEntry).where(QueueEntry.conversation_id == already_waiting)
                              .values(waiting_since=utcnow()))
    async with db.write() as session:
        await session.execute(update(Conversation).where(Conversation.id == already_waiting).values(risk_score=0))
    # Take `conv` first by making it the only one waiting for a moment.
    async with db.write() as session:
        await session.execute(update(QueueEntry).where(QueueEntry.conversation_id == conv)
                              .values(waiting_since=utcnow() - timedelta(hours=2)))
    assert await queue.do_take_next(staff) == conv

    sink.events.clear()
    await queue.do_disconnect(staff, "connection lost text")
    told = [e for e in sink.events if isinstance(e, MessageEvent)]
    assert [(e.message.conversation_id, e.message.text, e.message.visibility) for e in told] == [
        (conv, "connection lost text", "all")]

    # Within the grace period nothing moves.
    assert await queue.do_sweep() == []
    async with db.write() as session:
        await session.execute(update(CounsellorProfile).where(CounsellorProfile.user_id == staff)
                              .values(disconnected_at=utcnow() - timedelta(seconds=31)))
    assert await queue.do_sweep() == [conv]
    assert await queue.do_sweep() == []  # once only
    order = sorted((e for e in await queue.get_positions() if isinstance(e, QueuePosition)), key=lambda e: e.position)
    assert [e.conversation_id for e in order] == [conv, already_waiting]


async def test_a_counsellor_back_within_the_grace_period_keeps_the_chat(db) -> None:
    sink = ListSink()
    queue = service(db, sink, grace_seconds=30)
    staff = await counsellor(db, queue)
    conv = await waiting_child(db, queue)
    await queue.do_take_next(staff)
    await queue.do_disconnect(staff, "lost")
    sink.events.clear()
    assert await queue.do_connect(staff, "back again") == [conv]
    assert [e.message.text for e in sink.events if isinstance(e, MessageEvent)] == ["back again"]
    async with db.write() as session:
        await session.execute(update(CounsellorProfile).values(disconnected_at=utcnow() - timedelta(hours=1)))
    # Still connected (sockets > 0), so a stale timestamp alone never takes the chat away.
    assert await queue.do_sweep() == []
    assert (await queue.access_chat(staff, conv)).summary.conversation_id == conv


async def test_canned_responses_are_kept_in_the_database(db) -> None:
    queue = service(db)
    sup = await make_user(db, "supervisor")
    await queue.do_save_canned(sup, "/Welcome", "Hi, I'm here to listen.")
    await queue.do_save_canned(sup, "welcome", "Hi, I'm a counsellor and I'm here to listen.")
    assert await queue.get_canned() == [{"shortcut": "welcome", "text": "Hi, I'm a counsellor and I'm here to listen."}]
    with pytest.raises(Invalid):
        await queue.do_save_canned(sup, "has space", "x")
    with pytest.raises(Invalid):
        await queue.do_save_canned(sup, "ok", "   ")
    await queue.do_delete_canned("welcome")
    with pytest.raises(NotFound):
        await queue.do_delete_canned("welcome")
    assert await queue.get_canned() == []
