"""A message typed while the server is down waits in the browser and arrives once when it is back."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.harness import LiveServer

pytestmark = pytest.mark.e2e


def test_message_typed_while_offline_is_sent_once_on_reconnect(context, tmp_path) -> None:
    server = LiveServer(tmp_path / "offline").start()
    restarted = LiveServer(tmp_path / "offline", port=server.port)
    try:
        page = context.new_page()
        page.goto(server.base_url + "/chat")
        page.click("#tab-register")
        page.fill("#username", f"kid{uuid.uuid4().hex[:6]}")
        page.fill("#password", "long enough pw")
        page.click("#auth-submit")
        expect(page.locator("button.quick-reply").first).to_be_visible()

        server.kill()
        expect(page.locator("#connection-status")).to_contain_text("Reconnecting")
        page.fill("#message-input", "are you still there")
        page.click("#send-button")
        pending = page.locator("li.message--child", has_text="are you still there")
        expect(pending).to_have_attribute("data-status", "sending")

        restarted.start()
        expect(pending).to_have_attribute("data-status", re.compile("sent|read"), timeout=30_000)
        expect(page.locator("#connection-status")).to_have_text("")
        page.reload()
        expect(page.locator("li.message--child", has_text="are you still there")).to_have_count(1)
    finally:
        server.stop()
        restarted.stop()
