"""The counsellor queue and live chats: who waits in what order, who takes whom, handoffs and wrap-ups."""

from __future__ import annotations

import math
import re
import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.conversations import STAFF_VISIBLE, append_message, find_by_client_id, get_messages_after, lock_conversation, view_of
from bot.db import Database
from bot.errors import Conflict, Forbidden, Invalid, NotFound
from bot.events import Event, EventSink, MessageEvent, MessageView, ReceiptEvent, StaffEvent
from bot.models.accounts import User
from bot.models.base import utcnow
from bot.models.chat import Conversation, Message
from bot.models.counselling import RISK_LEVELS, STATUSES, Assignment, CannedResponse, CounsellorProfile, QueueEntry, WrapUp
from bot.models.supervision import QueueExit
from bot.risk import MEDIUM

SHORTCUT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
TOPIC_MAX = 40
TOPICS_MAX = 12
NOTES_MAX = 4000
CANNED_MAX = 2000
# Endings that measure a counsellor's handling time (a transfer or a dropped line does not).
HANDLED = ("wrapped_up", "handed_back")


# Events this module publishes besides bot.events' own; handlers/sink.py routes them. ---------------


@dataclass(frozen=True)
class QueuePosition:
    """A waiting child's place in the queue and an honest estimate of the wait (None: we can't say)."""

    conversation_id: int
    child_id: int
    position: int
    eta_minutes: int | None


@dataclass(frozen=True)
class StaffAlert:
    """Something every counsellor and supervisor hears at once (the `staff:queue` room)."""

    name: str
    data: dict[str, Any] = field(default_factory=dict)


# Plain values ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CounsellingConfig:
    """Settings the queue needs, passed in by create_app as plain values."""

    default_capacity: int = 2
    grace_seconds: int = 60
    idle_minutes: int = 30
    eta_sample: int = 50
    eta_min_samples: int = 3


@dataclass(frozen=True)
class ChatSummary:
    conversation_id: int
    state: str
    risk_score: int
    age_band: str | None
    waiting_since: datetime
    started_at: datetime
    last_activity_at: datetime
    unread: int
    idle: bool
    closed: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "conversation_id": self.conversation_id,
            "state": self.state,
            "risk_score": self.risk_score,
            "age_band": self.age_band,
            "waiting_since": self.waiting_since.isoformat(),
            "started_at": self.started_at.isoformat(),
            "last_activity_at": self.last_activity_at.isoformat(),
            "unread": self.unread,
            "idle": self.idle,
            "closed": self.closed,
        }


@dataclass(frozen=True)
class ChatDetail:
    summary: ChatSummary
    messages: list[MessageView]
    # Seqs of the child's messages the risk check flagged, with their scores.
    risk_flags: list[dict[str, int]]

    def as_dict(self) -> dict[str, Any]:
        return {"chat": self.summary.as_dict(), "messages": [m.for_staff() for m in self.messages],
                "risk_flags": self.risk_flags}


@dataclass(frozen=True)
class ConsoleView:
    user_id: int
    status: str
    capacity: int
    chats: list[ChatSummary]
    waiting: int
    canned: list[dict[str, str]]
    idle_minutes: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "me": {"user_id": self.user_id, "status": self.status, "capacity": self.capacity},
            "chats": [c.as_dict() for c in self.chats],
            "waiting": self.waiting,
            "canned": self.canned,
            "idle_minutes": self.idle_minutes,
        }


@dataclass(frozen=True)
class WrapUpForm:
    topics: tuple[str, ...]
    risk_level: str
    safeguarding: bool
    notes: str


@dataclass(frozen=True)
class Ended:
    """A counsellor's hold on a chat has ended; what the dialog needs to know next."""

    conversation_id: int
    state: str
    closed: bool


def check_status(value: Any) -> str:
    if value not in STATUSES:
        raise Invalid("bad_status", "Status must be available, busy or away.")
    return str(value)


def check_wrap_up(data: dict[str, Any]) -> WrapUpForm:
    """Validate the wrap-up form; every problem gets its own code so the console can point at the field."""
    topics = data.get("topics", [])
    if not isinstance(topics, list) or len(topics) > TOPICS_MAX or not all(isinstance(t, str) for t in topics):
        raise Invalid("bad_topics", f"Choose up to {TOPICS_MAX} topics.")
    cleaned = tuple(dict.fromkeys(t.strip()[:TOPIC_MAX] for t in topics if t.strip()))
    risk = data.get("risk_level")
    if risk not in RISK_LEVELS:
        raise Invalid("bad_risk_level", "Choose a risk level: low, medium, high or critical.")
    safeguarding = data.get("safeguarding", False)
    if not isinstance(safeguarding, bool):
        raise Invalid("bad_payload", "'safeguarding' must be true or false.")
    notes = data.get("notes", "")
    if not isinstance(notes, str):
        raise Invalid("bad_payload", "'notes' must be text.")
    if len(notes) > NOTES_MAX:
        raise Invalid("too_long", f"Please keep the notes under {NOTES_MAX} characters.")
    return WrapUpForm(cleaned, str(risk), safeguarding, notes)


def check_canned(shortcut: Any, text: Any) -> tuple[str, str]:
    if not isinstance(shortcut, str) or not SHORTCUT.match(shortcut.strip().lstrip("/").lower()):
        raise Invalid("bad_shortcut", "A shortcut is 1-32 letters, digits, '-' or '_', like 'welcome'.")
    if not isinstance(text, str) or not text.strip():
        raise Invalid("empty", "Type the response text first.")
    if len(text) > CANNED_MAX:
        raise Invalid("too_long", f"Please keep a canned response under {CANNED_MAX} characters.")
    return shortcut.strip().lstrip("/").lower(), text.strip()


def _postgres(session: AsyncSession) -> bool:
    return session.bind.dialect.name != "sqlite"


class Counselling:
    """The queue, presence and assignments. Every method is one transaction; events go out after commit."""

    def __init__(self, db: Database, sink: EventSink, config: CounsellingConfig) -> None:
        self.db = db
        self.sink = sink
        self.config = config

    # The queue, inside the dialog engine's transaction ------------------------------------------

    async def enqueue_in(self, session: AsyncSession, conv: Conversation, now: datetime) -> bool:
        """Put a conversation in the queue. False when it is already waiting or a counsellor has it."""
        if await session.get(QueueEntry, conv.id) is not None:
            return False
        if await self._active_assignment(session, conv.id) is not None:
            return False
        session.add(QueueEntry(conversation_id=conv.id, waiting_since=now, queued_at=now, front=False))
        await session.flush()
        return True

    async def dequeue_in(self, session: AsyncSession, conversation_id: int) -> bool:
        """The child leaves the queue unserved; the exit is kept for supervisors' metrics."""
        entry = await session.get(QueueEntry, conversation_id)
        if entry is None:
            return False
        session.add(QueueExit(conversation_id=conversation_id, waiting_since=entry.waiting_since, left_at=utcnow()))
        await session.delete(entry)
        await session.flush()
        return True

    async def is_assigned_in(self, session: AsyncSession, conversation_id: int) -> bool:
        return (await session.execute(
            select(Assignment.id).where(Assignment.active_conversation_id == conversation_id))).first() is not None

    async def is_waiting_in(self, session: AsyncSession, conversation_id: int) -> bool:
        return await session.get(QueueEntry, conversation_id) is not None

    async def positions_in(self, session: AsyncSession, now: datetime | None = None) -> list[Event]:
        """Every waiting child's position and wait, plus the count for staff: publish after commit."""
        rows = (await session.execute(self._ordered())).all()
        eta = await self._eta(session)
        events: list[Any] = [
            QueuePosition(entry.conversation_id, child_id, position, eta(position))
            for position, (entry, child_id, _risk) in enumerate(rows, start=1)
        ]
        events.append(StaffAlert("queue_summary", {"waiting": len(rows)}))
        return events

    async def get_positions(self) -> list[Event]:
        async with self.db.read() as session:
            return await self.positions_in(session)

    def _ordered(self) -> Any:
        return (
            select(QueueEntry, Conversation.child_id, Conversation.risk_score)
            .join(Conversation, Conversation.id == QueueEntry.conversation_id)
            .where(Conversation.closed_at.is_(None))
            .order_by(QueueEntry.front.desc(), Conversation.risk_score.desc(), QueueEntry.waiting_since,
                      QueueEntry.conversation_id)
        )

    async def _eta(self, session: AsyncSession) -> Any:
        """An estimate from recent handling times and the counsellors online now; None when unknown."""
        rows = (await session.execute(
            select(Assignment.started_at, Assignment.ended_at)
            .where(Assignment.end_reason.in_(HANDLED), Assignment.ended_at.is_not(None))
            .order_by(Assignment.ended_at.desc()).limit(self.config.eta_sample)
        )).all()
        profiles = (await session.execute(
            select(CounsellorProfile).where(CounsellorProfile.status == "available", CounsellorProfile.sockets > 0)
        )).scalars().all()
        slots = sum(p.capacity or self.config.default_capacity for p in profiles)
        if len(rows) < self.config.eta_min_samples or slots == 0:
            return lambda position: None
        minutes = statistics.median((end - start).total_seconds() / 60 for start, end in rows)
        busy = (await session.execute(
            select(func.count()).select_from(Assignment).where(
                Assignment.ended_at.is_(None), Assignment.counsellor_id.in_([p.user_id for p in profiles]))
        )).scalar_one()
        free = max(0, slots - busy)

        def eta(position: int) -> int:
            if position <= free:
                return 1
            # Each slot frees up about once per median chat: the nth child after the free slots waits n/slots chats.
            return max(1, math.ceil((position - free) * minutes / slots))

        return eta

    # Presence ----------------------------------------------------------------------------------

    async def _profile(self, session: AsyncSession, user_id: int, now: datetime) -> CounsellorProfile:
        query = select(CounsellorProfile).where(CounsellorProfile.user_id == user_id)
        if _postgres(session):
            query = query.with_for_update()
        profile = (await session.execute(query)).scalar_one_or_none()
        if profile is None:
            profile = CounsellorProfile(user_id=user_id, status="away", sockets=0, last_seen=now)
            session.add(profile)
            await session.flush()
        return profile

    async def do_connect(self, user_id: int, back_text: str) -> list[int]:
        """A console socket opened; returns the chats it should listen to. Tells children the counsellor is back."""
        now = utcnow()
        events: list[Event] = []
        async with self.db.write() as session:
            profile = await self._profile(session, user_id, now)
            was_away = profile.sockets == 0 and profile.disconnected_at is not None
            profile.sockets += 1
            profile.disconnected_at = None
            profile.last_seen = now
            active = await self._active_for(session, user_id)
            if was_away:
                for assignment in active:
                    events += await self._notice(session, assignment.conversation_id, back_text, now)
            ids = [a.conversation_id for a in active]
            if profile.sockets == 1:
                # Supervisors' dashboards count who is online.
                events.append(StaffAlert("presence", {"user_id": user_id, "online": True}))
        await self.sink.publish(events)
        return ids

    async def do_disconnect(self, user_id: int, lost_text: str) -> None:
        """A console socket closed. When it was the last one, children are told and the grace period starts."""
        now = utcnow()
        events: list[Event] = []
        async with self.db.write() as session:
            profile = await self._profile(session, user_id, now)
            profile.sockets = max(0, profile.sockets - 1)
            profile.last_seen = now
            if profile.sockets == 0:
                profile.disconnected_at = now
                for assignment in await self._active_for(session, user_id):
                    events += await self._notice(session, assignment.conversation_id, lost_text, now)
                    events.append(StaffAlert("counsellor_offline", {"conversation_id": assignment.conversation_id,
                                                                    "counsellor_id": user_id}))
                events.append(StaffAlert("presence", {"user_id": user_id, "online": False}))
        await self.sink.publish(events)

    async def _notice(self, session: AsyncSession, conversation_id: int, text: str, now: datetime) -> list[Event]:
        conv = await lock_conversation(session, conversation_id)
        if conv.closed_at is not None:
            return []
        message = append_message(session, conv, sender="system", text=text, kind="event", now=now)
        await session.flush()
        return [MessageEvent(view_of(message), conv.child_id)]

    async def do_set_status(self, user_id: int, status: str) -> str:
        status = check_status(status)
        async with self.db.write() as session:
            profile = await self._profile(session, user_id, utcnow())
            profile.status = status
            events = await self.positions_in(session)
        # Estimates depend on who is available.
        await self.sink.publish(events)
        return status

    async def do_set_capacity(self, username: str, capacity: Any) -> int:
        """Supervisors set how many chats a counsellor takes at once."""
        if isinstance(capacity, bool) or not isinstance(capacity, int) or not 1 <= capacity <= 10:
            raise Invalid("bad_capacity", "Capacity must be a whole number from 1 to 10.")
        async with self.db.write() as session:
            user = await self._counsellor_named(session, username)
            profile = await self._profile(session, user.id, utcnow())
            profile.capacity = capacity
        return capacity

    async def _counsellor_named(self, session: AsyncSession, username: Any) -> User:
        if not isinstance(username, str) or not username.strip():
            raise Invalid("bad_payload", "Name the counsellor.")
        user = (await session.execute(
            select(User).where(User.username_key == username.strip().lower()))).scalar_one_or_none()
        if user is None or user.role != "counsellor" or user.disabled:
            raise NotFound("no_such_counsellor", "There is no counsellor with that name.")
        return user

    # The console -------------------------------------------------------------------------------

    async def get_console(self, user_id: int) -> ConsoleView:
        now = utcnow()
        async with self.db.read() as session:
            profile = await session.get(CounsellorProfile, user_id)
            status = profile.status if profile else "away"
            capacity = (profile.capacity if profile else None) or self.config.default_capacity
            chats = [await self._summary(session, a, now) for a in await self._active_for(session, user_id)]
            waiting = len((await session.execute(self._ordered())).all())
            canned = await self._canned(session)
        return ConsoleView(user_id, status, capacity, chats, waiting, canned, self.config.idle_minutes)

    async def _active_for(self, session: AsyncSession, user_id: int) -> list[Assignment]:
        return list((await session.execute(
            select(Assignment).where(Assignment.counsellor_id == user_id, Assignment.ended_at.is_(None))
            .order_by(Assignment.started_at)
        )).scalars())

    async def _active_assignment(self, session: AsyncSession, conversation_id: int) -> Assignment | None:
        query = select(Assignment).where(Assignment.active_conversation_id == conversation_id)
        if _postgres(session):
            query = query.with_for_update()
        return (await session.execute(query)).scalar_one_or_none()

    async def _summary(self, session: AsyncSession, assignment: Assignment, now: datetime) -> ChatSummary:
        conv = await session.get(Conversation, assignment.conversation_id)
        assert conv is not None
        unread = (await session.execute(
            select(func.count()).select_from(Message).where(
                Message.conversation_id == conv.id, Message.sender == "child", Message.seq > assignment.read_seq)
        )).scalar_one()
        return ChatSummary(
            conversation_id=conv.id, state=conv.state, risk_score=conv.risk_score, age_band=conv.age_band,
            waiting_since=assignment.waiting_since, started_at=assignment.started_at,
            last_activity_at=conv.updated_at, unread=int(unread),
            idle=conv.updated_at < now - timedelta(minutes=self.config.idle_minutes),
            closed=conv.closed_at is not None,
        )

    async def access_chat(self, user_id: int, conversation_id: int) -> ChatDetail:
        """The whole transcript, notes included, if this counsellor holds the chat."""
        now = utcnow()
        async with self.db.read() as session:
            assignment = await self._held(session, user_id, conversation_id)
            summary = await self._summary(session, assignment, now)
            messages = await get_messages_after(session, conversation_id, 0, visibility=STAFF_VISIBLE, limit=5000)
        flags = [{"seq": m.seq, "risk_score": m.risk_score} for m in messages
                 if m.sender == "child" and m.risk_score >= MEDIUM]
        return ChatDetail(summary, messages, flags)

    async def check_holds(self, user_id: int, conversation_id: int) -> str:
        """The chat's dialog state, if this counsellor holds it; Forbidden otherwise."""
        async with self.db.read() as session:
            await self._held(session, user_id, conversation_id)
            conv = await session.get(Conversation, conversation_id)
            assert conv is not None
            return conv.state

    async def _held(self, session: AsyncSession, user_id: int, conversation_id: int, *,
                    lock: bool = False) -> Assignment:
        query = select(Assignment).where(Assignment.active_conversation_id == conversation_id)
        if lock and _postgres(session):
            query = query.with_for_update()
        assignment = (await session.execute(query)).scalar_one_or_none()
        if assignment is None or assignment.counsellor_id != user_id:
            raise Forbidden("not_your_chat", "This chat isn't assigned to you.")
        return assignment

    # Taking, talking, handing over ------------------------------------------------------------

    async def do_take_next(self, user_id: int) -> int:
        """Assign the most urgent waiting child to this counsellor. Atomic across processes."""
        now = utcnow()
        async with self.db.write() as session:
            # The counsellor's own row lock makes two clicks of one counsellor respect the capacity.
            profile = await self._profile(session, user_id, now)
            if profile.status != "available":
                raise Conflict("not_available", "Set your status to available to take a chat.")
            active = await self._active_for(session, user_id)
            if len(active) >= (profile.capacity or self.config.default_capacity):
                raise Conflict("at_capacity", "You already have as many chats as you can take.")
            query = self._ordered().limit(1)
            if _postgres(session):
                # Two counsellors pressing at once: each skips the row the other holds, so never the same child.
                query = query.with_for_update(skip_locked=True, of=QueueEntry)
            row = (await session.execute(query)).first()
            if row is None:
                raise NotFound("queue_empty", "Nobody is waiting right now.")
            entry: QueueEntry = row[0]
            session.add(Assignment(
                conversation_id=entry.conversation_id, counsellor_id=user_id,
                active_conversation_id=entry.conversation_id, waiting_since=entry.waiting_since, started_at=now,
                read_seq=0))
            await session.delete(entry)
            await session.flush()
            conversation_id = entry.conversation_id
            events = await self.positions_in(session)
        await self.sink.publish(events)
        return conversation_id

    async def do_send(self, user_id: int, username: str, conversation_id: int, text: str,
                      client_id: str | None, *, note: bool = False) -> tuple[int, bool]:
        """A counsellor's message to the child, or a private note (staff-only). Idempotent per client_id."""
        now = utcnow()
        async with self.db.write() as session:
            assignment = await self._held(session, user_id, conversation_id)
            conv = await lock_conversation(session, conversation_id)
            if client_id is not None:
                duplicate = await find_by_client_id(session, conv.id, client_id)
                if duplicate is not None:
                    return duplicate.seq, True
            if conv.closed_at is not None and not note:
                raise Invalid("conversation_closed", "The child has left this chat. You can still add notes.")
            message = append_message(
                session, conv, sender="counsellor", sender_id=user_id, text=text, client_id=client_id, now=now,
                visibility="staff" if note else "all", kind="note" if note else "text",
                meta={"sender_name": username})
            events: list[Event] = [MessageEvent(view_of(message), conv.child_id)]
            if not note:
                # Replying means the counsellor has read what the child wrote.
                conv.staff_read_seq = conv.last_seq
                assignment.read_seq = conv.last_seq
                events.append(ReceiptEvent(conv.id, conv.child_id, conv.staff_read_seq))
            await session.flush()
            seq = message.seq
        await self.sink.publish(events)
        return seq, False

    async def do_mark_read(self, user_id: int, conversation_id: int, seq: int) -> None:
        async with self.db.write() as session:
            assignment = await self._held(session, user_id, conversation_id)
            conv = await lock_conversation(session, conversation_id)
            seq = min(seq, conv.last_seq)
            if seq <= assignment.read_seq:
                return
            assignment.read_seq = seq
            events: list[Event] = []
            if seq > conv.staff_read_seq:
                conv.staff_read_seq = seq
                events.append(ReceiptEvent(conv.id, conv.child_id, seq))
        await self.sink.publish(events)

    async def _end(self, session: AsyncSession, user_id: int, conversation_id: int, reason: str,
                   now: datetime) -> tuple[Assignment, Conversation]:
        assignment = await self._held(session, user_id, conversation_id, lock=True)
        assignment.ended_at = now
        assignment.end_reason = reason
        assignment.active_conversation_id = None
        conv = await lock_conversation(session, conversation_id)
        await session.flush()
        return assignment, conv

    async def do_transfer(self, user_id: int, conversation_id: int, to_username: str) -> tuple[int, str]:
        """Hand the chat to a named counsellor who is online; returns their id and name."""
        now = utcnow()
        async with self.db.write() as session:
            target = await self._counsellor_named(session, to_username)
            if target.id == user_id:
                raise Invalid("same_counsellor", "You already have this chat.")
            profile = await self._profile(session, target.id, now)
            if profile.sockets == 0 or profile.status == "away":
                raise Conflict("counsellor_unavailable", f"{target.username} isn't online to take this chat.")
            old, conv = await self._end(session, user_id, conversation_id, "transferred", now)
            if conv.closed_at is not None:
                raise Invalid("conversation_closed", "The child has left this chat. Wrap it up instead.")
            session.add(Assignment(
                conversation_id=conversation_id, counsellor_id=target.id, active_conversation_id=conversation_id,
                waiting_since=old.waiting_since, started_at=now, read_seq=0))
            await session.flush()
            name = target.username
            events: list[Event] = [
                StaffEvent("unassigned", {"reason": "transferred"}, conversation_id=conversation_id, user_id=user_id),
                StaffEvent("assigned", {"from": user_id}, conversation_id=conversation_id, user_id=target.id),
            ]
        await self.sink.publish(events)
        return target.id, name

    async def do_requeue(self, user_id: int | None, conversation_id: int, *, front: bool,
                         reason: str = "requeued") -> Ended:
        """Back to the queue, keeping the original waiting time (and at the very front if `front`)."""
        now = utcnow()
        async with self.db.write() as session:
            if user_id is None:
                held = await self._active_assignment(session, conversation_id)
                if held is None:
                    raise NotFound("not_assigned", "Nobody holds this chat.")
                user_id = held.counsellor_id
            old, conv = await self._end(session, user_id, conversation_id, reason, now)
            if conv.closed_at is None:
                session.add(QueueEntry(conversation_id=conversation_id, waiting_since=old.waiting_since,
                                       queued_at=now, front=front))
                await session.flush()
            events: list[Event] = [StaffEvent("unassigned", {"reason": reason}, conversation_id=conversation_id,
                                              user_id=user_id)]
            events += await self.positions_in(session)
            ended = Ended(conversation_id, conv.state, conv.closed_at is not None)
        await self.sink.publish(events)
        return ended

    async def do_end(self, user_id: int, conversation_id: int, reason: str,
                     form: WrapUpForm | None = None) -> Ended:
        """The counsellor leaves the chat (hand back to the bot, or wrap-up). A safeguarding flag alerts at once."""
        now = utcnow()
        async with self.db.write() as session:
            assignment, conv = await self._end(session, user_id, conversation_id, reason, now)
            events: list[Event] = [StaffEvent("unassigned", {"reason": reason}, conversation_id=conversation_id,
                                              user_id=user_id)]
            if form is not None:
                session.add(WrapUp(
                    assignment_id=assignment.id, conversation_id=conversation_id, counsellor_id=user_id,
                    topics=list(form.topics), risk_level=form.risk_level, safeguarding=form.safeguarding,
                    notes=form.notes, created_at=now))
                await session.flush()
                if form.safeguarding:
                    events.append(StaffAlert("safeguarding_alert", {
                        "conversation_id": conversation_id, "counsellor_id": user_id,
                        "risk_level": form.risk_level, "at": now.isoformat()}))
            ended = Ended(conversation_id, conv.state, conv.closed_at is not None)
            events += await self.positions_in(session)
        await self.sink.publish(events)
        return ended

    async def get_wrap_ups(self, conversation_id: int) -> list[WrapUp]:
        async with self.db.read() as session:
            return list((await session.execute(
                select(WrapUp).where(WrapUp.conversation_id == conversation_id).order_by(WrapUp.id))).scalars())

    # Connection trouble ------------------------------------------------------------------------

    async def do_sweep(self) -> list[int]:
        """Chats whose counsellor has been gone longer than the grace period go back to the front of the queue.

        Safe to run in every process at once: each assignment is ended under its row lock, once.
        Returns the conversations requeued, so the dialog can tell the children.
        """
        now = utcnow()
        cutoff = now - timedelta(seconds=self.config.grace_seconds)
        async with self.db.read() as session:
            stale = list((await session.execute(
                select(Assignment.conversation_id)
                .join(CounsellorProfile, CounsellorProfile.user_id == Assignment.counsellor_id)
                .where(Assignment.ended_at.is_(None), CounsellorProfile.sockets == 0,
                       CounsellorProfile.disconnected_at.is_not(None), CounsellorProfile.disconnected_at < cutoff)
            )).scalars())
            closed_waiting = list((await session.execute(
                select(QueueEntry.conversation_id).join(Conversation, Conversation.id == QueueEntry.conversation_id)
                .where(Conversation.closed_at.is_not(None)))).scalars())
        requeued = []
        for conversation_id in stale:
            try:
                ended = await self.do_requeue(None, conversation_id, front=True, reason="connection_lost")
            except (NotFound, Forbidden):
                continue  # another process got there first, or the counsellor came back
            if not ended.closed:
                requeued.append(conversation_id)
        if closed_waiting:
            # Children who closed the chat while waiting: drop them and move everyone else up.
            async with self.db.write() as session:
                query = (select(QueueEntry.conversation_id, QueueEntry.waiting_since, Conversation.closed_at)
                         .join(Conversation, Conversation.id == QueueEntry.conversation_id)
                         .where(QueueEntry.conversation_id.in_(closed_waiting)))
                if _postgres(session):
                    # Two processes sweeping at once: the second waits, then finds the rows gone (one exit each).
                    query = query.with_for_update(of=QueueEntry)
                gone = (await session.execute(query)).all()
                for conversation_id, waiting_since, closed_at in gone:
                    session.add(QueueExit(conversation_id=conversation_id, waiting_since=waiting_since,
                                          left_at=closed_at or now))
                await session.execute(delete(QueueEntry).where(QueueEntry.conversation_id.in_(closed_waiting)))
                events = await self.positions_in(session)
            await self.sink.publish(events)
        return requeued

    # Canned responses --------------------------------------------------------------------------

    async def _canned(self, session: AsyncSession) -> list[dict[str, str]]:
        rows = (await session.execute(select(CannedResponse).order_by(CannedResponse.shortcut))).scalars()
        return [{"shortcut": r.shortcut, "text": r.text} for r in rows]

    async def get_canned(self) -> list[dict[str, str]]:
        async with self.db.read() as session:
            return await self._canned(session)

    async def do_save_canned(self, user_id: int, shortcut: Any, text: Any) -> dict[str, str]:
        shortcut, text = check_canned(shortcut, text)
        async with self.db.write() as session:
            row = (await session.execute(
                select(CannedResponse).where(CannedResponse.shortcut == shortcut))).scalar_one_or_none()
            if row is None:
                row = CannedResponse(shortcut=shortcut, text=text)
                session.add(row)
            row.text, row.updated_by, row.updated_at = text, user_id, utcnow()
            await session.flush()
            canned = await self._canned(session)
        await self.sink.publish([StaffAlert("canned", {"canned": canned})])
        return {"shortcut": shortcut, "text": text}

    async def do_delete_canned(self, shortcut: Any) -> None:
        if not isinstance(shortcut, str):
            raise Invalid("bad_shortcut", "Name the shortcut to delete.")
        async with self.db.write() as session:
            result = await session.execute(
                delete(CannedResponse).where(CannedResponse.shortcut == shortcut.strip().lstrip("/").lower()))
            if not result.rowcount:
                raise NotFound("no_such_shortcut", "There is no canned response with that shortcut.")
            canned = await self._canned(session)
        await self.sink.publish([StaffAlert("canned", {"canned": canned})])
