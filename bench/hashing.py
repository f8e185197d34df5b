"""Measures Haven's image pipeline against the naive full-resolution path and a decode-only lower bound."""

from __future__ import annotations

import argparse
import io
import time
from collections.abc import Callable

import imagehash
import numpy as np
import pdqhash
from PIL import Image

from bot.images.intake import _DRAFT_LONG_SIDE, check_and_hash
from tests.imagefactory import make_image

KINDS = ("shapes", "noise", "text", "gradient")


def naive(data: bytes) -> None:
    image = Image.open(io.BytesIO(data)).convert("RGB")
    pdqhash.compute(np.asarray(image))
    imagehash.phash(image)


def decode_only(data: bytes) -> None:
    image = Image.open(io.BytesIO(data))
    ratio = _DRAFT_LONG_SIDE / max(image.size)
    image.draft("RGB", (max(1, int(image.width * ratio)), max(1, int(image.height * ratio))))
    image.load()


def pipeline(data: bytes) -> None:
    check_and_hash(data)


def rate(work: Callable[[bytes], None], images: list[bytes], rounds: int) -> float:
    work(images[0])  # warm caches and lazy imports outside the clock
    started = time.perf_counter()
    for _ in range(rounds):
        for data in images:
            work(data)
    return rounds * len(images) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", "--images", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    images = [make_image(4032, 3024, kind=KINDS[i % len(KINDS)], seed=i) for i in range(args.images)]
    print(f"{len(images)} synthetic 4032x3024 JPEGs, {sum(map(len, images)) / len(images) / 1e6:.1f} MB average")
    rates = {
        "pipeline (check_and_hash)": rate(pipeline, images, args.rounds),
        "naive (full decode + pdqhash + imagehash.phash)": rate(naive, images, 1),
        "lower bound (draft decode alone)": rate(decode_only, images, args.rounds),
    }
    for name, value in rates.items():
        print(f"{name:50s} {value:8.1f} images/s")
    p, n, d = rates.values()
    print(f"pipeline / naive        = {p / n:5.1f}x  (target >= 10x)")
    print(f"decode-alone / pipeline = {d / p:5.2f}x  (target <= 1.5x)")


if __name__ == "__main__":
    main()
