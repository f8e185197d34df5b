"""The part of the main dialog about reaching a person: the queue and the live chat with a counsellor."""

from __future__ import annotations

from bot.hours import describe_opening, is_open, next_opening
from dialogs.engine import DialogModel

STATES = ("queue", "with_counsellor")

TRANSITIONS: tuple[dict[str, object], ...] = (
    # Asking for a person works from any state. Whether they go to the queue depends on opening hours.
    {"trigger": "talk", "source": "queue", "dest": None, "after": "say_already_waiting"},
    {"trigger": "talk", "source": "with_counsellor", "dest": None},
    {"trigger": "talk", "source": "*", "dest": "queue", "conditions": "counsellors_on"},
    {"trigger": "talk", "source": "*", "dest": "menu", "unless": "counsellors_on", "before": "say_closed_hours"},
    {"trigger": "leave_queue", "source": "queue", "dest": "menu", "before": "say_left_queue"},
    {"trigger": "counsellor_joined", "source": "*", "dest": "with_counsellor"},
    {"trigger": "counsellor_left", "source": "with_counsellor", "dest": "menu", "before": "say_counsellor_left"},
)


def options_in(state: str) -> tuple[str, ...] | None:
    if state == "queue":
        return ("leave_queue", "advice", "report")
    if state == "with_counsellor":
        return ()
    return None


class CounsellingSteps(DialogModel):
    """Callbacks for the queue and the live chat. Mixed into the main dialog's model."""

    def counsellors_on(self) -> bool:
        config = self.turn.config
        return is_open(self.turn.now, config.opening_hours, config.timezone)

    def on_enter_queue(self) -> None:
        self.turn.say("talk_open", options=options_in("queue") or ())

    def say_already_waiting(self) -> None:
        self.turn.say("talk_already", options=options_in("queue") or ())

    def say_closed_hours(self) -> None:
        config = self.turn.config
        when = next_opening(self.turn.now, config.opening_hours, config.timezone)
        text = describe_opening(when, self.turn.now, config.timezone) if when else "later"
        self.turn.say("talk_closed", links=("childline",), when=text, options=self.menu_options())

    def say_left_queue(self) -> None:
        self.turn.say("leave_queue")

    def say_counsellor_left(self) -> None:
        self.turn.say("counsellor_left")
