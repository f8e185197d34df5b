"""The "needs info" thread: an analyst's question reaches the child's chat, the child's answer reaches the report.

The question is the message of a "needs_info" decision (bot/review.py); the child answers in their chat
(dialogs/reporting.py), which stores a ReportReply and puts the report back in the review queue
(`needs_info -> submitted`), all in the dialog turn's transaction. Analysts read the thread beside the
report and see which reports have answers nobody has opened yet.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from bot.models.base import utcnow
from bot.models.inquiries import ReportReply
from bot.models.reports import Report, ReportDecision
from bot.review import Who, check_analyst
from bot.tickets import move_ticket

ANSWER_MAX = 2000


@dataclass(frozen=True)
class ThreadItem:
    """One turn of the thread: the analyst's question or the child's answer, in the order they happened."""

    sender: str  # "analyst" | "child"
    text: str
    at: datetime
    seen: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {"sender": self.sender, "text": self.text, "at": self.at.isoformat(), "seen": self.seen}


async def do_answer_in_turn(session: AsyncSession, child_id: int, report_id: int, text: str,
                            now: datetime) -> Report | None:
    """Store the child's answer inside their dialog turn (which holds the conversation lock, taken first).

    Returns the report, or None when it is not this child's. A report still waiting for the answer goes
    back into the review queue; one an analyst has already reopened keeps its state and gets the answer too.
    """
    query = select(Report).where(Report.id == report_id, Report.child_id == child_id)
    if session.bind.dialect.name != "sqlite":
        query = query.with_for_update()
    report = (await session.execute(query.execution_options(populate_existing=True))).scalar_one_or_none()
    if report is None or report.status in ("draft", "cancelled"):
        return None
    session.add(ReportReply(report_id=report.id, child_id=child_id, text=text[:ANSWER_MAX], created_at=now))
    if report.status == "needs_info":
        move_ticket(report, "answer", now)
    await session.flush()
    return report


class Inquiries:
    """The analysts' side of the thread. Every call checks the caller is an analyst first."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get_unseen(self, who: Who | None, report_ids: Iterable[int]) -> set[int]:
        """Which of these reports have an answer from the child that no analyst has opened yet."""
        check_analyst(who)
        ids = list(report_ids)
        if not ids:
            return set()
        async with self.db.read() as session:
            rows = await session.scalars(select(ReportReply.report_id).where(
                ReportReply.report_id.in_(ids), ReportReply.seen_at.is_(None)).distinct())
            return set(rows.all())

    async def access_thread(self, who: Who | None, report_id: int) -> list[ThreadItem]:
        """The questions asked (confirmed "needs info" decisions) and the child's answers, oldest first."""
        check_analyst(who)
        async with self.db.read() as session:
            questions = (await session.execute(
                select(ReportDecision.message, ReportDecision.confirmed_at, ReportDecision.decided_at).where(
                    ReportDecision.report_id == report_id, ReportDecision.outcome == "needs_info",
                    ReportDecision.status == "confirmed"))).all()
            answers = (await session.scalars(
                select(ReportReply).where(ReportReply.report_id == report_id).order_by(ReportReply.id))).all()
        items = [ThreadItem("analyst", message or "", confirmed or decided) for message, confirmed, decided in questions]
        items += [ThreadItem("child", a.text, a.created_at, a.seen_at is not None) for a in answers]
        return sorted(items, key=lambda item: item.at)

    async def do_mark_seen(self, who: Who | None, report_id: int) -> int:
        """An analyst opened the report: its answers are no longer news. Returns how many were new."""
        actor = check_analyst(who)
        async with self.db.write() as session:
            result = await session.execute(
                update(ReportReply).where(ReportReply.report_id == report_id, ReportReply.seen_at.is_(None))
                .values(seen_at=utcnow(), seen_by=actor.id))
            return int(result.rowcount or 0)
