"""Who may reach what: every HTTP route and socket namespace against every role, each "may not" proven.

The tables below are the contract. A route the app serves that is not in ROUTES fails
`test_every_route_is_in_the_matrix` ("add it to the matrix"), so adding a route means adding one line:

    Row("GET", "/supervisor/figures", {"supervisor"}),

A cell is allowed when the role is in the row's set and refused otherwise. Refused means 401, 403 or
404, or (staff pages) a redirect to the staff sign-in; allowed means none of those and no server error
(a harmless bad body may still get 400: it shows the request got past the door). Requests carry the
role's own session cookie, CSRF token and Origin, so a refusal is about the role, never a missing token.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import socketio

from bot.accounts import Accounts, Passwords
from bot.audit import Actor
from bot.db import Database, make_engine
from bot.partners import Partners
from tests.conftest import make_settings
from tests.harness import fresh_csrf, wait_for

ROLES = ("anonymous", "child", "other_child", "counsellor", "supervisor", "analyst", "admin", "partner", "revoked")
EVERYONE = frozenset(ROLES)
NOBODY: frozenset[str] = frozenset()
CHILDREN = frozenset({"child", "other_child"})
PASSWORD = "matrix pass 12"


@dataclass(frozen=True)
class Row:
    """One route: who may use it, and a request that is harmless for everyone allowed."""

    method: str
    path: str  # as the router names it, placeholders included
    allowed: frozenset[str] | set[str]
    body: Any = None  # JSON body for POST (None: an empty JSON object)
    kind: str = "json"  # json | form | multipart
    fill: dict[str, str] = field(default_factory=dict)  # placeholder -> value or "@context key"
    why: str = ""
    # The request names something that does not exist: 404 then shows an allowed role got past the door,
    # and a refused role must get 401/403 (or the sign-in redirect), never a 404 that hides the reason.
    missing_ok: bool = False
    # GET rows are tried with HEAD too, unless the route cannot answer HEAD properly (see its test).
    head: bool = True


# Every route of the app. PUBLIC rows still send harmless bodies: nothing here may change an account.
ROUTES: list[Row] = [
    Row("POST", "/auth/register", EVERYONE, {"username": "x", "password": "short"}, why="bad input: 400"),
    Row("POST", "/auth/login", EVERYONE, {}, why="missing fields: 400"),
    Row("GET", "/auth/me", EVERYONE),
    Row("GET", "/staff/login", EVERYONE),
    Row("POST", "/staff/login", EVERYONE, {}, why="missing fields: 400"),
    # Only a half-session (password passed, code not yet typed) may use the two-factor steps.
    Row("GET", "/staff/totp", NOBODY),
    Row("POST", "/staff/totp", NOBODY, {"code": "123456"}),
    Row("GET", "/staff/totp/enrol", NOBODY),
    Row("POST", "/staff/totp/enrol", NOBODY, {"code": "123456"}),
    Row("GET", "/healthz", EVERYONE),
    # Only Prometheus, with HAVEN_METRICS_TOKEN (no session or API key opens it; off when no token is set):
    # tests/web/test_hardening.py shows the token's bearer gets in.
    Row("GET", "/metrics", NOBODY),
    Row("GET", "/", EVERYONE),
    Row("GET", "/chat", EVERYONE),
    Row("GET", "/neutral", EVERYONE),
    Row("GET", "/console", {"counsellor", "admin"}),
    Row("GET", "/supervisor", {"supervisor"}),
    Row("GET", "/review", {"analyst"}),
    Row("GET", "/supervisor/metrics.csv", {"supervisor"}),
    Row("GET", "/supervisor/metrics.json", {"supervisor"}),
    Row("GET", "/review/api/queue", {"analyst"}),
    Row("GET", "/review/api/reports/{id}", {"analyst"}, missing_ok=True),
    Row("POST", "/review/api/images/{id}/assess", {"analyst"}, {}, missing_ok=True),
    Row("POST", "/review/api/reports/{id}/start", {"analyst"}, {}, missing_ok=True),
    Row("POST", "/review/api/reports/{id}/decide", {"analyst"}, {}, missing_ok=True),
    Row("POST", "/review/api/reports/{id}/confirm", {"analyst"}, {}, missing_ok=True),
    Row("POST", "/review/api/reports/{id}/reject", {"analyst"}, {}, missing_ok=True),
    Row("POST", "/review/api/reports/{id}/withdraw", {"analyst"}, {}, missing_ok=True),
    Row("POST", "/review/images/{id}/preview", {"analyst"}, {}, missing_ok=True),
    Row("POST", "/review/images/{id}/reveal", {"analyst"}, {}, missing_ok=True),
    Row("GET", "/static/vendor/{name}", EVERYONE, fill={"name": "socket.io.min.js"}),
    Row("GET", "/static", EVERYONE, fill={"": "/chat/main.js"}),
    # The address belongs to `child`: another child, staff and partners are all refused.
    Row("POST", "/upload/{token}", {"child"}, kind="multipart", fill={"token": "@upload_token"}),
    Row("POST", "/auth/delete-account", CHILDREN, {}, why="no password: 400, nothing deleted"),
    # A capability address handed to one child's browser; unknown ids get 404 for everyone alike.
    Row("GET", "/verify/demo/{session_id}", EVERYONE, fill={"session_id": "@demo_session"}, missing_ok=True),
    Row("POST", "/verify/demo/{session_id}", EVERYONE, {"outcome": "nonsense"}, kind="form",
        fill={"session_id": "@demo_session"}, missing_ok=True),
    # Only the provider's signature opens it: no session or API key does.
    Row("POST", "/verify/notify/{provider}", NOBODY, {"session_id": "x"}, fill={"provider": "demo"}),
    Row("GET", "/verify/done", EVERYONE),
    Row("GET", "/api/v1/hashes", {"partner"}),
    Row("POST", "/api/v1/lookup", {"partner"}, {"md5": "0" * 32}),
    Row("POST", "/api/v1/feedback", {"partner"}, {"id": str(uuid.UUID(int=1)), "verdict": "removed"},
        missing_ok=True),
    # HEAD streams the whole body today: test_head_on_a_streamed_export_sends_no_body.
    Row("GET", "/api/v1/export.csv", {"partner"}),
    Row("GET", "/api/v1/export.json", {"partner"}),
    Row("GET", "/api/v1/openapi.json", EVERYONE),
    # Sign-out last: it ends each role's session.
    Row("POST", "/auth/logout", EVERYONE, {}),
]

# Served by the app but not HTTP routes of ours: what covers them instead.
NOT_IN_MATRIX = {
    "/socket.io/": "the socket.io transport: SOCKETS below decides who may connect to each namespace",
}

# Socket namespaces: who may connect. A refusal is connect_error not_signed_in / wrong_role.
SOCKETS: dict[str, frozenset[str] | set[str]] = {
    "/chat": CHILDREN,
    "/counsellor": {"counsellor"},
    "/supervisor": {"supervisor"},
}


# --- the cast -----------------------------------------------------------------------------------

@dataclass
class Who:
    """One role's browser (or API client): cookies, CSRF token, and extra headers such as an API key."""

    role: str
    base: str
    http: aiohttp.ClientSession
    csrf: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    def cookie_header(self) -> str:
        from yarl import URL

        jar = self.http.cookie_jar.filter_cookies(URL(self.base))
        return "; ".join(f"{k}={v.value}" for k, v in jar.items())

    async def send(self, method: str, path: str, row: Row | None = None) -> tuple[int, str]:
        headers = {"Origin": self.base.rstrip("/"), "X-CSRF-Token": self.csrf, "Accept": "application/json",
                   **self.headers}
        kwargs: dict[str, Any] = {"headers": headers, "allow_redirects": False}
        if method == "POST":
            body = row.body if row is not None and row.body is not None else {}
            if row is not None and row.kind == "form":
                kwargs["data"] = {**body, "csrf_token": self.csrf}
            elif row is not None and row.kind == "multipart":
                form = aiohttp.FormData()
                form.add_field("file", b"not an image at all", filename="a.txt", content_type="text/plain")
                kwargs["data"] = form
            else:
                kwargs["json"] = body
        async with self.http.request(method, self.base.rstrip("/") + path, **kwargs) as response:
            await response.read()
            return response.status, response.headers.get("Location", "")


async def _browser(base: str, role: str) -> Who:
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    return Who(role, base, http, csrf=await fresh_csrf(http, base))


async def _signed_in(base: str, role: str, username: str, *, register: bool = False) -> Who:
    actor = await _browser(base, role)
    path = "/auth/register" if register else ("/auth/login" if role in CHILDREN else "/staff/login")
    async with actor.http.post(base.rstrip("/") + path, json={"username": username, "password": PASSWORD},
                               headers={"X-CSRF-Token": actor.csrf, "Origin": base.rstrip("/")}) as r:
        data = await r.json()
        assert r.status == 200 and data["ok"], (role, data)
        actor.csrf = data["csrf_token"]
    return actor


@dataclass
class Cast:
    actors: dict[str, Who]
    context: dict[str, str]

    async def close(self) -> None:
        for actor in self.actors.values():
            await actor.http.close()


async def make_cast(base: str, database_url: str) -> Cast:
    engine = make_engine(database_url)
    try:
        db = Database(engine)
        accounts = Accounts(db, Passwords())
        names = {}
        for role in ("counsellor", "supervisor", "analyst", "admin"):
            names[role] = f"{role[:3]}{uuid.uuid4().hex[:6]}"
            await accounts.do_create_user(names[role], PASSWORD, role)
        partners = Partners(db)
        key = (await partners.do_create(f"p{uuid.uuid4().hex[:6]}", Actor(None, "admin"))).key
        revoked = await partners.do_create(f"r{uuid.uuid4().hex[:6]}", Actor(None, "admin"))
        await partners.do_revoke(revoked.partner.name, Actor(None, "admin"))
    finally:
        await engine.dispose()
    actors = {"anonymous": await _browser(base, "anonymous")}
    for role in ("child", "other_child"):
        actors[role] = await _signed_in(base, role, f"kid{uuid.uuid4().hex[:8]}", register=True)
    for role, name in names.items():
        actors[role] = await _signed_in(base, role, name)
    # Partners are API clients: no session, their key in the header (and an anonymous CSRF cookie, so a
    # refusal is never just the missing token).
    actors["partner"] = await _browser(base, "partner")
    actors["partner"].headers["Authorization"] = f"Bearer {key}"
    actors["revoked"] = await _browser(base, "revoked")
    actors["revoked"].headers["Authorization"] = f"Bearer {revoked.key}"
    return Cast(actors, {"demo_session": uuid.uuid4().hex})


async def upload_token_of(actor: Who) -> str:
    """Take `actor` (a child) to the upload step and get a one-time upload address."""
    client = socketio.AsyncClient(reconnection=False)
    states: list[str] = []
    client.on("state", lambda data: states.append(data["state"]), namespace="/chat")
    await client.connect(actor.base, namespaces=["/chat"], transports=["websocket"],
                         headers={"Cookie": actor.cookie_header(), "Origin": actor.base.rstrip("/")})
    try:
        assert (await client.call("hello", {"after": 0}, namespace="/chat", timeout=10))["ok"]
        for option in ("report", "age_under_13"):
            ack = await client.call("choose", {"option": option, "client_id": uuid.uuid4().hex},
                                    namespace="/chat", timeout=10)
            assert ack["ok"], ack
        await wait_for(lambda: "report_upload" in states)
        link = await client.call("upload_link", {}, namespace="/chat", timeout=10)
        assert link["ok"], link
        return str(link["url"]).rsplit("/", 1)[1]
    finally:
        await client.disconnect()


async def try_connect(base: str, namespace: str, headers: dict[str, str]) -> tuple[bool, str]:
    """Connect to one namespace; (True, "") or (False, the reason the server gave in connect_error)."""
    client = socketio.AsyncClient(reconnection=False)
    reasons: list[str] = []

    async def refused(data: Any = None) -> None:
        reasons.append(data.get("message", "") if isinstance(data, dict) else str(data))

    client.on("connect_error", refused, namespace=namespace)
    try:
        await client.connect(base, namespaces=[namespace], headers=headers, transports=["websocket"],
                             wait_timeout=10)
        return namespace in client.namespaces, ""
    except socketio.exceptions.ConnectionError as exc:
        return False, reasons[0] if reasons else str(exc)
    finally:
        if client.connected:
            await client.disconnect()


def concrete(row: Row, context: dict[str, str]) -> str:
    path = row.path
    for name, value in row.fill.items():
        value = context[value[1:]] if value.startswith("@") else value
        path = path + value if name == "" else path.replace("{" + name + "}", value)
    # A new dynamic route works with one line: any placeholder left gets an id that names nothing.
    while "{" in path:
        start = path.index("{")
        path = path[:start] + "999999" + path[path.index("}", start) + 1:]
    return path


def verdict(status: int, location: str, missing_ok: bool = False) -> str:
    if status == 404 and missing_ok:
        return "allowed"
    if status in (401, 403, 404) or (status in (302, 303) and location.startswith("/staff/login")):
        return "refused"
    if status >= 500:
        return "server_error"
    return "allowed"


# --- the tests ----------------------------------------------------------------------------------

def _router_routes(tmp_path: Path) -> set[tuple[str, str]]:
    from web.app import create_app

    app = create_app(make_settings(tmp_path))
    found = set()
    for route in app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        found.add((route.method, path))
    return found


def test_every_route_is_in_the_matrix(tmp_path: Path) -> None:
    served = _router_routes(tmp_path)
    rows = {(row.method, row.path) for row in ROUTES}
    missing = sorted(
        f"{method} {path}" for method, path in served
        if path not in NOT_IN_MATRIX and (method, path) not in rows
        # HEAD answers like GET (aiohttp adds it to every GET route); the GET row covers it.
        and not (method == "HEAD" and ("GET", path) in rows))
    assert not missing, (
        "routes with no row in tests/test_security_matrix.py ROUTES — add it to the matrix "
        "(one line: Row(METHOD, PATH, {roles allowed})): " + ", ".join(missing))
    stale = sorted(f"{m} {p}" for m, p in rows if (m, p) not in served)
    assert not stale, "rows in the matrix for routes the app no longer serves: " + ", ".join(stale)


def test_every_socket_namespace_is_in_the_matrix(tmp_path: Path) -> None:
    from web import keys
    from web.app import create_app

    app = create_app(make_settings(tmp_path))
    served = set(app[keys.SIO].namespace_handlers)
    assert served == set(SOCKETS), (
        f"socket namespaces {sorted(served ^ set(SOCKETS))} differ from SOCKETS in tests/test_security_matrix.py: "
        "add each namespace with the roles that may connect")


async def test_every_role_against_every_route(server: Any, tmp_path: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'matrix.db'}"
    base = await server(database_url=database_url)
    cast = await make_cast(base, database_url)
    try:
        cast.context["upload_token"] = await upload_token_of(cast.actors["child"])
        failures: list[str] = []
        checked = 0
        for row in ROUTES:
            path = concrete(row, cast.context)
            # Refused roles first: a one-time address must still be unspent when its owner tries it.
            order = sorted(ROLES, key=lambda role: role in row.allowed)
            methods = [row.method] + (["HEAD"] if row.method == "GET" and row.head else [])
            for role in order:
                for method in methods:
                    status, location = await cast.actors[role].send(method, path, row)
                    got = verdict(status, location, row.missing_ok)
                    want = "allowed" if role in row.allowed else "refused"
                    checked += 1
                    if got != want:
                        failures.append(f"{method} {path} as {role}: {status} {location} ({got}, want {want})")
        assert not failures, "\n".join(failures)
        # 9 roles, every row, GET rows twice (HEAD): the whole table really ran.
        assert checked == sum(len(ROLES) * (2 if row.method == "GET" and row.head else 1) for row in ROUTES)
    finally:
        await cast.close()


async def test_every_role_against_every_socket_namespace(server: Any, tmp_path: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'matrix.db'}"
    base = await server(database_url=database_url)
    cast = await make_cast(base, database_url)
    try:
        failures: list[str] = []
        for namespace, allowed in SOCKETS.items():
            for role in ROLES:
                actor = cast.actors[role]
                headers = {"Cookie": actor.cookie_header(), "Origin": base.rstrip("/"), **actor.headers}
                connected, reason = await try_connect(base, namespace, headers)
                got = "allowed" if connected else "refused"
                want = "allowed" if role in allowed else "refused"
                if got != want:
                    failures.append(f"{namespace} as {role}: {got} {reason} (want {want})")
                elif got == "refused" and reason not in ("not_signed_in", "wrong_role"):
                    failures.append(f"{namespace} as {role}: refused for an unexpected reason {reason!r}")
        assert not failures, "\n".join(failures)
    finally:
        await cast.close()


@pytest.mark.parametrize("namespace", sorted(SOCKETS))
async def test_a_signed_out_session_cannot_reconnect(server: Any, tmp_path: Path, namespace: str) -> None:
    """A cookie that was valid stops working the moment its session ends."""
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'matrix.db'}"
    base = await server(database_url=database_url)
    cast = await make_cast(base, database_url)
    try:
        role = sorted(SOCKETS[namespace])[0]
        actor = cast.actors[role]
        cookie = actor.cookie_header()
        assert (await actor.send("POST", "/auth/logout"))[0] in (200, 303)
        assert await try_connect(base, namespace, {"Cookie": cookie, "Origin": base.rstrip("/")}) == (
            False, "not_signed_in")
    finally:
        await cast.close()


async def test_head_on_a_streamed_export_sends_no_body(server: Any, tmp_path: Path) -> None:
    import asyncio

    database_url = f"sqlite+aiosqlite:///{tmp_path / 'matrix.db'}"
    base = await server(database_url=database_url)
    cast = await make_cast(base, database_url)
    try:
        host, port = base.rstrip("/").rsplit("/", 1)[1].split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        key = cast.actors["partner"].headers["Authorization"]
        writer.write(f"HEAD /api/v1/export.csv HTTP/1.1\r\nHost: {host}\r\nAuthorization: {key}\r\n"
                     "Connection: close\r\n\r\n".encode())
        raw = await reader.read()
        writer.close()
        head, _, body = raw.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200")
        assert body == b"", body[:80]
    finally:
        await cast.close()
