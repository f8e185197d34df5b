"""Middlewares: who is asking, CSRF and Origin checks, typed errors to HTTP, security headers."""

from __future__ import annotations

import hmac
import logging
import traceback
from typing import Awaitable, Callable

from aiohttp import web

from bot.accounts import Accounts
from bot.errors import Forbidden, HavenError, ServerError
from handlers.common import (
    CSRF_TOKEN,
    IDENTITY,
    SECURE_COOKIES,
    CookiePolicy,
    CsrfTokens,
    csrf_cookie_of,
    error_response,
    session_token_of,
)
from web.access import route_pattern

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
BACKGROUND_HEADER = "X-Haven-Background"


def forwarded_middleware(trusted_proxies: tuple[str, ...]) -> web.middleware:
    """Behind a trusted load balancer, take the client's address and scheme from its X-Forwarded-* headers.

    Anyone else could forge those headers, so from any other peer they are ignored.
    """
    trusted = frozenset(trusted_proxies)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.remote not in trusted:
            return await handler(request)
        changes: dict[str, str] = {}
        hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
        # The rightmost address that is not one of our own proxies is the one a proxy actually saw.
        client = next((hop for hop in reversed(hops) if hop not in trusted), None)
        if client:
            changes["remote"] = client
        proto = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
        if proto in ("http", "https"):
            changes["scheme"] = proto
        return await handler(request.clone(**changes) if changes else request)

    return middleware


SERVER_ERROR = "Something went wrong on our side. Please try again in a moment."
SERVER_ERROR_PAGE = (
    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Something went wrong</title></head>"
    "<body><main><h1>Something went wrong</h1><p>" + SERVER_ERROR + "</p></main></body></html>")


def errors_middleware() -> web.middleware:
    """Typed errors become their JSON answer; anything unexpected becomes Haven's own 500, not aiohttp's.

    The log line names the route and the exception's type and frames only: an exception's message can
    hold what the request sent (a database error quotes its statement).
    """

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except HavenError as exc:
            return error_response(exc)
        except web.HTTPException:
            raise
        except Exception as exc:
            frames = "".join(traceback.format_tb(exc.__traceback__))
            log.error("%s %s failed: %s\n%s", request.method, route_pattern(request), type(exc).__name__, frames)
            if "text/html" in request.headers.get("Accept", "") and not request.path.startswith("/api/"):
                return web.Response(text=SERVER_ERROR_PAGE, status=500, content_type="text/html",
                                    headers={"Cache-Control": "no-store"})
            return error_response(ServerError("server_error", SERVER_ERROR))

    return middleware


def identity_middleware(accounts: Accounts, cookies: CookiePolicy, csrf: CsrfTokens) -> web.middleware:
    """Resolve the session cookie, and make sure every browser has a CSRF token Haven issued before it posts."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        # Which cookie names this request uses (the socket namespaces read it too).
        request[SECURE_COOKIES] = cookies.is_secure(request)
        if request.path.startswith(("/static/", "/socket.io/", "/healthz", "/metrics")):
            return await handler(request)
        token = session_token_of(request)
        # A page polling in the background is not someone at the keyboard: it must not keep a session alive.
        identity = await accounts.get_identity(token, touch=BACKGROUND_HEADER not in request.headers)
        request[IDENTITY] = identity
        pre = csrf_cookie_of(request)
        fresh = None
        if identity is not None:
            request[CSRF_TOKEN] = identity.csrf_token
        else:
            if not csrf.check(pre):
                # Missing, or not one of ours (a cookie planted with a value someone knows): a new one.
                fresh = pre = csrf.issue()
            request[CSRF_TOKEN] = pre or ""
        response = await handler(request)
        if identity is not None and identity.renewed and token and not response.prepared:
            cookies.set_session(request, response, token)
        if fresh is not None and not response.prepared:
            cookies.set_csrf(request, response, fresh)
        return response

    return middleware


def csrf_middleware(allowed_origins: tuple[str, ...], exempt_prefixes: tuple[str, ...]) -> web.middleware:
    """State-changing requests must come from our own pages: right Origin and the page's token."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method in UNSAFE and not request.path.startswith(exempt_prefixes):
            origin = request.headers.get("Origin")
            own = f"{request.scheme}://{request.host}"
            if origin is not None and origin not in allowed_origins and origin != own:
                return error_response(Forbidden("bad_origin", "This request came from a site we don't trust."))
            expected = request.get(CSRF_TOKEN, "")
            sent = request.headers.get("X-CSRF-Token", "")
            # Plain forms carry the token as a field; multipart uploads must send the header, because
            # reading a large body here just to find the token would defeat the upload's streaming caps.
            if not sent and request.content_type == "application/x-www-form-urlencoded":
                form = await request.post()
                sent = str(form.get("csrf_token", ""))
            if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
                return error_response(Forbidden(
                    "csrf_failed", "This page has expired. Please refresh the page and try again."))
        return await handler(request)

    return middleware


def websocket_sources(origins: tuple[str, ...]) -> str:
    """ws:// or wss:// for each allowed origin: the socket may go to those hosts only (not any ws: host)."""
    return " ".join(("wss://" if o.startswith("https://") else "ws://") + o.split("://", 1)[1] for o in origins)


# A year: the browser then never tries plain HTTP for this host. Subdomains are left to their own owners.
HSTS = "max-age=31536000"
# Web Workers that run WebAssembly; pages and every other script still may not.
WASM_WORKERS = frozenset({"/static/chat/fingerprint/worker.js"})


def security_headers_middleware(frame_ancestors: tuple[str, ...], allowed_origins: tuple[str, ...] = (),
                                is_tls: Callable[[web.Request], bool] | None = None) -> web.middleware:
    ancestors = " ".join(frame_ancestors)
    connect = " ".join(part for part in ("'self'", websocket_sources(allowed_origins)) if part)
    base_csp = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
        f"connect-src {connect}; font-src 'self'; object-src 'none'; base-uri 'none'; "
        "form-action 'self'"
    )

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            response = exc
        # Only the chat widget may be framed, and only by the configured host sites.
        framing = ancestors if request.path == "/chat" else "'none'"
        csp = base_csp
        if request.path in WASM_WORKERS:
            # A worker's own response sets its policy: only it may compile WebAssembly (hash-wasm's MD5).
            csp = csp.replace("script-src 'self'", "script-src 'self' 'wasm-unsafe-eval'")
        response.headers.setdefault("Content-Security-Policy", f"{csp}; frame-ancestors {framing}")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        # same-origin: links out (Childline, CEOP) carry no referrer, while our own forms keep their Origin.
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if request.path != "/chat":
            response.headers.setdefault("X-Frame-Options", "DENY")
        if is_tls is not None and is_tls(request):
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        if isinstance(response, web.HTTPException) and response.status >= 300:
            raise response
        return response

    return middleware
