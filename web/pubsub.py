"""socket.io client managers: one process on its own, or several through Redis with batched publishing."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import socketio

log = logging.getLogger(__name__)


def _nobody_in(manager: socketio.AsyncManager, namespace: str | None, room: Any, skip_sid: Any = None) -> bool:
    """True when a named room has no socket on this process but the skipped one (python-socketio would still
    encode the packet): a child's own message, in a chat open in one tab only, goes to nobody else."""
    if not isinstance(room, str):
        return False
    members = manager.rooms.get(namespace or "/", {}).get(room)
    if not members:
        return True
    return isinstance(skip_sid, str) and len(members) == 1 and skip_sid in members


class LocalManager(socketio.AsyncManager):
    """python-socketio's in-process manager, minus the work of encoding emits to rooms nobody is in.

    Every chat message is also emitted to the supervisors' room for its conversation, which is empty
    unless a supervisor is reading that chat.
    """

    async def emit(self, event: str, data: Any, namespace: str, room: Any = None, skip_sid: Any = None,
                   callback: Any = None, to: Any = None, **kwargs: Any) -> Any:
        if _nobody_in(self, namespace, to or room, skip_sid):
            return None
        return await super().emit(event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, to=to,
                                  **kwargs)


class PipelinedRedisManager(socketio.AsyncRedisManager):
    """python-socketio's AsyncRedisManager, sending its messages to the other processes in batches.

    The stock manager awaits one Redis round trip per emit and publishes each emit as its own Redis message,
    which every process then parses. A chat message makes three emits (the child's room, the counsellor's,
    the supervisors'); at a few thousand messages a second a process busy with its own sockets read the
    channel more slowly than it filled, and Redis cut the subscriber off at its 32 MB output-buffer limit,
    dropping everything published until it resubscribed (measured: ~800 of 15,000 chat messages in a
    two-process benchmark run). DEPLOY.md also raises that limit; this keeps the channel drained.

    Here an emit still reaches this process's sockets at once. For the other processes it joins an outbox
    that one task publishes, in emit order, as a few Redis messages each carrying up to BATCH emits, without
    making the emitter wait. Receivers unpack a batch in one parse, skip their own batches unread, and skip
    emits to rooms that have nobody on this process before encoding them. As with the stock manager, a
    publish that fails twice is logged (its type only) and dropped: clients that miss an event get it back
    from the database when they resume (`hello` with `after`).
    """

    BATCH = 500
    # If Redis stays unreachable, stop holding more than this many messages for it.
    MAX_OUTBOX = 50_000

    def __init__(self, url: str, channel: str, **kwargs: Any) -> None:
        super().__init__(url, channel=channel, **kwargs)
        self._outbox: list[str] = []
        self._sender: asyncio.Task[None] | None = None
        self._delivering: set[asyncio.Task[None]] = set()
        self.published = 0  # figures for tests: emits published, and the Redis messages that carried them
        self.redis_messages = 0

    async def _publish(self, data: Any) -> None:
        if len(self._outbox) >= self.MAX_OUTBOX:
            log.error("redis outbox full; dropping the oldest message for other processes")
            self._outbox.pop(0)
        self._outbox.append(self.json.dumps(data))
        if self._sender is None or self._sender.done():
            self._sender = asyncio.get_running_loop().create_task(self._send_all(), name="redis-outbox")

    async def _send_all(self) -> None:
        head = '{"method":"batch","host_id":' + json.dumps(self.host_id) + ',"messages":['
        while self._outbox:
            pending, self._outbox = self._outbox, []
            payloads = [head + ",".join(pending[i:i + self.BATCH]) + "]}" for i in range(0, len(pending), self.BATCH)]
            for attempt in (1, 2):
                try:
                    if not self.connected:
                        self._redis_connect()
                    async with self.redis.pipeline(transaction=False) as pipe:
                        for payload in payloads:
                            pipe.publish(self.channel, payload)
                        await pipe.execute()
                    self.published += len(pending)
                    self.redis_messages += len(payloads)
                    break
                except Exception as error:  # noqa: BLE001 - the stock manager's policy: log, retry once, drop
                    self.connected = False
                    log.error("cannot publish %d messages to redis (%s), attempt %d", len(pending),
                              type(error).__name__, attempt)

    async def _listen(self) -> AsyncIterator[Any]:  # type: ignore[override]
        async for raw in super()._listen():
            try:
                data = self.json.loads(raw)
            except ValueError:
                continue
            if isinstance(data, dict) and data.get("method") == "batch":
                if data.get("host_id") == self.host_id:
                    continue  # our own emits, already delivered here
                for message in data.get("messages", ()):
                    yield message
            else:
                yield data  # from a stock manager (an operator's script, say)

    async def _handle_emit(self, message: dict[str, Any]) -> None:
        if _nobody_in(self, message.get("namespace"), message.get("room"), message.get("skip_sid")):
            return  # nobody in that room on this process: nothing to encode or send
        if message.get("host_id") == self.host_id:
            await super()._handle_emit(message)  # our own emit: the emitter waits for its sends, as before
            return
        # From another process: hand the sends to the loop and read on, so the channel never backs up in
        # Redis while this process is busy. Tasks start in the order they are made, and each queues its
        # packets before it first waits, so every socket still gets the emits in the order they were made.
        task = asyncio.get_running_loop().create_task(super()._handle_emit(message))
        self._delivering.add(task)
        task.add_done_callback(self._delivering.discard)

    async def flush(self) -> None:
        """Wait until everything emitted so far has been handed to Redis (tests, shutdown)."""
        while self._sender is not None and not self._sender.done():
            await asyncio.shield(self._sender)
