"""The staff pages' shared JavaScript module, run by Node's own test runner (tests/js/)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from tests.harness import IN_CI, ROOT


def test_the_shared_staff_module() -> None:
    node = shutil.which("node")
    if node is None:
        if IN_CI:
            pytest.fail("node is not installed", pytrace=False)
        pytest.skip("node is not installed")
    done = subprocess.run([node, "--test", str(ROOT / "tests" / "js")], capture_output=True, text=True, timeout=120, check=False,
                          env={"PATH": "/usr/bin:/bin", "TZ": "Europe/London"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "# fail 0" in done.stdout and re.search(r"# pass [1-9]", done.stdout), done.stdout
