"""Field helpers every domain's types and inputs use."""

from __future__ import annotations

import uuid
from typing import Any

import strawberry

#: What an input that edits says about its fields (docs/rules.md, "Edits").
EDIT_RULE = "编辑时只修改传入的字段：未传的字段保持原值，传 null 清空选填字段；合并后按整条记录校验，带 * 的字段不能为空 (an edit changes only the fields sent; null clears an optional one; the merged record is checked whole)."


def optional(description: str = ""):
    return strawberry.field(default=None, description=description or None)


def editable(description: str):
    """A field of an input that creates or edits a record: left out, an edit keeps the
    record's value (``sent`` drops it); null clears it."""
    return strawberry.field(default=strawberry.UNSET, description=description)


def sent(input: Any) -> dict[str, Any]:
    """The fields an input was given (an explicit null included), by their Python names."""
    return {key: value for key, value in vars(input).items() if value is not strawberry.UNSET}


def node_id(value: uuid.UUID) -> strawberry.ID:
    return strawberry.ID(str(value))
