"""The main conversation a child has with the bot: welcome, menu, advice, a person, reporting."""

from __future__ import annotations

from bot.hours import describe_opening, is_open, next_opening
from bot.models.chat import Conversation
from dialogs.engine import DialogDefinition, DialogModel

STATES = (
    "welcome",
    "menu",
    "advice",
    "queue",
    "with_counsellor",
    "report_age",
    "report_verify",
    "report_verifying",
    "report_not_verified",
    "report_upload",
    "report_confirm",
    "report_submitted",
    "adult_signpost",
    "closed",
)

# States from which the child can go back to the menu or ask for advice by themselves.
_ROAMING = ["menu", "advice", "report_age", "report_verify", "report_not_verified", "adult_signpost",
            "report_submitted", "queue"]

TRANSITIONS: tuple[dict[str, object], ...] = (
    {"trigger": "start", "source": "welcome", "dest": "menu", "before": "say_welcome"},
    {"trigger": "menu", "source": _ROAMING, "dest": "menu"},
    {"trigger": "advice", "source": _ROAMING, "dest": "advice"},
    {"trigger": "advice_fault", "source": _ROAMING, "dest": "advice", "before": "say_advice_fault"},
    {"trigger": "advice_reporting", "source": _ROAMING, "dest": "advice", "before": "say_advice_reporting"},
    {"trigger": "advice_help", "source": _ROAMING, "dest": "advice", "before": "say_advice_help"},
    # Asking for a person works from any state. Whether they go to the queue depends on opening hours.
    {"trigger": "talk", "source": "queue", "dest": None, "after": "say_already_waiting"},
    {"trigger": "talk", "source": "with_counsellor", "dest": None},
    {"trigger": "talk", "source": "*", "dest": "queue", "conditions": "counsellors_on"},
    {"trigger": "talk", "source": "*", "dest": "menu", "unless": "counsellors_on", "before": "say_closed_hours"},
    {"trigger": "leave_queue", "source": "queue", "dest": "menu", "before": "say_left_queue"},
    {"trigger": "counsellor_joined", "source": "*", "dest": "with_counsellor"},
    {"trigger": "counsellor_left", "source": "with_counsellor", "dest": "menu", "before": "say_counsellor_left"},
    {"trigger": "report", "source": _ROAMING, "dest": "report_age"},
    {"trigger": "age_under_13", "source": "report_age", "dest": "report_upload", "before": "set_age_band"},
    {"trigger": "age_13_15", "source": "report_age", "dest": "report_verify", "before": "set_age_band"},
    {"trigger": "age_16_17", "source": "report_age", "dest": "report_verify", "before": "set_age_band"},
    {"trigger": "age_18_plus", "source": "report_age", "dest": "adult_signpost", "before": "set_age_band"},
    {"trigger": "leave", "source": "*", "dest": "closed"},
    {"trigger": "fallback", "source": "*", "dest": None, "after": "say_fallback"},
)


def state_options(conv: Conversation) -> tuple[str, ...]:
    """The quick replies a conversation offers now. They are also the only buttons the server accepts."""
    return options_in(conv.state)


def options_in(state: str) -> tuple[str, ...]:
    if state == "menu":
        return ("talk", "report", "advice", "leave")
    if state == "advice":
        return ("advice_fault", "advice_reporting", "advice_help", "talk", "menu")
    if state == "queue":
        return ("leave_queue", "advice", "report")
    if state == "report_age":
        return ("age_under_13", "age_13_15", "age_16_17", "age_18_plus", "menu")
    if state == "adult_signpost":
        return ("menu", "leave")
    if state in ("with_counsellor", "closed", "welcome"):
        return ()
    return ("talk", "menu")


class ChildDialog(DialogModel):
    """Callbacks of the main dialog. `self.turn.say` stores bot messages in the step's transaction."""

    # Conditions ------------------------------------------------------------------------------

    def counsellors_on(self) -> bool:
        config = self.turn.config
        return is_open(self.turn.now, config.opening_hours, config.timezone)

    # Entering states -------------------------------------------------------------------------

    def on_enter_menu(self) -> None:
        key = "menu" if self.conv.last_seq <= 1 else "menu_again"
        self.turn.say(key, options=options_in("menu"))

    def on_enter_advice(self) -> None:
        # A topic chosen inside advice has just been answered, with the options attached.
        if self.fired == "advice":
            self.turn.say("advice", options=options_in("advice"))

    def on_enter_queue(self) -> None:
        self.turn.say("talk_open", options=options_in("queue"))

    def on_enter_report_age(self) -> None:
        self.turn.say("report_age", options=options_in("report_age"))

    def on_enter_adult_signpost(self) -> None:
        self.turn.say("adult_signpost", options=options_in("adult_signpost"), links=("stop_ncii", "rsvh"))

    def on_enter_closed(self) -> None:
        self.conv.closed_at = self.turn.now
        self.turn.say("leave")

    # Saying things ---------------------------------------------------------------------------

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

    def say_already_waiting(self) -> None:
        self.turn.say("talk_already", options=options_in("queue"))

    def say_closed_hours(self) -> None:
        config = self.turn.config
        when = next_opening(self.turn.now, config.opening_hours, config.timezone)
        text = describe_opening(when, self.turn.now, config.timezone) if when else "later"
        self.turn.say("talk_closed", links=("childline",), when=text, options=options_in("menu"))

    def say_left_queue(self) -> None:
        self.turn.say("leave_queue", options=options_in("menu"))

    def say_counsellor_left(self) -> None:
        self.turn.say("counsellor_left", options=options_in("menu"))

    def set_age_band(self) -> None:
        self.conv.age_band = self.fired.removeprefix("age_")


MAIN_DIALOG = DialogDefinition(
    name="main",
    model=ChildDialog,
    states=STATES,
    transitions=TRANSITIONS,
    initial="welcome",
    start_trigger="start",
    options=state_options,
    quiet_states=frozenset({"with_counsellor"}),
)

__all__ = ["MAIN_DIALOG", "ChildDialog", "options_in", "state_options"]
