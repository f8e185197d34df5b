"""Logs never contain message text, passwords, session tokens or CSRF tokens, even at debug level."""

from __future__ import annotations

import logging

import pytest

from tests.harness import wait_for


async def test_nothing_private_reaches_the_logs(server, people, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    base = await server(log_level="debug")
    secret_password = "purple-otter-password-77"
    kid = await people.child(base, password=secret_password)
    client = await kid.connect("/chat")
    await client.call("hello", {"after": 0}, namespace="/chat", timeout=10)
    private = "my secret is that I live at 12 Acacia Avenue"
    await client.call("say", {"text": private, "client_id": "c-private"}, namespace="/chat", timeout=10)
    await client.call("say", {"text": "x" * 5000, "client_id": "c-long"}, namespace="/chat", timeout=10)
    await wait_for(lambda: any(private == m["text"] for m in kid.received("message")))
    await kid.post("/auth/login", {"username": kid.username, "password": "wrong-" + secret_password})
    session_token = kid.cookie_header()
    text = caplog.text + "\n".join(str(r.args) for r in caplog.records)
    assert caplog.records, "expected some log records at debug level"
    for needle in (secret_password, private, "Acacia", kid.csrf):
        assert needle not in text
    for part in session_token.split("; "):
        assert part.split("=", 1)[1] not in text


async def test_access_log_keeps_no_query_string(server, caplog: pytest.LogCaptureFixture) -> None:
    import aiohttp

    from web.access import QuietAccessLogger

    caplog.set_level(logging.INFO, logger="haven.test.access")
    logger = QuietAccessLogger(logging.getLogger("haven.test.access"), "")

    class Resource:
        canonical = "/verify/done"

    class Req:
        method = "GET"
        path = "/verify/done"
        match_info = type("MatchInfo", (), {"route": type("Route", (), {"resource": Resource()})()})()

    class Resp:
        status = 200

    logger.log(Req(), Resp(), 0.01)  # type: ignore[arg-type]
    assert "GET /verify/done 200" in caplog.text and "?" not in caplog.text
    base = await server()
    async with aiohttp.ClientSession() as http:
        async with http.get(base + "healthz?token=abc123secret") as r:
            assert r.status == 200
    assert "abc123secret" not in caplog.text


async def test_access_log_names_the_route_not_the_upload_address(server, caplog: pytest.LogCaptureFixture) -> None:
    """Issue 14: the one-time upload token is in the path; the log shows /upload/{token} instead."""
    import aiohttp

    from tests.harness import sign_up_child
    from tests.test_security_matrix import Who, upload_token_of

    caplog.set_level(logging.INFO, logger="aiohttp.access")
    base = await server()
    kid = await sign_up_child(base)
    try:
        token = await upload_token_of(Who("child", base, kid.http, kid.csrf))
        form = aiohttp.FormData()
        form.add_field("file", b"not an image at all", filename="a.txt", content_type="text/plain")
        async with kid.http.post(base + f"upload/{token}", data=form,
                                 headers={"X-CSRF-Token": kid.csrf, "Origin": base.rstrip("/")}) as r:
            await r.read()
        async with kid.http.get(base + f"nothing-here/{token}") as r:
            assert r.status == 404
    finally:
        await kid.close()
    access = "\n".join(record.getMessage() for record in caplog.records if record.name == "aiohttp.access")
    assert "POST /upload/{token} " in access and "GET (no route) 404" in access
    assert token not in caplog.text
