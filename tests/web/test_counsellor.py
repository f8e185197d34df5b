"""The counsellor console over socket.io, on SQLite and PostgreSQL: take, talk, notes, handoffs, wrap-up."""

from __future__ import annotations

import json
import uuid
from typing import Any

import socketio

from bot.accounts import Accounts, Passwords
from bot.db import Database, make_engine
from tests.harness import Person, wait_for

CO = "/counsellor"
PASSWORD = "counsellor pass 1"


def cid() -> str:
    return f"c-{uuid.uuid4().hex}"


async def make_staff(database_url: str, role: str = "counsellor") -> str:
    engine = make_engine(database_url)
    try:
        name = f"{role[:3]}{uuid.uuid4().hex[:6]}"
        await Accounts(Database(engine), Passwords()).do_create_user(name, PASSWORD, role)
        return name
    finally:
        await engine.dispose()


async def call(client: socketio.AsyncClient, event: str, data: Any = None, namespace: str = CO) -> dict[str, Any]:
    return await client.call(event, data if data is not None else {}, namespace=namespace, timeout=10)


async def waiting_kid(base: str, people: Any) -> tuple[Person, socketio.AsyncClient, int]:
    kid = await people.child(base)
    client = await kid.connect("/chat")
    hello = await call(client, "hello", {"after": 0}, "/chat")
    ack = await call(client, "choose", {"option": "talk", "client_id": cid()}, "/chat")
    assert ack["ok"], ack
    return kid, client, hello["conversation"]["id"]


async def on_duty(base: str, people: Any, database_url: str) -> tuple[Person, socketio.AsyncClient]:
    name = await make_staff(database_url)
    person = await people.staff(base, name, PASSWORD, "counsellor")
    client = await person.connect(CO)
    assert (await call(client, "hello"))["ok"]
    assert (await call(client, "status", {"status": "available"}))["status"] == "available"
    return person, client


def texts(person: Person, sender: str | None = None) -> list[str]:
    return [m["text"] for m in person.received("message") if sender is None or m["sender"] == sender]


async def test_child_asks_counsellor_takes_they_talk_notes_stay_private_and_wrap_up_alerts(
        server, people, database_url) -> None:
    base = await server(database_url=database_url)
    kid, kid_socket, conv = await waiting_kid(base, people)
    await wait_for(lambda: kid.received("queue"))
    assert kid.received("queue")[-1]["position"] == 1 and kid.received("queue")[-1]["conversation_id"] == conv

    sup_name = await make_staff(database_url, "supervisor")
    supervisor = await people.staff(base, sup_name, PASSWORD, "supervisor")
    sup_socket = await supervisor.connect("/supervisor")
    assert (await call(sup_socket, "canned_save", {"shortcut": "hello", "text": "Hi, I'm here to listen."},
                       "/supervisor"))["ok"]

    counsellor, co = await on_duty(base, people, database_url)
    console = await call(co, "hello")
    assert console["waiting"] == 1 and console["canned"] == [{"shortcut": "hello", "text": "Hi, I'm here to listen."}]
    taken = await call(co, "take_next")
    assert taken["ok"], taken
    assert taken["chat"]["conversation_id"] == conv and taken["chat"]["state"] == "with_counsellor"
    # The whole transcript, bot part included.
    assert any(m["sender"] == "bot" for m in taken["messages"])
    joined = f"A counsellor, {counsellor.username}, has joined the chat."
    await wait_for(lambda: joined in texts(kid))
    await wait_for(lambda: any(s["state"] == "with_counsellor" for s in kid.received("state")))

    # Both ways, with typing indicators.
    assert (await call(co, "typing", {"conversation_id": conv, "typing": True}))["ok"]
    await wait_for(lambda: {"conversation_id": conv, "who": "counsellor", "typing": True} in kid.received("typing"))
    sent = await call(co, "send", {"conversation_id": conv, "text": "Hi, I'm here. What's happening?",
                                   "client_id": cid()})
    assert sent["ok"], sent
    await wait_for(lambda: "Hi, I'm here. What's happening?" in texts(kid, "counsellor"))
    assert kid.received("message")[-1]["sender_name"] == counsellor.username
    await call(kid_socket, "typing", {"typing": True}, "/chat")
    await wait_for(lambda: {"conversation_id": conv, "who": "child", "typing": True} in counsellor.received("typing"))
    assert (await call(kid_socket, "say", {"text": "someone shared a photo of me", "client_id": cid()}, "/chat"))["ok"]
    await wait_for(lambda: "someone shared a photo of me" in texts(counsellor, "child"))
    # The bot stays quiet while a counsellor is talking.
    assert not any(m["sender"] == "bot" and m["seq"] > sent["seq"] for m in kid.received("message"))

    # A private note reaches staff only.
    note_text = "PRIVATE-NOTE-" + uuid.uuid4().hex
    noted = await call(co, "note", {"conversation_id": conv, "text": note_text, "client_id": cid()})
    assert noted["ok"], noted
    await wait_for(lambda: note_text in texts(counsellor))
    detail = await call(co, "open", {"conversation_id": conv})
    assert [m for m in detail["messages"] if m["text"] == note_text][0]["visibility"] == "staff"
    # A later reconnect by the child resumes without the note either.
    again = await call(kid_socket, "hello", {"after": 0}, "/chat")
    assert note_text not in json.dumps(again)

    # Unknown chat ids and bad payloads get clear errors.
    assert (await call(co, "send", {"conversation_id": conv + 999, "text": "x", "client_id": cid()}))["error"]["code"] \
        == "not_your_chat"
    assert (await call(co, "send", {"conversation_id": conv, "text": "", "client_id": cid()}))["error"]["code"] == "empty"
    assert (await call(co, "wrap_up", {"conversation_id": conv, "risk_level": "enormous"}))["error"]["code"] \
        == "bad_risk_level"

    wrapped = await call(co, "wrap_up", {"conversation_id": conv, "topics": ["images"], "risk_level": "high",
                                         "safeguarding": True, "notes": "Follow up."})
    assert wrapped["ok"], wrapped
    await wait_for(lambda: supervisor.received("safeguarding_alert"))
    assert supervisor.received("safeguarding_alert")[0]["conversation_id"] == conv
    await wait_for(lambda: any(s["state"] == "menu" for s in kid.received("state")))
    assert "The counsellor has left the chat. I'm here if you need anything else." in texts(kid)
    assert (await call(co, "send", {"conversation_id": conv, "text": "still here?", "client_id": cid()}))["error"][
        "code"] == "not_your_chat"

    # Every single event the child's socket received: no note, no staff-only field.
    everything = json.dumps(kid.events)
    assert note_text not in everything
    assert '"visibility"' not in everything and "Follow up." not in everything


async def test_every_waiting_child_sees_their_position_change(server, people, database_url) -> None:
    base = await server(database_url=database_url)
    kids = [await waiting_kid(base, people) for _ in range(3)]
    for position, (kid, _, _) in enumerate(kids, start=1):
        await wait_for(lambda kid=kid: kid.received("queue"))
        assert kid.received("queue")[-1]["position"] == position
    _, co = await on_duty(base, people, database_url)
    for kid, _, _ in kids:
        kid.events.clear()
    taken = await call(co, "take_next")
    assert taken["chat"]["conversation_id"] == kids[0][2]
    for position, (kid, _, conv) in enumerate(kids[1:], start=1):
        await wait_for(lambda kid=kid: kid.received("queue"))
        assert kid.received("queue")[-1] == {"conversation_id": conv, "position": position, "eta_minutes": None}
    # The child who left the queue moves everyone behind up.
    await call(kids[1][1], "choose", {"option": "leave_queue", "client_id": cid()}, "/chat")
    await wait_for(lambda: kids[2][0].received("queue") and kids[2][0].received("queue")[-1]["position"] == 1)


async def test_transfer_to_a_named_counsellor_then_back_to_the_queue(server, people, database_url) -> None:
    base = await server(database_url=database_url)
    kid, _, conv = await waiting_kid(base, people)
    first, co1 = await on_duty(base, people, database_url)
    second, co2 = await on_duty(base, people, database_url)
    assert (await call(co1, "take_next"))["ok"]
    assert (await call(co1, "transfer", {"conversation_id": conv, "to": "no-such-person"}))["error"]["code"] \
        == "no_such_counsellor"
    moved = await call(co1, "transfer", {"conversation_id": conv, "to": second.username})
    assert moved == {"ok": True, "to": second.username}
    await wait_for(lambda: second.received("assigned"))
    assert second.received("assigned")[0]["conversation_id"] == conv
    await wait_for(lambda: first.received("unassigned"))
    assert (await call(co1, "open", {"conversation_id": conv}))["error"]["code"] == "not_your_chat"
    opened = await call(co2, "open", {"conversation_id": conv})
    assert opened["chat"]["conversation_id"] == conv
    await wait_for(lambda: any(second.username in t and "taking over" in t for t in texts(kid)))

    back = await call(co2, "transfer", {"conversation_id": conv, "to_queue": True})
    assert back["ok"], back
    await wait_for(lambda: any(s["state"] == "queue" for s in kid.received("state")))
    await wait_for(lambda: kid.received("queue") and kid.received("queue")[-1]["position"] == 1)
    assert any("you keep your place" in t for t in texts(kid))
    assert (await call(co1, "take_next"))["chat"]["conversation_id"] == conv


async def test_hand_back_to_the_bot_and_start_the_report_flow(server, people, database_url) -> None:
    base = await server(database_url=database_url)
    kid, kid_socket, conv = await waiting_kid(base, people)
    counsellor, co = await on_duty(base, people, database_url)
    await call(co, "take_next")
    started = await call(co, "start_report", {"conversation_id": conv})
    assert started == {"ok": True, "state": "report_age"}
    await wait_for(lambda: any(s["state"] == "report_age" for s in counsellor.received("state")))
    # The child's choices in the report flow reach the console too.
    await call(kid_socket, "choose", {"option": "age_18_plus", "client_id": cid()}, "/chat")
    await wait_for(lambda: any(s["state"] == "adult_signpost" for s in counsellor.received("state")))
    assert (await call(co, "start_report", {"conversation_id": conv}))["error"]["code"] == "not_with_counsellor"
    assert (await call(co, "resume", {"conversation_id": conv}))["state"] == "with_counsellor"
    assert (await call(co, "hand_back", {"conversation_id": conv}))["ok"]
    await wait_for(lambda: kid.received("state")[-1]["state"] == "menu")
    assert (await call(co, "hello"))["chats"] == []


async def test_counsellor_connection_drops_child_is_told_and_goes_to_the_front(server, people, database_url) -> None:
    base = await server(database_url=database_url, counsellor_grace_seconds=1)
    kid, kid_socket, conv = await waiting_kid(base, people)
    counsellor, co = await on_duty(base, people, database_url)
    await call(co, "take_next")
    await wait_for(lambda: any(s["state"] == "with_counsellor" for s in kid.received("state")))
    assert (await call(kid_socket, "say", {"text": "please don't go", "client_id": cid()}, "/chat"))["ok"]
    other, _, other_conv = await waiting_kid(base, people)
    await co.disconnect()
    await wait_for(lambda: any("connection has dropped" in t for t in texts(kid)))
    await wait_for(lambda: kid.received("state")[-1]["state"] == "queue", timeout=10)
    assert any("front of the queue" in t for t in texts(kid))
    await wait_for(lambda: kid.received("queue") and kid.received("queue")[-1]["position"] == 1)
    await wait_for(lambda: other.received("queue") and other.received("queue")[-1]["position"] == 2)
    # Nothing lost: the child's whole chat is still there, and the next counsellor gets this child first.
    resumed = await call(kid_socket, "hello", {"after": 0}, "/chat")
    assert "please don't go" in [m["text"] for m in resumed["messages"]]
    _, co2 = await on_duty(base, people, database_url)
    taken = await call(co2, "take_next")
    assert taken["chat"]["conversation_id"] == conv != other_conv
    assert "please don't go" in [m["text"] for m in taken["messages"]]


async def test_console_reconnect_rejoins_held_chats_and_child_hears_the_counsellor_is_back(
        server, people, database_url) -> None:
    base = await server(database_url=database_url, counsellor_grace_seconds=60)
    kid, kid_socket, conv = await waiting_kid(base, people)
    counsellor, co = await on_duty(base, people, database_url)
    await call(co, "take_next")
    await co.disconnect()
    await wait_for(lambda: any("connection has dropped" in t for t in texts(kid)))
    co2 = await counsellor.connect(CO)
    await wait_for(lambda: "Your counsellor is back." in texts(kid))
    console = await call(co2, "hello")
    assert [c["conversation_id"] for c in console["chats"]] == [conv]
    await call(kid_socket, "say", {"text": "are you there", "client_id": cid()}, "/chat")
    await wait_for(lambda: "are you there" in texts(counsellor, "child"))
    assert console["chats"][0]["state"] == "with_counsellor"


async def test_a_counsellor_may_not_see_chats_that_are_not_theirs(server, people, database_url) -> None:
    base = await server(database_url=database_url)
    kid, kid_socket, conv = await waiting_kid(base, people)
    mine, co_mine = await on_duty(base, people, database_url)
    theirs, co_theirs = await on_duty(base, people, database_url)
    await call(co_mine, "take_next")
    for event, data in [("open", {}), ("send", {"text": "hi", "client_id": cid()}),
                        ("note", {"text": "n", "client_id": cid()}), ("typing", {"typing": True}),
                        ("read", {"seq": 1}), ("hand_back", {}), ("start_report", {}),
                        ("wrap_up", {"risk_level": "low"}), ("transfer", {"to_queue": True})]:
        reply = await call(co_theirs, event, {"conversation_id": conv, **data})
        assert reply["ok"] is False and reply["error"]["code"] == "not_your_chat", (event, reply)
    await call(kid_socket, "say", {"text": "only for my counsellor", "client_id": cid()}, "/chat")
    await wait_for(lambda: "only for my counsellor" in texts(mine))
    assert "only for my counsellor" not in texts(theirs)
    # A counsellor cannot edit canned responses or capacities (supervisors only), nor a child reach the console.
    supervisor_only = socketio.AsyncClient(reconnection=False)
    try:
        await supervisor_only.connect(base, namespaces=["/supervisor"], transports=["websocket"], wait_timeout=5,
                                      headers={"Cookie": mine.cookie_header(), "Origin": base.rstrip("/")})
        raise AssertionError("a counsellor reached the supervisor namespace")
    except socketio.exceptions.ConnectionError:
        pass
    finally:
        await supervisor_only.disconnect()


async def test_waiting_child_may_read_advice_keep_their_place_and_leave_the_queue(server, people, database_url) -> None:
    base = await server(database_url=database_url)
    first, _, first_conv = await waiting_kid(base, people)
    kid, kid_socket, conv = await waiting_kid(base, people)
    await wait_for(lambda: kid.received("queue") and kid.received("queue")[-1]["position"] == 2)
    assert (await call(kid_socket, "choose", {"option": "advice", "client_id": cid()}, "/chat"))["ok"]
    again = await call(kid_socket, "choose", {"option": "talk", "client_id": cid()}, "/chat")
    assert again["ok"], again
    await wait_for(lambda: any("already waiting" in t for t in texts(kid)))
    assert kid.received("queue")[-1]["position"] == 2
    assert (await call(kid_socket, "choose", {"option": "leave_queue", "client_id": cid()}, "/chat"))["ok"]
    _, co = await on_duty(base, people, database_url)
    assert (await call(co, "take_next"))["chat"]["conversation_id"] == first_conv
    assert (await call(co, "take_next"))["error"]["code"] == "queue_empty"
    assert conv != first_conv


async def test_counsellor_sees_when_the_child_drops_and_comes_back(server, people, database_url) -> None:
    base = await server(database_url=database_url)
    kid, kid_socket, conv = await waiting_kid(base, people)
    counsellor, co = await on_duty(base, people, database_url)
    assert (await call(co, "take_next"))["ok"]
    await kid_socket.disconnect()
    dropped = await wait_for(lambda: [e for e in counsellor.received("child_presence") if not e["online"]])
    assert dropped[-1] == {"conversation_id": conv, "online": False}
    again = await kid.connect("/chat")
    await call(again, "hello", {"after": 0}, "/chat")
    await wait_for(lambda: [e for e in counsellor.received("child_presence") if e["online"]
                            and e["conversation_id"] == conv])


async def test_delivered_receipts_come_only_from_the_chats_counsellor(server, people, database_url) -> None:
    base = await server(database_url=database_url)
    kid, kid_socket, conv = await waiting_kid(base, people)
    counsellor, co = await on_duty(base, people, database_url)
    assert (await call(co, "take_next"))["ok"]
    ack = await call(kid_socket, "say", {"text": "are you there", "client_id": cid()}, "/chat")
    assert (await call(co, "delivered", {"conversation_id": conv, "seq": ack["seq"]}))["ok"]
    await wait_for(lambda: [r for r in kid.received("receipt") if r.get("delivered_seq") == ack["seq"]])
    other, other_socket = await on_duty(base, people, database_url)
    refused = await call(other_socket, "delivered", {"conversation_id": conv, "seq": ack["seq"] + 5})
    assert refused["ok"] is False and refused["error"]["code"] == "not_your_chat"
    assert not [r for r in kid.received("receipt") if r.get("delivered_seq") == ack["seq"] + 5]
