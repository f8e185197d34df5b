"""The demo age check: a Haven page where a tester picks the outcome, for deployments without Yoti."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.models.base import utcnow
from bot.models.verification import DemoVerificationSession
from bot.verification.base import (
    NotificationRejected,
    Outcome,
    SessionNotFound,
    StartedVerification,
    Status,
    Under18,
)

DEMO_PATH = "/verify/demo"


@dataclass(frozen=True, slots=True)
class DemoChoice:
    """One button on the demo page and the outcome it produces."""

    label: str
    status: Status
    under_18: Under18


# Names are what the page posts back; labels are what the tester reads.
DEMO_OUTCOMES: Mapping[str, DemoChoice] = {
    "under_18": DemoChoice("I am under 18", "complete", "yes"),
    "over_18": DemoChoice("I am 18 or over", "complete", "no"),
    "failed": DemoChoice("The check could not tell", "failed", "unknown"),
    "abandoned": DemoChoice("I gave up", "abandoned", "unknown"),
    "expired": DemoChoice("I took too long", "expired", "unknown"),
}


class UnknownDemoOutcome(ValueError):
    """The demo page posted an outcome name that is not in DEMO_OUTCOMES."""


class DemoProvider:
    """Stands in for Yoti with the same interface; all state is in the database.

    Session ids are unguessable because the page URL is the only thing that lets
    someone pick an outcome.
    """

    name = "demo"

    def __init__(self, *, session_maker: async_sessionmaker[AsyncSession], path: str = DEMO_PATH) -> None:
        self._session_maker = session_maker
        self._path = path.rstrip("/")

    async def aclose(self) -> None:
        return None

    async def start(self, reference: str, callback_url: str, notify_url: str) -> StartedVerification:
        # callback_url and notify_url are unused: the web layer's demo page calls choose()
        # and then fetches the outcome directly, so nothing external needs reaching.
        session_id = secrets.token_urlsafe(18)
        async with self._session_maker.begin() as session:
            session.add(DemoVerificationSession(session_id=session_id, reference=reference))
        return StartedVerification(session_id=session_id, url=f"{self._path}/{session_id}")

    async def check_notification(self, headers: Mapping[str, str], body: bytes) -> str:
        raise NotificationRejected("the demo provider sends no notifications")

    async def choose(self, session_id: str, outcome_name: str) -> bool:
        """Record the tester's pick; the first pick wins. Returns False if one was already made."""
        if outcome_name not in DEMO_OUTCOMES:
            raise UnknownDemoOutcome(f"unknown demo outcome {outcome_name!r}")
        async with self._session_maker.begin() as session:
            # Conditional update, so two processes racing on one page cannot both win.
            result = await session.execute(
                update(DemoVerificationSession)
                .where(
                    DemoVerificationSession.session_id == session_id,
                    DemoVerificationSession.outcome.is_(None),
                )
                .values(outcome=outcome_name, chosen_at=utcnow())
            )
            if result.rowcount == 1:  # type: ignore[attr-defined]
                return True
            if await session.get(DemoVerificationSession, session_id) is None:
                raise SessionNotFound("no such demo session", 404)
            return False

    async def fetch_outcome(self, session_id: str) -> Outcome:
        async with self._session_maker() as session:
            row = await session.get(DemoVerificationSession, session_id)
            if row is None:
                raise SessionNotFound("no such demo session", 404)
            outcome_name, chosen_at = row.outcome, row.chosen_at
        if outcome_name is None or chosen_at is None:
            return Outcome(status="pending", under_18="unknown", method=None, checked_at=utcnow())
        return _outcome(DEMO_OUTCOMES[outcome_name], chosen_at)

    async def discard(self, session_id: str) -> None:
        async with self._session_maker.begin() as session:
            await session.execute(
                delete(DemoVerificationSession).where(DemoVerificationSession.session_id == session_id)
            )


def _outcome(choice: DemoChoice, chosen_at: datetime) -> Outcome:
    return Outcome(status=choice.status, under_18=choice.under_18, method="demo", checked_at=chosen_at)
