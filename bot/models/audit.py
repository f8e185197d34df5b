"""The audit log table: append-only, each row carrying the hash of the one before it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base, UTCDateTime, utcnow


class AuditEntry(Base):
    """One thing a person or Haven did to a report, an image or the hash list.

    `seq` is assigned by bot.audit (last + 1, under a lock) rather than by the database, so the chain
    has no gaps that a deleted row could hide in. The migration adds triggers that refuse UPDATE and
    DELETE, so the table is append-only for everything short of its owner disabling them.
    """

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # None for Haven itself (background tasks, the command line).
    actor_id: Mapped[int | None] = mapped_column(Integer, default=None)
    actor_role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(32), index=True)
    # What was acted on, e.g. "report:HVN-7K3P-Q9", "image:12", "hash:<id>", "partner:acme".
    subject: Mapped[str] = mapped_column(String(80), index=True)
    # Ids, counts and codes only: never message text, image bytes or identity details.
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
