"""Age checks for Report Remove: providers (Yoti, demo), their outcomes, and Haven's record of them."""

from bot.verification.base import (
    FINAL_STATUSES,
    NotificationRejected,
    Outcome,
    ProviderError,
    ProviderRejected,
    ProviderUnavailable,
    RetryPolicy,
    SessionNotFound,
    StartedVerification,
    VerificationError,
    VerificationProvider,
)
from bot.verification.demo import DEMO_OUTCOMES, DemoProvider, UnknownDemoOutcome
from bot.verification.records import do_create_verification, do_record_outcome, get_verification_by_session
from bot.verification.registry import (
    PROVIDER_NAMES,
    DemoNotAllowed,
    ProviderConfigError,
    check_demo_provider,
    make_provider,
)
from bot.verification.yoti import YotiProvider

__all__ = [
    "DEMO_OUTCOMES",
    "FINAL_STATUSES",
    "PROVIDER_NAMES",
    "DemoNotAllowed",
    "DemoProvider",
    "NotificationRejected",
    "Outcome",
    "ProviderConfigError",
    "ProviderError",
    "ProviderRejected",
    "ProviderUnavailable",
    "RetryPolicy",
    "SessionNotFound",
    "StartedVerification",
    "UnknownDemoOutcome",
    "VerificationError",
    "VerificationProvider",
    "YotiProvider",
    "check_demo_provider",
    "do_create_verification",
    "do_record_outcome",
    "get_verification_by_session",
    "make_provider",
]
