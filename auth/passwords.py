"""Password hashing (argon2id) and the password strength rule."""

from __future__ import annotations

import asyncio
import functools
import re

from argon2 import PasswordHasher, Type, profiles
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from argon2.profiles import Parameters

from core.settings import current

#: The initial password of new and reset regulator accounts (docs/DOMAIN.md §R1: 统一默认密码为123456).
#: An account on it must change it before doing anything else.
INITIAL_PASSWORD = "123456"

#: The rule, as shown to users.
STRENGTH_RULE = "密码长度 8–128 位，至少包含大写字母、小写字母、数字、符号中的三类，且不能包含用户名"

_TEST_PROFILE = Parameters(
    type=Type.ID, version=19, salt_len=16, hash_len=32, time_cost=1, memory_cost=1024, parallelism=1
)


@functools.cache
def _hasher() -> tuple[PasswordHasher, str]:
    """The hasher of the settings' profile (made at the first use, after the settings were
    checked at start) and a hash to verify against when a username does not exist, so that
    both paths cost the same."""
    profile = _TEST_PROFILE if current().argon2_profile == "test" else profiles.RFC_9106_LOW_MEMORY
    hasher = PasswordHasher.from_parameters(profile)
    return hasher, hasher.hash("no such account")


def hash_password(password: str) -> str:
    return _hasher()[0].hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    hasher, dummy = _hasher()
    try:
        return hasher.verify(password_hash or dummy, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def hash_password_async(password: str) -> str:
    """Hash in a worker thread: argon2 takes ~0.2 s of CPU and must not stall the event loop."""
    return await asyncio.to_thread(hash_password, password)


async def verify_password_async(password_hash: str | None, password: str) -> bool:
    return await asyncio.to_thread(verify_password, password_hash, password)


def password_problem(password: str, *, username: str | None = None) -> str | None:
    """Why ``password`` breaks the strength rule, or None when it meets it."""
    if not 8 <= len(password) <= 128:
        return STRENGTH_RULE
    classes = sum(
        bool(re.search(pattern, password))
        for pattern in (r"[a-z]", r"[A-Z]", r"[0-9]", r"[^A-Za-z0-9]")
    )
    if classes < 3:
        return STRENGTH_RULE
    if username and username.lower() in password.lower():
        return STRENGTH_RULE
    return None
