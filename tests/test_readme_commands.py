"""The README's run command brings Haven up on its embedded defaults, and demo staff are printed once."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.harness import free_port

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def _run_until_healthy(env: dict[str, str], port: int) -> str:
    proc = subprocess.Popen(["scripts/run"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    output = ""
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
            if proc.poll() is not None:
                break
        else:
            raise AssertionError("scripts/run did not bring the service up")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
            assert r.status == 200
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        output = proc.communicate(timeout=30)[0]
    return output


def test_readme_lists_exactly_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Two commands", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["scripts/run", "scripts/test"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "scripts/test" in ci


def test_run_command_serves_healthz_and_prints_demo_staff_once(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "HAVEN_PORT": str(port), "HAVEN_DATA_DIR": str(tmp_path / "var"),
           "HAVEN_ALLOWED_ORIGINS": f"http://127.0.0.1:{port}"}
    env.pop("HAVEN_DEMO_STAFF", None)
    first = _run_until_healthy(env, port)
    assert f"Haven is running at http://127.0.0.1:{port}/" in first
    found = re.findall(r"(counsellor|supervisor|analyst)\s+username: (\S+)\s+password: (\S+)", first)
    assert [role for role, _, _ in found] == ["counsellor", "supervisor", "analyst"]
    assert (tmp_path / "var" / "haven.db").exists()
    second = _run_until_healthy(env, port)
    assert "password:" not in second
