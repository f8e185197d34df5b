"""Data protection: a child deleting their account, and closed conversations removed after a retention period.

Deleting rows is what deletes the data here: conversations, messages, reports, images (their wrapped
keys, without which the vault ciphertext cannot be opened) and sessions go with the user row through
the database's ON DELETE CASCADE; the ciphertext files are removed right after the commit (and any
file a crash leaves behind is removed by the vault sweep at the next start).

Published hashes stay on the hash list so copies keep being found, but unlinked: their `report_ref`
is cleared and `report_image_id` becomes the negative of the deleted image's id (unique, and never a
live image's id, so nothing can lead from an entry back to an account, even if the id is reused).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

from sqlalchemy import delete, func, or_, select, update

from bot.audit import Actor, append
from bot.db import Database
from bot.models.accounts import User
from bot.models.base import utcnow
from bot.models.chat import Conversation, Message
from bot.models.hashlist import HashListEntry
from bot.models.reports import Report, ReportImage
from bot.models.verification import Verification

log = logging.getLogger(__name__)

# Reports in these states hold nothing an analyst still needs; a conversation with any other report
# keeps its row (the ticket hangs on it) but still loses its messages when retention comes.
DISPOSABLE_REPORTS = ("draft", "cancelled")
BATCH = 500


@dataclass(frozen=True)
class Deleted:
    """What an account deletion removed: counts only, safe to log and to audit."""

    conversations: int
    messages: int
    reports: int
    images: int
    hashes_kept: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class Expired:
    """What one retention run removed."""

    conversations: int
    transcripts_cleared: int
    messages: int
    images: int


class DataProtection:
    """Account deletion and retention. `destroy_image` removes one vault file by its id (after commit)."""

    def __init__(self, db: Database, destroy_image: Callable[[str], Any] | None = None) -> None:
        self.db = db
        self.destroy_image = destroy_image

    def _destroy(self, vault_ids: list[str]) -> None:
        if self.destroy_image is None:
            return
        for vault_id in vault_ids:
            try:
                self.destroy_image(vault_id)
            except Exception as exc:  # the key is already gone; the start-up sweep removes the file
                log.warning("could not remove a vault file (%s); the sweep will", type(exc).__name__)

    async def do_delete_child_account(self, user_id: int) -> Deleted:
        """Delete a child and everything of theirs; keep their published hashes, unlinked."""
        async with self.db.write() as session:
            user = await session.get(User, user_id, with_for_update=not self.db.sqlite)
            if user is None or user.role != "child":
                raise LookupError("no such child account")
            conv_ids = list((await session.execute(
                select(Conversation.id).where(Conversation.child_id == user_id))).scalars())
            report_ids = list((await session.execute(
                select(Report.id).where(Report.child_id == user_id))).scalars())
            images = (await session.execute(
                select(ReportImage.id, ReportImage.vault_id, ReportImage.wrapped_key)
                .where(ReportImage.report_id.in_(report_ids)))).all() if report_ids else []
            image_ids = [row.id for row in images]
            vault_ids = [row.vault_id for row in images if row.wrapped_key is not None]
            messages = (await session.scalar(
                select(func.count(Message.id)).where(Message.conversation_id.in_(conv_ids)))) if conv_ids else 0
            kept = 0
            if image_ids:
                entries = (await session.execute(select(HashListEntry).where(
                    HashListEntry.report_image_id.in_(image_ids)).with_for_update())).scalars().all()
                for entry in entries:
                    entry.report_image_id = -entry.report_image_id
                    entry.report_ref = None
                kept = len(entries)
            if conv_ids:
                await session.execute(delete(Verification).where(Verification.conversation_id.in_(conv_ids)))
            await session.execute(delete(User).where(User.id == user_id))
            deleted = Deleted(conversations=len(conv_ids), messages=int(messages or 0), reports=len(report_ids),
                              images=len(vault_ids), hashes_kept=kept)
            # No user id or name: the entry proves a deletion happened and what it covered, nothing more.
            await append(session, Actor(None, "child"), "account_delete", "account:child", deleted.as_dict())
        self._destroy(vault_ids)
        return deleted

    async def do_remove_expired(self, retention_days: int, now: datetime | None = None) -> Expired:
        """Remove conversations closed more than `retention_days` ago (in batches until none are left)."""
        cutoff = (now or utcnow()) - timedelta(days=retention_days)
        total = Expired(0, 0, 0, 0)
        while True:
            batch = await self._remove_batch(cutoff)
            total = Expired(*(a + b for a, b in zip(asdict(total).values(), asdict(batch).values())))
            if batch.conversations + batch.transcripts_cleared < BATCH:
                break
        return total

    async def _remove_batch(self, cutoff: datetime) -> Expired:
        async with self.db.write() as session:
            expired = (Conversation.closed_at.is_not(None)) & (Conversation.closed_at < cutoff)
            has_messages = select(Message.id).where(Message.conversation_id == Conversation.id).exists()
            has_ticket = select(Report.id).where(Report.conversation_id == Conversation.id,
                                                 Report.status.not_in(DISPOSABLE_REPORTS)).exists()
            # A conversation kept for its ticket and already emptied is done with: not picked again.
            candidates = list((await session.execute(
                select(Conversation.id).where(expired, or_(has_messages, ~has_ticket))
                .order_by(Conversation.id).limit(BATCH))).scalars())
            if not candidates:
                return Expired(0, 0, 0, 0)
            anchored = set((await session.execute(
                select(Report.conversation_id).where(Report.conversation_id.in_(candidates),
                                                     Report.status.not_in(DISPOSABLE_REPORTS)))).scalars())
            removable = [cid for cid in candidates if cid not in anchored]
            keep = [cid for cid in candidates if cid in anchored]
            images = (await session.execute(
                select(ReportImage.vault_id).join(Report, Report.id == ReportImage.report_id)
                .where(Report.conversation_id.in_(removable), ReportImage.wrapped_key.is_not(None)))).scalars().all() \
                if removable else []
            messages = await session.scalar(
                select(func.count(Message.id)).where(Message.conversation_id.in_(candidates))) or 0
            if keep:
                # The report ticket keeps its conversation row; the transcript and dialog facts go.
                await session.execute(delete(Message).where(Message.conversation_id.in_(keep)))
                await session.execute(update(Conversation).where(Conversation.id.in_(keep)).values(context={}))
            if removable:
                await session.execute(delete(Verification).where(Verification.conversation_id.in_(removable)))
                # The condition again: a conversation reopened since we looked is not removed.
                await session.execute(delete(Conversation).where(Conversation.id.in_(removable), expired))
            result = Expired(conversations=len(removable), transcripts_cleared=len(keep), messages=int(messages),
                             images=len(images))
            await append(session, Actor(None, "system"), "retention_purge", "conversations", asdict(result))
        self._destroy(list(images))
        return result
