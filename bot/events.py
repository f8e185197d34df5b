"""Events that leave the domain after a commit, and the sink that carries them to clients."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, Sequence


@dataclass(frozen=True)
class MessageView:
    """A stored message as clients may see it. `visibility='staff'` views never go to a child."""

    conversation_id: int
    seq: int
    sender: str
    sender_name: str
    text: str
    at: datetime
    visibility: str = "all"
    kind: str = "text"
    client_id: str | None = None
    options: tuple[dict[str, str], ...] = ()
    links: tuple[dict[str, str], ...] = ()
    risk_score: int = 0

    def for_child(self) -> dict[str, Any]:
        if self.visibility != "all":
            raise ValueError("a staff-only message cannot be shaped for a child")
        return {
            "conversation_id": self.conversation_id,
            "seq": self.seq,
            "sender": self.sender,
            "sender_name": self.sender_name,
            "text": self.text,
            "at": self.at.isoformat(),
            "client_id": self.client_id if self.sender == "child" else None,
            "options": list(self.options),
            "links": list(self.links),
        }

    def for_staff(self) -> dict[str, Any]:
        data = self.for_child() if self.visibility == "all" else {
            "conversation_id": self.conversation_id,
            "seq": self.seq,
            "sender": self.sender,
            "sender_name": self.sender_name,
            "text": self.text,
            "at": self.at.isoformat(),
            "client_id": None,
            "options": [],
            "links": [],
        }
        data.update({"visibility": self.visibility, "kind": self.kind, "risk_score": self.risk_score})
        return data


@dataclass(frozen=True)
class MessageEvent:
    message: MessageView
    child_id: int
    # The connection a child's own message came from: it has the acknowledgement with the seq, so the
    # sink need not echo the message back there (the child's other tabs still get it). Opaque to bot/.
    origin: str | None = None


@dataclass(frozen=True)
class StateEvent:
    conversation_id: int
    child_id: int
    state: str
    options: tuple[dict[str, str], ...] = ()


@dataclass(frozen=True)
class ReceiptEvent:
    """The other side has read the child's messages up to `read_seq`."""

    conversation_id: int
    child_id: int
    read_seq: int


@dataclass(frozen=True)
class StaffEvent:
    """Something only staff namespaces hear about (queue changes, alerts). `data` holds ids and figures."""

    name: str
    data: dict[str, Any] = field(default_factory=dict)
    conversation_id: int | None = None
    user_id: int | None = None


Event = MessageEvent | StateEvent | ReceiptEvent | StaffEvent


class EventSink(Protocol):
    """Where committed events go. handlers/ implements it on socket.io rooms."""

    async def publish(self, events: Sequence[Event]) -> None: ...


class ListSink:
    """Keeps events in a list: for tests and for CLI commands that have no clients."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    async def publish(self, events: Sequence[Event]) -> None:
        self.events.extend(events)
