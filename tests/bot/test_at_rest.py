"""Issue 14's findings at rest: core dumps (M1), keys left behind by a purge (M2), file modes (M4)."""

from __future__ import annotations

import asyncio
import os
import resource
import secrets
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from bot.db import Database, make_engine
from bot.hardening import HardeningError, check_data_dir, check_key_location, is_dumpable
from bot.images.pool import HashingPool
from bot.images.vault import Vault
from bot.models.base import utcnow
from bot.review import do_withdraw_in_turn
from bot.schema import upgrade
from tests.bot.test_tickets import images_of, submitted_report, world
from tests.harness import ROOT, LiveServer


def core_dump_state() -> tuple[tuple[int, int], bool]:
    """Run in a hashing worker: its core-file limit and whether it could still dump."""
    return resource.getrlimit(resource.RLIMIT_CORE), is_dumpable()


async def test_hashing_workers_cannot_dump_core() -> None:
    pool = HashingPool(workers=1, timeout_s=30)
    try:
        limit, dumpable = await pool.run(core_dump_state)
    finally:
        pool.close()
    assert tuple(limit) == (0, 0) and dumpable is False


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_server_cannot_dump_core_and_keeps_its_files_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    # A database made before this check (or by a tool with a looser umask).
    sqlite3.connect(data / "haven.db").close()
    (data / "haven.db").chmod(0o644)
    live = LiveServer(data).start()
    try:
        limits = Path(f"/proc/{live.proc.pid}/limits").read_text()
        core = next(line for line in limits.splitlines() if line.startswith("Max core file size"))
        assert core.split()[4:6] == ["0", "0"], core
        assert _mode(data) == 0o700
        for name in ("haven.db", "haven.db-wal", "haven.db-shm", "master.key", "audit.key"):
            assert _mode(data / name) == 0o600, name
        assert _mode(data / "vault") == 0o700
        assert "made private" in live.log_path.read_text()
    finally:
        live.stop()


def _production_env(data: Path, keys: Path) -> dict[str, str]:
    return {**os.environ, "HAVEN_MODE": "production", "HAVEN_DEMO_STAFF": "false", "HAVEN_DATA_DIR": str(data),
            "HAVEN_VERIFICATION_PROVIDER": "yoti", "HAVEN_YOTI_API_KEY": "k", "HAVEN_YOTI_SDK_ID": "s",
            "HAVEN_YOTI_NOTIFY_SECRET": "x" * 16, "HAVEN_MASTER_KEY_FILE": str(keys / "master.key"),
            "HAVEN_AUDIT_KEY_FILE": str(keys / "audit.key"), "HAVEN_PORT": "1", "HAVEN_LOG_LEVEL": "warning"}


def _serve(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "run.py"), "serve"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)


def test_production_refuses_an_open_data_folder_or_a_key_inside_it(tmp_path: Path) -> None:
    data, keys = tmp_path / "data", tmp_path / "keys"
    data.mkdir()
    keys.mkdir()
    data.chmod(0o755)
    refused = _serve(_production_env(data, keys))
    assert refused.returncode == 2 and f"{data} can be read by other users" in refused.stderr, refused.stderr
    assert "chmod 700" in refused.stderr
    data.chmod(0o700)
    env = _production_env(data, keys)
    env["HAVEN_MASTER_KEY_FILE"] = str(data / "master.key")
    refused = _serve(env)
    assert refused.returncode == 2 and "is inside HAVEN_DATA_DIR" in refused.stderr, refused.stderr


def test_modes_are_tightened_in_development_and_keys_on_the_data_volume_warned(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "vault").mkdir(parents=True)
    data.chmod(0o755)
    (data / "haven.db-wal").write_bytes(b"")
    (data / "haven.db-wal").chmod(0o644)
    with pytest.raises(HardeningError, match="chmod 700"):
        check_data_dir(data, fix=False)
    fixed = check_data_dir(data, fix=True)
    assert len(fixed) == 3 and _mode(data) == 0o700 and _mode(data / "haven.db-wal") == 0o600
    assert check_data_dir(data, fix=False) == []
    beside = tmp_path / "keys" / "master.key"
    beside.parent.mkdir()
    warning = check_key_location(beside, data, "master key")
    assert warning and "same file system" in warning
    with pytest.raises(HardeningError):
        check_key_location(data / "sub" / "master.key", data, "master key")


async def test_a_purge_leaves_no_wrapped_key_on_disk(tmp_path: Path) -> None:
    """M2: the deleted keys stayed in haven.db-wal beside master.key (and in free pages)."""
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'haven.db'}")
    await upgrade(engine)
    db = Database(engine)
    try:
        w = await world(db, tmp_path)
        report = await submitted_report(w, count=3)
        keys = [image.wrapped_key for image in await images_of(db, report.id)]
        assert all(keys)
        async with db.write() as session:
            await do_withdraw_in_turn(session, w.child.user_id, report.id, utcnow())
        assert (await w.purger.run_once()).images == 3
        on_disk = b"".join(path.read_bytes() for path in tmp_path.glob("haven.db*"))
        assert on_disk, "the database files are where the test expects them"
        assert not [key for key in keys if key in on_disk]
        assert (tmp_path / "haven.db-wal").stat().st_size == 0
    finally:
        await engine.dispose()


def test_destroy_overwrites_the_ciphertext_before_removing_it(tmp_path: Path) -> None:
    vault = Vault(secrets.token_bytes(32), tmp_path / "vault")
    vault.seal("img-1", "rep-1", os.urandom(3 * 1024 * 1024 + 17))
    stored = tmp_path / "vault" / "img-1"
    # A second name for the same bytes on disk: what an unlink alone leaves behind.
    other_name = tmp_path / "vault-copy"
    os.link(stored, other_name)
    size = stored.stat().st_size
    vault.destroy("img-1")
    assert not stored.exists()
    assert other_name.read_bytes() == bytes(size)
    vault.destroy("img-1")  # a second call is harmless
