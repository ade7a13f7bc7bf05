"""An institution's funds (资金管理, docs/DOMAIN.md §P5): fee information (收费信息), supervision
information (监管信息: escrow bank, supervised account, risk reserve) and the basic account
(基本账户). Contracts (合同) are documents of category ``CONTRACT`` (``resolvers.documents``).

The institution's own account saves them; one row per institution, created by the first
save, then edited with the ``version`` read (an older one is refused: ``CONFLICT``). A save
changes the fields it sends (null clears one) and keeps the others, so each tab of the form
saves on its own. What the institution declares is stored as declared: a payment period
beyond the rule (at most 3 months or 60 class hours, 国办发〔2018〕80号) is a finding of the
rules, never a refused save; only types and ranges are checked here.

Account numbers are financial data: shown in full to the institution and to the county
desk that keeps its record, masked to their last four digits for every other viewer and in
the audit trail.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from core.errors import ErrorCode, FieldError
from models import ChargingMethod, Institution, InstitutionFunds
from resolvers import audit, findings, validation
from resolvers.records import DEREGISTERED, deregistered

#: Text fields: key -> (label, longest length, whether line breaks are allowed).
_TEXT = {
    "fee_standard": ("收费标准", 500, True),
    "refund_policy": ("退费办法", 2000, True),
    "escrow_bank": ("存管银行", 100, False),
    "basic_account_bank": ("基本账户开户银行", 100, False),
    "basic_account_name": ("基本账户户名", 100, False),
}
ACCOUNT_NUMBERS = {"supervised_account_number": "监管账户账号", "basic_account_number": "基本账户账号"}
#: Whole numbers: key -> (label, smallest, largest).
_COUNTS = {
    "max_months_per_payment": ("单次收费最长周期（月）", 1, 120),
    "max_class_hours_per_payment": ("单次收费最多课时", 1, 10_000),
}
_AMOUNT_LIMIT = Decimal("1000000000000")  # NUMERIC(14, 2)
FIELDS = ("charging_method", *_TEXT, *ACCOUNT_NUMBERS, *_COUNTS, "risk_reserve")

_ACCOUNT = re.compile(r"[0-9]{8,32}")


def check_funds(data: dict[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
    """The fields sent, checked: the values to store, or the problems."""
    values: dict[str, Any] = {}
    errors: list[FieldError] = []
    for key, value in data.items():
        if key in _TEXT:
            label, limit, lines = _TEXT[key]
            value = validation.text(value)
            if value is not None and (problem := validation.text_problem(value, label, limit, lines=lines)):
                errors.append(FieldError(key, *problem))
        elif key in ACCOUNT_NUMBERS:
            value = re.sub(r"[\s-]", "", value or "") or None
            if value is not None and not _ACCOUNT.fullmatch(value):
                errors.append(FieldError(key, ErrorCode.INVALID, f"{ACCOUNT_NUMBERS[key]}应为 8–32 位数字"))
        elif key in _COUNTS:
            label, low, high = _COUNTS[key]
            if value is not None and not low <= value <= high:
                errors.append(FieldError(key, ErrorCode.INVALID, f"{label}应为 {low}–{high} 的整数"))
        elif key == "risk_reserve":
            if value is not None and (
                not value.is_finite() or value < 0 or value >= _AMOUNT_LIMIT or value.as_tuple().exponent < -2
            ):
                errors.append(FieldError(key, ErrorCode.INVALID, "风险保证金应为不小于 0 的金额（元），最多两位小数"))
        elif key == "charging_method":
            value = ChargingMethod(value) if value is not None else None
        else:
            raise KeyError(key)
        values[key] = value
    return values, errors


async def save_funds(info, version: int | None, data: dict[str, Any]) -> tuple[InstitutionFunds | None, list[FieldError]]:
    """Save the fields sent for the caller's institution, based on ``version`` (none yet:
    null or 0)."""
    ctx = info.context
    viewer = ctx.viewer
    values, errors = check_funds(data)
    if errors:
        return None, errors
    async with ctx.sessionmaker() as db:
        region_code = (
            await db.execute(sa.select(Institution.region_code).where(Institution.id == viewer.institution_id))
        ).scalar_one_or_none()
        if region_code is None:
            return None, [FieldError(None, ErrorCode.NOT_FOUND, "培训机构不存在")]
        if await deregistered(db, viewer.institution_id):
            return None, [DEREGISTERED]
        funds = (
            await db.execute(
                sa.select(InstitutionFunds).where(InstitutionFunds.institution_id == viewer.institution_id).with_for_update()
            )
        ).scalar_one_or_none()
        if funds is not None and version is None:
            return None, [FieldError("version", ErrorCode.REQUIRED, "修改时请带上读取到的版本号 (version)")]
        if (version or 0) != (funds.version if funds else 0):
            return None, [_conflict()]
        before = audit.values_of(funds, list(values)) if funds else None
        if funds is None:
            funds = InstitutionFunds(institution_id=viewer.institution_id, **values)
            db.add(funds)
        else:
            for key, value in values.items():
                setattr(funds, key, value)
            funds.version += 1
        funds.updated_at = ctx.now
        funds.updated_by = viewer.account_id
        audit.record(
            db, ctx, "saveInstitutionFunds", "InstitutionFunds", viewer.institution_id, region_code,
            changed=audit.changes(before, audit.values_of(funds, list(values))),
        )
        try:
            await findings.refresh(db, [viewer.institution_id])
            await db.commit()
        except IntegrityError:
            # A simultaneous first save created the row.
            await db.rollback()
            return None, [_conflict()]
    return funds, []


def _conflict() -> FieldError:
    return FieldError("version", ErrorCode.CONFLICT, "资金信息已被他人修改，请刷新后重新编辑")
