"""POST /auth/delete-account (a child deletes their account) and the background retention sweep."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import AsyncIterator, Awaitable, Callable

from aiohttp import web

from bot.background import every
from bot.accounts import Accounts
from bot.errors import Invalid, Unauthorized
from bot.models.base import utcnow
from bot.retention import DataProtection
from handlers.common import CookiePolicy, client_address, ok, require

log = logging.getLogger(__name__)

SignOut = Callable[[int], Awaitable[None]]
# Retention runs this often; conversations expire in days, so once an hour is plenty.
SWEEP_SECONDS = 3600.0


class PrivacyHandlers:
    def __init__(self, accounts: Accounts, protection: DataProtection, cookies: CookiePolicy,
                 on_sign_out: SignOut | None = None) -> None:
        self.accounts = accounts
        self.protection = protection
        self.cookies = cookies
        self.on_sign_out = on_sign_out

    async def delete_account(self, request: web.Request) -> web.Response:
        """The child types their password again; then everything of theirs goes except published hashes."""
        who = require(request, "child")
        try:
            body = await request.json()
        except ValueError:
            body = None
        password = body.get("password") if isinstance(body, dict) else None
        if not isinstance(password, str) or not password:
            raise Invalid("missing_fields", "Please type your password to confirm.")
        try:
            # The same check (and back-off) as signing in, so this cannot be used to guess passwords.
            await self.accounts.authenticate(who.username, password, client_address(request), ("child",))
        except Unauthorized:
            raise Unauthorized("bad_password", "That password isn't right. Your account has not been deleted.")
        deleted = await self.protection.do_delete_child_account(who.user_id)
        log.info("a child deleted their account (%d conversations, %d images)", deleted.conversations,
                 deleted.images)
        if self.on_sign_out is not None:
            await self.on_sign_out(who.user_id)
        response = ok(deleted=deleted.as_dict())
        self.cookies.clear_session(request, response)
        return response

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/auth/delete-account", self.delete_account)


async def run_retention(protection: DataProtection, accounts: Accounts, retention_days: int) -> dict[str, int]:
    """One sweep: expired conversations, ended sign-in sessions, old rate-limit counters."""
    expired = await protection.do_remove_expired(retention_days)
    sessions = await accounts.do_purge_expired()
    counters = await accounts.rate_limits.do_forget_older_than(utcnow() - timedelta(days=1))
    return {"conversations": expired.conversations, "transcripts_cleared": expired.transcripts_cleared,
            "messages": expired.messages, "images": expired.images, "sessions": sessions, "counters": counters}


def retention_context(protection: DataProtection, accounts: Accounts, retention_days: int,
                      interval: float = SWEEP_SECONDS) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup_ctx running the retention sweep soon after start and then every `interval` seconds.

    Several processes may each run it: every step is a plain DELETE of rows past their date, so two
    sweeps at once remove each row once and agree on the result.
    """

    async def sweep() -> None:
        result = await run_retention(protection, accounts, retention_days)
        if any(result.values()):
            log.info("retention: %s", ", ".join(f"{k}={v}" for k, v in result.items()))

    return every("retention sweep", interval, sweep)

