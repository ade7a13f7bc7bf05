"""Validators with valid and invalid real-format examples."""

from __future__ import annotations

from datetime import date

import pytest

from core.errors import ErrorCode
from resolvers import validation

TODAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    ("code", "province"),
    [
        ("91350100M000100Y43", "350000"),  # 福建, an enterprise
        ("91110000600037341L", "110000"),  # 北京
        ("Y1440106MA5CX1234Q", "440000"),  # begins with Y: stdnum's validate() refuses it wrongly
        ("12420000MB1234567Q", "420000"),  # a public institution (事业单位)
        ("91350100m000100y43", "350000"),  # lower case is read as upper case
    ],
)
def test_valid_credit_codes(code, province):
    assert validation.credit_code(code, province_code=province) is None


@pytest.mark.parametrize(
    ("code", "province", "message"),
    [
        ("91350100M000100Y44", "350000", "统一社会信用代码校验位不正确"),
        ("91350100M000100Y4", "350000", "统一社会信用代码应为 18 位数字或大写字母（不含 I、O、Z、S、V）"),
        ("91350100M000100I43", "350000", "统一社会信用代码应为 18 位数字或大写字母（不含 I、O、Z、S、V）"),
        ("9135A100M000100Y43", "350000", "统一社会信用代码应为 18 位数字或大写字母（不含 I、O、Z、S、V）"),
        ("91350100M000100Y43", "440000", "统一社会信用代码中的登记管理机关行政区划码不在机构所在省份"),
    ],
)
def test_invalid_credit_codes(code, province, message):
    assert validation.credit_code(code, province_code=province) == (ErrorCode.INVALID, message)


@pytest.mark.parametrize("number", ["11010519491231002X", "11010519491231002x", "440106200002290008", "110112199003071232"])
def test_valid_resident_ids(number):
    # the GB 11643 example, lower-case x, a 29 February birth date, and a place code older
    # than stdnum's table (its validate() refuses this one)
    assert validation.resident_id(number, today=TODAY) is None


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("110105194912310021", "公民身份号码校验码不正确"),
        ("440106200102290005", "公民身份号码中的出生日期不存在"),  # 2001 is not a leap year
        ("440106203001010004", "公民身份号码中的出生日期不合理"),  # born in the future
        ("11010519491231002", "公民身份号码应为 18 位，前 17 位为数字，末位为数字或 X"),
        ("1101051949123100XX", "公民身份号码应为 18 位，前 17 位为数字，末位为数字或 X"),
    ],
)
def test_invalid_resident_ids(number, message):
    assert validation.resident_id(number, today=TODAY) == (ErrorCode.INVALID, message)


def test_mobile_numbers():
    assert validation.mobile("13800138000") is None
    assert validation.mobile("+86 139 1234 5678") is None
    for bad in ("010-12345678", "1380013800", "12345678901", "not a number"):
        assert validation.mobile(bad) == (ErrorCode.INVALID, "手机号码格式不正确"), bad


def test_postal_codes():
    assert validation.postal_code("510630") is None  # 广州天河
    assert validation.postal_code("010000") is None  # 呼和浩特
    for bad in ("51063", "5106300", "51063A", "000000"):
        assert validation.postal_code(bad) == (ErrorCode.INVALID, "邮政编码应为 6 位数字"), bad


def test_mobile_numbers_are_stored_as_eleven_digits():
    assert validation.normalized_mobile("+86 138-0013-8000") == "13800138000"
    assert validation.normalized_mobile("1 3 8 0 0 1 3 8 0 0 0") == "13800138000"
