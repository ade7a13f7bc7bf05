"""The GraphQL enums of the vocabulary several domains share (docs/DOMAIN.md §G3, §G6): an
institution's kind, mode and nature, training categories, subjects, grades, premises,
qualifications, registration parts, inspection and review statuses, regulator levels and
departments, the findings' rules and severities."""

from __future__ import annotations

import strawberry

from models import Department as DepartmentEnum
from models import Grade as GradeEnum
from models import InspectionStatus as InspectionStatusEnum
from models import Kind, Mode, Nature, Premises, QualificationStatus
from models import Level as LevelEnum
from models import ReviewStatus as ReviewStatusEnum
from models import Severity as SeverityEnum
from models import Subject as SubjectEnum
from models import TrainingCategory as TrainingCategoryEnum
from resolvers.finding_list import FindingRule as FindingRuleEnum
from resolvers.institutions.registration import Part

InstitutionKind = strawberry.enum(Kind, name="InstitutionKind", description="机构类型: 学科类 SUBJECT, 非学科类 NON_SUBJECT.")
InstitutionMode = strawberry.enum(Mode, name="InstitutionMode", description="办学形式: 线上 ONLINE, 线下 OFFLINE.")
InstitutionNature = strawberry.enum(Nature, name="InstitutionNature", description="机构性质: 营利性 FOR_PROFIT, 非营利性 NON_PROFIT.")
QualificationStatusType = strawberry.enum(
    QualificationStatus,
    name="QualificationStatus",
    description="办学资质: 证照齐全 FULL, 有照无证 BUSINESS_LICENCE_ONLY, 有证无照 LICENCE_ONLY, 无证无照 NONE.",
)
TrainingCategory = strawberry.enum(
    TrainingCategoryEnum,
    name="TrainingCategory",
    description="培训类别: 学科类, 体育类, 文化艺术类, 科技类, 其他类 (OTHER needs otherCategory).",
)
Subject = strawberry.enum(SubjectEnum, name="Subject", description="学科: 语文 数学 英语 物理 化学 生物 历史 地理 道德与法治.")
Grade = strawberry.enum(GradeEnum, name="Grade", description="学段: 小学 PRIMARY, 初中 JUNIOR_SECONDARY, 高中 SENIOR_SECONDARY.")
PremisesType = strawberry.enum(Premises, name="Premises", description="场地性质: 自有 OWNED, 租赁 LEASED.")
RegistrationPart = strawberry.enum(
    Part,
    name="RegistrationPart",
    description="登记的五部分: 1 基本情况 BASICS, 2 办学资质 QUALIFICATIONS, 3 办学情况 OPERATION, "
    "4 中小学学科类培训情况 SUBJECT_TRAINING, 5 办学条件 FACILITIES.",
)
InspectionStatus = strawberry.enum(
    InspectionStatusEnum,
    name="InspectionStatus",
    description="排查状态: 未排查 NOT_INSPECTED, 已排查无问题 NO_PROBLEMS, 整改中 RECTIFYING, 已整改 RECTIFIED (台账销号).",
)
ReviewStatus = strawberry.enum(
    ReviewStatusEnum, name="ReviewStatus", description="审核状态 of the institution (its latest compliance application, 合规申请): 未提交, 审核中, 已通过, 未通过."
)
RegulatorLevel = strawberry.enum(
    LevelEnum,
    name="RegulatorLevel",
    description="管理用户级别: 部级 MINISTRY, 省级 PROVINCE, 地市级 PREFECTURE, 区县级 COUNTY, 区县下属单位 SUB_UNIT.",
)
Department = strawberry.enum(
    DepartmentEnum,
    name="Department",
    description="主管部门: 教育 EDUCATION, 体育 SPORTS, 文化旅游 CULTURE_TOURISM, 科技 SCIENCE_TECHNOLOGY.",
)
FindingSeverity = strawberry.enum(SeverityEnum, name="FindingSeverity", description="严重程度: 违规 VIOLATION (not compliant while open), 提示 WARNING.")
FindingRule = strawberry.enum(
    FindingRuleEnum,
    name="FindingRule",
    description="规则编号 of the rules whose findings are kept (docs/DOMAIN.md §G4; each rule's title: `Finding.title`).",
)
