"""The part of the main dialog about reporting an image: age band, upload, confirm, submitted, withdraw, news."""

from __future__ import annotations

from typing import Any, Mapping

from bot.inquiries import do_answer_in_turn
from bot.models.chat import Conversation
from bot.review import do_withdraw_in_turn, get_withdrawable
from dialogs.engine import DialogModel
from dialogs.words import SAY

STATES = (
    "report_age",
    "report_upload",
    "report_confirm",
    "report_submitted",
    "report_withdraw_confirm",
    "report_answer",
    "adult_signpost",
)

# Where the child can be when our team's question arrives and still answer it with one tap.
ANSWERABLE = ("report_submitted", "menu", "advice")
# In these states whatever the child types is taken as it is (their answer), not read for a request.
TEXT_STATES = {"report_answer": "answer"}
# Ticket news that means a decision has been made: the report can no longer be withdrawn.
DECIDED_NEWS = ("actioned", "not_actioned", "withdrawn")

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
    # Withdrawing a report that is still waiting for a decision: ask first, then do it.
    {"trigger": "report_withdraw", "source": ["report_submitted", "menu", "advice"], "dest": "report_withdraw_confirm",
     "conditions": "has_withdrawable"},
    {"trigger": "report_withdraw", "source": ["report_submitted", "menu", "advice"], "dest": None,
     "after": "say_nothing_to_withdraw"},
    {"trigger": "report_withdraw_yes", "source": "report_withdraw_confirm", "dest": "menu",
     "before": "withdraw_report"},
    {"trigger": "report_withdraw_no", "source": "report_withdraw_confirm", "dest": "report_submitted",
     "after": "say_report_kept"},
    # Our team asked for more information (ticket news): the child answers in the chat.
    {"trigger": "report_answer", "source": list(ANSWERABLE), "dest": "report_answer", "conditions": "has_question"},
    {"trigger": "report_answer", "source": list(ANSWERABLE), "dest": None, "after": "say_no_question"},
    {"trigger": "answer", "source": "report_answer", "dest": "report_submitted", "before": "store_answer"},
    {"trigger": "report_answer_cancel", "source": "report_answer", "dest": "report_submitted",
     "after": "say_answer_later"},
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
        return ("menu", "talk", "report_withdraw", "leave")
    if state == "report_withdraw_confirm":
        return ("report_withdraw_yes", "report_withdraw_no")
    if state == "report_answer":
        return ("report_answer_cancel", "talk")
    if state in STATES:
        return ("talk", "menu")
    return None


def offered(conv: Conversation, ids: tuple[str, ...]) -> tuple[str, ...]:
    """A state's options, less what no longer makes sense and plus what the ticket news made possible."""
    context = conv.context or {}
    shown = list(ids)
    # Known only from the news the chat has heard; without that record, offer it (the step says "too late").
    if "report_withdraw" in shown and context.get("reports_open") == []:
        shown.remove("report_withdraw")
    if context.get("report_question") and conv.state in ANSWERABLE and "report_answer" not in shown:
        shown.insert(0, "report_answer")
    return tuple(shown)


def note_ticket_news(conv: Conversation, kind: str, facts: Mapping[str, Any]) -> bool:
    """Remember in the chat what ticket news changes about its options. True when something changed."""
    context = dict(conv.context or {})
    reference = facts.get("reference")
    question = context.get("report_question") or {}
    if kind in DECIDED_NEWS:
        context["reports_open"] = [r for r in context.get("reports_open", []) if r != reference]
        if question.get("id") == facts.get("report_id"):
            context.pop("report_question", None)
    elif kind == "needs_info":
        context["report_question"] = {"id": facts.get("report_id"), "reference": reference}
    else:
        return False
    conv.context = context
    return True


def _images(count: int) -> str:
    return "1 image" if count == 1 else f"{count} images"


def ticket_text(kind: str, facts: Mapping[str, Any]) -> str:
    """The words for ticket news (bot.tickets.Notifier): what happened to the child's report, said kindly."""
    reference = facts.get("reference", "")
    if kind == "in_review":
        return SAY["ticket_in_review_again" if facts.get("again") else "ticket_in_review"].format(reference=reference)
    if kind == "actioned":
        others = int(facts.get("others", 0))
        key = "ticket_actioned_some" if others else "ticket_actioned"
        return SAY[key].format(reference=reference, images=_images(int(facts.get("published", 0))),
                               others=_images(others))
    if kind == "not_actioned":
        reason = SAY.get(f"ticket_reason_{facts.get('reason')}", SAY["ticket_reason_other"])
        return SAY["ticket_not_actioned"].format(reference=reference, reason=reason)
    if kind == "needs_info":
        return SAY["ticket_needs_info"].format(reference=reference, message=facts.get("message", ""))
    if kind == "withdrawn":
        return SAY["ticket_withdrawn"].format(reference=reference)
    if kind == "purged":
        return SAY["ticket_purged_kept" if facts.get("hashes_kept") else "ticket_purged"].format(reference=reference)
    raise KeyError(f"no words for ticket news {kind!r}")


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
        context = dict(self.conv.context or {})
        context["reports_open"] = [*context.get("reports_open", []), report.reference]
        self.conv.context = context
        self.turn.say("report_submitted", reference=report.reference, images=_images(count),
                      options=options_in("report_submitted") or ())

    async def cancel_report(self) -> None:
        await self.reports.do_cancel(self.turn.session, self.conv, self.turn.now)
        self.turn.say("report_cancelled")

    async def has_withdrawable(self) -> bool:
        report = await get_withdrawable(self.turn.session, self.conv.child_id)
        if report is not None:
            # Remembered for the answer, so "yes" withdraws the report the child was asked about.
            self.conv.context = {**(self.conv.context or {}), "withdraw_report": report.id,
                                 "withdraw_reference": report.reference}
        return report is not None

    def on_enter_report_withdraw_confirm(self) -> None:
        self.turn.say("report_withdraw_ask", reference=self._withdraw_reference(),
                      options=options_in("report_withdraw_confirm") or ())

    def _withdraw_reference(self) -> str:
        return str((self.conv.context or {}).get("withdraw_reference", ""))

    def say_nothing_to_withdraw(self) -> None:
        self.turn.say("report_withdraw_none", options=options_in(self.state) or ("menu", "talk"))

    async def withdraw_report(self) -> None:
        context = dict(self.conv.context or {})
        report_id = context.pop("withdraw_report", None)
        context.pop("withdraw_reference", None)
        self.conv.context = context
        report = None
        if isinstance(report_id, int):
            report = await do_withdraw_in_turn(self.turn.session, self.conv.child_id, report_id, self.turn.now)
        if report is None:
            self.turn.say("report_withdraw_too_late")
        else:
            note_ticket_news(self.conv, "withdrawn", {"report_id": report.id, "reference": report.reference})
            self.turn.say("ticket_withdrawn", reference=report.reference)

    def say_report_kept(self) -> None:
        context = dict(self.conv.context or {})
        context.pop("withdraw_report", None)
        context.pop("withdraw_reference", None)
        self.conv.context = context
        self.turn.say("report_withdraw_kept", options=options_in("report_submitted") or ())

    # Answering our team's question -------------------------------------------------------------

    def has_question(self) -> bool:
        return bool((self.conv.context or {}).get("report_question"))

    def say_no_question(self) -> None:
        self.turn.say("report_answer_none", options=options_in(self.state) or ("menu", "talk"))

    def on_enter_report_answer(self) -> None:
        self.turn.say("report_answer_ask", options=options_in("report_answer") or ())

    async def store_answer(self) -> None:
        context = dict(self.conv.context or {})
        question = context.pop("report_question", None) or {}
        self.conv.context = context
        report = None
        if isinstance(question.get("id"), int) and self.turn.child_text:
            report = await do_answer_in_turn(self.turn.session, self.conv.child_id, question["id"],
                                             self.turn.child_text, self.turn.now)
        if report is None:
            self.turn.say("report_answer_none")
        else:
            self.turn.say("report_answer_thanks", reference=report.reference)

    def say_answer_later(self) -> None:
        self.turn.say("report_answer_later", options=options_in("report_submitted") or ())
