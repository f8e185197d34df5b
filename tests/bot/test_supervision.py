"""Supervisors' figures on SQLite and PostgreSQL: metrics against a seeded history worked out by hand, the
dashboard snapshot and traffic light, queue exits, whispers and reassignment."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot.db import Database
from bot.errors import Conflict, Invalid, NotFound
from bot.events import ListSink, MessageEvent, StaffEvent
from bot.models.accounts import User
from bot.models.base import utcnow
from bot.models.chat import Conversation, Message
from bot.models.counselling import Assignment, CounsellorProfile, QueueEntry, WrapUp
from bot.models.reports import Report
from bot.models.supervision import QueueExit
from bot.queue import Counselling, CounsellingConfig
from bot.supervision import CSV_COLUMNS, Supervision, SupervisionConfig, check_period, get_health, percentile

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)


def at(hh: int, mm: int, ss: int = 0) -> datetime:
    return T0.replace(hour=hh, minute=mm, second=ss)


async def make_user(db: Database, role: str, name: str | None = None) -> int:
    async with db.write() as session:
        name = name or f"{role[:4]}{uuid.uuid4().hex[:8]}"
        user = User(username=name, username_key=name.lower(), password_hash="x", role=role)
        session.add(user)
        await session.flush()
        return user.id


async def conversation(db: Database, *, risk: int = 0, state: str = "queue") -> int:
    child = await make_user(db, "child")
    async with db.write() as session:
        conv = Conversation(child_id=child, state=state, context={}, risk_score=risk)
        session.add(conv)
        await session.flush()
        return conv.id


async def assignment(db: Database, conv: int, who: int, waiting: datetime, start: datetime,
                     end: datetime | None = None, reason: str | None = None) -> None:
    async with db.write() as session:
        session.add(Assignment(conversation_id=conv, counsellor_id=who, waiting_since=waiting, started_at=start,
                               ended_at=end, end_reason=reason, active_conversation_id=None if end else conv))


async def queue_exit(db: Database, conv: int, waiting: datetime, left: datetime) -> None:
    async with db.write() as session:
        session.add(QueueExit(conversation_id=conv, waiting_since=waiting, left_at=left))


async def report(db: Database, conv: int, submitted: datetime | None) -> None:
    async with db.write() as session:
        child = (await session.get(Conversation, conv)).child_id
        session.add(Report(conversation_id=conv, child_id=child, status="submitted" if submitted else "draft",
                           created_at=submitted or at(10, 0), submitted_at=submitted))


def services(db: Database, **config: int) -> tuple[Counselling, Supervision, ListSink]:
    sink = ListSink()
    counselling = Counselling(db, sink, CounsellingConfig())
    return counselling, Supervision(db, sink, counselling, SupervisionConfig(**config)), sink


async def seed_history(db: Database) -> None:
    """The history below; the expected figures are worked out by hand in the test that uses it."""
    c1, c2 = await make_user(db, "counsellor"), await make_user(db, "counsellor")
    a, b, c, d, e, f, g, h, i = [await conversation(db) for _ in range(9)]
    # A: waits 60 s, handled 1200 s, both in the 09 hour.
    await assignment(db, a, c1, at(9, 0), at(9, 1), at(9, 21), "wrapped_up")
    # B: waits 180 s (09); handed back after 3600 s (10).
    await assignment(db, b, c2, at(9, 10), at(9, 13), at(10, 13), "handed_back")
    # C: waits 300 s (09); the line drops (not handled), back in the queue with the same place, taken again
    # at 10:05 (not a second "reached"), wrapped up after 1200 s (10).
    await assignment(db, c, c1, at(9, 30), at(9, 35), at(9, 40), "connection_lost")
    await assignment(db, c, c2, at(9, 30), at(10, 5), at(10, 25), "wrapped_up")
    # D: gives up after 5 minutes in the queue (09).
    await queue_exit(db, d, at(9, 50), at(9, 55))
    # E: reached after 120 s (10), line drops, then leaves the requeue: served once, so not "left unserved".
    await assignment(db, e, c1, at(10, 0), at(10, 2), at(10, 10), "connection_lost")
    await queue_exit(db, e, at(10, 0), at(10, 20))
    # F: waits 600 s (11), still talking.
    await assignment(db, f, c2, at(11, 0), at(11, 10))
    # G: reached before the period; its wrap-up inside it counts as handled (2100 s, 09).
    await assignment(db, g, c1, T0 - timedelta(hours=1), T0 - timedelta(minutes=30),
                     at(9, 5), "wrapped_up")
    # H: waits 60 s (11), transferred after 9 minutes (not a handled ending).
    await assignment(db, h, c1, at(11, 30), at(11, 31), at(11, 40), "transferred")
    # I: leaves at 12:00 exactly, outside a period that ends at 12:00.
    await queue_exit(db, i, at(11, 50), at(12, 0))
    # Reports: one at 09:15, one at 11:59:59; a draft, and one just before the period, count nowhere.
    await report(db, a, at(9, 15))
    await report(db, b, at(11, 59, 59))
    await report(db, c, None)
    await report(db, d, T0 - timedelta(seconds=1))


async def test_metrics_match_a_seeded_history_computed_by_hand(db) -> None:
    await seed_history(db)
    _, supervision, _ = services(db)
    result = await supervision.get_metrics(check_period("2026-11-25T09:00Z", "2026-11-25T12:00Z"))
    data = result.as_dict()
    assert data["from"] == "2026-11-25T09:00:00+00:00" and data["to"] == "2026-11-25T12:00:00+00:00"
    rows = {row["hour_start"][11:16]: row for row in data["hours"]}
    assert list(rows) == ["09:00", "10:00", "11:00"]
    # 09: waits 60, 180, 300 -> median 180, p90 (nearest rank 3 of 3) 300; handled A 1200 + G 2100; D left.
    assert rows["09:00"] == {"hour_start": "2026-11-25T09:00:00+00:00", "reached": 3, "wait_median_seconds": 180.0,
                             "wait_p90_seconds": 300.0, "handled": 2, "left_unserved": 1,
                             "handling_avg_seconds": 1650.0, "reports_opened": 1}
    # 10: E waited 120; B 3600 and C 1200 handled -> 2400; E's exit does not count (it had been served).
    assert rows["10:00"] == {"hour_start": "2026-11-25T10:00:00+00:00", "reached": 1, "wait_median_seconds": 120.0,
                             "wait_p90_seconds": 120.0, "handled": 2, "left_unserved": 0,
                             "handling_avg_seconds": 2400.0, "reports_opened": 0}
    # 11: F 600 and H 60 -> median 330, p90 (rank 2 of 2) 600; nothing handled; I left at 12:00 (outside).
    assert rows["11:00"] == {"hour_start": "2026-11-25T11:00:00+00:00", "reached": 2, "wait_median_seconds": 330.0,
                             "wait_p90_seconds": 600.0, "handled": 0, "left_unserved": 0,
                             "handling_avg_seconds": None, "reports_opened": 1}
    # The whole period: waits 60 60 120 180 300 600 -> median 150, p90 rank 6 -> 600; handled 1200 2100 3600 1200.
    assert data["totals"] == {"reached": 6, "wait_median_seconds": 150.0, "wait_p90_seconds": 600.0, "handled": 4,
                              "left_unserved": 1, "handling_avg_seconds": 2025.0, "reports_opened": 2}

    # The CSV is the charts' rows, cell for cell.
    parsed = list(csv.reader(io.StringIO(result.as_csv())))
    assert tuple(parsed[0]) == CSV_COLUMNS
    assert parsed[1:] == [["" if row[k] is None else str(row[k]) for k in CSV_COLUMNS] for row in data["hours"]]

    # A wider period adds the hour before, where G was reached (waited 1800 s) and D's report was opened.
    wider = (await supervision.get_metrics(check_period("2026-11-25T08:00Z", "2026-11-25T12:00Z"))).as_dict()
    assert wider["hours"][0]["reached"] == 1 and wider["hours"][0]["wait_median_seconds"] == 1800.0
    assert wider["hours"][0]["reports_opened"] == 1 and wider["totals"]["reached"] == 7


def test_periods_are_whole_hours_and_bad_ones_get_clear_codes() -> None:
    now = datetime(2026, 11, 25, 14, 20, tzinfo=timezone.utc)
    default = check_period(None, None, now)
    assert (default.start, default.end, default.hours) == (at(15, 0) - timedelta(hours=24), at(15, 0), 24)
    widened = check_period("2026-11-25T09:30", "2026-11-25T10:10+01:00")
    assert (widened.start, widened.end) == (at(9, 0), at(10, 0))
    assert check_period("2026-11-25", "2026-11-26").hours == 24
    for start, end, code in (("yesterday", None, "bad_period"), ("2026-11-25T10:00Z", "2026-11-25T09:00Z", "bad_period"),
                             ("2026-01-01", "2026-03-01", "period_too_long")):
        with pytest.raises(Invalid) as err:
            check_period(start, end, now)
        assert err.value.code == code


def test_percentile_is_nearest_rank_and_the_traffic_light_follows_the_settings() -> None:
    assert percentile([], 0.9) is None
    assert percentile([5.0], 0.9) == 5.0
    assert percentile([float(v) for v in range(1, 11)], 0.9) == 9.0
    assert percentile([float(v) for v in range(1, 12)], 0.9) == 10.0
    config = SupervisionConfig(amber_wait_seconds=120, red_wait_seconds=300, red_high_risk=2)
    assert get_health(0, 0, 0, 0, config).light == "green"
    assert get_health(119, 0, 1, 1, config).light == "green"
    assert get_health(120, 0, 1, 1, config).light == "amber"
    assert get_health(10, 0, 1, 0, config).reasons == ("Children are waiting and no counsellor is free.",)
    assert get_health(300, 0, 1, 1, config).light == "red"
    assert get_health(10, 1, 1, 1, config).light == "green"
    assert get_health(10, 2, 2, 1, config).light == "red"
    assert get_health(10, 5, 5, 1, SupervisionConfig(red_high_risk=0)).light == "green"


async def test_dashboard_snapshot_counts_waiting_team_chats_and_alerts(db) -> None:
    counselling, supervision, _ = services(db, amber_wait_seconds=120, red_wait_seconds=300, red_high_risk=1)
    now = utcnow()
    # Three children wait: one urgent (risk 95) for 50 s, one worrying for 200 s, one standard for 30 s.
    urgent, worrying, standard = (await conversation(db, risk=95), await conversation(db, risk=60),
                                  await conversation(db))
    async with db.write() as session:
        for conv, ago in ((urgent, 50), (worrying, 200), (standard, 30)):
            session.add(QueueEntry(conversation_id=conv, waiting_since=now - timedelta(seconds=ago),
                                   queued_at=now, front=False))
    # The team: available with one chat of two; at capacity (busy); away; offline; a disabled account.
    free, full, away, off = [await make_user(db, "counsellor", f"t{n}{uuid.uuid4().hex[:5]}") for n in "abcd"]
    disabled = await make_user(db, "counsellor")
    async with db.write() as session:
        for user, status in ((free, "available"), (full, "available"), (away, "away")):
            session.add(CounsellorProfile(user_id=user, status=status, sockets=1, last_seen=now))
        session.add(CounsellorProfile(user_id=off, status="available", sockets=0, last_seen=now))
        (await session.get(User, disabled)).disabled = True
    talking = await conversation(db, risk=92, state="with_counsellor")
    await assignment(db, talking, free, now - timedelta(minutes=5), now - timedelta(minutes=4))
    for _ in range(2):
        await assignment(db, await conversation(db, state="with_counsellor"), full, now, now)
    # A safeguarding wrap-up today, and one from two days ago (no longer shown).
    done = await conversation(db, state="menu")
    await assignment(db, done, free, now, now, now, "wrapped_up")
    async with db.write() as session:
        ids = (await session.execute(select(Assignment.id).where(Assignment.conversation_id == done))).scalars().all()
        session.add(WrapUp(assignment_id=ids[0], conversation_id=done, counsellor_id=free, topics=[],
                           risk_level="high", safeguarding=True, notes="", created_at=now - timedelta(minutes=1)))
    old = await conversation(db, state="menu")
    await assignment(db, old, free, now, now, now, "wrapped_up")
    async with db.write() as session:
        ids = (await session.execute(select(Assignment.id).where(Assignment.conversation_id == old))).scalars().all()
        session.add(WrapUp(assignment_id=ids[0], conversation_id=old, counsellor_id=free, topics=[],
                           risk_level="low", safeguarding=True, notes="", created_at=now - timedelta(days=2)))

    snap = (await supervision.get_dashboard(now)).as_dict()
    # Waiting in the counsellors' order: urgent first; each with its wait in seconds.
    assert [w["conversation_id"] for w in snap["waiting"]] == [urgent, worrying, standard]
    assert [w["priority"] for w in snap["waiting"]] == ["urgent", "worrying", "standard"]
    assert [w["wait_seconds"] for w in snap["waiting"]] == [50.0, 200.0, 30.0]
    assert snap["waiting_by_priority"] == {"urgent": 1, "worrying": 1, "standard": 1}
    assert snap["longest_wait_seconds"] == 200.0
    team = {c["user_id"]: c for c in snap["counsellors"]}
    assert disabled not in team
    assert {u: (team[u]["presence"], team[u]["load"], team[u]["capacity"]) for u in (free, full, away, off)} == {
        free: ("available", 1, 2), full: ("busy", 2, 2), away: ("away", 0, 2), off: ("offline", 0, 2)}
    assert snap["counts"] == {"waiting": 3, "high_risk_waiting": 1, "online": 3, "available": 1, "busy": 1,
                              "away": 1, "active_chats": 3, "high_risk_chats": 1, "load": 3, "capacity": 4}
    assert [c["conversation_id"] for c in snap["high_risk"]] == [talking]
    assert snap["active"][0]["conversation_id"] == talking and snap["active"][0]["high_risk"] is True
    assert [a["conversation_id"] for a in snap["alerts"]] == [done]
    # One urgent child waiting reaches the red line (HAVEN_QUEUE_RED_HIGH_RISK=1); 200 s alone is amber.
    assert snap["health"]["light"] == "red"
    assert snap["thresholds"] == {"amber_wait_seconds": 120, "red_wait_seconds": 300, "red_high_risk": 1}
    await counselling.do_take_next(free)  # takes the urgent child
    after = (await supervision.get_dashboard(now)).as_dict()
    assert after["health"]["light"] == "amber" and after["counts"]["busy"] == 2


async def test_leaving_the_queue_or_closing_while_waiting_is_recorded_once(db) -> None:
    counselling, supervision, _ = services(db)
    left, closed, taken = await conversation(db), await conversation(db), await conversation(db)
    async with db.write() as session:
        for conv in (left, closed, taken):
            assert await counselling.enqueue_in(session, await session.get(Conversation, conv), utcnow())
    async with db.write() as session:
        assert await counselling.dequeue_in(session, left)
        assert not await counselling.dequeue_in(session, left)
        (await session.get(Conversation, closed)).closed_at = utcnow()
    helper = await make_user(db, "counsellor")
    await counselling.do_connect(helper, "back")
    await counselling.do_set_status(helper, "available")
    assert await counselling.do_take_next(helper) == taken
    await counselling.do_sweep()
    await counselling.do_sweep()
    async with db.read() as session:
        exits = (await session.execute(select(QueueExit.conversation_id).order_by(QueueExit.id))).scalars().all()
    assert exits == [left, closed]
    totals = (await supervision.get_metrics(check_period(None, None))).totals
    assert totals.left_unserved == 2 and totals.reached == 1


async def test_whisper_is_staff_only_and_needs_someone_to_whisper_to(db) -> None:
    counselling, supervision, sink = services(db)
    boss = await make_user(db, "supervisor", f"boss{uuid.uuid4().hex[:5]}")
    helper = await make_user(db, "counsellor")
    await counselling.do_connect(helper, "back")
    await counselling.do_set_status(helper, "available")
    conv = await conversation(db)
    with pytest.raises(Conflict) as err:
        await supervision.do_whisper(boss, "boss", conv, "hello", None)
    assert err.value.code == "no_counsellor"
    async with db.write() as session:
        await counselling.enqueue_in(session, await session.get(Conversation, conv), utcnow())
    await counselling.do_take_next(helper)
    seq, duplicate = await supervision.do_whisper(boss, "boss", conv, "Ask about school", "w-1")
    again = await supervision.do_whisper(boss, "boss", conv, "Ask about school", "w-1")
    assert not duplicate and again == (seq, True)
    async with db.read() as session:
        stored = (await session.execute(select(Message).where(Message.conversation_id == conv, Message.seq == seq))
                  ).scalar_one()
    assert (stored.visibility, stored.kind, stored.sender) == ("staff", "whisper", "supervisor")
    whispers = [e for e in sink.events if isinstance(e, MessageEvent) and e.message.kind == "whisper"]
    assert len(whispers) == 1 and whispers[0].message.visibility == "staff"
    with pytest.raises(ValueError):
        whispers[0].message.for_child()
    live = await supervision.access_live_chat(conv)
    assert live.holder_id == helper and [m.text for m in live.messages if m.kind == "whisper"] == ["Ask about school"]
    with pytest.raises(Invalid):
        await supervision.do_whisper(boss, "boss", conv, "x" * 2001, None)


async def test_reassign_from_a_counsellor_from_the_queue_and_take_over(db) -> None:
    counselling, supervision, sink = services(db)
    boss = await make_user(db, "supervisor")
    first, second = await make_user(db, "counsellor"), await make_user(db, "counsellor", f"sec{uuid.uuid4().hex[:5]}")
    offline = await make_user(db, "counsellor", f"off{uuid.uuid4().hex[:5]}")
    for user in (first, second):
        await counselling.do_connect(user, "back")
        await counselling.do_set_status(user, "available")
    async with db.read() as session:
        second_name = (await session.get(User, second)).username
        offline_name = (await session.get(User, offline)).username
    waiting = await conversation(db)
    async with db.write() as session:
        await counselling.enqueue_in(session, await session.get(Conversation, waiting), T0)
    # Straight from the queue to a named counsellor, keeping the time the child started waiting.
    moved = await supervision.do_reassign(boss, waiting, second_name)
    assert moved.from_queue and moved.to_user_id == second and moved.from_user_id is None
    async with db.read() as session:
        held = (await session.execute(select(Assignment).where(Assignment.active_conversation_id == waiting))
                ).scalar_one()
        assert held.counsellor_id == second and held.waiting_since == T0
        assert await session.get(QueueEntry, waiting) is None
    assert StaffEvent("assigned", {"from": None, "by": boss}, conversation_id=waiting, user_id=second) in sink.events
    # From one counsellor to another; the old one hears "unassigned".
    moved = await supervision.do_reassign(boss, waiting, await name_of(db, first))
    assert (moved.from_user_id, moved.to_user_id, moved.from_queue) == (second, first, False)
    assert StaffEvent("unassigned", {"reason": "reassigned"}, conversation_id=waiting, user_id=second) in sink.events
    # The supervisor takes it over and then can talk and wrap up with the counsellors' own calls.
    mine = await supervision.do_reassign(boss, waiting, None)
    assert mine.to_user_id == boss
    seq, _ = await counselling.do_send(boss, "boss", waiting, "Hello, I'm a senior counsellor.", None)
    assert seq > 0
    # Refusals, each with its own code.
    for target, code in ((offline_name, "counsellor_unavailable"), ("nobody-here", "no_such_counsellor")):
        with pytest.raises((Conflict, NotFound)) as err:
            await supervision.do_reassign(boss, waiting, target)
        assert err.value.code == code
    with pytest.raises(Invalid) as err:
        await supervision.do_reassign(boss, waiting, None)
    assert err.value.code == "same_counsellor"
    with_bot = await conversation(db, state="menu")
    with pytest.raises(Conflict) as err:
        await supervision.do_reassign(boss, with_bot, await name_of(db, first))
    assert err.value.code == "not_with_counsellor"
    with pytest.raises(NotFound):
        await supervision.access_live_chat(10**6)
    # The metrics see one reach for this child (the first assignment), however often it moved.
    async with db.read() as session:
        rows = (await session.execute(select(Assignment).where(Assignment.conversation_id == waiting))).scalars().all()
    assert len(rows) == 3 and len({r.waiting_since for r in rows}) == 1


async def name_of(db: Database, user_id: int) -> str:
    async with db.read() as session:
        return (await session.get(User, user_id)).username
