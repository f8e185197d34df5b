"""Accounts, sign-in sessions and sign-in throttling rows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base, UTCDateTime, utcnow

ROLES = ("child", "counsellor", "supervisor", "analyst", "admin")
STAFF_ROLES = ("counsellor", "supervisor", "analyst", "admin")


class User(Base):
    """A child or a staff member. Children give a username and password only: nothing that names them."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(32))
    # Lower-cased copy so "Sam" and "sam" cannot both exist.
    username_key: Mapped[str] = mapped_column(String(32), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), index=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Two-factor sign-in (staff): the TOTP secret sealed with a key derived from the vault's master key.
    # Set but unconfirmed while the person is enrolling; confirmed once they typed a code from it.
    totp_secret: Mapped[str | None] = mapped_column(String(255), nullable=True, default=None)
    totp_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, default=None)
    # The last 30-second step a code was accepted for: a code is good once, never replayed.
    totp_last_step: Mapped[int | None] = mapped_column(Integer, nullable=True, default=None)


class WebSession(Base):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    # "full" is a signed-in browser; "totp" and "enrol" have passed the password only and may do
    # nothing but finish two-factor sign-in (or enrolment) within a few minutes.
    stage: Mapped[str] = mapped_column(String(8), default="full", server_default="full")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class LoginThrottle(Base):
    """Failed sign-ins per account and per address, shared by every server process."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
