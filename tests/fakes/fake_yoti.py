"""A fake Yoti Age Verification server speaking the HTTP API the adapter uses, with faults on demand."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, Literal
from urllib.parse import unquote, urlsplit, urlunsplit

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

ResultOutcome = Literal["pending", "under_18", "over_18", "failed", "abandoned", "expired"]
Fault = Literal["slow", "down", "drop"]
RESULT_OUTCOMES: tuple[str, ...] = ("pending", "under_18", "over_18", "failed", "abandoned", "expired")
FAULTS: tuple[str, ...] = ("slow", "down", "drop")

# Fields a real provider might hold and Haven must never keep; the fake returns them
# on purpose so tests can prove the adapter drops them.
SENSITIVE_EXTRAS: dict[str, Any] = {
    "date_of_birth": "2010-02-03",
    "estimated_age": 14.6,
    "selfie": base64.b64encode(b"synthetic-not-a-photo").decode(),
    "document": {"type": "PASSPORT", "number": "000000000", "full_name": "Test Person"},
}


@dataclass(slots=True)
class RecordedRequest:
    """One call the fake received, as the adapter sent it; status 0 while still being answered."""

    method: str
    path: str
    headers: dict[str, str]
    json: Any
    status: int = 0


@dataclass(frozen=True, slots=True)
class NotificationRequest:
    """What Yoti would POST to Haven's notify URL."""

    url: str
    headers: dict[str, str]
    body: bytes


@dataclass(slots=True)
class _Session:
    config: dict[str, Any]
    created_at: datetime
    outcome: str | None = None
    method: str = "AGE_ESTIMATION"


@dataclass(slots=True)
class _FaultState:
    kind: str
    remaining: int | None  # None: until recover()


@lru_cache(maxsize=2)
def _rsa_key(label: str) -> rsa.RSAPrivateKey:
    # Cached per label: key generation is the slowest thing in these tests.
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class FakeYoti:
    """In-process fake of age.yoti.com's session API.

    Checks the bearer API key and SDK id on every API call (401 otherwise), keeps
    sessions in memory, and answers with the outcome each test picks (per session
    or for all). Faults (slow, down, drop) can last for a number of requests.
    """

    def __init__(self, *, api_key: str, sdk_id: str, slow_delay: float = 2.0) -> None:
        self.api_key = api_key
        self.sdk_id = sdk_id
        self.slow_delay = slow_delay
        self.requests: list[RecordedRequest] = []
        self.sessions: dict[str, _Session] = {}
        self.default_outcome: str = "pending"
        self._faults: dict[str | None, _FaultState] = {}
        self._closing = asyncio.Event()
        self._server: TestServer | None = None
        self._port: int | None = None
        self._signing_key = _rsa_key("yoti")

    # -- lifecycle ---------------------------------------------------------

    async def start(self) -> None:
        self._closing.clear()
        self._server = TestServer(self._make_app(), host="127.0.0.1", port=self._port)
        await self._server.start_server()
        self._port = self._server.port

    async def close(self) -> None:
        # Wake slow handlers first so shutdown never waits out their delay.
        self._closing.set()
        if self._server is not None:
            await self._server.close()
            self._server = None

    async def go_offline(self) -> None:
        """Stop listening: calls now fail with connection refused."""
        await self.close()

    async def come_back(self) -> None:
        """Listen again on the same port, with the same sessions."""
        await self.start()

    @property
    def base_url(self) -> str:
        assert self._port is not None, "fake Yoti not started"
        return f"http://127.0.0.1:{self._port}"

    @property
    def public_key_pem(self) -> str:
        return self._signing_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()

    # -- test controls -----------------------------------------------------

    def set_outcome(
        self,
        outcome: str,
        *,
        session_id: str | None = None,
        times: int | None = None,
        method: str = "AGE_ESTIMATION",
    ) -> None:
        """Choose a result (RESULT_OUTCOMES) or a fault (FAULTS), for one session or all.

        A fault lasts `times` requests (all of them if None) and then the fake recovers.
        """
        if outcome in FAULTS:
            self._faults[session_id] = _FaultState(outcome, times)
        elif outcome in RESULT_OUTCOMES:
            if session_id is None:
                self.default_outcome = outcome
                for session in self.sessions.values():
                    session.outcome = None
                    session.method = method
            else:
                self.sessions[session_id].outcome = outcome
                self.sessions[session_id].method = method
        else:
            raise ValueError(f"unknown fake Yoti outcome {outcome!r}")

    def recover(self) -> None:
        """Clear every fault."""
        self._faults.clear()

    def api_requests(self, method: str | None = None) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.startswith("/api/") and (method is None or r.method == method)]

    def result_payload(self, session_id: str) -> dict[str, Any]:
        """The result JSON Yoti's GET /result gives, shaped as its docs show, plus sensitive extras."""
        session = self.sessions[session_id]
        outcome = session.outcome or self.default_outcome
        config = session.config
        state = self._state(outcome, config.get("type", "OVER"))
        now = datetime.now(timezone.utc)
        payload: dict[str, Any] = {
            "sdk_id": self.sdk_id,
            "callback_url": config.get("callback", {}).get("url", ""),
            "notification_url": config.get("notification_url", ""),
            "cancel_url": config.get("cancel_url", ""),
            "type": config.get("type"),
            "age_estimation": config.get("age_estimation", {}),
            "digital_id": config.get("digital_id", {}),
            "doc_scan": config.get("doc_scan", {}),
            "status": state,
            "reference_id": config.get("reference_id", ""),
            "created_at": session.created_at.isoformat().replace("+00:00", "Z"),
            "expires_at": (session.created_at + timedelta(seconds=config.get("ttl", 900))).isoformat(),
            "updated_at": now.isoformat().replace("+00:00", "Z"),
            "id": session_id,
        }
        if state not in ("PENDING", "IN_PROGRESS"):
            payload.update(
                age=18,
                method=session.method,
                evidence_id=str(uuid.uuid4()),
                biometric_consent_required=True,
                **SENSITIVE_EXTRAS,
            )
        return payload

    def notification(
        self,
        session_id: str,
        *,
        credentials: Literal["correct", "wrong", "none"] = "correct",
        signature: Literal["valid", "wrong", "none"] = "valid",
        sequence_number: int = 1,
    ) -> NotificationRequest:
        """Build the notification Yoti would send for a session (Yoti documents this body)."""
        session = self.sessions[session_id]
        registered = session.config["notification_url"]
        parts = urlsplit(registered)
        url = urlunsplit((parts.scheme, parts.netloc.rsplit("@", 1)[-1], parts.path, parts.query, ""))
        headers = {"Content-Type": "application/json"}
        if credentials != "none" and parts.username is not None:
            password = unquote(parts.password or "")
            if credentials == "wrong":
                password = password[:-1] + ("x" if not password.endswith("x") else "y")
            token = base64.b64encode(f"{unquote(parts.username)}:{password}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        payload = self.result_payload(session_id)
        body: dict[str, Any] = {
            "method": payload.get("method", "AGE_ESTIMATION"),
            "result": payload["status"] == "COMPLETE",
            "age": 18,
            "session_key": session_id,
            "reference_id": session.config.get("reference_id", ""),
            "id": str(uuid.uuid4()),
            "timestamp": int(datetime.now(timezone.utc).timestamp()),
            "notification_url": registered,
            "evidence_id": str(uuid.uuid4()),
            "state": payload["status"],
            "check_type": "PASSIVE",
        }
        if signature != "none":
            key = self._signing_key if signature == "valid" else _rsa_key("someone-else")
            signed = json.dumps(body, separators=(",", ":")).encode()
            raw = key.sign(
                signed,
                padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.MAX_LENGTH),
                hashes.SHA256(),
            )
            body["signature"] = base64.b64encode(raw).decode()
        body["sequence_number"] = sequence_number
        return NotificationRequest(url=url, headers=headers, body=json.dumps(body).encode())

    async def send_notification(self, session_id: str, **options: Any) -> int:
        """POST the notification to Haven's notify URL; returns the HTTP status Haven answered."""
        request = self.notification(session_id, **options)
        async with aiohttp.ClientSession() as client:
            async with client.post(request.url, data=request.body, headers=request.headers) as response:
                return response.status

    # -- the HTTP side -----------------------------------------------------

    def _make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._record, self._faults_middleware, self._auth])
        app.router.add_post("/api/v1/sessions", self._create)
        app.router.add_get("/api/v1/sessions/{session_id}/result", self._result)
        app.router.add_delete("/api/v1/sessions/{session_id}", self._delete)
        app.router.add_get("/", self._page)
        return app

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        body = None
        if request.can_read_body:
            try:
                body = await request.json()
            except ValueError:
                body = None
        # Recorded on arrival, so a request still held by a "slow" fault is counted.
        record = RecordedRequest(request.method, request.path, dict(request.headers), body)
        self.requests.append(record)
        try:
            response = await handler(request)
            record.status = response.status
            return response
        except web.HTTPException as exc:
            record.status = exc.status
            raise

    @web.middleware
    async def _faults_middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if not request.path.startswith("/api/"):
            return await handler(request)
        fault = self._take_fault(request.match_info.get("session_id"))
        if fault == "down":
            return web.json_response({"error": "service unavailable"}, status=503)
        if fault == "drop":
            if request.transport is not None:
                request.transport.abort()
            # Nothing can be sent on an aborted connection; end the handler quietly.
            raise web.HTTPServiceUnavailable()
        if fault == "slow":
            try:
                await asyncio.wait_for(self._closing.wait(), timeout=self.slow_delay)
            except TimeoutError:
                pass
        return await handler(request)

    @web.middleware
    async def _auth(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path.startswith("/api/"):
            good_key = secrets.compare_digest(request.headers.get("Authorization", ""), f"Bearer {self.api_key}")
            good_sdk = secrets.compare_digest(request.headers.get("Yoti-SDK-Id", ""), self.sdk_id)
            if not (good_key and good_sdk):
                return web.json_response({"error": "UNAUTHORISED"}, status=401)
        return await handler(request)

    def _take_fault(self, session_id: str | None) -> str | None:
        for key in (session_id, None) if session_id is not None else (None,):
            state = self._faults.get(key)
            if state is None:
                continue
            if state.remaining is not None:
                state.remaining -= 1
                if state.remaining <= 0:
                    del self._faults[key]
            return state.kind
        return None

    async def _create(self, request: web.Request) -> web.Response:
        try:
            config = await request.json()
        except ValueError:
            return web.json_response({"error": "MALFORMED_REQUEST"}, status=400)
        methods = ("age_estimation", "digital_id", "doc_scan", "credit_card", "mobile")
        if (
            not isinstance(config, dict)
            or config.get("type") not in ("OVER", "UNDER", "AGE")
            or not any(isinstance(config.get(m), dict) and config[m].get("allowed") for m in methods)
        ):
            return web.json_response({"error": "MALFORMED_REQUEST"}, status=400)
        session_id = str(uuid.uuid4())
        created = datetime.now(timezone.utc)
        self.sessions[session_id] = _Session(config=config, created_at=created)
        expires = created + timedelta(seconds=int(config.get("ttl", 900)))
        return web.json_response(
            {"id": session_id, "status": "PENDING", "expires_at": expires.isoformat()}, status=201
        )

    async def _result(self, request: web.Request) -> web.Response:
        session_id = request.match_info["session_id"]
        if session_id not in self.sessions:
            return web.json_response({"error": "SESSION_NOT_FOUND"}, status=404)
        return web.json_response(self.result_payload(session_id))

    async def _delete(self, request: web.Request) -> web.Response:
        if self.sessions.pop(request.match_info["session_id"], None) is None:
            return web.json_response({"error": "SESSION_NOT_FOUND"}, status=404)
        return web.Response(status=204)

    async def _page(self, request: web.Request) -> web.Response:
        session_id = request.query.get("sessionId", "")
        if session_id not in self.sessions or request.query.get("sdkId") != self.sdk_id:
            return web.Response(status=404, text="no such session")
        return web.Response(text="<!doctype html><title>Fake Yoti</title><p>Age check</p>", content_type="text/html")

    @staticmethod
    def _state(outcome: str, check_type: str) -> str:
        if outcome in ("under_18", "over_18"):
            # The threshold test "passes" (COMPLETE) when the user is on the asked side of it.
            wanted = "under_18" if check_type == "UNDER" else "over_18"
            return "COMPLETE" if outcome == wanted else "FAIL"
        return {"pending": "PENDING", "failed": "ERROR", "abandoned": "CANCELLED", "expired": "EXPIRED"}[outcome]


@pytest.fixture
async def fake_yoti() -> AsyncIterator[FakeYoti]:
    """A running fake Yoti on a free 127.0.0.1 port, with fresh credentials per test."""
    fake = FakeYoti(api_key=f"test-api-key-{secrets.token_hex(8)}", sdk_id=str(uuid.uuid4()))
    await fake.start()
    try:
        yield fake
    finally:
        await fake.close()
