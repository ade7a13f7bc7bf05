"""Regulator accounts managed down the tree (区县下属单位管理 and the same at every level, docs/DOMAIN.md
§R2.7): list, create, edit, enable or disable, reset to the initial password, delete.

Validation problems are returned as ``FieldError`` lists; authentication and permission
failures are raised as ``ApiError``. A target account outside the caller's scope reads as
``NOT_FOUND``, exactly like an id that does not exist."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from auth.passwords import INITIAL_PASSWORD, hash_password_async
from auth.roles import is_under
from auth.scope import manages, scope, subtree_of
from auth.sessions import end_sessions
from core.clock import today
from core.errors import ErrorCode, FieldError
from core.ids import parse_id
from models import ROOT_CODE, Account, AccountKind, Department, Inspection, Institution, Level, Region, UrgingNotice
from resolvers import audit, validation
from resolvers.accounts.login import login_mobile
from resolvers.filters import RecordId, condition, criterion
from resolvers.pagination import Page, paginate
from resolvers.regions import find_region, unknown_region_message
from resolvers.validation import EMAIL

#: The most sub-units (区县下属单位) under one county account (their statistics rows and
#: lists are counted by it: ``schema/limits.py``).
MAX_SUB_UNITS = 50


# Used with fullmatch: "$" alone would also accept a trailing newline.
#: The account fields the trail records on create and edit.
_ACCOUNT_FIELDS = ["username", "name", "level", "region_code", "department", "parent_id", "mobile", "email", "enabled"]
USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{2,63}")


def _parent(value: str) -> sa.ColumnElement[bool]:
    parent_id = parse_id(value)
    return Account.parent_id == parent_id if parent_id else sa.false()


@dataclass
class AccountFilter:
    """The regulator account list's filter (单位列表): every criterion optional, with AND."""

    level: Level | None = criterion("级别", lambda v, c: Account.level == v)
    department: Department | None = criterion("主管部门", lambda v, c: Account.department == v)
    region_code: str | None = criterion("所在区划及其下级 (accounts at or under this region)", lambda v, c: Account.region_code.in_(subtree_of(v)), max_length=6)
    enabled: bool | None = criterion("启用状态", lambda v, c: Account.enabled == v)
    search: str | None = criterion(
        "名称或登录名包含 (part of the name or login name)",
        lambda v, c: sa.or_(Account.name.icontains(v, autoescape=True), Account.username.icontains(v, autoescape=True)),
    )
    parent_id: RecordId | None = criterion("所属区县账号 (the sub-units of this county account)", lambda v, c: _parent(v), max_length=36)


def username_problem(username: str) -> str | None:
    """Why a regulator's login name is refused, or None. It may not read as a mobile number:
    institution accounts log in by theirs, so the two would reach different accounts."""
    if not USERNAME.fullmatch(username):
        return "登录名为 3–64 位字母、数字或 _ . @ -，以字母或数字开头"
    if login_mobile(username.lower()):
        return "登录名不能是手机号码（手机号是培训机构账号的登录名）"
    return None


def _filter_condition(f: AccountFilter | None) -> sa.ColumnElement[bool]:
    return sa.and_(Account.kind == AccountKind.REGULATOR, condition(f))


async def list_accounts(info, f: AccountFilter | None, first: int | None, after: str | None) -> Page:
    ctx = info.context
    async with ctx.sessionmaker() as db:
        return await paginate(
            db,
            Account,
            sa.and_(scope(ctx.viewer, Account), _filter_condition(f)),
            [Account.username, Account.id],
            first=first,
            after=after,
        )


def _not_found(field: str = "id") -> list[FieldError]:
    return [FieldError(field, ErrorCode.NOT_FOUND, "账号不存在")]


async def _managed(db: AsyncSession, viewer, account_id: str) -> Account | None:
    """The account ``account_id`` if ``viewer`` manages it (locked for update), else None."""
    parsed = parse_id(account_id)
    if parsed is None:
        return None
    return (
        await db.execute(
            sa.select(Account).where(Account.id == parsed, manages(viewer)).with_for_update()
        )
    ).scalar_one_or_none()


def _contact_errors(mobile: str | None, email: str | None) -> list[FieldError]:
    errors = []
    if mobile and (problem := validation.mobile(mobile)):
        errors.append(FieldError("mobile", problem[0], problem[1]))
    if email and (len(email) > 254 or not EMAIL.fullmatch(email)):
        errors.append(FieldError("email", ErrorCode.INVALID, "电子邮箱格式不正确"))
    return errors


def _name_errors(name: str | None, *, required: bool) -> list[FieldError]:
    if name is None or not name.strip():
        return [FieldError("name", ErrorCode.REQUIRED, "请填写单位名称")] if required else []
    if len(name.strip()) > 100:
        return [FieldError("name", ErrorCode.TOO_LONG, "单位名称不能超过 100 个字")]
    return []


def _username_taken() -> FieldError:
    return FieldError("username", ErrorCode.DUPLICATE, "登录名已被使用")


def _unit_taken() -> FieldError:
    return FieldError("regionCode", ErrorCode.DUPLICATE, "该区划的该部门已有此级别账号")


def _region_fits(level: Level, region: Region, lowest: bool) -> bool:
    if level is Level.PROVINCE:
        return region.level == 1
    if level is Level.PREFECTURE:
        return region.level == 2
    if level is Level.COUNTY:
        # Prefectures without counties (东莞 441900) are their own lowest level.
        return lowest
    return False


@dataclass
class NewAccount:
    username: str
    name: str
    level: Level
    region_code: str | None = None
    department: Department | None = None
    parent_id: str | None = None
    mobile: str | None = None
    email: str | None = None
    enabled: bool = True


async def create_account(info, new: NewAccount) -> tuple[Account | None, list[FieldError]]:
    """A regulator account strictly below the caller, in its subtree, on the initial
    password. A sub-unit takes its county account's region and department."""
    ctx = info.context
    viewer = ctx.viewer
    errors: list[FieldError] = []
    username = new.username.strip()
    if problem := username_problem(username):
        errors.append(FieldError("username", ErrorCode.INVALID, problem))
    errors += _name_errors(new.name, required=True)
    errors += _contact_errors(new.mobile, new.email)
    if new.level.rank <= viewer.level.rank:
        errors.append(FieldError("level", ErrorCode.NOT_ALLOWED, "只能创建下级账号"))
        return None, errors

    async with ctx.sessionmaker() as db:
        region_code, department, parent_id = new.region_code, new.department, None
        if new.level is Level.SUB_UNIT:
            parent_ref = new.parent_id or (str(viewer.account_id) if viewer.level is Level.COUNTY else None)
            parent = None
            if parent_ref:
                parsed = parse_id(parent_ref)
                parent = (
                    await db.execute(
                        sa.select(Account).where(
                            Account.id == parsed,
                            Account.level == Level.COUNTY,
                            sa.or_(Account.id == viewer.account_id, manages(viewer)),
                        )
                        # locked, so that simultaneous creates count the sub-units one after another
                        .with_for_update()
                    )
                ).scalar_one_or_none() if parsed else None
            if parent is None:
                code = ErrorCode.NOT_FOUND if parent_ref else ErrorCode.REQUIRED
                errors.append(FieldError("parentId", code, "请选择所属区县账号"))
            else:
                region_code, department, parent_id = parent.region_code, parent.department, parent.id
                units = (await db.execute(sa.select(sa.func.count()).where(Account.parent_id == parent.id))).scalar_one()
                if units >= MAX_SUB_UNITS:
                    errors.append(FieldError("level", ErrorCode.NOT_ALLOWED, f"每个区县最多 {MAX_SUB_UNITS} 个下属单位账号"))
        else:
            region, lowest = await find_region(db, region_code, today(ctx.now))
            if region is None:
                message = await unknown_region_message(db, region_code, today(ctx.now), "请选择有效的行政区划")
                errors.append(FieldError("regionCode", ErrorCode.REQUIRED if not region_code else ErrorCode.NOT_FOUND, message))
            else:
                if not is_under(viewer, region.path):
                    errors.append(FieldError("regionCode", ErrorCode.OUT_OF_SCOPE, "只能在本辖区内创建账号"))
                elif not _region_fits(new.level, region, lowest):
                    errors.append(FieldError("regionCode", ErrorCode.INVALID, "账号级别与行政区划级别不符"))
            if department is None:
                errors.append(FieldError("department", ErrorCode.REQUIRED, "请选择主管部门"))
            elif viewer.department is not Department.EDUCATION and department is not viewer.department:
                errors.append(FieldError("department", ErrorCode.NOT_ALLOWED, "只能创建本部门的账号"))
            if not errors:
                taken = (
                    await db.execute(
                        sa.select(sa.exists().where(
                            Account.region_code == region_code,
                            Account.department == department,
                            Account.level == new.level,
                        ))
                    )
                ).scalar()
                if taken:
                    errors.append(_unit_taken())
        username_taken = (
            await db.execute(sa.select(sa.exists().where(sa.func.lower(Account.username) == username.lower())))
        ).scalar()
        if username_taken:
            errors.insert(0, _username_taken())
        if errors:
            return None, errors
        account = Account(
            username=username,
            name=new.name.strip(),
            kind=AccountKind.REGULATOR,
            level=new.level,
            region_code=region_code,
            department=department,
            parent_id=parent_id,
            mobile=validation.normalized_mobile(new.mobile) if new.mobile else None,
            email=new.email or None,
            password_hash=await hash_password_async(INITIAL_PASSWORD),
            must_change_password=True,
            enabled=new.enabled,
            created_at=ctx.now,
            updated_at=ctx.now,
        )
        db.add(account)
        audit.record(db, ctx, "createRegulatorAccount", "Account", account.id, account.region_code, changed=audit.changes(None, audit.values_of(account, _ACCOUNT_FIELDS)))
        try:
            await db.commit()
        except IntegrityError as e:
            # A concurrent create won the race past the checks above.
            return None, [_unit_taken() if "uq_account_unit" in str(e.orig) else _username_taken()]
    return account, []


async def update_account(
    info, account_id: str, version: int, name: str | None, mobile: str | None, email: str | None
) -> tuple[Account | None, list[FieldError]]:
    """Edit name and contacts; ``None`` leaves a field as it is, ``""`` clears a contact.
    The edit names the version it was based on: an older one is refused (CONFLICT)."""
    ctx = info.context
    errors = _name_errors(name, required=False) + _contact_errors(mobile, email)
    async with ctx.sessionmaker() as db:
        account = await _managed(db, ctx.viewer, account_id)
        if account is None:
            return None, _not_found()
        if errors:
            return None, errors
        if version != account.version:
            return None, [FieldError("version", ErrorCode.CONFLICT, "该账号信息已被他人修改，请刷新后重新编辑")]
        account.version += 1
        before = audit.values_of(account, _ACCOUNT_FIELDS)
        if name is not None and name.strip():
            account.name = name.strip()
        if mobile is not None:
            account.mobile = validation.normalized_mobile(mobile) if mobile else None
        if email is not None:
            account.email = email or None
        account.updated_at = ctx.now
        audit.record(db, ctx, "updateRegulatorAccount", "Account", account.id, account.region_code, changed=audit.changes(before, audit.values_of(account, _ACCOUNT_FIELDS)))
        await db.commit()
    return account, []


async def set_enabled(info, account_id: str, enabled: bool) -> tuple[Account | None, list[FieldError]]:
    """Enable or disable; disabling ends the account's sessions."""
    ctx = info.context
    async with ctx.sessionmaker() as db:
        account = await _managed(db, ctx.viewer, account_id)
        if account is None:
            return None, _not_found()
        changed = audit.changes({"enabled": account.enabled}, {"enabled": enabled})
        account.enabled = enabled
        account.updated_at = ctx.now
        if not enabled:
            await end_sessions(db, account.id, disabled=True)
        audit.record(db, ctx, "setRegulatorAccountEnabled", "Account", account.id, account.region_code, changed=changed)
        await db.commit()
    return account, []


async def reset_password(info, account_id: str) -> tuple[Account | None, list[FieldError]]:
    """Back to the initial password (docs/DOMAIN.md §R2.7: 密码重置后还原为初始密码), to be changed at
    the next login; the account's sessions end."""
    ctx = info.context
    async with ctx.sessionmaker() as db:
        account = await _managed(db, ctx.viewer, account_id)
        if account is None:
            return None, _not_found()
        account.password_hash = await hash_password_async(INITIAL_PASSWORD)
        account.must_change_password = True
        account.updated_at = ctx.now
        await end_sessions(db, account.id)
        audit.record(db, ctx, "resetRegulatorAccountPassword", "Account", account.id, account.region_code, changed={"password_hash": ["***", "***"]})
        await db.commit()
    return account, []


#: What keeps an account from being deleted: the rows that name it and may not lose it (the
#: foreign keys to ``account.id`` ON DELETE RESTRICT; a test holds this to the tables), each
#: with how the refusal counts it. Nothing is moved to another account: who registered an
#: institution (登记单位, counted by it in the statistics and its scope) or recorded an
#: inspection stays a fact; an account no longer used is disabled instead.
DEPENDENTS: tuple[tuple[sa.Column, str], ...] = (
    (Account.__table__.c.parent_id, "个下属单位账号"),
    (Institution.__table__.c.registering_unit_id, "家登记的培训机构"),
    (Inspection.__table__.c.recorded_by, "次记录的排查"),
    (Inspection.__table__.c.accepted_by, "次整改验收"),
    (UrgingNotice.__table__.c.sender_id, "份发出的督办通知"),
    (UrgingNotice.__table__.c.handled_by, "份办理的督办通知"),
)


async def dependents_of(db: AsyncSession, account_id: uuid.UUID) -> list[tuple[int, str]]:
    """How many rows of each kind in ``DEPENDENTS`` name the account (those it has), in one statement."""
    counts = sa.select(
        *(sa.select(sa.func.count()).select_from(column.table).where(column == account_id).scalar_subquery() for column, _ in DEPENDENTS)
    )
    row = (await db.execute(counts)).one()
    return [(n, label) for n, (_, label) in zip(row, DEPENDENTS, strict=True) if n]


async def delete_account(info, account_id: str) -> tuple[uuid.UUID | None, list[FieldError]]:
    """Delete an account below the caller. An account that records name (its sub-units, the
    institutions it registered, the inspections it recorded or accepted, the urging notices
    it sent or handled) is refused with HAS_DEPENDENTS and how many of each; it can be
    disabled instead."""
    ctx = info.context
    async with ctx.sessionmaker() as db:
        account = await _managed(db, ctx.viewer, account_id)
        if account is None:
            return None, _not_found()
        if found := await dependents_of(db, account.id):
            named = "、".join(f"{n} {label}" for n, label in found)
            return None, [FieldError("id", ErrorCode.HAS_DEPENDENTS, f"该账号还有 {named}，不能删除；不再使用的账号可以停用")]
        audit.record(db, ctx, "deleteRegulatorAccount", "Account", account.id, account.region_code, snapshot=audit.values_of(account))
        await db.delete(account)
        await db.commit()
    return account.id, []


async def create_root_account(sessionmaker, username: str, name: str, password: str) -> str | None:
    """The ministry's education account, from the command line (``create-admin``); returns
    why it was not created, or None."""
    if problem := username_problem(username):
        return f"The username is refused: {problem}"
    async with sessionmaker() as db:
        db.add(
            Account(
                username=username,
                name=name,
                kind=AccountKind.REGULATOR,
                level=Level.MINISTRY,
                region_code=ROOT_CODE,
                department=Department.EDUCATION,
                password_hash=await hash_password_async(password),
                must_change_password=False,
            )
        )
        try:
            await db.commit()
        except IntegrityError:
            return f"An account named {username!r} or a ministry education account exists already."
    return None
