"""Quick exit as a safety feature: it works when a widget module fails to load, from the host page around the
open panel, and it locks the chat on this device (reopening asks to sign in; signing in brings it all back)."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import CHILD_PASSWORD, register

pytestmark = pytest.mark.e2e


def sign_in(scope, username: str) -> None:  # type: ignore[no-untyped-def]
    scope.locator("#username").fill(username)
    scope.locator("#password").fill(CHILD_PASSWORD)
    scope.locator("#auth-submit").click()


@pytest.mark.parametrize("how", ["button", "shift-three-times"])
def test_quick_exit_works_with_a_widget_module_failing_and_locks_the_chat(site, context, how: str) -> None:
    page = context.new_page()
    name = register(page, site.base_url)
    secret = f"something private {uuid.uuid4().hex[:6]}"
    page.fill("#message-input", secret)
    page.click("#send-button")
    expect(page.locator("li.message--child", has_text=secret)).to_have_attribute("data-status", "read")

    # A second visit where one widget module cannot load: the page shows, the chat code never runs.
    broken = context.new_page()
    broken.route("**/static/chat/render.js*", lambda route: route.abort())
    failed: list[str] = []
    broken.on("requestfailed", lambda request: failed.append(request.url))
    broken.goto(site.base_url + "/chat")
    expect(broken.locator("#quick-exit")).to_be_visible()
    assert any("/static/chat/render.js" in url for url in failed)
    assert broken.locator("#messages li").count() == 0  # nothing of the chat has loaded
    if how == "button":
        broken.click("#quick-exit")
    else:
        broken.locator("body").click(position={"x": 5, "y": 200})
        for _ in range(3):
            broken.keyboard.press("Shift")
    expect(broken).to_have_url(site.base_url + "/neutral")

    # Locked on this device: the chat asks whoever holds the phone to sign in ...
    again = context.new_page()
    again.goto(site.base_url + "/chat")
    expect(again.locator("#auth-view")).to_be_visible()
    expect(again.locator("#chat-view")).to_be_hidden()
    assert secret not in again.content()
    # ... and the child signing in finds the whole conversation kept.
    sign_in(again, name)
    expect(again.locator("li.message--child", has_text=secret)).to_be_visible()
    # The tab that was open before is signed out too: its socket was closed with the session.
    expect(page.locator("#auth-view")).to_be_visible()


def test_shift_three_times_on_the_host_page_with_the_panel_open(site, browser, shots) -> None:
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    ctx.set_default_timeout(10_000)
    try:
        page = ctx.new_page()
        page.goto(site.base_url + "/")
        page.click("#haven-launcher")
        frame = page.frame_locator("iframe#haven-frame")
        name = f"kid{uuid.uuid4().hex[:6]}"
        frame.locator("#tab-register").click()
        frame.locator("#username").fill(name)
        frame.locator("#password").fill(CHILD_PASSWORD)
        frame.locator("#auth-submit").click()
        secret = f"host page secret {uuid.uuid4().hex[:6]}"
        frame.locator("#message-input").fill(secret)
        frame.locator("#send-button").click()
        expect(frame.locator("li.message--child", has_text=secret)).to_have_attribute("data-status", "read")
        # One title bar: the panel has none of its own, the chat's header has the close button.
        expect(page.locator("#haven-panel .haven-panel__bar")).to_have_count(0)
        expect(frame.locator("#close-chat")).to_be_visible()
        page.screenshot(path=str(shots / "host-panel-open-1280.png"))

        # Focus goes back to the host page around the open panel: Shift x3 there still leaves, and locks.
        page.locator("h1").click()
        assert page.evaluate("document.activeElement.tagName") != "IFRAME"
        for _ in range(3):
            page.keyboard.press("Shift")
        expect(page).to_have_url(site.base_url + "/neutral")
        page.go_back()
        assert page.url != site.base_url + "/"

        page.goto(site.base_url + "/")
        page.click("#haven-launcher")
        frame = page.frame_locator("iframe#haven-frame")
        expect(frame.locator("#auth-view")).to_be_visible()
        frame.locator("#username").fill(name)
        frame.locator("#password").fill(CHILD_PASSWORD)
        frame.locator("#auth-submit").click()
        expect(frame.locator("li.message--child", has_text=secret)).to_be_visible()
        # The close button in the chat's header closes the panel.
        frame.locator("#close-chat").click()
        expect(page.locator("#haven-panel")).to_be_hidden()
        expect(page.locator("#haven-launcher")).to_be_focused()
    finally:
        ctx.close()
