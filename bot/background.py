"""Periodic background work for the server: one loop that survives hiccups and stops cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, AsyncIterator, Awaitable, Callable

log = logging.getLogger(__name__)


def every(
    name: str,
    interval: float,
    work: Callable[[], Awaitable[Any]],
    *,
    first_delay: float = 0.0,
    on_stop: Callable[[], None] | None = None,
) -> Callable[[Any], AsyncIterator[None]]:
    """A cleanup_ctx that runs `work` every `interval` seconds until the app stops.

    A failure is logged by type only — database errors can quote SQL parameters, such as message
    text — and the loop carries on at the next interval. `on_stop` runs after the loop has ended.
    """

    async def loop() -> None:
        if first_delay:
            await asyncio.sleep(first_delay)
        while True:
            try:
                await work()
            except Exception as exc:  # one bad pass must not end the loop
                log.warning("%s failed (%s); trying again in %.0f s", name, type(exc).__name__, interval)
            await asyncio.sleep(interval)

    async def ctx(app: Any) -> AsyncIterator[None]:
        task = asyncio.create_task(loop(), name=name)
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            if on_stop is not None:
                on_stop()

    return ctx
