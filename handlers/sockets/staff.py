"""Staff namespaces: `/counsellor` and `/supervisor`. Connection rules here; features grow per issue."""

from __future__ import annotations

from bot.accounts import Identity
from handlers.sockets.base import BaseNamespace


class CounsellorNamespace(BaseNamespace):
    roles = ("counsellor",)

    async def connected(self, sid: str, identity: Identity) -> None:
        await self.enter_room(sid, "staff:queue")


class SupervisorNamespace(BaseNamespace):
    roles = ("supervisor",)

    async def connected(self, sid: str, identity: Identity) -> None:
        await self.enter_room(sid, "staff:queue")
