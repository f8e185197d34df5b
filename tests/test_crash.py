"""SIGKILL a server mid-conversation, mid-upload and mid hash-list pull: after restart nothing acknowledged is lost.

The plain "kill between messages" case is tests/test_restart.py; here the kill lands while work is in flight.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import re
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any, AsyncIterator, Callable

import aiohttp
import psutil
import pytest
import socketio
from sqlalchemy import select

from bot.audit import Actor
from bot.db import Database, make_engine
from bot.hashlist import HashList, ImageHashes
from bot.images.intake import check_and_hash
from bot.models.hashlist import HashListEntry
from bot.models.reports import Report, ReportImage
from tests.harness import ROOT, LiveServer, Person, sign_in, sign_up_child, wait_for
from tests.imagefactory import JPEG_SIGNATURE, make_image

pytestmark = pytest.mark.slow

NS = "/chat"
PASSWORD = "long enough pw"
SYSTEM = Actor(None, "system")


def cid() -> str:
    return f"c-{uuid.uuid4().hex}"


def crash(server: LiveServer) -> None:
    """SIGKILL the server, then end what it leaves behind: its image-hashing pool (a forkserver and its
    workers) is not told its parent died, and outside a service manager's cgroup it would linger."""
    assert server.proc is not None
    orphans = psutil.Process(server.proc.pid).children(recursive=True)
    server.kill()
    for process in orphans:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass


def sqlite_url(server: LiveServer) -> str:
    return f"sqlite+aiosqlite:///{server.data_dir / 'haven.db'}"


async def rows(server: LiveServer, query: Any) -> list[Any]:
    """Read the stopped (or running) server's database directly."""
    engine = make_engine(sqlite_url(server))
    try:
        async with Database(engine).read() as session:
            return list((await session.execute(query)).scalars())
    finally:
        await engine.dispose()


async def choose(client: socketio.AsyncClient, option: str) -> dict[str, Any]:
    reply = await client.call("choose", {"option": option, "client_id": cid()}, namespace=NS, timeout=10)
    assert reply["ok"], reply
    return reply


# During a conversation ---------------------------------------------------------------------------


async def test_kill_while_messages_are_in_flight_loses_no_acknowledged_one(
        live_server: Callable[..., LiveServer], tmp_path: Path) -> None:
    server = live_server(data_dir=tmp_path / "chat", env={"HAVEN_MESSAGES_PER_MINUTE": "6000"})
    kid = await sign_up_child(server.base_url, password=PASSWORD)
    acked: dict[str, int] = {}
    sent: dict[str, str] = {}
    try:
        client = await kid.connect(NS, record=False)
        opened = await client.call("hello", {"after": 0}, namespace=NS, timeout=10)
        await choose(client, "advice")

        async def chatter(lane: int) -> None:
            # Bounded: each lane sends until the server is gone or 400 messages are out.
            for i in range(400):
                client_id = f"c-{lane}-{i}"
                sent[client_id] = f"lane {lane} message {i}"
                try:
                    ack = await client.call("say", {"text": sent[client_id], "client_id": client_id},
                                            namespace=NS, timeout=5)
                except (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError,
                        socketio.exceptions.DisconnectedError):
                    return
                if not ack.get("ok"):
                    return
                acked[client_id] = ack["seq"]

        lanes = [asyncio.create_task(chatter(lane)) for lane in range(4)]
        await wait_for(lambda: len(acked) >= 40, timeout=30)
        crash(server)  # while four lanes are mid-send
        await asyncio.wait_for(asyncio.gather(*lanes), timeout=30)
        assert len(sent) > len(acked)  # some were in flight and never acknowledged

        restarted = live_server(data_dir=tmp_path / "chat", port=server.port,
                                env={"HAVEN_MESSAGES_PER_MINUTE": "6000"})
        await kid.close()
        kid = await sign_in(restarted.base_url, kid.username, PASSWORD, "child")
        client = await kid.connect(NS, record=False)
        resumed = await client.call("hello", {"after": 0}, namespace=NS, timeout=10)
        assert resumed["conversation"]["id"] == opened["conversation"]["id"]
        assert resumed["conversation"]["state"] == "advice"
        by_seq = {m["seq"]: m for m in resumed["messages"]}
        # Every acknowledged message is there, at the seq its ack named, with its text.
        for client_id, seq in acked.items():
            assert (by_seq[seq]["client_id"], by_seq[seq]["text"]) == (client_id, sent[client_id])
        # No holes and no half-written turn: seqs run 1..n.
        assert sorted(by_seq) == list(range(1, len(by_seq) + 1))

        # The offline widget sends what it never got an ack for again, with the same client_id: one copy each.
        stored = {m["client_id"]: m["seq"] for m in resumed["messages"] if m["client_id"]}
        for client_id in sorted(set(sent) - set(acked)):
            ack = await client.call("say", {"text": sent[client_id], "client_id": client_id}, namespace=NS, timeout=10)
            assert ack["ok"]
            if client_id in stored:  # committed just before the kill, ack lost with the connection
                assert ack["seq"] == stored[client_id]
        after = await client.call("hello", {"after": 0}, namespace=NS, timeout=10)
        child_ids = [m["client_id"] for m in after["messages"] if m["sender"] == "child" and m["client_id"]]
        assert len(child_ids) == len(set(child_ids))
        assert set(sent) <= set(child_ids)
    finally:
        await kid.close()


# During an upload ---------------------------------------------------------------------------------


async def to_upload_step(kid: Person) -> socketio.AsyncClient:
    client = await kid.connect(NS)
    assert (await client.call("hello", {"after": 0}, namespace=NS, timeout=10))["ok"]
    await choose(client, "report")
    await choose(client, "age_under_13")
    await wait_for(lambda: any(s["state"] == "report_upload" for s in kid.received("state")))
    return client


async def post_image(kid: Person, url: str, data: Any) -> tuple[int, dict[str, Any]]:
    form = aiohttp.FormData()
    form.add_field("file", data, filename="photo.jpg", content_type="image/jpeg")
    headers = {"Origin": kid.base_url.rstrip("/"), "Accept": "application/json", "X-CSRF-Token": kid.csrf}
    async with kid.http.post(kid.base_url.rstrip("/") + url, data=form, headers=headers) as r:
        return r.status, await r.json(content_type=None)


async def test_kill_during_an_upload_stores_no_half_image_and_the_retry_works(
        live_server: Callable[..., LiveServer], tmp_path: Path) -> None:
    server = live_server(data_dir=tmp_path / "upload")
    kid = await sign_up_child(server.base_url, password=PASSWORD)
    try:
        client = await to_upload_step(kid)
        first = make_image(320, 240, seed=1)
        issued = await client.call("upload_link", {}, namespace=NS, timeout=10)
        status, body = await post_image(kid, issued["url"], first)
        assert status == 200 and body["received"] == 1

        issued = await client.call("upload_link", {}, namespace=NS, timeout=10)
        streaming = asyncio.Event()
        chunk = random.Random(3).randbytes(256 * 1024)

        async def slow_big_file() -> AsyncIterator[bytes]:
            # Eight megabytes, a quarter at a time: the server is killed while it is still reading.
            yield JPEG_SIGNATURE
            for i in range(32):
                if i == 4:
                    streaming.set()
                yield chunk
                await asyncio.sleep(0.05)

        upload = asyncio.create_task(post_image(kid, issued["url"], slow_big_file()))
        await asyncio.wait_for(streaming.wait(), timeout=20)
        crash(server)
        # The child's side sees a network failure, not an answer (the widget then offers "Try again").
        with pytest.raises((aiohttp.ClientError, asyncio.TimeoutError)):
            await asyncio.wait_for(upload, timeout=20)

        # Nothing of the interrupted file is in the database or the vault: only the first image.
        images = await rows(server, select(ReportImage))
        assert [i.sha256 for i in images] == [check_and_hash(first).sha256]
        vault = server.data_dir / "vault"
        assert sorted(p.name for p in vault.iterdir()) == [images[0].vault_id]

        restarted = live_server(data_dir=tmp_path / "upload", port=server.port)
        await kid.close()
        kid = await sign_in(restarted.base_url, kid.username, PASSWORD, "child")
        client = await to_upload_step_resumed(kid)
        # The address spent on the failed request stays spent; a retry asks for a fresh one, as the widget does.
        status, spent = await post_image(kid, issued["url"], make_image(200, 200, seed=5))
        assert (status, spent["error"]["code"]) == (410, "upload_link_used")
        retry = await client.call("upload_link", {}, namespace=NS, timeout=10)
        assert retry["ok"] and retry["received"] == 1
        second = make_image(640, 480, kind="text", seed=2)
        status, body = await post_image(kid, retry["url"], second)
        assert status == 200 and body["results"][0]["status"] == "received" and body["received"] == 2, body
        await wait_for(lambda: any("2 images received" in m["text"] for m in kid.received("message")))
        [report] = await rows(restarted, select(Report))
        assert report.status == "draft" and report.bytes_received == len(first) + len(second)
        assert len(await rows(restarted, select(ReportImage))) == 2
    finally:
        await kid.close()


async def to_upload_step_resumed(kid: Person) -> socketio.AsyncClient:
    """After the restart the chat is still in the upload step: no need to go through the menu again."""
    client = await kid.connect(NS)
    resumed = await client.call("hello", {"after": 0}, namespace=NS, timeout=10)
    assert resumed["conversation"]["state"] == "report_upload", resumed["conversation"]
    return client


# During a hash-list pull ------------------------------------------------------------------------


def image_hashes(n: int) -> ImageHashes:
    seed = f"crash-{n}".encode()
    return ImageHashes(hashlib.md5(seed).hexdigest(), hashlib.sha1(seed).hexdigest(),
                       hashlib.sha256(seed).hexdigest(), hashlib.sha256(b"pdq" + seed).hexdigest(), 80)


def create_partner(server: LiveServer, name: str) -> str:
    made = subprocess.run([sys.executable, str(ROOT / "run.py"), "create-partner", "--name", name], cwd=ROOT,
                          env=server.env, check=True, capture_output=True, text=True)
    return re.search(r"^hvn_\S+$", made.stdout, re.M).group(0)  # type: ignore[union-attr]


async def with_hashlist(server: LiveServer, work: Callable[[HashList], Any]) -> Any:
    engine = make_engine(sqlite_url(server))
    try:
        return await work(HashList(Database(engine)))
    finally:
        await engine.dispose()


async def test_kill_during_a_hash_list_pull_and_the_cursor_carries_on(
        live_server: Callable[..., LiveServer], tmp_path: Path) -> None:
    env = {"HAVEN_PARTNER_REQUESTS_PER_MINUTE": "10000"}
    server = live_server(data_dir=tmp_path / "hashes", env=env)
    key = create_partner(server, "Acme Video")

    async def publish(numbers: range) -> None:
        async def work(hashlist: HashList) -> None:
            for n in numbers:
                await hashlist.do_publish(SYSTEM, n, "ABC"[n % 3], image_hashes(n))
        await with_hashlist(server, work)

    await publish(range(1, 31))
    changes: list[int] = []
    held: dict[str, dict[str, Any]] = {}
    cursor = "0"

    async def page(http: aiohttp.ClientSession, base: str) -> bool:
        """Pull one page; the partner moves its cursor only once a whole page has arrived."""
        nonlocal cursor
        async with http.get(base + "/api/v1/hashes", params={"since": cursor, "limit": "4"},
                            headers={"Authorization": f"Bearer {key}"}) as r:
            assert r.status == 200
            data = await r.json()
        for entry in data["entries"]:
            changes.append(entry["change"])
            held[entry["id"]] = entry
        cursor = data["cursor"]
        return bool(data["more"])

    async with aiohttp.ClientSession() as http:
        for _ in range(3):
            assert await page(http, server.base_url)
        # The next page is asked for as the server dies: it either arrived whole or not at all.
        in_flight = asyncio.create_task(page(http, server.base_url))
        await asyncio.sleep(0)
        crash(server)
        try:
            await in_flight
        except (aiohttp.ClientError, asyncio.TimeoutError):
            pass
        pulled_before = len(changes)
        assert 12 <= pulled_before <= 16

        # While the server is down the list changes: new entries, and two already pulled are withdrawn.
        await publish(range(31, 36))
        await with_hashlist(server, lambda h: h.do_withdraw(SYSTEM, 2, "removed"))
        await with_hashlist(server, lambda h: h.do_withdraw(SYSTEM, 3))

        restarted = live_server(data_dir=tmp_path / "hashes", port=server.port, env=env)
        for _ in range(20):  # bounded: 37 changes at 4 a page
            if not await page(http, restarted.base_url):
                break

    # No gaps and no repeats: every change number once, in order, and the partner's copy is the list.
    assert changes == sorted(set(changes))
    entries = await rows(restarted, select(HashListEntry).order_by(HashListEntry.change_seq))
    latest = {e.public_id: e for e in entries}
    assert changes[pulled_before:] == [e.change_seq for e in entries if e.change_seq > changes[pulled_before - 1]]
    assert set(held) == set(latest)
    for public_id, entry in latest.items():
        mine = held[public_id]
        assert mine["change"] == entry.change_seq
        assert mine["status"] == ("tombstone" if entry.withdrawn_at else "active")
        if entry.withdrawn_at is None:
            assert mine["sha256"] == entry.sha256
    assert sorted(e["status"] for e in held.values()).count("tombstone") == 2
