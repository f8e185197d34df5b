"""The main conversation a child has with the bot: welcome, menu, advice, and the areas it leads to."""

from __future__ import annotations

from typing import Any, Mapping

from bot.models.chat import Conversation
from dialogs import counselling, reporting, verifying
from dialogs.counselling import CounsellingSteps
from dialogs.engine import DialogDefinition
from dialogs.reporting import ReportingSteps
from dialogs.words import option_list
from dialogs.verifying import VerifyingSteps

STATES = ("welcome", "menu", "advice", *counselling.STATES, *reporting.STATES, *verifying.STATES, "closed")

# States from which the child can go back to the menu, read advice or start a report by themselves.
ROAMING = ["menu", "advice", "queue", *reporting.STATES, *verifying.STATES]

TRANSITIONS: tuple[dict[str, object], ...] = (
    {"trigger": "start", "source": "welcome", "dest": "menu", "before": "say_welcome"},
    {"trigger": "menu", "source": ROAMING, "dest": "menu"},
    {"trigger": "advice", "source": ROAMING, "dest": "advice"},
    {"trigger": "advice_fault", "source": ROAMING, "dest": "advice", "before": "say_advice_fault"},
    {"trigger": "advice_reporting", "source": ROAMING, "dest": "advice", "before": "say_advice_reporting"},
    {"trigger": "advice_help", "source": ROAMING, "dest": "advice", "before": "say_advice_help"},
    {"trigger": "report", "source": ROAMING, "dest": "report_age"},
    *counselling.TRANSITIONS,
    *reporting.TRANSITIONS,
    *verifying.TRANSITIONS,
    {"trigger": "leave", "source": "*", "dest": "closed"},
    {"trigger": "fallback", "source": "*", "dest": None, "after": "say_fallback"},
)


def options_in(state: str) -> tuple[str, ...]:
    """The quick replies a state offers. They are also the only buttons the server accepts."""
    if state == "menu":
        return ("talk", "report", "advice", "leave")
    if state == "advice":
        return ("advice_fault", "advice_reporting", "advice_help", "talk", "menu")
    for area in (counselling, reporting, verifying):
        offered = area.options_in(state)
        if offered is not None:
            return offered
    if state in ("closed", "welcome"):
        return ()
    return ("talk", "menu")


def state_options(conv: Conversation) -> tuple[str, ...]:
    return reporting.offered(conv, options_in(conv.state))


def after_ticket_news(conv: Conversation, kind: str, facts: Mapping[str, Any]) -> tuple[dict[str, str], ...] | None:
    """For bot.tickets.Notifier: the chat's options once the child has heard the news (None: unchanged)."""
    if not reporting.note_ticket_news(conv, kind, facts):
        return None
    return option_list(state_options(conv))


class ChildDialog(CounsellingSteps, ReportingSteps, VerifyingSteps):
    """Callbacks of the main dialog. `self.turn.say` stores bot messages in the step's transaction."""

    def menu_options(self) -> tuple[str, ...]:
        return options_in("menu")

    def on_enter_menu(self) -> None:
        key = "menu" if self.conv.last_seq <= 1 else "menu_again"
        self.turn.say(key, options=options_in("menu"))

    def on_enter_advice(self) -> None:
        # A topic chosen inside advice has just been answered, with the options attached.
        if self.fired == "advice":
            self.turn.say("advice", options=options_in("advice"))

    def on_enter_closed(self) -> None:
        self.conv.closed_at = self.turn.now
        self.turn.say("leave")

    def say_welcome(self) -> None:
        self.turn.say("welcome")

    def say_advice_fault(self) -> None:
        self.turn.say("advice_fault", options=options_in("advice"))

    def say_advice_reporting(self) -> None:
        self.turn.say("advice_reporting", links=("report_remove",), options=options_in("advice"))

    def say_advice_help(self) -> None:
        self.turn.say("advice_help", links=("childline", "ceop", "shout"), options=options_in("advice"))

    def say_fallback(self) -> None:
        self.turn.say("fallback", options=options_in(self.state))


MAIN_DIALOG = DialogDefinition(
    name="main",
    model=ChildDialog,
    states=STATES,
    transitions=TRANSITIONS,
    initial="welcome",
    start_trigger="start",
    options=state_options,
    quiet_states=frozenset({"with_counsellor"}),
    text_states=reporting.TEXT_STATES,
)
