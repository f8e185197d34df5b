"""Chat under load: N children talking to counsellors, against Haven and a bare socket.io relay in the same run.

Starts its own servers on free loopback ports in a temporary folder: (a) one Haven process on SQLite,
(b) two Haven processes on a fresh PostgreSQL database (created and dropped here) sharing Redis, and
(c) the bare python-socketio relay in bench/relay_server.py. Children register over HTTP, ask for a
person, and counsellors (capacity --per-counsellor) take them with "take next". Then:

  paced  each child sends --rate messages a second for --seconds; we time send -> the counsellor's
         socket receiving the `message` event (p50, p99) and count what is delivered per second;
  peak   each child sends its next message as soon as the last is acknowledged (--peak-seconds);
         delivered messages per second is the peak throughput;
  idle   --idle extra sockets connect and sit idle; the servers' RSS before and after, over the count,
         is the memory per idle socket.

Haven acknowledges a message only after it is committed and publishes it only after commit, so every
delivered message was stored first; the bench also counts the stored messages afterwards.
Several load-generator processes (--workers) drive the clients, on the same machine as the servers:
on a small machine they compete for the same cores, which the report shows (CPU seconds per side).

Run: .venv/bin/python -m bench.chat_load --conversations 500 --rate 1 --seconds 30
"""

from __future__ import annotations

import argparse
import asyncio
import math
import multiprocessing as mp
import os
import platform
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import psutil
import socketio
from sqlalchemy import func, select
from yarl import URL

from bot.accounts import Accounts, Passwords
from bot.db import Database, make_engine
from bot.models.chat import Message

ROOT = Path(__file__).resolve().parent.parent
CHILD_PASSWORD = "bench child pw 1"
STAFF_PASSWORD = "bench staff pw 1"
BARRIER_SETUP_S = 900.0
DRAIN_S = 3.0
TEXT_PREFIX = "m "
# Children per load-generator process whose sign-ins carry the idle sockets of the memory figure.
IDLE_OWNERS = 4


@dataclass(frozen=True)
class Plan:
    """What one setup's load generators do; picklable, so it crosses into the worker processes."""

    kind: str  # "haven" or "relay"
    urls: tuple[str, ...]
    conversations: int
    per_counsellor: int
    rate: float
    seconds: float
    peak_seconds: float
    idle: int
    workers: int
    counsellors: tuple[str, ...] = ()

    @property
    def counsellor_count(self) -> int:
        return math.ceil(self.conversations / self.per_counsellor)


@dataclass
class Tally:
    sent: int = 0
    acked: int = 0
    errors: dict[str, int] = field(default_factory=dict)

    def error(self, code: str) -> None:
        self.errors[code] = self.errors.get(code, 0) + 1


# --- the clients (inside the worker processes) -------------------------------------------------


class Inbox:
    """Arrival times of child messages at counsellors' sockets: (sent_ns, received_ns)."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[int, int]] = []

    def note(self, text: Any) -> None:
        if isinstance(text, str) and text.startswith(TEXT_PREFIX):
            self.arrivals.append((int(text.split()[1]), time.time_ns()))

    def between(self, start: float, end: float) -> list[float]:
        """Delivery times in ms of messages sent in [start, end)."""
        lo, hi = int(start * 1e9), int(end * 1e9)
        return [(received - sent) / 1e6 for sent, received in self.arrivals if lo <= sent < hi]


class HavenChild:
    def __init__(self, url: str) -> None:
        self.url = url
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.client = socketio.AsyncClient(reconnection=False)
        self.count = 0

    def cookie(self) -> str:
        jar = self.http.cookie_jar.filter_cookies(URL(self.url))
        return "; ".join(f"{k}={v.value}" for k, v in jar.items())

    async def setup(self) -> None:
        async with self.http.get(self.url + "/auth/me") as r:
            csrf = (await r.json())["csrf_token"]
        name = f"b{uuid.uuid4().hex[:12]}"
        headers = {"X-CSRF-Token": csrf, "Origin": self.url, "Accept": "application/json"}
        async with self.http.post(self.url + "/auth/register", json={"username": name, "password": CHILD_PASSWORD},
                                  headers=headers) as r:
            if r.status != 200:
                raise RuntimeError(f"register: {r.status} {await r.text()}")
        await self.client.connect(self.url, namespaces=["/chat"], transports=["websocket"], wait_timeout=60,
                                  headers={"Cookie": self.cookie(), "Origin": self.url})
        hello = await self.client.call("hello", {"after": 0}, namespace="/chat", timeout=60)
        if not hello.get("ok"):
            raise RuntimeError(f"hello: {hello}")

    async def ask_for_a_person(self) -> None:
        ack = await self.client.call("choose", {"option": "talk", "client_id": uuid.uuid4().hex},
                                     namespace="/chat", timeout=60)
        if not ack.get("ok"):
            raise RuntimeError(f"talk: {ack}")

    async def send(self, tally: Tally) -> None:
        self.count += 1
        tally.sent += 1
        try:
            ack = await self.client.call("say", {"text": f"{TEXT_PREFIX}{time.time_ns()}",
                                                 "client_id": f"{id(self):x}-{self.count}"},
                                         namespace="/chat", timeout=30)
        except Exception as exc:  # noqa: BLE001 - a load test counts failures, it does not stop on them
            tally.error(type(exc).__name__)
            return
        if ack.get("ok"):
            tally.acked += 1
        else:
            tally.error(str(ack.get("error", {}).get("code")))

    async def idle_socket(self) -> socketio.AsyncClient:
        client = socketio.AsyncClient(reconnection=False)
        await client.connect(self.url, namespaces=["/chat"], transports=["websocket"], wait_timeout=60,
                             headers={"Cookie": self.cookie(), "Origin": self.url})
        return client

    async def close(self) -> None:
        if self.client.connected:
            await self.client.disconnect()
        await self.http.close()


class HavenCounsellor:
    def __init__(self, url: str, username: str, inbox: Inbox) -> None:
        self.url = url
        self.username = username
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.client = socketio.AsyncClient(reconnection=False)
        self.taken = 0

        @self.client.on("message", namespace="/counsellor")
        async def message(data: Any) -> None:
            if isinstance(data, dict) and data.get("sender") == "child":
                inbox.note(data.get("text"))

    async def setup(self) -> None:
        async with self.http.get(self.url + "/auth/me") as r:
            csrf = (await r.json())["csrf_token"]
        headers = {"X-CSRF-Token": csrf, "Origin": self.url, "Accept": "application/json"}
        async with self.http.post(self.url + "/staff/login", json={"username": self.username,
                                                                   "password": STAFF_PASSWORD}, headers=headers) as r:
            if r.status != 200:
                raise RuntimeError(f"staff login: {r.status} {await r.text()}")
        jar = self.http.cookie_jar.filter_cookies(URL(self.url))
        cookie = "; ".join(f"{k}={v.value}" for k, v in jar.items())
        await self.client.connect(self.url, namespaces=["/counsellor"], transports=["websocket"], wait_timeout=60,
                                  headers={"Cookie": cookie, "Origin": self.url})
        await self.client.call("hello", {}, namespace="/counsellor", timeout=60)
        status = await self.client.call("status", {"status": "available"}, namespace="/counsellor", timeout=60)
        if not status.get("ok"):
            raise RuntimeError(f"status: {status}")

    async def take_all(self, capacity: int) -> None:
        for _ in range(capacity):  # bounded by the capacity
            reply = await self.client.call("take_next", {}, namespace="/counsellor", timeout=60)
            if not reply.get("ok"):
                return
            self.taken += 1

    async def close(self) -> None:
        if self.client.connected:
            await self.client.disconnect()
        await self.http.close()


class RelayChild:
    def __init__(self, url: str, room: str) -> None:
        self.url = url
        self.room = room
        self.client = socketio.AsyncClient(reconnection=False)

    async def setup(self) -> None:
        await self.client.connect(self.url, transports=["websocket"], wait_timeout=60)
        await self.client.call("join", {"room": self.room}, timeout=60)

    async def ask_for_a_person(self) -> None:
        return None

    async def send(self, tally: Tally) -> None:
        tally.sent += 1
        try:
            ack = await self.client.call("say", {"room": self.room, "text": f"{TEXT_PREFIX}{time.time_ns()}"},
                                         timeout=30)
        except Exception as exc:  # noqa: BLE001
            tally.error(type(exc).__name__)
            return
        if ack.get("ok"):
            tally.acked += 1

    async def idle_socket(self) -> socketio.AsyncClient:
        client = socketio.AsyncClient(reconnection=False)
        await client.connect(self.url, transports=["websocket"], wait_timeout=60)
        return client

    async def close(self) -> None:
        if self.client.connected:
            await self.client.disconnect()


class RelayCounsellor:
    def __init__(self, url: str, rooms: list[str], inbox: Inbox) -> None:
        self.url = url
        self.rooms = rooms
        self.client = socketio.AsyncClient(reconnection=False)
        self.taken = 0

        @self.client.on("message")
        async def message(data: Any) -> None:
            inbox.note(data.get("text") if isinstance(data, dict) else None)

    async def setup(self) -> None:
        await self.client.connect(self.url, transports=["websocket"], wait_timeout=60)

    async def take_all(self, capacity: int) -> None:
        for room in self.rooms:
            await self.client.call("join", {"room": room}, timeout=60)
            self.taken += 1

    async def close(self) -> None:
        if self.client.connected:
            await self.client.disconnect()


async def _gather_limited(coros: list[Any], limit: int) -> None:
    gate = asyncio.Semaphore(limit)

    async def one(coro: Any) -> None:
        async with gate:
            await coro

    await asyncio.gather(*(one(c) for c in coros))


async def _paced(child: Any, offset: float, start: float, end: float, rate: float, tally: Tally) -> None:
    """Open loop: send on schedule whether or not earlier messages have been acknowledged."""
    pending = []
    for n in range(int((end - start) * rate) + 1):
        at = start + offset + n / rate
        if at >= end:
            break
        delay = at - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        pending.append(asyncio.create_task(child.send(tally)))
    await asyncio.gather(*pending)


async def _closed_loop(child: Any, end: float, tally: Tally) -> None:
    """As fast as acknowledgements come back; bounded by the deadline and a hard count."""
    for _ in range(1_000_000):
        if time.time() >= end:
            return
        await child.send(tally)


async def _worker(index: int, plan: Plan, barrier: Any, start: Any, results: Any) -> None:
    async def sync(timeout: float = BARRIER_SETUP_S) -> None:
        await asyncio.to_thread(barrier.wait, timeout)

    inbox = Inbox()
    mine = [i for i in range(plan.conversations) if i % plan.workers == index]
    counsellor_ids = [j for j in range(plan.counsellor_count) if j % plan.workers == index]
    urls = plan.urls
    children: list[Any]
    counsellors: list[Any]
    if plan.kind == "haven":
        children = [HavenChild(urls[i % len(urls)]) for i in mine]
        counsellors = [HavenCounsellor(urls[j % len(urls)], plan.counsellors[j], inbox) for j in counsellor_ids]
    else:
        children = [RelayChild(urls[i % len(urls)], f"r{i}") for i in mine]
        counsellors = [RelayCounsellor(urls[j % len(urls)], [
            f"r{i}" for i in range(j * plan.per_counsellor, min(plan.conversations, (j + 1) * plan.per_counsellor))],
            inbox) for j in counsellor_ids]
    idle: list[socketio.AsyncClient] = []
    try:
        # 1: everyone signed in and connected.
        # Idle sockets first, on a few children's sign-ins, before registrations and load have grown the
        # servers' heaps (the main process reads their memory before and after); then closed again.
        few = children[:IDLE_OWNERS]
        await _gather_limited([c.setup() for c in few], 16)
        await sync()
        await sync()  # the main process has read the memory before
        share = [n for n in range(plan.idle) if n % plan.workers == index]
        if few:
            idle.extend(await asyncio.gather(*(_limited_idle(few[n % len(few)]) for n in share)))
        await sync()
        await sync()  # the main process has measured
        for client in idle:
            await client.disconnect()
        idle.clear()
        await _gather_limited([c.setup() for c in children[IDLE_OWNERS:]] + [c.setup() for c in counsellors], 16)
        await sync()
        # 2: every child waiting; 3: counsellors have taken them all.
        await _gather_limited([c.ask_for_a_person() for c in children], 16)
        await sync()
        await asyncio.gather(*(c.take_all(plan.per_counsellor) for c in counsellors))
        results.put(("taken", index, sum(c.taken for c in counsellors)))
        await sync()

        # 4: paced sending from a common start time.
        await sync()
        begin, finish = start.value, start.value + plan.seconds
        paced = Tally()
        await asyncio.gather(*(_paced(child, (i / plan.conversations) / plan.rate, begin, finish, plan.rate, paced)
                               for child, i in zip(children, mine)))
        await asyncio.sleep(max(0.0, finish + DRAIN_S - time.time()))
        results.put(("paced", index, paced.sent, paced.acked, paced.errors, inbox.between(begin, finish)))

        # 5: peak, closed loop.
        await sync()
        begin, finish = start.value, start.value + plan.peak_seconds
        await asyncio.sleep(max(0.0, begin - time.time()))
        peak = Tally()
        await asyncio.gather(*(_closed_loop(child, finish, peak) for child in children))
        await asyncio.sleep(max(0.0, finish + DRAIN_S - time.time()))
        results.put(("peak", index, peak.sent, peak.acked, peak.errors, inbox.between(begin, finish)))

    except BaseException:
        traceback.print_exc()
        barrier.abort()
        raise
    finally:
        for client in idle:
            if client.connected:
                await client.disconnect()
        for person in children + counsellors:
            try:
                await person.close()
            except Exception:  # noqa: BLE001 - tearing down after a failure
                pass


_IDLE_GATE: asyncio.Semaphore | None = None


async def _limited_idle(child: Any) -> socketio.AsyncClient:
    global _IDLE_GATE
    if _IDLE_GATE is None:
        _IDLE_GATE = asyncio.Semaphore(32)
    async with _IDLE_GATE:
        return await child.idle_socket()


def worker_main(index: int, plan: Plan, barrier: Any, start: Any, results: Any) -> None:
    asyncio.run(_worker(index, plan, barrier, start, results))


# --- servers ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """One server process on a free loopback port, its log in the run's temporary folder."""

    def __init__(self, args: list[str], env: dict[str, str], port: int, log: Path) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        handle = open(log, "ab")
        self.proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=handle, stderr=handle)
        self.ps = psutil.Process(self.proc.pid)

    def wait_ready(self, timeout: float = 60.0) -> "Server":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"server on {self.port} did not come up")

    def rss(self) -> int:
        return int(self.ps.memory_info().rss)

    def cpu(self) -> float:
        times = self.ps.cpu_times()
        return float(times.user + times.system)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def haven_servers(folder: Path, count: int, database_url: str, redis_url: str, per_counsellor: int,
                  profile: Path | None = None) -> list[Server]:
    folder.mkdir(parents=True, exist_ok=True)
    ports = [free_port() for _ in range(count)]
    origins = ",".join(f"http://127.0.0.1:{p}" for p in ports)
    channel = f"haven-bench-{uuid.uuid4().hex[:8]}"
    servers = []
    for port in ports:
        env = {**os.environ, "HAVEN_PORT": str(port), "HAVEN_HOST": "127.0.0.1", "HAVEN_DATA_DIR": str(folder / "data"),
               "DATABASE_URL": database_url, "REDIS_URL": redis_url, "HAVEN_REDIS_CHANNEL": channel,
               "HAVEN_ALLOWED_ORIGINS": origins, "HAVEN_DEMO_STAFF": "false", "HAVEN_LOG_LEVEL": "warning",
               "HAVEN_TOTP_REQUIRED_ROLES": "", "HAVEN_COUNSELLOR_CAPACITY": str(per_counsellor),
               # A load test sends faster than one child would, from one address.
               "HAVEN_MESSAGES_PER_MINUTE": "6000", "HAVEN_REGISTRATIONS_PER_HOUR": "100000",
               "HAVEN_HASHING_WORKERS": "1"}
        # One after the other: the first applies the migrations.
        # --profile: cProfile writes each server's statistics when it is stopped (SIGTERM ends run_app cleanly).
        prefix = ["-m", "cProfile", "-o", str(profile / f"haven-{port}.prof")] if profile else []
        servers.append(Server([sys.executable, *prefix, str(ROOT / "run.py"), "serve"], env, port,
                              folder / f"haven-{port}.log").wait_ready())
    return servers


async def _create_counsellors(database_url: str, count: int) -> tuple[str, ...]:
    engine = make_engine(database_url)
    try:
        accounts = Accounts(Database(engine), Passwords())
        names = tuple(f"co{n:04d}{uuid.uuid4().hex[:4]}" for n in range(count))
        for name in names:  # SQLite takes one writer at a time anyway
            await accounts.do_create_user(name, STAFF_PASSWORD, "counsellor")
        return names
    finally:
        await engine.dispose()


async def _stored_messages(database_url: str) -> int:
    engine = make_engine(database_url)
    try:
        async with Database(engine).read() as session:
            return int((await session.execute(select(func.count()).select_from(Message).where(
                Message.sender == "child", Message.text.like(TEXT_PREFIX + "%")))).scalar_one())
    finally:
        await engine.dispose()


# --- one setup, measured -----------------------------------------------------------------------


@dataclass
class Figures:
    label: str
    processes: int
    taken: int = 0
    setup_s: float = 0.0
    p50_ms: float = float("nan")
    p99_ms: float = float("nan")
    paced_sent: int = 0
    paced_acked: int = 0
    paced_delivered: int = 0
    paced_per_s: float = 0.0
    peak_per_s: float = 0.0
    peak_acked: int = 0
    kb_per_idle_socket: float = float("nan")
    server_cpu_s: float = 0.0
    load_cpu_s: float = 0.0
    stored: int | None = None
    errors: dict[str, int] = field(default_factory=dict)
    failed: str = ""


def _collect(results: Any, tag: str, workers: int, timeout: float) -> list[tuple[Any, ...]]:
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < workers:
        item = results.get(timeout=max(1.0, deadline - time.monotonic()))
        if item[0] == tag:
            got.append(item)
    return got


def measure(label: str, plan: Plan, servers: list[Server]) -> Figures:
    figures = Figures(label, len(servers))
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(plan.workers + 1)
    start = ctx.Value("d", 0.0)
    results = ctx.Queue()
    procs = [ctx.Process(target=worker_main, args=(w, plan, barrier, start, results), daemon=True)
             for w in range(plan.workers)]
    for proc in procs:
        proc.start()
    loaders = [psutil.Process(p.pid) for p in procs]

    def cpu(ps: list[Any]) -> float:
        return sum(p.cpu_times().user + p.cpu_times().system for p in ps)

    try:
        began = time.monotonic()
        barrier.wait(BARRIER_SETUP_S)  # a few children signed in
        time.sleep(1.0)
        before = sum(s.rss() for s in servers)
        barrier.wait(60)  # before read: the idle sockets may connect now
        barrier.wait(BARRIER_SETUP_S)  # idle sockets connected
        time.sleep(2.0)
        after = sum(s.rss() for s in servers)
        if plan.idle:
            figures.kb_per_idle_socket = (after - before) / plan.idle / 1024
        barrier.wait(60)  # measured
        barrier.wait(BARRIER_SETUP_S)  # everyone connected
        barrier.wait(BARRIER_SETUP_S)  # waiting
        figures.taken = sum(item[2] for item in _collect(results, "taken", plan.workers, BARRIER_SETUP_S))
        barrier.wait(BARRIER_SETUP_S)  # taken
        figures.setup_s = time.monotonic() - began

        server_cpu, load_cpu = sum(s.cpu() for s in servers), cpu(loaders)
        start.value = time.time() + 1.0
        barrier.wait(60)
        paced = _collect(results, "paced", plan.workers, plan.seconds + 120)
        figures.server_cpu_s = sum(s.cpu() for s in servers) - server_cpu
        figures.load_cpu_s = cpu(loaders) - load_cpu
        latencies = sorted(ms for item in paced for ms in item[5])
        figures.paced_sent = sum(item[2] for item in paced)
        figures.paced_acked = sum(item[3] for item in paced)
        figures.paced_delivered = len(latencies)
        figures.paced_per_s = len(latencies) / plan.seconds
        if latencies:
            figures.p50_ms = statistics.median(latencies)
            figures.p99_ms = latencies[min(len(latencies) - 1, math.ceil(0.99 * len(latencies)) - 1)]
        for item in paced:
            for code, n in item[4].items():
                figures.errors[f"paced:{code}"] = figures.errors.get(f"paced:{code}", 0) + n

        start.value = time.time() + 1.0
        barrier.wait(60)
        peak = _collect(results, "peak", plan.workers, plan.peak_seconds + 120)
        figures.peak_per_s = sum(len(item[5]) for item in peak) / plan.peak_seconds
        figures.peak_acked = sum(item[3] for item in peak)
        for item in peak:
            for code, n in item[4].items():
                figures.errors[f"peak:{code}"] = figures.errors.get(f"peak:{code}", 0) + n

    except Exception as exc:  # noqa: BLE001 - one failed setup is reported, the others still run
        figures.failed = f"{type(exc).__name__}: {exc}"
        barrier.abort()
    finally:
        for proc in procs:
            proc.join(30)
            if proc.is_alive():
                proc.terminate()
    return figures


# --- the run ---------------------------------------------------------------------------------------


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    memory = psutil.virtual_memory().total / 2**30
    return (f"{platform.node()}: {platform.system()} {platform.release()}, nproc {os.cpu_count()} x {model}, "
            f"{memory:.1f} GiB RAM, Python {platform.python_version()}, load average {load}")


def _fmt(value: float, digits: int = 1) -> str:
    return "-" if value != value else f"{value:.{digits}f}"


def report(plan: Plan, rows: list[Figures]) -> str:
    lines = [
        f"{plan.conversations} conversations x {plan.rate:g} msg/s for {plan.seconds:g} s (peak: closed loop for "
        f"{plan.peak_seconds:g} s), {plan.counsellor_count} counsellors x {plan.per_counsellor} chats, "
        f"{plan.idle} idle sockets, {plan.workers} load-generator processes",
        "",
        f"{'setup':<32}{'chats':>6}{'p50 ms':>9}{'p99 ms':>9}{'acked':>7}{'deliv':>7}{'deliv/s':>9}{'peak/s':>9}"
        f"{'KB/idle':>9}{'srv CPU s':>11}{'gen CPU s':>11}{'stored':>8}",
    ]
    for f in rows:
        if f.failed:
            lines.append(f"{f.label:<32} FAILED: {f.failed}")
            continue
        lines.append(
            f"{f.label:<32}{f.taken:>6}{_fmt(f.p50_ms):>9}{_fmt(f.p99_ms):>9}{f.paced_acked:>7}"
            f"{f.paced_delivered:>7}{_fmt(f.paced_per_s):>9}"
            f"{_fmt(f.peak_per_s):>9}{_fmt(f.kb_per_idle_socket):>9}{_fmt(f.server_cpu_s):>11}{_fmt(f.load_cpu_s):>11}"
            f"{'-' if f.stored is None else f.stored:>8}")
        if f.errors:
            lines.append(f"{'':<32}errors: {f.errors}")
    relay = next((f for f in rows if f.label.startswith("bare") and not f.failed), None)
    lines += ["", "targets (Haven rows):"]
    for f in rows:
        if f.failed or f is relay:
            continue
        fast = f.p99_ms < 100
        checks = [f"p99 {_fmt(f.p99_ms)} ms {'<' if fast else '>='} 100 ms: {'met' if fast else 'MISSED'}"]
        if relay and relay.peak_per_s:
            ratio = f.peak_per_s / relay.peak_per_s
            checks.append(f"peak {ratio:.2f} x relay (>= 0.50): {'met' if ratio >= 0.5 else 'MISSED'}")
        checks.append(f"{_fmt(f.kb_per_idle_socket)} KB per idle socket (< 50): "
                      f"{'met' if f.kb_per_idle_socket < 50 else 'MISSED'}")
        stored_ok = f.stored is not None and f.stored >= f.paced_acked + f.peak_acked
        checks.append(f"stored {f.stored} >= acknowledged {f.paced_acked + f.peak_acked}: "
                      f"{'met' if stored_ok else 'MISSED'}")
        lines.append(f"  {f.label}: " + "; ".join(checks))
    if relay:
        lines.append(f"  (relay: p50 {_fmt(relay.p50_ms)} ms, p99 {_fmt(relay.p99_ms)} ms, peak "
                     f"{_fmt(relay.peak_per_s)} msg/s, {_fmt(relay.kb_per_idle_socket)} KB per idle socket)")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=500)
    parser.add_argument("--rate", type=float, default=1.0, help="messages per second per child")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--peak-seconds", type=float, default=10.0)
    parser.add_argument("--per-counsellor", type=int, default=10, help="chats per counsellor (1-10)")
    parser.add_argument("--idle", type=int, default=None, help="idle sockets for the memory figure (default: N)")
    parser.add_argument("--workers", type=int, default=max(2, os.cpu_count() or 2), help="load-generator processes")
    parser.add_argument("--only", choices=["relay", "sqlite", "postgres"], action="append",
                        help="run only these setups (repeatable); default all three")
    parser.add_argument("--pg", default=os.environ.get("HAVEN_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test"),
                        help="PostgreSQL admin URL (a fresh database is created there and dropped)")
    parser.add_argument("--profile", type=Path, default=None,
                        help="run the Haven servers under cProfile and write their statistics to this folder")
    parser.add_argument("--redis", default=os.environ.get("HAVEN_TEST_REDIS", "redis://127.0.0.1:6379/0"))
    args = parser.parse_args()
    if not 1 <= args.per_counsellor <= 10:
        parser.error("--per-counsellor must be 1 to 10 (HAVEN_COUNSELLOR_CAPACITY)")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.profile:
        args.profile = args.profile.resolve()
        args.profile.mkdir(parents=True, exist_ok=True)
    setups = args.only or ["relay", "sqlite", "postgres"]
    idle = args.conversations if args.idle is None else args.idle
    base = Plan("relay", (), args.conversations, args.per_counsellor, args.rate, args.seconds, args.peak_seconds,
                idle, args.workers)
    print(machine(), flush=True)
    rows: list[Figures] = []
    with tempfile.TemporaryDirectory(prefix="haven-bench-") as tmp:
        folder = Path(tmp)
        if "relay" in setups:
            port = free_port()
            relay = Server([sys.executable, "-m", "bench.relay_server", "--port", str(port)], dict(os.environ), port,
                           folder / "relay.log").wait_ready()
            try:
                print("running: bare python-socketio relay ...", flush=True)
                rows.append(measure("bare socket.io relay (1 proc)", replace(base, urls=(relay.url,)),
                                    [relay]))
            finally:
                relay.stop()
        if "sqlite" in setups:
            url = f"sqlite+aiosqlite:///{folder / 'sqlite' / 'haven.db'}"
            servers = haven_servers(folder / "sqlite", 1, url, "", args.per_counsellor, args.profile)
            try:
                names = asyncio.run(_create_counsellors(url, base.counsellor_count))
                print("running: Haven, one process on SQLite ...", flush=True)
                figures = measure("Haven SQLite (1 proc)", replace(
                    base, kind="haven", urls=tuple(s.url for s in servers), counsellors=names), servers)
                figures.stored = asyncio.run(_stored_messages(url))
                rows.append(figures)
            finally:
                for server in servers:
                    server.stop()
        if "postgres" in setups:
            rows.append(_postgres_setup(folder, base, args))
    print()
    print(report(base, rows))


def _postgres_setup(folder: Path, base: Plan, args: argparse.Namespace) -> Figures:
    name = f"haven_bench_{uuid.uuid4().hex[:10]}"
    host_part = args.pg.split("://", 1)[1].rsplit("/", 1)[0]

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(args.pg)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    url = f"postgresql+asyncpg://{host_part}/{name}"
    servers: list[Server] = []
    try:
        servers = haven_servers(folder / "postgres", 2, url, args.redis, args.per_counsellor, args.profile)
        names = asyncio.run(_create_counsellors(url, base.counsellor_count))
        print("running: Haven, two processes on PostgreSQL + Redis ...", flush=True)
        figures = measure("Haven PostgreSQL+Redis (2 procs)", replace(
            base, kind="haven", urls=tuple(s.url for s in servers), counsellors=names), servers)
        figures.stored = asyncio.run(_stored_messages(url))
        return figures
    except Exception as exc:  # noqa: BLE001
        return Figures("Haven PostgreSQL+Redis (2 procs)", 2, failed=f"{type(exc).__name__}: {exc}")
    finally:
        for server in servers:
            server.stop()
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
