"""What supervisors see and do: the live dashboard, monitoring and whispers, reassigning chats, and metrics."""

from __future__ import annotations

import csv
import io
import math
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Sequence

from sqlalchemy import and_, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.colleagues import Colleague, get_team
from bot.conversations import STAFF_VISIBLE, append_message, find_by_client_id, get_messages_after, lock_conversation, view_of
from bot.db import Database
from bot.errors import Conflict, Invalid, NotFound
from bot.events import Event, EventSink, MessageEvent, MessageView, StaffEvent
from bot.models.accounts import User
from bot.models.base import utcnow
from bot.models.chat import Conversation
from bot.models.counselling import Assignment, CounsellorProfile, QueueEntry, WrapUp
from bot.models.reports import Report
from bot.models.supervision import QueueExit
from bot.queue import HANDLED, Counselling
from bot.risk import HIGH, MEDIUM

HOUR = timedelta(hours=1)
# A period is at most a month of hourly buckets: enough for a monthly review, small enough to chart.
MAX_PERIOD_HOURS = 31 * 24
DEFAULT_PERIOD_HOURS = 24
ALERT_WINDOW = timedelta(hours=24)
ALERTS_SHOWN = 20
WHISPER_MAX = 2000
# Priorities on the dashboard, from the same thresholds that order the queue (bot/risk.py).
PRIORITIES = ("urgent", "worrying", "standard")
CSV_COLUMNS = ("hour_start", "reached", "wait_median_seconds", "wait_p90_seconds", "handled",
               "left_unserved", "handling_avg_seconds", "reports_opened")


@dataclass(frozen=True)
class SupervisionConfig:
    """Settings the dashboard needs, passed in by create_app as plain values."""

    amber_wait_seconds: int = 120
    red_wait_seconds: int = 300
    red_high_risk: int = 1
    default_capacity: int = 2
    idle_minutes: int = 30


def priority_of(risk_score: int) -> str:
    if risk_score >= HIGH:
        return "urgent"
    if risk_score >= MEDIUM:
        return "worrying"
    return "standard"


def _seconds(delta: timedelta) -> float:
    return round(delta.total_seconds(), 1)


# The dashboard -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WaitingChild:
    position: int
    conversation_id: int
    risk_score: int
    age_band: str | None
    waiting_since: datetime
    wait_seconds: float
    returned: bool

    def as_dict(self) -> dict[str, Any]:
        return {"position": self.position, "conversation_id": self.conversation_id, "risk_score": self.risk_score,
                "priority": priority_of(self.risk_score), "age_band": self.age_band,
                "waiting_since": self.waiting_since.isoformat(), "wait_seconds": self.wait_seconds,
                "returned": self.returned}


# One row of the dashboard's team table (bot/colleagues.py owns the presence rule and the query).
CounsellorLoad = Colleague


@dataclass(frozen=True)
class ActiveChat:
    conversation_id: int
    holder_id: int
    holder: str
    holder_role: str
    state: str
    risk_score: int
    age_band: str | None
    waiting_since: datetime
    started_at: datetime
    last_activity_at: datetime
    idle: bool

    def as_dict(self) -> dict[str, Any]:
        return {"conversation_id": self.conversation_id, "holder_id": self.holder_id, "holder": self.holder,
                "holder_role": self.holder_role, "state": self.state, "risk_score": self.risk_score,
                "priority": priority_of(self.risk_score), "high_risk": self.risk_score >= HIGH,
                "age_band": self.age_band, "waiting_since": self.waiting_since.isoformat(),
                "started_at": self.started_at.isoformat(), "last_activity_at": self.last_activity_at.isoformat(),
                "idle": self.idle}


@dataclass(frozen=True)
class SafeguardingFlag:
    conversation_id: int
    counsellor: str
    risk_level: str
    at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {"conversation_id": self.conversation_id, "counsellor": self.counsellor,
                "risk_level": self.risk_level, "at": self.at.isoformat()}


@dataclass(frozen=True)
class Health:
    """The traffic light: red and amber say why, in words a supervisor can act on."""

    light: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Dashboard:
    at: datetime
    waiting: list[WaitingChild]
    counsellors: list[CounsellorLoad]
    active: list[ActiveChat]
    alerts: list[SafeguardingFlag]
    health: Health
    config: SupervisionConfig

    @property
    def longest_wait_seconds(self) -> float:
        return max((w.wait_seconds for w in self.waiting), default=0.0)

    @property
    def high_risk_waiting(self) -> int:
        return sum(1 for w in self.waiting if w.risk_score >= HIGH)

    def counts(self) -> dict[str, int]:
        presence = [c.presence for c in self.counsellors]
        return {
            "waiting": len(self.waiting),
            "high_risk_waiting": self.high_risk_waiting,
            "online": sum(1 for p in presence if p != "offline"),
            "available": presence.count("available"),
            "busy": presence.count("busy"),
            "away": presence.count("away"),
            "active_chats": len(self.active),
            "high_risk_chats": sum(1 for a in self.active if a.risk_score >= HIGH),
            "load": sum(c.load for c in self.counsellors if c.presence != "offline"),
            "capacity": sum(c.capacity for c in self.counsellors if c.presence in ("available", "busy")),
        }

    def as_dict(self) -> dict[str, Any]:
        by_priority = {p: 0 for p in PRIORITIES}
        for child in self.waiting:
            by_priority[priority_of(child.risk_score)] += 1
        return {
            "at": self.at.isoformat(),
            "counts": self.counts(),
            "waiting_by_priority": by_priority,
            "longest_wait_seconds": self.longest_wait_seconds,
            "waiting": [w.as_dict() for w in self.waiting],
            "counsellors": [c.as_dict() for c in self.counsellors],
            "active": [a.as_dict() for a in self.active],
            "high_risk": [a.as_dict() for a in self.active if a.risk_score >= HIGH],
            "alerts": [a.as_dict() for a in self.alerts],
            "health": {"light": self.health.light, "reasons": list(self.health.reasons)},
            "thresholds": {"amber_wait_seconds": self.config.amber_wait_seconds,
                           "red_wait_seconds": self.config.red_wait_seconds,
                           "red_high_risk": self.config.red_high_risk},
        }


def get_health(longest_wait: float, high_risk_waiting: int, waiting: int, available: int,
               config: SupervisionConfig) -> Health:
    """Red: someone waits past the red line, or too many high-risk children wait. Amber: past the amber line,
    or children wait with nobody free to take them."""
    red: list[str] = []
    amber: list[str] = []
    if longest_wait >= config.red_wait_seconds:
        red.append(f"A child has waited over {config.red_wait_seconds // 60 or 1} min.")
    if config.red_high_risk > 0 and high_risk_waiting >= config.red_high_risk:
        red.append(f"{high_risk_waiting} high-risk child{'ren' if high_risk_waiting != 1 else ''} waiting.")
    if not red and longest_wait >= config.amber_wait_seconds:
        amber.append(f"A child has waited over {config.amber_wait_seconds // 60 or 1} min.")
    if waiting and not available:
        amber.append("Children are waiting and no counsellor is free.")
    if red:
        return Health("red", tuple(red + amber))
    if amber:
        return Health("amber", tuple(amber))
    return Health("green", ())


# Metrics -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Whole UTC hours from `start` (inclusive) to `end` (exclusive)."""

    start: datetime
    end: datetime

    @property
    def hours(self) -> int:
        return int((self.end - self.start) / HOUR)


def _parse_time(value: str, name: str) -> datetime:
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise Invalid("bad_period", f"'{name}' must be a date or time like 2026-11-25T09:00Z.") from None
    # A time without a zone is read as UTC, like every time Haven stores.
    return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)


def _floor_hour(when: datetime) -> datetime:
    return when.replace(minute=0, second=0, microsecond=0)


def check_period(start: str | None, end: str | None, now: datetime | None = None) -> Period:
    """The period a supervisor asked for, widened to whole hours. Default: the last 24 hours up to now."""
    now = now or utcnow()
    stop = _parse_time(end, "to") if end else now
    stop = _floor_hour(stop) + (HOUR if stop != _floor_hour(stop) else timedelta())
    begin = _floor_hour(_parse_time(start, "from")) if start else stop - DEFAULT_PERIOD_HOURS * HOUR
    if begin >= stop:
        raise Invalid("bad_period", "'from' must be before 'to'.")
    if stop - begin > MAX_PERIOD_HOURS * HOUR:
        raise Invalid("period_too_long", f"Choose a period of at most {MAX_PERIOD_HOURS // 24} days.")
    return Period(begin, stop)


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Nearest-rank percentile: the smallest value with at least `fraction` of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


@dataclass(frozen=True)
class Figures:
    """One bucket of the metrics (an hour, or the whole period)."""

    reached: int
    wait_median_seconds: float | None
    wait_p90_seconds: float | None
    handled: int
    left_unserved: int
    handling_avg_seconds: float | None
    reports_opened: int

    @classmethod
    def of(cls, waits: list[float], handling: list[float], left: int, reports: int) -> "Figures":
        median = statistics.median(waits) if waits else None
        p90 = percentile(waits, 0.9)
        avg = statistics.fmean(handling) if handling else None
        return cls(
            reached=len(waits),
            wait_median_seconds=None if median is None else round(median, 1),
            wait_p90_seconds=None if p90 is None else round(p90, 1),
            handled=len(handling),
            left_unserved=left,
            handling_avg_seconds=None if avg is None else round(avg, 1),
            reports_opened=reports,
        )

    def as_dict(self) -> dict[str, Any]:
        return {"reached": self.reached, "wait_median_seconds": self.wait_median_seconds,
                "wait_p90_seconds": self.wait_p90_seconds, "handled": self.handled,
                "left_unserved": self.left_unserved, "handling_avg_seconds": self.handling_avg_seconds,
                "reports_opened": self.reports_opened}


@dataclass(frozen=True)
class MetricsReport:
    period: Period
    hours: list[tuple[datetime, Figures]]
    totals: Figures

    def as_dict(self) -> dict[str, Any]:
        return {
            "from": self.period.start.isoformat(),
            "to": self.period.end.isoformat(),
            "hours": [{"hour_start": hour.isoformat(), **figures.as_dict()} for hour, figures in self.hours],
            "totals": self.totals.as_dict(),
        }

    def as_csv(self) -> str:
        """Exactly the rows the charts draw (`hours`), one per hour; empty cells where there is no figure."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for row in self.as_dict()["hours"]:
            writer.writerow(["" if row[column] is None else row[column] for column in CSV_COLUMNS])
        return out.getvalue()


# Monitoring and stepping in --------------------------------------------------------------------------


@dataclass(frozen=True)
class LiveChat:
    """A live chat as a monitoring supervisor sees it: every message, notes and whispers included."""

    conversation_id: int
    state: str
    risk_score: int
    age_band: str | None
    holder_id: int | None
    holder: str | None
    waiting: bool
    messages: list[MessageView]

    def as_dict(self) -> dict[str, Any]:
        return {"chat": {"conversation_id": self.conversation_id, "state": self.state,
                         "risk_score": self.risk_score, "age_band": self.age_band, "holder_id": self.holder_id,
                         "holder": self.holder, "waiting": self.waiting},
                "messages": [m.for_staff() for m in self.messages]}


@dataclass(frozen=True)
class Reassigned:
    conversation_id: int
    from_user_id: int | None
    to_user_id: int
    to_name: str
    # True when the chat came straight from the queue (the child hears "joined", not "changed").
    from_queue: bool


class Supervision:
    """Reads for the dashboard and metrics; writes for whispers and reassignments. Events go out after commit."""

    def __init__(self, db: Database, sink: EventSink, counselling: Counselling, config: SupervisionConfig) -> None:
        self.db = db
        self.sink = sink
        self.counselling = counselling
        self.config = config

    # The dashboard ---------------------------------------------------------------------------------

    async def get_dashboard(self, now: datetime | None = None) -> Dashboard:
        now = now or utcnow()
        async with self.db.read() as session:
            waiting = await self._waiting(session, now)
            active = await self._active(session, now)
            counsellors = await self._counsellors(session)
            alerts = await self._alerts(session, now)
        snapshot = Dashboard(now, waiting, counsellors, active, alerts, Health("green", ()), self.config)
        counts = snapshot.counts()
        health = get_health(snapshot.longest_wait_seconds, counts["high_risk_waiting"], counts["waiting"],
                            counts["available"], self.config)
        return Dashboard(now, waiting, counsellors, active, alerts, health, self.config)

    async def _waiting(self, session: AsyncSession, now: datetime) -> list[WaitingChild]:
        # The same order the counsellors' "Take next" uses (bot/queue.py).
        rows = (await session.execute(
            select(QueueEntry, Conversation.risk_score, Conversation.age_band)
            .join(Conversation, Conversation.id == QueueEntry.conversation_id)
            .where(Conversation.closed_at.is_(None))
            .order_by(QueueEntry.front.desc(), Conversation.risk_score.desc(), QueueEntry.waiting_since,
                      QueueEntry.conversation_id)
        )).all()
        return [WaitingChild(position, entry.conversation_id, risk, age_band, entry.waiting_since,
                             max(0.0, _seconds(now - entry.waiting_since)), entry.front)
                for position, (entry, risk, age_band) in enumerate(rows, start=1)]

    async def _active(self, session: AsyncSession, now: datetime) -> list[ActiveChat]:
        rows = (await session.execute(
            select(Assignment, Conversation, User.username, User.role)
            .join(Conversation, Conversation.id == Assignment.conversation_id)
            .join(User, User.id == Assignment.counsellor_id)
            .where(Assignment.ended_at.is_(None))
            .order_by(Conversation.risk_score.desc(), Assignment.started_at, Assignment.id)
        )).all()
        idle_before = now - timedelta(minutes=self.config.idle_minutes)
        return [ActiveChat(conv.id, a.counsellor_id, name, role, conv.state, conv.risk_score, conv.age_band,
                           a.waiting_since, a.started_at, conv.updated_at, conv.updated_at < idle_before)
                for a, conv, name, role in rows]

    async def _counsellors(self, session: AsyncSession) -> list[CounsellorLoad]:
        return await get_team(session, self.config.default_capacity)

    async def _alerts(self, session: AsyncSession, now: datetime) -> list[SafeguardingFlag]:
        rows = (await session.execute(
            select(WrapUp, User.username).join(User, User.id == WrapUp.counsellor_id)
            .where(WrapUp.safeguarding.is_(True), WrapUp.created_at >= now - ALERT_WINDOW)
            .order_by(WrapUp.created_at.desc(), WrapUp.id.desc()).limit(ALERTS_SHOWN)
        )).all()
        return [SafeguardingFlag(w.conversation_id, name, w.risk_level, w.created_at) for w, name in rows]

    # Metrics ---------------------------------------------------------------------------------------

    async def get_metrics(self, period: Period) -> MetricsReport:
        """Figures per hour: a child counts in the hour something happened to them (reached, handled, left)."""
        start, end = period.start, period.end
        async with self.db.read() as session:
            # A child reaches a counsellor once per time in the queue: a requeued chat keeps its `waiting_since`,
            # so the first assignment of each (conversation, waiting_since) is the moment they were reached.
            first = func.min(Assignment.started_at).label("first")
            reached = (await session.execute(
                select(Assignment.conversation_id, Assignment.waiting_since, first)
                .group_by(Assignment.conversation_id, Assignment.waiting_since)
                .having(and_(first >= start, first < end))
            )).all()
            handled = (await session.execute(
                select(Assignment.started_at, Assignment.ended_at)
                .where(Assignment.end_reason.in_(HANDLED), Assignment.ended_at >= start, Assignment.ended_at < end)
            )).all()
            served = exists().where(Assignment.conversation_id == QueueExit.conversation_id,
                                    Assignment.waiting_since == QueueExit.waiting_since)
            left = (await session.execute(
                select(QueueExit.left_at).where(QueueExit.left_at >= start, QueueExit.left_at < end, ~served)
            )).scalars().all()
            reports = (await session.execute(
                select(Report.submitted_at).where(Report.submitted_at >= start, Report.submitted_at < end)
            )).scalars().all()

        n = period.hours
        waits: list[list[float]] = [[] for _ in range(n)]
        durations: list[list[float]] = [[] for _ in range(n)]
        lefts = [0] * n
        opened = [0] * n

        def bucket(when: datetime) -> int:
            return min(n - 1, max(0, int((when - start) / HOUR)))

        for _conv, waiting_since, first_start in reached:
            waits[bucket(first_start)].append(max(0.0, (first_start - waiting_since).total_seconds()))
        for started_at, ended_at in handled:
            durations[bucket(ended_at)].append(max(0.0, (ended_at - started_at).total_seconds()))
        for left_at in left:
            lefts[bucket(left_at)] += 1
        for submitted_at in reports:
            opened[bucket(submitted_at)] += 1
        hours = [(start + i * HOUR, Figures.of(waits[i], durations[i], lefts[i], opened[i])) for i in range(n)]
        totals = Figures.of([w for ws in waits for w in ws], [d for ds in durations for d in ds],
                            sum(lefts), sum(opened))
        return MetricsReport(period, hours, totals)

    # Monitoring ------------------------------------------------------------------------------------

    async def access_live_chat(self, conversation_id: int) -> LiveChat:
        """Any open chat, with every staff-visible message. Reading changes nothing the child could notice."""
        async with self.db.read() as session:
            conv = await session.get(Conversation, conversation_id)
            if conv is None or conv.closed_at is not None:
                raise NotFound("no_live_chat", "There is no live chat with that number.")
            held = (await session.execute(
                select(Assignment.counsellor_id, User.username).join(User, User.id == Assignment.counsellor_id)
                .where(Assignment.active_conversation_id == conversation_id))).first()
            waiting = await session.get(QueueEntry, conversation_id) is not None
            messages = await get_messages_after(session, conversation_id, 0, visibility=STAFF_VISIBLE, limit=5000)
            return LiveChat(conv.id, conv.state, conv.risk_score, conv.age_band,
                            held[0] if held else None, held[1] if held else None, waiting, messages)

    async def do_whisper(self, supervisor_id: int, username: str, conversation_id: int, text: str,
                         client_id: str | None) -> tuple[int, bool]:
        """A message to the chat's counsellor only (visibility 'staff', kind 'whisper'). Idempotent per client_id."""
        if len(text) > WHISPER_MAX:
            raise Invalid("too_long", f"Please keep a whisper under {WHISPER_MAX} characters.")
        async with self.db.write() as session:
            held = (await session.execute(
                select(Assignment.counsellor_id).where(Assignment.active_conversation_id == conversation_id)
            )).scalar_one_or_none()
            if held is None:
                raise Conflict("no_counsellor", "Nobody holds this chat, so there is nobody to whisper to.")
            if held == supervisor_id:
                raise Invalid("own_chat", "You hold this chat yourself; add a private note instead.")
            conv = await lock_conversation(session, conversation_id)
            if client_id is not None:
                duplicate = await find_by_client_id(session, conv.id, client_id)
                if duplicate is not None:
                    return duplicate.seq, True
            last_activity = conv.updated_at
            message = append_message(session, conv, sender="supervisor", sender_id=supervisor_id, text=text,
                                     visibility="staff", kind="whisper", client_id=client_id,
                                     meta={"sender_name": username})
            # A whisper is not activity in the chat itself: the idle clock keeps running.
            conv.updated_at = last_activity
            await session.flush()
            seq = message.seq
            events: list[Event] = [MessageEvent(view_of(message), conv.child_id)]
        await self.sink.publish(events)
        return seq, False

    async def do_reassign(self, supervisor_id: int, conversation_id: int, to_username: str | None) -> Reassigned:
        """Give a live chat (held or waiting) to a named counsellor who is online, or take it over (`None`).

        A supervisor may go over a counsellor's capacity on purpose; the dashboard shows the load.
        """
        now = utcnow()
        async with self.db.write() as session:
            if to_username is None:
                target = await session.get(User, supervisor_id)
                assert target is not None
            else:
                target = await self._online_counsellor(session, to_username)
            # Lock order as in a counsellor's own transfer (assignment, then conversation), so the two never deadlock.
            query = select(Assignment).where(Assignment.active_conversation_id == conversation_id)
            if not self.db.sqlite:
                query = query.with_for_update()
            old = (await session.execute(query)).scalar_one_or_none()
            conv = await lock_conversation(session, conversation_id)
            if conv.closed_at is not None:
                raise Conflict("conversation_closed", "The child has left this chat.")
            events: list[Event] = []
            if old is not None:
                if old.counsellor_id == target.id:
                    raise Invalid("same_counsellor", f"{target.username} already has this chat.")
                old.ended_at, old.end_reason, old.active_conversation_id = now, "transferred", None
                await session.flush()
                waiting_since = old.waiting_since
                events.append(StaffEvent("unassigned", {"reason": "reassigned"}, conversation_id=conversation_id,
                                         user_id=old.counsellor_id))
            else:
                entry_query = select(QueueEntry).where(QueueEntry.conversation_id == conversation_id)
                if not self.db.sqlite:
                    entry_query = entry_query.with_for_update()
                entry = (await session.execute(entry_query)).scalar_one_or_none()
                if entry is None:
                    if await self.counselling.is_assigned_in(session, conversation_id):
                        raise Conflict("chat_changed", "A counsellor has just taken this chat. Look again and retry.")
                    raise Conflict("not_with_counsellor",
                                   "This chat is with the bot: it can be reassigned once the child asks for a person.")
                waiting_since = entry.waiting_since
                await session.delete(entry)
            session.add(Assignment(conversation_id=conversation_id, counsellor_id=target.id,
                                   active_conversation_id=conversation_id, waiting_since=waiting_since,
                                   started_at=now, read_seq=0))
            await session.flush()
            events.append(StaffEvent("assigned", {"from": old.counsellor_id if old else None, "by": supervisor_id},
                                     conversation_id=conversation_id, user_id=target.id))
            if old is None:
                events += await self.counselling.positions_in(session)
            result = Reassigned(conversation_id, old.counsellor_id if old else None, target.id, target.username,
                                from_queue=old is None)
        await self.sink.publish(events)
        return result

    async def _online_counsellor(self, session: AsyncSession, username: str) -> User:
        user = (await session.execute(
            select(User).where(User.username_key == username.strip().lower()))).scalar_one_or_none()
        if user is None or user.role != "counsellor" or user.disabled:
            raise NotFound("no_such_counsellor", "There is no counsellor with that name.")
        profile = await session.get(CounsellorProfile, user.id)
        if profile is None or profile.sockets == 0 or profile.status == "away":
            raise Conflict("counsellor_unavailable", f"{user.username} isn't online to take this chat.")
        return user

