"""An access log of method, route pattern and status only: paths and query strings can carry tokens."""

from __future__ import annotations

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse


def route_pattern(request: BaseRequest) -> str:
    """The route's pattern (/upload/{token}), never the path itself; "(no route)" for unknown paths."""
    route = getattr(getattr(request, "match_info", None), "route", None)
    resource = getattr(route, "resource", None)
    return resource.canonical if resource is not None else "(no route)"


class QuietAccessLogger(AbstractAccessLogger):
    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        if request.path.startswith("/socket.io/"):
            return
        self.logger.info("%s %s %s %.1fms", request.method, route_pattern(request), response.status, time * 1000)
