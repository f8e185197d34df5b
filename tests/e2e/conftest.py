"""Browser-test fixtures: one live server per module and pages in Debian's chromium."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.harness import LiveServer


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = LiveServer(tmp_path_factory.mktemp("e2e")).start()
    server.create_user("counsellor", "counsellor-e2e", "counsellor pass 1")
    yield server
    server.stop()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 360, "height": 740})
    ctx.set_default_timeout(10_000)
    yield ctx
    ctx.close()


@pytest.fixture
def shots(artifacts: Path) -> Path:
    return artifacts
