"""The demo provider, the provider factory and the rule that keeps the demo off real deployments."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.verification import (
    DEMO_OUTCOMES,
    DemoNotAllowed,
    DemoProvider,
    NotificationRejected,
    ProviderConfigError,
    SessionNotFound,
    UnknownDemoOutcome,
    VerificationProvider,
    YotiProvider,
    check_demo_provider,
    make_provider,
)

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def demo(session_maker: async_sessionmaker[AsyncSession]) -> DemoProvider:
    return DemoProvider(session_maker=session_maker)


async def test_start_gives_a_haven_page(demo: DemoProvider) -> None:
    assert isinstance(demo, VerificationProvider)
    started = await demo.start("conv-1", "https://haven.example/back", "https://haven.example/hook")
    assert started.url == f"/verify/demo/{started.session_id}"
    assert len(started.session_id) >= 20  # the URL is the only key to the page


@pytest.mark.parametrize(
    ("name", "status", "under_18"),
    [
        ("under_18", "complete", "yes"),
        ("over_18", "complete", "no"),
        ("failed", "failed", "unknown"),
        ("abandoned", "abandoned", "unknown"),
        ("expired", "expired", "unknown"),
    ],
)
async def test_chosen_outcome_is_fetched(
    session_maker: async_sessionmaker[AsyncSession], name: str, status: str, under_18: str
) -> None:
    # Two provider objects on one database stand for two server processes.
    page_process = DemoProvider(session_maker=session_maker)
    chat_process = DemoProvider(session_maker=session_maker)
    started = await chat_process.start("conv-1", "", "")
    assert (await chat_process.fetch_outcome(started.session_id)).status == "pending"

    assert await page_process.choose(started.session_id, name) is True
    outcome = await chat_process.fetch_outcome(started.session_id)

    assert (outcome.status, outcome.under_18, outcome.method) == (status, under_18, "demo")
    assert outcome.checked_at.tzinfo is not None


async def test_first_choice_wins(demo: DemoProvider) -> None:
    started = await demo.start("conv-1", "", "")
    assert await demo.choose(started.session_id, "under_18") is True
    assert await demo.choose(started.session_id, "over_18") is False
    assert (await demo.fetch_outcome(started.session_id)).under_18 == "yes"


async def test_bad_choices_are_refused(demo: DemoProvider) -> None:
    started = await demo.start("conv-1", "", "")
    with pytest.raises(UnknownDemoOutcome):
        await demo.choose(started.session_id, "twelve")
    with pytest.raises(SessionNotFound):
        await demo.choose("no-such-session", "under_18")
    with pytest.raises(SessionNotFound):
        await demo.fetch_outcome("no-such-session")
    assert set(DEMO_OUTCOMES) == {"under_18", "over_18", "failed", "abandoned", "expired"}


async def test_discard_and_notifications(demo: DemoProvider) -> None:
    started = await demo.start("conv-1", "", "")
    await demo.discard(started.session_id)
    await demo.discard(started.session_id)
    with pytest.raises(SessionNotFound):
        await demo.fetch_outcome(started.session_id)
    with pytest.raises(NotificationRejected):
        await demo.check_notification({}, b'{"session_key": "x"}')


async def test_factory_builds_each_provider(session_maker: async_sessionmaker[AsyncSession]) -> None:
    demo = make_provider("demo", session_maker=session_maker)
    assert isinstance(demo, DemoProvider) and check_demo_provider(demo) is demo

    yoti = make_provider("yoti", api_key="k", sdk_id="s", notification_secret="0123456789abcdef")
    try:
        assert isinstance(yoti, YotiProvider)
        with pytest.raises(DemoNotAllowed):
            check_demo_provider(yoti)
    finally:
        await yoti.aclose()

    with pytest.raises(ProviderConfigError):
        make_provider("nobody", session_maker=session_maker)


async def test_demo_is_refused_when_yoti_is_configured(session_maker: async_sessionmaker[AsyncSession]) -> None:
    with pytest.raises(ProviderConfigError, match="demo provider is refused"):
        make_provider("demo", session_maker=session_maker, api_key="live-key", sdk_id="live-sdk")
    # Empty values (unset environment variables) are not a configured provider.
    assert isinstance(make_provider("demo", session_maker=session_maker, api_key=""), DemoProvider)


def test_verification_code_stays_off_the_transport_and_settings() -> None:
    forbidden = {"aiohttp", "socketio", "engineio", "config", "handlers", "web"}
    files = [*sorted((ROOT / "bot" / "verification").glob("*.py")), ROOT / "bot" / "models" / "verification.py"]
    for path in files:
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in forbidden, f"{path.name} imports {name}"
        docstring = ast.get_docstring(tree)
        assert docstring and "\n" not in docstring.strip(), f"{path.name} needs a one-line module docstring"


async def test_factory_names_a_foreign_setting(session_maker: async_sessionmaker[AsyncSession]) -> None:
    with pytest.raises(ProviderConfigError, match="timeout"):
        make_provider("demo", session_maker=session_maker, timeout=3.0)
