"""The part of the report flow that checks a 13-17 year-old is under 18, through an identity provider."""

from __future__ import annotations

import secrets
from typing import Any

from bot.conversations import append_message
from bot.verification.base import StartedVerification
from bot.verification.records import do_create_verification
from bot.verification.service import (
    EVENT_KEY,
    FETCH_FAILED,
    NOT_VERIFIED,
    OPENED,
    OVER_18,
    SERVICE_TRIGGERS,
    START_FAILED,
    STILL_PENDING,
    UNDER_18,
)
from dialogs.engine import DialogModel
from dialogs.words import LINKS, SAY, option_list

STATES = ("report_verify", "report_verifying", "report_not_verified")

# Context keys: the attempt the child is waiting on (a random token), and its provider session once open.
ATTEMPT = "verify_attempt"
SESSION = "verify_session"

TRANSITIONS: tuple[dict[str, object], ...] = (
    # The child's buttons.
    {"trigger": "verify_start", "source": "report_verify", "dest": "report_verifying", "after": "begin_check"},
    {"trigger": "verify_retry", "source": ["report_verifying", "report_not_verified"], "dest": "report_verifying",
     "after": "begin_check"},
    {"trigger": "verify_done", "source": "report_verifying", "dest": None, "after": "check_now"},
    # Fired by bot.verification.service once the provider has answered. Each acts only while the
    # child still waits on the attempt or session it names; otherwise the catch-alls below drop it.
    {"trigger": OPENED, "source": "report_verifying", "dest": None, "conditions": "for_this_attempt",
     "after": "post_link"},
    {"trigger": START_FAILED, "source": "report_verifying", "dest": "report_not_verified",
     "conditions": "for_this_attempt", "after": "say_unavailable"},
    {"trigger": FETCH_FAILED, "source": "report_verifying", "dest": None, "conditions": "for_this_session",
     "after": "say_result_unavailable"},
    {"trigger": STILL_PENDING, "source": "report_verifying", "dest": None, "conditions": "for_this_session",
     "after": "say_pending"},
    {"trigger": UNDER_18, "source": "report_verifying", "dest": "report_upload", "conditions": "for_this_session",
     "before": "say_verified"},
    {"trigger": OVER_18, "source": "report_verifying", "dest": "adult_signpost", "conditions": "for_this_session",
     "before": "say_over_18"},
    {"trigger": NOT_VERIFIED, "source": "report_verifying", "dest": "report_not_verified",
     "conditions": "for_this_session", "after": "say_not_verified"},
    # A late or stale event (the child retried, went to the menu, or a replay) changes nothing and says nothing.
    *({"trigger": trigger, "source": "*", "dest": None, "after": "forget_event"} for trigger in SERVICE_TRIGGERS),
)


def options_in(state: str) -> tuple[str, ...] | None:
    if state == "report_verify":
        return ("verify_start", "talk", "menu")
    if state == "report_verifying":
        return ("verify_done", "verify_retry", "talk", "menu")
    if state == "report_not_verified":
        return ("verify_retry", "talk", "menu")
    return None


class VerifyingSteps(DialogModel):
    """Callbacks for the age check. Mixed into the main dialog's model."""

    def on_enter_report_verify(self) -> None:
        self.turn.say("verify_why", options=options_in("report_verify") or ())

    # The child's buttons -------------------------------------------------------------------

    def begin_check(self) -> None:
        service = self._service()
        context = self._context()
        previous = context.pop(SESSION, None)
        context.pop(EVENT_KEY, None)
        attempt = secrets.token_hex(8)
        context[ATTEMPT] = attempt
        self.conv.context = context
        if service is None:
            self.turn.say("verify_unavailable", options=options_in("report_verifying") or ())
            return
        self.turn.say("verify_starting")
        # The provider is called after this transaction, not inside it (see VerificationService):
        # the link arrives as its own message when the provider has answered.
        service.request_start(self.conv.id, attempt, previous)

    def check_now(self) -> None:
        service = self._service()
        session_id = self._context().get(SESSION)
        if service is None or not session_id:
            self.turn.say("verify_not_ready", options=options_in("report_verifying") or ())
            return
        self.turn.say("verify_checking")
        service.request_fetch(self.conv.id, session_id)

    # Events from the service ---------------------------------------------------------------

    def for_this_attempt(self) -> bool:
        attempt = self._event().get("attempt")
        return bool(attempt) and attempt == self._context().get(ATTEMPT)

    def for_this_session(self) -> bool:
        session_id = self._event().get("session_id")
        return bool(session_id) and session_id == self._context().get(SESSION)

    async def post_link(self) -> None:
        event = self._take_event()
        started = StartedVerification(session_id=str(event["session_id"]), url=str(event["url"]))
        # The record is created in the same transaction as the message carrying its link.
        await do_create_verification(self.turn.session, conversation_id=self.conv.id,
                                     provider=str(event["provider"]), started=started)
        self.conv.context = {**self._context(), SESSION: started.session_id}
        link = {**LINKS["verify_page"], "url": started.url}
        meta = {"options": list(option_list(options_in("report_verifying") or ())), "links": [link]}
        message = append_message(self.turn.session, self.conv, sender="bot", text=SAY["verify_link"], meta=meta,
                                 now=self.turn.now)
        self.turn.record(message)

    def say_unavailable(self) -> None:
        self._take_event()
        self.turn.say("verify_unavailable", options=options_in("report_not_verified") or ())

    def say_result_unavailable(self) -> None:
        self._take_event()
        self.turn.say("verify_result_unavailable", options=options_in("report_verifying") or ())

    def say_pending(self) -> None:
        self._take_event()
        self.turn.say("verify_pending", options=options_in("report_verifying") or ())

    def say_verified(self) -> None:
        self._take_event()
        self.turn.say("verify_ok")

    def say_over_18(self) -> None:
        self._take_event()
        self.turn.say("verify_over_18")

    def say_not_verified(self) -> None:
        status = self._take_event().get("status")
        key = {"abandoned": "verify_abandoned", "expired": "verify_expired"}.get(str(status), "verify_failed")
        self.turn.say(key, options=options_in("report_not_verified") or ())

    def forget_event(self) -> None:
        if EVENT_KEY in (self.conv.context or {}):
            self._take_event()

    # Helpers -------------------------------------------------------------------------------

    def _service(self) -> Any:
        return getattr(self.turn.services, "verification", None)

    def _context(self) -> dict[str, Any]:
        # A copy: the JSON column is only saved when a new value is assigned.
        return dict(self.conv.context or {})

    def _event(self) -> dict[str, Any]:
        event = self._context().get(EVENT_KEY)
        return event if isinstance(event, dict) else {}

    def _take_event(self) -> dict[str, Any]:
        event = self._event()
        context = self._context()
        context.pop(EVENT_KEY, None)
        self.conv.context = context
        return event
