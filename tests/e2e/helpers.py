"""Browser-test helpers: a child registering in the widget, staff signing in, "is it on screen", axe-core."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.harness import ROOT
from tests.imagefactory import make_image

AXE_SOURCE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
PHONES = [(320, 568), (360, 740), (414, 896)]
CHILD_PASSWORD = "long enough pw"


def register(page: Any, base: str, username: str | None = None) -> str:
    """Open the widget and register a new child; returns the username."""
    name = username or f"kid{uuid.uuid4().hex[:6]}"
    page.goto(base + "/chat")
    page.click("#tab-register")
    page.fill("#username", name)
    page.fill("#password", CHILD_PASSWORD)
    page.click("#auth-submit")
    expect(page.locator("#chat-view")).to_be_visible()
    return name


def send_report(page: Any, *, images: int = 1, seed: int = 0) -> str:
    """From the menu: report, under 13, upload Pillow-drawn images, send. Returns the report's reference."""
    page.click("button.quick-reply[data-option=report]")
    page.click("button.quick-reply[data-option=age_under_13]")
    page.set_input_files("#upload-input", files=[
        {"name": f"{n}.jpg", "mimeType": "image/jpeg", "buffer": make_image(640, 480, seed=seed + n)}
        for n in range(images)])
    expect(page.locator('#upload-list li[data-state="done"]')).to_have_count(images, timeout=30_000)
    page.click("#upload-done")
    page.click("button.quick-reply[data-option=report_submit]")
    sent = page.locator("#messages li.message--bot", has_text="Your reference is")
    expect(sent).to_be_visible()
    found = re.search(r"HVN-[0-9A-Z]{4}-[0-9A-Z]{2}", sent.inner_text())
    assert found, sent.inner_text()
    return found.group(0)


def staff_sign_in(page: Any, base: str, path: str, username: str, password: str) -> Any:
    page.goto(base + path)
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#staff-login button[type=submit]")
    expect(page).to_have_url(re.compile(re.escape(path) + "$"))
    return page


def viewport_of(page: Any) -> dict[str, float]:
    """The part of the page the child can see (the visual viewport, as a phone's keyboard changes it)."""
    return page.evaluate("({width: visualViewport.width, height: visualViewport.height})")  # type: ignore[no-any-return]


def assert_in_view(page: Any, locator: Any, what: str, *, inside: Any = None) -> dict[str, float]:
    """Every edge of `locator` is on screen (and inside `inside`'s box, such as the transcript)."""
    expect(locator).to_be_visible()
    box = locator.bounding_box()
    assert box is not None, f"{what}: no box"
    view = viewport_of(page)
    area = {"x": 0.0, "y": 0.0, "width": view["width"], "height": view["height"]}
    if inside is not None:
        outer = inside.bounding_box()
        assert outer is not None
        area = {"x": max(0.0, outer["x"]), "y": max(0.0, outer["y"]),
                "width": min(view["width"], outer["x"] + outer["width"]) - max(0.0, outer["x"]),
                "height": min(view["height"], outer["y"] + outer["height"]) - max(0.0, outer["y"])}
    slack = 1.0
    assert box["x"] >= area["x"] - slack and box["x"] + box["width"] <= area["x"] + area["width"] + slack, (
        f"{what} is cut off sideways: {box} not within {area}")
    assert box["y"] >= area["y"] - slack and box["y"] + box["height"] <= area["y"] + area["height"] + slack, (
        f"{what} is not fully on screen: {box} not within {area}")
    return box  # type: ignore[no-any-return]


def assert_newest_message_in_view(page: Any, what: str) -> None:
    newest = page.locator("#messages li.message").last
    assert_in_view(page, newest, f"{what}: the newest message", inside=page.locator("#transcript"))


def assert_end_in_view(page: Any, what: str) -> None:
    """The end of the newest message is on screen (for a view shorter than the message)."""
    box = page.locator("#messages li.message").last.bounding_box()
    area = page.locator("#transcript").bounding_box()
    view = viewport_of(page)
    assert box and area
    bottom = min(area["y"] + area["height"], view["height"])
    assert area["y"] - 1 <= box["y"] + box["height"] <= bottom + 1, f"{what}: the newest message's end is off screen"


def run_axe(page: Any, what: str, *, frame: Any = None) -> None:
    """axe-core with the WCAG 2.2 A and AA rules, run inside the page: 0 violations.

    The pages' CSP refuses an injected <script> tag, so the library's source is evaluated instead.
    """
    target = frame or page
    source = AXE_SOURCE.read_text(encoding="utf-8")
    if not target.evaluate("() => typeof window.axe === 'object'"):
        target.evaluate(source + "\n;true")
    # A message still fading in is judged at its in-between colours: let animations finish first.
    target.evaluate("() => Promise.all(document.getAnimations().map(a => a.finished.catch(() => null)))")
    result = target.evaluate(
        "async (tags) => { const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}});"
        " return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ': ' + n.failureSummary)})); }",
        WCAG_22_AA)
    assert result == [], f"axe on {what}: " + "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']}\n    " + "\n    ".join(v["nodes"]) for v in result)


def shot(page: Any, shots: Path, name: str) -> None:
    page.screenshot(path=str(shots / f"{name}.png"))
