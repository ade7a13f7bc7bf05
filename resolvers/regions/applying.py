"""Applying a checked change set (``changes.check``) in the caller's transaction, on a
synchronous connection (the command line runs it through ``AsyncConnection.run_sync``, a
migration on its own connection): the regions and their history, then everything that bears
a retired code, moved to its successor (docs/regions.md says what moves where):

- institutions (the tallies' triggers move their counts, past days included: the statistics
  re-attribute history to the successor), their institution accounts, the urging notices and
  complaints about them, and their pending applications whose authority was the old county
  (or the old province, when a move changes the province);
- the county's own records (merge, recode; a split's ``bureau``): its other complaints and
  urging notices, the institution accounts waiting for a claim, and its regulator accounts —
  each unit account moves when the successor has none of its department and level, otherwise
  it is disabled (its sessions end); sub-units move under the successor's county account;
- nothing else: the audit trail is append-only and published black and white lists are
  snapshots, so both keep the old code, which resolves to its successors.

Every moved record gets an audit record (``applyRegionChangeSet``), and so does each change
and the change set itself. The caller commits, or rolls back for a dry run.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from core.clock import today
from models import (
    ROOT_CODE,
    Account,
    AccountKind,
    Application,
    ApplicationStatus,
    AuditRecord,
    AuthSession,
    Complaint,
    Institution,
    Level,
    Region,
    RegionChange,
    RegionChangeSet,
    RegionSuccessor,
    UrgingNotice,
)
from resolvers import audit
from resolvers.regions.changes import Change, Checked, check, read_change_set

OPERATION = "applyRegionChangeSet"
#: What a change moved, in the order printed: key -> label.
COUNTS = {
    "institutions": "机构",
    "review": "待分配机构",
    "institution_accounts": "机构账号",
    "accounts_moved": "管理账号迁入",
    "accounts_disabled": "管理账号停用",
    "sub_units": "下属单位",
    "complaints": "投诉",
    "notices": "督办",
    "applications": "待审申请",
    "ledgers": "整改中台账",
}
OP_LABELS = {"create": "设立", "rename": "更名", "recode": "变更代码", "merge": "合并", "split": "拆分", "move": "改变隶属", "transfer": "移交"}


@dataclass(frozen=True)
class Operator:
    """Who applies a change set, as the audit trail names them (no account: the command
    line or a migration)."""

    username: str
    level: None = None
    department: None = None
    account_id: None = None


@dataclass
class Moved:
    """One change as applied: what it says (``summary``) and what it moved (``COUNTS``)."""

    index: int
    op: str
    summary: str
    counts: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        counted = "  ".join(f"{COUNTS[k]} {n}" for k in COUNTS if (n := self.counts.get(k)))
        return f"[{self.index}] {self.summary}" + (f"\n      {counted}" if counted else "")


@dataclass
class _Audit:
    """What ``audit.entry`` reads of a request."""

    now: datetime
    client_address: str | None


def steps(checked: Checked) -> int:
    """The units of work ``apply`` reports to ``progress``: one per source of each change."""
    return sum(max(1, len(c.sources)) for c in checked.change_set.changes) + 1


def _ids(values: list[uuid.UUID]) -> sa.BindParameter:
    return sa.bindparam("ids", values, type_=ARRAY(sa.Uuid))


class Mover:
    """Moves what bears one region code to another in ``conn``'s transaction, each moved
    record audited as ``operation`` by ``actor`` (an ``Operator`` or a Viewer)."""

    def __init__(self, conn: Connection, now: datetime, actor: Any, operation: str = OPERATION, client_address: str | None = "command line") -> None:
        self.conn = conn
        self.now = now
        self.actor = actor
        self.operation = operation
        self.audit_context = _Audit(now, client_address)
        self.entries: list[dict[str, Any]] = []

    # --- the trail ---------------------------------------------------------------------

    def record(self, record_type: str, record_id: uuid.UUID, region_code: str, changed: dict[str, list[Any]]) -> None:
        self.entries.append({"id": uuid.uuid4(), **audit.entry(self.audit_context, self.actor, self.operation, record_type, record_id, region_code, changed=changed)})

    def flush(self) -> None:
        if self.entries:
            self.conn.execute(sa.insert(AuditRecord), self.entries)
            self.entries = []

    def region(self, code: str) -> Any:
        return self.conn.execute(sa.select(Region.code, Region.name, Region.level, Region.parent_code, Region.path).where(Region.code == code)).one()

    # --- records -------------------------------------------------------------------------

    def move_institutions(self, source: str, target: str, ids: list[uuid.UUID] | None, counts: dict[str, int]) -> None:
        """The institutions on ``source`` (those of ``ids`` only, when given) and what follows
        them, to ``target``."""
        which = Institution.region_code == source
        if ids is not None:
            which = sa.and_(which, Institution.id == sa.any_(_ids(ids)))
        moved = self.conn.execute(
            sa.update(Institution).where(which).values(region_code=target, updated_at=self.now).returning(Institution.id, Institution.inspection_status)
        ).all()
        for row in moved:
            self.record("Institution", row.id, target, {"regionCode": [source, target]})
        counts["institutions"] = counts.get("institutions", 0) + len(moved)
        counts["ledgers"] = counts.get("ledgers", 0) + sum(1 for r in moved if r.inspection_status == "RECTIFYING")
        if not moved:
            return
        moved_ids = [r.id for r in moved]
        of_moved = sa.any_(_ids(moved_ids))
        self.update(
            "institution_accounts", Account, "regionCode", source, target,
            sa.and_(Account.kind == AccountKind.INSTITUTION, Account.institution_id == of_moved, Account.region_code == source),
            Account.region_code, counts,
        )
        for key, model in (("notices", UrgingNotice), ("complaints", Complaint)):
            self.update(key, model, "countyCode", source, target, sa.and_(model.institution_id == of_moved, model.county_code == source), model.county_code, counts)
        of_institutions = Application.institution_id == of_moved
        self.retarget(Level.COUNTY, source, target, of_institutions, counts)
        old_province, new_province = self.province(source), self.province(target)
        if old_province != new_province:
            self.retarget(Level.PROVINCE, old_province, new_province, of_institutions, counts)

    def retarget(self, level: Level, old: str, new: str, of_institutions: Any, counts: dict[str, int]) -> None:
        """The pending applications (``of_institutions``) whose authority was the ``level``
        unit of ``old``: to that of ``new`` (its department and level stay)."""
        self.update(
            "applications", Application, "authorityRegionCode", old, new,
            sa.and_(
                of_institutions, Application.status == ApplicationStatus.PENDING,
                Application.authority_level == level.value, Application.authority_region_code == old,
            ),
            Application.authority_region_code, counts,
        )

    def province(self, code: str) -> str:
        return self.region(code).path.split("/")[1]

    def update(self, key: str, model: Any, field_name: str, old: str, new: str, where: Any, column: Any, counts: dict[str, int]) -> None:
        rows = self.conn.execute(sa.update(model).where(where).values({column.key: new}).returning(model.id)).all()
        record_type = {Account: "Account", UrgingNotice: "UrgingNotice", Complaint: "Complaint", Application: "Application"}[model]
        for row in rows:
            self.record(record_type, row.id, new, {field_name: [old, new]})
        counts[key] = counts.get(key, 0) + len(rows)

    def move_county(self, source: str, target: str | None, counts: dict[str, int]) -> None:
        """The county's own records (not those of its institutions) to ``target``; with no
        target its regulator accounts are disabled and the rest stays."""
        if target is not None:
            for key, model in (("notices", UrgingNotice), ("complaints", Complaint)):
                self.update(key, model, "countyCode", source, target, model.county_code == source, model.county_code, counts)
            self.update(
                "institution_accounts", Account, "regionCode", source, target,
                sa.and_(Account.kind == AccountKind.INSTITUTION, Account.institution_id.is_(None), Account.region_code == source),
                Account.region_code, counts,
            )
        accounts = self.conn.execute(
            sa.select(Account.id, Account.level, Account.department, Account.parent_id, Account.enabled)
            .where(Account.kind == AccountKind.REGULATOR, Account.region_code == source)
            .order_by(Account.level, Account.department, Account.username)
        ).all()
        disabled: set[uuid.UUID] = set()
        for account in (a for a in accounts if a.level is not Level.SUB_UNIT):
            taken = target is None or self.conn.execute(
                sa.select(sa.exists().where(
                    Account.kind == AccountKind.REGULATOR, Account.region_code == target,
                    Account.level == account.level, Account.department == account.department,
                ))
            ).scalar_one()
            if taken:
                if account.enabled:
                    self.disable(account.id, source, counts)
                disabled.add(account.id)
            else:
                self.conn.execute(sa.update(Account).where(Account.id == account.id).values(region_code=target, updated_at=self.now))
                self.record("Account", account.id, target, {"regionCode": [source, target]})
                counts["accounts_moved"] = counts.get("accounts_moved", 0) + 1
        for account in (a for a in accounts if a.level is Level.SUB_UNIT):
            if target is None:
                if account.enabled:
                    self.disable(account.id, source, counts)
                continue
            parent = account.parent_id
            if parent in disabled:
                # under the successor's county account of the same department
                parent = self.conn.execute(
                    sa.select(Account.id).where(
                        Account.kind == AccountKind.REGULATOR, Account.region_code == target,
                        Account.level == Level.COUNTY, Account.department == account.department,
                    )
                ).scalar_one_or_none() or parent
            self.conn.execute(sa.update(Account).where(Account.id == account.id).values(region_code=target, parent_id=parent, updated_at=self.now))
            changed = {"regionCode": [source, target]} | ({"parentId": [str(account.parent_id), str(parent)]} if parent != account.parent_id else {})
            self.record("Account", account.id, target, changed)
            counts["sub_units"] = counts.get("sub_units", 0) + 1

    def disable(self, account_id: uuid.UUID, region_code: str, counts: dict[str, int]) -> None:
        self.conn.execute(sa.update(Account).where(Account.id == account_id).values(enabled=False, updated_at=self.now))
        self.conn.execute(sa.delete(AuthSession).where(AuthSession.account_id == account_id))
        self.record("Account", account_id, region_code, {"enabled": [True, False]})
        counts["accounts_disabled"] = counts.get("accounts_disabled", 0) + 1

    def remaining(self, code: str) -> int:
        return self.conn.execute(sa.select(sa.func.count()).where(Institution.region_code == code)).scalar_one()


class _Applier(Mover):
    def __init__(self, conn: Connection, checked: Checked, now: datetime, operator: Operator, progress: Callable[[str], None]) -> None:
        super().__init__(conn, now, operator)
        self.checked = checked
        self.change_set = checked.change_set
        self.effective = self.change_set.effective
        self.progress = progress
        self.set_id = uuid.uuid4()

    def history(self, code: str, kind: str, details: dict[str, Any]) -> None:
        change_id = uuid.uuid4()
        self.conn.execute(
            sa.insert(RegionChange).values(
                id=change_id, change_set_id=self.set_id, region_code=code, kind=kind.upper(), effective=self.effective, details=details
            )
        )
        # a rename's and a move's details are [old, new] already
        self.record("RegionChange", change_id, code, {k: v if k in ("name", "parent") and isinstance(v, list) else [None, v] for k, v in details.items()})

    # --- regions -----------------------------------------------------------------------

    def create(self, code: str, name: str, parent: str, level: int) -> None:
        existing = self.conn.execute(sa.select(Region.code).where(Region.code == code)).scalar_one_or_none()
        if existing is not None:  # adopted (``check(adopt=True)``): the table had it already
            self.conn.execute(sa.update(Region).where(Region.code == code).values(valid_from=self.effective))
            return
        path = self.region(parent).path + code + "/"
        self.conn.execute(sa.insert(Region).values(code=code, name=name, level=level, parent_code=parent, path=path, valid_from=self.effective))

    def rehome(self, code: str, parent_path: str) -> None:
        """``code`` and everything kept under its path, under ``parent_path``."""
        old = self.region(code).path
        new = parent_path + code + "/"
        self.conn.execute(
            sa.update(Region).where(Region.path.like(old + "%")).values(path=sa.literal(new) + sa.func.substr(Region.path, len(old) + 1))
        )

    def retire(self, code: str, successors: tuple[str, ...]) -> None:
        self.conn.execute(sa.update(Region).where(Region.code == code).values(valid_to=self.effective))
        self.conn.execute(sa.insert(RegionSuccessor), [{"code": code, "successor_code": s} for s in successors])
        if len(successors) == 1:
            self.rehome(code, self.region(successors[0]).path)

    # --- the changes -------------------------------------------------------------------

    def name(self, code: str) -> str:
        return f"{code} {self.region(code).name}"

    def apply(self, change: Change) -> Moved:
        label = OP_LABELS[change.op]
        counts: dict[str, int] = {}
        mapped = {key: self.checked.institutions[key][0] for key in change.institutions}
        if change.op == "create":
            self.create(change.code, change.name, change.parent, change.level)
            self.history(change.code, "create", {"parent": change.parent, "level": change.level})
            summary = f"{label} {self.name(change.code)}（上级 {self.name(change.parent)}）"
            self.progress(summary)
        elif change.op == "rename":
            old = self.region(change.code).name
            self.conn.execute(sa.update(Region).where(Region.code == change.code).values(name=change.name))
            self.history(change.code, "rename", {"name": [old, change.name]})
            summary = f"{label} {change.code} {old} → {change.name}"
            self.progress(summary)
        elif change.op == "move":
            before = self.region(change.code)
            old_province = self.province(change.code)
            self.rehome(change.code, self.region(change.parent).path)
            self.conn.execute(sa.update(Region).where(Region.code == change.code).values(parent_code=change.parent))
            new_province = self.province(change.code)
            if old_province != new_province:
                under = sa.select(Institution.id).join(Region, Region.code == Institution.region_code).where(Region.path.like(self.region(change.code).path + "%"))
                self.retarget(Level.PROVINCE, old_province, new_province, Application.institution_id.in_(under), counts)
            self.history(change.code, "move", {"parent": [before.parent_code, change.parent]})
            summary = f"{label} {self.name(change.code)}：{self.name(before.parent_code)} → {self.name(change.parent)}"
            self.progress(summary)
        elif change.op in ("recode", "merge"):
            target = change.targets[0]
            if change.op == "recode":
                source = self.region(change.sources[0])
                self.create(target, change.name or source.name, source.parent_code, source.level)
            for source in change.sources:
                summary = f"{label} {self.name(source)} → {self.name(target)}"
                self.move_institutions(source, target, None, counts)
                self.move_county(source, target, counts)
                self.retire(source, (target,))
                self.history(source, change.op, {"into": [target]})
                self.progress(summary)
            self.history(target, change.op, {"from": list(change.sources)})
            summary = f"{label} {'、'.join(self.name(s) for s in change.sources)} → {self.name(target)}"
        elif change.op == "split":
            source = change.sources[0]
            for target in change.targets:
                ids = [mapped[key] for key, t in change.institutions.items() if t == target]
                if ids:
                    self.move_institutions(source, target, ids, counts)
            self.move_county(source, change.bureau, counts)
            counts["review"] = self.remaining(source)
            self.retire(source, change.targets)
            self.history(source, "split", {"into": list(change.targets), "review": counts["review"]})
            for target in change.targets:
                self.history(target, "split", {"from": [source]})
            summary = f"{label} {self.name(source)} → {'、'.join(self.name(t) for t in change.targets)}"
            self.progress(summary)
        else:  # transfer
            source, target = change.sources[0], change.targets[0]
            if mapped:
                self.move_institutions(source, target, list(mapped.values()), counts)
            self.history(source, "transfer", {"into": [target], "institutions": counts.get("institutions", 0)})
            self.history(target, "transfer", {"from": [source]})
            summary = f"{label} {self.name(source)} → {self.name(target)}"
            self.progress(summary)
        self.flush()
        return Moved(change.index, change.op, summary, {k: n for k, n in counts.items() if n})

    def run(self) -> list[Moved]:
        content = self.change_set.content
        self.conn.execute(
            sa.insert(RegionChangeSet).values(
                id=self.set_id, name=self.change_set.name, title=self.change_set.title, effective=self.effective, digest=self.change_set.digest,
                applied_at=self.now, applied_by=self.actor.username, content=content, moved=[],
            )
        )
        moved = [self.apply(change) for change in self.change_set.changes]
        summary = [{"change": m.index, "op": m.op, "summary": m.summary, **m.counts} for m in moved]
        self.conn.execute(sa.update(RegionChangeSet).where(RegionChangeSet.id == self.set_id).values(moved=summary))
        self.record("RegionChangeSet", self.set_id, ROOT_CODE, {"name": [None, self.change_set.name], "effective": [None, self.effective.isoformat()], "digest": [None, self.change_set.digest]})
        self.flush()
        self.progress("记录调整 (recorded)")
        return moved


def apply_file(
    conn: Connection,
    content: bytes,
    now: datetime,
    operator: Operator,
    *,
    adopt: bool = False,
    check_day: bool = True,
    started: Callable[[int], None] | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[Checked, list[Moved]]:
    """Read, check and apply a change-set file in ``conn``'s transaction (``changes.ChangeSetError``
    before anything is written when it is refused). One change set at a time: the first
    statement locks the table of applied change sets until the transaction ends.
    ``started(n)`` is told the number of ``progress`` calls to come."""
    change_set = read_change_set(content)
    conn.execute(sa.text("LOCK TABLE region_change_set IN SHARE ROW EXCLUSIVE MODE"))
    checked = check(conn, change_set, today(now), adopt=adopt, check_day=check_day)
    if started is not None:
        started(steps(checked))
    return checked, _Applier(conn, checked, now, operator, progress or (lambda _: None)).run()


async def apply_change_set(
    engine: AsyncEngine,
    content: bytes,
    now: datetime,
    operator: Operator,
    *,
    dry_run: bool = False,
    started: Callable[[int], None] | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[Checked, list[Moved]]:
    """``apply_file`` in one transaction of its own: committed when everything is applied,
    rolled back on any error, and for a dry run (which moves everything, reports it and
    keeps nothing)."""
    async with engine.connect() as conn, conn.begin() as transaction:
        applied = await conn.run_sync(lambda c: apply_file(c, content, now, operator, started=started, progress=progress))
        if dry_run:
            await transaction.rollback()
        return applied
