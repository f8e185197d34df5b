"""Fixtures for every test: settings, databases (SQLite and PostgreSQL), the app, people, a browser."""

from __future__ import annotations

import asyncio
import asyncio.runners
import os
import sys
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Iterator

import pytest

from config import Settings, load_settings
from tests.harness import (
    IN_CI,
    REDIS_URL,
    LiveServer,
    create_pg_database,
    drop_pg_database,
    free_port,
    sign_in,
    sign_up_child,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def _bounded_cancel_all_tasks(loop: asyncio.AbstractEventLoop) -> None:
    """Like asyncio.runners' own, but waits at most 10 s and names any task that ignores its cancel.

    A background task that swallowed a cancellation would otherwise hold a test's teardown until the
    per-test timeout; this bounds it and prints where the task was stuck, so it can be fixed.
    """
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    if not pending:
        return
    for task in pending:
        task.cancel()
    done, stuck = loop.run_until_complete(asyncio.wait(pending, timeout=10))
    for task in stuck:
        frames = " <- ".join(f"{f.f_code.co_name}:{f.f_lineno}" for f in task.get_stack(limit=8))
        print(f"\nteardown: task {task.get_name()} ignored its cancel: {task.get_coro()} at {frames}",
              file=sys.stderr)
    for task in done:
        if not task.cancelled() and task.exception() is not None:
            loop.call_exception_handler({"message": "unhandled exception during test teardown",
                                         "exception": task.exception(), "task": task})


asyncio.runners._cancel_all_tasks = _bounded_cancel_all_tasks  # type: ignore[attr-defined]


def _service_missing(what: str, exc: BaseException) -> None:
    """Under CI a missing PostgreSQL or Redis fails the run; on a laptop it skips."""
    message = f"{what} is not reachable ({type(exc).__name__}: {exc})"
    if IN_CI:
        pytest.fail(message + " — CI=true requires it", pytrace=False)
    pytest.skip(message)


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    base: dict[str, Any] = {"data_dir": str(tmp_path), "demo_staff": False, "log_level": "warning",
                            "opening_hours": tuple((day, 0, 1440) for day in range(7)),
                            # Two-factor sign-in has its own tests; elsewhere staff sign in with a password.
                            "totp_required_roles": (),
                            # Rate limits on registration and uploads have their own tests (tests/web/test_security.py);
                            # elsewhere many children register from 127.0.0.1 and send many images.
                            "registrations_per_hour": 100000, "uploads_per_minute": 10000,
                            # The security matrix alone sends dozens of requests without a key from 127.0.0.1.
                            "partner_refused_keys_per_minute": 100000}
    base.update(overrides)
    return load_settings({}, **base)


@pytest.fixture
def settings_factory(tmp_path: Path) -> Callable[..., Settings]:
    return lambda **overrides: make_settings(tmp_path, **overrides)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The same test on the embedded SQLite file and on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'haven.db'}"
        return
    try:
        url = await create_pg_database()
    except (OSError, Exception) as exc:  # asyncpg raises its own types for refused connections
        _service_missing("PostgreSQL at 127.0.0.1:5432", exc)
        raise
    try:
        yield url
    finally:
        await drop_pg_database(url)


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    import redis.asyncio as redis

    client = redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except Exception as exc:
        _service_missing("Redis at 127.0.0.1:6379", exc)
    finally:
        await client.aclose()
    yield REDIS_URL


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Any]:
    """A migrated Database on SQLite and PostgreSQL."""
    from bot.db import Database, make_engine
    from bot.schema import upgrade

    engine = make_engine(database_url)
    await upgrade(engine)
    database = Database(engine)
    yield database
    await engine.dispose()


@pytest.fixture
async def server(aiohttp_server: Any, tmp_path: Path) -> Callable[..., Any]:
    """Start the real app in-process on a free port; returns its base URL. Accepts settings overrides."""
    from web.access import QuietAccessLogger
    from web.app import create_app

    async def start(**overrides: Any) -> str:
        port = free_port()
        origins = (f"http://127.0.0.1:{port}", f"http://localhost:{port}")
        overrides.setdefault("allowed_origins", origins)
        overrides.setdefault("quick_exit_url", f"http://127.0.0.1:{port}/neutral")
        settings = make_settings(tmp_path, port=port, **overrides)
        srv = await aiohttp_server(create_app(settings), port=port, access_log_class=QuietAccessLogger)
        return str(srv.make_url("/"))

    return start


@pytest.fixture
async def people() -> AsyncIterator[Any]:
    """Sign people up or in against a base URL; everyone is signed out and disconnected at the end."""
    made: list[Any] = []

    class People:
        async def child(self, base_url: str, **kw: Any) -> Any:
            person = await sign_up_child(base_url, **kw)
            made.append(person)
            return person

        async def staff(self, base_url: str, username: str, password: str, role: str) -> Any:
            person = await sign_in(base_url, username, password, role)
            made.append(person)
            return person

    yield People()
    for person in made:
        await person.close()


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    servers: list[LiveServer] = []

    def start(env: dict[str, str] | None = None, data_dir: Path | None = None, port: int | None = None) -> LiveServer:
        srv = LiveServer(data_dir or tmp_path / "live", env=env, port=port).start()
        servers.append(srv)
        return srv

    yield start
    for srv in servers:
        srv.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    # Module scope: Playwright's sync API keeps an event loop running while it is open, which would
    # break the asyncio tests that run after a browser module.
    if not os.path.exists(CHROMIUM):
        if IN_CI:
            pytest.fail("Debian's chromium is not installed at /usr/bin/chromium", pytrace=False)
        pytest.skip("chromium not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
