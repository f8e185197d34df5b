"""Test helpers shared by every area: users signed in over HTTP, socket.io clients, live servers."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import socketio
from yarl import URL

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("HAVEN_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("HAVEN_TEST_REDIS", "redis://127.0.0.1:6379/0")
IN_CI = os.environ.get("CI", "").lower() == "true"


def audit_keyed(db: Any, data_dir: Path) -> Any:
    """Sign and check audit entries with the data folder's audit key, as the server and the commands do."""
    from bot.audit import attach_key
    from bot.images.vault import load_or_create_key

    attach_key(db, load_or_create_key(data_dir / "audit.key", "audit key"))
    return db


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def create_pg_database() -> str:
    """A fresh PostgreSQL database for one test; returns its SQLAlchemy URL."""
    import asyncpg

    name = f"haven_t_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"


async def drop_pg_database(url: str) -> None:
    import asyncpg

    name = url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@dataclass
class Person:
    """Someone signed in over HTTP: their cookies, CSRF token, and socket clients."""

    base_url: str
    username: str
    password: str
    role: str
    http: aiohttp.ClientSession
    csrf: str = ""
    events: list[tuple[str, Any]] = field(default_factory=list)
    sockets: list[socketio.AsyncClient] = field(default_factory=list)

    def cookie_header(self) -> str:
        jar = self.http.cookie_jar.filter_cookies(URL(self.base_url))
        return "; ".join(f"{k}={v.value}" for k, v in jar.items())

    async def post(self, path: str, json: Any = None, **kwargs: Any) -> tuple[int, dict[str, Any]]:
        headers = {"X-CSRF-Token": self.csrf, "Origin": self.base_url.rstrip("/"), "Accept": "application/json"}
        async with self.http.post(self.base_url.rstrip("/") + path, json=json, headers=headers, **kwargs) as r:
            data = await r.json(content_type=None)
            if isinstance(data, dict) and data.get("csrf_token"):
                self.csrf = data["csrf_token"]
            return r.status, data

    async def connect(self, namespace: str, *, record: bool = True) -> socketio.AsyncClient:
        client = socketio.AsyncClient(reconnection=False)
        if record:
            @client.on("*", namespace=namespace)
            async def catch_all(event: str, data: Any = None) -> None:
                self.events.append((event, data))
        await client.connect(
            self.base_url,
            namespaces=[namespace],
            headers={"Cookie": self.cookie_header(), "Origin": self.base_url.rstrip("/")},
            transports=["websocket"],
            wait_timeout=10,
        )
        self.sockets.append(client)
        return client

    def received(self, name: str) -> list[Any]:
        return [data for event, data in self.events if event == name]

    async def close(self) -> None:
        for client in self.sockets:
            if client.connected:
                await client.disconnect()
        await self.http.close()


async def fresh_csrf(http: aiohttp.ClientSession, base_url: str) -> str:
    async with http.get(base_url.rstrip("/") + "/auth/me") as r:
        data = await r.json()
    return str(data["csrf_token"])


async def sign_up_child(base_url: str, username: str | None = None, password: str = "correct-horse-1") -> Person:
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    name = username or f"kid{uuid.uuid4().hex[:8]}"
    person = Person(base_url, name, password, "child", http)
    person.csrf = await fresh_csrf(http, base_url)
    status, data = await person.post("/auth/register", {"username": name, "password": password})
    assert status == 200, data
    return person


async def sign_in(base_url: str, username: str, password: str, role: str) -> Person:
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    person = Person(base_url, username, password, role, http)
    person.csrf = await fresh_csrf(http, base_url)
    path = "/auth/login" if role == "child" else "/staff/login"
    status, data = await person.post(path, {"username": username, "password": password})
    assert status == 200, data
    return person


async def wait_for(predicate: Any, timeout: float = 5.0, interval: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval)


class LiveServer:
    """`python run.py serve` in its own process, on a free port, with its own data folder."""

    def __init__(self, data_dir: Path, env: dict[str, str] | None = None, port: int | None = None) -> None:
        self.port = port or free_port()
        self.data_dir = data_dir
        self.base_url = f"http://127.0.0.1:{self.port}"
        origins = f"http://127.0.0.1:{self.port},http://localhost:{self.port}"
        self.env = {
            **os.environ,
            "HAVEN_PORT": str(self.port),
            "HAVEN_HOST": "127.0.0.1",
            "HAVEN_DATA_DIR": str(data_dir),
            "HAVEN_ALLOWED_ORIGINS": origins,
            "HAVEN_DEMO_STAFF": "false",
            "HAVEN_QUICK_EXIT_URL": f"http://127.0.0.1:{self.port}/neutral",
            "HAVEN_LOG_LEVEL": "warning",
            "HAVEN_TOTP_REQUIRED_ROLES": "",
            "HAVEN_REGISTRATIONS_PER_HOUR": "100000",
            "HAVEN_UPLOADS_PER_MINUTE": "10000",
            "HAVEN_PARTNER_REFUSED_KEYS_PER_MINUTE": "100000",
            **(env or {}),
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir / f"server-{self.port}.log"

    def start(self, timeout: float = 30.0) -> "LiveServer":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "run.py"), "serve"], cwd=ROOT, env=self.env, stdout=log, stderr=log
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    pass
                import urllib.request

                with urllib.request.urlopen(self.base_url + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("server did not come up in time")

    def kill(self) -> None:
        """SIGKILL: no clean shutdown, as in a crash."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def create_user(self, role: str, username: str, password: str) -> None:
        pw = self.data_dir / f"pw-{username}"
        pw.write_text(password)
        subprocess.run(
            [sys.executable, str(ROOT / "run.py"), "create-user", "--role", role, "--username", username,
             "--password-file", str(pw)],
            cwd=ROOT, env=self.env, check=True, capture_output=True,
        )
        pw.unlink()
