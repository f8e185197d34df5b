"""Exact PDQ near-duplicate search at the size of a national hash list (10 million hashes, < 64 bytes each).

Multi-index hashing. Each 256-bit hash is eight 32-bit chunks with one table each. If two hashes differ
in at most r bits and table c is searched to `t[c]` bits, with sum(t[c] + 1) > r, then some chunk differs
in at most its `t[c]` (pigeonhole; t = 3 everywhere for r = 31; a table with t = -1 is not read). A
table is a direct bucket table on the top `bits` bits of its chunk (20 at ten million hashes) over one
uint32 per hash: the hash's position in the row array in the low `pos_bits` bits (24 at ten million)
and the chunk's next bits above them. A query reads every bucket within t bits of its own key, drops
an entry unless the known 28 bits are within t, reads the rows of the survivors and checks their full
distance. Every true match survives, so recall is exact, at any radius up to 31.

Table 0 needs no entries: the rows themselves are kept in its order (by chunk 0). Per hash the index holds
the row (32 bytes), seven entries (28), its share of the bucket starts (8 tables x 4 bytes a bucket,
at most 3.5 bytes a hash by the choice of `bits`) and a withdrawn bit: under 64 bytes.

A hash found by several tables is kept only by the first table that must find it, so nothing is
reported twice and no set is built. Near-duplicate families put thousands of hashes in a few buckets
(a family's members share most chunks). The 28 known bits drop most of them before their row is read,
and the C loop does not read a crowded bucket through: its entries (table 0: its rows) are sorted by
the chunk's bits below the key, so it binary-searches the runs within reach of the query's. Measured
(bench/matching.py), that beats re-planning the per-table thresholds around crowded tables (Qin et
al., "GPH", ICDE 2018), which was tried: widening a table reads more cold buckets than skipping a
crowded one saves. What stays is inherent: a family member that agrees with the query in a whole
chunk is a candidate whose row must be read. The per-query loop is C (bot/pdqscan.c, built by
scripts/setup), the same in numpy when the library is absent.

Changes are incremental. New hashes go into a buffer searched by brute force; a compaction (in a
worker thread) turns it into a segment with its own tables, merging trailing segments of similar
size, so the big segment is rarely rebuilt. A removal sets the hash's withdrawn bit; compaction drops
it. The index holds distinct PDQ values; which hash-list entries hold them comes from the database.
"""

from __future__ import annotations

import asyncio
import ctypes
import functools
import itertools
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import numpy as np

MAX_RADIUS = 31
CHUNKS = 8
CHUNK_RADIUS = MAX_RADIUS // CHUNKS  # 3: pigeonhole, 8 chunks x (3 + 1) > 31
_MIX = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F), np.uint64(0x165667B19E3779F9),
        np.uint64(0xD6E8FEB86659FD93), np.uint64(0xFF51AFD7ED558CCD))

KERNEL_SOURCE = Path(__file__).with_name("pdqscan.c")
KERNEL_LIBRARY = Path(__file__).with_name("_pdqscan.so")
_KERNEL_ABI = 4


def table_bits(n: int) -> int:
    """Bucket-table width: 8 tables x 2**bits x 4 bytes stays under 3.5 bytes a hash (20 bits at ten million)."""
    return max(4, min(24, (int(n) * 7 // 64).bit_length() - 1))


def position_bits(n: int) -> int:
    return max(1, (int(n) - 1).bit_length())


def default_plan(radius: int) -> tuple[int, ...]:
    """Per-table thresholds with sum(t + 1) = radius + 1, as even as possible (3 each for 31)."""
    q, s = divmod(radius + 1, CHUNKS)
    return tuple(q if table < s else q - 1 for table in range(CHUNKS))


@functools.cache
def _masks(bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Every `bits`-wide mask of weight 0..3, lightest first, and where each weight ends."""
    masks: list[int] = []
    ends: list[int] = []
    for weight in range(CHUNK_RADIUS + 1):
        for chosen in itertools.combinations(range(bits), weight):
            masks.append(sum(1 << bit for bit in chosen))
        ends.append(len(masks))
    return np.array(masks, dtype=np.int64), np.array(ends, dtype=np.int64)


def hex_to_words(values: Iterable[str]) -> np.ndarray:
    """PDQ hex strings to an (n, 4) uint64 array (bytes in order, so chunk i is bytes 4i..4i+3)."""
    values = list(values)
    if any(len(value) != 64 for value in values):
        raise ValueError("a PDQ hash is 64 hexadecimal digits")
    return np.frombuffer(bytes.fromhex("".join(values)), dtype=np.uint64).reshape(-1, 4).copy()


def words_to_hex(words: np.ndarray) -> str:
    return np.ascontiguousarray(words, dtype=np.uint64).tobytes().hex()


def _as_words(values: Sequence[str] | np.ndarray) -> np.ndarray:
    if isinstance(values, np.ndarray):
        return np.ascontiguousarray(values, dtype=np.uint64).reshape(-1, 4)
    return hex_to_words(values)


def pdq_distances(hashes: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Hamming distance from one PDQ (4 uint64 words) to each row of an (n, 4) array."""
    counts = np.bitwise_count(hashes ^ query)
    # Adding four columns is several times faster than a reduction along axis 1.
    return counts[:, 0].astype(np.uint16) + counts[:, 1] + counts[:, 2] + counts[:, 3]


# --- The C inner loop -----------------------------------------------------------------------------

def build_kernel(target: Path = KERNEL_LIBRARY) -> bool:
    """Compile bot/pdqscan.c (scripts/setup does, once). False without a C compiler: numpy is used then."""
    compiler = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if compiler is None:
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(suffix=".so", dir=target.parent)
    os.close(handle)
    try:
        # popcnt is in every x86-64 since 2008; no -march=native, so a built image runs on any of them.
        for flags in (["-O3", "-mpopcnt"], ["-O3"]):
            done = subprocess.run([compiler, *flags, "-shared", "-fPIC", "-o", temporary, str(KERNEL_SOURCE)],
                                  capture_output=True, check=False)
            if done.returncode == 0:
                os.replace(temporary, target)  # atomic: a running process keeps the file it mapped
                return True
        return False
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


class Kernel:
    """bot/pdqscan.c through ctypes (which lets other threads run during each call)."""

    def __init__(self, library: ctypes.CDLL) -> None:
        pointer, c_int, c_int64 = ctypes.c_void_p, ctypes.c_int, ctypes.c_int64
        self.bucket_sums = library.pdq_bucket_sums
        self.bucket_sums.restype = None
        self.bucket_sums.argtypes = [pointer, c_int, pointer, pointer, pointer, c_int, pointer]
        self.search = library.pdq_search
        self.search.restype = c_int64
        self.search.argtypes = [pointer, c_int64, pointer, pointer, c_int, c_int, pointer, pointer, c_int,
                                pointer, pointer, pointer, pointer, pointer, pointer, pointer, c_int, pointer,
                                pointer, pointer, c_int64]

    @classmethod
    def load(cls, path: Path = KERNEL_LIBRARY) -> Kernel | None:
        """The built library, or None if it is missing, older than its source or of another version."""
        try:
            if path.stat().st_mtime < KERNEL_SOURCE.stat().st_mtime:
                return None
            library = ctypes.CDLL(str(path))
        except OSError:
            return None
        abi = library.pdq_abi
        abi.restype = ctypes.c_int
        return cls(library) if abi() == _KERNEL_ABI else None


KERNEL = Kernel.load()


# --- Building blocks ------------------------------------------------------------------------------

def _mix(words: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each row: sorting by it puts equal rows together however clustered the data."""
    h = words[:, 0] * _MIX[0]
    h ^= words[:, 1] * _MIX[1]
    h ^= words[:, 2] * _MIX[2]
    h ^= words[:, 3] * _MIX[3]
    h ^= h >> np.uint64(29)
    h *= _MIX[4]
    h ^= h >> np.uint64(32)
    return h


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The ranges [start, start + length) one after another in one index array, without a Python loop."""
    total = int(lengths.sum())
    shift = starts - (np.cumsum(lengths) - lengths)
    return np.repeat(shift, lengths) + np.arange(total)


def _sort_by(keys: np.ndarray, pos_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """(positions in the order of `keys`, the sorted keys), for keys < 2**(64 - pos_bits), by one sort
    of packed words: several times faster than argsort (0.5 s against 5.5 s for ten million)."""
    packed = (keys << np.uint64(pos_bits)) | np.arange(len(keys), dtype=np.uint64)
    packed.sort()
    return (packed & np.uint64((1 << pos_bits) - 1)).astype(np.int64), packed >> np.uint64(pos_bits)


def _repeats(rows: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Which rows repeat an earlier one, given `keys` sorted and equal for equal rows."""
    repeat = np.zeros(len(rows), dtype=bool)
    later = np.flatnonzero(keys[1:] == keys[:-1]) + 1  # rows whose key is their predecessor's
    if not len(later):
        return repeat
    # Every row of a run of equal keys, sorted by run and then by the whole row (stably: the first of
    # equal rows stays first), so that equal rows are next to each other.
    member = np.zeros(len(rows), dtype=bool)
    member[later] = member[later - 1] = True
    members = np.flatnonzero(member)
    run = np.cumsum(np.r_[True, np.diff(members) > 1] | np.r_[True, keys[members[1:]] != keys[members[:-1]]])
    group = rows[members]
    order = np.lexsort((group[:, 3], group[:, 2], group[:, 1], group[:, 0], run))
    group, run, members = group[order], run[order], members[order]
    same = (run[1:] == run[:-1]) & (group[1:] == group[:-1]).all(axis=1)
    repeat[members[1:][same]] = True
    return repeat


def _row_keys(words: np.ndarray, pos_bits: int) -> np.ndarray:
    """Table 0's order: chunk 0, then as many bits of a hash of the whole row as fit beside a position."""
    tag_bits = 32 - pos_bits
    keys = words.view(np.uint32)[:, 0].astype(np.uint64) << np.uint64(tag_bits)
    if tag_bits:
        keys |= _mix(words) >> np.uint64(64 - tag_bits)
    return keys


def distinct_rows(words: np.ndarray) -> np.ndarray:
    """The rows of `words` without repeats (the first of each kept, in order)."""
    if len(words) < 2:
        return words
    pos_bits = position_bits(len(words))
    order, keys = _sort_by(_mix(words) >> np.uint64(pos_bits), pos_bits)
    repeat = np.zeros(len(words), dtype=bool)
    repeat[order[_repeats(words[order], keys)]] = True
    return words[~repeat] if repeat.any() else words


class PdqMatch(NamedTuple):
    pdq: str
    distance: int


_new_match = functools.partial(tuple.__new__, PdqMatch)  # no Python frame per match, unlike PdqMatch(...)


@dataclass(eq=False)
class _Segment:
    """Rows with their eight tables. Never changed after it is built, except for the withdrawn bits."""

    rows: np.ndarray  # (n, 4) uint64, distinct, in table 0's order: by chunk 0, then by a hash of the row
    entries: np.ndarray  # (7, n) uint32: tables 1..7 bucket by bucket, (next chunk bits << pos_bits) | position
    offsets: np.ndarray  # (8, 2**bits + 1) uint32: where each bucket starts
    bits: int
    pos_bits: int
    dead: np.ndarray  # one bit per row: withdrawn
    dead_count: int = 0

    @classmethod
    def build(cls, words: np.ndarray) -> _Segment:
        """Index these rows, once each. CPU-heavy at scale: never on the event loop."""
        n = len(words)
        if n >= 2**32:
            raise ValueError("a segment holds at most 2**32 - 1 hashes")
        bits, pos_bits = table_bits(n), position_bits(n)
        # Table 0: by chunk 0, so that the C loop can binary-search a crowded bucket, then by a hash of
        # the whole row, so that equal rows end up side by side (and are dropped here) and `locate`
        # can binary-search for a row.
        order, key = _sort_by(_row_keys(words, pos_bits), pos_bits)
        rows = np.take(words, order, axis=0)
        del order
        repeat = _repeats(rows, key)
        del key
        if repeat.any():
            rows = rows[~repeat]
            if (table_bits(len(rows)), position_bits(len(rows))) != (bits, pos_bits):
                return cls.build(rows)  # many repeats: size the tables for what is left
            n = len(rows)
        prefix_bits = min(32, bits + 32 - pos_bits)
        chunks = rows.view(np.uint32)
        offsets = np.zeros((CHUNKS, (1 << bits) + 1), dtype=np.uint32)
        entries = np.empty((CHUNKS - 1, n), dtype=np.uint32)
        positions = np.arange(n, dtype=np.uint64)
        for table in range(CHUNKS):
            prefix = (chunks[:, table] >> np.uint32(32 - prefix_bits)).astype(np.uint64)
            buckets = (prefix >> np.uint64(prefix_bits - bits)).astype(np.int64)
            np.cumsum(np.bincount(buckets, minlength=1 << bits), out=offsets[table, 1:])
            del buckets
            if table:
                prefix <<= np.uint64(pos_bits)
                prefix |= positions
                prefix.sort()
                entries[table - 1] = prefix  # the low 32 bits: next chunk bits and position
        return cls(rows, entries, offsets, bits, pos_bits, np.zeros((n + 7) // 8, dtype=np.uint8))

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def prefix_bits(self) -> int:
        """How much of its chunk a table entry knows: the bucket, and the bits stored beside the position."""
        return min(32, self.bits + 32 - self.pos_bits)

    @property
    def live(self) -> int:
        return len(self.rows) - self.dead_count

    @property
    def nbytes(self) -> int:
        return int(self.rows.nbytes + self.entries.nbytes + self.offsets.nbytes + self.dead.nbytes)

    def is_dead(self, positions: np.ndarray) -> np.ndarray:
        return ((self.dead[positions >> 3] >> (positions & 7).astype(np.uint8)) & 1).astype(bool)

    def live_rows(self) -> np.ndarray:
        if not self.dead_count:
            return self.rows
        return self.rows[~np.unpackbits(self.dead, count=len(self.rows), bitorder="little").astype(bool)]

    # --- exact lookups (refreshes) ---

    def locate(self, words: np.ndarray) -> np.ndarray:
        """Each row's position here, or -1 (withdrawn rows included): table 0's bucket, and in a
        crowded one a binary search for the row's key."""
        found = np.full(len(words), -1, dtype=np.int64)
        if not len(self.rows) or not len(words):
            return found
        buckets = (words.view(np.uint32)[:, 0] >> np.uint32(32 - self.bits)).astype(np.int64)
        lo = self.offsets[0][buckets].astype(np.int64)
        hi = self.offsets[0][buckets + 1].astype(np.int64)
        crowded = np.flatnonzero(hi - lo > 64)
        if len(crowded):
            want = _row_keys(words[crowded], self.pos_bits)
            lo[crowded] = self._bound(want, lo[crowded], hi[crowded], upper=False)
            hi[crowded] = self._bound(want, lo[crowded], hi[crowded], upper=True)
        lengths = hi - lo
        candidates = _ranges(lo, lengths)
        owner = np.repeat(np.arange(len(words)), lengths)
        equal = (self.rows[candidates] == words[owner]).all(axis=1)
        found[owner[equal]] = candidates[equal]
        return found

    def _bound(self, want: np.ndarray, lo: np.ndarray, hi: np.ndarray, upper: bool) -> np.ndarray:
        """Where each `want` key starts (or ends, if `upper`) in rows [lo, hi), vectorised."""
        lo, hi = lo.copy(), hi.copy()
        active = np.flatnonzero(lo < hi)
        while len(active):
            mid = (lo[active] + hi[active]) >> 1
            key = _row_keys(self.rows[mid], self.pos_bits)
            right = key <= want[active] if upper else key < want[active]
            lo[active] = np.where(right, mid + 1, lo[active])
            hi[active] = np.where(right, hi[active], mid)
            active = active[lo[active] < hi[active]]
        return lo

    def mark_dead(self, words: np.ndarray) -> int:
        positions = self.locate(words)
        positions = np.unique(positions[positions >= 0])
        positions = positions[~self.is_dead(positions)]
        np.bitwise_or.at(self.dead, positions >> 3, (1 << (positions & 7)).astype(np.uint8))
        self.dead_count += len(positions)
        return len(positions)

    # --- search ---

    def _buckets(self, query32: np.ndarray, max_weight: int) -> tuple[np.ndarray, np.ndarray]:
        """(starts, sizes), each (8, masks up to max_weight): the buckets near the query's key in each table."""
        masks, ends = _masks(self.bits)
        count = int(ends[max_weight])
        keys = (query32 >> np.uint32(32 - self.bits)).astype(np.int64)
        slots = (masks[None, :count] ^ keys[:, None]) + (np.arange(CHUNKS) * ((1 << self.bits) + 1))[:, None]
        flat = self.offsets.reshape(-1)
        starts = flat[slots].astype(np.int64)
        return starts, flat[slots + 1].astype(np.int64) - starts

    def _read_count(self, query32: np.ndarray, plan: Sequence[int], kernel: Kernel) -> int:
        """How many entries (and table-0 rows) the search under `plan` reads: a bound on its matches."""
        masks, ends = _masks(self.bits)
        widest = max(plan)
        sums = np.empty((CHUNKS, widest + 1), dtype=np.int64)
        kernel.bucket_sums(self.offsets.ctypes.data, self.bits, query32.ctypes.data, masks.ctypes.data,
                           ends.ctypes.data, widest, sums.ctypes.data)
        return sum(int(sums[table, :t + 1].sum()) for table, t in enumerate(plan) if t >= 0)

    def search(self, query: np.ndarray, radius: int, kernel: Kernel | None, split: bool = True
               ) -> tuple[np.ndarray, np.ndarray]:
        """(positions, distances) of every live row within `radius` of `query`, in no particular order."""
        if not len(self.rows):
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.uint16)
        query32 = query.view(np.uint32)
        plan = default_plan(radius)
        if kernel is None:
            return self._search_numpy(query, query32, radius, plan)
        masks, ends = _masks(self.bits)
        extra_masks, extra_ends = _masks(self.prefix_bits - self.bits)
        low_masks, low_ends = _masks(32 - self.bits)
        total = self._read_count(query32, plan, kernel)
        positions = np.empty(total, dtype=np.int64)  # a match is a candidate: there are no more
        distances = np.empty(total, dtype=np.uint16)
        limits = np.array(plan, dtype=np.int32)
        bounds = np.empty(2 * int(ends[max(plan)]), dtype=np.uint32)
        found = kernel.search(
            self.rows.ctypes.data, len(self.rows), self.entries.ctypes.data, self.offsets.ctypes.data, self.bits,
            self.pos_bits, self.dead.ctypes.data if self.dead_count else None, query.ctypes.data, radius,
            limits.ctypes.data, masks.ctypes.data, ends.ctypes.data, extra_masks.ctypes.data, extra_ends.ctypes.data,
            low_masks.ctypes.data, low_ends.ctypes.data, int(split), bounds.ctypes.data, positions.ctypes.data,
            distances.ctypes.data, total)
        return positions[:found], distances[:found]

    def _search_numpy(self, query: np.ndarray, query32: np.ndarray, radius: int, plan: Sequence[int]
                      ) -> tuple[np.ndarray, np.ndarray]:
        """What pdqscan.c's pdq_search does, vectorised: the same candidates and rules."""
        n = len(self.rows)
        _, ends = _masks(self.bits)
        starts, sizes = self._buckets(query32, max(plan))
        limits = np.asarray(plan)
        # Table 0: the rows are in its order; check chunk 0 in full.
        found: list[np.ndarray] = []
        origin: list[np.ndarray] = []
        if plan[0] >= 0:
            count = int(ends[plan[0]])
            positions = _ranges(starts[0, :count], sizes[0, :count])
            chunk = np.take(self.rows.view(np.uint32).reshape(-1), positions * 8)
            near = np.bitwise_count(chunk ^ query32[0]) <= plan[0]
            found.append(positions[near])
            origin.append(np.zeros(int(near.sum()), dtype=np.int64))
        # Tables 1..7: entries whose known chunk bits are within the table's threshold.
        counts = [int(ends[t]) if t >= 0 else 0 for t in plan[1:]]
        if sum(counts):
            weights = [np.repeat(np.arange(t + 1), np.diff(np.r_[0, ends[:t + 1]])) for t in plan[1:] if t >= 0]
            table_of = np.repeat(np.arange(1, CHUNKS), counts)
            lengths = np.concatenate([sizes[table, :count] for table, count in enumerate(counts, 1)])
            base = np.concatenate([starts[table, :count] + (table - 1) * n for table, count in enumerate(counts, 1)])
            owner = np.repeat(np.arange(len(lengths)), lengths)
            entry = np.take(self.entries.reshape(-1), _ranges(base, lengths))
            extra = self.prefix_bits - self.bits
            expect = ((query32[table_of] >> np.uint32(32 - self.prefix_bits)) & np.uint32((1 << extra) - 1))
            allowed = (limits[table_of] - np.concatenate(weights)).astype(np.uint8)
            differ = (entry >> np.uint32(self.pos_bits)) ^ np.take(expect, owner)
            differ &= np.uint32((1 << extra) - 1)
            near = np.bitwise_count(differ) <= np.take(allowed, owner)
            found.append((entry[near] & np.uint32((1 << self.pos_bits) - 1)).astype(np.int64))
            origin.append(np.take(table_of, owner[near]))
        positions = np.concatenate(found)
        rows = np.take(self.rows, positions, axis=0)
        distances = pdq_distances(rows, query)
        keep = np.flatnonzero(distances <= radius)
        positions, distances, rows, source = positions[keep], distances[keep], rows[keep], np.concatenate(origin)[keep]
        # Keep each match once: from the first table that must find it (and only if it is not withdrawn).
        differ = rows.view(np.uint32).reshape(-1, CHUNKS) ^ query32
        differ[:, 1:] >>= np.uint32(32 - self.prefix_bits)
        finds = (np.bitwise_count(differ) <= limits) & (limits >= 0)
        keep = np.argmax(finds, axis=1) == source
        if self.dead_count:
            keep &= ~self.is_dead(positions)
        return positions[keep], distances[keep]


class PdqIndex:
    """Thread-safe: searches read a snapshot; changes swap snapshots under a lock.

    `kernel` is the C inner loop (the built library by default; None for numpy alone). `split_crowded`:
    the kernel binary-searches crowded buckets (False reads them through, for comparison).
    """

    def __init__(self, hashes: Sequence[str] | np.ndarray = (), buffer_max: int = 8192, merge_ratio: float = 2.0,
                 kernel: Kernel | None = KERNEL, split_crowded: bool = True) -> None:
        self.kernel = kernel
        self.split_crowded = split_crowded
        words = _as_words(hashes)
        self._lock = threading.Lock()
        self._compacting = threading.Lock()
        self._segments: tuple[_Segment, ...] = (_Segment.build(words),) if len(words) else ()
        self._buffer = np.empty((0, 4), dtype=np.uint64)
        self._buffer_live = np.empty(0, dtype=bool)
        self._removed: list[np.ndarray] | None = None  # removals made while a compaction builds
        self.buffer_max = buffer_max
        self.merge_ratio = merge_ratio

    def __len__(self) -> int:
        """Live hashes."""
        with self._lock:
            return sum(s.live for s in self._segments) + int(self._buffer_live.sum())

    @property
    def dead(self) -> int:
        """Withdrawn hashes still held (never found) until the next compaction."""
        with self._lock:
            return sum(s.dead_count for s in self._segments) + int((~self._buffer_live).sum())

    @property
    def segments(self) -> int:
        return len(self._segments)

    @property
    def nbytes(self) -> int:
        """Bytes held in the index's arrays."""
        with self._lock:
            return sum(s.nbytes for s in self._segments) + int(self._buffer.nbytes + self._buffer_live.nbytes)

    @property
    def needs_compaction(self) -> bool:
        with self._lock:
            return len(self._buffer) > self.buffer_max or any(
                s.dead_count > max(1024, len(s) // 4) for s in self._segments)

    def _present(self, words: np.ndarray) -> np.ndarray:
        """Which rows are live in the index (call with the lock held)."""
        present = np.zeros(len(words), dtype=bool)
        for segment in self._segments:
            positions = segment.locate(words)
            hit = positions >= 0
            hit[hit] = ~segment.is_dead(positions[hit])
            present |= hit
        if len(self._buffer):
            live = {row.tobytes() for row in self._buffer[self._buffer_live]}
            present |= np.fromiter((row.tobytes() in live for row in words), dtype=bool, count=len(words))
        return present

    def contains(self, values: Sequence[str] | np.ndarray) -> np.ndarray:
        words = _as_words(values)
        with self._lock:
            return self._present(words)

    def add(self, values: Sequence[str] | np.ndarray) -> int:
        """Make new hashes searchable at once; returns how many were not there already."""
        words = distinct_rows(_as_words(values))
        if not len(words):
            return 0
        with self._lock:
            words = words[~self._present(words)]
            self._buffer = np.concatenate([self._buffer, words])
            self._buffer_live = np.concatenate([self._buffer_live, np.ones(len(words), dtype=bool)])
        return len(words)

    def remove(self, values: Sequence[str] | np.ndarray) -> int:
        """Withdraw hashes: no search finds them from now on; returns how many were live."""
        words = distinct_rows(_as_words(values))
        if not len(words):
            return 0
        with self._lock:
            removed = sum(segment.mark_dead(words) for segment in self._segments)
            if len(self._buffer):
                gone = {row.tobytes() for row in words}
                hit = np.fromiter((row.tobytes() in gone for row in self._buffer), dtype=bool,
                                  count=len(self._buffer)) & self._buffer_live
                if hit.any():
                    self._buffer_live = self._buffer_live & ~hit  # a new array: snapshots keep theirs
                    removed += int(hit.sum())
            if self._removed is not None:
                self._removed.append(words)
        return removed

    def replace(self, values: Sequence[str] | np.ndarray) -> None:
        """Hold exactly these hashes from now on (CPU-heavy at scale: run it in an executor)."""
        words = _as_words(values)
        with self._compacting:
            segments = (_Segment.build(words),) if len(words) else ()
            with self._lock:
                self._segments = segments
                self._buffer = np.empty((0, 4), dtype=np.uint64)
                self._buffer_live = np.empty(0, dtype=bool)

    def compact(self, full: bool = False) -> None:
        """Turn the buffer into a segment, merged with the trailing segments of similar size and any with
        many withdrawn hashes (with all of them if `full`). CPU-heavy at scale: run it in an executor."""
        with self._compacting:
            with self._lock:
                segments, buffer, live = self._segments, self._buffer, self._buffer_live
                self._removed = []
            first, size = len(segments), int(live.sum())
            while first and (full or segments[first - 1].live <= self.merge_ratio * size):
                first -= 1
                size += segments[first].live
            first = min([first] + [i for i, s in enumerate(segments) if s.dead_count > max(1024, len(s) // 4)])
            words = np.concatenate([segment.live_rows() for segment in segments[first:]] + [buffer[live]])
            built = _Segment.build(words) if len(words) else None
            with self._lock:
                removed, self._removed = self._removed, None
                if built is not None and removed:
                    built.mark_dead(np.concatenate(removed))
                self._segments = self._segments[:first] + ((built,) if built is not None else ())
                # Rows added meanwhile are after the ones taken; removals only replace the live mask.
                self._buffer = self._buffer[len(buffer):]
                self._buffer_live = self._buffer_live[len(buffer):]

    def search_words(self, query: np.ndarray, max_distance: int = MAX_RADIUS) -> tuple[np.ndarray, np.ndarray]:
        """(rows, distances) of every live hash within `max_distance` of a 4-word query, nearest first."""
        if not 0 <= max_distance <= MAX_RADIUS:
            raise ValueError(f"max_distance must be 0..{MAX_RADIUS}")
        query = np.ascontiguousarray(query, dtype=np.uint64).reshape(4)
        with self._lock:
            segments, buffer, live = self._segments, self._buffer, self._buffer_live
        rows, distances = [], []
        for segment in segments:
            positions, near = segment.search(query, max_distance, self.kernel, self.split_crowded)
            rows.append(np.take(segment.rows, positions, axis=0))
            distances.append(near)
        if len(buffer):
            near = pdq_distances(buffer, query)
            keep = (near <= max_distance) & live
            rows.append(buffer[keep])
            distances.append(near[keep])
        if not rows:
            return np.empty((0, 4), dtype=np.uint64), np.empty(0, dtype=np.uint16)
        all_rows, all_distances = np.concatenate(rows), np.concatenate(distances)
        order = np.argsort(all_distances, kind="stable")
        return all_rows[order], all_distances[order]

    def search_distances(self, pdq: str, max_distance: int = MAX_RADIUS) -> dict[str, int]:
        """{hash: distance} for every stored hash within `max_distance` (0..31) of `pdq`, nearest first.

        What the callers want, made in C: a match costs one string, where a PdqMatch costs an object the
        garbage collector then tracks (thousands of them for a query in a big family)."""
        rows, distances = self.search_words(hex_to_words([pdq])[0], max_distance)
        return dict(zip(_hex_rows(rows), distances.tolist()))

    def search(self, pdq: str, max_distance: int = MAX_RADIUS) -> list[PdqMatch]:
        """Every stored hash within `max_distance` (0..31) of `pdq`, nearest first."""
        return list(map(_new_match, self.search_distances(pdq, max_distance).items()))


def _hex_rows(rows: np.ndarray) -> list[str]:
    """Each row as 64 hex digits: one hex() call, read back as fixed-width strings by numpy."""
    return np.frombuffer(rows.tobytes().hex().encode("utf-32-le"), dtype="<U64").tolist()


class _PdqSource(Protocol):
    def iter_pdqs(self, since: int, batch: int = ...) -> AsyncIterator[tuple[int, list[str], int]]: ...

    async def get_last_change(self) -> int: ...

    async def get_changes(self, since: int, limit: int) -> Any: ...

    async def get_by_pdqs(self, pdqs: Iterable[str]) -> Any: ...


class LivePdqIndex:
    """A PdqIndex kept in step with the hash list through its change numbers.

    `refresh()` applies the entries changed since the last refresh (cheap; safe to call before every
    lookup): a published entry's PDQs (its picture's and its video's frames') are added, a withdrawn
    one's removed unless another active entry holds them.
    """

    page = 5000
    backlog = 200_000  # more changes than this since the last refresh: rebuild instead

    def __init__(self, source: _PdqSource) -> None:
        self.source = source
        self.index = PdqIndex()
        self.change = 0
        self._refreshing = asyncio.Lock()

    @property
    def stale(self) -> int:
        """Withdrawn hashes still in memory (never found by a search) until the next compaction."""
        return self.index.dead

    async def rebuild(self) -> None:
        """Load every active PDQ from the database and build a new index off the event loop."""
        async with self._refreshing:
            await self._rebuild()

    async def _rebuild(self) -> None:
        loop = asyncio.get_running_loop()
        last, parts = 0, [np.empty((0, 4), dtype=np.uint64)]
        async for change, pdqs, _ in self.source.iter_pdqs(0):
            last = change
            # Page by page into words: ten million hex strings at once would take a gigabyte.
            parts.append(await loop.run_in_executor(None, hex_to_words, pdqs))
        await loop.run_in_executor(None, self.index.replace, np.concatenate(parts))
        self.change = last

    def _apply(self, added: list[str], withdrawn: list[str]) -> None:
        self.index.remove(withdrawn)
        self.index.add(added)

    async def refresh(self) -> int:
        """Catch up with changes since the last refresh; returns how many change numbers were read."""
        if await self.source.get_last_change() <= self.change:
            return 0
        loop = asyncio.get_running_loop()
        async with self._refreshing:
            before = self.change
            if await self.source.get_last_change() - before > self.backlog:
                await self._rebuild()  # quicker than paging through the changes one entry at a time
                return self.change - before
            while True:
                changes = await self.source.get_changes(self.change, self.page)
                added = [pdq for entry in changes.entries if entry.active for pdq in entry.pdqs()]
                withdrawn = {pdq for entry in changes.entries if not entry.active for pdq in entry.pdqs()}
                if withdrawn:
                    withdrawn -= {pdq for entry in await self.source.get_by_pdqs(withdrawn) for pdq in entry.pdqs()}
                await loop.run_in_executor(None, self._apply, added, sorted(withdrawn))
                self.change = changes.cursor
                if not changes.more:
                    break
            read = self.change - before
            if self.index.needs_compaction:
                await loop.run_in_executor(None, self.index.compact)
        return read

    async def search(self, pdq: str, max_distance: int = MAX_RADIUS) -> list[PdqMatch]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self.index.search, pdq, max_distance)

    async def search_distances(self, pdq: str, max_distance: int = MAX_RADIUS) -> dict[str, int]:
        """{hash: distance} within `max_distance`, nearest first (see PdqIndex.search_distances)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, self.index.search_distances, pdq, max_distance)
