"""Conversations and their messages: the state machine's row and everything said in it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base, UTCDateTime, utcnow


class Conversation(Base):
    """One child's chat. `state` is the dialog state; `version` guards against two processes advancing it."""

    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(primary_key=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=0)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    # The conversation's risk, 0-100, built across the child's messages (bot/risk); it never falls by itself.
    # The counsellor queue orders by it.
    risk_score: Mapped[int] = mapped_column(Integer, default=0)
    # Triage carried from one message to the next (bot.risk.RiskState.as_json): category strengths and
    # evidence as message seqs and character spans. Never message text.
    risk_state: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    age_band: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # Small dialog facts (e.g. which state to return to); never message text.
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    child_read_seq: Mapped[int] = mapped_column(Integer, default=0)
    staff_read_seq: Mapped[int] = mapped_column(Integer, default=0)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    # The ORM adds "AND version = <read version>" to every UPDATE, so a second process that
    # advanced this conversation meanwhile makes our commit fail instead of overwriting it.
    __mapper_args__ = {"version_id_col": version}


class Message(Base):
    """A stored message. `seq` increases per conversation; `visibility='staff'` never reaches the child."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("conversation_id", "seq", name="uq_messages_conversation_seq"),
        UniqueConstraint("conversation_id", "client_id", name="uq_messages_conversation_client"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    sender: Mapped[str] = mapped_column(String(16))  # child | bot | counsellor | supervisor | system
    sender_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    visibility: Mapped[str] = mapped_column(String(8), default="all")  # all | staff
    kind: Mapped[str] = mapped_column(String(16), default="text")  # text | note | whisper | event
    text: Mapped[str] = mapped_column(Text)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    client_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    risk_score: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
