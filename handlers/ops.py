"""Operations endpoints: health for load balancers, metrics for Prometheus; the audit key at start-up."""

from __future__ import annotations

import asyncio
import hmac
import logging
from pathlib import Path
from typing import AsyncIterator, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from bot.audit import attach_key
from bot.db import Database
from bot.errors import NotFound, Unauthorized
from bot.images.vault import VaultError, load_or_create_key
from handlers.metrics import Metrics

log = logging.getLogger(__name__)


def audit_key_context(db: Database, key_file: Path, *, create: bool) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup_ctx that signs the audit log's entries with the key in `key_file` (created in development)."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        if not create and not key_file.is_file():
            raise VaultError(f"the audit key file {key_file} does not exist")
        attach_key(db, await asyncio.to_thread(load_or_create_key, key_file, "audit key"))
        yield

    return ctx


class OpsHandlers:
    def __init__(self, db: Database, metrics: Metrics, metrics_token: str = "") -> None:
        self.db = db
        self.metrics = metrics
        self.metrics_token = metrics_token

    async def healthz(self, request: web.Request) -> web.Response:
        try:
            async with self.db.read() as session:
                await session.execute(text("SELECT 1"))
        except Exception as exc:  # any database failure means "not healthy"
            log.warning("health check: database unavailable (%s)", type(exc).__name__)
            return web.json_response({"ok": False, "database": "unavailable"}, status=503)
        return web.json_response({"ok": True, "database": "ok"}, headers={"Cache-Control": "no-store"})

    async def metrics_page(self, request: web.Request) -> web.Response:
        """Prometheus figures, for the bearer of HAVEN_METRICS_TOKEN only (they describe children waiting)."""
        if not self.metrics_token:
            raise NotFound("metrics_off", "Metrics are switched off here: set HAVEN_METRICS_TOKEN to serve them.")
        scheme, _, sent = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(sent.strip().encode(), self.metrics_token.encode()):
            raise Unauthorized("metrics_token", "Send the metrics token as 'Authorization: Bearer <token>'.")
        return web.Response(body=self.metrics.render(),
                            headers={"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"})

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/metrics", self.metrics_page)
