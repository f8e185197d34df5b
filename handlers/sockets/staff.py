"""Staff namespaces: `/counsellor` (the console) and `/supervisor` (live dashboard, monitoring, whispers, reassigning)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, AsyncIterator, Callable

from aiohttp import web

from bot.background import every
from bot.accounts import Accounts, Identity
from bot.errors import Invalid, NotFound
from bot.queue import Counselling, check_wrap_up
from bot.supervision import Reassigned, Supervision
from dialogs.engine import DialogEngine
from dialogs.words import SAY
from handlers.metrics import Metrics
from handlers.sockets.base import BaseNamespace, get_int, get_str, guarded, payload
from handlers.sockets.continuity import ContinuityEvents

log = logging.getLogger(__name__)

CLIENT_ID_MAX = 64
NOTE_MAX = 4000


async def fire_requeued(engine: DialogEngine, conversation_id: int, reason: str) -> None:
    """Tell the child's dialog the chat is back in the queue (the queue row is already committed)."""
    await engine.fire(conversation_id, "requeued", requeue_reason=reason)


async def announce_child_presence(server: Any, conversation_id: int, online: bool) -> None:
    """Tell the counsellor (and supervisors) watching a chat that the child's connection dropped or came back.

    Meant to be called by the /chat namespace on disconnect and on hello; socket.io carries it across processes.
    """
    event = {"conversation_id": conversation_id, "online": online}
    for namespace in ("/counsellor", "/supervisor"):
        await server.emit("child_presence", event, room=f"conv:{conversation_id}", namespace=namespace)


def sweeper(counselling: Counselling, engine: DialogEngine,
            grace_seconds: int) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup_ctx task: chats whose counsellor's line stayed down past the grace period go back to the
    front of the queue. Every process may run one; the database decides who requeues each chat."""
    # Checking a few times per grace period keeps the overrun small without busy polling.
    interval = max(0.2, min(5.0, grace_seconds / 4))

    async def sweep() -> None:
        for conversation_id in await counselling.do_sweep():
            await fire_requeued(engine, conversation_id, "connection_lost")

    return every("counsellor sweep", interval, sweep, first_delay=interval)


class CounsellorNamespace(ContinuityEvents, BaseNamespace):
    """The console's socket. A counsellor reaches only the chats assigned to them (and the queue)."""

    roles = ("counsellor",)

    def __init__(self, namespace: str, accounts: Accounts, metrics: Metrics, per_minute: int, *,
                 counselling: Counselling, engine: DialogEngine, max_chars: int = 2000) -> None:
        super().__init__(namespace, accounts, metrics, per_minute)
        self.counselling = counselling
        self.engine = engine
        self.max_chars = max_chars

    async def connected(self, sid: str, identity: Identity) -> None:
        await self.enter_room(sid, "staff:queue")
        # Rejoin every chat this counsellor holds, so a reconnect (or a second tab) hears them again.
        for conversation_id in await self.counselling.do_connect(identity.user_id, SAY["counsellor_back"]):
            await self.enter_room(sid, f"conv:{conversation_id}")

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        await super().on_disconnect(sid, reason)
        try:
            user_id = await self.user_id(sid)
        except KeyError:
            return
        await self.counselling.do_disconnect(user_id, SAY["counsellor_connection_lost"])

    async def _who(self, sid: str) -> tuple[int, str]:
        session = await self.get_session(sid)
        return int(session["user_id"]), str(session["username"])

    async def _chat(self, sid: str, data: Any) -> tuple[int, str, int, dict[str, Any]]:
        data = payload(data)
        user_id, username = await self._who(sid)
        return user_id, username, get_int(data, "conversation_id", lo=1), data

    async def _after_end(self, sid: str, conversation_id: int, state: str, closed: bool) -> None:
        await self.leave_room(sid, f"conv:{conversation_id}")
        if not closed and state == "with_counsellor":
            await self.engine.fire(conversation_id, "counsellor_left")

    @guarded
    async def on_hello(self, sid: str, data: Any = None) -> dict[str, Any]:
        user_id, _ = await self._who(sid)
        console = await self.counselling.get_console(user_id)
        for chat in console.chats:
            await self.enter_room(sid, f"conv:{chat.conversation_id}")
        return {"ok": True, **console.as_dict()}

    @guarded
    async def on_status(self, sid: str, data: Any = None) -> dict[str, Any]:
        data = payload(data)
        user_id, _ = await self._who(sid)
        status = await self.counselling.do_set_status(user_id, data.get("status"))
        return {"ok": True, "status": status}

    @guarded
    async def on_take_next(self, sid: str, data: Any = None) -> dict[str, Any]:
        user_id, username = await self._who(sid)
        conversation_id = await self.counselling.do_take_next(user_id)
        await self.enter_room(sid, f"conv:{conversation_id}")
        await self.engine.fire(conversation_id, "counsellor_joined", counsellor_name=username)
        detail = await self.counselling.access_chat(user_id, conversation_id)
        return {"ok": True, **detail.as_dict()}

    @guarded
    async def on_open(self, sid: str, data: Any = None) -> dict[str, Any]:
        user_id, _, conversation_id, _ = await self._chat(sid, data)
        detail = await self.counselling.access_chat(user_id, conversation_id)
        await self.enter_room(sid, f"conv:{conversation_id}")
        return {"ok": True, **detail.as_dict()}

    @guarded
    async def on_leave(self, sid: str, data: Any = None) -> dict[str, Any]:
        """The console stops listening to a chat that is no longer this counsellor's."""
        _, _, conversation_id, _ = await self._chat(sid, data)
        await self.leave_room(sid, f"conv:{conversation_id}")
        return {"ok": True}

    @guarded
    async def on_send(self, sid: str, data: Any = None) -> dict[str, Any]:
        user_id, username, conversation_id, data = await self._chat(sid, data)
        client_id = get_str(data, "client_id", max_len=CLIENT_ID_MAX)
        text = get_str(data, "text", max_len=self.max_chars)
        await self.check_rate(sid)
        seq, duplicate = await self.counselling.do_send(user_id, username, conversation_id, text, client_id)
        if not duplicate:
            self.metrics.messages.labels("counsellor").inc()
        return {"ok": True, "seq": seq, "client_id": client_id}

    @guarded
    async def on_note(self, sid: str, data: Any = None) -> dict[str, Any]:
        user_id, username, conversation_id, data = await self._chat(sid, data)
        client_id = get_str(data, "client_id", max_len=CLIENT_ID_MAX)
        text = get_str(data, "text", max_len=NOTE_MAX)
        await self.check_rate(sid)
        seq, _ = await self.counselling.do_send(user_id, username, conversation_id, text, client_id, note=True)
        return {"ok": True, "seq": seq, "client_id": client_id}

    @guarded
    async def on_typing(self, sid: str, data: Any = None) -> dict[str, Any]:
        user_id, _, conversation_id, data = await self._chat(sid, data)
        await self.counselling.check_holds(user_id, conversation_id)
        event = {"conversation_id": conversation_id, "who": "counsellor", "typing": bool(data.get("typing"))}
        await self.server.emit("typing", event, room=f"conv:{conversation_id}", namespace="/chat")
        await self.server.emit("typing", event, room=f"conv:{conversation_id}", namespace="/supervisor")
        return {"ok": True}

    @guarded
    async def on_read(self, sid: str, data: Any = None) -> dict[str, Any]:
        user_id, _, conversation_id, data = await self._chat(sid, data)
        await self.counselling.do_mark_read(user_id, conversation_id, get_int(data, "seq"))
        return {"ok": True}

    @guarded
    async def on_delivered(self, sid: str, data: Any = None) -> dict[str, Any]:
        """The console has the child's message on screen-side: the child's bubble shows "Delivered".

        A passing signal, not stored: "read" (stored) supersedes it, and a reconnecting child gets that.
        """
        user_id, _, conversation_id, data = await self._chat(sid, data)
        await self.counselling.check_holds(user_id, conversation_id)
        receipt = {"conversation_id": conversation_id, "delivered_seq": get_int(data, "seq")}
        await self.server.emit("receipt", receipt, room=f"conv:{conversation_id}", namespace="/chat")
        return {"ok": True}

    @guarded
    async def on_transfer(self, sid: str, data: Any = None) -> dict[str, Any]:
        """To a named counsellor (`to`), or back to the queue keeping the child's place (`to_queue: true`)."""
        user_id, _, conversation_id, data = await self._chat(sid, data)
        if data.get("to_queue") is True:
            ended = await self.counselling.do_requeue(user_id, conversation_id, front=False)
            await self.leave_room(sid, f"conv:{conversation_id}")
            if not ended.closed:
                await fire_requeued(self.engine, conversation_id, "requeued")
            return {"ok": True, "to_queue": True}
        _, name = await self.counselling.do_transfer(user_id, conversation_id, get_str(data, "to", max_len=32))
        await self.leave_room(sid, f"conv:{conversation_id}")
        await self.engine.fire(conversation_id, "counsellor_changed", counsellor_name=name)
        return {"ok": True, "to": name}

    @guarded
    async def on_hand_back(self, sid: str, data: Any = None) -> dict[str, Any]:
        user_id, _, conversation_id, _ = await self._chat(sid, data)
        ended = await self.counselling.do_end(user_id, conversation_id, "handed_back")
        await self._after_end(sid, conversation_id, ended.state, ended.closed)
        return {"ok": True}

    @guarded
    async def on_wrap_up(self, sid: str, data: Any = None) -> dict[str, Any]:
        user_id, _, conversation_id, data = await self._chat(sid, data)
        form = check_wrap_up(data)
        ended = await self.counselling.do_end(user_id, conversation_id, "wrapped_up", form)
        await self._after_end(sid, conversation_id, ended.state, ended.closed)
        return {"ok": True}

    @guarded
    async def on_start_report(self, sid: str, data: Any = None) -> dict[str, Any]:
        """Start the report flow for the child; the console follows its progress through `state` events."""
        user_id, _, conversation_id, _ = await self._chat(sid, data)
        state = await self.counselling.check_holds(user_id, conversation_id)
        if state != "with_counsellor":
            raise Invalid("not_with_counsellor", "The report flow can start only while you are talking with the child.")
        view = await self.engine.fire(conversation_id, "report")
        return {"ok": True, "state": view.state}

    @guarded
    async def on_resume(self, sid: str, data: Any = None) -> dict[str, Any]:
        """Take the chat back from the bot (after the report flow) without the child having to ask."""
        user_id, username, conversation_id, _ = await self._chat(sid, data)
        state = await self.counselling.check_holds(user_id, conversation_id)
        if state == "with_counsellor":
            return {"ok": True, "state": state}
        view = await self.engine.fire(conversation_id, "counsellor_joined", counsellor_name=username)
        return {"ok": True, "state": view.state}


class DashboardPusher:
    """Pushes the supervisors' dashboard: at once (coalesced) after any queue, assignment, presence or alert
    change, and every `interval` seconds so wait times and the traffic light move on their own.

    The periodic push also refreshes the live gauges on /metrics. It goes only to this process's own
    supervisors, so several processes never send one supervisor the same snapshot twice.
    """

    ROOM = "supervisors"
    NAMESPACE = "/supervisor"
    # Changes arriving within this long are sent as one snapshot.
    COALESCE_SECONDS = 0.15

    def __init__(self, supervision: Supervision, metrics: Metrics, interval: float = 5.0) -> None:
        self.supervision = supervision
        self.metrics = metrics
        self.interval = interval
        self.server: Any = None
        self._dirty = False
        self._task: asyncio.Task[None] | None = None

    def attach(self, server: Any) -> None:
        self.server = server

    def poke(self) -> None:
        """Something changed: schedule one push (never more than one waiting)."""
        self._dirty = True
        if self.server is None or (self._task is not None and not self._task.done()):
            return
        try:
            self._task = asyncio.get_running_loop().create_task(self._push_changes())
        except RuntimeError:
            self._dirty = False  # no loop (a CLI command): nobody is watching

    async def _push_changes(self) -> None:
        while self._dirty:
            self._dirty = False
            await asyncio.sleep(self.COALESCE_SECONDS)
            try:
                snapshot = await self.supervision.get_dashboard()
            except Exception:
                log.exception("dashboard snapshot failed")
                return
            self.metrics.set_live(snapshot)
            await self.server.emit("dashboard", snapshot.as_dict(), room=self.ROOM, namespace=self.NAMESPACE)

    async def push_local(self) -> None:
        snapshot = await self.supervision.get_dashboard()
        self.metrics.set_live(snapshot)
        if self.server is None:
            return
        data = snapshot.as_dict()
        # This process's supervisors only (every process refreshes its own): not through Redis.
        for sid, _ in list(self.server.manager.get_participants(self.NAMESPACE, self.ROOM)):
            await self.server.emit("dashboard", data, to=sid, namespace=self.NAMESPACE, ignore_queue=True)

    def context(self) -> Callable[[web.Application], AsyncIterator[None]]:
        """A cleanup_ctx task for the periodic push; a pending change-push is cancelled at the end too."""

        def stop_pending() -> None:
            if self._task is not None:
                self._task.cancel()

        return every("dashboard refresh", self.interval, self.push_local, on_stop=stop_pending)


class SupervisorNamespace(ContinuityEvents, BaseNamespace):
    """The dashboard's socket: queue health pushed live, monitoring any live chat without the child knowing,
    whispers to the counsellor, reassigning or taking over chats, and team settings."""

    roles = ("supervisor",)

    def __init__(self, namespace: str, accounts: Accounts, metrics: Metrics, per_minute: int, *,
                 counselling: Counselling | None = None, supervision: Supervision | None = None,
                 engine: DialogEngine | None = None, pusher: DashboardPusher | None = None,
                 team: dict[str, Any] | None = None, max_chars: int = 2000) -> None:
        super().__init__(namespace, accounts, metrics, per_minute)
        self.counselling = counselling
        self.supervision = supervision
        self.engine = engine
        self.pusher = pusher
        # Plain facts about settings that cannot change at run time (shown read-only on the dashboard).
        self.team = team or {}
        self.max_chars = max_chars

    async def connected(self, sid: str, identity: Identity) -> None:
        await self.enter_room(sid, "staff:queue")
        await self.enter_room(sid, DashboardPusher.ROOM)
        if self.counselling is not None:
            # A supervisor who took chats over holds them like a counsellor: same presence and grace period.
            for conversation_id in await self.counselling.do_connect(identity.user_id, SAY["counsellor_back"]):
                await self.enter_room(sid, f"conv:{conversation_id}")

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        await super().on_disconnect(sid, reason)
        if self.counselling is None:
            return
        try:
            user_id = await self.user_id(sid)
        except KeyError:
            return
        await self.counselling.do_disconnect(user_id, SAY["counsellor_connection_lost"])

    def _queue(self) -> Counselling:
        if self.counselling is None:
            raise Invalid("not_available", "Counselling isn't set up on this server.")
        return self.counselling

    def _sup(self) -> tuple[Supervision, DialogEngine]:
        if self.supervision is None or self.engine is None:
            raise Invalid("not_available", "Supervision isn't set up on this server.")
        return self.supervision, self.engine

    async def _who(self, sid: str) -> tuple[int, str]:
        session = await self.get_session(sid)
        return int(session["user_id"]), str(session["username"])

    async def _chat(self, sid: str, data: Any) -> tuple[int, str, int, dict[str, Any]]:
        data = payload(data)
        user_id, username = await self._who(sid)
        return user_id, username, get_int(data, "conversation_id", lo=1), data

    def _changed(self) -> None:
        if self.pusher is not None:
            self.pusher.poke()

    # The dashboard -----------------------------------------------------------------------------

    @guarded
    async def on_hello(self, sid: str, data: Any = None) -> dict[str, Any]:
        """Everything the page needs on (re)connect; after this the server pushes `dashboard` events."""
        supervision, _ = self._sup()
        user_id, username = await self._who(sid)
        snapshot = await supervision.get_dashboard()
        held = [a.conversation_id for a in snapshot.active if a.holder_id == user_id]
        for conversation_id in held:
            await self.enter_room(sid, f"conv:{conversation_id}")
        return {"ok": True, "me": {"user_id": user_id, "username": username}, "dashboard": snapshot.as_dict(),
                "held": held, "canned": await self._queue().get_canned(), "team": self.team}

    # Monitoring and stepping in ----------------------------------------------------------------

    @guarded
    async def on_monitor(self, sid: str, data: Any = None) -> dict[str, Any]:
        """Read a live chat and hear it from now on. The child is told nothing (the privacy note says why)."""
        supervision, _ = self._sup()
        _, _, conversation_id, _ = await self._chat(sid, data)
        chat = await supervision.access_live_chat(conversation_id)
        await self.enter_room(sid, f"conv:{conversation_id}")
        return {"ok": True, **chat.as_dict()}

    @guarded
    async def on_unmonitor(self, sid: str, data: Any = None) -> dict[str, Any]:
        user_id, _, conversation_id, _ = await self._chat(sid, data)
        supervision, _ = self._sup()
        try:
            chat = await supervision.access_live_chat(conversation_id)
            holding = chat.holder_id == user_id
        except NotFound:
            holding = False
        if not holding:
            await self.leave_room(sid, f"conv:{conversation_id}")
        return {"ok": True}

    @guarded
    async def on_whisper(self, sid: str, data: Any = None) -> dict[str, Any]:
        """A message only the counsellor (and other staff) see; never the child."""
        supervision, _ = self._sup()
        user_id, username, conversation_id, data = await self._chat(sid, data)
        client_id = get_str(data, "client_id", max_len=CLIENT_ID_MAX) if data.get("client_id") is not None else None
        text = get_str(data, "text", max_len=self.max_chars)
        await self.check_rate(sid)
        seq, _ = await supervision.do_whisper(user_id, username, conversation_id, text, client_id)
        return {"ok": True, "seq": seq, "client_id": client_id}

    async def _announce(self, moved: Reassigned) -> None:
        _, engine = self._sup()
        trigger = "counsellor_joined" if moved.from_queue else "counsellor_changed"
        await engine.fire(moved.conversation_id, trigger, counsellor_name=moved.to_name)

    @guarded
    async def on_reassign(self, sid: str, data: Any = None) -> dict[str, Any]:
        """Give a live chat (held or waiting) to a named counsellor who is online."""
        supervision, _ = self._sup()
        user_id, _, conversation_id, data = await self._chat(sid, data)
        moved = await supervision.do_reassign(user_id, conversation_id, get_str(data, "to", max_len=32))
        if moved.from_user_id == user_id:
            await self.leave_room(sid, f"conv:{conversation_id}")
        await self._announce(moved)
        return {"ok": True, "to": moved.to_name, "from_queue": moved.from_queue}

    @guarded
    async def on_take_over(self, sid: str, data: Any = None) -> dict[str, Any]:
        """The supervisor holds the chat from now on: talks, then hands back or wraps up like a counsellor."""
        supervision, _ = self._sup()
        user_id, _, conversation_id, _ = await self._chat(sid, data)
        moved = await supervision.do_reassign(user_id, conversation_id, None)
        await self.enter_room(sid, f"conv:{conversation_id}")
        await self._announce(moved)
        chat = await supervision.access_live_chat(conversation_id)
        return {"ok": True, **chat.as_dict()}

    @guarded
    async def on_send(self, sid: str, data: Any = None) -> dict[str, Any]:
        """A message to the child in a chat this supervisor has taken over."""
        user_id, username, conversation_id, data = await self._chat(sid, data)
        client_id = get_str(data, "client_id", max_len=CLIENT_ID_MAX) if data.get("client_id") is not None else None
        text = get_str(data, "text", max_len=self.max_chars)
        await self.check_rate(sid)
        seq, duplicate = await self._queue().do_send(user_id, username, conversation_id, text, client_id)
        if not duplicate:
            self.metrics.messages.labels("counsellor").inc()
        return {"ok": True, "seq": seq, "client_id": client_id}

    async def _ended(self, sid: str, conversation_id: int, state: str, closed: bool) -> None:
        _, engine = self._sup()
        await self.leave_room(sid, f"conv:{conversation_id}")
        if not closed and state == "with_counsellor":
            await engine.fire(conversation_id, "counsellor_left")

    @guarded
    async def on_hand_back(self, sid: str, data: Any = None) -> dict[str, Any]:
        user_id, _, conversation_id, _ = await self._chat(sid, data)
        ended = await self._queue().do_end(user_id, conversation_id, "handed_back")
        await self._ended(sid, conversation_id, ended.state, ended.closed)
        return {"ok": True}

    @guarded
    async def on_wrap_up(self, sid: str, data: Any = None) -> dict[str, Any]:
        user_id, _, conversation_id, data = await self._chat(sid, data)
        form = check_wrap_up(data)
        ended = await self._queue().do_end(user_id, conversation_id, "wrapped_up", form)
        await self._ended(sid, conversation_id, ended.state, ended.closed)
        return {"ok": True}

    # Team settings -----------------------------------------------------------------------------

    @guarded
    async def on_canned_list(self, sid: str, data: Any = None) -> dict[str, Any]:
        return {"ok": True, "canned": await self._queue().get_canned()}

    @guarded
    async def on_canned_save(self, sid: str, data: Any = None) -> dict[str, Any]:
        data = payload(data)
        saved = await self._queue().do_save_canned(await self.user_id(sid), data.get("shortcut"), data.get("text"))
        return {"ok": True, **saved}

    @guarded
    async def on_canned_delete(self, sid: str, data: Any = None) -> dict[str, Any]:
        data = payload(data)
        await self._queue().do_delete_canned(data.get("shortcut"))
        return {"ok": True}

    @guarded
    async def on_set_capacity(self, sid: str, data: Any = None) -> dict[str, Any]:
        data = payload(data)
        capacity = await self._queue().do_set_capacity(data.get("username"), data.get("capacity"))
        # Load against capacity is on the dashboard.
        self._changed()
        return {"ok": True, "capacity": capacity}
