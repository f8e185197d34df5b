"""Sign-up, sign-in and sign-out for children (JSON, from the widget) and staff (pages and forms)."""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web

from bot.accounts import Accounts
from bot.errors import HavenError
from bot.models.accounts import STAFF_ROLES
from handlers.metrics import Metrics
from handlers.common import (
    SESSION_COOKIE,
    CookiePolicy,
    Render,
    client_address,
    csrf_of,
    error_response,
    identity_of,
    ok,
    read_credentials,
)

STAFF_HOME = {"counsellor": "/console", "supervisor": "/supervisor", "analyst": "/review", "admin": "/console"}


def _safe_next(target: str | None, default: str) -> str:
    # Only same-site paths: never let ?next= send someone to another site after sign-in.
    if not target or not target.startswith("/") or target.startswith("//") or urlsplit(target).netloc:
        return default
    return target


class AuthHandlers:
    def __init__(self, accounts: Accounts, cookies: CookiePolicy, render: Render, metrics: Metrics,
                 on_sign_out: object = None) -> None:
        self.accounts = accounts
        self.metrics = metrics
        self.cookies = cookies
        self.render = render
        self.on_sign_out = on_sign_out

    async def _sign_in(self, request: web.Request, roles: tuple[str, ...]) -> tuple[web.Response, dict[str, str]]:
        username, password = await read_credentials(request)
        try:
            user = await self.accounts.authenticate(username, password, client_address(request), roles)
        except HavenError as exc:
            self.metrics.sign_ins.labels(exc.code).inc()
            raise
        self.metrics.sign_ins.labels("ok").inc()
        new = await self.accounts.do_start_session(user, request.cookies.get(SESSION_COOKIE))
        response = ok(user={"username": user.username, "role": user.role}, csrf_token=new.csrf_token)
        self.cookies.set_session(request, response, new.token)
        return response, {"token": new.token, "role": user.role}

    async def register(self, request: web.Request) -> web.Response:
        username, password = await read_credentials(request)
        user = await self.accounts.do_create_user(username, password, "child")
        new = await self.accounts.do_start_session(user, request.cookies.get(SESSION_COOKIE))
        response = ok(user={"username": user.username, "role": user.role}, csrf_token=new.csrf_token)
        self.cookies.set_session(request, response, new.token)
        return response

    async def login(self, request: web.Request) -> web.Response:
        response, _ = await self._sign_in(request, ("child",))
        return response

    async def logout(self, request: web.Request) -> web.Response:
        who = identity_of(request)
        await self.accounts.do_end_session(request.cookies.get(SESSION_COOKIE))
        if who is not None and callable(self.on_sign_out):
            await self.on_sign_out(who.user_id)  # type: ignore[misc]
        if request.content_type == "application/json" or request.headers.get("Accept", "").startswith("application/json"):
            response: web.Response = ok()
        else:
            target = "/staff/login" if who is not None and who.role in STAFF_ROLES else "/chat"
            response = web.HTTPSeeOther(target)
        self.cookies.clear_session(request, response)
        return response

    async def me(self, request: web.Request) -> web.Response:
        who = identity_of(request)
        user = {"username": who.username, "role": who.role} if who else None
        return ok(user=user, csrf_token=csrf_of(request))

    async def staff_login_page(self, request: web.Request) -> web.Response:
        who = identity_of(request)
        if who is not None and who.role in STAFF_ROLES:
            raise web.HTTPSeeOther(_safe_next(request.query.get("next"), STAFF_HOME[who.role]))
        return await self.render(request, "staff_login.html", {"next": request.query.get("next", ""), "error": None})

    async def staff_login(self, request: web.Request) -> web.Response:
        wants_json = request.content_type == "application/json"
        try:
            response, info = await self._sign_in(request, STAFF_ROLES)
        except HavenError as exc:
            if wants_json:
                return error_response(exc)
            form = await request.post()
            page = await self.render(request, "staff_login.html", {"next": form.get("next", ""), "error": exc.message})
            page.set_status(exc.status)
            return page
        if wants_json:
            return response
        form = await request.post()
        target = _safe_next(str(form.get("next", "")), STAFF_HOME[info["role"]])
        redirect = web.HTTPSeeOther(target)
        self.cookies.set_session(request, redirect, info["token"])
        return redirect

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/auth/register", self.register)
        app.router.add_post("/auth/login", self.login)
        app.router.add_post("/auth/logout", self.logout)
        app.router.add_get("/auth/me", self.me)
        app.router.add_get("/staff/login", self.staff_login_page)
        app.router.add_post("/staff/login", self.staff_login)
