"""Accounts on SQLite and PostgreSQL: registration rules, argon2id, back-off, session rotation."""

from __future__ import annotations

import asyncio
import secrets
from datetime import datetime, timedelta

import pyotp
import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, update

from bot.accounts import BAD_CREDENTIALS, Accounts, Passwords, session_key
from bot.db import Database, make_engine
from bot.errors import Conflict, Invalid, TooMany, Unauthorized
from bot.audit import AuditLog
from bot.errors import NotFound
from bot.models.accounts import STAFF_ROLES, LoginThrottle, User, WebSession
from bot.models.base import utcnow
from bot.models.chat import Conversation
from bot.models.counselling import Assignment
from bot.totp import SecretBox


@pytest.fixture
def accounts(db):  # type: ignore[no-untyped-def]
    return Accounts(db, Passwords(), max_failures=3, backoff_seconds=30)


async def test_child_registers_with_username_and_password_only(accounts, db) -> None:
    user = await accounts.do_create_user("Sky_walker", "long enough pw", "child")
    async with db.read() as session:
        row = (await session.execute(select(User).where(User.id == user.id))).scalar_one()
    assert row.username == "Sky_walker" and row.username_key == "sky_walker" and row.role == "child"
    assert row.password_hash.startswith("$argon2id$")
    assert "long enough pw" not in row.password_hash
    columns = {c.name for c in User.__table__.columns}
    assert not columns & {"email", "phone", "real_name", "name", "date_of_birth"}


async def test_duplicate_username_is_refused_whatever_the_case(accounts) -> None:
    await accounts.do_create_user("river", "long enough pw", "child")
    with pytest.raises(Conflict) as info:
        await accounts.do_create_user("RIVER", "another long pw", "child")
    assert info.value.code == "username_taken"


@pytest.mark.parametrize("name,code", [("ab", "username_too_short"), ("x" * 25, "username_too_long"),
                                       ("has space", "username_invalid"), ("<script>", "username_invalid")])
async def test_bad_usernames_get_their_own_code(accounts, name: str, code: str) -> None:
    with pytest.raises(Invalid) as info:
        await accounts.do_create_user(name, "long enough pw", "child")
    assert info.value.code == code and info.value.message


async def test_short_password_is_refused(accounts) -> None:
    with pytest.raises(Invalid) as info:
        await accounts.do_create_user("maple", "short", "child")
    assert info.value.code == "password_too_short"


async def test_wrong_password_and_unknown_user_get_the_same_answer(accounts) -> None:
    await accounts.do_create_user("willow", "long enough pw", "child")
    with pytest.raises(Unauthorized) as wrong_pw:
        await accounts.authenticate("willow", "not the password", "10.0.0.1", ("child",))
    with pytest.raises(Unauthorized) as no_user:
        await accounts.authenticate("nobody-here", "not the password", "10.0.0.2", ("child",))
    assert wrong_pw.value.message == no_user.value.message == BAD_CREDENTIALS
    assert wrong_pw.value.code == no_user.value.code == "bad_credentials"


async def test_staff_role_check_looks_like_a_wrong_password(accounts) -> None:
    await accounts.do_create_user("kid-one", "long enough pw", "child")
    with pytest.raises(Unauthorized) as info:
        await accounts.authenticate("kid-one", "long enough pw", "10.0.0.3", ("counsellor",))
    assert info.value.message == BAD_CREDENTIALS


async def test_failures_back_off_per_account(accounts) -> None:
    await accounts.do_create_user("oak", "long enough pw", "child")
    for i in range(3):
        with pytest.raises(Unauthorized):
            await accounts.authenticate("oak", "wrong", f"10.1.0.{i}", ("child",))
    # Even the right password waits now, from any address.
    with pytest.raises(TooMany) as info:
        await accounts.authenticate("oak", "long enough pw", "10.9.9.9", ("child",))
    assert info.value.code == "too_many_attempts" and info.value.retry_after > 0


async def test_failures_back_off_per_address(accounts) -> None:
    for i in range(12):
        try:
            await accounts.authenticate(f"user{i}", "wrong", "10.2.0.1", ("child",))
        except (Unauthorized, TooMany):
            pass
    await accounts.do_create_user("birch", "long enough pw", "child")
    with pytest.raises(TooMany):
        await accounts.authenticate("birch", "long enough pw", "10.2.0.1", ("child",))
    # Another address is not affected.
    user = await accounts.authenticate("birch", "long enough pw", "10.2.0.2", ("child",))
    assert user.username == "birch"


async def test_sign_in_rotates_the_session(accounts) -> None:
    user = await accounts.do_create_user("elm", "long enough pw", "child")
    first = await accounts.do_start_session(user)
    assert (await accounts.get_identity(first.token)).username == "elm"
    second = await accounts.do_start_session(user, old_token=first.token)
    assert await accounts.get_identity(first.token) is None
    assert (await accounts.get_identity(second.token)).user_id == user.id
    assert first.csrf_token != second.csrf_token
    await accounts.do_end_session(second.token)
    assert await accounts.get_identity(second.token) is None


# Brute force (issue 14, C1) ------------------------------------------------------------------

class CountingPasswords(Passwords):
    """Cheap argon2 parameters (the logic under test is the throttle) and a count of evaluated guesses."""

    def __init__(self) -> None:
        super().__init__(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        self.evaluated = 0

    async def verify(self, stored: str | None, password: str) -> bool:
        self.evaluated += 1
        return await super().verify(stored, password)


async def _lift_blocks(db) -> None:  # type: ignore[no-untyped-def]
    """As if every wait had run out (the failure counts stay)."""
    async with db.write() as session:
        await session.execute(update(LoginThrottle).values(blocked_until=None))


async def _throttle(db, key: str) -> LoginThrottle | None:  # type: ignore[no-untyped-def]
    async with db.read() as session:
        return await session.get(LoginThrottle, key)


async def test_a_hundred_failures_on_one_key_keep_backing_off(db) -> None:
    """The doubling used to overflow timedelta near the 51st failure: a 500, no record, and no back-off."""
    accounts = Accounts(db, CountingPasswords(), max_failures=5, backoff_seconds=2)
    await accounts.do_create_user("hazel", "long enough pw", "child")
    for attempt in range(100):
        with pytest.raises(Unauthorized):
            await accounts.authenticate("hazel", "wrong", f"10.3.{attempt // 200}.{attempt % 200}", ("child",))
        await _lift_blocks(db)
    row = await _throttle(db, "acct:hazel")
    assert row is not None and row.failures == 100
    # The 101st failure blocks for the longest wait, and then even the right password waits.
    with pytest.raises(Unauthorized):
        await accounts.authenticate("hazel", "wrong", "10.4.0.1", ("child",))
    row = await _throttle(db, "acct:hazel")
    assert timedelta(minutes=14) < row.blocked_until - utcnow() <= timedelta(minutes=15)
    with pytest.raises(TooMany) as info:
        await accounts.authenticate("hazel", "long enough pw", "10.4.0.2", ("child",))
    assert 14 * 60 < info.value.retry_after <= 15 * 60 + 1


async def test_a_parallel_burst_is_evaluated_at_most_the_allowance(database_url, db) -> None:
    """80 wrong guesses at once, from two server processes, against an allowance of 5."""
    other = Database(make_engine(database_url))
    try:
        passwords = [CountingPasswords(), CountingPasswords()]
        servers = [Accounts(db, passwords[0], max_failures=5, backoff_seconds=60),
                   Accounts(other, passwords[1], max_failures=5, backoff_seconds=60)]
        await servers[0].do_create_user("rowan", "long enough pw", "child")
        results = await asyncio.gather(
            *(servers[i % 2].authenticate("rowan", f"guess {i}", f"10.5.0.{i}", ("child",)) for i in range(80)),
            return_exceptions=True)
    finally:
        await other.dispose()
    evaluated = passwords[0].evaluated + passwords[1].evaluated
    wrong = sum(isinstance(r, Unauthorized) for r in results)
    refused = sum(isinstance(r, TooMany) for r in results)
    assert (wrong, refused) == (evaluated, 80 - evaluated), results
    assert 1 <= evaluated <= 5
    with pytest.raises(TooMany):
        await servers[0].authenticate("rowan", "long enough pw", "10.6.0.1", ("child",))


async def test_a_parallel_burst_of_totp_guesses_is_evaluated_at_most_the_allowance(database_url, db) -> None:
    other = Database(make_engine(database_url))
    key = secrets.token_bytes(32)
    try:
        servers = [Accounts(db, CountingPasswords(), max_failures=5, backoff_seconds=60),
                   Accounts(other, CountingPasswords(), max_failures=5, backoff_seconds=60)]
        for server in servers:
            server.attach_secret_box(SecretBox(key))
        user = await servers[0].do_create_user("ash-staff", "long enough pw", "analyst")
        enrolment = await servers[0].do_enable_totp("ash-staff")
        right = pyotp.TOTP(enrolment.secret).now()
        wrong_code = next(c for c in (f"{n:06d}" for n in range(1000)) if c != right)
        results = await asyncio.gather(
            *(servers[i % 2].do_verify_totp(user.id, wrong_code, f"10.7.0.{i}") for i in range(80)),
            return_exceptions=True)
        wrong = sum(isinstance(r, Unauthorized) for r in results)
        assert wrong + sum(isinstance(r, TooMany) for r in results) == 80, results
        assert 1 <= wrong <= 5
        # Blocked now: the right code waits too.
        with pytest.raises(TooMany):
            await servers[0].do_verify_totp(user.id, right, "10.7.1.1")
    finally:
        await other.dispose()


async def test_a_failure_is_recorded_whatever_goes_wrong_after_the_check(db) -> None:
    class Broken(CountingPasswords):
        async def verify(self, stored: str | None, password: str) -> bool:
            raise RuntimeError("the hashing thread died")

    accounts = Accounts(db, Broken(), max_failures=5, backoff_seconds=2)
    with pytest.raises(RuntimeError):
        await accounts.authenticate("juniper", "a guess", "10.8.0.1", ("child",))
    assert (await _throttle(db, "acct:juniper")).failures == 1
    assert (await _throttle(db, "addr:10.8.0.1")).failures == 1


async def test_a_right_password_gives_the_address_its_attempt_back(db) -> None:
    """A school's children signing in correctly never use up the address's allowance."""
    accounts = Accounts(db, CountingPasswords(), max_failures=1, backoff_seconds=60)
    for i in range(6):
        await accounts.do_create_user(f"pupil{i}", "long enough pw", "child")
        assert (await accounts.authenticate(f"pupil{i}", "long enough pw", "10.9.0.1", ("child",))).username
    row = await _throttle(db, "addr:10.9.0.1")
    assert row is None or (row.failures == 0 and row.blocked_until is None)
    # And the next child's mistake is evaluated, not refused.
    with pytest.raises(Unauthorized):
        await accounts.authenticate("pupil0", "wrong", "10.9.0.1", ("child",))


# Sessions end a window after the last activity (issue 14, low) ---------------------------------

async def _expires(db, token: str) -> datetime:  # type: ignore[no-untyped-def]
    async with db.read() as session:
        row = await session.get(WebSession, session_key(token))
        return row.expires_at


async def _set_expires(db, token: str, at: datetime) -> None:  # type: ignore[no-untyped-def]
    async with db.write() as session:
        await session.execute(update(WebSession).where(WebSession.token_hash == session_key(token))
                              .values(expires_at=at))


async def test_activity_keeps_a_childs_session_for_another_twelve_hours(db) -> None:
    accounts = Accounts(db, Passwords(), session_hours=12, staff_idle_minutes=30)
    user = await accounts.do_create_user("linden", "long enough pw", "child")
    new = await accounts.do_start_session(user)
    assert abs(new.expires_at - utcnow() - timedelta(hours=12)) < timedelta(seconds=5)
    # Eleven hours later the child is still chatting: the session runs twelve hours from now.
    await _set_expires(db, new.token, utcnow() + timedelta(hours=1))
    who = await accounts.get_identity(new.token, touch=True)
    assert who is not None and who.renewed
    assert abs(await _expires(db, new.token) - utcnow() - timedelta(hours=12)) < timedelta(seconds=5)
    # A look-up that is not activity (a socket checking its session) moves nothing.
    await _set_expires(db, new.token, utcnow() + timedelta(hours=1))
    assert not (await accounts.get_identity(new.token)).renewed
    assert abs(await _expires(db, new.token) - utcnow() - timedelta(hours=1)) < timedelta(seconds=5)
    # Right after a renewal nothing is written again.
    assert (await accounts.get_identity(new.token, touch=True)).renewed
    assert not (await accounts.get_identity(new.token, touch=True)).renewed


async def test_staff_sessions_end_after_the_idle_timeout(db) -> None:
    accounts = Accounts(db, Passwords(), session_hours=12, staff_idle_minutes=30)
    user = await accounts.do_create_user("cedar-staff", "long enough pw", "counsellor")
    new = await accounts.do_start_session(user)
    assert abs(new.expires_at - utcnow() - timedelta(minutes=30)) < timedelta(seconds=5)
    # Idle for longer than that: signed out.
    await _set_expires(db, new.token, utcnow() - timedelta(seconds=1))
    assert await accounts.get_identity(new.token, touch=True) is None
    # A session begun under a longer window is cut down to the timeout at its next use.
    again = await accounts.do_start_session(user)
    await _set_expires(db, again.token, utcnow() + timedelta(hours=11))
    assert (await accounts.get_identity(again.token, touch=True)).renewed
    assert abs(await _expires(db, again.token) - utcnow() - timedelta(minutes=30)) < timedelta(seconds=5)
    # A message on the console's socket is activity too (by the session's key, not its token).
    await _set_expires(db, again.token, utcnow() + timedelta(minutes=2))
    assert await accounts.do_touch_session(session_key(again.token))
    assert abs(await _expires(db, again.token) - utcnow() - timedelta(minutes=30)) < timedelta(seconds=5)


# Operator commands on staff accounts (issue 14, low) ------------------------------------------

async def _audit_actions(db) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [(e.action, e.subject) for e in await AuditLog(db).get_entries(limit=100)]


async def test_disabling_a_staff_account_ends_its_sessions_and_sign_ins(db) -> None:
    accounts = Accounts(db, CountingPasswords())
    sam = await accounts.do_create_user("sam-c", "staff pass 1234", "counsellor")
    session = await accounts.do_start_session(sam)
    await accounts.do_disable_staff("SAM-C")
    assert await accounts.get_identity(session.token) is None
    with pytest.raises(Unauthorized):
        await accounts.authenticate("sam-c", "staff pass 1234", "10.10.0.1", STAFF_ROLES)
    await accounts.do_disable_staff("sam-c", disabled=False)
    assert (await accounts.authenticate("sam-c", "staff pass 1234", "10.10.0.1", STAFF_ROLES)).id == sam.id
    assert await _audit_actions(db) == [("staff_disable", f"user:{sam.id}"), ("staff_enable", f"user:{sam.id}")]
    # Children are not staff: these commands never touch their accounts.
    await accounts.do_create_user("kiddo", "long enough pw", "child")
    with pytest.raises(NotFound):
        await accounts.do_disable_staff("kiddo")


async def test_resetting_a_password_and_two_factor(db) -> None:
    accounts = Accounts(db, CountingPasswords(), totp_required_roles=STAFF_ROLES)
    accounts.attach_secret_box(SecretBox(secrets.token_bytes(32)))
    ana = await accounts.do_create_user("ana-a", "staff pass 1234", "analyst")
    await accounts.do_enable_totp("ana-a")
    session = await accounts.do_start_session(ana)
    await accounts.do_reset_password("ana-a", "a new pass 5678")
    assert await accounts.get_identity(session.token) is None
    with pytest.raises(Unauthorized):
        await accounts.authenticate("ana-a", "staff pass 1234", "10.11.0.1", STAFF_ROLES)
    user = await accounts.authenticate("ana-a", "a new pass 5678", "10.11.0.1", STAFF_ROLES)
    assert accounts.sign_in_stage(user) == "totp"
    with pytest.raises(Invalid):
        await accounts.do_reset_password("ana-a", "short")
    await accounts.do_reset_totp("ana-a")
    user = await accounts.authenticate("ana-a", "a new pass 5678", "10.11.0.1", STAFF_ROLES)
    assert user.totp_secret is None and accounts.sign_in_stage(user) == "enrol"


async def test_deleting_a_staff_account_keeps_the_records_of_what_they_did(db) -> None:
    accounts = Accounts(db, CountingPasswords())
    lee = await accounts.do_create_user("lee-s", "staff pass 1234", "counsellor")
    await accounts.do_start_session(lee)
    # While they hold a live chat the account stays: no child is left talking to nobody.
    child = await accounts.do_create_user("kid-lee", "long enough pw", "child")
    async with db.write() as session:
        conv = Conversation(child_id=child.id, state="with_counsellor", context={})
        session.add(conv)
        await session.flush()
        held = Assignment(conversation_id=conv.id, counsellor_id=lee.id, active_conversation_id=conv.id,
                          waiting_since=utcnow())
        session.add(held)
    with pytest.raises(Conflict) as holding:
        await accounts.do_delete_staff("lee-s")
    assert holding.value.code == "holds_chats"
    async with db.write() as session:
        await session.execute(update(Assignment).values(active_conversation_id=None, ended_at=utcnow()))
    await accounts.do_delete_staff("lee-s")
    gone = await accounts.get_user(lee.id)
    assert gone.username == f"deleted-{lee.id}" and gone.disabled and gone.totp_secret is None
    assert "argon2" not in gone.password_hash
    with pytest.raises(Unauthorized):
        await accounts.authenticate("lee-s", "staff pass 1234", "10.12.0.1", STAFF_ROLES)
    with pytest.raises(NotFound):
        await accounts.do_delete_staff("lee-s")
    # The name is free again, and the audit log says who was deleted by id only.
    assert (await accounts.do_create_user("lee-s", "staff pass 1234", "counsellor")).id != lee.id
    assert ("staff_delete", f"user:{lee.id}") in await _audit_actions(db)
