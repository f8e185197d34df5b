"""The part of the main dialog about reporting an image: age band, upload, confirm, submitted."""

from __future__ import annotations

from typing import Any

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
    # Nothing to confirm until at least one image has arrived: stay, and say so.
    {"trigger": "upload_done", "source": "report_upload", "dest": "report_confirm", "conditions": "has_images"},
    {"trigger": "upload_done", "source": "report_upload", "dest": None, "after": "say_no_images"},
    {"trigger": "upload_more", "source": "report_confirm", "dest": "report_upload"},
    {"trigger": "report_submit", "source": "report_confirm", "dest": "report_submitted", "before": "submit_report"},
    {"trigger": "report_cancel", "source": ["report_upload", "report_confirm"], "dest": "menu",
     "before": "cancel_report"},
    # Fired by the upload handler after an image is stored. From any state, so an upload that finishes
    # just after the child moved on is never answered with "I didn't get that".
    {"trigger": "image_received", "source": "*", "dest": None, "after": "say_image_received"},
)


def options_in(state: str) -> tuple[str, ...] | None:
    if state == "report_age":
        return ("age_under_13", "age_13_15", "age_16_17", "age_18_plus", "menu")
    if state == "adult_signpost":
        return ("menu", "leave")
    if state == "report_upload":
        return ("upload_done", "report_cancel", "talk")
    if state == "report_confirm":
        return ("report_submit", "upload_more", "report_cancel")
    if state == "report_submitted":
        return ("menu", "talk", "leave")
    if state in STATES:
        return ("talk", "menu")
    return None


def _images(count: int) -> str:
    return "1 image" if count == 1 else f"{count} images"


class ReportingSteps(DialogModel):
    """Callbacks for the report flow. Mixed into the main dialog's model."""

    @property
    def reports(self) -> Any:
        # The ReportService create_app hands in; dialogs never build their own.
        return self.turn.services.reports

    def on_enter_report_age(self) -> None:
        self.turn.say("report_age", options=options_in("report_age") or ())

    def on_enter_adult_signpost(self) -> None:
        self.turn.say("adult_signpost", options=options_in("adult_signpost") or (), links=("stop_ncii", "rsvh"))

    def set_age_band(self) -> None:
        self.conv.age_band = self.fired.removeprefix("age_")

    async def on_enter_report_upload(self) -> None:
        report = await self.reports.do_open_draft(self.turn.session, self.conv, self.turn.now)
        count = await self.reports.get_image_count(self.turn.session, report.id)
        if count:
            self.turn.say("report_upload_more", images=_images(count), options=options_in("report_upload") or ())
        else:
            self.turn.say("report_upload", options=options_in("report_upload") or ())

    async def on_exit_report_upload(self) -> None:
        # An upload address handed out in this step must not outlive it.
        await self.reports.do_revoke_links(self.turn.session, self.conv.id, self.turn.now)

    async def has_images(self) -> bool:
        return bool(await self.reports.get_draft_count(self.turn.session, self.conv.id))

    def say_no_images(self) -> None:
        if self.state == "report_upload":
            self.turn.say("report_no_images", options=options_in("report_upload") or ())

    async def say_image_received(self) -> None:
        if self.state != "report_upload":
            return
        count = await self.reports.get_draft_count(self.turn.session, self.conv.id)
        if count:
            self.turn.say("report_image_received", images=_images(count))

    async def on_enter_report_confirm(self) -> None:
        count = await self.reports.get_draft_count(self.turn.session, self.conv.id)
        self.turn.say("report_confirm", images=_images(count), options=options_in("report_confirm") or ())

    async def submit_report(self) -> None:
        report, count = await self.reports.do_submit(self.turn.session, self.conv, self.turn.now)
        self.turn.say("report_submitted", reference=report.reference, images=_images(count),
                      options=options_in("report_submitted") or ())

    async def cancel_report(self) -> None:
        await self.reports.do_cancel(self.turn.session, self.conv, self.turn.now)
        self.turn.say("report_cancelled")
