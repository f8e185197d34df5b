"""Queue history the live tables forget: children who left the queue before a counsellor reached them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base, UTCDateTime, utcnow


class QueueExit(Base):
    """A queue entry removed without an assignment (the child left the queue, or closed the chat while waiting).

    A served child leaves a trace in `assignments` (same conversation and `waiting_since`); one who gives up
    leaves none once the queue row is deleted, so the metrics need this row to count them.
    """

    __tablename__ = "queue_exits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    waiting_since: Mapped[datetime] = mapped_column(UTCDateTime)
    left_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
