"""Age-check routes: the demo page, provider notifications, and the page a provider sends the child back to."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from aiohttp import web

from bot.db import Database
from bot.errors import HavenError, Unauthorized
from bot.verification import (
    DEMO_OUTCOMES,
    DemoNotAllowed,
    NotificationRejected,
    ProviderError,
    SessionNotFound,
    UnknownDemoOutcome,
    check_demo_provider,
    make_provider,
)
from bot.verification.service import DONE_PATH, NOTIFY_PATH, VerificationService
from handlers.common import Render, error_response, ok

log = logging.getLogger(__name__)

DEMO_PATH = "/verify/demo"
# The buttons of the demo page, in the order shown.
DEMO_BUTTONS = tuple({"name": name, "label": choice.label} for name, choice in DEMO_OUTCOMES.items())


class ProviderUnavailableError(HavenError):
    """The age-check provider could not be asked; the caller should try again later."""

    status = 503


class VerifyHandlers:
    """Thin routes over VerificationService; the outcome is always fetched, never read from a request."""

    def __init__(self, service: VerificationService, render: Render) -> None:
        self.service = service
        self.render = render

    # The demo page -------------------------------------------------------------------------

    async def _page(self, request: web.Request, status: int, **context: Any) -> web.Response:
        values: dict[str, Any] = {"mode": "choose", "session_id": "", "buttons": DEMO_BUTTONS, "error": ""}
        values.update(context)
        response = await self.render(request, "verify_demo.html", values)
        response.set_status(status)
        return response

    async def demo_page(self, request: web.Request) -> web.Response:
        session_id = request.match_info["session_id"]
        try:
            demo = check_demo_provider(self.service.provider)
            outcome = await demo.fetch_outcome(session_id)
        except DemoNotAllowed:
            return await self._page(request, 403, mode="off")
        except SessionNotFound:
            return await self._page(request, 404, mode="unknown")
        if outcome.is_final:
            return await self._page(request, 200, mode="chosen")
        return await self._page(request, 200, session_id=session_id)

    async def demo_choose(self, request: web.Request) -> web.Response:
        session_id = request.match_info["session_id"]
        form = await request.post()
        choice = str(form.get("outcome", ""))
        try:
            await self.service.do_demo_choice(session_id, choice)
        except DemoNotAllowed:
            return await self._page(request, 403, mode="off")
        except SessionNotFound:
            return await self._page(request, 404, mode="unknown")
        except UnknownDemoOutcome:
            return await self._page(request, 400, session_id=session_id,
                                    error="Please pick one of the outcomes below.")
        # Whether this pick or an earlier one won, the chat has its answer now.
        return await self._page(request, 200, mode="chosen")

    # Provider notifications ----------------------------------------------------------------

    async def notify(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            result = await self.service.do_notification(request.match_info["provider"], request.headers, body)
        except NotificationRejected:
            # Says nothing about which check failed: whoever sent it either knows or should not.
            log.warning("rejected an age-check notification")
            return error_response(Unauthorized("notification_rejected", "This notification was not accepted."))
        except ProviderError:
            # The provider retries its notifications; the child can also tap "I've finished".
            return error_response(ProviderUnavailableError(
                "provider_unavailable", "The age-check service could not be asked. Try again later."))
        return ok(moved=result.moved)

    # Where the provider sends the child back to ----------------------------------------------

    async def done(self, request: web.Request) -> web.Response:
        return await self.render(request, "verify_done.html", {})

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(DEMO_PATH + "/{session_id}", self.demo_page)
        app.router.add_post(DEMO_PATH + "/{session_id}", self.demo_choose)
        app.router.add_post(NOTIFY_PATH + "/{provider}", self.notify)
        app.router.add_get(DONE_PATH, self.done)


def verification_context(
    service: VerificationService, db: Database, provider_name: str, provider_settings: dict[str, Any]
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup_ctx that builds the configured provider once the database is bound, and closes it."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        settings = dict(provider_settings)
        if provider_name == "demo":
            # The demo keeps its sessions in Haven's database, so any server process can serve its page.
            settings["session_maker"] = db.sessions
        service.bind(make_provider(provider_name, **settings))
        try:
            yield
        finally:
            await service.aclose()

    return context
