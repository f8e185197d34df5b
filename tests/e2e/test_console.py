"""A child and a counsellor in two browsers: ask for a person, take the chat, talk both ways, wrap up."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_child_asks_for_a_person_and_a_counsellor_takes_talks_and_wraps_up(site, browser, shots) -> None:
    child_ctx = browser.new_context(viewport={"width": 360, "height": 740})
    staff_ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    child_ctx.set_default_timeout(10_000)
    staff_ctx.set_default_timeout(10_000)
    try:
        child = child_ctx.new_page()
        child.goto(site.base_url + "/chat")
        child.click("#tab-register")
        child.fill("#username", f"kid{uuid.uuid4().hex[:6]}")
        child.fill("#password", "long enough pw")
        child.click("#auth-submit")
        child.locator("button.quick-reply[data-option=talk]").first.click()
        expect(child.locator("li.message--bot", has_text="I'll find a counsellor for you")).to_be_visible()
        expect(child.locator("#queue-banner")).to_contain_text("You're next in the queue")

        console = staff_ctx.new_page()
        console.goto(site.base_url + "/console")
        console.fill("#username", "counsellor-e2e")
        console.fill("#password", "counsellor pass 1")
        console.click("#staff-login button[type=submit]")
        expect(console).to_have_url(re.compile(r"/console$"))
        expect(console.locator("#waiting-count")).to_have_text("1 waiting")
        expect(console.locator("#status-select")).to_be_enabled()
        console.select_option("#status-select", "available")
        expect(console.locator("#console-status")).to_have_text("You are available.")
        console.click("#take-next")
        expect(console.locator("#chat-panel")).to_be_visible()
        # The whole transcript, including what the bot said before.
        expect(console.locator("#transcript li.msg--bot", has_text="I'll find a counsellor for you")).to_be_visible()
        expect(console.locator("#chat-state")).to_have_text("Talking with you")
        expect(console.locator("#waiting-count")).to_have_text("0 waiting")

        expect(child.locator("li.message--bot", has_text="A counsellor, counsellor-e2e, has joined the chat.")
               ).to_be_visible()

        console.fill("#reply-input", "Hi, I'm here to listen. What's going on?")
        console.click("#send-button")
        expect(child.locator("li.message--counsellor", has_text="I'm here to listen")).to_be_visible()

        child.fill("#message-input", "someone is sharing a picture of me")
        child.click("#send-button")
        expect(console.locator("#transcript li.msg--child", has_text="someone is sharing a picture of me")
               ).to_be_visible()

        console.fill("#reply-input", "Private: consider report flow")
        console.click("#note-button")
        expect(console.locator("#transcript li.msg--note", has_text="consider report flow")).to_be_visible()

        console.fill("#reply-input", "Thank you for telling me. You did the right thing.")
        console.press("#reply-input", "Enter")
        expect(child.locator("li.message--counsellor", has_text="You did the right thing")).to_be_visible()
        console.screenshot(path=str(shots / "console-live-chat-1280.png"), full_page=True)

        console.click("#end-chat")
        expect(console.locator("#wrap-up")).to_be_visible()
        console.click("#wrap-submit")
        expect(console.locator("#wrap-error")).to_have_text("Choose a risk level.")
        console.check("input[name=topic][value=images]")
        console.select_option("#wrap-risk", "medium")
        console.fill("#wrap-notes", "Suggested a report next time.")
        console.click("#wrap-submit")
        expect(console.locator("#console-status")).to_have_text("Chat ended and wrap-up saved.")
        expect(console.locator("#chat-panel")).to_be_hidden()
        expect(console.locator("#no-chats")).to_be_visible()

        expect(child.locator("li.message--bot", has_text="The counsellor has left the chat.")).to_be_visible()
        expect(child.locator("button.quick-reply[data-option=talk]").last).to_be_visible()
        # The private note never reached the child's page.
        assert "consider report flow" not in child.content()
        assert "Suggested a report" not in child.content()
        child.screenshot(path=str(shots / "widget-after-counsellor-chat-360x740.png"))
    finally:
        child_ctx.close()
        staff_ctx.close()
