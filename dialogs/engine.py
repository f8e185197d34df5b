"""The dialog engine: load a conversation, fire one trigger on a shared machine, save, then publish."""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Mapping, Sequence

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from transitions.extensions.asyncio import AsyncMachine

from bot.appender import MessageAppender, Outcome
from bot.conversations import (
    ConversationView,
    append_message,
    find_by_client_id,
    get_messages_after,
    get_open_conversation,
    lock_conversation,
    view_of,
)
from bot.db import Database
from bot.errors import Conflict, Invalid
from bot.events import Event, EventSink, MessageEvent, MessageView, ReceiptEvent, StaffEvent, StateEvent
from bot.hours import Hours
from bot.models.base import utcnow
from bot.models.chat import Conversation
from bot.risk import HIGH, MEDIUM, advance, read, resume
from dialogs.intents import match_intent
from dialogs.words import LINKS, SAY, option_list

log = logging.getLogger(__name__)

QUIET_HINTS = 10_000


@dataclass(frozen=True)
class DialogConfig:
    """The settings the dialogs need, passed in as plain values."""

    emergency_contacts: str = "Emergency services: call 999; Childline: call 0800 1111"
    opening_hours: Hours = ((0, 0, 1440), (1, 0, 1440), (2, 0, 1440), (3, 0, 1440), (4, 0, 1440), (5, 0, 1440), (6, 0, 1440))
    timezone: str = "Europe/London"
    message_max_chars: int = 2000


@dataclass(frozen=True)
class Ack:
    seq: int
    client_id: str | None
    duplicate: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"ok": True, "seq": self.seq, "client_id": self.client_id}


@dataclass(frozen=True)
class Opened:
    conversation: ConversationView
    options: tuple[dict[str, str], ...]
    messages: list[MessageView]

    def as_dict(self) -> dict[str, Any]:
        c = self.conversation
        return {
            "ok": True,
            "conversation": {
                "id": c.id,
                "state": c.state,
                "options": list(self.options),
                "last_seq": c.last_seq,
                "read_seq": c.staff_read_seq,
            },
            "messages": [m.for_child() for m in self.messages],
        }


@dataclass
class Turn:
    """One step of one conversation: the open transaction, and what the step said and changed."""

    session: Any
    conv: Conversation
    config: DialogConfig
    now: datetime
    # Domain collaborators (queue, reports, verification) handed in by create_app; plain objects.
    services: Any = None
    views: list[MessageView] = field(default_factory=list)
    staff_events: list[StaffEvent] = field(default_factory=list)
    # What the child typed in this step, for a state that takes the text itself (DialogDefinition.text_states).
    child_text: str | None = None
    options_override: tuple[dict[str, str], ...] | None = None

    def say(self, key: str, *, options: Sequence[str] = (), links: Sequence[str] = (), **fmt: Any) -> None:
        text = SAY[key].format(**fmt) if fmt else SAY[key]
        meta: dict[str, Any] = {}
        if options:
            meta["options"] = list(option_list(tuple(options)))
        if links:
            meta["links"] = [LINKS[name] for name in links]
        message = append_message(self.session, self.conv, sender="bot", text=text, meta=meta, now=self.now)
        self.views.append(view_of(message))

    def record(self, message: Any) -> None:
        self.views.append(view_of(message))


class DialogModel:
    """Base for dialog models. One instance lives for one step; the machine is shared."""

    state: str

    def __init__(self, turn: Turn, fired: str = "") -> None:
        self.turn = turn
        # The trigger being fired, for callbacks shared by several transitions.
        self.fired = fired

    @property
    def conv(self) -> Conversation:
        return self.turn.conv


@dataclass(frozen=True)
class DialogDefinition:
    """A dialog: its model class, states, transitions, the options each state offers, and quiet states."""

    name: str
    model: type[DialogModel]
    states: tuple[str, ...]
    transitions: tuple[dict[str, Any], ...]
    initial: str
    start_trigger: str
    options: Callable[[Conversation], tuple[str, ...]]
    # States where the bot does not answer free text (a counsellor is talking).
    quiet_states: frozenset[str] = frozenset()
    # States where free text is the child's answer itself, firing this trigger instead of being read for intents.
    text_states: Mapping[str, str] = field(default_factory=dict)
    # Triggers a child may fire by button or intent from any state.
    closed_states: frozenset[str] = frozenset({"closed"})

    def build_machine(self) -> AsyncMachine:
        return AsyncMachine(
            model=None,
            states=list(self.states),
            transitions=[dict(t) for t in self.transitions],
            initial=self.initial,
            queued="model",
            auto_transitions=False,
            ignore_invalid_triggers=False,
        )


class DialogEngine:
    """Runs children's turns. Holds one machine per dialog definition, never one per conversation."""

    def __init__(self, db: Database, sink: EventSink, definition: DialogDefinition, config: DialogConfig,
                 services: Any = None) -> None:
        self.db = db
        self.sink = sink
        self.definition = definition
        self.config = config
        self.services = services
        self.machine = definition.build_machine()
        self.appender = MessageAppender(db)
        # Which conversations were last seen in a quiet state, so text to the bot skips the shared write
        # it would only be turned away from. A hint: the shared write checks the state itself.
        self._quiet: OrderedDict[int, bool] = OrderedDict()

    def _note_state(self, conversation_id: int, state: str) -> None:
        self._quiet[conversation_id] = state in self.definition.quiet_states
        self._quiet.move_to_end(conversation_id)
        if len(self._quiet) > QUIET_HINTS:
            self._quiet.popitem(last=False)

    # Reading ---------------------------------------------------------------------------------

    def options_for(self, conv: Conversation) -> tuple[dict[str, str], ...]:
        return option_list(self.definition.options(conv))

    async def open(self, child_id: int, after: int = 0) -> Opened:
        """The child's open conversation (opened and greeted if there is none) and what they missed."""
        async with self.db.read() as session:
            conv = await get_open_conversation(session, child_id)
        events: list[Event] = []
        if conv is None:
            async with self.db.write() as session:
                conv = await get_open_conversation(session, child_id)
                if conv is None:
                    conv = Conversation(child_id=child_id, state=self.definition.initial, context={})
                    session.add(conv)
                    await session.flush()
                    turn = Turn(session=session, conv=conv, config=self.config, now=utcnow(), services=self.services)
                    await self._fire(turn, self.definition.start_trigger)
                    events = self._events(turn)
            await self.sink.publish(events)
        async with self.db.read() as session:
            conv = await lock_conversation(session, conv.id, for_update=False)
            messages = await get_messages_after(session, conv.id, max(0, after))
            return Opened(ConversationView.of(conv), self.options_for(conv), messages)

    # Writing ---------------------------------------------------------------------------------

    async def child_input(
        self,
        child_id: int,
        conversation_id: int,
        *,
        client_id: str,
        text: str | None = None,
        option: str | None = None,
        origin: str | None = None,
    ) -> Ack:
        """Store what the child sent, let the bot answer, commit, then publish. Idempotent per client_id.

        `origin` names the connection it came from, which is not sent its own message back (it has the ack).
        """
        if text is not None and self._quiet.get(conversation_id, True) and self.definition.quiet_states:
            # Text to a counsellor, the busiest write: stored in a shared transaction when it is the plain case.
            reading = read(text)
            appended = await self.appender.append_child_text(
                conversation_id, child_id, text, client_id, reading, self.definition.quiet_states)
            if appended.outcome is Outcome.NOT_HERE:
                self._quiet[conversation_id] = False
            if appended.outcome is Outcome.DUPLICATE:
                return Ack(seq=appended.seq, client_id=client_id, duplicate=True)
            if appended.outcome is Outcome.STORED:
                assert appended.view is not None
                events: list[Event] = [MessageEvent(message=appended.view, child_id=child_id, origin=origin)]
                if appended.risk_raised:
                    events.append(StaffEvent("risk", {"risk_score": appended.risk_score}, conversation_id=conversation_id))
                await self.sink.publish(events)
                return Ack(seq=appended.seq, client_id=client_id)
        for attempt in range(4):
            try:
                return await self._child_input(child_id, conversation_id, client_id, text, option)
            except StaleDataError:
                # Another process advanced this conversation between our read and write: run the turn again.
                log.info("conversation %s changed under us, retrying (attempt %s)", conversation_id, attempt + 1)
            except IntegrityError:
                # The unique (conversation, client_id) index refused a resend that raced its first copy.
                duplicate = await self._duplicate(conversation_id, client_id)
                if duplicate is None:
                    raise
                return duplicate
        raise Conflict("busy", "Something went wrong sending that. Please try again.")

    async def _duplicate(self, conversation_id: int, client_id: str) -> Ack | None:
        async with self.db.read() as session:
            message = await find_by_client_id(session, conversation_id, client_id)
        return None if message is None else Ack(seq=message.seq, client_id=client_id, duplicate=True)

    async def _child_input(
        self, child_id: int, conversation_id: int, client_id: str, text: str | None, option: str | None
    ) -> Ack:
        # No look-up for a resent client_id on the way in (one round trip less per message, and on SQLite
        # fewer hops while holding the write lock): the unique index refuses a second copy when the message is
        # flushed, before the dialog runs, and child_input answers with the first copy's seq. Refusals that
        # would hide a resend (the chat closed, the button moved on) look for the first copy first.
        # Triage reads the text before the write: the costly part of scoring never holds the lock.
        reading = read(text) if option is None and text is not None else None
        async with self.db.write() as session:
            conv = await lock_conversation(session, conversation_id, child_id=child_id)
            if conv.closed_at is not None or conv.state in self.definition.closed_states:
                if (duplicate := await find_by_client_id(session, conv.id, client_id)) is not None:
                    return Ack(seq=duplicate.seq, client_id=client_id, duplicate=True)
                raise Invalid("conversation_closed", "This chat has ended. Refresh to start a new one.")
            now = utcnow()
            turn = Turn(session=session, conv=conv, config=self.config, now=now, services=self.services)
            stepping = conv.state not in self.definition.quiet_states
            if option is not None:
                allowed = self.definition.options(conv)
                if option not in allowed:
                    if (duplicate := await find_by_client_id(session, conv.id, client_id)) is not None:
                        return Ack(seq=duplicate.seq, client_id=client_id, duplicate=True)
                    raise Invalid("unknown_option", "That button isn't available any more. Please choose again.")
                label = dict((o["id"], o["label"]) for o in option_list(allowed))[option]
                message = append_message(session, conv, sender="child", sender_id=child_id, text=label,
                                         client_id=client_id, now=now, meta={"option": option})
                turn.record(message)
                trigger: str | None = option
                risk_score = 0
            else:
                assert text is not None and reading is not None
                message = append_message(session, conv, sender="child", sender_id=child_id, text=text,
                                         client_id=client_id, risk_score=reading.score, now=now)
                turn.record(message)
                # The conversation is scored, not the message: this one builds on what came before.
                state, risk = advance(resume(conv.risk_state, conv.risk_score), reading, index=message.seq)
                conv.risk_state = state.as_json()
                raised = risk.score > conv.risk_score
                # The bot answers the risk this message brought: once when it rises, or when it says it again.
                risk_score = risk.score if raised or reading.score >= MEDIUM else 0
                if raised:
                    conv.risk_score = risk.score
                    turn.staff_events.append(StaffEvent("risk", {"risk_score": risk.score}, conversation_id=conv.id))
                turn.child_text = text
                trigger = self.definition.text_states.get(conv.state) or match_intent(text)
            seq = message.seq
            # Sends the INSERT now, so a resent client_id fails here, before the dialog acts on it.
            await session.flush()
            if stepping:
                if risk_score >= HIGH:
                    turn.say("risk_high", options=("talk", "menu"), contacts=self.config.emergency_contacts)
                    if trigger is None:
                        trigger = ""  # the risk reply is the answer; no "didn't get that" after it
                elif risk_score >= MEDIUM and trigger is None:
                    turn.say("risk_medium", options=("talk", "menu"))
                    trigger = ""
                await self._fire(turn, trigger)
                # The bot has read everything up to its own reply.
                conv.staff_read_seq = conv.last_seq
            # Text in a counsellor's chat is no dialog step: the state and its options stay as they were, so
            # no `state` event (three emits fewer per message on the busiest path). A button press always
            # gets one: the widget clears its buttons when one is pressed.
            events = self._events(turn, receipt=conv.state not in self.definition.quiet_states,
                                  state=stepping or option is not None)
            self._note_state(conv.id, conv.state)
        await self.sink.publish(events)
        return Ack(seq=seq, client_id=client_id)

    async def fire(self, conversation_id: int, trigger: str, **context: Any) -> ConversationView:
        """Fire a trigger that does not come from the child (a counsellor joined, a verification finished)."""
        async with self.db.write() as session:
            conv = await lock_conversation(session, conversation_id)
            turn = Turn(session=session, conv=conv, config=self.config, now=utcnow(), services=self.services)
            conv.context = {**(conv.context or {}), **context} if context else conv.context
            await self._fire(turn, trigger)
            view = ConversationView.of(conv)
            events = self._events(turn)
        self._note_state(view.id, view.state)
        await self.sink.publish(events)
        return view

    async def _fire(self, turn: Turn, trigger: str | None) -> None:
        conv = turn.conv
        model = self.definition.model(turn, trigger or "")
        self.machine.add_model(model, initial=conv.state)
        try:
            if trigger == "":
                pass
            elif trigger and trigger in self.machine.get_triggers(conv.state):
                await model.trigger(trigger)
            elif "fallback" in self.machine.get_triggers(conv.state):
                await model.trigger("fallback")
        finally:
            self.machine.remove_model(model)
        conv.state = model.state

    def _events(self, turn: Turn, receipt: bool = False, state: bool = True) -> list[Event]:
        conv = turn.conv
        events: list[Event] = [MessageEvent(message=v, child_id=conv.child_id) for v in turn.views]
        if state:
            events.append(StateEvent(conv.id, conv.child_id, conv.state, self.options_for(conv)))
        if receipt:
            events.append(ReceiptEvent(conv.id, conv.child_id, conv.staff_read_seq))
        events.extend(turn.staff_events)
        return events

    async def messages_after(self, child_id: int, conversation_id: int, after: int) -> list[MessageView]:
        async with self.db.read() as session:
            await lock_conversation(session, conversation_id, child_id=child_id, for_update=False)
            return await get_messages_after(session, conversation_id, after)

    async def do_mark_read(self, child_id: int, conversation_id: int, seq: int) -> None:
        async with self.db.write() as session:
            conv = await lock_conversation(session, conversation_id, child_id=child_id)
            if conv.last_seq >= seq > conv.child_read_seq:
                conv.child_read_seq = seq
                event = StaffEvent("child_read", {"read_seq": seq}, conversation_id=conv.id)
            else:
                return
        await self.sink.publish([event])
