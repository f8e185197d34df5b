"""Two-factor sign-in codes (TOTP, RFC 6238) and the sealing of their secrets at rest.

A secret never appears in logs or errors. In the database it is sealed with AES-256-GCM under a key
derived (HKDF) from the vault's master key, so a copy of the database alone does not yield the codes.
"""

from __future__ import annotations

import base64
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

import pyotp
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from bot.errors import Invalid

ISSUER = "Haven"
STEP_SECONDS = 30
# One step either side: a phone clock a little off, or a code typed just as it changed.
DRIFT_STEPS = 1
_PREFIX = "v1:"


class SecretBoxError(ValueError):
    """A sealed secret does not open with this key (another master key, or altered)."""


class SecretBox:
    """Seals short secrets with a key derived from the master key, bound to the user they belong to."""

    def __init__(self, master_key: bytes) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"haven totp secret v1").derive(master_key)
        self._aead = AESGCM(key)

    def seal(self, user_id: int, secret: str, bound_to: str = "") -> str:
        """Seal for one user; `bound_to` (a sign-in's session key) ties an enrolment to that sign-in."""
        nonce = secrets.token_bytes(12)
        sealed = self._aead.encrypt(nonce, secret.encode(), _context(user_id, bound_to))
        return _PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, user_id: int, sealed: str, bound_to: str = "") -> str:
        if not sealed.startswith(_PREFIX):
            raise SecretBoxError("unknown sealed-secret format")
        try:
            raw = base64.urlsafe_b64decode(sealed[len(_PREFIX):])
            return self._aead.decrypt(raw[:12], raw[12:], _context(user_id, bound_to)).decode()
        except (InvalidTag, ValueError):
            raise SecretBoxError("the two-factor secret does not open with this key or sign-in") from None


def _context(user_id: int, bound_to: str) -> bytes:
    return (f"user:{user_id}" + (f"|enrol:{bound_to}" if bound_to else "")).encode()


@dataclass(frozen=True)
class Enrolment:
    """What a person needs to add Haven to an authenticator app. Shown once, never logged."""

    secret: str
    uri: str


def new_enrolment(username: str) -> Enrolment:
    secret = pyotp.random_base32()
    return Enrolment(secret=secret, uri=uri_for(secret, username))


def uri_for(secret: str, username: str) -> str:
    """The otpauth:// address authenticator apps read (as text or as a QR code)."""
    return pyotp.TOTP(secret, interval=STEP_SECONDS).provisioning_uri(name=username, issuer_name=ISSUER)


def check_code(code: object) -> str:
    """Six digits, spaces allowed (apps show "123 456")."""
    if not isinstance(code, str):
        raise Invalid("totp_code_missing", "Type the 6-digit code from your authenticator app.")
    digits = code.replace(" ", "").strip()
    if not digits:
        raise Invalid("totp_code_missing", "Type the 6-digit code from your authenticator app.")
    if len(digits) != 6 or not digits.isdigit():
        raise Invalid("totp_code_invalid", "The code is 6 digits long. Check your authenticator app and try again.")
    return digits


def matching_step(secret: str, code: str, at: datetime, after_step: int | None) -> int | None:
    """The time step `code` is valid for (within the drift), if it is later than `after_step`; else None.

    Refusing steps at or before the last accepted one is what stops a code from being used twice.
    """
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    now_step = int(at.timestamp()) // STEP_SECONDS
    for step in range(now_step - DRIFT_STEPS, now_step + DRIFT_STEPS + 1):
        if after_step is not None and step <= after_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None
