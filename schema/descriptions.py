"""The Chinese descriptions the schema's elements share, laid on once the schema is built.

Most descriptions stand beside their field in each domain's module. What is the same in
every domain is described here once: the plumbing every payload, connection and edit has
(``errors``, ``id``, ``version``, ``first``/``after`` …), the Relay connections and edges, and
the Chinese label of every enum value (the labels the forms use: ``CHOICES`` for the
registration's choices). ``describe`` fills only what a module left without Chinese, so a
description written beside its field always wins; ``tests/test_schema.py`` checks that
every type, field, argument, input field and enum value then reads in Chinese, the
federation plumbing and GraphQL's own scalars alone excepted.
"""

from __future__ import annotations

import re

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    get_named_type,
)

from models import Grade, Kind, Mode, Nature, Premises, QualificationStatus, Subject, TrainingCategory
from resolvers.findings import RULES
from resolvers.institutions.registration import CHOICES
from resolvers.standing import REASONS

CHINESE = re.compile(r"[\u4e00-\u9fff]")

#: GraphQL's own scalars and the federation's plumbing: described by their specifications.
EXEMPT_TYPES = frozenset({"String", "Int", "Float", "Boolean", "ID", "_Any", "_Entity", "_Service", "_FieldSet", "link__Import", "link__Purpose"})
EXEMPT_FIELDS = frozenset({"_service", "_entities"})

#: Fields (and input fields) with the same meaning wherever they are.
FIELDS = {
    "id": "全局唯一标识 (the global id: node(id) reads it back)",
    "errors": "校验问题列表：为空表示操作成功 (the payload's validation problems; empty on success)",
    "version": "版本号：修改时带回读取到的版本号，旧版本会被拒绝 (CONFLICT) (send it back when editing)",
    "createdAt": "创建时间",
    "updatedAt": "最近修改时间",
    "deletedId": "已删除记录的标识 (null when nothing was deleted)",
    "totalCount": "符合条件的总数",
    "edges": "本页的记录",
    "pageInfo": "分页信息",
    "cursor": "该记录的游标 (pass it as after for the next page)",
    "node": "记录",
    "message": "说明 (for people)",
    "field": "出问题的字段 (camelCase; null: the whole request)",
    "code": "代码",
    "hasNextPage": "是否还有下一页",
    "hasPreviousPage": "是否还有上一页",
    "startCursor": "本页第一条的游标",
    "endCursor": "本页最后一条的游标",
    "submittedAt": "提交时间",
    "acceptedAt": "受理时间",
    "repliedAt": "答复时间",
    "rejectedAt": "驳回时间",
    "decidedAt": "审核时间",
    "uploadedAt": "上传时间",
    "at": "时间",
    "clientAddress": "客户端网络地址",
    "downloadUrl": "下载地址 (GET with the session)",
    "trackingNumber": "投诉编号",
    "institutionId": "培训机构标识",
    "recordId": "记录标识",
    "region": "行政区划",
    "county": "所在区县",
    "institution": "培训机构",
    "account": "账号",
    "name": "名称",
    "mobile": "手机号",
    "email": "电子邮箱",
    "status": "状态",
    "level": "级别",
    "department": "主管部门",
    "kind": "机构类型",
    "mode": "办学形式",
    "nature": "机构性质",
    "category": "类别",
    "grades": "适用学段",
    "weekday": "星期 (1 = 周一 … 7 = 周日)",
    "start": "开始时间 (HH:MM)",
    "end": "结束时间 (HH:MM)",
    "snapshot": "删除前的记录快照 (personal data masked)",
    "operation": "操作",
    "problems": "发现的问题",
    "problem": "问题",
    "otherProblem": "其他问题说明",
    "validFrom": "有效期起",
    "validTo": "有效期止",
    "title": "标题",
    "type": "类型",
}
#: Arguments with the same meaning wherever they are.
ARGUMENTS = {
    "id": "记录的标识",
    "ids": "记录的标识列表",
    "input": "表单内容",
    "first": "本页条数",
    "after": "从该游标之后开始 (the endCursor of the previous page)",
    "version": "读取到的版本号 (an older one is refused: CONFLICT)",
    "filter": "筛选条件",
    "regionCode": "行政区划代码",
    "countyCode": "区县代码",
    "parentCode": "上级行政区划代码",
    "kind": "类型",
    "status": "状态",
    "reason": "原因",
    "note": "说明",
    "file": "上传的文件 (a GraphQL multipart upload)",
    "code": "验证码",
    "category": "类别",
    "mobile": "手机号",
    "email": "电子邮箱",
    "institutionId": "培训机构标识",
    "from": "起始日期（含）",
    "to": "截止日期（含）",
    "representations": "实体表示 (federation)",
    "name": "机构名称（或其中一部分）",
    "number": "期数 (null: the current period)",
    "trackingNumber": "投诉编号",
    "handled": "是否已处理",
    "groupBy": "分组方式",
    "username": "登录名（机构用户也可用手机号）",
    "password": "密码",
    "currentPassword": "当前密码",
    "newPassword": "新密码",
    "enabled": "是否启用",
    "purpose": "验证码用途",
    "mobileOrEmail": "注册时的手机号或电子邮箱",
    "reply": "答复内容",
    "confirmName": "再次输入机构名称以确认",
    "progress": "整改进度",
    "opinion": "验收意见",
    "acceptedOn": "验收日期",
    "message": "督办内容",
    "siteId": "所属办学点/业务系统",
    "courseId": "所属培训课程",
    "title": "标题",
    "entries": "黑名单中的机构及原因",
}
#: What a payload's record is (``StaffPayload.staff`` …).
PAYLOAD_RECORD = "操作后的记录：有校验问题时为 null (the record as saved; null when errors is not empty)"
#: Types every domain has, by the end of their name.
SUFFIXES = (
    ("Connection", "分页列表 (a Relay connection)"),
    ("Edge", "分页列表中的一条 (a Relay edge)"),
    ("Payload", "操作结果：errors 为空表示成功 (the mutation's answer)"),
)
TYPES = {
    "Query": "查询",
    "Mutation": "变更（写操作）",
    "Node": "可按全局标识读取的记录 (Relay node)",
    "PageInfo": "分页信息 (Relay)",
    "DateTime": "时间 (ISO 8601, with its UTC offset)",
    "Date": "日期 (YYYY-MM-DD, a Beijing day)",
    "Decimal": "十进制数 (as a string, exact)",
    "JSON": "JSON 值",
    "Upload": "上传的文件 (GraphQL multipart request)",
    "RegionRectificationCount": "下级区划的整改统计",
    "ApplicationCount": "申请数量（按类型和状态）",
    "StatisticsMonth": "某月的统计",
    "ImportRowError": "导入文件中某一行的问题",
    "RectificationItemInput": "整改事项",
    "ClassSessionInput": "每周的一次课（星期、上课和下课时间）",
    "ApplicationInput": "申请内容",
    "ReasonCode": "法律状态的原因 (the standing's reason codes, as a filter)",
}

#: The Chinese label of each enum value, by the GraphQL enum's name.
ENUM_VALUES: dict[str, dict[str, str]] = {
    "StandingReasonCode": {code: rule.title for code, rule in REASONS.items()},
    "ReasonCode": {code: rule.title for code, rule in REASONS.items()},
    "FindingRule": {code: rule.title for code, rule in RULES.items()},
    "FindingSeverity": {"VIOLATION": "违规（未整改前不合规）", "WARNING": "提示"},
    "StandingEffect": {"NOT_LAWFUL": "不合法（因而也不合规）", "NOT_COMPLIANT": "合法但不合规", "WARNING": "提示（不改变法律状态）"},
    "EventType": {
        "COMPLAINT_RECEIVED": "收到投诉", "URGING_NOTICE_RECEIVED": "收到督办", "APPLICATION_SUBMITTED": "新的申请",
        "APPLICATION_DECIDED": "申请已审核", "CLAIM_DECIDED": "认领已处理", "RECTIFICATION_OVERDUE": "整改逾期",
    },
    "InstitutionKind": CHOICES[Kind],
    "InstitutionMode": CHOICES[Mode],
    "InstitutionNature": CHOICES[Nature],
    "QualificationStatus": CHOICES[QualificationStatus],
    "TrainingCategory": CHOICES[TrainingCategory],
    "Subject": CHOICES[Subject],
    "Grade": CHOICES[Grade],
    "Premises": CHOICES[Premises],
    "RegulatorLevel": {"MINISTRY": "部级", "PROVINCE": "省级", "PREFECTURE": "地市级", "COUNTY": "区县级", "SUB_UNIT": "区县下属单位"},
    "Department": {"EDUCATION": "教育", "SPORTS": "体育", "CULTURE_TOURISM": "文化旅游", "SCIENCE_TECHNOLOGY": "科技"},
    "RegionLevel": {"MINISTRY": "全国", "PROVINCE": "省级", "PREFECTURE": "地市级", "COUNTY": "区县级"},
    "RegistrationPart": {
        "BASICS": "1 基本情况", "QUALIFICATIONS": "2 办学资质", "OPERATION": "3 办学情况",
        "SUBJECT_TRAINING": "4 中小学学科类培训情况", "FACILITIES": "5 办学条件",
    },
    "InstitutionClaimStatus": {"PENDING": "待区县确认", "CONFIRMED": "已确认绑定", "REJECTED": "已驳回"},
    "InspectionStatus": {"NOT_INSPECTED": "未排查", "NO_PROBLEMS": "已排查无问题", "RECTIFYING": "整改中", "RECTIFIED": "已整改（台账销号）"},
    "ReviewStatus": {"NOT_SUBMITTED": "未提交", "PENDING": "审核中", "APPROVED": "已通过", "REJECTED": "未通过"},
    "InspectionProblem": {
        "NO_LICENCES": "无证无照", "BUSINESS_LICENCE_ONLY": "有照无证", "LICENCE_ONLY": "有证无照", "SAFETY_HAZARD": "存在安全隐患",
        "BEYOND_CURRICULUM": "超纲教学、提前教学", "EXCESSIVE_FEES": "一次性收费超过3个月或60课时", "LATE_CLASSES": "培训结束时间晚于20:30",
        "UNQUALIFIED_TEACHERS": "教师无教师资格", "FALSE_ADVERTISING": "虚假宣传", "OTHER": "其他",
    },
    "RectificationProgress": {"NOT_STARTED": "未开始", "IN_PROGRESS": "整改中", "DONE": "已完成"},
    "DocumentCategory": {
        "LICENCE": "办学许可证", "CERTIFICATE": "机构证照（营业执照、民办非企业单位登记证书等）", "PARTY_BUILDING": "党建情况",
        "OTHER": "其他资料", "CONTRACT": "合同", "DEREGISTRATION_PROOF": "注销证明",
    },
    "ChargingMethod": {"BY_CLASS_HOUR": "按课时", "BY_TERM": "按期（按课程）", "BY_MONTH": "按月", "OTHER": "其他"},
    "InspectionOperation": {
        "RECORD_INSPECTION": "录入排查结果", "CORRECT_INSPECTION": "更正排查结果", "UPDATE_PROGRESS": "更新整改进度",
        "ACCEPT": "整改验收（销号）", "URGE": "督办",
    },
    "Gender": {"MALE": "男", "FEMALE": "女"},
    "StaffPost": {"TEACHING": "教学", "RESEARCH": "教研", "MANAGEMENT": "管理", "OTHER": "其他"},
    "Employment": {"FULL_TIME": "专职", "PART_TIME": "兼职"},
    "StaffStatus": {"ACTIVE": "在职", "DEPARTED": "离职"},
    "SiteType": {"SITE": "办学点（线下）", "BUSINESS_SYSTEM": "业务系统（线上）"},
    "SystemType": {"APP": "移动应用", "WEBSITE": "网站", "MINI_PROGRAM": "小程序", "OTHER": "其他"},
    "FilingStatus": {"NOT_REQUIRED": "无需备案（非学科类）", "NOT_FILED": "未备案", "PENDING": "审核中", "FILED": "已备案", "REJECTED": "未通过"},
    "MaterialType": {"TEXTBOOK": "教材", "HANDOUT": "讲义", "EXERCISES": "练习册", "AUDIOVISUAL": "音视频", "OTHER": "其他"},
    "MaterialReview": {"NOT_REVIEWED": "未审核", "APPROVED": "审核通过", "REJECTED": "审核未通过"},
    "ApplicationType": {"COMPLIANCE": "合规申请", "DEREGISTRATION": "注销申请", "LICENCE": "办学许可申请", "CLASS_FILING": "学科类培训班备案"},
    "ApplicationStatus": {"PENDING": "待审核", "APPROVED": "通过", "REJECTED": "不通过"},
    "PublicStatus": {"COMPLIANT": "合规（审核通过）", "REGISTERED": "已登记", "BLACKLISTED": "列入黑名单", "DEREGISTERED": "已注销"},
    "ListKind": {"WHITE": "白名单", "BLACK": "黑名单"},
    "ComplaintStatus": {"SUBMITTED": "待受理", "ACCEPTED": "处理中", "REPLIED": "已答复", "REJECTED": "不予受理"},
    "ComplaintTargetType": {"INSTITUTION": "校外培训机构", "PUBLIC_SCHOOL": "公办学校", "TEACHER": "老师", "OTHER": "其他"},
    "ComplaintType": {"ILLEGAL_OPERATION": "违规办学", "ILLEGAL_ENROLMENT": "违规招生", "OTHER": "其他"},
    "StatisticsGrouping": {
        "REGION": "按下级区划", "KIND": "按机构类型", "MODE": "按办学形式", "NATURE": "按机构性质",
        "TRAINING_CATEGORY": "按培训类别", "DEPARTMENT": "按主管部门",
    },
    "ErrorCode": {
        "REQUIRED": "必填项未填写", "INVALID": "格式或取值不正确", "NOT_APPLICABLE": "所选情况下不应填写此项", "TOO_LONG": "超过长度限制", "DUPLICATE": "重复",
        "NOT_FOUND": "不存在或不在权限范围内", "OUT_OF_SCOPE": "超出管辖范围", "NOT_ALLOWED": "当前不允许此操作",
        "HAS_DEPENDENTS": "还有下属记录，不能删除", "CONFLICT": "已被他人修改（版本号过旧）", "WRONG_PASSWORD": "密码错误",
        "SAME_AS_CURRENT": "与当前密码相同", "WEAK_PASSWORD": "密码强度不足", "TOO_LARGE": "文件过大",
        "UNSUPPORTED_TYPE": "不支持的文件类型", "INVALID_CODE": "验证码错误或已失效", "CODE_EXPIRED": "验证码已过期",
    },
    "VerificationPurpose": {"REGISTER": "注册", "RESET_PASSWORD": "忘记密码", "CHANGE_MOBILE": "更换手机号", "CHANGE_EMAIL": "添加或更换电子邮箱"},
}


def chinese(text: str | None) -> bool:
    return bool(text and CHINESE.search(text))


def _type_description(name: str) -> str | None:
    if name in TYPES:
        return TYPES[name]
    for suffix, text in SUFFIXES:
        if name.endswith(suffix):
            return text
    return None


def _with(text: str, current: str | None) -> str:
    """The Chinese text, then what the module said in English, if anything."""
    return f"{text}. {current}" if current else text


def describe(schema: GraphQLSchema) -> None:
    """Fill in, in place, the descriptions the modules left without Chinese."""
    for name, named in schema.type_map.items():
        if name.startswith("__") or name in EXEMPT_TYPES:
            continue
        if not chinese(named.description) and (text := _type_description(name)):
            named.description = _with(text, named.description)
        if isinstance(named, GraphQLEnumType):
            for value_name, value in named.values.items():
                label = ENUM_VALUES.get(name, {}).get(value_name)
                if label and not chinese(value.description):
                    value.description = _with(label, value.description)
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType):
            for field_name, field in named.fields.items():
                if not chinese(field.description) and field_name in FIELDS:
                    field.description = _with(FIELDS[field_name], field.description)
                elif not chinese(field.description) and name.endswith("Payload") and isinstance(get_named_type(field.type), GraphQLObjectType):
                    field.description = _with(PAYLOAD_RECORD, field.description)
                for argument_name, argument in getattr(field, "args", {}).items():
                    if not chinese(argument.description) and argument_name in ARGUMENTS:
                        argument.description = _with(ARGUMENTS[argument_name], argument.description)


def undescribed(schema: GraphQLSchema) -> list[str]:
    """Every element still without a Chinese description: ``Type``, ``Type.field``,
    ``Type.field(argument)``, ``Enum.VALUE``."""
    missing = []
    for name, named in schema.type_map.items():
        if name.startswith("__") or name in EXEMPT_TYPES:
            continue
        if not chinese(named.description):
            missing.append(name)
        if isinstance(named, GraphQLEnumType):
            missing += [f"{name}.{v}" for v, value in named.values.items() if not chinese(value.description)]
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType):
            for field_name, field in named.fields.items():
                if field_name in EXEMPT_FIELDS:
                    continue
                if not chinese(field.description):
                    missing.append(f"{name}.{field_name}")
                missing += [f"{name}.{field_name}({a})" for a, arg in getattr(field, "args", {}).items() if not chinese(arg.description)]
    return missing
