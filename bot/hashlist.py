"""The hash list: publish and withdraw the hashes of actioned images; a change feed partners sync by.

Every change takes the next `change_seq` under the ordered-writes lock (bot.audit), held until commit,
so changes commit in `change_seq` order. A partner that asks for "changes after my cursor" and moves its
cursor to the last change it got therefore never skips one committed later with a smaller number.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import AsyncIterator, Iterable

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.audit import Actor, append, lock_ordered_writes
from bot.db import Database
from bot.errors import Conflict, Invalid
from bot.models.base import utcnow
from bot.models.hashlist import CATEGORIES, WITHDRAW_REASONS, HashListEntry

HEX_LENGTHS = {"md5": 32, "sha1": 40, "sha256": 64, "pdq": 64}
_HEX = re.compile(r"[0-9a-f]+")
_RETRIES = 5


@dataclass(frozen=True, slots=True)
class ImageHashes:
    """The four hashes of one image, lower-case hex."""

    md5: str
    sha1: str
    sha256: str
    pdq: str
    pdq_quality: int | None = None


@dataclass(frozen=True, slots=True)
class HashEntry:
    """One hash-list entry as stored; `active` is False once withdrawn (partners then get a tombstone)."""

    id: str
    change: int
    category: str
    md5: str
    sha1: str
    sha256: str
    pdq: str
    pdq_quality: int | None
    published_at: datetime
    withdrawn_at: datetime | None
    withdraw_reason: str | None
    report_image_id: int
    report_ref: str | None

    @property
    def active(self) -> bool:
        return self.withdrawn_at is None


@dataclass(frozen=True, slots=True)
class ChangePage:
    """Changes after a cursor, oldest first; `cursor` is what to send next time, `more` if a page is waiting."""

    entries: list[HashEntry]
    cursor: int
    more: bool


def check_hex(kind: str, value: object) -> str:
    """A hash as sent by a person or partner: the right length of hex digits (any case)."""
    length = HEX_LENGTHS[kind]
    if not isinstance(value, str):
        raise Invalid("bad_hash", f"'{kind}' must be a string of {length} hexadecimal digits.")
    lowered = value.lower()
    if len(lowered) != length or not _HEX.fullmatch(lowered):
        raise Invalid("bad_hash", f"'{kind}' must be exactly {length} hexadecimal digits (0-9, a-f).")
    return lowered


def check_hashes(hashes: ImageHashes) -> ImageHashes:
    return ImageHashes(check_hex("md5", hashes.md5), check_hex("sha1", hashes.sha1),
                       check_hex("sha256", hashes.sha256), check_hex("pdq", hashes.pdq), hashes.pdq_quality)


def _entry(row: HashListEntry) -> HashEntry:
    return HashEntry(row.public_id, row.change_seq, row.category, row.md5, row.sha1, row.sha256, row.pdq,
                     row.pdq_quality, row.published_at, row.withdrawn_at, row.withdraw_reason,
                     row.report_image_id, row.report_ref)


async def _next_change(session: AsyncSession) -> int:
    await lock_ordered_writes(session)
    last = await session.scalar(select(func.max(HashListEntry.change_seq)))
    return int(last or 0) + 1


async def publish(session: AsyncSession, actor: Actor, report_image_id: int, category: str,
                  hashes: ImageHashes, report_ref: str | None = None) -> HashEntry:
    """Put an image's hashes on the list inside the caller's transaction (idempotent per image).

    Publishing again with another category changes the entry; publishing a withdrawn image brings it
    back under the same id. Either is a new change partners receive.
    """
    if category not in CATEGORIES:
        raise Invalid("bad_category", "The category must be A, B or C.")
    hashes = check_hashes(hashes)
    # The ordered-writes lock comes before any row lock, in every path, so no two can deadlock.
    await lock_ordered_writes(session)
    row = await session.scalar(
        select(HashListEntry).where(HashListEntry.report_image_id == report_image_id).with_for_update())
    if row is not None and (row.md5, row.sha1, row.sha256, row.pdq) != (
            hashes.md5, hashes.sha1, hashes.sha256, hashes.pdq):
        raise Conflict("hashes_differ", "This image is already on the list with different hashes.")
    if row is not None and row.withdrawn_at is None and row.category == category:
        return _entry(row)
    change = await _next_change(session)
    now = utcnow()
    if row is None:
        row = HashListEntry(public_id=str(uuid.uuid4()), report_image_id=report_image_id, report_ref=report_ref,
                            md5=hashes.md5, sha1=hashes.sha1, sha256=hashes.sha256, pdq=hashes.pdq,
                            pdq_quality=hashes.pdq_quality, category=category, published_at=now,
                            change_seq=change)
        session.add(row)
    else:
        row.category = category
        row.withdrawn_at = None
        row.withdraw_reason = None
        row.change_seq = change
    await session.flush()
    await append(session, actor, "hash_publish", f"image:{report_image_id}",
                 {"hash_id": row.public_id, "category": category, "change": change})
    return _entry(row)


async def withdraw(session: AsyncSession, actor: Actor, report_image_id: int,
                   reason: str = "withdrawn") -> HashEntry | None:
    """Take an image's hashes off the list inside the caller's transaction; None if it was never on it."""
    if reason not in WITHDRAW_REASONS:
        raise Invalid("bad_reason", "The reason must be 'withdrawn' or 'removed'.")
    await lock_ordered_writes(session)
    row = await session.scalar(
        select(HashListEntry).where(HashListEntry.report_image_id == report_image_id).with_for_update())
    if row is None:
        return None
    if row.withdrawn_at is not None:
        return _entry(row)
    row.change_seq = await _next_change(session)
    row.withdrawn_at = utcnow()
    row.withdraw_reason = reason
    await session.flush()
    await append(session, actor, "hash_withdraw", f"image:{report_image_id}",
                 {"hash_id": row.public_id, "reason": reason, "change": row.change_seq})
    return _entry(row)


class HashList:
    """The list's own transactions and its reads (change feed, lookups, exports)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def do_publish(self, actor: Actor, report_image_id: int, category: str, hashes: ImageHashes,
                         report_ref: str | None = None) -> HashEntry:
        for attempt in range(_RETRIES):
            try:
                async with self.db.write() as session:
                    return await publish(session, actor, report_image_id, category, hashes, report_ref)
            except (IntegrityError, OperationalError):
                # Only a second process on the same SQLite file can race us to a change number.
                if attempt == _RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    async def do_withdraw(self, actor: Actor, report_image_id: int, reason: str = "withdrawn") -> HashEntry | None:
        for attempt in range(_RETRIES):
            try:
                async with self.db.write() as session:
                    return await withdraw(session, actor, report_image_id, reason)
            except (IntegrityError, OperationalError):
                if attempt == _RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    async def get_changes(self, since: int, limit: int) -> ChangePage:
        """Each entry changed after `since` once, in its latest state, oldest change first."""
        async with self.db.read() as session:
            rows = (await session.scalars(
                select(HashListEntry).where(HashListEntry.change_seq > since)
                .order_by(HashListEntry.change_seq).limit(limit + 1))).all()
        more = len(rows) > limit
        entries = [_entry(row) for row in rows[:limit]]
        return ChangePage(entries, entries[-1].change if entries else since, more)

    async def get_last_change(self) -> int:
        async with self.db.read() as session:
            return int(await session.scalar(select(func.max(HashListEntry.change_seq))) or 0)

    async def get_by_hash(self, kind: str, value: str) -> list[HashEntry]:
        """Active entries whose `kind` hash equals `value` (already checked and lower-case)."""
        column = {"md5": HashListEntry.md5, "sha1": HashListEntry.sha1, "sha256": HashListEntry.sha256,
                  "pdq": HashListEntry.pdq}[kind]
        async with self.db.read() as session:
            rows = (await session.scalars(
                select(HashListEntry).where(column == value, HashListEntry.withdrawn_at.is_(None))
                .order_by(HashListEntry.change_seq))).all()
        return [_entry(row) for row in rows]

    async def get_by_pdqs(self, pdqs: Iterable[str]) -> list[HashEntry]:
        wanted = sorted(set(pdqs))
        found: list[HashEntry] = []
        async with self.db.read() as session:
            for start in range(0, len(wanted), 500):
                rows = (await session.scalars(
                    select(HashListEntry).where(HashListEntry.pdq.in_(wanted[start:start + 500]),
                                                HashListEntry.withdrawn_at.is_(None))
                    .order_by(HashListEntry.change_seq))).all()
                found.extend(_entry(row) for row in rows)
        return found

    async def get_entry(self, public_id: str) -> HashEntry | None:
        async with self.db.read() as session:
            row = await session.scalar(select(HashListEntry).where(HashListEntry.public_id == public_id))
        return _entry(row) if row is not None else None

    async def iter_active(self, batch: int = 5000) -> AsyncIterator[HashEntry]:
        """Every active entry in change order, a page at a time (exports)."""
        after = 0
        while True:
            page = await self.get_changes(after, batch)
            for entry in page.entries:
                if entry.active:
                    yield entry
            if not page.more:
                return
            after = page.cursor

    async def iter_pdqs(self, since: int, batch: int = 50000) -> AsyncIterator[tuple[int, list[str], int]]:
        """(last change, active PDQs, withdrawn count) per page of changes after `since` (index loads)."""
        after = since
        while True:
            async with self.db.read() as session:
                rows = (await session.execute(
                    select(HashListEntry.change_seq, HashListEntry.pdq, HashListEntry.withdrawn_at)
                    .where(HashListEntry.change_seq > after).order_by(HashListEntry.change_seq)
                    .limit(batch))).all()
            if not rows:
                return
            after = rows[-1][0]
            yield after, [pdq for _, pdq, gone in rows if gone is None], sum(1 for row in rows if row[2] is not None)
            if len(rows) < batch:
                return
