"""The hash algorithm classes: formats, comparison, registry, and PDQ from a shrunk copy."""

from __future__ import annotations

import hashlib

import numpy as np
import pdqhash
import pytest

from bot.images.hashing import PDQ, REGISTRY, Comparison, PHash, _pdq_sampling_weights, bits_to_hex, get_algorithm, hamming_hex
from bot.images.intake import reduction_for
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


@pytest.mark.parametrize(("width", "height", "kind"), [(640, 480, "text"), (333, 517, "shapes"), (1000, 129, "noise")])
def test_pdq_sampling_weights_reproduce_pdqhash_blur_exactly(width: int, height: int, kind: str) -> None:
    """At full size the weights are PDQ's own blur and sampling: the DCT pdqhash computes matches."""
    rgb = np.asarray(draw(width, height, kind, 7))
    reference, _ = pdqhash.compute_float(rgb)
    luma = (rgb[:, :, 0] * 0.299 + rgb[:, :, 1] * 0.587 + rgb[:, :, 2] * 0.114).astype(np.float32)
    grid = _pdq_sampling_weights(height, height, 1) @ luma @ _pdq_sampling_weights(width, width, 1).T
    # pdqhash's DCT of its 64x64 grid, written out (ThreatExchange dct64To16).
    k = np.arange(64)
    dct = np.array([np.sqrt(2 / 64) * np.cos(np.pi / 2 / 64 * (i + 1) * (2 * k + 1)) for i in range(16)])
    ours = (dct @ grid @ dct.T).flatten()[::-1]
    assert np.abs(ours - reference).max() < 0.05


def test_pdq_from_block_means_matches_the_full_picture() -> None:
    """A picture shrunk by box means hashes as PDQ hashes the picture itself."""
    picture = draw(2048, 1536, "text", 3)
    bits, quality = pdqhash.compute(np.asarray(picture))
    scale = reduction_for(*picture.size)
    assert scale == 4  # PDQ's narrower blur window here is 12 pixels: 3 pixels of the copy
    luma = picture.convert("L").reduce(scale)
    digest = PDQ().hash_from_reduced_luma(np.asarray(luma), picture.size, scale)
    assert hamming_hex(digest.hash, bits_to_hex(bits)) <= 4
    assert abs(digest.quality - quality) <= 5
