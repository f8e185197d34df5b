"""The SQLite write lock: urgent writers before background ones, arrival order within each, no lost hand-offs."""

from __future__ import annotations

import asyncio

import pytest

from bot.db import BACKGROUND, URGENT, WriteLock


async def test_waiting_urgent_writers_go_before_waiting_background_ones() -> None:
    lock = WriteLock()
    order: list[str] = []
    await lock.acquire()  # someone is writing

    async def writer(name: str, priority: int) -> None:
        await lock.acquire(priority)
        order.append(name)
        await asyncio.sleep(0)
        lock.release()

    tasks = [asyncio.create_task(writer(name, priority)) for name, priority in
             [("upload-1", BACKGROUND), ("chat-1", URGENT), ("upload-2", BACKGROUND), ("chat-2", URGENT)]]
    await asyncio.sleep(0)
    lock.release()
    await asyncio.gather(*tasks)
    assert order == ["chat-1", "chat-2", "upload-1", "upload-2"]
    assert not lock.locked()


async def test_a_waiter_cancelled_as_it_is_handed_the_lock_passes_it_on() -> None:
    lock = WriteLock()
    await lock.acquire()
    doomed = asyncio.create_task(lock.acquire())
    after = asyncio.create_task(lock.acquire(BACKGROUND))
    await asyncio.sleep(0)
    lock.release()  # hands the lock to `doomed` ...
    doomed.cancel()  # ... which is cancelled before it runs
    with pytest.raises(asyncio.CancelledError):
        await doomed
    await asyncio.wait_for(after, 1)
    assert lock.locked()
    lock.release()
    assert not lock.locked()


async def test_a_cancelled_waiter_leaves_the_queue() -> None:
    lock = WriteLock()
    await lock.acquire()
    gone = asyncio.create_task(lock.acquire())
    await asyncio.sleep(0)
    gone.cancel()
    with pytest.raises(asyncio.CancelledError):
        await gone
    lock.release()
    assert not lock.locked()
    await asyncio.wait_for(lock.acquire(), 1)
