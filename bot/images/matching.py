"""The one "seen before" helper: is this picture or video like one on the hash list, or in another report?

Pictures and videos are compared alike, as bags of PDQ hashes (ThreatExchange's vPDQ): a picture is one
hash (in either orientation it may be shown), a video or animated picture its sampled frames. Two
pictures match within PDQ distance 31; anything with frames gets vPDQ's two percentages and its
decision, and every single frame within the distance is reported with its timestamp, so a still picture
that is one frame of a listed video is found, and so is a listed picture inside a reported video.
Intake (bot/reports.py), review (bot/review.py) and the partner API's lookup all call this.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Iterable, Protocol, Sequence

import numpy as np

from bot.hashlist import HashEntry, HashList
from bot.images.hashing import PDQ, REGISTRY, VPDQ, Frame, ImageHashes, frame_distances

MATCH_DISTANCE = PDQ.DEFAULT_THRESHOLD


@dataclass(frozen=True, slots=True)
class Bag:
    """What one picture or video is matched by."""

    pictures: tuple[str, ...] = ()  # one picture's PDQ in each orientation it may be shown in
    frames: tuple[Frame, ...] = ()
    quality: int | None = None

    @classmethod
    def of(cls, hashes: ImageHashes) -> "Bag":
        pictures = tuple(h for h in (hashes.pdq, hashes.pdq_unrotated) if h)
        return cls(pictures if not hashes.frame_hashes else (), hashes.frame_hashes, hashes.pdq_quality)

    @classmethod
    def of_entry(cls, entry: HashEntry) -> "Bag":
        return cls((entry.pdq,) if entry.pdq and not entry.frames else (), entry.frames, entry.pdq_quality)

    @classmethod
    def of_frames(cls, frames: Sequence[Frame]) -> "Bag":
        return cls((), tuple(frames))

    def pdqs(self) -> list[str]:
        return list(dict.fromkeys([*self.pictures, *(f.pdq for f in self.frames)]))

    def as_frames(self) -> list[tuple[Frame, ...]]:
        """The bag as frames: a picture once per orientation (each tried on its own), else its frames."""
        if self.frames:
            return [self.frames]
        return [(Frame(0.0, pdq, 100 if self.quality is None else self.quality),) for pdq in self.pictures]


@dataclass(frozen=True, slots=True)
class MediaMatch:
    """How one picture or video matches another (query first): see the module docstring."""

    distance: int
    frames: tuple[float, ...]  # timestamps of the query's frames that match (empty for a picture)
    other_frames: tuple[float, ...]  # the same, of the other's frames
    query_percent: float
    other_percent: float
    match: bool


def compare(query: Bag, other: Bag, vpdq: VPDQ | None = None, radius: int = MATCH_DISTANCE) -> MediaMatch | None:
    """None when no frame of one is within `radius` of a frame of the other."""
    vpdq = vpdq or REGISTRY["vpdq"]  # type: ignore[assignment]
    assert vpdq is not None
    if not query.frames and not other.frames:
        if not query.pictures or not other.pictures:
            return None
        distance = int(frame_distances(list(query.pictures), list(other.pictures)).min())
        return MediaMatch(distance, (), (), 100.0, 100.0, True) if distance <= radius else None
    best: MediaMatch | None = None
    judge = VPDQ(radius, vpdq.quality, vpdq.query_percent, vpdq.listed_percent)
    for mine in query.as_frames():
        for theirs in other.as_frames():
            seen = judge.compare_frames(mine, theirs)
            if not seen.matched:
                continue
            back = judge.compare_frames(theirs, mine)
            found = MediaMatch(seen.distance, seen.matched if query.frames else (),
                               back.matched if other.frames else (), seen.query_percent, seen.listed_percent,
                               seen.match)
            if best is None or (found.query_percent, -found.distance) > (best.query_percent, -best.distance):
                best = found
    return best


class _Index(Protocol):
    async def refresh(self) -> int: ...

    async def search_distances(self, pdq: str, max_distance: int = ...) -> dict[str, int]: ...


@dataclass(frozen=True, slots=True)
class ListMatch:
    entry: HashEntry
    seen: MediaMatch


class SeenBefore:
    """Matches against the hash list through its PDQ index (pictures and every listed frame)."""

    def __init__(self, hashlist: HashList, index: _Index, vpdq: VPDQ | None = None) -> None:
        self.hashlist = hashlist
        self.index = index
        self.vpdq: VPDQ = vpdq or REGISTRY["vpdq"]  # type: ignore[assignment]

    async def get_list_matches(self, query: Bag, radius: int = MATCH_DISTANCE,
                               exclude_image_id: int | None = None) -> list[ListMatch]:
        """Active entries with a frame within `radius` of one of the query's, nearest (then fullest) first."""
        # Refresh on read: a lookup sees every entry committed before it started.
        await self.index.refresh()
        found: set[str] = set()
        for pdq in query.pdqs():
            found.update(await self.index.search_distances(pdq, radius))
        if not found:
            return []
        matches = []
        for entry in await self.hashlist.get_by_pdqs(found):
            if exclude_image_id is not None and entry.report_image_id == exclude_image_id:
                continue
            seen = compare(query, Bag.of_entry(entry), self.vpdq, radius)
            if seen is not None:
                matches.append(ListMatch(entry, seen))
        matches.sort(key=lambda m: (m.seen.distance, -m.seen.query_percent, m.entry.change))
        return matches


def near_reports(query: Bag, rows: Sequence[tuple[int, str | None, str | None, int | None]],
                 frames: Iterable[tuple[int, str, int, int]], radius: int = MATCH_DISTANCE,
                 vpdq: VPDQ | None = None) -> list[tuple[int, MediaMatch]]:
    """(image id, match) of other reports' images like the query, by a vectorized scan.

    `rows` are (id, pdq, pdq_unrotated, pdq_quality) of other images, `frames` (image id, pdq, quality,
    timestamp ms) of their frames. Every stored hash is compared with every query hash in numpy; only
    the images with a hash within `radius` are compared as bags.
    """
    stored: list[tuple[int, str]] = [(i, p) for i, pdq, unrotated, _ in rows for p in (pdq, unrotated) if p]
    frame_rows = list(frames)
    stored += [(image_id, pdq) for image_id, pdq, _, _ in frame_rows]
    mine = query.pdqs()
    if not stored or not mine:
        return []
    words = np.frombuffer(b"".join(bytes.fromhex(p) for _, p in stored), dtype=np.uint64).reshape(-1, 4)
    owners = np.fromiter((i for i, _ in stored), dtype=np.int64, count=len(stored))
    close: set[int] = set()
    for pdq in mine:
        q = np.frombuffer(bytes.fromhex(pdq), dtype=np.uint64)
        distances = np.bitwise_count(words ^ q).sum(axis=1)
        close.update(int(i) for i in np.unique(owners[distances <= radius]))
    if not close:
        return []
    by_image: dict[int, list[Frame]] = {}
    for image_id, pdq, quality, at in frame_rows:
        if image_id in close:
            by_image.setdefault(image_id, []).append(Frame(at / 1000, pdq, quality))
    found = []
    for image_id, pdq, unrotated, quality in rows:
        if image_id not in close:
            continue
        other = Bag(tuple(p for p in (pdq, unrotated) if p) if image_id not in by_image else (),
                    tuple(by_image.get(image_id, ())), quality)
        seen = compare(query, other, vpdq, radius)
        if seen is not None:
            found.append((image_id, seen))
    return found


async def near_reports_off_loop(query: Bag, rows: Sequence[tuple[int, str | None, str | None, int | None]],
                                frames: Sequence[tuple[int, str, int, int]]) -> list[tuple[int, MediaMatch]]:
    """near_reports in a worker thread (62 ms of CPU per upload at 100,000 report images, measured)."""
    return await asyncio.to_thread(near_reports, query, rows, frames)
