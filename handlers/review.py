"""The review console's HTTP edge: the queue, a report, assessments, decisions, and the images themselves.

Images are only ever answers to a POST (with the page's CSRF token), fetched by the console's script
and shown from a blob: URL, so no image has an address a browser, proxy or history could keep or
replay; every one is marked no-store, nosniff and sandboxed, and every fetch is audited by bot.review.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from bot.errors import Invalid
from bot.inquiries import Inquiries
from bot.review import Review
from handlers.common import ok, require

# Applied to every image response: not stored anywhere, never sniffed as anything else, and inert if
# opened on its own (no scripts, no plugins, no same-origin powers).
IMAGE_HEADERS = {
    "Cache-Control": "no-store, max-age=0",
    "Pragma": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Content-Disposition": "inline",
}
_ID = r"{id:[0-9]{1,9}}"


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        raw = await request.read()
        data = json.loads(raw) if raw else {}
    except (ValueError, UnicodeDecodeError):
        raise Invalid("bad_payload", "We couldn't read that. Please try again.")
    if not isinstance(data, dict):
        raise Invalid("bad_payload", "We couldn't read that. Please try again.")
    return data


def _id(request: web.Request) -> int:
    return int(request.match_info["id"])


class ReviewHandlers:
    """Thin: who is asking (analysts only), parse, call bot.review, shape the reply."""

    def __init__(self, review: Review, inquiries: Inquiries) -> None:
        self.review = review
        self.inquiries = inquiries

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/review/api/queue", self.queue)
        app.router.add_get(f"/review/api/reports/{_ID}", self.report)
        app.router.add_post(f"/review/api/reports/{_ID}/start", self.start)
        app.router.add_post(f"/review/api/reports/{_ID}/decide", self.decide)
        app.router.add_post(f"/review/api/reports/{_ID}/confirm", self.confirm)
        app.router.add_post(f"/review/api/reports/{_ID}/reject", self.reject)
        app.router.add_post(f"/review/api/reports/{_ID}/withdraw", self.withdraw)
        app.router.add_post(f"/review/api/images/{_ID}/assess", self.assess)
        app.router.add_post(f"/review/images/{_ID}/preview", self.preview)
        app.router.add_post(f"/review/images/{_ID}/reveal", self.reveal)

    async def queue(self, request: web.Request) -> web.Response:
        who = require(request, "analyst")
        items = await self.review.get_queue(who)
        # Reports whose child answered a question nobody has opened yet: the console tells the analyst.
        answered = await self.inquiries.get_unseen(who, [item.id for item in items])
        config = self.review.config
        return ok(reports=[{**item.as_dict(), "answered": item.id in answered} for item in items], me=who.user_id,
                  break_minutes=config.break_minutes, second_analyst=config.second_analyst)

    async def report(self, request: web.Request) -> web.Response:
        who = require(request, "analyst")
        facts = await self.review.access_report(who, _id(request))
        thread = await self.inquiries.access_thread(who, facts.id)
        return ok(report={**facts.as_dict(), "thread": [item.as_dict() for item in thread]}, me=who.user_id)

    async def start(self, request: web.Request) -> web.Response:
        who = require(request, "analyst")
        status = await self.review.do_start(who, _id(request))
        # Opening the report is when its answers stop being news.
        new_answers = await self.inquiries.do_mark_seen(who, _id(request))
        return ok(status=status, new_answers=new_answers)

    async def assess(self, request: web.Request) -> web.Response:
        who = require(request, "analyst")
        body = await _body(request)
        return ok(verdict=await self.review.do_assess(who, _id(request), body.get("verdict")))

    async def decide(self, request: web.Request) -> web.Response:
        who = require(request, "analyst")
        body = await _body(request)
        decision = await self.review.do_decide(who, _id(request), body.get("outcome"), body.get("reason"),
                                               body.get("message"))
        return ok(decision={"id": decision.id, "outcome": decision.outcome, "status": decision.status})

    async def confirm(self, request: web.Request) -> web.Response:
        who = require(request, "analyst")
        decision = await self.review.do_confirm(who, _id(request))
        return ok(decision={"id": decision.id, "outcome": decision.outcome, "status": decision.status})

    async def reject(self, request: web.Request) -> web.Response:
        who = require(request, "analyst")
        decision = await self.review.do_reject(who, _id(request))
        return ok(decision={"id": decision.id, "outcome": decision.outcome, "status": decision.status})

    async def withdraw(self, request: web.Request) -> web.Response:
        who = require(request, "analyst")
        return ok(status=await self.review.do_withdraw(who, _id(request)))

    async def preview(self, request: web.Request) -> web.Response:
        who = require(request, "analyst")
        data = await self.review.access_preview(who, _id(request))
        return web.Response(body=data, content_type="image/jpeg", headers=IMAGE_HEADERS)

    async def reveal(self, request: web.Request) -> web.Response:
        who = require(request, "analyst")
        data = await self.review.access_clear(who, _id(request))
        return web.Response(body=data, content_type="image/jpeg", headers=IMAGE_HEADERS)
