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

import bot.pdqindex as pdqindex
from bot.audit import Actor
from bot.hashlist import HashList, ImageHashes
from bot.pdqindex import (
    KERNEL_SOURCE,
    Kernel,
    LivePdqIndex,
    PdqIndex,
    _Segment,
    build_kernel,
    default_plan,
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


def test_a_crowded_query_is_replanned_and_stays_exact(kernel: Kernel | None) -> None:
    # 60,000 hashes within 4 bits of one centre, and a query that shares the centre's chunks 0 and 1 but
    # differs in 6 of the top 8 bits of each other chunk (36 bits in all): tables 0 and 1 would read the
    # whole family, the others none of it.
    rng = np.random.default_rng(8)
    centre = random_words(rng, 1)
    data = np.concatenate([flip(centre.repeat(60_000, axis=0), rng.integers(1, 5, 60_000), rng),
                           random_words(rng, 5_000)])
    index = PdqIndex(data, kernel=kernel)
    segment = index._segments[0]
    bits = np.unpackbits(centre.view(np.uint8))
    for chunk in range(2, 8):
        bits[8 * (4 * chunk + 3) + rng.choice(8, 6, replace=False)] ^= 1  # byte 4c + 3 holds chunk c's top bits
    far = np.packbits(bits).view(np.uint64)
    # Near the centre the family is the answer, crowding every table alike: no plan reads less of it.
    for query, replanned in ((far, True), (flip(far[None], [1], rng)[0], True), (flip(centre, [20], rng)[0], False)):
        plan, read = segment._plan(query.view(np.uint32), 31, kernel)
        default_read = int(segment._bucket_sums(query.view(np.uint32), 3, kernel).sum())
        assert default_read > 80_000 and (plan != default_plan(31)) == replanned and sum(t + 1 for t in plan) >= 32
        if replanned:  # a crowded table is read to fewer bits (or not at all), the others to more
            assert min(plan[:2]) < 3 and read < default_read / 4
        for radius in (31, 20):
            assert found(index, query, radius) == brute_force(data, query, radius)


def test_the_planner_finds_the_cheapest_plan() -> None:
    def reference(cost: np.ndarray, radius: int) -> float:
        """The same optimum by a plain dynamic programme over capped sums."""
        best = {0: 0.0}
        for table in range(8):
            step: dict[int, float] = {}
            for reached, spent in best.items():
                for t in range(-1, pdqindex.PLAN_MAX + 1):
                    state = min(radius + 1, reached + t + 1)
                    total = spent + (cost[table, t] if t >= 0 else 0.0)
                    step[state] = min(step.get(state, np.inf), total)
            best = step
        return best[radius + 1]

    rng = np.random.default_rng(13)
    _, ends = pdqindex._masks(20)
    buckets = np.diff(np.r_[0, ends])
    for _ in range(30):
        sums = rng.integers(0, 30, size=(8, pdqindex.PLAN_MAX + 1)) * buckets[None, :]
        sums[rng.integers(0, 8, rng.integers(0, 4))] *= rng.integers(1, 2000)
        cost = np.cumsum(sums + pdqindex._BUCKET_COST * buckets[None, :], axis=1).astype(float)
        cost[0] += (pdqindex._ROW_COST - 1) * np.cumsum(sums[0])
        for radius in (31, 12, 0):
            plan = pdqindex._cheapest_plan(sums, ends, radius)
            assert sum(t + 1 for t in plan) >= radius + 1 and all(-1 <= t <= pdqindex.PLAN_MAX for t in plan)
            spent = sum(cost[table, t] for table, t in enumerate(plan) if t >= 0)
            assert spent == pytest.approx(reference(cost, radius))


def test_every_plan_the_planner_may_pick_is_exact(kernel: Kernel | None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pdqindex, "CROWDED_FACTOR", 0.0)
    monkeypatch.setattr(pdqindex, "CROWDED_MIN", 0)
    rng = np.random.default_rng(9)
    members, centres = families(rng, [3000, 1000, 300, 50])
    data = np.concatenate([members, random_words(rng, 5000)])
    index = PdqIndex(data, kernel=kernel)
    plans = set()
    for query in np.concatenate([flip(centres.repeat(10, axis=0), rng.integers(0, 41, 40), rng),
                                 random_words(rng, 10)]):
        for radius in (31, 25, 9, 1, 0):
            plans.add(index._segments[0]._plan(query.view(np.uint32), radius, kernel)[0])
            assert found(index, query, radius) == brute_force(data, query, radius)
    assert len(plans) > 10 and any(-1 in plan for plan in plans)


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
