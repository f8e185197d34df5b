"""The audit log: who previewed, revealed, assessed, decided, withdrew or purged what, in a hash chain.

Each entry stores the SHA-256 of the entry before it, and its own hash covers every field including
that link, so changing, deleting or reordering any entry breaks the chain at that point and
`verify_chain` names it. Appends are serialized (a PostgreSQL advisory lock held to commit; on SQLite
the single writer plus the primary key on `seq`), so the chain never forks.

Known actions: preview, reveal, assess, decide, withdraw, purge, hash_publish, hash_withdraw,
partner_create, partner_revoke, hashes_export. New ones need no registration; they must match
ACTION_PATTERN.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, AsyncIterator, Mapping

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from bot.models.audit import AuditEntry
from bot.models.base import utcnow

GENESIS = "0" * 64
ACTION_PATTERN = re.compile(r"[a-z][a-z_]{1,31}")
ROLES = ("system", "child", "counsellor", "supervisor", "analyst", "admin", "partner")
# One PostgreSQL advisory lock for every write whose sequence number must follow commit order (audit
# entries, hash-list changes). Sharing it means a transaction doing both can never deadlock against
# one doing them the other way round; both kinds of write are rare enough that one queue is cheap.
ORDERED_WRITES_LOCK = 0x4856_4E41_5544  # "HVNAUD"
_MAX_DETAIL_TEXT = 200
_RETRIES = 5


class AuditError(ValueError):
    """A programming error: an entry that must not be written (bad action, personal-looking details)."""


@dataclass(frozen=True, slots=True)
class Actor:
    """Who did it: a user id and role, or Haven itself (id None, role "system")."""

    id: int | None
    role: str


SYSTEM = Actor(None, "system")


@dataclass(frozen=True, slots=True)
class AuditRecord:
    seq: int
    at: datetime
    actor_id: int | None
    actor_role: str
    action: str
    subject: str
    details: dict[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class ChainReport:
    """The outcome of checking the whole chain: ok, or the first entry that breaks it and why."""

    ok: bool
    count: int
    head_hash: str
    broken_at: int | None = None
    reason: str = ""


async def lock_ordered_writes(session: AsyncSession) -> None:
    """Hold the ordered-writes lock until this transaction ends.

    PostgreSQL: an advisory lock. SQLite: its one write lock, taken now by an UPDATE that matches no
    row, because the driver otherwise starts the transaction only at the first write, after our reads
    of the last sequence number (another process could commit in between).
    """
    if session.bind.dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ORDERED_WRITES_LOCK})
    else:
        await session.execute(text("UPDATE audit_log SET seq = seq WHERE 0 = 1"))


def _check_details(details: Mapping[str, Any] | None) -> dict[str, Any]:
    """Details are ids, counts and short codes; anything long or nested is refused as a likely leak."""
    clean: dict[str, Any] = {}
    for key, value in (details or {}).items():
        if not isinstance(key, str) or not re.fullmatch(r"[a-z][a-z0-9_]{0,31}", key):
            raise AuditError(f"audit detail key {key!r} is not a short lower-case name")
        if isinstance(value, float):
            # Floats don't survive every database's JSON round trip bit for bit.
            raise AuditError(f"audit detail {key!r} is a float; store an int or a string")
        if isinstance(value, str) and len(value) > _MAX_DETAIL_TEXT:
            raise AuditError(f"audit detail {key!r} is longer than {_MAX_DETAIL_TEXT} characters")
        if isinstance(value, list):
            if not all(isinstance(item, (str, int, bool)) and not isinstance(item, float) for item in value):
                raise AuditError(f"audit detail {key!r} must be a list of strings or whole numbers")
        elif value is not None and not isinstance(value, (str, int, bool)):
            raise AuditError(f"audit detail {key!r} has type {type(value).__name__}")
        clean[key] = value
    return clean


def _iso(at: datetime) -> str:
    return at.astimezone(timezone.utc).isoformat(timespec="microseconds")


def entry_hash(seq: int, at: datetime, actor_id: int | None, actor_role: str, action: str, subject: str,
               details: Mapping[str, Any], prev_hash: str) -> str:
    """SHA-256 over a canonical JSON encoding (sorted keys, no spaces, UTC time to the microsecond)."""
    canonical = json.dumps(
        {"seq": seq, "at": _iso(at), "actor_id": actor_id, "actor_role": actor_role, "action": action,
         "subject": subject, "details": dict(details), "prev_hash": prev_hash},
        sort_keys=True, separators=(",", ":"), ensure_ascii=True,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _record(row: AuditEntry) -> AuditRecord:
    return AuditRecord(row.seq, row.at, row.actor_id, row.actor_role, row.action, row.subject,
                       dict(row.details or {}), row.prev_hash, row.hash)


async def append(session: AsyncSession, actor: Actor, action: str, subject: str,
                 details: Mapping[str, Any] | None = None, *, now: datetime | None = None) -> AuditRecord:
    """Add an entry inside the caller's write transaction, so it commits (or not) with what it records."""
    if not ACTION_PATTERN.fullmatch(action):
        raise AuditError(f"audit action {action!r} must match {ACTION_PATTERN.pattern}")
    if actor.role not in ROLES:
        raise AuditError(f"unknown actor role {actor.role!r}")
    if not subject or len(subject) > 80:
        raise AuditError("audit subject must be 1-80 characters")
    clean = _check_details(details)
    at = (now or utcnow()).astimezone(timezone.utc)
    await lock_ordered_writes(session)
    last = (await session.execute(
        select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1))).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    digest = entry_hash(seq, at, actor.id, actor.role, action, subject, clean, prev)
    row = AuditEntry(seq=seq, at=at, actor_id=actor.id, actor_role=actor.role, action=action,
                     subject=subject, details=clean, prev_hash=prev, hash=digest)
    session.add(row)
    await session.flush()
    return _record(row)


class AuditLog:
    """Writes single entries in their own transaction, reads pages, and checks the chain."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def do_record(self, actor: Actor, action: str, subject: str,
                        details: Mapping[str, Any] | None = None) -> AuditRecord:
        for attempt in range(_RETRIES):
            try:
                async with self.db.write() as session:
                    return await append(session, actor, action, subject, details)
            except (IntegrityError, OperationalError):
                # Another process took the same seq first (SQLite without a shared lock): read again.
                if attempt == _RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    async def get_entries(self, after: int = 0, limit: int = 100) -> list[AuditRecord]:
        async with self.db.read() as session:
            rows = (await session.scalars(
                select(AuditEntry).where(AuditEntry.seq > after).order_by(AuditEntry.seq).limit(limit))).all()
        return [_record(row) for row in rows]

    async def get_for_subject(self, subject: str) -> list[AuditRecord]:
        async with self.db.read() as session:
            rows = (await session.scalars(
                select(AuditEntry).where(AuditEntry.subject == subject).order_by(AuditEntry.seq))).all()
        return [_record(row) for row in rows]

    async def _all(self, batch: int = 2000) -> AsyncIterator[AuditRecord]:
        after = 0
        while True:
            page = await self.get_entries(after, batch)
            for record in page:
                yield record
            if len(page) < batch:
                return
            after = page[-1].seq

    async def verify_chain(self) -> ChainReport:
        """Walk every entry in seq order; report the first one that is missing, out of place or altered."""
        expected_seq, prev, count = 1, GENESIS, 0
        async for entry in self._all():
            if entry.seq != expected_seq:
                return ChainReport(False, count, prev, expected_seq,
                                   f"entry {expected_seq} is missing (deleted); the next entry is {entry.seq}")
            if entry.prev_hash != prev:
                return ChainReport(False, count, prev, entry.seq,
                                   f"entry {entry.seq} does not follow entry {entry.seq - 1} "
                                   "(an entry was deleted, reordered or replaced)")
            digest = entry_hash(entry.seq, entry.at, entry.actor_id, entry.actor_role, entry.action,
                                entry.subject, entry.details, entry.prev_hash)
            if digest != entry.hash:
                return ChainReport(False, count, prev, entry.seq,
                                   f"entry {entry.seq} was changed after it was written (its hash does not "
                                   "match its contents)")
            prev, count, expected_seq = entry.hash, count + 1, expected_seq + 1
        return ChainReport(True, count, prev)
