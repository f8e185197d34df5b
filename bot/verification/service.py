"""Ties the age-check provider to Haven's records and the child's conversation: start, notice, fetch, move on."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any

from bot.db import Database
from bot.errors import NotFound
from bot.models.base import utcnow
from bot.models.verification import Verification
from bot.verification.base import (
    FINAL_STATUSES,
    Outcome,
    SessionNotFound,
    VerificationError,
    VerificationProvider,
)
from bot.verification.demo import DemoProvider
from bot.verification.records import do_record_outcome, get_verification_by_session
from bot.verification.registry import check_demo_provider

log = logging.getLogger(__name__)

# engine.fire(conversation_id, trigger, **context), handed in by create_app (bot never imports dialogs).
Fire = Callable[..., Awaitable[Any]]

# Dialog triggers the service fires. The dialog acts on one only while the conversation is still
# waiting on the same attempt (or provider session) the event names, so stale events are no-ops.
OPENED = "verify_opened"
START_FAILED = "verify_unavailable"
FETCH_FAILED = "verify_result_unavailable"
STILL_PENDING = "verify_pending"
UNDER_18 = "verified_under_18"
OVER_18 = "verified_over_18"
NOT_VERIFIED = "verify_failed"
SERVICE_TRIGGERS = (OPENED, START_FAILED, FETCH_FAILED, STILL_PENDING, UNDER_18, OVER_18, NOT_VERIFIED)
# The conversation context key that carries the event's details to the dialog step (popped there).
EVENT_KEY = "verify_event"

NOTIFY_PATH = "/verify/notify"
DONE_PATH = "/verify/done"


def trigger_for(status: str, under_18: str) -> str | None:
    """The dialog trigger an outcome leads to; None while the check is still going on."""
    if status not in FINAL_STATUSES:
        return None
    if status == "complete" and under_18 == "yes":
        return UNDER_18
    if status == "complete" and under_18 == "no":
        return OVER_18
    return NOT_VERIFIED


@dataclass(frozen=True, slots=True)
class NotificationResult:
    """What a provider notification did: `moved` is True only when it changed the stored outcome."""

    conversation_id: int
    status: str
    moved: bool


class VerificationService:
    """One per app. Holds the provider (bound at start-up, like the Database) and runs its calls.

    Provider calls never run inside a conversation's transaction: on SQLite that transaction holds
    the one write lock of the process, and Yoti with its retries can take many seconds. So a dialog
    step only records the child's request and calls `request_start` / `request_fetch`; the work
    runs as a task here and reports back to the dialog with `fire`, in a transaction of its own.
    """

    def __init__(self, db: Database, *, public_url: str, fire: Fire | None = None) -> None:
        self.db = db
        self.public_url = public_url.rstrip("/")
        self.fire: Fire | None = fire
        self._provider: VerificationProvider | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # Lifetime --------------------------------------------------------------------------------

    def bind(self, provider: VerificationProvider) -> None:
        self._provider = provider

    @property
    def provider(self) -> VerificationProvider:
        if self._provider is None:
            raise RuntimeError("the verification provider is not bound yet")
        return self._provider

    @property
    def provider_name(self) -> str:
        return self.provider.name

    async def aclose(self) -> None:
        """Stop unfinished work, then release the provider's connections."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._provider is not None:
            await self._provider.aclose()

    async def wait_idle(self) -> None:
        """Wait for every task started so far (CLI commands and tests; never needed by the server)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _spawn(self, work: Coroutine[Any, Any, None], what: str) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)

        def finished(done: asyncio.Task[None]) -> None:
            self._tasks.discard(done)
            if not done.cancelled() and done.exception() is not None:
                log.error("verification %s failed", what, exc_info=done.exception())

        task.add_done_callback(finished)

    # Called by dialog steps (inside the child's transaction: they only schedule) -------------

    def request_start(self, conversation_id: int, attempt: str, previous_session: str | None = None) -> None:
        """Open a provider session for this attempt, after the step's transaction; then post the link."""
        self._spawn(self.do_start(conversation_id, attempt, previous_session), "start")

    def request_fetch(self, conversation_id: int, session_id: str) -> None:
        """The child says they have finished: ask the provider now and move the chat on."""
        self._spawn(self.do_check(conversation_id, session_id), "fetch")

    # The work --------------------------------------------------------------------------------

    async def do_start(self, conversation_id: int, attempt: str, previous_session: str | None = None) -> None:
        provider = self.provider
        if previous_session:
            await self._drop_previous(previous_session)
        try:
            # The attempt token is random: the provider learns nothing about the child from it.
            started = await provider.start(
                reference=attempt,
                callback_url=f"{self.public_url}{DONE_PATH}",
                notify_url=f"{self.public_url}{NOTIFY_PATH}/{provider.name}",
            )
        except VerificationError as exc:
            log.warning("could not start a %s check for conversation %s (%s)", provider.name, conversation_id,
                        type(exc).__name__)
            await self._fire(conversation_id, START_FAILED, {"attempt": attempt})
            return
        await self._fire(conversation_id, OPENED, {
            "attempt": attempt, "provider": provider.name, "session_id": started.session_id, "url": started.url,
        })
        # The dialog records the session only if the child is still waiting on this attempt;
        # otherwise nobody will ever use it, so it goes at once.
        async with self.db.read() as session:
            kept = await get_verification_by_session(session, provider.name, started.session_id)
        if kept is None:
            await self._discard(started.session_id)

    async def do_check(self, conversation_id: int, session_id: str) -> None:
        """Fetch, record and act on the outcome of one session the child is waiting on."""
        async with self.db.read() as session:
            record = await get_verification_by_session(session, self.provider_name, session_id)
        if record is None or record.conversation_id != conversation_id:
            return
        if record.status in FINAL_STATUSES:
            # Already known (a notification won a race, or a crash came between record and fire):
            # fire again; the dialog ignores it if the chat has moved on.
            await self._fire_outcome(record)
            return
        try:
            outcome = await self._fetch(session_id)
        except VerificationError as exc:
            log.warning("could not fetch a %s result (%s)", self.provider_name, type(exc).__name__)
            await self._fire(conversation_id, FETCH_FAILED, {"session_id": session_id})
            return
        record, _changed = await self._record(session_id, outcome)
        if record.status in FINAL_STATUSES:
            await self._fire_outcome(record)
            await self._discard(session_id)
        else:
            await self._fire(conversation_id, STILL_PENDING, {"session_id": session_id})

    async def do_notification(self, provider_name: str, headers: Mapping[str, str], body: bytes) -> NotificationResult:
        """Handle a provider's notification: authenticate it, then fetch the outcome ourselves.

        A notification is only a trigger: its body never decides anything. Raises
        bot.verification.NotificationRejected (bad credentials or body), NotFound (not ours), or the
        provider's errors when it cannot be asked (the provider then retries later).
        """
        provider = self.provider
        if provider_name != provider.name:
            raise NotFound("unknown_provider", "No such age-check provider here.")
        session_id = await provider.check_notification(headers, body)
        async with self.db.read() as session:
            record = await get_verification_by_session(session, provider.name, session_id)
        if record is None:
            raise NotFound("unknown_session", "Haven did not start this age check.")
        if record.status in FINAL_STATUSES:
            # A replay, or a notification after "I've finished" already settled it: nothing changes.
            return NotificationResult(record.conversation_id, record.status, moved=False)
        outcome = await self._fetch(session_id)
        record, changed = await self._record(session_id, outcome)
        if changed and record.status in FINAL_STATUSES:
            await self._fire_outcome(record)
            await self._discard(session_id)
        return NotificationResult(record.conversation_id, record.status, moved=changed)

    async def do_demo_choice(self, session_id: str, outcome_name: str) -> bool:
        """The tester picked an outcome on the demo page: store it and move the chat on at once.

        Raises DemoNotAllowed when a real provider is configured, UnknownDemoOutcome for a
        made-up choice and SessionNotFound for an unknown page. False if already chosen.
        (Only the demo may call this: a real provider's outcome is never taken from a page.)
        """
        demo: DemoProvider = check_demo_provider(self.provider)
        first = await demo.choose(session_id, outcome_name)
        async with self.db.read() as session:
            record = await get_verification_by_session(session, demo.name, session_id)
        if record is not None:
            await self.do_check(record.conversation_id, session_id)
        return first

    # Helpers ---------------------------------------------------------------------------------

    async def _fetch(self, session_id: str) -> Outcome:
        try:
            return await self.provider.fetch_outcome(session_id)
        except SessionNotFound:
            # The provider has forgotten the session (its time ran out, or it was deleted):
            # from the child's side that is an expired check.
            return Outcome(status="expired", under_18="unknown", method=None, checked_at=utcnow())

    async def _record(self, session_id: str, outcome: Outcome) -> tuple[Verification, bool]:
        async with self.db.write() as session:
            record = await get_verification_by_session(session, self.provider_name, session_id)
            if record is None:
                raise NotFound("unknown_session", "Haven did not start this age check.")
            changed = await do_record_outcome(session, record, outcome)
        return record, changed

    async def _drop_previous(self, session_id: str) -> None:
        """The child asked for a fresh check: close the old one as abandoned and delete it at the provider."""
        abandoned = Outcome(status="abandoned", under_18="unknown", method=None, checked_at=utcnow())
        async with self.db.write() as session:
            record = await get_verification_by_session(session, self.provider_name, session_id)
            if record is not None:
                await do_record_outcome(session, record, abandoned)
        await self._discard(session_id)

    async def _discard(self, session_id: str) -> None:
        # Best effort: the provider's own retention deletes it later anyway.
        try:
            await self.provider.discard(session_id)
        except (VerificationError, ValueError) as exc:
            log.info("could not discard a %s session (%s)", self.provider_name, type(exc).__name__)

    async def _fire_outcome(self, record: Verification) -> None:
        trigger = trigger_for(record.status, record.under_18)
        if trigger is not None:
            await self._fire(record.conversation_id, trigger,
                             {"session_id": record.provider_session_id, "status": record.status})

    async def _fire(self, conversation_id: int, trigger: str, event: dict[str, str]) -> None:
        if self.fire is None:
            raise RuntimeError("the verification service has no dialog to report to")
        await self.fire(conversation_id, trigger, **{EVENT_KEY: event})


__all__ = [
    "EVENT_KEY",
    "NotificationResult",
    "SERVICE_TRIGGERS",
    "VerificationService",
    "trigger_for",
]
