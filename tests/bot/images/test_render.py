"""Review previews and reveals (audit M7) for every kind of picture intake accepts, MPO photos, and
animated pictures hashed and shown frame by frame like a short video."""

from __future__ import annotations

import io
from typing import Callable

import numpy as np
import pytest
from PIL import Image

from bot.images.hashing import PDQ, hamming_hex
from bot.images.intake import DEFAULT_LIMITS, IntakeLimits, check_and_hash
from bot.images.render import PREVIEW_LONG_SIDE, SHEET_TILES, pick_tiles, render_clear, render_preview
from tests.imagefactory import draw, make_animated_gif


def _save(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def _heif(image: Image.Image) -> bytes:
    import pillow_heif

    pillow_heif.register_heif_opener()
    return _save(image, "HEIF", quality=80)


def _sixteen_bit() -> Image.Image:
    return Image.fromarray((np.asarray(draw(400, 300, "shapes", 2).convert("L"), dtype=np.uint16) * 257))


def _mpo() -> bytes:
    left, right = draw(400, 300, "shapes", 6), draw(400, 300, "shapes", 7)
    return _save(left, "MPO", save_all=True, append_images=[right])


PICTURE = draw(400, 300, "shapes", 2)
MAKERS: dict[str, Callable[[], bytes]] = {
    "png-1": lambda: _save(PICTURE.convert("1"), "PNG"),
    "png-L": lambda: _save(PICTURE.convert("L"), "PNG"),
    "png-LA": lambda: _save(PICTURE.convert("LA"), "PNG"),
    "png-P": lambda: _save(PICTURE.convert("P", palette=Image.Palette.ADAPTIVE), "PNG"),
    "png-P-transparent": lambda: _save(PICTURE.convert("P", palette=Image.Palette.ADAPTIVE), "PNG", transparency=0),
    "png-RGB": lambda: _save(PICTURE, "PNG"),
    "png-RGBA": lambda: _save(PICTURE.convert("RGBA"), "PNG"),
    "png-I;16": lambda: _save(_sixteen_bit(), "PNG"),
    "jpeg-L": lambda: _save(PICTURE.convert("L"), "JPEG"),
    "jpeg-RGB": lambda: _save(PICTURE, "JPEG"),
    "jpeg-CMYK": lambda: _save(PICTURE.convert("CMYK"), "JPEG"),
    "webp-RGB": lambda: _save(PICTURE, "WEBP"),
    "webp-RGBA": lambda: _save(PICTURE.convert("RGBA"), "WEBP"),
    "gif-P": lambda: _save(PICTURE.convert("P", palette=Image.Palette.ADAPTIVE), "GIF"),
    "heif-RGB": lambda: _heif(PICTURE),
    "heif-RGBA": lambda: _heif(PICTURE.convert("RGBA")),
    "mpo": _mpo,
}


def _edges(pixels: np.ndarray) -> float:
    """The share of neighbouring pixels with a sharp step between them (an outline, a letter's stroke)."""
    grey = pixels.astype(np.float32) if pixels.ndim == 2 else pixels.astype(np.float32).mean(axis=2)
    return float((np.abs(np.diff(grey, axis=0)) > 8).mean() + (np.abs(np.diff(grey, axis=1)) > 8).mean())


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_preview_and_reveal_for_every_mode_intake_accepts(name: str) -> None:
    data = MAKERS[name]()
    hashes = check_and_hash(data)
    opened = Image.open(io.BytesIO(data))
    assert hashes.width == 400 and hashes.height == 300, opened.mode
    preview = Image.open(io.BytesIO(render_preview(data, DEFAULT_LIMITS)))
    clear = Image.open(io.BytesIO(render_clear(data, DEFAULT_LIMITS)))
    assert preview.format == clear.format == "JPEG"
    assert preview.mode == "L" and max(preview.size) <= PREVIEW_LONG_SIDE
    assert clear.mode == "RGB" and clear.size == (400, 300)
    # Blurred: the edges of the shapes are gone, while the clear copy has them (not a blank picture).
    assert _edges(np.asarray(preview)) < 0.002 < 0.01 < _edges(np.asarray(clear)), name


def test_a_16_bit_picture_is_shown_scaled_not_clipped_to_white() -> None:
    data = MAKERS["png-I;16"]()
    clear = np.asarray(Image.open(io.BytesIO(render_clear(data, DEFAULT_LIMITS))).convert("L"), dtype=int)
    original = np.asarray(PICTURE.convert("L"), dtype=int)
    assert clear.std() > 20 and np.abs(clear - original).mean() < 6


def test_rendering_holds_to_the_decoded_bytes_cap() -> None:
    from bot.images.intake import IntakeError

    with pytest.raises(IntakeError) as caught:
        render_preview(MAKERS["png-RGB"](), IntakeLimits(max_decoded_bytes=100_000))
    assert caught.value.code == "image_too_big"


def test_an_mpo_photo_is_taken_and_hashed_on_its_first_picture() -> None:
    data = _mpo()
    assert Image.open(io.BytesIO(data)).format == "MPO"
    hashes = check_and_hash(data)
    assert (hashes.format, hashes.frames, hashes.frame_hashes) == ("MPO", 1, ())
    assert hashes.pdq is not None
    assert hamming_hex(hashes.pdq, PDQ().hash_from_image(draw(400, 300, "shapes", 6)).hash) <= 8


def test_an_animated_picture_is_hashed_on_every_frame_and_shown_as_a_sheet() -> None:
    data = make_animated_gif(frames=5, width=200, height=150, seed=3)
    hashes = check_and_hash(data)
    assert hashes.frames == 5 and len(hashes.frame_hashes) == 5
    assert [f.index for f in hashes.frame_hashes] == [0, 1, 2, 3, 4]
    assert [f.timestamp for f in hashes.frame_hashes] == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])
    frames = Image.open(io.BytesIO(data))
    for frame in hashes.frame_hashes:
        frames.seek(frame.index)
        assert hamming_hex(frame.pdq, PDQ().hash_from_image(frames.convert("RGB")).hash) <= 4
    assert hashes.pdq == hashes.frame_hashes[0].pdq
    sampled = [(f.index, f.timestamp) for f in hashes.frame_hashes]
    sheet = Image.open(io.BytesIO(render_preview(data, DEFAULT_LIMITS, sampled)))
    single = Image.open(io.BytesIO(render_preview(data, DEFAULT_LIMITS, sampled, 2)))
    assert sheet.mode == single.mode == "L" and sheet.width > 3 * single.width // 2
    # Revealed one frame at a time: frame 3 is frame 3, not the first.
    third = np.asarray(Image.open(io.BytesIO(render_clear(data, DEFAULT_LIMITS, sampled, 3))).convert("RGB"))
    frames.seek(3)
    assert np.abs(third.astype(int) - np.asarray(frames.convert("RGB"), dtype=int)).mean() < 8


def test_only_the_first_frames_up_to_the_cap_are_hashed() -> None:
    data = make_animated_gif(frames=6, width=64, height=48, seed=8)
    hashes = check_and_hash(data, IntakeLimits(max_animation_frames=4))
    assert hashes.frames == 6 and [f.index for f in hashes.frame_hashes] == [0, 1, 2, 3]


def test_contact_sheets_spread_their_tiles_over_the_whole() -> None:
    assert pick_tiles(5) == [0, 1, 2, 3, 4]
    picks = pick_tiles(600)
    assert len(picks) == SHEET_TILES and picks[0] == 0 and picks[-1] == 599
