"""Helpers every HTTP handler shares: who is asking, JSON replies, cookie policy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from aiohttp import web

from bot.accounts import Identity
from bot.errors import Forbidden, HavenError, Invalid, Unauthorized

SESSION_COOKIE = "haven_session"
CSRF_COOKIE = "haven_csrf"
# Set by the identity middleware on every request that is not a static file.
IDENTITY: web.RequestKey[Identity | None] = web.RequestKey("identity", object)  # type: ignore[arg-type]
CSRF_TOKEN: web.RequestKey[str] = web.RequestKey("csrf_token", str)

Render = Callable[[web.Request, str, dict[str, Any]], Awaitable[web.Response]]


@dataclass(frozen=True)
class CookiePolicy:
    secure: str  # auto | always | never
    max_age: int

    def is_secure(self, request: web.Request) -> bool:
        if self.secure == "always":
            return True
        if self.secure == "never":
            return False
        # Behind a trusted proxy the forwarded middleware has already set the scheme from X-Forwarded-Proto.
        return request.secure

    def set_session(self, request: web.Request, response: web.StreamResponse, token: str) -> None:
        response.set_cookie(
            SESSION_COOKIE, token, max_age=self.max_age, httponly=True, samesite="Lax",
            secure=self.is_secure(request), path="/",
        )

    def clear_session(self, request: web.Request, response: web.StreamResponse) -> None:
        response.del_cookie(SESSION_COOKIE, path="/")


def identity_of(request: web.Request) -> Identity | None:
    return request.get(IDENTITY)


def csrf_of(request: web.Request) -> str:
    return request.get(CSRF_TOKEN, "")


def require(request: web.Request, *roles: str) -> Identity:
    who = identity_of(request)
    if who is None:
        raise Unauthorized("not_signed_in", "Please sign in first.")
    if who.role not in roles:
        raise Forbidden("forbidden", "You don't have access to this page.")
    return who


def ok(**data: Any) -> web.Response:
    return web.json_response({"ok": True, **data}, headers={"Cache-Control": "no-store"})


def error_response(exc: HavenError) -> web.Response:
    headers = {"Cache-Control": "no-store"}
    retry = getattr(exc, "retry_after", None)
    if retry:
        headers["Retry-After"] = str(retry)
    return web.json_response({"ok": False, "error": exc.as_dict()}, status=exc.status, headers=headers)


async def read_credentials(request: web.Request) -> tuple[str, str]:
    """Username and password from JSON or a form; never logged."""
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise Invalid("bad_payload", "We couldn't read that. Please try again.")
        if not isinstance(body, dict):
            raise Invalid("bad_payload", "We couldn't read that. Please try again.")
    else:
        body = dict(await request.post())
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not isinstance(password, str) or not username.strip() or not password:
        raise Invalid("missing_fields", "Please fill in your username and password.")
    return username, password


def client_address(request: web.Request) -> str:
    return request.remote or "unknown"
