"""Accounts: registration, argon2id passwords, sign-in with back-off, and browser sessions."""

from __future__ import annotations

import asyncio
import hashlib
import math
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Awaitable, Callable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.audit import Actor, append
from bot.db import Database
from bot.errors import Conflict, Forbidden, Invalid, NotFound, TooMany, Unauthorized
from bot.models.accounts import ROLES, STAFF_ROLES, LoginThrottle, User, WebSession
from bot.models.base import utcnow
from bot.models.counselling import Assignment
from bot.ratelimits import RateLimits
from bot.totp import Enrolment, SecretBox, SecretBoxError, check_code, matching_step, new_enrolment, uri_for

USERNAME_MIN, USERNAME_MAX = 3, 24
PASSWORD_MIN, PASSWORD_MAX = 8, 200
_USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
MAX_BACKOFF_SECONDS = 15 * 60
# An address (a school, a phone network) gets this many times an account's allowance of failures.
ADDRESS_ALLOWANCE = 4
# How long someone who passed the password has to type their two-factor code (or finish enrolling).
PENDING_TTL = timedelta(minutes=5)
# A session's end is moved on only when it would change by more than this (or 1% of the window), so an
# active browser costs one write a minute at most, not one per request.
RENEW_SLACK = timedelta(seconds=60)
REGISTRATION_WINDOW = timedelta(hours=1)

# Who the operator commands act as in the audit log (the command line has no signed-in person).
OPERATOR = Actor(None, "admin")

BAD_CREDENTIALS = "That username and password don't match. Check them and try again."


@dataclass(frozen=True)
class Identity:
    """Who a signed-in browser belongs to. Holds ids and names, never secrets."""

    user_id: int
    username: str
    role: str
    csrf_token: str
    # True when this look-up moved the session's end on (the browser's cookie should be renewed too).
    renewed: bool = False


@dataclass(frozen=True)
class NewSession:
    token: str
    csrf_token: str
    expires_at: datetime


class Passwords:
    """argon2id hashing, run in a worker thread so the event loop never waits on it."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()
        self._dummy: str | None = None

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored: str | None, password: str) -> bool:
        if stored is None:
            # Spend the same effort for unknown usernames, so timing does not reveal which part was wrong.
            if self._dummy is None:
                self._dummy = await self.hash(secrets.token_hex(16))
            stored = self._dummy
            await asyncio.to_thread(self._check, stored, password)
            return False
        return await asyncio.to_thread(self._check, stored, password)

    def _check(self, stored: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


def check_username(username: str) -> str:
    name = username.strip()
    if len(name) < USERNAME_MIN:
        raise Invalid("username_too_short", f"Your username needs at least {USERNAME_MIN} characters.")
    if len(name) > USERNAME_MAX:
        raise Invalid("username_too_long", f"Your username can be at most {USERNAME_MAX} characters long.")
    if not _USERNAME_RE.match(name):
        raise Invalid(
            "username_invalid",
            "Use only letters, numbers, dots, dashes and underscores in your username. "
            "Don't use your real name.",
        )
    return name


def check_password(password: str) -> str:
    if len(password) < PASSWORD_MIN:
        raise Invalid("password_too_short", f"Your password needs at least {PASSWORD_MIN} characters.")
    if len(password) > PASSWORD_MAX:
        raise Invalid("password_too_long", f"Your password can be at most {PASSWORD_MAX} characters long.")
    return password


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def session_key(token: str) -> str:
    """What identifies a session without being it: the stored hash of its token."""
    return _token_hash(token)


class Accounts:
    """Everything about who someone is. Collaborators and limits come in through the constructor."""

    def __init__(
        self,
        db: Database,
        passwords: Passwords,
        *,
        session_hours: int = 12,
        max_failures: int = 5,
        backoff_seconds: float = 2.0,
        totp_required_roles: tuple[str, ...] = (),
        registrations_per_hour: int | None = None,
        staff_idle_minutes: int | None = None,
    ) -> None:
        self.db = db
        self.passwords = passwords
        self.session_ttl = timedelta(hours=session_hours)
        self.staff_idle = timedelta(minutes=staff_idle_minutes) if staff_idle_minutes else None
        self.max_failures = max_failures
        self.backoff_seconds = backoff_seconds
        self.totp_required_roles = totp_required_roles
        self.registrations_per_hour = registrations_per_hour
        self.rate_limits = RateLimits(db)
        self.secret_box: SecretBox | None = None

    def attach_secret_box(self, box: SecretBox) -> None:
        """The master key is read at start-up, after the accounts object is built."""
        self.secret_box = box

    async def do_register_child(self, username: str, password: str, address: str) -> User:
        """A new child account, at most `registrations_per_hour` per address (counted in the database)."""
        check_username(username)
        check_password(password)
        if self.registrations_per_hour is None:
            return await self.do_create_user(username, password, "child")
        key = f"register:{address}"
        await self.rate_limits.do_hit(
            key, self.registrations_per_hour, REGISTRATION_WINDOW, code="too_many_registrations",
            message="Too many new accounts were made from here. Please try again in {minutes} minutes, "
                    "or sign in if you already have an account.")
        try:
            return await self.do_create_user(username, password, "child")
        except Conflict:
            # A taken name made no account: it should not use up the address's allowance.
            await self.rate_limits.do_refund(key)
            raise

    async def do_create_user(self, username: str, password: str, role: str) -> User:
        if role not in ROLES:
            raise Invalid("role_invalid", "role must be one of " + ", ".join(ROLES))
        name = check_username(username)
        check_password(password)
        hashed = await self.passwords.hash(password)
        try:
            async with self.db.write() as session:
                user = User(username=name, username_key=name.lower(), password_hash=hashed, role=role)
                session.add(user)
                await session.flush()
        except IntegrityError:
            raise Conflict("username_taken", "That username is already taken. Please choose another one.")
        return user

    async def get_user(self, user_id: int) -> User | None:
        async with self.db.read() as session:
            return await session.get(User, user_id)

    async def count_users(self) -> int:
        async with self.db.read() as session:
            return len((await session.execute(select(User.id).limit(1))).all())

    # Sign-in ---------------------------------------------------------------------------------

    def _limit(self, key: str) -> int:
        # Many children can share one address (a school, a phone network): allow it more tries.
        return self.max_failures * (ADDRESS_ALLOWANCE if key.startswith("addr:") else 1)

    def _block_seconds(self, over: int) -> int:
        """The wait after `over` failures past the limit, capped in whole seconds before any timedelta.

        Capping afterwards overflowed: `timedelta * 2**51` raises, the failure rolled back, and the
        back-off switched itself off for that key.
        """
        doubled = self.backoff_seconds * 2 ** min(over, 32)
        return min(int(math.ceil(doubled)), MAX_BACKOFF_SECONDS)

    async def _reserve_attempt(self, keys: list[str], now: datetime) -> dict[str, datetime | None]:
        """Refuse if any key is blocked; otherwise count this attempt as a failure on every key, at once.

        Check and count are one write transaction that starts with a write (the insert), so every
        process queues on the same lock: SQLite's one writer, PostgreSQL's row locks. A burst of
        parallel guesses therefore gets at most the allowance evaluated, and the failure stands
        whatever happens afterwards; only a correct answer gives it back (`_forgive`). Returns the
        block each key got from this attempt (None: none), so `_forgive` can lift exactly that.
        """
        ordered = sorted(set(keys))
        insert = sqlite_insert if self.db.sqlite else pg_insert
        async with self.db.write() as session:
            await session.execute(
                insert(LoginThrottle)
                .values([{"key": key, "failures": 0, "updated_at": now} for key in ordered])
                .on_conflict_do_nothing(index_elements=["key"]))
            query = (select(LoginThrottle).where(LoginThrottle.key.in_(ordered)).order_by(LoginThrottle.key)
                     .execution_options(populate_existing=True))
            if not self.db.sqlite:
                query = query.with_for_update()
            rows = list((await session.scalars(query)).all())
            wait = max((int((row.blocked_until - now).total_seconds()) + 1
                        for row in rows if row.blocked_until is not None and row.blocked_until > now), default=0)
            if wait:
                raise TooMany("too_many_attempts", f"Too many tries. Please wait {wait} seconds and try again.",
                              retry_after=wait)
            blocks: dict[str, datetime | None] = {}
            for row in rows:
                row.failures += 1
                row.updated_at = now
                over = row.failures - self._limit(row.key)
                blocks[row.key] = None
                if over >= 0:
                    row.blocked_until = blocks[row.key] = now + timedelta(seconds=self._block_seconds(over))
        return blocks

    async def _forgive(self, blocks: dict[str, datetime | None], reset: str) -> None:
        """A correct answer: the `reset` key starts again; the others get this attempt back."""
        async with self.db.write() as session:
            await session.execute(delete(LoginThrottle).where(LoginThrottle.key == reset))
            for key in sorted(k for k in blocks if k != reset):
                row = await session.get(LoginThrottle, key, with_for_update=not self.db.sqlite,
                                        populate_existing=True)
                if row is None:
                    continue
                row.failures = max(0, row.failures - 1)
                # Lift the block only if it is the one this attempt set (a later failure's block stands).
                if blocks[key] is not None and row.blocked_until == blocks[key]:
                    row.blocked_until = None

    async def authenticate(self, username: str, password: str, address: str, roles: tuple[str, ...]) -> User:
        """Return the user, or raise the same Unauthorized for a wrong name, password or role."""
        key = username.strip().lower()[:USERNAME_MAX + 8]
        keys = [f"acct:{key}", f"addr:{address}"]
        blocks = await self._reserve_attempt(keys, utcnow())
        async with self.db.read() as session:
            user = (await session.execute(select(User).where(User.username_key == key))).scalar_one_or_none()
        ok = await self.passwords.verify(user.password_hash if user else None, password[:PASSWORD_MAX])
        if not ok or user is None or user.disabled or user.role not in roles:
            raise Unauthorized("bad_credentials", BAD_CREDENTIALS)
        await self._forgive(blocks, reset=keys[0])
        return user

    # Sessions --------------------------------------------------------------------------------

    def session_window(self, role: str) -> timedelta:
        """How long a session lasts without activity: `session_hours`, or the staff idle timeout."""
        if role in STAFF_ROLES and self.staff_idle is not None:
            return min(self.session_ttl, self.staff_idle)
        return self.session_ttl

    async def do_start_session(self, user: User, old_token: str | None = None, stage: str = "full") -> NewSession:
        """Issue a fresh session token (rotation: any session the browser had is ended).

        `stage` "totp" or "enrol" issues a short-lived half-session that only the two-factor step accepts.
        """
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(24)
        expires = utcnow() + (self.session_window(user.role) if stage == "full" else PENDING_TTL)
        async with self.db.write() as session:
            if old_token:
                await session.execute(delete(WebSession).where(WebSession.token_hash == _token_hash(old_token)))
            session.add(WebSession(token_hash=_token_hash(token), user_id=user.id, csrf_token=csrf,
                                   expires_at=expires, stage=stage))
        return NewSession(token=token, csrf_token=csrf, expires_at=expires)

    async def _get_full_session(self, key: str) -> tuple[WebSession, User] | None:
        async with self.db.read() as session:
            row = (
                await session.execute(
                    select(WebSession, User).join(User, User.id == WebSession.user_id).where(WebSession.token_hash == key)
                )
            ).one_or_none()
        if row is None:
            return None
        web_session, user = row
        if web_session.expires_at <= utcnow() or user.disabled or web_session.stage != "full":
            return None
        if user.role in self.totp_required_roles and user.totp_confirmed_at is None:
            # Two-factor became required after this session started: it ends until they enrol.
            return None
        return web_session, user

    async def _renew(self, key: str, role: str, expires_at: datetime) -> bool:
        """Slide the session's end to a full window from now; written at most about once a minute.

        It also shortens a session that was started under a longer window (a staff idle timeout
        switched on or lowered since), so the timeout holds for sessions already open.
        """
        now = utcnow()
        window = self.session_window(role)
        slack = max(RENEW_SLACK, window / 100)
        if abs(now + window - expires_at) <= slack:
            return False
        async with self.db.write() as session:
            result = await session.execute(
                update(WebSession).where(WebSession.token_hash == key, WebSession.stage == "full",
                                         WebSession.expires_at > now).values(expires_at=now + window))
        return bool(result.rowcount)

    async def get_identity(self, token: str | None, *, touch: bool = False) -> Identity | None:
        """Who holds this session token. `touch`: this is activity, so the session lasts a window from now."""
        if not token or len(token) > 100:
            return None
        key = _token_hash(token)
        found = await self._get_full_session(key)
        if found is None:
            return None
        web_session, user = found
        renewed = await self._renew(key, user.role, web_session.expires_at) if touch else False
        return Identity(user_id=user.id, username=user.username, role=user.role, csrf_token=web_session.csrf_token,
                        renewed=renewed)

    async def do_touch_session(self, key: str | None) -> bool:
        """Activity outside an HTTP request (a message on a socket), by the session's key (`session_key`)."""
        if not key:
            return False
        found = await self._get_full_session(key)
        if found is None:
            return False
        web_session, user = found
        return await self._renew(key, user.role, web_session.expires_at)

    async def do_end_session(self, token: str | None) -> None:
        if not token:
            return
        async with self.db.write() as session:
            await session.execute(delete(WebSession).where(WebSession.token_hash == _token_hash(token)))

    async def do_end_all_sessions(self, user_id: int) -> None:
        async with self.db.write() as session:
            await session.execute(delete(WebSession).where(WebSession.user_id == user_id))

    async def do_purge_expired(self) -> int:
        async with self.db.write() as session:
            result = await session.execute(delete(WebSession).where(WebSession.expires_at <= utcnow()))
        return result.rowcount or 0

    # Two-factor sign-in ------------------------------------------------------------------------

    def sign_in_stage(self, user: User) -> str:
        """What a correct password leads to: "full", "totp" (type a code) or "enrol" (set one up first)."""
        if user.role not in STAFF_ROLES:
            return "full"
        if user.totp_confirmed_at is not None:
            return "totp"
        return "enrol" if user.role in self.totp_required_roles else "full"

    async def get_pending(self, token: str | None, stage: str) -> User | None:
        """The user behind a half-session of this stage, if it is still valid."""
        if not token or len(token) > 100:
            return None
        async with self.db.read() as session:
            row = (await session.execute(
                select(WebSession, User).join(User, User.id == WebSession.user_id)
                .where(WebSession.token_hash == _token_hash(token)))).one_or_none()
        if row is None:
            return None
        web_session, user = row
        if web_session.stage != stage or web_session.expires_at <= utcnow() or user.disabled:
            return None
        return user

    def _box(self) -> SecretBox:
        if self.secret_box is None:
            raise RuntimeError("two-factor secrets need the master key (attach_secret_box at start-up)")
        return self.secret_box

    async def do_begin_enrolment(self, user_id: int, sign_in: str) -> Enrolment:
        """A new secret for someone without a confirmed one, tied to this sign-in (`session_key`).

        Made once per sign-in, not per page view: reloading the page shows the same secret, and
        another sign-in to the same account (someone else holding the password) gets its own, which
        replaces this one rather than being shown here.
        """
        async with self.db.write() as session:
            user = await session.get(User, user_id, with_for_update=not self.db.sqlite)
            if user is None:
                raise NotFound("no_user", "That account no longer exists.")
            if user.totp_confirmed_at is not None:
                raise Conflict("totp_enabled", "Two-factor sign-in is already set up for this account.")
            enrolment = new_enrolment(user.username)
            user.totp_secret = self._box().seal(user.id, enrolment.secret, bound_to=sign_in)
            user.totp_last_step = None
        return enrolment

    async def get_enrolment(self, user_id: int, sign_in: str) -> Enrolment | None:
        """The unconfirmed secret this sign-in began, if it is still the account's pending one."""
        user = await self.get_user(user_id)
        if user is None or user.totp_secret is None or user.totp_confirmed_at is not None:
            return None
        try:
            secret = self._box().open(user.id, user.totp_secret, bound_to=sign_in)
        except SecretBoxError:
            return None
        return Enrolment(secret=secret, uri=uri_for(secret, user.username))

    async def do_enable_totp(self, username: str) -> Enrolment:
        """Operator command: give a staff account a new, confirmed secret (replacing any old one)."""
        async with self.db.write() as session:
            user = (await session.execute(
                select(User).where(User.username_key == username.strip().lower()))).scalar_one_or_none()
            if user is None or user.role not in STAFF_ROLES:
                raise NotFound("no_staff_user", f"There is no staff account called {username.strip()[:40]!r}.")
            enrolment = new_enrolment(user.username)
            user.totp_secret = self._box().seal(user.id, enrolment.secret)
            user.totp_confirmed_at = utcnow()
            user.totp_last_step = None
            await session.execute(delete(WebSession).where(WebSession.user_id == user.id))
        return enrolment

    # Operator commands on staff accounts ------------------------------------------------------

    async def _change_staff(self, username: str, action: str, change: Callable[[AsyncSession, User], Awaitable[None]],
                            actor: Actor) -> User:
        """Apply `change` to one staff account, end all its sessions, and audit it, in one transaction."""
        query = select(User).where(User.username_key == username.strip().lower())
        if not self.db.sqlite:
            query = query.with_for_update()
        async with self.db.write() as session:
            user = (await session.execute(query)).scalar_one_or_none()
            if user is None or user.role not in STAFF_ROLES:
                raise NotFound("no_staff_user", f"There is no staff account called {username.strip()[:40]!r}.")
            role = user.role
            await change(session, user)
            await session.execute(delete(WebSession).where(WebSession.user_id == user.id))
            await append(session, actor, action, f"user:{user.id}", {"role": role})
        return user

    async def do_disable_staff(self, username: str, *, disabled: bool = True, actor: Actor = OPERATOR) -> User:
        """Stop (or allow again) a staff account signing in; every session it has ends now."""
        async def change(_: AsyncSession, user: User) -> None:
            user.disabled = disabled

        return await self._change_staff(username, "staff_disable" if disabled else "staff_enable", change, actor)

    async def do_reset_password(self, username: str, password: str, *, actor: Actor = OPERATOR) -> User:
        """A new password for a staff account (its sessions end; its failed sign-ins are forgotten)."""
        check_password(password)
        hashed = await self.passwords.hash(password)

        async def change(session: AsyncSession, user: User) -> None:
            user.password_hash = hashed
            await session.execute(delete(LoginThrottle).where(LoginThrottle.key == f"acct:{user.username_key}"))

        return await self._change_staff(username, "staff_password_reset", change, actor)

    async def do_reset_totp(self, username: str, *, actor: Actor = OPERATOR) -> User:
        """Forget a staff account's two-factor secret (a lost phone): it enrols again at its next sign-in."""
        async def change(session: AsyncSession, user: User) -> None:
            user.totp_secret = user.totp_confirmed_at = user.totp_last_step = None
            await session.execute(delete(LoginThrottle).where(LoginThrottle.key == f"totp:{user.id}"))

        return await self._change_staff(username, "staff_totp_reset", change, actor)

    async def do_delete_staff(self, username: str, *, actor: Actor = OPERATOR) -> User:
        """Remove a staff member's sign-in and name for good; what they did stays, under the account's id.

        The row itself stays because wrap-ups, assessments and decisions name it, and those are
        safeguarding records that must outlive the person's account. Someone holding a live chat
        must hand it over first, so no child is left talking to nobody.
        """
        async def change(session: AsyncSession, user: User) -> None:
            holding = await session.scalar(select(Assignment.id).where(
                Assignment.counsellor_id == user.id, Assignment.active_conversation_id.is_not(None)).limit(1))
            if holding is not None:
                raise Conflict("holds_chats", "This person is still in a live chat. Reassign or wrap up their "
                                              "chats first, then delete the account.")
            user.username = user.username_key = f"deleted-{user.id}"
            user.password_hash = "!"  # no argon2 hash: nothing verifies against it
            user.totp_secret = user.totp_confirmed_at = user.totp_last_step = None
            user.disabled = True

        return await self._change_staff(username, "staff_delete", change, actor)

    async def do_verify_totp(self, user_id: int, code: object, address: str, *, confirm: bool = False,
                             sign_in: str = "") -> User:
        """Accept a code once: the step it belongs to must be later than the last one accepted.

        Wrong codes count towards the same back-off as wrong passwords (six digits are guessable).
        `confirm` finishes an enrolment (the secret is unconfirmed until then) begun by the sign-in
        `sign_in`.
        """
        digits = check_code(code)
        keys = [f"totp:{user_id}", f"addr:{address}"]
        now = utcnow()
        blocks = await self._reserve_attempt(keys, now)
        async with self.db.write() as session:
            user = await session.get(User, user_id, with_for_update=not self.db.sqlite)
            if user is None or user.disabled or user.totp_secret is None:
                raise Unauthorized("bad_totp_code", "That code didn't work. Please sign in again.")
            if (user.totp_confirmed_at is None) != confirm:
                raise Forbidden("totp_state", "Please sign in again.")
            try:
                secret = self._box().open(user.id, user.totp_secret, bound_to=sign_in if confirm else "")
            except SecretBoxError:
                if not confirm:
                    raise
                # Another sign-in began a newer enrolment: the secret this page showed is gone.
                raise Unauthorized("sign_in_again", "That took too long. Please sign in again.") from None
            step = matching_step(secret, digits, now, user.totp_last_step)
            if step is not None:
                user.totp_last_step = step
                if confirm:
                    user.totp_confirmed_at = now
                    user.totp_secret = self._box().seal(user.id, secret)
        if step is None:
            raise Unauthorized("bad_totp_code",
                               "That code didn't work. Codes change every 30 seconds and each works once: "
                               "wait for the next one and try again.")
        await self._forgive(blocks, reset=keys[0])
        return user
