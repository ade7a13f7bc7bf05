"""SQLModel tables, one module per aggregate; importing this package registers them all
on ``SQLModel.metadata`` (Alembic reads it)."""

from models.accounts import Account, AccountKind, AuthSession, Department, Level, LoginThrottle
from models.institutions import (
    AuditRecord,
    Institution,
    Kind,
    Mode,
    Nature,
    Grade,
    Premises,
    QualificationStatus,
    Subject,
    TrainingCategory,
)
from models.complaints import Complaint, ComplaintStatus, ComplaintType, TargetType
from models.inspections import Inspection, InspectionStatus, ItemProgress, Problem, RectificationItem, UrgingNotice
from models.portal_accounts import Channel, ClaimStatus, CodePurpose, InstitutionClaim, OutboxMessage, VerificationCode
from models.regions import ROOT_CODE, Region

__all__ = [
    "ROOT_CODE",
    "Account",
    "AuditRecord",
    "Channel",
    "ClaimStatus",
    "CodePurpose",
    "Complaint",
    "ComplaintStatus",
    "ComplaintType",
    "Inspection",
    "InspectionStatus",
    "Institution",
    "InstitutionClaim",
    "OutboxMessage",
    "VerificationCode",
    "ItemProgress",
    "Problem",
    "RectificationItem",
    "UrgingNotice",
    "Kind",
    "Mode",
    "Nature",
    "Grade",
    "Premises",
    "Subject",
    "TargetType",
    "QualificationStatus",
    "TrainingCategory",
    "AccountKind",
    "AuthSession",
    "Department",
    "Level",
    "LoginThrottle",
    "Region",
]
