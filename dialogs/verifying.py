"""The part of the report flow that checks a 13-17 year-old is under 18, through an identity provider."""

from __future__ import annotations

from dialogs.engine import DialogModel

STATES = ("report_verify", "report_verifying", "report_not_verified")

TRANSITIONS: tuple[dict[str, object], ...] = ()


def options_in(state: str) -> tuple[str, ...] | None:
    if state in STATES:
        return ("talk", "menu")
    return None


class VerifyingSteps(DialogModel):
    """Callbacks for the age check. Mixed into the main dialog's model."""
