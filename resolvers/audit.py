"""The audit trail: every mutation writes one record in its own transaction (who, level,
region, department, what operation, which record, which fields changed with old and new
values, when, from which client address). Personal data and bank account numbers in the
changes and snapshots are masked. Records are append-only (a database trigger refuses updates and deletes)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

import re

from messaging import masked_destination
from models import ROOT_CODE, AuditRecord, Channel

_MOBILE_LOGIN = re.compile(r"1[3-9][0-9]{9}")

#: Fields whose values the trail never holds in clear.
_ID_NUMBERS = {"legal_rep_id_number", "id_number"}
_CERTIFICATES = {"teacher_certificate_number", "author_certificate_number"}
_PHONES = {"legal_rep_phone", "contact_phone", "mobile", "complainant_mobile"}
_NAMES = {"complainant_name"}
#: An account's e-mail is its holder's (an institution's own e-mail is not): values_of
#: masks it under this key.
_PERSONAL_EMAIL = "personal_email"
_ACCOUNT_NUMBERS = {"supervised_account_number", "basic_account_number"}
_SECRETS = {"password_hash"}


def jsonable(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def masked(key: str, value: Any) -> Any:
    value = jsonable(value)
    if value is None or not isinstance(value, str):
        return value
    if key in _SECRETS:
        return "***"
    if key in _ID_NUMBERS:
        return value[:3] + "*" * max(len(value) - 7, 0) + value[-4:] if len(value) > 7 else "*" * len(value)
    if key in _PHONES:
        return value[:3] + "****" + value[-4:] if len(value) > 7 else "*" * len(value)
    if key in _CERTIFICATES:
        return value[:4] + "*" * max(len(value) - 8, 0) + value[-4:] if len(value) > 8 else "*" * len(value)
    if key in _NAMES:
        return value[0] + "*" * (len(value) - 1)
    if key == _PERSONAL_EMAIL:
        return masked_destination(Channel.EMAIL, value)
    if key in _ACCOUNT_NUMBERS:
        return mask_account_number(value)
    return value


def mask_account_number(number: str) -> str:
    """A bank account number with its last four digits only (资金账户)."""
    return "*" * (len(number) - 4) + number[-4:] if len(number) > 4 else "*" * len(number)


def login_name(username: str) -> str:
    """An account's login name as the trail keeps it: an institution account's login name
    is its mobile number, which is personal data and kept masked."""
    return masked("mobile", username) if _MOBILE_LOGIN.fullmatch(username) else username


def values_of(row: Any, keys: list[str] | None = None) -> dict[str, Any]:
    """The row's column values (or those of ``keys``), as JSON, masked."""
    keys = keys if keys is not None else [c.key for c in type(row).__table__.columns]
    # A staff member's phone is a personal mobile, an account's e-mail its holder's (an
    # institution's phone and e-mail are not).
    personal = {"staff": {"phone": "mobile"}, "account": {"email": _PERSONAL_EMAIL}}.get(type(row).__tablename__, {})
    return {k: masked(personal.get(k, k), getattr(row, k)) for k in keys}


def changes(before: dict[str, Any] | None, after: dict[str, Any]) -> dict[str, list[Any]]:
    before = before or {}
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}


def record(
    db,
    ctx,
    operation: str,
    record_type: str,
    record_id: uuid.UUID,
    region_code: str | None,
    *,
    changed: dict[str, list[Any]] | None = None,
    snapshot: dict[str, Any] | None = None,
    viewer: Any = None,
) -> None:
    """Add the record to ``db``'s transaction (committed with the change itself)."""
    actor = viewer or ctx.viewer  # a Viewer, or the Account row of a login
    level = getattr(actor, "level", None)
    department = getattr(actor, "department", None)
    db.add(
        AuditRecord(
            at=ctx.now,
            account_id=(getattr(actor, "account_id", None) or getattr(actor, "id", None)) if actor else None,
            username=login_name(actor.username) if actor else "anonymous",
            level=jsonable(level),
            department=jsonable(department),
            operation=operation,
            record_type=record_type,
            record_id=record_id,
            region_code=region_code or ROOT_CODE,
            client_address=ctx.client_address,
            changes=changed,
            snapshot=snapshot,
        )
    )
