"""The chat widget in a real browser: sign-up and sign-in, chatting with the bot, safety, quick exit."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def register(page, base: str, username: str, password: str = "long enough pw") -> None:  # type: ignore[no-untyped-def]
    page.goto(base + "/chat")
    page.click("#tab-register")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#auth-submit")


def test_register_sign_out_sign_in_and_errors(site, context, shots) -> None:
    page = context.new_page()
    base = site.base_url
    name = f"kid{uuid.uuid4().hex[:6]}"
    register(page, base, name)
    expect(page.locator("#chat-view")).to_be_visible()
    expect(page.locator("#messages li.message--bot").first).to_contain_text("Haven's chat bot")
    page.click("#account-button")
    page.click("#sign-out")
    expect(page.locator("#auth-view")).to_be_visible()

    # Wrong password: one plain message that doesn't say which part was wrong.
    page.fill("#username", name)
    page.fill("#password", "not my password")
    page.click("#auth-submit")
    expect(page.locator("#auth-error")).to_have_text("That username and password don't match. Check them and try again.")

    page.fill("#password", "long enough pw")
    page.click("#auth-submit")
    expect(page.locator("#chat-view")).to_be_visible()
    expect(page.locator("#messages li.message--bot").first).to_contain_text("Haven's chat bot")
    page.click("#account-button")
    page.click("#sign-out")

    # Duplicate username and an over-long username each get their own message.
    page.click("#tab-register")
    page.fill("#username", name.upper())
    page.fill("#password", "long enough pw")
    page.click("#auth-submit")
    expect(page.locator("#auth-error")).to_have_text("That username is already taken. Please choose another one.")
    page.fill("#username", "x" * 30)
    page.click("#auth-submit")
    expect(page.locator("#auth-error")).to_have_text("Your username can be at most 24 characters long.")
    page.screenshot(path=str(shots / "widget-auth-errors.png"))


def test_counsellor_signs_in_to_the_console(site, context) -> None:
    page = context.new_page()
    page.goto(site.base_url + "/console")
    expect(page).to_have_url(re.compile(r"/staff/login\?next=/console$"))
    page.fill("#username", "counsellor-e2e")
    page.fill("#password", "counsellor pass 1")
    page.click("#staff-login button[type=submit]")
    expect(page).to_have_url(re.compile(r"/console$"))
    expect(page.locator("#page-title")).to_have_text("Counsellor console")
    expect(page.locator("#console-status")).to_have_text("Connected.")


def test_launcher_opens_the_widget_and_the_child_chats_with_the_bot(site, context, shots) -> None:
    page = context.new_page()
    page.goto(site.base_url + "/")
    page.click("#haven-launcher")
    frame = page.frame_locator("iframe#haven-frame")
    frame.locator("#tab-register").click()
    frame.locator("#username").fill(f"kid{uuid.uuid4().hex[:6]}")
    frame.locator("#password").fill("long enough pw")
    frame.locator("#auth-submit").click()
    expect(frame.locator("button.quick-reply[data-option=advice]")).to_be_visible()

    frame.locator("button.quick-reply[data-option=advice]").click()
    expect(frame.locator("button.quick-reply[data-option=advice_fault]")).to_be_visible()
    frame.locator("button.quick-reply[data-option=advice_fault]").click()
    expect(frame.locator("li.message--bot", has_text="It is not your fault")).to_be_visible()

    frame.locator("#message-input").fill("can I talk to someone")
    frame.locator("#send-button").click()
    expect(frame.locator("li.message--bot", has_text="I'll find a counsellor for you")).to_be_visible()
    own = frame.locator("li.message--child", has_text="can I talk to someone")
    expect(own).to_have_attribute("data-status", re.compile("sent|read"))
    page.screenshot(path=str(shots / "host-page-with-widget-360x740.png"))


def test_html_in_a_message_shows_as_text_and_runs_nothing(site, context) -> None:
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    register(page, site.base_url, f"kid{uuid.uuid4().hex[:6]}")
    payload = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    page.fill("#message-input", payload)
    page.click("#send-button")
    bubble = page.locator("li.message--child .message__text").last
    expect(bubble).to_have_text(payload)
    assert page.locator("#messages img").count() == 0
    assert page.locator("#messages script").count() == 0
    page.wait_for_timeout(300)
    assert dialogs == []


def test_layout_at_360_by_740(site, context, shots) -> None:
    page = context.new_page()
    register(page, site.base_url, f"kid{uuid.uuid4().hex[:6]}")
    expect(page.locator("button.quick-reply").first).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, "the widget scrolls sideways on a phone"
    for selector in ("#quick-exit", "#message-input", "#send-button", "button.quick-reply >> nth=0"):
        box = page.locator(selector).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 360 and box["height"] >= 44, selector
    page.screenshot(path=str(shots / "widget-360x740.png"), full_page=False)


@pytest.mark.parametrize("how", ["button", "shift-three-times"])
def test_quick_exit_lands_on_the_neutral_page_and_back_does_not_return(site, context, how: str) -> None:
    page = context.new_page()
    page.goto("about:blank")
    register(page, site.base_url, f"kid{uuid.uuid4().hex[:6]}")
    expect(page.locator("#messages li.message--bot").first).to_be_visible()
    if how == "button":
        page.click("#quick-exit")
    else:
        page.locator("#message-input").focus()
        for _ in range(3):
            page.keyboard.press("Shift")
    expect(page).to_have_url(site.base_url + "/neutral")
    expect(page).to_have_title(re.compile("Weather"))
    page.go_back()
    assert "/chat" not in page.url
