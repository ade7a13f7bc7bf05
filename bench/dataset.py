"""The national dataset: a database filled at the scale of the whole country, for the
benchmarks (issue 7) and the public lookup's (issue 6).

    python bench/dataset.py [--scale 1.0] [--seed 2026] [--today YYYY-MM-DD]
                            [--database-url URL] [--reset] [--workers 2] [--keep-indexes]

At ``--scale 1.0``: 500,000 institutions over every lowest-level region of the real region
table (counties, and prefectures without counties such as 东莞 441900; 台湾, 香港 and 澳门
get none), weighted by a per-province factor and by the kind of region (districts 区 more
than county-level cities 市, more than counties 县/旗; a prefecture without counties counts as a
whole city), every one of them with at least one institution; 300,000 sites and business
systems, 1,000,000 courses, 2,000,000 classes, 2,000,000 staff, 1,000,000 materials, 400,000
inspections with their ledgers (rectification items), 200,000 complaints, applications of
every type in every state, the institutions' funds, an account for each institution that
uses the portal, and the regulators: one education account per region node and level
(ministry ``edu-000000``, provinces, prefectures ``edu-<code>``, the county desk of every
lowest region ``edu-<code>``, or ``edu-<code>-county`` for a prefecture without counties),
one sub-unit per county (``edu-<code>-01``), and a sports, a culture-and-tourism and a
science-and-technology account per county (``sports-``, ``culture-``, ``science-<code>``).
Then urging notices to counties with overdue ledgers and numbered black and white list
periods for some regions. Not generated: documents (they need files), audit records,
sessions, verification codes, claims. Smaller sizes by ``--scale`` (the counts scale, the
regulator accounts do not).

Every generated account's password is ``National#2026`` (one argon2id hash, reused).

Rows follow the models' constraints and the API's own rules: credit codes with the GB 32100
check character, unique and registered in the institution's province; resident ID numbers
with the GB 11643 check digit; valid mobile numbers (institution accounts' unique); the five
registration parts as ``resolvers.institutions.registration.validate_part`` accepts them, with the saved
flags to match; staff, sites, courses, classes and materials as the portal's forms accept
them; class teachers are active teaching staff of the same institution; inspection status and
open deadline follow each institution's latest inspection (earlier ledgers are closed);
review status follows the latest compliance application, a subject class's filing status
its latest filing application, a licence approval the qualifications; each application's
authority is the one ``resolvers.applications.authority`` names, and its decision is that
authority account's. Institutions with a pending or approved compliance application break no
rule of ``resolvers.findings``; some of the others break one on purpose, so findings show,
kept in ``institution_finding`` as the rules find them (``write_findings``: the rules' own
check, a batch of institutions at a time, copied in). ``tests/test_dataset.py`` checks all of
this on a small scale.

Deterministic: the same ``--seed``, ``--scale`` and ``--today`` give the same rows, whatever
``--workers`` (the institutions are generated in fixed chunks of 1,000, each from its own
random stream, in worker processes; the load keeps their order).

How it loads: PostgreSQL ``COPY`` (text format) in batches of one chunk per table, streamed:
workers generate the next chunks while the database copies the last one, and nothing is
held beyond a few chunks. The database is created when missing (default: ``xwpx_national`` on
the embedded server under ``.data/pg``) and migrated first; a database that already holds
institutions is refused unless ``--reset`` (drop and create it again).

Indexes and constraints: during the load the loaded tables have none — primary keys, unique
constraints, foreign keys and secondary indexes are dropped, each table is loaded in one
transaction that starts with ``TRUNCATE`` so ``COPY … FREEZE`` writes rows already frozen (no
hint-bit writes or vacuum later), then the indexes are built again (two at a time) and the
constraints added back (validated), exactly as the migrations define them. Measured on the
2-core machine at ``--scale 0.1`` (970,157 rows), two runs of each, alternated, while other
work shared the machine: dropping and rebuilding, 18.2 and 31.6 s in all (load 12.0 and 22.1
s, rebuild 2.8 and 4.2 s); keeping everything (``--keep-indexes``: committed batches in the
foreign keys' order, each row checked and indexed as it comes), 39.5 and 40.4 s (load 33.9
and 33.2 s). Then ``ANALYZE``, then the derived tables (whose queries need the statistics).
The statistics' tallies (``models/statistics.py``) are not kept row by row during the load:
their triggers are off until the end, when ``tally_rebuild()`` counts them in one pass.

Prints progress every 15 seconds (institutions and rows done, rows/s) and, at the end, a line
per table (rows, seconds spent copying it, rows/s), the slower index and key builds, and the
overall elapsed time.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import math
import random
import sys
import time
import uuid
from array import array
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from stdnum.cn import ric, uscc  # noqa: E402

from resolvers.class_times import parse  # noqa: E402

DEFAULT_DATABASE = "xwpx_national"
PASSWORD = "National#2026"
#: What ``--scale 1.0`` generates.
STATED = {
    "institutions": 500_000,
    "sites": 300_000,
    "courses": 1_000_000,
    "classes": 2_000_000,
    "staff": 2_000_000,
    "materials": 1_000_000,
    "inspections": 400_000,
    "complaints": 200_000,
}
#: Part 4's class times as desks write them: read wholly by ``resolvers.class_times.parse``
#: and within the rules; then past 20:30, and a year at once.
CLEAN_CLASS_TIMES = ("周六、周日 8:30-17:30，按季度收费", "工作日 18:30-20:30，周末 9:00-17:00，一次收费三个月", "周末 9:00-12:00，按月收费")
OTHER_CLASS_TIMES = ("周一至周五 19:00-21:30，按月收费", "周六、周日 8:30-17:30，一次收费一年")
#: Institutions per chunk: the unit of generation, of determinism and of a COPY batch.
CHUNK = 1000

# --- the tables, as COPY sees them ------------------------------------------------------

COLUMNS: dict[str, tuple[str, ...]] = {
    "account": (
        "id", "username", "name", "kind", "level", "region_code", "department", "parent_id", "institution_id", "mobile",
        "email", "password_hash", "must_change_password", "enabled", "created_at", "updated_at",
    ),
    "institution": (
        "id", "name", "credit_code", "region_code", "address", "postal_code", "phone", "email", "kind", "mode", "nature",
        "legal_rep_name", "legal_rep_id_number", "legal_rep_phone", "contact_name", "contact_phone", "registering_unit_id",
        "qualification_status", "licence_number", "licence_issuer", "licence_valid_from", "licence_valid_to",
        "business_licence_number", "business_licence_issuer", "training_categories", "other_category", "student_count",
        "staff_count", "teacher_count", "no_subject_training", "subjects", "grades", "class_times_note", "class_sessions", "fee_months",
        "fee_class_hours", "fee_per_hour",
        "floor_area", "teaching_area", "premises", "lease_end", "fire_safety_approved", "qualifications_saved",
        "operation_saved", "subject_training_saved", "facilities_saved", "version", "created_at", "updated_at",
        "inspection_status", "open_deadline", "review_status", "deregistered_at",
    ),
    "staff": (
        "id", "institution_id", "name", "gender", "id_number", "phone", "post", "employment", "subjects",
        "teacher_certificate_number", "years_in_education", "status", "joined_on", "departed_on", "version", "created_at",
        "updated_at",
    ),
    "site": (
        "id", "institution_id", "type", "name", "address", "teaching_area", "system_type", "url", "icp_filing", "version",
        "created_at", "updated_at",
    ),
    "course": (
        "id", "institution_id", "site_id", "name", "category", "subject", "grades", "class_hours", "description", "version",
        "created_at", "updated_at",
    ),
    "training_class": (
        "id", "institution_id", "course_id", "name", "schedule", "starts_on", "ends_on", "capacity", "enrolled", "fee",
        "fee_months", "fee_class_hours", "lesson_minutes", "break_minutes", "teacher_ids", "filing_status", "version",
        "created_at", "updated_at",
    ),
    "material": (
        "id", "institution_id", "name", "category", "subject", "grades", "type", "author", "publisher", "edition",
        "author_years_in_education", "author_certificate_number", "review", "version", "created_at", "updated_at",
    ),
    "institution_funds": (
        "institution_id", "charging_method", "fee_standard", "max_months_per_payment", "max_class_hours_per_payment",
        "refund_policy", "escrow_bank", "supervised_account_number", "risk_reserve", "basic_account_bank",
        "basic_account_name", "basic_account_number", "version", "updated_at", "updated_by",
    ),
    "inspection": (
        "id", "institution_id", "inspected_on", "inspecting_unit", "result", "problems", "other_problem", "recorded_by",
        "acceptance_opinion", "accepted_on", "accepted_by", "created_at", "updated_at",
    ),
    "rectification_item": ("id", "inspection_id", "problem", "measures", "deadline", "progress", "progress_note", "updated_at"),
    "application": (
        "id", "institution_id", "type", "status", "class_id", "proof_document_id", "statement", "findings_at_submission",
        "authority_region_code", "authority_department", "authority_level", "submitted_at", "submitted_by", "decided_at",
        "decided_by", "opinion",
    ),
    "complaint": (
        "id", "tracking_number", "complainant_name", "complainant_mobile", "target_type", "complaint_type", "county_code",
        "target_name", "institution_id", "content", "status", "submitted_at", "client_address", "client_bucket",
        "submitted_by", "accepted_at", "accepted_by", "replied_at", "replied_by", "reply", "rejected_at", "rejected_by",
        "reject_reason",
    ),
}
LOADED = tuple(COLUMNS)
#: Foreign-key order, for ``--keep-indexes`` (each wave's parents are committed before it).
WAVES = (
    ("institution",),
    ("account", "staff", "site", "material", "inspection", "complaint"),
    ("course", "rectification_item", "institution_funds"),
    ("training_class",),
    ("application",),
)
#: Tables filled by SQL after the load (small).
DERIVED = ("urging_notice", "list_period", "list_entry")
#: The tables whose triggers keep the statistics' tallies (migration 0013).
TALLIED = ("institution", "inspection", "application", "training_class", "staff", "complaint", "list_entry", "list_period", "institution_finding")
#: Institutions whose records the rules check at a time (``write_findings``).
FINDINGS_BATCH = 5000
FINDING_COLUMNS = ("institution_id", "position", "rule", "severity", "message", "source", "record_type", "record_id", "record_name", "related_ids")

# --- vocabulary -------------------------------------------------------------------------

#: Institutions per county, relative, by province (roughly population and urbanisation).
PROVINCE_FACTOR = {
    "11": 1.4, "12": 0.9, "13": 1.0, "14": 0.7, "15": 0.5, "21": 0.8, "22": 0.6, "23": 0.6, "31": 1.4, "32": 1.3,
    "33": 1.3, "34": 0.9, "35": 1.0, "36": 0.8, "37": 1.1, "41": 1.0, "42": 1.0, "43": 1.0, "44": 1.5, "45": 0.8,
    "46": 0.8, "50": 1.0, "51": 0.9, "52": 0.7, "53": 0.7, "54": 0.25, "61": 0.9, "62": 0.5, "63": 0.4, "64": 0.6,
    "65": 0.5, "71": 0.0, "81": 0.0, "82": 0.0,
}
PROVINCE_ABBR = {
    "11": "京", "12": "津", "13": "冀", "14": "晋", "15": "蒙", "21": "辽", "22": "吉", "23": "黑", "31": "沪", "32": "苏",
    "33": "浙", "34": "皖", "35": "闽", "36": "赣", "37": "鲁", "41": "豫", "42": "鄂", "43": "湘", "44": "粤", "45": "桂",
    "46": "琼", "50": "渝", "51": "川", "52": "黔", "53": "滇", "54": "藏", "61": "陕", "62": "甘", "63": "青", "64": "宁",
    "65": "新",
}
POSTAL_PREFIX = {
    "11": "10", "12": "30", "13": "05", "14": "03", "15": "01", "21": "11", "22": "13", "23": "15", "31": "20", "32": "21",
    "33": "31", "34": "23", "35": "35", "36": "33", "37": "25", "41": "45", "42": "43", "43": "41", "44": "51", "45": "53",
    "46": "57", "50": "40", "51": "61", "52": "55", "53": "65", "54": "85", "61": "71", "62": "73", "63": "81", "64": "75",
    "65": "83",
}
#: Area codes and local number lengths (checked with phonenumbers) of the larger cities;
#: elsewhere an institution's phone is a mobile number.
AREA_CODES = {
    "11": ("010", 8), "12": ("022", 8), "31": ("021", 8), "50": ("023", 8), "4401": ("020", 8), "4403": ("0755", 8),
    "4201": ("027", 8), "3301": ("0571", 8), "3201": ("025", 8), "5101": ("028", 8), "6101": ("029", 8),
    "3701": ("0531", 8), "3702": ("0532", 8), "4101": ("0371", 8), "4301": ("0731", 8), "3501": ("0591", 8),
    "3502": ("0592", 7), "3601": ("0791", 8), "3401": ("0551", 8), "1301": ("0311", 8), "1401": ("0351", 7),
    "2101": ("024", 8), "2102": ("0411", 8), "2201": ("0431", 8), "2301": ("0451", 8), "4501": ("0771", 7),
    "5201": ("0851", 8), "5301": ("0871", 8), "4601": ("0898", 8), "3205": ("0512", 8), "3302": ("0574", 8),
    "4406": ("0757", 8), "4419": ("0769", 8), "4420": ("0760", 8),
}
MOBILE_PREFIXES = (
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "153", "155", "156", "157", "158",
    "159", "166", "173", "176", "177", "180", "181", "182", "183", "185", "186", "187", "188", "189", "191", "198", "199",
)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静磊洋勇艳杰涛明超霞平刚桂英华玉兰红军建国文斌鑫宇浩然欣怡佳琪晨阳子涵梓轩思雨一诺嘉欣俊杰志强秀英丽娟海燕雪梅春梅丹凤晓东婷婷"
BRAND_HEADS = "育明启博星智阳青远书致求新金华思德文卓优乐童慧晨蓝嘉瑞睿朗翰墨知弘尚菁英立学艺晓天鸿景宏正润"
BRAND_TAILS = "英德航雅辰树光禾香远才思行源成达彩悦途杰望苗峰桥帆翼林川轩阁苑堂誉程"
SUBJECT_TYPES = ("培训学校", "培训学校", "培训学校", "教育培训中心", "学堂", "文化培训学校", "辅导中心", "书院")
FOR_PROFIT_SUBJECT_TYPES = ("教育科技有限公司", "培训学校有限公司", "教育咨询有限公司")
NON_SUBJECT_TYPES = {
    "SPORTS": ("体育俱乐部", "体育培训中心", "跆拳道馆", "游泳俱乐部", "篮球训练营", "武术学校"),
    "ARTS": ("艺术培训中心", "艺术学校", "舞蹈学校", "美术培训中心", "音乐培训学校", "书画院"),
    "SCIENCE_TECHNOLOGY": ("科技创新中心", "机器人培训中心", "编程培训学校", "科普教育中心"),
    "OTHER": ("研学营地", "素质教育中心", "围棋培训中心", "口才培训中心"),
}
OTHER_CATEGORIES = ("研学实践", "棋类", "语言表达", "心理素质", "劳动教育")
ROADS = ("中山", "人民", "解放", "建设", "和平", "新华", "胜利", "文化", "青年", "朝阳", "长江", "黄河", "东风", "光明", "学府", "育才", "迎宾", "工业", "南京", "北京")
BANKS = ("中国工商银行", "中国农业银行", "中国银行", "中国建设银行", "交通银行", "招商银行", "中国邮政储蓄银行", "兴业银行", "浦发银行", "中信银行")
SUBJECT_LABELS = {
    "CHINESE": "语文", "MATHEMATICS": "数学", "ENGLISH": "英语", "PHYSICS": "物理", "CHEMISTRY": "化学", "BIOLOGY": "生物",
    "HISTORY": "历史", "GEOGRAPHY": "地理", "MORALITY_LAW": "道德与法治",
}
SUBJECTS = tuple(SUBJECT_LABELS)
SUBJECT_WEIGHTS = (5, 6, 6, 3, 2, 1, 1, 1, 1)
GRADES = ("PRIMARY", "JUNIOR_SECONDARY", "SENIOR_SECONDARY")
GRADE_LABELS = {"PRIMARY": "小学", "JUNIOR_SECONDARY": "初中", "SENIOR_SECONDARY": "高中"}
GRADE_WORDS = {
    "PRIMARY": ("一年级", "二年级", "三年级", "四年级", "五年级", "六年级"),
    "JUNIOR_SECONDARY": ("初一", "初二", "初三"),
    "SENIOR_SECONDARY": ("高一", "高二", "高三"),
}
COURSE_WORDS = {
    "SPORTS": ("篮球", "足球", "游泳", "跆拳道", "羽毛球", "乒乓球", "武术", "轮滑", "体适能"),
    "ARTS": ("钢琴", "舞蹈", "美术", "书法", "声乐", "小提琴", "古筝", "播音主持", "戏剧表演"),
    "SCIENCE_TECHNOLOGY": ("机器人", "少儿编程", "航模", "科学实验", "无人机", "创客"),
    "OTHER": ("研学实践", "围棋", "国际象棋", "口才表达", "心理拓展"),
}
LEVEL_WORDS = ("启蒙班", "基础班", "提高班", "进阶班", "兴趣班")
PROBLEMS = ("SAFETY_HAZARD", "BEYOND_CURRICULUM", "EXCESSIVE_FEES", "LATE_CLASSES", "UNQUALIFIED_TEACHERS", "FALSE_ADVERTISING", "OTHER")
PROBLEM_WEIGHTS = (5, 3, 3, 3, 2, 2, 1)
MEASURES = {
    "NO_LICENCES": "停止招生，限期办理办学许可证和登记证照",
    "BUSINESS_LICENCE_ONLY": "限期申请办学许可证，未取得前停止招生",
    "LICENCE_ONLY": "限期办理营业执照或民办非企业单位登记证书",
    "SAFETY_HAZARD": "更换消防设施，疏通安全通道，复查合格后恢复教学",
    "BEYOND_CURRICULUM": "调整教学内容，不得超纲超前培训",
    "EXCESSIVE_FEES": "退还超期收费，一次收费不超过 3 个月或 60 课时",
    "LATE_CLASSES": "调整课表，线下培训 20:30 前结束",
    "UNQUALIFIED_TEACHERS": "无教师资格证人员调离学科类教学岗位",
    "FALSE_ADVERTISING": "撤下虚假宣传材料，公开更正",
    "OTHER": "按要求限期整改",
}
OTHER_PROBLEMS = ("未公示收费标准", "未签订培训服务合同", "登记信息与实际不符")
COMPLAINT_CONTENTS = (
    "周末上课到晚上十点。", "一次性收取一年学费，拒不退费。", "无证办学，宣传“保过”。", "教师没有教师资格证。",
    "超前超纲教学，布置大量作业。", "教室没有消防通道。", "以“托管”名义开展学科类培训。", "退费迟迟不到账。",
)
_TRACKING_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100: no I, O, Z, S, V
NULL = "\\N"


# --- small helpers ------------------------------------------------------------------------

_UUID_AND = ((1 << 128) - 1) & ~((0xF << 76) | (0xC << 60))
_UUID_OR = (0x4 << 76) | (0x8 << 60)


def random_uuid(getrandbits) -> str:
    """A version-4 UUID from the chunk's random stream (so ids are deterministic too)."""
    h = "%032x" % (getrandbits(128) & _UUID_AND | _UUID_OR)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def account_namespace(seed: int) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"xwpx-national-dataset:{seed}")


def account_id(namespace: uuid.UUID, username: str) -> str:
    """Regulator accounts' ids follow from the seed and the username, so every worker knows
    them without a lookup."""
    return str(uuid.uuid5(namespace, username))


def scrambled(index: int, modulus: int, seed: int, salt: int) -> int:
    """A bijection of ``range(modulus)``: distinct indexes give distinct numbers, which keeps
    credit codes, mobile numbers and tracking numbers unique by construction."""
    rng = random.Random(f"{seed}:{salt}")
    multiplier = rng.randrange(modulus // 3, modulus) | 1
    while math.gcd(multiplier, modulus) != 1:
        multiplier += 2
    return (index * multiplier + rng.randrange(modulus)) % modulus


def digits(number: int, alphabet: str, length: int) -> str:
    base = len(alphabet)
    out = []
    for _ in range(length):
        number, rest = divmod(number, base)
        out.append(alphabet[rest])
    return "".join(reversed(out))


def day(ordinal: int) -> str:
    return date.fromordinal(ordinal).isoformat()


def stamp(ordinal: int, seconds: int) -> str:
    return f"{date.fromordinal(ordinal).isoformat()} {seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}+00"


def pg_array(values) -> str:
    return "{" + ",".join(values) + "}"


def money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def spread(rng: random.Random, total: int, weights: list[float]) -> list[int]:
    """Counts in proportion to ``weights`` that add up to ``total`` exactly (the remainder goes
    to random picks, weighted)."""
    if not weights:
        return []
    whole = sum(weights)
    if whole <= 0 or total <= 0:
        return [0] * len(weights)
    counts = [int(total * w / whole) for w in weights]
    left = total - sum(counts)
    if left:
        for index in rng.choices(range(len(weights)), weights=weights, k=left):
            counts[index] += 1
    return counts


def quota(total: int, count: int, start: int, end: int) -> int:
    """The share of ``total`` of the institutions ``start:end`` of ``count``: exact in sum."""
    return total * end // count - total * start // count


# --- the plan (main process) ---------------------------------------------------------------


@dataclass
class RegionInfo:
    code: str
    name: str
    level: int
    parent: str | None
    path: str

    @property
    def province(self) -> str:
        return self.path.split("/")[1]


@dataclass
class Plan:
    seed: int
    scale: float
    today: date
    regions: dict[str, RegionInfo]
    lowest: list[str]
    password_hash: str

    @property
    def counts(self) -> dict[str, int]:
        return {key: round(value * self.scale) for key, value in STATED.items()}

    @property
    def chunks(self) -> int:
        return -(-self.counts["institutions"] // CHUNK)


def desk_username(region: RegionInfo) -> str:
    """The county desk (区县级 education) of a lowest region."""
    return f"edu-{region.code}-county" if region.level == 2 else f"edu-{region.code}"


def region_weights(plan: Plan) -> list[float]:
    weights = []
    for code in plan.lowest:
        region = plan.regions[code]
        factor = PROVINCE_FACTOR.get(code[:2], 0.5)
        if region.level == 2:
            kind = 5.0  # a whole city without counties (东莞, 中山)
        elif region.name.endswith("区"):
            kind = 1.8
        elif region.name.endswith("市"):
            kind = 1.2
        else:
            kind = 0.7
        weights.append(factor * kind)
    return weights


def assign_regions(plan: Plan) -> tuple[array, array]:
    """For each institution: the index of its lowest region in ``plan.lowest`` and its number
    within that region. Quotas by largest remainder (at least one per region when there are
    enough institutions), then shuffled, so a region's institutions are spread over the
    chunks as registrations over time would be."""
    total = plan.counts["institutions"]
    weights = region_weights(plan)
    covered = [w > 0 for w in weights]
    floor_one = total >= sum(covered)
    whole = sum(weights)
    base = [1 if (floor_one and ok) else 0 for ok in covered]
    rest = total - sum(base)
    exact = [rest * w / whole for w in weights]
    counts = [b + int(e) for b, e in zip(base, exact, strict=True)]
    left = total - sum(counts)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - int(exact[i])), i))
    for i in order[:left]:
        counts[i] += 1
    regions = array("H")
    for index, count in enumerate(counts):
        regions.extend([index] * count)
    random.Random(f"{plan.seed}:regions").shuffle(regions)
    numbers = array("I", bytes(4 * len(regions)))
    seen = [0] * len(weights)
    for position, index in enumerate(regions):
        seen[index] += 1
        numbers[position] = seen[index]
    return regions, numbers


def regulator_rows(plan: Plan) -> list[str]:
    """The regulator accounts, parents first: education at every node and level, a sub-unit
    and three other departments per county desk."""
    namespace = account_namespace(plan.seed)
    created = stamp((plan.today - timedelta(days=1200)).toordinal(), 9 * 3600)
    rows = []

    def add(username: str, name: str, level: str, region: str, department: str, parent: str | None = None) -> None:
        rows.append("\t".join((
            account_id(namespace, username), username, name, "REGULATOR", level, region, department,
            account_id(namespace, parent) if parent else NULL, NULL, NULL, NULL, plan.password_hash, "f", "t", created, created,
        )))

    add("edu-000000", "教育部", "MINISTRY", "000000", "EDUCATION")
    for region in plan.regions.values():
        if region.level == 1:
            add(f"edu-{region.code}", f"{region.name}教育厅", "PROVINCE", region.code, "EDUCATION")
        elif region.level == 2:
            add(f"edu-{region.code}", f"{region.name}教育局", "PREFECTURE", region.code, "EDUCATION")
    for code in plan.lowest:
        region = plan.regions[code]
        desk = desk_username(region)
        add(desk, f"{region.name}教育局", "COUNTY", code, "EDUCATION")
        add(f"edu-{code}-01", f"{region.name}校外培训监管办公室", "SUB_UNIT", code, "EDUCATION", parent=desk)
        add(f"sports-{code}", f"{region.name}体育局", "COUNTY", code, "SPORTS")
        add(f"culture-{code}", f"{region.name}文化和旅游局", "COUNTY", code, "CULTURE_TOURISM")
        add(f"science-{code}", f"{region.name}科学技术局", "COUNTY", code, "SCIENCE_TECHNOLOGY")
    return rows


# --- generation of one chunk (worker processes) ---------------------------------------------

_PLAN: Plan | None = None


def init_worker(plan: Plan) -> None:
    global _PLAN
    _PLAN = plan


class Institution:
    """What one institution's rows need to know about it while they are generated."""

    __slots__ = (
        "index", "id", "region", "number", "kind", "mode", "nature", "size", "parts", "portal", "categories", "subjects",
        "grades", "qualification", "created", "name", "brand", "sites", "staff", "materials", "inspections", "compliance",
        "deregistered", "clean", "account", "licence_applied",
    )


class Chunk:
    """Generates the rows of chunk ``number``: its institutions and everything that hangs on
    them, as COPY text per table."""

    def __init__(self, plan: Plan, number: int, regions: array, numbers: array) -> None:
        self.plan = plan
        self.number = number
        self.rng = random.Random(f"{plan.seed}:chunk:{number}")
        self.bits = self.rng.getrandbits
        uniform = self.rng.random

        # random.randrange and random.choice cost about ten times random() itself.
        def randrange(low: int, high: int | None = None) -> int:
            return int(uniform() * low) if high is None else low + int(uniform() * (high - low))

        self.randrange = randrange
        self.choice = lambda items: items[int(uniform() * len(items))]
        self.today = plan.today.toordinal()
        self.namespace = account_namespace(plan.seed)
        self.accounts: dict[str, str] = {}
        self.rows: dict[str, list[str]] = {table: [] for table in COLUMNS}
        counts = plan.counts
        self.total = counts["institutions"]
        self.start = number * CHUNK
        self.end = min(self.start + CHUNK, self.total)
        self.region_indexes = regions
        self.region_numbers = numbers

    # identifiers
    def uid(self) -> str:
        return random_uuid(self.bits)

    def account(self, username: str) -> str:
        found = self.accounts.get(username)
        if found is None:
            found = self.accounts[username] = account_id(self.namespace, username)
        return found

    def person(self) -> str:
        rng = self.rng
        given = GIVEN[self.randrange(len(GIVEN))]
        if rng.random() < 0.7:
            given += GIVEN[self.randrange(len(GIVEN))]
        return SURNAMES[self.randrange(len(SURNAMES))] + given

    def mobile(self) -> str:
        return MOBILE_PREFIXES[self.randrange(len(MOBILE_PREFIXES))] + f"{self.randrange(10**8):08d}"

    def id_number(self, place: str, born: int, sequence: int) -> str:
        """GB 11643: place, date of birth, a sequence whose last digit is odd for men, the check digit."""
        base = f"{place}{date.fromordinal(born):%Y%m%d}{sequence:03d}"
        return base + ric.calc_check_digit(base + "0")

    def credit_code(self, index: int, region: str, non_profit: bool) -> str:
        """GB 32100: 52 (民办非企业单位) or 91 (企业), the division, an organisation code made
        unique by the institution's index, the check character."""
        seed = self.plan.seed
        if index % 10 < 7:
            body = "MA" + digits(scrambled(index, 31**7, seed, 1), _CODE_ALPHABET, 7)
        else:
            body = digits(scrambled(index, 10**8, seed, 2), "0123456789", 8) + _CODE_ALPHABET[index % 31]
        base = ("52" if non_profit else "91") + region + body
        return base + uscc.calc_check_digit(base)

    def emit(self, table: str, values) -> None:
        self.rows[table].append("\t".join(values))

    # the chunk
    def generate(self) -> tuple[dict[str, bytes], dict[str, int]]:
        plan, rng = self.plan, self.rng
        counts = plan.counts
        institutions = [self.core(index) for index in range(self.start, self.end)]
        portal = [i for i in institutions if i.portal]
        # What hangs on the institutions, in exact shares of the stated totals.
        share = lambda key: quota(counts[key], self.total, self.start, self.end)  # noqa: E731
        for inst, n in zip(portal, spread(rng, share("sites"), [i.size for i in portal]), strict=True):
            inst.sites = n
        sites = [(inst, k) for inst in portal for k in range(inst.sites)]
        course_counts = spread(rng, share("courses"), [0.5 + rng.random() for _ in sites])
        courses = [(inst, site, c) for (inst, site), c in zip(sites, course_counts, strict=True)]
        class_total = share("classes")
        course_slots = [(inst, site, k) for inst, site, c in courses for k in range(c)]
        class_counts = spread(rng, class_total, [0.4 + rng.random() for _ in course_slots])
        staff_total = share("staff")
        base = min(2, staff_total // max(len(portal), 1))
        for inst, n in zip(portal, spread(rng, staff_total - base * len(portal), [i.size for i in portal]), strict=True):
            inst.staff = base + n
        for inst, n in zip(portal, spread(rng, share("materials"), [i.size for i in portal]), strict=True):
            inst.materials = n
        for inst, n in zip(institutions, spread(rng, share("inspections"), [i.size ** 0.5 for i in institutions]), strict=True):
            inst.inspections = n
        # Classes per course and courses per site, grouped by institution.
        layout: dict[int, list[list[int]]] = {}
        slot = 0
        for inst, _site, c in courses:
            site_courses = layout.setdefault(inst.index, [])
            site_courses.append(class_counts[slot:slot + c])
            slot += c
        for inst in institutions:
            self.institution(inst, layout.get(inst.index, []))
        self.complaints(institutions, share("complaints"))
        blobs = {table: ("\n".join(lines) + "\n").encode() if lines else b"" for table, lines in self.rows.items()}
        return blobs, {table: len(lines) for table, lines in self.rows.items()}

    def core(self, index: int) -> Institution:
        """The institution's own facts, before anything hangs on it."""
        rng = self.rng
        inst = Institution()
        inst.index = index
        inst.id = self.uid()
        inst.region = self.plan.regions[self.plan.lowest[self.region_indexes[index - self.start]]]
        inst.number = self.region_numbers[index - self.start]
        subject = rng.random() < 0.45
        inst.kind = "SUBJECT" if subject else "NON_SUBJECT"
        inst.mode = "ONLINE" if rng.random() < (0.08 if subject else 0.04) else "OFFLINE"
        inst.nature = ("NON_PROFIT" if rng.random() < 0.85 else "FOR_PROFIT") if subject else ("FOR_PROFIT" if rng.random() < 0.6 else "NON_PROFIT")
        inst.size = min(6.0, max(0.25, rng.lognormvariate(0, 0.6)))
        roll = rng.random()
        inst.parts = 4 if roll < 0.78 else (0 if roll < 0.84 else 1 if roll < 0.89 else 2 if roll < 0.94 else 3)
        inst.portal = inst.parts == 4
        inst.sites = inst.staff = inst.materials = inst.inspections = 0
        if subject:
            inst.categories = ["SUBJECT", "ARTS"] if rng.random() < 0.1 else ["SUBJECT"]
            inst.subjects = sorted(set(rng.choices(SUBJECTS, SUBJECT_WEIGHTS, k=self.randrange(1, 5))), key=SUBJECTS.index)
            grades = rng.sample(GRADES, self.choice((1, 1, 2, 2, 3)))
            inst.grades = sorted(grades, key=GRADES.index)
        else:
            first = rng.choices(("SPORTS", "ARTS", "SCIENCE_TECHNOLOGY", "OTHER"), (4, 5, 2, 1))[0]
            second = self.choice(("SPORTS", "ARTS", "SCIENCE_TECHNOLOGY", "OTHER")) if rng.random() < 0.15 else first
            order = ("SUBJECT", "SPORTS", "ARTS", "SCIENCE_TECHNOLOGY", "OTHER")
            inst.categories = sorted({first, second}, key=order.index)
            inst.subjects, inst.grades = [], []
        status = rng.random()
        if subject:
            inst.qualification = "FULL" if status < 0.78 else "BUSINESS_LICENCE_ONLY" if status < 0.9 else "LICENCE_ONLY" if status < 0.94 else "NONE"
        else:
            inst.qualification = "FULL" if status < 0.62 else "BUSINESS_LICENCE_ONLY" if status < 0.86 else "LICENCE_ONLY" if status < 0.9 else "NONE"
        inst.created = self.today - self.randrange(30, 365 * 6)
        main = inst.categories[1] if subject and len(inst.categories) > 1 and rng.random() < 0.3 else inst.categories[0]
        if main == "SUBJECT":
            types = FOR_PROFIT_SUBJECT_TYPES if inst.nature == "FOR_PROFIT" and rng.random() < 0.6 else SUBJECT_TYPES
        else:
            types = NON_SUBJECT_TYPES[main]
        # Popular brands (chains) recur: a skewed pick over the heads and tails.
        head = BRAND_HEADS[int(len(BRAND_HEADS) * rng.random() ** 1.6)]
        tail = BRAND_TAILS[int(len(BRAND_TAILS) * rng.random() ** 1.3)]
        inst.brand = head + tail if head != tail else head + "华"
        inst.name = f"{inst.region.name}{inst.brand}{types[self.randrange(len(types))]}{inst.number:02d}"
        inst.compliance = []
        inst.deregistered = None
        inst.clean = True
        inst.account = None
        inst.licence_applied = None
        return inst

    # --- one institution and everything under it
    def institution(self, inst: Institution, site_layout: list[list[int]]) -> None:
        rng = self.rng
        region = inst.region
        today = self.today
        licensed = inst.qualification in ("FULL", "LICENCE_ONLY")
        needs_non_profit = inst.kind == "SUBJECT" and inst.nature == "FOR_PROFIT" and (not inst.grades or bool({"PRIMARY", "JUNIOR_SECONDARY"} & set(inst.grades)))
        needs_approval = inst.kind == "SUBJECT" and inst.mode == "ONLINE" and not licensed
        has_courses = any(site_courses for site_courses in site_layout)
        eligible = inst.portal and not needs_non_profit and not needs_approval and (licensed or inst.kind != "SUBJECT") and has_courses
        desk = self.account(desk_username(region))
        # Applications' story, decided first: it fixes the review status and what may break a rule.
        compliance = None
        if inst.portal:
            roll = rng.random()
            if eligible:
                compliance = None if roll < 0.25 else "PENDING" if roll < 0.4 else "APPROVED" if roll < 0.85 else "REJECTED"
            elif roll < 0.1:
                compliance = "REJECTED"
            if rng.random() < 0.015:
                inst.deregistered = min(today - 1, max(inst.created + 40, today - self.randrange(5, 400)))
                if compliance == "PENDING":
                    compliance = "APPROVED"
            inst.clean = compliance in ("PENDING", "APPROVED") or rng.random() > 0.2
            inst.account = self.uid()
        # The account of a portal institution (username: its mobile number).
        if inst.account:
            mobile = MOBILE_PREFIXES[inst.index % len(MOBILE_PREFIXES)] + f"{scrambled(inst.index, 10**8, self.plan.seed, 3):08d}"
            created = stamp(inst.created + 10, 10 * 3600)
            self.emit("account", (
                inst.account, mobile, self.person(), "INSTITUTION", NULL, region.code, NULL, NULL, inst.id, mobile, NULL,
                self.plan.password_hash, "f", "f" if inst.deregistered else "t", created, created,
            ))
        teachers = self.staff(inst) if inst.portal else []
        classes = self.sites(inst, site_layout, teachers) if inst.portal else []
        if inst.portal:
            self.materials(inst)
            self.funds(inst, eligible)
        licence = self.applications(inst, compliance, classes, licensed, desk)
        status, deadline = self.inspections(inst, desk)
        self.institution_row(inst, licence, status, deadline, compliance, desk)

    def institution_row(self, inst: Institution, licence, status: str, deadline: int | None, compliance: str | None, desk: str) -> None:
        rng = self.rng
        region = inst.region
        province = region.province[:2]
        code = self.credit_code(inst.index, region.code, inst.nature == "NON_PROFIT")
        parts = inst.parts
        person = self.person
        unit = desk if rng.random() < 0.75 else self.account(f"edu-{region.code}-01")
        area = AREA_CODES.get(region.code[:4]) or AREA_CODES.get(region.code[:2])
        if area and rng.random() < 0.7:
            phone = f"{area[0]}-{self.choice('23456')}{self.randrange(10 ** (area[1] - 1)):0{area[1] - 1}d}"
        else:
            phone = self.mobile()
        prefecture = self.plan.regions.get(region.parent) if region.parent else None
        city = prefecture.name if prefecture and prefecture.level == 2 else (self.plan.regions[region.province].name if region.level == 3 else "")
        address = f"{city}{region.name}{ROADS[self.randrange(len(ROADS))]}路{self.randrange(1, 999)}号"
        postal = POSTAL_PREFIX.get(province, "10") + f"{self.randrange(1, 10000):04d}" if rng.random() < 0.8 else NULL
        email = f"xw{code[-8:].lower()}@163.com" if rng.random() < 0.4 else NULL
        values = [
            inst.id, inst.name, code, region.code, address, postal, phone, email, inst.kind, inst.mode, inst.nature,
            person(), self.id_number(region.code, self.today - self.randrange(25 * 365, 60 * 365), self.randrange(1000)),
            self.mobile(), person(), self.mobile(), unit,
        ]
        # Part 2: qualifications (办学资质)
        if parts >= 1 or licence:
            qualification = inst.qualification
            if licence:
                number, issuer, start, end = licence
            elif qualification in ("FULL", "LICENCE_ONLY"):
                start = max(inst.created, self.today - self.randrange(30, 365 * 5))
                end = start + 365 * self.choice((3, 5, 5, 6))
                number = f"教民{region.code}{(inst.index * 7919) % 10**7:07d}号"
                issuer = f"{self.plan.regions[region.province].name}教育厅" if inst.kind == "SUBJECT" and inst.mode == "ONLINE" else f"{region.name}教育局"
            has_licence = qualification in ("FULL", "LICENCE_ONLY")
            has_business = qualification in ("FULL", "BUSINESS_LICENCE_ONLY")
            values += [qualification]
            values += [number, issuer, day(start), day(end)] if has_licence else [NULL] * 4
            values += [code, f"{region.name}{'民政局' if inst.nature == 'NON_PROFIT' else '市场监督管理局'}"] if has_business else [NULL, NULL]
        else:
            values += [NULL] * 7
        licence_end = end if (parts >= 1 or licence) and qualification in ("FULL", "LICENCE_ONLY") else None
        # Part 3: operation (办学情况)
        students = int(40 * inst.size * (0.6 + rng.random())) + 10
        if parts >= 2:
            staff_count = max(inst.staff, 1) + self.randrange(0, 4)
            values += [
                pg_array(inst.categories), OTHER_CATEGORIES[self.randrange(len(OTHER_CATEGORIES))] if "OTHER" in inst.categories else NULL,
                str(students), str(staff_count), str(self.randrange(1, staff_count + 1)),
            ]
        else:
            values += ["{}", NULL, NULL, NULL, NULL]
        # Part 4: K-12 subject training (中小学学科类培训情况); a non-subject institution's is
        # saved as none with part 1 (resolvers.institutions.registration.part_four_of_kind)
        if parts >= 3 or inst.kind != "SUBJECT":
            if inst.kind == "SUBJECT":
                # What the desk wrote, read as migration 0019 reads it; an institution that
                # breaks no rule wrote times and terms the rules accept.
                note = self.choice(CLEAN_CLASS_TIMES if inst.clean else (*CLEAN_CLASS_TIMES, *OTHER_CLASS_TIMES))
                parsed = parse(note)
                sessions = "[" + ", ".join(f'{{"weekday": {t["weekday"]}, "start": "{t["start"]}", "end": "{t["end"]}"}}' for t in parsed.sessions) + "]"
                months, hours = parsed.fee_months, parsed.fee_class_hours
                values += [
                    "f", pg_array(inst.subjects), pg_array(inst.grades), note, sessions,
                    NULL if months is None else str(months), NULL if hours is None else str(hours), f"{self.randrange(40, 300)}.00",
                ]
            else:
                values += ["t", "{}", "{}", NULL, "[]", NULL, NULL, NULL]
        else:
            values += [NULL, "{}", "{}", NULL, "[]", NULL, NULL, NULL]
        # Part 5: facilities (办学条件)
        if parts >= 4:
            # At least 3 m² a student, a lease that outlasts the licence and a fire-safety
            # acceptance, unless the institution is one that breaks rules now and then.
            crowded = not inst.clean and rng.random() < 0.15
            teaching_area = students * (self.randrange(150, 290) if crowded else self.randrange(310, 600))
            floor_area = teaching_area * 100 // self.randrange(50, 95)
            premises = "OWNED" if rng.random() < 0.25 else "LEASED"
            lease_end = self.today + self.randrange(60, 1800)
            if licence_end is not None and (inst.clean or rng.random() < 0.8):
                lease_end = max(lease_end, licence_end + self.randrange(0, 400))
            values += [
                money(floor_area), money(teaching_area), premises,
                day(lease_end) if premises == "LEASED" else NULL, "t" if inst.clean or rng.random() < 0.93 else "f",
            ]
        else:
            values += [NULL] * 5
        saved = ["t" if parts >= n or (n == 1 and licence) or (n == 3 and inst.kind != "SUBJECT") else "f" for n in (1, 2, 3, 4)]
        created = inst.created
        updated = min(self.today, created + self.randrange(0, 400))
        values += saved + [
            str(1 + saved.count("t")), stamp(created, 9 * 3600 + self.randrange(28800)), stamp(updated, 9 * 3600 + self.randrange(28800)),
            status, day(deadline) if deadline is not None else NULL, compliance or "NOT_SUBMITTED",
            stamp(inst.deregistered, 15 * 3600) if inst.deregistered else NULL,
        ]
        self.emit("institution", values)

    def staff(self, inst: Institution) -> list[tuple[str, bool]]:
        """The institution's staff; returns its active teachers as (id, certified)."""
        rng = self.rng
        today = self.today
        teachers = []
        offset = 2 * self.randrange(500)
        for k in range(inst.staff):
            staff_id = self.uid()
            teaching = k < 2 or rng.random() < 0.6
            post = "TEACHING" if teaching else rng.choices(("RESEARCH", "MANAGEMENT", "OTHER"), (2, 4, 3))[0]
            active = k < 2 or rng.random() > 0.12
            male = rng.random() < 0.4
            subjects = rng.sample(inst.subjects, min(len(inst.subjects), self.choice((1, 1, 2)))) if teaching and inst.subjects else []
            certified = bool(subjects) or rng.random() < 0.3
            born = today - self.randrange(22 * 365, 58 * 365)
            joined = max(inst.created, today - self.randrange(20, 365 * 8))
            departed = min(today, joined + self.randrange(90, 900)) if not active else None
            sequence = (offset + 2 * k + (1 if male else 0)) % 1000
            certificate = f"20{self.randrange(10, 25)}{inst.region.code[:2]}{self.randrange(10**11):011d}" if certified else NULL
            created = stamp(joined, 9 * 3600)
            self.emit("staff", (
                staff_id, inst.id, self.person(), "MALE" if male else "FEMALE",
                self.id_number(inst.region.code if rng.random() < 0.7 else self.plan.lowest[self.randrange(len(self.plan.lowest))], born, sequence),
                self.mobile(), post, "FULL_TIME" if rng.random() < 0.75 else "PART_TIME", pg_array(sorted(subjects, key=SUBJECTS.index)),
                certificate, str(self.randrange(0, 30)), "ACTIVE" if active else "DEPARTED", day(joined),
                day(departed) if departed is not None else NULL, "2" if departed else "1", created,
                stamp(departed, 10 * 3600) if departed else created,
            ))
            if teaching and active:
                teachers.append((staff_id, certified))
        return teachers

    def sites(self, inst: Institution, layout: list[list[int]], teachers: list[tuple[str, bool]]) -> list[tuple[str, str, str]]:
        """Sites (or business systems) with their courses and classes; returns the subject
        classes as (id, filing status to reach, course name)."""
        rng = self.rng
        online = inst.mode == "ONLINE"
        subject_classes = []
        for s, site_courses in enumerate(layout):
            site_id = self.uid()
            created = max(inst.created, self.today - self.randrange(60, 900))
            capacity_here = 0
            for classes_here in site_courses:
                capacity_here += self.course(inst, site_id, classes_here, teachers, subject_classes, created)
            if online:
                slug = digits(scrambled(inst.index, 36**6, self.plan.seed, 4), "0123456789abcdefghijklmnopqrstuvwxyz", 6)
                kind = self.choice(("APP", "WEBSITE", "MINI_PROGRAM"))
                name = {"APP": f"{inst.brand}学习 App", "WEBSITE": f"{inst.brand}在线课堂", "MINI_PROGRAM": f"{inst.brand}学习小程序"}[kind]
                values = (
                    site_id, inst.id, "BUSINESS_SYSTEM", name if s == 0 else f"{name}{s + 1}", NULL, NULL, kind,
                    f"https://www.xw{slug}.cn/{s}" if s else f"https://www.xw{slug}.cn",
                    f"{PROVINCE_ABBR.get(inst.region.code[:2], '京')}ICP备{self.randrange(10**7, 10**8)}号-{s + 1}",
                )
            else:
                # At least 3 m² per student when every class of the site meets at once.
                area = max(int(80 * inst.size * (0.6 + rng.random()) * 100) + 4000, capacity_here * 350)
                road = ROADS[self.randrange(len(ROADS))]
                values = (
                    site_id, inst.id, "SITE", f"{road}路校区" if s else "本部", f"{inst.region.name}{road}路{self.randrange(1, 999)}号",
                    money(area), NULL, NULL, NULL,
                )
            self.emit("site", values + ("1", stamp(created, 10 * 3600), stamp(created, 10 * 3600)))
        return subject_classes

    def course(self, inst, site_id: str, classes_here: int, teachers, subject_classes: list, created: int) -> int:
        rng = self.rng
        course_id = self.uid()
        subject = None
        if inst.kind == "SUBJECT" and (len(inst.categories) == 1 or rng.random() < 0.8):
            category = "SUBJECT"
            subject = inst.subjects[self.randrange(len(inst.subjects))]
            grade = inst.grades[self.randrange(len(inst.grades))]
            name = f"{GRADE_LABELS[grade]}{SUBJECT_LABELS[subject]}{self.choice(('同步提高', '思维拓展', '基础巩固', '综合提升'))}"
        else:
            category = inst.categories[-1] if inst.kind == "SUBJECT" else inst.categories[self.randrange(len(inst.categories))]
            grade = self.choice(GRADES[:2])
            name = COURSE_WORDS[category if category in COURSE_WORDS else "OTHER"][self.randrange(5)] + LEVEL_WORDS[self.randrange(len(LEVEL_WORDS))]
        hours = self.choice((12, 16, 24, 32, 48))
        stamp_ = stamp(created, 11 * 3600)
        self.emit("course", (
            course_id, inst.id, site_id, name, category, subject or NULL, "{" + grade + "}", str(hours), NULL, "1", stamp_, stamp_,
        ))
        capacity = 0
        for k in range(1, classes_here + 1):
            capacity += self.training_class(inst, course_id, name, subject, grade, hours, k, teachers, subject_classes, created)
        return capacity

    def training_class(self, inst, course_id, course_name, subject, grade, hours, k, teachers, subject_classes, created) -> int:
        rng = self.rng
        online = inst.mode == "ONLINE"
        class_id = self.uid()
        broken = not inst.clean and rng.random() < 0.15
        if subject:
            name = f"{GRADE_WORDS[grade][self.randrange(len(GRADE_WORDS[grade]))]}{SUBJECT_LABELS[subject]}培训班（{k}班）"
        else:
            name = f"{course_name}{k}班"
        if online:
            start = self.choice(("19:00", "19:40"))
            end = {"19:00": "19:30", "19:40": "20:10"}[start]
            lesson, pause = ("30", "10") if not broken else ("45", "5")
            sessions = [(self.randrange(1, 8), start, end)]
        else:
            lesson = pause = NULL
            if rng.random() < 0.7:
                slots = (("08:30", "10:00"), ("10:15", "11:45"), ("14:00", "15:30"), ("15:45", "17:15"))
                sessions = [(self.choice((6, 7)), *slots[self.randrange(4)])]
                if rng.random() < 0.3:
                    sessions.append((13 - sessions[0][0], *slots[self.randrange(4)]))
            else:
                sessions = [(self.randrange(1, 6), "18:30", "20:00" if not broken else "21:00")]
        sessions.sort()
        schedule = "[" + ", ".join(f'{{"weekday": {w}, "start": "{s}", "end": "{e}"}}' for w, s, e in sessions) + "]"
        term = self.today - self.randrange(0, 540)
        ends = term + self.randrange(60, 150)
        capacity = self.randrange(6, 31) if subject else self.randrange(8, 41)
        per_payment = self.choice((12, 16, 24, 32, 48))
        months = self.choice((1, 2, 3)) if not broken else 6
        fee = per_payment * self.randrange(40, 260) * 100
        ids = [t for t in teachers if t[1]] if subject else teachers
        chosen = rng.sample(ids or teachers, min(len(ids or teachers), 1 if rng.random() < 0.8 else 2))
        if subject:
            roll = rng.random()
            filing = "NOT_FILED" if roll < 0.12 else "PENDING" if roll < 0.25 else "REJECTED" if roll < 0.32 else "FILED"
            if inst.deregistered and filing == "PENDING":
                filing = "REJECTED"
            subject_classes.append((class_id, filing))
            enrolled = self.randrange(0, capacity + 1) if filing == "FILED" else (self.randrange(1, capacity + 1) if broken else 0)
        else:
            filing = "NOT_REQUIRED"
            enrolled = self.randrange(0, capacity + 1)
        stamp_ = stamp(max(created, term - 20), 14 * 3600)
        self.emit("training_class", (
            class_id, inst.id, course_id, name, schedule, day(term), day(ends), str(capacity), str(enrolled), money(fee),
            str(months), str(per_payment), lesson, pause, pg_array(t[0] for t in chosen), filing,
            "1" if filing in ("NOT_FILED", "NOT_REQUIRED") else "2", stamp_, stamp_,
        ))
        return capacity

    def materials(self, inst: Institution) -> None:
        rng = self.rng
        for m in range(inst.materials):
            broken = not inst.clean and rng.random() < 0.1
            if inst.kind == "SUBJECT":
                subject = inst.subjects[self.randrange(len(inst.subjects))]
                grade = inst.grades[self.randrange(len(inst.grades))]
                category, topic = "SUBJECT", GRADE_LABELS[grade] + SUBJECT_LABELS[subject]
            else:
                subject, grade = None, self.choice(GRADES[:2])
                category = inst.categories[self.randrange(len(inst.categories))]
                topic = COURSE_WORDS[category][self.randrange(5)]
            kind = rng.choices(("TEXTBOOK", "HANDOUT", "EXERCISES", "AUDIOVISUAL", "OTHER"), (2, 5, 4, 1, 1))[0]
            label = {"TEXTBOOK": "教材", "HANDOUT": "讲义", "EXERCISES": "练习册", "AUDIOVISUAL": "视频课程", "OTHER": "资料"}[kind]
            certified = subject is not None and not broken or rng.random() < 0.3
            created = stamp(max(inst.created, self.today - self.randrange(10, 700)), 15 * 3600)
            self.emit("material", (
                self.uid(), inst.id, f"{inst.brand}{topic}{label}（第{m + 1}册）", category, subject or NULL, "{" + grade + "}", kind,
                self.person(), f"{self.plan.regions[inst.region.province].name[:2]}教育出版社" if kind == "TEXTBOOK" else NULL,
                f"{self.randrange(2019, 2027)} 版", str(self.randrange(3, 30) if not broken else self.randrange(0, 3)),
                f"20{self.randrange(10, 25)}{inst.region.code[:2]}{self.randrange(10**11):011d}" if certified else NULL,
                rng.choices(("APPROVED", "NOT_REVIEWED", "REJECTED"), (6, 3, 1))[0], "1", created, created,
            ))

    def funds(self, inst: Institution, eligible: bool) -> None:
        rng = self.rng
        if not eligible and rng.random() < 0.2:
            return
        supervised = eligible or rng.random() < 0.6
        hours = self.choice((24, 36, 48, 60))
        months = 3 if inst.clean or rng.random() < 0.5 else 6
        bank = BANKS[self.randrange(len(BANKS))]
        self.emit("institution_funds", (
            inst.id, self.choice(("BY_CLASS_HOUR", "BY_TERM", "BY_MONTH")), f"每课时 {self.randrange(40, 260)} 元，每期不超过 {hours} 课时",
            str(months), str(hours), "未上课时按比例退费，7 个工作日内退还", f"{bank}{inst.region.name}支行" if supervised else NULL,
            f"62{self.randrange(10**16):016d}" if supervised else NULL, f"{self.randrange(5, 80) * 10000}.00" if supervised else NULL,
            f"{BANKS[self.randrange(len(BANKS))]}营业部", inst.name, f"44{self.randrange(10**15):015d}", "1",
            stamp(max(inst.created, self.today - self.randrange(10, 500)), 16 * 3600), inst.account,
        ))

    def authority(self, inst: Institution, kind: str) -> tuple[str, str, str, str]:
        """(region, department, level, account id) as ``resolvers.applications.authority``."""
        region = inst.region
        if kind != "CLASS_FILING" and inst.kind == "SUBJECT" and inst.mode == "ONLINE":
            return region.province, "EDUCATION", "PROVINCE", self.account(f"edu-{region.province}")
        if inst.kind == "NON_SUBJECT":
            for category, department, prefix in (("SPORTS", "SPORTS", "sports"), ("ARTS", "CULTURE_TOURISM", "culture"), ("SCIENCE_TECHNOLOGY", "SCIENCE_TECHNOLOGY", "science")):
                if category in inst.categories:
                    return region.code, department, "COUNTY", self.account(f"{prefix}-{region.code}")
        return region.code, "EDUCATION", "COUNTY", self.account(desk_username(region))

    def application(self, inst: Institution, kind: str, status: str, at: int, decided: int | None = None, *,
                    class_id: str | None = None, statement: str | None = None, hour: int = 10) -> None:
        """Submitted on day ``at`` from ``hour`` (an earlier application of the same thing goes
        at 8, before any later one), decided by the authority by day ``decided``."""
        region, department, level, reviewer = self.authority(inst, kind)
        if status == "PENDING":
            decision = [NULL, NULL, NULL]
        else:
            decided = decided if decided is not None else min(self.today, at + self.randrange(1, 20))
            opinion = "材料齐全，符合要求，同意" if status == "APPROVED" else "材料不全，请补充后重新提交"
            if kind == "DEREGISTRATION" and status == "APPROVED":
                opinion = "经核实，同意注销"
            decision = [stamp(decided, (hour + 1) * 3600 + self.randrange(3600) if decided == at else 16 * 3600 + self.randrange(3600)), reviewer, opinion]
        self.emit("application", [
            self.uid(), inst.id, kind, status, class_id or NULL, NULL, statement or NULL, "[]", region, department, level,
            stamp(at, hour * 3600 + self.randrange(3600)), inst.account,
        ] + decision)

    def applications(self, inst: Institution, compliance: str | None, classes, licensed: bool, desk: str):
        """Applications in submission order; returns the licence an approved licence
        application issued, if any (number, issuer, valid from, valid to)."""
        if not inst.portal:
            return None
        rng = self.rng
        today = self.today
        end = inst.deregistered or today
        first = min(end, max(inst.created + 30, end - 700))
        licence = None
        # 办学许可申请: pending or rejected while there is no licence; some licences came from one.
        if not licensed and rng.random() < 0.5:
            status = "REJECTED" if inst.deregistered or rng.random() < 0.3 else "PENDING"
            self.application(inst, "LICENCE", status, self.randrange(first, end + 1), statement="申请办学许可证")
        elif licensed and rng.random() < 0.1:
            at = self.randrange(first, end + 1)
            decided = min(end, at + self.randrange(5, 30))
            number = f"教民{inst.region.code}{(inst.index * 104729) % 10**7:07d}号"
            issuer = f"{self.plan.regions[inst.region.province].name}教育厅" if inst.kind == "SUBJECT" and inst.mode == "ONLINE" else f"{inst.region.name}教育局"
            licence = (number, issuer, decided, decided + 365 * 5)
            self.application(inst, "LICENCE", "APPROVED", at, decided, statement="申请办学许可证")
        # 学科类培训班备案: the latest filing decides the class's filing status.
        for class_id, filing in classes:
            if filing == "NOT_FILED":
                continue
            at = self.randrange(first, end + 1)
            if filing == "FILED" and rng.random() < 0.1:
                # refused once, filed again: the earlier one, earlier that day at the latest
                earlier = max(first, at - self.randrange(0, 30))
                self.application(inst, "CLASS_FILING", "REJECTED", earlier, earlier, class_id=class_id, hour=8)
            self.application(inst, "CLASS_FILING", {"FILED": "APPROVED"}.get(filing, filing), at, min(end, at + self.randrange(0, 10)), class_id=class_id)
        # 合规申请: the latest one is the review status.
        if compliance:
            at = self.randrange(first, end + 1)
            if compliance != "REJECTED" and rng.random() < 0.3:
                earlier = max(first, at - self.randrange(0, 60))
                self.application(inst, "COMPLIANCE", "REJECTED", earlier, earlier, statement="申请合规审核", hour=8)
            self.application(inst, "COMPLIANCE", compliance, at, min(end, at + self.randrange(0, 15)), statement="已按要求完成信息补全，申请合规审核")
        # 注销申请: approved for the deregistered (the last thing they did), else a few pending or rejected.
        if inst.deregistered:
            self.application(inst, "DEREGISTRATION", "APPROVED", inst.deregistered - self.randrange(1, 10), inst.deregistered, statement="停止办学，申请注销")
        elif rng.random() < 0.02:
            status = "PENDING" if rng.random() < 0.6 else "REJECTED"
            self.application(inst, "DEREGISTRATION", status, self.randrange(first, today + 1), statement="停止办学，申请注销")
        return licence

    def inspections(self, inst: Institution, desk: str) -> tuple[str, int | None]:
        """The institution's inspections, oldest first; returns its inspection status and open
        deadline as ``resolvers.inspections.ledgers.refresh_status`` keeps them."""
        n = inst.inspections
        if not n:
            return "NOT_INSPECTED", None
        rng = self.rng
        today = self.today
        first = max(inst.created, today - 3 * 365)
        if today - first < 3 * n:
            first = today - 3 * n
        days = sorted(rng.sample(range(first, today), n))
        unit = f"{inst.region.name}教育局"
        status, deadline = "NOT_INSPECTED", None
        for k, on in enumerate(days):
            latest = k == n - 1
            next_on = days[k + 1] if not latest else today
            roll = rng.random()
            if latest:
                state = "NO_PROBLEMS" if roll < 0.5 else "RECTIFYING" if roll < 0.72 else "RECTIFIED"
                if state == "RECTIFIED" and next_on - on < 2:
                    state = "RECTIFYING"
            else:
                state = "NO_PROBLEMS" if roll < 0.5 or next_on - on < 2 else "RECTIFIED"
            inspection_id = self.uid()
            problems: list[str] = []
            other = NULL
            if state != "NO_PROBLEMS":
                wanted = {"NONE": "NO_LICENCES", "BUSINESS_LICENCE_ONLY": "BUSINESS_LICENCE_ONLY", "LICENCE_ONLY": "LICENCE_ONLY"}.get(inst.qualification)
                if wanted and rng.random() < 0.6:
                    problems.append(wanted)
                for p in rng.choices(PROBLEMS, PROBLEM_WEIGHTS, k=self.choice((1, 1, 2))):
                    if p not in problems:
                        problems.append(p)
                if "OTHER" in problems:
                    other = OTHER_PROBLEMS[self.randrange(len(OTHER_PROBLEMS))]
            accepted_on = None
            if state == "RECTIFIED":
                accepted_on = self.randrange(on + 1, next_on) if next_on - on > 1 else on
            open_deadlines = []
            for problem in problems:
                for _ in range(2 if rng.random() < 0.1 else 1):
                    item_deadline = on + self.randrange(15, 91)
                    if state == "RECTIFIED":
                        progress = "DONE"
                    else:
                        progress = rng.choices(("NOT_STARTED", "IN_PROGRESS", "DONE"), (3, 5, 2))[0]
                    if progress != "DONE":
                        open_deadlines.append(item_deadline)
                    self.emit("rectification_item", (
                        self.uid(), inspection_id, problem, MEASURES[problem], day(item_deadline), progress,
                        "已整改到位" if progress == "DONE" else ("正在整改" if progress == "IN_PROGRESS" else NULL),
                        stamp(min(today, on + self.randrange(1, 30)), 11 * 3600),
                    ))
            created = stamp(on, 10 * 3600 + self.randrange(20000))
            self.emit("inspection", (
                inspection_id, inst.id, day(on), unit, "未发现问题" if not problems else "发现问题，已建立整改台账", pg_array(problems),
                other, desk, "经复查，已整改到位" if accepted_on is not None else NULL,
                day(accepted_on) if accepted_on is not None else NULL, desk if accepted_on is not None else NULL,
                created, stamp(accepted_on, 15 * 3600) if accepted_on is not None else created,
            ))
            if latest:
                status = state
                deadline = min(open_deadlines) if state == "RECTIFYING" and open_deadlines else None
        return status, deadline

    def complaints(self, institutions: list[Institution], count: int) -> None:
        rng = self.rng
        today = self.today
        first = quota(self.plan.counts["complaints"], self.total, 0, self.start)
        targets = [i for i in institutions if i.region.level >= 2]
        for n in range(count):
            inst = targets[self.randrange(len(targets))]
            region = inst.region
            handler = self.account(desk_username(region))
            kind = rng.choices(("INSTITUTION", "PUBLIC_SCHOOL", "TEACHER", "OTHER"), (70, 12, 10, 8))[0]
            institution_id = NULL
            if kind == "INSTITUTION":
                if rng.random() < 0.8:
                    target, institution_id = inst.name, inst.id
                else:
                    target = f"{inst.brand}{self.choice(('辅导班', '托管班', '培训班'))}"
            elif kind == "PUBLIC_SCHOOL":
                target = f"{region.name}第{self.randrange(1, 30)}{self.choice(('小学', '中学'))}"
            elif kind == "TEACHER":
                target = self.person()[0] + "老师"
            else:
                target = f"{region.name}某培训点"
            on = today - self.randrange(0, 730)
            submitted = on * 86400 + self.randrange(8 * 3600, 22 * 3600)
            roll = rng.random()
            status = "SUBMITTED" if roll < 0.12 or on >= today - 1 else "ACCEPTED" if roll < 0.3 else "REPLIED" if roll < 0.9 else "REJECTED"
            number = scrambled(first + n, len(_TRACKING_ALPHABET) ** 8, self.plan.seed, 5)
            tracking = f"TS{date.fromordinal(on):%Y%m%d}{digits(number, _TRACKING_ALPHABET, 8)}"
            address = f"{self.randrange(36, 223)}.{self.randrange(256)}.{self.randrange(256)}.{self.randrange(1, 255)}"

            def at(offset: int, submitted: int = submitted) -> str:
                moment = min(submitted + offset, today * 86400 + 8 * 3600)
                return stamp(moment // 86400, moment % 86400)

            accepted = [at(self.randrange(3600, 3 * 86400)), handler] if status in ("ACCEPTED", "REPLIED") else [NULL, NULL]
            replied = [at(self.randrange(3 * 86400, 20 * 86400)), handler, "已核查并责令整改，处理结果已反馈。"] if status == "REPLIED" else [NULL] * 3
            rejected = [at(self.randrange(3600, 5 * 86400)), handler, "投诉事项不属于校外培训监管范围。"] if status == "REJECTED" else [NULL] * 3
            self.emit("complaint", [
                self.uid(), tracking, self.person(), self.mobile(), kind, rng.choices(("ILLEGAL_OPERATION", "ILLEGAL_ENROLMENT", "OTHER"), (5, 3, 2))[0],
                region.code, target, institution_id, COMPLAINT_CONTENTS[self.randrange(len(COMPLAINT_CONTENTS))], status,
                stamp(submitted // 86400, submitted % 86400), address, address, NULL,
            ] + accepted + replied + rejected)


def generate_chunk(args: tuple[int, bytes, bytes]) -> tuple[int, dict[str, bytes], dict[str, int]]:
    number, regions, numbers = args
    assert _PLAN is not None
    blobs, counts = Chunk(_PLAN, number, array("H", regions), array("I", numbers)).generate()
    return number, blobs, counts


# --- the database ----------------------------------------------------------------------------


async def connect(url: str):
    import asyncpg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return await asyncpg.connect(
        user=parsed.username, password=parsed.password, host=parsed.query.get("host") or parsed.host, port=parsed.port,
        database=parsed.database,
    )


async def prepare_database(url: str, reset: bool) -> None:
    """Create the database when missing (``--reset``: drop it first), then migrate it; refuse
    one that already holds institutions."""
    from sqlalchemy.engine import make_url

    from models.database import run_migrations, with_database

    name = make_url(url).database
    admin = await connect(with_database(url, "postgres"))
    try:
        if reset:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    await asyncio.to_thread(run_migrations, url)
    conn = await connect(url)
    try:
        if await conn.fetchval("SELECT EXISTS (SELECT 1 FROM institution)"):
            raise SystemExit(f"database {name!r} already holds institutions: pass --reset to drop and create it again")
    finally:
        await conn.close()


@dataclass
class Schema:
    """What is dropped for the load and restored after it, in the migrations' own words."""

    foreign_keys: list[tuple[str, str, str]]  # (table, name, definition)
    keys: list[tuple[str, str, str]]  # primary keys and unique constraints
    indexes: list[tuple[str, str, str]]  # (table, name, CREATE INDEX …)


async def read_schema(conn) -> Schema:
    tables = list(LOADED)
    foreign_keys = [
        (r["tbl"], r["conname"], r["def"])
        for r in await conn.fetch(
            """SELECT c.conrelid::regclass::text AS tbl, c.conname, pg_get_constraintdef(c.oid) AS def
               FROM pg_constraint c
               WHERE c.contype = 'f' AND (c.conrelid::regclass::text = ANY($1) OR c.confrelid::regclass::text = ANY($1))
               ORDER BY 1, 2""",
            tables,
        )
    ]
    keys = [
        (r["tbl"], r["conname"], r["def"])
        for r in await conn.fetch(
            """SELECT c.conrelid::regclass::text AS tbl, c.conname, pg_get_constraintdef(c.oid) AS def
               FROM pg_constraint c WHERE c.contype IN ('p', 'u') AND c.conrelid::regclass::text = ANY($1)
               ORDER BY c.contype, 1, 2""",
            tables,
        )
    ]
    indexes = [
        (r["tablename"], r["indexname"], r["indexdef"])
        for r in await conn.fetch(
            """SELECT i.tablename, i.indexname, i.indexdef FROM pg_indexes i
               WHERE i.schemaname = 'public' AND i.tablename = ANY($1)
                 AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname AND c.contype IN ('p', 'u'))
               ORDER BY 1, 2""",
            tables,
        )
    ]
    return Schema(foreign_keys, keys, indexes)


async def drop_schema(conn, schema: Schema) -> None:
    for table, name, _ in schema.foreign_keys:
        await conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for _, name, _ in schema.indexes:
        await conn.execute(f'DROP INDEX "{name}"')
    for table, name, _ in schema.keys:
        await conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')


async def restore_schema(url: str, schema: Schema, say) -> None:
    """Keys and indexes two at a time (one per core), then the foreign keys (validated);
    prints those that take a second or more."""
    statements: list[tuple[str, str]] = [(f"{t}.{n}", f'ALTER TABLE {t} ADD CONSTRAINT "{n}" {d}') for t, n, d in schema.keys]
    statements += [(f"{t}.{n}", d) for t, n, d in schema.indexes]
    # The biggest first, so the two sessions finish together.
    weight = {"training_class": 9, "staff": 8, "application": 7, "course": 6, "material": 5, "inspection": 4, "rectification_item": 3, "institution": 10}
    statements.sort(key=lambda s: -weight.get(s[0].split(".")[0], 1))
    queue = deque(statements)

    async def session() -> None:
        conn = await connect(url)
        try:
            await conn.execute("SET maintenance_work_mem = '512MB'; SET max_parallel_maintenance_workers = 0; SET work_mem = '256MB'")
            while queue:
                label, statement = queue.popleft()
                started = time.perf_counter()
                await conn.execute(statement)
                if (seconds := time.perf_counter() - started) >= 1:
                    say(f"    {label:<58} {seconds:6.1f} s")
        finally:
            await conn.close()

    await asyncio.gather(session(), session())
    conn = await connect(url)
    try:
        await conn.execute("SET work_mem = '256MB'; SET max_parallel_workers_per_gather = 0")
        for table, name, definition in schema.foreign_keys:
            started = time.perf_counter()
            await conn.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            if (seconds := time.perf_counter() - started) >= 1:
                say(f"    {table + '.' + name:<58} {seconds:6.1f} s")
    finally:
        await conn.close()


DERIVED_SQL = [
    # 督办: each prefecture (or the province above a county without one) urges its counties
    # with overdue ledgers about the institution overdue longest; half of them handled.
    """
    INSERT INTO urging_notice (id, sender_id, county_code, institution_id, message, sent_at, handled_at, handled_by, handling_note)
    SELECT md5($1::text || ':notice:' || o.region_code)::uuid, sender.id, o.region_code, o.id,
           '请加快逾期整改台账的整改进度，按期验收销号', $2::timestamptz - interval '3 days',
           CASE WHEN hashtext($1::text || o.region_code) & 1 = 0 THEN $2::timestamptz - interval '1 day' END,
           CASE WHEN hashtext($1::text || o.region_code) & 1 = 0 THEN desk.id END,
           CASE WHEN hashtext($1::text || o.region_code) & 1 = 0 THEN '已督促机构整改' END
    FROM (SELECT DISTINCT ON (region_code) id, region_code FROM institution
          WHERE inspection_status = 'RECTIFYING' AND open_deadline < ($2::timestamptz)::date ORDER BY region_code, open_deadline, id) o
    JOIN region r ON r.code = o.region_code
    JOIN account sender ON sender.kind = 'REGULATOR' AND sender.department = 'EDUCATION' AND sender.region_code = r.parent_code
         AND sender.level IN ('PREFECTURE', 'PROVINCE')
    JOIN account desk ON desk.kind = 'REGULATOR' AND desk.department = 'EDUCATION' AND desk.level = 'COUNTY' AND desk.region_code = o.region_code
    """,
    # 白名单: two periods for about one region in eight (provinces, prefectures, counties):
    # the first with most of today's approved institutions, the second with all of them.
    """
    INSERT INTO list_period (id, region_code, kind, number, title, published_at, published_by, entry_count)
    SELECT md5($1::text || ':white:' || r.code || ':' || n)::uuid, r.code, 'WHITE', n,
           r.name || '校外培训机构白名单（第' || n || '期）', $2::timestamptz - (3 - n) * interval '90 days', a.id, 0
    FROM region r
    JOIN account a ON a.kind = 'REGULATOR' AND a.department = 'EDUCATION' AND a.region_code = r.code
         AND a.level = CASE r.level WHEN 1 THEN 'PROVINCE' WHEN 2 THEN 'PREFECTURE' ELSE 'COUNTY' END
    CROSS JOIN generate_series(1, 2) n
    WHERE r.level > 0 AND hashtext($1::text || ':white:' || r.code) & 7 = 0
    """,
    """
    INSERT INTO list_entry (id, period_id, institution_id, name, credit_code, county_code, address, licence_number, reason)
    SELECT md5(p.id::text || i.id::text)::uuid, p.id, i.id, i.name, i.credit_code, i.region_code, i.address, i.licence_number, NULL
    FROM list_period p
    JOIN region top ON top.code = p.region_code
    JOIN region r ON r.path LIKE top.path || '%'
    JOIN institution i ON i.region_code = r.code
    WHERE p.kind = 'WHITE' AND i.review_status = 'APPROVED' AND i.deregistered_at IS NULL
      AND (p.number = 2 OR (hashtext($1::text || i.credit_code) & 1023) % 10 < 8)
    """,
    # 黑名单: one or two periods for about one county in ten, of institutions without
    # licences or overdue; the second period differs from the first.
    """
    INSERT INTO list_period (id, region_code, kind, number, title, published_at, published_by, entry_count)
    SELECT md5($1::text || ':black:' || r.code || ':' || n)::uuid, r.code, 'BLACK', n,
           r.name || '校外培训机构黑名单（第' || n || '期）', $2::timestamptz - (3 - n) * interval '60 days', a.id, 0
    FROM region r
    JOIN account a ON a.kind = 'REGULATOR' AND a.department = 'EDUCATION' AND a.level = 'COUNTY' AND a.region_code = r.code
    CROSS JOIN generate_series(1, 2) n
    WHERE (hashtext($1::text || ':black:' || r.code) & 1023) % 10 = 0 AND (n = 1 OR hashtext($1::text || ':black2:' || r.code) & 1 = 0)
    """,
    """
    INSERT INTO list_entry (id, period_id, institution_id, name, credit_code, county_code, address, licence_number, reason)
    SELECT md5(p.id::text || c.id::text)::uuid, p.id, c.id, c.name, c.credit_code, c.region_code, c.address, c.licence_number, c.reason
    FROM list_period p
    CROSS JOIN LATERAL (
        SELECT i.*, CASE WHEN i.qualification_status = 'NONE' THEN '无证无照开展培训，拒不整改'
                         ELSE '整改逾期未完成，继续违规招生' END AS reason
        FROM institution i
        WHERE i.region_code = p.region_code AND i.deregistered_at IS NULL
          AND (i.qualification_status = 'NONE' OR (i.inspection_status = 'RECTIFYING' AND i.open_deadline < ($2::timestamptz)::date))
        ORDER BY md5($1::text || i.id::text || p.number::text) LIMIT 3 + p.number
    ) c
    WHERE p.kind = 'BLACK'
    """,
    "UPDATE list_period p SET entry_count = (SELECT count(*) FROM list_entry e WHERE e.period_id = p.id)",
]


# --- the load ---------------------------------------------------------------------------------


def say(line: str) -> None:
    print(line, flush=True)


class Loader:
    """One connection per table. Dropping the schema: each table's rows go in one
    transaction that starts with TRUNCATE, so COPY can FREEZE them. Keeping it: each batch
    commits, parents before children."""

    def __init__(self, url: str, keep_indexes: bool) -> None:
        self.url = url
        self.keep = keep_indexes
        self.conns: dict[str, object] = {}
        self.transactions: dict[str, object] = {}
        self.rows = dict.fromkeys(LOADED, 0)
        self.seconds = dict.fromkeys(LOADED, 0.0)

    async def open(self) -> None:
        for table in LOADED:
            conn = await connect(self.url)
            await conn.execute("SET synchronous_commit = off")
            self.conns[table] = conn
            if not self.keep:
                transaction = conn.transaction()
                await transaction.start()
                await conn.execute(f"TRUNCATE {table}")
                self.transactions[table] = transaction

    async def copy(self, table: str, blob: bytes, count: int) -> None:
        if not blob:
            return
        started = time.perf_counter()
        await self.conns[table].copy_to_table(table, source=io.BytesIO(blob), columns=COLUMNS[table], format="text", freeze=not self.keep)
        self.seconds[table] += time.perf_counter() - started
        self.rows[table] += count

    async def batch(self, blobs: dict[str, bytes], counts: dict[str, int]) -> None:
        if self.keep:
            for wave in WAVES:
                await asyncio.gather(*(self.copy(t, blobs[t], counts[t]) for t in wave))
        else:
            await asyncio.gather(*(self.copy(t, blobs[t], counts[t]) for t in LOADED))

    async def close(self) -> None:
        for transaction in self.transactions.values():
            await transaction.commit()
        for conn in self.conns.values():
            await conn.close()


async def load(plan: Plan, url: str, *, workers: int, keep_indexes: bool, report=say) -> dict[str, int]:
    """Generate and load everything into the migrated, empty database at ``url``; returns
    the rows per table."""
    started = time.perf_counter()
    counts = plan.counts
    report(
        f"national dataset: seed {plan.seed}, scale {plan.scale}, today {plan.today}; "
        + ", ".join(f"{k} {v:,}" for k, v in counts.items())
    )
    regions, numbers = assign_regions(plan)
    conn = await connect(url)
    schema = await read_schema(conn)
    if not keep_indexes:
        await drop_schema(conn, schema)
        report(f"dropped {len(schema.keys)} keys, {len(schema.indexes)} indexes and {len(schema.foreign_keys)} foreign keys of {len(LOADED)} tables")
    # The statistics' tallies (models/statistics.py) are counted once at the end, not row by row.
    await conn.execute("TRUNCATE institution_tally, county_tally, county_tally_delta")
    for table in TALLIED:
        await conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
    loader = Loader(url, keep_indexes)
    await loader.open()
    accounts = regulator_rows(plan)
    await loader.copy("account", ("\n".join(accounts) + "\n").encode(), len(accounts))
    loop = asyncio.get_running_loop()
    executor = ProcessPoolExecutor(workers, initializer=init_worker, initargs=(plan,)) if workers else None
    if executor is None:
        init_worker(plan)

    def args(number: int):
        low, high = number * CHUNK, min((number + 1) * CHUNK, counts["institutions"])
        return number, regions[low:high].tobytes(), numbers[low:high].tobytes()

    total_chunks = plan.chunks
    pending: deque = deque()
    submitted = 0
    ahead = max(2, 2 * workers)
    load_started = time.perf_counter()
    last_report = load_started
    try:
        for number in range(total_chunks):
            while executor is not None and submitted < total_chunks and len(pending) < ahead:
                pending.append(loop.run_in_executor(executor, generate_chunk, args(submitted)))
                submitted += 1
            if executor is not None:
                _, blobs, chunk_counts = await pending.popleft()
            else:
                _, blobs, chunk_counts = generate_chunk(args(number))
            await loader.batch(blobs, chunk_counts)
            now = time.perf_counter()
            if now - last_report > 15 or number == total_chunks - 1:
                last_report = now
                done = min((number + 1) * CHUNK, counts["institutions"])
                rows = sum(loader.rows.values())
                report(f"  {done:>9,} / {counts['institutions']:,} institutions, {rows:>11,} rows, {rows / (now - load_started):>9,.0f} rows/s, {now - started:6.0f} s")
    finally:
        if executor is not None:
            executor.shutdown(cancel_futures=True)
    await loader.close()
    load_seconds = time.perf_counter() - load_started
    report(f"loaded {sum(loader.rows.values()):,} rows in {load_seconds:.1f} s")
    report(f"  {'table':<20}{'rows':>12}{'copy s':>9}{'rows/s':>11}")
    for table in LOADED:
        seconds = loader.seconds[table]
        report(f"  {table:<20}{loader.rows[table]:>12,}{seconds:>9.1f}{loader.rows[table] / seconds if seconds else 0:>11,.0f}")
    if not keep_indexes:
        report("rebuilding keys, indexes and foreign keys")
        rebuild_started = time.perf_counter()
        await restore_schema(url, schema, report)
        report(f"rebuilt in {time.perf_counter() - rebuild_started:.1f} s")
    analyze_started = time.perf_counter()
    await conn.execute("ANALYZE")
    report(f"ANALYZE {time.perf_counter() - analyze_started:.1f} s")
    derived_started = time.perf_counter()
    now = datetime.combine(plan.today, dt_time(9), UTC)
    for statement in DERIVED_SQL:
        args = [str(plan.seed), now][: 2 if "$2" in statement else 1 if "$1" in statement else 0]
        await conn.execute(statement, *args)
    await conn.execute(f"ANALYZE {', '.join(DERIVED)}")
    derived = {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in DERIVED}
    report("derived: " + ", ".join(f"{t} {n:,}" for t, n in derived.items()) + f" ({time.perf_counter() - derived_started:.1f} s, analyzed)")
    findings_started = time.perf_counter()
    written = await write_findings(url, conn, report=report)
    report(f"findings: {written:,} ({time.perf_counter() - findings_started:.1f} s)")
    tally_started = time.perf_counter()
    for table in TALLIED:
        await conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
    await conn.execute("SELECT tally_rebuild()")
    await conn.execute("VACUUM ANALYZE institution_tally, county_tally, county_day_tally")
    report(f"statistics tallies counted ({time.perf_counter() - tally_started:.1f} s)")
    size = await conn.fetchval("SELECT pg_size_pretty(pg_database_size(current_database()))")
    await conn.close()
    report(f"done in {time.perf_counter() - started:.1f} s ({(time.perf_counter() - started) / 60:.1f} min), database {size}")
    return {**loader.rows, **derived}


async def write_findings(url: str, conn, report=say) -> int:
    """The findings of the rules on every institution's records, kept as ``resolvers.findings``
    keeps them (its ``findings_for``: the one place the rules are, a fixed number of statements
    per batch of institutions), copied in a batch at a time with ``COPY`` while the table's
    triggers are off (``tally_rebuild()`` counts them at the end). Reports progress every 15
    seconds (about 10 minutes for the national dataset). Returns how many."""
    from models.database import create_engine, create_sessionmaker
    from resolvers.findings import findings_for

    engine = create_engine(url)
    sessionmaker = create_sessionmaker(engine)
    written, after, checked = 0, None, 0
    total = await conn.fetchval("SELECT count(*) FROM institution")
    started = last_report = time.perf_counter()
    try:
        while True:
            async with sessionmaker() as db:
                ids = [r["id"] for r in await conn.fetch(
                    "SELECT id FROM institution WHERE $1::uuid IS NULL OR id > $1 ORDER BY id LIMIT $2", after, FINDINGS_BATCH
                )]
                if not ids:
                    return written
                found = await findings_for(db, ids)
            rows = [
                (i, n, f.rule, f.severity, f.message, f.source, f.record_type, f.record_id, f.record_name, list(f.related))
                for i in ids for n, f in enumerate(found[i])
            ]
            if rows:
                await conn.copy_records_to_table("institution_finding", records=rows, columns=FINDING_COLUMNS)
            written, checked, after = written + len(rows), checked + len(ids), ids[-1]
            if (now := time.perf_counter()) - last_report > 15:
                last_report = now
                report(f"  findings: {checked:>9,} / {total:,} institutions checked, {written:,} findings, {now - started:6.0f} s")
    finally:
        await engine.dispose()


async def read_regions(url: str) -> tuple[dict[str, RegionInfo], list[str]]:
    conn = await connect(url)
    try:
        return await read_regions_from(conn)
    finally:
        await conn.close()


async def read_regions_from(conn) -> tuple[dict[str, RegionInfo], list[str]]:
    """The regions in force (区划调整: retired ones hold nothing new), and the lowest regions
    that get institutions (not 台湾, 香港, 澳门)."""
    rows = await conn.fetch("SELECT code, name, level, parent_code, path FROM region WHERE valid_to IS NULL ORDER BY code")
    regions = {r["code"]: RegionInfo(r["code"], r["name"], r["level"], r["parent_code"], r["path"]) for r in rows}
    parents = {r.parent for r in regions.values()}
    lowest = [code for code, r in regions.items() if r.level > 0 and code not in parents and PROVINCE_FACTOR.get(code[:2], 0.5) > 0]
    return regions, lowest


async def generate(url: str, *, scale: float = 1.0, seed: int = 2026, today: date | None = None, workers: int = 2,
                   keep_indexes: bool = False, reset: bool = False, report=say) -> dict[str, int]:
    """Create (or reset) and migrate the database at ``url`` (asyncpg URL), then fill it."""
    from auth.passwords import hash_password

    await prepare_database(url, reset)
    regions, lowest = await read_regions(url)
    plan = Plan(seed, scale, today or date.today(), regions, lowest, await asyncio.to_thread(hash_password, PASSWORD))
    return await load(plan, url, workers=workers, keep_indexes=keep_indexes, report=report)


def national_database(database_url: str | None):
    """The asyncpg URL of the national database: ``database_url``, or ``xwpx_national`` on the
    embedded server under ``.data/pg`` (started here; the caller stops it with
    ``server.cleanup()``). Returns (url, embedded server or None)."""
    from core.settings import Settings
    from models.database import async_url, server_url, start_embedded

    if database_url:
        return async_url(database_url), None
    server = start_embedded(Settings().data_dir / "pg")
    say(f"embedded PostgreSQL in {Settings().data_dir / 'pg'}; database {DEFAULT_DATABASE}")
    return server_url(server, DEFAULT_DATABASE), server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0: 500,000 institutions (default)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--today", type=date.fromisoformat, default=None, help="the dataset's today (default: today)")
    parser.add_argument("--database-url", help=f"PostgreSQL URL (default: database {DEFAULT_DATABASE} on the embedded server in .data/pg)")
    parser.add_argument("--reset", action="store_true", help="drop the database first if it exists")
    parser.add_argument("--workers", type=int, default=2, help="generating processes (0: in the loading process)")
    parser.add_argument("--keep-indexes", action="store_true", help="load with every index and constraint in place (slower)")
    args = parser.parse_args(argv)
    url, server = national_database(args.database_url)
    try:
        asyncio.run(generate(url, scale=args.scale, seed=args.seed, today=args.today, workers=args.workers,
                             keep_indexes=args.keep_indexes, reset=args.reset))
    finally:
        if server is not None:
            server.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
