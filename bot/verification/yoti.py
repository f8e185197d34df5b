"""Adapter for Yoti's Age Verification Service (age.yoti.com): under-18 checks for Report Remove."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import logging
import random
import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timezone
from typing import Any, Literal
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import httpx

from bot.models.base import utcnow
from bot.verification.base import (
    NotificationRejected,
    Outcome,
    ProviderError,
    ProviderRejected,
    ProviderUnavailable,
    RetryPolicy,
    SessionNotFound,
    StartedVerification,
    Status,
    Under18,
)

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://age.yoti.com"
# Yoti cannot add headers of our choosing to its notifications, so the shared secret
# travels as basic-auth user info in the notification URL we register; HTTP clients
# turn that into an Authorization header. This username is fixed; the password is the secret.
NOTIFY_USERNAME = "yoti"
# Yoti documents these methods; anything else it may add later is kept only by a safe short name.
_METHODS = {
    "AGE_ESTIMATION": "age_estimation",
    "DIGITAL_ID": "digital_id",
    "DOC_SCAN": "doc_scan",
    "CREDIT_CARD": "credit_card",
    "MOBILE": "mobile",
}
_METHOD_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_MAX_NOTIFICATION_BYTES = 16 * 1024

Sleep = Callable[[float], Awaitable[None]]


class YotiProvider:
    """Starts Yoti sessions, authenticates Yoti's notifications and fetches results.

    Every response is reduced to an Outcome inside this class: Yoti's payload
    (which can carry an age, evidence ids and the URLs we registered) never
    leaves it and is never logged.
    """

    name = "yoti"

    def __init__(
        self,
        *,
        api_key: str,
        sdk_id: str,
        notification_secret: str | None = None,
        notification_public_key_pem: str | None = None,
        base_url: str = DEFAULT_BASE_URL,
        page_base_url: str | None = None,
        age_threshold: int = 18,
        check_type: Literal["UNDER", "OVER"] = "UNDER",
        methods: tuple[str, ...] = ("age_estimation", "digital_id", "doc_scan"),
        session_ttl: int = 900,
        connect_timeout: float = 5.0,
        timeout: float = 10.0,
        retry_attempts: int = 4,
        retry_base_delay: float = 0.5,
        retry_max_delay: float = 8.0,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        if not api_key or not sdk_id:
            raise ValueError("Yoti needs an API key and an SDK id")
        if not notification_secret and not notification_public_key_pem:
            raise ValueError("Yoti notifications need a shared secret or Yoti's public key")
        if notification_secret is not None and len(notification_secret) < 16:
            raise ValueError("the notification secret must be at least 16 characters")
        if not 60 <= session_ttl <= 31 * 24 * 3600:
            # Yoti's documented bounds: at least a minute, at most a month.
            raise ValueError("session_ttl must be between 60 seconds and a month")
        unknown = set(methods) - set(_METHODS.values())
        if not methods or unknown:
            raise ValueError(f"unsupported Yoti methods: {sorted(unknown) or 'none given'}")
        self._sdk_id = sdk_id
        self._secret = notification_secret
        self._public_key = _load_public_key(notification_public_key_pem) if notification_public_key_pem else None
        self._page_base_url = (page_base_url or base_url).rstrip("/")
        self._threshold = age_threshold
        self._check_type = check_type
        self._methods = methods
        self._ttl = session_ttl
        self._retry = RetryPolicy(retry_attempts, retry_base_delay, retry_max_delay)
        self._sleep = sleep
        self._rng = rng
        self._client = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers={
                "Authorization": f"Bearer {api_key}",
                "Yoti-SDK-Id": sdk_id,
                "Accept": "application/json",
            },
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            transport=transport,
            # Redirects would carry our bearer token somewhere we did not choose.
            follow_redirects=False,
        )

    def __repr__(self) -> str:
        # Never show the key or secret, even in a traceback's locals.
        return f"YotiProvider(base_url={str(self._client.base_url)!r})"

    async def aclose(self) -> None:
        await self._client.aclose()

    async def start(self, reference: str, callback_url: str, notify_url: str) -> StartedVerification:
        body: dict[str, Any] = {
            "type": self._check_type,
            "ttl": self._ttl,
            "reference_id": reference,
            "callback": {"auto": True, "url": callback_url},
            # The child who gives up lands back in the chat, which then asks for the outcome.
            "cancel_url": callback_url,
            "notification_url": self._notification_url(notify_url),
            # Hold the child on Yoti's page until a document check has a result, so the
            # first fetch after the redirect usually sees a final outcome.
            "synchronous_checks": True,
        }
        for method in self._methods:
            body[method] = self._method_config(method)
        # A retried POST may leave an unused session behind at Yoti; it expires with its ttl.
        response = await self._request("create session", "POST", "/api/v1/sessions", body=body)
        session_id = _read_json(response).get("id")
        if not isinstance(session_id, str) or not _SESSION_ID.match(session_id):
            raise ProviderError("Yoti's session response had no usable id")
        query = urlencode({"sessionId": session_id, "sdkId": self._sdk_id})
        return StartedVerification(session_id=session_id, url=f"{self._page_base_url}/?{query}")

    async def check_notification(self, headers: Mapping[str, str], body: bytes) -> str:
        if len(body) > _MAX_NOTIFICATION_BYTES:
            raise NotificationRejected("notification too large")
        if self._secret is not None:
            self._check_basic_auth(headers)
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise NotificationRejected("notification body is not JSON") from exc
        if not isinstance(payload, dict):
            raise NotificationRejected("notification body is not an object")
        if self._public_key is not None:
            _check_signature(self._public_key, payload)
        session_id = payload.get("session_key")
        if not isinstance(session_id, str) or not _SESSION_ID.match(session_id):
            raise NotificationRejected("notification names no session")
        return session_id

    async def fetch_outcome(self, session_id: str) -> Outcome:
        _check_session_id(session_id)
        response = await self._request("fetch result", "GET", f"/api/v1/sessions/{session_id}/result")
        return self._outcome_from(_read_json(response))

    async def discard(self, session_id: str) -> None:
        _check_session_id(session_id)
        # Assumed endpoint: Yoti's public AV pages document no delete, but its other
        # session APIs use DELETE on the session resource. 404 means nothing to delete.
        try:
            await self._request("delete session", "DELETE", f"/api/v1/sessions/{session_id}")
        except SessionNotFound:
            return

    def _method_config(self, method: str) -> dict[str, Any]:
        config: dict[str, Any] = {"allowed": True, "threshold": self._threshold, "retry_limit": 1}
        if method == "age_estimation":
            config["level"] = "PASSIVE"  # passive liveness: a photo of a photo should not pass
        elif method == "doc_scan":
            config.update(authenticity="AUTO", level="PASSIVE")
        else:
            config["level"] = "NONE"
        return config

    def _notification_url(self, notify_url: str) -> str:
        if self._secret is None:
            return notify_url
        parts = urlsplit(notify_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("notify_url must be an absolute http(s) URL")
        host = parts.netloc.rsplit("@", 1)[-1]
        userinfo = f"{quote(NOTIFY_USERNAME, safe='')}:{quote(self._secret, safe='')}"
        return urlunsplit((parts.scheme, f"{userinfo}@{host}", parts.path, parts.query, parts.fragment))

    def _check_basic_auth(self, headers: Mapping[str, str]) -> None:
        value = _header(headers, "authorization")
        scheme, _, encoded = value.partition(" ")
        if scheme.lower() != "basic":
            raise NotificationRejected("notification without credentials")
        try:
            given = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise NotificationRejected("notification credentials unreadable") from exc
        expected = f"{NOTIFY_USERNAME}:{self._secret}".encode()
        if not hmac.compare_digest(given, expected):
            raise NotificationRejected("notification credentials wrong")

    def _outcome_from(self, payload: dict[str, Any]) -> Outcome:
        """Reduce Yoti's result to an Outcome; every other field is dropped here."""
        state = payload.get("status")
        status: Status
        under_18: Under18 = "unknown"
        if state in ("COMPLETE", "FAIL"):
            # COMPLETE: the threshold test passed; FAIL: it was answered and did not.
            status = "complete"
            passed = state == "COMPLETE"
            is_under = passed if self._check_type == "UNDER" else not passed
            under_18 = "yes" if is_under else "no"
        elif state == "ERROR":
            status = "failed"
        elif state == "CANCELLED":
            status = "abandoned"
        elif state == "EXPIRED":
            status = "expired"
        else:
            # PENDING, IN_PROGRESS, and any state Yoti adds later (its docs warn they
            # may): not final, so Haven simply asks again later.
            status = "pending"
        method = _method_name(payload.get("method")) if status != "pending" else None
        checked_at = utcnow()
        if status != "pending":
            checked_at = _parse_time(payload.get("updated_at")) or checked_at
        return Outcome(status=status, under_18=under_18, method=method, checked_at=checked_at)

    async def _request(
        self, operation: str, method: str, path: str, body: dict[str, Any] | None = None
    ) -> httpx.Response:
        """Send one API call, retrying what may pass on a second try; log no payloads or secrets."""
        delays = self._retry.delays(self._rng)
        attempt = 0
        while True:
            attempt += 1
            reason: str
            try:
                response = await self._client.request(method, path, json=body)
            except httpx.TransportError as exc:  # timeouts, refused and dropped connections
                reason = type(exc).__name__
            else:
                if response.status_code < 400:
                    return response
                if response.status_code == 404:
                    raise SessionNotFound("Yoti does not know this session", 404)
                if response.status_code < 500:
                    raise ProviderRejected(f"Yoti refused {operation}", response.status_code)
                reason = f"HTTP {response.status_code}"
            delay = next(delays, None)
            if delay is None:
                log.warning("yoti %s failed after %d attempts (%s)", operation, attempt, reason)
                raise ProviderUnavailable(f"Yoti unavailable for {operation} ({reason})")
            log.info("yoti %s attempt %d failed (%s); retrying in %.2fs", operation, attempt, reason, delay)
            await self._sleep(delay)


def _header(headers: Mapping[str, str], name: str) -> str:
    # The web layer may hand over a case-insensitive multidict or a plain dict.
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return ""


def _check_session_id(session_id: str) -> None:
    # The id is interpolated into a URL path; refuse anything that could change the path.
    if not _SESSION_ID.match(session_id):
        raise ValueError("malformed provider session id")


def _read_json(response: httpx.Response) -> dict[str, Any]:
    try:
        payload = response.json()
    except ValueError as exc:
        raise ProviderError("Yoti sent a response that is not JSON") from exc
    if not isinstance(payload, dict):
        raise ProviderError("Yoti sent a response that is not a JSON object")
    return payload


def _method_name(value: object) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    name = _METHODS.get(value.upper(), value.lower())
    return name if _METHOD_NAME.match(name) else "other"


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.astimezone(timezone.utc)


def _load_public_key(pem: str) -> Any:
    # Imported lazily: only deployments that verify Yoti's signatures pay for it.
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    key = load_pem_public_key(pem.encode())
    if not isinstance(key, RSAPublicKey):
        raise ValueError("Yoti's notification key must be an RSA public key")
    return key


def _check_signature(public_key: Any, payload: dict[str, Any]) -> None:
    """Verify Yoti's RSA-PSS/SHA-256 signature over the notification, as Yoti documents it.

    The signed text is the payload without `signature` and `sequence_number`, as
    compact JSON in Yoti's key order; Yoti's docs also say to strip all spaces,
    so both spellings are tried (they differ only when a value holds a space).
    """
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    signature_b64 = payload.get("signature")
    if not isinstance(signature_b64, str):
        raise NotificationRejected("notification is not signed")
    try:
        signature = base64.b64decode(signature_b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise NotificationRejected("notification signature unreadable") from exc
    signed = {k: v for k, v in payload.items() if k not in ("signature", "sequence_number")}
    compact = json.dumps(signed, separators=(",", ":"), ensure_ascii=False)
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)
    for text in dict.fromkeys((compact, compact.replace(" ", ""))):
        try:
            public_key.verify(signature, text.encode(), pss, hashes.SHA256())
            return
        except InvalidSignature:
            continue
    raise NotificationRejected("notification signature wrong")
