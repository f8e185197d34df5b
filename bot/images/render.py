"""Server-made copies of uploads for the review console, rendered in the worker pool under intake's limits.

A picture is shown upright, without metadata, as a JPEG; a preview is blurred greyscale. Something that
moves (a video, an animated picture) is previewed as a contact sheet of blurred greyscale frames and
revealed one frame at a time: sound is never decoded and nothing plays by itself.
"""

from __future__ import annotations

import io
import math
import warnings
from typing import Sequence

from PIL import Image, ImageFilter

from bot.images.intake import (
    ALLOWED_FORMATS,
    IntakeError,
    IntakeLimits,
    check_decoded_size,
    orientation_of,
    sniff_format,
    sniff_video,
    to_8bit,
    upright,
)

PREVIEW_LONG_SIDE = 480
CLEAR_LONG_SIDE = 2048
SHEET_TILES = 12
SHEET_COLUMNS = 4
TILE_LONG_SIDE = 240


def _blur(grey: Image.Image) -> Image.Image:
    # Strong enough that nothing is recognisable at any zoom; the shapes still show it is a photo.
    return grey.filter(ImageFilter.GaussianBlur(radius=max(8, max(grey.size) // 20)))


def _jpeg(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def _open_picture(data: bytes, limits: IntakeLimits, long_side: int) -> Image.Image:
    if sniff_format(data) is None:
        raise IntakeError("not_an_image")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=list(ALLOWED_FORMATS))
            if image.format in ("JPEG", "MPO"):
                # Decoded straight at the nearest scale above what is shown.
                image.draft("RGB", (long_side, long_side))
            check_decoded_size(image, limits.max_decoded_bytes)
        except IntakeError:
            raise
        except Exception as error:
            raise IntakeError("image_corrupt") from error
    return image


def _shown(image: Image.Image, long_side: int, grey: bool, orientation: int) -> Image.Image:
    """One frame as shown: 8-bit (high bit depths scaled, not clipped), upright, at most `long_side`."""
    picture = to_8bit(image, grey=grey)
    picture = upright(picture, orientation)
    picture.thumbnail((long_side, long_side))
    return picture


def _frame_of(image: Image.Image, index: int) -> Image.Image:
    try:
        image.seek(min(max(0, index), getattr(image, "n_frames", 1) - 1))
    except EOFError:
        image.seek(0)
    return image


def _sheet(tiles: list[Image.Image]) -> Image.Image:
    """Tiles in rows of SHEET_COLUMNS on a mid-grey ground, each in a cell of TILE_LONG_SIDE."""
    columns = min(SHEET_COLUMNS, len(tiles))
    rows = math.ceil(len(tiles) / columns)
    gap = 8
    sheet = Image.new("L", (columns * (TILE_LONG_SIDE + gap) + gap, rows * (TILE_LONG_SIDE + gap) + gap), 128)
    for n, tile in enumerate(tiles):
        x = gap + (n % columns) * (TILE_LONG_SIDE + gap) + (TILE_LONG_SIDE - tile.width) // 2
        y = gap + (n // columns) * (TILE_LONG_SIDE + gap) + (TILE_LONG_SIDE - tile.height) // 2
        sheet.paste(tile, (x, y))
    return sheet


def pick_tiles(count: int, tiles: int = SHEET_TILES) -> list[int]:
    """Which of `count` sampled frames a contact sheet shows: spread evenly, first and last included."""
    if count <= tiles:
        return list(range(count))
    return sorted({round(i * (count - 1) / (tiles - 1)) for i in range(tiles)})


def _video_pictures(data: bytes, timestamps: Sequence[float]) -> list[Image.Image]:
    from bot.images.video import frames_at

    return [Image.fromarray(pixels) for pixels in frames_at(data, timestamps)]


def render_preview(data: bytes, limits: IntakeLimits, frames: Sequence[tuple[int, float]] = (),
                   frame: int | None = None) -> bytes:
    """A blurred greyscale JPEG: of the picture, of one frame (`frame`: a position in `frames`), or, for
    something that moves and no frame asked for, a contact sheet of up to SHEET_TILES of its `frames`
    ((decoded index, timestamp) of the frames sampled at intake)."""
    chosen = [frames[frame]] if frame is not None and 0 <= frame < len(frames) else None
    if sniff_video(data) is not None and sniff_format(data) is None:
        picks = chosen or [frames[i] for i in pick_tiles(len(frames))] or [(0, 0.0)]
        pictures = _video_pictures(data, [t for _, t in picks])
        tiles = [_blur(_shown(p, PREVIEW_LONG_SIDE if chosen else TILE_LONG_SIDE, True, 1)) for p in pictures]
        return _jpeg(tiles[0] if chosen else _sheet(tiles), 70)
    image = _open_picture(data, limits, PREVIEW_LONG_SIDE)
    orientation = orientation_of(image)
    if chosen is None and len(frames) > 1:
        tiles = [_blur(_shown(_frame_of(image, frames[i][0]), TILE_LONG_SIDE, True, orientation))
                 for i in pick_tiles(len(frames))]
        return _jpeg(_sheet(tiles), 70)
    picture = _frame_of(image, chosen[0][0]) if chosen else _frame_of(image, 0)
    return _jpeg(_blur(_shown(picture, PREVIEW_LONG_SIDE, True, orientation)), 70)


def render_clear(data: bytes, limits: IntakeLimits, frames: Sequence[tuple[int, float]] = (),
                 frame: int | None = None) -> bytes:
    """The picture itself (or one frame of it: `frame` is a position in `frames`), upright, no metadata."""
    chosen = frames[frame] if frame is not None and 0 <= frame < len(frames) else (frames[0] if frames else (0, 0.0))
    if sniff_video(data) is not None and sniff_format(data) is None:
        (picture,) = _video_pictures(data, [chosen[1]])
        return _jpeg(_shown(picture, CLEAR_LONG_SIDE, False, 1).convert("RGB"), 90)
    image = _open_picture(data, limits, CLEAR_LONG_SIDE)
    orientation = orientation_of(image)
    return _jpeg(_shown(_frame_of(image, chosen[0]), CLEAR_LONG_SIDE, False, orientation).convert("RGB"), 90)

