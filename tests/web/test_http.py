"""Sign-up, sign-in, CSRF and Origin checks, cookies, pages behind staff sign-in, health and metrics."""

from __future__ import annotations

import aiohttp
import pytest

from tests.harness import fresh_csrf, sign_up_child


async def test_health_and_metrics(server) -> None:
    base = await server(metrics_token="prometheus-token-123")
    async with aiohttp.ClientSession() as http:
        async with http.get(base + "healthz") as r:
            assert r.status == 200 and (await r.json()) == {"ok": True, "database": "ok"}
        async with http.get(base + "metrics", headers={"Authorization": "Bearer prometheus-token-123"}) as r:
            assert r.status == 200
            body = await r.text()
            assert "haven_connected_sockets" in body and "haven_sign_ins_total" in body


async def test_security_headers_on_every_response(server) -> None:
    base = await server()
    async with aiohttp.ClientSession() as http:
        for path, framable in [("", False), ("chat", True), ("healthz", False), ("staff/login", False),
                               ("static/launcher.js", False), ("nope", False)]:
            async with http.get(base + path) as r:
                csp = r.headers["Content-Security-Policy"]
                assert "script-src 'self'" in csp and "unsafe-inline" not in csp
                assert r.headers["X-Content-Type-Options"] == "nosniff"
                assert r.headers["Referrer-Policy"] == "same-origin"
                assert ("frame-ancestors 'self'" in csp) if framable else ("frame-ancestors 'none'" in csp)


async def test_register_sets_a_safe_rotated_session_cookie(server) -> None:
    base = await server()
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        csrf = await fresh_csrf(http, base)
        async with http.post(base + "auth/register", json={"username": "Fern", "password": "long enough pw"},
                             headers={"X-CSRF-Token": csrf}) as r:
            assert r.status == 200
            data = await r.json()
            cookie = r.headers.getall("Set-Cookie")
        session_cookie = next(c for c in cookie if c.startswith("haven_session="))
        assert "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie
        assert "Secure" not in session_cookie  # plain HTTP in the test; TLS would set it
        first = session_cookie.split(";")[0].split("=", 1)[1]
        assert data["user"] == {"username": "Fern", "role": "child"} and data["csrf_token"] != csrf
        async with http.post(base + "auth/login", json={"username": "fern", "password": "long enough pw"},
                             headers={"X-CSRF-Token": data["csrf_token"]}) as r:
            assert r.status == 200
            second = next(c for c in r.headers.getall("Set-Cookie") if c.startswith("haven_session="))
        assert second.split(";")[0].split("=", 1)[1] != first
    # The session issued before sign-in no longer works.
    async with aiohttp.ClientSession(cookies={"haven_session": first}) as http:
        async with http.get(base + "auth/me") as r:
            assert (await r.json())["user"] is None


async def test_secure_flag_when_served_over_tls(server) -> None:
    base = await server(trusted_proxies=("127.0.0.1",))
    tls = {"X-Forwarded-Proto": "https"}
    # Secure cookies are not sent back over the test's plain HTTP, so they are carried by hand here.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        async with http.get(base + "auth/me", headers=tls) as r:
            csrf = (await r.json())["csrf_token"]
            planted = next(c for c in r.headers.getall("Set-Cookie") if c.startswith("__Host-haven_csrf="))
        async with http.post(base + "auth/register", json={"username": "tls-kid", "password": "long enough pw"},
                             headers={"X-CSRF-Token": csrf, **tls, "Cookie": planted.split(";")[0]}) as r:
            assert r.status == 200, await r.text()
            cookie = next(c for c in r.headers.getall("Set-Cookie") if c.startswith("__Host-haven_session="))
    assert "Secure" in cookie and "Path=/" in cookie and "Domain" not in cookie


async def test_each_sign_up_problem_gets_its_own_message(server) -> None:
    base = await server()
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        csrf = await fresh_csrf(http, base)
        cases = [({"username": "x" * 40, "password": "long enough pw"}, 400, "username_too_long"),
                 ({"username": "ab", "password": "long enough pw"}, 400, "username_too_short"),
                 ({"username": "okname", "password": "short"}, 400, "password_too_short"),
                 ({"username": "", "password": ""}, 400, "missing_fields")]
        for body, status, code in cases:
            async with http.post(base + "auth/register", json=body, headers={"X-CSRF-Token": csrf}) as r:
                data = await r.json()
                assert (r.status, data["error"]["code"]) == (status, code)
                assert data["error"]["message"]
        async with http.post(base + "auth/register", json={"username": "taken1", "password": "long enough pw"},
                             headers={"X-CSRF-Token": csrf}) as r:
            new_csrf = (await r.json())["csrf_token"]
        async with http.post(base + "auth/register", json={"username": "Taken1", "password": "long enough pw"},
                             headers={"X-CSRF-Token": new_csrf}) as r:
            assert r.status == 409 and (await r.json())["error"]["code"] == "username_taken"


async def test_state_changes_need_the_csrf_token_and_a_trusted_origin(server) -> None:
    base = await server()
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        csrf = await fresh_csrf(http, base)
        body = {"username": "nocsrf", "password": "long enough pw"}
        async with http.post(base + "auth/register", json=body) as r:
            assert r.status == 403 and (await r.json())["error"]["code"] == "csrf_failed"
        async with http.post(base + "auth/register", json=body, headers={"X-CSRF-Token": "forged"}) as r:
            assert r.status == 403
        async with http.post(base + "auth/register", json=body,
                             headers={"X-CSRF-Token": csrf, "Origin": "https://evil.example"}) as r:
            assert r.status == 403 and (await r.json())["error"]["code"] == "bad_origin"
        async with http.post(base + "auth/register", json=body, headers={"X-CSRF-Token": csrf}) as r:
            assert r.status == 200


async def test_staff_pages_need_the_right_role(server, tmp_path, people) -> None:
    base = await server()
    from bot.accounts import Accounts, Passwords
    from bot.db import Database, make_engine

    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'haven.db'}")
    accounts = Accounts(Database(engine), Passwords())
    await accounts.do_create_user("coun1", "long enough pw", "counsellor")
    await accounts.do_create_user("anal1", "long enough pw", "analyst")
    await engine.dispose()

    async with aiohttp.ClientSession() as anon:
        async with anon.get(base + "console", allow_redirects=False) as r:
            assert r.status == 303 and r.headers["Location"] == "/staff/login?next=/console"
    kid = await people.child(base)
    async with kid.http.get(base + "console", allow_redirects=False) as r:
        assert r.status == 403
    counsellor = await people.staff(base, "coun1", "long enough pw", "counsellor")
    for path, status in [("console", 200), ("supervisor", 403), ("review", 403)]:
        async with counsellor.http.get(base + path, allow_redirects=False) as r:
            assert r.status == status, path
    analyst = await people.staff(base, "anal1", "long enough pw", "analyst")
    async with analyst.http.get(base + "review", allow_redirects=False) as r:
        assert r.status == 200
    # A child's password never opens the staff sign-in.
    status, data = await kid.post("/staff/login", {"username": kid.username, "password": kid.password})
    assert status == 401 and data["error"]["code"] == "bad_credentials"


async def test_staff_form_sign_in_redirects_only_within_the_site(server, tmp_path) -> None:
    base = await server()
    from bot.accounts import Accounts, Passwords
    from bot.db import Database, make_engine

    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'haven.db'}")
    await Accounts(Database(engine), Passwords()).do_create_user("sup1", "long enough pw", "supervisor")
    await engine.dispose()
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        csrf = await fresh_csrf(http, base)
        form = {"username": "sup1", "password": "long enough pw", "csrf_token": csrf, "next": "//evil.example/x"}
        async with http.post(base + "staff/login", data=form, allow_redirects=False) as r:
            assert r.status == 303 and r.headers["Location"] == "/supervisor"
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        form["csrf_token"] = await fresh_csrf(http, base)
        form["password"] = "wrong password"
        async with http.post(base + "staff/login", data=form, allow_redirects=False) as r:
            assert r.status == 401
            assert "don&#39;t match" in await r.text() or "don't match" in await r.text()


async def test_sign_out_ends_the_session(server) -> None:
    base = await server()
    kid = await sign_up_child(base)
    try:
        status, _ = await kid.post("/auth/logout")
        assert status == 200
        async with kid.http.get(base + "auth/me") as r:
            assert (await r.json())["user"] is None
    finally:
        await kid.close()


@pytest.mark.parametrize("path", ["/chat", "/", "/neutral", "/staff/login"])
async def test_public_pages_render(server, path: str) -> None:
    base = await server()
    async with aiohttp.ClientSession() as http:
        async with http.get(base.rstrip("/") + path) as r:
            assert r.status == 200 and r.content_type == "text/html"


async def test_forwarded_headers_count_only_from_a_trusted_proxy(server) -> None:
    """Rate limits key on the client address: a forged X-Forwarded-For must not dodge them."""
    base = await server(trusted_proxies=("127.0.0.1",), login_max_failures=1)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        csrf = await fresh_csrf(http, base)
        body = {"username": "nobody-at-all", "password": "wrong password"}
        # Four different children behind the proxy each get their own allowance (the address limit is 4x1).
        for n in range(4):
            async with http.post(base + "auth/login", json={**body, "username": f"nobody{n}"},
                                 headers={"X-CSRF-Token": csrf, "X-Forwarded-For": f"203.0.113.{n}"}) as r:
                assert r.status == 401
        # The same forwarded address, many failures: it is that address that waits, not the proxy.
        statuses = []
        for n in range(6):
            async with http.post(base + "auth/login", json={**body, "username": f"other{n}"},
                                 headers={"X-CSRF-Token": csrf, "X-Forwarded-For": "198.51.100.7"}) as r:
                statuses.append(r.status)
        assert 429 in statuses
        async with http.post(base + "auth/login", json={**body, "username": "fresh"},
                             headers={"X-CSRF-Token": csrf, "X-Forwarded-For": "203.0.113.99"}) as r:
            assert r.status == 401


async def test_forwarded_headers_from_anyone_else_are_ignored(server) -> None:
    base = await server(login_max_failures=1)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        csrf = await fresh_csrf(http, base)
        statuses = []
        for n in range(6):
            async with http.post(base + "auth/login", json={"username": f"x{n}", "password": "wrong password"},
                                 headers={"X-CSRF-Token": csrf, "X-Forwarded-For": f"192.0.2.{n}"}) as r:
                statuses.append(r.status)
    # Forging a new address each time does not help: the real peer address is throttled.
    assert 429 in statuses
