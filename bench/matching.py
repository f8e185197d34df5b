"""Measures Haven's PDQ index against faiss IndexBinaryFlat (brute force) on the same hashes, in the same run.

Three data sets of about `--hashes` distinct PDQs. "uniform": random hashes, and for each query planted
neighbours at every distance 0..31 and decoys at 32..40 that must not match. "clustered":
near-duplicate families as real lists have them (Zipf-sized, up to `--family-max` members, half of
them a few bits from the family's centre and half up to 40), queries near a family (0..24 bits from
its centre or a member; families picked by size, so the big ones are asked about most), decoys 32..40
bits from a centre, and random ones. "crowded": the worst case for multi-index hashing (see
`crowded_data`).

For each: recall within 31 with faiss as the truth (every hash and its distance); median and p99
single-query time of both, one thread each, interleaved query by query with the caches flushed before
each call, and their ratio (wall and CPU time: on a shared machine CPU time is the steadier), also with
the index's crowded buckets read through; bytes per hash (the index's arrays, and RSS growth); build
time; and the cost of 10,000 adds and 10,000 removals.

Run: .venv/bin/python -m bench.matching  (1,000,000 hashes; --hashes 10000000 for a national list)
"""

from __future__ import annotations

import argparse
import copy
import ctypes
import gc
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import faiss
import numpy as np

from bot.pdqindex import MAX_RADIUS, PdqIndex, distinct_rows, words_to_hex


def random_words(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, 2**64 - 1, size=(n, 4), dtype=np.uint64, endpoint=True)


def flip_many(rng: np.random.Generator, centres: np.ndarray, distances: np.ndarray) -> np.ndarray:
    """Each centre with exactly `distances[i]` distinct random bits flipped."""
    ranks = rng.random((len(centres), 256)).argsort(axis=1).argsort(axis=1)
    flips = ranks < distances[:, None]
    return centres ^ np.packbits(flips, axis=1).view(np.uint64)


def scatter(rng: np.random.Generator, centres: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """Each centre with every bit flipped with chance spread[i] / 256 (about `spread` bits; quick at 10M)."""
    out = np.empty_like(centres)
    for start in range(0, len(centres), 250_000):
        part = slice(start, start + 250_000)
        chance = np.round(spread[part] / 256 * 65536).astype(np.uint16)
        flips = rng.integers(0, 65536, size=(len(chance), 256), dtype=np.uint16) < chance[:, None]
        out[part] = centres[part] ^ np.packbits(flips, axis=1).view(np.uint64)
    return out


def uniform_data(rng: np.random.Generator, n: int, queries: int) -> tuple[np.ndarray, np.ndarray]:
    targets = random_words(rng, queries)
    near = np.repeat(targets, MAX_RADIUS + 1 + 9, axis=0)
    distances = np.tile(np.arange(MAX_RADIUS + 1 + 9), queries)  # 0..31 must match, 32..40 must not
    planted = flip_many(rng, near, distances)
    data = distinct_rows(np.concatenate([random_words(rng, n - len(planted)), planted]))
    return data[rng.permutation(len(data))], targets


def clustered_data(rng: np.random.Generator, n: int, queries: int, cap: int) -> tuple[np.ndarray, np.ndarray]:
    sizes: list[int] = []
    while sum(sizes) < n:
        sizes.extend(np.minimum(rng.zipf(1.6, 10_000), cap).tolist())
    sizes_arr = np.array(sizes)
    sizes_arr = sizes_arr[:np.searchsorted(np.cumsum(sizes_arr), n) + 1]
    sizes_arr[-1] -= int(sizes_arr.sum()) - n
    centres = random_words(rng, len(sizes_arr))
    owner = np.repeat(np.arange(len(sizes_arr)), sizes_arr)
    # Half the members a few bits from the centre (re-encodings), half up to 40 (crops, overlays).
    spread = np.where(rng.random(n) < 0.5, rng.integers(0, 9, n), rng.integers(9, 41, n))
    data = distinct_rows(scatter(rng, centres[owner], spread))
    # Queries: near a family (chosen by size, so big families are asked about most), decoys just out of
    # reach of a family's centre, and random ones.
    big = rng.choice(len(sizes_arr), size=queries, p=sizes_arr / sizes_arr.sum())
    kinds = rng.integers(0, 10, queries)
    near_member = data[rng.integers(0, len(data), queries)]
    base = np.where((kinds < 3)[:, None], near_member, centres[big])
    offset = np.where(kinds < 8, rng.integers(0, 25, queries), rng.integers(32, 41, queries))
    targets = flip_many(rng, base, offset)
    targets[kinds == 9] = random_words(rng, int((kinds == 9).sum()))
    return data[rng.permutation(len(data))], targets


def crowded_data(rng: np.random.Generator, n: int, queries: int) -> tuple[np.ndarray, np.ndarray]:
    """The worst case for multi-index hashing: 20 families of n / 200 hashes each within 4 bits of their
    centre, among random hashes, and decoys that equal a centre in 1..3 of the eight 32-bit chunks and
    differ from it in 33..40 bits spread over the others. Plain MIH reads a whole family in every table
    whose bucket key the decoy comes near; almost none of it is within reach."""
    size = n // 200
    centres = random_words(rng, 20)
    family = flip_many(rng, np.repeat(centres, size, axis=0), rng.integers(1, 5, 20 * size))
    data = distinct_rows(np.concatenate([family, random_words(rng, n - len(family))]))
    bits = np.unpackbits(centres[rng.integers(0, 20, queries)].view(np.uint8), axis=1)
    for q in range(queries):
        shared = rng.integers(1, 4)
        others = rng.permutation(8)[shared:]
        total = rng.integers(33, 41)
        for i, chunk in enumerate(others):
            count = total // len(others) + (i < total % len(others))
            bits[q, 32 * chunk + rng.choice(32, count, replace=False)] ^= 1
    return data[rng.permutation(len(data))], np.packbits(bits, axis=1).view(np.uint64)


def rss() -> int:
    """Resident memory after handing freed heap back to the system, so growth is what is still held."""
    gc.collect()
    ctypes.CDLL(None).malloc_trim(0)
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@dataclass
class Times:
    wall: list[float]
    cpu: list[float]  # this thread's CPU time: what the query cost, whatever else the machine was doing


_EVICT = np.ones(6 << 20, dtype=np.uint64)  # 48 MB, more than this machine's last-level cache


def timed(works: list[Callable[[int], object]], items: range) -> list[Times]:
    """Per-item times of each work, interleaved item by item so all see the same machine load, each
    after the caches were flushed (a new query finds its buckets cold; the one before must not help)."""
    for work in works:
        work(items[0])  # warm-up outside the clock
    times = [Times([], []) for _ in works]
    for item in items:
        for work, spent in zip(works, times):
            _EVICT.__iadd__(1)
            cpu, wall = time.thread_time(), time.perf_counter()
            work(item)
            spent.wall.append(time.perf_counter() - wall)
            spent.cpu.append(time.thread_time() - cpu)
    return times


def summary(times: Times) -> tuple[float, float, float, float]:
    """(wall median, wall p99, cpu median, cpu p99) in seconds."""
    return (statistics.median(times.wall), float(np.percentile(times.wall, 99)),
            statistics.median(times.cpu), float(np.percentile(times.cpu, 99)))


def run(name: str, data: np.ndarray, targets: np.ndarray, adds: int, rng: np.random.Generator) -> None:
    print(f"\n== {name}: {len(data):,} distinct PDQ hashes, {len(targets)} queries; "
          f"{'C inner loop' if PdqIndex().kernel else 'numpy only (no C library built)'}")
    before = rss()
    started = time.perf_counter()
    index = PdqIndex(data)
    build_s = time.perf_counter() - started
    grown = rss() - before
    flat = faiss.IndexBinaryFlat(256)
    flat.add(data.view(np.uint8).reshape(-1, 32))

    hex_queries = [words_to_hex(t) for t in targets]
    byte_queries = [np.ascontiguousarray(t).view(np.uint8).reshape(1, 32) for t in targets]

    # Recall and exactness against faiss: the same hashes at the same distances, nothing more.
    expected_pairs = found_pairs = exact = extra = 0
    counts: list[int] = []
    for q in range(len(targets)):
        ours = index.search_distances(hex_queries[q])
        _, dist, ids = flat.range_search(byte_queries[q], MAX_RADIUS + 1)  # faiss: distance < radius
        theirs = {words_to_hex(data[i]): int(d) for i, d in zip(ids, dist)}
        expected_pairs += len(theirs)
        found_pairs += sum(ours.get(h) == d for h, d in theirs.items())
        extra += len(ours.keys() - theirs.keys())
        exact += ours == theirs
        counts.append(len(theirs))
    recall = found_pairs / expected_pairs if expected_pairs else 1.0

    # The same index, crowded buckets read through: what the binary search in them saves.
    plain = copy.copy(index)
    plain.split_crowded = False
    callers, through, full, arrays, brute = timed(
        [lambda q: index.search_distances(hex_queries[q]),
         lambda q: plain.search_distances(hex_queries[q]),
         lambda q: index.search(hex_queries[q]),
         lambda q: index.search_words(targets[q]),
         lambda q: flat.range_search(byte_queries[q], MAX_RADIUS + 1)], range(len(targets)))

    # Incremental refresh: adds near the queries (so they must be found at once), then removals.
    new = distinct_rows(flip_many(rng, targets[rng.integers(0, len(targets), adds)], rng.integers(0, 32, adds)))
    new = new[~index.contains(new)]
    started = time.perf_counter()
    index.add(new)
    add_s = time.perf_counter() - started
    probe = rng.integers(0, len(new), 200)
    seen = sum(len(index.search_distances(words_to_hex(new[i]), 0)) == 1 for i in probe)
    started = time.perf_counter()
    index.compact()
    compact_s = time.perf_counter() - started
    gone = data[rng.choice(len(data), size=adds, replace=False)]
    started = time.perf_counter()
    index.remove(gone)
    remove_s = time.perf_counter() - started
    hidden = sum(not index.search_distances(words_to_hex(gone[i]), 0) for i in probe)
    after, = timed([lambda q: index.search_distances(hex_queries[q])], range(min(100, len(targets))))

    print(f"recall within {MAX_RADIUS}, faiss flat as truth:  {recall:.4%} ({found_pairs:,}/{expected_pairs:,} "
          f"hashes with their distance); {exact}/{len(targets)} queries exactly faiss's answer, {extra} extra")
    print(f"matches per query:                     {expected_pairs / len(targets):.1f} on average, "
          f"{max(counts)} at most")
    print(f"build:                                 {build_s:.2f} s (target < 60)")
    print("single query, ms                       wall median    p99  |  CPU median    p99")
    flat_s = summary(brute)
    for label, times in (("Haven search_distances (hex -> dict)", callers),
                         ("  same, crowded buckets read through", through),
                         ("Haven search (hex -> PdqMatch list)", full), ("Haven search_words (arrays)", arrays),
                         ("faiss IndexBinaryFlat.range_search", brute)):
        s = summary(times)
        print(f"  {label:<36} {s[0] * 1e3:9.3f} {s[1] * 1e3:8.3f}  | {s[2] * 1e3:9.3f} {s[3] * 1e3:8.3f}")
    for label, times in (("search_distances / faiss", callers), ("  read through / faiss", through),
                         ("search / faiss", full), ("search_words / faiss", arrays)):
        s = summary(times)
        print(f"  ratio {label:<30} {s[0] / flat_s[0]:8.3f}x {s[1] / flat_s[1]:7.3f}x | "
              f"{s[2] / flat_s[2]:8.3f}x {s[3] / flat_s[3]:7.3f}x   (target <= 0.2x)")
    print(f"memory:                                {index.nbytes / len(data):.2f} bytes per hash in the index's "
          f"arrays, no Python object per hash; RSS grew {grown / len(data):.2f} per hash (target <= 64)")
    print(f"add {len(new):,} new hashes:               {add_s * 1e3:.1f} ms, found by the next query: "
          f"{seen}/{len(probe)}; then compaction of the buffer into a segment: {compact_s * 1e3:.1f} ms")
    print(f"remove {adds:,} hashes:                 {remove_s * 1e3:.1f} ms, gone from the next query: "
          f"{hidden}/{len(probe)}; afterwards search median {statistics.median(after.wall) * 1e3:.3f} ms "
          f"({index.segments} segments)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--hashes", type=int, default=1_000_000)
    parser.add_argument("-q", "--queries", type=int, default=300)
    parser.add_argument("--adds", type=int, default=10_000)
    parser.add_argument("--family-max", type=int, default=10_000, help="largest near-duplicate family")
    parser.add_argument("--data", choices=["uniform", "clustered", "crowded", "all"], default="all")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    faiss.omp_set_num_threads(1)
    print(f"faiss {faiss.__version__}, 1 OpenMP thread; numpy {np.__version__}")
    rng = np.random.default_rng(args.seed)
    if args.data in ("uniform", "all"):
        data, targets = uniform_data(rng, args.hashes, args.queries)
        run("uniform random, planted neighbours at 0..31 and decoys at 32..40", data, targets, args.adds, rng)
        del data
    if args.data in ("clustered", "all"):
        data, targets = clustered_data(rng, args.hashes, args.queries, args.family_max)
        run(f"clustered: near-duplicate families of up to {args.family_max:,}", data, targets, args.adds, rng)
        del data
    if args.data in ("crowded", "all"):
        data, targets = crowded_data(rng, args.hashes, args.queries)
        run(f"crowded: 20 families of {args.hashes // 200:,} within 4 bits, decoys sharing 1..3 chunks",
            data, targets, args.adds, rng)


if __name__ == "__main__":
    main()
