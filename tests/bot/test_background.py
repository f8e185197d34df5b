"""The shared periodic loop: keeps going after a failure, logs no error text, and stops cleanly."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.background import every


async def test_a_failing_pass_is_logged_by_type_and_the_loop_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[int] = []
    stopped: list[bool] = []

    async def work() -> None:
        calls.append(len(calls))
        if len(calls) == 1:
            raise ValueError("INSERT ... ('a child's private message')")

    ctx = every("test loop", 0.01, work, on_stop=lambda: stopped.append(True))(None)
    await ctx.__anext__()
    while len(calls) < 3:
        await asyncio.sleep(0.01)
    with pytest.raises(StopAsyncIteration):
        await ctx.__anext__()
    assert stopped == [True]
    assert "test loop failed (ValueError)" in caplog.text
    assert "private message" not in caplog.text
    settled = len(calls)
    await asyncio.sleep(0.05)
    assert len(calls) == settled, "the loop kept running after the app stopped"


async def test_first_delay_holds_the_first_pass(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    calls: list[int] = []

    async def work() -> None:
        calls.append(1)

    ctx = every("delayed", 10.0, work, first_delay=10.0)(None)
    await ctx.__anext__()
    await asyncio.sleep(0.05)
    assert calls == []
    with pytest.raises(StopAsyncIteration):
        await ctx.__anext__()
