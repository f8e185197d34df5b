"""Report tickets and their images as state machines, and the ticket news a child hears in their chat.

One `transitions` machine serves every report and one every image, as the dialog engine does for
conversations: for each step a throwaway model is added at the row's current state, the trigger is
fired, the model removed, and the new state written back to the row in the caller's transaction.

    draft -> submitted | cancelled
    submitted -> in_review -> actioned -> hashes_published
                          -> not_actioned
                          -> needs_info -> in_review
                                        -> submitted  (the child answered: back in the queue)
    submitted | in_review | needs_info -> withdrawn
    not_actioned | hashes_published | withdrawn -> closed     (once the images are purged)

    image: received -> quarantined -> assessed -> purged      (purged from any state)

Ticket news goes into the child's open conversation (a new one if none is open) as a bot message in
the same transaction as the change it reports, so it is there on the next sign-in even if nobody was
connected; the events it returns are published by the caller after commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Mapping

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from transitions import Machine, MachineError

from bot.conversations import append_message, get_open_conversation, lock_conversation, view_of
from bot.errors import Conflict, NotFound
from bot.events import Event, MessageEvent, StateEvent
from bot.models.chat import Conversation
from bot.models.reports import Report, ReportImage

TICKET_STATES = ("draft", "cancelled", "submitted", "in_review", "actioned", "not_actioned", "needs_info",
                 "hashes_published", "withdrawn", "closed")
TICKET_TRANSITIONS: tuple[dict[str, Any], ...] = (
    {"trigger": "submit", "source": "draft", "dest": "submitted"},
    {"trigger": "cancel", "source": "draft", "dest": "cancelled"},
    {"trigger": "start_review", "source": ["submitted", "needs_info"], "dest": "in_review"},
    {"trigger": "action", "source": "in_review", "dest": "actioned", "conditions": "ready_to_action"},
    {"trigger": "publish", "source": "actioned", "dest": "hashes_published"},
    {"trigger": "not_action", "source": "in_review", "dest": "not_actioned"},
    {"trigger": "ask_info", "source": "in_review", "dest": "needs_info"},
    {"trigger": "answer", "source": "needs_info", "dest": "submitted"},
    {"trigger": "withdraw", "source": ["submitted", "in_review", "needs_info"], "dest": "withdrawn"},
    {"trigger": "close", "source": ["not_actioned", "hashes_published", "withdrawn"], "dest": "closed"},
)
# Waiting for a decision: the child may still withdraw, and the review queue shows them.
UNDECIDED = ("submitted", "in_review", "needs_info")
# Decided or withdrawn: nothing more to do with the images, which are purged after the retention period.
FINISHED = ("not_actioned", "hashes_published", "withdrawn")

IMAGE_STATES = ("received", "quarantined", "assessed", "purged")
IMAGE_TRANSITIONS: tuple[dict[str, Any], ...] = (
    {"trigger": "quarantine", "source": "received", "dest": "quarantined"},
    {"trigger": "assess", "source": ["quarantined", "assessed"], "dest": "assessed"},
    {"trigger": "purge", "source": ["received", "quarantined", "assessed"], "dest": "purged"},
)

# What each ticket state is called when an analyst is told it cannot be changed from there.
STATE_WORDS = {
    "draft": "still a draft", "cancelled": "cancelled", "submitted": "waiting for review",
    "in_review": "in review", "actioned": "actioned", "not_actioned": "decided (not actioned)",
    "needs_info": "waiting for more information", "hashes_published": "decided (hashes published)",
    "withdrawn": "withdrawn", "closed": "closed",
}


class _Step:
    """The model for one step: the state, and the facts the transition's conditions read."""

    state: str

    def __init__(self, facts: Mapping[str, Any]) -> None:
        self.facts = facts

    def ready_to_action(self) -> bool:
        # Every image assessed, and at least one of them in a category (A, B or C) to publish.
        return bool(self.facts.get("all_assessed")) and bool(self.facts.get("categorised"))


def _machine(states: tuple[str, ...], transitions: tuple[dict[str, Any], ...]) -> Machine:
    return Machine(model=None, states=list(states), transitions=[dict(t) for t in transitions],
                   initial=states[0], auto_transitions=False, ignore_invalid_triggers=False)


TICKETS = _machine(TICKET_STATES, TICKET_TRANSITIONS)
IMAGES = _machine(IMAGE_STATES, IMAGE_TRANSITIONS)


def _fire(machine: Machine, state: str, trigger: str, facts: Mapping[str, Any]) -> str | None:
    """The state `trigger` leads to from `state`; None when a condition held it back."""
    step = _Step(facts)
    machine.add_model(step, initial=state)
    try:
        moved = step.trigger(trigger)  # type: ignore[attr-defined]
    except MachineError:
        raise Conflict("wrong_state", f"That can't be done while the report is {STATE_WORDS.get(state, state)}.")
    finally:
        machine.remove_model(step)
    return step.state if moved else None


def move_ticket(report: Report, trigger: str, now: datetime, **facts: Any) -> str:
    """Fire a ticket trigger on a locked report row and record its new status."""
    state = _fire(TICKETS, report.status, trigger, facts)
    if state is None:
        raise Conflict("not_ready", "Assess every image, and put at least one in category A, B or C, before "
                       "actioning the report.")
    report.status = state
    report.updated_at = now
    return state


def move_image(image: ReportImage, trigger: str) -> str:
    """Fire an image trigger on an image row and record its new status."""
    try:
        state = _fire(IMAGES, image.status, trigger, {})
    except Conflict:
        raise Conflict("wrong_image_state", f"That can't be done to an image that is {image.status}.") from None
    assert state is not None  # image transitions have no conditions
    image.status = state
    return state


def can_fire(state: str, trigger: str) -> bool:
    """Whether a ticket in `state` has `trigger` at all (conditions aside)."""
    return trigger in TICKETS.get_triggers(state)


async def lock_report(session: AsyncSession, report_id: int) -> tuple[Report, Conversation | None]:
    """Lock a report and its child's open conversation, in that always-the-same order.

    Dialog turns lock the conversation before they touch a report; doing the same here means a ticket
    change and a child's turn can never wait on each other in a circle (PostgreSQL deadlock).
    """
    child_id = await session.scalar(select(Report.child_id).where(Report.id == report_id))
    if child_id is None:
        raise NotFound("no_report", "There is no report with that number.")
    conv = await get_open_conversation(session, child_id)
    if conv is not None:
        conv = await lock_conversation(session, conv.id)
        if conv.closed_at is not None:
            conv = None
    query = select(Report).where(Report.id == report_id)
    if session.bind.dialect.name != "sqlite":
        query = query.with_for_update()
    report = (await session.execute(query.execution_options(populate_existing=True))).scalar_one()
    return report, conv


@dataclass(frozen=True)
class News:
    """What to tell a child about their report: a kind ("in_review", "actioned", ...) and its facts."""

    kind: str
    facts: Mapping[str, Any]


# Turns News into the words the bot says. Supplied by the dialogs (they own every word the bot says).
Words = Callable[[str, Mapping[str, Any]], str]
# What the chat offers once the child has heard the news (no "withdraw" after a decision, "answer" after a
# question): the dialogs note the news in the conversation's context and return its new options, or None.
AfterNews = Callable[[Conversation, str, Mapping[str, Any]], "tuple[dict[str, str], ...] | None"]


class Notifier:
    """Posts ticket news into the child's chat inside the caller's write transaction."""

    def __init__(self, words: Words, after: AfterNews | None = None) -> None:
        self.words = words
        self.after = after

    async def tell_child(self, session: AsyncSession, report: Report, conv: Conversation | None, news: News,
                         now: datetime) -> list[Event]:
        """Append the news to `conv` (locked by lock_report), or to a new conversation if none is open."""
        text = self.words(news.kind, {"reference": report.reference or "", **news.facts})
        if conv is None:
            conv = Conversation(child_id=report.child_id, state="menu", context={}, opened_at=now, updated_at=now)
            session.add(conv)
            await session.flush()
        message = append_message(session, conv, sender="bot", text=text, now=now,
                                 meta={"ticket": news.kind, "report": report.reference})
        events: list[Event] = [MessageEvent(message=view_of(message), child_id=report.child_id)]
        options = self.after(conv, news.kind, {"report_id": report.id, "reference": report.reference or "",
                                               **news.facts}) if self.after else None
        await session.flush()
        if options is not None:
            events.append(StateEvent(conv.id, conv.child_id, conv.state, options))
        return events
