"""What the mutations of an institution's portal records share (docs/DOMAIN.md §P4–§P8): the
delete payload and an input's values."""

from __future__ import annotations

import dataclasses

import strawberry

from schema.errors import UserError, user_errors
from schema.fields import node_id, sent


@strawberry.type
class DeletePayload:
    deleted_id: strawberry.ID | None
    errors: list[UserError]


def input_data(input: object) -> dict:
    """The fields sent (``schema.fields.sent``), nested inputs (a class's sessions, part 4's
    class times) as plain dicts."""
    data = sent(input)
    for key, value in data.items():
        if isinstance(value, list):
            data[key] = [vars(v) if dataclasses.is_dataclass(v) else v for v in value]
    return data


def deleted_payload(result) -> DeletePayload:
    deleted, errors = result
    return DeletePayload(deleted_id=node_id(deleted) if deleted else None, errors=user_errors(errors))
