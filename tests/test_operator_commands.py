"""Issue 14's operator commands, run as an operator would: `run.py staff ...`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.harness import ROOT


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HAVEN_DATA_DIR": str(tmp_path), "DATABASE_URL": "", "HAVEN_LOG_LEVEL": "warning"}
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_the_staff_commands_disable_reset_and_delete(tmp_path: Path) -> None:
    password = tmp_path / "pw"
    password.write_text("staff pass 1234")
    assert _run(tmp_path, "create-user", "--role", "counsellor", "--username", "sam",
                "--password-file", str(password)).returncode == 0
    done = _run(tmp_path, "staff", "disable", "--username", "sam")
    assert done.returncode == 0 and "cannot sign in" in done.stdout, done.stderr
    assert _run(tmp_path, "staff", "enable", "--username", "Sam").returncode == 0
    password.write_text("a new pass 5678")
    done = _run(tmp_path, "staff", "reset-password", "--username", "sam", "--password-file", str(password))
    assert done.returncode == 0 and "new password" in done.stdout, done.stderr
    password.write_text("short")
    refused = _run(tmp_path, "staff", "reset-password", "--username", "sam", "--password-file", str(password))
    assert refused.returncode == 2 and "password_too_short" in refused.stderr
    assert _run(tmp_path, "staff", "reset-totp", "--username", "sam").returncode == 0
    unsure = _run(tmp_path, "staff", "delete", "--username", "sam")
    assert unsure.returncode == 2 and "--yes" in unsure.stderr
    done = _run(tmp_path, "staff", "delete", "--username", "sam", "--yes")
    assert done.returncode == 0 and "Deleted staff account 'sam'" in done.stdout, done.stderr
    missing = _run(tmp_path, "staff", "disable", "--username", "sam")
    assert missing.returncode == 2 and "no_staff_user" in missing.stderr
    verified = _run(tmp_path, "audit", "verify")
    assert verified.returncode == 0 and "5 entries" in verified.stdout, verified.stdout + verified.stderr
