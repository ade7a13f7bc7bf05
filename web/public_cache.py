"""A few seconds' memory of public answers, per worker process (``XWPX_PUBLIC_CACHE_SECONDS``,
default 5; ``0`` turns it off).

What is kept: the answer of an operation from a caller without a session, when it is a
query whose root fields are all public lookups of public records (``CACHEABLE``: regions,
the institution lookup, the black and white lists) and it answered without an error. The
key is the operation's text, its name, its variables and the HTTP method: every anonymous
caller asking the same gets the same answer, so nothing of one caller reaches another
(there is no viewer, and nothing personal is in those fields; a complaint's status, read
with its tracking number and the complainant's mobile, is never kept).

How fresh: an answer is served at most ``seconds`` after it was asked for; from half that
age the next caller's request renews it in the background (that caller, and every other
meanwhile, gets the kept one), so a lookup in demand is never asked by a waiting caller. A
change (a registration, a published list period) shows up to that much later to the public,
in this worker and each other one — the delay public lookups already accept from a
replica. Callers asking the same thing at the same moment wait for one execution rather
than each running it (and each taking a connection of the small public pool).
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cachetools import TLRUCache
from graphql import FieldNode, FragmentDefinitionNode, FragmentSpreadNode, GraphQLError, InlineFragmentNode, OperationType, get_operation_ast, parse

from schema.limits import BUDGETS

#: Root fields whose answers are the same for every anonymous caller and hold only
#: public records.
CACHEABLE = frozenset({"__typename", "regions", "region", "publicInstitutions", "publicInstitution", "listPeriods", "listPeriod"})
SIZE = 1_000


@functools.lru_cache(maxsize=1024)
def cacheable(query: str, operation_name: str | None) -> bool:
    """Whether the operation is a query that asks for ``CACHEABLE`` root fields only."""
    try:
        document = parse(query, max_tokens=BUDGETS["anonymous"].tokens)
    except GraphQLError:
        return False  # the execution reports it
    operation = get_operation_ast(document, operation_name)
    if operation is None or operation.operation is not OperationType.QUERY:
        return False
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}

    def only_cacheable(selection_set, seen: frozenset[str]) -> bool:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                if selection.name.value not in CACHEABLE:
                    return False
            elif isinstance(selection, InlineFragmentNode):
                if not only_cacheable(selection.selection_set, seen):
                    return False
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in seen or name not in fragments or not only_cacheable(fragments[name].selection_set, seen | {name}):
                    return False
        return True

    return only_cacheable(operation.selection_set, frozenset())


@dataclass
class _Kept:
    #: The answer, or None when its execution failed; pending while it runs.
    answer: asyncio.Future
    #: When it was asked for (the clock's timestamp).
    at: float


class PublicAnswers:
    """The answers kept, with one execution at a time per key. An answer older than half its
    time is asked again in the background by the next caller, who is answered at once with
    the kept one: while a lookup is asked for, its answer is renewed before it expires, and
    no caller waits for its renewal."""

    def __init__(self, seconds: float, clock: Callable[[], datetime], *, size: int = SIZE) -> None:
        self.seconds = seconds
        self._now = lambda: clock().timestamp()
        # Each answer expires ``seconds`` after it was asked for (a renewal's too).
        self._kept: TLRUCache | None = TLRUCache(maxsize=size, ttu=lambda _key, kept, _now: kept.at + seconds, timer=self._now) if seconds > 0 else None
        self._renewing: dict[tuple, asyncio.Task] = {}

    @staticmethod
    def key(method: str, query: str, operation_name: str | None, variables: dict | None) -> tuple:
        return (method, query, operation_name, json.dumps(variables or {}, sort_keys=True, ensure_ascii=False, default=str))

    async def answer(self, key: tuple, run: Callable[[], Awaitable[Any]]) -> Any:
        """The answer kept under ``key``, or ``run()``'s (kept when it has no errors). A
        caller that finds an execution under way waits for it; when that execution fails
        with an exception, each waiting caller runs its own."""
        if self._kept is None:
            return await run()
        kept = self._kept.get(key)
        if kept is None:
            return await self._run(key, run)
        if kept.answer.done() and self._now() - kept.at >= self.seconds / 2 and key not in self._renewing:
            self._renewing[key] = asyncio.create_task(self._renew(key, run))
        found = await asyncio.shield(kept.answer)
        return found if found is not None else await run()

    async def _run(self, key: tuple, run: Callable[[], Awaitable[Any]]) -> Any:
        kept = _Kept(asyncio.get_running_loop().create_future(), self._now())
        self._kept[key] = kept
        try:
            result = await run()
        except BaseException:
            self._forget(key, kept)
            kept.answer.set_result(None)
            raise
        if result.errors:
            self._forget(key, kept)
        kept.answer.set_result(result)
        return result

    async def _renew(self, key: tuple, run: Callable[[], Awaitable[Any]]) -> None:
        try:
            asked = self._now()
            result = await run()
            if not result.errors:
                answer = asyncio.get_running_loop().create_future()
                answer.set_result(result)
                self._kept[key] = _Kept(answer, asked)
        except Exception:  # noqa: BLE001 - the kept answer stays until it expires; then callers ask themselves
            pass
        finally:
            self._renewing.pop(key, None)

    async def settle(self) -> None:
        """Wait for the renewals under way."""
        while self._renewing:
            await asyncio.gather(*self._renewing.values(), return_exceptions=True)

    async def close(self) -> None:
        """Stop the renewals under way (the server is stopping)."""
        for task in self._renewing.values():
            task.cancel()
        await self.settle()

    def _forget(self, key: tuple, kept: _Kept) -> None:
        if self._kept.get(key) is kept:
            del self._kept[key]
