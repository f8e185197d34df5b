"""Hash kinds as plug-ins, one small class each (HMA's signal types), so intake, the list and partners agree.

A kind owns everything about its hashes: the exchange name, the hex form and its length, validation,
hashing from content, comparison (distance and threshold where it has one) and examples for tests.
Everything else reads the registry: intake hashes with it, the hash list stores and checks by it, the
partner API builds its OpenAPI patterns and lookup fields from it, exports list its columns. Adding a
kind is one class here (registered below) and a migration adding its column.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar, Iterable, Sequence

import imagehash
import numpy as np
import pdqhash
from PIL import Image

MEDIA = ("image", "video")


@dataclass(frozen=True, slots=True)
class Comparison:
    """The outcome of comparing two hashes of one kind."""

    distance: int
    match: bool


@dataclass(frozen=True, slots=True)
class PdqDigest:
    """A PDQ hash (64 hex characters) and its quality score (0-100; below ~50 is unreliable)."""

    hash: str
    quality: int


@dataclass(frozen=True, slots=True)
class Frame:
    """One sampled frame of a video or animated image, in vPDQ's form: PDQ, quality, timestamp (seconds).

    `index` is the frame's number in decoding order, so review can show exactly that frame again.
    """

    timestamp: float
    pdq: str
    quality: int
    index: int = 0

    def as_json(self) -> dict[str, Any]:
        return {"timestamp": round(self.timestamp, 3), "pdq": self.pdq, "quality": self.quality}


@dataclass(frozen=True, slots=True)
class VideoComparison:
    """vPDQ's two-sided comparison of two bags of frames.

    `query_percent`: the share of the query's (quality-filtered, distinct) frames with a match in the
    other; `listed_percent`: the same the other way round. `matched` holds the query frames' timestamps
    that matched, `distance` the nearest pair's distance (256 when nothing matched).
    """

    query_percent: float
    listed_percent: float
    distance: int
    matched: tuple[float, ...]
    match: bool


class HashKind:
    """One kind of hash. Subclasses set the class attributes and override what they can do."""

    name: ClassVar[str]
    label: ClassVar[str]
    hex_length: ClassVar[int]
    # The media it is made for, and where the hash list and report images store it.
    media: ClassVar[frozenset[str]] = frozenset(MEDIA)
    column: ClassVar[str]
    # Kinds kept inside Haven only (pHash) are never exchanged with partners.
    exchanged: ClassVar[bool] = True
    threshold: int | None = None

    def describe(self) -> str:
        return f"{self.label} as {self.hex_length} hexadecimal digits"

    def pattern(self, lower_only: bool = False) -> str:
        """The JSON-Schema pattern of one value of this kind."""
        digits = "0-9a-f" if lower_only else "0-9a-fA-F"
        return f"^[{digits}]{{{self.hex_length}}}$"

    def validate(self, value: object) -> bool:
        """True for a value in this kind's stored form: exactly `hex_length` lower-case hex digits."""
        return isinstance(value, str) and len(value) == self.hex_length and _HEX.fullmatch(value) is not None

    def check(self, value: object) -> str:
        """A value sent by a person or partner, in any case, as stored; ValueError says what is wrong."""
        if not isinstance(value, str):
            raise ValueError(f"'{self.name}' must be a string of {self.hex_length} hexadecimal digits.")
        lowered = value.lower()
        if not self.validate(lowered):
            raise ValueError(f"'{self.name}' must be exactly {self.hex_length} hexadecimal digits (0-9, a-f).")
        return lowered

    def compare(self, a: str, b: str) -> Comparison:
        raise NotImplementedError

    def examples(self) -> list[str]:
        raise NotImplementedError


_HEX = re.compile(r"[0-9a-f]+")


def hamming_hex(a: str, b: str) -> int:
    """Count differing bits between two equal-length hex strings."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


class _FileDigest(HashKind):
    """A cryptographic digest of the file's exact bytes: equal or not, nothing in between."""

    algorithm: ClassVar[str]

    def hash_from_bytes(self, data: bytes | memoryview) -> str:
        return hashlib.new(self.algorithm, data).hexdigest()

    def compare(self, a: str, b: str) -> Comparison:
        same = a.lower() == b.lower()
        return Comparison(distance=0 if same else 1, match=same)

    def examples(self) -> list[str]:
        return [self.hash_from_bytes(seed) for seed in (b"haven example 1", b"haven example 2")]


class MD5(_FileDigest):
    name = "md5"
    label = "MD5"
    algorithm = "md5"
    hex_length = 32
    column = "md5"


class SHA1(_FileDigest):
    name = "sha1"
    label = "SHA-1"
    algorithm = "sha1"
    hex_length = 40
    column = "sha1"


class SHA256(_FileDigest):
    name = "sha256"
    label = "SHA-256"
    algorithm = "sha256"
    hex_length = 64
    column = "sha256"


class VideoMD5(_FileDigest):
    """HMA's video MD5: the MD5 of a video file, exchanged under its own name; stored as the entry's md5."""

    name = "video_md5"
    label = "video MD5"
    algorithm = "md5"
    hex_length = 32
    media = frozenset({"video"})
    column = "md5"


class _Perceptual(HashKind):
    """A perceptual hash compared by Hamming distance against a threshold."""

    def __init__(self, threshold: int) -> None:
        self.threshold = threshold

    def compare(self, a: str, b: str) -> Comparison:
        if not (self.validate(a) and self.validate(b)):
            raise ValueError(f"not a {self.name} hash")
        distance = hamming_hex(a, b)
        return Comparison(distance=distance, match=distance <= (self.threshold or 0))


class PDQ(_Perceptual):
    """Meta's PDQ: 256 bits, the format the hash list and partners exchange for pictures."""

    name = "pdq"
    label = "PDQ"
    hex_length = 64
    media = frozenset({"image"})
    column = "pdq"
    DEFAULT_THRESHOLD: ClassVar[int] = 31
    # Below this quality PDQ is unreliable (ThreatExchange's and vPDQ's figure).
    QUALITY_THRESHOLD: ClassVar[int] = 50

    def __init__(self, threshold: int = DEFAULT_THRESHOLD) -> None:
        super().__init__(threshold)

    def examples(self) -> list[str]:
        return [hashlib.sha256(seed).hexdigest() for seed in (b"pdq example 1", b"pdq example 2")]

    def hash_from_image(self, image: Image.Image) -> PdqDigest:
        """Hash decoded pixels exactly as given; the caller decides about orientation."""
        pixels = np.ascontiguousarray(np.asarray(image.convert("RGB"), dtype=np.uint8))
        bits, quality = pdqhash.compute(pixels)
        return PdqDigest(hash=bits_to_hex(bits), quality=int(quality))

    def hash_from_reduced_luma(self, luma: np.ndarray, full_size: tuple[int, int], scale: int) -> PdqDigest:
        """Hash a picture from a copy shrunk `scale` times, as PDQ would hash the full-size one.

        `luma` holds ITU-R 601 luma (Pillow's "L", what PDQ reads), each value the mean of
        a `scale` x `scale` block of the `full_size` (width, height) picture, the last
        row and column of blocks cut short by the picture's edge: what Image.reduce
        gives, and, closely enough, a JPEG decoded at 1/2, 1/4 or 1/8 scale.

        PDQ blurs the full-size luma with two passes of box filters, each about 1/128 of
        the picture wide, and keeps the blurred value at 64 x 64 points. Every one of
        those values is a weighted sum of full-size pixels; summing the weights over
        each block gives the same value from the block means. The 64 x 64 result then
        goes through pdqhash itself (its filters are the identity at that size), which
        makes the DCT, the median cut and the quality score. On 12-megapixel synthetic
        photos decoded at 1/8 scale the hash stays within 4 bits of pdqhash on the full
        decode (tests/bot/images/test_intake.py), at 1/40 of the cost.
        """
        width, height = full_size
        rows = _pdq_sampling_weights(height, luma.shape[0], scale)
        cols = _pdq_sampling_weights(width, luma.shape[1], scale)
        blurred = rows @ np.asarray(luma, dtype=np.float32) @ cols.T
        grid = np.clip(np.rint(blurred), 0, 255).astype(np.uint8)
        bits, quality = pdqhash.compute(np.ascontiguousarray(np.repeat(grid[:, :, None], 3, axis=2)))
        return PdqDigest(hash=bits_to_hex(bits), quality=int(quality))


class VPDQ(HashKind):
    """vPDQ: a PDQ hash, its quality and its timestamp for each sampled frame of a video.

    Matching follows ThreatExchange's vPDQ: frames below quality 50 are left out, equal hashes count
    once, two frames match within PDQ distance 31, and two videos match when the share of the query's
    frames that match is at least `query_percent` and the share of the listed video's frames that match
    at least `listed_percent` (HMA's defaults: 80% and 0%, so a trimmed copy still matches). Frames are
    sampled one a second by default, and a frame within `PRUNE_DISTANCE` of the last one kept is dropped.
    """

    name = "vpdq"
    label = "vPDQ"
    hex_length = 64
    media = frozenset({"video"})
    column = "frames"
    DEFAULT_QUERY_PERCENT: ClassVar[float] = 80.0
    DEFAULT_LISTED_PERCENT: ClassVar[float] = 0.0
    PRUNE_DISTANCE: ClassVar[int] = 2
    MAX_FRAMES: ClassVar[int] = 3600

    def __init__(self, threshold: int = PDQ.DEFAULT_THRESHOLD, quality: int = PDQ.QUALITY_THRESHOLD,
                 query_percent: float = DEFAULT_QUERY_PERCENT, listed_percent: float = DEFAULT_LISTED_PERCENT) -> None:
        self.threshold = threshold
        self.quality = quality
        self.query_percent = query_percent
        self.listed_percent = listed_percent

    def describe(self) -> str:
        return "vPDQ: for each sampled frame its timestamp (seconds), PDQ (64 hexadecimal digits) and quality"

    def check_frames(self, value: object) -> tuple[Frame, ...]:
        """Frames as a partner sends them: a list of {"timestamp", "pdq", "quality"}; ValueError otherwise."""
        if not isinstance(value, list) or not value:
            raise ValueError("'frames' must be a list of at least one {\"timestamp\", \"pdq\", \"quality\"}.")
        if len(value) > self.MAX_FRAMES:
            raise ValueError(f"'frames' can hold at most {self.MAX_FRAMES} frames.")
        frames = []
        for item in value:
            if not isinstance(item, dict) or set(item) - {"timestamp", "pdq", "quality"} or "pdq" not in item:
                raise ValueError("Each frame must be {\"timestamp\", \"pdq\", \"quality\"}.")
            pdq = PDQ().check(item["pdq"])
            timestamp, quality = item.get("timestamp", 0), item.get("quality", 100)
            if isinstance(timestamp, bool) or not isinstance(timestamp, (int, float)) or not 0 <= timestamp < 10**7:
                raise ValueError("A frame's 'timestamp' must be a number of seconds from 0.")
            if isinstance(quality, bool) or not isinstance(quality, int) or not 0 <= quality <= 100:
                raise ValueError("A frame's 'quality' must be a whole number from 0 to 100.")
            frames.append(Frame(float(timestamp), pdq, quality))
        return tuple(frames)

    def compare_frames(self, query: Sequence[Frame], listed: Sequence[Frame]) -> VideoComparison:
        """vPDQ's brute-force match of two bags of frames (see the class docstring)."""
        mine = _usable(query, self.quality)
        theirs = _usable(listed, self.quality)
        if not mine or not theirs:
            return VideoComparison(0.0, 0.0, 256, (), False)
        distances = frame_distances([f.pdq for f in mine], [f.pdq for f in theirs])
        close = distances <= self.threshold
        query_percent = 100.0 * float(close.any(axis=1).sum()) / len(mine)
        listed_percent = 100.0 * float(close.any(axis=0).sum()) / len(theirs)
        matched = tuple(sorted(f.timestamp for f, hit in zip(mine, close.any(axis=1)) if hit))
        return VideoComparison(query_percent, listed_percent, int(distances.min()), matched,
                               query_percent >= self.query_percent and listed_percent >= self.listed_percent)

    def prune(self, frames: Iterable[Frame]) -> list[Frame]:
        """Drop each frame within PRUNE_DISTANCE of the last frame kept (vPDQ's pruning of still scenes)."""
        kept: list[Frame] = []
        for frame in frames:
            if kept and hamming_hex(frame.pdq, kept[-1].pdq) <= self.PRUNE_DISTANCE:
                continue
            kept.append(frame)
        return kept

    def compare(self, a: str, b: str) -> Comparison:
        # One frame against one frame is PDQ's comparison.
        return PDQ(self.threshold).compare(a, b)

    def examples(self) -> list[str]:
        return PDQ().examples()

    def example_frames(self) -> list[Frame]:
        return [Frame(float(n), pdq, 100) for n, pdq in enumerate(PDQ().examples())]


def _usable(frames: Sequence[Frame], quality: int) -> list[Frame]:
    """vPDQ's quality filter and de-duplication (equal hashes count once)."""
    seen: set[str] = set()
    kept = []
    for frame in frames:
        if frame.quality >= quality and frame.pdq not in seen:
            seen.add(frame.pdq)
            kept.append(frame)
    return kept


def frame_distances(a: Sequence[str], b: Sequence[str]) -> np.ndarray:
    """The (len(a), len(b)) matrix of Hamming distances between two lists of PDQ hex strings."""
    left = np.frombuffer(b"".join(bytes.fromhex(h) for h in a), dtype=np.uint64).reshape(len(a), 4)
    right = np.frombuffer(b"".join(bytes.fromhex(h) for h in b), dtype=np.uint64).reshape(len(b), 4)
    out = np.empty((len(a), len(b)), dtype=np.int32)
    for i in range(len(a)):
        out[i] = np.bitwise_count(np.bitwise_xor(right, left[i])).sum(axis=1)
    return out


class PHash(_Perceptual):
    """The 64-bit DCT pHash from imagehash, kept for near-duplicate lookups inside Haven (never exchanged)."""

    name = "phash"
    label = "pHash"
    hex_length = 16
    media = frozenset({"image"})
    column = "phash"
    exchanged = False
    DEFAULT_THRESHOLD: ClassVar[int] = 10

    def __init__(self, threshold: int = DEFAULT_THRESHOLD) -> None:
        super().__init__(threshold)

    def hash_from_image(self, image: Image.Image) -> str:
        return str(imagehash.phash(image))

    def examples(self) -> list[str]:
        return ["8f373714acfcf4d0", "c3c3c3c33c3c3c3c"]


_PDQ_GRID = 64


@functools.lru_cache(maxsize=32)
def _pdq_sampling_weights(full: int, reduced: int, scale: int) -> np.ndarray:
    """PDQ's blur-and-sample along one side of `full` pixels, as weights on `reduced` block means.

    Row i gives the weight of each block in PDQ's value at grid line i. It follows
    ThreatExchange's pdq/cpp/downscaling: window (full + 127) // 128; each output is
    the mean of the inputs from o + half - window to o + half - 1, clipped at the
    edges, where half = (window + 2) // 2; two passes; sampled at
    int((i + 0.5) * full / 64).
    """
    window = (full + 2 * _PDQ_GRID - 1) // (2 * _PDQ_GRID)
    half = (window + 2) // 2
    positions = np.arange(full)
    low = np.maximum(0, positions + half - window)
    high = np.minimum(full - 1, positions + half - 1)
    weights = np.zeros((_PDQ_GRID, full), dtype=np.float64)
    for i in range(_PDQ_GRID):
        sample = int(((i + 0.5) * full) / _PDQ_GRID)
        first_pass = range(int(low[sample]), int(high[sample]) + 1)
        for m in first_pass:
            weights[i, low[m] : high[m] + 1] += 1.0 / (high[m] - low[m] + 1)
        weights[i] /= len(first_pass)
    padded = np.zeros((_PDQ_GRID, reduced * scale), dtype=np.float64)
    kept = min(full, reduced * scale)
    padded[:, :kept] = weights[:, :kept]
    return padded.reshape(_PDQ_GRID, reduced, scale).sum(axis=2).astype(np.float32)


def bits_to_hex(bits: np.ndarray) -> str:
    """Pack a bit vector most significant bit first, as ThreatExchange writes PDQ hashes."""
    packed = np.packbits(np.asarray(bits, dtype=np.uint8))
    return packed.tobytes().hex()


# The registry ----------------------------------------------------------------------------------

REGISTRY: dict[str, HashKind] = {kind.name: kind for kind in (MD5(), SHA1(), SHA256(), PDQ(), VideoMD5(), VPDQ(),
                                                              PHash())}


def get_algorithm(name: str) -> HashKind:
    """Look a kind up by its exchange name; KeyError names the unknown one."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown hash kind {name!r}") from None


def file_kinds() -> list[HashKind]:
    """The exact kinds of a file's bytes that have a column of their own (MD5, SHA-1, SHA-256)."""
    return [k for k in REGISTRY.values() if isinstance(k, _FileDigest) and k.column == k.name]


def exact_kinds(exchanged: bool = True) -> list[HashKind]:
    """Every exact kind (looked up by equality), in registry order."""
    return [k for k in REGISTRY.values() if isinstance(k, _FileDigest) and (k.exchanged or not exchanged)]


def lookup_kinds() -> list[HashKind]:
    """Every kind a partner may look up by, one field each in the lookup request."""
    return [k for k in REGISTRY.values() if k.exchanged]


def stored_columns(exchanged: bool = True) -> list[str]:
    """The hash columns a hash-list entry (exchanged kinds) or a report image (every kind) holds, from the
    registry, without duplicates; a kind's column is also the field of ImageHashes that holds it."""
    columns: list[str] = []
    for kind in REGISTRY.values():
        if (kind.exchanged or not exchanged) and kind.column not in columns and not isinstance(kind, VPDQ):
            columns.append(kind.column)
    return columns


def columns_of(hashes: "ImageHashes", exchanged: bool = True) -> dict[str, Any]:
    """The record's hashes by column, for a row of the hash list (or, with exchanged=False, a report image)."""
    return {column: getattr(hashes, column) for column in stored_columns(exchanged)}


# The one record --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImageHashes:
    """Every hash Haven keeps for one image or video, plus what the file turned out to be.

    The same record travels from the hashing pool to the report, to the hash list and to partners.
    A video has no picture hashes of its own (`pdq` is None); its PDQs are in `frame_hashes`. An
    animated image has both: PDQ of its first frame, and its sampled frames.
    """

    md5: str
    sha1: str
    sha256: str
    pdq: str | None
    pdq_quality: int | None = None
    pdq_unrotated: str | None = None
    phash: str | None = None
    media: str = "image"
    format: str = ""
    width: int = 0
    height: int = 0
    frames: int = 1
    duration: float | None = None
    codec: str | None = None
    frame_hashes: tuple[Frame, ...] = field(default_factory=tuple)

    @property
    def animated(self) -> bool:
        return self.frames > 1 or self.media == "video"

    @property
    def low_quality(self) -> bool:
        qualities = [self.pdq_quality] if self.pdq_quality is not None else [f.quality for f in self.frame_hashes]
        return not qualities or max(qualities) < PDQ.QUALITY_THRESHOLD

    def pdqs(self) -> list[str]:
        """Every PDQ this file is known by: the picture (both orientations) and each sampled frame."""
        found = [h for h in (self.pdq, self.pdq_unrotated) if h]
        found += [f.pdq for f in self.frame_hashes if f.pdq not in found]
        return found

    def value(self, kind: HashKind) -> Any:
        """This record's value of one kind (None where the kind is not made for this medium)."""
        if kind.media.isdisjoint({self.media}):
            return None
        return getattr(self, kind.column) if kind.column != "frames" else self.frame_hashes

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ImageHashes":
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        values["frame_hashes"] = tuple(Frame(**f) if isinstance(f, dict) else f for f in data.get("frame_hashes", ()))
        return cls(**values)


def check_record(hashes: ImageHashes) -> ImageHashes:
    """The record with every hash in its stored form; ValueError names the first that is not."""
    checked = {kind.column: kind.check(getattr(hashes, kind.column)) for kind in exact_kinds() if kind.column ==
               kind.name}
    pdq = REGISTRY["pdq"]
    if hashes.media not in MEDIA:
        raise ValueError("'media' must be image or video.")
    if hashes.pdq is not None or hashes.media == "image":
        checked["pdq"] = pdq.check(hashes.pdq)
    frames = tuple(Frame(f.timestamp, pdq.check(f.pdq), int(f.quality), f.index) for f in hashes.frame_hashes)
    if hashes.media == "video" and not frames:
        raise ValueError("A video needs at least one frame hash.")
    return ImageHashes(**{**{f.name: getattr(hashes, f.name) for f in fields(hashes)}, **checked,
                          "frame_hashes": frames})
