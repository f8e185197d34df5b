"""CSRF on every state-changing route, Origin checks on every socket namespace, and the rate limits.

Rate limits and where they are counted:
- sign-in: failures per account and per address, in the database (login_throttle), with doubling back-off;
- registration: HAVEN_REGISTRATIONS_PER_HOUR new accounts per address, in the database (rate_counters);
- messages: HAVEN_MESSAGES_PER_MINUTE per socket, in the socket's session (process memory);
- uploads: HAVEN_UPLOADS_PER_MINUTE requests per child, in the database (rate_counters);
- partner API: HAVEN_PARTNER_REQUESTS_PER_MINUTE per key, in the database.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import socketio
from sqlalchemy import select

from bot.accounts import Accounts, Passwords
from bot.audit import Actor
from bot.db import Database, make_engine
from bot.models.reports import UploadLink
from bot.partners import Partners
from tests.conftest import make_settings
from tests.harness import Person, fresh_csrf, sign_up_child
from tests.test_security_matrix import Who, try_connect, upload_token_of

CSRF_EXEMPT = ("/api/v1/", "/verify/notify/", "/socket.io/")
STAFF_PASSWORD = "security pass 1"


def state_changing_routes(tmp_path: Path) -> list[str]:
    """Every POST/PUT/PATCH/DELETE path of the app outside the token-authenticated prefixes."""
    from web.app import create_app

    app = create_app(make_settings(tmp_path))
    paths = set()
    for route in app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if route.method in ("POST", "PUT", "PATCH", "DELETE") and not path.startswith(CSRF_EXEMPT):
            paths.add((route.method, path))
    return sorted(f"{method} {path}" for method, path in paths)


def concrete(path: str) -> str:
    while "{" in path:
        start = path.index("{")
        path = path[:start] + "999999" + path[path.index("}", start) + 1:]
    return path


async def _post(person_http: aiohttp.ClientSession, url: str, method: str, headers: dict[str, str],
                form: bool = False) -> tuple[int, dict[str, Any]]:
    kwargs: dict[str, Any] = {"headers": headers, "allow_redirects": False}
    if form:
        kwargs["data"] = {"username": "someone", "password": "something long"}
    else:
        kwargs["json"] = {"username": "someone", "password": "something long"}
    async with person_http.request(method, url, **kwargs) as response:
        return response.status, await response.json(content_type=None)


async def test_every_state_changing_route_refuses_a_request_without_the_csrf_token(
        server: Any, people: Any, tmp_path: Path) -> None:
    base = await server()
    routes = state_changing_routes(tmp_path)
    assert "POST /auth/delete-account" in routes and "POST /staff/login" in routes
    kid = await people.child(base)
    anonymous = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    try:
        anon_csrf = await fresh_csrf(anonymous, base)
        failures = []
        for line in routes:
            method, path = line.split(" ", 1)
            url = base.rstrip("/") + concrete(path)
            origin = base.rstrip("/")
            for who, http, good in (("child", kid.http, kid.csrf), ("anonymous", anonymous, anon_csrf)):
                cases = {
                    "no token (JSON)": ({"Origin": origin}, False),
                    "no token (form)": ({"Origin": origin}, True),
                    "wrong token": ({"Origin": origin, "X-CSRF-Token": good[:-2] + "xx"}, False),
                    "another browser's token": ({"Origin": origin, "X-CSRF-Token": anon_csrf if who == "child"
                                                 else kid.csrf}, False),
                }
                for case, (headers, form) in cases.items():
                    status, body = await _post(http, url, method, headers, form)
                    code = body.get("error", {}).get("code") if isinstance(body, dict) else None
                    if (status, code) != (403, "csrf_failed"):
                        failures.append(f"{line} as {who}, {case}: {status} {code}")
                status, body = await _post(http, url, method, {"Origin": "https://evil.example",
                                                               "X-CSRF-Token": good})
                code = body.get("error", {}).get("code") if isinstance(body, dict) else None
                if (status, code) != (403, "bad_origin"):
                    failures.append(f"{line} as {who}, foreign Origin: {status} {code}")
        assert not failures, "\n".join(failures)
    finally:
        await anonymous.close()


async def test_the_token_from_the_page_is_accepted(server: Any, people: Any) -> None:
    """The other side of the coin: the same request with the right token gets past the check."""
    base = await server()
    kid = await people.child(base)
    status, body = await kid.post("/auth/delete-account", {})
    assert (status, body["error"]["code"]) == (400, "missing_fields")


# --- socket Origin ------------------------------------------------------------------------------

async def _staff(base: str, database_url: str, role: str, people: Any) -> Person:
    engine = make_engine(database_url)
    try:
        name = f"{role[:3]}{uuid.uuid4().hex[:6]}"
        await Accounts(Database(engine), Passwords()).do_create_user(name, STAFF_PASSWORD, role)
    finally:
        await engine.dispose()
    return await people.staff(base, name, STAFF_PASSWORD, role)


@pytest.mark.parametrize("namespace,role", [("/chat", "child"), ("/counsellor", "counsellor"),
                                            ("/supervisor", "supervisor")])
async def test_sockets_refuse_a_foreign_origin(server: Any, people: Any, tmp_path: Path, namespace: str,
                                               role: str) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'origin.db'}"
    base = await server(database_url=database_url)
    person = await people.child(base) if role == "child" else await _staff(base, database_url, role, people)
    cookie = person.cookie_header()
    for origin in ("https://evil.example", "http://127.0.0.1:1", "null"):
        connected, reason = await try_connect(base, namespace, {"Cookie": cookie, "Origin": origin})
        assert not connected, (namespace, origin)
    # The same cookie from our own page connects: the Origin was the only difference.
    assert await try_connect(base, namespace, {"Cookie": cookie, "Origin": base.rstrip("/")}) == (True, "")


# --- rate limits --------------------------------------------------------------------------------

async def test_sign_in_backs_off_after_repeated_failures(server: Any) -> None:
    base = await server(login_max_failures=3, login_backoff_seconds=30)
    kid = await sign_up_child(base)
    try:
        http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        stranger = Person(base, kid.username, "wrong", "child", http, csrf=await fresh_csrf(http, base))
        codes = [(await stranger.post("/auth/login", {"username": kid.username, "password": "wrong guess"}))[1]
                 ["error"]["code"] for _ in range(4)]
        assert codes[:3] == ["bad_credentials"] * 3 and codes[3] == "too_many_attempts"
        # Even the right password waits now: guessing cannot continue by luck.
        status, body = await stranger.post("/auth/login", {"username": kid.username, "password": kid.password})
        assert status == 429 and body["error"]["code"] == "too_many_attempts"
        await http.close()
    finally:
        await kid.close()


async def _register(base: str, name: str | None = None) -> tuple[int, dict[str, Any], aiohttp.ClientSession]:
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    csrf = await fresh_csrf(http, base)
    async with http.post(base.rstrip("/") + "/auth/register",
                         json={"username": name or f"kid{uuid.uuid4().hex[:8]}", "password": "long enough 1"},
                         headers={"X-CSRF-Token": csrf, "Origin": base.rstrip("/")}) as r:
        body = await r.json()
        retry = r.headers.get("Retry-After")
    if retry:
        body["retry_after"] = int(retry)
    return r.status, body, http


async def test_registrations_per_address_are_limited_across_processes(
        server: Any, database_url: str, tmp_path: Path) -> None:
    # Two app instances on one database stand for two server processes behind a load balancer.
    first = await server(database_url=database_url, registrations_per_hour=3)
    second = await server(database_url=database_url, registrations_per_hour=3)
    sessions = []
    try:
        statuses = []
        for base in (first, second, first):
            status, body, http = await _register(base)
            sessions.append(http)
            statuses.append(status)
        assert statuses == [200, 200, 200]
        # The fourth, on either process, is refused with a wait and plain words.
        for base in (second, first):
            status, body, http = await _register(base)
            sessions.append(http)
            assert status == 429 and body["error"]["code"] == "too_many_registrations", body
            assert 0 < body["retry_after"] <= 3600
            assert "minutes" in body["error"]["message"]
    finally:
        for http in sessions:
            await http.close()


async def test_a_taken_username_does_not_count_against_the_address(server: Any) -> None:
    base = await server(registrations_per_hour=2)
    status, body, http = await _register(base, name="takenname")
    await http.close()
    assert status == 200
    for _ in range(3):
        status, body, http = await _register(base, name="takenname")
        await http.close()
        assert status == 409 and body["error"]["code"] == "username_taken"
    status, body, http = await _register(base)
    await http.close()
    assert status == 200


async def test_messages_per_socket_are_limited(server: Any, people: Any) -> None:
    base = await server(messages_per_minute=3)
    kid = await people.child(base)
    client = await kid.connect("/chat")
    assert (await client.call("hello", {"after": 0}, namespace="/chat", timeout=10))["ok"]
    acks = [await client.call("say", {"text": f"hello {i}", "client_id": uuid.uuid4().hex}, namespace="/chat",
                              timeout=10) for i in range(4)]
    assert [a["ok"] for a in acks] == [True, True, True, False]
    assert acks[3]["error"]["code"] == "rate_limited"


async def test_uploads_per_child_are_limited_and_a_refused_upload_keeps_its_address(
        server: Any, people: Any, tmp_path: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'uploads.db'}"
    base = await server(database_url=database_url, uploads_per_minute=2)
    kid = await people.child(base)
    who = Who("child", base, kid.http, kid.csrf)
    token = await upload_token_of(who)
    statuses = []
    for _ in range(2):
        form = aiohttp.FormData()
        form.add_field("file", b"not an image", filename="a.txt", content_type="text/plain")
        async with kid.http.post(f"{base.rstrip('/')}/upload/{uuid.uuid4().hex}", data=form,
                                 headers={"X-CSRF-Token": kid.csrf, "Origin": base.rstrip("/")}) as r:
            statuses.append(r.status)
    # Unknown addresses still count: the limit is on requests, not on successes.
    assert statuses == [404, 404]
    form = aiohttp.FormData()
    form.add_field("file", b"not an image", filename="a.txt", content_type="text/plain")
    async with kid.http.post(f"{base.rstrip('/')}/upload/{token}", data=form,
                             headers={"X-CSRF-Token": kid.csrf, "Origin": base.rstrip("/")}) as r:
        body = await r.json()
        assert r.status == 429 and body["error"]["code"] == "rate_limited"
        assert int(r.headers["Retry-After"]) >= 1
    engine = make_engine(database_url)
    try:
        async with Database(engine).read() as session:
            links = (await session.execute(select(UploadLink))).scalars().all()
    finally:
        await engine.dispose()
    assert len(links) == 1 and links[0].used_at is None


async def test_partner_requests_per_key_are_limited(server: Any, tmp_path: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'partners.db'}"
    base = await server(database_url=database_url, partner_requests_per_minute=2)
    engine = make_engine(database_url)
    try:
        key = (await Partners(Database(engine)).do_create("acme", Actor(None, "admin"))).key
    finally:
        await engine.dispose()
    async with aiohttp.ClientSession() as http:
        statuses = []
        for _ in range(3):
            async with http.get(base.rstrip("/") + "/api/v1/hashes",
                                headers={"Authorization": f"Bearer {key}"}) as r:
                statuses.append((r.status, (await r.json()).get("error", {}).get("code")))
    assert statuses[:2] == [(200, None), (200, None)] and statuses[2] == (429, "rate_limited")


async def test_staff_consoles_refuse_a_half_signed_in_session(server: Any, tmp_path: Path) -> None:
    """Password right, code not typed yet: no page, socket or API treats that browser as signed in."""
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'half.db'}"
    base = await server(database_url=database_url, totp_required_roles=("supervisor",))
    engine = make_engine(database_url)
    try:
        await Accounts(Database(engine), Passwords()).do_create_user("supnew", STAFF_PASSWORD, "supervisor")
    finally:
        await engine.dispose()
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    try:
        csrf = await fresh_csrf(http, base)
        async with http.post(base.rstrip("/") + "/staff/login",
                             json={"username": "supnew", "password": STAFF_PASSWORD},
                             headers={"X-CSRF-Token": csrf, "Origin": base.rstrip("/")}) as r:
            body = await r.json()
        assert body["ok"] and body["next_step"] == "enrol" and body["user"] is None
        async with http.get(base.rstrip("/") + "/supervisor", allow_redirects=False) as r:
            assert r.status == 303 and r.headers["Location"].startswith("/staff/login")
        async with http.get(base.rstrip("/") + "/auth/me") as r:
            assert (await r.json())["user"] is None
        from yarl import URL

        cookie = "; ".join(f"{k}={v.value}" for k, v in http.cookie_jar.filter_cookies(URL(base)).items())
        assert await try_connect(base, "/supervisor", {"Cookie": cookie, "Origin": base.rstrip("/")}) == (
            False, "not_signed_in")
    finally:
        await http.close()

