"""Helpers every HTTP handler shares: who is asking, JSON replies, cookie policy."""

from __future__ import annotations

import base64
import hmac
import secrets
from dataclasses import dataclass
from hashlib import sha256
from typing import Any, Awaitable, Callable

from aiohttp import web
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from bot.accounts import Identity
from bot.errors import Forbidden, HavenError, Invalid, Unauthorized

SESSION_COOKIE = "haven_session"
CSRF_COOKIE = "haven_csrf"
# Over TLS both cookies carry this prefix: the browser then accepts them only with Secure, Path=/ and no
# Domain, so neither a sibling subdomain nor a plain-HTTP attacker can plant one (session fixation).
HOST_PREFIX = "__Host-"
# Set by the identity middleware on every request that is not a static file.
IDENTITY: web.RequestKey[Identity | None] = web.RequestKey("identity", object)  # type: ignore[arg-type]
CSRF_TOKEN: web.RequestKey[str] = web.RequestKey("csrf_token", str)
# Set by the identity middleware on every request (sockets too): whether cookies here are Secure and prefixed.
SECURE_COOKIES: web.RequestKey[bool] = web.RequestKey("secure_cookies", bool)

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
        secure = self.is_secure(request)
        response.set_cookie(
            cookie_name(SESSION_COOKIE, secure), token, max_age=self.max_age, httponly=True, samesite="Lax",
            secure=secure, path="/",
        )

    def set_csrf(self, request: web.Request, response: web.StreamResponse, token: str) -> None:
        secure = self.is_secure(request)
        response.set_cookie(cookie_name(CSRF_COOKIE, secure), token, httponly=True, samesite="Strict",
                            secure=secure, path="/")

    def clear_session(self, request: web.Request, response: web.StreamResponse) -> None:
        secure = self.is_secure(request)
        response.del_cookie(cookie_name(SESSION_COOKIE, secure), path="/", secure=secure or None)


def cookie_name(base: str, secure: bool) -> str:
    return HOST_PREFIX + base if secure else base


def session_token_of(request: web.Request) -> str | None:
    """The session cookie under the name this request's scheme uses; over TLS an unprefixed one is ignored."""
    return request.cookies.get(cookie_name(SESSION_COOKIE, request.get(SECURE_COOKIES, request.secure)))


def csrf_cookie_of(request: web.Request) -> str | None:
    return request.cookies.get(cookie_name(CSRF_COOKIE, request.get(SECURE_COOKIES, request.secure)))


class CsrfTokens:
    """The token a browser without a session posts with: issued and signed by Haven, so a cookie someone
    planted (any value they chose) is not taken as one.

    The key is derived from the master key at start-up, so every server process accepts the others'
    tokens; until then (and in tests that build no vault) a random one serves this process.
    """

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)

    def attach_master_key(self, master_key: bytes) -> None:
        self._key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"haven csrf v1").derive(master_key)

    def issue(self) -> str:
        value = secrets.token_urlsafe(24)
        return f"{value}.{self._sign(value)}"

    def check(self, token: str | None) -> bool:
        if not token or len(token) > 100 or "." not in token:
            return False
        value, _, mac = token.partition(".")
        return hmac.compare_digest(mac.encode(), self._sign(value).encode())

    def _sign(self, value: str) -> str:
        digest = hmac.new(self._key, b"csrf:" + value.encode(), sha256).digest()[:16]
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")


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
