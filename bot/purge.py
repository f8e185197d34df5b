"""Destroys reported images once they are no longer needed, and alerts supervisors to reports left undecided.

A report that is decided (not actioned, or its hashes published) or withdrawn has its images purged
after `retention_days` (0: at once): each image's wrapped key is deleted in one transaction with its
audit entry, which destroys the image (the key is the only way to decrypt it); the ciphertext file is
overwritten and removed right after commit, and the start-up vault sweep removes any a crash left
behind. Hashes, assessments and decisions stay. The ticket then closes and the child is told in their
chat. On SQLite the deleted keys would linger in the write-ahead log (`haven.db-wal`) until SQLite
reuses it, so after a pass that purged anything the log is checkpointed and truncated; with
`secure_delete` on (bot/db.py) the database file keeps no copy in its free pages either.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, AsyncIterator, Callable

from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from bot.background import every
from bot.audit import SYSTEM, Actor, append
from bot.db import Database
from bot.events import Event, EventSink
from bot.images.vault import Vault
from bot.models.audit import AuditEntry
from bot.models.base import utcnow
from bot.models.reports import Report, ReportImage
from bot.queue import StaffAlert
from bot.tickets import FINISHED, UNDECIDED, News, Notifier, lock_report, move_image, move_ticket

log = logging.getLogger(__name__)

ALERT_ACTION = "undecided_alert"
_RETRIES = 4


@dataclass(frozen=True)
class PurgeConfig:
    """The settings purging needs, as plain values from create_app or the command line."""

    retention_days: int = 0
    undecided_alert_days: int = 7


@dataclass(frozen=True)
class PurgeResult:
    reports: int
    images: int
    alerts: int


class Purger:
    """Purges finished reports' images and raises one alert per report left undecided too long."""

    def __init__(self, db: Database, sink: EventSink, notifier: Notifier, config: PurgeConfig,
                 vault: Callable[[], Vault | None]) -> None:
        self.db = db
        self.sink = sink
        self.notifier = notifier
        self.config = config
        # A getter: the app opens the vault at start-up, after this object is built.
        self.vault = vault
        # Set when keys were deleted since the write-ahead log was last truncated.
        self._wal_holds_keys = False

    async def run_once(self, now: datetime | None = None) -> PurgeResult:
        now = now or utcnow()
        reports = images = 0
        for report_id in await self.get_due(now):
            purged = await self.do_purge_report(report_id, now)
            if purged is not None:
                reports += 1
                images += purged
        if self._wal_holds_keys:
            await self.do_truncate_wal()
        alerts = await self.do_alert_undecided(now)
        return PurgeResult(reports, images, alerts)

    async def do_truncate_wal(self) -> bool:
        """SQLite: copy the write-ahead log into the database and cut it to zero bytes; True when done.

        SQLite cannot truncate while another connection still reads an old snapshot; then it stays
        marked and the next pass tries again.
        """
        if not self.db.sqlite:
            self._wal_holds_keys = False
            return True
        async with self.db.engine.connect() as connection:
            busy = (await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")).one()[0]
        self._wal_holds_keys = bool(busy)
        return not busy

    async def get_due(self, now: datetime) -> list[int]:
        """Finished reports whose retention period is over and that still hold images."""
        cutoff = now - timedelta(days=self.config.retention_days)
        async with self.db.read() as session:
            return list((await session.scalars(
                select(Report.id).where(Report.status.in_(FINISHED), Report.decided_at <= cutoff)
                .order_by(Report.decided_at))).all())

    async def do_purge_report(self, report_id: int, now: datetime | None = None,
                              actor: Actor = SYSTEM) -> int | None:
        """Purge one finished report's images and close it; None if it is not due (or not finished)."""
        now = now or utcnow()
        for attempt in range(_RETRIES):
            try:
                return await self._purge(report_id, now, actor)
            except StaleDataError:
                # The child's chat moved on in another process while we wrote into it: do it again.
                if attempt == _RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    async def _purge(self, report_id: int, now: datetime, actor: Actor) -> int | None:
        cutoff = now - timedelta(days=self.config.retention_days)
        async with self.db.write() as session:
            report, conv = await lock_report(session, report_id)
            if report.status not in FINISHED or report.decided_at is None or report.decided_at > cutoff:
                return None
            images = list((await session.scalars(
                select(ReportImage).where(ReportImage.report_id == report.id, ReportImage.status != "purged")
                .order_by(ReportImage.id).execution_options(populate_existing=True))).all())
            vault_ids = [image.vault_id for image in images]
            for image in images:
                move_image(image, "purge")
                image.wrapped_key = None
                image.purged_at = now
                await append(session, actor, "purge", f"image:{image.id}",
                             {"report": report.reference or str(report.id)}, now=now)
            outcome = report.status
            move_ticket(report, "close", now)
            events: list[Event] = []
            if images:
                events = await self.notifier.tell_child(
                    session, report, conv, News("purged", {"hashes_kept": outcome == "hashes_published"}), now)
        self._wal_holds_keys = self._wal_holds_keys or bool(images)
        vault = self.vault()
        if vault is not None:
            for vault_id in vault_ids:
                # Overwriting a large file would hold up the event loop.
                await asyncio.to_thread(vault.destroy, vault_id)
        await self.sink.publish(events)
        if images:
            log.info("purged %d image(s) of report %s", len(images), report.id)
        return len(images)

    async def do_alert_undecided(self, now: datetime | None = None) -> int:
        """Alert supervisors, once per report, to reports undecided for `undecided_alert_days`."""
        now = now or utcnow()
        cutoff = now - timedelta(days=self.config.undecided_alert_days)
        async with self.db.read() as session:
            late = (await session.execute(
                select(Report.id, Report.reference, Report.submitted_at)
                .where(Report.status.in_(UNDECIDED), Report.submitted_at <= cutoff)
                .order_by(Report.submitted_at))).all()
            subjects = {f"report:{reference}" for _, reference, _ in late}
            done = set((await session.scalars(
                select(AuditEntry.subject).where(AuditEntry.action == ALERT_ACTION,
                                                 AuditEntry.subject.in_(subjects)))).all()) if subjects else set()
        alerts: list[StaffAlert] = []
        for report_id, reference, submitted_at in late:
            subject = f"report:{reference}"
            if subject in done:
                continue
            days = (now - submitted_at).days
            async with self.db.write() as session:
                # Checked again under the audit lock, so two processes never alert twice for one report.
                again = await session.scalar(select(AuditEntry.seq).where(
                    AuditEntry.action == ALERT_ACTION, AuditEntry.subject == subject))
                if again is not None:
                    continue
                await append(session, SYSTEM, ALERT_ACTION, subject, {"days": days}, now=now)
            alerts.append(StaffAlert("report_undecided", {"report_id": report_id, "reference": reference,
                                                          "days": days}))
        if alerts:
            await self.sink.publish(alerts)  # type: ignore[arg-type]
        return len(alerts)


def purge_context(purger: Purger, interval: float = 30.0) -> Callable[[Any], AsyncIterator[None]]:
    """A cleanup_ctx running `run_once` every `interval` seconds; it goes after the database's."""

    async def one_pass() -> None:
        result = await purger.run_once()
        if result.images or result.alerts:
            log.info("purge pass: %d report(s), %d image(s), %d alert(s)", result.reports, result.images,
                     result.alerts)

    return every("purge pass", interval, one_pass)
