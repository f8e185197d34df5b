"""The 13-15 age check in a real browser with the demo provider: age question, demo page, upload step."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from dialogs.words import SAY

pytestmark = pytest.mark.e2e


def test_13_to_15_goes_through_the_demo_check_to_the_upload_step(site, context, shots) -> None:
    page = context.new_page()
    page.goto(site.base_url + "/chat")
    page.click("#tab-register")
    page.fill("#username", f"kid{uuid.uuid4().hex[:6]}")
    page.fill("#password", "long enough pw")
    page.click("#auth-submit")

    page.click("button.quick-reply[data-option=report]")
    expect(page.locator("button.quick-reply[data-option=age_13_15]")).to_be_visible()
    page.click("button.quick-reply[data-option=age_13_15]")
    expect(page.locator("#messages li.message--bot").last).to_contain_text(
        "never your ID, photo or date of birth")
    page.click("button.quick-reply[data-option=verify_start]")

    link = page.get_by_role("link", name="Check my age")
    expect(link).to_be_visible()
    expect(link).to_have_attribute("target", "_blank")
    expect(page.locator("button.quick-reply[data-option=verify_done]")).to_be_visible()
    page.screenshot(path=str(shots / "verify-link.png"))

    # The check opens in a new tab, clearly labelled as a demonstration.
    with context.expect_page() as opened:
        link.click()
    demo = opened.value
    demo.wait_for_load_state()
    expect(demo).to_have_url(re.compile(r"/verify/demo/[A-Za-z0-9_-]+$"))
    expect(demo.locator(".verify__banner")).to_contain_text("DEMONSTRATION")
    under = demo.get_by_role("button", name="I am under 18")
    expect(under).to_be_visible()
    demo.screenshot(path=str(shots / "verify-demo-page.png"))
    under.focus()
    demo.keyboard.press("Enter")  # the buttons work from the keyboard
    expect(demo.locator("#demo-done")).to_have_text("Done")
    expect(demo.get_by_role("status")).to_contain_text("go back to the chat")
    demo.close()

    # Back in the chat, which has moved on by itself to the upload step.
    expect(page.locator("#messages")).to_contain_text("The check says you're under 18")
    # The upload step's own first words (the report area owns them), shown as the state changed.
    expect(page.locator("#messages li.message--bot").last).to_contain_text(SAY["report_upload"].split(".")[0])
    expect(page.locator("button.quick-reply[data-option=verify_done]")).to_have_count(0)
    page.screenshot(path=str(shots / "verify-upload-step.png"))
