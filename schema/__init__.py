"""The GraphQL schema package: one module per domain, ``errors`` and ``context`` shared.

``schema.schema`` and ``schema.sdl`` are built on first use (from ``schema.root``), so the
resolvers can import ``schema.errors`` without importing every domain first.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name in ("schema", "sdl"):
        from schema import root

        return getattr(root, name)
    raise AttributeError(name)
