"""The errors of the domain, in two kinds (Strawberry's errors guide, Saleor's payloads):

- ``ApiError`` and its subclasses are refusals of a whole request or field: authentication,
  permission, throttling and malformed input, each with a ``code`` (``extensions.code``
  when the schema turns it into a GraphQL error: ``UNAUTHENTICATED``, ``FORBIDDEN``,
  ``PASSWORD_CHANGE_REQUIRED``, ``INVALID_CREDENTIALS``, ``ACCOUNT_LOCKED``,
  ``LOGIN_THROTTLED``, ``ACCOUNT_DISABLED``, ``BAD_USER_INPUT``, ``RATE_LIMITED``,
  ``INSTITUTION_PENDING``, ``SEND_FAILED``) and further ``extensions`` (``retryAfterSeconds``).
  They are plain exceptions: GraphQL keeps their message and extensions when a resolver
  raises one, and the HTTP routes answer them as JSON.
- ``FieldError`` is data: a validation problem of one input field (its ``key`` in the
  Python spelling), with an ``ErrorCode``, so that a form can show it beside the field. The
  schema turns a list of them into a payload's ``errors``.

Every other exception is unexpected and masked before it reaches a client.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class ApiError(Exception):
    code = "INTERNAL"

    def __init__(self, message: str, code: str | None = None, **extensions: object) -> None:
        super().__init__(message)
        self.message = message
        self.extensions: dict[str, object] = {"code": code or self.code, **extensions}


class Unauthenticated(ApiError):
    code = "UNAUTHENTICATED"


class Forbidden(ApiError):
    code = "FORBIDDEN"


class PasswordChangeRequired(ApiError):
    code = "PASSWORD_CHANGE_REQUIRED"


class BadUserInput(ApiError):
    code = "BAD_USER_INPUT"


class ErrorCode(Enum):
    """Codes of validation problems on mutation payloads."""

    REQUIRED = "REQUIRED"
    INVALID = "INVALID"
    #: A value that the choice of another field makes meaningless (a licence number under 无证无照).
    NOT_APPLICABLE = "NOT_APPLICABLE"
    TOO_LONG = "TOO_LONG"
    DUPLICATE = "DUPLICATE"
    NOT_FOUND = "NOT_FOUND"
    OUT_OF_SCOPE = "OUT_OF_SCOPE"
    NOT_ALLOWED = "NOT_ALLOWED"
    HAS_DEPENDENTS = "HAS_DEPENDENTS"
    CONFLICT = "CONFLICT"
    WRONG_PASSWORD = "WRONG_PASSWORD"
    SAME_AS_CURRENT = "SAME_AS_CURRENT"
    WEAK_PASSWORD = "WEAK_PASSWORD"
    TOO_LARGE = "TOO_LARGE"
    UNSUPPORTED_TYPE = "UNSUPPORTED_TYPE"
    INVALID_CODE = "INVALID_CODE"
    CODE_EXPIRED = "CODE_EXPIRED"


@dataclass
class FieldError:
    """A validation problem of one input field (``key``: the field's Python name, or None
    for the whole input)."""

    key: str | None
    code: ErrorCode
    message: str
    #: The record the problem points to (a duplicate), when the caller may see it.
    related_id: str | None = None
