"""Hash algorithms for reported images, one small class each, so partners and analysts agree on formats."""

from __future__ import annotations

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


class PHash(_Perceptual):
    """The 64-bit DCT pHash from imagehash, kept for near-duplicate lookups inside Haven."""

    name = "phash"
    _hex_length = 16
    DEFAULT_THRESHOLD: ClassVar[int] = 10

    def __init__(self, threshold: int = DEFAULT_THRESHOLD) -> None:
        super().__init__(threshold)

    def hash_from_image(self, image: Image.Image) -> str:
        return str(imagehash.phash(image))


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
