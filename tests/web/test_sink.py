"""The socket sink: who hears which event (children never staff-only views; the sending tab no echo)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from bot.events import MessageEvent, MessageView
from handlers.sink import SocketSink


class RecordingServer:
    def __init__(self) -> None:
        self.emits: list[dict[str, Any]] = []

    async def emit(self, event: str, data: Any, **kwargs: Any) -> None:
        self.emits.append({"event": event, "data": data, **kwargs})


def _view(visibility: str = "all") -> MessageView:
    return MessageView(conversation_id=7, seq=3, sender="child", sender_name="You", text="hi",
                       at=datetime(2026, 1, 1, tzinfo=timezone.utc), visibility=visibility, client_id="c1")


async def test_the_sending_connection_is_not_sent_its_own_message_back() -> None:
    server = RecordingServer()
    await SocketSink(server).publish([MessageEvent(_view(), child_id=1, origin="sid-1")])  # type: ignore[arg-type]
    to_child = [e for e in server.emits if e["namespace"] == "/chat"]
    assert len(to_child) == 1 and to_child[0]["skip_sid"] == "sid-1" and to_child[0]["room"] == "conv:7"
    assert {e["namespace"] for e in server.emits} == {"/chat", "/counsellor", "/supervisor"}
    assert all("skip_sid" not in e for e in server.emits if e["namespace"] != "/chat")


async def test_without_an_origin_every_tab_gets_it() -> None:
    server = RecordingServer()
    await SocketSink(server).publish([MessageEvent(_view(), child_id=1)])  # type: ignore[arg-type]
    assert [e["skip_sid"] for e in server.emits if e["namespace"] == "/chat"] == [None]


async def test_a_staff_only_view_never_goes_to_the_chat_namespace() -> None:
    server = RecordingServer()
    await SocketSink(server).publish([MessageEvent(_view("staff"), child_id=1)])  # type: ignore[arg-type]
    assert {e["namespace"] for e in server.emits} == {"/counsellor", "/supervisor"}
    with pytest.raises(ValueError):
        _view("staff").for_child()
