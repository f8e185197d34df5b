"""Chooses the one age-check provider a deployment uses, and keeps the demo away from real ones."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.verification.base import VerificationProvider
from bot.verification.demo import DemoProvider
from bot.verification.yoti import YotiProvider

PROVIDER_NAMES = ("demo", "yoti")
# Settings that only make sense for a real provider; seeing any with "demo" means a mix-up.
_REAL_PROVIDER_SETTINGS = frozenset({"api_key", "sdk_id", "notification_secret", "notification_public_key_pem"})


class ProviderConfigError(ValueError):
    """The provider settings do not describe one coherent provider."""


class DemoNotAllowed(PermissionError):
    """The demo page was asked for while a real provider is configured."""


def make_provider(name: str, **settings: Any) -> VerificationProvider:
    """Build the configured provider from plain settings (see each provider's constructor).

    "demo" takes `session_maker`; "yoti" takes `api_key`, `sdk_id`, a notification
    credential and the optional tuning values of YotiProvider.
    """
    if name == "yoti":
        return _build(YotiProvider, settings)
    if name == "demo":
        real = sorted(key for key, value in settings.items() if key in _REAL_PROVIDER_SETTINGS and value)
        if real:
            # Refuse rather than guess: a deployment holding Yoti credentials must not
            # silently let testers pick a child's age.
            raise ProviderConfigError(
                f"the demo provider is refused because real provider settings are set: {', '.join(real)}"
            )
        # Empty real-provider settings are unset environment variables: nothing to refuse.
        return _build(DemoProvider, {k: v for k, v in settings.items() if k not in _REAL_PROVIDER_SETTINGS})
    raise ProviderConfigError(f"unknown verification provider {name!r}; choose one of {', '.join(PROVIDER_NAMES)}")


def _build(factory: Callable[..., VerificationProvider], settings: dict[str, Any]) -> VerificationProvider:
    try:
        return factory(**settings)
    except TypeError as exc:
        # A misspelt or foreign setting; the message names it, never its value.
        raise ProviderConfigError(f"bad settings for {factory.__name__}: {exc}") from exc


def check_demo_provider(provider: VerificationProvider) -> DemoProvider:
    """Return the provider as the demo, or raise DemoNotAllowed; the demo page calls this first."""
    if provider.name != "demo" or not isinstance(provider, DemoProvider):
        raise DemoNotAllowed("the demo age check is switched off: a real provider is configured")
    return provider
