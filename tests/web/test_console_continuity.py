"""The console's continuity over socket.io: a child's earlier chats with wrap-up notes and risk (the counsellor
holding the chat and supervisors only), and the colleagues online to transfer to, with their load."""

from __future__ import annotations

from tests.harness import wait_for
from tests.web.test_counsellor import (
    CO,
    PASSWORD,
    call,
    cid,
    make_staff,
    on_duty,
    waiting_kid,
)


async def test_earlier_chats_for_the_counsellor_holding_the_chat_and_supervisors_only(
        server, people, database_url) -> None:
    base = await server(database_url=database_url)
    kid, kid_socket, first = await waiting_kid(base, people)
    alice, a = await on_duty(base, people, database_url)
    assert (await call(a, "take_next"))["chat"]["conversation_id"] == first
    said = await call(kid_socket, "say", {"text": "I feel hopeless about school", "client_id": cid()}, "/chat")
    assert said["ok"], said
    wrapped = await call(a, "wrap_up", {"conversation_id": first, "topics": ["bullying"], "risk_level": "medium",
                                        "safeguarding": False, "notes": "Bullied at school; agreed to talk to a teacher."})
    assert wrapped["ok"], wrapped
    await call(kid_socket, "choose", {"option": "leave", "client_id": cid()}, "/chat")
    await wait_for(lambda: any(s["state"] == "closed" for s in kid.received("state")))

    # The child comes back another day: a new chat, taken by another counsellor.
    again = await kid.connect("/chat", record=False)
    second = (await call(again, "hello", {"after": 0}, "/chat"))["conversation"]["id"]
    assert second != first
    assert (await call(again, "choose", {"option": "talk", "client_id": cid()}, "/chat"))["ok"]
    _, b = await on_duty(base, people, database_url)
    assert (await call(b, "take_next"))["chat"]["conversation_id"] == second

    history = await call(b, "history", {"conversation_id": second})
    assert history["ok"], history
    chats = history["chats"]
    assert [c["conversation_id"] for c in chats] == [second, first]
    assert chats[0]["current"] and not chats[1]["current"]
    earlier = chats[1]
    assert earlier["flagged"] == 1 and earlier["risk_score"] >= 50 and earlier["closed_at"]
    assert [(w["counsellor"], w["topics"], w["risk_level"], w["notes"]) for w in earlier["wrap_ups"]] == [
        (alice.username, ["bullying"], "medium", "Bullied at school; agreed to talk to a teacher.")]

    # May not: the counsellor who held the earlier chat, another counsellor, a bad payload.
    refused = await call(a, "history", {"conversation_id": second})
    assert refused["error"]["code"] == "not_your_chat"
    _, c = await on_duty(base, people, database_url)
    assert (await call(c, "history", {"conversation_id": second}))["error"]["code"] == "not_your_chat"
    assert (await call(c, "history", {"conversation_id": first}))["error"]["code"] == "not_your_chat"
    assert (await call(b, "history", {"conversation_id": "x"}))["error"]["code"] == "bad_payload"
    assert (await call(b, "history", ["nope"]))["error"]["code"] == "bad_payload"

    # May: a supervisor, for any chat.
    sup = await people.staff(base, await make_staff(database_url, "supervisor"), PASSWORD, "supervisor")
    s = await sup.connect("/supervisor")
    seen = await call(s, "history", {"conversation_id": second}, "/supervisor")
    assert [c["conversation_id"] for c in seen["chats"]] == [second, first]
    assert (await call(s, "history", {"conversation_id": 999999}, "/supervisor"))["error"]["code"] == "no_conversation"


async def test_colleagues_are_the_counsellors_online_with_their_load(server, people, database_url) -> None:
    base = await server(database_url=database_url)
    _, _, conv = await waiting_kid(base, people)
    alice, a = await on_duty(base, people, database_url)
    assert (await call(a, "take_next"))["chat"]["conversation_id"] == conv
    bob, b = await on_duty(base, people, database_url)
    away = await people.staff(base, await make_staff(database_url), PASSWORD, "counsellor")
    away_socket = await away.connect(CO)
    assert (await call(away_socket, "status", {"status": "away"}))["ok"]

    listed = await call(a, "colleagues")
    assert listed["ok"], listed
    names = [c["username"] for c in listed["counsellors"]]
    # Not oneself, not someone away.
    assert alice.username not in names and away.username not in names and bob.username in names
    mine = await call(b, "colleagues")
    entry = next(c for c in mine["counsellors"] if c["username"] == alice.username)
    assert (entry["load"], entry["capacity"], entry["presence"]) == (1, 2, "available")
    # Transfer to the picked colleague works as before.
    moved = await call(a, "transfer", {"conversation_id": conv, "to": bob.username})
    assert moved["ok"] and moved["to"] == bob.username
    entry = next(c for c in (await call(a, "colleagues"))["counsellors"] if c["username"] == bob.username)
    assert entry["load"] == 1
