"""Draws synthetic test images at run time so no image file ever enters the repository."""

from __future__ import annotations

import io
import random
import struct
import zlib
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw

Kind = Literal["shapes", "noise", "text", "gradient"]

JPEG_SIGNATURE = b"\xff\xd8\xff"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

_PALETTE = [
    (230, 57, 70),
    (29, 53, 87),
    (69, 123, 157),
    (168, 218, 220),
    (241, 250, 238),
    (255, 183, 3),
    (42, 157, 143),
    (38, 70, 83),
]


def draw(width: int = 640, height: int = 480, kind: Kind = "shapes", seed: int = 0) -> Image.Image:
    """Return an RGB picture of abstract content; the same seed always gives the same pixels."""
    rng = random.Random(seed)
    if kind == "noise":
        # Octaves of upscaled noise, coarse ones loudest: the 1/f spectrum of a photo
        # of texture, rather than white noise no camera produces.
        gen = np.random.default_rng(seed)
        total = np.zeros((height, width, 3), dtype=np.float32)
        for octave in range(1, 7):
            cells = 2**octave
            small = gen.normal(0, 1, size=(cells * height // max(width, height) + 1, cells * width // max(width, height) + 1, 3))
            small = ((small - small.min()) / (np.ptp(small) or 1) * 255).astype(np.uint8)
            layer = Image.fromarray(small, "RGB").resize((width, height), Image.Resampling.BICUBIC)
            total += (np.asarray(layer, dtype=np.float32) - 128) / octave
        total += gen.normal(0, 6, size=(height, width, 3)).astype(np.float32)
        return Image.fromarray(np.clip(total * 0.8 + 128, 0, 255).astype(np.uint8), "RGB")
    if kind == "gradient":
        # Smooth colour ramps with a gentle wave, like a sky: no edges, but enough
        # structure that a perceptual hash of it means something.
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
        u, v = xs / width, ys / height
        phase = rng.uniform(0, 6.28)
        wave = np.sin(u * rng.uniform(2, 5) + v * rng.uniform(1, 4) + phase)
        r = 255 * u * 0.7 + 60 * wave
        g = 255 * v * 0.8 - 50 * wave
        b = 255 * (1 - u * v) + 40 * np.cos(v * 3 + phase)
        pixels = np.clip(np.stack([r, g, b], axis=-1), 0, 255).astype(np.uint8)
        return Image.fromarray(pixels, "RGB")
    image = Image.new("RGB", (width, height), rng.choice(_PALETTE))
    pen = ImageDraw.Draw(image)
    scale = max(width, height)
    if kind == "shapes":
        for _ in range(24):
            x0, y0 = rng.randrange(width), rng.randrange(height)
            x1 = x0 + rng.randrange(scale // 20 + 1, scale // 3 + 2)
            y1 = y0 + rng.randrange(scale // 20 + 1, scale // 3 + 2)
            shape = rng.choice(("rectangle", "ellipse", "line"))
            colour = rng.choice(_PALETTE)
            if shape == "rectangle":
                pen.rectangle((x0, y0, x1, y1), fill=colour)
            elif shape == "ellipse":
                pen.ellipse((x0, y0, x1, y1), fill=colour)
            else:
                pen.line((x0, y0, x1, y1), fill=colour, width=max(1, scale // 100))
        return image
    words = ["haven", "safe", "report", "remove", "hello", "blue", "seven", "kite"]
    size = max(8, scale // 16)
    for row in range(0, height, size + size // 2):
        text = " ".join(rng.choice(words) for _ in range(6))
        pen.text((rng.randrange(max(1, width // 10)), row), text, fill=rng.choice(_PALETTE), font_size=size)
    return image


def encode(image: Image.Image, fmt: str = "JPEG", quality: int = 90, exif_orientation: int | None = None) -> bytes:
    """Encode a Pillow image in memory, optionally tagging an EXIF orientation."""
    out = io.BytesIO()
    options: dict[str, object] = {}
    if fmt in ("JPEG", "WEBP", "HEIF"):
        options["quality"] = quality
    if exif_orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        options["exif"] = exif.tobytes()
    if fmt == "HEIF":
        import pillow_heif

        pillow_heif.register_heif_opener()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def make_image(
    width: int = 640,
    height: int = 480,
    fmt: str = "JPEG",
    kind: Kind = "shapes",
    seed: int = 0,
    quality: int = 90,
    exif_orientation: int | None = None,
) -> bytes:
    """Return encoded bytes of a deterministic synthetic image."""
    image = draw(width, height, kind, seed)
    if fmt == "GIF":
        image = image.convert("P", palette=Image.Palette.ADAPTIVE)
    return encode(image, fmt, quality, exif_orientation)


def make_heic(width: int = 640, height: int = 480, kind: Kind = "shapes", seed: int = 0, quality: int = 80) -> bytes:
    """Return a HEIC image encoded by pillow_heif."""
    return make_image(width, height, "HEIF", kind, seed, quality)


def make_animated_gif(frames: int = 3, width: int = 160, height: int = 120, seed: int = 0) -> bytes:
    """Return an animated GIF whose frames differ, so Pillow keeps them all."""
    images = [draw(width, height, "shapes", seed + i).convert("P", palette=Image.Palette.ADAPTIVE) for i in range(frames)]
    out = io.BytesIO()
    images[0].save(out, format="GIF", save_all=True, append_images=images[1:], duration=100, loop=0)
    return out.getvalue()


def truncated(data: bytes, keep: float = 0.6) -> bytes:
    """Cut an encoded image short, as an interrupted upload would."""
    return data[: max(1, int(len(data) * keep))]


def html_jpeg_polyglot(html_first: bool = True) -> bytes:
    """Return a file that is both HTML and (arguably) a JPEG.

    html_first=True: an HTML document that carries JPEG bytes after the markup, which
    browsers sniff as HTML. html_first=False: a valid JPEG whose comment segment holds
    a script, which browsers sniff as an image.
    """
    jpeg = make_image(64, 48, seed=7)
    markup = b"<html><body><script>alert('polyglot')</script></body></html>"
    if html_first:
        return markup + b"\n" + jpeg
    comment = b"\xff\xfe" + struct.pack(">H", len(markup) + 2) + markup
    return jpeg[:2] + comment + jpeg[2:]


def png_claiming(width: int, height: int) -> bytes:
    """Return a tiny PNG whose header claims the given dimensions (a decompression bomb's shape)."""
    data = bytearray(make_image(8, 8, fmt="PNG"))
    # IHDR is always the first chunk: 8-byte signature, 4-byte length, b"IHDR", 13 data bytes, CRC.
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)
    return bytes(data)


def resized_reencoded(data: bytes, scale: float, fmt: str = "JPEG", quality: int = 85) -> bytes:
    """Return a near-duplicate: the same picture scaled and re-encoded."""
    image = Image.open(io.BytesIO(data)).convert("RGB")
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return encode(image.resize(size, Image.Resampling.LANCZOS), fmt, quality)


def text_file() -> bytes:
    """Return plain text, as a child might send by renaming notes.txt to photo.jpg."""
    return b"This is not a picture, just some notes.\n" * 20
