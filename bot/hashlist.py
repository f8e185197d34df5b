"""The hash list: publish and withdraw the hashes of actioned images; a change feed partners sync by.

Every change takes the next `change_seq` under the ordered-writes lock (bot.audit), held until commit,
so changes commit in `change_seq` order. A partner that asks for "changes after my cursor" and moves its
cursor to the last change it got therefore never skips one committed later with a smaller number.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, AsyncIterator, Iterable, Sequence

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.audit import Actor, append, lock_ordered_writes
from bot.db import Database
from bot.errors import Conflict, Invalid
from bot.models.base import utcnow
from bot.images.hashing import (
    REGISTRY,
    VPDQ,
    Frame,
    HashKind,
    ImageHashes,
    check_record,
    columns_of,
    exact_kinds,
    lookup_kinds,
)
from bot.models.hashlist import CATEGORIES, WITHDRAW_REASONS, HashListEntry, HashListFrame

_RETRIES = 5
__all__ = ["EXPORT_COLUMNS", "HASH_FIELDS", "ChangePage", "HashEntry", "HashList", "ImageHashes", "cell", "check_hash",
           "check_hashes", "export_row", "iso", "publish", "withdraw"]


@dataclass(frozen=True, slots=True)
class HashEntry:
    """One hash-list entry as stored; `active` is False once withdrawn (partners then get a tombstone)."""

    id: str
    change: int
    category: str
    md5: str
    sha1: str
    sha256: str
    pdq: str | None
    pdq_quality: int | None
    published_at: datetime
    withdrawn_at: datetime | None
    withdraw_reason: str | None
    report_image_id: int
    report_ref: str | None
    media: str = "image"
    frames: tuple[Frame, ...] = field(default_factory=tuple)

    @property
    def active(self) -> bool:
        return self.withdrawn_at is None

    def pdqs(self) -> list[str]:
        """Every PDQ the entry is matched by: its picture's and its frames'."""
        return ([self.pdq] if self.pdq else []) + [f.pdq for f in self.frames if f.pdq != self.pdq]


@dataclass(frozen=True, slots=True)
class ChangePage:
    """Changes after a cursor, oldest first; `cursor` is what to send next time, `more` if a page is waiting."""

    entries: list[HashEntry]
    cursor: int
    more: bool


def _field(kind: HashKind) -> str:
    """The exchange field of a kind: its name, except vPDQ's, whose value is the entry's `frames`."""
    return "frames" if isinstance(kind, VPDQ) else kind.name


# What partners and the national hand-over get for every entry, one field per exchanged kind.
HASH_FIELDS = [_field(kind) for kind in lookup_kinds()]
EXPORT_COLUMNS = ["id", "media", "category", *HASH_FIELDS, "pdq_quality", "published_at"]


def iso(at: datetime | None) -> str | None:
    return at.astimezone(timezone.utc).isoformat() if at is not None else None


def entry_hashes(entry: HashEntry) -> dict[str, Any]:
    """Every exchanged kind's value for one entry, from the registry (null where it has none)."""
    out: dict[str, Any] = {}
    for kind in lookup_kinds():
        if isinstance(kind, VPDQ):
            out["frames"] = [frame.as_json() for frame in entry.frames]
        else:
            out[kind.name] = getattr(entry, kind.column) if entry.media in kind.media else None
    return out


def export_row(entry: HashEntry) -> dict[str, Any]:
    """One active entry for exports, lookups and the hand-over."""
    return {"id": entry.id, "media": entry.media, "category": entry.category, **entry_hashes(entry),
            "pdq_quality": entry.pdq_quality, "published_at": iso(entry.published_at)}


def cell(value: Any) -> Any:
    """A CSV cell: frames in vPDQ's compact form (pdq,quality,timestamp), separated by spaces."""
    if isinstance(value, list):
        return " ".join(f"{f['pdq']},{f['quality']},{f['timestamp']}" for f in value)
    return value


def check_hash(kind: HashKind | str, value: object) -> str:
    """A hash as sent by a person or partner, checked by its kind: the right length of hex digits (any case)."""
    found = REGISTRY[kind] if isinstance(kind, str) else kind
    try:
        return found.check(value)
    except ValueError as error:
        raise Invalid("bad_hash", str(error)) from None


def check_hashes(hashes: ImageHashes) -> ImageHashes:
    try:
        return check_record(hashes)
    except ValueError as error:
        raise Invalid("bad_hash", str(error)) from None


def _entry(row: HashListEntry, frames: Sequence[HashListFrame] = ()) -> HashEntry:
    return HashEntry(row.public_id, row.change_seq, row.category, row.md5, row.sha1, row.sha256, row.pdq,
                     row.pdq_quality, row.published_at, row.withdrawn_at, row.withdraw_reason,
                     row.report_image_id, row.report_ref, row.media,
                     tuple(Frame(f.timestamp_ms / 1000, f.pdq, f.quality) for f in frames))


async def _frames_of(session: AsyncSession, ids: Sequence[int]) -> dict[int, list[HashListFrame]]:
    """Each entry's frames in order, for a page of entries (one query per 500)."""
    found: dict[int, list[HashListFrame]] = {}
    unique = sorted(set(ids))
    for start in range(0, len(unique), 500):
        for frame in (await session.scalars(
                select(HashListFrame).where(HashListFrame.entry_id.in_(unique[start:start + 500]))
                .order_by(HashListFrame.entry_id, HashListFrame.position))).all():
            found.setdefault(frame.entry_id, []).append(frame)
    return found


async def _entries(session: AsyncSession, rows: Sequence[HashListEntry]) -> list[HashEntry]:
    frames = await _frames_of(session, [row.id for row in rows])
    return [_entry(row, frames.get(row.id, ())) for row in rows]


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
    wanted = columns_of(hashes)
    if row is not None and any(getattr(row, column) != value for column, value in wanted.items()):
        raise Conflict("hashes_differ", "This image is already on the list with different hashes.")
    if row is not None and row.withdrawn_at is None and row.category == category:
        return (await _entries(session, [row]))[0]
    change = await _next_change(session)
    now = utcnow()
    if row is None:
        row = HashListEntry(public_id=str(uuid.uuid4()), report_image_id=report_image_id, report_ref=report_ref,
                            **wanted, pdq_quality=hashes.pdq_quality, category=category, published_at=now,
                            change_seq=change, media=hashes.media)
        session.add(row)
        await session.flush()
        for position, frame in enumerate(hashes.frame_hashes):
            session.add(HashListFrame(entry_id=row.id, position=position, timestamp_ms=round(frame.timestamp * 1000),
                                      pdq=frame.pdq, quality=frame.quality))
    else:
        row.category = category
        row.withdrawn_at = None
        row.withdraw_reason = None
        row.change_seq = change
    await session.flush()
    await append(session, actor, "hash_publish", f"image:{report_image_id}",
                 {"hash_id": row.public_id, "category": category, "change": change})
    return (await _entries(session, [row]))[0]


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
        return (await _entries(session, [row]))[0]
    row.change_seq = await _next_change(session)
    row.withdrawn_at = utcnow()
    row.withdraw_reason = reason
    await session.flush()
    await append(session, actor, "hash_withdraw", f"image:{report_image_id}",
                 {"hash_id": row.public_id, "reason": reason, "change": row.change_seq})
    return (await _entries(session, [row]))[0]


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
            entries = await _entries(session, rows[:limit])
        return ChangePage(entries, entries[-1].change if entries else since, more)

    async def get_last_change(self) -> int:
        async with self.db.read() as session:
            return int(await session.scalar(select(func.max(HashListEntry.change_seq))) or 0)

    async def get_by_hash(self, kind: HashKind | str, value: str) -> list[HashEntry]:
        """Active entries whose hash of an exact `kind` equals `value` (already checked and lower-case)."""
        found = REGISTRY[kind] if isinstance(kind, str) else kind
        if found not in exact_kinds():
            raise ValueError(f"{found.name} is not looked up by equality")
        column = getattr(HashListEntry, found.column)
        query = select(HashListEntry).where(column == value, HashListEntry.withdrawn_at.is_(None))
        if found.media != frozenset({"image", "video"}):
            query = query.where(HashListEntry.media.in_(sorted(found.media)))
        async with self.db.read() as session:
            rows = (await session.scalars(query.order_by(HashListEntry.change_seq))).all()
            return await _entries(session, rows)

    async def get_by_pdqs(self, pdqs: Iterable[str]) -> list[HashEntry]:
        """Active entries holding any of these PDQs, as their picture's hash or as one of their frames'."""
        wanted = sorted(set(pdqs))
        ids: set[int] = set()
        async with self.db.read() as session:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start:start + 500]
                ids.update((await session.scalars(select(HashListEntry.id).where(HashListEntry.pdq.in_(chunk)))).all())
                ids.update((await session.scalars(
                    select(HashListFrame.entry_id).where(HashListFrame.pdq.in_(chunk)))).all())
            rows: list[HashListEntry] = []
            ordered = sorted(ids)
            for start in range(0, len(ordered), 500):
                rows.extend((await session.scalars(
                    select(HashListEntry).where(HashListEntry.id.in_(ordered[start:start + 500]),
                                                HashListEntry.withdrawn_at.is_(None)))).all())
            rows.sort(key=lambda row: row.change_seq)
            return await _entries(session, rows)

    async def get_entry(self, public_id: str) -> HashEntry | None:
        async with self.db.read() as session:
            row = await session.scalar(select(HashListEntry).where(HashListEntry.public_id == public_id))
            return (await _entries(session, [row]))[0] if row is not None else None

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
        """(last change, active PDQs, withdrawn count) per page of changes after `since` (index loads).

        The PDQs are every entry's picture and every frame of its video: a still picture that is one
        frame of a listed video is found like any other near-duplicate.
        """
        after = since
        while True:
            async with self.db.read() as session:
                rows = (await session.execute(
                    select(HashListEntry.id, HashListEntry.change_seq, HashListEntry.pdq, HashListEntry.withdrawn_at)
                    .where(HashListEntry.change_seq > after).order_by(HashListEntry.change_seq)
                    .limit(batch))).all()
                if not rows:
                    return
                active = [row_id for row_id, _, _, gone in rows if gone is None]
                frames: list[str] = []
                for start in range(0, len(active), 5000):
                    frames.extend((await session.scalars(
                        select(HashListFrame.pdq).where(HashListFrame.entry_id.in_(active[start:start + 5000])))).all())
            after = rows[-1][1]
            pictures = [pdq for _, _, pdq, gone in rows if gone is None and pdq]
            yield after, pictures + frames, sum(1 for row in rows if row[3] is not None)
            if len(rows) < batch:
                return
