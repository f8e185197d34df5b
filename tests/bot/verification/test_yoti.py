"""The Yoti adapter against the fake Yoti: outcomes, faults, credentials and data minimisation."""

from __future__ import annotations

import base64
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from aiohttp import web

from bot.verification import (
    NotificationRejected,
    Outcome,
    ProviderRejected,
    ProviderUnavailable,
    SessionNotFound,
    VerificationProvider,
    YotiProvider,
)
from tests.fakes.fake_yoti import SENSITIVE_EXTRAS, FakeYoti

SECRET = "notify-secret-0123456789abcdef"
NOTIFY_URL = "https://haven.example/hooks/yoti"
CALLBACK_URL = "https://haven.example/chat/verified"

MakeYoti = Callable[..., YotiProvider]


@pytest.fixture
async def make_yoti(fake_yoti: FakeYoti) -> AsyncIterator[MakeYoti]:
    """Build adapters pointed at the fake, with test-sized timeouts and no real sleeping."""
    made: list[YotiProvider] = []

    def make(**overrides: Any) -> YotiProvider:
        settings: dict[str, Any] = {
            "api_key": fake_yoti.api_key,
            "sdk_id": fake_yoti.sdk_id,
            "notification_secret": SECRET,
            "base_url": fake_yoti.base_url,
            "timeout": 0.3,
            "connect_timeout": 0.3,
            "retry_attempts": 3,
            "retry_base_delay": 0.01,
            "retry_max_delay": 0.04,
        }
        settings.update(overrides)
        provider = YotiProvider(**settings)
        made.append(provider)
        return provider

    yield make
    for provider in made:
        await provider.aclose()


@pytest.fixture
def yoti(make_yoti: MakeYoti) -> YotiProvider:
    return make_yoti()


async def test_is_a_verification_provider(yoti: YotiProvider) -> None:
    assert isinstance(yoti, VerificationProvider)
    assert yoti.name == "yoti"


async def test_start_asks_for_an_under_18_check(yoti: YotiProvider, fake_yoti: FakeYoti) -> None:
    started = await yoti.start("conv-42", CALLBACK_URL, NOTIFY_URL)

    (create,) = fake_yoti.api_requests("POST")
    assert create.path == "/api/v1/sessions"
    assert create.headers["Authorization"] == f"Bearer {fake_yoti.api_key}"
    assert create.headers["Yoti-SDK-Id"] == fake_yoti.sdk_id
    body = create.json
    assert body["type"] == "UNDER"
    assert body["reference_id"] == "conv-42"
    assert body["callback"] == {"auto": True, "url": CALLBACK_URL}
    for method in ("age_estimation", "digital_id", "doc_scan"):
        assert body[method]["allowed"] is True
        assert body[method]["threshold"] == 18
    # The shared secret rides in the notification URL as basic-auth user info.
    notify = urlsplit(body["notification_url"])
    assert (notify.username, notify.password, notify.hostname) == ("yoti", SECRET, "haven.example")

    assert started.session_id in fake_yoti.sessions
    page = urlsplit(started.url)
    assert f"{page.scheme}://{page.netloc}" == fake_yoti.base_url
    assert parse_qs(page.query) == {"sessionId": [started.session_id], "sdkId": [fake_yoti.sdk_id]}
    async with httpx.AsyncClient() as client:
        assert (await client.get(started.url)).status_code == 200


@pytest.mark.parametrize(
    ("fake_outcome", "status", "under_18", "method"),
    [
        ("under_18", "complete", "yes", "age_estimation"),
        ("over_18", "complete", "no", "age_estimation"),
        ("failed", "failed", "unknown", "age_estimation"),
        ("abandoned", "abandoned", "unknown", "age_estimation"),
        ("expired", "expired", "unknown", "age_estimation"),
        ("pending", "pending", "unknown", None),
    ],
)
@pytest.mark.parametrize("check_type", ["UNDER", "OVER"])
async def test_every_outcome_maps(
    make_yoti: MakeYoti,
    fake_yoti: FakeYoti,
    fake_outcome: str,
    status: str,
    under_18: str,
    method: str | None,
    check_type: str,
) -> None:
    yoti = make_yoti(check_type=check_type)
    started = await yoti.start("conv-1", CALLBACK_URL, NOTIFY_URL)
    fake_yoti.set_outcome(fake_outcome, session_id=started.session_id)

    outcome = await yoti.fetch_outcome(started.session_id)

    assert (outcome.status, outcome.under_18, outcome.method) == (status, under_18, method)
    assert outcome.checked_at.tzinfo is not None
    assert outcome.checked_at.utcoffset() == timezone.utc.utcoffset(None)
    (fetch,) = fake_yoti.api_requests("GET")
    assert fetch.path == f"/api/v1/sessions/{started.session_id}/result"
    assert fetch.headers["Authorization"] == f"Bearer {fake_yoti.api_key}"


async def test_method_names_are_normalised(yoti: YotiProvider, fake_yoti: FakeYoti) -> None:
    started = await yoti.start("conv-1", CALLBACK_URL, NOTIFY_URL)
    fake_yoti.set_outcome("under_18", session_id=started.session_id, method="DOC_SCAN")
    assert (await yoti.fetch_outcome(started.session_id)).method == "doc_scan"
    fake_yoti.set_outcome("under_18", session_id=started.session_id, method="SOMETHING NEW!")
    assert (await yoti.fetch_outcome(started.session_id)).method == "other"


async def test_outcome_per_session_beats_the_global_one(yoti: YotiProvider, fake_yoti: FakeYoti) -> None:
    first = await yoti.start("conv-1", CALLBACK_URL, NOTIFY_URL)
    second = await yoti.start("conv-2", CALLBACK_URL, NOTIFY_URL)
    fake_yoti.set_outcome("over_18")
    fake_yoti.set_outcome("under_18", session_id=second.session_id)

    assert (await yoti.fetch_outcome(first.session_id)).under_18 == "no"
    assert (await yoti.fetch_outcome(second.session_id)).under_18 == "yes"


async def test_outcome_never_carries_identity_data(yoti: YotiProvider, fake_yoti: FakeYoti) -> None:
    started = await yoti.start("conv-1", CALLBACK_URL, NOTIFY_URL)
    fake_yoti.set_outcome("under_18")
    assert SENSITIVE_EXTRAS.keys() <= fake_yoti.result_payload(started.session_id).keys()

    outcome = await yoti.fetch_outcome(started.session_id)

    assert {f.name for f in dataclasses.fields(Outcome)} == {"status", "under_18", "method", "checked_at"}
    assert not hasattr(outcome, "__dict__")  # slots: nothing can be attached on the way out
    text = repr(outcome)
    for forbidden in ("2010-02-03", "14.6", SENSITIVE_EXTRAS["selfie"], "PASSPORT", "Test Person", "age=18"):
        assert forbidden not in text


async def test_slow_provider_times_out_then_gives_up(make_yoti: MakeYoti, fake_yoti: FakeYoti) -> None:
    yoti = make_yoti(timeout=0.2)
    started = await yoti.start("conv-1", CALLBACK_URL, NOTIFY_URL)
    fake_yoti.set_outcome("slow")
    began = time.monotonic()

    with pytest.raises(ProviderUnavailable):
        await yoti.fetch_outcome(started.session_id)

    assert len(fake_yoti.api_requests("GET")) == 3
    assert time.monotonic() - began < fake_yoti.slow_delay * 2


async def test_down_provider_retries_with_backoff_then_gives_up(
    make_yoti: MakeYoti, fake_yoti: FakeYoti
) -> None:
    pauses: list[float] = []

    async def record_sleep(seconds: float) -> None:
        pauses.append(seconds)

    yoti = make_yoti(retry_attempts=5, retry_base_delay=1.0, retry_max_delay=3.0, sleep=record_sleep)
    started = await yoti.start("conv-1", CALLBACK_URL, NOTIFY_URL)
    fake_yoti.set_outcome("down")

    with pytest.raises(ProviderUnavailable):
        await yoti.fetch_outcome(started.session_id)

    assert [r.status for r in fake_yoti.api_requests("GET")] == [503] * 5
    # Equal jitter: each pause lies in [cap/2, cap] with cap = min(3, 1 * 2**n).
    assert len(pauses) == 4
    for pause, cap in zip(pauses, [1.0, 2.0, 3.0, 3.0], strict=True):
        assert cap / 2 <= pause <= cap


async def test_backoff_uses_the_jitter_source(make_yoti: MakeYoti, fake_yoti: FakeYoti) -> None:
    pauses: list[float] = []

    async def record_sleep(seconds: float) -> None:
        pauses.append(seconds)

    yoti = make_yoti(retry_attempts=3, retry_base_delay=1.0, retry_max_delay=8.0, sleep=record_sleep, rng=lambda: 0.0)
    fake_yoti.set_outcome("down")
    with pytest.raises(ProviderUnavailable):
        await yoti.start("conv-1", CALLBACK_URL, NOTIFY_URL)
    assert pauses == [0.5, 1.0]


async def test_recovers_when_503s_stop(yoti: YotiProvider, fake_yoti: FakeYoti) -> None:
    started = await yoti.start("conv-1", CALLBACK_URL, NOTIFY_URL)
    fake_yoti.set_outcome("under_18")
    fake_yoti.set_outcome("down", times=2)

    outcome = await yoti.fetch_outcome(started.session_id)

    assert outcome.under_18 == "yes"
    assert [r.status for r in fake_yoti.api_requests("GET")] == [503, 503, 200]


async def test_recovers_when_the_server_comes_back(make_yoti: MakeYoti, fake_yoti: FakeYoti) -> None:
    async def sleep_then_restart(seconds: float) -> None:
        # The fake was unreachable for the first attempt; it is back for the second.
        await fake_yoti.come_back()

    yoti = make_yoti(sleep=sleep_then_restart)
    started = await yoti.start("conv-1", CALLBACK_URL, NOTIFY_URL)
    fake_yoti.set_outcome("under_18")
    await fake_yoti.go_offline()

    outcome = await yoti.fetch_outcome(started.session_id)

    assert outcome.under_18 == "yes"


async def test_connection_refused_gives_up(make_yoti: MakeYoti, fake_yoti: FakeYoti) -> None:
    yoti = make_yoti()
    await fake_yoti.go_offline()
    with pytest.raises(ProviderUnavailable):
        await yoti.start("conv-1", CALLBACK_URL, NOTIFY_URL)


async def test_dropped_connections_give_up(yoti: YotiProvider, fake_yoti: FakeYoti) -> None:
    started = await yoti.start("conv-1", CALLBACK_URL, NOTIFY_URL)
    fake_yoti.set_outcome("drop")
    with pytest.raises(ProviderUnavailable):
        await yoti.fetch_outcome(started.session_id)
    assert len(fake_yoti.api_requests("GET")) == 3


@pytest.mark.parametrize("wrong", ["api_key", "sdk_id"])
async def test_wrong_credentials_are_refused_without_retry(
    make_yoti: MakeYoti, fake_yoti: FakeYoti, wrong: str
) -> None:
    yoti = make_yoti(**{wrong: "not-the-right-one"})
    with pytest.raises(ProviderRejected) as caught:
        await yoti.start("conv-1", CALLBACK_URL, NOTIFY_URL)
    assert caught.value.status_code == 401
    assert [r.status for r in fake_yoti.api_requests()] == [401]
    assert fake_yoti.sessions == {}


async def test_unknown_session_is_not_found(yoti: YotiProvider, fake_yoti: FakeYoti) -> None:
    with pytest.raises(SessionNotFound):
        await yoti.fetch_outcome("0c4d1b5e-0000-4000-8000-000000000000")
    assert len(fake_yoti.api_requests()) == 1


async def test_malformed_session_id_never_reaches_the_network(yoti: YotiProvider, fake_yoti: FakeYoti) -> None:
    with pytest.raises(ValueError):
        await yoti.fetch_outcome("../../admin")
    assert fake_yoti.api_requests() == []


async def test_discard_deletes_and_ignores_unknown(yoti: YotiProvider, fake_yoti: FakeYoti) -> None:
    started = await yoti.start("conv-1", CALLBACK_URL, NOTIFY_URL)
    await yoti.discard(started.session_id)
    assert started.session_id not in fake_yoti.sessions
    await yoti.discard(started.session_id)  # 404 now: nothing to do
    assert [r.status for r in fake_yoti.api_requests("DELETE")] == [204, 404]


async def test_notification_with_right_credentials_names_the_session(
    yoti: YotiProvider, fake_yoti: FakeYoti
) -> None:
    started = await yoti.start("conv-1", CALLBACK_URL, NOTIFY_URL)
    fake_yoti.set_outcome("under_18")
    note = fake_yoti.notification(started.session_id)

    assert note.url == NOTIFY_URL
    assert await yoti.check_notification(note.headers, note.body) == started.session_id


@pytest.mark.parametrize("credentials", ["wrong", "none"])
async def test_notification_with_wrong_credentials_is_rejected(
    yoti: YotiProvider, fake_yoti: FakeYoti, credentials: Any
) -> None:
    started = await yoti.start("conv-1", CALLBACK_URL, NOTIFY_URL)
    note = fake_yoti.notification(started.session_id, credentials=credentials)
    with pytest.raises(NotificationRejected):
        await yoti.check_notification(note.headers, note.body)


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({"Authorization": f"Bearer {SECRET}"}, b'{"session_key": "abc"}'),
        ({"Authorization": "Basic !!!not-base64"}, b'{"session_key": "abc"}'),
        ({"authorization": "Basic " + base64.b64encode(f"yoti:{SECRET}".encode()).decode()}, b"not json"),
        ({"Authorization": "Basic " + base64.b64encode(f"yoti:{SECRET}".encode()).decode()}, b"[1, 2]"),
        ({"Authorization": "Basic " + base64.b64encode(f"yoti:{SECRET}".encode()).decode()}, b'{"session_key": "../x"}'),
        ({"Authorization": "Basic " + base64.b64encode(f"yoti:{SECRET}".encode()).decode()}, b"{}"),
    ],
)
async def test_malformed_notifications_are_rejected(
    yoti: YotiProvider, headers: dict[str, str], body: bytes
) -> None:
    with pytest.raises(NotificationRejected):
        await yoti.check_notification(headers, body)


async def test_signed_notifications_are_verified(make_yoti: MakeYoti, fake_yoti: FakeYoti) -> None:
    yoti = make_yoti(notification_secret=None, notification_public_key_pem=fake_yoti.public_key_pem)
    started = await yoti.start("conv-1", CALLBACK_URL, NOTIFY_URL)
    fake_yoti.set_outcome("over_18")

    good = fake_yoti.notification(started.session_id, credentials="none")
    assert await yoti.check_notification(good.headers, good.body) == started.session_id
    for signature in ("wrong", "none"):
        bad = fake_yoti.notification(started.session_id, credentials="none", signature=signature)  # type: ignore[arg-type]
        with pytest.raises(NotificationRejected):
            await yoti.check_notification(bad.headers, bad.body)


async def test_notification_is_only_a_trigger(yoti: YotiProvider, fake_yoti: FakeYoti) -> None:
    """A notification claiming COMPLETE changes nothing: the fetched result decides."""
    started = await yoti.start("conv-1", CALLBACK_URL, NOTIFY_URL)
    fake_yoti.set_outcome("under_18")
    note = fake_yoti.notification(started.session_id)
    fake_yoti.set_outcome("abandoned")

    session_id = await yoti.check_notification(note.headers, note.body)
    outcome = await yoti.fetch_outcome(session_id)

    assert (outcome.status, outcome.under_18) == ("abandoned", "unknown")


async def test_notification_delivered_over_http(
    yoti: YotiProvider, fake_yoti: FakeYoti, aiohttp_server: Any
) -> None:
    """The fake can deliver for real, as the web layer will receive it."""
    received: list[str] = []

    async def hook(request: web.Request) -> web.Response:
        try:
            received.append(await yoti.check_notification(request.headers, await request.read()))
        except NotificationRejected:
            return web.Response(status=401)
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/hooks/yoti", hook)
    haven = await aiohttp_server(app)
    notify_url = str(haven.make_url("/hooks/yoti"))

    started = await yoti.start("conv-1", CALLBACK_URL, notify_url)
    assert await fake_yoti.send_notification(started.session_id) == 200
    assert await fake_yoti.send_notification(started.session_id, credentials="wrong") == 401
    assert received == [started.session_id]


async def test_nothing_secret_or_personal_is_logged(
    make_yoti: MakeYoti, fake_yoti: FakeYoti, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    yoti = make_yoti()
    started = await yoti.start("conv-1", CALLBACK_URL, NOTIFY_URL)
    fake_yoti.set_outcome("under_18")
    fake_yoti.set_outcome("down", times=1)
    await yoti.fetch_outcome(started.session_id)
    fake_yoti.set_outcome("down")
    with pytest.raises(ProviderUnavailable) as caught:
        await yoti.fetch_outcome(started.session_id)
    note = fake_yoti.notification(started.session_id, credentials="wrong")
    with pytest.raises(NotificationRejected) as rejected:
        await yoti.check_notification(note.headers, note.body)

    assert "retrying" in caplog.text  # the retries are visible...
    texts = [caplog.text, str(caught.value), str(rejected.value), repr(yoti)]
    for secret in (fake_yoti.api_key, SECRET, "2010-02-03", SENSITIVE_EXTRAS["selfie"]):
        for text in texts:  # ...but no key, secret or payload is
            assert secret not in text


def test_refuses_incomplete_settings() -> None:
    with pytest.raises(ValueError):
        YotiProvider(api_key="", sdk_id="x", notification_secret=SECRET)
    with pytest.raises(ValueError):
        YotiProvider(api_key="k", sdk_id="x")
    with pytest.raises(ValueError):
        YotiProvider(api_key="k", sdk_id="x", notification_secret="short")
