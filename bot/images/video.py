"""Checks an uploaded video and hashes it in vPDQ's form, decoding from memory so no plaintext file exists.

PyAV (FFmpeg) reads the upload through a file-like object over the bytes in memory: nothing is written
anywhere. Only the video stream is decoded (sound never is), on one thread, and only the frames that are
sampled are converted; the rest are decoded because later frames are built from them, except frames
that nothing refers to, which are skipped unless they are the ones sampled.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

import av
import numpy as np
from PIL import Image

from bot.images.hashing import REGISTRY, VPDQ, Frame, ImageHashes
from bot.images.intake import (
    IntakeError,
    IntakeLimits,
    _file_hashes,
    reduction_for,
    sniff_video,
)

# Codecs phones record in (and 3GP's older ones). The decoder PyAV's wheel bundles must also have them:
# VIDEO_DECODERS below says which it has here.
ALLOWED_CODECS = frozenset({"h264", "hevc", "vp8", "vp9", "av1", "h263", "mpeg4"})
# FFmpeg's names for the container families Haven takes.
ALLOWED_CONTAINERS = {"mov,mp4,m4a,3gp,3g2,mj2": "MP4", "matroska,webm": "WEBM"}
# The H.264 decoder keeps up to 16 reference pictures of 1.5 bytes per pixel (4:2:0).
_DECODER_PICTURES = 16
_VPDQ: VPDQ = REGISTRY["vpdq"]  # type: ignore[assignment]

av.logging.set_level(av.logging.PANIC)


def available_decoders() -> dict[str, str]:
    """Which allowed codecs this PyAV build can decode, and with which FFmpeg decoder."""
    found: dict[str, str] = {}
    for name in sorted(ALLOWED_CODECS):
        try:
            found[name] = av.codec.Codec(name, "r").name
        except Exception:
            continue
    return found


@dataclass(frozen=True, slots=True)
class VideoFacts:
    """What the container says, checked before anything is decoded."""

    format: str
    codec: str
    width: int
    height: int
    duration: float | None
    rotation: int


def _format_name(data: bytes, family: str) -> str:
    if family == "WEBM":
        return "WEBM" if b"webm" in data[:64] else "MKV"
    brand = data[8:12]
    if brand == b"qt  " or data[4:8] != b"ftyp":
        return "MOV"
    if brand.startswith((b"3gp", b"3g2")):
        return "3GP"
    return "MP4"


def _boxes(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """ISO-BMFF boxes between start and end: (type, payload start, box end)."""
    at = start
    while at + 8 <= end:
        size = int.from_bytes(data[at:at + 4], "big")
        kind = data[at + 4:at + 8]
        head = 8
        if size == 1 and at + 16 <= end:
            size, head = int.from_bytes(data[at + 8:at + 16], "big"), 16
        elif size == 0:
            size = end - at
        if size < head:
            return
        yield kind, at + head, min(end, at + size)
        at += size


_DRM_ENTRIES = (b"encv", b"enca", b"drms", b"drmi", b"pssh")
_DRM_SCHEMES = (b"cenc", b"cbcs", b"cens", b"cbc1")
_MATROSKA_CLUSTER = b"\x1f\x43\xb6\x75"
# ContentEncAlgo (0x47E1) of one byte, the encryption element of a Matroska track.
_MATROSKA_ENCRYPTION = b"\x47\xe1\x81"


def is_encrypted(data: bytes, family: str) -> bool:
    """True when the container marks its tracks as encrypted (Common Encryption, FairPlay, WebM's AES)."""
    if family == "WEBM":
        header_end = data.find(_MATROSKA_CLUSTER)
        return _MATROSKA_ENCRYPTION in data[: header_end if header_end > 0 else 1 << 16]
    for kind, payload, end in _boxes(data, 0, len(data)):
        if kind == b"moov":
            movie = data[payload:end]
            if any(entry in movie for entry in _DRM_ENTRIES):
                return True
            at = movie.find(b"schm")
            return at >= 0 and movie[at + 8:at + 12] in _DRM_SCHEMES
    return False


def _looks_like_media(data: bytes, family: str) -> bool:
    if family == "WEBM":
        return b"\x18\x53\x80\x67" in data[:4096]  # a Segment: a Matroska file, if a damaged one
    return any(kind in (b"moov", b"mdat") for kind, _, _ in _boxes(data, 0, len(data)))


def open_video(data: bytes) -> av.container.InputContainer:
    """Open the bytes as a container through a file-like object; IntakeError if FFmpeg cannot."""
    family = sniff_video(data)
    if family is None:
        raise IntakeError("not_an_image")
    if is_encrypted(data, family):
        raise IntakeError("video_encrypted")
    try:
        container = av.open(io.BytesIO(data), mode="r", metadata_errors="ignore")
    except av.error.FFmpegError:
        raise IntakeError("video_corrupt" if _looks_like_media(data, family) else "not_a_video") from None
    if container.format.name not in ALLOWED_CONTAINERS:
        container.close()
        raise IntakeError("not_a_video")
    return container


def video_stream(container: av.container.InputContainer) -> Any:
    """The main video stream: the largest one that is not a cover picture; IntakeError if there is none."""
    streams = [s for s in container.streams.video if not (s.disposition & av.stream.Disposition.attached_pic)]
    if not streams:
        raise IntakeError("no_video_stream")
    return max(streams, key=lambda s: (s.codec_context.width or 0) * (s.codec_context.height or 0))


def check_video(data: bytes, container: Any, stream: Any, limits: IntakeLimits) -> VideoFacts:
    """Refuse by what the container declares, before decoding: codec, picture size, length."""
    codec = stream.codec_context.codec.canonical_name
    if codec not in ALLOWED_CODECS:
        raise IntakeError("unsupported_codec")
    width, height = stream.codec_context.width, stream.codec_context.height
    if not width or not height:
        raise IntakeError("video_corrupt")
    if width * height * 3 // 2 * _DECODER_PICTURES > limits.max_decoded_bytes:
        raise IntakeError("video_too_big")
    duration = _declared_duration(container, stream)
    if duration is not None and duration > limits.max_video_seconds:
        raise IntakeError("video_too_long")
    family = ALLOWED_CONTAINERS[container.format.name]
    return VideoFacts(_format_name(data, family), codec, width, height, duration, 0)


def _declared_duration(container: Any, stream: Any) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def _open_decoder(stream: Any) -> None:
    # One thread: the pool's processes are the parallelism (and the chat's CPU share is kept).
    stream.thread_type = "SLICE"
    stream.thread_count = 1
    try:
        stream.codec_context.open()
    except av.error.FFmpegError:
        raise IntakeError("unsupported_codec") from None


def _rotated(array: np.ndarray, rotation: int) -> np.ndarray:
    """Turn a frame as its display matrix says it is shown (PyAV gives degrees counter-clockwise)."""
    turns = (round(rotation / 90) % 4) if rotation else 0
    return np.rot90(array, turns) if turns else array


def hash_frame(frame: Any) -> tuple[str, int, tuple[int, int]]:
    """PDQ and quality of one decoded frame as shown (rotation applied); also its shown size."""
    pdq = REGISTRY["pdq"]
    width, height = frame.width, frame.height
    rotation = int(getattr(frame, "rotation", 0) or 0)
    scale = reduction_for(width, height)
    if scale == 1:
        pixels = _rotated(frame.to_ndarray(format="rgb24"), rotation)
        digest = pdq.hash_from_image(Image.fromarray(np.ascontiguousarray(pixels)))  # type: ignore[attr-defined]
    else:
        small = frame.reformat(width=-(-width // scale), height=-(-height // scale), format="gray",
                               interpolation="AREA").to_ndarray()
        luma = np.ascontiguousarray(_rotated(small, rotation))
        shown = (height, width) if luma.shape[0] != small.shape[0] else (width, height)
        digest = pdq.hash_from_reduced_luma(luma, shown, scale)  # type: ignore[attr-defined]
    turned = round(rotation / 90) % 2 == 1 if rotation else False
    return digest.hash, digest.quality, ((height, width) if turned else (width, height))


def sample_frames(container: Any, stream: Any, interval: float, max_seconds: float) -> Iterator[tuple[int, Any]]:
    """(decoded index, frame) for the first frame shown in each `interval` of the video (vPDQ's sampling).

    Before a packet is decoded its presentation time is known: a frame that is not the first of its
    interval is marked skippable, and the decoder skips it if no other frame is built from it (B-frames
    in most encoders' output), which is about 40% of the work on x264's defaults. A frame the decoder
    must decode anyway is simply not converted.
    """
    time_base = stream.time_base
    frame_seconds = 1.0 / float(stream.average_rate) if stream.average_rate else interval / 2
    context = stream.codec_context
    taken: set[int] = set()
    decoded = 0
    for packet in container.demux(stream):
        if packet.pts is not None and time_base is not None:
            at = float(packet.pts * time_base)
            bucket = math.floor(at / interval + 1e-9)
            context.skip_frame = "DEFAULT" if at - bucket * interval < frame_seconds * 0.999 else "NONREF"
        try:
            frames = packet.decode()
        except av.error.FFmpegError:
            # A damaged packet: FFmpeg conceals what it can in the frames that follow.
            continue
        for frame in frames:
            decoded += 1
            at = frame.time if frame.time is not None else decoded * frame_seconds
            if at > max_seconds + interval:
                raise IntakeError("video_too_long")
            bucket = math.floor(max(0.0, at) / interval + 1e-9)
            if bucket not in taken:
                taken.add(bucket)
                yield decoded - 1, frame


def check_and_hash_video(data: bytes, limits: IntakeLimits) -> ImageHashes:
    """Refuse a video Haven will not take; hash the one it does: file digests and vPDQ frames."""
    container = open_video(data)
    try:
        stream = video_stream(container)
        facts = check_video(data, container, stream, limits)
        _open_decoder(stream)
        found: list[Frame] = []
        shown = (facts.width, facts.height)
        last = 0.0
        try:
            for index, frame in sample_frames(container, stream, limits.frame_interval, limits.max_video_seconds):
                pdq, quality, shown = hash_frame(frame)
                last = float(frame.time or 0.0)
                found.append(Frame(round(max(0.0, last), 3), pdq, quality, index))
        except (av.error.FFmpegError, ValueError):
            if not found:
                raise IntakeError("video_corrupt") from None
        except MemoryError:
            raise IntakeError("video_too_big") from None
        if not found:
            raise IntakeError("video_corrupt")
        if facts.duration is not None and last + 2 * limits.frame_interval + 2.0 < facts.duration * 0.9:
            # Frames stop well before the declared end: the file did not all arrive.
            raise IntakeError("video_corrupt")
        sampled = len(found)
        frames = tuple(_VPDQ.prune(found))
    finally:
        container.close()
    duration = facts.duration if facts.duration is not None else last
    return ImageHashes(**_file_hashes(data), pdq=None, pdq_quality=None, media="video", format=facts.format,
                       width=shown[0], height=shown[1], frames=sampled, duration=round(duration, 3),
                       codec=facts.codec, frame_hashes=frames)


def frames_at(data: bytes, timestamps: Sequence[float]) -> list[np.ndarray]:
    """The frames shown at these timestamps (seconds), as RGB arrays turned as shown, for review.

    Each is found by seeking to the key frame before it and decoding forward, so a contact sheet of a
    ten-minute video costs a few groups of pictures per tile, not the whole video.
    """
    container = open_video(data)
    try:
        stream = video_stream(container)
        _open_decoder(stream)
        time_base = stream.time_base
        out: list[np.ndarray] = []
        for wanted in timestamps:
            container.seek(int(max(0.0, wanted) / time_base), stream=stream, backward=True, any_frame=False)
            context = stream.codec_context
            context.flush_buffers()
            picture = None
            for frame in container.decode(stream):
                picture = frame
                if frame.time is not None and frame.time >= wanted - 1e-3:
                    break
            if picture is None:
                raise IntakeError("video_corrupt")
            rotation = int(getattr(picture, "rotation", 0) or 0)
            out.append(np.ascontiguousarray(_rotated(picture.to_ndarray(format="rgb24"), rotation)))
        return out
    finally:
        container.close()


VIDEO_DECODERS = available_decoders()
