"""Videos at intake: every container and codec the decoder offers, every bad video's code, and vPDQ frame
hashes that match re-encoded, resized and trimmed copies and stills taken from the video."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bot.images.hashing import REGISTRY, VPDQ
from bot.images.intake import MESSAGES, IntakeError, IntakeLimits, check_and_hash, hash_file, sniff_media
from bot.images.matching import Bag, compare
from bot.images.video import VIDEO_DECODERS
from tests.imagefactory import make_image
from tests.videofactory import (
    ENCODERS,
    audio_only,
    decoded_frames,
    encode,
    frames_of,
    make_video,
    scenes,
    with_encryption_marked,
)

PHONE_CODECS = ["h264", "hevc", "vp8", "vp9", "av1", "h263", "mpeg4"]
MATCHABLE = ("shapes", "noise")
MB = 1024 * 1024


@pytest.fixture(scope="module")
def original() -> bytes:
    """Eight seconds, four scenes, 320x240 H.264 in MP4, with a sound track (never decoded)."""
    return make_video(8.0, 320, 240, fps=15, seed=4, audio=True, kinds=MATCHABLE)


def test_the_decoder_has_every_codec_phones_record_in() -> None:
    # What PyAV's wheel brings here; a codec missing from it would be refused as unsupported_codec.
    assert set(VIDEO_DECODERS) == set(PHONE_CODECS), VIDEO_DECODERS


@pytest.mark.parametrize("codec", PHONE_CODECS)
def test_each_container_and_codec_is_taken_and_hashed_one_frame_a_second(codec: str) -> None:
    width, height = (176, 144) if codec == "h263" else (320, 240)
    data = make_video(4.0, width, height, fps=10, codec=codec, seed=1)
    assert sniff_media(data) == "video"
    hashes = check_and_hash(data)
    container = ENCODERS[codec][0]
    assert (hashes.media, hashes.codec) == ("video", codec)
    assert hashes.format == {"mp4": "MP4", "webm": "WEBM", "3gp": "3GP"}[container]
    assert (hashes.width, hashes.height) == (width, height) and hashes.duration == pytest.approx(4.0, abs=0.2)
    assert hashes.pdq is None and hashes.phash is None
    assert [round(f.timestamp) for f in hashes.frame_hashes] == [0, 1, 2, 3]
    assert all(REGISTRY["pdq"].validate(f.pdq) and 0 <= f.quality <= 100 for f in hashes.frame_hashes)
    assert hashes.md5 == REGISTRY["video_md5"].hash_from_bytes(data)  # type: ignore[attr-defined]


@pytest.mark.parametrize("container", ["mov", "mp4", "3gp", "webm"])
def test_each_container_phones_use(container: str) -> None:
    codec = "vp9" if container == "webm" else "h264"
    hashes = check_and_hash(make_video(2.0, 160, 120, fps=10, codec=codec, container=container, seed=2))
    assert hashes.format == {"mov": "MOV", "mp4": "MP4", "3gp": "3GP", "webm": "WEBM"}[container]
    assert len(hashes.frame_hashes) == 2


def _refusal(data: bytes, limits: IntakeLimits = IntakeLimits()) -> str:
    with pytest.raises(IntakeError) as caught:
        check_and_hash(data, limits)
    assert caught.value.message == MESSAGES[caught.value.code]
    return caught.value.code


def test_every_bad_video_gets_its_own_code() -> None:
    good = make_video(4.0, 160, 120, fps=10, seed=3)
    moov = good.find(b"moov")
    assert moov > 0
    codes = {
        # Starts like an MP4, but nothing a player could open follows.
        "not_a_video": _refusal(good[:32] + b"\x00" * 4000),
        "no_video_stream": _refusal(audio_only()),
        "unsupported_codec": _refusal(make_video(2.0, 160, 120, fps=10, codec="mjpeg")),
        "video_too_long": _refusal(good, IntakeLimits(max_video_seconds=2.0)),
        "video_too_big": _refusal(good, IntakeLimits(max_decoded_bytes=300_000)),
        "video_too_large": _refusal(good, IntakeLimits(max_video_bytes=len(good) - 1)),
        # The moov box (where MP4 keeps its index) is last in a phone's file: cut short, it is missing.
        "video_corrupt": _refusal(good[:moov - 100]),
        "video_encrypted": _refusal(with_encryption_marked(good)),
    }
    assert list(codes) == list(codes.values())
    video_codes = {code for code in MESSAGES if "video" in code or code in ("unsupported_codec", "no_video_stream")}
    assert set(codes) | {"video_timeout"} == video_codes
    assert len({MESSAGES[code] for code in video_codes}) == len(video_codes)


def test_frames_that_stop_early_are_a_damaged_video() -> None:
    # A WebM's header says how long it is; cut after three of its eight seconds, the upload did not
    # all arrive, and what remains opens and decodes without an error of its own.
    full = make_video(8.0, 160, 120, fps=10, codec="vp9", seed=5)
    cut = full[: len(full) * 3 // 8]
    assert len(check_and_hash(full).frame_hashes) >= 6
    assert _refusal(cut) == "video_corrupt"


def test_still_stretches_are_pruned_and_the_interval_is_configurable() -> None:
    still = frames_of(scenes(4.0, seed=6, per_scene=4.0), 160, 120, 10)
    frozen = [still[0]] * len(still)  # four seconds of one picture
    hashes = check_and_hash(encode(frozen, fps=10, options={"qp": "0"}))  # lossless: every frame the same
    assert hashes.frames == 4 and len(hashes.frame_hashes) == 1
    twice = check_and_hash(make_video(4.0, 160, 120, fps=10, seed=7), IntakeLimits(frame_interval=0.5))
    assert twice.frames == 8


def _resize(frames: list[np.ndarray], scale: float) -> list[np.ndarray]:
    out = []
    for pixels in frames:
        image = Image.fromarray(pixels)
        size = (round(image.width * scale) // 2 * 2, round(image.height * scale) // 2 * 2)
        out.append(np.asarray(image.resize(size, Image.Resampling.BILINEAR)))
    return out


def test_a_reencoded_resized_trimmed_copy_matches_and_another_video_does_not(original: bytes) -> None:
    listed = check_and_hash(original)
    frames = decoded_frames(original)
    middle = [pixels for at, pixels in frames if 2.0 <= at < 6.0]
    copy = check_and_hash(encode(_resize(middle, 0.75), codec="vp9", fps=15))
    assert copy.format == "WEBM" and copy.sha256 != listed.sha256
    vpdq: VPDQ = REGISTRY["vpdq"]  # type: ignore[assignment]
    seen = vpdq.compare_frames(copy.frame_hashes, listed.frame_hashes)
    assert seen.match and seen.query_percent >= 80, seen
    # The copy holds half the listed video: vPDQ's listed share says so, and its 0% bar lets it match.
    assert 30 <= seen.listed_percent <= 70, seen
    other = check_and_hash(make_video(8.0, 320, 240, fps=15, seed=9, kinds=MATCHABLE))
    assert not vpdq.compare_frames(other.frame_hashes, listed.frame_hashes).match
    found = compare(Bag.of(copy), Bag.of(listed))
    assert found is not None and found.match and found.frames and found.other_frames


def test_a_still_taken_from_a_video_matches_it(original: bytes) -> None:
    listed = check_and_hash(original)
    at, pixels = next((t, p) for t, p in decoded_frames(original) if t >= 4.5)
    out = io.BytesIO()
    Image.fromarray(pixels).resize((240, 180)).save(out, "JPEG", quality=80)
    still = check_and_hash(out.getvalue())
    found = compare(Bag.of(still), Bag.of(listed))
    assert found is not None and found.match and found.distance <= 31
    # It is one of the frames around 4.5 s that matched.
    assert any(abs(t - at) <= 2.0 for t in found.other_frames), found
    unrelated = check_and_hash(make_image(320, 240, kind="noise", seed=77))
    assert compare(Bag.of(unrelated), Bag.of(listed)) is None


def test_hash_cli_prints_file_hashes_and_vpdq_frames(tmp_path: Path, original: bytes) -> None:
    path = tmp_path / "clip.mp4"
    path.write_bytes(original)
    result = hash_file(path)
    assert result["media"] == "video" and result["video_md5"] == result["md5"]
    assert {"sha1", "sha256", "duration", "codec", "width", "height"} <= set(result)
    assert "pdq" not in result
    assert [set(f) for f in result["frames"]] == [{"timestamp", "pdq", "quality"}] * len(result["frames"])
    assert [round(f["timestamp"]) for f in result["frames"]] == list(range(len(result["frames"])))
    json.dumps(result)


async def test_damaged_videos_give_hashes_or_a_video_code_and_never_take_the_pool_down() -> None:
    import asyncio
    import random

    from bot.images.pool import HashingPool

    seeds = [make_video(2.0, 160, 120, fps=10, codec=codec, seed=8) for codec in ("h264", "vp9", "hevc")]
    rng = random.Random(12)
    pool = HashingPool(workers=2, timeout_s=30, video_timeout_s=30)
    codes: dict[str, int] = {}
    try:
        for n in range(24):
            data = bytearray(seeds[n % len(seeds)])
            for _ in range(rng.randint(1, 40)):
                data[rng.randrange(64, len(data))] = rng.randrange(256)
            if n % 4 == 3:
                data = data[: rng.randrange(64, len(data))]
            try:
                hashes = await pool.hash(bytes(data), owner="fuzz")
                codes["hashed"] = codes.get("hashed", 0) + 1
                assert hashes.media == "video" and hashes.frame_hashes
            except IntakeError as error:
                assert error.code in MESSAGES and error.message == MESSAGES[error.code]
                codes[error.code] = codes.get(error.code, 0) + 1
        assert (await pool.hash(seeds[0])).media == "video"  # still working
    finally:
        pool.close()
    assert len(codes) >= 2, codes
