"""Deleting an account from the chat widget: a confirm dialog in plain words, the password, then gone."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from tests.e2e.test_widget import register

pytestmark = pytest.mark.e2e


def test_a_child_deletes_their_account_from_the_widget(site, context, shots) -> None:
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    name = f"kid{uuid.uuid4().hex[:6]}"
    register(page, site.base_url, name)
    expect(page.locator("#messages li.message--bot").first).to_be_visible()

    # In the account menu, a thumb's width away from "Sign out".
    page.click("#account-button")
    expect(page.locator("#account-menu")).to_be_visible()
    out, delete = page.locator("#sign-out").bounding_box(), page.locator("#delete-account").bounding_box()
    assert out and delete and delete["y"] >= out["y"] + out["height"] + 8
    page.click("#delete-account")
    dialog = page.locator("#delete-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#delete-password")).to_be_focused()
    expect(dialog).to_contain_text("What goes: your username, all your chats and messages")
    expect(dialog).to_contain_text("What stays:")
    page.screenshot(path=str(shots / "widget-delete-account.png"))

    # Keeping the account closes the dialog and puts focus back on the account menu's button.
    page.click("#delete-cancel")
    expect(dialog).to_be_hidden()
    expect(page.locator("#account-button")).to_be_focused()

    page.click("#account-button")
    page.click("#delete-account")
    page.fill("#delete-password", "not my password")
    page.click("#delete-confirm")
    expect(page.locator("#delete-error")).to_have_text("That password isn't right. Your account has not been deleted.")

    page.fill("#delete-password", "long enough pw")
    page.keyboard.press("Enter")
    expect(page.locator("#auth-view")).to_be_visible()
    expect(page.locator("#auth-error")).to_have_text("Your account has been deleted.")

    # The name and password no longer sign in.
    page.fill("#username", name)
    page.fill("#password", "long enough pw")
    page.click("#auth-submit")
    expect(page.locator("#auth-error")).to_have_text("That username and password don't match. Check them and try again.")
    assert not [e for e in errors if "Content Security Policy" in e], errors
