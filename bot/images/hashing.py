"""Hash algorithms for reported images, one small class each, so partners and analysts agree on formats."""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from typing import ClassVar, Protocol

import imagehash
import numpy as np
import pdqhash
from PIL import Image

_HEX = re.compile(r"[0-9a-f]+")


@dataclass(frozen=True, slots=True)
class Comparison:
    """The outcome of comparing two hashes of one algorithm."""

    distance: int
    match: bool


@dataclass(frozen=True, slots=True)
class PdqDigest:
    """A PDQ hash (64 hex characters) and its quality score (0-100; below ~50 is unreliable)."""

    hash: str
    quality: int


class HashAlgorithm(Protocol):
    """What every algorithm in the registry offers."""

    name: str

    def validate(self, value: str) -> bool: ...

    def compare(self, a: str, b: str) -> Comparison: ...


def _is_hex(value: str, length: int) -> bool:
    return len(value) == length and _HEX.fullmatch(value) is not None


def hamming_hex(a: str, b: str) -> int:
    """Count differing bits between two equal-length hex strings."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


class _Cryptographic:
    """A cryptographic digest of the original file bytes: equal or not, nothing in between."""

    name: ClassVar[str]
    _hex_length: ClassVar[int]

    def hash_from_bytes(self, data: bytes) -> str:
        return hashlib.new(self.name, data).hexdigest()

    def validate(self, value: str) -> bool:
        return _is_hex(value, self._hex_length)

    def compare(self, a: str, b: str) -> Comparison:
        same = a.lower() == b.lower()
        return Comparison(distance=0 if same else 1, match=same)


class MD5(_Cryptographic):
    name = "md5"
    _hex_length = 32


class SHA1(_Cryptographic):
    name = "sha1"
    _hex_length = 40


class SHA256(_Cryptographic):
    name = "sha256"
    _hex_length = 64


class _Perceptual:
    """A perceptual hash compared by Hamming distance against a threshold."""

    name: ClassVar[str]
    _hex_length: ClassVar[int]

    def __init__(self, threshold: int) -> None:
        self.threshold = threshold

    def validate(self, value: str) -> bool:
        return _is_hex(value, self._hex_length)

    def compare(self, a: str, b: str) -> Comparison:
        if not (self.validate(a) and self.validate(b)):
            raise ValueError(f"not a {self.name} hash")
        distance = hamming_hex(a, b)
        return Comparison(distance=distance, match=distance <= self.threshold)


class PDQ(_Perceptual):
    """Meta's PDQ: 256 bits, the format the hash list and partners exchange."""

    name = "pdq"
    _hex_length = 64
    DEFAULT_THRESHOLD: ClassVar[int] = 31

    def __init__(self, threshold: int = DEFAULT_THRESHOLD) -> None:
        super().__init__(threshold)

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


class PHash(_Perceptual):
    """The 64-bit DCT pHash from imagehash, kept for near-duplicate lookups inside Haven."""

    name = "phash"
    _hex_length = 16
    DEFAULT_THRESHOLD: ClassVar[int] = 10

    def __init__(self, threshold: int = DEFAULT_THRESHOLD) -> None:
        super().__init__(threshold)

    def hash_from_image(self, image: Image.Image) -> str:
        return str(imagehash.phash(image))


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


REGISTRY: dict[str, HashAlgorithm] = {
    algorithm.name: algorithm for algorithm in (MD5(), SHA1(), SHA256(), PDQ(), PHash())
}


def get_algorithm(name: str) -> HashAlgorithm:
    """Look an algorithm up by its exchange name; KeyError names the unknown one."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown hash algorithm {name!r}") from None
