"""Schema migrations through Alembic: apply them, or say which are pending."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str = "") -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url:
        config.set_main_option("sqlalchemy.url", url)
    return config


def _pending(connection: Connection) -> list[str]:
    script = ScriptDirectory.from_config(alembic_config())
    current = set(MigrationContext.configure(connection).get_current_heads())
    heads = set(script.get_heads())
    if current == heads:
        return []
    # Walk from the heads down to what the database has, newest first, then reverse.
    pending = []
    for rev in script.iterate_revisions(tuple(heads), tuple(current) or "base"):
        pending.append(rev.revision)
    return list(reversed(pending))


async def pending_migrations(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as connection:
        return await connection.run_sync(_pending)


def _upgrade(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    # Each area adds its own migration branch; "heads" applies all of them.
    command.upgrade(config, "heads")


async def upgrade(engine: AsyncEngine) -> list[str]:
    """Apply every pending migration; return the revisions applied."""
    todo = await pending_migrations(engine)
    if todo:
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade)
    return todo
