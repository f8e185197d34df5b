"""Accounts on SQLite and PostgreSQL: registration rules, argon2id, back-off, session rotation."""

from __future__ import annotations

import pytest

from bot.accounts import BAD_CREDENTIALS, Accounts, Passwords
from bot.errors import Conflict, Invalid, TooMany, Unauthorized
from bot.models.accounts import User
from sqlalchemy import select


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
