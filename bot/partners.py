"""Partner platforms: API keys (shown once, stored hashed, revocable), a shared rate limit, feedback.

A key looks like `hvn_<8 hex>_<43 url-safe characters>`. The first part finds the partner's row; the
whole key is compared by SHA-256 (a key has 256 random bits, so a slow password hash adds nothing).
A key is looked up in a read; only a valid key's request is counted (a write). Guessing is hopeless,
but each guess cost a write transaction (on SQLite, a turn on the one writer that chat waits for), so
refused keys are also counted per address in this process, and an address that keeps sending them
is answered 429 without touching the database.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import case, select, update
from sqlalchemy.exc import IntegrityError

from bot.audit import SYSTEM, Actor, append
from bot.db import Database
from bot.errors import Conflict, Invalid, NotFound, TooMany, Unauthorized
from bot.models.base import utcnow
from bot.models.hashlist import HashListEntry
from bot.models.partners import VERDICTS, Partner, PartnerFeedback

KEY_PATTERN = re.compile(r"hvn_([0-9a-f]{8})_[A-Za-z0-9_-]{43}")
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}")
NOTE_MAX = 1000


@dataclass(frozen=True, slots=True)
class PartnerInfo:
    id: int
    name: str
    key_prefix: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


@dataclass(frozen=True, slots=True)
class NewPartnerKey:
    """A new partner and its key. The key exists only here: print it once and forget it."""

    partner: PartnerInfo
    key: str


@dataclass(frozen=True, slots=True)
class FeedbackRecord:
    id: int
    hash_id: str
    partner: str
    verdict: str
    note: str | None
    at: datetime


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _info(row: Partner) -> PartnerInfo:
    return PartnerInfo(row.id, row.name, row.key_prefix, row.created_at, row.revoked_at, row.last_used_at)


def check_partner_name(name: str) -> str:
    name = name.strip()
    if not NAME_PATTERN.fullmatch(name):
        raise Invalid("bad_partner_name",
                      "A partner name is 1-64 letters, digits, spaces, dots, dashes or underscores.")
    return name


def check_verdict(verdict: object) -> str:
    if verdict not in VERDICTS:
        raise Invalid("bad_verdict", "'verdict' must be one of: removed, not_found, disputed.")
    return str(verdict)


def check_note(note: object) -> str | None:
    if note is None:
        return None
    if not isinstance(note, str):
        raise Invalid("bad_note", "'note' must be text.")
    if len(note) > NOTE_MAX:
        raise Invalid("note_too_long", f"'note' must be at most {NOTE_MAX} characters.")
    return note.strip() or None


def bearer_key(authorization: str | None) -> str:
    """The key from an `Authorization: Bearer <key>` header, or a 401 saying what is wrong."""
    if not authorization:
        raise Unauthorized("api_key_missing", "Send your API key as 'Authorization: Bearer <key>'.")
    scheme, _, key = authorization.strip().partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        raise Unauthorized("api_key_missing", "Send your API key as 'Authorization: Bearer <key>'.")
    return key


class RefusedKeys:
    """Refused API requests per address over the last minute, in this process (bounded in size)."""

    def __init__(self, per_minute: int, max_addresses: int = 10_000) -> None:
        self.per_minute = per_minute
        self.max_addresses = max_addresses
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()

    def check_wait(self, address: str, now: float) -> int:
        """Seconds this address must wait before trying again (0: it may try)."""
        times = self._seen.get(address)
        if times is None:
            return 0
        while times and now - times[0] >= 60.0:
            times.popleft()
        if len(times) < self.per_minute:
            return 0
        return int(60.0 - (now - times[0])) + 1

    def note(self, address: str, now: float) -> None:
        times = self._seen.pop(address, None) or deque(maxlen=self.per_minute)
        times.append(now)
        self._seen[address] = times
        while len(self._seen) > self.max_addresses:
            self._seen.popitem(last=False)


class Partners:
    """Partner accounts for the `/api/v1` hash-list API."""

    def __init__(self, db: Database, requests_per_minute: int = 120, refused_keys_per_minute: int = 20) -> None:
        self.db = db
        self.requests_per_minute = requests_per_minute
        self.refused = RefusedKeys(refused_keys_per_minute)

    async def do_create(self, name: str, actor: Actor = SYSTEM) -> NewPartnerKey:
        name = check_partner_name(name)
        prefix = secrets.token_hex(4)
        key = f"hvn_{prefix}_{secrets.token_urlsafe(32)}"
        try:
            async with self.db.write() as session:
                exists = await session.scalar(select(Partner.id).where(Partner.name == name))
                if exists is not None:
                    raise Conflict("partner_exists", f"There is already a partner called {name!r}.")
                row = Partner(name=name, key_prefix=prefix, key_hash=_key_hash(key))
                session.add(row)
                await session.flush()
                await append(session, actor, "partner_create", f"partner:{row.id}", {"name": name})
        except IntegrityError:
            raise Conflict("partner_exists", f"There is already a partner called {name!r}.")
        return NewPartnerKey(_info(row), key)

    async def do_revoke(self, name: str, actor: Actor = SYSTEM) -> PartnerInfo:
        """Refuse the partner's key from now on; its feedback stays."""
        async with self.db.write() as session:
            row = await session.scalar(select(Partner).where(Partner.name == name.strip()).with_for_update())
            if row is None:
                raise NotFound("unknown_partner", f"There is no partner called {name!r}.")
            if row.revoked_at is None:
                row.revoked_at = utcnow()
                await append(session, actor, "partner_revoke", f"partner:{row.id}", {"name": row.name})
        return _info(row)

    async def get_partners(self) -> list[PartnerInfo]:
        async with self.db.read() as session:
            rows = (await session.scalars(select(Partner).order_by(Partner.name))).all()
        return [_info(row) for row in rows]

    async def access_partner(self, authorization: str | None, now: datetime | None = None, *,
                             address: str = "unknown") -> PartnerInfo:
        """The partner a request's key belongs to, counted against its per-minute limit.

        401 for a missing, unknown or revoked key; 429 (with seconds to wait) over the limit, or for
        an `address` that sent too many refused keys this minute. The count is one UPDATE on the
        partner's row, so every server process shares the same window.
        """
        clock = time.monotonic()
        wait = self.refused.check_wait(address, clock)
        if wait:
            raise TooMany("too_many_bad_keys", "Too many requests with a missing or wrong API key from here. "
                                               f"Wait {wait} seconds.", wait)
        try:
            row = await self._get_key_owner(authorization)
        except Unauthorized:
            self.refused.note(address, clock)
            raise
        now = (now or utcnow()).astimezone(timezone.utc)
        epoch = now.timestamp()
        window = int(epoch // 60)
        async with self.db.write() as session:
            count = await session.scalar(
                update(Partner).where(Partner.id == row.id, Partner.revoked_at.is_(None))
                .values(window_count=case((Partner.window_start == window, Partner.window_count + 1), else_=1),
                        window_start=window, last_used_at=now)
                .returning(Partner.window_count))
        if count is None:
            raise Unauthorized("api_key_revoked", "That API key has been revoked.")  # revoked just now
        info = _info(row)
        if count is not None and count > self.requests_per_minute:
            wait = max(1, math.ceil((window + 1) * 60 - epoch))
            raise TooMany("rate_limited",
                          f"Too many requests: this key may make {self.requests_per_minute} a minute.", wait)
        return info

    async def _get_key_owner(self, authorization: str | None) -> Partner:
        """The partner row a valid, unrevoked key belongs to, found in a read; Unauthorized otherwise."""
        key = bearer_key(authorization)
        match = KEY_PATTERN.fullmatch(key)
        if match is None:
            raise Unauthorized("api_key_invalid", "That API key is not valid.")
        async with self.db.read() as session:
            row = await session.scalar(select(Partner).where(Partner.key_prefix == match.group(1)))
        if row is None or not hmac.compare_digest(row.key_hash, _key_hash(key)):
            raise Unauthorized("api_key_invalid", "That API key is not valid.")
        if row.revoked_at is not None:
            raise Unauthorized("api_key_revoked", "That API key has been revoked.")
        return row

    async def do_feedback(self, partner: PartnerInfo, hash_id: str, verdict: str,
                          note: str | None = None) -> FeedbackRecord:
        verdict = check_verdict(verdict)
        note = check_note(note)
        async with self.db.write() as session:
            entry_id = await session.scalar(select(HashListEntry.id).where(HashListEntry.public_id == hash_id))
            if entry_id is None:
                raise NotFound("unknown_hash", "There is no hash-list entry with that id.")
            row = PartnerFeedback(hash_entry_id=entry_id, partner_id=partner.id, verdict=verdict, note=note)
            session.add(row)
            await session.flush()
        return FeedbackRecord(row.id, hash_id, partner.name, verdict, note, row.at)

    async def get_feedback(self, hash_id: str) -> list[FeedbackRecord]:
        """Every partner's feedback on one entry, oldest first (for analysts)."""
        async with self.db.read() as session:
            rows = (await session.execute(
                select(PartnerFeedback, Partner.name)
                .join(Partner, Partner.id == PartnerFeedback.partner_id)
                .join(HashListEntry, HashListEntry.id == PartnerFeedback.hash_entry_id)
                .where(HashListEntry.public_id == hash_id)
                .order_by(PartnerFeedback.at, PartnerFeedback.id))).all()
        return [FeedbackRecord(fb.id, hash_id, name, fb.verdict, fb.note, fb.at) for fb, name in rows]
