"""The PDQ index: exactly the brute-force answer up to distance 31, refreshed from the hash list, small."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from bot.audit import Actor
from bot.hashlist import HashList, ImageHashes
from bot.pdqindex import LivePdqIndex, PdqIndex, hex_to_words, words_to_hex

ANALYST = Actor(3, "analyst")


def flip(word: np.ndarray, bits: np.ndarray) -> np.ndarray:
    as_bits = np.unpackbits(word.view(np.uint8))
    as_bits[bits] ^= 1
    return np.packbits(as_bits).view(np.uint64)


def brute_force(hashes: np.ndarray, query: np.ndarray, radius: int) -> dict[str, int]:
    distances = np.bitwise_count(hashes ^ query).sum(axis=1)
    return {words_to_hex(hashes[i]): int(distances[i]) for i in np.nonzero(distances <= radius)[0]}


def planted(n_random: int, n_queries: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random hashes plus, for each query, neighbours at every distance 0..40 (32..40 must not match)."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 2**64 - 1, size=(n_random, 4), dtype=np.uint64, endpoint=True)
    queries = rng.integers(0, 2**64 - 1, size=(n_queries, 4), dtype=np.uint64, endpoint=True)
    near = [flip(q, rng.choice(256, d, replace=False)) for q in queries for d in range(41)]
    data = np.concatenate([base, np.array(near).reshape(-1, 4)])
    return data[rng.permutation(len(data))], queries


@pytest.mark.parametrize("radius", [31, 20, 8, 3, 0])
def test_search_returns_exactly_what_brute_force_finds(radius: int) -> None:
    data, queries = planted(30_000, 40, seed=radius)
    index = PdqIndex(data)
    for query in queries:
        expected = brute_force(data, query, radius)
        got = {m.pdq: m.distance for m in index.search(words_to_hex(query), radius)}
        assert got == expected
        # Every planted neighbour within the radius is found, whatever its distance.
        assert len(got) >= radius + 1


def test_recall_holds_when_buckets_are_crowded() -> None:
    # Real lists have clusters: many hashes that share whole chunks. Recall must not depend on spread.
    rng = np.random.default_rng(5)
    centre = rng.integers(0, 2**64 - 1, size=4, dtype=np.uint64, endpoint=True)
    cluster = np.array([flip(centre, rng.choice(256, rng.integers(0, 60), replace=False)) for _ in range(5000)])
    data = np.concatenate([cluster.reshape(-1, 4), rng.integers(0, 2**63, size=(5000, 4), dtype=np.uint64)])
    index = PdqIndex(data)
    for query in [centre, *cluster[:20].reshape(-1, 4)]:
        got = {m.pdq: m.distance for m in index.search(words_to_hex(query))}
        assert got == brute_force(data, query, 31)


def test_results_are_nearest_first_and_distinct() -> None:
    rng = np.random.default_rng(1)
    query = rng.integers(0, 2**63, size=4, dtype=np.uint64)
    neighbours = [flip(query, np.arange(d)) for d in (9, 2, 30, 2)]  # one repeated hash
    index = PdqIndex(np.array(neighbours).reshape(-1, 4))
    assert [m.distance for m in index.search(words_to_hex(query))] == [2, 9, 30]


def test_added_hashes_are_found_at_once_and_after_compaction() -> None:
    data, queries = planted(5_000, 5, seed=11)
    index = PdqIndex(data[:3000], delta_min=10, delta_fraction=0.0)
    index.add(data[3000:])
    assert index.needs_rebuild
    before = [{m.pdq for m in index.search(words_to_hex(q))} for q in queries]
    index.compact()
    assert not index.needs_rebuild and len(index) == len(data)
    after = [{m.pdq for m in index.search(words_to_hex(q))} for q in queries]
    assert before == after == [set(brute_force(data, q, 31)) for q in queries]


def test_memory_is_at_most_64_bytes_per_hash() -> None:
    rng = np.random.default_rng(2)
    for n in (5_000, 70_000, 200_000):
        index = PdqIndex(rng.integers(0, 2**63, size=(n, 4), dtype=np.uint64))
        assert index.nbytes / n <= 64, (n, index.nbytes / n)


def test_bad_queries_are_refused() -> None:
    index = PdqIndex(["00" * 32])
    with pytest.raises(ValueError):
        index.search("00" * 32, 32)
    with pytest.raises(ValueError):
        index.search("zz" * 32)
    assert [m.distance for m in index.search("00" * 32, 0)] == [0]
    assert PdqIndex().search("00" * 32) == []


def _hashes(n: int, pdq: str) -> ImageHashes:
    seed = str(n).encode()
    return ImageHashes(hashlib.md5(seed).hexdigest(), hashlib.sha1(seed).hexdigest(),
                       hashlib.sha256(seed).hexdigest(), pdq)


async def test_live_index_follows_the_hash_list(db) -> None:
    hashlist = HashList(db)
    rng = np.random.default_rng(3)
    pdqs = [words_to_hex(w) for w in rng.integers(0, 2**63, size=(6, 4), dtype=np.uint64)]
    for i, pdq in enumerate(pdqs[:3]):
        await hashlist.do_publish(ANALYST, i + 1, "A", _hashes(i, pdq))
    live = LivePdqIndex(hashlist)
    await live.rebuild()
    assert (live.change, len(live.index)) == (3, 3)
    assert await live.refresh() == 0  # nothing new: no reading beyond one max()

    near = words_to_hex(flip(hex_to_words([pdqs[4]])[0], np.arange(12)))
    assert await live.search(near) == []
    await hashlist.do_publish(ANALYST, 5, "B", _hashes(4, pdqs[4]))
    await hashlist.do_withdraw(ANALYST, 1)
    assert await live.refresh() == 2
    assert [(m.pdq, m.distance) for m in await live.search(near)] == [(pdqs[4], 12)]
    # The withdrawn hash may stay in memory until a rebuild; the database filters it out of lookups.
    assert live.stale == 1
    assert await hashlist.get_by_pdqs([m.pdq for m in await live.search(pdqs[0])]) == []
    await live.rebuild()
    assert await live.search(pdqs[0]) == [] and live.stale == 0 and len(live.index) == 3
