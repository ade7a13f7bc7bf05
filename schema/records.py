"""What the mutations of an institution's portal records share (docs/DOMAIN.md §P4–§P8): the
delete payload and an input's values."""

from __future__ import annotations

import strawberry

from schema.errors import UserError, user_errors
from schema.fields import node_id, sent


@strawberry.type
class DeletePayload:
    deleted_id: strawberry.ID | None
    errors: list[UserError]


def input_data(input: object) -> dict:
    """The fields sent (``schema.fields.sent``), a class's sessions as plain dicts."""
    data = sent(input)
    if data.get("schedule") is not None:
        data["schedule"] = [vars(s) for s in data["schedule"]]
    return data


def deleted_payload(result) -> DeletePayload:
    deleted, errors = result
    return DeletePayload(deleted_id=node_id(deleted) if deleted else None, errors=user_errors(errors))
