"""Operations endpoints: health for load balancers, metrics for Prometheus."""

from __future__ import annotations

import logging

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from bot.db import Database
from handlers.metrics import Metrics

log = logging.getLogger(__name__)


class OpsHandlers:
    def __init__(self, db: Database, metrics: Metrics) -> None:
        self.db = db
        self.metrics = metrics

    async def healthz(self, request: web.Request) -> web.Response:
        try:
            async with self.db.read() as session:
                await session.execute(text("SELECT 1"))
        except Exception as exc:  # any database failure means "not healthy"
            log.warning("health check: database unavailable (%s)", type(exc).__name__)
            return web.json_response({"ok": False, "database": "unavailable"}, status=503)
        return web.json_response({"ok": True, "database": "ok"}, headers={"Cache-Control": "no-store"})

    async def metrics_page(self, request: web.Request) -> web.Response:
        return web.Response(body=self.metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/metrics", self.metrics_page)
