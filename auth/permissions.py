"""Permission classes: who may call a field. They guard the field; the region filter is
applied again in every query by ``auth.scope`` (two layers).

An account still on its initial password may call only the fields guarded by
``LoggedIn`` (``me``, ``changePassword``, ``logout``); everything else answers
``PASSWORD_CHANGE_REQUIRED``.
"""

from __future__ import annotations

from typing import Any

from strawberry.permission import BasePermission, PermissionExtension
from strawberry.types import Info

from core.errors import Forbidden, PasswordChangeRequired, Unauthenticated
from models import Level


def _viewer(info: Info):
    viewer = info.context.viewer
    if viewer is None:
        if info.context.anonymous_reason:
            raise Unauthenticated(info.context.anonymous_reason)
        raise Unauthenticated("请先登录 (log in first)")
    return viewer


class LoggedIn(BasePermission):
    """Any logged-in account, including one that must still change its initial password."""

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        _viewer(info)
        return True


class Authenticated(BasePermission):
    """Any logged-in account that has changed its initial password."""

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        viewer = _viewer(info)
        if viewer.must_change_password:
            raise PasswordChangeRequired(
                "当前为初始密码，请先修改密码 (change the initial password first: call changePassword)"
            )
        return True


class Regulator(Authenticated):
    """A regulator account (管理用户), optionally of the given levels only."""

    def __init__(self, *levels: Level) -> None:
        self.levels = frozenset(levels) if levels else frozenset(Level)

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        super().has_permission(source, info, **kwargs)
        viewer = info.context.viewer
        if not viewer.is_regulator or viewer.level not in self.levels:
            raise Forbidden("无权执行此操作 (this account may not do this)")
        return True


class InstitutionUser(Authenticated):
    """An institution account (培训机构用户) bound to its institution: the portal's own
    operations. An account whose institution is not yet bound (pending the county's
    confirmation) is refused with ``INSTITUTION_PENDING``."""

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        super().has_permission(source, info, **kwargs)
        viewer = info.context.viewer
        if not viewer.is_institution:
            raise Forbidden("只有培训机构用户可以执行此操作 (institution accounts only)")
        if viewer.institution_id is None:
            raise Forbidden(
                "机构账号尚待区县确认绑定 (the account waits for the county to confirm its institution)",
                code="INSTITUTION_PENDING",
            )
        return True


class InstitutionAccountHolder(Authenticated):
    """An institution account, bound to its institution or not yet (registration's step b)."""

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        super().has_permission(source, info, **kwargs)
        if not info.context.viewer.is_institution:
            raise Forbidden("只有培训机构用户可以执行此操作 (institution accounts only)")
        return True


#: Levels that manage accounts below them (a sub-unit manages none).
MANAGERS = (Level.MINISTRY, Level.PROVINCE, Level.PREFECTURE, Level.COUNTY)


def allow(*permissions: BasePermission) -> list[PermissionExtension]:
    """Field extensions for ``strawberry.field(extensions=allow(...))``."""
    return [PermissionExtension(permissions=list(permissions), use_directives=False)]
