"""The five-part registration (新增登记) as one table of field definitions.

``FIELDS`` is the single source of the registration's fields: the GraphQL inputs of each
part carry exactly these keys (a test holds them together), the forms are validated by
``validate_part``, and the Excel template, import and export take their columns, labels,
required marks and drop-down lists from the same table. The import template's fields are
therefore the new-registration form's fields, with the same required ones (docs/DOMAIN.md §R2.3:
模板中的字段信息与新增登记功能中的字段一致，必填项也保持一致).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import Enum, StrEnum
from typing import Any

from core.errors import ErrorCode, FieldError
from models import Grade, Kind, Mode, Nature, Premises, QualificationStatus, Subject, TrainingCategory
from resolvers import class_times, validation


class Part(StrEnum):
    BASICS = "BASICS"  # 1 基本情况
    QUALIFICATIONS = "QUALIFICATIONS"  # 2 办学资质
    OPERATION = "OPERATION"  # 3 办学情况
    SUBJECT_TRAINING = "SUBJECT_TRAINING"  # 4 中小学学科类培训情况
    FACILITIES = "FACILITIES"  # 5 办学条件


PART_LABELS = {
    Part.BASICS: "基本情况",
    Part.QUALIFICATIONS: "办学资质",
    Part.OPERATION: "办学情况",
    Part.SUBJECT_TRAINING: "中小学学科类培训情况",
    Part.FACILITIES: "办学条件",
}
#: The column of ``Institution`` that records a saved part (the basic situation is saved
#: when the row is created).
SAVED_FLAG = {
    Part.QUALIFICATIONS: "qualifications_saved",
    Part.OPERATION: "operation_saved",
    Part.SUBJECT_TRAINING: "subject_training_saved",
    Part.FACILITIES: "facilities_saved",
}

# Chinese labels of the choices, as shown in the template's drop-down lists.
CHOICES: dict[type[Enum], dict[str, str]] = {
    Kind: {"SUBJECT": "学科类", "NON_SUBJECT": "非学科类"},
    Mode: {"ONLINE": "线上", "OFFLINE": "线下"},
    Nature: {"FOR_PROFIT": "营利性", "NON_PROFIT": "非营利性"},
    QualificationStatus: {
        "FULL": "证照齐全",
        "BUSINESS_LICENCE_ONLY": "有照无证",
        "LICENCE_ONLY": "有证无照",
        "NONE": "无证无照",
    },
    TrainingCategory: {
        "SUBJECT": "学科类",
        "SPORTS": "体育类",
        "ARTS": "文化艺术类",
        "SCIENCE_TECHNOLOGY": "科技类",
        "OTHER": "其他类",
    },
    Subject: {
        "CHINESE": "语文",
        "MATHEMATICS": "数学",
        "ENGLISH": "英语",
        "PHYSICS": "物理",
        "CHEMISTRY": "化学",
        "BIOLOGY": "生物",
        "HISTORY": "历史",
        "GEOGRAPHY": "地理",
        "MORALITY_LAW": "道德与法治",
    },
    Grade: {"PRIMARY": "小学", "JUNIOR_SECONDARY": "初中", "SENIOR_SECONDARY": "高中"},
    Premises: {"OWNED": "自有", "LEASED": "租赁"},
}


@dataclass(frozen=True)
class FieldSpec:
    part: Part
    key: str  # the Institution column and (camelCased) the GraphQL input field
    label: str  # 中文, the template's column header
    type: str  # text | choice | multi | date | int | decimal | bool | sessions (resolvers.class_times)
    required: bool = False  # always required when the part is saved
    choices: type[Enum] | None = None
    max_length: int | None = None
    #: When the field is required only in some cases, the rule in words (for the template).
    condition: str = ""


_WITH_SUBJECTS = "有学科类培训时必填"
_FEE_TERMS = "有学科类培训时与另一项至少填一项"

FIELDS: tuple[FieldSpec, ...] = (
    # 1 基本情况
    FieldSpec(Part.BASICS, "name", "机构名称", "text", True, max_length=200),
    FieldSpec(Part.BASICS, "credit_code", "统一社会信用代码", "text", True, max_length=18),
    FieldSpec(Part.BASICS, "address", "机构地址", "text", True, max_length=300),
    FieldSpec(Part.BASICS, "postal_code", "邮政编码", "text", max_length=6),
    FieldSpec(Part.BASICS, "phone", "机构电话", "text", max_length=40),
    FieldSpec(Part.BASICS, "email", "电子邮箱", "text", max_length=254),
    FieldSpec(Part.BASICS, "kind", "机构类型", "choice", True, Kind),
    FieldSpec(Part.BASICS, "mode", "办学形式", "choice", True, Mode),
    FieldSpec(Part.BASICS, "nature", "机构性质", "choice", True, Nature),
    FieldSpec(Part.BASICS, "legal_rep_name", "法定代表人姓名", "text", True, max_length=50),
    FieldSpec(Part.BASICS, "legal_rep_id_number", "法定代表人身份证号", "text", True, max_length=18),
    FieldSpec(Part.BASICS, "legal_rep_phone", "法定代表人手机号", "text", True, max_length=20),
    FieldSpec(Part.BASICS, "contact_name", "联系人姓名", "text", True, max_length=50),
    FieldSpec(Part.BASICS, "contact_phone", "联系人手机号", "text", True, max_length=20),
    # 2 办学资质
    FieldSpec(Part.QUALIFICATIONS, "qualification_status", "办学资质情况", "choice", True, QualificationStatus),
    FieldSpec(Part.QUALIFICATIONS, "licence_number", "办学许可证编号", "text", max_length=50, condition="证照齐全、有证无照时必填"),
    FieldSpec(Part.QUALIFICATIONS, "licence_issuer", "办学许可证发证机关", "text", max_length=100, condition="证照齐全、有证无照时必填"),
    FieldSpec(Part.QUALIFICATIONS, "licence_valid_from", "办学许可证有效期起", "date", condition="证照齐全、有证无照时必填"),
    FieldSpec(Part.QUALIFICATIONS, "licence_valid_to", "办学许可证有效期止", "date", condition="证照齐全、有证无照时必填，晚于起始日期"),
    FieldSpec(Part.QUALIFICATIONS, "business_licence_number", "营业执照/民办非企业单位登记证书编号", "text", max_length=50, condition="证照齐全、有照无证时必填"),
    FieldSpec(Part.QUALIFICATIONS, "business_licence_issuer", "营业执照/登记证书登记机关", "text", max_length=100, condition="证照齐全、有照无证时必填"),
    # 3 办学情况
    FieldSpec(Part.OPERATION, "training_categories", "培训类别", "multi", True, TrainingCategory),
    FieldSpec(Part.OPERATION, "other_category", "其他培训类别", "text", max_length=100, condition="培训类别含“其他类”时必填"),
    FieldSpec(Part.OPERATION, "student_count", "在读学生数", "int", True),
    FieldSpec(Part.OPERATION, "staff_count", "从业人员数", "int", True),
    FieldSpec(Part.OPERATION, "teacher_count", "专职教师数", "int", True),
    # 4 中小学学科类培训情况
    FieldSpec(Part.SUBJECT_TRAINING, "no_subject_training", "无中小学学科类培训", "bool", True),
    FieldSpec(Part.SUBJECT_TRAINING, "subjects", "培训学科", "multi", choices=Subject, condition="有学科类培训时必填"),
    FieldSpec(Part.SUBJECT_TRAINING, "grades", "培训学段", "multi", choices=Grade, condition="有学科类培训时必填"),
    FieldSpec(Part.SUBJECT_TRAINING, "class_sessions", "上课时间", "sessions", condition=_WITH_SUBJECTS),
    FieldSpec(Part.SUBJECT_TRAINING, "fee_months", "一次收费最长覆盖月数", "int", condition=_FEE_TERMS),
    FieldSpec(Part.SUBJECT_TRAINING, "fee_class_hours", "一次收费最长覆盖课时", "int", condition=_FEE_TERMS),
    FieldSpec(Part.SUBJECT_TRAINING, "fee_per_hour", "收费标准（元/课时）", "decimal", condition=_WITH_SUBJECTS),
    FieldSpec(Part.SUBJECT_TRAINING, "class_times_note", "上课时间说明", "text", max_length=200),
    # 5 办学条件
    FieldSpec(Part.FACILITIES, "floor_area", "建筑面积（平方米）", "decimal", True),
    FieldSpec(Part.FACILITIES, "teaching_area", "教学面积（平方米）", "decimal", True),
    FieldSpec(Part.FACILITIES, "premises", "场地性质", "choice", True, Premises),
    FieldSpec(Part.FACILITIES, "lease_end", "租赁到期日", "date", condition="场地租赁时必填"),
    FieldSpec(Part.FACILITIES, "fire_safety_approved", "通过消防验收", "bool", True),
)
FIELDS_BY_PART: dict[Part, tuple[FieldSpec, ...]] = {
    part: tuple(f for f in FIELDS if f.part is part) for part in Part
}


@dataclass
class Checked:
    values: dict[str, Any] = field(default_factory=dict)
    errors: list[FieldError] = field(default_factory=list)

    def fail(self, key: str, code: ErrorCode, message: str) -> None:
        self.errors.append(FieldError(key, code, message))

    def problem(self, key: str, problem: validation.Problem) -> None:
        if problem:
            self.fail(key, *problem)


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):  # a class time
        return {k: _plain(v) for k, v in value.items()}
    return value


# The smallest numeric column (fee per hour) is NUMERIC(10, 2).
_NUMBER_LIMIT = Decimal("100000000")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _generic(spec: FieldSpec, value: Any, checked: Checked) -> Any:
    """Required, length, choices, non-negative numbers: the checks every field gets."""
    label = spec.label
    if value is None or value == []:
        if spec.required:
            checked.fail(spec.key, ErrorCode.REQUIRED, f"请填写{label}")
        return [] if spec.type in ("multi", "sessions") else None
    if spec.type == "text":
        if _CONTROL.search(value):
            # PostgreSQL refuses NUL, and Excel files cannot hold control characters.
            checked.fail(spec.key, ErrorCode.INVALID, f"{label}不能包含换行、制表符等控制字符")
        elif spec.max_length and len(value) > spec.max_length:
            checked.fail(spec.key, ErrorCode.TOO_LONG, f"{label}不能超过 {spec.max_length} 个字")
    elif spec.type == "choice":
        if value not in CHOICES[spec.choices]:
            checked.fail(spec.key, ErrorCode.INVALID, f"{label}的取值无效")
    elif spec.type == "multi":
        if any(v not in CHOICES[spec.choices] for v in value):
            checked.fail(spec.key, ErrorCode.INVALID, f"{label}的取值无效")
        value = sorted(set(value), key=list(CHOICES[spec.choices]).index)
    elif spec.type == "sessions":
        value, problems = class_times.check_sessions(value, spec.key)
        for key, code, message in problems:
            checked.fail(key, code, message)
    elif spec.type == "int":
        if value < 0 or value > 10_000_000:
            checked.fail(spec.key, ErrorCode.INVALID, f"{label}应为不小于 0 的整数")
    elif spec.type == "decimal":
        if not value.is_finite() or value < 0 or value >= _NUMBER_LIMIT or value.as_tuple().exponent < -2:
            checked.fail(spec.key, ErrorCode.INVALID, f"{label}应为不小于 0、小于一亿的数，最多两位小数")
    return value


_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+")


@dataclass
class Context:
    """What the rules of a part need to know besides its own fields."""

    today: date
    province_code: str
    kind: str | None = None  # the institution's kind (part 1), for part 3


def _basics(v: dict, c: Checked, ctx: Context) -> None:
    if v["credit_code"]:
        v["credit_code"] = v["credit_code"].upper()
        c.problem("credit_code", validation.credit_code(v["credit_code"], province_code=ctx.province_code))
    if v["legal_rep_id_number"]:
        v["legal_rep_id_number"] = v["legal_rep_id_number"].upper()
        c.problem("legal_rep_id_number", validation.resident_id(v["legal_rep_id_number"], today=ctx.today))
    for key in ("legal_rep_phone", "contact_phone"):
        if v[key]:
            if problem := validation.mobile(v[key]):
                c.problem(key, problem)
            else:
                v[key] = validation.normalized_mobile(v[key])
    if v["postal_code"]:
        c.problem("postal_code", validation.postal_code(v["postal_code"]))
    if v["phone"]:
        c.problem("phone", validation.phone(v["phone"]))
    if v["email"] and not _EMAIL.fullmatch(v["email"]):
        c.fail("email", ErrorCode.INVALID, "电子邮箱格式不正确")


_LICENCE = ("licence_number", "licence_issuer", "licence_valid_from", "licence_valid_to")
_BUSINESS = ("business_licence_number", "business_licence_issuer")


def _qualifications(v: dict, c: Checked, ctx: Context) -> None:
    status = v["qualification_status"]
    if status is None:
        return
    has_licence = status in ("FULL", "LICENCE_ONLY")
    has_business = status in ("FULL", "BUSINESS_LICENCE_ONLY")
    for keys, needed in ((_LICENCE, has_licence), (_BUSINESS, has_business)):
        for key in keys:
            if not needed:
                v[key] = None  # the status says there is no such document
            elif v[key] is None:
                label = next(f.label for f in FIELDS if f.key == key)
                c.fail(key, ErrorCode.REQUIRED, f"办学资质为“{CHOICES[QualificationStatus][status]}”时请填写{label}")
    if has_licence and v["licence_valid_from"] and v["licence_valid_to"] and v["licence_valid_to"] <= v["licence_valid_from"]:
        c.fail("licence_valid_to", ErrorCode.INVALID, "办学许可证有效期止应晚于有效期起")


def kind_conflict(kind: str | None, categories: list[str]) -> str | None:
    """Why the institution's kind and its training categories disagree, or None."""
    if kind == "SUBJECT" and categories and "SUBJECT" not in categories:
        return "学科类机构的培训类别应包含“学科类”"
    if kind == "NON_SUBJECT" and "SUBJECT" in categories:
        return "非学科类机构的培训类别不能包含“学科类”"
    return None


def _operation(v: dict, c: Checked, ctx: Context) -> None:
    categories = v["training_categories"]
    if "OTHER" in categories:
        if not v["other_category"]:
            c.fail("other_category", ErrorCode.REQUIRED, "勾选“其他类”时请填写具体培训类别")
    else:
        v["other_category"] = None
    if conflict := kind_conflict(ctx.kind, categories):
        c.fail("training_categories", ErrorCode.INVALID, conflict)
    if v["teacher_count"] is not None and v["staff_count"] is not None and v["teacher_count"] > v["staff_count"]:
        c.fail("teacher_count", ErrorCode.INVALID, "专职教师数不能大于从业人员数")


def _subject_training(v: dict, c: Checked, ctx: Context) -> None:
    if v["no_subject_training"] is not False:
        if v["no_subject_training"]:
            # 无中小学学科类培训: the part is complete without content.
            v.update({spec.key: [] if spec.type in ("multi", "sessions") else None for spec in FIELDS_BY_PART[Part.SUBJECT_TRAINING][1:]})
        return
    for spec in FIELDS_BY_PART[Part.SUBJECT_TRAINING]:
        if spec.condition == _WITH_SUBJECTS and v[spec.key] in (None, []):
            c.fail(spec.key, ErrorCode.REQUIRED, f"有学科类培训时请填写{spec.label}")
    if v["fee_months"] is None and v["fee_class_hours"] is None:
        c.fail("fee_months", ErrorCode.REQUIRED, "有学科类培训时请填写一次收费最长覆盖的月数或课时")


def _facilities(v: dict, c: Checked, ctx: Context) -> None:
    if v["floor_area"] is not None and v["teaching_area"] is not None and v["teaching_area"] > v["floor_area"]:
        c.fail("teaching_area", ErrorCode.INVALID, "教学面积不能大于建筑面积")
    if v["premises"] == "LEASED":
        if v["lease_end"] is None:
            c.fail("lease_end", ErrorCode.REQUIRED, "场地租赁时请填写租赁到期日")
    else:
        v["lease_end"] = None


_RULES = {
    Part.BASICS: _basics,
    Part.QUALIFICATIONS: _qualifications,
    Part.OPERATION: _operation,
    Part.SUBJECT_TRAINING: _subject_training,
    Part.FACILITIES: _facilities,
}


def validate_part(part: Part, data: dict[str, Any], ctx: Context) -> Checked:
    """The cleaned values of one part and its problems. ``data`` holds Python values
    (str, enum values, lists, date, int, Decimal, bool) keyed by ``FieldSpec.key``."""
    checked = Checked()
    for spec in FIELDS_BY_PART[part]:
        checked.values[spec.key] = _generic(spec, _plain(data.get(spec.key)), checked)
    if not checked.errors:
        _RULES[part](checked.values, checked, ctx)
    return checked
