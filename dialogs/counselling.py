"""The part of the main dialog about reaching a person: the queue and the live chat with a counsellor."""

from __future__ import annotations

from typing import Any

from bot.hours import describe_opening, is_open, next_opening
from dialogs.engine import DialogModel

STATES = ("queue", "with_counsellor")

TRANSITIONS: tuple[dict[str, object], ...] = (
    # Asking for a person works from any state. Whether they go to the queue depends on opening hours.
    {"trigger": "talk", "source": "queue", "dest": None, "after": "say_already_waiting"},
    {"trigger": "talk", "source": "with_counsellor", "dest": None},
    # A counsellor who started the report flow is still holding the chat: asking for a person goes back to them.
    {"trigger": "talk", "source": "*", "dest": "with_counsellor", "conditions": "has_counsellor",
     "before": "say_counsellor_still_here"},
    {"trigger": "talk", "source": "*", "dest": "queue", "conditions": "counsellors_on"},
    {"trigger": "talk", "source": "*", "dest": "menu", "unless": "counsellors_on", "before": "say_closed_hours"},
    {"trigger": "leave_queue", "source": "queue", "dest": "menu", "before": "leave_the_queue"},
    # Fired by the console, never by the child. Each has a no-op fallback so that firing it in an
    # unexpected state (the child left meanwhile) never makes the bot say "I didn't get that".
    {"trigger": "counsellor_joined", "source": "*", "dest": "with_counsellor", "conditions": "still_open",
     "before": "say_counsellor_joined"},
    {"trigger": "counsellor_joined", "source": "*", "dest": None},
    {"trigger": "counsellor_changed", "source": "with_counsellor", "dest": None, "after": "say_counsellor_changed"},
    {"trigger": "counsellor_changed", "source": "*", "dest": None},
    {"trigger": "counsellor_left", "source": "with_counsellor", "dest": "menu", "before": "say_counsellor_left"},
    {"trigger": "counsellor_left", "source": "*", "dest": None},
    {"trigger": "requeued", "source": "*", "dest": "queue", "conditions": "still_open"},
    {"trigger": "requeued", "source": "*", "dest": None},
    # The counsellor starts the report flow for the child; the bot runs it while the counsellor watches.
    {"trigger": "report", "source": "with_counsellor", "dest": "report_age"},
)


def options_in(state: str) -> tuple[str, ...] | None:
    if state == "queue":
        return ("leave_queue", "advice", "report")
    if state == "with_counsellor":
        return ()
    return None


class CounsellingSteps(DialogModel):
    """Callbacks for the queue and the live chat. Mixed into the main dialog's model.

    The queue itself lives in the database (`turn.services.counselling`, a bot.queue.Counselling);
    it is changed inside the step's transaction so the state and the queue never disagree.
    """

    def _queue(self) -> Any:
        return getattr(self.turn.services, "counselling", None)

    def counsellors_on(self) -> bool:
        config = self.turn.config
        return is_open(self.turn.now, config.opening_hours, config.timezone)

    async def has_counsellor(self) -> bool:
        queue = self._queue()
        return queue is not None and await queue.is_assigned_in(self.turn.session, self.conv.id)

    def still_open(self) -> bool:
        return self.conv.closed_at is None

    async def _announce_positions(self) -> None:
        queue = self._queue()
        if queue is not None:
            self.turn.staff_events.extend(await queue.positions_in(self.turn.session, self.turn.now))

    async def on_enter_queue(self) -> None:
        queue = self._queue()
        if self.fired == "requeued":
            # The console has already put the chat back in the queue (keeping its place).
            lost = (self.conv.context or {}).get("requeue_reason") == "connection_lost"
            self.turn.say("counsellor_requeued_lost" if lost else "counsellor_requeued",
                          options=options_in("queue") or ())
        else:
            # The child may have been reading advice while already waiting: they keep their place.
            added = True if queue is None else await queue.enqueue_in(self.turn.session, self.conv, self.turn.now)
            self.turn.say("talk_open" if added else "talk_already", options=options_in("queue") or ())
        await self._announce_positions()

    async def say_already_waiting(self) -> None:
        self.turn.say("talk_already", options=options_in("queue") or ())
        await self._announce_positions()

    def say_closed_hours(self) -> None:
        config = self.turn.config
        when = next_opening(self.turn.now, config.opening_hours, config.timezone)
        text = describe_opening(when, self.turn.now, config.timezone) if when else "later"
        self.turn.say("talk_closed", links=("childline",), when=text, options=self.menu_options())

    async def leave_the_queue(self) -> None:
        queue = self._queue()
        if queue is not None:
            await queue.dequeue_in(self.turn.session, self.conv.id)
        self.turn.say("leave_queue")
        await self._announce_positions()

    def say_counsellor_joined(self) -> None:
        name = (self.conv.context or {}).get("counsellor_name") or "a counsellor"
        self.turn.say("counsellor_joined", name=name)

    def say_counsellor_changed(self) -> None:
        name = (self.conv.context or {}).get("counsellor_name") or "Another counsellor"
        self.turn.say("counsellor_changed", name=name)

    def say_counsellor_still_here(self) -> None:
        self.turn.say("counsellor_still_here")

    def say_counsellor_left(self) -> None:
        self.turn.say("counsellor_left")
