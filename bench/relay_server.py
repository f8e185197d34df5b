"""A bare python-socketio relay (aiohttp): the baseline bench.chat_load measures Haven against, on the same machine.

It stores nothing and checks nothing: a client joins a room, and whatever it says is emitted to the
others in that room. Run: .venv/bin/python -m bench.relay_server --port 8090
"""

from __future__ import annotations

import argparse
from typing import Any

import socketio
from aiohttp import web


def make_app() -> web.Application:
    sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins="*", logger=False, engineio_logger=False)

    @sio.on("join")
    async def join(sid: str, data: Any) -> dict[str, Any]:
        await sio.enter_room(sid, str(data["room"]))
        return {"ok": True}

    @sio.on("say")
    async def say(sid: str, data: Any) -> dict[str, Any]:
        await sio.emit("message", {"text": data["text"]}, room=str(data["room"]), skip_sid=sid)
        return {"ok": True}

    app = web.Application()

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app.router.add_get("/healthz", healthz)
    sio.attach(app)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    args = parser.parse_args()
    web.run_app(make_app(), host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
