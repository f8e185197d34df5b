"""Tables for age checks: the minimal record Haven keeps, and the demo provider's shared state."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base, UTCDateTime, utcnow

# Kept here (not imported from bot.verification) so the models never depend on the providers.
VERIFICATION_STATUSES = ("pending", "complete", "failed", "abandoned", "expired")
UNDER_18_VALUES = ("yes", "no", "unknown")


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({quoted})"


class Verification(Base):
    """One age check for one conversation.

    Deliberately holds only the answer (under 18: yes/no/unknown), how it was
    reached, when, and a status: never a document, photo, date of birth or age.
    A test asserts this column set, so widening it is a conscious decision.
    """

    __tablename__ = "verifications"
    __table_args__ = (
        CheckConstraint(_in("status", VERIFICATION_STATUSES), name="status"),
        CheckConstraint(_in("under_18", UNDER_18_VALUES), name="under_18"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The foreign key to conversations arrives with that table's migration.
    conversation_id: Mapped[int] = mapped_column(Integer, index=True)
    provider: Mapped[str] = mapped_column(String(16))
    provider_session_id: Mapped[str] = mapped_column(String(128), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    under_18: Mapped[str] = mapped_column(String(8), default="unknown")
    method: Mapped[str | None] = mapped_column(String(32), default=None)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class DemoVerificationSession(Base):
    """A demo check in progress; in the database so any server process can serve its page."""

    __tablename__ = "demo_verification_sessions"

    session_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    reference: Mapped[str] = mapped_column(String(128))
    # Name of the outcome a tester picked (see bot.verification.demo.DEMO_OUTCOMES); None = not yet.
    outcome: Mapped[str | None] = mapped_column(String(16), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    chosen_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
