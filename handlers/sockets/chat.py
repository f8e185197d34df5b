"""The children's namespace `/chat`: hello (resume), say, choose, typing, read, upload_link."""

from __future__ import annotations

import time
from typing import Any

from bot.accounts import Accounts
from bot.errors import Invalid
from dialogs.engine import DialogEngine
from handlers.metrics import Metrics
from handlers.sockets.base import BaseNamespace, get_int, get_str, guarded, payload
from handlers.sockets.staff import announce_child_presence

CLIENT_ID_MAX = 64


class ChatNamespace(BaseNamespace):
    roles = ("child",)

    def __init__(self, accounts: Accounts, metrics: Metrics, engine: DialogEngine, *, per_minute: int,
                 max_chars: int) -> None:
        super().__init__("/chat", accounts, metrics, per_minute)
        self.engine = engine
        self.max_chars = max_chars

    async def _conversation(self, sid: str) -> tuple[int, int]:
        session = await self.get_session(sid)
        conv = session.get("conversation_id")
        if conv is None:
            raise Invalid("no_conversation", "Please wait a moment while the chat connects.")
        return int(session["user_id"]), int(conv)

    @guarded
    async def on_hello(self, sid: str, data: Any = None) -> dict[str, Any]:
        data = payload(data if data is not None else {})
        after = get_int(data, "after", default=0)
        user_id = await self.user_id(sid)
        opened = await self.engine.open(user_id, after)
        async with self.session(sid) as session:
            previous = session.get("conversation_id")
            session["conversation_id"] = opened.conversation.id
        if previous and previous != opened.conversation.id:
            await self.leave_room(sid, f"conv:{previous}")
        await self.enter_room(sid, f"conv:{opened.conversation.id}")
        await announce_child_presence(self.server, opened.conversation.id, True)
        return opened.as_dict()

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        session = await self.get_session(sid)
        conversation_id = session.get("conversation_id")
        await super().on_disconnect(sid, reason)
        if conversation_id is None:
            return
        # Another tab of the same child may still be here; only the last one leaving counts as "dropped".
        room = f"conv:{conversation_id}"
        others = [other for other, _ in self.server.manager.get_participants(self.namespace, room) if other != sid]
        if not others:
            await announce_child_presence(self.server, int(conversation_id), False)

    async def _input(self, sid: str, data: Any, *, option: bool) -> dict[str, Any]:
        data = payload(data)
        client_id = get_str(data, "client_id", max_len=CLIENT_ID_MAX)
        # Refusals for shape and length don't count against the child's rate.
        value = get_str(data, "option", max_len=40) if option else get_str(data, "text", max_len=self.max_chars)
        await self.check_rate(sid)
        user_id, conv_id = await self._conversation(sid)
        started = time.perf_counter()
        if option:
            ack = await self.engine.child_input(user_id, conv_id, client_id=client_id, option=value)
        else:
            ack = await self.engine.child_input(user_id, conv_id, client_id=client_id, text=value, origin=sid)
        if not ack.duplicate:
            self.metrics.messages.labels("child").inc()
            self.metrics.step_seconds.observe(time.perf_counter() - started)
        return ack.as_dict()

    @guarded
    async def on_say(self, sid: str, data: Any = None) -> dict[str, Any]:
        return await self._input(sid, data, option=False)

    @guarded
    async def on_choose(self, sid: str, data: Any = None) -> dict[str, Any]:
        return await self._input(sid, data, option=True)

    @guarded
    async def on_typing(self, sid: str, data: Any = None) -> dict[str, Any]:
        data = payload(data)
        typing = bool(data.get("typing"))
        _, conv_id = await self._conversation(sid)
        payload_out = {"conversation_id": conv_id, "who": "child", "typing": typing}
        for namespace in ("/counsellor", "/supervisor"):
            await self.server.emit("typing", payload_out, room=f"conv:{conv_id}", namespace=namespace)
        return {"ok": True}

    @guarded
    async def on_read(self, sid: str, data: Any = None) -> dict[str, Any]:
        data = payload(data)
        seq = get_int(data, "seq")
        user_id, conv_id = await self._conversation(sid)
        await self.engine.do_mark_read(user_id, conv_id, seq)
        return {"ok": True}

    @guarded
    async def on_upload_link(self, sid: str, data: Any = None) -> dict[str, Any]:
        """A fresh one-time upload address, only while the conversation is in the upload step."""
        user_id, conv_id = await self._conversation(sid)
        link = await self.engine.services.reports.do_issue_upload_link(user_id, conv_id)
        return {"ok": True, **link.as_dict()}
