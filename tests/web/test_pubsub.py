"""PipelinedRedisManager against a real Redis: emits reach sockets on another server, in order, batched."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
import socketio
from aiohttp import web

from web.pubsub import PipelinedRedisManager

pytestmark = pytest.mark.redis


async def _server(aiohttp_server: Any, redis_url: str, channel: str) -> tuple[socketio.AsyncServer, Any]:
    manager = PipelinedRedisManager(redis_url, channel=channel)
    sio = socketio.AsyncServer(async_mode="aiohttp", client_manager=manager)

    @sio.event
    async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        await sio.enter_room(sid, "room")

    app = web.Application()
    sio.attach(app)
    return sio, await aiohttp_server(app)


async def test_emits_from_one_server_reach_the_other_in_order_and_in_few_pipelines(
        aiohttp_server: Any, redis_url: str) -> None:
    channel = f"haven-test-{uuid.uuid4().hex}"
    sender, _ = await _server(aiohttp_server, redis_url, channel)
    receiver, receiver_http = await _server(aiohttp_server, redis_url, channel)
    received: list[int] = []
    client = socketio.AsyncClient(reconnection=False)
    client.on("n", lambda data: received.append(data["n"]))
    await client.connect(str(receiver_http.make_url("/")), transports=["websocket"])
    try:
        await asyncio.sleep(0.5)  # both managers subscribed
        for n in range(300):
            await sender.emit("n", {"n": n}, room="room")
        manager = sender.manager
        assert isinstance(manager, PipelinedRedisManager)
        await manager.flush()
        for _ in range(100):
            if len(received) == 300:
                break
            await asyncio.sleep(0.05)
        assert received == list(range(300))
        assert manager.published == 300
        # Emitted without waiting for Redis, carried by a handful of Redis messages rather than 300.
        assert manager.redis_messages < 30, manager.redis_messages
    finally:
        await client.disconnect()


async def test_a_stock_manager_still_reaches_sockets_through_the_pipelined_one(
        aiohttp_server: Any, redis_url: str) -> None:
    """An operator's script using python-socketio's own write-only manager is understood."""
    channel = f"haven-test-{uuid.uuid4().hex}"
    _, receiver_http = await _server(aiohttp_server, redis_url, channel)
    received: list[Any] = []
    client = socketio.AsyncClient(reconnection=False)
    client.on("note", received.append)
    await client.connect(str(receiver_http.make_url("/")), transports=["websocket"])
    try:
        await asyncio.sleep(0.5)
        external = socketio.AsyncRedisManager(redis_url, channel=channel, write_only=True)
        await external.emit("note", {"hello": 1}, room="room", namespace="/")
        for _ in range(100):
            if received:
                break
            await asyncio.sleep(0.05)
        assert received == [{"hello": 1}]
    finally:
        await client.disconnect()
