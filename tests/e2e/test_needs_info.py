"""The "needs info" thread in two browsers: the analyst asks, the child answers in the chat, the analyst is told
and sees the answer beside the report, which is back in the review queue."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import (
    assert_newest_message_in_view,
    register,
    send_report,
    staff_sign_in,
)

pytestmark = pytest.mark.e2e


def test_the_analyst_asks_the_child_answers_in_the_chat_and_the_analyst_sees_it(site, browser, shots) -> None:
    analyst = f"ana{uuid.uuid4().hex[:6]}"
    site.create_user("analyst", analyst, "analyst pass 1")
    child_ctx = browser.new_context(viewport={"width": 360, "height": 740}, has_touch=True)
    staff_ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    for ctx in (child_ctx, staff_ctx):
        ctx.set_default_timeout(10_000)
    try:
        child = child_ctx.new_page()
        register(child, site.base_url)
        reference = send_report(child, seed=71)

        review = staff_ctx.new_page()
        review.clock.install()  # the console looks for answers every 15 s: the test moves its clock on
        staff_sign_in(review, site.base_url, "/review", analyst, "analyst pass 1")
        review.locator("button.queue-item", has_text=reference).click()
        expect(review.locator("#report-status")).to_have_text("In review")
        expect(review.locator("#thread")).to_be_hidden()
        review.check("input[name=outcome][value=needs_info]")
        question = "Do you know which app it was shared on?"
        review.fill("#decide-message", question)
        review.click("#decide-submit")
        expect(review.locator("#report-status")).to_have_text("Waiting for more information")
        expect(review.locator("#answers-alert")).to_be_hidden()

        # The question reaches the child's chat, with a button to answer it.
        expect(child.locator("#messages li.message--bot").last).to_contain_text(f'They asked: "{question}"')
        answer_button = child.locator("button.quick-reply[data-option=report_answer]")
        expect(answer_button).to_be_visible()
        assert_newest_message_in_view(child, "the question")
        child.screenshot(path=str(shots / "needs-info-child-question-360x740.png"))
        answer_button.click()
        expect(child.locator("#messages li.message--bot").last).to_contain_text("Type your answer below")
        answer = "It was on a group chat at school"
        child.fill("#message-input", answer)
        child.click("#send-button")
        expect(child.locator("#messages li.message--bot").last).to_contain_text(
            f"passed your answer to our team with report {reference}")
        expect(answer_button).to_have_count(0)

        # The analyst is told without reloading, and the report is back in the queue.
        review.clock.fast_forward("00:16")
        alert = review.locator("#answers-alert")
        expect(alert).to_be_visible()
        expect(alert).to_contain_text(f"The child has answered your question on report {reference}.")
        expect(review).to_have_title(re.compile(r"^\(1 answered\) "))
        expect(review.locator("button.queue-item", has_text=reference)).to_contain_text("the child answered")
        expect(review.locator("button.queue-item", has_text=reference)).to_contain_text("Waiting for review")
        review.click("#answers-open")
        expect(review.locator("#report-status")).to_have_text("In review")
        items = review.locator("#thread-list li")
        expect(items).to_have_count(2)
        expect(items.nth(0)).to_contain_text(question)
        expect(items.nth(0)).to_contain_text("Our team asked")
        expect(items.nth(1)).to_contain_text(answer)
        expect(items.nth(1).locator(".tag-new")).to_have_text("New")
        expect(items.nth(1).locator(".meta")).to_contain_text(re.compile(r"The child answered · \d\d:\d\d"))
        review.screenshot(path=str(shots / "needs-info-review-thread-1280.png"))
        expect(child.locator("#messages li.message--bot").last).to_contain_text(
            f"looking at your report {reference} again")

        # Opened: no longer news.
        review.clock.fast_forward("00:16")
        expect(review.locator("#answers-alert")).to_be_hidden()
        expect(review).to_have_title("Review console – Haven")
    finally:
        child_ctx.close()
        staff_ctx.close()
