"""The supervisor's dashboard over HTTP and socket.io, on SQLite and PostgreSQL: who may use it, live pushes,
monitoring the child never hears of, whispers that never reach the child, reassigning, metrics and CSV."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import uuid
from typing import Any

import aiohttp
import socketio

from tests.harness import Person, wait_for
from tests.web.test_counsellor import PASSWORD, call, cid, make_staff, on_duty, texts, waiting_kid

SUP = "/supervisor"


async def supervisor_on(base: str, people: Any, database_url: str) -> tuple[Person, socketio.AsyncClient]:
    name = await make_staff(database_url, "supervisor")
    person = await people.staff(base, name, PASSWORD, "supervisor")
    client = await person.connect(SUP)
    return person, client


async def get(person: Person, path: str) -> tuple[int, str, str]:
    async with person.http.get(person.base_url.rstrip("/") + path, allow_redirects=False) as r:
        return r.status, r.headers.get("Content-Type", ""), await r.text()


def latest(person: Person) -> dict[str, Any]:
    return person.received("dashboard")[-1] if person.received("dashboard") else {}


async def test_counsellors_and_children_may_not_use_the_supervisor_namespace_pages_or_metrics(
        server, people, database_url) -> None:
    base = await server(database_url=database_url)
    counsellor, _ = await on_duty(base, people, database_url)
    kid = await people.child(base)
    for person in (counsellor, kid):
        refused = socketio.AsyncClient(reconnection=False)
        reasons: list[Any] = []
        refused.on("connect_error", reasons.append, namespace=SUP)
        try:
            await refused.connect(base, namespaces=[SUP], transports=["websocket"], wait_timeout=5,
                                  headers={"Cookie": person.cookie_header(), "Origin": base.rstrip("/")})
            raise AssertionError(f"a {person.role} reached the supervisor namespace")
        except socketio.exceptions.ConnectionError:
            assert reasons and reasons[0]["message"] == "wrong_role", reasons
        finally:
            await refused.disconnect()
        status, _, page = await get(person, "/supervisor")
        assert status == 403 and "Supervisor dashboard" not in page
        for path in ("/supervisor/metrics.json", "/supervisor/metrics.csv"):
            status, kind, body = await get(person, path)
            assert status == 403 and json.loads(body)["error"]["code"] == "forbidden", (path, body)
            assert "hour_start" not in body
    async with aiohttp.ClientSession() as anonymous:
        async with anonymous.get(base.rstrip("/") + "/supervisor/metrics.json") as r:
            assert r.status == 401 and (await r.json())["error"]["code"] == "not_signed_in"
        async with anonymous.get(base.rstrip("/") + "/supervisor", allow_redirects=False) as r:
            assert r.status == 303 and r.headers["Location"].startswith("/staff/login")
    supervisor, _ = await supervisor_on(base, people, database_url)
    status, _, page = await get(supervisor, "/supervisor")
    assert status == 200 and "Supervisor dashboard" in page


async def test_dashboard_is_pushed_monitoring_is_silent_and_whispers_reach_only_the_counsellor(
        server, people, database_url) -> None:
    base = await server(database_url=database_url)
    supervisor, sup = await supervisor_on(base, people, database_url)
    hello = await call(sup, "hello", namespace=SUP)
    assert hello["ok"] and hello["dashboard"]["counts"]["waiting"] == 0
    assert hello["dashboard"]["health"]["light"] == "green" and hello["team"]["default_capacity"] == 2

    # A child waits: the dashboard is pushed (not polled) with the child in it.
    kid, kid_socket, conv = await waiting_kid(base, people)
    await wait_for(lambda: latest(supervisor).get("counts", {}).get("waiting") == 1)
    assert latest(supervisor)["waiting"][0]["conversation_id"] == conv
    # Nobody is free to take them: amber, and says why.
    assert latest(supervisor)["health"]["light"] == "amber"

    counsellor, co = await on_duty(base, people, database_url)
    await wait_for(lambda: latest(supervisor).get("counts", {}).get("available") == 1)
    assert (await call(co, "take_next"))["ok"]
    await wait_for(lambda: latest(supervisor).get("counts", {}).get("active_chats") == 1)
    snap = latest(supervisor)
    assert snap["counts"]["waiting"] == 0 and snap["active"][0]["holder"] == counsellor.username
    assert snap["health"]["light"] == "green"
    assert (await call(kid_socket, "say", {"text": "I feel awful today", "client_id": cid()}, "/chat"))["ok"]
    await wait_for(lambda: "I feel awful today" in texts(counsellor, "child"))

    # Monitoring: the supervisor reads everything so far and hears what follows; the child hears nothing of it.
    kid_events_before = list(kid.events)
    watched = await call(sup, "monitor", {"conversation_id": conv}, SUP)
    assert watched["ok"] and watched["chat"]["holder"] == counsellor.username
    assert "I feel awful today" in [m["text"] for m in watched["messages"]]
    assert (await call(co, "send", {"conversation_id": conv, "text": "I'm sorry. Tell me more?",
                                    "client_id": cid()}))["ok"]
    await wait_for(lambda: "I'm sorry. Tell me more?" in texts(supervisor, "counsellor"))
    await wait_for(lambda: "I'm sorry. Tell me more?" in texts(kid, "counsellor"))
    new_for_kid = kid.events[len(kid_events_before):]
    assert [e for e, _ in new_for_kid if e == "message"] == ["message"]  # only the counsellor's reply
    assert supervisor.username not in json.dumps(kid.events)

    # A whisper: the counsellor sees it (marked as one); the child never does, live or on resume.
    secret = "WHISPER-" + uuid.uuid4().hex
    whispered = await call(sup, "whisper", {"conversation_id": conv, "text": secret, "client_id": cid()}, SUP)
    assert whispered["ok"], whispered
    await wait_for(lambda: secret in texts(counsellor))
    shown = [m for m in counsellor.received("message") if m["text"] == secret][0]
    assert (shown["kind"], shown["visibility"], shown["sender"]) == ("whisper", "staff", "supervisor")
    assert shown["sender_name"] == supervisor.username
    assert (await call(kid_socket, "say", {"text": "ok", "client_id": cid()}, "/chat"))["ok"]
    await wait_for(lambda: "ok" in texts(counsellor, "child"))
    resumed = await call(kid_socket, "hello", {"after": 0}, "/chat")
    assert secret not in json.dumps(kid.events) and secret not in json.dumps(resumed)
    assert supervisor.username not in json.dumps(resumed)
    seqs = [m["seq"] for m in resumed["messages"]]
    assert whispered["seq"] not in seqs
    # Bad whispers get clear codes.
    assert (await call(sup, "whisper", {"conversation_id": conv, "text": " "}, SUP))["error"]["code"] == "empty"
    assert (await call(sup, "monitor", {"conversation_id": 10**6}, SUP))["error"]["code"] == "no_live_chat"


async def test_supervisor_reassigns_then_takes_over_talks_and_hands_back(server, people, database_url) -> None:
    base = await server(database_url=database_url)
    supervisor, sup = await supervisor_on(base, people, database_url)
    await call(sup, "hello", namespace=SUP)
    kid, kid_socket, conv = await waiting_kid(base, people)
    first, co1 = await on_duty(base, people, database_url)
    second, co2 = await on_duty(base, people, database_url)

    # Straight from the queue to a named counsellor: the child hears they joined.
    moved = await call(sup, "reassign", {"conversation_id": conv, "to": second.username}, SUP)
    assert moved["ok"] and moved["from_queue"] is True, moved
    await wait_for(lambda: f"A counsellor, {second.username}, has joined the chat." in texts(kid))
    await wait_for(lambda: second.received("assigned"))
    # From that counsellor to another: the first hears "unassigned", the new one "assigned".
    moved = await call(sup, "reassign", {"conversation_id": conv, "to": first.username}, SUP)
    assert moved["ok"] and moved["from_queue"] is False
    await wait_for(lambda: any(e["conversation_id"] == conv for e in second.received("unassigned")))
    await wait_for(lambda: any(e["conversation_id"] == conv for e in first.received("assigned")))
    assert (await call(co2, "send", {"conversation_id": conv, "text": "x", "client_id": cid()}))["error"]["code"] \
        == "not_your_chat"
    unknown = await call(sup, "reassign", {"conversation_id": conv, "to": "nobody-here"}, SUP)
    assert unknown["error"]["code"] == "no_such_counsellor"

    # The supervisor takes over: talks to the child, who sees an ordinary counsellor message.
    taken = await call(sup, "take_over", {"conversation_id": conv}, SUP)
    assert taken["ok"] and taken["chat"]["holder"] == supervisor.username, taken
    await wait_for(lambda: any(t.startswith(f"{supervisor.username} is taking over this chat") for t in texts(kid)))
    await wait_for(lambda: any(e["conversation_id"] == conv for e in first.received("unassigned")))
    sent = await call(sup, "send", {"conversation_id": conv, "text": "Hello, I'm Sam's colleague.",
                                    "client_id": cid()}, SUP)
    assert sent["ok"], sent
    await wait_for(lambda: "Hello, I'm Sam's colleague." in texts(kid, "counsellor"))
    assert (await call(kid_socket, "say", {"text": "hi", "client_id": cid()}, "/chat"))["ok"]
    await wait_for(lambda: "hi" in texts(supervisor, "child"))
    await wait_for(lambda: any(a["holder"] == supervisor.username for a in latest(supervisor).get("active", [])))
    assert (await call(sup, "wrap_up", {"conversation_id": conv, "risk_level": "low", "topics": []}, SUP))["ok"]
    await wait_for(lambda: any(t.startswith("The counsellor has left the chat.") for t in texts(kid)))
    await wait_for(lambda: latest(supervisor).get("counts", {}).get("active_chats") == 0)

    # Team settings: capacity shows on the dashboard at once.
    assert (await call(sup, "set_capacity", {"username": first.username, "capacity": 4}, SUP))["capacity"] == 4
    await wait_for(lambda: any(c["username"] == first.username and c["capacity"] == 4
                               for c in latest(supervisor).get("counsellors", [])))


async def test_metrics_csv_matches_the_chart_data_and_live_gauges_are_exported(server, people, database_url) -> None:
    base = await server(database_url=database_url, metrics_token="prometheus-token-123")
    supervisor, sup = await supervisor_on(base, people, database_url)
    kid, _, conv = await waiting_kid(base, people)
    counsellor, co = await on_duty(base, people, database_url)
    other, _, _ = await waiting_kid(base, people)
    assert (await call(co, "take_next"))["ok"]
    assert (await call(co, "wrap_up", {"conversation_id": conv, "risk_level": "low", "topics": []}))["ok"]

    status, kind, body = await get(supervisor, "/supervisor/metrics.json")
    assert status == 200 and kind.startswith("application/json")
    data = json.loads(body)
    assert len(data["hours"]) == 24 and data["totals"]["reached"] == 1 and data["totals"]["handled"] == 1
    status, kind, text = await get(supervisor, f"/supervisor/metrics.csv?from={data['from']}&to={data['to']}".replace(
        "+", "%2B"))
    assert status == 200 and kind.startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [dict(r) for r in rows] == [{k: "" if v is None else str(v) for k, v in h.items()} for h in data["hours"]]
    assert sum(int(r["handled"]) for r in rows) == 1

    status, _, body = await get(supervisor, "/supervisor/metrics.json?from=2026-01-01&to=2026-06-01")
    assert status == 400 and json.loads(body)["error"]["code"] == "period_too_long"
    status, _, body = await get(supervisor, "/supervisor/metrics.csv?from=soon")
    assert status == 400 and json.loads(body)["error"]["code"] == "bad_period"

    # /metrics: the live figures (one child waiting, one counsellor online, no chat held), refreshed after
    # every queue change.
    async with aiohttp.ClientSession() as anonymous:
        async def figures() -> list[str]:
            async with anonymous.get(base.rstrip("/") + "/metrics",
                                     headers={"Authorization": "Bearer prometheus-token-123"}) as r:
                return [line for line in (await r.text()).splitlines() if not line.startswith("#")]

        lines = await figures()
        for _ in range(100):
            if "haven_queue_waiting 1.0" in lines and "haven_active_chats 0.0" in lines:
                break
            await asyncio.sleep(0.05)
            lines = await figures()
    assert other.received("queue")
    for line in ("haven_queue_waiting 1.0", "haven_active_chats 0.0", 'haven_counsellors{presence="online"} 1.0',
                 'haven_counsellors{presence="available"} 1.0', "haven_queue_high_risk_waiting 0.0"):
        assert line in lines, (line, lines)
    assert any(line.startswith("haven_queue_longest_wait_seconds ") for line in lines)
    assert any(line.startswith("haven_queue_health ") for line in lines)
