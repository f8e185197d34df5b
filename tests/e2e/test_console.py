"""A child and a counsellor in two browsers: ask for a person, take the chat, talk both ways, wrap up."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import register

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
        expect(console).to_have_title("(1 waiting) Counsellor console – Haven")
        expect(console.locator("#status-select")).to_be_enabled()
        # The state labels come from the server's vocabulary (hello); until it sends one, plain state names.
        vocabulary = console.evaluate("""async () => {
            const s = io('/counsellor', {transports: ['websocket']});
            const reply = await s.timeout(10000).emitWithAck('hello');
            s.disconnect();
            return reply.vocabulary || null;
        }""")
        talking = (vocabulary or {}).get("states", {}).get("with_counsellor", "With counsellor")
        console.select_option("#status-select", "available")
        expect(console.locator("#console-status")).to_have_text("You are available.")
        console.keyboard.press("Alt+t")  # the shortcut for "Take next"
        expect(console.locator("#chat-panel")).to_be_visible()
        # The whole transcript, including what the bot said before.
        expect(console.locator("#transcript li.msg--bot", has_text="I'll find a counsellor for you")).to_be_visible()
        expect(console.locator("#chat-state")).to_have_text(talking)
        expect(console.locator("#waiting-count")).to_have_text("0 waiting")
        expect(console).to_have_title("Counsellor console – Haven")
        # Already talking: no "Take over from the bot"; the child's first chat, so no earlier ones.
        expect(console.locator("#resume")).to_be_hidden()
        expect(console.locator("#no-history")).to_have_text("This is the child's first chat.")
        # 24-hour times everywhere.
        meta = console.locator("#transcript .msg__meta").first.inner_text()
        assert re.search(r"\b([01]\d|2[0-3]):[0-5]\d\b", meta) and not re.search(r"[AP]M", meta, re.I), meta

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
        console.press("#reply-input", "Control+Enter")  # the shortcut for a private note
        expect(console.locator("#transcript li.msg--note", has_text="consider report flow")).to_be_visible()

        # Many messages: the transcript scrolls on its own; the page, the chat list and the facts stay put.
        for n in range(14):
            child.fill("#message-input", f"message number {n}")
            child.click("#send-button")
        expect(console.locator("#transcript li.msg--child", has_text="message number 13")).to_be_visible()
        assert console.evaluate("document.scrollingElement.scrollTop") == 0
        assert console.evaluate("document.scrollingElement.scrollHeight <= innerHeight + 1")
        console.screenshot(path=str(shots / "console-many-messages-1280.png"))
        for selector in ("#chat-list", "#chat-state", "#reply-input", "#send-button", "#end-chat", "#page-title"):
            box = console.locator(selector).bounding_box()
            assert box and box["y"] >= 0 and box["y"] + box["height"] <= 900, selector
        scroller = console.locator("#transcript")
        assert scroller.evaluate("el => el.scrollHeight > el.clientHeight"), "the transcript should scroll"
        newest = console.locator("#transcript li").last.bounding_box()
        area = scroller.bounding_box()
        assert newest and area and newest["y"] + newest["height"] <= area["y"] + area["height"] + 1
        # "End chat..." is not next to Send and does not look like it.
        send, end = console.locator("#send-button"), console.locator("#end-chat")
        assert send.evaluate("el => getComputedStyle(el).backgroundColor") != end.evaluate(
            "el => getComputedStyle(el).backgroundColor")

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


def test_earlier_chats_beside_the_transcript_transfer_to_a_picked_colleague_and_next_chat(site, browser, shots) -> None:
    colleague = f"co{uuid.uuid4().hex[:6]}"
    site.create_user("counsellor", colleague, "counsellor pass 2")
    child_ctx = browser.new_context(viewport={"width": 360, "height": 740})
    one_ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    two_ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    for ctx in (child_ctx, one_ctx, two_ctx):
        ctx.set_default_timeout(10_000)
    try:
        child = child_ctx.new_page()
        register(child, site.base_url)
        child.locator("button.quick-reply[data-option=talk]").first.click()

        one = sign_in_counsellor(one_ctx, site.base_url, "counsellor-e2e", "counsellor pass 1")
        one.click("#take-next")
        expect(one.locator("#chat-panel")).to_be_visible()
        one.click("#end-chat")
        one.select_option("#wrap-risk", "medium")
        one.check("input[name=topic][value=family]")
        one.fill("#wrap-notes", "Worried about arguments at home; agreed to come back.")
        one.click("#wrap-submit")
        expect(one.locator("#console-status")).to_have_text("Chat ended and wrap-up saved.")
        child.locator("button.quick-reply[data-option=leave]").last.click()
        expect(child.locator("li.message--bot", has_text="Take care")).to_be_visible()

        # Another day: a new chat. The counsellor sees the earlier one, with its notes, beside the transcript.
        child.reload()
        child.locator("button.quick-reply[data-option=talk]").first.click()
        one.click("#take-next")
        earlier = one.locator("#history-list li.history-item")
        expect(earlier).to_have_count(1)
        expect(earlier).to_contain_text("Worried about arguments at home; agreed to come back.")
        expect(earlier).to_contain_text("counsellor-e2e · risk medium · family")
        expect(earlier).to_contain_text(re.compile(r"\d\d:\d\d"))
        one.screenshot(path=str(shots / "console-earlier-chats-1280.png"))

        # Transfer by picking an online colleague, shown with their load.
        two = sign_in_counsellor(two_ctx, site.base_url, colleague, "counsellor pass 2")
        one.focus("#transfer-to")
        picked = one.locator("#transfer-to option", has_text=colleague)
        expect(picked).to_have_text(f"{colleague} (available, 0 of 2 chats)")
        one.select_option("#transfer-to", colleague)
        one.click("#transfer-form button[type=submit]")
        expect(one.locator("#console-status")).to_have_text(f"Chat transferred to {colleague}.")
        expect(two.locator("#alerts")).to_contain_text("was transferred to you")

        # Alt+N opens the next chat (the one with unread messages).
        child.fill("#message-input", "are you still there?")
        child.click("#send-button")
        expect(two.locator("#chat-list button")).to_contain_text("unread")
        expect(two).to_have_title(re.compile(r"^\(\d+ unread\) Counsellor console"))
        two.keyboard.press("Alt+n")
        expect(two.locator("#chat-panel")).to_be_visible()
        expect(two.locator("#transcript li.msg--child", has_text="are you still there?")).to_be_visible()
        expect(two).to_have_title("Counsellor console – Haven")
    finally:
        for ctx in (child_ctx, one_ctx, two_ctx):
            ctx.close()


def sign_in_counsellor(ctx, base: str, username: str, password: str):  # type: ignore[no-untyped-def]
    page = ctx.new_page()
    page.goto(base + "/console")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#staff-login button[type=submit]")
    expect(page.locator("#status-select")).to_be_enabled()
    page.select_option("#status-select", "available")
    expect(page.locator("#console-status")).to_have_text("You are available.")
    return page
