"""An analyst reviews a child's report in a real browser, by keyboard: preview, reveal, assess, decide, break."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.imagefactory import make_image

pytestmark = pytest.mark.e2e


def test_an_analyst_reviews_a_report_with_the_keyboard(site, browser, shots) -> None:
    site.create_user("analyst", "analyst-e2e", "analyst pass 1")
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
        child.click("button.quick-reply[data-option=report]")
        child.click("button.quick-reply[data-option=age_under_13]")
        child.set_input_files("#upload-input", files=[
            {"name": "one.jpg", "mimeType": "image/jpeg", "buffer": make_image(640, 480, seed=31)},
            {"name": "two.jpg", "mimeType": "image/jpeg", "buffer": make_image(480, 640, kind="text", seed=32)},
        ])
        expect(child.locator('#upload-list li[data-state="done"]')).to_have_count(2, timeout=30_000)
        child.click("#upload-done")
        child.click("button.quick-reply[data-option=report_submit]")
        sent = child.locator("#messages li.message--bot", has_text="Your reference is")
        expect(sent).to_be_visible()
        reference = re.search(r"HVN-[0-9A-Z]{4}-[0-9A-Z]{2}", sent.inner_text()).group(0)  # type: ignore[union-attr]

        review = staff_ctx.new_page()
        # A controllable clock, so the break reminder can be reached without waiting half an hour.
        review.clock.install()
        image_requests: list[str] = []
        review.on("request", lambda r: image_requests.append(f"{r.method} {r.url}") if "/review/images/" in r.url
                  else None)
        review.goto(site.base_url + "/review")
        review.fill("#username", "analyst-e2e")
        review.fill("#password", "analyst pass 1")
        review.click("#staff-login button[type=submit]")
        expect(review).to_have_url(re.compile(r"/review$"))
        item = review.locator("button.queue-item", has_text=reference)
        expect(item).to_contain_text("0/2 assessed")
        expect(review.locator("#queue-count")).to_have_text("1 report is waiting.")

        item.focus()
        review.keyboard.press("Enter")
        expect(review.locator("#report-title")).to_have_text(f"Report {reference}")
        expect(review.locator("#report-status")).to_have_text("In review")
        expect(review.locator("#report-band")).to_have_text("Under 13")
        cards = review.locator("li.image-card")
        expect(cards).to_have_count(2)
        first, second = cards.nth(0), cards.nth(1)
        expect(first).to_be_focused()
        # Previews first: blurred, from blob: URLs fetched by POST.
        for card in (first, second):
            expect(card.locator("img.image-view--blurred")).to_have_attribute("src", re.compile(r"^blob:"))
        expect(child.locator("li.message--bot", has_text="started looking at your report")).to_be_visible()

        review.keyboard.press("v")
        expect(first.locator("figcaption")).to_have_text("Clear image")
        expect(first.locator("img")).not_to_have_class(re.compile("image-view--blurred"))
        expect(second.locator("img.image-view--blurred")).to_have_count(1)  # only the one asked for
        review.screenshot(path=str(shots / "review-console-1280.png"), full_page=True)

        review.keyboard.press("a")
        expect(first.locator(".verdict-line")).to_have_text("Assessed: Category A")
        expect(first.locator("button[data-verdict=category_a]")).to_have_attribute("aria-pressed", "true")
        expect(second).to_be_focused()
        review.keyboard.press("Shift+Slash")  # "?": cannot tell
        expect(second.locator(".verdict-line")).to_have_text("Assessed: Cannot tell")
        expect(review.locator("#decide-title")).to_be_focused()
        expect(review.locator("#report-images")).to_have_text("2 (2 assessed)")

        review.keyboard.press("Tab")
        review.keyboard.press("Space")  # the first outcome: actioned
        expect(review.locator("input[name=outcome][value=actioned]")).to_be_checked()
        review.focus("#decide-submit")
        review.keyboard.press("Enter")
        expect(review.locator("#review-status")).to_have_text(
            "Decision recorded: actioned. The child has been told in their chat.")
        expect(review.locator("#report-status")).to_have_text("Closed")
        expect(review.locator("#queue-empty")).to_be_visible()
        expect(review.locator("figcaption").first).to_have_text("Image destroyed: only its hashes remain")
        assert image_requests and all(r.startswith("POST ") for r in image_requests)

        expect(child.locator("li.message--bot", has_text="fingerprints of 1 image")).to_be_visible()
        expect(child.locator("li.message--bot", has_text="have now been deleted")).to_be_visible()
        child.screenshot(path=str(shots / "widget-report-outcome-360x740.png"))

        # After the set time of reviewing (30 minutes by default) the console asks for a break.
        expect(review.locator("#break-reminder")).to_be_hidden()
        review.clock.fast_forward("31:00")
        expect(review.locator("#break-reminder")).to_be_visible()
        expect(review.locator("#break-dismiss")).to_be_focused()
        review.screenshot(path=str(shots / "review-break-reminder-1280.png"))
        review.keyboard.press("Enter")
        expect(review.locator("#break-reminder")).to_be_hidden()
    finally:
        child_ctx.close()
        staff_ctx.close()
