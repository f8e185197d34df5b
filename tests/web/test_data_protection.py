"""Data protection, on SQLite and PostgreSQL: a child deletes their account; closed conversations expire."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update

from bot.audit import SYSTEM, AuditLog
from bot.db import Database, make_engine
from bot.hashlist import HashList, ImageHashes
from bot.models.accounts import User, WebSession
from bot.models.base import utcnow
from bot.models.chat import Conversation, Message
from bot.models.hashlist import HashListEntry
from bot.models.reports import Report, ReportImage
from bot.retention import DataProtection
from tests.harness import ROOT, audit_keyed, wait_for
from tests.imagefactory import make_image
from tests.web.test_upload import bot_texts, choose, to_upload_step, upload


async def _rows(database_url: str, model: Any) -> list[Any]:
    engine = make_engine(database_url)
    try:
        async with Database(engine).read() as session:
            return list((await session.execute(select(model))).scalars())
    finally:
        await engine.dispose()


async def _submitted_report_with_a_published_hash(kid: Any, database_url: str) -> tuple[int, str, list[str]]:
    """Upload two images, submit, and publish the first image's hashes as an analyst would."""
    client = await to_upload_step(kid)
    for seed in (1, 2):
        status, body = await upload(kid, client, f"{seed}.jpg", make_image(320, 240, seed=seed))
        assert status == 200, body
    await choose(client, "upload_done")
    await wait_for(lambda: any(s["state"] == "report_confirm" for s in kid.received("state")))
    await choose(client, "report_submit")
    await wait_for(lambda: any("Your reference is" in t for t in bot_texts(kid)))
    images = await _rows(database_url, ReportImage)
    reports = await _rows(database_url, Report)
    first = min(images, key=lambda i: i.id)
    engine = make_engine(database_url)
    try:
        await HashList(Database(engine)).do_publish(SYSTEM, first.id, "A", ImageHashes(
            first.md5, first.sha1, first.sha256, first.pdq, first.pdq_quality), report_ref=reports[0].reference)
    finally:
        await engine.dispose()
    return first.id, str(reports[0].reference), [i.vault_id for i in images]


async def test_a_child_deletes_their_account_and_published_hashes_stay_unlinked(
        server: Any, people: Any, database_url: str, tmp_path: Path) -> None:
    base = await server(database_url=database_url)
    kid = await people.child(base)
    other = await people.child(base)
    other_socket = await other.connect("/chat")
    await other_socket.call("hello", {"after": 0}, namespace="/chat", timeout=10)
    image_id, reference, vault_ids = await _submitted_report_with_a_published_hash(kid, database_url)
    vault = tmp_path / "vault"
    assert all((vault / v).is_file() for v in vault_ids)

    # The wrong password deletes nothing and says so.
    status, body = await kid.post("/auth/delete-account", {"password": "not my password"})
    assert (status, body["error"]["code"]) == (401, "bad_password")
    assert "not been deleted" in body["error"]["message"]
    assert len(await _rows(database_url, ReportImage)) == 2

    status, body = await kid.post("/auth/delete-account", {"password": kid.password})
    assert status == 200 and body["ok"], body
    assert body["deleted"] == {"conversations": 1, "messages": body["deleted"]["messages"], "reports": 1,
                               "images": 2, "hashes_kept": 1}
    assert body["deleted"]["messages"] > 5

    users = await _rows(database_url, User)
    assert kid.username not in {u.username for u in users} and other.username in {u.username for u in users}
    other_id = next(u.id for u in users if u.username == other.username)
    # Only the other child's things are left.
    assert {c.child_id for c in await _rows(database_url, Conversation)} == {other_id}
    assert {s.user_id for s in await _rows(database_url, WebSession)} == {other_id}
    assert await _rows(database_url, Report) == [] and await _rows(database_url, ReportImage) == []
    assert not any((vault / v).exists() for v in vault_ids)
    # The hash stays on the list for partners, with nothing leading back to the account.
    (entry,) = await _rows(database_url, HashListEntry)
    assert entry.withdrawn_at is None and entry.report_ref is None and entry.report_image_id == -image_id
    assert reference not in repr(await _rows(database_url, HashListEntry))
    # The deletion is audited without anything that identifies the child.
    engine = make_engine(database_url)
    try:
        records = await AuditLog(Database(engine)).get_for_subject("account:child")
        assert (await AuditLog(audit_keyed(Database(engine), tmp_path)).verify_chain()).ok
    finally:
        await engine.dispose()
    assert [(r.action, r.actor_id, r.details["images"]) for r in records] == [("account_delete", None, 2)]
    assert kid.username not in repr(records) and reference not in repr(records)

    # Signed out everywhere, and the name and password no longer sign in.
    async with kid.http.get(base.rstrip("/") + "/auth/me") as r:
        me = await r.json()
    assert me["user"] is None
    kid.csrf = me["csrf_token"]
    status, body = await kid.post("/auth/login", {"username": kid.username, "password": kid.password})
    assert (status, body["error"]["code"]) == (401, "bad_credentials")


async def test_staff_cannot_use_delete_account(server: Any, people: Any, tmp_path: Path) -> None:
    from tests.web.test_security import _staff

    database_url = f"sqlite+aiosqlite:///{tmp_path / 'staff.db'}"
    base = await server(database_url=database_url)
    counsellor = await _staff(base, database_url, "counsellor", people)
    status, body = await counsellor.post("/auth/delete-account", {"password": counsellor.password})
    assert (status, body["error"]["code"]) == (403, "forbidden")
    assert counsellor.username in {u.username for u in await _rows(database_url, User)}


async def _age(database_url: str, days: int) -> None:
    """Pretend every closed conversation closed `days` ago."""
    engine = make_engine(database_url)
    try:
        async with Database(engine).write() as session:
            await session.execute(update(Conversation).where(Conversation.closed_at.is_not(None))
                                  .values(closed_at=utcnow() - timedelta(days=days)))
    finally:
        await engine.dispose()


async def test_closed_conversations_are_removed_after_the_retention_period(
        server: Any, people: Any, database_url: str, tmp_path: Path) -> None:
    base = await server(database_url=database_url)
    # One child chats and leaves; one reports and leaves (the ticket must survive); one is still chatting.
    chatted, reported, still_here = [await people.child(base) for _ in range(3)]
    for kid in (chatted, still_here):
        client = await kid.connect("/chat")
        await client.call("hello", {"after": 0}, namespace="/chat", timeout=10)
        await client.call("say", {"text": "a private thing", "client_id": "c-1"}, namespace="/chat", timeout=10)
    await _submitted_report_with_a_published_hash(reported, database_url)
    engine = make_engine(database_url)
    try:
        db = audit_keyed(Database(engine), tmp_path)
        async with db.write() as session:
            open_ids = list((await session.execute(select(Conversation.id))).scalars())
            users = {u.username: u.id for u in (await session.execute(select(User))).scalars()}
            await session.execute(update(Conversation).where(Conversation.child_id != users[still_here.username])
                                  .values(closed_at=utcnow(), state="closed"))
        assert len(open_ids) == 3
        protection = DataProtection(db)

        # Not old enough yet: nothing goes.
        await _age(database_url, 89)
        assert (await protection.do_remove_expired(90)).conversations == 0
        await _age(database_url, 91)
        result = await protection.do_remove_expired(90)
        assert (result.conversations, result.transcripts_cleared) == (1, 1)
        async with db.read() as session:
            left = {c.child_id: c for c in (await session.execute(select(Conversation))).scalars()}
            counts = dict((await session.execute(select(Message.conversation_id, func.count())
                                                 .group_by(Message.conversation_id))).all())
            reports = list((await session.execute(select(Report))).scalars())
        # The chat that ended long ago is gone; the open one is untouched; the report keeps its
        # conversation row but the transcript is gone.
        assert set(left) == {users[still_here.username], users[reported.username]}
        assert counts.get(left[users[reported.username]].id, 0) == 0
        assert counts[left[users[still_here.username]].id] > 0
        assert [r.status for r in reports] == ["submitted"]
        # A second run has nothing left to do.
        again = await protection.do_remove_expired(90)
        assert (again.conversations, again.transcripts_cleared) == (0, 0)
        assert (await AuditLog(db).verify_chain()).ok
    finally:
        await engine.dispose()


def test_the_retention_command_runs_on_the_configured_database(tmp_path: Path) -> None:
    import os

    env = {**os.environ, "HAVEN_DATA_DIR": str(tmp_path), "HAVEN_CONVERSATION_RETENTION_DAYS": "30",
           "HAVEN_LOG_LEVEL": "warning"}
    done = subprocess.run([sys.executable, str(ROOT / "run.py"), "retention"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Removed 0 conversation(s) closed more than 30 days ago" in done.stdout
