"""Record ids: UUIDs, which are also the Relay global ids (unique across record types)."""

from __future__ import annotations

import uuid
from typing import Any


def parse_id(value: Any) -> uuid.UUID | None:
    """The UUID an id argument names, or None when it names none (a malformed id reads as
    an unknown one: not found, never an error that tells the two apart)."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None
