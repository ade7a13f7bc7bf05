"""Errors, in two kinds (Strawberry's errors guide, Saleor's payloads):

- ``ApiError`` and its subclasses are GraphQL errors: authentication and permission
  failures, with ``extensions.code`` (``UNAUTHENTICATED``, ``FORBIDDEN``,
  ``PASSWORD_CHANGE_REQUIRED``, ``INVALID_CREDENTIALS``, ``ACCOUNT_LOCKED``,
  ``LOGIN_THROTTLED``, ``ACCOUNT_DISABLED``, ``BAD_USER_INPUT``, ``RATE_LIMITED``,
  ``INSTITUTION_PENDING``, ``SEND_FAILED``).
- ``UserError`` is data: a validation problem on a mutation's payload, next to its field,
  so a form can show it. Its ``code`` is an ``ErrorCode``.

Every other exception is masked to "Unexpected error." before it reaches the client.
"""

from __future__ import annotations

from enum import Enum

import strawberry
from graphql import GraphQLError


class ApiError(GraphQLError):
    code = "INTERNAL"

    def __init__(self, message: str, code: str | None = None, **extensions: object) -> None:
        super().__init__(message, extensions={"code": code or self.code, **extensions})


class Unauthenticated(ApiError):
    code = "UNAUTHENTICATED"


class Forbidden(ApiError):
    code = "FORBIDDEN"


class PasswordChangeRequired(ApiError):
    code = "PASSWORD_CHANGE_REQUIRED"


class BadUserInput(ApiError):
    code = "BAD_USER_INPUT"


def is_expected(error: GraphQLError) -> bool:
    """Errors shown to the client as they are: ours, and GraphQL's own: syntax and
    validation (no original exception) and variable coercion (before execution, so without
    a path, wrapping GraphQL's error about the value)."""
    original = error.original_error
    return (
        original is None
        or isinstance(original, ApiError)
        or (error.path is None and isinstance(original, GraphQLError))
    )


@strawberry.enum(description="Codes of validation problems on mutation payloads.")
class ErrorCode(Enum):
    REQUIRED = "REQUIRED"
    INVALID = "INVALID"
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


@strawberry.type(description="A validation problem of a mutation (字段校验错误), shown beside its field.")
class UserError:
    field: str | None = strawberry.field(description="The input field, or null for the whole input.")
    code: ErrorCode
    message: str = strawberry.field(description="中文提示")
    related_id: strawberry.ID | None = strawberry.field(
        default=None, description="The record the problem points to (e.g. the existing duplicate), when the caller may see it."
    )
