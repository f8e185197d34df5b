"""The partner API: keys and their limits, sync, lookup, feedback, exports, and the OpenAPI document."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
import os
import random
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest
import socketio

from bot.accounts import Accounts, Passwords
from bot.audit import Actor, AuditLog
from bot.db import Database, make_engine
from bot.errors import TooMany, Unauthorized
from bot.hashlist import HashList, ImageHashes
from bot.partners import Partners
from bot.pdqindex import words_to_hex
from handlers.api_v1 import OPENAPI
from tests.harness import audit_keyed

ROOT = Path(__file__).resolve().parents[2]
ANALYST = Actor(3, "analyst")


# --- a small JSON Schema checker for the subset OPENAPI uses ---------------------------------------

def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = OPENAPI["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def schema_errors(value: Any, schema: dict[str, Any], at: str = "$") -> list[str]:
    schema = _resolve(schema)
    errors: list[str] = []
    if "oneOf" in schema:
        passing = [s for s in schema["oneOf"] if not schema_errors(value, s, at)]
        return [] if len(passing) == 1 else [f"{at}: matches {len(passing)} of oneOf"]
    types = schema.get("type")
    if types is not None:
        names = types if isinstance(types, list) else [types]
        kinds = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None),
                 "number": (int, float)}
        ok = any((name == "integer" and isinstance(value, int) and not isinstance(value, bool))
                 or (name != "integer" and isinstance(value, kinds[name])
                     and not (name != "boolean" and isinstance(value, bool)))
                 for name in names)
        if not ok:
            return [f"{at}: {value!r} is not {types}"]
    if "const" in schema and value != schema["const"]:
        errors.append(f"{at}: {value!r} != {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{at}: {value!r} not in {schema['enum']}")
    if isinstance(value, str):
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append(f"{at}: {value!r} does not match {schema['pattern']}")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errors.append(f"{at}: too long")
        if schema.get("format") == "date-time":
            datetime.fromisoformat(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{at}: {value} < {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{at}: {value} > {schema['maximum']}")
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                errors.append(f"{at}: missing {key}")
        props = schema.get("properties", {})
        for key, item in value.items():
            if key in props:
                errors.extend(schema_errors(item, props[key], f"{at}.{key}"))
            elif schema.get("additionalProperties") is False:
                errors.append(f"{at}: unexpected {key}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            errors.extend(schema_errors(item, schema["items"], f"{at}[{i}]"))
    return errors


def assert_documented(path: str, method: str, status: int, body: Any, content_type: str = "application/json") -> None:
    operation = OPENAPI["paths"][path][method]
    assert str(status) in operation["responses"], f"{method} {path} -> {status} is not documented"
    content = operation["responses"][str(status)]["content"]
    assert content_type in content, f"{method} {path} -> {status} {content_type} is not documented"
    if content_type == "application/json":
        problems = schema_errors(body, content[content_type]["schema"])
        assert problems == [], problems


# --- helpers ------------------------------------------------------------------------------------

def image_hashes(n: int, pdq: str | None = None) -> ImageHashes:
    seed = str(n).encode()
    return ImageHashes(hashlib.md5(seed).hexdigest(), hashlib.sha1(seed).hexdigest(),
                       hashlib.sha256(seed).hexdigest(), pdq or hashlib.sha256(b"pdq" + seed).hexdigest(), 80)


def near(pdq: str, bits: int) -> str:
    words = np.frombuffer(bytes.fromhex(pdq), dtype=np.uint8).copy()
    as_bits = np.unpackbits(words)
    as_bits[:bits] ^= 1
    return np.packbits(as_bits).tobytes().hex()


class Api:
    """A partner's HTTP client: records every JSON reply and checks it against the document."""

    def __init__(self, base: str, key: str | None) -> None:
        self.base = base.rstrip("/")
        self.headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.http = aiohttp.ClientSession()

    async def call(self, method: str, path: str, body: Any = None, raw: bytes | None = None,
                   headers: dict[str, str] | None = None, **params: Any) -> tuple[int, Any, Any]:
        kwargs: dict[str, Any] = {"headers": {**self.headers, **(headers or {})}, "params": params}
        if raw is not None:
            kwargs["data"] = raw
        elif body is not None:
            kwargs["json"] = body
        async with self.http.request(method, self.base + "/api/v1" + path, **kwargs) as r:
            assert r.status < 500
            assert r.headers.get("Cache-Control") in ("no-store", "no-cache")
            kind = r.content_type
            data = await r.json() if kind == "application/json" else await r.text()
            assert_documented("/api/v1" + path, method.lower(), r.status, data, kind)
            return r.status, data, r.headers

    async def close(self) -> None:
        await self.http.close()


@pytest.fixture
async def site(server, database_url):  # type: ignore[no-untyped-def]
    """A running server on SQLite or PostgreSQL, its database, and one partner's key."""
    base = await server(database_url=database_url, partner_requests_per_minute=10_000)
    db = Database(make_engine(database_url))
    made = await Partners(db).do_create("Acme Video")
    clients: list[Api] = []

    def api(key: str | None = made.key) -> Api:
        client = Api(base, key)
        clients.append(client)
        return client

    yield base, db, made.key, api
    for client in clients:
        await client.close()
    await db.dispose()


# --- keys ---------------------------------------------------------------------------------------

async def test_missing_wrong_and_revoked_keys_get_401(site) -> None:
    base, db, key, api = site
    status, data, headers = await api(None).call("GET", "/hashes")
    assert (status, data["error"]["code"]) == (401, "api_key_missing")
    assert headers["WWW-Authenticate"].startswith("Bearer")
    for bad in ("not-a-key", key[:-1] + ("A" if key[-1] != "A" else "B"), "hvn_00000000_" + "x" * 43):
        status, data, _ = await api(bad).call("GET", "/hashes")
        assert (status, data["error"]["code"]) == (401, "api_key_invalid")
    status, data, _ = await api(None).call("GET", "/hashes", headers={"Authorization": f"Basic {key}"})
    assert (status, data["error"]["code"]) == (401, "api_key_missing")
    assert (await api().call("GET", "/hashes"))[0] == 200
    await Partners(db).do_revoke("Acme Video")
    status, data, _ = await api().call("GET", "/hashes")
    assert (status, data["error"]["code"]) == (401, "api_key_revoked")
    actions = [e.action for e in await AuditLog(db).get_entries()]
    assert actions == ["partner_create", "partner_revoke"]


async def test_a_partner_key_reaches_nothing_outside_the_api(site) -> None:
    base, db, key, api = site
    auth = {"Authorization": f"Bearer {key}"}
    async with aiohttp.ClientSession(headers=auth) as http:
        async with http.get(base + "auth/me") as r:
            assert (await r.json())["user"] is None
        for page in ("console", "review", "supervisor"):
            async with http.get(base + page, allow_redirects=False) as r:
                assert r.status == 303 and "/staff/login" in r.headers["Location"]
        async with http.post(base + "auth/logout", headers={"Origin": base.rstrip("/")}) as r:
            assert r.status == 403  # no session and no CSRF token: the key is just ignored
    for namespace in ("/chat", "/counsellor", "/supervisor"):
        client = socketio.AsyncClient(reconnection=False)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.connect(base, namespaces=[namespace], transports=["websocket"], wait_timeout=5,
                                 headers={**auth, "Origin": base.rstrip("/")})
        await client.disconnect()


async def test_a_signed_in_session_does_not_open_the_api(site, people) -> None:
    base, db, key, api = site
    await Accounts(db, Passwords()).do_create_user("ana", "a long password", "analyst")
    analyst = await people.staff(base, "ana", "a long password", "analyst")
    async with analyst.http.get(base + "api/v1/hashes") as r:
        assert r.status == 401 and (await r.json())["error"]["code"] == "api_key_missing"
    child = await people.child(base)
    async with child.http.get(base + "api/v1/export.json") as r:
        assert r.status == 401


async def test_rate_limit_answers_429_with_retry_after(server, database_url) -> None:
    base = await server(database_url=database_url, partner_requests_per_minute=3)
    db = Database(make_engine(database_url))
    made = await Partners(db).do_create("Small Co")
    api = Api(base, made.key)
    try:
        # A minute boundary can reset the count once, so the 429 comes within 2 x 3 + 1 requests.
        for _ in range(7):
            status, data, headers = await api.call("GET", "/hashes")
            if status == 429:
                break
        assert status == 429 and data["error"]["code"] == "rate_limited"
        assert 1 <= int(headers["Retry-After"]) <= 60
    finally:
        await api.close()
        await db.dispose()


async def test_rate_limit_window_is_shared_and_resets_each_minute(db) -> None:
    first, second = Partners(db, requests_per_minute=2), Partners(db, requests_per_minute=2)
    made = await first.do_create("Shared")
    start = datetime(2026, 11, 25, 10, 0, 10, tzinfo=timezone.utc)
    header = f"Bearer {made.key}"
    await first.access_partner(header, start)
    await second.access_partner(header, start + timedelta(seconds=5))  # another process, same window
    with pytest.raises(TooMany) as over:
        await first.access_partner(header, start + timedelta(seconds=20))
    assert over.value.retry_after == 30
    assert (await second.access_partner(header, start + timedelta(seconds=50))).name == "Shared"
    with pytest.raises(Unauthorized):
        await first.access_partner("Bearer hvn_" + made.partner.key_prefix + "_" + "A" * 43, start)


# --- sync, lookup, feedback, exports --------------------------------------------------------------

async def test_pulling_pages_with_the_cursor_stays_in_sync(site) -> None:
    base, db, key, api = site
    hashlist, client = HashList(db), api()
    for image in range(1, 6):
        await hashlist.do_publish(ANALYST, image, "ABC"[image % 3], image_hashes(image))
    held: dict[str, dict[str, Any]] = {}
    cursor = "0"

    async def pull() -> None:
        nonlocal cursor
        while True:
            status, data, _ = await client.call("GET", "/hashes", since=cursor, limit=2)
            assert status == 200
            for entry in data["entries"]:
                if entry["status"] == "active":
                    held[entry["id"]] = entry
                else:
                    held.pop(entry["id"], None)
            cursor = data["cursor"]
            if not data["more"]:
                return

    await pull()
    assert len(held) == 5 and cursor == "5"
    await hashlist.do_withdraw(ANALYST, 2)
    await hashlist.do_publish(ANALYST, 6, "A", image_hashes(6))
    await pull()
    active = {e.id for e in [e async for e in hashlist.iter_active()]}
    assert set(held) == active and len(active) == 5
    status, data, _ = await client.call("GET", "/hashes", since=cursor)
    assert (status, data["entries"], data["cursor"], data["more"]) == (200, [], cursor, False)

    status, text, headers = await client.call("GET", "/hashes", since="5", format="csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["change"], r["status"]) for r in rows] == [("6", "tombstone"), ("7", "active")]
    assert rows[0]["md5"] == "" and rows[1]["md5"] == image_hashes(6).md5
    assert (headers["X-Haven-Cursor"], headers["X-Haven-More"]) == ("7", "false")

    for params, code in [({"since": "-1"}, "bad_cursor"), ({"since": "abc"}, "bad_cursor"),
                         ({"limit": "0"}, "bad_limit"), ({"limit": "5000"}, "bad_limit"),
                         ({"format": "xml"}, "bad_format")]:
        status, data, _ = await client.call("GET", "/hashes", **params)
        assert (status, data["error"]["code"]) == (400, code)


async def test_lookup_exact_and_pdq_within_31_with_distances(site) -> None:
    base, db, key, api = site
    hashlist, client = HashList(db), api()
    pdq = hashlib.sha256(b"one").hexdigest()
    kept = await hashlist.do_publish(ANALYST, 1, "A", image_hashes(1, pdq))
    await hashlist.do_publish(ANALYST, 2, "B", image_hashes(2, near(pdq, 20)))
    await hashlist.do_publish(ANALYST, 3, "C", image_hashes(3, near(pdq, 40)))

    for kind in ("md5", "sha1", "sha256"):
        value = getattr(image_hashes(1), kind)
        status, data, _ = await client.call("POST", "/lookup", {kind: value.upper()})
        assert status == 200 and [(m["id"], m["distance"]) for m in data["matches"]] == [(kept.id, 0)]
    status, data, _ = await client.call("POST", "/lookup", {"md5": "0" * 32})
    assert (status, data["matches"]) == (200, [])

    status, data, _ = await client.call("POST", "/lookup", {"pdq": near(pdq, 5)})
    assert [(m["category"], m["distance"]) for m in data["matches"]] == [("A", 5), ("B", 15)]
    status, data, _ = await client.call("POST", "/lookup", {"pdq": near(pdq, 5), "max_distance": 10})
    assert [(m["category"], m["distance"]) for m in data["matches"]] == [("A", 5)]
    # Published after the server built its index: found at once (refresh on read).
    late = hashlib.sha256(b"late").hexdigest()
    await hashlist.do_publish(ANALYST, 4, "B", image_hashes(4, late))
    status, data, _ = await client.call("POST", "/lookup", {"pdq": near(late, 31)})
    assert [(m["category"], m["distance"]) for m in data["matches"]] == [("B", 31)]
    await hashlist.do_withdraw(ANALYST, 4)
    status, data, _ = await client.call("POST", "/lookup", {"pdq": late})
    assert data["matches"] == []

    bad = [({"pdq": pdq, "md5": "0" * 32}, "one_hash"), ({}, "one_hash"), ({"pdq": "xyz"}, "bad_hash"),
           ({"pdq": pdq, "max_distance": 32}, "bad_max_distance"), ({"md5": "0" * 32, "max_distance": 3},
                                                                    "bad_max_distance"),
           ({"pdq": pdq, "colour": "red"}, "unknown_field"), ([pdq], "bad_payload")]
    for body, code in bad:
        status, data, _ = await client.call("POST", "/lookup", body)
        assert (status, data["error"]["code"]) == (400, code), body
    status, data, _ = await client.call("POST", "/lookup", raw=b"{not json")
    assert (status, data["error"]["code"]) == (400, "bad_json")


async def test_feedback_is_stored_for_analysts(site) -> None:
    base, db, key, api = site
    client = api()
    entry = await HashList(db).do_publish(ANALYST, 1, "A", image_hashes(1))
    status, data, _ = await client.call("POST", "/feedback", {"id": entry.id, "verdict": "removed", "note": "3 copies"})
    assert status == 201 and data["feedback"]["verdict"] == "removed"
    await client.call("POST", "/feedback", {"id": entry.id, "verdict": "disputed"})
    stored = await Partners(db).get_feedback(entry.id)
    assert [(f.partner, f.verdict, f.note) for f in stored] == [("Acme Video", "removed", "3 copies"),
                                                                ("Acme Video", "disputed", None)]
    for body, status_code, code in [
            ({"id": "00000000-0000-4000-8000-000000000000", "verdict": "removed"}, 404, "unknown_hash"),
            ({"id": entry.id, "verdict": "deleted"}, 400, "bad_verdict"),
            ({"id": entry.id, "verdict": "removed", "note": "x" * 1001}, 400, "note_too_long"),
            ({"id": 5, "verdict": "removed"}, 400, "bad_hash_id")]:
        status, data, _ = await client.call("POST", "/feedback", body)
        assert (status, data["error"]["code"]) == (status_code, code)
    assert len(await Partners(db).get_feedback(entry.id)) == 2


async def test_csv_and_json_exports_hold_the_active_entries(site) -> None:
    base, db, key, api = site
    hashlist, client = HashList(db), api()
    for image in (1, 2, 3):
        await hashlist.do_publish(ANALYST, image, "ABC"[image - 1], image_hashes(image))
    await hashlist.do_withdraw(ANALYST, 2)
    status, data, headers = await client.call("GET", "/export.json")
    assert status == 200 and data["cursor"] == headers["X-Haven-Cursor"] == "4"
    assert sorted((e["category"], e["sha256"]) for e in data["entries"]) == [
        ("A", image_hashes(1).sha256), ("C", image_hashes(3).sha256)]
    status, text, headers = await client.call("GET", "/export.csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert sorted((r["category"], r["pdq"]) for r in rows) == [("A", image_hashes(1).pdq), ("C", image_hashes(3).pdq)]


async def test_openapi_document_lists_exactly_the_real_routes(site) -> None:
    base, db, key, api = site
    async with aiohttp.ClientSession() as http:
        async with http.get(base + "api/v1/openapi.json") as r:
            assert r.status == 200
            served = json.loads(await r.text())
    assert served == json.loads(json.dumps(OPENAPI)) and served["openapi"].startswith("3.1")
    from web.app import create_app
    from tests.conftest import make_settings

    app = create_app(make_settings(Path(os.environ.get("TMPDIR", "/tmp"))))
    routes = {(route.resource.canonical, route.method.lower()) for route in app.router.routes()
              if route.resource is not None and route.resource.canonical.startswith("/api/v1")
              and route.method != "HEAD"}
    documented = {(path, method) for path, item in OPENAPI["paths"].items() for method in item}
    assert routes == documented
    # Every $ref points at a schema that exists.
    refs = set(re.findall(r'"#/components/schemas/([A-Za-z]+)"', json.dumps(OPENAPI)))
    assert refs <= set(OPENAPI["components"]["schemas"])


def _random_json(rng: random.Random, depth: int = 0) -> Any:
    pdq = hashlib.sha256(str(rng.random()).encode()).hexdigest()
    makers = [
        lambda: None, lambda: True, lambda: rng.randint(-2**70, 2**70), lambda: rng.random() * 1e6,
        lambda: "".join(rng.choice("ab\x00é💥0f") for _ in range(rng.randrange(70))), lambda: pdq,
        lambda: {"pdq": pdq, "max_distance": rng.choice([0, 31, 31.0, -1, 32, "5", None, 1e300])},
        lambda: [_random_json(rng, depth + 1) for _ in range(rng.randrange(3))],
        lambda: {rng.choice(["pdq", "md5", "sha1", "sha256", "max_distance", "id", "verdict", "note", "x"]):
                 _random_json(rng, depth + 1) for _ in range(rng.randrange(4))},
    ]
    return makers[rng.randrange(len(makers) if depth < 2 else 7)]()


async def test_odd_input_never_causes_a_server_error(site) -> None:
    base, db, key, api = site
    client = api()
    await HashList(db).do_publish(ANALYST, 1, "A", image_hashes(1))
    rng = random.Random(4)
    for _ in range(120):
        for path in ("/lookup", "/feedback"):
            status, data, _ = await client.call("POST", path, raw=json.dumps(_random_json(rng)).encode())
            assert status in (200, 201, 400, 404)
    for raw in (b"", b"\xff\xfe", b"null", b"1e999", b'{"pdq": NaN}'):
        status, _, _ = await client.call("POST", "/lookup", raw=raw)
        assert status == 400
    for since in ("9" * 15, "0" * 15, "1.5", "", " 1"):
        status, _, _ = await client.call("GET", "/hashes", since=since)
        assert status in (200, 400)


# --- commands -----------------------------------------------------------------------------------

def _cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HAVEN_DATA_DIR": str(data_dir), "DATABASE_URL": "", "HAVEN_LOG_LEVEL": "warning"}
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


async def test_partner_and_export_commands(tmp_path: Path) -> None:
    made = await asyncio.to_thread(_cli, tmp_path, "create-partner", "--name", "Cli Co")
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"hvn_[0-9a-f]{8}_[A-Za-z0-9_-]{43}", key)
    again = await asyncio.to_thread(_cli, tmp_path, "create-partner", "--name", "Cli Co")
    assert again.returncode == 2 and "partner_exists" in again.stderr

    db = audit_keyed(Database(make_engine(f"sqlite+aiosqlite:///{tmp_path / 'haven.db'}")), tmp_path)
    assert (await Partners(db).access_partner(f"Bearer {key}")).name == "Cli Co"
    # Only a hash of the key is stored.
    async with db.read() as session:
        from sqlalchemy import text

        stored = (await session.execute(text("SELECT key_hash FROM partners"))).scalar()
    assert key not in stored and stored == hashlib.sha256(key.encode()).hexdigest()
    hashlist = HashList(db)
    await hashlist.do_publish(ANALYST, 11, "A", image_hashes(11))
    await hashlist.do_publish(ANALYST, 12, "C", image_hashes(12))
    await hashlist.do_withdraw(ANALYST, 12)
    await db.dispose()

    out = tmp_path / "national.csv"
    exported = await asyncio.to_thread(_cli, tmp_path, "export-hashes", "--output", str(out))
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.DictReader(out.open()))
    assert [(r["category"], r["sha1"], r["report_image_id"]) for r in rows] == [("A", image_hashes(11).sha1, "11")]
    assert out.stat().st_mode & 0o077 == 0
    out_json = tmp_path / "national.json"
    await asyncio.to_thread(_cli, tmp_path, "export-hashes", "--output", str(out_json), "--format", "json")
    assert json.loads(out_json.read_text())["count"] == 1

    revoked = await asyncio.to_thread(_cli, tmp_path, "revoke-partner", "--name", "Cli Co")
    assert revoked.returncode == 0
    db = Database(make_engine(f"sqlite+aiosqlite:///{tmp_path / 'haven.db'}"))
    with pytest.raises(Unauthorized):
        await Partners(db).access_partner(f"Bearer {key}")
    actions = [e.action for e in await AuditLog(db).get_entries()]
    assert actions.count("hashes_export") == 2 and "partner_revoke" in actions
    await db.dispose()
    verify = await asyncio.to_thread(_cli, tmp_path, "audit", "verify")
    assert verify.returncode == 0 and verify.stdout.startswith("ok: ")
