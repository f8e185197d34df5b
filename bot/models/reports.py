"""Report tickets, their images' hashes and wrapped keys, upload links, "seen before" links, assessments, decisions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.models.base import Base, UTCDateTime, utcnow

# Kept here rather than imported from bot.reports so the models never depend on the service.
REPORT_STATUSES = (
    "draft", "cancelled", "submitted", "in_review", "needs_info", "actioned", "not_actioned",
    "hashes_published", "withdrawn", "closed",
)
IMAGE_STATUSES = ("received", "quarantined", "assessed", "purged")
UNDER_18_VALUES = ("yes", "no", "unknown")
MATCH_SOURCES = ("report", "hash_list")
MEDIA = ("image", "video")


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({quoted})"


class Report(Base):
    """One child's report of images from one conversation. `reference` exists once it is submitted."""

    __tablename__ = "reports"
    __table_args__ = (
        CheckConstraint(_in("status", REPORT_STATUSES), name="status"),
        CheckConstraint(_in("under_18", UNDER_18_VALUES), name="under_18"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # Shown to the child, e.g. HVN-7K3P-Q9; NULL while the report is a draft.
    reference: Mapped[str | None] = mapped_column(String(16), unique=True, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    age_band: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # A copy of the age check's answer as it stood when the report was opened (never documents or ages).
    under_18: Mapped[str] = mapped_column(String(8), default="unknown")
    verification_method: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # Bytes of accepted images, kept on the row so the per-report cap is checked under its lock.
    bytes_received: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ReportImage(Base):
    """One accepted image or video: its hashes and what it is. The bytes live only as ciphertext in the vault.

    A video has no picture hashes of its own (pdq, pdq_quality and phash are NULL): its PDQs are its
    sampled frames (ReportImageFrame), as are an animated picture's beside the PDQ of its first frame.
    """

    __tablename__ = "report_images"
    __table_args__ = (
        UniqueConstraint("report_id", "sha256", name="uq_report_images_report_sha256"),
        CheckConstraint(_in("status", IMAGE_STATUSES), name="status"),
        CheckConstraint(_in("media", MEDIA), name="media"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    # Random name of the ciphertext file; with the report id it is the AES-GCM associated data.
    vault_id: Mapped[str] = mapped_column(String(64), unique=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    sha1: Mapped[str] = mapped_column(String(40))
    md5: Mapped[str] = mapped_column(String(32))
    pdq: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Below 50 PDQ is unreliable; kept and shown to analysts rather than dropped.
    pdq_quality: Mapped[int | None] = mapped_column(Integer, nullable=True)
    pdq_unrotated: Mapped[str | None] = mapped_column(String(64), nullable=True)
    phash: Mapped[str | None] = mapped_column(String(16), nullable=True)
    media: Mapped[str] = mapped_column(String(8), default="image", server_default="image")
    format: Mapped[str] = mapped_column(String(8))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    # Frames in the file (a video: frames sampled, one a second by default).
    frames: Mapped[int] = mapped_column(Integer, default=1)
    duration_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    codec: Mapped[str | None] = mapped_column(String(16), nullable=True)
    byte_size: Mapped[int] = mapped_column(Integer)
    # The image's AES key wrapped by the master key; NULL once purged, which destroys the image.
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="received")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ReportImageFrame(Base):
    """One sampled frame of a video or animated picture, in vPDQ's form (after pruning still stretches)."""

    __tablename__ = "report_image_frames"
    __table_args__ = (UniqueConstraint("image_id", "position", name="uq_report_image_frames_image_position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    image_id: Mapped[int] = mapped_column(ForeignKey("report_images.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    # The frame's number in decoding order, and when it is shown (milliseconds from the start).
    frame: Mapped[int] = mapped_column(Integer)
    timestamp_ms: Mapped[int] = mapped_column(Integer)
    pdq: Mapped[str] = mapped_column(String(64))
    quality: Mapped[int] = mapped_column(Integer)


class ImageMatch(Base):
    """A PDQ near-duplicate: this image looks like one in another report (or on the hash list).

    For a video or animated picture: `frames` lists the timestamps (ms) of this one's frames that
    match, `query_percent` the share of this one's frames that match and `other_percent` the share of
    the other's (vPDQ's two percentages); `distance` is the nearest pair's.
    """

    __tablename__ = "image_matches"
    __table_args__ = (CheckConstraint(_in("source", MATCH_SOURCES), name="source"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    image_id: Mapped[int] = mapped_column(ForeignKey("report_images.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(16), default="report")
    matched_image_id: Mapped[int | None] = mapped_column(
        ForeignKey("report_images.id", ondelete="SET NULL"), nullable=True, index=True)
    # For hash-list matches: the list entry's own identifier.
    matched_ref: Mapped[str | None] = mapped_column(String(64), nullable=True)
    distance: Mapped[int] = mapped_column(Integer)
    frames: Mapped[list[int] | None] = mapped_column(JSON, nullable=True)
    query_percent: Mapped[int | None] = mapped_column(Integer, nullable=True)
    other_percent: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UploadLink(Base):
    """A one-time upload address for one report and one child. Only the token's SHA-256 is stored."""

    __tablename__ = "upload_links"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Set when the conversation leaves the upload step, so an address handed out earlier dies with it.
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


VERDICTS = ("category_a", "category_b", "category_c", "not_indecent", "not_a_child", "cannot_tell")
OUTCOMES = ("actioned", "not_actioned", "needs_info")
REASONS = ("not_indecent", "not_a_child", "cannot_tell", "other")
DECISION_STATUSES = ("pending", "confirmed", "rejected")


class ImageAssessment(Base):
    """One analyst's verdict on one image. Rows are kept (never updated): the latest one counts."""

    __tablename__ = "image_assessments"
    __table_args__ = (CheckConstraint(_in("verdict", VERDICTS), name="verdict"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    image_id: Mapped[int] = mapped_column(ForeignKey("report_images.id", ondelete="CASCADE"), index=True)
    analyst_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    verdict: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReportDecision(Base):
    """An analyst's decision on a report. With a second analyst required it waits as `pending` until
    another analyst confirms (or rejects) it; otherwise it is `confirmed` when made."""

    __tablename__ = "report_decisions"
    __table_args__ = (
        CheckConstraint(_in("outcome", OUTCOMES), name="outcome"),
        CheckConstraint(_in("reason", REASONS), name="reason"),
        CheckConstraint(_in("status", DECISION_STATUSES), name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    # Why a report is not actioned, as a code the child's words are chosen by.
    reason: Mapped[str | None] = mapped_column(String(16), nullable=True)
    # For "more information needed": the analyst's words, shown to the child in the chat.
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
