"""The partner API under /api/v1: hash-list sync, lookup, feedback, exports and its OpenAPI document.

Partners authenticate with `Authorization: Bearer <key>` and nothing else: the API never looks at
session cookies, and the rest of Haven never looks at API keys. Every response, errors included, has
the shape documented in OPENAPI below (tests check the two against each other).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from datetime import datetime, timezone
from typing import Any, AsyncIterator, Awaitable, Callable

from aiohttp import web

from bot.background import every
from bot.errors import HavenError, Invalid
from bot.hashlist import (
    EXPORT_COLUMNS,
    HASH_FIELDS,
    HashEntry,
    HashList,
    cell,
    check_hash,
    export_row,
    iso,
)
from bot.images.hashing import MEDIA, REGISTRY, VPDQ, HashKind, exact_kinds, lookup_kinds
from bot.images.matching import Bag, ListMatch, SeenBefore
from bot.partners import NOTE_MAX, PartnerInfo, Partners, check_note, check_verdict
from bot.pdqindex import MAX_RADIUS, LivePdqIndex
from handlers.common import client_address

log = logging.getLogger(__name__)

PREFIX = "/api/v1"
DEFAULT_LIMIT = 500
MAX_LIMIT = 1000
_CURSOR = re.compile(r"[0-9]{1,15}")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_NO_STORE = {"Cache-Control": "no-store"}
# Frames in one page of changes at most: a page stops early rather than carry thousands of videos' frames.
MAX_FRAMES_PER_PAGE = 20000
_VPDQ: VPDQ = REGISTRY["vpdq"]  # type: ignore[assignment]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


CHANGE_COLUMNS = ["change", "id", "status", "reason", "media", "category", *HASH_FIELDS, "pdq_quality",
                  "published_at", "removed_at"]


def entry_json(entry: HashEntry) -> dict[str, Any]:
    """An entry as partners see it: hashes and category while active, a bare tombstone after."""
    if not entry.active:
        return {"id": entry.id, "change": entry.change, "status": "tombstone", "reason": entry.withdraw_reason,
                "removed_at": iso(entry.withdrawn_at)}
    row = export_row(entry)
    return {"id": entry.id, "change": entry.change, "status": "active", **{k: v for k, v in row.items() if k != "id"}}


def _error(exc: HavenError) -> web.Response:
    headers = dict(_NO_STORE)
    retry = getattr(exc, "retry_after", None)
    if retry:
        headers["Retry-After"] = str(retry)
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="haven-api"'
    return web.json_response({"ok": False, "error": exc.as_dict()}, status=exc.status, headers=headers)


async def _body(request: web.Request, allowed: set[str]) -> dict[str, Any]:
    try:
        raw = await request.read()
        data = json.loads(raw) if raw else None
    except (ValueError, UnicodeDecodeError):
        raise Invalid("bad_json", "The request body must be JSON.")
    if not isinstance(data, dict):
        raise Invalid("bad_payload", "The request body must be a JSON object.")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise Invalid("unknown_field", f"Unknown field(s): {', '.join(unknown)[:200]}.")
    return data


def _query_cursor(request: web.Request) -> int:
    since = request.query.get("since", "0")
    if not _CURSOR.fullmatch(since):
        raise Invalid("bad_cursor", "'since' must be a cursor this API gave you (digits), or 0 to start.")
    # Change numbers are 32-bit; a larger cursor is simply past the end of the list.
    return min(int(since), 2**31 - 1)


def _query_limit(request: web.Request) -> int:
    raw = request.query.get("limit", str(DEFAULT_LIMIT))
    if not re.fullmatch(r"[0-9]{1,4}", raw) or not 1 <= int(raw) <= MAX_LIMIT:
        raise Invalid("bad_limit", f"'limit' must be a whole number from 1 to {MAX_LIMIT}.")
    return int(raw)


def _csv_line(values: list[Any]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(["" if value is None else cell(value) for value in values])
    return out.getvalue()


def _query_radius(data: dict[str, Any]) -> int:
    radius = data.get("max_distance", MAX_RADIUS)
    if isinstance(radius, float) and radius.is_integer():
        radius = int(radius)  # JSON Schema counts 3.0 as an integer, so we do too
    if isinstance(radius, bool) or not isinstance(radius, int) or not 0 <= radius <= MAX_RADIUS:
        raise Invalid("bad_max_distance", f"'max_distance' must be a whole number from 0 to {MAX_RADIUS}.")
    return radius


def _percent(data: dict[str, Any], name: str, default: float) -> float:
    value = data.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 100:
        raise Invalid("bad_percent", f"'{name}' must be a number from 0 to 100.")
    return float(value)


def match_json(item: ListMatch, framed: bool) -> dict[str, Any]:
    row = {**export_row(item.entry), "distance": item.seen.distance}
    if framed:
        row["video_match"] = {"query_percent": round(item.seen.query_percent, 1),
                              "listed_percent": round(item.seen.other_percent, 1),
                              "query_frames": list(item.seen.frames), "listed_frames": list(item.seen.other_frames),
                              "match": item.seen.match}
    return row


class ApiV1Handlers:
    def __init__(self, partners: Partners, hashlist: HashList, index: LivePdqIndex) -> None:
        self.partners = partners
        self.hashlist = hashlist
        self.index = index
        self.seen = SeenBefore(hashlist, index)

    def _authenticated(self, handler: Callable[[web.Request, PartnerInfo], Awaitable[web.StreamResponse]]) -> Handler:
        async def wrapper(request: web.Request) -> web.StreamResponse:
            try:
                partner = await self.partners.access_partner(request.headers.get("Authorization"),
                                                             address=client_address(request))
                return await handler(request, partner)
            except HavenError as exc:
                return _error(exc)

        return wrapper

    async def hashes(self, request: web.Request, partner: PartnerInfo) -> web.StreamResponse:
        since, limit = _query_cursor(request), _query_limit(request)
        fmt = request.query.get("format", "json")
        if fmt not in ("json", "csv"):
            raise Invalid("bad_format", "'format' must be json or csv.")
        page = await self.hashlist.get_changes(since, limit)
        entries, cursor, more, frames = [], page.cursor, page.more, 0
        for entry in page.entries:
            if entries and frames + len(entry.frames) > MAX_FRAMES_PER_PAGE:
                # The rest waits for the next page, from the last entry sent.
                cursor, more = entries[-1].change, True
                break
            entries.append(entry)
            frames += len(entry.frames)
        if fmt == "json":
            return web.json_response({"ok": True, "entries": [entry_json(e) for e in entries],
                                      "cursor": str(cursor), "more": more}, headers=_NO_STORE)
        lines = [_csv_line(CHANGE_COLUMNS)]
        for entry in entries:
            row = entry_json(entry)
            lines.append(_csv_line([row.get(column) for column in CHANGE_COLUMNS]))
        return web.Response(text="".join(lines), content_type="text/csv", charset="utf-8", headers={
            **_NO_STORE, "X-Haven-Cursor": str(cursor), "X-Haven-More": "true" if more else "false"})

    async def lookup(self, request: web.Request, partner: PartnerInfo) -> web.Response:
        fields = set(HASH_FIELDS)
        data = await _body(request, fields | {"max_distance", "min_query_percent", "min_listed_percent"})
        sent = [name for name in HASH_FIELDS if name in data]
        if len(sent) != 1:
            raise Invalid("one_hash", "Send exactly one of " + ", ".join(f"'{n}'" for n in HASH_FIELDS) + ".")
        name = sent[0]
        if name not in ("pdq", "frames") and set(data) & {"max_distance", "min_query_percent", "min_listed_percent"}:
            raise Invalid("bad_max_distance", "'max_distance' and the percentages only apply to 'pdq' and 'frames'.")
        if name == "pdq":
            if set(data) & {"min_query_percent", "min_listed_percent"}:
                raise Invalid("bad_percent", "The percentages only apply to 'frames'.")
            radius = _query_radius(data)
            found = await self.seen.get_list_matches(Bag((check_hash("pdq", data["pdq"]),)), radius)
            matches = [match_json(m, bool(m.seen.other_frames)) for m in found]
        elif name == "frames":
            try:
                frames = _VPDQ.check_frames(data["frames"])
            except ValueError as error:
                raise Invalid("bad_hash", str(error)) from None
            radius = _query_radius(data)
            judge = VPDQ(radius, _VPDQ.quality, _percent(data, "min_query_percent", _VPDQ.query_percent),
                         _percent(data, "min_listed_percent", _VPDQ.listed_percent))
            found = await SeenBefore(self.hashlist, self.index, judge).get_list_matches(Bag.of_frames(frames), radius)
            matches = [match_json(m, True) for m in found if m.seen.match]
        else:
            kind = next(k for k in exact_kinds() if k.name == name)
            value = check_hash(kind, data[name])
            matches = [{**export_row(entry), "distance": 0} for entry in await self.hashlist.get_by_hash(kind, value)]
        return web.json_response({"ok": True, "matches": matches}, headers=_NO_STORE)

    async def feedback(self, request: web.Request, partner: PartnerInfo) -> web.Response:
        data = await _body(request, {"id", "verdict", "note"})
        hash_id = data.get("id")
        if not isinstance(hash_id, str) or not _UUID.fullmatch(hash_id):
            raise Invalid("bad_hash_id", "'id' must be the id of a hash-list entry.")
        verdict = check_verdict(data.get("verdict"))
        note = check_note(data.get("note"))
        record = await self.partners.do_feedback(partner, hash_id, verdict, note)
        return web.json_response({"ok": True, "feedback": {
            "id": record.id, "hash_id": record.hash_id, "verdict": record.verdict, "note": record.note,
            "at": iso(record.at)}}, status=201, headers=_NO_STORE)

    async def _export(self, request: web.Request, fmt: str) -> web.StreamResponse:
        # Read the cursor first: anything changed while the export runs is also in the next pull.
        cursor = await self.hashlist.get_last_change()
        response = web.StreamResponse(headers={
            **_NO_STORE, "X-Haven-Cursor": str(cursor),
            "Content-Type": "text/csv; charset=utf-8" if fmt == "csv" else "application/json; charset=utf-8"})
        await response.prepare(request)
        if request.method == "HEAD":
            # Headers only: a body after a HEAD response would corrupt the keep-alive connection.
            await response.write_eof()
            return response
        if fmt == "csv":
            await response.write(_csv_line(EXPORT_COLUMNS).encode())
        else:
            head = {"ok": True, "cursor": str(cursor), "generated_at": iso(datetime.now(timezone.utc))}
            await response.write((json.dumps(head)[:-1] + ', "entries": [').encode())
        first = True
        async for entry in self.hashlist.iter_active():
            row = export_row(entry)
            if fmt == "csv":
                chunk = _csv_line([row[column] for column in EXPORT_COLUMNS])
            else:
                chunk = ("" if first else ", ") + json.dumps(row)
            first = False
            await response.write(chunk.encode())
        if fmt == "json":
            await response.write(b"]}")
        await response.write_eof()
        return response

    async def export_csv(self, request: web.Request, partner: PartnerInfo) -> web.StreamResponse:
        return await self._export(request, "csv")

    async def export_json(self, request: web.Request, partner: PartnerInfo) -> web.StreamResponse:
        return await self._export(request, "json")

    async def openapi(self, request: web.Request) -> web.Response:
        return web.json_response(OPENAPI, headers={"Cache-Control": "no-cache"})

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(f"{PREFIX}/hashes", self._authenticated(self.hashes))
        app.router.add_post(f"{PREFIX}/lookup", self._authenticated(self.lookup))
        app.router.add_post(f"{PREFIX}/feedback", self._authenticated(self.feedback))
        app.router.add_get(f"{PREFIX}/export.csv", self._authenticated(self.export_csv))
        app.router.add_get(f"{PREFIX}/export.json", self._authenticated(self.export_json))
        app.router.add_get(f"{PREFIX}/openapi.json", self.openapi)


def index_refresh_ctx(index: LivePdqIndex, interval: float = 5.0
                      ) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup_ctx: build the PDQ index in the background at start, then keep it fresh.

    Lookups refresh on read as well, so this only keeps that step short; it must come after the
    database's own cleanup_ctx.
    """

    built = False

    async def keep_fresh() -> None:
        nonlocal built
        if built:
            await index.refresh()
        else:
            await index.rebuild()
            built = True

    return every("PDQ index refresh", interval, keep_fresh)


# --- The OpenAPI document -------------------------------------------------------------------------

def _hex(kind: HashKind) -> dict[str, Any]:
    return {"type": "string", "pattern": kind.pattern(), "description": kind.describe()}


def _lower_hex(kind: HashKind, nullable: bool = False) -> dict[str, Any]:
    return {"type": ["string", "null"] if nullable else "string", "pattern": kind.pattern(lower_only=True)}


_FRAME = {"type": "object", "additionalProperties": False, "required": ["timestamp", "pdq", "quality"],
          "properties": {"timestamp": {"type": "number", "minimum": 0, "description": "Seconds from the start."},
                         "pdq": _lower_hex(REGISTRY["pdq"]),
                         "quality": {"type": "integer", "minimum": 0, "maximum": 100}}}


def _hash_properties() -> dict[str, Any]:
    """The hash fields of an entry, one per exchanged kind in the registry."""
    out: dict[str, Any] = {}
    for kind in lookup_kinds():
        if isinstance(kind, VPDQ):
            out["frames"] = {"type": "array", "items": _FRAME,
                             "description": "vPDQ: a video's (or animated picture's) sampled frames; empty for "
                                            "a still picture."}
        else:
            out[kind.name] = {**_lower_hex(kind, nullable=kind.media != frozenset(MEDIA)),
                              "description": kind.describe() + ("" if kind.media == frozenset(MEDIA) else
                                                                f"; null unless media is {', '.join(kind.media)}")}
    return out


def _lookup_requests() -> list[dict[str, Any]]:
    """One request shape per exchanged kind in the registry."""
    radius = {"max_distance": {"type": "integer", "minimum": 0, "maximum": MAX_RADIUS, "default": MAX_RADIUS}}
    shapes = []
    for kind in lookup_kinds():
        if isinstance(kind, VPDQ):
            frame = {**_FRAME, "required": ["pdq"],
                     "properties": {**_FRAME["properties"], "pdq": _hex(REGISTRY["pdq"])}}
            shapes.append({"type": "object", "additionalProperties": False, "required": ["frames"], "properties": {
                "frames": {"type": "array", "minItems": 1, "maxItems": VPDQ.MAX_FRAMES, "items": frame},
                **radius,
                "min_query_percent": {"type": "number", "minimum": 0, "maximum": 100,
                                      "default": VPDQ.DEFAULT_QUERY_PERCENT},
                "min_listed_percent": {"type": "number", "minimum": 0, "maximum": 100,
                                       "default": VPDQ.DEFAULT_LISTED_PERCENT}}})
        elif kind.threshold is not None:
            shapes.append({"type": "object", "additionalProperties": False, "required": [kind.name],
                           "properties": {kind.name: _hex(kind), **radius}})
        else:
            shapes.append({"type": "object", "additionalProperties": False, "required": [kind.name],
                           "properties": {kind.name: _hex(kind)}})
    return shapes


_ROW_REQUIRED = ["id", "media", "category", *HASH_FIELDS, "pdq_quality", "published_at"]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _error_response(description: str, retry: bool = False, auth: bool = False) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description,
                                "content": {"application/json": {"schema": _ref("Error")}}}
    headers: dict[str, Any] = {}
    if retry:
        headers["Retry-After"] = {"description": "Seconds until the next request is allowed.",
                                  "schema": {"type": "string", "pattern": "^[0-9]+$"}}
    if auth:
        headers["WWW-Authenticate"] = {"schema": {"type": "string"}}
    if headers:
        response["headers"] = headers
    return response


_COMMON_ERRORS = {
    "401": _error_response("Missing, unknown or revoked API key (codes api_key_missing, api_key_invalid, "
                           "api_key_revoked).", auth=True),
    "429": _error_response("Over this key's requests per minute (code rate_limited), or too many requests with a "
                           "missing or wrong key from this address (code too_many_bad_keys).", retry=True),
}
_TIME = {"type": "string", "format": "date-time"}
_CURSOR_HEADERS = {
    "X-Haven-Cursor": {"description": "Cursor to send as 'since' next time.",
                       "schema": {"type": "string", "pattern": "^[0-9]+$"}},
}

OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "Haven hash list API",
        "version": "1.1.0",
        "description": (
            "Hashes (" + ", ".join(k.label for k in lookup_kinds()) + ") of images and videos an analyst "
            "confirmed, for partner platforms to find and remove copies. A video's entry carries its file hashes "
            "and its frames in vPDQ's form (timestamp, PDQ, quality per sampled frame). Pull `/hashes` with the cursor from your last pull to stay exactly in "
            "sync: each change arrives once, in order; a tombstone means delete that id. Every error is "
            "`{\"ok\": false, \"error\": {\"code\", \"message\"}}`."),
    },
    "servers": [{"url": "/"}],
    "security": [{"apiKey": []}],
    "paths": {
        f"{PREFIX}/hashes": {"get": {
            "operationId": "getHashes",
            "summary": "Changes to the hash list after a cursor, oldest first, in pages.",
            "parameters": [
                {"name": "since", "in": "query", "required": False,
                 "description": "The cursor from your last page; 0 (default) for everything.",
                 "schema": {"type": "string", "pattern": "^[0-9]{1,15}$", "default": "0"}},
                {"name": "limit", "in": "query", "required": False,
                 "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}},
                {"name": "format", "in": "query", "required": False,
                 "schema": {"type": "string", "enum": ["json", "csv"], "default": "json"}},
            ],
            "responses": {
                "200": {"description": "A page of changes. In CSV the cursor and `more` come as headers.",
                        "headers": {**_CURSOR_HEADERS,
                                    "X-Haven-More": {"description": "CSV only: true if another page is waiting.",
                                                     "schema": {"type": "string", "enum": ["true", "false"]}}},
                        "content": {"application/json": {"schema": _ref("HashPage")},
                                    "text/csv": {"schema": {"type": "string"}}}},
                "400": _error_response("Bad cursor, limit or format (codes bad_cursor, bad_limit, bad_format)."),
                **_COMMON_ERRORS,
            }}},
        f"{PREFIX}/lookup": {"post": {
            "operationId": "lookup",
            "summary": "Is this on the list? A PDQ within a distance (31 by default, also against every listed "
                       "video frame), a video's frames as vPDQ matches them, other hashes exactly.",
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("LookupRequest")}}},
            "responses": {
                "200": {"description": "Matching active entries, nearest first.",
                        "content": {"application/json": {"schema": _ref("LookupResult")}}},
                "400": _error_response("Bad body (codes bad_json, bad_payload, unknown_field, one_hash, bad_hash, "
                                       "bad_max_distance, bad_percent)."),
                **_COMMON_ERRORS,
            }}},
        f"{PREFIX}/feedback": {"post": {
            "operationId": "giveFeedback",
            "summary": "Tell Haven what you did about one entry: removed copies, found none, or dispute it.",
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("FeedbackRequest")}}},
            "responses": {
                "201": {"description": "Stored; analysts see it.",
                        "content": {"application/json": {"schema": _ref("FeedbackResult")}}},
                "400": _error_response("Bad body (codes bad_json, bad_payload, unknown_field, bad_hash_id, "
                                       "bad_verdict, bad_note, note_too_long)."),
                "404": _error_response("No entry with that id (code unknown_hash)."),
                **_COMMON_ERRORS,
            }}},
        f"{PREFIX}/export.csv": {"get": {
            "operationId": "exportCsv",
            "summary": "Every active entry as CSV (then pull /hashes from the X-Haven-Cursor header).",
            "responses": {
                "200": {"description": f"Columns: {', '.join(EXPORT_COLUMNS)}.", "headers": _CURSOR_HEADERS,
                        "content": {"text/csv": {"schema": {"type": "string"}}}},
                **_COMMON_ERRORS,
            }}},
        f"{PREFIX}/export.json": {"get": {
            "operationId": "exportJson",
            "summary": "Every active entry as JSON (then pull /hashes from `cursor`).",
            "responses": {
                "200": {"description": "The whole active list.", "headers": _CURSOR_HEADERS,
                        "content": {"application/json": {"schema": _ref("Export")}}},
                **_COMMON_ERRORS,
            }}},
        f"{PREFIX}/openapi.json": {"get": {
            "operationId": "openapi",
            "summary": "This document.",
            "security": [],
            "responses": {"200": {"description": "OpenAPI 3.1",
                                  "content": {"application/json": {"schema": {"type": "object"}}}}}}},
    },
    "components": {
        "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer",
                                       "description": "The key printed once by `python run.py create-partner`."}},
        "schemas": {
            "Error": {"type": "object", "additionalProperties": False, "required": ["ok", "error"],
                      "properties": {"ok": {"const": False},
                                     "error": {"type": "object", "additionalProperties": False,
                                               "required": ["code", "message"],
                                               "properties": {"code": {"type": "string"},
                                                              "message": {"type": "string"}}}}},
            "ActiveEntry": {
                "type": "object", "additionalProperties": False,
                "required": ["change", "status", *_ROW_REQUIRED],
                "properties": {
                    "id": {"type": "string", "format": "uuid", "description": "Stable id of the entry."},
                    "change": {"type": "integer", "minimum": 1},
                    "status": {"const": "active"},
                    "media": {"type": "string", "enum": list(MEDIA)},
                    "category": {"type": "string", "enum": ["A", "B", "C"]},
                    **_hash_properties(),
                    "pdq_quality": {"type": ["integer", "null"], "minimum": 0, "maximum": 100},
                    "published_at": _TIME}},
            "Tombstone": {
                "type": "object", "additionalProperties": False,
                "required": ["id", "change", "status", "reason", "removed_at"],
                "properties": {
                    "id": {"type": "string", "format": "uuid"},
                    "change": {"type": "integer", "minimum": 1},
                    "status": {"const": "tombstone"},
                    "reason": {"type": "string", "enum": ["withdrawn", "removed"]},
                    "removed_at": _TIME}},
            "HashPage": {
                "type": "object", "additionalProperties": False, "required": ["ok", "entries", "cursor", "more"],
                "properties": {
                    "ok": {"const": True},
                    "entries": {"type": "array", "items": {"oneOf": [_ref("ActiveEntry"), _ref("Tombstone")]}},
                    "cursor": {"type": "string", "pattern": "^[0-9]+$"},
                    "more": {"type": "boolean"}}},
            "LookupRequest": {"oneOf": _lookup_requests()},
            "ExportRow": {
                "type": "object", "additionalProperties": False, "required": _ROW_REQUIRED,
                "properties": {
                    "id": {"type": "string", "format": "uuid"},
                    "media": {"type": "string", "enum": list(MEDIA)},
                    "category": {"type": "string", "enum": ["A", "B", "C"]},
                    **_hash_properties(),
                    "pdq_quality": {"type": ["integer", "null"], "minimum": 0, "maximum": 100},
                    "published_at": _TIME}},
            "Match": {
                "type": "object", "additionalProperties": False, "required": [*_ROW_REQUIRED, "distance"],
                "properties": {
                    "id": {"type": "string", "format": "uuid"},
                    "media": {"type": "string", "enum": list(MEDIA)},
                    "category": {"type": "string", "enum": ["A", "B", "C"]},
                    **_hash_properties(),
                    "pdq_quality": {"type": ["integer", "null"], "minimum": 0, "maximum": 100},
                    "published_at": _TIME,
                    "distance": {"type": "integer", "minimum": 0, "maximum": MAX_RADIUS,
                                 "description": "Bits that differ (PDQ; for frames the nearest pair); 0 for an "
                                                "exact file hash."},
                    "video_match": {
                        "type": "object", "additionalProperties": False,
                        "required": ["query_percent", "listed_percent", "query_frames", "listed_frames", "match"],
                        "description": "Where frames were compared (vPDQ): the share of the query's frames and of "
                                       "the listed entry's frames that match, the timestamps (seconds) that match "
                                       "on each side, and whether both shares meet the thresholds.",
                        "properties": {"query_percent": {"type": "number", "minimum": 0, "maximum": 100},
                                       "listed_percent": {"type": "number", "minimum": 0, "maximum": 100},
                                       "query_frames": {"type": "array", "items": {"type": "number"}},
                                       "listed_frames": {"type": "array", "items": {"type": "number"}},
                                       "match": {"type": "boolean"}}}}},
            "LookupResult": {"type": "object", "additionalProperties": False, "required": ["ok", "matches"],
                             "properties": {"ok": {"const": True},
                                            "matches": {"type": "array", "items": _ref("Match")}}},
            "FeedbackRequest": {
                "type": "object", "additionalProperties": False, "required": ["id", "verdict"],
                "properties": {
                    "id": {"type": "string", "format": "uuid",
                           "pattern": "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"},
                    "verdict": {"type": "string", "enum": ["removed", "not_found", "disputed"]},
                    "note": {"type": ["string", "null"], "maxLength": NOTE_MAX}}},
            "FeedbackResult": {
                "type": "object", "additionalProperties": False, "required": ["ok", "feedback"],
                "properties": {
                    "ok": {"const": True},
                    "feedback": {"type": "object", "additionalProperties": False,
                                 "required": ["id", "hash_id", "verdict", "note", "at"],
                                 "properties": {"id": {"type": "integer"}, "hash_id": {"type": "string"},
                                                "verdict": {"type": "string",
                                                            "enum": ["removed", "not_found", "disputed"]},
                                                "note": {"type": ["string", "null"]}, "at": _TIME}}}},
            "Export": {"type": "object", "additionalProperties": False,
                       "required": ["ok", "cursor", "generated_at", "entries"],
                       "properties": {"ok": {"const": True}, "cursor": {"type": "string", "pattern": "^[0-9]+$"},
                                      "generated_at": _TIME,
                                      "entries": {"type": "array", "items": _ref("ExportRow")}}},
        },
    },
}
