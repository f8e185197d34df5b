"""Who in the team can take a chat right now, with their load: the counsellor's transfer list and the dashboard."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from bot.models.accounts import User
from bot.models.counselling import Assignment, CounsellorProfile

ONLINE = ("available", "busy")


def presence_of(profile: CounsellorProfile | None, held: int, capacity: int) -> str:
    """One word per person (offline | away | busy | available), so the dashboard's counts add up to the team."""
    if profile is None or profile.sockets <= 0:
        return "offline"
    if profile.status == "away":
        return "away"
    if profile.status == "busy" or held >= capacity:
        return "busy"
    return "available"


@dataclass(frozen=True)
class Colleague:
    user_id: int
    username: str
    # offline | away | busy | available: one word per person, so the counts add up to the team.
    presence: str
    status: str
    load: int
    capacity: int

    def as_dict(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "username": self.username, "presence": self.presence,
                "status": self.status, "load": self.load, "capacity": self.capacity}


async def get_team(session: AsyncSession, default_capacity: int) -> list[Colleague]:
    """Every enabled counsellor with their presence, chats held and capacity, by name."""
    load = (select(Assignment.counsellor_id, func.count().label("n"))
            .where(Assignment.ended_at.is_(None)).group_by(Assignment.counsellor_id).subquery())
    rows = (await session.execute(
        select(User.id, User.username, CounsellorProfile, func.coalesce(load.c.n, 0))
        .outerjoin(CounsellorProfile, CounsellorProfile.user_id == User.id)
        .outerjoin(load, load.c.counsellor_id == User.id)
        .where(User.role == "counsellor", User.disabled.is_(False))
        .order_by(User.username_key))).all()
    team = []
    for user_id, username, profile, held in rows:
        capacity = (profile.capacity if profile else None) or default_capacity
        status = profile.status if profile else "away"
        team.append(Colleague(user_id, username, presence_of(profile, int(held), capacity), status, int(held),
                              capacity))
    return team


async def get_colleagues(db: Database, default_capacity: int, exclude_user_id: int) -> list[Colleague]:
    """Counsellors online to take a transfer (available first, then busy; least loaded first), not oneself."""
    async with db.read() as session:
        team = await get_team(session, default_capacity)
    online = [c for c in team if c.presence in ONLINE and c.user_id != exclude_user_id]
    return sorted(online, key=lambda c: (ONLINE.index(c.presence), c.load - c.capacity, c.username.lower()))
