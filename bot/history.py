"""A child's earlier chats for the staff who may see them: continuity, as telephone counselling services keep it.

Only the counsellor holding the chat now and supervisors may read them (docs/ARCHITECTURE.md, roles):
what other counsellors wrote about the child is staff-only, and so is how risky earlier chats were.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from bot.db import Database
from bot.errors import Forbidden, NotFound
from bot.models.accounts import User
from bot.models.chat import Conversation, Message
from bot.models.counselling import Assignment, WrapUp
from bot.risk import MEDIUM

HISTORY_MAX = 20


@dataclass(frozen=True)
class WrapUpNote:
    counsellor: str
    topics: list[str]
    risk_level: str
    safeguarding: bool
    notes: str
    at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {"counsellor": self.counsellor, "topics": list(self.topics), "risk_level": self.risk_level,
                "safeguarding": self.safeguarding, "notes": self.notes, "at": self.at.isoformat()}


@dataclass(frozen=True)
class PastChat:
    """One of the child's chats: when, how risky (highest score, flagged messages) and its wrap-ups."""

    conversation_id: int
    current: bool
    opened_at: datetime
    closed_at: datetime | None
    risk_score: int
    flagged: int
    wrap_ups: list[WrapUpNote] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"conversation_id": self.conversation_id, "current": self.current,
                "opened_at": self.opened_at.isoformat(),
                "closed_at": self.closed_at.isoformat() if self.closed_at else None,
                "risk_score": self.risk_score, "flagged": self.flagged,
                "wrap_ups": [w.as_dict() for w in self.wrap_ups]}


async def access_child_history(db: Database, viewer_id: int, viewer_role: str, conversation_id: int) -> list[PastChat]:
    """The child's chats, newest first (this one included, marked `current`), if the viewer may see them."""
    async with db.read() as session:
        conv = await session.get(Conversation, conversation_id)
        if viewer_role == "counsellor":
            holds = await session.scalar(select(Assignment.id).where(
                Assignment.active_conversation_id == conversation_id, Assignment.counsellor_id == viewer_id))
            if holds is None:
                raise Forbidden("not_your_chat", "This chat isn't assigned to you.")
        elif viewer_role != "supervisor":
            raise Forbidden("forbidden", "Only the counsellor in this chat and supervisors can see earlier chats.")
        if conv is None:
            raise NotFound("no_conversation", "There is no chat with that number.")
        convs = (await session.scalars(
            select(Conversation).where(Conversation.child_id == conv.child_id)
            .order_by(Conversation.opened_at.desc(), Conversation.id.desc()).limit(HISTORY_MAX))).all()
        ids = [c.id for c in convs]
        flagged = dict((await session.execute(
            select(Message.conversation_id, func.count()).where(
                Message.conversation_id.in_(ids), Message.sender == "child", Message.risk_score >= MEDIUM)
            .group_by(Message.conversation_id))).all())
        notes: dict[int, list[WrapUpNote]] = {}
        for wrap, name in (await session.execute(
                select(WrapUp, User.username).join(User, User.id == WrapUp.counsellor_id)
                .where(WrapUp.conversation_id.in_(ids)).order_by(WrapUp.created_at, WrapUp.id))).all():
            notes.setdefault(wrap.conversation_id, []).append(WrapUpNote(
                name, [str(t) for t in wrap.topics or []], wrap.risk_level, wrap.safeguarding, wrap.notes,
                wrap.created_at))
    return [PastChat(c.id, c.id == conversation_id, c.opened_at, c.closed_at, c.risk_score,
                     int(flagged.get(c.id, 0)), notes.get(c.id, [])) for c in convs]
