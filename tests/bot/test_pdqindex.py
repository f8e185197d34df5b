"""The PDQ index: exactly the brute-force answer up to distance 31, on random and clustered lists, with
either inner loop (C and numpy), through adds, removals and compactions; small; fed by the hash list."""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.audit import Actor
from bot.hashlist import HashList, ImageHashes
from bot.images.hashing import Frame
from bot.pdqindex import (
    KERNEL_SOURCE,
    Kernel,
    LivePdqIndex,
    PdqIndex,
    _Segment,
    build_kernel,
    hex_to_words,
    words_to_hex,
)
from tests.harness import IN_CI

ANALYST = Actor(3, "analyst")


@pytest.fixture(scope="module")
def built_kernel(tmp_path_factory: pytest.TempPathFactory) -> Kernel:
    """The C inner loop compiled from the source in this tree (not whatever scripts/setup left)."""
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        if IN_CI:
            pytest.fail("CI=true needs a C compiler for bot/pdqscan.c", pytrace=False)
        pytest.skip("no C compiler")
    target = tmp_path_factory.mktemp("kernel") / "_pdqscan.so"
    assert build_kernel(target)
    kernel = Kernel.load(target)
    assert kernel is not None
    return kernel


@pytest.fixture(params=["c", "numpy"])
def kernel(request: pytest.FixtureRequest) -> Kernel | None:
    return request.getfixturevalue("built_kernel") if request.param == "c" else None


def random_words(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, 2**64 - 1, size=(n, 4), dtype=np.uint64, endpoint=True)


def flip(words: np.ndarray, distances: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each row with exactly distances[i] distinct random bits flipped."""
    ranks = rng.random((len(words), 256)).argsort(axis=1).argsort(axis=1)
    return words ^ np.packbits(ranks < np.asarray(distances)[:, None], axis=1).view(np.uint64)


def brute_force(hashes: np.ndarray, query: np.ndarray, radius: int) -> dict[str, int]:
    distances = np.bitwise_count(hashes ^ query).sum(axis=1)
    return {words_to_hex(hashes[i]): int(distances[i]) for i in np.flatnonzero(distances <= radius)}


def found(index: PdqIndex, query: np.ndarray, radius: int = 31) -> dict[str, int]:
    matches = index.search(words_to_hex(query), radius)
    assert len({m.pdq for m in matches}) == len(matches), "a hash was reported twice"
    assert [m.distance for m in matches] == sorted(m.distance for m in matches), "not nearest first"
    distances = index.search_distances(words_to_hex(query), radius)
    assert list(distances.items()) == [(m.pdq, m.distance) for m in matches]
    return distances


def planted(rng: np.random.Generator, n_random: int, queries: np.ndarray) -> np.ndarray:
    """Random hashes plus, for each query, one neighbour at every distance 0..40 (32..40 must not match)."""
    near = flip(np.repeat(queries, 41, axis=0), np.tile(np.arange(41), len(queries)), rng)
    data = np.concatenate([random_words(rng, n_random), near])
    return data[rng.permutation(len(data))]


def families(rng: np.random.Generator, sizes: list[int], tight: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Near-duplicate families: members a few bits (a `tight` share) or up to 40 bits from their centre."""
    centres = random_words(rng, len(sizes))
    owner = np.repeat(np.arange(len(sizes)), sizes)
    spread = np.where(rng.random(len(owner)) < tight, rng.integers(0, 5, len(owner)),
                      rng.integers(5, 41, len(owner)))
    return flip(centres[owner], spread, rng), centres


@pytest.mark.parametrize("radius", [31, 20, 8, 3, 0])
def test_search_returns_exactly_what_brute_force_finds(kernel: Kernel | None, radius: int) -> None:
    rng = np.random.default_rng(radius)
    queries = random_words(rng, 30)
    data = planted(rng, 30_000, queries)
    index = PdqIndex(data, kernel=kernel)
    for query in queries:
        got = found(index, query, radius)
        assert got == brute_force(data, query, radius)
        assert len(got) >= radius + 1  # every planted neighbour within the radius, whatever its distance


def test_recall_is_exact_on_clustered_lists(kernel: Kernel | None) -> None:
    # Real lists are families of near-duplicates: many hashes share whole chunks, buckets are crowded.
    rng = np.random.default_rng(5)
    members, centres = families(rng, [6000, 3000, 1500, 800, 400] + [20] * 50)
    data = np.concatenate([members, random_words(rng, 10_000)])
    index = PdqIndex(data, kernel=kernel)
    near_centre = flip(centres[:5].repeat(8, axis=0), rng.integers(0, 25, 40), rng)
    near_member = flip(members[rng.integers(0, len(members), 40)], rng.integers(0, 20, 40), rng)
    decoys = flip(centres[:5].repeat(4, axis=0), rng.integers(32, 41, 20), rng)
    answered = 0
    for query in np.concatenate([near_centre, near_member, decoys, random_words(rng, 5)]):
        for radius in (31, 16):
            expected = brute_force(data, query, radius)
            assert found(index, query, radius) == expected
            answered += bool(expected)
    assert answered > 100  # the clustered queries really had neighbours to find


@pytest.mark.parametrize("split", [True, False])
def test_crowded_buckets_are_searched_exactly(kernel: Kernel | None, split: bool) -> None:
    # 30,000 hashes within 4 bits of each of two centres, and queries that equal a centre in one to
    # three chunks but are 33..40 bits from it, or are near it: every table's buckets near those
    # chunks hold a whole family, which the C loop binary-searches (split) or reads through.
    rng = np.random.default_rng(8)
    centres = random_words(rng, 2)
    data = np.concatenate([flip(centres.repeat(30_000, axis=0), rng.integers(1, 5, 60_000), rng),
                           random_words(rng, 5_000)])
    index = PdqIndex(data, kernel=kernel, split_crowded=split)
    bits = np.unpackbits(centres.repeat(15, axis=0).view(np.uint8), axis=1)
    for q in range(len(bits)):
        others = rng.permutation(8)[rng.integers(1, 4):]
        for i, chunk in enumerate(others):
            bits[q, 32 * chunk + rng.choice(32, 40 // len(others) - (q % 3), replace=False)] ^= 1
    decoys = np.packbits(bits, axis=1).view(np.uint64)
    near = flip(centres.repeat(5, axis=0), rng.integers(0, 28, 10), rng)
    answered = 0
    for query in np.concatenate([decoys, near]):
        for radius in (31, 20, 9):
            expected = brute_force(data, query, radius)
            assert found(index, query, radius) == expected
            answered += len(expected)
    assert answered > 10_000


@pytest.mark.parametrize("radius", [31, 17, 4, 0])
def test_distance_radius_is_in_and_one_more_is_out(kernel: Kernel | None, radius: int) -> None:
    rng = np.random.default_rng(radius + 100)
    queries = random_words(rng, 20)
    inside = flip(queries, [radius] * 20, rng)
    outside = flip(queries, [radius + 1] * 20, rng)
    index = PdqIndex(np.concatenate([inside, outside, random_words(rng, 3000)]), kernel=kernel)
    for query, near, far in zip(queries, inside, outside):
        got = found(index, query, radius)
        assert got[words_to_hex(near)] == radius
        assert words_to_hex(far) not in got
        assert found(index, query, min(31, radius + 1)).get(words_to_hex(far)) == (radius + 1 if radius < 31 else None)


def test_duplicates_are_held_and_reported_once(kernel: Kernel | None) -> None:
    rng = np.random.default_rng(1)
    query = random_words(rng, 1)[0]
    neighbours = flip(np.repeat(query[None], 3, axis=0), [9, 2, 30], rng)
    data = np.concatenate([neighbours, neighbours[1:2], neighbours[1:2], random_words(rng, 500)])
    index = PdqIndex(data, kernel=kernel)
    assert len(index) == 503
    assert [m.distance for m in index.search(words_to_hex(query))] == [2, 9, 30]
    assert index.add(neighbours) == 0
    assert index.add([words_to_hex(neighbours[0])] * 2 + [words_to_hex(query)] * 3) == 1
    assert [m.distance for m in index.search(words_to_hex(query))] == [0, 2, 9, 30]
    assert index.remove(np.concatenate([neighbours[1:2]] * 2)) == 1
    assert [m.distance for m in index.search(words_to_hex(query))] == [0, 9, 30]


def test_adds_and_removals_are_seen_by_the_next_query(kernel: Kernel | None) -> None:
    rng = np.random.default_rng(11)
    queries = random_words(rng, 10)
    data = planted(rng, 20_000, queries)
    live = {row.tobytes() for row in data[:15_000]}
    index = PdqIndex(data[:15_000], kernel=kernel, buffer_max=1000)
    assert index.segments == 1

    def expected(query: np.ndarray) -> dict[str, int]:
        rows = np.frombuffer(b"".join(live), dtype=np.uint64).reshape(-1, 4)
        return brute_force(rows, query, 31)

    def check() -> None:
        for query in queries:
            assert found(index, query) == expected(query)
        assert len(index) == len(live)

    for start in range(15_000, len(data), 1500):  # adds, each visible at once, then made a segment
        added = data[start:start + 1500]
        assert index.add(added) == len(added)
        live.update(row.tobytes() for row in added)
        check()
        assert index.needs_compaction == (len(added) > 1000)
        index.compact()
        assert not index.needs_compaction
        check()
    assert index.segments >= 2  # the big segment was not rebuilt for small adds
    gone = data[rng.choice(len(data), 3000, replace=False)]
    assert index.remove(gone) == 3000
    live.difference_update(row.tobytes() for row in gone)
    check()
    assert index.dead == 3000
    assert index.remove(gone) == 0
    index.compact(full=True)
    assert (index.segments, index.dead) == (1, 0)
    check()


def test_a_removal_during_compaction_is_not_undone(kernel: Kernel | None, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(12)
    data = random_words(rng, 4000)
    index = PdqIndex(data[:3000], kernel=kernel, buffer_max=10)
    index.add(data[3000:])
    build = _Segment.build.__func__  # type: ignore[attr-defined]

    def build_while_removing(cls: type[_Segment], words: np.ndarray) -> _Segment:
        # Another thread withdraws a hash from the buffer and one from the big segment mid-build.
        worker = threading.Thread(target=index.remove, args=(np.stack([data[3500], data[10]]),))
        worker.start()
        worker.join()
        return build(cls, words)

    monkeypatch.setattr(_Segment, "build", classmethod(build_while_removing))
    index.compact(full=True)
    for gone in (data[3500], data[10]):
        assert words_to_hex(gone) not in found(index, gone, 0)
    assert len(index) == 3998 and found(index, data[11], 0) == {words_to_hex(data[11]): 0}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), sizes=st.lists(st.integers(1, 400), min_size=0, max_size=6),
       spread=st.integers(0, 40), randoms=st.integers(0, 3000), offsets=st.lists(st.integers(0, 45), min_size=1,
                                                                                  max_size=6),
       radius=st.integers(0, 31))
def test_property_index_equals_brute_force(built_kernel: Kernel, seed: int, sizes: list[int], spread: int,
                                           randoms: int, offsets: list[int], radius: int) -> None:
    rng = np.random.default_rng(seed)
    centres = random_words(rng, max(1, len(sizes)))
    members = flip(np.repeat(centres[:len(sizes)], sizes, axis=0), rng.integers(0, spread + 1, sum(sizes)), rng)
    data = np.concatenate([members, random_words(rng, randoms)])
    queries = flip(centres[rng.integers(0, len(centres), len(offsets))], offsets, rng)
    half = len(data) // 2
    for kernel in (built_kernel, None):
        index = PdqIndex(data[:half], kernel=kernel, buffer_max=50)
        index.add(data[half:])
        for query in queries:
            assert found(index, query, radius) == brute_force(data, query, radius)
        index.compact()
        for query in queries:
            assert found(index, query, radius) == brute_force(data, query, radius)


def test_memory_is_at_most_64_bytes_per_hash() -> None:
    rng = np.random.default_rng(2)
    for n in (5_000, 70_000, 400_000):
        index = PdqIndex(random_words(rng, n))
        segment = index._segments[0]
        # The row itself, one uint32 in each of seven tables, and the bucket starts.
        assert (segment.rows.nbytes, segment.entries.nbytes) == (32 * n, 28 * n)
        assert index.nbytes / n <= 64, (n, index.nbytes / n)


def test_bad_queries_are_refused() -> None:
    index = PdqIndex(["00" * 32])
    with pytest.raises(ValueError):
        index.search("00" * 32, 32)
    with pytest.raises(ValueError):
        index.search("00" * 32, -1)
    with pytest.raises(ValueError):
        index.search("zz" * 32)
    with pytest.raises(ValueError):
        index.add(["00" * 31])
    assert index.search("00" * 32, 0) == [("00" * 32, 0)]
    assert PdqIndex().search("00" * 32) == []


def test_the_kernel_is_built_from_source_and_a_stale_one_is_not_loaded(tmp_path: Path, built_kernel: Kernel) -> None:
    target = tmp_path / "_pdqscan.so"
    assert build_kernel(target) and Kernel.load(target) is not None
    older = KERNEL_SOURCE.stat().st_mtime - 60
    os.utime(target, (older, older))
    assert Kernel.load(target) is None  # built from an older source: numpy is used until setup rebuilds it
    assert Kernel.load(tmp_path / "missing.so") is None
    assert PdqIndex(random_words(np.random.default_rng(0), 10), kernel=None).search("00" * 32) == []


def _hashes(n: int, pdq: str) -> ImageHashes:
    seed = str(n).encode()
    return ImageHashes(hashlib.md5(seed).hexdigest(), hashlib.sha1(seed).hexdigest(),
                       hashlib.sha256(seed).hexdigest(), pdq)


async def test_live_index_follows_the_hash_list(db) -> None:
    hashlist = HashList(db)
    rng = np.random.default_rng(3)
    pdqs = [words_to_hex(w) for w in random_words(rng, 6)]
    for i, pdq in enumerate(pdqs[:3]):
        await hashlist.do_publish(ANALYST, i + 1, "A", _hashes(i, pdq))
    live = LivePdqIndex(hashlist)
    await live.rebuild()
    assert (live.change, len(live.index)) == (3, 3)
    assert await live.refresh() == 0  # nothing new: no reading beyond one max()

    near = words_to_hex(flip(hex_to_words([pdqs[4]]), [12], rng)[0])
    assert await live.search(near) == []
    await hashlist.do_publish(ANALYST, 5, "B", _hashes(4, pdqs[4]))
    await hashlist.do_withdraw(ANALYST, 1)
    assert await live.refresh() == 2
    assert [(m.pdq, m.distance) for m in await live.search(near)] == [(pdqs[4], 12)]
    # The withdrawn hash is gone from the index at once (a tombstone until the next compaction).
    assert await live.search(pdqs[0]) == [] and live.stale == 1
    await hashlist.do_publish(ANALYST, 1, "C", _hashes(0, pdqs[0]))  # published again
    await hashlist.do_publish(ANALYST, 2, "B", _hashes(1, pdqs[1]))  # category changed: still one hash
    assert await live.refresh() == 2
    assert [m.distance for m in await live.search(pdqs[0])] == [0] and len(live.index) == 4

    # Two entries with one PDQ: the hash stays until both are withdrawn.
    await hashlist.do_publish(ANALYST, 7, "A", _hashes(7, pdqs[2]))
    await hashlist.do_withdraw(ANALYST, 3)
    await live.refresh()
    assert [m.pdq for m in await live.search(pdqs[2], 0)] == [pdqs[2]]
    await hashlist.do_withdraw(ANALYST, 7)
    await live.refresh()
    assert await live.search(pdqs[2], 0) == []
    await live.rebuild()
    assert live.stale == 0 and len(live.index) == 3
    assert {m.pdq for p in pdqs for m in await live.search(p, 0)} == {pdqs[0], pdqs[1], pdqs[4]}


async def test_live_index_holds_a_listed_videos_frames(db) -> None:
    hashlist = HashList(db)
    rng = np.random.default_rng(6)
    frames = [words_to_hex(w) for w in random_words(rng, 4)]
    live = LivePdqIndex(hashlist)
    await live.rebuild()
    files = _hashes(50, frames[0])
    video = ImageHashes(files.md5, files.sha1, files.sha256, None, media="video",
                        frame_hashes=tuple(Frame(float(t), pdq, 90) for t, pdq in enumerate(frames[:3])))
    await hashlist.do_publish(ANALYST, 50, "A", video)
    await hashlist.do_publish(ANALYST, 51, "B", _hashes(51, frames[2]))  # a still that is the third frame
    await live.refresh()
    assert len(live.index) == 3
    for pdq in frames[:3]:
        near = words_to_hex(flip(hex_to_words([pdq]), [10], rng)[0])
        assert await live.search_distances(near) == {pdq: 10}
    await hashlist.do_withdraw(ANALYST, 50)
    await live.refresh()
    # The video's frames leave with it, except the one the still picture also holds.
    assert [await live.search_distances(pdq, 0) for pdq in frames[:3]] == [{}, {}, {frames[2]: 0}]
    await live.rebuild()
    assert len(live.index) == 1


async def test_live_index_pages_through_a_backlog_and_compacts(db) -> None:
    hashlist = HashList(db)
    rng = np.random.default_rng(4)
    pdqs = [words_to_hex(w) for w in random_words(rng, 40)]
    live = LivePdqIndex(hashlist)
    live.page = 7
    live.index.buffer_max = 16
    await live.rebuild()
    for i, pdq in enumerate(pdqs):
        await hashlist.do_publish(ANALYST, 100 + i, "A", _hashes(100 + i, pdq))
    assert await live.refresh() == 40
    assert len(live.index) == 40 and live.index.segments == 1  # compacted after the refresh
    assert [[m.pdq for m in await live.search(p, 0)] for p in pdqs] == [[p] for p in pdqs]
    live.backlog = 5  # a long backlog is read by a rebuild
    await hashlist.do_withdraw(ANALYST, 100)
    for i in range(6):
        await hashlist.do_publish(ANALYST, 200 + i, "B", _hashes(200 + i, pdqs[i]))
    assert await live.refresh() == 7
    assert len(live.index) == 40 and live.stale == 0 and live.index.segments == 1
    assert await live.search_distances(pdqs[0], 0) == {pdqs[0]: 0}  # image 200 still lists it
