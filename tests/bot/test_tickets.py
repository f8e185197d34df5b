"""Report tickets on SQLite and PostgreSQL: review, assessments, decisions, second analyst, withdrawal, purge, alerts."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.audit import AuditLog
from bot.conversations import get_messages_after
from bot.db import Database
from bot.errors import Conflict, Forbidden, NotFound, Unauthorized
from bot.events import ListSink, MessageEvent
from bot.hashlist import HashList
from bot.images.intake import check_and_hash
from bot.images.vault import Vault
from bot.models.accounts import User
from bot.models.base import utcnow
from bot.models.chat import Conversation
from bot.models.hashlist import HashListEntry
from bot.models.reports import ImageAssessment, Report, ReportDecision, ReportImage
from bot.partners import Partners
from bot.pdqindex import LivePdqIndex
from bot.purge import PurgeConfig, Purger
from bot.queue import StaffAlert
from bot.reports import ReportService, UploadLimits
from bot.review import Review, ReviewConfig, do_withdraw_in_turn
from bot.tickets import IMAGES, TICKETS, Notifier, can_fire
from dialogs.reporting import ticket_text
from tests.imagefactory import make_image


@dataclass(frozen=True)
class Who:
    user_id: int
    role: str


@dataclass
class World:
    db: Database
    vault: Vault
    vault_dir: Path
    sink: ListSink
    review: Review
    purger: Purger
    hashlist: HashList
    child: Who
    ana: Who
    bob: Who


async def _user(db: Database, role: str) -> Who:
    name = f"{role[:3]}{uuid.uuid4().hex[:8]}"
    async with db.write() as session:
        user = User(username=name, username_key=name, password_hash="not-a-real-hash", role=role)
        session.add(user)
        await session.flush()
        return Who(user.id, role)


async def world(db: Database, tmp_path: Path, *, second: bool = False, retention: int = 0,
                alert_days: int = 7) -> World:
    vault_dir = tmp_path / "vault"
    vault = Vault(secrets.token_bytes(32), vault_dir)
    sink = ListSink()
    notifier = Notifier(ticket_text)
    hashlist = HashList(db)
    index = LivePdqIndex(hashlist)
    purger = Purger(db, sink, notifier, PurgeConfig(retention_days=retention, undecided_alert_days=alert_days),
                    vault=lambda: vault)
    review = Review(db, sink, notifier, purger, hashlist, index, Partners(db),
                    ReviewConfig(second_analyst=second, retention_days=retention), vault=lambda: vault)
    return World(db, vault, vault_dir, sink, review, purger, hashlist, await _user(db, "child"),
                 await _user(db, "analyst"), await _user(db, "analyst"))


async def submitted_report(w: World, count: int = 3, child: Who | None = None,
                           datas: list[bytes] | None = None) -> Report:
    """A child's report with `count` synthetic images (or `datas`), sealed in the vault and submitted."""
    child = child or w.child
    service = ReportService(w.db, UploadLimits())
    now = utcnow()
    async with w.db.write() as session:
        conv = Conversation(child_id=child.user_id, state="report_confirm", context={}, age_band="13_15")
        session.add(conv)
        await session.flush()
        report = await service.do_open_draft(session, conv, now)
        for seed, given in enumerate(datas or [None] * count):
            data = given or make_image(320 + 40 * seed, 240, seed=seed + 100 * report.id)
            hashes = check_and_hash(data)
            vault_id = secrets.token_hex(16)
            wrapped = w.vault.seal(vault_id, str(report.id), data)
            session.add(ReportImage(
                report_id=report.id, vault_id=vault_id, sha256=hashes.sha256, sha1=hashes.sha1, md5=hashes.md5,
                pdq=hashes.pdq, pdq_quality=hashes.pdq_quality, pdq_unrotated=hashes.pdq_unrotated,
                phash=hashes.phash, format=hashes.format, width=hashes.width, height=hashes.height,
                frames=hashes.frames, byte_size=len(data), wrapped_key=wrapped, status="received", created_at=now))
        await session.flush()
        report, _ = await service.do_submit(session, conv, now)
        conv.state = "report_submitted"
    return report


async def images_of(db: Database, report_id: int) -> list[ReportImage]:
    async with db.read() as session:
        return list((await session.scalars(
            select(ReportImage).where(ReportImage.report_id == report_id).order_by(ReportImage.id))).all())


async def child_texts(db: Database, child_id: int) -> list[str]:
    async with db.read() as session:
        convs = (await session.scalars(
            select(Conversation.id).where(Conversation.child_id == child_id).order_by(Conversation.id))).all()
        texts: list[str] = []
        for conv_id in convs:
            texts.extend(m.text for m in await get_messages_after(session, conv_id, 0))
    return texts


def published_to_child(sink: ListSink, child_id: int) -> list[str]:
    return [e.message.text for e in sink.events if isinstance(e, MessageEvent) and e.child_id == child_id]


# The machines alone ------------------------------------------------------------------------


def test_the_machines_allow_only_the_documented_moves() -> None:
    assert can_fire("submitted", "start_review") and can_fire("needs_info", "start_review")
    assert not can_fire("draft", "start_review")
    for state in ("submitted", "in_review", "needs_info"):
        assert can_fire(state, "withdraw")
    for state in ("actioned", "not_actioned", "hashes_published", "closed", "withdrawn", "draft"):
        assert not can_fire(state, "withdraw")
    assert TICKETS.get_triggers("hashes_published") == ["close"]
    assert sorted(IMAGES.get_triggers("assessed")) == ["assess", "purge"]
    assert IMAGES.get_triggers("purged") == []


# The whole ticket, on both databases ---------------------------------------------------------


async def test_review_assess_action_publish_purge_and_the_child_hears_each_step(db, tmp_path) -> None:
    w = await world(db, tmp_path)
    report = await submitted_report(w)
    [first, second, third] = await images_of(db, report.id)
    assert {i.status for i in (first, second, third)} == {"quarantined"}

    queue = await w.review.get_queue(w.ana)
    assert [(q.reference, q.images, q.assessed, q.status) for q in queue] == [(report.reference, 3, 0, "submitted")]

    assert await w.review.do_start(w.ana, report.id) == "in_review"
    assert await w.review.do_start(w.ana, report.id) == "in_review"  # opening again changes nothing
    live = published_to_child(w.sink, w.child.user_id)
    assert len(live) == 1 and "started looking at your report " + report.reference in live[0]

    await w.review.do_assess(w.ana, first.id, "category_a")
    await w.review.do_assess(w.ana, second.id, "category_b")
    with pytest.raises(Conflict) as refused:
        await w.review.do_decide(w.ana, report.id, "actioned")
    assert refused.value.code == "not_ready"
    await w.review.do_assess(w.ana, third.id, "not_indecent")
    await w.review.do_assess(w.ana, second.id, "category_c")  # a change of mind: the latest verdict counts

    decision = await w.review.do_decide(w.ana, report.id, "actioned")
    assert decision.status == "confirmed"

    async with db.read() as session:
        report_now = await session.get(Report, report.id)
        entries = (await session.scalars(select(HashListEntry).order_by(HashListEntry.report_image_id))).all()
        assessments = (await session.scalars(select(ImageAssessment))).all()
    # Retention 0: decided means purged at once, and the ticket is closed.
    assert report_now.status == "closed" and report_now.decided_at is not None
    assert [(e.report_image_id, e.category, e.md5) for e in entries] == [
        (first.id, "A", first.md5), (second.id, "C", second.md5)]
    assert len(assessments) == 4

    after = await images_of(db, report.id)
    assert [i.status for i in after] == ["purged"] * 3
    assert all(i.wrapped_key is None and i.purged_at is not None for i in after)
    assert [i.sha256 for i in after] == [i.sha256 for i in (first, second, third)]  # hashes stay
    assert list(w.vault_dir.iterdir()) == []  # ciphertext gone too

    texts = await child_texts(db, w.child.user_id)
    assert any("made digital fingerprints of 2 images" in t and "couldn't do the same for 1 image" in t for t in texts)
    assert any(t.startswith(f"The images you sent with report {report.reference} have now been deleted") and
               "fingerprints stay" in t for t in texts)
    assert published_to_child(w.sink, w.child.user_id) == texts  # live and stored say the same

    actions = [(e.action, e.subject) for e in await AuditLog(db).get_entries(limit=100)]
    assert actions.count(("assess", f"image:{second.id}")) == 2
    assert ("decide", f"report:{report.reference}") in actions
    assert sorted(s for a, s in actions if a == "purge") == sorted(f"image:{i.id}" for i in after)
    assert sum(a == "hash_publish" for a, _ in actions) == 2
    assert (await AuditLog(db).verify_chain()).ok


async def test_not_actioned_needs_info_and_reopening_speak_kindly(db, tmp_path) -> None:
    w = await world(db, tmp_path, retention=30)
    report = await submitted_report(w, count=1)
    await w.review.do_start(w.ana, report.id)
    with pytest.raises(Exception) as missing:
        await w.review.do_decide(w.ana, report.id, "needs_info", message="   ")
    assert getattr(missing.value, "code", "") == "message_missing"
    await w.review.do_decide(w.ana, report.id, "needs_info", message="Is the person in the photo you?")
    texts = published_to_child(w.sink, w.child.user_id)
    assert texts[-1].startswith(f"Our team is working on your report {report.reference} and needs a little more")
    assert '"Is the person in the photo you?"' in texts[-1]

    with pytest.raises(Conflict):
        await w.review.do_decide(w.ana, report.id, "not_actioned", reason="not_a_child")
    await w.review.do_start(w.ana, report.id)
    assert "looking at your report" in published_to_child(w.sink, w.child.user_id)[-1]
    with pytest.raises(Exception) as no_reason:
        await w.review.do_decide(w.ana, report.id, "not_actioned")
    assert getattr(no_reason.value, "code", "") == "bad_reason"
    await w.review.do_decide(w.ana, report.id, "not_actioned", reason="not_a_child")
    said = published_to_child(w.sink, w.child.user_id)[-1]
    assert "can't ask websites to remove" in said and "under 18" in said and "isn't your fault" in said

    # Kept for 30 days: nothing is purged before then, everything after.
    assert (await w.purger.run_once()).images == 0
    assert all(i.wrapped_key is not None for i in await images_of(db, report.id))
    result = await w.purger.run_once(utcnow() + timedelta(days=30, minutes=1))
    assert (result.reports, result.images) == (1, 1)
    assert [i.status for i in await images_of(db, report.id)] == ["purged"]
    async with db.read() as session:
        assert (await session.get(Report, report.id)).status == "closed"
        assert (await session.scalar(select(HashListEntry.id))) is None  # nothing was published


async def test_a_second_analyst_must_confirm(db, tmp_path) -> None:
    w = await world(db, tmp_path, second=True)
    report = await submitted_report(w, count=2)
    [one, two] = await images_of(db, report.id)
    await w.review.do_start(w.ana, report.id)
    await w.review.do_assess(w.ana, one.id, "category_a")
    await w.review.do_assess(w.ana, two.id, "cannot_tell")
    before = len(published_to_child(w.sink, w.child.user_id))
    pending = await w.review.do_decide(w.ana, report.id, "actioned")
    assert pending.status == "pending"
    assert len(published_to_child(w.sink, w.child.user_id)) == before  # nothing decided yet
    assert (await w.review.get_queue(w.bob))[0].decision_pending

    with pytest.raises(Conflict) as locked:
        await w.review.do_assess(w.bob, two.id, "category_b")
    assert locked.value.code == "decision_pending"
    with pytest.raises(Forbidden) as same:
        await w.review.do_confirm(w.ana, report.id)
    assert same.value.code == "same_analyst"

    await w.review.do_reject(w.bob, report.id)
    await w.review.do_assess(w.bob, two.id, "category_b")
    await w.review.do_decide(w.bob, report.id, "actioned")
    confirmed = await w.review.do_confirm(w.ana, report.id)
    assert confirmed.status == "confirmed" and confirmed.confirmed_by == w.ana.user_id
    async with db.read() as session:
        assert (await session.get(Report, report.id)).status == "closed"
        decisions = (await session.scalars(select(ReportDecision).order_by(ReportDecision.id))).all()
        assert [d.status for d in decisions] == ["rejected", "confirmed"]
        assert len((await session.scalars(select(HashListEntry))).all()) == 2
    actions = [e.action for e in await AuditLog(db).get_entries(limit=100)]
    assert actions.count("decide") == 2 and "decision_reject" in actions and "confirm" in actions


async def test_the_child_withdraws_before_a_decision_and_never_after(db, tmp_path) -> None:
    w = await world(db, tmp_path)
    report = await submitted_report(w, count=2)
    await w.review.do_start(w.ana, report.id)
    async with db.write() as session:
        done = await do_withdraw_in_turn(session, w.child.user_id, report.id, utcnow())
    assert done is not None and done.status == "withdrawn"
    with pytest.raises(Conflict) as late:
        await w.review.do_decide(w.ana, report.id, "not_actioned", reason="other")
    assert late.value.code == "not_in_review"
    # The withdrawal is purged by the next pass (retention 0), and the child is told.
    result = await w.purger.run_once()
    assert (result.reports, result.images) == (1, 2)
    assert "have now been deleted" in published_to_child(w.sink, w.child.user_id)[-1]
    entries = await AuditLog(db).get_entries(limit=100)
    withdrawal = next(e for e in entries if e.action == "withdraw")
    assert (withdrawal.actor_role, withdrawal.actor_id) == ("child", w.child.user_id)

    # Another child's report can't be withdrawn by this child; a decided one by nobody.
    other_child = await _user(db, "child")
    theirs = await submitted_report(w, count=1, child=other_child)
    async with db.write() as session:
        assert await do_withdraw_in_turn(session, w.child.user_id, theirs.id, utcnow()) is None
    async with db.read() as session:
        assert (await session.get(Report, theirs.id)).status == "submitted"


async def test_ticket_news_opens_a_conversation_when_the_child_has_none(db, tmp_path) -> None:
    w = await world(db, tmp_path)
    report = await submitted_report(w, count=1)
    async with db.write() as session:
        conv = await session.get(Conversation, report.conversation_id)
        conv.closed_at = utcnow()
        conv.state = "closed"
    await w.review.do_start(w.ana, report.id)
    async with db.read() as session:
        convs = (await session.scalars(select(Conversation).where(
            Conversation.child_id == w.child.user_id).order_by(Conversation.id))).all()
    assert len(convs) == 2 and convs[1].closed_at is None and convs[1].state == "menu"
    async with db.read() as session:
        [message] = await get_messages_after(session, convs[1].id, 0)
    assert message.sender == "bot" and report.reference in message.text


async def test_undecided_reports_raise_one_alert_each(db, tmp_path) -> None:
    w = await world(db, tmp_path, alert_days=7)
    old = await submitted_report(w, count=1)
    await submitted_report(w, count=1)
    async with db.write() as session:
        (await session.get(Report, old.id)).submitted_at = utcnow() - timedelta(days=8)
    assert (await w.purger.run_once()).alerts == 1
    assert (await w.purger.run_once()).alerts == 0
    alerts = [e for e in w.sink.events if isinstance(e, StaffAlert)]
    assert [(a.name, a.data["reference"], a.data["days"]) for a in alerts] == [
        ("report_undecided", old.reference, 8)]
    assert [e.subject for e in await AuditLog(db).get_entries(limit=100) if e.action == "undecided_alert"] == [
        f"report:{old.reference}"]


async def test_only_analysts_reach_reports_and_images(db, tmp_path) -> None:
    w = await world(db, tmp_path)
    report = await submitted_report(w, count=1)
    [image] = await images_of(db, report.id)
    for role in ("child", "counsellor", "supervisor", "admin"):
        who = Who(w.child.user_id, role)
        for call in (w.review.get_queue(who), w.review.access_report(who, report.id),
                     w.review.access_preview(who, image.id), w.review.access_clear(who, image.id),
                     w.review.do_start(who, report.id), w.review.do_assess(who, image.id, "category_a"),
                     w.review.do_decide(who, report.id, "actioned"), w.review.do_withdraw(who, report.id)):
            with pytest.raises(Forbidden):
                await call
    with pytest.raises(Unauthorized):
        await w.review.get_queue(None)
    assert not [e for e in await AuditLog(db).get_entries(limit=100) if e.action in ("preview", "reveal")]

    # Drafts are the child's own until sent.
    async with db.write() as session:
        conv = Conversation(child_id=w.child.user_id, state="report_upload", context={})
        session.add(conv)
        await session.flush()
        draft = Report(conversation_id=conv.id, child_id=w.child.user_id, status="draft")
        session.add(draft)
    with pytest.raises(NotFound):
        await w.review.access_report(w.ana, draft.id)


async def test_previews_are_blurred_grey_and_every_view_is_audited(db, tmp_path) -> None:
    from io import BytesIO

    from PIL import Image

    w = await world(db, tmp_path, retention=5)
    report = await submitted_report(w, count=1)
    [image] = await images_of(db, report.id)
    preview = Image.open(BytesIO(await w.review.access_preview(w.ana, image.id)))
    clear = Image.open(BytesIO(await w.review.access_clear(w.ana, image.id)))
    assert preview.mode == "L" and max(preview.size) <= 480
    assert clear.mode == "RGB" and clear.size == (image.width, image.height)
    # Blurred: far less fine detail than the clear image at the same size.
    small = clear.convert("L").resize(preview.size)
    edges = lambda im: sum(abs(a - b) for a, b in zip(im.tobytes(), im.tobytes()[1:]))  # noqa: E731
    assert edges(preview) * 2 < edges(small)
    entries = [(e.action, e.subject, e.actor_id) for e in await AuditLog(db).get_entries(limit=100)]
    assert entries == [("preview", f"image:{image.id}", w.ana.user_id), ("reveal", f"image:{image.id}", w.ana.user_id)]

    facts = await w.review.access_report(w.ana, report.id)
    assert facts.images[0].viewable and facts.under_18 == "unknown" and facts.age_band == "13_15"


async def test_seen_before_on_the_hash_list_and_partner_feedback_reach_the_analyst(db, tmp_path) -> None:
    from tests.imagefactory import resized_reencoded

    w = await world(db, tmp_path, retention=30)
    original = make_image(600, 400, seed=901)
    first = await submitted_report(w, datas=[original])
    [image] = await images_of(db, first.id)
    await w.review.do_start(w.ana, first.id)
    await w.review.do_assess(w.ana, image.id, "category_b")
    await w.review.do_decide(w.ana, first.id, "actioned")
    [entry] = [e async for e in w.hashlist.iter_active()]
    partners = Partners(db)
    acme = (await partners.do_create("acme")).partner
    await partners.do_feedback(acme, entry.id, "removed", "3 copies")

    facts = await w.review.access_report(w.ana, first.id)
    assert facts.images[0].hash_entry == {"id": entry.id, "category": "B", "active": True}
    assert [(f["partner"], f["verdict"], f["note"]) for f in facts.images[0].feedback] == [("acme", "removed", "3 copies")]
    assert facts.images[0].seen_before == []  # its own entry is not "seen before"

    # A later report of a resized copy: the analyst sees it is on the list already, with its category.
    second = await submitted_report(w, datas=[resized_reencoded(original, 0.7)])
    seen = (await w.review.access_report(w.ana, second.id)).images[0].seen_before
    assert [(s.source, s.ref, s.verdict) for s in seen] == [("hash_list", entry.id, "category_b")]
    assert seen[0].distance <= 31

    # And an upload is linked to the list as it arrives (the index is read before the write).
    service = ReportService(db, UploadLimits())
    service.attach_hash_list(w.hashlist, LivePdqIndex(w.hashlist))
    linked = await service._hash_list_matches(check_and_hash(resized_reencoded(original, 0.5)))
    assert [entry_id for entry_id, _ in linked] == [entry.id]
    assert await service._hash_list_matches(check_and_hash(make_image(600, 400, seed=902))) == []
