"""Conversation storage: open, lock, append messages with per-conversation seq, read back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import NotFound
from bot.events import MessageView
from bot.models.chat import Conversation, Message
from bot.models.base import utcnow

CHILD_VISIBLE = ("all",)
STAFF_VISIBLE = ("all", "staff")

SENDER_NAMES = {"bot": "Haven", "system": "Haven", "child": "You"}


def view_of(message: Message, sender_name: str | None = None) -> MessageView:
    meta = message.meta or {}
    return MessageView(
        conversation_id=message.conversation_id,
        seq=message.seq,
        sender=message.sender,
        sender_name=sender_name or meta.get("sender_name") or SENDER_NAMES.get(message.sender, "Counsellor"),
        text=message.text,
        at=message.created_at,
        visibility=message.visibility,
        kind=message.kind,
        client_id=message.client_id,
        options=tuple(meta.get("options", ())),
        links=tuple(meta.get("links", ())),
        risk_score=message.risk_score,
    )


@dataclass(frozen=True)
class ConversationView:
    id: int
    child_id: int
    state: str
    last_seq: int
    child_read_seq: int
    staff_read_seq: int
    risk_score: int
    age_band: str | None
    closed: bool

    @classmethod
    def of(cls, conv: Conversation) -> "ConversationView":
        return cls(
            id=conv.id,
            child_id=conv.child_id,
            state=conv.state,
            last_seq=conv.last_seq,
            child_read_seq=conv.child_read_seq,
            staff_read_seq=conv.staff_read_seq,
            risk_score=conv.risk_score,
            age_band=conv.age_band,
            closed=conv.closed_at is not None,
        )


async def get_open_conversation(session: AsyncSession, child_id: int) -> Conversation | None:
    return (
        await session.execute(
            select(Conversation)
            .where(Conversation.child_id == child_id, Conversation.closed_at.is_(None))
            .order_by(Conversation.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()


async def lock_conversation(
    session: AsyncSession, conversation_id: int, *, child_id: int | None = None, for_update: bool = True
) -> Conversation:
    """Fetch a conversation for changing it; on PostgreSQL the row stays locked until commit."""
    query = select(Conversation).where(Conversation.id == conversation_id)
    if child_id is not None:
        query = query.where(Conversation.child_id == child_id)
    if for_update and session.bind.dialect.name != "sqlite":
        query = query.with_for_update()
    conv = (await session.execute(query)).scalar_one_or_none()
    if conv is None:
        raise NotFound("no_conversation", "We couldn't find that chat.")
    return conv


async def find_by_client_id(session: AsyncSession, conversation_id: int, client_id: str) -> Message | None:
    return (
        await session.execute(
            select(Message).where(Message.conversation_id == conversation_id, Message.client_id == client_id)
        )
    ).scalar_one_or_none()


def append_message(
    session: AsyncSession,
    conv: Conversation,
    *,
    sender: str,
    text: str,
    sender_id: int | None = None,
    visibility: str = "all",
    kind: str = "text",
    client_id: str | None = None,
    risk_score: int = 0,
    meta: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> Message:
    """Add a message with the conversation's next seq. The caller holds the conversation's lock."""
    conv.last_seq += 1
    stamp = now or utcnow()
    conv.updated_at = stamp
    message = Message(
        conversation_id=conv.id,
        seq=conv.last_seq,
        sender=sender,
        sender_id=sender_id,
        visibility=visibility,
        kind=kind,
        text=text,
        meta=meta or {},
        client_id=client_id,
        risk_score=risk_score,
        created_at=stamp,
    )
    session.add(message)
    return message


async def get_messages_after(
    session: AsyncSession,
    conversation_id: int,
    after_seq: int,
    visibility: Sequence[str] = CHILD_VISIBLE,
    limit: int = 500,
) -> list[MessageView]:
    rows = (
        await session.execute(
            select(Message)
            .where(
                Message.conversation_id == conversation_id,
                Message.seq > after_seq,
                Message.visibility.in_(visibility),
            )
            .order_by(Message.seq)
            .limit(limit)
        )
    ).scalars()
    return [view_of(m) for m in rows]
