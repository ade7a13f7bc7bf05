"""Automatic persisted queries (the Apollo protocol) and registered operations.

A request whose ``extensions.persistedQuery`` is ``{"version": 1, "sha256Hash": H}``:

- with a query: the query's SHA-256 must be ``H`` (else ``PERSISTED_QUERY_HASH_MISMATCH``);
  it is kept under ``H`` and run;
- without one: the query kept under ``H`` runs, or the answer is
  ``PERSISTED_QUERY_NOT_FOUND`` (message ``PersistedQueryNotFound``, as Apollo clients
  expect), after which the client sends the query with the hash.

Queries are kept in PostgreSQL (``persisted_query``), shared by every worker, with a small
cache in each worker. Operators register operations ahead of time with ``python server.py
register-operations FILE`` (a JSON list of queries, or an object of hash → query, e.g. a
client's persisted-query manifest). With ``XWPX_PUBLIC_OPERATIONS=registered``, callers
without a session may run registered operations only (by hash, or by sending their exact
text); anything else answers ``OPERATION_NOT_REGISTERED``. Callers with a session are not
limited by it.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from core.clock import utcnow
from core.errors import ApiError
from models import PersistedQuery

CACHE_SIZE = 2_000
MAX_QUERY_LENGTH = 100_000


def sha256(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


class Cache:
    """A worker's cache of known hashes: hash -> (query, registered)."""

    def __init__(self) -> None:
        self.entries: OrderedDict[str, tuple[str, bool]] = OrderedDict()

    def get(self, key: str) -> tuple[str, bool] | None:
        found = self.entries.get(key)
        if found is not None:
            self.entries.move_to_end(key)
        return found

    def put(self, key: str, query: str, registered: bool) -> None:
        self.entries[key] = (query, registered)
        self.entries.move_to_end(key)
        while len(self.entries) > CACHE_SIZE:
            self.entries.popitem(last=False)


def _error(message: str, code: str) -> ApiError:
    return ApiError(message, code=code)


async def _lookup(sessionmaker, cache: Cache, key: str) -> tuple[str, bool] | None:
    found = cache.get(key)
    if found is None:
        async with sessionmaker() as db:
            row = (await db.execute(sa.select(PersistedQuery.query, PersistedQuery.registered).where(PersistedQuery.sha256 == key))).first()
        if row is not None:
            found = (row.query, row.registered)
            cache.put(key, *found)
    return found


async def resolve(request_data: Any, *, sessionmaker, cache: Cache, registered_only: bool) -> ApiError | None:
    """Fill ``request_data.query`` from a persisted query, or keep the one sent; the error to
    answer instead, if any. ``registered_only``: the caller may run registered operations
    only."""
    extensions = request_data.extensions if isinstance(request_data.extensions, dict) else {}
    persisted = extensions.get("persistedQuery")
    query = request_data.query
    if persisted is None:
        if not registered_only:
            return None
        if not isinstance(query, str):
            return None  # answered as a missing query
        found = await _lookup(sessionmaker, cache, sha256(query))
        return None if found and found[1] else _error("只接受已登记的查询 (this service accepts registered operations only)", "OPERATION_NOT_REGISTERED")
    if not isinstance(persisted, dict) or persisted.get("version") != 1 or not isinstance(persisted.get("sha256Hash"), str):
        return _error("extensions.persistedQuery 应为 {version: 1, sha256Hash: ...}", "PERSISTED_QUERY_INVALID")
    key = persisted["sha256Hash"].lower()
    if query is None:
        found = await _lookup(sessionmaker, cache, key)
        if found is None or (registered_only and not found[1]):
            if registered_only:
                return _error("只接受已登记的查询 (this service accepts registered operations only)", "OPERATION_NOT_REGISTERED")
            return _error("PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND")
        request_data.query = found[0]
        return None
    if not isinstance(query, str) or sha256(query) != key:
        return _error("provided sha does not match query", "PERSISTED_QUERY_HASH_MISMATCH")
    if registered_only:
        found = await _lookup(sessionmaker, cache, key)
        return None if found and found[1] else _error("只接受已登记的查询 (this service accepts registered operations only)", "OPERATION_NOT_REGISTERED")
    if len(query) <= MAX_QUERY_LENGTH and cache.get(key) is None:
        async with sessionmaker() as db:
            await db.execute(insert(PersistedQuery).values(sha256=key, query=query, registered=False, created_at=utcnow()).on_conflict_do_nothing())
            await db.commit()
        cache.put(key, query, False)
    return None


def read_manifest(text: str) -> dict[str, str]:
    """Operations to register: a JSON list of queries, or an object of hash -> query."""
    data = json.loads(text)
    if isinstance(data, list) and all(isinstance(q, str) for q in data):
        return {sha256(q): q for q in data}
    if isinstance(data, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        wrong = [k for k, v in data.items() if sha256(v) != k.lower()]
        if wrong:
            raise ValueError(f"these hashes do not match their queries: {', '.join(wrong[:5])}")
        return {k.lower(): v for k, v in data.items()}
    raise ValueError("expected a JSON list of queries or an object of sha256 -> query")


async def register(sessionmaker, operations: dict[str, str]) -> int:
    async with sessionmaker() as db:
        for key, query in operations.items():
            statement = insert(PersistedQuery).values(sha256=key, query=query, registered=True, created_at=utcnow())
            await db.execute(statement.on_conflict_do_update(index_elements=["sha256"], set_={"registered": True}))
        await db.commit()
    return len(operations)
