"""The review console over HTTP on SQLite and PostgreSQL: who may open it, image headers, audit, and the child's chat."""

from __future__ import annotations

import uuid
from io import BytesIO
from pathlib import Path
from typing import Any

import aiohttp
import socketio
from PIL import Image
from sqlalchemy import select

from bot.accounts import Accounts, Passwords
from bot.audit import AuditLog
from bot.db import Database, make_engine
from bot.events import ListSink
from bot.models.reports import Report, ReportImage
from bot.partners import Partners
from bot.purge import PurgeConfig, Purger
from bot.tickets import Notifier
from dialogs.reporting import ticket_text
from tests.harness import Person, audit_keyed, wait_for
from tests.imagefactory import make_image

NS = "/chat"
PASSWORD = "staff pass word 1"


def cid() -> str:
    return f"c-{uuid.uuid4().hex}"


async def choose(client: socketio.AsyncClient, option: str) -> dict[str, Any]:
    reply = await client.call("choose", {"option": option, "client_id": cid()}, namespace=NS, timeout=10)
    assert reply["ok"], reply
    return reply


async def make_staff(database_url: str, role: str) -> str:
    engine = make_engine(database_url)
    try:
        name = f"{role[:3]}{uuid.uuid4().hex[:6]}"
        await Accounts(Database(engine), Passwords()).do_create_user(name, PASSWORD, role)
        return name
    finally:
        await engine.dispose()


async def staff(base: str, people: Any, database_url: str, role: str) -> Person:
    return await people.staff(base, await make_staff(database_url, role), PASSWORD, role)


def bot_texts(kid: Person) -> list[str]:
    return [m["text"] for m in kid.received("message") if m["sender"] == "bot"]


async def reach(kid: Person, state: str) -> None:
    await wait_for(lambda: any(s["state"] == state for s in kid.received("state")))


async def report_files(kid: Person, files: list[tuple[str, bytes]]) -> tuple[socketio.AsyncClient, str]:
    """As the widget does: menu -> report -> under 13 -> upload over HTTP -> send. Returns the socket and reference."""
    client = await kid.connect(NS)
    assert (await client.call("hello", {"after": 0}, namespace=NS, timeout=10))["ok"]
    await choose(client, "report")
    await choose(client, "age_under_13")
    await reach(kid, "report_upload")
    for name, data in files:
        issued = await client.call("upload_link", {}, namespace=NS, timeout=10)
        form = aiohttp.FormData()
        form.add_field("file", data, filename=name, content_type="application/octet-stream")
        headers = {"Origin": kid.base_url.rstrip("/"), "X-CSRF-Token": kid.csrf}
        async with kid.http.post(kid.base_url.rstrip("/") + issued["url"], data=form, headers=headers) as r:
            assert r.status == 200, await r.text()
    await choose(client, "upload_done")
    await choose(client, "report_submit")
    await reach(kid, "report_submitted")
    text = next(t for t in bot_texts(kid) if "Your reference is" in t)
    return client, text.split("Your reference is ")[1].split(".")[0]


async def report_images(kid: Person, count: int = 2, seed: int = 0) -> tuple[socketio.AsyncClient, str]:
    return await report_files(kid, [(f"{n}.jpg", make_image(400, 300, seed=seed * 10 + n)) for n in range(count)])


async def get(person: Person, path: str) -> tuple[int, Any]:
    async with person.http.get(person.base_url.rstrip("/") + path, allow_redirects=False,
                               headers={"Accept": "application/json"}) as r:
        body = await r.read()
        try:
            import json

            return r.status, json.loads(body)
        except ValueError:
            return r.status, body


async def post_image(person: Person, path: str, *, csrf: bool = True) -> tuple[int, bytes, Any]:
    headers = {"Origin": person.base_url.rstrip("/")}
    if csrf:
        headers["X-CSRF-Token"] = person.csrf
    async with person.http.post(person.base_url.rstrip("/") + path, headers=headers) as r:
        return r.status, await r.read(), r.headers


async def queue_item(analyst: Person, reference: str) -> dict[str, Any]:
    status, body = await get(analyst, "/review/api/queue")
    assert status == 200, body
    return next(item for item in body["reports"] if item["reference"] == reference)


async def audit_actions(database_url: str, data_dir: Path) -> list[tuple[str, str, str]]:
    engine = make_engine(database_url)
    try:
        entries = await AuditLog(Database(engine)).get_entries(limit=1000)
        assert (await AuditLog(audit_keyed(Database(engine), data_dir)).verify_chain()).ok
        return [(e.action, e.subject, e.actor_role) for e in entries]
    finally:
        await engine.dispose()


async def test_an_analyst_reviews_and_the_child_hears_every_step(server, people, database_url, tmp_path) -> None:
    base = await server(database_url=database_url)
    kid = await people.child(base)
    _, reference = await report_images(kid, 2)
    analyst = await staff(base, people, database_url, "analyst")

    item = await queue_item(analyst, reference)
    assert (item["status"], item["images"], item["assessed"], item["age_band"], item["under_18"]) == (
        "submitted", 2, 0, "under_13", "yes")
    status, body = await analyst.post(f"/review/api/reports/{item['id']}/start")
    assert status == 200 and body["status"] == "in_review"
    await wait_for(lambda: any(f"started looking at your report {reference}" in t for t in bot_texts(kid)))

    status, body = await get(analyst, f"/review/api/reports/{item['id']}")
    report = body["report"]
    assert report["reference"] == reference and [i["viewable"] for i in report["images"]] == [True, True]
    first, second = (i["id"] for i in report["images"])

    status, data, headers = await post_image(analyst, f"/review/images/{first}/preview")
    assert status == 200 and headers["Content-Type"] == "image/jpeg"
    assert headers["Cache-Control"].startswith("no-store")
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    preview = Image.open(BytesIO(data))
    assert preview.mode == "L"
    status, data, headers = await post_image(analyst, f"/review/images/{first}/reveal")
    assert status == 200 and Image.open(BytesIO(data)).mode == "RGB"
    assert headers["Cache-Control"].startswith("no-store") and "sandbox" in headers["Content-Security-Policy"]
    # Never a plain address: a GET is not a route, and without the page's token the POST is refused.
    assert (await get(analyst, f"/review/images/{first}/reveal"))[0] == 405
    status, _, _ = await post_image(analyst, f"/review/images/{first}/reveal", csrf=False)
    assert status == 403

    status, body = await analyst.post(f"/review/api/images/{first}/assess", {"verdict": "category_z"})
    assert status == 400 and body["error"]["code"] == "bad_verdict"
    for image_id in (first, second):
        status, body = await analyst.post(f"/review/api/images/{image_id}/assess", {"verdict": "not_indecent"})
        assert status == 200, body
    status, body = await analyst.post(f"/review/api/reports/{item['id']}/decide", {"outcome": "not_actioned"})
    assert status == 400 and body["error"]["code"] == "bad_reason"
    status, body = await analyst.post(f"/review/api/reports/{item['id']}/decide",
                                      {"outcome": "not_actioned", "reason": "not_indecent"})
    assert status == 200 and body["decision"]["status"] == "confirmed", body

    await wait_for(lambda: any("have now been deleted" in t for t in bot_texts(kid)))
    decided = next(t for t in bot_texts(kid) if "Our team has carefully checked your report" in t)
    assert reference in decided and "don't show nudity" in decided
    status, body = await get(analyst, f"/review/api/reports/{item['id']}")
    assert body["report"]["status"] == "closed" and not any(i["viewable"] for i in body["report"]["images"])
    status, body = await analyst.post(f"/review/images/{first}/preview")
    assert status == 410 and body["error"]["code"] == "image_purged"
    assert all(i["reference"] != reference for i in (await get(analyst, "/review/api/queue"))[1]["reports"])

    actions = await audit_actions(database_url, tmp_path)
    for expected in [("preview", f"image:{first}", "analyst"), ("reveal", f"image:{first}", "analyst"),
                     ("assess", f"image:{first}", "analyst"), ("assess", f"image:{second}", "analyst"),
                     ("decide", f"report:{reference}", "analyst"), ("purge", f"image:{first}", "system"),
                     ("purge", f"image:{second}", "system")]:
        assert expected in actions, expected
    # The refused reveal (no token) and the purged preview left no view entry.
    assert actions.count(("reveal", f"image:{first}", "analyst")) == 1


async def test_nobody_but_an_analyst_opens_the_console_or_an_image(server, people, database_url, tmp_path) -> None:
    base = await server(database_url=database_url)
    kid = await people.child(base)
    _, reference = await report_images(kid, 1)
    analyst = await staff(base, people, database_url, "analyst")
    item = await queue_item(analyst, reference)
    status, body = await get(analyst, f"/review/api/reports/{item['id']}")
    image_id = body["report"]["images"][0]["id"]

    engine = make_engine(database_url)
    try:
        key = (await Partners(audit_keyed(Database(engine), tmp_path)).do_create("acme")).key
    finally:
        await engine.dispose()

    outsiders = [kid, await staff(base, people, database_url, "counsellor"),
                 await staff(base, people, database_url, "supervisor"), await staff(base, people, database_url, "admin")]
    reads = ["/review/api/queue", f"/review/api/reports/{item['id']}"]
    writes = [f"/review/images/{image_id}/preview", f"/review/images/{image_id}/reveal",
              f"/review/api/reports/{item['id']}/start", f"/review/api/images/{image_id}/assess",
              f"/review/api/reports/{item['id']}/decide", f"/review/api/reports/{item['id']}/withdraw"]
    for person in outsiders:
        status, page = await get(person, "/review")
        assert status == 403, (person.role, status)
        for path in reads:
            status, body = await get(person, path)
            assert status == 403 and body["error"]["code"] == "forbidden", (person.role, path)
        for path in writes:
            status, body = await person.post(path, {"verdict": "category_a", "outcome": "actioned"})
            assert status == 403 and body["error"]["code"] == "forbidden", (person.role, path)

    async with aiohttp.ClientSession() as anonymous:
        for headers in ({}, {"Authorization": f"Bearer {key}"}):
            async with anonymous.get(base.rstrip("/") + "/review", headers=headers, allow_redirects=False) as r:
                assert r.status == 303 and r.headers["Location"].startswith("/staff/login")
            for path in reads:
                async with anonymous.get(base.rstrip("/") + path, headers=headers) as r:
                    assert r.status == 401 and (await r.json())["error"]["code"] == "not_signed_in"
            for path in writes:
                async with anonymous.post(base.rstrip("/") + path, headers=headers) as r:
                    # Refused before anything is read: the CSRF check or the sign-in check.
                    assert r.status in (401, 403)

    status, _ = await get(analyst, "/review")
    assert status == 200
    actions = await audit_actions(database_url, tmp_path)
    assert not [a for a in actions if a[0] in ("preview", "reveal", "assess", "decide", "withdraw")]
    assert (await queue_item(analyst, reference))["status"] == "submitted"


async def test_a_child_never_sees_another_childs_report(server, people, database_url) -> None:
    base = await server(database_url=database_url)
    alice = await people.child(base)
    bob = await people.child(base)
    _, alice_ref = await report_images(alice, 1, seed=1)
    bob_socket, bob_ref = await report_images(bob, 1, seed=2)
    analyst = await staff(base, people, database_url, "analyst")
    alice_item = await queue_item(analyst, alice_ref)
    await analyst.post(f"/review/api/reports/{alice_item['id']}/start")
    await wait_for(lambda: any(alice_ref in t and "started looking" in t for t in bot_texts(alice)))

    status, body = await get(bob, f"/review/api/reports/{alice_item['id']}")
    assert status == 403
    hello = await bob_socket.call("hello", {"after": 0}, namespace=NS, timeout=10)
    everything = [m["text"] for m in hello["messages"]] + [m["text"] for m in bob.received("message")]
    assert any(bob_ref in t for t in everything)
    assert not any(alice_ref in t for t in everything)

    # Bob withdrawing in his chat withdraws his own report, never Alice's.
    await choose(bob_socket, "report_withdraw")
    await reach(bob, "report_withdraw_confirm")
    assert any(f"withdraw your report {bob_ref}" in t for t in bot_texts(bob))
    await choose(bob_socket, "report_withdraw_yes")
    await wait_for(lambda: any(f"Your report {bob_ref} has been withdrawn" in t for t in bot_texts(bob)))
    assert (await queue_item(analyst, alice_ref))["status"] == "in_review"
    assert all(i["reference"] != bob_ref for i in (await get(analyst, "/review/api/queue"))[1]["reports"])


async def test_withdrawn_in_the_chat_then_purged_and_told_on_next_sign_in(server, people, database_url, tmp_path) -> None:
    base = await server(database_url=database_url)
    kid = await people.child(base)
    client, reference = await report_images(kid, 2)
    await choose(client, "report_withdraw")
    await reach(kid, "report_withdraw_confirm")
    await choose(client, "report_withdraw_no")
    await wait_for(lambda: any("stays with our team" in t for t in bot_texts(kid)))
    await choose(client, "report_withdraw")
    await choose(client, "report_withdraw_yes")
    await reach(kid, "menu")
    await client.disconnect()

    # A purge pass (as `run.py purge` or the background task runs it) while the child is away.
    engine = make_engine(database_url)
    try:
        db = audit_keyed(Database(engine), tmp_path)
        purger = Purger(db, ListSink(), Notifier(ticket_text), PurgeConfig(retention_days=0), vault=lambda: None)
        result = await purger.run_once()
        assert (result.reports, result.images) == (1, 2)
        async with db.read() as session:
            report = (await session.scalars(select(Report).where(Report.reference == reference))).one()
            images = (await session.scalars(select(ReportImage).where(ReportImage.report_id == report.id))).all()
        assert report.status == "closed" and all(i.wrapped_key is None and i.status == "purged" for i in images)
    finally:
        await engine.dispose()

    again = await kid.connect(NS, record=False)
    hello = await again.call("hello", {"after": 0}, namespace=NS, timeout=10)
    texts = [m["text"] for m in hello["messages"]]
    assert any(f"Your report {reference} has been withdrawn" in t for t in texts)
    assert texts[-1] == f"The images you sent with report {reference} have now been deleted from Haven."
    actions = await audit_actions(database_url, tmp_path)
    assert ("withdraw", f"report:{reference}", "child") in actions


async def test_more_information_needed_reaches_the_chat_live(server, people, database_url) -> None:
    base = await server(database_url=database_url, second_analyst=True)
    kid = await people.child(base)
    _, reference = await report_images(kid, 1)
    ana = await staff(base, people, database_url, "analyst")
    bob = await staff(base, people, database_url, "analyst")
    item = await queue_item(ana, reference)
    await ana.post(f"/review/api/reports/{item['id']}/start")
    status, body = await ana.post(f"/review/api/reports/{item['id']}/decide",
                                  {"outcome": "needs_info", "message": "Is this you in the picture?"})
    assert status == 200 and body["decision"]["status"] == "pending"
    status, body = await ana.post(f"/review/api/reports/{item['id']}/confirm")
    assert status == 403 and body["error"]["code"] == "same_analyst"
    assert not any("more information" in t for t in bot_texts(kid))
    status, body = await bob.post(f"/review/api/reports/{item['id']}/confirm")
    assert status == 200 and body["decision"]["status"] == "confirmed"
    await wait_for(lambda: any('They asked: "Is this you in the picture?"' in t for t in bot_texts(kid)))
    assert (await queue_item(ana, reference))["status"] == "needs_info"
