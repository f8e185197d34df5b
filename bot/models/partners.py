"""Partner platforms' API keys (stored hashed), their request counters and their feedback."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base, UTCDateTime, utcnow

VERDICTS = ("removed", "not_found", "disputed")


class Partner(Base):
    """A platform that pulls the hash list. The key is shown once at creation; only its SHA-256 is kept.

    The rate limit is a fixed one-minute window counted on this row (`window_start` is the minute
    number since the epoch), so every server process shares it through the database.
    """

    __tablename__ = "partners"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    # The non-secret part of the key, to find the row without scanning every hash.
    key_prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    window_start: Mapped[int] = mapped_column(Integer, default=0)
    window_count: Mapped[int] = mapped_column(Integer, default=0)


class PartnerFeedback(Base):
    """What a partner did about one hash-list entry: removed copies, found none, or disputes it."""

    __tablename__ = "partner_feedback"
    __table_args__ = (
        CheckConstraint("verdict IN ('removed', 'not_found', 'disputed')", name="verdict"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hash_entry_id: Mapped[int] = mapped_column(ForeignKey("hash_list.id", ondelete="CASCADE"), index=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"), index=True)
    verdict: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(String(1000), default=None)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
