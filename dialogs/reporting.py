"""The part of the main dialog about reporting an image: age band, upload, confirm, submitted."""

from __future__ import annotations

from dialogs.engine import DialogModel

STATES = (
    "report_age",
    "report_upload",
    "report_confirm",
    "report_submitted",
    "adult_signpost",
)

TRANSITIONS: tuple[dict[str, object], ...] = (
    {"trigger": "age_under_13", "source": "report_age", "dest": "report_upload", "before": "set_age_band"},
    {"trigger": "age_13_15", "source": "report_age", "dest": "report_verify", "before": "set_age_band"},
    {"trigger": "age_16_17", "source": "report_age", "dest": "report_verify", "before": "set_age_band"},
    {"trigger": "age_18_plus", "source": "report_age", "dest": "adult_signpost", "before": "set_age_band"},
)


def options_in(state: str) -> tuple[str, ...] | None:
    if state == "report_age":
        return ("age_under_13", "age_13_15", "age_16_17", "age_18_plus", "menu")
    if state == "adult_signpost":
        return ("menu", "leave")
    if state in STATES:
        return ("talk", "menu")
    return None


class ReportingSteps(DialogModel):
    """Callbacks for the report flow. Mixed into the main dialog's model."""

    def on_enter_report_age(self) -> None:
        self.turn.say("report_age", options=options_in("report_age") or ())

    def on_enter_adult_signpost(self) -> None:
        self.turn.say("adult_signpost", options=options_in("adult_signpost") or (), links=("stop_ncii", "rsvh"))

    def set_age_band(self) -> None:
        self.conv.age_band = self.fired.removeprefix("age_")
