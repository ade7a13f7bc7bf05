"""The viewer: who is calling, as the scope function and permission classes see it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from models import AccountKind, Department, Level


@dataclass(frozen=True, slots=True)
class Viewer:
    account_id: uuid.UUID
    session_id: uuid.UUID
    kind: AccountKind
    username: str
    must_change_password: bool
    level: Level | None = None
    region_code: str | None = None
    #: The region's materialised path (``000000/440000/…/``): the subtree is every path
    #: that starts with it.
    region_path: str | None = None
    department: Department | None = None
    parent_id: uuid.UUID | None = None
    institution_id: uuid.UUID | None = None
    #: The codes of the regions of ``region_path``'s subtree, when read with the session
    #: (``auth.scope.in_subtree`` binds them as one array); None: the scope reads them.
    subtree: tuple[str, ...] | None = None

    @property
    def is_regulator(self) -> bool:
        return self.kind is AccountKind.REGULATOR

    @property
    def is_institution(self) -> bool:
        return self.kind is AccountKind.INSTITUTION
