"""The supervisor dashboard in a browser while one child waits and another talks with a counsellor:
the figures shown, reading the live chat, a whisper only the counsellor sees, the metrics charts."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def child_asks_for_a_person(ctx: Any, base_url: str) -> Any:
    page = ctx.new_page()
    page.goto(base_url + "/chat")
    page.click("#tab-register")
    page.fill("#username", f"kid{uuid.uuid4().hex[:6]}")
    page.fill("#password", "long enough pw")
    page.click("#auth-submit")
    page.locator("button.quick-reply[data-option=talk]").first.click()
    expect(page.locator("li.message--bot", has_text="I'll find a counsellor for you")).to_be_visible()
    return page


def staff_sign_in(ctx: Any, base_url: str, path: str, username: str, password: str) -> Any:
    page = ctx.new_page()
    page.goto(base_url + path)
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#staff-login button[type=submit]")
    expect(page).to_have_url(re.compile(path + "$"))
    return page


def test_dashboard_shows_a_waiting_child_and_a_live_chat_reads_it_and_whispers(site, browser, shots) -> None:
    supervisor_name = f"sup{uuid.uuid4().hex[:6]}"
    site.create_user("supervisor", supervisor_name, "supervisor pass 1")
    contexts = [browser.new_context(viewport=size) for size in
                ({"width": 360, "height": 740}, {"width": 360, "height": 740}, {"width": 1280, "height": 900},
                 {"width": 1366, "height": 1000})]
    for ctx in contexts:
        ctx.set_default_timeout(10_000)
    talking_ctx, waiting_ctx, console_ctx, dash_ctx = contexts
    try:
        dash = staff_sign_in(dash_ctx, site.base_url, "/supervisor", supervisor_name, "supervisor pass 1")
        expect(dash.locator("#supervisor-status")).to_have_text("Connected.")
        expect(dash.locator("#health")).to_have_attribute("data-light", "green")
        expect(dash.locator("#fig-waiting")).to_have_text("0")

        # One child asks for a person: pushed to the dashboard at once; nobody is free, so amber.
        talking = child_asks_for_a_person(talking_ctx, site.base_url)
        expect(dash.locator("#fig-waiting")).to_have_text("1")
        expect(dash.locator("#health")).to_have_attribute("data-light", "amber")
        expect(dash.locator("#health-reasons")).to_contain_text("no counsellor is free")

        console = staff_sign_in(console_ctx, site.base_url, "/console", "counsellor-e2e", "counsellor pass 1")
        expect(console.locator("#status-select")).to_be_enabled()
        console.select_option("#status-select", "available")
        expect(console.locator("#console-status")).to_have_text("You are available.")
        expect(dash.locator("#fig-online")).to_have_text("1")
        console.click("#take-next")
        expect(console.locator("#chat-panel")).to_be_visible()
        console.fill("#reply-input", "Hi, I'm here to listen.")
        console.click("#send-button")
        expect(talking.locator("li.message--counsellor", has_text="I'm here to listen")).to_be_visible()
        talking.fill("#message-input", "thanks, it's about school")
        talking.click("#send-button")
        expect(console.locator("#transcript li.msg--child", has_text="it's about school")).to_be_visible()

        # A second child waits while the first chats.
        waiting = child_asks_for_a_person(waiting_ctx, site.base_url)
        expect(waiting.locator("#queue-banner")).to_contain_text("queue")

        expect(dash.locator("#fig-waiting")).to_have_text("1")
        expect(dash.locator("#fig-active")).to_have_text("1")
        expect(dash.locator("#fig-online")).to_have_text("1")
        expect(dash.locator("#fig-team")).to_have_text("1 available · 0 busy · 0 away")
        expect(dash.locator("#fig-load")).to_have_text("1 / 2")
        expect(dash.locator("#fig-priority")).to_have_text("0 urgent · 0 worrying · 1 standard")
        expect(dash.locator("#fig-longest")).to_have_text(re.compile(r"^\d+ s$|^\d+ min"))
        expect(dash.locator("#health")).to_have_attribute("data-light", "green")
        expect(dash.locator("#waiting-rows tr")).to_have_count(1)
        expect(dash.locator("#active-rows tr")).to_have_count(1)
        expect(dash.locator("#active-rows tr").first).to_contain_text("counsellor-e2e")
        expect(dash.locator("#team-rows tr", has_text="counsellor-e2e")).to_contain_text("Available")
        expect(dash.locator("#team-rows tr", has_text="counsellor-e2e")).to_contain_text("1 / 2")

        # Metrics: one child reached a counsellor so far; the charts are drawn.
        dash.click("#period-form button[type=submit]")
        expect(dash.locator("#metrics-summary")).to_contain_text("1 child reached a counsellor")
        assert dash.evaluate("() => Boolean(window.Chart && window.Chart.getChart('chart-wait'))")
        csv_href = dash.get_attribute("#csv-link", "href")
        assert csv_href.startswith("/supervisor/metrics.csv?from=")

        # Read the live chat: the whole transcript, and the child is told nothing.
        messages_before = talking.locator("li.message").count()
        dash.locator("#active-rows tr").first.get_by_role("button", name="Read").click()
        expect(dash.locator("#monitor")).to_be_visible()
        expect(dash.locator("#monitor-transcript li.msg--child", has_text="it's about school")).to_be_visible()
        dash.fill("#whisper-input", "Ask whether an adult at school can help")
        dash.click("#whisper-form button[type=submit]")
        expect(dash.locator("#supervisor-status")).to_have_text("Whisper sent to the counsellor.")
        expect(console.locator("#transcript li.msg--whisper", has_text="an adult at school")).to_be_visible()
        expect(console.locator("#transcript li.msg--whisper .msg__meta")).to_contain_text(
            f"Whisper from supervisor {supervisor_name}")
        expect(dash.locator("#monitor-transcript li.msg--whisper", has_text="an adult at school")).to_be_visible()
        # The counsellor's next reply reaches the child; the whisper and the reading never do.
        console.fill("#reply-input", "Is there a teacher you trust?")
        console.click("#send-button")
        expect(talking.locator("li.message--counsellor", has_text="teacher you trust")).to_be_visible()
        assert talking.locator("li.message").count() == messages_before + 1
        expect(talking.locator("body")).not_to_contain_text("adult at school")
        expect(talking.locator("body")).not_to_contain_text(supervisor_name)
        dash.screenshot(path=str(shots / "supervisor-dashboard-1366.png"), full_page=True)
    finally:
        for ctx in contexts:
            ctx.close()
