"""Runs image decoding in worker processes so a slow or crashing decoder never stalls or kills the server."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import sys
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from threadpoolctl import threadpool_limits

from bot.hardening import forbid_core_dumps
from bot.images.intake import ImageHashes, IntakeError, check_and_hash, check_size

Worker = Callable[[bytes, int, int], ImageHashes]


def _hash_in_worker(data: bytes, max_bytes: int, max_pixels: int) -> ImageHashes:
    return check_and_hash(data, max_bytes=max_bytes, max_pixels=max_pixels)


# Decoding is batch work; chat is not. Workers run at a lower CPU priority so that, on
# a machine with as many busy workers as cores, the event loop still gets the CPU the
# moment a message arrives (bench/hashing.py measures chat round trips meanwhile).
WORKER_NICENESS = 10


def _warm_up() -> None:
    """Lower this worker's CPU priority, keep its maths on one thread, and import the decoders once."""
    forbid_core_dumps()  # a core dump would hold the plaintext image being decoded
    try:
        os.nice(WORKER_NICENESS)
    except OSError:
        pass  # not allowed here: the worker runs at the server's priority
    # The pool is the parallelism. OpenBLAS would otherwise start a thread per core in every worker for
    # PDQ's small matrix products, and on a busy machine those threads spin against each other: seen as
    # a quarter of all worker time in a profile with 20 uploads being hashed on 2 cores.
    threadpool_limits(1)
    import bot.images.intake  # noqa: F401


def _context() -> multiprocessing.context.BaseContext:
    # Forking a process that runs an event loop and threads can copy held locks;
    # forkserver and spawn start workers from a clean interpreter.
    method = "forkserver" if sys.platform.startswith("linux") else "spawn"
    return multiprocessing.get_context(method)


class HashingPool:
    """A process pool for check_and_hash that replaces itself when a worker dies or hangs.

    A crash breaks every job running in the pool at that moment, and the pool cannot
    tell whose file caused it; so each broken job is retried once in a process of its
    own, where only the guilty file fails again.
    """

    def __init__(self, workers: int, timeout_s: float, *, worker: Worker = _hash_in_worker) -> None:
        # `worker` exists for tests that need a worker to crash or hang; it must be a
        # module-level function so it can be sent to another process.
        self._workers = workers
        self._timeout_s = timeout_s
        self._worker = worker
        self._context = _context()
        self._executor = self._new_executor(workers)
        self._closed = False

    def _new_executor(self, workers: int) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=workers, mp_context=self._context, initializer=_warm_up)

    async def hash(self, data: bytes, max_bytes: int, max_pixels: int) -> ImageHashes:
        """Check and hash one upload off the event loop; refusals raise IntakeError."""
        if self._closed:
            raise RuntimeError("HashingPool is closed")
        # Cheap refusals stay in this process rather than copying a huge upload to a worker.
        check_size(data, max_bytes)
        executor = self._executor
        try:
            return await self._run(executor, data, max_bytes, max_pixels)
        except BrokenProcessPool:
            self._replace(executor)
        isolated = self._new_executor(1)
        try:
            return await self._run(isolated, data, max_bytes, max_pixels)
        except BrokenProcessPool:
            raise IntakeError("image_corrupt") from None
        finally:
            _kill(isolated)

    async def _run(self, executor: ProcessPoolExecutor, data: bytes, max_bytes: int, max_pixels: int) -> ImageHashes:
        future: Future[ImageHashes] = executor.submit(self._worker, data, max_bytes, max_pixels)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), self._timeout_s)
        except TimeoutError:
            # The worker cannot be interrupted, only killed, and killing it breaks the
            # pool for everyone in it; they are retried in isolation by hash().
            if executor is self._executor:
                self._replace(executor)
            else:
                _kill(executor)
            raise IntakeError("image_timeout") from None

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
