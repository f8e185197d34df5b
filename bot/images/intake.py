"""Checks an uploaded file is an image or video Haven can take and hashes it, refusing anything else kindly."""

from __future__ import annotations

import io
import json
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pillow_heif
from PIL import Image, ImageSequence

from bot.images.hashing import PDQ, REGISTRY, VPDQ, Frame, ImageHashes, PdqDigest, PHash, file_kinds

# Pillow's format names; HEIF covers .heic and .heif through pillow_heif. JPEG includes MPO, the JPEG
# several Android cameras write (a second picture or a depth map after the first), hashed as its first.
ALLOWED_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "WEBP", "GIF", "HEIF")

MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class IntakeLimits:
    """What one upload may cost. Plain values (from the settings), sent to the hashing workers."""

    max_image_bytes: int = 20 * MB
    max_video_bytes: int = 200 * MB
    # What decoding may allocate for one picture or video frame, counted before any decoding starts.
    max_decoded_bytes: int = 256 * MB
    max_video_seconds: float = 600.0
    # vPDQ samples one frame per `frame_interval` seconds of video.
    frame_interval: float = 1.0
    # Animated images are hashed on every frame up to this many; the rest is counted, not looked at.
    max_animation_frames: int = 300

    def max_bytes_for(self, media: str) -> int:
        return self.max_video_bytes if media == "video" else self.max_image_bytes


DEFAULT_LIMITS = IntakeLimits()

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
# Haven caps the bytes a decode may allocate itself (check_decoded_size), which lets a large JPEG that
# is decoded at 1/8 scale through; Pillow's own pixel-count guard would refuse it by its size alone.
Image.MAX_IMAGE_PIXELS = None

MESSAGES: dict[str, str] = {
    "empty_file": "That file is empty, so there is nothing in it. Please try choosing the photo or video again.",
    "file_too_large": "That file is too big for us to take. Please try a smaller copy of the photo, such as a screenshot.",
    "not_an_image": "That file doesn't look like a photo or a video. Please choose a picture (JPEG, PNG, HEIC) or a video (MP4, MOV, WebM).",
    "unsupported_format": "We can't open that kind of picture yet. Please send it as a JPEG, PNG, WebP, GIF or HEIC, or take a screenshot of it.",
    "image_truncated": "Only part of that photo arrived. Please try sending it again.",
    "image_corrupt": "We couldn't open that photo because the file seems to be damaged. Please try another copy, or a screenshot of it.",
    "image_too_big": "That picture is too large for us to open. Please try a smaller copy, such as a screenshot.",
    "image_timeout": "That photo took too long to open. Please try again, or send a screenshot of it instead.",
    "video_too_large": "That video file is too big for us to take. Please try a shorter clip, or a smaller copy of it.",
    "not_a_video": "That file says it is a video, but we couldn't find a video in it. Please choose the video again.",
    "no_video_stream": "That file only has sound in it, not a video. Please choose a video or a photo instead.",
    "unsupported_codec": "We can't play that kind of video yet. Please send it as an MP4 from your phone's camera or gallery.",
    "video_too_long": "That video is too long for us to take. Please send a shorter clip of the part you want removed.",
    "video_too_big": "The picture in that video is too large for us to open. Please try a smaller copy of it.",
    "video_corrupt": "We couldn't open that video because the file seems to be damaged or didn't all arrive. Please try sending it again.",
    "video_encrypted": "That video is locked (protected), so we can't open it. Please send a copy you recorded or saved yourself.",
    "video_timeout": "That video took too long to open. Please try again, or send a shorter clip of it.",
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


_PDQ = PDQ()
_PHASH = PHash()
_VPDQ: VPDQ = REGISTRY["vpdq"]  # type: ignore[assignment]

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
_OTHER_IMAGE_BRANDS = frozenset({b"avif", b"avis", b"jxl ", b"crx "})
# Old QuickTime files begin with a movie atom rather than `ftyp`.
_QUICKTIME_ATOMS = frozenset({b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"})
_EBML = b"\x1a\x45\xdf\xa3"


def sniff_format(data: bytes) -> str | None:
    """Name the allowed picture format the leading bytes announce, or None.

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


def sniff_video(data: bytes) -> str | None:
    """"MP4" (with MOV and 3GP, one family) or "WEBM" when the leading bytes announce a video container."""
    if data[4:8] == b"ftyp" and data[8:12] not in _HEIF_BRANDS and data[8:12] not in _OTHER_IMAGE_BRANDS:
        return "MP4"
    if data[4:8] in _QUICKTIME_ATOMS and int.from_bytes(data[:4], "big") >= 8:
        return "MP4"
    if data.startswith(_EBML):
        return "WEBM"
    return None


def sniff_media(data: bytes) -> str:
    """ "image" or "video" by the leading bytes (what decides which size cap applies); "image" if unknown."""
    return "video" if sniff_format(data) is None and sniff_video(data) is not None else "image"


def _looks_like_other_image(data: bytes) -> bool:
    if data[4:8] == b"ftyp":
        return True  # AVIF or another HEIF brand we do not take
    return any(data.startswith(magic) for magic in _KNOWN_OTHER_IMAGE_MAGIC)


def check_size(data: bytes, max_bytes: int, media: str = "image") -> None:
    """Refuse empty or oversized uploads before anything tries to decode them."""
    if not data:
        raise IntakeError("empty_file")
    if len(data) > max_bytes:
        raise IntakeError("video_too_large" if media == "video" else "file_too_large")


# Bytes one pixel takes once Pillow has decoded it, by mode.
_BYTES_PER_PIXEL = {"1": 1, "L": 1, "P": 1, "LA": 2, "La": 2, "PA": 2, "I;16": 2, "I;16B": 2, "I;16L": 2,
                    "I;16N": 2, "RGB": 3, "YCbCr": 3, "LAB": 3, "HSV": 3, "RGBA": 4, "RGBa": 4, "RGBX": 4,
                    "CMYK": 4, "I": 4, "F": 4}


def decoded_bytes(image: Image.Image, draft: int = 1) -> int:
    """What decoding this picture allocates: its pixels (at the JPEG draft scale) times their size."""
    width, height = image.size
    return -(-width // draft) * -(-height // draft) * _BYTES_PER_PIXEL.get(image.mode, 4)


def check_decoded_size(image: Image.Image, max_decoded_bytes: int, draft: int = 1) -> None:
    """Refuse a picture whose decode would allocate more than the cap (decode amplification), unopened."""
    # Conversion to 8-bit grey or RGB may need as much again, so the cap holds for the pair.
    if decoded_bytes(image, draft) > max_decoded_bytes:
        raise IntakeError("image_too_big")


def _open(data: bytes, claimed: str) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data), formats=list(ALLOWED_FORMATS))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise IntakeError("image_too_big") from error
    except Exception as error:
        raise IntakeError("image_corrupt") from error
    found = "JPEG" if image.format == "MPO" else image.format
    if found != claimed:
        # Pillow found a different image than the leading bytes announce: one file
        # pretending to be two things is not a photo a child took.
        raise IntakeError("not_an_image")
    width, height = image.size
    if width < 1 or height < 1:
        raise IntakeError("image_corrupt")
    return image


def reduction_for(width: int, height: int) -> int:
    """How many times smaller the copy the perceptual hashes are taken from may be."""
    narrowest_window = min(-(-width // 128), -(-height // 128))
    scale = 1
    while narrowest_window >= _MIN_BLUR_PIXELS * scale * 2:
        scale *= 2
    return scale


def jpeg_draft_for(image: Image.Image) -> int:
    """The 1/2, 1/4 or 1/8 scale a JPEG will be decoded at for hashing (1 for everything else)."""
    if image.format not in ("JPEG", "MPO"):
        return 1
    return min(reduction_for(*image.size), _JPEG_MAX_DRAFT)


def decode_for_hashing(image: Image.Image) -> tuple[Image.Image, int]:
    """Decode the current frame for the perceptual hashes; returns the picture and how much it was shrunk.

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
    draft = jpeg_draft_for(image)
    if draft > 1:
        image.draft("L", (width // draft, height // draft))
    image.load()
    decoded = 1
    for candidate in (8, 4, 2):
        if image.size == (-(-width // candidate), -(-height // candidate)):
            decoded = candidate
            break
    luma = image if image.mode == "L" else to_8bit(image, grey=True)
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


def upright(image: Image.Image, orientation: int) -> Image.Image:
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


def orientation_of(image: Image.Image) -> int:
    try:
        value = image.getexif().get(_EXIF_ORIENTATION, 1)
    except Exception:
        # Damaged metadata must not cost a child their report; show the pixels as stored.
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


_HIGH_DEPTH = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")


def to_8bit(image: Image.Image, grey: bool = False) -> Image.Image:
    """An 8-bit copy ("L" when `grey` or the picture has one channel, else "RGB") without amplification.

    High bit depths are scaled down with a bit shift straight into an 8-bit array: one extra byte per
    pixel, where scaling through floating point took 16 (a 7000 x 7000 16-bit PNG cost 1.3 GB that way).
    """
    if image.mode in _HIGH_DEPTH:
        values = np.asarray(image)
        top = int(values.max()) if values.size else 0
        shift = max(0, top.bit_length() - 8)
        out = np.empty(values.shape, dtype=np.uint8)
        if values.dtype.kind == "f":
            np.clip(values * (255.0 / top if top > 255 else 1.0), 0, 255, out=out, casting="unsafe")
        else:
            np.right_shift(np.maximum(values, 0) if values.dtype.kind == "i" else values, shift, out=out,
                           casting="unsafe")
        del values
        grey_image = Image.fromarray(out, "L")
        return grey_image if grey else grey_image.convert("RGB")
    if grey or image.mode in ("L", "1"):
        return image.convert("L")
    return image.convert("RGB")


def _frame_count(image: Image.Image) -> int:
    if image.format == "MPO":
        return 1  # the second picture is another view of the same moment (stereo, depth), not motion
    try:
        return int(getattr(image, "n_frames", 1))
    finally:
        image.seek(0)


def iter_frames(image: Image.Image, limit: int) -> Iterator[tuple[int, float, Image.Image]]:
    """(index, timestamp in seconds, frame) for the first `limit` frames of an animated picture."""
    elapsed = 0.0
    for index, frame in enumerate(ImageSequence.Iterator(image)):
        if index >= limit:
            return
        yield index, elapsed, frame
        duration = frame.info.get("duration", 100) or 100
        elapsed += float(duration) / 1000.0


def _animation_frames(image: Image.Image, limits: IntakeLimits, size: tuple[int, int]) -> tuple[Frame, ...]:
    """vPDQ-style frames of an animated picture: every frame up to the cap, still stretches pruned."""
    found = []
    for index, timestamp, frame in iter_frames(image, limits.max_animation_frames):
        if reduction_for(*size) == 1:
            digest = _pdq(frame.convert("RGB"), 1, size)
        else:
            digest = _pdq(*decode_for_hashing(frame), size)
        found.append(Frame(timestamp, digest.hash, digest.quality, index))
    image.seek(0)
    return tuple(_VPDQ.prune(found))


def _file_hashes(data: bytes) -> dict[str, str]:
    return {kind.column: kind.hash_from_bytes(data) for kind in file_kinds()}  # type: ignore[attr-defined]


def check_and_hash(data: bytes, limits: IntakeLimits = DEFAULT_LIMITS) -> ImageHashes:
    """Refuse anything that is not an image or video Haven takes; hash what it does take.

    Cryptographic hashes are of the exact bytes sent, because hash lists match files.
    PDQ and pHash are of the decoded first frame, upright as EXIF says it is shown; when
    the file is stored rotated, PDQ of the stored orientation is kept too, since copies
    that lost their EXIF will show the image that way. Animated pictures also get a PDQ
    per frame (up to `max_animation_frames`), videos one per sampled second (vPDQ).

    A JPEG that carries markup in a comment or after its end is taken: it begins as a
    JPEG, browsers treat it as one, Haven never serves originals as documents, and the
    report must list the exact file that circulates. A file that begins as anything
    else (text, an HTML page with a JPEG inside) is refused as not an image.
    """
    claimed = sniff_format(data)
    if claimed is None and sniff_video(data) is not None:
        from bot.images.video import check_and_hash_video

        check_size(data, limits.max_video_bytes, "video")
        return check_and_hash_video(data, limits)
    check_size(data, limits.max_image_bytes)
    if claimed is None:
        raise IntakeError("unsupported_format" if _looks_like_other_image(data) else "not_an_image")

    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image = _open(data, claimed)
        width, height = image.size
        try:
            check_decoded_size(image, limits.max_decoded_bytes, jpeg_draft_for(image))
            frames = _frame_count(image)
            orientation = orientation_of(image)
            stored, scale = decode_for_hashing(image)
            if scale == 1 and stored.mode not in ("RGB", "L"):
                stored = to_8bit(stored)
            turned_picture = upright(stored, orientation)
            animation = _animation_frames(image, limits, (width, height)) if frames > 1 else ()
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
    pdq = _pdq(turned_picture, scale, upright_size)
    pdq_unrotated = _pdq(stored, scale, (width, height)).hash if orientation != 1 else None
    width, height = upright_size
    return ImageHashes(
        **_file_hashes(data),
        pdq=pdq.hash,
        pdq_quality=pdq.quality,
        pdq_unrotated=pdq_unrotated,
        phash=_phash(turned_picture, scale),
        media="image",
        format=image.format or claimed,
        width=width,
        height=height,
        frames=frames,
        frame_hashes=animation,
    )


def cli_json(hashes: ImageHashes) -> dict[str, Any]:
    """What `run.py hash` prints for one file: every hash it has, frames in vPDQ's form."""
    result: dict[str, Any] = {"media": hashes.media}
    for kind in REGISTRY.values():
        value = hashes.value(kind)
        if value is None or kind.name in result:
            continue
        result[kind.name] = [frame.as_json() for frame in value] if kind.column == "frames" else value
    if hashes.pdq_quality is not None:
        result["pdq_quality"] = hashes.pdq_quality
    if hashes.pdq_unrotated is not None:
        result["pdq_unrotated"] = hashes.pdq_unrotated
    if hashes.frame_hashes:
        result["frames"] = [frame.as_json() for frame in hashes.frame_hashes]
        result.pop("vpdq", None)
    if hashes.media == "video":
        result.update(duration=hashes.duration, codec=hashes.codec, width=hashes.width, height=hashes.height)
    return result


def hash_file(path: Path | str, limits: IntakeLimits = DEFAULT_LIMITS) -> dict[str, Any]:
    """Hash one file for the `hash` CLI, through the same checks as an upload."""
    return cli_json(check_and_hash(Path(path).read_bytes(), limits))


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
