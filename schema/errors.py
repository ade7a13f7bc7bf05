"""Errors as the GraphQL API shows them (the kinds are ``core.errors``'):

- an ``ApiError`` a resolver or a permission raises becomes a GraphQL error with its
  message and ``extensions`` (graphql-core keeps an exception's ``extensions``);
  ``graphql_error`` makes one where a result is built by hand (a refused request);
- ``FieldError``\\ s become the payload's ``errors`` as ``UserError``\\ s (``user_errors``), the
  field named as the API spells it.

Every other exception is masked to "Unexpected error." before it reaches the client.
"""

from __future__ import annotations

import strawberry
from graphql import GraphQLError

from core.errors import ApiError, ErrorCode, FieldError

strawberry.enum(ErrorCode, description="字段校验错误代码 (codes of validation problems on mutation payloads).")


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


def graphql_error(error: ApiError) -> GraphQLError:
    """A refusal as a GraphQL error of a result built by hand (not raised by a resolver)."""
    return GraphQLError(error.message, original_error=error, extensions=error.extensions)


@strawberry.type(description="字段校验错误 (a validation problem of a mutation, shown beside its field).")
class UserError:
    field: str | None = strawberry.field(description="出错的输入字段，null 表示整个输入 (the input field, or null for the whole input).")
    code: ErrorCode
    message: str = strawberry.field(description="中文提示 (the message to show).")
    related_id: strawberry.ID | None = strawberry.field(
        default=None, description="相关记录 (the record the problem points to, e.g. the existing duplicate, when the caller may see it)."
    )


def camel(key: str) -> str:
    """A Python field name as the API spells it (``region_code`` → ``regionCode``; a nested
    one by its parts: ``class_sessions.0.weekday`` → ``classSessions.0.weekday``)."""
    if "." in key:
        return ".".join(camel(part) for part in key.split("."))
    head, *rest = key.split("_")
    return head + "".join(word.title() for word in rest)


def user_errors(errors: list[FieldError]) -> list[UserError]:
    return [
        UserError(
            field=camel(e.key) if e.key else None,
            code=e.code,
            message=e.message,
            related_id=strawberry.ID(e.related_id) if e.related_id else None,
        )
        for e in errors
    ]
