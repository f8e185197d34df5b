"""Checks an uploaded file is an image Haven can take and hashes it, refusing anything else kindly."""

from __future__ import annotations

import hashlib
import io
import json
import sys
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pillow_heif
from PIL import Image, ImageOps

from bot.images.hashing import PDQ, PHash

# Pillow's format names; HEIF covers .heic and .heif through pillow_heif.
ALLOWED_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "WEBP", "GIF", "HEIF")

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_MAX_PIXELS = 50_000_000

# The perceptual hashes are taken from a copy whose long side is at most this. PDQ
# shrinks to 64x64 and pHash to 32x32 internally, so more pixels only cost time.
HASH_LONG_SIDE = 1024
_DRAFT_LONG_SIDE = 512

_EXIF_ORIENTATION = 0x0112

# pillow_heif decodes only the primary image unless asked; thumbnails stay unread.
pillow_heif.register_heif_opener(thumbnails=False)

MESSAGES: dict[str, str] = {
    "empty_file": "That file is empty, so there is no picture in it. Please try choosing the photo again.",
    "file_too_large": "That file is too big for us to take. Please try a smaller copy of the photo, such as a screenshot.",
    "not_an_image": "That file doesn't look like a photo. Please choose a picture file, like a JPEG, PNG or HEIC.",
    "unsupported_format": "We can't open that kind of picture yet. Please send it as a JPEG, PNG, WebP, GIF or HEIC, or take a screenshot of it.",
    "image_truncated": "Only part of that photo arrived. Please try sending it again.",
    "image_corrupt": "We couldn't open that photo because the file seems to be damaged. Please try another copy, or a screenshot of it.",
    "image_too_big": "That picture is too large for us to open. Please try a smaller copy, such as a screenshot.",
    "image_timeout": "That photo took too long to open. Please try again, or send a screenshot of it instead.",
}


class IntakeError(Exception):
    """A file Haven will not take; `code` is stable for clients, `message` is for the child."""

    def __init__(self, code: str, message: str | None = None) -> None:
        self.code = code
        self.message = message if message is not None else MESSAGES[code]
        super().__init__(code, self.message)

    def __reduce__(self) -> tuple[Any, ...]:
        # Crosses process boundaries from the hashing pool, so it must pickle with both fields.
        return (IntakeError, (self.code, self.message))

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


@dataclass(frozen=True, slots=True)
class ImageHashes:
    """Every hash Haven keeps for one image, plus what the file turned out to be."""

    md5: str
    sha1: str
    sha256: str
    pdq: str
    pdq_quality: int
    pdq_unrotated: str | None
    phash: str
    format: str
    width: int
    height: int
    frames: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_PDQ = PDQ()
_PHASH = PHash()

_KNOWN_OTHER_IMAGE_MAGIC: tuple[bytes, ...] = (
    b"BM",  # BMP
    b"II*\x00",  # TIFF, and raw camera formats built on it
    b"MM\x00*",
    b"8BPS",  # Photoshop
    b"\x00\x00\x01\x00",  # ICO
    b"\xff\x0a",  # JPEG XL codestream
    b"\x00\x00\x00\x0cJXL ",
    b"\x00\x00\x00\x0cjP  ",  # JPEG 2000
    b"%PDF",
)
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1"})


def sniff_format(data: bytes) -> str | None:
    """Name the allowed format the leading bytes announce, or None.

    Looking at the first bytes is how browsers and platforms decide what a file is, so a
    file that does not start like an image is refused even if a decoder could find one
    inside it (an HTML page carrying a JPEG further down, say).
    """
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return "HEIF"
    return None


def _looks_like_other_image(data: bytes) -> bool:
    if data[4:8] == b"ftyp":
        return True  # AVIF, other HEIF brands, or video: an ISO media file we do not take
    return any(data.startswith(magic) for magic in _KNOWN_OTHER_IMAGE_MAGIC)


def check_size(data: bytes, max_bytes: int) -> None:
    """Refuse empty or oversized uploads before anything tries to decode them."""
    if not data:
        raise IntakeError("empty_file")
    if len(data) > max_bytes:
        raise IntakeError("file_too_large")


def _open(data: bytes, claimed: str, max_pixels: int) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data), formats=list(ALLOWED_FORMATS))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise IntakeError("image_too_big") from error
    except Image.UnidentifiedImageError as error:
        raise IntakeError("image_corrupt") from error
    except Exception as error:
        raise IntakeError("image_corrupt") from error
    if image.format != claimed:
        # Pillow found a different image than the leading bytes announce: one file
        # pretending to be two things is not a photo a child took.
        raise IntakeError("not_an_image")
    width, height = image.size
    if width < 1 or height < 1:
        raise IntakeError("image_corrupt")
    if width * height > max_pixels:
        raise IntakeError("image_too_big")
    return image


def _decode_first_frame(image: Image.Image) -> Image.Image:
    """Decode the first frame; a large JPEG is shrunk inside the decoder, which is most of the speed."""
    width, height = image.size
    long_side = max(width, height)
    if image.format == "JPEG" and long_side > HASH_LONG_SIDE:
        # draft() picks the largest 1/2, 1/4 or 1/8 DCT scale that still covers the
        # requested size, so the result's long side lands between 512 and 1023 pixels.
        ratio = _DRAFT_LONG_SIDE / long_side
        image.draft("RGB", (max(1, int(width * ratio)), max(1, int(height * ratio))))
    image.load()
    return image


def _for_hashing(image: Image.Image) -> Image.Image:
    """Shrink (box filter, like PDQ's own) and convert to the colours both hashes read."""
    if image.mode not in ("RGB", "L"):
        image = _to_rgb(image)
    long_side = max(image.size)
    if long_side > HASH_LONG_SIDE:
        image = image.reduce(-(-long_side // HASH_LONG_SIDE))
    return image


def align_for_pdq(image: Image.Image, scale: float) -> Image.Image:
    """Shift a shrunk image so PDQ samples it where it would sample the full-size original.

    PDQ's box filter and decimation sample about one pixel right of and below each cell
    centre, whatever the image size. On a copy shrunk by `scale` that pixel is `scale`
    original pixels, so the hash drifts by up to 20 bits on sharp content such as text.
    Moving the content by 1 - 1/scale pixels puts the samples back where they fall on
    the original (measured: Hamming distance to full-resolution PDQ drops from 10-20
    to at most 8 on 12-megapixel text images).
    """
    if scale <= 1.0:
        return image
    offset = 1.0 - 1.0 / scale
    # PDQ only reads luma (ITU-R 601, the same weights as Pillow's "L"), so shifting one
    # channel in numpy gives the same hash at a fraction of an RGB resample's cost.
    luma = np.asarray(image.convert("L"), dtype=np.float32)
    luma[:, 1:] = (1.0 - offset) * luma[:, 1:] + offset * luma[:, :-1]
    luma[1:, :] = (1.0 - offset) * luma[1:, :] + offset * luma[:-1, :]
    return Image.fromarray(np.rint(luma).astype(np.uint8), "L")


def _orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(_EXIF_ORIENTATION, 1)
    except Exception:
        # Damaged metadata must not cost a child their report; show the pixels as stored.
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        # Scale high bit depths down to 8 bits rather than clipping them to white.
        values = np.asarray(image, dtype=np.float64)
        top = float(values.max()) if values.size else 0.0
        scaled = values * (255.0 / top) if top > 255 else values
        return Image.fromarray(np.clip(scaled, 0, 255).astype(np.uint8), "L").convert("RGB")
    return image.convert("RGB")


def _frame_count(image: Image.Image) -> int:
    try:
        return int(getattr(image, "n_frames", 1))
    finally:
        image.seek(0)


def check_and_hash(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, max_pixels: int = DEFAULT_MAX_PIXELS) -> ImageHashes:
    """Refuse anything that is not an image Haven takes; hash what it does take.

    Cryptographic hashes are of the exact bytes sent, because hash lists match files.
    PDQ and pHash are of the decoded first frame, upright as EXIF says it is shown; when
    the file is stored rotated, PDQ of the stored orientation is kept too, since copies
    that lost their EXIF will show the image that way.

    A JPEG that carries markup in a comment or after its end is taken: it begins as a
    JPEG, browsers treat it as one, Haven never serves originals as documents, and the
    report must list the exact file that circulates. A file that begins as anything
    else (text, an HTML page with a JPEG inside) is refused as not an image.
    """
    check_size(data, max_bytes)
    claimed = sniff_format(data)
    if claimed is None:
        raise IntakeError("unsupported_format" if _looks_like_other_image(data) else "not_an_image")

    with warnings.catch_warnings():
        # Pillow only warns between its limit and twice its limit; a bomb is a bomb.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image = _open(data, claimed, max_pixels)
        width, height = image.size
        try:
            frames = _frame_count(image)
            orientation = _orientation(image)
            stored = _decode_first_frame(image)
            upright = ImageOps.exif_transpose(stored) if orientation != 1 else stored
            stored, upright = _for_hashing(stored), _for_hashing(upright)
        except IntakeError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning, MemoryError) as error:
            raise IntakeError("image_too_big") from error
        except OSError as error:
            if "truncated" in str(error) or "broken data stream" in str(error):
                raise IntakeError("image_truncated") from error
            raise IntakeError("image_corrupt") from error
        except Exception as error:
            raise IntakeError("image_corrupt") from error

    scale = max(width, height) / max(upright.size)
    pdq = _PDQ.hash_from_image(align_for_pdq(upright, scale))
    pdq_unrotated = _PDQ.hash_from_image(align_for_pdq(stored, scale)).hash if orientation != 1 else None
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    return ImageHashes(
        md5=hashlib.md5(data).hexdigest(),
        sha1=hashlib.sha1(data).hexdigest(),
        sha256=hashlib.sha256(data).hexdigest(),
        pdq=pdq.hash,
        pdq_quality=pdq.quality,
        pdq_unrotated=pdq_unrotated,
        phash=_PHASH.hash_from_image(upright),
        format=claimed,
        width=width,
        height=height,
        frames=frames,
    )


def hash_file(path: Path | str, *, max_bytes: int = DEFAULT_MAX_BYTES, max_pixels: int = DEFAULT_MAX_PIXELS) -> dict[str, Any]:
    """Hash one file for the `hash` CLI, through the same checks as an upload."""
    hashes = check_and_hash(Path(path).read_bytes(), max_bytes=max_bytes, max_pixels=max_pixels)
    result: dict[str, Any] = {
        "md5": hashes.md5,
        "sha1": hashes.sha1,
        "sha256": hashes.sha256,
        "pdq": hashes.pdq,
        "pdq_quality": hashes.pdq_quality,
        "phash": hashes.phash,
    }
    if hashes.pdq_unrotated is not None:
        result["pdq_unrotated"] = hashes.pdq_unrotated
    return result


def main(argv: list[str] | None = None) -> int:
    """Print one JSON object per file; refusals go to stderr with their code."""
    status = 0
    for name in argv if argv is not None else sys.argv[1:]:
        try:
            print(json.dumps({"file": name, **hash_file(name)}))
        except IntakeError as error:
            print(json.dumps({"file": name, "error": error.code, "message": error.message}), file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    raise SystemExit(main())
