"""The age-check provider interface, its result types and errors, shared by every provider."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol, get_args, runtime_checkable

Status = Literal["pending", "complete", "failed", "abandoned", "expired"]
Under18 = Literal["yes", "no", "unknown"]

STATUSES: tuple[str, ...] = get_args(Status)
UNDER_18_VALUES: tuple[str, ...] = get_args(Under18)
# Once a check reaches one of these it never changes (bot.verification.records relies on it).
FINAL_STATUSES: frozenset[str] = frozenset({"complete", "failed", "abandoned", "expired"})


class VerificationError(Exception):
    """Base class for everything a provider raises on purpose."""


class ProviderError(VerificationError):
    """The provider answered in a way we cannot use (refused request, malformed response)."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class ProviderUnavailable(ProviderError):
    """The provider could not be reached or kept failing after every retry."""


class ProviderRejected(ProviderError):
    """The provider refused the request (4xx other than 404): retrying would not help."""


class SessionNotFound(ProviderError):
    """The provider does not know the session (deleted, expired out of retention, or never made)."""


class NotificationRejected(VerificationError):
    """An incoming notification had wrong credentials or an unreadable body."""


@dataclass(frozen=True, slots=True)
class StartedVerification:
    """What start() hands back: the provider's session id and the page the child opens."""

    session_id: str
    url: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """Everything Haven learns from a check; by construction it cannot hold anything else."""

    status: Status
    under_18: Under18
    method: str | None
    checked_at: datetime

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown verification status {self.status!r}")
        if self.under_18 not in UNDER_18_VALUES:
            raise ValueError(f"unknown under_18 value {self.under_18!r}")
        if self.status != "complete" and self.under_18 != "unknown":
            raise ValueError("only a complete check can answer under_18")
        if self.checked_at.tzinfo is None:
            raise ValueError("checked_at must be timezone-aware")

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES


@runtime_checkable
class VerificationProvider(Protocol):
    """One age-check service, used per conversation by the dialogs through the web layer."""

    name: str

    async def start(self, reference: str, callback_url: str, notify_url: str) -> StartedVerification:
        """Open a session at the provider; `reference` must be an opaque id, never personal data."""
        ...

    async def check_notification(self, headers: Mapping[str, str], body: bytes) -> str:
        """Return the session id a notification names, or raise NotificationRejected.

        A notification only says "look again": the outcome always comes from fetch_outcome.
        """
        ...

    async def fetch_outcome(self, session_id: str) -> Outcome:
        """Ask the provider, authenticated, how the session ended (or that it has not yet)."""
        ...

    async def discard(self, session_id: str) -> None:
        """Delete the provider's session and data where it allows; an unknown session is fine."""
        ...

    async def aclose(self) -> None:
        """Release connections; called once on shutdown."""
        ...


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded exponential backoff with jitter; durations in seconds so tests can shrink them."""

    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < self.base_delay:
            raise ValueError("need 0 <= base_delay <= max_delay")

    def delays(self, rng: Callable[[], float] = random.random) -> Iterator[float]:
        """Yield the pause before each retry (attempts - 1 of them).

        "Equal jitter": half the capped exponential delay is fixed, half random, so
        pauses still grow while processes that failed together do not retry together.
        """
        for retry in range(self.attempts - 1):
            capped = min(self.max_delay, self.base_delay * (2**retry))
            yield capped / 2 + rng() * capped / 2
