"""Several server processes sharing PostgreSQL and Redis behave as one service, whichever process a client is on."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator, Iterator

import pytest
import redis
import socketio
from sqlalchemy import func, select

from bot.accounts import Accounts, Passwords
from bot.db import Database, make_engine
from bot.models.counselling import Assignment, QueueEntry
from tests.conftest import _service_missing
from tests.harness import (
    REDIS_URL,
    ROOT,
    LiveServer,
    Person,
    create_pg_database,
    drop_pg_database,
    free_port,
    sign_in,
    sign_up_child,
    wait_for,
)

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

STAFF_PASSWORD = "staff pass long 1"
CHILD_PASSWORD = "long enough pw"


def cid() -> str:
    return f"c-{uuid.uuid4().hex}"


@dataclass
class Cluster:
    """Two `run.py serve` processes on one PostgreSQL database and one Redis channel."""

    first: LiveServer
    second: LiveServer
    database_url: str


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    try:
        redis.from_url(REDIS_URL).ping()
    except Exception as exc:  # noqa: BLE001 - reported through the same CI rule as the fixtures
        _service_missing("Redis at 127.0.0.1:6379", exc)
    try:
        database = asyncio.run(create_pg_database())
    except Exception as exc:  # noqa: BLE001
        _service_missing("PostgreSQL", exc)
        raise
    channel = f"haven-test-{uuid.uuid4().hex[:8]}"
    base = tmp_path_factory.mktemp("cluster")
    env = {"DATABASE_URL": database, "REDIS_URL": REDIS_URL, "HAVEN_REDIS_CHANNEL": channel,
           "HAVEN_MESSAGES_PER_MINUTE": "600"}
    first = LiveServer(base / "one", env=dict(env))
    second = LiveServer(base / "two", env=dict(env))
    # Both processes accept sockets and forms from either address (one site behind a balancer).
    origins = f"{first.base_url},{second.base_url}"
    first.env["HAVEN_ALLOWED_ORIGINS"] = second.env["HAVEN_ALLOWED_ORIGINS"] = origins
    try:
        # One after the other: the first applies the migrations, the second finds them done.
        first.start()
        second.start()
        yield Cluster(first, second, database)
    finally:
        first.stop()
        second.stop()
        asyncio.run(drop_pg_database(database))


@pytest.fixture
async def crowd() -> AsyncIterator[list[Person]]:
    """Everyone a test signs in; all are disconnected and signed out at the end."""
    made: list[Person] = []
    yield made
    for person in made:
        await person.close()


async def make_staff(database_url: str, role: str = "counsellor") -> str:
    engine = make_engine(database_url)
    try:
        name = f"{role[:3]}{uuid.uuid4().hex[:6]}"
        await Accounts(Database(engine), Passwords()).do_create_user(name, STAFF_PASSWORD, role)
        return name
    finally:
        await engine.dispose()


async def call(client: socketio.AsyncClient, event: str, data: Any = None, namespace: str = "/chat") -> Any:
    return await client.call(event, data if data is not None else {}, namespace=namespace, timeout=15)


async def waiting_child(base_url: str, crowd: list[Person]) -> tuple[Person, socketio.AsyncClient, int]:
    kid = await sign_up_child(base_url, password=CHILD_PASSWORD)
    crowd.append(kid)
    client = await kid.connect("/chat")
    conv = (await call(client, "hello", {"after": 0}))["conversation"]["id"]
    assert (await call(client, "choose", {"option": "talk", "client_id": cid()}))["ok"]
    return kid, client, conv


async def counsellor_on_duty(base_url: str, database_url: str, crowd: list[Person]
                             ) -> tuple[Person, socketio.AsyncClient]:
    name = await make_staff(database_url)
    person = await sign_in(base_url, name, STAFF_PASSWORD, "counsellor")
    crowd.append(person)
    client = await person.connect("/counsellor")
    assert (await call(client, "hello", namespace="/counsellor"))["ok"]
    assert (await call(client, "status", {"status": "available"}, "/counsellor"))["status"] == "available"
    return person, client


async def count_rows(database_url: str, model: Any, **where: Any) -> int:
    engine = make_engine(database_url)
    try:
        async with Database(engine).read() as session:
            query = select(func.count()).select_from(model)
            for column, value in where.items():
                query = query.where(getattr(model, column) == value)
            return int((await session.execute(query)).scalar_one())
    finally:
        await engine.dispose()


def texts(person: Person, sender: str) -> list[str]:
    return [m["text"] for m in person.received("message") if m["sender"] == sender]


async def test_a_childs_two_tabs_on_two_processes_see_each_other(cluster: Cluster, crowd: list[Person]) -> None:
    phone = await sign_up_child(cluster.first.base_url, password=CHILD_PASSWORD)
    crowd.append(phone)
    # The same child signs in again through the other process: the account is shared.
    laptop = await sign_in(cluster.second.base_url, phone.username, CHILD_PASSWORD, "child")
    crowd.append(laptop)
    on_first = await phone.connect("/chat")
    on_second = await laptop.connect("/chat")
    opened_1 = await call(on_first, "hello", {"after": 0})
    opened_2 = await call(on_second, "hello", {"after": 0})
    assert opened_1["conversation"]["id"] == opened_2["conversation"]["id"]

    ack = await call(on_first, "say", {"text": "hello from process one", "client_id": "c-one"})
    assert ack["ok"]
    # Process two's socket hears the message and the bot's reply, published by process one via Redis.
    await wait_for(lambda: "hello from process one" in texts(laptop, "child"))
    await wait_for(lambda: any(m["sender"] == "bot" and m["seq"] > ack["seq"] for m in laptop.received("message")))
    ack2 = await call(on_second, "choose", {"option": "advice", "client_id": "c-two"})
    assert ack2["ok"] and ack2["seq"] > ack["seq"]
    await wait_for(lambda: any(s["state"] == "advice" for s in phone.received("state")))


async def test_child_on_one_process_and_counsellor_on_the_other_talk_both_ways(
        cluster: Cluster, crowd: list[Person]) -> None:
    one, two = cluster.first.base_url, cluster.second.base_url
    # Two children wait, one on each process; each hears its own position, whoever changed the queue.
    kid, kid_socket, conv = await waiting_child(one, crowd)
    await wait_for(lambda: kid.received("queue") and kid.received("queue")[-1]["position"] == 1)
    other, other_socket, other_conv = await waiting_child(two, crowd)
    await wait_for(lambda: other.received("queue") and other.received("queue")[-1]["position"] == 2)
    assert all(q["conversation_id"] == other_conv for q in other.received("queue"))

    counsellor, co = await counsellor_on_duty(two, cluster.database_url, crowd)
    # The console on process two counts the children who asked on either process.
    assert (await call(co, "hello", namespace="/counsellor"))["waiting"] >= 2
    taken = await call(co, "take_next", namespace="/counsellor")
    assert taken["ok"] and taken["chat"]["conversation_id"] == conv, taken
    # Process two took the chat; the child on process one moves on and the other child moves up.
    await wait_for(lambda: any(s["state"] == "with_counsellor" for s in kid.received("state")))
    await wait_for(lambda: f"A counsellor, {counsellor.username}, has joined the chat." in texts(kid, "bot"))
    await wait_for(lambda: other.received("queue")[-1]["position"] == 1)

    sent = await call(co, "send", {"conversation_id": conv, "text": "Hi, I'm here. What's up?", "client_id": cid()},
                      "/counsellor")
    assert sent["ok"], sent
    await wait_for(lambda: "Hi, I'm here. What's up?" in texts(kid, "counsellor"))
    said = await call(kid_socket, "say", {"text": "someone is being mean online", "client_id": cid()})
    assert said["ok"] and said["seq"] > sent["seq"]
    await wait_for(lambda: "someone is being mean online" in texts(counsellor, "child"))
    # Typing crosses processes too, in both directions.
    await call(kid_socket, "typing", {"typing": True})
    await wait_for(lambda: {"conversation_id": conv, "who": "child", "typing": True} in counsellor.received("typing"))
    await call(co, "typing", {"conversation_id": conv, "typing": True}, "/counsellor")
    await wait_for(lambda: {"conversation_id": conv, "who": "counsellor", "typing": True} in kid.received("typing"))
    # The child's message was stored exactly once with the next seq: one conversation, one order.
    again = await call(kid_socket, "hello", {"after": sent["seq"] - 1})
    assert [m["seq"] for m in again["messages"]] == list(range(sent["seq"], said["seq"] + 1))
    # The bot kept quiet: a counsellor is talking.
    assert not [m for m in kid.received("message") if m["sender"] == "bot" and m["seq"] > sent["seq"]]

    assert (await call(co, "wrap_up", {"conversation_id": conv, "topics": ["bullying"], "risk_level": "low",
                                       "safeguarding": False, "notes": ""}, "/counsellor"))["ok"]
    await wait_for(lambda: any(s["state"] == "menu" for s in kid.received("state")))
    # The other child stops waiting, so the queue is empty for the next test on this cluster.
    assert (await call(other_socket, "choose", {"option": "leave_queue", "client_id": cid()}))["ok"]


async def test_take_next_race_across_processes_assigns_each_child_once(cluster: Cluster, crowd: list[Person]) -> None:
    # One child, two counsellors on different processes pressing at the same moment: exactly one wins.
    _, _, conv = await waiting_child(cluster.first.base_url, crowd)
    _, co_one = await counsellor_on_duty(cluster.first.base_url, cluster.database_url, crowd)
    _, co_two = await counsellor_on_duty(cluster.second.base_url, cluster.database_url, crowd)
    replies = await asyncio.gather(call(co_one, "take_next", namespace="/counsellor"),
                                   call(co_two, "take_next", namespace="/counsellor"))
    won = [r for r in replies if r["ok"]]
    lost = [r for r in replies if not r["ok"]]
    assert len(won) == 1 and won[0]["chat"]["conversation_id"] == conv, replies
    assert [r["error"]["code"] for r in lost] == ["queue_empty"], replies
    assert await count_rows(cluster.database_url, Assignment, conversation_id=conv) == 1

    # Many at once: six children, four counsellors (two per process) all pressing until nobody waits.
    convs = {(await waiting_child(cluster.first.base_url if i % 2 else cluster.second.base_url, crowd))[2]
             for i in range(6)}
    consoles = [co_one, co_two]
    for base in (cluster.first.base_url, cluster.second.base_url):
        consoles.append((await counsellor_on_duty(base, cluster.database_url, crowd))[1])
    taken: list[int] = []
    for _ in range(4):  # bounded: 8 free seats between them, six children
        replies = await asyncio.gather(*(call(c, "take_next", namespace="/counsellor") for c in consoles))
        taken.extend(r["chat"]["conversation_id"] for r in replies if r["ok"])
        assert all(r["ok"] or r["error"]["code"] in ("queue_empty", "at_capacity") for r in replies), replies
    assert sorted(taken) == sorted(convs)  # every child taken, none twice
    for conversation_id in convs:
        assert await count_rows(cluster.database_url, Assignment, conversation_id=conversation_id) == 1
    assert await count_rows(cluster.database_url, QueueEntry) == 0


async def test_an_age_check_chosen_on_process_two_moves_the_chat_on_process_one(
        cluster: Cluster, crowd: list[Person]) -> None:
    phone = await sign_up_child(cluster.first.base_url, password=CHILD_PASSWORD)
    crowd.append(phone)
    client = await phone.connect("/chat")
    assert (await call(client, "hello", {"after": 0}))["ok"]
    for option in ("report", "age_13_15"):
        assert (await call(client, "choose", {"option": option, "client_id": cid()}))["ok"]
    await wait_for(lambda: any(s["state"] == "report_verify" for s in phone.received("state")))
    assert (await call(client, "choose", {"option": "verify_start", "client_id": cid()}))["ok"]
    links = await wait_for(lambda: [link["url"] for m in phone.received("message") for link in m["links"]
                                    if link["label"] == "Check my age"])
    url = links[-1]

    # The check's page is opened through the other process (the balancer sent that request there).
    laptop = await sign_in(cluster.second.base_url, phone.username, CHILD_PASSWORD, "child")
    crowd.append(laptop)
    async with laptop.http.get(cluster.second.base_url + url) as page:
        assert page.status == 200 and "I am under 18" in await page.text()
    async with laptop.http.post(cluster.second.base_url + url, data={"csrf_token": laptop.csrf, "outcome": "under_18"},
                                headers={"Origin": cluster.second.base_url}) as picked:
        assert picked.status == 200
    # Process two recorded it and moved the chat; the socket on process one hears it without asking.
    await wait_for(lambda: any(s["state"] == "report_upload" for s in phone.received("state")), timeout=10)
    assert any("The check says you're under 18" in t for t in texts(phone, "bot"))
    resumed = await call(client, "hello", {"after": 0})
    assert resumed["conversation"]["state"] == "report_upload"


async def dashboards(supervisors: list[socketio.AsyncClient]) -> list[dict[str, Any]]:
    replies = [await call(s, "hello", namespace="/supervisor") for s in supervisors]
    assert all(r.get("ok") for r in replies), replies
    return [r["dashboard"] for r in replies]


async def settled(supervisors: list[socketio.AsyncClient], check: Any) -> list[dict[str, Any]]:
    """Both processes' dashboards, once `check` holds for each and their counts agree (bounded polling).

    Counts can move between the two reads (a counsellor from an earlier test going offline), so a
    disagreement is read again; a real split between the processes never settles and fails.
    """
    for _ in range(100):
        boards = await dashboards(supervisors)
        if all(check(board) for board in boards) and boards[0]["counts"] == boards[1]["counts"]:
            return boards
        await asyncio.sleep(0.1)
    raise AssertionError(f"dashboards never agreed: {boards}")


async def test_supervisors_on_either_process_see_the_same_figures(cluster: Cluster, crowd: list[Person]) -> None:
    supervisors = []
    for base in (cluster.first.base_url, cluster.second.base_url):
        person = await sign_in(base, await make_staff(cluster.database_url, "supervisor"), STAFF_PASSWORD,
                               "supervisor")
        crowd.append(person)
        supervisors.append(await person.connect("/supervisor"))
    await dashboards(supervisors)

    _, _, conv = await waiting_child(cluster.first.base_url, crowd)
    boards = await settled(supervisors, lambda b: conv in [w["conversation_id"] for w in b["waiting"]])
    # The same children in the same order (wait times differ by the moment each snapshot was taken).
    assert [(w["position"], w["conversation_id"]) for w in boards[0]["waiting"]] == \
        [(w["position"], w["conversation_id"]) for w in boards[1]["waiting"]]

    counsellor, co = await counsellor_on_duty(cluster.second.base_url, cluster.database_url, crowd)
    taken = await call(co, "take_next", namespace="/counsellor")
    assert taken["ok"] and taken["chat"]["conversation_id"] == conv, taken
    boards = await settled(supervisors, lambda b: conv in [a["conversation_id"] for a in b["active"]])
    for board in boards:
        assert conv not in [w["conversation_id"] for w in board["waiting"]]
        [chat] = [a for a in board["active"] if a["conversation_id"] == conv]
        assert chat["holder"] == counsellor.username
        [me] = [c for c in board["counsellors"] if c["username"] == counsellor.username]
        assert me["load"] == 1
    assert (await call(co, "wrap_up", {"conversation_id": conv, "topics": ["other"], "risk_level": "low",
                                       "safeguarding": False, "notes": ""}, "/counsellor"))["ok"]


def test_server_refuses_an_old_schema_when_auto_migrate_is_off(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HAVEN_DATA_DIR": str(tmp_path), "HAVEN_AUTO_MIGRATE": "false",
           "HAVEN_PORT": str(free_port()), "HAVEN_DEMO_STAFF": "false"}
    result = subprocess.run([sys.executable, "run.py", "serve"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    assert "The database needs" in result.stderr and "python run.py migrate" in result.stderr
    migrated = subprocess.run([sys.executable, "run.py", "migrate"], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=60)
    assert migrated.returncode == 0 and "Applied" in migrated.stdout
    again = subprocess.run([sys.executable, "run.py", "migrate"], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=60)
    assert "up to date" in again.stdout
