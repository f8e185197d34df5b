"""Property-based fuzzing of every socket event on every namespace.

Whatever arrives — None, huge numbers, NaN, markup, nested lists, missing or extra keys, several
arguments — the server answers with an acknowledgement `{"ok": true, ...}` or
`{"ok": false, "error": {"code", "message"}}`, never `server_error`, and the socket stays connected.
The events come from the namespaces themselves (every `on_<event>` method), so a new event is fuzzed
without touching this file.

Frames over the transport's 64 KB cap (max_http_buffer_size) are out of scope: engine.io closes the
connection on those by design, before any handler sees them.
"""

from __future__ import annotations

import json
import math
import uuid
from pathlib import Path
from typing import Any

import pytest
import socketio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.accounts import Accounts, Passwords
from bot.db import Database, make_engine
from tests.conftest import make_settings

NAMESPACE_ROLES = {"/chat": "child", "/counsellor": "counsellor", "/supervisor": "supervisor"}
# Keys the handlers read, so generated dicts often have the right names with the wrong values.
KNOWN_KEYS = ("after", "capacity", "client_id", "conversation_id", "option", "seq", "shortcut", "status",
              "text", "to", "to_queue", "typing", "username", "note", "safeguarding", "reason", "id")
NASTY_TEXT = ("", " ", "\x00", "<script>alert(1)</script>", "' OR 1=1 --", "\u202e\u200b", "😀" * 50,
              "a" * 5000, "NaN", "-1", "9" * 40, "__proto__", "{\"ok\": true}")
PER_EVENT = 12
PASSWORD = "fuzz pass 1234"

scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=80) | st.sampled_from(NASTY_TEXT))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
shaped = st.fixed_dictionaries({}, optional={key: values for key in KNOWN_KEYS})
payloads = shaped | values | st.dictionaries(st.sampled_from(KNOWN_KEYS) | st.text(max_size=8), values, max_size=6)


def events_of(tmp_path: Path) -> dict[str, list[str]]:
    from web import keys
    from web.app import create_app

    app = create_app(make_settings(tmp_path))
    found = {}
    for namespace, handler in app[keys.SIO].namespace_handlers.items():
        found[namespace] = sorted(name[3:] for name in dir(handler)
                                  if name.startswith("on_") and name not in ("on_connect", "on_disconnect")
                                  and callable(getattr(handler, name)))
    return found


def check_ack(event: str, data: Any, ack: Any) -> None:
    shown = repr(data)[:200]
    assert isinstance(ack, dict) and isinstance(ack.get("ok"), bool), f"{event}({shown}) -> {ack!r}"
    if not ack["ok"]:
        error = ack.get("error")
        assert isinstance(error, dict), f"{event}({shown}) -> {ack!r}"
        assert isinstance(error.get("code"), str) and error["code"], f"{event}({shown}) -> {ack!r}"
        assert isinstance(error.get("message"), str) and error["message"], f"{event}({shown}) -> {ack!r}"
        assert error["code"] != "server_error", f"{event}({shown}) made the server fail"


def jsonable(data: Any) -> bool:
    """python-socketio's client encodes with json.dumps; keys must be strings (they are) and NaN passes."""
    try:
        json.dumps(data)
        return True
    except (TypeError, ValueError):
        return False


class Fuzzer:
    def __init__(self, base: str, namespace: str, client: socketio.AsyncClient) -> None:
        self.base = base
        self.namespace = namespace
        self.client = client
        self.calls = 0

    async def send(self, event: str, *args: Any) -> None:
        ack = await self.client.call(event, args[0] if len(args) == 1 else args, namespace=self.namespace,
                                     timeout=10) if args else await self.client.call(
            event, namespace=self.namespace, timeout=10)
        self.calls += 1
        check_ack(event, args, ack)
        assert self.client.connected and self.namespace in self.client.namespaces, (
            f"{event}({args!r:.200}) disconnected the socket")


async def _fuzzer(server: Any, people: Any, tmp_path: Path, namespace: str) -> Fuzzer:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'fuzz.db'}"
    base = await server(database_url=database_url, messages_per_minute=6000)
    role = NAMESPACE_ROLES[namespace]
    if role == "child":
        person = await people.child(base)
    else:
        engine = make_engine(database_url)
        try:
            name = f"{role[:3]}{uuid.uuid4().hex[:6]}"
            await Accounts(Database(engine), Passwords()).do_create_user(name, PASSWORD, role)
        finally:
            await engine.dispose()
        person = await people.staff(base, name, PASSWORD, role)
        # Someone waiting, so the staff events have a real chat to aim at.
        kid = await people.child(base)
        kid_socket = await kid.connect("/chat")
        await kid_socket.call("hello", {"after": 0}, namespace="/chat", timeout=10)
        await kid_socket.call("choose", {"option": "talk", "client_id": uuid.uuid4().hex}, namespace="/chat",
                              timeout=10)
    client = await person.connect(namespace, record=False)
    fuzzer = Fuzzer(base, namespace, client)
    await fuzzer.send("hello", {"after": 0})
    return fuzzer


@pytest.mark.parametrize("namespace", sorted(NAMESPACE_ROLES))
async def test_every_event_survives_fixed_nasty_payloads(server: Any, people: Any, tmp_path: Path,
                                                         namespace: str) -> None:
    events = events_of(tmp_path)[namespace]
    assert events, namespace
    fuzzer = await _fuzzer(server, people, tmp_path, namespace)
    fixed: list[tuple[Any, ...]] = [(), (None,), (0,), (True,), ("text",), ([],), ({},), ([{}],),
                                    ({"conversation_id": 2**63},), ({"conversation_id": -1},),
                                    ({"conversation_id": "1"},), ({"text": None, "client_id": None},),
                                    ({"text": "x" * 50_000, "client_id": "c"},), ({"seq": math.inf},),
                                    ({"after": 1e308},), ({"a": {"b": {"c": [1, [2, [3]]]}}},)]
    for event in events:
        for args in fixed:
            await fuzzer.send(event, *args)
    assert fuzzer.calls == 1 + len(events) * len(fixed)


@pytest.mark.parametrize("namespace", sorted(NAMESPACE_ROLES))
async def test_every_event_survives_generated_payloads(server: Any, people: Any, tmp_path: Path,
                                                       namespace: str) -> None:
    events = events_of(tmp_path)[namespace]
    fuzzer = await _fuzzer(server, people, tmp_path, namespace)

    # Hypothesis draws the payloads; they are sent afterwards, because its runner cannot await inside
    # the test's running event loop. Derandomized: every run sends the same payloads, so a failure
    # names a payload that fails again.
    drawn: list[tuple[str, Any]] = []

    @settings(max_examples=PER_EVENT * len(events), deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(event=st.sampled_from(events), data=payloads)
    def draw(event: str, data: Any) -> None:
        drawn.append((event, data))

    draw()
    for event, data in drawn:
        if jsonable(data):
            await fuzzer.send(event, data)
    assert {event for event, _ in drawn} == set(events)
    assert fuzzer.calls > PER_EVENT * len(events) // 2


@pytest.mark.parametrize("namespace", sorted(NAMESPACE_ROLES))
async def test_an_event_with_several_arguments_is_a_bad_payload(server: Any, people: Any, tmp_path: Path,
                                                                namespace: str) -> None:
    events = events_of(tmp_path)[namespace]
    fuzzer = await _fuzzer(server, people, tmp_path, namespace)
    for event in events:
        await fuzzer.send(event, {}, {})
        await fuzzer.send(event, 1, 2, 3)
