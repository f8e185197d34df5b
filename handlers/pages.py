"""Pages: the demo host site, the chat widget, and the staff consoles behind sign-in."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from handlers.common import Render, identity_of

# Vendor files come from node_modules (installed by npm at set-up), served under /static/vendor/.
VENDOR_FILES = {
    "socket.io.min.js": "socket.io-client/dist/socket.io.min.js",
    "chart.umd.min.js": "chart.js/dist/chart.umd.min.js",
    # hash-wasm, one algorithm a file, for the picture fingerprint worker (web/static/chat/fingerprint/).
    "hash-wasm-md5.umd.min.js": "hash-wasm/dist/md5.umd.min.js",
    "hash-wasm-sha1.umd.min.js": "hash-wasm/dist/sha1.umd.min.js",
    "hash-wasm-sha256.umd.min.js": "hash-wasm/dist/sha256.umd.min.js",
}

STAFF_PAGES = {
    "/console": ("console.html", ("counsellor", "admin")),
    "/supervisor": ("supervisor.html", ("supervisor",)),
    "/review": ("review.html", ("analyst",)),
}


class PageHandlers:
    def __init__(self, render: Render, node_modules: Path, quick_exit_url: str) -> None:
        self.render = render
        self.node_modules = node_modules
        self.quick_exit_url = quick_exit_url

    async def host(self, request: web.Request) -> web.Response:
        return await self.render(request, "host.html", {})

    async def chat(self, request: web.Request) -> web.Response:
        who = identity_of(request)
        user = {"username": who.username} if who is not None and who.role == "child" else None
        return await self.render(request, "chat.html", {"user": user, "quick_exit_url": self.quick_exit_url})

    async def neutral(self, request: web.Request) -> web.Response:
        return await self.render(request, "neutral.html", {})

    def staff_page(self, template: str, roles: tuple[str, ...]):  # type: ignore[no-untyped-def]
        async def page(request: web.Request) -> web.Response:
            who = identity_of(request)
            if who is None:
                raise web.HTTPSeeOther(f"/staff/login?next={request.path}")
            if who.role not in roles:
                response = await self.render(request, "forbidden.html", {"who": who})
                response.set_status(403)
                return response
            return await self.render(request, template, {"who": who})

        return page

    async def vendor(self, request: web.Request) -> web.StreamResponse:
        relative = VENDOR_FILES.get(request.match_info["name"])
        path = self.node_modules / relative if relative else None
        if path is None or not path.is_file():
            raise web.HTTPNotFound(text="not installed: run the set-up command (npm ci)")
        return web.FileResponse(path, headers={"Cache-Control": "public, max-age=86400"})

    def add_routes(self, app: web.Application, static_dir: Path) -> None:
        app.router.add_get("/", self.host)
        app.router.add_get("/chat", self.chat)
        app.router.add_get("/neutral", self.neutral)
        for path, (template, roles) in STAFF_PAGES.items():
            app.router.add_get(path, self.staff_page(template, roles))
        app.router.add_get("/static/vendor/{name}", self.vendor)
        app.router.add_static("/static/", static_dir, append_version=False)
