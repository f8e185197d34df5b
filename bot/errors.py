"""Typed errors a user can cause: each has a stable code and a message in plain words."""

from __future__ import annotations


class HavenError(Exception):
    """Base for errors shown to people. `code` is stable for clients and tests; `message` is for humans."""

    status = 400

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code)
        self.code = code
        self.message = message

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


class Invalid(HavenError):
    status = 400


class Unauthorized(HavenError):
    status = 401


class Forbidden(HavenError):
    status = 403


class NotFound(HavenError):
    status = 404


class Conflict(HavenError):
    status = 409


class ServerError(HavenError):
    """Something failed on Haven's side; the person can only try again."""

    status = 500


class TooMany(HavenError):
    status = 429

    def __init__(self, code: str, message: str, retry_after: int) -> None:
        super().__init__(code, message)
        self.retry_after = retry_after
