"""The analyst's side of report tickets: the queue, a report's facts and images, assessments and decisions.

Every function here checks that the caller is an analyst first (`access_*` for reads, `do_*` for
writes), so no other role reaches a report or an image even if an edge forgets to. Every preview,
reveal, assessment, decision, confirmation and withdrawal is written to the audit log in the same
transaction as what it records (views: before the image leaves the server).
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Callable, Protocol, Sequence

from PIL import Image, ImageFilter, ImageOps
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

import bot.images.intake  # noqa: F401  (registers the HEIF opener with Pillow)
from bot.audit import Actor, append
from bot.db import Database
from bot.errors import Conflict, Forbidden, HavenError, Invalid, NotFound, Unauthorized
from bot.events import Event, EventSink
from bot.hashlist import HashList, ImageHashes, publish
from bot.images.vault import Vault, VaultError
from bot.models.base import utcnow
from bot.models.chat import Conversation
from bot.models.hashlist import HashListEntry
from bot.models.reports import (
    OUTCOMES,
    REASONS,
    VERDICTS,
    ImageAssessment,
    ImageMatch,
    Report,
    ReportDecision,
    ReportImage,
)
from bot.partners import Partners
from bot.pdqindex import LivePdqIndex
from bot.purge import Purger
from bot.tickets import FINISHED, UNDECIDED, News, Notifier, can_fire, lock_report, move_image, move_ticket

CATEGORY_OF = {"category_a": "A", "category_b": "B", "category_c": "C"}
MESSAGE_MAX = 1000
PREVIEW_LONG_SIDE = 480
CLEAR_LONG_SIDE = 2048
SEEN_BEFORE_DISTANCE = 31
_RETRIES = 4
# Outcome -> the ticket trigger that applies it.
TRIGGER_OF = {"actioned": "action", "not_actioned": "not_action", "needs_info": "ask_info"}


class Gone(HavenError):
    """An image whose key has been destroyed: only its hashes and assessments remain."""

    status = 410


class Who(Protocol):
    """Whoever is asking (bot.accounts.Identity fits)."""

    user_id: int
    role: str


@dataclass(frozen=True)
class ReviewConfig:
    """The review settings, as plain values from create_app."""

    second_analyst: bool = False
    retention_days: int = 0
    break_minutes: int = 30


def check_analyst(who: Who | None) -> Actor:
    if who is None:
        raise Unauthorized("not_signed_in", "Please sign in first.")
    if who.role != "analyst":
        raise Forbidden("forbidden", "Only analysts can open reports and their images.")
    return Actor(who.user_id, "analyst")


def check_verdict(value: object) -> str:
    if not isinstance(value, str) or value not in VERDICTS:
        raise Invalid("bad_verdict", "Choose one of: category A, B or C; not indecent; not a child; cannot tell.")
    return value


def check_decision(outcome: object, reason: object, message: object) -> tuple[str, str | None, str | None]:
    """An outcome with what it needs: a reason for 'not actioned', words for the child for 'needs info'."""
    if not isinstance(outcome, str) or outcome not in OUTCOMES:
        raise Invalid("bad_outcome", "Choose actioned, not actioned, or more information needed.")
    if outcome == "not_actioned":
        if not isinstance(reason, str) or reason not in REASONS:
            raise Invalid("bad_reason", "Choose a reason the child will be told: not indecent, not a child, "
                          "cannot tell, or other.")
        return outcome, reason, None
    if outcome == "needs_info":
        if not isinstance(message, str) or not message.strip():
            raise Invalid("message_missing", "Write the message the child will see in their chat.")
        text = " ".join(message.split())
        if len(text) > MESSAGE_MAX:
            raise Invalid("message_too_long", f"The message can be at most {MESSAGE_MAX} characters.")
        return outcome, None, text
    return outcome, None, None


def _render(data: bytes, long_side: int, blurred: bool) -> bytes:
    """A server-made copy for the console: upright, first frame, no metadata; blurred grey for a preview."""
    with Image.open(io.BytesIO(data)) as opened:
        opened.seek(0)
        image = ImageOps.exif_transpose(opened)
        image.thumbnail((long_side, long_side))
        out = io.BytesIO()
        if blurred:
            grey = image.convert("L")
            # Strong enough that nothing is recognisable at any zoom; the shapes still show it is a photo.
            grey = grey.filter(ImageFilter.GaussianBlur(radius=max(8, max(grey.size) // 20)))
            grey.save(out, "JPEG", quality=70)
        else:
            image.convert("RGB").save(out, "JPEG", quality=90)
        return out.getvalue()


def render_preview(data: bytes) -> bytes:
    return _render(data, PREVIEW_LONG_SIDE, blurred=True)


def render_clear(data: bytes) -> bytes:
    return _render(data, CLEAR_LONG_SIDE, blurred=False)


# Plain results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueItem:
    id: int
    reference: str
    status: str
    submitted_at: datetime
    age_band: str | None
    under_18: str
    verification_method: str | None
    images: int
    assessed: int
    decision_pending: bool

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["submitted_at"] = self.submitted_at.isoformat()
        return data


@dataclass(frozen=True)
class SeenBefore:
    source: str  # "report" (another report's image) or "hash_list"
    ref: str  # the other report's reference, or the hash-list entry's id
    distance: int
    verdict: str | None = None


@dataclass(frozen=True)
class ImageFacts:
    id: int
    status: str
    format: str
    width: int
    height: int
    frames: int
    byte_size: int
    pdq_quality: int
    verdict: str | None
    assessed_by: int | None
    viewable: bool
    seen_before: list[SeenBefore] = field(default_factory=list)
    hash_entry: dict[str, Any] | None = None
    feedback: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class DecisionFacts:
    id: int
    outcome: str
    reason: str | None
    message: str | None
    status: str
    decided_by: int | None
    decided_at: datetime
    confirmed_by: int | None
    confirmed_at: datetime | None


@dataclass(frozen=True)
class ReportFacts:
    id: int
    reference: str
    status: str
    submitted_at: datetime | None
    decided_at: datetime | None
    age_band: str | None
    under_18: str
    verification_method: str | None
    images: list[ImageFacts]
    decisions: list[DecisionFacts]

    @property
    def pending(self) -> DecisionFacts | None:
        return next((d for d in self.decisions if d.status == "pending"), None)

    def as_dict(self) -> dict[str, Any]:
        def clean(value: Any) -> Any:
            if isinstance(value, datetime):
                return value.isoformat()
            if isinstance(value, dict):
                return {k: clean(v) for k, v in value.items()}
            if isinstance(value, list):
                return [clean(v) for v in value]
            return value

        data = clean(asdict(self))
        pending = self.pending
        data["pending"] = clean(asdict(pending)) if pending is not None else None
        return data  # type: ignore[no-any-return]


# The service --------------------------------------------------------------------------------


class Review:
    """Report tickets for analysts. Holds collaborators only; every call is one or two transactions."""

    def __init__(self, db: Database, sink: EventSink, notifier: Notifier, purger: Purger, hashlist: HashList,
                 pdq_index: LivePdqIndex, partners: Partners, config: ReviewConfig,
                 vault: Callable[[], Vault | None] | None = None) -> None:
        self.db = db
        self.sink = sink
        self.notifier = notifier
        self.purger = purger
        self.hashlist = hashlist
        self.pdq_index = pdq_index
        self.partners = partners
        self.config = config
        # A getter for the vault, which the app opens at start-up.
        self.vault: Callable[[], Vault | None] = vault or (lambda: None)

    # Reading ---------------------------------------------------------------------------------

    async def get_queue(self, who: Who | None) -> list[QueueItem]:
        """Reports waiting for a decision, oldest report first."""
        check_analyst(who)
        async with self.db.read() as session:
            reports = (await session.scalars(
                select(Report).where(Report.status.in_(UNDECIDED)).order_by(Report.submitted_at, Report.id))).all()
            ids = [r.id for r in reports]
            counts = dict((await session.execute(
                select(ReportImage.report_id, func.count()).where(ReportImage.report_id.in_(ids))
                .group_by(ReportImage.report_id))).all()) if ids else {}
            assessed = dict((await session.execute(
                select(ReportImage.report_id, func.count()).where(
                    ReportImage.report_id.in_(ids), ReportImage.status == "assessed")
                .group_by(ReportImage.report_id))).all()) if ids else {}
            pending = set((await session.scalars(
                select(ReportDecision.report_id).where(
                    ReportDecision.report_id.in_(ids), ReportDecision.status == "pending"))).all()) if ids else set()
        return [QueueItem(r.id, r.reference or "", r.status, r.submitted_at or r.created_at, r.age_band, r.under_18,
                          r.verification_method, int(counts.get(r.id, 0)), int(assessed.get(r.id, 0)),
                          r.id in pending) for r in reports]

    async def access_report(self, who: Who | None, report_id: int) -> ReportFacts:
        """A submitted report with its images' facts, "seen before" links, hash entries and partner feedback."""
        check_analyst(who)
        async with self.db.read() as session:
            report = await self._reviewable(session, report_id)
            images = (await session.scalars(
                select(ReportImage).where(ReportImage.report_id == report.id).order_by(ReportImage.id))).all()
            latest = await _latest_assessments(session, [i.id for i in images])
            matches = (await session.execute(
                select(ImageMatch, Report.reference)
                .outerjoin(ReportImage, ReportImage.id == ImageMatch.matched_image_id)
                .outerjoin(Report, Report.id == ReportImage.report_id)
                .where(ImageMatch.image_id.in_([i.id for i in images])).order_by(ImageMatch.distance))).all()
            matched_ids = [m.matched_image_id for m, _ in matches if m.matched_image_id is not None]
            other_verdicts = await _latest_assessments(session, matched_ids)
            entries = {e.report_image_id: e for e in (await session.scalars(
                select(HashListEntry).where(HashListEntry.report_image_id.in_([i.id for i in images])))).all()}
            decisions = (await session.scalars(
                select(ReportDecision).where(ReportDecision.report_id == report.id)
                .order_by(ReportDecision.id))).all()
        facts: list[ImageFacts] = []
        for image in images:
            seen: dict[tuple[str, str], SeenBefore] = {}
            for match, reference in matches:
                if match.image_id != image.id:
                    continue
                if match.source == "report" and match.matched_image_id is not None:
                    verdict = other_verdicts.get(match.matched_image_id, (None, None))[0]
                    key = ("report", reference or "")
                    seen.setdefault(key, SeenBefore("report", reference or "", match.distance, verdict))
                elif match.source == "hash_list" and match.matched_ref:
                    seen.setdefault(("hash_list", match.matched_ref),
                                    SeenBefore("hash_list", match.matched_ref, match.distance))
            for item in await self._on_hash_list(image):
                seen.setdefault(("hash_list", item.ref), item)
            entry = entries.get(image.id)
            hash_entry = feedback = None
            if entry is not None:
                hash_entry = {"id": entry.public_id, "category": entry.category,
                              "active": entry.withdrawn_at is None}
                feedback = [{"partner": f.partner, "verdict": f.verdict, "note": f.note, "at": f.at}
                            for f in await self.partners.get_feedback(entry.public_id)]
            verdict, by = latest.get(image.id, (None, None))
            facts.append(ImageFacts(
                image.id, image.status, image.format, image.width, image.height, image.frames, image.byte_size,
                image.pdq_quality, verdict, by, image.wrapped_key is not None,
                sorted(seen.values(), key=lambda s: s.distance), hash_entry, feedback or []))
        return ReportFacts(
            report.id, report.reference or "", report.status, report.submitted_at, report.decided_at,
            report.age_band, report.under_18, report.verification_method, facts,
            [DecisionFacts(d.id, d.outcome, d.reason, d.message, d.status, d.decided_by, d.decided_at,
                           d.confirmed_by, d.confirmed_at) for d in decisions])

    async def _on_hash_list(self, image: ReportImage) -> list[SeenBefore]:
        """Hash-list entries (other than this image's own) within PDQ distance 31 of the image."""
        await self.pdq_index.refresh()
        distances: dict[str, int] = {}
        for pdq in (image.pdq, image.pdq_unrotated):
            if not pdq:
                continue
            for match in await self.pdq_index.search(pdq, SEEN_BEFORE_DISTANCE):
                distances[match.pdq] = min(match.distance, distances.get(match.pdq, 99))
        if not distances:
            return []
        entries = await self.hashlist.get_by_pdqs(distances)
        return [SeenBefore("hash_list", e.id, distances[e.pdq], f"category_{e.category.lower()}")
                for e in entries if e.report_image_id != image.id]

    async def _reviewable(self, session: AsyncSession, report_id: int) -> Report:
        report = await session.get(Report, report_id)
        # Drafts and cancelled drafts are the child's own until sent: analysts never see them.
        if report is None or report.status in ("draft", "cancelled"):
            raise NotFound("no_report", "There is no report with that number.")
        return report

    async def _view(self, who: Who | None, image_id: int, action: str) -> tuple[bytes, str]:
        actor = check_analyst(who)
        vault = self.vault()
        if vault is None:
            raise Conflict("vault_closed", "Images can't be opened right now. Please try again in a moment.")
        async with self.db.write() as session:
            image = await session.get(ReportImage, image_id)
            if image is None:
                raise NotFound("no_image", "There is no image with that number.")
            report = await self._reviewable(session, image.report_id)
            if image.wrapped_key is None:
                raise Gone("image_purged", "This image has been destroyed; only its hashes and assessment remain.")
            # Written before the image leaves the server: no view goes unrecorded.
            await append(session, actor, action, f"image:{image.id}", {"report": report.reference or str(report.id)})
            vault_id, report_key, wrapped = image.vault_id, str(image.report_id), image.wrapped_key
        try:
            data = await asyncio.to_thread(vault.open, vault_id, report_key, wrapped)
        except VaultError:
            raise Conflict("image_unreadable", "This image can't be opened. Please tell an administrator.") from None
        return data, report.reference or ""

    async def access_preview(self, who: Who | None, image_id: int) -> bytes:
        """A blurred greyscale JPEG of the image, made here from the decrypted bytes in memory."""
        data, _ = await self._view(who, image_id, "preview")
        return await asyncio.to_thread(render_preview, data)

    async def access_clear(self, who: Who | None, image_id: int) -> bytes:
        """The image itself, upright and stripped of metadata, as a JPEG."""
        data, _ = await self._view(who, image_id, "reveal")
        return await asyncio.to_thread(render_clear, data)

    # Writing ---------------------------------------------------------------------------------

    async def _retrying(self, work: Any) -> Any:
        for attempt in range(_RETRIES):
            try:
                return await work()
            except StaleDataError:
                # The child's chat moved on in another process while we wrote into it: do it again.
                if attempt == _RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    async def do_start(self, who: Who | None, report_id: int) -> str:
        """Take a waiting report into review (a no-op when it already is); the child hears about it."""
        actor = check_analyst(who)

        async def work() -> tuple[str, list[Event]]:
            now = utcnow()
            async with self.db.write() as session:
                report, conv = await lock_report(session, report_id)
                await self._reviewable(session, report.id)
                if report.status == "in_review":
                    return report.status, []
                # Back after a question (still waiting, or answered and queued again): "looking again".
                again = report.status == "needs_info" or await _asked(session, report.id)
                move_ticket(report, "start_review", now)
                await append(session, actor, "review_start", f"report:{report.reference}", {}, now=now)
                events = await self.notifier.tell_child(
                    session, report, conv, News("in_review", {"again": again}), now)
                return report.status, events

        status, events = await self._retrying(work)
        await self.sink.publish(events)
        return status  # type: ignore[no-any-return]

    async def do_assess(self, who: Who | None, image_id: int, verdict: object) -> str:
        actor = check_analyst(who)
        verdict = check_verdict(verdict)
        now = utcnow()
        async with self.db.write() as session:
            report_id = await session.scalar(select(ReportImage.report_id).where(ReportImage.id == image_id))
            if report_id is None:
                raise NotFound("no_image", "There is no image with that number.")
            report, _ = await lock_report(session, report_id)
            await self._reviewable(session, report.id)
            if report.status != "in_review":
                raise Conflict("not_in_review", "Open the report for review before assessing its images.")
            if await _pending(session, report.id) is not None:
                raise Conflict("decision_pending", "A decision is waiting for a second analyst. Reject it first "
                               "to change an assessment.")
            image = await session.get(ReportImage, image_id, populate_existing=True)
            assert image is not None
            move_image(image, "assess")
            session.add(ImageAssessment(image_id=image.id, analyst_id=actor.id, verdict=verdict, created_at=now))
            await append(session, actor, "assess", f"image:{image.id}",
                         {"report": report.reference, "verdict": verdict}, now=now)
        return verdict

    async def do_decide(self, who: Who | None, report_id: int, outcome: object, reason: object = None,
                        message: object = None) -> ReportDecision:
        """Decide a report in review. With a second analyst required the decision waits for one to confirm."""
        actor = check_analyst(who)
        outcome, reason, message = check_decision(outcome, reason, message)

        async def work() -> tuple[ReportDecision, list[Event], bool]:
            now = utcnow()
            async with self.db.write() as session:
                report, conv = await lock_report(session, report_id)
                await self._reviewable(session, report.id)
                if not can_fire(report.status, TRIGGER_OF[outcome]):
                    raise Conflict("not_in_review", "Only a report in review can be decided.")
                if await _pending(session, report.id) is not None:
                    raise Conflict("decision_pending", "A decision on this report is already waiting for a second "
                                   "analyst.")
                ready = await _readiness(session, report.id)
                if outcome == "actioned" and not all(ready.values()):
                    raise Conflict("not_ready", "Assess every image, and put at least one in category A, B or C, "
                                   "before actioning the report.")
                decision = ReportDecision(report_id=report.id, outcome=outcome, reason=reason, message=message,
                                          status="pending", decided_by=actor.id, decided_at=now)
                session.add(decision)
                await session.flush()
                await append(session, actor, "decide", f"report:{report.reference}",
                             {"outcome": outcome, "reason": reason, "decision": decision.id,
                              "awaits_second_analyst": self.config.second_analyst}, now=now)
                events: list[Event] = []
                if not self.config.second_analyst:
                    events = await self._apply(session, report, conv, decision, actor, now)
                return decision, events, report.status in FINISHED

        decision, events, finished = await self._retrying(work)
        await self._after(report_id, events, finished)
        return decision  # type: ignore[no-any-return]

    async def do_confirm(self, who: Who | None, report_id: int) -> ReportDecision:
        """A second analyst confirms a pending decision, which then takes effect."""
        actor = check_analyst(who)

        async def work() -> tuple[ReportDecision, list[Event], bool]:
            now = utcnow()
            async with self.db.write() as session:
                report, conv = await lock_report(session, report_id)
                await self._reviewable(session, report.id)
                decision = await _pending(session, report.id)
                if decision is None:
                    raise Conflict("nothing_pending", "There is no decision waiting to be confirmed.")
                if decision.decided_by == actor.id:
                    raise Forbidden("same_analyst", "Another analyst has to confirm your decision.")
                if decision.outcome == "actioned" and not all((await _readiness(session, report.id)).values()):
                    raise Conflict("not_ready", "The images' assessments no longer support actioning this report.")
                await append(session, actor, "confirm", f"report:{report.reference}",
                             {"decision": decision.id, "outcome": decision.outcome}, now=now)
                events = await self._apply(session, report, conv, decision, actor, now)
                return decision, events, report.status in FINISHED

        decision, events, finished = await self._retrying(work)
        await self._after(report_id, events, finished)
        return decision  # type: ignore[no-any-return]

    async def do_reject(self, who: Who | None, report_id: int) -> ReportDecision:
        """Send a pending decision back: the report stays in review and can be decided again."""
        actor = check_analyst(who)
        now = utcnow()
        async with self.db.write() as session:
            report, _ = await lock_report(session, report_id)
            await self._reviewable(session, report.id)
            decision = await _pending(session, report.id)
            if decision is None:
                raise Conflict("nothing_pending", "There is no decision waiting to be confirmed.")
            decision.status = "rejected"
            decision.confirmed_by = actor.id
            decision.confirmed_at = now
            await append(session, actor, "decision_reject", f"report:{report.reference}",
                         {"decision": decision.id}, now=now)
        return decision

    async def do_withdraw(self, who: Who | None, report_id: int) -> str:
        """Withdraw a report for the child (who asked a counsellor or analyst to); the child is told."""
        actor = check_analyst(who)

        async def work() -> list[Event]:
            now = utcnow()
            async with self.db.write() as session:
                report, conv = await lock_report(session, report_id)
                await self._reviewable(session, report.id)
                await withdraw(session, report, actor, now)
                return await self.notifier.tell_child(session, report, conv, News("withdrawn", {}), now)

        events = await self._retrying(work)
        await self._after(report_id, events, True)
        return "withdrawn"

    async def _apply(self, session: AsyncSession, report: Report, conv: Conversation | None,
                     decision: ReportDecision, actor: Actor, now: datetime) -> list[Event]:
        """Make a confirmed decision take effect: the ticket moves, hashes are published, the child is told."""
        decision.status = "confirmed"
        decision.confirmed_by = actor.id
        decision.confirmed_at = now
        if decision.outcome == "actioned":
            images = (await session.scalars(
                select(ReportImage).where(ReportImage.report_id == report.id).order_by(ReportImage.id))).all()
            latest = await _latest_assessments(session, [i.id for i in images])
            published = 0
            for image in images:
                category = CATEGORY_OF.get(latest.get(image.id, (None, None))[0] or "")
                if category is None:
                    continue
                await publish(session, actor, image.id, category,
                              ImageHashes(image.md5, image.sha1, image.sha256, image.pdq, image.pdq_quality),
                              report.reference)
                published += 1
            move_ticket(report, "action", now, all_assessed=True, categorised=published > 0)
            move_ticket(report, "publish", now)
            report.decided_at = now
            news = News("actioned", {"published": published, "others": len(images) - published})
        elif decision.outcome == "not_actioned":
            move_ticket(report, "not_action", now)
            report.decided_at = now
            news = News("not_actioned", {"reason": decision.reason})
        else:
            move_ticket(report, "ask_info", now)
            news = News("needs_info", {"message": decision.message})
        return await self.notifier.tell_child(session, report, conv, news, now)

    async def _after(self, report_id: int, events: Sequence[Event], finished: bool) -> None:
        await self.sink.publish(events)
        if finished and self.config.retention_days == 0:
            # "Kept for 0 days" means now: the analyst's decision is the last time anyone needs the images.
            await self.purger.do_purge_report(report_id)


async def withdraw(session: AsyncSession, report: Report, actor: Actor, now: datetime) -> None:
    """Withdraw a locked report inside the caller's transaction (a child in the chat, or an analyst)."""
    move_ticket(report, "withdraw", now)
    report.decided_at = now
    for pending in (await session.scalars(select(ReportDecision).where(
            ReportDecision.report_id == report.id, ReportDecision.status == "pending"))).all():
        pending.status = "rejected"
    await append(session, actor, "withdraw", f"report:{report.reference}", {}, now=now)


async def get_withdrawable(session: AsyncSession, child_id: int) -> Report | None:
    """The child's newest report still waiting for a decision (the one "withdraw my report" means)."""
    return (await session.scalars(
        select(Report).where(Report.child_id == child_id, Report.status.in_(UNDECIDED))
        .order_by(Report.submitted_at.desc(), Report.id.desc()).limit(1))).first()


async def do_withdraw_in_turn(session: AsyncSession, child_id: int, report_id: int, now: datetime) -> Report | None:
    """The child withdraws from the chat, inside the dialog turn (which already holds the conversation lock)."""
    query = select(Report).where(Report.id == report_id, Report.child_id == child_id)
    if session.bind.dialect.name != "sqlite":
        query = query.with_for_update()
    report = (await session.execute(query.execution_options(populate_existing=True))).scalar_one_or_none()
    if report is None or report.status not in UNDECIDED:
        return None
    await withdraw(session, report, Actor(child_id, "child"), now)
    return report


async def _asked(session: AsyncSession, report_id: int) -> bool:
    return (await session.scalar(select(ReportDecision.id).where(
        ReportDecision.report_id == report_id, ReportDecision.outcome == "needs_info",
        ReportDecision.status == "confirmed").limit(1))) is not None


async def _pending(session: AsyncSession, report_id: int) -> ReportDecision | None:
    return (await session.scalars(select(ReportDecision).where(
        ReportDecision.report_id == report_id, ReportDecision.status == "pending"))).first()


async def _latest_assessments(session: AsyncSession, image_ids: Sequence[int]) -> dict[int, tuple[str, int | None]]:
    """Each image's latest verdict and who gave it."""
    if not image_ids:
        return {}
    rows = (await session.execute(
        select(ImageAssessment.image_id, ImageAssessment.verdict, ImageAssessment.analyst_id)
        .where(ImageAssessment.image_id.in_(list(image_ids))).order_by(ImageAssessment.id))).all()
    return {image_id: (verdict, analyst) for image_id, verdict, analyst in rows}


async def _readiness(session: AsyncSession, report_id: int) -> dict[str, bool]:
    images = (await session.scalars(select(ReportImage.id).where(ReportImage.report_id == report_id))).all()
    latest = await _latest_assessments(session, images)
    return {"all_assessed": bool(images) and all(i in latest for i in images),
            "categorised": any(v in CATEGORY_OF for v, _ in latest.values())}
