"""Where uploaded files live: outside the database, behind one small interface.

    key = await storage.put(content)        # store bytes, get an opaque key
    chunks = await storage.open(key)        # an async iterator of the bytes (FileNotFoundError if gone)
    await storage.delete(key)               # remove (no error if already gone)

Keys are made by the storage, never from a user's file name, so nothing a user sends
becomes a path. ``XWPX_STORAGE`` chooses the implementation: ``local`` (the default,
``LocalStorage`` under ``<data dir>/files``) or ``package.module:factory``, a callable
taking the ``Settings`` and returning an object with these three methods (an object store,
for instance).
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import re
import secrets
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Protocol

from core.settings import Settings

log = logging.getLogger(__name__)

CHUNK_SIZE = 64 * 1024


class Storage(Protocol):
    async def put(self, content: bytes) -> str: ...

    async def open(self, key: str) -> AsyncIterator[bytes]: ...

    async def delete(self, key: str) -> None: ...


class LocalStorage:
    """Files in a local folder, named by random keys (``ab/ab12…``, 32 hex digits), so two
    uploads of the same bytes are two files and deleting one never touches another. A file
    is written beside its final name and renamed into place, so a reader never sees half
    of one."""

    _KEY = re.compile(r"[0-9a-f]{32}")

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        if not self._KEY.fullmatch(key):
            raise ValueError("not a storage key")
        return self.root / key[:2] / key

    def _write(self, key: str, content: bytes) -> None:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(key + ".part")
        try:
            with partial.open("xb") as f:
                f.write(content)
                f.flush()
                os.fsync(f.fileno())
            os.replace(partial, target)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise

    async def put(self, content: bytes) -> str:
        key = secrets.token_hex(16)
        await asyncio.to_thread(self._write, key, content)
        return key

    async def open(self, key: str) -> AsyncIterator[bytes]:
        handle = await asyncio.to_thread(self.path(key).open, "rb")

        async def chunks() -> AsyncIterator[bytes]:
            try:
                while chunk := await asyncio.to_thread(handle.read, CHUNK_SIZE):
                    yield chunk
            finally:
                handle.close()

        return chunks()

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.path(key).unlink, missing_ok=True)


def create_storage(settings: Settings) -> Storage:
    """The storage ``settings.storage`` names."""
    if settings.storage == "local":
        return LocalStorage(settings.data_dir / "files")
    module, _, name = settings.storage.partition(":")
    if not module or not name:
        raise ValueError(f"XWPX_STORAGE must be 'local' or 'package.module:factory', got {settings.storage!r}")
    return getattr(importlib.import_module(module), name)(settings)


async def discard(storage: Storage, keys: Iterable[str]) -> None:
    """Remove files whose rows are gone (or never were). A file that cannot be removed is
    only logged: an orphan file is harmless, a row without its file is not."""
    for key in keys:
        try:
            await storage.delete(key)
        except Exception:  # noqa: BLE001 - whatever the storage raises, the change stands
            log.warning("could not remove stored file %s", key, exc_info=True)
