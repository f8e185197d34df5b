"""Supervisors' HTTP routes: the metrics behind the dashboard's charts, as JSON and as the same rows in CSV."""

from __future__ import annotations

from aiohttp import web

from bot.supervision import Period, Supervision, check_period
from handlers.common import ok, require


class SupervisorHandlers:
    def __init__(self, supervision: Supervision) -> None:
        self.supervision = supervision

    def _period(self, request: web.Request) -> Period:
        require(request, "supervisor")
        return check_period(request.query.get("from") or None, request.query.get("to") or None)

    async def metrics_json(self, request: web.Request) -> web.Response:
        """`?from=&to=` (ISO dates or times, UTC unless a zone is given; whole hours; default the last 24 h)."""
        report = await self.supervision.get_metrics(self._period(request))
        return ok(**report.as_dict())

    async def metrics_csv(self, request: web.Request) -> web.Response:
        period = self._period(request)
        report = await self.supervision.get_metrics(period)
        name = f"haven-metrics-{period.start:%Y%m%dT%H}-{period.end:%Y%m%dT%H}.csv"
        return web.Response(text=report.as_csv(), content_type="text/csv", charset="utf-8", headers={
            "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/supervisor/metrics.json", self.metrics_json)
        app.router.add_get("/supervisor/metrics.csv", self.metrics_csv)
