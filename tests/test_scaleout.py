"""Several server processes sharing PostgreSQL and Redis behave as one service."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.harness import (
    ROOT,
    LiveServer,
    create_pg_database,
    drop_pg_database,
    free_port,
    sign_in,
    sign_up_child,
    wait_for,
)

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]


async def test_two_processes_share_conversations_over_redis(tmp_path: Path, redis_url: str) -> None:
    try:
        database = await create_pg_database()
    except Exception as exc:  # noqa: BLE001 - reported through the same CI rule as the fixtures
        from tests.conftest import _service_missing

        _service_missing("PostgreSQL", exc)
        raise
    channel = f"haven-test-{uuid.uuid4().hex[:8]}"
    ports = []
    servers = []
    try:
        first = LiveServer(tmp_path / "one", env={"DATABASE_URL": database, "REDIS_URL": redis_url,
                                                  "HAVEN_REDIS_CHANNEL": channel})
        second = LiveServer(tmp_path / "two", env={"DATABASE_URL": database, "REDIS_URL": redis_url,
                                                   "HAVEN_REDIS_CHANNEL": channel})
        # Both processes must accept sockets opened from either address (one site behind a balancer).
        origins = f"{first.base_url},{second.base_url}"
        first.env["HAVEN_ALLOWED_ORIGINS"] = second.env["HAVEN_ALLOWED_ORIGINS"] = origins
        servers = [first.start(), second.start()]
        ports = [s.port for s in servers]
        assert len(set(ports)) == 2

        phone = await sign_up_child(first.base_url, password="long enough pw")
        # The same child signs in again through the other process: the account is shared.
        laptop = await sign_in(second.base_url, phone.username, "long enough pw", "child")
        on_first = await phone.connect("/chat")
        on_second = await laptop.connect("/chat")
        opened_1 = await on_first.call("hello", {"after": 0}, namespace="/chat", timeout=10)
        opened_2 = await on_second.call("hello", {"after": 0}, namespace="/chat", timeout=10)
        assert opened_1["conversation"]["id"] == opened_2["conversation"]["id"]

        ack = await on_first.call("say", {"text": "hello from process one", "client_id": "c-one"},
                                  namespace="/chat", timeout=10)
        assert ack["ok"]
        # Process two's socket hears the message and the bot's reply, published by process one via Redis.
        await wait_for(lambda: any(m["text"] == "hello from process one" for m in laptop.received("message")))
        await wait_for(lambda: any(m["sender"] == "bot" and m["seq"] > ack["seq"]
                                   for m in laptop.received("message")))
        ack2 = await on_second.call("choose", {"option": "advice", "client_id": "c-two"}, namespace="/chat",
                                    timeout=10)
        assert ack2["ok"] and ack2["seq"] > ack["seq"]
        await wait_for(lambda: any(s["state"] == "advice" for s in phone.received("state")))
        await phone.close()
        await laptop.close()
    finally:
        for server in servers:
            server.stop()
        await drop_pg_database(database)


def test_server_refuses_an_old_schema_when_auto_migrate_is_off(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HAVEN_DATA_DIR": str(tmp_path), "HAVEN_AUTO_MIGRATE": "false",
           "HAVEN_PORT": str(free_port()), "HAVEN_DEMO_STAFF": "false"}
    result = subprocess.run([sys.executable, "run.py", "serve"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert "The database needs" in result.stderr and "python run.py migrate" in result.stderr
    migrated = subprocess.run([sys.executable, "run.py", "migrate"], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=60)
    assert migrated.returncode == 0 and "Applied" in migrated.stdout
    again = subprocess.run([sys.executable, "run.py", "migrate"], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=60)
    assert "up to date" in again.stdout
