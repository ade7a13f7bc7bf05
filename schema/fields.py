"""Field helpers every domain's types and inputs use."""

from __future__ import annotations

import uuid

import strawberry


def optional(description: str = ""):
    return strawberry.field(default=None, description=description or None)


def node_id(value: uuid.UUID) -> strawberry.ID:
    return strawberry.ID(str(value))
