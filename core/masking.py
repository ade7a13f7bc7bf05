"""How personal data is masked (脱敏): one function per kind of value, and which stored
fields hold which kind, for the audit trail and exports.

Who may read a value unmasked is a role rule (``auth.roles``: the county desk that keeps the
record, the institution itself, the handling county of a complaint); this module only says
how a value looks to everyone else. Every short value is masked whole.
"""

from __future__ import annotations

import re
from collections.abc import Callable


def _keep(value: str, head: int, tail: int) -> str:
    """``value`` with all but its first ``head`` and last ``tail`` characters starred (the
    whole of it when it is not longer than those)."""
    if len(value) <= head + tail:
        return "*" * len(value)
    return value[:head] + "*" * (len(value) - head - tail) + value[len(value) - tail :]


def mask_id_number(number: str) -> str:
    """A resident ID number (身份证号): ``110***********002X``."""
    return _keep(number, 3, 4)


def mask_phone(number: str) -> str:
    """A mobile or phone number: ``138****8000``."""
    if len(number) <= 7:
        return "*" * len(number)
    return number[:3] + "****" + number[-4:]


def mask_certificate(number: str | None) -> str | None:
    """A teacher qualification certificate number (教师资格证): its first and last four."""
    return _keep(number, 4, 4) if number else number


def mask_name(name: str) -> str:
    """A person's name (a complainant's): its first character, ``王**``."""
    return name[0] + "*" * (len(name) - 1) if len(name) > 1 else "*"


def mask_account_number(number: str) -> str:
    """A bank account number: its last four digits only (资金账户)."""
    return _keep(number, 0, 4)


def mask_email(address: str) -> str:
    """An e-mail address: the first character of its local part and the domain,
    ``z***@example.cn``."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"


_MOBILE_LOGIN = re.compile(r"1[3-9][0-9]{9}")


def mask_login_name(username: str) -> str:
    """An account's login name as others see it: an institution account logs in with its
    mobile number, which is personal data."""
    return mask_phone(username) if _MOBILE_LOGIN.fullmatch(username) else username


def _secret(_: str) -> str:
    return "***"


#: The stored fields that hold personal data or secrets, by the mask each gets. The audit
#: trail never keeps them in clear; exports and the API mask them for viewers who may not
#: read them.
FIELD_MASKS: dict[str, Callable[[str], str]] = {
    "legal_rep_id_number": mask_id_number,
    "id_number": mask_id_number,
    "teacher_certificate_number": mask_certificate,
    "author_certificate_number": mask_certificate,
    "legal_rep_phone": mask_phone,
    "contact_phone": mask_phone,
    "mobile": mask_phone,
    "complainant_mobile": mask_phone,
    "applicant_mobile": mask_phone,
    "complainant_name": mask_name,
    # An account's e-mail is its holder's (an institution's own e-mail is not): the audit
    # trail keeps an account row's ``email`` under this key.
    "personal_email": mask_email,
    "supervised_account_number": mask_account_number,
    "basic_account_number": mask_account_number,
    "password_hash": _secret,
}


def mask_field(key: str, value: object) -> object:
    """``value`` of the stored field ``key`` as it may be shown to anyone: masked when the
    field holds personal data (``FIELD_MASKS``), unchanged otherwise."""
    mask = FIELD_MASKS.get(key)
    return mask(value) if mask is not None and isinstance(value, str) else value
