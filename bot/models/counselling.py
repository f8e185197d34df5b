"""Counsellors' presence and capacity, the waiting queue, assignments, wrap-ups and canned responses."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base, UTCDateTime, utcnow

STATUSES = ("available", "busy", "away")
RISK_LEVELS = ("low", "medium", "high", "critical")


class CounsellorProfile(Base):
    """One counsellor's status, capacity and connection, shared by every server process."""

    __tablename__ = "counsellor_profiles"
    __table_args__ = (CheckConstraint("status IN ('available', 'busy', 'away')", name="status"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="away")
    # NULL: the service-wide default (HAVEN_COUNSELLOR_CAPACITY); supervisors may set their own.
    capacity: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Open console sockets across all processes; when it drops to 0 the grace period starts.
    sockets: Mapped[int] = mapped_column(Integer, default=0)
    disconnected_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class QueueEntry(Base):
    """A conversation waiting for a person. Order: returned-at-front first, then risk, then time waiting."""

    __tablename__ = "queue_entries"

    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True)
    # When the child first asked; kept when a chat goes back to the queue so it keeps its place.
    waiting_since: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when a counsellor's connection was lost: the child has already waited once.
    front: Mapped[bool] = mapped_column(Boolean, default=False)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Assignment(Base):
    """A counsellor holding a conversation, from taking it to wrap-up, transfer or hand-back."""

    __tablename__ = "assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    counsellor_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # Equal to conversation_id while the assignment is active, NULL after: the unique constraint makes
    # a second active assignment for one conversation impossible on every backend.
    active_conversation_id: Mapped[int | None] = mapped_column(Integer, unique=True, nullable=True)
    waiting_since: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # wrapped_up | handed_back | transferred | requeued | connection_lost
    end_reason: Mapped[str | None] = mapped_column(String(24), nullable=True)
    read_seq: Mapped[int] = mapped_column(Integer, default=0)


class WrapUp(Base):
    """What the counsellor recorded when the chat ended. Staff-only."""

    __tablename__ = "wrap_ups"
    __table_args__ = (CheckConstraint("risk_level IN ('low', 'medium', 'high', 'critical')", name="risk_level"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"), unique=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    counsellor_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    topics: Mapped[list[Any]] = mapped_column(JSON, default=list)
    risk_level: Mapped[str] = mapped_column(String(16))
    safeguarding: Mapped[bool] = mapped_column(Boolean, default=False)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CannedResponse(Base):
    """A reply counsellors insert with `/shortcut`. Supervisors edit them."""

    __tablename__ = "canned_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    shortcut: Mapped[str] = mapped_column(String(32), unique=True)
    text: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
