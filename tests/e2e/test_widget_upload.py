"""The report's upload step in a real browser: choose two images, watch them send, confirm, get a reference."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.imagefactory import make_image, text_file

pytestmark = pytest.mark.e2e


def reach_upload_step(page, base: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(base + "/chat")
    page.click("#tab-register")
    page.fill("#username", f"kid{uuid.uuid4().hex[:6]}")
    page.fill("#password", "long enough pw")
    page.click("#auth-submit")
    page.click("button.quick-reply[data-option=report]")
    page.click("button.quick-reply[data-option=age_under_13]")
    expect(page.locator("#upload-panel")).to_be_visible()


def test_child_uploads_two_images_confirms_and_sees_the_reference(site, context, shots) -> None:
    page = context.new_page()
    reach_upload_step(page, site.base_url)
    # The panel's own button replaces the quick reply, so there is one "I've added them all".
    expect(page.locator("button.quick-reply[data-option=upload_done]")).to_have_count(0)
    expect(page.locator("label[for=upload-input]")).to_have_text("Choose images")

    page.set_input_files("#upload-input", files=[
        {"name": "one.jpg", "mimeType": "image/jpeg", "buffer": make_image(640, 480, seed=1)},
        {"name": "two.png", "mimeType": "image/png", "buffer": make_image(500, 400, fmt="PNG", seed=2)},
    ])
    items = page.locator("#upload-list li.upload__item")
    expect(items).to_have_count(2)
    expect(page.locator('#upload-list li[data-state="done"]')).to_have_count(2, timeout=30_000)
    for index in range(2):
        expect(items.nth(index).locator("progress")).to_have_attribute("value", "100")
    expect(page.locator("#messages li.message--bot").last).to_contain_text("2 images received")
    # Previews come only from the files on this device; nothing on the page loads an image from the server.
    sources = page.locator("#upload-list img").evaluate_all("nodes => nodes.map(n => n.src)")
    assert sources and all(src.startswith("blob:") for src in sources)
    page.locator("#upload-list").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "widget-upload.png"))

    page.click("#upload-done")
    expect(page.locator("#messages li.message--bot").last).to_contain_text("You've added 2 images")
    expect(page.locator("#upload-panel")).to_be_hidden()
    page.click("button.quick-reply[data-option=report_submit]")
    last = page.locator("#messages li.message--bot").last
    expect(last).to_contain_text(re.compile(r"Your reference is HVN-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{2}\."))


def test_a_bad_file_shows_the_servers_message_and_can_be_retried_or_cancelled(site, context) -> None:
    page = context.new_page()
    reach_upload_step(page, site.base_url)
    page.set_input_files("#upload-input", files=[
        {"name": "notes.jpg", "mimeType": "image/jpeg", "buffer": text_file()},
    ])
    item = page.locator("#upload-list li.upload__item").first
    expect(item).to_have_attribute("data-state", "failed")
    expect(item.locator(".upload__state")).to_have_text(
        "That file doesn't look like a photo. Please choose a picture file, like a JPEG, PNG or HEIC.")
    expect(item.locator(".upload__retry")).to_be_visible()
    # "I've added them all" with nothing received: the bot says so and the panel stays.
    page.click("#upload-done")
    expect(page.locator("#messages li.message--bot").last).to_contain_text("haven't received any images")
    expect(page.locator("#upload-panel")).to_be_visible()
    # Retrying the same bad file fails the same way, with a fresh address (the old one was used).
    item.locator(".upload__retry").click()
    expect(item).to_have_attribute("data-state", "failed")
    expect(item.locator(".upload__state")).to_contain_text("doesn't look like a photo")
