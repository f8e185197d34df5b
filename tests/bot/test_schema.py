"""Migrations: the schema they build is exactly what the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bot.models import metadata
from bot.schema import pending_migrations


async def test_migrations_match_the_models(db) -> None:
    assert await pending_migrations(db.engine) == []

    def diff(connection):  # type: ignore[no-untyped-def]
        return compare_metadata(MigrationContext.configure(connection), metadata)

    async with db.engine.connect() as connection:
        changes = await connection.run_sync(diff)
    assert changes == [], f"models and migrations differ: {changes}"


async def test_sqlite_runs_in_wal_mode(tmp_path) -> None:
    from sqlalchemy import text

    from bot.db import make_engine

    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    async with engine.connect() as connection:
        mode = (await connection.execute(text("PRAGMA journal_mode"))).scalar()
    await engine.dispose()
    assert mode == "wal"
