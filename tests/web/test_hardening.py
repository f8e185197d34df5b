"""Issue 14's web findings: sliding sessions, staff idle timeout, and (below) the other low ones."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from yarl import URL

from bot.accounts import session_key
from bot.db import Database, make_engine
from bot.models.accounts import WebSession
from bot.models.base import utcnow
from tests.harness import sign_up_child


def _token(person: Any) -> str:
    return person.http.cookie_jar.filter_cookies(URL(person.base_url))["haven_session"].value


async def _session_end(database_url: str, token: str, move_to: datetime | None = None) -> datetime:
    """The session's end as stored (after moving it to `move_to`, if given)."""
    engine = make_engine(database_url)
    try:
        db = Database(engine)
        if move_to is not None:
            async with db.write() as session:
                await session.execute(update(WebSession).where(WebSession.token_hash == session_key(token))
                                      .values(expires_at=move_to))
        async with db.read() as session:
            return (await session.get(WebSession, session_key(token))).expires_at
    finally:
        await engine.dispose()


def _about(at: datetime, delta: timedelta) -> bool:
    return abs(at - utcnow() - delta) < timedelta(seconds=10)


async def test_a_request_or_a_message_keeps_the_session_for_another_window(server: Any, tmp_path: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'sessions.db'}"
    base = await server(database_url=database_url)
    kid = await sign_up_child(base)
    try:
        token = _token(kid)
        # Eleven hours in, the child opens a page: twelve more hours, and the browser's cookie is renewed.
        await _session_end(database_url, token, utcnow() + timedelta(hours=1))
        async with kid.http.get(base + "auth/me") as r:
            assert (await r.json())["user"]["username"] == kid.username
            assert any(c.startswith("haven_session=" + token) for c in r.headers.getall("Set-Cookie", []))
        assert _about(await _session_end(database_url, token), timedelta(hours=12))
        # A page polling in the background does not count as someone there.
        await _session_end(database_url, token, utcnow() + timedelta(hours=1))
        async with kid.http.get(base + "auth/me", headers={"X-Haven-Background": "1"}) as r:
            assert r.status == 200
        assert _about(await _session_end(database_url, token), timedelta(hours=1))
        # Chatting on the socket is activity too.
        client = await kid.connect("/chat")
        assert (await client.call("hello", {"after": 0}, namespace="/chat", timeout=10))["ok"]
        assert (await client.call("say", {"text": "hello", "client_id": uuid.uuid4().hex}, namespace="/chat",
                                  timeout=10))["ok"]
        assert _about(await _session_end(database_url, token), timedelta(hours=12))
    finally:
        await kid.close()


async def test_staff_are_signed_out_after_the_idle_timeout(server: Any, tmp_path: Path, people: Any) -> None:
    from bot.accounts import Accounts, Passwords

    database_url = f"sqlite+aiosqlite:///{tmp_path / 'sessions.db'}"
    base = await server(database_url=database_url, staff_idle_minutes=20)
    engine = make_engine(database_url)
    try:
        await Accounts(Database(engine), Passwords()).do_create_user("idle-sam", "staff pass 1234", "counsellor")
    finally:
        await engine.dispose()
    sam = await people.staff(base, "idle-sam", "staff pass 1234", "counsellor")
    token = _token(sam)
    assert _about(await _session_end(database_url, token), timedelta(minutes=20))
    async with sam.http.get(base + "console", allow_redirects=False) as r:
        assert r.status == 200
    await _session_end(database_url, token, utcnow() - timedelta(seconds=1))
    async with sam.http.get(base + "console", allow_redirects=False) as r:
        assert r.status == 303 and r.headers["Location"].startswith("/staff/login")


# A database error: Haven's own answer, with the security headers, and nothing private logged -------

async def test_a_database_error_is_answered_by_haven_and_logs_nothing_private(
        server: Any, tmp_path: Path, caplog: Any) -> None:
    import logging

    import aiohttp
    from sqlalchemy import text

    from tests.harness import fresh_csrf

    caplog.set_level(logging.DEBUG)
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'broken.db'}"
    base = await server(database_url=database_url)
    engine = make_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("DROP TABLE login_throttle"))
    finally:
        await engine.dispose()
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        csrf = await fresh_csrf(http, base)
        async with http.post(base + "auth/login", json={"username": "private-name-4711", "password": "a guess 123"},
                             headers={"X-CSRF-Token": csrf}) as r:
            assert r.status == 500 and r.content_type == "application/json"
            assert (await r.json())["error"]["code"] == "server_error"
            assert "script-src 'self'" in r.headers["Content-Security-Policy"]
            assert r.headers["X-Content-Type-Options"] == "nosniff"
        async with http.post(base + "staff/login", data={"username": "private-name-4711", "password": "a guess 123",
                                                         "csrf_token": csrf}, headers={"Accept": "text/html"}) as r:
            assert r.status == 500 and r.content_type == "text/html"
            assert "Something went wrong" in await r.text()
            assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
    logged = caplog.text + "".join(str(record.args) for record in caplog.records)
    assert "OperationalError" in logged and "/auth/login" in logged
    assert "private-name-4711" not in logged


async def test_engines_never_put_parameters_in_errors(database_url: str) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    engine = make_engine(database_url)
    try:
        with pytest.raises(DBAPIError) as failed:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT * FROM no_such_table WHERE x = :v"), {"v": "a-secret-value"})
    finally:
        await engine.dispose()
    assert "a-secret-value" not in str(failed.value)


# /metrics behind a token ----------------------------------------------------------------------

async def test_metrics_need_the_token(server: Any, people: Any) -> None:
    """Issue 14: /metrics showed anyone how many high-risk children were waiting."""
    import aiohttp

    base = await server(metrics_token="prometheus-token-123")
    kid = await people.child(base)
    async with aiohttp.ClientSession() as http:
        for headers in ({}, {"Authorization": "Bearer wrong-token-4567890"}, {"Authorization": "prometheus-token-123"},
                        {"Cookie": kid.cookie_header()}):
            async with http.get(base + "metrics", headers=headers) as r:
                assert r.status == 401 and (await r.json())["error"]["code"] == "metrics_token", headers
                assert "haven_queue_high_risk_waiting" not in await r.text()
        async with http.get(base + "metrics", headers={"Authorization": "Bearer prometheus-token-123"}) as r:
            assert r.status == 200 and "haven_queue_high_risk_waiting" in await r.text()
    off = await server()
    async with aiohttp.ClientSession() as http:
        async with http.get(off + "metrics") as r:
            assert r.status == 404 and (await r.json())["error"]["code"] == "metrics_off"


# Partner API keys: looked up in a read, refused keys throttled per address --------------------------

async def test_random_api_keys_take_no_write_and_are_throttled_per_address(db: Any) -> None:
    """Issue 14: every random key opened a write transaction (on SQLite, the one writer chat waits for)."""
    import secrets

    from bot.audit import Actor
    from bot.errors import TooMany, Unauthorized
    from bot.partners import Partners

    partners = Partners(db, refused_keys_per_minute=5)
    key = (await partners.do_create("Acme Video", Actor(None, "admin"))).key
    writes = 0
    real_write = db.write

    def counting_write(*args: Any, **kwargs: Any) -> Any:
        nonlocal writes
        writes += 1
        return real_write(*args, **kwargs)

    db.write = counting_write
    prefix = key.split("_")[1]
    guesses = [f"Bearer hvn_{secrets.token_hex(4)}_{secrets.token_urlsafe(32)}",  # an unknown partner
               f"Bearer hvn_{prefix}_{secrets.token_urlsafe(32)}",  # a real partner, a wrong key
               "Bearer not-even-a-key", None, f"Bearer hvn_{prefix}_{secrets.token_urlsafe(32)}"]
    for guess in guesses:
        with pytest.raises(Unauthorized):
            await partners.access_partner(guess, address="198.51.100.9")
    assert writes == 0
    # That address has had its five refusals this minute: the next request waits, even a right key.
    with pytest.raises(TooMany) as waiting:
        await partners.access_partner(f"Bearer {key}", address="198.51.100.9")
    assert waiting.value.code == "too_many_bad_keys" and 0 < waiting.value.retry_after <= 61
    assert writes == 0
    # Another address is not held up, and a valid key is counted (the one write).
    assert (await partners.access_partner(f"Bearer {key}", address="198.51.100.10")).name == "Acme Video"
    assert writes == 1


async def test_the_api_answers_too_many_bad_keys_with_retry_after(server: Any) -> None:
    import aiohttp

    base = await server(partner_refused_keys_per_minute=3)
    async with aiohttp.ClientSession() as http:
        statuses = []
        for _ in range(4):
            async with http.get(base + "api/v1/hashes", headers={"Authorization": "Bearer nope"}) as r:
                statuses.append(r.status)
                last = (await r.json(), r.headers.get("Retry-After"))
    assert statuses == [401, 401, 401, 429]
    assert last[0]["error"]["code"] == "too_many_bad_keys" and int(last[1]) > 0


# The anonymous CSRF token and the __Host- cookies ----------------------------------------------------

async def test_a_planted_csrf_cookie_is_not_taken_as_the_token(server: Any) -> None:
    """Issue 14: the anonymous token was whatever cookie arrived, so a planted one let a forged post through."""
    import aiohttp

    base = await server()
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        chosen = "attacker-chosen-token-1234567890"
        async with http.post(base + "auth/login", json={"username": "someone", "password": "something long"},
                             headers={"Cookie": f"haven_csrf={chosen}", "X-CSRF-Token": chosen}) as r:
            assert r.status == 403 and (await r.json())["error"]["code"] == "csrf_failed"
            issued = next(c for c in r.headers.getall("Set-Cookie") if c.startswith("haven_csrf="))
        assert chosen not in issued
        # A token Haven issued still works, from the cookie it set.
        token = issued.split(";")[0].split("=", 1)[1]
        async with http.post(base + "auth/login", json={"username": "someone", "password": "something long"},
                             headers={"Cookie": f"haven_csrf={token}", "X-CSRF-Token": token}) as r:
            assert r.status == 401 and (await r.json())["error"]["code"] == "bad_credentials"


async def test_over_tls_only_host_prefixed_cookies_count(server: Any) -> None:
    """A cookie without the __Host- prefix can be planted by a subdomain or over plain HTTP: over TLS
    it is ignored (no session fixation), while plain-HTTP development keeps the plain names."""
    import aiohttp

    from tests.test_security_matrix import try_connect

    base = await server(trusted_proxies=("127.0.0.1",))
    tls = {"X-Forwarded-Proto": "https"}
    kid = await sign_up_child(base)  # over plain HTTP: haven_session
    try:
        token = _token(kid)
        async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
            async with http.get(base + "auth/me", headers={"Cookie": f"haven_session={token}"}) as r:
                assert (await r.json())["user"]["username"] == kid.username
            async with http.get(base + "auth/me", headers={"Cookie": f"haven_session={token}", **tls}) as r:
                assert (await r.json())["user"] is None
                names = [c.split("=", 1)[0] for c in r.headers.getall("Set-Cookie", [])]
                assert names == ["__Host-haven_csrf"]
            async with http.get(base + "auth/me", headers={"Cookie": f"__Host-haven_session={token}", **tls}) as r:
                assert (await r.json())["user"]["username"] == kid.username
        origin = base.rstrip("/")
        assert await try_connect(base, "/chat", {"Cookie": f"__Host-haven_session={token}", "Origin": origin,
                                                 **tls}) == (True, "")
        assert await try_connect(base, "/chat", {"Cookie": f"haven_session={token}", "Origin": origin,
                                                 **tls}) == (False, "not_signed_in")
    finally:
        await kid.close()


# CSP connect-src and HSTS -------------------------------------------------------------------------

async def test_sockets_may_connect_only_to_the_allowed_origins_and_tls_gets_hsts(server: Any) -> None:
    import aiohttp

    base = await server(trusted_proxies=("127.0.0.1",),
                        allowed_origins=("http://localhost:8080", "https://chat.example.org"))
    async with aiohttp.ClientSession() as http:
        async with http.get(base + "chat") as r:
            csp = r.headers["Content-Security-Policy"]
            assert "Strict-Transport-Security" not in r.headers
        async with http.get(base + "chat", headers={"X-Forwarded-Proto": "https"}) as r:
            assert r.headers["Strict-Transport-Security"] == "max-age=31536000"
    connect = next(part for part in csp.split("; ") if part.startswith("connect-src"))
    # Not "ws: wss:" (any host): only where the allowed origins' sockets are.
    assert connect.split() == ["connect-src", "'self'", "ws://localhost:8080", "wss://chat.example.org"]
