"""Console events both staff namespaces share: a child's earlier chats, and the colleagues online to pass a chat to.

A mixin, so the namespaces in handlers/sockets/staff.py gain them by inheritance alone. It uses the
namespace's own `counselling` (its database and default capacity) and the socket's session.
"""

from __future__ import annotations

from typing import Any

from bot.colleagues import get_colleagues
from bot.errors import Invalid
from bot.history import access_child_history
from handlers.sockets.base import get_int, guarded, payload


class ContinuityEvents:
    """`history` and `colleagues`. Who may read a history is decided in bot/history.py, by role."""

    counselling: Any

    def _counselling(self) -> Any:
        if self.counselling is None:
            raise Invalid("not_available", "Counselling isn't set up on this server.")
        return self.counselling

    @guarded
    async def on_history(self, sid: str, data: Any = None) -> dict[str, Any]:
        """The child's chats with their wrap-up notes and risk: the counsellor holding the chat, and supervisors."""
        conversation_id = get_int(payload(data), "conversation_id", lo=1)
        session = await self.get_session(sid)  # type: ignore[attr-defined]
        chats = await access_child_history(self._counselling().db, int(session["user_id"]), str(session["role"]),
                                           conversation_id)
        return {"ok": True, "conversation_id": conversation_id, "chats": [c.as_dict() for c in chats]}

    @guarded
    async def on_colleagues(self, sid: str, data: Any = None) -> dict[str, Any]:
        """Counsellors online now with their load, to pick one for a transfer."""
        counselling = self._counselling()
        session = await self.get_session(sid)  # type: ignore[attr-defined]
        team = await get_colleagues(counselling.db, counselling.config.default_capacity, int(session["user_id"]))
        return {"ok": True, "counsellors": [c.as_dict() for c in team]}
