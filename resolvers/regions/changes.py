"""Change sets (区划调整, docs/regions.md): a JSON file of the changes of one announcement, read
(``read_change_set``: the shape, every problem at once) and checked against the region table
as the changes would leave it, one after another (``check``), before anything is written.

A change set names itself (``id``, applied once), its ``title``, the day it takes
``effective``, where it comes from (``provenance``) and which of its codes are not yet checked
against an official list (``unverified``), and lists ``changes``, each with an ``op``:

- ``create`` a region (``code``, ``name``, ``parent``, ``level``);
- ``rename`` one (``code``, ``name``);
- ``recode`` one (``from``, ``to``, optionally a new ``name``): a new code under the same
  parent takes everything of the old one;
- ``merge`` lowest regions (``from``: a list) ``into`` one lowest region;
- ``split`` one lowest region (``from``) ``into`` several: each institution named in
  ``institutions`` (its id or credit code → one of ``into``) goes there, the others stay on
  the retired code for the province to assign (待分配), and ``bureau`` (one of ``into``, optional)
  takes the county's own accounts, complaints and urging notices;
- ``move`` a region under another ``parent``;
- ``transfer`` the ``institutions`` listed (ids or credit codes) ``from`` a region ``into``
  another: part of a county that stays, or the institutions a split left for assignment
  (then ``into`` must be one of its successors).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from core.errors import ErrorCode, FieldError
from models import ROOT_CODE, Institution, Region, RegionChange, RegionChangeSet, RegionSuccessor

#: The largest change-set file read (the 2026 national list of changes is a few kilobytes).
MAX_BYTES = 2_000_000
#: The most regions one change takes from or gives to, and the most predecessors a region
#: gathers (the schema's bound on ``successors`` and ``predecessors``).
MAX_LINKS = 40
#: The most changes kept for one region (the schema's bound on ``history``).
MAX_HISTORY = 100
OPS = ("create", "rename", "recode", "merge", "split", "move", "transfer")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_CODE = re.compile(r"\d{6}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class ChangeSetError(Exception):
    """A change set refused before anything was written: ``code`` (``CHANGE_SET_INVALID``,
    ``CHANGE_SET_APPLIED``, ``CHANGE_SET_NOT_EFFECTIVE``) and every problem found."""

    def __init__(self, code: str, problems: list[FieldError]) -> None:
        super().__init__(code, problems)
        self.code = code
        self.problems = problems


@dataclass(frozen=True)
class Change:
    """One change as read: ``code`` the region it is about (create, rename, move), ``sources``
    and ``targets`` the regions it takes from and gives to."""

    index: int
    op: str
    code: str | None = None
    name: str | None = None
    parent: str | None = None
    level: int | None = None
    sources: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()
    #: split: institution (id or credit code) -> target; transfer: institution -> ``into``.
    institutions: dict[str, str] = field(default_factory=dict)
    bureau: str | None = None
    note: str | None = None

    @property
    def where(self) -> str:
        return f"changes[{self.index}]"


@dataclass(frozen=True)
class ChangeSet:
    name: str
    title: str
    effective: date
    changes: tuple[Change, ...]
    unverified: tuple[str, ...]
    content: dict[str, Any]
    digest: str


def _text(value: Any, where: str, problems: list[FieldError], *, limit: int, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        problems.append(FieldError(where, ErrorCode.REQUIRED, f"{where}: 请填写 (a text is required)"))
        return None
    if len(value) > limit or _CONTROL.search(value):
        problems.append(FieldError(where, ErrorCode.INVALID, f"{where}: 不能超过 {limit} 个字，且不能含控制字符 (too long or control characters)"))
        return None
    return value.strip()


def _code(value: Any, where: str, problems: list[FieldError]) -> str | None:
    if not isinstance(value, str) or not _CODE.fullmatch(value):
        problems.append(FieldError(where, ErrorCode.INVALID, f"{where}: 应为六位数字的区划代码 (a six-digit region code)"))
        return None
    return value


def _codes(value: Any, where: str, problems: list[FieldError], *, least: int) -> tuple[str, ...]:
    if not isinstance(value, list) or not least <= len(value) <= MAX_LINKS:
        problems.append(FieldError(where, ErrorCode.INVALID, f"{where}: 应为 {least} 到 {MAX_LINKS} 个区划代码的列表 (a list of {least} to {MAX_LINKS} codes)"))
        return ()
    codes = tuple(c for i, v in enumerate(value) if (c := _code(v, f"{where}[{i}]", problems)))
    if len(set(codes)) != len(codes):
        problems.append(FieldError(where, ErrorCode.DUPLICATE, f"{where}: 区划代码重复 (a code is listed twice)"))
    return codes


def _institution_key(value: Any, where: str, problems: list[FieldError]) -> str | None:
    """An institution's id (a UUID) or credit code (18 characters), as written."""
    if isinstance(value, str) and (len(value) == 18 or _uuid(value)):
        return value
    problems.append(FieldError(where, ErrorCode.INVALID, f"{where}: 应为机构 id 或统一社会信用代码 (an institution id or credit code)"))
    return None


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _change(index: int, raw: Any, problems: list[FieldError]) -> Change | None:
    where = f"changes[{index}]"
    if not isinstance(raw, dict) or raw.get("op") not in OPS:
        problems.append(FieldError(f"{where}.op", ErrorCode.INVALID, f"{where}.op: 应为 {'、'.join(OPS)} 之一 (unknown op)"))
        return None
    op = raw["op"]
    known = {
        "create": {"code", "name", "parent", "level"},
        "rename": {"code", "name"},
        "recode": {"from", "to", "name"},
        "merge": {"from", "into"},
        "split": {"from", "into", "institutions", "bureau"},
        "move": {"code", "parent"},
        "transfer": {"from", "into", "institutions"},
    }[op] | {"op", "note"}
    for key in sorted(set(raw) - known):
        problems.append(FieldError(f"{where}.{key}", ErrorCode.INVALID, f"{where}.{key}: {op} 没有这一项 (not a field of {op})"))
    note = _text(raw.get("note"), f"{where}.note", problems, limit=500, required=False)
    if op == "create":
        level = raw.get("level")
        if not isinstance(level, int) or isinstance(level, bool) or not 1 <= level <= 3:
            problems.append(FieldError(f"{where}.level", ErrorCode.INVALID, f"{where}.level: 应为 1（省）、2（地市）或 3（区县） (level 1, 2 or 3)"))
            level = None
        return Change(
            index, op, code=_code(raw.get("code"), f"{where}.code", problems), name=_text(raw.get("name"), f"{where}.name", problems, limit=64),
            parent=_code(raw.get("parent"), f"{where}.parent", problems), level=level, note=note,
        )
    if op == "rename":
        return Change(index, op, code=_code(raw.get("code"), f"{where}.code", problems), name=_text(raw.get("name"), f"{where}.name", problems, limit=64), note=note)
    if op == "move":
        return Change(index, op, code=_code(raw.get("code"), f"{where}.code", problems), parent=_code(raw.get("parent"), f"{where}.parent", problems), note=note)
    if op == "recode":
        source, target = _code(raw.get("from"), f"{where}.from", problems), _code(raw.get("to"), f"{where}.to", problems)
        name = _text(raw.get("name"), f"{where}.name", problems, limit=64, required=False)
        return Change(index, op, name=name, sources=(source,) if source else (), targets=(target,) if target else (), note=note)
    if op == "merge":
        target = _code(raw.get("into"), f"{where}.into", problems)
        return Change(index, op, sources=_codes(raw.get("from"), f"{where}.from", problems, least=1), targets=(target,) if target else (), note=note)
    source = _code(raw.get("from"), f"{where}.from", problems)
    if op == "split":
        targets = _codes(raw.get("into"), f"{where}.into", problems, least=2)
        mapping = raw.get("institutions", {})
        institutions: dict[str, str] = {}
        if not isinstance(mapping, dict):
            problems.append(FieldError(f"{where}.institutions", ErrorCode.INVALID, f"{where}.institutions: 应为 机构 → 区划代码 (an object: institution → code)"))
        else:
            for key, value in mapping.items():
                if _institution_key(key, f"{where}.institutions", problems) and (code := _code(value, f"{where}.institutions.{key}", problems)):
                    institutions[key] = code
        bureau = _code(raw["bureau"], f"{where}.bureau", problems) if raw.get("bureau") is not None else None
        return Change(index, op, sources=(source,) if source else (), targets=targets, institutions=institutions, bureau=bureau, note=note)
    target = _code(raw.get("into"), f"{where}.into", problems)
    listed = raw.get("institutions", [])
    institutions = {}
    if not isinstance(listed, list):
        problems.append(FieldError(f"{where}.institutions", ErrorCode.INVALID, f"{where}.institutions: 应为机构 id 或信用代码的列表 (a list)"))
    elif target:
        for i, key in enumerate(listed):
            if _institution_key(key, f"{where}.institutions[{i}]", problems):
                institutions[key] = target
    return Change(index, op, sources=(source,) if source else (), targets=(target,) if target else (), institutions=institutions, note=note)


def read_change_set(content: bytes) -> ChangeSet:
    """The change set of a file, or ``ChangeSetError`` (``CHANGE_SET_INVALID``) with every
    problem of its shape."""
    invalid = lambda message: ChangeSetError("CHANGE_SET_INVALID", [FieldError(None, ErrorCode.INVALID, message)])  # noqa: E731
    if len(content) > MAX_BYTES:
        raise invalid(f"文件超过 {MAX_BYTES // 1_000_000} MB (the file is too large)")
    try:
        data = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise invalid(f"不是 UTF-8 编码的 JSON 文件 (not a UTF-8 JSON file: {e})") from None
    if not isinstance(data, dict):
        raise invalid("文件应为一个 JSON 对象 (the file must hold one JSON object)")
    problems: list[FieldError] = []
    name = data.get("id")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        problems.append(FieldError("id", ErrorCode.INVALID, "id: 应为 1–64 个字母、数字、点、横线或下划线 (letters, digits, . - _)"))
    title = _text(data.get("title"), "title", problems, limit=200)
    effective = None
    try:
        effective = date.fromisoformat(data.get("effective") or "")
    except (TypeError, ValueError):
        problems.append(FieldError("effective", ErrorCode.INVALID, "effective: 应为生效日期 YYYY-MM-DD (the day it takes effect)"))
    raw_changes = data.get("changes")
    changes: list[Change] = []
    if not isinstance(raw_changes, list) or not raw_changes:
        problems.append(FieldError("changes", ErrorCode.REQUIRED, "changes: 至少一项调整 (at least one change)"))
    else:
        changes = [c for i, raw in enumerate(raw_changes) if (c := _change(i, raw, problems))]
    unverified: list[str] = []
    for i, item in enumerate(data.get("unverified") or []):
        code = item.get("code") if isinstance(item, dict) else None
        if _code(code, f"unverified[{i}].code", problems):
            unverified.append(code)
    if problems:
        raise ChangeSetError("CHANGE_SET_INVALID", problems)
    return ChangeSet(name, title, effective, tuple(changes), tuple(unverified), data, hashlib.sha256(content).hexdigest())


# --- checking against the table ---------------------------------------------------------


@dataclass
class _Node:
    code: str
    name: str
    level: int
    parent: str | None
    path: str
    in_force: bool
    created: bool = False


@dataclass
class Checked:
    """A change set checked against the table: the institutions it names, by the key written
    (id or credit code), as (id, region code, name) at the start."""

    change_set: ChangeSet
    institutions: dict[str, tuple[uuid.UUID, str, str]]


def _load(conn: Connection, day: date) -> dict[str, _Node]:
    in_force = sa.and_(
        sa.or_(Region.valid_from.is_(None), Region.valid_from <= day), sa.or_(Region.valid_to.is_(None), Region.valid_to > day)
    )
    rows = conn.execute(sa.select(Region.code, Region.name, Region.level, Region.parent_code, Region.path, in_force.label("in_force"))).all()
    return {r.code: _Node(r.code, r.name, r.level, r.parent_code, r.path, bool(r.in_force)) for r in rows}


def _institutions(conn: Connection, keys: set[str]) -> dict[str, tuple[uuid.UUID, str, str]]:
    """The institutions named by ``keys`` (ids or credit codes), by key: (id, region code, name)."""
    if not keys:
        return {}
    ids = {k: u for k in keys if (u := _uuid(k))}
    rows = conn.execute(
        sa.select(Institution.id, Institution.credit_code, Institution.region_code, Institution.name).where(
            sa.or_(Institution.id.in_(ids.values()), Institution.credit_code.in_(keys - set(ids)))
        )
    ).all()
    by_id = {r.id: (r.id, r.region_code, r.name) for r in rows}
    by_credit_code = {r.credit_code: (r.id, r.region_code, r.name) for r in rows}
    found = {key: by_id[value] for key, value in ids.items() if value in by_id}
    return found | {key: by_credit_code[key] for key in keys - set(ids) if key in by_credit_code}


def _check_bounds(conn: Connection, change_set: ChangeSet, codes: set[str], problem: Callable[[str, ErrorCode, str], None]) -> None:
    """No region gathers more than ``MAX_HISTORY`` changes or ``MAX_LINKS`` predecessors."""
    history = dict(conn.execute(sa.select(RegionChange.region_code, sa.func.count()).where(RegionChange.region_code.in_(codes)).group_by(RegionChange.region_code)).all())
    predecessors = dict(
        conn.execute(
            sa.select(RegionSuccessor.successor_code, sa.func.count()).where(RegionSuccessor.successor_code.in_(codes)).group_by(RegionSuccessor.successor_code)
        ).all()
    )
    for change in change_set.changes:
        for code in {change.code, *change.sources, *change.targets} - {None}:
            history[code] = history.get(code, 0) + 1
        if change.op in ("merge", "recode", "split"):
            for code in change.targets:
                predecessors[code] = predecessors.get(code, 0) + len(change.sources)
    for code in sorted(codes):
        if history.get(code, 0) > MAX_HISTORY or predecessors.get(code, 0) > MAX_LINKS:
            problem("changes", ErrorCode.NOT_ALLOWED, f"区划 {code} 的调整记录超过 {MAX_HISTORY} 项或前身区划超过 {MAX_LINKS} 个 (too many changes)")


def check(conn: Connection, change_set: ChangeSet, day: date, *, adopt: bool = False, check_day: bool = True) -> Checked:
    """The change set checked against the table as each change leaves it for the next, on
    ``day``: ``ChangeSetError`` with every problem (``CHANGE_SET_APPLIED`` when it was applied
    before, ``CHANGE_SET_NOT_EFFECTIVE`` before its day when ``check_day``). ``adopt``: a
    ``create`` of a region already in the table with that name and parent takes it as
    created (a table that was loaded with the change in it)."""
    applied = conn.execute(sa.select(RegionChangeSet.applied_at).where(RegionChangeSet.name == change_set.name)).scalar_one_or_none()
    if applied is not None:
        message = f"调整 {change_set.name} 已于 {applied.isoformat(timespec='seconds')} 应用，不能重复应用 (applied already)"
        raise ChangeSetError("CHANGE_SET_APPLIED", [FieldError("id", ErrorCode.DUPLICATE, message)])
    if check_day and change_set.effective > day:
        message = f"生效日期 {change_set.effective.isoformat()} 晚于今天 {day.isoformat()}：到生效之日再应用 (not in force yet)"
        raise ChangeSetError("CHANGE_SET_NOT_EFFECTIVE", [FieldError("effective", ErrorCode.NOT_ALLOWED, message)])
    nodes = _load(conn, day)
    successors: dict[str, set[str]] = {}
    for code, successor in conn.execute(sa.select(RegionSuccessor.code, RegionSuccessor.successor_code)).all():
        successors.setdefault(code, set()).add(successor)
    keys = {key for c in change_set.changes for key in c.institutions}
    institutions = _institutions(conn, keys)
    located = {key: found[1] for key, found in institutions.items()}
    problems: list[FieldError] = []

    def problem(where: str, code: ErrorCode, message: str) -> None:
        problems.append(FieldError(where, code, f"{where}: {message}"))

    def children(code: str) -> list[_Node]:
        return [n for n in nodes.values() if n.parent == code and n.in_force]

    def in_force(code: str | None, where: str) -> _Node | None:
        node = nodes.get(code) if code else None
        if node is None:
            problem(where, ErrorCode.NOT_FOUND, f"区划 {code} 不存在 (no such region)")
        elif not node.in_force:
            problem(where, ErrorCode.NOT_ALLOWED, f"区划 {code} {node.name} 已撤销 (retired)")
        else:
            return node
        return None

    def lowest(code: str | None, where: str) -> _Node | None:
        node = in_force(code, where)
        if node is not None and (node.level < 2 or children(node.code)):
            problem(where, ErrorCode.HAS_DEPENDENTS, f"区划 {code} {node.name} 有下级区划，不是最低一级 (not a lowest region)")
            return None
        return node

    def new_code(code: str | None, where: str, name: str | None, parent: str | None) -> bool:
        existing = nodes.get(code) if code else None
        if existing is None:
            return code is not None
        if adopt and existing.in_force and existing.name == name and existing.parent == parent:
            existing.created = True
            return False
        problem(where, ErrorCode.DUPLICATE, f"区划代码 {code} 已被 {existing.name} 使用 (the code is taken)")
        return False

    def retire(node: _Node, into: tuple[str, ...]) -> None:
        node.in_force = False
        successors[node.code] = set(into)
        for key, region in located.items():
            if region == node.code and len(into) == 1:
                located[key] = into[0]

    def mapped(change: Change, source: str, targets: tuple[str, ...]) -> None:
        seen: set[uuid.UUID] = set()
        for key, target in change.institutions.items():
            where = f"{change.where}.institutions.{key}"
            if key not in institutions:
                problem(where, ErrorCode.NOT_FOUND, "没有这个机构 (no such institution)")
            elif institutions[key][0] in seen:
                problem(where, ErrorCode.DUPLICATE, f"机构 {institutions[key][2]} 列了两次 (listed twice, by id and credit code)")
            elif located[key] != source:
                problem(where, ErrorCode.NOT_ALLOWED, f"机构 {institutions[key][2]} 不在区划 {source} (not registered there)")
            elif target not in targets:
                problem(where, ErrorCode.INVALID, f"{target} 不是本项的目标区划 (not a target of this change)")
            else:
                located[key] = target
                seen.add(institutions[key][0])

    for change in change_set.changes:
        where = change.where
        if change.op == "create":
            parent = in_force(change.parent, f"{where}.parent")
            if parent is not None and change.level is not None and change.level <= parent.level:
                problem(f"{where}.level", ErrorCode.INVALID, f"级别 {change.level} 应低于上级 {parent.name} 的级别 {parent.level} (below its parent)")
            if new_code(change.code, f"{where}.code", change.name, change.parent) and parent is not None and change.level is not None:
                nodes[change.code] = _Node(change.code, change.name, change.level, parent.code, parent.path + change.code + "/", True, created=True)
        elif change.op == "rename":
            node = in_force(change.code, f"{where}.code")
            if node is not None and node.name == change.name:
                problem(f"{where}.name", ErrorCode.INVALID, "新名称与现名称相同 (the same name)")
            elif node is not None:
                node.name = change.name
        elif change.op == "move":
            node, parent = in_force(change.code, f"{where}.code"), in_force(change.parent, f"{where}.parent")
            if node is not None and node.code == ROOT_CODE:
                problem(f"{where}.code", ErrorCode.NOT_ALLOWED, "全国不能移动 (the root)")
            elif node is not None and parent is not None:
                if parent.path.startswith(node.path):
                    problem(f"{where}.parent", ErrorCode.INVALID, f"{parent.name} 在 {node.name} 之下 (inside the region moved)")
                elif parent.level >= node.level:
                    problem(f"{where}.parent", ErrorCode.INVALID, f"{parent.name} 的级别不高于 {node.name} (not above it)")
                elif parent.level >= 2 and not children(parent.code) and not parent.created:
                    problem(f"{where}.parent", ErrorCode.NOT_ALLOWED, f"{parent.name} 没有下级区划，机构登记在它本身 (a lowest region)")
                elif node.parent == parent.code:
                    problem(f"{where}.parent", ErrorCode.INVALID, f"{node.name} 已在 {parent.name} 之下 (already there)")
                else:
                    old = node.path
                    for other in nodes.values():
                        if other.path.startswith(old):
                            other.path = parent.path + node.code + "/" + other.path[len(old):]
                    node.parent = parent.code
        elif change.op == "recode":
            source = lowest(change.sources[0] if change.sources else None, f"{where}.from")
            target = change.targets[0] if change.targets else None
            if source is not None and new_code(target, f"{where}.to", change.name or source.name, source.parent):
                nodes[target] = _Node(target, change.name or source.name, source.level, source.parent, source.path.removesuffix(source.code + "/") + target + "/", True, created=True)
                retire(source, (target,))
        elif change.op == "merge":
            target = lowest(change.targets[0] if change.targets else None, f"{where}.into")
            sources = [lowest(code, f"{where}.from[{i}]") for i, code in enumerate(change.sources)]
            if target is not None and target.code in change.sources:
                problem(f"{where}.into", ErrorCode.INVALID, "不能并入自身 (merged into itself)")
            elif target is not None and all(sources):
                for source in sources:
                    retire(source, (target.code,))
        elif change.op == "split":
            source = lowest(change.sources[0] if change.sources else None, f"{where}.from")
            targets = [lowest(code, f"{where}.into[{i}]") for i, code in enumerate(change.targets)]
            if source is not None and source.code in change.targets:
                problem(f"{where}.into", ErrorCode.INVALID, "目标区划不能包含被拆分的区划 (split into itself)")
            elif change.bureau is not None and change.bureau not in change.targets:
                problem(f"{where}.bureau", ErrorCode.INVALID, f"{change.bureau} 不是拆分的目标区划之一 (not one of into)")
            elif source is not None and targets and all(targets):
                mapped(change, source.code, change.targets)
                retire(source, change.targets)
        elif change.op == "transfer":
            code = change.sources[0] if change.sources else None
            target = lowest(change.targets[0] if change.targets else None, f"{where}.into")
            node = nodes.get(code) if code else None
            if node is None:
                problem(f"{where}.from", ErrorCode.NOT_FOUND, f"区划 {code} 不存在 (no such region)")
            elif not node.in_force and (target is None or target.code not in successors.get(node.code, ())):
                problem(f"{where}.into", ErrorCode.NOT_ALLOWED, f"{node.name} 已撤销：只能移交给它的继任区划 (only to a successor of a retired region)")
            elif node.in_force and lowest(code, f"{where}.from") is None:
                pass
            elif target is not None and target.code == node.code:
                problem(f"{where}.into", ErrorCode.INVALID, "不能移交给自身 (into itself)")
            elif target is not None:
                mapped(change, node.code, change.targets)
    mentioned = {c for change in change_set.changes for c in (change.code, *change.sources, *change.targets) if c}
    _check_bounds(conn, change_set, mentioned, problem)
    for i, code in enumerate(change_set.unverified):
        if code not in mentioned:
            problem(f"unverified[{i}].code", ErrorCode.INVALID, f"{code} 不在本调整中 (not a code of these changes)")
    if problems:
        raise ChangeSetError("CHANGE_SET_INVALID", problems)
    return Checked(change_set, institutions)
