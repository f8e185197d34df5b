"""Runs decoding in worker processes so a slow, greedy or crashing decoder never stalls or kills the server.

Every job that decodes an upload (hashing at intake, previews and reveals in review) goes through one
pool of processes at low CPU priority, each with a cap on the memory it may map. Jobs wait for a free
worker in a fair queue: each owner (a child, an analyst) may hold at most `per_owner` workers at once
and waiting owners take turns, so one child sending twenty heavy files cannot delay another child's
small one by more than the job already running. A job's time limit starts when a worker starts it.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import resource
import sys
from collections import Counter, deque
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import asynccontextmanager
from typing import Any, Hashable, TypeVar

from threadpoolctl import threadpool_limits

from bot.hardening import forbid_core_dumps
from bot.images.hashing import ImageHashes
from bot.images.intake import DEFAULT_LIMITS, IntakeError, IntakeLimits, check_and_hash, check_size, sniff_media

T = TypeVar("T")
Worker = Callable[[bytes, IntakeLimits], ImageHashes]


def _hash_in_worker(data: bytes, limits: IntakeLimits) -> ImageHashes:
    return check_and_hash(data, limits)


# Decoding is batch work; chat is not. Workers run at a lower CPU priority so that, on
# a machine with as many busy workers as cores, the event loop still gets the CPU the
# moment a message arrives (bench/hashing.py measures chat round trips meanwhile).
WORKER_NICENESS = 10
# What a worker maps before it decodes anything (interpreter, numpy, FFmpeg, libheif): about 300 MB
# here; the cap leaves room for that and for two decodes of the largest picture allowed.
BASE_MEMORY_BYTES = 1024 * 1024 * 1024


def memory_cap_for(limits: IntakeLimits) -> int:
    """The address-space cap of one worker for these limits."""
    return BASE_MEMORY_BYTES + 3 * limits.max_decoded_bytes


def _warm_up(memory_bytes: int | None) -> None:
    """Lower this worker's CPU priority, cap its memory, keep its maths on one thread, import the decoders."""
    forbid_core_dumps()  # a core dump would hold the plaintext image being decoded
    try:
        os.nice(WORKER_NICENESS)
    except OSError:
        pass  # not allowed here: the worker runs at the server's priority
    if memory_bytes:
        # A decoder that asks for more gets an allocation failure (MemoryError, or FFmpeg's ENOMEM),
        # which intake turns into "too big"; the server process is never the one that runs out.
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        soft = memory_bytes if hard == resource.RLIM_INFINITY else min(memory_bytes, hard)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    # The pool is the parallelism. OpenBLAS would otherwise start a thread per core in every worker for
    # PDQ's small matrix products, and on a busy machine those threads spin against each other: seen as
    # a quarter of all worker time in a profile with 20 uploads being hashed on 2 cores.
    threadpool_limits(1)
    import bot.images.intake  # noqa: F401
    import bot.images.render  # noqa: F401
    import bot.images.video  # noqa: F401


def _ready() -> None:
    """A no-op: once it returns, a worker has started and imported its decoders."""


# A worker that cannot even start in this long is broken, not busy.
START_TIMEOUT_S = 120.0


def _context() -> multiprocessing.context.BaseContext:
    # Forking a process that runs an event loop and threads can copy held locks;
    # forkserver and spawn start workers from a clean interpreter.
    method = "forkserver" if sys.platform.startswith("linux") else "spawn"
    return multiprocessing.get_context(method)


class FairSlots:
    """`capacity` slots shared by owners in turn, each owner holding at most `per_owner` at once."""

    def __init__(self, capacity: int, per_owner: int) -> None:
        self.capacity = capacity
        self.per_owner = max(1, per_owner)
        self._running: Counter[Hashable] = Counter()
        self._waiting: dict[Hashable, deque[asyncio.Future[None]]] = {}
        self._turns: deque[Hashable] = deque()

    @property
    def busy(self) -> int:
        return sum(self._running.values())

    @asynccontextmanager
    async def take(self, owner: Hashable) -> AsyncIterator[None]:
        if self.busy < self.capacity and self._running[owner] < self.per_owner and owner not in self._waiting:
            self._running[owner] += 1
        else:
            ticket: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            if owner not in self._waiting:
                self._waiting[owner] = deque()
                self._turns.append(owner)
            self._waiting[owner].append(ticket)
            self._wake()
            try:
                await ticket
            except asyncio.CancelledError:
                if ticket.done() and not ticket.cancelled():
                    self._release(owner)  # granted just as the waiter gave up: pass the slot on
                else:
                    self._forget(owner, ticket)
                raise
        try:
            yield
        finally:
            self._release(owner)

    def _forget(self, owner: Hashable, ticket: asyncio.Future[None]) -> None:
        queue = self._waiting.get(owner)
        if queue is not None and ticket in queue:
            queue.remove(ticket)
            if not queue:
                del self._waiting[owner]
                self._turns.remove(owner)

    def _release(self, owner: Hashable) -> None:
        self._running[owner] -= 1
        if self._running[owner] <= 0:
            del self._running[owner]
        self._wake()

    def _wake(self) -> None:
        while self.busy < self.capacity and self._turns:
            for _ in range(len(self._turns)):
                owner = self._turns[0]
                self._turns.rotate(-1)
                if self._running[owner] < self.per_owner:
                    break
            else:
                return  # everyone waiting already holds all they may
            queue = self._waiting[owner]
            ticket = queue.popleft()
            if not queue:
                del self._waiting[owner]
                self._turns.remove(owner)
            self._running[owner] += 1
            ticket.set_result(None)


class HashingPool:
    """A process pool for decoding jobs that replaces itself when a worker dies or hangs.

    A crash breaks every job running in the pool at that moment, and the pool cannot
    tell whose file caused it; so each broken job is retried once in a process of its
    own, where only the guilty file fails again.
    """

    def __init__(self, workers: int, timeout_s: float, *, worker: Worker = _hash_in_worker,
                 per_owner: int | None = None, video_timeout_s: float | None = None,
                 memory_bytes: int | None = None) -> None:
        # `worker` exists for tests that need a worker to crash or hang; it must be a
        # module-level function so it can be sent to another process.
        self._workers = workers
        self._timeout_s = timeout_s
        self._video_timeout_s = video_timeout_s or timeout_s
        self._worker = worker
        self._memory_bytes = memory_bytes
        self._context = _context()
        self._executor = self._new_executor(workers)
        self._slots = FairSlots(workers, per_owner if per_owner is not None else max(1, workers // 2))
        self._closed = False

    def _new_executor(self, workers: int) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=workers, mp_context=self._context, initializer=_warm_up,
                                   initargs=(self._memory_bytes,))

    async def start(self) -> None:
        """Start every worker now (they import FFmpeg, numpy and the decoders), not on the first upload."""
        executor = self._executor
        await asyncio.gather(*(asyncio.wrap_future(executor.submit(_ready)) for _ in range(self._workers)),
                             return_exceptions=True)

    async def hash(self, data: bytes, limits: IntakeLimits = DEFAULT_LIMITS, owner: Hashable = None) -> ImageHashes:
        """Check and hash one upload off the event loop; refusals raise IntakeError."""
        media = sniff_media(data)
        # Cheap refusals stay in this process rather than copying a huge upload to a worker.
        check_size(data, limits.max_bytes_for(media), media)
        timeout = self._video_timeout_s if media == "video" else self._timeout_s
        return await self.run(self._worker, data, limits, owner=owner, timeout_s=timeout,
                              timeout_code="video_timeout" if media == "video" else "image_timeout")

    async def run(self, function: Callable[..., T], *args: Any, owner: Hashable = None,
                  timeout_s: float | None = None, timeout_code: str = "image_timeout") -> T:
        """Run a module-level function in a worker, after waiting for this owner's turn."""
        if self._closed:
            raise RuntimeError("HashingPool is closed")
        async with self._slots.take(owner):
            executor = self._executor
            limit = timeout_s or self._timeout_s
            try:
                return await self._run(executor, function, args, limit, timeout_code)
            except BrokenProcessPool:
                self._replace(executor)
            isolated = self._new_executor(1)
            try:
                return await self._run(isolated, function, args, limit, timeout_code)
            except BrokenProcessPool:
                raise IntakeError("video_corrupt" if timeout_code == "video_timeout" else "image_corrupt") from None
            finally:
                _kill(isolated)

    async def _run(self, executor: ProcessPoolExecutor, function: Callable[..., T], args: tuple[Any, ...],
                   timeout_s: float, timeout_code: str) -> T:
        # The slot guarantees a free worker; waiting for a no-op first lets a new worker finish starting
        # (imports, initializer), so the clock below runs from when the job itself starts.
        await asyncio.wait_for(asyncio.wrap_future(executor.submit(_ready)), START_TIMEOUT_S)
        future: Future[T] = executor.submit(function, *args)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), timeout_s)
        except TimeoutError:
            # The worker cannot be interrupted, only killed, and killing it breaks the
            # pool for everyone in it; they are retried in isolation by run().
            if executor is self._executor:
                self._replace(executor)
            else:
                _kill(executor)
            raise IntakeError(timeout_code) from None

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        if broken is self._executor and not self._closed:
            self._executor = self._new_executor(self._workers)
        _kill(broken)

    def close(self) -> None:
        """Stop the workers; jobs still running fail."""
        self._closed = True
        _kill(self._executor)


def _kill(executor: ProcessPoolExecutor) -> None:
    # ProcessPoolExecutor offers no way to stop a busy worker before Python 3.14
    # (terminate_workers); its process table is the only handle on them.
    processes = list((getattr(executor, "_processes", None) or {}).values())
    for process in processes:
        if process.is_alive():
            process.kill()
    executor.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.join(timeout=5)
