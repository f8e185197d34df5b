"""The hash list table: hashes of actioned images, with a change number partners sync by."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base, UTCDateTime, utcnow

CATEGORIES = ("A", "B", "C")
WITHDRAW_REASONS = ("withdrawn", "removed")
MEDIA = ("image", "video")


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({quoted})"


class HashListEntry(Base):
    """The hashes of one actioned image.

    Rows are never deleted: a withdrawn entry keeps its row (without being served) so partners get a
    tombstone for it. `change_seq` is renumbered on every change (publish, category change, withdraw,
    re-publish) from one counter that only grows, so "everything with change_seq > cursor" is exactly
    what a partner has not seen yet.
    """

    __tablename__ = "hash_list"
    __table_args__ = (
        CheckConstraint(_in("category", CATEGORIES), name="category"),
        CheckConstraint(_in("withdraw_reason", WITHDRAW_REASONS), name="withdraw_reason"),
        CheckConstraint(_in("media", MEDIA), name="media"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The id partners see; stable for the life of the entry.
    public_id: Mapped[str] = mapped_column(String(36), unique=True)
    # The foreign key to report_images arrives when the review side links the two areas.
    report_image_id: Mapped[int] = mapped_column(Integer, unique=True)
    report_ref: Mapped[str | None] = mapped_column(String(32), index=True, default=None)
    md5: Mapped[str] = mapped_column(String(32), index=True)
    sha1: Mapped[str] = mapped_column(String(40), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    # NULL for a video, whose PDQs are its frames (HashListFrame).
    pdq: Mapped[str | None] = mapped_column(String(64), index=True, nullable=True)
    pdq_quality: Mapped[int | None] = mapped_column(Integer, default=None)
    media: Mapped[str] = mapped_column(String(8), default="image", server_default="image")
    category: Mapped[str] = mapped_column(String(1))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    withdraw_reason: Mapped[str | None] = mapped_column(String(16), default=None)
    change_seq: Mapped[int] = mapped_column(Integer, unique=True)


class HashListFrame(Base):
    """One frame hash of a listed video or animated picture: vPDQ's PDQ, quality and timestamp."""

    __tablename__ = "hash_list_frames"
    __table_args__ = (UniqueConstraint("entry_id", "position", name="uq_hash_list_frames_entry_position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("hash_list.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    timestamp_ms: Mapped[int] = mapped_column(Integer)
    pdq: Mapped[str] = mapped_column(String(64), index=True)
    quality: Mapped[int] = mapped_column(Integer)
