"""SQLModel tables, one module per aggregate; importing this package registers them all
on ``SQLModel.metadata`` (Alembic reads it)."""

from models.accounts import Account, AccountKind, AuthSession, Department, Level, LoginThrottle
from models.regions import ROOT_CODE, Region

__all__ = [
    "ROOT_CODE",
    "Account",
    "AccountKind",
    "AuthSession",
    "Department",
    "Level",
    "LoginThrottle",
    "Region",
]
