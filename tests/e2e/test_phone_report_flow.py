"""The whole report flow on three phone sizes: at every step the newest message, the options, the upload controls
and the progress bars are on screen (bounding boxes), with a screenshot of each step under test-artifacts/."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from dialogs.words import OPTIONS, SAY
from tests.e2e.helpers import (
    PHONES,
    assert_end_in_view,
    assert_in_view,
    assert_newest_message_in_view,
    register,
    shot,
    staff_sign_in,
)
from tests.imagefactory import make_image

pytestmark = pytest.mark.e2e


def options_in_view(page: Any, what: str, expected: list[str]) -> None:
    buttons = page.locator("#quick-replies button.quick-reply")
    expect(buttons).to_have_count(len(expected))
    assert [b.get_attribute("data-option") for b in buttons.all()] == expected, what
    for button in buttons.all():
        assert_in_view(page, button, f"{what}: option {button.get_attribute('data-option')}")


def analyst_decides(browser: Any, base: str, reference: str, username: str) -> None:
    """An analyst assesses two images as category A and one as not indecent, and actions the report."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(10_000)
    try:
        page = staff_sign_in(ctx.new_page(), base, "/review", username, "analyst pass 1")
        token = page.locator('meta[name="csrf-token"]').get_attribute("content")
        headers = {"X-CSRF-Token": token, "Accept": "application/json"}
        queue = page.request.get(base + "/review/api/queue").json()
        report_id = next(r["id"] for r in queue["reports"] if r["reference"] == reference)
        assert page.request.post(f"{base}/review/api/reports/{report_id}/start", headers=headers, data={}).ok
        report = page.request.get(f"{base}/review/api/reports/{report_id}").json()["report"]
        verdicts = ["category_a", "category_a", "not_indecent"]
        for image, verdict in zip(report["images"], verdicts):
            reply = page.request.post(f"{base}/review/api/images/{image['id']}/assess", headers=headers,
                                      data={"verdict": verdict})
            assert reply.ok, reply.text()
        reply = page.request.post(f"{base}/review/api/reports/{report_id}/decide", headers=headers,
                                  data={"outcome": "actioned"})
        assert reply.ok, reply.text()
    finally:
        ctx.close()


@pytest.mark.parametrize("width,height", PHONES, ids=[f"{w}x{h}" for w, h in PHONES])
def test_the_whole_report_flow_stays_on_screen(site, browser, shots, width: int, height: int) -> None:
    analyst = f"analyst{uuid.uuid4().hex[:6]}"
    site.create_user("analyst", analyst, "analyst pass 1")
    ctx = browser.new_context(viewport={"width": width, "height": height}, has_touch=True)
    ctx.set_default_timeout(10_000)
    size = f"{width}x{height}"
    try:
        page = ctx.new_page()
        register(page, site.base_url)
        expect(page.locator("#messages li.message--bot").first).to_contain_text("Haven's chat bot")
        assert page.evaluate("document.documentElement.scrollWidth") <= width, "the widget scrolls sideways"
        # One header only, and everything in it on screen.
        for selector in ("#quick-exit", "#account-button"):
            assert_in_view(page, page.locator(selector), f"{size} header {selector}")
        options_in_view(page, "menu", ["talk", "report", "advice", "leave"])
        assert_newest_message_in_view(page, "menu")
        assert_in_view(page, page.locator("#message-input"), "the message box")
        shot(page, shots, f"phone-{size}-1-menu")

        page.click("button.quick-reply[data-option=report]")
        expect(page.locator("#messages li.message--bot").last).to_contain_text("how old are you?")
        options_in_view(page, "age band", ["age_under_13", "age_13_15", "age_16_17", "age_18_plus", "menu"])
        assert_newest_message_in_view(page, "age band")
        shot(page, shots, f"phone-{size}-2-age-band")

        page.click("button.quick-reply[data-option=age_13_15]")
        expect(page.locator("#messages li.message--bot").last).to_contain_text("never your ID")
        options_in_view(page, "age check", ["verify_start", "talk", "menu"])
        assert_newest_message_in_view(page, "why the age check")
        shot(page, shots, f"phone-{size}-3-age-check-why")

        page.click("button.quick-reply[data-option=verify_start]")
        link = page.get_by_role("link", name="Check my age")
        expect(link).to_be_visible()
        assert_newest_message_in_view(page, "age check link")
        assert_in_view(page, link, "the age check link")
        shot(page, shots, f"phone-{size}-4-age-check-link")
        with ctx.expect_page() as opened:
            link.click()
        demo = opened.value
        demo.wait_for_load_state()
        demo.get_by_role("button", name="I am under 18").click()
        expect(demo.locator("#demo-done")).to_have_text("Done")
        demo.close()

        # The upload step: its own sheet, every control on screen, the message box out of the way.
        expect(page.locator("#upload-panel")).to_be_visible()
        expect(page.locator("#messages li.message--bot").last).to_contain_text(SAY["report_upload"][:30])
        expect(page.locator("#composer")).to_be_hidden()
        assert_newest_message_in_view(page, "upload step")
        for selector, what in (("label[for=upload-input]", "Choose images"), ("#upload-done", "I've added them all")):
            assert_in_view(page, page.locator(selector), what)
        options_in_view(page, "upload step", ["report_cancel", "talk"])
        shot(page, shots, f"phone-{size}-5-upload-step")

        page.set_input_files("#upload-input", files=[
            {"name": "one.jpg", "mimeType": "image/jpeg", "buffer": make_image(640, 480, seed=61)},
            {"name": "two.png", "mimeType": "image/png", "buffer": make_image(500, 400, fmt="PNG", seed=62)},
            {"name": "three.jpg", "mimeType": "image/jpeg", "buffer": make_image(480, 640, kind="text", seed=63)},
        ])
        expect(page.locator('#upload-list li[data-state="done"]')).to_have_count(3, timeout=30_000)
        expect(page.locator("#messages li.message--bot").last).to_contain_text("3 images received")
        items = page.locator("#upload-list li.upload__item")
        for index in range(3):
            assert_in_view(page, items.nth(index), f"upload row {index + 1}")
            assert_in_view(page, items.nth(index).locator("progress"), f"progress bar {index + 1}")
            expect(items.nth(index).locator("progress")).to_have_attribute("value", "100")
        for selector, what in (("label[for=upload-input]", "Choose images"), ("#upload-done", "I've added them all")):
            assert_in_view(page, page.locator(selector), f"{what} with three images")
        assert_newest_message_in_view(page, "three images received")
        options_in_view(page, "upload step with images", ["report_cancel", "talk"])
        shot(page, shots, f"phone-{size}-6-three-uploads")

        page.click("#upload-done")
        expect(page.locator("#messages li.message--bot").last).to_contain_text("You've added 3 images")
        expect(page.locator("#upload-panel")).to_be_hidden()
        options_in_view(page, "confirm", ["report_submit", "upload_more", "report_cancel"])
        assert_newest_message_in_view(page, "confirm")
        shot(page, shots, f"phone-{size}-7-confirm")

        page.click("button.quick-reply[data-option=report_submit]")
        sent = page.locator("#messages li.message--bot").last
        expect(sent).to_contain_text(re.compile(r"Your reference is HVN-[0-9A-Z]{4}-[0-9A-Z]{2}\."))
        reference = re.search(r"HVN-[0-9A-Z]{4}-[0-9A-Z]{2}", sent.inner_text()).group(0)  # type: ignore[union-attr]
        assert_newest_message_in_view(page, "sent, with the reference")
        options_in_view(page, "sent", ["menu", "talk", "report_withdraw", "leave"])
        shot(page, shots, f"phone-{size}-8-sent")

        analyst_decides(browser, site.base_url, reference, analyst)
        outcome = page.locator("#messages li.message--bot", has_text="digital fingerprints of 2 images")
        expect(outcome).to_be_visible()
        # With images kept for 0 days the deletion news follows at once.
        expect(page.locator("#messages li.message").last).to_contain_text("have now been deleted")
        # It leads with what was done; what could not be done comes after, with what to do next.
        text = outcome.inner_text()
        assert text.index("digital fingerprints of 2 images") < text.index("1 image") < text.index("talk to someone")
        page.wait_for_timeout(300)
        # The outcome is read from its first line: if the two do not fit together, the view stops at the
        # outcome's start and the pill says there is more below.
        top = outcome.bounding_box()
        scroller = page.locator("#transcript").bounding_box()
        assert top and scroller and scroller["y"] - 1 <= top["y"] <= scroller["y"] + scroller["height"] - 40, (
            f"the outcome's first line is not on screen: {top} in {scroller}")
        if page.locator("#new-messages").is_visible():
            shot(page, shots, f"phone-{size}-9-outcome-start")
            page.click("#new-messages")
        assert_newest_message_in_view(page, "the outcome")
        # After the decision the report can no longer be withdrawn, so that button is gone.
        expect(page.locator("button.quick-reply[data-option=report_withdraw]")).to_have_count(0)
        for button in page.locator("#quick-replies button.quick-reply").all():
            assert_in_view(page, button, f"outcome option {button.get_attribute('data-option')}")
        assert OPTIONS["report_withdraw"] not in page.locator("#quick-replies").inner_text()
        shot(page, shots, f"phone-{size}-10-outcome")
    finally:
        ctx.close()


@pytest.fixture
def phone(browser) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    ctx = browser.new_context(viewport={"width": 360, "height": 740}, has_touch=True)
    ctx.set_default_timeout(10_000)
    yield ctx
    ctx.close()


def test_the_keyboard_never_covers_the_message_box(site, phone, shots) -> None:
    """A phone keyboard takes the bottom of the visual viewport; the app shrinks to what is left."""
    page = phone.new_page()
    register(page, site.base_url)
    page.click("button.quick-reply[data-option=advice]")
    page.click("button.quick-reply[data-option=advice_reporting]")
    expect(page.locator("#messages li.message--bot").last).to_contain_text("digital fingerprint")
    page.focus("#message-input")
    # What the on-screen keyboard does to the visual viewport: about 300 px fewer.
    page.set_viewport_size({"width": 360, "height": 440})
    page.wait_for_function("Math.abs(document.body.getBoundingClientRect().height - visualViewport.height) < 2")
    assert_in_view(page, page.locator("#message-input"), "the message box above the keyboard")
    assert_in_view(page, page.locator("#send-button"), "Send above the keyboard")
    assert_in_view(page, page.locator("#quick-exit"), "Quick exit with the keyboard open")
    assert_end_in_view(page, "with the keyboard open")
    shot(page, shots, "phone-360x440-keyboard-open")


def test_scrolled_up_the_child_keeps_their_place_and_a_pill_brings_them_down(site, phone, shots) -> None:
    ctx = phone
    page = ctx.new_page()
    register(page, site.base_url)
    for topic in ("advice", "advice_fault", "advice_reporting", "advice_help"):
        page.click(f"button.quick-reply[data-option={topic}]")
        expect(page.locator("#messages li.message--bot").last).to_have_attribute("data-seq", re.compile(r"\d+"))
    page.wait_for_function("document.querySelector('#transcript').scrollHeight > "
                           "document.querySelector('#transcript').clientHeight + 200")
    # Following: each new message is in view.
    assert_newest_message_in_view(page, "following")
    expect(page.locator("#new-messages")).to_be_hidden()
    # The child scrolls up to read; what arrives meanwhile (here from their other tab) must not pull them down.
    page.locator("#transcript").evaluate("el => el.scrollTo(0, 0)")
    other = ctx.new_page()
    other.goto(site.base_url + "/chat")
    other.click("button.quick-reply[data-option=advice_fault]")
    expect(page.locator("#new-messages")).to_be_visible()
    other.close()
    assert page.locator("#transcript").evaluate("el => el.scrollTop") < 5
    assert_in_view(page, page.locator("#new-messages"), "the new-messages pill")
    shot(page, shots, "phone-360x740-new-messages-pill")
    page.click("#new-messages")
    expect(page.locator("#new-messages")).to_be_hidden()
    assert_newest_message_in_view(page, "after the pill")
