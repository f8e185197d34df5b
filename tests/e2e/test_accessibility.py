"""axe-core (from npm) on every page with the WCAG 2.2 A and AA rules: 0 violations.

The pages' CSP refuses an injected script tag, so the library's source is evaluated in the page instead.
"""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import register, run_axe, send_report, staff_sign_in
from tests.imagefactory import make_image

pytestmark = pytest.mark.e2e


def test_the_host_page_the_chat_and_staff_sign_in(site, context) -> None:
    page = context.new_page()
    page.goto(site.base_url + "/")
    run_axe(page, "/ (host page)")
    page.click("#haven-launcher")
    frame = page.frame("haven-frame") or next(f for f in page.frames if f.url.endswith("/chat"))
    frame.wait_for_selector("#auth-view")
    run_axe(page, "/ with the chat panel open", frame=frame)

    page.goto(site.base_url + "/chat")
    run_axe(page, "/chat signed out")
    page.click("#tab-register")
    run_axe(page, "/chat register tab")

    register(page, site.base_url)
    expect(page.locator("button.quick-reply").first).to_be_visible()
    run_axe(page, "/chat signed in")
    page.click("#account-button")
    run_axe(page, "/chat account menu open")
    page.keyboard.press("Escape")
    page.click("button.quick-reply[data-option=report]")
    page.click("button.quick-reply[data-option=age_under_13]")
    expect(page.locator("#upload-panel")).to_be_visible()
    page.set_input_files("#upload-input", files=[
        {"name": "one.jpg", "mimeType": "image/jpeg", "buffer": make_image(320, 240, seed=91)}])
    expect(page.locator('#upload-list li[data-state="done"]')).to_have_count(1, timeout=30_000)
    run_axe(page, "/chat upload step")

    page.goto(site.base_url + "/staff/login")
    run_axe(page, "/staff/login")


def test_the_staff_pages_with_work_on_them(site, browser) -> None:
    supervisor = f"sup{uuid.uuid4().hex[:6]}"
    analyst = f"ana{uuid.uuid4().hex[:6]}"
    site.create_user("supervisor", supervisor, "supervisor pass 1")
    site.create_user("analyst", analyst, "analyst pass 1")
    child_ctx = browser.new_context(viewport={"width": 360, "height": 740})
    # One browser per member of staff: each has their own session.
    staff_ctx, sup_ctx, ana_ctx = (browser.new_context(viewport={"width": 1280, "height": 900}) for _ in range(3))
    for ctx in (child_ctx, staff_ctx, sup_ctx, ana_ctx):
        ctx.set_default_timeout(10_000)
    try:
        # A child sends a report, then asks for a person.
        child = child_ctx.new_page()
        register(child, site.base_url)
        send_report(child, seed=92)
        child.fill("#message-input", "can I talk to someone")
        child.click("#send-button")
        expect(child.locator("#queue-banner")).to_contain_text("queue")

        console = staff_sign_in(staff_ctx.new_page(), site.base_url, "/console", "counsellor-e2e", "counsellor pass 1")
        expect(console.locator("#status-select")).to_be_enabled()
        run_axe(console, "/console, nothing open")
        console.select_option("#status-select", "available")
        console.click("#take-next")
        expect(console.locator("#chat-panel")).to_be_visible()
        expect(console.locator("#transcript li").first).to_be_visible()
        run_axe(console, "/console with a chat")
        console.click("#end-chat")
        run_axe(console, "/console wrap-up form")
        console.click("#wrap-cancel")

        dash = staff_sign_in(sup_ctx.new_page(), site.base_url, "/supervisor", supervisor, "supervisor pass 1")
        expect(dash.locator("#supervisor-status")).to_have_text("Connected.")
        expect(dash.locator("#active-rows tr")).to_have_count(1)
        run_axe(dash, "/supervisor")
        dash.locator("#active-rows button", has_text="Read").click()
        expect(dash.locator("#monitor")).to_be_visible()
        run_axe(dash, "/supervisor reading a chat")

        review = staff_sign_in(ana_ctx.new_page(), site.base_url, "/review", analyst, "analyst pass 1")
        expect(review.locator("button.queue-item").first).to_be_visible()
        run_axe(review, "/review with the queue")
        review.locator("button.queue-item").first.click()
        expect(review.locator("#report-title")).to_have_text(re.compile(r"Report HVN-"))
        expect(review.locator("li.image-card img").first).to_have_attribute("src", re.compile(r"^blob:"))
        run_axe(review, "/review with a report")
    finally:
        for ctx in (child_ctx, staff_ctx, sup_ctx, ana_ctx):
            ctx.close()
