"""Fingerprints made in the browser agree with the server's: same file hashes, PDQ within 4 bits.

Every picture is drawn here with Pillow, handed to Chromium as a File on a page of the app (/chat,
under its real CSP), fingerprinted by web/static/chat/fingerprint/ in its Web Worker, and compared
with bot/images/intake.check_and_hash (what `run.py hash` prints) for the same bytes.
"""

from __future__ import annotations

import collections
import functools
import hashlib
import io
import urllib.request
from typing import Any

import numpy as np
import pytest
from PIL import Image

from bot.images.hashing import hamming_hex
from bot.images.intake import check_and_hash, reduction_for
from bot.reports import LOW_PDQ_QUALITY
from tests.imagefactory import Kind, draw, encode, make_heic, png_claiming, text_file

pytestmark = pytest.mark.e2e

FIXTURE = "/__fingerprint_fixture__/"
MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "GIF": "image/gif"}
PDQ_BITS = 4
# "Close": pdqhash's quality is a sum of truncated gradients divided by 90, so a change of a hair in
# the 64 x 64 grid can move it by one; nothing here should move it by more than that.
QUALITY_POINTS = 1


def _with_alpha(image: Image.Image, seed: int) -> Image.Image:
    """Alpha from see-through to solid, with fully transparent patches whose colour must still count."""
    rng = np.random.default_rng(seed)
    width, height = image.size
    xs = np.mgrid[0:height, 0:width][1]
    alpha = (255 * xs / max(1, width - 1)).astype(np.uint8)
    for _ in range(6):
        x, y = rng.integers(0, width), rng.integers(0, height)
        alpha[max(0, y - height // 8) : y + height // 8, max(0, x - width // 8) : x + width // 8] = 0
    rgba = np.dstack([np.asarray(image.convert("RGB")), alpha])
    return Image.fromarray(rgba, "RGBA")


def _save(image: Image.Image, fmt: str, **options: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


@functools.cache
def pictures() -> tuple[tuple[str, str, bytes], ...]:
    """(name, format, bytes): sizes from 64 px to 12 MP, JPEG/PNG/WebP/GIF, orientations 1-8, grey, palette, alpha."""
    made: list[tuple[str, str, bytes]] = []

    def add(name: str, fmt: str, data: bytes) -> None:
        made.append((name, fmt, data))

    # Sizes, through every reduction the server uses (1, 2, 4, 8) and its edges.
    sizes: list[tuple[int, int, Kind]] = [(64, 64, "shapes"), (100, 80, "noise"), (320, 240, "text"),
                                          (640, 480, "gradient"), (641, 643, "shapes"), (1024, 768, "noise"),
                                          (1601, 1203, "text"), (2560, 1920, "shapes")]
    for seed, (width, height, kind) in enumerate(sizes, start=1):
        add(f"jpeg-{width}x{height}-{kind}", "JPEG", encode(draw(width, height, kind, seed), "JPEG", 90))
    kinds: list[Kind] = ["shapes", "noise", "text", "gradient"]
    for seed, kind in enumerate(kinds, start=11):
        add(f"jpeg-12mp-{kind}", "JPEG", encode(draw(4000, 3000, kind, seed), "JPEG", 88))
    # A phone photo: stored on its side, shown upright by EXIF.
    add("jpeg-12mp-portrait-o6", "JPEG", encode(draw(4032, 3024, "noise", 15), "JPEG", 85, exif_orientation=6))

    # EXIF orientations 1-8, in each format that carries EXIF, small and reduced.
    for orientation in range(1, 9):
        add(f"jpeg-o{orientation}", "JPEG", encode(draw(480, 320, "shapes", 20 + orientation), "JPEG", 90, orientation))
    for orientation in range(2, 9):
        add(f"png-o{orientation}", "PNG", encode(draw(300, 200, "text", 30 + orientation), "PNG", exif_orientation=orientation))
    for orientation in (3, 5, 6, 8):
        add(f"webp-o{orientation}", "WEBP", encode(draw(360, 240, "noise", 40 + orientation), "WEBP", 85, orientation))
    add("png-1600x1200-o8", "PNG", encode(draw(1600, 1200, "shapes", 48), "PNG", exif_orientation=8))
    add("jpeg-2000x1500-o7", "JPEG", encode(draw(2000, 1500, "text", 49), "JPEG", 90, exif_orientation=7))

    # PNG and WebP in colour, up to 12 MP.
    add("png-64-noise", "PNG", encode(draw(64, 64, "noise", 50), "PNG"))
    add("png-500x400-shapes", "PNG", encode(draw(500, 400, "shapes", 51), "PNG"))
    add("png-1200x900-gradient", "PNG", encode(draw(1200, 900, "gradient", 52), "PNG"))
    add("png-12mp-shapes", "PNG", encode(draw(4000, 3000, "shapes", 53), "PNG"))
    add("webp-640x480-noise", "WEBP", encode(draw(640, 480, "noise", 54), "WEBP", 80))
    add("webp-lossless-400x300-text", "WEBP", _save(draw(400, 300, "text", 55), "WEBP", lossless=True))
    add("webp-1920x1080-gradient", "WEBP", encode(draw(1920, 1080, "gradient", 56), "WEBP", 85))
    add("webp-12mp-shapes", "WEBP", encode(draw(4000, 3000, "shapes", 57), "WEBP", 80))

    # Greyscale.
    add("jpeg-grey-800x600", "JPEG", encode(draw(800, 600, "noise", 60).convert("L"), "JPEG", 90))
    add("jpeg-grey-4000x3000", "JPEG", encode(draw(4000, 3000, "text", 61).convert("L"), "JPEG", 90))
    add("png-grey-1600x1200", "PNG", encode(draw(1600, 1200, "gradient", 62).convert("L"), "PNG"))
    add("png-grey-alpha-400x400", "PNG", _save(_with_alpha(draw(400, 400, "shapes", 63), 63).convert("LA"), "PNG"))
    add("png-bilevel-300x300", "PNG", encode(draw(300, 300, "shapes", 64).convert("1"), "PNG"))
    # 16 bits a sample: the server stretches grey to its maximum; the browser has the top 8 bits.
    deep = np.asarray(draw(1600, 1200, "shapes", 65).convert("L")).astype(np.uint16) * 150 + 7
    add("png-16bit-grey-1600x1200", "PNG", _save(Image.fromarray(deep), "PNG"))

    # Other JPEG codings: CMYK, progressive, no chroma subsampling; and an animated WebP's first frame.
    add("jpeg-cmyk-640x480", "JPEG", _save(draw(640, 480, "noise", 66).convert("CMYK"), "JPEG", quality=90))
    add("jpeg-progressive-2400x1800", "JPEG", _save(draw(2400, 1800, "noise", 67), "JPEG", quality=85, progressive=True))
    add("jpeg-444-2000x1500", "JPEG", _save(draw(2000, 1500, "text", 68), "JPEG", quality=92, subsampling=0))
    frames = [draw(300, 200, "shapes", 69 + i) for i in range(3)]
    add("webp-animated-300x200", "WEBP", _save(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=100))

    # Palette.
    add("png-palette-640x480", "PNG", encode(draw(640, 480, "shapes", 70).convert("P", palette=Image.Palette.ADAPTIVE), "PNG"))
    add("png-palette-16-1500x1000", "PNG",
        _save(draw(1500, 1000, "noise", 71).convert("P", palette=Image.Palette.ADAPTIVE, colors=16), "PNG", bits=4))
    see_through = draw(500, 500, "shapes", 72).convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
    add("png-palette-transparent-500", "PNG", _save(see_through, "PNG", transparency=int(np.asarray(see_through)[0, 0])))
    add("gif-320x240", "GIF", encode(draw(320, 240, "shapes", 73).convert("P", palette=Image.Palette.ADAPTIVE), "GIF"))
    add("gif-1000x800-noise", "GIF", encode(draw(1000, 800, "noise", 74).convert("P", palette=Image.Palette.ADAPTIVE), "GIF"))
    see_through = draw(320, 240, "shapes", 75).convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
    add("gif-transparent-320x240", "GIF", _save(see_through, "GIF", transparency=int(np.asarray(see_through)[0, 0])))

    # Alpha, where the colour under transparent pixels must still count, as the server's decode keeps it.
    add("png-alpha-600x400", "PNG", _save(_with_alpha(draw(600, 400, "noise", 80), 80), "PNG"))
    add("png-alpha-2000x1500", "PNG", _save(_with_alpha(draw(2000, 1500, "shapes", 81), 81), "PNG"))
    add("webp-alpha-lossless-500", "WEBP", _save(_with_alpha(draw(500, 500, "text", 82), 82), "WEBP", lossless=True, exact=True))
    add("webp-alpha-lossy-800x600", "WEBP", _save(_with_alpha(draw(800, 600, "gradient", 83), 83), "WEBP", quality=80))
    return tuple(made)


def fingerprint(page: Any, name: str, mime: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Fingerprint the fixture `name` in the page; {"ok": True, "result"} or {"ok": False, "code", "message"}."""
    return page.evaluate(
        """async ([url, name, type, options]) => {
          const { fingerprintFile } = await import('/static/chat/fingerprint/index.js');
          const blob = await (await fetch(url)).blob();
          const file = new File([blob], name, { type });
          const stages = new Set();
          try {
            const result = await fingerprintFile(file, { ...options, onProgress: (p) => stages.add(p.stage) });
            return { ok: true, result, stages: [...stages] };
          } catch (error) {
            return { ok: false, code: error.code, message: error.message, name: error.name };
          }
        }""",
        [FIXTURE + name, name, mime, options or {}],
    )


@pytest.fixture
def page(site: Any, context: Any) -> Any:
    served: dict[str, bytes] = {}
    page = context.new_page()
    page.set_default_timeout(120_000)
    page.route(f"**{FIXTURE}*", lambda route: route.fulfill(
        body=served[route.request.url.rsplit("/", 1)[1]], content_type="application/octet-stream"))
    page.workers_seen = []  # type: ignore[attr-defined]
    page.workers_closed = []  # type: ignore[attr-defined]

    def seen(worker: Any) -> None:
        page.workers_seen.append(worker.url)
        worker.on("close", lambda closed: page.workers_closed.append(closed.url))

    page.on("worker", seen)
    page.goto(site.base_url + "/chat")
    page.served = served  # type: ignore[attr-defined]
    return page


def test_browser_fingerprints_agree_with_the_server(page: Any) -> None:
    distances: collections.Counter[int] = collections.Counter()
    quality_gaps: collections.Counter[int] = collections.Counter()
    rows = []
    made = pictures()
    assert len(made) >= 40
    for name, fmt, data in made:
        page.served[name] = data
        server = check_and_hash(data)
        answer = fingerprint(page, name, MIME[fmt])
        assert answer["ok"], (name, answer)
        got = answer["result"]
        assert (got["md5"], got["sha1"], got["sha256"]) == (server.md5, server.sha1, server.sha256), name
        assert got["md5"] == hashlib.md5(data).hexdigest()
        assert (got["kind"], got["format"], got["size"]) == ("image", fmt, len(data)), name
        assert (got["width"], got["height"]) == (server.width, server.height), name
        distance = hamming_hex(got["pdq"], server.pdq)
        gap = abs(got["pdq_quality"] - server.pdq_quality)
        rows.append((name, distance, got["pdq_quality"], server.pdq_quality))
        assert distance <= PDQ_BITS, (name, got["pdq"], server.pdq)
        assert gap <= QUALITY_POINTS, (name, got["pdq_quality"], server.pdq_quality)
        if server.pdq_unrotated is None:
            assert got["pdq_unrotated"] is None, name
        else:
            unrotated = hamming_hex(got["pdq_unrotated"], server.pdq_unrotated)
            assert unrotated <= PDQ_BITS, (name, "unrotated", unrotated)
            distances[unrotated] += 1
        distances[distance] += 1
        quality_gaps[gap] += 1
        del page.served[name]
    print(f"\n{len(made)} pictures; PDQ distance browser vs server (hashes, upright and stored): "
          f"{dict(sorted(distances.items()))}; quality difference: {dict(sorted(quality_gaps.items()))}")
    for name, distance, mine, theirs in rows:
        if distance or mine != theirs:
            print(f"  {name}: {distance} bits, quality {mine} vs {theirs}")
    assert any(url.endswith("/static/chat/fingerprint/worker.js") for url in page.workers_seen)


def test_without_a_scaled_jpeg_decoder_big_jpegs_stay_close(page: Any) -> None:
    """Safari has no ImageDecoder: a big JPEG is decoded in full and averaged, not scaled in the DCT
    as the server's draft mode does. Still within 4 bits wherever PDQ trusts its own hash."""
    def without_image_decoder(route: Any) -> None:
        response = route.fetch()
        route.fulfill(response=response, body="self.ImageDecoder = undefined;\n" + response.text())

    page.route("**/static/chat/fingerprint/worker.js", without_image_decoder)
    page.reload()
    distances = []
    for name, fmt, data in pictures():
        server = check_and_hash(data)
        if fmt != "JPEG" or reduction_for(server.width, server.height) == 1:
            continue  # only JPEGs hashed from a shrunk copy take another road without ImageDecoder
        page.served[name] = data
        answer = fingerprint(page, name, MIME[fmt])
        assert answer["ok"], (name, answer)
        got = answer["result"]
        assert (got["md5"], got["sha1"], got["sha256"]) == (server.md5, server.sha1, server.sha256), name
        distance = hamming_hex(got["pdq"], server.pdq)
        distances.append((name, distance, server.pdq_quality))
        if server.pdq_quality >= LOW_PDQ_QUALITY:
            assert distance <= PDQ_BITS, (name, distance)
        del page.served[name]
    assert len(distances) >= 8
    print("\nwithout ImageDecoder, PDQ distance (bits, server quality): "
          + ", ".join(f"{name} {distance} (q{quality})" for name, distance, quality in distances))


def test_the_page_keeps_running_while_a_12_megapixel_picture_is_fingerprinted(page: Any) -> None:
    for name, data in [("big.png", encode(draw(4000, 3000, "shapes", 90), "PNG")),
                       ("big.jpg", encode(draw(4000, 3000, "noise", 91), "JPEG", 88))]:
        page.served[name] = data
        timing = page.evaluate(
            """async (url) => {
              const { fingerprintFile } = await import('/static/chat/fingerprint/index.js');
              const file = new File([await (await fetch(url)).blob()], 'big');
              let last = performance.now(), longest = 0, ticks = 0;
              const timer = setInterval(() => {
                const now = performance.now();
                longest = Math.max(longest, now - last); last = now; ticks++;
              }, 10);
              const started = performance.now();
              const result = await fingerprintFile(file);
              const took = performance.now() - started;
              clearInterval(timer);
              return { took, longest, ticks, pdq: result.pdq };
            }""",
            FIXTURE + name,
        )
        print(f"\n{name}: fingerprint {timing['took']:.0f} ms; the page's 10 ms timer ticked {timing['ticks']} times, "
              f"longest gap {timing['longest']:.0f} ms")
        # Work on the page's own thread would hold the timer for the whole decode; in the worker it keeps
        # ticking throughout. Generous bounds: the machine is shared.
        assert timing["ticks"] >= timing["took"] / 10 / 4, timing
        assert timing["longest"] < max(250, timing["took"] / 2), timing
        assert len(timing["pdq"]) == 64
    assert any(url.endswith("/static/chat/fingerprint/worker.js") for url in page.workers_seen)


def test_refusals_have_stable_codes_and_kind_words(page: Any) -> None:
    bmp = _save(draw(40, 30, "shapes", 1), "BMP")
    cases = [
        ("notes.jpg", "image/jpeg", text_file(), {}, "not_an_image"),
        ("empty.png", "image/png", b"", {}, "empty_file"),
        ("picture.bmp", "image/bmp", bmp, {}, "unsupported_format"),
        ("bomb.png", "image/png", png_claiming(20000, 20000), {}, "too_big"),
        ("big.jpg", "image/jpeg", encode(draw(200, 200, "noise", 2), "JPEG"), {"maxBytes": 1000}, "too_big"),
        ("wide.jpg", "image/jpeg", encode(draw(300, 200, "shapes", 3), "JPEG"), {"maxPixels": 50_000}, "too_big"),
        # Chromium has no HEIC decoder: the widget offers the checked route instead.
        ("photo.heic", "image/heic", make_heic(320, 240, seed=4), {}, "cannot_decode"),
        ("broken.png", "image/png", encode(draw(200, 200, "shapes", 5), "PNG")[:40], {}, "cannot_decode"),
    ]
    for name, mime, data, options, code in cases:
        page.served[name] = data
        answer = fingerprint(page, name, mime, options)
        assert not answer["ok"], (name, answer)
        assert (answer["name"], answer["code"]) == ("FingerprintError", code), name
        assert answer["message"] and "error" not in answer["message"].lower(), name


def test_a_video_gets_its_file_hashes_only(page: Any) -> None:
    rng = np.random.default_rng(5)
    # An MP4's leading box, then bytes; 9 MB, so it is hashed in several pieces.
    data = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + rng.integers(0, 256, 9_000_000, dtype=np.uint8).tobytes()
    page.served["clip.mp4"] = data
    answer = fingerprint(page, "clip.mp4", "video/mp4")
    assert answer["ok"], answer
    got = answer["result"]
    assert got == {"kind": "video", "format": "MP4", "size": len(data), "md5": hashlib.md5(data).hexdigest(),
                   "sha1": hashlib.sha1(data).hexdigest(), "sha256": hashlib.sha256(data).hexdigest(),
                   "pdq": None, "pdq_quality": None, "pdq_unrotated": None, "width": None, "height": None}
    assert "hashing" in answer["stages"]
    too_big = fingerprint(page, "clip.mp4", "video/mp4", {"maxVideoBytes": 1_000_000})
    assert too_big["code"] == "too_big"


def test_cancel_stops_the_worker(page: Any) -> None:
    page.served["big.png"] = encode(draw(4000, 3000, "shapes", 92), "PNG")
    answer = page.evaluate(
        """async (url) => {
          const { fingerprintFile } = await import('/static/chat/fingerprint/index.js');
          const file = new File([await (await fetch(url)).blob()], 'big.png', { type: 'image/png' });
          const controller = new AbortController();
          const first = fingerprintFile(file, { signal: controller.signal,
            onProgress: (p) => { if (p.stage === 'decoding') controller.abort(); } });
          // Queued behind the first: cancelled before its turn, it must not wait for it.
          const queued = new AbortController();
          const second = fingerprintFile(file, { signal: queued.signal });
          queued.abort();
          const outcome = async (promise) => promise.then(() => 'finished', (e) => e.code);
          const third = await fingerprintFile(file).then((r) => r.pdq.length);
          return { first: await outcome(first), second: await outcome(second), third };
        }""",
        FIXTURE + "big.png",
    )
    assert answer == {"first": "cancelled", "second": "cancelled", "third": 64}
    # The cancelled fingerprint's worker was ended (its decoded picture with it); the third had a new one.
    worker_url = page.workers_seen[0]
    for _ in range(50):  # the close event reaches Playwright a moment after terminate()
        if worker_url in page.workers_closed:
            break
        page.wait_for_timeout(100)
    assert worker_url in page.workers_closed
    assert page.workers_seen.count(worker_url) == 2


def test_only_the_fingerprint_worker_may_compile_webassembly(site: Any) -> None:
    def policy(path: str) -> str:
        with urllib.request.urlopen(site.base_url + path) as response:
            return response.headers["Content-Security-Policy"]

    assert "'wasm-unsafe-eval'" in policy("/static/chat/fingerprint/worker.js")
    for path in ("/chat", "/static/chat/fingerprint/index.js", "/static/chat/main.js"):
        assert "wasm" not in policy(path), path
