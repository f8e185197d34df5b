"""Measures Haven's image pipeline against the naive full-resolution path and a decode-only lower bound,
and chat round trips while uploads are being hashed."""

from __future__ import annotations

import argparse
import asyncio
import io
import multiprocessing
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import imagehash
import numpy as np
import pdqhash
from PIL import Image

from bot.images.intake import check_and_hash, decode_for_hashing
from tests.imagefactory import make_image

KINDS = ("shapes", "noise", "text", "gradient")


def naive(data: bytes) -> None:
    image = Image.open(io.BytesIO(data)).convert("RGB")
    pdqhash.compute(np.asarray(image))
    imagehash.phash(image)


def decode_only(data: bytes) -> None:
    """The pipeline's own decode step (for these photos: JPEG luma at 1/8 scale), nothing else."""
    decode_for_hashing(Image.open(io.BytesIO(data)))


def pipeline(data: bytes) -> None:
    check_and_hash(data)


def rates(works: dict[str, Callable[[bytes], None]], images: list[bytes], rounds: int,
          once: frozenset[str] = frozenset()) -> dict[str, float]:
    """Images per second for each way, measured in turns (round 1 of each, round 2 of each, ...) so that
    a change in the machine's speed during the run hits every way alike; the median round counts.
    Ways in `once` (the slow naive path) run one round only."""
    for work in works.values():
        work(images[0])  # warm caches and lazy imports outside the clock
    per_round: dict[str, list[float]] = {name: [] for name in works}
    for turn in range(rounds):
        for name, work in works.items():
            if name in once and turn:
                continue
            started = time.perf_counter()
            for data in images:
                work(data)
            per_round[name].append(len(images) / (time.perf_counter() - started))
    return {name: statistics.median(values) for name, values in per_round.items()}


CHATS = 30
UPLOADERS = 20
# A child types a message every second or so at most: 30 chats make about 30 messages a second.
PAUSE_S = 1.0


async def _child_in_upload_step(base_url: str) -> tuple[Any, Any]:
    from tests.harness import sign_up_child

    kid = await sign_up_child(base_url)
    client = await kid.connect("/chat", record=False)
    await client.call("hello", {"after": 0}, namespace="/chat", timeout=30)
    for option in ("report", "age_under_13"):
        await client.call("choose", {"option": option, "client_id": f"c-{uuid.uuid4().hex}"}, namespace="/chat",
                          timeout=30)
    return kid, client


async def _round_trips(clients: list[Any], seconds: float) -> list[float]:
    """Every chat sends a message, waits for the ack, pauses a little, and again, for `seconds`."""
    timings: list[float] = []

    async def one(client: Any, offset: float) -> None:
        deadline = time.perf_counter() + seconds
        # Children do not all press send in the same millisecond: spread the first messages over a pause.
        await asyncio.sleep(offset)
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            reply = await client.call("say", {"text": "hello there", "client_id": f"c-{uuid.uuid4().hex}"},
                                      namespace="/chat", timeout=30)
            timings.append(time.perf_counter() - started)
            assert reply.get("ok"), reply
            await asyncio.sleep(PAUSE_S)

    await asyncio.gather(*(one(c, PAUSE_S * i / len(clients)) for i, c in enumerate(clients)))
    return timings


async def _upload_forever(kid: Any, client: Any, photos: list[bytes], stop: asyncio.Event, done: list[int]) -> None:
    import aiohttp

    index = 0
    while not stop.is_set():
        link = await client.call("upload_link", {}, namespace="/chat", timeout=30)
        form = aiohttp.FormData()
        form.add_field("file", photos[index % len(photos)], filename="photo.jpg", content_type="image/jpeg")
        headers = {"X-CSRF-Token": kid.csrf, "Origin": kid.base_url}
        async with kid.http.post(kid.base_url + link["url"], data=form, headers=headers) as r:
            await r.read()
            if r.status == 200:
                done[0] += 1
        index += 1


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def _uploaders_main(base_url: str, photos: list[bytes], ready: Any, go: Any, stop: Any, done: Any) -> None:
    async def run() -> None:
        uploaders = [await _child_in_upload_step(base_url) for _ in range(UPLOADERS)]
        try:
            ready.set()
            await asyncio.to_thread(go.wait)
            halt = asyncio.Event()
            count = [0]
            load = [asyncio.create_task(_upload_forever(kid, client, photos, halt, count))
                    for kid, client in uploaders]
            while not stop.is_set():
                await asyncio.sleep(0.1)
                done.value = count[0]
            halt.set()
            await asyncio.gather(*load, return_exceptions=True)
            done.value = count[0]
        finally:
            for kid, _ in uploaders:
                await kid.close()

    asyncio.run(run())


async def chat_under_upload_load(seconds: float, photos: list[bytes]) -> None:
    """p50/p99 chat round trips for 30 chats, alone and while 20 children's uploads are hashed.

    The uploads come from a separate process, so building and sending them never delays the event
    loop that times the chats (on 2 cores the three processes still share the CPU with the server).
    """
    from tests.harness import LiveServer

    spawn = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as folder:
        server = LiveServer(Path(folder), env={
            "HAVEN_MESSAGES_PER_MINUTE": "6000", "HAVEN_UPLOAD_MAX_FILES": "200", "HAVEN_UPLOAD_MAX_REPORT_MB": "2000",
        }).start()
        people: list[Any] = []
        ready, go, stop, done = spawn.Event(), spawn.Event(), spawn.Event(), spawn.Value("i", 0)
        uploading = spawn.Process(target=_uploaders_main, args=(server.base_url, photos, ready, go, stop, done))
        try:
            chats = [await _child_in_upload_step(server.base_url) for _ in range(CHATS)]
            people = [kid for kid, _ in chats]
            clients = [client for _, client in chats]
            uploading.start()
            await asyncio.to_thread(ready.wait, 300)
            await _round_trips(clients, 1.0)  # warm up
            quiet = await _round_trips(clients, seconds)
            go.set()
            await asyncio.sleep(1.0)  # let the pool fill up
            loaded = await _round_trips(clients, seconds)
            stop.set()
            await asyncio.to_thread(uploading.join, 60)
        finally:
            stop.set()
            go.set()
            if uploading.is_alive():
                uploading.kill()
            for kid in people:
                await kid.close()
            server.stop()
        hashed = done.value
    print(f"\n{CHATS} chats sending, {seconds:.0f}s each phase (SQLite, default hashing workers)")
    print(f"{'':32s} {'p50 ms':>8s} {'p99 ms':>8s} {'round trips':>12s}")
    print(f"{'no uploads':32s} {_pct(quiet, 0.5):8.1f} {_pct(quiet, 0.99):8.1f} {len(quiet):12d}")
    print(f"{f'{UPLOADERS} uploads being hashed':32s} {_pct(loaded, 0.5):8.1f} {_pct(loaded, 0.99):8.1f} {len(loaded):12d}"
          f"   ({hashed} images hashed meanwhile)")
    print(f"p99 under load = {_pct(loaded, 0.99):.1f} ms (target < 100 ms); "
          f"p99 ratio loaded / quiet = {_pct(loaded, 0.99) / max(_pct(quiet, 0.99), 1e-6):.2f}x; "
          f"mean {statistics.fmean(loaded) * 1000:.1f} vs {statistics.fmean(quiet) * 1000:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", "--images", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--chat-seconds", type=float, default=10.0, help="length of each chat round-trip phase")
    parser.add_argument("--skip-chat", action="store_true", help="only the hashing rates")
    args = parser.parse_args()
    images = [make_image(4032, 3024, kind=KINDS[i % len(KINDS)], seed=i) for i in range(args.images)]
    print(f"{len(images)} synthetic 4032x3024 JPEGs, {sum(map(len, images)) / len(images) / 1e6:.1f} MB average")
    measured = rates({
        "pipeline (check_and_hash)": pipeline,
        "naive (full decode + pdqhash + imagehash.phash)": naive,
        "lower bound (the same reduced decode alone)": decode_only,
    }, images, args.rounds, once=frozenset({"naive (full decode + pdqhash + imagehash.phash)"}))
    for name, value in measured.items():
        print(f"{name:50s} {value:8.1f} images/s")
    p, n, d = measured.values()
    print(f"pipeline / naive        = {p / n:5.1f}x  (target >= 10x)")
    print(f"decode-alone / pipeline = {d / p:5.2f}x  (target <= 1.5x)")
    if not args.skip_chat:
        asyncio.run(chat_under_upload_load(args.chat_seconds, images[:4]))


if __name__ == "__main__":
    main()
