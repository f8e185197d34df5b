"""Haven's verification record: minimal columns, idempotent writes, first final answer wins."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

from sqlalchemy import inspect, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.models.verification import Verification
from bot.verification import (
    Outcome,
    StartedVerification,
    YotiProvider,
    do_create_verification,
    do_record_outcome,
    get_verification_by_session,
)
from tests.fakes.fake_yoti import SENSITIVE_EXTRAS, FakeYoti

WHEN = datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
UNDER_18 = Outcome(status="complete", under_18="yes", method="age_estimation", checked_at=WHEN)
OVER_18 = Outcome(status="complete", under_18="no", method="doc_scan", checked_at=WHEN + timedelta(minutes=1))
PENDING = Outcome(status="pending", under_18="unknown", method=None, checked_at=WHEN)
ABANDONED = Outcome(status="abandoned", under_18="unknown", method=None, checked_at=WHEN)


async def _new(session: AsyncSession, session_id: str = "sess-1") -> Verification:
    return await do_create_verification(
        session, conversation_id=7, provider="yoti", started=StartedVerification(session_id, "https://x")
    )


def test_record_holds_only_outcome_method_time_status_and_ids() -> None:
    columns = {column.key for column in inspect(Verification).columns}
    assert columns == {
        "id",
        "conversation_id",
        "provider",
        "provider_session_id",
        "status",
        "under_18",
        "method",
        "checked_at",
        "created_at",
        "updated_at",
    }


async def test_records_an_outcome_once(session_maker: async_sessionmaker[AsyncSession]) -> None:
    async with session_maker.begin() as session:
        verification = await _new(session)
        assert await do_record_outcome(session, verification, UNDER_18) is True
        stamp = verification.updated_at

    async with session_maker.begin() as session:
        verification = await get_verification_by_session(session, "yoti", "sess-1")
        assert verification is not None
        # Replayed notification, second fetch: same final outcome, nothing changes.
        assert await do_record_outcome(session, verification, UNDER_18) is False
        # A later, different final outcome never overwrites the first.
        assert await do_record_outcome(session, verification, OVER_18) is False
        assert await do_record_outcome(session, verification, PENDING) is False

    async with session_maker() as session:
        stored = await session.scalar(select(Verification))
        assert stored is not None
        assert (stored.status, stored.under_18, stored.method, stored.checked_at) == (
            "complete",
            "yes",
            "age_estimation",
            WHEN,
        )
        assert stored.updated_at == stamp


async def test_pending_replays_change_nothing(session_maker: async_sessionmaker[AsyncSession]) -> None:
    async with session_maker.begin() as session:
        verification = await _new(session)
        assert await do_record_outcome(session, verification, PENDING) is False
        assert verification.checked_at is None
        assert await do_record_outcome(session, verification, ABANDONED) is True
        assert verification.status == "abandoned"


async def test_first_final_outcome_wins_in_any_order(session_maker: async_sessionmaker[AsyncSession]) -> None:
    """Every short sequence of outcomes leaves the first final one stored."""
    choices = [PENDING, UNDER_18, OVER_18, ABANDONED]
    for number, sequence in enumerate(itertools.product(choices, repeat=3)):
        async with session_maker.begin() as session:
            verification = await _new(session, f"sess-{number}")
            changes = [await do_record_outcome(session, verification, o) for o in sequence]
        finals = [o for o in sequence if o.is_final]
        expected = finals[0] if finals else PENDING
        assert (verification.status, verification.under_18, verification.method) == (
            expected.status,
            expected.under_18,
            expected.method,
        )
        assert sum(changes) == (1 if finals else 0)


async def test_a_stale_copy_cannot_overwrite(session_maker: async_sessionmaker[AsyncSession]) -> None:
    """Two server processes handle the same session; the one that commits second changes nothing."""
    async with session_maker.begin() as session:
        await _new(session)

    first = session_maker()
    second = session_maker()
    try:
        mine = await get_verification_by_session(first, "yoti", "sess-1")
        theirs = await get_verification_by_session(second, "yoti", "sess-1")
        assert mine is not None and theirs is not None
        assert await do_record_outcome(first, mine, UNDER_18) is True
        await first.commit()

        assert await do_record_outcome(second, theirs, OVER_18) is False
        await second.commit()
        assert (theirs.status, theirs.under_18) == ("complete", "yes")
    finally:
        await first.close()
        await second.close()


async def test_stored_values_from_a_real_fetch_are_minimal(
    session_maker: async_sessionmaker[AsyncSession], fake_yoti: FakeYoti
) -> None:
    yoti = YotiProvider(
        api_key=fake_yoti.api_key,
        sdk_id=fake_yoti.sdk_id,
        notification_secret="notify-secret-0123456789abcdef",
        base_url=fake_yoti.base_url,
    )
    try:
        started = await yoti.start("conv-7", "https://haven.example/back", "https://haven.example/hook")
        fake_yoti.set_outcome("under_18")
        async with session_maker.begin() as session:
            verification = await do_create_verification(
                session, conversation_id=7, provider=yoti.name, started=started
            )
            note = fake_yoti.notification(started.session_id)
            session_id = await yoti.check_notification(note.headers, note.body)
            assert session_id == started.session_id
            assert await do_record_outcome(session, verification, await yoti.fetch_outcome(session_id))
            # The replayed notification triggers another fetch: nothing changes.
            assert not await do_record_outcome(session, verification, await yoti.fetch_outcome(session_id))
    finally:
        await yoti.aclose()

    async with session_maker() as session:
        row = (await session.execute(select(Verification.__table__))).one()._asdict()
    assert row.pop("id") == 1
    assert isinstance(row.pop("created_at"), datetime)
    assert isinstance(row.pop("updated_at"), datetime)
    checked_at = row.pop("checked_at")
    assert isinstance(checked_at, datetime) and checked_at.tzinfo is not None
    assert row == {
        "conversation_id": 7,
        "provider": "yoti",
        "provider_session_id": started.session_id,
        "status": "complete",
        "under_18": "yes",
        "method": "age_estimation",
    }
    for value in map(str, row.values()):
        for forbidden in ("2010-02-03", "14.6", SENSITIVE_EXTRAS["selfie"]):
            assert forbidden not in value
