"""SQLModel tables, one module per domain; importing this package registers them all on
``SQLModel.metadata`` (Alembic reads it)."""

from models.accounts import (
    Account,
    AccountKind,
    AuthSession,
    Channel,
    ClaimStatus,
    ClientRate,
    CodePurpose,
    Department,
    InstitutionClaim,
    Level,
    LoginThrottle,
    OutboxMessage,
    VerificationCode,
)
from models.applications import Application, ApplicationStatus, ApplicationType
from models.audit import AuditRecord
from models.complaints import Complaint, ComplaintStatus, ComplaintType, TargetType
from models.documents import Document, DocumentCategory
from models.events import Event, EventType
from models.findings import InstitutionFinding, Severity
from models.funds import ChargingMethod, InstitutionFunds
from models.inspections import Inspection, InspectionStatus, ItemProgress, Problem, RectificationItem, UrgingNotice
from models.institutions import Grade, Institution, Kind, Mode, Nature, Premises, QualificationStatus, ReviewStatus, Subject, TrainingCategory
from models.lists import ListEntry, ListKind, ListPeriod
from models.materials import Material, MaterialReview, MaterialType
from models.persisted import PersistedQuery
from models.regions import ROOT_CODE, Region, RegionChange, RegionChangeSet, RegionSuccessor, in_force, valid_on
from models.sites import Course, FilingStatus, Site, SiteType, SystemType, TrainingClass
from models.staff import Employment, Gender, Post, Staff, StaffStatus
from models.statistics import (
    county_day_delta,
    county_day_tally,
    county_finding_delta,
    county_finding_tally,
    county_tally,
    county_tally_delta,
    institution_tally,
)

__all__ = [
    "ROOT_CODE",
    "Account",
    "AccountKind",
    "Application",
    "ApplicationStatus",
    "ApplicationType",
    "AuditRecord",
    "AuthSession",
    "Channel",
    "ChargingMethod",
    "ClaimStatus",
    "ClientRate",
    "CodePurpose",
    "Complaint",
    "ComplaintStatus",
    "ComplaintType",
    "Course",
    "Department",
    "Document",
    "DocumentCategory",
    "Employment",
    "Event",
    "EventType",
    "FilingStatus",
    "Gender",
    "Grade",
    "Inspection",
    "InspectionStatus",
    "Institution",
    "InstitutionClaim",
    "InstitutionFinding",
    "InstitutionFunds",
    "ItemProgress",
    "Kind",
    "Level",
    "ListEntry",
    "ListKind",
    "ListPeriod",
    "LoginThrottle",
    "Material",
    "MaterialReview",
    "MaterialType",
    "Mode",
    "Nature",
    "OutboxMessage",
    "PersistedQuery",
    "Post",
    "Premises",
    "Problem",
    "QualificationStatus",
    "RectificationItem",
    "ReviewStatus",
    "Region",
    "Severity",
    "RegionChange",
    "RegionChangeSet",
    "RegionSuccessor",
    "Site",
    "SiteType",
    "Staff",
    "StaffStatus",
    "Subject",
    "SystemType",
    "TargetType",
    "TrainingCategory",
    "TrainingClass",
    "UrgingNotice",
    "VerificationCode",
    "county_day_delta",
    "county_day_tally",
    "county_finding_delta",
    "county_finding_tally",
    "county_tally",
    "county_tally_delta",
    "in_force",
    "institution_tally",
    "valid_on",
]
