"""The "needs info" thread over HTTP and socket.io: the question reaches the chat, the answer reaches the report,
the report goes back in the queue; and after a decision the chat no longer offers to withdraw it."""

from __future__ import annotations

from sqlalchemy import select

from bot.db import Database, make_engine
from bot.models.inquiries import ReportReply
from tests.harness import wait_for
from tests.web.test_review import (
    NS,
    bot_texts,
    choose,
    cid,
    get,
    queue_item,
    reach,
    report_images,
    staff,
)


def last_options(kid) -> list[str]:  # type: ignore[no-untyped-def]
    return [o["id"] for o in kid.received("state")[-1]["options"]]


async def test_the_childs_answer_reaches_the_report_and_requeues_it(server, people, database_url) -> None:
    base = await server(database_url=database_url)
    kid = await people.child(base)
    client, reference = await report_images(kid, 1)
    analyst = await staff(base, people, database_url, "analyst")
    item = await queue_item(analyst, reference)
    assert item["answered"] is False
    await analyst.post(f"/review/api/reports/{item['id']}/start")
    status, body = await analyst.post(f"/review/api/reports/{item['id']}/decide",
                                      {"outcome": "needs_info", "message": "Which app was it shared on?"})
    assert status == 200, body
    await wait_for(lambda: any('They asked: "Which app was it shared on?"' in t for t in bot_texts(kid)))
    # The news brings its own button, and only while there is a question to answer.
    await wait_for(lambda: "report_answer" in last_options(kid))
    assert last_options(kid)[0] == "report_answer"

    await choose(client, "report_answer")
    await reach(kid, "report_answer")
    # Whatever the child types here is the answer, even words that would otherwise ask for something else.
    reply = await client.call("say", {"text": "Snapchat, I want to talk to someone about it", "client_id": cid()},
                              namespace=NS, timeout=10)
    assert reply["ok"], reply
    await wait_for(lambda: any(f"passed your answer to our team with report {reference}" in t
                               for t in bot_texts(kid)))
    assert kid.received("state")[-1]["state"] == "report_submitted"
    assert "report_answer" not in last_options(kid)

    # Back in the review queue, flagged as answered, with the thread in the report.
    item = await queue_item(analyst, reference)
    assert (item["status"], item["answered"]) == ("submitted", True)
    status, body = await get(analyst, f"/review/api/reports/{item['id']}")
    assert status == 200
    thread = [(t["sender"], t["text"], t["seen"]) for t in body["report"]["thread"]]
    assert thread == [("analyst", "Which app was it shared on?", True),
                      ("child", "Snapchat, I want to talk to someone about it", False)]
    # Opening it again takes it into review ("again" for the child) and the answer stops being news.
    await analyst.post(f"/review/api/reports/{item['id']}/start")
    await wait_for(lambda: any(f"looking at your report {reference} again" in t for t in bot_texts(kid)))
    assert (await queue_item(analyst, reference))["answered"] is False


async def test_only_the_asked_childs_answer_is_kept_and_only_analysts_read_it(server, people, database_url) -> None:
    base = await server(database_url=database_url)
    kid = await people.child(base)
    client, reference = await report_images(kid, 1)
    analyst = await staff(base, people, database_url, "analyst")
    counsellor = await staff(base, people, database_url, "counsellor")
    item = await queue_item(analyst, reference)
    # With no question asked, "answer" is not a button the server accepts, and text is not taken as an answer.
    refused = await client.call("choose", {"option": "report_answer", "client_id": cid()}, namespace=NS, timeout=10)
    assert refused["error"]["code"] == "unknown_option"
    await client.call("say", {"text": "hello?", "client_id": cid()}, namespace=NS, timeout=10)
    engine = make_engine(database_url)
    try:
        async with Database(engine).read() as session:
            assert (await session.scalars(select(ReportReply))).all() == []
    finally:
        await engine.dispose()
    # Reading the thread (in the report) and the answered flags (in the queue) is for analysts only.
    for who in (kid, counsellor):
        status, _ = await get(who, f"/review/api/reports/{item['id']}")
        assert status in (401, 403)
        status, _ = await get(who, "/review/api/queue")
        assert status in (401, 403)


async def test_after_the_decision_the_chat_stops_offering_to_withdraw(server, people, database_url) -> None:
    base = await server(database_url=database_url)
    kid = await people.child(base)
    client, reference = await report_images(kid, 1)
    assert "report_withdraw" in last_options(kid)
    analyst = await staff(base, people, database_url, "analyst")
    item = await queue_item(analyst, reference)
    await analyst.post(f"/review/api/reports/{item['id']}/start")
    status, body = await analyst.post(f"/review/api/reports/{item['id']}/decide",
                                      {"outcome": "not_actioned", "reason": "cannot_tell"})
    assert status == 200, body
    outcome = await wait_for(lambda: next((t for t in bot_texts(kid) if "carefully checked" in t), None))
    # What was done first, then what could not be, kindly, then what to do next.
    assert outcome.startswith(f"Our team has carefully checked your report {reference}.")
    assert outcome.index("checked") < outcome.index("can't ask websites") < outcome.index("clearer copy")
    await wait_for(lambda: "report_withdraw" not in last_options(kid))
    assert last_options(kid) == ["menu", "talk", "leave"]
    # A fresh connection (another tab, the next sign-in) is offered the same.
    again = await kid.connect(NS, record=False)
    hello = await again.call("hello", {"after": 0}, namespace=NS, timeout=10)
    assert [o["id"] for o in hello["conversation"]["options"]] == ["menu", "talk", "leave"]
    refused = await client.call("choose", {"option": "report_withdraw", "client_id": cid()}, namespace=NS, timeout=10)
    assert refused["error"]["code"] == "unknown_option"
