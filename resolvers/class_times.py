"""Weekly class times (上课时间) and fee terms (收费周期) as data, and as the text people write.

A class time is ``{"weekday": 1-7, "start": "HH:MM", "end": "HH:MM"}``, the same shape for a
portal class's schedule (``models.TrainingClass.schedule``) and for part 4 of the county's
registration (``models.Institution.class_sessions``); ``check_sessions`` is the one check of
both. ``parse`` reads text such as "周一至周五 19:00-22:00，一次收费一年" (migration 0019 reads
the part 4 texts written before the structured fields existed; the import template's
上课时间 column is written and read with ``format_sessions`` and ``parse``): all of it or
nothing, so that a text read only in part never passes for checked data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from core.errors import ErrorCode

TIME = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
WEEKDAY_NAMES = {1: "周一", 2: "周二", 3: "周三", 4: "周四", 5: "周五", 6: "周六", 7: "周日"}
#: The most weekly sessions a class or a part 4 declaration holds.
MAX_SESSIONS = 10


def minutes(value: str) -> int:
    hours, mins = value.split(":")
    return int(hours) * 60 + int(mins)


def check_sessions(sessions: list[dict], key: str) -> tuple[list[dict], list[tuple[str, ErrorCode, str]]]:
    """The sessions cleaned and sorted, and every problem as (field, code, message), the
    field under ``key`` (``schedule.0.end``)."""
    problems: list[tuple[str, ErrorCode, str]] = []
    if len(sessions) > MAX_SESSIONS:
        return [], [(key, ErrorCode.NOT_ALLOWED, f"每周最多 {MAX_SESSIONS} 次课")]
    cleaned = []
    for index, session in enumerate(sessions):
        at = f"{key}.{index}"
        weekday, start, end = session.get("weekday"), session.get("start") or "", session.get("end") or ""
        if not isinstance(weekday, int) or isinstance(weekday, bool) or not 1 <= weekday <= 7:
            problems.append((f"{at}.weekday", ErrorCode.INVALID, "星期应为 1（周一）到 7（周日）"))
        elif not TIME.match(start) or not TIME.match(end):
            problems.append((at, ErrorCode.INVALID, "上课时间格式应为 HH:MM（24 小时制）"))
        elif minutes(end) <= minutes(start):
            problems.append((f"{at}.end", ErrorCode.INVALID, "下课时间应晚于上课时间"))
        else:
            cleaned.append({"weekday": weekday, "start": start, "end": end})
    return sorted(cleaned, key=lambda s: (s["weekday"], s["start"], s["end"])), problems


def format_sessions(sessions: list[dict]) -> str:
    """``周一至周五 19:00-20:30；周六、周日 09:00-12:00``: the days of each time span, runs of
    three days or more as a range."""
    by_span: dict[tuple[str, str], list[int]] = {}
    for s in sorted(sessions, key=lambda s: (s["weekday"], s["start"])):
        by_span.setdefault((s["start"], s["end"]), []).append(s["weekday"])
    clauses = []
    for (start, end), days in sorted(by_span.items(), key=lambda item: (item[1][0], item[0])):
        runs: list[list[int]] = []
        for day in days:
            if runs and runs[-1][-1] == day - 1:
                runs[-1].append(day)
            else:
                runs.append([day])
        words = [f"{WEEKDAY_NAMES[r[0]]}至{WEEKDAY_NAMES[r[-1]]}" if len(r) >= 3 else "、".join(WEEKDAY_NAMES[d] for d in r) for r in runs]
        clauses.append(f"{'、'.join(words)} {start}-{end}")
    return "；".join(clauses)


@dataclass
class Parsed:
    sessions: list[dict] = field(default_factory=list)
    fee_months: int | None = None
    fee_class_hours: int | None = None


_DIGIT = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_NUMBER = r"[0-9]{1,3}|[零一二两三四五六七八九十]{1,3}"
_DAY = r"[一二三四五六日天七1-7]"
_PREFIX = r"(?:周|星期|礼拜)"
_RANGE = r"\s*(?:至|到|-|－|—|–|~|～)\s*"
_DAY_WORDS = {"每天": range(1, 8), "每日": range(1, 8), "天天": range(1, 8), "工作日": range(1, 6), "周末": (6, 7), "双休日": (6, 7)}
_CLOCK = r"(?:[01]?[0-9]|2[0-3])(?:[:：][0-5][0-9]|点(?:半|[0-5]?[0-9]分?)?)"
_SPAN = re.compile(rf"({_CLOCK}){_RANGE}({_CLOCK})")
_DAY_RANGE = re.compile(rf"^{_PREFIX}({_DAY}){_RANGE}{_PREFIX}?({_DAY})")
_DAY_ONE = re.compile(rf"^{_PREFIX}({_DAY})")
_DAY_BARE = re.compile(r"^([一二三四五六日天])")  # the 日 of 周六日, the 三 of 周一、三
_FEE = re.compile(rf"^(?:每次|一次性?)(?:收费|缴费|收取)?(?:不超过|最多|最长)?(?:({_NUMBER})个?(月|年|季度?|学年|课时)|(半年))(?:收费|缴费)?$")
_FEE_BY = re.compile(r"^按(月|季度?|年|学年|半年)(?:收费|缴费)$")
_MONTHS = {"月": 1, "季": 3, "季度": 3, "年": 12, "学年": 12, "半年": 6}


def _number(text: str) -> int:
    if text.isdigit():
        return int(text)
    if "十" in text:
        tens, _, ones = text.partition("十")
        return (_DIGIT[tens] if tens else 1) * 10 + (_DIGIT[ones] if ones else 0)
    return _DIGIT[text] if len(text) == 1 else -1


def _weekday(char: str) -> int:
    return int(char) if char.isdigit() else {"日": 7, "天": 7, "七": 7}.get(char) or _DIGIT[char]


def _clock(text: str) -> str:
    text = text.replace("：", ":")
    if ":" in text:
        hours, mins = text.split(":")
    else:
        hours, _, rest = text.partition("点")
        mins = "30" if rest == "半" else rest.rstrip("分") or "0"
    return f"{int(hours):02d}:{int(mins):02d}"


def _days(text: str) -> tuple[list[int], str] | None:
    """The weekdays at the start of ``text`` and what follows them."""
    days: list[int] = []
    rest = text.lstrip()
    while True:
        word = next((w for w in _DAY_WORDS if rest.startswith(w)), None)
        if word:
            days += _DAY_WORDS[word]
            rest = rest[len(word):]
        elif match := _DAY_RANGE.match(rest):
            first, last = _weekday(match.group(1)), _weekday(match.group(2))
            if last < first:
                return None
            days += range(first, last + 1)
            rest = rest[match.end():]
        elif match := (_DAY_ONE.match(rest) or (days and _DAY_BARE.match(rest))):
            days.append(_weekday(match.group(1)))
            rest = rest[match.end():]
        else:
            break
        if rest[:1] in ("、", "/", "和", "及"):
            rest = rest[1:].lstrip()
        elif not _DAY_BARE.match(rest):  # 周六日: the next day without its prefix
            break
    return (days, rest) if days else None


def _sessions(clause: str) -> list[dict] | None:
    found = _days(clause)
    if found is None:
        return None
    days, rest = found
    spans = []
    for piece in re.split(r"[、/和及]", rest.strip()):
        match = _SPAN.fullmatch(piece.strip())
        if match is None:
            return None
        start, end = _clock(match.group(1)), _clock(match.group(2))
        if minutes(end) <= minutes(start):
            return None
        spans.append((start, end))
    return [{"weekday": d, "start": s, "end": e} for d in days for s, e in spans]


def parse(text: str | None) -> Parsed | None:
    """The class times and fee terms a text states, or None when any of it cannot be read
    (an empty text states nothing: an empty ``Parsed``)."""
    parsed = Parsed()
    sessions: list[dict] = []
    for clause in re.split(r"[，,；;。\n]+", (text or "").strip()):
        clause = clause.strip()
        if not clause:
            continue
        if fee := _FEE.match(clause):
            count, unit = (_number(fee.group(1)), fee.group(2)) if fee.group(1) else (1, "半年")
            if count <= 0:
                return None
            if unit == "课时":
                parsed.fee_class_hours = count
            else:
                parsed.fee_months = count * _MONTHS[unit]
        elif by := _FEE_BY.match(clause):
            parsed.fee_months = _MONTHS[by.group(1)]
        elif (found := _sessions(clause)) is not None:
            sessions += found
        else:
            return None
    cleaned, problems = check_sessions([dict(t) for t in {tuple(s.items()) for s in sessions}], "sessions")
    if problems:
        return None
    parsed.sessions = cleaned
    return parsed
