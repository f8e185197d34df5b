"""Encodes synthetic test videos at run time with PyAV (shapes, noise, text; never a person), in memory."""

from __future__ import annotations

import io
import itertools
import os
from dataclasses import dataclass
from fractions import Fraction
from typing import Iterable, Iterator

import av
import numpy as np

from tests.imagefactory import Kind, draw

# SVT-AV1 prints its configuration unless told not to.
os.environ.setdefault("SVT_LOG", "1")

# (container format, encoder, pixel format) for each codec the tests make, by the codec phones use.
ENCODERS: dict[str, tuple[str, str, str]] = {
    "h264": ("mp4", "libx264", "yuv420p"),
    "hevc": ("mp4", "libx265", "yuv420p"),
    "vp8": ("webm", "libvpx", "yuv420p"),
    "vp9": ("webm", "libvpx-vp9", "yuv420p"),
    "av1": ("mp4", "libsvtav1", "yuv420p"),
    "h263": ("3gp", "h263", "yuv420p"),
    "mpeg4": ("3gp", "mpeg4", "yuv420p"),
    # Not a codec phones record in: Haven refuses it.
    "mjpeg": ("mov", "mjpeg", "yuvj420p"),
}
_FAST = {"libx264": {"preset": "ultrafast"}, "libx265": {"preset": "ultrafast", "x265-params": "log-level=none"},
         "libvpx": {"deadline": "realtime", "cpu-used": "8"}, "libvpx-vp9": {"deadline": "realtime", "cpu-used": "8"},
         "libsvtav1": {"preset": "12"}}


@dataclass(frozen=True)
class Scene:
    """A picture shown for `seconds`, drifting slowly sideways as a camera on a table would."""

    kind: Kind
    seed: int
    seconds: float


def scenes(seconds: float, seed: int = 0, per_scene: float = 2.0,
           kinds: tuple[Kind, ...] = ("shapes", "noise", "text", "shapes")) -> list[Scene]:
    count = max(1, round(seconds / per_scene))
    return [Scene(kinds[(seed + i) % len(kinds)], seed * 100 + i, seconds / count) for i in range(count)]


def frames_of(plan: list[Scene], width: int, height: int, fps: int) -> list[np.ndarray]:
    return list(iter_frames(plan, width, height, fps))


def iter_frames(plan: list[Scene], width: int, height: int, fps: int) -> Iterator[np.ndarray]:
    """RGB frames for the plan: each scene drawn once (a little wider than the frame) and panned slowly.

    PDQ is not made for moving pictures: a pan of 1% of the width changes about 16 of its 256 bits, so
    the drift is kept to 1/64 of the width per scene, which a still taken between two sampled frames
    survives; text, whose PDQ changes most, is left out of the scenes the matching tests use.
    """
    for scene in plan:
        wide = np.asarray(draw(width + width // 64 + 1, height, scene.kind, scene.seed))
        count = max(1, round(scene.seconds * fps))
        for n in range(count):
            shift = (n * (width // 64)) // max(1, count)
            yield np.ascontiguousarray(wide[:, shift:shift + width])


def encode(frames: Iterable[np.ndarray], codec: str = "h264", fps: int = 30, container: str | None = None,
           audio: bool = False, options: dict[str, str] | None = None,
           container_options: dict[str, str] | None = None) -> bytes:
    """Encode RGB frames (any iterable: a long clip need not be held) in memory with the codec's encoder."""
    fmt, encoder, pix_fmt = ENCODERS[codec]
    frames = iter(frames)
    first = next(frames)
    out = io.BytesIO()
    with av.open(out, "w", format=container or fmt, options=container_options or {}) as muxer:
        stream = muxer.add_stream(encoder, rate=fps)
        height, width = first.shape[:2]
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        stream.options = {**_FAST.get(encoder, {}), **(options or {})}
        if encoder in ("h263", "mpeg4"):
            stream.codec_context.time_base = Fraction(1, fps)
        webm = (container or fmt) == "webm"
        sound = muxer.add_stream("libopus" if webm else "aac", rate=48000 if webm else 16000) if audio else None
        count = 0
        for n, pixels in enumerate(itertools.chain([first], frames)):
            count = n + 1
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts = n
            for packet in stream.encode(frame):
                muxer.mux(packet)
        for packet in stream.encode():
            muxer.mux(packet)
        if sound is not None:
            _silence(muxer, sound, count / fps)
    return out.getvalue()


def _silence(muxer: av.container.OutputContainer, stream: av.AudioStream, seconds: float) -> None:
    rate = stream.codec_context.sample_rate
    fmt = stream.codec_context.format.name
    size = stream.codec_context.frame_size or 1024
    for start in range(0, int(seconds * rate), size):
        frame = av.AudioFrame.from_ndarray(np.zeros((1, size), dtype=np.float32 if "flt" in fmt else np.int16),
                                           format=fmt, layout="mono")
        frame.sample_rate, frame.pts = rate, start
        for packet in stream.encode(frame):
            muxer.mux(packet)
    for packet in stream.encode():
        muxer.mux(packet)


def make_video(seconds: float = 4.0, width: int = 320, height: int = 240, fps: int = 10, codec: str = "h264",
               seed: int = 0, container: str | None = None, audio: bool = False,
               options: dict[str, str] | None = None, container_options: dict[str, str] | None = None,
               kinds: tuple[Kind, ...] = ("shapes", "noise", "text", "shapes")) -> bytes:
    """Return an encoded synthetic video: a scene every two seconds, each panning slowly."""
    return encode(frames_of(scenes(seconds, seed, kinds=kinds), width, height, fps), codec, fps, container, audio,
                  options, container_options)


def audio_only(seconds: float = 2.0) -> bytes:
    """An MP4 holding only a silent sound track (what a voice memo or .m4a is)."""
    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as muxer:
        _silence(muxer, muxer.add_stream("aac", rate=16000), seconds)
    return out.getvalue()


def with_encryption_marked(data: bytes) -> bytes:
    """The same MP4 with its video sample entry renamed `encv`, as Common Encryption (DRM) marks it."""
    at = data.find(b"avc1", data.find(b"moov"))
    assert data.find(b"moov") > 0 and at > 0, "an H.264 MP4 was expected"
    return data[:at] + b"encv" + data[at + 4:]


def decoded_frames(data: bytes) -> list[tuple[float, np.ndarray]]:
    """Every frame of a video as (timestamp, RGB array), for making stills and re-encoded copies."""
    with av.open(io.BytesIO(data)) as container:
        return [(float(f.time or 0.0), f.to_ndarray(format="rgb24")) for f in container.decode(video=0)]
