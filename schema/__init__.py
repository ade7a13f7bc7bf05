"""The GraphQL schema: one module (or package) per domain, composed in ``schema.root``.

``schema`` is the whole Federation 2 subgraph; ``public_schema`` the part a caller without a
session is served from; ``sdl()`` prints the subgraph's SDL as committed in ``schema.graphql``.
"""

from schema.root import public_schema, schema, sdl

__all__ = ["public_schema", "schema", "sdl"]
