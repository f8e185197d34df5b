"""Database engines: the embedded SQLite file (WAL) or PostgreSQL, both through SQLAlchemy async."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

Sessions = async_sessionmaker[AsyncSession]


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """Create the engine; for SQLite make its folder and switch on WAL, foreign keys and a busy wait.

    Parameters are never put into the engine's log lines or error messages (`hide_parameters`): they
    hold message text, password hashes, tokens' hashes and client addresses.
    """
    kwargs.setdefault("hide_parameters", True)
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        engine = create_async_engine(url, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=10000")
            # Deleted content (a purged image's wrapped key) is overwritten with zeros, not left in free space.
            cursor.execute("PRAGMA secure_delete=ON")
            cursor.close()

        return engine
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kwargs)


def make_sessions(engine: AsyncEngine, info: dict[str, Any] | None = None) -> Sessions:
    # `info` is copied into every session's own `info` (bot.audit finds its key there).
    return async_sessionmaker(engine, expire_on_commit=False, info=info)


class WriteLock:
    """An asyncio lock whose waiters go in by priority (lower first), then in arrival order.

    On SQLite every write waits its turn for the one writer. Chat is someone waiting on the other
    end; storing an uploaded image's record is not, and a child's upload already takes seconds. With
    20 uploads being hashed the upload writes kept the lock busy, and a chat message queued behind
    thirty of them (bench/hashing.py: p50 131 ms); now it waits for at most the one being written.
    """

    def __init__(self) -> None:
        self._locked = False
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._arrivals = itertools.count()

    def locked(self) -> bool:
        return self._locked

    async def acquire(self, priority: int = 0) -> None:
        if not self._locked and not self._waiters:
            self._locked = True
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (priority, next(self._arrivals), turn))
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.release()  # handed the lock just as we were cancelled: pass it on
            raise

    def release(self) -> None:
        while self._waiters:
            _, _, turn = heapq.heappop(self._waiters)
            if not turn.done():
                turn.set_result(None)  # the lock passes straight to the next waiter
                return
        self._locked = False


URGENT = 0
BACKGROUND = 10


class Database:
    """The engine plus a session factory, and one write path that suits the backend.

    SQLite allows one writer at a time; two overlapping write transactions in one process would
    make one fail with "database is locked". So on SQLite writes queue on a WriteLock (the embedded
    default is one process), background writes after urgent ones; PostgreSQL takes them concurrently
    under row locks.
    """

    def __init__(self, engine: AsyncEngine | None = None) -> None:
        self._write_lock: WriteLock | None = None
        self.sqlite = False
        # What every session of this database should carry (the audit key); set at start-up.
        self.info: dict[str, Any] = {}
        if engine is not None:
            self.bind(engine)

    def bind(self, engine: AsyncEngine) -> None:
        """Attach the engine. The web app builds its collaborators first and binds at start-up."""
        self.engine = engine
        self.sessions: Sessions = make_sessions(engine, self.info)
        self.sqlite = engine.dialect.name == "sqlite"
        self._write_lock = WriteLock() if self.sqlite else None

    def read(self) -> AsyncSession:
        return self.sessions()

    def write(self, *, background: bool = False) -> "_WriteTransaction":
        """A write transaction; `background` ones (upload records) let waiting chat writes go first on SQLite."""
        return _WriteTransaction(self, BACKGROUND if background else URGENT)

    async def dispose(self) -> None:
        await self.engine.dispose()


class _WriteTransaction:
    """`async with db.write() as session:` commits on success, rolls back on error."""

    def __init__(self, db: Database, priority: int = URGENT) -> None:
        self._db = db
        self._priority = priority
        self._session: AsyncSession | None = None

    async def __aenter__(self) -> AsyncSession:
        if self._db._write_lock is not None:
            await self._db._write_lock.acquire(self._priority)
        try:
            self._session = self._db.sessions()
            await self._session.begin()
        except BaseException:
            if self._db._write_lock is not None:
                self._db._write_lock.release()
            raise
        return self._session

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        assert self._session is not None
        try:
            if exc_type is None:
                await self._session.commit()
            else:
                await self._session.rollback()
        finally:
            await self._session.close()
            if self._db._write_lock is not None:
                self._db._write_lock.release()
