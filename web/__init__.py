"""HTTP beside the GraphQL schema: the GraphQL route's adapter (``graphql``), downloads
(``exports``, ``files``), health and metrics (``health``, ``metrics``), middleware
(``middleware``) and what the plain routes answer (``responses``). ``server.create_app``
assembles them."""
