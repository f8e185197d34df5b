"""What every namespace shares: sign-in from the session cookie, safe event handling, rate limits."""

from __future__ import annotations

import functools
import logging
import time
from collections import deque
from typing import Any, Awaitable, Callable

import socketio
from socketio.exceptions import ConnectionRefusedError as Refused

from bot.accounts import Accounts, Identity, session_key
from bot.errors import HavenError, Invalid, TooMany
from handlers.common import session_token_of
from handlers.metrics import Metrics

log = logging.getLogger(__name__)

Handler = Callable[..., Awaitable[Any]]
# How often a socket that keeps sending tells the accounts its session is in use.
ACTIVITY_EVERY_S = 60.0


def session_token(environ: dict[str, Any]) -> str | None:
    """The session cookie of the request that opened the socket (its name depends on TLS: handlers.common)."""
    request = environ.get("aiohttp.request")
    return session_token_of(request) if request is not None else None


def guarded(handler: Handler) -> Handler:
    """Turn errors into `{"ok": false, "error": ...}` acks; never log what the client sent."""

    @functools.wraps(handler)
    async def wrapper(self: "BaseNamespace", sid: str, *args: Any) -> Any:
        if len(args) > 1:
            # Every event takes one payload; more arguments are a malformed client, not a server error.
            return {"ok": False, "error": {"code": "bad_payload", "message": "That message was not in the right shape."}}
        try:
            return await handler(self, sid, *args)
        except HavenError as exc:
            return {"ok": False, "error": exc.as_dict()}
        except Exception:
            log.exception("event %s on %s failed", handler.__name__, self.namespace)
            return {"ok": False, "error": {"code": "server_error",
                                           "message": "Something went wrong on our side. Please try again."}}

    return wrapper


def payload(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise Invalid("bad_payload", "That message was not in the right shape.")
    return data


def get_int(data: dict[str, Any], key: str, *, default: int | None = None, lo: int = 0) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < lo or value > 2**53:
        raise Invalid("bad_payload", f"'{key}' must be a whole number.")
    return value


def get_str(data: dict[str, Any], key: str, *, max_len: int, allow_empty: bool = False) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise Invalid("bad_payload", f"'{key}' must be text.")
    if not allow_empty and not value.strip():
        raise Invalid("empty", "Type a message first.")
    if len(value) > max_len:
        raise Invalid("too_long", f"That message is too long. Please keep it under {max_len} characters.")
    return value


class BaseNamespace(socketio.AsyncNamespace):
    """Namespaces are singletons: per-socket data lives in the socket.io session, ids only."""

    roles: tuple[str, ...] = ()

    def __init__(self, namespace: str, accounts: Accounts, metrics: Metrics, per_minute: int) -> None:
        super().__init__(namespace)
        self.accounts = accounts
        self.metrics = metrics
        self.per_minute = per_minute

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        token = session_token(environ)
        identity = await self.accounts.get_identity(token)
        if identity is None or token is None:
            raise Refused("not_signed_in")
        if identity.role not in self.roles:
            raise Refused("wrong_role")
        await self.save_session(sid, {"user_id": identity.user_id, "role": identity.role,
                                      "username": identity.username, "session_key": session_key(token)})
        await self.enter_room(sid, f"user:{identity.user_id}")
        self.metrics.sockets.labels(self.namespace).inc()
        await self.connected(sid, identity)

    async def connected(self, sid: str, identity: Identity) -> None:
        """Hook for namespaces that join more rooms on connect."""

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        self.metrics.sockets.labels(self.namespace).dec()

    async def user_id(self, sid: str) -> int:
        session = await self.get_session(sid)
        return int(session["user_id"])

    async def check_rate(self, sid: str) -> None:
        """A sliding one-minute window per socket: enough for typing fast, not for flooding."""
        session = await self.get_session(sid)
        # The session dict lives in this process and is changed in place. The window is made on the first
        # message, so an idle socket does not carry one.
        sent: deque[float] = session.setdefault("sent", deque())
        now = time.monotonic()
        while sent and now - sent[0] >= 60.0:
            sent.popleft()
        if len(sent) >= self.per_minute:
            wait = int(60 - (now - sent[0])) + 1
            raise TooMany("rate_limited", f"You're sending messages very fast. Please wait {wait} seconds.",
                          retry_after=wait)
        sent.append(now)
        # Sending is activity: the sign-in (and a staff member's idle timeout) runs on from now.
        if now - session.get("touched", -ACTIVITY_EVERY_S) >= ACTIVITY_EVERY_S:
            session["touched"] = now
            await self.accounts.do_touch_session(session.get("session_key"))
