"""HashingPool: work off the event loop, survives crashing and hanging workers, never lets bad bytes escape."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.images.intake import ImageHashes, IntakeError, IntakeLimits, check_and_hash
from bot.images.pool import HashingPool
from tests.imagefactory import make_animated_gif, make_image

CRASH = b"crash me"
HANG = b"hang"


def crash_or_hash(data: bytes, limits: IntakeLimits) -> ImageHashes:
    """A worker that dies like a segfaulting decoder on one marker, and hangs on another."""
    if data == CRASH:
        os._exit(139)
    if data == HANG:
        time.sleep(60)
    return check_and_hash(data, limits)


@pytest.fixture
async def pool() -> AsyncIterator[HashingPool]:
    hashing = HashingPool(workers=2, timeout_s=10, worker=crash_or_hash)
    yield hashing
    hashing.close()


async def test_hashes_off_the_event_loop(pool: HashingPool) -> None:
    data = make_image(320, 240)
    assert await pool.hash(data) == check_and_hash(data)


async def test_refusals_cross_the_process_boundary(pool: HashingPool) -> None:
    with pytest.raises(IntakeError) as caught:
        await pool.hash(b"not a picture")
    assert caught.value.code == "not_an_image"
    assert caught.value.message


async def test_a_crashing_worker_fails_only_its_own_file(pool: HashingPool) -> None:
    good = [make_image(200, 150, seed=seed) for seed in range(3)]
    results = await asyncio.gather(
        pool.hash(CRASH),
        *(pool.hash(data) for data in good),
        return_exceptions=True,
    )
    assert isinstance(results[0], IntakeError) and results[0].code == "image_corrupt"
    assert all(isinstance(result, ImageHashes) for result in results[1:]), results
    assert (await pool.hash(good[0])).md5 == results[1].md5


async def test_a_hanging_worker_times_out_and_the_pool_recovers() -> None:
    pool = HashingPool(workers=1, timeout_s=5, worker=crash_or_hash)
    try:
        started = time.monotonic()
        with pytest.raises(IntakeError) as caught:
            await pool.hash(HANG)
        assert caught.value.code == "image_timeout"
        assert time.monotonic() - started < 20
        assert (await pool.hash(make_animated_gif())).frames == 3
    finally:
        pool.close()


async def test_oversized_upload_is_refused_before_any_worker(pool: HashingPool) -> None:
    with pytest.raises(IntakeError) as caught:
        await pool.hash(b"\xff\xd8\xff" + b"\0" * 2048, IntakeLimits(max_image_bytes=1024))
    assert caught.value.code == "file_too_large"


SEEDS = [make_image(96, 64, fmt=fmt, seed=3) for fmt in ("JPEG", "PNG", "GIF", "WEBP")]


@st.composite
def mutated_images(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 8))):
        position = draw(st.integers(0, len(data) - 1))
        data[position] = draw(st.integers(0, 255))
    cut = draw(st.integers(1, len(data)))
    return bytes(data[:cut])


@pytest.fixture(scope="module")
def fuzz_pool() -> Iterator[HashingPool]:
    hashing = HashingPool(workers=2, timeout_s=10)
    yield hashing
    hashing.close()


ACCEPTED_CODES = {"empty_file", "not_an_image", "unsupported_format", "image_truncated", "image_corrupt", "image_too_big", "image_timeout"}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(st.binary(max_size=512), mutated_images()))
def test_any_bytes_give_hashes_or_an_intake_error(fuzz_pool: HashingPool, data: bytes) -> None:
    # Synchronous with its own loop per example: hypothesis and async fixtures do not mix,
    # and the pool is built for any loop.
    try:
        outcome = asyncio.run(asyncio.wait_for(fuzz_pool.hash(data), 30))
    except IntakeError as error:
        assert error.code in ACCEPTED_CODES
    else:
        assert isinstance(outcome, ImageHashes)


def worker_niceness(data: bytes, limits: IntakeLimits) -> ImageHashes:
    """Reports the worker's CPU priority and BLAS thread counts in place of a hash."""
    from threadpoolctl import threadpool_info

    threads = sorted({pool["num_threads"] for pool in threadpool_info()})
    raise IntakeError("image_corrupt", f"{os.nice(0)} {threads}")


async def test_workers_run_at_a_lower_cpu_priority_on_one_maths_thread() -> None:
    hashing = HashingPool(workers=1, timeout_s=10, worker=worker_niceness)
    try:
        with pytest.raises(IntakeError) as caught:
            await hashing.hash(b"anything")
    finally:
        hashing.close()
    niceness, threads = caught.value.message.split(" ", 1)
    assert int(niceness) >= os.nice(0) + 1
    assert threads == "[1]"
