"""Sign-up, sign-in and sign-out for children (JSON, from the widget) and staff (pages and forms)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, AsyncIterator, Callable
from urllib.parse import urlencode, urlsplit

from aiohttp import web

from bot.accounts import Accounts, session_key
from bot.errors import HavenError, Unauthorized
from bot.images.vault import VaultError, load_or_create_master_key
from bot.totp import SecretBox
from bot.models.accounts import STAFF_ROLES
from handlers.metrics import Metrics
from handlers.common import (
    CookiePolicy,
    CsrfTokens,
    Render,
    client_address,
    csrf_of,
    error_response,
    identity_of,
    ok,
    read_credentials,
    session_token_of,
)

STAFF_HOME = {"counsellor": "/console", "supervisor": "/supervisor", "analyst": "/review", "admin": "/console"}


def two_factor_context(accounts: Accounts, master_key_file: Path, *, create: bool, csrf: CsrfTokens | None = None
                       ) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup_ctx that seals two-factor secrets, and signs anonymous CSRF tokens, with keys derived
    from the vault's master key."""

    async def ctx(app: web.Application) -> AsyncIterator[None]:
        if not create and not master_key_file.is_file():
            raise VaultError(f"the master key file {master_key_file} does not exist")
        key = await asyncio.to_thread(load_or_create_master_key, master_key_file)
        accounts.attach_secret_box(SecretBox(key))
        if csrf is not None:
            csrf.attach_master_key(key)
        yield

    return ctx


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
        # Staff with two-factor sign-in get a half-session that only the code step accepts.
        stage = self.accounts.sign_in_stage(user)
        new = await self.accounts.do_start_session(user, session_token_of(request), stage=stage)
        if stage == "enrol":
            # The secret is made once for this sign-in, so the enrolment page shows the same one on reload.
            await self.accounts.do_begin_enrolment(user.id, session_key(new.token))
        if stage == "full":
            response = ok(user={"username": user.username, "role": user.role}, csrf_token=new.csrf_token)
        else:
            # A half-session is not an identity: the browser keeps using its anonymous CSRF token.
            response = ok(user=None, next_step=stage, csrf_token=csrf_of(request))
        self.cookies.set_session(request, response, new.token)
        return response, {"token": new.token, "role": user.role, "stage": stage}

    async def register(self, request: web.Request) -> web.Response:
        username, password = await read_credentials(request)
        user = await self.accounts.do_register_child(username, password, client_address(request))
        new = await self.accounts.do_start_session(user, session_token_of(request))
        response = ok(user={"username": user.username, "role": user.role}, csrf_token=new.csrf_token)
        self.cookies.set_session(request, response, new.token)
        return response

    async def login(self, request: web.Request) -> web.Response:
        response, _ = await self._sign_in(request, ("child",))
        return response

    async def logout(self, request: web.Request) -> web.Response:
        who = identity_of(request)
        await self.accounts.do_end_session(session_token_of(request))
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
        if info["stage"] != "full":
            path = "/staff/totp" if info["stage"] == "totp" else "/staff/totp/enrol"
            target = f"{path}?{urlencode({'next': target})}"
        redirect = web.HTTPSeeOther(target)
        self.cookies.set_session(request, redirect, info["token"])
        return redirect

    # Two-factor: the code after the password, and enrolment for roles that must have it ---------

    async def _code_page(self, request: web.Request, stage: str, error: str | None = None,
                         status: int = 200) -> web.Response:
        token = session_token_of(request)
        user = await self.accounts.get_pending(token, stage)
        if user is None or token is None:
            raise web.HTTPSeeOther("/staff/login")
        context: dict[str, Any] = {"next": request.query.get("next", ""), "error": error, "step": stage,
                                   "secret": None, "uri": None}
        if stage == "enrol":
            # A GET shows this sign-in's secret; only when another sign-in replaced it is a new one made.
            sign_in = session_key(token)
            enrolment = (await self.accounts.get_enrolment(user.id, sign_in)
                         or await self.accounts.do_begin_enrolment(user.id, sign_in))
            context.update(secret=enrolment.secret, uri=enrolment.uri)
        page = await self.render(request, "staff_login.html", context)
        page.set_status(status)
        return page

    async def totp_page(self, request: web.Request) -> web.Response:
        return await self._code_page(request, "totp")

    async def enrol_page(self, request: web.Request) -> web.Response:
        return await self._code_page(request, "enrol")

    async def _finish_code(self, request: web.Request, stage: str) -> web.Response:
        wants_json = request.content_type == "application/json"
        token = session_token_of(request)
        user = await self.accounts.get_pending(token, stage)
        if wants_json:
            try:
                body = await request.json()
            except ValueError:
                body = None
            fields = body if isinstance(body, dict) else {}
        else:
            fields = dict(await request.post())
        try:
            if user is None:
                raise Unauthorized("sign_in_again", "That took too long. Please sign in again.")
            user = await self.accounts.do_verify_totp(user.id, fields.get("code"), client_address(request),
                                                      confirm=stage == "enrol", sign_in=session_key(token or ""))
        except HavenError as exc:
            self.metrics.sign_ins.labels(exc.code).inc()
            if wants_json:
                return error_response(exc)
            if user is None or exc.code == "sign_in_again":
                raise web.HTTPSeeOther("/staff/login")
            # A wrong code on the enrolment page keeps the same secret: the person already scanned it.
            page = await self.render(request, "staff_login.html", {
                "next": str(fields.get("next", "")), "error": exc.message, "step": stage, "secret": None,
                "uri": None})
            page.set_status(exc.status)
            return page
        self.metrics.sign_ins.labels("ok").inc()
        new = await self.accounts.do_start_session(user, token)
        if wants_json:
            response: web.Response = ok(user={"username": user.username, "role": user.role},
                                        csrf_token=new.csrf_token)
        else:
            response = web.HTTPSeeOther(_safe_next(str(fields.get("next", "")), STAFF_HOME[user.role]))
        self.cookies.set_session(request, response, new.token)
        return response

    async def totp_finish(self, request: web.Request) -> web.Response:
        return await self._finish_code(request, "totp")

    async def enrol_finish(self, request: web.Request) -> web.Response:
        return await self._finish_code(request, "enrol")

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/auth/register", self.register)
        app.router.add_post("/auth/login", self.login)
        app.router.add_post("/auth/logout", self.logout)
        app.router.add_get("/auth/me", self.me)
        app.router.add_get("/staff/login", self.staff_login_page)
        app.router.add_post("/staff/login", self.staff_login)
        app.router.add_get("/staff/totp", self.totp_page)
        app.router.add_post("/staff/totp", self.totp_finish)
        app.router.add_get("/staff/totp/enrol", self.enrol_page)
        app.router.add_post("/staff/totp/enrol", self.enrol_finish)
