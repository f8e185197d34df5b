"""The hash kinds: formats, comparison, registry, vPDQ's matching, and PDQ from a shrunk copy."""

from __future__ import annotations

import hashlib
import re

import numpy as np
import pdqhash
import pytest

from bot.images.hashing import (
    PDQ,
    REGISTRY,
    VPDQ,
    Comparison,
    Frame,
    ImageHashes,
    PHash,
    _pdq_sampling_weights,
    bits_to_hex,
    check_record,
    get_algorithm,
    hamming_hex,
    stored_columns,
)
from bot.images.intake import reduction_for
from tests.imagefactory import draw


def test_registry_names_every_kind() -> None:
    assert set(REGISTRY) == {"md5", "sha1", "sha256", "pdq", "video_md5", "vpdq", "phash"}
    assert get_algorithm("pdq").name == "pdq"
    with pytest.raises(KeyError, match="unknown hash kind"):
        get_algorithm("crc32")
    # Where the list and report images keep them: one column per kind, video MD5 sharing MD5's.
    assert stored_columns() == ["md5", "sha1", "sha256", "pdq"]


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_kind_owns_its_format_and_examples(name: str) -> None:
    kind = REGISTRY[name]
    examples = kind.examples()
    assert len(examples) >= 2 and len(set(examples)) == len(examples)
    for value in examples:
        assert kind.validate(value) and len(value) == kind.hex_length
        assert re.fullmatch(kind.pattern()[1:-1], value.upper()) and re.fullmatch(kind.pattern(True)[1:-1], value)
        assert kind.check(value.upper()) == value
        assert kind.compare(value, value).match
        for wrong in (value[:-1], value + "0", "g" * kind.hex_length, 7):
            assert not kind.validate(wrong)
            with pytest.raises(ValueError, match=str(kind.hex_length)):
                kind.check(wrong)
    assert not kind.compare(examples[0], examples[1]).match


def test_the_record_is_checked_by_the_registry() -> None:
    md5, sha1, sha256, pdq = (REGISTRY[n].examples()[0] for n in ("md5", "sha1", "sha256", "pdq"))
    picture = ImageHashes(md5.upper(), sha1, sha256, pdq.upper(), 80)
    assert check_record(picture) == ImageHashes(md5, sha1, sha256, pdq, 80)
    with pytest.raises(ValueError, match="sha1"):
        check_record(ImageHashes(md5, sha1[:-2], sha256, pdq))
    video = ImageHashes(md5, sha1, sha256, None, media="video", frame_hashes=(Frame(0.0, pdq.upper(), 90),))
    assert check_record(video).frame_hashes == (Frame(0.0, pdq, 90),)
    with pytest.raises(ValueError, match="frame"):
        check_record(ImageHashes(md5, sha1, sha256, None, media="video"))
    assert ImageHashes.from_dict(video.to_dict()) == video
    assert video.value(REGISTRY["video_md5"]) == md5 and picture.value(REGISTRY["video_md5"]) is None
    assert video.value(REGISTRY["pdq"]) is None and video.pdqs() == [pdq.upper()]


def _pdq_near(pdq: str, bits: int) -> str:
    return f"{int(pdq, 16) ^ ((1 << bits) - 1):064x}"


def test_vpdq_matches_as_threatexchange_does() -> None:
    vpdq = VPDQ()
    listed = [Frame(float(n), hashlib.sha256(bytes([n])).hexdigest(), 90) for n in range(10)]
    # A trimmed, slightly changed copy: 4 of its 4 frames are in the listed video, 4 of 10 of the listed.
    trimmed = [Frame(f.timestamp - 3, _pdq_near(f.pdq, 12), 90) for f in listed[3:7]]
    seen = vpdq.compare_frames(trimmed, listed)
    assert (seen.query_percent, seen.listed_percent, seen.match, seen.distance) == (100.0, 40.0, True, 12)
    assert seen.matched == (0.0, 1.0, 2.0, 3.0)
    # Padded with unrelated frames: only 4 of 10 of the query match, under the 80% bar.
    padded = trimmed + [Frame(10.0 + n, hashlib.sha256(b"x%d" % n).hexdigest(), 90) for n in range(6)]
    assert not vpdq.compare_frames(padded, listed).match
    assert VPDQ(query_percent=40).compare_frames(padded, listed).match
    # Low-quality frames (black screens) are left out; equal hashes count once.
    dull = [Frame(0.0, listed[0].pdq, 10)]
    assert vpdq.compare_frames(dull, listed).query_percent == 0.0
    doubled = [listed[0], listed[0], listed[1]]
    assert vpdq.compare_frames(doubled, listed).listed_percent == 20.0
    # Pruning drops a frame within 2 bits of the last one kept, as vPDQ's pruning does.
    still = [Frame(0.0, listed[0].pdq, 90), Frame(1.0, _pdq_near(listed[0].pdq, 2), 90), listed[1]]
    assert vpdq.prune(still) == [still[0], still[2]]
    with pytest.raises(ValueError):
        vpdq.check_frames([{"pdq": "xyz"}])
    assert vpdq.check_frames([{"pdq": listed[0].pdq.upper(), "timestamp": 2, "quality": 50}]) == (
        Frame(2.0, listed[0].pdq, 50),)


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
