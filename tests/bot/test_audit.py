"""The audit log: a hash chain that names the first edited, deleted or reordered entry, and never forks."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from bot.audit import GENESIS, SYSTEM, Actor, AuditError, AuditLog, attach_key, entry_hash, read_checkpoint, sign_checkpoint
from bot.db import Database, make_engine
from bot.images.vault import load_or_create_key

ROOT = Path(__file__).resolve().parents[2]
ANALYST = Actor(7, "analyst")


async def _fill(log: AuditLog, n: int) -> None:
    for i in range(n):
        await log.do_record(ANALYST, "preview" if i % 2 else "reveal", f"image:{i + 1}", {"report": "HVN-7K3P-Q9"})


async def _unguard(db: Database) -> None:
    """Switch off the append-only triggers, as someone tampering with the database would."""
    async with db.engine.begin() as conn:
        if db.sqlite:
            await conn.execute(text("DROP TRIGGER audit_log_no_update"))
            await conn.execute(text("DROP TRIGGER audit_log_no_delete"))
        else:
            await conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))


async def _sql(db: Database, *statements: str) -> None:
    async with db.engine.begin() as conn:
        for statement in statements:
            await conn.execute(text(statement))


async def test_entries_link_to_the_one_before_and_verify(db) -> None:
    log = AuditLog(db)
    await _fill(log, 5)
    entries = await log.get_entries()
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0].prev_hash == GENESIS
    for before, after in zip(entries, entries[1:]):
        assert after.prev_hash == before.hash
    first = entries[0]
    assert first.hash == entry_hash(first.seq, first.at, 7, "analyst", "reveal", "image:1",
                                    {"report": "HVN-7K3P-Q9"}, GENESIS)
    report = await log.verify_chain()
    assert (report.ok, report.count, report.head_hash) == (True, 5, entries[-1].hash)


async def test_the_database_refuses_to_change_or_delete_entries(db) -> None:
    log = AuditLog(db)
    await _fill(log, 2)
    for statement in ("UPDATE audit_log SET subject = 'image:99' WHERE seq = 1", "DELETE FROM audit_log WHERE seq = 2"):
        with pytest.raises(DBAPIError):
            await _sql(db, statement)
    assert (await log.verify_chain()).ok


async def test_verify_names_an_edited_entry(db) -> None:
    log = AuditLog(db)
    await _fill(log, 6)
    await _unguard(db)
    await _sql(db, "UPDATE audit_log SET subject = 'image:99' WHERE seq = 4")
    report = await log.verify_chain()
    assert (report.ok, report.broken_at, report.count) == (False, 4, 3)
    assert "changed" in report.reason


async def test_verify_names_an_edit_that_also_recomputed_the_entrys_own_hash(db) -> None:
    log = AuditLog(db)
    await _fill(log, 5)
    entry = (await log.get_entries())[2]
    forged = entry_hash(entry.seq, entry.at, entry.actor_id, entry.actor_role, "purge", entry.subject,
                        entry.details, entry.prev_hash)
    await _unguard(db)
    await _sql(db, f"UPDATE audit_log SET action = 'purge', hash = '{forged}' WHERE seq = 3")
    report = await log.verify_chain()
    # Entry 3 is self-consistent now, but entry 4 still points at the old hash.
    assert (report.ok, report.broken_at) == (False, 4)


async def test_verify_names_a_deleted_entry(db) -> None:
    log = AuditLog(db)
    await _fill(log, 6)
    await _unguard(db)
    await _sql(db, "DELETE FROM audit_log WHERE seq = 3")
    report = await log.verify_chain()
    assert (report.ok, report.broken_at) == (False, 3)
    assert "missing" in report.reason


async def test_verify_names_reordered_entries(db) -> None:
    log = AuditLog(db)
    await _fill(log, 6)
    await _unguard(db)
    # Swap entries 3 and 4 (through a spare number, since seq is the primary key).
    await _sql(db, "UPDATE audit_log SET seq = 1000 WHERE seq = 3", "UPDATE audit_log SET seq = 3 WHERE seq = 4",
               "UPDATE audit_log SET seq = 4 WHERE seq = 1000")
    report = await log.verify_chain()
    assert (report.ok, report.broken_at) == (False, 3)
    assert "does not follow" in report.reason


async def test_concurrent_appends_never_fork_the_chain(db) -> None:
    log = AuditLog(db)
    await asyncio.gather(*(log.do_record(Actor(i, "analyst"), "assess", f"image:{i}") for i in range(40)))
    entries = await log.get_entries(limit=100)
    assert [e.seq for e in entries] == list(range(1, 41))
    assert sorted(e.actor_id for e in entries) == list(range(40))
    assert (await log.verify_chain()).ok


async def test_two_processes_appending_at_once_keep_one_chain(database_url, db) -> None:
    # A second engine is what a second server process would have: no shared in-process lock.
    other = Database(make_engine(database_url))
    try:
        logs = [AuditLog(db), AuditLog(other)]
        await asyncio.gather(*(logs[i % 2].do_record(SYSTEM, "purge", f"image:{i}") for i in range(30)))
    finally:
        await other.dispose()
    report = await AuditLog(db).verify_chain()
    assert (report.ok, report.count) == (True, 30)


async def test_entries_refuse_personal_looking_details(db) -> None:
    log = AuditLog(db)
    with pytest.raises(AuditError):
        await log.do_record(ANALYST, "decide", "report:HVN-1", {"message": "x" * 500})
    with pytest.raises(AuditError):
        await log.do_record(ANALYST, "decide", "report:HVN-1", {"nested": {"name": "someone"}})
    with pytest.raises(AuditError):
        await log.do_record(ANALYST, "Bad Action!", "report:HVN-1")
    with pytest.raises(AuditError):
        await log.do_record(Actor(1, "wizard"), "decide", "report:HVN-1")
    assert await log.get_entries() == []


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HAVEN_DATA_DIR": str(tmp_path), "DATABASE_URL": "", "HAVEN_LOG_LEVEL": "warning"}
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


async def test_audit_verify_command(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'haven.db'}")
    from bot.schema import upgrade

    await upgrade(engine)
    db = Database(engine)
    # Written as the server would: signed with the audit key the commands find in the data folder.
    attach_key(db, load_or_create_key(tmp_path / "audit.key", "audit key"))
    await _fill(AuditLog(db), 4)
    result = await asyncio.to_thread(_cli, tmp_path, "audit", "verify")
    assert result.returncode == 0 and result.stdout.startswith("ok: 4 entries"), result.stdout + result.stderr
    await _unguard(db)
    await _sql(db, "UPDATE audit_log SET actor_id = 8 WHERE seq = 2")
    await engine.dispose()
    result = await asyncio.to_thread(_cli, tmp_path, "audit", "verify")
    assert result.returncode == 1
    assert result.stdout.startswith("broken at entry 2: "), result.stdout


# The keyed chain and its checkpoints (issue 14, M3) -------------------------------------------

KEY = b"k" * 32


async def _rechain(db: Database, start: int) -> None:
    """What someone who can write the database but not read the audit key can do best: edit an entry and
    recompute every hash from there on (plain SHA-256, the only hash they can compute)."""
    log = AuditLog(db)
    entries = await log.get_entries(limit=1000)
    await _unguard(db)
    prev = entries[start - 2].hash if start > 1 else GENESIS
    async with db.engine.begin() as conn:
        for entry in entries[start - 1:]:
            subject = "image:999" if entry.seq == start else entry.subject
            digest = entry_hash(entry.seq, entry.at, entry.actor_id, entry.actor_role, entry.action, subject,
                                entry.details, prev)
            await conn.execute(text("UPDATE audit_log SET subject = :s, prev_hash = :p, hash = :h WHERE seq = :q"),
                               {"s": subject, "p": prev, "h": digest, "q": entry.seq})
            prev = digest


async def test_an_edit_rechained_without_the_key_is_caught(db) -> None:
    attach_key(db, KEY)
    await _fill(AuditLog(db), 6)
    await _rechain(db, 3)
    report = await AuditLog(db).verify_chain()
    assert (report.ok, report.broken_at) == (False, 3)
    assert "not signed with the audit key" in report.reason


async def test_a_log_rewritten_from_the_first_entry_is_caught(db) -> None:
    attach_key(db, KEY)
    await _fill(AuditLog(db), 6)
    await _rechain(db, 1)
    report = await AuditLog(db).verify_chain()
    assert not report.ok and "none of the 6 entries is signed" in report.reason


async def test_checkpoints_catch_entries_cut_off_the_end(db) -> None:
    attach_key(db, KEY)
    log = AuditLog(db)
    await _fill(log, 5)
    point = sign_checkpoint(KEY, await log.verify_chain())
    assert read_checkpoint(KEY, point.as_dict()) == point
    await _fill(log, 2)
    report = await log.verify_chain([point])
    assert (report.ok, report.count, report.checkpoints) == (True, 7, 1)
    await _unguard(db)
    await _sql(db, "DELETE FROM audit_log WHERE seq >= 4")
    report = await log.verify_chain([point])
    assert (report.ok, report.broken_at) == (False, 4)
    assert "cut off" in report.reason
    # A checkpoint only the key can sign: one written by someone else is refused.
    with pytest.raises(ValueError):
        read_checkpoint(KEY, {**point.as_dict(), "count": 3})
    with pytest.raises(ValueError):
        read_checkpoint(b"x" * 32, point.as_dict())


async def test_a_log_from_before_the_key_stays_verifiable(db) -> None:
    log = AuditLog(db)
    await _fill(log, 3)  # written before the audit key existed: plain SHA-256
    attach_key(db, KEY)
    # Nothing signed vouches for those three yet: only the operator, by checkpointing, can.
    report = await log.verify_chain()
    assert not report.ok and "no checkpoint vouches" in report.reason
    vouched = await log.verify_chain(vouch=True)
    assert (vouched.ok, vouched.unkeyed) == (True, 3)
    point = sign_checkpoint(KEY, vouched)
    assert (await log.verify_chain([point])).ok
    # Once keyed entries follow, the first of them covers the old head.
    await _fill(log, 2)
    report = await log.verify_chain()
    assert (report.ok, report.count, report.unkeyed) == (True, 5, 3)
    await _unguard(db)
    await _sql(db, "UPDATE audit_log SET subject = 'image:77' WHERE seq = 2")
    assert (await log.verify_chain()).broken_at == 2


def test_the_checkpoint_command_and_verify_against_it(tmp_path: Path) -> None:
    password = tmp_path / "pw"
    password.write_text("staff pass 1234")
    assert _cli(tmp_path, "create-user", "--role", "admin", "--username", "alex", "--password-file",
                str(password)).returncode == 0
    for action in ("disable", "enable", "disable"):
        assert _cli(tmp_path, "staff", action, "--username", "alex").returncode == 0
    points = tmp_path / "elsewhere" / "checkpoints"
    points.parent.mkdir()
    done = _cli(tmp_path, "audit", "checkpoint", "--checkpoints", str(points))
    assert done.returncode == 0 and "ok: 3 entries" in done.stdout, done.stdout + done.stderr
    assert oct(points.stat().st_mode & 0o777) == "0o600"
    done = _cli(tmp_path, "audit", "verify", "--checkpoints", str(points))
    assert done.returncode == 0 and "matches all 1 checkpoint(s)" in done.stdout, done.stdout + done.stderr
    # Someone with the database only removes the last entry: the checkpoint shows it.
    import sqlite3

    with sqlite3.connect(tmp_path / "haven.db") as conn:
        conn.execute("DROP TRIGGER audit_log_no_delete")
        conn.execute("DELETE FROM audit_log WHERE seq = 3")
    done = _cli(tmp_path, "audit", "verify", "--checkpoints", str(points))
    assert done.returncode == 1 and "cut off" in done.stdout, done.stdout + done.stderr
    # A forged checkpoint line is named.
    points.write_text(points.read_text().replace('"count": 3', '"count": 2'))
    done = _cli(tmp_path, "audit", "verify", "--checkpoints", str(points))
    assert done.returncode != 0 and "not signed with this audit key" in done.stdout + done.stderr
