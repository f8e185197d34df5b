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
from PIL import Image

from bot.images.hashing import PDQ, PdqDigest, PHash

# Pillow's format names; HEIF covers .heic and .heif through pillow_heif.
ALLOWED_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "WEBP", "GIF", "HEIF")

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_MAX_PIXELS = 50_000_000

# A picture is hashed from a copy shrunk by the largest power of two that still leaves
# PDQ's narrower blur window (about 1/128 of a side) at least this many pixels wide;
# a 12-megapixel photo is then hashed from 1/8 of its width, which JPEG can decode
# straight from its DCT blocks without ever building the full-size picture.
_MIN_BLUR_PIXELS = 3
_JPEG_MAX_DRAFT = 8
_PHASH_LONG_SIDE = 256

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


def reduction_for(width: int, height: int) -> int:
    """How many times smaller the copy the perceptual hashes are taken from may be."""
    narrowest_window = min(-(-width // 128), -(-height // 128))
    scale = 1
    while narrowest_window >= _MIN_BLUR_PIXELS * scale * 2:
        scale *= 2
    return scale


def decode_for_hashing(image: Image.Image) -> tuple[Image.Image, int]:
    """Decode the first frame for the perceptual hashes; returns the picture and how much it was shrunk.

    A shrunk copy is luma only ("L"): PDQ and pHash read nothing else, and a JPEG
    gives its luma at 1/2, 1/4 or 1/8 scale without upsampling colour or doing the
    full-size inverse DCT, which is most of the speed. Other formats decode in full and
    are shrunk with Image.reduce (exact block means). A copy that is not shrunk keeps
    its colours, so small pictures hash exactly as the libraries hash them.
    """
    width, height = image.size
    scale = reduction_for(width, height)
    if scale == 1:
        image.load()
        return image, 1
    draft = 1
    if image.format == "JPEG":
        draft = min(scale, _JPEG_MAX_DRAFT)
        image.draft("L", (width // draft, height // draft))
    image.load()
    decoded = 1
    for candidate in (8, 4, 2):
        if image.size == (-(-width // candidate), -(-height // candidate)):
            decoded = candidate
            break
    luma = image if image.mode == "L" else _to_rgb(image).convert("L")
    if scale > decoded:
        luma = luma.reduce(scale // decoded)
    return luma, scale


_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _upright(image: Image.Image, orientation: int) -> Image.Image:
    """Turn the pixels as EXIF says the picture is shown (the table ImageOps.exif_transpose uses)."""
    method = _TRANSPOSE.get(orientation)
    return image.transpose(method) if method is not None else image


def _pdq(picture: Image.Image, scale: int, full_size: tuple[int, int]) -> PdqDigest:
    if scale == 1:
        return _PDQ.hash_from_image(picture)
    return _PDQ.hash_from_reduced_luma(np.asarray(picture), full_size, scale)


def _phash(picture: Image.Image, scale: int) -> str:
    if scale == 1:
        return _PHASH.hash_from_image(picture)
    # pHash shrinks to 32x32 itself; from a box-filtered copy of a few hundred pixels
    # that costs a fifth of the time. Measured on the synthetic 1.9-12 megapixel photos:
    # within 6 of 64 bits of imagehash on the full decode (4 without this extra
    # shrink), against a duplicate threshold of 10.
    factor = -(-max(picture.size) // _PHASH_LONG_SIDE)
    return _PHASH.hash_from_image(picture.reduce(factor) if factor > 1 else picture)


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
            stored, scale = decode_for_hashing(image)
            if scale == 1 and stored.mode not in ("RGB", "L"):
                stored = _to_rgb(stored)
            upright = _upright(stored, orientation)
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

    turned = orientation in (5, 6, 7, 8)
    upright_size = (height, width) if turned else (width, height)
    pdq = _pdq(upright, scale, upright_size)
    pdq_unrotated = _pdq(stored, scale, (width, height)).hash if orientation != 1 else None
    width, height = upright_size
    return ImageHashes(
        md5=hashlib.md5(data).hexdigest(),
        sha1=hashlib.sha1(data).hexdigest(),
        sha256=hashlib.sha256(data).hexdigest(),
        pdq=pdq.hash,
        pdq_quality=pdq.quality,
        pdq_unrotated=pdq_unrotated,
        phash=_phash(upright, scale),
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
