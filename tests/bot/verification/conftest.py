"""Fixtures for the verification tests: a fresh in-memory database and the fake Yoti."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

# pytest's default import mode does not put the repository root on sys.path and the
# project sets no `pythonpath` yet; without this `bot` and `tests.fakes` do not import.
_ROOT = str(Path(__file__).resolve().parents[3])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine  # noqa: E402
from sqlalchemy.pool import StaticPool  # noqa: E402

import bot.models.verification  # noqa: E402,F401  (registers the tables on Base.metadata)
from bot.models.base import Base  # noqa: E402
from tests.fakes.fake_yoti import fake_yoti  # noqa: E402,F401  (the fixture, by import)


@pytest.fixture
async def engine() -> AsyncIterator[AsyncEngine]:
    # StaticPool: every session shares the one in-memory database, like processes share a server.
    engine = create_async_engine("sqlite+aiosqlite://", poolclass=StaticPool)
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def session_maker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
