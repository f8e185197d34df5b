"""Two-factor sign-in for staff: enrolment for roles that need it, the code step, replay, back-off, CLI."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import pyotp
from sqlalchemy import select
from yarl import URL

from bot.accounts import Accounts, Passwords
from bot.db import Database, make_engine
from bot.models.accounts import User
from tests.harness import ROOT, fresh_csrf

PASSWORD = "staff pass 1234"
REQUIRED = ("supervisor", "analyst")


async def _make(database_url: str, role: str) -> str:
    engine = make_engine(database_url)
    try:
        name = f"{role[:3]}{uuid.uuid4().hex[:6]}"
        await Accounts(Database(engine), Passwords()).do_create_user(name, PASSWORD, role)
        return name
    finally:
        await engine.dispose()


class Browser:
    """A staff member's browser posting the real forms, following nothing automatically."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def get(self, path: str) -> tuple[int, str, str]:
        async with self.http.get(self.base + path, allow_redirects=False) as r:
            return r.status, r.headers.get("Location", ""), await r.text()

    async def form(self, path: str, fields: dict[str, str], page: str | None = None) -> tuple[int, str, str]:
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1) if page else (
            await fresh_csrf(self.http, self.base))
        async with self.http.post(self.base + path, data={**fields, "csrf_token": csrf},
                                  headers={"Origin": self.base}, allow_redirects=False) as r:
            return r.status, r.headers.get("Location", ""), await r.text()

    async def sign_in(self, username: str, next_path: str = "") -> tuple[int, str, str]:
        _, _, page = await self.get("/staff/login")
        return await self.form("/staff/login", {"username": username, "password": PASSWORD, "next": next_path},
                               page)


def code_at(secret: str, offset_steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * offset_steps)


async def test_an_analyst_must_enrol_then_signs_in_with_a_code_once_each(server: Any, database_url: str) -> None:
    base = await server(database_url=database_url, totp_required_roles=REQUIRED)
    name = await _make(database_url, "analyst")
    browser = Browser(base)
    try:
        status, location, _ = await browser.sign_in(name, "/review")
        assert status == 303 and location.startswith("/staff/totp/enrol")
        # Not signed in yet: the review page sends them back to sign in.
        assert (await browser.get("/review"))[1].startswith("/staff/login")
        status, _, page = await browser.get(location)
        assert status == 200
        secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)
        assert f"otpauth://totp/Haven:{name}" in page and "secret=" + secret in page
        # The secret is sealed in the database, not stored as shown.
        engine = make_engine(database_url)
        try:
            async with Database(engine).read() as session:
                stored = (await session.execute(select(User).where(User.username == name))).scalar_one()
        finally:
            await engine.dispose()
        assert stored.totp_secret and secret not in stored.totp_secret and stored.totp_confirmed_at is None

        status, _, wrong = await browser.form("/staff/totp/enrol", {"code": "000000", "next": "/review"}, page)
        assert status == 401 and "That code didn" in wrong
        first = code_at(secret)
        status, location, _ = await browser.form("/staff/totp/enrol", {"code": first, "next": "/review"}, wrong)
        assert (status, location) == (303, "/review")
        assert (await browser.get("/review"))[0] == 200

        # Next time: password, then the code; the code just used is refused (replay), a fresh one works.
        await browser.form("/auth/logout", {}, (await browser.get("/review"))[2])
        status, location, _ = await browser.sign_in(name)
        assert status == 303 and location.startswith("/staff/totp")
        _, _, page = await browser.get(location)
        assert 'id="staff-totp"' in page and "totp-secret" not in page
        status, _, page = await browser.form("/staff/totp", {"code": first}, page)
        assert status == 401 and "each works once" in page
        status, location, _ = await browser.form("/staff/totp", {"code": code_at(secret, 1)}, page)
        assert (status, location) == (303, "/review")
        assert (await browser.get("/review"))[0] == 200
    finally:
        await browser.http.close()


async def test_the_code_step_over_json_and_its_back_off(server: Any, tmp_path: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'totp.db'}"
    base = await server(database_url=database_url, totp_required_roles=REQUIRED, login_max_failures=3,
                        login_backoff_seconds=60)
    name = await _make(database_url, "supervisor")
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    try:
        csrf = await fresh_csrf(http, base)

        async def post(path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
            nonlocal csrf
            async with http.post(base.rstrip("/") + path, json=body,
                                 headers={"X-CSRF-Token": csrf, "Origin": base.rstrip("/")}) as r:
                data = await r.json()
            csrf = data.get("csrf_token") or csrf
            return r.status, data

        status, body = await post("/staff/login", {"username": name, "password": PASSWORD})
        assert status == 200 and body["next_step"] == "enrol"
        async with http.get(base.rstrip("/") + "/staff/totp/enrol") as r:
            secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', await r.text()).group(1)
        status, body = await post("/staff/totp/enrol", {"code": code_at(secret)})
        assert status == 200 and body["user"]["role"] == "supervisor"
        await post("/auth/logout", {})
        # As the widget does after a session change: ask for the current token.
        csrf = await fresh_csrf(http, base)
        status, body = await post("/staff/login", {"username": name, "password": PASSWORD})
        assert body["next_step"] == "totp"
        for bad in ("12345", "abcdef", None):
            status, body = await post("/staff/totp", {"code": bad})
            assert status == 400 and body["error"]["code"] in ("totp_code_invalid", "totp_code_missing")
        codes = [(await post("/staff/totp", {"code": "000000"}))[1]["error"]["code"] for _ in range(4)]
        assert codes[:3] == ["bad_totp_code"] * 3 and codes[3] == "too_many_attempts"
        # Once blocked, even the right code waits: six digits cannot be guessed by trying on.
        status, body = await post("/staff/totp", {"code": code_at(secret)})
        assert status == 429
    finally:
        await http.close()


async def test_roles_that_do_not_need_it_sign_in_with_a_password(server: Any, tmp_path: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'totp.db'}"
    base = await server(database_url=database_url, totp_required_roles=REQUIRED)
    name = await _make(database_url, "counsellor")
    browser = Browser(base)
    try:
        status, location, _ = await browser.sign_in(name)
        assert (status, location) == (303, "/console")
        assert (await browser.get("/console"))[0] == 200
    finally:
        await browser.http.close()


async def test_a_session_from_before_the_requirement_stops_working(server: Any, tmp_path: Path) -> None:
    """Turning the requirement on must not leave an un-enrolled analyst signed in by an older session."""
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'totp.db'}"
    relaxed = await server(database_url=database_url)
    strict = await server(database_url=database_url, totp_required_roles=REQUIRED)
    name = await _make(database_url, "analyst")
    browser = Browser(relaxed)
    try:
        status, location, _ = await browser.sign_in(name)
        assert (status, location) == (303, "/review")
        cookie = {k: v.value for k, v in browser.http.cookie_jar.filter_cookies(URL(relaxed)).items()}
        async with aiohttp.ClientSession(cookies=cookie) as other:
            async with other.get(strict.rstrip("/") + "/review", allow_redirects=False) as r:
                assert r.status == 303 and r.headers["Location"].startswith("/staff/login")
    finally:
        await browser.http.close()


def test_the_totp_enable_command_prints_the_key_once(tmp_path: Path) -> None:
    env = {**os.environ, "HAVEN_DATA_DIR": str(tmp_path), "HAVEN_LOG_LEVEL": "warning"}
    password = tmp_path / "pw"
    password.write_text(PASSWORD)
    run = [sys.executable, str(ROOT / "run.py")]
    subprocess.run(run + ["create-user", "--role", "analyst", "--username", "ana", "--password-file",
                          str(password)], cwd=ROOT, env=env, check=True, capture_output=True)
    done = subprocess.run(run + ["totp-enable", "--username", "ana"], cwd=ROOT, env=env, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
    secret = re.search(r"key: ([A-Z2-7]+)", done.stdout).group(1)
    assert "otpauth://totp/Haven:ana?secret=" + secret in done.stdout
    refused = subprocess.run(run + ["totp-enable", "--username", "nobody"], cwd=ROOT, env=env,
                             capture_output=True, text=True)
    assert refused.returncode == 2 and "no_staff_user" in refused.stderr


def test_demo_staff_get_keys_for_roles_that_need_them(tmp_path: Path) -> None:
    """A newcomer running `run.py serve` can still try every side: the key is printed with the password."""
    from tests.harness import LiveServer

    live = LiveServer(tmp_path / "demo", env={"HAVEN_DEMO_STAFF": "true", "HAVEN_TOTP_REQUIRED_ROLES":
                                              "supervisor,analyst"}).start()
    try:
        out = live.log_path.read_text()
    finally:
        live.stop()
    assert re.search(r"demo-supervisor\s+key: [A-Z2-7]{32}", out), out
    assert re.search(r"demo-analyst\s+key: [A-Z2-7]{32}", out), out
    assert "demo-counsellor  " not in out.split("Two-factor")[1]


def _secret_on(page: str) -> str:
    return re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)


async def test_the_enrolment_page_shows_one_secret_per_sign_in(server: Any, tmp_path: Path) -> None:
    """Issue 14: a GET made a new secret each time (a reload, or a link someone else sent, undid a scan)."""
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'totp.db'}"
    base = await server(database_url=database_url, totp_required_roles=REQUIRED)
    name = await _make(database_url, "analyst")
    mine, theirs = Browser(base), Browser(base)
    try:
        _, location, _ = await mine.sign_in(name, "/review")
        first = _secret_on((await mine.get(location))[2])
        assert _secret_on((await mine.get(location))[2]) == first
        # Someone else with the password signs in: their page never shows this sign-in's secret ...
        _, other_location, _ = await theirs.sign_in(name)
        other = _secret_on((await theirs.get(other_location))[2])
        assert other != first
        # ... and this browser is shown a secret of its own again, never theirs.
        _, _, page = await mine.get(location)
        again = _secret_on(page)
        assert again not in (first, other)
        # The replaced enrolment cannot be finished with the secret it showed.
        _, _, their_page = await theirs.get("/staff/login")
        status, where, _ = await theirs.form("/staff/totp/enrol", {"code": code_at(other)}, their_page)
        assert status == 303 and where.startswith("/staff/login")
        status, where, _ = await mine.form("/staff/totp/enrol", {"code": code_at(again), "next": "/review"}, page)
        assert (status, where) == (303, "/review")
    finally:
        await mine.http.close()
        await theirs.http.close()
