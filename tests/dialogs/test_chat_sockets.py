"""The child's chat with the bot over socket.io: menu, advice, intents, risk, limits, resume."""

from __future__ import annotations

import uuid

import pytest
import socketio

from tests.harness import wait_for

NS = "/chat"


def cid() -> str:
    return f"c-{uuid.uuid4().hex}"


async def hello(client: socketio.AsyncClient, after: int = 0) -> dict:
    reply = await client.call("hello", {"after": after}, namespace=NS, timeout=10)
    assert reply["ok"], reply
    return reply


async def say(client: socketio.AsyncClient, text: str, client_id: str | None = None) -> dict:
    return await client.call("say", {"text": text, "client_id": client_id or cid()}, namespace=NS, timeout=10)


async def choose(client: socketio.AsyncClient, option: str) -> dict:
    return await client.call("choose", {"option": option, "client_id": cid()}, namespace=NS, timeout=10)


async def refusal(base: str, namespace: str, headers: dict[str, str] | None = None) -> object:
    """Try to connect; return the reason the server gave for refusing."""
    client = socketio.AsyncClient(reconnection=False)
    reasons: list[object] = []
    client.on("connect_error", lambda data=None: reasons.append(data), namespace=namespace)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(base, namespaces=[namespace], transports=["websocket"], wait_timeout=5,
                             headers=headers or {})
    await client.disconnect()
    return reasons[0] if reasons else None


async def test_refused_without_sign_in_or_with_the_wrong_role(server, people) -> None:
    base = await server()
    assert await refusal(base, NS) == {"message": "not_signed_in"}
    kid = await people.child(base)
    for namespace in ("/counsellor", "/supervisor"):
        assert await refusal(base, namespace, {"Cookie": kid.cookie_header()}) == {"message": "wrong_role"}


async def test_sockets_from_an_untrusted_origin_are_refused(server, people) -> None:
    base = await server()
    kid = await people.child(base)
    client = socketio.AsyncClient(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(base, namespaces=[NS], transports=["websocket"], wait_timeout=5,
                             headers={"Cookie": kid.cookie_header(), "Origin": "https://evil.example"})


async def test_welcome_menu_advice_and_leave(server, people) -> None:
    base = await server()
    kid = await people.child(base)
    client = await kid.connect(NS)
    opened = await hello(client)
    texts = [m["text"] for m in opened["messages"]]
    assert texts[0].startswith("Hi, I'm Haven's chat bot")
    assert [o["id"] for o in opened["conversation"]["options"]] == ["talk", "report", "advice", "leave"]
    assert [m["seq"] for m in opened["messages"]] == [1, 2]

    ack = await choose(client, "advice")
    assert ack["ok"] and ack["seq"] == 3
    await wait_for(lambda: any(s["state"] == "advice" for s in kid.received("state")))
    ack = await choose(client, "advice_fault")
    assert ack["ok"]
    await wait_for(lambda: any("not your fault" in m["text"] for m in kid.received("message")))
    fault = next(m for m in kid.received("message") if "not your fault" in m["text"])
    assert "you are not in trouble" in fault["text"]
    await choose(client, "advice_reporting")
    await wait_for(lambda: any("can't\npromise" in m["text"] or "can't promise" in m["text"]
                               for m in kid.received("message")))
    await choose(client, "advice_help")
    await wait_for(lambda: any(link["label"] == "Childline" for m in kid.received("message") for link in m["links"]))

    await choose(client, "menu")
    await choose(client, "leave")
    await wait_for(lambda: any(s["state"] == "closed" for s in kid.received("state")))
    refused = await say(client, "hello?")
    assert refused == {"ok": False, "error": {"code": "conversation_closed",
                                              "message": "This chat has ended. Refresh to start a new one."}}
    # Next time the child comes back, a fresh conversation starts.
    reopened = await hello(client)
    assert reopened["conversation"]["id"] != opened["conversation"]["id"]
    assert reopened["conversation"]["state"] == "menu"


@pytest.mark.parametrize("text,state", [
    ("can I talk to someone?", "queue"),
    ("please remove my picture", "report_age"),
    ("help", "advice"),
    ("am I in trouble", "advice"),
])
async def test_free_text_intents(server, people, text: str, state: str) -> None:
    base = await server()
    kid = await people.child(base)
    client = await kid.connect(NS)
    await hello(client)
    ack = await say(client, text)
    assert ack["ok"]
    await wait_for(lambda: any(s["state"] == state for s in kid.received("state")))


async def test_unknown_text_gets_a_kind_fallback_with_the_menu(server, people) -> None:
    base = await server()
    kid = await people.child(base)
    client = await kid.connect(NS)
    await hello(client)
    await say(client, "purple elephants")
    reply = await wait_for(lambda: [m for m in kid.received("message") if m["sender"] == "bot"
                                    and "didn't quite get that" in m["text"]])
    assert [o["id"] for o in reply[0]["options"]] == ["talk", "report", "advice", "leave"]


async def test_asking_for_a_person_works_from_any_state(server, people) -> None:
    base = await server()
    kid = await people.child(base)
    client = await kid.connect(NS)
    await hello(client)
    await choose(client, "report")
    await wait_for(lambda: any(s["state"] == "report_age" for s in kid.received("state")))
    await say(client, "I want to speak to a real person")
    await wait_for(lambda: any(s["state"] == "queue" for s in kid.received("state")))


async def test_outside_opening_hours_the_bot_says_when_counsellors_are_back(server, people) -> None:
    base = await server(opening_hours=())
    kid = await people.child(base)
    client = await kid.connect(NS)
    await hello(client)
    await choose(client, "talk")
    reply = await wait_for(lambda: [m for m in kid.received("message") if "aren't online right now" in m["text"]])
    assert "0800 1111" in reply[0]["text"]
    await wait_for(lambda: kid.received("state") and kid.received("state")[-1]["state"] == "menu")


async def test_high_risk_offers_a_counsellor_and_emergency_contacts_at_once(server, people) -> None:
    base = await server()
    kid = await people.child(base)
    client = await kid.connect(NS)
    await hello(client)
    ack = await say(client, "i dont want to be alive anymore")
    assert ack["ok"]
    reply = await wait_for(lambda: [m for m in kid.received("message")
                                    if m["sender"] == "bot" and "999" in m["text"]])
    assert "0800 1111" in reply[0]["text"]
    assert [o["id"] for o in reply[0]["options"]] == ["talk", "menu"]
    # No "didn't get that" after a risk reply.
    assert not [m for m in kid.received("message") if "didn't quite get" in m["text"]]


async def test_same_client_id_is_stored_once(server, people) -> None:
    base = await server()
    kid = await people.child(base)
    client = await kid.connect(NS)
    await hello(client)
    client_id = cid()
    first = await say(client, "hello there", client_id)
    second = await say(client, "hello there", client_id)
    assert first["ok"] and second == first
    opened = await hello(client)
    assert [m["client_id"] for m in opened["messages"]].count(client_id) == 1


async def test_reconnect_gets_exactly_the_missed_messages_in_order(server, people) -> None:
    base = await server()
    kid = await people.child(base)
    phone = await kid.connect(NS, record=False)
    opened = await hello(phone)
    seen = max(m["seq"] for m in opened["messages"])
    await phone.disconnect()
    # While the phone is away, the child keeps chatting from another tab.
    laptop = await kid.connect(NS, record=False)
    await hello(laptop, after=seen)
    await choose(laptop, "advice")
    await say(laptop, "is it my fault")
    await say(laptop, "<b>bold</b>")
    everything = await hello(laptop, after=0)
    expected = [m["seq"] for m in everything["messages"] if m["seq"] > seen]
    phone = await kid.connect(NS, record=False)
    resumed = await hello(phone, after=seen)
    got = [m["seq"] for m in resumed["messages"]]
    assert got == expected and got == list(range(seen + 1, seen + 1 + len(got)))
    assert len(got) >= 5


async def test_html_is_kept_as_typed(server, people) -> None:
    base = await server()
    kid = await people.child(base)
    client = await kid.connect(NS)
    await hello(client)
    payload = "<script>alert(1)</script><img src=x onerror=alert(1)>"
    ack = await say(client, payload)
    stored = [m for m in (await hello(client))["messages"] if m["seq"] == ack["seq"]][0]
    assert stored["text"] == payload


@pytest.mark.parametrize("event,data,code", [
    ("say", {"text": "", "client_id": "c-1"}, "empty"),
    ("say", {"text": "   ", "client_id": "c-1"}, "empty"),
    ("say", {"text": 5, "client_id": "c-1"}, "bad_payload"),
    ("say", {"text": "hi"}, "bad_payload"),
    ("say", "just a string", "bad_payload"),
    ("say", {"text": "hi", "client_id": "x" * 65}, "too_long"),
    ("choose", {"option": "launch_rockets", "client_id": "c-2"}, "unknown_option"),
    ("hello", {"after": -1}, "bad_payload"),
    ("hello", {"after": "7"}, "bad_payload"),
])
async def test_bad_payloads_get_a_clear_code(server, people, event: str, data: object, code: str) -> None:
    base = await server()
    kid = await people.child(base)
    client = await kid.connect(NS)
    await hello(client)
    reply = await client.call(event, data, namespace=NS, timeout=10)
    assert reply["ok"] is False and reply["error"]["code"] == code and reply["error"]["message"]


async def test_long_messages_and_floods_are_refused_without_losing_earlier_ones(server, people) -> None:
    base = await server(message_max_chars=50, messages_per_minute=5)
    kid = await people.child(base)
    client = await kid.connect(NS)
    await hello(client)
    too_long = await say(client, "x" * 51)
    assert too_long["error"]["code"] == "too_long" and "50" in too_long["error"]["message"]
    acks = [await say(client, f"message {i}") for i in range(6)]
    assert [a["ok"] for a in acks] == [True] * 5 + [False]
    assert acks[-1]["error"]["code"] == "rate_limited"
    stored = [m["text"] for m in (await hello(client))["messages"] if m["sender"] == "child"]
    assert stored == [f"message {i}" for i in range(5)]


async def test_read_receipts_reach_the_child_after_the_bot_answers(server, people) -> None:
    base = await server()
    kid = await people.child(base)
    client = await kid.connect(NS)
    await hello(client)
    ack = await say(client, "help")
    receipt = await wait_for(lambda: [r for r in kid.received("receipt") if r["read_seq"] >= ack["seq"]])
    assert receipt


async def test_signing_out_disconnects_the_socket(server, people) -> None:
    base = await server()
    kid = await people.child(base)
    client = await kid.connect(NS)
    await hello(client)
    await kid.post("/auth/logout")
    await wait_for(lambda: not client.connected)


async def test_asking_to_withdraw_with_no_report_is_answered_kindly(server, people) -> None:
    base = await server()
    kid = await people.child(base)
    client = await kid.connect(NS)
    await hello(client)
    ack = await say(client, "I want to withdraw my report")
    assert ack["ok"]
    replies = await wait_for(lambda: [m for m in kid.received("message")
                                      if m["sender"] == "bot" and m["seq"] > ack["seq"]])
    assert "didn't quite get" not in replies[0]["text"]
    assert kid.received("state")[-1]["state"] == "menu"
