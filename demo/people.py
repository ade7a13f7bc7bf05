"""Made-up people for the demo: names, resident ID numbers with valid check digits, mobiles."""

from __future__ import annotations

import random
from datetime import date, timedelta

from stdnum.cn import ric

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
#: Mobile prefixes of the registrations' and complaints' people, and of the portal's staff.
MOBILE_PREFIXES = ("138", "139", "137", "135", "150", "151", "186", "187", "188")
STAFF_MOBILE_PREFIXES = ("138", "139", "137", "135", "150", "186")
GIVEN = ["伟", "芳", "娜", "敏", "静", "磊", "洋", "勇", "艳", "杰", "涛", "明", "超", "霞", "平"]


def id_number(rng: random.Random, region: str, born_after: date, span_years: int) -> str:
    """A resident ID number (GB 11643) of ``region``, born within ``span_years`` after
    ``born_after``."""
    born = born_after + timedelta(days=rng.randrange(365 * span_years))
    base = f"{region}{born:%Y%m%d}{rng.randrange(1000):03d}"
    return base + ric.calc_check_digit(base + "0")


def mobile(rng: random.Random, prefixes: tuple[str, ...]) -> str:
    return rng.choice(prefixes) + f"{rng.randrange(10**8):08d}"
