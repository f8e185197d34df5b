"""The hash algorithm classes: formats, comparison, registry."""

from __future__ import annotations

import hashlib

import pytest

from bot.images.hashing import PDQ, REGISTRY, Comparison, PHash, get_algorithm, hamming_hex
from tests.imagefactory import draw


def test_registry_names_every_algorithm() -> None:
    assert set(REGISTRY) == {"md5", "sha1", "sha256", "pdq", "phash"}
    assert get_algorithm("pdq").name == "pdq"
    with pytest.raises(KeyError, match="unknown hash algorithm"):
        get_algorithm("crc32")


@pytest.mark.parametrize("name", ["md5", "sha1", "sha256"])
def test_cryptographic_hashes_agree_with_hashlib(name: str) -> None:
    data = b"any bytes at all"
    algorithm = REGISTRY[name]
    digest = algorithm.hash_from_bytes(data)  # type: ignore[attr-defined]
    assert digest == hashlib.new(name, data).hexdigest()
    assert algorithm.validate(digest)
    assert not algorithm.validate(digest[:-1])
    assert not algorithm.validate(digest.upper())
    assert algorithm.compare(digest, digest) == Comparison(0, True)
    assert algorithm.compare(digest, hashlib.new(name, b"other").hexdigest()).match is False


def test_pdq_compare_uses_hamming_distance_and_threshold_31() -> None:
    pdq = PDQ()
    zero = "0" * 64
    assert pdq.compare(zero, "f" * 7 + "e" + "0" * 56) == Comparison(31, True)
    assert pdq.compare(zero, "f" * 8 + "0" * 56) == Comparison(32, False)
    assert PDQ(threshold=10).compare(zero, "f" * 3 + "0" * 61).match is False
    with pytest.raises(ValueError):
        pdq.compare(zero, "xyz")


def test_pdq_hash_is_64_hex_with_quality() -> None:
    digest = PDQ().hash_from_image(draw(320, 240, "shapes", 3))
    assert PDQ().validate(digest.hash)
    assert 0 <= digest.quality <= 100
    assert digest.quality >= 50


def test_phash_is_16_hex() -> None:
    value = PHash().hash_from_image(draw(320, 240, "shapes", 3))
    assert PHash().validate(value)
    assert hamming_hex(value, value) == 0
