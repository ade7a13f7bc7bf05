"""A form's checks, field by field: each check stores the cleaned value or records a
``FieldError`` beside the field (keys are the model's snake_case names; the payload shows
them in camelCase). Used by the portal's forms (staff, sites, courses, classes, materials,
applications)."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any

from core.errors import ErrorCode, FieldError
from resolvers import validation


def raw(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


class Form:
    def __init__(self, data: dict[str, Any], *, today: date) -> None:
        self.data = data
        self.today = today
        self.values: dict[str, Any] = {}
        self.errors: list[FieldError] = []

    def error(self, key: str | None, code: ErrorCode, message: str) -> None:
        self.errors.append(FieldError(key, code, message))

    def has_error(self, key: str) -> bool:
        return any(e.key == key for e in self.errors)

    def _missing(self, key: str, label: str, required: bool) -> bool:
        """Record REQUIRED when the value is absent; True when there is nothing to check."""
        value = self.data.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.error(key, ErrorCode.REQUIRED, f"请填写{label}")
            self.values[key] = None
            return True
        return False

    def text(
        self, key: str, label: str, limit: int, *, required: bool = True, pattern: re.Pattern | None = None, hint: str = "", lines: bool = False
    ) -> str | None:
        if self._missing(key, label, required):
            return None
        value = validation.text(self.data[key])
        if problem := validation.text_problem(value, label, limit, lines=lines):
            self.error(key, *problem)
        elif pattern is not None and not pattern.match(value):
            self.error(key, ErrorCode.INVALID, hint or f"{label}格式不正确")
        self.values[key] = value
        return value

    def choice(self, key: str, label: str, enum: type[Enum], *, required: bool = True) -> str | None:
        if self._missing(key, label, required):
            return None
        value = raw(self.data[key])
        if value not in {m.value for m in enum}:
            self.error(key, ErrorCode.INVALID, f"{label}不在可选范围内")
            return None
        self.values[key] = value
        return value

    def choices(self, key: str, label: str, enum: type[Enum], *, required: bool = False) -> list[str]:
        values = [raw(v) for v in self.data.get(key) or []]
        allowed = {m.value for m in enum}
        if any(v not in allowed for v in values):
            self.error(key, ErrorCode.INVALID, f"{label}不在可选范围内")
        values = list(dict.fromkeys(v for v in values if v in allowed))
        if required and not values:
            self.error(key, ErrorCode.REQUIRED, f"请选择{label}")
        self.values[key] = values
        return values

    def integer(self, key: str, label: str, low: int, high: int, *, required: bool = True) -> int | None:
        if self._missing(key, label, required):
            return None
        value = self.data[key]
        if not isinstance(value, int) or not low <= value <= high:
            self.error(key, ErrorCode.INVALID, f"{label}应为 {low} 到 {high} 之间的整数")
            return None
        self.values[key] = value
        return value

    def amount(self, key: str, label: str, low: Decimal, high: Decimal, *, required: bool = True) -> Decimal | None:
        if self._missing(key, label, required):
            return None
        try:
            value = Decimal(str(self.data[key]))
        except InvalidOperation:
            value = None
        if value is None or not value.is_finite() or not low <= value <= high or value != value.quantize(Decimal("0.01")):
            self.error(key, ErrorCode.INVALID, f"{label}应为 {low} 到 {high} 之间、最多两位小数的数")
            return None
        self.values[key] = value
        return value

    def day(self, key: str, label: str, *, required: bool = True, not_after_today: bool = False) -> date | None:
        if self._missing(key, label, required):
            return None
        value = self.data[key]
        if not_after_today and value > self.today:
            self.error(key, ErrorCode.INVALID, f"{label}不能晚于今天")
        self.values[key] = value
        return value

    def mobile(self, key: str, label: str) -> str | None:
        if self._missing(key, label, True):
            return None
        if problem := validation.mobile(self.data[key]):
            self.error(key, *problem)
            return None
        self.values[key] = validation.normalized_mobile(self.data[key])
        return self.values[key]

    def resident_id(self, key: str, label: str) -> str | None:
        if self._missing(key, label, True):
            return None
        value = self.data[key].strip().upper()
        if problem := validation.resident_id(value, today=self.today):
            self.error(key, *problem)
            return None
        self.values[key] = value
        return value
