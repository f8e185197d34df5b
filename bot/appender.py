"""Group commit for the busiest write: a child's text arriving in a chat with a counsellor.

Each message must be stored before anyone is told about it. Written one transaction at a
time, the messages of a few hundred live chats queue behind each other: on SQLite every
transaction holds the one write lock across five round trips to the database thread, and
each round trip waits its turn on a busy event loop. Here the messages that arrive while a
transaction is being written wait for the next one, which stores all of them with a fixed
number of round trips: read their conversations, look for resent client ids, insert the
messages, move the conversations on, commit. Callers get their result only after that
commit, so "acknowledged" still means "stored".

Only the plain case is taken: text from the conversation's own child, in a state where the
bot does not answer (a counsellor is talking). Anything else (a closed chat, a dialog step,
a conversation that is not this child's) comes back as NOT_HERE, and the caller runs its
full path, which gives the proper answer or error.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from bot.db import Database
from bot.events import MessageView
from bot.models.base import utcnow
from bot.models.chat import Conversation, Message
from bot.risk import Reading, advance, resume

log = logging.getLogger(__name__)

_CONVERSATIONS = Conversation.__table__
_MESSAGES = Message.__table__


class Outcome(Enum):
    STORED = "stored"
    DUPLICATE = "duplicate"  # the client id was stored before; `seq` is the first copy's
    NOT_HERE = "not_here"  # not the plain case: the caller takes its full path


@dataclass(frozen=True)
class Appended:
    outcome: Outcome
    seq: int = 0
    view: MessageView | None = None
    # The message raised the conversation's risk score (staff are told), and the score it has now.
    risk_raised: bool = False
    risk_score: int = 0


@dataclass
class _Request:
    conversation_id: int
    child_id: int
    text: str
    client_id: str
    # The message read by triage before the write (the costly part stays outside the transaction).
    reading: Reading
    quiet_states: Collection[str]
    done: asyncio.Future[Appended] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


@dataclass
class _Conv:
    child_id: int
    state: str
    closed: bool
    last_seq: int
    risk_score: int
    risk_state: dict[str, object] | None
    changed: bool = False


class MessageAppender:
    """Stores children's chat messages in shared transactions; one drain task runs while any wait."""

    def __init__(self, db: Database, *, max_batch: int = 256) -> None:
        self.db = db
        self.max_batch = max_batch
        self._waiting: list[_Request] = []
        self._drain: asyncio.Task[None] | None = None
        # Figures for tests and benchmarks: transactions written and messages they carried.
        self.batches = 0
        self.appended = 0

    async def append_child_text(self, conversation_id: int, child_id: int, text: str, client_id: str,
                                reading: Reading, quiet_states: Collection[str]) -> Appended:
        request = _Request(conversation_id, child_id, text, client_id, reading, quiet_states)
        self._waiting.append(request)
        if self._drain is None or self._drain.done():
            self._drain = asyncio.create_task(self._drain_all(), name="message-appender")
        # shield: a caller that gives up (its socket closed) must not cancel the shared write.
        return await asyncio.shield(request.done)

    async def _drain_all(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[: self.max_batch], self._waiting[self.max_batch :]
            try:
                results = await self._write(batch)
            except (IntegrityError, DBAPIError) as error:
                # A conflict this batch did not foresee (another process, a lock timeout): nothing of it was
                # stored, so every caller takes its full path, which copes with such conflicts one by one.
                log.warning("batched append failed (%s); %d messages take the full path", type(error).__name__,
                            len(batch))
                results = [Appended(Outcome.NOT_HERE)] * len(batch)
            except BaseException as error:
                for request in batch:
                    if not request.done.done():
                        request.done.set_exception(error if isinstance(error, Exception) else
                                                   RuntimeError("message appender stopped"))
                for request in self._waiting:
                    if not request.done.done():
                        request.done.set_exception(RuntimeError("message appender stopped"))
                self._waiting = []
                raise
            for request, result in zip(batch, results):
                if not request.done.done():
                    request.done.set_result(result)

    async def _write(self, batch: list[_Request]) -> list[Appended]:
        now = utcnow()
        ids = sorted({r.conversation_id for r in batch})
        async with self.db.write() as session:
            query = (select(_CONVERSATIONS.c.id, _CONVERSATIONS.c.child_id, _CONVERSATIONS.c.state,
                            _CONVERSATIONS.c.closed_at, _CONVERSATIONS.c.last_seq, _CONVERSATIONS.c.risk_score,
                            _CONVERSATIONS.c.risk_state)
                     .where(_CONVERSATIONS.c.id.in_(ids)).order_by(_CONVERSATIONS.c.id))
            if not self.db.sqlite:
                # The same row locks the full path takes, in id order so two processes never deadlock.
                query = query.with_for_update()
            convs = {row.id: _Conv(row.child_id, row.state, row.closed_at is not None, row.last_seq, row.risk_score,
                                 row.risk_state)
                     for row in (await session.execute(query))}
            stored_before = {
                (row.conversation_id, row.client_id): row.seq
                for row in await session.execute(
                    select(_MESSAGES.c.conversation_id, _MESSAGES.c.client_id, _MESSAGES.c.seq).where(
                        _MESSAGES.c.conversation_id.in_(ids),
                        _MESSAGES.c.client_id.in_({r.client_id for r in batch})))
            }
            results: list[Appended] = []
            rows: list[dict[str, object]] = []
            for request in batch:
                results.append(self._place(request, convs.get(request.conversation_id), stored_before, rows, now))
            if rows:
                await session.execute(insert(_MESSAGES), rows)
                await session.execute(
                    update(_CONVERSATIONS)
                    .where(_CONVERSATIONS.c.id == bindparam("conv_id"))
                    .values(last_seq=bindparam("new_last_seq"), risk_score=bindparam("new_risk_score"),
                            risk_state=bindparam("new_risk_state"),
                            updated_at=bindparam("now"), version=_CONVERSATIONS.c.version + 1),
                    [{"conv_id": conv_id, "new_last_seq": conv.last_seq, "new_risk_score": conv.risk_score,
                      "new_risk_state": conv.risk_state,
                      "now": now} for conv_id, conv in convs.items() if conv.changed])
        self.batches += 1
        self.appended += len(rows)
        return results

    @staticmethod
    def _place(request: _Request, conv: _Conv | None, stored_before: dict[tuple[int, str], int],
               rows: list[dict[str, object]], now: datetime) -> Appended:
        if (conv is None or conv.child_id != request.child_id or conv.closed
                or conv.state not in request.quiet_states):
            return Appended(Outcome.NOT_HERE)
        key = (request.conversation_id, request.client_id)
        if key in stored_before:
            return Appended(Outcome.DUPLICATE, seq=stored_before[key])
        conv.last_seq += 1
        conv.changed = True
        seq = conv.last_seq
        stored_before[key] = seq  # a resend inside the same batch is a duplicate of this one
        # Risk builds over the conversation: the new message is scored against the state so far.
        state, risk = advance(resume(conv.risk_state, conv.risk_score), request.reading, index=seq)
        conv.risk_state = state.as_json()
        raised = risk.score > conv.risk_score
        if raised:
            conv.risk_score = risk.score
        rows.append({"conversation_id": request.conversation_id, "seq": seq, "sender": "child",
                     "sender_id": request.child_id, "visibility": "all", "kind": "text", "text": request.text,
                     "meta": {}, "client_id": request.client_id, "risk_score": request.reading.score,
                     "created_at": now})
        view = MessageView(conversation_id=request.conversation_id, seq=seq, sender="child", sender_name="You",
                           text=request.text, at=now, client_id=request.client_id, risk_score=request.reading.score)
        return Appended(Outcome.STORED, seq=seq, view=view, risk_raised=raised, risk_score=conv.risk_score)
