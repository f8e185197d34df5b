"""POST /upload/{token}: images and videos streamed into memory under byte caps, hashed in the pool, sealed in the vault."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any, AsyncIterator, Callable

from aiohttp import BodyPartReader, web

from bot.errors import HavenError, Invalid
from bot.images.intake import sniff_media
from bot.images.pool import HashingPool, memory_cap_for
from bot.images.vault import Vault, VaultError, load_or_create_master_key
from bot.ratelimits import RateLimits
from bot.reports import (
    ReportService,
    TooLarge,
    UploadLimits,
    UploadTicket,
    file_too_large,
    report_full,
    too_many_files,
    video_too_large,
)
from dialogs.engine import DialogEngine
from handlers.common import require

log = logging.getLogger(__name__)

CHUNK = 64 * 1024
# Multipart boundaries and part headers: generous, so a legal request is never refused for them.
OVERHEAD_PER_FILE = 16 * 1024
HASH_TIMEOUT_S = 30.0
# A ten-minute phone video is decoded in about a minute on one worker (bench/hashing.py); the limit
# leaves room for a slow machine without letting a hostile file hold a worker for ever.
VIDEO_TIMEOUT_S = 300.0
MAX_FIELDS = 8
# Enough of a file's start to tell a picture from a video (and so which cap applies).
SNIFF_BYTES = 64


def _too_big(limits: UploadLimits, ticket: UploadTicket, media: str) -> TooLarge:
    cap = limits.max_bytes_for(media)
    if ticket.bytes_left < cap:
        return report_full(limits.max_report_bytes)
    return video_too_large(cap) if media == "video" else file_too_large(cap)


async def _read_capped(part: BodyPartReader, limits: UploadLimits, ticket: UploadTicket) -> bytes:
    """Read one part into memory, giving up (without reading on) as soon as it passes its cap.

    The cap is the video one for a file that starts like a video, the picture one otherwise, and never
    more than the report has room for.
    """
    buffer = bytearray()
    cap: int | None = None
    media = "image"
    while True:
        chunk = await part.read_chunk(CHUNK)
        if not chunk:
            return bytes(buffer)
        buffer += chunk
        if cap is None and len(buffer) >= SNIFF_BYTES:
            media = sniff_media(bytes(buffer[:SNIFF_BYTES]))
            cap = ticket.max_bytes_for_next(limits, media)
        if len(buffer) > (cap if cap is not None else ticket.max_bytes_for_next(limits, "video")):
            raise _too_big(limits, ticket, media)


def _error(exc: HavenError) -> dict[str, Any]:
    return {"ok": False, "error": exc.as_dict()}


class UploadHandlers:
    """The upload edge. A child's image goes to the hashing pool and the vault and nowhere else."""

    def __init__(self, reports: ReportService, engine: DialogEngine, *, rate_limits: RateLimits | None = None,
                 uploads_per_minute: int = 0) -> None:
        self.reports = reports
        self.engine = engine
        self.rate_limits = rate_limits
        self.uploads_per_minute = uploads_per_minute

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/upload/{token}", self.upload)

    async def upload(self, request: web.Request) -> web.Response:
        who = require(request, "child")
        if self.rate_limits is not None and self.uploads_per_minute:
            # Counted in the database per child (every process shares it), before the one-time address is
            # spent: a refused request leaves the child's address usable for a retry.
            await self.rate_limits.do_hit(
                f"upload:{who.user_id}", self.uploads_per_minute, timedelta(minutes=1), code="rate_limited",
                message="You're sending images very fast. Please wait {wait} seconds and try again.")
        ticket = await self.reports.do_spend_link(request.match_info["token"], who.user_id)
        limits = self.reports.limits
        if ticket.files_left <= 0:
            raise too_many_files(limits.max_files)
        if ticket.bytes_left <= 0:
            raise report_full(limits.max_report_bytes)
        if not request.content_type.startswith("multipart/"):
            raise Invalid("bad_upload", "Please choose your images with the \"Choose images\" button.")
        largest = max(limits.max_file_bytes, limits.max_video_bytes)
        too_big = (video_too_large(largest) if ticket.bytes_left >= largest else report_full(limits.max_report_bytes))
        room = min(ticket.files_left * largest, ticket.bytes_left)
        if request.content_length is not None and request.content_length > room + OVERHEAD_PER_FILE * ticket.files_left:
            # Refused from the header alone: nothing of the body is read.
            raise too_big

        results: list[dict[str, Any]] = []
        statuses: list[int] = []
        stopped: TooLarge | None = None
        reader = await request.multipart()
        fields = 0
        while True:
            part = await reader.next()
            if part is None:
                break
            fields += 1
            if not isinstance(part, BodyPartReader) or part.name != "file" or fields > MAX_FIELDS + limits.max_files:
                if fields > MAX_FIELDS + limits.max_files:
                    stopped = too_many_files(limits.max_files)
                    break
                await part.release()
                continue
            if ticket.files_left <= 0:
                stopped = too_many_files(limits.max_files)
                break
            try:
                data = await _read_capped(part, limits, ticket)
            except TooLarge as exc:
                # The rest of the body is not read: the connection is closed after the answer.
                stopped = exc
                break
            result, status, ticket = await self._take(ticket, data)
            del data
            results.append({"index": len(results), **result})
            statuses.append(status)

        if stopped is not None:
            results.append({"index": len(results), **_error(stopped)})
            return self._reply(results, stopped.status, stopped)
        if not results:
            raise Invalid("no_file", "No image arrived. Please choose an image and try again.")
        if any(status == 200 for status in statuses):
            return self._reply(results, 200, None)
        first = next(r for r in results if not r["ok"])
        return self._reply(results, statuses[0], first["error"])

    async def _take(self, ticket: UploadTicket, data: bytes) -> tuple[dict[str, Any], int, UploadTicket]:
        """Store one file; each refusal is its own result and loses nothing stored before it."""
        try:
            received = await self.reports.do_add_image(ticket, data)
        except HavenError as exc:
            log.info("upload refused: %s", exc.code)
            return _error(exc), exc.status, ticket
        if not received.duplicate:
            ticket = replace(ticket, bytes_left=ticket.bytes_left - len(data), files_left=ticket.files_left - 1)
            # The bot confirms in the chat, so every tab and the counsellor see the count.
            await self.engine.fire(ticket.conversation_id, "image_received")
        result = received.as_dict()
        if received.duplicate:
            result["message"] = ("You've already sent this video, so we've counted it once." if received.media == "video"
                                 else "You've already sent this image, so we've counted it once.")
        elif received.media == "video":
            result["message"] = "Got it. Our team will look at the video, without its sound."
        elif received.animated and received.frames_hashed < received.frames:
            result["message"] = (f"Got it. It's a moving picture with a lot of frames, so our team will look at the "
                                 f"first {received.frames_hashed} of its {received.frames} frames.")
        elif received.animated:
            result["message"] = "Got it. It's a moving picture, so our team will look at all of it."
        else:
            result["message"] = "Got it."
        return result, 200, ticket

    def _reply(self, results: list[dict[str, Any]], status: int, error: Any) -> web.Response:
        body: dict[str, Any] = {"ok": status == 200, "results": results,
                                "received": max((r.get("received", 0) for r in results), default=0)}
        if error is not None and status != 200:
            body["error"] = error.as_dict() if isinstance(error, HavenError) else error
        return web.json_response(body, status=status, headers={"Cache-Control": "no-store"})


def uploads_context(
    reports: ReportService,
    *,
    workers: int,
    master_key_file: Path,
    create_master_key: bool,
    vault_dir: Path,
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup_ctx that starts the hashing pool and opens the vault, and sweeps leftovers from a crash."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        if create_master_key:
            master_key_file.parent.mkdir(parents=True, exist_ok=True)
            key = await asyncio.to_thread(load_or_create_master_key, master_key_file)
        else:
            if not master_key_file.is_file():
                raise VaultError(f"the master key file {master_key_file} does not exist")
            key = await asyncio.to_thread(load_or_create_master_key, master_key_file)
        vault = Vault(key, vault_dir)
        pool = HashingPool(workers=workers, timeout_s=HASH_TIMEOUT_S, video_timeout_s=VIDEO_TIMEOUT_S,
                           memory_bytes=memory_cap_for(reports.limits.intake()))
        reports.attach(pool, vault)
        # The workers start while the server comes up, so the first upload does not wait for them.
        starting = asyncio.create_task(pool.start())
        removed = await reports.do_sweep_vault(vault_dir)
        if removed:
            log.info("removed %d vault file(s) left without an image row", removed)
        try:
            yield
        finally:
            starting.cancel()
            pool.close()

    return context
