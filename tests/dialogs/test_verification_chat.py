"""The age check inside the chat, end to end over socket.io: demo provider and a fake Yoti, every outcome."""

from __future__ import annotations

import re
import secrets
import uuid
from pathlib import Path
from typing import Any, AsyncIterator, Callable

import aiohttp
import pytest
import socketio
from sqlalchemy import inspect, select

from bot.db import make_engine
from bot.models.verification import Verification
from tests.conftest import make_settings
from tests.fakes.fake_yoti import SENSITIVE_EXTRAS, FakeYoti, fake_yoti  # noqa: F401  (the fixture, by import)
from tests.harness import Person, free_port, wait_for

NS = "/chat"
SECRET = "notify-secret-" + "x" * 16
# Short timeouts and backoff, so "slow" and "down" cost fractions of a second here.
FAST = {"timeout": 0.5, "connect_timeout": 0.5, "retry_attempts": 3, "retry_base_delay": 0.01,
        "retry_max_delay": 0.05}
# Exactly what a verification record may hold: ids, provider, status, the answer, method and times.
RECORD_COLUMNS = {"id", "conversation_id", "provider", "provider_session_id", "status", "under_18", "method",
                  "checked_at", "created_at", "updated_at"}


def cid() -> str:
    return f"c-{uuid.uuid4().hex}"


async def choose(client: socketio.AsyncClient, option: str) -> dict[str, Any]:
    reply = await client.call("choose", {"option": option, "client_id": cid()}, namespace=NS, timeout=10)
    assert reply["ok"], reply
    return reply


@pytest.fixture
async def haven(aiohttp_server: Any, tmp_path: Path, database_url: str) -> Callable[..., Any]:
    """Start the real app (like the `server` fixture) with provider tuning; on SQLite and PostgreSQL."""
    from web.app import create_app

    async def start(tuning: dict[str, Any] | None = None, **overrides: Any) -> str:
        port = free_port()
        overrides.setdefault("allowed_origins", (f"http://127.0.0.1:{port}", f"http://localhost:{port}"))
        overrides.setdefault("database_url", database_url)
        settings = make_settings(tmp_path, port=port, **overrides)
        srv = await aiohttp_server(create_app(settings, verification_tuning=tuning), port=port)
        return str(srv.make_url("/")).rstrip("/")

    return start


@pytest.fixture
async def records(database_url: str) -> AsyncIterator[Callable[..., Any]]:
    """Read the verification records straight from the database the server uses."""
    engine = make_engine(database_url)

    async def read() -> list[Verification]:
        async with engine.connect() as connection:
            rows = (await connection.execute(select(Verification.__table__).order_by(Verification.id))).all()
        return [Verification(**row._mapping) for row in rows]

    yield read
    await engine.dispose()


async def start_yoti(haven: Callable[..., Any], fake: FakeYoti, **tuning: Any) -> str:
    return await haven(
        tuning={**FAST, **tuning}, verification_provider="yoti", yoti_base_url=fake.base_url,
        yoti_api_key=fake.api_key, yoti_sdk_id=fake.sdk_id, yoti_notify_secret=SECRET)


def bot_texts(kid: Person) -> list[str]:
    return [m["text"] for m in kid.received("message") if m["sender"] == "bot"]


def states(kid: Person) -> list[str]:
    return [s["state"] for s in kid.received("state")]


async def reach_state(kid: Person, state: str) -> dict[str, Any]:
    return (await wait_for(lambda: [s for s in kid.received("state") if s["state"] == state]))[-1]


async def open_check(kid: Person, age: str = "age_13_15") -> tuple[socketio.AsyncClient, str]:
    """Sign-in done: go from the menu to the age check's link; returns the socket and the link."""
    client = await kid.connect(NS)
    reply = await client.call("hello", {"after": 0}, namespace=NS, timeout=10)
    assert reply["ok"]
    await choose(client, "report")
    await choose(client, age)
    await reach_state(kid, "report_verify")
    await choose(client, "verify_start")
    links = await wait_for(lambda: [link for m in kid.received("message") for link in m["links"]
                                    if link["label"] == "Check my age"])
    return client, links[-1]["url"]


async def barrier(client: socketio.AsyncClient) -> None:
    """Everything the server emitted to this socket before now has arrived once this ack is back."""
    assert (await client.call("typing", {"typing": False}, namespace=NS, timeout=10))["ok"]


def yoti_session(url: str) -> str:
    match = re.search(r"sessionId=([0-9a-f-]+)", url)
    assert match, url
    return match.group(1)


async def pick_demo(kid: Person, url: str, outcome: str) -> tuple[int, str]:
    async with kid.http.post(kid.base_url.rstrip("/") + url, data={"csrf_token": kid.csrf, "outcome": outcome},
                             headers={"Origin": kid.base_url.rstrip("/")}) as response:
        return response.status, await response.text()


# The demo provider -------------------------------------------------------------------------


async def test_13_to_15_with_the_demo_check_moves_on_to_upload_by_itself(haven, people, records) -> None:
    base = await haven()
    kid = await people.child(base)
    client, url = await open_check(kid)
    explain = next(t for t in bot_texts(kid) if "check you're under 18" in t)
    assert "never your ID, photo or date of birth" in explain
    link_message = next(m for m in kid.received("message") if m["links"])
    assert [o["id"] for o in link_message["options"]] == ["verify_done", "verify_retry", "talk", "menu"]
    assert re.fullmatch(r"/verify/demo/[A-Za-z0-9_-]{20,}", url)
    assert states(kid)[-1] == "report_verifying"

    async with kid.http.get(base + url) as page:
        html = await page.text()
    assert page.status == 200 and "DEMONSTRATION" in html and "I am under 18" in html

    status, html = await pick_demo(kid, url, "under_18")
    assert status == 200 and "go back to the chat" in html
    # Pushed live: no message from the child between picking on the page and the chat moving on.
    await reach_state(kid, "report_upload")
    assert any("The check says you're under 18" in t for t in bot_texts(kid))

    [record] = await records()
    assert (record.provider, record.status, record.under_18, record.method) == ("demo", "complete", "yes", "demo")
    assert record.checked_at is not None and record.checked_at.tzinfo is not None

    # The page is spent: picking again changes nothing in the chat.
    await barrier(client)
    before = len(kid.received("message"))
    status, _ = await pick_demo(kid, url, "over_18")
    assert status == 404
    await barrier(client)
    assert len(kid.received("message")) == before
    assert [(r.status, r.under_18) for r in await records()] == [("complete", "yes")]


@pytest.mark.parametrize("outcome,state,words", [
    ("over_18", "adult_signpost", "18 or over"),
    ("failed", "report_not_verified", "couldn't confirm your age"),
    ("abandoned", "report_not_verified", "stopped before the end"),
    ("expired", "report_not_verified", "timed out"),
])
async def test_demo_outcomes_other_than_under_18(haven, people, outcome: str, state: str, words: str) -> None:
    base = await haven()
    kid = await people.child(base)
    _, url = await open_check(kid, "age_16_17")
    status, _ = await pick_demo(kid, url, outcome)
    assert status == 200
    reached = await reach_state(kid, state)
    assert any(words in t for t in bot_texts(kid))
    if state == "report_not_verified":
        assert [o["id"] for o in reached["options"]] == ["verify_retry", "talk", "menu"]
    else:
        assert any(link["label"].startswith("StopNCII") for m in kid.received("message") for link in m["links"])


async def test_demo_page_refuses_made_up_outcomes_and_unknown_sessions(haven, people) -> None:
    base = await haven()
    kid = await people.child(base)
    _, url = await open_check(kid)
    status, html = await pick_demo(kid, url, "i_am_seven")
    assert status == 400 and "Please pick one of the outcomes" in html
    assert states(kid)[-1] == "report_verifying"
    async with kid.http.get(base + "/verify/demo/nope") as page:
        assert page.status == 404 and "doesn't work any more" in await page.text()
    # Without the page's token the pick is refused outright.
    async with kid.http.post(base + url, data={"outcome": "under_18"}, headers={"Origin": base}) as response:
        assert response.status == 403
    assert states(kid)[-1] == "report_verifying"


async def test_under_13_skips_the_check_and_18_plus_is_signposted(haven, people, records) -> None:
    base = await haven()
    kid = await people.child(base)
    client = await kid.connect(NS)
    await client.call("hello", {"after": 0}, namespace=NS, timeout=10)
    await choose(client, "report")
    await choose(client, "age_under_13")
    await reach_state(kid, "report_upload")
    assert "report_verify" not in states(kid)
    reply = await client.call("say", {"text": "menu", "client_id": cid()}, namespace=NS, timeout=10)
    assert reply["ok"]
    await choose(client, "report")
    await choose(client, "age_18_plus")
    await reach_state(kid, "adult_signpost")
    assert await records() == []


async def test_retry_abandons_the_old_check_and_opens_a_new_one(haven, people, records) -> None:
    base = await haven()
    kid = await people.child(base)
    client, first = await open_check(kid)
    await choose(client, "verify_retry")
    second = await wait_for(lambda: [link["url"] for m in kid.received("message") for link in m["links"]
                                     if link["url"] != first])
    old, new = await records()
    assert (old.status, new.status) == ("abandoned", "pending")
    # The old page no longer exists, so it cannot move the chat.
    status, _ = await pick_demo(kid, first, "under_18")
    assert status == 404
    status, _ = await pick_demo(kid, second[-1], "under_18")
    assert status == 200
    await reach_state(kid, "report_upload")


async def test_an_outcome_after_the_child_left_the_check_changes_nothing(haven, people, records) -> None:
    base = await haven()
    kid = await people.child(base)
    client, url = await open_check(kid)
    await choose(client, "menu")
    await reach_state(kid, "menu")
    before = len(kid.received("message"))
    status, _ = await pick_demo(kid, url, "under_18")
    assert status == 200
    [record] = await records()
    assert record.status == "complete"
    # The ignored step says nothing and moves nothing.
    await barrier(client)
    assert len(kid.received("message")) == before
    assert states(kid)[-1] == "menu"


async def test_done_page_tells_the_child_to_go_back_to_the_chat(haven) -> None:
    base = await haven()
    async with aiohttp.ClientSession() as http:
        async with http.get(base + "/verify/done") as page:
            assert page.status == 200
            assert "You can close this tab and go back to the chat" in await page.text()


# Yoti, against the fake ------------------------------------------------------------------


@pytest.mark.parametrize("outcome,state,words", [
    ("under_18", "report_upload", "The check says you're under 18"),
    ("over_18", "adult_signpost", "The age check says you're 18 or over"),
    ("failed", "report_not_verified", "couldn't confirm your age"),
    ("abandoned", "report_not_verified", "stopped before the end"),
    ("expired", "report_not_verified", "timed out"),
])
async def test_yoti_notification_moves_the_chat_on(haven, people, records, fake_yoti, outcome: str, state: str,
                                                   words: str) -> None:
    base = await start_yoti(haven, fake_yoti)
    kid = await people.child(base)
    _, url = await open_check(kid)
    assert url.startswith(fake_yoti.base_url + "/?")
    session_id = yoti_session(url)
    created = fake_yoti.sessions[session_id].config
    assert created["type"] == "UNDER" and created["age_estimation"]["threshold"] == 18
    # The reference Yoti sees is a random token, never the child's or the conversation's id.
    assert re.fullmatch(r"[0-9a-f]{16}", created["reference_id"])
    assert created["callback"]["url"] == base + "/verify/done"

    fake_yoti.set_outcome(outcome, session_id=session_id)
    assert await fake_yoti.send_notification(session_id) == 200
    await reach_state(kid, state)
    assert sum(words in t for t in bot_texts(kid)) == 1
    # The notification only triggered an authenticated fetch, then the session was deleted at Yoti.
    assert [r.path for r in fake_yoti.api_requests("GET")] == [f"/api/v1/sessions/{session_id}/result"]
    assert fake_yoti.api_requests("GET")[0].headers["Authorization"] == f"Bearer {fake_yoti.api_key}"
    assert [r.path for r in fake_yoti.api_requests("DELETE")] == [f"/api/v1/sessions/{session_id}"]

    [record] = await records()
    expected = {"under_18": ("complete", "yes"), "over_18": ("complete", "no")}.get(outcome, (outcome, "unknown"))
    assert (record.status, record.under_18) == expected
    # Yoti names the method on every finished session (the fake says age estimation).
    assert record.method == "age_estimation" and record.checked_at is not None


async def test_stored_record_holds_only_outcome_method_and_time(haven, people, records, fake_yoti,
                                                                database_url: str) -> None:
    base = await start_yoti(haven, fake_yoti)
    kid = await people.child(base)
    _, url = await open_check(kid)
    session_id = yoti_session(url)
    fake_yoti.set_outcome("under_18", session_id=session_id)
    assert await fake_yoti.send_notification(session_id) == 200
    await reach_state(kid, "report_upload")

    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            columns = await connection.run_sync(lambda c: {col["name"] for col in inspect(c).get_columns("verifications")})
            rows = (await connection.execute(select(Verification.__table__))).all()
            conversation_context = (await connection.exec_driver_sql("SELECT context FROM conversations")).scalar()
    finally:
        await engine.dispose()
    assert columns == RECORD_COLUMNS
    [row] = rows
    values = {k: v for k, v in row._mapping.items()}
    assert values["status"] == "complete" and values["under_18"] == "yes" and values["method"] == "age_estimation"
    stored = repr(values) + repr(conversation_context) + repr(kid.received("message"))
    # Yoti's result carried a date of birth, an estimated age, a selfie and a document: none of it is kept.
    for leaked in ("2010-02-03", "14.6", SENSITIVE_EXTRAS["selfie"], "PASSPORT", "Test Person", "evidence"):
        assert leaked not in stored


async def test_notification_with_wrong_or_missing_credentials_is_rejected(haven, people, records,
                                                                          fake_yoti) -> None:
    base = await start_yoti(haven, fake_yoti)
    kid = await people.child(base)
    client, url = await open_check(kid)
    session_id = yoti_session(url)
    fake_yoti.set_outcome("under_18", session_id=session_id)
    await barrier(client)
    before = len(kid.received("message"))
    assert await fake_yoti.send_notification(session_id, credentials="wrong") == 401
    assert await fake_yoti.send_notification(session_id, credentials="none") == 401
    # Nothing was fetched, recorded or said.
    await barrier(client)
    assert fake_yoti.api_requests("GET") == []
    assert [(r.status, r.under_18) for r in await records()] == [("pending", "unknown")]
    assert len(kid.received("message")) == before and states(kid)[-1] == "report_verifying"
    # Unknown provider names and sessions Haven never started are refused too.
    async with aiohttp.ClientSession() as http:
        async with http.post(base + "/verify/notify/demo", data=b"{}") as response:
            assert response.status == 404
    other = await fake_yoti_session(fake_yoti)
    assert await fake_yoti.send_notification(other) == 404


async def fake_yoti_session(fake: FakeYoti) -> str:
    """A session at the fake that Haven never asked for (as if someone else made it)."""
    async with aiohttp.ClientSession() as http:
        body = {"type": "UNDER", "age_estimation": {"allowed": True, "threshold": 18},
                "notification_url": f"http://yoti:{SECRET}@127.0.0.1:1/verify/notify/yoti"}
        headers = {"Authorization": f"Bearer {fake.api_key}", "Yoti-SDK-Id": fake.sdk_id}
        async with http.post(fake.base_url + "/api/v1/sessions", json=body, headers=headers) as response:
            session_id = (await response.json())["id"]
    # Send its notification to this Haven instead.
    fake.sessions[session_id].config["notification_url"] = next(
        s.config["notification_url"] for k, s in fake.sessions.items() if k != session_id)
    return session_id


async def test_replayed_notification_changes_nothing(haven, people, records, fake_yoti) -> None:
    base = await start_yoti(haven, fake_yoti)
    kid = await people.child(base)
    client, url = await open_check(kid)
    session_id = yoti_session(url)
    fake_yoti.set_outcome("under_18", session_id=session_id)
    notification = fake_yoti.notification(session_id)
    async with aiohttp.ClientSession() as http:
        async with http.post(notification.url, data=notification.body, headers=notification.headers) as first:
            assert first.status == 200 and (await first.json())["moved"] is True
        await reach_state(kid, "report_upload")
        await barrier(client)
        seen_messages, seen_states = len(kid.received("message")), len(kid.received("state"))
        for _ in range(2):
            async with http.post(notification.url, data=notification.body, headers=notification.headers) as again:
                assert again.status == 200 and (await again.json())["moved"] is False
    await barrier(client)
    assert len(kid.received("message")) == seen_messages and len(kid.received("state")) == seen_states
    assert sum("The check says you're under 18" in t for t in bot_texts(kid)) == 1
    assert len(fake_yoti.api_requests("GET")) == 1
    assert [(r.status, r.under_18) for r in await records()] == [("complete", "yes")]


async def test_ive_finished_fetches_the_outcome_and_says_when_it_is_not_ready(haven, people, fake_yoti) -> None:
    base = await start_yoti(haven, fake_yoti)
    kid = await people.child(base)
    client, url = await open_check(kid)
    session_id = yoti_session(url)
    await choose(client, "verify_done")
    await wait_for(lambda: any("hasn't finished yet" in t for t in bot_texts(kid)))
    assert states(kid)[-1] == "report_verifying"
    fake_yoti.set_outcome("under_18", session_id=session_id)
    await choose(client, "verify_done")
    await reach_state(kid, "report_upload")
    assert sum("The check says you're under 18" in t for t in bot_texts(kid)) == 1


async def test_slow_yoti_is_retried_and_the_child_still_gets_through(haven, people, fake_yoti) -> None:
    fake_yoti.slow_delay = 3.0  # longer than the adapter's timeout
    base = await start_yoti(haven, fake_yoti)
    kid = await people.child(base)
    fake_yoti.set_outcome("slow", times=1)  # the session creation times out once
    client, url = await open_check(kid)
    session_id = yoti_session(url)
    assert [r.status for r in fake_yoti.api_requests("POST")][-1] == 201
    assert len(fake_yoti.api_requests("POST")) == 2

    fake_yoti.set_outcome("under_18", session_id=session_id)
    fake_yoti.set_outcome("slow", session_id=session_id, times=1)  # and so does the first fetch
    await choose(client, "verify_done")
    await reach_state(kid, "report_upload")
    assert len(fake_yoti.api_requests("GET")) == 2


async def test_yoti_down_gives_a_plain_message_with_try_again_and_talk(haven, people, records, fake_yoti) -> None:
    base = await start_yoti(haven, fake_yoti)
    kid = await people.child(base)
    client = await kid.connect(NS)
    await client.call("hello", {"after": 0}, namespace=NS, timeout=10)
    await choose(client, "report")
    await choose(client, "age_13_15")
    fake_yoti.set_outcome("down")
    await choose(client, "verify_start")
    reached = await reach_state(kid, "report_not_verified")
    assert [o["id"] for o in reached["options"]] == ["verify_retry", "talk", "menu"]
    assert any("isn't working right now" in t for t in bot_texts(kid))
    assert len(fake_yoti.api_requests("POST")) == FAST["retry_attempts"]
    assert await records() == []

    fake_yoti.recover()
    await choose(client, "verify_retry")
    links = await wait_for(lambda: [link["url"] for m in kid.received("message") for link in m["links"]])
    session_id = yoti_session(links[-1])

    # Down again when the child says they've finished: they stay in the check and can ask again.
    fake_yoti.set_outcome("under_18", session_id=session_id)
    fake_yoti.set_outcome("down", session_id=session_id)
    await choose(client, "verify_done")
    await wait_for(lambda: any("couldn't get your result" in t for t in bot_texts(kid)))
    assert states(kid)[-1] == "report_verifying"
    # A notification while Yoti is down gets 503, so Yoti sends it again later.
    assert await fake_yoti.send_notification(session_id) == 503
    fake_yoti.recover()
    assert await fake_yoti.send_notification(session_id) == 200
    await reach_state(kid, "report_upload")

    # And "talk to someone" is always a way out.
    await choose(client, "talk")
    await reach_state(kid, "queue")


async def test_demo_page_and_demo_notifications_are_refused_with_a_real_provider(haven, people, fake_yoti) -> None:
    base = await start_yoti(haven, fake_yoti)
    kid = await people.child(base)
    token = secrets.token_urlsafe(18)
    async with kid.http.get(f"{base}/verify/demo/{token}") as page:
        assert page.status == 403 and "switched off" in await page.text()
    status, html = await pick_demo(kid, f"/verify/demo/{token}", "under_18")
    assert status == 403 and "switched off" in html
