"""The EventSink on socket.io rooms: children hear only what children may; staff hear the rest."""

from __future__ import annotations

from typing import Callable, Sequence

import socketio

from bot.events import Event, MessageEvent, ReceiptEvent, StaffEvent, StateEvent
from bot.queue import QueuePosition, StaffAlert

STAFF_NAMESPACES = ("/counsellor", "/supervisor")


class SocketSink:
    def __init__(self, sio: socketio.AsyncServer) -> None:
        self.sio = sio
        # Called after a batch that changed the queue, assignments, presence or alerts (the supervisors'
        # dashboard pushes a fresh snapshot); set by create_app.
        self.on_staff_change: Callable[[], None] | None = None

    async def publish(self, events: Sequence[Event | QueuePosition | StaffAlert]) -> None:
        if self.on_staff_change is not None and any(
                isinstance(e, (StateEvent, StaffEvent, QueuePosition, StaffAlert)) for e in events):
            self.on_staff_change()
        for event in events:
            if isinstance(event, MessageEvent):
                view = event.message
                room = f"conv:{view.conversation_id}"
                if view.visibility == "all":
                    # The only path a message takes to a child, and it refuses staff-only views.
                    await self.sio.emit("message", view.for_child(), room=room, namespace="/chat",
                                        skip_sid=event.origin)
                staff = view.for_staff()
                for namespace in STAFF_NAMESPACES:
                    await self.sio.emit("message", staff, room=room, namespace=namespace)
            elif isinstance(event, StateEvent):
                data = {"conversation_id": event.conversation_id, "state": event.state,
                        "options": list(event.options)}
                await self.sio.emit("state", data, room=f"conv:{event.conversation_id}", namespace="/chat")
                for namespace in STAFF_NAMESPACES:
                    await self.sio.emit("state", data, room=f"conv:{event.conversation_id}", namespace=namespace)
            elif isinstance(event, ReceiptEvent):
                await self.sio.emit("receipt", {"conversation_id": event.conversation_id, "read_seq": event.read_seq},
                                    room=f"conv:{event.conversation_id}", namespace="/chat")
            elif isinstance(event, StaffEvent):
                data = {**event.data, "conversation_id": event.conversation_id}
                room = f"conv:{event.conversation_id}" if event.conversation_id else "staff:queue"
                if event.user_id is not None:
                    room = f"user:{event.user_id}"
                for namespace in STAFF_NAMESPACES:
                    await self.sio.emit(event.name, data, room=room, namespace=namespace)
            elif isinstance(event, QueuePosition):
                # Only the waiting child's own room: a child never learns about other children.
                await self.sio.emit("queue", {"conversation_id": event.conversation_id, "position": event.position,
                                              "eta_minutes": event.eta_minutes},
                                    room=f"conv:{event.conversation_id}", namespace="/chat")
            elif isinstance(event, StaffAlert):
                for namespace in STAFF_NAMESPACES:
                    await self.sio.emit(event.name, event.data, room="staff:queue", namespace=namespace)
