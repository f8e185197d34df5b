"""Rate limits kept in the database, so every server process counts against the same numbers.

Fixed windows: a key allows `limit` hits per `window`, counted from the first hit of the window. At a
window's edge someone can get up to twice the limit in a short burst; for registrations per address
and uploads per child that is an acceptable price for one row per key and one statement per hit.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from bot.db import Database
from bot.errors import TooMany
from bot.models.base import utcnow
from bot.models.security import RateCounter

KEY_MAX = 120


class RateLimits:
    """`do_hit` counts one request for a key, or raises TooMany (nothing counted) when it is over."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def do_hit(self, key: str, limit: int, window: timedelta, *, code: str, message: str,
                     now: datetime | None = None) -> int:
        """Count one hit; return how many the window now holds. Raise TooMany(code) when over `limit`."""
        key = key[:KEY_MAX]
        at = now or utcnow()
        for attempt in range(2):
            try:
                async with self.db.write() as session:
                    row = await session.get(RateCounter, key, with_for_update=not self.db.sqlite)
                    if row is None:
                        session.add(RateCounter(key=key, window_start=at, count=1))
                        return 1
                    if at - row.window_start >= window:
                        row.window_start, row.count = at, 1
                        return 1
                    if row.count >= limit:
                        wait = int((row.window_start + window - at).total_seconds()) + 1
                        raise TooMany(code, message.format(wait=wait, minutes=(wait + 59) // 60), retry_after=wait)
                    row.count += 1
                    return row.count
            except IntegrityError:
                # Another process inserted the first hit for this key at the same moment: count again.
                if attempt:
                    raise
        raise AssertionError("unreachable")

    async def do_refund(self, key: str) -> None:
        """Give one hit back (the request it counted failed for another reason, like a taken username)."""
        async with self.db.write() as session:
            row = await session.get(RateCounter, key[:KEY_MAX], with_for_update=not self.db.sqlite)
            if row is not None and row.count > 0:
                row.count -= 1

    async def do_forget_older_than(self, cutoff: datetime) -> int:
        """Remove counters whose window started before `cutoff` (housekeeping)."""
        async with self.db.write() as session:
            result = await session.execute(delete(RateCounter).where(RateCounter.window_start < cutoff))
        return result.rowcount or 0
