"""Helpers shared by the tests."""

from __future__ import annotations


def error_codes(result: dict) -> list[str]:
    """The ``extensions.code`` of each GraphQL error of a response."""
    return [e.get("extensions", {}).get("code") for e in result.get("errors", [])]
