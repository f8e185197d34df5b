"""POST /upload/{token}: images streamed into memory under byte caps, hashed in the pool, sealed in the vault."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any, AsyncIterator, Callable

from aiohttp import BodyPartReader, web

from bot.errors import HavenError, Invalid
from bot.images.pool import HashingPool
from bot.images.vault import Vault, VaultError, load_or_create_master_key
from bot.ratelimits import RateLimits
from bot.reports import ReportService, TooLarge, UploadTicket, file_too_large, report_full, too_many_files
from dialogs.engine import DialogEngine
from handlers.common import require

log = logging.getLogger(__name__)

CHUNK = 64 * 1024
# Multipart boundaries and part headers: generous, so a legal request is never refused for them.
OVERHEAD_PER_FILE = 16 * 1024
HASH_TIMEOUT_S = 30.0
MAX_FIELDS = 8


async def _read_capped(part: BodyPartReader, cap: int, too_big: TooLarge) -> bytes:
    """Read one part into memory, giving up (without reading on) as soon as it passes `cap` bytes."""
    buffer = bytearray()
    while True:
        chunk = await part.read_chunk(CHUNK)
        if not chunk:
            return bytes(buffer)
        if len(buffer) + len(chunk) > cap:
            raise too_big
        buffer += chunk


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
        too_big = (file_too_large(limits.max_file_bytes) if ticket.bytes_left >= limits.max_file_bytes
                   else report_full(limits.max_report_bytes))
        room = min(ticket.files_left * limits.max_file_bytes, ticket.bytes_left)
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
            too_big = (file_too_large(limits.max_file_bytes) if ticket.bytes_left >= limits.max_file_bytes
                       else report_full(limits.max_report_bytes))
            try:
                data = await _read_capped(part, ticket.max_bytes_for_next(limits), too_big)
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
            result["message"] = "You've already sent this image, so we've counted it once."
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
        pool = HashingPool(workers=workers, timeout_s=HASH_TIMEOUT_S)
        reports.attach(pool, vault)
        removed = await reports.do_sweep_vault(vault_dir)
        if removed:
            log.info("removed %d vault file(s) left without an image row", removed)
        try:
            yield
        finally:
            pool.close()

    return context
