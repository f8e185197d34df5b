"""Measures Haven's PDQ index against faiss IndexBinaryFlat on the same hashes, in the same run.

A million random PDQ hashes with planted near-duplicates at every distance 0..31 (and decoys at 32..40
that must not match). Prints recall within 31, single-query median latency of both, their ratio, and
the index's bytes per hash. Run: .venv/bin/python -m bench.matching
"""

from __future__ import annotations

import argparse
import statistics
import time

import faiss
import numpy as np

from bot.pdqindex import MAX_RADIUS, PdqIndex, words_to_hex


def flip(word: np.ndarray, bits: np.ndarray) -> np.ndarray:
    as_bits = np.unpackbits(word.view(np.uint8))
    as_bits[bits] ^= 1
    return np.packbits(as_bits).view(np.uint64)


def make_data(n: int, queries: int, seed: int) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int, int]]]:
    """(hashes, queries, planted) where planted lists (query, row, distance) for every planted neighbour."""
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 2**64 - 1, size=(n, 4), dtype=np.uint64, endpoint=True)
    targets = rng.integers(0, 2**64 - 1, size=(queries, 4), dtype=np.uint64, endpoint=True)
    rows = rng.choice(n, size=queries * 2, replace=False)
    planted = []
    for q in range(queries):
        near = q % (MAX_RADIUS + 1)  # spread evenly over 0..31
        data[rows[2 * q]] = flip(targets[q], rng.choice(256, near, replace=False))
        planted.append((q, int(rows[2 * q]), near))
        far = 32 + q % 9  # a decoy just out of range
        data[rows[2 * q + 1]] = flip(targets[q], rng.choice(256, far, replace=False))
    return data, targets, planted


def medians_ms(works, items) -> list[float]:  # type: ignore[no-untyped-def]
    """Median time of each work per item, interleaved query by query so all see the same machine load."""
    for work in works:
        work(items[0])  # warm-up outside the clock
    times: list[list[float]] = [[] for _ in works]
    for item in items:
        for work, spent in zip(works, times):
            started = time.perf_counter()
            work(item)
            spent.append(time.perf_counter() - started)
    return [statistics.median(spent) * 1000 for spent in times]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", "--hashes", type=int, default=1_000_000)
    parser.add_argument("-q", "--queries", type=int, default=320)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    data, targets, planted = make_data(args.hashes, args.queries, args.seed)
    print(f"{args.hashes:,} random PDQ hashes, {args.queries} queries with planted neighbours at 0..31 "
          f"and decoys at 32..40; faiss {faiss.__version__}, {faiss.omp_get_max_threads()} OpenMP thread(s)")

    started = time.perf_counter()
    index = PdqIndex(data)
    build_s = time.perf_counter() - started
    flat = faiss.IndexBinaryFlat(256)
    flat.add(np.ascontiguousarray(data).view(np.uint8).reshape(-1, 32))

    hex_queries = [words_to_hex(t) for t in targets]
    byte_queries = [np.ascontiguousarray(t).view(np.uint8).reshape(1, 32) for t in targets]

    # Recall: every planted neighbour found, with the right distance; and the same answer as faiss.
    found = 0
    agree = 0
    for q, row, near in planted:
        ours = {m.pdq: m.distance for m in index.search(hex_queries[q])}
        if ours.get(words_to_hex(data[row])) == near:
            found += 1
        lims, dist, ids = flat.range_search(byte_queries[q], MAX_RADIUS + 1)  # faiss: distance < radius
        theirs = {words_to_hex(data[i]): int(d) for i, d in zip(ids, dist)}
        agree += ours == theirs
    recall = found / len(planted)

    ours_ms, range_ms, knn_ms = medians_ms(
        [lambda q: index.search(hex_queries[q]), lambda q: flat.range_search(byte_queries[q], MAX_RADIUS + 1),
         lambda q: flat.search(byte_queries[q], 1)], list(range(len(targets))))
    per_hash = index.nbytes / len(index)

    print(f"recall within {MAX_RADIUS}:                     {recall:.2%} ({found}/{len(planted)})")
    print(f"same matches as faiss range_search:      {agree}/{len(planted)} queries")
    print(f"index build:                             {build_s:.2f} s")
    print(f"Haven PdqIndex.search, median:           {ours_ms:.3f} ms")
    print(f"faiss IndexBinaryFlat.range_search(<32): {range_ms:.3f} ms")
    print(f"faiss IndexBinaryFlat.search(k=1):       {knn_ms:.3f} ms")
    print(f"ratio Haven / faiss range_search:        {ours_ms / range_ms:.2f}x (must be <= 2)")
    print(f"ratio Haven / faiss k=1 search:          {ours_ms / knn_ms:.2f}x")
    print(f"index memory:                            {per_hash:.1f} bytes per hash (must be <= 64); "
          f"faiss flat: {flat.ntotal * 32 / len(index):.0f}")


if __name__ == "__main__":
    main()
