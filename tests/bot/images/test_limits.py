"""Decode amplification (audit M5): bytes are capped before decoding, high bit depths convert without
copies, and the worker pool is fair: one child's heavy uploads never hold up another child's."""

from __future__ import annotations

import asyncio
import io
import multiprocessing
import resource
import time

import numpy as np
import pytest
from PIL import Image

from bot.images.hashing import PDQ, ImageHashes, hamming_hex
from bot.images.intake import IntakeError, IntakeLimits, check_and_hash, decoded_bytes, to_8bit
from bot.images.pool import FairSlots, HashingPool
from tests.imagefactory import draw, make_image, png_claiming

MB = 1024 * 1024


def sixteen_bit_png(size: int = 7000) -> bytes:
    """The audit's file: a 16-bit greyscale PNG of a few hundred KB that decodes to `size`² x 2 bytes."""
    ys, xs = np.mgrid[0:size, 0:size]
    values = ((xs * 9 + ys * 5) % 65536).astype(np.uint16)
    values[size * 3 // 7:size * 4 // 7, size // 7:size * 5 // 7] = 60000
    out = io.BytesIO()
    Image.fromarray(values).save(out, "PNG", compress_level=9)
    return out.getvalue()


def _peak_of_hashing(data: bytes, results: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    hashes = check_and_hash(data)
    results.put((before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, hashes.pdq_quality))


def test_a_16_bit_png_is_converted_without_amplification() -> None:
    data = sixteen_bit_png()
    assert len(data) < 600 * 1024 and Image.open(io.BytesIO(data)).mode == "I;16"
    spawn = multiprocessing.get_context("spawn")
    results = spawn.Queue()
    worker = spawn.Process(target=_peak_of_hashing, args=(data, results))
    worker.start()
    before, peak, quality = results.get(timeout=300)
    worker.join(60)
    # Decoded, the picture is 98 MB; converting it through floating point peaked at 1.3 GB (the audit).
    # Now: the decode, one copy Pillow hands numpy, and one byte per pixel for the 8-bit result.
    assert (peak - before) / 1024 < 320, (before, peak)
    assert quality > 50


def test_high_bit_depths_scale_down_like_the_8_bit_picture() -> None:
    picture = draw(320, 240, "shapes", 5).convert("L")
    wide = Image.fromarray(np.asarray(picture).astype(np.uint16) * 257)  # the same picture in 16 bits
    assert wide.mode == "I;16"
    eight = to_8bit(wide)
    assert eight.mode == "RGB" and np.abs(np.asarray(eight.convert("L"), dtype=int) - np.asarray(picture)).max() <= 1
    out = io.BytesIO()
    wide.save(out, "PNG")
    hashes = check_and_hash(out.getvalue())
    assert hashes.pdq is not None and hamming_hex(hashes.pdq, PDQ().hash_from_image(picture).hash) <= 4


def test_decoded_bytes_are_capped_not_pixels() -> None:
    # 64 megapixels of RGB claimed by a tiny file: 192 MB decoded, refused under a 128 MB cap unopened.
    with pytest.raises(IntakeError) as caught:
        check_and_hash(png_claiming(8000, 8000), IntakeLimits(max_decoded_bytes=128 * MB))
    assert caught.value.code == "image_too_big"
    # A JPEG with more pixels than the old cap (50 million) decodes at 1/8 scale for hashing: 3.5 MB.
    big = Image.new("RGB", (10240, 7680), (40, 80, 120))
    big.paste(draw(2560, 1920, "shapes", 3).resize((10240, 7680), Image.Resampling.NEAREST))
    out = io.BytesIO()
    big.save(out, "JPEG", quality=60)
    opened = Image.open(io.BytesIO(out.getvalue()))
    assert opened.size[0] * opened.size[1] > 78_000_000 and decoded_bytes(opened, 8) < 4 * MB
    hashes = check_and_hash(out.getvalue(), IntakeLimits(max_decoded_bytes=16 * MB))
    assert (hashes.width, hashes.height) == (10240, 7680)


# The pool ----------------------------------------------------------------------------------------

TINY = make_image(32, 24, seed=1)


def sleepy(data: bytes, limits: IntakeLimits) -> ImageHashes:
    """A worker whose job takes as many tenths of a second as the first byte says."""
    time.sleep(data[0] / 10)
    return check_and_hash(TINY, limits)


async def warm(pool: HashingPool, workers: int) -> None:
    """Start every worker and let it import this module (where `sleepy` lives) before timing anything."""
    await asyncio.gather(*(pool.hash(bytes([0]) + TINY, owner=f"warm-{n}") for n in range(workers)))


async def test_the_time_limit_starts_when_the_job_starts() -> None:
    pool = HashingPool(workers=1, timeout_s=3.0, worker=sleepy, per_owner=1)
    try:
        await warm(pool, 1)
        # Each takes 2 s; run one after the other, the second waits 2 s first. Counted from submission
        # (as before), the second ran out of time at 3 s; counted from its start it has 3 s of its own.
        results = await asyncio.gather(pool.hash(bytes([20]) + TINY, owner="a"),
                                       pool.hash(bytes([20]) + TINY, owner="b"), return_exceptions=True)
    finally:
        pool.close()
    assert all(isinstance(r, ImageHashes) for r in results), results


async def test_twenty_heavy_uploads_from_one_child_do_not_hold_up_another() -> None:
    pool = HashingPool(workers=2, timeout_s=60.0, worker=sleepy)
    finished: list[str] = []

    async def upload(owner: str, tenths: int, label: str) -> None:
        await pool.hash(bytes([tenths]) + TINY, owner=owner)
        finished.append(label)

    try:
        await warm(pool, 2)
        heavy = [asyncio.create_task(upload("child-1", 30, f"heavy-{n}")) for n in range(20)]
        await asyncio.sleep(0.2)  # child 1's twenty are all waiting or running
        await upload("child-2", 0, "small")
        # One child holds one of the two workers at most: the other child's file went straight through,
        # while child 1's first upload (3 s) was still being hashed.
        assert finished == ["small"], finished
        for task in heavy:
            task.cancel()
        await asyncio.gather(*heavy, return_exceptions=True)
    finally:
        pool.close()


async def test_fair_slots_take_turns_and_cap_each_owner() -> None:
    slots = FairSlots(capacity=2, per_owner=1)
    order: list[str] = []
    release = asyncio.Event()

    async def job(owner: str, label: str) -> None:
        async with slots.take(owner):
            order.append(label)
            await release.wait()

    tasks = [asyncio.create_task(job("a", f"a{n}")) for n in range(3)]
    tasks += [asyncio.create_task(job("b", "b0")), asyncio.create_task(job("c", "c0"))]
    await asyncio.sleep(0.05)
    # a0 started; a1 and a2 wait although a slot was free (a holds its one); b0 took the second slot.
    assert order == ["a0", "b0"] and slots.busy == 2
    release.set()
    await asyncio.gather(*tasks)
    # Then c, waiting, went before a's second: owners take turns.
    assert order.index("c0") < order.index("a2") and slots.busy == 0
    # A waiter that gives up leaves no trace.
    hold = asyncio.Event()

    async def holder() -> None:
        async with slots.take("a"):
            await hold.wait()

    first = asyncio.create_task(holder())
    await asyncio.sleep(0.01)
    waiting = asyncio.create_task(job("a", "gone"))
    await asyncio.sleep(0.01)
    waiting.cancel()
    hold.set()
    await asyncio.gather(first, waiting, return_exceptions=True)
    assert slots.busy == 0 and "gone" not in order
