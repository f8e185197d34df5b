"""An access log that records method, path and status only: query strings can carry tokens."""

from __future__ import annotations

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web import BaseRequest, StreamResponse


class QuietAccessLogger(AbstractAccessLogger):
    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        if request.path.startswith("/socket.io/"):
            return
        self.logger.info("%s %s %s %.1fms", request.method, request.path, response.status, time * 1000)
