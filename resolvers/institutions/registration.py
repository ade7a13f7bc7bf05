"""The five-part registration (新增登记) as one table of field definitions.

``FIELDS`` is the single source of the registration's fields: the GraphQL inputs of each
part carry exactly these keys (a test holds them together), the forms are validated by
``validate_part``, and the Excel template, import and export take their columns, labels,
required marks and drop-down lists from the same table. The import template's fields are
therefore the new-registration form's fields, with the same required ones (docs/DOMAIN.md §R2.3:
模板中的字段信息与新增登记功能中的字段一致，必填项也保持一致). Which fields apply under which
choice (``FieldSpec.when``) and what part 4 is for each kind (``NO_SUBJECT_TRAINING_OF_KIND``)
are declared here too, and read by the forms, the import and the template's instructions.
One idea — the registration's field rules — hence a little over 400 lines.
"""

from __future__ import annotations

import re
from collections.abc import Collection
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


#: How the template and the rules' messages write a yes/no field.
YES_NO = {True: "是", False: "否"}


@dataclass(frozen=True)
class When:
    """A field that only some values of another field of its part give a meaning (the
    licence's fields under 证照齐全 or 有证无照): required then (unless ``required`` is
    False), and otherwise an error when it is filled in (``NOT_APPLICABLE``), never dropped."""

    key: str  # the deciding field, of the same part
    values: frozenset  # the deciding values (for a multi-select: any of them chosen)
    required: bool = True

    def holds(self, decided: Any) -> bool:
        if isinstance(decided, list):
            return bool(self.values.intersection(decided))
        return decided in self.values


@dataclass(frozen=True)
class FieldSpec:
    part: Part
    key: str  # the Institution column and (camelCased) the GraphQL input field
    label: str  # 中文, the template's column header
    type: str  # text | choice | multi | date | int | decimal | bool | sessions (resolvers.class_times)
    required: bool = False  # always required when the part is saved
    choices: type[Enum] | None = None
    max_length: int | None = None
    #: When another field of the part decides whether this one applies.
    when: When | None = None
    #: A further rule in words, for the template and the schema (what ``when`` does not say).
    note: str = ""

    @property
    def condition(self) -> str:
        """When the field is required or to be left empty, in words (the template's
        instructions, the schema's descriptions), from ``when``."""
        words = [f"{applies_words(self.when)}{'必填' if self.when.required else '填写'}，否则须留空"] if self.when else []
        if self.key == KIND_DECIDES:
            words.append(kind_words())
        return "；".join([*words, *([self.note] if self.note else [])])


def _value_label(spec: "FieldSpec", value: Any) -> str:
    return YES_NO[value] if spec.type == "bool" else CHOICES[spec.choices][value]


def applies_words(when: When) -> str:
    """``办学资质情况为“证照齐全”或“有证无照”时``: when a field applies, in words."""
    decider = SPECS[when.key]
    values = "或".join(f"“{_value_label(decider, v)}”" for v in sorted(when.values, key=_order(decider)))
    return f"{decider.label}{'含' if decider.type == 'multi' else '为'}{values}时"


def _order(spec: "FieldSpec"):
    known = list(YES_NO) if spec.type == "bool" else list(CHOICES[spec.choices])
    return known.index


_LICENCE = When("qualification_status", frozenset({"FULL", "LICENCE_ONLY"}))
_BUSINESS = When("qualification_status", frozenset({"FULL", "BUSINESS_LICENCE_ONLY"}))
#: Part 4's content: only with subject training (无中小学学科类培训 = 否).
WITH_SUBJECT_TRAINING = When("no_subject_training", frozenset({False}))

#: Part 4's fee terms and note: only with subject training, the two terms at least one of them.
_FEE_TERMS = When("no_subject_training", frozenset({False}), required=False)
_FEE_TERMS_NOTE = "与另一项至少填一项"

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
    FieldSpec(Part.QUALIFICATIONS, "licence_number", "办学许可证编号", "text", max_length=50, when=_LICENCE),
    FieldSpec(Part.QUALIFICATIONS, "licence_issuer", "办学许可证发证机关", "text", max_length=100, when=_LICENCE),
    FieldSpec(Part.QUALIFICATIONS, "licence_valid_from", "办学许可证有效期起", "date", when=_LICENCE),
    FieldSpec(Part.QUALIFICATIONS, "licence_valid_to", "办学许可证有效期止", "date", when=_LICENCE, note="晚于起始日期"),
    FieldSpec(Part.QUALIFICATIONS, "business_licence_number", "营业执照/民办非企业单位登记证书编号", "text", max_length=50, when=_BUSINESS),
    FieldSpec(Part.QUALIFICATIONS, "business_licence_issuer", "营业执照/登记证书登记机关", "text", max_length=100, when=_BUSINESS),
    # 3 办学情况
    FieldSpec(Part.OPERATION, "training_categories", "培训类别", "multi", True, TrainingCategory),
    FieldSpec(Part.OPERATION, "other_category", "其他培训类别", "text", max_length=100, when=When("training_categories", frozenset({"OTHER"}))),
    FieldSpec(Part.OPERATION, "student_count", "在读学生数", "int", True),
    FieldSpec(Part.OPERATION, "staff_count", "从业人员数", "int", True),
    FieldSpec(Part.OPERATION, "teacher_count", "专职教师数", "int", True),
    # 4 中小学学科类培训情况
    FieldSpec(Part.SUBJECT_TRAINING, "no_subject_training", "无中小学学科类培训", "bool", True),
    FieldSpec(Part.SUBJECT_TRAINING, "subjects", "培训学科", "multi", choices=Subject, when=WITH_SUBJECT_TRAINING),
    FieldSpec(Part.SUBJECT_TRAINING, "grades", "培训学段", "multi", choices=Grade, when=WITH_SUBJECT_TRAINING),
    FieldSpec(Part.SUBJECT_TRAINING, "class_sessions", "上课时间", "sessions", when=WITH_SUBJECT_TRAINING),
    FieldSpec(Part.SUBJECT_TRAINING, "fee_months", "一次收费最长覆盖月数", "int", when=_FEE_TERMS, note=_FEE_TERMS_NOTE),
    FieldSpec(Part.SUBJECT_TRAINING, "fee_class_hours", "一次收费最长覆盖课时", "int", when=_FEE_TERMS, note=_FEE_TERMS_NOTE),
    FieldSpec(Part.SUBJECT_TRAINING, "fee_per_hour", "收费标准（元/课时）", "decimal", when=WITH_SUBJECT_TRAINING),
    FieldSpec(Part.SUBJECT_TRAINING, "class_times_note", "上课时间说明", "text", max_length=200, when=_FEE_TERMS),
    # 5 办学条件
    FieldSpec(Part.FACILITIES, "floor_area", "建筑面积（平方米）", "decimal", True),
    FieldSpec(Part.FACILITIES, "teaching_area", "教学面积（平方米）", "decimal", True),
    FieldSpec(Part.FACILITIES, "premises", "场地性质", "choice", True, Premises),
    FieldSpec(Part.FACILITIES, "lease_end", "租赁到期日", "date", when=When("premises", frozenset({"LEASED"}))),
    FieldSpec(Part.FACILITIES, "fire_safety_approved", "通过消防验收", "bool", True),
)
FIELDS_BY_PART: dict[Part, tuple[FieldSpec, ...]] = {
    part: tuple(f for f in FIELDS if f.part is part) for part in Part
}
SPECS: dict[str, FieldSpec] = {spec.key: spec for spec in FIELDS}


#: Part 4 by the institution's kind (docs/DOMAIN.md §R2.2: 没有学科类培训的机构可以直接跳过该页面):
#: what 无中小学学科类培训 must be. A subject institution (学科类) fills the part in and may not
#: declare no subject training; a non-subject one has none: its part 4 is saved as such with
#: part 1 (``part_four_of_kind``), so skipping it leaves nothing missing.
NO_SUBJECT_TRAINING_OF_KIND = {"SUBJECT": False, "NON_SUBJECT": True}


#: The field of part 4 that the kind decides.
KIND_DECIDES = "no_subject_training"


def kind_words() -> str:
    """Part 4's rule by kind, in words (the template's instructions, the schema)."""
    return "；".join(
        f"{CHOICES[Kind][kind]}机构填“{YES_NO[value]}”" + (f"，也可整部分不填（视为“{YES_NO[value]}”）" if value else "")
        for kind, value in NO_SUBJECT_TRAINING_OF_KIND.items()
    )


def part_four_of_kind(kind: str | None, saved: bool, no_subject_training: bool | None) -> dict[str, Any]:
    """What part 1's kind makes of part 4 (columns to set): a non-subject institution's part 4,
    never filled in, is saved as 无中小学学科类培训; a saved part 4 that the kind no longer fits
    is reopened, to be saved again (like part 3 for its categories)."""
    wanted = NO_SUBJECT_TRAINING_OF_KIND.get(kind)
    if saved and no_subject_training is not None and no_subject_training != wanted:
        return {"subject_training_saved": False}
    if not saved and wanted is True and no_subject_training is None:
        return {"no_subject_training": True, "subject_training_saved": True}
    return {}


def follow_kind(row: Any) -> None:
    """An institution row (new or edited in part 1) with part 4 as its kind makes it."""
    for key, value in part_four_of_kind(row.kind, row.subject_training_saved, row.no_subject_training).items():
        setattr(row, key, value)


@dataclass
class Checked:
    values: dict[str, Any] = field(default_factory=dict)
    errors: list[FieldError] = field(default_factory=list)

    def fail(self, key: str, code: ErrorCode, message: str) -> None:
        self.errors.append(FieldError(key, code, message))

    def problem(self, key: str, problem: validation.Problem) -> None:
        if problem:
            self.fail(key, *problem)

    def failed(self, key: str) -> bool:
        return any(e.key == key or e.key.startswith(f"{key}.") for e in self.errors)

    def given(self, key: str) -> bool:
        """The field holds a value that passed the generic checks (rules build on it)."""
        return self.values.get(key) not in (None, []) and not self.failed(key)


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


def _applicable(spec: FieldSpec, v: dict, c: Checked, sent: Collection[str] | None) -> None:
    """``spec.when``: required where it applies; elsewhere a value sent is NOT_APPLICABLE, and
    one kept from the saved record (the deciding field changed) is cleared with it."""
    when = spec.when
    if v[when.key] in (None, []):
        return  # the deciding field is missing: that is its own error
    if when.holds(v[when.key]):
        if when.required and v[spec.key] in (None, []) and not c.failed(spec.key):
            c.fail(spec.key, ErrorCode.REQUIRED, f"{applies_words(when)}请填写{spec.label}")
        return
    if v[spec.key] in (None, []):
        return
    if sent is None or spec.key in sent:
        decider = SPECS[when.key]
        chosen = v[when.key]
        shown = "、".join(_value_label(decider, x) for x in chosen) if isinstance(chosen, list) else _value_label(decider, chosen)
        c.fail(spec.key, ErrorCode.NOT_APPLICABLE, f"{decider.label}为“{shown}”，不应填写{spec.label}")
    v[spec.key] = [] if spec.type in ("multi", "sessions") else None


_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+")


@dataclass
class Context:
    """What the rules of a part need to know besides its own fields."""

    today: date
    province_code: str
    kind: str | None = None  # the institution's kind (part 1), for parts 3 and 4


def _basics(v: dict, c: Checked, ctx: Context) -> None:
    if c.given("credit_code"):
        v["credit_code"] = v["credit_code"].upper()
        c.problem("credit_code", validation.credit_code(v["credit_code"], province_code=ctx.province_code))
    if c.given("legal_rep_id_number"):
        v["legal_rep_id_number"] = v["legal_rep_id_number"].upper()
        c.problem("legal_rep_id_number", validation.resident_id(v["legal_rep_id_number"], today=ctx.today))
    for key in ("legal_rep_phone", "contact_phone"):
        if c.given(key):
            if problem := validation.mobile(v[key]):
                c.problem(key, problem)
            else:
                v[key] = validation.normalized_mobile(v[key])
    if c.given("postal_code"):
        c.problem("postal_code", validation.postal_code(v["postal_code"]))
    if c.given("phone"):
        c.problem("phone", validation.phone(v["phone"]))
    if c.given("email") and not _EMAIL.fullmatch(v["email"]):
        c.fail("email", ErrorCode.INVALID, "电子邮箱格式不正确")


def _qualifications(v: dict, c: Checked, ctx: Context) -> None:
    if c.given("licence_valid_from") and c.given("licence_valid_to") and v["licence_valid_to"] <= v["licence_valid_from"]:
        c.fail("licence_valid_to", ErrorCode.INVALID, "办学许可证有效期止应晚于有效期起")


def kind_conflict(kind: str | None, categories: list[str]) -> str | None:
    """Why the institution's kind and its training categories disagree, or None."""
    if kind == "SUBJECT" and categories and "SUBJECT" not in categories:
        return "学科类机构的培训类别应包含“学科类”"
    if kind == "NON_SUBJECT" and "SUBJECT" in categories:
        return "非学科类机构的培训类别不能包含“学科类”"
    return None


def _operation(v: dict, c: Checked, ctx: Context) -> None:
    if c.given("training_categories") and (conflict := kind_conflict(ctx.kind, v["training_categories"])):
        c.fail("training_categories", ErrorCode.INVALID, conflict)
    if c.given("teacher_count") and c.given("staff_count") and v["teacher_count"] > v["staff_count"]:
        c.fail("teacher_count", ErrorCode.INVALID, "专职教师数不能大于从业人员数")


def _subject_training(v: dict, c: Checked, ctx: Context) -> None:
    wanted = NO_SUBJECT_TRAINING_OF_KIND.get(ctx.kind)
    if wanted is not None and v[KIND_DECIDES] is not None and v[KIND_DECIDES] != wanted:
        c.fail(
            KIND_DECIDES, ErrorCode.INVALID,
            "学科类机构须填写中小学学科类培训情况，不能选择“无中小学学科类培训”" if ctx.kind == "SUBJECT"
            else "非学科类机构没有中小学学科类培训，“无中小学学科类培训”应为“是”",
        )
    if v[KIND_DECIDES] is False and v["fee_months"] is None and v["fee_class_hours"] is None and not c.failed("fee_months"):
        c.fail("fee_months", ErrorCode.REQUIRED, "有学科类培训时请填写一次收费最长覆盖的月数或课时")


def _facilities(v: dict, c: Checked, ctx: Context) -> None:
    if c.given("floor_area") and c.given("teaching_area") and v["teaching_area"] > v["floor_area"]:
        c.fail("teaching_area", ErrorCode.INVALID, "教学面积不能大于建筑面积")


_RULES = {
    Part.BASICS: _basics,
    Part.QUALIFICATIONS: _qualifications,
    Part.OPERATION: _operation,
    Part.SUBJECT_TRAINING: _subject_training,
    Part.FACILITIES: _facilities,
}


def validate_part(part: Part, data: dict[str, Any], ctx: Context, *, sent: Collection[str] | None = None) -> Checked:
    """The cleaned values of one part and every problem of it at once. ``data`` holds Python
    values (str, enum values, lists, date, int, Decimal, bool) keyed by ``FieldSpec.key``;
    ``sent`` names the fields the caller gave when the others come from the saved record
    (None: all of them were given)."""
    checked = Checked()
    for spec in FIELDS_BY_PART[part]:
        checked.values[spec.key] = _generic(spec, _plain(data.get(spec.key)), checked)
    unreadable = {e.key for e in checked.errors}
    _RULES[part](checked.values, checked, ctx)
    for spec in FIELDS_BY_PART[part]:
        # Not where the deciding field is unreadable, or is what the kind forbids (part 4).
        if spec.when is not None and spec.when.key not in unreadable and not (spec.when.key == KIND_DECIDES and checked.failed(KIND_DECIDES)):
            _applicable(spec, checked.values, checked, sent)
    order = [spec.key for spec in FIELDS_BY_PART[part]]
    field_of = lambda key: key.split(".", 1)[0]  # noqa: E731 - classSessions.0.weekday is of classSessions
    checked.errors.sort(key=lambda e: order.index(field_of(e.key)) if field_of(e.key) in order else len(order))  # in the form's order
    return checked
