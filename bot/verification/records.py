"""Writes the per-conversation verification record, so that replays and races change nothing."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models.base import utcnow
from bot.models.verification import Verification
from bot.verification.base import FINAL_STATUSES, Outcome, StartedVerification


async def do_create_verification(
    session: AsyncSession, *, conversation_id: int, provider: str, started: StartedVerification
) -> Verification:
    """Add a pending record for a session just started; the caller commits."""
    verification = Verification(
        conversation_id=conversation_id,
        provider=provider,
        provider_session_id=started.session_id,
        status="pending",
        under_18="unknown",
    )
    session.add(verification)
    await session.flush()
    return verification


async def get_verification_by_session(
    session: AsyncSession, provider: str, provider_session_id: str
) -> Verification | None:
    """Find the record a notification is about; None if Haven never started that session."""
    return await session.scalar(
        select(Verification).where(
            Verification.provider == provider,
            Verification.provider_session_id == provider_session_id,
        )
    )


async def do_record_outcome(session: AsyncSession, verification: Verification, outcome: Outcome) -> bool:
    """Store an outcome; True only if the record changed. The caller commits.

    A final record is never rewritten (not even by a different final outcome:
    the first answer is the one the child's conversation acted on), and an
    outcome equal to what is stored is a no-op, so replayed notifications and
    repeated fetches are harmless. The guard lives in the UPDATE's WHERE clause
    so two server processes recording at once cannot both succeed.
    """
    if verification.status in FINAL_STATUSES:
        return False
    if (verification.status, verification.under_18, verification.method) == (
        outcome.status,
        outcome.under_18,
        outcome.method,
    ):
        return False
    values: dict[str, object] = {
        "status": outcome.status,
        "under_18": outcome.under_18,
        "method": outcome.method,
        "updated_at": utcnow(),
    }
    if outcome.is_final:
        values["checked_at"] = outcome.checked_at
    result = await session.execute(
        update(Verification)
        .where(
            Verification.id == verification.id,
            Verification.status.not_in(FINAL_STATUSES),
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    changed = result.rowcount == 1  # type: ignore[attr-defined]
    # Re-read either way: on a lost race the other process's answer is the truth.
    await session.refresh(verification)
    return changed
