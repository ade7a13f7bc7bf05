"""Checks of real-world identifiers, each returning ``None`` or ``(ErrorCode, 中文提示)``.

- Unified social credit code (统一社会信用代码, GB 32100-2015): 18 characters from the
  standard's alphabet, the MOD 31-3 check character (``stdnum.cn.uscc.calc_check_digit``,
  which, unlike ``uscc.validate``, accepts codes that begin with A, N or Y), a six-digit
  division code, and that division within the expected province. The division digits are
  compared by province only: codes are retired and reused, so they are never looked up in
  today's region table.
- Resident ID number (公民身份号码, GB 11643): 17 digits and a MOD 11-2 check character
  (``stdnum.cn.ric.calc_check_digit``), a real date of birth not in the future. The place
  of birth is not checked: ``stdnum``'s table rejects real numbers with older place codes.
- Mobile numbers (``phonenumbers``, region CN, type mobile), phone numbers (landline or
  mobile) and postal codes (six digits).
- Free text of a form: no control characters (line breaks allowed in multi-line text), a
  longest length.
"""

from __future__ import annotations

import functools
import re
from datetime import date

import phonenumbers
from stdnum.cn import ric, uscc

from core.errors import ErrorCode

Problem = tuple[ErrorCode, str] | None

_USCC = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$")
_RIC = re.compile(r"^[0-9]{17}[0-9X]$")
_POSTAL = re.compile(r"^[0-9]{6}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_BUT_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def text(value: str | None) -> str | None:
    """A form's text: stripped, and None when nothing is left."""
    value = (value or "").strip()
    return value or None


def text_problem(value: str, label: str, max_length: int, *, lines: bool = False) -> Problem:
    """A form's text (already trimmed): control characters, except line breaks and tabs
    where ``lines``, and the length."""
    if (_CONTROL_BUT_LINES if lines else _CONTROL).search(value):
        return ErrorCode.INVALID, f"{label}不能包含{'' if lines else '换行、制表符等'}控制字符"
    if len(value) > max_length:
        return ErrorCode.TOO_LONG, f"{label}不能超过 {max_length} 个字"
    return None


def credit_code(value: str, *, province_code: str | None = None) -> Problem:
    code = value.strip().upper()
    if len(code) != 18 or not _USCC.match(code):
        return ErrorCode.INVALID, "统一社会信用代码应为 18 位数字或大写字母（不含 I、O、Z、S、V）"
    if uscc.calc_check_digit(code[:17]) != code[17]:
        return ErrorCode.INVALID, "统一社会信用代码校验位不正确"
    if province_code and code[2:4] != province_code[:2]:
        return ErrorCode.INVALID, "统一社会信用代码中的登记管理机关行政区划码不在机构所在省份"
    return None


def resident_id(value: str, *, today: date) -> Problem:
    number = value.strip().upper()
    if not _RIC.match(number):
        return ErrorCode.INVALID, "公民身份号码应为 18 位，前 17 位为数字，末位为数字或 X"
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return ErrorCode.INVALID, "公民身份号码中的出生日期不存在"
    if born > today or born.year < 1900:
        return ErrorCode.INVALID, "公民身份号码中的出生日期不合理"
    # stdnum wants the whole number, check character included (it ignores the last one).
    if ric.calc_check_digit(number) != number[17]:
        return ErrorCode.INVALID, "公民身份号码校验码不正确"
    return None


@functools.lru_cache(maxsize=4096)
def _mobile(value: str) -> str | None:
    """The 11 national digits of a valid Chinese mobile number, else None."""
    try:
        number = phonenumbers.parse(value, "CN")
    except phonenumbers.NumberParseException:
        return None
    ok = phonenumbers.is_valid_number(number) and phonenumbers.number_type(number) in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )
    return str(number.national_number) if ok else None


def mobile(value: str) -> Problem:
    return None if _mobile(value) else (ErrorCode.INVALID, "手机号码格式不正确")


def normalized_mobile(value: str) -> str:
    """A valid mobile number as its 11 national digits (``+86 138-0013-8000`` →
    ``13800138000``)."""
    digits = _mobile(value)
    if digits is None:
        raise ValueError(f"not a mobile number: {value!r}")
    return digits


def phone(value: str) -> Problem:
    """An institution's phone: any valid Chinese number, landline or mobile."""
    try:
        ok = phonenumbers.is_valid_number(phonenumbers.parse(value, "CN"))
    except phonenumbers.NumberParseException:
        ok = False
    return None if ok else (ErrorCode.INVALID, "电话号码格式不正确")


def normalized_phone(value: str) -> str | None:
    """A landline or mobile (联系方式) as its national digits, or None when it is neither:
    ``13800138000``, ``020-3888 0000`` → ``02038880000``, ``+86 755 8888 0000`` → ``075588880000``."""
    if digits := _mobile(value):
        return digits
    try:
        number = phonenumbers.parse(value, "CN")
    except phonenumbers.NumberParseException:
        return None
    if number.country_code != 86 or not phonenumbers.is_valid_number(number):
        return None
    return "0" + str(number.national_number)


def postal_code(value: str) -> Problem:
    code = value.strip()
    if not _POSTAL.match(code) or code == "000000":
        return ErrorCode.INVALID, "邮政编码应为 6 位数字"
    return None


#: An e-mail address (used with fullmatch: "$" alone would also accept a trailing newline).
EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+")
