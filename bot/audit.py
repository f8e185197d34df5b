"""The audit log: who previewed, revealed, assessed, decided, withdrew or purged what, in a keyed chain.

Each entry stores the hash of the entry before it, and its own hash covers every field including
that link, so changing, deleting or reordering any entry breaks the chain at that point and
`verify_chain` names it. The hash is an HMAC-SHA256 under the audit key, a file outside the database
(`HAVEN_AUDIT_KEY_FILE`): someone who can write the database but not read that file cannot re-chain
an edit. Cutting entries off the end, or swapping the whole table for an older copy, leaves a valid
chain, so `run.py audit checkpoint` writes signed checkpoints (count and head) to a file the database
user cannot write, and `verify_chain` compares the chain with every checkpoint it is given.
Entries written before the key existed keep their plain SHA-256 (nothing in the table is ever
rewritten); they are accepted only as the chain's first part, and the first keyed entry (which covers
their head) anchors them.
Appends are serialized (a PostgreSQL advisory lock held to commit; on SQLite the single writer plus
the primary key on `seq`), so the chain never forks.

Known actions: preview, reveal, assess, decide, withdraw, purge, hash_publish, hash_withdraw,
partner_create, partner_revoke, hashes_export. New ones need no registration; they must match
ACTION_PATTERN.
"""

from __future__ import annotations

import hashlib
import hmac
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
# Where a Database carries the audit key (`db.info`, copied into each of its sessions' `info`).
AUDIT_KEY = "haven_audit_key"


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
    """The outcome of checking the whole chain: ok, or the first entry that breaks it and why.

    `unkeyed` counts the entries from before the audit key (the chain's first part); `checkpoints`
    how many signed checkpoints the chain was compared with.
    """

    ok: bool
    count: int
    head_hash: str
    broken_at: int | None = None
    reason: str = ""
    unkeyed: int = 0
    checkpoints: int = 0


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The chain's length and head at one moment, signed with the audit key."""

    count: int
    head: str
    unkeyed: int
    at: str
    mac: str

    def as_dict(self) -> dict[str, Any]:
        return {"count": self.count, "head": self.head, "unkeyed": self.unkeyed, "at": self.at, "mac": self.mac}


def attach_key(db: Database, key: bytes) -> None:
    """From now on this Database's entries are keyed (the app and the command line do this at start)."""
    db.info[AUDIT_KEY] = key


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
    """SHA-256 over a canonical JSON encoding (sorted keys, no spaces, UTC time to the microsecond).

    Entries from before the audit key; new ones use `entry_mac`.
    """
    return hashlib.sha256(_canonical(seq, at, actor_id, actor_role, action, subject, details, prev_hash)).hexdigest()


def _canonical(seq: int, at: datetime, actor_id: int | None, actor_role: str, action: str, subject: str,
               details: Mapping[str, Any], prev_hash: str) -> bytes:
    return json.dumps(
        {"seq": seq, "at": _iso(at), "actor_id": actor_id, "actor_role": actor_role, "action": action,
         "subject": subject, "details": dict(details), "prev_hash": prev_hash},
        sort_keys=True, separators=(",", ":"), ensure_ascii=True,
    ).encode()


def entry_mac(key: bytes, seq: int, at: datetime, actor_id: int | None, actor_role: str, action: str,
              subject: str, details: Mapping[str, Any], prev_hash: str) -> str:
    """HMAC-SHA256 under the audit key over the same canonical encoding as `entry_hash`."""
    return hmac.new(key, b"entry:" + _canonical(seq, at, actor_id, actor_role, action, subject, details, prev_hash),
                    hashlib.sha256).hexdigest()


def _checkpoint_message(count: int, head: str, unkeyed: int, at: str) -> bytes:
    return f"checkpoint:{count}:{head}:{unkeyed}:{at}".encode()


def sign_checkpoint(key: bytes, report: ChainReport, at: datetime | None = None) -> Checkpoint:
    when = _iso(at or utcnow())
    mac = hmac.new(key, _checkpoint_message(report.count, report.head_hash, report.unkeyed, when),
                   hashlib.sha256).hexdigest()
    return Checkpoint(report.count, report.head_hash, report.unkeyed, when, mac)


def read_checkpoint(key: bytes, raw: Mapping[str, Any]) -> Checkpoint:
    """A checkpoint from its JSON form; ValueError if it is malformed or its signature does not match."""
    try:
        point = Checkpoint(int(raw["count"]), str(raw["head"]), int(raw["unkeyed"]), str(raw["at"]),
                           str(raw["mac"]))
    except (KeyError, TypeError, ValueError):
        raise ValueError("a checkpoint is malformed") from None
    expected = hmac.new(key, _checkpoint_message(point.count, point.head, point.unkeyed, point.at),
                        hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, point.mac):
        raise ValueError(f"the checkpoint of {point.at} is not signed with this audit key")
    return point


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
    key: bytes | None = session.info.get(AUDIT_KEY)
    digest = (entry_mac(key, seq, at, actor.id, actor.role, action, subject, clean, prev) if key is not None
              else entry_hash(seq, at, actor.id, actor.role, action, subject, clean, prev))
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

    async def verify_chain(self, checkpoints: list[Checkpoint] | None = None, *, vouch: bool = False) -> ChainReport:
        """Walk every entry in seq order; report the first one that is missing, out of place or altered.

        Entries are checked with the audit key this Database carries. Each checkpoint must still be
        part of the chain: the entry at its count has its head, with as many unkeyed entries before it.
        Unkeyed entries need something to vouch for them: a keyed entry after them (its MAC covers
        their head), or a checkpoint. Otherwise a log rewritten from the first entry without the key
        would pass. `vouch` is the operator doing so for a log from before the key (`audit checkpoint`).
        """
        key: bytes | None = self.db.info.get(AUDIT_KEY)
        marks = {point.count: point for point in checkpoints or []}
        expected_seq, prev, count, unkeyed = 1, GENESIS, 0, 0

        def broken(at: int, reason: str) -> ChainReport:
            return ChainReport(False, count, prev, at, reason, unkeyed)

        def check_mark() -> ChainReport | None:
            point = marks.get(count)
            if point is not None and (point.head != prev or point.unkeyed != unkeyed):
                return broken(count or 1, f"the log no longer matches the checkpoint of {point.at}: entries up to "
                                          f"{point.count} were replaced")
            return None

        if (failed := check_mark()) is not None:
            return failed
        async for entry in self._all():
            if entry.seq != expected_seq:
                return broken(expected_seq, f"entry {expected_seq} is missing (deleted); the next entry is {entry.seq}")
            if entry.prev_hash != prev:
                return broken(entry.seq, f"entry {entry.seq} does not follow entry {entry.seq - 1} "
                                         "(an entry was deleted, reordered or replaced)")
            fields = (entry.seq, entry.at, entry.actor_id, entry.actor_role, entry.action, entry.subject,
                      entry.details, entry.prev_hash)
            keyed = key is not None and hmac.compare_digest(entry_mac(key, *fields), entry.hash)
            if not keyed:
                if not hmac.compare_digest(entry_hash(*fields), entry.hash):
                    return broken(entry.seq, f"entry {entry.seq} was changed after it was written (its hash does "
                                             "not match its contents" + ("" if key else ", or it is signed with an "
                                                                         "audit key this check does not have") + ")")
                if count > unkeyed:
                    return broken(entry.seq, f"entry {entry.seq} is not signed with the audit key, though entries "
                                             "before it are (it was forged, or written without the key)")
                unkeyed += 1
            prev, count, expected_seq = entry.hash, count + 1, expected_seq + 1
            if (failed := check_mark()) is not None:
                return failed
        if key is not None and count and unkeyed == count and not vouch and not any(marks):
            return broken(1, f"none of the {count} entries is signed with the audit key, and no checkpoint vouches "
                             "for them (if they are from before the key, check them and run `run.py audit "
                             "checkpoint`)")
        longest = max(marks, default=0)
        if longest > count:
            return broken(count + 1, f"the log has {count} entries but the checkpoint of {marks[longest].at} "
                                     f"recorded {longest}: entries were cut off the end")
        return ChainReport(True, count, prev, unkeyed=unkeyed, checkpoints=len(marks))
